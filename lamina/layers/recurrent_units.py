"""What a recurrent layer and its cell share: the cell's arguments, weights, dropout masks
and step formulas.

``RecurrentUnit`` holds Keras's cell arguments, creates the weights and draws the dropout
masks; ``SimpleRNNUnit``, ``LSTMUnit`` and ``GRUUnit`` add each cell's weights and its step
with Keras's formulas. ``SimpleRNN``/``LSTM``/``GRU`` (``recurrent.py``) run a unit over whole
sequences (through torch's fused kernels where they give Keras's result), the cells of
``rnn_cells.py`` one step per call, for ``RNN``: either way with the step written here.

Weights have Keras's layout: ``kernel (input_dim, units * gates)``, ``recurrent_kernel
(units, units * gates)``, ``bias`` (GRU's ``reset_after=True``: ``(2, units * 3)``, input
bias then recurrent bias), gates in Keras's order (LSTM ``i, f, c, o``; GRU ``z, r, h``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from lamina import activations, constraints, initializers, regularizers
from lamina.errors import ArgumentError, ArgumentTypeError, ShapeError
from lamina.layers import arguments
from lamina.layers.layer import Layer
from lamina.layers.recurrent_kernels import gate_matmul, keep_mask

Tensor = torch.Tensor
Activation = Callable[[Tensor], Tensor]


def lstm_gates(z: Tensor, c: Tensor, activation: Activation, recurrent_activation: Activation,
               dim: int = -1) -> tuple[Tensor, Tensor]:
    """Keras's LSTM step from the pre-activations ``z`` (gates ``i, f, c, o`` along ``dim``)
    and the previous carry ``c``: returns ``(h, c)``. ``LSTM``, ``LSTMCell`` and the
    convolutional LSTMs all step with it.

    Example:
        >>> h, c = lstm_gates(torch.zeros(1, 4), torch.ones(1, 1), torch.tanh, torch.sigmoid)
        >>> round(c.item(), 4), round(h.item(), 4)  # c = 0.5 * 1 + 0.5 * tanh(0)
        (0.5, 0.2311)
    """
    z_i, z_f, z_c, z_o = z.chunk(4, dim)
    c = recurrent_activation(z_f) * c + recurrent_activation(z_i) * activation(z_c)
    return recurrent_activation(z_o) * activation(c), c


class RecurrentUnit(Layer):
    """Keras's recurrent cell arguments and weights; subclasses write the step.

    A subclass sets ``gates`` and ``state_count``, creates its weights in
    ``build_unit(input_dim)`` (with :meth:`add_kernels` and :meth:`add_bias`) and writes
    ``step(inputs_t, states, recurrent_masks)``: one time step with Keras's formulas, where
    ``inputs_t`` is ``x_t @ kernel + input_bias()``.

    Args:
        units: Size of the states and of the output.
        activation: Default: ``"tanh"``.
        use_bias: Whether to add a bias. Default: ``True``.
        kernel_initializer: Default: ``"glorot_uniform"``.
        recurrent_initializer: Default: ``"orthogonal"``.
        bias_initializer: Default: ``"zeros"``.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: Penalties on the
            weights, in ``layer.losses``. Default: ``None``.
        kernel_constraint, recurrent_constraint, bias_constraint: Constraints applied to the
            weights after each optimizer step of ``fit``. Default: ``None``.
        dropout: Fraction of the inputs to drop in training, one mask per sample for all
            steps. Default: ``0.0``.
        recurrent_dropout: Fraction of the recurrent state to drop in training, one mask per
            sample for all steps. Default: ``0.0``.
        seed: Seed of a private generator for the dropout masks. Default: ``None``.

    Example:
        >>> unit = LSTMUnit(2)
        >>> unit.build_unit(3)
        >>> [(w.name, tuple(w.shape)) for w in unit.weights]
        [('kernel', (3, 8)), ('recurrent_kernel', (2, 8)), ('bias', (8,))]
    """

    gates = 1
    state_count = 1
    #: Keras's ``implementation``: 2 projects all gates at once, 1 gate by gate (with one
    #: dropout mask per gate); only LSTM and GRU take the argument.
    implementation = 2
    #: torch's fused kernel for the unit's formulas, when they are its (see recurrent_kernels).
    fused_kind: str | None = None

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
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        kind = type(self).__name__
        if not isinstance(units, (int, float)) or isinstance(units, bool):
            raise ArgumentTypeError(f"{kind}: units must be a positive int, received "
                                    f"units={units!r}.")
        if not arguments.is_int(units) or units <= 0:
            raise ArgumentError(f"{kind}: units must be a positive int, received units={units!r}.")
        rates = [arguments.number(rate, name, kind, minimum=0, below=1) for name, rate in
                 (("dropout", dropout), ("recurrent_dropout", recurrent_dropout))]
        seed = arguments.seed(seed, kind)
        super().__init__(**kwargs)
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout, self.recurrent_dropout = rates
        self.seed = seed
        self._generator = torch.Generator().manual_seed(seed) if seed is not None else None

    def _set_implementation(self, implementation: Any) -> None:
        """Keras's ``implementation`` (1 or 2); recurrent dropout forces 1, as in Keras."""
        if implementation not in (1, 2) or isinstance(implementation, bool):
            raise ArgumentError(f"{type(self).__name__}: implementation must be 1 or 2, "
                                f"received implementation={implementation!r}.")
        self.implementation = 1 if self.recurrent_dropout else int(implementation)

    # ------------------------------------------------------------------ weights
    def input_dim_of(self, input_shape: Any) -> int:
        """The feature size of ``input_shape`` (its last axis), which must be known."""
        input_dim = input_shape[-1] if len(input_shape) >= 2 else None
        if input_dim is None:
            raise ShapeError(
                f"{type(self).__name__} '{self.name}' needs the size of the inputs' last axis "
                f"(the features), received input shape {tuple(input_shape)}."
            )
        return int(input_dim)

    def add_kernels(self, input_dim: int) -> None:
        """``kernel`` and ``recurrent_kernel`` in Keras's shapes."""
        width = self.units * self.gates
        # Column-major memory makes kernel.T contiguous: torch's layout at no copy.
        self.kernel = self.add_weight(
            "kernel", (input_dim, width), initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
            column_major=True)
        self.recurrent_kernel = self.add_weight(
            "recurrent_kernel", (self.units, width), initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint,
            column_major=True)

    def add_bias(self, shape: tuple[int, ...]) -> None:
        """``bias`` of ``shape`` when ``use_bias``, else ``None``."""
        self.bias = self.add_weight(
            "bias", shape, initializer=self.bias_initializer, regularizer=self.bias_regularizer,
            constraint=self.bias_constraint) if self.use_bias else None

    def build_unit(self, input_dim: int) -> None:
        """Create the weights for inputs of ``input_dim`` features (subclasses)."""
        raise NotImplementedError

    def input_bias(self) -> Tensor:
        """The bias added to ``inputs @ kernel`` (all of it, except GRU's recurrent half)."""
        return self.bias

    def step(self, inputs_t: Tensor, states: list[Tensor],
             recurrent_masks: Tensor | None) -> tuple[Tensor, list[Tensor]]:
        """One step: ``(output, new_states)`` from the projected inputs (subclasses)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ dropout
    def dropout_masks(self, inputs_t: Tensor) -> tuple[Tensor | None, Tensor | None]:
        """The masks of one sequence (Keras draws one per sample for all steps): input masks
        ``(count, batch, features)`` and recurrent masks ``(count, batch, units)``, ``count``
        one per gate with implementation 1 (Keras's), else one; ``None`` for a rate of 0."""
        count = self.gates if self.implementation == 1 else 1
        batch, features = inputs_t.shape[0], inputs_t.shape[-1]
        input_masks = recurrent_masks = None
        if self.dropout:
            input_masks = keep_mask((count, batch, features), self.dropout, inputs_t,
                                    self._generator)
        if self.recurrent_dropout:
            recurrent_masks = keep_mask((count, batch, self.units), self.recurrent_dropout,
                                        inputs_t, self._generator)
        return input_masks, recurrent_masks

    # ------------------------------------------------------------------ config
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
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }


