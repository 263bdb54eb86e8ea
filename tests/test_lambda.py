"""Lambda: every documented behaviour, and the Keras failures lamina fixes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina import backend as K
from lamina import layers, ops
from lamina.errors import ShapeError

GLOBAL_SCALE = lamina.Variable(0.5)
GLOBAL_OFFSET = torch.tensor([1.0, 2.0, 3.0])


# ---------------------------------------------------------------------- 1. where it works
def test_lambda_in_sequential_functional_eager_and_numpy() -> None:
    double = layers.Lambda(lambda x: x * 2)
    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(double(data).numpy(), data * 2)
    torch.testing.assert_close(double(torch.ones(2, 3)), torch.full((2, 3), 2.0))
    model = lamina.Sequential([layers.Identity(input_shape=(3,))])
    model.add(layers.Lambda(lambda x: x + 1))
    np.testing.assert_array_equal(model(data).numpy(), data + 1)
    x = lamina.Input(shape=(3,))
    functional = lamina.Model(x, layers.Lambda(lambda t: t - 1)(x))
    np.testing.assert_array_equal(functional(data).numpy(), data - 1)


# ---------------------------------------------------------------------- 2. structures
def test_several_inputs_arrive_as_a_list() -> None:
    a, b = lamina.Input(shape=(3,)), lamina.Input(shape=(3,))
    out = layers.Lambda(lambda inputs: inputs[0] * inputs[1])([a, b])
    model = lamina.Model([a, b], out)
    va, vb = torch.randn(2, 3), torch.randn(2, 3)
    torch.testing.assert_close(model([va, vb]), va * vb)


def test_nested_inputs_and_outputs_infer_shapes_along_the_structure() -> None:
    a = lamina.Input(shape=(2,))
    b = lamina.Input(shape=(5,))
    layer = layers.Lambda(lambda inputs: (inputs[1]["a"], {"b": inputs[0] * 2}))
    first, second = layer([a, {"a": b}])
    assert first.shape == (None, 5) and second["b"].shape == (None, 2)
    model = lamina.Model([a, b], [first, second["b"]])
    va, vb = torch.randn(3, 2), torch.randn(3, 5)
    got_first, got_second = model([va, vb])
    torch.testing.assert_close(got_first, vb)
    torch.testing.assert_close(got_second, va * 2)
    eager = layer([va, {"a": vb}])
    torch.testing.assert_close(eager[1]["b"], va * 2)


def test_function_returning_a_list_gives_several_outputs() -> None:
    x = lamina.Input(shape=(4,))
    halves = layers.Lambda(lambda t: [t[:, :1], t[:, 1:]])(x)
    assert [h.shape for h in halves] == [(None, 1), (None, 3)]


# ---------------------------------------------------------------------- 3. output_shape
def test_output_shape_tuple_list_and_callable() -> None:
    x = lamina.Input(shape=(6,))
    assert layers.Lambda(lambda t: t.reshape(-1, 2, 3), output_shape=(2, 3))(x).shape == (
        None, 2, 3)
    seq = lamina.Input(shape=(None, 4))
    assert layers.Lambda(lambda t: t * 2, output_shape=(None, 4))(seq).shape == (None, None, 4)
    pair = layers.Lambda(lambda t: [t, t[:, :2]], output_shape=[(6,), (2,)])(x)
    assert [p.shape for p in pair] == [(None, 6), (None, 2)]
    seen = []

    def shape_fn(input_shape):
        seen.append(input_shape)
        return (input_shape[0][0], input_shape[0][1] + input_shape[1][1])

    y = lamina.Input(shape=(2,))
    joined = layers.Lambda(lambda t: ops.concatenate(t, axis=1), output_shape=shape_fn)([x, y])
    assert joined.shape == (None, 8)
    assert seen[0] == [(None, 6), (None, 2)]


def test_declared_output_shape_is_checked_at_inference_and_first_eager_call() -> None:
    with pytest.raises(ShapeError, match=r"declares output_shape.*\(None, 3\)"):
        layers.Lambda(lambda t: t[:, :2], output_shape=(3,), name="liar")(lamina.Input((5,)))
    eager = layers.Lambda(lambda t: t[:, :2], output_shape=(3,), name="eager_liar")
    with pytest.raises(ShapeError, match=r"eager_liar.*\(2, 2\)"):
        eager(torch.randn(2, 5))
    honest = layers.Lambda(lambda t: t[:, :2], output_shape=(2,))
    torch.testing.assert_close(honest(torch.ones(2, 5)), torch.ones(2, 2))
    assert honest._direct  # checked once, then the fast path


# ---------------------------------------------------------------------- 4. masks
def _mask_of(model: lamina.Model, data: torch.Tensor) -> torch.Tensor | None:
    return getattr(model(data), "_keras_mask", None)


def test_mask_none_same_callable_and_tensor() -> None:
    x = lamina.Input(shape=(3, 2))
    masked = layers.Masking(mask_value=0.0)(x)
    data = torch.randn(2, 3, 2)
    data[0, 1] = 0.0
    expected = torch.tensor([[True, False, True], [True, True, True]])
    none = lamina.Model(x, layers.Lambda(lambda t: t * 2)(masked))
    assert _mask_of(none, data) is None
    same = lamina.Model(x, layers.Lambda(lambda t: t * 2, mask="same")(masked))
    torch.testing.assert_close(_mask_of(same, data), expected)
    from_callable = lamina.Model(x, layers.Lambda(lambda t: t, mask=lambda t, m: ~m)(masked))
    torch.testing.assert_close(_mask_of(from_callable, data), ~expected)
    fixed = torch.tensor([True, False, False])
    from_tensor = lamina.Model(x, layers.Lambda(lambda t: t, mask=fixed)(masked))
    torch.testing.assert_close(_mask_of(from_tensor, data), fixed)


def test_masking_then_lambda_with_identity_mask_keeps_mask_and_values() -> None:
    x = lamina.Input(shape=(4, 3))
    masked = layers.Masking(mask_value=0.0)(x)
    out = layers.Lambda(lambda t: t + 1.0, mask=lambda inputs, m: m)(masked)
    model = lamina.Model(x, out)
    data = torch.randn(2, 4, 3)
    data[1, 2:] = 0.0
    result = model(data)
    keep = (data != 0).any(-1, keepdim=True)
    torch.testing.assert_close(result, data * keep + 1.0)
    torch.testing.assert_close(result._keras_mask, keep.squeeze(-1))


def test_callable_and_tensor_masks_survive_config_round_trip() -> None:
    for mask in (lambda inputs, m: ops.logical_not(m), torch.tensor([False, True, True])):
        x = lamina.Input(shape=(3, 2))
        out = layers.Lambda(lambda t: t * 3.0, mask=mask)(layers.Masking()(x))
        model = lamina.Model(x, out)
        clone = lamina.Model.from_config(model.get_config())
        data = torch.randn(2, 3, 2)
        data[0, 0] = 0.0
        torch.testing.assert_close(clone(data)._keras_mask, model(data)._keras_mask)
        torch.testing.assert_close(clone(data), model(data))


# ---------------------------------------------------------------------- 5. arguments
def test_arguments_are_passed_and_tensors_in_them_are_tracked() -> None:
    weight = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    layer = layers.Lambda(lambda x, w, power: (x * w) ** power,
                          arguments={"w": weight, "power": 2})
    assert layer.trainable_weights == [weight]
    out = layer(torch.tensor([[3.0, 4.0]]))
    torch.testing.assert_close(out, torch.tensor([[9.0, 64.0]]))
    out.sum().backward()
    torch.testing.assert_close(weight.grad, torch.tensor([2 * 9.0 * 1.0, 2 * 16.0 * 2.0]))
    clone = layers.Lambda.from_config(layer.get_config())
    clone.set_weights(layer.get_weights())
    torch.testing.assert_close(clone(torch.tensor([[3.0, 4.0]])), out.detach())


# ---------------------------------------------------------------------- 6. mask / training
def test_function_receives_mask_and_training_flag() -> None:
    seen = {}

    def spy(x, mask=None, training=None):
        seen["mask"], seen["training"] = mask, training
        return K.in_train_phase(x * 10.0, x, training=training)

    layer = layers.Lambda(spy)
    mask = torch.tensor([[True, False]])
    x = torch.ones(1, 2, 3)
    torch.testing.assert_close(layer(x, mask=mask), x)
    assert seen["mask"] is mask and seen["training"] is False
    torch.testing.assert_close(layer(x, training=True), x * 10.0)
    assert seen["training"] is True
    model = lamina.Sequential([layers.Identity(input_shape=(2, 3)), layer])
    torch.testing.assert_close(model(x), x)
    model.train()
    torch.testing.assert_close(model(x), x * 10.0)


# ---------------------------------------------------------------------- 7. captured state
def test_captured_variable_in_module_globals_is_tracked_and_trained() -> None:
    layer = layers.Lambda(lambda x: x * GLOBAL_SCALE + GLOBAL_OFFSET)
    assert layer.trainable_weights == [GLOBAL_SCALE]
    assert any(w is GLOBAL_OFFSET for w in layer.non_trainable_weights)
    model = lamina.Sequential([layers.Identity(input_shape=(3,)), layer])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
    x = torch.randn(64, 3)
    target = 2.0 * x + GLOBAL_OFFSET
    with torch.no_grad():
        GLOBAL_SCALE.fill_(0.5)
    for _ in range(150):
        loss = ((model(x) - target) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert GLOBAL_SCALE.item() == pytest.approx(2.0, abs=1e-3)
    torch.testing.assert_close(GLOBAL_OFFSET, torch.tensor([1.0, 2.0, 3.0]))


def test_captured_layers_become_sublayers_even_when_built_inside_the_function() -> None:
    dense = layers.Dense(2)
    linear = torch.nn.Linear(2, 2)
    layer = layers.Lambda(lambda x: linear(dense(x)))
    x = lamina.Input(shape=(3,))
    y = layer(x)
    assert y.shape == (None, 2)
    assert dense.built and not any(
        type(w).__name__ == "FakeTensor" for w in dense.weights)
    ids = {id(w) for w in layer.trainable_weights}
    assert {id(dense.kernel), id(dense.bias), id(linear.weight), id(linear.bias)} <= ids
    data = torch.randn(4, 3)
    expected = linear(torch.nn.functional.linear(data, dense.kernel.T, dense.bias))
    torch.testing.assert_close(lamina.Model(x, y)(data), expected)


def test_track_captured_false_opts_out_and_untrackable_values_warn_once() -> None:
    scale = lamina.Variable(3.0)
    assert layers.Lambda(lambda x: x * scale, track_captured=False).weights == []
    table = np.ones(3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layers.Lambda(lambda x: x * float(table.sum()))
    assert len(caught) == 1 and "'table'" in str(caught[0].message)


# ---------------------------------------------------------------------- 8. rebinding
def antirectifier(x):
    x -= K.mean(x, axis=1, keepdims=True)
    x = K.l2_normalize(x, axis=1)
    pos = K.relu(x)
    neg = K.relu(-x)
    return K.concatenate([pos, neg], axis=1)


def test_mutating_function_leaves_numpy_input_untouched_and_others_pay_no_copy() -> None:
    data = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    before = data.copy()
    layers.Lambda(antirectifier)(data)
    np.testing.assert_array_equal(data, before)
    x = torch.randn(2, 2)
    assert layers.Lambda(lambda t: t)(x) is x
    assert not layers.Lambda(lambda t: t * 2)._copies_inputs


def test_mutating_captured_state_is_an_error_naming_the_layer() -> None:
    counter = torch.zeros(1)
    with pytest.raises(ValueError, match="stateful_lambda.*counter"):
        layers.Lambda(lambda x: x + counter.add_(1), name="stateful_lambda")


# ---------------------------------------------------------------------- 9. repr / summary
def test_repr_shows_the_right_source_when_lambdas_share_a_line() -> None:
    first, second = layers.Lambda(lambda x: x + 1), layers.Lambda(lambda x: x * 3)
    assert "lambda x: x * 3" in repr(second) and "lambda x: x + 1" in repr(first)
    assert "antirectifier(x)" in repr(layers.Lambda(antirectifier))
    model = lamina.Sequential([layers.Identity(input_shape=(2,)), first, second])
    text = []
    model.summary(print_fn=text.append)
    assert "lambda x: x + 1" in text[0] and "lambda x: x * 3" in text[0]


# ---------------------------------------------------------------------- errors
def test_wrong_number_of_inputs_names_the_layer() -> None:
    layer = layers.Lambda(lambda t: t[0] @ t[1], name="pair_product")
    layer([torch.ones(2, 3), torch.ones(3, 2)])
    with pytest.raises(ShapeError, match="pair_product.*2 inputs.*1"):
        layer([torch.ones(2, 3)])


def test_converting_the_model_converts_captured_tensors_the_function_reads() -> None:
    offset = torch.tensor([1.0, 2.0])
    layer = layers.Lambda(lambda x: x + offset)
    model = lamina.Sequential([layers.Identity(input_shape=(2,)), layer]).double()
    x = torch.ones(3, 2, dtype=torch.float64)
    out = model(x)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, x + torch.tensor([1.0, 2.0], dtype=torch.float64))
    assert layer.offset.dtype == torch.float64
