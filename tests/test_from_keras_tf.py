"""``lamina.from_keras`` on HDF5 files in tf-keras 2.x's config format.

TensorFlow and tf-keras are not installed here, so each test makes a Keras 3 model (Keras
3.15.1 on torch), saves it as a legacy ``.h5`` (weights in ``model_weights/<layer>`` as
tf-keras stores them), and replaces its ``model_config`` with the config tf-keras 2.15
writes for the same model. The format facts come from tf-keras's source (tag v2.15.0):

- op layers (``tf_keras/layers/core/tf_op_layer.py``): ``TFOpLambda`` / ``SlicingOpLambda``
  with ``config = {name, trainable, dtype, function}``, ``function`` the canonical TF name
  (``math.reduce_mean``, ``concat``, ``__operators__.add``, ``__operators__.getitem``), the
  layer named ``tf.<function>``;
- calls (``Node.serialize`` in ``tf_keras/engine/node.py``): ``[layer, node, tensor,
  kwargs]``; op layers keep their first argument's structure (one tensor is not wrapped in a
  list); a constant first argument is ``["_CONSTANT_VALUE", -1, value, kwargs]``; the other
  arguments are kwargs by parameter name, tensors in them ``[layer, node, tensor]``;
  slices are ``{"start", "stop", "step"}`` (``_slice_to_dict``), tuples lists;
- h5 configs are written with ``use_legacy_config`` (``saving/legacy/hdf5_format.py``):
  ``{"class_name", "config"}`` entries, ``dtype: "float32"``, ``batch_input_shape``;
  nested initializers in ``serialization_lib``'s ``{"module": "keras.initializers", ...}``.

Real saved configs confirm the call form (public model JSONs show e.g.
``{"class_name": "TFOpLambda", "config": {"name": "tf.expand_dims", "trainable": true,
"dtype": "float32", "function": "expand_dims"}, "inbound_nodes": [["dense", 0, 0,
{"axis": 1}]]}`` and ``"slice_spec": [{"class_name": "__ellipsis__"}, null]``).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

import lamina
from lamina.errors import LoadError

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
h5py = pytest.importorskip("h5py")

pytestmark = [pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:You are saving your model as an HDF5 file"),
              pytest.mark.filterwarnings("ignore::UserWarning")]

GLOROT = {"module": "keras.initializers", "class_name": "GlorotUniform",
          "config": {"seed": None}, "registered_name": None}
ZEROS = {"module": "keras.initializers", "class_name": "Zeros", "config": {},
         "registered_name": None}


def _base(name: str) -> dict:
    """``Layer.get_config`` of tf-keras 2.15: name, trainable, dtype (a policy name)."""
    return {"name": name, "trainable": True, "dtype": "float32"}


def _dense(name: str, units: int, activation: str = "linear") -> dict:
    """tf-keras 2.15's ``Dense.get_config`` (``tf_keras/layers/core/dense.py``)."""
    return {**_base(name), "units": units, "activation": activation, "use_bias": True,
            "kernel_initializer": GLOROT, "bias_initializer": ZEROS,
            "kernel_regularizer": None, "bias_regularizer": None,
            "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}


def _input(name: str, shape: list, dtype: str = "float32") -> dict:
    """tf-keras 2.15's ``InputLayer.get_config`` (``tf_keras/engine/input_layer.py``)."""
    return {"class_name": "InputLayer", "name": name, "inbound_nodes": [],
            "config": {"batch_input_shape": [None, *shape], "dtype": dtype, "sparse": False,
                       "ragged": False, "name": name}}


def _op(function: str, name: str, node: list, slicing: bool = False) -> dict:
    return {"class_name": "SlicingOpLambda" if slicing else "TFOpLambda", "name": name,
            "config": {**_base(name), "function": function}, "inbound_nodes": [node]}


def _as_tf_keras(model, path: str, config: dict) -> str:
    """Save ``model`` as a legacy .h5 and replace its config with tf-keras's ``config``."""
    model.save(path)
    with h5py.File(path, "r+") as store:
        store.attrs["model_config"] = json.dumps(config)
        store.attrs["keras_version"] = "2.15.0"
        store.attrs["backend"] = "tensorflow"
        store["model_weights"].attrs["keras_version"] = "2.15.0"
    return path


def _predict(model, xs: list[np.ndarray]) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        tensors = [torch.from_numpy(x) for x in xs]
        out = model(tensors if len(tensors) > 1 else tensors[0])
    return out.numpy()


def _check(path: str, model, xs: list[np.ndarray]) -> lamina.Model:
    expected = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    converted = lamina.from_keras(path)
    np.testing.assert_allclose(_predict(converted, xs), expected, atol=1e-5, rtol=1e-5)
    return converted


def test_functional_with_tf_ops_and_slicing(tmp_path):
    ops = keras.ops
    x = keras.Input((4, 6), name="x")
    d = keras.layers.Dense(5, name="dense")(x)
    mean = ops.mean(d, axis=1, keepdims=True)  # tf.math.reduce_mean(d, axis=1, keepdims=True)
    first = ops.expand_dims(d[:, 0], 1)  # tf.expand_dims(d[:, 0], axis=1)
    joined = ops.concatenate([mean, first], axis=1)  # tf.concat([mean, first], axis=1)
    shifted = 1.0 - (joined + 1.0)  # __operators__.add, then math.subtract from a constant
    act = keras.layers.LeakyReLU(negative_slope=0.1, name="leaky_re_lu")(shifted)
    flat = keras.layers.Flatten(name="flatten")(act)
    dropped = keras.layers.Dropout(0.2, name="dropout")(flat)
    model = keras.Model(x, keras.layers.Dense(3, name="head")(dropped))

    getitem = "tf.__operators__.getitem"
    layers = [
        _input("x", [4, 6]),
        {"class_name": "Dense", "name": "dense", "config": _dense("dense", 5),
         "inbound_nodes": [[["x", 0, 0, {}]]]},
        _op("math.reduce_mean", "tf.math.reduce_mean",
            ["dense", 0, 0, {"axis": 1, "keepdims": True}]),
        _op("__operators__.getitem", getitem,
            ["dense", 0, 0, {"slice_spec": [{"start": None, "stop": None, "step": None}, 0]}],
            slicing=True),
        _op("expand_dims", "tf.expand_dims", [getitem, 0, 0, {"axis": 1}]),
        _op("concat", "tf.concat", [["tf.math.reduce_mean", 0, 0, {"axis": 1}],
                                    ["tf.expand_dims", 0, 0, {"axis": 1}]]),
        _op("__operators__.add", "tf.__operators__.add", ["tf.concat", 0, 0, {"y": 1.0,
                                                                              "name": None}]),
        _op("math.subtract", "tf.math.subtract",
            ["_CONSTANT_VALUE", -1, 1.0, {"y": ["tf.__operators__.add", 0, 0], "name": None}]),
        # LeakyReLU's tf-keras config says alpha (tf_keras/layers/activation/leaky_relu.py).
        {"class_name": "LeakyReLU", "name": "leaky_re_lu",
         "config": {**_base("leaky_re_lu"), "alpha": 0.1},
         "inbound_nodes": [[["tf.math.subtract", 0, 0, {}]]]},
        {"class_name": "Flatten", "name": "flatten",
         "config": {**_base("flatten"), "data_format": "channels_last"},
         "inbound_nodes": [[["leaky_re_lu", 0, 0, {}]]]},
        {"class_name": "Dropout", "name": "dropout",
         "config": {**_base("dropout"), "rate": 0.2, "noise_shape": None, "seed": None},
         "inbound_nodes": [[["flatten", 0, 0, {}]]]},
        {"class_name": "Dense", "name": "head", "config": _dense("head", 3),
         "inbound_nodes": [[["dropout", 0, 0, {}]]]},
    ]
    config = {"class_name": "Functional", "config": {
        "name": "model", "trainable": True, "layers": layers,
        "input_layers": [["x", 0, 0]], "output_layers": [["head", 0, 0]]}}
    path = _as_tf_keras(model, str(tmp_path / "ops.h5"), config)
    xs = [np.random.default_rng(0).normal(size=(3, 4, 6)).astype("float32")]
    converted = _check(path, model, xs)
    names = [layer.name for layer in converted.layers]
    assert "tf_math_reduce_mean" in names and "tf___operators___getitem" in names


def _tf_keras_layer(entry: dict, extra: dict) -> dict:
    """A Keras 3 legacy-h5 layer entry in tf-keras 2.15's spelling, with its extra keys."""
    config = dict(entry["config"])
    config["dtype"] = "float32"
    for key in ("build_config", "quantization_config", "lora_rank", "lora_alpha", "seed",
                "optional", "synchronized"):
        if key not in extra:
            config.pop(key, None)
    if entry["class_name"] == "InputLayer":
        config["batch_input_shape"] = config.pop("batch_shape")
    config.update(extra)
    return {"class_name": entry["class_name"], "config": config}


def test_sequential_with_tf_keras_layer_keys(tmp_path):
    model = keras.Sequential([
        keras.Input((7,), dtype="int32"),
        keras.layers.Embedding(12, 6, name="embedding"),
        keras.layers.SpatialDropout1D(0.2, name="spatial_dropout1d"),
        keras.layers.Conv1D(4, 3, padding="same", activation="relu", name="conv1d"),
        keras.layers.LSTM(5, return_sequences=True, name="lstm"),
        keras.layers.Bidirectional(keras.layers.GRU(3), name="bidirectional"),
        keras.layers.Dense(2, name="dense")], name="sequential")
    path = str(tmp_path / "seq.h5")
    model.save(path)
    with h5py.File(path, "r") as store:
        config = json.loads(store.attrs["model_config"])
    rnn = {"time_major": False, "unroll": False, "implementation": 2}
    # The keys each tf-keras 2.15 get_config writes that Keras 3's does not.
    extra = {"InputLayer": {}, "Embedding": {"input_length": 7},
             "SpatialDropout1D": {"noise_shape": None, "seed": None},
             "Conv1D": {"groups": 1}, "LSTM": rnn, "Dense": {}}
    layers = [_tf_keras_layer(entry, extra.get(entry["class_name"], {}))
              for entry in config["config"]["layers"]]
    bi = next(entry for entry in layers if entry["class_name"] == "Bidirectional")
    inner = bi["config"]["layer"]
    inner["config"] = {**inner["config"], "dtype": "float32", **rnn, "reset_after": True}
    bi["config"].pop("backward_layer", None)
    tf_config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}
    _as_tf_keras(model, path, tf_config)
    xs = [np.random.default_rng(1).integers(0, 12, (3, 7)).astype("int32")]
    _check(path, model, xs)


