"""``model.save("m.keras")`` writes a genuine Keras 3 archive, checked with Keras 3.15.1.

* For a set of models, Keras loads lamina's file and predicts what lamina predicts, and the
  weights file holds exactly the datasets Keras writes when it saves the model again.
* ``keras_weight_paths`` is compared with Keras's own walk class by class in
  ``test_keras_weight_paths.py``.
* What Keras cannot express is refused before anything is written.
"""

from __future__ import annotations

import importlib
import io
import os
import warnings
import zipfile
from typing import Any

import numpy as np
import pytest
import torch

import lamina
from lamina import layers, ops
from lamina.errors import LoadError, SerializationError
from lamina.saving.keras_archive_write import save_keras_archive
from lamina.saving.keras_archive_write_ops import KERAS_OPS
from lamina.saving.keras_archive_write_optimizer import assign_keras_optimizer_variables
from lamina.saving.keras_weight_paths import keras_weight_paths

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
h5py = pytest.importorskip("h5py")
if keras.backend.backend() != "torch":
    pytest.skip("the Keras reference runs on its torch backend", allow_module_level=True)


pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


# ------------------------------------------------------------------------------ helpers
def datasets(path: str) -> list[str]:
    """The HDF5 datasets of a ``.keras`` file's ``model.weights.h5``."""
    with zipfile.ZipFile(path) as archive:
        data = archive.read("model.weights.h5")
    found: list[str] = []
    with h5py.File(io.BytesIO(data), "r") as weights:
        weights.visititems(lambda name, obj: found.append(name)
                           if isinstance(obj, h5py.Dataset) else None)
    return sorted(found)


