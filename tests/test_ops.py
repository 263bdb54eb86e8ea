"""lamina.ops against numpy renderings of the Keras definitions, values and gradients."""

import math
import types

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from lamina import backend as K
from lamina import ops
from lamina.errors import ArgumentError, ShapeError
from lamina.ops import dispatch

RNG = np.random.default_rng(0)


def randn(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def close(actual: torch.Tensor, expected: np.ndarray, rtol: float = 1e-5) -> None:
    assert tuple(actual.shape) == np.shape(expected)
    assert_allclose(actual.detach().numpy(), expected, rtol=rtol, atol=1e-6)


@pytest.fixture
def learning_phase_restored():
    yield
    ops.set_learning_phase(False)


def sigmoid_np(x):
    return 1 / (1 + np.exp(-x))


ERF = np.vectorize(math.erf)

UNARY = [
    (ops.square, np.square, False),
    (ops.sqrt, np.sqrt, True),
    (ops.exp, np.exp, False),
    (ops.log, np.log, True),
    (ops.abs, np.abs, False),
    (ops.sign, np.sign, False),
    (ops.floor, np.floor, False),
    (ops.ceil, np.ceil, False),
    (ops.cos, np.cos, False),
    (ops.sin, np.sin, False),
    (ops.negative, np.negative, False),
    (ops.tanh, np.tanh, False),
    (ops.sigmoid, sigmoid_np, False),
    (ops.softplus, lambda x: np.log1p(np.exp(x)), False),
    (ops.softsign, lambda x: x / (1 + np.abs(x)), False),
    (ops.silu, lambda x: x * sigmoid_np(x), False),
    (ops.elu, lambda x: np.where(x > 0, x, np.exp(x) - 1), False),
    (lambda x: ops.elu(x, alpha=0.5), lambda x: np.where(x > 0, x, 0.5 * (np.exp(x) - 1)), False),
    (ops.gelu, lambda x: 0.5 * x * (1 + ERF(x / np.sqrt(2))), False),
    (
        lambda x: ops.gelu(x, approximate=True),
        lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
        False,
    ),
    (ops.flatten, lambda x: x.reshape(-1), False),
    (ops.batch_flatten, lambda x: x.reshape(x.shape[0], -1), False),
    (ops.stop_gradient, lambda x: x, False),
]


@pytest.mark.parametrize("op, reference, positive", UNARY)
def test_unary_ops_match_numpy(op, reference, positive):
    x = randn(3, 2, 4) * 3
    x = np.abs(x) + 0.1 if positive else x
    close(op(torch.from_numpy(x)), reference(x.astype(np.float64)))


def test_round_is_half_to_even_like_keras():
    close(ops.round(torch.tensor([0.5, 1.5, 2.5, -1.5, 0.4])), np.round([0.5, 1.5, 2.5, -1.5, 0.4]))


BINARY = [
    (ops.add, np.add),
    (ops.subtract, np.subtract),
    (ops.multiply, np.multiply),
    (ops.divide, np.divide),
    (ops.maximum, np.maximum),
    (ops.minimum, np.minimum),
    (ops.equal, np.equal),
    (ops.not_equal, np.not_equal),
    (ops.greater, np.greater),
    (ops.greater_equal, np.greater_equal),
    (ops.less, np.less),
    (ops.less_equal, np.less_equal),
]


@pytest.mark.parametrize("op, reference", BINARY)
def test_binary_ops_broadcast_and_accept_scalars_and_numpy(op, reference):
    x, y = np.round(randn(3, 4) * 2), np.round(randn(4) * 2) + 0.5
    close(op(torch.from_numpy(x), torch.from_numpy(y)), reference(x, y))
    close(op(torch.from_numpy(x), 1.0), reference(x, np.float32(1.0)))
    close(op(2.0, torch.from_numpy(y)), reference(np.float32(2.0), y))
    close(op(x, torch.from_numpy(y)), reference(x, y))


@pytest.mark.parametrize(
    "op, reference",
    [(ops.floor_divide, np.floor_divide), (ops.mod, np.mod), (ops.power, np.power)],
)
def test_integer_arithmetic_follows_python_rounding(op, reference):
    x, y = np.array([7, -7, 7, -7, 0]), np.array([3, 3, -3, -3, 2])
    if op is ops.power:
        y = np.abs(y)
    assert_array_equal(op(torch.from_numpy(x), torch.from_numpy(y)).numpy(), reference(x, y))
    assert_array_equal(op(torch.from_numpy(x), 2).numpy(), reference(x, 2))
    assert_array_equal(op(9, torch.from_numpy(np.abs(y) + 1)).numpy(), reference(9, np.abs(y) + 1))


@pytest.mark.parametrize(
    "op, reference",
    [(ops.logical_and, np.logical_and), (ops.logical_or, np.logical_or),
     (ops.logical_xor, np.logical_xor)],
)  # fmt: skip
def test_logical_ops(op, reference):
    x, y = np.array([True, True, False, False]), np.array([True, False, True, False])
    assert_array_equal(op(torch.from_numpy(x), torch.from_numpy(y)).numpy(), reference(x, y))
    assert_array_equal(op(torch.from_numpy(x), True).numpy(), reference(x, True))
    assert_array_equal(ops.logical_not(torch.from_numpy(x)).numpy(), ~x)


def test_pow_takes_scalar_and_tensor_exponents():
    x = np.abs(randn(5)) + 0.5
    close(ops.pow(torch.from_numpy(x), 3), x.astype(np.float64) ** 3)
    close(ops.pow(torch.from_numpy(x), torch.from_numpy(x)), x.astype(np.float64) ** x)


def test_conversion_follows_keras_floatx_alone_and_torch_promotion_with_tensors():
    f64 = np.ones(2)
    assert ops.sqrt(f64).dtype == torch.float32
    assert ops.add(f64, f64).dtype == torch.float32
    assert ops.add(torch.ones(2), f64).dtype == torch.float64
    assert ops.add(torch.ones(2), 2.5).dtype == torch.float32
    assert ops.add(torch.ones(2, dtype=torch.int32), 0.5).dtype == torch.float32
    assert ops.maximum(torch.ones(2, dtype=torch.float16), 0.5).dtype == torch.float16
    assert ops.convert_to_tensor([1.0, 2.0]).dtype == torch.float32
    assert ops.convert_to_tensor([1, 2]).dtype == torch.int64
    assert ops.convert_to_tensor(f64, dtype="float64").dtype == torch.float64
    assert ops.convert_to_tensor(torch.ones(2), "int32").dtype == torch.int32
    assert ops.convert_to_tensor([torch.zeros(2), torch.ones(2)]).tolist() == [[0, 0], [1, 1]]


AXES = st.integers(1, 4).flatmap(
    lambda rank: st.tuples(
        st.lists(st.integers(1, 4), min_size=rank, max_size=rank),
        st.one_of(
            st.none(),
            st.integers(-rank, rank - 1),
            st.sets(st.integers(0, rank - 1), min_size=1).map(tuple),
        ),
    )
)
REDUCTIONS = [
    (ops.mean, np.mean), (ops.sum, np.sum), (ops.max, np.max), (ops.min, np.min),
    (ops.prod, np.prod), (ops.std, np.std), (ops.var, np.var),
    (ops.logsumexp, lambda x, axis, keepdims: np.log(np.sum(np.exp(x), axis, keepdims=keepdims))),
    (ops.any, lambda x, axis, keepdims: np.any(x > 0.5, axis, keepdims=keepdims)),
    (ops.all, lambda x, axis, keepdims: np.all(x > -0.5, axis, keepdims=keepdims)),
]  # fmt: skip


@pytest.mark.parametrize("op, reference", REDUCTIONS)
@settings(max_examples=40, deadline=None, database=None)
@given(AXES, st.booleans(), st.integers(0, 2**32 - 1))
def test_reductions_match_numpy_for_every_axis_form(op, reference, shape_axis, keepdims, seed):
    shape, axis = shape_axis
    x = np.random.default_rng(seed).uniform(-1.5, 1.5, shape).astype(np.float32)
    tensor = torch.from_numpy(x)
    if op is ops.any:
        tensor = tensor > 0.5
    elif op is ops.all:
        tensor = tensor > -0.5
    expected = reference(x.astype(np.float64), axis=axis, keepdims=keepdims)
    close(op(tensor, axis=axis, keepdims=keepdims), expected, rtol=1e-4)


def test_mean_and_std_of_integers_are_float32():
    x = torch.tensor([[1, 2], [3, 7]])
    assert ops.mean(x).dtype == torch.float32
    close(ops.mean(x, axis=1), np.array([1.5, 5.0]))
    close(ops.std(x, axis=0), np.std([[1, 2], [3, 7]], axis=0))


@pytest.mark.parametrize("op, reference", [(ops.argmax, np.argmax), (ops.argmin, np.argmin)])
def test_argmax_argmin_default_to_last_axis(op, reference):
    x = randn(3, 4, 5)
    assert_array_equal(op(torch.from_numpy(x)).numpy(), reference(x, axis=-1))
    assert_array_equal(op(torch.from_numpy(x), axis=1).numpy(), reference(x, axis=1))
    assert op(torch.from_numpy(x), axis=None).item() == reference(x)
    assert op(torch.from_numpy(x), axis=0, keepdims=True).shape == (1, 4, 5)


def test_scans_sort_top_k_and_norm():
    x = randn(3, 4)
    close(ops.cumsum(torch.from_numpy(x)), np.cumsum(x, axis=0))
    close(ops.cumprod(torch.from_numpy(x), axis=1), np.cumprod(x, axis=1))
    close(ops.sort(torch.from_numpy(x)), np.sort(x, axis=-1))
    values, indices = ops.top_k(torch.from_numpy(x), 2)
    close(values, -np.sort(-x, axis=-1)[:, :2])
    assert_array_equal(indices.numpy(), np.argsort(-x, axis=-1)[:, :2])
    for kwargs in [{}, {"axis": 1}, {"axis": (0, 1)}, {"ord": 1, "axis": 0}]:
        close(ops.norm(torch.from_numpy(x), **kwargs), np.linalg.norm(x, **kwargs))


@pytest.mark.parametrize("axis", [None, 1, -1, 0, (0, 2)])
def test_l2_normalize_matches_keras_formula(axis):
    x = randn(3, 4, 2)
    x[1] = 0.0  # an all-zero slice must stay zero, not become NaN
    square_sum = np.sum(x.astype(np.float64) ** 2, axis, keepdims=True)
    expected = x / np.sqrt(np.maximum(square_sum, 1e-12))
    close(ops.l2_normalize(torch.from_numpy(x), axis=axis), expected)


def test_l2_normalize_floors_the_squared_norm_not_adds_to_it():
    tiny = np.array([[3e-7, 4e-7]], np.float32)  # squared norm 2.5e-13, below the 1e-12 floor
    close(ops.l2_normalize(torch.from_numpy(tiny), axis=1), tiny / np.sqrt(1e-12))


RELU_CASES = [(0.0, None, 0.0), (0.1, None, 0.0), (0.0, 6.0, 0.0), (0.0, 1.5, 0.0),
              (0.2, 3.0, 0.0), (0.0, None, 1.0), (0.3, None, 1.0), (0.3, 2.0, 0.5),
              (0.3, 2.0, -0.5), (0.0, None, -0.5)]  # fmt: skip


@pytest.mark.parametrize("alpha, max_value, threshold", RELU_CASES)
def test_relu_follows_keras_steps(alpha, max_value, threshold):
    x = randn(50) * 3

    def keras_relu(x):  # the steps of Keras's K.relu, in numpy
        if alpha != 0 and max_value is None and threshold == 0:
            return np.where(x >= 0, x, alpha * x)
        out = x * (x > threshold) if threshold != 0 else np.maximum(x, 0)
        if max_value is not None:
            out = np.clip(out, 0, max_value)
        return out - alpha * np.maximum(threshold - x, 0)

    close(ops.relu(torch.from_numpy(x), alpha, max_value, threshold), keras_relu(x))
    if threshold >= 0:  # Keras documents this piecewise form for these
        top = np.inf if max_value is None else max_value
        documented = np.where(x >= top, top, np.where(x > threshold, x, alpha * (x - threshold)))
        close(ops.relu(torch.from_numpy(x), alpha, max_value, threshold), documented)


@pytest.mark.parametrize("axis", [-1, 0, (0, 1)])
def test_softmax_and_log_softmax(axis):
    x = randn(3, 4).astype(np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    expected = e / e.sum(axis=axis, keepdims=True)
    close(ops.softmax(torch.from_numpy(x), axis=axis), expected)
    close(ops.log_softmax(torch.from_numpy(x), axis=axis), np.log(expected))


def test_clip_follows_keras_for_none_and_inverted_bounds():
    x = randn(10) * 3
    close(ops.clip(torch.from_numpy(x), -1.0, 2.0), np.clip(x, -1.0, 2.0))
    close(ops.clip(torch.from_numpy(x), None, 0.5), np.minimum(x, 0.5))
    close(ops.clip(torch.from_numpy(x), 1.0, -1.0), np.full(10, 1.0, np.float32))
    close(ops.clip(torch.from_numpy(x), torch.zeros(10), 1.0), np.clip(x, 0, 1))
    tensor = torch.from_numpy(x)
    assert ops.clip(tensor) is not tensor and ops.clip(tensor).tolist() == tensor.tolist()


def test_one_hot_is_float32_and_zero_for_out_of_range():
    indices = np.array([[0, 2], [1, -1]])
    expected = np.vstack([np.eye(3), np.zeros(3)])[np.where(indices < 0, 3, indices)]
    out = ops.one_hot(torch.from_numpy(indices), 3)
    assert out.dtype == torch.float32
    close(out, expected)
    close(ops.one_hot(indices, 3, axis=0), np.moveaxis(expected, -1, 0))


@pytest.mark.parametrize(
    "x_shape, y_shape", [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((2, 3, 4), (5, 4, 6)),
                         ((4,), (4, 5)), ((2, 3, 4), (4,)), ((4,), (2, 4, 3))]
)  # fmt: skip
def test_dot_is_numpy_dot(x_shape, y_shape):
    x, y = randn(*x_shape), randn(*y_shape)
    close(ops.dot(torch.from_numpy(x), torch.from_numpy(y)), np.dot(x, y), rtol=1e-4)


def batch_dot_reference(x, y, axes):
    """Keras's definition: a per-sample tensordot; a 1-D result becomes (batch, 1)."""
    if axes is None:
        axes = (x.ndim - 1, y.ndim - 1 if y.ndim == 2 else y.ndim - 2)
    elif isinstance(axes, int):
        axes = (axes, axes)
    x_axis, y_axis = axes[0] % x.ndim, axes[1] % y.ndim
    pairs = zip(x, y, strict=True)
    out = np.stack([np.tensordot(a, b, axes=(x_axis - 1, y_axis - 1)) for a, b in pairs])
    return out.reshape(-1, 1) if out.ndim == 1 else out


BATCH_DOT_CASES = [
    ((32, 20, 1), (32, 30, 20), (1, 2), (32, 1, 30)),  # the example in Keras's docstring
    ((4, 5), (4, 5), None, (4, 1)),
    ((4, 5), (4, 5), 1, (4, 1)),
    ((4, 3, 5), (4, 5), None, (4, 3)),
    ((4, 5), (4, 5, 6), None, (4, 6)),
    ((4, 3, 5), (4, 5, 6), None, (4, 3, 6)),
    ((4, 3, 5), (4, 3, 6), 1, (4, 5, 6)),
    ((4, 3, 5), (4, 6, 5), (2, 2), (4, 3, 6)),
    ((4, 3, 5), (4, 5, 6), (-1, -2), (4, 3, 6)),
    ((2, 3, 4, 5), (2, 5, 6), None, (2, 3, 4, 6)),
    ((2, 3, 5), (2, 4, 5, 6), None, (2, 3, 4, 6)),
    ((2, 5, 3, 4), (2, 7, 5), (1, 2), (2, 3, 4, 7)),
]


@pytest.mark.parametrize("x_shape, y_shape, axes, expected_shape", BATCH_DOT_CASES)
def test_batch_dot_matches_keras_definition(x_shape, y_shape, axes, expected_shape):
    x, y = randn(*x_shape), randn(*y_shape)
    out = ops.batch_dot(torch.from_numpy(x), torch.from_numpy(y), axes=axes)
    assert tuple(out.shape) == expected_shape
    close(out, batch_dot_reference(x.astype(np.float64), y.astype(np.float64), axes), rtol=1e-4)


def test_batch_dot_rejects_bad_axes_and_shapes():
    with pytest.raises(ArgumentError, match="batch axis"):
        ops.batch_dot(torch.ones(2, 3), torch.ones(2, 3), axes=0)
    with pytest.raises(ShapeError, match="at least 2 axes"):
        ops.batch_dot(torch.ones(3), torch.ones(3))
    with pytest.raises(ShapeError, match=r"\(8, 6, 3, 2\) with axes \(2, 2\)"):
        ops.batch_dot(torch.ones(8, 5, 6), torch.ones(8, 6, 3, 2))
    with pytest.raises(ShapeError, match="equal batch sizes"):
        ops.batch_dot(torch.ones(2, 6), torch.ones(4, 3))


def test_matmul_tensordot_einsum():
    x, y = randn(2, 1, 3, 4), randn(5, 4, 2)
    close(ops.matmul(torch.from_numpy(x), torch.from_numpy(y)), np.matmul(x, y), rtol=1e-4)
    a, b = randn(2, 3, 4), randn(4, 3, 5)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    axes = ((1, 2), (1, 0))
    close(ops.tensordot(ta, tb, axes), np.tensordot(a, b, axes), rtol=1e-4)
    close(ops.einsum("ijk,kjl->il", ta, tb), np.einsum("ijk,kjl->il", a, b), rtol=1e-4)


def test_shape_manipulation_matches_numpy():
    x = randn(2, 3, 4)
    t = torch.from_numpy(x)
    close(ops.reshape(t, (4, -1)), x.reshape(4, -1))
    close(ops.transpose(t), x.T)
    close(ops.transpose(t, (1, 0, 2)), x.transpose(1, 0, 2))
    close(ops.permute_dimensions(t, (2, 0, 1)), x.transpose(2, 0, 1))
    close(ops.expand_dims(t, -1), x[..., None])
    close(ops.expand_dims(t, (3, 1)), np.expand_dims(x, (3, 1)))
    close(ops.expand_dims(t, (0, -1)), np.expand_dims(x, (0, -1)))
    close(ops.squeeze(torch.ones(1, 3, 1)), np.ones(3))
    close(ops.squeeze(torch.ones(1, 3, 1), -1), np.ones((1, 3)))
    close(ops.squeeze(torch.ones(1, 3, 1), (0, 2)), np.ones(3))
    close(ops.concatenate([t, t[:, :1]], axis=1), np.concatenate([x, x[:, :1]], axis=1))
    close(ops.concatenate([t, t]), np.concatenate([x, x], axis=0))  # keras.ops's default
    close(K.concatenate([t, t]), np.concatenate([x, x], axis=-1))  # Keras 2's K default
    close(ops.stack([t, t], axis=1), np.stack([x, x], axis=1))
    close(ops.repeat_elements(t, 2, axis=1), np.repeat(x, 2, axis=1))
    close(ops.tile(t, 2), np.tile(x, 2))
    close(ops.tile(t, (2, 1, 3)), np.tile(x, (2, 1, 3)))
    for got, want in zip(ops.split(t, 2), np.split(x, 2), strict=True):
        close(got, want)
    for got, want in zip(ops.split(t, [1, 3], 2), np.split(x, [1, 3], 2), strict=True):
        close(got, want)
    close(ops.getitem(t, (slice(None), 1, ...)), x[:, 1, ...])
    for got, want in zip(ops.unstack(t, axis=1), np.moveaxis(x, 1, 0), strict=True):
        close(got, want)


def test_shape_manipulation_errors_quote_the_shape():
    with pytest.raises(ShapeError, match=r"\(1, 3\)"):
        ops.squeeze(torch.ones(1, 3), 1)
    with pytest.raises(ShapeError, match="equal sections"):
        ops.split(torch.ones(5), 2)
    with pytest.raises(ShapeError, match="num=3"):
        ops.unstack(torch.ones(2, 4), num=3)


def test_repeat_is_keras_repeat_and_independent_of_input():
    x = randn(2, 3)
    out = ops.repeat(torch.from_numpy(x), 4)
    close(out, np.stack([x] * 4, axis=1))
    out += 1  # a copy, not an expanded view that would refuse in-place writes
    close(torch.from_numpy(x), x)


def test_gather_indexes_axis_zero():
    reference = randn(5, 3)
    indices = np.array([[4, 0], [2, 2]])
    close(ops.gather(torch.from_numpy(reference), torch.from_numpy(indices)), reference[indices])
    close(ops.gather(torch.from_numpy(reference), [1, 3]), reference[[1, 3]])
    int32_indices = torch.tensor([3], dtype=torch.int32)
    close(ops.gather(torch.from_numpy(reference), int32_indices), reference[[3]])


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "wrap"])
def test_pad_matches_numpy(mode):
    x = randn(2, 3, 4)
    width = ((0, 0), (1, 2), (2, 1))
    close(ops.pad(torch.from_numpy(x), width, mode=mode), np.pad(x, width, mode=mode))
    if mode == "constant":
        close(ops.pad(torch.from_numpy(x), 1, constant_values=5.0), np.pad(x, 1, constant_values=5))


