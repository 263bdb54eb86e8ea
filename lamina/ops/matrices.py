"""Matrix decompositions, inverses and solvers (``torch.linalg``), with Keras's arguments.

Every function works on the last two axes and batches over the others; integer inputs
compute in float32.

Example:
    >>> import torch
    >>> det(torch.tensor([[2.0, 0.0], [0.0, 3.0]])).item()
    6.0
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.ops.dispatch import symbolic_op
from lamina.ops.promotion import INDEX_DTYPE, inexact, inexact_pair


@symbolic_op
def inv(x: Any) -> torch.Tensor:
    """The inverse of square matrices."""
    return torch.linalg.inv(inexact(x))


@symbolic_op
def det(x: Any) -> torch.Tensor:
    """The determinant of square matrices."""
    return torch.linalg.det(inexact(x))


@symbolic_op
def slogdet(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """``(sign, log|det|)`` of square matrices, stable where ``det`` would overflow."""
    return tuple(torch.linalg.slogdet(inexact(x)))


@symbolic_op
def logdet(x: Any) -> torch.Tensor:
    """``log(det(x))`` (NaN for a negative determinant)."""
    return torch.logdet(inexact(x))


@symbolic_op
def solve(a: Any, b: Any) -> torch.Tensor:
    """``x`` with ``a @ x = b`` for square ``a``."""
    return torch.linalg.solve(*inexact_pair(a, b))


@symbolic_op
def solve_triangular(a: Any, b: Any, lower: bool = False) -> torch.Tensor:
    """``x`` with ``a @ x = b`` for triangular ``a`` (upper unless ``lower``); ``b`` may be
    a vector."""
    a, b = inexact_pair(a, b)
    if b.ndim == a.ndim - 1:
        return torch.linalg.solve_triangular(a, b[..., None], upper=not lower)[..., 0]
    return torch.linalg.solve_triangular(a, b, upper=not lower)


@symbolic_op
def cholesky(x: Any, upper: bool = False) -> torch.Tensor:
    """The Cholesky factor ``L`` (``x = L @ L.T``; ``U`` with ``upper``) of symmetric
    positive-definite matrices."""
    return torch.linalg.cholesky(inexact(x), upper=upper)


@symbolic_op
def cholesky_inverse(x: Any, upper: bool = False) -> torch.Tensor:
    """The inverse of ``L @ L.T`` given its Cholesky factor ``L`` (``U`` with ``upper``)."""
    return torch.cholesky_inverse(inexact(x), upper=upper)


@symbolic_op
def qr(x: Any, mode: str = "reduced") -> tuple[torch.Tensor, torch.Tensor]:
    """``(q, r)`` with orthonormal ``q``, upper-triangular ``r`` and ``x = q @ r``;
    ``mode`` is ``"reduced"`` or ``"complete"``."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"mode must be 'reduced' or 'complete'; received mode={mode!r}.")
    return tuple(torch.linalg.qr(inexact(x), mode=mode))


@symbolic_op
def svd(x: Any, full_matrices: bool = True, compute_uv: bool = True) -> Any:
    """``(u, s, vh)`` with ``x = u @ diag(s) @ vh``, or just ``s`` without ``compute_uv``."""
    x = inexact(x)
    if not compute_uv:
        return torch.linalg.svdvals(x)
    return tuple(torch.linalg.svd(x, full_matrices=full_matrices))


@symbolic_op
def eig(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues and eigenvectors (complex) of square matrices."""
    return tuple(torch.linalg.eig(inexact(x)))


@symbolic_op
def eigh(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues (ascending) and eigenvectors of symmetric (Hermitian) matrices."""
    return tuple(torch.linalg.eigh(inexact(x)))


@symbolic_op
def lu_factor(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """The packed LU factors and the 0-based pivot indices of square matrices."""
    factors, pivots = torch.linalg.lu_factor(inexact(x))
    return factors, pivots - 1


@symbolic_op
def lstsq(a: Any, b: Any, rcond: float | None = None) -> torch.Tensor:
    """The least-squares solution ``x`` of ``a @ x = b`` (singular values of ``a`` below
    ``rcond`` times the largest are taken as zero)."""
    a, b = inexact_pair(a, b)
    if rcond is not None:
        return torch.linalg.lstsq(a, b, rcond=rcond, driver="gelsd").solution
    return torch.linalg.lstsq(a, b).solution


@symbolic_op
def pinv(x: Any, rcond: float | None = None) -> torch.Tensor:
    """The Moore-Penrose pseudo-inverse (``rcond``: relative cut-off of singular values)."""
    return torch.linalg.pinv(inexact(x), rtol=rcond)


@symbolic_op
def matrix_rank(x: Any, tol: float | None = None) -> torch.Tensor:
    """The rank (number of singular values above ``tol``, or a default cut-off), int32."""
    return torch.linalg.matrix_rank(inexact(x), atol=tol).to(INDEX_DTYPE)

