"""Customizing what happens in ``fit()``, with torch doing the gradients.

``train_step`` overridden on a functional model; the same with its own loss tracker and
metrics; sample weights passed through; ``test_step`` overridden for ``evaluate``; and a
small GAN whose ``train_step`` drives two optimizers.
"""

import lamina as keras
import numpy as np
import torch

rng = np.random.default_rng(5)
x_data = rng.normal(size=(512, 16)).astype("float32")
y_data = (x_data @ rng.normal(size=(16, 1)) * 0.3).astype("float32")


class CustomModel(keras.Model):
    """train_step by hand, with the loss, metrics and optimizer given to compile()."""

    def train_step(self, data):
        x, y = data
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        loss.backward()
        trainable_weights = [v for v in self.trainable_weights]
        gradients = [v.value.grad for v in trainable_weights]
        with torch.no_grad():
            self.optimizer.apply(gradients, trainable_weights)
        # self.metrics holds the loss tracker and the compiled metrics.
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def regression_graph():
    inputs = keras.Input(shape=(16,))
    hidden = keras.layers.Dense(16, activation="relu")(inputs)
    outputs = keras.layers.Dense(1)(hidden)
    return inputs, outputs


def a_basic_train_step():
    inputs, outputs = regression_graph()
    model = CustomModel(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse",
                  metrics=["mae"])
    history = model.fit(x_data, y_data, batch_size=32, epochs=5, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0], losses
    assert "mae" in str(history.history), history.history
    assert model.predict(x_data[:2], verbose=0).shape == (2, 1)


