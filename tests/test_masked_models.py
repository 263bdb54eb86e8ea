"""Masks through whole models: Embedding(mask_zero=True) -> Lambda(mask="same") -> LSTM or
MultiHeadAttention + GlobalAveragePooling1D -> Dense gives every padded sequence the output
of its tokens alone; cross-attention gets the value's mask; states flow between layers;
a model of every new layer saves and loads."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from keras_reference import _randn, keras_rnn

import lamina
from lamina import layers
from lamina.layers.attention import MultiHeadAttention
from lamina.layers.recurrent import GRU, LSTM, SimpleRNN
from lamina.layers.wrappers import Bidirectional, TimeDistributed


def _token_model(head: Any) -> lamina.Model:
    tokens = lamina.Input(shape=(None,), dtype="int64")
    embedded = layers.Embedding(12, 6, mask_zero=True)(tokens)
    doubled = layers.Lambda(lambda x: x * 2.0, mask="same")(embedded)
    return lamina.Model(tokens, head(doubled))


def _lstm_head(x: Any) -> Any:
    return layers.Dense(2)(LSTM(5)(x))


def _attention_head(x: Any) -> Any:
    attended = MultiHeadAttention(num_heads=2, key_dim=3)(x, x)
    return layers.Dense(2)(layers.GlobalAveragePooling1D()(attended))


TOKENS = {
    "right-padded": [[3, 1, 4, 1, 5, 0, 0], [9, 2, 6, 5, 3, 5, 8], [7, 0, 0, 0, 0, 0, 0]],
    "holes-and-left-padding": [[0, 0, 3, 1, 0, 4, 1], [9, 2, 0, 0, 6, 5, 3], [0, 7, 0, 0, 0, 0, 2]],
}


@pytest.mark.parametrize("padding", TOKENS)
@pytest.mark.parametrize("head", [_lstm_head, _attention_head], ids=["lstm", "attention"])
def test_a_masked_model_gives_each_sequence_the_output_of_its_unpadded_tokens(
        head: Any, padding: str) -> None:
    """Embedding(mask_zero) -> Lambda(mask="same") -> LSTM or MHA + pooling -> Dense."""
    model = _token_model(head)
    batch = torch.tensor(TOKENS[padding])
    outputs = model(batch)
    for row, tokens in enumerate(batch):
        alone = model(tokens[tokens != 0][None])
        torch.testing.assert_close(outputs[row], alone[0], rtol=1e-5, atol=1e-6)


def test_cross_attention_in_a_model_receives_the_value_mask() -> None:
    """mha(query, value) on two symbolic tensors: both are the node's inputs, both masks
    reach the layer, and padding in the values changes nothing."""
    queries, values = (lamina.Input(shape=(None,), dtype="int64") for _ in range(2))
    embed_query, embed_value = layers.Embedding(12, 6, mask_zero=True), layers.Embedding(
        12, 4, mask_zero=True)
    mha = MultiHeadAttention(num_heads=2, key_dim=3)
    attended = mha(embed_query(queries), embed_value(values))
    assert [t.shape for t in attended.node.inputs] == [(None, None, 6), (None, None, 4)]
    assert attended.shape == (None, None, 6) and attended._keras_mask.shape == (None, None)
    model = lamina.Model([queries, values], attended)
    q, v = torch.tensor([[1, 2, 3], [4, 5, 0]]), torch.tensor([[6, 7, 0, 0], [8, 9, 10, 0]])
    out = model([q, v])
    assert out._keras_mask.tolist() == (q != 0).tolist()
    for row in range(2):
        alone = model([q[row:row + 1], v[row:row + 1, : int((v[row] != 0).sum())]])
        torch.testing.assert_close(out[row, q[row] != 0], alone[0, q[row] != 0])


def test_initial_state_from_another_layer_in_a_model() -> None:
    """An encoder's final states start a decoder (symbolic initial_state)."""
    source, target = lamina.Input(shape=(5, 3)), lamina.Input(shape=(4, 2))
    _, h, c = LSTM(4, return_state=True)(source)
    decoder = LSTM(4, return_sequences=True)
    decoded = decoder(target, initial_state=[h, c])
    assert decoded.shape == (None, 4, 4)
    model = lamina.Model([source, target], decoded)
    x, y = _randn(2, 5, 3), _randn(2, 4, 2, seed=1)
    encoder = model.layers[2]
    _, h_value, c_value = encoder(x)
    torch.testing.assert_close(model([x, y]), keras_rnn(y, decoder, None, [h_value, c_value]))


