"""The Layer contract's output hook and build configs (issue 14, items 1 and 2).

``compute_output_spec`` is the one hook symbolic calls, ``compute_output_shape``,
summaries and saving ask; build configs carry what loading needs; stateless layers are
built on creation as in Keras 3; files written before build configs still load.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.errors import CorruptArchiveError, ShapeError
from lamina.layers import inference
from lamina.symbolic import SymbolicTensor

DATA = Path(__file__).parent / "data"


@pytest.fixture
def infer_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the layers whose output spec is inferred on fake tensors."""
    calls: list[str] = []
    original = inference.infer_spec

    def spy(layer: Any, *args: Any) -> Any:
        calls.append(layer.name)
        return original(layer, *args)

    monkeypatch.setattr(inference, "infer_spec", spy)
    return calls


# ---------------------------------------------------------------------- compute_output_spec
def test_a_declared_layer_answers_from_compute_output_shape(infer_calls: list[str]) -> None:
    dense = layers.Dense(5, name="d")
    dense.build((None, 3))
    out = dense.compute_output_spec(SymbolicTensor((None, 3), torch.float32))
    assert isinstance(out, SymbolicTensor) and out.node is None
    assert (out.shape, out.dtype) == ((None, 5), torch.float32)
    assert infer_calls == []  # asked compute_output_shape, ran nothing


def test_an_undeclared_layer_is_inferred_and_keeps_masks() -> None:
    x = SymbolicTensor((None, 6, 4), torch.float32)
    x._keras_mask = SymbolicTensor((None, 6), torch.bool)
    layer = layers.Lambda(lambda t: t[:, :, :2] * 2.0, mask="same", name="half")
    layer.build(x.shape)
    out = layer.compute_output_spec(x)
    assert out.shape == (None, 6, 2)
    assert out._keras_mask is not None and out._keras_mask.shape == (None, 6)


def test_a_symbolic_call_wraps_the_spec_in_a_node() -> None:
    class Twice(layers.Layer):
        def compute_output_spec(self, inputs: Any) -> Any:  # a user's own hook
            return SymbolicTensor((inputs.shape[0], inputs.shape[1] * 2), inputs.dtype)

        def call(self, inputs: torch.Tensor) -> torch.Tensor:
            return torch.cat([inputs, inputs], dim=-1)

    x = lamina.Input((3,))
    y = Twice(name="twice")(x)
    assert y.shape == (None, 6) and y.node.layer.name == "twice"
    model = lamina.Model(x, y)
    data = torch.tensor([[1.0, 2.0, 3.0]])
    torch.testing.assert_close(model(data), torch.cat([data, data], -1))
    assert model.compute_output_shape((None, 3)) == (None, 6)


def test_a_lambda_declared_output_shape_wins_once_checked() -> None:
    layer = layers.Lambda(lambda t: t.reshape(-1, 2, 2), output_shape=(2, 2), name="r")
    x = lamina.Input((4,))
    assert layer(x).shape == (None, 2, 2)
    assert layer.compute_output_shape((None, 4)) == (None, 2, 2)
    wrong = layers.Lambda(lambda t: t * 2, output_shape=(5,), name="wrong")
    with pytest.raises(ShapeError, match="declares output_shape"):
        wrong(lamina.Input((4,)))


def test_a_functional_model_asks_each_layer_on_new_shapes(infer_calls: list[str]) -> None:
    x = lamina.Input((None, 8))
    h = layers.Dense(3, name="proj")(x)
    y = layers.Lambda(lambda t: t.sum(axis=1), name="pool")(h)
    model = lamina.Model(x, y)
    infer_calls.clear()
    out = model.compute_output_spec(SymbolicTensor((2, 7, 8), torch.float32))
    assert (out.shape, out.dtype) == ((2, 3), torch.float32)
    assert infer_calls == ["pool"]  # the Dense answered from compute_output_shape
    assert model.compute_output_shape((None, 5, 8)) == (None, 3)
    # The same answer as a real run.
    assert tuple(model(torch.zeros(2, 7, 8)).shape) == (2, 3)


