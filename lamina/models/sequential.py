"""``Sequential``: a stack of layers, each feeding the next."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lamina.errors import ArgumentError, ArgumentTypeError
from lamina.layers.input_layer import InputLayer
from lamina.layers.lambda_layer import Lambda
from lamina.layers.layer import Layer
from lamina.layers.serialization import deserialize_layer, serialize_layer
from lamina.models.functional import Functional
from lamina.models.model import Model
from lamina.symbolic import SymbolicTensor
from lamina.utils.shapes import to_tensor


class Sequential(Functional):
    """A linear stack of layers.

    Once the input shape is known (``input_shape=`` on the first layer, or an ``Input`` /
    ``InputLayer`` added first), every ``add`` infers the new output shape at once and a
    layer that does not fit is refused, leaving the model as it was. Without an input
    shape, the model is built on its first call.

    Args:
        layers: Layers to add, in order. Default: none.
        name: The model's name. Default: unique ``sequential``.

    Example:
        >>> from lamina import layers
        >>> model = Sequential()
        >>> model.add(layers.Dense(8, input_shape=(4,)))
        >>> model.add(layers.Lambda(lambda x: x ** 2))
        >>> len(model), model.output_shape
        (2, (None, 8))
    """

    def __init__(self, layers: list[Layer] | None = None, name: str | None = None,
                 trainable: bool = True, **kwargs: Any) -> None:
        Model.__init__(self, name=name, trainable=trainable, **kwargs)
        self._stack: list[Layer] = []
        self._input: SymbolicTensor | None = None
        self._stack_outputs: list[SymbolicTensor] = []
        self.built = False
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------ editing
    def add(self, layer: Layer | SymbolicTensor) -> None:
        """Append a layer (or, first, an ``Input`` fixing the input shape).

        A plain ``torch.nn.Module`` (``nn.ReLU()``, say) is wrapped in a ``Lambda``.
        """
        if isinstance(layer, SymbolicTensor) and isinstance(layer.node.layer, InputLayer):
            layer = layer.node.layer
        if isinstance(layer, torch.nn.Module) and not isinstance(layer, Layer):
            layer = Lambda(layer)
        if not isinstance(layer, Layer):
            raise ArgumentTypeError(
                f"Sequential '{self.name}'.add expects a lamina layer, received {layer!r} of "
                f"type {type(layer).__name__}. Wrap a function in layers.Lambda(...)."
            )
        if isinstance(layer, InputLayer):
            if self._stack or self._input is not None:
                raise ArgumentError(
                    f"Sequential '{self.name}': an Input can only be the first thing added; "
                    f"the model already has {len(self._stack)} layer(s) and an input."
                    if self._input is not None else
                    f"Sequential '{self.name}': an Input must come before the first layer."
                )
            self._rebuild(layer.output, [])
            return
        if any(existing is layer for existing in self._stack):
            raise ArgumentError(
                f"Sequential '{self.name}': layer '{layer.name}' is already in the model."
            )
        if any(existing.name == layer.name for existing in self._stack):
            raise ArgumentError(
                f"Sequential '{self.name}': a layer named '{layer.name}' is already in the "
                "model. Layer names must be unique; pass name= to the new layer."
            )
        stack = [*self._stack, layer]
        if self._input is None and not self._stack and layer._batch_input_shape is not None:
            entry = InputLayer(batch_shape=layer._batch_input_shape, dtype=layer.dtype)
            self._rebuild(entry.output, stack)
        elif self._input is not None:
            self._rebuild(self._input, stack, start=len(self._stack))
        else:
            self._stack = stack
            self._modules[layer.name] = layer  # any name works: see Functional._set_graph
            # Built on the first call: raw strings reach a first string layer.
            self.takes_strings = hasattr(stack[0], "strings_to_tensor")

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self._stack:
            raise ArgumentError(f"Sequential '{self.name}' has no layers to pop.")
        layer = self._stack[-1]
        if self._input is not None:
            self._stack_outputs = self._stack_outputs[:-1]
            self._rebuild(self._input, self._stack[:-1], start=len(self._stack) - 1)
        else:
            self._stack = self._stack[:-1]
            del self._modules[layer.name]
        return layer

    def _rebuild(self, input_tensor: SymbolicTensor, stack: list[Layer], start: int = 0) -> None:
        """Run the stack (from ``start``) on the symbolic input; commit only if all fit."""
        outputs = list(self._stack_outputs[:start]) if start else []
        current = outputs[-1] if outputs else input_tensor
        for layer in stack[start:]:
            current = layer(current)
            if not isinstance(current, SymbolicTensor):
                raise ArgumentError(
                    f"Sequential '{self.name}': layer '{layer.name}' returned "
                    f"{type(current).__name__} of several tensors; every layer of a Sequential "
                    "model must return one tensor. Use a Functional model instead."
                )
            outputs.append(current)
        if stack:
            self._set_graph(input_tensor, outputs[-1])
        else:
            for name in [k for k, m in self._modules.items() if isinstance(m, Layer)]:
                del self._modules[name]
            self._modules[input_tensor.node.layer.name] = input_tensor.node.layer
            self.built = False
        self._input = input_tensor
        self._stack = stack
        self._stack_outputs = outputs

    def build(self, input_shape: Any = None) -> None:
        """Keras's: give a model with no input yet an input of ``input_shape`` (batch axis
        included) and run its layers on it symbolically."""
        if self._input is not None or input_shape is None:
            return
        if not self._stack:
            raise ArgumentError(f"Sequential '{self.name}' has no layers; add some first.")
        dtype = self._build_dtypes[0] if self._build_dtypes else "float32"
        entry = InputLayer(batch_shape=(None, *tuple(input_shape)[1:]), dtype=dtype)
        self._rebuild(entry.output, self._stack)

    # ------------------------------------------------------------------ running
    def forward(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        if not self.built:
            self._build_from_data(inputs)
        return super().forward(inputs, training=training, mask=mask)

    def _build_from_data(self, inputs: Any) -> None:
        if not self._stack:
            raise ArgumentError(f"Sequential '{self.name}' has no layers; add some first.")
        if self._input is None and hasattr(self._stack[0], "strings_to_tensor") and \
                not isinstance(inputs, torch.Tensor):
            # Strings for a first TextVectorization or StringLookup: a string Input.
            entry = InputLayer(batch_shape=(None, *np.shape(inputs)[1:]), dtype="string")
            self._rebuild(entry.output, self._stack)
            return
        sample = to_tensor(inputs)
        if not isinstance(sample, torch.Tensor):
            raise ArgumentError(
                f"Sequential '{self.name}' takes one tensor, received {type(inputs).__name__}."
            )
        input_tensor = self._input
        if input_tensor is None:
            # Float data of any precision feeds a model of the default float dtype (as
            # Keras's Input does); integer data (token ids) keeps its dtype.
            dtype = None if sample.is_floating_point() else sample.dtype
            entry = InputLayer(batch_shape=(None, *sample.shape[1:]), dtype=dtype)
            input_tensor = entry.output
        self._rebuild(input_tensor, self._stack)

    # ------------------------------------------------------------------ access
    @property
    def layers(self) -> list[Layer]:
        """The stacked layers (the input layer not included, as in Keras)."""
        return list(self._stack)

    def __len__(self) -> int:
        return len(self._stack)

    def __iter__(self) -> Any:
        return iter(list(self._stack))

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            chosen = self._stack[index]
            model = Sequential(name=f"{self.name}_slice")
            start = index.indices(len(self._stack))[0]
            if self._input is not None and chosen:
                source = self._input if start == 0 else self._stack_outputs[start - 1]
                entry = InputLayer(batch_shape=source.shape, dtype=source.dtype)
                model.add(entry)
            for layer in chosen:
                model.add(layer)
            return model
        return self._stack[index]

    def summary_rows(self) -> list[tuple[Layer, Any, list[str]]]:
        """One row per stacked layer (the input layer left out, as in Keras)."""
        if not self.built:
            return [(layer, None, []) for layer in self._stack]
        stacked = {id(layer) for layer in self._stack}
        return [(layer, shape, []) for layer, shape, _ in super().summary_rows()
                if id(layer) in stacked]

    @property
    def input_shape(self) -> Any:
        return None if self._input is None else self._input.shape

    @property
    def output_shape(self) -> Any:
        return self._stack_outputs[-1].shape if self._stack_outputs else None

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        entries = []
        if self._input is not None:
            entries.append(serialize_layer(self._input.node.layer, build_config=True))
        entries.extend(serialize_layer(layer, build_config=True) for layer in self._stack)
        return {"name": self.name, "trainable": self.trainable, "layers": entries}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict | None = None
                    ) -> Sequential:
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for entry in config["layers"]:
            model.add(deserialize_layer(entry, custom_objects))
        return model
