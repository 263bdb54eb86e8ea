"""``Model.summary()``: a Keras-like table drawn with ``rich``, from the model's
``summary_rows()`` (a "Connected to" column when any row has sources)."""

from __future__ import annotations

import fnmatch
import io
import shutil
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lamina.errors import ArgumentError


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


def _rows(model: Any, expand_nested: bool, depth: int = 0) -> list[tuple[Any, str, list, int]]:
    """(layer, shape text, sources, nesting depth) per row, nested models' layers after
    their model when ``expand_nested``."""
    rows = []
    for layer, shape, sources in model.summary_rows():
        rows.append((layer, _fmt_shape(shape), sources, depth))
        if expand_nested and hasattr(layer, "summary_rows") and layer is not model:
            rows.extend(_rows(layer, expand_nested, depth + 1))
    return rows


def _in_range(rows: list, layer_range: Any) -> list:
    """The rows from the first layer named ``layer_range[0]`` to the last named
    ``layer_range[1]`` (Keras's ``layer_range``; names may be fnmatch patterns)."""
    if layer_range is None:
        return rows
    if not isinstance(layer_range, (list, tuple)) or len(layer_range) != 2:
        raise ArgumentError(f"summary: layer_range must be two layer names (first, last), "
                            f"received {layer_range!r}.")
    names = [layer.name for layer, *_ in rows]
    starts = [i for i, n in enumerate(names) if fnmatch.fnmatch(n, layer_range[0])]
    ends = [i for i, n in enumerate(names) if fnmatch.fnmatch(n, layer_range[1])]
    if not starts or not ends or ends[-1] < starts[0]:
        raise ArgumentError(f"summary: layer_range {list(layer_range)} does not name a first "
                            f"and a last layer among {names}.")
    return rows[starts[0]:ends[-1] + 1]


def render_summary(model: Any, width: int | None = None, expand_nested: bool = False,
                   show_trainable: bool = False, layer_range: Any = None) -> str:
    """The summary of ``model`` as text (what ``Model.summary`` prints)."""
    width = width or min(shutil.get_terminal_size((100, 20)).columns, 120)
    rows = _in_range(_rows(model, expand_nested), layer_range)
    connected = any(sources for _, _, sources, _ in rows)
    table = Table(show_lines=False, expand=False, title_justify="left")
    table.add_column("Layer (type)", overflow="fold")
    table.add_column("Output Shape", overflow="fold")
    table.add_column("Param #", justify="right")
    if connected:
        table.add_column("Connected to", overflow="fold")
    if show_trainable:
        table.add_column("Trainable")
    shown: set[int] = set()
    for layer, shape, sources, depth in rows:
        label = " " * (2 * depth) + f"{layer.name} ({type(layer).__name__})"
        source = getattr(layer, "source", None)
        if isinstance(source, str):
            label += f"\n  {source}"
        params = f"{layer.count_params():,}" if id(layer) not in shown else "(shared)"
        shown.add(id(layer))
        cells = [label, shape, params]
        if connected:
            cells.append(", ".join(sources) if sources else "-")
        if show_trainable:
            cells.append("Y" if layer.trainable else "N")
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
