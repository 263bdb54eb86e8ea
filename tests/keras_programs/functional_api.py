"""The Functional API: models as graphs of layers.

A plain stack written as calls, one model used inside another as if it were a layer, a
model with three inputs and two outputs trained from dicts, a layer shared by two inputs,
and a small residual convnet with a skip connection.
"""

import lamina as keras
import numpy as np

rng = np.random.default_rng(7)


def a_stack_of_calls():
    inputs = keras.Input(shape=(20,), name="features")
    x = keras.layers.Dense(32, activation="relu")(inputs)
    x = keras.layers.Dense(32, activation="relu")(x)
    outputs = keras.layers.Dense(4, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=outputs, name="stack")
    assert tuple(inputs.shape) == (None, 20)
    assert tuple(outputs.shape) == (None, 4)
    assert model.name == "stack"
    assert len(model.layers) == 4  # the input layer and three Dense layers

    centres = rng.normal(scale=3.0, size=(4, 20))
    y = rng.integers(0, 4, size=600)
    x_data = (centres[y] + rng.normal(size=(600, 20))).astype("float32")
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    history = model.fit(x_data, y, batch_size=64, epochs=4, validation_split=0.2, verbose=0)
    assert set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    _, accuracy = model.evaluate(x_data, y, verbose=0)
    assert accuracy > 0.8, accuracy


def models_are_callable():
    # An encoder and a decoder, each a model, composed into an autoencoder.
    encoder_input = keras.Input(shape=(12,), name="original")
    code = keras.layers.Dense(3, activation="tanh")(encoder_input)
    encoder = keras.Model(encoder_input, code, name="encoder")

    decoder_input = keras.Input(shape=(3,), name="encoded")
    decoded = keras.layers.Dense(12)(decoder_input)
    decoder = keras.Model(decoder_input, decoded, name="decoder")

    autoencoder_input = keras.Input(shape=(12,), name="data")
    reconstructed = decoder(encoder(autoencoder_input))
    autoencoder = keras.Model(autoencoder_input, reconstructed, name="autoencoder")
    assert [layer.name for layer in autoencoder.layers] == ["data", "encoder", "decoder"]

    # Data on a 3-dimensional subspace: a 3-unit code can hold it.
    basis = rng.normal(size=(3, 12))
    data = (rng.normal(size=(400, 3)) @ basis).astype("float32")
    autoencoder.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    before = autoencoder.evaluate(data, data, verbose=0)
    autoencoder.fit(data, data, batch_size=32, epochs=10, verbose=0)
    after = autoencoder.evaluate(data, data, verbose=0)
    assert after < 0.5 * before, (before, after)
    # The encoder shares its weights with the autoencoder, so it has trained too.
    assert encoder.predict(data[:4], verbose=0).shape == (4, 3)


def many_inputs_and_outputs():
    # Tickets: a title, a body and tags in; a priority score and a department out.
    vocabulary, tags, departments = 100, 6, 3
    title_input = keras.Input(shape=(None,), name="title")
    body_input = keras.Input(shape=(None,), name="body")
    tags_input = keras.Input(shape=(tags,), name="tags")
    title_features = keras.layers.Embedding(vocabulary, 8)(title_input)
    body_features = keras.layers.Embedding(vocabulary, 8)(body_input)
    title_features = keras.layers.LSTM(16)(title_features)
    body_features = keras.layers.LSTM(8)(body_features)
    x = keras.layers.concatenate([title_features, body_features, tags_input])
    priority = keras.layers.Dense(1, name="priority")(x)
    department = keras.layers.Dense(departments, name="department")(x)
    model = keras.Model(
        inputs=[title_input, body_input, tags_input], outputs=[priority, department]
    )

    count = 256
    title_data = rng.integers(1, vocabulary, size=(count, 6))
    body_data = rng.integers(1, vocabulary, size=(count, 15))
    tags_data = rng.integers(0, 2, size=(count, tags)).astype("float32")
    # Targets that the tags decide, so the model can learn them.
    priority_targets = tags_data[:, :1]  # the first tag marks urgent tickets
    department_targets = (tags_data[:, 2] + tags_data[:, 3]).astype("int32")

    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss={
            "priority": keras.losses.BinaryCrossentropy(from_logits=True),
            "department": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        },
        loss_weights={"priority": 1.0, "department": 0.5},
    )
    history = model.fit(
        {"title": title_data, "body": body_data, "tags": tags_data},
        {"priority": priority_targets, "department": department_targets},
        batch_size=32,
        epochs=6,
        verbose=0,
    )
    losses = history.history["loss"]
    assert losses[-1] < 0.7 * losses[0], losses
    priority_out, department_out = model.predict(
        {"title": title_data[:3], "body": body_data[:3], "tags": tags_data[:3]}, verbose=0
    )
    assert priority_out.shape == (3, 1) and department_out.shape == (3, departments)


def a_shared_layer():
    # One embedding for two text inputs: the same weights see both.
    shared = keras.layers.Embedding(50, 4)
    first = keras.Input(shape=(None,), dtype="int32")
    second = keras.Input(shape=(None,), dtype="int32")
    model = keras.Model([first, second], [shared(first), shared(second)])
    tokens = np.array([[1, 2, 3]])
    out_first, out_second = model.predict([tokens, tokens], verbose=0)
    np.testing.assert_allclose(out_first, out_second)
    assert len(model.weights) == 1


def a_small_resnet():
    inputs = keras.Input(shape=(16, 16, 3), name="image")
    x = keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    x = keras.layers.Conv2D(16, 3, activation="relu")(x)
    block_1_output = keras.layers.MaxPooling2D(2)(x)

    x = keras.layers.Conv2D(16, 3, activation="relu", padding="same")(block_1_output)
    x = keras.layers.Conv2D(16, 3, activation="relu", padding="same")(x)
    block_2_output = keras.layers.add([x, block_1_output])

    x = keras.layers.GlobalAveragePooling2D()(block_2_output)
    x = keras.layers.Dense(16, activation="relu")(x)
    outputs = keras.layers.Dense(2)(x)
    model = keras.Model(inputs, outputs, name="toy_resnet")
    assert tuple(block_2_output.shape) == (None, 6, 6, 16)

    # Class 1 images are brighter in the red channel.
    labels = rng.integers(0, 2, size=256)
    images = rng.normal(size=(256, 16, 16, 3)).astype("float32")
    images[..., 0] += labels[:, None, None] * 1.5
    model.compile(
        optimizer=keras.optimizers.Adam(0.003),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["acc"],
    )
    history = model.fit(images, labels, batch_size=32, epochs=4, verbose=0)
    assert history.history["acc"][-1] > 0.8, history.history["acc"]


def main():
    keras.utils.set_random_seed(7)
    a_stack_of_calls()
    models_are_callable()
    many_inputs_and_outputs()
    a_shared_layer()
    a_small_resnet()
    print("functional_api: ok")


if __name__ == "__main__":
    main()
