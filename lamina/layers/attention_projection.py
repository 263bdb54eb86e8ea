"""The attention layers' fast paths: projections as one ``F.linear`` each, a fused
query/key/value in-projection for self-attention at inference, and cached step masks.

Keras's layouts stay what they are (``query_kernel (dim, heads, size)`` and so on, separate
weights with their own names and paths); only the computation changes:

* :func:`linear_projection`: ``(..., dim) -> (..., heads, size)`` through the kernel seen as
  ``(dim, heads * size)``, the bias added inside the matmul (``addmm``), as ``nn.Linear``.
* :class:`DerivedWeights` with :func:`fused_in_projection`: when query, key and value
  are one tensor and no gradient is recorded, the three kernels concatenated once into
  ``(3 * heads * size, dim)`` (the layout of ``nn.MultiheadAttention``'s
  ``in_proj_weight``) and applied in one matmul, the output kernel transposed once; both
  cached, and rebuilt when a weight changes.
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


class DerivedWeights:
    """Tensors derived from some weights (concatenated, transposed, made contiguous) by
    ``derive``, kept between calls and rebuilt when a weight changes: its version counter
    (bumped by every in-place write: optimizer steps, ``set_weights``) or its storage
    (``.to()``, a replaced ``.data``). The cache holds the weights' storages of the time, so
    a freed storage's address cannot come back as a false match.

    Only for calls that record no gradient (the derived tensors are outside autograd): a
    caller checks :meth:`applies` first.
    """

    def __init__(self, derive: Callable[[Sequence[Tensor | None]], tuple[Tensor | None, ...]]
                 ) -> None:
        self.derive = derive
        self._key: list[tuple[int, int]] | None = None
        self._sources: list[Tensor] = []
        self._derived: tuple[Tensor | None, ...] = ()

    @staticmethod
    def applies(inputs: Tensor) -> bool:
        """Whether derived weights may serve a call on ``inputs`` now: a plain tensor (not a
        fake one of shape inference), no gradient recorded, not being traced."""
        return (type(inputs) is torch.Tensor and not torch.is_grad_enabled()
                and not torch.compiler.is_compiling())

    def get(self, weights: Sequence[Tensor | None]) -> tuple[Tensor | None, ...]:
        """``derive(weights)``, from the cache while no weight changed."""
        # Read natively: under a torch function mode (torch.set_default_device, say) each
        # of these 2 x 8 reads would otherwise pay a Python dispatch.
        with torch._C.DisableTorchFunction():
            key = [(t._version, t.data_ptr()) for t in weights if t is not None]
        if key == self._key:
            return self._derived
        with torch.inference_mode(False), torch.no_grad():
            derived = self.derive(weights)
        if all(t is None or type(t) is torch.Tensor for t in derived):
            self._key, self._derived = key, derived
            self._sources = [t.detach() for t in weights if t is not None]
        return derived

    def clear(self) -> None:
        """Forget the derived tensors (rebuilt on the next call)."""
        self._key, self._sources, self._derived = None, [], ()


def fused_in_projection(weights: Sequence[Tensor | None]) -> tuple[Tensor | None, ...]:
    """``(in_weight, in_bias, out_weight, out_bias)`` in ``nn.MultiheadAttention``'s layouts
    from Keras's ``[query_kernel, key_kernel, value_kernel, output_kernel, query_bias,
    key_bias, value_bias, output_bias]`` (biases ``None`` without ``use_bias``):
    ``in_weight (3 * heads * size, dim)`` is the three kernels concatenated, transposed;
    ``out_weight (out, heads * size)``."""
    query, key, value, output, *biases = weights
    in_weight = torch.cat([k.reshape(k.shape[0], -1) for k in (query, key, value)],
                          dim=1).t().contiguous()
    out_weight = output.reshape(query.shape[1] * query.shape[2], -1).t().contiguous()
    if biases[0] is None:
        return in_weight, None, out_weight, None
    in_bias = torch.cat([b.reshape(-1) for b in biases[:3]])
    return in_weight, in_bias, out_weight, biases[3].reshape(-1).clone()


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
