"""keras.optimizers.Lion against Keras 3's on the same model, data and initial weights."""

from __future__ import annotations

import os

import numpy as np
import pytest

import lamina
from lamina.errors import ArgumentError

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.mark.parametrize("arguments", [{}, {"learning_rate": 0.01, "beta_1": 0.5,
                                            "beta_2": 0.9},
                                       {"learning_rate": 0.01, "weight_decay": 0.1}])
def test_lion_trains_as_keras_does(arguments: dict) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = rng.normal(size=(32, 2)).astype("float32")
    kernel = rng.normal(size=(4, 2)).astype("float32")
    weights = []
    for lib in (lamina, keras):
        model = lib.Sequential([lib.Input(shape=(4,)), lib.layers.Dense(2)])
        model.set_weights([kernel, np.zeros(2, "float32")])
        model.compile(optimizer=lib.optimizers.Lion(**arguments), loss="mse")
        model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
        weights.append([np.asarray(w) for w in model.get_weights()])
    for ours, theirs in zip(*weights):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_lion_config_round_trips_and_refuses_bad_betas() -> None:
    lion = lamina.optimizers.Lion(learning_rate=0.02, beta_1=0.8)
    config = lion.get_config()
    theirs = keras.optimizers.Lion(learning_rate=0.02, beta_1=0.8).get_config()
    for key in ("beta_1", "beta_2", "learning_rate"):
        assert config[key] == pytest.approx(theirs[key])
    assert lamina.optimizers.get("lion").get_config()["beta_2"] == 0.99
    with pytest.raises(ArgumentError, match="beta_1"):
        lamina.optimizers.Lion(beta_1=0.0)
