"""``EinsumDense``: a dense layer whose computation is one ``einsum``, as Keras 3's.

The weight shapes come from the equation the way Keras computes them (ellipses on the left
or the right included), so Keras weights load as they are. :func:`analyze_equation` is
that analysis; :func:`keras_fans_initializer` gives a variance-scaling initializer the
kernel's input and output axes, whose sizes Keras multiplies to the fans of an
``EinsumDense`` kernel; ``MultiHeadAttention`` and ``GroupedQueryAttention`` use it for
their projections too.
"""

from __future__ import annotations

import re
from typing import Any

import torch

from lamina import activations, constraints, initializers, regularizers
from lamina.errors import ArgumentError, ArgumentTypeError, ShapeError
from lamina.layers import arguments
from lamina.layers.arguments import is_int
from lamina.layers.layer import Layer

Shape = tuple[int | None, ...]

_PLAIN = re.compile(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)")
_LEFT = re.compile(r"\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)")
_RIGHT = re.compile(r"([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]+)\.\.\.")


def parse_equation(equation: Any, owner: str = "EinsumDense") -> tuple[str, str, str, bool]:
    """``(input spec, kernel spec, output spec, ellipsis on the left)`` of an equation of
    one of Keras's three forms: ``ab,bc->ac``, ``...b,bc->...c``, ``ab...,bc->ac...``.

    Example:
        >>> parse_equation("...b,bc->...c")
        ('b', 'bc', 'c', True)
    """
    if not isinstance(equation, str):
        raise ArgumentTypeError(f"{owner}: equation must be a string such as 'ab,bc->ac', "
                                f"received equation={equation!r}.")
    for pattern, left in ((_PLAIN, False), (_LEFT, True), (_RIGHT, False)):
        found = pattern.fullmatch(equation)
        if found:
            return found.group(1), found.group(2), found.group(3), left
    raise ArgumentError(
        f"{owner}: invalid einsum equation {equation!r}. Equations must be in the form "
        "[X],[Y]->[Z], ...[X],[Y]->...[Z], or [X]...,[Y]->[Z]..., received "
        f"equation={equation!r}.")


def analyze_equation(equation: str, bias_axes: str | None, input_shape: Shape,
                     output_shape: Any, owner: str = "EinsumDense"
                     ) -> tuple[list, list | None, list, list[int], list[int]]:
    """Keras's analysis of an ``EinsumDense`` equation for an input shape (batch axis
    first): ``(kernel shape, bias shape or None, full output shape, kernel input axes,
    kernel output axes)``. ``output_shape`` is the layer's partial output shape (without
    the batch axis and the axes an ellipsis stands for).

    Example:
        >>> analyze_equation("abc,cde->abde", "de", (None, 4, 3), (None, 2, 5))
        ([3, 2, 5], [2, 5], [None, None, 2, 5], [0], [1, 2])
    """
    input_spec, kernel_spec, output_spec, left = parse_equation(equation, owner)
    input_shape = tuple(input_shape)
    elided = len(input_shape) - len(input_spec)
    partial = [output_shape] if is_int(output_shape) else list(output_shape)
    full = [input_shape[0] if input_shape else None, *partial]
    if elided > 0 and left:
        # The axes the ellipsis stands for follow the batch axis, in the input's order.
        full[1:1] = list(input_shape[1:elided])
    elif elided > 0:
        full.extend(input_shape[len(input_shape) - elided:])
    if elided < 0 or (elided and "..." not in equation):
        raise ShapeError(
            f"{owner}: the equation {equation!r} names {len(input_spec)} input axes, received "
            f"input shape {input_shape} ({len(input_shape)} axes).")
    if len(full) != len(output_spec) + elided:
        raise ShapeError(
            f"{owner}: output_shape={output_shape!r} does not fit the equation {equation!r} "
            f"for input shape {input_shape}: the output has {len(output_spec) + elided} axes, "
            "and output_shape leaves out the batch axis and the ellipsis's axes.")
    offset = elided if left else 0
    input_at = {c: i + offset for i, c in enumerate(input_spec)}
    output_at = {c: i + offset for i, c in enumerate(output_spec)}
    for c in input_spec:
        if c in output_at:
            wanted, given = full[output_at[c]], input_shape[input_at[c]]
            if wanted is not None and wanted != given:
                raise ShapeError(
                    f"{owner}: input shape and output shape do not match at shared dimension "
                    f"'{c}': the input has {given}, output_shape={output_shape!r} has {wanted}.")
    for c in output_spec:
        if c not in input_spec and c not in kernel_spec:
            raise ArgumentError(
                f"{owner}: dimension '{c}' of the output '{output_spec}' is in neither the "
                f"input spec '{input_spec}' nor the kernel spec '{kernel_spec}', received "
                f"equation={equation!r}.")
    kernel, input_axes, output_axes = [], [], []
    for i, c in enumerate(kernel_spec):
        if c in output_at:
            kernel.append(full[output_at[c]])
            output_axes.append(i)
        elif c in input_at:
            kernel.append(input_shape[input_at[c]])
            input_axes.append(i)
        else:
            raise ArgumentError(
                f"{owner}: kernel dimension '{c}' is in neither the input spec '{input_spec}' "
                f"nor the output spec '{output_spec}', received equation={equation!r}.")
    bias = None
    if bias_axes is not None:
        for c in bias_axes:
            if c not in output_spec:
                raise ArgumentError(
                    f"{owner}: bias dimension '{c}' is not part of the output spec "
                    f"'{output_spec}', received bias_axes={bias_axes!r}.")
        first = min(output_spec.find(c) for c in bias_axes)
        bias = [full[output_at[c]] if c in bias_axes else 1 for c in output_spec[first:]]
        if not left:
            bias.extend([1] * max(elided, 0))
    return kernel, bias, full, input_axes, output_axes


