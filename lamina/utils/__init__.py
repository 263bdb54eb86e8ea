"""Small helpers shared across lamina (nested structures, naming, conversion, plots).

``plot_history`` imports matplotlib only when called, so importing lamina never does.
"""

from lamina.utils.plot import plot_history

__all__ = ["plot_history"]
