"""Keras's ``Model`` customisation: ``train_step``/``test_step``/``predict_step`` overrides.

A model whose class overrides ``train_step(self, data)`` (or ``test_step``,
``predict_step``) is trained by ``fit`` through that method, as in Keras: each batch is
passed as Keras passes it (``x``, ``(x, y)`` or ``(x, y, sample_weight)``), the method
returns a dict of metric results, and those are the batch logs. At the end of an epoch the
logs are ``model.get_metrics_result()`` when the step returned the model's metrics, else
the last step's logs. ``model.metrics`` (the ``"loss"`` tracker, the compiled metrics as
one ``"compile_metrics"`` metric, and the metrics the model holds) are reset at the start
of every epoch and evaluation.

:class:`CustomSteps` stands in for :class:`~lamina.training.steps.CompileState` in the
loops (``loops.py``), so callbacks, progress bars and validation work the same way.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import torch

from lamina.errors import ArgumentError, ArgumentTypeError
from lamina.training.steps import CompileState
from lamina.utils import tree


def pack(x: Any, y: Any, sample_weight: Any) -> Any:
    """A batch as Keras gives it to ``train_step``: ``x``, ``(x, y)`` or
    ``(x, y, sample_weight)``."""
    if y is None and sample_weight is None:
        return (x,) if isinstance(x, tuple) else x
    return (x, y) if sample_weight is None else (x, y, sample_weight)


def pythonify(logs: Any, caller: str) -> dict[str, float]:
    """A step's returned logs as ``{name: float}``; nested dicts (``compile_metrics``) are
    flattened, as Keras does."""
    if logs is None:
        return {}
    if not isinstance(logs, dict):
        raise ArgumentTypeError(f"{caller} must return a dict of metric results such as "
                                f"{{'loss': value}}, received {type(logs).__name__}.")
    result: dict[str, float] = {}
    for key, value in logs.items():
        if isinstance(value, dict):
            result.update(pythonify(value, caller))
        elif isinstance(value, torch.Tensor) and value.numel() == 1:
            result[key] = float(value.detach())
        elif isinstance(value, (int, float)) or hasattr(value, "item"):
            result[key] = float(value)
        else:
            result[key] = value
    return result


class CompileMetrics:
    """The metrics given to ``compile`` as one metric (Keras's ``compile_metrics``):
    ``update_state(y, y_pred, sample_weight)`` updates each for its output,
    ``result()`` is a dict of their results."""

    name = "compile_metrics"

    def __init__(self, state: CompileState) -> None:
        self._state = state

    @property
    def metrics(self) -> list[Any]:
        """The compiled metric objects (known once the model's outputs are)."""
        return [metric for metric, _ in self._state.metrics] if self._state.built else []

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        state = self._state
        state.resolve_outputs(y_pred)
        _, targets, weights = state.prepare(None, y_true, sample_weight, None,
                                            "compile_metrics.update_state")
        state.update_metrics(targets, [p.detach() for p in tree.flatten(y_pred)], weights)

    def result(self) -> dict[str, torch.Tensor]:
        return {metric.name: metric.result() for metric in self.metrics}

    def reset_state(self) -> None:
        for metric in self.metrics:
            metric.reset_state()

    def __repr__(self) -> str:
        return f"<CompileMetrics {[m.name for m in self.metrics]}>"


class CustomSteps:
    """What the loops call for a model with its own steps: each batch goes to the model's
    ``train_step``/``test_step``, and the logs are what those return."""

    def __init__(self, model: Any, state: CompileState) -> None:
        self.model, self.state = model, state
        self._last: dict[str, float] = {}

    @property
    def optimizer(self) -> Any:
        return self.state.optimizer

    def reset_state(self) -> None:
        self.model.reset_metrics()
        self._last = {}

    def train_step(self, x: Any, y: Any, weight: Any) -> None:
        self._last = pythonify(self.model.train_step(pack(x, y, weight)), "train_step")

    def test_step(self, x: Any, y: Any, weight: Any) -> None:
        with torch.no_grad():
            self._last = pythonify(self.model.test_step(pack(x, y, weight)), "test_step")

    def logs(self) -> dict[str, float]:
        return dict(self._last)

    def logs_over(self, group: Any) -> dict[str, float]:
        """The epoch's logs: the model's metric results when the steps return exactly
        those (Keras's rule), else the last step's logs."""
        if group is not None:
            raise ArgumentError(f"Model '{self.model.name}': a model with its own "
                                "train_step/test_step trains in one process; run it without "
                                "torchrun.")
        results = pythonify(self.model.get_metrics_result(), "get_metrics_result")
        return results if set(results) == set(self._last) else dict(self._last)


class StepsMixin:
    """Keras's per-batch model API, mixed into ``Trainer``: the default ``train_step``,
    ``test_step`` and ``predict_step`` (what an override replaces and may call through
    ``super()``), ``compute_loss``, ``compute_metrics``, ``metrics``.

    Example:
        >>> import lamina, numpy as np, torch
        >>> from lamina import layers
        >>> class Scaled(lamina.Model):
        ...     def train_step(self, data):
        ...         x, y = data
        ...         self.zero_grad()
        ...         loss = self.compute_loss(y=y, y_pred=self(x, training=True))
        ...         loss.backward()
        ...         self.optimizer.apply([v.value.grad for v in self.trainable_weights],
        ...                              self.trainable_weights)
        ...         for metric in self.metrics:
        ...             if metric.name == "loss":
        ...                 metric.update_state(loss)
        ...             else:
        ...                 metric.update_state(y, self(x))
        ...         return {m.name: m.result() for m in self.metrics}
        >>> inputs = lamina.Input((2,))
        >>> model = Scaled(inputs, layers.Dense(1)(inputs))
        >>> model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        >>> x = np.ones((8, 2), "float32")
        >>> sorted(model.fit(x, 2 * x[:, :1], epochs=2, verbose=0).history)
        ['loss', 'mae']
    """

    def _steps_state(self, caller: str) -> CompileState:
        state = self._compile_state  # type: ignore[attr-defined]
        if state is None:
            raise ArgumentError(f"Model '{self.name}': {caller} needs a compiled model; call "  # type: ignore[attr-defined]
                                "model.compile(optimizer=..., loss=...) first.")
        return state

    def own_steps(self, name: str) -> bool:
        """Whether the model's class overrides Keras's ``name`` step (``"train_step"``,
        ``"test_step"`` or ``"predict_step"``)."""
        return getattr(type(self), name) is not getattr(StepsMixin, name)

    # ------------------------------------------------------------------ loss and metrics
    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None,
                     sample_weight: Any = None, training: bool = True) -> torch.Tensor:
        """The total loss (Keras's): the compiled losses of ``y_pred`` against ``y``
        (weighted by ``loss_weights`` and ``sample_weight``) plus the model's own losses
        (regularizers, ``add_loss``)."""
        state = self._steps_state("compute_loss")
        state.resolve_outputs(y_pred)
        _, targets, weights = state.prepare(None, _tensors(y), _tensors(sample_weight), None,
                                            "compute_loss")
        total, _, _ = state.loss_of(y_pred, targets, weights)
        return total

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None
                        ) -> dict[str, float]:
        """Update the compiled metrics; returns :meth:`get_metrics_result`."""
        state = self._steps_state("compute_metrics")
        if state.compile_metrics is not None:
            state.compile_metrics.update_state(_tensors(y), y_pred, _tensors(sample_weight))
        return self.get_metrics_result()

    def get_metrics_result(self) -> dict[str, float]:
        """``{name: value}`` of every metric in :attr:`metrics` (``compile_metrics``
        expanded into its metrics)."""
        results: dict[str, Any] = {}
        for metric in self.metrics:
            value = metric.result()
            if isinstance(value, dict):
                results.update(value)
            else:
                results[metric.name] = value
        return pythonify(results, "get_metrics_result")

    @property
    def metrics(self) -> list[Any]:
        """The ``"loss"`` tracker and ``compile_metrics`` (once compiled), then the metric
        objects the model holds as attributes, in the order they were set (Keras's)."""
        found: list[Any] = []
        state = self._compile_state  # type: ignore[attr-defined]
        if state is not None:
            found.append(state.loss_tracker)
            if state.compile_metrics is not None:
                found.append(state.compile_metrics)
        found.extend(value for value in vars(self).values() if _is_metric(value))
        return found

    def reset_metrics(self) -> None:
        """Reset every metric in :attr:`metrics`."""
        for metric in self.metrics:
            metric.reset_state()

    # ------------------------------------------------------------------ default steps
    def train_step(self, data: Any) -> dict[str, float]:
        """One training step on ``data`` (``x``, ``(x, y)`` or ``(x, y, sample_weight)``),
        as Keras's: forward, :meth:`compute_loss`, backward, ``optimizer`` step, metrics."""
        x, y, sample_weight = _unpack(data)
        state = self._steps_state("train_step")
        self.zero_grad(set_to_none=True)  # type: ignore[attr-defined]
        y_pred = self(x, training=True)  # type: ignore[operator]
        loss = self._own_loss(x, y, y_pred, sample_weight, training=True)
        state.loss_tracker.update_state(loss.detach(), sample_weight=_count(x))
        optimizer = self.optimizer  # type: ignore[attr-defined]
        if loss.requires_grad:
            loss = optimizer.scale_loss(loss) if hasattr(optimizer, "scale_loss") else loss
            loss.backward()
            optimizer.step()
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data: Any) -> dict[str, float]:
        """One evaluation step on ``data``, as Keras's: forward, loss, metrics."""
        x, y, sample_weight = _unpack(data)
        state = self._steps_state("test_step")
        y_pred = self(x, training=False)  # type: ignore[operator]
        loss = self._own_loss(x, y, y_pred, sample_weight, training=False)
        state.loss_tracker.update_state(loss.detach(), sample_weight=_count(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def _own_loss(self, x: Any, y: Any, y_pred: Any, sample_weight: Any,
                  training: bool) -> torch.Tensor:
        """:meth:`compute_loss`, passing ``training`` only to an override that takes it
        (Keras's guides override ``compute_loss(self, x, y, y_pred, sample_weight)``)."""
        if _takes_training(type(self).compute_loss):
            return self.compute_loss(x, y, y_pred, sample_weight, training=training)
        return self.compute_loss(x, y, y_pred, sample_weight)

    def predict_step(self, data: Any) -> Any:
        """The model's outputs for ``data`` (``x``, or a tuple whose first item is x)."""
        x, _, _ = _unpack(data)
        return self(x, training=False)  # type: ignore[operator]


def _is_metric(value: Any) -> bool:
    return callable(getattr(value, "update_state", None)) and callable(
        getattr(value, "result", None)) and callable(getattr(value, "reset_state", None)) \
        and not isinstance(value, type)


def _unpack(data: Any) -> tuple[Any, Any, Any]:
    if isinstance(data, (tuple, list)) and len(data) in (1, 2, 3):
        return (*data, *([None] * (3 - len(data))))  # type: ignore[return-value]
    return data, None, None


def _tensors(value: Any) -> Any:
    if value is None or isinstance(value, torch.Tensor):
        return value
    return tree.map_structure(lambda v: torch.as_tensor(v) if not isinstance(
        v, torch.Tensor) and v is not None else v, value)


def _count(x: Any) -> float:
    leaves = [t for t in tree.flatten(x) if isinstance(t, torch.Tensor) and t.dim()]
    return float(leaves[0].shape[0]) if leaves else 1.0


@functools.cache
def _takes_training(compute_loss: Any) -> bool:
    parameters = inspect.signature(compute_loss).parameters
    return "training" in parameters or any(p.kind is p.VAR_KEYWORD
                                           for p in parameters.values())
