"""``MultiHeadAttention`` with Keras 3's call signature, masks and weight layout."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch._subclasses.fake_tensor import unset_fake_temporarily

from lamina import initializers
from lamina.errors import ArgumentError, ShapeError
from lamina.layers.layer import Layer, to_tensor
from lamina.ops.dispatch import holds_symbolic

Tensor = torch.Tensor
Shape = tuple[int | None, ...]


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _split_inputs(query: Any, value: Any, key: Any) -> tuple[Any, Any, Any]:
    """``(query, value, key)`` from the Keras call, or from one list ``[query, value(, key)]``."""
    if value is not None:
        return query, value, key
    if not isinstance(query, (list, tuple)) or len(query) not in (2, 3):
        raise ArgumentError(
            "MultiHeadAttention takes query and value (and optionally key): mha(query, value) "
            f"or mha([query, value]); received {type(query).__name__} without a value."
        )
    return (*query, None)[:3]


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al. 2017), as Keras 3's ``MultiHeadAttention``.

    ``query``, ``key`` and ``value`` are projected per head, ``softmax(q k^T / sqrt(key_dim))``
    weighs the values, and the heads are projected back to ``output_shape``. Weights have
    Keras's (EinsumDense) layout, in Keras's order: ``query_kernel (query_dim, num_heads,
    key_dim)`` and ``query_bias (num_heads, key_dim)``, the same for ``key`` and ``value``
    (``value_dim`` per head), then ``output_kernel (num_heads, value_dim, *output_shape)``
    and ``output_bias``. Computed with ``scaled_dot_product_attention`` unless the scores
    are asked for.

    Masks, as in Keras: the query's mask ``(batch, T)`` and the value's and key's masks
    ``(batch, S)`` combine (logical and) into a ``(batch, T, S)`` attention mask, with
    ``attention_mask`` and the causal mask of ``use_causal_mask``. A query step that may
    attend nowhere gets zero attention weights. The output's mask is the query's.

    Args:
        num_heads: Number of attention heads.
        key_dim: Size of each head for query and key.
        value_dim: Size of each head for value. Default: ``key_dim``.
        dropout: Dropout rate on the attention weights in training. Default: ``0.0``.
        use_bias: Whether the projections have biases. Default: ``True``.
        output_shape: The output's shape after the batch and time axes (an int or a
            tuple). Default: the query's last axis.
        attention_axes: Only ``None`` (attention over the time axis) is supported.
        kernel_initializer: Default: ``"glorot_uniform"``.
        bias_initializer: Default: ``"zeros"``.

    Call arguments:
        query: ``(batch, T, query_dim)``. A list ``[query, value]`` or ``[query, value,
            key]`` also works, with ``mask`` then the list of their masks; a call on
            symbolic tensors is recorded that way, so that in a model the masks of all
            three reach the layer.
        value: ``(batch, S, value_dim)``.
        key: ``(batch, S, key_dim)``. Default: ``value``.
        query_mask, value_mask, key_mask: Boolean masks ``(batch, T)`` / ``(batch, S)``.
            Default: ``mask`` for the query, else each tensor's Keras mask; for self-attention
            (``value is query``) the query's mask also masks the values.
        attention_mask: Boolean ``(batch, T, S)``: which query steps may attend to which
            value steps.
        return_attention_scores: Also return the attention weights
            ``(batch, num_heads, T, S)``. Default: ``False``.
        training: Whether dropout applies. Default: the layer's mode.
        use_causal_mask: Forbid attending to later steps. Default: ``False``.
        mask: The query's mask (what a model passes for the first input).

    Output shape:
        ``(batch, T, *output_shape)``, and the scores with ``return_attention_scores``.

    Example:
        >>> layer = MultiHeadAttention(num_heads=2, key_dim=4)
        >>> x = torch.ones(3, 5, 8)
        >>> tuple(layer(x, x).shape), tuple(layer.query_kernel.shape)
        ((3, 5, 8), (8, 2, 4))
    """

    supports_masking = True

    def __init__(
        self,
        num_heads: int,
        key_dim: int,
        value_dim: int | None = None,
        dropout: float = 0.0,
        use_bias: bool = True,
        output_shape: Any = None,
        attention_axes: Any = None,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        **kwargs: Any,
    ) -> None:
        for arg, value in (("num_heads", num_heads), ("key_dim", key_dim)):
            if not _positive_int(value):
                raise ArgumentError(f"MultiHeadAttention: {arg} must be a positive int, "
                                    f"received {arg}={value!r}.")
        if value_dim is not None and not _positive_int(value_dim):
            raise ArgumentError(f"MultiHeadAttention: value_dim must be a positive int or None, "
                                f"received value_dim={value_dim!r}.")
        if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ArgumentError(f"MultiHeadAttention: dropout must be a number in [0, 1), "
                                f"received dropout={dropout!r}.")
        dims = (output_shape,) if isinstance(output_shape, int) else output_shape
        if dims is not None and (not isinstance(dims, (list, tuple)) or not dims
                                 or not all(_positive_int(d) for d in dims)):
            raise ArgumentError(f"MultiHeadAttention: output_shape must be a positive int or a "
                                f"tuple of them, received output_shape={output_shape!r}.")
        if attention_axes is not None:
            raise ArgumentError(
                "MultiHeadAttention: only attention_axes=None (attention over the time axis "
                f"of (batch, time, features) inputs) is supported, received "
                f"attention_axes={attention_axes!r}."
            )
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.value_dim = value_dim or key_dim
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        self.output_dims = tuple(dims) if dims is not None else None
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self._projections_built = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args and holds_symbolic(args[0]) and (len(args) > 1 or "value" in kwargs):
            # A model passes ``mask=`` for a node's first argument only. Recorded as
            # ``mha([query, value, key])``, the node's first argument holds all three, so
            # the model hands over all their masks (see ``call``).
            value = args[1] if len(args) > 1 else kwargs.pop("value")
            key = args[2] if len(args) > 2 else kwargs.pop("key", None)
            inputs = [args[0], value] if key is None else [args[0], value, key]
            return super().__call__(inputs, *args[3:], **kwargs)
        return super().__call__(*args, **kwargs)

    # ------------------------------------------------------------------ building
    def build(self, query_shape: Any, value_shape: Shape | None = None,
              key_shape: Shape | None = None) -> None:
        if value_shape is None and len(query_shape) and not isinstance(
                query_shape[0], (int, type(None))):
            query_shape, value_shape, key_shape = (*query_shape, None)[:3]
        if value_shape is None or self._projections_built:
            # Built from the query's shape alone (how a layer is built from its first input),
            # the value and key sizes are unknown: forward() builds at the first call.
            return
        key_shape = key_shape or value_shape
        shapes = {"query": query_shape, "value": value_shape, "key": key_shape}
        for role, shape in shapes.items():
            if len(shape) != 3 or shape[-1] is None:
                raise ShapeError(
                    f"MultiHeadAttention '{self.name}' expects {role} of shape (batch, steps, "
                    f"features) with known features, received {role} shape {tuple(shape)}."
                )
        heads, key_dim, value_dim = self.num_heads, self.key_dim, self.value_dim
        out = self.output_dims or (query_shape[-1],)
        for role, size in (("query", key_dim), ("key", key_dim), ("value", value_dim)):
            setattr(self, f"{role}_kernel", self.add_weight(
                f"{role}_kernel", (shapes[role][-1], heads, size),
                initializer=self.kernel_initializer))
            if self.use_bias:
                setattr(self, f"{role}_bias", self.add_weight(
                    f"{role}_bias", (heads, size), initializer=self.bias_initializer))
        self.output_kernel = self.add_weight("output_kernel", (heads, value_dim, *out),
                                             initializer=self.kernel_initializer)
        if self.use_bias:
            self.output_bias = self.add_weight("output_bias", out,
                                               initializer=self.bias_initializer)
        self._projections_built = True

    def forward(self, query: Any, value: Any = None, key: Any = None, **kwargs: Any) -> Any:
        if not self._projections_built:
            q, v, k = _split_inputs(query, value, key)
            with unset_fake_temporarily():
                self.build(tuple(q.shape), tuple(v.shape), None if k is None else tuple(k.shape))
            if q.device.type != "cpu":
                self.to(q.device)
        return super().forward(query, value, key, **kwargs)

    # ------------------------------------------------------------------ calling
    def call(self, query: Any, value: Any = None, key: Any = None,
             query_mask: Tensor | None = None, value_mask: Tensor | None = None,
             key_mask: Tensor | None = None, attention_mask: Tensor | None = None,
             return_attention_scores: bool = False, training: bool | None = None,
             use_causal_mask: bool = False, mask: Any = None) -> Any:
        query, value, key = _split_inputs(query, value, key)
        if isinstance(mask, (list, tuple)):  # the masks of [query, value(, key)]
            mask, *others = [*mask, None, None][:3]
            value_mask = others[0] if value_mask is None else value_mask
            key_mask = others[1] if key_mask is None else key_mask
        value, key = to_tensor(value), to_tensor(key)
        if query_mask is None:
            query_mask = mask if mask is not None else getattr(query, "_keras_mask", None)
        if value_mask is None:
            value_mask = query_mask if value is query else getattr(value, "_keras_mask", None)
        if key is None:
            key = value
        elif key_mask is None:
            key_mask = value_mask if key is value else getattr(key, "_keras_mask", None)
        attention_mask = self._attention_mask(query, value, query_mask, value_mask, key_mask,
                                              attention_mask, use_causal_mask)
        q = self._project(query, "query")
        k = self._project(key, "key")
        v = self._project(value, "value")
        dropout = self.dropout if training else 0.0
        if attention_mask is not None:
            while attention_mask.dim() < 4:  # a heads axis (and a batch axis) to broadcast
                attention_mask = attention_mask.unsqueeze(-3)
        scale = 1.0 / math.sqrt(self.key_dim)
        scores = None
        if return_attention_scores:
            logits = torch.matmul(q * scale, k.transpose(-2, -1))
            if attention_mask is None:
                scores = torch.softmax(logits, dim=-1)
            else:
                # Keras's masked softmax: -1e9 where masked, and weights zeroed afterwards so
                # that a query step with nothing to attend to gets all zeros.
                logits = logits.masked_fill(~attention_mask, -1e9)
                scores = torch.softmax(logits, dim=-1) * attention_mask
            weights = F.dropout(scores, dropout, training=True) if dropout else scores
            attended = torch.matmul(weights, v)
        else:
            attended = F.scaled_dot_product_attention(q, k, v, attn_mask=attention_mask,
                                                      dropout_p=dropout, scale=scale)
        batch, steps = attended.shape[0], attended.shape[2]
        merged = attended.transpose(1, 2).reshape(batch, steps, -1)
        out_dims = self.output_kernel.shape[2:]
        output = torch.matmul(merged, self.output_kernel.reshape(merged.shape[-1], -1))
        if self.use_bias:
            output = output + self.output_bias.reshape(-1)
        output = output.reshape(batch, steps, *out_dims)
        return (output, scores) if return_attention_scores else output

    def _project(self, inputs: Tensor, role: str) -> Tensor:
        """``(batch, steps, dim) -> (batch, heads, steps, size)``, Keras's EinsumDense
        ``btd,dhs->bths`` as one matmul."""
        kernel = getattr(self, f"{role}_kernel")
        projected = torch.matmul(inputs, kernel.reshape(kernel.shape[0], -1))
        if self.use_bias:
            projected = projected + getattr(self, f"{role}_bias").reshape(-1)
        return projected.unflatten(-1, kernel.shape[1:]).transpose(1, 2)

    @staticmethod
    def _attention_mask(query: Tensor, value: Tensor, query_mask: Any, value_mask: Any,
                        key_mask: Any, attention_mask: Any,
                        use_causal_mask: bool) -> Tensor | None:
        """Keras's ``_compute_attention_mask``: every given mask as ``(batch, T, S)``, and-ed."""
        masks = []
        if query_mask is not None:
            masks.append(to_tensor(query_mask).bool()[:, :, None])
        for mask in (value_mask, key_mask):
            if mask is not None:
                masks.append(to_tensor(mask).bool()[:, None, :])
        if use_causal_mask:
            steps, sources = query.shape[1], value.shape[1]
            masks.append(torch.ones(steps, sources, dtype=torch.bool,
                                    device=query.device).tril()[None])
        if attention_mask is not None:
            masks.append(to_tensor(attention_mask).bool())
        if not masks:
            return None
        combined = masks[0]
        for mask in masks[1:]:
            combined = combined & mask
        return combined

    # ------------------------------------------------------------------ shapes and config
    # No compute_output_shape: the output structure depends on return_attention_scores, a
    # call argument, so a symbolic call infers it by running the layer on fake tensors.

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return mask[0] if isinstance(mask, (list, tuple)) else mask

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "output_shape": list(self.output_dims) if self.output_dims else None,
            "attention_axes": None,
            **initializers.serialize_arguments(self, kernel_initializer=self.kernel_initializer,
                                               bias_initializer=self.bias_initializer),
        }

    def extra_repr(self) -> str:
        return (f"name={self.name!r}, num_heads={self.num_heads}, key_dim={self.key_dim}, "
                f"value_dim={self.value_dim}")
