"""A layer's links to the graphs around it: the models that call it (told when a hook is
registered, so they stop calling it directly) and its first symbolic call (Keras's
``layer.input`` / ``layer.output``).

Mixed into :class:`~lamina.layers.layer.Layer`.
"""

from __future__ import annotations

import weakref
from typing import Any

from lamina.symbolic import fill


class LinksMixin:
    """The models holding a layer and the layer's first graph node."""

    # ------------------------------------------------------------------ models holding it
    def note_model(self, model: Any) -> None:
        """``model`` calls this layer from its plan: tell it when hooks are registered."""
        self.__dict__.setdefault("_lamina_models", weakref.WeakSet()).add(model)

    def hooks_changed(self) -> None:
        """A hook was registered on this layer: models stop calling it directly."""
        self.__dict__["_lamina_hooked"] = True
        for model in list(self.__dict__.get("_lamina_models", ())):
            model.layers_changed()

    @property
    def has_hooks(self) -> bool:
        """Whether a hook was ever registered on this layer through its own methods."""
        return self.__dict__.get("_lamina_hooked", False)

    def call_layers_as_modules(self, flag: bool) -> bool:
        """Models override this (see ``Functional``); a plain layer calls no layers."""
        return False

    def layers_changed(self) -> None:
        """A layer this one calls changed how it must be called (a hook): models drop
        their direct plan (see ``Functional``); a plain layer has none."""

    calls_layers_as_modules = False

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_lamina_models", None)  # weak references; models note themselves again
        return state

    # ------------------------------------------------------------------ graph position
    def note_node(self, node: Any) -> None:
        """A symbolic call of this layer made ``node``; the first one is what :attr:`input`
        and :attr:`output` describe (Keras's node 0)."""
        self.__dict__.setdefault("_lamina_first_node", node)

    def _first_node(self, what: str) -> Any:
        node = self.__dict__.get("_lamina_first_node")
        if node is None:  # an AttributeError, as in Keras: hasattr(layer, "output") is False
            raise AttributeError(
                f"Layer '{self.name}' has never been called on symbolic tensors, so it has no "
                f"{what}. Call it on lamina.Input(...) (or a layer's output) first.")
        return node

    @property
    def input(self) -> Any:
        """Keras's: the symbolic input(s) of the layer's first symbolic call."""
        node = self._first_node("input")
        return fill(node.args[0], node.inputs) if node.args else node.inputs

    @property
    def output(self) -> Any:
        """Keras's: the symbolic output(s) of the layer's first symbolic call."""
        return self._first_node("output").outputs
