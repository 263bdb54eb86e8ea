"""steps_per_epoch on arrays, and keras.config's debugging caps on fit (max_epochs,
max_steps_per_epoch), against Keras 3 (torch backend) on the same data."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import lamina
from lamina import config
from lamina.errors import ArgumentError

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

X = np.arange(10, dtype="float32").reshape(10, 1)


def batches_seen(lib: object, **fit_arguments: object) -> tuple[list, list[str]]:
    """The first feature of every batch a custom train_step receives, and the warnings."""
    seen: list = []

    class Recorder(lib.Model):  # type: ignore[name-defined, misc]
        def train_step(self, data):  # noqa: ANN001, ANN202
            seen.append([float(v) for v in lib.ops.convert_to_numpy(data[0])[:, 0]])
            return {}

    inputs = lib.Input(shape=(1,))
    model = Recorder(inputs, lib.layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, X, batch_size=2, shuffle=False, verbose=0, **fit_arguments)
    return seen, [str(w.message) for w in caught if issubclass(w.category, UserWarning)
                  and "__array__" not in str(w.message)]


@pytest.mark.parametrize("arguments", [
    {"epochs": 3, "steps_per_epoch": 3},   # runs out in epoch 2, epoch 3 starts over
    {"epochs": 2, "steps_per_epoch": 5},   # exactly one pass per epoch
    {"epochs": 3, "steps_per_epoch": 2},   # continues where the last epoch stopped
])
def test_steps_per_epoch_on_arrays_takes_the_batches_keras_takes(arguments: dict) -> None:
    ours, our_warnings = batches_seen(lamina, **arguments)
    theirs, their_warnings = batches_seen(keras, **arguments)
    assert ours == theirs
    assert bool(our_warnings) == bool(their_warnings), (our_warnings, their_warnings)


def test_max_epochs_and_max_steps_cap_fit_with_a_warning() -> None:
    try:
        config.set_max_epochs(2)
        config.set_max_steps_per_epoch(3)
        keras.config.set_max_epochs(2)
        keras.config.set_max_steps_per_epoch(3)
        ours, our_warnings = batches_seen(lamina, epochs=5)
        theirs, _ = batches_seen(keras, epochs=5)
    finally:
        config.set_max_epochs(None)
        config.set_max_steps_per_epoch(None)
        keras.config.set_max_epochs(None)
        keras.config.set_max_steps_per_epoch(None)
    assert ours == theirs and len(ours) == 5  # 3 batches, then the 2 left in the pass
    assert any("Limiting epochs to 2" in w for w in our_warnings), our_warnings
    assert any("Limiting steps_per_epoch to 3" in w for w in our_warnings), our_warnings
    assert config.max_epochs() is None and config.max_steps_per_epoch() is None
    with pytest.raises(ArgumentError, match="positive int"):
        config.set_max_epochs(0)


def test_the_caps_come_from_keras_environment_variables() -> None:
    code = ("from lamina import config; "
            "print(config.max_epochs(), config.max_steps_per_epoch())")
    env = {**os.environ, "KERAS_MAX_EPOCHS": "4", "KERAS_MAX_STEPS_PER_EPOCH": "7"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout
    assert out.split() == ["4", "7"]
    env["KERAS_MAX_EPOCHS"] = "zero"
    failed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True)
    assert failed.returncode != 0 and "KERAS_MAX_EPOCHS must be a positive integer" in \
        failed.stderr


def loader_batches_seen(lib: object) -> tuple[int, list[int]]:
    """Epochs run and the batch index of every training step, over a DataLoader of 8."""
    import torch

    generator = torch.Generator().manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.rand(64, 4, generator=generator),
                                          torch.rand(64, 1, generator=generator))
    loader = torch.utils.data.DataLoader(data, batch_size=8)
    model = lib.Sequential([lib.Input(shape=(4,)), lib.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    steps: list[int] = []
    callback = lib.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: steps.append(b))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        history = model.fit(loader, epochs=3, steps_per_epoch=5, verbose=0,
                            callbacks=[callback])
    return len(history.history["loss"]), steps


def test_steps_per_epoch_on_a_dataloader_continues_across_epochs_as_keras() -> None:
    ours, theirs = loader_batches_seen(lamina), loader_batches_seen(keras)
    assert ours == theirs == (3, [0, 1, 2, 3, 4, 0, 1, 2, 0, 1, 2, 3, 4])
