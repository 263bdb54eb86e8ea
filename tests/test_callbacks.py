"""Callbacks change what fit does exactly as documented (Keras's semantics)."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import lamina
from lamina import layers
from lamina.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from lamina.errors import ArgumentError

RNG = np.random.default_rng(0)
X = RNG.normal(size=(64, 3)).astype(np.float32)
Y = (X @ np.array([[1.0], [-1.0], [2.0]], dtype=np.float32)).astype(np.float32)


def model(optimizer: object = "sgd") -> lamina.Sequential:
    torch.manual_seed(0)
    built = lamina.Sequential([layers.Dense(4, activation="tanh", input_shape=(3,)),
                               layers.Dense(1)])
    built.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    return built


class Scripted(Callback):
    """Puts a scripted value into the logs as ``score`` and remembers the weights."""

    def __init__(self, values: list[float]) -> None:
        super().__init__()
        self.values = values
        self.weights: list[dict[str, torch.Tensor]] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs["score"] = self.values[epoch]
        self.weights.append({k: v.clone() for k, v in self.model.state_dict().items()})


def test_history_and_initial_epoch() -> None:
    history = model().fit(X, Y, epochs=4, initial_epoch=2, verbose=0)
    assert history.epoch == [2, 3]
    assert list(history.history) == ["loss", "mae"] and len(history.history["loss"]) == 2


HOOKS = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
         "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
         "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
         "on_predict_batch_begin", "on_predict_batch_end"]


class Recorder(Callback):
    """Records the name of every hook called."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []


for _hook in HOOKS:
    setattr(Recorder, _hook, lambda self, *args, _name=_hook: self.calls.append(_name))


def test_hooks_run_in_keras_order() -> None:
    recorder = Recorder()
    trained = model()
    trained.fit(X, Y, epochs=1, batch_size=32, validation_split=0.5, verbose=0,
                callbacks=[recorder])
    assert recorder.calls == [
        "on_train_begin", "on_epoch_begin", "on_train_batch_begin", "on_train_batch_end",
        "on_test_begin", "on_test_batch_begin", "on_test_batch_end", "on_test_end",
        "on_epoch_end", "on_train_end"]
    recorder.calls.clear()
    trained.evaluate(X, Y, batch_size=64, verbose=0, callbacks=[recorder])
    trained.predict(X, batch_size=64, verbose=0, callbacks=[recorder])
    assert recorder.calls == [
        "on_test_begin", "on_test_batch_begin", "on_test_batch_end", "on_test_end",
        "on_predict_begin", "on_predict_batch_begin", "on_predict_batch_end", "on_predict_end"]


