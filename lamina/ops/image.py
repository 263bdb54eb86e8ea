"""``keras.ops.image`` on torch: resizing, patches, padding and cropping here; colour
spaces and filters in ``image_color.py``, resampling at coordinates in
``image_sampling.py`` (all reachable from this module).

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

from typing import Any

import torch
import torch.nn.functional as F

from lamina.errors import ArgumentError, ArgumentTypeError, ShapeError
from lamina.keras_names import missing_name
from lamina.ops.dispatch import symbolic_op
from lamina.ops.image_color import (
    gaussian_blur,
    hsv_to_rgb,
    rgb_to_grayscale,
    rgb_to_hsv,
    sobel_edges,
)
from lamina.ops.image_layout import (
    Size,
    channels_last,
    checked_images,
    from_batched_nchw,
    int_tuple,
    to_batched_nchw,
)
from lamina.ops.image_sampling import UnsupportedOrderError, affine_transform, map_coordinates

__all__ = ["UnsupportedOrderError", "affine_transform", "crop_images", "extract_patches",
           "extract_patches_3d", "gaussian_blur", "hsv_to_rgb", "map_coordinates",
           "pad_images", "resize", "rgb_to_grayscale", "rgb_to_hsv", "sobel_edges"]

#: Keras's interpolation names and torch's modes for them (``"area"``: Keras's TensorFlow
#: backend has it, its torch backend does not; lamina uses torch's adaptive averaging).
_RESIZE_MODES = {"nearest": "nearest-exact", "bilinear": "bilinear", "bicubic": "bicubic",
                 "area": "area"}


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
    last = channels_last(data_format, "resize")
    x = checked_images(images, "resize")
    x, single = to_batched_nchw(x, last)
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
    return from_batched_nchw(out.to(dtype), last, single)


# ------------------------------------------------------------------------------- patches
def _patches(images: Any, size: tuple[int, ...], strides: Size | None, dilation_rate: Size,
             padding: str, data_format: str | None, fn: str) -> torch.Tensor:
    rank = len(size)
    last = channels_last(data_format, fn)
    x = checked_images(images, fn, (rank + 1, rank + 2))
    kernel = int_tuple(size, rank, "size", fn)
    step = kernel if strides is None or strides == 0 else int_tuple(strides, rank, "strides", fn)
    dilation = int_tuple(dilation_rate, rank, "dilation_rate", fn)
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ArgumentError(f"{fn}: padding must be 'valid' or 'same'; received "
                            f"padding={padding!r}.")
    x, single = to_batched_nchw(x, last, rank)
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
    last = channels_last(data_format, "pad_images")
    x = checked_images(images, "pad_images")
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
    last = channels_last(data_format, "crop_images")
    x = checked_images(images, "crop_images")
    height, width = _spatial(x, last)
    top, bottom = _solve("crop_images", rows, height, top_cropping, bottom_cropping,
                         target_height, -1)
    left, right = _solve("crop_images", columns, width, left_cropping, right_cropping,
                         target_width, -1)
    window = (slice(top, height - bottom), slice(left, width - right))
    return x[(..., *window, slice(None))] if last else x[(..., *window)]


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

