"""examples/text_classifier.py trains a masked LSTM well above chance in a few seconds."""

from __future__ import annotations

from pathlib import Path

import pytest
from example_loader import load_example

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "text_classifier.py"


def test_text_classifier_example_learns_and_ignores_padding(
        capsys: pytest.CaptureFixture[str]) -> None:
    module = load_example(EXAMPLE)
    accuracy = module.main(epochs=2)
    out = capsys.readouterr().out
    assert "lambda x: x * 2.0" in out and "(LSTM)" in out
    padded, unpadded = out.split("padded vs unpadded first sequence: ")[1].split()[:2]
    assert padded == unpadded
    assert accuracy > 0.9  # chance is 0.5
