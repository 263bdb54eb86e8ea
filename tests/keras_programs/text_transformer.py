"""Text classification with a small Transformer.

A ``TokenAndPositionEmbedding`` layer (one embedding for tokens, one for positions) and a
``TransformerBlock`` layer (self-attention and a feed-forward network, each with dropout,
a residual connection and layer normalization), on "reviews" padded with
``pad_sequences`` whose sentiment depends on which words they contain.
"""

import lamina as keras
import numpy as np

VOCAB_SIZE = 200
MAXLEN = 32
POSITIVE_WORDS = np.arange(2, 12)
NEGATIVE_WORDS = np.arange(12, 22)
rng = np.random.default_rng(23)


class TransformerBlock(keras.layers.Layer):
    """Self-attention then a position-wise feed-forward network, each added back in."""

    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1, **kwargs):
        super().__init__(**kwargs)
        self.attention = keras.layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.feed_forward = keras.Sequential(
            [keras.layers.Dense(ff_dim, activation="relu"), keras.layers.Dense(embed_dim)]
        )
        self.attention_norm = keras.layers.LayerNormalization(epsilon=1e-6)
        self.feed_forward_norm = keras.layers.LayerNormalization(epsilon=1e-6)
        self.attention_dropout = keras.layers.Dropout(rate)
        self.feed_forward_dropout = keras.layers.Dropout(rate)

    def call(self, inputs, training=None):
        attended = self.attention(inputs, inputs)
        attended = self.attention_dropout(attended, training=training)
        x = self.attention_norm(inputs + attended)
        transformed = self.feed_forward(x)
        transformed = self.feed_forward_dropout(transformed, training=training)
        return self.feed_forward_norm(x + transformed)


class TokenAndPositionEmbedding(keras.layers.Layer):
    """The sum of a token's embedding and its position's embedding."""

    def __init__(self, maxlen, vocab_size, embed_dim, **kwargs):
        super().__init__(**kwargs)
        self.token_embedding = keras.layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.position_embedding = keras.layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        length = keras.ops.shape(x)[-1]
        positions = self.position_embedding(keras.ops.arange(start=0, stop=length, step=1))
        return self.token_embedding(x) + positions


def make_reviews(count):
    """Reviews of 10 to 50 words; more positive than negative words means label 1."""
    reviews, labels = [], []
    for _ in range(count):
        words = list(rng.integers(22, VOCAB_SIZE, size=rng.integers(10, 50)))
        label = int(rng.integers(0, 2))
        strong, weak = (POSITIVE_WORDS, NEGATIVE_WORDS) if label else (NEGATIVE_WORDS,
                                                                        POSITIVE_WORDS)
        for word in rng.choice(strong, size=4):
            words[rng.integers(0, len(words))] = word
        for word in rng.choice(weak, size=1):
            words[rng.integers(0, len(words))] = word
        reviews.append(words)
        labels.append(label)
    return reviews, np.array(labels)


def main():
    keras.utils.set_random_seed(23)
    x_train, y_train = make_reviews(320)
    x_val, y_val = make_reviews(128)
    print(len(x_train), "training sequences,", len(x_val), "validation sequences")

    # Longer reviews lose their start; shorter ones get zeros in front.
    x_train = keras.utils.pad_sequences(x_train, maxlen=MAXLEN)
    x_val = keras.utils.pad_sequences(x_val, maxlen=MAXLEN)
    assert x_train.shape == (320, MAXLEN) and x_val.shape == (128, MAXLEN)

    embed_dim, num_heads, ff_dim = 16, 2, 16
    inputs = keras.Input(shape=(MAXLEN,))
    embedding = TokenAndPositionEmbedding(MAXLEN, VOCAB_SIZE, embed_dim)
    x = embedding(inputs)
    assert tuple(x.shape) == (None, MAXLEN, embed_dim)
    x = TransformerBlock(embed_dim, num_heads, ff_dim)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    x = keras.layers.Dropout(0.1)(x)
    x = keras.layers.Dense(16, activation="relu")(x)
    x = keras.layers.Dropout(0.1)(x)
    outputs = keras.layers.Dense(2, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)

    model.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=32, epochs=6,
                        validation_data=(x_val, y_val), verbose=0)
    print({name: [round(v, 3) for v in values] for name, values in history.history.items()})
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]
    assert history.history["val_accuracy"][-1] > 0.75, history.history["val_accuracy"]

    # Without training=True the dropout layers are off: predictions repeat exactly.
    first = model.predict(x_val[:8], verbose=0)
    np.testing.assert_array_equal(first, model.predict(x_val[:8], verbose=0))
    assert first.shape == (8, 2)
    print("text_transformer: ok")


if __name__ == "__main__":
    main()
