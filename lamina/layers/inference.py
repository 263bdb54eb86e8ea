"""Output shapes, dtypes and masks of a layer call on symbolic tensors, without real data.

A layer that declares ``compute_output_shape`` is asked directly. Otherwise the layer runs
on *fake* tensors (meta storage, no data, no arithmetic) twice: once with every unknown
axis set to one sentinel size, once with another. An axis that comes out different in the
two runs depends on an unknown axis and is ``None``. Where fake execution is unsupported
(a function that calls numpy, say), small real tensors of the sentinel sizes are used.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.fx.experimental.symbolic_shapes import ShapeEnv
from torch.overrides import TorchFunctionMode

from lamina import symbolic
from lamina.errors import ArgumentTypeError, InferenceError, LoadError, ShapeError
from lamina.functions import load_budget
from lamina.layers.calling import argument_masks
from lamina.symbolic import STRING, Node, SymbolicTensor, fill, fill_masks
from lamina.utils import tree
from lamina.utils.shapes import flatten_shapes, is_shape

if TYPE_CHECKING:
    from lamina.layers.layer import Layer

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
    if layer.outputs_carry_masks:
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


def symbols_for_shapes(shape: Any) -> Any:
    """Symbolic float32 inputs of ``shape`` (a shape, or a list/tuple/dict of shapes)."""
    if is_shape(shape):
        return SymbolicTensor(tuple(shape), torch.float32)
    if isinstance(shape, dict):
        return {k: symbols_for_shapes(v) for k, v in shape.items()}
    return type(shape)(symbols_for_shapes(s) for s in shape)


def shapes_of(outputs: Any) -> Any:
    """The shapes of a structure of symbolic tensors (``None`` leaves kept)."""
    return tree.map_structure(lambda s: None if s is None else s.shape, outputs)


def output_spec(layer: Layer, args: tuple, kwargs: dict, declared: bool) -> Any:
    """What ``Layer.compute_output_spec`` returns by default: symbolic outputs (shape,
    dtype, ``_keras_mask``) of ``layer(*args, **kwargs)`` on symbolic arguments, without
    data. ``declared``: the layer's class declares ``compute_output_shape``, which is asked
    (and ``compute_mask``) instead of running the layer on fake tensors."""
    symbols: list[SymbolicTensor] = []
    template = symbolic.template((args, kwargs), symbols)
    if declared and len(symbols) == len(tree.flatten(args[0])):
        spec = _declared_spec(layer, tree.map_structure(lambda s: s.shape, args[0]), symbols)
        masks = _declared_masks(layer, template, symbols)
    else:
        spec, masks = infer_spec(layer, template, symbols)
    out_specs = tree.flatten(_as_leaves(spec))
    flat_masks = tree.flatten(_as_leaves(masks)) if masks is not None else []
    outputs = []
    for index, (shape, dtype) in enumerate(out_specs):
        tensor = SymbolicTensor(shape, dtype)
        mask = flat_masks[index] if index < len(flat_masks) else None
        if mask is not None:
            tensor._keras_mask = SymbolicTensor(tuple(mask.value[0]), torch.bool)
        outputs.append(tensor)
    return tree.pack_as(_as_leaves(spec), outputs)


def symbolic_call(layer: Layer, inputs: Any, args: tuple, kwargs: dict) -> Any:
    """Call ``layer`` on symbolic tensors: build it, ask ``compute_output_spec``, add a node."""
    training = kwargs.get("training")
    if training is not None and not isinstance(training, bool):
        raise ShapeError(f"Layer '{layer.name}': training must be a bool or None in a graph.")
    if not hasattr(layer, "strings_to_tensor") and any(
            s.dtype is STRING for s in tree.flatten(inputs) if isinstance(s, SymbolicTensor)):
        raise ArgumentTypeError(
            f"Layer '{layer.name}' ({type(layer).__name__}) cannot take a string input: torch "
            "has no string tensors. Feed a string Input to a TextVectorization or "
            "StringLookup layer first; it turns the strings into integers.")
    layer.ensure_built(tree.map_structure(lambda s: s.shape, inputs),
                       [s.dtype for s in tree.flatten(inputs)])
    outputs = layer.compute_output_spec(inputs, *args, **kwargs)
    symbols: list[SymbolicTensor] = []
    template = symbolic.template(((inputs, *args), kwargs), symbols)
    node = Node(layer, symbols, template[0], template[1])
    flat = tree.flatten(outputs)
    for index, tensor in enumerate(flat):
        if not isinstance(tensor, SymbolicTensor):
            raise InferenceError(
                f"Layer '{layer.name}': compute_output_spec returned {tensor!r}, not symbolic "
                "tensors (lamina.symbolic.SymbolicTensor).")
        tensor.node, tensor.index = node, index
    node.flat_outputs = flat
    node.outputs = outputs
    layer.note_node(node)
    return outputs


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
    if layer.declares("compute_mask"):
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


