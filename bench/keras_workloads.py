"""Keras 3 (torch backend) versions of every benchmark workload, (a) to (k).

Each function builds the Keras twin of one lamina workload (same shapes, same ops, the
lamina model's weights where the layouts allow a copy, with the outputs checked against
lamina's) and returns what the workload times: a model for the train steps, which the
caller drives with the same torch loop as lamina and plain PyTorch, or a callable. Keras is
imported only here, with ``KERAS_BACKEND=torch`` unless the environment says otherwise;
``candidate`` turns a missing Keras or a failing build into a note for the table instead
of an error.

Keras users write ``keras.ops`` where lamina users write ``lamina.backend``; where a
workload's lamina function calls torch directly, the Keras one does the same.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

_keras: Any = None


def _import() -> Any:
    global _keras
    if _keras is None:
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras

        _keras = keras
    return _keras


def unavailable() -> str | None:
    """Why the Keras column is empty (``None`` when Keras 3 runs on torch here)."""
    try:
        keras = _import()
    except ImportError as error:
        if getattr(error, "name", None) == "keras":
            return "not installed"
        return f"does not import ({error})"
    if not keras.__version__.startswith("3."):
        return f"Keras {keras.__version__}, not 3"
    if keras.backend.backend() != "torch":
        return f"backend is {keras.backend.backend()}, not torch (set KERAS_BACKEND=torch)"
    return None


def version() -> str | None:
    return None if unavailable() else _keras.__version__


def candidate(build: Callable[..., Any], *args: Any) -> tuple[Any, str | None]:
    """``build(*args)``, or ``None`` and the reason when Keras is missing or the build fails
    (a Keras limitation is a note in the table, not the end of the benchmark)."""
    reason = unavailable()
    if reason is not None:
        return None, reason
    try:
        return build(*args), None
    except Exception as error:  # noqa: BLE001 - reported in the table and the JSON
        return None, f"failed: {type(error).__name__}: {str(error).splitlines()[0][:200]}"


def _check(got: Any, expected: torch.Tensor) -> None:
    torch.testing.assert_close(torch.as_tensor(np.asarray(got)) if not isinstance(
        got, torch.Tensor) else got.detach(), expected.detach(), rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------------- shared models
def antirectifier(x: Any) -> Any:
    """The Keras docs' antirectifier in Keras 3 ops (in place, as the docs write it)."""
    ops = _import().ops
    x -= ops.mean(x, axis=1, keepdims=True)
    x = ops.normalize(x, axis=1)
    pos = ops.relu(x)
    neg = ops.relu(-x)
    return ops.concatenate([pos, neg], axis=1)


def _mlp() -> Any:
    keras = _import()
    layers = keras.layers
    return keras.Sequential([
        keras.Input((784,)),
        layers.Dense(256),
        layers.Lambda(antirectifier),
        layers.Dense(256),
        layers.Lambda(antirectifier),
        layers.Dense(10),
    ])


def _copied(keras_model: Any, lamina_model: Any, sample: Any,
            call: Callable[[Any], Any] | None = None) -> Any:
    """``keras_model`` with ``lamina_model``'s weights (same order and layouts), checked
    to compute what lamina computes on ``sample``."""
    keras_model.set_weights(lamina_model.get_weights())
    call = call or (lambda model: model(sample))
    with torch.no_grad():
        _check(call(keras_model), call(lamina_model))
    return keras_model


# ---------------------------------------------------------------------- (a) to (g)
def elementwise_forward(x: torch.Tensor, expected: torch.Tensor) -> Callable[[], Any]:
    """(a) ten chained elementwise Lambdas; the caller times it under ``no_grad``."""
    keras = _import()
    ops = keras.ops
    functions = [
        lambda x: x * 1.01,
        lambda x: x + 0.01,
        lambda x: ops.tanh(x),
        lambda x: x * 0.99,
        lambda x: ops.relu(x),
        lambda x: x - 0.01,
        lambda x: ops.sigmoid(x),
        lambda x: x * 2.0,
        lambda x: x + 1.0,
        lambda x: ops.abs(x),
    ]
    model = keras.Sequential([keras.Input((16,))]
                             + [keras.layers.Lambda(fn) for fn in functions])
    with torch.no_grad():
        _check(model(x), expected)
    return lambda: model(x)


def mlp(lamina_model: Any, x: torch.Tensor) -> Any:
    """(b) the antirectifier MLP with lamina's weights; trained by the caller's torch loop."""
    return _copied(_mlp(), lamina_model, x)


