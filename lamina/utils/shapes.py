"""Shapes, dtypes and conversions shared by layers and models."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lamina.errors import ArgumentError
from lamina.utils import tree

#: Keras 3's dtype-policy classes whose config is just a dtype name.
DTYPE_POLICIES = ("DTypePolicy", "FloatDTypePolicy")


def standardize_dtype(dtype: Any) -> torch.dtype:
    """A torch dtype from a Keras dtype name (``"float32"``), a torch dtype, a numpy dtype
    or a Keras 3 dtype-policy config (``{"class_name": "DTypePolicy", "config": {"name":
    "float32"}}``, what Keras 3 writes as a layer's ``dtype``)."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if isinstance(dtype, dict):
        config = dtype.get("config")
        name = config.get("name") if isinstance(config, dict) else None
        if dtype.get("class_name") not in DTYPE_POLICIES or not isinstance(name, str) or (
                name.startswith("mixed_")):
            raise ArgumentError(
                f"Unsupported dtype policy: received {dtype!r}. lamina takes a dtype name or "
                "Keras's DTypePolicy of one (mixed policies are not layer dtypes here).")
        return standardize_dtype(name)
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    # Looked up among torch's loaded attributes only: a name read from a file (such as
    # "_dynamo") must not make torch import a submodule.
    resolved = vars(torch).get(name) if not name.startswith("_") else None
    if not isinstance(resolved, torch.dtype):
        raise ArgumentError(f"Unknown dtype: received {dtype!r}. Use a name such as 'float32'.")
    return resolved


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.float32`` -> ``"float32"``."""
    return str(dtype).removeprefix("torch.")


def array_to_tensor(value: Any) -> torch.Tensor:
    """A tensor as it is; anything numpy takes (arrays, lists, scalars) as one tensor, with
    float64 as float32 (what losses and metrics do with targets and weights)."""
    if isinstance(value, torch.Tensor):
        return value
    tensor = torch.from_numpy(np.ascontiguousarray(np.asarray(value)))
    return tensor.float() if tensor.dtype == torch.float64 else tensor


def to_tensor(value: Any, dtype: torch.dtype | None = None) -> Any:
    """numpy arrays (and nested lists/dicts of them) become tensors; floats become float32.

    Keras casts float64 numpy input to its float32 default; so does lamina, so that data
    loaded with numpy works without a manual cast.
    """
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, np.ndarray):
        tensor = torch.from_numpy(np.ascontiguousarray(value))
        if tensor.is_floating_point() and tensor.dtype != (dtype or torch.float32):
            tensor = tensor.to(dtype or torch.float32)
        return tensor
    if isinstance(value, (list, tuple, dict)):
        return tree.map_structure(lambda v: to_tensor(v, dtype), value)
    return value


def is_shape(value: Any) -> bool:
    """Whether ``value`` is one shape (a tuple of ints and ``None``), not a structure of them."""
    return isinstance(value, (tuple, list)) and all(
        d is None or isinstance(d, int) for d in value
    ) and not (isinstance(value, list) and not value)


def flatten_shapes(shapes: Any) -> list[Any]:
    """The shapes in a structure of shapes, in ``tree.flatten`` order."""
    if shapes is None or is_shape(shapes):
        return [shapes]
    if isinstance(shapes, dict):
        return [s for key in sorted(shapes) for s in flatten_shapes(shapes[key])]
    return [s for item in shapes for s in flatten_shapes(item)]


def batchless(shape: Any) -> Any:
    """Replace the batch axis of every shape in a structure by ``None``."""
    if is_shape(shape):
        return (None, *tuple(shape)[1:]) if shape else tuple(shape)
    if isinstance(shape, (list, tuple)):
        return type(shape)(batchless(s) for s in shape)
    if isinstance(shape, dict):
        return {k: batchless(v) for k, v in shape.items()}
    return shape


def format_shape(shape: Any) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + (
        ",)" if len(shape) == 1 else ")"
    )

def shape_of(value: Any) -> Any:
    return tree.map_structure(lambda t: tuple(t.shape) if hasattr(t, "shape") else None, value)
