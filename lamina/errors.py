"""lamina's exception hierarchy.

Every public error subclasses :class:`LaminaError` *and* the builtin a Python user would
catch for the same mistake, so ``except ValueError`` keeps working for Keras users.
A message says which layer, what was expected, what was received and what to do.
"""

from __future__ import annotations


class LaminaError(Exception):
    """Base class of every error lamina raises on purpose."""


class ShapeError(LaminaError, ValueError):
    """A tensor's shape or dtype does not fit the layer or model it was given to."""


class ArgumentError(LaminaError, ValueError):
    """A constructor or function argument has a value lamina cannot use."""


class ArgumentTypeError(LaminaError, TypeError):
    """An argument has a type lamina cannot use (a function where a layer belongs, say)."""


class UnknownArgumentError(ArgumentError, TypeError):
    """A keyword argument nothing takes: Keras raises ``ValueError`` for a layer's, Python
    ``TypeError`` for a function's; this is both, so either ``except`` catches it."""


class InferenceError(LaminaError, ValueError):
    """A layer's output shape could not be inferred from its inputs."""


class SerializationError(LaminaError, ValueError):
    """An object cannot be turned into a config, or a config back into an object."""


class LoadError(LaminaError, OSError):
    """A saved file is missing, damaged, unsafe or from an incompatible format version."""


class SaveError(LaminaError, OSError):
    """A file cannot be written where the user asked (a missing or read-only directory, a
    directory in the way, a full disk); the message names that path and what to do."""

    def __str__(self) -> str:  # OSError would otherwise format errno and filename
        return str(self.args[0]) if self.args else ""


class CorruptArchiveError(LoadError, ValueError):
    """A saved file is not a well-formed lamina archive (zip, JSON or weights)."""


class LimitExceededError(LoadError):
    """A file, or a function compiled from one, exceeds a documented bound of time or memory
    (``lamina/functions/bounds.py``, ``load_budget.py``); the message names the layer and
    the bound."""


class UnsafeFunctionError(SerializationError, LoadError):
    """A saved function uses a construct outside the safe-load allowlist."""


class UnknownFunctionError(SerializationError, LoadError, KeyError):
    """A saved function or class name is in no registry and not in ``custom_objects``."""

    def __str__(self) -> str:  # KeyError would otherwise quote the whole message
        return str(self.args[0]) if self.args else ""


class DataError(LaminaError, ValueError):
    """Training or evaluation data cannot be used: lengths differ, NaNs, labels out of range."""


class NotCompiledError(LaminaError, RuntimeError):
    """``fit``, ``evaluate`` or a ``*_on_batch`` method was called before ``compile``."""


class MissingDependencyError(LaminaError, ImportError):
    """An optional package (an extra such as ``lamina[plot]``) is needed but not installed."""


class DistributedError(LaminaError, RuntimeError):
    """A rank of :func:`lamina.distributed.launch` failed or timed out; the message holds
    its traceback."""


class ExportError(LaminaError, RuntimeError):
    """A model could not be exported; the message names the layer when one is to blame."""
