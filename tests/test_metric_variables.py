"""Metrics written for Keras keep their state in ``add_variable``/``add_weight`` variables:
the same subclass runs on lamina and on Keras 3 with the same results, resets to zero, and
works in ``compile``/``fit``."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina import metrics  # noqa: E402
from lamina.errors import ArgumentError  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def weighted_hits_class(base: type, ops: object) -> type:
    """A Keras-style metric: weighted count of correct argmax predictions, and its mean."""

    class WeightedHits(base):  # type: ignore[misc, valid-type]
        def __init__(self, name: str = "weighted_hits", **kwargs: object) -> None:
            super().__init__(name=name, **kwargs)
            self.hits = self.add_weight(name="hits", initializer="zeros")
            self.seen = self.add_variable(shape=(), initializer="zeros", name="seen")

        def update_state(self, y_true, y_pred, sample_weight=None):  # noqa: ANN001, ANN202
            correct = ops.cast(ops.equal(ops.argmax(y_pred, axis=-1),
                                         ops.cast(y_true, "int64")), "float32")
            weight = ops.ones_like(correct) if sample_weight is None else ops.cast(
                sample_weight, "float32")
            self.hits.assign_add(ops.sum(correct * weight))
            self.seen.assign_add(ops.sum(weight))

        def result(self):  # noqa: ANN202
            return self.hits / ops.maximum(self.seen, 1.0)

    return WeightedHits


def test_a_keras_style_metric_matches_keras_over_batches_and_reset() -> None:
    rng = np.random.default_rng(0)
    ours = weighted_hits_class(metrics.Metric, lamina.ops)()
    theirs = weighted_hits_class(keras.metrics.Metric, keras.ops)()
    assert [v.shape for v in ours.variables] == [tuple(v.shape) for v in theirs.variables]
    for _ in range(3):
        labels = rng.integers(0, 4, 10)
        predictions = rng.normal(size=(10, 4)).astype("float32")
        weight = rng.uniform(0, 2, 10).astype("float32")
        ours.update_state(labels, predictions, weight)
        theirs.update_state(labels, predictions, weight)
        np.testing.assert_allclose(float(ours.result()),
                                   float(keras.ops.convert_to_numpy(theirs.result())),
                                   rtol=1e-6)
    ours.reset_state()
    theirs.reset_state()
    assert float(ours.result()) == float(keras.ops.convert_to_numpy(theirs.result())) == 0.0
    assert all(not v.requires_grad for v in ours.variables)


def test_a_keras_style_metric_is_reset_each_epoch_of_fit() -> None:
    x = torch.randn(40, 3)
    y = torch.randint(0, 2, (40,))
    model = lamina.Sequential([lamina.Input(shape=(3,)), lamina.layers.Dense(2)])
    metric = weighted_hits_class(metrics.Metric, lamina.ops)()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=[metric])
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    for value in history.history["weighted_hits"]:
        assert 0.0 <= value <= 1.0  # a fraction of one epoch's samples, not a running total
    model.evaluate(x, y, verbose=0)
    expected = float((model.predict(x, verbose=0).argmax(-1) == y.numpy()).mean())
    assert float(metric.result()) == pytest.approx(expected)


def test_add_variable_before_init_says_what_to_do() -> None:
    class Early(metrics.Metric):
        def __init__(self) -> None:
            self.total = self.add_variable(initializer="zeros")
            super().__init__()

    with pytest.raises(ArgumentError, match=r"super\(\).__init__"):
        Early()


def test_add_variable_takes_shape_initializer_and_dtype() -> None:
    metric = metrics.Metric(name="m")
    counts = metric.add_variable(shape=(3,), initializer="ones", dtype="int32", name="c")
    assert counts.dtype == torch.int32 and counts.tolist() == [1, 1, 1]
    metric.reset_state()  # Keras resets every variable to zeros, whatever its initializer
    assert counts.tolist() == [0, 0, 0]
    assert metric.variables == [counts]
