"""A model config written by Keras 3 or tf-keras, made into one lamina rebuilds.

lamina's layer configs use Keras's keys, so most of a Keras config carries over as it is.
What differs is translated here, and nothing else is touched:

- Functional graphs: Keras 3 writes each call as ``{"args", "kwargs"}`` holding
  ``__keras_tensor__`` entries, tf-keras as ``[layer, node, tensor, kwargs]`` lists; both
  become lamina's ``__ref__`` form.
- tf-keras spellings: ``batch_input_shape`` (an ``InputLayer`` before the first layer of a
  Sequential), ``axis: [3]``, the mixed-precision ``Policy``, and options that only choose an
  implementation (``fused``, ``implementation``) or are at their neutral value
  (``time_major: False``, ``renorm: False``). Any other value of those is refused by name.
- ``Lambda`` functions: bytecode is translated to checked source, named functions resolve
  from lamina's ops or ``custom_objects`` (``keras_functions``).

Fields lamina does not know are left in place, so the layer refuses them by name rather
than lamina silently dropping something that changes results.
"""

from __future__ import annotations

import re
from typing import Any

from lamina.errors import LimitExceededError, LoadError
from lamina.functions.allowlist import OPS
from lamina.layers.serialization import builtin_classes
from lamina.saving.keras_functions import TF_KERAS_KEYS, TranslatedFunction, function_entry
from lamina.saving.keras_tf_layers import causal_calls, tf_keras_layer_config, written_by_tf_keras
from lamina.saving.keras_tf_ops import (
    OP_LAYER_CLASSES,
    single_inputs_outputs,
    tf_call_kwargs,
    tf_op_layer,
    undotted_layer_names,
)
from lamina.utils.object_registry import find_object

_MODELS = ("Functional", "Model", "Sequential")
#: tf-keras options dropped at these values (they choose an implementation, or are off).
_NEUTRAL: dict[str, tuple[Any, ...]] = {
    "time_major": (False,), "renorm": (False,), "renorm_clipping": (None,),
    "virtual_batch_size": (None,), "adjustment": (None,), "fused": (None, True, False),
    "implementation": (1, 2), "ragged": (False, None), "sparse": (False, None),
}
_RENORM_ONLY = ("renorm_momentum",)
#: Most characters of Lambda bytecode (base64) read from one file, all functions together:
#: translating costs about 0.3 s per MiB (every Python version is tried).
MAX_BYTECODE_PER_FILE = 2 * 2 ** 20


class KerasConfigReader:
    """Translates one Keras model entry; collects the Lambda functions it translated.

    Args:
        custom_objects: The user's classes and functions by name.
        python_version: The Python version that wrote Lambda bytecode, when known.
    """

    def __init__(self, custom_objects: dict[str, Any] | None = None,
                 python_version: str | None = None) -> None:
        self.custom_objects = custom_objects
        self.python_version = python_version
        self.functions: list[TranslatedFunction] = []
        self.bytecode_chars = 0
        self.tf_keras: bool | None = None

    def layer(self, entry: Any) -> dict[str, Any]:
        """The lamina form of one layer (or model) entry."""
        if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
            raise LoadError(f"A Keras layer entry must be an object with a class_name; "
                            f"received {type(entry).__name__}.")
        entry = causal_calls(entry)
        config = entry.get("config")
        if entry["class_name"] == "Sequential" and isinstance(config, list):
            config = {"name": "sequential", "layers": config}  # Keras 2.0-2.2.2's form
        if not isinstance(config, dict):
            raise LoadError(f"Keras layer entry '{entry['class_name']}' has no config object.")
        class_name = entry["class_name"]
        if class_name in _MODELS and self.tf_keras is None:
            self.tf_keras = written_by_tf_keras(entry)
        if class_name in OP_LAYER_CLASSES:
            return tf_op_layer(entry)
        if str(entry.get("module", "")).startswith("keras.src.ops.") or (
                "module" not in entry and _snake(class_name) in OPS
                and find_object(class_name, self.custom_objects) is None
                and class_name not in builtin_classes()):
            return _op_layer(entry, config)
        out = {**entry, "config": self.layer_config(class_name, dict(config))}
        registered = entry.get("registered_name")
        if isinstance(registered, str) and ">" in registered:
            # A class registered with Keras (register_keras_serializable): lamina's registry
            # and custom_objects know it by the same "package>Name" (or by its short name).
            out["class_name"] = registered
        if class_name == "Model":
            out["class_name"] = "Functional"
        if "inbound_nodes" in entry:
            out["inbound_nodes"] = [_node(node, entry.get("name")) for node in
                                    _list(entry["inbound_nodes"], "inbound_nodes")]
        return out

    def layer_config(self, class_name: str, config: dict[str, Any]) -> dict[str, Any]:
        name = str(config.get("name"))
        if class_name in _MODELS:
            config = undotted_layer_names(config)
            if self.tf_keras and class_name != "Sequential":
                config = single_inputs_outputs(config)
            layers = [self.layer(layer) for layer in _list(config.get("layers", []), "layers")]
            if class_name == "Sequential":
                layers = _sequential_input(layers, config)
            config = {**config, "layers": layers}
            return config
        for key in ("layer", "forward_layer", "backward_layer", "cell"):
            if isinstance(config.get(key), dict) and "class_name" in config[key]:
                config[key] = self.layer(config[key])
        if isinstance(config.get("cells"), list):
            config["cells"] = [self.layer(cell) for cell in config["cells"]]
        if class_name == "InputLayer" and "batch_input_shape" in config:
            config["batch_shape"] = config.pop("batch_input_shape")
        elif "batch_input_shape" in config:
            config["input_shape"] = config.pop("batch_input_shape")[1:]
        axis = config.get("axis")
        if isinstance(axis, list) and len(axis) == 1 and class_name != "Permute":
            config["axis"] = int(axis[0])
        tf_keras_layer_config(class_name, config, name, bool(self.tf_keras))
        _drop_neutral(config, name, class_name)
        config["dtype"] = _dtype(config.get("dtype"))
        if class_name == "Lambda":
            self.lambda_config(config, name)
        return config

    def lambda_config(self, config: dict[str, Any], name: str) -> None:
        """Replace a Lambda's stored functions with lamina function entries, in place."""
        stored = {key: config.pop(key, None) for key in TF_KERAS_KEYS}
        roles = (("function", stored["function_type"], stored["module"]),
                 ("output_shape", stored["output_shape_type"], stored["output_shape_module"]),
                 ("mask", None, None))
        for role, stored_as, module in roles:
            value = config.get(role)
            if value is None or stored_as == "raw":
                continue
            if role != "function" and stored_as is None and not isinstance(value, dict):
                continue  # an output shape given as a tuple
            self.bytecode_chars += _code_length(value)
            if self.bytecode_chars > MAX_BYTECODE_PER_FILE:
                raise LimitExceededError(
                    f"Lambda '{name}' {role}: the file's Lambda functions hold more than "
                    f"{MAX_BYTECODE_PER_FILE} characters of bytecode in all; lamina reads "
                    "no more from one file (real lambdas take a few hundred each).")
            entry, report = function_entry(value, name, role, self.custom_objects,
                                           self.python_version, stored_as, module)
            config[role] = entry
            self.functions.append(report)
        arguments = config.pop("arguments", None)
        if arguments:
            config["arguments"] = _constant(arguments, name)


