"""Eager outputs carry ``_keras_mask`` where Keras 3 sets it (issue 15, item 4)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from lamina import layers

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

SEQUENCES = np.array([[[1.0, 2.0], [0.0, 0.0], [3.0, 4.0]],
                      [[0.0, 0.0], [5.0, 6.0], [0.0, 0.0]]], "float32")


def _mask_of(value: Any) -> Any:
    mask = getattr(value, "_keras_mask", None)
    return None if mask is None else np.asarray(mask.detach().cpu())


def _masked(module: Any, data: np.ndarray) -> Any:
    """``Masking()`` applied by ``module`` (keras.layers or lamina.layers) to ``data``."""
    tensor = data if module is keras.layers else torch.tensor(data)
    return module.Masking()(tensor)


CHAINS: list[tuple[str, Callable[[Any], Any]]] = [
    ("masking", lambda m: lambda x: x),
    ("dense", lambda m: lambda x: m.Dense(3)(x)),
    ("dropout", lambda m: lambda x: m.Dropout(0.5)(x)),
    ("activation", lambda m: lambda x: m.Activation("relu")(x)),
    ("add", lambda m: lambda x: m.Add()([x, x])),
    ("concatenate", lambda m: lambda x: m.Concatenate()([x, x])),
    ("lstm_sequences", lambda m: lambda x: m.LSTM(2, return_sequences=True)(x)),
    ("lstm_last", lambda m: lambda x: m.LSTM(2)(x)),
    ("global_average", lambda m: lambda x: m.GlobalAveragePooling1D()(x)),
    ("layer_norm", lambda m: lambda x: m.LayerNormalization()(x)),
]


@pytest.mark.parametrize("name, chain", CHAINS, ids=[name for name, _ in CHAINS])
def test_eager_output_masks_match_keras(name: str, chain: Callable[[Any], Any]) -> None:
    keras_out = chain(keras.layers)(_masked(keras.layers, SEQUENCES))
    lamina_out = chain(layers)(_masked(layers, SEQUENCES))
    expected, got = _mask_of(keras_out), _mask_of(lamina_out)
    assert (got is None) == (expected is None), (got, expected)
    if expected is not None:
        np.testing.assert_array_equal(got, expected)


def test_embedding_with_mask_zero_sets_the_mask_eagerly() -> None:
    ids = np.array([[1, 0, 2], [0, 3, 0]])
    keras_out = keras.layers.Embedding(5, 2, mask_zero=True)(ids)
    lamina_out = layers.Embedding(5, 2, mask_zero=True)(torch.tensor(ids))
    np.testing.assert_array_equal(_mask_of(lamina_out), _mask_of(keras_out))
    np.testing.assert_array_equal(_mask_of(lamina_out), ids != 0)


def test_a_layer_taking_the_mask_uses_the_carried_one_and_consumes_it() -> None:
    data = torch.tensor(SEQUENCES)
    assert _mask_of(layers.Activation("relu")(data)) is None  # no mask: none is attached
    masked = layers.Masking()(data)
    pooled = layers.GlobalAveragePooling1D()(masked)
    kept = (SEQUENCES != 0).any(-1, keepdims=True)
    expected = (SEQUENCES * kept).sum(1) / kept.sum(1)
    np.testing.assert_allclose(pooled.numpy(), expected, rtol=1e-6)
    assert _mask_of(pooled) is None  # Keras: pooling over time consumes the mask
