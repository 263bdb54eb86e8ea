"""``examples/custom_layer.py``: a custom layer written, tested, trained, saved and loaded."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "custom_layer.py"


def test_custom_layer_example(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("custom_layer_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    accuracy = module.main(epochs=20)
    out = capsys.readouterr().out
    assert "run_layer_test: Antirectifier passes" in out
    assert "identical predictions: True" in out
    assert accuracy > 0.85