def _code_length(value: Any) -> int:
    """How many characters of bytecode a stored function holds (0 for a name)."""
    if isinstance(value, dict) and isinstance(value.get("config"), dict):
        value = value["config"].get("code")
    elif isinstance(value, list) and value:
        value = value[0]
    return len(value) if isinstance(value, str) else 0


def _constant(value: Any, layer: str) -> Any:
    """A Keras Lambda argument (plain JSON) in lamina's constant form."""
    if isinstance(value, list):
        return [_constant(v, layer) for v in value]
    if isinstance(value, dict):
        if "class_name" in value:
            raise LoadError(f"Lambda '{layer}': the argument of class '{value['class_name']}' "
                            "cannot be converted; pass plain numbers, strings and lists.")
        return {"__dict__": {str(k): _constant(v, layer) for k, v in value.items()}}
    return value


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise LoadError(f"A Keras config's '{what}' must be a list; received "
                        f"{type(value).__name__}.")
    return value


def _dtype(value: Any) -> Any:
    """tf-keras's mixed-precision ``Policy`` is Keras 3's ``DTypePolicy``."""
    if isinstance(value, dict) and value.get("class_name") == "Policy":
        return {"module": "keras", "class_name": "DTypePolicy",
                "config": value.get("config", {}), "registered_name": None}
    return value


def _drop_neutral(config: dict[str, Any], name: str, class_name: str) -> None:
    for key, neutral in _NEUTRAL.items():
        if key not in config:
            continue
        if config[key] not in neutral:
            raise LoadError(
                f"Layer '{name}' ({class_name}): {key}={config[key]!r} from the Keras file "
                "changes results and lamina has no equivalent; the model cannot be converted "
                f"as it is. Re-save it in Keras with {key} at its default.")
        del config[key]
    if "renorm" not in config:
        for key in _RENORM_ONLY:
            config.pop(key, None)


