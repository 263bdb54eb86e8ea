"""``keras.ops.image`` on torch: resizing, patches, padding and cropping, colour spaces,
geometric transforms and blurring of images.

Every function takes one image (3-D) or a batch (4-D), ``(height, width, channels)`` for
``data_format="channels_last"`` (the default, from ``lamina.config.image_data_format()``)
or ``(channels, height, width)``, as a torch tensor or numpy array, and returns a torch
tensor of the same layout; called on symbolic tensors, each adds a graph node. Values,
dtypes and errors are Keras 3's on its torch backend; where that backend errs, the
function's docstring says what lamina does instead. A float64 numpy array becomes float32
first, as for every lamina op (``operands.py``); Keras keeps float64 (pass a tensor).

Example:
    >>> import torch
    >>> from lamina import ops
    >>> ops.image.resize(torch.ones(2, 8, 8, 3), (4, 4)).shape
    torch.Size([2, 4, 4, 3])
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from lamina import config
from lamina.errors import ArgumentError, ArgumentTypeError, ShapeError
from lamina.keras_names import missing_name
from lamina.ops.dispatch import symbolic_op
from lamina.ops.promotion import inexact, tensor

Size = int | Sequence[int]

#: Keras's interpolation names and torch's modes for them (``"area"``: Keras's TensorFlow
#: backend has it, its torch backend does not; lamina uses torch's adaptive averaging).
_RESIZE_MODES = {"nearest": "nearest-exact", "bilinear": "bilinear", "bicubic": "bicubic",
                 "area": "area"}
_SAMPLING_ORDERS = {"nearest": 0, "bilinear": 1}
_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


class UnsupportedOrderError(ArgumentError, NotImplementedError):
    """``map_coordinates`` with ``order`` above 1: Keras raises ``NotImplementedError``, so
    this is both that and a ``ValueError``."""


# ------------------------------------------------------------------------------- helpers
def _data_format(data_format: str | None, fn: str) -> bool:
    """Whether the layout is channels_last (``None``: the configured default)."""
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ArgumentError(f"{fn}: data_format must be 'channels_last' or 'channels_first'; "
                            f"received data_format={data_format!r}.")
    return data_format == "channels_last"


def _images(images: Any, fn: str, ranks: tuple[int, ...] = (3, 4)) -> torch.Tensor:
    x = tensor(images)
    if x.ndim not in ranks:
        what = "a single image or a batch of images" if ranks == (3, 4) else "volumes"
        raise ShapeError(f"{fn}: expected {what} of rank {' or '.join(map(str, ranks))}; "
                         f"received images.shape={tuple(x.shape)}. Add or remove the "
                         "batch axis.")
    return x


def _to_batched_nchw(x: torch.Tensor, last: bool, rank: int = 2) -> tuple[torch.Tensor, bool]:
    """``x`` as ``(batch, channels, *spatial)``; also whether a batch axis was added."""
    single = x.ndim == rank + 1
    if single:
        x = x.unsqueeze(0)
    return (torch.movedim(x, -1, 1) if last else x), single


def _from_batched_nchw(x: torch.Tensor, last: bool, single: bool) -> torch.Tensor:
    x = torch.movedim(x, 1, -1) if last else x
    return x.squeeze(0) if single else x


def _tuple(value: Size, rank: int, name: str, fn: str) -> tuple[int, ...]:
    values = (value,) * rank if isinstance(value, int) else tuple(int(v) for v in value)
    if len(values) != rank or any(v < 1 for v in values):
        raise ArgumentError(f"{fn}: {name} must be a positive int or {rank} positive ints; "
                            f"received {name}={value!r}.")
    return values


def _channel_axis(last: bool) -> int:
    return -1 if last else -3


# -------------------------------------------------------------------------------- resize
def _check_size(size: Any) -> tuple[int, int]:
    if not hasattr(size, "__len__") or len(size) != 2:
        raise ArgumentError("resize: size must be a tuple of 2 integers (height, width); "
                            f"received size={size!r}.")
    if size[0] <= 0 or size[1] <= 0:
        raise ArgumentError("resize: size must have positive height and width; "
                            f"received size={size!r}.")
    return int(size[0]), int(size[1])


def _crop_to_aspect(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The largest centred window of ``x`` with the aspect ratio of ``size``."""
    height, width = x.shape[-2:]
    crop_height = max(min(height, int(width * size[0] / size[1])), 1)
    crop_width = max(min(width, int(height * size[1] / size[0])), 1)
    top, left = (height - crop_height) // 2, (width - crop_width) // 2
    return x[..., top:top + crop_height, left:left + crop_width]