@pytest.mark.parametrize("training, phase, expected", [
    (True, False, "x"), (False, True, "alt"), (1, False, "x"), (0, True, "alt"),
    (None, False, "alt"), (None, True, "x"),
])  # fmt: skip
def test_in_train_phase(training, phase, expected, learning_phase_restored):
    ops.set_learning_phase(phase)
    values = {"x": torch.tensor([1.0]), "alt": torch.tensor([2.0])}
    assert ops.in_train_phase(values["x"], lambda: values["alt"], training) is values[expected]
    mirrored = "alt" if expected == "x" else "x"
    assert ops.in_test_phase(lambda: values["x"], values["alt"], training) is values[mirrored]


def test_in_train_phase_with_a_tensor_flag_selects_elementwise(learning_phase_restored):
    x, alt = torch.tensor([1.0, 2.0]), torch.tensor([5.0, 6.0])
    assert ops.in_train_phase(x, alt, torch.tensor(True)).tolist() == [1.0, 2.0]
    assert ops.in_train_phase(lambda: x, alt, torch.tensor(0)).tolist() == [5.0, 6.0]
    assert ops.learning_phase() is False
    with pytest.raises(ArgumentError, match="2"):
        ops.set_learning_phase(2)


def test_where_and_switch():
    cond, x, y = randn(3, 4) > 0, randn(3, 4), randn(4)
    tcond, tx, ty = torch.from_numpy(cond), torch.from_numpy(x), torch.from_numpy(y)
    close(ops.where(tcond, tx, ty), np.where(cond, x, y))
    close(ops.where(cond.astype(np.int64), x, 0.0), np.where(cond, x, 0.0))
    for got, want in zip(ops.where(tcond), np.nonzero(cond), strict=True):
        assert_array_equal(got.numpy(), want)
    with pytest.raises(ArgumentError, match="both x and y"):
        ops.where(tcond, tx)
    rows = np.array([True, False, True])  # a (batch,) condition picks whole rows in Keras
    switched = ops.switch(torch.from_numpy(rows), tx, lambda: torch.zeros(3, 4))
    close(switched, np.where(rows[:, None], x, 0.0))
    assert ops.switch(True, lambda: 1, 2) == 1
    assert ops.switch(torch.tensor(False), torch.ones(2), torch.zeros(2)).tolist() == [0, 0]


