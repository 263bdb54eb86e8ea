"""Training: the ``Trainer`` mixin behind ``Model.compile/fit/evaluate/predict``.

Modules: ``trainer.py`` (the public methods), ``loops.py`` (epoch, evaluation and
prediction loops), ``steps.py`` (what compile sets up and the per-batch steps),
``data.py`` (input adapters), ``progress.py`` (rich progress bars and epoch lines),
``callbacks.py`` and ``monitoring.py`` (the callbacks, public as ``lamina.callbacks``),
``saving_state.py`` (the compile and optimizer state that ``model.save`` keeps),
``distributed.py`` (data-parallel training under ``torchrun``), ``jit.py`` (the steps
through ``torch.compile`` for ``compile(jit=True)``, and graph-break warnings).
"""

from lamina.training.trainer import Trainer

__all__ = ["Trainer"]
