"""Keras's Model customisation on lamina, against Keras 3 (torch backend) run on the same
weights and data: train_step/test_step/predict_step overrides driven by fit, evaluate and
predict, compute_loss, self.metrics, subclasses built as CustomModel(inputs, outputs)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import lamina

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

RNG = np.random.default_rng(0)
X = RNG.normal(size=(64, 5)).astype("float32")
Y = (X @ RNG.normal(size=(5, 1)) + 0.1).astype("float32")
KERNEL = RNG.normal(size=(5, 1)).astype("float32") * 0.3


def guide_models(lib):
    """The "customizing fit" guide's two models, written once for either library."""

    class WithCompiled(lib.Model):
        def train_step(self, data):
            x, y = data
            self.zero_grad()
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            loss.backward()
            weights = list(self.trainable_weights)
            with torch.no_grad():
                self.optimizer.apply([v.value.grad for v in weights], weights)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

    class WithOwnMetrics(lib.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = lib.metrics.Mean(name="loss")
            self.mae_metric = lib.metrics.MeanAbsoluteError(name="mae")
            self.loss_fn = lib.losses.MeanSquaredError()

        def train_step(self, data):
            x, y, sample_weight = data
            self.zero_grad()
            y_pred = self(x, training=True)
            loss = self.loss_fn(y, y_pred, sample_weight=sample_weight)
            loss.backward()
            weights = list(self.trainable_weights)
            with torch.no_grad():
                self.optimizer.apply([v.value.grad for v in weights], weights)
            self.loss_tracker.update_state(loss)
            self.mae_metric.update_state(y, y_pred, sample_weight=sample_weight)
            return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

        def test_step(self, data):
            x, y = data
            y_pred = self(x, training=False)
            self.loss_tracker.update_state(self.loss_fn(y, y_pred))
            self.mae_metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

        @property
        def metrics(self):
            return [self.loss_tracker, self.mae_metric]

    return WithCompiled, WithOwnMetrics


def build(lib, cls):
    inputs = lib.Input(shape=(5,))
    outputs = lib.layers.Dense(1, kernel_initializer="zeros", name="out")(inputs)
    model = cls(inputs, outputs)
    model.get_layer("out").kernel.assign(KERNEL)
    return model


def history_of(lib, which: int, **fit):
    cls = guide_models(lib)[which]
    model = build(lib, cls)
    if which == 0:
        model.compile(optimizer=lib.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    else:
        model.compile(optimizer=lib.optimizers.SGD(0.05))
    history = model.fit(X, Y, batch_size=16, epochs=3, shuffle=False, verbose=0, **fit)
    return model, history.history


def test_guide_model_with_compiled_loss_and_metrics_matches_keras() -> None:
    ours, our_history = history_of(lamina, 0)
    theirs, their_history = history_of(keras, 0)
    assert sorted(our_history) == sorted(their_history) == ["loss", "mae"]
    for key, values in their_history.items():
        np.testing.assert_allclose(our_history[key], values, rtol=1e-5)
    assert isinstance(ours, guide_models(lamina)[0]) is False  # a class per call above
    assert type(ours).__name__ == "WithCompiled"
    assert [m.name for m in ours.metrics] == [m.name for m in theirs.metrics]
    our_eval = ours.evaluate(X, Y, verbose=0, return_dict=True)
    their_eval = theirs.evaluate(X, Y, verbose=0, return_dict=True)
    assert our_eval == pytest.approx(their_eval, rel=1e-5)
    np.testing.assert_allclose(ours.predict(X, verbose=0), theirs.predict(X, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_guide_model_with_its_own_metrics_and_test_step_matches_keras() -> None:
    weights = np.linspace(0.5, 1.5, len(X)).astype("float32")
    fit = {"sample_weight": weights, "validation_data": (X[:20], Y[:20])}
    ours, our_history = history_of(lamina, 1, **fit)
    theirs, their_history = history_of(keras, 1, **fit)
    assert sorted(our_history) == sorted(their_history) == ["loss", "mae", "val_loss",
                                                            "val_mae"]
    for key, values in their_history.items():
        np.testing.assert_allclose(our_history[key], values, rtol=1e-5, err_msg=key)
    assert ours.evaluate(X, Y, verbose=0) == pytest.approx(theirs.evaluate(X, Y, verbose=0),
                                                           rel=1e-5)


def test_default_steps_through_super_and_compute_loss_with_regularizers() -> None:
    """train_step calling super().train_step gives Keras's logs, and the loss counts the
    kernel regularizer (0.5 * sum(kernel ** 2)) as Keras's does."""
    def run(lib):
        calls = []

        class Counting(lib.Model):
            def train_step(self, data):
                calls.append(1)
                return super().train_step(data)

        inputs = lib.Input(shape=(5,))
        dense = lib.layers.Dense(1, kernel_initializer="zeros",
                                 kernel_regularizer=lib.regularizers.L2(0.5), name="out")
        model = Counting(inputs, dense(inputs))
        model.get_layer("out").kernel.assign(KERNEL)
        model.compile(optimizer=lib.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
        history = model.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0)
        return history.history, len(calls)

    ours, our_calls = run(lamina)
    theirs, their_calls = run(keras)
    assert our_calls == their_calls == 8
    for key, values in theirs.items():
        np.testing.assert_allclose(ours[key], values, rtol=1e-5, err_msg=key)


def test_predict_step_override_and_compute_loss_value() -> None:
    class Doubled(lamina.Model):
        def predict_step(self, data):
            return self(data, training=False) * 2

    inputs = lamina.Input(shape=(5,))
    model = Doubled(inputs, lamina.layers.Dense(1, kernel_initializer="ones")(inputs))
    np.testing.assert_allclose(model.predict(X, verbose=0), 2 * X.sum(1, keepdims=True),
                               rtol=1e-5)
    model.compile(optimizer="sgd", loss="mae")
    y_pred = model(torch.from_numpy(X))
    expected = float(np.abs(Y - X.sum(1, keepdims=True)).mean())
    assert float(model.compute_loss(y=torch.from_numpy(Y), y_pred=y_pred).detach()) == \
        pytest.approx(expected, rel=1e-5)


def test_two_optimizers_gan_style_steps() -> None:
    """Two optimizers, each built by its first apply on its own weights (the GAN guide's
    pattern); a compile of one's own that calls super().compile() with no loss."""
    class TwoPart(lamina.Model):
        def __init__(self):
            super().__init__()
            self.first = lamina.layers.Dense(1, kernel_initializer="ones", use_bias=False)
            self.second = lamina.layers.Dense(1, kernel_initializer="ones", use_bias=False)
            self.first_loss = lamina.metrics.Mean(name="first_loss")

        def compile(self, first_optimizer, second_optimizer):
            super().compile()
            self.first_optimizer, self.second_optimizer = first_optimizer, second_optimizer

        def train_step(self, data):
            x, y = data
            self.zero_grad()
            loss = ((self.first(x) - y) ** 2).mean()
            loss.backward()
            self.first_optimizer.apply([w.grad for w in self.first.trainable_weights],
                                       self.first.trainable_weights)
            self.zero_grad()
            other = ((self.second(x) + y) ** 2).mean()
            other.backward()
            self.second_optimizer.apply([w.grad for w in self.second.trainable_weights],
                                        self.second.trainable_weights)
            self.first_loss.update_state(loss)
            return {"first_loss": self.first_loss.result(), "second_loss": other}

    model = TwoPart()
    model.first(torch.zeros(1, 1)), model.second(torch.zeros(1, 1))
    model.compile(lamina.optimizers.SGD(0.1), lamina.optimizers.SGD(0.2))
    history = model.fit(np.ones((2, 1), "float32"), np.zeros((2, 1), "float32"),
                        batch_size=2, epochs=1, verbose=0)
    # first: w = 1 - 0.1 * 2 * (1 - 0) = 0.8; second: w = 1 - 0.2 * 2 * (1 + 0) = 0.6
    assert float(model.first.kernel.detach()) == pytest.approx(0.8)
    assert float(model.second.kernel.detach()) == pytest.approx(0.6)
    assert history.history == {"first_loss": [1.0], "second_loss": [1.0]}
    assert [m.name for m in model.metrics] == ["loss", "first_loss"]


def test_functional_subclass_saves_and_loads_as_its_class(tmp_path) -> None:
    @lamina.saving.register_keras_serializable(package="tests")
    class Saved(lamina.Model):
        def train_step(self, data):
            return super().train_step(data)

    inputs = lamina.Input(shape=(5,))
    model = Saved(inputs, lamina.layers.Dense(2)(inputs), name="saved")
    model.compile(optimizer="adam", loss="mse")
    model.save(tmp_path / "m.lamina")
    loaded = lamina.models.load_model(tmp_path / "m.lamina")
    assert isinstance(loaded, Saved) and isinstance(loaded, lamina.models.Functional)
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0))


def test_a_step_that_returns_no_dict_is_a_clear_error() -> None:
    class Bad(lamina.Model):
        def train_step(self, data):
            return 3.0

    inputs = lamina.Input(shape=(5,))
    model = Bad(inputs, lamina.layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(TypeError, match="train_step must return a dict"):
        model.fit(X, Y, verbose=0)
