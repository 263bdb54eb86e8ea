"""Mixed precision at the layer level: a layer's ``dtype`` argument as a policy, casting
float inputs, where a model's float layers leave its mixed-precision layers' autocast, and
(:class:`PrecisionMixin`) a layer computing under its policy's autocast.

Example:
    >>> policy_of("mixed_bfloat16").compute_dtype, policy_of("int32") is None
    ('bfloat16', True)
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lamina import config
from lamina.utils import tree
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


class PrecisionMixin:
    """A layer's computation in its policy's dtypes, mixed into
    :class:`~lamina.layers.layer.Layer`, which provides ``forward``, ``dtype``,
    ``dtype_policy`` and ``_autocast`` (the dtype to compute in, or ``None``)."""

    def _forward_autocast(self, inputs: Any, args: tuple, kwargs: dict) -> Any:
        """:meth:`forward` under ``torch.autocast`` in the policy's compute dtype (weights
        stay in the variable dtype), as Keras's mixed policies compute. Inside an autocast
        region of that dtype already (a mixed layer calling mixed sublayers), no new region
        is entered."""
        compute = self._autocast
        first = inputs if type(inputs) is torch.Tensor else next(
            (t for t in tree.flatten(inputs) if isinstance(t, torch.Tensor)), None)
        device = first.device.type if first is not None else "cpu"
        full = compute in (torch.float32, torch.float64)
        state = self.__dict__  # set directly: nn.Module.__setattr__ costs microseconds
        state["_autocast"] = None
        try:
            if full:
                inputs = tree.map_structure(lambda t: cast_float(t, compute), inputs)
            elif (torch.is_autocast_enabled(device)
                  and torch.get_autocast_dtype(device) == compute):
                return self.forward(inputs, *args, **kwargs)
            with torch.autocast(device_type=device, dtype=compute, enabled=not full):
                return self.forward(inputs, *args, **kwargs)
        finally:
            state["_autocast"] = compute

    def compute_in_own_dtype(self) -> None:
        """Compute in this layer's own dtype, its float inputs cast to it, outside any
        autocast region around it (``precision.mark_precision_boundaries``)."""
        self._autocast = self.dtype

    def _autocast_policy(self) -> bool:
        return self.dtype_policy is not None and self.dtype_policy.is_mixed

    @property
    def compute_dtype(self) -> str:
        """The dtype the layer computes in (Keras's): the policy's, else its dtype's."""
        policy = self.dtype_policy
        return policy.compute_dtype if policy is not None else dtype_name(self.dtype)

    @property
    def variable_dtype(self) -> str:
        """The dtype of the layer's weights (Keras's)."""
        return dtype_name(self.dtype)
