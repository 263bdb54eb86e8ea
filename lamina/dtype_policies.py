"""Keras's ``keras.dtype_policies``: what a layer's ``dtype`` may name.

``"float32"`` (or any float dtype) computes in the dtype of the weights;
``"mixed_float16"`` and ``"mixed_bfloat16"`` keep float32 weights and run the layer under
``torch.autocast`` in float16 / bfloat16, which is how torch does mixed precision. The
class lives in :mod:`lamina.config`, beside the global policy.

Example:
    >>> policy = DTypePolicy("mixed_bfloat16")
    >>> policy.variable_dtype, policy.compute_dtype
    ('float32', 'bfloat16')
"""

from __future__ import annotations

from typing import Any

from lamina.config import DTypePolicy, get_policy
from lamina.keras_names import missing_name

#: Keras's alias.
FloatDTypePolicy = DTypePolicy

__all__ = ["DTypePolicy", "FloatDTypePolicy", "deserialize", "get", "serialize"]


def get(identifier: Any) -> DTypePolicy | None:
    """A policy from a name, a policy, or Keras's config dict; ``None`` stays ``None``."""
    return get_policy(identifier)


def serialize(policy: DTypePolicy) -> dict[str, Any]:
    """Keras's ``{"class_name": "DTypePolicy", "config": {"name": ...}}``."""
    return {"class_name": "DTypePolicy", "config": policy.get_config()}


def deserialize(config: dict[str, Any], custom_objects: Any = None) -> DTypePolicy | None:
    """The policy of a :func:`serialize` dict."""
    return get_policy(config)


def __getattr__(name: str) -> object:
    """A clear ``AttributeError`` for a Keras name lamina lacks (see ``keras_names.py``)."""
    raise missing_name('dtype_policies', name, globals())
