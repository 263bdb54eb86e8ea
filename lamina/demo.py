"""The demo: the Keras docs' antirectifier network, trained with ``fit`` on digits.

``lamina demo`` (or ``python -m lamina demo``, ``make demo``) builds the model of
DESIGN section 1 — ``Dense(256)``, ``Lambda(lambda x: x ** 2)``, ``Lambda(antirectifier)``
with the function exactly as the Keras docs write it, ``Dense(10, softmax)`` — trains it
on scikit-learn's bundled 8x8 digits (no download), prints the test accuracy, saves the
model to a ``.lamina`` file and loads it back in safe mode (nothing from the file runs),
and writes the training curves to a PNG.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

import lamina
from lamina import backend as K
from lamina import layers
from lamina.errors import MissingDependencyError
from lamina.saving.atomic import check_writable
from lamina.utils import plot_history


def antirectifier(x):
    x -= K.mean(x, axis=1, keepdims=True)
    x = K.l2_normalize(x, axis=1)
    pos = K.relu(x)
    neg = K.relu(-x)
    return K.concatenate([pos, neg], axis=1)


def build_model() -> lamina.Sequential:
    """The DESIGN section 1 model, compiled as there."""
    model = lamina.Sequential(name="antirectifier_demo")
    model.add(layers.Dense(256, input_shape=(64,)))
    model.add(layers.Lambda(lambda x: x ** 2))
    model.add(layers.Lambda(antirectifier))
    model.add(layers.Dense(10, activation="softmax"))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def load_digits_split(seed: int = 0) -> tuple[np.ndarray, ...]:
    """scikit-learn's digits scaled to [0, 1]: 80% to train, 20% to test (shuffled)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise MissingDependencyError(
            "The demo trains on scikit-learn's bundled digits; install it with "
            "pip install 'lamina[examples]' (or pip install scikit-learn)."
        ) from error
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    split = int(0.8 * len(x))
    return x[:split], y[:split], x[split:], y[split:]


def run(epochs: int = 15, batch_size: int = 32, seed: int = 0,
        plot_path: str | None = "antirectifier_history.png",
        save_path: str | None = "antirectifier.lamina",
        verbose: int | str = "auto") -> dict[str, Any]:
    """Train and report; returns ``accuracy``, ``seconds``, ``plot`` and ``saved`` (paths
    or None).

    Args:
        epochs: Default: ``15``.
        batch_size: Default: ``32``.
        seed: Seeds the weights, the split and the shuffling. Default: ``0``.
        plot_path: Where to write the training-curve PNG; ``None`` for none.
        save_path: Where to save the trained model; ``None`` to skip saving. Checked
            before training: a path that cannot be written is a
            :class:`~lamina.errors.SaveError` at once, not after the training.
        verbose: ``fit``'s verbosity. Default: ``"auto"``.
    """
    if save_path is not None:
        check_writable(save_path)
    started = time.perf_counter()
    torch.manual_seed(seed)
    x_train, y_train, x_test, y_test = load_digits_split(seed)
    model = build_model()
    model.summary()
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size,
                        validation_split=0.1, verbose=verbose)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    probabilities = model.predict(x_test[:10], verbose=0)
    print("first test digits:", y_test[:10].tolist())
    print("predicted digits: ", probabilities.argmax(axis=1).tolist())
    print(f"test loss: {loss:.4f}  test accuracy: {accuracy:.4f} "
          f"({len(x_test)} digits never seen in training)")
    saved = None
    if save_path is not None:
        model.save(save_path)
        same = lamina.load_model(save_path)
        identical = np.array_equal(same.predict(x_test, verbose=0),
                                   model.predict(x_test, verbose=0))
        saved = save_path
        print(f"model saved to {save_path}; reloaded in safe mode with "
              f"{'identical' if identical else 'DIFFERENT'} predictions")
    written = None
    if plot_path is not None:
        try:
            written = plot_history(history, plot_path, title="antirectifier on digits")
            print(f"training curves written to {written}")
        except MissingDependencyError as error:
            print(f"no training-curve PNG: {error}")
    seconds = time.perf_counter() - started
    print(f"demo finished in {seconds:.1f}s")
    return {"accuracy": accuracy, "loss": loss, "seconds": seconds, "plot": written,
            "saved": saved, "history": history.history}
