"""``metrics`` are unweighted and ``weighted_metrics`` weighted, as in Keras 3 (issue 16,
item 9: a class-weighted fit reported a weighted accuracy as "accuracy")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lamina
from lamina import layers

RNG = np.random.default_rng(3)
X = RNG.normal(size=(16, 5)).astype("float32")
Y = RNG.integers(0, 3, size=16)
CLASS_WEIGHT = {0: 10.0, 1: 1.0, 2: 1.0}


def _model() -> lamina.Model:
    x = lamina.Input((5,))
    return lamina.Model(x, layers.Dense(3, activation="softmax")(x))


def test_class_weights_touch_only_weighted_metrics(tmp_path: Path) -> None:
    model = _model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], weighted_metrics=["accuracy"])
    hits = (model.predict(X, verbose=0).argmax(-1) == Y).astype("float64")
    weights = np.array([CLASS_WEIGHT[int(y)] for y in Y])
    history = model.fit(X, Y, epochs=1, batch_size=16, class_weight=CLASS_WEIGHT, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "weighted_accuracy"}
    np.testing.assert_allclose(history.history["accuracy"][0], hits.mean(), rtol=1e-6)
    np.testing.assert_allclose(history.history["weighted_accuracy"][0],
                               (weights * hits).sum() / weights.sum(), rtol=1e-6)
    model.save(tmp_path / "model.lamina")
    reloaded = lamina.load_model(tmp_path / "model.lamina")
    logs = reloaded.evaluate(X, Y, sample_weight=weights, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "accuracy", "weighted_accuracy"}


@pytest.mark.parametrize("weighted", [False, True])
def test_sample_weights_in_evaluate(weighted: bool) -> None:
    model = _model()
    spec = {"weighted_metrics" if weighted else "metrics": ["accuracy"]}
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", **spec)
    weights = np.where(Y == 0, 5.0, 1.0)
    hits = (model.predict(X, verbose=0).argmax(-1) == Y).astype("float64")
    logs = model.evaluate(X, Y, sample_weight=weights, verbose=0, return_dict=True)
    expected = (weights * hits).sum() / weights.sum() if weighted else hits.mean()
    np.testing.assert_allclose(logs["accuracy"], expected, rtol=1e-6)
