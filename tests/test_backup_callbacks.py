"""BackupAndRestore resumes an interrupted fit where it stopped (weights, optimizer state,
epoch), so the result equals an uninterrupted fit; SwapEMAWeights evaluates with the
optimizer's moving averages, as Keras's does."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import callbacks, layers, optimizers

X = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
Y = X @ np.array([[1.0], [-2.0], [0.5]], "float32")


def model() -> lamina.Sequential:
    torch.manual_seed(0)
    built = lamina.Sequential([layers.Dense(4, activation="tanh", input_shape=(3,)),
                               layers.Dense(1)])
    built.compile(optimizer=optimizers.Adam(learning_rate=0.05), loss="mse")
    return built


class Interrupt(callbacks.Callback):
    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt


def test_an_interrupted_fit_resumes_and_ends_as_an_uninterrupted_one(tmp_path) -> None:
    straight = model()
    straight.fit(X, Y, epochs=5, batch_size=8, shuffle=False, verbose=0)
    resumed = model()
    backup = callbacks.BackupAndRestore(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        resumed.fit(X, Y, epochs=5, batch_size=8, shuffle=False, verbose=0,
                    callbacks=[backup, Interrupt(3)])
    assert (tmp_path / "backup" / "latest.lamina").exists()
    fresh = model()  # a new process would build the model again
    history = fresh.fit(X, Y, epochs=5, batch_size=8, shuffle=False, verbose=0,
                        callbacks=[callbacks.BackupAndRestore(tmp_path / "backup")])
    assert history.epoch == [3, 4]  # epochs 0-2 were done before the interruption
    np.testing.assert_allclose(fresh.predict(X, verbose=0), straight.predict(X, verbose=0),
                               rtol=1e-5, atol=1e-6)
    assert int(fresh.optimizer.iterations) == int(straight.optimizer.iterations) == 20
    assert not (tmp_path / "backup").exists()  # deleted when fit ends
    with pytest.raises(ValueError, match="save_freq"):
        callbacks.BackupAndRestore(tmp_path, save_freq=0)


def test_swap_ema_weights_evaluates_with_the_averages() -> None:
    """With ema_momentum=1 the average stays at the weights after the first step (Keras's
    first-step rule), so validation with SwapEMAWeights sees those weights."""
    torch.manual_seed(0)
    net = lamina.Sequential([layers.Dense(1, input_shape=(3,))])
    net.compile(optimizer=optimizers.SGD(0.1, use_ema=True, ema_momentum=1.0), loss="mse")
    first = lamina.models.clone_model(net)
    first.set_weights(net.get_weights())
    first.compile(optimizer=optimizers.SGD(0.1), loss="mse")
    first.fit(X[:8], Y[:8], epochs=1, batch_size=8, shuffle=False, verbose=0)
    expected = first.evaluate(X, Y, verbose=0)
    history = net.fit(X[:16], Y[:16], epochs=1, batch_size=8, shuffle=False, verbose=0,
                      validation_data=(X, Y), callbacks=[callbacks.SwapEMAWeights()])
    assert history.history["val_loss"][0] == pytest.approx(expected, rel=1e-6)
    assert history.history["val_loss"][0] != pytest.approx(history.history["loss"][0])
    with pytest.raises(ValueError, match="use_ema=True"):
        plain = lamina.Sequential([layers.Dense(1, input_shape=(3,))])
        plain.compile(optimizer="sgd", loss="mse")
        plain.fit(X, Y, verbose=0, validation_data=(X, Y),
                  callbacks=[callbacks.SwapEMAWeights()])
