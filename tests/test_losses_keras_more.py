"""Every Keras loss class and function in lamina.losses, against Keras 3 on the same inputs:
values (with and without sample weights, every reduction), configs, (de)serializing, and
compile(loss=name)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina import losses  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

RNG = np.random.default_rng(0)
PROBS = RNG.uniform(0.05, 0.95, (6, 4)).astype("float32")
SOFTMAX = (PROBS / PROBS.sum(-1, keepdims=True)).astype("float32")
BINARY = RNG.integers(0, 2, (6, 4)).astype("float32")
ONE_HOT = np.eye(4, dtype="float32")[RNG.integers(0, 4, 6)]
LABELS = RNG.integers(0, 4, (6,))
REAL = RNG.normal(size=(6, 4)).astype("float32")
POSITIVE = RNG.uniform(0.1, 3.0, (6, 4)).astype("float32")
UNIT = (REAL / np.linalg.norm(REAL, axis=-1, keepdims=True)).astype("float32")
WEIGHT = RNG.uniform(0.0, 2.0, (6,)).astype("float32")

# (class name, constructor arguments, y_true, y_pred)
CASES = [
    ("MeanSquaredError", {}, REAL, PROBS),
    ("MeanAbsoluteError", {}, REAL, PROBS),
    ("MeanAbsolutePercentageError", {}, POSITIVE, PROBS),
    ("MeanSquaredLogarithmicError", {}, POSITIVE, PROBS),
    ("Huber", {"delta": 0.5}, REAL, PROBS),
    ("LogCosh", {}, REAL, PROBS),
    ("CosineSimilarity", {}, REAL, PROBS),
    ("Poisson", {}, POSITIVE, PROBS),
    ("KLDivergence", {}, SOFTMAX, PROBS),
    ("Hinge", {}, BINARY, REAL),
    ("Hinge", {}, 2 * BINARY - 1, REAL),
    ("SquaredHinge", {}, BINARY, REAL),
    ("CategoricalHinge", {}, ONE_HOT, REAL),
    ("BinaryCrossentropy", {"label_smoothing": 0.1}, BINARY, PROBS),
    ("BinaryCrossentropy", {"from_logits": True}, BINARY, REAL),
    ("BinaryFocalCrossentropy", {}, BINARY, PROBS),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5,
                                 "from_logits": True, "label_smoothing": 0.2}, BINARY, REAL),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, ONE_HOT, PROBS),
    ("CategoricalCrossentropy", {"from_logits": True}, ONE_HOT, REAL),
    ("CategoricalFocalCrossentropy", {}, ONE_HOT, SOFTMAX),
    ("CategoricalFocalCrossentropy", {"alpha": 0.5, "gamma": 1.0, "from_logits": True,
                                      "label_smoothing": 0.1}, ONE_HOT, REAL),
    ("SparseCategoricalCrossentropy", {}, LABELS, SOFTMAX),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, LABELS, REAL),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 2}, LABELS, REAL),
    ("CategoricalGeneralizedCrossEntropy", {"q": 0.7}, LABELS, SOFTMAX),
    ("Dice", {}, BINARY, PROBS),
    ("Dice", {"axis": 1}, BINARY, PROBS),
    ("Tversky", {}, BINARY, PROBS),
    ("Circle", {}, np.array([0, 1, 0, 2, 1, 0]), UNIT),
    ("Circle", {"gamma": 10.0, "margin": 0.2, "remove_diagonal": False},
     np.array([0, 1, 0, 2, 1, 0]), UNIT),
]
IDS = [f"{name}-{i}" for i, (name, *_rest) in enumerate(CASES)]


def close(ours: torch.Tensor, theirs: object) -> None:
    np.testing.assert_allclose(np.asarray(ours.detach()), keras.ops.convert_to_numpy(theirs),
                               rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize(("name", "kwargs", "y_true", "y_pred"), CASES, ids=IDS)
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none",
                                       "mean_with_sample_weight"])
def test_loss_class_matches_keras(name: str, kwargs: dict, y_true: np.ndarray,
                                  y_pred: np.ndarray, reduction: str) -> None:
    ours = getattr(losses, name)(reduction=reduction, **kwargs)
    theirs = getattr(keras.losses, name)(reduction=reduction, **kwargs)
    close(ours(y_true, y_pred), theirs(y_true, y_pred))
    if name not in ("Dice", "Tversky") or "axis" in kwargs:  # one value: no per-sample weight
        close(ours(y_true, y_pred, sample_weight=WEIGHT),
              theirs(y_true, y_pred, sample_weight=WEIGHT))


@pytest.mark.parametrize(("name", "kwargs", "y_true", "y_pred"), CASES, ids=IDS)
def test_loss_config_matches_keras(name: str, kwargs: dict, y_true: np.ndarray,
                                   y_pred: np.ndarray) -> None:
    ours = getattr(losses, name)(name="my_loss", **kwargs)
    theirs = getattr(keras.losses, name)(name="my_loss", **kwargs)
    config = ours.get_config()
    extra = {"Huber": {"delta"}, "CosineSimilarity": {"axis"}}.get(name, set())
    assert {k: v for k, v in config.items() if k not in extra} == theirs.get_config()
    rebuilt = getattr(losses, name).from_config(theirs.get_config())
    theirs_rebuilt = getattr(keras.losses, name).from_config(theirs.get_config())
    close(rebuilt(y_true, y_pred), theirs_rebuilt(y_true, y_pred))
    assert getattr(losses, name).from_config(config).get_config() == config
    assert losses.deserialize(losses.serialize(ours)).get_config() == config
    assert losses.serialize(ours) == {**keras.losses.serialize(theirs), "config": config}


def test_tversky_weights_false_positives_by_alpha() -> None:
    # Keras 3.15.1 swaps the two weights (alpha multiplies the false negatives); lamina
    # follows the documented meaning, as Keras's later releases do.
    y_true, y_pred = np.array([[1.0, 0.0]]), np.array([[0.6, 0.2]], "float32")
    ours = losses.Tversky(alpha=0.3, beta=0.7)(y_true, y_pred)
    close(ours, keras.losses.Tversky(alpha=0.7, beta=0.3)(y_true, y_pred))
    assert round(float(ours), 4) == round(1 - 0.6 / (0.6 + 0.3 * 0.2 + 0.7 * 0.4), 4)


def test_ctc_matches_keras() -> None:
    logits = RNG.normal(size=(3, 7, 5)).astype("float32")
    labels = np.array([[1, 2, 2, 0], [3, 0, 0, 0], [4, 1, 3, 2]])
    close(losses.CTC()(labels, logits), keras.losses.CTC()(labels, logits))
    close(losses.ctc(labels, logits), keras.losses.ctc(labels, logits))
    assert losses.CTC().get_config() == keras.losses.CTC().get_config()
    with pytest.raises(ValueError, match="y_true.shape"):
        losses.ctc(labels[0], logits)


FUNCTION_CASES = [
    ("mean_squared_error", {}, REAL, PROBS), ("mean_absolute_error", {}, REAL, PROBS),
    ("mean_absolute_percentage_error", {}, POSITIVE, PROBS),
    ("mean_squared_logarithmic_error", {}, POSITIVE, PROBS),
    ("huber", {"delta": 0.3}, REAL, PROBS), ("log_cosh", {}, REAL, PROBS),
    ("cosine_similarity", {"axis": 0}, REAL, PROBS), ("poisson", {}, POSITIVE, PROBS),
    ("kl_divergence", {}, SOFTMAX, PROBS), ("hinge", {}, BINARY, REAL),
    ("squared_hinge", {}, 2 * BINARY - 1, REAL), ("categorical_hinge", {}, ONE_HOT, REAL),
    ("binary_crossentropy", {"from_logits": True, "label_smoothing": 0.2}, BINARY, REAL),
    ("binary_crossentropy", {"axis": 0}, BINARY, PROBS),
    ("binary_focal_crossentropy", {"apply_class_balancing": True}, BINARY, PROBS),
    ("categorical_crossentropy", {"label_smoothing": 0.1}, ONE_HOT, PROBS),
    ("categorical_crossentropy", {"from_logits": True, "axis": 0}, ONE_HOT, REAL),
    ("categorical_focal_crossentropy", {"gamma": 3.0}, ONE_HOT, SOFTMAX),
    ("sparse_categorical_crossentropy", {}, LABELS, SOFTMAX),
    ("sparse_categorical_crossentropy", {"from_logits": True, "ignore_class": 1}, LABELS, REAL),
    ("categorical_generalized_cross_entropy", {"q": 0.3}, LABELS, SOFTMAX),
    ("dice", {}, BINARY, PROBS), ("dice", {"axis": -1}, BINARY, PROBS),
    ("tversky", {"alpha": 0.5, "beta": 0.5, "axis": 1}, BINARY, PROBS),
    ("circle", {"gamma": 5}, np.array([0, 1, 0, 2, 1, 0]), UNIT),
]


@pytest.mark.parametrize(("name", "kwargs", "y_true", "y_pred"), FUNCTION_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(FUNCTION_CASES)])
def test_loss_function_matches_keras(name: str, kwargs: dict, y_true: np.ndarray,
                                     y_pred: np.ndarray) -> None:
    ours = getattr(losses, name)(y_true, y_pred, **kwargs)
    theirs = getattr(keras.losses, name)(keras.ops.convert_to_tensor(y_true),
                                         keras.ops.convert_to_tensor(y_pred), **kwargs)
    close(ours, theirs)
    assert losses.serialize(getattr(losses, name)) == keras.losses.serialize(
        getattr(keras.losses, name))


def test_loss_functions_accept_trailing_unit_axis_like_keras() -> None:
    y_true, y_pred = REAL[:, :1], PROBS[:, 0]
    close(losses.mean_squared_error(y_true, y_pred),
          keras.losses.mean_squared_error(y_true, y_pred))


def test_errors_like_keras() -> None:
    with pytest.raises(ValueError, match="q must be in the interval"):
        losses.CategoricalGeneralizedCrossEntropy(q=1.5)
    with pytest.raises(ValueError, match="axis"):
        losses.categorical_crossentropy(ONE_HOT, PROBS, axis=True)
    with pytest.raises(ValueError, match="reduction"):
        losses.Hinge(reduction="average")
    with pytest.raises(ValueError, match="deserialize"):
        losses.deserialize({"class_name": "NoSuchLoss", "config": {}})
    with pytest.warns(SyntaxWarning, match="num_classes > 1"):
        losses.categorical_crossentropy(BINARY[:, :1], PROBS[:, :1])


@pytest.mark.parametrize("name", sorted(losses.CLASSES))
def test_get_knows_every_class_and_its_keras_names(name: str) -> None:
    cls = getattr(losses, name)
    assert type(losses.get(name)) is cls
    assert type(losses.get(cls.name)) is cls
    function = losses.FUNCTIONS.get(cls.name)
    if function is not None:
        assert type(losses.get(function)) is cls


@pytest.mark.parametrize("loss", ["hinge", "poisson", "log_cosh", "binary_focal_crossentropy",
                                  "squared_hinge", losses.binary_focal_crossentropy,
                                  losses.Tversky(axis=1)])
def test_compile_with_new_losses_trains_and_reports_accuracy(loss: object) -> None:
    torch.manual_seed(0)
    model = lamina.Sequential([lamina.Input((4,)),
                               lamina.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    history = model.fit(PROBS, BINARY[:, :1], epochs=2, batch_size=3, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert "accuracy" in history.history


def test_compile_with_categorical_focal_picks_categorical_accuracy() -> None:
    model = lamina.Sequential([lamina.Input((4,)),
                               lamina.layers.Dense(4, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_focal_crossentropy", metrics=["accuracy"])
    result = model.evaluate(PROBS, ONE_HOT, verbose=0, return_dict=True)
    expected = (model.predict(PROBS, verbose=0).argmax(-1) == ONE_HOT.argmax(-1)).mean()
    assert result["accuracy"] == pytest.approx(expected)