def _pad_to_aspect(x: torch.Tensor, size: tuple[int, int], fill_value: float) -> torch.Tensor:
    """``x`` padded evenly on its short side to the aspect ratio of ``size`` (the same
    number of rows or columns on each side, as Keras pads)."""
    height, width = x.shape[-2:]
    rows = (max(height, int(width * size[0] / size[1])) - height) // 2
    columns = (max(width, int(height * size[1] / size[0])) - width) // 2
    return F.pad(x, (columns, columns, rows, rows), value=float(fill_value))


@symbolic_op
def resize(images: Any, size: tuple[int, int], interpolation: str = "bilinear",
           antialias: bool = False, crop_to_aspect_ratio: bool = False,
           pad_to_aspect_ratio: bool = False, fill_mode: str = "constant",
           fill_value: float = 0.0, data_format: str | None = None) -> torch.Tensor:
    """Resize images to ``size`` = ``(height, width)``.

    Args:
        images: One image (3-D) or a batch (4-D).
        size: The output ``(height, width)``.
        interpolation: ``"nearest"``, ``"bilinear"``, ``"bicubic"`` or ``"area"`` (the
            mean over each input region: torch's adaptive average pooling, which is
            TensorFlow's area resize when the sizes divide). Default: ``"bilinear"``.
        antialias: Filter before downsampling (``"bilinear"`` and ``"bicubic"`` only;
            ignored otherwise, as in Keras). Default: ``False``.
        crop_to_aspect_ratio: Resize the largest centred window that has the target's
            aspect ratio, so nothing is distorted. Default: ``False``.
        pad_to_aspect_ratio: Pad the short side evenly to the target's aspect ratio first.
            Default: ``False``.
        fill_mode: How padding is filled: only ``"constant"``. Default: ``"constant"``.
        fill_value: The padding value. Default: ``0.0``.
        data_format: ``"channels_last"`` or ``"channels_first"``. Default: ``None`` (the
            configured image data format).

    Returns:
        The resized images, of the input's dtype: integer images are computed in float32,
        rounded and saturated to their dtype's range (Keras's torch backend saturates
        only uint8), float16 and bfloat16 in float32.

    Example:
        >>> import torch
        >>> resize(torch.arange(4.0).reshape(2, 2, 1), (4, 4))[..., 0].tolist()[0]
        [0.0, 0.25, 0.75, 1.0]
    """
    size = _check_size(size)
    if interpolation in ("lanczos3", "lanczos5"):
        raise ArgumentError(f"resize: interpolation={interpolation!r} (Lanczos) is not in "
                            "lamina, as in Keras's torch backend. Use 'bicubic' with "
                            "antialias=True.")
    if interpolation not in _RESIZE_MODES:
        raise ArgumentError(f"resize: interpolation must be one of {sorted(_RESIZE_MODES)}; "
                            f"received interpolation={interpolation!r}.")
    if fill_mode != "constant":
        raise ArgumentError("resize: only fill_mode='constant' is supported; received "
                            f"fill_mode={fill_mode!r}.")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ArgumentError("resize: pass crop_to_aspect_ratio=True or "
                            "pad_to_aspect_ratio=True, not both.")
    last = _data_format(data_format, "resize")
    x = _images(images, "resize")
    x, single = _to_batched_nchw(x, last)
    dtype = x.dtype
    work = x if dtype in (torch.float32, torch.float64) else x.to(torch.float32)
    if crop_to_aspect_ratio:
        work = _crop_to_aspect(work, size)
    elif pad_to_aspect_ratio:
        work = _pad_to_aspect(work, size, fill_value)
    smooth = interpolation in ("bilinear", "bicubic")
    out = F.interpolate(work, size=size, mode=_RESIZE_MODES[interpolation],
                        align_corners=False if smooth else None,
                        antialias=bool(antialias) and smooth)
    if dtype == torch.bool:
        out = out.round().clamp(0, 1)
    elif not dtype.is_floating_point:
        out = out.round().clamp(torch.iinfo(dtype).min, torch.iinfo(dtype).max)
    return _from_batched_nchw(out.to(dtype), last, single)


