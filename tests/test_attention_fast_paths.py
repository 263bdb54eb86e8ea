"""The attention layers' fast paths compute what the general path computes: the cached
fused in-projection of self-attention (rebuilt whenever a weight changes), the cached
causal and band masks, and the Functional plan that calls one-tensor steps directly next
to steps with several inputs."""

from __future__ import annotations

import torch

import lamina
from lamina import layers
from lamina.layers.attention_projection import DerivedWeights, band_mask, causal_mask


def unfused(layer: layers.MultiHeadAttention, x: torch.Tensor, causal: bool) -> torch.Tensor:
    """The layer's output through three separate projections (the path with gradients)."""
    with torch.enable_grad():
        return layer(x, x, use_causal_mask=causal).detach()


def test_fused_self_attention_equals_separate_projections() -> None:
    torch.manual_seed(0)
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=4)
    x = torch.randn(3, 5, 8)
    for causal in (False, True):
        with torch.no_grad():
            fused = layer(x, x, use_causal_mask=causal)
        torch.testing.assert_close(fused, unfused(layer, x, causal))


def test_the_fused_weight_follows_every_change_of_the_weights() -> None:
    torch.manual_seed(0)
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=4)
    x = torch.randn(2, 5, 8)
    with torch.no_grad():
        before = layer(x, x)
    weights = layer.get_weights()
    weights[0] = weights[0] * 2.0  # query kernel
    layer.set_weights(weights)
    with torch.no_grad():
        after_set = layer(x, x)
    assert not torch.allclose(before, after_set)
    torch.testing.assert_close(after_set, unfused(layer, x, False))
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    layer(x, x).square().sum().backward()
    optimizer.step()
    with torch.no_grad():
        after_step = layer(x, x)
    torch.testing.assert_close(after_step, unfused(layer, x, False))
    with torch.no_grad():
        layer.key_kernel.data = layer.key_kernel.data * 0.5  # replaced storage
        replaced = layer(x, x)
    torch.testing.assert_close(replaced, unfused(layer, x, False))
    layer.double()
    with torch.no_grad():
        doubled = layer(x.double(), x.double())
    assert doubled.dtype == torch.float64
    torch.testing.assert_close(doubled.float(), replaced, rtol=1e-5, atol=1e-5)


def test_no_fusion_when_recording_gradients_or_on_fake_tensors() -> None:
    x = torch.randn(2, 3, 4)
    assert not DerivedWeights.applies(x)  # gradients recorded
    with torch.no_grad():
        assert DerivedWeights.applies(x)
        assert not DerivedWeights.applies(torch.nn.Parameter(x))


def test_fused_inference_gradients_still_flow_when_training() -> None:
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=4)
    x = torch.randn(2, 3, 8)
    with torch.no_grad():
        layer(x, x)
    layer(x, x).sum().backward()
    assert layer.query_kernel.grad is not None and layer.value_kernel.grad is not None


def test_masks_are_built_once_and_are_right() -> None:
    first = causal_mask(4, 4, torch.device("cpu"))
    assert first is causal_mask(4, 4, torch.device("cpu"))
    assert first.tolist() == [torch.ones(4, 4, dtype=torch.bool).tril().tolist()]
    band = band_mask(3, 3, 2, torch.device("cpu"))
    assert band is band_mask(3, 3, 2, torch.device("cpu"))
    assert band[0].tolist() == [[True, True, False], [True, True, True], [False, True, True]]


def test_symbolic_calls_do_not_leave_fake_masks_behind() -> None:
    inputs = lamina.Input((7, 8))
    outputs = layers.MultiHeadAttention(2, 4)(inputs, inputs, use_causal_mask=True,
                                              attention_mask=lamina.ops.ones((1, 7, 7),
                                                                             dtype="bool"))
    model = lamina.Model(inputs, outputs)
    assert type(causal_mask(7, 7, torch.device("cpu"))) is torch.Tensor
    with torch.no_grad():
        assert model(torch.randn(2, 7, 8)).shape == (2, 7, 8)


def test_a_functional_model_with_multi_input_steps_runs_its_fast_plan() -> None:
    torch.manual_seed(0)
    tokens = lamina.Input((None,), dtype="int64")
    x = layers.Embedding(16, 8)(tokens)
    h = layers.LayerNormalization()(x)
    x = x + layers.MultiHeadAttention(2, 4)(h, h, use_causal_mask=True)
    model = lamina.Model(tokens, layers.Dense(16)(x))
    data = torch.randint(0, 16, (2, 5))
    with torch.no_grad():
        first = model(data)  # the full plan; builds the fast one
        assert model._fast_plan is not None
        again = model(data)
    torch.testing.assert_close(first, again)
    model.train()
    torch.testing.assert_close(model(data, training=False).detach(), first)
