"""``Lambda``: any Python function or expression as a layer."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch._subclasses.fake_tensor import FakeTensor

from lamina import initializers
from lamina.errors import ArgumentError, SerializationError, ShapeError
from lamina.functions import registry
from lamina.functions.rebind import own_function, rebind_function
from lamina.functions.source import (
    captured_values,
    mutated_captures,
    mutates_arguments,
    short_description,
)
from lamina.layers import inference, lambda_shapes
from lamina.layers.function_config import (
    deserialize_function,
    serialize_function,
)
from lamina.layers.lambda_capture import CapturedStateMixin
from lamina.layers.layer import Layer, flatten_shapes, is_shape, standardize_dtype
from lamina.symbolic import OpCall
from lamina.utils import tree


class Lambda(CapturedStateMixin, Layer):
    """Wraps a function or expression as a layer.

    Args:
        function: Called as ``function(inputs, **arguments)``; several inputs arrive as a
            list (or the structure the layer was called with). If it has a ``mask`` or
            ``training`` parameter, it receives the input mask or the training flag.
        output_shape: ``None`` (inferred without real data); a tuple without the batch
            axis (a list of tuples for several outputs); or a callable taking the full
            input shape and returning the full output shape. A declared shape is checked
            against the function's real output. Default: ``None``.
        mask: ``None`` (no output mask), ``"same"`` (pass the input mask on), a callable
            ``mask(inputs, input_mask)``, or a tensor used as the mask whatever the input.
        arguments: Keyword arguments for ``function``; tensors and Parameters in it are
            tracked as weights.
        track_captured: Track Parameters, tensors and layers the function reads through its
            closure or module globals as this layer's weights and sublayers. Default: True.

    ``function`` is read-only once the layer exists: the models holding the layer run the
    function it was made with, and the tensors the function captures are the layer's own
    buffers (it calls its own copy of the function, so ``.to()`` and ``.double()`` move the
    layer's state and never rebind the user's closure cells or module globals).

    Input shape:
        Arbitrary.

    Output shape:
        Whatever ``function`` returns (see ``output_shape``).

    Example:
        >>> square = Lambda(lambda x: x ** 2, name="square")
        >>> square(torch.tensor([[1.0, -3.0]])).tolist(), square
        ([[1.0, 9.0]], Lambda(name='square', function=lambda x: x ** 2))
    """

    def __init__(
        self,
        function: Callable[..., Any],
        output_shape: Any = None,
        mask: Any = None,
        arguments: dict[str, Any] | None = None,
        track_captured: bool = True,
        **kwargs: Any,
    ) -> None:
        if not callable(function):
            raise ArgumentError(
                f"Lambda: function must be callable, received {function!r} of type "
                f"{type(function).__name__}."
            )
        if arguments is not None and not isinstance(arguments, dict):
            raise ArgumentError(f"Lambda: arguments must be a dict, received {arguments!r}.")
        if not (mask is None or mask == "same" or callable(mask)
                or isinstance(mask, torch.Tensor)):
            raise ArgumentError(f"Lambda: mask must be None, 'same', a callable or a tensor, "
                                f"received {mask!r}.")
        super().__init__(**kwargs)
        self.function = function
        self.arguments = dict(arguments or {})
        self.source = short_description(function)
        self._output_shape = lambda_shapes.standardize_output_shape(output_shape)
        self._mask = mask
        self.supports_masking = mask is not None
        self.track_captured = bool(track_captured)
        parameters = _parameters_of(function)
        self._fn_takes_mask = "mask" in parameters
        self._fn_takes_training = "training" in parameters
        self._copies_inputs = mutates_arguments(function)
        if self._copies_inputs and registry.registered_name(function) is None:
            rebound = rebind_function(function)
            if rebound is not None:  # `x -= m` now rebinds: no copy of the input needed
                self.function = function = rebound
                self._copies_inputs = mutates_arguments(rebound)
        self._weight_keys: dict[int, str] = {}
        self._captured_buffers: dict[str, str] = {}  # buffer key -> name the function reads
        if isinstance(function, nn.Module):
            self.add_module("module", function)
        self._track(self.arguments, "argument")
        captured = captured_values(function)
        tensors = {name for name, value in captured.items() if isinstance(value, torch.Tensor)}
        for name, method in mutated_captures(function, tensors):
            raise ArgumentError(
                f"Lambda '{self.name}' ({self.source}) changes the captured tensor '{name}' in "
                f"place ({name}.{method}), which a layer cannot make safe: every call would "
                "change it again. Return a new tensor instead, or write a Layer subclass that "
                "owns the state."
            )
        if track_captured:
            self._track(captured, "captured")
        # The layer calls its own copy of the function, whose captured tensors are the
        # layer's buffers: moving the layer (.to(), .double()) never rebinds the user's
        # closure cells or module globals.
        owned = own_function(function, set(self._captured_buffers.values()))
        if owned is not None:
            self.function = function = owned
        # (input spec, output spec) of the last symbolic call (saved with the model in the
        # build config); a loaded record spares inference and is checked on the first
        # real call.
        self._inferred_record: Any = None
        self._loaded_record = False
        self._record_to_check: Any = None
        self._check_pending = self._output_shape is not None
        self._direct = self._is_direct()
        self.__dict__["_function_fixed"] = True

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "function" and self.__dict__.get("_function_fixed"):
            raise AttributeError(
                f"Lambda '{self.name}': function is read-only. Models holding the layer run "
                "the function it was made with (its captured state is the layer's weights); "
                "make a new Lambda(...) for another function."
            )
        super().__setattr__(name, value)

    def _is_direct(self) -> bool:
        """The common case (no arguments, mask or training, no copy, nothing left to check)
        goes straight from ``forward`` to the function."""
        return not (self.arguments or self._fn_takes_mask or self._fn_takes_training
                    or self._copies_inputs or self._check_pending
                    or self.activity_regularizer is not None)

    def forward(self, inputs: Any, *args: Any, mask: Any = None, training: Any = None) -> Any:
        if not self.built:
            self._build_for_inputs(inputs)
        if self._direct and not args:
            try:
                return self.function(inputs)
            except (RuntimeError, ValueError, TypeError, IndexError) as error:
                self._raise_if_incompatible(inputs, error)
                raise
        return super().forward(inputs, *args, mask=mask, training=training)

    def plan_callable(self) -> Any:
        if not (self._direct and self.built):
            return self.forward
        if isinstance(self.function, OpCall):  # an op on symbolic tensors (x + y)
            return self.function.plan_callable()
        return self.function

    def call(self, inputs: Any, mask: Any = None, training: Any = None) -> Any:
        kwargs = self.arguments
        if self._fn_takes_mask or self._fn_takes_training:
            kwargs = dict(kwargs)
            if self._fn_takes_mask:
                kwargs["mask"] = mask
            if self._fn_takes_training:
                kwargs["training"] = training
        if self._copies_inputs:
            inputs = tree.map_structure(
                lambda t: t.clone() if isinstance(t, torch.Tensor) else t, inputs
            )
        outputs = self.function(inputs, **kwargs)
        if self._check_pending and not _is_fake(outputs):
            self._check_output_shape(inputs, outputs)
        return outputs

    def _check_output_shape(self, inputs: Any, outputs: Any) -> None:
        """Compare the declared (or recorded) shape with the real output, on the first real
        call only."""
        if self._record_to_check is not None:
            lambda_shapes.check_output(self, self._record_to_check, inputs, outputs)
            self._record_to_check = None
        if self._output_shape is not None:
            self._check_declared(inputs, outputs)
        self._check_pending = False
        self._direct = self._is_direct()

    def _check_declared(self, inputs: Any, outputs: Any) -> None:
        declared = self._declared_shape(tree.map_structure(
            lambda t: tuple(t.shape) if isinstance(t, torch.Tensor) else None, inputs))
        actual = [tuple(t.shape) for t in tree.flatten(outputs) if isinstance(t, torch.Tensor)]
        expected = flatten_shapes(declared)
        if len(expected) != len(actual) or any(
            len(e) != len(a) or any(d is not None and d != g for d, g in zip(e, a))
            for e, a in zip(expected, actual)
        ):
            raise ShapeError(
                f"Lambda '{self.name}' ({self.source}) declares output_shape "
                f"{declared if len(expected) != 1 else expected[0]} but its function returned "
                f"{actual[0] if len(actual) == 1 else actual}. Fix output_shape, or leave it "
                "out to have it inferred."
            )

    def _declared_shape(self, input_shape: Any) -> Any:
        spec = self._output_shape
        if callable(spec):
            return spec(input_shape)
        batch = lambda_shapes.batch_of(input_shape)
        if is_shape(spec):
            return (batch, *spec)
        return [(batch, *s) for s in spec]

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        """The function's symbolic outputs: from a loaded build config's record when it
        describes this call (checked on the first real call), else inferred on fake
        tensors; a declared ``output_shape`` is checked against the inferred one and wins."""
        alone = next(self.children(), None) is None  # captured layers build by inferring
        if self._loaded_record and alone:
            recorded = lambda_shapes.matching_output(self._inferred_record, args, kwargs)
            if recorded is not None:
                self._record_to_check = self._inferred_record
                self._check_pending, self._direct = True, False
                return recorded
        outputs = super().compute_output_spec(*args, **kwargs)
        if self._output_shape is not None:
            outputs = self._declared_outputs(inference.shapes_of(args[0]), outputs)
        if alone:
            self._inferred_record = lambda_shapes.record_of(args, kwargs, outputs)
            self._loaded_record = False
        return outputs

    def _declared_outputs(self, input_shape: Any, outputs: Any) -> Any:
        """The declared output shape, once checked against the inferred one."""
        declared = self._declared_shape(input_shape)
        inferred = inference.shapes_of(outputs)
        expected, actual = flatten_shapes(declared), flatten_shapes(inferred)
        if len(expected) != len(actual) or any(
            len(e) != len(a) or any(d is not None and g is not None and d != g
                                    for d, g in zip(e, a))
            for e, a in zip(expected, actual)
        ):
            raise ShapeError(
                f"Lambda '{self.name}' ({self.source}) declares output_shape "
                f"{declared} but its function gives {inferred} for input shape "
                f"{input_shape}. Fix output_shape, or leave it out to have it inferred."
            )
        leaves = tree.flatten(outputs)
        for tensor, shape in zip(leaves, expected):
            tensor.shape = tuple(shape)
        return outputs

    def get_build_config(self) -> dict[str, Any] | None:
        """The base build config, plus the record of the last symbolic call (``inferred``:
        its input and output specs), which spares inference when the model loads."""
        config = super().get_build_config()
        if config is not None and self._inferred_record is not None:
            config["inferred"] = lambda_shapes.to_json(self._inferred_record)
        return config

    def build_from_config(self, config: dict[str, Any] | None) -> None:
        """Take the record a saved build config holds (checked strictly); the layer is
        built by its first call, as it has no weights of its own to create."""
        if config and "inferred" in config:
            self._inferred_record = lambda_shapes.from_json(config["inferred"],
                                                            f"Layer '{self.name}'")
            self._loaded_record = True

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if self._mask is None:
            return None
        if isinstance(self._mask, str):
            return mask
        if isinstance(self._mask, torch.Tensor):
            return self._mask
        return self._mask(inputs, mask)

    def extra_repr(self) -> str:
        return f"name={self.name!r}, function={self.source}"

    def get_config(self) -> dict[str, Any]:
        where = f"Lambda '{self.name}'"
        config = super().get_config()
        config["function"] = serialize_function(self.function, where, self._weight_keys)
        if self._output_shape is not None:
            if callable(self._output_shape):
                config["output_shape"] = serialize_function(self._output_shape,
                                                            f"{where} output_shape")
            else:
                config["output_shape"] = lambda_shapes.shape_to_json(self._output_shape)
        if isinstance(self._mask, str):
            config["mask"] = self._mask
        elif isinstance(self._mask, torch.Tensor):
            config["mask"] = {"kind": "tensor_value", "value": self._mask.tolist(),
                              "dtype": str(self._mask.dtype).removeprefix("torch.")}
        elif self._mask is not None:
            config["mask"] = serialize_function(self._mask, f"{where} mask")
        literals = {k: v for k, v in self.arguments.items() if not isinstance(v, torch.Tensor)}
        if literals:
            config["arguments"] = registry.encode_constant(literals, where)
        tensors = {k: v for k, v in self.arguments.items() if isinstance(v, torch.Tensor)}
        if tensors:
            config["tensor_arguments"] = {
                k: {"shape": list(v.shape), "dtype": str(v.dtype).removeprefix("torch."),
                    "parameter": isinstance(v, nn.Parameter),
                    "trainable": bool(v.requires_grad)}
                for k, v in tensors.items()
            }
        if not self.track_captured:
            config["track_captured"] = False
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict | None = None) -> Lambda:
        config = dict(config)
        where = f"Lambda '{config.get('name')}'"
        config["function"] = deserialize_function(config["function"], where, custom_objects)
        shape = config.get("output_shape")
        if isinstance(shape, dict) and "kind" in shape:
            config["output_shape"] = deserialize_function(shape, f"{where} output_shape",
                                                          custom_objects)
        elif shape is not None:
            config["output_shape"] = lambda_shapes.shape_from_json(shape)
        mask = config.get("mask")
        if isinstance(mask, dict) and mask.get("kind") == "tensor_value":
            config["mask"] = torch.tensor(mask["value"], dtype=standardize_dtype(mask["dtype"]))
        elif isinstance(mask, dict):
            config["mask"] = deserialize_function(mask, f"{where} mask", custom_objects)
        encoded = config.pop("arguments", None)
        arguments = registry.decode_constant(encoded) if encoded is not None else {}
        tensor_arguments = config.pop("tensor_arguments", {})
        if not isinstance(tensor_arguments, dict):
            raise SerializationError(f"{where}: tensor_arguments must be an object.")
        for key, spec in tensor_arguments.items():
            shape = [int(d) for d in spec["shape"]]
            dtype = standardize_dtype(spec["dtype"])
            initializers.charge(tuple(shape), dtype)
            value = torch.zeros(shape, dtype=dtype)
            if spec.get("parameter"):
                value = nn.Parameter(value, requires_grad=bool(spec.get("trainable", True)))
            arguments[key] = value
        if arguments:
            config["arguments"] = arguments
        return cls(**config)


def _parameters_of(function: Any) -> set[str]:
    try:
        return set(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return set()


def _is_fake(outputs: Any) -> bool:
    first = tree.flatten(outputs)[0]
    return isinstance(first, FakeTensor) or (
        isinstance(first, torch.Tensor) and first.device.type == "meta"
    )
