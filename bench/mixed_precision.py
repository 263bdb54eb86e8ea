"""Workload (p): a mixed-precision train step of the (b) MLP, lamina's ``mixed_bfloat16``
policy against ``torch.autocast`` by hand and Keras 3's ``mixed_bfloat16`` policy.

lamina's model is built under ``lamina.mixed_precision.set_global_policy("mixed_bfloat16")``
(float32 weights, each layer computing under ``torch.autocast`` in bfloat16, as Keras's
policy does; the global policy is set back to ``float32`` right after); Keras's the same way
with ``keras.mixed_precision``. The plain reference is bench/run.py's ``PlainMLP`` with its
forward inside ``torch.autocast("cpu", dtype=torch.bfloat16)``, what a PyTorch user writes.
All three hold the same weights; the step is forward, cross-entropy on the logits cast to
float32, backward, Adam (one function for the three, as in (b)). On CUDA the dtype would be
float16 with a gradient scaler; this row runs on CPU, where bfloat16 is autocast's dtype.

Run alone with ``python bench/mixed_precision.py [--quick] [--threads N]``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import torch
from torch import nn

import lamina
from lamina import mixed_precision

try:
    from run import PlainMLP, Row, lamina_mlp, measure, ratio_target, row
except ImportError:
    from bench.run import PlainMLP, Row, lamina_mlp, measure, ratio_target, row

import keras_workloads

WORKLOAD = "(p) MLP train step, mixed_bfloat16 / torch.autocast(bfloat16), batch 128"


def lamina_mixed_mlp() -> lamina.Sequential:
    """bench/run.py's MLP built under the ``mixed_bfloat16`` global policy (then reset)."""
    previous = mixed_precision.global_policy()
    mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        return lamina_mlp()
    finally:
        mixed_precision.set_global_policy(previous)


class AutocastMLP(nn.Module):
    """``PlainMLP`` with its forward under ``torch.autocast`` in bfloat16."""

    def __init__(self, plain: PlainMLP) -> None:
        super().__init__()
        self.plain = plain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, dtype=torch.bfloat16):
            return self.plain(x)


def copy_weights(ours: lamina.Sequential, plain: PlainMLP) -> None:
    with torch.no_grad():
        for dense, linear in zip([ours[0], ours[2], ours[4]], [plain.fc1, plain.fc2, plain.fc3]):
            linear.weight.copy_(dense.kernel.T)
            linear.bias.copy_(dense.bias)


def mixed_train_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Callable[[], None]:
    """Forward (bfloat16 inside), cross-entropy on float32 logits, backward, Adam."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        loss = nn.functional.cross_entropy(model(x).float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def mixed_rows(quick: bool) -> list[Row]:
    torch.manual_seed(0)
    ours, plain = lamina_mixed_mlp(), PlainMLP()
    assert mixed_precision.global_policy().name == "float32"
    copy_weights(ours, plain)
    reference = AutocastMLP(plain)
    data, labels = torch.randn(128, 784), torch.randint(0, 10, (128,))
    with torch.no_grad():
        expected = reference(data)
        got = ours(data)
        assert got.dtype == expected.dtype == torch.bfloat16, (got.dtype, expected.dtype)
        torch.testing.assert_close(got.float(), expected.float(), rtol=2e-2, atol=2e-2)
    keras_model, note = keras_workloads.candidate(keras_workloads.mixed_mlp, ours, data,
                                                  expected)
    for model in (ours, reference, keras_model):
        if model is not None:
            model.train()
    times = measure({"lamina": mixed_train_step(ours, data, labels),
                     "torch": mixed_train_step(reference, data, labels),
                     "keras": None if keras_model is None else mixed_train_step(
                         keras_model, data, labels)},
                    inner=4 if quick else 20, blocks=7 if quick else 15, warmup=10)
    return [row(WORKLOAD, ratio_target(1.05), times, note)]


def main(argv: list[str] | None = None) -> int:
    try:
        from run import run_alone
    except ImportError:
        from bench.run import run_alone
    return run_alone("p", __doc__.splitlines()[0], argv)
if __name__ == "__main__":
    sys.exit(main())
