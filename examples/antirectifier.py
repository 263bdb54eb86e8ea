"""The Keras docs' antirectifier, in lamina, trained on scikit-learn's bundled digits.

The Lambda layers below are written exactly as the Keras ``Lambda`` reference page writes
them (with ``K`` = ``lamina.backend``). The model is a ``torch.nn.Module``, so a plain
PyTorch loop trains it. Run with ``make demo``.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_digits

import lamina
from lamina import backend as K
from lamina import layers


def antirectifier(x):
    x -= K.mean(x, axis=1, keepdims=True)
    x = K.l2_normalize(x, axis=1)
    pos = K.relu(x)
    neg = K.relu(-x)
    return K.concatenate([pos, neg], axis=1)


def build_model() -> lamina.Sequential:
    model = lamina.Sequential(name="antirectifier_mlp")
    model.add(layers.Dense(256, input_shape=(64,)))
    model.add(layers.Lambda(lambda x: x ** 2))
    model.add(layers.Lambda(antirectifier))
    model.add(layers.Dense(10, activation="log_softmax"))
    return model


def main(epochs: int = 5, seed: int = 0) -> float:
    """Train for a few epochs; print the summary, predictions and accuracy; return it."""
    torch.manual_seed(seed)
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    split = int(0.8 * len(x))
    x_train, y_train = torch.from_numpy(x[:split]), torch.from_numpy(y[:split])
    x_test, y_test = torch.from_numpy(x[split:]), torch.from_numpy(y[split:])

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
        log_probabilities = model(x_test)
    accuracy = (log_probabilities.argmax(dim=1) == y_test).float().mean().item()
    print("first test digits:   ", y_test[:10].tolist())
    print("predicted digits:    ", log_probabilities[:10].argmax(dim=1).tolist())
    print("probability of top-1:", [round(p, 3) for p in
                                     log_probabilities[:10].exp().max(dim=1).values.tolist()])
    print(f"test accuracy: {accuracy:.3f}")
    return accuracy


if __name__ == "__main__":
    main()