def test_keras_2_batch_hook_names_still_work() -> None:
    seen = []

    class OldStyle(Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append((batch, sorted(logs)))

    model().fit(X, Y, batch_size=32, verbose=0, callbacks=[OldStyle()])
    assert seen == [(0, ["loss", "mae"]), (1, ["loss", "mae"])]


def test_early_stopping_waits_patience_epochs_and_restores_the_best() -> None:
    scripted = Scripted([5.0, 4.0, 4.5, 4.6, 3.0, 2.0])
    stopper = EarlyStopping(monitor="score", patience=2, restore_best_weights=True)
    trained = model()
    history = trained.fit(X, Y, epochs=6, verbose=0, callbacks=[scripted, stopper])
    # Best at epoch 1 (4.0); epochs 2 and 3 do not improve: stop after epoch 3.
    assert history.epoch == [0, 1, 2, 3] and stopper.stopped_epoch == 3
    assert stopper.best == 4.0 and stopper.best_epoch == 1
    for key, value in trained.state_dict().items():
        torch.testing.assert_close(value, scripted.weights[1][key])


def test_early_stopping_min_delta_mode_and_baseline() -> None:
    small_steps = Scripted([1.0, 0.99, 0.98, 0.97])
    history = model().fit(X, Y, epochs=4, verbose=0, callbacks=[
        small_steps, EarlyStopping(monitor="score", min_delta=0.05, patience=1)])
    assert history.epoch == [0, 1]  # 0.01 improvements are below min_delta
    rising = Scripted([0.1, 0.2, 0.3, 0.2])
    history = model().fit(X, Y, epochs=4, verbose=0, callbacks=[
        rising, EarlyStopping(monitor="score", mode="max", patience=0)])
    assert history.epoch == [0, 1, 2, 3]
    for baseline, epochs in ((None, [0, 1, 2]), (0.1, [0, 1])):
        flat = Scripted([0.5, 0.5, 0.5, 0.5])
        history = model().fit(X, Y, epochs=4, verbose=0, callbacks=[
            flat, EarlyStopping(monitor="score", baseline=baseline, patience=2)])
        # An unbeaten baseline keeps counting from the first epoch.
        assert history.epoch == epochs
    assert EarlyStopping(monitor="val_accuracy").maximise
    assert not EarlyStopping(monitor="val_loss").maximise


def test_monitoring_a_missing_value_is_a_clear_error() -> None:
    with pytest.raises(ArgumentError, match=r"'val_loss'.*\['loss', 'mae'\].*validation_data"):
        model().fit(X, Y, epochs=2, verbose=0, callbacks=[EarlyStopping()])
    history = model().fit(X, Y, epochs=3, verbose=0, validation_split=0.25, validation_freq=2,
                          callbacks=[EarlyStopping(patience=5)])
    assert len(history.history["val_loss"]) == 1  # skipped quietly on unvalidated epochs


def test_model_checkpoint_writes_weights_and_best_only(tmp_path) -> None:
    trained = model()
    path = tmp_path / "weights-{epoch:02d}.safetensors"
    trained.fit(X, Y, epochs=2, verbose=0,
                callbacks=[ModelCheckpoint(path, save_weights_only=True)])
    saved = load_file(tmp_path / "weights-02.safetensors")
    assert (tmp_path / "weights-01.safetensors").exists()
    for key, value in trained.state_dict().items():
        torch.testing.assert_close(saved[key], value)
    best_path = tmp_path / "best-{epoch}.safetensors"
    scripted = Scripted([3.0, 2.0, 2.5, 1.0])
    model().fit(X, Y, epochs=4, verbose=0, callbacks=[scripted, ModelCheckpoint(
        best_path, monitor="score", save_best_only=True, save_weights_only=True)])
    assert sorted(p.name for p in tmp_path.glob("best-*")) == [
        "best-1.safetensors", "best-2.safetensors", "best-4.safetensors"]
    restored = model()  # other layer names: weights are matched by position
    restored.load_weights(str(tmp_path / "best-2.safetensors"))
    for value, expected in zip(restored.state_dict().values(), scripted.weights[1].values()):
        torch.testing.assert_close(value, expected)


def test_model_checkpoint_saves_the_whole_model_to_resume_from(tmp_path) -> None:
    trained = model(lamina.optimizers.Adam(learning_rate=0.01))
    trained.compile(optimizer=trained.optimizer, loss=lamina.losses.Huber(delta=0.5),
                    metrics=["mae", lamina.metrics.AUC(num_thresholds=20)], loss_weights=[2.0])
    trained.fit(X, Y, epochs=2, verbose=0,
                callbacks=[ModelCheckpoint(tmp_path / "model.lamina", monitor="loss")])
    resumed = lamina.load_model(tmp_path / "model.lamina")
    np.testing.assert_allclose(resumed.predict(X, verbose=0), trained.predict(X, verbose=0))
    # The compile and the optimizer's moments come back: training goes on identically.
    assert type(resumed.optimizer) is lamina.optimizers.Adam
    assert isinstance(resumed.optimizer, torch.optim.Adam)
    assert resumed.optimizer.param_groups[0]["lr"] == 0.01
    assert resumed.metrics_names == ["loss"]  # resolved by the first batch, as before
    histories = [m.fit(X, Y, epochs=2, shuffle=False, verbose=0).history
                 for m in (trained, resumed)]
    assert histories[0] == histories[1] and set(histories[0]) == {"loss", "mae", "auc"}
    custom = model()
    custom.compile(optimizer="sgd", loss=lambda t, p: ((t - p) ** 4).mean(-1))
    custom.save(tmp_path / "custom.lamina")
    assert not lamina.load_model(tmp_path / "custom.lamina").compiled  # as in Keras


def test_reduce_lr_on_plateau_follows_patience_cooldown_and_floor() -> None:
    scripted = Scripted([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    reducer = ReduceLROnPlateau(monitor="score", factor=0.5, patience=1, cooldown=2,
                                min_lr=0.0015)
    trained = model(lamina.optimizers.SGD(learning_rate=0.01))
    history = trained.fit(X, Y, epochs=7, verbose=0, callbacks=[scripted, reducer])
    # Logged at each epoch end, before that epoch's reduction; after a reduction two
    # epochs of cooldown, the second of which already counts (Keras's order).
    assert history.history["learning_rate"] == pytest.approx(
        [0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025, 0.0015])
    assert trained.optimizer.param_groups[0]["lr"] == pytest.approx(0.0015)


def test_learning_rate_scheduler_sets_each_epochs_rate() -> None:
    seen = []
    trained = model(lamina.optimizers.SGD(learning_rate=0.1))
    history = trained.fit(X, Y, epochs=3, verbose=0, callbacks=[
        LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr),
        LambdaCallback(on_train_batch_begin=lambda batch, logs: seen.append(
            trained.optimizer.param_groups[0]["lr"]))])
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.025])
    assert seen[0] == 0.1 and seen[-1] == pytest.approx(0.025)
    LearningRateScheduler(lambda epoch: 0.3).set_model(trained)  # one-argument schedules
    with pytest.raises(ArgumentError, match="finite number"):
        trained.fit(X, Y, verbose=0, callbacks=[LearningRateScheduler(lambda e, lr: None)])


