"""The ``Wrapper`` base class (issue 15, item 2), against Keras 3's."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from lamina.layers.core import Dense
from lamina.layers.wrappers import TimeDistributed, Wrapper

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")


class Doubled(Wrapper):
    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return 2 * self.layer(inputs)


class KerasDoubled(keras.layers.Wrapper):
    def call(self, inputs):  # type: ignore[no-untyped-def]
        return 2 * self.layer(inputs)


def test_a_wrapper_subclass_builds_calls_and_configures_as_in_keras() -> None:
    data = np.random.default_rng(0).normal(size=(2, 3)).astype("float32")
    theirs = KerasDoubled(keras.layers.Dense(4, name="inner"), name="doubled")
    ours = Doubled(Dense(4, name="inner"), name="doubled")
    theirs.build((None, 3))
    ours.build((None, 3))
    assert ours.layer.built and ours.built
    ours.layer.set_weights([w.value.detach().cpu().numpy() for w in theirs.layer.weights])
    expected = theirs(data).detach().cpu().numpy()
    np.testing.assert_allclose(ours(torch.tensor(data)).detach().numpy(), expected, rtol=1e-6)
    config = ours.get_config()
    assert set(config) == set(theirs.get_config())
    assert config["layer"]["class_name"] == "Dense"
    rebuilt = Doubled.from_config(config)
    assert rebuilt.layer.units == 4 and rebuilt.get_config() == config


def test_wrapping_something_else_is_keras_value_error() -> None:
    for wrapper in (Doubled, TimeDistributed):
        with pytest.raises(ValueError, match="must be a lamina layer"):
            wrapper(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError):
        keras.layers.TimeDistributed(object())


def test_time_distributed_is_a_wrapper_with_its_config() -> None:
    layer = TimeDistributed(Dense(3, name="per_step"))
    assert isinstance(layer, Wrapper)
    assert tuple(layer(torch.ones(2, 5, 4)).shape) == (2, 5, 3)
    rebuilt = TimeDistributed.from_config(layer.get_config())
    assert rebuilt.layer.name == "per_step" and rebuilt.layer.units == 3


def test_wrapper_weight_paths_and_nested_configs_are_keras_s() -> None:
    """Weights a wrapper builds carry its name (Keras's ``td/inner/kernel``), and its
    config's inner entry is one Keras reads (``module`` ``keras.layers``)."""
    from lamina.layers.recurrent import LSTM

    ours = TimeDistributed(Dense(2, name="inner"), name="td")
    theirs = keras.layers.TimeDistributed(keras.layers.Dense(2, name="inner"), name="td")
    for layer in (ours, theirs):
        layer.build((None, 3, 4))
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    assert isinstance(keras.layers.TimeDistributed.from_config(ours.get_config()),
                      keras.layers.TimeDistributed)
    from lamina.layers.wrappers import Bidirectional

    ours_bi = Bidirectional(LSTM(2, name="inner_lstm", use_cudnn=False), name="bi")
    theirs_bi = keras.layers.Bidirectional(keras.layers.LSTM(2, name="inner_lstm"), name="bi")
    for layer in (ours_bi, theirs_bi):
        layer.build((None, 3, 4))
    assert [w.path for w in ours_bi.weights] == [w.path for w in theirs_bi.weights]
    assert isinstance(keras.layers.Bidirectional.from_config(ours_bi.get_config()),
                      keras.layers.Bidirectional)
    assert ours_bi.forward_layer.use_cudnn is False and ours_bi.backward_layer.use_cudnn is False
    prebuilt = Dense(2, name="prebuilt")
    prebuilt.build((None, 4))
    TimeDistributed(prebuilt, name="td2").build((None, 3, 4))
    assert [w.path for w in prebuilt.weights] == ["prebuilt/kernel", "prebuilt/bias"]
    with pytest.raises(ValueError, match="must be a recurrent lamina layer"):
        Bidirectional("lstm")
