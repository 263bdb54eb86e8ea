"""Working with recurrent neural networks.

LSTM, GRU and SimpleRNN layers; the shapes given by ``return_sequences`` and
``return_state``; an encoder handing its state to a decoder; Bidirectional wrappers;
masking padded steps with ``Embedding(mask_zero=True)``; an RNN layer around a cell; and a
sequence classifier that learns.
"""

import lamina as keras
import numpy as np

rng = np.random.default_rng(13)
VOCABULARY = 20


def output_shapes():
    model = keras.Sequential(
        [
            keras.Input(shape=(None,), dtype="int32"),
            keras.layers.Embedding(input_dim=VOCABULARY, output_dim=8),
            keras.layers.LSTM(16),
            keras.layers.Dense(4),
        ]
    )
    tokens = rng.integers(1, VOCABULARY, size=(3, 7))
    assert model.predict(tokens, verbose=0).shape == (3, 4)

    inputs = keras.Input(shape=(7, 8))
    sequences = keras.layers.GRU(6, return_sequences=True)(inputs)
    last = keras.layers.SimpleRNN(5)(sequences)
    assert tuple(sequences.shape) == (None, 7, 6)
    assert tuple(last.shape) == (None, 5)

    # return_state: the LSTM's output and its two states (h and c).
    output, state_h, state_c = keras.layers.LSTM(4, return_state=True)(inputs)
    assert [tuple(t.shape) for t in (output, state_h, state_c)] == [(None, 4)] * 3
    gru_output, gru_state = keras.layers.GRU(3, return_state=True)(inputs)
    assert tuple(gru_state.shape) == (None, 3)

    # With return_sequences too, the output is every step and the state the last one.
    model = keras.Model(inputs, keras.layers.LSTM(4, return_sequences=True,
                                                  return_state=True)(inputs))
    every_step, last_h, _ = model.predict(rng.normal(size=(2, 7, 8)), verbose=0)
    assert every_step.shape == (2, 7, 4)
    np.testing.assert_allclose(every_step[:, -1], last_h, rtol=1e-5, atol=1e-6)


def encoder_decoder():
    encoder_vocabulary, decoder_vocabulary = 30, 25
    encoder_input = keras.Input(shape=(None,))
    encoded = keras.layers.Embedding(encoder_vocabulary, 8)(encoder_input)
    output, state_h, state_c = keras.layers.LSTM(16, return_state=True,
                                                 name="encoder")(encoded)
    encoder_state = [state_h, state_c]

    decoder_input = keras.Input(shape=(None,))
    decoded = keras.layers.Embedding(decoder_vocabulary, 8)(decoder_input)
    # The decoder starts from the encoder's final state.
    decoded = keras.layers.LSTM(16, name="decoder")(decoded, initial_state=encoder_state)
    outputs = keras.layers.Dense(10)(decoded)
    model = keras.Model([encoder_input, decoder_input], outputs)

    source = rng.integers(1, encoder_vocabulary, size=(4, 9))
    target = rng.integers(1, decoder_vocabulary, size=(4, 5))
    result = model.predict([source, target], verbose=0)
    assert result.shape == (4, 10)
    # A different source gives a different start, so different outputs.
    other = model.predict([source[::-1], target], verbose=0)
    assert not np.allclose(result, other)


def bidirectional():
    model = keras.Sequential(
        [
            keras.Input(shape=(5, 10)),
            keras.layers.Bidirectional(keras.layers.LSTM(6, return_sequences=True)),
            keras.layers.Bidirectional(keras.layers.LSTM(4)),
            keras.layers.Dense(2),
        ]
    )
    assert tuple(model.layers[0].output.shape) == (None, 5, 12)  # forward and backward joined
    assert tuple(model.layers[1].output.shape) == (None, 8)
    # A backward layer of its own choosing.
    custom = keras.layers.Bidirectional(
        keras.layers.GRU(3, return_sequences=True),
        backward_layer=keras.layers.GRU(3, return_sequences=True, go_backwards=True),
        merge_mode="sum",
    )
    summed = custom(rng.normal(size=(2, 5, 10)).astype("float32"))
    assert tuple(summed.shape) == (2, 5, 3)


