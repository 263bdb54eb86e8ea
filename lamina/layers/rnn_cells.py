"""Keras 3's recurrent cells: ``SimpleRNNCell``, ``LSTMCell``, ``GRUCell`` and
``StackedRNNCells``, what ``RNN`` runs over a sequence one step per call.

A cell is its unit (``recurrent_units``: Keras's arguments, weights and step formulas, the
ones ``SimpleRNN``, ``LSTM`` and ``GRU`` run) with Keras's cell API: ``state_size``,
``output_size``, ``call(inputs, states, training=None)`` returning ``(output,
new_states)``, ``get_initial_state(batch_size)`` and the dropout masks, drawn once per
sequence (``RNN`` resets them after each call, as Keras's ``DropoutRNNCell``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lamina.errors import ArgumentError, ArgumentTypeError
from lamina.layers.layer import Layer
from lamina.layers.recurrent_kernels import gate_matmul
from lamina.layers.recurrent_units import GRUUnit, LSTMUnit, RecurrentUnit, SimpleRNNUnit
from lamina.layers.serialization import builtin_classes, deserialize_layer, serialize_layer
from lamina.utils import tree

Tensor = torch.Tensor


def nest_weight_paths(layer: nn.Module, prefix: str) -> None:
    """Keras's paths for the weights of a layer another layer holds:
    ``"<prefix>/<layer name>/<weight name>"``, nested layers likewise (a cell in a stack in
    an ``RNN``: ``"rnn/stacked_rnn_cells/lstm_cell/kernel"``)."""
    here = f"{prefix}/{layer.name}" if isinstance(layer, Layer) else prefix
    for weight in layer.parameters(recurse=False):
        if hasattr(weight, "variable_name"):
            weight.path = f"{here}/{weight.variable_name}"
    for child in layer.children():
        nest_weight_paths(child, here)


def cell_entry(cell: Layer) -> dict[str, Any]:
    """A cell's config entry (``serialize_layer``'s); lamina's own cells also carry Keras's
    ``module`` and ``registered_name``, so Keras's ``deserialize`` finds its class of the same
    name."""
    entry = serialize_layer(cell)
    if builtin_classes().get(type(cell).__name__) is type(cell):
        entry = {"module": "keras.layers", **entry, "registered_name": None}
    return entry


def check_cell(cell: Any, owner: str) -> None:
    """Keras's requirements of a cell: a ``call`` method and a ``state_size``; a lamina
    cell is also a lamina layer."""
    if not callable(getattr(cell, "call", None)):
        raise ArgumentError(f"{owner}: a cell must have a `call` method, received {cell!r}.")
    if getattr(cell, "state_size", None) is None:
        raise ArgumentError(
            f"{owner}: a cell must have a `state_size` attribute (an int, or a list of ints: "
            f"one per state), received {cell!r}.")
    if not isinstance(cell, Layer):
        raise ArgumentTypeError(f"{owner}: a cell must be a lamina layer, received {cell!r}.")


class RNNCell(RecurrentUnit):
    """A unit run one step per call (the base of ``SimpleRNNCell``, ``LSTMCell``,
    ``GRUCell``).

    Call arguments:
        inputs: ``(batch, features)``, one time step.
        states: The previous states, a list (or, for one state, a tensor): ``(batch,
            units)`` each.
        training: Whether dropout applies. Default: the layer's mode.

    Returns:
        ``(output, new_states)``; ``new_states`` is a list, or a tensor when ``states`` was.

    Example:
        >>> cell = GRUCell(2)
        >>> output, states = cell(torch.ones(1, 3), cell.get_initial_state(1))
        >>> tuple(output.shape), len(states), cell.output_size
        ((1, 2), 1, 2)
    """

    _dropout_cache: tuple[Tensor | None, Tensor | None] | None = None

    @property
    def state_size(self) -> int | list[int]:
        """Keras's: the size of each state (an int for one state)."""
        return [self.units] * self.state_count if self.state_count > 1 else self.units

    @property
    def output_size(self) -> int:
        return self.units

    def build(self, input_shape: Any) -> None:
        self.build_unit(self.input_dim_of(input_shape))

    def call(self, inputs: Tensor, states: Any, training: bool | None = None) -> Any:
        nested = isinstance(states, (list, tuple))
        states = list(states) if nested else [states]
        if inputs.dtype != self.kernel.dtype:
            inputs = inputs.to(self.kernel.dtype)
        input_masks = recurrent_masks = None
        if training and (self.dropout or self.recurrent_dropout):
            input_masks = self.get_dropout_mask(inputs)
            recurrent_masks = self.get_recurrent_dropout_mask(states[0])
        projected = gate_matmul(inputs, self.kernel, input_masks)
        if self.use_bias:
            projected = projected + self.input_bias()
        output, new_states = self.step(projected, states, recurrent_masks)
        return output, new_states if nested or len(new_states) != 1 else new_states[0]

    def get_initial_state(self, batch_size: int | None = None) -> list[Tensor]:
        """Zero states, ``(batch_size, units)`` each, as a list."""
        device = self.kernel.device if self.built else None
        return [torch.zeros(batch_size, self.units, dtype=self.dtype, device=device)
                for _ in range(self.state_count)]

    # ------------------------------------------------------------------ Keras's dropout API
    def _masks_for(self, inputs: Tensor) -> tuple[Tensor | None, Tensor | None]:
        if self._dropout_cache is None:
            self._dropout_cache = self.dropout_masks(inputs)
        return self._dropout_cache

    def get_dropout_mask(self, step_input: Tensor) -> Tensor | None:
        """This sequence's input dropout masks, ``(count, batch, features)`` (drawn on first
        use, kept until :meth:`reset_dropout_mask`); ``None`` without dropout."""
        return self._masks_for(step_input)[0]

    def get_recurrent_dropout_mask(self, step_input: Tensor) -> Tensor | None:
        """This sequence's recurrent dropout masks, ``(count, batch, units)``."""
        return self._masks_for(step_input)[1]

    def reset_dropout_mask(self) -> None:
        """Forget the masks: the next sequence draws new ones (``RNN`` calls it)."""
        self._dropout_cache = None

    def reset_recurrent_dropout_mask(self) -> None:
        self._dropout_cache = None


