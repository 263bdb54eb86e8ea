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
    CASES,
    INVALID,
    SYNC_CASES,
    Case,
    builtin_class,
    call,
    close,
    config_differences,
    keras,
    keras_weights,
    outputs,
    raised,
    run,
    statistics,
    synchronized_fit,
    synchronized_rank,
    tensor,
)

import lamina
from lamina import layers
from lamina.distributed import launch
from lamina.testing import run_layer_test


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
        keras_rebuilt = case.make("keras").from_config(pair.lamina.get_config())
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


# ---------------------------------------------------------------------------- arguments
@pytest.mark.parametrize(("name", "kwargs", "shape"),
                         [pytest.param(*entry[1:], id=f"{entry[1]}-{entry[0]}")
                          for entry in INVALID])
def test_invalid_arguments_raise_keras_exception_classes(name: str, kwargs: dict,
                                                         shape: Any) -> None:
    def attempt(side: str) -> Any:
        def go() -> None:
            layer = Case(name, kwargs, ()).make(side)
            if shape == "mask_rank":  # Keras: a mask must have one axis less than inputs
                x = torch.zeros(2, 3, 4)
                layer(x, mask=torch.ones(2, 3, 4, dtype=torch.bool))
            elif shape is not None:
                layer(torch.zeros(shape))
        return raised(go)
    expected = builtin_class(attempt("keras"))
    assert expected is not None, "Keras accepts these arguments: the table is wrong"
    error = attempt("lamina")
    assert isinstance(error, expected), error  # unknown keywords are both, as documented


def test_synchronized_is_refused_by_keras_on_torch_and_accepted_by_lamina() -> None:
    """Keras 3 takes synchronized=True on TensorFlow only; lamina all-reduces the moments
    under torch.distributed (below), and alone computes the ordinary statistics."""
    assert builtin_class(raised(lambda: keras.layers.BatchNormalization(synchronized=True))) is (
        ValueError)
    x = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
    plain, synced = layers.BatchNormalization(), layers.BatchNormalization(synchronized=True)
    close(synced(x, training=True), plain(x, training=True))
    close(synced.moving_variance, plain.moving_variance)
    assert synced.get_config()["synchronized"] is True


# ---------------------------------------------------------------------------- behaviours
def test_masked_batch_statistics_leave_masked_steps_out_as_keras_does() -> None:
    """The unmasked steps of a channel are equal, the masked one differs: Keras normalises
    them to 0 (lamina once gave -0.577, the statistics of every step)."""
    x = np.array([[[0.0, 1.0], [0.0, 2.0], [0.0, 3.0], [1.0, 9.0]]], dtype="float32")
    mask = np.array([[True, True, True, False]])
    theirs, ours = keras.layers.BatchNormalization(), layers.BatchNormalization()
    expected = theirs(tensor(x, mask), training=True)
    got = ours(tensor(x, mask), training=True)
    close(got, expected)
    assert got[0, :3, 0].tolist() == [0.0, 0.0, 0.0]
    close(ours.moving_mean, theirs.moving_mean.value)
    close(ours.moving_variance, theirs.moving_variance.value)


def test_layer_normalization_rms_scaling_warns_as_keras_does() -> None:
    with pytest.warns(UserWarning, match="rms_scaling=True is deprecated"):
        layer = layers.LayerNormalization(rms_scaling=True, epsilon=0.0)
    with pytest.warns(UserWarning, match="deprecated"):
        keras.layers.LayerNormalization(rms_scaling=True)
    x = torch.tensor([[1.0, 3.0]])  # variance 1: the input itself (RMS would divide by 2.24)
    assert layer(x).tolist() == [[1.0, 3.0]]
    assert [w.name for w in layer.weights] == ["gamma"]


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_adaptive_windows_are_kerass_definition(rank: int) -> None:
    """Every output is the mean/max of the window [floor(i*n/m), ceil((i+1)*n/m)) of each
    axis (Keras's JAX and NumPy backends' definition), shrinking and growing."""
    generator = torch.Generator().manual_seed(rank)
    for sizes in [(9, 4), (7, 3), (5, 5), (3, 7), (1, 2), (10, 1)][: 6 - rank]:
        spatial, output = (sizes[0],) * rank, (sizes[1] - (rank > 1),) * rank
        x = torch.randn(2, *spatial, 3, generator=generator)
        for kind, reduce in (("Average", torch.mean), ("Max", torch.amax)):
            layer = getattr(layers, f"Adaptive{kind}Pooling{rank}D")(output)
            got = layer(x)
            windows = [layers.adaptive_pooling.adaptive_windows(n, m)
                       for n, m in zip(spatial, output)]
            for index in np.ndindex(*output):
                region = x[(slice(None), *(slice(*windows[a][i]) for a, i in enumerate(index)))]
                expected = reduce(region.reshape(2, -1, 3), dim=1)
                close(got[(slice(None), *index)], expected, atol=1e-6)


