"""``examples/custom_layer.py``: a custom layer written, tested, trained, saved and loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
from example_loader import load_example

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "custom_layer.py"


def test_custom_layer_example(capsys: pytest.CaptureFixture[str]) -> None:
    module = load_example(EXAMPLE)
    accuracy = module.main(epochs=20)
    out = capsys.readouterr().out
    assert "run_layer_test: Antirectifier passes" in out
    assert "identical predictions: True" in out
    assert accuracy > 0.85
