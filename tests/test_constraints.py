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


# ---------------------------------------------------------------------- layer arguments
#: (lamina class name, constructor arguments, the constraint arguments Keras documents)
LAYER_CONSTRAINTS = [
    ("Dense", {"units": 2}, ("kernel_constraint", "bias_constraint")),
    ("Conv2D", {"filters": 2, "kernel_size": 2}, ("kernel_constraint", "bias_constraint")),
    ("Conv1DTranspose", {"filters": 2, "kernel_size": 2},
     ("kernel_constraint", "bias_constraint")),
    ("DepthwiseConv2D", {"kernel_size": 2}, ("depthwise_constraint", "bias_constraint")),
    ("SeparableConv1D", {"filters": 2, "kernel_size": 2},
     ("depthwise_constraint", "pointwise_constraint", "bias_constraint")),
    ("Embedding", {"input_dim": 5, "output_dim": 2}, ("embeddings_constraint",)),
    ("GroupNormalization", {"groups": 1}, ("beta_constraint", "gamma_constraint")),
    ("PReLU", {}, ("alpha_constraint",)),
]


@pytest.mark.parametrize("name, arguments, keys", LAYER_CONSTRAINTS,
                         ids=[case[0] for case in LAYER_CONSTRAINTS])
def test_layers_take_keras_constraint_arguments(name: str, arguments: dict, keys: tuple) -> None:
    given = {key: "non_neg" for key in keys}
    ours = getattr(layers, name)(**arguments, **given)
    theirs = getattr(keras.layers, name)(**arguments, **given)
    our_config, their_config = ours.get_config(), theirs.get_config()
    for key in keys:
        assert our_config[key]["class_name"] == their_config[key]["class_name"] == "NonNeg"
        assert our_config[key]["config"] == their_config[key]["config"]
    # Keras's own config (dtype policy, constraint and initializer entries) rebuilds it.
    rebuilt = getattr(layers, name).from_config(
        {k: v for k, v in their_config.items() if k != "quantization_config"})
    assert rebuilt.get_config() == our_config | {"name": rebuilt.name}
    assert all(getattr(rebuilt, key) == constraints.NonNeg() for key in keys)


@pytest.mark.parametrize("name", ["BatchNormalization", "LayerNormalization"])
def test_normalization_layers_keep_their_constraints(name: str) -> None:
    layer = getattr(layers, name)(beta_constraint="non_neg", gamma_constraint="max_norm")
    layer.build((None, 3))
    assert layer.beta.constraint == constraints.NonNeg()
    assert layer.gamma.constraint == constraints.MaxNorm()
    config = layer.get_config()
    assert config["gamma_constraint"] == {"class_name": "MaxNorm",
                                          "config": {"max_value": 2.0, "axis": 0}}
    assert getattr(layers, name).from_config(config).beta_constraint == constraints.NonNeg()


def test_fit_applies_a_dense_kernel_constraint() -> None:
    x = lamina.Input((2,))
    dense = layers.Dense(1, use_bias=False, kernel_initializer="ones",
                         kernel_constraint=constraints.NonNeg(), name="dense")
    model = lamina.Model(x, dense(x))
    model.compile(optimizer=lamina.optimizers.SGD(learning_rate=1.0), loss="mse")
    # Output 2 for target -6: d(mse)/dw = 2 * (2 + 6) * x = 16 per weight; w = 1 - 16 < 0.
    model.fit(np.ones((1, 2), "float32"), np.array([[-6.0]], "float32"), epochs=1, verbose=0)
    np.testing.assert_array_equal(dense.kernel.numpy(), np.zeros((2, 1), "float32"))


def test_activity_regularizer_matches_keras() -> None:
    data = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    theirs = keras.layers.Dense(2, activity_regularizer="l2")
    ours = layers.Dense(2, activity_regularizer="l2")
    theirs.build((None, 3))
    ours.build((None, 3))
    ours.set_weights([w.value.detach().cpu().numpy() for w in theirs.weights])
    theirs(data)
    out = ours(torch.tensor(data))
    expected = float(theirs.losses[0].detach())
    assert len(ours.losses) == 1
    np.testing.assert_allclose(float(ours.losses[0].detach()), expected, rtol=1e-5)
    np.testing.assert_allclose(expected, 0.01 * float((out.detach() ** 2).sum()) / 4, rtol=1e-5)
    assert ours.get_config()["activity_regularizer"] == {"class_name": "L2",
                                                         "config": {"l2": 0.01}}
