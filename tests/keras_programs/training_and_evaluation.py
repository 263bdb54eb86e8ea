"""Training and evaluation with the built-in methods: compile, fit, evaluate, predict.

Validation data given or split off, a custom loss and a custom metric, a layer adding its
own loss, per-sample and per-class weights, a model with two outputs and loss weights, and
the EarlyStopping and ModelCheckpoint callbacks.
"""

import os
import tempfile

import lamina as keras
import numpy as np

rng = np.random.default_rng(3)
CLASSES = 5


def make_data(count):
    """Points around five centres in 16 dimensions; the label is the centre."""
    centres = np.random.default_rng(0).normal(scale=2.0, size=(CLASSES, 16))
    labels = rng.integers(0, CLASSES, size=count)
    points = centres[labels] + rng.normal(size=(count, 16))
    return points.astype("float32"), labels.astype("int32")


x_train, y_train = make_data(800)
x_val, y_val = make_data(200)
x_test, y_test = make_data(200)


def uncompiled_model():
    inputs = keras.Input(shape=(16,), name="points")
    x = keras.layers.Dense(32, activation="relu", name="dense_1")(inputs)
    x = keras.layers.Dense(32, activation="relu", name="dense_2")(x)
    outputs = keras.layers.Dense(CLASSES, activation="softmax", name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


def compiled_model(**compile_arguments):
    model = uncompiled_model()
    arguments = dict(
        optimizer=keras.optimizers.RMSprop(learning_rate=3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy()],
    )
    arguments.update(compile_arguments)
    model.compile(**arguments)
    return model


def fit_evaluate_predict():
    model = compiled_model()
    history = model.fit(
        x_train, y_train, batch_size=64, epochs=3, validation_data=(x_val, y_val), verbose=0
    )
    assert sorted(history.history) == [
        "loss",
        "sparse_categorical_accuracy",
        "val_loss",
        "val_sparse_categorical_accuracy",
    ]
    assert len(history.history["loss"]) == 3
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=128, verbose=0)
    assert accuracy > 0.8, accuracy
    results = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
    assert set(results) == {"loss", "sparse_categorical_accuracy"}
    np.testing.assert_allclose(results["loss"], loss, rtol=1e-5)
    predictions = model.predict(x_test[:3], verbose=0)
    assert predictions.shape == (3, CLASSES)


def validation_split_is_the_tail():
    model = compiled_model()
    history = model.fit(x_train, y_train, batch_size=64, validation_split=0.25, epochs=1,
                        verbose=0)
    assert "val_loss" in history.history


def mean_squared_error_on_one_hot(y_true, y_pred):
    """A custom loss is any function of (y_true, y_pred) giving one value per sample."""
    return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)


class ScaledMeanSquaredError(keras.losses.Loss):
    """A loss class with a setting: the error plus a pull of every prediction toward 0.5."""

    def __init__(self, regularization_factor=0.1, name="scaled_mse"):
        super().__init__(name=name)
        self.regularization_factor = regularization_factor

    def call(self, y_true, y_pred):
        error = keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)
        pull = keras.ops.mean(keras.ops.square(0.5 - y_pred), axis=-1)
        return error + pull * self.regularization_factor


