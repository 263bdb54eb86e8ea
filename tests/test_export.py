"""model.export: ONNX run by onnxruntime, torch.export programs, and clear refusals."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

import lamina
from lamina import backend as K
from lamina import layers
from lamina.cli import main
from lamina.errors import ArgumentError, LoadError, MissingDependencyError
from lamina.export import ExportError, export_model


def antirectifier(x):
    x -= K.mean(x, axis=1, keepdims=True)
    x = K.l2_normalize(x, axis=1)
    pos = K.relu(x)
    neg = K.relu(-x)
    return K.concatenate([pos, neg], axis=1)


def sequence_model() -> lamina.Model:
    torch.manual_seed(0)
    scale = lamina.Variable(1.5)
    inputs = lamina.Input(shape=(6, 4), name="sequence")
    h = layers.Conv1D(8, 3, padding="same", activation="relu")(inputs)
    h = layers.LSTM(5)(h)
    h = layers.Dense(8)(h)
    h = layers.Lambda(antirectifier)(h)
    h = layers.Lambda(lambda x: x * scale, name="scaled")(h)
    outputs = layers.Dense(3, activation="softmax", name="probabilities")(h)
    return lamina.Model(inputs, outputs)


def image_model() -> lamina.Sequential:
    torch.manual_seed(0)
    return lamina.Sequential([
        layers.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)),
        layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(6),
        layers.Lambda(antirectifier), layers.Dense(2)])


def run_onnx(path: str, x: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def dims(value: onnx.ValueInfoProto) -> list:
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


@pytest.mark.parametrize("build", [sequence_model, image_model])
def test_onnxruntime_gives_lamina_outputs_for_any_batch(build, tmp_path) -> None:
    model = build()
    path = model.export(str(tmp_path / "model.onnx"))
    graph = onnx.load(path).graph
    assert dims(graph.input[0])[0] == "batch" and dims(graph.output[0])[0] == "batch"
    if build is sequence_model:  # names come from the model's inputs, outputs and weights
        assert [v.name for v in graph.input] == ["sequence"]
        assert [v.name for v in graph.output] == ["probabilities"]
        assert "scaled.scale" in {i.name for i in graph.initializer}
    sample_shape = tuple(model.input_shape[1:])
    for batch in (1, 7):
        x = np.random.default_rng(batch).normal(size=(batch, *sample_shape)).astype("float32")
        expected = model.predict(x, verbose=0)
        np.testing.assert_allclose(run_onnx(path, x), expected, atol=1e-5)


def test_cli_exports_a_saved_file_loaded_safely(tmp_path, capsys) -> None:
    model = sequence_model()
    saved, out = str(tmp_path / "model.lamina"), str(tmp_path / "model.onnx")
    model.save(saved)
    assert main(["export", saved, "--format", "onnx", out]) == 0
    printed = capsys.readouterr().out
    assert f"Wrote {out} (onnx)" in printed and "max abs difference" in printed
    x = np.random.default_rng(0).normal(size=(4, 6, 4)).astype("float32")
    np.testing.assert_allclose(run_onnx(out, x), model.predict(x, verbose=0), atol=1e-5)
    assert main(["export", str(tmp_path / "missing.lamina"), out]) == 2


def test_torch_format_is_for_deployment_and_never_read_by_load_model(tmp_path,
                                                                    monkeypatch) -> None:
    model = sequence_model()
    path = model.export(str(tmp_path / "model.pt2"), format="torch")
    program = torch.export.load(path)
    assert "scaled.scale" in program.state_dict  # the captured Variable is a weight
    x = torch.randn(5, 6, 4)
    torch.testing.assert_close(program.module()(x), model(x))

    def forbidden(*args, **kwargs):
        raise AssertionError("load_model must never unpickle or load a torch.export file")

    monkeypatch.setattr(torch.export, "load", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    with pytest.raises(LoadError):
        lamina.load_model(path)
    with pytest.raises(ArgumentError, match="not a safe format"):
        model.export(str(tmp_path / "model.lamina"), format="torch")


def branchy(x):
    if x.sum() > 0:
        return x
    return -x


def test_a_layer_that_cannot_be_exported_is_named(tmp_path) -> None:
    torch.manual_seed(0)
    model = lamina.Sequential([layers.Dense(4, input_shape=(3,)),
                               layers.Lambda(branchy, name="branchy")])
    with pytest.raises(ExportError, match=r"Lambda 'branchy' \(branchy\(x\)\) .*data-dependent"):
        model.export(str(tmp_path / "branchy.onnx"))
    svd = lamina.Sequential([
        layers.Dense(4, input_shape=(3,)),
        layers.Lambda(lambda x: torch.linalg.svdvals(x.reshape(-1, 2, 2)).reshape(-1, 2),
                      name="singular_values")])
    with pytest.raises(ExportError, match="Lambda 'singular_values'.*fails in ONNX"):
        svd.export(str(tmp_path / "svd.onnx"))
    assert not list(tmp_path.iterdir())  # nothing half-written is left behind
    svd.export(str(tmp_path / "svd.pt2"), format="torch")  # torch.export itself can


def test_a_masked_recurrent_layer_exports_and_random_token_ids_are_refused(tmp_path) -> None:
    torch.manual_seed(0)
    model = lamina.Sequential([layers.Embedding(20, 4, mask_zero=True, input_shape=(6,)),
                               layers.LSTM(3, name="masked_lstm"), layers.Dense(2)])
    with pytest.raises(ArgumentError, match="cannot run on the sample inputs.*Pass inputs="):
        model.export(str(tmp_path / "m.onnx"))  # random floats are not token ids
    tokens = np.array([[1, 2, 3, 0, 0, 0], [4, 5, 6, 7, 0, 0]], dtype="float32")
    # Traced, the mask takes the general masked path (no data-dependent packing), so the
    # exported model masks any padding, not just the sample's.
    path = model.export(str(tmp_path / "m.onnx"), inputs=tokens)
    other = np.array([[1, 2, 0, 0, 0, 0], [4, 5, 6, 7, 8, 9], [3, 0, 0, 0, 0, 0]], "float32")
    np.testing.assert_allclose(run_onnx(path, other), model.predict(other, verbose=0),
                               atol=1e-5)


def test_inputs_are_needed_when_the_model_does_not_know_its_shapes(tmp_path) -> None:
    class Doubler(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)

        def call(self, inputs):
            return self.dense(inputs) * 2.0

    model = Doubler()
    with pytest.raises(ArgumentError, match="Pass inputs="):
        model.export(str(tmp_path / "doubler.onnx"))
    path = model.export(str(tmp_path / "doubler.onnx"), inputs=np.ones((2, 3), "float32"))
    x = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    np.testing.assert_allclose(run_onnx(path, x), model.predict(x, verbose=0), atol=1e-5)


def test_onnx_without_its_packages_says_what_to_install(tmp_path, monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnxscript" else real(name, *a))
    with pytest.raises(MissingDependencyError, match=r"lamina\[export\]"):
        export_model(image_model(), str(tmp_path / "m.onnx"))
    with pytest.raises(ArgumentError, match="format"):
        export_model(image_model(), str(tmp_path / "m.tflite"), format="tflite")
