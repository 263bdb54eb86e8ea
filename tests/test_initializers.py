"""Initializers as objects: values against Keras's formulas, seeds, configs with Keras's keys,
layers keeping objects, saving and loading (also a file saved before objects existed)."""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path
from typing import Any

import pytest
import torch

import lamina
from lamina import initializers, layers
from lamina.errors import ArgumentError, SerializationError
from lamina.initializers import (
    Constant,
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    Identity,
    LecunNormal,
    LecunUniform,
    Ones,
    Orthogonal,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    VarianceScaling,
    Zeros,
)

DATA = Path(__file__).resolve().parent / "data"
TRUNCATED_STD = 0.87962566103423978  # std of a unit normal truncated to [-2, 2]


def _std(values: torch.Tensor) -> float:
    return float(values.double().std())


# ------------------------------------------------------------------------- values
def test_fans_are_keras_fans() -> None:
    assert initializers.compute_fans(()) == (1, 1)
    assert initializers.compute_fans((7,)) == (7, 7)
    assert initializers.compute_fans((20, 30)) == (20, 30)
    assert initializers.compute_fans((3, 5, 16, 32)) == (3 * 5 * 16, 3 * 5 * 32)
    # Keras 3's explicit axes (an EinsumDense kernel (in, heads, head_dim), say).
    assert initializers.compute_fans((4, 2, 8), [0], [1, 2]) == (4, 16)


def test_explicit_fan_axes_set_the_variance() -> None:
    """GlorotUniform over (4, 2, 8) with input axis 0 and output axes 1, 2: limit
    sqrt(6 / (4 + 16)), where the default layout would give sqrt(6 / (2 * 4 + 2 * 8))."""
    weight = torch.empty(4, 2, 8)
    GlorotUniform(seed=0, input_axes=[0], output_axes=[1, 2])._fill(weight)
    limit = (6 / 20) ** 0.5
    assert float(weight.abs().max()) <= limit and float(weight.abs().max()) > 0.8 * limit
    assert abs(float(weight.var()) - limit ** 2 / 3) < 0.3 * limit ** 2 / 3


def test_constant_zeros_ones_and_identity_are_exact() -> None:
    assert torch.equal(Constant(2.5)((2, 3)), torch.full((2, 3), 2.5))
    assert torch.equal(Constant(-1)((4,), dtype="int64"), torch.full((4,), -1))
    assert torch.equal(Zeros()((3, 2)), torch.zeros(3, 2))
    assert torch.equal(Ones()((3, 2), dtype="float64"), torch.ones(3, 2, dtype=torch.float64))
    assert torch.equal(Identity(gain=3.0)((3, 5)), 3.0 * torch.eye(3, 5))
    with pytest.raises(ArgumentError, match="only be used for 2D"):
        Identity()((2, 2, 2))


def test_random_normal_and_uniform_statistics() -> None:
    values = RandomNormal(mean=1.0, stddev=0.3, seed=1)((400, 500))
    assert abs(float(values.mean()) - 1.0) < 0.003
    assert abs(_std(values) - 0.3) < 0.003
    values = RandomUniform(minval=-0.2, maxval=0.6, seed=2)((400, 500))
    assert float(values.min()) >= -0.2 and float(values.max()) < 0.6
    assert abs(float(values.mean()) - 0.2) < 0.003
    assert abs(_std(values) - 0.8 / math.sqrt(12)) < 0.003


def test_truncated_normal_is_cut_at_two_standard_deviations() -> None:
    values = TruncatedNormal(mean=0.5, stddev=0.2, seed=3)((400, 500))
    assert float(values.min()) >= 0.5 - 0.4 and float(values.max()) <= 0.5 + 0.4
    assert abs(float(values.mean()) - 0.5) < 0.002
    assert abs(_std(values) - 0.2 * TRUNCATED_STD) < 0.002


