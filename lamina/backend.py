"""Keras-2 style access to :mod:`lamina.ops`: ``from lamina import backend as K``.

The functions are the very same objects as in :mod:`lamina.ops`, so ``K.mean`` and
``ops.mean`` are interchangeable, in eager code, on symbolic tensors and in saved models.

Example:
    >>> import torch
    >>> from lamina import backend as K
    >>> K.int_shape(K.concatenate([torch.zeros(2, 3), torch.ones(2, 1)], axis=1))
    (2, 4)
"""

from typing import Any

import torch

from lamina import config, ops
from lamina.config import (  # noqa: F401 - Keras's keras.backend names
    backend,
    image_data_format,
    set_floatx,
    set_image_data_format,
)
from lamina.keras_names import missing_name
from lamina.ops import *  # noqa: F403
from lamina.ops import __all__  # noqa: F401
from lamina.utils import shapes
from lamina.utils.naming import next_uid, reset_names


def concatenate(tensors: Any, axis: int = -1) -> torch.Tensor:
    """Keras 2's ``K.concatenate``: along the last axis by default (``keras.ops``'s
    ``concatenate`` joins along the first)."""
    return ops.concatenate(tensors, axis=axis)


def clear_session(free_memory: bool = True) -> None:
    """Keras's ``clear_session``: layer names start over (``dense``, ``dense_1``...) and the
    global dtype policy is reset; models already made are left as they are."""
    reset_names()
    config.set_dtype_policy(None)


def standardize_dtype(dtype: Any) -> str:
    """A dtype's Keras name (``"float32"``) from a name, torch or numpy dtype."""
    return shapes.dtype_name(shapes.standardize_dtype(dtype))


def is_float_dtype(dtype: Any) -> bool:
    """Whether ``dtype`` is a floating dtype."""
    return standardize_dtype(dtype).startswith(("float", "bfloat"))


def is_int_dtype(dtype: Any) -> bool:
    """Whether ``dtype`` is an integer dtype."""
    return standardize_dtype(dtype).startswith(("int", "uint"))


def get_uid(prefix: str = "") -> int:
    """A number unique per ``prefix`` in this session: 1, 2, 3..."""
    return next_uid(prefix)


def result_type(*dtypes: Any) -> str:
    """The dtype ``dtypes`` promote to (torch's promotion), as a Keras name."""
    if not dtypes:
        return config.floatx()
    promoted = shapes.standardize_dtype(dtypes[0])
    for dtype in dtypes[1:]:
        promoted = torch.promote_types(promoted, shapes.standardize_dtype(dtype))
    return shapes.dtype_name(promoted)


def __getattr__(name: str) -> object:
    """A clear ``AttributeError`` for a Keras name lamina lacks (see ``keras_names.py``)."""
    raise missing_name('backend', name, globals())
