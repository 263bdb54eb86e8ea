"""``keras.ops.image`` colour spaces and filters: grayscale, HSV, Gaussian blur and Sobel
edges (see :mod:`lamina.ops.image` for the layout conventions)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.errors import ArgumentError, ShapeError
from lamina.ops.dispatch import symbolic_op
from lamina.ops.image_layout import (
    channel_axis,
    channels_last,
    checked_images,
    from_batched_nchw,
    to_batched_nchw,
)
from lamina.ops.promotion import inexact


# ------------------------------------------------------------------------ colour spaces
def _float_images(images: Any, fn: str, last: bool) -> torch.Tensor:
    x = checked_images(images, fn)
    if not x.is_floating_point():
        raise ArgumentError(f"{fn}: expected float images (values in [0, 1]); received "
                            f"dtype {str(x.dtype).removeprefix('torch.')}. Cast them first.")
    if x.shape[channel_axis(last)] != 3:
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
    last = channels_last(data_format, "rgb_to_grayscale")
    x = checked_images(images, "rgb_to_grayscale")
    axis = channel_axis(last)
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
    last = channels_last(data_format, "rgb_to_hsv")
    x = _float_images(images, "rgb_to_hsv", last)
    axis = channel_axis(last)
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
    last = channels_last(data_format, "hsv_to_rgb")
    x = _float_images(images, "hsv_to_rgb", last)
    axis = channel_axis(last)
    hue, saturation, value = x.unbind(axis)
    sector = torch.remainder(hue, 1.0) * 6.0
    weights = (torch.clip((sector - 3.0).abs() - 1.0, 0.0, 1.0),
               torch.clip(2.0 - (sector - 2.0).abs(), 0.0, 1.0),
               torch.clip(2.0 - (sector - 4.0).abs(), 0.0, 1.0))
    return torch.stack([value * (1.0 - saturation + saturation * w) for w in weights], dim=axis)


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
    last = channels_last(data_format, "gaussian_blur")
    x, single = to_batched_nchw(inexact(checked_images(images, "gaussian_blur")), last)
    kernel = torch.outer(_gaussian(int(widths[1]), float(sigmas[1]), x.dtype, x.device),
                         _gaussian(int(widths[0]), float(sigmas[0]), x.dtype, x.device))
    channels = x.shape[1]
    pads = []
    for k in (kernel.shape[1], kernel.shape[0]):  # F.pad wants the last axis first
        pads += [(k - 1) // 2, k - 1 - (k - 1) // 2]
    kernel = kernel.expand(channels, 1, *kernel.shape)
    out = F.conv2d(F.pad(x, pads), kernel, groups=channels)
    return from_batched_nchw(out, last, single)


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
    last = channels_last(data_format, "sobel_edges")
    x = inexact(checked_images(images, "sobel_edges", (4,)))
    x, _ = to_batched_nchw(x, last)
    smooth = torch.tensor([1.0, 2.0, 1.0], dtype=x.dtype, device=x.device)
    step = torch.tensor([-1.0, 0.0, 1.0], dtype=x.dtype, device=x.device)
    channels = x.shape[1]
    edges = [F.conv2d(x, kernel.expand(channels, 1, 3, 3), padding=1, groups=channels)
             for kernel in (torch.outer(step, smooth), torch.outer(smooth, step))]
    edges = torch.stack(edges, dim=-1)  # (batch, channels, height, width, 2)
    return edges.permute(0, 2, 3, 1, 4) if last else edges