class CountTruePositives(keras.metrics.Metric):
    """How many samples of one class were predicted as that class."""

    def __init__(self, class_id=0, name="true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.class_id = class_id
        self.true_positives = self.add_weight(name="count", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        predicted = keras.ops.argmax(y_pred, axis=-1)
        true = keras.ops.reshape(keras.ops.cast(y_true, "int32"), (-1,))
        hits = keras.ops.logical_and(
            keras.ops.equal(keras.ops.cast(predicted, "int32"), self.class_id),
            keras.ops.equal(true, self.class_id),
        )
        self.true_positives.assign_add(keras.ops.sum(keras.ops.cast(hits, "float32")))

    def result(self):
        return self.true_positives

    def reset_state(self):
        self.true_positives.assign(0.0)


def custom_losses_and_metrics():
    one_hot = keras.utils.to_categorical(y_train, num_classes=CLASSES)
    for loss in (mean_squared_error_on_one_hot, ScaledMeanSquaredError()):
        model = compiled_model(loss=loss, metrics=[])
        history = model.fit(x_train, one_hot, batch_size=64, epochs=3, verbose=0)
        assert history.history["loss"][-1] < history.history["loss"][0]

    model = compiled_model(metrics=[CountTruePositives(class_id=2)])
    history = model.fit(x_train, y_train, batch_size=64, epochs=3, verbose=0)
    count = history.history["true_positives"]
    # The metric is reset at each epoch: the count never passes the class's size.
    assert max(count) <= int((y_train == 2).sum()), count
    assert count[-1] > 0.5 * (y_train == 2).sum(), count


class ActivityPenalty(keras.layers.Layer):
    """Passes its input through and adds a penalty on it to the model's loss."""

    def call(self, inputs):
        self.add_loss(1e-2 * keras.ops.sum(inputs))
        return inputs


def a_layer_adds_a_loss():
    # Two models sharing their Dense layers, one with the penalty between them.
    hidden = keras.layers.Dense(32, activation="relu")
    classifier = keras.layers.Dense(CLASSES, activation="softmax")
    inputs = keras.Input(shape=(16,))
    features = hidden(inputs)
    penalised = keras.Model(inputs, classifier(ActivityPenalty()(features)))
    plain = keras.Model(inputs, classifier(features))
    for model in (penalised, plain):
        model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                      loss="sparse_categorical_crossentropy")
    penalised_loss = penalised.evaluate(x_test, y_test, verbose=0)
    plain_loss = plain.evaluate(x_test, y_test, verbose=0)
    # Same weights, but the penalty (positive: ReLU outputs) raises the reported loss.
    assert penalised_loss > plain_loss, (penalised_loss, plain_loss)
    history = penalised.fit(x_train, y_train, batch_size=64, epochs=2, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def class_and_sample_weights():
    # Class 4 counts ten times as much as the others...
    class_weight = {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.0, 4: 10.0}
    model = compiled_model()
    model.fit(x_train, y_train, class_weight=class_weight, batch_size=64, epochs=3, verbose=0)
    predicted = model.predict(x_test, verbose=0).argmax(axis=1)
    recall_4 = (predicted[y_test == 4] == 4).mean()
    assert recall_4 > 0.9, recall_4

    # ...which is the same as weighting each sample of class 4 by ten.
    sample_weight = np.ones(len(y_train), dtype="float32")
    sample_weight[y_train == 4] = 10.0
    model = compiled_model()
    history = model.fit(x_train, y_train, sample_weight=sample_weight, batch_size=64,
                        epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def two_outputs():
    image_input = keras.Input(shape=(8, 8, 1), name="img_input")
    series_input = keras.Input(shape=(None, 4), name="ts_input")
    x1 = keras.layers.Conv2D(3, 3)(image_input)
    x1 = keras.layers.GlobalMaxPooling2D()(x1)
    x2 = keras.layers.Conv1D(3, 3)(series_input)
    x2 = keras.layers.GlobalMaxPooling1D()(x2)
    x = keras.layers.concatenate([x1, x2])
    score = keras.layers.Dense(1, name="score_output")(x)
    klass = keras.layers.Dense(CLASSES, name="class_output")(x)
    model = keras.Model(inputs=[image_input, series_input], outputs=[score, klass])
    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss={
            "score_output": keras.losses.MeanSquaredError(),
            "class_output": keras.losses.CategoricalCrossentropy(from_logits=True),
        },
        metrics={
            "score_output": [keras.metrics.MeanAbsoluteError()],
            "class_output": [keras.metrics.CategoricalAccuracy()],
        },
        loss_weights={"score_output": 2.0, "class_output": 1.0},
    )
    images = rng.normal(size=(64, 8, 8, 1)).astype("float32")
    series = rng.normal(size=(64, 10, 4)).astype("float32")
    scores = rng.random(size=(64, 1)).astype("float32")
    classes = keras.utils.to_categorical(rng.integers(0, CLASSES, 64), CLASSES)
    history = model.fit(
        {"img_input": images, "ts_input": series},
        {"score_output": scores, "class_output": classes},
        batch_size=16,
        epochs=2,
        verbose=0,
    )
    assert "loss" in history.history
    assert any("mean_absolute_error" in key for key in history.history), history.history
    assert any("categorical_accuracy" in key for key in history.history), history.history


def early_stopping_and_checkpoints(directory):
    model = compiled_model()
    path = os.path.join(directory, "model_at_epoch_{epoch}.keras")
    callbacks = [
        # Stop when an epoch has not improved val_loss by at least 1e-2.
        keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=1e-2, patience=1),
        keras.callbacks.ModelCheckpoint(filepath=path, monitor="val_loss", verbose=0),
    ]
    history = model.fit(
        x_train, y_train, batch_size=64, epochs=20, validation_data=(x_val, y_val),
        callbacks=callbacks, verbose=0,
    )
    epochs_run = len(history.history["loss"])
    assert epochs_run < 20, "EarlyStopping never stopped the run"
    saved = sorted(os.listdir(directory))
    assert len(saved) == epochs_run, saved
    last = keras.models.load_model(os.path.join(directory, f"model_at_epoch_{epochs_run}.keras"))
    np.testing.assert_allclose(
        last.predict(x_test, verbose=0), model.predict(x_test, verbose=0), rtol=1e-5, atol=1e-6
    )


def main():
    keras.utils.set_random_seed(3)
    fit_evaluate_predict()
    validation_split_is_the_tail()
    custom_losses_and_metrics()
    a_layer_adds_a_loss()
    class_and_sample_weights()
    two_outputs()
    with tempfile.TemporaryDirectory() as directory:
        early_stopping_and_checkpoints(directory)
    print("training_and_evaluation: ok")


if __name__ == "__main__":
    main()
