"""What every recurrent layer shares (``RecurrentBase``), and how ``SimpleRNN``, ``LSTM`` and
``GRU`` run over a sequence (``RNNLayer``).

``RecurrentBase`` holds Keras's ``RNN`` arguments (``return_sequences``, ``return_state``,
``go_backwards``, ``stateful``, ``unroll``, ``zero_output_for_mask``), the states a stateful
layer keeps between calls, the checks of masks and initial states, output masks and the
config; ``RNN`` (``rnn.py``, any cell) and ``RNNLayer`` build on it. Each call of an
``RNNLayer`` picks torch's fused kernel where it computes Keras's result and the step loop
elsewhere (see ``recurrent_kernels``); its unit (``recurrent_units``) supplies the weights
and the step formulas.
"""

from __future__ import annotations

from typing import Any

import torch
from torch._subclasses.fake_tensor import FakeTensor

from lamina import regularizers
from lamina.errors import ArgumentError, ShapeError
from lamina.layers.building import shapes_to_json
from lamina.layers.layer import Layer, is_shape, to_tensor
from lamina.layers.recurrent_kernels import (
    gate_matmul,
    right_padded_lengths,
    run_fused,
    run_steps,
)
from lamina.layers.recurrent_units import RecurrentUnit
from lamina.utils import tree

Tensor = torch.Tensor
Shape = tuple[int | None, ...]


