"""How a layer is built, Keras 3's way: once, whether ``build`` is called directly or by the
first call, and from a saved build config.

:func:`marks_built` wraps every ``Layer`` subclass's ``build`` (``Layer.__init_subclass__``);
:func:`shapes_to_json` and :func:`shapes_from_json` (with :func:`symbolic_inputs`) are
the two directions of ``get_build_config`` / ``build_from_config``; :class:`BuildingMixin`
gives ``Layer`` the build lifecycle on top of them (``ensure_built``, building for the
first inputs, and the build config both ways).
"""

from __future__ import annotations

import functools
from typing import Any

import torch
from torch._subclasses.fake_tensor import unset_fake_temporarily

from lamina.errors import ArgumentError, ShapeError
from lamina.symbolic import SymbolicTensor
from lamina.utils import tree
from lamina.utils.shapes import (
    batchless,
    dtype_name,
    flatten_shapes,
    is_shape,
    shape_of,
    standardize_dtype,
)


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


class BuildingMixin:
    """Keras 3's build lifecycle, mixed into :class:`~lamina.layers.layer.Layer`, which
    provides ``build`` (wrapped by :func:`marks_built`), ``built``, ``name``, ``declares``
    and ``nn.Module``'s ``to`` and ``children``."""

    def _build_for_inputs(self, inputs: Any) -> None:
        if not self.built:
            self._build_dtypes = [t.dtype for t in tree.flatten(inputs)
                                  if isinstance(t, torch.Tensor)]
        self.ensure_built(shape_of(inputs))
        leaves = [t for t in tree.flatten(inputs) if isinstance(t, torch.Tensor)]
        if leaves and leaves[0].device.type != "cpu":
            self.to(leaves[0].device)

    def ensure_built(self, input_shape: Any, dtypes: list[torch.dtype] | None = None) -> None:
        """Build for ``input_shape`` (inputs of ``dtypes``) unless built; a failed build
        leaves no weights behind."""
        if not self.built:
            if dtypes is not None:
                self._build_dtypes = list(dtypes)
            self.build(input_shape)
        elif "_lamina_config_shapes" in self.__dict__:
            self._check_config_shapes(input_shape)

    def _check_config_shapes(self, input_shape: Any) -> None:
        """A layer built from a build config is first called with the shapes it records
        (batch axis aside): a config whose build shapes and graph disagree is refused
        before it runs, instead of weights of one shape meeting inputs of another."""
        built_for = self.__dict__.pop("_lamina_config_shapes")
        expected, received = flatten_shapes(built_for), flatten_shapes(input_shape)
        if len(expected) != len(received) or any(
            e is not None and (g is None or len(e) != len(g)
                               or any(d is not None and d != h for d, h in zip(e[1:], g[1:])))
            for e, g in zip(expected, received)
        ):
            raise ShapeError(
                f"Layer '{self.name}' ({type(self).__name__}) was built from its build config "
                f"for input shape {built_for}, but is called with {input_shape}: the config "
                "is inconsistent. Save the model again from its original code.")

    def get_build_config(self) -> dict[str, Any] | None:
        """Keras 3's: what :meth:`build_from_config` needs to create this layer's weights
        (the input shapes, batch axis free, and dtypes it was built for), as JSON; ``None``
        when it is not built. Saving stores it for a top-level subclassed layer or model."""
        if not self.built or self._build_shapes is None:
            return None
        return {"input_shape": shapes_to_json(self._build_shapes),
                "input_dtype": [dtype_name(d) for d in self._build_dtypes]}

    def build_from_config(self, config: dict[str, Any] | None) -> None:
        """Create the weights :meth:`get_build_config` describes (Keras 3's): a layer with
        its own ``build`` builds for those shapes; a layer without one that holds layers (a
        subclassed model) is called on symbolic inputs of those shapes (fake tensors:
        nothing is computed on data); any other layer has nothing to build."""
        if self.built or not config or "input_shape" not in config:
            return
        where = f"Layer '{self.name}'"
        if self.declares("build"):
            dtypes = [standardize_dtype(d) for d in config.get("input_dtype") or []]
            shapes = shapes_from_json(config["input_shape"], where)
            self.ensure_built(shapes, dtypes)
            self.__dict__["_lamina_config_shapes"] = shapes
        elif next(self.children(), None) is not None:
            self(symbolic_inputs(config, where))

    def _build_at_init(self) -> None:
        """Keras 3's: a layer whose class has no ``build`` of its own (nothing to create) is
        built on creation; stateless layers call this at the end of ``__init__``."""
        if not self.declares("build"):
            self.built = True
