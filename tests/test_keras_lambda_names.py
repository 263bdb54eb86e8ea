"""The table that maps a Keras lambda's names to lamina's: text, and values.

Each mapped lambda is compiled the way a loaded function is (validated, only allowlisted
names in its namespace) and run; its values are compared with numpy computing what the
TensorFlow / Keras function documents (TensorFlow's defaults where they differ from
Keras's: ``tf.argmax`` and ``tf.gather`` work on axis 0).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from lamina import ops
from lamina.errors import UnknownFunctionError
from lamina.functions.compiler import compile_function, module_view
from lamina.functions.keras_lambda_names import map_keras_names
from lamina.functions.keras_tf_table import TF

RNG = np.random.default_rng(0)
X = RNG.normal(size=(2, 3, 4)).astype("float32")


def run(source: str, *args: np.ndarray, custom: dict | None = None) -> np.ndarray:
    mapped = map_keras_names(source, custom)
    captured = {name: module_view(entry["module"]) if entry["kind"] == "module"
                else custom[name] for name, entry in mapped.captured.items()}
    function = compile_function(mapped.source, captured, "test")
    out = function(*[torch.from_numpy(a) for a in args])
    return out.numpy() if isinstance(out, torch.Tensor) else np.asarray(out)


CASES = [
    ("lambda x: tf.reduce_mean(x, axis=1, keep_dims=True)", lambda x: x.mean(1, keepdims=True)),
    ("lambda x: tf.reduce_sum(x, reduction_indices=[1, 2])", lambda x: x.sum((1, 2))),
    ("lambda x: tf.math.reduce_max(x, -1)", lambda x: x.max(-1)),
    ("lambda x: tf.transpose(x, perm=[0, 2, 1])", lambda x: x.transpose(0, 2, 1)),
    ("lambda x: tf.transpose(x)", lambda x: x.transpose()),
    ("lambda x: tf.concat([x, 2 * x], axis=1)", lambda x: np.concatenate([x, 2 * x], 1)),
    ("lambda x: tf.concat([x, x], -1)", lambda x: np.concatenate([x, x], -1)),
    ("lambda x: tf.stack([x, x])", lambda x: np.stack([x, x])),
    ("lambda x: tf.expand_dims(x, 1)", lambda x: x[:, None]),
    ("lambda x: tf.squeeze(tf.expand_dims(x, 0), axis=0)", lambda x: x),
    ("lambda x: tf.reshape(x, [-1, 12])", lambda x: x.reshape(-1, 12)),
    ("lambda x: tf.tile(x, [1, 2, 1])", lambda x: np.tile(x, (1, 2, 1))),
    ("lambda x: tf.gather(x, [1, 0])", lambda x: x[[1, 0]]),
    ("lambda x: tf.gather(x, [2, 0], axis=2)", lambda x: x[:, :, [2, 0]]),
    ("lambda x: tf.clip_by_value(x, -0.5, 0.5)", lambda x: np.clip(x, -0.5, 0.5)),
    ("lambda x: tf.argmax(x)", lambda x: x.argmax(0)),
    ("lambda x: tf.math.argmin(x, axis=-1)", lambda x: x.argmin(-1)),
    ("lambda x: tf.nn.leaky_relu(x, alpha=0.1)", lambda x: np.where(x > 0, x, 0.1 * x)),
    ("lambda x: tf.nn.leaky_relu(x)", lambda x: np.where(x > 0, x, 0.2 * x)),
    ("lambda x: tf.nn.relu(x)", lambda x: np.maximum(x, 0)),
    ("lambda x: tf.nn.softmax(x)", lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
    ("lambda x: tf.math.square(x) + tf.sqrt(tf.abs(x))", lambda x: x ** 2 + np.sqrt(abs(x))),
    ("lambda x: tf.maximum(x, 0.0) - tf.minimum(x, 0.0)", lambda x: abs(x)),
    ("lambda x: tf.cast(x > 0, tf.float32)", lambda x: (x > 0).astype("float32")),
    ("lambda x: tf.where(x > 0, x, tf.zeros_like(x))", lambda x: np.maximum(x, 0)),
    ("lambda x: tf.einsum('bij,bkj->bik', x, x)", lambda x: np.einsum("bij,bkj->bik", x, x)),
    ("lambda x: tf.matmul(x, tf.transpose(x, perm=[0, 2, 1]))",
     lambda x: x @ x.transpose(0, 2, 1)),
    ("lambda x: tf.cumsum(x)", lambda x: x.cumsum(0)),
    ("lambda x: K.sum(K.square(x), axis=1, keepdims=True)",
     lambda x: (x ** 2).sum(1, keepdims=True)),
    ("lambda x: K.mean(x, axis=-1)", lambda x: x.mean(-1)),
    ("lambda x: keras.ops.sum(x ** 2)", lambda x: (x ** 2).sum()),
    ("lambda x: np.pi * x + np.e", lambda x: np.pi * x + np.e),
    ("lambda x: x[..., ::-1]", lambda x: x[..., ::-1]),
    ("lambda x: x[:, ::-1]", lambda x: x[:, ::-1]),
    ("lambda x: x[:, 0, ::-1]", lambda x: x[:, 0, ::-1]),
    ("lambda x: x[::-1, :, ::-1]", lambda x: x[::-1, :, ::-1]),
    ("lambda x: x[1:, None, ::-1]", lambda x: x[1:, None, ::-1]),
    ("lambda x: x[..., ::-1, 1]", lambda x: x[..., ::-1, 1]),
    ("lambda x: tf.split(x, 2, axis=-1)[1]", lambda x: np.split(x, 2, axis=-1)[1]),
    ("lambda x: tf.split(x, [1, 3], axis=2)[1]", lambda x: x[:, :, 1:]),
    ("lambda x: tf.split(x, [1, 1, 1], 1)[2]", lambda x: x[:, 2:]),
    ("lambda x: tf.reverse(x, axis=[1])", lambda x: x[:, ::-1]),
    ("lambda x: tf.pad(x, [[0, 0], [1, 1], [0, 2]])",
     lambda x: np.pad(x, [[0, 0], [1, 1], [0, 2]])),
]


@pytest.mark.parametrize("source, reference", CASES, ids=[c[0] for c in CASES])
def test_mapped_lambdas_compute_what_keras_and_tf_document(source, reference):
    np.testing.assert_allclose(run(source, X), reference(X), rtol=1e-5, atol=1e-6)


def test_one_hot_depth():
    labels = np.array([0, 2, 1], dtype="int64")
    np.testing.assert_array_equal(run("lambda x: tf.one_hot(x, depth=3)", labels),
                                  np.eye(3, dtype="float32")[labels])


def test_every_tf_entry_names_a_lamina_op_and_its_arguments():
    for name, spec in TF.items():
        op = getattr(ops, spec.target)
        parameters = inspect.signature(op).parameters
        variadic = any(p.kind is p.VAR_POSITIONAL for p in parameters.values())
        positional = [p for p in parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        for index, (_, target) in enumerate(spec.pairs()):
            if target == "-" or variadic:
                continue
            if index < spec.positional:
                assert index < len(positional), (name, target)
            else:
                assert target in parameters, (name, target, list(parameters))
        for target, _ in spec.defaults:
            assert target in parameters, (name, target)


@pytest.mark.parametrize("source, name", [
    ("lambda x: tf.image.resize(x, (2, 2))", "tf.image.resize"),
    ("lambda x: tf.reduce_mean(x, axis=1, name='m', bogus=1)", "bogus"),
    ("lambda x: tf.matmul(x, x, transpose_a=True)", "transpose_a"),
    ("lambda x: os.getcwd()", "os.getcwd"),
    ("lambda x: helper(x)", "helper"),
    ("lambda x: x[::-2]", "negative step"),
    ("lambda x: np.save('f', x)", "np.save"),
    ("lambda x: tf.split(x, [2, -1])", "num_or_size_splits"),
    ("lambda x, n: tf.split(x, n)", "num_or_size_splits"),
])
def test_unmapped_names_are_errors_naming_them(source, name):
    with pytest.raises(UnknownFunctionError, match=name.replace(".", r"\.").replace(
            "negative step", "negative step")):
        map_keras_names(source)


def test_custom_objects_are_captured_as_registered_functions():
    mapped = map_keras_names("lambda x: helper(x) * 2", {"helper": abs})
    assert mapped.captured == {"helper": {"kind": "function",
                                          "function": {"kind": "registered", "name": "helper"}}}
    np.testing.assert_allclose(run("lambda x: helper(x) * 2", X, custom={"helper": torch.abs}),
                               2 * abs(X), rtol=1e-6)


def test_arguments_and_builtins_are_not_renamed():
    assert map_keras_names("lambda tf, n=2: tf * len([n])").source == \
        "lambda tf, n=2: tf * len([n])"