def test_multi_head_attention_with_value_tensor_in_kwargs(tmp_path):
    x = keras.Input((5, 8), name="x")
    mha = keras.layers.MultiHeadAttention(2, 4, name="mha")
    out = mha(x, x)
    model = keras.Model(x, out)
    mha_config = {**_base("mha"), "num_heads": 2, "key_dim": 4, "value_dim": 4,
                  "dropout": 0.0, "use_bias": True, "output_shape": None,
                  "attention_axes": [1], "kernel_initializer": GLOROT,
                  "bias_initializer": ZEROS, "kernel_regularizer": None,
                  "bias_regularizer": None, "activity_regularizer": None,
                  "kernel_constraint": None, "bias_constraint": None,
                  "query_shape": [None, 5, 8], "key_shape": [None, 5, 8],
                  "value_shape": [None, 5, 8]}
    layers = [_input("x", [5, 8]),
              {"class_name": "MultiHeadAttention", "name": "mha", "config": mha_config,
               "inbound_nodes": [[["x", 0, 0, {"value": ["x", 0, 0]}]]]}]
    config = {"class_name": "Functional", "config": {
        "name": "model", "layers": layers, "input_layers": [["x", 0, 0]],
        "output_layers": [["mha", 0, 0]]}}
    path = _as_tf_keras(model, str(tmp_path / "mha.h5"), config)
    _check(path, model, [np.random.default_rng(2).normal(size=(2, 5, 8)).astype("float32")])


