"""Time and peak memory of loading each hostile file of ``tests/resource_cases.py``.

Each file is measured in a fresh process (so one case's peak cannot hide another's), after
a warm-up load that imports everything loading needs: ``load_model``, ``lamina check``
(``check_file``) and ``lamina inspect`` (``describe_file``), with the wall time and the
rise of the process's peak resident memory over the warm-up's. No test asserts a time;
``tests/test_load_budget.py`` checks the peak memory of two cases through ``--files``.

    .venv/bin/python bench/hostile_load.py            # every case, a table
    .venv/bin/python bench/hostile_load.py --json --files a.lamina b.lamina
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_one(path: str) -> list[dict[str, object]]:
    """In this process: warm up, then each of the three commands on ``path``."""
    import lamina
    from lamina.saving.inspection import check_file, describe_file
    sys.path.insert(0, str(ROOT / "tests"))
    from resource_cases import save_base

    with tempfile.TemporaryDirectory() as folder:
        warm = save_base(Path(folder) / "warm.lamina")
        lamina.load_model(warm)
        inputs = lamina.Input(shape=(3,))  # imports what the first fake inference needs
        lamina.layers.Lambda(lambda x: [x, x])(inputs)
        check_file(warm)
        describe_file(warm)
    rows = []
    for name, command in (("load_model", lamina.load_model), ("check", check_file),
                          ("inspect", describe_file)):
        before = _peak_mb()
        start = time.perf_counter()
        try:
            result = command(path)
            outcome = ("refused: " + result[1][:60]) if isinstance(result, tuple) and not (
                result[0]) else "ok"
        except Exception as error:  # noqa: BLE001 - reported, not handled
            outcome = f"{type(error).__name__}: {str(error)[:60]}"
        rows.append({"file": Path(path).name, "command": name,
                     "seconds": round(time.perf_counter() - start, 3),
                     "peak_mb": round(_peak_mb() - before, 1), "outcome": outcome})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", nargs="*", help="measure these files (default: every case)")
    parser.add_argument("--json", action="store_true", help="print JSON rows, not a table")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the child process's job
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one)))
        return
    with tempfile.TemporaryDirectory() as folder:
        paths = args.files
        if not paths:
            sys.path.insert(0, str(ROOT / "tests"))
            from resource_cases import CASES, save_base

            base = save_base(Path(folder) / "base.lamina")
            paths = []
            for case in CASES:
                paths.append(str(Path(folder) / f"{case.id}.lamina"))
                case.write(base, Path(paths[-1]))
        rows = []
        env = {**os.environ, "PYTHONPATH": str(ROOT / "tests")}
        for path in paths:
            child = subprocess.run([sys.executable, __file__, "--one", path], env=env,
                                   capture_output=True, text=True, timeout=600, check=True)
            rows.extend(json.loads(child.stdout.strip().splitlines()[-1]))
            if not args.json:
                size = os.path.getsize(path) / 1024
                for row in rows[-3:]:
                    print(f"{row['file'][:42]:42} {size:7.0f} KB {row['command']:10} "
                          f"{row['seconds']:6.3f} s {row['peak_mb']:7.1f} MB  "
                          f"{row['outcome']}", flush=True)
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
