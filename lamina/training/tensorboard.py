"""Keras's ``TensorBoard`` callback, written with ``torch.utils.tensorboard``.

Needs the ``tensorboard`` package (``pip install tensorboard``). The writers come from
``writer_factory`` (a lamina addition): a callable taking a log directory and returning an
object with ``add_scalar``, ``add_histogram``, ``flush`` and ``close``; the default is
``torch.utils.tensorboard.SummaryWriter``. Pass another to log elsewhere, or a recorder in
tests.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from lamina.errors import ArgumentError, MissingDependencyError
from lamina.training.callbacks import Callback
from lamina.training.distributed import is_main_process

#: Keras arguments lamina does not implement, with the value that means "off".
_UNSUPPORTED = {"write_graph": False, "write_images": False, "profile_batch": 0,
                "embeddings_freq": 0, "embeddings_metadata": None}


def summary_writer_class() -> Callable[[str], Any]:
    """``torch.utils.tensorboard.SummaryWriter``, or a clear error when tensorboard is
    missing."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as error:
        raise MissingDependencyError(
            "TensorBoard needs the tensorboard package, which is not installed. Install it "
            "with pip install tensorboard."
        ) from error
    return SummaryWriter


class TensorBoard(Callback):
    """Log losses and metrics for TensorBoard (Keras's ``keras.callbacks.TensorBoard``).

    At each epoch's end the training logs go to ``log_dir/train`` and the validation logs
    (``val_`` stripped) to ``log_dir/validation``, tagged ``epoch_<name>`` with the epoch
    as step, plus ``epoch_learning_rate``. ``evaluate(..., callbacks=[tb])`` outside
    ``fit`` writes ``evaluation_<name>_vs_iterations`` to ``log_dir/validation``. View with
    ``tensorboard --logdir logs``.

    Args:
        log_dir: The folder of the logs. Default: ``"logs"``.
        histogram_freq: Write a histogram of every weight each this many epochs (0: never).
            Default: ``0``.
        write_graph: Keras writes the model graph; lamina does not, so only ``False`` is
            accepted. Default: ``False`` (Keras's default is ``True``).
        write_images: Not implemented; only ``False``. Default: ``False``.
        write_steps_per_second: Also log ``epoch_steps_per_second``. Default: ``False``.
        update_freq: ``"epoch"``, ``"batch"`` or an int N: also log ``batch_<name>`` every
            N training batches (step: the batch count since training began).
            Default: ``"epoch"``.
        profile_batch: Not implemented; only ``0``. Default: ``0``.
        embeddings_freq: Not implemented; only ``0``. Default: ``0``.
        embeddings_metadata: Not implemented; only ``None``. Default: ``None``.
        writer_factory: Makes a writer for a log directory. Default: ``None``,
            ``torch.utils.tensorboard.SummaryWriter``.

    Raises:
        MissingDependencyError: (an ``ImportError``) when tensorboard is not installed.
        ArgumentError: (a ``ValueError``) for an argument lamina does not implement.

    Example:
        >>> import lamina, numpy as np, os
        >>> written = []
        >>> class Recorder:  # stands in for SummaryWriter
        ...     def __init__(self, folder): self.kind = os.path.basename(folder)
        ...     def add_scalar(self, tag, value, step): written.append((self.kind, tag, step))
        ...     def flush(self): pass
        ...     def close(self): pass
        >>> model = lamina.Sequential([lamina.layers.Dense(1, input_shape=(2,))])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> x = np.ones((8, 2), "float32")
        >>> _ = model.fit(x, x[:, :1], epochs=2, verbose=0, validation_split=0.5,
        ...               callbacks=[TensorBoard("logs", writer_factory=Recorder)])
        >>> written[:2]
        [('train', 'epoch_loss', 0), ('train', 'epoch_learning_rate', 0)]
        >>> written[2]
        ('validation', 'epoch_loss', 0)
    """

    def __init__(self, log_dir: str | os.PathLike = "logs", histogram_freq: int = 0,
                 write_graph: bool = False, write_images: bool = False,
                 write_steps_per_second: bool = False, update_freq: str | int = "epoch",
                 profile_batch: int | tuple[int, int] = 0, embeddings_freq: int = 0,
                 embeddings_metadata: Any = None,
                 writer_factory: Callable[[str], Any] | None = None) -> None:
        super().__init__()
        given = {"write_graph": write_graph, "write_images": write_images,
                 "profile_batch": profile_batch, "embeddings_freq": embeddings_freq,
                 "embeddings_metadata": embeddings_metadata}
        for name, value in given.items():
            if value != _UNSUPPORTED[name]:
                raise ArgumentError(
                    f"TensorBoard: `{name}` is not implemented in lamina (it logs scalars "
                    f"and weight histograms). Received: {name}={value!r}; leave it at "
                    f"{_UNSUPPORTED[name]!r}.")
        if not isinstance(histogram_freq, int) or histogram_freq < 0:
            raise ArgumentError("TensorBoard: `histogram_freq` must be a non-negative int. "
                                f"Received: histogram_freq={histogram_freq!r}.")
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and not (isinstance(update_freq, int) and update_freq > 0):
            raise ArgumentError("TensorBoard: `update_freq` must be 'epoch', 'batch' or a "
                                f"positive int. Received: update_freq={update_freq!r}.")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = update_freq
        # Resolved when fit starts, not here: a program may build the callback on a machine
        # without tensorboard and never train with it (as Keras allows).
        self.writer_factory = writer_factory
        self.writers: dict[str, Any] = {}
        self._in_fit = False
        self._train_step = 0
        self._epoch_start = 0.0
        self._epoch_steps = 0
        if update_freq != "epoch" or write_steps_per_second:
            # Set on the instance only when needed: an overridden batch hook makes fit
            # read the logs at every batch.
            self.on_train_batch_end = self._on_train_batch_end

    def _writer(self, kind: str) -> Any:
        if self.writer_factory is None:  # evaluate without fit
            self.writer_factory = summary_writer_class()
        if kind not in self.writers:
            self.writers[kind] = self.writer_factory(os.path.join(self.log_dir, kind))
        return self.writers[kind]

    def on_train_begin(self, logs: dict | None = None) -> None:
        if self.writer_factory is None:
            self.writer_factory = summary_writer_class()
        self._in_fit = True
        self._train_step = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_start = time.perf_counter()
        self._epoch_steps = 0

    def _on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._train_step += 1
        self._epoch_steps += 1
        if (self.update_freq == "epoch" or self._train_step % self.update_freq
                or not is_main_process()):
            return
        writer = self._writer("train")
        for name, value in (logs or {}).items():
            writer.add_scalar(f"batch_{name}", float(value), self._train_step)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if not is_main_process():
            return
        logs = logs or {}
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        validation = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        rate = self._learning_rate()
        if rate is not None:
            train["learning_rate"] = rate
        if self.write_steps_per_second:
            elapsed = time.perf_counter() - self._epoch_start
            train["steps_per_second"] = self._epoch_steps / elapsed if elapsed > 0 else 0.0
        for kind, values in (("train", train), ("validation", validation)):
            if values:
                writer = self._writer(kind)
                for name, value in values.items():
                    writer.add_scalar(f"epoch_{name}", float(value), epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        for writer in self.writers.values():
            writer.flush()

    def on_test_end(self, logs: dict | None = None) -> None:
        if self._in_fit or not is_main_process():
            return
        step = int(getattr(getattr(self.model, "optimizer", None), "iterations", 0) or 0)
        writer = self._writer("validation")
        for name, value in (logs or {}).items():
            writer.add_scalar(f"evaluation_{name}_vs_iterations", float(value), step)
        self.close()

    def on_train_end(self, logs: dict | None = None) -> None:
        self._in_fit = False
        self.close()

    def close(self) -> None:
        """Close the writers (``fit`` does at its end; a later call opens new ones)."""
        for writer in self.writers.values():
            writer.close()
        self.writers = {}

    def _learning_rate(self) -> float | None:
        optimizer = getattr(self.model, "optimizer", None)
        rate = getattr(optimizer, "learning_rate", None)
        if rate is None and getattr(optimizer, "param_groups", None):
            rate = optimizer.param_groups[0].get("lr")
        try:
            return float(rate)
        except (TypeError, ValueError):
            return None  # a schedule object, say: nothing to log

    def _log_weights(self, epoch: int) -> None:
        writer = self._writer("train")
        for layer in getattr(self.model, "layers", []):
            for name, parameter in layer.named_parameters():
                values = parameter.detach().cpu()
                if values.numel():
                    writer.add_histogram(f"{layer.name}/{name}/histogram", values, epoch)