def test_attention_causal_config_becomes_a_causal_call(tmp_path):
    q = keras.Input((4, 3), name="q")
    v = keras.Input((4, 3), name="v")
    out = keras.layers.Attention(name="attention")([q, v], use_causal_mask=True)
    model = keras.Model([q, v], out)
    # TF <= 2.9 wrote causal in BaseDenseAttention.get_config.
    attention = {**_base("attention"), "causal": True, "dropout": 0.0, "use_scale": False,
                 "score_mode": "dot"}
    layers = [_input("q", [4, 3]), _input("v", [4, 3]),
              {"class_name": "Attention", "name": "attention", "config": attention,
               "inbound_nodes": [[["q", 0, 0, {}], ["v", 0, 0, {}]]]}]
    config = {"class_name": "Functional", "config": {
        "name": "model", "layers": layers, "input_layers": [["q", 0, 0], ["v", 0, 0]],
        "output_layers": [["attention", 0, 0]]}}
    path = _as_tf_keras(model, str(tmp_path / "att.h5"), config)
    rng = np.random.default_rng(3)
    _check(path, model, [rng.normal(size=(2, 4, 3)).astype("float32") for _ in range(2)])


def _refused(tmp_path, layers: list, output: str, match: str) -> None:
    x = keras.Input((4, 6), name="x")
    model = keras.Model(x, keras.layers.Dense(5, name="dense")(x))
    config = {"class_name": "Functional", "config": {
        "name": "model", "layers": layers, "input_layers": [["x", 0, 0]],
        "output_layers": [[output, 0, 0]]}}
    path = _as_tf_keras(model, str(tmp_path / "refused.h5"), config)
    with pytest.raises(LoadError, match=match):
        lamina.from_keras(path)


