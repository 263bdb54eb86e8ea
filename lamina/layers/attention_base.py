"""What ``MultiHeadAttention`` and ``GroupedQueryAttention`` share, as Keras 3 does it.

* :func:`combined_mask`: Keras's ``_compute_attention_mask`` (the query's, value's and key's
  masks, ``attention_mask``, the causal and sliding-window masks, and-ed);
* :func:`attend`: scaled dot-product attention with Keras's two semantics for a query step
  whose every key is masked. Keras runs ``dot_product_attention`` (fused, with an additive
  mask of ``-0.7 * max(float)``) when the layer has no dropout, no scores are asked for and
  the inputs are ``(batch, steps, features)``: such a step then attends *uniformly* to every
  value. Otherwise Keras computes the softmax itself (a ``Softmax`` layer with the mask),
  and such a step gets *zero* weights. lamina follows both, through
  ``F.scaled_dot_product_attention`` whenever the scores are not needed;
* :class:`ProjectedAttention`: the layer base: the call signature, the masks, building from
  the first call, the projection weights with Keras's layouts, names and paths
  (``<layer>/query/kernel``...), and the output shapes.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from lamina import constraints, initializers, regularizers
from lamina.errors import ArgumentError, ShapeError
from lamina.layers import inference
from lamina.layers.arguments import is_int
from lamina.layers.attention_projection import band_mask, causal_mask, linear_projection
from lamina.layers.calling import first_argument_from_keywords
from lamina.layers.einsum_dense import keras_fans_initializer
from lamina.layers.layer import Layer, to_tensor
from lamina.ops.dispatch import holds_symbolic

Tensor = torch.Tensor
Shape = tuple[int | None, ...]


def positive_int(value: Any, name: str, owner: str) -> int:
    """``value`` if it is an int > 0 (a bool is not), else Keras's ``ValueError``."""
    if not is_int(value) or value <= 0:
        raise ArgumentError(f"{owner}: {name} must be a positive int, received {name}={value!r}.")
    return value


def split_inputs(owner: str, query: Any, value: Any, key: Any) -> tuple[Any, Any, Any]:
    """``(query, value, key)`` from the Keras call, or from one list ``[query, value(, key)]``."""
    if value is not None:
        return query, value, key
    if not isinstance(query, (list, tuple)) or len(query) not in (2, 3):
        raise ArgumentError(
            f"{owner} takes query and value (and optionally key): layer(query, value) or "
            f"layer([query, value]); received {type(query).__name__} without a value.")
    return (*query, None)[:3]


def combined_mask(query: Tensor, value: Tensor, query_mask: Any, value_mask: Any,
                  key_mask: Any, attention_mask: Any, use_causal_mask: bool,
                  sliding_window: int | None) -> tuple[Tensor | None, bool]:
    """Keras's attention mask, ``(batch, T, S)`` up to broadcasting: the query's mask as
    ``(batch, T, 1)``, the value's and key's as ``(batch, 1, S)``, the causal and band masks
    as ``(1, T, S)``, and-ed with ``attention_mask``. Returns ``(mask, causal only)``: when
    the causal mask is the only one, it is left to the attention kernel (Keras's
    ``is_causal``)."""
    masks = []
    if query_mask is not None:
        masks.append(to_tensor(query_mask).bool().unsqueeze(-1))
    for mask in (value_mask, key_mask):
        if mask is not None:
            masks.append(to_tensor(mask).bool().unsqueeze(-2))
    steps, sources = query.shape[1], value.shape[1]
    if sliding_window is not None:
        masks.append(band_mask(steps, sources, sliding_window, query.device))
    if attention_mask is not None:
        masks.append(to_tensor(attention_mask).bool())
    if use_causal_mask:
        if not masks:
            return None, True
        masks.append(causal_mask(steps, sources, query.device))
    if not masks:
        return None, False
    combined = masks[0]
    for mask in masks[1:]:
        combined = combined & mask
    return combined, False


def large_negative(dtype: torch.dtype) -> float:
    """Keras's torch ``dot_product_attention`` mask value: ``-0.7 * max(float)``."""
    return -0.7 * (65500.0 if dtype == torch.float16 else 3.38953e38)


