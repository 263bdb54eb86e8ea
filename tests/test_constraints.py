"""Weight constraints (issue 15, item 2): Keras's values, configs, and fit applying them."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import lamina
from lamina import constraints, layers
from lamina.errors import ArgumentError

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

WEIGHT = np.array([[3.0, 0.5, -1.0], [4.0, 0.5, 2.0]], "float32")

CASES = [
    ("MaxNorm", {"max_value": 1.0}), ("MaxNorm", {"max_value": 2.5, "axis": 1}),
    ("MaxNorm", {}), ("MinMaxNorm", {"min_value": 1.0, "max_value": 2.0, "rate": 0.5}),
    ("MinMaxNorm", {"min_value": 0.5, "max_value": 3.0, "axis": [0, 1]}),
    ("NonNeg", {}), ("UnitNorm", {}), ("UnitNorm", {"axis": 1}),
]


@pytest.mark.parametrize("name, config", CASES)
def test_values_and_configs_match_keras(name: str, config: dict) -> None:
    ours = getattr(constraints, name)(**config)
    theirs = getattr(keras.constraints, name)(**config)
    expected = np.asarray(theirs(WEIGHT).detach().cpu())
    np.testing.assert_allclose(ours(torch.tensor(WEIGHT)).numpy(), expected, rtol=1e-6)
    assert ours.get_config() == theirs.get_config()
    assert constraints.get(constraints.serialize(ours)) == ours
    assert type(ours).from_config(theirs.get_config()) == ours


def test_names_and_bad_values() -> None:
    for name in ("max_norm", "min_max_norm", "non_neg", "unit_norm"):
        assert type(constraints.get(name)).__name__ == type(keras.constraints.get(name)).__name__
    with pytest.raises(ValueError, match="max_value=-1"):
        constraints.MaxNorm(-1)
    with pytest.raises(ArgumentError, match="Unknown constraint"):
        constraints.get("positive")


class Scale(layers.Layer):
    """A layer with one constrained weight (the constraint goes through add_weight)."""

    def build(self, input_shape):  # type: ignore[no-untyped-def]
        self.w = self.add_weight("w", (input_shape[-1],), initializer="ones",
                                 constraint="non_neg")

    def call(self, inputs):  # type: ignore[no-untyped-def]
        return inputs * self.w


def test_fit_applies_the_constraint_after_each_step() -> None:
    x = lamina.Input((2,))
    model = lamina.Model(x, Scale(name="scale")(x))
    model.compile(optimizer=lamina.optimizers.SGD(learning_rate=1.0), loss="mse")
    data = np.array([[1.0, 1.0]], "float32")
    target = np.array([[-3.0, 0.5]], "float32")
    # One step: grad of mean((w*x - t)^2) over 2 outputs is (w - t) per entry, so
    # w -> 1 - 1.0 * (1 - t) = t, i.e. [-3, 0.5]; NonNeg then makes it [0, 0.5].
    model.fit(data, target, epochs=1, batch_size=1, verbose=0)
    weight = model.get_layer("scale").w
    assert weight.constraint == constraints.NonNeg()
    np.testing.assert_allclose(weight.numpy(), [0.0, 0.5], atol=1e-6)


def test_a_hand_written_loop_can_apply_them() -> None:
    layer = Scale()
    layer.build((None, 2))
    with torch.no_grad():
        layer.w.copy_(torch.tensor([-1.0, 2.0]))
    constraints.apply_constraints(constraints.constrained(layer.parameters()))
    assert layer.w.numpy().tolist() == [0.0, 2.0]
