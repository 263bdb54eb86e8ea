"""``lamina inspect`` and ``lamina check``: look at a saved file without running it.

``describe_file`` reads only JSON and the safetensors header: no layer is built, no saved
function is compiled. ``check_file`` goes one step further and loads the model in safe
mode, which validates every saved function and weight (and still runs nothing from the
file).
"""

from __future__ import annotations

import io
import json
import os
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lamina.errors import LaminaError
from lamina.saving import archive


def _weight_shapes(stored: archive.Archive) -> dict[str, list[int]]:
    """Tensor shapes from the safetensors header alone."""
    data = stored.read(archive.WEIGHTS, archive.MAX_WEIGHTS_BYTES)
    length = int.from_bytes(data[:8], "little") if len(data) >= 8 else 0
    try:
        header = json.loads(data[8:8 + length].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    transposed = set(json.loads(header.get("__metadata__", {}).get(archive.TRANSPOSED, "[]")))
    shapes = {}
    for key, entry in header.items():
        if key != "__metadata__" and isinstance(entry, dict):
            shape = list(entry.get("shape", []))
            shapes[key] = shape[::-1] if key in transposed else shape
    return shapes


def _layers(entry: dict[str, Any], prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    """(path, layer entry) for every layer in a model config, nested models flattened."""
    found = [(prefix + entry.get("name", "?"), entry)]
    for child in entry.get("config", {}).get("layers", []) or []:
        if isinstance(child, dict):
            found.extend(_layers(child, prefix + entry.get("name", "?") + "."))
    return found


def _captured_text(function: dict[str, Any]) -> list[str]:
    lines = []
    for name, value in (function.get("captured") or {}).items():
        kind = value.get("kind")
        if kind == "module":
            lines.append(f"{name} = module {value.get('module')}")
        elif kind == "literal":
            lines.append(f"{name} = {json.dumps(value.get('value'))}")
        elif kind in ("variable", "parameter", "tensor"):
            lines.append(f"{name} = {kind} {value.get('dtype')}{value.get('shape')} "
                         f"(weight '{value.get('key')}')")
        elif kind == "layer":
            layer = value.get("layer", {})
            lines.append(f"{name} = layer {layer.get('class_name')} '{layer.get('name')}'")
        else:
            lines.append(f"{name} = {kind}")
    return lines


def describe_file(path: str | os.PathLike, width: int = 110) -> str:
    """Summary, Lambda tiers and sources, captured values, and versions of a saved model."""
    with archive.Archive(path) as stored:
        config = stored.json(archive.CONFIG)
        metadata = stored.json(archive.METADATA) if stored.has(archive.METADATA) else {}
        shapes = _weight_shapes(stored)
        has_optimizer = stored.has(archive.OPTIMIZER)
    model = config.get("model", {})
    tiers = metadata.get("function_tiers", {})
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=False, color_system=None,
                      highlight=False)
    console.print(escape(f"File: {os.fspath(path)}"))
    console.print(escape(f"Model: \"{model.get('name')}\" ({model.get('class_name')})"))
    table = Table()
    for column in ("Layer (type)", "Param #", "Function (tier)"):
        table.add_column(column, overflow="fold")
    for layer_path, entry in _layers(model)[1:] or _layers(model):
        params = sum(_count(shape) for key, shape in shapes.items()
                     if key.startswith(layer_path.split(".", 1)[-1] + "."))
        function = entry.get("config", {}).get("function")
        text = ""
        if isinstance(function, dict):
            tier = tiers.get(entry.get("name"), function.get("kind"))
            body = function.get("source") or function.get("name") or function.get("op") or ""
            if function.get("kind") == "graph":
                targets = [n.get("target") for n in function.get("nodes", [])
                           if n.get("op") in ("call_function", "call_method")]
                body = f"{len(targets)} ops: {', '.join(map(str, targets))}"
            text = f"[{tier}] {body}".rstrip()
            captured = _captured_text(function)
            if captured:
                text += "\ncaptures: " + "; ".join(captured)
        table.add_row(escape(f"{entry.get('name')} ({entry.get('class_name')})"),
                      f"{params:,}", escape(text))
    console.print(table)
    total = sum(_count(shape) for shape in shapes.values())
    console.print(f" Total params: {total:,}")
    console.print(f" Optimizer state saved: {'yes' if has_optimizer else 'no'}")
    console.print(escape(
        f" Written by lamina {metadata.get('lamina_version', '?')}, torch "
        f"{metadata.get('torch_version', '?')}, Python {metadata.get('python_version', '?')} "
        f"on {metadata.get('saved_at', '?')}"
    ))
    return buffer.getvalue().rstrip("\n")


def _count(shape: list[int]) -> int:
    count = 1
    for dim in shape:
        count *= int(dim)
    return count


def check_file(path: str | os.PathLike) -> tuple[bool, str]:
    """Whether the file loads in safe mode, and why not when it does not."""
    from lamina.saving.api import load_model

    try:
        model = load_model(path, safe_mode=True, compile=False)
    except LaminaError as error:
        return False, f"{type(error).__name__}: {error}"
    return True, f"'{os.fspath(path)}' loads in safe mode: {type(model).__name__} " \
                 f"'{model.name}' with {model.count_params():,} parameters."
