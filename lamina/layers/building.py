"""How a layer is built, Keras 3's way: once, whether ``build`` is called directly or by the
first call, and from a saved build config.

:func:`marks_built` wraps every ``Layer`` subclass's ``build`` (``Layer.__init_subclass__``);
:func:`shapes_to_json` and :func:`shapes_from_json` (with :func:`symbolic_inputs`) are
the two directions of ``get_build_config`` / ``build_from_config``.
"""

from __future__ import annotations

import functools
from typing import Any

from torch._subclasses.fake_tensor import unset_fake_temporarily

from lamina.errors import ArgumentError
from lamina.symbolic import SymbolicTensor
from lamina.utils.shapes import batchless, is_shape, standardize_dtype


def marks_built(build: Any) -> Any:
    """``build`` as Keras 3 runs it: called directly (``layer.build(shape)``) or on the
    first call, it builds once, then the layer is ``built`` and no later call builds again
    (so ``set_weights`` after ``build`` is what the next call uses). A failed build leaves
    no weights behind. A ``super().build(...)`` inside a build runs as written."""
    if getattr(build, "__lamina_marks_built__", False):
        return build

    @functools.wraps(build)
    def marked(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.__dict__.get("_lamina_building") or self.__dict__.get("built"):
            return build(self, *args, **kwargs) if self.__dict__.get("_lamina_building") \
                else None
        known = set(self._parameters), set(self._buffers), set(self._modules)
        self.__dict__["_lamina_building"] = True
        try:
            # A layer first called during shape inference (a Dense used inside a Lambda,
            # say) must still get real weights, not fake ones.
            with unset_fake_temporarily():
                result = build(self, *args, **kwargs)
        except Exception:
            for store, before in zip((self._parameters, self._buffers, self._modules), known):
                for key in set(store) - before:
                    del store[key]
            raise
        finally:
            del self.__dict__["_lamina_building"]
        shape = args[0] if args else next(iter(kwargs.values()), None)
        self._build_shapes = batchless(shape) if shape is not None else None
        self.built = True
        return result

    marked.__lamina_marks_built__ = True  # type: ignore[attr-defined]
    return marked


def shapes_to_json(shapes: Any) -> Any:
    """Build shapes as JSON: ``{"shape": [...]}`` leaves in lists and ``{"dict": ...}``."""
    if is_shape(shapes):
        return {"shape": list(shapes)}
    if isinstance(shapes, dict):
        return {"dict": {k: shapes_to_json(v) for k, v in shapes.items()}}
    return [shapes_to_json(s) for s in shapes]


def shapes_from_json(node: Any, where: str) -> Any:
    """The build shapes (batch axis free) :func:`shapes_to_json` wrote, or Keras 3's plain
    ones (``[None, 3]``), checked."""
    if is_shape(node):
        node = {"shape": list(node)}
    if isinstance(node, dict) and isinstance(node.get("shape"), list):
        shape = node["shape"]
        if not all(d is None or (type(d) is int and d >= 0) for d in shape):
            raise ArgumentError(f"{where}: unrecognised build shape {node!r}.")
        return (None, *shape[1:])
    if isinstance(node, dict) and isinstance(node.get("dict"), dict):
        return {key: shapes_from_json(value, where) for key, value in node["dict"].items()}
    if isinstance(node, list):
        return [shapes_from_json(value, where) for value in node]
    raise ArgumentError(f"{where}: unrecognised build shape {node!r}.")


def symbolic_inputs(config: dict[str, Any], where: str) -> Any:
    """Symbolic inputs (batch axis free) of a build config's shapes and dtypes: lamina's
    JSON shapes or Keras 3's plain ones (``{"input_shape": [None, 3]}``)."""
    dtypes = iter(list(config.get("input_dtype") or []))

    def make(shape: Any) -> Any:
        if is_shape(shape):
            return SymbolicTensor(shape, standardize_dtype(next(dtypes, "float32")))
        if isinstance(shape, dict):
            return {key: make(value) for key, value in shape.items()}
        return [make(value) for value in shape]

    return make(shapes_from_json(config["input_shape"], where))
