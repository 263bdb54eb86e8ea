"""Keras names lamina answers to, against Keras 3 (torch backend): serialize/deserialize
of Keras objects, keras.utils data helpers (PyDataset, pack/unpack), clear_session,
keras.backend dtype helpers, validation_data as a list, the top-level classes."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import lamina
from lamina.saving import deserialize_keras_object, serialize_keras_object

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def pairs():
    return [
        (keras.layers.Dense(3, activation="relu", name="d"),
         lamina.layers.Dense(3, activation="relu", name="d")),
        (keras.optimizers.Adam(learning_rate=0.01), lamina.optimizers.Adam(learning_rate=0.01)),
        (keras.regularizers.L1L2(0.1, 0.2), lamina.regularizers.L1L2(0.1, 0.2)),
        (keras.initializers.GlorotUniform(seed=1), lamina.initializers.GlorotUniform(seed=1)),
        (keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5),
         lamina.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)),
        (keras.constraints.MaxNorm(2.0), lamina.constraints.MaxNorm(2.0)),
    ]


@pytest.mark.parametrize("index", range(6))
def test_serialized_objects_match_keras_and_cross_load(index: int) -> None:
    theirs, ours = pairs()[index]
    their_entry = keras.saving.serialize_keras_object(theirs)
    our_entry = serialize_keras_object(ours)
    assert our_entry["class_name"] == their_entry["class_name"]
    assert set(our_entry) == set(their_entry)
    # Keras's dict rebuilds the lamina object, and lamina's rebuilds Keras's.
    rebuilt = deserialize_keras_object(their_entry)
    assert type(rebuilt) is type(ours)
    again = keras.saving.deserialize_keras_object(our_entry)
    assert type(again).__name__ == type(theirs).__name__
    if hasattr(ours, "get_config") and not isinstance(ours, lamina.layers.Layer):
        assert deserialize_keras_object(our_entry).get_config() == ours.get_config()


def test_functions_arrays_and_plain_values() -> None:
    relu = serialize_keras_object(lamina.activations.get("relu"))
    assert relu["class_name"] == "function" and relu["config"] == "relu"
    assert deserialize_keras_object(keras.saving.serialize_keras_object(
        keras.activations.relu)) is lamina.activations.get("relu")
    array = np.arange(3.0)
    assert serialize_keras_object(array) == keras.saving.serialize_keras_object(array)
    np.testing.assert_array_equal(deserialize_keras_object(serialize_keras_object(array)),
                                  array)
    for value in (1, "a", None, [1, 2], {"a": 1.5}):
        assert serialize_keras_object(value) == keras.saving.serialize_keras_object(value)

    @lamina.saving.register_keras_serializable(package="tests")
    def doubled(x):
        return 2 * x

    entry = serialize_keras_object(doubled)
    assert entry["config"] == "tests>doubled"
    assert deserialize_keras_object(entry) is doubled
    with pytest.raises(ValueError, match="unknown class"):
        deserialize_keras_object({"module": "os", "class_name": "system", "config": {}})


def test_py_dataset_trains_like_arrays() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype("float32")
    y = x @ np.array([[1.0], [-1.0], [0.5]], "float32")
    epochs_seen = []

    class Batches(lamina.utils.PyDataset):
        def __len__(self):
            return 4

        def __getitem__(self, index):
            part = slice(8 * index, 8 * index + 8)
            return x[part], y[part]

        def on_epoch_end(self):
            epochs_seen.append(1)

    def model():
        torch.manual_seed(0)
        built = lamina.Sequential([lamina.layers.Dense(1, input_shape=(3,))])
        built.compile(optimizer="sgd", loss="mse")
        return built

    from_batches, from_arrays = model(), model()
    from_batches.fit(Batches(), epochs=3, verbose=0)
    from_arrays.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(from_batches.predict(x, verbose=0),
                               from_arrays.predict(x, verbose=0), rtol=1e-6)
    assert len(epochs_seen) == 3 and Batches().num_batches == 4
    assert lamina.utils.Sequence is lamina.utils.PyDataset


def test_pack_and_unpack_like_keras() -> None:
    x, y, w = np.ones(2), np.zeros(2), np.ones(2)
    for args in ((x,), (x, y), (x, y, w), ((x, x),)):
        ours = lamina.utils.pack_x_y_sample_weight(*args)
        theirs = keras.utils.pack_x_y_sample_weight(*args)
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        assert len(lamina.utils.unpack_x_y_sample_weight(theirs)) == 3
    assert lamina.utils.unpack_x_y_sample_weight((x, y))[2] is None


def test_clear_session_restarts_names_and_backend_dtype_helpers() -> None:
    lamina.layers.Dense(1, name=None)
    lamina.utils.clear_session()
    assert lamina.layers.Dense(1).name == keras_name_after_clear()
    for dtype in ("float32", torch.float64, np.int32, "bfloat16"):
        assert lamina.backend.standardize_dtype(dtype) == keras.backend.standardize_dtype(
            dtype if not isinstance(dtype, torch.dtype) else "float64")
    assert lamina.backend.is_float_dtype("float16") and lamina.backend.is_int_dtype("uint8")
    assert lamina.backend.backend() == keras.backend.backend() == "torch"
    assert lamina.utils.is_keras_tensor(lamina.Input((2,)))
    assert not lamina.backend.is_keras_tensor(torch.zeros(2))


def keras_name_after_clear() -> str:
    keras.backend.clear_session()
    return keras.layers.Dense(1).name


def test_validation_data_as_a_list_and_top_level_classes() -> None:
    model = lamina.Sequential([lamina.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((4, 2), "float32"), np.ones((4, 1), "float32")
    history = model.fit(x, y, validation_data=[x, y], epochs=1, verbose=0)
    assert sorted(history.history) == ["loss", "val_loss"]
    for name in ("Layer", "Loss", "Metric", "Optimizer", "Initializer", "Regularizer",
                 "KerasTensor", "DTypePolicy", "Input", "Model", "Sequential", "Variable"):
        assert hasattr(lamina, name) and hasattr(keras, name), name
    assert isinstance(lamina.Input((2,)), lamina.KerasTensor)


def test_result_type_and_get_uid_like_keras() -> None:
    for pair in (("int32", "float32"), ("int64", "float32"), ("int8", "uint8"),
                 ("bool", "int8"), ("float16", "bfloat16")):
        assert lamina.backend.result_type(*pair) == keras.backend.result_type(*pair)
    first = lamina.backend.get_uid("test_uid_prefix")
    assert lamina.backend.get_uid("test_uid_prefix") == first + 1


def test_saved_compile_configs_keep_losses_and_metrics_apart(tmp_path) -> None:
    """A loss and a metric of the same Keras name (MeanSquaredError) come back each as
    itself; metrics whose configs hold None or lists (F1Score, OneHotMeanIoU, Dice) too."""
    model = lamina.Sequential([lamina.layers.Dense(3, input_shape=(2,), activation="softmax")])
    model.compile(optimizer="adam", loss=lamina.losses.MeanSquaredError(),
                  metrics=[lamina.metrics.MeanSquaredError(),
                           lamina.metrics.F1Score(average="macro", threshold=0.5),
                           lamina.metrics.OneHotMeanIoU(num_classes=3)])
    x = np.ones((4, 2), "float32")
    y = np.eye(3, dtype="float32")[[0, 1, 2, 0]]
    model.fit(x, y, verbose=0)
    model.save(tmp_path / "m.lamina")
    loaded = lamina.load_model(tmp_path / "m.lamina")
    assert isinstance(loaded.compute_loss(y=torch.from_numpy(y), y_pred=loaded(
        torch.from_numpy(x))), torch.Tensor)
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == pytest.approx(
        model.evaluate(x, y, verbose=0, return_dict=True))
    assert isinstance(loaded.metrics[0], lamina.metrics.Mean)  # the loss tracker
    dice = lamina.Sequential([lamina.layers.Dense(3, input_shape=(2,), activation="softmax")])
    dice.compile(optimizer="sgd", loss=lamina.losses.Dice())
    dice.save(tmp_path / "dice.lamina")
    assert isinstance(lamina.load_model(tmp_path / "dice.lamina").compute_loss(
        y=torch.from_numpy(y), y_pred=torch.from_numpy(y)), torch.Tensor)
