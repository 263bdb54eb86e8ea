"""compile(jit=True): train, test and predict steps through torch.compile, as in eager mode."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import backend as K
from lamina import layers
from lamina.training.jit import GraphBreakWarning

RNG = np.random.default_rng(0)
X = RNG.normal(size=(70, 4)).astype(np.float32)  # 70 = 2 batches of 32 and one of 6
LABELS = RNG.integers(0, 3, size=70)


def antirectifier(x):
    x -= K.mean(x, axis=1, keepdims=True)
    x = K.l2_normalize(x, axis=1)
    pos = K.relu(x)
    neg = K.relu(-x)
    return K.concatenate([pos, neg], axis=1)


def _saved_model(tmp_path) -> str:
    torch.manual_seed(0)
    scale = lamina.Variable(1.5)
    model = lamina.Sequential([layers.Dense(8, input_shape=(4,)), layers.Lambda(antirectifier),
                               layers.Lambda(lambda x: x * scale),
                               layers.Dense(3, activation="softmax")])
    path = str(tmp_path / "model.lamina")
    model.save(path)
    return path


def _run(model: lamina.Model, jit: bool | str) -> tuple:
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit=jit)
    torch.manual_seed(3)
    history = model.fit(X, LABELS, epochs=2, batch_size=32, verbose=0)
    evaluated = model.evaluate(X, LABELS, batch_size=32, verbose=0)
    predicted = model.predict(X, batch_size=32, verbose=0)
    weights = [w.detach().numpy().copy() for w in model.state_dict().values()]
    return history.history, evaluated, predicted, weights


def test_compiled_steps_of_loaded_lambdas_match_eager(tmp_path) -> None:
    """Source-tier functions (loaded from a file) compile whole, like plain code."""
    path = _saved_model(tmp_path)
    eager = _run(lamina.load_model(path, compile=False), False)
    counters = torch._dynamo.utils.counters
    breaks, graphs = sum(counters["graph_break"].values()), counters["stats"]["unique_graphs"]
    compiled = _run(lamina.load_model(path, compile=False), True)
    assert sum(counters["graph_break"].values()) == breaks
    # One graph per step kind: train, test and predict; the short last batch reuses them.
    assert counters["stats"]["unique_graphs"] - graphs == 3
    for key in eager[0]:
        np.testing.assert_allclose(compiled[0][key], eager[0][key], rtol=1e-5)
    np.testing.assert_allclose(compiled[1], eager[1], rtol=1e-5)
    np.testing.assert_allclose(compiled[2], eager[2], atol=1e-6)
    for a, b in zip(compiled[3], eager[3]):
        np.testing.assert_allclose(a, b, atol=1e-6)


def talkative(x):
    print("a side effect torch.compile cannot capture")
    return x * 2.0


def test_a_graph_break_in_a_lambda_is_one_warning_naming_it(
        capsys: pytest.CaptureFixture[str]) -> None:
    def build() -> lamina.Sequential:
        torch.manual_seed(0)
        return lamina.Sequential([layers.Dense(8, input_shape=(4,)),
                                  layers.Lambda(talkative, name="talkative"),
                                  layers.Dense(3, activation="softmax")])

    eager = _run(build(), False)
    # Dynamo alone (backend "eager") is what finds graph breaks; inductor adds nothing here.
    with pytest.warns(GraphBreakWarning) as caught:
        compiled = _run(build(), "eager")
    messages = [str(w.message) for w in caught if w.category is GraphBreakWarning]
    assert len(messages) == 1, messages
    assert "Lambda 'talkative' (talkative(x))" in messages[0]
    assert "test_jit.py" in messages[0] and "print" in messages[0]
    np.testing.assert_allclose(compiled[2], eager[2], atol=1e-6)
    for key in eager[0]:
        np.testing.assert_allclose(compiled[0][key], eager[0][key], rtol=1e-5)
    capsys.readouterr()


def noisy_late(x):
    print("another side effect")
    return x + 1.0


def noisy_after_reset(x):
    print("a third side effect")
    return x - 1.0


def _break_model(function, name: str) -> lamina.Sequential:
    # A function of its own for each: Dynamo logs a break at one code location once.
    torch.manual_seed(0)
    model = lamina.Sequential([layers.Dense(8, input_shape=(4,)),
                               layers.Lambda(function, name=name),
                               layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit="eager")
    return model


def test_calls_that_compile_nothing_leave_the_loggers_alone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The watch listens from a compilation's start: a call served by the compiled graph
    sets no logger level (each Logger.setLevel clears every logger's cache)."""
    import logging

    torch.manual_seed(0)
    model = lamina.Sequential([layers.Dense(8, input_shape=(4,)), layers.Lambda(antirectifier),
                               layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit="eager")
    x, y = X[:32], LABELS[:32]
    model.train_on_batch(x, y)  # compiles
    calls: list[str] = []
    original = logging.Logger.setLevel
    monkeypatch.setattr(logging.Logger, "setLevel",
                        lambda self, level: (calls.append(self.name), original(self, level)))
    losses = [model.train_on_batch(x, y) for _ in range(3)]
    assert calls == []
    assert losses[2] < losses[0]  # it trains
    model.test_on_batch(x, y)  # the test step's first call compiles it: the watch listens
    assert any(name.endswith("__graph_breaks") for name in calls), calls


def test_a_break_first_compiled_after_a_dynamo_reset_is_still_reported(
        capsys: pytest.CaptureFixture[str]) -> None:
    model = _break_model(noisy_late, "late")
    x, y = X[:32], LABELS[:32]
    with pytest.warns(GraphBreakWarning, match="Lambda 'late'"):
        model.train_on_batch(x, y)
    torch._dynamo.reset()  # drops every compiled graph and compile-start callback
    other = _break_model(noisy_after_reset, "after_reset")
    with pytest.warns(GraphBreakWarning, match="Lambda 'after_reset'"):
        first = other.train_on_batch(x, y)
    # With breaks, every later call listens too (resumed code reads intermediates' .grad,
    # whose warning would fail under warnings-as-errors): it still trains, silently.
    for _ in range(3):
        last = other.train_on_batch(x, y)
    assert last < first
    capsys.readouterr()


def test_a_watch_inside_another_models_scope_gives_the_outer_one_back(
        capsys: pytest.CaptureFixture[str]) -> None:
    from lamina.training import jit

    outer, inner = jit.BreakWatch(torch.nn.Identity()), jit.BreakWatch(torch.nn.Identity())
    with outer:
        with inner:
            pass
        # A compilation in the outer scope after the inner one ended: the outer listens.
        torch.compile(lambda t: talkative(t) + 1, backend="eager")(torch.ones(2))
        heard = list(outer.messages)
    assert heard and not inner.messages
    assert any("print" in message for message in heard), heard
    capsys.readouterr()
