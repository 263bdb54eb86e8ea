"""Element-wise merges of masked inputs compute Keras 3's values and masks."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import lamina
from lamina import layers

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)
A, B = (RNG.normal(size=(2, 3, 4)).astype("float32") for _ in range(2))
MASK_A = np.array([[True, False, True], [False, False, True]])
MASK_B = np.array([[True, True, False], [False, False, True]])


def _carrying(value: np.ndarray, mask: np.ndarray | None, grad: bool = False) -> torch.Tensor:
    tensor = torch.tensor(value, requires_grad=grad)
    if mask is not None:
        tensor._keras_mask = torch.tensor(mask)
    return tensor


@pytest.mark.parametrize("name", ["Add", "Subtract", "Multiply", "Average", "Maximum",
                                  "Minimum", "Concatenate"])
@pytest.mark.parametrize("masks", ["both", "one", "none"])
def test_masked_merges_match_keras(name: str, masks: str) -> None:
    mask_b = {"both": MASK_B, "one": None, "none": None}[masks]
    mask_a = None if masks == "none" else MASK_A
    ours = [_carrying(A, mask_a, True), _carrying(B, mask_b, True)]
    theirs = [_carrying(A, mask_a, True), _carrying(B, mask_b, True)]
    out = getattr(layers, name)()(ours)
    expected = getattr(keras.layers, name)()(theirs)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-6)
    got_mask, want_mask = (getattr(t, "_keras_mask", None) for t in (out, expected))
    assert (got_mask is None) == (want_mask is None)
    if want_mask is not None:
        assert got_mask.tolist() == want_mask.bool().tolist()
    weights = torch.linspace(0.5, 1.5, out.numel()).reshape(out.shape)
    (out * weights).sum().backward()
    (expected * weights).sum().backward()
    for mine, keras_input in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.numpy(), keras_input.grad.numpy(), rtol=1e-6)


def test_a_masked_maximum_in_a_model_matches_keras() -> None:
    def build(module: object, make_input: object) -> object:
        tokens = make_input((3,), dtype="int64")
        embed = module.layers.Embedding(4, 2, mask_zero=True,
                                        embeddings_initializer="ones")(tokens)
        other = module.layers.Embedding(4, 2, mask_zero=True,
                                        embeddings_initializer="zeros")(tokens)
        return module.Model(tokens, module.layers.Maximum()([other, embed]))

    ids = np.array([[1, 0, 2], [0, 0, 3]])
    out = build(lamina, lamina.Input)(torch.tensor(ids))
    expected = build(keras, keras.Input)(ids)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy())
    assert out._keras_mask.tolist() == expected._keras_mask.tolist() == (ids != 0).tolist()
    # At fully masked steps Keras keeps the first input's value (0), not the maximum (1).
    assert out[1, 0].tolist() == [0.0, 0.0] and out[0, 0].tolist() == [1.0, 1.0]