# (initializer, shape, fan used, scale, distribution): Keras's VarianceScaling formula.
FAN_CASES = [
    (GlorotUniform(seed=0), (200, 300), (200 + 300) / 2, 1.0, "uniform"),
    (GlorotNormal(seed=0), (200, 300), (200 + 300) / 2, 1.0, "truncated_normal"),
    (HeUniform(seed=0), (3, 3, 16, 32), 3 * 3 * 16, 2.0, "uniform"),
    (HeNormal(seed=0), (3, 3, 16, 32), 3 * 3 * 16, 2.0, "truncated_normal"),
    (LecunUniform(seed=0), (400, 100), 400, 1.0, "uniform"),
    (LecunNormal(seed=0), (400, 100), 400, 1.0, "truncated_normal"),
    (VarianceScaling(3.0, "fan_out", "untruncated_normal", seed=0), (5, 40, 300), 5 * 300,
     3.0, "untruncated_normal"),
    (VarianceScaling(0.5, "fan_avg", "uniform", seed=0), (300, 100), 200, 0.5, "uniform"),
    (VarianceScaling(seed=0), (300, 100), 300, 1.0, "truncated_normal"),
]


@pytest.mark.parametrize(("init", "shape", "fan", "scale", "distribution"), FAN_CASES,
                         ids=[type(case[0]).__name__ + str(case[1]) for case in FAN_CASES])
def test_variance_scaling_family_matches_keras_formula(init: Any, shape: tuple, fan: float,
                                                        scale: float, distribution: str) -> None:
    values = init(shape)
    variance = scale / fan
    assert abs(float(values.mean())) < 0.05 * math.sqrt(variance)
    assert _std(values) == pytest.approx(math.sqrt(variance), rel=0.02)
    if distribution == "uniform":
        limit = math.sqrt(3 * variance)  # Glorot: sqrt(6 / (fan_in + fan_out)), He: sqrt(6/fan_in)
        assert float(values.abs().max()) <= limit
        assert float(values.abs().max()) > 0.99 * limit
    elif distribution == "truncated_normal":
        bound = 2 * math.sqrt(variance) / TRUNCATED_STD
        assert float(values.abs().max()) <= bound
        assert float(values.abs().max()) > 0.95 * bound
    else:
        assert float(values.abs().max()) > 3 * math.sqrt(variance)  # not truncated


def test_glorot_uniform_is_the_uniform_draw_of_its_seed() -> None:
    limit = math.sqrt(6 / (20 + 30))
    expected = torch.empty(20, 30).uniform_(-limit, limit,
                                            generator=torch.Generator().manual_seed(9))
    assert torch.equal(GlorotUniform(seed=9)((20, 30)), expected)


@pytest.mark.parametrize("shape", [(6, 6), (4, 10), (10, 4), (3, 3, 4, 8)],
                         ids=["square", "wide", "tall", "conv"])
def test_orthogonal_gives_orthogonal_rows_or_columns(shape: tuple) -> None:
    values = Orthogonal(gain=1.5, seed=4)(shape).reshape(-1, shape[-1])
    rows, cols = values.shape
    product = values @ values.T if rows <= cols else values.T @ values
    torch.testing.assert_close(product, 1.5 ** 2 * torch.eye(min(rows, cols)), atol=1e-5,
                               rtol=0)


def _sign_fixed_qr(sample: torch.Tensor) -> torch.Tensor:
    q, r = torch.linalg.qr(sample)
    return q * torch.diagonal(r).sign()


def test_orthogonal_is_sign_fixed_qr_of_a_normal_sample() -> None:
    def sample(*shape: int) -> torch.Tensor:
        return torch.empty(shape).normal_(generator=torch.Generator().manual_seed(5))

    torch.testing.assert_close(Orthogonal(seed=5)((10, 4)), _sign_fixed_qr(sample(10, 4)))
    # A wide matrix: the QR of the transposed sample (torch's orthogonal_, as lamina had).
    torch.testing.assert_close(Orthogonal(seed=5)((4, 10)), _sign_fixed_qr(sample(4, 10).T).T)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_low_precision_weights_are_computed_in_float32(dtype: str) -> None:
    for init in (Orthogonal(seed=0), HeNormal(seed=0), TruncatedNormal(seed=0)):
        values = init((8, 8), dtype=dtype)
        assert values.dtype == getattr(torch, dtype)
        torch.testing.assert_close(values, init((8, 8)).to(values.dtype))


