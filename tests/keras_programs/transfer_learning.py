"""Transfer learning and fine-tuning.

What ``trainable = False`` does to a layer's weights (and to BatchNormalization), reusing a
trained base model frozen under a new head, fine-tuning it afterwards with a low learning
rate, and a feature extractor cut from the middle of a model with ``get_layer(...).output``.
"""

import lamina as keras
import numpy as np

rng = np.random.default_rng(4)


def freezing_moves_weights():
    layer = keras.layers.Dense(3)
    layer.build((None, 4))
    assert len(layer.trainable_weights) == 2 and len(layer.non_trainable_weights) == 0
    layer.trainable = False
    assert len(layer.weights) == 2
    assert len(layer.trainable_weights) == 0 and len(layer.non_trainable_weights) == 2

    # BatchNormalization: the moving mean and variance never train.
    norm = keras.layers.BatchNormalization()
    norm.build((None, 4))
    assert len(norm.trainable_weights) == 2 and len(norm.non_trainable_weights) == 2

    # Freezing a model freezes every layer in it, recursively.
    inner = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(3, activation="relu")])
    outer = keras.Sequential([keras.Input(shape=(3,)), inner, keras.layers.Dense(3)])
    outer.trainable = False
    assert inner.trainable is False and inner.layers[0].trainable is False
    assert outer.trainable_weights == []


def frozen_weights_do_not_change():
    frozen = keras.layers.Dense(3, activation="relu")
    trained = keras.layers.Dense(3, activation="sigmoid")
    model = keras.Sequential([keras.Input(shape=(3,)), frozen, trained])
    frozen.trainable = False
    before_frozen = frozen.get_weights()
    before_trained = trained.get_weights()
    model.compile(optimizer="adam", loss="mse")
    model.fit(rng.random((32, 3)), rng.random((32, 3)), epochs=2, verbose=0)
    for old, new in zip(before_frozen, frozen.get_weights()):
        np.testing.assert_array_equal(old, new)
    assert not np.allclose(before_trained[0], trained.get_weights()[0])


def make_images(count, bright_channel):
    """Labels say whether the given channel is brighter than the image's other channels."""
    labels = rng.integers(0, 2, size=count)
    images = rng.normal(size=(count, 12, 12, 3)).astype("float32")
    images[..., bright_channel] += (2 * labels[:, None, None] - 1) * 0.8
    return images, labels.astype("float32")


def pretrained_base():
    """A small convnet, trained on a first task, standing in for an ImageNet model."""
    inputs = keras.Input(shape=(12, 12, 3))
    x = keras.layers.Conv2D(8, 3, activation="relu", name="conv_1")(inputs)
    x = keras.layers.BatchNormalization(name="norm")(x)
    x = keras.layers.Conv2D(8, 3, activation="relu", name="conv_2")(x)
    features = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="first_task")(features)
    model = keras.Model(inputs, outputs, name="first_model")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    images, labels = make_images(256, bright_channel=0)
    model.fit(images, labels, batch_size=32, epochs=3, verbose=0)
    # The base model is everything up to the pooled features.
    return keras.Model(inputs, model.get_layer("pool").output, name="base")


def transfer_then_fine_tune():
    base_model = pretrained_base()
    base_model.trainable = False

    inputs = keras.Input(shape=(12, 12, 3))
    # As the guide advises, the base is called with training=False (inference mode).
    x = base_model(inputs, training=False)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(1, name="second_task")(x)
    model = keras.Model(inputs, outputs)
    assert len(model.trainable_weights) == 2  # the new head only

    # The second task looks at a different channel; the base's features still help.
    images, labels = make_images(256, bright_channel=1)
    val_images, val_labels = make_images(128, bright_channel=1)
    base_before = base_model.get_weights()
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.02),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)],
    )
    first = model.fit(images, labels, batch_size=32, epochs=4, verbose=0,
                      validation_data=(val_images, val_labels))
    for old, new in zip(base_before, base_model.get_weights()):
        np.testing.assert_array_equal(old, new)  # moving statistics included

    # Fine-tuning: unfreeze, recompile (so the change takes effect), learn slowly.
    base_model.trainable = True
    assert len(model.trainable_weights) > 2
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)],
    )
    second = model.fit(images, labels, batch_size=32, epochs=4, verbose=0,
                       validation_data=(val_images, val_labels))
    assert not np.allclose(base_before[0], base_model.get_weights()[0])
    accuracy = second.history["val_binary_accuracy"][-1]
    assert accuracy > 0.7, (first.history, second.history)
    assert second.history["loss"][-1] < first.history["loss"][0]


def feature_extractor():
    inputs = keras.Input(shape=(6,))
    x = keras.layers.Dense(8, activation="relu", name="first")(inputs)
    x = keras.layers.Dense(5, activation="relu", name="middle")(x)
    outputs = keras.layers.Dense(2, name="last")(x)
    model = keras.Model(inputs, outputs)
    extractor = keras.Model(inputs=model.inputs, outputs=model.get_layer("middle").output)
    features = extractor.predict(rng.normal(size=(4, 6)).astype("float32"), verbose=0)
    assert features.shape == (4, 5)
    assert (features >= 0).all()  # ReLU outputs
    # The extractor shares its layers with the model.
    assert extractor.get_layer("middle") is model.get_layer("middle")


def main():
    keras.utils.set_random_seed(4)
    freezing_moves_weights()
    frozen_weights_do_not_change()
    transfer_then_fine_tune()
    feature_extractor()
    print("transfer_learning: ok")


if __name__ == "__main__":
    main()