def test_a_model_of_every_new_layer_saves_and_loads(tmp_path: Any) -> None:
    tokens = lamina.Input(shape=(None,), dtype="int64")
    embedded = layers.Embedding(12, 6, mask_zero=True)(tokens)
    both = Bidirectional(GRU(4, return_sequences=True))(embedded)
    attended = MultiHeadAttention(num_heads=2, key_dim=3)(both, both)
    projected = TimeDistributed(layers.Dense(3))(attended)
    model = lamina.Model(tokens, SimpleRNN(5)(LSTM(4, return_sequences=True)(projected)))
    batch = torch.tensor([[1, 2, 3, 0], [4, 0, 5, 6]])
    model.save(tmp_path / "model.lamina")
    custom = {cls.__name__: cls for cls in (Bidirectional, GRU, LSTM, MultiHeadAttention,
                                            SimpleRNN, TimeDistributed)}
    loaded = lamina.load_model(tmp_path / "model.lamina", custom_objects=custom)
    torch.testing.assert_close(loaded(batch), model(batch))


class _MaskedMix(layers.Layer):
    """A layer with two tensor arguments and Keras 3's per-argument mask parameters."""

    def call(self, query: torch.Tensor, value: torch.Tensor,
             query_mask: torch.Tensor | None = None,
             value_mask: torch.Tensor | None = None) -> torch.Tensor:
        if query_mask is not None:
            query = query * query_mask.unsqueeze(-1)
        if value_mask is not None:
            value = value * value_mask.unsqueeze(-1)
        return query.sum(1) + 2.0 * value.sum(1)


def test_each_tensor_argument_brings_its_own_mask() -> None:
    """Keras 3's ``{argument}_mask`` rule: in a model, in inference and called eagerly."""
    torch.manual_seed(0)
    first, second = lamina.Input((4,), dtype="int64"), lamina.Input((5,), dtype="int64")
    embed_q = layers.Embedding(10, 3, mask_zero=True)
    embed_v = layers.Embedding(10, 3, mask_zero=True)
    mix = _MaskedMix()
    model = lamina.Model([first, second], mix(embed_q(first), embed_v(second)))
    assert model.output_shape == (None, 3)
    q_tokens = torch.tensor([[1, 2, 0, 0], [3, 0, 0, 0]])
    v_tokens = torch.tensor([[4, 5, 6, 0, 0], [7, 8, 0, 0, 0]])
    q, v = embed_q(q_tokens), embed_v(v_tokens)
    expected = ((q * (q_tokens != 0).unsqueeze(-1)).sum(1)
                + 2.0 * (v * (v_tokens != 0).unsqueeze(-1)).sum(1))
    torch.testing.assert_close(model([q_tokens, v_tokens]), expected)
    assert not torch.allclose(q.sum(1) + 2.0 * v.sum(1), expected)  # the masks matter
    q._keras_mask, v._keras_mask = q_tokens != 0, v_tokens != 0
    torch.testing.assert_close(mix(q, v), expected)
    explicit = torch.ones_like(v_tokens, dtype=torch.bool)  # an explicit mask wins
    torch.testing.assert_close(mix(q, v, value_mask=explicit),
                               (q * (q_tokens != 0).unsqueeze(-1)).sum(1) + 2.0 * v.sum(1))
