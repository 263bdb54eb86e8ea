"""How lamina calls a layer: which arguments ``call`` receives, and whether a model may
skip ``nn.Module.__call__``.

``call``'s signature is read once per class (:func:`call_signature`): a ``training`` or
``mask`` parameter gets the training flag or the first input's mask; with several tensor
arguments, Keras 3's rule gives ``call(self, query, value, query_mask=None,
value_mask=None)`` each argument's mask by name (:func:`argument_masks`).

Models call their layers' computations directly while none of their layers has a hook,
since ``nn.Module.__call__`` adds only hook handling; registering a hook on a layer tells
the models holding it, which then call it through ``nn.Module.__call__``: a per-model
decision, no process-wide switch. Module hooks registered globally with torch's
``register_module_forward_hook`` are not seen by the direct path; run such a model
inside :func:`called_as_modules`.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

MaskArguments = tuple[tuple[str, int | None], ...]

#: The ``nn.Module`` methods that register hooks; lamina's versions also tell the layer.
HOOK_REGISTRATIONS = ("register_forward_hook", "register_forward_pre_hook",
                      "register_full_backward_hook", "register_full_backward_pre_hook",
                      "register_backward_hook")


def call_signature(call: Callable[..., Any]) -> tuple[bool, bool, MaskArguments]:
    """Whether ``call`` takes ``training``, whether it takes ``mask``, and its ``(argument,
    position)`` pairs that have an ``argument_mask`` parameter."""
    parameters = inspect.signature(call).parameters
    has_var_kw = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    named = list(parameters.values())[1:]  # after self
    positional = [p.name for p in named
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    mask_arguments = tuple(
        (p.name, positional.index(p.name) if p.name in positional else None)
        for p in named if f"{p.name}_mask" in parameters and p.kind is not p.VAR_KEYWORD)
    return ("training" in parameters or has_var_kw, "mask" in parameters or has_var_kw,
            mask_arguments)


@functools.cache
def first_parameter(call: Callable[..., Any]) -> str | None:
    """The name of ``call``'s first argument after ``self`` (``None`` if it has none)."""
    named = list(inspect.signature(call).parameters.values())[1:]
    if named and named[0].kind in (named[0].POSITIONAL_ONLY, named[0].POSITIONAL_OR_KEYWORD):
        return named[0].name
    return None


def first_argument_from_keywords(layer: Any, kwargs: dict[str, Any]
                                 ) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``(args, kwargs)`` of a call made with keywords only (``layer(logits=x, ...)``):
    the argument named as ``call``'s first parameter becomes the first positional one, as
    Keras binds it."""
    name = first_parameter(type(layer).call)
    if name is None or name not in kwargs:
        return (), kwargs
    rest = dict(kwargs)
    first = rest.pop(name)
    return (first,), rest


def argument_masks(layer: Any, args: Any, named: dict[str, Any],
                   mask_of: Any) -> list[tuple[str, Any]]:
    """``(f"{name}_mask", mask)`` for each one-tensor argument ``name`` whose ``name_mask``
    the layer's call takes and that carries a mask; ``mask_of`` maps it to its mask."""
    found = []
    for name, position in layer._call_mask_args:
        key = f"{name}_mask"
        if named.get(key) is not None:
            continue
        if position is not None and position < len(args):
            value = args[position]
        elif name in named:
            value = named[name]
        else:
            continue
        if type(value) in (list, tuple, dict):
            continue  # a structure brings its masks through ``mask`` (MultiHeadAttention's list)
        mask = mask_of(value)
        if mask is not None:
            found.append((key, mask))
    return found


def carried_mask(value: Any) -> Any:
    return getattr(value, "_keras_mask", None)


def flags_by_position(call: Callable[..., Any]) -> dict[int, str]:
    """Where ``call(self, inputs, ...)`` takes ``mask`` or ``training`` positionally:
    ``{position among the arguments after inputs: name}``."""
    try:
        parameters = list(inspect.signature(call).parameters.values())[2:]
    except (TypeError, ValueError):
        return {}
    found = {}
    for position, parameter in enumerate(parameters):
        if parameter.kind not in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            break
        if parameter.name in ("mask", "training"):
            found[position] = parameter.name
    return found


def input_masks(inputs: Any) -> Any:
    """The masks the inputs carry, in their structure (Keras's ``previous_mask``), or
    ``None`` when none does."""
    if isinstance(inputs, torch.Tensor):
        return getattr(inputs, "_keras_mask", None)
    if isinstance(inputs, (list, tuple)):
        masks = [getattr(value, "_keras_mask", None) for value in inputs]
        return masks if any(mask is not None for mask in masks) else None
    return None


def notifying_hook_registration(name: str) -> Any:
    """``nn.Module``'s hook registration method ``name``, also telling the layer (which
    tells the models holding it to call it through ``nn.Module.__call__`` from now on)."""
    register = getattr(nn.Module, name)

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        handle = register(self, *args, **kwargs)
        self.hooks_changed()
        return handle

    method.__name__ = name
    method.__doc__ = register.__doc__
    return method


@contextlib.contextmanager
def called_as_modules(model: nn.Module) -> Iterator[None]:
    """Within this block ``model`` (and every model inside it) calls its layers through
    ``nn.Module.__call__``, as with hooks, so tracers such as ``torch.export`` see each layer
    by name. Other models are not affected."""
    targets = [m for m in model.modules() if hasattr(m, "call_layers_as_modules")]
    before = [m.call_layers_as_modules(True) for m in targets]
    try:
        yield
    finally:
        for target, previous in zip(targets, before):
            target.call_layers_as_modules(previous)
