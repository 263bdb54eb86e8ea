"""Recurrent layers: ``SimpleRNN``, ``LSTM``, ``GRU``, with Keras 3's arguments, semantics,
configs and weights.

Each is its unit (``recurrent_units``: the weights in Keras's layout and the step formulas,
shared with ``SimpleRNNCell``, ``LSTMCell`` and ``GRUCell``) run over whole sequences by
``RNNLayer`` (``recurrent_base``: masks, states, dropout, torch's fused kernels).
``RNN(LSTMCell(...))`` computes what ``LSTM(...)`` does and takes the same weights.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.errors import ArgumentError
from lamina.layers.recurrent_base import RNNLayer
from lamina.layers.recurrent_units import GRUUnit, LSTMUnit, SimpleRNNUnit

Tensor = torch.Tensor
_USE_CUDNN = ("auto", True, False)


def _use_cudnn(value: Any, owner: str) -> Any:
    if value not in _USE_CUDNN:
        raise ArgumentError(f"{owner}: use_cudnn must be one of {list(_USE_CUDNN)}, received "
                            f"use_cudnn={value!r}.")
    return value


class SimpleRNN(RNNLayer, SimpleRNNUnit):
    """A fully connected RNN: ``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel
    + bias)``.

    Args:
        units: Size of the state and output.
        activation: Default: ``"tanh"`` (``"tanh"`` and ``"relu"`` run torch's fused kernel).
        use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
        kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
        recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed: The cell's
            arguments (:class:`~lamina.layers.recurrent_units.RecurrentUnit`). As in Keras,
            ``seed`` is not in the config.
        activity_regularizer: A penalty on the outputs. Default: ``None``.
        return_sequences, return_state, go_backwards, stateful, unroll: Keras's ``RNN``
            arguments (:class:`~lamina.layers.recurrent_base.RecurrentBase`; ``unroll``
            changes nothing in lamina). ``zero_output_for_mask`` may be passed too.

    The call arguments and the output are :class:`~lamina.layers.recurrent_base.RNNLayer`'s.

    Example:
        >>> layer = SimpleRNN(4, return_sequences=True, name="encoder")
        >>> tuple(layer(torch.ones(2, 3, 5)).shape), layer.recurrent_kernel.path
        ((2, 3, 4), 'encoder/simple_rnn_cell/recurrent_kernel')
    """

    cell_name = "simple_rnn_cell"

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            units=units, activation=activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout,
            return_sequences=return_sequences, return_state=return_state,
            go_backwards=go_backwards, stateful=stateful, unroll=unroll, seed=seed, **kwargs)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["seed"]  # Keras's SimpleRNN leaves it out
        return config


class LSTM(RNNLayer, LSTMUnit):
    """Long short-term memory (Hochreiter 1997), with Keras's gates ``i, f, c, o``.

    ``c_t = f * c_{t-1} + i * activation(z_c)`` and ``h_t = o * activation(c_t)``, where
    ``z = x_t @ kernel + h_{t-1} @ recurrent_kernel + bias`` and ``i, f, o`` are
    ``recurrent_activation`` of their parts of ``z``. The states are ``[h, c]``.

    Args:
        units: Size of the states and output.
        activation: Default: ``"tanh"``.
        recurrent_activation: Default: ``"sigmoid"``. With both defaults torch's fused LSTM
            kernel runs (see ``use_cudnn``).
        unit_forget_bias: Start the forget gate's bias at 1. Default: ``True``.
        use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
        kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
        recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed: The cell's
            arguments (:class:`~lamina.layers.recurrent_units.RecurrentUnit`).
        activity_regularizer: A penalty on the outputs. Default: ``None``.
        return_sequences, return_state, go_backwards, stateful, unroll: Keras's ``RNN``
            arguments (:class:`~lamina.layers.recurrent_base.RecurrentBase`; ``unroll``
            changes nothing in lamina). ``zero_output_for_mask`` may be passed too.
        use_cudnn: ``"auto"`` runs torch's fused kernel (cuDNN's on a GPU) where it gives
            Keras's result (default activations, no recurrent dropout, a right-padded mask
            or none), else the step loop; ``False`` always the step loop; ``True`` refuses,
            as Keras does, a call the fused kernel cannot run (a mask, recurrent dropout).
            Not in the config (Keras's). Default: ``"auto"``.
        implementation: Keras's 1 or 2 (one dropout mask per gate, or one for all). Not in
            the config (Keras's). Default: ``2``.

    The call arguments and the output are :class:`~lamina.layers.recurrent_base.RNNLayer`'s.

    Example:
        >>> layer = LSTM(4, return_state=True)
        >>> output, h, c = layer(torch.ones(2, 3, 5))
        >>> tuple(output.shape), bool((output == h).all()), tuple(layer.kernel.shape)
        ((2, 4), True, (5, 16))
    """

    cell_name = "lstm_cell"

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        unit_forget_bias: bool = True,
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        use_cudnn: Any = "auto",
        **kwargs: Any,
    ) -> None:
        use_cudnn = _use_cudnn(use_cudnn, "LSTM")
        super().__init__(
            units=units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
            return_sequences=return_sequences, return_state=return_state,
            go_backwards=go_backwards, stateful=stateful, unroll=unroll, **kwargs)
        self.use_cudnn = use_cudnn


class GRU(RNNLayer, GRUUnit):
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
        use_cudnn, implementation: As for :class:`LSTM` (``use_cudnn=True`` also refuses
            ``reset_after=False``, as Keras does).
        The other arguments are :class:`LSTM`'s.

    The call arguments and the output are :class:`~lamina.layers.recurrent_base.RNNLayer`'s.

    Example:
        >>> layer = GRU(4)
        >>> tuple(layer(torch.ones(2, 3, 5)).shape), tuple(layer.bias.shape)
        ((2, 4), (2, 12))
    """

    cell_name = "gru_cell"

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        reset_after: bool = True,
        use_cudnn: Any = "auto",
        **kwargs: Any,
    ) -> None:
        use_cudnn = _use_cudnn(use_cudnn, "GRU")
        super().__init__(
            units=units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, return_sequences=return_sequences,
            return_state=return_state, go_backwards=go_backwards, stateful=stateful,
            unroll=unroll, reset_after=reset_after, **kwargs)
        self.use_cudnn = use_cudnn

    def torch_weights(self) -> list[Tensor]:
        # torch orders the gates r, z, n; Keras z, r, h.
        weights = [_z_r_h_to_r_z_h(self.kernel.T), _z_r_h_to_r_z_h(self.recurrent_kernel.T)]
        if self.use_bias:
            weights += [_z_r_h_to_r_z_h(self.bias[0]), _z_r_h_to_r_z_h(self.bias[1])]
        return weights


def _z_r_h_to_r_z_h(weight: Tensor) -> Tensor:
    z, r, h = weight.chunk(3, dim=0)
    return torch.cat([r, z, h], dim=0)