def keras_dropout(weights: Tensor, rate: float, generator: torch.Generator) -> Tensor:
    """Dropout drawn from ``generator`` (a layer's ``seed``), scaled by ``1 / (1 - rate)``."""
    keep = torch.rand(weights.shape, generator=generator).to(weights.device) >= rate
    return weights * keep.to(weights.dtype) / (1.0 - rate)


def attend(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, scale: float, *,
           rate: float = 0.0, generator: torch.Generator | None = None,
           scores: bool = False, uniform_when_masked: bool = False, is_causal: bool = False,
           groups: int = 1) -> tuple[Tensor, Tensor | None]:
    """``softmax(q k^T * scale) v`` over ``(..., T, D)`` / ``(..., S, D)`` tensors, heads
    among the leading axes (``k`` and ``v`` with ``heads / groups`` of them, each shared by
    ``groups`` consecutive query heads). ``mask`` (boolean, broadcasting to ``(..., T, S)``)
    says where a step may attend; ``rate`` is the dropout rate on the weights (0 outside
    training). Returns ``(output, weights before dropout if scores else None)``.

    ``uniform_when_masked``: a step with every key masked attends uniformly (Keras's fused
    path) instead of getting zero weights (Keras's explicit softmax)."""
    if not scores and (rate == 0.0 or generator is None):
        if mask is not None and uniform_when_masked:
            mask = torch.where(mask, 0.0, large_negative(q.dtype)).to(q.dtype)
        output = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=rate, is_causal=is_causal and mask is None,
            scale=scale, enable_gqa=groups > 1)
        return output, None
    if groups > 1:
        k, v = k.repeat_interleave(groups, dim=-3), v.repeat_interleave(groups, dim=-3)
    logits = torch.matmul(q * scale, k.transpose(-2, -1))
    if is_causal:
        mask = causal_mask(logits.shape[-2], logits.shape[-1], logits.device)
    if mask is None:
        weights = torch.softmax(logits, dim=-1)
    else:  # Keras's Softmax layer with a mask
        logits = logits.masked_fill(~mask, -3e4 if logits.dtype == torch.float16 else -1e9)
        weights = torch.softmax(logits, dim=-1).masked_fill(~mask, 0.0)
    dropped = weights
    if rate:
        dropped = (keras_dropout(weights, rate, generator) if generator is not None
                   else F.dropout(weights, rate, training=True))
    return torch.matmul(dropped, v), weights


