"""Keras's convolution and pooling ops on torch: Keras layouts, TensorFlow-style "same".

Inputs are ``(batch, *spatial, channels)`` for ``data_format="channels_last"`` (the
default, from ``lamina.config.image_data_format()``) or ``(batch, channels, *spatial)``;
kernels are Keras's ``(*spatial, in_channels, out_channels)``. ``"same"`` padding puts
the odd pixel at the end, as Keras does.

Example:
    >>> import torch
    >>> max_pool(torch.arange(8.0).reshape(1, 8, 1), 2).reshape(-1).tolist()
    [1.0, 3.0, 5.0, 7.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from lamina import config
from lamina.ops.dispatch import symbolic_op
from lamina.ops.promotion import inexact, tensor

Size = int | Sequence[int]
_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def _tuple(value: Size, rank: int, name: str) -> tuple[int, ...]:
    values = (value,) * rank if isinstance(value, int) else tuple(int(v) for v in value)
    if len(values) != rank:
        raise ValueError(f"{name} needs {rank} values for {rank} spatial axes; "
                         f"received {name}={value!r}.")
    return values


def _channels_first(x: torch.Tensor, data_format: str | None) -> tuple[torch.Tensor, bool]:
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError("data_format must be 'channels_last' or 'channels_first'; "
                         f"received data_format={data_format!r}.")
    last = data_format == "channels_last"
    return (torch.movedim(x, -1, 1) if last else x), last


def _restore(x: torch.Tensor, last: bool) -> torch.Tensor:
    return torch.movedim(x, 1, -1) if last else x


def _same_padding(x: torch.Tensor, kernel: tuple[int, ...], strides: tuple[int, ...],
                  dilation: tuple[int, ...]) -> list[int]:
    """``F.pad``'s list (last axis first) for TensorFlow's "same" padding."""
    pads: list[int] = []
    for size, k, s, d in zip(x.shape[2:], kernel, strides, dilation):
        out = (size + s - 1) // s
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
        pads.append((total // 2, total - total // 2))
    return [p for pair in reversed(pads) for p in pair]


def _check_padding(padding: str) -> str:
    padding = padding.lower()
    if padding not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same'; received padding={padding!r}.")
    return padding


@symbolic_op
def max_pool(inputs: Any, pool_size: Size, strides: Size | None = None,
             padding: str = "valid", data_format: str | None = None) -> torch.Tensor:
    """The maximum over each ``pool_size`` window, moved by ``strides`` (default: the
    pool size); 1, 2 or 3 spatial axes."""
    x, last = _channels_first(inexact(inputs), data_format)
    rank = x.ndim - 2
    size = _tuple(pool_size, rank, "pool_size")
    step = size if strides is None else _tuple(strides, rank, "strides")
    if _check_padding(padding) == "same":
        x = F.pad(x, _same_padding(x, size, step, (1,) * rank), mode="replicate")
    return _restore(_MAX_POOL[rank](x, size, step), last)


@symbolic_op
def average_pool(inputs: Any, pool_size: Size, strides: Size | None = None,
                 padding: str = "valid", data_format: str | None = None) -> torch.Tensor:
    """The mean over each ``pool_size`` window (padding not counted, as in Keras)."""
    x, last = _channels_first(inexact(inputs), data_format)
    rank = x.ndim - 2
    size = _tuple(pool_size, rank, "pool_size")
    step = size if strides is None else _tuple(strides, rank, "strides")
    if _check_padding(padding) == "valid":
        return _restore(_AVG_POOL[rank](x, size, step), last)
    pads = _same_padding(x, size, step, (1,) * rank)
    sums = _AVG_POOL[rank](F.pad(x, pads), size, step)
    counts = _AVG_POOL[rank](F.pad(torch.ones_like(x[:1, :1]), pads), size, step)
    return _restore(sums / counts, last)


_ADAPTIVE = {"average": {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d,
                         3: F.adaptive_avg_pool3d},
             "max": {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d,
                     3: F.adaptive_max_pool3d}}


def _adaptive(kind: str, inputs: Any, output_size: Size, data_format: str | None
              ) -> torch.Tensor:
    x, last = _channels_first(inexact(inputs), data_format)
    rank = x.ndim - 2
    if rank not in (1, 2, 3):
        raise ValueError(f"adaptive_{kind}_pool: inputs need 1, 2 or 3 spatial axes (rank "
                         f"3, 4 or 5), received shape {tuple(x.shape)}.")
    size = _tuple(output_size, rank, "output_size")
    return _restore(_ADAPTIVE[kind][rank](x, size if rank > 1 else size[0]), last)


@symbolic_op
def adaptive_average_pool(inputs: Any, output_size: Size, data_format: str | None = None
                          ) -> torch.Tensor:
    """Average pooling to a fixed ``output_size``, the windows chosen to cover the input
    (torch's adaptive pooling, as Keras on torch)."""
    return _adaptive("average", inputs, output_size, data_format)


@symbolic_op
def adaptive_max_pool(inputs: Any, output_size: Size, data_format: str | None = None
                      ) -> torch.Tensor:
    """Max pooling to a fixed ``output_size`` (see :func:`adaptive_average_pool`)."""
    return _adaptive("max", inputs, output_size, data_format)


@symbolic_op
def unfold(x: Any, kernel_size: Size, dilation: Size = 1, padding: Size = 0,
           stride: Size = 1) -> torch.Tensor:
    """Sliding blocks of a channels-first batch of images ``(N, C, H, W)`` as columns
    ``(N, C * kH * kW, L)`` (im2col, torch's ``unfold``)."""
    return F.unfold(tensor(x), kernel_size, dilation=dilation, padding=padding, stride=stride)


@symbolic_op
def fold(x: Any, output_size: Size, kernel_size: Size, dilation: Size = 1, padding: Size = 0,
         stride: Size = 1) -> torch.Tensor:
    """The images ``(N, C, H, W)`` whose :func:`unfold` columns are ``x``, overlapping
    blocks summed (col2im)."""
    return F.fold(tensor(x), output_size, kernel_size, dilation=dilation, padding=padding,
                  stride=stride)


@symbolic_op
def conv(inputs: Any, kernel: Any, strides: Size = 1, padding: str = "valid",
         data_format: str | None = None, dilation_rate: Size = 1) -> torch.Tensor:
    """N-D convolution (1, 2 or 3 spatial axes) with a Keras ``(*spatial, in, out)``
    kernel; ``in`` smaller than the input channels makes a grouped convolution."""
    x, last = _channels_first(inexact(inputs), data_format)
    weight = tensor(kernel).to(x.dtype)
    rank = x.ndim - 2
    step = _tuple(strides, rank, "strides")
    dilation = _tuple(dilation_rate, rank, "dilation_rate")
    weight = weight.permute(rank + 1, rank, *range(rank))
    if x.shape[1] % weight.shape[1]:
        raise ValueError(f"The input channels ({x.shape[1]}) must be a multiple of the "
                         f"kernel's input channels ({weight.shape[1]}).")
    if _check_padding(padding) == "same":
        x = F.pad(x, _same_padding(x, tuple(weight.shape[2:]), step, dilation))
    out = _CONV[rank](x, weight, None, step, 0, dilation, x.shape[1] // weight.shape[1])
    return _restore(out, last)


@symbolic_op
def depthwise_conv(inputs: Any, kernel: Any, strides: Size = 1, padding: str = "valid",
                   data_format: str | None = None, dilation_rate: Size = 1) -> torch.Tensor:
    """Per-channel convolution with a ``(*spatial, in, multiplier)`` kernel; the output has
    ``in * multiplier`` channels."""
    kernel = tensor(kernel)
    grouped = kernel.reshape(*kernel.shape[:-2], 1, kernel.shape[-2] * kernel.shape[-1])
    return conv(inputs, grouped, strides, padding, data_format, dilation_rate)


@symbolic_op
def separable_conv(inputs: Any, depthwise_kernel: Any, pointwise_kernel: Any,
                   strides: Size = 1, padding: str = "valid", data_format: str | None = None,
                   dilation_rate: Size = 1) -> torch.Tensor:
    """:func:`depthwise_conv` followed by a 1x1 :func:`conv` with ``pointwise_kernel``."""
    depthwise = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format,
                               dilation_rate)
    return conv(depthwise, pointwise_kernel, 1, "valid", data_format, 1)


@symbolic_op
def dot_product_attention(query: Any, key: Any, value: Any, bias: Any = None,
                          mask: Any = None, scale: float | None = None,
                          is_causal: bool = False, flash_attention: bool | None = None,
                          attn_logits_soft_cap: float | None = None) -> torch.Tensor:
    """Scaled dot-product attention on Keras's ``(batch, length, heads, head_dim)``
    tensors: ``softmax(q k^T * scale + bias, masked) v``, per head.

    ``scale`` defaults to ``1 / sqrt(head_dim)``; ``mask`` (True = attend) and ``bias``
    broadcast to ``(batch, heads, q_length, k_length)``; ``is_causal`` hides later keys;
    keys and values with fewer heads are shared by groups of query heads.
    """
    q, k, v = (torch.movedim(inexact(t), 2, 1) for t in (query, key, value))
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
        raise ValueError("dot_product_attention takes 4-D (batch, length, heads, head_dim) "
                         f"inputs; received shapes {tuple(q.shape)}, {tuple(k.shape)}, "
                         f"{tuple(v.shape)}.")
    if bias is not None and mask is not None:
        raise ValueError("Pass bias or mask to dot_product_attention, not both.")
    if k.shape[1] != q.shape[1]:
        k = k.repeat_interleave(q.shape[1] // k.shape[1], dim=1)
        v = v.repeat_interleave(q.shape[1] // v.shape[1], dim=1)
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    logits = torch.matmul(q, k.transpose(-1, -2)) * scale
    if bias is not None:
        logits = logits + tensor(bias).to(logits.dtype)
    if attn_logits_soft_cap is not None:
        logits = attn_logits_soft_cap * torch.tanh(logits / attn_logits_soft_cap)
    allowed = None if mask is None else tensor(mask).bool()
    if is_causal:
        causal = torch.ones(q.shape[2], k.shape[2], dtype=torch.bool,
                            device=q.device).tril()
        allowed = causal if allowed is None else allowed & causal
    if allowed is not None:
        logits = torch.where(allowed, logits, torch.finfo(logits.dtype).min * 0.7)
    weights = torch.softmax(logits.float(), dim=-1).to(q.dtype)
    return torch.movedim(torch.matmul(weights, v), 1, 2)
