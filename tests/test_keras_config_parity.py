"""Configs, arguments and errors as Keras 3 has them, for layers the oracle found apart."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from lamina import layers

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

#: Keras writes these and lamina accepts them but stores nothing (only the off value).
ACCEPTED_OFF = {"quantization_config"}


@pytest.mark.parametrize("name, arguments", [
    ("Dense", {"units": 2}), ("Embedding", {"input_dim": 5, "output_dim": 2}),
    ("Conv1D", {"filters": 2, "kernel_size": 2}), ("Conv2D", {"filters": 2, "kernel_size": 2}),
    ("SpatialDropout1D", {"rate": 0.5}), ("SpatialDropout2D", {"rate": 0.5}),
    ("SpatialDropout3D", {"rate": 0.5}), ("Flatten", {"data_format": "channels_first"}),
])
def test_configs_have_keras_keys_and_rebuild_both_ways(name: str, arguments: dict) -> None:
    ours, theirs = getattr(layers, name)(**arguments), getattr(keras.layers, name)(**arguments)
    our_config, their_config = ours.get_config(), theirs.get_config()
    assert set(their_config) - set(our_config) <= ACCEPTED_OFF
    assert set(our_config) <= set(their_config)
    getattr(layers, name).from_config(their_config)
    getattr(keras.layers, name).from_config(our_config)


def test_flatten_channels_first_matches_keras() -> None:
    data = np.arange(48, dtype="float32").reshape(2, 2, 3, 4)
    expected = keras.layers.Flatten(data_format="channels_first")(data)
    got = layers.Flatten(data_format="channels_first")(torch.tensor(data))
    np.testing.assert_array_equal(got.numpy(), expected.detach().cpu().numpy())
    assert not np.array_equal(got.numpy(), layers.Flatten()(torch.tensor(data)).numpy())


def test_embedding_weights_argument_sets_the_table() -> None:
    table = np.arange(10, dtype="float32").reshape(5, 2)
    ours = layers.Embedding(5, 2, weights=table)
    theirs = keras.layers.Embedding(5, 2, weights=table)
    ids = np.array([[1, 4]])
    np.testing.assert_array_equal(ours(torch.tensor(ids)).detach().numpy(),
                                  theirs(ids).detach().cpu().numpy())
    with pytest.raises(ValueError, match="lora_rank=4"):
        layers.Dense(2, lora_rank=4)


@pytest.mark.parametrize("name, arguments", [
    ("Dropout", {"rate": 0.5, "noise_shape": "x"}),
    ("GaussianNoise", {"stddev": "x"}),
    ("Conv1D", {"filters": 2, "kernel_size": 2, "strides": 2, "dilation_rate": 2}),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 2, "strides": 2, "dilation_rate": 2}),
])
def test_bad_arguments_raise_keras_exception_classes(name: str, arguments: dict) -> None:
    with pytest.raises((ValueError, TypeError)) as theirs:
        getattr(keras.layers, name)(**arguments)
    with pytest.raises(type(theirs.value)):  # the built-in class Keras raises
        getattr(layers, name)(**arguments)


def test_depthwise_and_separable_take_strides_with_dilation_as_in_keras() -> None:
    for name, arguments in (("DepthwiseConv2D", {"kernel_size": 2}),
                            ("SeparableConv1D", {"filters": 2, "kernel_size": 2})):
        getattr(keras.layers, name)(**arguments, strides=2, dilation_rate=2)
        getattr(layers, name)(**arguments, strides=2, dilation_rate=2)


def test_global_pooling_masks_as_in_keras() -> None:
    data = np.random.default_rng(0).normal(size=(2, 3, 2)).astype("float32")
    mask = np.array([[True, False, True], [False, False, False]])
    ours, theirs = (torch.tensor(data, requires_grad=True) for _ in range(2))
    out = layers.GlobalAveragePooling1D()(ours, mask=torch.tensor(mask))
    expected = keras.layers.GlobalAveragePooling1D()(theirs, mask=torch.tensor(mask))
    np.testing.assert_array_equal(np.isnan(out.detach().numpy()),
                                  np.isnan(expected.detach().numpy()))
    out[0].sum().backward()
    expected[0].sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy())  # 0 where masked
    assert layers.GlobalMaxPooling1D().supports_masking is False
    assert keras.layers.GlobalMaxPooling1D().supports_masking is False
    np.testing.assert_array_equal(
        layers.GlobalMaxPooling1D()(torch.tensor(data), mask=torch.tensor(mask)).numpy(),
        keras.layers.GlobalMaxPooling1D()(data).detach().cpu().numpy())
