"""keras.config and keras.mixed_precision on lamina, against Keras 3 (torch backend):
defaults, what set_* changes (and that it changes only what is created afterwards), and
mixed-precision layers (float32 weights, autocast compute, the float32 output layer of
Keras's guide, training, saving)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import lamina
from lamina import config, layers, mixed_precision

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture
def restore_config():
    yield
    config.set_floatx("float32")
    config.set_epsilon(1e-7)
    config.set_image_data_format("channels_last")
    mixed_precision.set_global_policy("float32")
    keras.config.set_floatx("float32")
    keras.mixed_precision.set_global_policy("float32")


def test_defaults_are_keras_defaults() -> None:
    for name in ("floatx", "epsilon", "image_data_format", "backend"):
        assert getattr(config, name)() == getattr(keras.config, name)()
    assert mixed_precision.global_policy().name == keras.mixed_precision.global_policy().name


def test_set_floatx_changes_new_layers_only(restore_config) -> None:
    before = layers.Dense(2)
    before.build((None, 3))
    config.set_floatx("float64")
    keras.config.set_floatx("float64")
    after = layers.Dense(2)
    after.build((None, 3))
    assert before.kernel.dtype == torch.float32
    # Keras's too, when set before its first layer: Keras then keeps the policy it made
    # from floatx at its first layer, where lamina reads floatx at each new layer.
    assert after.kernel.dtype == torch.float64 and keras.config.floatx() == "float64"
    assert lamina.Input((3,)).dtype == torch.float64
    assert lamina.Variable(1.0).dtype == torch.float64 and lamina.ops.floatx() == "float64"
    with pytest.raises(ValueError, match="set_floatx"):
        config.set_floatx("int8")


def test_set_image_data_format_is_the_default_data_format(restore_config) -> None:
    config.set_image_data_format("channels_first")
    conv = layers.Conv2D(4, 3)
    assert conv.data_format == "channels_first"
    assert tuple(conv(torch.zeros(1, 2, 8, 8)).shape) == (1, 4, 6, 6)
    with pytest.raises(ValueError, match="channels_last"):
        config.set_image_data_format("nhwc")


def test_set_epsilon(restore_config) -> None:
    config.set_epsilon(1e-4)
    assert lamina.backend.epsilon() == 1e-4 == lamina.ops.epsilon()


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_layers_keep_float32_weights_and_compute_low(policy, restore_config) -> None:
    mixed_precision.set_global_policy(policy)
    keras.mixed_precision.set_global_policy(policy)
    ours, theirs = layers.Dense(8), keras.layers.Dense(8)
    for layer in (ours, theirs):
        layer.build((None, 16))
    assert ours.compute_dtype == theirs.compute_dtype
    assert ours.variable_dtype == theirs.variable_dtype == "float32"
    assert ours.dtype_policy.name == theirs.dtype_policy.name == policy
    assert ours.kernel.dtype == torch.float32
    ours.kernel.assign(theirs.kernel.value.detach().cpu().numpy())
    x = np.random.default_rng(0).normal(size=(4, 16)).astype("float32")
    reference = x @ ours.kernel.numpy()
    low = torch.bfloat16 if policy == "mixed_bfloat16" else torch.float16
    with torch.autocast("cpu", dtype=low):  # what the layer runs under
        expected = torch.from_numpy(x) @ ours.kernel
    np.testing.assert_allclose(ours(torch.from_numpy(x)).float().detach().numpy(),
                               expected.float().detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours(torch.from_numpy(x)).float().detach().numpy(), reference,
                               rtol=0.05, atol=0.05)
    np.testing.assert_allclose(
        ours(torch.from_numpy(x)).float().detach().numpy(),
        keras.ops.convert_to_numpy(theirs(x)).astype("float32"), rtol=0.05, atol=0.05)


def test_guide_model_with_a_float32_output_layer_trains_saves_and_loads(
        tmp_path, restore_config) -> None:
    mixed_precision.set_global_policy("mixed_bfloat16")
    inputs = lamina.Input(shape=(12,))
    x = layers.Dense(32, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(4, use_bias=False, name="dense_2")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="predictions")(x)
    model = lamina.Model(inputs, outputs)
    mixed_precision.set_global_policy("float32")
    assert [layer.compute_dtype for layer in model.layers[1:]] == ["bfloat16", "bfloat16",
                                                                   "float32"]
    data = np.random.default_rng(1).normal(size=(64, 12)).astype("float32")
    labels = (data[:, 0] > 0).astype("int64")
    assert model(torch.from_numpy(data)).dtype == torch.float32  # as in Keras's guide
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(data, labels, epochs=8, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.get_layer("dense_1").kernel.dtype == torch.float32
    model.save(tmp_path / "mixed.lamina")
    loaded = lamina.load_model(tmp_path / "mixed.lamina")
    assert loaded.get_layer("dense_1").compute_dtype == "bfloat16"
    assert loaded.get_layer("dense_1").get_config()["dtype"] == "mixed_bfloat16"
    np.testing.assert_allclose(loaded.predict(data, verbose=0), model.predict(data, verbose=0))


def test_keras_policy_configs_are_layer_dtypes() -> None:
    keras_config = keras.layers.Dense(2, dtype="mixed_bfloat16").get_config()
    ours = layers.Dense.from_config(keras_config)
    assert ours.compute_dtype == "bfloat16" and ours.variable_dtype == "float32"
    assert lamina.DTypePolicy("mixed_float16").compute_dtype == "float16"
    with pytest.raises(ValueError, match="valid policies"):
        lamina.DTypePolicy("mixed_int8")