class SimpleRNNCell(RNNCell, SimpleRNNUnit):
    """The cell of ``SimpleRNN``: ``h_t = activation(x_t @ kernel + h_{t-1} @
    recurrent_kernel + bias)``, one state.

    Args:
        units, activation, use_bias, kernel_initializer, recurrent_initializer,
        bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
        kernel_constraint, recurrent_constraint, bias_constraint, dropout,
        recurrent_dropout, seed: Keras's (:class:`~lamina.layers.recurrent_units.RecurrentUnit`).

    The call is :class:`RNNCell`'s.

    Example:
        >>> cell = SimpleRNNCell(3)
        >>> output, state = cell(torch.ones(2, 4), [torch.zeros(2, 3)])
        >>> tuple(output.shape), cell.state_size, bool((state[0] == output).all())
        ((2, 3), 3, True)
    """


class LSTMCell(RNNCell, LSTMUnit):
    """The cell of ``LSTM`` (gates ``i, f, c, o``); its states are ``[h, c]``.

    Args:
        units, activation, recurrent_activation, use_bias, kernel_initializer,
        recurrent_initializer, bias_initializer, unit_forget_bias, kernel_regularizer,
        recurrent_regularizer, bias_regularizer, kernel_constraint, recurrent_constraint,
        bias_constraint, dropout, recurrent_dropout, seed, implementation: Keras's
            (:class:`~lamina.layers.recurrent_units.LSTMUnit`).

    The call is :class:`RNNCell`'s.

    Example:
        >>> cell = LSTMCell(3)
        >>> h, (h_again, c) = cell(torch.ones(2, 4), cell.get_initial_state(2))
        >>> cell.state_size, tuple(c.shape), [w.name for w in cell.weights]
        ([3, 3], (2, 3), ['kernel', 'recurrent_kernel', 'bias'])
    """


class GRUCell(RNNCell, GRUUnit):
    """The cell of ``GRU`` (gates ``z, r, h``), one state.

    Args:
        units, activation, recurrent_activation, use_bias, kernel_initializer,
        recurrent_initializer, bias_initializer, kernel_regularizer, recurrent_regularizer,
        bias_regularizer, kernel_constraint, recurrent_constraint, bias_constraint, dropout,
        recurrent_dropout, reset_after, seed, implementation: Keras's
            (:class:`~lamina.layers.recurrent_units.GRUUnit`).

    The call is :class:`RNNCell`'s.

    Example:
        >>> cell = GRUCell(3, reset_after=False)
        >>> output, state = cell(torch.ones(2, 4), torch.zeros(2, 3))  # a tensor in, out
        >>> tuple(state.shape), tuple(cell.bias.shape)
        ((2, 3), (9,))
    """


