"""Data-parallel fit: 2 CPU processes (gloo) against one process with the doubled batch."""

from __future__ import annotations

import csv
import os
import time

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

import lamina
from lamina import layers
from lamina.distributed import DistributedError, _importable, launch
from lamina.training.data import ArrayData, StreamData

RNG = np.random.default_rng(0)
X = RNG.normal(size=(160, 4)).astype(np.float32)
LABELS = ((X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 0.5)).astype(np.int64)


def _model() -> lamina.Sequential:
    torch.manual_seed(0)
    gain = lamina.Variable(1.0)  # captured: a weight that DDP must average too
    return lamina.Sequential([layers.Dense(16, activation="tanh", input_shape=(4,)),
                              layers.Lambda(lambda x: x * gain),
                              layers.Dense(3, activation="softmax")])


def _train(batch_size: int) -> tuple[list[np.ndarray], dict[str, list[float]]]:
    """What each rank runs: the same script as a single process would."""
    model = _model()
    model.compile(optimizer=lamina.optimizers.SGD(learning_rate=0.1),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(X, LABELS, epochs=3, batch_size=batch_size, shuffle=False,
                        validation_split=0.2, verbose=0)
    return [w.detach().numpy().copy() for w in model.state_dict().values()], history.history


def test_two_processes_train_like_one_with_twice_the_batch() -> None:
    started = time.perf_counter()
    (rank0, logs0), (rank1, logs1) = launch(_train, 2, 16, start_method="fork", timeout=120)
    assert time.perf_counter() - started < 60
    single, single_logs = _train(32)
    for a, b in zip(rank0, rank1):
        np.testing.assert_array_equal(a, b)  # the ranks never drift apart
    for a, b in zip(rank0, single):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert logs0 == logs1  # logs are summed over the ranks: the same everywhere
    assert set(logs0) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for key, values in single_logs.items():
        np.testing.assert_allclose(logs0[key], values, rtol=1e-5, atol=1e-6)


def _fit_with_callbacks(folder: str) -> int:
    model = _model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["acc"])
    callbacks = [lamina.callbacks.ModelCheckpoint(os.path.join(folder, "ckpt.lamina"),
                                                  monitor="loss", verbose=1),
                 lamina.callbacks.CSVLogger(os.path.join(folder, "log.csv"))]
    model.fit(X, LABELS, epochs=2, batch_size=16, verbose=2, callbacks=callbacks)
    return lamina.distributed.rank()


def test_only_rank_zero_prints_and_writes(tmp_path, capfd: pytest.CaptureFixture[str]) -> None:
    assert launch(_fit_with_callbacks, 2, str(tmp_path), start_method="fork",
                  timeout=120) == [0, 1]
    out = capfd.readouterr().out
    assert out.count("Epoch 1/2 - ") == 1 and out.count("Epoch 2/2 - ") == 1
    assert out.count("saving model to") == 2  # one per epoch, from rank 0 only
    assert lamina.load_model(tmp_path / "ckpt.lamina").count_params() > 0
    with open(tmp_path / "log.csv") as handle:
        assert [row["epoch"] for row in csv.DictReader(handle)] == ["0", "1"]


def _fail_on_rank_one() -> None:
    def explode(epoch: int, logs: dict) -> None:
        if lamina.distributed.rank() == 1:
            raise ValueError("rank one cannot go on")

    model = _model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(X, LABELS, epochs=50, batch_size=8, verbose=0,
              callbacks=[lamina.callbacks.LambdaCallback(on_epoch_end=explode)])


def test_a_rank_that_raises_stops_every_rank_with_its_error() -> None:
    started = time.perf_counter()
    with pytest.raises(DistributedError, match="rank 1 of 2 failed with ValueError: rank one "
                                               "cannot go on") as caught:
        launch(_fail_on_rank_one, 2, start_method="fork", timeout=60)
    assert "in explode" in str(caught.value)  # the failing rank's traceback
    assert time.perf_counter() - started < 30  # rank 0, stuck in a collective, was stopped


def _sleep_on_rank_zero() -> None:
    if lamina.distributed.rank() == 0:
        time.sleep(60)


def test_launch_stops_every_rank_at_the_timeout() -> None:
    started = time.perf_counter()
    with pytest.raises(DistributedError, match=r"rank\(s\) \[0\] still running after"):
        launch(_sleep_on_rank_zero, 2, start_method="fork", timeout=3)
    assert time.perf_counter() - started < 20


def test_array_shards_cover_the_data_and_reshuffle_each_epoch() -> None:
    def orders(padded: bool, epoch: int) -> list[list[int]]:
        out = []
        for rank in range(2):
            data = ArrayData(torch.arange(11), None, None, batch_size=4, shuffle=True,
                             caller="fit")
            data.shard(rank, 2, seed=7, padded=padded)
            data.set_epoch(epoch)
            assert data.steps == 2
            out.append([int(v) for x, _, _ in data.batches() for v in x])
        return out

    first, second = orders(True, 0)
    assert len(first) == len(second) == 6  # padded so both ranks take the same steps
    assert set(first) | set(second) == set(range(11))
    assert orders(True, 1) != [first, second] and orders(True, 0) == [first, second]
    evaluation = orders(False, 0)
    assert sorted(evaluation[0] + evaluation[1]) == list(range(11))  # each sample once


def test_a_dataset_gets_a_distributed_sampler_per_rank() -> None:
    dataset = TensorDataset(torch.arange(10).float()[:, None], torch.arange(10))
    seen = []
    for rank in range(2):
        data = StreamData(dataset, batch_size=2, shuffle=False, steps=None, caller="fit")
        data.shard(rank, 2, seed=0, padded=True)
        data.set_epoch(1)
        assert data.steps == 3
        seen.append([int(v) for _, y in data.source for v in y])
    assert seen == [[0, 2, 4, 6, 8], [1, 3, 5, 7, 9]]


def test_spawn_is_chosen_only_for_functions_it_can_import() -> None:
    assert _importable(_train)
    assert not _importable(lambda: None)
    with pytest.raises(lamina.errors.ArgumentError, match="nproc"):
        launch(_train, 0)
