"""The compile configuration and optimizer state, as ``model.save`` stores them.

``lamina.saving`` asks the model for ``training_state(include_optimizer)`` and gives
``restore_training_state(config, tensors, aliases)`` back at load. The config holds only
names and JSON numbers: losses and metrics by Keras name or lamina class name with their
arguments, the optimizer by its ``torch.optim`` class name with its parameter groups
(parameters listed by their ``state_dict`` names). Loading resolves those names in
lamina's and ``torch.optim``'s own tables, never by importing anything named in the file.
A compile with a custom function (loss or metric) is not saved: the model loads
uncompiled, as in Keras.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from lamina import losses, metrics, optimizers
from lamina.errors import ArgumentError, CorruptArchiveError
from lamina.utils.object_registry import get_object, registered_name


def _builtin(module: Any, base: type) -> dict[str, type]:
    """lamina's own classes of a namespace (``losses``, ``metrics``) by name."""
    return {name: value for name, value in vars(module).items()
            if isinstance(value, type) and issubclass(value, base)
            and value.__module__.startswith("lamina.")}


#: The loss and metric classes a compile configuration may name (by Keras's names; a
#: loss and a metric may share a name, so each slot reads its own table).
_LOSS_CLASSES = _builtin(losses, losses.Loss)
_METRIC_CLASSES = _builtin(metrics, metrics.Metric)


class _NotSavable(Exception):
    """A compile argument has no name-and-numbers form (a custom function)."""


def _encode(value: Any, table: dict[str, type]) -> Any:
    """A loss or metric spec (or a list/dict of them) as names and plain values."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return [_encode(item, table) for item in value]
    if isinstance(value, dict):
        return {str(key): _encode(item, table) for key, item in value.items()}
    if table.get(type(value).__name__) is type(value):
        return {"class_name": type(value).__name__,
                "config": _plain_config(value.get_config())}
    if isinstance(value, type) and table.get(value.__name__) is value:
        return {"class_name": value.__name__, "config": {}}
    name = registered_name(value)
    if name is not None:  # a loss or metric registered with @register_serializable
        if isinstance(value, type) or not hasattr(value, "get_config"):
            return {"registered": name}
        return {"registered": name, "config": _plain_config(value.get_config())}
    raise _NotSavable(value)


def _is_plain(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_is_plain(item) for item in value)
    return value is None or isinstance(value, (str, int, float, bool))


def _plain_config(config: Any) -> dict[str, Any]:
    if not isinstance(config, dict) or not all(_is_plain(v) for v in config.values()):
        raise _NotSavable(config)
    return {key: list(v) if isinstance(v, tuple) else v for key, v in config.items()}


def _decode(value: Any, where: str, table: dict[str, type]) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        return [_decode(item, where, table) for item in value]
    if isinstance(value, dict) and "registered" in value and set(value) <= {"registered",
                                                                             "config"}:
        found = get_object(str(value["registered"]), kind="loss or metric")
        config = value.get("config")
        if config is None:
            return found
        if not isinstance(config, dict) or not isinstance(found, type):
            raise CorruptArchiveError(f"{where}: compile_config has a malformed {value!r}.")
        return found.from_config(config) if hasattr(found, "from_config") else found(**config)
    if isinstance(value, dict) and set(value) == {"class_name", "config"}:
        cls = table.get(str(value["class_name"]))
        config = value["config"]
        if cls is None or not isinstance(config, dict) or not all(
                _is_plain(v) for v in config.values()):
            raise CorruptArchiveError(f"{where}: compile_config names an unknown or malformed "
                                      f"loss or metric {value!r}.")
        try:
            return cls.from_config(config)
        except (TypeError, ValueError) as error:
            raise CorruptArchiveError(f"{where}: compile_config holds a {value['class_name']} "
                                      f"that cannot be rebuilt: {error}") from error
    if isinstance(value, dict):
        return {key: _decode(item, where, table) for key, item in value.items()}
    raise CorruptArchiveError(f"{where}: compile_config holds {value!r}, which is not a loss "
                              "or metric.")


def _plain(value: Any) -> Any:
    """A JSON value for an optimizer hyperparameter (tensors become floats)."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        raise _NotSavable(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    raise _NotSavable(value)


def saving_state(model: torch.nn.Module, state: Any, include_optimizer: bool
                 ) -> tuple[dict[str, Any] | None, dict[str, torch.Tensor] | None]:
    """``(compile_config, optimizer_tensors)`` for ``model.save``; ``(None, None)`` when the
    model is not compiled or its compile arguments cannot be stored as names."""
    if state is None:
        return None, None
    try:
        config: dict[str, Any] = {
            "loss": _encode(state.loss_spec, _LOSS_CLASSES),
            "metrics": _encode(state.metrics_spec, _METRIC_CLASSES),
            "weighted_metrics": _encode(state.weighted_metrics_spec, _METRIC_CLASSES),
            "loss_weights": _plain(list(state.weights_spec)) if isinstance(
                state.weights_spec, (list, tuple)) else (
                {k: _plain(v) for k, v in state.weights_spec.items()}
                if isinstance(state.weights_spec, dict) else _plain(state.weights_spec)),
            "jit": state.jit if isinstance(state.jit, (bool, str)) else False,
        }
        optimizer = state.optimizer
        names = {id(p): name for name, p in model.named_parameters()}
        unbuilt = isinstance(optimizer, optimizers.Optimizer) and not optimizer.built
        if unbuilt or any(id(p) not in names for group in optimizer.param_groups
                          for p in group["params"]):
            return config, None
        groups = [{key: (_plain(value) if key != "params" else [names[id(p)] for p in value])
                   for key, value in group.items()} for group in optimizer.param_groups]
    except _NotSavable:
        return None, None
    config["optimizer"] = {"class_name": type(optimizer).__name__, "param_groups": groups}
    if isinstance(optimizer, optimizers.Optimizer):
        # Keras's arguments (clipping, schedules, moving averages) and the step count.
        config["optimizer"]["keras"] = {**optimizers.serialize(optimizer),
                                        "iterations": int(optimizer.iterations)}
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    if include_optimizer:
        for index, values in optimizer.state_dict()["state"].items():
            for key, value in values.items():
                if isinstance(value, torch.Tensor):
                    tensors[f"{index}.{key}"] = value
                else:
                    scalars[f"{index}.{key}"] = _plain(value)
    config["optimizer"]["state_scalars"] = scalars
    return config, tensors or None


