"""The Keras ``Lambda`` reference page's examples, run as written, values checked."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import backend as K
from lamina import layers


def antirectifier(x):
    x -= K.mean(x, axis=1, keepdims=True)
    x = K.l2_normalize(x, axis=1)
    pos = K.relu(x)
    neg = K.relu(-x)
    return K.concatenate([pos, neg], axis=1)


def antirectifier_reference(x: np.ndarray) -> np.ndarray:
    """The Keras formula in numpy: centre, l2-normalise, split into ReLU(x) and ReLU(-x)."""
    centred = x - x.mean(axis=1, keepdims=True)
    norm = np.sqrt(np.maximum((centred ** 2).sum(axis=1, keepdims=True), 1e-12))
    unit = centred / norm
    return np.concatenate([np.maximum(unit, 0), np.maximum(-unit, 0)], axis=1)


def dense_reference(layer: layers.Dense, x: np.ndarray) -> np.ndarray:
    kernel = layer.kernel.detach().numpy()
    bias = layer.bias.detach().numpy()
    return x @ kernel + bias


def test_square_lambda_in_sequential_matches_formula() -> None:
    model = lamina.Sequential()
    model.add(layers.Dense(5, input_shape=(3,)))
    model.add(layers.Lambda(lambda x: x ** 2))
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    expected = dense_reference(model.layers[0], x) ** 2
    np.testing.assert_allclose(model(x).detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    assert model.output_shape == (None, 5)


def test_antirectifier_in_sequential_matches_keras_formula_and_keeps_input() -> None:
    model = lamina.Sequential()
    model.add(layers.Dense(8, input_shape=(6,)))
    model.add(layers.Lambda(lambda x: x ** 2))
    model.add(layers.Lambda(antirectifier))
    assert model.output_shape == (None, 16)
    x = np.random.default_rng(1).normal(size=(5, 6)).astype(np.float32)
    before = x.copy()
    out = model(x).detach().numpy()
    expected = antirectifier_reference(dense_reference(model.layers[0], x) ** 2)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(x, before)


def test_antirectifier_eagerly_leaves_callers_tensor_untouched() -> None:
    layer = layers.Lambda(antirectifier)
    x = torch.randn(3, 4)
    before = x.clone()
    out = layer(x)
    torch.testing.assert_close(x, before)
    np.testing.assert_allclose(out.numpy(), antirectifier_reference(before.numpy()), rtol=1e-5,
                               atol=1e-6)


def test_antirectifier_in_functional_model_other_branch_sees_original_values() -> None:
    inputs = lamina.Input(shape=(6,))
    hidden = layers.Dense(6)(inputs)
    rectified = layers.Lambda(antirectifier)(hidden)
    passthrough = layers.Lambda(lambda h: h * 1.0)(hidden)
    model = lamina.Model(inputs, [rectified, passthrough])
    x = torch.randn(4, 6)
    out, side = model(x)
    dense_out = dense_reference(model.get_layer(hidden.node.layer.name), x.numpy())
    np.testing.assert_allclose(side.detach().numpy(), dense_out, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.detach().numpy(), antirectifier_reference(dense_out),
                               rtol=1e-5, atol=1e-6)


def test_antirectifier_gradient_matches_plain_torch() -> None:
    layer = layers.Lambda(antirectifier)
    x = torch.randn(3, 5, requires_grad=True)
    (layer(x) * torch.arange(10.0)).sum().backward()
    lamina_grad = x.grad.clone()
    y = x.detach().clone().requires_grad_(True)
    centred = y - y.mean(dim=1, keepdim=True)
    unit = centred / centred.pow(2).sum(1, keepdim=True).clamp_min(1e-12).sqrt()
    plain = torch.cat([torch.relu(unit), torch.relu(-unit)], dim=1)
    (plain * torch.arange(10.0)).sum().backward()
    torch.testing.assert_close(lamina_grad, y.grad)


def test_captured_variable_is_tracked_as_the_docs_warn_it_is_not_in_keras() -> None:
    scale = lamina.Variable(1.0)
    scale_layer = layers.Lambda(lambda x: x * scale)
    assert scale_layer.trainable_weights == [scale]
    model = lamina.Sequential([layers.Identity(input_shape=(1,)), scale_layer])
    assert any(w is scale for w in model.trainable_weights)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.linspace(-1, 1, 32).reshape(-1, 1)
    for _ in range(200):
        loss = ((model(x) - 2 * x) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert scale.item() == pytest.approx(2.0, abs=1e-3)


class ScaleLayer(layers.Layer):
    def __init__(self):
        super().__init__()
        self.scale = lamina.Variable(1.)

    def call(self, inputs):
        return inputs * self.scale


def test_scale_layer_subclass_from_the_docs_trains() -> None:
    layer = ScaleLayer()
    assert layer.trainable_weights == [layer.scale]
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.2)
    x = torch.linspace(-1, 1, 16).reshape(-1, 1)
    for _ in range(100):
        loss = ((layer(x) - 3 * x) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert layer.scale.item() == pytest.approx(3.0, abs=1e-3)
