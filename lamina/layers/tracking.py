"""Lists and dicts of layers assigned to a layer are tracked, as Keras tracks them.

``self.blocks = [Dense(8), Dense(8)]`` in a Keras layer makes those layers part of it:
their weights are the layer's, trained, saved and counted. A plain ``nn.Module`` would not
see them (torch needs ``nn.ModuleList``), so a layer's public list and dict attributes are
stored as :class:`TrackedList` / :class:`TrackedDict`: a real ``list`` / ``dict`` (JSON,
``isinstance``, slicing and ``+`` behave as before) that, whenever it changes, registers
the modules it holds with its owner under the attribute's name (an ``nn.ModuleList`` child,
present only while it holds a module, so a list of numbers changes nothing).

Example:
    >>> import torch
    >>> owner = torch.nn.Module()
    >>> blocks = TrackedList([torch.nn.Linear(2, 2)], owner, "blocks")
    >>> blocks.append(torch.nn.Linear(2, 3))
    >>> blocks.append("not a module")
    >>> len(blocks), sum(p.numel() for p in owner.parameters()), isinstance(blocks, list)
    (3, 15, True)
"""

from __future__ import annotations

from typing import Any

from torch import nn


class TrackedModules(nn.ModuleList):
    """The modules of one tracked list or dict, registered with the owner."""


def _register(owner: nn.Module, name: str, values: Any) -> None:
    modules = [value for value in values if isinstance(value, nn.Module)]
    if modules:
        owner._modules[name] = TrackedModules(modules)
    else:
        owner._modules.pop(name, None)


def _registering(kind: type, method_name: str) -> Any:
    """``kind``'s mutating method ``method_name``, followed by registering the modules the
    container then holds (the in-place operators return the container itself)."""
    method = getattr(kind, method_name)

    def changed(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = method(self, *args, **kwargs)
        _register(self._owner, self._name, self.values() if kind is dict else self)
        return self if method_name in ("__iadd__", "__imul__") else result

    changed.__name__ = method_name
    return changed


class TrackedList(list):
    """A list that registers the modules among its items with ``owner`` as ``name``."""

    def __init__(self, items: Any, owner: nn.Module, name: str) -> None:
        super().__init__(items)
        self._owner, self._name = owner, name
        _register(owner, name, self)

    append = _registering(list, "append")
    extend = _registering(list, "extend")
    insert = _registering(list, "insert")
    pop = _registering(list, "pop")
    remove = _registering(list, "remove")
    clear = _registering(list, "clear")
    sort = _registering(list, "sort")
    reverse = _registering(list, "reverse")
    __setitem__ = _registering(list, "__setitem__")
    __delitem__ = _registering(list, "__delitem__")
    __iadd__ = _registering(list, "__iadd__")
    __imul__ = _registering(list, "__imul__")

    def __reduce_ex__(self, protocol: Any) -> Any:
        # Copies and pickles rebuild the list without registering again: the owner's own
        # copy already holds the (copied) modules under the name.
        return (_restored, (TrackedList, list(self), self._owner, self._name))


class TrackedDict(dict):
    """A dict that registers the modules among its values with ``owner`` as ``name``."""

    def __init__(self, items: Any, owner: nn.Module, name: str) -> None:
        super().__init__(items)
        self._owner, self._name = owner, name
        _register(owner, name, self.values())

    update = _registering(dict, "update")
    pop = _registering(dict, "pop")
    popitem = _registering(dict, "popitem")
    clear = _registering(dict, "clear")
    setdefault = _registering(dict, "setdefault")
    __setitem__ = _registering(dict, "__setitem__")
    __delitem__ = _registering(dict, "__delitem__")

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (_restored, (TrackedDict, dict(self), self._owner, self._name))


def _restored(kind: type, items: Any, owner: nn.Module, name: str) -> Any:
    """A tracked container rebuilt by ``copy``/``pickle`` (see ``__reduce_ex__``)."""
    restored = kind.__new__(kind)
    (list.extend if kind is TrackedList else dict.update)(restored, items)
    restored._owner, restored._name = owner, name
    return restored


def tracked(owner: nn.Module, name: str, value: Any) -> Any:
    """``value`` tracked for ``owner.<name>`` when it is a plain list or dict, else as it
    is; an earlier tracked value's registration under ``name`` is dropped first."""
    if isinstance(owner._modules.get(name), TrackedModules):
        del owner._modules[name]
    if type(value) is list:
        return TrackedList(value, owner, name)
    if type(value) is dict:
        return TrackedDict(value, owner, name)
    return value


def layers_in(module: nn.Module) -> list[Any]:
    """The modules ``module`` holds directly, those of its tracked lists and dicts
    included (in order), each once."""
    found: list[Any] = []
    for child in module.children():
        for item in (child if isinstance(child, TrackedModules) else [child]):
            if all(item is not seen for seen in found):
                found.append(item)
    return found
