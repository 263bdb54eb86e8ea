"""Every activation name lamina knows computes Keras 3's values and gradients."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from lamina import activations

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

NAMES = activations.names()
DATA = np.linspace(-3.5, 3.5, 48).reshape(4, 12).astype("float32")


@pytest.mark.parametrize("name", NAMES)
def test_values_and_gradients_match_keras(name: str) -> None:
    ours = torch.tensor(DATA, requires_grad=True)
    theirs = torch.tensor(DATA, requires_grad=True)
    out = activations.get(name)(ours)
    expected = keras.activations.get(name)(theirs)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().cpu().numpy(),
                               rtol=1e-6, atol=1e-6)
    weights = torch.linspace(0.5, 1.5, out.numel()).reshape(out.shape)
    (out * weights).sum().backward()
    (expected * weights).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_every_keras_activation_name_is_known() -> None:
    needs_arguments = {"threshold"}  # Keras's threshold(x, threshold, default_value)
    keras_names = {name for name in dir(keras.activations) if not name.startswith("_")
                   and name not in {"get", "serialize", "deserialize"}}
    assert keras_names - set(NAMES) - needs_arguments == set()
    assert activations.serialize(activations.get("gelu")) == "gelu"
