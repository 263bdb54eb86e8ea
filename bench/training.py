"""Workload (c): one epoch of ``fit`` against a hand-written PyTorch loop doing the same work.

Both train bench/run.py's antirectifier MLP (784 -> 256 -> 256 -> 10, logits) on the same
8192 x 784 samples at batch 32, with Adam (Keras's defaults: learning rate 1e-3,
epsilon 1e-7), crossentropy from logits, a fresh shuffle per epoch and batches sliced
from tensors; the plain loop also keeps the running loss in a tensor, as fit does.
Keras 3 (bench/keras_workloads.py) runs ``fit`` on the same tensors with the same
weights, optimizer and loss. Epochs of the three alternate (bench/run.py's ``measure``) so
drift in the machine's speed hits them alike; each figure is the median seconds per epoch.

Run with ``python bench/training.py [--quick]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lamina  # noqa: E402

WORKLOAD = "(c) fit, one epoch, 8192 x 784, batch 32"


def _networks() -> tuple[lamina.Sequential, nn.Module]:
    """bench/run.py's lamina MLP and its plain PyTorch twin, with the same weights."""
    from run import mlp_pair

    return mlp_pair()


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


def fit_epoch_rows(quick: bool) -> list[dict[str, object]]:
    """Median seconds per epoch for ``model.fit(..., epochs=1)``, the plain loop and Keras."""
    from keras_workloads import candidate, fit_epoch
    from run import measure, ratio_target, row

    torch.manual_seed(0)
    x, y = torch.randn(8192, 784), torch.randint(0, 10, (8192,))
    ours, plain = _networks()
    run_keras, note = candidate(fit_epoch, ours, x, y)
    ours.compile(optimizer="adam",
                 loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
    plain_optimizer = torch.optim.Adam(plain.parameters(), lr=1e-3, eps=1e-7)

    def run_lamina() -> None:
        ours.fit(x, y, batch_size=32, epochs=1, verbose=0)

    def run_plain() -> None:
        plain_epoch(plain, plain_optimizer, x, y, 32)

    # One epoch a call, after one warm-up epoch each (allocator, optimizer state, first-call
    # building); measure() interleaves, collects garbage and synchronises as for every row.
    times = measure({"lamina": run_lamina, "torch": run_plain, "keras": run_keras},
                    inner=1, blocks=3 if quick else 7, warmup=1)
    return [row(WORKLOAD, ratio_target(1.2), times, note)]


def main(argv: list[str] | None = None) -> int:
    try:
        from run import run_alone
    except ImportError:
        from bench.run import run_alone
    return run_alone("c", __doc__.splitlines()[0], argv)
if __name__ == "__main__":
    sys.exit(main())
