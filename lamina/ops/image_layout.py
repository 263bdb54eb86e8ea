"""What every ``keras.ops.image`` function shares: the data format, the checked images,
and the move to and from torch's ``(batch, channels, *spatial)`` layout."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from lamina import config
from lamina.errors import ArgumentError, ShapeError
from lamina.ops.promotion import tensor

Size = int | Sequence[int]


def channels_last(data_format: str | None, fn: str) -> bool:
    """Whether the layout is channels_last (``None``: the configured default)."""
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ArgumentError(f"{fn}: data_format must be 'channels_last' or 'channels_first'; "
                            f"received data_format={data_format!r}.")
    return data_format == "channels_last"


def checked_images(images: Any, fn: str, ranks: tuple[int, ...] = (3, 4)) -> torch.Tensor:
    x = tensor(images)
    if x.ndim not in ranks:
        what = "a single image or a batch of images" if ranks == (3, 4) else "volumes"
        raise ShapeError(f"{fn}: expected {what} of rank {' or '.join(map(str, ranks))}; "
                         f"received images.shape={tuple(x.shape)}. Add or remove the "
                         "batch axis.")
    return x


def to_batched_nchw(x: torch.Tensor, last: bool, rank: int = 2) -> tuple[torch.Tensor, bool]:
    """``x`` as ``(batch, channels, *spatial)``; also whether a batch axis was added."""
    single = x.ndim == rank + 1
    if single:
        x = x.unsqueeze(0)
    return (torch.movedim(x, -1, 1) if last else x), single


def from_batched_nchw(x: torch.Tensor, last: bool, single: bool) -> torch.Tensor:
    x = torch.movedim(x, 1, -1) if last else x
    return x.squeeze(0) if single else x


def int_tuple(value: Size, rank: int, name: str, fn: str) -> tuple[int, ...]:
    values = (value,) * rank if isinstance(value, int) else tuple(int(v) for v in value)
    if len(values) != rank or any(v < 1 for v in values):
        raise ArgumentError(f"{fn}: {name} must be a positive int or {rank} positive ints; "
                            f"received {name}={value!r}.")
    return values


def channel_axis(last: bool) -> int:
    return -1 if last else -3
