"""``BatchNormalization`` (batch renormalization, masks), ``LayerNormalization``
(``rms_scaling``, ``axis``), ``RMSNormalization``, ``AdaptiveAveragePooling1D/2D/3D``,
``AdaptiveMaxPooling1D/2D/3D``, ``ReversibleEmbedding`` and ``SpectralNormalization`` against
Keras 3 on torch.

Every case builds the Keras layer and the lamina layer on the same input, gives Keras's
weights random values and copies them into lamina, then compares: weight names, paths,
shapes and flags; outputs in inference and in training (1e-5) and every weight after two
training calls (moving statistics, renorm statistics, a spectrally normalized kernel);
output masks; gradients of the inputs and trainable weights; ``compute_output_shape`` and
symbolic calls; ``get_config`` both ways; Keras's exception classes for invalid arguments.
The adaptive windows are checked against their definition, a model of every new layer saves
and loads, and ``synchronized=True`` is checked under ``torch.distributed`` (two processes
against one with their joint batch). Keras is imported by ``normalization_parity``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import torch
from normalization_parity import (
    Case,
    Sub,
    call,
    case,
    close,
    config_differences,
    for_keras,
    keras,
    keras_weights,
    outputs,
    raised,
    run,
    tensor,
)

import lamina
from lamina import layers

DENSE = Sub("Dense", {"units": 3, "name": "inner_dense"})
RENORM = {"renorm": True, "renorm_momentum": 0.5}
CLIPPED = {**RENORM, "renorm_clipping": {"rmax": 1.1, "rmin": 0.9, "dmax": 0.05}}
SEQ, IMG = (4, 5, 3), (2, 7, 6, 3)

CASES = [
    case("default", "BatchNormalization", {}, (4, 3)),
    case("momentum_epsilon", "BatchNormalization", {"momentum": 0.5, "epsilon": 0.01}, (4, 3)),
    case("axis_1_image", "BatchNormalization", {"axis": 1}, (2, 3, 4, 5)),
    case("sequence", "BatchNormalization", {"momentum": 0.8}, SEQ),
    case("masked", "BatchNormalization", {"momentum": 0.5}, SEQ, mask="holes"),
    case("masked_image", "BatchNormalization", {}, (2, 3, 4, 2), mask="holes"),
    case("no_center_no_scale", "BatchNormalization", {"center": False, "scale": False}, SEQ),
    case("regularizers", "BatchNormalization", {"gamma_regularizer": "l2",
                                                "beta_regularizer": "l1"}, (4, 3)),
    case("frozen", "BatchNormalization", {"trainable": False}, (4, 3)),
    case("float64", "BatchNormalization", {"dtype": "float64"}, (4, 3), dtype="float64"),
    case("renorm", "BatchNormalization", RENORM, (6, 3)),
    case("renorm_clipped", "BatchNormalization", {**CLIPPED, "momentum": 0.7}, (6, 3)),
    case("renorm_rmax_only", "BatchNormalization", {"renorm": True,
                                                    "renorm_clipping": {"rmax": 1.01}}, SEQ),
    case("renorm_masked", "BatchNormalization", CLIPPED, SEQ, mask="right"),
    case("renorm_axis_1_no_scale", "BatchNormalization", {**RENORM, "axis": 1, "scale": False},
         (2, 3, 4, 5)),
    case("renorm_no_center", "BatchNormalization", {**RENORM, "center": False}, (6, 3)),
    case("renorm_frozen", "BatchNormalization", {**RENORM, "trainable": False}, (6, 3)),
    case("renorm_initializers", "BatchNormalization",
         {**RENORM, "moving_variance_initializer": "random_uniform",
          "moving_mean_initializer": "ones"}, (6, 3)),
    case("default", "LayerNormalization", {}, (2, 4)),
    case("axis_pair", "LayerNormalization", {"axis": [1, 2]}, SEQ),
    case("axis_tuple_unsorted", "LayerNormalization", {"axis": (2, 1)}, SEQ),
    case("axis_negative_pair", "LayerNormalization", {"axis": [-1, -2]}, IMG),
    case("epsilon", "LayerNormalization", {"epsilon": 0.1}, (2, 4)),
    case("no_center_no_scale", "LayerNormalization", {"center": False, "scale": False}, SEQ),
    case("masked", "LayerNormalization", {}, SEQ, mask="right"),
    case("float64", "LayerNormalization", {"dtype": "float64"}, (2, 4), dtype="float64"),
    case("rms_scaling", "LayerNormalization", {"rms_scaling": True}, SEQ),
    case("rms_scaling_axis_pair", "LayerNormalization", {"rms_scaling": True, "axis": [1, 2]},
         SEQ),
    case("rms_scaling_no_scale_center", "LayerNormalization",
         {"rms_scaling": True, "scale": False, "center": True, "epsilon": 0.5}, (2, 4)),
    case("default", "RMSNormalization", {}, (2, 4)),
    case("axis_pair", "RMSNormalization", {"axis": [1, 2]}, SEQ),
    case("epsilon", "RMSNormalization", {"epsilon": 0.1}, (2, 4)),
    case("image", "RMSNormalization", {"axis": [-2, -1]}, IMG),
    case("masked", "RMSNormalization", {}, SEQ, mask="holes"),
    case("float64", "RMSNormalization", {"dtype": "float64"}, (2, 4), dtype="float64"),
    case("default", "ReversibleEmbedding", {"input_dim": 6, "output_dim": 3}, (2, 5), tokens=6),
    case("untied", "ReversibleEmbedding", {"input_dim": 6, "output_dim": 3,
                                           "tie_weights": False}, (2, 5), tokens=6),
    case("mask_zero", "ReversibleEmbedding", {"input_dim": 6, "output_dim": 3,
                                              "mask_zero": True}, (2, 5), tokens=6),
    case("reverse", "ReversibleEmbedding", {"input_dim": 6, "output_dim": 3}, SEQ,
         call={"reverse": True}),
    case("reverse_untied", "ReversibleEmbedding", {"input_dim": 6, "output_dim": 3,
                                                   "tie_weights": False}, SEQ,
         call={"reverse": True}),
    case("reverse_soft_cap", "ReversibleEmbedding", {"input_dim": 6, "output_dim": 3,
                                                     "logit_soft_cap": 0.5}, SEQ,
         call={"reverse": True}),
    case("reverse_masked", "ReversibleEmbedding", {"input_dim": 6, "output_dim": 3,
                                                   "mask_zero": True, "tie_weights": False},
         SEQ, mask="holes", call={"reverse": True}),
    case("regularized", "ReversibleEmbedding", {"input_dim": 6, "output_dim": 3,
                                                "embeddings_regularizer": "l2",
                                                "embeddings_constraint": "non_neg"},
         (2, 5), tokens=6),
    case("dense", "SpectralNormalization", {"layer": DENSE}, (4, 5)),
    case("dense_power_iterations", "SpectralNormalization", {"layer": DENSE,
                                                             "power_iterations": 3}, (4, 5)),
    case("dense_sequence", "SpectralNormalization", {"layer": DENSE}, SEQ),
    case("conv1d", "SpectralNormalization",
         {"layer": Sub("Conv1D", {"filters": 2, "kernel_size": 2, "name": "inner_conv"}),
          "power_iterations": 2}, SEQ),
    case("conv2d", "SpectralNormalization",
         {"layer": Sub("Conv2D", {"filters": 4, "kernel_size": 3, "name": "inner_conv",
                                  "use_bias": False})}, IMG),
]
_ADAPTIVE = [("1D", (2, 9, 3), 4), ("1D_up", (2, 5, 2), 7), ("2D", IMG, (3, 2)),
             ("2D_up", (2, 3, 5, 2), (5, 8)), ("3D", (2, 5, 4, 6, 2), (2, 3, 2)),
             ("3D_up", (1, 2, 3, 4, 2), (3, 4, 5))]
for _kind in ("Average", "Max"):
    for _id, _shape, _size in _ADAPTIVE:
        _name = f"Adaptive{_kind}Pooling{_id[:2]}"
        CASES.append(case(_id[3:] or "default", _name, {"output_size": _size}, _shape))
        CASES.append(case((_id[3:] or "default") + "_channels_first", _name,
                          {"output_size": _size, "data_format": "channels_first"},
                          (_shape[0], _shape[-1], *_shape[1:-1])))
    CASES.append(case("int_size", f"Adaptive{_kind}Pooling2D", {"output_size": 2}, IMG))
    CASES.append(case("masked", f"Adaptive{_kind}Pooling1D", {"output_size": 2}, SEQ,
                      mask="holes"))
TRAINS = [c for c in CASES if c.values[0].layer in ("BatchNormalization",
                                                     "SpectralNormalization")]


def _check_weights(pair: Any) -> None:
    for mine, theirs in zip(pair.lamina.weights, keras_weights(pair.keras), strict=True):
        close(mine, theirs)


# ---------------------------------------------------------------------------- weights
@pytest.mark.parametrize("case", CASES)
def test_weights_have_keras_names_paths_shapes_and_flags(case: Case) -> None:
    pair = run(case)
    assert [(w.path, w.name, tuple(w.shape), w.trainable) for w in pair.lamina.weights] == [
        (w.path, w.name, tuple(w.shape), w.trainable) for w in pair.keras.weights]


# ---------------------------------------------------------------------------- values
@pytest.mark.parametrize("case", CASES)
def test_outputs_and_masks_match_keras_in_inference_and_training(case: Case) -> None:
    """Inference, two training calls (moving statistics and kernels change), inference."""
    pair = run(case)
    for training in (False, True, True, False):
        theirs, _ = outputs(pair, case, "keras", training)
        ours, _ = outputs(pair, case, "lamina", training)
        assert tuple(ours.shape) == tuple(theirs.shape) and ours.dtype == theirs.dtype
        close(ours, theirs)
        mask, keras_mask = (getattr(t, "_keras_mask", None) for t in (ours, theirs))
        assert (mask is None) == (keras_mask is None)
        if mask is not None:
            assert torch.equal(mask.bool().cpu(), keras_mask.bool().cpu())
        _check_weights(pair)
    close(sorted(float(loss.detach()) for loss in pair.lamina.losses),
          sorted(float(loss.detach()) for loss in pair.keras.losses))


@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
@pytest.mark.parametrize("case", CASES)
def test_gradients_match_keras(case: Case, training: bool) -> None:
    pair = run(case)
    grads = {}
    for side, layer in (("keras", pair.keras), ("lamina", pair.lamina)):
        result, inputs = outputs(pair, case, side, training, grad=True)
        generator = torch.Generator().manual_seed(3)
        weight = torch.randn(result.shape, generator=generator, dtype=torch.float64)
        (result * weight.to(result.dtype).to(result.device)).sum().backward()
        variables = [w.value if side == "keras" else w for w in layer.trainable_weights]
        variables += [inputs] if inputs.is_floating_point() else []
        grads[side] = [torch.zeros(v.shape) if v.grad is None else v.grad.cpu()
                       for v in variables]
    assert len(grads["lamina"]) == len(grads["keras"])
    for mine, expected in zip(grads["lamina"], grads["keras"]):
        close(mine, expected, atol=1e-4)


# ---------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("case", CASES)
def test_compute_output_shape_and_symbolic_calls_match_keras(case: Case) -> None:
    pair = run(case)
    shape = (None, *case.shape[1:])
    expected = pair.keras.compute_output_shape(shape, **case.call)
    assert tuple(pair.lamina.compute_output_shape(shape, **case.call)) == tuple(expected)
    dtype = "int32" if case.tokens else case.dtype
    theirs = call(case.make("keras"), case, keras.Input(case.shape[1:], dtype=dtype))
    ours = call(case.make("lamina"), case, lamina.Input(case.shape[1:], dtype=dtype))
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).rsplit(".", 1)[-1] == str(theirs.dtype).rsplit(".", 1)[-1]
    assert getattr(ours, "_keras_mask", None) is getattr(theirs, "_keras_mask", None) is None


# ---------------------------------------------------------------------------- configs
@pytest.mark.parametrize("case", CASES)
def test_config_matches_keras_both_ways(case: Case) -> None:
    pair = run(case)
    assert config_differences(pair.lamina.get_config(), pair.keras.get_config()) == []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LayerNormalization(rms_scaling=True) warns
        rebuilt = type(pair.lamina).from_config(pair.keras.get_config())
        keras_rebuilt = case.make("keras").from_config(for_keras(pair.lamina.get_config()))
    assert config_differences(rebuilt.get_config(), pair.keras.get_config()) == []
    assert config_differences(pair.lamina.get_config(), keras_rebuilt.get_config()) == []
    call(rebuilt, case, tensor(pair.data, pair.mask))
    rebuilt.set_weights(keras_weights(pair.keras))
    close(call(rebuilt, case, tensor(pair.data, pair.mask)), outputs(pair, case, "keras")[0])


def test_a_built_layer_normalization_writes_its_axis_as_a_list_like_keras() -> None:
    for axis, built in ((-1, [-1]), ((2, 1), [1, 2]), ([-1, -2], [-2, -1])):
        ours, theirs = layers.LayerNormalization(axis=axis), keras.layers.LayerNormalization(
            axis=axis)
        assert ours.get_config()["axis"] == theirs.get_config()["axis"]
        ours.build((None, 3, 4)), theirs.build((None, 3, 4))
        assert ours.get_config()["axis"] == theirs.get_config()["axis"] == built
        for config in (ours.get_config(), {**ours.get_config(), "axis": axis}):
            assert layers.LayerNormalization.from_config(config)(torch.ones(1, 3, 4)).shape == (
                1, 3, 4)
