"""Unique, Keras-style layer names."""

from __future__ import annotations

import re
from collections import defaultdict

_name_counts: defaultdict[str, int] = defaultdict(int)


def unique_name(base: str) -> str:
    """``base`` the first time, then ``base_1``, ``base_2``... (unique per process, like Keras)."""
    count = _name_counts[base]
    _name_counts[base] += 1
    return base if count == 0 else f"{base}_{count}"


def snake_case(class_name: str) -> str:
    """``GlobalAveragePooling1D`` -> ``global_average_pooling1d``."""
    step = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", step).lower()


def reset_names() -> None:
    """Start the name counters over (``clear_session``): the next ``dense`` is ``dense``."""
    _name_counts.clear()


def next_uid(prefix: str = "") -> int:
    """Keras's ``get_uid``: 1, 2, 3... per prefix (shared with layer names' counters)."""
    _name_counts[prefix] += 1
    return _name_counts[prefix]
