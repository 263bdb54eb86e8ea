"""``BatchNormalization`` and ``LayerNormalization`` with Keras 3's definitions
(``RMSNormalization`` is in ``rms_normalization.py``).

It normalises with the *biased* variance (mean of squared deviations), and Keras feeds the
biased batch variance into its moving variance, where torch's ``BatchNorm`` uses the
unbiased one; Keras's ``momentum`` is the weight of the old value
(``moving = moving * momentum + batch * (1 - momentum)``), torch's the weight of the new
one. The layer keeps Keras's meaning on torch's fused kernel: it asks ``F.batch_norm`` for
this batch's statistics alone (momentum 1 into zeroed buffers), then applies Keras's update
to the moving statistics. Masked, synchronized and renormalized batches take Keras's
moments from ``batch_statistics.py`` instead.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch
import torch.nn.functional as F
from torch._subclasses.fake_tensor import FakeTensor

from lamina import constraints, initializers, regularizers
from lamina.errors import ArgumentError, ShapeError
from lamina.layers import arguments, batch_statistics
from lamina.layers.batch_statistics import SquareRootOf
from lamina.layers.layer import Layer
from lamina.layers.normalization_axes import (
    axes_geometry,
    axis_argument,
    check_axis_range,
    normalized_axes,
)

Shape = tuple[int | None, ...]

#: Keras 3's warning for ``LayerNormalization(rms_scaling=True)``, in lamina's names.
RMS_SCALING_WARNING = (
    "LayerNormalization: rms_scaling=True is deprecated (as in Keras 3): it scales the "
    "input by its variance, not by its root mean square. For RMS normalization use "
    "lamina.layers.RMSNormalization instead.")


def _number(value: Any, name: str, owner: str, low: float, high: float | None = None
            ) -> float:
    # Keras's float(value): a string is a ValueError there too.
    if (not isinstance(value, (int, float)) or isinstance(value, bool)
            or not math.isfinite(value) or value < low or (high is not None and value > high)):
        bounds = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ArgumentError(f"{owner}: {name} must be a number {bounds}, "
                            f"received {name}={value!r}.")
    return float(value)


def _positive_axis(axis: int, rank: int, layer: Layer) -> int:
    if not -rank <= axis < rank:
        raise ShapeError(f"{type(layer).__name__} '{layer.name}': axis={axis} is out of range "
                         f"for inputs of rank {rank}.")
    return axis % rank


class BatchNormalization(Layer):
    """Normalises each channel with batch statistics in training, moving ones otherwise.

    In training (``training=True``, or after ``model.train()``), the output is
    ``gamma * (x - mean(batch)) / sqrt(var(batch) + epsilon) + beta``, and the moving
    statistics are updated as in Keras::

        moving_mean = moving_mean * momentum + mean(batch) * (1 - momentum)
        moving_variance = moving_variance * momentum + var(batch) * (1 - momentum)

    with the biased batch variance. In inference, ``moving_mean`` and ``moving_variance``
    replace the batch statistics. As in Keras, a layer with ``trainable=False`` always runs
    in inference mode. With a mask (shape: the input's without the channel axis), training
    statistics are Keras's moments over the unmasked positions only.

    ``renorm=True`` is batch renormalization (Ioffe, 2017) as Keras computes it: training
    normalises to ``x_hat * r + d``, ``r = std / renorm_stddev`` and
    ``d = (mean - renorm_mean) / renorm_stddev`` (``std = sqrt(var(batch) + epsilon)``, no
    gradient through ``r`` and ``d``) clipped by ``renorm_clipping``; the moving statistics
    follow Keras's update (``batch_statistics.renorm_update``).

    ``synchronized=True`` takes training statistics over the global batch: under
    ``torch.distributed`` (``fit`` under ``torchrun``, ``lamina.distributed.launch``) the
    counts, sums and sums of squares are summed over the default group's processes (one
    all-reduce per call, gradients included), so every process normalises and updates alike;
    each must call the layer in training as often. Alone, it changes nothing. (Keras 3
    takes it on TensorFlow only.)

    Args:
        axis: The channel axis (kept; every other axis is reduced). Default: ``-1``.
        momentum: Weight of the old value in the moving averages. Default: ``0.99``.
        epsilon: Added to the variance. Default: ``1e-3``.
        center: Whether to add the trainable offset ``beta``. Default: ``True``.
        scale: Whether to multiply by the trainable ``gamma``. Default: ``True``.
        beta_initializer: Default: ``"zeros"``.
        gamma_initializer: Default: ``"ones"``.
        moving_mean_initializer: Default: ``"zeros"``.
        moving_variance_initializer: Default: ``"ones"``.
        beta_regularizer: Default: ``None``.
        gamma_regularizer: Default: ``None``.
        beta_constraint: A constraint (``lamina.constraints``), applied after each
            optimizer step of ``fit``. Default: ``None``.
        gamma_constraint: Default: ``None``.
        renorm: Whether to use batch renormalization. Default: ``False``.
        renorm_clipping: With ``renorm``, a dict of optional ``"rmax"``, ``"rmin"`` and
            ``"dmax"`` bounding ``r`` to ``[rmin, rmax]`` and ``d`` to ``[-dmax, dmax]``.
            Default: ``None`` (no clipping; ``{}`` in the config, as in Keras).
        renorm_momentum: With ``renorm``, the weight of the old value in ``renorm_mean``
            and ``renorm_stddev``. Default: ``0.99``.
        synchronized: Whether training statistics are those of every process's batch
            (see above). Default: ``False``.

    Weights: ``gamma`` and ``beta`` (trainable), ``moving_mean`` and ``moving_variance``
    (non-trainable, saved), each of shape ``(channels,)``; with ``renorm`` also
    ``moving_stddev``, ``renorm_mean`` and ``renorm_stddev``, in Keras's order.

    Input shape:
        Any; ``axis`` must be known.

    Output shape:
        Same as the input.

    Example:
        >>> layer = BatchNormalization(momentum=0.5)
        >>> out = layer(torch.tensor([[1.0], [3.0]]), training=True)
        >>> out.flatten().tolist(), layer.moving_mean.tolist(), layer.moving_variance.tolist()
        ([-0.9995003938674927, 0.9995003938674927], [1.0], [1.0])
        >>> renorm = BatchNormalization(renorm=True, renorm_clipping={"rmax": 1.5})
        >>> _ = renorm(torch.ones(2, 1), training=True)
        >>> [w.name for w in renorm.non_trainable_weights]
        ['moving_mean', 'moving_variance', 'moving_stddev', 'renorm_mean', 'renorm_stddev']
    """

    supports_masking = True

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        moving_mean_initializer: Any = "zeros",
        moving_variance_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        renorm: bool = False,
        renorm_clipping: dict[str, float] | None = None,
        renorm_momentum: float = 0.99,
        synchronized: bool = False,
        **kwargs: Any,
    ) -> None:
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise ArgumentError(f"BatchNormalization: axis must be an int, received axis={axis!r}.")
        momentum = _number(momentum, "momentum", "BatchNormalization", 0.0, 1.0)
        epsilon = _number(epsilon, "epsilon", "BatchNormalization", 0.0)
        renorm_momentum = _number(renorm_momentum, "renorm_momentum", "BatchNormalization",
                                  0.0, 1.0)
        if renorm:
            renorm_clipping = batch_statistics.renorm_clipping_argument(renorm_clipping)
        super().__init__(**kwargs)
        self.axis, self.momentum, self.epsilon = axis, momentum, epsilon
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.renorm, self.renorm_clipping = bool(renorm), renorm_clipping
        self.renorm_momentum, self.synchronized = renorm_momentum, bool(synchronized)

    def build(self, input_shape: Shape) -> None:
        self._axis = _positive_axis(self.axis, len(input_shape), self)
        channels = input_shape[self._axis]
        if channels is None:
            raise ShapeError(f"BatchNormalization '{self.name}': axis {self.axis} must be "
                             f"known, received input shape {tuple(input_shape)}.")
        shape = (channels,)
        self.gamma = (self.add_weight("gamma", shape, initializer=self.gamma_initializer,
                                      regularizer=self.gamma_regularizer,
                                      constraint=self.gamma_constraint)
                      if self.scale else None)
        self.beta = (self.add_weight("beta", shape, initializer=self.beta_initializer,
                                     regularizer=self.beta_regularizer,
                                     constraint=self.beta_constraint)
                     if self.center else None)
        self.moving_mean = self.add_weight("moving_mean", shape, trainable=False,
                                           initializer=self.moving_mean_initializer)
        self.moving_variance = self.add_weight("moving_variance", shape, trainable=False,
                                               initializer=self.moving_variance_initializer)
        if self.renorm:  # Keras tracks the moving standard deviation with renorm
            stddev = SquareRootOf(self.moving_variance_initializer)
            self.moving_stddev = self.add_weight("moving_stddev", shape, trainable=False,
                                                 initializer=stddev)
            self.renorm_mean = self.add_weight("renorm_mean", shape, trainable=False,
                                               initializer=self.moving_mean_initializer)
            self.renorm_stddev = self.add_weight("renorm_stddev", shape, trainable=False,
                                                 initializer=stddev)

    def _channels_second(self, inputs: torch.Tensor) -> torch.Tensor:
        """A view with the channel axis second, the layout ``F.batch_norm`` reduces around."""
        axis = self._axis
        if axis == inputs.dim() - 1:
            return inputs.reshape(-1, inputs.shape[axis])
        if axis == 1:
            return inputs
        return inputs.reshape(math.prod(inputs.shape[:axis]), inputs.shape[axis], -1)

    def call(self, inputs: torch.Tensor, training: bool = False,
             mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is not None and mask.dim() != inputs.dim() - 1:
            raise ShapeError(
                f"BatchNormalization '{self.name}': the mask must have one axis less than the "
                f"inputs (their shape without the channel axis), received mask shape "
                f"{tuple(mask.shape)} for input shape {tuple(inputs.shape)}."
            )
        x = self._channels_second(inputs)
        if not (training and self._trainable):
            outputs = F.batch_norm(x, self.moving_mean, self.moving_variance, self.gamma,
                                   self.beta, False, 0.0, self.epsilon)
            return outputs.view(inputs.shape)
        count = x.numel() // x.shape[1]
        if (mask is None and count > 1 and not self.renorm
                and not (self.synchronized and batch_statistics.group_size() > 1)):
            mean = x.new_zeros(x.shape[1])
            unbiased = x.new_zeros(x.shape[1])
            outputs = F.batch_norm(x, mean, unbiased, self.gamma, self.beta, True, 1.0,
                                   self.epsilon)
            self._update_moving(mean, unbiased * ((count - 1) / count))
            return outputs.view(inputs.shape)
        mean, variance = batch_statistics.moments(inputs, self._axis, mask, self.synchronized)
        gamma, beta = self.gamma, self.beta
        if self.renorm:
            r, d = batch_statistics.renorm_correction(
                mean, variance, self.renorm_mean, self.renorm_stddev, self.epsilon,
                self.renorm_clipping)
            # (x_hat * r + d) * gamma + beta = x_hat * (r * gamma) + (d * gamma + beta)
            gamma, beta = (r if gamma is None else r * gamma,
                           d if gamma is None else d * gamma)
            beta = beta if self.beta is None else beta + self.beta
            batch_statistics.renorm_update(self, mean.detach(), variance.detach())
        else:
            self._update_moving(mean.detach(), variance.detach())
        broadcast = [1] * inputs.dim()
        broadcast[self._axis] = -1
        inverse = torch.rsqrt(variance + self.epsilon)
        if gamma is not None:
            inverse = inverse * gamma
        outputs = (inputs - mean.view(broadcast)) * inverse.view(broadcast)
        return outputs if beta is None else outputs + beta.view(broadcast)

    def _update_moving(self, mean: torch.Tensor, variance: torch.Tensor) -> None:
        if isinstance(mean, FakeTensor):
            return  # a shape-inference run: real statistics must not change
        keep = self.momentum
        with torch.no_grad():
            self.moving_mean.mul_(keep).add_(mean, alpha=1.0 - keep)
            self.moving_variance.mul_(keep).add_(variance, alpha=1.0 - keep)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            **initializers.serialize_arguments(
                self, beta_initializer=self.beta_initializer,
                gamma_initializer=self.gamma_initializer,
                moving_mean_initializer=self.moving_mean_initializer,
                moving_variance_initializer=self.moving_variance_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
            "synchronized": self.synchronized,
            "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
        }

    def extra_repr(self) -> str:
        return f"name={self.name!r}, axis={self.axis}, momentum={self.momentum}"


class LayerNormalization(Layer):
    """Normalises each sample over ``axis``: ``gamma * (x - mean) / sqrt(var + epsilon) + beta``.

    The mean and the (biased) variance are taken over the axes in ``axis``, per sample;
    ``gamma`` and ``beta`` have the shape of those axes.

    ``rms_scaling=True`` is Keras 3's deprecated option, kept with Keras's exact behaviour
    and warning: the output is ``gamma * x / sqrt(var + epsilon)`` (the input is divided by
    its standard deviation, not by its root mean square, and not centred), with no
    ``beta`` and always a ``gamma``. :class:`RMSNormalization` is the real RMS
    normalization.

    Args:
        axis: An int or a list of ints: the axes to normalise over. Default: ``-1``.
            Once built, the config holds the sorted list (Keras's ``[-1]``).
        epsilon: Added to the variance. Default: ``1e-3``.
        center: Whether to add the trainable offset ``beta``. Default: ``True``.
        scale: Whether to multiply by the trainable ``gamma``. Default: ``True``.
        beta_initializer: Default: ``"zeros"``.
        gamma_initializer: Default: ``"ones"``.
        beta_regularizer: Default: ``None``.
        gamma_regularizer: Default: ``None``.
        beta_constraint: A constraint (``lamina.constraints``), applied after each
            optimizer step of ``fit``. Default: ``None``.
        gamma_constraint: Default: ``None``.
        rms_scaling: Deprecated (a warning, as in Keras): see above. Default: ``False``.

    Input shape:
        Any; the axes in ``axis`` must be known.

    Output shape:
        Same as the input.

    Example:
        >>> layer = LayerNormalization(epsilon=0.0)
        >>> layer(torch.tensor([[1.0, 3.0]])).tolist(), layer.get_config()["axis"]
        ([[-1.0, 1.0]], [-1])
    """

    supports_masking = True

    def __init__(
        self,
        axis: int | list[int] = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        rms_scaling: bool = False,
        **kwargs: Any,
    ) -> None:
        axis = axis_argument(axis, "LayerNormalization")
        epsilon = arguments.number(epsilon, "epsilon", "LayerNormalization", minimum=0)
        super().__init__(**kwargs)
        if rms_scaling:
            warnings.warn(RMS_SCALING_WARNING, UserWarning, stacklevel=2)
        self.axis, self.epsilon = axis, epsilon
        self.center, self.scale, self.rms_scaling = bool(center), bool(scale), bool(rms_scaling)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def build(self, input_shape: Shape) -> None:
        self._axes = normalized_axes(self, self.axis, input_shape)
        self.axis = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        shape, self._trailing, self._broadcast = axes_geometry(self._axes, input_shape)
        self._shape = shape
        self.gamma = (self.add_weight("gamma", shape, initializer=self.gamma_initializer,
                                      regularizer=self.gamma_regularizer,
                                      constraint=self.gamma_constraint)
                      if self.scale or self.rms_scaling else None)
        self.beta = (self.add_weight("beta", shape, initializer=self.beta_initializer,
                                     regularizer=self.beta_regularizer,
                                     constraint=self.beta_constraint)
                     if self.center and not self.rms_scaling else None)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.rms_scaling:  # Keras 3's deprecated formula: no centring, the variance
            variance = torch.var(inputs, dim=self._axes, correction=0, keepdim=True)
            outputs = inputs * torch.rsqrt(variance + self.epsilon)
            return outputs * self.gamma.view(self._broadcast)
        if self._trailing:
            return F.layer_norm(inputs, self._shape, self.weight_value("gamma"),
                                self.weight_value("beta"), self.epsilon)
        variance, mean = torch.var_mean(inputs, dim=self._axes, correction=0, keepdim=True)
        inverse = torch.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            inverse = inverse * self.gamma.view(self._broadcast)
        outputs = (inputs - mean) * inverse
        return outputs if self.beta is None else outputs + self.beta.view(self._broadcast)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        check_axis_range(self, self.axis, input_shape)
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "rms_scaling": self.rms_scaling,
            **initializers.serialize_arguments(self, beta_initializer=self.beta_initializer,
                                               gamma_initializer=self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }
