"""Keras 3 as a test oracle for ``lamina.layers`` (issue 15, item 1).

This directory compares every layer of ``lamina.layers`` with the same Keras 3 layer on the
torch backend. Keras is an optional dependency (``pip install -e ".[keras-oracle]"``);
without it every test here is skipped, with the reason in the skip message.

Keras is never imported when this file or the tables are imported: collection needs no
Keras. The ``keras`` fixture imports it on first use, after ``KERAS_BACKEND=torch`` is set
(below, before anything can import Keras), and the autouse ``_torch_and_random_state``
fixture puts back every piece of global state Keras could touch (torch's default dtype
and device, grad mode, deterministic flags, the torch, numpy and Python random states,
lamina's layer-name counters), so the rest of the suite behaves the same with or without
this directory.
"""

from __future__ import annotations

import os

# Before any import of keras, in this process: Keras reads it once, when first imported.
os.environ.setdefault("KERAS_BACKEND", "torch")

import importlib.util  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from oracle_state import global_state, restore_global_state  # noqa: E402

HERE = Path(__file__).resolve().parent


def _keras_missing() -> bool:
    try:
        return importlib.util.find_spec("keras") is None
    except (ImportError, ValueError):  # a broken or blocked keras (sys.modules["keras"] = None)
        return True


KERAS_MISSING = _keras_missing()
SKIP_REASON = (
    "Keras 3 is not installed: the Keras oracle (tests/keras_oracle) needs it. "
    'Install it with: pip install -e ".[keras-oracle]"'
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without Keras, skip every test of this directory (and only of this directory)."""
    if not KERAS_MISSING:
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def keras():  # noqa: ANN201 - the keras module
    """The keras module on the torch backend, imported on first use."""
    if os.environ.get("KERAS_BACKEND") != "torch":
        pytest.fail("KERAS_BACKEND is set to something other than 'torch': the oracle "
                    f"compares on the torch backend only (KERAS_BACKEND="
                    f"{os.environ.get('KERAS_BACKEND')!r}).")
    before = global_state()
    try:
        import keras as module  # Deferred: only oracle tests import Keras.
    finally:
        restore_global_state(before)
    if module.backend.backend() != "torch":
        pytest.fail(f"Keras was imported with the {module.backend.backend()!r} backend "
                    "before this directory set KERAS_BACKEND=torch.")
    return module


@pytest.fixture(autouse=True)
def _torch_and_random_state():  # noqa: ANN202
    """Each oracle test leaves torch's, numpy's, Python's and lamina's global state as it
    found it (Keras draws seeds from Python's ``random``, dropout from torch's RNG...)."""
    before = global_state()
    yield
    restore_global_state(before)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """What the oracle compared, when it ran: layers, configurations, comparisons, and where
    Keras's own shape inference contradicted its eager results."""
    harness = sys.modules.get("oracle_harness")
    if harness is None or not harness.STATS.get("configurations"):
        return
    stats = harness.STATS
    terminalreporter.write_line(
        f"Keras oracle: {stats['layers']} layers and functions, {stats['configurations']} "
        f"configurations, {stats['comparisons']} comparisons.")
    for where, what in sorted(harness.KERAS_INCONSISTENCIES.items()):
        terminalreporter.write_line(f"  Keras inconsistent with itself, {where}: {what}")