def randomized(model: Any, seed: int = 0) -> Any:
    """``model`` with every weight random (variances positive), so that all of them count."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for weight in model.weights:
            if weight.is_floating_point():
                values = rng.uniform(0.5, 1.5, tuple(weight.shape))
                if "variance" not in getattr(weight, "path", ""):
                    values = rng.normal(0.0, 0.5, tuple(weight.shape))
                weight.copy_(torch.as_tensor(values, dtype=weight.dtype))
    return model


def outputs(values: Any) -> list[np.ndarray]:
    values = values if isinstance(values, (list, tuple)) else [values]
    return [v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else np.asarray(v)
            for v in values]


# ------------------------------------------------------------------------------ models
def sequential_dense() -> tuple[Any, Any]:
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(5, activation="relu"),
                               layers.Dropout(0.3), layers.BatchNormalization(),
                               layers.Dense(2)])
    return model, np.random.default_rng(1).normal(size=(6, 4)).astype("float32")


def functional_shared_nested() -> tuple[Any, Any]:
    a, b = lamina.Input((4,), name="left"), lamina.Input((4,), name="right")
    shared = layers.Dense(3, name="shared")
    inner = lamina.Sequential([layers.Dense(3), layers.Dropout(0.2), layers.Dense(2)],
                              name="inner")
    x, y = shared(a), shared(b)
    merged = inner(layers.Concatenate()([x, y]))
    model = lamina.Model([a, b], [merged, layers.Dense(2, name="side")(x)])
    rng = np.random.default_rng(2)
    return model, [rng.normal(size=(5, 4)).astype("float32") for _ in range(2)]


def nested_functional() -> tuple[Any, Any]:
    i = lamina.Input((4,))
    block = lamina.Model(i, layers.Dense(3)(layers.Dense(5)(i)), name="block")
    x = lamina.Input((4,))
    model = lamina.Model(x, layers.Concatenate()([block(x), block(layers.Dense(4)(x))]))
    return model, np.random.default_rng(12).normal(size=(3, 4)).astype("float32")


def convolutional() -> tuple[Any, Any]:
    x = lamina.Input((8, 8, 3))
    y = layers.Conv2D(4, 3, activation="relu")(x)
    y = layers.MaxPooling2D()(y)
    y = layers.Dense(3)(layers.Flatten()(layers.Conv2D(2, 2, padding="same")(y)))
    return lamina.Model(x, y), np.random.default_rng(3).normal(size=(2, 8, 8, 3)).astype(
        "float32")


def embedding_lstm() -> tuple[Any, Any]:
    x = lamina.Input((7,), dtype="int32")
    y = layers.Embedding(20, 6)(x)
    y = layers.LSTM(5, return_sequences=True)(y)
    y = layers.Dense(2)(layers.LSTM(4)(y))
    return lamina.Model(x, y), np.random.default_rng(4).integers(0, 20, (3, 7)).astype("int32")


def bidirectional_gru() -> tuple[Any, Any]:
    x = lamina.Input((6, 3))
    y = layers.Bidirectional(layers.GRU(4, return_sequences=True))(x)
    y = layers.Bidirectional(layers.GRU(2), merge_mode="sum")(y)
    return lamina.Model(x, y), np.random.default_rng(5).normal(size=(2, 6, 3)).astype("float32")


def attention() -> tuple[Any, Any]:
    q, v = lamina.Input((5, 8)), lamina.Input((3, 8))
    y = layers.MultiHeadAttention(2, 4)(q, v)
    y = layers.MultiHeadAttention(2, 3, name="self_attention")(y, y)
    return lamina.Model([q, v], y), [np.random.default_rng(6).normal(size=s).astype("float32")
                                     for s in ((2, 5, 8), (2, 3, 8))]


def layer_normalization() -> tuple[Any, Any]:
    x = lamina.Input((4, 6))
    y = layers.LayerNormalization()(layers.Dense(6)(x))
    y = layers.LayerNormalization(axis=[1, 2], center=False)(y)
    return lamina.Model(x, y), np.random.default_rng(7).normal(size=(3, 4, 6)).astype("float32")


def lambda_arithmetic() -> tuple[Any, Any]:
    x = lamina.Input((3,))
    y = layers.Lambda(lambda t: t * 2 + 1)(layers.Dense(3)(x))
    return lamina.Model(x, y), np.random.default_rng(8).normal(size=(4, 3)).astype("float32")


def lambda_ops() -> tuple[Any, Any]:
    x = lamina.Input((3,))
    scale = 0.5
    y = layers.Lambda(lambda t: ops.sin(t) * scale + ops.square(t))(x)
    y = layers.Lambda(lambda t: ops.sum(t, axis=-1, keepdims=True))(layers.Dense(4)(y))
    return lamina.Model(x, y), np.random.default_rng(9).normal(size=(4, 3)).astype("float32")


def symbolic_ops() -> tuple[Any, Any]:
    x, z = lamina.Input((3,)), lamina.Input((3,))
    y = layers.Dense(3)(x) * 2.0 + z
    y = 1.0 - ops.sin(y) / 3.0
    y = ops.maximum(ops.abs(-y), ops.exp(z)) - ops.square(ops.relu(z))
    y = layers.Dense(2)(ops.sigmoid(y) * ops.tanh(ops.negative(x)) ** 2.0 // 0.25)
    rng = np.random.default_rng(11)
    return lamina.Model([x, z], y), [rng.normal(size=(4, 3)).astype("float32")
                                     for _ in range(2)]


MODELS = {"sequential_dense": sequential_dense, "symbolic_ops": symbolic_ops,
          "functional_shared_nested": functional_shared_nested,
          "nested_functional": nested_functional,
          "convolutional": convolutional, "embedding_lstm": embedding_lstm,
          "bidirectional_gru": bidirectional_gru, "attention": attention,
          "layer_normalization": layer_normalization}
LAMBDA_MODELS = {"lambda_arithmetic": lambda_arithmetic, "lambda_ops": lambda_ops}


@pytest.mark.parametrize("name", [*MODELS, *LAMBDA_MODELS])
def test_keras_loads_the_archive_and_predicts_the_same(name: str, tmp_path: Any) -> None:
    model, x = {**MODELS, **LAMBDA_MODELS}[name]()
    randomized(model)
    path = str(tmp_path / f"{name}.keras")
    model.save(path)
    safe = name not in LAMBDA_MODELS
    if not safe:
        with pytest.raises(ValueError, match="safe_mode"):
            keras.saving.load_model(path)
    loaded = keras.saving.load_model(path, safe_mode=safe)
    for ours, theirs in zip(outputs(model.predict(x, verbose=0)),
                            outputs(loaded.predict(x, verbose=0)), strict=True):
        np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=1e-5)
    again = str(tmp_path / f"{name}_by_keras.keras")
    loaded.save(again)
    assert datasets(path) == datasets(again)
    assert sorted(keras_weight_paths(model)) == datasets(path)


@lamina.saving.register_keras_serializable(package="archive_test")
class ScaledDense(lamina.layers.Layer):
    """A user's layer: a weight of its own and a Dense held by an attribute."""

    def __init__(self, units: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.projection = layers.Dense(units)
        self.heads = [layers.Dense(units), layers.Dense(units, use_bias=False)]

    def build(self, input_shape: Any) -> None:
        self.scale = self.add_weight(shape=(self.units,), initializer="ones", name="scale")

    def call(self, inputs: Any) -> Any:
        return self.projection(inputs) * self.scale + self.heads[1](self.heads[0](inputs))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units}


