"""Print every difference the Keras oracle finds today, against ``known_gaps``.

Usage (from the repository root)::

    KERAS_BACKEND=torch .venv/bin/python tests/keras_oracle/oracle_report.py [Layer ...]

Each line is ``NEW``, ``known`` or ``FIXED`` (a known gap that no longer fails: remove
its entry), then ``Layer[configuration] check: what differs``. The pytest suite says the
same with strict xfails; this is the readable to-do list, with the full messages.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def main(argv: list[str]) -> int:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    # Deferred: only running the report imports Keras (collection must not).
    import keras
    from known_gaps import MISSING_LAYERS, case_gap, invalid_gap
    from oracle_cases import all_cases, all_invalid
    from oracle_harness import Run, checks_of, describe, lamina_layer

    only = set(argv)
    counts = {"NEW": 0, "known": 0, "FIXED": 0}

    def show(status: str, what: str, message: str) -> None:
        counts[status] += 1
        print(f"{status:5} {what}: {message}")

    for case in all_cases():
        if (only and case.layer not in only) or case.layer in MISSING_LAYERS:
            continue
        run = Run(keras, case)
        for check in checks_of(case.layer):
            outcome = run.outcome(check)
            gap = case_gap(case.layer, case.id, check)
            if not outcome.passed:
                show("known" if gap else "NEW", f"{case.key} {check}", outcome.message)
            elif gap:
                show("FIXED", f"{case.key} {check}", f"passes; known_gaps says: {gap}")
    for entry in all_invalid():
        if (only and entry.layer not in only) or entry.layer in MISSING_LAYERS:
            continue
        message = _refusal(entry, lamina_layer, describe)
        gap = invalid_gap(entry.layer, entry.id)
        what = f"{entry.layer}(**{entry.kwargs}) [{entry.id}]"
        if message:
            show("known" if gap else "NEW", what, message)
        elif gap:
            show("FIXED", what, f"refused like Keras; known_gaps says: {gap}")
    for name in sorted(MISSING_LAYERS):
        if not only or name in only:
            print(f"known lamina.layers has no {name}")
    print(f"-- {counts['NEW']} new, {counts['known']} known, {counts['FIXED']} fixed")
    return 1 if counts["NEW"] or counts["FIXED"] else 0


def _refusal(entry: Any, make: Any, describe: Any) -> str:
    """What is wrong with lamina's answer to an invalid-arguments entry ('' if nothing)."""
    try:
        make(entry.layer, entry.kwargs)
    except entry.error:
        return ""
    except Exception as error:
        return f"lamina raises {describe(error)}, Keras a {entry.error.__name__}"
    return f"lamina accepts it, Keras raises {entry.error.__name__}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
