"""compile / fit / evaluate / predict: against plain PyTorch loops and numpy formulas."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import lamina
from lamina import layers
from lamina.errors import ArgumentError, DataError, NotCompiledError, ShapeError
from lamina.training import compile_arguments, steps

RNG = np.random.default_rng(0)
X = RNG.normal(size=(96, 4)).astype(np.float32)
LABELS = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 0.5)
TARGETS = (X @ np.array([[1.0], [-2.0], [0.5], [0.0]], dtype=np.float32)) + 0.3


def regressor(seed: int = 0) -> lamina.Sequential:
    torch.manual_seed(seed)
    return lamina.Sequential([layers.Dense(8, activation="tanh", input_shape=(4,)),
                              layers.Dense(1)])


def classifier(seed: int = 0) -> lamina.Sequential:
    torch.manual_seed(seed)
    return lamina.Sequential([layers.Dense(16, activation="relu", input_shape=(4,)),
                              layers.Dense(3, activation="softmax")])


def weights_of(model: torch.nn.Module) -> list[np.ndarray]:
    return [w.detach().numpy().copy() for w in model.state_dict().values()]


def assert_same_weights(a: list[np.ndarray], b: list[np.ndarray], atol: float = 1e-6) -> None:
    assert len(a) == len(b)
    for left, right in zip(a, b):
        np.testing.assert_allclose(left, right, atol=atol)


def manual_sgd_epochs(model: torch.nn.Module, x: np.ndarray, y: np.ndarray, epochs: int,
                      batch_size: int, lr: float, shuffle: bool) -> None:
    """What fit(optimizer=SGD(lr), loss='mse') should do, written as plain PyTorch."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(xs)) if shuffle else torch.arange(len(xs))
        xe, ye = xs[order], ys[order]
        for start in range(0, len(xs), batch_size):
            loss = torch.mean((model(xe[start:start + batch_size])
                               - ye[start:start + batch_size]) ** 2)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()


@pytest.mark.parametrize("shuffle", [False, True])
def test_fit_does_what_a_plain_pytorch_loop_does(shuffle: bool) -> None:
    ours, reference = regressor(), regressor()
    ours.compile(optimizer=lamina.optimizers.SGD(learning_rate=0.05), loss="mse")
    torch.manual_seed(1)
    ours.fit(X, TARGETS, epochs=3, batch_size=20, shuffle=shuffle, verbose=0)
    torch.manual_seed(1)
    manual_sgd_epochs(reference, X, TARGETS, 3, 20, 0.05, shuffle)
    assert_same_weights(weights_of(ours), weights_of(reference))


