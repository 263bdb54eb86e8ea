"""Keras's ``keras.mixed_precision``: ``set_global_policy("mixed_bfloat16")`` makes the
layers created afterwards keep float32 weights and run under ``torch.autocast`` in
bfloat16 (``"mixed_float16"``: float16), as Keras's policy does.

Example:
    >>> from lamina import layers, mixed_precision
    >>> mixed_precision.set_global_policy("mixed_bfloat16")
    >>> dense = layers.Dense(4)
    >>> mixed_precision.set_global_policy("float32")
    >>> dense.dtype_policy.name, dense.compute_dtype, str(dense.dtype)
    ('mixed_bfloat16', 'bfloat16', 'torch.float32')
"""

from __future__ import annotations

from typing import Any

from lamina import config
from lamina.config import DTypePolicy
from lamina.keras_names import missing_name

#: Keras's names.
Policy = DTypePolicy

__all__ = ["DTypePolicy", "Policy", "dtype_policy", "global_policy", "set_dtype_policy",
           "set_global_policy"]


def set_global_policy(policy: Any) -> None:
    """Set the policy of layers created from now on."""
    config.set_dtype_policy(policy)


def global_policy() -> DTypePolicy:
    """The policy of layers created without ``dtype=``."""
    return config.dtype_policy()


set_dtype_policy = set_global_policy
dtype_policy = global_policy


def __getattr__(name: str) -> object:
    """A clear ``AttributeError`` for a Keras name lamina lacks (see ``keras_names.py``)."""
    raise missing_name('mixed_precision', name, globals())
