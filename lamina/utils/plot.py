"""Training curves: ``plot_history(history, path)`` writes a PNG of loss and metrics.

Needs matplotlib (``pip install 'lamina[plot]'``). The figure is drawn with the Agg
renderer on a standalone ``Figure``, so no window opens and matplotlib's global backend
(pyplot's state) is left alone.
"""

from __future__ import annotations

import os
from typing import Any

from lamina.errors import ArgumentError, MissingDependencyError


def _series(history: Any) -> dict[str, list[float]]:
    values = getattr(history, "history", history)
    if not isinstance(values, dict) or not values:
        raise ArgumentError(
            "plot_history expects the History that fit() returns (or its .history dict of "
            f"lists), received {type(history).__name__} with no epochs."
        )
    return values


def plot_history(history: Any, path: str | os.PathLike, title: str | None = None) -> str:
    """Write one panel per quantity (loss first), training and ``val_`` curves per epoch.

    Args:
        history: What ``fit`` returned, or its ``.history`` dict.
        path: The PNG to write (folders are created).
        title: A title over the panels. Default: none.

    Returns:
        The path written.

    Example:
        >>> import tempfile, os
        >>> folder = tempfile.mkdtemp()
        >>> written = plot_history({"loss": [1.0, 0.5], "val_loss": [1.2, 0.7],
        ...                         "accuracy": [0.6, 0.8]}, os.path.join(folder, "h.png"))
        >>> with open(written, "rb") as handle:
        ...     handle.read(4) == b"\\x89PNG"
        True
    """
    values = _series(history)
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise MissingDependencyError(
            "plot_history needs matplotlib, which is not installed. Install it with "
            "pip install 'lamina[plot]' (or pip install matplotlib)."
        ) from error
    names = [k for k in values if not k.startswith("val_")]
    names += [k[4:] for k in values if k.startswith("val_") and k[4:] not in values]
    names.sort(key=lambda name: (name != "loss", name == "learning_rate"))
    figure = Figure(figsize=(4.2 * len(names), 3.4), layout="constrained")
    axes = figure.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names):
        for key, style in ((name, "-o"), (f"val_{name}", "--s")):
            if key in values:
                epochs = range(1, len(values[key]) + 1)
                ax.plot(epochs, values[key], style, markersize=3, label=key)
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        figure.suptitle(title)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    figure.savefig(path, dpi=100, format="png")
    return path
