"""The base of stateful metrics (``Metric``, ``Mean``, ``MeanMetricWrapper``); the metric
functions are in ``functions.py``, the metrics by name in the other modules here.

``update_state(y_true, y_pred, sample_weight=None)`` adds a batch, ``result()`` returns
the value so far, ``reset_state()`` starts over. State is kept in tensors on the
predictions' device and updated without reading values back to Python, so a training
loop pays for a host sync only when it asks for ``result()`` (when the progress bar
updates, and at the end of an epoch).

Example:
    >>> hits = lambda y_true, y_pred: (y_pred.argmax(-1) == y_true).float()
    >>> metric = MeanMetricWrapper(hits, name="accuracy")
    >>> metric.update_state(torch.tensor([0, 1]), torch.tensor([[0.9, 0.1], [0.8, 0.2]]))
    >>> metric.update_state(torch.tensor([1]), torch.tensor([[0.3, 0.7]]))
    >>> round(float(metric.result()), 4)
    0.6667
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from lamina import initializers
from lamina.errors import ArgumentError
from lamina.utils.shapes import array_to_tensor
from lamina.variables import Variable


class Metric:
    """Base class of stateful metrics.

    Args:
        name: Name in logs (``val_`` is prepended for validation). Default: the Keras name.
        dtype: Accepted for Keras compatibility (and kept in the config); state is float32.
    """

    name = "metric"
    #: Constructor arguments that ``get_config`` adds to ``name`` and ``dtype``.
    _config_keys: tuple[str, ...] = ()
    #: The ``dtype`` Keras reports in the config.
    _config_dtype = "float32"

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        if name is not None:
            self.name = name
        self._state_variables: list[Variable] = []
        self._reset_tensors()

    # ------------------------------------------------------------------ Keras-style state
    def add_variable(self, shape: Any = (), initializer: Any = "zeros", dtype: Any = None,
                     aggregation: str = "sum", name: str | None = None) -> Variable:
        """A non-trainable state variable, reset to zeros by :meth:`reset_state` (as Keras).

        How a metric written for Keras keeps its state: create variables in ``__init__``,
        ``assign``/``assign_add`` them in ``update_state``, read them in ``result``.
        ``aggregation`` is accepted for Keras compatibility (one process sums nothing).

        Example:
            >>> class Total(Metric):
            ...     def __init__(self):
            ...         super().__init__(name="total")
            ...         self.total = self.add_variable(initializer="zeros", name="total")
            ...     def update_state(self, values, sample_weight=None):
            ...         self.total.assign_add(torch.as_tensor(values).sum())
            ...     def result(self):
            ...         return self.total
            >>> metric = Total()
            >>> metric.update_state([1.0, 2.0])
            >>> float(metric.result())
            3.0
            >>> metric.reset_state()
            >>> float(metric.result())
            0.0
        """
        if "_state_variables" not in self.__dict__:
            raise ArgumentError(
                f"{type(self).__name__}.add_variable() was called before Metric.__init__. Call "
                "super().__init__(name=...) first in your metric's __init__."
            )
        init = initializers.get(initializer if initializer is not None else "zeros")
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        variable = Variable(init(shape, dtype=dtype or "float32"), trainable=False,
                            name=name or f"variable_{len(self._state_variables)}", dtype=dtype)
        self._state_variables.append(variable)
        return variable

    def add_weight(self, shape: Any = (), initializer: Any = None, dtype: Any = None,
                   name: str | None = None) -> Variable:
        """Keras's older name for :meth:`add_variable` (``initializer=None`` means zeros)."""
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, name=name)

    @property
    def variables(self) -> list[Variable]:
        """The variables made with :meth:`add_variable` (lamina's own metrics keep plain
        tensors instead, which they replace when reset)."""
        return list(self.__dict__.get("_state_variables", ()))

    def _reset_tensors(self) -> None:
        """Create or zero the plain-tensor state of lamina's own metrics (none here)."""

    def get_config(self) -> dict[str, Any]:
        """Keras's config: ``name``, ``dtype`` and the metric's own arguments."""
        return {"name": self.name, "dtype": self._config_dtype,
                **{key: getattr(self, key) for key in self._config_keys}}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        """The metric a :meth:`get_config` (lamina's or Keras's) describes."""
        return cls(**config)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add one batch."""
        raise NotImplementedError(f"{type(self).__name__} must define update_state().")

    def result(self) -> torch.Tensor:
        """The metric over every batch added since the last reset (a 0-d tensor)."""
        raise NotImplementedError(f"{type(self).__name__} must define result().")

    def reset_state(self) -> None:
        """Forget every batch: zero every variable (and lamina's own tensor state)."""
        self._reset_tensors()
        for variable in self.variables:
            variable.assign(torch.zeros_like(variable))

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> torch.Tensor:
        """Update with one batch and return the result, as a Keras metric does."""
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


class Mean(Metric):
    """The (weighted) mean of every value passed to ``update_state(values, sample_weight)``.

    Example:
        >>> mean = Mean()
        >>> mean.update_state(torch.tensor([1.0, 3.0]))
        >>> mean.update_state(torch.tensor([5.0]), sample_weight=torch.tensor([2.0]))
        >>> float(mean.result())  # (1 + 3 + 2 * 5) / (1 + 1 + 2)
        3.5
    """

    name = "mean"

    def _reset_tensors(self) -> None:
        self.total = torch.zeros(())
        self.count = torch.zeros(())

    def update_state(self, values: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        values = array_to_tensor(values).detach()
        if self.total.device != values.device:
            self.total, self.count = self.total.to(values.device), self.count.to(values.device)
        if sample_weight is None:
            self.total.add_(values.sum())
            self.count.add_(values.numel())
            return
        weight = array_to_tensor(sample_weight).to(values.dtype)
        if weight.dim() > values.dim() and weight.numel() == 1:
            weight = weight.reshape(())  # one weight for a scalar value
        while weight.dim() > values.dim() and weight.shape[-1] == 1:
            weight = weight.squeeze(-1)  # (n, 1) weights for (n,) values, as Keras
        if weight.dim() < values.dim():
            weight = weight.reshape(*weight.shape, *([1] * (values.dim() - weight.dim())))
        weight = torch.broadcast_to(weight, values.shape)
        self.total.add_((values * weight).sum())
        self.count.add_(weight.sum())

    def result(self) -> torch.Tensor:
        return self.total / torch.clamp(self.count, min=1e-12)


class MeanMetricWrapper(Mean):
    """The weighted mean of ``fn(y_true, y_pred)``, a function giving per-sample values.

    Example:
        >>> metric = MeanMetricWrapper(lambda t, p: (t - p).abs(), name="abs_error")
        >>> float(metric(torch.tensor([1.0, 2.0]), torch.tensor([1.5, 2.5])))
        0.5
    """

    def __init__(self, fn: Callable[..., torch.Tensor], name: str | None = None,
                 dtype: Any = None, **fn_kwargs: Any) -> None:
        self.fn = fn
        self.fn_kwargs = fn_kwargs
        super().__init__(name=name or getattr(fn, "__name__", "metric"))

    def get_config(self) -> dict[str, Any]:
        """As Keras: a bare wrapper names its function as ``fn``; subclasses do not."""
        config = super().get_config()
        if type(self) is MeanMetricWrapper:
            config["fn"] = getattr(self.fn, "__name__", repr(self.fn))
        return config

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = array_to_tensor(y_pred).detach()
        y_true = array_to_tensor(y_true)
        super().update_state(self.fn(y_true, y_pred, **self.fn_kwargs), sample_weight)
