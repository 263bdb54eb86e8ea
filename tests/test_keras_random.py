"""lamina.random against keras.random (Keras 3, torch backend) and against the formulas.

With an int seed or a ``SeedGenerator(int)`` Keras on torch seeds a CPU torch generator the
same way lamina does, so values, dtypes and shapes must be equal. ``seed=None`` draws are
checked by their statistics; every seeded call must leave torch's global state alone.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import lamina
from lamina import random
from lamina.errors import LaminaError

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

LOGITS = np.log(np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]], dtype="float32"))
DATA = np.arange(24, dtype="float32").reshape(2, 3, 4)

# (function name, positional arguments, keyword arguments): each is called with seed=
CASES = [
    ("normal", [(3, 5)], {}),
    ("normal", [(4,)], {"mean": 2.0, "stddev": 0.5, "dtype": "float64"}),
    ("normal", [()], {}),
    ("uniform", [(3, 5)], {}),
    ("uniform", [(7,)], {"minval": -3.0, "maxval": 5.0, "dtype": "float64"}),
    ("uniform", [()], {"minval": 1.0, "maxval": 2.0}),
    ("randint", [(4, 6)], {"minval": 0, "maxval": 10}),
    ("randint", [(9,)], {"minval": -5, "maxval": 5, "dtype": "int64"}),
    ("truncated_normal", [(6, 5)], {}),
    ("truncated_normal", [(50,)], {"mean": 1.0, "stddev": 3.0}),
    ("categorical", [LOGITS, 8], {}),
    ("categorical", [LOGITS, 3], {"dtype": "int64"}),
    ("shuffle", [DATA], {}),
    ("shuffle", [DATA], {"axis": 1}),
    ("shuffle", [DATA], {"axis": 2}),
    ("gamma", [(3, 4)], {"alpha": 2.0}),
    ("gamma", [(5,)], {"alpha": 0.5, "dtype": "float64"}),
    ("binomial", [(3, 4)], {"counts": 10, "probabilities": 0.3}),
    ("binomial", [(4,)], {"counts": np.array([1.0, 5.0, 10.0, 20.0], "float32"),
                          "probabilities": 0.5}),
    ("beta", [(3, 4)], {"alpha": 2.0, "beta": 5.0}),
    ("beta", [(6,)], {"alpha": 0.5, "beta": 0.5, "dtype": "float64"}),
    ("dropout", [torch.ones(4, 6)], {"rate": 0.5}),
    ("dropout", [torch.ones(4, 6)], {"rate": 0.3, "noise_shape": (None, 1)}),
]


def _keras_args(arguments):
    return [torch.tensor(a) if isinstance(a, np.ndarray) else a for a in arguments]


def _numpy(tensor):
    return tensor.detach().cpu().numpy()


@pytest.mark.parametrize(("name", "arguments", "kwargs"), CASES)
@pytest.mark.parametrize("seed", [0, 42, 2**33 + 7, -3])
def test_int_seed_gives_keras_values(name, arguments, kwargs, seed):
    ours = getattr(random, name)(*arguments, **kwargs, seed=seed)
    theirs = getattr(keras.random, name)(*_keras_args(arguments), **kwargs, seed=seed)
    assert isinstance(ours, torch.Tensor)
    assert ours.dtype == theirs.dtype
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(_numpy(ours), _numpy(theirs))
    again = getattr(random, name)(*arguments, **kwargs, seed=seed)
    np.testing.assert_array_equal(_numpy(ours), _numpy(again))


@pytest.mark.parametrize(("name", "arguments", "kwargs"), CASES)
def test_seed_generator_gives_keras_sequence(name, arguments, kwargs):
    ours_seeds, their_seeds = random.SeedGenerator(1), keras.random.SeedGenerator(1)
    draws = []
    for _ in range(3):
        ours = getattr(random, name)(*arguments, **kwargs, seed=ours_seeds)
        theirs = getattr(keras.random, name)(*_keras_args(arguments), **kwargs,
                                             seed=their_seeds)
        np.testing.assert_array_equal(_numpy(ours), _numpy(theirs))
        draws.append(_numpy(ours))
    # each call draws anew (small discrete outputs may repeat once, not three times)
    assert not (np.array_equal(draws[0], draws[1]) and np.array_equal(draws[1], draws[2]))
    assert ours_seeds.state.tolist() == [1, 3]


def test_seed_generator_state_and_config_match_keras():
    ours, theirs = random.SeedGenerator(7), keras.random.SeedGenerator(7)
    for _ in range(3):
        assert ours.next().tolist() == _numpy(theirs.next()).tolist()
    assert ours.get_config()["seed"] == theirs.get_config()["seed"] == 7
    copy = random.SeedGenerator.from_config(ours.get_config())
    assert copy.state.tolist() == [7, 0]
    unseeded = random.SeedGenerator()
    assert not unseeded.seeded and unseeded.get_config()["seed"] is None
    assert 1 <= unseeded.state.tolist()[0] <= 10**9


@pytest.mark.parametrize(("name", "arguments", "kwargs"), CASES)
def test_seeded_calls_leave_torch_global_state_alone(name, arguments, kwargs):
    before = torch.get_rng_state()
    getattr(random, name)(*arguments, **kwargs, seed=5)
    getattr(random, name)(*arguments, **kwargs, seed=random.SeedGenerator(5))
    assert torch.equal(before, torch.get_rng_state())


@pytest.mark.parametrize(("name", "arguments", "kwargs"), CASES)
def test_unseeded_calls_follow_torch_manual_seed(name, arguments, kwargs):
    saved = torch.get_rng_state()
    try:
        torch.manual_seed(11)
        first = getattr(random, name)(*arguments, **kwargs)
        torch.manual_seed(11)
        second = getattr(random, name)(*arguments, **kwargs)
    finally:
        torch.set_rng_state(saved)
    np.testing.assert_array_equal(_numpy(first), _numpy(second))


def test_unseeded_seed_generator_dropout_takes_keras_fast_path():
    """Keras drops with torch's global generator when the SeedGenerator had no seed."""
    saved = torch.get_rng_state()
    try:
        seeds = random.SeedGenerator()
        torch.manual_seed(3)
        ours = random.dropout(torch.ones(50), 0.5, seed=seeds)
        torch.manual_seed(3)
        expected = torch.nn.functional.dropout(torch.ones(50), p=0.5)
    finally:
        torch.set_rng_state(saved)
    assert torch.equal(ours, expected)
    assert seeds.state.tolist()[1] == 0


