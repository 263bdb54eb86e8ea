"""The process-wide state an oracle test must leave as it found it.

Keras draws its default seeds from Python's ``random`` (even on import), Keras's dropout
on torch uses torch's global generator, and layers created without a name advance
lamina's name counters. :func:`global_state` records all of it and
:func:`restore_global_state` puts it back.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

from lamina.utils import naming


def global_state() -> dict[str, Any]:
    """A snapshot of the global state oracle tests could change."""
    return {
        "default_dtype": torch.get_default_dtype(),
        "default_device": torch.get_default_device(),
        "grad_enabled": torch.is_grad_enabled(),
        "inference_mode": torch.is_inference_mode_enabled(),
        "anomaly": torch.is_anomaly_enabled(),
        "deterministic": torch.are_deterministic_algorithms_enabled(),
        "deterministic_warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "matmul_precision": torch.get_float32_matmul_precision(),
        "num_threads": torch.get_num_threads(),
        "torch_rng": torch.get_rng_state(),
        "numpy_rng": np.random.get_state(),
        "python_rng": random.getstate(),
        "name_counts": dict(naming._name_counts),
    }


def restore_global_state(state: dict[str, Any]) -> None:
    """Put back what :func:`global_state` recorded."""
    torch.set_default_dtype(state["default_dtype"])
    torch.set_default_device(state["default_device"])
    torch.set_grad_enabled(state["grad_enabled"])
    torch.set_anomaly_enabled(state["anomaly"])
    torch.use_deterministic_algorithms(state["deterministic"],
                                       warn_only=state["deterministic_warn_only"])
    torch.backends.cudnn.deterministic = state["cudnn_deterministic"]
    torch.backends.cudnn.benchmark = state["cudnn_benchmark"]
    torch.set_float32_matmul_precision(state["matmul_precision"])
    if torch.get_num_threads() != state["num_threads"]:
        torch.set_num_threads(state["num_threads"])
    torch.set_rng_state(state["torch_rng"])
    np.random.set_state(state["numpy_rng"])
    random.setstate(state["python_rng"])
    naming._name_counts.clear()
    naming._name_counts.update(state["name_counts"])


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The entries of two snapshots that differ, by name."""
    changed = []
    for key, value in before.items():
        other = after[key]
        if isinstance(value, torch.Tensor):
            same = torch.equal(value, other)
        elif key == "numpy_rng":
            same = value[0] == other[0] and np.array_equal(value[1], other[1]) and \
                value[2:] == other[2:]
        else:
            same = value == other
        if not same:
            changed.append(key)
    return changed
