"""lamina against plain PyTorch and Keras 3: every workload of the benchmark suite, one table.

Workloads, in the issue's order:
  (a) ten chained elementwise Lambda layers, forward on a (1, 16) input (here);
  (b) one training step (forward, loss, backward, Adam) at batch 128 of
      Dense(256) -> antirectifier -> Dense(256) -> antirectifier -> Dense(10) on 784 features
      (here);
  (c) one fit epoch (training.py); (d) predict on 65536 samples (workloads.py);
  (e) a branching Functional model's train step (workloads.py); (f) LSTM train steps
  (recurrent.py); (g) a CNN train step (cnn.py); (h) building 50/100/200-layer Functional
  models (workloads.py); (i) save + load and (j) a loaded Lambda (saving.py); (k) jit=True
  against eager train steps (workloads.py); (l) a 1-block transformer language model's
  forward, (m) its 8-token greedy generation and (n) its train step (transformer.py); (o) a
  small CNN's forward (cnn.py); (p) a mixed-precision (bfloat16 autocast) train step of the
  (b) MLP (mixed_precision.py); (q) from_keras of a .keras file against Keras's load_model
  (keras_files.py); (t) TextVectorization adapt + transform against scikit-learn's
  CountVectorizer (text.py, no Keras column). Keras 3 runs each of them through
  keras_workloads.py, with the torch backend.

Each figure is the median over repeated blocks after warm-up, with lamina, the plain
PyTorch reference and Keras interleaved block by block so that drift in the machine's
speed hits them alike. Run with ``make bench`` or ``python bench/run.py [--quick]
[--threads N] [--only abk] [--json PATH] [--device cuda]``; see bench/README.md for reading
the table. ``--device cuda`` makes CUDA torch's default device (models, weights and the
tensors the rows create go there; lamina's ``compile`` picks CUDA by itself) and each
clock read in :func:`measure` waits for the GPU first; without CUDA the rows run on the
CPU, and the output says so.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras_workloads  # noqa: E402

import lamina  # noqa: E402
from lamina import backend as K  # noqa: E402
from lamina import layers  # noqa: E402

Row = dict[str, Any]

ELEMENTWISE = [
    lambda x: x * 1.01,
    lambda x: x + 0.01,
    lambda x: torch.tanh(x),
    lambda x: x * 0.99,
    lambda x: torch.relu(x),
    lambda x: x - 0.01,
    lambda x: torch.sigmoid(x),
    lambda x: x * 2.0,
    lambda x: x + 1.0,
    lambda x: torch.abs(x),
]


def plain_elementwise(x: torch.Tensor) -> torch.Tensor:
    x = x * 1.01
    x = x + 0.01
    x = torch.tanh(x)
    x = x * 0.99
    x = torch.relu(x)
    x = x - 0.01
    x = torch.sigmoid(x)
    x = x * 2.0
    x = x + 1.0
    return torch.abs(x)


def antirectifier(x):
    x -= K.mean(x, axis=1, keepdims=True)
    x = K.l2_normalize(x, axis=1)
    pos = K.relu(x)
    neg = K.relu(-x)
    return K.concatenate([pos, neg], axis=1)


class PlainMLP(nn.Module):
    """The same network as hand-written PyTorch."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 256), nn.Linear(512, 256), nn.Linear(512, 10)

    @staticmethod
    def antirectifier(x: torch.Tensor) -> torch.Tensor:
        x = x - x.mean(dim=1, keepdim=True)
        x = nn.functional.normalize(x, dim=1, eps=1e-6)
        return torch.cat([torch.relu(x), torch.relu(-x)], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.antirectifier(self.fc1(x))
        x = self.antirectifier(self.fc2(x))
        return self.fc3(x)


def lamina_mlp() -> lamina.Sequential:
    return lamina.Sequential([
        layers.Dense(256, input_shape=(784,)),
        layers.Lambda(antirectifier),
        layers.Dense(256),
        layers.Lambda(antirectifier),
        layers.Dense(10),
    ])


def mlp_pair() -> tuple[lamina.Sequential, PlainMLP]:
    """The lamina MLP and its plain twin with the same weights."""
    ours, plain = lamina_mlp(), PlainMLP()
    with torch.no_grad():
        for dense, linear in zip([ours[0], ours[2], ours[4]], [plain.fc1, plain.fc2, plain.fc3]):
            linear.weight.copy_(dense.kernel.T)
            linear.bias.copy_(dense.bias)
    return ours, plain


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor,
               y: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def measure(candidates: dict[str, Callable[[], object] | None], inner: int, blocks: int,
            warmup: int) -> dict[str, float]:
    """Median seconds per call for each candidate (``None`` ones skipped), blocks
    interleaved."""
    present = {name: fn for name, fn in candidates.items() if fn is not None}
    clock = _synced_clock()
    for fn in present.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in present}
    order = list(present.items())
    for block in range(blocks):
        # The order turns by one each block, so that no candidate always runs right after
        # the same other one (and inherits its caches, or its wake of freed memory).
        shift = block % len(order)
        for name, fn in order[shift:] + order[:shift]:
            # Each block starts from a collected heap, so that no candidate pays for the
            # garbage another left (Keras leaves enough to trigger a full collection).
            gc.collect()
            start = clock()
            for _ in range(inner):
                fn()
            samples[name].append((clock() - start) / inner)
    return {name: statistics.median(values) for name, values in samples.items()}


