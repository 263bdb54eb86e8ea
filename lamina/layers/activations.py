"""Activation layers with arguments: ``ReLU``, ``LeakyReLU``, ``PReLU``, ``ELU``, ``Softmax``.

Keras 3's formulas, arguments, defaults and configs; ``PReLU``'s weight ``alpha`` has Keras's
name and shape. ``Activation`` (an activation by name) is in ``core.py``.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn.functional as F

from lamina import constraints, initializers, regularizers
from lamina.errors import ArgumentError, ArgumentTypeError, ShapeError
from lamina.layers.arguments import axes, is_int, number
from lamina.layers.layer import Layer

Shape = tuple[int | None, ...]


def _not_none(value: Any, name: str, owner: str) -> Any:
    """``value``, or Keras's ``ValueError`` for a ``None`` that has no meaning."""
    if value is None:
        raise ArgumentError(f"{owner}: {name} cannot be None, received {name}=None.")
    return value


class _Elementwise(Layer):
    """An activation without weights: passes masks through, keeps the shape."""

    supports_masking = True

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape


class ReLU(_Elementwise):
    """Keras's rectified linear unit with a ceiling, a threshold and a leak.

    ``f(x) = max_value`` for ``x >= max_value``, ``x`` for ``threshold <= x < max_value``
    (``x > threshold`` when ``threshold`` is not 0), and ``negative_slope * (x - threshold)``
    otherwise.

    Args:
        max_value: The ceiling, a number ``>= 0``. Default: ``None`` (none).
        negative_slope: The slope below the threshold, ``>= 0``. Default: ``0.0``.
        threshold: The threshold, ``>= 0``. Default: ``0.0``.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Example:
        >>> layer = ReLU(max_value=10, negative_slope=0.5)
        >>> layer(torch.tensor([-10.0, -5.0, 0.0, 5.0, 20.0])).tolist()
        [-5.0, -2.5, 0.0, 5.0, 10.0]
    """

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, **kwargs: Any) -> None:
        if max_value is not None:
            max_value = number(max_value, "max_value", "ReLU", minimum=0)
        negative_slope = number(_not_none(negative_slope, "negative_slope", "ReLU"),
                                "negative_slope", "ReLU", minimum=0)
        threshold = number(_not_none(threshold, "threshold", "ReLU"), "threshold", "ReLU",
                           minimum=0)
        super().__init__(**kwargs)
        self.max_value, self.negative_slope, self.threshold = (max_value, negative_slope,
                                                               threshold)
        self._build_at_init()

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        slope, ceiling, threshold = self.negative_slope, self.max_value, self.threshold
        if slope and ceiling is None and not threshold:
            return F.leaky_relu(inputs, slope)
        if threshold:
            outputs = torch.where(inputs > threshold, inputs, 0.0)
        elif ceiling == 6:
            outputs, ceiling = F.relu6(inputs), None
        else:
            outputs = torch.relu(inputs)
        if ceiling is not None:
            outputs = outputs.clamp(0.0, ceiling)
        if slope:
            outputs = outputs - slope * torch.relu(threshold - inputs)
        return outputs

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class LeakyReLU(_Elementwise):
    """``f(x) = x`` for ``x >= 0``, ``negative_slope * x`` otherwise.

    Args:
        negative_slope: The slope for negative inputs, ``>= 0``. Default: ``0.3`` (Keras 3's;
            ``keras.activations.leaky_relu`` and torch default to other values). Keras's
            deprecated ``alpha=`` is accepted for it, with a warning.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Example:
        >>> LeakyReLU()(torch.tensor([-10.0, 0.0, 5.0])).tolist()
        [-3.0, 0.0, 5.0]
    """

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any) -> None:
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("LeakyReLU: the argument `alpha` is deprecated (as in Keras 3); "
                          "use `negative_slope` instead.", DeprecationWarning, stacklevel=2)
        negative_slope = number(_not_none(negative_slope, "negative_slope", "LeakyReLU"),
                                "negative_slope", "LeakyReLU", minimum=0)
        super().__init__(**kwargs)
        self.negative_slope = negative_slope
        self._build_at_init()

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(inputs, self.negative_slope)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(_Elementwise):
    """The exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise.

    Args:
        alpha: The scale of the negative part. Default: ``1.0``.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Example:
        >>> [round(v, 4) for v in ELU(alpha=2.0)(torch.tensor([-1.0, 3.0])).tolist()]
        [-1.2642, 3.0]
    """

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        alpha = number(alpha, "alpha", "ELU")
        super().__init__(**kwargs)
        self.alpha = alpha
        self._build_at_init()

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.elu(inputs, self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha}