class SimpleRNNUnit(RecurrentUnit):
    """A fully connected unit: ``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel
    + bias)`` (:class:`RecurrentUnit`'s arguments).

    Example:
        >>> unit = SimpleRNNUnit(2, activation="relu", use_bias=False)
        >>> unit.build_unit(3)
        >>> unit.step(torch.ones(1, 2), [torch.zeros(1, 2)], None)[0].tolist()
        [[1.0, 1.0]]
    """

    def __init__(self, units: int, activation: Any = "tanh", **kwargs: Any) -> None:
        super().__init__(units, activation=activation, **kwargs)
        self.fused_kind = {torch.tanh: "tanh", torch.relu: "relu"}.get(self.activation)

    def build_unit(self, input_dim: int) -> None:
        self.add_kernels(input_dim)
        self.add_bias((self.units,))

    def step(self, inputs_t: Tensor, states: list[Tensor],
             recurrent_masks: Tensor | None) -> tuple[Tensor, list[Tensor]]:
        output = self.activation(inputs_t + gate_matmul(states[0], self.recurrent_kernel,
                                                        recurrent_masks))
        return output, [output]


class LSTMUnit(RecurrentUnit):
    """Long short-term memory (Hochreiter 1997), with Keras's gates ``i, f, c, o``.

    ``c_t = f * c_{t-1} + i * activation(z_c)`` and ``h_t = o * activation(c_t)``, where
    ``z = x_t @ kernel + h_{t-1} @ recurrent_kernel + bias`` and ``i, f, o`` are
    ``recurrent_activation`` of their parts of ``z`` (:func:`lstm_gates`). The states are
    ``[h, c]``.

    Args:
        recurrent_activation: Default: ``"sigmoid"``.
        unit_forget_bias: Start the forget gate's bias at 1. Default: ``True``.
        implementation: Keras's 1 (gate by gate) or 2 (all gates at once); only the number
            of dropout masks depends on it. Default: ``2``.

    The other arguments are :class:`RecurrentUnit`'s.

    Example:
        >>> unit = LSTMUnit(2)
        >>> unit.build_unit(3)
        >>> unit.bias.tolist()  # unit_forget_bias
        [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    """

    gates = 4
    state_count = 2

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
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        implementation: int = 2,
        **kwargs: Any,
    ) -> None:
        super().__init__(  # RecurrentUnit's arguments, in its order
            units, activation, use_bias, kernel_initializer, recurrent_initializer,
            bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
            kernel_constraint, recurrent_constraint, bias_constraint, dropout,
            recurrent_dropout, seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self._set_implementation(implementation)
        if self.activation is torch.tanh and self.recurrent_activation is torch.sigmoid:
            self.fused_kind = "lstm"

    def build_unit(self, input_dim: int) -> None:
        self.add_kernels(input_dim)
        self.add_bias((self.units * 4,))
        if self.bias is not None and self.unit_forget_bias:
            with torch.no_grad():  # Keras's forget-gate slice starts at ones
                self.bias[self.units:2 * self.units] = 1.0

    def step(self, inputs_t: Tensor, states: list[Tensor],
             recurrent_masks: Tensor | None) -> tuple[Tensor, list[Tensor]]:
        h, c = states
        z = inputs_t + gate_matmul(h, self.recurrent_kernel, recurrent_masks)
        h, c = lstm_gates(z, c, self.activation, self.recurrent_activation, dim=1)
        return h, [h, c]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias}