class StackedRNNCells(Layer):
    """Cells stacked into one cell: each step runs them in order, each cell's output the
    next one's input (Keras's; ``RNN([cell, cell])`` makes one).

    Args:
        cells: A list of cells (layers with ``state_size`` and ``call(inputs, states)``).

    ``state_size`` lists the cells' state sizes; the states are one entry per cell (a list
    for a cell with several states, or with a ``get_initial_state`` returning a list).

    Example:
        >>> stack = StackedRNNCells([LSTMCell(4), GRUCell(2)])
        >>> states = stack.get_initial_state(3)
        >>> output, (lstm_states, gru_states) = stack(torch.ones(3, 5), states)
        >>> tuple(output.shape), stack.state_size, stack.output_size
        ((3, 2), [[4, 4], 2], 2)
    """

    def __init__(self, cells: Any, **kwargs: Any) -> None:
        try:
            cells = list(cells)
        except TypeError:
            raise ArgumentTypeError(f"StackedRNNCells: cells must be a list of cells, received "
                                    f"cells={cells!r}.") from None
        for cell in cells:
            check_cell(cell, "StackedRNNCells")
        super().__init__(**kwargs)
        self.cells = nn.ModuleList(cells)

    @property
    def state_size(self) -> list[Any]:
        return [cell.state_size for cell in self.cells]

    @property
    def output_size(self) -> int:
        return output_size_of(self.cells[-1])

    def get_initial_state(self, batch_size: int | None = None) -> list[Any]:
        states = []
        for cell in self.cells:
            weight = next(cell.parameters(), None)  # the states go where the weights are
            device = weight.device if weight is not None else None
            if callable(getattr(cell, "get_initial_state", None)):
                states.append(cell.get_initial_state(batch_size=batch_size))
            elif isinstance(cell.state_size, int):
                states.append(torch.zeros(batch_size, cell.state_size, dtype=self.dtype,
                                          device=device))
            else:
                states.append([torch.zeros(batch_size, size, dtype=self.dtype, device=device)
                               for size in cell.state_size])
        return states

    def call(self, inputs: Tensor, states: Any, training: bool | None = None) -> Any:
        new_states = []
        for cell, cell_states in zip(self.cells, states):
            nested = tree.is_nested(cell_states)
            inputs, cell_states = cell(inputs, list(cell_states) if nested else [cell_states],
                                       training=training)
            if not nested and isinstance(cell_states, (list, tuple)) and len(cell_states) == 1:
                cell_states = cell_states[0]
            new_states.append(cell_states)
        return inputs, new_states[0] if len(new_states) == 1 else new_states

    def build(self, input_shape: Any) -> None:
        batch = tree.flatten(input_shape)[0] if input_shape else None
        for cell in self.cells:
            if isinstance(cell, Layer):
                cell.ensure_built(input_shape)
            nest_weight_paths(cell, self.name)
            input_shape = (batch, output_size_of(cell))

    def reset_dropout_mask(self) -> None:
        for cell in self.cells:
            reset_dropout_masks(cell)

    def reset_recurrent_dropout_mask(self) -> None:
        self.reset_dropout_mask()

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cells": [cell_entry(cell) for cell in self.cells]}

    @classmethod
    def from_config(cls, config: dict[str, Any],
                    custom_objects: dict[str, Any] | None = None) -> StackedRNNCells:
        config = dict(config)
        cells = [deserialize_layer(entry, custom_objects) for entry in config.pop("cells")]
        return cls(cells, **config)


def output_size_of(cell: Any) -> int:
    """A cell's output size: its ``output_size``, else its (first) state size (Keras's)."""
    size = getattr(cell, "output_size", None)
    if size is not None:
        return size
    state_size = cell.state_size
    return state_size[0] if isinstance(state_size, (list, tuple)) else state_size


def reset_dropout_masks(cell: Any) -> None:
    """Forget a cell's dropout masks (Keras's ``DropoutRNNCell`` API), if it keeps any."""
    for method in ("reset_dropout_mask", "reset_recurrent_dropout_mask"):
        if callable(getattr(cell, method, None)):
            getattr(cell, method)()
