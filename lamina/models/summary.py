"""``Model.summary()``: a Keras-like table drawn with ``rich``, from the model's
``summary_rows()`` (a "Connected to" column when any row has sources)."""

from __future__ import annotations

import io
import shutil
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def _fmt_shape(shape: Any) -> str:
    if shape is None:
        return "?"
    if isinstance(shape, tuple) and all(d is None or isinstance(d, int) for d in shape):
        inner = ", ".join("None" if d is None else str(d) for d in shape)
        return f"({inner},)" if len(shape) == 1 else f"({inner})"
    if isinstance(shape, dict):
        return "{" + ", ".join(f"{k}: {_fmt_shape(v)}" for k, v in shape.items()) + "}"
    return "[" + ", ".join(_fmt_shape(s) for s in shape) + "]"


def _fmt_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} GB"


def render_summary(model: Any, width: int | None = None) -> str:
    """The summary of ``model`` as text (what ``Model.summary`` prints)."""
    width = width or min(shutil.get_terminal_size((100, 20)).columns, 120)
    rows = [(layer, _fmt_shape(shape), sources) for layer, shape, sources in model.summary_rows()]
    connected = any(sources for _, _, sources in rows)
    table = Table(show_lines=False, expand=False, title_justify="left")
    table.add_column("Layer (type)", overflow="fold")
    table.add_column("Output Shape", overflow="fold")
    table.add_column("Param #", justify="right")
    if connected:
        table.add_column("Connected to", overflow="fold")
    shown: set[int] = set()
    for layer, shape, sources in rows:
        label = f"{layer.name} ({type(layer).__name__})"
        source = getattr(layer, "source", None)
        if isinstance(source, str):
            label += f"\n  {source}"
        params = f"{layer.count_params():,}" if id(layer) not in shown else "(shared)"
        shown.add(id(layer))
        cells = [label, shape, params]
        if connected:
            cells.append(", ".join(sources) if sources else "-")
        table.add_row(*(escape(cell) for cell in cells))
    trainable = sum(w.numel() for w in model.trainable_weights)
    frozen = sum(w.numel() for w in model.non_trainable_weights)
    trainable_bytes = sum(w.numel() * w.element_size() for w in model.trainable_weights)
    frozen_bytes = sum(w.numel() * w.element_size() for w in model.non_trainable_weights)
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=False, color_system=None,
                      highlight=False)
    console.print(escape(f'Model: "{model.name}"'))
    console.print(table)
    console.print(f" Total params: {trainable + frozen:,} "
                  f"({_fmt_bytes(trainable_bytes + frozen_bytes)})")
    console.print(f" Trainable params: {trainable:,} ({_fmt_bytes(trainable_bytes)})")
    console.print(f" Non-trainable params: {frozen:,} ({_fmt_bytes(frozen_bytes)})")
    return buffer.getvalue().rstrip("\n")