N = 200_000


def test_distribution_statistics_match_formulas():
    values = random.normal((N,), mean=2.0, stddev=3.0, seed=1)
    assert abs(float(values.mean()) - 2.0) < 0.05 and abs(float(values.std()) - 3.0) < 0.05
    values = random.uniform((N,), minval=-1.0, maxval=3.0, seed=1)
    assert float(values.min()) >= -1.0 and float(values.max()) < 3.0
    assert abs(float(values.mean()) - 1.0) < 0.02
    assert abs(float(values.var()) - 16 / 12) < 0.02
    values = random.randint((N,), 2, 7, seed=1)
    assert sorted(torch.unique(values).tolist()) == [2, 3, 4, 5, 6]
    values = random.truncated_normal((N,), mean=1.0, stddev=2.0, seed=1)
    assert float(values.min()) > -3.0 and float(values.max()) < 5.0
    # A normal truncated at +-2 sigma has variance 1 - 4 phi(2) / (2 Phi(2) - 1) = 0.774
    assert abs(float(values.var()) / 4.0 - 0.7737) < 0.01
    values = random.gamma((N,), alpha=2.5, seed=1)
    assert abs(float(values.mean()) - 2.5) < 0.03 and abs(float(values.var()) - 2.5) < 0.06
    values = random.binomial((N,), counts=12, probabilities=0.25, seed=1)
    assert abs(float(values.mean()) - 3.0) < 0.02
    assert abs(float(values.var()) - 12 * 0.25 * 0.75) < 0.03
    values = random.beta((N,), alpha=2.0, beta=3.0, seed=1)
    assert abs(float(values.mean()) - 0.4) < 0.005
    assert abs(float(values.var()) - 6 / (25 * 6)) < 0.002
    counts = torch.bincount(random.categorical(LOGITS, N, seed=1)[0].long(), minlength=3)
    np.testing.assert_allclose(_numpy(counts) / N, [0.1, 0.2, 0.7], atol=0.01)


