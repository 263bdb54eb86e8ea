"""``ReversibleEmbedding``: an ``Embedding`` that also projects vectors back to logits over
the vocabulary (Keras 3's, as in language models that tie their input and output
embeddings)."""

from __future__ import annotations

import math
from typing import Any

import torch

from lamina.errors import ArgumentError, ArgumentTypeError
from lamina.layers.embedding import Embedding
from lamina.symbolic import SymbolicTensor
from lamina.utils.shapes import dtype_name, standardize_dtype

Shape = tuple[int | None, ...]


class ReversibleEmbedding(Embedding):
    """An ``Embedding`` that can be called in reverse: ``layer(hidden, reverse=True)``
    projects vectors of ``output_dim`` to ``input_dim`` logits, ``hidden @ embeddings.T``
    (weights tied, the default) or ``hidden @ reverse_embeddings`` (``tie_weights=False``:
    a separate trainable ``(output_dim, input_dim)`` weight). No bias.

    As in Keras, a forward call with ``mask_zero=True`` returns embeddings that carry the
    mask ``inputs != 0`` (``_keras_mask``), which mask-aware layers downstream use, while
    ``compute_mask`` (hence a symbolic call) gives ``None``; a reverse call gives no mask.

    Args:
        input_dim: Size of the vocabulary (indices are in ``[0, input_dim)``).
        output_dim: Size of each embedding vector.
        tie_weights: Whether the reverse projection uses ``embeddings`` transposed.
            Default: ``True``.
        embeddings_initializer: Also initialises ``reverse_embeddings``. Default:
            ``"uniform"``.
        embeddings_regularizer: Default: ``None``.
        embeddings_constraint: Default: ``None``.
        mask_zero: Whether index 0 is padding (see above). Default: ``False``.
        reverse_dtype: The dtype the reverse projection computes in (its inputs and
            weights are cast to it), e.g. ``"float32"`` for a half-precision model.
            Default: ``None`` (the layer's dtype).
        logit_soft_cap: If set, reverse logits become
            ``tanh(logits / logit_soft_cap) * logit_soft_cap``. Default: ``None``.

    Call arguments:
        inputs: Integer indices, or with ``reverse=True`` vectors ``(..., output_dim)``.
        reverse: Whether to project back to the vocabulary. Default: ``False``.

    Output shape:
        ``(*input_shape, output_dim)``, or with ``reverse=True``
        ``(*input_shape[:-1], input_dim)``.

    Example:
        >>> layer = ReversibleEmbedding(10, 4)
        >>> hidden = layer(torch.tensor([[1, 2, 3]]))
        >>> tuple(hidden.shape), tuple(layer(hidden, reverse=True).shape)
        ((1, 3, 4), (1, 3, 10))
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        tie_weights: bool = True,
        embeddings_initializer: Any = "uniform",
        embeddings_regularizer: Any = None,
        embeddings_constraint: Any = None,
        mask_zero: bool = False,
        reverse_dtype: Any = None,
        logit_soft_cap: float | None = None,
        **kwargs: Any,
    ) -> None:
        for arg, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ArgumentError(f"ReversibleEmbedding: {arg} must be a positive int, "
                                    f"received {arg}={value!r}.")
        if reverse_dtype is not None:
            try:
                reverse_dtype = dtype_name(standardize_dtype(reverse_dtype))
            except (TypeError, ValueError) as error:
                raise ArgumentError(
                    "ReversibleEmbedding: reverse_dtype must be a dtype name or None, "
                    f"received reverse_dtype={reverse_dtype!r}.") from error
        if logit_soft_cap is not None:
            if not isinstance(logit_soft_cap, (int, float)) or isinstance(logit_soft_cap, bool):
                raise ArgumentTypeError(f"ReversibleEmbedding: logit_soft_cap must be a number "
                                        f"or None, received logit_soft_cap={logit_soft_cap!r}.")
            if not math.isfinite(logit_soft_cap) or logit_soft_cap <= 0:
                raise ArgumentError(f"ReversibleEmbedding: logit_soft_cap must be positive, "
                                    f"received logit_soft_cap={logit_soft_cap!r}.")
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer,
                         embeddings_constraint=embeddings_constraint, mask_zero=mask_zero,
                         **kwargs)
        self.tie_weights = bool(tie_weights)
        self.reverse_dtype = reverse_dtype
        self.logit_soft_cap = logit_soft_cap

    def build(self, input_shape: Any = None) -> None:
        super().build(input_shape)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(
                "reverse_embeddings", (self.output_dim, self.input_dim),
                initializer=self.embeddings_initializer)

    def call(self, inputs: torch.Tensor, reverse: bool = False) -> torch.Tensor:
        if not reverse:
            outputs = super().call(inputs)
            if self.mask_zero:  # Keras's: carried by the output, not from compute_mask
                outputs._keras_mask = inputs != 0
            return outputs
        kernel = self.embeddings.T if self.tie_weights else self.reverse_embeddings
        if self.reverse_dtype is not None:
            dtype = standardize_dtype(self.reverse_dtype)
            inputs, kernel = inputs.to(dtype), kernel.to(dtype)
        elif inputs.dtype != kernel.dtype:  # Keras casts float inputs to the layer's dtype
            inputs = inputs.to(kernel.dtype)
        logits = torch.matmul(inputs, kernel)
        if self.logit_soft_cap is not None:
            logits = torch.tanh(logits / self.logit_soft_cap) * self.logit_soft_cap
        return logits

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def compute_output_shape(self, input_shape: Shape, reverse: bool = False) -> Shape:
        if reverse:
            return (*input_shape[:-1], self.input_dim)
        return (*input_shape, self.output_dim)

    def compute_output_spec(self, inputs: Any, reverse: bool = False,
                            **kwargs: Any) -> SymbolicTensor:
        dtype = self.dtype
        if reverse and self.reverse_dtype is not None:
            dtype = standardize_dtype(self.reverse_dtype)
        return SymbolicTensor(self.compute_output_shape(tuple(inputs.shape), reverse), dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "tie_weights": self.tie_weights,
                "reverse_dtype": self.reverse_dtype, "logit_soft_cap": self.logit_soft_cap}