def test_dtypes_shapes_and_constants():
    assert ops.cast(torch.tensor([1.7, -1.2]), "int32").dtype == torch.int32
    assert ops.cast(torch.tensor([0.0, 2.0]), "bool").tolist() == [False, True]
    assert ops.cast(np.ones(2), np.float16).dtype == torch.float16
    assert ops.cast(torch.ones(2), torch.float64).dtype == torch.float64
    with pytest.raises(ArgumentError, match="float33"):
        ops.cast(torch.ones(2), "float33")
    assert ops.shape(torch.zeros(2, 3)) == (2, 3) and type(ops.shape(torch.zeros(2))) is tuple
    assert ops.int_shape(np.zeros((4, 1))) == (4, 1) and ops.ndim([[1, 2]]) == 2
    symbolic_like = types.SimpleNamespace(shape=(None, 3))
    assert ops.int_shape(symbolic_like) == (None, 3) and ops.ndim(symbolic_like) == 2
    assert ops.ones_like(torch.zeros(2, dtype=torch.int32)).dtype == torch.int32
    assert ops.zeros_like(torch.ones(2), dtype="int64").tolist() == [0, 0]
    assert ops.ones((2,)).tolist() == [1.0, 1.0] and ops.zeros((1, 2)).dtype == torch.float32
    assert ops.arange(4).tolist() == [0, 1, 2, 3] and ops.arange(1, 2, 0.5).tolist() == [1, 1.5]
    close(ops.linspace(0, 1, 4, endpoint=False), np.linspace(0, 1, 4, endpoint=False))
    assert ops.floatx() == "float32" and ops.epsilon() == 1e-7
    ops.set_epsilon(1e-5)
    try:
        assert ops.epsilon() == 1e-5
    finally:
        ops.set_epsilon(1e-7)


