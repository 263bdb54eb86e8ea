"""What ``compile`` sets up, and the train, test and predict steps that use it.

:class:`CompileState` resolves the optimizer, the losses and metrics per model output
(once the first batch shows how many outputs there are and their shapes), checks and
aligns targets, and runs one step. The hot path is kept to the torch work itself: the
running loss is accumulated in a tensor and metrics update tensors, so nothing is read
back to Python until :meth:`CompileState.logs` is called.

Train steps call :attr:`CompileState.train_module`: the model, or the model wrapped in
``DistributedDataParallel`` under a process group (``distributed.py``). Test and predict
steps call the model itself. With ``jit``, all three go through ``torch.compile``
(``jit.py``).
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import numpy as np
import torch

from lamina import constraints, optimizers
from lamina import losses as losses_module
from lamina import metrics as metrics_module
from lamina.errors import ArgumentError, DataError, ShapeError
from lamina.layers.precision import mark_precision_boundaries
from lamina.layers.weights import WeightsMixin
from lamina.training import compile_arguments as arguments
from lamina.training import jit as jit_module
from lamina.training.data import check_finite
from lamina.training.distributed import (
    ProcessGroup,
    hold_wrapper,
    is_sharded,
)
from lamina.utils import tree


class CompileState:
    """The optimizer, per-output losses, loss weights and metrics of a compiled model."""

    def __init__(self, model: torch.nn.Module, optimizer: Any, loss: Any, metrics: Any,
                 loss_weights: Any, jit: bool | str, device: Any,
                 weighted_metrics: Any = None) -> None:
        for identifier in tree.flatten(loss):
            if identifier is not None:
                losses_module.get(identifier)
        for identifier in tree.flatten(metrics or []):
            if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
                continue
            metrics_module.get(identifier)
        self.model = model
        spec = optimizers.get(optimizer)
        if isinstance(spec, optimizers.Optimizer) and spec.built and not spec.holds(
                model.parameters()):
            spec = spec.unbuilt_copy()  # built for another model: this one gets its own
        self.optimizer_spec = spec
        #: The optimizer: a ``lamina.optimizers`` one (built once the model's weights
        #: exist) or the ``torch.optim`` optimizer given to compile.
        self.optimizer: torch.optim.Optimizer = spec
        self.loss_spec, self.metrics_spec, self.weights_spec = loss, metrics, loss_weights
        self.weighted_metrics_spec = weighted_metrics
        #: Keras's ``"loss"`` tracker, for ``train_step`` overrides (``model.metrics``).
        self.loss_tracker = metrics_module.Mean(name="loss")
        #: The compiled metrics as one metric (``custom_steps.CompileMetrics``), set by
        #: ``compile`` when metrics were given.
        self.compile_metrics: Any = None
        self._weighted: set[int] = set()  # ids of the metrics sample weights apply to
        self.device = arguments.resolve_device(device, model)
        model.to(self.device)
        if isinstance(spec, optimizers.Optimizer) and not spec.built and next(
                model.parameters(), None) is not None:
            spec.build(model.parameters())
        self.jit = jit
        self.built = False
        self._constrained: list[tuple[torch.Tensor, Any]] | None = None
        self._input_key: tuple = ()
        #: What train steps call: the model, or its DistributedDataParallel wrapper.
        self.train_module: torch.nn.Module = model
        self._wrapped_weights: tuple[int, ...] = ()
        self.watch: jit_module.BreakWatch | None = None
        self._train_fn: Any = self.train_forward
        self._test_fn: Any = self.forward_loss
        self.predict_fn: Any = model
        if jit:
            backend = jit_module.backend_name(jit)
            self.watch = jit_module.BreakWatch(model)
            self._train_fn = jit_module.CompiledStep(self.train_forward, backend, self.watch)
            self._test_fn = jit_module.CompiledStep(self.forward_loss, backend, self.watch)
            self.predict_fn = jit_module.CompiledStep(self.predict_forward, backend,
                                                      self.watch)

    def jit_scope(self) -> Any:
        """The context the loops run compiled steps in (graph-break reports), or a no-op."""
        return self.watch if self.watch is not None else contextlib.nullcontext()

    def attach(self, group: ProcessGroup | None) -> None:
        """Train through ``DistributedDataParallel`` under ``group`` (wrapping again only
        when the weights changed), or through the model itself without one or when the
        model is sharded (``fsdp.py``: FSDP2 averages the gradients itself)."""
        if group is None or is_sharded(self.model):
            self.train_module = self.model
            return
        weights = tuple(id(p) for p in self.model.parameters())
        if self.train_module is self.model or weights != self._wrapped_weights:
            self.train_module = group.wrap(self.model, self.device)
            self._wrapped_weights = weights
            hold_wrapper(self)

    def detach(self) -> None:
        """Drop the DistributedDataParallel wrapper (its process group is ending)."""
        self.train_module, self._wrapped_weights = self.model, ()

    # ------------------------------------------------------------------ building
    def build(self, x: Any) -> list[tuple[int, ...]]:
        """Run the model once on a sample batch (inference mode, no gradients) and resolve
        the per-output losses and metrics; returns the output shapes.

        Skipped when the inputs have the same per-sample shapes as last time.
        """
        key = tuple(tuple(t.shape[1:]) if isinstance(t, (torch.Tensor, np.ndarray)) else t
                    for t in tree.flatten(x))
        self._metrics_unchecked = True
        if self.built and key == self._input_key:
            return self.shapes
        model = self.model
        model.to(self.device)  # layers built by the call below follow their inputs' device
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                predictions = model(self.to_device(x))
        finally:
            model.train(was_training)
        self.resolve_outputs(predictions)
        self._input_key = key
        return self.shapes

    def resolve_outputs(self, predictions: Any) -> None:
        """Resolve the per-output losses and metrics for the model's ``predictions`` (the
        first time), or check they have the outputs resolved before."""
        flat = tree.flatten(predictions)
        if isinstance(predictions, dict):
            names = sorted(predictions)
        elif len(flat) == 1:
            names = ["output"]
        else:
            symbolic = getattr(self.model, "outputs", None)
            names = [t.node.layer.name for t in symbolic] if isinstance(symbolic, list) and \
                len(symbolic) == len(flat) else [f"output_{i + 1}" for i in range(len(flat))]
            names = [n if names.count(n) == 1 else f"{n}_{i}" for i, n in enumerate(names)]
        if self.built and names != self.names:
            raise ShapeError(f"Model '{self.model.name}' returned outputs {names}, but was "
                             f"compiled for {self.names}. Compile the model again.")
        self.shapes = [tuple(p.shape) for p in flat]
        self._sample_predictions = [p[:2].detach() for p in flat]  # to try the metrics on
        if not self.built:
            self._metrics_unchecked = True
            self._resolve(names)

    def _resolve(self, names: list[str]) -> None:
        self.names = names
        several = len(names) > 1
        self.losses = [losses_module.get(spec) if spec is not None else None
                       for spec in arguments.per_output(self.loss_spec, names, "compile(loss=...)")]
        self._layers = [m for m in self.model.modules() if isinstance(m, WeightsMixin)]
        mark_precision_boundaries(self.model)
        own_steps = getattr(self.model, "own_steps", None)
        computes_own_loss = own_steps is not None and (
            own_steps("compute_loss") or own_steps("train_step"))
        if all(loss is None for loss in self.losses) and not self.penalties() and \
                not computes_own_loss:
            raise ArgumentError(
                f"compile: no output has a loss (outputs {names}) and the model adds none "
                "of its own (add_loss, regularizers). Pass loss= to compile, or override "
                "compute_loss or train_step.")
        weights = arguments.per_output(self.weights_spec, names, "compile(loss_weights=...)", 1.0)
        self.loss_weights = [1.0 if w is None else float(w) for w in weights]
        self.metrics: list[tuple[metrics_module.Metric, int]] = []
        self._weighted = set()
        for spec_of_all, weighted in ((self.metrics_spec, False),
                                      (self.weighted_metrics_spec, True)):
            nested = isinstance(spec_of_all, dict) or (
                several and isinstance(spec_of_all, (list, tuple))
                and any(isinstance(m, (list, tuple)) for m in spec_of_all))
            what = "compile(weighted_metrics=...)" if weighted else "compile(metrics=...)"
            per_output = arguments.per_output(spec_of_all, names, what) if nested \
                else [spec_of_all] * len(names)
            for index, specs in enumerate(per_output):
                for spec in tree.flatten(specs or []):
                    metric = metrics_module.get(spec, self.losses[index], None,
                                                self.shapes[index])
                    if several or any(metric is m for m, _ in self.metrics):
                        # A metric object given once for one output is used itself (its
                        # result readable after fit/evaluate, as in Keras); one that several
                        # outputs share, or that is renamed per output, is copied.
                        metric = copy.deepcopy(metric)
                    if several:
                        metric.name = f"{names[index]}_{metric.name}"
                    if weighted:
                        if metric.name in {m.name for m, _ in self.metrics}:
                            metric.name = f"weighted_{metric.name}"
                        self._weighted.add(id(metric))
                    self.metrics.append((metric, index))
        self.log_names = ["loss"] + ([f"{n}_loss" for n, loss in zip(names, self.losses)
                                      if loss is not None] if several else [])
        self.log_names += [metric.name for metric, _ in self.metrics]
        if len(set(self.log_names)) != len(self.log_names):
            raise ArgumentError(f"compile: two metrics share a name in {self.log_names}; pass "
                                "metric objects with distinct name=.")
        optimizer = self.optimizer
        if isinstance(optimizer, optimizers.Optimizer):
            # Layers built by the first call add weights: the optimizer must see them all.
            # A model without weights still trains as Keras's does: the loss is evaluated,
            # metrics and callbacks run, and there is nothing for an optimizer to step.
            parameters = list(self.model.parameters())
            if parameters and not optimizer.holds(parameters):
                optimizer.build(parameters)
        self.reset_state()
        self.built = True

    # ------------------------------------------------------------------ targets
    def prepare(self, x: Any, y: Any, sample_weight: Any, class_weight: Any,
                caller: str, needs_targets: bool | None = None) -> tuple[Any, Any, Any]:
        """Check a data set (or one batch of a stream) and align targets with outputs.

        Returns ``x`` and per-output lists of targets and sample weights. ``y`` may be
        ``None`` when ``needs_targets`` is false, by default when no output has a compiled
        loss (the model's own ``add_loss`` losses are the loss, as in Keras).
        """
        check_finite(x, "x", caller)
        if y is None:
            if needs_targets is None:
                needs_targets = any(loss is not None for loss in self.losses)
            if needs_targets:
                raise DataError(f"{caller}: targets y are required to compute the loss, "
                                "received None. Pass y=... or batches of (x, y).")
            nothing = [None] * len(self.names)
            return x, nothing, list(nothing)
        check_finite(y, "y", caller)
        check_finite(sample_weight, "sample_weight", caller)
        several = len(self.names) > 1
        targets = arguments.per_output(y, self.names, f"{caller}(y=...)") if several else [
            y[0] if isinstance(y, (list, tuple)) and len(y) == 1 else
            next(iter(y.values())) if isinstance(y, dict) and len(y) == 1 else y]
        weights = arguments.per_output(sample_weight, self.names, f"{caller}(sample_weight=...)")
        for index, (loss, target) in enumerate(zip(self.losses, targets)):
            where = f" for output '{self.names[index]}'" if several else ""
            if not isinstance(target, torch.Tensor):
                raise DataError(f"{caller}: targets{where} must be an array or tensor, "
                                f"received {type(target).__name__}.")
            if loss is not None:
                targets[index] = loss.check_targets(target, self.shapes[index], where)
            weight = weights[index]
            if weight is not None:
                while weight.dim() > 1 and weight.shape[-1] == 1:
                    weight = weight.squeeze(-1)  # (n, 1) weighs samples, like (n,)
                weights[index] = weight.to(torch.float32)
        if self._metrics_unchecked:
            self._check_metrics(targets, caller)
        if class_weight:
            if several:
                raise ArgumentError(f"{caller}: class_weight works for one output; for "
                                    f"{self.names} pass per-output sample_weight instead.")
            by_class = arguments.class_weights(targets[0], class_weight, self.shapes[0])
            weights[0] = by_class if weights[0] is None else weights[0] * by_class
        return x, targets, weights

    def _check_metrics(self, targets: list[Any], caller: str) -> None:
        """Run every metric on two samples before training, so a misfit fails early."""
        for metric, index in self.metrics:
            count = min(len(targets[index]), len(self._sample_predictions[index]))
            target = self.to_device(targets[index][:count])
            try:
                metric.update_state(target, self._sample_predictions[index][:count], None)
            except (RuntimeError, ValueError, IndexError) as error:
                raise ShapeError(
                    f"{caller}: metric '{metric.name}' cannot use targets of shape "
                    f"{(None, *targets[index].shape[1:])} with predictions of shape "
                    f"{(None, *self.shapes[index][1:])}: {error}. Pick a metric that fits "
                    "the output, or targets shaped like the predictions."
                ) from error
            finally:
                metric.reset_state()
        self._metrics_unchecked = False

    def to_device(self, value: Any) -> Any:
        if self.device.type == "cpu" or value is None:
            return value
        if isinstance(value, torch.Tensor):
            return value.to(self.device, non_blocking=True)
        return tree.map_structure(lambda t: self.to_device(t) if isinstance(t, torch.Tensor)
                                  else t, value)

    # ------------------------------------------------------------------ steps
    def forward_loss(self, x: Any, targets: list[Any], weights: list[Any]) -> tuple[Any, ...]:
        """Predictions and loss of the model: the test step's part that ``jit`` compiles."""
        return self.loss_of(self.model(x), targets, weights)

    def train_forward(self, x: Any, targets: list[Any], weights: list[Any]) -> tuple[Any, ...]:
        """Predictions and loss through :attr:`train_module`: what ``jit`` compiles for
        training."""
        return self.loss_of(self.train_module(x), targets, weights)

    def predict_forward(self, x: Any) -> Any:
        """The model's outputs: what ``jit`` compiles for ``predict``."""
        return self.model(x)

    def loss_of(self, outputs: Any, targets: list[Any], weights: list[Any]
                 ) -> tuple[Any, ...]:
        flat = tree.flatten(outputs)
        parts = [loss.compute(target, prediction, weight) if loss is not None else None
                 for loss, target, prediction, weight in zip(self.losses, targets, flat, weights)]
        total = None
        for part, factor in zip(parts, self.loss_weights):
            if part is not None:
                term = part if factor == 1.0 else part * factor
                total = term if total is None else total + term
        for penalty in self.penalties():  # Keras's: regularizers and add_loss count too
            total = penalty if total is None else total + penalty
        if total is None:
            raise ArgumentError(f"Model '{self.model.name}': no loss to compute; pass loss= "
                                "to compile.")
        return total, parts, flat

    def penalties(self) -> list[torch.Tensor]:
        """The model's own losses now (Keras's ``model.losses``: weight regularizers and
        what layers recorded with ``add_loss`` in the last call), each summed to a scalar."""
        found: list[torch.Tensor] = []
        for layer in self._layers:
            found.extend(layer.own_losses())
        return [value if value.dim() == 0 else value.sum() for value in found]

    def train_step(self, x: Any, targets: list[Any], weights: list[Any]) -> None:
        """One optimizer step on a batch; the model must already be in training mode."""
        if self.device.type != "cpu":
            x, targets, weights = (self.to_device(v) for v in (x, targets, weights))
        total, parts, flat = self._train_fn(x, targets, weights)
        optimizer = self.optimizer
        if total.requires_grad:  # else: no trainable weights
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            optimizer.step()
            if self._constrained is None:  # found once: the weights of a compiled model
                self._constrained = constraints.constrained(
                    p for p in self.model.parameters() if p.requires_grad)
            if self._constrained:
                constraints.apply_constraints(self._constrained)
        self._track(total, parts, flat, targets, weights)

    def test_step(self, x: Any, targets: list[Any], weights: list[Any]) -> None:
        """Loss and metrics on a batch, no gradients (the caller sets inference mode)."""
        if self.device.type != "cpu":
            x, targets, weights = (self.to_device(v) for v in (x, targets, weights))
        with torch.no_grad():
            total, parts, flat = self._test_fn(x, targets, weights)
        self._track(total, parts, flat, targets, weights)

    def _track(self, total: torch.Tensor, parts: list[Any], flat: list[torch.Tensor],
               targets: list[Any], weights: list[Any]) -> None:
        count = flat[0].shape[0] if flat else targets[0].shape[0]
        if self._single:
            self._loss_total.add_(total.detach(), alpha=count)
        else:
            values = [total] + [p for p in parts if p is not None]
            self._loss_total.add_(torch.stack(values).detach(), alpha=count)
        self._seen += count
        self.update_metrics(targets, flat, weights)

    def update_metrics(self, targets: list[Any], flat: list[torch.Tensor],
                       weights: list[Any]) -> None:
        """Update each compiled metric with its output's targets and predictions (and the
        sample weights, for ``weighted_metrics``)."""
        for metric, index in self.metrics:
            if targets[index] is None:  # fit(x) of a model whose loss is its own add_loss
                continue
            weight = weights[index] if id(metric) in self._weighted else None
            metric.update_state(targets[index], flat[index].detach(), weight)

    # ------------------------------------------------------------------ logs
    def reset_state(self) -> None:
        """Start a new epoch (or evaluation): zero the loss totals and every metric."""
        self._single = len(self.log_names) - len(self.metrics) == 1
        size = () if self._single else (len(self.log_names) - len(self.metrics),)
        self._loss_total = torch.zeros(size, device=self.device)
        self._seen = 0
        for metric, _ in self.metrics:
            metric.reset_state()

    def logs(self) -> dict[str, float]:
        """The running loss and metrics as Python floats (one host sync)."""
        return self._logs_of(self._loss_total, self._seen, [m for m, _ in self.metrics])

    def logs_over(self, group: ProcessGroup | None) -> dict[str, float]:
        """:meth:`logs` over the batches of every rank of ``group`` (a collective, which
        every rank must call at the same point); :meth:`logs` without a group."""
        if group is None:
            return self.logs()
        return self._logs_of(*group.summed_states(self._loss_total, self._seen,
                                                  [m for m, _ in self.metrics]))

    def _logs_of(self, total: torch.Tensor, seen: int, metrics: list[Any]) -> dict[str, float]:
        values = [(total / max(seen, 1)).reshape(-1)]
        values += [metric.result().reshape(-1).to(values[0]) for metric in metrics]
        return dict(zip(self.log_names, torch.cat(values).tolist()))