def _synced_clock() -> Callable[[], float]:
    """``time.perf_counter``, after waiting for the GPU's queued work when the rows run on
    CUDA (``--device cuda`` sets torch's default device, shared by every bench module)."""
    if torch.get_default_device().type != "cuda":
        return time.perf_counter

    def clock() -> float:
        torch.cuda.synchronize()
        return time.perf_counter()

    return clock


def use_device(name: str) -> str:
    """Run the rows on ``name`` (``"cpu"`` or ``"cuda"``) when it is available; returns
    the device used, saying on stderr when CUDA is missing."""
    if name == "cuda" and not torch.cuda.is_available():
        print("--device cuda: CUDA is not available on this machine (torch "
              f"{torch.__version__}); every row runs on the CPU.", file=sys.stderr, flush=True)
        return "cpu"
    if name != "cpu":
        # Not for the CPU, torch's default already: a default device is a torch function
        # mode, which adds a Python dispatch to every torch call (~20% on row (m)).
        torch.set_default_device(name)
    return name


def row(workload: str, target: dict[str, Any], times: dict[str, float],
        keras_note: str | None = None) -> Row:
    """A table row: seconds for lamina, torch and keras (``None`` where not measured)."""
    result: Row = {"workload": workload, "target": target, "lamina": times.get("lamina"),
                   "torch": times.get("torch"), "keras": times.get("keras")}
    if keras_note:
        result["keras_note"] = keras_note
    return result


def ratio_target(limit: float) -> dict[str, Any]:
    return {"kind": "ratio", "max": limit}


def elementwise_rows(quick: bool) -> list[Row]:
    """(a): ten chained elementwise Lambdas, forward on (1, 16), no gradients."""
    seq = lamina.Sequential([layers.Identity(input_shape=(16,))]
                            + [layers.Lambda(fn) for fn in ELEMENTWISE])
    x = torch.randn(1, 16)
    keras_forward, note = keras_workloads.candidate(keras_workloads.elementwise_forward, x,
                                                    plain_elementwise(x))
    with torch.no_grad():
        torch.testing.assert_close(seq(x), plain_elementwise(x))
        times = measure({"lamina": lambda: seq(x), "torch": lambda: plain_elementwise(x),
                         "keras": keras_forward},
                        inner=400 if quick else 2000, blocks=7 if quick else 15,
                        warmup=50 if quick else 200)
    return [row("(a) 10 elementwise Lambdas, forward (1, 16)", ratio_target(1.25), times, note)]


