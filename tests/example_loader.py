"""Loading a script of ``examples/`` as a module, for the tests that run its ``main``."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_example(path: Path) -> ModuleType:
    """The example at ``path`` (``EXAMPLES / "name.py"``), executed as a fresh module."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
