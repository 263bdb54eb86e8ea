"""Mixed precision at the layer level: a layer's ``dtype`` argument as a policy, casting
float inputs, and where a model's float layers leave its mixed-precision layers' autocast.

Example:
    >>> policy_of("mixed_bfloat16").compute_dtype, policy_of("int32") is None
    ('bfloat16', True)
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lamina import config
from lamina.utils.shapes import dtype_name, standardize_dtype


def policy_of(dtype: Any) -> config.DTypePolicy | None:
    """The policy for a layer's ``dtype`` argument: the global one for ``None``; a policy
    for a policy, a policy name or Keras's policy config; ``None`` for a non-float dtype."""
    if dtype is None:
        return config.dtype_policy()
    if isinstance(dtype, config.DTypePolicy):
        return dtype
    if isinstance(dtype, dict) or (isinstance(dtype, str) and dtype.startswith("mixed_")):
        return config.get_policy(dtype)
    resolved = standardize_dtype(dtype)
    return config.DTypePolicy(dtype_name(resolved)) if resolved in (
        torch.float16, torch.bfloat16, torch.float32, torch.float64) else None


def cast_float(value: Any, dtype: torch.dtype) -> Any:
    """``value`` in ``dtype`` when it is a floating tensor of another dtype (its Keras
    mask kept)."""
    if not isinstance(value, torch.Tensor) or not value.is_floating_point() or \
            value.dtype == dtype:
        return value
    cast = value.to(dtype)
    mask = getattr(value, "_keras_mask", None)
    if mask is not None:
        cast._keras_mask = mask
    return cast


def mark_precision_boundaries(root: nn.Module) -> None:
    """In a model with mixed-precision layers, make its other float layers compute in
    their own dtype, their floating inputs cast to it and outside the autocast of the
    layers around them: Keras's ``Activation("softmax", dtype="float32")`` after
    ``mixed_bfloat16`` layers gives float32."""
    found = [m for m in root.modules() if hasattr(m, "compute_in_own_dtype")]
    if not any(m.dtype_policy is not None and m.dtype_policy.is_mixed for m in found):
        return
    for layer in found:
        policy = layer.dtype_policy
        if policy is not None and not policy.is_mixed:
            layer.compute_in_own_dtype()