def keras_scaled_dense() -> type:
    """The same layer written for Keras, under the same class name (Keras keys a layer's
    weights by its class's name) and registered under the same name."""

    @keras.saving.register_keras_serializable(package="archive_test")
    class ScaledDense(keras.layers.Layer):
        def __init__(self, units: int, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.units = units
            self.projection = keras.layers.Dense(units)
            self.heads = [keras.layers.Dense(units), keras.layers.Dense(units, use_bias=False)]

        def build(self, input_shape: Any) -> None:
            self.scale = self.add_weight(shape=(self.units,), initializer="ones",
                                         name="scale")

        def call(self, inputs: Any) -> Any:
            return self.projection(inputs) * self.scale + self.heads[1](self.heads[0](inputs))

        def get_config(self) -> dict[str, Any]:
            return {**super().get_config(), "units": self.units}

    return ScaledDense


KerasScaledDense = keras_scaled_dense()


def test_a_registered_custom_layer_loads_in_keras_with_the_same_class(tmp_path: Any) -> None:
    x = lamina.Input((4,))
    model = randomized(lamina.Model(x, layers.Dense(2)(ScaledDense(3)(x))))
    data = np.random.default_rng(10).normal(size=(3, 4)).astype("float32")
    model.save(tmp_path / "custom.keras")
    loaded = keras.saving.load_model(tmp_path / "custom.keras")
    assert type(loaded.layers[1]) is KerasScaledDense
    np.testing.assert_allclose(loaded.predict(data, verbose=0),
                               model.predict(data, verbose=0), atol=1e-5)
    loaded.save(tmp_path / "again.keras")
    assert datasets(str(tmp_path / "custom.keras")) == datasets(str(tmp_path / "again.keras"))
    assert "layers/scaled_dense/heads/dense_1/vars/0" in datasets(str(tmp_path / "custom.keras"))


def test_save_model_dispatches_on_the_suffix(tmp_path: Any) -> None:
    model, _ = sequential_dense()
    lamina.save_model(model, tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        assert sorted(archive.namelist()) == ["config.json", "metadata.json",
                                              "model.weights.h5"]
    save_keras_archive(model, tmp_path / "direct.keras")
    assert datasets(str(tmp_path / "m.keras")) == datasets(str(tmp_path / "direct.keras"))
    lamina.save_model(model, tmp_path / "m.lamina")
    with zipfile.ZipFile(tmp_path / "m.lamina") as archive:
        assert "model.safetensors" in archive.namelist()
    assert isinstance(lamina.load_model(tmp_path / "m.lamina"), lamina.Sequential)


@pytest.mark.parametrize("make, amsgrad", [
    (sequential_dense, False), (functional_shared_nested, True)], ids=["sequential", "functional"])
def test_keras_resumes_adam_where_lamina_stopped(make: Any, amsgrad: bool, tmp_path: Any
                                                 ) -> None:
    model, x = make()
    targets = [np.zeros(tuple(t.shape), "float32") for t in outputs(model.predict(x, verbose=0))]
    model.compile(optimizer=lamina.optimizers.Adam(0.01, amsgrad=amsgrad), loss="mse")
    model.fit(x, targets if len(targets) > 1 else targets[0], epochs=3, verbose=0)
    model.save(tmp_path / "compiled.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        loaded = keras.saving.load_model(tmp_path / "compiled.keras")
    optimizer = loaded.optimizer
    assert type(optimizer).__name__ == "Adam" and optimizer.amsgrad == amsgrad
    assert int(optimizer.iterations) == int(model.optimizer.iterations) == 3
    assert float(optimizer.learning_rate) == pytest.approx(0.01)
    # Keras's slots, per trainable variable of its model, hold torch's averages of the
    # lamina weight with the same values.
    names = ("momentum", "velocity") + (("velocity_hat",) if amsgrad else ())
    keys = {"momentum": "exp_avg", "velocity": "exp_avg_sq", "velocity_hat": "max_exp_avg_sq"}
    trainable = [np.asarray(v.numpy()) for v in loaded.trainable_variables]
    slots = {name: [] for name in names}
    for variable in optimizer.variables[2:]:
        name = next(n for n in sorted(names, key=len, reverse=True) if v_ends(variable, n))
        slots[name].append(np.asarray(variable.numpy()))
    for name in names:
        assert len(slots[name]) == len(trainable) == len(model.trainable_weights)
        for value, slot in zip(trainable, slots[name]):
            weight = next(w for w in model.trainable_weights if w.shape == value.shape
                          and np.allclose(w.detach().numpy(), value))
            np.testing.assert_allclose(slot, model.optimizer.state[weight][keys[name]].numpy(),
                                       rtol=1e-6)
    for ours_out, theirs_out in zip(outputs(model.predict(x, verbose=0)),
                                    outputs(loaded.predict(x, verbose=0)), strict=True):
        np.testing.assert_allclose(ours_out, theirs_out, atol=1e-5)


def test_the_optimizer_state_comes_back_into_lamina(tmp_path: Any) -> None:
    """``assign_keras_optimizer_variables`` (for a reader) inverts what is written: a copy
    of the model given the file's optimizer variables trains on exactly as the original."""
    model, x = functional_shared_nested()
    targets = [np.zeros((5, 2), "float32"), np.zeros((5, 2), "float32")]
    model.compile(optimizer=lamina.optimizers.Adam(0.01, amsgrad=True), loss="mse")
    model.fit(x, targets, epochs=2, verbose=0, shuffle=False)
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as weights:
            group = weights["optimizer/vars"]
            values = [np.asarray(group[str(i)]) for i in range(len(group))]
    copy, _ = functional_shared_nested()
    copy.set_weights(model.get_weights())
    copy.compile(optimizer=lamina.optimizers.Adam(0.5, amsgrad=True), loss="mse")
    assign_keras_optimizer_variables(copy, values)
    assert int(copy.optimizer.iterations) == 2
    for trained in (model, copy):
        torch.manual_seed(0)  # the same dropout masks
        trained.fit(x, targets, epochs=1, verbose=0, shuffle=False)
    for ours, theirs in zip(model.get_weights(), copy.get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)
    with pytest.raises(LoadError, match="variables"):
        assign_keras_optimizer_variables(copy, values[:-1])


def v_ends(variable: Any, name: str) -> bool:
    return variable.path.endswith(f"_{name}")


def test_another_optimizer_compiles_fresh_in_keras(tmp_path: Any) -> None:
    model, x = sequential_dense()
    model.compile(optimizer=lamina.optimizers.RMSprop(0.01), loss="mse", metrics=["mae"])
    model.fit(x, np.zeros((6, 2), "float32"), epochs=1, verbose=0)
    model.save(tmp_path / "compiled.keras")
    # RMSprop's torch state is not Keras's: Keras says it skipped it, and starts afresh.
    with pytest.warns(UserWarning, match="Skipping variable loading for optimizer"):
        loaded = keras.saving.load_model(tmp_path / "compiled.keras")
    assert type(loaded.optimizer).__name__ == "RMSprop"
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-5)
    model.save(tmp_path / "uncompiled.keras", include_optimizer=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not keras.saving.load_model(tmp_path / "uncompiled.keras").compiled


@pytest.mark.parametrize("op", sorted(KERAS_OPS))
def test_each_op_written_is_a_keras_operation(op: str) -> None:
    module, class_name = KERAS_OPS[op]
    operation = getattr(importlib.import_module(module), class_name)
    assert operation.__name__ == class_name


# ------------------------------------------------------------------------------ refusals
def test_an_op_keras_files_do_not_hold_this_way_is_refused(tmp_path: Any) -> None:
    x = lamina.Input((3,))
    model = lamina.Model(x, ops.sum(layers.Dense(2)(x), axis=-1))
    with pytest.raises(SerializationError, match="ops.sum with keyword arguments"):
        model.save(tmp_path / "m.keras")
    assert os.listdir(tmp_path) == []



def test_a_lamina_only_layer_is_refused_before_anything_is_written(tmp_path: Any) -> None:
    x = lamina.Input((3,))
    model = lamina.Model(x, layers.TorchModuleWrapper(torch.nn.Linear(3, 2))(x))
    path = tmp_path / "m.keras"
    with pytest.raises(SerializationError, match="TorchModuleWrapper"):
        model.save(path)
    assert not path.exists() and os.listdir(tmp_path) == []
    path.write_bytes(b"an older file")
    with pytest.raises(SerializationError, match="torch_module_wrapper|TorchModuleWrapper"):
        lamina.save_model(model, path)
    assert path.read_bytes() == b"an older file"
    assert os.listdir(tmp_path) == ["m.keras"]


@pytest.mark.parametrize("function, message", [
    (lambda t: torch.sin(t), "'torch'"),
    (lambda t, k=2.0: t * k, "default argument"),
], ids=["unknown_global", "defaults"])
def test_a_lambda_keras_could_not_run_is_refused(function: Any, message: str,
                                                 tmp_path: Any) -> None:
    x = lamina.Input((3,))
    model = lamina.Model(x, layers.Lambda(function, name="odd")(x))
    with pytest.raises(SerializationError, match=f"Lambda 'odd'.*{message}"):
        model.save(tmp_path / "m.keras")
    assert os.listdir(tmp_path) == []


def test_a_lambda_capturing_a_tensor_is_refused(tmp_path: Any) -> None:
    offset = torch.ones(3)
    x = lamina.Input((3,))
    model = lamina.Model(x, layers.Lambda(lambda t: t + offset, name="shift")(x))
    with pytest.raises(SerializationError, match="Lambda 'shift'"):
        model.save(tmp_path / "m.keras")
    assert os.listdir(tmp_path) == []
