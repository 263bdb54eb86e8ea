"""Keras 3's attention family against Keras 3 on torch: ``EinsumDense``, ``Attention``,
``AdditiveAttention``, ``GroupedQueryAttention`` and ``MultiHeadAttention`` (with
``attention_axes`` over N-D inputs).

Every case of ``attention_parity.CASES`` builds the Keras layer and the lamina layer on the
same inputs, copies Keras's weights into lamina (``set_weights`` of ``w.value`` for Keras's
weights) and compares: weight names, paths and shapes; outputs and attention scores
(within 1e-5) and the masks the outputs carry; ``compute_output_shape``; symbolic calls;
``get_config`` (the same keys and values), Keras's config rebuilding the lamina layer and
lamina's rebuilding the Keras layer; gradients of the inputs and of every trainable weight;
weight penalties and constraints. Arguments Keras refuses raise Keras's exception classes.
A model of the new layers saves and loads. Keras is imported by ``attention_parity`` (after
``KERAS_BACKEND=torch``); without it the module is skipped.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from attention_parity import (
    CASES,
    INVALID,
    Case,
    call,
    close,
    config_differences,
    keras,
    keras_weights,
    make,
    outputs,
    raised,
    run,
    tensors,
)

import lamina
from lamina import layers
from lamina.errors import ArgumentError, LaminaError
from lamina.layers import attention_base
from lamina.testing import run_layer_test


# ---------------------------------------------------------------------------- weights
@pytest.mark.parametrize("case", CASES)
def test_weights_have_keras_names_shapes_and_paths(case: Case) -> None:
    pair = run(case)
    assert [(w.path, w.name, tuple(w.shape)) for w in pair.lamina.weights] == [
        (w.path, w.name, tuple(w.shape)) for w in pair.keras.weights]
    assert [w.trainable for w in pair.lamina.weights] == [
        w.trainable for w in pair.keras.weights]


# ---------------------------------------------------------------------------- values
@pytest.mark.parametrize("case", CASES)
def test_outputs_scores_and_masks_match_keras(case: Case) -> None:
    pair = run(case)
    theirs, _ = outputs(pair, case, "keras")
    ours, _ = outputs(pair, case, "lamina")
    assert len(ours) == len(theirs) == (2 if case.scores else 1)
    for mine, expected in zip(ours, theirs):
        assert tuple(mine.shape) == tuple(expected.shape)
        close(mine, expected)
    # The output's mask (Keras's scores may carry its inner Softmax layer's mask argument,
    # an artifact of Keras computing them with a layer: not compared).
    for mine, expected in zip(ours[:1], theirs[:1]):
        mask, keras_mask = (getattr(t, "_keras_mask", None) for t in (mine, expected))
        assert (mask is None) == (keras_mask is None)
        if mask is not None:
            assert torch.equal(mask.bool(), keras_mask.bool())


@pytest.mark.parametrize("case", CASES)
def test_gradients_match_keras(case: Case) -> None:
    pair = run(case)
    grads = {}
    for side, layer in (("keras", pair.keras), ("lamina", pair.lamina)):
        result, inputs = outputs(pair, case, side, grad=True)
        generator = torch.Generator().manual_seed(7)
        loss = sum((out * torch.randn(out.shape, generator=generator)).sum() for out in result)
        loss.backward()
        weights = [w.value if side == "keras" else w for w in layer.trainable_weights]
        grads[side] = [w.grad for w in weights] + [x.grad for x in inputs]
    assert len(grads["lamina"]) == len(grads["keras"])
    for mine, expected in zip(grads["lamina"], grads["keras"]):
        assert (mine is None) == (expected is None)
        if mine is not None:
            close(mine, expected, atol=1e-4)


@pytest.mark.parametrize("case", [c for c in CASES if "regularized" in c.id])
def test_penalties_and_constraints_match_keras(case: Case) -> None:
    pair = run(case)
    outputs(pair, case, "keras")
    outputs(pair, case, "lamina")
    close(sorted(float(loss.detach()) for loss in pair.lamina.losses),
          sorted(float(loss.detach()) for loss in pair.keras.losses))
    assert [type(getattr(w, "constraint", None)).__name__ for w in pair.lamina.weights] == [
        type(w.constraint).__name__ for w in pair.keras.weights]


# ---------------------------------------------------------------------------- shapes
def _shapes(case: Case) -> list[tuple[int | None, ...]]:
    return [(None, *shape[1:]) for shape in case.shapes]


@pytest.mark.parametrize("case", CASES)
def test_compute_output_shape_matches_keras(case: Case) -> None:
    pair = run(case)
    shapes = _shapes(case)
    if case.layer == "EinsumDense":
        expected, mine = (layer.compute_output_shape(shapes[0])
                          for layer in (pair.keras, pair.lamina))
    elif case.layer in ("Attention", "AdditiveAttention"):
        expected, mine = (layer.compute_output_shape(shapes)
                          for layer in (pair.keras, pair.lamina))
    else:
        expected, mine = (layer.compute_output_shape(*shapes)
                          for layer in (pair.keras, pair.lamina))
    assert tuple(mine) == tuple(expected)
    eager, _ = outputs(pair, case, "lamina")  # None where output_shape says None (Keras's)
    assert len(mine) == eager[0].dim() and all(
        d is None or d == e for d, e in zip(mine[1:], eager[0].shape[1:]))


@pytest.mark.parametrize("case", [c for c in CASES if "attention_mask" not in c.values[0].call
                                  and not c.values[0].explicit_mask])
def test_symbolic_calls_match_keras(case: Case) -> None:
    """The output's symbolic shape is Keras's; the scores' is the eager call's (Keras's
    symbolic scores of MultiHeadAttention are (batch, heads, T, T) whatever the inputs)."""
    pair = run(case)
    ours = make(case, "lamina")
    kinds = [(keras.Input(shape[1:]), lamina.Input(shape[1:])) for shape in case.shapes]
    symbolic = [call(layer, case, [k[side] for k in kinds], [None] * len(kinds))
                for side, layer in ((0, make(case, "keras")), (1, ours))]
    theirs_first, ours_first = (s[0] if case.scores else s for s in symbolic)
    assert tuple(ours_first.shape) == tuple(theirs_first.shape)
    if case.scores:
        eager, _ = outputs(pair, case, "lamina")
        assert tuple(symbolic[1][1].shape) == (None, *eager[1].shape[1:])


def test_einsum_dense_keeps_the_order_of_the_axes_an_ellipsis_stands_for() -> None:
    """Keras 3.15's compute_output_shape reverses them when the ellipsis stands for three
    axes or more (the batch and two others): lamina gives the eager call's shape. An axis
    that output_shape gives as None stays None, as in Keras 3.15 (whose docstring example
    shows it filled in)."""
    kwargs = {"equation": "...b,bc->...c", "output_shape": 3}
    x = np.zeros((2, 4, 5, 6), dtype="float32")
    theirs, ours = keras.layers.EinsumDense(**kwargs), layers.EinsumDense(**kwargs)
    assert tuple(theirs(x).shape) == tuple(ours(torch.from_numpy(x)).shape) == (2, 4, 5, 3)
    assert ours.compute_output_shape((None, 4, 5, 6)) == (None, 4, 5, 3)
    assert theirs.compute_output_shape((None, 4, 5, 6)) == (None, 5, 4, 3)  # Keras's own
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    sequence = {"equation": "abc,cd->abd", "output_shape": (None, 64), "bias_axes": "d"}
    for layer in (layers.EinsumDense(**sequence), keras.layers.EinsumDense(**sequence)):
        assert tuple(layer.compute_output_shape((None, 32, 128))) == (None, None, 64)
    assert layers.EinsumDense(**sequence)(lamina.Input((32, 128))).shape == (None, None, 64)


# ---------------------------------------------------------------------------- configs
@pytest.mark.parametrize("case", CASES)
def test_config_matches_keras(case: Case) -> None:
    pair = run(case)
    assert config_differences(pair.lamina.get_config(), pair.keras.get_config()) == []


@pytest.mark.parametrize("case", CASES)
def test_keras_config_rebuilds_the_lamina_layer(case: Case) -> None:
    pair = run(case)
    rebuilt = type(pair.lamina).from_config(pair.keras.get_config())
    assert config_differences(rebuilt.get_config(), pair.lamina.get_config()) == []
    call(rebuilt, case, tensors(pair.arrays, pair.masks), pair.masks)
    rebuilt.set_weights(keras_weights(pair.keras))
    theirs, _ = outputs(pair, case, "keras")
    mine = call(rebuilt, case, tensors(pair.arrays, pair.masks), pair.masks)
    for ours, expected in zip(mine if case.scores else [mine], theirs):
        close(ours, expected)


@pytest.mark.parametrize("case", CASES)
def test_lamina_config_rebuilds_the_keras_layer(case: Case) -> None:
    pair = run(case)
    rebuilt = type(pair.keras).from_config(pair.lamina.get_config())
    assert config_differences(pair.lamina.get_config(), rebuilt.get_config()) == []


# ---------------------------------------------------------------------------- arguments
@pytest.mark.parametrize(("name", "kwargs", "shapes"),
                         [pytest.param(*entry[1:], id=f"{entry[1]}-{entry[0]}")
                          for entry in INVALID])
def test_invalid_arguments_raise_keras_exception_classes(name: str, kwargs: dict,
                                                         shapes: list | None) -> None:
    def attempt(side: str) -> Any:
        def go() -> None:
            layer = make(Case(name, kwargs, ()), side)
            if shapes is not None:
                inputs = [torch.zeros(shape) for shape in shapes]
                if name in ("Attention", "AdditiveAttention"):
                    layer(inputs if len(inputs) > 1 else inputs[0])
                else:
                    layer(*inputs)
        return go

    expected = raised(attempt("keras"))
    assert expected is not None, "Keras accepts these arguments: the table is wrong"
    assert raised(attempt("lamina")) is expected
    with pytest.raises(LaminaError):
        attempt("lamina")()


@pytest.mark.parametrize("name", ["MultiHeadAttention", "GroupedQueryAttention"])
def test_flash_attention_refuses_scores_as_keras_does(name: str) -> None:
    kwargs = ({"num_heads": 2, "key_dim": 2} if name == "MultiHeadAttention"
              else {"head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 1})
    x = torch.zeros(2, 3, 4)
    keras_name = "GroupQueryAttention" if name == "GroupedQueryAttention" else name
    theirs = getattr(keras.layers, keras_name)(flash_attention=True, **kwargs)
    assert raised(lambda: theirs(x, x, return_attention_scores=True)) is ValueError
    ours = getattr(layers, name)(flash_attention=True, **kwargs)
    with pytest.raises(ArgumentError, match="return_attention_scores=True"):
        ours(x, x, return_attention_scores=True)
    assert ours(x, x).shape == (2, 3, 4)


@pytest.mark.parametrize("kwargs", [{"lora_rank": 4}, {"lora_alpha": 8.0},
                                    {"gptq_unpacked_column_size": 2},
                                    {"quantization_config": {"mode": "int8"}}])
def test_einsum_dense_refuses_lora_and_quantization(kwargs: dict) -> None:
    name, value = next(iter(kwargs.items()))
    with pytest.raises(ArgumentError, match=f"{name}={value!r}"):
        layers.EinsumDense("ab,bc->ac", 3, **kwargs)
    assert layers.EinsumDense("ab,bc->ac", 3, lora_rank=None, lora_alpha=None,
                              quantization_config=None).get_config()["quantization_config"] is None


# ---------------------------------------------------------------------------- behaviour
def test_the_ordinary_multi_head_attention_runs_on_the_fused_kernel(monkeypatch: Any) -> None:
    calls = []
    fused = attention_base.F.scaled_dot_product_attention

    def spy(*args: Any, **kwargs: Any) -> torch.Tensor:
        calls.append(kwargs)
        return fused(*args, **kwargs)

    monkeypatch.setattr(attention_base.F, "scaled_dot_product_attention", spy)
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=8)
    x = torch.randn(4, 6, 16)
    layer(x, x)
    layer(x, x, use_causal_mask=True)
    assert [(c["attn_mask"], c["is_causal"]) for c in calls] == [(None, False), (None, True)]


def test_an_explicit_query_mask_is_used() -> None:
    """Keras 3.15 reads the query's mask from the query tensor only; lamina also takes it as
    ``query_mask=`` (the same result as a mask the query carries)."""
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    x = torch.randn(2, 4, 5)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]], dtype=torch.bool)
    carried = x.clone()
    carried._keras_mask = mask
    expected, expected_scores = layer(carried, carried, return_attention_scores=True)
    out, scores = layer(x, x, query_mask=mask, return_attention_scores=True)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(scores, expected_scores)


@pytest.mark.parametrize("make_layer", [
    lambda: layers.Attention(dropout=0.5, seed=3),
    lambda: layers.MultiHeadAttention(num_heads=2, key_dim=3, dropout=0.5, seed=3),
    lambda: layers.GroupedQueryAttention(2, 2, 1, dropout=0.5, seed=3),
], ids=["Attention", "MultiHeadAttention", "GroupedQueryAttention"])
def test_seeded_dropout_applies_in_training_only(make_layer: Any) -> None:
    x = torch.randn(2, 4, 6)
    first, second = make_layer(), make_layer()
    inputs = [x, x] if isinstance(first, layers.Attention) else None

    def run_layer(layer: Any, training: bool) -> torch.Tensor:
        return layer(inputs, training=training) if inputs else layer(x, x, training=training)

    inference = run_layer(first, False)
    run_layer(second, False)
    second.set_weights(first.get_weights())
    torch.testing.assert_close(run_layer(first, False), inference)
    trained = run_layer(first, True)
    assert not torch.allclose(trained, inference)
    torch.testing.assert_close(run_layer(second, True), trained)  # the same seed


def test_fit_applies_the_attention_constraints() -> None:
    tokens = lamina.Input((4, 3))
    attended = layers.MultiHeadAttention(2, 2, kernel_constraint="non_neg",
                                         bias_constraint="non_neg", name="mha")(tokens, tokens)
    model = lamina.Model(tokens, layers.Dense(1)(layers.Flatten()(attended)))
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(8, 4, 3)).astype("float32"),
              rng.normal(size=(8, 1)).astype("float32"), epochs=2, verbose=0)
    weights = model.get_layer("mha").weights
    assert len(weights) == 8 and all(bool((w >= 0).all()) for w in weights)


@pytest.mark.parametrize(("cls", "kwargs", "shape"), [
    (layers.EinsumDense, {"equation": "abc,cde->abde", "output_shape": (5, 2, 3),
                          "bias_axes": "de"}, (2, 5, 4)),
    (layers.EinsumDense, {"equation": "...b,bc->...c", "output_shape": 3, "bias_axes": "c"},
     (2, 4, 5, 6)),
    (layers.Attention, {"use_scale": True, "score_mode": "concat"}, [(2, 3, 4), (2, 5, 4)]),
    (layers.AdditiveAttention, {}, [(2, 3, 4), (2, 5, 4), (2, 5, 4)]),
    (layers.GroupedQueryAttention, {"head_dim": 2, "num_query_heads": 4,
                                    "num_key_value_heads": 2}, [(2, 3, 4), (2, 5, 4)]),
    (layers.MultiHeadAttention, {"num_heads": 2, "key_dim": 3, "attention_axes": (2,)},
     [(2, 3, 5, 4), (2, 3, 7, 6)]),
], ids=["EinsumDense", "EinsumDense-ellipsis", "Attention", "AdditiveAttention",
        "GroupedQueryAttention", "MultiHeadAttention-4d"])
def test_the_lamina_layer_contract_holds(cls: type, kwargs: dict, shape: Any) -> None:
    run_layer_test(cls, kwargs, input_shape=shape)


# ---------------------------------------------------------------------------- saving
def test_a_model_of_the_attention_layers_saves_and_loads(tmp_path: Any) -> None:
    tokens = lamina.Input((6,), dtype="int32")
    image = lamina.Input((3, 5, 4))
    embedded = layers.Embedding(10, 4, mask_zero=True)(tokens)
    dot = layers.Attention(use_scale=True, score_mode="concat")([embedded, embedded])
    additive, scores = layers.AdditiveAttention()([embedded, embedded],
                                                  return_attention_scores=True)
    grouped = layers.GroupedQueryAttention(2, 4, 2, use_gate=True, sliding_window=3)(
        embedded, embedded, use_causal_mask=True)
    heads = layers.MultiHeadAttention(2, 3, kernel_constraint="max_norm")(embedded, embedded)
    projected = layers.EinsumDense("...b,bc->...c", 5, bias_axes="c")(
        layers.concatenate([dot, additive, grouped, heads]))
    pooled = layers.GlobalAveragePooling1D()(projected)
    over_width = layers.MultiHeadAttention(2, 3, attention_axes=(2,), output_shape=2)(
        image, image)
    model = lamina.Model([tokens, image], [pooled, scores, over_width])
    batch = [torch.tensor([[1, 2, 3, 0, 0, 0], [4, 5, 6, 7, 8, 9]]), torch.randn(2, 3, 5, 4)]
    expected = model(batch)
    model.save(str(tmp_path / "attention.lamina"))
    loaded = lamina.load_model(str(tmp_path / "attention.lamina"))
    for got, want in zip(loaded(batch), expected):
        torch.testing.assert_close(got, want)
    assert [type(layer).__name__ for layer in loaded.layers] == [
        type(layer).__name__ for layer in model.layers]
