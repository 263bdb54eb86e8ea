"""Attention without projections, as Keras 3's: ``Attention`` (dot-product, Luong-style) and
``AdditiveAttention`` (Bahdanau-style).

Both are called with a list ``[query, value]`` or ``[query, value, key]`` and take Keras's
masks as ``mask=[query_mask, value_mask]``: masked values get no weight (their scores are
lowered by ``1e9`` before the softmax, as Keras does, so a query step whose every value is
masked attends almost uniformly), and the outputs at masked query steps are zero.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.errors import ArgumentError
from lamina.layers import arguments, inference
from lamina.layers.attention_base import causal_mask, keras_dropout
from lamina.layers.calling import input_masks
from lamina.layers.layer import Layer, to_tensor

Tensor = torch.Tensor
Shape = tuple[int | None, ...]


def _listed(value: Any, what: str, owner: str) -> list[Any]:
    """Keras's check of ``inputs`` / ``mask``: a list (or tuple) of 2 or 3 entries."""
    if not isinstance(value, (list, tuple)) or not 2 <= len(value) <= 3:
        raise ArgumentError(
            f"{owner} takes a list of 2 or 3 {what}, namely [query, value] or [query, value, "
            f"key] (masks: [query_mask, value_mask]), received {what}={value!r}.")
    return list(value)


class Attention(Layer):
    """Dot-product attention (Luong-style), as Keras 3's ``Attention``.

    ``scores = query @ key^T`` (times the weight ``scale`` with ``use_scale``; with
    ``score_mode="concat"``, ``concat_score_weight * sum(tanh(scale * (query + key)))``
    instead), ``output = softmax(scores) @ value``.

    Args:
        use_scale: Whether to learn a scalar weight ``scale`` (initialised to 1) that
            multiplies the scores. Default: ``False``.
        score_mode: ``"dot"`` or ``"concat"`` (adds the scalar weight
            ``concat_score_weight``). Default: ``"dot"``.
        dropout: Dropout rate on the attention weights in training. Default: ``0.0``.
        seed: Seed of that dropout. Default: ``None``.

    Call arguments:
        inputs: ``[query (batch, Tq, dim), value (batch, Tv, dim)]``, and optionally
            ``key (batch, Tv, dim)`` (default: ``value``).
        mask: ``[query_mask (batch, Tq), value_mask (batch, Tv)]`` (either may be
            ``None``). Default: the masks the inputs carry.
        return_attention_scores: Also return the attention weights ``(batch, Tq, Tv)``
            (after dropout, as Keras). Default: ``False``.
        training: Whether dropout applies. Default: the layer's mode.
        use_causal_mask: Forbid attending to later steps. Default: ``False``.

    Output shape:
        ``(batch, Tq, dim)``; its mask is the query's.

    Example:
        >>> query, value = torch.ones(2, 3, 4), torch.ones(2, 5, 4)
        >>> output, scores = Attention()([query, value], return_attention_scores=True)
        >>> tuple(output.shape), tuple(scores.shape)
        ((2, 3, 4), (2, 3, 5))
    """

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0,
                 seed: int | None = None, **kwargs: Any) -> None:
        owner = type(self).__name__
        if score_mode not in ("dot", "concat"):
            raise ArgumentError(f"{owner}: score_mode must be one of 'dot', 'concat', "
                                f"received score_mode={score_mode!r}.")
        dropout = arguments.number(dropout, "dropout", owner, minimum=0, below=1)
        super().__init__(**kwargs)
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self.dropout = dropout
        self.seed = arguments.seed(seed, owner)
        self._generator = torch.Generator().manual_seed(seed) if seed is not None else None

    def build(self, input_shape: Any) -> None:
        _listed(input_shape, "input shapes", type(self).__name__)
        self.scale = (self.add_weight("scale", (), initializer="ones") if self.use_scale
                      else None)
        self.concat_score_weight = (self.add_weight("concat_score_weight", (),
                                                    initializer="ones")
                                    if self.score_mode == "concat" else None)

    def scores(self, query: Tensor, key: Tensor) -> Tensor:
        """The attention logits ``(batch, Tq, Tv)``."""
        if self.score_mode == "dot":
            logits = torch.matmul(query, key.transpose(-2, -1))
            return logits * self.scale if self.scale is not None else logits
        summed = query.unsqueeze(-2) + key.unsqueeze(-3)
        if self.scale is not None:
            summed = self.scale * summed
        return self.concat_score_weight * torch.tanh(summed).sum(-1)

    def call(self, inputs: Any, mask: Any = None, training: bool | None = None,
             return_attention_scores: bool = False, use_causal_mask: bool = False) -> Any:
        owner = f"{type(self).__name__} '{self.name}'"
        inputs = _listed(inputs, "inputs", owner)
        if mask is None:
            mask = input_masks(inputs)
        query_mask, value_mask = _listed(mask, "masks", owner)[:2] if mask is not None else (
            None, None)
        query, value = inputs[0], to_tensor(inputs[1])
        key = to_tensor(inputs[2]) if len(inputs) > 2 else value
        logits = self.scores(query, key)
        masked = None if value_mask is None else to_tensor(value_mask).bool().unsqueeze(-2)
        if use_causal_mask:
            causal = causal_mask(logits.shape[-2], logits.shape[-1], logits.device)
            masked = causal if masked is None else masked & causal
        if masked is not None:  # Keras's: lowered by a large number, not replaced
            large = 65504.0 if logits.dtype == torch.float16 else 1.0e9
            logits = torch.where(masked, logits, logits - large)
        weights = torch.softmax(logits, dim=-1)
        if training and self.dropout > 0:
            weights = (keras_dropout(weights, self.dropout, self._generator)
                       if self._generator is not None
                       else F.dropout(weights, self.dropout, training=True))
        output = torch.matmul(weights, value)
        if query_mask is not None:
            output = torch.where(to_tensor(query_mask).bool().unsqueeze(-1), output, 0.0)
        return (output, weights) if return_attention_scores else output

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if mask is None:
            return None
        return to_tensor(_listed(mask, "masks", type(self).__name__)[0])

    def compute_output_shape(self, input_shape: Any) -> Shape:
        query_shape, value_shape = _listed(input_shape, "input shapes",
                                           type(self).__name__)[:2]
        return (*tuple(query_shape)[:-1], tuple(value_shape)[-1])

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        # The outputs' structure depends on return_attention_scores: inferred by a run on
        # fake tensors rather than from compute_output_shape.
        return inference.output_spec(self, args, kwargs, False)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "use_scale": self.use_scale,
                "score_mode": self.score_mode, "dropout": self.dropout, "seed": self.seed}


