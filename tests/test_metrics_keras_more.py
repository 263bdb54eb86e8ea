"""lamina.metrics' Keras 3 classes and functions against Keras on the same batches:
results over two weighted batches, reset, configs, (de)serializing, compile by name."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina import metrics  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

RNG = np.random.default_rng(1)
PROBS = RNG.uniform(0.02, 0.98, (8, 3)).astype("float32")
SOFTMAX = (PROBS / PROBS.sum(-1, keepdims=True)).astype("float32")
BINARY = RNG.integers(0, 2, (8, 3)).astype("float32")
ONE_HOT = np.eye(3, dtype="float32")[RNG.integers(0, 3, 8)]
LABELS = RNG.integers(0, 3, (8,))
REAL = RNG.normal(size=(8, 3)).astype("float32")
POSITIVE = RNG.uniform(0.1, 3.0, (8, 3)).astype("float32")
WEIGHT = RNG.uniform(0.0, 2.0, (8,)).astype("float32")
INT_WEIGHT = RNG.integers(0, 3, (8,))

CASES = [
    ("BinaryCrossentropy", {}, BINARY, PROBS),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, BINARY, REAL),
    ("CategoricalCrossentropy", {"label_smoothing": 0.2}, ONE_HOT, SOFTMAX),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, LABELS, REAL),
    ("KLDivergence", {}, SOFTMAX, PROBS),
    ("Poisson", {}, POSITIVE, PROBS),
    ("Hinge", {}, BINARY, REAL),
    ("SquaredHinge", {}, BINARY, REAL),
    ("CategoricalHinge", {}, ONE_HOT, REAL),
    ("LogCoshError", {}, REAL, PROBS),
    ("MeanAbsolutePercentageError", {}, POSITIVE, PROBS),
    ("MeanSquaredLogarithmicError", {}, POSITIVE, PROBS),
    ("CosineSimilarity", {}, REAL, PROBS),
    ("TruePositives", {}, BINARY, PROBS),
    ("FalsePositives", {"thresholds": [0.2, 0.5, 0.8]}, BINARY, PROBS),
    ("TrueNegatives", {"thresholds": 0.3}, BINARY, PROBS),
    ("FalseNegatives", {}, BINARY, PROBS),
    ("PrecisionAtRecall", {"recall": 0.6}, BINARY, PROBS),
    ("RecallAtPrecision", {"precision": 0.5, "num_thresholds": 50}, BINARY, PROBS),
    ("SensitivityAtSpecificity", {"specificity": 0.4, "class_id": 1}, BINARY, PROBS),
    ("SpecificityAtSensitivity", {"sensitivity": 0.7}, BINARY, PROBS),
    ("F1Score", {}, ONE_HOT, SOFTMAX),
    ("F1Score", {"average": "macro", "threshold": 0.4}, BINARY, PROBS),
    ("FBetaScore", {"average": "weighted", "beta": 2.0, "threshold": 0.5}, BINARY, PROBS),
    ("FBetaScore", {"average": "micro", "beta": 0.5}, ONE_HOT, SOFTMAX),
    ("R2Score", {}, REAL, PROBS),
    ("R2Score", {"class_aggregation": "variance_weighted_average"}, REAL, PROBS),
    ("R2Score", {"class_aggregation": None, "num_regressors": 2}, REAL, PROBS),
    ("PearsonCorrelation", {}, REAL, PROBS),
    ("ConcordanceCorrelation", {}, REAL, PROBS),
    ("Precision", {"class_id": 2}, BINARY, PROBS),
    ("Recall", {"thresholds": 0.3}, BINARY, PROBS),
    ("AUC", {"num_thresholds": 50}, BINARY, PROBS),
]
IOU_CASES = [
    ("IoU", {"num_classes": 3, "target_class_ids": [0, 2]}, LABELS, RNG.integers(0, 3, 8)),
    ("MeanIoU", {"num_classes": 3}, LABELS, RNG.integers(0, 3, 8)),
    ("MeanIoU", {"num_classes": 3, "ignore_class": 1}, LABELS, RNG.integers(0, 3, 8)),
    ("BinaryIoU", {}, BINARY[:, 0], PROBS[:, 0]),
    ("BinaryIoU", {"target_class_ids": [1], "threshold": 0.3}, BINARY[:, 0], PROBS[:, 0]),
    ("OneHotIoU", {"num_classes": 3, "target_class_ids": [1]}, ONE_HOT, SOFTMAX),
    ("OneHotMeanIoU", {"num_classes": 3}, ONE_HOT, SOFTMAX),
    ("MeanIoU", {"num_classes": 3, "sparse_y_pred": False}, LABELS, SOFTMAX),
]
ALL = [*CASES, *IOU_CASES]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(ALL)]


def close(ours: torch.Tensor, theirs: object) -> None:
    np.testing.assert_allclose(np.asarray(ours), keras.ops.convert_to_numpy(theirs),
                               rtol=3e-5, atol=3e-6)


@pytest.mark.parametrize(("name", "kwargs", "y_true", "y_pred"), ALL, ids=IDS)
def test_metric_matches_keras_over_weighted_batches(name: str, kwargs: dict,
                                                    y_true: np.ndarray,
                                                    y_pred: np.ndarray) -> None:
    weight = INT_WEIGHT if "IoU" in name else WEIGHT
    ours = getattr(metrics, name)(**kwargs)
    theirs = getattr(keras.metrics, name)(**kwargs)
    for metric in (ours, theirs):
        metric.update_state(y_true[:5], y_pred[:5])
        metric.update_state(y_true[5:], y_pred[5:], sample_weight=weight[5:])
    close(ours.result(), theirs.result())
    ours.reset_state()
    theirs.reset_state()
    ours.update_state(y_true, y_pred, sample_weight=weight)
    theirs.update_state(y_true, y_pred, sample_weight=weight)
    close(ours.result(), theirs.result())


@pytest.mark.parametrize(("name", "kwargs", "y_true", "y_pred"), ALL, ids=IDS)
def test_metric_config_matches_keras(name: str, kwargs: dict, y_true: np.ndarray,
                                     y_pred: np.ndarray) -> None:
    ours = getattr(metrics, name)(name="my_metric", **kwargs)
    theirs = getattr(keras.metrics, name)(name="my_metric", **kwargs)
    assert ours.get_config() == theirs.get_config()
    rebuilt = getattr(metrics, name).from_config(theirs.get_config())
    theirs_rebuilt = getattr(keras.metrics, name).from_config(theirs.get_config())
    close(rebuilt(y_true, y_pred), theirs_rebuilt(y_true, y_pred))
    assert metrics.serialize(ours) == keras.metrics.serialize(theirs)
    assert metrics.deserialize(metrics.serialize(ours)).get_config() == ours.get_config()


@pytest.mark.parametrize("name", ["Mean", "Sum", "Accuracy", "BinaryAccuracy",
                                  "CategoricalAccuracy", "SparseCategoricalAccuracy",
                                  "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
                                  "MeanSquaredError", "MeanAbsoluteError",
                                  "RootMeanSquaredError", "AUC", "Precision", "Recall"])
def test_existing_metric_configs_match_keras(name: str) -> None:
    ours = getattr(metrics, name)().get_config()
    theirs = getattr(keras.metrics, name)().get_config()
    assert theirs.pop("name").startswith(ours.pop("name"))  # Keras numbers repeated names
    assert ours == theirs


FUNCTIONS = [
    ("binary_crossentropy", BINARY, PROBS), ("binary_focal_crossentropy", BINARY, PROBS),
    ("categorical_crossentropy", ONE_HOT, SOFTMAX),
    ("categorical_focal_crossentropy", ONE_HOT, SOFTMAX),
    ("sparse_categorical_crossentropy", LABELS, SOFTMAX), ("hinge", BINARY, REAL),
    ("squared_hinge", BINARY, REAL), ("categorical_hinge", ONE_HOT, REAL),
    ("huber", REAL, PROBS), ("kl_divergence", SOFTMAX, PROBS), ("log_cosh", REAL, PROBS),
    ("mean_absolute_percentage_error", POSITIVE, PROBS),
    ("mean_squared_logarithmic_error", POSITIVE, PROBS), ("poisson", POSITIVE, PROBS),
    ("pearson_correlation", REAL, PROBS), ("concordance_correlation", REAL, PROBS),
]


@pytest.mark.parametrize(("name", "y_true", "y_pred"), FUNCTIONS, ids=[f[0] for f in FUNCTIONS])
def test_metric_function_matches_keras(name: str, y_true: np.ndarray,
                                       y_pred: np.ndarray) -> None:
    close(getattr(metrics, name)(y_true, y_pred),
          getattr(keras.metrics, name)(keras.ops.convert_to_tensor(y_true),
                                       keras.ops.convert_to_tensor(y_pred)))


def test_errors_like_keras() -> None:
    with pytest.raises(ValueError, match="average"):
        metrics.F1Score(average="mean")
    with pytest.raises(ValueError, match="beta"):
        metrics.FBetaScore(beta=1)
    with pytest.raises(ValueError, match="out of range"):
        metrics.IoU(num_classes=2, target_class_ids=[2])
    with pytest.raises(ValueError, match="class_aggregation"):
        metrics.R2Score(class_aggregation="mean")
    with pytest.raises(ValueError, match=r"range \[0, 1\]"):
        metrics.PrecisionAtRecall(recall=1.5)
    with pytest.raises(ValueError, match="2D inputs"):
        metrics.F1Score()(LABELS, LABELS)


@pytest.mark.parametrize(("spec", "loss", "y", "units", "activation"), [
    (["binary_crossentropy", "AUC", "hinge", "TruePositives", "f1_score"],
     "binary_crossentropy", BINARY[:, :1], 1, "sigmoid"),
    ([metrics.PrecisionAtRecall(0.5), metrics.BinaryIoU(), "FalseNegatives", "poisson"],
     "binary_crossentropy", BINARY[:, :1], 1, "sigmoid"),
    (["categorical_crossentropy", metrics.F1Score(average="macro"), "kl_divergence",
      metrics.OneHotMeanIoU(num_classes=3)], "categorical_crossentropy", ONE_HOT, 3, "softmax"),
    (["sparse_categorical_crossentropy", metrics.MeanIoU(3, sparse_y_pred=False)],
     "sparse_categorical_crossentropy", LABELS, 3, "softmax"),
    (["R2Score", "pearson_correlation", "logcosh", "mape", "CosineSimilarity"], "mse", REAL,
     3, None),
])
def test_compile_with_new_metrics(spec: list, loss: str, y: np.ndarray, units: int,
                                  activation: str | None) -> None:
    torch.manual_seed(0)
    model = lamina.Sequential([lamina.Input((3,)),
                               lamina.layers.Dense(units, activation=activation)])
    model.compile(optimizer="sgd", loss=loss, metrics=spec)
    history = model.fit(PROBS, y, sample_weight=WEIGHT, epochs=1, batch_size=4, verbose=0)
    assert len(history.history) == 1 + len(spec)
    result = model.evaluate(PROBS, y, verbose=0, return_dict=True)
    assert all(np.isfinite(v) for v in result.values())


def test_compile_with_new_losses_and_metrics_saves_and_loads(tmp_path: object) -> None:
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam",
                  loss=lamina.losses.BinaryFocalCrossentropy(gamma=3.0, alpha=0.4),
                  metrics=[metrics.PrecisionAtRecall(0.7, num_thresholds=20),
                           metrics.BinaryCrossentropy(label_smoothing=0.1), "AUC", "hinge"])
    path = tmp_path / "model.lamina"  # type: ignore[operator]
    model.save(path)
    loaded = lamina.load_model(path)
    assert loaded.compiled
    expected = model.evaluate(PROBS, BINARY[:, :1], verbose=0, return_dict=True)
    assert loaded.evaluate(PROBS, BINARY[:, :1], verbose=0, return_dict=True) == pytest.approx(
        expected)
