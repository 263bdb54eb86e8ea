"""Recurrent layers, their wrappers and MultiHeadAttention: one table (``SPECS``) checked by
``run_layer_test`` against references written from Keras's formulas (values and gradients),
then masks against a hand-written Keras step loop, fused kernels against the step loop and
against ``nn.LSTM``/``nn.GRU``/``nn.RNN``, wrappers and attention masks. Masked models end
to end are in ``test_masked_models.py``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import torch
from keras_reference import (
    _randn,
    keras_attention,
    keras_bidirectional,
    keras_rnn,
    torch_module_on,
)
from torch.func import functional_call
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import lamina
from lamina import layers
from lamina.errors import ArgumentError, ArgumentTypeError, ShapeError
from lamina.layers import recurrent_base
from lamina.layers.attention import MultiHeadAttention
from lamina.layers.recurrent import GRU, LSTM, SimpleRNN
from lamina.layers.wrappers import Bidirectional, TimeDistributed
from lamina.testing import run_layer_test

# Until lamina.layers exports them, configs that nest these layers need them by name.
CUSTOM = {"LSTM": LSTM, "GRU": GRU, "SimpleRNN": SimpleRNN}


# ---------------------------------------------------------------------- the table
@dataclass
class Spec:
    cls: type
    kwargs: Any  # a dict, or a function returning one (for layers holding a layer)
    source: Any
    reference: Any
    output_shape: Any = None
    trainable: int = 3

    def make_kwargs(self) -> dict:
        return self.kwargs() if callable(self.kwargs) else dict(self.kwargs)

    def inputs(self) -> Any:
        if isinstance(self.source[0], int):
            return _randn(*self.source)
        return [_randn(*shape, seed=i) for i, shape in enumerate(self.source)]


def case(case_id: str, *args: Any, **kwargs: Any) -> Any:
    return pytest.param(Spec(*args, **kwargs), id=case_id)


def _rnn(x: torch.Tensor, layer: Any) -> Any:
    return keras_rnn(x, layer)


def _bi(x: torch.Tensor, layer: Bidirectional) -> Any:
    return keras_bidirectional(x, layer)


def _bi_of(inner: Any, **kwargs: Any) -> Any:
    return lambda: {"layer": inner(), **kwargs}


def _time_dense(x: torch.Tensor, layer: TimeDistributed) -> torch.Tensor:
    return torch.relu(x @ layer.layer.kernel + layer.layer.bias)


SEQ = (3, 5, 4)
SPECS = [
    case("SimpleRNN", SimpleRNN, {"units": 3}, SEQ, _rnn, (3, 3)),
    case("SimpleRNN-relu-backwards-sequences", SimpleRNN,
         {"units": 3, "activation": "relu", "go_backwards": True, "return_sequences": True},
         SEQ, _rnn, (3, 5, 3)),
    case("SimpleRNN-sigmoid-nobias-loop", SimpleRNN,
         {"units": 3, "activation": "sigmoid", "use_bias": False}, SEQ, _rnn, trainable=2),
    case("LSTM", LSTM, {"units": 3}, SEQ, _rnn, (3, 3)),
    case("LSTM-sequences-state", LSTM,
         {"units": 3, "return_sequences": True, "return_state": True}, SEQ, _rnn,
         [(3, 5, 3), (3, 3), (3, 3)]),
    case("LSTM-backwards-nobias", LSTM, {"units": 3, "go_backwards": True, "use_bias": False},
         SEQ, _rnn, trainable=2),
    case("LSTM-hard_sigmoid-loop", LSTM,
         {"units": 3, "recurrent_activation": "hard_sigmoid", "unit_forget_bias": False},
         SEQ, _rnn),
    case("GRU", GRU, {"units": 3}, SEQ, _rnn, (3, 3)),
    case("GRU-reset_before-loop", GRU, {"units": 3, "reset_after": False,
                                        "return_sequences": True}, SEQ, _rnn, (3, 5, 3)),
    case("GRU-backwards-state-nobias", GRU,
         {"units": 3, "go_backwards": True, "return_state": True, "use_bias": False}, SEQ,
         _rnn, [(3, 3), (3, 3)], trainable=2),
    case("Bidirectional-concat", Bidirectional, _bi_of(lambda: LSTM(3, return_sequences=True)),
         SEQ, _bi, (3, 5, 6), trainable=6),
    case("Bidirectional-sum-gru", Bidirectional,
         _bi_of(lambda: GRU(3, return_sequences=True), merge_mode="sum"), SEQ, _bi,
         (3, 5, 3), trainable=6),
    case("Bidirectional-mul-last", Bidirectional, _bi_of(lambda: LSTM(3), merge_mode="mul"),
         SEQ, _bi, (3, 3), trainable=6),
    case("Bidirectional-ave-state", Bidirectional,
         _bi_of(lambda: SimpleRNN(3, return_state=True), merge_mode="ave"), SEQ, _bi,
         [(3, 3), (3, 3), (3, 3)], trainable=6),
    case("Bidirectional-none-backward_layer", Bidirectional,
         _bi_of(lambda: LSTM(3, return_sequences=True), merge_mode=None,
                backward_layer=LSTM(2, return_sequences=True, go_backwards=True)),
         SEQ, _bi, [(3, 5, 3), (3, 5, 2)], trainable=6),
    case("TimeDistributed-Dense", TimeDistributed,
         lambda: {"layer": layers.Dense(2, activation="relu")}, (3, 4, 2, 5), _time_dense,
         (3, 4, 2, 2), trainable=2),
    case("MHA", MultiHeadAttention, {"num_heads": 2, "key_dim": 3}, [(2, 4, 5), (2, 6, 3)],
         keras_attention, (2, 4, 5), trainable=8),
    case("MHA-key-value_dim-output_shape", MultiHeadAttention,
         {"num_heads": 3, "key_dim": 2, "value_dim": 4, "output_shape": (2, 3)},
         [(2, 4, 5), (2, 6, 3), (2, 6, 7)], keras_attention, (2, 4, 2, 3), trainable=8),
    case("MHA-nobias", MultiHeadAttention, {"num_heads": 1, "key_dim": 4, "use_bias": False},
         [(2, 3, 4), (2, 3, 4)], keras_attention, (2, 3, 4), trainable=4),
]


@pytest.mark.parametrize("spec", SPECS)
def test_layer(spec: Spec) -> None:
    run_layer_test(spec.cls, spec.make_kwargs(), input_data=spec.inputs(),
                   expected_output_shape=spec.output_shape, supports_masking=True,
                   expected_num_trainable_weights=spec.trainable, reference=spec.reference,
                   expected_num_non_trainable_weights=0, custom_objects=CUSTOM)


@pytest.mark.parametrize("spec", SPECS)
def test_gradients_match_the_reference(spec: Spec) -> None:
    data = spec.inputs()
    targets = [x.requires_grad_() for x in (data if isinstance(data, list) else [data])]
    layer = spec.cls(**spec.make_kwargs())
    outputs = lamina.utils.tree.flatten(layer(data))
    targets += layer.trainable_weights
    expected = lamina.utils.tree.flatten(spec.reference(data, layer))
    weights = [_randn(*o.shape, seed=9 + i) for i, o in enumerate(outputs)]
    ours = torch.autograd.grad(sum((o * w).sum() for o, w in zip(outputs, weights)), targets)
    theirs = torch.autograd.grad(sum((o * w).sum() for o, w in zip(expected, weights)), targets)
    for mine, reference in zip(ours, theirs, strict=True):
        torch.testing.assert_close(mine, reference, rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------------- masks, fused vs loop
MASKS = {
    "right-padded": [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [1, 0, 0, 0, 0, 0]],
    "holes": [[1, 0, 1, 1, 0, 1], [1, 1, 1, 1, 1, 1], [0, 1, 0, 0, 1, 0]],
    "left-padded": [[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 1]],
    "empty-row": [[1, 1, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0]],
}
CELLS = {"SimpleRNN": lambda **kw: SimpleRNN(3, **kw), "LSTM": lambda **kw: LSTM(3, **kw),
         "GRU": lambda **kw: GRU(3, **kw),
         "GRU-reset_before": lambda **kw: GRU(3, reset_after=False, **kw)}
OPTIONS = [{"return_sequences": rs, "go_backwards": gb, "zero_output_for_mask": zero,
            "return_state": True}
           for rs in (False, True) for gb in (False, True) for zero in (False, True)]


@pytest.mark.parametrize("mask_kind", MASKS)
@pytest.mark.parametrize("cell", CELLS)
def test_masked_layers_match_the_keras_step_loop(cell: str, mask_kind: str) -> None:
    x, mask = _randn(3, 6, 4), torch.tensor(MASKS[mask_kind], dtype=torch.bool)
    for options in OPTIONS:
        layer = CELLS[cell](**options)
        initial = [_randn(3, 3, seed=5 + i) for i in range(layer.state_count)]
        for state in (None, initial):
            got = layer(x, mask=mask, initial_state=state)
            expected = keras_rnn(x, layer, mask, state)
            for ours, theirs in zip(got, expected, strict=True):
                torch.testing.assert_close(ours, theirs, msg=f"{options} {state is None}")


def _forbid(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"{name} should not run here")

    monkeypatch.setattr(recurrent_base, name, refuse)


@pytest.mark.parametrize("cell", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("mask_kind", [None, "right-padded", "holes"])
def test_fused_kernels_and_the_step_loop_agree_on_values_and_gradients(
        cell: str, mask_kind: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    x = _randn(3, 6, 4).requires_grad_()
    mask = None if mask_kind is None else torch.tensor(MASKS[mask_kind], dtype=torch.bool)
    for options in OPTIONS[::3]:
        layer = CELLS[cell](**options)
        with monkeypatch.context() as patch:
            _forbid(patch, "run_steps" if mask_kind != "holes" else "run_fused")
            fused = layer(x, mask=mask)
        layer.fused_kind = None  # what an activation torch has no kernel for would do
        with monkeypatch.context() as patch:
            _forbid(patch, "run_fused")
            looped = layer(x, mask=mask)
        targets = [x, *layer.trainable_weights]
        weights = [_randn(*t.shape, seed=3) for t in fused]
        grads = [torch.autograd.grad(sum((o * w).sum() for o, w in zip(out, weights)), targets)
                 for out in (fused, looped)]
        for a, b in zip([*fused, *grads[0]], [*looped, *grads[1]], strict=True):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=str(options))


@pytest.mark.parametrize("cell", ["SimpleRNN", "LSTM", "GRU"])
def test_layers_match_torch_modules_with_the_weights_mapped(cell: str) -> None:
    """nn.LSTM / nn.GRU / nn.RNN on the same weights: plain, and packed for a padded batch."""
    x, mask = _randn(3, 6, 4), torch.tensor(MASKS["right-padded"], dtype=torch.bool)
    layer = CELLS[cell](return_sequences=True, return_state=True)
    for padded in (False, True):
        out, h, *_ = layer(x, mask=mask if padded else None)
        module, weights = torch_module_on(layer)
        lengths = mask.sum(1)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        expected, hidden = functional_call(module, weights, (packed if padded else x,))
        if padded:
            expected, _ = pad_packed_sequence(expected, batch_first=True, total_length=6)
        expected_h = (hidden[0] if isinstance(hidden, tuple) else hidden)[0]
        valid = mask if padded else torch.ones_like(mask)
        torch.testing.assert_close(out[valid], expected[valid])
        torch.testing.assert_close(h, expected_h)
        targets = layer.trainable_weights
        ours = torch.autograd.grad(h.square().sum() + out[valid].sum(), targets)
        theirs = torch.autograd.grad(expected_h.square().sum() + expected[valid].sum(), targets)
        for a, b in zip(ours, theirs, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_dropout_applies_in_training_only_with_one_mask_for_all_steps(
        monkeypatch: pytest.MonkeyPatch) -> None:
    x = _randn(4, 6, 5)
    plain = LSTM(3, seed=1)
    dropped = LSTM(3, dropout=0.5, seed=1)
    dropped(x)
    plain(x)
    plain.set_weights(dropped.get_weights())
    torch.testing.assert_close(dropped(x), plain(x))  # inference: no dropout
    fused = dropped(x, training=True)
    assert not torch.allclose(fused, plain(x))
    dropped._generator.manual_seed(1)
    first = dropped(x, training=True)
    keep = (torch.rand((4, 1, 5), generator=torch.Generator().manual_seed(1)) >= 0.5) / 0.5
    torch.testing.assert_close(first, plain(x * keep))  # Keras: one mask for every step
    dropped._generator.manual_seed(1)
    dropped.fused_kind = None
    torch.testing.assert_close(dropped(x, training=True), first)  # same mask, either path
    recurrent = GRU(3, recurrent_dropout=0.3, seed=2)
    recurrent(x)
    with monkeypatch.context() as patch:
        _forbid(patch, "run_fused")
        trained = recurrent(x, training=True)
    with monkeypatch.context() as patch:
        _forbid(patch, "run_steps")
        inferred = recurrent(x)
    assert trained.shape == inferred.shape and not torch.allclose(trained, inferred)


# ---------------------------------------------------------------------- wrappers
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_masks_each_direction_like_keras(merge_mode: str | None) -> None:
    x, mask = _randn(3, 6, 4), torch.tensor(MASKS["holes"], dtype=torch.bool)
    layer = Bidirectional(GRU(3, return_sequences=True, return_state=True), merge_mode)
    got = lamina.utils.tree.flatten(layer(x, mask=mask))
    expected = lamina.utils.tree.flatten(keras_bidirectional(x, layer, mask))
    for ours, theirs in zip(got, expected, strict=True):
        torch.testing.assert_close(ours, theirs)
    assert layer.forward_layer.zero_output_for_mask and layer.backward_layer.go_backwards
    masks = layer.compute_mask(x, mask)
    assert len(masks) == (4 if merge_mode is None else 3) and masks[0] is mask


def test_bidirectional_on_padded_sequences_equals_each_sequence_unpadded() -> None:
    x, mask = _randn(3, 6, 4), torch.tensor(MASKS["right-padded"], dtype=torch.bool)
    layer = Bidirectional(LSTM(3, return_sequences=True))
    out = layer(x * mask[..., None], mask=mask)
    for row, length in enumerate(mask.sum(1).tolist()):
        alone = layer(x[row:row + 1, :length])[0]
        torch.testing.assert_close(out[row, :length], alone)
        assert (out[row, length:] == 0).all()  # Keras zeroes masked steps in Bidirectional


def test_bidirectional_initial_state_and_errors() -> None:
    x = _randn(2, 5, 4)
    layer = Bidirectional(LSTM(3, return_state=True), merge_mode="sum")
    states = [_randn(2, 3, seed=i) for i in range(4)]
    out, *final = layer(x, initial_state=states)
    torch.testing.assert_close(out, keras_rnn(x, layer.forward_layer, None, states[:2])[0]
                               + keras_rnn(x, layer.backward_layer, None, states[2:])[0])
    assert len(final) == 4
    with pytest.raises(ArgumentTypeError, match="recurrent lamina layer"):
        Bidirectional(layers.Dense(3))
    with pytest.raises(ArgumentError, match="merge_mode='max'"):
        Bidirectional(LSTM(3), merge_mode="max")
    with pytest.raises(ArgumentError, match="different go_backwards"):
        Bidirectional(LSTM(3), backward_layer=LSTM(3))
    with pytest.raises(ArgumentError, match="same return_sequences"):
        Bidirectional(LSTM(3), backward_layer=LSTM(3, go_backwards=True, return_sequences=True))


class _MaskRecorder(layers.Layer):
    def call(self, inputs: torch.Tensor, mask: Any = None) -> torch.Tensor:
        self.seen = mask
        return inputs * 2


def test_time_distributed_folds_time_into_batch_and_passes_masks() -> None:
    x, mask = _randn(2, 3, 4), torch.tensor([[True, False, True], [True, True, False]])
    recorder = _MaskRecorder()
    layer = TimeDistributed(recorder)
    torch.testing.assert_close(layer(x, mask=mask), x * 2)
    assert recorder.seen.tolist() == mask.reshape(6).tolist()
    assert layer.compute_mask(x, mask) is mask
    inputs = lamina.Input(shape=(3,), dtype="int64")
    embedded = layers.Embedding(5, 4, mask_zero=True)(inputs)
    dense = TimeDistributed(layers.Dense(2))(embedded)
    assert dense.shape == (None, 3, 2) and dense._keras_mask.shape == (None, 3)
    with pytest.raises(ShapeError, match=r"at least 3 axes.*\(2, 4\)"):
        TimeDistributed(layers.Dense(2))(torch.zeros(2, 4))


# ---------------------------------------------------------------------- attention
def _attention_case(kind: str) -> tuple[dict, torch.Tensor | None]:
    """Call arguments for (query (2, 4, 6), value (2, 5, 3), key (2, 5, 2)) and the
    (batch, T, S) mask Keras builds from them."""
    query_mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]], dtype=torch.bool)
    value_mask = torch.tensor([[1, 1, 0, 0, 0], [1, 1, 1, 1, 0]], dtype=torch.bool)
    key_mask = torch.tensor([[1, 0, 1, 1, 1], [1, 1, 1, 1, 1]], dtype=torch.bool)
    pairs = torch.rand(2, 4, 5, generator=torch.Generator().manual_seed(4)) > 0.3
    causal = torch.ones(4, 5, dtype=torch.bool).tril()[None]
    cases = {
        "none": ({}, None),
        "query_mask": ({"query_mask": query_mask}, query_mask[:, :, None].expand(2, 4, 5)),
        "value_and_key_masks": ({"value_mask": value_mask, "key_mask": key_mask},
                                (value_mask & key_mask)[:, None].expand(2, 4, 5)),
        "attention_mask": ({"attention_mask": pairs}, pairs),
        "causal": ({"use_causal_mask": True}, causal.expand(2, 4, 5)),
        "all": ({"query_mask": query_mask, "value_mask": value_mask, "attention_mask": pairs,
                 "use_causal_mask": True},
                query_mask[:, :, None] & value_mask[:, None] & pairs & causal),
    }
    return cases[kind]


@pytest.mark.parametrize("kind", ["none", "query_mask", "value_and_key_masks", "attention_mask",
                                  "causal", "all"])
def test_attention_matches_the_keras_formula(kind: str) -> None:
    query, value, key = _randn(2, 4, 6), _randn(2, 5, 3, seed=1), _randn(2, 5, 2, seed=2)
    kwargs, mask = _attention_case(kind)
    layer = MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4)
    out = layer(query, value, key, **kwargs)
    scored, scores = layer(query, value, key, return_attention_scores=True, **kwargs)
    expected, expected_scores = keras_attention([query, value, key], layer, mask, scores=True)
    torch.testing.assert_close(scored, expected)
    torch.testing.assert_close(scores, expected_scores)
    # A query step that may attend nowhere: zero weights where Keras computes the softmax
    # itself (scores asked for, dropout, N-D inputs), uniform weights on Keras's fused path
    # (dropout 0, no scores), whose additive mask is -0.7 * max(float32).
    nowhere = torch.zeros(2, 4, dtype=torch.bool) if mask is None else ~mask.any(-1)
    uniform = _uniform_attention(value, layer)[:, None].expand(2, 4, 6)
    torch.testing.assert_close(out, torch.where(nowhere[..., None], uniform, expected))
    if kind == "query_mask":
        assert nowhere[0, 3] and (scores[0, :, 3] == 0).all()
        torch.testing.assert_close(scored[0, 3], layer.output_bias.detach().expand(6))


def _uniform_attention(value: torch.Tensor, layer: MultiHeadAttention) -> torch.Tensor:
    """What a query step attending uniformly to every value step gets, (batch, features)."""
    values = torch.einsum("bsd,dnh->bsnh", value, layer.value_kernel) + layer.value_bias
    mean = values.mean(1)
    return torch.einsum("bnh,nho->bo", mean, layer.output_kernel) + layer.output_bias


def test_attention_dropout_applies_in_training_only() -> None:
    torch.manual_seed(0)
    x = _randn(2, 4, 6)
    layer = MultiHeadAttention(num_heads=2, key_dim=3, dropout=0.5)
    torch.testing.assert_close(layer(x, x), keras_attention([x, x], layer))
    assert not torch.allclose(layer(x, x, training=True), layer(x, x))
    _, scores = layer(x, x, training=True, return_attention_scores=True)
    torch.testing.assert_close(scores.sum(-1), torch.ones(2, 2, 4))  # scores before dropout


@pytest.mark.parametrize(("kwargs", "quoted"), [
    ({"num_heads": 0, "key_dim": 2}, "num_heads=0"),
    ({"num_heads": 2, "key_dim": 2, "value_dim": -1}, "value_dim=-1"),
    ({"num_heads": 2, "key_dim": 2, "dropout": 1.0}, "dropout=1.0"),
    ({"num_heads": 2, "key_dim": 2, "output_shape": (2, 0)}, "output_shape=(2, 0)"),
    ({"num_heads": 2, "key_dim": 2, "attention_axes": "x"}, "attention_axes='x'"),
])
def test_attention_bad_arguments_quote_the_value(kwargs: dict, quoted: str) -> None:
    with pytest.raises(ArgumentError, match=quoted.replace("(", r"\(").replace(")", r"\)")):
        MultiHeadAttention(**kwargs)


@pytest.mark.parametrize(("make", "error", "match"), [
    # Keras 3's stateful layers need a fixed batch size (stateful=True used to be refused).
    (lambda: LSTM(3, stateful=True)(lamina.Input((4, 3))), ArgumentError,
     r"stateful=True needs a fixed batch size, received input shape \(None, 4, 3\)"),
    (lambda: GRU(0), ArgumentError, "units=0"),
    (lambda: SimpleRNN(2, dropout=1.5), ArgumentError, "dropout=1.5"),
    (lambda: LSTM(3)(_randn(2, 4, 3), initial_state=[_randn(2, 3)]), ShapeError,
     r"2 initial state tensor\(s\) of shape \(2, 3\)"),
    (lambda: GRU(3)(_randn(2, 4, 3), mask=torch.ones(2, 5, dtype=torch.bool)), ShapeError,
     r"\(batch, steps\) = \(2, 4\), received \(2, 5\)"),
    (lambda: SimpleRNN(3, name="flat")(_randn(2, 3)), ShapeError, "'flat'.*(2, 3)"),
])
def test_recurrent_errors_say_what_was_expected(make: Any, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        make()
