"""Every example in the README and in examples/ runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from example_loader import load_example

ROOT = Path(__file__).resolve().parent.parent


def _readme_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_readme_python_blocks_run_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's blocks build on each other, like a notebook: run them in one namespace.
    It has no __name__, as none names a module that holds it: torch.compile reads the
    globals of code with a __name__ through the module it names, and those without one as
    the dict they are."""
    namespace: dict = {}
    blocks = _readme_blocks()
    assert len(blocks) >= 3
    for index, block in enumerate(blocks):
        exec(compile(block, f"README.md block {index}", "exec"), namespace)


def test_antirectifier_example_trains_and_prints(capsys: pytest.CaptureFixture[str]) -> None:
    accuracy = load_example(ROOT / "examples" / "antirectifier.py").main(epochs=2)
    out = capsys.readouterr().out
    assert "antirectifier(x)" in out and "lambda x: x ** 2" in out
    assert "Total params: 21,770" in out
    assert accuracy > 0.85


def test_every_example_is_tested() -> None:
    tested = set()
    for test_file in (ROOT / "tests").glob("test_examples*.py"):
        tested |= set(re.findall(r'"examples" / "(\w+\.py)"', test_file.read_text()))
        tested |= set(re.findall(r'"(\w+\.py)"', test_file.read_text()))
    assert {p.name for p in (ROOT / "examples").glob("*.py")} <= tested