def test_spectral_normalization_updates_only_in_training() -> None:
    layer = layers.SpectralNormalization(layers.Dense(4, name="inner"), power_iterations=20)
    x = torch.randn(3, 5, generator=torch.Generator().manual_seed(1))
    layer(x)
    kernel, vector_u = layer.kernel.detach().clone(), layer.vector_u.detach().clone()
    layer(x, training=False)
    assert torch.equal(layer.kernel, kernel) and torch.equal(layer.vector_u, vector_u)
    layer(x, training=True)
    assert not torch.equal(layer.kernel, kernel)
    assert abs(torch.linalg.matrix_norm(layer.kernel.detach(), ord=2).item() - 1.0) < 1e-4
    zero = layers.SpectralNormalization(layers.Dense(2, kernel_initializer="zeros"))
    zero(x, training=True)
    assert not zero.kernel.any()  # a kernel of zeros is left alone, as in Keras
    embedding = layers.SpectralNormalization(layers.Embedding(7, 3), power_iterations=20)
    tokens = torch.tensor([[1, 2, 6]])
    assert embedding(tokens, training=True).dtype == torch.float32  # Keras casts to int here
    norm = torch.linalg.matrix_norm(embedding.layer.embeddings.detach(), ord=2).item()
    assert abs(norm - 1.0) < 1e-4 and embedding.weights[1] is embedding.vector_u


def test_reverse_dtype_computes_the_logits_in_that_dtype() -> None:
    """Keras's torch matmul computes two float64 tensors in float32 (its result_type of
    torch.float64 pairs is float32): lamina's float64 logits equal Keras's values."""
    kwargs = {"input_dim": 6, "output_dim": 3, "reverse_dtype": "float64"}
    theirs, ours = keras.layers.ReversibleEmbedding(**kwargs), layers.ReversibleEmbedding(**kwargs)
    hidden = torch.randn(2, 4, 3, generator=torch.Generator().manual_seed(2))
    expected = theirs(hidden, reverse=True)
    ours.build(None)
    ours.set_weights(keras_weights(theirs))
    got = ours(hidden, reverse=True)
    assert got.dtype == torch.float64 and expected.dtype == torch.float32
    close(got, expected)
    assert ours(lamina.Input((4, 3)), reverse=True).dtype == torch.float64


# ---------------------------------------------------------------------------- synchronized
@pytest.mark.parametrize("name", list(SYNC_CASES))
def test_synchronized_batch_statistics_are_the_global_batchs(name: str) -> None:
    """Two processes with 4 and 2 samples give the outputs, input gradients, summed weight
    gradients and moving statistics of one process with all 6 (Keras's moments)."""
    kwargs, masked = SYNC_CASES[name]
    first, second = launch(synchronized_rank, 2, kwargs, masked, start_method="fork",
                           timeout=120)
    whole = statistics(kwargs, masked, slice(0, 6))
    for call_index in range(2):
        for key in ("outputs", "input_grads"):
            close(np.concatenate([first[key][call_index], second[key][call_index]]),
                  whole[key][call_index], atol=1e-4)
    for a, b, expected in zip(first["weight_grads"], second["weight_grads"],
                              whole["weight_grads"]):
        close(a + b, expected, atol=1e-4)
    for a, b, expected in zip(first["weights"], second["weights"], whole["weights"]):
        close(a, expected)
        np.testing.assert_array_equal(a, b)  # the processes never drift apart


def test_synchronized_fit_on_two_processes_trains_like_one_with_the_joint_batch() -> None:
    """Data-parallel fit (DistributedDataParallel) with batch 8 on each of 2 processes ends
    with the weights of one process with batch 16, on both ranks; unsynchronized batch
    statistics make them differ."""
    first, second = launch(synchronized_fit, 2, 8, True, start_method="fork", timeout=120)
    single = synchronized_fit(16, False)
    for a, b, expected in zip(first, second, single, strict=True):
        np.testing.assert_array_equal(a, b)
        close(a, expected)
    local, _ = launch(synchronized_fit, 2, 8, False, start_method="fork", timeout=120)
    assert max(np.abs(a - b).max() for a, b in zip(local, single)) > 1e-3


