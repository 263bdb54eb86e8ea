"""Making new layers and models by subclassing.

A Dense-like layer whose weights are made in ``__init__`` and then lazily in ``build``, a
layer with a weight that does not train, layers nested in layers, a layer that adds a loss,
one that behaves differently in training, configs, and a variational autoencoder built from
these pieces and trained with ``fit``.
"""

import lamina as keras
import numpy as np

rng = np.random.default_rng(21)


def scalar(tensor):
    """A 0-d tensor as a Python float, without its gradient."""
    return float(keras.ops.stop_gradient(tensor))


class EagerLinear(keras.layers.Layer):
    """y = x w + b, with the input size given up front."""

    def __init__(self, units=32, input_dim=32):
        super().__init__()
        self.w = self.add_weight(
            shape=(input_dim, units), initializer="random_normal", trainable=True
        )
        self.b = self.add_weight(shape=(units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return keras.ops.matmul(inputs, self.w) + self.b


class Linear(keras.layers.Layer):
    """y = x w + b, with the input size read from the first input in ``build``."""

    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(
            shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True
        )
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return keras.ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units})
        return config


class RunningSum(keras.layers.Layer):
    """Adds up the column sums of everything it has seen, in a weight that does not train."""

    def __init__(self, input_dim):
        super().__init__()
        self.total = self.add_weight(
            shape=(input_dim,), initializer="zeros", trainable=False, name="total"
        )

    def call(self, inputs):
        self.total.assign_add(keras.ops.sum(inputs, axis=0))
        return self.total


def weights_of_simple_layers():
    x = np.ones((2, 2), dtype="float32")
    eager = EagerLinear(4, 2)
    assert eager(x).shape == (2, 4)
    assert len(eager.weights) == 2 and len(eager.trainable_weights) == 2

    lazy = Linear(4)
    assert len(lazy.weights) == 0
    assert lazy(x).shape == (2, 4)
    assert [tuple(w.shape) for w in lazy.weights] == [(2, 4), (4,)]

    running = RunningSum(2)
    running(x)
    total = running(x)
    np.testing.assert_allclose(running.total.numpy(), [4.0, 4.0])
    assert tuple(total.shape) == (2,)
    assert len(running.weights) == 1
    assert running.trainable_weights == []
    assert len(running.non_trainable_weights) == 1


class MLPBlock(keras.layers.Layer):
    """Three Linear layers; their weights become the block's own."""

    def __init__(self):
        super().__init__()
        self.linear_1 = Linear(32)
        self.linear_2 = Linear(32)
        self.linear_3 = Linear(1)

    def call(self, inputs):
        x = keras.ops.relu(self.linear_1(inputs))
        x = keras.ops.relu(self.linear_2(x))
        return self.linear_3(x)


def nested_layers():
    block = MLPBlock()
    y = block(np.ones((3, 64), dtype="float32"))
    assert y.shape == (3, 1)
    assert len(block.weights) == 6
    assert len(block.trainable_weights) == 6


class ActivityRegularization(keras.layers.Layer):
    """Adds rate * sum(inputs) to the losses of whoever calls it."""

    def __init__(self, rate=1e-2):
        super().__init__()
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * keras.ops.sum(inputs))
        return inputs