def test_dropout_and_shuffle_semantics():
    out = random.dropout(torch.ones(N), rate=0.25, seed=2)
    assert set(torch.unique(out).tolist()) == {0.0, float(np.float32(1 / 0.75))}
    assert abs(float((out == 0).float().mean()) - 0.25) < 0.01
    masked = random.dropout(torch.ones(100, 8), rate=0.5, noise_shape=(None, 1), seed=2)
    assert all(len(set(row.tolist())) == 1 for row in masked)
    assert torch.equal(random.dropout(torch.ones(3), 1.0), torch.zeros(3))
    assert torch.equal(random.dropout(torch.ones(3), 0.0), torch.ones(3))
    shuffled = random.shuffle(torch.tensor(DATA), axis=-1, seed=3)
    assert torch.equal(shuffled, random.shuffle(torch.tensor(DATA), axis=2, seed=3))
    assert torch.equal(shuffled.sort(-1).values, torch.tensor(DATA))
    rows = random.shuffle(torch.tensor(DATA), seed=4)
    assert sorted(rows[:, 0, 0].tolist()) == [0.0, 12.0]


ERRORS = [
    ("uniform", [(2,)], {"dtype": "int32"}),
    ("randint", [(2,), 0, 5], {"dtype": "float32"}),
    ("categorical", [np.zeros(3, "float32"), 2], {}),
    ("normal", [(2,)], {"seed": "abc"}),
    ("normal", [(2,)], {"seed": 1.5}),
]


@pytest.mark.parametrize(("name", "arguments", "kwargs"), ERRORS)
def test_errors_are_keras_classes(name, arguments, kwargs):
    with pytest.raises(ValueError) as theirs:
        getattr(keras.random, name)(*_keras_args(arguments), **kwargs)
    with pytest.raises(theirs.type) as ours:
        getattr(random, name)(*arguments, **kwargs)
    assert isinstance(ours.value, LaminaError)
    assert name in str(ours.value) and "Received" in str(ours.value)


def test_seed_generator_rejects_a_non_int_seed_like_keras():
    with pytest.raises(ValueError):
        keras.random.SeedGenerator(seed="x")
    with pytest.raises(ValueError, match="must be an integer"):
        random.SeedGenerator(seed="x")
    with pytest.raises(ValueError, match="rate"):
        random.dropout(torch.ones(2), rate=1.5)
    with pytest.raises(ValueError, match="axis"):
        random.shuffle(torch.ones(2, 2), axis=2)


def test_keras_namespace_and_use_inside_a_layer_during_fit():
    assert lamina.random is random
    assert set(random.__all__) <= set(dir(keras.random))

    class Noisy(lamina.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = random.SeedGenerator(1337)

        def call(self, inputs, training=False):
            if training:
                return inputs + random.normal(tuple(inputs.shape), stddev=0.1,
                                              seed=self.seed_generator)
            return inputs

    model = lamina.Sequential([lamina.layers.Input((2,)), Noisy(),
                               lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((8, 2), "float32")
    model.fit(x, x[:, :1], epochs=2, batch_size=4, verbose=0, shuffle=False)
    noisy = model.layers[0]
    assert noisy.seed_generator.state.tolist() == [1337, 4]
    assert torch.equal(model(torch.tensor(x)), model(torch.tensor(x)))