def test_lstm_in_bfloat16_builds_on_cpu_with_an_orthogonal_recurrent_kernel() -> None:
    layer = layers.LSTM(4, dtype="bfloat16")
    outputs = layer(torch.randn(2, 3, 5, dtype=torch.bfloat16))
    assert outputs.dtype == torch.bfloat16 and tuple(outputs.shape) == (2, 4)
    kernel = layer.recurrent_kernel.detach()
    assert kernel.dtype == torch.bfloat16 and tuple(kernel.shape) == (4, 16)
    rows = kernel.float()
    torch.testing.assert_close(rows @ rows.T, torch.eye(4), atol=3e-2, rtol=0)


# -------------------------------------------------------------------------- seeds
RANDOM = [RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling, GlorotUniform,
          GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal, Orthogonal]


@pytest.mark.parametrize("cls", RANDOM, ids=lambda cls: cls.__name__)
def test_an_integer_seed_gives_the_same_values_every_call(cls: type) -> None:
    first = cls(seed=11)((6, 5))
    assert torch.equal(first, cls(seed=11)((6, 5)))
    assert torch.equal(first, cls(seed=11)((6, 5)))
    assert not torch.equal(first, cls(seed=12)((6, 5)))
    unseeded = cls()
    assert not torch.equal(unseeded((6, 5)), unseeded((6, 5)))
    torch.manual_seed(3)
    again = unseeded((6, 5))
    torch.manual_seed(3)
    assert torch.equal(again, unseeded((6, 5)))


def test_a_seeded_initializer_makes_layers_reproducible() -> None:
    first = layers.Dense(4, kernel_initializer=HeNormal(seed=7))
    second = layers.Dense(4, kernel_initializer=HeNormal(seed=7))
    first(torch.ones(1, 3))
    second(torch.ones(1, 3))
    assert torch.equal(first.kernel, second.kernel)
    assert torch.equal(first.kernel, HeNormal(seed=7)((3, 4)))


def test_bad_arguments_are_refused_quoting_the_value() -> None:
    with pytest.raises(ArgumentError, match="seed=1.5"):
        RandomNormal(seed=1.5)
    with pytest.raises(ArgumentError, match="stddev=-1"):
        TruncatedNormal(stddev=-1)
    with pytest.raises(ArgumentError, match="mode='fan'"):
        VarianceScaling(mode="fan")
    with pytest.raises(ArgumentError, match="scale=0"):
        VarianceScaling(scale=0)
    with pytest.raises(ArgumentError, match="value='a'"):
        Constant("a")
    assert VarianceScaling(distribution="normal").distribution == "truncated_normal"


# ------------------------------------------------------------------------ configs
KERAS_CONFIGS = [
    (Constant(), "Constant", {"value": 0.0}),
    (Zeros(), "Zeros", {}),
    (Ones(), "Ones", {}),
    (Identity(), "Identity", {"gain": 1.0}),
    (RandomNormal(), "RandomNormal", {"seed": None, "mean": 0.0, "stddev": 0.05}),
    (TruncatedNormal(), "TruncatedNormal", {"seed": None, "mean": 0.0, "stddev": 0.05}),
    (RandomUniform(), "RandomUniform", {"seed": None, "minval": -0.05, "maxval": 0.05}),
    (VarianceScaling(), "VarianceScaling",
     {"seed": None, "scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal",
      "input_axes": None, "output_axes": None}),
    (Orthogonal(), "Orthogonal", {"seed": None, "gain": 1.0}),
    (GlorotUniform(), "GlorotUniform", {"seed": None, "input_axes": None, "output_axes": None}),
    (GlorotNormal(), "GlorotNormal", {"seed": None, "input_axes": None, "output_axes": None}),
    (HeUniform(), "HeUniform", {"seed": None, "input_axes": None, "output_axes": None}),
    (HeNormal(), "HeNormal", {"seed": None, "input_axes": None, "output_axes": None}),
    (LecunUniform(), "LecunUniform", {"seed": None, "input_axes": None, "output_axes": None}),
    (LecunNormal(), "LecunNormal", {"seed": None, "input_axes": None, "output_axes": None}),
    (RandomNormal(mean=1.0, stddev=0.3, seed=4), "RandomNormal",
     {"seed": 4, "mean": 1.0, "stddev": 0.3}),
    (VarianceScaling(2.0, "fan_avg", "uniform", seed=1), "VarianceScaling",
     {"seed": 1, "scale": 2.0, "mode": "fan_avg", "distribution": "uniform",
      "input_axes": None, "output_axes": None}),
    (GlorotUniform(seed=2, input_axes=[0], output_axes=[1, 2]), "GlorotUniform",
     {"seed": 2, "input_axes": [0], "output_axes": [1, 2]}),
]


