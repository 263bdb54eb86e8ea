"""Ops on symbolic tensors become Lambda nodes.

``x * 2`` or ``ops.concatenate([a, b])`` on symbolic tensors is recorded as a ``Lambda``
whose function is an :class:`~lamina.symbolic.OpCall` (the op and its arguments, the
symbolic ones as slots). ``ops`` sits below layers, so this module registers
:func:`make_op_node` with the ops dispatch when ``lamina.layers`` is imported.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.fx

from lamina.layers.lambda_layer import Lambda
from lamina.ops import dispatch
from lamina.symbolic import OpCall, SymbolicTensor, template
from lamina.utils import tree
from lamina.utils.naming import unique_name


def make_op_node(op: Any, args: tuple, kwargs: dict) -> Any:
    """Add a Lambda node that runs ``op(*args, **kwargs)``; returns its symbolic output."""
    proxy = next((a for a in tree.flatten([args, kwargs]) if isinstance(a, torch.fx.Proxy)), None)
    if proxy is not None:
        # torch.fx is tracing a function for the graph tier: record the op as one node.
        return proxy.tracer.create_proxy("call_function", op, args, kwargs)
    symbols: list[SymbolicTensor] = []
    recorded = template((args, kwargs), symbols)
    name = unique_name(op.__lamina_op__.replace(".", "_"))  # image.resize -> image_resize
    layer = Lambda(OpCall(op, recorded, len(symbols)), name=name)
    return layer(symbols[0] if len(symbols) == 1 else symbols)


dispatch.register_symbolic_type(torch.fx.Proxy)
dispatch.register_op_node_factory(make_op_node)
