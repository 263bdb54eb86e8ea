"""Serialization and saving.

A whole model to one file and back (predictions and optimizer state intact), custom
objects found through ``register_keras_serializable`` or ``custom_objects``, architecture
only via ``get_config``/``from_config`` and JSON, and weights only via ``save_weights`` and
``get_weights``.
"""

import os
import tempfile

import lamina as keras
import numpy as np

rng = np.random.default_rng(9)
x_data = rng.normal(size=(128, 12)).astype("float32")
y_data = (x_data[:, :3].sum(axis=1) > 0).astype("float32")[:, None]


def trained_model():
    inputs = keras.Input(shape=(12,), name="features")
    x = keras.layers.Dense(16, activation="relu", name="hidden")(inputs)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="score")(x)
    model = keras.Model(inputs, outputs, name="scorer")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                  loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x_data, y_data, batch_size=32, epochs=2, verbose=0)
    return model


def whole_model(directory):
    model = trained_model()
    path = os.path.join(directory, "scorer.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert reloaded.name == "scorer"
    np.testing.assert_allclose(
        reloaded.predict(x_data, verbose=0), model.predict(x_data, verbose=0), rtol=1e-6
    )
    # The optimizer came back compiled and with its state: training picks up where it was.
    assert reloaded.optimizer is not None
    model.fit(x_data, y_data, batch_size=128, epochs=1, verbose=0, shuffle=False)
    reloaded.fit(x_data, y_data, batch_size=128, epochs=1, verbose=0, shuffle=False)
    for original, copy in zip(model.get_weights(), reloaded.get_weights()):
        np.testing.assert_allclose(original, copy, rtol=1e-5, atol=1e-6)


@keras.saving.register_keras_serializable(package="guide_programs")
class ScaledDense(keras.layers.Layer):
    """A Dense layer whose output is multiplied by a fixed factor."""

    def __init__(self, units, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.factor = factor

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                      initializer="glorot_uniform", name="kernel")

    def call(self, inputs):
        return self.factor * keras.ops.matmul(inputs, self.kernel)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "factor": self.factor}


@keras.saving.register_keras_serializable(package="guide_programs", name="halved_relu")
def halved_relu(x):
    return 0.5 * keras.ops.relu(x)


def registered_custom_objects(directory):
    inputs = keras.Input(shape=(12,))
    x = ScaledDense(8, factor=3.0)(inputs)
    outputs = keras.layers.Dense(1, activation=halved_relu)(x)
    model = keras.Model(inputs, outputs)
    path = os.path.join(directory, "registered.keras")
    model.save(path)
    # Registered objects are found by name: no custom_objects needed.
    reloaded = keras.models.load_model(path)
    assert isinstance(reloaded.layers[1], ScaledDense)
    assert reloaded.layers[1].factor == 3.0
    np.testing.assert_allclose(
        reloaded.predict(x_data, verbose=0), model.predict(x_data, verbose=0), rtol=1e-6
    )


class OffsetLayer(keras.layers.Layer):
    """Adds a learned offset; not registered, so loading needs custom_objects."""

    def build(self, input_shape):
        self.offset = self.add_weight(shape=(input_shape[-1],), initializer="ones",
                                      name="offset")

    def call(self, inputs):
        return inputs + self.offset


def custom_objects_argument(directory):
    inputs = keras.Input(shape=(12,))
    outputs = OffsetLayer(name="offset_layer")(keras.layers.Dense(4)(inputs))
    model = keras.Model(inputs, outputs)
    path = os.path.join(directory, "custom_objects.keras")
    model.save(path)
    reloaded = keras.models.load_model(path, custom_objects={"OffsetLayer": OffsetLayer})
    assert isinstance(reloaded.get_layer("offset_layer"), OffsetLayer)
    np.testing.assert_allclose(
        reloaded.predict(x_data, verbose=0), model.predict(x_data, verbose=0), rtol=1e-6
    )
    # Or with a scope around the loading code.
    with keras.saving.custom_object_scope({"OffsetLayer": OffsetLayer}):
        scoped = keras.models.load_model(path)
    assert isinstance(scoped.get_layer("offset_layer"), OffsetLayer)


def architecture_only():
    model = trained_model()
    # get_config / from_config: the same graph with fresh weights.
    config = model.get_config()
    copy = keras.Model.from_config(config)
    assert [layer.name for layer in copy.layers] == [layer.name for layer in model.layers]
    assert not np.allclose(copy.get_layer("hidden").get_weights()[0],
                           model.get_layer("hidden").get_weights()[0])

    sequential = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2, name="d")])
    sequential_copy = keras.Sequential.from_config(sequential.get_config())
    assert sequential_copy.get_layer("d").units == 2

    # One layer alone has a config too.
    layer = keras.layers.Dense(3, activation="relu")
    layer_copy = keras.layers.Dense.from_config(layer.get_config())
    assert layer_copy.get_config() == layer.get_config()

    # to_json / model_from_json: the config as a string.
    json_config = model.to_json()
    assert isinstance(json_config, str)
    from_json = keras.models.model_from_json(json_config)
    assert from_json.count_params() == model.count_params()

    # clone_model: a new model from the same config, with weights to copy over.
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(x_data, verbose=0),
                               model.predict(x_data, verbose=0), rtol=1e-6)


def weights_only(directory):
    model = trained_model()
    # In memory, layer by layer...
    fresh = keras.Model.from_config(model.get_config())
    fresh.get_layer("hidden").set_weights(model.get_layer("hidden").get_weights())
    fresh.get_layer("score").set_weights(model.get_layer("score").get_weights())
    np.testing.assert_allclose(fresh.predict(x_data, verbose=0),
                               model.predict(x_data, verbose=0), rtol=1e-6)

    # ...or through a file, into a model with the same architecture.
    path = os.path.join(directory, "scorer.weights.h5")
    model.save_weights(path)
    other = keras.Model.from_config(model.get_config())
    other.load_weights(path)
    np.testing.assert_allclose(other.predict(x_data, verbose=0),
                               model.predict(x_data, verbose=0), rtol=1e-6)


def main():
    keras.utils.set_random_seed(9)
    with tempfile.TemporaryDirectory() as directory:
        whole_model(directory)
        registered_custom_objects(directory)
        custom_objects_argument(directory)
        architecture_only()
        weights_only(directory)
    print("saving_and_serialization: ok")


if __name__ == "__main__":
    main()
