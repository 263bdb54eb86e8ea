"""lamina.utils.plot_model / model_to_dot: the DOT text names every layer and edge, the
matplotlib drawing (forced with DOT_PROGRAM = None) writes a valid image whose size follows
dpi, and the Graphviz path hands dot that DOT text (a stand-in ``dot`` records the call;
the real program is used when installed)."""

from __future__ import annotations

import os
import re
import shutil
import stat
import struct
import sys

import pytest

import lamina
from lamina import layers
from lamina.errors import LaminaError
from lamina.utils import model_plot, model_to_dot, plot_model


def _branching_model() -> lamina.Model:
    inputs = lamina.Input((4,), name="features")
    left = layers.Dense(3, activation="relu", name="left")(inputs)
    right = layers.Dense(3, name="right", trainable=False)(inputs)
    merged = layers.Concatenate(name="merge")([left, right])
    head = lamina.Sequential([layers.Dense(2, name="hidden"), layers.Dense(1, name="score")],
                             name="head")
    return lamina.Model(inputs, head(merged), name="branching")


def _edges(text: str) -> set[tuple[str, str]]:
    return set(re.findall(r'"([^"]+)" -> "([^"]+)";', text))


def _nodes(text: str) -> set[str]:
    return set(re.findall(r'^\s*"([^"]+)" \[label=', text, flags=re.M))


def _png_size(path) -> tuple[int, int]:
    with open(path, "rb") as handle:
        header = handle.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and header[12:16] == b"IHDR"
    return struct.unpack(">II", header[16:24])


def test_dot_text_names_every_layer_and_edge():
    model = _branching_model()
    text = model_to_dot(model, show_shapes=True)
    assert _nodes(text) == {"features", "left", "right", "merge", "head"}
    assert _edges(text) == {("features", "left"), ("features", "right"), ("left", "merge"),
                            ("right", "merge"), ("merge", "head")}
    assert "Output shape: (None, 6)" in text and "Input shape: [(None, 3), (None, 3)]" in text
    expanded = model_to_dot(model, expand_nested=True)
    assert _nodes(expanded) == {"features", "left", "right", "merge", "head/hidden",
                                "head/score"}
    assert ("merge", "head/hidden") in _edges(expanded)
    assert ("head/hidden", "head/score") in _edges(expanded)
    assert "subgraph cluster_0" in expanded and 'label="head"' in expanded


def test_dot_labels_follow_the_options():
    model = _branching_model()
    text = model_to_dot(model, show_layer_activations=True, show_dtype=True,
                        show_trainable=True, rankdir="LR", dpi=96)
    assert "rankdir=LR, dpi=96" in text
    assert "left (Dense)\\nActivation: relu\\ndtype: float32" in text
    assert "Non-trainable" in text and "Activation: linear" in text
    plain = model_to_dot(model, show_layer_names=False)
    assert '[label="Dense"]' in plain and "left (Dense)" not in plain
    assert "Output shape" not in plain and "Activation" not in plain


def test_sequential_chains_its_layers_and_a_shared_layer_is_one_node():
    stack = lamina.Sequential([layers.Input((3,)), layers.Dense(4, name="a"),
                               layers.Dense(4, name="b"), layers.Dense(1, name="c")])
    text = model_to_dot(stack, show_shapes=True)
    assert _nodes(text) == {"a", "b", "c"} and _edges(text) == {("a", "b"), ("b", "c")}
    assert "Input shape: (None, 4)\\nOutput shape: (None, 1)" in text
    shared = layers.Dense(4, name="shared")
    inputs = lamina.Input((4,), name="x")
    model = lamina.Model(inputs, shared(shared(inputs)))
    text = model_to_dot(model)
    assert _nodes(text) == {"x", "shared"}
    assert _edges(text) == {("x", "shared"), ("shared", "shared")}


def test_subclassed_model_is_one_node_as_in_keras():
    class Custom(lamina.Model):
        def __init__(self):
            super().__init__(name="custom")
            self.first = layers.Dense(2)
            self.second = layers.Dense(1)

        def call(self, inputs):
            return self.second(self.first(inputs))

    text = model_to_dot(Custom())
    assert _nodes(text) == {"custom"} and _edges(text) == set()
    assert 'label="custom (Custom)"' in text


def test_matplotlib_drawing_writes_a_png_sized_by_dpi(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.setattr(model_plot, "DOT_PROGRAM", None)
    model = _branching_model()
    small = plot_model(model, tmp_path / "small.png", show_shapes=True, dpi=50)
    large = plot_model(model, tmp_path / "nested" / "large.png", show_shapes=True, dpi=100,
                       expand_nested=True, show_trainable=True)
    assert small == str(tmp_path / "small.png")
    width, height = _png_size(small)
    assert 100 < width < 2000 and 150 < height < 3000
    big_width, big_height = _png_size(large)
    assert big_width >= 1.9 * width and big_height > 2 * height  # dpi doubled, one more rank
    wide = plot_model(model, tmp_path / "wide.png", show_shapes=True, rankdir="LR", dpi=50)
    assert _png_size(wide)[0] > width and _png_size(wide)[1] < height  # ranks run across
    svg = plot_model(model, tmp_path / "model.svg")
    with open(svg) as handle:
        assert "<svg" in handle.read()


FAKE_DOT = """#!{python}
import sys
with open({record!r}, "w") as handle:
    handle.write(repr(sys.argv[1:]) + "\\n" + sys.stdin.read())
with open(sys.argv[sys.argv.index("-o") + 1], "wb") as handle:
    handle.write(b"\\x89PNG\\r\\n\\x1a\\n")
"""


def test_graphviz_path_hands_dot_the_dot_text(tmp_path, monkeypatch):
    record = tmp_path / "call.txt"
    program = tmp_path / "fake-dot"
    program.write_text(FAKE_DOT.format(python=sys.executable, record=str(record)))
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(model_plot, "DOT_PROGRAM", str(program))
    model = _branching_model()
    out = plot_model(model, tmp_path / "m.png", show_shapes=True, rankdir="LR", dpi=72)
    arguments, _, stdin = record.read_text().partition("\n")
    assert arguments == repr(["-Tpng", "-o", out])
    assert stdin == model_to_dot(model, show_shapes=True, rankdir="LR", dpi=72)
    program.write_text("#!/bin/sh\necho 'syntax error' >&2\nexit 3\n")
    with pytest.raises(OSError, match="syntax error"):
        plot_model(model, tmp_path / "broken.png")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_real_graphviz_writes_a_png(tmp_path):
    path = plot_model(_branching_model(), tmp_path / "m.png", show_shapes=True, dpi=72)
    width, height = _png_size(path)
    assert width > 100 and height > 200


def test_dot_file_and_errors(tmp_path):
    model = _branching_model()
    path = plot_model(model, tmp_path / "graph.dot")
    with open(path) as handle:
        assert handle.read() == model_to_dot(model)
    with pytest.raises(ValueError, match="rankdir") as error:
        plot_model(model, tmp_path / "x.png", rankdir="UP")
    assert isinstance(error.value, LaminaError)
    with pytest.raises(ValueError, match="summary_rows"):
        plot_model(layers.Dense(2), tmp_path / "x.png")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError, match="writable"):
        plot_model(model, os.path.join(blocker, "m.dot"))
