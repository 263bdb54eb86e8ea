"""examples/text_from_strings.py trains from raw strings, and a new process that loads the
saved file predicts exactly what the trained model does."""

from __future__ import annotations

from pathlib import Path

import pytest
from example_loader import load_example

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "text_from_strings.py"


def test_text_from_strings_example_learns_and_reloads_in_a_new_process(
        capsys: pytest.CaptureFixture[str]) -> None:
    module = load_example(EXAMPLE)
    accuracy = module.main()
    out = capsys.readouterr().out
    assert "vocabulary: " in out and "'[UNK]'" in out
    assert "predictions reloaded in a new process are identical: True" in out
    assert accuracy > 0.9  # chance is 0.5; the mixed-in words cap it near 0.96