def fit_epoch(lamina_model: Any, x: torch.Tensor, y: torch.Tensor) -> Callable[[], Any]:
    """(c) ``fit`` for one epoch at batch 32, Adam with Keras's defaults, logits loss."""
    keras = _import()
    model = _copied(_mlp(), lamina_model, x[:32])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=False)
    return lambda: model.fit(x, y, batch_size=32, epochs=1, verbose=0, shuffle=True)


def predict(lamina_model: Any, x: np.ndarray) -> Callable[[], np.ndarray]:
    """(d) ``predict`` over all of ``x`` at batch 32."""
    model = _copied(_mlp(), lamina_model, torch.from_numpy(x[:64]))
    return lambda: model.predict(x, batch_size=32, verbose=0)


def branching(lamina_denses: list[Any], lamina_model: Any, x: torch.Tensor) -> Any:
    """(e) two towers joined by Concatenate and a two-input Lambda, lamina's weights."""
    keras = _import()
    layers, ops = keras.layers, keras.ops
    inputs = keras.Input((784,))
    denses = [layers.Dense(128, activation="relu"), layers.Dense(64),
              layers.Dense(128, activation="tanh"), layers.Dense(64), layers.Dense(10)]
    a = denses[1](denses[0](inputs))
    b = denses[3](denses[2](inputs))
    joined = layers.Concatenate()([a, b])
    gated = layers.Lambda(lambda t: t[0] * ops.sigmoid(t[1]) + t[1])([a, b])
    outputs = denses[4](layers.Concatenate()([joined, gated]))
    model = keras.Model(inputs, outputs)
    for keras_dense, lamina_dense in zip(denses, lamina_denses):
        keras_dense.set_weights(lamina_dense.get_weights())
    with torch.no_grad():
        _check(model(x), lamina_model(x))
    return model


def lstm(lamina_model: Any, x: torch.Tensor, mask: torch.Tensor | None, units: int,
         classes: int) -> Any:
    """(f) ``LSTM(units) -> Dense(classes)``; called as ``model(x, mask=mask)`` when masked."""
    keras = _import()
    # Keras warns that the Functional model itself "does not support masking" when called
    # with mask=, yet hands the mask to the LSTM (the outputs are checked against lamina's).
    warnings.filterwarnings("ignore", message=".*was passed an input with a mask attached")
    inputs = keras.Input(tuple(x.shape[1:]))
    model = keras.Model(inputs, keras.layers.Dense(classes)(keras.layers.LSTM(units)(inputs)))
    return _copied(model, lamina_model, x,
                   None if mask is None else (lambda m: m(x, mask=mask)))


def cnn(lamina_model: Any, images: torch.Tensor) -> Any:
    """(g) Keras's MNIST convnet, channels_last, with lamina's weights."""
    keras = _import()
    layers = keras.layers
    model = keras.Sequential([
        keras.Input(tuple(images.shape[1:])),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(10),
    ])
    return _copied(model, lamina_model, images)


# ---------------------------------------------------------------------- (h) to (k)
def builder() -> Callable[[int], Any]:
    """(h) a function building a ``depth``-layer Functional model (Dense and Lambda
    alternating, every output shape inferred)."""
    keras = _import()
    layers, ops = keras.layers, keras.ops

    def build(depth: int) -> Any:
        inputs = keras.Input((32,))
        h = inputs
        for index in range(depth):
            h = layers.Dense(32)(h) if index % 2 == 0 else \
                layers.Lambda(lambda x: ops.relu(x) * 0.5)(h)
        return keras.Model(inputs, h)

    build(4)  # first-use costs (imports, caches) are not part of building
    return build


def big_model(dense_widths: tuple[int, int, int], features: int) -> Any:
    """(i) the ~10M-parameter model of bench/saving.py."""
    keras = _import()
    layers, ops = keras.layers, keras.ops
    return keras.Sequential([
        keras.Input((features,)),
        layers.Dense(dense_widths[0]),
        layers.Lambda(lambda x: x ** 2),
        layers.Dense(dense_widths[1]),
        layers.Lambda(antirectifier),
        layers.Dense(dense_widths[2]),
        layers.Lambda(lambda x: ops.relu(x) * 0.5),
    ])


def save_load(dense_widths: tuple[int, int, int], features: int,
              directory: str) -> Callable[[], Any]:
    """(i) ``model.save("x.keras")`` then ``load_model`` (``safe_mode=False``: Keras keeps
    lambdas as bytecode and refuses them otherwise; a ``def`` is stored by name and found
    through ``custom_objects``)."""
    keras = _import()
    model = big_model(dense_widths, features)
    path = os.path.join(directory, "model.keras")

    def save_and_load() -> Any:
        model.save(path)
        return keras.saving.load_model(path, safe_mode=False,
                                       custom_objects={"antirectifier": antirectifier})

    loaded = save_and_load()
    assert loaded.count_params() == model.count_params()
    return save_and_load


