"""Recurrent layers: ``SimpleRNN``, ``LSTM``, ``GRU``, with Keras 3's semantics and weights.

Weights have Keras's layout: ``kernel (input_dim, units * gates)``, ``recurrent_kernel
(units, units * gates)``, ``bias`` (GRU's ``reset_after=True``: ``(2, units * 3)``, input
bias then recurrent bias), gates in Keras's order (LSTM ``i, f, c, o``; GRU ``z, r, h``).
What they share (arguments, masks, states, dropout) is ``RNNLayer``'s.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import activations
from lamina.layers.recurrent_base import RNNLayer, Shape
from lamina.layers.recurrent_kernels import gate_matmul

Tensor = torch.Tensor


class SimpleRNN(RNNLayer):
    """A fully connected RNN: ``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel
    + bias)``.

    Args:
        units: Size of the state and output.
        activation: Default: ``"tanh"`` (``"tanh"`` and ``"relu"`` run torch's fused kernel).

    The other arguments, the call arguments and the output are :class:`RNNLayer`'s.

    Example:
        >>> layer = SimpleRNN(4, return_sequences=True)
        >>> tuple(layer(torch.ones(2, 3, 5)).shape), tuple(layer.recurrent_kernel.shape)
        ((2, 3, 4), (4, 4))
    """

    def __init__(self, units: int, activation: Any = "tanh", **kwargs: Any) -> None:
        super().__init__(units, activation=activation, **kwargs)
        self.fused_kind = {torch.tanh: "tanh", torch.relu: "relu"}.get(self.activation)

    def build(self, input_shape: Shape) -> None:
        self._add_kernels(input_shape)
        self.bias = self.add_weight("bias", (self.units,), initializer=self.bias_initializer
                                    ) if self.use_bias else None

    def step(self, inputs_t: Tensor, states: list[Tensor],
             recurrent_masks: Tensor | None) -> tuple[Tensor, list[Tensor]]:
        output = self.activation(inputs_t + gate_matmul(states[0], self.recurrent_kernel,
                                                        recurrent_masks))
        return output, [output]


class LSTM(RNNLayer):
    """Long short-term memory (Hochreiter 1997), with Keras's gates ``i, f, c, o``.

    ``c_t = f * c_{t-1} + i * activation(z_c)`` and ``h_t = o * activation(c_t)``, where
    ``z = x_t @ kernel + h_{t-1} @ recurrent_kernel + bias`` and ``i, f, o`` are
    ``recurrent_activation`` of their parts of ``z``.

    Args:
        units: Size of the states and output.
        activation: Default: ``"tanh"``.
        recurrent_activation: Default: ``"sigmoid"``. With both defaults and no recurrent
            dropout, torch's fused LSTM kernel runs.
        unit_forget_bias: Start the forget gate's bias at 1. Default: ``True``.

    The other arguments, the call arguments and the output are :class:`RNNLayer`'s; the
    states are ``[h, c]``.

    Example:
        >>> layer = LSTM(4, return_state=True)
        >>> output, h, c = layer(torch.ones(2, 3, 5))
        >>> tuple(output.shape), bool((output == h).all()), tuple(layer.kernel.shape)
        ((2, 4), True, (5, 16))
    """

    gates = 4
    state_count = 2

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", unit_forget_bias: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        if self.activation is torch.tanh and self.recurrent_activation is torch.sigmoid:
            self.fused_kind = "lstm"

    def build(self, input_shape: Shape) -> None:
        self._add_kernels(input_shape)
        if not self.use_bias:
            self.bias = None
            return
        self.bias = self.add_weight("bias", (self.units * 4,), initializer=self.bias_initializer)
        if self.unit_forget_bias:
            with torch.no_grad():
                self.bias[self.units:2 * self.units] = 1.0

    def step(self, inputs_t: Tensor, states: list[Tensor],
             recurrent_masks: Tensor | None) -> tuple[Tensor, list[Tensor]]:
        h, c = states
        z = inputs_t + gate_matmul(h, self.recurrent_kernel, recurrent_masks)
        z_i, z_f, z_c, z_o = z.chunk(4, dim=1)
        act, gate = self.activation, self.recurrent_activation
        c = gate(z_f) * c + gate(z_i) * act(z_c)
        h = gate(z_o) * act(c)
        return h, [h, c]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias}


class GRU(RNNLayer):
    """Gated recurrent unit (Cho et al. 2014), with Keras's gates ``z, r, h``.

    ``h_t = z * h_{t-1} + (1 - z) * activation(x_h + r * (h_{t-1} @ recurrent_kernel_h +
    recurrent_bias_h))`` with ``reset_after=True`` (Keras's default, torch's and cuDNN's
    formula); ``reset_after=False`` applies ``r`` before the product:
    ``activation(x_h + (r * h_{t-1}) @ recurrent_kernel_h)``.

    Args:
        units: Size of the state and output.
        activation: Default: ``"tanh"``.
        recurrent_activation: Default: ``"sigmoid"``.
        reset_after: Default: ``True`` (bias of shape ``(2, 3 * units)``: input and
            recurrent biases). With the default activations, torch's fused GRU runs.

    The other arguments, the call arguments and the output are :class:`RNNLayer`'s.

    Example:
        >>> layer = GRU(4)
        >>> tuple(layer(torch.ones(2, 3, 5)).shape), tuple(layer.bias.shape)
        ((2, 4), (2, 12))
    """

    gates = 3

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", reset_after: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)
        if (self.reset_after and self.activation is torch.tanh
                and self.recurrent_activation is torch.sigmoid):
            self.fused_kind = "gru"

    def build(self, input_shape: Shape) -> None:
        self._add_kernels(input_shape)
        shape = (2, self.units * 3) if self.reset_after else (self.units * 3,)
        self.bias = self.add_weight("bias", shape, initializer=self.bias_initializer
                                    ) if self.use_bias else None

    def input_bias(self) -> Tensor:
        return self.bias[0] if self.reset_after else self.bias

    def torch_weights(self) -> list[Tensor]:
        # torch orders the gates r, z, n; Keras z, r, h.
        weights = [_z_r_h_to_r_z_h(self.kernel.T), _z_r_h_to_r_z_h(self.recurrent_kernel.T)]
        if self.use_bias:
            weights += [_z_r_h_to_r_z_h(self.bias[0]), _z_r_h_to_r_z_h(self.bias[1])]
        return weights

    def step(self, inputs_t: Tensor, states: list[Tensor],
             recurrent_masks: Tensor | None) -> tuple[Tensor, list[Tensor]]:
        h = states[0]
        x_z, x_r, x_h = inputs_t.chunk(3, dim=1)
        units = self.units
        if self.reset_after:
            inner = gate_matmul(h, self.recurrent_kernel, recurrent_masks)
            if self.use_bias:
                inner = inner + self.bias[1]
            r_z, r_r, r_h = inner.chunk(3, dim=1)
        else:
            masks_zr = recurrent_masks[:2] if recurrent_masks is not None else None
            r_z, r_r = gate_matmul(h, self.recurrent_kernel[:, :2 * units], masks_zr).chunk(2, 1)
        z = self.recurrent_activation(x_z + r_z)
        r = self.recurrent_activation(x_r + r_r)
        if self.reset_after:
            candidate = self.activation(x_h + r * r_h)
        else:
            h_h = h * recurrent_masks[-1] if recurrent_masks is not None else h
            candidate = self.activation(
                x_h + torch.matmul(r * h_h, self.recurrent_kernel[:, 2 * units:]))
        h = z * h + (1 - z) * candidate
        return h, [h]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "reset_after": self.reset_after}


def _z_r_h_to_r_z_h(weight: Tensor) -> Tensor:
    z, r, h = weight.chunk(3, dim=0)
    return torch.cat([r, z, h], dim=0)
