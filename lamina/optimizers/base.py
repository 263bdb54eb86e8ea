"""``Optimizer``: Keras's optimizer API on a ``torch.optim`` optimizer.

A lamina optimizer *is* a ``torch.optim`` optimizer (``lamina.optimizers.Adam`` subclasses
``torch.optim.Adam``) whose construction waits for the weights: ``Adam(learning_rate=1e-3)``
holds Keras's arguments, and ``build(weights)`` (done by ``compile``/``fit``, or by the
first ``apply``) creates torch's parameter groups. From then on it is used as torch's
optimizer (``param_groups``, ``state_dict``, ``torch.optim.lr_scheduler``), and as Keras's:

- ``learning_rate``, readable and assignable (the next step uses the new rate);
- ``iterations``, the number of steps taken; a learning-rate schedule is asked for the rate
  at that step;
- ``apply(grads, variables)`` / ``apply_gradients(zip(grads, variables))``;
- ``clipnorm`` (each gradient's norm), ``global_clipnorm``, ``clipvalue``;
- ``weight_decay``, decoupled as in Keras (``w -= w * weight_decay * learning_rate`` before
  the update) for every optimizer, with ``exclude_from_weight_decay``;
- ``use_ema`` (an exponential moving average of the weights, written into them every
  ``ema_overwrite_frequency`` steps and at the end of ``fit``);
- ``loss_scale_factor`` (gradients divided by it) and ``gradient_accumulation_steps``.

The update rules are torch's: where Keras places ``epsilon`` differently (Adam adds it
after bias correction in torch), results differ only in that term.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable
from typing import Any

import torch

from lamina import optimizer_schedules as schedules
from lamina.errors import ArgumentError, ArgumentTypeError, UnknownArgumentError

#: Keras's arguments of every optimizer, with their defaults.
BASE_DEFAULTS: dict[str, Any] = {
    "weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
    "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
    "loss_scale_factor": None, "gradient_accumulation_steps": None,
}


class Optimizer:
    """Keras's optimizer base, mixed before a ``torch.optim`` class in each optimizer.

    Args:
        learning_rate: A positive number or a ``lamina.optimizers.schedules`` schedule.
        weight_decay: Decoupled weight decay factor. Default: ``None``.
        clipnorm: Clip each gradient to this norm. Default: ``None``.
        clipvalue: Clip each gradient's values to ``[-clipvalue, clipvalue]``.
        global_clipnorm: Clip all gradients together to this global norm.
        use_ema: Keep an exponential moving average of the weights. Default: ``False``.
        ema_momentum: The average's momentum. Default: ``0.99``.
        ema_overwrite_frequency: Write the average into the weights every this many steps.
            Default: ``None`` (only at the end of ``fit``).
        loss_scale_factor: Gradients are divided by it (the loss was multiplied by it).
        gradient_accumulation_steps: Update every this many steps, with the mean gradient.
        name: Default: the class's Keras name (``"adam"``).

    Example:
        >>> from lamina import optimizers
        >>> weight = torch.nn.Parameter(torch.ones(2))
        >>> adam = optimizers.Adam(learning_rate=0.01).build([weight])
        >>> isinstance(adam, torch.optim.Adam), adam.param_groups[0]["eps"]
        (True, 1e-07)
        >>> adam.learning_rate = 0.5
        >>> adam.param_groups[0]["lr"]
        0.5
    """

    #: Keras's name of the class, the default ``name``.
    keras_name = "optimizer"
    #: Whether the torch class applies ``weight_decay`` itself, decoupled (AdamW).
    torch_decays = False

    def __init__(self, learning_rate: Any, *, name: str | None = None,
                 torch_arguments: dict[str, Any] | None = None,
                 keras_arguments: dict[str, Any] | None = None, **kwargs: Any) -> None:
        owner = type(self).__name__
        if kwargs.pop("decay", None) is not None:
            warnings.warn(f"{owner}: the argument decay= is no longer supported (as in "
                          "Keras 3) and is ignored; pass a learning-rate schedule instead.",
                          UserWarning, stacklevel=3)
        if "lr" in kwargs:
            raise UnknownArgumentError(f"{owner}: unknown argument lr=; Keras 3 calls it "
                                       "learning_rate=.")
        unknown = sorted(set(kwargs) - set(BASE_DEFAULTS))
        if unknown:
            raise UnknownArgumentError(
                f"{owner}: unknown argument(s) {unknown}. Keras's optimizer arguments are "
                f"learning_rate, {', '.join(BASE_DEFAULTS)} and name, plus {owner}'s own.")
        settings = {**BASE_DEFAULTS, **kwargs}
        if sum(settings[k] is not None for k in ("clipnorm", "clipvalue",
                                                  "global_clipnorm")) > 1:
            raise ArgumentError(f"{owner}: only one of clipnorm, clipvalue and "
                                "global_clipnorm can be set.")
        for key in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm",
                    "loss_scale_factor"):
            value = settings[key]
            if value is not None and (not isinstance(value, (int, float)) or isinstance(
                    value, bool) or not math.isfinite(value) or value < 0):
                raise ArgumentError(f"{owner}: {key} must be a number >= 0 or None, "
                                    f"received {value!r}.")
        if not 0 <= settings["ema_momentum"] <= 1:
            raise ArgumentError(f"{owner}: ema_momentum must be in [0, 1], received "
                                f"{settings['ema_momentum']!r}.")
        for key, low in (("ema_overwrite_frequency", 1), ("gradient_accumulation_steps", 2)):
            value = settings[key]
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                      or value < low):
                raise ArgumentError(f"{owner}: {key} must be an int >= {low} or None, "
                                    f"received {value!r}.")
        self.__dict__.update(settings)
        self.name = name or self.keras_name
        self.torch_arguments = dict(torch_arguments or {})
        self.keras_arguments = dict(keras_arguments or {})
        #: A ``lamina.optimizers.schedules`` schedule, or ``None`` for a settable rate.
        self.schedule: schedules.LearningRateSchedule | None = None
        self._learning_rate = 0.0
        self._set_rate(learning_rate, owner)
        self._iterations = 0
        self.built = False
        self._ema: list[torch.Tensor] | None = None
        self._accumulated: dict[int, torch.Tensor] = {}
        self._calls = 0  # steps asked for, with gradient_accumulation_steps
        self._excluded_ids: set[int] = set()
        self._excluded_pattern: re.Pattern[str] | None = None
        self._plain = self._nothing_around_step()

    def _nothing_around_step(self) -> bool:
        """Whether a step is torch's step alone (the fast path)."""
        return self.schedule is None and not (self.weight_decay and not self.torch_decays) \
            and not (self.clipnorm or self.clipvalue or self.global_clipnorm or self.use_ema
                     or self.loss_scale_factor or self.gradient_accumulation_steps)

    def _set_rate(self, learning_rate: Any, owner: str) -> None:
        if isinstance(learning_rate, dict):  # a schedule's config, from a saved file
            learning_rate = _schedule_from_config(learning_rate, owner)
        if isinstance(learning_rate, schedules.LearningRateSchedule):
            self.schedule = learning_rate
            learning_rate = learning_rate(0)
        if isinstance(learning_rate, torch.Tensor) and learning_rate.numel() == 1:
            learning_rate = learning_rate.item()
        if hasattr(learning_rate, "item") and not isinstance(learning_rate, (int, float)):
            learning_rate = learning_rate.item()  # a numpy scalar
        if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) \
                or not math.isfinite(learning_rate) or learning_rate < 0:
            raise ArgumentError(
                f"{owner}: learning_rate must be a number >= 0 or a learning-rate schedule, "
                f"received {learning_rate!r}.")
        self._learning_rate = float(learning_rate)

    # ------------------------------------------------------------------ Keras's API
    @property
    def learning_rate(self) -> torch.Tensor:
        """The rate of the next step, a float32 scalar tensor (Keras's variable); assign a
        number to change it (not when the optimizer was given a schedule)."""
        if self.schedule is not None:
            value = float(self.schedule(self._iterations))
        elif self.built:
            value = float(self.param_groups[0]["lr"])
        else:
            value = self._learning_rate
        return torch.tensor(value, dtype=torch.float32)

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        owner = type(self).__name__
        if self.schedule is not None and not isinstance(value, schedules.LearningRateSchedule):
            raise ArgumentTypeError(
                f"{owner} was created with a learning-rate schedule, so its learning rate is "
                "not settable (as in Keras). Create it with a float learning_rate to set it.")
        self._set_rate(value, owner)
        self._plain = self._nothing_around_step()
        if self.built:
            for group in self.param_groups:
                group["lr"] = self._learning_rate

    @property
    def iterations(self) -> torch.Tensor:
        """The number of steps taken (an int64 scalar tensor, Keras's variable)."""
        return torch.tensor(self._iterations, dtype=torch.int64)

    @iterations.setter
    def iterations(self, value: Any) -> None:
        self._iterations = int(value)

    @property
    def variables(self) -> list[torch.Tensor]:
        """The optimizer's state tensors (moments, accumulators), per weight in order."""
        if not self.built:
            return []
        return [value for group in self.param_groups for p in group["params"]
                for value in self.state.get(p, {}).values() if isinstance(value, torch.Tensor)]

    def build(self, variables: Iterable[torch.Tensor]) -> Optimizer:
        """Create torch's parameter groups for ``variables``; returns the optimizer.

        Building again (over a model whose layers have grown) starts the state afresh.
        """
        self.build_groups([{"params": list(variables)}])
        return self

    def build_groups(self, groups: list[dict[str, Any]]) -> Optimizer:
        """Build over torch-style parameter groups (``[{"params": [...], "lr": ...}]``);
        returns the optimizer."""
        arguments = dict(self.torch_arguments)
        if self.torch_decays and self.weight_decay is not None:
            arguments["weight_decay"] = self.weight_decay
        torch_base: Any = super()
        torch_base.__init__(groups, lr=self._learning_rate, **arguments)
        self.built = True
        self._accumulated = {}
        self._ema = [p.detach().clone() for p in self._parameters()] if self.use_ema else None
        return self

    def _parameters(self) -> list[torch.Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def holds(self, variables: Iterable[torch.Tensor]) -> bool:
        """Whether the optimizer is built over exactly ``variables``."""
        return self.built and {id(p) for p in self._parameters()} == {id(v) for v in variables}

    def unbuilt_copy(self) -> Optimizer:
        """A new optimizer with the same arguments and no state (for another model)."""
        return type(self).from_config(self.get_config())

    def apply(self, grads: Iterable[Any], trainable_variables: Iterable[Any] | None = None
              ) -> None:
        """Update ``trainable_variables`` with ``grads`` (Keras's ``apply``): builds the
        optimizer on them at the first call; then only weights it was built with."""
        grads = list(grads)
        if not grads:
            return
        owner = type(self).__name__
        if trainable_variables is None:
            if not self.built:
                raise ArgumentError(f"{owner}.apply: pass the variables with the gradients at "
                                    "the first call (the optimizer is not built yet).")
            variables = self._parameters()
        else:
            variables = list(trainable_variables)
            if not self.built:
                self.build(variables)
            known = {id(p) for p in self._parameters()}
            unknown = [getattr(v, "path", tuple(v.shape)) for v in variables
                       if id(v) not in known]
            if unknown:
                raise ArgumentError(
                    f"{owner}.apply: the variables {unknown} are not among those the "
                    "optimizer was built with. Use one optimizer per group of weights.")
        if len(grads) != len(variables):
            raise ArgumentError(f"{owner}.apply: {len(grads)} gradients for "
                                f"{len(variables)} variables; give one per variable.")
        chosen = {id(v) for v in variables}
        held = [(p, p.grad) for p in self._parameters() if id(p) not in chosen]
        for p, _ in held:
            p.grad = None
        try:
            for grad, variable in zip(grads, variables):
                if grad is None or grad is variable.grad:
                    continue
                grad = torch.as_tensor(grad, device=variable.device, dtype=variable.dtype)
                if grad.shape != variable.shape:
                    raise ArgumentError(
                        f"{owner}.apply: a gradient of shape {tuple(grad.shape)} for the "
                        f"variable {getattr(variable, 'path', '')!r} of shape "
                        f"{tuple(variable.shape)}.")
                variable.grad = grad.detach()
            self.step()
        finally:
            for p, grad in held:
                p.grad = grad
        with torch.no_grad():
            for variable in variables:
                constraint = getattr(variable, "constraint", None)
                if constraint is not None:
                    variable.copy_(constraint(variable))

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Any]]) -> None:
        """``apply`` for ``zip(grads, variables)`` pairs (Keras's ``apply_gradients``)."""
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def exclude_from_weight_decay(self, var_list: Iterable[Any] | None = None,
                                  var_names: Iterable[str] | None = None) -> None:
        """Leave these variables, or those whose name contains one of ``var_names``, out
        of ``weight_decay``. Call it before the optimizer is built."""
        if self.built:
            raise ArgumentError(f"{type(self).__name__}.exclude_from_weight_decay must be "
                                "called before the optimizer is built (before compile).")
        self._excluded_ids = {id(v) for v in var_list or []}
        names = sorted(set(var_names or []))
        self._excluded_pattern = re.compile("|".join(names)) if names else None

    def _decays(self, variable: torch.Tensor) -> bool:
        if id(variable) in self._excluded_ids:
            return False
        name = getattr(variable, "name", None)
        return not (self._excluded_pattern is not None and isinstance(name, str)
                    and self._excluded_pattern.search(name))

    def finalize_variable_values(self, var_list: Iterable[Any] | None = None) -> None:
        """With ``use_ema``, write the moving averages into the weights (``fit`` does it
        at its end, as Keras's does)."""
        if self.use_ema and self._ema is not None:
            with torch.no_grad():
                for p, average in zip(self._parameters(), self._ema):
                    p.copy_(average)

    def swap_moving_averages(self) -> None:
        """Exchange the weights and their moving averages (``use_ema``): what
        ``callbacks.SwapEMAWeights`` does around evaluation."""
        if self._ema is None:
            raise ArgumentError(f"{type(self).__name__}: moving averages need use_ema=True "
                                "(and a built optimizer).")
        with torch.no_grad():
            for p, average in zip(self._parameters(), self._ema):
                held = p.detach().clone()
                p.copy_(average)
                average.copy_(held)

    def averages_from_weights(self) -> None:
        """Set the moving averages to the weights' current values."""
        if self._ema is not None:
            with torch.no_grad():
                for p, average in zip(self._parameters(), self._ema):
                    average.copy_(p)

    def scale_loss(self, loss: Any) -> Any:
        """The loss times ``loss_scale_factor`` (when set), as Keras's."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    # ------------------------------------------------------------------ torch's step
    def step(self, closure: Any = None) -> Any:
        """One update: torch's step, with Keras's schedule, clipping, decoupled weight
        decay, accumulation and moving average around it."""
        if self._plain:
            loss = super().step(closure)  # type: ignore[misc]
            self._iterations += 1
            return loss
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        with torch.no_grad():
            if self.schedule is not None:
                rate = float(self.schedule(self._iterations))
                for group in self.param_groups:
                    group["lr"] = rate
            params = [p for p in self._parameters() if p.grad is not None]
            if self.loss_scale_factor:
                for p in params:
                    p.grad.div_(self.loss_scale_factor)
            if self.gradient_accumulation_steps and not self._accumulate(params):
                return loss  # Keras's iterations count updates
            self._clip([p.grad for p in params])
            if self.weight_decay and not self.torch_decays:
                for group in self.param_groups:
                    factor = 1.0 - float(group["lr"]) * self.weight_decay
                    for p in group["params"]:
                        if p.grad is not None and self._decays(p):
                            p.mul_(factor)
        super().step()  # type: ignore[misc]
        with torch.no_grad():
            if self._ema is not None:
                momentum = self.ema_momentum if self._iterations else 0.0
                for p, average in zip(self._parameters(), self._ema):
                    average.mul_(momentum).add_(p.detach(), alpha=1.0 - momentum)
                if self.ema_overwrite_frequency and \
                        (self._iterations + 1) % self.ema_overwrite_frequency == 0:
                    self.finalize_variable_values()
        self._iterations += 1
        return loss

    def _accumulate(self, params: list[torch.Tensor]) -> bool:
        """Add the gradients to the accumulators; on every n-th step, leave their mean in
        ``.grad`` and return True (an update is due)."""
        steps = self.gradient_accumulation_steps
        self._calls += 1
        due = self._calls % steps == 0
        for p in params:
            total = self._accumulated.get(id(p))
            if due:
                if total is not None:
                    p.grad.add_(total)
                p.grad.div_(steps)
                self._accumulated.pop(id(p), None)
            elif total is None:
                self._accumulated[id(p)] = p.grad.detach().clone()
            else:
                total.add_(p.grad)
        return due

    def _clip(self, grads: list[torch.Tensor]) -> None:
        if not grads:
            return
        if self.clipnorm:
            for grad in grads:
                norm = torch.linalg.vector_norm(grad)
                grad.mul_(torch.clamp(self.clipnorm / torch.clamp(norm, min=1e-12), max=1.0))
        elif self.global_clipnorm:
            _clip_global(grads, self.global_clipnorm)
        elif self.clipvalue:
            for grad in grads:
                grad.clamp_(-self.clipvalue, self.clipvalue)

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        """Keras's config: ``name``, ``learning_rate`` (a number or a schedule's config),
        the base arguments and the optimizer's own."""
        rate: Any = self._learning_rate if not self.built else float(
            self.param_groups[0]["lr"])
        if self.schedule is not None:
            rate = {"class_name": type(self.schedule).__name__,
                    "config": self.schedule.get_config()}
        return {"name": self.name, "learning_rate": rate,
                **{key: getattr(self, key) for key in BASE_DEFAULTS}, **self.keras_arguments}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Optimizer:
        """The optimizer for a :meth:`get_config` dict."""
        return cls(**config)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for key in [k for k in state if k.startswith("_optimizer_") or k.endswith("_hooks")]:
            state.pop(key)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if state.get("built"):
            torch_base: Any = super()
            torch_base.__setstate__(state)
        else:
            self.__dict__.update(state)

    def __repr__(self) -> str:
        rate = self.get_config()["learning_rate"]
        return f"{type(self).__name__}(learning_rate={rate})"


def _clip_global(grads: list[torch.Tensor], limit: float) -> None:
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    factor = torch.clamp(limit / torch.clamp(norm, min=1e-12), max=1.0)
    for grad in grads:
        grad.mul_(factor)


def _schedule_from_config(config: dict[str, Any], owner: str) -> Any:
    found = getattr(schedules, str(config.get("class_name")), None)
    if not (isinstance(found, type) and issubclass(found, schedules.LearningRateSchedule)
            and isinstance(config.get("config"), dict)):
        raise ArgumentError(f"{owner}: learning_rate {config!r} is not a learning-rate "
                            "schedule's config.")
    return found.from_config(config["config"])
