"""Hostile Keras files: every one is refused with a LoadError, and nothing from it runs.

Each file is a real Keras fixture (``tests/data/keras/models``) with one thing changed:
a Lambda's bytecode that would run a command, import, reach ``__class__``, ``eval``,
loop or nest; malformed or oversized marshal data; named functions that are builtins or
live in ``os``; a config that nests, multiplies layers or asks for absurd weights; HDF5
members that are links to other files, external storage, strings, or of absurd shape; a
zip that inflates without bound. While each test runs, ``marshal.loads``,
``builtins.exec``, ``builtins.eval`` and ``pickle.loads`` raise, and a canary file that the
hostile code would create must not exist afterwards.
"""

from __future__ import annotations

import builtins
import codecs
import json
import marshal
import os
import pickle
import zipfile

import h5py
import numpy as np
import pytest
from keras_redteam_cases import h5_copy, lambda_entry, without_lambda

import lamina
from lamina.errors import LoadError

MODELS = os.path.join(os.path.dirname(__file__), "data", "keras", "models")
CANARY = "lamina_hostile_canary"


@pytest.fixture(scope="module")
def warmed_up():
    """Import everything a conversion imports, before the patches: Python's own import
    system unmarshals .pyc files with ``marshal.loads``."""
    codecs.encode(b"", "base64")
    lamina.from_keras(os.path.join(MODELS, "siamese.keras"))
    lamina.from_keras(os.path.join(MODELS, "tf_keras_style.h5"))
    for name in ("mlp", "embedding_nested", "conv_lstm"):
        lamina.from_keras(os.path.join(MODELS, f"{name}.h5"))
    with pytest.raises(LoadError):
        lamina.from_keras(os.path.join(MODELS, "siamese.npz"))


@pytest.fixture(autouse=True)
def nothing_runs(monkeypatch, tmp_path, warmed_up):
    """Patch the ways of running code from data to raise; check the canary afterwards."""
    monkeypatch.chdir(tmp_path)

    def refuse(*args, **kwargs):
        raise AssertionError("code from the file was about to run")

    for module, name in ((marshal, "loads"), (builtins, "exec"), (builtins, "eval"),
                         (pickle, "loads")):
        monkeypatch.setattr(module, name, refuse)
    yield
    assert not os.path.exists(tmp_path / CANARY)
    assert not os.path.exists(CANARY)


def _code(source: str) -> str:
    """What Keras stores for the first function ``source`` defines (compiled, never run)."""
    module = compile(source, "<keras-lambda>", "exec" if source.startswith("def") else "eval")
    code = [c for c in module.co_consts if hasattr(c, "co_code")][0]
    return codecs.encode(marshal.dumps(code), "base64").decode("ascii")


def _archive(config_change=None, members_change=None, name="mlp") -> dict[str, bytes]:
    with zipfile.ZipFile(os.path.join(MODELS, f"{name}.keras")) as archive:
        members = {member: archive.read(member) for member in archive.namelist()}
    config = json.loads(members["config.json"])
    if config_change is not None:
        config_change(config)
    members["config.json"] = json.dumps(config).encode()
    if members_change is not None:
        members_change(members)
    return members


