"""Layers that start a masked sequence: ``Embedding`` and ``Masking``."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lamina import constraints, initializers, regularizers
from lamina.errors import ArgumentError
from lamina.layers import arguments
from lamina.layers.layer import Layer


class Embedding(Layer):
    """Turns integer indices into dense vectors: row ``i`` of ``embeddings`` for index ``i``.

    Args:
        input_dim: Size of the vocabulary (indices are in ``[0, input_dim)``).
        output_dim: Size of each embedding vector.
        embeddings_initializer: Default: ``"uniform"`` (Keras's name for
            ``random_uniform``, values in ``[-0.05, 0.05]``).
        embeddings_regularizer: A penalty on the embeddings. Default: ``None``.
        embeddings_constraint: A constraint on the embeddings, applied after each optimizer
            step of ``fit``. Default: ``None``.
        weights: An initial ``(input_dim, output_dim)`` matrix (Keras's). Default: ``None``.
        lora_rank, lora_alpha, quantization_config: Keras's LoRA and quantization
            arguments: only their off values (``None``) are accepted.
        mask_zero: Whether index 0 is padding: the output mask is ``inputs != 0``, so
            mask-aware layers downstream skip those steps. Default: ``False``.

    Input shape:
        ``(batch, ...)`` of any integer dtype (floats are truncated, as in Keras).

    Output shape:
        ``(batch, ..., output_dim)``.

    Example:
        >>> layer = Embedding(10, 3, mask_zero=True)
        >>> tokens = torch.tensor([[4, 2, 0]])
        >>> tuple(layer(tokens).shape), layer.compute_mask(tokens).tolist()
        ((1, 3, 3), [[True, True, False]])
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer: Any = "uniform",
        embeddings_regularizer: Any = None,
        embeddings_constraint: Any = None,
        mask_zero: bool = False,
        weights: Any = None,
        lora_rank: int | None = None,
        lora_alpha: float | None = None,
        quantization_config: Any = None,
        **kwargs: Any,
    ) -> None:
        arguments.refuse_unless_off("Embedding", lora_rank=lora_rank, lora_alpha=lora_alpha,
                                    quantization_config=quantization_config)
        for arg, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ArgumentError(
                    f"Embedding: {arg} must be a positive int, received {arg}={value!r}."
                )
        super().__init__(**kwargs)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self._initial_weights = None if weights is None else np.asarray(weights)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)
        if self._initial_weights is not None:
            self.embeddings.assign(self._initial_weights)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        indices = inputs if inputs.dtype == torch.long else inputs.long()
        try:
            return F.embedding(indices, self.weight_value("embeddings"))
        except IndexError as error:
            # torch's "index out of range in self" names neither the layer nor the range.
            raise IndexError(
                f"Embedding '{self.name}': indices must be in [0, {self.input_dim}), received "
                f"values from {int(indices.min())} to {int(indices.max())}. Raise input_dim "
                "or remap the indices."
            ) from error

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return (*input_shape, self.output_dim)

    def compute_mask(self, inputs: torch.Tensor, mask: Any = None) -> torch.Tensor | None:
        if not self.mask_zero:
            return None
        return inputs != 0

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            **initializers.serialize_arguments(
                self, embeddings_initializer=self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
        }

    def extra_repr(self) -> str:
        return (f"name={self.name!r}, input_dim={self.input_dim}, output_dim={self.output_dim}, "
                f"mask_zero={self.mask_zero}")


class Masking(Layer):
    """Masks time steps whose features all equal ``mask_value``, and zeroes them.

    A step is kept when any feature differs from ``mask_value`` (Keras's rule):
    ``keep = any(inputs != mask_value, axis=-1)``; the output is ``inputs * keep`` and the
    output mask is ``keep``, so mask-aware layers downstream skip the other steps.

    Args:
        mask_value: The padding value. Default: ``0.0``.

    Input shape:
        ``(batch, steps, features)`` (any rank; the last axis is the features).

    Output shape:
        Same as the input.

    Example:
        >>> x = torch.tensor([[[1.0, 0.0], [0.0, 0.0], [0.0, 2.0]]])
        >>> Masking().compute_mask(x).tolist()
        [[True, False, True]]
    """

    supports_masking = True

    def __init__(self, mask_value: float = 0.0, **kwargs: Any) -> None:
        if not isinstance(mask_value, (int, float)) or isinstance(mask_value, bool):
            raise ArgumentError(f"Masking: mask_value must be a number, received "
                                f"mask_value={mask_value!r}.")
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)
        self._build_at_init()

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        keep = torch.any(inputs != self.mask_value, dim=-1, keepdim=True)
        return inputs * keep.to(inputs.dtype)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def compute_mask(self, inputs: torch.Tensor, mask: Any = None) -> torch.Tensor:
        return torch.any(inputs != self.mask_value, dim=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mask_value": self.mask_value}
