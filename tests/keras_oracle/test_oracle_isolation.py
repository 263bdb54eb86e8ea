"""The oracle does not disturb the rest of the suite: collecting it imports no Keras, Keras
runs on the torch backend, and an oracle run leaves torch's and the random generators'
global state as it found it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import torch
from oracle_cases import CASES
from oracle_harness import Run
from oracle_state import differences, global_state, restore_global_state

HERE = Path(__file__).resolve().parent


def test_tables_and_conftest_import_no_keras() -> None:
    """What collection imports (conftest, tables, harness, known gaps) leaves Keras out."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "import conftest, oracle_cases, oracle_harness, known_gaps, oracle_state, oracle_report; "
        "import test_oracle_layers, test_oracle_invalid, test_oracle_coverage; "
        "print(sorted(m for m in sys.modules if m == 'keras' or m.startswith('keras.')))"
    )
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    done = subprocess.run([sys.executable, "-c", code, str(HERE)], capture_output=True,
                          text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]", done.stdout


def test_keras_runs_on_torch(keras) -> None:  # noqa: ANN001
    assert os.environ["KERAS_BACKEND"] == "torch"
    assert keras.backend.backend() == "torch"


def test_an_oracle_run_leaves_global_state_alone(keras) -> None:  # noqa: ANN001
    """A run that draws from every generator Keras uses (dropout in training, unseeded
    initializers) changes global state; the autouse fixture's restore puts all of it back."""
    before = global_state()
    case = next(c for c in CASES["Dropout"] if c.call.get("training"))
    run = Run(keras, case)
    for check in ("output", "gradients", "config"):
        run.outcome(check)
    keras.layers.Dropout(0.5)(torch.ones(3, 4), training=True)
    keras.layers.Dense(2)(torch.ones(3, 4))
    touched = differences(before, global_state())
    restore_global_state(before)
    assert differences(before, global_state()) == [], "restore left state changed"
    assert "python_rng" in touched, "the check saw no change: it would miss a leak"


def test_without_keras_the_directory_is_skipped_with_the_reason() -> None:
    """With keras unimportable, every oracle test is skipped, saying how to install it."""
    code = (
        "import sys; sys.modules['keras'] = None; import pytest; "
        "sys.exit(pytest.main([sys.argv[1], '-rs', '-p', 'no:cacheprovider']))"
    )
    done = subprocess.run([sys.executable, "-c", code, str(HERE / "test_oracle_coverage.py")],
                          capture_output=True, text=True, timeout=300, check=False,
                          cwd=HERE.parent.parent)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    outcomes = re.findall(r"\d+ (passed|failed|skipped|xfailed|xpassed|error)", done.stdout)
    assert outcomes == ["skipped"], done.stdout[-3000:]
    assert 'pip install -e ".[keras-oracle]"' in done.stdout
