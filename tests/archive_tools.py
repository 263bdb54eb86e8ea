"""Reading and rewriting the members of saved ``.lamina`` files, for tests."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import torch


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as stored:
        return {info.filename: stored.read(info.filename) for info in stored.infolist()}


def rezip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as stored:
        for name, data in members.items():
            stored.writestr(name, data)


def config_entry(node: Any, name: str) -> dict[str, Any]:
    """The config entry of the layer called ``name``, anywhere in a config tree."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("name") == name and "class_name" in item:
                return item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    raise AssertionError(f"no layer '{name}' in the config")


def save_trained(model: Any, path: Path, features: int, outputs: int) -> None:
    """Compile ``model`` with Adam, take one step (so there is optimizer state), save it."""
    model.compile("adam", "mse")
    model.train_on_batch(torch.randn(4, features), torch.randn(4, outputs))
    model.save(path)
