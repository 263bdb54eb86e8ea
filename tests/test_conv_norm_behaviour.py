"""Targeted tests of the convolution, pooling, normalization and regularization layers:
TensorFlow's "same" padding, data formats, kernel memory, BatchNormalization's statistics,
regularizer penalties, masked global pooling and argument errors.

The per-layer table (values and gradients against plain torch) is in
``test_conv_norm_layers.py``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lamina
from lamina import regularizers
from lamina.layers.conv_extra import Conv2DTranspose, DepthwiseConv2D, SeparableConv2D
from lamina.layers.convolutional import Conv1D, Conv2D
from lamina.layers.core import Dense
from lamina.layers.normalization import BatchNormalization, LayerNormalization
from lamina.layers.pooling import GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D
from lamina.layers.pooling_spatial import AveragePooling1D, AveragePooling2D, MaxPooling2D
from lamina.layers.regularization import (
    ActivityRegularization,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
)
from lamina.layers.reshaping import Flatten
from lamina.layers.reshaping_spatial import Cropping1D, Cropping2D, UpSampling2D, ZeroPadding2D


def _randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------------- padding and layout
def test_same_padding_with_an_even_kernel_and_stride_2_pads_more_at_the_end() -> None:
    # 7 rows: 4 outputs, total pad 3 -> (1, 2); 8 columns: 4 outputs, total pad 2 -> (1, 1).
    x = _randn(2, 7, 8, 3)
    layer = Conv2D(5, 4, strides=2, padding="same")
    out = layer(x)
    padded = F.pad(x.permute(0, 3, 1, 2), (1, 1, 1, 2))
    expected = F.conv2d(padded, layer.kernel.permute(3, 2, 0, 1), layer.bias, stride=2)
    torch.testing.assert_close(out, expected.permute(0, 2, 3, 1))
    # The other split of the rows, (2, 1), gives the same shape but other values.
    other = F.conv2d(F.pad(x.permute(0, 3, 1, 2), (1, 1, 2, 1)),
                     layer.kernel.permute(3, 2, 0, 1), layer.bias, stride=2)
    assert not torch.allclose(out, other.permute(0, 2, 3, 1))


def test_same_pooling_matches_tensorflow_by_hand() -> None:
    signs = np.where(np.arange(36) % 3 == 0, -1.0, 1.0)
    x = (np.arange(36) * signs).astype(np.float32).reshape(1, 6, 6, 1)
    out = AveragePooling2D(3, strides=2, padding="same")(torch.from_numpy(x))[0, :, :, 0]
    # 6 -> 3 outputs, total pad (3 - 1) * 2 + 3 - 6 = 1 -> (0, 1): the last window holds
    # two real rows, and the average divides by the number of real values under it.
    expected = np.array([[x[0, 2 * i:2 * i + 3, 2 * j:2 * j + 3, 0].mean() for j in range(3)]
                         for i in range(3)], np.float32)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    negative = -np.abs(x[:, :5, :5])
    top = MaxPooling2D(2, padding="same")(torch.from_numpy(negative))[0, :, :, 0]
    # 5 -> 3 outputs, pad (0, 1): the last window holds one real value, which must win.
    assert top[2, 2].item() == negative[0, 4, 4, 0]


def test_conv2d_transpose_same_matches_the_tensorflow_scatter() -> None:
    x = _randn(1, 3, 3, 1)
    layer = Conv2DTranspose(1, 3, strides=2, padding="same", use_bias=False)
    out = layer(x)
    kernel = layer.kernel[:, :, 0, 0].detach().numpy()
    full = np.zeros((7, 7), np.float32)  # (3 - 1) * 2 + 3
    for i in range(3):
        for j in range(3):
            full[2 * i:2 * i + 3, 2 * j:2 * j + 3] += x[0, i, j, 0].item() * kernel
    # "same": 6 outputs; the matching Conv2D pads (0, 1), so the first 6 rows and columns.
    np.testing.assert_allclose(out[0, :, :, 0].detach().numpy(), full[:6, :6],
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("cls", "kwargs", "shape"), [
    (Conv1D, {"filters": 3, "kernel_size": 2, "strides": 2, "padding": "same"}, (2, 5, 4)),
    (Conv2D, {"filters": 3, "kernel_size": 4, "strides": 2, "padding": "same"}, (2, 7, 6, 2)),
    (Conv2DTranspose, {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"},
     (2, 3, 4, 2)),
    (DepthwiseConv2D, {"kernel_size": 3, "depth_multiplier": 2}, (2, 5, 5, 3)),
    (SeparableConv2D, {"filters": 2, "kernel_size": 2, "padding": "same"}, (2, 5, 4, 3)),
    (MaxPooling2D, {"padding": "same"}, (2, 5, 5, 3)),
    (AveragePooling1D, {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 6, 3)),
    (UpSampling2D, {"size": (1, 2)}, (2, 3, 2, 2)),
    (ZeroPadding2D, {"padding": ((0, 1), (2, 0))}, (2, 3, 2, 2)),
    (Cropping2D, {"cropping": ((1, 0), (0, 1))}, (2, 3, 3, 2)),
    (GlobalMaxPooling2D, {"keepdims": True}, (2, 3, 3, 2)),
    (SpatialDropout2D, {"rate": 0.5, "seed": 3}, (2, 3, 3, 4)),
])
def test_channels_first_equals_channels_last_after_transposition(cls: type, kwargs: dict,
                                                                 shape: tuple) -> None:
    x = _randn(*shape)
    last = cls(**kwargs)
    first = cls(**kwargs, data_format="channels_first")
    out_last = last(x, training=True) if cls is SpatialDropout2D else last(x)
    first(x.movedim(-1, 1))
    first.set_weights(last.get_weights())
    out_first = first(x.movedim(-1, 1), training=True) if cls is SpatialDropout2D else first(
        x.movedim(-1, 1))
    torch.testing.assert_close(out_first.movedim(1, -1), out_last)


def test_kernels_keep_keras_shapes_over_torch_memory_so_calls_copy_no_weight() -> None:
    conv = Conv2D(4, (3, 2))
    conv(torch.zeros(1, 5, 5, 3))
    assert tuple(conv.kernel.shape) == (3, 2, 3, 4)
    torch_view = conv.kernel.permute(3, 2, 0, 1)
    assert torch_view.is_contiguous() and torch_view.data_ptr() == conv.kernel.data_ptr()
    depthwise = DepthwiseConv2D(3, depth_multiplier=2)
    depthwise(torch.zeros(1, 5, 5, 3))
    grouped = depthwise.kernel.permute(2, 3, 0, 1).reshape(6, 1, 3, 3)
    assert grouped._base is not None and grouped.data_ptr() == depthwise.kernel.data_ptr()
    # channels_last in, channels_last out, contiguous: no copy of the activations either.
    assert conv(torch.zeros(2, 5, 5, 3)).is_contiguous()


def test_causal_conv1d_never_sees_the_future() -> None:
    x = _randn(1, 6, 2).requires_grad_()
    out = Conv1D(3, 3, padding="causal", dilation_rate=2)(x)
    (grad,) = torch.autograd.grad(out[0, 3].sum(), x)
    assert grad[0, 4:].abs().sum() == 0 and grad[0, :4].abs().sum() > 0


def test_depthwise_groups_follow_keras_channel_order() -> None:
    layer = DepthwiseConv2D(1, depth_multiplier=2, use_bias=False)
    x = _randn(1, 2, 2, 3)
    out = layer(x)
    for c in range(3):
        for j in range(2):
            torch.testing.assert_close(out[..., c * 2 + j], x[..., c] * layer.kernel[0, 0, c, j])


# ---------------------------------------------------------------------- BatchNormalization
@pytest.mark.parametrize(("shape", "axis"), [((6, 3), -1), ((2, 3, 4, 3), -1), ((2, 3, 4, 2), 1)])
def test_batch_norm_moving_statistics_follow_the_keras_update(shape: tuple, axis: int) -> None:
    layer = BatchNormalization(axis=axis, momentum=0.8)
    moving_mean, moving_variance = np.zeros(shape[axis]), np.ones(shape[axis])
    reduce = tuple(a for a in range(len(shape)) if a != axis % len(shape))
    for step in range(4):
        batch = _randn(*shape, seed=step) * (step + 1) + step
        layer(batch, training=True)
        values = batch.double().numpy()
        # Keras: moving = moving * momentum + batch * (1 - momentum), biased variance.
        moving_mean = moving_mean * 0.8 + values.mean(reduce) * 0.2
        moving_variance = moving_variance * 0.8 + values.var(reduce) * 0.2
    np.testing.assert_allclose(layer.moving_mean.detach().numpy(), moving_mean, rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.detach().numpy(), moving_variance,
                               rtol=1e-5)


def test_batch_norm_trains_on_batch_statistics_and_infers_with_moving_ones() -> None:
    layer = BatchNormalization(gamma_initializer="random_normal", beta_initializer="ones")
    x = (_randn(8, 3) * 3 + 1).requires_grad_()
    trained = layer(x, training=True)
    values = x.detach().numpy()
    gamma, beta = layer.gamma.detach().numpy(), layer.beta.detach().numpy()
    by_hand = gamma * (values - values.mean(0)) / np.sqrt(values.var(0) + 1e-3) + beta
    np.testing.assert_allclose(trained.detach().numpy(), by_hand, rtol=1e-5, atol=1e-6)
    # Gradients through the batch statistics, as torch's own batch norm computes them.
    reference = F.batch_norm(x, None, None, layer.gamma, layer.beta, True, eps=1e-3)
    weight = _randn(8, 3, seed=5)
    targets = [x, layer.gamma, layer.beta]
    ours = torch.autograd.grad((trained * weight).sum(), targets)
    theirs = torch.autograd.grad((reference * weight).sum(), targets)
    for mine, expected in zip(ours, theirs, strict=True):
        torch.testing.assert_close(mine, expected)
    inferred = layer(x).detach().numpy()  # a new layer is in inference mode
    moving_mean = layer.moving_mean.detach().numpy()
    moving_variance = layer.moving_variance.detach().numpy()
    np.testing.assert_allclose(inferred, gamma * (values - moving_mean)
                               / np.sqrt(moving_variance + 1e-3) + beta, rtol=1e-5, atol=1e-6)
    assert not np.allclose(inferred, trained.detach().numpy())
    layer.train()
    np.testing.assert_allclose(layer(x).detach().numpy(), by_hand, rtol=1e-5, atol=1e-6)


def test_batch_norm_weights_and_frozen_layers() -> None:
    layer = BatchNormalization()
    model = lamina.Sequential([Dense(3, input_shape=(2,)), layer])
    assert [id(w) for w in layer.trainable_weights] == [id(layer.gamma), id(layer.beta)]
    assert [id(w) for w in layer.non_trainable_weights] == [id(layer.moving_mean),
                                                           id(layer.moving_variance)]
    assert {id(w) for w in model.non_trainable_weights} == {id(layer.moving_mean),
                                                            id(layer.moving_variance)}
    assert len(layer.get_weights()) == 4 and f"{layer.name}.moving_variance" in str(
        list(model.state_dict()))
    frozen = BatchNormalization(trainable=False)
    x = _randn(5, 2) * 4 + 3
    out = frozen(x, training=True)  # Keras: a frozen BatchNormalization runs in inference mode
    torch.testing.assert_close(out, x / np.sqrt(1 + 1e-3))
    assert frozen.moving_mean.tolist() == [0.0, 0.0]


def test_batch_norm_with_a_mask_uses_the_keras_weighted_moments() -> None:
    layer = BatchNormalization(momentum=0.5)
    x = _randn(2, 4, 3)
    mask = torch.tensor([[True, True, False, False], [True, True, True, False]])
    out = layer(x, training=True, mask=mask)
    kept = x[mask].double().numpy()  # (5, 3)
    count = kept.shape[0] + 1e-7  # Keras divides by sum(mask) + backend epsilon
    mean = kept.sum(0) / count
    variance = ((kept - mean) ** 2).sum(0) / count
    by_hand = (x.double().numpy() - mean) / np.sqrt(variance + 1e-3)
    np.testing.assert_allclose(out.detach().numpy(), by_hand, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.moving_mean.detach().numpy(), mean * 0.5, rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.detach().numpy(), 0.5 + variance * 0.5,
                               rtol=1e-5)


def test_layer_normalization_matches_torch_layer_norm() -> None:
    x = _randn(2, 3, 4)
    layer = LayerNormalization(axis=[-2, -1], gamma_initializer="random_normal",
                               beta_initializer="random_normal")
    out = layer(x)
    torch.testing.assert_close(out, F.layer_norm(x, (3, 4), layer.gamma, layer.beta, 1e-3))


# ---------------------------------------------------------------------- regularizers
def test_weight_regularizers_in_model_losses_with_their_gradients() -> None:
    conv = Conv2D(2, 3, kernel_regularizer=regularizers.L2(0.01),
                  bias_regularizer=regularizers.L1(0.1), bias_initializer="random_normal",
                  input_shape=(5, 5, 1))
    dense = Dense(3, kernel_regularizer=regularizers.L1L2(l1=0.001, l2=0.002))
    model = lamina.Sequential([conv, Flatten(), dense])
    kernel, bias = conv.kernel.detach().numpy(), conv.bias.detach().numpy()
    dense_kernel = dense.kernel.detach().numpy()
    expected = (0.01 * (kernel ** 2).sum() + 0.1 * np.abs(bias).sum()
                + 0.001 * np.abs(dense_kernel).sum() + 0.002 * (dense_kernel ** 2).sum())
    total = sum(model.losses)
    assert len(model.losses) == 3
    np.testing.assert_allclose(total.item(), expected, rtol=1e-5)
    grads = torch.autograd.grad(total, [conv.kernel, conv.bias, dense.kernel])
    np.testing.assert_allclose(grads[0].numpy(), 0.02 * kernel, rtol=1e-5)
    np.testing.assert_allclose(grads[1].numpy(), 0.1 * np.sign(bias), rtol=1e-5)
    np.testing.assert_allclose(grads[2].numpy(), 0.001 * np.sign(dense_kernel)
                               + 0.004 * dense_kernel, rtol=1e-5, atol=1e-7)


def test_activity_regularization_is_divided_by_the_batch_size() -> None:
    layer = ActivityRegularization(l1=0.01, l2=0.02)
    model = lamina.Sequential([Dense(4, input_shape=(3,)), layer])
    x = _randn(5, 3)
    hidden = model.layers[0](x).detach().requires_grad_()
    model(x)
    (loss,) = model.losses
    values = hidden.detach().numpy()
    np.testing.assert_allclose(loss.item(), (0.01 * np.abs(values).sum()
                                             + 0.02 * (values ** 2).sum()) / 5, rtol=1e-5)
    layer(hidden)
    (grad,) = torch.autograd.grad(layer.losses[0], hidden)
    np.testing.assert_allclose(grad.numpy(), (0.01 * np.sign(values) + 0.04 * values) / 5,
                               rtol=1e-5)


def test_regularizers_by_name_config_and_in_layer_configs() -> None:
    assert regularizers.get("l1") == regularizers.L1(0.01)
    assert regularizers.get("l1_l2") == regularizers.L1L2(0.01, 0.01)
    assert regularizers.get("L2") == regularizers.L2(0.01)
    config = regularizers.serialize(regularizers.L1L2(l2=0.5))
    assert config == {"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.5}}
    assert regularizers.get(config) == regularizers.L1L2(l2=0.5)
    dense = Dense(2, kernel_regularizer="l2", bias_regularizer=regularizers.l1(0.3))
    rebuilt = Dense.from_config(dense.get_config())
    assert rebuilt.kernel_regularizer == regularizers.L2(0.01)
    assert rebuilt.bias_regularizer == regularizers.L1(0.3)
    penalty = lambda w: w.sum()  # noqa: E731 - any callable is a penalty, but has no config
    assert regularizers.get(penalty) is penalty
    with pytest.raises(ValueError, match="no Keras name"):
        Dense(2, kernel_regularizer=penalty).get_config()
    with pytest.raises(ValueError, match=re.escape("l2=-1")):
        regularizers.L2(-1)
    with pytest.raises(ValueError, match=re.escape("'l3'")):
        regularizers.get("l3")


# ---------------------------------------------------------------------- masks, dropout
def test_global_max_pooling_does_not_use_masks_as_in_keras() -> None:
    """Keras 3's GlobalMaxPooling1D does not support masking: a masked step can win, and
    no mask is passed on (lamina's earlier version left masked steps out)."""
    x = _randn(3, 4, 2)
    x[0, 3] = 100.0
    mask = torch.tensor([[1, 1, 1, 0], [0, 1, 0, 1], [0, 0, 0, 0]], dtype=torch.bool)
    layer = GlobalMaxPooling1D()
    assert layer.supports_masking is False
    out = layer(x, mask=mask)
    np.testing.assert_array_equal(out.numpy(), x.amax(1).numpy())
    assert out[0].tolist() == [100.0, 100.0] and getattr(out, "_keras_mask", None) is None
    first = GlobalMaxPooling1D(data_format="channels_first")(x.transpose(1, 2))
    np.testing.assert_array_equal(first.numpy(), out.numpy())


def test_spatial_dropout_drops_whole_channels_and_rescales() -> None:
    torch.manual_seed(0)
    out = SpatialDropout2D(0.25)(torch.ones(200, 3, 3, 10), training=True)
    per_channel = out.amax(dim=(1, 2))
    assert torch.equal(out, per_channel[:, None, None, :].expand_as(out))
    assert set(per_channel.unique().tolist()) == {0.0, float(np.float32(1 / 0.75))}
    assert abs((per_channel == 0).float().mean().item() - 0.25) < 0.03
    seeded = [SpatialDropout1D(0.5, seed=4)(torch.ones(2, 5, 6), training=True)
              for _ in range(2)]
    assert torch.equal(*seeded) and torch.equal(seeded[0][:, :1].expand(2, 5, 6), seeded[0])


def test_gaussian_noise_only_in_training() -> None:
    layer = GaussianNoise(0.5, seed=1)
    x = torch.zeros(200, 100)
    assert torch.equal(layer(x), x)
    noisy = layer(x, training=True)
    assert abs(noisy.std().item() - 0.5) < 0.01 and abs(noisy.mean().item()) < 0.01


@pytest.mark.parametrize(("cls", "kwargs", "quoted"), [
    (Conv2D, {"filters": 0, "kernel_size": 3}, "filters=0"),
    (Conv2D, {"filters": 2, "kernel_size": (3, 0)}, "kernel_size=(3, 0)"),
    (Conv2D, {"filters": 2, "kernel_size": 3, "padding": "causal"}, "padding='causal'"),
    (Conv2D, {"filters": 3, "kernel_size": 3, "groups": 2}, "filters=3, groups=2"),
    (Conv1D, {"filters": 2, "kernel_size": 3, "strides": (1, 1)}, "strides=(1, 1)"),
    (Conv1D, {"filters": 2, "kernel_size": 3, "data_format": "NWC"}, "data_format='NWC'"),
    (Conv2DTranspose, {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 2},
     "output_padding=(2, 2)"),
    (DepthwiseConv2D, {"kernel_size": 3, "depth_multiplier": 0}, "depth_multiplier=0"),
    (SeparableConv2D, {"filters": 2.0, "kernel_size": 3}, "filters=2.0"),
    (MaxPooling2D, {"pool_size": -1}, "pool_size=-1"),
    (AveragePooling1D, {"padding": "full"}, "padding='full'"),
    (GlobalMaxPooling2D, {"data_format": "NHWC"}, "data_format='NHWC'"),
    (GlobalMaxPooling1D, {"data_format": 1}, "data_format=1"),
    (UpSampling2D, {"interpolation": "lanczos3"}, "interpolation='lanczos3'"),
    (ZeroPadding2D, {"padding": ((1, 2, 3), (0, 0))}, "padding=((1, 2, 3), (0, 0))"),
    (Cropping1D, {"cropping": -1}, "cropping=-1"),
    (BatchNormalization, {"momentum": 1.5}, "momentum=1.5"),
    (BatchNormalization, {"axis": "last"}, "axis='last'"),
    (LayerNormalization, {"epsilon": -1}, "epsilon=-1"),
    (SpatialDropout1D, {"rate": 1}, "rate=1"),
    (GaussianNoise, {"stddev": 2}, "stddev=2"),
    (ActivityRegularization, {"l2": -0.5}, "l2=-0.5"),
    (Dense, {"units": 2, "kernel_regularizer": "l3"}, "'l3'"),
])
def test_bad_constructor_arguments_quote_the_value(cls: type, kwargs: dict, quoted: str) -> None:
    with pytest.raises(ValueError, match=re.escape(quoted)):
        cls(**kwargs)


def test_an_axis_of_the_wrong_type_is_a_type_error_quoting_it() -> None:
    """Keras 3's LayerNormalization raises TypeError for an axis that is not an int or a
    list of ints."""
    with pytest.raises(TypeError, match=re.escape("axis=1.0")):
        LayerNormalization(axis=1.0)


@pytest.mark.parametrize(("layer", "inputs", "words"), [
    (Conv2D(2, 3, name="c"), torch.zeros(2, 5, 5), ["'c'", "rank 4", "(2, 5, 5)"]),
    (Conv2D(2, 3, groups=2, name="g"), torch.zeros(1, 5, 5, 3), ["'g'", "3 input", "groups=2"]),
    (BatchNormalization(axis=3, name="bn"), torch.zeros(2, 3), ["'bn'", "axis=3"]),
])
def test_shape_errors_name_the_layer(layer: lamina.layers.Layer, inputs: torch.Tensor,
                                     words: list) -> None:
    with pytest.raises(ValueError) as info:
        layer(inputs)
    assert all(word in str(info.value) for word in words), str(info.value)


def test_output_shapes_are_declared_for_unknown_sizes() -> None:
    assert Conv2D(4, 3, strides=2, padding="same").compute_output_shape(
        (None, None, 9, 3)) == (None, None, 5, 4)
    assert Conv2DTranspose(2, 3, strides=2).compute_output_shape((None, 4, None, 1)) == (
        None, 9, None, 2)
    assert AveragePooling2D().compute_output_shape((None, 5, None, 2)) == (None, 2, None, 2)
    assert Cropping2D(((1, 1), (0, 2))).compute_output_shape((None, None, 5, 1)) == (
        None, None, 3, 1)
    assert GlobalAveragePooling2D(keepdims=True).compute_output_shape((None, 3, 3, 2)) == (
        None, 1, 1, 2)
    with pytest.raises(ValueError, match="smaller than the window"):
        Conv2D(1, 5).compute_output_shape((None, 3, 3, 1))
