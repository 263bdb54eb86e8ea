"""``GroupedQueryAttention`` (Keras 3's ``keras.layers.GroupQueryAttention``, also exported
under that name): fewer key/value heads than query heads, each shared by a group of query
heads (Ainslie et al. 2023); one key/value head is multi-query attention."""

from __future__ import annotations

from typing import Any

import torch

from lamina.errors import ArgumentError, ShapeError
from lamina.layers.attention_base import ProjectedAttention, Shape, attend, positive_int

Tensor = torch.Tensor


class GroupedQueryAttention(ProjectedAttention):
    """Grouped-query attention, as Keras 3's ``GroupQueryAttention``.

    Query heads ``u`` and key/value heads ``v``: query head ``i`` attends with key/value head
    ``i // (num_query_heads // num_key_value_heads)`` (Keras repeats each key/value head for
    its group). Weights have Keras's layouts, order, names and paths: ``query_kernel
    (query_dim, num_query_heads, head_dim)`` (path ``<layer>/query/kernel``), ``key_kernel``
    and ``value_kernel (dim, num_key_value_heads, head_dim)``, ``output_kernel
    (num_query_heads, head_dim, query_dim)`` (path ``<layer>/attention_output/kernel``),
    each with a bias with ``use_bias``. Masks and masked steps behave as in
    :class:`~lamina.layers.MultiHeadAttention`.

    Args:
        head_dim: Size of each head.
        num_query_heads: Number of query heads.
        num_key_value_heads: Number of key and value heads; divides ``num_query_heads``.
        dropout: Dropout rate on the attention weights in training. Default: ``0.0``.
        use_bias: Whether the projections have biases. Default: ``True``.
        sliding_window: Each query step attends only to steps less than this far away.
            Default: ``None``.
        flash_attention: Keras's switch for its fused kernel: ``True`` refuses dropout and
            attention scores, as in Keras. Default: ``None``.
        kernel_initializer: Default: ``"glorot_uniform"`` (Keras's fans per projection).
        bias_initializer: Default: ``"zeros"``.
        kernel_regularizer, bias_regularizer: Penalties on every kernel / bias.
        activity_regularizer: A penalty on each projection's output and on the layer's
            outputs (Keras's).
        kernel_constraint, bias_constraint: Constraints on every kernel / bias, applied after
            each optimizer step.
        use_gate: A sigmoid gate per query head, projected from the query. Default: ``False``.
        seed: Seed of the dropout on the attention weights. Default: ``None``.

    Call arguments:
        As :class:`~lamina.layers.MultiHeadAttention`'s, for ``(batch, steps, features)``
        inputs; the scores are ``(batch, num_query_heads, T, S)``.

    Output shape:
        The query's shape.

    Example:
        >>> layer = GroupedQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2)
        >>> x = torch.ones(3, 5, 8)
        >>> tuple(layer(x, x).shape), tuple(layer.key_kernel.shape)
        ((3, 5, 8), (8, 2, 4))
    """

    penalizes_outputs = True

    def __init__(
        self,
        head_dim: int,
        num_query_heads: int,
        num_key_value_heads: int,
        dropout: float = 0.0,
        use_bias: bool = True,
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
        owner = "GroupedQueryAttention"
        positive_int(head_dim, "head_dim", owner)
        positive_int(num_query_heads, "num_query_heads", owner)
        positive_int(num_key_value_heads, "num_key_value_heads", owner)
        if num_query_heads % num_key_value_heads:
            raise ArgumentError(
                f"{owner}: num_query_heads must be divisible by num_key_value_heads, received "
                f"num_query_heads={num_query_heads!r} and "
                f"num_key_value_heads={num_key_value_heads!r}.")
        super().__init__(**kwargs)
        self.init_common(dropout, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint, use_gate, sliding_window,
                         flash_attention, seed)
        self.head_dim = head_dim
        self.num_query_heads = num_query_heads
        self.num_key_value_heads = num_key_value_heads
        self.num_repeats = num_query_heads // num_key_value_heads
        self._scale = self.scale_of(head_dim)

    def build(self, query_shape: Any, value_shape: Shape | None = None,
              key_shape: Shape | None = None) -> None:
        query_shape, value_shape, key_shape = self.input_shapes(query_shape, value_shape,
                                                                key_shape)
        for role, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) != 3:
                raise ShapeError(
                    f"GroupedQueryAttention '{self.name}' expects {role} of shape (batch, "
                    f"steps, features), received {role} shape {shape}.")
        heads, groups, size = self.num_query_heads, self.num_key_value_heads, self.head_dim
        self.feature_dim = query_shape[-1]
        self.add_projection("query", "query", (query_shape[-1], heads, size), (heads, size),
                            [0], [1, 2])
        self.add_projection("key", "key", (key_shape[-1], groups, size), (groups, size),
                            [0], [1, 2])
        if self.use_gate:
            self.add_projection("gate", "gate", (query_shape[-1], heads, size), (heads, size),
                                [0], [1, 2])
        self.add_projection("value", "value", (value_shape[-1], groups, size), (groups, size),
                            [0], [1, 2])
        self.add_projection("output", "attention_output", (heads, size, query_shape[-1]),
                            (query_shape[-1],), [0, 1], [2])

    def attention(self, query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None,
                  causal_only: bool, training: bool, scores: bool
                  ) -> tuple[Tensor, Tensor | None, list[Tensor]]:
        q, k, v = self.project(query, "query"), self.project(key, "key"), self.project(
            value, "value")
        gate = torch.sigmoid(self.project(query, "gate")) if self.use_gate else None
        while mask is not None and mask.dim() < 4:  # a heads axis (and a batch axis)
            mask = mask.unsqueeze(-3)
        attended, weights = attend(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), mask, self._scale,
            rate=self.dropout if training else 0.0, generator=self._generator, scores=scores,
            is_causal=causal_only, uniform_when_masked=self.dropout == 0.0,
            groups=self.num_repeats)
        attended = attended.transpose(1, 2)
        output = self.project_back(attended if gate is None else attended * gate)
        return output, weights, [p for p in (q, k, gate, v, output) if p is not None]

    def compute_output_shape(self, query_shape: Any, value_shape: Shape | None = None,
                             key_shape: Shape | None = None) -> Shape:
        query_shape, value_shape, key_shape = self.input_shapes(query_shape, value_shape,
                                                                key_shape)
        owner = f"GroupedQueryAttention '{self.name}'"
        if query_shape[-1] != value_shape[-1]:
            raise ShapeError(f"{owner}: the last axes of query and value must be equal (as in "
                             f"Keras), received query shape {query_shape} and value shape "
                             f"{value_shape}.")
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ShapeError(f"{owner}: all axes of value and key but the last must be equal, "
                             f"received value shape {value_shape} and key shape {key_shape}.")
        return query_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "head_dim": self.head_dim,
            "num_query_heads": self.num_query_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "use_bias": self.use_bias,
            "use_gate": self.use_gate,
            "sliding_window": self.sliding_window,
            "dropout": self.dropout,
            **self.common_config(),
        }

    def extra_repr(self) -> str:
        return (f"name={self.name!r}, head_dim={self.head_dim}, "
                f"num_query_heads={self.num_query_heads}, "
                f"num_key_value_heads={self.num_key_value_heads}")


#: Keras 3's public name of the layer (``keras.layers.GroupQueryAttention``).
GroupQueryAttention = GroupedQueryAttention