def test_a_model_called_symbolically_inside_another() -> None:
    inner_x = lamina.Input((4,))
    inner = lamina.Model(inner_x, layers.Dense(2, name="inner_dense")(inner_x), name="inner")
    x = lamina.Input((4,))
    y = layers.Dense(1, name="head")(inner(x))
    outer = lamina.Model(x, y)
    assert y.shape == (None, 1)
    data = torch.randn(3, 4)
    expected = outer.get_layer("head")(inner(data))
    torch.testing.assert_close(outer(data), expected)


def test_an_unbuilt_sequential_called_symbolically_builds_from_the_shape() -> None:
    model = lamina.Sequential([layers.Dense(4, name="a"), layers.Dense(2, name="b")])
    y = model(lamina.Input((3,)))
    assert y.shape == (None, 2) and model.built
    assert model.output_shape == (None, 2)
    assert [tuple(w.shape) for w in model.weights] == [(3, 4), (4,), (4, 2), (2,)]


def test_summary_rows_come_from_the_model() -> None:
    x = lamina.Input((3,), name="x")
    y = layers.Dense(2, name="d")(x)
    functional = lamina.Model(x, y)
    assert [(layer.name, shape, sources) for layer, shape, sources in
            functional.summary_rows()] == [("x", (None, 3), []), ("d", (None, 2), ["x"])]
    sequential = lamina.Sequential([lamina.Input((3,)), layers.Dense(2, name="s")])
    assert [(layer.name, shape, sources) for layer, shape, sources in
            sequential.summary_rows()] == [("s", (None, 2), [])]
    text: list[str] = []
    functional.summary(print_fn=text.append)
    assert "Connected to" in text[0]
    sequential.summary(print_fn=text.append)
    assert "Connected to" not in text[1]


# ---------------------------------------------------------------------- building
#: Keras 3 builds these on creation (they call Layer._build_at_init in __init__).
STATELESS = [
    lambda: layers.Activation("relu"), lambda: layers.Dropout(0.5), lambda: layers.Identity(),
    lambda: layers.Masking(), lambda: layers.GlobalAveragePooling1D(),
    lambda: layers.GlobalMaxPooling2D(), lambda: layers.MaxPooling2D(),
    lambda: layers.AveragePooling1D(), lambda: layers.GaussianNoise(0.1),
    lambda: layers.ActivityRegularization(l1=0.1), lambda: layers.SpatialDropout1D(0.2),
]
#: And not these: they have weights to create, or (Lambda, Flatten) are not in Keras's list.
STATEFUL = [lambda: layers.Dense(2), lambda: layers.BatchNormalization(),
            lambda: layers.Lambda(lambda t: t), lambda: layers.Flatten(),
            lambda: layers.LSTM(2)]


@pytest.mark.parametrize("make", STATELESS)
def test_stateless_layers_are_built_on_creation(make: Any) -> None:
    layer = make()
    assert layer.built and layer.get_build_config() is None
    data = torch.randn(2, 4, 3)
    if type(layer).__name__.endswith("2D"):
        data = torch.randn(2, 4, 4, 3)
    # Built without a call, it still runs, and agrees with its own output hook.
    assert tuple(layer(data).shape) == tuple(layer.compute_output_shape(tuple(data.shape)))


@pytest.mark.parametrize("make", STATEFUL)
def test_other_layers_wait_for_their_first_call(make: Any) -> None:
    assert not make().built


def test_build_from_config_builds_a_layer_with_a_build_without_running_it(
        infer_calls: list[str]) -> None:
    dense = layers.Dense(3, name="fresh")
    dense.build_from_config({"input_shape": [None, 4]})  # Keras 3's plain form
    assert dense.built and tuple(dense.kernel.shape) == (4, 3)
    assert dense.get_build_config() == {"input_shape": {"shape": [None, 4]},
                                        "input_dtype": []}
    assert infer_calls == []


