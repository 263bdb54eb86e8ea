"""``MultiHeadAttention`` with Keras 3's arguments, call signature, masks, weight layout and
``attention_axes`` (attention over any axes of N-D inputs).

The shared machinery (masks, the attention kernel, projections) is in ``attention_base.py``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.errors import ArgumentError, ShapeError
from lamina.layers.arguments import is_int
from lamina.layers.attention_base import ProjectedAttention, attend, causal_mask, positive_int
from lamina.layers.attention_projection import DerivedWeights, fused_in_projection

Tensor = torch.Tensor
Shape = tuple[int | None, ...]


class MultiHeadAttention(ProjectedAttention):
    """Multi-head attention (Vaswani et al. 2017), as Keras 3's ``MultiHeadAttention``.

    ``query``, ``key`` and ``value`` are projected per head, ``softmax(q k^T / sqrt(key_dim))``
    weighs the values, and the heads are projected back to ``output_shape``. Weights have
    Keras's (EinsumDense) layouts, order, names and paths: ``query_kernel (query_dim,
    num_heads, key_dim)`` (path ``<layer>/query/kernel``) and ``query_bias (num_heads,
    key_dim)``, the same for ``key``, then ``gate`` (with ``use_gate``), ``value``
    (``value_dim`` per head), then ``output_kernel (num_heads, value_dim, *output_shape)``
    and ``output_bias`` (path ``<layer>/attention_output/...``). Computed with
    ``scaled_dot_product_attention`` unless the scores are asked for.

    Masks, as in Keras: the query's mask ``(batch, T)`` and the value's and key's masks
    ``(batch, S)`` combine (logical and) into a ``(batch, T, S)`` attention mask, with
    ``attention_mask``, the causal mask of ``use_causal_mask`` and the band of
    ``sliding_window``. A query step that may attend nowhere attends uniformly to every
    value when the layer has no dropout, no scores are asked for and the inputs are 3-D
    (Keras's fused path), and gets zero attention weights otherwise (Keras's explicit
    softmax). The output's mask is the query's. (Keras 3.15 reads the query's mask only from
    the query tensor; lamina also takes ``query_mask=``.)

    Args:
        num_heads: Number of attention heads.
        key_dim: Size of each head for query and key.
        value_dim: Size of each head for value. Default: ``key_dim``.
        dropout: Dropout rate on the attention weights in training. Default: ``0.0``.
        use_bias: Whether the projections have biases. Default: ``True``.
        output_shape: The output's shape after the batch and attention axes (an int or a
            tuple). Default: the query's last axis.
        attention_axes: The axes attention runs over (an int or a tuple of them; negative
            ones count from the features axis). Default: ``None``, every axis between the
            batch and the features axes: the time axis of ``(batch, T, features)`` inputs.
            Once built, the config holds the axes resolved (Keras's).
        sliding_window: Each query step attends only to steps less than this far away.
            Default: ``None``.
        flash_attention: Keras's switch for its fused kernel: ``True`` refuses dropout and
            attention scores, as in Keras. lamina always uses torch's fused kernel when no
            scores are asked for. Default: ``None``.
        kernel_initializer: Default: ``"glorot_uniform"`` (Keras's fans per projection).
        bias_initializer: Default: ``"zeros"``.
        kernel_regularizer, bias_regularizer: Penalties on every kernel / bias.
        activity_regularizer: A penalty on each projection's output (Keras's).
        kernel_constraint, bias_constraint: Constraints on every kernel / bias, applied after
            each optimizer step.
        use_gate: A sigmoid gate per head, projected from the query (Keras's gated
            attention). Default: ``False``.
        seed: Seed of the dropout on the attention weights. Default: ``None``.

    Call arguments:
        query: ``(batch, *T, query_dim)``. A list ``[query, value]`` or ``[query, value,
            key]`` also works, with ``mask`` then the list of their masks.
        value: ``(batch, *S, value_dim)``.
        key: ``(batch, *S, key_dim)``. Default: ``value``.
        query_mask, value_mask, key_mask: Boolean masks ``(batch, T)`` / ``(batch, S)``.
            Default: ``mask`` for the query, else each tensor's Keras mask.
        attention_mask: Boolean ``(batch, T, S)``: which query steps may attend to which
            value steps.
        return_attention_scores: Also return the attention weights
            ``(batch, num_heads, T, S)`` (for N-D inputs, the non-attention axes and the
            heads, then the query's and the value's attention axes). Default: ``False``.
        training: Whether dropout applies. Default: the layer's mode.
        use_causal_mask: Forbid attending to later steps. Default: ``False``.
        mask: The query's mask (what a model passes for the first input).

    Output shape:
        ``(batch, *T, *output_shape)``, and the scores with ``return_attention_scores``.

    Example:
        >>> layer = MultiHeadAttention(num_heads=2, key_dim=4)
        >>> x = torch.ones(3, 5, 8)
        >>> tuple(layer(x, x).shape), tuple(layer.query_kernel.shape)
        ((3, 5, 8), (8, 2, 4))
        >>> images = torch.ones(2, 4, 6, 8)  # attention over the width axis only
        >>> _, scores = MultiHeadAttention(2, 4, attention_axes=2)(
        ...     images, images, return_attention_scores=True)
        >>> tuple(scores.shape)
        (2, 4, 2, 6, 6)
    """

    def __init__(
        self,
        num_heads: int,
        key_dim: int,
        value_dim: int | None = None,
        dropout: float = 0.0,
        use_bias: bool = True,
        output_shape: Any = None,
        attention_axes: Any = None,
        sliding_window: int | None = None,
        flash_attention: bool | None = None,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        use_gate: bool = False,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        owner = "MultiHeadAttention"
        positive_int(num_heads, "num_heads", owner)
        positive_int(key_dim, "key_dim", owner)
        if value_dim is not None:
            positive_int(value_dim, "value_dim", owner)
        dims = (output_shape,) if is_int(output_shape) else output_shape
        if dims is not None and (not isinstance(dims, (list, tuple)) or not dims
                                 or not all(is_int(d) and d > 0 for d in dims)):
            raise ArgumentError(f"{owner}: output_shape must be a positive int or a tuple of "
                                f"them, received output_shape={output_shape!r}.")
        axes = (attention_axes,) if is_int(attention_axes) else attention_axes
        if axes is not None and (not isinstance(axes, (list, tuple)) or not axes
                                 or not all(is_int(a) for a in axes)):
            raise ArgumentError(f"{owner}: attention_axes must be an int or a non-empty list or "
                                f"tuple of ints, received attention_axes={attention_axes!r}.")
        super().__init__(**kwargs)
        self.init_common(dropout, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint, use_gate, sliding_window,
                         flash_attention, seed)
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.value_dim = value_dim or key_dim
        self.output_dims = tuple(dims) if dims is not None else None
        self.attention_axes = tuple(axes) if axes is not None else None
        self._scale = self.scale_of(key_dim)
        self._standard = True  # (batch, T, features) inputs: the fused, Keras-ordered path
        #: The fused in-projection and transposed output kernel of self-attention at
        #: inference (derived from the weights, rebuilt when they change).
        self._derived = DerivedWeights(fused_in_projection)
        self._fusable = False  # set by build

    # ------------------------------------------------------------------ building
    def build(self, query_shape: Any, value_shape: Shape | None = None,
              key_shape: Shape | None = None) -> None:
        query_shape, value_shape, key_shape = self.input_shapes(query_shape, value_shape,
                                                                 key_shape)
        owner = f"MultiHeadAttention '{self.name}'"
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ShapeError(f"{owner}: all axes of value and key but the last must be equal, "
                             f"received value shape {value_shape} and key shape {key_shape}.")
        rank = len(query_shape)
        if rank < 3 or len(value_shape) != rank:
            raise ShapeError(f"{owner} expects query and value of the same rank, at least "
                             f"(batch, steps, features), received query shape {query_shape} "
                             f"and value shape {value_shape}.")
        axes = tuple(range(1, rank - 1)) if self.attention_axes is None else tuple(
            a if a >= 0 else rank + a for a in self.attention_axes)
        if not all(1 <= a <= rank - 2 for a in axes) or len(set(axes)) != len(axes):
            raise ShapeError(f"{owner}: attention_axes={self.attention_axes!r} must name "
                             f"distinct axes between the batch and the features axes of "
                             f"inputs of shape {query_shape}.")
        self.attention_axes = axes
        self._standard = rank == 3
        # One in-projection serves query, key and value when their heads have one size and
        # the output has one axis (nn.MultiheadAttention's case).
        self._fusable = self.value_dim == self.key_dim and len(self.output_dims or (0,)) == 1
        heads, out = self.num_heads, self.output_dims or (query_shape[-1],)
        self.add_projection("query", "query", (query_shape[-1], heads, self.key_dim),
                            (heads, self.key_dim), [0], [1, 2])
        self.add_projection("key", "key", (key_shape[-1], heads, self.key_dim),
                            (heads, self.key_dim), [0], [1, 2])
        if self.use_gate:
            self.add_projection("gate", "gate", (query_shape[-1], heads, self.value_dim),
                                (heads, self.value_dim), [0], [1, 2])
        self.add_projection("value", "value", (value_shape[-1], heads, self.value_dim),
                            (heads, self.value_dim), [0], [1, 2])
        self.add_projection("output", "attention_output", (heads, self.value_dim, *out),
                            tuple(out), [0, 1], list(range(2, 2 + len(out))))

    # ------------------------------------------------------------------ calling
    def attention(self, query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None,
                  causal_only: bool, training: bool, scores: bool
                  ) -> tuple[Tensor, Tensor | None, list[Tensor]]:
        rate = self.dropout if training else 0.0
        if (self._standard and mask is None and not scores and not self.use_gate
                and (rate == 0.0 or self._generator is None)):
            return self._fused_attention(query, key, value, causal_only, rate)
        q, k, v = self.project(query, "query"), self.project(key, "key"), self.project(
            value, "value")
        gate = torch.sigmoid(self.project(query, "gate")) if self.use_gate else None
        if self._standard:  # (batch, heads, steps, size), the fused kernel's layout
            while mask is not None and mask.dim() < 4:  # a heads axis (and a batch axis)
                mask = mask.unsqueeze(-3)
            attended, weights = attend(
                q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), mask, self._scale,
                rate=rate, generator=self._generator, scores=scores, is_causal=causal_only,
                uniform_when_masked=self.dropout == 0.0)
            attended = attended.transpose(1, 2)
        else:
            attended, weights = self._attend_over_axes(q, k, v, mask, causal_only, rate,
                                                       scores)
        output = self.project_back(attended if gate is None else attended * gate)
        return output, weights, [p for p in (q, k, gate, v, output) if p is not None]

    def _fused_attention(self, query: Tensor, key: Tensor, value: Tensor, causal_only: bool,
                         rate: float) -> tuple[Tensor, None, list[Tensor]]:
        """The common case, as plain torch writes it: ``(batch, T, features)`` inputs, no
        mask but maybe the causal one, no scores, no gate, no seeded dropout.
        Self-attention that records no gradient projects query, key and value in one
        matmul, with weights derived once (and again only when one changes)."""
        batch, steps = query.shape[:2]
        if (query is key and key is value and self._fusable
                and DerivedWeights.applies(query) and "parametrizations" not in self._modules):
            p = self._parameters  # every weight registered (no parametrization replaced one)
            in_weight, in_bias, out_weight, out_bias = self._derived.get((
                p["query_kernel"], p["key_kernel"], p["value_kernel"], p["output_kernel"],
                p.get("query_bias"), p.get("key_bias"), p.get("value_bias"),
                p.get("output_bias")))
            q, k, v = F.linear(query, in_weight, in_bias).view(
                batch, steps, 3, self.num_heads, self.key_dim).permute(2, 0, 3, 1, 4).unbind(0)
            attended = F.scaled_dot_product_attention(
                q, k, v, attn_mask=None, dropout_p=rate, is_causal=causal_only,
                scale=self._scale).transpose(1, 2).reshape(batch, steps, -1)
            output = F.linear(attended, out_weight, out_bias)
            return output, None, [q, k, v, output]
        q, k, v = self.project(query, "query"), self.project(key, "key"), self.project(
            value, "value")
        attended = F.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=None,
            dropout_p=rate, is_causal=causal_only, scale=self._scale).transpose(1, 2)
        output = self.project_back(attended)
        return output, None, [q, k, v, output]

    def _attend_over_axes(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None,
                          causal_only: bool, rate: float, scores: bool) -> tuple[Tensor, Any]:
        """Keras's einsum attention over ``attention_axes`` of ``(batch, *axes, heads,
        size)`` projections: the other axes (and the heads) lead, the attention axes are
        flattened into one, and the scores come out as Keras lays them out."""
        rank, axes = q.dim(), self.attention_axes
        leading = [a for a in range(rank - 1) if a not in axes]
        order = [*leading, *axes, rank - 1]
        sizes = [q.shape[a] for a in leading]
        steps, sources = [q.shape[a] for a in axes], [k.shape[a] for a in axes]
        flat_q = q.permute(order).reshape(*sizes, -1, q.shape[-1])
        flat_k = k.permute(order).reshape(*sizes, -1, k.shape[-1])
        flat_v = v.permute(order).reshape(*sizes, -1, v.shape[-1])
        if causal_only:
            mask = causal_mask(q.shape[1], k.shape[1], q.device)
        if mask is not None:
            while mask.dim() < len(sizes) + 2 * len(axes):  # Keras's _masked_softmax
                mask = mask.unsqueeze(-2 * len(axes) - 1)
            mask = mask.expand(*sizes, *steps, *sources).reshape(
                *sizes, flat_q.shape[-2], flat_k.shape[-2])
        attended, weights = attend(flat_q, flat_k, flat_v, mask, self._scale, rate=rate,
                                   generator=self._generator, scores=scores)
        attended = attended.reshape(*sizes, *steps, v.shape[-1])
        inverse = [order.index(a) for a in range(rank)]
        if weights is not None:
            weights = weights.reshape(*sizes, *steps, *sources)
        return attended.permute(inverse), weights

    # ------------------------------------------------------------------ shapes and config
    def compute_output_shape(self, query_shape: Any, value_shape: Shape | None = None,
                             key_shape: Shape | None = None) -> Shape:
        query_shape, value_shape, key_shape = self.input_shapes(query_shape, value_shape,
                                                                key_shape)
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ShapeError(
                f"MultiHeadAttention '{self.name}': all axes of value and key but the last "
                f"must be equal, received value shape {value_shape} and key shape {key_shape}.")
        return query_shape[:-1] + self.output_dims if self.output_dims else query_shape

    def get_config(self) -> dict[str, Any]:
        axes = self.attention_axes
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "use_gate": self.use_gate,
            "output_shape": list(self.output_dims) if self.output_dims else None,
            "attention_axes": list(axes) if axes is not None else None,
            "sliding_window": self.sliding_window,
            **self.common_config(),
        }

    def extra_repr(self) -> str:
        return (f"name={self.name!r}, num_heads={self.num_heads}, key_dim={self.key_dim}, "
                f"value_dim={self.value_dim}")
