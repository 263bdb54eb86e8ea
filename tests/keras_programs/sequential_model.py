"""The Sequential model: a plain stack of layers, one input tensor and one output tensor.

Builds Sequential models three ways (a list, ``add``, an ``Input`` first), shows when weights
are created, uses the stack as a feature extractor, and trains one on a toy problem.
"""

import lamina as keras
import numpy as np


def build_three_ways():
    # A list of layers...
    listed = keras.Sequential(
        [
            keras.layers.Dense(8, activation="relu", name="first"),
            keras.layers.Dense(6, activation="relu", name="second"),
            keras.layers.Dense(2, name="third"),
        ]
    )
    # ...or one layer at a time, with a layer to take away again.
    added = keras.Sequential(name="added_one_by_one")
    added.add(keras.layers.Dense(8, activation="relu"))
    added.add(keras.layers.Dense(6, activation="relu"))
    added.add(keras.layers.Dense(2))
    added.add(keras.layers.Dense(99))
    assert len(added.layers) == 4
    added.pop()
    assert len(added.layers) == 3
    assert added.name == "added_one_by_one"
    return listed, added


def weights_appear_on_first_call(model):
    # Without an input shape the layers have no weights until data goes through.
    assert len(model.weights) == 0
    outputs = model(np.ones((5, 4), dtype="float32"))
    assert tuple(outputs.shape) == (5, 2)
    # Three Dense layers, a kernel and a bias each.
    assert len(model.weights) == 6
    kernel_shapes = [tuple(layer.kernel.shape) for layer in model.layers]
    assert kernel_shapes == [(4, 8), (8, 6), (6, 2)]


def known_input_shape():
    # With an Input first the model is built at once and has a summary.
    model = keras.Sequential(
        [
            keras.Input(shape=(4,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(2),
        ]
    )
    assert len(model.weights) == 4
    assert model.count_params() == 4 * 8 + 8 + 8 * 2 + 2
    model.summary()
    # A layer can also report its own weights once the model is built.
    assert len(model.layers[0].weights) == 2
    return model


def feature_extractor():
    # Every layer of a built Sequential model has an output we can ask for.
    base = keras.Sequential(
        [
            keras.Input(shape=(10,)),
            keras.layers.Dense(16, activation="relu", name="hidden_a"),
            keras.layers.Dense(12, activation="relu", name="hidden_b"),
            keras.layers.Dense(3, name="logits"),
        ]
    )
    every_layer = keras.Model(
        inputs=base.inputs[0], outputs=[layer.output for layer in base.layers]
    )
    one_layer = keras.Model(inputs=base.inputs[0], outputs=base.get_layer("hidden_b").output)
    x = np.random.default_rng(0).normal(size=(7, 10)).astype("float32")
    features = every_layer.predict(x, verbose=0)
    assert [f.shape for f in features] == [(7, 16), (7, 12), (7, 3)]
    np.testing.assert_allclose(one_layer.predict(x, verbose=0), features[1], rtol=1e-6)


def train_a_classifier():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(512, 4)).astype("float32")
    # Two classes split by a plane through the origin.
    y = (x @ np.array([1.0, -2.0, 0.5, 1.5]) > 0).astype("int32")
    model = keras.Sequential(
        [
            keras.Input(shape=(4,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(x, y, batch_size=32, epochs=8, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0], losses
    assert history.history["accuracy"][-1] > 0.9, history.history["accuracy"]
    probabilities = model.predict(x[:5], verbose=0)
    assert probabilities.shape == (5, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), np.ones(5), rtol=1e-5)


def main():
    keras.utils.set_random_seed(42)
    listed, added = build_three_ways()
    weights_appear_on_first_call(listed)
    weights_appear_on_first_call(added)
    known_input_shape()
    feature_extractor()
    train_a_classifier()
    print("sequential_model: ok")


if __name__ == "__main__":
    main()
