"""A small convolutional network in lamina, trained on scikit-learn's bundled 8x8 digits.

Keras layers with Keras's defaults (channels_last images, ``"same"`` padding as in
TensorFlow), trained by a plain PyTorch loop: a lamina model is a ``torch.nn.Module``.
Run with ``python examples/digits_cnn.py``.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_digits

import lamina
from lamina.layers.convolutional import Conv2D
from lamina.layers.core import Dense
from lamina.layers.pooling_spatial import MaxPooling2D
from lamina.layers.reshaping import Flatten


def build_model() -> lamina.Sequential:
    """Conv2D -> MaxPooling2D -> Conv2D -> MaxPooling2D -> Flatten -> Dense, on (8, 8, 1)."""
    return lamina.Sequential([
        Conv2D(16, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
        MaxPooling2D(),
        Conv2D(32, 3, padding="same", activation="relu"),
        MaxPooling2D(),
        Flatten(),
        Dense(10, activation="log_softmax"),
    ], name="digits_cnn")


def main(epochs: int = 8, seed: int = 0) -> float:
    """Train for a few epochs; print the summary, the loss per epoch and the test accuracy.

    Returns:
        The accuracy on the held-out fifth of the digits.
    """
    torch.manual_seed(seed)
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., None]  # (n, 8, 8, 1)
    labels = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(images))
    images, labels = images[order], labels[order]
    split = int(0.8 * len(images))
    x_train, y_train = torch.from_numpy(images[:split]), torch.from_numpy(labels[:split])
    x_test, y_test = torch.from_numpy(images[split:]), torch.from_numpy(labels[split:])

    model = build_model()
    model.summary()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for epoch in range(epochs):
        permutation = torch.randperm(len(x_train))
        total = 0.0
        for start in range(0, len(x_train), 64):
            batch = permutation[start:start + 64]
            loss = torch.nn.functional.nll_loss(model(x_train[batch]), y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        print(f"epoch {epoch + 1}/{epochs}  loss {total / len(x_train):.4f}")
    model.eval()

    with torch.no_grad():
        predicted = model(x_test).argmax(dim=1)
    accuracy = (predicted == y_test).float().mean().item()
    print("first test digits:", y_test[:10].tolist())
    print("predicted digits: ", predicted[:10].tolist())
    print(f"test accuracy: {accuracy:.3f}")
    return accuracy


if __name__ == "__main__":
    main()
