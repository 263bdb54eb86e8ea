"""``lamina.from_keras``: Keras 3 archives and HDF5 model files, Lambda bytecode included.

The fixtures (``tests/data/keras/models``, written by ``make_model_fixtures.py`` with Keras
3.15.1) hold the predictions Keras made; every file must convert to a lamina model that
makes the same ones. Each Lambda's bytecode is then swapped for the bytecode that every
CPython 3.6-3.13 writes for the same lambda, and the file must convert identically.
"""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest
import torch

import lamina
from lamina.cli import main
from lamina.errors import LoadError, UnknownFunctionError
from lamina.saving.keras_file import keras_file_kind
from lamina.saving.keras_read import read_keras

MODELS = os.path.join(os.path.dirname(__file__), "data", "keras", "models")
NAMES = ("siamese", "mlp", "conv_lstm", "embedding_nested")
VERSIONS = ("3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13")


def _inputs(name: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    data = np.load(os.path.join(MODELS, f"{name}.npz"))
    xs = [data[f"x{i}"] for i in range(sum(k.startswith("x") for k in data.files))]
    ys = [data[f"y{i}"] for i in range(sum(k.startswith("y") for k in data.files))]
    return xs, ys


def _predict(model: lamina.Model, xs: list[np.ndarray]) -> list[np.ndarray]:
    tensors = [torch.from_numpy(x) for x in xs]
    model.eval()
    with torch.no_grad():
        out = model(tensors if len(tensors) > 1 else tensors[0])
    out = out if isinstance(out, (list, tuple)) else [out]
    return [o.numpy() for o in out]


def _bytecode(name: str) -> dict:
    with open(os.path.join(MODELS, f"{name}.bytecode.json")) as handle:
        return json.load(handle)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_fixture_converts_with_keras_predictions(name, suffix):
    xs, ys = _inputs(name)
    converted = read_keras(os.path.join(MODELS, name + suffix))
    assert converted.format == suffix[1:]
    outs = _predict(converted.model, xs)
    assert len(outs) == len(ys)
    for out, expected in zip(outs, ys):
        np.testing.assert_allclose(out, expected, atol=1e-5, rtol=1e-5)
    stored = _bytecode(name)["sources"]
    assert sorted(f.layer for f in converted.functions) == sorted(stored)
    for function in converted.functions:
        assert "3.11" in function.versions  # the fixtures' own bytecode is Python 3.11's


def test_tf_keras_style_h5_converts():
    xs, ys = _inputs("siamese")
    converted = read_keras(os.path.join(MODELS, "tf_keras_style.h5"))
    assert converted.keras_version == "2.15.0"
    for out, expected in zip(_predict(converted.model, xs), ys):
        np.testing.assert_allclose(out, expected, atol=1e-5, rtol=1e-5)


def _swapped(name: str, codes: dict[str, str], folder) -> str:
    """The fixture's .keras with each Lambda's bytecode replaced by ``codes``."""
    source = os.path.join(MODELS, f"{name}.keras")
    with zipfile.ZipFile(source) as archive:
        members = {member: archive.read(member) for member in archive.namelist()}
    config = json.loads(members["config.json"])
    for entry in config["config"]["layers"]:
        if entry["class_name"] == "Lambda":
            entry["config"]["function"]["config"]["code"] = codes[entry["config"]["name"]]
    members["config.json"] = json.dumps(config).encode()
    target = os.path.join(str(folder), f"{name}.keras")
    with zipfile.ZipFile(target, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return target


@pytest.mark.parametrize("name", NAMES)
def test_every_python_versions_bytecode_converts_identically(name, tmp_path):
    xs, ys = _inputs(name)
    fixture = _bytecode(name)
    assert set(fixture["bytecode"]) == set(VERSIONS)  # every CPython 3.6-3.13 wrote one
    sources = None
    for version in VERSIONS:
        folder = tmp_path / version
        folder.mkdir()
        path = _swapped(name, fixture["bytecode"][version], folder)
        converted = read_keras(path)
        translated = {f.layer: f.source for f in converted.functions}
        sources = sources or translated
        assert translated == sources, version
        for function in converted.functions:
            assert version in function.versions
        for out, expected in zip(_predict(converted.model, xs), ys):
            np.testing.assert_allclose(out, expected, atol=1e-5, rtol=1e-5)
        pinned = read_keras(path, python_version=version)
        assert {f.layer: f.source for f in pinned.functions} == sources
        assert all(f.versions == (version,) for f in pinned.functions)


def test_translated_sources_are_lamina_names():
    converted = read_keras(os.path.join(MODELS, "siamese.keras"))
    sources = {f.layer: f.source for f in converted.functions}
    assert sorted(sources.values()) == sorted([
        "lambda t: K.abs(t[0] - t[1])",
        "lambda x: ops.mean(x, axis=-1, keepdims=True)",
        "lambda x: x * 2.0 + 1.0",
        "lambda x: K.flip(x, axis=1)",
    ])


def test_converted_model_saves_as_lamina_and_reloads(tmp_path):
    xs, ys = _inputs("siamese")
    model = lamina.from_keras(os.path.join(MODELS, "siamese.keras"))
    target = str(tmp_path / "siamese.lamina")
    model.save(target)
    reloaded = lamina.load_model(target)
    for out, expected in zip(_predict(reloaded, xs), ys):
        np.testing.assert_allclose(out, expected, atol=1e-5, rtol=1e-5)
    with zipfile.ZipFile(target) as archive:
        config = archive.read("config.json").decode()
    assert "ops.mean(x, axis=-1, keepdims=True)" in config  # stored as source from now on
    assert '"code"' not in config


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_converted_model_has_keras_gradients_and_trains(suffix):
    """The converted model's loss and gradients, in inference mode (BatchNormalization's
    moving statistics, no dropout), equal Keras 3's on the same file; then it trains."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras  # the oracle (make test installs it)

    # Both files hold the one model; Keras 3 reads only the .keras back ("Layer count
    # mismatch" from its legacy HDF5 reader on this Sequential).
    theirs = keras.saving.load_model(os.path.join(MODELS, "mlp.keras"), safe_mode=False)
    # Keras rebuilds the Lambda from its bytecode with its own module's globals, where the
    # fixture's `K` is unknown: its function is given back as the fixture wrote it.
    [lambda_layer] = [layer for layer in theirs.layers if type(layer).__name__ == "Lambda"]
    lambda_layer.function = lambda x: x / (1.0 + keras.ops.exp(-x))
    model = lamina.from_keras(os.path.join(MODELS, "mlp" + suffix))
    xs, _ = _inputs("mlp")
    x, labels = torch.from_numpy(xs[0]), torch.tensor([0, 1, 2, 0])
    model.eval()
    ours = torch.nn.functional.nll_loss(torch.log(model(x)), labels)
    ours.backward()
    reference = torch.nn.functional.nll_loss(torch.log(theirs(x, training=False)), labels)
    reference.backward()
    torch.testing.assert_close(ours, reference, rtol=1e-6, atol=1e-7)
    keras_weights = theirs.trainable_weights
    assert [tuple(w.shape) for w in model.trainable_weights] == [
        tuple(w.shape) for w in keras_weights]
    for mine, theirs_weight in zip(model.trainable_weights, keras_weights):
        torch.testing.assert_close(mine.grad, theirs_weight.value.grad, rtol=1e-5, atol=1e-7)

    before = model.layers[0].kernel.detach().clone()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(xs[0], labels.numpy(), epochs=1, verbose=0)
    assert not torch.equal(before, model.layers[0].kernel.detach())


def test_file_kinds(tmp_path):
    assert keras_file_kind(os.path.join(MODELS, "mlp.keras")) == "keras"
    assert keras_file_kind(os.path.join(MODELS, "mlp.h5")) == "h5"
    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
    model.save(str(tmp_path / "m.lamina"))
    assert keras_file_kind(str(tmp_path / "m.lamina")) is None
    assert keras_file_kind(str(tmp_path / "missing.keras")) is None


def test_custom_function_from_custom_objects(tmp_path):
    # The file's Lambda calls a name lamina does not know: refused, then given.
    import codecs
    import marshal
    code = [c for c in compile("lambda x: my_swish(x)", "<keras-lambda>", "eval").co_consts
            if hasattr(c, "co_code")][0]
    codes = {layer: codecs.encode(marshal.dumps(code), "base64").decode("ascii")
             for layer in _bytecode("mlp")["sources"]}
    target = _swapped("mlp", codes, tmp_path)
    with pytest.raises(UnknownFunctionError, match="my_swish.*custom_objects"):
        lamina.from_keras(target)
    xs, ys = _inputs("mlp")
    model = lamina.from_keras(target, custom_objects={"my_swish": lambda x: x * torch.sigmoid(x)})
    np.testing.assert_allclose(_predict(model, xs)[0], ys[0], atol=1e-5, rtol=1e-5)


def test_cli_convert_inspect_check(tmp_path, capsys):
    source = os.path.join(MODELS, "siamese.keras")
    target = str(tmp_path / "siamese.lamina")
    assert main(["convert", source, target]) == 0
    out = capsys.readouterr().out
    assert "bytecode of Python" in out and "3.11" in out
    assert "lambda x: ops.mean(x, axis=-1, keepdims=True)" in out
    assert os.path.exists(target)
    assert main(["inspect", source]) == 0
    out = capsys.readouterr().out
    assert "Keras 3 archive" in out and "lambda t: K.abs(t[0] - t[1])" in out
    assert main(["check", os.path.join(MODELS, "mlp.h5")]) == 0
    assert "converts in safe mode" in capsys.readouterr().out


def test_cli_check_refuses_a_broken_file(tmp_path, capsys):
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    assert main(["check", str(broken)]) != 0
    assert "lamina" in capsys.readouterr().err


def test_missing_file_is_a_load_error(tmp_path):
    with pytest.raises(LoadError, match="Cannot read"):
        lamina.from_keras(str(tmp_path / "nope.keras"))


def test_load_model_converts_keras_files_as_keras_programs_expect():
    xs, ys = _inputs("mlp")
    for suffix in (".keras", ".h5"):
        model = lamina.models.load_model(os.path.join(MODELS, "mlp" + suffix))
        np.testing.assert_allclose(_predict(model, xs)[0], ys[0], atol=1e-5, rtol=1e-5)


def test_keras_2_sequential_config_as_a_list(tmp_path):
    """Keras 2.0-2.2.2 wrote a Sequential's config as the list of its layers, the input
    shape on the first layer (``batch_input_shape``) and Lambdas as [code, defaults,
    closure] with function_type."""
    import h5py

    xs, ys = _inputs("mlp")
    target = str(tmp_path / "keras2.h5")
    with h5py.File(os.path.join(MODELS, "mlp.h5"), "r") as old, h5py.File(target, "w") as new:
        for key in old:
            old.copy(key, new)
        config = json.loads(old.attrs["model_config"])
        layers = config["config"]["layers"]
        first = layers.pop(0)  # the InputLayer: Keras 2 had none in a Sequential
        layers[0]["config"]["batch_input_shape"] = first["config"]["batch_shape"]
        for layer in layers:
            if layer["class_name"] == "Lambda":
                stored = layer["config"]["function"]["config"]
                layer["config"].update(function=[stored["code"], None, None],
                                       function_type="lambda", module="__main__",
                                       output_shape=None, output_shape_type="raw",
                                       output_shape_module=None, arguments={})
            layer["config"]["dtype"] = "float32"
        new.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": layers})
        new.attrs["keras_version"] = "2.2.2"
    converted = read_keras(target)
    assert converted.keras_version == "2.2.2"
    np.testing.assert_allclose(_predict(converted.model, xs)[0], ys[0], atol=1e-5, rtol=1e-5)


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_round_trip_keras_to_lamina_to_keras(tmp_path):
    """A converted model saved as .keras: Keras loads it and predicts what it predicted
    before (its Lambdas now bind Keras's ops), and lamina reads it back (from the checked
    source it writes beside the bytecode)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    xs, ys = _inputs("siamese")
    target = str(tmp_path / "again.keras")
    lamina.from_keras(os.path.join(MODELS, "siamese.keras")).save(target)
    theirs = keras.saving.load_model(target, safe_mode=False).predict(xs, verbose=0)
    for out, expected in zip(theirs, ys):
        np.testing.assert_allclose(out, expected, atol=1e-5, rtol=1e-5)
    converted = read_keras(target)
    assert {f.kind for f in converted.functions} == {"source"}
    for out, expected in zip(_predict(converted.model, xs), ys):
        np.testing.assert_allclose(out, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_keras_compile_config_and_adam_state_come_over(tmp_path):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 5)).astype("float32"), rng.normal(size=(64, 1)).astype("float32")
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="tanh"),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.02), loss="mse")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    path = str(tmp_path / "compiled.keras")
    model.save(path)
    converted = lamina.from_keras(path)
    assert type(converted.optimizer).__name__ == "Adam"
    assert float(converted.optimizer.learning_rate) == pytest.approx(0.02)
    # Keras's first-moment slot of the first kernel is the torch optimizer's exp_avg.
    keras_m = [v for v in model.optimizer.variables if "momentum" in v.path][0]
    kernel = converted.layers[0].kernel
    np.testing.assert_allclose(converted.optimizer.state[kernel]["exp_avg"].numpy(),
                               np.asarray(keras_m), rtol=1e-6)
    assert not lamina.from_keras(path, compile=False).compiled
