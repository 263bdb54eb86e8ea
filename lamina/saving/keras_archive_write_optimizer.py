"""A compiled model's optimizer state as Keras 3 keeps it: ``optimizer/vars/<i>``.

Keras's optimizer variables are ``iteration`` (int32), ``learning_rate`` (float32, absent
with a schedule), then its slots per trainable variable of the model, in the model's
order: Adam and AdamW interleave ``momentum`` and ``velocity`` per variable (torch's
``exp_avg`` and ``exp_avg_sq``, the same averages), then ``velocity_hat`` per variable
with ``amsgrad`` (torch's ``max_exp_avg_sq``); plain SGD has no slots. Those are written,
so that Keras resumes training where lamina stopped. Other optimizers (and SGD with
momentum, EMA, gradient accumulation), whose torch state has no exact Keras equivalent,
are not written: Keras then compiles a fresh optimizer (warning that it skipped the
optimizer's variables). :func:`assign_keras_optimizer_variables` is the way back, for a
reader of Keras files.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.errors import LoadError
from lamina.layers.layer import Layer
from lamina.layers.serialization import builtin_classes
from lamina.saving.keras_layer_order import keras_functional_layers
from lamina.saving.keras_weight_paths import KerasVarsGroup

_ADAM = ("Adam", "AdamW")


def keras_optimizer_group(model: Any) -> KerasVarsGroup | None:
    """The ``optimizer`` group of ``model.weights.h5`` for a compiled model whose
    optimizer Keras keeps the same state for, else ``None``."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not getattr(optimizer, "built", False):
        return None
    kind = type(optimizer).__name__
    if kind not in (*_ADAM, "SGD") or type(optimizer).__module__ != "lamina.optimizers.classes":
        return None
    if optimizer.use_ema or optimizer.gradient_accumulation_steps:
        return None
    group = optimizer.param_groups[0]
    if kind == "SGD" and (group.get("momentum") or group.get("nesterov")):
        return None
    variables: list[torch.Tensor] = [torch.tensor(int(optimizer.iterations), dtype=torch.int32)]
    if optimizer.schedule is None:
        variables.append(optimizer.learning_rate.to(torch.float32))
    if kind in _ADAM:
        trainable = keras_trainable_order(model)
        for weight in trainable:
            state = optimizer.state.get(weight, {})
            for key in ("exp_avg", "exp_avg_sq"):
                variables.append(_slot(state, key, weight))
        if group.get("amsgrad"):
            variables += [_slot(optimizer.state.get(w, {}), "max_exp_avg_sq", w)
                          for w in trainable]
    return KerasVarsGroup("optimizer", getattr(optimizer, "name", None), tuple(variables))


def assign_keras_optimizer_variables(model: Any, values: list[Any]) -> None:
    """Set a compiled model's optimizer state from Keras's ``optimizer/vars`` values (in
    order), the inverse of :func:`keras_optimizer_group`; builds the optimizer over the
    model's trainable weights first if needed.

    Raises:
        LoadError: The optimizer is not one whose state this layout describes, or the
            values do not fit it (how many, which shapes); nothing is changed then.
    """
    optimizer = getattr(model, "optimizer", None)
    kind = type(optimizer).__name__
    if optimizer is None or kind not in (*_ADAM, "SGD"):
        raise LoadError(f"Model '{model.name}': no Adam, AdamW or SGD optimizer to take "
                        "Keras's optimizer variables.")
    trainable = keras_trainable_order(model)
    if not optimizer.built:
        optimizer.build(trainable)
    amsgrad = bool(optimizer.param_groups[0].get("amsgrad"))
    slots = (2 + amsgrad) * len(trainable) if kind in _ADAM else 0
    head = 1 if optimizer.schedule is not None else 2
    tensors = [torch.as_tensor(value) for value in values]
    if len(tensors) != head + slots:
        raise LoadError(f"Model '{model.name}': Keras's {kind} state has {len(tensors)} "
                        f"variables; {head + slots} were expected.")
    shapes = [w.shape for w in trainable] * (2 + amsgrad)
    ordered = tensors[head:]
    if kind in _ADAM:  # momentum, velocity interleaved per weight, then velocity_hat
        pairs = len(trainable) * 2
        ordered = ordered[0:pairs:2] + ordered[1:pairs:2] + ordered[pairs:]
    for value, shape in zip(ordered, shapes):
        if tuple(value.shape) != tuple(shape):
            raise LoadError(f"Model '{model.name}': an optimizer variable of shape "
                            f"{tuple(value.shape)} where {tuple(shape)} was expected.")
    iterations = int(tensors[0])
    optimizer.iterations = iterations
    if head == 2:
        optimizer.learning_rate = float(tensors[1])
    count = len(trainable)
    for index, weight in enumerate(trainable if kind in _ADAM else []):
        state = optimizer.state[weight]
        state["step"] = torch.tensor(float(iterations))
        for position, key in enumerate(("exp_avg", "exp_avg_sq", "max_exp_avg_sq")):
            if position < 2 + amsgrad:
                state[key] = ordered[position * count + index].to(weight.dtype).clone()


def keras_trainable_order(layer: Layer) -> list[torch.Tensor]:
    """The trainable weights of ``layer`` in the order of Keras's
    ``model.trainable_variables`` for the same model (its layers in Keras's order, each
    layer's weights in its own order, a shared weight once)."""
    classes = builtin_classes()
    if type(layer) is classes.get("Functional"):
        parts = keras_functional_layers(layer)
    elif type(layer) is classes.get("Sequential"):
        parts = list(layer.layers)
    else:
        return list(layer.trainable_weights)
    found: list[torch.Tensor] = []
    seen: set[int] = set()
    for part in parts:
        for weight in keras_trainable_order(part):
            if id(weight) not in seen:
                seen.add(id(weight))
                found.append(weight)
    return found


def _slot(state: dict[str, Any], key: str, weight: torch.Tensor) -> torch.Tensor:
    value = state.get(key)
    if isinstance(value, torch.Tensor):
        return value
    return torch.zeros(weight.shape, dtype=weight.dtype)  # a weight no step has reached