class PReLU(_Elementwise):
    """A leaky ReLU whose slopes are learned: ``f(x) = x`` for ``x >= 0``, ``alpha * x``
    otherwise, with one slope per input position (``alpha`` has the shape of a sample)
    except along ``shared_axes``.

    Args:
        alpha_initializer: Initializer of ``alpha``. Default: ``"Zeros"``.
        alpha_regularizer: A penalty on ``alpha``, added to ``layer.losses``.
            Default: ``None``.
        alpha_constraint: A constraint on ``alpha`` (``lamina.constraints``), applied after
            each optimizer step. Default: ``None``.
        shared_axes: Axes (1-based, batch axis excluded) along which one slope is shared:
            ``[1, 2]`` gives one slope per channel of ``(batch, height, width, channels)``
            feature maps. Default: ``None``.

    Weight: ``alpha``, of shape ``input_shape[1:]`` with the shared axes of size 1.

    Input shape:
        Any; the axes not shared must be known.

    Output shape:
        Same as the input.

    Example:
        >>> layer = PReLU(alpha_initializer="ones", shared_axes=[1])
        >>> out = layer(torch.tensor([[[-2.0, 3.0], [-1.0, -4.0]]]))
        >>> out.tolist(), tuple(layer.alpha.shape)
        ([[[-2.0, 3.0], [-1.0, -4.0]]], (1, 2))
    """

    def __init__(self, alpha_initializer: Any = "Zeros", alpha_regularizer: Any = None,
                 alpha_constraint: Any = None, shared_axes: Any = None, **kwargs: Any) -> None:
        if shared_axes is not None:
            shared_axes = [shared_axes] if is_int(shared_axes) else shared_axes
            if not isinstance(shared_axes, (list, tuple)) or not all(
                    is_int(a) for a in shared_axes):
                raise ArgumentTypeError("PReLU: shared_axes must be an int or a list of ints, "
                                        f"received shared_axes={shared_axes!r}.")
            if any(a < 1 for a in shared_axes):
                raise ArgumentError("PReLU: shared_axes are 1-based (the batch axis cannot be "
                                    f"shared), received shared_axes={shared_axes!r}.")
            shared_axes = list(shared_axes)
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        self.shared_axes = shared_axes

    def build(self, input_shape: Shape) -> None:
        shape = list(input_shape[1:])
        for axis in self.shared_axes or ():
            if axis > len(shape):
                raise ShapeError(f"PReLU '{self.name}': shared_axes={self.shared_axes} does "
                                 f"not fit inputs of shape {tuple(input_shape)}.")
            shape[axis - 1] = 1
        if any(d is None for d in shape):
            raise ShapeError(
                f"PReLU '{self.name}': every axis that is not shared must be known to create "
                f"alpha, received input shape {tuple(input_shape)} with "
                f"shared_axes={self.shared_axes}."
            )
        self.alpha = self.add_weight("alpha", tuple(shape), initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.relu(inputs) - self.alpha * torch.relu(-inputs)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            **initializers.serialize_arguments(self, alpha_initializer=self.alpha_initializer),
            "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        }


class Softmax(_Elementwise):
    """Softmax over ``axis``, leaving out the positions a mask drops.

    With a mask (broadcastable to the inputs from the right, as numpy broadcasts; true, or
    ``> 0.5``, keeps a position), dropped positions take part as ``-1e9`` (``-3e4`` in
    float16) and come out as 0, so an axis whose positions are all dropped gives zeros,
    as in Keras.

    Args:
        axis: An int, or a list of ints (the softmax over those axes together); ``None``
            is the softmax over every value of the tensor. Default: ``-1``.

    Call arguments:
        inputs: The logits.
        mask: A mask broadcastable to ``inputs``; by default the mask the inputs carry.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Example:
        >>> logits = torch.tensor([[1.0, 2.0, 1.0]])
        >>> [round(p, 4) for p in Softmax()(logits)[0].tolist()]
        [0.2119, 0.5761, 0.2119]
        >>> Softmax()(logits, mask=torch.tensor([[True, True, False]]))[0, 2].item()
        0.0
    """

    def __init__(self, axis: int | list[int] | None = -1, **kwargs: Any) -> None:
        if axis is not None:
            axis = axes(axis, "axis", "Softmax")
        super().__init__(**kwargs)
        self.axis = axis
        self._build_at_init()

    def _check_mask(self, inputs: torch.Tensor, mask: torch.Tensor) -> None:
        if mask.dim() > inputs.dim() or any(
                m != 1 and m != i for m, i in zip(reversed(mask.shape), reversed(inputs.shape))):
            raise ShapeError(
                f"Softmax '{self.name}': the mask must broadcast to the inputs (each of its "
                "axes, aligned from the last, of size 1 or the input's), received mask shape "
                f"{tuple(mask.shape)} for input shape {tuple(inputs.shape)}."
            )

    def call(self, inputs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is not None:
            self._check_mask(inputs, mask)
            if mask.dtype != torch.bool:
                mask = mask > 0.5
            dropped = -3e4 if inputs.dtype == torch.float16 else -1e9
            inputs = torch.where(mask, inputs, dropped)
        if self.axis is None:
            outputs = torch.softmax(inputs.reshape(-1), dim=0).reshape(inputs.shape)
        elif isinstance(self.axis, int) or len(self.axis) == 1:
            axis = self.axis if isinstance(self.axis, int) else self.axis[0]
            outputs = torch.softmax(inputs, dim=axis)
        else:
            outputs = torch.exp(inputs - torch.logsumexp(inputs, dim=self.axis, keepdim=True))
        return outputs if mask is None else torch.where(mask, outputs, 0.0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}
