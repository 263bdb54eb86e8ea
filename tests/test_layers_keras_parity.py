"""The layers of issue 15, item 2 (and the fixes made with them) against Keras 3 on torch.

Each case of ``CASES`` builds the Keras layer and the lamina layer with the same arguments,
copies the Keras weights into lamina (``set_weights([w.numpy() for w in
keras_layer.weights])``) and compares: weight names and shapes, outputs (within 1e-5),
gradients of the inputs and the trainable weights, ``compute_output_shape`` and
``get_config`` (modulo what ``lamina/layers/__init__.py`` documents, see
``keras_parity.py``). ``run_layer_test`` then runs every case through lamina's own layer
contract, with Keras (on the lamina layer's weights) as the reference. Arguments Keras
refuses raise Keras's exception classes. Masks, penalties, noise in training and the merge
functions are in ``test_layers_keras_parity_behaviour.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from keras_parity import CF, assert_same_config, close, data, keras, make_keras, pair, raised

from lamina import layers
from lamina.testing import run_layer_test

RANDOM = {"kernel_initializer": "random_normal", "bias_initializer": "random_normal"}


def case(case_id: str, name: str, kwargs: dict[str, Any], shape: tuple[int, ...]) -> Any:
    return pytest.param(name, kwargs, shape, id=case_id)


CASES = [
    # activations
    case("ReLU", "ReLU", {}, (2, 3, 4)),
    case("ReLU-6", "ReLU", {"max_value": 6}, (2, 3, 4)),
    case("ReLU-all", "ReLU", {"max_value": 1.5, "negative_slope": 0.1, "threshold": 0.5},
         (2, 3, 4)),
    case("ReLU-leaky", "ReLU", {"negative_slope": 0.2}, (2, 5)),
    case("ReLU-threshold", "ReLU", {"threshold": 0.3}, (2, 5)),
    case("LeakyReLU", "LeakyReLU", {}, (2, 3, 4)),
    case("LeakyReLU-0.1", "LeakyReLU", {"negative_slope": 0.1}, (2, 5)),
    case("ELU", "ELU", {}, (2, 3, 4)),
    case("ELU-0.5", "ELU", {"alpha": 0.5}, (2, 5)),
    case("PReLU", "PReLU", {"alpha_initializer": "random_normal"}, (2, 3, 4)),
    case("PReLU-shared", "PReLU", {"alpha_initializer": "random_normal",
                                   "shared_axes": [1, 2]}, (2, 3, 4, 5)),
    case("PReLU-one-axis", "PReLU", {"shared_axes": 1}, (2, 3, 4)),
    case("Softmax", "Softmax", {}, (2, 3, 4)),
    case("Softmax-axis1", "Softmax", {"axis": 1}, (2, 3, 4)),
    case("Softmax-two-axes", "Softmax", {"axis": [1, 2]}, (2, 3, 4)),
    case("Softmax-one-axis-list", "Softmax", {"axis": (2,)}, (2, 3, 4)),
    # noise (inference: the identity) and normalization
    case("GaussianDropout", "GaussianDropout", {"rate": 0.3, "seed": 1}, (2, 3, 4)),
    case("AlphaDropout", "AlphaDropout", {"rate": 0.2, "noise_shape": (None, 1, 4)},
         (2, 3, 4)),
    case("SpatialDropout3D", "SpatialDropout3D", {"rate": 0.4, **CF}, (2, 3, 2, 2, 2)),
    case("UnitNormalization", "UnitNormalization", {}, (2, 3, 4)),
    case("UnitNormalization-axes", "UnitNormalization", {"axis": [1, 2]}, (2, 3, 4)),
    case("GroupNormalization", "GroupNormalization",
         {"groups": 2, "gamma_initializer": "random_normal",
          "beta_initializer": "random_normal"}, (2, 5, 4)),
    case("GroupNormalization-instance", "GroupNormalization", {"groups": -1}, (2, 5, 3)),
    case("GroupNormalization-axis1-noscale", "GroupNormalization",
         {"groups": 3, "axis": 1, "scale": False, "beta_initializer": "random_normal"},
         (2, 6, 3, 3)),
    case("GroupNormalization-one-group-nocenter", "GroupNormalization",
         {"groups": 1, "center": False, "epsilon": 1e-5}, (2, 3, 4, 2)),
    # convolutions
    case("Conv3D", "Conv3D", {"filters": 4, "kernel_size": 3, **RANDOM}, (2, 5, 6, 4, 3)),
    case("Conv3D-same-s2", "Conv3D", {"filters": 2, "kernel_size": (2, 3, 4), "strides": 2,
                                      "padding": "same", "activation": "relu"},
         (2, 5, 6, 7, 2)),
    case("Conv3D-cf-dilated-groups", "Conv3D",
         {"filters": 4, "kernel_size": 2, "dilation_rate": 2, "groups": 2, **CF, **RANDOM},
         (2, 4, 5, 5, 5)),
    case("Conv1DTranspose", "Conv1DTranspose", {"filters": 3, "kernel_size": 3, **RANDOM},
         (2, 5, 2)),
    case("Conv1DTranspose-same-s2", "Conv1DTranspose",
         {"filters": 3, "kernel_size": 4, "strides": 2, "padding": "same"}, (2, 5, 2)),
    case("Conv1DTranspose-output_padding-cf", "Conv1DTranspose",
         {"filters": 2, "kernel_size": 3, "strides": 3, "output_padding": 1, **CF},
         (2, 3, 4)),
    case("Conv1DTranspose-dilated", "Conv1DTranspose",
         {"filters": 2, "kernel_size": 3, "dilation_rate": 2}, (2, 5, 3)),
    case("Conv3DTranspose", "Conv3DTranspose",
         {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", **RANDOM},
         (2, 3, 4, 2, 3)),
    case("Conv3DTranspose-valid-k2-s3-cf", "Conv3DTranspose",
         {"filters": 3, "kernel_size": 2, "strides": (3, 1, 2), **CF}, (2, 2, 3, 2, 3)),
    case("Conv3DTranspose-output_padding", "Conv3DTranspose",
         {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": (1, 0, 1)},
         (1, 2, 3, 3, 2)),
    case("DepthwiseConv1D", "DepthwiseConv1D",
         {"kernel_size": 3, "depth_multiplier": 2, "bias_initializer": "random_normal"},
         (2, 7, 3)),
    case("DepthwiseConv1D-same-s2-cf", "DepthwiseConv1D",
         {"kernel_size": 4, "strides": 2, "padding": "same", **CF}, (2, 3, 7)),
    case("DepthwiseConv1D-dilated-tanh", "DepthwiseConv1D",
         {"kernel_size": 2, "dilation_rate": 3, "activation": "tanh"}, (2, 8, 2)),
    case("SeparableConv1D", "SeparableConv1D",
         {"filters": 4, "kernel_size": 3, "depth_multiplier": 2,
          "bias_initializer": "random_normal"}, (2, 7, 3)),
    case("SeparableConv1D-same-s2-cf", "SeparableConv1D",
         {"filters": 2, "kernel_size": 4, "strides": 2, "padding": "same", **CF}, (2, 3, 9)),
    case("Conv2DTranspose-same-s2", "Conv2DTranspose",
         {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 3, 4, 2)),
    case("DepthwiseConv2D-same", "DepthwiseConv2D",
         {"kernel_size": 3, "depth_multiplier": 2, "padding": "same"}, (2, 4, 5, 2)),
    case("SeparableConv2D-cf", "SeparableConv2D",
         {"filters": 3, "kernel_size": 2, **CF}, (2, 2, 4, 5)),
    # pooling (and the "same" fixes)
    case("MaxPooling3D", "MaxPooling3D", {}, (2, 4, 5, 6, 3)),
    case("MaxPooling3D-same-s1", "MaxPooling3D", {"pool_size": 2, "strides": 1,
                                                  "padding": "same"}, (2, 3, 4, 3, 2)),
    case("MaxPooling3D-same-cf", "MaxPooling3D", {"pool_size": (3, 2, 2), "padding": "same",
                                                  **CF}, (2, 2, 5, 5, 3)),
    case("AveragePooling3D", "AveragePooling3D", {"pool_size": 2, "strides": 1},
         (2, 3, 4, 3, 2)),
    case("AveragePooling3D-same", "AveragePooling3D", {"pool_size": 3, "strides": 1,
                                                       "padding": "same"}, (2, 3, 4, 5, 2)),
    case("AveragePooling3D-same-cf", "AveragePooling3D", {"pool_size": 2, "padding": "same", **CF},
         (2, 2, 3, 5, 4)),
    case("MaxPooling1D-same-s1", "MaxPooling1D", {"pool_size": 2, "strides": 1,
                                                  "padding": "same"}, (2, 3, 4)),
    case("MaxPooling2D-same-s1-k4", "MaxPooling2D", {"pool_size": 4, "strides": 1,
                                                     "padding": "same"}, (2, 3, 5, 2)),
    case("AveragePooling1D-same-s1", "AveragePooling1D", {"pool_size": 2, "strides": 1,
                                                          "padding": "same"}, (2, 5, 3)),
    case("AveragePooling2D-same", "AveragePooling2D", {"pool_size": 2, "padding": "same"},
         (2, 5, 5, 3)),
    case("AveragePooling2D-same-1x1", "AveragePooling2D", {"pool_size": 2, "padding": "same"},
         (2, 1, 1, 3)),
    case("AveragePooling2D-same-s1", "AveragePooling2D", {"pool_size": 2, "strides": 1,
                                                          "padding": "same"}, (2, 4, 5, 3)),
    case("AveragePooling2D-same-s1-tiny", "AveragePooling2D",
         {"pool_size": 2, "strides": 1, "padding": "same"}, (2, 1, 1, 3)),
    case("AveragePooling2D-same-k3-s1-cf", "AveragePooling2D",
         {"pool_size": 3, "strides": 1, "padding": "same", **CF}, (2, 3, 4, 5)),
    case("GlobalAveragePooling3D", "GlobalAveragePooling3D", {}, (2, 3, 4, 2, 5)),
    case("GlobalAveragePooling3D-cf-keepdims", "GlobalAveragePooling3D",
         {"keepdims": True, **CF}, (2, 5, 3, 4, 2)),
    case("GlobalMaxPooling3D", "GlobalMaxPooling3D", {}, (2, 3, 4, 2, 5)),
    case("GlobalMaxPooling3D-keepdims", "GlobalMaxPooling3D", {"keepdims": True},
         (2, 3, 4, 2, 5)),
    # resizing
    case("UpSampling3D", "UpSampling3D", {}, (2, 2, 3, 2, 3)),
    case("UpSampling3D-cf", "UpSampling3D", {"size": (1, 2, 3), **CF}, (2, 3, 2, 2, 2)),
    case("ZeroPadding3D", "ZeroPadding3D", {}, (2, 2, 3, 2, 3)),
    case("ZeroPadding3D-mixed-cf", "ZeroPadding3D", {"padding": (1, (0, 2), 0), **CF},
         (2, 3, 2, 2, 2)),
    case("Cropping3D", "Cropping3D", {}, (2, 3, 4, 5, 2)),
    case("Cropping3D-pairs-cf", "Cropping3D", {"cropping": ((1, 0), 1, (0, 2)), **CF},
         (2, 2, 3, 4, 5)),
    case("ZeroPadding1D-cf", "ZeroPadding1D", {"padding": (1, 2), **CF}, (2, 3, 4)),
    case("ZeroPadding1D", "ZeroPadding1D", {"padding": 2}, (2, 3, 4)),
    case("UpSampling2D-bilinear", "UpSampling2D", {"size": (2, 3),
                                                   "interpolation": "bilinear"}, (2, 3, 4, 2)),
    case("UpSampling2D-bilinear-cf", "UpSampling2D", {"interpolation": "bilinear", **CF},
         (2, 2, 3, 4)),
    case("UpSampling2D-bicubic", "UpSampling2D", {"size": 3, "interpolation": "bicubic"},
         (2, 3, 4, 2)),
    case("UpSampling2D-nearest", "UpSampling2D", {"size": (1, 2)}, (2, 3, 4, 2)),
]


# ---------------------------------------------------------------------- the table
@pytest.mark.parametrize(("name", "kwargs", "shape"), CASES)
def test_outputs_weights_shapes_and_configs_match_keras(name: str, kwargs: dict,
                                                        shape: tuple) -> None:
    x = data(shape)
    theirs, ours = pair(name, kwargs, x)
    names = {id(p): key for key, p in ours.named_parameters()}
    assert [names[id(w)] for w in ours.weights] == [w.name for w in theirs.weights]
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    close(ours(torch.from_numpy(x)), theirs(x))
    batchless = (None, *shape[1:])
    assert tuple(ours.compute_output_shape(batchless)) == tuple(
        theirs.compute_output_shape(batchless))
    assert_same_config(ours, theirs)


@pytest.mark.parametrize(("name", "kwargs", "shape"), CASES)
def test_gradients_match_keras(name: str, kwargs: dict, shape: tuple) -> None:
    """d(sum(r * output)) / d(input, trainable weights), r random, as Keras computes it."""
    x = data(shape)
    theirs, ours = pair(name, kwargs, x)
    grads = []
    for layer, weights in ((ours, ours.trainable_weights),
                           (theirs, [w.value for w in theirs.trainable_weights])):
        inputs = torch.from_numpy(x).requires_grad_()
        output = layer(inputs)
        weight = torch.from_numpy(data(tuple(output.shape), seed=1))
        grads.append(torch.autograd.grad((output * weight).sum(), [inputs, *weights]))
    assert len(grads[0]) == len(grads[1])
    for mine, expected in zip(*grads, strict=True):
        close(mine, expected, rtol=1e-4)


@pytest.mark.parametrize(("name", "kwargs", "shape"), CASES)
def test_the_layer_contract_with_keras_as_the_reference(name: str, kwargs: dict,
                                                        shape: tuple) -> None:
    def keras_output(inputs: torch.Tensor, layer: Any) -> Any:
        reference = make_keras(name, kwargs)
        reference(inputs.numpy())
        reference.set_weights(layer.get_weights())
        return reference(inputs.numpy())

    run_layer_test(getattr(layers, name), kwargs, input_data=data(shape),
                   reference=keras_output)


# ---------------------------------------------------------------------- arguments
#: Arguments Keras refuses on construction; the last one is the bad one.
BAD_ARGUMENTS = [
    ("ReLU", {"max_value": -1}), ("ReLU", {"max_value": "3"}), ("ReLU", {"negative_slope": -1}),
    ("ReLU", {"negative_slope": None}), ("ReLU", {"threshold": -0.5}),
    ("LeakyReLU", {"negative_slope": -1}), ("LeakyReLU", {"negative_slope": None}),
    ("LeakyReLU", {"negative_slope": "x"}),
    ("GaussianDropout", {"rate": 1.5}), ("GaussianDropout", {"rate": "x"}),
    ("AlphaDropout", {"rate": -0.1}), ("AlphaDropout", {"rate": "x"}),
    ("SpatialDropout3D", {"rate": 2}), ("SpatialDropout3D", {"rate": 0.5, "data_format": "x"}),
    ("UnitNormalization", {"axis": "x"}), ("UnitNormalization", {"axis": 1.5}),
    ("GroupNormalization", {"groups": 0}), ("GroupNormalization", {"groups": "2"}),
    ("GroupNormalization", {"groups": -2}),
    ("Conv3D", {"kernel_size": 3, "filters": 0}), ("Conv3D", {"filters": 2, "kernel_size": (3, 3)}),
    ("Conv3D", {"filters": 2, "kernel_size": 3, "padding": "causal"}),
    ("Conv1DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 2}),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 3, "padding": "full"}),
    ("DepthwiseConv1D", {"kernel_size": 3, "depth_multiplier": 0}),
    ("DepthwiseConv1D", {"kernel_size": 3, "padding": "causal"}),
    ("SeparableConv1D", {"kernel_size": 3, "filters": 0}),
    ("SeparableConv1D", {"filters": 2, "kernel_size": 3, "padding": "causal"}),
    ("MaxPooling3D", {"pool_size": 0}), ("MaxPooling3D", {"data_format": "x"}),
    ("GlobalAveragePooling3D", {"data_format": "x"}), ("GlobalMaxPooling3D", {"data_format": 3}),
    ("UpSampling3D", {"size": 0}), ("UpSampling3D", {"size": (1, 2)}),
    ("ZeroPadding3D", {"padding": (1, 2)}), ("ZeroPadding3D", {"padding": ((1, 1), (1, -1), 0)}),
    ("Cropping3D", {"cropping": -1}), ("Cropping3D", {"cropping": (1, 2)}),
    ("ZeroPadding1D", {"padding": -1}), ("ZeroPadding1D", {"data_format": "x"}),
    ("RepeatVector", {"n": "3"}), ("RepeatVector", {"n": 2.0}), ("RepeatVector", {"n": 0}),
    ("UpSampling1D", {"size": "2"}), ("UpSampling1D", {"size": 0}),
    ("Reshape", {"target_shape": 6}), ("Permute", {"dims": 5}), ("Dot", {"axes": "1"}),
    ("Dot", {"axes": (1, 2, 3)}), ("Dropout", {"rate": "x"}), ("Dropout", {"rate": 1.5}),
]


@pytest.mark.parametrize(("name", "kwargs"), BAD_ARGUMENTS,
                         ids=[f"{n}-{k}" for n, k in BAD_ARGUMENTS])
def test_bad_arguments_raise_keras_exception_classes(name: str, kwargs: dict) -> None:
    expected = raised(lambda: getattr(keras.layers, name)(**kwargs))
    assert expected is not None, "Keras accepts these arguments: not a parity case"
    with pytest.raises(expected) as info:
        getattr(layers, name)(**kwargs)
    assert name in str(info.value) and f"{list(kwargs)[-1]}=" in str(info.value)
