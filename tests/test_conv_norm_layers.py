"""Convolution, pooling, spatial reshaping, normalization and regularization layers: one
table (``SPECS``) runs every layer through ``run_layer_test`` against a plain-torch reference
on the same weights, and compares gradients with that reference.

Targeted tests (TensorFlow's "same" padding, data formats, BatchNormalization's statistics,
regularizer penalties, masks, argument errors) are in ``test_conv_norm_behaviour.py``.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from typing import Any

import pytest
import torch
import torch.nn.functional as F

import lamina
from lamina.layers.conv_extra import Conv2DTranspose, DepthwiseConv2D, SeparableConv2D
from lamina.layers.convolutional import Conv1D, Conv2D
from lamina.layers.normalization import BatchNormalization, LayerNormalization
from lamina.layers.pooling import (
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
)
from lamina.layers.pooling_spatial import (
    AveragePooling1D,
    AveragePooling2D,
    MaxPooling1D,
    MaxPooling2D,
)
from lamina.layers.regularization import (
    ActivityRegularization,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
)
from lamina.layers.reshaping_spatial import (
    Cropping1D,
    Cropping2D,
    UpSampling1D,
    UpSampling2D,
    ZeroPadding1D,
    ZeroPadding2D,
)
from lamina.testing import run_layer_test


def _randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------------- references
def _tf_same(length: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's documented "same" padding of one axis: the odd pad goes at the end."""
    kernel = (kernel - 1) * dilation + 1
    out = math.ceil(length / stride)
    total = max((out - 1) * stride + kernel - length, 0)
    return total // 2, total - total // 2


def _channels_first(x: torch.Tensor, layer: Any) -> torch.Tensor:
    return x if getattr(layer, "data_format", "channels_last") == "channels_first" else \
        x.movedim(-1, 1)


def _back(y: torch.Tensor, layer: Any) -> torch.Tensor:
    return y if getattr(layer, "data_format", "channels_last") == "channels_first" else \
        y.movedim(1, -1)


def _pad_list(layer: Any, spatial: Any, kernel: Any, dilation: Any) -> list[int]:
    """The explicit F.pad list (last axis first) of the layer's padding mode."""
    if layer.padding == "causal":
        return [(kernel[0] - 1) * dilation[0], 0]
    if layer.padding == "valid":
        return [0, 0] * len(spatial)
    pairs = [_tf_same(n, k, s, d) for n, k, s, d in zip(spatial, kernel, layer.strides,
                                                          dilation)]
    return [p for pair in reversed(pairs) for p in pair]


def _conv(x: torch.Tensor, layer: Any) -> torch.Tensor:
    xc = _channels_first(x, layer)
    rank = xc.dim() - 2
    xc = F.pad(xc, _pad_list(layer, xc.shape[2:], layer.kernel_size, layer.dilation_rate))
    weight = layer.kernel.permute(rank + 1, rank, *range(rank))  # Keras -> torch layout
    conv = F.conv1d if rank == 1 else F.conv2d
    out = conv(xc, weight, layer.bias, layer.strides, 0, layer.dilation_rate, layer.groups)
    return _back(layer.activation(out), layer)