def mlp_step_rows(quick: bool) -> list[Row]:
    """(b): one train step (forward, cross-entropy, backward, Adam) of the MLP, batch 128."""
    torch.manual_seed(0)
    ours, plain = mlp_pair()
    data, labels = torch.randn(128, 784), torch.randint(0, 10, (128,))
    torch.testing.assert_close(ours(data), plain(data), rtol=1e-4, atol=1e-5)
    keras_model, note = keras_workloads.candidate(keras_workloads.mlp, ours, data)
    ours.train()
    plain.train()
    candidates = {
        "lamina": train_step(ours, torch.optim.Adam(ours.parameters(), lr=1e-3), data, labels),
        "torch": train_step(plain, torch.optim.Adam(plain.parameters(), lr=1e-3), data, labels),
        "keras": None if keras_model is None else train_step(
            keras_model, torch.optim.Adam(keras_model.parameters(), lr=1e-3), data, labels),
    }
    times = measure(candidates, inner=4 if quick else 20, blocks=7 if quick else 15,
                    warmup=10)
    return [row("(b) MLP + antirectifier train step, batch 128", ratio_target(1.05), times,
                note)]


# (module, function) per workload, in the order; each returns a list of rows.
WORKLOADS: dict[str, tuple[str, str]] = {
    "a": ("run", "elementwise_rows"),
    "b": ("run", "mlp_step_rows"),
    "c": ("training", "fit_epoch_rows"),
    "d": ("workloads", "predict_rows"),
    "e": ("workloads", "branching_rows"),
    "f": ("recurrent", "lstm_rows"),
    "g": ("cnn", "cnn_rows"),
    "h": ("workloads", "build_rows"),
    "i": ("saving", "save_load_rows"),
    "j": ("saving", "loaded_function_rows"),
    "k": ("workloads", "jit_rows"),
    "l": ("transformer", "forward_rows"),
    "m": ("transformer", "generation_rows"),
    "n": ("transformer", "training_rows"),
    "o": ("cnn", "forward_rows"),
    "p": ("mixed_precision", "mixed_rows"),
    "q": ("keras_files", "from_keras_rows"),
    "t": ("text", "text_rows"),
}


def run(quick: bool, only: str = "".join(WORKLOADS)) -> list[Row]:
    rows: list[Row] = []
    for letter, (module_name, function_name) in WORKLOADS.items():
        if letter not in only:
            continue
        module = sys.modules[__name__] if module_name == "run" else \
            importlib.import_module(module_name)
        started = time.perf_counter()
        new_rows = getattr(module, function_name)(quick)
        print(f"  ({letter}) measured in {time.perf_counter() - started:.0f} s", file=sys.stderr,
              flush=True)
        rows.extend(new_rows)
    return rows


# ---------------------------------------------------------------------- reading the rows
def check(row: Row, rows: list[Row]) -> tuple[str, bool | None]:
    """The target as text and whether lamina meets it (``None``: nothing to check)."""
    target = row["target"]
    kind = target["kind"]
    if kind == "ratio":
        return f"<= {target['max']}", row["lamina"] / row["torch"] <= target["max"]
    if kind == "build":
        # Linear growth: the per-layer time at this depth against the smallest depth's.
        base = next(r for r in rows if r["target"]["kind"] == "build")
        growth = (row["lamina"] / row["depth"]) / (base["lamina"] / base["depth"])
        row["per_layer_growth"] = growth
        text = f"x{growth:.2f}/layer vs {base['depth']}"
        met = growth <= target["max_growth"]
        if "max_seconds" in target:
            text = f"<= {target['max_seconds']} s, {text}"
            met = met and row["lamina"] <= target["max_seconds"]
        return text, met
    if kind == "faster_than_keras":
        if row.get("keras") is None:
            return "< keras", None
        return "< keras", row["lamina"] < row["keras"]
    if kind == "faster_than":
        reference = next(r for r in rows if r.get("key") == target["row"])
        row["lamina_over_reference"] = row["lamina"] / reference["lamina"]
        return (f"< eager (x{row['lamina_over_reference']:.2f})",
                row["lamina_over_reference"] < 1.0)
    return "", None


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1.0:
        return f"{value:.3f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.2f} ms"
    return f"{value * 1e6:.1f} us"


