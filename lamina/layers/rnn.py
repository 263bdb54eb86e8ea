"""``RNN``: Keras 3's generic recurrent layer, which runs any cell over a sequence.

A cell is a layer with ``state_size`` and ``call(inputs, states)`` returning ``(output,
new_states)``: lamina's ``SimpleRNNCell``, ``LSTMCell``, ``GRUCell``, a
``StackedRNNCells`` (a list of cells), or a cell of one's own written as in Keras's guide
"Working with RNNs". The loop and its masking rules are ``recurrent_kernels.run_steps``
(Keras's ``rnn`` backend function); ``RecurrentBase`` adds Keras's arguments, stateful
states and configs.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.errors import ArgumentError, ShapeError
from lamina.layers.layer import Layer, to_tensor
from lamina.layers.recurrent_base import RecurrentBase
from lamina.layers.recurrent_kernels import run_steps
from lamina.layers.rnn_cells import (
    StackedRNNCells,
    cell_entry,
    check_cell,
    nest_weight_paths,
    output_size_of,
    reset_dropout_masks,
)
from lamina.layers.serialization import deserialize_layer
from lamina.utils import tree

Tensor = torch.Tensor
Shape = tuple[int | None, ...]


class RNN(RecurrentBase):
    """Runs a cell over the time axis of ``(batch, steps, ...)`` inputs (Keras's ``RNN``).

    Args:
        cell: A cell: a layer with a ``state_size`` attribute (an int, or a list with one
            size per state) and ``call(inputs, states)`` (``training=`` optional) returning
            ``(output, new_states)``; optionally ``output_size`` and
            ``get_initial_state(batch_size)`` (else zero states). A list of cells is stacked
            (``StackedRNNCells``).
        return_sequences, return_state, go_backwards, stateful, unroll,
        zero_output_for_mask: Keras's (:class:`~lamina.layers.recurrent_base.RecurrentBase`).

    Call arguments:
        sequences: ``(batch, steps, ...)``; the cell gets ``(batch, ...)`` per step.
        initial_state: The initial states, as the cell's ``get_initial_state`` gives them.
            Default: zeros (a stateful layer's kept states).
        mask: ``(batch, steps)``; a step where it is ``False`` leaves the states unchanged
            and repeats the previous output (zeros before the first kept step).
        training: Passed to the cell when its ``call`` takes it.

    Output shape:
        ``(batch, output_size)``, or ``(batch, steps, output_size)`` with
        ``return_sequences``; with ``return_state``, a tuple ``(output, *states)``.

    The weights are the cell's, in Keras's order and paths (``"rnn/lstm_cell/kernel"``):
    ``RNN(LSTMCell(4))`` takes the weights of ``LSTM(4)``, and computes what it does.

    Example:
        >>> from lamina import ops
        >>> class MinimalRNNCell(Layer):
        ...     def __init__(self, units, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.units = units
        ...         self.state_size = units
        ...     def build(self, input_shape):
        ...         self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
        ...                                       initializer="ones", name="kernel")
        ...     def call(self, inputs, states):
        ...         output = ops.matmul(inputs, self.kernel) + states[0]
        ...         return output, [output]
        >>> layer = RNN(MinimalRNNCell(2), return_sequences=True)
        >>> layer(torch.ones(1, 3, 4))[0].tolist()  # a running sum of 4 per step
        [[4.0, 4.0], [8.0, 8.0], [12.0, 12.0]]
    """

    def __init__(self, cell: Any, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, **kwargs: Any) -> None:
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        check_cell(cell, type(self).__name__)
        state_size = cell.state_size
        if not isinstance(state_size, (int, list, tuple)) or isinstance(state_size, bool):
            raise ArgumentError(
                f"{type(self).__name__}: the cell's state_size must be an int or a list of "
                f"ints (one per state), received state_size={state_size!r}.")
        super().__init__(return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         zero_output_for_mask=zero_output_for_mask, **kwargs)
        self.cell = cell

    @property
    def state_size(self) -> list[Any]:
        """The cell's state sizes, as a list (Keras's)."""
        size = self.cell.state_size
        return [size] if isinstance(size, int) else list(size)

    @property
    def state_count(self) -> int:
        """How many state entries ``return_state`` appends (one per cell for a stack)."""
        return len(self.state_size)

    def state_entries(self) -> int:
        return self.state_count

    # ------------------------------------------------------------------ building
    def build(self, sequences_shape: Shape, initial_state_shape: Any = None) -> None:
        if len(sequences_shape) < 3:
            raise ShapeError(
                f"{type(self).__name__} '{self.name}' expects inputs of shape (batch, steps, "
                f"...), received input shape {tuple(sequences_shape)}.")
        step_shape = (sequences_shape[0], *sequences_shape[2:])
        if isinstance(self.cell, Layer):
            self.cell.ensure_built(step_shape)
        nest_weight_paths(self.cell, self.name)
        self.build_states(sequences_shape)

    def get_initial_state(self, batch_size: int) -> list[Any]:
        """The cell's ``get_initial_state``, as a list; zeros when it has none."""
        make = getattr(self.cell, "get_initial_state", None)
        if not callable(make):
            weight = next(self.cell.parameters(), None)  # the states go where the weights are
            device = weight.device if weight is not None else None
            return [torch.zeros(batch_size, *(size if isinstance(size, (list, tuple))
                                              else (size,)), dtype=self.cell.dtype,
                                device=device)
                    for size in self.state_size]
        states = make(batch_size=batch_size)
        return list(states) if tree.is_nested(states) else [states]

    def check_initial_state(self, initial_state: Any, sequences: Tensor) -> list[Any]:
        states = list(initial_state) if tree.is_nested(initial_state) else [initial_state]
        expected = self.get_initial_state(sequences.shape[0])
        given, wanted = tree.flatten(states), tree.flatten(expected)
        shapes = [tuple(getattr(s, "shape", ())) for s in given]
        if len(given) != len(wanted) or any(
                shape != tuple(w.shape) for shape, w in zip(shapes, wanted)):
            raise ShapeError(
                f"{type(self).__name__} '{self.name}' takes initial states of shapes "
                f"{[tuple(w.shape) for w in wanted]}, received {shapes}.")
        return tree.pack_as(states, [to_tensor(s).to(sequences.device, sequences.dtype)
                                     for s in given])

    # ------------------------------------------------------------------ calling
    def call(self, sequences: Tensor, initial_state: Any = None, mask: Tensor | None = None,
             training: bool | None = None) -> Any:
        if sequences.dim() < 3:
            raise ShapeError(f"{type(self).__name__} '{self.name}' expects inputs of shape "
                             f"(batch, steps, ...), received shape {tuple(sequences.shape)}.")
        if sequences.is_floating_point() and sequences.dtype != self.cell.dtype:
            sequences = sequences.to(self.cell.dtype)
        states = self.starting_states(initial_state, sequences)
        if states is None:
            states = [tree.map_structure(lambda s: s.to(sequences.device, sequences.dtype), s)
                      for s in self.get_initial_state(sequences.shape[0])]
        if mask is not None:
            mask = self.check_mask(mask, sequences)
        structure = states
        cell = self.cell

        def step(inputs_t: Tensor, flat_states: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
            output, new_states = cell(inputs_t, tuple(tree.pack_as(structure, flat_states)),
                                      training=training)
            return output, tree.flatten(new_states)

        reset_dropout_masks(cell)
        try:
            last, sequence, flat = run_steps(
                step, sequences, tree.flatten(states), mask, go_backwards=self.go_backwards,
                return_sequences=self.return_sequences,
                zero_output_for_mask=self.zero_output_for_mask)
        finally:
            reset_dropout_masks(cell)
        states = tree.pack_as(structure, flat)
        if self.stateful:
            self.keep_states(states)
        output = sequence if self.return_sequences else last
        return (output, *states) if self.return_state else output

    # ------------------------------------------------------------------ shapes and config
    def compute_output_shape(self, sequences_shape: Shape,
                             initial_state_shape: Any = None) -> Any:
        batch = sequences_shape[0]
        states = [[(batch, s) for s in size] if isinstance(size, (list, tuple))
                  else (batch, size) for size in self.state_size]
        output_size = output_size_of(self.cell)
        output = ((batch, sequences_shape[1], output_size) if self.return_sequences
                  else (batch, output_size))
        return (output, *states) if self.return_state else output

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cell": cell_entry(self.cell)}

    @classmethod
    def from_config(cls, config: dict[str, Any],
                    custom_objects: dict[str, Any] | None = None) -> RNN:
        config = dict(config)
        cell = config.pop("cell")
        if isinstance(cell, dict):
            cell = deserialize_layer(cell, custom_objects)
        elif isinstance(cell, (list, tuple)):
            cell = [deserialize_layer(entry, custom_objects) for entry in cell]
        return cls(cell, **config)

    def extra_repr(self) -> str:
        return f"name={self.name!r}, cell={getattr(self.cell, 'name', self.cell)!r}"
