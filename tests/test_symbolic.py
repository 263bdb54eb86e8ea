"""Symbolic tensors: operators and ops become Lambda nodes; shapes inferred without data."""

from __future__ import annotations

import pytest
import torch
from torch._subclasses.fake_tensor import FakeTensor

import lamina
from lamina import layers, ops
from lamina.errors import InferenceError, ShapeError


@pytest.mark.parametrize(
    ("build", "reference"),
    [
        (lambda x: x + 2.0, lambda v: v + 2.0),
        (lambda x: 2.0 - x, lambda v: 2.0 - v),
        (lambda x: x * x, lambda v: v * v),
        (lambda x: x / 4.0, lambda v: v / 4.0),
        (lambda x: 1.0 / (x + 10.0), lambda v: 1.0 / (v + 10.0)),
        (lambda x: x ** 3, lambda v: v ** 3),
        (lambda x: -x, lambda v: -v),
        (lambda x: x[:, :2] @ torch.full((2, 2), 0.5),
         lambda v: v[:, :2] @ torch.full((2, 2), 0.5)),
        (lambda x: x[:, 1], lambda v: v[:, 1]),
        (lambda x: x[:, ::2], lambda v: v[:, ::2]),
        (lambda x: ops.mean(x, axis=1, keepdims=True), lambda v: v.mean(1, keepdim=True)),
        (lambda x: ops.concatenate([x, x * 2], axis=-1), lambda v: torch.cat([v, v * 2], -1)),
    ],
)
def test_operators_and_ops_on_symbolic_tensors_become_lambda_nodes(build, reference) -> None:
    x = lamina.Input(shape=(4,))
    y = build(x)
    assert isinstance(y, lamina.models.SymbolicTensor)
    assert isinstance(y.node.layer, layers.Lambda)
    model = lamina.Model(x, y)
    data = torch.randn(3, 4)
    expected = reference(data)
    torch.testing.assert_close(model(data), expected)
    assert y.shape == (None, *expected.shape[1:])


def test_matmul_operator_with_two_symbolic_inputs() -> None:
    a, b = lamina.Input(shape=(2, 3)), lamina.Input(shape=(3, 5))
    product = a @ b
    assert product.shape == (None, 2, 5)
    model = lamina.Model([a, b], product)
    va, vb = torch.randn(4, 2, 3), torch.randn(4, 3, 5)
    torch.testing.assert_close(model([va, vb]), va @ vb)


def test_unknown_axes_are_found_with_two_sentinel_sizes() -> None:
    x = lamina.Input(shape=(None, 6))
    y = layers.Lambda(lambda t: t.reshape(t.shape[0], -1, 2))(x)
    assert y.shape == (None, None, 2)
    z = layers.Lambda(lambda t: t.sum(1))(x)
    assert z.shape == (None, 6)
    fixed = lamina.Input(shape=(3,), batch_size=8)
    assert layers.Lambda(lambda t: t.T)(fixed).shape == (3, 8)


def test_shape_inference_never_sees_real_data() -> None:
    seen: list[type] = []

    def spy(t):
        seen.append(type(t))
        return t * 2

    layers.Lambda(spy)(lamina.Input(shape=(3,)))
    assert seen and all(issubclass(kind, FakeTensor) for kind in seen)


def test_numpy_inside_function_falls_back_to_small_real_tensors() -> None:
    import numpy as np

    with pytest.warns(UserWarning, match="module 'np' .numpy.*cannot be saved"):
        layer = layers.Lambda(lambda t: torch.as_tensor(np.tanh(t.numpy())))
    y = layer(lamina.Input(shape=(5,)))
    assert y.shape == (None, 5)


def test_inference_failure_names_layer_shapes_and_source() -> None:
    with pytest.raises(InferenceError) as info:
        layers.Lambda(lambda t: t.reshape(-1, 7), name="bad_reshape")(lamina.Input(shape=(3,)))
    message = str(info.value)
    assert "bad_reshape" in message and "(None, 3)" in message
    assert "t.reshape(-1, 7)" in message
    assert info.value.__cause__ is not None


