"""``RNNLayer``: what ``SimpleRNN``, ``LSTM`` and ``GRU`` share.

Arguments, the call (states, masks, dropout, outputs), shapes and config. Each call picks
torch's fused kernel where it computes Keras's result and the step loop elsewhere (see
``recurrent_kernels``); the layers in ``recurrent`` supply the weights and step formulas.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import activations, initializers
from lamina.errors import ArgumentError, ShapeError
from lamina.layers.layer import Layer, to_tensor
from lamina.layers.recurrent_kernels import (
    gate_matmul,
    keep_mask,
    right_padded_lengths,
    run_fused,
    run_steps,
)

Tensor = torch.Tensor
Shape = tuple[int | None, ...]


class RNNLayer(Layer):
    """What ``SimpleRNN``, ``LSTM`` and ``GRU`` share: arguments, masks, states, dropout.

    A subclass sets ``gates``, ``state_count`` and ``fused_kind`` (torch's kernel for its
    formulas, if any), creates its weights in ``build``, and writes ``step(inputs_t, states,
    recurrent_masks)``: one time step with Keras's formulas, where ``inputs_t`` is
    ``x_t @ kernel + bias``.

    Args:
        units: Size of the states and of the output.
        activation: Default: ``"tanh"``.
        use_bias: Whether to add a bias. Default: ``True``.
        kernel_initializer: Default: ``"glorot_uniform"``.
        recurrent_initializer: Default: ``"orthogonal"``.
        bias_initializer: Default: ``"zeros"``.
        dropout: Fraction of the inputs to drop in training, one mask per sample for all
            steps. Default: ``0.0``.
        recurrent_dropout: Fraction of the recurrent state to drop in training (this runs
            the step loop). Default: ``0.0``.
        seed: Seed of a private generator for the dropout masks. Default: ``None``.
        return_sequences: Return every step's output, not only the last. Default: ``False``.
        return_state: Also return the final states. Default: ``False``.
        go_backwards: Process the steps last to first; the outputs come in that order.
            Default: ``False``.
        stateful: Only ``False`` is supported.
        zero_output_for_mask: Output zeros at masked steps instead of repeating the previous
            output. Default: ``False``.

    Call arguments:
        sequences: ``(batch, steps, features)``.
        initial_state: The initial state tensor(s), ``(batch, units)`` each. Default: zeros.
        mask: ``(batch, steps)``; a step where it is ``False`` leaves the states unchanged
            and repeats the previous output (zeros before the first kept step).
        training: Whether dropout applies. Default: the layer's mode.

    Output shape:
        ``(batch, units)``, or ``(batch, steps, units)`` with ``return_sequences``; with
        ``return_state``, a tuple ``(output, *states)``.

    Example:
        >>> from lamina.layers.recurrent import LSTM
        >>> layer = LSTM(2, return_sequences=True)
        >>> out = layer(torch.ones(1, 3, 4), mask=torch.tensor([[True, False, True]]))
        >>> bool((out[0, 1] == out[0, 0]).all())  # a masked step repeats the last output
        True
    """

    supports_masking = True
    gates = 1
    state_count = 1
    fused_kind: str | None = None

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        zero_output_for_mask: bool = False,
        **kwargs: Any,
    ) -> None:
        kind = type(self).__name__
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ArgumentError(f"{kind}: units must be a positive int, received units={units!r}.")
        for arg, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not isinstance(rate, (int, float)) or not 0 <= rate < 1:
                raise ArgumentError(f"{kind}: {arg} must be a number in [0, 1), received "
                                    f"{arg}={rate!r}.")
        if stateful:
            raise ArgumentError(
                f"{kind}: stateful=True is not supported, received stateful={stateful!r}. "
                "Carry the state yourself: call the layer with return_state=True and pass "
                "the returned states as initial_state= to the next call."
            )
        super().__init__(**kwargs)
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.seed = seed
        self._generator = torch.Generator().manual_seed(seed) if seed is not None else None
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = False
        self.zero_output_for_mask = bool(zero_output_for_mask)

    def _add_kernels(self, input_shape: Shape) -> None:
        input_dim = input_shape[-1] if len(input_shape) == 3 else None
        if input_dim is None:
            raise ShapeError(
                f"{type(self).__name__} '{self.name}' expects inputs of shape (batch, steps, "
                f"features) with known features, received input shape {tuple(input_shape)}."
            )
        width = self.units * self.gates
        # Column-major memory makes kernel.T contiguous: torch's layout at no copy.
        self.kernel = self.add_weight("kernel", (input_dim, width),
                                      initializer=self.kernel_initializer, column_major=True)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, width),
                                                initializer=self.recurrent_initializer,
                                                column_major=True)

    # ------------------------------------------------------------------ calling
    def call(self, sequences: Tensor, initial_state: Any = None, mask: Tensor | None = None,
             training: bool | None = None) -> Any:
        if sequences.dim() != 3:
            raise ShapeError(f"{type(self).__name__} '{self.name}' expects inputs of shape "
                             f"(batch, steps, features), received shape {tuple(sequences.shape)}.")
        if sequences.dtype != self.kernel.dtype:
            sequences = sequences.to(self.kernel.dtype)
        states = None if initial_state is None else self._initial_states(initial_state,
                                                                          sequences)
        input_masks = recurrent_masks = None
        if training and (self.dropout or self.recurrent_dropout):
            input_masks, recurrent_masks = self._dropout_masks(sequences)
        lengths, shortest = None, 0
        if mask is not None:
            mask = self._check_mask(mask, sequences)
            lengths = right_padded_lengths(mask)
            if lengths is not None:
                shortest = int(lengths.min())
                if shortest == sequences.shape[1]:
                    mask = lengths = None  # nothing is masked
        options = {"go_backwards": self.go_backwards, "return_sequences": self.return_sequences,
                   "zero_output_for_mask": self.zero_output_for_mask}
        if self.fused_kind is not None and recurrent_masks is None and (
                mask is None or shortest > 0):
            if input_masks is not None:
                sequences = sequences * input_masks[0]
            last, sequence, states = run_fused(self.fused_kind, sequences, states,
                                               self.torch_weights(), mask, lengths, **options)
        else:
            projected = gate_matmul(sequences, self.kernel, input_masks)
            if self.use_bias:
                projected = projected + self.input_bias()

            def step(inputs_t: Tensor, states_t: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
                return self.step(inputs_t, states_t, recurrent_masks)

            if states is None:
                states = [sequences.new_zeros(sequences.shape[0], self.units)] * self.state_count
            last, sequence, states = run_steps(step, projected, states, mask, **options)
        output = sequence if self.return_sequences else last
        return (output, *states) if self.return_state else output

    def _check_mask(self, mask: Any, sequences: Tensor) -> Tensor:
        mask = to_tensor(mask)
        if tuple(mask.shape) != tuple(sequences.shape[:2]):
            raise ShapeError(
                f"{type(self).__name__} '{self.name}': the mask must have shape (batch, steps) "
                f"= {tuple(sequences.shape[:2])}, received {tuple(mask.shape)}."
            )
        # Keras keeps a step where the mask is nonzero.
        return mask if mask.dtype == torch.bool else mask != 0

    def _initial_states(self, initial_state: Any, sequences: Tensor) -> list[Tensor]:
        batch = sequences.shape[0]
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [
            initial_state]
        expected = (batch, self.units)
        if len(states) != self.state_count or any(
                tuple(getattr(s, "shape", ())) != expected for s in states):
            raise ShapeError(
                f"{type(self).__name__} '{self.name}' takes {self.state_count} initial state "
                f"tensor(s) of shape {expected}, received "
                f"{[tuple(getattr(s, 'shape', ())) for s in states]}."
            )
        return [to_tensor(s).to(sequences.dtype) for s in states]

    def _dropout_masks(self, sequences: Tensor) -> tuple[Tensor | None, Tensor | None]:
        """One dropout mask per sample for all steps, as in Keras; with recurrent dropout,
        Keras's cells switch to one mask per gate (their implementation 1)."""
        batch, _, features = sequences.shape
        count = self.gates if self.recurrent_dropout else 1
        input_masks = recurrent_masks = None
        if self.dropout:
            input_masks = keep_mask((count, batch, 1, features), self.dropout, sequences,
                                    self._generator)
        if self.recurrent_dropout:
            recurrent_masks = keep_mask((count, batch, self.units), self.recurrent_dropout,
                                        sequences, self._generator)
        return input_masks, recurrent_masks

    # ------------------------------------------------------------------ subclass hooks
    def input_bias(self) -> Tensor:
        """The bias added to ``inputs @ kernel`` (all of it, except GRU's recurrent half)."""
        return self.bias

    def torch_weights(self) -> list[Tensor]:
        """The weights in the layout of torch's fused kernel ``fused_kind``. The default
        serves SimpleRNN and LSTM, whose gate order is torch's: ``[kernel.T,
        recurrent_kernel.T]`` plus ``[bias, 0]``."""
        weights = [self.kernel.T, self.recurrent_kernel.T]
        if self.use_bias:
            weights += [self.bias, torch.zeros_like(self.bias)]
        return weights

    # ------------------------------------------------------------------ shapes and config
    def compute_output_shape(self, input_shape: Shape) -> Any:
        batch = input_shape[0]
        output = (batch, input_shape[1], self.units) if self.return_sequences else (
            batch, self.units)
        if self.return_state:
            return (output, *[(batch, self.units)] * self.state_count)
        return output

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask, *[None] * self.state_count]
        return output_mask

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            **initializers.serialize_arguments(
                self, kernel_initializer=self.kernel_initializer,
                recurrent_initializer=self.recurrent_initializer,
                bias_initializer=self.bias_initializer),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "zero_output_for_mask": self.zero_output_for_mask,
        }

    def extra_repr(self) -> str:
        return (f"name={self.name!r}, units={self.units}, "
                f"return_sequences={self.return_sequences}")
