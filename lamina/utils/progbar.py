"""``keras.utils.Progbar``: a text progress bar for hand-written loops.

``update(current, values)`` moves the bar to step ``current`` and records metric values:
a metric named in ``stateful_metrics`` is shown as given; any other is averaged over the
steps it covered (a value at step 5 after step 3 counts twice), as Keras's bar does.
``add(n, values)`` advances by ``n`` steps. ``verbose=1`` redraws one line (at most every
``interval`` seconds), ``verbose=2`` prints one line when the bar finishes, ``verbose=0``
prints nothing.

Example:
    >>> bar = Progbar(10, verbose=0, stateful_metrics=["lr"])
    >>> bar.update(1, [("loss", 4.0), ("lr", 0.1)])
    >>> bar.add(3, [("loss", 0.0), ("lr", 0.05)])
    >>> bar.averages()  # loss: (4 * 1 + 0 * 3) / 4 steps; lr: the last value
    {'loss': 1.0, 'lr': 0.05}
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from lamina.errors import ArgumentError


class Progbar:
    """A progress bar over ``target`` steps (``None``: unknown).

    Args:
        target: Number of steps, or ``None`` when unknown.
        width: Width of the bar in characters.
        verbose: 0 silent, 1 a line redrawn as it goes, 2 one line at the end.
        interval: Least number of seconds between two redraws (``verbose=1``).
        stateful_metrics: Names whose values are shown as given, not averaged.
        stateless_metrics: Alternatively, the only names that are averaged.
        unit_name: What a step is called in the time per step (``"step"``).
    """

    def __init__(self, target: int | None, width: int = 20, verbose: int = 1,
                 interval: float = 0.05, stateful_metrics: Iterable[str] | None = None,
                 stateless_metrics: Iterable[str] | None = None,
                 unit_name: str = "step") -> None:
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ArgumentError(
                "Progbar: pass stateful_metrics (the names not to average) or "
                "stateless_metrics (the only names to average), not both."
            )
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stateful_metrics = set(stateful_metrics or ())
        self.stateless_metrics = None if stateless_metrics is None else set(stateless_metrics)
        self._totals: dict[str, list[float]] = {}  # name -> [weighted sum, steps]
        self._seen_so_far = 0
        self._start = time.time()
        self._last_draw = 0.0
        self._drawn_width = 0

    def _averaged(self, name: str) -> bool:
        if self.stateless_metrics is not None:
            return name in self.stateless_metrics
        return name not in self.stateful_metrics

    def update(self, current: int, values: Iterable[tuple[str, Any]] | None = None,
               finalize: bool | None = None) -> None:
        """Move to step ``current``, recording ``(name, value)`` pairs for the last step."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        steps = max(current - self._seen_so_far, 1)
        for name, value in values or ():
            number = float(np.mean(np.asarray(value, dtype=np.float64)))
            if self._averaged(name) and not finalize and name in self._totals:
                self._totals[name][0] += number * steps
                self._totals[name][1] += steps
            elif self._averaged(name) and not finalize:
                self._totals[name] = [number * steps, steps]
            else:  # shown as given (Keras also takes a finalizing value as the average)
                self._totals[name] = [number, 1]
        self._seen_so_far = current
        now = time.time()
        if self.verbose == 1 and (finalize or now - self._last_draw >= self.interval):
            self._draw(current, now, finalize)
            self._last_draw = now
        elif self.verbose == 2 and finalize:
            sys.stdout.write(self._line(current, now, finalize, bar=False) + "\n")
            sys.stdout.flush()

    def add(self, n: int, values: Iterable[tuple[str, Any]] | None = None) -> None:
        """Advance by ``n`` steps."""
        self.update(self._seen_so_far + n, values)

    def averages(self) -> dict[str, float]:
        """The value shown for each metric: its average, or its last value if stateful."""
        return {name: total / max(count, 1) for name, (total, count) in self._totals.items()}

    # ------------------------------------------------------------------ drawing
    def _line(self, current: int, now: float, finalize: bool, bar: bool = True) -> str:
        if self.target:
            digits = len(str(self.target))
            text = f"{current:{digits}d}/{self.target}"
            if bar:
                done = int(self.width * min(current / self.target, 1.0))
                arrow = ">" if done < self.width else ""
                text += " [" + ("=" * done + arrow).ljust(self.width, ".")[:self.width] + "]"
        else:
            text = f"{current:7d}/Unknown"
        elapsed = now - self._start
        per_step = elapsed / current if current else 0.0
        if self.target and not finalize:
            text += f" - ETA: {_duration(per_step * (self.target - current))}"
        else:
            text += f" - {_duration(elapsed)}"
        text += f" {_per_unit(per_step, self.unit_name)}"
        for name, value in self.averages().items():
            text += f" - {name}: {value:.4f}" if abs(value) > 1e-3 else \
                f" - {name}: {value:.4e}"
        return text

    def _draw(self, current: int, now: float, finalize: bool) -> None:
        line = self._line(current, now, finalize)
        interactive = getattr(sys.stdout, "isatty", lambda: False)()
        padding = " " * max(self._drawn_width - len(line), 0)
        if interactive:
            sys.stdout.write("\r" + line + padding + ("\n" if finalize else ""))
        else:
            sys.stdout.write(line + "\n")
        sys.stdout.flush()
        self._drawn_width = len(line)


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{seconds:.0f}s"


def _per_unit(seconds: float, unit: str) -> str:
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"
