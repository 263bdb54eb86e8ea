"""How lamina calls a layer: which arguments ``call`` receives, and whether a model may
skip ``nn.Module.__call__``.

``call``'s signature is read once per class (:func:`call_signature`): a ``training`` or
``mask`` parameter gets the training flag or the first input's mask; with several tensor
arguments, Keras 3's rule gives ``call(self, query, value, query_mask=None,
value_mask=None)`` each argument's mask by name (:func:`argument_masks`).

Models call their layers' computations directly while no hook exists, since
``nn.Module.__call__`` adds only hook handling; registering a hook on any lamina layer sets
a flag that sends every call back through it (:func:`hooks_in_use`).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator
from typing import Any

from torch import nn

MaskArguments = tuple[tuple[str, int | None], ...]

#: The ``nn.Module`` methods that register hooks; lamina's versions also set the flag.
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


#: Set once any hook is registered on any lamina layer. Until then, models may call their
#: layers' ``forward`` (or a Lambda's function) directly instead of through
#: ``nn.Module.__call__``, which only adds hook handling (see ``Layer.plan_callable``).
_HOOKS_IN_USE = [False]


def hooks_in_use() -> bool:
    """Whether a layer or global module hook exists, so layers must run through ``__call__``."""
    from torch.nn.modules import module as torch_module

    return _HOOKS_IN_USE[0] or bool(
        torch_module._global_forward_hooks or torch_module._global_forward_pre_hooks
        or torch_module._global_backward_hooks or torch_module._global_backward_pre_hooks
    )


@contextlib.contextmanager
def called_as_modules() -> Iterator[None]:
    """Within this block models call their layers through ``nn.Module.__call__`` (as when
    hooks are registered), so tracers such as ``torch.export`` see each layer by name."""
    before = _HOOKS_IN_USE[0]
    _HOOKS_IN_USE[0] = True
    try:
        yield
    finally:
        _HOOKS_IN_USE[0] = before


def flagging_hook_registration(name: str) -> Any:
    """``nn.Module``'s hook registration method ``name``, also setting the flag."""
    register = getattr(nn.Module, name)

    def method(self: nn.Module, *args: Any, **kwargs: Any) -> Any:
        _HOOKS_IN_USE[0] = True
        return register(self, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = register.__doc__
    return method