#: The ``torch.compile`` backends a saved compile configuration may name.
FILE_JIT_BACKENDS = frozenset({"inductor", "aot_eager", "eager"})


def restore_saving_state(model: Any, config: Any, tensors: dict[str, torch.Tensor] | None,
                         aliases: dict[str, str]) -> None:
    """Compile ``model`` as saved and put back the optimizer state."""
    where = "load_model"
    if not isinstance(config, dict):
        raise CorruptArchiveError(f"{where}: compile_config must be an object.")
    jit = config.get("jit", False)
    if not (type(jit) is bool or (type(jit) is str and jit in FILE_JIT_BACKENDS)):
        raise CorruptArchiveError(
            f"{where}: compile_config names the jit backend {jit!r}; a file may name only "
            f"true, false or one of {sorted(FILE_JIT_BACKENDS)} (a backend named by a file "
            "could import any package). Compile the loaded model yourself with jit=... to "
            "use another.")
    optimizer_config = config.get("optimizer")
    optimizer: Any = "rmsprop"
    if optimizer_config is not None:
        optimizer = _rebuild_optimizer(model, optimizer_config, where)
    try:
        model.compile(optimizer=optimizer,
                      loss=_decode(config.get("loss"), where, _LOSS_CLASSES),
                      metrics=_decode(config.get("metrics"), where, _METRIC_CLASSES),
                      weighted_metrics=_decode(config.get("weighted_metrics"), where,
                                               _METRIC_CLASSES),
                      loss_weights=config.get("loss_weights"), jit=jit)
    except ArgumentError as error:
        raise CorruptArchiveError(f"{where}: the saved compile arguments are invalid: "
                                  f"{error}") from error
    if tensors and optimizer_config is not None:
        tensors = {**tensors, **{key: tensors[target] for key, target in aliases.items()
                                 if target in tensors}}
        state: dict[int, dict[str, Any]] = {}
        entries = {**optimizer_config.get("state_scalars", {}), **tensors}
        for name, value in entries.items():
            index, _, key = name.partition(".")
            if not index.isdigit() or not key:
                raise CorruptArchiveError(f"{where}: optimizer state entry {name!r} is not "
                                          "'<index>.<name>'.")
            state.setdefault(int(index), {})[key] = value
        saved = optimizer.state_dict()
        try:
            optimizer.load_state_dict({"state": state, "param_groups": saved["param_groups"]})
        except (ValueError, KeyError, RuntimeError) as error:
            raise CorruptArchiveError(f"{where}: the optimizer state does not fit the model: "
                                      f"{error}") from error


def _rebuild_optimizer(model: torch.nn.Module, config: Any, where: str
                       ) -> torch.optim.Optimizer:
    keras = config.get("keras") if isinstance(config, dict) else None
    built: optimizers.Optimizer | None = None
    if keras is not None:  # a lamina optimizer: from lamina's own table, by its config
        iterations = keras.get("iterations", 0) if isinstance(keras, dict) else None
        if not (isinstance(iterations, int) and iterations >= 0):
            raise CorruptArchiveError(f"{where}: the optimizer's iterations must be an int "
                                      ">= 0.")
        try:
            built = optimizers.deserialize(
                {k: v for k, v in keras.items() if k != "iterations"})
        except (TypeError, ValueError) as error:
            raise CorruptArchiveError(f"{where}: the optimizer cannot be rebuilt: "
                                      f"{error}") from error
        built.iterations = iterations
    cls = getattr(torch.optim, str(config.get("class_name")), None) if isinstance(
        config, dict) else None
    if built is None and not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        raise CorruptArchiveError(f"{where}: compile_config names no torch.optim optimizer.")
    parameters = dict(model.named_parameters())
    groups = []
    for group in config.get("param_groups", []):
        names = group.get("params", []) if isinstance(group, dict) else None
        if not isinstance(names, list) or any(n not in parameters for n in names):
            raise CorruptArchiveError(f"{where}: the optimizer's parameter groups name "
                                      "weights the model does not have.")
        hyper = {k: tuple(v) if isinstance(v, list) else v for k, v in group.items()
                 if k != "params"}
        groups.append({"params": [parameters[n] for n in names], **hyper})
    try:
        return cls(groups) if built is None else built.build_groups(groups)
    except (TypeError, ValueError) as error:
        raise CorruptArchiveError(f"{where}: the optimizer cannot be rebuilt: {error}") from error
