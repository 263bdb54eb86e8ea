"""``keras.layers.TorchModuleWrapper``: any ``torch.nn.Module`` as a layer.

Every lamina layer already is an ``nn.Module``, so a torch module assigned to a layer or
model is tracked by torch as it is; the wrapper is for Keras code that names it, and for
putting a torch module into a Sequential or Functional model. Its parameters are the
layer's weights (trained by ``fit``, saved by ``save_weights``), its buffers (batch-norm
statistics) its non-trainable state. ``training=True``/``False`` switches the module to
``train()``/``eval()`` for the call, as Keras does; without a flag it keeps the mode
torch set (``model.eval()``, ``predict``, ``fit``).

A model holding one cannot be saved whole: Keras stores the module with ``torch.save``,
i.e. pickle, which runs code when loaded; lamina never writes or reads that. Save the
weights (``save_weights``), and rebuild the module in code.

Example:
    >>> import lamina, torch
    >>> model = lamina.Sequential([lamina.Input(shape=(3,)),
    ...                            TorchModuleWrapper(torch.nn.Linear(3, 2)),
    ...                            lamina.layers.Activation("softmax")])
    >>> model.output_shape, len(model.trainable_weights)
    ((None, 2), 2)
"""

from __future__ import annotations

from typing import Any

from torch import nn

from lamina.errors import ArgumentError, ArgumentTypeError, SerializationError
from lamina.layers.layer import Layer


class TorchModuleWrapper(Layer):
    """A layer that calls ``module``.

    Args:
        module: A ``torch.nn.Module`` (a lazy module must have been called once).
        name: Layer name.
        output_shape: The output shape (batch axis included, ``None`` for unknown axes),
            when shape inference by a trial call should not be used.
    """

    def __init__(self, module: nn.Module, name: str | None = None,
                 output_shape: Any = None, **kwargs: Any) -> None:
        if not isinstance(module, nn.Module):
            raise ArgumentTypeError(
                f"TorchModuleWrapper: expected a torch.nn.Module, received "
                f"{type(module).__name__}. Wrap a module instance, e.g. torch.nn.Linear(3, 2)."
            )
        if isinstance(module, nn.modules.lazy.LazyModuleMixin) and \
                module.has_uninitialized_params():
            raise ArgumentError(
                f"TorchModuleWrapper: the lazy module {type(module).__name__} has "
                "uninitialized parameters. Call it once on an example input before wrapping."
            )
        super().__init__(name=name, **kwargs)
        self.module = module
        self._declared_output_shape = None if output_shape is None else tuple(output_shape)
        self.built = True

    def call(self, inputs: Any, *args: Any, training: bool | None = None) -> Any:
        if training is not None and self.module.training != bool(training):
            self.module.train(bool(training))
        return self.module(inputs, *args)

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self._declared_output_shape is None:
            return super().compute_output_shape(input_shape)
        return self._declared_output_shape

    def get_config(self) -> dict[str, Any]:
        raise SerializationError(
            f"Layer '{self.name}' (TorchModuleWrapper of {type(self.module).__name__}) cannot "
            "be saved in a model file: a torch module is stored only by pickling it, and "
            "loading a pickle runs code. Save the weights with model.save_weights(...), "
            "build the model again in code and load_weights; or write the module as a "
            "lamina Layer with a get_config."
        )

    def extra_repr(self) -> str:
        return f"module={type(self.module).__name__}"

