"""How ops turn their arguments into tensors, one rule for every op:

* a torch tensor is used as it is;
* alone, a scalar or numpy array becomes a tensor, and float64 becomes float32 (Keras's
  default ``floatx``);
* next to a tensor, a Python scalar stays a scalar (torch treats it as weakly typed) and
  a numpy array becomes a tensor of its own dtype, so torch's type promotion decides.

Helpers of the op modules, not ops themselves (``lamina.ops`` does not export them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lamina.errors import ArgumentError

#: Keras dtype names and their torch dtypes.
DTYPES: dict[str, torch.dtype] = {
    name: getattr(torch, name)
    for name in (
        "bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
        "float16", "bfloat16", "float32", "float64", "complex64", "complex128",
    )
}  # fmt: skip
_PYTHON_SCALARS = (int, float, complex)


def as_tensor(value: Any) -> torch.Tensor:
    """Convert a scalar, numpy array or nested list that stands alone into a tensor."""
    tensor = torch.as_tensor(value)
    if tensor.dtype is torch.float64:
        tensor = tensor.to(torch.float32)
    return tensor


def _operand(value: Any, like: torch.Tensor) -> Any:
    """Prepare ``value`` to meet the tensor ``like`` in a binary op."""
    if isinstance(value, _PYTHON_SCALARS):
        return value
    return torch.as_tensor(value, device=like.device)


def binary(x: Any, y: Any) -> tuple[Any, Any]:
    """Operands for a Python operator: tensors, or a tensor and a Python scalar."""
    if isinstance(x, torch.Tensor):
        return (x, y) if isinstance(y, torch.Tensor) else (x, _operand(y, x))
    if isinstance(y, torch.Tensor):
        return _operand(x, y), y
    return as_tensor(x), as_tensor(y)


def binary_tensors(x: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Operands for torch functions that take no scalars (``maximum``, ``logical_and``)."""
    x, y = binary(x, y)
    # A scalar gets the dtype torch would give the scalar operation, so an int tensor and
    # 0.5 meet as float32, and a float16 tensor and 0.5 stay float16.
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(x, dtype=torch.result_type(y, x), device=y.device)
    elif not isinstance(y, torch.Tensor):
        y = torch.as_tensor(y, dtype=torch.result_type(x, y), device=x.device)
    return x, y


def torch_dtype(dtype: str | torch.dtype | Any) -> torch.dtype:
    """Map a Keras dtype name (``"float32"``), numpy dtype or torch dtype to a torch dtype."""
    if isinstance(dtype, torch.dtype):
        return dtype
    found = DTYPES.get(dtype) if isinstance(dtype, str) else None
    if found is None:
        try:
            found = DTYPES.get(np.dtype(dtype).name)
        except TypeError:
            found = None
    if found is None:
        raise ArgumentError(
            f"Unknown dtype {dtype!r}. Use a name such as {', '.join(sorted(DTYPES))}, "
            "a numpy dtype or a torch.dtype."
        )
    return found
