"""Numeric preprocessing: ``Rescaling`` (``x * scale + offset``) and ``Normalization``
(``(x - mean) / sqrt(variance)``, from given values or ``adapt``-ed on data).

Both compute in the layer's float dtype: integer inputs (pixels, counts) become floats.
``Normalization``'s adapted mean and variance are non-trainable weights (``mean``,
``variance`` and Keras's ``count``), so they are saved with the model and reloaded.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from lamina import config
from lamina.errors import ArgumentError, ArgumentTypeError, ShapeError
from lamina.layers import arguments
from lamina.layers.layer import Layer
from lamina.layers.preprocessing_adapt import batches


def _constant(value: Any, name: str, owner: str) -> float | np.ndarray:
    """A number, or an array of numbers (Keras's ``__numpy__`` config included)."""
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        value = np.asarray(value["config"]["value"], value["config"].get("dtype"))
    if arguments.is_int(value) or isinstance(value, float):
        return value
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        array = np.asarray(None)
    if array.dtype.kind not in "biuf":
        raise ArgumentTypeError(f"{owner}: {name} must be a number or an array of numbers, "
                                f"received {name}={value!r}.")
    return array


def _serialize(value: float | np.ndarray) -> Any:
    """Keras's config of a number (itself) or a numpy array (its ``__numpy__`` entry)."""
    if isinstance(value, np.ndarray):
        return {"class_name": "__numpy__",
                "config": {"value": value.tolist(), "dtype": str(value.dtype)}}
    return value


class Rescaling(Layer):
    """Rescales values: ``inputs * scale + offset``, in training and inference.

    Args:
        scale: The factor (a number, or an array broadcast against the inputs, e.g. one
            value per channel).
        offset: Added after scaling. Default: ``0.0``.

    Input shape:
        Any; integer inputs become the layer's float dtype.

    Output shape:
        Same as the input.

    Example:
        >>> Rescaling(1.0 / 255)(torch.tensor([0, 255])).tolist()
        [0.0, 1.0]
        >>> Rescaling(1.0 / 127.5, offset=-1)(torch.tensor([0.0, 255.0])).tolist()
        [-1.0, 1.0]
    """

    supports_masking = True

    def __init__(self, scale: Any, offset: Any = 0.0, **kwargs: Any) -> None:
        scale = _constant(scale, "scale", "Rescaling")
        offset = _constant(offset, "offset", "Rescaling")
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset
        self._build_at_init()

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        dtype = self.dtype if self.dtype.is_floating_point else torch.float32
        scale = torch.as_tensor(self.scale, dtype=dtype, device=inputs.device)
        offset = torch.as_tensor(self.offset, dtype=dtype, device=inputs.device)
        if scale.dim() > 0 and config.image_data_format() == "channels_first":
            # One value per channel, which is axis -3 of channels-first images.
            scale = scale.reshape(*scale.shape, *(1,) * (3 - scale.dim()))
        return inputs.to(dtype) * scale + offset

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": _serialize(self.scale),
                "offset": _serialize(self.offset)}


