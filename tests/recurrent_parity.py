"""Cases and helpers of ``test_recurrent_keras_parity.py``: Keras 3 on its torch backend as the
reference for the recurrent layers (``SimpleRNN``, ``LSTM``, ``GRU``, their cells,
``StackedRNNCells``, ``RNN`` over any cell, ``Bidirectional`` over ``RNN``, ``ConvLSTM1D/2D/3D``).

A :class:`Case` builds its layer from a library (:class:`Lib`: ``keras.layers`` or
``lamina.layers``, plus the user cell of Keras's guide written for each), with the shape of
its input, a mask (passed as ``mask=`` or carried by the input), initial states and whether
it is a cell called on one step. :func:`run` builds both layers on the same data, copies
Keras's weights into lamina (``set_weights`` of ``w.value`` for Keras's weights) and
:func:`outputs` calls either side.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.utils import tree

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "torch":
    pytest.skip("the Keras reference runs on its torch backend", allow_module_level=True)

#: Masks over (batch 2, steps 5): holes, a left-padded row, a right-padded row and a row
#: with every step masked.
MASKS = {
    "holes": [[1, 0, 1, 1, 0], [0, 1, 1, 0, 1]],
    "right_empty": [[1, 1, 1, 0, 0], [0, 0, 0, 0, 0]],
    "left": [[0, 0, 1, 1, 1], [0, 1, 1, 1, 1]],
    "right": [[1, 1, 1, 1, 0], [1, 1, 0, 0, 0]],
}


# ---------------------------------------------------------------------------- the user cell
@keras.saving.register_keras_serializable(package="parity")
class KerasMinimalRNNCell(keras.layers.Layer):
    """The cell of Keras's guide "Working with RNNs" (Keras's side)."""

    def __init__(self, units: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape: Any) -> None:
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                      initializer="uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                initializer="uniform", name="recurrent_kernel")

    def call(self, inputs: Any, states: Any) -> Any:
        prev_output = states[0]
        h = keras.ops.matmul(inputs, self.kernel)
        output = h + keras.ops.matmul(prev_output, self.recurrent_kernel)
        return output, [output]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units}


class MinimalRNNCell(layers.Layer):
    """The same cell, written for lamina as the guide writes it for Keras."""

    def __init__(self, units: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape: Any) -> None:
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                      initializer="uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                initializer="uniform", name="recurrent_kernel")

    def call(self, inputs: Any, states: Any) -> Any:
        prev_output = states[0]
        h = lamina.ops.matmul(inputs, self.kernel)
        output = h + lamina.ops.matmul(prev_output, self.recurrent_kernel)
        return output, [output]


class Lib:
    """``keras.layers`` or ``lamina.layers``, with the user cell as ``MinimalRNNCell``."""

    def __init__(self, side: str) -> None:
        self.side = side
        self.module = keras.layers if side == "keras" else layers

    def __getattr__(self, name: str) -> Any:
        if name == "MinimalRNNCell":
            return KerasMinimalRNNCell if self.side == "keras" else MinimalRNNCell
        return getattr(self.module, name)


# ---------------------------------------------------------------------------- cases
@dataclass
class Case:
    id: str
    make: Any  # Lib -> layer
    shape: tuple[int, ...] = (2, 5, 3)
    mask: str | None = None
    carried_mask: bool = False  # the mask rides on the input (_keras_mask), not mask=
    initial_state: bool = False
    cell: bool = False  # a cell, called as cell(x_t, states)
    custom: bool = False  # holds the user cell (configs need it by name)
    wrapper: bool = False  # Bidirectional: weights paths are the wrapper's business

    def layer(self, side: str) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.make(Lib(side))


def data(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


@dataclass
class Pair:
    case: Case
    keras: Any
    lamina: Any
    x: np.ndarray
    mask: np.ndarray | None
    states: Any  # numpy initial states (a structure) or None


def initial_states_of(layer: Any, case: Case) -> Any:
    """Random initial states in the structure the lamina layer (or cell) takes."""
    batch = case.shape[0]
    if case.cell:
        template = layer.get_initial_state(batch)
    elif isinstance(layer, layers.RNN):
        template = layer.get_initial_state(batch)
    elif isinstance(layer, layers.Bidirectional):
        half = layer.forward_layer
        template = [*initial_states_of(half, case), *initial_states_of(layer.backward_layer,
                                                                       case)]
        return template
    else:
        template = [torch.zeros(batch, layer.units)] * layer.state_count
    leaves = tree.flatten(template)
    return tree.pack_as(template, [data(tuple(t.shape), seed=11 + i)
                                   for i, t in enumerate(leaves)])


def _tensors(states: Any) -> Any:
    return tree.map_structure(lambda a: torch.from_numpy(a.copy()), states)


def call(layer: Any, pair: Pair, x: torch.Tensor) -> Any:
    case = pair.case
    if case.cell:
        states = pair.states if pair.states is not None else initial_states_of(pair.lamina, case)
        return layer(x[:, 0], _tensors(states))
    kwargs: dict[str, Any] = {}
    if pair.mask is not None:
        mask = torch.from_numpy(pair.mask)
        if case.carried_mask:
            x._keras_mask = mask
        else:
            kwargs["mask"] = mask
    if pair.states is not None:
        kwargs["initial_state"] = _tensors(pair.states)
    return layer(x, **kwargs)


def run(case: Case) -> Pair:
    """Both layers built on the case's input, lamina holding Keras's weights."""
    x = data(case.shape)
    mask = np.array(MASKS[case.mask], dtype=bool) if case.mask else None
    theirs, ours = case.layer("keras"), case.layer("lamina")
    pair = Pair(case, theirs, ours, x, mask, None)
    call(ours, pair, torch.from_numpy(x.copy()))  # built: its states' shapes are known
    if case.initial_state or case.cell:
        pair.states = initial_states_of(ours, case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        call(theirs, pair, torch.from_numpy(x.copy()))
    ours.set_weights(keras_weights(theirs))
    return pair


def keras_weights(layer: Any) -> list[np.ndarray]:
    return [w.value.detach().cpu().numpy() for w in layer.weights]


def outputs(pair: Pair, side: str, grad: bool = False) -> tuple[list[torch.Tensor], Any,
                                                                   torch.Tensor]:
    """(flat outputs, the output structure, the input tensor) of one side's call."""
    layer = pair.keras if side == "keras" else pair.lamina
    x = torch.from_numpy(pair.x.copy()).requires_grad_(grad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = call(layer, pair, x)
    return tree.flatten(result), shapes_of(result), x


def shapes_of(structure: Any) -> Any:
    """A structure of outputs as nested lists of shapes (tuples and lists alike)."""
    if isinstance(structure, (list, tuple)):
        return [shapes_of(s) for s in structure]
    return tuple(structure.shape)


def close(actual: Any, expected: Any, atol: float = 1e-5) -> None:
    as_numpy = [t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
                for t in (actual, expected)]
    np.testing.assert_allclose(*as_numpy, rtol=1e-5, atol=atol)


# ---------------------------------------------------------------------------- configs
def normalized(value: Any) -> Any:
    """A config for comparison: tuples as lists, an object entry as ``(class_name,
    config)`` (module, registered name and build config left out), a dtype policy as its
    name, and no ``name`` keys (nested cells are named by each library's counters)."""
    if isinstance(value, dict):
        if "class_name" in value and "config" in value:
            if value["class_name"] == "DTypePolicy":
                return value["config"]["name"]
            return (value["class_name"].split(">")[-1], normalized(value["config"]))
        return {k: normalized(v) for k, v in value.items() if k != "name"}
    if isinstance(value, (list, tuple)):
        return [normalized(v) for v in value]
    return value


def config_differences(mine: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    mine, theirs = normalized(mine), normalized(theirs)
    found = []
    if set(theirs) - set(mine):
        found.append(f"keys only in Keras: {sorted(set(theirs) - set(mine))}")
    if set(mine) - set(theirs):
        found.append(f"keys only in lamina: {sorted(set(mine) - set(theirs))}")
    found += [f"{key}: Keras {theirs[key]!r}, lamina {mine[key]!r}"
              for key in sorted(set(mine) & set(theirs)) if not same(mine[key], theirs[key])]
    return found


def same(mine: Any, theirs: Any) -> bool:
    """Equal, floats to float32 precision (Keras keeps regularizer factors as float32);
    Keras's class names of its user cell and lamina's agree up to the prefix."""
    if isinstance(mine, float) or isinstance(theirs, float):
        return (isinstance(mine, (int, float)) and isinstance(theirs, (int, float))
                and abs(mine - theirs) <= 1e-7 * max(abs(mine), abs(theirs), 1e-30))
    if isinstance(mine, dict) and isinstance(theirs, dict):
        return mine.keys() == theirs.keys() and all(same(mine[k], theirs[k]) for k in mine)
    if isinstance(mine, (list, tuple)) and isinstance(theirs, (list, tuple)):
        return len(mine) == len(theirs) and all(same(a, b) for a, b in zip(mine, theirs))
    if isinstance(mine, str) and isinstance(theirs, str):
        return mine == theirs or {mine, theirs} == {"MinimalRNNCell", "KerasMinimalRNNCell"}
    return mine == theirs


def raised(attempt: Any) -> type | None:
    """The builtin class (ValueError or TypeError) of what ``attempt`` raises."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            attempt()
    except TypeError:
        return TypeError
    except ValueError:
        return ValueError
    return None


# ---------------------------------------------------------------------------- the table
def case(case_id: str, make: Any, **kwargs: Any) -> Any:
    return pytest.param(Case(case_id, make, **kwargs), id=case_id)


PENALTIES = {"kernel_regularizer": "l2", "recurrent_regularizer": "l1",
             "bias_regularizer": {"class_name": "L1L2", "config": {"l1": 0.01, "l2": 0.02}},
             "activity_regularizer": "l2", "kernel_constraint": "max_norm",
             "recurrent_constraint": "unit_norm", "bias_constraint": "non_neg",
             "bias_initializer": "random_normal"}
CELL_PENALTIES = {k: v for k, v in PENALTIES.items() if k != "activity_regularizer"}
#: Keras 3.15's SimpleRNN takes activity_regularizer but drops it (never applied, None in
#: its config); lamina's applies it (test_simple_rnn_keeps_its_activity_regularizer).
LAYER_PENALTIES = {"SimpleRNN": CELL_PENALTIES, "LSTM": PENALTIES, "GRU": PENALTIES}
IMAGES_1D, IMAGES_2D, IMAGES_3D = (2, 5, 6, 2), (2, 5, 5, 4, 2), (2, 5, 3, 4, 3, 1)

_LAYER_CASES = []
for _name in ("SimpleRNN", "LSTM", "GRU"):
    _LAYER_CASES += [
        case(f"{_name}-default", lambda L, n=_name: getattr(L, n)(4)),
        case(f"{_name}-sequences-state-backwards-holes-initial", lambda L, n=_name: getattr(
            L, n)(4, return_sequences=True, return_state=True, go_backwards=True),
             mask="holes", initial_state=True),
        case(f"{_name}-fully-masked-row", lambda L, n=_name: getattr(L, n)(
            4, return_sequences=True, return_state=True), mask="right_empty"),
        case(f"{_name}-left-padded-zero-output", lambda L, n=_name: getattr(L, n)(
            4, return_sequences=True, zero_output_for_mask=True), mask="left"),
        case(f"{_name}-right-padded-carried-backwards", lambda L, n=_name: getattr(L, n)(
            4, return_sequences=True, go_backwards=True), mask="right", carried_mask=True),
        case(f"{_name}-penalties-constraints", lambda L, n=_name: getattr(L, n)(
            4, return_sequences=True, **LAYER_PENALTIES[n])),
        case(f"{_name}-no-bias-relu-unroll", lambda L, n=_name: getattr(L, n)(
            4, use_bias=False, activation="relu", unroll=True)),
        case(f"{_name}-dropout-configured", lambda L, n=_name: getattr(L, n)(
            4, dropout=0.3, recurrent_dropout=0.2, seed=3, return_state=True)),
    ]
for _name in ("LSTM", "GRU"):
    _LAYER_CASES += [
        case(f"{_name}-use_cudnn-false-masked", lambda L, n=_name: getattr(L, n)(
            4, use_cudnn=False, return_sequences=True), mask="right"),
        case(f"{_name}-use_cudnn-true", lambda L, n=_name: getattr(L, n)(4, use_cudnn=True)),
        case(f"{_name}-implementation-1-hard-sigmoid", lambda L, n=_name: getattr(L, n)(
            3, implementation=1, recurrent_activation="hard_sigmoid", return_state=True)),
    ]
_LAYER_CASES += [
    case("LSTM-no-unit-forget-bias", lambda L: L.LSTM(4, unit_forget_bias=False,
                                                      bias_initializer="ones")),
    case("GRU-reset-before-holes", lambda L: L.GRU(4, reset_after=False, return_sequences=True,
                                                   return_state=True), mask="holes"),
]

_RNN_CASES = [
    case("RNN-SimpleRNNCell", lambda L: L.RNN(L.SimpleRNNCell(4, name="cell"))),
    case("RNN-LSTMCell-holes-initial-sequences-state", lambda L: L.RNN(
        L.LSTMCell(4, name="cell"), return_sequences=True, return_state=True),
         mask="holes", initial_state=True),
    case("RNN-GRUCell-reset-before-backwards", lambda L: L.RNN(
        L.GRUCell(4, reset_after=False, name="cell"), go_backwards=True,
        return_sequences=True), mask="right_empty"),
    case("RNN-LSTMCell-penalties", lambda L: L.RNN(
        L.LSTMCell(4, name="cell", **CELL_PENALTIES), return_sequences=True,
        activity_regularizer="l1")),
    case("RNN-stacked-list-state", lambda L: L.RNN(
        [L.LSTMCell(4, name="cell_a"), L.GRUCell(3, name="cell_b")], return_state=True),
         mask="left", initial_state=True),
    case("RNN-StackedRNNCells-zero-output", lambda L: L.RNN(L.StackedRNNCells(
        [L.SimpleRNNCell(3, name="cell_a"), L.LSTMCell(2, name="cell_b")]),
        return_sequences=True, zero_output_for_mask=True), mask="holes"),
    case("RNN-user-cell", lambda L: L.RNN(L.MinimalRNNCell(4, name="cell"),
                                          return_sequences=True), custom=True),
    case("RNN-user-cell-masked-state", lambda L: L.RNN(L.MinimalRNNCell(3, name="cell"),
                                                       return_state=True, go_backwards=True),
         mask="holes", initial_state=True, custom=True),
    case("RNN-stacked-user-and-LSTM-cells", lambda L: L.RNN(
        [L.MinimalRNNCell(3, name="cell_a"), L.LSTMCell(2, name="cell_b")],
        return_sequences=True, return_state=True), mask="right", custom=True),
    case("RNN-unroll-dropout-configured", lambda L: L.RNN(
        L.GRUCell(3, dropout=0.4, recurrent_dropout=0.4, seed=2, name="cell"), unroll=True)),
]

_CELL_CASES = [
    case("SimpleRNNCell", lambda L: L.SimpleRNNCell(4), cell=True),
    case("SimpleRNNCell-relu-penalties", lambda L: L.SimpleRNNCell(
        4, activation="relu", **CELL_PENALTIES), cell=True),
    case("LSTMCell", lambda L: L.LSTMCell(4), cell=True),
    case("LSTMCell-no-bias-implementation-1", lambda L: L.LSTMCell(
        4, use_bias=False, implementation=1), cell=True),
    case("GRUCell", lambda L: L.GRUCell(4), cell=True),
    case("GRUCell-reset-before", lambda L: L.GRUCell(4, reset_after=False), cell=True),
    case("StackedRNNCells", lambda L: L.StackedRNNCells(
        [L.LSTMCell(4, name="cell_a"), L.GRUCell(3, name="cell_b")]), cell=True),
]

_WRAPPED_CASES = [
    case("Bidirectional-RNN-LSTMCell-holes", lambda L: L.Bidirectional(L.RNN(
        L.LSTMCell(3, name="cell"), return_sequences=True, name="inner")), mask="holes",
         wrapper=True),
    case("Bidirectional-RNN-stacked-state-sum", lambda L: L.Bidirectional(L.RNN(
        [L.GRUCell(3, name="cell_a"), L.SimpleRNNCell(3, name="cell_b")], return_state=True,
        name="inner"), merge_mode="sum"), mask="right_empty", initial_state=True,
         wrapper=True),
    case("Bidirectional-RNN-user-cell", lambda L: L.Bidirectional(L.RNN(
        L.MinimalRNNCell(3, name="cell"), return_sequences=True, name="inner"),
        merge_mode="ave"), mask="right", wrapper=True, custom=True),
    case("Bidirectional-LSTM-penalties", lambda L: L.Bidirectional(L.LSTM(
        3, return_sequences=True, name="inner", **PENALTIES)), mask="holes", wrapper=True),
]

_CONV_CASES = [
    case("ConvLSTM1D-default", lambda L: L.ConvLSTM1D(3, 2), shape=IMAGES_1D),
    case("ConvLSTM1D-same-sequences-state-holes-initial", lambda L: L.ConvLSTM1D(
        3, 3, padding="same", return_sequences=True, return_state=True), shape=IMAGES_1D,
         mask="holes", initial_state=True),
    case("ConvLSTM1D-strides-backwards", lambda L: L.ConvLSTM1D(
        2, 2, strides=2, go_backwards=True, return_sequences=True), shape=IMAGES_1D,
         mask="right_empty"),
    case("ConvLSTM2D-default", lambda L: L.ConvLSTM2D(3, 2), shape=IMAGES_2D),
    case("ConvLSTM2D-same-even-kernel-sequences", lambda L: L.ConvLSTM2D(
        2, (2, 3), padding="same", return_sequences=True), shape=IMAGES_2D, mask="left"),
    case("ConvLSTM2D-channels-first-dilation-state", lambda L: L.ConvLSTM2D(
        2, 2, data_format="channels_first", dilation_rate=2, padding="same",
        return_state=True), shape=(2, 5, 2, 5, 4), mask="holes", carried_mask=True),
    case("ConvLSTM2D-penalties-no-forget-bias", lambda L: L.ConvLSTM2D(
        2, 3, unit_forget_bias=False, recurrent_activation="hard_sigmoid", **PENALTIES),
         shape=IMAGES_2D),
    case("ConvLSTM2D-no-bias-dropout-configured", lambda L: L.ConvLSTM2D(
        2, 2, use_bias=False, dropout=0.3, recurrent_dropout=0.3, seed=1), shape=IMAGES_2D),
    case("ConvLSTM3D-default", lambda L: L.ConvLSTM3D(2, 2), shape=IMAGES_3D),
    case("ConvLSTM3D-same-sequences-state", lambda L: L.ConvLSTM3D(
        2, 2, padding="same", return_sequences=True, return_state=True), shape=IMAGES_3D,
         mask="right"),
]

CASES = _LAYER_CASES + _RNN_CASES + _CELL_CASES + _WRAPPED_CASES + _CONV_CASES
LAYER_CASES = [c for c in CASES if not c.values[0].cell]


def invalid(case_id: str, make: Any, call_shape: tuple[int, ...] | None = None,
            **call_kwargs: Any) -> Any:
    return pytest.param(make, call_shape, call_kwargs, id=case_id)


_X = (2, 4, 3)
_MASK = {"mask": np.ones((2, 4), dtype=bool)}
#: Constructor arguments (and calls) that Keras refuses, with its exception class.
INVALID = [
    invalid("LSTM-units-zero", lambda L: L.LSTM(0)),
    invalid("GRU-units-negative", lambda L: L.GRU(-2)),
    invalid("SimpleRNN-units-string", lambda L: L.SimpleRNN("2")),
    invalid("GRU-units-float", lambda L: L.GRU(2.5)),
    invalid("LSTM-dropout-string", lambda L: L.LSTM(2, dropout="x")),
    invalid("LSTM-use_cudnn-string", lambda L: L.LSTM(2, use_cudnn="yes")),
    invalid("GRU-use_cudnn-none", lambda L: L.GRU(2, use_cudnn=None)),
    invalid("SimpleRNN-use_cudnn", lambda L: L.SimpleRNN(2, use_cudnn=True)),
    invalid("SimpleRNN-implementation", lambda L: L.SimpleRNN(2, implementation=1)),
    invalid("LSTM-unknown-activation", lambda L: L.LSTM(2, activation="no_such")),
    invalid("LSTMCell-units-zero", lambda L: L.LSTMCell(0)),
    invalid("GRUCell-dropout-string", lambda L: L.GRUCell(2, dropout="x")),
    invalid("SimpleRNNCell-unknown-regularizer", lambda L: L.SimpleRNNCell(
        2, kernel_regularizer="l7")),
    invalid("RNN-not-a-cell", lambda L: L.RNN(3)),
    invalid("RNN-list-of-non-cells", lambda L: L.RNN([3])),
    invalid("RNN-cell-without-state_size", lambda L: L.RNN(L.Dense(2))),
    invalid("StackedRNNCells-int", lambda L: L.StackedRNNCells(3)),
    invalid("StackedRNNCells-non-cells", lambda L: L.StackedRNNCells([L.Dense(2)])),
    invalid("ConvLSTM2D-kernel-size-too-long", lambda L: L.ConvLSTM2D(2, (2, 2, 2))),
    invalid("ConvLSTM1D-causal", lambda L: L.ConvLSTM1D(2, 2, padding="causal")),
    invalid("ConvLSTM2D-strides-and-dilation", lambda L: L.ConvLSTM2D(
        2, 2, strides=2, dilation_rate=2)),
    # refused when called
    invalid("LSTM-use_cudnn-true-with-mask", lambda L: L.LSTM(2, use_cudnn=True), _X, **_MASK),
    invalid("GRU-use_cudnn-true-reset-before", lambda L: L.GRU(
        2, use_cudnn=True, reset_after=False), _X),
    invalid("LSTM-use_cudnn-true-recurrent-dropout", lambda L: L.LSTM(
        2, use_cudnn=True, recurrent_dropout=0.1), _X),
    invalid("ConvLSTM2D-rank-4-input", lambda L: L.ConvLSTM2D(2, 2), (2, 4, 5, 3)),
]
