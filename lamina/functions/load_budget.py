"""The budget of loading one file: what a file can make lamina spend before it is a model.

Checked before anything is built where it can be: config nesting of at most
:data:`MAX_CONFIG_DEPTH` (counted on the bytes, before parsing, so the same file gets the
same error whatever the interpreter's stack), at most :data:`MAX_LAYERS` layers and layer
calls (and no more than the config's size makes plausible). While building, inside
:func:`loading_file`: :data:`LOAD_UNITS` units of work for rebuilding layers, compiling
functions and inferring shapes on fake tensors (:class:`LoadBudget`), and loop iterations
of the file's functions (``bounds.Budget`` reads :func:`current_load`). While a file loads,
shapes are never inferred on real tensors (``layers/inference.py``).
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from lamina.errors import LimitExceededError

#: Loop iterations one call of a loaded function may run while its file loads (shape
#: inference on fake tensors), and all of the file's functions together.
LOAD_ITERATIONS = 10_000
LOAD_ITERATIONS_PER_FILE = 200_000
#: Most layers (at any depth) one file may describe.
MAX_LAYERS = 10_000
#: Fewest bytes of config.json per layer: a file may not describe more layers than this
#: allows (a real layer entry takes at least this much).
MIN_BYTES_PER_LAYER = 40
#: The work one load may do, in units of about 50 microseconds (see :class:`LoadBudget`):
#: about a second and a half on a 2-core machine, whatever the file holds.
LOAD_UNITS = 25_000
#: Units charged for each layer entry, for each shape inference (making fake tensors),
#: and for each tensor operation inference runs; a compiled function costs
#: ``FUNCTION_UNITS`` plus one unit per ``SOURCE_CHARS_PER_UNIT`` characters of source.
LAYER_UNITS = 3
INFERENCE_UNITS = 6
OPERATION_UNITS = 2
FUNCTION_UNITS = 6
SOURCE_CHARS_PER_UNIT = 3
#: Deepest nesting of config.json (a model nested in a model adds about six levels).
MAX_CONFIG_DEPTH = 100


class LoadBudget:
    """What loading one file may spend, in units of about 50 microseconds of work here
    (:data:`LOAD_UNITS` in all): each layer entry rebuilt, each function compiled (by the
    length of its source), each shape inference and each tensor operation it runs."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.left = LOAD_UNITS
        self.iterations_left = LOAD_ITERATIONS_PER_FILE

    def charge_iterations(self, units: int) -> None:
        self.iterations_left -= units
        if self.iterations_left < 0:
            raise LimitExceededError(
                f"{self.where}: while it loads, its functions run more than "
                f"{LOAD_ITERATIONS_PER_FILE} iterations in all, over the load budget (see "
                "lamina/functions/README.md)."
            )

    def charge(self, units: int, what: Any) -> None:
        """Spend ``units`` on ``what`` (anything; only described when the budget is out)."""
        self.left -= units
        if self.left < 0:
            if not isinstance(what, str):
                what = f"the operation {getattr(what, '__name__', what)}"
            raise LimitExceededError(
                f"{self.where}: loading it needs more work than the load budget allows "
                f"({LOAD_UNITS} units; it ran out at {what}). A real model needs far less; "
                "the file is malformed or hostile (see lamina/functions/README.md)."
            )


_LOADING: contextvars.ContextVar[LoadBudget | None] = contextvars.ContextVar(
    "lamina_loading_file", default=None)


@contextlib.contextmanager
def loading_file(where: str) -> Iterator[LoadBudget]:
    """While a file loads: its budget is in force, and shapes come from fake tensors only."""
    token = _LOADING.set(LoadBudget(where))
    try:
        yield _LOADING.get()  # type: ignore[misc]
    finally:
        _LOADING.reset(token)


def current_load() -> LoadBudget | None:
    """The budget of the file being loaded in this context, or ``None``."""
    return _LOADING.get()


# A string once its escapes are gone. (A pattern repeating a group per character, as
# ``"(?:[^"\\]|\\.)*"``, made the regex engine keep state for each: about 100 bytes per
# character of a string, gigabytes for a 30 MB string.)
_JSON_STRING = re.compile(rb'"[^"]*"')
_BRACKET_STEPS = np.zeros(256, dtype=np.int8)
_BRACKET_STEPS[list(b"[{")] = 1
_BRACKET_STEPS[list(b"]}")] = -1
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))


def json_depth(data: bytes) -> int:
    """How deeply the arrays and objects of a JSON text nest, found without parsing it
    (so the answer never depends on how deep the interpreter's stack already is).

    Example:
        >>> json_depth(b'{"a": [1, {"b": "[[["}]}')
        3
    """
    # Only the brackets are kept (bytes.translate): a steps array over every byte took
    # nine bytes of memory per byte of the text (64 MiB of spaces: over half a gigabyte).
    # Escapes go first: pairs of backslashes left to right, then escaped quotes (what
    # remains of a backslash run escapes the next character, exactly as JSON reads it).
    text = _JSON_STRING.sub(b"", data.replace(b"\\\\", b"").replace(b'\\"', b""))
    brackets = np.frombuffer(text.translate(None, _NOT_BRACKETS), dtype=np.uint8)
    if brackets.size == 0:
        return 0
    return int(np.cumsum(_BRACKET_STEPS[brackets], dtype=np.int64).max(initial=0))


def check_json_depth(data: bytes, where: str) -> None:
    """Refuse JSON nesting deeper than :data:`MAX_CONFIG_DEPTH` before it is parsed."""
    depth = json_depth(data)
    if depth > MAX_CONFIG_DEPTH:
        raise LimitExceededError(
            f"{where} nests {depth} levels deep; the config nests too deeply (a file may nest "
            f"at most {MAX_CONFIG_DEPTH})."
        )


#: Modules of serialized objects that are not layers (an initializer's config is a
#: ``{"module", "class_name", "config"}`` dict too). A file that labels a layer so only
#: escapes this early count: every layer it builds is still charged to the load budget.
_NOT_LAYERS = (".initializers", ".regularizers", ".constraints", ".activations")


def count_layers(config: Any) -> tuple[int, int]:
    """(layer entries, layer calls) in a config tree, at any depth, without recursion."""
    layers = calls = 0
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            module = node.get("module")
            if "class_name" in node and "config" in node and not (
                    isinstance(module, str) and module.endswith(_NOT_LAYERS)):
                layers += 1
                inbound = node.get("inbound_nodes")
                calls += len(inbound) if isinstance(inbound, list) else 0
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return layers, calls


def check_layer_count(config: Any, config_bytes: int, where: str) -> None:
    """Refuse a file describing more layers (or layer calls) than :data:`MAX_LAYERS`, or
    more than its config's size makes plausible (:data:`MIN_BYTES_PER_LAYER` each)."""
    plausible = min(MAX_LAYERS, config_bytes // MIN_BYTES_PER_LAYER)
    for count, what in zip(count_layers(config), ("layers", "layer calls")):
        if count > plausible:
            raise LimitExceededError(
                f"{where} describes {count} {what}; a file may describe at most "
                f"{MAX_LAYERS}, and one whose config.json has {config_bytes} bytes at most "
                f"{plausible}."
            )
