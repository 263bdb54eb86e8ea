"""Data-parallel training with torchrun: the same script on 1 or N processes.

    torchrun --standalone --nproc_per_node=2 examples/distributed_fit.py
    python examples/distributed_fit.py            # one process, nothing else to change

Under torchrun, ``fit`` joins the process group (gloo on CPU, nccl on GPUs), wraps the model
in DistributedDataParallel, gives each process its shard of the data (``batch_size`` is per
process), sums the loss and metrics over the processes, and prints from rank 0 only. Only
the saving is the script's own business: rank 0 does it.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import lamina
from lamina import backend as K
from lamina import layers


def antirectifier(x):
    x -= K.mean(x, axis=1, keepdims=True)
    x = K.l2_normalize(x, axis=1)
    pos = K.relu(x)
    neg = K.relu(-x)
    return K.concatenate([pos, neg], axis=1)


def make_data(samples: int = 8192, features: int = 64, classes: int = 8
              ) -> tuple[np.ndarray, np.ndarray]:
    """Labels from a fixed random teacher network: the same data on every process."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(samples, features)).astype("float32")
    teacher = rng.normal(size=(features, classes)).astype("float32")
    return x, np.argmax(np.tanh(x) @ teacher, axis=1)


def build_model(features: int, classes: int) -> lamina.Sequential:
    return lamina.Sequential([
        layers.Dense(256, activation="relu", input_shape=(features,)),
        layers.Lambda(antirectifier),
        layers.Dense(classes, activation="softmax"),
    ])


def main(epochs: int = 3, batch_size: int = 64, save: str | None = None,
         verbose: int = 2) -> dict:
    """Train, report seconds per epoch and validation accuracy; rank 0 saves to ``save``."""
    torch.manual_seed(0)  # DDP starts every rank from rank 0's weights anyway
    x, y = make_data()
    model = build_model(x.shape[1], int(y.max()) + 1)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, validation_split=0.1,
                        verbose=verbose)
    per_epoch = (time.perf_counter() - start) / epochs
    accuracy = history.history["val_accuracy"][-1]
    if lamina.distributed.is_main_process():
        processes = lamina.distributed.world_size()
        print(f"{processes} process(es) x {torch.get_num_threads()} thread(s): "
              f"{per_epoch:.2f} s per epoch, validation accuracy {accuracy:.3f}")
        if save:
            model.save(save)
            print(f"rank 0 saved {save}")
    return {"seconds_per_epoch": per_epoch, "val_accuracy": accuracy}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64, help="per process")
    parser.add_argument("--save", default=None, help="where rank 0 saves the model")
    arguments = parser.parse_args()
    main(arguments.epochs, arguments.batch_size, arguments.save)