def _transpose_size(n: int, k: int, s: int, d: int, padding: str, extra: Any) -> int:
    k = (k - 1) * d + 1
    if extra is None:
        return n * s + (max(k - s, 0) if padding == "valid" else 0)
    return (n - 1) * s + k - 2 * (k // 2 if padding == "same" else 0) + extra


def _conv_transpose(x: torch.Tensor, layer: Any) -> torch.Tensor:
    """TensorFlow's conv2d_transpose: the full transposed convolution, cropped by the
    matching Conv2D's "same" padding (odd pad at the end) or zero-extended at the end."""
    xc = _channels_first(x, layer)
    full = F.conv_transpose2d(xc, layer.kernel.permute(3, 2, 0, 1), None, layer.strides,
                              dilation=layer.dilation_rate)
    out = full
    for axis in (2, 3):
        i = axis - 2
        extra = None if layer.output_padding is None else layer.output_padding[i]
        size = _transpose_size(xc.shape[axis], layer.kernel_size[i], layer.strides[i],
                               layer.dilation_rate[i], layer.padding, extra)
        before = max(full.shape[axis] - size, 0) // 2 if layer.padding == "same" else 0
        out = out.narrow(axis, before, min(size, out.shape[axis] - before))
        if out.shape[axis] < size:
            pad = [0, 0] * (3 - axis) + [0, size - out.shape[axis]]
            out = F.pad(out, pad)
    if layer.bias is not None:
        out = out + layer.bias[:, None, None]
    return _back(layer.activation(out), layer)


def _depthwise(xc: torch.Tensor, kernel: torch.Tensor, layer: Any) -> torch.Tensor:
    """Channel by channel: output c * multiplier + j is input c convolved with kernel[..., c, j]."""
    xc = F.pad(xc, _pad_list(layer, xc.shape[2:], layer.kernel_size, layer.dilation_rate))
    outputs = [F.conv2d(xc[:, c:c + 1], kernel[:, :, c, j][None, None], None, layer.strides,
                        0, layer.dilation_rate)
               for c in range(kernel.shape[2]) for j in range(kernel.shape[3])]
    return torch.cat(outputs, 1)


def _depthwise_layer(x: torch.Tensor, layer: Any) -> torch.Tensor:
    out = _depthwise(_channels_first(x, layer), layer.kernel, layer)
    if layer.bias is not None:
        out = out + layer.bias[:, None, None]
    return _back(layer.activation(out), layer)


def _separable(x: torch.Tensor, layer: Any) -> torch.Tensor:
    depthwise = _depthwise(_channels_first(x, layer), layer.depthwise_kernel, layer)
    out = torch.einsum("nchw,cf->nfhw", depthwise, layer.pointwise_kernel[0, 0])
    if layer.bias is not None:
        out = out + layer.bias[:, None, None]
    return _back(layer.activation(out), layer)


def _pool(kind: str) -> Any:
    def reference(x: torch.Tensor, layer: Any) -> torch.Tensor:
        xc = _channels_first(x, layer)
        rank = xc.dim() - 2
        pads = _pad_list(layer, xc.shape[2:], layer.pool_size, (1,) * rank)
        window = F.max_pool1d if rank == 1 else F.max_pool2d
        if kind == "max":
            return _back(window(F.pad(xc, pads, value=-math.inf), layer.pool_size,
                                layer.strides), layer)
        mean = F.avg_pool1d if rank == 1 else F.avg_pool2d
        sums = mean(F.pad(xc, pads), layer.pool_size, layer.strides)
        counts = mean(F.pad(torch.ones_like(xc), pads), layer.pool_size, layer.strides)
        return _back(sums / counts, layer)  # the average of the real values only
    return reference


def _batch_norm(x: torch.Tensor, layer: Any) -> torch.Tensor:
    """Keras's inference formula from the moving statistics."""
    shape = [1] * x.dim()
    shape[layer.axis] = -1
    out = (x - layer.moving_mean.view(shape)) / torch.sqrt(
        layer.moving_variance.view(shape) + layer.epsilon)
    if layer.gamma is not None:
        out = out * layer.gamma.view(shape)
    return out if layer.beta is None else out + layer.beta.view(shape)


def _layer_norm(axes: tuple[int, ...]) -> Any:
    def reference(x: torch.Tensor, layer: Any) -> torch.Tensor:
        mean = x.mean(dim=axes, keepdim=True)
        variance = ((x - mean) ** 2).mean(dim=axes, keepdim=True)
        shape = [x.shape[a] if a in axes else 1 for a in range(x.dim())]
        out = (x - mean) / torch.sqrt(variance + layer.epsilon)
        if layer.gamma is not None:
            out = out * layer.gamma.reshape(shape)
        return out if layer.beta is None else out + layer.beta.reshape(shape)
    return reference


def _zero_pad_2d(x: torch.Tensor, layer: Any) -> torch.Tensor:
    (top, bottom), (left, right) = layer.padding
    xc = _channels_first(x, layer)
    out = torch.zeros(*xc.shape[:2], xc.shape[2] + top + bottom, xc.shape[3] + left + right)
    out[:, :, top:top + xc.shape[2], left:left + xc.shape[3]] = xc
    return _back(out, layer)


def _identity(x: torch.Tensor, _: Any) -> torch.Tensor:
    return x


# ---------------------------------------------------------------------- the table
@dataclass
class Spec:
    cls: type
    kwargs: dict[str, Any]
    shape: tuple[int, ...]
    reference: Any
    output_shape: Any = None
    trainable: int = 0
    non_trainable: int = 0


def case(case_id: str, *args: Any, **kwargs: Any) -> Any:
    return pytest.param(Spec(*args, **kwargs), id=case_id)


CF = {"data_format": "channels_first"}
BN_INIT = {"gamma_initializer": "random_normal", "beta_initializer": "random_normal",
           "moving_mean_initializer": "random_normal"}
SPECS = [
    case("Conv1D", Conv1D, {"filters": 4, "kernel_size": 3}, (2, 7, 3), _conv, (2, 5, 4), 2),
    case("Conv1D-same-s2-relu", Conv1D, {"filters": 2, "kernel_size": 4, "strides": 2,
                                         "padding": "same", "activation": "relu"},
         (2, 9, 3), _conv, (2, 5, 2), 2),
    case("Conv1D-causal-dilated", Conv1D, {"filters": 3, "kernel_size": 3, "padding": "causal",
                                           "dilation_rate": 2}, (2, 8, 2), _conv, (2, 8, 3), 2),
    case("Conv1D-groups-cf", Conv1D, {"filters": 4, "kernel_size": 2, "groups": 2, **CF},
         (2, 4, 6), _conv, (2, 4, 5), 2),
    case("Conv2D", Conv2D, {"filters": 4, "kernel_size": 3}, (2, 6, 5, 3), _conv, (2, 4, 3, 4),
         2),
    case("Conv2D-same-even-kernel-s2", Conv2D, {"filters": 3, "kernel_size": 4, "strides": 2,
                                                "padding": "same"},
         (2, 7, 8, 2), _conv, (2, 4, 4, 3), 2),
    case("Conv2D-same-dilated-nobias", Conv2D, {"filters": 2, "kernel_size": (2, 3),
                                                "dilation_rate": 2, "padding": "same",
                                                "use_bias": False},
         (2, 6, 6, 3), _conv, (2, 6, 6, 2), 1),
    case("Conv2D-groups-cf-tanh", Conv2D, {"filters": 6, "kernel_size": 3, "groups": 3,
                                           "activation": "tanh", **CF},
         (2, 3, 5, 5), _conv, (2, 6, 3, 3), 2),
    case("Conv2D-regularized", Conv2D, {"filters": 2, "kernel_size": 1,
                                        "kernel_regularizer": "l2", "bias_regularizer": "l1"},
         (2, 3, 3, 2), _conv, (2, 3, 3, 2), 2),
    case("Conv2DTranspose-same-k3-s2", Conv2DTranspose, {"filters": 3, "kernel_size": 3,
                                                         "strides": 2, "padding": "same"},
         (2, 4, 5, 2), _conv_transpose, (2, 8, 10, 3), 2),
    case("Conv2DTranspose-valid-k2-s3", Conv2DTranspose, {"filters": 2, "kernel_size": 2,
                                                          "strides": 3},
         (2, 3, 3, 2), _conv_transpose, (2, 9, 9, 2), 2),
    case("Conv2DTranspose-same-k4-s2-cf", Conv2DTranspose,
         {"filters": 2, "kernel_size": 4, "strides": 2, "padding": "same", **CF},
         (2, 3, 4, 3), _conv_transpose, (2, 2, 8, 6), 2),
    case("Conv2DTranspose-output_padding", Conv2DTranspose,
         {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same",
          "output_padding": 1, "activation": "relu"},
         (2, 3, 3, 2), _conv_transpose, (2, 6, 6, 2), 2),
    case("Conv2DTranspose-dilated", Conv2DTranspose, {"filters": 2, "kernel_size": 2,
                                                      "dilation_rate": 2},
         (2, 3, 3, 2), _conv_transpose, (2, 5, 5, 2), 2),
    case("DepthwiseConv2D", DepthwiseConv2D, {"kernel_size": 3, "depth_multiplier": 2},
         (2, 5, 5, 3), _depthwise_layer, (2, 3, 3, 6), 2),
    case("DepthwiseConv2D-same-s2-cf", DepthwiseConv2D,
         {"kernel_size": 2, "strides": 2, "padding": "same", **CF},
         (2, 3, 5, 5), _depthwise_layer, (2, 3, 3, 3), 2),
    case("SeparableConv2D", SeparableConv2D, {"filters": 4, "kernel_size": 3,
                                              "depth_multiplier": 2},
         (2, 5, 6, 3), _separable, (2, 3, 4, 4), 3),
    case("SeparableConv2D-same-s2-cf-relu", SeparableConv2D,
         {"filters": 2, "kernel_size": 4, "strides": 2, "padding": "same", "activation": "relu",
          **CF}, (2, 3, 5, 5), _separable, (2, 2, 3, 3), 3),
    case("MaxPooling1D", MaxPooling1D, {}, (2, 7, 3), _pool("max"), (2, 3, 3)),
    case("MaxPooling1D-same-s1", MaxPooling1D, {"pool_size": 3, "strides": 1,
                                                "padding": "same"},
         (2, 5, 2), _pool("max"), (2, 5, 2)),
    case("MaxPooling2D", MaxPooling2D, {}, (2, 6, 5, 3), _pool("max"), (2, 3, 2, 3)),
    case("MaxPooling2D-same-odd", MaxPooling2D, {"padding": "same"}, (2, 5, 7, 2),
         _pool("max"), (2, 3, 4, 2)),
    case("MaxPooling2D-k3-s2-same-cf", MaxPooling2D, {"pool_size": 3, "strides": 2,
                                                      "padding": "same", **CF},
         (2, 2, 6, 5), _pool("max"), (2, 2, 3, 3)),
    case("AveragePooling1D-same", AveragePooling1D, {"pool_size": 2, "padding": "same"},
         (2, 5, 3), _pool("average"), (2, 3, 3)),
    case("AveragePooling2D", AveragePooling2D, {}, (2, 4, 6, 3), _pool("average"),
         (2, 2, 3, 3)),
    case("AveragePooling2D-k3-s2-same", AveragePooling2D, {"pool_size": 3, "strides": 2,
                                                           "padding": "same"},
         (2, 6, 7, 2), _pool("average"), (2, 3, 4, 2)),
    case("AveragePooling2D-same-cf", AveragePooling2D, {"pool_size": (2, 3), "padding": "same",
                                                        **CF},
         (2, 2, 5, 5), _pool("average"), (2, 2, 3, 2)),
    case("GlobalMaxPooling1D", GlobalMaxPooling1D, {}, (2, 5, 3), lambda x, _: x.amax(1),
         (2, 3)),
    case("GlobalMaxPooling1D-cf-keepdims", GlobalMaxPooling1D,
         {"keepdims": True, **CF}, (2, 3, 5), lambda x, _: x.amax(2, keepdim=True), (2, 3, 1)),
    case("GlobalAveragePooling2D", GlobalAveragePooling2D, {}, (2, 4, 3, 5),
         lambda x, _: x.mean((1, 2)), (2, 5)),
    case("GlobalAveragePooling2D-cf-keepdims", GlobalAveragePooling2D, {"keepdims": True, **CF},
         (2, 5, 4, 3), lambda x, _: x.mean((2, 3), keepdim=True), (2, 5, 1, 1)),
    case("GlobalMaxPooling2D", GlobalMaxPooling2D, {}, (2, 4, 3, 5),
         lambda x, _: x.amax((1, 2)), (2, 5)),
    case("GlobalMaxPooling2D-cf", GlobalMaxPooling2D, CF, (2, 5, 4, 3),
         lambda x, _: x.amax((2, 3)), (2, 5)),
    case("UpSampling1D", UpSampling1D, {"size": 3}, (2, 4, 2),
         lambda x, _: x.repeat_interleave(3, 1), (2, 12, 2)),
    case("UpSampling2D", UpSampling2D, {"size": (2, 3)}, (2, 3, 2, 4),
         lambda x, _: x.repeat_interleave(2, 1).repeat_interleave(3, 2), (2, 6, 6, 4)),
    case("UpSampling2D-cf", UpSampling2D, CF, (2, 4, 3, 2),
         lambda x, _: x.repeat_interleave(2, 2).repeat_interleave(2, 3), (2, 4, 6, 4)),
    case("ZeroPadding1D", ZeroPadding1D, {"padding": (1, 2)}, (2, 3, 4),
         lambda x, _: torch.cat([torch.zeros(2, 1, 4), x, torch.zeros(2, 2, 4)], 1),
         (2, 6, 4)),
    case("ZeroPadding2D", ZeroPadding2D, {"padding": ((1, 0), (2, 3))}, (2, 3, 2, 4),
         _zero_pad_2d, (2, 4, 7, 4)),
    case("ZeroPadding2D-int-cf", ZeroPadding2D, {"padding": 1, **CF}, (2, 4, 3, 2),
         _zero_pad_2d, (2, 4, 5, 4)),
    case("Cropping1D", Cropping1D, {"cropping": (2, 1)}, (2, 6, 3), lambda x, _: x[:, 2:5],
         (2, 3, 3)),
    case("Cropping2D", Cropping2D, {"cropping": ((1, 0), (1, 2))}, (2, 4, 5, 3),
         lambda x, _: x[:, 1:, 1:3], (2, 3, 2, 3)),
    case("Cropping2D-pairs-cf", Cropping2D, {"cropping": (1, 2), **CF}, (2, 3, 4, 6),
         lambda x, _: x[:, :, 1:3, 2:4], (2, 3, 2, 2)),
    case("BatchNormalization", BatchNormalization, BN_INIT, (4, 3), _batch_norm, (4, 3), 2, 2),
    case("BatchNormalization-images", BatchNormalization, {"momentum": 0.9, **BN_INIT},
         (2, 3, 3, 4), _batch_norm, (2, 3, 3, 4), 2, 2),
    case("BatchNormalization-axis1", BatchNormalization, {"axis": 1, **BN_INIT}, (2, 4, 3, 3),
         _batch_norm, (2, 4, 3, 3), 2, 2),
    case("BatchNormalization-axis1-seq-nocenter", BatchNormalization,
         {"axis": 1, "center": False, **BN_INIT}, (2, 3, 5), _batch_norm, (2, 3, 5), 1, 2),
    case("BatchNormalization-frozen", BatchNormalization, {"trainable": False, **BN_INIT},
         (4, 3), _batch_norm, (4, 3), 0, 4),
    case("LayerNormalization", LayerNormalization, {"beta_initializer": "random_normal"},
         (2, 3, 4), _layer_norm((2,)), (2, 3, 4), 2),
    case("LayerNormalization-two-axes", LayerNormalization,
         {"axis": [1, 2], "gamma_initializer": "random_normal"}, (2, 3, 4),
         _layer_norm((1, 2)), (2, 3, 4), 2),
    case("LayerNormalization-middle-axis-noscale", LayerNormalization,
         {"axis": 1, "scale": False, "beta_initializer": "random_normal"}, (2, 3, 4),
         _layer_norm((1,)), (2, 3, 4), 1),
    case("SpatialDropout1D-inference", SpatialDropout1D, {"rate": 0.5}, (2, 3, 4), _identity),
    case("SpatialDropout2D-inference", SpatialDropout2D, {"rate": 0.5, **CF}, (2, 3, 4, 4),
         _identity),
    case("GaussianNoise-inference", GaussianNoise, {"stddev": 0.5}, (2, 3), _identity),
    case("ActivityRegularization", ActivityRegularization, {"l1": 0.1, "l2": 0.2}, (2, 3),
         _identity),
]


@pytest.mark.parametrize("spec", SPECS)
def test_layer(spec: Spec) -> None:
    run_layer_test(spec.cls, spec.kwargs, input_data=_randn(*spec.shape),
                   expected_output_shape=spec.output_shape, reference=spec.reference,
                   expected_num_trainable_weights=spec.trainable,
                   expected_num_non_trainable_weights=spec.non_trainable)


@pytest.mark.parametrize("spec", SPECS)
def test_gradients_match_plain_torch(spec: Spec) -> None:
    """d(sum(w * output)) / d(inputs, weights) equals the same for the plain-torch reference."""
    data = _randn(*spec.shape).requires_grad_()
    layer = spec.cls(**spec.kwargs)
    output = layer(data)
    targets = [data, *layer.trainable_weights]
    weight = _randn(*output.shape, seed=99)
    ours = torch.autograd.grad((output * weight).sum(), targets)
    theirs = torch.autograd.grad((spec.reference(data, layer) * weight).sum(), targets)
    for mine, expected in zip(ours, theirs, strict=True):
        torch.testing.assert_close(mine, expected, rtol=1e-4, atol=1e-5)


def test_the_table_covers_every_layer_of_these_modules() -> None:
    modules = [importlib.import_module(f"lamina.layers.{name}") for name in (
        "convolutional", "conv_extra", "pooling", "pooling_spatial", "reshaping_spatial",
        "normalization", "regularization")]
    found = {value for module in modules for name, value in vars(module).items()
             if isinstance(value, type) and issubclass(value, lamina.layers.Layer)
             and value.__module__ == module.__name__ and not name.startswith("_")}
    bases = {"BaseConv", "Conv", "Pooling", "GlobalAveragePooling1D"}  # the last: test_layers
    assert {cls.__name__ for cls in found} - bases == {p.values[0].cls.__name__ for p in SPECS}
