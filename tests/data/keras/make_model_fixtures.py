"""Write the Keras model fixtures ``tests/test_from_keras.py`` converts.

Run by hand from the repository root, with Keras 3 on torch installed (``make test``
installs it)::

    KERAS_BACKEND=torch .venv/bin/python tests/data/keras/make_model_fixtures.py

For each model of :data:`MODELS` it writes, into ``tests/data/keras/models/``:

- ``<name>.keras``: ``model.save`` of Keras 3 (a Keras 3 archive);
- ``<name>.h5``: Keras 3's legacy HDF5 writer (``model_config`` + ``model_weights``);
- ``<name>.npz``: the inputs and the predictions Keras made on them;
- ``<name>.bytecode.json``: for each Lambda (by layer name), the bytecode of the same
  function as every CPython 3.6-3.13 found under ``~/.pyenv/versions`` writes it, compiled
  from ``stored`` (the text the file's author wrote) with the neutral file name
  ``<keras-lambda>`` (nothing but the compiler runs in those interpreters).

Lambdas are given as ``(runs_in_keras3, stored)``: the Keras 3 model runs the first, the
file stores the bytecode of the second (for instance ``tf.reduce_mean(x, axis=1,
keep_dims=True)``, which Keras 3 cannot run but tf-keras users wrote), and the two compute
the same values. The ``.keras`` file itself holds the bytecode of ``stored`` as this
Python (3.11) compiles it. The ``tf_keras_style.h5`` fixture is the ``.h5`` of one model
rewritten the way tf-keras writes configs (Lambda functions as ``[code, defaults,
closure]`` with ``function_type``, calls as ``[layer, node, tensor, kwargs]`` lists, a
Sequential's ``batch_input_shape`` on its first layer).
"""

from __future__ import annotations

import codecs
import json
import marshal
import os
import subprocess
import sys
import zipfile

import h5py
import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras  # noqa: E402
from keras import ops  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "models")
# Run by each interpreter (valid Python 3.6): compile each source, print its lambda's code.
WORKER = """
import codecs, json, marshal, sys, types
codes = []
for source in json.load(sys.stdin):
    module = compile(source, "<keras-lambda>", "eval")
    code = [c for c in module.co_consts if isinstance(c, types.CodeType)][0]
    codes.append(codecs.encode(marshal.dumps(code), "base64").decode("ascii"))
print(json.dumps(["%d.%d" % sys.version_info[:2], codes]))
"""


def lam(runs: str, stored: str | None = None) -> keras.layers.Lambda:
    """A Lambda running ``runs``, whose file will store the bytecode of ``stored``."""
    code = [c for c in compile(stored or runs, "<keras-lambda>", "eval").co_consts
            if hasattr(c, "co_code")][0]
    function = eval(compile(runs, "<keras-lambda>", "eval"), {"ops": ops, "keras": keras, "np": np})
    layer = keras.layers.Lambda(function)
    layer._lamina_stored = stored or runs  # noqa: SLF001 - read back below, never saved
    layer._lamina_code = code
    return layer


def functional_lambdas() -> keras.Model:
    a = keras.Input((6,), name="a")
    b = keras.Input((6,), name="b")
    shared = keras.layers.Dense(4, activation="tanh", name="shared")
    ha, hb = shared(a), shared(b)
    diff = lam("lambda t: ops.abs(t[0] - t[1])", "lambda t: K.abs(t[0] - t[1])")([ha, hb])
    mean = lam("lambda x: ops.mean(x, axis=-1, keepdims=True)",
               "lambda x: tf.reduce_mean(x, axis=-1, keep_dims=True)")(diff)
    scaled = lam("lambda x: x * 2.0 + 1.0")(ha)
    flipped = lam("lambda x: ops.flip(x, axis=-1)", "lambda x: x[:, ::-1]")(scaled)
    out = keras.layers.Concatenate(name="joined")([flipped, mean])
    return keras.Model([a, b], [out, keras.layers.Dense(2, name="head")(hb)], name="siamese")


def sequential_bn() -> keras.Model:
    model = keras.Sequential([
        keras.Input((5,)), keras.layers.Dense(8, activation="relu"),
        keras.layers.BatchNormalization(), keras.layers.Dropout(0.3),
        lam("lambda x: x / (1.0 + ops.exp(-x))", "lambda x: x / (1.0 + K.exp(-x))"),
        keras.layers.Dense(3, activation="softmax")], name="mlp")
    bn = model.layers[1]
    bn.moving_mean.assign(np.linspace(-0.5, 0.5, 8).astype("float32"))
    bn.moving_variance.assign(np.linspace(0.5, 2.0, 8).astype("float32"))
    return model


