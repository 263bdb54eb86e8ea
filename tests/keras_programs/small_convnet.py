"""A small convnet on MNIST-like digits.

Ten classes of 28x28 grey images, scaled to [0, 1] with a channel axis added, labels made
one-hot with ``to_categorical``; two Conv2D/MaxPooling2D blocks, Dropout and a softmax
layer; trained with categorical cross-entropy and evaluated on held-out images.
"""

import lamina as keras
import numpy as np

NUM_CLASSES = 10
INPUT_SHAPE = (28, 28, 1)
rng = np.random.default_rng(17)


def make_digits(count):
    """Stand-ins for MNIST: each class is a bar at its own place and angle, plus noise."""
    labels = rng.integers(0, NUM_CLASSES, size=count)
    images = rng.integers(0, 60, size=(count, 28, 28)).astype("uint8")
    for image, label in zip(images, labels):
        position = 3 + 5 * (label % 5) + rng.integers(-1, 2)
        if label < 5:
            image[4:24, position:position + 3] = 255  # a vertical bar
        else:
            image[position:position + 3, 4:24] = 255  # a horizontal bar
    return images, labels


def main():
    keras.utils.set_random_seed(17)
    (x_train, y_train), (x_test, y_test) = make_digits(600), make_digits(200)

    # Scale to [0, 1] and add the channel axis, as for MNIST.
    x_train = np.expand_dims(x_train.astype("float32") / 255, -1)
    x_test = np.expand_dims(x_test.astype("float32") / 255, -1)
    assert x_train.shape == (600, 28, 28, 1)

    y_train = keras.utils.to_categorical(y_train, NUM_CLASSES)
    y_test = keras.utils.to_categorical(y_test, NUM_CLASSES)
    assert y_train.shape == (600, NUM_CLASSES)
    np.testing.assert_array_equal(y_train.sum(axis=1), np.ones(600))

    model = keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            keras.layers.Conv2D(16, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(NUM_CLASSES, activation="softmax"),
        ]
    )
    model.summary()
    assert model.output_shape == (None, NUM_CLASSES)
    # 28 -> 26 -> 13 -> 11 -> 5: the flattened features are 5 * 5 * 32 = 800 values.
    assert model.layers[4].output.shape[1] == 800
    assert model.count_params() == (9 * 16 + 16) + (9 * 16 * 32 + 32) + (800 * 10 + 10)

    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=64, epochs=4, validation_split=0.1,
                        verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0], losses

    score = model.evaluate(x_test, y_test, verbose=0)
    print(f"test loss {score[0]:.4f}, test accuracy {score[1]:.4f}")
    assert score[1] > 0.7, score  # chance is 0.1

    predicted = model.predict(x_test, verbose=0).argmax(axis=1)
    np.testing.assert_allclose((predicted == y_test.argmax(axis=1)).mean(), score[1], atol=1e-6)
    print("small_convnet: ok")


if __name__ == "__main__":
    main()