class AdditiveAttention(Attention):
    """Additive attention (Bahdanau-style), as Keras 3's ``AdditiveAttention``.

    ``scores = sum(scale * tanh(query + key), axis=-1)`` for every query and key step
    (``scale`` a learnt vector of the features' size with ``use_scale``, initialised
    Glorot-uniform; 1 without), ``output = softmax(scores) @ value``.

    Args:
        use_scale: Whether to learn the vector ``scale``. Default: ``True``.
        dropout: Dropout rate on the attention weights in training. Default: ``0.0``.
        seed: Seed of that dropout. Default: ``None``.

    Call arguments:
        As :class:`Attention`'s.

    Output shape:
        ``(batch, Tq, dim)``; its mask is the query's.

    Example:
        >>> layer = AdditiveAttention()
        >>> output = layer([torch.ones(2, 3, 4), torch.ones(2, 5, 4)])
        >>> tuple(output.shape), tuple(layer.scale.shape)
        ((2, 3, 4), (4,))
    """

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(use_scale=use_scale, dropout=dropout, seed=seed, **kwargs)

    def build(self, input_shape: Any) -> None:
        query_shape = _listed(input_shape, "input shapes", type(self).__name__)[0]
        self.concat_score_weight = None
        self.scale = (self.add_weight("scale", (query_shape[-1],),
                                      initializer="glorot_uniform")
                      if self.use_scale else None)

    def scores(self, query: Tensor, key: Tensor) -> Tensor:
        summed = torch.tanh(query.unsqueeze(-2) + key.unsqueeze(-3))
        return (summed * self.scale if self.scale is not None else summed).sum(-1)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["score_mode"]
        return config
