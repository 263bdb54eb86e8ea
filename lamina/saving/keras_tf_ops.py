"""tf-keras's ``TFOpLambda`` and ``SlicingOpLambda`` layers as lamina op Lambdas.

When a tf-keras (TF 2.4-2.15) Functional model applies a TensorFlow function or an operator
to a KerasTensor (``tf.reduce_mean(x, axis=1)``, ``x + 1.0``, ``x[:, 0]``), tf-keras
records the call as a layer (``tf_keras/layers/core/tf_op_layer.py``):

- ``config["function"]`` is the function's canonical TensorFlow name without ``tf.``
  (``"math.reduce_mean"``, ``"concat"``, ``"__operators__.add"``, ``"compat.v1.squeeze"``);
  the layer is named ``"tf." + function`` (``"tf.math.reduce_mean_1"``).
- The call is the layer's one inbound node (``Node.serialize`` in
  ``tf_keras/engine/node.py``): its first argument keeps its structure (the layer sets
  ``_preserve_input_structure_in_config``), so one tensor is ``[layer, node, tensor,
  kwargs]`` and a list of tensors ``[[...], [...]]``; a constant first argument is
  ``["_CONSTANT_VALUE", -1, value, kwargs]`` (``1.0 - x``). Every other argument is in
  ``kwargs`` by its parameter name, tensors as ``[layer, node, tensor]``.
- ``x[...]`` is ``__operators__.getitem`` with ``kwargs["slice_spec"]``: a ``slice`` is
  ``{"start", "stop", "step"}``, ``...`` is ``{"class_name": "__ellipsis__"}``,
  ``tf.newaxis`` is ``null``, and a tuple is a list.

The function name is looked up in lamina's table of TensorFlow names
(:data:`lamina.functions.keras_lambda_names.TF`), which also renames the arguments; the
call becomes an ``op`` function entry whose template holds the constant arguments, with the
tensors as the Lambda's inputs. A function outside the table, or an argument it does not
map, is a :class:`~lamina.errors.LoadError` naming it.

lamina's layer names may not contain ``.``: :func:`undotted_layer_names` renames such layers
(``tf.math.reduce_mean`` -> ``tf_math_reduce_mean``) and every reference to them.
"""

from __future__ import annotations

from typing import Any

from lamina.errors import LoadError
from lamina.functions.allowlist import OPS
from lamina.functions.keras_tf_table import TF, Spec

#: tf-keras's op layer classes.
OP_LAYER_CLASSES = ("TFOpLambda", "SlicingOpLambda")
#: Operators of ``tf.Tensor`` recorded under ``__operators__`` (TensorFlow's ``math_ops``).
_OPERATORS = {"__operators__.add": "add", "__operators__.eq": "equal",
              "__operators__.ne": "not_equal"}
#: Canonical TensorFlow names the table knows by another of their aliases.
_ALIASES = {"floormod": "mod"}
#: Namespaces whose functions are the table's (``tf.math.x``, ``tf.compat.v1.x``...).
_PREFIXES = ("compat.v1.math.", "compat.v1.nn.", "compat.v1.linalg.", "compat.v1.",
             "math.", "nn.", "linalg.", "")
_CONSTANT = "_CONSTANT_VALUE"
_SLICE_KEYS = frozenset({"start", "stop", "step"})