def table(rows: list[Row], keras_status: str | None) -> str:
    """The Markdown table of all rows (and each row's checks, stored into the rows)."""
    lines = ["| workload | lamina | torch | keras | lamina/torch | keras/lamina | target | met |",
             "|---|---:|---:|---:|---:|---:|---|---|"]
    for entry in rows:
        target_text, met = check(entry, rows)
        entry["met"] = met
        ratio = entry["lamina"] / entry["torch"] if entry["torch"] else None
        entry["lamina_over_torch"] = ratio
        if entry["keras"] is not None:
            keras = seconds(entry["keras"])
            entry["keras_over_lamina"] = entry["keras"] / entry["lamina"]
            keras_ratio = f"{entry['keras_over_lamina']:.2f}"
            if entry["keras_over_lamina"] <= 1.0:
                keras_ratio += " (Keras faster)"
        else:
            keras = keras_status or entry.get("keras_note", "not measured")
            keras = keras if len(keras) <= 40 else keras[:37] + "..."
            keras_ratio = "-"
        lines.append(
            f"| {entry['workload']} | {seconds(entry['lamina'])} | {seconds(entry['torch'])} "
            f"| {keras} | {'-' if ratio is None else f'{ratio:.3f}'} | {keras_ratio} "
            f"| {target_text} | {'-' if met is None else 'yes' if met else '**MISSED**'} |")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            names = [line.split(":", 1)[1].strip() for line in handle
                     if line.startswith("model name")]
        cpu = f"{names[0]} ({len(names)} logical cores)" if names else cpu
    except OSError:
        pass
    return {"cpu": cpu, "os": platform.platform(), "python": platform.python_version(),
            "torch": torch.__version__, "keras": keras_workloads.version(),
            "lamina": f"{lamina.__version__} {lamina_revision()}".strip()}


def lamina_revision() -> str:
    """The git commit the measured lamina is at (``+`` for uncommitted changes), if known."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(lamina.__file__)))
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, timeout=10,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "lamina"], cwd=root,
                               timeout=10, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    return f"({head}{'+' if dirty.strip() else ''})"


def run_alone(letters: str, description: str, argv: list[str] | None = None) -> int:
    """``python bench/<module>.py [--quick] [--threads N] [--only LETTERS] [--device D]``:
    :func:`main` on one module's rows (``letters`` by default), printing the table and
    writing no JSON file."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--only", default=letters, help=f"rows to run (default: {letters})")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args(argv)
    return main(["--threads", str(args.threads), "--only", args.only, "--json", "",
                 "--device", args.device] + (["--quick"] if args.quick else []))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--only", default="".join(WORKLOADS),
                        help="the workload letters to run, e.g. 'abk' (default: all)")
    parser.add_argument("--json", default="bench/results.json",
                        help="where to write the results ('' to skip)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                        help="run every row on this device when available (default: cpu)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = use_device(args.device)
    status = keras_workloads.unavailable()
    started = time.perf_counter()
    rows = run(args.quick, args.only)
    info = {**machine(), "threads": args.threads, "quick": args.quick, "device": device,
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - started, 1)}
    text = table(rows, status)
    print(f"{info['cpu']}; {info['os']}; Python {info['python']}, torch {info['torch']}, "
          f"Keras {info['keras'] or '(' + str(status) + ')'}, lamina {info['lamina']}; "
          f"{args.threads} thread(s); device {device}"
          f"{' (CUDA requested, not available)' if args.device != device else ''}"
          f"{', --quick' if args.quick else ''}; {info['seconds']:.0f} s")
    print(text)
    missed = [r["workload"] for r in rows if r["met"] is False]
    keras_faster = [r["workload"] for r in rows if r.get("keras_over_lamina", 2.0) <= 1.0]
    print(f"\ntargets missed: {len(missed)} of {sum(r['met'] is not None for r in rows)}; "
          f"rows where Keras is faster than lamina: {len(keras_faster)}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({**info, "keras_status": status, "rows": rows}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
