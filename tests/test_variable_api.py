"""Keras 3's variable API on every weight (issue 15, item 3), against Keras itself."""

from __future__ import annotations

import copy
import os
import pickle

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.errors import ShapeError

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")


def _pair(make_keras, make_lamina, shape):  # type: ignore[no-untyped-def]
    k_layer, l_layer = make_keras(), make_lamina()
    k_layer.build(shape)
    l_layer.build(shape)
    return k_layer, l_layer


@pytest.mark.parametrize("name, make_keras, make_lamina, shape", [
    ("dense", lambda: keras.layers.Dense(3, name="d"), lambda: layers.Dense(3, name="d"),
     (None, 2)),
    ("batch_norm", lambda: keras.layers.BatchNormalization(name="bn"),
     lambda: layers.BatchNormalization(name="bn"), (None, 4)),
    ("lstm", lambda: keras.layers.LSTM(2, name="rnn"), lambda: layers.LSTM(2, name="rnn"),
     (None, 5, 3)),
])
def test_variables_have_keras_names_paths_and_order(name, make_keras, make_lamina, shape):
    k_layer, l_layer = _pair(make_keras, make_lamina, shape)
    # Keras's `variables` also hold random-seed states (an LSTM's), which lamina's layers do
    # not keep as weights; its `weights` lists are what lamina's `variables` lists are.
    for attribute, keras_attribute in (("variables", "weights"),
                                       ("trainable_variables", "trainable_weights"),
                                       ("non_trainable_variables", "non_trainable_weights")):
        k_vars, l_vars = getattr(k_layer, keras_attribute), getattr(l_layer, attribute)
        assert [v.name for v in l_vars] == [v.name for v in k_vars], attribute
        assert [tuple(v.shape) for v in l_vars] == [tuple(v.shape) for v in k_vars]
        assert [v.trainable for v in l_vars] == [v.trainable for v in k_vars]
    # Keras's path is the layer's path and the variable's name ("d/kernel"); lamina's too
    # (a Keras LSTM's weights live in its cell, "rnn/lstm_cell/kernel"; lamina's LSTM has
    # no cell layer, so its paths are "rnn/kernel").
    if name != "lstm":
        assert [v.path for v in l_layer.variables] == [v.path for v in k_layer.weights]


def test_assign_and_friends_match_keras() -> None:
    k_layer, l_layer = _pair(lambda: keras.layers.Dense(2), lambda: layers.Dense(2), (None, 3))
    value = np.arange(6, dtype="float32").reshape(3, 2)
    for layer in (k_layer, l_layer):
        layer.kernel.assign(value)
        layer.kernel.assign_add(np.ones((3, 2), "float32"))
        layer.kernel.assign_sub(0.5 * np.ones((3, 2), "float32"))
    expected = value + 0.5
    np.testing.assert_allclose(l_layer.kernel.numpy(), expected)
    keras_kernel = k_layer.kernel.value.detach().cpu().numpy()
    np.testing.assert_allclose(np.asarray(l_layer.kernel), keras_kernel)
    # The assigned value is what the next call uses, in both.
    data = np.ones((1, 3), "float32")
    np.testing.assert_allclose(l_layer(torch.tensor(data)).detach().numpy(),
                               np.asarray(k_layer(data).detach().cpu()), rtol=1e-6)


def test_a_shape_mismatch_is_a_value_error_and_changes_nothing() -> None:
    layer = layers.Dense(2)
    layer.build((None, 3))
    before = layer.kernel.numpy()
    with pytest.raises(ValueError, match=r"shape \(3, 2\).*\(2, 2\)") as raised:
        layer.kernel.assign(np.zeros((2, 2)))
    assert isinstance(raised.value, ShapeError)
    np.testing.assert_array_equal(layer.kernel.numpy(), before)
    k_layer = keras.layers.Dense(2)
    k_layer.build((None, 3))
    with pytest.raises(ValueError):  # Keras raises the same built-in class
        k_layer.kernel.assign(np.zeros((2, 2)))


def test_trainable_follows_the_layer_and_can_be_set() -> None:
    layer = layers.Dense(2)
    layer.build((None, 3))
    assert layer.kernel.trainable
    layer.trainable = False
    assert not layer.kernel.trainable and layer.trainable_variables == []
    layer.trainable = True
    layer.bias.trainable = False
    assert [v.name for v in layer.trainable_variables] == ["kernel"]
    assert [v.name for v in layer.non_trainable_variables] == ["bias"]


def test_a_variable_is_still_a_parameter_for_torch() -> None:
    layer = layers.Dense(2)
    layer.build((None, 3))
    assert isinstance(layer.kernel, torch.nn.Parameter)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    before = layer.kernel.numpy()
    loss = layer(torch.ones(4, 3)).sum()
    loss.backward()
    optimizer.step()
    # d(sum(x @ W + b))/dW = sum over the batch of x: 4 for every entry.
    np.testing.assert_allclose(layer.kernel.numpy(), before - 0.1 * 4.0, rtol=1e-6)
    out = layer(torch.ones(1, 3))
    assert type(out) is torch.Tensor  # torch ops return plain tensors
    assert all(type(v) is torch.Tensor for v in layer.state_dict().values())
    layer.double()
    assert isinstance(layer.kernel, lamina.Variable) and layer.kernel.dtype == torch.float64


def test_copies_keep_the_api() -> None:
    layer = layers.Dense(2, name="dense_copy")
    layer.build((None, 3))
    for other in (copy.deepcopy(layer), pickle.loads(pickle.dumps(layer))):
        assert isinstance(other.kernel, lamina.Variable)
        assert other.kernel.path == "dense_copy/kernel"
        np.testing.assert_array_equal(other.kernel.numpy(), layer.kernel.numpy())
        other.kernel.assign(np.zeros((3, 2)))
        assert layer.kernel.numpy().any()  # a copy, not the same storage


def test_a_user_variable_has_the_api_too() -> None:
    scale = lamina.Variable(2.0, name="scale")
    assert (scale.name, scale.path, scale.trainable) == ("scale", "scale", True)
    scale.assign(3.0)
    assert scale.numpy() == 3.0 and scale.value.detach().item() == 3.0
    frozen = lamina.Variable([1.0, 2.0], trainable=False)
    assert not frozen.trainable and frozen.numpy().tolist() == [1.0, 2.0]
