"""Workload (c): one epoch of ``fit`` against a hand-written PyTorch loop doing the same work.

Both train bench/run.py's antirectifier MLP (784 -> 256 -> 256 -> 10, logits) on the same
8192 x 784 samples at batch 32, with Adam (Keras's defaults: learning rate 1e-3,
epsilon 1e-7), crossentropy from logits, a fresh shuffle per epoch and batches sliced
from tensors; the plain loop also keeps the running loss in a tensor, as fit does.
Epochs of the two alternate so drift in the machine's speed hits both alike; each
figure is the median seconds per epoch.

Run with ``python bench/training.py [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

import lamina

WORKLOAD = "(c) fit, one epoch, 8192 x 784, batch 32"


def _networks() -> tuple[lamina.Sequential, nn.Module]:
    """bench/run.py's lamina MLP and its plain PyTorch twin, with the same weights."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    try:
        from run import PlainMLP, lamina_mlp
    finally:
        sys.path.pop(0)
    ours, plain = lamina_mlp(), PlainMLP()
    with torch.no_grad():
        for dense, linear in zip([ours[0], ours[2], ours[4]], [plain.fc1, plain.fc2, plain.fc3]):
            linear.weight.copy_(dense.kernel.T)
            linear.bias.copy_(dense.bias)
    return ours, plain


def plain_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor,
                y: torch.Tensor, batch_size: int) -> float:
    """One epoch as a PyTorch user writes it; returns the mean loss."""
    model.train()
    order = torch.randperm(len(x))
    x, y = x[order], y[order]
    total = torch.zeros(())
    for start in range(0, len(x), batch_size):
        inputs, targets = x[start:start + batch_size], y[start:start + batch_size]
        loss = nn.functional.cross_entropy(model(inputs), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total.add_(loss.detach(), alpha=len(targets))
    return (total / len(x)).item()


def fit_epoch_row(quick: bool) -> dict[str, object]:
    """Median seconds per epoch for ``model.fit(..., epochs=1)`` and the plain loop."""
    torch.manual_seed(0)
    x, y = torch.randn(8192, 784), torch.randint(0, 10, (8192,))
    ours, plain = _networks()
    ours.compile(optimizer="adam",
                 loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
    plain_optimizer = torch.optim.Adam(plain.parameters(), lr=1e-3, eps=1e-7)

    def run_lamina() -> None:
        ours.fit(x, y, batch_size=32, epochs=1, verbose=0)

    def run_plain() -> None:
        plain_epoch(plain, plain_optimizer, x, y, 32)

    run_lamina()  # warm-up: allocator, optimizer state, first-call building
    run_plain()
    samples: dict[str, list[float]] = {"lamina": [], "torch": []}
    for _ in range(3 if quick else 9):
        for name, fn in (("lamina", run_lamina), ("torch", run_plain)):
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return {"workload": WORKLOAD, "target": 1.2,
            **{name: statistics.median(values) for name, values in samples.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    row = fit_epoch_row(args.quick)
    ratio = row["lamina"] / row["torch"]
    print(f"{row['workload']}: lamina {row['lamina']:.3f}s, torch {row['torch']:.3f}s, "
          f"lamina/torch {ratio:.3f} (target <= {row['target']}), {args.threads} thread(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
