"""lamina's LSTM against plain PyTorch: one training step, with and without a padding mask.

Workload (f): ``LSTM(128) -> Dense(10)`` on ``(64, 50, 32)`` inputs, cross-entropy, one Adam
step; lamina as a Functional model, PyTorch as ``nn.LSTM`` + ``nn.Linear`` with the same
weights. With the right-padded mask, lamina gets the mask (``model(x, mask=mask)``) and
PyTorch packs the sequences (``pack_padded_sequence`` with the lengths the mask gives).
Keras 3 (bench/keras_workloads.py) runs the same Functional model with the same weights,
called as ``model(x, mask=mask)``, in the same torch training loop.
Run with ``python bench/recurrent.py [--quick] [--threads N]``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

import lamina
from lamina import layers
from lamina.layers.recurrent import LSTM

try:
    from run import measure, ratio_target, row  # a script in bench/, or from bench/run.py
except ImportError:
    from bench.run import measure, ratio_target, row

import keras_workloads

BATCH, STEPS, FEATURES, UNITS, CLASSES = 64, 50, 32, 128, 10


class PlainLSTM(nn.Module):
    """The same network in plain PyTorch; with a mask, the sequences are packed."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(FEATURES, UNITS, batch_first=True)
        self.fc = nn.Linear(UNITS, CLASSES)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:
            _, (h, _) = self.lstm(x)
        else:
            lengths = mask.sum(dim=1).cpu()
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            _, (h, _) = self.lstm(packed)
        return self.fc(h[-1])


def lamina_model() -> lamina.Model:
    inputs = lamina.Input(shape=(STEPS, FEATURES))
    return lamina.Model(inputs, layers.Dense(CLASSES)(LSTM(UNITS)(inputs)))


def copy_weights(ours: lamina.Model, plain: PlainLSTM) -> None:
    lstm, dense = ours.layers[1], ours.layers[2]
    with torch.no_grad():
        plain.lstm.weight_ih_l0.copy_(lstm.kernel.T)
        plain.lstm.weight_hh_l0.copy_(lstm.recurrent_kernel.T)
        plain.lstm.bias_ih_l0.copy_(lstm.bias)
        plain.lstm.bias_hh_l0.zero_()
        plain.fc.weight.copy_(dense.kernel.T)
        plain.fc.bias.copy_(dense.bias)


def train_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
               mask: torch.Tensor | None) -> Callable[[], None]:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()

    def step() -> None:
        logits = model(x) if mask is None else model(x, mask=mask)
        loss = nn.functional.cross_entropy(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def lstm_rows(quick: bool) -> list[dict[str, object]]:
    """Two rows (no mask, right-padded mask): median seconds per step, lamina and torch."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(BATCH, STEPS, FEATURES, generator=generator)
    y = torch.randint(0, CLASSES, (BATCH,), generator=generator)
    lengths = torch.randint(10, STEPS + 1, (BATCH,), generator=generator)
    padding = torch.arange(STEPS)[None, :] < lengths[:, None]
    rows = []
    for label, mask in (("no mask", None), ("right-padded mask", padding)):
        data = x if mask is None else x * mask[..., None]
        torch.manual_seed(0)
        ours, plain = lamina_model(), PlainLSTM()
        copy_weights(ours, plain)
        with torch.no_grad():
            expected = plain(data) if mask is None else plain(data, mask)
            got = ours(data) if mask is None else ours(data, mask=mask)
            torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
        keras_model, note = keras_workloads.candidate(keras_workloads.lstm, ours, data, mask,
                                                      UNITS, CLASSES)
        times = measure({"lamina": train_step(ours, data, y, mask),
                         "torch": train_step(plain, data, y, mask),
                         "keras": None if keras_model is None else
                         train_step(keras_model, data, y, mask)},
                        inner=2 if quick else 4, blocks=5 if quick else 11,
                        warmup=2 if quick else 4)
        rows.append(row(f"(f) LSTM(128) train step (64, 50, 32), {label}", ratio_target(1.1),
                        times, note))
    return rows


def main(argv: list[str] | None = None) -> int:
    try:
        from run import run_alone
    except ImportError:
        from bench.run import run_alone
    return run_alone("f", __doc__.splitlines()[0], argv)
if __name__ == "__main__":
    sys.exit(main())
