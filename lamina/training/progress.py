"""Keras-style progress output for ``fit``, ``evaluate`` and ``predict``, drawn with rich.

``verbose=1``: a bar per epoch with the running loss and metrics (Keras's ``Epoch 1/5``
then ``45/45 ━━━━━━ 1s 5ms/step - loss: ...``); ``verbose=2``: one line per epoch,
``Epoch 1/5 - 2s - loss: 0.1234 - accuracy: 0.9500 - val_loss: ...``; ``verbose=0``:
nothing. ``"auto"`` is 1 on a terminal and 2 otherwise (logs, CI, notebooks' pipes).

The bar is redrawn at most :data:`UPDATE_INTERVAL` seconds apart, and only then are the
running values read from the tensors that hold them: the training loop itself never
waits for the display.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn
from rich.table import Column
from rich.text import Text

from lamina.errors import ArgumentError

#: Seconds between two redraws of a bar (about ten per second).
UPDATE_INTERVAL = 0.1


def resolve_verbose(verbose: int | str) -> int:
    """0, 1 or 2 from Keras's ``verbose`` argument (``"auto"``: 1 on a terminal, else 2)."""
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ArgumentError(f"verbose must be 'auto', 0, 1 or 2, received {verbose!r}.")
    return int(verbose)


def format_value(value: float) -> str:
    """Keras's number format: 4 decimals, or scientific notation for tiny values.

    Example:
        >>> format_value(0.123456), format_value(0.00001234), format_value(0.0)
        ('0.1235', '1.2340e-05', '0.0000')
    """
    if value != 0 and abs(value) < 1e-3:
        return f"{value:.4e}"
    return f"{value:.4f}"


def format_logs(logs: dict[str, float]) -> str:
    """``"loss: 0.1234 - accuracy: 0.9500"``.

    Example:
        >>> format_logs({"loss": 0.5, "accuracy": 0.75})
        'loss: 0.5000 - accuracy: 0.7500'
    """
    return " - ".join(f"{key}: {format_value(value)}" for key, value in logs.items())


class _StepTimeColumn(ProgressColumn):
    """``1s 5ms/step`` like Keras: time so far and the mean time per step."""

    def render(self, task: Any) -> Text:
        elapsed = task.finished_time if task.finished else task.elapsed
        elapsed = elapsed or 0.0
        if not task.completed:
            return Text(f"{elapsed:.0f}s")
        per_step = elapsed / task.completed
        rate = f"{per_step * 1e3:.0f}ms" if per_step >= 1e-3 else f"{per_step * 1e6:.0f}us"
        return Text(f"{elapsed:.0f}s {rate}/step")


class ProgressDisplay:
    """One loop's progress: :meth:`start` a bar, :meth:`update` it, :meth:`finish` it."""

    def __init__(self, verbose: int) -> None:
        self.verbose = verbose
        self._progress: Progress | None = None
        self._next_update = 0.0
        self._started = 0.0
        self._title = ""

    def start(self, title: str, total: int | None) -> None:
        """Begin a bar (verbose 1) or a timer (verbose 2); ``title`` is e.g. ``Epoch 1/5``."""
        self._title, self._total = title, total
        self._started = time.perf_counter()
        self._next_update = self._started + UPDATE_INTERVAL
        if self.verbose != 1:
            return
        console = Console(file=sys.stdout)
        if title:
            console.print(title, highlight=False)
        # Fixed columns never shrink; a long line of values wraps below instead.
        self._progress = Progress(
            MofNCompleteColumn(table_column=Column(no_wrap=True)),
            BarColumn(bar_width=20, table_column=Column(no_wrap=True, min_width=20)),
            _StepTimeColumn(table_column=Column(no_wrap=True)),
            TextColumn("{task.fields[values]}", table_column=Column(overflow="fold")),
            console=console, auto_refresh=False,
        )
        self._task = self._progress.add_task("", total=total, values="")
        self._progress.start()

    def due(self) -> bool:
        """Whether the bar should be redrawn now (cheap: one clock read)."""
        return self._progress is not None and time.perf_counter() >= self._next_update

    def update(self, completed: int, logs: dict[str, float]) -> None:
        if self._progress is None:
            return
        values = f"- {format_logs(logs)}" if logs else ""
        self._progress.update(self._task, completed=completed, values=values)
        self._progress.refresh()
        self._next_update = time.perf_counter() + UPDATE_INTERVAL

    def finish(self, completed: int, logs: dict[str, float]) -> None:
        """Draw the final state (with validation values) and leave it on screen."""
        if self.verbose == 1 and self._progress is not None:
            if self._total is None:
                self._progress.update(self._task, total=completed)
            self.update(completed, logs)
            self._progress.stop()
            self._progress = None
        elif self.verbose == 2:
            seconds = time.perf_counter() - self._started
            title = self._title or f"{completed}/{completed}"
            parts = [title, f"{seconds:.0f}s"] + ([format_logs(logs)] if logs else [])
            print(" - ".join(parts), flush=True)

    def close(self) -> None:
        """Stop a bar left open by an error, so the terminal is usable again."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
