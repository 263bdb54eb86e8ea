"""Functional models: a graph of layer calls, run as a precomputed plan.

At construction the graph between the given inputs and outputs is walked once, nodes are
put in topological order and every tensor gets a slot number. ``call`` then runs the plan:
a flat loop over steps that read and write a list of slots. Steps with one input, one
output, no extra arguments and no masks (most of them) take a short path. Masks are
carried in a second list of slots only when the graph or the caller has masks.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.errors import ArgumentError, SerializationError, ShapeError
from lamina.layers.calling import argument_masks
from lamina.layers.graph_nodes import topological_nodes
from lamina.layers.input_layer import InputLayer
from lamina.layers.layer import Layer
from lamina.layers.precision import mark_precision_boundaries
from lamina.layers.serialization import serialize_layer
from lamina.models.fast_plan import chain_of, fast_entry
from lamina.models.graph_config import rebuild_graph
from lamina.models.graph_order import Step, flat_strings, string_input_layers
from lamina.models.model import Model
from lamina.symbolic import STRING, Node, Slot, SymbolicTensor, fill, fill_masks
from lamina.utils import tree
from lamina.utils.shapes import dtype_name, to_tensor


class Functional(Model):
    """A model defined by calling layers on symbolic tensors: ``Model(inputs, outputs)``.

    Args:
        inputs: A symbolic tensor from ``lamina.Input``, or a list or dict of them.
        outputs: Symbolic tensors computed from ``inputs`` (one, a list or a dict).
        name: The model's name. Default: unique ``functional``.

    Example:
        >>> import lamina
        >>> from lamina import layers
        >>> x = lamina.Input(shape=(4,))
        >>> y = layers.Dense(2)(x) * 2.0
        >>> model = lamina.Model(x, y)
        >>> tuple(model(torch.ones(3, 4)).shape)
        (3, 2)
    """

    _graph_registry = True

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None,
                 trainable: bool = True, **kwargs: Any) -> None:
        Layer.__init__(self, name=name, trainable=trainable, **kwargs)
        self._set_graph(inputs, outputs)

    # ------------------------------------------------------------------ graph
    def _set_graph(self, inputs: Any, outputs: Any) -> None:
        flat_inputs, flat_outputs = tree.flatten(inputs), tree.flatten(outputs)
        for role, tensors in (("inputs", flat_inputs), ("outputs", flat_outputs)):
            for tensor in tensors:
                if not isinstance(tensor, SymbolicTensor):
                    raise ArgumentError(
                        f"Model '{self.name}': {role} must be symbolic tensors (from "
                        f"lamina.Input and layer calls), received {type(tensor).__name__}."
                    )
        # An input that is a layer's output (a sub-model from intermediate tensors, as
        # Keras 3 allows) gets an InputLayer of its own, as Keras's "CLONE" inputs do: the
        # model lists it, its config names it, and the graph reads the tensor from there.
        input_layers = [t.node.layer if isinstance(t.node.layer, InputLayer) else
                        InputLayer(batch_shape=t.shape, dtype=t.dtype,
                                   name=f"{t.node.layer.name}_input_{t.index}")
                        for t in flat_inputs]
        nodes = topological_nodes(flat_outputs, flat_inputs)
        layers: list[Layer] = list(input_layers)
        seen = {id(layer) for layer in layers}  # a set: linear in the number of nodes
        for node in nodes:
            if id(node.layer) not in seen:
                seen.add(id(node.layer))
                layers.append(node.layer)
        names: dict[str, Layer] = {}
        for layer in layers:
            if layer is self:
                raise ArgumentError(f"Model '{self.name}' cannot contain itself.")
            other = names.setdefault(layer.name, layer)
            if other is not layer:
                raise ArgumentError(
                    f"Model '{self.name}': two different layers are named '{layer.name}'. "
                    "Layer names must be unique within a model; pass name= to one of them."
                )
        slots: dict[int, int] = {id(t): i for i, t in enumerate(flat_inputs)}
        plan = []
        for node in nodes:
            in_slots = [slots[id(t)] for t in node.inputs]
            out_slots = []
            for tensor in node.flat_outputs:
                slots[id(tensor)] = len(slots)
                out_slots.append(slots[id(tensor)])
            plan.append(Step(node, in_slots, out_slots))
        for name in [k for k, m in self._modules.items() if isinstance(m, Layer)]:
            if names.get(name) is not self._modules[name]:
                del self._modules[name]
        for layer in layers:
            # Straight into the module registry, not through add_module: any layer name
            # works (``weights``, ``predict``, ``float``...); the model's own attributes
            # still win on attribute access, and the layer is found by name through
            # ``get_layer``, ``named_modules`` and the state_dict's keys.
            self._modules[layer.name] = layer
        self._inputs, self._outputs = inputs, outputs
        self._flat_inputs, self._flat_outputs = flat_inputs, flat_outputs
        self._layers = layers
        self._nodes = nodes
        self._plan = plan
        self._slot_count = len(slots)
        self._output_slots = [slots[id(t)] for t in flat_outputs]
        self._graph_has_masks = any(t._keras_mask is not None for n in nodes
                                    for t in n.flat_outputs)
        self._input_layers = input_layers
        self._input_names = [layer.name for layer in input_layers]
        self._string_layers = string_input_layers(flat_inputs, nodes, self.name)
        self.takes_strings = bool(self._string_layers)
        self._all_simple = all(step.simple for step in plan)
        self._single_output = isinstance(outputs, SymbolicTensor)
        self._fast_plan: list[tuple[Any, Any, int, Any]] | None = None
        #: The fast plan's callables when it is a chain (each step reads the one before).
        self._fast_chain: tuple[Any, ...] | None = None
        for layer in layers:
            layer.note_model(self)
        mark_precision_boundaries(self)
        self.built = True
        self._build_shapes = tree.map_structure(lambda t: t.shape, inputs)

    def get_build_config(self) -> None:
        """A Functional model's graph is its config: there is nothing else to build."""
        return None

    def call_layers_as_modules(self, flag: bool) -> bool:
        """Call every layer through ``nn.Module.__call__`` (``True``), or directly where
        none has hooks (``False``); returns the previous setting. Decided per model: a
        hook registered on one of its layers sets nothing elsewhere."""
        previous = self.calls_layers_as_modules
        self.__dict__["calls_layers_as_modules"] = bool(flag)
        self.layers_changed()
        return previous

    def layers_changed(self) -> None:
        self._fast_plan = None  # rebuilt (or not) by the next full run
        self._fast_chain = None

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for layer in self._layers:  # weak references are not pickled or copied
            layer.note_model(self)

    @property
    def layers(self) -> list[Layer]:
        """Every layer of the graph, inputs first, in the order they run."""
        return list(self._layers)

    def summary_rows(self) -> list[tuple[Layer, Any, list[str]]]:
        """One row per layer call, in the order they run, with the layers feeding it."""
        rows = [(layer, t.shape, []) for layer, t in zip(self._input_layers, self._flat_inputs)]
        for node in self._nodes:
            rows.append((node.layer, tree.map_structure(lambda t: t.shape, node.outputs),
                         [self._source_name(t) for t in node.inputs]))
        return rows

    def _source_name(self, tensor: SymbolicTensor) -> str:
        """The name of the layer a node's input comes from, in this model."""
        for layer, symbol in zip(self._input_layers, self._flat_inputs):
            if symbol is tensor:
                return layer.name
        return tensor.node.layer.name

    @property
    def string_layers(self) -> dict[int, Layer]:
        """The layer each string ``Input`` feeds, by input position (it converts the
        strings into the integer tensor the rest of the graph runs on)."""
        return dict(self._string_layers)

    @property
    def input(self) -> Any:
        """Keras's: the model's symbolic input(s), in the structure it was made with."""
        return self._inputs

    @property
    def output(self) -> Any:
        """Keras's: the model's symbolic output(s), in the structure it was made with."""
        return self._outputs

    @property
    def inputs(self) -> list[SymbolicTensor]:
        return list(self._flat_inputs)

    @property
    def outputs(self) -> list[SymbolicTensor]:
        return list(self._flat_outputs)

    @property
    def input_shape(self) -> Any:
        return tree.map_structure(lambda t: t.shape, self._inputs)

    @property
    def output_shape(self) -> Any:
        return tree.map_structure(lambda t: t.shape, self._outputs)

    # ------------------------------------------------------------------ running
    def forward(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        try:
            return self._run(inputs, training, mask)
        except (RuntimeError, ValueError, TypeError, IndexError) as error:
            self._raise_if_inputs_wrong(inputs, error)
            raise

    def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        return self._run(inputs, training, mask)

    def compute_output_spec(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        """The graph run on symbolic values: each node's layer is asked its
        ``compute_output_spec`` in turn (no data), masks carried by the symbolic tensors."""
        if mask is not None:
            return super().compute_output_spec(inputs, training=training, mask=mask)
        values: list[Any] = [None] * self._slot_count
        flat = self._flat_values(inputs)
        values[: len(flat)] = flat
        for step in self._plan:
            node_values = [values[s] for s in step.in_slots]
            args = fill(step.args, node_values)
            kwargs = fill(step.kwargs, node_values) if step.kwargs else {}
            if training is not None and step.takes_training and "training" not in kwargs:
                kwargs["training"] = training
            outputs = step.layer.compute_output_spec(*args, **kwargs)
            for slot, value in zip(step.out_slots, [outputs] if step.single_output
                                   else tree.flatten(outputs)):
                values[slot] = value
        outputs = [values[s] for s in self._output_slots]
        return outputs[0] if self._single_output else tree.pack_as(self._outputs, outputs)

    def _flat_values(self, inputs: Any) -> list[Any]:
        if len(self._flat_inputs) == 1:
            if isinstance(inputs, (list, tuple)) and len(inputs) == 1 and not isinstance(
                    inputs[0], (str, bytes)):
                inputs = inputs[0]
            elif isinstance(inputs, dict) and len(inputs) == 1:
                inputs = next(iter(inputs.values()))
            return [self._input_value(inputs, 0)]
        if isinstance(inputs, dict) and not isinstance(self._inputs, dict):
            missing = [n for n in self._input_names if n not in inputs]
            if missing:
                raise ShapeError(
                    f"Model '{self.name}' expects inputs named {self._input_names}; the dict "
                    f"given has keys {sorted(inputs)} (missing {missing})."
                )
            return [self._input_value(inputs[n], i) for i, n in enumerate(self._input_names)]
        flat = tree.flatten(inputs) if not self._string_layers else flat_strings(inputs)
        if len(flat) != len(self._flat_inputs):
            raise ShapeError(
                f"Model '{self.name}' expects {len(self._flat_inputs)} inputs "
                f"{self._input_names}, received {len(flat)}."
            )
        return [self._input_value(v, i) for i, v in enumerate(flat)]

    def _input_value(self, value: Any, index: int) -> Any:
        """Input ``index``'s ``value`` as the graph takes it: a tensor in the Input's dtype,
        or, for a string Input, the integers its string layer makes of the strings."""
        if self._string_layers and index in self._string_layers:
            if isinstance(value, (torch.Tensor, SymbolicTensor)):
                return value  # ids converted already, or a symbolic call
            tensor = self._string_layers[index].strings_to_tensor(value)
            device = next((p.device for p in self.parameters()), tensor.device)
            return tensor if device == tensor.device else tensor.to(device)
        return self._as_input(to_tensor(value), self._flat_inputs[index])

    #: Whether inputs are cast to their ``Input``'s dtype (as Keras does); off once the
    #: model was converted to another float dtype (``model.double()``), whose weights then
    #: want inputs of that dtype.
    _cast_inputs = True
    #: No chain until a fast plan is built (also for models pickled before it existed).
    _fast_chain: tuple[Any, ...] | None = None

    def _as_input(self, value: Any, symbol: SymbolicTensor) -> Any:
        """``value`` in the dtype of the graph input ``symbol`` (float64 data into a
        float32 model, say), with a trailing axis of 1 added or removed to match its rank,
        as Keras adjusts inputs ((n, 28, 28) data for an Input((28, 28, 1)))."""
        if not isinstance(value, torch.Tensor):
            return value
        rank = len(symbol.shape)
        if value.dim() == rank - 1 and rank and symbol.shape[-1] == 1:
            value = value.unsqueeze(-1)
        elif value.dim() == rank + 1 and value.shape[-1] == 1:
            value = value.squeeze(-1)
        if value.dtype != symbol.dtype and self._cast_inputs and symbol.dtype is not STRING:
            return value.to(symbol.dtype)
        return value

    def _apply(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """``nn.Module._apply`` (``.to``, ``.double()``, ``.half()``...), noting whether the
        weights still have the inputs' float dtype."""
        result = super()._apply(fn, *args, **kwargs)
        floats = {p.dtype for p in self.parameters() if p.is_floating_point()}
        inputs = {s.dtype for s in getattr(self, "_flat_inputs", ())
                  if s.dtype.is_floating_point}
        self.__dict__["_cast_inputs"] = not floats or not inputs or floats <= inputs
        return result

    def _run(self, inputs: Any, training: Any, mask: Any) -> Any:
        chain = self._fast_chain
        if (chain is not None and type(inputs) is torch.Tensor and mask is None
                and (training is None or training == self.training)):
            # A stack of one-tensor layers (a Sequential): each output feeds the next.
            symbol = self._flat_inputs[0]
            value = inputs if (inputs.dtype is symbol.dtype or not self._cast_inputs) \
                and inputs.dim() == len(symbol.shape) else self._as_input(inputs, symbol)
            for call in chain:
                value = call(value)
            return value
        values: list[Any] = [None] * self._slot_count
        if type(inputs) is torch.Tensor and len(self._flat_inputs) == 1:
            symbol = self._flat_inputs[0]
            values[0] = inputs if (inputs.dtype is symbol.dtype or not self._cast_inputs) \
                and inputs.dim() == len(symbol.shape) else self._as_input(inputs, symbol)
        else:
            flat = self._flat_values(inputs)
            values[: len(flat)] = flat
        if training is not None and training == self.training:
            training = None  # the layers' own mode already says so
        if mask is not None or self._graph_has_masks:
            return self._run_masked(values, training, mask)
        fast = self._fast_plan
        if fast is not None and training is None:
            # Steps of one tensor, or of one list of tensors (ops on several tensors,
            # attention), call their layer's computation directly; any other step runs as
            # in the full plan.
            for call, source, target, kwargs in fast:
                if target < 0:
                    self._run_step(call, values, None, None)
                elif type(source) is int:
                    values[target] = call(values[source])
                else:
                    values[target] = call([values[s] for s in source], **kwargs)
            outputs = [values[s] for s in self._output_slots]
            return outputs[0] if self._single_output else tree.pack_as(self._outputs, outputs)
        for step in self._plan:
            if step.simple and (training is None or not step.takes_training):
                values[step.out_slots[0]] = step.layer(values[step.in_slots[0]])
            else:
                self._run_step(step, values, training, None)
        if fast is None and not self.calls_layers_as_modules and not any(
                step.layer.has_hooks for step in self._plan):
            # After a first full run every layer is built and every Lambda has checked its
            # declared shape, so their direct callables are final.
            self._fast_plan = [fast_entry(step) for step in self._plan]
            self._fast_chain = chain_of(self._fast_plan, self._output_slots,
                                         len(self._flat_inputs), self._graph_has_masks,
                                         self._single_output)
        outputs = [values[s] for s in self._output_slots]
        return tree.pack_as(self._outputs, outputs)

    def _run_step(self, step: Step, values: list[Any], training: Any, masks: Any) -> None:
        node_values = [values[s] for s in step.in_slots]
        args = fill(step.args, node_values)
        kwargs = fill(step.kwargs, node_values) if step.kwargs else {}
        if training is not None and step.takes_training and "training" not in kwargs:
            kwargs["training"] = training
        input_mask = None
        if masks is not None:
            node_masks = [masks[s] for s in step.in_slots]
            if any(m is not None for m in node_masks):
                input_mask = fill(step.args[0], node_masks)
                if step.takes_mask and kwargs.get("mask") is None:
                    kwargs["mask"] = input_mask
            if step.layer._call_mask_args:
                for key, found in argument_masks(step.layer, step.args, step.kwargs,
                                                 lambda t: fill_masks(t, node_masks)):
                    kwargs[key] = found
        outputs = step.layer(*args, **kwargs)
        flat = [outputs] if step.single_output else tree.flatten(outputs)
        for slot, value in zip(step.out_slots, flat):
            values[slot] = value
        if masks is not None:
            if step.is_model:
                out_masks = [getattr(v, "_keras_mask", None) for v in flat]
            else:
                computed = step.layer.compute_mask(args[0], input_mask)
                out_masks = [computed] if step.single_output else (
                    tree.flatten(computed) if computed is not None else [None] * len(flat))
            for slot, value in zip(step.out_slots, out_masks):
                masks[slot] = value

    def _run_masked(self, values: list[Any], training: Any, mask: Any) -> Any:
        masks: list[Any] = [None] * self._slot_count
        if mask is not None:
            for index, value in enumerate(tree.flatten(mask)[: len(self._flat_inputs)]):
                masks[index] = value
        for step in self._plan:
            self._run_step(step, values, training, masks)
        outputs = [values[s] for s in self._output_slots]
        for slot, tensor in zip(self._output_slots, outputs):
            if masks[slot] is not None and isinstance(tensor, torch.Tensor):
                tensor._keras_mask = masks[slot]
        return tree.pack_as(self._outputs, outputs)

    def _raise_if_inputs_wrong(self, inputs: Any, error: Exception) -> None:
        try:
            flat = self._flat_values(inputs)
        except ShapeError as structure_error:
            raise structure_error from error
        for value, symbol in zip(flat, self._flat_inputs):
            if not isinstance(value, torch.Tensor):
                continue
            got = tuple(value.shape)
            expected = symbol.shape
            if len(got) != len(expected) or any(
                e is not None and e != g for e, g in zip(expected, got)
            ):
                batchless = (None, *got[1:]) if got else got
                detail = f" The first layer to fail said: {error}" if isinstance(
                    error, ShapeError) else ""
                raise ShapeError(
                    f"Model '{self.name}': input '{symbol.name}' expects shape {expected}, "
                    f"received {batchless} (full shape {got}). Reshape the data, or build the "
                    f"model for that shape.{detail}"
                ) from error
            if value.dtype != symbol.dtype and value.is_floating_point():
                raise ShapeError(
                    f"Model '{self.name}': input '{symbol.name}' expects dtype "
                    f"{dtype_name(symbol.dtype)}, received {dtype_name(value.dtype)}. Cast it "
                    f"with .to(torch.{dtype_name(symbol.dtype)})."
                ) from error

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        node_index: dict[int, tuple[str, int]] = {}
        per_layer: dict[str, list[Node]] = {}
        inputs = {id(t): [layer.name, 0, 0]
                  for layer, t in zip(self._input_layers, self._flat_inputs)}
        for node in self._nodes:
            nodes = per_layer.setdefault(node.layer.name, [])
            node_index[id(node)] = (node.layer.name, len(nodes))
            nodes.append(node)

        def ref(tensor: SymbolicTensor) -> list[Any]:
            if id(tensor) in inputs:
                return inputs[id(tensor)]
            name, index = node_index[id(tensor.node)]
            return [name, index, tensor.index]

        def encode(value: Any, node: Node) -> Any:
            if type(value) is Slot:
                return {"__ref__": ref(node.inputs[value.index])}
            if isinstance(value, (list, tuple)):
                encoded = [encode(v, node) for v in value]
                return encoded if isinstance(value, list) else {"__tuple__": encoded}
            if isinstance(value, dict):
                return {"__dict__": {k: encode(v, node) for k, v in value.items()}}
            if value is None or isinstance(value, (bool, int, float, str)):
                return value
            raise SerializationError(
                f"Model '{self.name}': layer '{node.layer.name}' was called with "
                f"{value!r} ({type(value).__name__}), which a config cannot hold."
            )

        layer_entries = []
        for layer in self._layers:
            entry = serialize_layer(layer, build_config=True)
            entry["inbound_nodes"] = [
                {"args": encode(list(n.args), n), "kwargs": encode(n.kwargs, n)}
                for n in per_layer.get(layer.name, [])
            ]
            layer_entries.append(entry)
        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": layer_entries,
            "input_layers": tree.map_structure(ref, self._inputs),
            "output_layers": tree.map_structure(ref, self._outputs),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict | None = None) -> Functional:
        inputs, outputs = rebuild_graph(config, custom_objects)
        return cls(inputs, outputs, name=config.get("name"),
                   trainable=config.get("trainable", True))

