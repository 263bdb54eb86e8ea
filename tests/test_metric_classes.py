"""Keras 3's metric classes on lamina: names, values over batches, weights, compile."""

from __future__ import annotations

import os

import numpy as np
import pytest

import lamina
from lamina import layers, metrics

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)
PROBS = RNG.dirichlet(np.ones(4), size=12).astype("float32")
LABELS = RNG.integers(0, 4, size=12)
ONE_HOT = np.eye(4, dtype="float32")[LABELS]
BINARY_TRUE = RNG.integers(0, 2, size=(12, 1)).astype("float32")
BINARY_PRED = RNG.uniform(size=(12, 1)).astype("float32")
REGRESSION = RNG.normal(size=(12, 3)).astype("float32"), RNG.normal(size=(12, 3)).astype("float32")
WEIGHTS = RNG.uniform(0.1, 2.0, size=12).astype("float32")

CASES = [
    ("Accuracy", {}, (LABELS, (PROBS.argmax(-1) + (np.arange(12) % 3 == 0)) % 4)),
    ("BinaryAccuracy", {}, (BINARY_TRUE, BINARY_PRED)),
    ("BinaryAccuracy", {"threshold": 0.3}, (BINARY_TRUE, BINARY_PRED)),
    ("CategoricalAccuracy", {}, (ONE_HOT, PROBS)),
    ("SparseCategoricalAccuracy", {}, (LABELS, PROBS)),
    ("TopKCategoricalAccuracy", {"k": 2}, (ONE_HOT, PROBS)),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, (LABELS, PROBS)),
    ("MeanSquaredError", {}, REGRESSION),
    ("MeanAbsoluteError", {}, REGRESSION),
    ("RootMeanSquaredError", {}, REGRESSION),
]


@pytest.mark.parametrize("name, arguments, data", CASES,
                         ids=[f"{c[0]}{i}" for i, c in enumerate(CASES)])
@pytest.mark.parametrize("weighted", [False, True])
def test_values_over_batches_match_keras(name: str, arguments: dict, data: tuple,
                                         weighted: bool) -> None:
    ours = getattr(metrics, name)(**arguments)
    theirs = getattr(keras.metrics, name)(**arguments)
    assert ours.name == theirs.name
    y_true, y_pred = data
    for batch in (slice(0, 5), slice(5, 12)):  # two batches accumulate
        weight = WEIGHTS[batch] if weighted else None
        ours.update_state(y_true[batch], y_pred[batch], sample_weight=weight)
        theirs.update_state(y_true[batch], y_pred[batch], sample_weight=weight)
    expected = float(theirs.result().detach().cpu())
    np.testing.assert_allclose(float(ours.result()), expected, rtol=1e-5)
    ours.reset_state()
    theirs.reset_state()
    np.testing.assert_allclose(float(ours.result()), float(theirs.result().detach().cpu()))


def test_sum_matches_keras() -> None:
    ours, theirs = metrics.Sum(), keras.metrics.Sum()
    for values in ([1.0, 2.0], [4.0]):
        ours.update_state(np.array(values))
        theirs.update_state(np.array(values))
    assert float(ours.result()) == float(theirs.result().detach().cpu()) == 7.0


def test_metric_objects_in_compile_and_fit() -> None:
    x = lamina.Input((4,))
    model = lamina.Model(x, layers.Dense(4, activation="softmax")(x))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=[metrics.SparseCategoricalAccuracy(),
                           metrics.SparseTopKCategoricalAccuracy(k=2, name="top2")])
    before = model.predict(PROBS, verbose=0)  # the one batch's predictions in the step
    history = model.fit(PROBS, LABELS, epochs=1, batch_size=12, verbose=0)
    assert set(history.history) == {"loss", "sparse_categorical_accuracy", "top2"}
    top1 = float((before.argmax(-1) == LABELS).mean())
    top2 = float((np.argsort(-before, -1)[:, :2] == LABELS[:, None]).any(-1).mean())
    np.testing.assert_allclose(history.history["sparse_categorical_accuracy"][0], top1)
    np.testing.assert_allclose(history.history["top2"][0], top2)


def test_metric_objects_survive_save_and_load(tmp_path) -> None:  # type: ignore[no-untyped-def]
    x = lamina.Input((4,))
    model = lamina.Model(x, layers.Dense(4, activation="softmax")(x))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=[metrics.SparseCategoricalAccuracy(),
                           metrics.SparseTopKCategoricalAccuracy(k=2, name="top2")])
    model.fit(PROBS, LABELS, epochs=1, batch_size=12, verbose=0)
    model.save(tmp_path / "model.lamina")
    loaded = lamina.load_model(tmp_path / "model.lamina")
    ours = model.evaluate(PROBS, LABELS, verbose=0, return_dict=True)
    theirs = loaded.evaluate(PROBS, LABELS, verbose=0, return_dict=True)
    assert set(theirs) == {"loss", "sparse_categorical_accuracy", "top2"}
    for key, value in ours.items():
        np.testing.assert_allclose(theirs[key], value, rtol=1e-6)
