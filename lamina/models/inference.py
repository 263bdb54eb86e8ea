"""Output shapes, dtypes and masks of a layer call on symbolic tensors, without real data.

A layer that declares ``compute_output_shape`` is asked directly. Otherwise the layer runs
on *fake* tensors (meta storage, no data, no arithmetic) twice: once with every unknown
axis set to one sentinel size, once with another. An axis that comes out different in the
two runs depends on an unknown axis and is ``None``. Where fake execution is unsupported
(a function that calls numpy, say), small real tensors of the sentinel sizes are used.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.fx.experimental.symbolic_shapes import ShapeEnv
from torch.overrides import TorchFunctionMode

from lamina.errors import InferenceError, LoadError, ShapeError
from lamina.functions import load_budget
from lamina.layers.calling import argument_masks
from lamina.layers.layer import Layer, flatten_shapes, is_shape
from lamina.models.symbolic import Node, SymbolicTensor, _template
from lamina.utils import tree
from lamina.utils.slots import Slot, fill, fill_masks

#: Sizes given to unknown axes in the two inference runs (primes, so that no reshape or
#: broadcast can confuse one with a known size or with each other).
SENTINELS = (5, 7)

def _concrete(shape: tuple[int | None, ...], size: int) -> tuple[int, ...]:
    return tuple(size if d is None else d for d in shape)


#: How inference runs a layer, cheapest first: fake tensors; fake tensors with a shape
#: environment, which gives data-dependent sizes (nonzero, boolean masks) as symbols
#: instead of failing (they become unknown axes) but costs half a millisecond to create;
#: small real tensors (never while a file loads).
_FAKE, _SYMBOLIC, _REAL = "fake", "symbolic", "real"


def _run_twice(layer: Layer, template: tuple, symbols: list[SymbolicTensor], how: str
               ) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    """(outputs, output masks) of runs with each sentinel size, in one fake-tensor mode."""
    if how == _REAL:
        mode: Any = contextlib.nullcontext()
    else:
        mode = FakeTensorMode(allow_non_fake_inputs=True,
                              shape_env=ShapeEnv() if how == _SYMBOLIC else None)
    with mode:
        return tuple(_run_on(layer, template, symbols, size) for size in SENTINELS)


def _run_on(layer: Layer, template: tuple, symbols: list[SymbolicTensor], size: int
            ) -> tuple[Any, Any]:
    """Run ``layer`` on stand-ins of ``symbols``; returns (outputs, output masks)."""
    def make(symbol: SymbolicTensor) -> torch.Tensor:
        return torch.zeros(_concrete(symbol.shape, size), dtype=symbol.dtype)

    def make_mask(symbol: SymbolicTensor) -> Any:
        mask = symbol._keras_mask
        return None if mask is None else torch.ones(_concrete(mask.shape, size), dtype=torch.bool)

    was_training = layer.training
    layer.train(False)
    try:
        with torch.no_grad():
            return _call_with_masks(layer, template, symbols, make, make_mask)
    finally:
        layer.train(was_training)


def _call_with_masks(layer: Layer, template: tuple, symbols: list[SymbolicTensor],
                     make: Any, make_mask: Any) -> tuple[Any, Any]:
    values = [make(s) for s in symbols]
    masks = [make_mask(s) for s in symbols]
    args, kwargs = fill(template, values)
    inputs = args[0]
    has_mask = any(m is not None for m in masks)
    input_mask = fill(template[0][0], masks) if has_mask else None
    if has_mask and layer._call_takes_mask and kwargs.get("mask") is None:
        kwargs = {**kwargs, "mask": input_mask}
    if has_mask and layer._call_mask_args:
        found = argument_masks(layer, template[0], template[1],
                               lambda t: fill_masks(t, masks))
        kwargs = {**kwargs, **dict(found)}
    outputs = layer(*args, **kwargs)
    if getattr(layer, "_outputs_carry_masks", False):
        out_masks = tree.map_structure(lambda t: getattr(t, "_keras_mask", None), outputs)
    else:
        out_masks = layer.compute_mask(inputs, input_mask)
    return outputs, out_masks


def _spec_of(first: Any, second: Any) -> Any:
    """(shape, dtype) per output leaf; axes that differ between the two runs are ``None``."""
    def one(a: Any, b: Any) -> Any:
        if a is None:
            return None
        if not isinstance(a, torch.Tensor):
            raise TypeError(f"the function returned a {type(a).__name__}, not a tensor")
        shape = tuple(x if type(x) is int and type(y) is int and x == y else None
                      for x, y in zip(a.shape, b.shape))
        return shape, a.dtype

    first_leaves, second_leaves = tree.flatten(first), tree.flatten(second)
    if len(first_leaves) != len(second_leaves):
        raise ShapeError(
            f"the number of outputs ({len(first_leaves)} vs {len(second_leaves)}) depends on "
            "the size of an unknown axis (unstacking or splitting the batch axis, say); give "
            "that axis a fixed size in Input(...), or work on a known axis"
        )
    return tree.pack_as(first, [one(a, b) for a, b in zip(first_leaves, second_leaves)])


def infer_spec(layer: Layer, template: tuple, symbols: list[SymbolicTensor]) -> tuple[Any, Any]:
    """Output (shape, dtype) structure and output mask shape structure of one layer call.

    While a file loads (``load_budget.loading_file``), only fake tensors are used, each of their
    operations is charged to the load's budget, and a layer that cannot be inferred that
    way is an error: nothing from a file ever runs on real data at load.
    """
    errors = []
    load = load_budget.current_load()
    for how in (_FAKE, _SYMBOLIC, _REAL) if load is None else (_FAKE, _SYMBOLIC):
        try:
            if load is not None:
                load.charge(load_budget.INFERENCE_UNITS, f"inferring layer '{layer.name}'")
            with _charged(load):
                first, second = _run_twice(layer, template, symbols, how)
            return _spec_of(first[0], second[0]), _spec_of(first[1], second[1])
        except (ShapeError, LoadError):
            raise
        except Exception as error:  # noqa: BLE001 - reported below with every attempt
            errors.append(error)
    shapes = [s.shape for s in symbols]
    advice = ("A layer loaded from a file is inferred on fake tensors only (no data): "
              "its function cannot depend on tensor values there." if load is not None else
              "Check that the function works on tensors of that shape, or pass output_shape=.")
    raise InferenceError(
        f"Could not infer the output shape of layer '{layer.name}' ({describe(layer)}) for "
        f"input shape(s) {shapes[0] if len(shapes) == 1 else shapes}: {errors[-1]}. {advice}"
    ) from errors[-1]


class _ChargedOperations(TorchFunctionMode):
    """Charges each torch call of a load-time inference to the load's budget."""

    def __init__(self, load: load_budget.LoadBudget) -> None:
        super().__init__()
        self.load = load

    def __torch_function__(self, func: Any, types: Any, args: tuple = (),
                           kwargs: dict | None = None) -> Any:
        self.load.charge(load_budget.OPERATION_UNITS, func)
        return func(*args, **(kwargs or {}))