@pytest.mark.parametrize(("init", "class_name", "config"), KERAS_CONFIGS,
                         ids=[f"{case[1]}{i}" for i, case in enumerate(KERAS_CONFIGS)])
def test_configs_have_keras_keys_and_round_trip(init: Any, class_name: str,
                                                config: dict) -> None:
    assert init.get_config() == config
    assert type(init).from_config(init.get_config()) == init
    assert init.clone() == init and init.clone() is not init
    stored = initializers.serialize(init)
    assert stored == {"module": "lamina.initializers", "class_name": class_name,
                      "config": config, "registered_name": None}
    assert initializers.deserialize(json.loads(json.dumps(stored))) == init
    keras_3 = {**stored, "module": "keras.initializers"}
    assert initializers.get(keras_3) == init
    assert initializers.get({"class_name": class_name, "config": config}) == init
    assert pickle.loads(pickle.dumps(init)) == init


def test_get_takes_names_dicts_classes_objects_and_callables() -> None:
    assert initializers.get("glorot_uniform") == GlorotUniform()
    assert initializers.get("GlorotUniform") == GlorotUniform()
    assert initializers.get("Glorot_Uniform") == GlorotUniform()  # lamina was case-blind
    for name, expected in [("uniform", RandomUniform()), ("normal", RandomNormal()),
                           ("one", Ones()), ("zero", Zeros()), ("orthogonal", Orthogonal()),
                           ("OrthogonalInitializer", Orthogonal()),
                           ("IdentityInitializer", Identity()),
                           ("truncated_normal", TruncatedNormal()),
                           ("variance_scaling", VarianceScaling()), ("constant", Constant())]:
        assert initializers.get(name) == expected, name
    assert initializers.get(HeUniform) == HeUniform()
    init = HeUniform(seed=3)
    assert initializers.get(init) is init

    def half(shape: tuple, dtype: Any = None) -> torch.Tensor:
        return torch.full(shape, 0.5)

    assert initializers.get(half) is half
    assert initializers.get(None) is None
    # Keras 2 configs: a class and a config only; "normal" meant the truncated normal.
    keras_2 = {"class_name": "VarianceScaling",
               "config": {"scale": 2.0, "mode": "fan_in", "distribution": "normal", "seed": None}}
    assert initializers.get(keras_2) == VarianceScaling(2.0, "fan_in", "truncated_normal")
    with pytest.raises(ArgumentError, match="Unknown initializer"):
        initializers.get("glorot")
    with pytest.raises(SerializationError, match="Unknown initializer class 'Glorot'"):
        initializers.get({"class_name": "Glorot", "config": {}})
    with pytest.raises(SerializationError, match="cannot be built"):
        initializers.get({"class_name": "Zeros", "config": {"value": 1}})
    with pytest.raises(ArgumentError, match="Could not interpret"):
        initializers.get(3)


# (layer, {argument: expected object}); each stores objects and serializes them.
LAYER_CASES = [
    (lambda: layers.Dense(3, kernel_initializer="he_normal", bias_initializer=Constant(0.2)),
     {"kernel_initializer": HeNormal(), "bias_initializer": Constant(0.2)}),
    (lambda: layers.Conv2D(2, 3, kernel_initializer=Orthogonal(gain=2.0)),
     {"kernel_initializer": Orthogonal(gain=2.0), "bias_initializer": Zeros()}),
    (lambda: layers.Conv2DTranspose(2, 3),
     {"kernel_initializer": GlorotUniform(), "bias_initializer": Zeros()}),
    (lambda: layers.DepthwiseConv2D(3, depthwise_initializer="lecun_uniform"),
     {"depthwise_initializer": LecunUniform()}),
    (lambda: layers.SeparableConv2D(2, 3, pointwise_initializer="ones"),
     {"depthwise_initializer": GlorotUniform(), "pointwise_initializer": Ones()}),
    (lambda: layers.LSTM(4), {"kernel_initializer": GlorotUniform(),
                              "recurrent_initializer": Orthogonal(),
                              "bias_initializer": Zeros()}),
    (lambda: layers.GRU(4, recurrent_initializer="identity"),
     {"recurrent_initializer": Identity()}),
    (lambda: layers.Embedding(10, 3), {"embeddings_initializer": RandomUniform()}),
    (lambda: layers.BatchNormalization(moving_variance_initializer=Constant(2.0)),
     {"gamma_initializer": Ones(), "beta_initializer": Zeros(),
      "moving_mean_initializer": Zeros(), "moving_variance_initializer": Constant(2.0)}),
    (lambda: layers.LayerNormalization(gamma_initializer="random_normal"),
     {"gamma_initializer": RandomNormal(), "beta_initializer": Zeros()}),
    (lambda: layers.MultiHeadAttention(2, 4, kernel_initializer=TruncatedNormal(stddev=0.02)),
     {"kernel_initializer": TruncatedNormal(stddev=0.02), "bias_initializer": Zeros()}),
]


