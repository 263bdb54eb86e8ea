"""Layers read their weights straight from ``_parameters`` on the call path
(``Layer.weight_value``) and a fast plan runs ``x + y`` as the operator: both must still
honour everything ``nn.Module`` allows, here a ``torch.nn.utils.parametrize``
parametrization that replaces a registered weight by a computed one, and op Lambdas must
still show their call."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.nn.utils import parametrize

import lamina
from lamina import layers


class Scale(torch.nn.Module):
    """A parametrization: the weight used is ``factor`` times the stored one."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight * self.factor


def original(layer: torch.nn.Module, name: str) -> torch.Tensor:
    return getattr(layer.parametrizations, name).original


@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_uses_parametrized_kernel_and_bias(use_bias: bool) -> None:
    torch.manual_seed(0)
    layer = layers.Dense(3, activation="tanh", use_bias=use_bias)
    x = torch.randn(4, 5)
    layer(x)
    parametrize.register_parametrization(layer, "kernel", Scale(2.0))
    if use_bias:
        with torch.no_grad():
            layer.bias.fill_(0.25)
        parametrize.register_parametrization(layer, "bias", Scale(-3.0))
    assert "kernel" not in layer._parameters
    out = layer(x)
    bias = -3.0 * original(layer, "bias") if use_bias else 0.0
    expected = torch.tanh(x @ (2.0 * original(layer, "kernel")) + bias)
    torch.testing.assert_close(out, expected)
    out.sum().backward()
    manual = original(layer, "kernel").detach().requires_grad_()
    torch.tanh(x @ (2.0 * manual) + (bias.detach() if use_bias else 0.0)).sum().backward()
    torch.testing.assert_close(original(layer, "kernel").grad, manual.grad)


def test_layer_normalization_and_embedding_use_parametrized_weights() -> None:
    torch.manual_seed(0)
    norm = layers.LayerNormalization()
    x = torch.randn(2, 3, 6)
    norm(x)
    parametrize.register_parametrization(norm, "gamma", Scale(0.5))
    parametrize.register_parametrization(norm, "beta", Scale(4.0))
    with torch.no_grad():
        original(norm, "beta").fill_(1.0)
    torch.testing.assert_close(norm(x), F.layer_norm(x, (6,), eps=1e-3) * 0.5 + 4.0)

    embedding = layers.Embedding(10, 4)
    ids = torch.tensor([[1, 2, 9]])
    embedding(ids)
    parametrize.register_parametrization(embedding, "embeddings", Scale(3.0))
    torch.testing.assert_close(embedding(ids), 3.0 * original(embedding, "embeddings")[ids])


def test_self_attention_at_inference_uses_a_parametrized_weight() -> None:
    torch.manual_seed(0)
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=4)
    x = torch.randn(2, 5, 8)
    layer(x, x)
    parametrize.register_parametrization(layer, "query_bias", Scale(1.0))
    with torch.no_grad():
        original(layer, "query_bias").fill_(0.5)
        inference = layer(x, x, use_causal_mask=True)
    # The path with gradients projects through each weight attribute, parametrized or not.
    training = layer(x, x, use_causal_mask=True).detach()
    torch.testing.assert_close(inference, training)
    # And the query bias is really used: without it the output differs.
    with torch.no_grad():
        original(layer, "query_bias").zero_()
        assert (layer(x, x, use_causal_mask=True) - inference).abs().max() > 1e-3


def test_residual_operators_in_a_fast_plan_equal_the_ops() -> None:
    torch.manual_seed(0)
    inputs = lamina.Input((4,))
    h = layers.Dense(4)(inputs)
    outputs = (inputs + h) * h - inputs
    model = lamina.Model(inputs, outputs)
    assert [layer.source for layer in model.layers[2:]] == [
        "ops.add(x[0], x[1])", "ops.multiply(x[0], x[1])", "ops.subtract(x[0], x[1])"]
    x = torch.randn(3, 4)
    model(x)  # the first run builds the fast plan
    assert model._fast_plan is not None
    dense = model.layers[1]
    y = x @ dense.kernel + dense.bias
    torch.testing.assert_close(model(x), (x + y) * y - x)
    # The plan's callable for `+` takes the operator only for two tensors: a Python number
    # goes through the op's own conversion.
    plan_add = model._fast_plan[1][0]
    assert plan_add.op is lamina.ops.add
    torch.testing.assert_close(plan_add([x, 2.0]), x + 2.0)
    assert plan_add([x, torch.tensor(2, dtype=torch.int64)]).dtype == torch.float32