def test_dtype_is_inferred() -> None:
    tokens = lamina.Input(shape=(4,), dtype="int64")
    assert tokens.dtype == torch.int64
    assert ops.cast(tokens, "float32").dtype == torch.float32
    assert layers.Lambda(lambda t: t > 2)(tokens).dtype == torch.bool


def test_symbolic_tensor_guards_against_python_control_flow() -> None:
    x = lamina.Input(shape=(2,))
    with pytest.raises(TypeError, match="bool"):
        bool(x)
    with pytest.raises(TypeError, match="iterated"):
        list(x)


def test_layer_compute_output_shape_by_inference_and_declared() -> None:
    assert layers.Lambda(lambda t: t[:, :2] * 3).compute_output_shape((None, 5)) == (None, 2)
    assert layers.Dense(7).compute_output_shape((None, 3, 5)) == (None, 3, 7)


def test_declared_output_shape_is_checked_in_graph() -> None:
    ok = layers.Lambda(lambda t: t[:, :2], output_shape=(2,))(lamina.Input(shape=(5,)))
    assert ok.shape == (None, 2)
    with pytest.raises(ShapeError, match="declares output_shape"):
        layers.Lambda(lambda t: t[:, :2], output_shape=(3,))(lamina.Input(shape=(5,)))


#: Ops whose result has no defined values (only its shape is compared).
_UNINITIALISED = ("empty", "empty_like")


def _unary_ops() -> list[str]:
    """The ops that take one tensor and nothing else and return tensors."""
    from lamina.utils import tree

    names = []
    for name in ops.__all__:
        op = getattr(ops, name)
        if not hasattr(op, "__lamina_op__") or name in ("shape", "int_shape", "ndim"):
            continue
        try:
            result = op(torch.rand(2, 3) + 0.5)
        except (TypeError, ValueError, RuntimeError):
            continue
        if all(isinstance(leaf, torch.Tensor) for leaf in tree.flatten(result)):
            names.append(name)
    return names


def test_ops_that_do_not_return_tensors_answer_or_refuse_symbolic_tensors() -> None:
    x = lamina.Input(shape=(3,))
    assert ops.dtype(x) == "float32"
    assert ops.is_tensor(x) is False  # as in Keras: a symbolic tensor holds no value
    with pytest.raises(TypeError, match="no value to convert to numpy"):
        ops.convert_to_numpy(x)


@pytest.mark.parametrize("name", _unary_ops())
def test_every_unary_op_on_a_symbolic_tensor_is_a_lambda_node(name: str) -> None:
    from lamina.utils import tree

    op = getattr(ops, name)
    x = lamina.Input(shape=(3,))
    if name == "unstack":  # one output per batch item: not defined for an unknown batch
        with pytest.raises(ShapeError, match="number of outputs"):
            op(x)
        x = lamina.Input(shape=(3,), batch_size=4)
    outputs = tree.flatten(op(x))
    assert all(isinstance(y.node.layer, layers.Lambda) for y in outputs), name
    # A batch of 4, at least the other axis: inference samples unknown axes at sizes 5 and 7,
    # so an axis of min(batch, 3) (diag, qr, svd over the batch axis) is inferred as 3.
    data = torch.rand(4, 3) + 0.5
    torch.manual_seed(0)
    expected = tree.flatten(op(data))
    torch.manual_seed(0)
    got = tree.flatten(lamina.Model(x, outputs)(data))
    assert len(got) == len(expected), name
    for y, value, reference in zip(outputs, got, expected):
        if name in _UNINITIALISED:
            assert value.shape == reference.shape, name
        else:  # arccos, erfinv, ... are NaN outside their domain, in both
            torch.testing.assert_close(value, reference, equal_nan=True)
        assert len(y.shape) == reference.dim(), name
        assert all(d is None or d == e for d, e in zip(y.shape, reference.shape)), name
