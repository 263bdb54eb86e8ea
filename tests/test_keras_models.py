"""Models as Keras 3 builds them (issue 15, item 6), each checked against Keras itself."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

import lamina
from lamina import layers

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

DATA = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")


def _np(value: torch.Tensor) -> np.ndarray:
    return value.detach().cpu().numpy()


def _copy_weights(keras_model: object, lamina_model: lamina.Model) -> None:
    lamina_model.set_weights([w.value.detach().cpu().numpy() for w in keras_model.weights])


def test_a_sequential_inside_a_sequential() -> None:
    k_model = keras.Sequential([keras.Input((3,)), keras.Sequential([keras.layers.Dense(4)]),
                                keras.layers.Dense(2)])
    l_model = lamina.Sequential([lamina.Input((3,)), lamina.Sequential([layers.Dense(4)]),
                                 layers.Dense(2)])
    _copy_weights(k_model, l_model)
    np.testing.assert_allclose(_np(l_model(torch.tensor(DATA))), _np(k_model(DATA)), rtol=1e-5)
    assert l_model.output_shape == tuple(k_model.output_shape)


@pytest.mark.parametrize("kind", ["tuple", "dict", "list"])
def test_output_structures_are_kept(kind: str) -> None:
    def build(module: object, make_input: object) -> object:
        x = make_input((3,))
        a, b = module.layers.Dense(2, name="a")(x), module.layers.Dense(1, name="b")(x)
        outputs = {"tuple": (a, b), "dict": {"first": a, "second": b}, "list": [a, b]}[kind]
        return module.Model(x, outputs)

    k_out = build(keras, keras.Input)(DATA)
    l_out = build(lamina, lamina.Input)(torch.tensor(DATA))
    assert type(l_out) is type(k_out)
    if kind == "dict":
        assert list(l_out) == list(k_out)


def _chain(module: object, make_input: object) -> object:
    x = make_input((3,), name="x")
    hidden = module.layers.Dense(4, name="hidden")(x)
    return module.Model(x, module.layers.Dense(2, name="head")(hidden))


def test_a_feature_extractor_from_an_intermediate_output() -> None:
    k_model, l_model = _chain(keras, keras.Input), _chain(lamina, lamina.Input)
    _copy_weights(k_model, l_model)
    k_features = keras.Model(k_model.input, k_model.get_layer("hidden").output)
    l_features = lamina.Model(l_model.input, l_model.get_layer("hidden").output)
    assert [layer.name for layer in l_features.layers] == ["x", "hidden"]
    np.testing.assert_allclose(_np(l_features(torch.tensor(DATA))), _np(k_features(DATA)),
                               rtol=1e-5)


def test_a_model_from_an_intermediate_input(tmp_path: Path) -> None:
    k_model, l_model = _chain(keras, keras.Input), _chain(lamina, lamina.Input)
    _copy_weights(k_model, l_model)
    k_head = keras.Model(k_model.get_layer("hidden").output, k_model.output)
    l_head = lamina.Model(l_model.get_layer("hidden").output, l_model.output)
    assert [type(layer).__name__ for layer in l_head.layers] == ["InputLayer", "Dense"]
    hidden = np.random.default_rng(1).normal(size=(4, 4)).astype("float32")
    expected = _np(k_head(hidden))
    np.testing.assert_allclose(_np(l_head(torch.tensor(hidden))), expected, rtol=1e-5)
    path = tmp_path / "head.lamina"
    l_head.save(path)
    loaded = lamina.load_model(path)
    np.testing.assert_allclose(_np(loaded(torch.tensor(hidden))), expected, rtol=1e-5)


def test_model_and_layer_inputs_and_outputs() -> None:
    k_model, l_model = _chain(keras, keras.Input), _chain(lamina, lamina.Input)
    assert l_model.input.shape == tuple(k_model.input.shape)
    assert l_model.output.shape == tuple(k_model.output.shape)
    assert [t.shape for t in l_model.inputs] == [tuple(t.shape) for t in k_model.inputs]
    assert [t.shape for t in l_model.outputs] == [tuple(t.shape) for t in k_model.outputs]
    for name in ("hidden", "head"):
        k_layer, l_layer = k_model.get_layer(name), l_model.get_layer(name)
        assert l_layer.input.shape == tuple(k_layer.input.shape)
        assert l_layer.output.shape == tuple(k_layer.output.shape)
    assert l_model.get_layer("head").input is l_model.get_layer("hidden").output
    assert [type(layer).__name__ for layer in l_model.layers] == [
        type(layer).__name__ for layer in k_model.layers]
    assert not hasattr(layers.Dense(2), "output")  # never called: Keras's AttributeError
    assert not hasattr(keras.layers.Dense(2), "output")


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64", "int32"])
def test_input_dtypes_are_honoured(dtype: str) -> None:
    assert str(lamina.Input((3,), dtype=dtype).dtype) == f"torch.{dtype}"
    assert keras.Input((3,), dtype=dtype).dtype == dtype


def test_a_mask_or_training_flag_by_position() -> None:
    data = np.ones((2, 3, 2), "float32")
    data[0, 2] = 5.0
    mask = np.array([[True, True, False], [True, False, False]])
    expected = _np(keras.layers.GlobalAveragePooling1D()(data, mask))
    got = _np(layers.GlobalAveragePooling1D()(torch.tensor(data), torch.tensor(mask)))
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    np.testing.assert_allclose(got[0], [1.0, 1.0])  # the masked 5.0 is left out
    dropped = layers.Dropout(0.5, seed=1)(torch.ones(1, 1000), True)  # training=True
    assert 0.3 < float((dropped == 0).float().mean()) < 0.7
    assert set(torch.unique(dropped).tolist()) <= {0.0, 2.0}
