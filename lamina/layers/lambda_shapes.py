"""A Lambda's output shapes: declared (``output_shape=``) and recorded at save.

Declared shapes are standardised, stored in configs as JSON and read back here.

Recorded specs: inferring a Lambda's output runs its function twice on fake tensors
(about a millisecond each time). A model's config records, for each Lambda with one
input and one output and no masks or captured layers, the input spec of its last
symbolic call and the output spec inferred for it. A loaded Lambda called symbolically
on that same input spec takes the recorded output instead of inferring it. The record
never changes what the function computes, only the shapes the model reports and builds
its next layers by; the first real call on an input the record describes compares the
output's shape with it, so a file whose record lies gets a ``ShapeError`` there.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.errors import ArgumentError, SerializationError, ShapeError
from lamina.symbolic import SymbolicTensor
from lamina.utils.shapes import dtype_name, flatten_shapes, is_shape, standardize_dtype

Spec = tuple[tuple[int | None, ...], torch.dtype]
Record = tuple[Spec, Spec]
#: The dtypes a record may name (what a Lambda's tensors hold in practice).
RECORDED_DTYPES = frozenset({"float16", "bfloat16", "float32", "float64", "uint8", "int8",
                             "int16", "int32", "int64", "bool"})


def _one_plain_tensor(args: tuple, kwargs: dict) -> Any:
    """The one symbolic input of a call on one tensor, with nothing else and no mask (the
    calls a record describes), else None."""
    if len(args) == 1 and not kwargs and isinstance(args[0], SymbolicTensor) \
            and args[0]._keras_mask is None:
        return args[0]
    return None


def record_of(args: tuple, kwargs: dict, outputs: Any) -> Record | None:
    """The (input spec, output spec) record of one inferred call, when it can have one."""
    symbol = _one_plain_tensor(args, kwargs)
    if (symbol is not None and isinstance(outputs, SymbolicTensor)
            and outputs._keras_mask is None
            and {dtype_name(symbol.dtype), dtype_name(outputs.dtype)} <= RECORDED_DTYPES):
        return (tuple(symbol.shape), symbol.dtype), (tuple(outputs.shape), outputs.dtype)
    return None


def matching_output(record: Record, args: tuple, kwargs: dict) -> SymbolicTensor | None:
    """The recorded output when this call's input is the recorded one, else None."""
    symbol = _one_plain_tensor(args, kwargs)
    if symbol is not None and record[0] == (tuple(symbol.shape), symbol.dtype):
        return SymbolicTensor(*record[1])
    return None


def check_output(layer: Any, record: Record, inputs: Any, outputs: Any) -> None:
    """On the first real call, compare the output's shape with the recorded one, if the
    input is one the record describes (a model may accept other sizes on fixed axes; its
    dtype is not compared either: ``model.double()`` legitimately changes it)."""
    (input_shape, _), (shape, dtype) = record
    if _fits(input_shape, inputs) and not _fits(shape, outputs):
        received = (tuple(outputs.shape) if isinstance(outputs, torch.Tensor)
                    else type(outputs).__name__)
        raise ShapeError(
            f"Lambda '{layer.name}' ({layer.source}): its saved config records output shape "
            f"{shape} ({dtype_name(dtype)}) for input shape {input_shape}, but its function "
            f"returned {received}. The file or config is damaged or was edited: save the "
            "model again from its original code."
        )


def _fits(shape: tuple[int | None, ...], value: Any) -> bool:
    return (isinstance(value, torch.Tensor) and value.dim() == len(shape)
            and all(d is None or d == g for d, g in zip(shape, value.shape)))


def to_json(record: Record) -> dict[str, Any]:
    return {key: {"shape": list(shape), "dtype": dtype_name(dtype)}
            for key, (shape, dtype) in zip(("input", "output"), record)}


def from_json(value: Any, where: str) -> Record:
    """A record read from a file, checked strictly."""
    def one(key: str) -> Spec:
        item = value.get(key) if isinstance(value, dict) else None
        shape = item.get("shape") if isinstance(item, dict) else None
        if (not isinstance(shape, list) or len(shape) > 64 or not all(
                d is None or (type(d) is int and 0 <= d < 2 ** 62) for d in shape)
                or not isinstance(item.get("dtype"), str)):
            raise SerializationError(f"{where}: the recorded {key} spec {item!r} is malformed.")
        if item["dtype"] not in RECORDED_DTYPES:
            raise SerializationError(f"{where}: the recorded {key} spec has dtype "
                                     f"{item['dtype']!r}, not one of {sorted(RECORDED_DTYPES)}.")
        return tuple(shape), standardize_dtype(item["dtype"])

    return one("input"), one("output")


def standardize_output_shape(spec: Any) -> Any:
    if spec is None or callable(spec):
        return spec
    if is_shape(spec):
        return tuple(spec)
    if isinstance(spec, (list, tuple)) and spec and all(is_shape(s) for s in spec):
        return [tuple(s) for s in spec]
    raise ArgumentError(
        "Lambda: output_shape must be None, a tuple (without the batch axis), a list of "
        f"tuples or a callable, received {spec!r}."
    )


def shape_to_json(spec: Any) -> Any:
    if is_shape(spec):
        return {"__tuple__": list(spec)}
    return [list(s) for s in spec]


def shape_from_json(spec: Any) -> Any:
    if isinstance(spec, dict):
        return tuple(spec["__tuple__"])
    return [tuple(s) for s in spec]


def batch_of(input_shape: Any) -> Any:
    first = flatten_shapes(input_shape)[0]
    return first[0] if first else None


def _is_spec(spec: Any) -> bool:
    return (isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], torch.dtype)
            and isinstance(spec[0], tuple))