def _charged(load: load_budget.LoadBudget | None) -> Any:
    return contextlib.nullcontext() if load is None else _ChargedOperations(load)


def describe(layer: Layer) -> str:
    """What a layer is, for messages: a Lambda's source, else the class name."""
    source = getattr(layer, "source", None)
    return source if isinstance(source, str) else type(layer).__name__


def infer_output_shape(layer: Layer, input_shape: Any) -> Any:
    """Output shape(s) of ``layer`` for ``input_shape``, by inference on fake tensors."""
    symbols: list[SymbolicTensor] = []
    structure = _shape_template(input_shape, symbols)
    layer.ensure_built(input_shape)
    spec, _ = infer_spec(layer, ((structure,), {}), symbols)
    return _shapes_only(spec)


def _shape_template(shape: Any, symbols: list[SymbolicTensor]) -> Any:
    if is_shape(shape):
        symbols.append(SymbolicTensor(tuple(shape), torch.float32))
        return Slot(len(symbols) - 1)
    if isinstance(shape, dict):
        return {k: _shape_template(v, symbols) for k, v in shape.items()}
    return type(shape)(_shape_template(s, symbols) for s in shape)


def _with_shapes(spec: Any, shapes: Any) -> Any:
    """``spec`` (shape, dtype) leaves with their shapes replaced by ``shapes``."""
    leaves = [(tuple(shape), dtype) for shape, (_, dtype) in
              zip(flatten_shapes(shapes), tree.flatten(_as_leaves(spec)))]
    return leaves[0] if is_shape(shapes) else tree.pack_as(_shape_structure(shapes), leaves)


def _shapes_only(spec: Any) -> Any:
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], torch.dtype):
        return spec[0]
    if isinstance(spec, dict):
        return {k: _shapes_only(v) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)):
        return type(spec)(_shapes_only(s) for s in spec)
    return spec


# ---------------------------------------------------------------------- calling
def _overrides(layer: Layer, method: str) -> bool:
    return getattr(type(layer), method) is not getattr(Layer, method)


