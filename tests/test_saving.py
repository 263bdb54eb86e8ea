"""Saving and loading: tiers, identical predictions, atomic writes, portable configs."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
import torch

import lamina
from lamina import backend as K
from lamina import layers, ops
from lamina.errors import LoadError, SerializationError, UnsafeFunctionError

ROOT = Path(__file__).resolve().parent.parent


def antirectifier(x):
    x -= K.mean(x, axis=1, keepdims=True)
    x = K.l2_normalize(x, axis=1)
    pos = K.relu(x)
    neg = K.relu(-x)
    return K.concatenate([pos, neg], axis=1)


def _tiers(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as stored:
        return json.loads(stored.read("metadata.json"))["function_tiers"]


def _config(path: Path) -> dict:
    with zipfile.ZipFile(path) as stored:
        return json.loads(stored.read("config.json"))


def test_keras_docs_examples_save_and_load_in_safe_mode(tmp_path: Path) -> None:
    scale = lamina.Variable(1.5)
    captured_dense = layers.Dense(4, name="captured_dense")
    model = lamina.Sequential([
        layers.Dense(8, input_shape=(6,)),
        layers.Lambda(lambda x: x ** 2, name="square"),
        layers.Lambda(antirectifier, name="antirectifier"),
        layers.Lambda(lambda x: captured_dense(x) * scale, name="captures",
                      output_shape=lambda s: (s[0], 4), mask=lambda x, m: m),
        layers.Lambda(lambda x, power: x ** power, arguments={"power": 3}, name="args"),
        layers.Dense(2, activation="softmax"),
    ])
    x = torch.randn(5, 6)
    expected = model(x)
    path = tmp_path / "docs.lamina"
    model.save(path)
    assert _tiers(path) == {"square": "source", "antirectifier": "source",
                            "captures": "source", "args": "source"}
    loaded = lamina.load_model(path)
    torch.testing.assert_close(loaded(x), expected, rtol=0, atol=0)
    assert loaded.get_config() == model.get_config()
    captured = loaded.get_layer("captures")
    assert any(type(w).__name__ == "Variable" for w in captured.trainable_weights)
    assert "x -= K.mean" in loaded.get_layer("antirectifier").get_config()["function"]["source"]


def test_functional_model_with_shared_layers_and_ops_round_trips(tmp_path: Path) -> None:
    a, b = lamina.Input(shape=(3,), name="a"), lamina.Input(shape=(3,), name="b")
    shared = layers.Dense(3)
    merged = layers.Concatenate()([shared(a), shared(b)])
    out = ops.mean(layers.Lambda(antirectifier)(merged), axis=1, keepdims=True) * 2.0
    model = lamina.Model({"a": a, "b": b}, out)
    data = {"a": torch.randn(4, 3), "b": torch.randn(4, 3)}
    path = tmp_path / "functional.lamina"
    lamina.save_model(model, path)
    loaded = lamina.load_model(path)
    torch.testing.assert_close(loaded(data), model(data), rtol=0, atol=0)
    assert "op" in _tiers(path).values()


def test_loaded_source_function_keeps_keras_semantics_without_copying() -> None:
    layer = layers.Lambda(antirectifier)
    clone = layers.Lambda.from_config(layer.get_config())
    assert not clone._copies_inputs  # `x -= m` was compiled as `x = x - m`
    x = torch.randn(3, 4)
    before = x.clone()
    torch.testing.assert_close(clone(x), layer(x))
    torch.testing.assert_close(x, before)


def test_function_without_source_is_saved_as_a_traced_graph(tmp_path: Path) -> None:
    namespace = {"torch": torch, "ops": ops}
    exec("fn = lambda x: ops.relu(x) * 3.0 + x.mean(1, keepdim=True)", namespace)
    model = lamina.Sequential([layers.Identity(input_shape=(4,)), layers.Lambda(namespace["fn"])])
    path = tmp_path / "graph.lamina"
    model.save(path)
    assert list(_tiers(path).values()) == ["graph"]
    x = torch.randn(3, 4)
    torch.testing.assert_close(lamina.load_model(path)(x), model(x))


def test_untraceable_sourceless_function_needs_bytecode_opt_in_twice(tmp_path: Path) -> None:
    namespace = {"torch": torch}
    exec("fn = lambda x: x * 2 if bool(x.sum() > 0) else -x", namespace)
    model = lamina.Sequential([layers.Identity(input_shape=(2,)), layers.Lambda(namespace["fn"])])
    path = tmp_path / "bytecode.lamina"
    with pytest.raises(SerializationError, match="allow_bytecode=True"):
        model.save(path)
    assert not path.exists()
    model.save(path, allow_bytecode=True)
    assert list(_tiers(path).values()) == ["bytecode"]
    with pytest.raises(UnsafeFunctionError, match="safe_mode=False"):
        lamina.load_model(path)
    x = torch.tensor([[1.0, 2.0], [-3.0, -1.0]])
    loaded = lamina.load_model(path, safe_mode=False)
    torch.testing.assert_close(loaded(x[:1]), model(x[:1]))
    config = _config(path)
    config["model"]["config"]["layers"][-1]["config"]["function"]["python"] = "2.7"
    with zipfile.ZipFile(path) as stored:
        members = {n: stored.read(n) for n in stored.namelist()}
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as stored:
        for name, data in members.items():
            stored.writestr(name, data)
    with pytest.raises(LoadError, match="Python 2.7"):
        lamina.load_model(path, safe_mode=False)


def test_unsavable_function_fails_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "model.lamina"
    good = lamina.Sequential([layers.Dense(2, input_shape=(3,))])
    good.save(path)
    original = path.read_bytes()
    import numpy as np

    with pytest.warns(UserWarning, match="cannot be saved"):
        bad_layer = layers.Lambda(lambda x: x * float(np.pi), name="uses_numpy")
    bad = lamina.Sequential([layers.Dense(2, input_shape=(3,)), bad_layer])
    with pytest.raises(SerializationError, match="uses_numpy.*'np'"):
        bad.save(path)
    assert path.read_bytes() == original
    assert not list(tmp_path.glob(".lamina-*"))


def test_source_outside_the_allowlist_is_refused_at_save() -> None:
    layer = layers.Lambda(lambda x: x.numpy(), name="escapes")
    with pytest.raises(SerializationError, match=r"escapes.*\.numpy.*register"):
        layer.get_config()


def test_save_and_load_weights(tmp_path: Path) -> None:
    model = lamina.Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(2)])
    other = lamina.Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(2)])
    path = tmp_path / "weights.safetensors"
    model.save_weights(path)
    other.load_weights(path)
    x = torch.randn(2, 3)
    torch.testing.assert_close(other(x), model(x))
    wrong = lamina.Sequential([layers.Dense(5, input_shape=(3,)), layers.Dense(2)])
    before = [w.detach().clone() for w in wrong.weights]
    with pytest.raises(LoadError, match="expects"):
        wrong.load_weights(path)
    assert all(torch.equal(a, b) for a, b in zip(before, wrong.weights))


def test_archive_holds_only_json_and_safetensors(tmp_path: Path) -> None:
    model = lamina.Sequential([layers.Dense(2, input_shape=(3,)), layers.Lambda(antirectifier)])
    path = tmp_path / "plain.lamina"
    model.save(path)
    with zipfile.ZipFile(path) as stored:
        assert sorted(stored.namelist()) == ["config.json", "metadata.json", "model.safetensors"]
        for name in stored.namelist():
            data = stored.read(name)
            assert b"\x80\x04\x95" not in data  # no pickle protocol-4 stream
    assert "bytecode" not in json.dumps(_config(path))


_KILLED_SAVE = textwrap.dedent("""
    import sys, time
    import lamina
    from lamina import layers
    from lamina.saving import zip_writer
    model = lamina.Sequential([layers.Dense(512, input_shape=(512,)), layers.Dense(512)])
    original = zip_writer.checksum
    def slow(chunks):
        value = original(chunks)
        print("wrote the weights' checksum", flush=True)
        time.sleep(60)
        return value
    zip_writer.checksum = slow  # the save stops mid-file, its header not yet complete
    model.save(sys.argv[1])
