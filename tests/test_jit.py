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