class RecurrentBase(Layer):
    """Keras's ``RNN`` arguments, states kept across calls, masks and config.

    A subclass builds its weights, then calls :meth:`build_states`; it writes
    :meth:`get_initial_state` and :meth:`check_initial_state`, and in ``call`` takes its
    states from :meth:`starting_states` and gives the final ones to :meth:`keep_states`.

    Args:
        return_sequences: Return every step's output, not only the last. Default: ``False``.
        return_state: Also return the final states. Default: ``False``.
        go_backwards: Process the steps last to first; the outputs come in that order.
            Default: ``False``.
        stateful: Keep each sample's final states as its initial states for the next call
            (sample ``i`` of one batch continues sample ``i`` of the previous one), as Keras
            does: the batch size must be fixed (known when the layer is built: an
            ``Input(..., batch_size=...)``, or the first eager call) and every call must
            have it. ``reset_state()`` sets the kept states back to zeros. Default: ``False``.
        unroll: Accepted for Keras's configs. lamina computes the same either way: a Python
            loop over the steps (which is what unrolling is), or torch's fused kernel where
            it gives Keras's result. Default: ``False``.
        zero_output_for_mask: Output zeros at masked steps instead of repeating the previous
            output. Default: ``False``.

    Example:
        >>> from lamina.layers.recurrent import GRU
        >>> layer = GRU(2, stateful=True)
        >>> first = layer(torch.ones(3, 4, 5))
        >>> bool(torch.equal(layer(torch.ones(3, 4, 5)), first))  # went on from its states
        False
        >>> layer.reset_state()
        >>> bool(torch.equal(layer(torch.ones(3, 4, 5)), first))
        True
    """

    supports_masking = True

    def __init__(self, *args: Any, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        #: A stateful layer's states (Keras's ``layer.states``), else ``None``.
        self.states: Any = None

    # ------------------------------------------------------------------ states
    def get_initial_state(self, batch_size: int) -> list[Any]:
        """The zero states of a batch of ``batch_size`` samples (subclasses)."""
        raise NotImplementedError

    def check_initial_state(self, initial_state: Any, sequences: Tensor) -> Any:
        """``initial_state`` checked against the states' structure and shapes (subclasses)."""
        raise NotImplementedError

    def build_states(self, sequences_shape: Shape) -> None:
        """After the weights: Keras's checks of ``unroll`` and ``stateful`` on the input
        shape, and a stateful layer's zero states for the built batch size."""
        if self.unroll and (len(sequences_shape) < 2 or sequences_shape[1] is None):
            raise ArgumentError(
                f"{type(self).__name__} '{self.name}': cannot unroll a RNN if the time "
                f"dimension is undefined, received input shape {tuple(sequences_shape)}. "
                "Give the steps in Input(shape=(steps, ...)), or pass unroll=False.")
        if self.stateful:
            batch = sequences_shape[0]
            if batch is None:  # rebuilt from a saved build config, which keeps the batch size
                batch = self.__dict__.pop("_stateful_batch", None)
            if batch is None:
                raise ArgumentError(
                    f"{type(self).__name__} '{self.name}': stateful=True needs a fixed batch "
                    f"size, received input shape {tuple(sequences_shape)}. Pass batch_size= "
                    "to the model's Input (or call the layer on a batch first).")
            self.states = tree.map_structure(lambda s: s.detach(),
                                             self.get_initial_state(int(batch)))

    def starting_states(self, initial_state: Any, sequences: Tensor) -> Any:
        """The states a call starts from: ``initial_state`` checked, a stateful layer's kept
        states, or ``None`` (zeros)."""
        if initial_state is not None:
            return self.check_initial_state(initial_state, sequences)
        if not self.stateful or self.states is None:
            return None
        expected = tree.flatten(self.states)[0].shape[0]
        if sequences.shape[0] != expected:
            raise ShapeError(
                f"{type(self).__name__} '{self.name}' is stateful: the batch size of the "
                f"inputs must be the batch size of its states, {expected}, received "
                f"{sequences.shape[0]} (input shape {tuple(sequences.shape)}). Feed batches "
                "of that size, or build a new layer for another size.")
        return tree.map_structure(lambda s: s.to(sequences.device, sequences.dtype),
                                  self.states)

    def keep_states(self, states: Any) -> None:
        """A stateful layer keeps ``states`` (detached) for its next call; a shape-inference
        run on fake tensors changes nothing."""
        if self.stateful and not any(isinstance(s, FakeTensor) for s in tree.flatten(states)):
            self.states = tree.map_structure(lambda s: s.detach(), states)

    def reset_state(self) -> None:
        """A stateful layer's states back to zeros (Keras's ``reset_state``); a layer that
        is not stateful has none."""
        if self.states is not None:
            self.states = tree.map_structure(torch.zeros_like, self.states)

    def reset_states(self) -> None:
        """Keras's older name of :meth:`reset_state`."""
        self.reset_state()

    # ------------------------------------------------------------------ masks
    def check_mask(self, mask: Any, sequences: Tensor) -> Tensor:
        """A ``(batch, steps)`` boolean mask (Keras keeps a step where it is nonzero)."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        mask = to_tensor(mask)
        if tuple(mask.shape) != tuple(sequences.shape[:2]):
            raise ShapeError(
                f"{type(self).__name__} '{self.name}': the mask must have shape (batch, steps) "
                f"= {tuple(sequences.shape[:2])}, received {tuple(mask.shape)}."
            )
        return mask if mask.dtype == torch.bool else mask != 0

    def state_entries(self) -> int:
        """How many state entries ``return_state`` appends to the output."""
        raise NotImplementedError

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask, *[None] * self.state_entries()]
        return output_mask

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
        }

    def get_build_config(self) -> dict[str, Any] | None:
        """A stateful layer's build config keeps its batch size, which rebuilding needs."""
        config = super().get_build_config()
        if (config is not None and self.stateful and self.states is not None
                and is_shape(self._build_shapes)):
            batch = tree.flatten(self.states)[0].shape[0]
            config["input_shape"] = shapes_to_json((batch, *self._build_shapes[1:]))
        return config

    def build_from_config(self, config: dict[str, Any] | None) -> None:
        shape = (config or {}).get("input_shape")
        shape = shape.get("shape") if isinstance(shape, dict) else shape
        if self.stateful and isinstance(shape, list) and shape and isinstance(shape[0], int):
            self.__dict__["_stateful_batch"] = shape[0]  # (build shapes drop the batch axis)
        super().build_from_config(config)


class RNNLayer(RecurrentBase, RecurrentUnit):
    """What ``SimpleRNN``, ``LSTM`` and ``GRU`` share: a unit run over whole sequences.

    The weights and the step are the unit's (:class:`RecurrentUnit`); the sequence
    arguments are :class:`RecurrentBase`'s. A call runs torch's fused kernel when the unit's
    formulas are its (``fused_kind``), ``use_cudnn`` allows it, there is no recurrent
    dropout and the mask (if any) is right-padded with no empty row; else the step loop.
    The weights' paths are Keras's (``"lstm/lstm_cell/kernel"``: Keras keeps them in a cell
    layer).

    Call arguments:
        sequences: ``(batch, steps, features)``.
        initial_state: The initial state tensor(s), ``(batch, units)`` each. Default: zeros
            (a stateful layer's kept states).
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

    #: Keras's ``use_cudnn`` (LSTM and GRU take it): whether the fused kernel may run.
    use_cudnn: Any = "auto"
    #: The name of Keras's cell layer, the middle of the weights' paths.
    cell_name = "cell"

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != 3:
            raise ShapeError(
                f"{type(self).__name__} '{self.name}' expects inputs of shape (batch, steps, "
                f"features), received input shape {tuple(input_shape)}.")
        self.build_unit(self.input_dim_of(input_shape))
        for weight in self.parameters(recurse=False):
            weight.path = f"{self.name}/{self.cell_name}/{weight.name}"
        self.build_states(input_shape)

    def get_initial_state(self, batch_size: int) -> list[Tensor]:
        return [torch.zeros(batch_size, self.units, dtype=self.kernel.dtype,
                            device=self.kernel.device) for _ in range(self.state_count)]

    def state_entries(self) -> int:
        return self.state_count

    # ------------------------------------------------------------------ calling
    def call(self, sequences: Tensor, initial_state: Any = None, mask: Tensor | None = None,
             training: bool | None = None) -> Any:
        if sequences.dim() != 3:
            raise ShapeError(f"{type(self).__name__} '{self.name}' expects inputs of shape "
                             f"(batch, steps, features), received shape {tuple(sequences.shape)}.")
        if sequences.dtype != self.kernel.dtype:
            sequences = sequences.to(self.kernel.dtype)
        states = self.starting_states(initial_state, sequences)
        if self.use_cudnn is True:
            self._check_forced_kernel(mask)
        input_masks = recurrent_masks = None
        if training and (self.dropout or self.recurrent_dropout):
            input_masks, recurrent_masks = self.dropout_masks(sequences[:, 0])
            if input_masks is not None:
                input_masks = input_masks[:, :, None]  # the same mask at every step
        lengths, shortest = None, 0
        if mask is not None:
            mask = self.check_mask(mask, sequences)
            lengths = right_padded_lengths(mask)
            if lengths is not None:
                shortest = int(lengths.min())
                if shortest == sequences.shape[1]:
                    mask = lengths = None  # nothing is masked
        options = {"go_backwards": self.go_backwards, "return_sequences": self.return_sequences,
                   "zero_output_for_mask": self.zero_output_for_mask}
        if (self.fused_kind is not None and self.use_cudnn is not False
                and recurrent_masks is None and (input_masks is None or len(input_masks) == 1)
                and (mask is None or shortest > 0)):
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
                states = self.get_initial_state(sequences.shape[0])
            last, sequence, states = run_steps(step, projected, states, mask, **options)
        if self.stateful:
            self.keep_states(states)
        output = sequence if self.return_sequences else last
        return (output, *states) if self.return_state else output

    def _check_forced_kernel(self, mask: Any) -> None:
        """``use_cudnn=True`` where Keras (torch backend) refuses it: with a mask, recurrent
        dropout or GRU's ``reset_after=False``."""
        reason = ("a mask" if mask is not None
                  else f"recurrent_dropout={self.recurrent_dropout}" if self.recurrent_dropout
                  else "reset_after=False" if getattr(self, "reset_after", True) is False
                  else None)
        if reason is not None:
            raise ArgumentError(
                f"{type(self).__name__} '{self.name}': use_cudnn=True asks for the fused "
                f"kernel, which cannot run with {reason} (Keras refuses it too). Pass "
                "use_cudnn='auto' to fall back to the step loop.")

    def check_initial_state(self, initial_state: Any, sequences: Tensor) -> list[Tensor]:
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

    def torch_weights(self) -> list[Tensor]:
        """The weights in the layout of torch's fused kernel ``fused_kind``. The default
        serves SimpleRNN and LSTM, whose gate order is torch's: ``[kernel.T,
        recurrent_kernel.T]`` plus ``[bias, 0]``."""
        weights = [self.kernel.T, self.recurrent_kernel.T]
        if self.use_bias:
            weights += [self.bias, torch.zeros_like(self.bias)]
        return weights

    # ------------------------------------------------------------------ shapes and config
    def compute_output_shape(self, sequences_shape: Shape,
                             initial_state_shape: Any = None) -> Any:
        batch = sequences_shape[0]
        output = (batch, sequences_shape[1], self.units) if self.return_sequences else (
            batch, self.units)
        if self.return_state:
            return (output, *[(batch, self.units)] * self.state_count)
        return output

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer)}

    def extra_repr(self) -> str:
        return (f"name={self.name!r}, units={self.units}, "
                f"return_sequences={self.return_sequences}")