def tf_op_layer(entry: dict[str, Any]) -> dict[str, Any]:
    """A tf-keras ``TFOpLambda``/``SlicingOpLambda`` entry as a lamina op Lambda entry.

    Args:
        entry: The layer entry, with ``inbound_nodes`` in tf-keras's list form.

    Returns:
        A ``Lambda`` entry whose function is ``{"kind": "op", ...}``.

    Raises:
        LoadError: The function is not one lamina maps, or an argument cannot be mapped.

    Example:
        >>> entry = {"class_name": "TFOpLambda", "name": "tf.math.reduce_mean",
        ...          "config": {"name": "tf.math.reduce_mean", "function": "math.reduce_mean"},
        ...          "inbound_nodes": [["dense", 0, 0, {"axis": 1, "keepdims": True}]]}
        >>> lam = tf_op_layer(entry)
        >>> lam["config"]["function"]["op"], lam["inbound_nodes"][0]["args"]
        ('mean', [{'__ref__': ['dense', 0, 0]}])
    """
    config = entry.get("config")
    name = str(config.get("name", entry.get("name"))) if isinstance(config, dict) else "?"
    function = config.get("function") if isinstance(config, dict) else None
    where = f"Layer '{name}' ({entry.get('class_name')}, tf.{function})"
    if not isinstance(function, str):
        raise LoadError(f"{where}: a tf-keras op layer must name its function.")
    nodes = entry.get("inbound_nodes")
    if not isinstance(nodes, list) or len(nodes) != 1:
        raise LoadError(f"{where}: a tf-keras op layer must be called exactly once.")
    call = _Call(where)
    first, kwargs = call.first_argument(nodes[0])
    kwargs.pop("name", None)
    if function == "__operators__.getitem":
        op, args, keywords = "get_item", [first, call.index(kwargs, function)], {}
    else:
        spec = _spec(function, where)
        op = spec.target
        args, keywords = _bind(spec, first, {k: call.value(v) for k, v in kwargs.items()},
                               where)
    if op not in OPS:
        raise LoadError(f"{where}: lamina's op '{op}' is not in its safe subset.")
    if not call.refs:
        raise LoadError(f"{where}: the call has no tensor input.")
    template = {"__tuple__": [{"__tuple__": args}, {"__dict__": keywords}]}
    node = {"args": [call.refs[0]] if len(call.refs) == 1 else [call.refs],
            "kwargs": {"__dict__": {}}}
    return {"class_name": "Lambda", "name": entry.get("name", name),
            "config": {"name": name, "function": {"kind": "op", "op": op,
                                                  "count": len(call.refs),
                                                  "template": template}},
            "inbound_nodes": [node]}


def _spec(function: str, where: str) -> Spec:
    if function in _OPERATORS:
        return TF[_OPERATORS[function]]
    for prefix in _PREFIXES:
        rest = function[len(prefix):]
        if function.startswith(prefix) and rest and "." not in rest:
            spec = TF.get(_ALIASES.get(rest, rest))
            if spec is not None and spec.params != ("equation",):
                return spec
            break
    raise LoadError(f"{where}: tf.{function} is not in lamina's table of TensorFlow "
                    "functions, so the model cannot be converted. Rebuild that step with "
                    "a Keras layer, or a Lambda calling a function lamina maps (docs/keras.md).")


def _bind(spec: Spec, first: Any, kwargs: dict[str, Any], where: str
          ) -> tuple[list[Any], dict[str, Any]]:
    """TensorFlow's arguments by name as lamina's op arguments, per the table's spec."""
    pairs = spec.pairs()
    aliases = dict(spec.aliases)
    bound = {pairs[0][0]: first}
    known = {source for source, _ in pairs}
    for key, value in kwargs.items():
        source = aliases.get(key, key)
        if source not in known or source in bound:
            raise LoadError(f"{where}: the argument '{key}' is not one lamina maps for this "
                            "function.")
        bound[source] = value
    targets: dict[str, Any] = dict(spec.defaults)
    for source, target in pairs:
        if source not in bound:
            continue
        if target == "-":
            if bound[source] not in (None, False):
                raise LoadError(f"{where}: {source}={bound[source]!r} is only converted at "
                                "its default value.")
            continue
        targets[target] = bound[source]
    order = [target for _, target in pairs if target != "-"]
    order += [key for key in targets if key not in order]
    args: list[Any] = []
    for key in order[:spec.positional]:
        if key not in targets:
            break
        args.append(targets.pop(key))
    return args, {key: targets[key] for key in order if key in targets}