""")


def test_a_process_killed_mid_save_leaves_the_old_file_intact(tmp_path: Path) -> None:
    path = tmp_path / "model.lamina"
    old = lamina.Sequential([layers.Dense(3, input_shape=(2,))])
    old.save(path)
    original = path.read_bytes()
    script = tmp_path / "save.py"
    script.write_text(_KILLED_SAVE)
    process = subprocess.Popen([sys.executable, str(script), str(path)],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().startswith("wrote")
    finally:
        process.kill()
        process.wait()
        process.stdout.close()
    assert path.read_bytes() == original
    torch.testing.assert_close(lamina.load_model(path)(torch.ones(1, 2)), old(torch.ones(1, 2)))


def _other_pythons() -> list[str]:
    found = set()
    for pattern in ("/root/.pyenv/versions/3.*/bin/python3", "/usr/bin/python3.*",
                    "/usr/local/bin/python3.*"):
        for candidate in glob.glob(pattern):
            if os.access(candidate, os.X_OK) and not candidate.endswith("-config"):
                found.add(candidate)
    usable = []
    for candidate in sorted(found):
        probe = subprocess.run([candidate, "-c", "import sys; print(sys.version_info >= (3, 10))"],
                               capture_output=True, text=True)
        if probe.stdout.strip() == "True":
            usable.append(candidate)
    return usable


def test_saved_config_validates_on_every_python_without_torch(tmp_path: Path) -> None:
    scale = lamina.Variable(2.0)
    model = lamina.Sequential([
        layers.Dense(4, input_shape=(3,)),
        layers.Lambda(antirectifier),
        layers.Lambda(lambda x: x * scale, mask=lambda x, m: m),
    ])
    path = tmp_path / "portable.lamina"
    model.save(path)
    package = tmp_path / "validator"
    package.mkdir()
    for name in ("safe.py", "allowlist.py", "constants.py"):
        shutil.copy(ROOT / "lamina" / "functions" / name, package / name)
    (package / "__init__.py").write_text("")
    (tmp_path / "config.json").write_text(json.dumps(_config(path)))
    pythons = _other_pythons()
    assert pythons, "no Python >= 3.10 found to check portability with"
    for python in pythons:
        result = subprocess.run(
            [python, "-c", "import json, sys; from validator import safe; "
                           "print(safe.validate_config(json.load(open('config.json'))))"],
            cwd=tmp_path, capture_output=True, text=True,
        )
        assert result.returncode == 0, (python, result.stderr)
        assert result.stdout.strip() == "3", python


def test_image_and_sequence_layers_save_and_load(tmp_path: Path) -> None:
    image = lamina.Sequential([
        layers.Conv2D(4, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
        layers.BatchNormalization(),
        layers.MaxPooling2D(),
        layers.SeparableConv2D(6, 3, padding="same"),
        layers.GlobalAveragePooling2D(),
        layers.Dense(3),
    ])
    image.train()
    image(torch.randn(16, 8, 8, 1))  # move BatchNormalization's moving statistics
    image.eval()
    tokens = lamina.Input(shape=(5,), dtype="int64")
    h = layers.Embedding(20, 4, mask_zero=True)(tokens)
    h = layers.Bidirectional(layers.LSTM(3, return_sequences=True))(h)
    h = layers.MultiHeadAttention(num_heads=2, key_dim=2)(h, h)
    sequence = lamina.Model(tokens, layers.GlobalAveragePooling1D()(h))
    cases = [(image, torch.randn(2, 8, 8, 1)),
             (sequence, torch.tensor([[3, 4, 0, 0, 0], [1, 2, 3, 4, 5]]))]
    for index, (model, data) in enumerate(cases):
        path = tmp_path / f"model{index}.lamina"
        model.save(path)
        loaded = lamina.load_model(path)
        torch.testing.assert_close(loaded(data), model(data), rtol=0, atol=0)


def test_weights_member_is_a_standard_safetensors_file(tmp_path: Path) -> None:
    from safetensors.torch import load as load_safetensors

    model = lamina.Sequential([layers.Dense(3, input_shape=(4,), name="dense"),
                               layers.BatchNormalization(name="norm")])
    path = tmp_path / "standard.lamina"
    model.save(path)
    with zipfile.ZipFile(path) as stored:
        weights = load_safetensors(stored.read("model.safetensors"))
    # Dense's kernel is stored as laid out in memory (its transpose), and says so.
    torch.testing.assert_close(weights["dense.kernel"].t(), model.layers[0].kernel.detach())
    for key, value in model.state_dict().items():
        if key != "dense.kernel":
            torch.testing.assert_close(weights[key], value)
