"""A Keras ``Lambda``'s function, as its file stores it, made into a lamina function entry.

Keras 3 and tf-keras store a Python lambda as base64 of its marshalled bytecode; named
functions by a bare name (Keras 3: ``{"class_name": "function", "config": "relu"}``) or a
name and a module (tf-keras: ``function_type: "function"``). Nothing here runs or imports
anything the file names:

- bytecode is read as data and translated into source (:func:`translate_lambda`), then the
  names it calls are mapped to lamina's (:func:`map_keras_names`); the result is an ordinary
  ``source`` entry, validated and compiled like one read from a ``.lamina`` file;
- a named function is a lamina op when the name is one (``relu``), or a key of
  ``custom_objects``; the module the file names is only shown in the error otherwise.

Each translation is reported (:class:`TranslatedFunction`) so ``lamina convert`` can show
which Python wrote the bytecode and what it became.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from lamina.errors import LoadError, UnknownFunctionError
from lamina.functions.allowlist import OPS
from lamina.functions.bytecode_translate import translate_lambda
from lamina.functions.keras_lambda_names import map_keras_names
from lamina.functions.safe import validate

#: The config keys of a tf-keras Lambda that say how its functions were stored.
TF_KERAS_KEYS = ("function_type", "module", "output_shape_type", "output_shape_module")


@dataclasses.dataclass(frozen=True)
class TranslatedFunction:
    """What became of one function of a Keras Lambda.

    Attributes:
        layer: The layer's name.
        role: ``function``, ``output_shape`` or ``mask``.
        kind: ``bytecode`` (translated), ``source`` (the checked source lamina writes
            beside the bytecode), ``op`` (a lamina op by name) or ``custom`` (resolved
            from ``custom_objects``).
        source: The lamina source (bytecode), or the name it resolves to.
        versions: The Python versions whose bytecode gives this source (bytecode only).
    """

    layer: str
    role: str
    kind: str
    source: str
    versions: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for people: ``dense_lambda function: Python 3.8-3.10 -> lambda x: ...``."""
        if self.kind == "bytecode":
            first, last = self.versions[0], self.versions[-1]
            written = f"Python {first}" if first == last else f"Python {first}-{last}"
            return f"{self.layer} {self.role}: bytecode of {written} -> {self.source}"
        if self.kind == "source":
            return f"{self.layer} {self.role}: source written by lamina -> {self.source}"
        label = "lamina op" if self.kind == "op" else "custom_objects"
        return f"{self.layer} {self.role}: {label} {self.source}"


def function_entry(value: Any, layer: str, role: str, custom_objects: dict[str, Any] | None,
                   python_version: str | None, stored_as: str | None = None,
                   module: str | None = None) -> tuple[dict[str, Any], TranslatedFunction]:
    """The lamina function entry for one stored Keras function.

    Args:
        value: The stored function: Keras 3's ``__lambda__`` or ``function`` dict, or
            tf-keras's ``[code, defaults, closure]`` list or function name.
        layer: The layer's name, for messages and the report.
        role: ``function``, ``output_shape`` or ``mask``.
        custom_objects: The user's functions by name.
        python_version: The Python version that wrote the bytecode, if known (``"3.8"``).
        stored_as: tf-keras's ``function_type`` (``"lambda"`` or ``"function"``).
        module: tf-keras's ``module`` (only shown in messages, never imported).
    """
    where = f"Lambda '{layer}' {role}"
    if isinstance(value, dict) and value.get("class_name") == "__lambda__":
        stored = value.get("config")
        if not isinstance(stored, dict):
            raise LoadError(f"{where}: the stored lambda has no config.")
        if isinstance(stored.get("lamina_source"), str):
            return _source(stored["lamina_source"], layer, role, custom_objects)
        return _bytecode(stored.get("code"), stored.get("defaults"), stored.get("closure"),
                         layer, role, custom_objects, python_version)
    if isinstance(value, dict) and value.get("class_name") == "function":
        return _named(value.get("config"), value.get("module"), layer, role, custom_objects)
    if stored_as == "lambda":
        if isinstance(value, (list, tuple)) and len(value) == 3:
            return _bytecode(value[0], value[1], value[2], layer, role, custom_objects,
                             python_version)
        return _bytecode(value, None, None, layer, role, custom_objects, python_version)
    if stored_as == "function" or isinstance(value, str):
        return _named(value, module, layer, role, custom_objects)
    raise LoadError(f"{where}: a stored function must be a Keras lambda or function entry; "
                    f"received {type(value).__name__}.")


def _bytecode(code: Any, defaults: Any, closure: Any, layer: str, role: str,
              custom_objects: dict[str, Any] | None, python_version: str | None
              ) -> tuple[dict[str, Any], TranslatedFunction]:
    where = f"Lambda '{layer}' {role}"
    if not isinstance(code, str):
        raise LoadError(f"{where}: the stored lambda's code must be base64 text; received "
                        f"{type(code).__name__}.")
    translated = translate_lambda(code, defaults, closure, python_version=python_version,
                                  where=where)
    mapped = map_keras_names(translated.source, custom_objects, where)
    kinds = {name: ("module" if entry["kind"] == "module" else "function")
             for name, entry in mapped.captured.items()}
    validate(mapped.source, kinds, where)
    entry = {"kind": "source", "source": mapped.source, "captured": mapped.captured}
    return entry, TranslatedFunction(layer, role, "bytecode", mapped.source,
                                     tuple(translated.versions))


def _source(source: str, layer: str, role: str, custom_objects: dict[str, Any] | None
            ) -> tuple[dict[str, Any], TranslatedFunction]:
    """A ``.keras`` file lamina wrote keeps each lambda's checked source beside the
    bytecode (which binds Keras's modules and so cannot be translated back): read that,
    through the same name table and validator."""
    where = f"Lambda '{layer}' {role}"
    mapped = map_keras_names(source, custom_objects, where)
    kinds = {name: ("module" if entry["kind"] == "module" else "function")
             for name, entry in mapped.captured.items()}
    validate(mapped.source, kinds, where)
    entry = {"kind": "source", "source": mapped.source, "captured": mapped.captured}
    return entry, TranslatedFunction(layer, role, "source", mapped.source)


def _named(name: Any, module: Any, layer: str, role: str,
           custom_objects: dict[str, Any] | None) -> tuple[dict[str, Any], TranslatedFunction]:
    where = f"Lambda '{layer}' {role}"
    if not isinstance(name, str) or not name:
        raise LoadError(f"{where}: a stored function name must be a string.")
    if custom_objects and name in custom_objects:
        return ({"kind": "registered", "name": name},
                TranslatedFunction(layer, role, "custom", name))
    if name in OPS:
        return ({"kind": "registered", "name": f"ops>{name}"},
                TranslatedFunction(layer, role, "op", f"ops.{name}"))
    origin = f" (from module '{module}')" if isinstance(module, str) and module else ""
    raise UnknownFunctionError(
        f"{where}: the file names the function '{name}'{origin}, which is not a lamina op; "
        f"lamina never imports a module a file names. Pass it: "
        f"lamina.from_keras(path, custom_objects={{'{name}': fn}}).")