class GRUUnit(RecurrentUnit):
    """Gated recurrent unit (Cho et al. 2014), with Keras's gates ``z, r, h``.

    ``h_t = z * h_{t-1} + (1 - z) * activation(x_h + r * (h_{t-1} @ recurrent_kernel_h +
    recurrent_bias_h))`` with ``reset_after=True`` (Keras's default, torch's and cuDNN's
    formula); ``reset_after=False`` applies ``r`` before the product:
    ``activation(x_h + (r * h_{t-1}) @ recurrent_kernel_h)``.

    Args:
        recurrent_activation: Default: ``"sigmoid"``.
        reset_after: Default: ``True`` (bias of shape ``(2, 3 * units)``: input and
            recurrent biases).
        implementation: Keras's 1 or 2, as for :class:`LSTMUnit`. Default: ``2``.

    The other arguments are :class:`RecurrentUnit`'s.

    Example:
        >>> unit = GRUUnit(2, reset_after=False)
        >>> unit.build_unit(3)
        >>> tuple(unit.bias.shape), tuple(unit.recurrent_kernel.shape)
        ((6,), (2, 6))
    """

    gates = 3

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
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        reset_after: bool = True,
        seed: int | None = None,
        implementation: int = 2,
        **kwargs: Any,
    ) -> None:
        super().__init__(  # RecurrentUnit's arguments, in its order
            units, activation, use_bias, kernel_initializer, recurrent_initializer,
            bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
            kernel_constraint, recurrent_constraint, bias_constraint, dropout,
            recurrent_dropout, seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)
        self._set_implementation(implementation)
        if (self.reset_after and self.activation is torch.tanh
                and self.recurrent_activation is torch.sigmoid):
            self.fused_kind = "gru"

    def build_unit(self, input_dim: int) -> None:
        self.add_kernels(input_dim)
        self.add_bias((2, self.units * 3) if self.reset_after else (self.units * 3,))

    def input_bias(self) -> Tensor:
        return self.bias[0] if self.reset_after else self.bias

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