# ------------------------------------------------------------------------------- patches
def _patches(images: Any, size: tuple[int, ...], strides: Size | None, dilation_rate: Size,
             padding: str, data_format: str | None, fn: str) -> torch.Tensor:
    rank = len(size)
    last = _data_format(data_format, fn)
    x = _images(images, fn, (rank + 1, rank + 2))
    kernel = _tuple(size, rank, "size", fn)
    step = kernel if strides is None or strides == 0 else _tuple(strides, rank, "strides", fn)
    dilation = _tuple(dilation_rate, rank, "dilation_rate", fn)
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ArgumentError(f"{fn}: padding must be 'valid' or 'same'; received "
                            f"padding={padding!r}.")
    x, single = _to_batched_nchw(x, last, rank)
    spans = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    if padding.lower() == "same":
        pads: list[int] = []
        for length, span, s in zip(x.shape[2:], spans, step):
            total = max(0, (-(-length // s) - 1) * s + span - length)
            pads = [total // 2, total - total // 2] + pads
        x = F.pad(x, pads)
    if any(length < span for length, span in zip(x.shape[2:], spans)):
        raise ShapeError(f"{fn}: patches spanning {tuple(spans)} pixels do not fit in images "
                         f"of spatial shape {tuple(x.shape[2:])}. Use smaller patches or "
                         "padding='same'.")
    for axis, (span, s) in enumerate(zip(spans, step)):
        x = x.unfold(2 + axis, span, s)  # adds the window as a trailing axis
    windows = (slice(None),) * (2 + rank) + tuple(slice(None, None, d) for d in dilation)
    x = x[windows]  # (batch, channels, *out, *kernel)
    out_shape = x.shape[2:2 + rank]
    order = (0, *range(2, 2 + rank), *range(2 + rank, 2 + 2 * rank), 1)
    x = x.permute(order).reshape(x.shape[0], *out_shape, -1)
    if not last:
        x = torch.movedim(x, -1, 1)
    return x.squeeze(0) if single else x


@symbolic_op
def extract_patches(images: Any, size: Size, strides: Size | None = None,
                    dilation_rate: Size = 1, padding: str = "valid",
                    data_format: str | None = None) -> torch.Tensor:
    """Patches of images (``size`` an int or 2 ints) or of volumes (3 ints), flattened
    into the channel axis.

    Args:
        images: ``(height, width, channels)`` or a batch of them; with a 3-int ``size``,
            ``(depth, height, width, channels)`` or a batch (channels first likewise).
        size: The patch size.
        strides: The step between patches. Default: ``None`` (the patch size).
        dilation_rate: The step between a patch's pixels. Default: ``1``.
        padding: ``"valid"`` or ``"same"`` (TensorFlow's: the odd pixel at the end).
            Default: ``"valid"``.
        data_format: ``"channels_last"`` or ``"channels_first"``. Default: ``None`` (the
            configured image data format).

    Returns:
        ``(*batch, *out_spatial, prod(size) * channels)`` for channels_last (the patch's
        pixels row by row, each pixel's channels together, as Keras), of the input's dtype.

    Example:
        >>> import torch
        >>> extract_patches(torch.ones(2, 20, 20, 3), (5, 5)).shape
        torch.Size([2, 4, 4, 75])
    """
    if isinstance(size, int):
        size = (size, size)
    elif not isinstance(size, (tuple, list)):
        raise ArgumentTypeError("extract_patches: size must be an int or a tuple; received "
                                f"size={size!r} of type {type(size).__name__}.")
    elif len(size) not in (2, 3):
        raise ArgumentError("extract_patches: size must have 2 values (image patches) or 3 "
                            f"(volume patches); received size={size!r}.")
    return _patches(images, tuple(size), strides, dilation_rate, padding, data_format,
                    "extract_patches")


@symbolic_op
def extract_patches_3d(volumes: Any, size: Size, strides: Size | None = None,
                       dilation_rate: Size = 1, padding: str = "valid",
                       data_format: str | None = None) -> torch.Tensor:
    """Patches of volumes: :func:`extract_patches` with a 3-value ``size`` (an int is
    used for depth, height and width).

    Example:
        >>> import torch
        >>> extract_patches_3d(torch.ones(10, 10, 10, 3), 3).shape
        torch.Size([3, 3, 3, 81])
    """
    size = (size,) * 3 if isinstance(size, int) else tuple(size)
    if len(size) != 3:
        raise ArgumentError("extract_patches_3d: size must be an int or 3 ints; received "
                            f"size={size!r}.")
    return _patches(volumes, size, strides, dilation_rate, padding, data_format,
                    "extract_patches_3d")


# ------------------------------------------------------------------------ pad and crop
def _two_of_three(fn: str, names: tuple[str, str, str], values: tuple[Any, Any, Any]) -> None:
    if list(values).count(None) != 1:
        given = ", ".join(f"{n}={v!r}" for n, v in zip(names, values))
        raise ArgumentError(f"{fn}: give exactly two of {', '.join(names)}; received {given}.")
    for name, value in zip(names, values):
        if value is not None and value < 0:
            raise ArgumentError(f"{fn}: {name} must be >= 0; received {name}={value!r}.")


def _spatial(x: torch.Tensor, last: bool) -> tuple[int, int]:
    return (x.shape[-3], x.shape[-2]) if last else (x.shape[-2], x.shape[-1])


def _solve(fn: str, names: tuple[str, str, str], length: int, first: int | None,
           second: int | None, target: int | None, sign: int) -> tuple[int, int]:
    """(first, second) with ``target = length + sign * (first + second)``, checked >= 0."""
    if target is None:
        target = length + sign * (first + second)
    if first is None:
        first = sign * (target - length) - second
    if second is None:
        second = sign * (target - length) - first
    for name, value in zip(names, (first, second, target)):
        if value < 0:
            raise ArgumentError(f"{fn}: images of size {length} along this axis make {name} "
                                f"{value}; it must be >= 0. Change the arguments.")
    return first, second


@symbolic_op
def pad_images(images: Any, top_padding: int | None = None, left_padding: int | None = None,
               bottom_padding: int | None = None, right_padding: int | None = None,
               target_height: int | None = None, target_width: int | None = None,
               data_format: str | None = None) -> torch.Tensor:
    """Pad images with zeros; give two of top/bottom padding and ``target_height``, and
    two of left/right padding and ``target_width``.

    Example:
        >>> import torch
        >>> pad_images(torch.ones(15, 25, 3), 2, 3, target_height=20, target_width=30).shape
        torch.Size([20, 30, 3])
    """
    rows = ("top_padding", "bottom_padding", "target_height")
    columns = ("left_padding", "right_padding", "target_width")
    _two_of_three("pad_images", rows, (top_padding, bottom_padding, target_height))
    _two_of_three("pad_images", columns, (left_padding, right_padding, target_width))
    last = _data_format(data_format, "pad_images")
    x = _images(images, "pad_images")
    height, width = _spatial(x, last)
    top, bottom = _solve("pad_images", rows, height, top_padding, bottom_padding,
                         target_height, 1)
    left, right = _solve("pad_images", columns, width, left_padding, right_padding,
                         target_width, 1)
    pads = [0, 0, left, right, top, bottom] if last else [left, right, top, bottom]
    return F.pad(x, pads)


@symbolic_op
def crop_images(images: Any, top_cropping: int | None = None, left_cropping: int | None = None,
                bottom_cropping: int | None = None, right_cropping: int | None = None,
                target_height: int | None = None, target_width: int | None = None,
                data_format: str | None = None) -> torch.Tensor:
    """Crop images; give two of top/bottom cropping and ``target_height``, and two of
    left/right cropping and ``target_width``.

    Example:
        >>> import torch
        >>> image = torch.arange(9.0).reshape(3, 3, 1)
        >>> crop_images(image, 1, 0, target_height=2, target_width=2)[..., 0].tolist()
        [[3.0, 4.0], [6.0, 7.0]]
    """
    rows = ("top_cropping", "bottom_cropping", "target_height")
    columns = ("left_cropping", "right_cropping", "target_width")
    _two_of_three("crop_images", rows, (top_cropping, bottom_cropping, target_height))
    _two_of_three("crop_images", columns, (left_cropping, right_cropping, target_width))
    last = _data_format(data_format, "crop_images")
    x = _images(images, "crop_images")
    height, width = _spatial(x, last)
    top, bottom = _solve("crop_images", rows, height, top_cropping, bottom_cropping,
                         target_height, -1)
    left, right = _solve("crop_images", columns, width, left_cropping, right_cropping,
                         target_width, -1)
    window = (slice(top, height - bottom), slice(left, width - right))
    return x[(..., *window, slice(None))] if last else x[(..., *window)]


# ------------------------------------------------------------------------ colour spaces
def _float_images(images: Any, fn: str, last: bool) -> torch.Tensor:
    x = _images(images, fn)
    if not x.is_floating_point():
        raise ArgumentError(f"{fn}: expected float images (values in [0, 1]); received "
                            f"dtype {str(x.dtype).removeprefix('torch.')}. Cast them first.")
    if x.shape[_channel_axis(last)] != 3:
        raise ShapeError(f"{fn}: expected 3 channels; received images.shape="
                         f"{tuple(x.shape)}. Check data_format.")
    return x


@symbolic_op
def rgb_to_grayscale(images: Any, data_format: str | None = None) -> torch.Tensor:
    """Luma ``0.2989 R + 0.587 G + 0.114 B`` in one channel, of the input's dtype (integer
    images truncated, as in Keras); one-channel images are returned as they are.

    Example:
        >>> import torch
        >>> rgb_to_grayscale(torch.ones(2, 4, 4, 3)).shape
        torch.Size([2, 4, 4, 1])
    """
    last = _data_format(data_format, "rgb_to_grayscale")
    x = _images(images, "rgb_to_grayscale")
    axis = _channel_axis(last)
    if x.shape[axis] not in (1, 3):
        raise ShapeError("rgb_to_grayscale: expected 3 (RGB) or 1 (grayscale) channels; "
                         f"received images.shape={tuple(x.shape)}. Check data_format.")
    if x.shape[axis] == 1:
        return x.clone()
    red, green, blue = x.unbind(axis)
    return (0.2989 * red + 0.587 * green + 0.114 * blue).to(x.dtype).unsqueeze(axis)


@symbolic_op
def rgb_to_hsv(images: Any, data_format: str | None = None) -> torch.Tensor:
    """Float RGB images in ``[0, 1]`` to hue, saturation and value, each in ``[0, 1]``
    (hue 0 is red, 1/3 green, 2/3 blue).

    Example:
        >>> import torch
        >>> rgb_to_hsv(torch.tensor([[[0.0, 0.0, 1.0]]])).tolist()
        [[[0.6666666865348816, 1.0, 1.0]]]
    """
    last = _data_format(data_format, "rgb_to_hsv")
    x = _float_images(images, "rgb_to_hsv", last)
    axis = _channel_axis(last)
    x = torch.where(x.abs() < torch.finfo(x.dtype).eps, 0.0, x)
    red, green, blue = x.unbind(axis)
    value = torch.maximum(torch.maximum(red, green), blue)
    spread = value - torch.minimum(torch.minimum(red, green), blue)
    saturation = torch.where(value > 0, spread / torch.where(value > 0, value, 1.0), 0.0)
    scale = 1.0 / (6.0 * torch.where(spread > 0, spread, 1.0))
    hue = torch.where(value == green, scale * (blue - red) + 2.0 / 6.0,
                      scale * (red - green) + 4.0 / 6.0)
    hue = torch.where(value == red, scale * (green - blue), hue)
    hue = torch.where(spread > 0, hue, 0.0) + (hue < 0.0).to(hue.dtype)
    return torch.stack((hue, saturation, value), dim=axis)


@symbolic_op
def hsv_to_rgb(images: Any, data_format: str | None = None) -> torch.Tensor:
    """Float HSV images (each channel in ``[0, 1]``) to RGB, the inverse of
    :func:`rgb_to_hsv`.

    Example:
        >>> import torch
        >>> hsv_to_rgb(torch.tensor([[[2 / 3, 1.0, 1.0]]])).tolist()
        [[[0.0, 0.0, 1.0]]]
    """
    last = _data_format(data_format, "hsv_to_rgb")
    x = _float_images(images, "hsv_to_rgb", last)
    axis = _channel_axis(last)
    hue, saturation, value = x.unbind(axis)
    sector = torch.remainder(hue, 1.0) * 6.0
    weights = (torch.clip((sector - 3.0).abs() - 1.0, 0.0, 1.0),
               torch.clip(2.0 - (sector - 2.0).abs(), 0.0, 1.0),
               torch.clip(2.0 - (sector - 4.0).abs(), 0.0, 1.0))
    return torch.stack([value * (1.0 - saturation + saturation * w) for w in weights], dim=axis)


# ------------------------------------------------------------------ sampling and warping
def _mirror(index: torch.Tensor, size: int) -> torch.Tensor:
    period = size - 1
    if period == 0:
        return torch.zeros_like(index)
    return ((index + period) % (2 * period) - period).abs()


_INDEX_FIXERS: dict[str, Callable[[torch.Tensor, int], torch.Tensor]] = {
    "constant": lambda index, size: index.clamp(0, size - 1),
    "nearest": lambda index, size: index.clamp(0, size - 1),
    "wrap": lambda index, size: index % size,
    "mirror": _mirror,
    "reflect": lambda index, size: torch.div(_mirror(2 * index + 1, 2 * size + 1) - 1, 2,
                                             rounding_mode="floor"),
}


def _nodes(coordinate: torch.Tensor, size: int, order: int, fill_mode: str
           ) -> list[tuple[torch.Tensor, torch.Tensor | None, Any]]:
    """(index into the axis, whether it lies inside (constant mode), weight) of each
    neighbour that ``coordinate`` interpolates from."""
    if order == 0:
        exact = coordinate if not coordinate.is_floating_point() else coordinate.round()
        found = [(exact.long(), 1)]
    else:
        if not coordinate.is_floating_point():
            coordinate = coordinate.to(torch.float32)
        lower = coordinate.floor()
        upper_weight = coordinate - lower
        found = [(lower.long(), 1 - upper_weight), (lower.long() + 1, upper_weight)]
    return [(_INDEX_FIXERS[fill_mode](index, size),
             (index >= 0) & (index < size) if fill_mode == "constant" else None, weight)
            for index, weight in found]


def _interpolate(gather: Callable[[tuple[torch.Tensor, ...]], torch.Tensor],
                 nodes: list[list[tuple[torch.Tensor, torch.Tensor | None, Any]]],
                 fill_value: Any, dtype: torch.dtype, expand: Callable[[Any], Any]
                 ) -> torch.Tensor:
    """The weighted sum over all corners of the per-axis ``nodes``; ``gather`` reads the
    values at one corner's indices, ``expand`` fits weights and masks to them."""
    total: Any = None
    for corner in itertools.product(*nodes):
        indices, valid, weights = zip(*corner)
        value = gather(indices)
        if valid[0] is not None:
            value = torch.where(expand(functools.reduce(operator.and_, valid)), value,
                                fill_value)
        term = expand(functools.reduce(operator.mul, weights)) * value
        total = term if total is None else total + term
    if not (dtype.is_floating_point or dtype.is_complex) and total.is_floating_point():
        total = total.round()
    return total.to(dtype)


def _check_sampling(fn: str, fill_mode: str) -> None:
    if fill_mode not in _FILL_MODES:
        raise ArgumentError(f"{fn}: fill_mode must be one of {list(_FILL_MODES)}; received "
                            f"fill_mode={fill_mode!r}.")


def _fill(fill_value: Any, x: torch.Tensor) -> Any:
    if isinstance(fill_value, (int, float)) and not x.is_floating_point():
        return int(fill_value)
    return fill_value


@symbolic_op
def map_coordinates(inputs: Any, coordinates: Any, order: int, fill_mode: str = "constant",
                    fill_value: float = 0) -> torch.Tensor:
    """Sample ``inputs`` at ``coordinates`` (one array per axis of ``inputs``, stacked or
    in a list) by nearest (``order=0``) or linear (``order=1``) interpolation.

    ``fill_mode`` says what lies outside: ``"constant"`` (``fill_value``), ``"nearest"``
    (the edge), ``"wrap"``, ``"mirror"`` (``c d c b | a b c d``) or ``"reflect"``
    (``d c b a | a b c d``). The result has the coordinates' trailing shape and the
    inputs' dtype (integer results rounded).

    Example:
        >>> import torch
        >>> map_coordinates(torch.tensor([0.0, 10.0, 20.0]), [[0.5, 1.75, 3.0]], 1).tolist()
        [5.0, 17.5, 0.0]
    """
    x = tensor(inputs)
    coordinate_list = [torch.as_tensor(c, device=x.device) for c in coordinates]
    if len(coordinate_list) != x.ndim:
        raise ShapeError("map_coordinates: coordinates need one entry per axis of inputs "
                         f"(inputs.shape={tuple(x.shape)}); received "
                         f"{len(coordinate_list)}.")
    if coordinate_list[0].ndim < 1:
        raise ShapeError("map_coordinates: coordinates must be at least 2-D, "
                         f"(axes, *points); received shape ({len(coordinate_list)},).")
    _check_sampling("map_coordinates", fill_mode)
    if order not in (0, 1):
        raise UnsupportedOrderError("map_coordinates: order must be 0 (nearest) or 1 "
                                    f"(linear); received order={order!r}.")
    nodes = [_nodes(c, size, order, fill_mode) for c, size in zip(coordinate_list, x.shape)]
    return _interpolate(lambda indices: x[indices], nodes, _fill(fill_value, x), x.dtype,
                        lambda w: w)


@symbolic_op
def affine_transform(images: Any, transform: Any, interpolation: str = "bilinear",
                     fill_mode: str = "constant", fill_value: float = 0,
                     data_format: str | None = None) -> torch.Tensor:
    """Warp images: output pixel ``(x, y)`` samples the input at
    ``((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)``, ``k = c0 x + c1 y + 1``.

    Args:
        images: One image (3-D) or a batch (4-D).
        transform: ``[a0, a1, a2, b0, b1, b2, c0, c1]`` (for every image; Keras's torch
            backend fails on a batch with one transform), or one such row per image. The
            projective ``c0``, ``c1`` divide as in Keras's TensorFlow backend (its torch
            backend misuses them). No gradient reaches the transform in Keras; here it does.
        interpolation: ``"nearest"`` or ``"bilinear"``. Default: ``"bilinear"``.
        fill_mode: Outside the input: ``"constant"``, ``"nearest"``, ``"wrap"``,
            ``"mirror"`` or ``"reflect"`` (see :func:`map_coordinates`).
            Default: ``"constant"``.
        fill_value: The value of ``"constant"``. Default: ``0``.
        data_format: ``"channels_last"`` or ``"channels_first"``. Default: ``None`` (the
            configured image data format).

    Example:
        >>> import torch
        >>> image = torch.arange(4.0).reshape(1, 4, 1)
        >>> shift = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0]  # samples x + 1
        >>> affine_transform(image, shift)[0, :, 0].tolist()
        [1.0, 2.0, 3.0, 0.0]
    """
    if interpolation not in _SAMPLING_ORDERS:
        raise ArgumentError("affine_transform: interpolation must be 'nearest' or "
                            f"'bilinear'; received interpolation={interpolation!r}.")
    _check_sampling("affine_transform", fill_mode)
    last = _data_format(data_format, "affine_transform")
    x = _images(images, "affine_transform")
    matrix = inexact(transform)
    if matrix.ndim not in (1, 2) or matrix.shape[-1] != 8:
        raise ShapeError("affine_transform: transform must be 8 values or one row of 8 per "
                         f"image; received transform.shape={tuple(matrix.shape)}.")
    x, single = _to_batched_nchw(x, last)
    x = torch.movedim(x, 1, -1)  # (batch, height, width, channels): one gather per corner
    batch, height, width = x.shape[:3]
    rows = matrix.reshape(-1, 8).to(x.device)
    if rows.shape[0] not in (1, batch):
        raise ShapeError(f"affine_transform: {rows.shape[0]} transforms for {batch} images; "
                         "give one, or one per image.")
    ys, xs = torch.meshgrid(torch.arange(height, dtype=rows.dtype, device=x.device),
                            torch.arange(width, dtype=rows.dtype, device=x.device),
                            indexing="ij")
    a0, a1, a2, b0, b1, b2, c0, c1 = (r.reshape(-1, 1, 1) for r in rows.unbind(-1))
    k = c0 * xs + c1 * ys + 1.0
    source_x = ((a0 * xs + a1 * ys + a2) / k).expand(batch, height, width)
    source_y = ((b0 * xs + b1 * ys + b2) / k).expand(batch, height, width)
    order = _SAMPLING_ORDERS[interpolation]
    nodes = [_nodes(source_y, height, order, fill_mode), _nodes(source_x, width, order, fill_mode)]
    image_index = torch.arange(batch, device=x.device).reshape(-1, 1, 1)
    out = _interpolate(lambda ij: x[image_index, ij[0], ij[1]], nodes, _fill(fill_value, x),
                       x.dtype, lambda w: w.unsqueeze(-1) if isinstance(w, torch.Tensor) else w)
    return _from_batched_nchw(torch.movedim(out, -1, 1), last, single)


# ------------------------------------------------------------------------------ blurring
def _pair(value: Any, fn: str, name: str) -> tuple[Any, Any]:
    pair = (value, value) if isinstance(value, (int, float)) else tuple(value)
    if len(pair) != 2:
        raise ArgumentError(f"{fn}: {name} must be a number or 2 numbers; received "
                            f"{name}={value!r}.")
    return pair


def _gaussian(size: int, sigma: float, dtype: torch.dtype, device: torch.device
              ) -> torch.Tensor:
    offsets = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    weights = torch.exp(-0.5 * (offsets / sigma) ** 2)
    return weights / weights.sum()


@symbolic_op
def gaussian_blur(images: Any, kernel_size: tuple[int, int] = (3, 3),
                  sigma: tuple[float, float] = (1.0, 1.0),
                  data_format: str | None = None) -> torch.Tensor:
    """Blur each channel with a Gaussian kernel; zeros beyond the edges, the output the
    size of the input.

    As Keras computes it on every backend (whatever its docstring says), the first entry
    of ``kernel_size`` and ``sigma`` applies along the width and the second along the
    height. Keras's torch backend ignores ``data_format=None`` (treating the images as
    channels_first); lamina uses the configured format, as its other backends do.

    Example:
        >>> import torch
        >>> gaussian_blur(torch.ones(2, 64, 80, 3)).shape
        torch.Size([2, 64, 80, 3])
    """
    widths = _pair(kernel_size, "gaussian_blur", "kernel_size")
    sigmas = _pair(sigma, "gaussian_blur", "sigma")
    if any(int(k) != k or k < 1 for k in widths):
        raise ArgumentError("gaussian_blur: kernel_size must be positive integers; received "
                            f"kernel_size={kernel_size!r}.")
    last = _data_format(data_format, "gaussian_blur")
    x, single = _to_batched_nchw(inexact(_images(images, "gaussian_blur")), last)
    kernel = torch.outer(_gaussian(int(widths[1]), float(sigmas[1]), x.dtype, x.device),
                         _gaussian(int(widths[0]), float(sigmas[0]), x.dtype, x.device))
    channels = x.shape[1]
    pads = []
    for k in (kernel.shape[1], kernel.shape[0]):  # F.pad wants the last axis first
        pads += [(k - 1) // 2, k - 1 - (k - 1) // 2]
    kernel = kernel.expand(channels, 1, *kernel.shape)
    out = F.conv2d(F.pad(x, pads), kernel, groups=channels)
    return _from_batched_nchw(out, last, single)


@symbolic_op
def sobel_edges(images: Any, data_format: str | None = None) -> torch.Tensor:
    """The Sobel gradients ``[dy, dx]`` of each channel of a batch of images (zeros
    beyond the edges, as in Keras's torch backend), in a new trailing axis of size 2.

    Example:
        >>> import torch
        >>> image = torch.zeros(1, 4, 4, 1)
        >>> image[0, :, 2:, 0] = 1.0
        >>> sobel_edges(image)[0, 1, :, 0].tolist()  # [dy, dx] along a row
        [[0.0, 0.0], [0.0, 4.0], [0.0, 4.0], [0.0, -4.0]]
    """
    last = _data_format(data_format, "sobel_edges")
    x = inexact(_images(images, "sobel_edges", (4,)))
    x, _ = _to_batched_nchw(x, last)
    smooth = torch.tensor([1.0, 2.0, 1.0], dtype=x.dtype, device=x.device)
    step = torch.tensor([-1.0, 0.0, 1.0], dtype=x.dtype, device=x.device)
    channels = x.shape[1]
    edges = [F.conv2d(x, kernel.expand(channels, 1, 3, 3), padding=1, groups=channels)
             for kernel in (torch.outer(step, smooth), torch.outer(smooth, step))]
    edges = torch.stack(edges, dim=-1)  # (batch, channels, height, width, 2)
    return edges.permute(0, 2, 3, 1, 4) if last else edges


#: The image ops, by Keras name. Each is stored in a saved Lambda as ``image.<name>`` (its
#: ``__lamina_op__``), so a model holding one reloads through the ops allowlist.
OPS = ("resize", "extract_patches", "extract_patches_3d", "pad_images", "crop_images",
       "rgb_to_grayscale", "rgb_to_hsv", "hsv_to_rgb", "map_coordinates", "affine_transform",
       "gaussian_blur", "sobel_edges")
for _name in OPS:
    globals()[_name].__lamina_op__ = f"image.{_name}"


def __getattr__(name: str) -> object:
    """A clear ``AttributeError`` for a Keras name lamina lacks (see ``keras_names.py``)."""
    raise missing_name("ops.image", name, globals())