@pytest.mark.parametrize(("make", "expected"), LAYER_CASES,
                         ids=[str(i) for i in range(len(LAYER_CASES))])
def test_layers_keep_objects_and_serialize_them_in_get_config(make: Any,
                                                              expected: dict) -> None:
    layer = make()
    config = layer.get_config()
    rebuilt = type(layer).from_config(json.loads(json.dumps(config)))
    for argument, init in expected.items():
        assert getattr(layer, argument) == init
        assert config[argument] == initializers.serialize(init)
        assert getattr(rebuilt, argument) == init


def test_layer_configs_accept_names_lamina_dicts_and_keras_3_dicts() -> None:
    base = layers.Dense(3).get_config()
    keras_3 = {"module": "keras.initializers", "class_name": "RandomNormal",
               "config": {"seed": 1, "mean": 0.0, "stddev": 0.3}, "registered_name": None}
    for value, expected in [("random_normal", RandomNormal()),
                            (initializers.serialize(Constant(3.0)), Constant(3.0)),
                            (keras_3, RandomNormal(stddev=0.3, seed=1))]:
        layer = layers.Dense.from_config({**base, "name": None, "kernel_initializer": value})
        assert layer.kernel_initializer == expected


def test_dense_weights_come_from_its_initializers() -> None:
    layer = layers.Dense(3, kernel_initializer=Constant(0.25), use_bias=False)
    layer(torch.ones(2, 4))
    assert torch.equal(layer.kernel.detach(), torch.full((4, 3), 0.25))
    layer = layers.Dense(3, kernel_initializer=RandomNormal(stddev=0.3, seed=2))
    layer(torch.ones(2, 4))
    assert torch.equal(layer.kernel.detach(), RandomNormal(stddev=0.3, seed=2)((4, 3)))


# ------------------------------------------------------------------------- saving
def _model(**dense: Any) -> Any:
    return lamina.Sequential([layers.Dense(3, input_shape=(4,), name="first", **dense),
                              layers.Dense(2, name="second")])


def test_saved_and_loaded_model_keeps_initializer_configs(tmp_path: Path) -> None:
    model = _model(kernel_initializer=RandomNormal(stddev=0.3), bias_initializer=Constant(0.7))
    path = tmp_path / "m.lamina"
    lamina.save_model(model, path)
    loaded = lamina.load_model(path)
    dense = loaded.get_layer("first")
    assert dense.kernel_initializer == RandomNormal(stddev=0.3)
    assert dense.bias_initializer == Constant(0.7)
    assert dense.get_config() == model.get_layer("first").get_config()
    x = torch.randn(5, 4)
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    assert torch.equal(dense.bias.detach(), torch.full((3,), 0.7))


def test_a_custom_callable_is_used_and_refused_at_save(tmp_path: Path) -> None:
    def half(shape: tuple, dtype: Any = None) -> torch.Tensor:
        return torch.full(shape, 0.5)

    model = _model(kernel_initializer=half)
    assert torch.equal(model.get_layer("first").kernel.detach(), torch.full((4, 3), 0.5))
    path = tmp_path / "m.lamina"
    with pytest.raises(SerializationError, match=r"Layer 'first' \(Dense\): kernel_initializer="
                       r".*half.* cannot be saved.*register_serializable"):
        lamina.save_model(model, path)
    assert list(tmp_path.iterdir()) == []


