"""lamina against plain PyTorch (and Keras 3 when installed): ratios measured in one run.

Workloads here:
  (a) ten chained elementwise Lambda layers, forward on a (1, 16) input;
  (b) one training step (forward, loss, backward, Adam) at batch 128 of
      Dense(256) -> antirectifier -> Dense(256) -> antirectifier -> Dense(10) on 784 features;
and from the other files of this folder: (c) a fit epoch (training.py), (f) LSTM steps
(recurrent.py), (g) a CNN step (cnn.py), (i) save + load and (j) a loaded Lambda (saving.py).

Each figure is the median over repeated blocks after warm-up, with lamina and the reference
interleaved block by block so that drift in the machine's speed hits both alike.
Run with ``make bench`` (or ``python bench/run.py --threads 1 --json out.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable

import torch
from torch import nn

import lamina
from lamina import backend as K
from lamina import layers

ELEMENTWISE = [
    lambda x: x * 1.01,
    lambda x: x + 0.01,
    lambda x: torch.tanh(x),
    lambda x: x * 0.99,
    lambda x: torch.relu(x),
    lambda x: x - 0.01,
    lambda x: torch.sigmoid(x),
    lambda x: x * 2.0,
    lambda x: x + 1.0,
    lambda x: torch.abs(x),
]


def plain_elementwise(x: torch.Tensor) -> torch.Tensor:
    x = x * 1.01
    x = x + 0.01
    x = torch.tanh(x)
    x = x * 0.99
    x = torch.relu(x)
    x = x - 0.01
    x = torch.sigmoid(x)
    x = x * 2.0
    x = x + 1.0
    return torch.abs(x)


def antirectifier(x):
    x -= K.mean(x, axis=1, keepdims=True)
    x = K.l2_normalize(x, axis=1)
    pos = K.relu(x)
    neg = K.relu(-x)
    return K.concatenate([pos, neg], axis=1)


class PlainMLP(nn.Module):
    """The same network as hand-written PyTorch."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 256), nn.Linear(512, 256), nn.Linear(512, 10)

    @staticmethod
    def antirectifier(x: torch.Tensor) -> torch.Tensor:
        x = x - x.mean(dim=1, keepdim=True)
        x = nn.functional.normalize(x, dim=1, eps=1e-6)
        return torch.cat([torch.relu(x), torch.relu(-x)], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.antirectifier(self.fc1(x))
        x = self.antirectifier(self.fc2(x))
        return self.fc3(x)


def lamina_mlp() -> lamina.Sequential:
    return lamina.Sequential([
        layers.Dense(256, input_shape=(784,)),
        layers.Lambda(antirectifier),
        layers.Dense(256),
        layers.Lambda(antirectifier),
        layers.Dense(10),
    ])


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor,
               y: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def measure(candidates: dict[str, Callable[[], object]], inner: int, blocks: int,
            warmup: int) -> dict[str, float]:
    """Median seconds per call for each candidate, blocks interleaved."""
    for fn in candidates.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(blocks):
        for name, fn in candidates.items():
            start = time.perf_counter()
            for _ in range(inner):
                fn()
            samples[name].append((time.perf_counter() - start) / inner)
    return {name: statistics.median(values) for name, values in samples.items()}


def keras_available() -> bool:
    try:
        import keras  # noqa: F401
    except ImportError:
        return False
    return True


def run(quick: bool) -> list[dict[str, object]]:
    scale = 0.2 if quick else 1.0
    rows = []

    seq = lamina.Sequential([layers.Identity(input_shape=(16,))]
                            + [layers.Lambda(fn) for fn in ELEMENTWISE])
    x = torch.randn(1, 16)
    with torch.no_grad():
        torch.testing.assert_close(seq(x), plain_elementwise(x))
        times = measure({"lamina": lambda: seq(x), "torch": lambda: plain_elementwise(x)},
                        inner=int(2000 * scale) or 1, blocks=15, warmup=200)
    rows.append({"workload": "(a) 10 elementwise Lambdas, forward (1, 16)", "target": 1.5,
                 **times})

    torch.manual_seed(0)
    ours, plain = lamina_mlp(), PlainMLP()
    with torch.no_grad():
        for dense, linear in zip([ours[0], ours[2], ours[4]], [plain.fc1, plain.fc2, plain.fc3]):
            linear.weight.copy_(dense.kernel.T)
            linear.bias.copy_(dense.bias)
    data, labels = torch.randn(128, 784), torch.randint(0, 10, (128,))
    torch.testing.assert_close(ours(data), plain(data), rtol=1e-4, atol=1e-5)
    ours.train()
    plain.train()
    step_ours = train_step(ours, torch.optim.Adam(ours.parameters(), lr=1e-3), data, labels)
    step_plain = train_step(plain, torch.optim.Adam(plain.parameters(), lr=1e-3), data, labels)
    times = measure({"lamina": step_ours, "torch": step_plain},
                    inner=int(20 * scale) or 1, blocks=15, warmup=10)
    rows.append({"workload": "(b) MLP + antirectifier train step, batch 128", "target": 1.05,
                 **times})
    rows.extend(other_rows(quick))
    return rows


def other_rows(quick: bool) -> list[dict[str, object]]:
    """The workloads that live in their own files (bench/<name>.py), in the issue's order."""
    import importlib

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    rows: list[dict[str, object]] = []
    for module_name, function_name in (("training", "fit_epoch_row"),
                                       ("recurrent", "lstm_rows"), ("cnn", "cnn_row"),
                                       ("saving", "save_load_row"),
                                       ("saving", "loaded_function_row")):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        result = getattr(module, function_name)(quick)
        rows.extend(result if isinstance(result, list) else [result])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--json", default="bench/results.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = run(args.quick)
    keras = "installed, workloads not yet ported" if keras_available() else "not installed"
    print(f"torch {torch.__version__}, {args.threads} thread(s), Python "
          f"{sys.version.split()[0]}; Keras 3: {keras}")
    header = f"{'workload':<66} {'lamina':>11} {'torch':>11} {'lamina/torch':>13} {'target':>7}"
    print(header)
    print("-" * len(header))
    for row in rows:
        row["ratio"] = row["lamina"] / row["torch"]
        print(f"{row['workload']:<66} {row['lamina'] * 1e6:>9.1f}us {row['torch'] * 1e6:>9.1f}us "
              f"{row['ratio']:>13.3f} {'<= ' + str(row['target']):>7}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"threads": args.threads, "torch": torch.__version__, "rows": rows},
                      handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
