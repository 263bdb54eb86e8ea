"""Small helpers shared across lamina (nested structures, naming, conversion, plots).

``plot_history`` is loaded on first use, so importing lamina never imports matplotlib.
"""

from __future__ import annotations

from typing import Any

__all__ = ["plot_history"]


def __getattr__(name: str) -> Any:
    if name == "plot_history":
        from lamina.utils.plot import plot_history

        return plot_history
    raise AttributeError(f"module 'lamina.utils' has no attribute {name!r}")
