"""Sequential, Functional and subclassed models: structure, values, config, errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

import lamina
from lamina import layers, ops
from lamina.errors import ShapeError


def _linear(layer: layers.Dense, x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.linear(x, layer.kernel.T, layer.bias)


# ---------------------------------------------------------------------- Sequential
def test_sequential_add_pop_index_slice_len() -> None:
    first, second, third = layers.Dense(4, input_shape=(3,)), layers.Dense(5), layers.Dense(2)
    model = lamina.Sequential([first, second])
    model.add(third)
    assert len(model) == 3 and model[0] is first and model[-1] is third
    assert model.output_shape == (None, 2)
    x = torch.randn(6, 3)
    expected = _linear(third, _linear(second, _linear(first, x)))
    torch.testing.assert_close(model(x), expected)
    head = model[:2]
    assert isinstance(head, lamina.Sequential) and len(head) == 2
    torch.testing.assert_close(head(x), _linear(second, _linear(first, x)))
    tail = model[1:]
    assert tail.input_shape == (None, 4)
    torch.testing.assert_close(tail(_linear(first, x)), expected)
    assert model.pop() is third
    assert len(model) == 2 and model.output_shape == (None, 5)
    torch.testing.assert_close(model(x), _linear(second, _linear(first, x)))


def test_sequential_with_leading_input_and_deferred_build() -> None:
    model = lamina.Sequential([lamina.Input(shape=(3,)), layers.Dense(2)])
    assert model.output_shape == (None, 2)
    deferred = lamina.Sequential([layers.Dense(2), layers.Lambda(lambda x: x + 1)])
    assert not deferred.built
    x = torch.randn(4, 7)
    out = deferred(x)
    assert deferred.built and deferred.input_shape == (None, 7)
    torch.testing.assert_close(out, _linear(deferred[0], x) + 1)


def test_sequential_add_that_does_not_fit_leaves_model_unchanged() -> None:
    model = lamina.Sequential([layers.Dense(4, input_shape=(3,))])
    bad = layers.Lambda(lambda x: x.reshape(-1, 3, 5))
    with pytest.raises(ValueError, match="shape"):
        model.add(bad)
    assert len(model) == 1 and model.output_shape == (None, 4)
    assert bad.name not in dict(model.named_children())
    with pytest.raises(TypeError, match="lamina layer"):
        model.add(lambda x: x)


def test_sequential_rejects_duplicate_names() -> None:
    model = lamina.Sequential([layers.Dense(2, input_shape=(3,), name="same")])
    with pytest.raises(ValueError, match="same"):
        model.add(layers.Dense(2, name="same"))
    assert len(model) == 1


def test_sequential_config_round_trip_gives_same_architecture_and_values() -> None:
    model = lamina.Sequential([
        layers.Dense(4, activation="relu", input_shape=(3,)),
        layers.Dropout(0.2),
        layers.Dense(2, use_bias=False),
    ])
    config = model.get_config()
    clone = lamina.Sequential.from_config(config)
    assert clone.get_config() == config
    clone.set_weights(model.get_weights())
    x = torch.randn(5, 3)
    torch.testing.assert_close(clone(x), model(x))


def test_wrong_input_shape_is_a_shape_error_naming_the_layer_and_shapes() -> None:
    model = lamina.Sequential([layers.Dense(4, input_shape=(3,), name="first_dense")])
    with pytest.raises(ShapeError, match=r"first_dense.*\(None, 3\).*\(None, 5\)"):
        model(torch.randn(2, 5))
    x = torch.randn(2, 3, dtype=torch.float64)  # cast to the Input's dtype, as in Keras
    torch.testing.assert_close(model(x), model(x.float()))


# ---------------------------------------------------------------------- Functional
def test_functional_multi_input_multi_output_lists_and_dicts() -> None:
    a = lamina.Input(shape=(3,), name="a")
    b = lamina.Input(shape=(2,), name="b")
    dense_a, dense_b = layers.Dense(4), layers.Dense(4)
    joined = dense_a(a) + dense_b(b)
    product = ops.multiply(joined, 3.0)
    model = lamina.Model({"a": a, "b": b}, {"sum": joined, "scaled": product})
    xa, xb = torch.randn(5, 3), torch.randn(5, 2)
    out = model({"a": xa, "b": xb})
    expected = _linear(dense_a, xa) + _linear(dense_b, xb)
    torch.testing.assert_close(out["sum"], expected)
    torch.testing.assert_close(out["scaled"], expected * 3.0)
    as_list = lamina.Model([a, b], [product, joined])
    first, second = as_list([xa, xb])
    torch.testing.assert_close(first, expected * 3.0)
    torch.testing.assert_close(as_list({"a": xa, "b": xb})[1], expected)
    with pytest.raises(ShapeError, match="expects 2 inputs"):
        as_list([xa])


def test_shared_layer_applied_twice_shares_weights_and_gradients() -> None:
    x1, x2 = lamina.Input(shape=(3,)), lamina.Input(shape=(3,))
    shared = layers.Dense(2)
    model = lamina.Model([x1, x2], shared(x1) - shared(x2))
    assert sum(1 for layer in model.layers if layer is shared) == 1
    assert len(model.trainable_weights) == 2
    v1, v2 = torch.randn(4, 3), torch.randn(4, 3)
    model([v1, v2]).sum().backward()
    # d/dkernel of sum(v1 @ K - v2 @ K) = (v1 - v2).sum(0) broadcast over units.
    expected = (v1 - v2).sum(0, keepdim=True).T.expand(3, 2)
    torch.testing.assert_close(shared.kernel.grad, expected)
    assert torch.count_nonzero(shared.bias.grad) == 0


def test_nested_models_used_as_layers() -> None:
    inner_in = lamina.Input(shape=(3,))
    inner_dense = layers.Dense(4)
    inner = lamina.Model(inner_in, inner_dense(inner_in) * 2.0, name="inner")
    outer_in = lamina.Input(shape=(3,))
    outer_dense = layers.Dense(1)
    outer = lamina.Model(outer_in, outer_dense(inner(outer_in)))
    seq = lamina.Sequential([layers.Identity(input_shape=(3,)), inner, layers.Dense(2)])
    x = torch.randn(5, 3)
    torch.testing.assert_close(outer(x), _linear(outer_dense, _linear(inner_dense, x) * 2.0))
    assert seq.output_shape == (None, 2)
    assert outer.count_params() == 3 * 4 + 4 + 4 + 1


def test_functional_config_round_trip_with_ops_and_shared_layers() -> None:
    x = lamina.Input(shape=(4,), name="features")
    shared = layers.Dense(4, name="shared")
    h = shared(shared(x))
    h = ops.mean(h, axis=1, keepdims=True) * 2.0 + x[:, :1]
    model = lamina.Model(x, [h, -h], name="round_trip")
    config = model.get_config()
    clone = lamina.Model.from_config(config)
    assert clone.get_config() == config
    clone.set_weights(model.get_weights())
    v = torch.randn(3, 4)
    for got, want in zip(clone(v), model(v)):
        torch.testing.assert_close(got, want)


def test_disconnected_graph_and_non_symbolic_outputs_are_clear_errors() -> None:
    a, b = lamina.Input(shape=(2,)), lamina.Input(shape=(2,))
    with pytest.raises(ValueError, match="Graph disconnected"):
        lamina.Model(a, a + b)
    with pytest.raises(ValueError, match="symbolic tensors"):
        lamina.Model(a, torch.zeros(2))


def test_functional_wrong_input_shape_names_model_and_input() -> None:
    x = lamina.Input(shape=(3,), name="pixels")
    model = lamina.Model(x, layers.Dense(2)(x), name="tiny")
    with pytest.raises(ShapeError, match="pixels"):
        model(torch.randn(2, 4))


def test_masks_flow_through_lambda_with_mask_callable() -> None:
    x = lamina.Input(shape=(4, 2))
    masked = layers.Lambda(lambda t: t * 1.0, mask=lambda t, m: ops.sum(t, axis=-1) != 0)(x)
    pooled = layers.Lambda(
        lambda t, mask: (t * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True),
    )(masked)
    model = lamina.Model(x, pooled)
    data = torch.randn(3, 4, 2)
    data[0, 2:] = 0
    out = model(data)
    torch.testing.assert_close(out[0], data[0, :2].mean(0))
    torch.testing.assert_close(out[1], data[1].mean(0))


# ---------------------------------------------------------------------- subclassing
class Residual(lamina.Model):
    def __init__(self, units: int) -> None:
        super().__init__()
        self.inner = layers.Dense(units)
        self.dropout = layers.Dropout(0.5)

    def call(self, inputs, training=None):
        return inputs + self.dropout(self.inner(inputs), training=training)


def test_subclassed_model_runs_trains_and_lists_layers() -> None:
    model = Residual(3)
    x = torch.randn(4, 3)
    torch.testing.assert_close(model(x), x + _linear(model.inner, x))
    assert [type(layer) for layer in model.layers] == [layers.Dense, layers.Dropout]
    torch.manual_seed(0)
    train_out = model(x, training=True)
    assert not torch.allclose(train_out, x + _linear(model.inner, x))
    symbolic = model(lamina.Input(shape=(3,)))
    assert symbolic.shape == (None, 3)


def test_summary_lists_layers_shapes_params_and_lambda_source() -> None:
    model = lamina.Sequential([layers.Dense(8, input_shape=(4,)),
                               layers.Lambda(lambda x: x ** 2)])
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    text = lines[0]
    assert "lambda x: x ** 2" in text and "(None, 8)" in text
    assert "Total params: 40" in text and "Trainable params: 40" in text
    model.layers[0].trainable = False
    model.summary(print_fn=lines.append)
    assert "Non-trainable params: 40" in lines[1]


def test_layers_start_in_inference_mode_and_follow_train() -> None:
    model = lamina.Sequential([layers.Dropout(0.5, input_shape=(100,))])
    x = torch.ones(2, 100)
    torch.testing.assert_close(model(x), x)
    model.train()
    dropped = model(x)
    assert set(dropped.unique().tolist()) <= {0.0, 2.0} and (dropped == 0).any()
    torch.testing.assert_close(model(x, training=False), x)


def test_state_dict_keys_use_layer_names_and_load_into_same_architecture() -> None:
    model = lamina.Sequential([layers.Dense(2, input_shape=(3,), name="d1")])
    assert set(model.state_dict()) == {"d1.kernel", "d1.bias"}
    other = lamina.Sequential([layers.Dense(2, input_shape=(3,), name="d1")])
    other.load_state_dict(model.state_dict())
    x = torch.randn(4, 3)
    torch.testing.assert_close(other(x), model(x))
    np.testing.assert_array_equal(model.get_weights()[0], model.layers[0].kernel.detach().numpy())


def test_forward_hooks_on_layers_inside_a_model_still_run() -> None:
    model = lamina.Sequential([layers.Dense(2, input_shape=(3,)), layers.Lambda(lambda x: x * 2)])
    x = torch.randn(4, 3)
    model(x)
    model(x)  # the fast plan exists from here on
    seen = []
    handle = model.layers[1].register_forward_hook(lambda module, args, out: seen.append(out))
    out = model(x)
    assert len(seen) == 1 and torch.equal(seen[0], out)
    handle.remove()


def test_dense_kernel_has_keras_shape_and_round_trips_through_numpy_and_state_dict() -> None:
    dense = layers.Dense(3, kernel_initializer="orthogonal")
    x = torch.randn(5, 4)
    out = dense(x)
    assert tuple(dense.kernel.shape) == (4, 3)
    kernel, bias = dense.get_weights()
    assert kernel.shape == (4, 3) and kernel.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(out.detach().numpy(), x.numpy() @ kernel + bias, rtol=1e-5,
                               atol=1e-6)
    other = layers.Dense(3)
    other(x)
    other.set_weights([kernel * 2, bias])
    torch.testing.assert_close(other(x), x @ torch.from_numpy(kernel * 2) + torch.from_numpy(bias))
    other.load_state_dict(dense.state_dict())
    torch.testing.assert_close(other(x), out)


def test_summary_shows_brackets_in_sources_verbatim() -> None:
    model = lamina.Sequential([
        layers.Identity(input_shape=(4,), name="source_brackets"),
        layers.Lambda(lambda x: ops.concatenate([x, x[:, :1]], axis=1)),
    ])
    text: list[str] = []
    model.summary(print_fn=text.append)
    assert "ops.concatenate([x, x[:, :1]], axis=1)" in text[0]


def test_a_layer_may_be_named_like_a_model_attribute() -> None:
    x = lamina.Input(shape=(2,))
    model = lamina.Model(x, layers.Dense(2, name="double")(x))
    assert model.get_layer("double").name == "double" and callable(model.double)
    sequential = lamina.Sequential([layers.Dense(2, input_shape=(2,))])
    sequential.add(layers.Dense(2, name="train"))
    assert len(sequential) == 2 and sequential.get_layer("train").units == 2
    sequential.train()  # the method, not the layer
    assert sequential.training


def test_masks_flow_layer_to_layer_in_sequential() -> None:
    model = lamina.Sequential([
        layers.Embedding(10, 3, mask_zero=True, input_shape=(4,)),
        layers.Lambda(lambda x: x * 2.0, mask="same"),
        layers.GlobalAveragePooling1D(),
    ])
    tokens = torch.tensor([[4, 2, 0, 0], [1, 5, 7, 9]])
    vectors = model.layers[0].embeddings.detach()[tokens] * 2.0
    expected = torch.stack([vectors[0, :2].mean(0), vectors[1].mean(0)])
    torch.testing.assert_close(model(tokens), expected)


def _relu_squared(x: torch.Tensor) -> torch.Tensor:
    return ops.relu(x) ** 2


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_torch_save_of_a_whole_model_round_trips(kind: str) -> None:
    """Layers are nn.Modules: torch.save(model) pickles them (initializer objects pickle as
    any object; a Lambda pickles when its function is importable, as in plain PyTorch)."""
    torch.manual_seed(0)
    if kind == "sequential":
        model = lamina.Sequential([layers.Dense(8, input_shape=(4,)),
                                   layers.BatchNormalization(), layers.Dropout(0.1),
                                   layers.Lambda(_relu_squared), layers.Dense(2)])
        model.compile("adam", "mse")
        x = torch.randn(3, 4)
    else:
        inputs = lamina.Input((5, 4))
        model = lamina.Model(inputs, layers.Dense(1)(layers.LSTM(6)(inputs)))
        x = torch.randn(2, 5, 4)
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    restored = torch.load(buffer, weights_only=False)
    torch.testing.assert_close(restored(x), model(x), rtol=0, atol=0)
    dense = next(m for m in restored.modules() if isinstance(m, layers.Dense))
    assert dense.kernel_initializer == lamina.initializers.GlorotUniform()
    assert dense.get_config()["kernel_initializer"]["class_name"] == "GlorotUniform"