def keras_fans_initializer(initializer: Any, input_axes: list[int],
                           output_axes: list[int]) -> Any:
    """A copy of a variance-scaling ``initializer`` that has no axes of its own, with the
    kernel's ``input_axes`` and ``output_axes`` (whose sizes multiply to the fans), as
    Keras's ``EinsumDense`` makes one; any other initializer is returned as it is.

    Example:
        >>> keras_fans_initializer(initializers.get("glorot_uniform"), [0], [1, 2])
        GlorotUniform(seed=None, input_axes=[0], output_axes=[1, 2])
    """
    if not isinstance(initializer, initializers.VarianceScaling) or (
            initializer.input_axes is not None and initializer.output_axes is not None):
        return initializer
    config = {**initializer.get_config(), "input_axes": list(input_axes),
              "output_axes": list(output_axes)}
    return type(initializer).from_config(config)


class EinsumDense(Layer):
    """A dense layer of any dimensionality: ``activation(einsum(equation, inputs, kernel)
    + bias)``, Keras 3's ``EinsumDense``.

    Args:
        equation: An einsum equation ``input,kernel->output`` of the form ``ab,bc->ac``,
            ``...ab,bc->...ac`` or ``ab...,bc->ac...``.
        output_shape: The output's shape without the batch axis and the axes an ellipsis
            stands for (an int or a tuple; ``None`` for an axis taken from the input).
        activation: A Keras activation name or callable. Default: ``None`` (linear).
        bias_axes: The output axes (letters of the equation's output) that have a bias.
            Default: ``None`` (no bias).
        kernel_initializer: Default: ``"glorot_uniform"`` (with Keras's fans: the products
            of the kernel's input axes and of its output axes).
        bias_initializer: Default: ``"zeros"``.
        kernel_regularizer: A penalty on the kernel, added to ``layer.losses``.
        bias_regularizer: A penalty on the bias.
        kernel_constraint: A constraint applied to the kernel after each optimizer step.
        bias_constraint: A constraint applied to the bias after each optimizer step.
        lora_rank, lora_alpha, gptq_unpacked_column_size, quantization_config: Keras's LoRA
            and quantization; only their off value ``None`` is accepted.

    Input shape:
        What the equation's input spec names (and an ellipsis stands for).

    Output shape:
        The batch axis, the ellipsis's axes and ``output_shape``, in the equation's order.

    Example:
        >>> layer = EinsumDense("abc,cde->abde", output_shape=(None, 2, 4), bias_axes="de")
        >>> y = layer(torch.ones(3, 5, 8))
        >>> tuple(y.shape), tuple(layer.kernel.shape), tuple(layer.bias.shape)
        ((3, 5, 2, 4), (8, 2, 4), (2, 4))
    """

    def __init__(
        self,
        equation: str,
        output_shape: Any,
        activation: Any = None,
        bias_axes: str | None = None,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        lora_rank: int | None = None,
        lora_alpha: float | None = None,
        gptq_unpacked_column_size: int | None = None,
        quantization_config: Any = None,
        **kwargs: Any,
    ) -> None:
        arguments.refuse_unless_off("EinsumDense", lora_rank=lora_rank, lora_alpha=lora_alpha,
                          gptq_unpacked_column_size=gptq_unpacked_column_size,
                          quantization_config=quantization_config)
        parse_equation(equation)
        if is_int(output_shape):
            output_shape = (output_shape,)
        if not isinstance(output_shape, (list, tuple)):
            raise ArgumentTypeError(
                "EinsumDense: output_shape must be an int or a tuple of ints (None for an axis "
                f"taken from the input), received output_shape={output_shape!r}.")
        if not all(d is None or (is_int(d) and d > 0) for d in output_shape):
            raise ArgumentError(
                "EinsumDense: output_shape must hold positive ints or None, received "
                f"output_shape={output_shape!r}.")
        if bias_axes is not None and (not isinstance(bias_axes, str) or not bias_axes):
            raise ArgumentError(
                "EinsumDense: bias_axes must be a string of letters of the equation's output, "
                f"received bias_axes={bias_axes!r}.")
        super().__init__(**kwargs)
        self.equation = equation
        self.partial_output_shape = tuple(output_shape)
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._linear = self.activation is activations.linear

    def build(self, input_shape: Shape) -> None:
        kernel, bias, _, input_axes, output_axes = analyze_equation(
            self.equation, self.bias_axes, input_shape, self.partial_output_shape,
            f"EinsumDense '{self.name}'")
        for what, shape in (("kernel", kernel), ("bias", bias)):
            if shape is not None and any(d is None for d in shape):
                raise ShapeError(
                    f"EinsumDense '{self.name}': the {what} shape {tuple(shape)} has an unknown "
                    f"axis for input shape {tuple(input_shape)}: give that axis a size in "
                    f"output_shape={self.partial_output_shape!r} or in the input.")
        self.kernel = self.add_weight(
            "kernel", tuple(kernel),
            initializer=keras_fans_initializer(self.kernel_initializer, input_axes, output_axes),
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = None if bias is None else self.add_weight(
            "bias", tuple(bias), initializer=self.bias_initializer,
            regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        outputs = torch.einsum(self.equation, inputs, self.kernel)
        if self.bias is not None:
            outputs = outputs + self.bias
        return outputs if self._linear else self.activation(outputs)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """Keras's: an axis ``output_shape`` gives as ``None`` stays ``None`` (even one the
        input knows), the ellipsis's axes keep the input's order (Keras 3.15 reverses them
        when the ellipsis stands for more than the batch axis and one other)."""
        return tuple(analyze_equation(self.equation, self.bias_axes, input_shape,
                                      self.partial_output_shape,
                                      f"EinsumDense '{self.name}'")[2])

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "output_shape": list(self.partial_output_shape),
            "equation": self.equation,
            "activation": activations.serialize(self.activation),
            "bias_axes": self.bias_axes,
            **initializers.serialize_arguments(self, kernel_initializer=self.kernel_initializer,
                                               bias_initializer=self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "quantization_config": None,
        }

    def extra_repr(self) -> str:
        return (f"name={self.name!r}, equation={self.equation!r}, "
                f"output_shape={self.partial_output_shape}, bias_axes={self.bias_axes!r}")
