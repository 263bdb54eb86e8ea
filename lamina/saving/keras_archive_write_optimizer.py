"""A compiled model's optimizer state as Keras 3 keeps it: ``optimizer/vars/<i>``.

Keras's optimizer variables are ``iteration`` (int32), ``learning_rate`` (float32, absent
with a schedule), then its slots per trainable variable of the model, in the model's
order: Adam and AdamW interleave ``momentum`` and ``velocity`` per variable (torch's
``exp_avg`` and ``exp_avg_sq``, the same averages), then ``velocity_hat`` per variable
with ``amsgrad`` (torch's ``max_exp_avg_sq``); plain SGD has no slots. Those are written,
so that Keras resumes training where lamina stopped. Other optimizers (and SGD with
momentum, EMA, gradient accumulation), whose torch state has no exact Keras equivalent,
are not written: Keras then compiles a fresh optimizer (warning that it skipped the
optimizer's variables).
"""

from __future__ import annotations

from typing import Any

import torch

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
