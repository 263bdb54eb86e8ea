"""Layers held in a layer's lists and dicts are tracked as Keras tracks them: their weights
are the owner's (counted, trained, saved), against Keras 3 on the same structure."""

from __future__ import annotations

import copy
import os

import numpy as np
import pytest
import torch

import lamina

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def stack_class(lib: object) -> type:
    class Stack(lib.layers.Layer):  # type: ignore[name-defined, misc]
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.blocks = []
            for _ in range(2):
                self.blocks.append(lib.layers.Dense(3))
            self.by_name = {"last": lib.layers.Dense(3)}
            self.sizes = [3, 3]  # not layers: stays an ordinary list

        def call(self, x):
            for block in self.blocks + [self.by_name["last"]]:
                x = block(x)
            return x

    return Stack


def test_layers_in_lists_and_dicts_are_tracked_like_keras() -> None:
    x = np.ones((2, 3), "float32")
    ours, theirs = stack_class(lamina)(), stack_class(keras)()
    ours(x)
    theirs(x)
    assert len(ours.weights) == len(theirs.weights) == 6
    assert len(ours.trainable_weights) == len(theirs.trainable_weights) == 6
    assert ours.sizes == [3, 3] and isinstance(ours.blocks, list)
    assert isinstance(ours.by_name, dict)
    duplicate = copy.deepcopy(ours)
    assert duplicate.blocks[0] is not ours.blocks[0]
    assert len(duplicate.weights) == 6
    ours.blocks = [lamina.layers.Dense(2)]  # replacing the list replaces what is tracked
    assert len([name for name, _ in ours.named_modules() if name.startswith("blocks.")]) == 1


def test_a_subclassed_model_trains_saves_and_lists_layers_in_its_lists(tmp_path) -> None:
    class Blocks(lamina.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.blocks = [lamina.layers.Dense(4, activation="relu"), lamina.layers.Dense(4)]
            self.head = lamina.layers.Dense(1)

        def call(self, x):
            for block in self.blocks:
                x = block(x)
            return self.head(x)

    model = Blocks()
    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model(x)
    assert [type(layer).__name__ for layer in model.layers] == ["Dense"] * 3
    assert len(model.trainable_weights) == 6
    before = model.blocks[0].kernel.detach().clone()
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=2, verbose=0)
    assert not torch.equal(before, model.blocks[0].kernel)  # the listed layers train
    path = os.path.join(str(tmp_path), "blocks.lamina")
    model.save(path)
    loaded = lamina.load_model(path, custom_objects={"Blocks": Blocks})
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
