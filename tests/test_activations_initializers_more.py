"""Keras 3's activation functions (with their arguments), initializer aliases,
OrthogonalRegularizer and the deserialize functions, against Keras on the same inputs."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from lamina import activations, constraints, initializers, regularizers  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

X = np.linspace(-7.0, 7.0, 57, dtype="float32").reshape(3, 19)

ACTIVATIONS = [
    ("relu", {}), ("relu", {"negative_slope": 0.1}), ("relu", {"max_value": 6.0}),
    ("relu", {"max_value": 2.5, "threshold": 0.5}),
    ("relu", {"negative_slope": 0.3, "max_value": 4.0, "threshold": 1.0}),
    ("relu", {"negative_slope": 0.2, "threshold": -1.0}),
    ("elu", {}), ("elu", {"alpha": 0.5}), ("selu", {}), ("celu", {"alpha": 2.0}),
    ("sigmoid", {}), ("tanh", {}), ("softplus", {}), ("softsign", {}), ("silu", {}),
    ("swish", {}), ("mish", {}), ("relu6", {}), ("gelu", {}), ("gelu", {"approximate": True}),
    ("softmax", {}), ("softmax", {"axis": 0}), ("log_softmax", {"axis": 0}),
    ("hard_sigmoid", {}), ("hard_silu", {}), ("hard_swish", {}), ("hard_tanh", {}),
    ("hard_shrink", {}), ("hard_shrink", {"threshold": 2.0}), ("soft_shrink", {}),
    ("soft_shrink", {"threshold": 1.5}), ("tanh_shrink", {}), ("log_sigmoid", {}),
    ("threshold", {"threshold": 0.5, "default_value": -3.0}), ("leaky_relu", {}),
    ("leaky_relu", {"negative_slope": 0.05}), ("glu", {"axis": 0}), ("squareplus", {"b": 2}),
    ("sparsemax", {"axis": 0}), ("sparse_plus", {}), ("sparse_sigmoid", {}),
    ("exponential", {}), ("linear", {}),
]


@pytest.mark.parametrize(("name", "kwargs"), ACTIVATIONS,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(ACTIVATIONS)])
def test_activation_matches_keras(name: str, kwargs: dict) -> None:
    x = X[:2] if name == "glu" else X
    ours = getattr(activations, name)(torch.from_numpy(x), **kwargs)
    theirs = getattr(keras.activations, name)(keras.ops.convert_to_tensor(x), **kwargs)
    np.testing.assert_allclose(ours.numpy(), keras.ops.convert_to_numpy(theirs),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted({n for n, _ in ACTIVATIONS}))
def test_activation_serialize_round_trips_like_keras(name: str) -> None:
    function = getattr(activations, name)
    assert activations.serialize(function) == keras.activations.serialize(
        getattr(keras.activations, name))
    assert activations.deserialize(activations.serialize(function)) is getattr(
        activations, activations.serialize(function))
    assert activations.deserialize(name).__name__ == getattr(activations, name).__name__


def test_get_keeps_the_torch_builtins_on_the_hot_path() -> None:
    assert activations.get("relu") is torch.relu
    assert activations.get("sigmoid") is torch.sigmoid
    assert activations.get("tanh") is torch.tanh
    assert activations.serialize(torch.relu) == "relu"


ALIASES = ["constant", "zeros", "ones", "identity", "orthogonal", "random_normal",
           "random_uniform", "truncated_normal", "variance_scaling", "glorot_uniform",
           "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
           "IdentityInitializer", "OrthogonalInitializer"]


@pytest.mark.parametrize("name", ALIASES)
def test_initializer_aliases_are_the_classes_like_keras(name: str) -> None:
    ours, theirs = getattr(initializers, name), getattr(keras.initializers, name)
    assert isinstance(ours, type) and isinstance(theirs, type)
    assert ours.__name__ == theirs.__name__ or name.endswith("Initializer")
    theirs_config = theirs().get_config()
    # Keras's identity initializer drops its gain from the config; lamina keeps it.
    assert {k: v for k, v in ours().get_config().items() if k in theirs_config
            or name not in ("identity", "IdentityInitializer")} == theirs_config


@pytest.mark.parametrize(("weights", "mode"), [
    (np.array([[1.0, 0.0], [1.0, 1.0], [0.5, -2.0]], "float32"), "rows"),
    (np.array([[1.0, 0.0, 3.0], [1.0, 1.0, -1.0]], "float32"), "columns"),
])
def test_orthogonal_regularizer_matches_keras(weights: np.ndarray, mode: str) -> None:
    ours = regularizers.OrthogonalRegularizer(0.3, mode=mode)
    theirs = keras.regularizers.OrthogonalRegularizer(0.3, mode=mode)
    np.testing.assert_allclose(float(ours(torch.from_numpy(weights))),
                               # (Keras normalises numpy input over the wrong axis)
                               float(theirs(keras.ops.convert_to_tensor(weights))), rtol=1e-5)
    assert ours.get_config() == pytest.approx(theirs.get_config())
    assert regularizers.orthogonal_regularizer is regularizers.OrthogonalRegularizer
    rebuilt = regularizers.deserialize(regularizers.serialize(ours))
    assert rebuilt.get_config() == ours.get_config()
    with pytest.raises(ValueError, match="mode"):
        regularizers.OrthogonalRegularizer(mode="diagonal")
    with pytest.raises(ValueError, match="rank 2"):
        ours(torch.ones(2, 2, 2))


def test_deserialize_regularizers_and_constraints_from_keras_configs() -> None:
    config = keras.regularizers.serialize(keras.regularizers.L1L2(l1=0.1, l2=0.2))
    assert regularizers.deserialize(config).get_config() == pytest.approx({"l1": 0.1, "l2": 0.2})
    assert regularizers.deserialize("l2").get_config() == {"l2": 0.01}
    config = keras.constraints.serialize(keras.constraints.MaxNorm(2.0, axis=1))
    assert constraints.deserialize(config).get_config() == {"max_value": 2.0, "axis": 1}
    assert type(constraints.deserialize("non_neg")).__name__ == "NonNeg"