def test_csv_logger_writes_a_row_per_epoch(tmp_path) -> None:
    path = tmp_path / "log.csv"
    history = model().fit(X, Y, epochs=3, verbose=0, callbacks=[CSVLogger(path)])
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["epoch", "loss", "mae"]
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert [float(r["loss"]) for r in rows] == pytest.approx(history.history["loss"])
    model().fit(X, Y, epochs=2, initial_epoch=0, verbose=0,
                callbacks=[CSVLogger(path, append=True)])
    with open(path, newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 5


def test_terminate_on_nan_stops_at_the_bad_batch(capsys: pytest.CaptureFixture) -> None:
    trained = model()
    ran = []

    def poison(batch: int, logs: dict) -> None:
        if batch == 3:
            with torch.no_grad():
                trained.layers[0].kernel.fill_(math.nan)

    history = trained.fit(X, Y, epochs=3, batch_size=8, verbose=0, callbacks=[
        LambdaCallback(on_train_batch_begin=poison,
                       on_train_batch_end=lambda batch, logs: ran.append(batch)),
        TerminateOnNaN()])
    assert ran == [0, 1, 2, 3] and history.epoch == [0]
    assert math.isnan(history.history["loss"][0])
    assert "Epoch 1, batch 3: invalid loss nan, terminating training" in capsys.readouterr().out


def test_stop_training_from_a_callback_ends_after_the_batch() -> None:
    trained = model()
    ran = []

    def stop(batch: int, logs: dict) -> None:
        ran.append(batch)
        trained.stop_training = batch == 1

    history = trained.fit(X, Y, epochs=5, batch_size=8, verbose=0,
                          callbacks=[LambdaCallback(on_train_batch_end=stop)])
    assert ran == [0, 1] and history.epoch == [0]


def test_lambda_callback_rejects_unknown_hooks() -> None:
    with pytest.raises(ArgumentError, match="unknown hook 'on_epoch_finish'"):
        LambdaCallback(on_epoch_finish=print)
    with pytest.raises(ArgumentError, match="Callback instances"):
        model().fit(X, Y, verbose=0, callbacks=[print])