def test_bidirectional_copies_a_layer_with_a_custom_callable(tmp_path: Path) -> None:
    def half(shape: tuple, dtype: Any = None) -> torch.Tensor:
        return torch.full(shape, 0.5)

    inputs = lamina.Input((3, 2))
    outputs = layers.Bidirectional(layers.LSTM(4, kernel_initializer=half, name="rnn"))(inputs)
    model = lamina.Model(inputs, outputs)
    backward = model.layers[-1].backward_layer
    assert backward.kernel_initializer is half
    assert torch.equal(backward.kernel.detach(), torch.full((2, 16), 0.5))
    with pytest.raises(SerializationError, match="Layer 'forward_rnn' \\(LSTM\\)"):
        lamina.save_model(model, tmp_path / "m.lamina")


def test_a_registered_callable_or_a_custom_initializer_object_saves(tmp_path: Path) -> None:
    @lamina.register_serializable(package="test_initializers")
    def quarter(shape: tuple, dtype: Any = None) -> torch.Tensor:
        return torch.full(shape, 0.25)

    @lamina.register_serializable(package="test_initializers")
    class Filled(initializers.Initializer):
        def __init__(self, value: float) -> None:
            self.value = value

        def __call__(self, shape: Any, dtype: Any = None) -> torch.Tensor:
            return torch.full(tuple(shape), self.value)

        def get_config(self) -> dict[str, Any]:
            return {"value": self.value}

    model = _model(kernel_initializer=quarter, bias_initializer=Filled(0.125))
    dense = model.get_layer("first")
    assert torch.equal(dense.bias.detach(), torch.full((3,), 0.125))
    assert dense.get_config()["kernel_initializer"] == {
        "module": __name__, "class_name": "function", "config": "quarter",
        "registered_name": "test_initializers>quarter"}
    path = tmp_path / "m.lamina"
    lamina.save_model(model, path)
    loaded = lamina.load_model(path).get_layer("first")
    assert loaded.kernel_initializer is quarter
    assert isinstance(loaded.bias_initializer, Filled)
    assert loaded.bias_initializer.value == 0.125


def test_a_callable_returning_nothing_or_a_wrong_shape_is_a_clear_error() -> None:
    with pytest.raises(ArgumentError, match="Layer 'in_place', weight 'kernel'.*returned None"):
        layers.Dense(2, kernel_initializer=lambda tensor, dtype=None: None,
                     name="in_place")(torch.ones(1, 2))
    with pytest.raises(ArgumentError, match=r"shape \(3,\) for a weight of shape \(2, 2\)"):
        layers.Dense(2, kernel_initializer=lambda shape, dtype=None: torch.ones(3),
                     name="wrong_shape")(torch.ones(1, 2))


def test_torch_save_of_a_model_with_initializer_objects(tmp_path: Path) -> None:
    model = _model(kernel_initializer=Orthogonal(gain=0.5, seed=3))
    path = tmp_path / "model.pt"
    torch.save(model, path)
    restored = torch.load(path, weights_only=False)
    assert restored.get_layer("first").kernel_initializer == Orthogonal(gain=0.5, seed=3)
    x = torch.randn(2, 4)
    torch.testing.assert_close(restored(x), model(x), rtol=0, atol=0)


def test_a_file_saved_with_initializer_names_still_loads_and_predicts_the_same() -> None:
    """tests/data/initializers_before.lamina was saved by lamina before initializers were
    objects: its configs name them by string."""
    expected = json.loads((DATA / "initializers_before.json").read_text())
    model = lamina.load_model(DATA / "initializers_before.lamina")
    outputs = model(torch.tensor(expected["input"]))
    torch.testing.assert_close(outputs, torch.tensor(expected["output"]), rtol=0, atol=0)
    lstm, dense = model.get_layer("lstm_before"), model.get_layer("dense_before")
    assert lstm.kernel_initializer == HeUniform()
    assert lstm.recurrent_initializer == Orthogonal()
    assert dense.kernel_initializer == RandomNormal()
    assert dense.bias_initializer == Ones()
    assert dense.get_config()["bias_initializer"]["class_name"] == "Ones"
