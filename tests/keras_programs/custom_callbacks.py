"""Writing your own callbacks.

A callback that records which hooks fit, evaluate and predict call, in what order and with
what logs; one that stops training at the lowest loss and puts those weights back; and one
that reads and sets the optimizer's learning rate at the start of every epoch.
"""

import lamina as keras
import numpy as np

rng = np.random.default_rng(11)
x_train = rng.normal(size=(256, 8)).astype("float32")
y_train = (x_train @ rng.normal(size=(8, 1))).astype("float32")


def regression_model(learning_rate=0.1):
    model = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(1)])
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
        loss="mean_squared_error",
        metrics=["mean_absolute_error"],
    )
    return model


class HookRecorder(keras.callbacks.Callback):
    """Writes down every hook it is called on, with the keys of the logs it was given."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def _record(self, hook, logs):
        self.calls.append((hook, sorted(logs or {})))

    def on_train_begin(self, logs=None):
        self._record("train_begin", logs)

    def on_train_end(self, logs=None):
        self._record("train_end", logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._record(f"epoch_begin {epoch}", logs)

    def on_epoch_end(self, epoch, logs=None):
        self._record(f"epoch_end {epoch}", logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._record(f"train_batch_begin {batch}", logs)

    def on_train_batch_end(self, batch, logs=None):
        self._record(f"train_batch_end {batch}", logs)

    def on_test_begin(self, logs=None):
        self._record("test_begin", logs)

    def on_test_end(self, logs=None):
        self._record("test_end", logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._record(f"test_batch_begin {batch}", logs)

    def on_test_batch_end(self, batch, logs=None):
        self._record(f"test_batch_end {batch}", logs)

    def on_predict_begin(self, logs=None):
        self._record("predict_begin", logs)

    def on_predict_end(self, logs=None):
        self._record("predict_end", logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._record(f"predict_batch_begin {batch}", logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._record(f"predict_batch_end {batch}", logs)


def hooks_in_order():
    model = regression_model()
    recorder = HookRecorder()
    # 256 samples in batches of 128: two batches an epoch.
    model.fit(x_train, y_train, batch_size=128, epochs=2, verbose=0, callbacks=[recorder])
    hooks = [hook for hook, _ in recorder.calls]
    one_epoch = ["train_batch_begin 0", "train_batch_end 0",
                 "train_batch_begin 1", "train_batch_end 1"]
    assert hooks == (
        ["train_begin", "epoch_begin 0", *one_epoch, "epoch_end 0",
         "epoch_begin 1", *one_epoch, "epoch_end 1", "train_end"]
    ), hooks
    logs = dict(recorder.calls)
    assert logs["train_batch_end 1"] == ["loss", "mean_absolute_error"]
    assert logs["epoch_end 1"] == ["loss", "mean_absolute_error"]
    # The callback knows the model it is attached to.
    assert recorder.model is model

    recorder.calls.clear()
    model.evaluate(x_train, y_train, batch_size=128, verbose=0, callbacks=[recorder])
    hooks = [hook for hook, _ in recorder.calls]
    assert hooks == ["test_begin", "test_batch_begin 0", "test_batch_end 0",
                     "test_batch_begin 1", "test_batch_end 1", "test_end"], hooks
    assert dict(recorder.calls)["test_end"] == ["loss", "mean_absolute_error"]

    recorder.calls.clear()
    model.predict(x_train, batch_size=128, verbose=0, callbacks=[recorder])
    hooks = [hook for hook, _ in recorder.calls]
    assert hooks == ["predict_begin", "predict_batch_begin 0", "predict_batch_end 0",
                     "predict_batch_begin 1", "predict_batch_end 1", "predict_end"], hooks


class LossPrinter(keras.callbacks.Callback):
    """Reads the running loss from the logs, as the guide's printing callback does."""

    def __init__(self):
        super().__init__()
        self.epoch_losses = []

    def on_epoch_end(self, epoch, logs=None):
        print(f"epoch {epoch}: average loss {logs['loss']:7.4f}, "
              f"mean absolute error {logs['mean_absolute_error']:7.4f}")
        self.epoch_losses.append(logs["loss"])


def reading_logs():
    model = regression_model()
    printer = LossPrinter()
    history = model.fit(x_train, y_train, batch_size=32, epochs=3, verbose=0,
                        callbacks=[printer])
    np.testing.assert_allclose(printer.epoch_losses, history.history["loss"], rtol=1e-6)
    assert printer.epoch_losses[-1] < printer.epoch_losses[0]


class EarlyStoppingAtMinLoss(keras.callbacks.Callback):
    """Stops when the loss has not fallen for ``patience`` epochs; keeps the best weights."""

    def __init__(self, patience=0):
        super().__init__()
        self.patience = patience
        self.best_weights = None

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = np.inf

    def on_epoch_end(self, epoch, logs=None):
        current = logs.get("loss")
        if current < self.best:
            self.best = current
            self.wait = 0
            self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.model.stop_training = True
                self.model.set_weights(self.best_weights)

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0:
            print(f"epoch {self.stopped_epoch + 1}: early stopping")


def early_stopping_at_min_loss():
    # A learning rate large enough to make plain SGD diverge after a few steps.
    model = regression_model(learning_rate=1.2)
    stopper = EarlyStoppingAtMinLoss(patience=1)
    history = model.fit(x_train, y_train, batch_size=256, epochs=30, verbose=0,
                        callbacks=[stopper])
    losses = history.history["loss"]
    assert len(losses) < 30, "training never stopped"
    assert stopper.stopped_epoch == len(losses) - 1
    assert losses[-1] >= stopper.best
    # The model now holds the weights of the best epoch.
    for restored, best in zip(model.get_weights(), stopper.best_weights):
        np.testing.assert_array_equal(restored, best)


LR_SCHEDULE = [(3, 0.05), (6, 0.01), (9, 0.005)]


def lr_schedule(epoch, lr):
    """The rate set at the start of the epochs listed in LR_SCHEDULE; otherwise unchanged."""
    if epoch < LR_SCHEDULE[0][0] or epoch > LR_SCHEDULE[-1][0]:
        return lr
    for start, rate in LR_SCHEDULE:
        if epoch == start:
            return rate
    return lr


class CustomLearningRateScheduler(keras.callbacks.Callback):
    """Sets the optimizer's learning rate from ``schedule(epoch, current_rate)``."""

    def __init__(self, schedule):
        super().__init__()
        self.schedule = schedule
        self.rates = []

    def on_epoch_begin(self, epoch, logs=None):
        if not hasattr(self.model.optimizer, "learning_rate"):
            raise ValueError('The optimizer must have a "learning_rate" attribute.')
        current = float(self.model.optimizer.learning_rate)
        scheduled = self.schedule(epoch, current)
        self.model.optimizer.learning_rate = scheduled
        self.rates.append(scheduled)


def learning_rate_schedule():
    model = regression_model(learning_rate=0.1)
    scheduler = CustomLearningRateScheduler(lr_schedule)
    model.fit(x_train, y_train, batch_size=64, epochs=8, verbose=0, callbacks=[scheduler])
    np.testing.assert_allclose(
        scheduler.rates, [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.01, 0.01], rtol=1e-6
    )
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 0.01, rtol=1e-6)


def main():
    keras.utils.set_random_seed(11)
    hooks_in_order()
    reading_logs()
    early_stopping_at_min_loss()
    learning_rate_schedule()
    print("custom_callbacks: ok")


if __name__ == "__main__":
    main()
