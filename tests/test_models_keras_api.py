"""keras.models's functions on lamina.models: load/save_model, clone_model, to_json and
model_from_json (the JSON read as untrusted: safe functions, bounded work and memory)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.errors import CorruptArchiveError, LimitExceededError, LoadError

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")


def _model() -> lamina.Model:
    x = lamina.Input((3,), name="x")
    hidden = layers.Dense(4, activation="relu", name="hidden")(x)
    squared = layers.Lambda(lambda t: t ** 2, name="square")(hidden)
    return lamina.Model(x, layers.Dense(2, name="head")(squared), name="net")


def test_models_exports_keras_names() -> None:
    assert lamina.models.load_model is lamina.load_model
    assert lamina.models.save_model is lamina.save_model
    for name in ("clone_model", "load_model", "save_model", "model_from_json"):
        assert hasattr(keras.models, name) and hasattr(lamina.models, name)


@pytest.mark.parametrize("make", ["functional", "sequential"])
def test_clone_model_has_the_architecture_and_new_weights(make: str) -> None:
    original = _model() if make == "functional" else lamina.Sequential(
        [lamina.Input((3,)), layers.Dense(4, name="hidden"), layers.Dense(2, name="head")])
    clone = lamina.models.clone_model(original)
    assert [layer.name for layer in clone.layers] == [layer.name for layer in original.layers]
    assert clone.get_config() == original.get_config()
    assert all(a is not b for a, b in zip(clone.weights, original.weights))
    assert not torch.equal(clone.get_layer("hidden").kernel, original.get_layer("hidden").kernel)
    clone.set_weights(original.get_weights())
    data = torch.randn(5, 3)
    torch.testing.assert_close(clone(data), original(data))
    with pytest.raises(ValueError, match="clone_function"):
        lamina.models.clone_model(original, clone_function=lambda layer: layer)


def test_keras_clone_model_keeps_names_too() -> None:
    x = keras.Input((3,), name="x")
    model = keras.Model(x, keras.layers.Dense(2, name="head")(x))
    clone = keras.models.clone_model(model)
    assert [layer.name for layer in clone.layers] == ["x", "head"]


def test_to_json_and_back_rebuilds_the_model() -> None:
    model = _model()
    text = model.to_json()
    entry = json.loads(text)
    assert entry["class_name"] == "Functional" and "build_config" not in entry
    rebuilt = lamina.models.model_from_json(text)
    assert rebuilt.get_config() == model.get_config()
    rebuilt.set_weights(model.get_weights())
    data = torch.randn(4, 3)
    torch.testing.assert_close(rebuilt(data), model(data))
    assert json.loads(model.to_json(indent=2)) == entry  # kwargs go to json.dumps


def test_model_from_json_refuses_what_a_file_would_not_run() -> None:
    entry = json.loads(_model().to_json())
    square = next(e for e in entry["config"]["layers"] if e["name"] == "square")
    square["config"]["function"]["source"] = "lambda t: __import__('os').system('true')"
    with pytest.raises(LoadError, match="square"):
        lamina.models.model_from_json(json.dumps(entry))


def test_model_from_json_bounds_memory_nesting_and_text() -> None:
    entry = json.loads(_model().to_json())
    head = next(e for e in entry["config"]["layers"] if e["name"] == "head")
    head["config"]["units"] = 10 ** 12
    with pytest.raises(LoadError, match="1073741824 bytes of weights"):
        lamina.models.model_from_json(json.dumps(entry))
    with pytest.raises(LimitExceededError):
        lamina.models.model_from_json("[" * 10_000 + "]" * 10_000)
    with pytest.raises(CorruptArchiveError, match="not JSON"):
        lamina.models.model_from_json("{nope")
    with pytest.raises(CorruptArchiveError, match="a layer entry"):
        lamina.models.model_from_json("[1, 2]")


def test_weights_stay_fresh_after_a_refused_json() -> None:
    """A refused config leaves the weight budget as it was: the next model initialises."""
    with pytest.raises(LoadError):
        lamina.models.model_from_json('{"class_name": "Dense", "config": {"units": -1}}')
    dense = layers.Dense(3)
    dense.build((None, 2))
    assert np.abs(dense.kernel.numpy()).sum() > 0
