"""Keras parity beyond the table of ``test_layers_keras_parity.py``: cropping too much,
GroupNormalization's groups, Softmax with masks, weight penalties, "same" average pooling by
hand (the one documented difference from Keras's torch backend), the noise layers in
training (statistics; Keras's random streams are not lamina's) and the merge functions.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
import torch
from keras_parity import CF, assert_same_config, close, data, keras, make_keras, pair, raised

import lamina
from lamina import layers


@pytest.mark.parametrize(("name", "kwargs", "shape"), [
    ("Cropping1D", {"cropping": (2, 1)}, (2, 3, 4)),
    ("Cropping2D", {"cropping": ((1, 1), (0, 0))}, (2, 2, 5, 3)),
    ("Cropping2D", {"cropping": 2, **CF}, (2, 3, 5, 4)),
    ("Cropping3D", {"cropping": ((0, 0), (3, 0), (0, 0))}, (2, 2, 3, 4, 1)),
])
def test_cropping_a_whole_axis_away_is_a_value_error_as_in_keras(name: str, kwargs: dict,
                                                                  shape: tuple) -> None:
    x, batchless = data(shape), (None, *shape[1:])
    for layer in (make_keras(name, kwargs), getattr(layers, name)(**kwargs)):
        assert raised(lambda: layer(x)) is ValueError  # noqa: B023 (called at once)
        assert raised(lambda: layer.compute_output_shape(batchless)) is ValueError  # noqa: B023
    with pytest.raises(ValueError, match=re.escape(f"input shape {shape}")):
        getattr(layers, name)(**kwargs)(torch.from_numpy(x))


def test_group_normalization_checks_its_groups_when_built_as_keras_does() -> None:
    x = data((2, 3, 6))
    for groups in (4, 7):
        assert raised(lambda: make_keras("GroupNormalization", {"groups": groups})(x)) is ValueError  # noqa: B023
        with pytest.raises(ValueError, match=f"groups={groups}"):
            layers.GroupNormalization(groups=groups)(torch.from_numpy(x))
    layer = layers.GroupNormalization(groups=-1)
    layer(torch.from_numpy(x))
    assert layer.get_config()["groups"] == 6


# ---------------------------------------------------------------------- masks and penalties
@pytest.mark.parametrize(("kwargs", "shape", "mask"), [
    ({}, (2, 3, 4), np.array([[[1, 1, 0, 1]], [[0, 0, 0, 0]]], bool)),
    ({}, (2, 3, 4), np.array([[[1, 0, 1, 1]], [[1, 1, 1, 0]]], "float32")),
    ({"axis": 1}, (2, 3, 4), np.array([[[True], [False], [True]], [[True], [True], [False]]])),
    ({"axis": [1, 2]}, (2, 3, 4), np.random.default_rng(3).random((2, 3, 4)) > 0.3),
])
def test_softmax_with_a_mask_matches_keras(kwargs: dict, shape: tuple, mask: np.ndarray) -> None:
    x = data(shape)
    expected = make_keras("Softmax", kwargs)(x, mask=mask)
    close(layers.Softmax(**kwargs)(torch.from_numpy(x), mask=torch.from_numpy(mask)),
           expected)
    carried = torch.from_numpy(x)
    carried._keras_mask = torch.from_numpy(mask)  # the mask a masking layer leaves
    close(layers.Softmax(**kwargs)(carried), expected)


def test_softmax_refuses_a_mask_that_does_not_broadcast_as_keras_does() -> None:
    x, mask = data((2, 3, 4)), np.ones((2, 3), bool)
    assert raised(lambda: make_keras("Softmax", {})(x, mask=mask)) is ValueError
    with pytest.raises(ValueError, match=r"mask shape \(2, 3\)"):
        layers.Softmax()(torch.from_numpy(x), mask=torch.from_numpy(mask))


@pytest.mark.parametrize(("name", "kwargs", "shape"), [
    ("PReLU", {"alpha_initializer": "random_normal", "alpha_regularizer": "l2"}, (2, 3, 4)),
    ("GroupNormalization", {"groups": 2, "gamma_regularizer": "l1",
                            "beta_initializer": "random_normal", "beta_regularizer": "l2"},
     (2, 4)),
    ("SeparableConv1D", {"filters": 2, "kernel_size": 2, "depthwise_regularizer": "l2",
                         "pointwise_regularizer": "l1"}, (2, 4, 3)),
])
def test_weight_penalties_match_keras(name: str, kwargs: dict, shape: tuple) -> None:
    theirs, ours = pair(name, kwargs, data(shape))
    close(sum(ours.losses), sum(theirs.losses))
    assert_same_config(ours, theirs)


# ---------------------------------------------------------------------- pooling by hand
def test_same_average_pooling_with_an_odd_pad_averages_the_real_values_only() -> None:
    """The one case where lamina follows TensorFlow and JAX rather than Keras's torch backend
    (which repeats the edge value into the pad and counts it): a window of 3 whose odd pad
    at the end leaves two real values under the last window."""
    x = np.array([1.0, 2.0, 4.0, 8.0], "float32").reshape(1, 4, 1)
    out = layers.AveragePooling1D(3, strides=2, padding="same")(torch.from_numpy(x))
    assert out.flatten().tolist() == pytest.approx([(1 + 2 + 4) / 3, (4 + 8) / 2])
    image = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    pooled = layers.AveragePooling2D(4, strides=1, padding="same")(torch.from_numpy(image))
    # 4 -> 4 outputs, pad (1, 2): the top-left window holds rows and columns 0..2.
    assert pooled[0, 0, 0, 0].item() == pytest.approx(image[0, :3, :3, 0].mean())
    assert pooled[0, 3, 3, 0].item() == pytest.approx(image[0, 2:, 2:, 0].mean())


def test_max_pooling_1d_same_with_stride_1_keeps_the_length() -> None:
    x = torch.from_numpy(data((2, 3, 4)))
    out = layers.MaxPooling1D(2, strides=1, padding="same")(x)
    assert tuple(out.shape) == (2, 3, 4)
    torch.testing.assert_close(out[:, 2], x[:, 2])  # the last window holds one real step


# ---------------------------------------------------------------------- noise in training
def _train(layer: Any, x: np.ndarray) -> np.ndarray:
    if isinstance(layer, torch.nn.Module):
        return layer(torch.from_numpy(x), training=True).numpy()
    return keras.ops.convert_to_numpy(layer(x, training=True))


def test_gaussian_dropout_noise_has_keras_statistics() -> None:
    x = np.ones((400, 500), "float32")
    for layer in (layers.GaussianDropout(0.2, seed=3), make_keras("GaussianDropout",
                                                              {"rate": 0.2, "seed": 3})):
        noise = _train(layer, x)
        assert abs(noise.mean() - 1.0) < 0.01 and abs(noise.std() - 0.5) < 0.01
    again = layers.GaussianDropout(0.2, seed=3)
    np.testing.assert_array_equal(_train(again, x[:4]), _train(
        layers.GaussianDropout(0.2, seed=3), x[:4]))


def test_alpha_dropout_keeps_mean_and_variance_with_keras_values() -> None:
    x = data((300, 400))
    rate, alpha_p = 0.3, -1.6732632423543772 * 1.0507009873554805
    a = ((1 - rate) * (1 + rate * alpha_p ** 2)) ** -0.5
    b = -a * alpha_p * rate
    for layer in (layers.AlphaDropout(rate, seed=5), make_keras("AlphaDropout",
                                                            {"rate": rate, "seed": 5})):
        out = _train(layer, x)
        kept, dropped = np.isclose(out, a * x + b, atol=1e-5), np.isclose(out, a * alpha_p + b)
        assert (kept | dropped).all() and abs(dropped.mean() - rate) < 0.01
        assert abs(out.mean()) < 0.02 and abs(out.std() - 1.0) < 0.02
    shared = _train(layers.AlphaDropout(0.5, noise_shape=(None, 1, 4), seed=1),
                    data((3, 5, 4)))
    dropped = np.isclose(shared, a * alpha_p + b, atol=1e-6)
    assert (dropped == dropped[:, :1]).all()  # one decision for every step


def test_spatial_dropout_3d_drops_whole_channels_like_keras() -> None:
    x = np.ones((50, 2, 2, 2, 8), "float32")
    for layer, axes in ((layers.SpatialDropout3D(0.5, seed=0), (1, 2, 3)),
                        (layers.SpatialDropout3D(0.5, data_format="channels_first", seed=0),
                         (2, 3, 4)),
                        (make_keras("SpatialDropout3D", {"rate": 0.5, "seed": 0}), (1, 2, 3))):
        out = _train(layer, x)
        assert set(np.unique(out)) <= {0.0, 2.0}
        assert (out.min(axis=axes) == out.max(axis=axes)).all()
        assert abs((out == 0).mean() - 0.5) < 0.1


# ---------------------------------------------------------------------- merge functions
@pytest.mark.parametrize(("function", "kwargs", "count"), [
    ("add", {}, 3), ("subtract", {}, 2), ("multiply", {}, 3), ("average", {}, 2),
    ("maximum", {}, 3), ("minimum", {}, 2), ("concatenate", {"axis": 1}, 2),
    ("concatenate", {}, 3), ("dot", {"axes": -1}, 2), ("dot", {"axes": (1, 1),
                                                             "normalize": True}, 2),
])
def test_merge_functions_match_keras(function: str, kwargs: dict, count: int) -> None:
    arrays = [data((2, 3, 4), seed=i) for i in range(count)]
    expected = getattr(keras.layers, function)(arrays, **kwargs)
    close(getattr(layers, function)([torch.from_numpy(a) for a in arrays], **kwargs), expected)
    inputs = [lamina.Input(shape=(3, 4)) for _ in arrays]
    model = lamina.Model(inputs, getattr(layers, function)(inputs, name="merged", **kwargs))
    assert model.get_layer("merged").name == "merged"
    close(model([torch.from_numpy(a) for a in arrays]), expected)


# ---------------------------------------------------------------------- saving
def test_a_model_of_the_new_layers_saves_and_loads(tmp_path: Any) -> None:
    volume, sequence = lamina.Input(shape=(4, 4, 4, 2)), lamina.Input(shape=(8, 3))
    v = layers.Conv3D(4, 3, padding="same")(volume)
    v = layers.PReLU(shared_axes=[1, 2, 3])(layers.GroupNormalization(groups=2)(v))
    v = layers.Cropping3D(1)(layers.ZeroPadding3D(1)(layers.UpSampling3D()(
        layers.MaxPooling3D()(v))))
    v = layers.GlobalAveragePooling3D()(layers.Conv3DTranspose(2, 2, strides=2)(v))
    v = layers.Softmax()(layers.ELU()(layers.ReLU(max_value=6)(layers.UnitNormalization()(v))))
    s = layers.Conv1DTranspose(2, 3)(layers.DepthwiseConv1D(2)(layers.SeparableConv1D(4, 3)(
        sequence)))
    s = layers.ZeroPadding1D(1, data_format="channels_first")(layers.AlphaDropout(0.1)(s))
    s = layers.Dense(2)(layers.GlobalMaxPooling1D()(layers.LeakyReLU()(s)))
    model = lamina.Model([volume, sequence], layers.concatenate([v, s]))
    batch = [torch.from_numpy(data((2, 4, 4, 4, 2))), torch.from_numpy(data((2, 8, 3)))]
    model.save(str(tmp_path / "model.lamina"))
    loaded = lamina.saving.load_model(str(tmp_path / "model.lamina"))
    torch.testing.assert_close(loaded(batch), model(batch))
    assert [type(layer).__name__ for layer in loaded.layers] == [
        type(layer).__name__ for layer in model.layers]