def _write(path, members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> str:
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return str(path)


def _with_function(function) -> callable:
    def change(config):
        lambda_entry(config)["config"]["function"] = function
    return change


def _with_code(code: str) -> callable:
    return _with_function({"class_name": "__lambda__",
                           "config": {"code": code, "defaults": None, "closure": None}})


HOSTILE_SOURCES = [
    f"lambda x: __import__('os').system('touch {CANARY}')",
    f"lambda x: os.system('touch {CANARY}')",
    "lambda x: getattr(x, '__class__')",
    "lambda x: x.__class__.__bases__[0].__subclasses__()",
    "lambda x: eval('1')",
    "lambda x: exec('import os')",
    "lambda x: open('/etc/passwd').read()",
    "lambda x: [i for i in range(10 ** 9)]",
    "lambda x: (lambda: x)()",
    "lambda x: globals()",
    "lambda x: compile('1', 'a', 'eval')",
    f"lambda x: x.numpy().tofile('{CANARY}')",
    "lambda x: K.set_epsilon(1.0)",
    "def f(x):\n    while True:\n        pass\n    return x",
    "def f(x):\n    global y\n    y = x\n    return x",
    "lambda x: __builtins__",
    "lambda x: breakpoint()",
    "lambda x: tf.io.write_file('canary', 'x')",
    "lambda x: np.save('canary', x)",
    "lambda x: vars(x)",
    "lambda x: type(x)('a', (), {})",
    "lambda x: x.__reduce__()",
]


@pytest.mark.parametrize("source", HOSTILE_SOURCES)
def test_hostile_lambda_bytecode_is_refused(source, tmp_path):
    path = _write(tmp_path / "m.keras", _archive(_with_code(_code(source))))
    with pytest.raises(LoadError):
        lamina.from_keras(path)


def _nested_tuple_marshal(depth: int) -> bytes:
    return b"(\x01\x00\x00\x00" * depth + b"N"


MARSHAL_ATTACKS = {
    "truncated": lambda: _code("lambda x: x * 2")[:40],
    "huge": lambda: codecs.encode(b"\xe3" + b"\x00" * (3 * 2 ** 20), "base64").decode(),
    "deep_tuples": lambda: codecs.encode(_nested_tuple_marshal(2_000), "base64").decode(),
    "not_base64": lambda: "!!!not base64!!!",
    "not_a_code_object": lambda: codecs.encode(marshal.dumps([1, 2, 3]), "base64").decode(),
    "huge_declared_string": lambda: codecs.encode(b"\xe3" + b"\x00" * 20 + b"s\xff\xff\xff\x7f",
                                                  "base64").decode(),
}


@pytest.mark.parametrize("attack", sorted(MARSHAL_ATTACKS))
def test_malformed_marshal_data_is_refused(attack, tmp_path):
    path = _write(tmp_path / "m.keras", _archive(_with_code(MARSHAL_ATTACKS[attack]())))
    with pytest.raises(LoadError):
        lamina.from_keras(path)


def test_code_that_is_not_text_is_refused(tmp_path):
    path = _write(tmp_path / "m.keras", _archive(_with_function(
        {"class_name": "__lambda__", "config": {"code": 12, "defaults": None,
                                                "closure": None}})))
    with pytest.raises(LoadError):
        lamina.from_keras(path)


@pytest.mark.parametrize("function", [
    {"module": "os", "class_name": "function", "config": "system", "registered_name": "function"},
    {"module": "builtins", "class_name": "function", "config": "exec",
     "registered_name": "function"},
    {"module": "builtins", "class_name": "function", "config": "__import__",
     "registered_name": "function"},
    {"module": "os.path", "class_name": "function", "config": "os.path>join",
     "registered_name": "os.path>join"},
])
def test_named_functions_outside_the_table_are_refused(function, tmp_path):
    path = _write(tmp_path / "m.keras", _archive(_with_function(function)))
    with pytest.raises(LoadError, match="custom_objects"):
        lamina.from_keras(path)


def test_tf_keras_named_function_is_never_imported(tmp_path):
    source = os.path.join(MODELS, "tf_keras_style.h5")
    target = str(tmp_path / "m.h5")
    with h5py.File(source, "r") as old, h5py.File(target, "w") as new:
        for key in old:
            old.copy(key, new)
        config = json.loads(old.attrs["model_config"])
        layer = lambda_entry(config)["config"]
        layer.update(function="system", function_type="function", module="os")
        new.attrs["model_config"] = json.dumps(config)
    with pytest.raises(LoadError, match="never imports"):
        lamina.from_keras(target)


CONFIG_ATTACKS = {
    "class_from_a_module_path": lambda c: c["config"]["layers"][1].update(
        class_name="system", module="os", registered_name="os>system"),
    "absurd_units": lambda c: c["config"]["layers"][1]["config"].update(units=10 ** 12),
    "many_layers": lambda c: c["config"]["layers"].extend(
        [dict(c["config"]["layers"][-1])] * 12_000),
    "missing_graph_input": lambda c: c.update(class_name="Functional", config={
        "name": "f", "layers": [{"class_name": "Dense", "name": "d", "config": {
            "name": "d", "units": 2}, "inbound_nodes": [{"args": [{
                "class_name": "__keras_tensor__", "config": {"keras_history": ["nope", 0, 0]}}],
                "kwargs": {}}]}], "input_layers": [], "output_layers": [["d", 0, 0]]}),
    "bad_keras_history": lambda c: c.update(class_name="Functional", config={
        "name": "f", "layers": [{"class_name": "Dense", "name": "d", "config": {
            "name": "d", "units": 2}, "inbound_nodes": [{"args": [{
                "class_name": "__keras_tensor__", "config": {"keras_history": ["a", -1]}}],
                "kwargs": {}}]}], "input_layers": [], "output_layers": [["d", 0, 0]]}),
    "lambda_argument_object": lambda c: lambda_entry(c)["config"].update(
        arguments={"a": {"class_name": "__numpy__", "config": {"value": [1]}}}),
    "hostile_mask_function": lambda c: lambda_entry(c)["config"].update(
        mask={"class_name": "__lambda__", "config": {
            "code": _code(f"lambda x, m: __import__('os').system('touch {CANARY}')"),
            "defaults": None, "closure": None}}),
    "hostile_output_shape_function": lambda c: lambda_entry(c)["config"].update(
        output_shape={"class_name": "__lambda__", "config": {
            "code": _code("lambda s: s.__class__"), "defaults": None, "closure": None}}),
    "renorm_on": lambda c: c["config"]["layers"][2]["config"].update(renorm=True),
}


@pytest.mark.parametrize("attack", sorted(CONFIG_ATTACKS))
def test_hostile_configs_are_refused(attack, tmp_path):
    path = _write(tmp_path / "m.keras", _archive(CONFIG_ATTACKS[attack]))
    with pytest.raises(LoadError):
        lamina.from_keras(path)


def test_deeply_nested_config_is_refused(tmp_path):
    members = _archive()
    text = members["config.json"].decode()
    members["config.json"] = text.replace('"units": 8', '"units": ' + "[" * 5000 + "]" * 5000,
                                          1).encode()
    assert members["config.json"] != text.encode()
    with pytest.raises(LoadError, match="nest"):
        lamina.from_keras(_write(tmp_path / "m.keras", members))


def _replace_weights(change) -> callable:
    def members_change(members):
        import io
        buffer = io.BytesIO(members["model.weights.h5"])
        with h5py.File(buffer, "r+") as store:
            change(store)
        members["model.weights.h5"] = buffer.getvalue()
    return members_change


def _swap(store, path, make):
    del store[path]
    make(store, path)


WEIGHT_ATTACKS = {
    "external_link": lambda s: _swap(s, "layers/dense/vars/0",
                                     lambda f, p: f.__setitem__(p, h5py.ExternalLink(
                                         "/etc/passwd", "/"))),
    "soft_link_loop": lambda s: _swap(s, "layers/dense/vars/0",
                                      lambda f, p: f.__setitem__(p, h5py.SoftLink(
                                          "/layers/dense/vars/0"))),
    "external_storage": lambda s: _swap(s, "layers/dense/vars/0", lambda f, p: f.create_dataset(
        p, shape=(5, 8), dtype="float32", external=[("/etc/hostname", 0, 160)])),
    "strings": lambda s: _swap(s, "layers/dense/vars/0", lambda f, p: f.create_dataset(
        p, data=np.array(["a"] * 40, dtype=object).reshape(5, 8),
        dtype=h5py.string_dtype())),
    "absurd_shape": lambda s: _swap(s, "layers/dense/vars/0", lambda f, p: f.create_dataset(
        p, shape=(10 ** 6, 10 ** 6), dtype="float32", chunks=(1, 1))),
    "extra_weight": lambda s: s.create_dataset("layers/dense/vars/7", data=np.zeros(3)),
    "missing_weight": lambda s: s.__delitem__("layers/dense/vars/1"),
    "compound_dtype": lambda s: _swap(s, "layers/dense/vars/1", lambda f, p: f.create_dataset(
        p, shape=(8,), dtype=np.dtype([("a", "f4"), ("b", "f4")]))),
}


@pytest.mark.parametrize("attack", sorted(WEIGHT_ATTACKS))
def test_hostile_weights_are_refused(attack, tmp_path):
    path = _write(tmp_path / "m.keras", _archive(without_lambda, _replace_weights(
        WEIGHT_ATTACKS[attack])))
    with pytest.raises(LoadError):
        lamina.from_keras(path)


def test_zip_bomb_config_is_refused_before_inflating(tmp_path):
    members = _archive()
    members["config.json"] = b" " * (80 * 2 ** 20)
    path = _write(tmp_path / "m.keras", members, compression=zipfile.ZIP_DEFLATED)
    assert os.path.getsize(path) < 2 ** 20
    with pytest.raises(LoadError, match="more than"):
        lamina.from_keras(path)


def test_too_many_members_is_refused(tmp_path):
    members = _archive()
    members.update({f"assets/{i}": b"" for i in range(10_001)})
    with pytest.raises(LoadError, match="members"):
        lamina.from_keras(_write(tmp_path / "m.keras", members))


def test_archive_without_weights_is_refused(tmp_path):
    members = _archive()
    del members["model.weights.h5"]
    with pytest.raises(LoadError, match="model.weights.h5"):
        lamina.from_keras(_write(tmp_path / "m.keras", members))


def test_config_that_is_not_json_is_refused(tmp_path):
    members = _archive()
    members["config.json"] = b"{not json"
    with pytest.raises(LoadError, match="not JSON"):
        lamina.from_keras(_write(tmp_path / "m.keras", members))


def test_random_bytes_are_refused(tmp_path):
    path = tmp_path / "m.keras"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(LoadError, match="neither"):
        lamina.from_keras(str(path))


LEGACY_ATTACKS = {
    "weights_only": lambda f: f.attrs.__delitem__("model_config"),
    "layer_names_mismatch": lambda f: f["model_weights"].attrs.__setitem__(
        "layer_names", np.array([b"dense"])),
    "dotdot_weight_name": lambda f: f["model_weights/dense"].attrs.__setitem__(
        "weight_names", np.array([b"../batch_normalization/x", b"dense/bias"])),
    "keras_1": lambda f: f.attrs.__setitem__("keras_version", "1.2.2"),
    "config_not_json": lambda f: f.attrs.__setitem__("model_config", "{nope"),
}


@pytest.mark.parametrize("attack", sorted(LEGACY_ATTACKS))
def test_hostile_legacy_h5_is_refused(attack, tmp_path):
    with pytest.raises(LoadError):
        lamina.from_keras(h5_copy(tmp_path, LEGACY_ATTACKS[attack]))


def test_the_untouched_files_convert_under_the_same_patches(tmp_path):
    # The patches and checks above refuse hostile files, not Keras files in general.
    model = lamina.from_keras(_write(tmp_path / "m.keras", _archive(without_lambda)))
    assert [layer.__class__.__name__ for layer in model.layers] == [
        "Dense", "BatchNormalization", "Dropout", "Dense"]
    assert lamina.from_keras(h5_copy(tmp_path, lambda f: None)).count_params() == \
        model.count_params()


def test_bytecode_per_file_is_bounded(tmp_path):
    """Many lambdas, each under the per-function bound, are refused together: translating
    costs time (every Python version is tried)."""
    code = _code("lambda x: x * 2")
    padded = code + "\n" * (900_000 - len(code))  # newlines are ignored by base64

    def many_lambdas(config):
        first = lambda_entry(config)
        for index in range(3):
            copy = json.loads(json.dumps(first))
            copy["config"]["name"] = copy["name"] = f"extra_{index}"
            copy["config"]["function"]["config"]["code"] = padded
            config["config"]["layers"].append(copy)

    path = _write(tmp_path / "m.keras", _archive(many_lambdas))
    with pytest.raises(LoadError, match="characters of bytecode in all"):
        lamina.from_keras(path)
