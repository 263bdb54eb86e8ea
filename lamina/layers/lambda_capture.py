"""What a ``Lambda`` owns of its function's world: the tensors, Parameters and layers the
function captures (or gets through ``arguments=``) become the layer's buffers, weights and
sublayers; moving the layer points its own copy of the function at the moved tensors;
pickling carries the user's function and makes the copy again.

Mixed into :class:`~lamina.layers.lambda_layer.Lambda`, which sets ``arguments``,
``_weight_keys`` and ``_captured_buffers`` before tracking.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import torch
from torch import nn

from lamina.functions.compiler import ModuleView, unwrap
from lamina.functions.rebind import own_function, point_at
from lamina.layers.function_config import module_names

_LITERALS = (bool, int, float, complex, str, bytes, type(None), range, slice, type(Ellipsis))


class CapturedStateMixin:
    """Tracking, moving and pickling a Lambda's captured state."""

    def _track(self, values: dict[str, Any], kind: str) -> None:
        for name, value in values.items():
            value = unwrap(value)  # a loaded function sees its captured layers through views
            key = name if name.isidentifier() and not hasattr(self, name) else f"{kind}_{name}"
            if isinstance(value, (torch.Tensor, nn.Module)):
                if id(value) in self._weight_keys:
                    continue
                self._weight_keys[id(value)] = key
            if isinstance(value, nn.Parameter):
                self.register_parameter(key, value)
            elif isinstance(value, torch.Tensor):
                self.register_buffer(key, value)
                if kind == "captured":
                    self._captured_buffers[key] = name
            elif isinstance(value, nn.Module):
                self.add_module(key, value)
            elif kind == "captured" and inspect.ismodule(value) and not _is_harmless(value):
                warnings.warn(
                    f"Lambda '{self.name}' ({self.source}) reads the module '{name}' "
                    f"({value.__name__}), which is outside what a saved function may use "
                    "(lamina.ops / lamina.backend, torch, torch.nn.functional, math): the "
                    "layer works, but a model holding it cannot be saved. Use lamina ops.",
                    stacklevel=4,
                )
            elif kind == "captured" and not _is_harmless(value):
                warnings.warn(
                    f"Lambda '{self.name}' ({self.source}) reads '{name}', a "
                    f"{type(value).__name__} that lamina cannot track or save. Pass it as a "
                    "tensor, a lamina.Variable or a layer, or through arguments=.",
                    stacklevel=4,
                )

    def _apply(self, fn: Any, recurse: bool = True) -> Any:
        """``to()``, ``double()``... replace buffers by new tensors; point the function's
        closure cells and globals at the new ones, so captured tensors move with the model."""
        before = dict(self._buffers)
        super()._apply(fn, recurse)
        moved = {key: new for key, new in self._buffers.items() if new is not before[key]}
        for key, new in moved.items():
            old = before[key]
            self._weight_keys[id(new)] = self._weight_keys.pop(id(old), key)
            for argument, value in self.arguments.items():  # tensors passed in arguments=
                if value is old:
                    self.arguments[argument] = new
        if getattr(self.function, "__lamina_owned__", False):
            # Only the layer's own copy (own_function) is written, never the user's function.
            captured = self._captured_buffers
            point_at(self.function, {captured[key]: new for key, new in moved.items()
                                     if key in captured})
        return self

    def __getstate__(self) -> dict[str, Any]:
        """Pickled with the user's function (its own copy is made again on unpickling)."""
        state = super().__getstate__()
        if getattr(self.function, "__lamina_owned__", False):
            state["function"] = self.function.__wrapped__
            state["_owns_function"] = True
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        owns = state.pop("_owns_function", False)
        super().__setstate__(state)
        if owns:
            self.__dict__["function"] = own_function(self.function,
                                                     set(self._captured_buffers.values()))
            point_at(self.function, {name: self._buffers[key]
                                     for key, name in self._captured_buffers.items()})


def _is_harmless(value: Any) -> bool:
    """Values a Lambda may read that need no tracking and can be saved: literals, the
    allowlisted modules, functions, classes."""
    if isinstance(value, (*_LITERALS, ModuleView)) or isinstance(value, type):
        return True
    if inspect.ismodule(value):
        return id(value) in module_names()
    if callable(value):
        return True
    if isinstance(value, (tuple, list, frozenset, set)):
        return all(_is_harmless(v) for v in value)
    if isinstance(value, dict):
        return all(_is_harmless(v) for v in value.values())
    return isinstance(value, torch.dtype | torch.device)