def loaded_function(x: torch.Tensor) -> Callable[[], Any]:
    """(j) the antirectifier Lambda loaded from a ``.keras`` file, called like the original
    (on a copy: it changes its input in place, as the Keras docs write it). Keras stores a
    ``def`` by name only, so what it loads is the original function, found through
    ``custom_objects``: this row is Keras's cost of calling its function, not of a
    function rebuilt from the file."""
    keras = _import()
    model = keras.Sequential([keras.Input(tuple(x.shape[1:])),
                              keras.layers.Lambda(antirectifier)])
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "lambda.keras")
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=False,
                                         custom_objects={"antirectifier": antirectifier})
        restored = loaded.layers[0].function
    _check(restored(x.clone()), antirectifier(x.clone()))
    return lambda: restored(x.clone())


def train_on_batch(lamina_model: Any, x: torch.Tensor, y: torch.Tensor,
                   jit: bool) -> Callable[[], Any]:
    """(k) ``train_on_batch`` of the MLP compiled with ``jit_compile=jit``."""
    keras = _import()
    model = _copied(_mlp(), lamina_model, x)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=jit)
    return lambda: model.train_on_batch(x, y)


# ---------------------------------------------------------------------- (l) to (p)
def _position_embedding(sequence: int) -> Any:
    """bench/transformer.py's ``PositionEmbedding`` as a Keras layer."""
    keras = _import()

    class PositionEmbedding(keras.layers.Layer):
        def build(self, input_shape: Any) -> None:
            self.positions = self.add_weight(shape=(sequence, input_shape[-1]),
                                             initializer="random_normal", name="positions")

        def call(self, inputs: Any) -> Any:
            return inputs + self.positions[:inputs.shape[1]]

        def compute_output_shape(self, input_shape: Any) -> Any:
            return input_shape

    return PositionEmbedding()


def transformer_lm(lamina_model: Any, tokens: torch.Tensor) -> Any:
    """(l), (m), (n) bench/transformer.py's language model, Functional, lamina's weights."""
    keras = _import()
    layers = keras.layers
    vocabulary = lamina_model.layers[-1].units
    width = lamina_model.layers[1].output_dim
    attention = next(layer for layer in lamina_model.layers
                     if type(layer).__name__ == "MultiHeadAttention")
    hidden = next(layer.units for layer in lamina_model.layers
                  if type(layer).__name__ == "Dense")
    inputs = keras.Input((None,), dtype="int64")
    x = _position_embedding(lamina_model.layers[2].sequence)(
        layers.Embedding(vocabulary, width)(inputs))
    h = layers.LayerNormalization()(x)
    x = x + layers.MultiHeadAttention(attention.num_heads, attention.key_dim)(
        h, h, use_causal_mask=True)
    h = layers.LayerNormalization()(x)
    x = x + layers.Dense(width)(layers.Dense(hidden, activation="gelu")(h))
    x = layers.LayerNormalization()(x)
    model = keras.Model(inputs, layers.Dense(vocabulary)(x))
    return _copied(model, lamina_model, tokens)


def forward_cnn(lamina_model: Any, images: torch.Tensor) -> Any:
    """(o) bench/cnn.py's forward CNN, channels_last, with lamina's weights."""
    keras = _import()
    layers = keras.layers
    model = keras.Sequential([
        keras.Input(tuple(images.shape[1:])),
        layers.Conv2D(64, 3, activation="relu"),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(128, 3, activation="relu"),
        layers.GlobalAveragePooling2D(),
        layers.Dense(10),
    ])
    return _copied(model, lamina_model, images)


def mixed_mlp(lamina_model: Any, x: torch.Tensor, expected: torch.Tensor) -> Any:
    """(p) the (b) MLP built under Keras's ``mixed_bfloat16`` global policy (set back
    afterwards), with lamina's weights; its bfloat16 logits checked against ``expected``."""
    keras = _import()
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = _mlp()
    finally:
        keras.mixed_precision.set_global_policy(previous)
    model.set_weights(lamina_model.get_weights())
    with torch.no_grad():
        got = model(x)
    torch.testing.assert_close(got.float(), expected.float(), rtol=2e-2, atol=2e-2)
    return model