# ---------------------------------------------------------------------------- saving
def _every_new_layer() -> lamina.Model:
    tokens, images = lamina.Input((6,), dtype="int64"), lamina.Input((7, 6, 3))
    volumes = lamina.Input((5, 4, 6, 2))
    embedding = layers.ReversibleEmbedding(12, 8, mask_zero=True, tie_weights=False,
                                           logit_soft_cap=5.0, name="tokens")
    hidden = layers.RMSNormalization(name="rms")(embedding(tokens))
    hidden = layers.BatchNormalization(renorm=True, renorm_clipping={"rmax": 2.0},
                                       name="renorm")(hidden)
    hidden = layers.LayerNormalization(rms_scaling=False, axis=[-1], name="norm")(hidden)
    hidden = layers.SpectralNormalization(layers.Dense(8, name="inner"), power_iterations=2,
                                          name="spectral")(hidden)
    logits = embedding(hidden, reverse=True)
    pooled = [layers.AdaptiveAveragePooling1D(3, name="avg1")(hidden),
              layers.AdaptiveMaxPooling1D(2, data_format="channels_first", name="max1")(hidden),
              layers.AdaptiveAveragePooling2D((3, 2), name="avg2")(images),
              layers.AdaptiveMaxPooling2D(4, name="max2")(images),
              layers.AdaptiveAveragePooling3D(2, name="avg3")(volumes),
              layers.AdaptiveMaxPooling3D((1, 2, 3), name="max3")(volumes)]
    return lamina.Model([tokens, images, volumes], [logits, *pooled])


def test_a_model_of_every_new_layer_saves_and_loads(tmp_path: Any) -> None:
    model = _every_new_layer()
    generator = torch.Generator().manual_seed(5)
    data = [torch.randint(0, 12, (4, 6), generator=generator),
            torch.randn(4, 7, 6, 3, generator=generator),
            torch.randn(4, 5, 4, 6, 2, generator=generator)]
    model(data, training=True)  # moving, renorm and spectral statistics move
    expected = model(data)
    path = str(tmp_path / "every_new_layer.lamina")
    model.save(path)
    loaded = lamina.load_model(path)
    for mine, theirs in zip(loaded(data), expected, strict=True):
        close(mine, theirs, atol=1e-6)
    assert [type(layer).__name__ for layer in loaded.layers] == [
        type(layer).__name__ for layer in model.layers]
    assert loaded.get_layer("renorm").get_config()["renorm_clipping"] == {"rmax": 2.0}


# ---------------------------------------------------------------------------- contract
@pytest.mark.parametrize(("name", "kwargs", "shape", "dtype"), [
    ("BatchNormalization", {"renorm": True}, (4, 3), "float32"),
    ("LayerNormalization", {"axis": [1, 2]}, (2, 3, 4), "float32"),
    ("RMSNormalization", {"axis": 1}, (2, 3, 4), "float32"),
    ("AdaptiveAveragePooling2D", {"output_size": (2, 3)}, (2, 5, 4, 3), "float32"),
    ("AdaptiveMaxPooling3D", {"output_size": 2, "data_format": "channels_first"},
     (1, 2, 3, 4, 5), "float32"),
    ("ReversibleEmbedding", {"input_dim": 3, "output_dim": 4, "mask_zero": True},
     (2, 5), "int64"),
    ("SpectralNormalization", {"layer": layers.Conv1D(2, 2)}, (2, 5, 3), "float32"),
])
def test_the_new_layers_keep_laminas_layer_contract(name: str, kwargs: dict, shape: tuple,
                                                    dtype: str) -> None:
    run_layer_test(getattr(layers, name), kwargs, input_shape=shape,
                                  input_dtype=dtype)


def test_rms_normalization_over_inner_axes_is_the_formula() -> None:
    """Keras's torch backend can normalise trailing axes only (F.rms_norm); lamina any."""
    layer = layers.RMSNormalization(axis=[0, 1], epsilon=0.01)
    x = torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(4))
    layer(x)
    with torch.no_grad():
        layer.scale.copy_(torch.rand(3, 4, generator=torch.Generator().manual_seed(5)))
    expected = x * torch.rsqrt((x * x).mean(dim=(0, 1), keepdim=True) + 0.01)
    close(layer(x), expected * layer.scale.detach()[:, :, None])
