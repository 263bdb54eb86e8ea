"""keras.utils.Progbar and keras.utils.get_source_inputs against Keras 3 (torch backend)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import lamina
from lamina.errors import ArgumentError
from lamina.utils import Progbar, get_source_inputs

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

STEPS = [(2, [("loss", 3.0), ("acc", 0.5), ("lr", 0.1)]),
         (3, [("loss", 1.0), ("acc", 0.7), ("lr", 0.2)]),
         (7, [("loss", np.float32(0.5)), ("acc", np.array(0.9)), ("lr", 0.3)])]


@pytest.mark.parametrize("options", [{}, {"stateful_metrics": ["lr"]},
                                     {"stateless_metrics": ["loss"]}])
@pytest.mark.parametrize("target", [10, 7, None])
def test_progbar_shows_the_averages_keras_shows(options: dict, target: int | None) -> None:
    ours = Progbar(target, verbose=0, **options)
    theirs = keras.utils.Progbar(target, verbose=0, **options)
    for current, values in STEPS:
        ours.update(current, values)
        theirs.update(current, values)
    expected = {name: float(np.mean(total)) / max(count, 1)
                for name, (total, count) in theirs._values.items()}
    assert ours.averages() == pytest.approx(expected)
    ours.add(1, [("loss", 2.0)])
    theirs.add(1, [("loss", 2.0)])
    total, count = theirs._values["loss"]
    assert ours.averages()["loss"] == pytest.approx(total / count)


def test_progbar_prints_one_line_at_the_end_with_verbose_2(
        capsys: pytest.CaptureFixture[str]) -> None:
    bar = Progbar(4, verbose=2)
    bar.update(2, [("loss", 1.0)])
    assert capsys.readouterr().out == ""
    bar.update(4, [("loss", 0.25)])
    out = capsys.readouterr().out
    assert out.startswith("4/4 - ") and out.endswith("loss: 0.2500\n"), out
    silent = Progbar(4, verbose=0)
    silent.update(4, [("loss", 1.0)])
    assert capsys.readouterr().out == ""


def test_progbar_draws_a_bar_with_verbose_1(capsys: pytest.CaptureFixture[str]) -> None:
    bar = Progbar(10, width=10, verbose=1, interval=0.0)
    bar.update(5, [("loss", 1.5)])
    assert "5/10 [=====>....]" in capsys.readouterr().out
    with pytest.raises(ArgumentError, match="not both"):
        Progbar(3, stateful_metrics=["a"], stateless_metrics=["b"])


def test_get_source_inputs_finds_the_inputs_keras_finds() -> None:
    def build(lib: object) -> tuple:
        a = lib.Input(shape=(2,), name="a")
        b = lib.Input(shape=(2,), name="b")
        c = lib.Input(shape=(2,), name="c")
        shared = lib.layers.Dense(2)
        x = lib.layers.Add()([shared(b), a])
        y = lib.layers.Concatenate()([x, shared(c), a])
        return a, x, y

    ours, theirs = build(lamina), build(keras)
    for mine, keras_tensor in zip(ours, theirs):
        found = get_source_inputs(mine)
        expected = keras.utils.get_source_inputs(keras_tensor)
        assert [t.node.layer.name for t in found] == [t.name for t in expected]
    with pytest.raises(ArgumentError, match="symbolic tensor"):
        get_source_inputs(np.zeros(2))