def test_a_build_config_that_disagrees_with_the_graph_is_refused(tmp_path: Path) -> None:
    x = lamina.Input((3,), name="x")
    model = lamina.Model(x, layers.Dense(2, name="d")(x))
    path = tmp_path / "model.lamina"
    model.save(path)
    with zipfile.ZipFile(path) as stored:
        members = {name: stored.read(name) for name in stored.namelist()}
    config = json.loads(members["config.json"])
    entry = next(e for e in config["model"]["config"]["layers"] if e["name"] == "d")
    assert entry["build_config"]["input_shape"] == {"shape": [None, 3]}
    entry["build_config"]["input_shape"] = {"shape": [None, 5]}
    edited = tmp_path / "edited.lamina"
    with zipfile.ZipFile(edited, "w") as out:
        for name, data in members.items():
            out.writestr(name, json.dumps(config) if name == "config.json" else data)
    with pytest.raises(CorruptArchiveError, match="built from its build config"):
        lamina.load_model(edited)


def test_set_weights_after_build_is_what_the_next_call_uses() -> None:
    dense = layers.Dense(2)
    dense.build((1, 2))
    assert dense.built
    dense.set_weights([np.array([[1.0, 0.0], [9.0, 0.0]], "float32"), np.zeros(2, "float32")])
    assert dense(torch.tensor([[1.0, 1.0]])).tolist() == [[10.0, 0.0]]  # Keras's value


# ---------------------------------------------------------------------- earlier files
RECORDS = json.loads((DATA / "records_before.json").read_text())


def test_a_file_of_the_first_release_keeps_its_lambda_record(infer_calls: list[str]) -> None:
    """``tests/data/lambda_record_before.lamina`` was written before build configs: its
    Lambda's recorded spec sits beside the config; it is still used (no inference)."""
    config = json.loads(zipfile.ZipFile(DATA / "lambda_record_before.lamina").read(
        "config.json"))
    entries = {e["name"]: e for e in config["model"]["config"]["layers"]}
    assert "inferred" in entries["square_before"] and "build_config" not in entries["dense_before"]
    model = lamina.load_model(DATA / "lambda_record_before.lamina")
    assert infer_calls == []
    inputs = torch.tensor(RECORDS["input"])
    torch.testing.assert_close(model(inputs), torch.tensor(RECORDS["functional_output"]))


def test_a_subclassed_model_of_the_first_release_builds_from_its_record() -> None:
    class Block(lamina.Model):  # the class tests/data/make_records_before.py saved
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.inner = layers.Dense(2, name="inner")

        def call(self, inputs: torch.Tensor) -> torch.Tensor:
            return self.inner(inputs) * 3.0

    # Saved as "tests>Block"; given here, not registered (test_custom_objects has a Block).
    model = lamina.load_model(DATA / "subclassed_before.lamina",
                              custom_objects={"tests>Block": Block})
    assert model.built and tuple(model.inner.kernel.shape) == (3, 2)
    torch.testing.assert_close(model(torch.tensor(RECORDS["input"])),
                               torch.tensor(RECORDS["block_output"]))


def test_a_saved_model_writes_keras_style_build_configs(tmp_path: Path) -> None:
    x = lamina.Input((3,), name="x")
    y = layers.Lambda(lambda t: t + 1.0, name="plus")(layers.Dense(4, name="d")(x))
    path = tmp_path / "model.lamina"
    lamina.Model(x, y).save(path)
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    entries = {e["name"]: e for e in config["model"]["config"]["layers"]}
    assert entries["d"]["build_config"] == {"input_shape": {"shape": [None, 3]},
                                            "input_dtype": ["float32"]}
    assert entries["plus"]["build_config"]["inferred"] == {
        "input": {"shape": [None, 4], "dtype": "float32"},
        "output": {"shape": [None, 4], "dtype": "float32"}}
    assert "build_config" not in config["model"]  # a Functional's graph is its build
