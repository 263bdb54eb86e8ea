"""Export a model with Lambda layers to ONNX and run it with onnxruntime.

    python examples/export_onnx.py
    lamina export model.lamina --format onnx model.onnx     # the same from a saved file

The model mixes a Conv1D, an LSTM and Dense layers with two Lambdas: the Keras docs'
antirectifier and a scale held in a captured ``lamina.Variable``, trained like any
weight. ``model.export`` writes an ONNX file whose batch axis is dynamic; onnxruntime,
which knows nothing of Python or lamina, gives the same outputs. The same happens from the
command line, starting from the saved ``.lamina`` file, which is loaded in safe mode.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import onnxruntime
import torch

import lamina
from lamina import backend as K
from lamina import layers
from lamina.cli import main as lamina_command


def antirectifier(x):
    x -= K.mean(x, axis=1, keepdims=True)
    x = K.l2_normalize(x, axis=1)
    pos = K.relu(x)
    neg = K.relu(-x)
    return K.concatenate([pos, neg], axis=1)


def build_model() -> lamina.Model:
    scale = lamina.Variable(2.0, name="scale")
    inputs = lamina.Input(shape=(20, 8), name="signal")
    h = layers.Conv1D(16, 3, padding="same", activation="relu")(inputs)
    h = layers.LSTM(16)(h)
    h = layers.Dense(16)(h)
    h = layers.Lambda(antirectifier)(h)
    h = layers.Lambda(lambda x: x * scale, name="scaled")(h)
    outputs = layers.Dense(4, activation="softmax", name="class_probabilities")(h)
    return lamina.Model(inputs, outputs)


def main(directory: str | None = None) -> float:
    """Train briefly, export, compare with onnxruntime; returns the max abs difference."""
    directory = directory or tempfile.mkdtemp()
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 20, 8)).astype("float32")
    y = (x[:, :, 0].mean(axis=1) > 0).astype("int64") + 2 * (x[:, -1, 1] > 0)
    model = build_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=32, verbose=0)

    path = model.export(os.path.join(directory, "model.onnx"))
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    print("ONNX inputs:", [(i.name, i.shape) for i in session.get_inputs()])
    difference = 0.0
    for batch in (1, 5, 64):  # one file, any batch size
        sample = x[:batch]
        theirs = session.run(None, {"signal": sample})[0]
        ours = model.predict(sample, verbose=0)
        difference = max(difference, float(np.abs(theirs - ours).max()))
    print(f"onnxruntime vs lamina, batches of 1, 5 and 64: max abs difference {difference:.2e}")

    saved = os.path.join(directory, "model.lamina")
    model.save(saved)
    lamina_command(["export", saved, "--format", "onnx", os.path.join(directory, "cli.onnx")])
    return difference


if __name__ == "__main__":
    main(".")
