"""Objects that are their config: equal, hashed and shown by ``get_config()``.

Shared by initializers and regularizers (Keras compares them by their configuration:
``RandomNormal(stddev=0.1) == RandomNormal(stddev=0.1)``).
"""

from __future__ import annotations

from typing import Any


class ConfigEquality:
    """Equality, hash and repr from ``get_config()`` (which subclasses define)."""

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} must define get_config().")

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self.get_config().items()))))

    def __repr__(self) -> str:
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({arguments})"
