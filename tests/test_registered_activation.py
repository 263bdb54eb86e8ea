"""A function registered as serializable works as an activation and saves (issue 16);
Keras's registration names on lamina.saving."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import lamina
from lamina import activations, layers


@lamina.register_serializable("tests_activation")
def shifted_relu(x: torch.Tensor) -> torch.Tensor:
    return torch.relu(x - 1.0)


def test_a_registered_function_is_an_activation_that_saves(tmp_path: Path) -> None:
    x = lamina.Input((3,))
    model = lamina.Model(x, layers.Dense(2, activation=shifted_relu, name="d")(x))
    assert model.get_layer("d").get_config()["activation"] == "tests_activation>shifted_relu"
    path = tmp_path / "model.lamina"
    model.save(path)
    loaded = lamina.load_model(path)
    data = torch.randn(5, 3)
    torch.testing.assert_close(loaded(data), model(data))
    assert loaded.get_layer("d").activation is shifted_relu
    assert activations.get("tests_activation>shifted_relu") is shifted_relu


def test_an_unregistered_function_is_refused_at_save_with_the_way_out(tmp_path: Path) -> None:
    x = lamina.Input((3,))
    model = lamina.Model(x, layers.Dense(2, activation=lambda t: t * 2)(x))
    with pytest.raises(ValueError, match="register_serializable"):
        model.save(tmp_path / "model.lamina")
    assert not (tmp_path / "model.lamina").exists()


def test_keras_registration_names() -> None:
    assert lamina.saving.register_keras_serializable is lamina.register_serializable
    assert lamina.saving.get_custom_objects()["tests_activation>shifted_relu"] is shifted_relu
    with lamina.saving.custom_object_scope({"double": lambda t: 2 * t}):
        assert activations.get("double")(torch.ones(1)).item() == 2.0