def symbolic_call(layer: Layer, inputs: Any, args: tuple, kwargs: dict) -> Any:
    """Call ``layer`` on symbolic tensors: build it, infer outputs, add a node."""
    symbols: list[SymbolicTensor] = []
    template = _template(((inputs, *args), kwargs), symbols)
    kwargs = template[1]
    if kwargs.get("training") is not None and not isinstance(kwargs["training"], bool):
        raise ShapeError(f"Layer '{layer.name}': training must be a bool or None in a graph.")
    input_shapes = tree.map_structure(lambda s: s.shape, inputs)
    layer.ensure_built(input_shapes, [s.dtype for s in tree.flatten(inputs)])
    reconcile = getattr(layer, "reconcile_shapes", None)
    if (reconcile is None and _overrides(layer, "compute_output_shape")
            and len(symbols) == len(tree.flatten(inputs))):
        spec = _declared_spec(layer, input_shapes, symbols)
        masks = _declared_masks(layer, template, symbols)
    elif (recorded := _recorded_output(layer, template, symbols)) is not None:
        spec, masks = recorded, None  # a Lambda loaded with its inferred spec
    else:
        spec, masks = infer_spec(layer, template, symbols)
        if reconcile is not None and getattr(layer, "_output_shape", None) is not None:
            spec = _with_shapes(spec, reconcile(input_shapes, _shapes_only(spec)))
        note = getattr(layer, "note_inferred", None)
        if note is not None:
            note(template, symbols, spec, masks)
    node = Node(layer, symbols, template[0], kwargs)
    out_specs = tree.flatten(_as_leaves(spec))
    flat_masks = tree.flatten(_as_leaves(masks)) if masks is not None else []
    outputs = []
    for index, (shape, dtype) in enumerate(out_specs):
        tensor = SymbolicTensor(shape, dtype, node, index)
        mask = flat_masks[index] if index < len(flat_masks) else None
        if mask is not None:
            tensor._keras_mask = SymbolicTensor(tuple(mask.value[0]), torch.bool)
        outputs.append(tensor)
    node.flat_outputs = outputs
    node.outputs = tree.pack_as(_as_leaves(spec), outputs)
    return node.outputs


def _recorded_output(layer: Layer, template: tuple, symbols: list[SymbolicTensor]) -> Any:
    recorded = getattr(layer, "recorded_output", None)
    return None if recorded is None else recorded(template, symbols)


class _Leaf:
    """Wraps a (shape, dtype) pair so tree helpers treat it as one leaf."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __iter__(self) -> Any:
        return iter(self.value)


def _as_leaves(spec: Any) -> Any:
    if spec is None:
        return None
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], torch.dtype):
        return _Leaf(spec)
    if isinstance(spec, dict):
        return {k: _as_leaves(v) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)):
        return type(spec)(_as_leaves(s) for s in spec)
    return spec


def _declared_spec(layer: Layer, input_shapes: Any, symbols: list[SymbolicTensor]) -> Any:
    shapes = layer.compute_output_shape(input_shapes)
    dtype = output_dtype(layer, symbols[0].dtype)
    leaves = [(tuple(s), dtype) for s in flatten_shapes(shapes)]
    if is_shape(shapes):
        return leaves[0]
    return tree.pack_as(_shape_structure(shapes), leaves)


def _shape_structure(shapes: Any) -> Any:
    if is_shape(shapes):
        return 0
    if isinstance(shapes, dict):
        return {k: _shape_structure(v) for k, v in shapes.items()}
    return type(shapes)(_shape_structure(s) for s in shapes)


def output_dtype(layer: Layer, input_dtype: torch.dtype) -> torch.dtype:
    """A layer with floating weights computes in its own dtype; others keep the input's."""
    if any(p.is_floating_point() for p in layer.parameters(recurse=False)):
        return layer.dtype
    return input_dtype


def _declared_masks(layer: Layer, template: tuple, symbols: list[SymbolicTensor]) -> Any:
    """Output masks of a layer with a declared output shape, without running its call."""
    input_masks = [s._keras_mask for s in symbols]
    if _overrides(layer, "compute_mask"):
        runs = [_masks_at(layer, template, symbols, size) for size in SENTINELS]
        return _spec_of(runs[0], runs[1])
    if layer.supports_masking and input_masks and input_masks[0] is not None:
        return (input_masks[0].shape, torch.bool)
    return None


def _masks_at(layer: Layer, template: tuple, symbols: list[SymbolicTensor], size: int) -> Any:
    """``compute_mask`` on fake tensors whose unknown axes have the sentinel ``size``."""
    def make_mask(symbol: SymbolicTensor) -> Any:
        mask = symbol._keras_mask
        return None if mask is None else torch.ones(_concrete(mask.shape, size), dtype=torch.bool)

    with FakeTensorMode(allow_non_fake_inputs=True), torch.no_grad():
        values = [torch.zeros(_concrete(s.shape, size), dtype=s.dtype) for s in symbols]
        masks = [make_mask(s) for s in symbols]
        inputs = fill(template[0][0], values)
        has_mask = any(m is not None for m in masks)
        return layer.compute_mask(inputs, fill(template[0][0], masks) if has_mask else None)