class Normalization(Layer):
    """Shifts and scales features to mean 0 and variance 1: ``(x - mean) / sqrt(var)``.

    The mean and variance are either given or learned from data with :meth:`adapt`
    (before ``fit``); adapted values are the non-trainable weights ``mean``, ``variance``
    (and Keras's ``count``), saved with the model. The standard deviation is floored at
    ``lamina.config.epsilon()``, as in Keras.

    Args:
        axis: The axis or axes that keep a separate mean and variance per index (e.g.
            ``-1``: one per feature); ``None``: one scalar mean and variance. Default: ``-1``.
        mean: The mean, broadcast to the kept axes' shape. Give it with ``variance``.
            Default: ``None`` (use :meth:`adapt`).
        variance: The variance, of the same shape as ``mean``. Default: ``None``.
        invert: Apply the inverse, ``x * sqrt(var) + mean``, to turn normalized values
            back. Default: ``False``.

    Input shape:
        Any, with the kept axes known.

    Output shape:
        Same as the input.

    Example:
        >>> layer = Normalization(axis=None)
        >>> layer.adapt(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
        >>> [round(v, 4) for v in layer(torch.tensor([1.0, 2.0, 3.0])).tolist()]
        [-1.4142, -0.7071, 0.0]
        >>> Normalization(mean=3.0, variance=4.0)(torch.tensor([[1.0], [5.0]])).tolist()
        [[-1.0], [1.0]]
    """

    supports_masking = True

    def __init__(self, axis: Any = -1, mean: Any = None, variance: Any = None,
                 invert: bool = False, **kwargs: Any) -> None:
        if axis is None:
            axis = ()
        elif arguments.is_int(axis):
            axis = (axis,)
        elif isinstance(axis, (list, tuple)) and all(arguments.is_int(a) for a in axis):
            axis = tuple(axis)
        else:
            raise ArgumentTypeError(f"Normalization: axis must be an int, a tuple of ints or "
                                    f"None, received axis={axis!r}.")
        if (mean is None) != (variance is None):
            raise ArgumentError(
                "Normalization: give both mean and variance, or neither (then call adapt), "
                f"received mean={mean!r} and variance={variance!r}.")
        if mean is not None:
            mean = _constant(mean, "mean", "Normalization")
            variance = _constant(variance, "variance", "Normalization")
            if np.shape(mean) != np.shape(variance):
                raise ArgumentError(
                    "Normalization: mean and variance must have the same shape, received "
                    f"mean shape {np.shape(mean)} and variance shape {np.shape(variance)}.")
            if np.ndim(mean) > len(axis):
                raise ArgumentError(
                    f"Normalization: mean has rank {np.ndim(mean)}, more than the {len(axis)} "
                    f"kept axes axis={axis}. Give one value per index of the kept axes.")
        super().__init__(**kwargs)
        self.axis = axis
        self.input_mean, self.input_variance = mean, variance
        self.invert = bool(invert)
        self._keep_axes: tuple[int, ...] = ()
        self._broadcast_shape: tuple[int, ...] = ()

    def _kept(self, input_shape: tuple[int | None, ...]) -> tuple[tuple[int, ...],
                                                                 tuple[int, ...]]:
        """(the kept axes, non-negative and sorted; their sizes) for ``input_shape``."""
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ShapeError(f"Normalization '{self.name}': axis={self.axis} is out of range "
                             f"for inputs of rank {ndim} (shape {tuple(input_shape)}).")
        keep = tuple(sorted(a % ndim for a in self.axis))
        unknown = [a for a in keep if input_shape[a] is None]
        if unknown:
            raise ShapeError(
                f"Normalization '{self.name}': the kept axes {keep} must have known sizes, "
                f"received shape {tuple(input_shape)} (axis {unknown[0]} unknown). Give the "
                "Input a full shape, or pass axis=None.")
        return keep, tuple(int(input_shape[a]) for a in keep)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        keep, sizes = self._kept(tuple(input_shape))
        ndim = len(input_shape)
        broadcast = tuple(input_shape[d] if d in keep else 1 for d in range(ndim))
        if self.input_mean is None:
            self.add_weight("mean", sizes, initializer="zeros", trainable=False)
            self.add_weight("variance", sizes, initializer="ones", trainable=False)
            self.add_weight("count", (), initializer="zeros", dtype="int32", trainable=False)
        else:
            values = []
            for given in (self.input_mean, self.input_variance):
                value = torch.as_tensor(np.asarray(given, "float64"), dtype=self.dtype)
                # The given values' axes line up with the last kept axes, as in Keras.
                aligned = [1] * len(keep)
                aligned[len(keep) - value.dim():] = list(value.shape)
                try:
                    values.append(value.reshape(aligned).expand(sizes).clone())
                except RuntimeError:
                    raise ShapeError(
                        f"Normalization '{self.name}': mean and variance of shape "
                        f"{tuple(value.shape)} do not broadcast to the kept axes' shape "
                        f"{sizes} of inputs {tuple(input_shape)}.") from None
            self.register_buffer("mean", values[0], persistent=False)
            self.register_buffer("variance", values[1], persistent=False)
        self._keep_axes, self._broadcast_shape = keep, broadcast

    def adapt(self, data: Any) -> None:
        """Compute the mean and variance of ``data`` and store them as the layer's weights.

        Args:
            data: A numpy array, a tensor, a list of numbers, or an iterable of batches (a
                torch ``DataLoader``, a generator, a list of arrays), each batch an array
                or tensor or an ``(x, y)`` tuple of them. Read once, batch by batch; the
                statistics are exact (pooled over batches in float64).
        """
        if self.input_mean is not None:
            raise ArgumentError(f"Normalization '{self.name}' was given mean and variance: "
                                "it has nothing to adapt. Create it without them to adapt.")
        count, mean, m2, keep, first_shape = 0, None, None, None, None
        for batch in batches(data, "Normalization"):
            if isinstance(batch, torch.Tensor):
                values = batch.detach().to("cpu", torch.float64)
            else:
                values = torch.from_numpy(np.asarray(batch, dtype=np.float64))
            shape = tuple(values.shape)
            if keep is None:
                reference = self._build_shapes if self.built else shape
                keep, sizes = self._kept(tuple(reference))
                if self.built and (len(shape) != len(reference) or any(
                        shape[a] != reference[a] for a in keep)):
                    raise ShapeError(
                        f"Normalization '{self.name}' was built for inputs of shape "
                        f"{tuple(reference)}, but adapt received data of shape {shape}: the "
                        f"kept axes {keep} must match.")
                first_shape = shape
            if len(shape) != len(first_shape) or any(shape[a] != first_shape[a] for a in keep):
                raise ShapeError(f"Normalization '{self.name}'.adapt: a batch of shape {shape} "
                                 f"does not match the first batch's {first_shape} on the kept "
                                 f"axes {keep}.")
            reduce = tuple(d for d in range(values.dim()) if d not in keep)
            n = math.prod(shape[d] for d in reduce)
            if n == 0:
                continue
            batch_mean = values.mean(dim=reduce) if reduce else values
            batch_m2 = ((values - values.mean(dim=reduce, keepdim=True)) ** 2).sum(
                dim=reduce) if reduce else torch.zeros_like(values)
            if mean is None:
                count, mean, m2 = n, batch_mean, batch_m2
            else:
                total = count + n
                delta = batch_mean - mean
                mean = mean + delta * (n / total)
                m2 = m2 + batch_m2 + delta ** 2 * (count * n / total)
                count = total
        if mean is None:
            raise ShapeError(f"Normalization '{self.name}'.adapt received no values.")
        if not self.built:
            self.ensure_built((None, *first_shape[1:]) if 0 not in keep else first_shape)
        with torch.no_grad():
            self.mean.copy_(mean.reshape(self.mean.shape))
            self.variance.copy_((m2 / count).reshape(self.variance.shape))
            self.count.fill_(min(count, torch.iinfo(torch.int32).max))

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        dtype = self.dtype if self.dtype.is_floating_point else torch.float32
        inputs = inputs.to(dtype)
        shape = self._broadcast_shape if len(self._broadcast_shape) == inputs.dim() else None
        mean = self.mean.to(dtype).reshape(shape) if shape else self.mean.to(dtype)
        variance = self.variance.to(dtype).reshape(shape) if shape else self.variance.to(dtype)
        scale = torch.sqrt(variance).clamp_min(config.epsilon())
        if self.invert:
            return mean + inputs * scale
        return (inputs - mean) / scale

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis, "invert": self.invert,
                "mean": np.array(self.input_mean).tolist(),
                "variance": np.array(self.input_variance).tolist()}