def test_fit_reduces_loss_and_reaches_good_accuracy() -> None:
    model = classifier()
    model.compile(optimizer=lamina.optimizers.Adam(learning_rate=0.02),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(X, LABELS, epochs=40, batch_size=16, verbose=0)
    assert history is model.history and history.epoch == list(range(40))
    assert set(history.history) == {"loss", "accuracy"}
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    loss, accuracy = model.evaluate(X, LABELS, verbose=0)
    predicted = model.predict(X, verbose=0).argmax(1)
    assert accuracy == pytest.approx(np.mean(predicted == LABELS), abs=1e-6)
    assert accuracy > 0.9


def test_epoch_logs_are_the_means_over_the_epoch() -> None:
    model = regressor()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    seen: list[tuple[float, float]] = []

    def record(batch: int, logs: dict) -> None:
        seen.append((logs["loss"], logs["mae"]))

    history = model.fit(X, TARGETS, epochs=1, batch_size=32, shuffle=False, verbose=0,
                        callbacks=[lamina.callbacks.LambdaCallback(on_train_batch_end=record)])
    # Batch logs are running means; the epoch value is the last of them.
    assert history.history["loss"][0] == pytest.approx(seen[-1][0])
    assert len(seen) == 3


def test_validation_split_takes_the_last_samples() -> None:
    model = regressor()
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(X, TARGETS, epochs=2, validation_split=0.25, verbose=0)
    val_loss = model.evaluate(X[72:], TARGETS[72:], verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-5)
    other = regressor()
    other.compile(optimizer="sgd", loss="mse")
    torch.manual_seed(3)
    tuple_history = other.fit(X[:72], TARGETS[:72], epochs=2, verbose=0,
                              validation_data=(X[72:], TARGETS[72:]))
    assert set(tuple_history.history) == {"loss", "val_loss"}


def test_evaluate_and_on_batch_methods_follow_the_formulas() -> None:
    model = regressor()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    prediction = model.predict(X, verbose=0)
    errors = (prediction - TARGETS)[:, 0]
    weights = RNG.uniform(0, 2, len(X)).astype(np.float32)
    assert model.evaluate(X, TARGETS, verbose=0, return_dict=True) == pytest.approx(
        {"loss": np.mean(errors ** 2), "mae": np.mean(np.abs(errors))}, rel=1e-5)
    loss, mae = model.test_on_batch(X, TARGETS, sample_weight=weights)
    assert loss == pytest.approx(np.sum(weights * errors ** 2) / len(X), rel=1e-5)
    # Keras 3: `metrics` are not weighted; `weighted_metrics` are.
    assert mae == pytest.approx(np.mean(np.abs(errors)), rel=1e-5)
    column = model.test_on_batch(X, TARGETS, sample_weight=weights[:, None])
    assert column == pytest.approx([loss, mae], rel=1e-6)  # (n, 1) weights are per sample
    model.compile(optimizer="sgd", loss="mse", weighted_metrics=["mae"])
    _, weighted_mae = model.test_on_batch(X, TARGETS, sample_weight=weights)
    assert weighted_mae == pytest.approx(np.sum(weights * np.abs(errors)) / weights.sum(),
                                         rel=1e-5)
    np.testing.assert_allclose(model.predict_on_batch(X), prediction, rtol=1e-6)
    before = weights_of(model)
    first = model.train_on_batch(X, TARGETS, return_dict=True)
    assert first["loss"] == pytest.approx(np.mean(errors ** 2), rel=1e-5)
    assert not np.allclose(before[0], weights_of(model)[0])
    assert model.training is False


def test_class_weight_multiplies_each_sample_loss() -> None:
    model = classifier()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    probabilities = model.predict(X, verbose=0)
    per_sample = -np.log(probabilities[np.arange(len(X)), LABELS])
    table = np.array([1.0, 3.0, 0.5])
    loss = model.train_on_batch(X, LABELS, class_weight={1: 3.0, 2: 0.5})
    assert loss == pytest.approx(np.mean(table[LABELS] * per_sample), rel=1e-5)


def test_evaluate_return_forms() -> None:
    model = classifier()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    assert isinstance(model.evaluate(X, LABELS, verbose=0), float)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", "sparse_top_k_categorical_accuracy"])
    values = model.evaluate(X, LABELS, verbose=0)
    assert len(values) == 3 and values[2] == 1.0  # top-5 of 3 classes
    assert model.metrics_names == ["loss", "accuracy", "sparse_top_k_categorical_accuracy"]


def _data_sources() -> dict[str, object]:
    x, y = torch.from_numpy(X), torch.from_numpy(TARGETS)

    def generator():
        for start in range(0, 96, 32):
            yield X[start:start + 32], TARGETS[start:start + 32]

    return {
        "tensors": (x, y),
        "dataset": (TensorDataset(x, y), None),
        "dataloader": (DataLoader(TensorDataset(x, y), batch_size=32), None),
        "generator": (generator(), None),
    }


@pytest.mark.parametrize("source", ["tensors", "dataset", "dataloader", "generator"])
def test_every_input_kind_trains_like_numpy_arrays(source: str) -> None:
    reference, model = regressor(), regressor()
    for candidate in (reference, model):
        candidate.compile(optimizer="sgd", loss="mse")
    reference.fit(X, TARGETS, batch_size=32, shuffle=False, verbose=0)
    x, y = _data_sources()[source]
    model.fit(x, y, batch_size=32, shuffle=False, verbose=0)
    assert_same_weights(weights_of(model), weights_of(reference))


def test_generator_with_steps_per_epoch_and_running_out() -> None:
    def endless():
        while True:
            yield X[:16], TARGETS[:16]

    model = regressor()
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(endless(), epochs=3, steps_per_epoch=2, verbose=0)
    assert len(history.epoch) == 3

    def three_batches():
        for start in range(0, 48, 16):
            yield X[start:start + 16], TARGETS[start:start + 16]

    history = model.fit(three_batches(), epochs=3, verbose=0)
    assert len(history.epoch) == 1  # the generator was used up in the first epoch


def two_input_two_output_model() -> lamina.Model:
    torch.manual_seed(0)
    first, second = lamina.Input(shape=(4,), name="first"), lamina.Input(shape=(2,), name="second")
    merged = layers.Concatenate()([layers.Dense(8, activation="relu")(first), second])
    score = layers.Dense(1, name="score")(merged)
    kind = layers.Dense(3, activation="softmax", name="kind")(merged)
    return lamina.Model([first, second], [score, kind])


def test_several_inputs_and_outputs_with_loss_weights() -> None:
    model = two_input_two_output_model()
    model.compile(optimizer="adam",
                  loss={"score": "mse", "kind": "sparse_categorical_crossentropy"},
                  loss_weights={"score": 0.5, "kind": 2.0}, metrics={"kind": ["accuracy"]})
    second = RNG.normal(size=(96, 2)).astype(np.float32)
    inputs = {"first": X, "second": second}
    score, kind = model.predict([X, second], verbose=0)
    mse = np.mean((score - TARGETS) ** 2)
    crossentropy = np.mean(-np.log(kind[np.arange(96), LABELS]))
    logs = model.test_on_batch(inputs, {"score": TARGETS, "kind": LABELS}, return_dict=True)
    assert logs == pytest.approx({"loss": 0.5 * mse + 2.0 * crossentropy, "score_loss": mse,
                                  "kind_loss": crossentropy,
                                  "kind_accuracy": np.mean(kind.argmax(1) == LABELS)}, rel=1e-5)
    history = model.fit(inputs, [TARGETS, LABELS], epochs=15, batch_size=16, verbose=0)
    assert set(history.history) == {"loss", "score_loss", "kind_loss", "kind_accuracy"}
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_fit_switches_to_training_mode_and_back() -> None:
    seen: list[tuple[bool, bool]] = []

    class Probe(layers.Layer):
        def call(self, inputs):
            seen.append((self.training, torch.is_grad_enabled()))
            return inputs

    model = lamina.Sequential([layers.Dense(1, input_shape=(4,)), Probe()])
    model.compile(optimizer="sgd", loss="mse")
    seen.clear()  # shape inference ran the layer on fake tensors
    model.fit(X, TARGETS, batch_size=48, validation_split=0.5, verbose=0)
    # The first fit also checks the output shapes once, without gradients.
    assert seen == [(False, False), (True, True), (False, False)]
    seen.clear()
    model.fit(X, TARGETS, batch_size=48, validation_split=0.5, verbose=0)
    assert seen == [(True, True), (False, False)]  # one train batch, one validation batch
    assert model.training is False
    model.train()
    seen.clear()
    model.predict(X, batch_size=96, verbose=0)
    model.evaluate(X, TARGETS, batch_size=96, verbose=0)
    assert seen == [(False, False), (False, False)] and model.training is True


def test_bad_inputs_fail_clearly_before_any_weight_changes() -> None:
    model = classifier()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    before = weights_of(model)
    cases = [
        ((X, LABELS[:90]), DataError, r"same number of samples.*x 96.*y 90"),
        ((X, np.eye(3)[LABELS]), ShapeError, r"expects integer labels.*categorical_crossentropy"),
        ((X, LABELS + 1), DataError, r"labels in \[0, 3\).*from 1 to 3"),
        ((np.where(np.arange(96)[:, None] == 7, np.nan, X), LABELS), DataError,
         r"x holds 4 NaN.*sample 7"),
        ((X, LABELS, "validation"), ArgumentError, "validation_split"),
    ]
    for arguments, error, message in cases:
        with pytest.raises(error, match=message):
            if len(arguments) == 3:
                model.fit(iter([(X, LABELS)]), validation_split=0.5, verbose=0)
            else:
                model.fit(*arguments, verbose=0)
    wrong_loss = classifier()
    wrong_loss.compile(optimizer="adam", loss="categorical_crossentropy")
    with pytest.raises(ShapeError, match="sparse_categorical_crossentropy"):
        wrong_loss.fit(X, LABELS, verbose=0)
    assert_same_weights(weights_of(model), before, atol=0)
    assert model.training is False
    with pytest.raises(NotCompiledError, match="compile"):
        classifier().fit(X, LABELS, verbose=0)


def test_nan_in_a_stream_batch_is_caught_before_the_step() -> None:
    model = regressor()
    model.compile(optimizer="sgd", loss="mse")
    before = weights_of(model)
    bad = X.copy()
    bad[3, 1] = np.inf
    with pytest.raises(DataError, match="NaN or infinite"):
        model.fit(DataLoader(TensorDataset(torch.from_numpy(bad), torch.from_numpy(TARGETS)),
                             batch_size=32), verbose=0)
    assert_same_weights(weights_of(model), before, atol=0)


def test_verbose_two_prints_one_keras_line_per_epoch(capsys: pytest.CaptureFixture) -> None:
    model = classifier()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(X, LABELS, epochs=2, validation_split=0.25, verbose=2)
    lines = capsys.readouterr().out.strip().splitlines()
    pattern = (r"Epoch {}/2 - \d+s - loss: \d\.\d{{4}} - accuracy: \d\.\d{{4}} - "
               r"val_loss: \d\.\d{{4}} - val_accuracy: \d\.\d{{4}}")
    assert len(lines) == 2
    for number, line in enumerate(lines, start=1):
        assert re.fullmatch(pattern.format(number), line), line
    model.fit(X, LABELS, verbose="auto")  # not a terminal: like verbose=2
    assert re.fullmatch(r"Epoch 1/1 - \d+s - loss: .* - accuracy: .*",
                        capsys.readouterr().out.strip())
    model.fit(X, LABELS, verbose=0)
    model.evaluate(X, LABELS, verbose=0)
    assert capsys.readouterr().out == ""


def test_verbose_one_draws_a_rich_bar(capsys: pytest.CaptureFixture) -> None:
    model = classifier()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(X, LABELS, epochs=1, batch_size=32, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/1" in out and "3/3" in out and "━" in out
    assert re.search(r"loss: \d\.\d{4} - accuracy: \d\.\d{4}", out)


def test_values_are_read_back_only_when_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = steps.CompileState.logs

    def counting(self):
        calls.append(1)
        return original(self)

    monkeypatch.setattr(steps.CompileState, "logs", counting)
    model = regressor()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model.fit(X, TARGETS, epochs=2, batch_size=8, verbose=0)  # 12 batches per epoch
    assert len(calls) == 2  # one host sync per epoch, none per batch


def test_jit_gives_the_losses_of_eager_mode() -> None:
    histories = []
    for jit in (False, True):
        model = classifier()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit=jit)
        torch.manual_seed(5)
        histories.append(model.fit(X, LABELS, epochs=3, batch_size=32, verbose=0))
    np.testing.assert_allclose(histories[1].history["loss"], histories[0].history["loss"],
                               rtol=1e-5)


def test_device_auto_prefers_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    model = regressor()
    model.compile(optimizer="sgd", loss="mse", device="auto")
    assert model._compile_state.device == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert compile_arguments.resolve_device("auto", model) == torch.device("cuda")
    assert compile_arguments.resolve_device("cpu", model) == torch.device("cpu")
    with pytest.raises(ArgumentError, match="device"):
        compile_arguments.resolve_device("gpu-please", model)


def test_compile_validates_its_arguments() -> None:
    model = regressor()
    model.compile(optimizer="adam")  # Keras's: a train_step of one's own needs no loss
    with pytest.raises(ArgumentError, match="no output has a loss"):
        model.fit(np.ones((2, 4), "float32"), np.ones((2, 1), "float32"), verbose=0)
    with pytest.raises(ArgumentError, match="Unknown loss"):
        model.compile(optimizer="adam", loss="msee")
    with pytest.raises(ArgumentError, match="Unknown metric"):
        model.compile(optimizer="adam", loss="mse", metrics=["mae", "accuracyy"])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model.compile(optimizer=optimizer, loss="mse")
    assert model.optimizer is optimizer


def test_subclassed_model_built_on_first_fit() -> None:
    class Regressor(lamina.Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(8, activation="tanh")
            self.out = layers.Dense(1)

        def call(self, inputs):
            return self.out(self.hidden(inputs))

    torch.manual_seed(0)
    model = Regressor()
    model.compile(optimizer="adam", loss="mse")
    assert not model.optimizer.built  # no weights yet: built with the first batch
    history = model.fit(X, TARGETS, epochs=10, verbose=0)
    assert len(model.optimizer.param_groups[0]["params"]) == 4
    assert history.history["loss"][-1] < history.history["loss"][0]