def test_random_ops_are_seeded_and_have_the_asked_distribution():
    a = ops.random_normal((2000,), mean=3.0, stddev=0.5, seed=7)
    assert torch.equal(a, ops.random_normal((2000,), mean=3.0, stddev=0.5, seed=7))
    assert abs(a.mean().item() - 3.0) < 0.05 and abs(a.std().item() - 0.5) < 0.05
    u = ops.random_uniform((2000,), minval=-2.0, maxval=-1.0)
    assert u.min().item() >= -2.0 and u.max().item() < -1.0 and u.dtype == torch.float32


GRADIENT_CASES = [
    (lambda x: ops.l2_normalize(x, axis=1), (3, 4)),
    (lambda x: ops.l2_normalize(x), (2, 3)),
    (lambda x: ops.softmax(x, axis=-1), (3, 4)),
    (lambda x: ops.softmax(x, axis=(0, 1)), (2, 3)),
    (lambda x: ops.batch_dot(x, x, axes=(1, 1)), (3, 4)),
    (lambda x: ops.batch_dot(x, x.transpose(1, 2)), (2, 3, 4)),
    (lambda x: ops.batch_dot(x, x, axes=(2, 1)), (2, 3, 3)),
    (lambda x: ops.std(x, axis=0), (3, 4)),
    (lambda x: ops.relu(x, alpha=0.2, max_value=1.0, threshold=0.3), (10,)),
]