def conv_lstm() -> keras.Model:
    image = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Conv2D(4, 3, activation="relu")(image)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Reshape((9, 4))(x)
    x = keras.layers.LSTM(5, return_sequences=True)(x)
    x = lam("lambda x: ops.transpose(x, axes=[0, 2, 1])",
            "lambda x: tf.transpose(x, perm=[0, 2, 1])")(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(image, keras.layers.Dense(2)(x), name="conv_lstm")


def embedding_nested() -> keras.Model:
    tokens = keras.Input((7,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(20, 6, mask_zero=True)(tokens)
    x = keras.layers.Bidirectional(keras.layers.GRU(4))(x)
    inner = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.LayerNormalization()], name="inner")
    x = inner(x)
    x = lam("lambda x: ops.sum(ops.square(x), axis=1, keepdims=True)",
            "lambda x: K.sum(K.square(x), axis=1, keepdims=True)")(x)
    return keras.Model(tokens, x, name="embedding_nested")


MODELS = {
    "siamese": (functional_lambdas, lambda rng: [rng.normal(size=(4, 6)).astype("float32"),
                                                rng.normal(size=(4, 6)).astype("float32")]),
    "mlp": (sequential_bn, lambda rng: [rng.normal(size=(4, 5)).astype("float32")]),
    "conv_lstm": (conv_lstm, lambda rng: [rng.normal(size=(3, 8, 8, 3)).astype("float32")]),
    "embedding_nested": (embedding_nested,
                         lambda rng: [np.concatenate([rng.integers(1, 20, (3, 5)),
                                                      np.zeros((3, 2), int)], 1)
                                      .astype("int32")]),
}


def dump(code: object) -> str:
    return codecs.encode(marshal.dumps(code), "base64").decode("ascii")


def other_versions(sources: list[str]) -> dict[str, list[str]]:
    """Each interpreter's bytecode of each source, through make_lambda_bytecode's worker."""
    found: dict[str, list[str]] = {}
    root = os.path.expanduser("~/.pyenv/versions")
    for folder in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        python = os.path.join(root, folder, "bin", "python")
        if not folder.startswith("3.") or not os.path.exists(python):
            continue
        result = subprocess.run([python, "-c", WORKER], input=json.dumps(sources),
                                capture_output=True, text=True, check=True)
        version, codes = json.loads(result.stdout)
        found[version] = codes
    return found


def patch_lambdas(config: dict, layers: dict[str, str]) -> None:
    """Put the bytecode of each Lambda's ``stored`` source into a Keras 3 config."""
    for entry in config["config"]["layers"]:
        if entry["class_name"] == "Lambda" and entry["config"]["name"] in layers:
            entry["config"]["function"]["config"]["code"] = layers[entry["config"]["name"]]


def write_keras(model: keras.Model, path: str, codes: dict[str, str]) -> None:
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    patch_lambdas(config, codes)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def write_h5(model: keras.Model, path: str, codes: dict[str, str]) -> None:
    model.save(path)
    with h5py.File(path, "r+") as store:
        config = json.loads(store.attrs["model_config"])
        patch_lambdas(config, codes)
        store.attrs["model_config"] = json.dumps(config)


def tf_keras_style(path: str, out: str) -> None:
    """Rewrite a Keras 3 legacy .h5 the way tf-keras writes its config."""
    with h5py.File(path, "r") as source, h5py.File(out, "w") as target:
        for key in source:
            source.copy(key, target)
        for key, value in source.attrs.items():
            target.attrs[key] = value
        config = json.loads(source.attrs["model_config"])
        for entry in config["config"]["layers"]:
            layer = entry["config"]
            layer["dtype"] = "float32"
            if entry["class_name"] == "Lambda":
                stored = layer["function"]["config"]
                layer["function"] = [stored["code"], None, None]
                layer.update(function_type="lambda", module="__main__", output_shape=None,
                             output_shape_type="raw", output_shape_module=None)
            if entry["class_name"] == "InputLayer":
                layer["batch_input_shape"] = layer.pop("batch_shape")
                layer.pop("optional", None)
            nodes = []
            for node in entry.get("inbound_nodes", []):
                first = node["args"][0]
                tensors = first if isinstance(first, list) else [first]
                nodes.append([[*t["config"]["keras_history"], {}] for t in tensors])
            entry["inbound_nodes"] = nodes
        config["class_name"] = "Model"
        target.attrs["model_config"] = json.dumps(config)
        target.attrs["keras_version"] = "2.15.0"
        target.attrs["backend"] = "tensorflow"
        target["model_weights"].attrs["keras_version"] = "2.15.0"
        target["model_weights"].attrs["backend"] = "tensorflow"


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(0)
    for name, (build, inputs) in MODELS.items():
        keras.utils.set_random_seed(0)
        model = build()
        lambdas = [layer for layer in model._flatten_layers() if hasattr(layer, "_lamina_stored")]
        stored = [layer._lamina_stored for layer in lambdas]
        native = {layer.name: dump(layer._lamina_code) for layer in lambdas}
        x = inputs(rng)
        predictions = model.predict(x, verbose=0)
        predictions = predictions if isinstance(predictions, list) else [predictions]
        write_keras(model, os.path.join(OUT, f"{name}.keras"), native)
        write_h5(model, os.path.join(OUT, f"{name}.h5"), native)
        np.savez(os.path.join(OUT, f"{name}.npz"),
                 **{f"x{i}": v for i, v in enumerate(x)},
                 **{f"y{i}": v for i, v in enumerate(predictions)})
        versions = other_versions(stored)
        bytecode = {version: {layer.name: codes[i] for i, layer in enumerate(lambdas)}
                    for version, codes in versions.items()}
        with open(os.path.join(OUT, f"{name}.bytecode.json"), "w") as handle:
            json.dump({"sources": {layer.name: layer._lamina_stored for layer in lambdas},
                       "bytecode": bytecode}, handle, indent=1, sort_keys=True)
        print(f"{name}: {len(lambdas)} lambdas, bytecode of Python {sorted(bytecode)}")
    tf_keras_style(os.path.join(OUT, "siamese.h5"), os.path.join(OUT, "tf_keras_style.h5"))
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
