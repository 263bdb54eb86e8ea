"""The function of a Lambda made from an ops call on symbolic tensors (``x * 2``).

Saved as the ``op`` tier (``serialize.py``): the op's name and its arguments, with the
symbolic ones as slots.
"""

from __future__ import annotations

from typing import Any

from lamina.utils.slots import fill


class OpCall:
    """The function of a Lambda made from an ops call on symbolic tensors.

    Holds the op and its arguments with the symbolic ones replaced by slots; called with
    the node's inputs (one tensor, or a list for several), it fills them in and runs the op.
    """

    def __init__(self, op: Any, template: tuple, count: int) -> None:
        self.op = op
        self.template = template
        self.count = count
        self.__name__ = op.__name__

    def __call__(self, inputs: Any) -> Any:
        values = [inputs] if self.count == 1 else inputs
        args, kwargs = fill(self.template, values)
        return self.op(*args, **kwargs)

    @property
    def source(self) -> str:
        names = ["x"] if self.count == 1 else [f"x[{i}]" for i in range(self.count)]
        args, kwargs = fill(self.template, names)
        parts = [_show(a) for a in args] + [f"{k}={_show(v)}" for k, v in kwargs.items()]
        return f"ops.{self.op.__lamina_op__}({', '.join(parts)})"


def _show(value: Any) -> str:
    if isinstance(value, str) and (value == "x" or value.startswith("x[")):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, slice):
        parts = [("" if p is None else _show(p)) for p in (value.start, value.stop, value.step)]
        return ":".join(parts).rstrip(":") if value.step is None else ":".join(parts)
    if isinstance(value, tuple):
        return "(" + ", ".join(_show(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)