class ProjectedAttention(Layer):
    """Base of the attention layers that project query, key and value per head (Keras 3's
    call signature and masks); subclasses build the projections and compute
    :meth:`attention`.

    A call on symbolic tensors ``layer(query, value, key)`` is recorded as
    ``layer([query, value, key])``: a model passes ``mask=`` for a node's first argument
    only, and so hands over the masks of all three.
    """

    supports_masking = True
    #: Whether ``activity_regularizer`` also penalizes the layer's outputs (Keras's
    #: ``GroupQueryAttention`` keeps it as its own, so its base layer applies it too).
    penalizes_outputs = False

    def init_common(self, dropout: Any, use_bias: Any, kernel_initializer: Any,
                    bias_initializer: Any, kernel_regularizer: Any, bias_regularizer: Any,
                    activity_regularizer: Any, kernel_constraint: Any, bias_constraint: Any,
                    use_gate: Any, sliding_window: Any, flash_attention: Any, seed: Any) -> None:
        """Check and keep the arguments both subclasses take (after ``Layer.__init__``)."""
        owner = type(self).__name__
        if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not (
                0 <= dropout < 1):
            raise ArgumentError(f"{owner}: dropout must be a number in [0, 1), "
                                f"received dropout={dropout!r}.")
        if sliding_window is not None:
            positive_int(sliding_window, "sliding_window", owner)
        if seed is not None and not is_int(seed):
            raise ArgumentError(f"{owner}: seed must be an int or None, received seed={seed!r}.")
        if flash_attention and dropout > 0:
            raise ArgumentError(
                f"{owner}: dropout is not supported when flash attention is enabled (as in "
                f"Keras), received flash_attention={flash_attention!r} and dropout={dropout!r}.")
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        self.use_gate = bool(use_gate)
        self.sliding_window = sliding_window
        self.flash_attention = flash_attention
        self.seed = seed
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        # Keras's: a penalty on each projection's output (not on the layer's outputs).
        self.projection_activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._generator = torch.Generator().manual_seed(seed) if seed is not None else None

    def common_config(self) -> dict[str, Any]:
        return {
            **initializers.serialize_arguments(self, kernel_initializer=self.kernel_initializer,
                                               bias_initializer=self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(
                self.projection_activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "seed": self.seed,
        }

    # ------------------------------------------------------------------ calling
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not args and kwargs:  # attention(query=q, value=v)
            args, kwargs = first_argument_from_keywords(self, kwargs)
        if args and holds_symbolic(args[0]) and (len(args) > 1 or "value" in kwargs):
            value = args[1] if len(args) > 1 else kwargs.pop("value")
            key = args[2] if len(args) > 2 else kwargs.pop("key", None)
            inputs = [args[0], value] if key is None else [args[0], value, key]
            return super().__call__(inputs, *args[3:], **kwargs)
        return super().__call__(*args, **kwargs)

    def forward(self, query: Any, value: Any = None, key: Any = None, **kwargs: Any) -> Any:
        if not self.built:
            q, v, k = split_inputs(type(self).__name__, query, value, key)
            self._build_for_inputs([q, to_tensor(v)] if k is None
                                   else [q, to_tensor(v), to_tensor(k)])
        return super().forward(query, value, key, **kwargs)

    def plan_callable(self) -> Any:
        """A model's direct call (no hooks in use): ``call`` with the layer's training mode,
        once built; ``call`` reads the masks the tensors carry itself."""
        if self.built and self.activity_regularizer is None and self._autocast is None:
            return self.planned_call
        return self.forward

    def planned_call(self, inputs: Any, **kwargs: Any) -> Any:
        """``call(inputs, training=<the layer's mode>, **kwargs)``: what :meth:`forward`
        does for a built layer called with tensors. ``[query, value]`` with no mask (none
        given, none carried, no sliding window) and nothing asked but ``use_causal_mask``
        goes straight to :meth:`attention`, as ``call`` would."""
        if (type(inputs) is list and len(inputs) == 2 and len(kwargs) <= 1
                and (not kwargs or "use_causal_mask" in kwargs)
                and self.sliding_window is None and self.projection_activity_regularizer is None):
            query, value = inputs
            if (getattr(query, "_keras_mask", None) is None
                    and getattr(value, "_keras_mask", None) is None):
                return self.attention(query, value, value, None,
                                      bool(kwargs.get("use_causal_mask", False)),
                                      self.training, False)[0]
        return self.call(inputs, training=self.training, **kwargs)

    def call(self, query: Any, value: Any = None, key: Any = None,
             query_mask: Tensor | None = None, value_mask: Tensor | None = None,
             key_mask: Tensor | None = None, attention_mask: Tensor | None = None,
             return_attention_scores: bool = False, training: bool | None = None,
             use_causal_mask: bool = False, mask: Any = None) -> Any:
        query, value, key = split_inputs(type(self).__name__, query, value, key)
        if return_attention_scores and self.flash_attention:
            raise ArgumentError(
                f"{type(self).__name__} '{self.name}': returning attention scores is not "
                "supported when flash attention is enabled (as in Keras), received "
                f"flash_attention={self.flash_attention!r} and return_attention_scores=True.")
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
        combined, causal_only = combined_mask(query, value, query_mask, value_mask, key_mask,
                                              attention_mask, use_causal_mask,
                                              self.sliding_window)
        output, scores, projections = self.attention(query, key, value, combined, causal_only,
                                                     bool(training), return_attention_scores)
        if self.projection_activity_regularizer is not None:
            if self.penalizes_outputs:
                projections = [*projections, output, *([scores] if scores is not None else [])]
            self.penalize(projections)
        return (output, scores) if return_attention_scores else output

    def attention(self, query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None,
                  causal_only: bool, training: bool, scores: bool
                  ) -> tuple[Tensor, Tensor | None, list[Tensor]]:
        """Project, attend and project back: ``(output, scores or None, the projections'
        outputs)``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ weights
    def add_projection(self, attribute: str, sublayer: str, kernel_shape: tuple[int, ...],
                       bias_shape: tuple[int, ...], input_axes: list[int],
                       output_axes: list[int]) -> None:
        """``{attribute}_kernel`` (and ``{attribute}_bias`` with ``use_bias``): Keras's
        ``EinsumDense`` sublayer ``sublayer``'s weights, named ``kernel``/``bias`` with the
        path ``<layer>/<sublayer>/kernel``, its fans and its constraints."""
        owner = f"{type(self).__name__} '{self.name}'"
        for shape in (kernel_shape, bias_shape):
            if any(d is None for d in shape):
                raise ShapeError(f"{owner}: the features axis of every input must be known to "
                                 f"create the weights, which would have shape {shape}.")
        kernel = self.add_weight(
            f"{attribute}_kernel", kernel_shape,
            initializer=keras_fans_initializer(self.kernel_initializer, input_axes, output_axes),
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        kernel.variable_name, kernel.path = "kernel", f"{self.name}/{sublayer}/kernel"
        setattr(self, f"{attribute}_kernel", kernel)
        if self.use_bias:
            bias = self.add_weight(f"{attribute}_bias", bias_shape,
                                   initializer=self.bias_initializer,
                                   regularizer=self.bias_regularizer,
                                   constraint=self.bias_constraint)
            bias.variable_name, bias.path = "bias", f"{self.name}/{sublayer}/bias"
            setattr(self, f"{attribute}_bias", bias)

    def project(self, inputs: Tensor, attribute: str) -> Tensor:
        """``(..., dim) -> (..., heads, size)``: Keras's ``EinsumDense`` projection as one
        matmul with the bias fused (``F.linear``)."""
        return linear_projection(inputs, getattr(self, f"{attribute}_kernel"),
                                 getattr(self, f"{attribute}_bias") if self.use_bias else None)

    def project_back(self, attended: Tensor) -> Tensor:
        """``(..., heads, size) -> (..., *output dims)`` through ``output_kernel``."""
        kernel = self.output_kernel
        merged = attended.flatten(-2)
        weight = kernel.reshape(merged.shape[-1], -1).t()
        output = F.linear(merged, weight, self.output_bias.reshape(-1) if self.use_bias
                          else None)
        return output if kernel.dim() == 3 else output.unflatten(-1, kernel.shape[2:])

    def penalize(self, tensors: list[Tensor]) -> None:
        """Keras's ``activity_regularizer``: each tensor's penalty over its batch size."""
        regularizer = self.projection_activity_regularizer
        self.add_loss([regularizer(t) / t.shape[0] if t.shape[0] else regularizer(t)
                       for t in tensors])

    # ------------------------------------------------------------------ shapes and masks
    @staticmethod
    def input_shapes(query_shape: Any, value_shape: Any, key_shape: Any
                     ) -> tuple[Shape, Shape, Shape]:
        """The three shapes from ``build``'s or ``compute_output_shape``'s arguments: a list
        ``[query, value(, key)]`` of shapes, or one shape (self-attention)."""
        if value_shape is None and len(query_shape) and not isinstance(
                query_shape[0], (int, type(None))):
            query_shape, value_shape, key_shape = (*query_shape, None)[:3]
        value_shape = query_shape if value_shape is None else value_shape
        return (tuple(query_shape), tuple(value_shape),
                tuple(value_shape if key_shape is None else key_shape))

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        # The outputs' structure depends on return_attention_scores: inferred by a run on
        # fake tensors rather than from compute_output_shape.
        return inference.output_spec(self, args, kwargs, False)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return mask[0] if isinstance(mask, (list, tuple)) else mask

    def scale_of(self, size: int) -> float:
        return 1.0 / math.sqrt(float(size))
