"""``examples/digits_cnn.py`` trains a small CNN well above chance in a few seconds."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from example_loader import load_example

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "digits_cnn.py"


def test_digits_cnn_example_trains_well_above_chance(capsys: pytest.CaptureFixture[str]) -> None:
    module = load_example(EXAMPLE)
    # Batches of 64 8x8 images are too small to gain from several threads, and on a busy
    # machine OpenMP threads waiting on each other made a step ~20x slower than on one.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        accuracy = module.main(epochs=5)
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert "Conv2D" in out and "MaxPooling2D" in out and "Total params: 6,090" in out
    assert "epoch 5/5" in out
    assert accuracy > 0.85  # chance is 0.1
