"""Keras 3's recurrent API against Keras 3 on torch: ``SimpleRNN``, ``LSTM``, ``GRU`` (with
Keras's regularizers, constraints, ``unroll``, ``implementation``, ``use_cudnn``,
``stateful``), ``SimpleRNNCell``, ``LSTMCell``, ``GRUCell``, ``StackedRNNCells``, ``RNN`` over
lamina's cells, stacks and the user cell of Keras's guide, ``Bidirectional`` over ``RNN``,
and ``ConvLSTM1D/2D/3D``.

Every case of ``recurrent_parity.CASES`` builds the Keras layer and the lamina layer on the
same inputs, copies Keras's weights into lamina and compares: weight names, shapes and
paths; outputs and states (within 1e-5, masks with holes, left and right padding and fully
masked rows, initial states, ``go_backwards``) and the masks the outputs carry; gradients of
the inputs and every trainable weight; penalties and constraints; ``compute_output_shape``;
symbolic calls; ``get_config`` both ways. Stateful layers are compared across calls and
after ``reset_state()``. Arguments Keras refuses raise Keras's exception classes. A model of
the new layers saves and loads. Keras is imported by ``recurrent_parity`` (after
``KERAS_BACKEND=torch``); without it the module is skipped.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import pytest
import torch
from recurrent_parity import (
    CASES,
    INVALID,
    LAYER_CASES,
    Case,
    KerasMinimalRNNCell,
    Lib,
    MinimalRNNCell,
    close,
    config_differences,
    data,
    keras,
    keras_weights,
    outputs,
    raised,
    run,
)

import lamina
from lamina import layers
from lamina.errors import LaminaError
from lamina.layers import recurrent_base
from lamina.testing import run_layer_test
from lamina.utils import tree

LAMINA_CUSTOM = {"KerasMinimalRNNCell": MinimalRNNCell, "MinimalRNNCell": MinimalRNNCell}
KERAS_CUSTOM = {"MinimalRNNCell": KerasMinimalRNNCell,
                "Custom>MinimalRNNCell": KerasMinimalRNNCell}


# ---------------------------------------------------------------------------- weights
@pytest.mark.parametrize("case", CASES)
def test_weights_have_keras_names_shapes_and_paths(case: Case) -> None:
    pair = run(case)
    assert [(w.name, tuple(w.shape), w.trainable) for w in pair.lamina.weights] == [
        (w.name, tuple(w.shape), w.trainable) for w in pair.keras.weights]
    if not case.wrapper:  # (a wrapper's inner paths: the oracle's known gaps)
        assert [_path(w.path) for w in pair.lamina.weights] == [
            _path(w.path) for w in pair.keras.weights]


def _path(path: str) -> str:
    """A weight path without the counters that make default names unique (``lstm_3``),
    which each library counts on its own."""
    return "/".join(re.sub(r"_\d+$", "", part) for part in path.split("/"))


# ---------------------------------------------------------------------------- values
@pytest.mark.parametrize("case", CASES)
def test_outputs_states_and_masks_match_keras(case: Case) -> None:
    pair = run(case)
    theirs, their_structure, _ = outputs(pair, "keras")
    ours, our_structure, _ = outputs(pair, "lamina")
    assert our_structure == their_structure
    for mine, expected in zip(ours, theirs, strict=True):
        close(mine, expected)
    for mine, expected in zip(ours, theirs):
        mask, keras_mask = (getattr(t, "_keras_mask", None) for t in (mine, expected))
        assert (mask is None) == (keras_mask is None)
        if mask is not None:
            assert torch.equal(mask.bool(), keras_mask.bool())


@pytest.mark.parametrize("case", CASES)
def test_gradients_match_keras(case: Case) -> None:
    pair = run(case)
    grads = {}
    for side, layer in (("keras", pair.keras), ("lamina", pair.lamina)):
        result, _, x = outputs(pair, side, grad=True)
        generator = torch.Generator().manual_seed(7)
        loss = sum((out * torch.randn(out.shape, generator=generator)).sum() for out in result)
        loss.backward()
        weights = [w.value if side == "keras" else w for w in layer.trainable_weights]
        grads[side] = [w.grad for w in weights] + [x.grad]
    assert len(grads["lamina"]) == len(grads["keras"])
    for mine, expected in zip(grads["lamina"], grads["keras"]):
        assert (mine is None) == (expected is None)
        if mine is not None:
            close(mine, expected, atol=1e-4)


@pytest.mark.parametrize("case", [c for c in CASES if "penalties" in c.id])
def test_penalties_and_constraints_match_keras(case: Case) -> None:
    pair = run(case)
    outputs(pair, "keras")
    outputs(pair, "lamina")
    close(sorted(float(loss.detach()) for loss in pair.lamina.losses),
          sorted(float(loss.detach()) for loss in pair.keras.losses))
    assert [type(getattr(w, "constraint", None)).__name__ for w in pair.lamina.weights] == [
        type(w.constraint).__name__ for w in pair.keras.weights]


# ---------------------------------------------------------------------------- shapes
def _batchless(case: Case) -> tuple[int | None, ...]:
    return (None, *case.shape[1:])


def _is_shape(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(d, int) or d is None
                                                    for d in value)


def _as_lists(shapes: Any) -> Any:
    """Shapes as tuples inside lists (Keras nests a stack's states in lists)."""
    return tuple(shapes) if _is_shape(shapes) else [_as_lists(s) for s in shapes]


def _leaves(shapes: Any) -> list[tuple[int | None, ...]]:
    return [tuple(shapes)] if _is_shape(shapes) else [
        leaf for s in shapes for leaf in _leaves(s)]


@pytest.mark.parametrize("case", LAYER_CASES)
def test_compute_output_shape_matches_keras(case: Case) -> None:
    pair = run(case)
    expected = pair.keras.compute_output_shape(_batchless(case))
    mine = pair.lamina.compute_output_shape(_batchless(case))
    assert _as_lists(mine) == _as_lists(expected)
    _, eager, _ = outputs(pair, "lamina")  # the eager outputs have those shapes
    assert [s[1:] for s in _leaves(mine)] == [s[1:] for s in _leaves(eager)]


@pytest.mark.parametrize("case", [c for c in LAYER_CASES if not c.values[0].initial_state])
def test_symbolic_calls_match_keras(case: Case) -> None:
    theirs, ours = case.layer("keras"), case.layer("lamina")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = theirs(keras.Input(case.shape[1:]))
    mine = ours(lamina.Input(case.shape[1:]))
    assert [tuple(t.shape) for t in tree.flatten(mine)] == [
        tuple(t.shape) for t in tree.flatten(expected)]


# ---------------------------------------------------------------------------- configs
@pytest.mark.parametrize("case", LAYER_CASES + [c for c in CASES if c.values[0].cell])
def test_config_matches_keras(case: Case) -> None:
    pair = run(case)
    assert config_differences(pair.lamina.get_config(), pair.keras.get_config()) == []


@pytest.mark.parametrize("case", CASES)
def test_keras_config_rebuilds_the_lamina_layer(case: Case) -> None:
    pair = run(case)
    with lamina.custom_object_scope(LAMINA_CUSTOM):
        rebuilt = type(pair.lamina).from_config(pair.keras.get_config())
    assert config_differences(rebuilt.get_config(), pair.lamina.get_config()) == []
    pair.lamina = rebuilt
    outputs(pair, "lamina")  # built
    rebuilt.set_weights(keras_weights(pair.keras))
    theirs, _, _ = outputs(pair, "keras")
    ours, _, _ = outputs(pair, "lamina")
    for mine, expected in zip(ours, theirs, strict=True):
        close(mine, expected)


@pytest.mark.parametrize("case", CASES)
def test_lamina_config_rebuilds_the_keras_layer(case: Case) -> None:
    pair = run(case)
    with warnings.catch_warnings(), keras.saving.custom_object_scope(KERAS_CUSTOM):
        warnings.simplefilter("ignore")
        if case.wrapper:  # Keras cannot find lamina's nested layer entries (no 'module')
            pytest.skip("Bidirectional's nested entry is the wrapper's business")
        rebuilt = type(pair.keras).from_config(pair.lamina.get_config())
    assert config_differences(pair.lamina.get_config(), rebuilt.get_config()) == []


# ---------------------------------------------------------------------------- arguments
@pytest.mark.parametrize(("make", "call_shape", "call_kwargs"), INVALID)
def test_invalid_arguments_raise_keras_exception_classes(make: Any, call_shape: Any,
                                                         call_kwargs: dict) -> None:
    def attempt(side: str) -> Any:
        def go() -> None:
            layer = make(Lib(side))
            if call_shape is not None:
                kwargs = {k: torch.from_numpy(v) for k, v in call_kwargs.items()}
                layer(torch.zeros(call_shape), **kwargs)
        return go

    expected = raised(attempt("keras"))
    assert expected is not None, "Keras accepts these arguments: the table is wrong"
    with pytest.raises(expected) as error:
        attempt("lamina")()
    assert isinstance(error.value, LaminaError)


@pytest.mark.parametrize("make", [
    lambda L: L.SimpleRNN(2), lambda L: L.LSTM(2), lambda L: L.GRU(2),
    lambda L: L.RNN(L.LSTMCell(2)), lambda L: L.SimpleRNNCell(2), lambda L: L.LSTMCell(2),
    lambda L: L.GRUCell(2), lambda L: L.StackedRNNCells([L.GRUCell(2)]),
    lambda L: L.Bidirectional(L.LSTM(2)), lambda L: L.Bidirectional(L.RNN(L.GRUCell(2))),
    lambda L: L.TimeDistributed(L.Dense(2)), lambda L: L.ConvLSTM1D(2, 2),
    lambda L: L.ConvLSTM2D(2, 2), lambda L: L.ConvLSTM3D(2, 2),
], ids=["SimpleRNN", "LSTM", "GRU", "RNN", "SimpleRNNCell", "LSTMCell", "GRUCell",
        "StackedRNNCells", "Bidirectional", "Bidirectional-RNN", "TimeDistributed",
        "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"])
def test_supports_masking_is_keras(make: Any) -> None:
    assert make(Lib("lamina")).supports_masking == make(Lib("keras")).supports_masking


# ---------------------------------------------------------------------------- stateful
STATEFUL = [
    pytest.param(lambda L: L.LSTM(3, stateful=True, return_state=True), (2, 4, 3),
                 id="LSTM"),
    pytest.param(lambda L: L.GRU(3, stateful=True, return_sequences=True, go_backwards=True),
                 (2, 4, 3), id="GRU-backwards"),
    pytest.param(lambda L: L.SimpleRNN(3, stateful=True), (2, 4, 3), id="SimpleRNN"),
    pytest.param(lambda L: L.RNN(L.LSTMCell(3), stateful=True, return_state=True),
                 (2, 4, 3), id="RNN-LSTMCell"),
    pytest.param(lambda L: L.RNN(L.MinimalRNNCell(3), stateful=True), (2, 4, 3),
                 id="RNN-user-cell"),
    pytest.param(lambda L: L.ConvLSTM2D(2, 2, stateful=True, padding="same"),
                 (2, 3, 4, 4, 2), id="ConvLSTM2D"),
]


@pytest.mark.parametrize(("make", "shape"), STATEFUL)
def test_stateful_layers_match_keras_across_calls_and_after_reset(make: Any,
                                                                  shape: tuple) -> None:
    theirs, ours = make(Lib("keras")), make(Lib("lamina"))
    batches = [torch.from_numpy(data(shape, seed=s)) for s in range(4)]
    mask = torch.tensor([[True] * (shape[1] - 1) + [False], [False] + [True] * (shape[1] - 1)])
    ours(batches[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs(batches[0])
        ours.set_weights(keras_weights(theirs))
        theirs.reset_state()
        ours.reset_state()
        for index, x in enumerate([*batches, "reset", *batches[:2]]):
            if isinstance(x, str):
                theirs.reset_state()
                ours.reset_state()
                continue
            kwargs = {"mask": mask} if index == 2 else {}
            for mine, expected in zip(tree.flatten(ours(x, **kwargs)),
                                      tree.flatten(theirs(x, **kwargs)), strict=True):
                close(mine, expected)
            for mine, expected in zip(tree.flatten(ours.states),
                                      tree.flatten(theirs.states), strict=True):
                close(mine, expected.value)
        other = torch.zeros(3, *shape[1:])
        assert raised(lambda: theirs(other)) is ValueError
        with pytest.raises(ValueError, match="stateful.*batch size"):
            ours(other)


def test_stateful_layers_need_a_fixed_batch_size_as_in_keras() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert raised(lambda: keras.layers.LSTM(2, stateful=True)(keras.Input((4, 3)))) \
            is ValueError
    with pytest.raises(ValueError, match="fixed batch size"):
        layers.LSTM(2, stateful=True)(lamina.Input((4, 3)))
    inputs = lamina.Input((4, 3), batch_size=2)
    model = lamina.Model(inputs, layers.GRU(2, stateful=True)(inputs))
    first = model(torch.ones(2, 4, 3))
    assert not torch.allclose(model(torch.ones(2, 4, 3)), first)  # the states carried on
    model.get_layer(index=1).reset_state()
    torch.testing.assert_close(model(torch.ones(2, 4, 3)), first)


def test_a_stateful_stack_carries_every_cells_states() -> None:
    """Keras 3.15 fails on a stateful RNN over a list of cells (it assigns to the nested
    list of states); lamina's carries them as return_state/initial_state would."""
    x = [torch.from_numpy(data((2, 4, 3), seed=s)) for s in range(3)]
    stateful = layers.RNN([layers.GRUCell(3), layers.LSTMCell(2)], stateful=True)
    by_hand = layers.RNN([layers.GRUCell(3), layers.LSTMCell(2)], return_state=True)
    stateful(x[0])
    by_hand(x[0])
    by_hand.set_weights(stateful.get_weights())
    stateful.reset_state()
    states = None
    for batch in x:
        expected, *states = by_hand(batch, initial_state=states)
        close(stateful(batch), expected)
    assert [tuple(s.shape) for s in tree.flatten(stateful.states)] == [(2, 3), (2, 2), (2, 2)]
    stateful.reset_state()
    close(stateful(x[0]), by_hand(x[0])[0])


# ---------------------------------------------------------------------------- behaviour
def test_simple_rnn_keeps_its_activity_regularizer() -> None:
    """Keras 3.15's SimpleRNN accepts activity_regularizer and drops it (its config says
    None, no penalty); lamina's applies it and keeps it in the config, as LSTM and GRU do
    in both libraries."""
    x = torch.from_numpy(data((2, 5, 3)))
    theirs = keras.layers.SimpleRNN(3, activity_regularizer="l2")
    theirs(x)
    assert theirs.get_config()["activity_regularizer"] is None and not theirs.losses
    ours = layers.SimpleRNN(3, activity_regularizer="l2")
    output = ours(x)
    assert ours.get_config()["activity_regularizer"]["class_name"] == "L2"
    close(ours.losses[0], 0.01 * output.square().sum() / 2)


@pytest.mark.parametrize(("layer", "cell"), [("LSTM", "LSTMCell"), ("GRU", "GRUCell"),
                                             ("SimpleRNN", "SimpleRNNCell")])
def test_a_layer_and_an_rnn_of_its_cell_take_keras_weights_alike(layer: str, cell: str) -> None:
    x = torch.from_numpy(data((3, 6, 4)))
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 0, 1, 1, 0, 1], [0] * 6], dtype=torch.bool)
    theirs = getattr(keras.layers, layer)(5, return_sequences=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = theirs(x, mask=mask)
    weights = keras_weights(theirs)
    for ours in (getattr(layers, layer)(5, return_sequences=True),
                 layers.RNN(getattr(layers, cell)(5), return_sequences=True)):
        ours(x)
        ours.set_weights(weights)
        close(ours(x, mask=mask), expected)


def test_an_rnn_of_a_cell_and_its_layer_drop_the_same_units_in_training() -> None:
    """One input mask and one recurrent mask per sequence, drawn in the same order by the
    layer and by an RNN of its cell (with the same seed): the same training outputs."""
    x = torch.from_numpy(data((3, 6, 4)))
    for rates in ({"dropout": 0.5}, {"dropout": 0.4, "recurrent_dropout": 0.3}):
        layer = layers.LSTM(5, seed=4, return_sequences=True, **rates)
        rnn = layers.RNN(layers.LSTMCell(5, seed=4, **rates), return_sequences=True)
        layer(x)
        rnn(x)
        rnn.set_weights(layer.get_weights())
        trained = layer(x, training=True)
        close(rnn(x, training=True), trained)
        assert not torch.allclose(trained, layer(x))
        assert not torch.allclose(layer(x, training=True), trained)  # new masks per call


def test_use_cudnn_chooses_the_fused_kernel_or_the_step_loop(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    fused, steps = recurrent_base.run_fused, recurrent_base.run_steps
    monkeypatch.setattr(recurrent_base, "run_fused",
                        lambda *a, **k: calls.append("fused") or fused(*a, **k))
    monkeypatch.setattr(recurrent_base, "run_steps",
                        lambda *a, **k: calls.append("steps") or steps(*a, **k))
    x = torch.from_numpy(data((2, 5, 3)))
    results, weights = {}, None
    for use_cudnn in ("auto", True, False):
        layer = layers.GRU(4, use_cudnn=use_cudnn)
        layer.build(x.shape)
        weights = weights or layer.get_weights()
        layer.set_weights(weights)
        results[use_cudnn] = layer(x)
    assert calls == ["fused", "fused", "steps"]
    close(results[False], results["auto"])
    close(results[True], results["auto"])


# ---------------------------------------------------------------------------- contract
@pytest.mark.parametrize(("cls", "kwargs", "shape"), [
    (layers.RNN, {"cell": layers.LSTMCell(3), "return_sequences": True}, (2, 4, 3)),
    (layers.RNN, {"cell": [layers.GRUCell(3), layers.SimpleRNNCell(2)]}, (2, 4, 3)),
    (layers.LSTM, {"units": 3, "kernel_regularizer": "l2", "unroll": True}, (2, 4, 3)),
    (layers.ConvLSTM1D, {"filters": 2, "kernel_size": 2}, (2, 3, 5, 2)),
    (layers.ConvLSTM2D, {"filters": 2, "kernel_size": 2, "return_sequences": True},
     (2, 3, 4, 4, 1)),
], ids=["RNN-LSTMCell", "RNN-stacked", "LSTM-penalty", "ConvLSTM1D", "ConvLSTM2D"])
def test_the_lamina_layer_contract_holds(cls: type, kwargs: dict, shape: Any) -> None:
    run_layer_test(cls, kwargs, input_shape=shape)


# ---------------------------------------------------------------------------- saving
def test_a_model_of_the_new_layers_saves_and_loads(tmp_path: Any) -> None:
    tokens = lamina.Input((6, 3), batch_size=2)
    image = lamina.Input((3, 4, 4, 2), batch_size=2)
    line = lamina.Input((3, 5, 2), batch_size=2)
    volume = lamina.Input((2, 3, 3, 3, 1), batch_size=2)
    h = layers.LSTM(4, return_sequences=True, kernel_regularizer="l2",
                    recurrent_constraint="max_norm", unroll=True, use_cudnn=False)(tokens)
    h = layers.GRU(4, return_sequences=True, reset_after=False, implementation=1)(h)
    h = layers.SimpleRNN(4, return_sequences=True, bias_constraint="non_neg")(h)
    h = layers.RNN(layers.LSTMCell(3), return_sequences=True)(h)
    h = layers.RNN([layers.GRUCell(3), layers.SimpleRNNCell(3)], return_sequences=True)(h)
    h = layers.RNN(MinimalRNNCell(3), return_sequences=True)(h)
    h = layers.Bidirectional(layers.RNN(layers.GRUCell(2), return_sequences=True))(h)
    last = layers.LSTM(3, stateful=True)(h)
    pictures = layers.ConvLSTM2D(2, 3, padding="same")(image)
    lines = layers.ConvLSTM1D(2, 2, return_sequences=True)(line)
    volumes = layers.ConvLSTM3D(2, 2)(volume)
    model = lamina.Model([tokens, image, line, volume], [last, pictures, lines, volumes])
    batch = [torch.from_numpy(data(tuple(t.shape), seed=i))
             for i, t in enumerate([tokens, image, line, volume])]
    expected = model(batch)
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_state()
    model.save(str(tmp_path / "recurrent.lamina"))
    loaded = lamina.load_model(str(tmp_path / "recurrent.lamina"),
                               custom_objects={"MinimalRNNCell": MinimalRNNCell})
    for got, want in zip(loaded(batch), expected, strict=True):
        torch.testing.assert_close(got, want)
    assert [type(layer).__name__ for layer in loaded.layers] == [
        type(layer).__name__ for layer in model.layers]