def masking():
    embedding = keras.layers.Embedding(input_dim=VOCABULARY, output_dim=4, mask_zero=True)
    padded = keras.utils.pad_sequences([[3, 5, 7], [4, 2], [9]], padding="post")
    np.testing.assert_array_equal(padded, [[3, 5, 7], [4, 2, 0], [9, 0, 0]])
    mask = embedding.compute_mask(padded)
    np.testing.assert_array_equal(
        np.array(mask.tolist()), [[True, True, True], [True, True, False], [True, False, False]]
    )

    # Masked steps are skipped: padding does not change what the LSTM returns.
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(VOCABULARY, 4, mask_zero=True)(inputs)
    outputs = keras.layers.LSTM(6)(x)
    model = keras.Model(inputs, outputs)
    short = np.array([[4, 2, 8]])
    long = np.array([[4, 2, 8, 0, 0, 0]])
    np.testing.assert_allclose(model.predict(short, verbose=0),
                               model.predict(long, verbose=0), rtol=1e-5, atol=1e-6)

    # A Masking layer does the same for float inputs whose padded steps are all zeros.
    steps = rng.normal(size=(1, 3, 5)).astype("float32")
    padded_steps = np.concatenate([steps, np.zeros((1, 2, 5), "float32")], axis=1)
    float_inputs = keras.Input(shape=(None, 5))
    masked = keras.layers.Masking(mask_value=0.0)(float_inputs)
    float_model = keras.Model(float_inputs, keras.layers.GRU(4)(masked))
    np.testing.assert_allclose(float_model.predict(steps, verbose=0),
                               float_model.predict(padded_steps, verbose=0),
                               rtol=1e-5, atol=1e-6)


def rnn_around_a_cell():
    layer = keras.layers.RNN(keras.layers.LSTMCell(5), return_sequences=True)
    assert tuple(layer(np.ones((2, 4, 3), "float32")).shape) == (2, 4, 5)
    # RNN(LSTMCell) is the same computation as LSTM, given the same weights.
    lstm = keras.layers.LSTM(5, return_sequences=True)
    lstm.build((None, 4, 3))
    lstm.set_weights(layer.get_weights())
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    cell_model = keras.Sequential([keras.Input(shape=(4, 3)), layer])
    lstm_model = keras.Sequential([keras.Input(shape=(4, 3)), lstm])
    np.testing.assert_allclose(cell_model.predict(x, verbose=0),
                               lstm_model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def a_sequence_classifier():
    # Is token 1 in the (padded, variable-length) sequence?
    sequences = []
    labels = rng.integers(0, 2, size=360)
    for label in labels:
        length = rng.integers(3, 10)
        tokens = list(rng.integers(2, VOCABULARY, size=length))
        if label:
            tokens[rng.integers(0, length)] = 1
        sequences.append(tokens)
    padded = keras.utils.pad_sequences(sequences, maxlen=10)

    model = keras.Sequential(
        [
            keras.Input(shape=(10,), dtype="int32"),
            keras.layers.Embedding(VOCABULARY, 8, mask_zero=True),
            keras.layers.GRU(8),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(padded[:300], labels[:300], batch_size=32, epochs=4, verbose=0,
                        validation_data=(padded[300:], labels[300:]))
    assert history.history["val_accuracy"][-1] > 0.85, history.history


def main():
    keras.utils.set_random_seed(13)
    output_shapes()
    encoder_decoder()
    bidirectional()
    masking()
    rnn_around_a_cell()
    a_sequence_classifier()
    print("recurrent_networks: ok")


if __name__ == "__main__":
    main()