class OuterLayer(keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.activity_reg = ActivityRegularization(1e-2)

    def call(self, inputs):
        return self.activity_reg(inputs)


class OuterLayerWithKernelRegularizer(keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(
            32, kernel_regularizer=keras.regularizers.l2(1e-3)
        )

    def call(self, inputs):
        return self.dense(inputs)


def losses_added_by_layers():
    layer = OuterLayer()
    assert len(layer.losses) == 0  # nothing called yet
    layer(np.ones((1, 1), dtype="float32"))
    assert len(layer.losses) == 1
    np.testing.assert_allclose(scalar(layer.losses[0]), 1e-2, rtol=1e-6)
    # The losses are those of the last call, not a running list.
    layer(np.ones((1, 1), dtype="float32"))
    assert len(layer.losses) == 1

    regularized = OuterLayerWithKernelRegularizer()
    regularized(np.zeros((1, 1), dtype="float32"))
    kernel = regularized.dense.kernel.numpy()
    np.testing.assert_allclose(
        scalar(regularized.losses[0]), 1e-3 * np.sum(kernel**2), rtol=1e-5
    )


class NoisyDropout(keras.layers.Layer):
    """Drops units only when ``training=True``."""

    def __init__(self, rate, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs, training=None):
        if training:
            return keras.random.dropout(inputs, rate=self.rate, seed=self.seed_generator)
        return inputs


def training_argument():
    layer = NoisyDropout(0.5)
    x = keras.ops.ones((4, 100))
    assert scalar(keras.ops.max(keras.ops.abs(layer(x, training=False) - x))) == 0.0
    dropped = layer(x, training=True)
    zeros = scalar(keras.ops.mean(keras.ops.cast(keras.ops.equal(dropped, 0.0), "float32")))
    assert 0.3 < zeros < 0.7, zeros
    # The units kept are scaled by 1 / (1 - rate).
    assert scalar(keras.ops.max(dropped)) == 2.0


def configs():
    layer = Linear(64, name="projection")
    config = layer.get_config()
    assert config["units"] == 64 and config["name"] == "projection"
    copy = Linear.from_config(config)
    assert copy.units == 64 and copy.name == "projection"


class Sampling(keras.layers.Layer):
    """Draws z from the normal distribution given by (z_mean, z_log_var)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(shape=keras.ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + keras.ops.exp(0.5 * z_log_var) * epsilon


class Encoder(keras.layers.Layer):
    def __init__(self, latent_dim=2, intermediate_dim=32, name="encoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.dense_proj = keras.layers.Dense(intermediate_dim, activation="relu")
        self.dense_mean = keras.layers.Dense(latent_dim)
        self.dense_log_var = keras.layers.Dense(latent_dim)
        self.sampling = Sampling()

    def call(self, inputs):
        x = self.dense_proj(inputs)
        z_mean = self.dense_mean(x)
        z_log_var = self.dense_log_var(x)
        return z_mean, z_log_var, self.sampling((z_mean, z_log_var))


class Decoder(keras.layers.Layer):
    def __init__(self, original_dim, intermediate_dim=32, name="decoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.dense_proj = keras.layers.Dense(intermediate_dim, activation="relu")
        self.dense_output = keras.layers.Dense(original_dim, activation="sigmoid")

    def call(self, inputs):
        return self.dense_output(self.dense_proj(inputs))


class VariationalAutoEncoder(keras.Model):
    """Encoder and decoder end to end; the KL divergence is added as a loss."""

    def __init__(self, original_dim, intermediate_dim=32, latent_dim=2,
                 name="autoencoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.original_dim = original_dim
        self.encoder = Encoder(latent_dim=latent_dim, intermediate_dim=intermediate_dim)
        self.decoder = Decoder(original_dim, intermediate_dim=intermediate_dim)

    def call(self, inputs):
        z_mean, z_log_var, z = self.encoder(inputs)
        reconstructed = self.decoder(z)
        kl_loss = -0.5 * keras.ops.mean(
            z_log_var - keras.ops.square(z_mean) - keras.ops.exp(z_log_var) + 1
        )
        self.add_loss(kl_loss)
        return reconstructed


def a_variational_autoencoder():
    original_dim = 16
    # Binary-ish patterns from two prototypes with noise, values in [0, 1].
    prototypes = rng.random(size=(2, original_dim)) > 0.5
    which = rng.integers(0, 2, size=512)
    data = np.clip(prototypes[which] + rng.normal(scale=0.1, size=(512, original_dim)), 0, 1)
    data = data.astype("float32")

    vae = VariationalAutoEncoder(original_dim, intermediate_dim=32, latent_dim=2)
    vae.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-3),
                loss=keras.losses.MeanSquaredError())
    history = vae.fit(data, data, epochs=6, batch_size=32, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.6 * losses[0], losses
    assert vae.predict(data[:5], verbose=0).shape == (5, original_dim)
    assert len(vae.losses) == 1  # the KL term of the last call


def main():
    keras.utils.set_random_seed(21)
    weights_of_simple_layers()
    nested_layers()
    losses_added_by_layers()
    training_argument()
    configs()
    a_variational_autoencoder()
    print("subclassed_layers: ok")


if __name__ == "__main__":
    main()