def _with_dense(*more: dict) -> list:
    return [_input("x", [4, 6]), {"class_name": "Dense", "name": "dense",
                                  "config": _dense("dense", 5),
                                  "inbound_nodes": [[["x", 0, 0, {}]]]}, *more]


def test_refused_keys_name_the_layer_and_key(tmp_path):
    depthwise = {"class_name": "DepthwiseConv1D", "name": "dw", "inbound_nodes": [
        [["dense", 0, 0, {}]]], "config": {**_base("dw"), "kernel_size": [3], "groups": 2}}
    _refused(tmp_path, _with_dense(depthwise), "dw", r"'dw' \(DepthwiseConv1D\): groups=2")


def test_hard_sigmoid_of_tf_keras_is_refused(tmp_path):
    dense = {"class_name": "Dense", "name": "gate", "inbound_nodes": [[["dense", 0, 0, {}]]],
             "config": _dense("gate", 2, "hard_sigmoid")}
    _refused(tmp_path, _with_dense(dense), "gate", r"'gate' \(Dense\): activation='hard_s")


@pytest.mark.parametrize("function, kwargs, match", [
    ("image.resize", {"size": [2, 2]}, r"tf\.image\.resize is not in lamina's table"),
    ("math.reduce_mean", {"axis": 1, "out": 2}, r"argument 'out' is not one lamina maps"),
    ("__operators__.getitem", {"slice_spec": {"start": None, "stop": None, "step": -1}},
     "slice step -1"),
])
def test_unknown_tf_ops_are_refused_by_name(tmp_path, function, kwargs, match):
    op = _op(function, f"tf.{function}", ["dense", 0, 0, kwargs],
             slicing=function.endswith("getitem"))
    _refused(tmp_path, _with_dense(op), f"tf.{function}", match)
