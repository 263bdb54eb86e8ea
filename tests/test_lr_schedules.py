"""Learning-rate schedules: Keras's values and configs, and fit stepping them."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import lamina
from lamina import layers, optimizers

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

CASES = [
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.6}),
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.6,
                          "staircase": True}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.2, "decay_steps": 5, "decay_rate": 0.5}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.2, "decay_steps": 5, "decay_rate": 0.5,
                          "staircase": True}),
    ("PiecewiseConstantDecay", {"boundaries": [5, 20], "values": [0.1, 0.05, 0.01]}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 20, "power": 2.0}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 8, "cycle": True}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 30, "alpha": 0.1}),
    ("CosineDecay", {"initial_learning_rate": 0.0, "decay_steps": 30, "warmup_target": 0.1,
                     "warmup_steps": 10}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 7}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 5,
                             "t_mul": 1.0, "m_mul": 0.5, "alpha": 0.1}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.2, "first_decay_steps": 4,
                             "t_mul": 1.5, "m_mul": 0.8}),
]


@pytest.mark.parametrize("name, config", CASES, ids=[f"{c[0]}{i}" for i, c in enumerate(CASES)])
def test_values_and_configs_match_keras(name: str, config: dict) -> None:
    ours = getattr(optimizers.schedules, name)(**config)
    theirs = getattr(keras.optimizers.schedules, name)(**config)
    for step in range(0, 60, 3):
        expected = float(np.asarray(theirs(step)))
        np.testing.assert_allclose(ours(step), expected, rtol=1e-5, atol=1e-9)
    assert ours.get_config() == theirs.get_config()
    assert type(ours).from_config(theirs.get_config()).get_config() == ours.get_config()


def test_fit_steps_the_schedule_as_keras_does() -> None:
    """SGD on mse of a 1-weight linear model: w <- w - lr(step) * 2 * (w * x - y) * x,
    with lr(step) = 0.1 * 0.5 ** (step / 2), the rate of the steps taken before each."""
    schedule = optimizers.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    x = lamina.Input((1,))
    dense = layers.Dense(1, use_bias=False, kernel_initializer="zeros", name="w")
    model = lamina.Model(x, dense(x))
    model.compile(optimizer=optimizers.SGD(learning_rate=schedule), loss="mse")
    data, target = np.ones((4, 1), "float32"), np.full((4, 1), 2.0, "float32")
    model.fit(data, target, epochs=1, batch_size=1, verbose=0, shuffle=False)
    weight = 0.0
    for step in range(4):
        weight -= schedule(step) * 2 * (weight - 2.0)
    np.testing.assert_allclose(float(dense.kernel.detach()[0, 0]), weight, rtol=1e-6)


def test_optimizer_configs_carry_the_schedule() -> None:
    schedule = optimizers.schedules.CosineDecay(0.1, decay_steps=10)
    adam = optimizers.Adam(learning_rate=schedule)
    assert adam.learning_rate == pytest.approx(0.1)
    config = adam.get_config()
    assert config["learning_rate"]["class_name"] == "CosineDecay"
    rebuilt = optimizers.Adam(**{k: v for k, v in config.items() if k == "learning_rate"})
    assert rebuilt.schedule.get_config() == schedule.get_config()
    with pytest.raises(ValueError, match="learning-rate schedule"):
        optimizers.Adam(learning_rate={"class_name": "Nope", "config": {}})
    assert torch.optim.Adam in type(adam.build([torch.nn.Parameter(torch.ones(1))])).__mro__


def test_serialize_and_deserialize_like_keras() -> None:
    schedule = optimizers.schedules.CosineDecayRestarts(0.1, 10)
    entry = optimizers.schedules.serialize(schedule)
    theirs = keras.optimizers.schedules.serialize(
        keras.optimizers.schedules.CosineDecayRestarts(0.1, 10))
    assert entry["class_name"] == theirs["class_name"] and entry["config"] == theirs["config"]
    assert optimizers.schedules.deserialize(theirs).get_config() == schedule.get_config()
    with pytest.raises(ValueError, match="not a learning-rate schedule"):
        optimizers.schedules.deserialize({"class_name": "print", "config": {}})
