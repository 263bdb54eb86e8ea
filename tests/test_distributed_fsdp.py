"""Sharded fit (FSDP2): 2 CPU processes (gloo) against one process with the global batch."""

from __future__ import annotations

import os

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.distributed import launch
from lamina.errors import ArgumentError
from lamina.training.fsdp import local_sizes

RNG = np.random.default_rng(1)
X = RNG.normal(size=(96, 6)).astype(np.float32)
LABELS = ((X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 0.5)).astype(np.int64)
X_VAL, Y_VAL = X[:24] * 0.5, LABELS[:24]
OPTIMIZERS = {"adam": lambda: lamina.optimizers.Adam(learning_rate=0.01),
              "sgd": lambda: lamina.optimizers.SGD(learning_rate=0.1, momentum=0.9)}
GLOBAL_BATCH = 16


def _model(optimizer: str) -> lamina.Sequential:
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential([layers.Dense(33, activation="tanh", input_shape=(6,)),
                               layers.Dense(17, activation="relu"),
                               layers.Dense(3, activation="softmax")])
    model.compile(optimizer=OPTIMIZERS[optimizer](), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def _train(optimizer: str, batch_size: int, folder: str | None) -> dict:
    """What each rank runs (with ``distribute="fsdp"``), and the single-process reference."""
    model = _model(optimizer)
    whole = local_sizes(model)
    rows = {name: weight.shape[0] for name, weight in model.named_parameters()}
    history = model.fit(X, LABELS, epochs=4, batch_size=batch_size, shuffle=False, verbose=0,
                        validation_data=(X_VAL, Y_VAL), distribute="fsdp")
    result = {"history": history.history, "whole": whole, "rows": rows, "local": local_sizes(model),
              "predictions": model.predict(X[:10], verbose=0),
              "evaluation": model.evaluate(X_VAL, Y_VAL, batch_size=5, verbose=0)}
    if folder is not None:
        model.save(os.path.join(folder, f"{optimizer}.lamina"))  # every rank; rank 0 writes
    return result


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_sharded_training_equals_one_process_on_the_global_batch(optimizer: str,
                                                                 tmp_path) -> None:
    ranks = launch(_train, 2, optimizer, GLOBAL_BATCH // 2, str(tmp_path),
                   start_method="fork", timeout=120)
    single = _train(optimizer, GLOBAL_BATCH, None)
    for result in ranks:
        assert set(result["history"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
        for key, values in single["history"].items():
            np.testing.assert_allclose(result["history"][key], values, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(result["predictions"], single["predictions"], rtol=1e-5,
                                   atol=1e-6)
        np.testing.assert_allclose(result["evaluation"], single["evaluation"], rtol=1e-5)
    assert single["history"]["loss"][-1] < single["history"]["loss"][0]
    # Each rank stores only its shard (dimension 0) of every weight.
    whole = ranks[0]["whole"]
    for name, size in whole.items():
        assert ranks[0]["local"][name] + ranks[1]["local"][name] == size
        half_rows = -(-ranks[0]["rows"][name] // 2)
        assert ranks[0]["local"][name] == half_rows * (size // ranks[0]["rows"][name])
    assert sum(ranks[0]["local"].values()) < 0.6 * sum(whole.values())
    loaded = lamina.load_model(tmp_path / f"{optimizer}.lamina")
    assert sorted(os.listdir(tmp_path)) == [f"{optimizer}.lamina"]
    np.testing.assert_allclose(loaded.predict(X[:10], verbose=0), single["predictions"],
                               rtol=1e-5, atol=1e-6)
    assert type(loaded.optimizer).__name__ == type(OPTIMIZERS[optimizer]()).__name__
    assert int(loaded.optimizer.iterations) > 0  # the gathered optimizer state came along


def test_fsdp_alone_trains_as_usual_and_bad_values_are_refused() -> None:
    alone = _train("adam", GLOBAL_BATCH, None)
    model = _model("adam")
    plain = model.fit(X, LABELS, epochs=4, batch_size=GLOBAL_BATCH, shuffle=False, verbose=0,
                      validation_data=(X_VAL, Y_VAL))
    assert alone["history"] == plain.history
    assert alone["local"] == alone["whole"]
    with pytest.raises(ArgumentError, match=r"distribute must be one of \['ddp', 'fsdp'\]"):
        model.fit(X, LABELS, epochs=1, verbose=0, distribute="zero")
