"""A custom layer the way the Keras docs recommend: written, tested, trained, saved, loaded.

``Antirectifier`` is the Keras docs' Lambda function as a subclassed layer with a learned
per-feature scale. It is registered, so a saved model loads without ``custom_objects``.
"""

from __future__ import annotations

import os
import tempfile

import torch

import lamina
from lamina import backend as K
from lamina import layers
from lamina.testing import run_layer_test


@lamina.register_serializable(package="examples")
class Antirectifier(layers.Layer):
    """Centre, l2-normalise, then stack ReLU(x) and ReLU(-x), scaled per feature.

    Args:
        initial_scale: The scale's starting value. Default: ``1.0``.

    Input shape:
        ``(batch, features)``.

    Output shape:
        ``(batch, 2 * features)``.
    """

    def __init__(self, initial_scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.initial_scale = initial_scale

    def build(self, input_shape):
        self.scale = self.add_weight("scale", (2 * input_shape[-1],), initializer="ones")
        with torch.no_grad():
            self.scale.mul_(self.initial_scale)

    def call(self, inputs):
        x = inputs - K.mean(inputs, axis=1, keepdims=True)
        x = K.l2_normalize(x, axis=1)
        return K.concatenate([K.relu(x), K.relu(-x)], axis=1) * self.scale

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 2 * input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "initial_scale": self.initial_scale}


def reference(x: torch.Tensor, layer: Antirectifier) -> torch.Tensor:
    """The same computation in plain torch, for run_layer_test."""
    centred = x - x.mean(dim=1, keepdim=True)
    unit = torch.nn.functional.normalize(centred, dim=1, eps=1e-6)
    return torch.cat([unit.relu(), (-unit).relu()], dim=1) * layer.scale


def main(epochs: int = 20) -> float:
    """Test the layer, train a model with it, save and reload it; return the accuracy."""
    run_layer_test(Antirectifier, {"initial_scale": 0.5}, input_shape=(4, 6),
                   expected_output_shape=(4, 12), expected_num_trainable_weights=1,
                   reference=reference)
    print("run_layer_test: Antirectifier passes")

    torch.manual_seed(0)
    x = torch.randn(512, 8)
    y = (x[:, 0] > x[:, 1]).long()
    model = lamina.Sequential([layers.Dense(16, input_shape=(8,)), Antirectifier(),
                               layers.Dense(2)])
    model.compile(optimizer="adam", loss=lamina.losses.SparseCategoricalCrossentropy(
        from_logits=True), metrics=["accuracy"])
    history = model.fit(x, y, epochs=epochs, batch_size=64, verbose=0)
    accuracy = history.history["accuracy"][-1]
    print(f"training accuracy after {epochs} epochs: {accuracy:.3f}")

    path = os.path.join(tempfile.mkdtemp(), "custom.lamina")
    model.save(path)
    loaded = lamina.load_model(path)  # registered: no custom_objects needed
    same = torch.equal(loaded(x), model(x))
    print(f"saved to {path}, reloaded; identical predictions: {same}")
    assert same
    return accuracy


if __name__ == "__main__":
    main()