@pytest.mark.parametrize("fn, shape", GRADIENT_CASES)
def test_gradients_match_finite_differences(fn, shape):
    x = torch.from_numpy(randn(*shape).astype(np.float64)).requires_grad_()
    assert torch.autograd.gradcheck(fn, (x,))


def test_batch_dot_gradient_matches_plain_torch():
    x, y = (torch.from_numpy(randn(2, 3, 5)).requires_grad_() for _ in range(2))
    ops.batch_dot(x, y, axes=(2, 2)).square().sum().backward()
    got = (x.grad.clone(), y.grad.clone())
    x.grad = y.grad = None
    torch.einsum("bik,bjk->bij", x, y).square().sum().backward()
    for a, b in zip(got, (x.grad, y.grad), strict=True):
        close(a, b.numpy())


def test_backend_exposes_the_same_functions():
    assert set(K.__all__) == set(ops.__all__)
    for name in ops.__all__:
        op = getattr(ops, name)
        if name == "concatenate":  # Keras 2's K.concatenate keeps its last-axis default
            assert K.concatenate is not op and K.concatenate.__doc__
            continue
        assert getattr(K, name) is op
        assert op.__lamina_op__ == name and op.__doc__


def test_ops_route_symbolic_arguments_into_graph_nodes(monkeypatch):
    class Symbolic:
        shape = (None, 3)

    calls = []
    monkeypatch.setattr(dispatch, "_SYMBOLIC_TYPES", (Symbolic,))
    monkeypatch.setattr(dispatch, "_make_op_node", lambda op, a, kw: calls.append(op) or "node")
    assert ops.concatenate([Symbolic(), torch.ones(1, 3)], axis=0) == "node"
    assert ops.add(torch.ones(1), Symbolic()) == "node"
    assert calls == [ops.concatenate, ops.add]
    assert ops.int_shape(Symbolic()) == (None, 3)  # answered from the static shape
    assert ops.mean(torch.ones(2)).item() == 1.0
