"""``lamina inspect`` and ``lamina check`` for Keras files: what converting would do.

:func:`describe_keras_file` reads the file within the bounds of ``keras_read`` and shows its
layers and, for each ``Lambda``, the Python versions whose bytecode it matches and the
lamina source it becomes (or why it is refused). It builds no model and reads no weight;
nothing from the file runs. :func:`check_keras_file` converts the file in memory (weights
included) and says whether that succeeds.
"""

from __future__ import annotations

import os
from typing import Any

from lamina.errors import LaminaError
from lamina.saving.keras_config_read import KerasConfigReader
from lamina.saving.keras_file import read_keras_file
from lamina.saving.keras_read import read_keras


def _layers(entry: Any, depth: int = 0) -> list[tuple[int, str, str]]:
    """(depth, name, class) of every layer, nested models and wrapped layers included."""
    rows: list[tuple[int, str, str]] = []
    if not isinstance(entry, dict):
        return rows
    config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
    rows.append((depth, str(config.get("name", entry.get("name", "?"))),
                 str(entry.get("class_name", "?"))))
    for layer in config.get("layers", []) if isinstance(config.get("layers"), list) else []:
        rows.extend(_layers(layer, depth + 1))
    for key in ("layer", "forward_layer", "backward_layer"):
        if isinstance(config.get(key), dict):
            rows.extend(_layers(config[key], depth + 1))
    return rows


def describe_keras_file(path: str | os.PathLike) -> str:
    """What ``lamina convert`` would make of a Keras file, without building anything.

    Raises:
        LoadError: The file cannot be read at all (missing, not a Keras file, over a bound).
    """
    stored = read_keras_file(path)
    version = stored.keras_version or "not recorded"
    kind = "Keras 3 archive" if stored.format == "keras" else "HDF5 model file"
    lines = [f"{os.fspath(path)}: {kind}, written by Keras {version}", "", "Layers:"]
    for depth, name, class_name in _layers(stored.config)[:500]:
        lines.append(f"  {'  ' * depth}{name} ({class_name})")
    reader = KerasConfigReader()
    try:
        reader.layer(stored.config)
    except LaminaError as error:
        translated = [f.describe() for f in reader.functions]
        lines += ["", "Lambda functions:"] + [f"  {t}" for t in translated]
        lines.append(f"  refused: {error}")
        lines += ["", "Converts: no"]
        return "\n".join(lines)
    if reader.functions:
        lines += ["", "Lambda functions (bytecode read as data, never run):"]
        lines += [f"  {function.describe()}" for function in reader.functions]
    lines += ["", "Converts: the config translates; `lamina check` also reads the weights."]
    return "\n".join(lines)


def check_keras_file(path: str | os.PathLike) -> tuple[bool, str]:
    """Convert the file in memory: ``(True, summary)`` or ``(False, the reason)``."""
    try:
        converted = read_keras(path)
    except LaminaError as error:
        return False, str(error).replace("\n", " ")
    model = converted.model
    count = sum(int(w.numel()) for w in model.weights)
    versions = sorted({v for f in converted.functions for v in f.versions})
    detected = (f"; Lambda bytecode of Python {', '.join(versions)}" if versions else "")
    return True, (f"{os.fspath(path)}: converts in safe mode ({len(model.layers)} layers, "
                  f"{count} weights, {len(converted.functions)} Lambda functions"
                  f"{detected}).")