def _is_node_data(value: Any) -> bool:
    """tf-keras's ``[layer, node, tensor]`` (or with kwargs) reference to a tensor."""
    return (isinstance(value, list) and len(value) in (3, 4) and isinstance(value[0], str)
            and type(value[1]) is int and type(value[2]) is int
            and (len(value) == 3 or isinstance(value[3], dict)))


class _Call:
    """Reads one op-layer call; collects its tensor inputs as lamina references."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.refs: list[dict[str, Any]] = []

    def slot(self, data: list[Any]) -> dict[str, Any]:
        if data[1] < 0:
            raise LoadError(f"{self.where}: a tensor reference has node index {data[1]}.")
        self.refs.append({"__ref__": [data[0], data[1], data[2]]})
        return {"__slot__": len(self.refs) - 1}

    def first_argument(self, node: Any) -> tuple[Any, dict[str, Any]]:
        """The call's first argument (its structure kept) and its other arguments."""
        found: list[dict[str, Any]] = []

        def walk(item: Any) -> Any:
            if isinstance(item, list) and item and item[0] == _CONSTANT:
                if len(item) not in (3, 4) or item[1] != -1:
                    raise LoadError(f"{self.where}: a constant input must be "
                                    "['_CONSTANT_VALUE', -1, value, kwargs].")
                if len(item) == 4 and isinstance(item[3], dict):
                    found.append(item[3])
                return self.value(item[2])
            if _is_node_data(item):
                if len(item) == 4:
                    found.append(item[3])
                return self.slot(item)
            if isinstance(item, list) and item:
                return [walk(sub) for sub in item]
            raise LoadError(f"{self.where}: its call is not tf-keras node data: {item!r:.80}.")

        first = walk(node)
        return first, dict(found[-1]) if found else {}

    def value(self, value: Any) -> Any:
        """A keyword argument: tensors become slots, structures lamina's constant form."""
        if _is_node_data(value) and len(value) == 3:
            return self.slot(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            if "class_name" in value:
                raise LoadError(f"{self.where}: an argument of class '{value['class_name']}' "
                                "cannot be converted.")
            return {"__dict__": {str(k): self.value(v) for k, v in value.items()}}
        if value is not None and not isinstance(value, (bool, int, float, str)):
            raise LoadError(f"{self.where}: an argument {value!r:.40} cannot be converted.")
        return value

    def index(self, kwargs: dict[str, Any], function: str) -> Any:
        """``slice_spec`` of ``__operators__.getitem`` as a Python index."""
        extra = sorted(set(kwargs) - {"slice_spec", "var"})
        if "slice_spec" not in kwargs or extra or kwargs.get("var") is not None:
            raise LoadError(f"{self.where}: tf.{function} takes slice_spec only; received "
                            f"{sorted(kwargs)}.")
        spec = kwargs["slice_spec"]
        if isinstance(spec, list):
            return {"__tuple__": [self.index_item(item) for item in spec]}
        return self.index_item(spec)

    def index_item(self, item: Any) -> Any:
        if isinstance(item, dict) and item.get("class_name") == "__ellipsis__":
            return {"__ellipsis__": True}
        if isinstance(item, dict) and set(item) == _SLICE_KEYS:
            parts = [self.index_item(item[key]) for key in ("start", "stop", "step")]
            step = parts[2]
            if step is not None and (not isinstance(step, int) or step <= 0):
                raise LoadError(f"{self.where}: the slice step {step!r} cannot be converted "
                                "(torch tensors take positive steps only).")
            return {"__slice__": parts}
        if _is_node_data(item) and len(item) == 3:
            return self.slot(item)
        if item is None or type(item) is int:
            return item
        raise LoadError(f"{self.where}: the index {item!r:.60} cannot be converted.")


def undotted_layer_names(config: dict[str, Any]) -> dict[str, Any]:
    """A model config whose layers named with ``.`` are renamed, with every reference.

    tf-keras names op layers after their function (``tf.math.reduce_mean``); lamina's layer
    names may not contain ``.``, which becomes ``_`` (made unique). References are the
    tf-keras lists ``[layer, node, tensor(, kwargs)]`` of ``inbound_nodes`` (and inside
    their kwargs), ``input_layers`` and ``output_layers``, and Keras 3's ``keras_history``.

    Example:
        >>> config = {"layers": [{"name": "tf.nn.relu", "config": {"name": "tf.nn.relu"}}],
        ...           "output_layers": [["tf.nn.relu", 0, 0]]}
        >>> undotted_layer_names(config)["output_layers"]
        [['tf_nn_relu', 0, 0]]
    """
    layers = config.get("layers")
    if not isinstance(layers, list):
        return config
    names = {str(layer.get("name", (layer.get("config") or {}).get("name")))
             for layer in layers if isinstance(layer, dict)}
    renames: dict[str, str] = {}
    for old in sorted(name for name in names if "." in name):
        new = base = old.replace(".", "_")
        count = 1
        while new in names or new in renames.values():
            new, count = f"{base}_{count}", count + 1
        renames[old] = new
    if not renames:
        return config

    def swap(value: Any) -> Any:
        if isinstance(value, list):
            if value and isinstance(value[0], str) and value[0] in renames and (
                    len(value) in (3, 4) and all(type(v) is int for v in value[1:3])):
                return [renames[value[0]], *(swap(v) for v in value[1:])]
            return [swap(v) for v in value]
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        return value

    out_layers = []
    for layer in layers:
        if not isinstance(layer, dict):
            out_layers.append(layer)
            continue
        layer = dict(layer)
        if layer.get("name") in renames:
            layer["name"] = renames[layer["name"]]
        inner = layer.get("config")
        if isinstance(inner, dict) and inner.get("name") in renames:
            layer["config"] = {**inner, "name": renames[inner["name"]]}
        if "inbound_nodes" in layer:
            layer["inbound_nodes"] = swap(layer["inbound_nodes"])
        out_layers.append(layer)
    out = {**config, "layers": out_layers}
    for key in ("input_layers", "output_layers"):
        if key in out:
            out[key] = swap(out[key])
    return out


def tf_call_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A tf-keras call's kwargs in lamina's graph form: ``[layer, node, tensor]`` lists are
    tensors (``mha(query, value)`` stores ``{"value": ["v", 0, 0]}``), as tf-keras's
    ``Functional`` reads them.

    Example:
        >>> tf_call_kwargs({"value": ["v", 0, 0], "training": False})
        {'__dict__': {'value': {'__ref__': ['v', 0, 0]}, 'training': False}}
    """

    def convert(value: Any) -> Any:
        if _is_node_data(value) and len(value) == 3:
            return {"__ref__": list(value)}
        if isinstance(value, list):
            return [convert(v) for v in value]
        if isinstance(value, dict):
            return {"__dict__": {str(k): convert(v) for k, v in value.items()}}
        return value

    return convert(kwargs)


def single_inputs_outputs(config: dict[str, Any]) -> dict[str, Any]:
    """A tf-keras Functional config whose one input (output) is not a list of one.

    tf-keras always writes ``input_layers``/``output_layers`` as lists, and its
    ``Functional`` unwraps a list of one tensor (``tf_keras/engine/functional.py``): such a
    model takes and returns a tensor, not a list.

    Example:
        >>> single_inputs_outputs({"output_layers": [["head", 0, 0]]})
        {'output_layers': ['head', 0, 0]}
    """
    out = dict(config)
    for key in ("input_layers", "output_layers"):
        value = out.get(key)
        if isinstance(value, list) and len(value) == 1 and _is_node_data(value[0]):
            out[key] = value[0]
    return out
