"""Run one of these programs under real Keras 3 (torch backend) instead of lamina.

Every program here starts with ``import lamina as keras``; this script runs a copy whose
first line is ``import keras`` instead, so a program can be checked against the library
it imitates before it is run with lamina::

    KERAS_BACKEND=torch .venv/bin/python tests/keras_programs/run_with_keras.py sequential.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
LAMINA_IMPORT = "import lamina as keras\n"


def keras_source(program: Path) -> str:
    """The program's text with its lamina import replaced by Keras's."""
    text = program.read_text()
    if LAMINA_IMPORT not in text:
        raise ValueError(f"{program.name} has no line {LAMINA_IMPORT.strip()!r}.")
    return text.replace(LAMINA_IMPORT, "import keras\n", 1)


def run_with_keras(program: Path) -> int:
    """Run the Keras copy of ``program`` as a script; return its exit status."""
    with tempfile.TemporaryDirectory() as directory:
        copy = Path(directory) / program.name
        copy.write_text(keras_source(program))
        environment = {**os.environ, "KERAS_BACKEND": "torch"}
        return subprocess.run([sys.executable, str(copy)], env=environment).returncode


if __name__ == "__main__":
    names = sys.argv[1:] or sorted(
        p.name for p in HERE.glob("*.py") if p.name not in {"run_with_keras.py", "conftest.py"}
    )
    paths = [Path(name) if Path(name).is_file() else HERE / name for name in names]
    failed = [path.name for path in paths if run_with_keras(path) != 0]
    print("failed:", failed if failed else "none")
    sys.exit(1 if failed else 0)