def _sequential_input(layers: list[dict[str, Any]], config: dict[str, Any]
                      ) -> list[dict[str, Any]]:
    """tf-keras keeps a Sequential's input shape on its first layer: make it an InputLayer."""
    if not layers or layers[0].get("class_name") == "InputLayer":
        return layers
    first = layers[0]["config"]
    shape = first.pop("input_shape", None)
    if shape is None and isinstance(config.get("build_input_shape"), list):
        shape = config["build_input_shape"][1:]
    if shape is None:
        return layers
    dtype = first.get("dtype") if isinstance(first.get("dtype"), str) else "float32"
    if dtype not in ("float32", "float64", "float16", "int32", "int64", "bfloat16"):
        dtype = "float32"
    entry = {"class_name": "InputLayer",
             "config": {"batch_shape": [None, *shape], "dtype": dtype,
                        "name": f"{layers[0]['config'].get('name', 'layer')}_input"}}
    return [entry, *layers]


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _op_layer(entry: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """A Keras op applied in a graph (``NotEqual``, ``GetItem``...) as a lamina op Lambda.

    The op's constructor arguments (``axis``...) become keyword arguments of the call; the
    call's tensors become the Lambda's inputs, in order.
    """
    name = str(config.get("name", entry.get("name")))
    op = _snake(entry["class_name"])
    nodes = _list(entry.get("inbound_nodes", []), "inbound_nodes")
    if len(nodes) != 1 or not isinstance(nodes[0], dict):
        raise LoadError(f"Op layer '{name}' ({entry['class_name']}) must be called once.")
    refs: list[Any] = []

    def slot(value: Any) -> Any:
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            refs.append(_tensor(value, name))
            return {"__slot__": len(refs) - 1}
        if isinstance(value, list):
            return [slot(v) for v in value]
        return _tensor(value, name)

    args = [slot(arg) for arg in _list(nodes[0].get("args", []), "args")]
    kwargs = {k: slot(v) for k, v in (nodes[0].get("kwargs") or {}).items()}
    kwargs.update({k: _tensor(v, name) for k, v in config.items() if k != "name"})
    template = {"__tuple__": [{"__tuple__": args}, {"__dict__": kwargs}]}
    function = {"kind": "op", "op": op, "count": len(refs), "template": template}
    node = {"args": [refs[0]] if len(refs) == 1 else [refs], "kwargs": {"__dict__": {}}}
    return {"class_name": "Lambda", "name": entry.get("name", name),
            "config": {"name": name, "function": function}, "inbound_nodes": [node]}


#: Keras 3's markers for Python values in a call, and lamina's for the same values.
def _marker(value: dict[str, Any], layer: Any) -> Any:
    kind, config = value.get("class_name"), value.get("config")
    if kind == "__slice__" and isinstance(config, dict):
        return {"__slice__": [_tensor(config.get(k), layer) for k in ("start", "stop", "step")]}
    if kind == "__ellipsis__":
        return {"__ellipsis__": True}
    if kind == "__tuple__" and isinstance(config, dict):
        return {"__tuple__": [_tensor(v, layer) for v in _list(config.get("value"), "tuple")]}
    raise LoadError(f"Layer '{layer}': a call argument of class '{kind}' cannot be converted.")


def _tensor(value: Any, layer: Any) -> Any:
    """Keras 3's serialized call argument in lamina's graph form."""
    if isinstance(value, list):
        return [_tensor(v, layer) for v in value]
    if isinstance(value, dict):
        if value.get("class_name") in ("__slice__", "__ellipsis__", "__tuple__"):
            return _marker(value, layer)
        if value.get("class_name") == "__keras_tensor__":
            history = value.get("config", {}).get("keras_history")
            if (not isinstance(history, list) or len(history) != 3
                    or not isinstance(history[0], str)
                    or not all(type(v) is int and v >= 0 for v in history[1:])):
                raise LoadError(f"Layer '{layer}': a call argument's keras_history must be "
                                f"[layer, node, tensor]; received {history!r}.")
            return {"__ref__": history}
        if "class_name" in value and "config" in value:
            return _marker(value, layer)
        return {"__dict__": {k: _tensor(v, layer) for k, v in value.items()}}
    return value


def _node(node: Any, layer: Any) -> dict[str, Any]:
    """One call of a layer, from Keras 3's ``{"args", "kwargs"}`` or tf-keras's list form."""
    if isinstance(node, dict):
        args = node.get("args", [])
        kwargs = node.get("kwargs", {})
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise LoadError(f"Layer '{layer}': a call must hold an args list and a kwargs "
                            "object.")
        return {"args": _tensor(args, layer), "kwargs": _tensor(kwargs, layer)}
    if not isinstance(node, list) or not node:
        raise LoadError(f"Layer '{layer}': a tf-keras call must be a non-empty list of "
                        f"[layer, node, tensor, kwargs]; received {node!r:.80}.")
    refs = []
    kwargs: dict[str, Any] = {}
    for item in node:
        if (not isinstance(item, list) or len(item) not in (3, 4) or not isinstance(item[0], str)
                or not all(type(v) is int and v >= 0 for v in item[1:3])):
            raise LoadError(f"Layer '{layer}': a tf-keras inbound tensor must be [layer, node, "
                            f"tensor, kwargs]; received {item!r:.80}.")
        refs.append({"__ref__": item[:3]})
        if len(item) == 4 and isinstance(item[3], dict):
            kwargs = item[3]
    args = [refs[0]] if len(refs) == 1 else [refs]
    return {"args": args, "kwargs": tf_call_kwargs(kwargs)}
