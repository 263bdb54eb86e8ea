"""References for the recurrent and attention tests, written from Keras 3's formulas on a
layer's own weights (so gradients reach the layer), and torch's modules on those weights."""

from __future__ import annotations

import math
from typing import Any

import torch

from lamina.layers.attention import MultiHeadAttention
from lamina.layers.recurrent import GRU, LSTM, SimpleRNN
from lamina.layers.wrappers import Bidirectional


def _randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------------- Keras references
def keras_step(layer: Any) -> Any:
    """One step of ``layer``'s cell with Keras 3's formulas, on the layer's own weights."""
    k, rk, b, units = layer.kernel, layer.recurrent_kernel, layer.bias, layer.units
    act, gate = layer.activation, getattr(layer, "recurrent_activation", None)

    def simple_rnn(x: torch.Tensor, states: list) -> Any:
        h = act(x @ k + (0 if b is None else b) + states[0] @ rk)
        return h, [h]

    def lstm(x: torch.Tensor, states: list) -> Any:
        i, f, c, o = (x @ k + states[0] @ rk + (0 if b is None else b)).chunk(4, -1)
        c = gate(f) * states[1] + gate(i) * act(c)
        h = gate(o) * act(c)
        return h, [h, c]

    def gru(x: torch.Tensor, states: list) -> Any:
        h = states[0]
        if layer.reset_after:
            input_bias, recurrent_bias = (0, 0) if b is None else (b[0], b[1])
            x_z, x_r, x_h = (x @ k + input_bias).chunk(3, -1)
            h_z, h_r, h_h = (h @ rk + recurrent_bias).chunk(3, -1)
            z, r = gate(x_z + h_z), gate(x_r + h_r)
            candidate = act(x_h + r * h_h)
        else:
            x_z, x_r, x_h = (x @ k + (0 if b is None else b)).chunk(3, -1)
            h_z, h_r = (h @ rk[:, :2 * units]).chunk(2, -1)
            z, r = gate(x_z + h_z), gate(x_r + h_r)
            candidate = act(x_h + (r * h) @ rk[:, 2 * units:])
        h = z * h + (1 - z) * candidate
        return h, [h]

    return {SimpleRNN: simple_rnn, LSTM: lstm, GRU: gru}[type(layer)]


def keras_rnn(x: torch.Tensor, layer: Any, mask: Any = None, initial_state: Any = None) -> Any:
    """Keras 3's ``rnn`` loop: a masked step keeps the states and repeats the previous
    output (zeros before any kept step; always zeros with ``zero_output_for_mask``)."""
    step, (batch, steps, _) = keras_step(layer), x.shape
    states = list(initial_state) if initial_state is not None else [
        x.new_zeros(batch, layer.units)] * layer.state_count
    output, outputs = x.new_zeros(batch, layer.units), []
    for t in (reversed(range(steps)) if layer.go_backwards else range(steps)):
        new_output, new_states = step(x[:, t], states)
        if mask is not None:
            keep = mask[:, t, None]
            fill = torch.zeros_like(output) if layer.zero_output_for_mask else output
            new_output = torch.where(keep, new_output, fill)
            new_states = [torch.where(keep, n, s) for n, s in zip(new_states, states)]
        output, states = new_output, new_states
        outputs.append(output)
    result = torch.stack(outputs, 1) if layer.return_sequences else output
    return (result, *states) if layer.return_state else result


def keras_bidirectional(x: torch.Tensor, layer: Bidirectional, mask: Any = None) -> Any:
    forward = keras_rnn(x, layer.forward_layer, mask)
    backward = keras_rnn(x, layer.backward_layer, mask)
    states = []
    if layer.return_state:
        states = [*forward[1:], *backward[1:]]
        forward, backward = forward[0], backward[0]
    if layer.return_sequences:
        backward = backward.flip(1)
    merged = {"concat": lambda: torch.cat([forward, backward], -1),
              "sum": lambda: forward + backward, "ave": lambda: (forward + backward) / 2,
              "mul": lambda: forward * backward, None: lambda: [forward, backward]}
    output = merged[layer.merge_mode]()
    return (output, *states) if layer.return_state else output


def keras_attention(inputs: list, layer: MultiHeadAttention, mask: Any = None,
                    scores: bool = False) -> Any:
    """Keras's EinsumDense projections, scaled dot product and masked softmax."""
    query, value = inputs[0], inputs[1]
    key = inputs[2] if len(inputs) > 2 else value

    def project(x: torch.Tensor, role: str) -> torch.Tensor:
        out = torch.einsum("btd,dnh->btnh", x, getattr(layer, f"{role}_kernel"))
        return out + getattr(layer, f"{role}_bias") if layer.use_bias else out

    q = project(query, "query") / math.sqrt(layer.key_dim)
    logits = torch.einsum("bsnh,btnh->bnts", project(key, "key"), q)
    if mask is None:
        weights = torch.softmax(logits, -1)
    else:
        weights = torch.softmax(torch.where(mask[:, None], logits, -1e9), -1) * mask[:, None]
    out = torch.einsum("bnts,bsnh->btnh", weights, project(value, "value"))
    out = torch.einsum("btnh,nh...->bt...", out, layer.output_kernel)
    out = out + layer.output_bias if layer.use_bias else out
    return (out, weights) if scores else out


def torch_module_on(layer: Any) -> tuple[torch.nn.Module, dict[str, torch.Tensor]]:
    """The matching torch module and the layer's weights mapped to its parameter names."""
    size = (layer.kernel.shape[0], layer.units)
    names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    if isinstance(layer, LSTM):
        module = torch.nn.LSTM(*size, batch_first=True)
        values = [layer.kernel.T, layer.recurrent_kernel.T, layer.bias, torch.zeros_like(
            layer.bias)]
    elif isinstance(layer, GRU):
        def reorder(w: torch.Tensor) -> torch.Tensor:  # Keras z, r, h -> torch r, z, n
            z, r, h = w.chunk(3, 0)
            return torch.cat([r, z, h])

        module = torch.nn.GRU(*size, batch_first=True)
        values = [reorder(layer.kernel.T), reorder(layer.recurrent_kernel.T),
                  reorder(layer.bias[0]), reorder(layer.bias[1])]
    else:
        module = torch.nn.RNN(*size, batch_first=True)
        values = [layer.kernel.T, layer.recurrent_kernel.T, layer.bias, torch.zeros_like(
            layer.bias)]
    return module, dict(zip(names, values))
