"""lamina.callbacks.TensorBoard: Keras's layout (log_dir/train, log_dir/validation, tags
epoch_<name>) checked with a recording writer passed as ``writer_factory``; the real
SummaryWriter's event files are read back when tensorboard is installed, and its absence
gives a MissingDependencyError naming ``pip install tensorboard``."""

from __future__ import annotations

import inspect
import os
import sys

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.callbacks import TensorBoard
from lamina.errors import LaminaError, MissingDependencyError

os.environ.setdefault("KERAS_BACKEND", "torch")


class RecordingWriter:
    """Stands in for SummaryWriter: every call is kept in ``LOG`` with the writer's folder."""

    LOG: list[tuple] = []

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.closed = False

    def add_scalar(self, tag, value, step):
        assert not self.closed
        self.LOG.append(("scalar", self.folder, tag, value, step))

    def add_histogram(self, tag, values, step):
        self.LOG.append(("histogram", self.folder, tag, values.numel(), step))

    def flush(self):
        pass

    def close(self):
        self.closed = True


@pytest.fixture
def log():
    RecordingWriter.LOG = []
    return RecordingWriter.LOG


def _model() -> lamina.Sequential:
    model = lamina.Sequential([layers.Input((3,)), layers.Dense(4, name="hidden"),
                               layers.Dense(1, name="out")])
    model.compile(optimizer=lamina.optimizers.SGD(learning_rate=0.05), loss="mse",
                  metrics=["mae"])
    return model


X = np.linspace(-1, 1, 48, dtype="float32").reshape(16, 3)
Y = X.sum(axis=1, keepdims=True)


def _scalars(log, folder):
    return {(tag, step): value for kind, where, tag, value, step in log
            if kind == "scalar" and where == folder}


def test_epoch_scalars_go_to_train_and_validation(tmp_path, log):
    board = TensorBoard(tmp_path, writer_factory=RecordingWriter)
    history = _model().fit(X, Y, epochs=3, batch_size=4, validation_split=0.25, verbose=0,
                           callbacks=[board])
    train = _scalars(log, os.path.join(tmp_path, "train"))
    validation = _scalars(log, os.path.join(tmp_path, "validation"))
    assert set(train) == {(tag, epoch) for epoch in range(3)
                          for tag in ("epoch_loss", "epoch_mae", "epoch_learning_rate")}
    assert set(validation) == {(tag, epoch) for epoch in range(3)
                               for tag in ("epoch_loss", "epoch_mae")}
    for epoch in range(3):
        assert train["epoch_loss", epoch] == pytest.approx(history.history["loss"][epoch])
        assert validation["epoch_mae", epoch] == pytest.approx(
            history.history["val_mae"][epoch])
        assert train["epoch_learning_rate", epoch] == pytest.approx(0.05)
    assert board.writers == {}  # closed at the end of fit


def test_histograms_every_histogram_freq_epochs(tmp_path, log):
    board = TensorBoard(tmp_path, histogram_freq=2, writer_factory=RecordingWriter)
    _model().fit(X, Y, epochs=3, verbose=0, callbacks=[board])
    histograms = {(tag, size, step) for kind, _, tag, size, step in log if kind == "histogram"}
    expected = {("hidden/kernel/histogram", 12), ("hidden/bias/histogram", 4),
                ("out/kernel/histogram", 4), ("out/bias/histogram", 1)}
    assert histograms == {(tag, size, step) for tag, size in expected for step in (0, 2)}


@pytest.mark.parametrize(("update_freq", "steps"), [("batch", [1, 2, 3, 4, 5, 6, 7, 8]),
                                                    (3, [3, 6])])
def test_batch_scalars_follow_update_freq(tmp_path, log, update_freq, steps):
    board = TensorBoard(tmp_path, update_freq=update_freq, write_steps_per_second=True,
                        writer_factory=RecordingWriter)
    _model().fit(X, Y, epochs=2, batch_size=4, verbose=0, callbacks=[board])
    train = _scalars(log, os.path.join(tmp_path, "train"))
    assert sorted(step for tag, step in train if tag == "batch_loss") == steps
    assert all(train["epoch_steps_per_second", epoch] > 0 for epoch in range(2))


def test_epoch_only_board_does_not_ask_for_batch_logs(tmp_path):
    assert not TensorBoard(tmp_path, writer_factory=RecordingWriter)\
        ._implements_train_batch_hooks()
    assert TensorBoard(tmp_path, update_freq="batch", writer_factory=RecordingWriter)\
        ._implements_train_batch_hooks()


def test_evaluate_outside_fit_logs_against_iterations(tmp_path, log):
    model = _model()
    model.fit(X, Y, epochs=1, batch_size=4, verbose=0)
    board = TensorBoard(tmp_path, writer_factory=RecordingWriter)
    loss, mae = model.evaluate(X, Y, verbose=0, callbacks=[board])
    validation = _scalars(log, os.path.join(tmp_path, "validation"))
    assert validation == {("evaluation_loss_vs_iterations", 4): pytest.approx(loss),
                          ("evaluation_mae_vs_iterations", 4): pytest.approx(mae)}


@pytest.mark.parametrize(("name", "value"), [("write_graph", True), ("write_images", True),
                                             ("profile_batch", 2), ("embeddings_freq", 1),
                                             ("embeddings_metadata", {"a": "m.tsv"}),
                                             ("update_freq", "sometimes"),
                                             ("histogram_freq", -1)])
def test_unimplemented_or_bad_arguments_raise(tmp_path, name, value):
    with pytest.raises(ValueError, match=name) as error:
        TensorBoard(tmp_path, writer_factory=RecordingWriter, **{name: value})
    assert isinstance(error.value, LaminaError) and "Received" in str(error.value)


def test_takes_kerass_arguments():
    keras = pytest.importorskip("keras")
    theirs = inspect.signature(keras.callbacks.TensorBoard).parameters
    ours = inspect.signature(TensorBoard).parameters
    assert list(theirs) == list(ours)[: len(theirs)]
    differing = {name for name in theirs if theirs[name].default != ours[name].default}
    assert differing == {"write_graph"}  # Keras writes the graph by default; lamina cannot


def test_missing_tensorboard_names_the_install_command_when_fit_starts(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    callback = TensorBoard(tmp_path)  # building it is fine, as in Keras
    model = lamina.Sequential([lamina.Input(shape=(2,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    before = [w.detach().clone() for w in model.weights]
    with pytest.raises(MissingDependencyError, match="pip install tensorboard") as error:
        model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0, callbacks=[callback])
    assert isinstance(error.value, ImportError)
    assert all(torch.equal(b, w) for b, w in zip(before, model.weights))  # no step ran


def test_real_summary_writer_event_files(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    history = _model().fit(X, Y, epochs=2, validation_split=0.25, verbose=0,
                           callbacks=[TensorBoard(tmp_path)])
    for folder, key in (("train", "loss"), ("validation", "val_loss")):
        events = EventAccumulator(str(tmp_path / folder))
        events.Reload()
        values = [event.value for event in events.Scalars("epoch_loss")]
        np.testing.assert_allclose(values, history.history[key], rtol=1e-6)

