"""The attention layers' fast paths: projections as one ``F.linear`` each, a fused
query/key/value in-projection for self-attention at inference, and cached step masks.

Keras's layouts stay what they are (``query_kernel (dim, heads, size)`` and so on, separate
weights with their own names and paths); only the computation changes:

* :func:`linear_projection`: ``(..., dim) -> (..., heads, size)`` through the kernel seen as
  ``(dim, heads * size)``, the bias added inside the matmul (``addmm``), as ``nn.Linear``.
* :class:`FusedProjection`: when query, key and value are one tensor and no gradient is
  recorded, the three kernels concatenated once into ``(3 * heads * size, dim)`` (the
  layout of ``nn.MultiheadAttention``'s ``in_proj_weight``) and applied in one matmul
  (``MultiHeadAttention`` then views the result as ``(batch, T, 3, heads, size)``). The
  concatenation is cached and rebuilt when a weight changes: its version counter (bumped
  by every in-place write: optimizer steps, ``set_weights``) or its storage (``.to()``,
  replaced ``.data``). The cache holds the weights' storage at the time, so a freed
  storage's address cannot come back as a false match.
* :func:`causal_mask` / :func:`band_mask`: the ``(1, T, S)`` boolean masks, built once per
  ``(T, S, device)`` (and window) and shared: callers must not write into them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


def linear_projection(inputs: Tensor, kernel: Tensor, bias: Tensor | None) -> Tensor:
    """Keras's ``EinsumDense`` projection ``(..., dim) -> (..., *kernel.shape[1:])`` with
    ``bias`` (shaped as those trailing axes, or ``None``), as one ``F.linear``."""
    weight = kernel.reshape(kernel.shape[0], -1).t()
    projected = F.linear(inputs, weight, None if bias is None else bias.reshape(-1))
    return projected.unflatten(-1, kernel.shape[1:])


class FusedProjection:
    """One in-projection for several ``(dim, heads, size)`` kernels (and their biases)
    applied to the same input, with the concatenated weight cached between calls.

    Only for calls that record no gradient (the cached weight is outside autograd); a
    caller checks :meth:`applies` first.
    """

    def __init__(self) -> None:
        self._key: tuple[tuple[int, int], ...] | None = None
        self._sources: list[Tensor] = []
        self._weight: Tensor | None = None
        self._bias: Tensor | None = None

    @staticmethod
    def applies(inputs: Tensor) -> bool:
        """Whether the fused path may run on ``inputs`` now: a plain tensor (not a fake one
        of shape inference), no gradient recorded, not being traced."""
        return (type(inputs) is torch.Tensor and not torch.is_grad_enabled()
                and not torch.compiler.is_compiling())

    def __call__(self, inputs: Tensor, kernels: Sequence[Tensor],
                 biases: Sequence[Tensor] | None) -> Tensor:
        """The projections by every kernel (with its bias) of ``inputs``, concatenated on
        the last axis in one matmul: ``(..., sum of heads * size)``."""
        key = tuple((t._version, t.data_ptr()) for t in (*kernels, *(biases or ())))
        if key != self._key:
            self._rebuild(key, kernels, biases)
        if self._weight is None:  # weights that are not plain tensors: nothing cached
            return torch.cat([linear_projection(inputs, kernel, bias).flatten(-2)
                              for kernel, bias in zip(kernels, biases or [None] * len(kernels))],
                             dim=-1)
        return F.linear(inputs, self._weight, self._bias)

    def _rebuild(self, key: tuple[tuple[int, int], ...], kernels: Sequence[Tensor],
                 biases: Sequence[Tensor] | None) -> None:
        with torch.inference_mode(False), torch.no_grad():
            self._weight = torch.cat([k.reshape(k.shape[0], -1) for k in kernels],
                                     dim=1).t().contiguous()
            self._bias = None if biases is None else torch.cat([b.reshape(-1) for b in biases])
            self._sources = [t.detach() for t in (*kernels, *(biases or ()))]
        self._key = key
        if type(self._weight) is not torch.Tensor:
            self.clear()

    def clear(self) -> None:
        """Forget the cached weight (it is rebuilt on the next fused call)."""
        self._key, self._sources, self._weight, self._bias = None, [], None, None


#: Built masks by kind and size; emptied when it holds more than ``_MASK_LIMIT``.
_masks: dict[tuple[Any, ...], Tensor] = {}
_MASK_LIMIT = 64


def _shared(key: tuple[Any, ...], build: Callable[[], Tensor]) -> Tensor:
    """The mask ``build()`` makes, from the cache when it is there. Only real tensors are
    kept: a mask built on fake tensors (shape inference) or while tracing is not."""
    mask = _masks.get(key)
    if mask is not None:
        return mask
    with torch.inference_mode(False), torch.no_grad():
        mask = build()
    if type(mask) is torch.Tensor and not torch.compiler.is_compiling():
        if len(_masks) >= _MASK_LIMIT:
            _masks.clear()
        _masks[key] = mask
    return mask


def causal_mask(steps: int, sources: int, device: Any) -> Tensor:
    """``(1, T, S)``: step ``i`` may attend to steps ``j <= i`` (Keras's, top-left aligned).
    Built once per ``(T, S, device)``; read-only."""
    return _shared(("causal", steps, sources, device), lambda: torch.ones(
        steps, sources, dtype=torch.bool, device=device).tril()[None])


def band_mask(steps: int, sources: int, window: int, device: Any) -> Tensor:
    """``(1, T, S)``: Keras's ``sliding_window``, ``|i - j| < window``. Built once per
    ``(T, S, window, device)``; read-only."""
    def build() -> Tensor:
        rows = torch.arange(steps, device=device)[:, None]
        columns = torch.arange(sources, device=device)[None, :]
        return ((rows - columns).abs() < window)[None]

    return _shared(("band", steps, sources, window, device), build)