class ModelWithOwnMetrics(keras.Model):
    """Tracks its own loss and error; compile() gets only the optimizer."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.mae_metric = keras.metrics.MeanAbsoluteError(name="mae")
        self.loss_fn = keras.losses.MeanSquaredError()

    def train_step(self, data):
        x, y = data
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.loss_fn(y, y_pred)
        loss.backward()
        trainable_weights = [v for v in self.trainable_weights]
        gradients = [v.value.grad for v in trainable_weights]
        with torch.no_grad():
            self.optimizer.apply(gradients, trainable_weights)
        self.loss_tracker.update_state(loss)
        self.mae_metric.update_state(y, y_pred)
        return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

    @property
    def metrics(self):
        # Listed here, the trackers are reset at the start of every epoch.
        return [self.loss_tracker, self.mae_metric]


def own_metrics():
    inputs, outputs = regression_graph()
    model = ModelWithOwnMetrics(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01))
    history = model.fit(x_data, y_data, batch_size=32, epochs=5, verbose=0)
    assert sorted(history.history) == ["loss", "mae"], history.history
    losses = history.history["loss"]
    # Reset each epoch, the tracked loss is that epoch's mean: it keeps falling.
    assert all(later < earlier for earlier, later in zip(losses, losses[1:])), losses


class WeightedModel(keras.Model):
    """Unpacks an optional sample_weight from the data and passes it to the loss."""

    def train_step(self, data):
        if len(data) == 3:
            x, y, sample_weight = data
        else:
            sample_weight = None
            x, y = data
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred, sample_weight=sample_weight)
        loss.backward()
        trainable_weights = [v for v in self.trainable_weights]
        gradients = [v.value.grad for v in trainable_weights]
        with torch.no_grad():
            self.optimizer.apply(gradients, trainable_weights)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred, sample_weight=sample_weight)
        return {m.name: m.result() for m in self.metrics}


def sample_weights():
    inputs, outputs = regression_graph()
    model = WeightedModel(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")
    # Weight zero on half the samples: their targets are noise that must not matter.
    weights = np.tile(np.array([1.0, 0.0], dtype="float32"), 256)
    noisy = y_data.copy()
    noisy[weights == 0] = rng.normal(scale=10.0, size=(256, 1))
    model.fit(x_data, noisy, sample_weight=weights, batch_size=32, epochs=10, verbose=0)
    clean = weights == 1
    error = np.mean((model.predict(x_data[clean], verbose=0) - y_data[clean]) ** 2)
    assert error < 0.3 * np.var(y_data), (error, np.var(y_data))


class EvaluatedModel(keras.Model):
    """test_step by hand: evaluate() runs the model without training it."""

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def a_test_step():
    inputs, outputs = regression_graph()
    model = EvaluatedModel(inputs, outputs)
    model.compile(loss="mse", metrics=["mae"])
    before = model.get_weights()
    results = model.evaluate(x_data, y_data, batch_size=64, verbose=0, return_dict=True)
    assert "loss" in results, results
    expected = np.mean((model.predict(x_data, verbose=0) - y_data) ** 2)
    np.testing.assert_allclose(results["loss"], expected, rtol=1e-4)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


LATENT_DIM = 8


class GAN(keras.Model):
    """A generator and a discriminator, each with its own optimizer."""

    def __init__(self, discriminator, generator, latent_dim):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.seed_generator = keras.random.SeedGenerator(1337)
        self.built = True

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn

    def train_step(self, real_images):
        if isinstance(real_images, tuple):
            real_images = real_images[0]
        batch_size = real_images.shape[0]
        latent = keras.random.normal(
            shape=(batch_size, self.latent_dim), seed=self.seed_generator
        )
        fake_images = self.generator(latent)
        images = torch.cat([fake_images, real_images], dim=0)
        # 1 for fake, 0 for real, with a little noise on the labels.
        labels = torch.cat(
            [torch.ones((batch_size, 1)), torch.zeros((real_images.shape[0], 1))], dim=0
        )
        labels = labels + 0.05 * keras.random.uniform(labels.shape, seed=self.seed_generator)

        # The discriminator learns to tell the two apart...
        self.zero_grad()
        d_loss = self.loss_fn(labels, self.discriminator(images))
        d_loss.backward()
        weights = self.discriminator.trainable_weights
        gradients = [v.value.grad for v in weights]
        with torch.no_grad():
            self.d_optimizer.apply(gradients, weights)

        # ...and the generator learns to have its images called real.
        latent = keras.random.normal(
            shape=(batch_size, self.latent_dim), seed=self.seed_generator
        )
        misleading_labels = torch.zeros((batch_size, 1))
        self.zero_grad()
        g_loss = self.loss_fn(misleading_labels, self.discriminator(self.generator(latent)))
        g_loss.backward()
        weights = self.generator.trainable_weights
        gradients = [v.value.grad for v in weights]
        with torch.no_grad():
            self.g_optimizer.apply(gradients, weights)

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}


def a_small_gan():
    discriminator = keras.Sequential(
        [
            keras.Input(shape=(8, 8, 1)),
            keras.layers.Conv2D(8, 3, strides=2, padding="same"),
            keras.layers.LeakyReLU(negative_slope=0.2),
            keras.layers.Flatten(),
            keras.layers.Dense(1),
        ],
        name="discriminator",
    )
    generator = keras.Sequential(
        [
            keras.Input(shape=(LATENT_DIM,)),
            keras.layers.Dense(4 * 4 * 8),
            keras.layers.LeakyReLU(negative_slope=0.2),
            keras.layers.Reshape((4, 4, 8)),
            keras.layers.Conv2DTranspose(8, 4, strides=2, padding="same"),
            keras.layers.LeakyReLU(negative_slope=0.2),
            keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid"),
        ],
        name="generator",
    )
    # "Real" images: a bright square somewhere on a dark background.
    real = np.zeros((128, 8, 8, 1), dtype="float32")
    for image, (row, col) in zip(real, rng.integers(0, 5, size=(128, 2))):
        image[row:row + 3, col:col + 3] = 1.0

    gan = GAN(discriminator=discriminator, generator=generator, latent_dim=LATENT_DIM)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(learning_rate=0.0003),
        g_optimizer=keras.optimizers.Adam(learning_rate=0.0003),
        loss_fn=keras.losses.BinaryCrossentropy(from_logits=True),
    )
    d_before = discriminator.get_weights()
    g_before = generator.get_weights()
    history = gan.fit(real, batch_size=32, epochs=2, verbose=0)
    assert sorted(history.history) == ["d_loss", "g_loss"], history.history
    assert all(np.isfinite(history.history["d_loss"] + history.history["g_loss"]))
    for before, model in ((d_before, discriminator), (g_before, generator)):
        changed = [not np.allclose(b, a) for b, a in zip(before, model.get_weights())]
        assert all(changed), f"{model.name} did not train every weight: {changed}"
    samples = generator.predict(rng.normal(size=(3, LATENT_DIM)).astype("float32"), verbose=0)
    assert samples.shape == (3, 8, 8, 1)
    assert samples.min() >= 0.0 and samples.max() <= 1.0


def main():
    keras.utils.set_random_seed(5)
    a_basic_train_step()
    own_metrics()
    sample_weights()
    a_test_step()
    a_small_gan()
    print("custom_fit_torch: ok")


if __name__ == "__main__":
    main()
