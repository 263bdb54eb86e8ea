"""Subclassed layers and models: registration, save/load with weights, clear errors."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import torch

import lamina
from lamina import layers
from lamina.errors import LoadError, SerializationError, UnknownFunctionError


@lamina.register_serializable(package="tests")
class Affine(layers.Layer):
    """``inputs * scale + shift``, the Keras pattern: arguments in, get_config out."""

    def __init__(self, units: int, shift: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.shift = shift

    def build(self, input_shape):
        self.scale = self.add_weight("scale", (self.units,), initializer="random_normal")

    def call(self, inputs):
        return inputs * self.scale + self.shift

    def get_config(self):
        return {**super().get_config(), "units": self.units, "shift": self.shift}


@lamina.register_serializable(package="tests")
class Block(layers.Layer):
    """A subclassed layer holding other layers, one of them subclassed too."""

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = layers.Dense(units)
        self.affine = Affine(units, shift=1.0)

    def call(self, inputs):
        return self.affine(self.dense(inputs))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class Unregistered(layers.Layer):
    def __init__(self, factor: float = 2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor


def _round_trip(model: lamina.Model, data, tmp_path: Path, **load_kwargs) -> lamina.Model:
    path = tmp_path / "model.lamina"
    model.save(path)
    loaded = lamina.load_model(path, **load_kwargs)
    torch.testing.assert_close(loaded(data), model(data), rtol=0, atol=0)
    return loaded


def test_registered_layers_save_and_load_in_sequential_and_functional(tmp_path: Path) -> None:
    sequential = lamina.Sequential([layers.Dense(3, input_shape=(2,)), Affine(3, shift=0.5),
                                    Block(4)])
    loaded = _round_trip(sequential, torch.randn(5, 2), tmp_path)
    assert isinstance(loaded.layers[1], Affine) and loaded.layers[1].shift == 0.5
    assert isinstance(loaded.layers[2].affine, Affine)
    config = sequential.get_config()
    assert [e["class_name"] for e in config["layers"][1:]] == ["Dense", "tests>Affine",
                                                               "tests>Block"]
    x = lamina.Input(shape=(3,))
    functional = lamina.Model(x, layers.Add()([Affine(3)(x), Block(3)(x)]))
    _round_trip(functional, torch.randn(4, 3), tmp_path)


def test_unregistered_layer_loads_through_custom_objects_or_a_scope(tmp_path: Path) -> None:
    model = lamina.Sequential([layers.Dense(2, input_shape=(2,)), Unregistered(3.0)])
    path = tmp_path / "model.lamina"
    model.save(path)
    with pytest.raises(UnknownFunctionError) as info:
        lamina.load_model(path)
    message = str(info.value)
    assert "Custom>Unregistered" in message
    assert "register_serializable" in message and "custom_objects" in message
    assert "custom_object_scope" in message
    assert isinstance(info.value, LoadError)
    data = torch.randn(3, 2)
    loaded = lamina.load_model(path, custom_objects={"Unregistered": Unregistered})
    torch.testing.assert_close(loaded(data), model(data))
    with lamina.custom_object_scope({"Unregistered": Unregistered}):
        torch.testing.assert_close(lamina.load_model(path)(data), model(data))


@lamina.register_serializable(package="tests")
class TwoTowers(lamina.Model):
    def __init__(self, hidden: int, **kwargs):
        super().__init__(**kwargs)
        self.hidden = hidden
        self.left = layers.Dense(hidden, activation="relu")
        self.right = Affine(hidden)
        self.out = layers.Dense(1)

    def call(self, inputs):
        return self.out(self.left(inputs) * self.right(self.left(inputs)))

    def get_config(self):
        return {**super().get_config(), "hidden": self.hidden}


class NoConfigModel(lamina.Model):
    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(2)

    def call(self, inputs):
        return torch.tanh(self.dense(inputs))


def test_subclassed_model_saves_config_and_weights(tmp_path: Path) -> None:
    model = TwoTowers(hidden=5)
    data = torch.randn(3, 4)
    model(data)
    loaded = _round_trip(model, data, tmp_path)
    assert isinstance(loaded, TwoTowers) and loaded.hidden == 5


def test_subclassed_model_without_get_config_uses_weights_files(tmp_path: Path) -> None:
    model, other = NoConfigModel(), NoConfigModel()
    data = torch.randn(3, 4)
    model(data)
    other(data)
    path = tmp_path / "weights.safetensors"
    model.save_weights(path)
    other.load_weights(path)
    torch.testing.assert_close(other(data), model(data))


class ScaleLayer(layers.Layer):
    def __init__(self):
        super(ScaleLayer, self).__init__()  # noqa: UP008 - as the Keras docs write it
        self.scale = lamina.Variable(1.)

    def call(self, inputs):
        return inputs * self.scale


def test_the_docs_scale_layer_trains_saves_and_reloads_its_trained_value(tmp_path: Path) -> None:
    model = lamina.Sequential([layers.Identity(input_shape=(1,)), ScaleLayer()])
    model.compile(optimizer=torch.optim.SGD(model.parameters(), lr=0.5), loss="mse")
    x = torch.linspace(-1, 1, 64).reshape(-1, 1)
    model.fit(x, 3 * x, epochs=60, batch_size=64, verbose=0)
    trained = model.layers[1].scale.item()
    assert trained == pytest.approx(3.0, abs=0.05)
    path = tmp_path / "scale.lamina"
    model.save(path)
    loaded = lamina.load_model(path, custom_objects={"ScaleLayer": ScaleLayer})
    assert loaded.layers[1].scale.item() == trained


class Forgetful(layers.Layer):
    def __init__(self, units: int, factor: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.units, self.factor = units, factor

    def call(self, inputs):
        return inputs * self.factor

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class HoldsATensor(layers.Layer):
    def __init__(self, table, **kwargs):
        super().__init__(**kwargs)
        self.table = table

    def call(self, inputs):
        return inputs


def test_save_time_errors_name_the_layer_and_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "model.lamina"
    forgetful = lamina.Sequential([layers.Identity(input_shape=(2,)),
                                   Forgetful(2, factor=3.0, name="forgets")])
    with pytest.raises(SerializationError, match=r"forgets.*\['factor'\].*get_config"):
        forgetful.save(path)
    assert not path.exists()
    holder = lamina.Sequential([layers.Identity(input_shape=(2,)),
                                HoldsATensor(torch.ones(2), name="holder")])
    with pytest.raises(SerializationError, match=r"holder.*table.*torch.Tensor"):
        holder.save(path)
    assert not path.exists()


def test_constructor_arguments_are_the_default_config(tmp_path: Path) -> None:
    layer = Unregistered(5.0, name="auto")
    assert layer.get_config()["factor"] == 5.0
    clone = Unregistered.from_config(layer.get_config())
    assert clone.factor == 5.0 and clone.name == "auto"


def test_registered_custom_loss_is_restored_with_the_compiled_model(tmp_path: Path) -> None:
    @lamina.register_serializable(package="tests")
    def doubled_mse(y_true, y_pred):
        return 2.0 * ((y_true - y_pred) ** 2).mean(dim=-1)

    model = lamina.Sequential([layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="adam", loss=doubled_mse)
    x, y = torch.randn(16, 2), torch.randn(16, 1)
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "custom_loss.lamina"
    model.save(path)
    with zipfile.ZipFile(path) as stored:
        assert "tests>doubled_mse" in json.dumps(json.loads(stored.read("config.json")))
    loaded = lamina.load_model(path)
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))
