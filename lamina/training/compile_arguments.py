"""How ``compile``'s and ``fit``'s arguments are read: the device, a value given once, as
a list or as a dict per model output, and per-sample weights from ``class_weight``."""

from __future__ import annotations

from typing import Any

import torch

from lamina.errors import ArgumentError
from lamina.training.distributed import env_local_rank, env_world_size


def resolve_device(device: Any, model: torch.nn.Module) -> torch.device:
    """``"auto"``: CUDA when present (the local rank's GPU under ``torchrun``), else where
    the model's weights already are."""
    if device == "auto":
        if torch.cuda.is_available():
            if env_world_size() > 1:
                return torch.device("cuda", env_local_rank())
            return torch.device("cuda")
        first = next(model.parameters(), None)
        return first.device if first is not None else torch.device("cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ArgumentError(f"compile: unknown device {device!r}; use 'auto', 'cpu' or "
                            "'cuda'.") from error


def per_output(value: Any, names: list[str], what: str, default: Any = None) -> list[Any]:
    """One entry per output from a single value, a list, or a dict keyed by output name."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ArgumentError(f"{what}: keys {unknown} are not output names; the model's "
                                f"outputs are {names}.")
        return [value.get(name, default) for name in names]
    if isinstance(value, (list, tuple)) and not (len(names) == 1 and len(value) != 1):
        if len(value) != len(names):
            raise ArgumentError(f"{what}: the model has {len(names)} output(s) {names}, "
                                f"received a list of {len(value)}. Give one entry per output.")
        return list(value)
    return [value] * len(names)


def class_weights(target: torch.Tensor, class_weight: dict[int, float],
                   pred_shape: tuple[int, ...]) -> torch.Tensor:
    """Per-sample weights from a ``{class index: weight}`` dict (unlisted classes: 1)."""
    if any(not isinstance(k, int) or k < 0 for k in class_weight):
        raise ArgumentError(f"class_weight keys must be class indices (ints >= 0), received "
                            f"{sorted(class_weight, key=str)}.")
    if target.dim() == len(pred_shape) and pred_shape[-1] > 1:
        labels = target.argmax(dim=-1)
    else:
        labels = target.reshape(target.shape[0], -1)[:, 0].round().long()
    size = max(max(class_weight) + 1, int(labels.max()) + 1 if labels.numel() else 0)
    table = torch.ones(size)
    for key, value in class_weight.items():
        table[key] = float(value)
    return table.to(labels.device)[labels]
