"""Keras's single-batch methods (``train_on_batch``, ``test_on_batch``,
``predict_on_batch``), mixed into ``Trainer``.

Under ``torchrun``, every rank calls them with its own batch; the returned values are
those of all the ranks' batches together (``distributed.py``).
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.training import distributed
from lamina.training.data import to_tensors, unpack
from lamina.utils import tree


class BatchMethods:
    """The single-batch methods; the class they are mixed into provides ``_state``,
    ``predict`` and ``nn.Module``'s ``train``/``eval``."""

    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                       class_weight: dict[int, float] | None = None,
                       return_dict: bool = False) -> float | list[float] | dict[str, float]:
        """One optimizer step on one batch; returns that batch's loss (and metrics).

        Under ``torchrun``, every rank calls it with its own batch; gradients and the
        returned values are those of all the ranks' batches together.
        """
        return result(self._one_batch("train_on_batch", x, y, sample_weight, class_weight,
                                      training=True), return_dict)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                      return_dict: bool = False) -> float | list[float] | dict[str, float]:
        """The loss (and metrics) of one batch, in inference mode (under ``torchrun``: of
        every rank's batch, each rank calling it with its own)."""
        return result(self._one_batch("test_on_batch", x, y, sample_weight, None,
                                      training=False), return_dict)

    def predict_on_batch(self, x: Any) -> Any:
        """The model's outputs on one batch, as numpy arrays."""
        return self.predict(to_tensors(x), batch_size=_batch_length(x), verbose=0)

    def _one_batch(self, caller: str, x: Any, y: Any, sample_weight: Any, class_weight: Any,
                   training: bool) -> dict[str, float]:
        """One ``train_step`` (in training mode) or ``test_step`` (in inference mode) on one
        batch, the model's mode restored after; the logs of every rank's batch."""
        state = self._state(caller)
        group = distributed.current()
        x, y, sample_weight = _single_batch(x, y, sample_weight)
        state.build(x)
        x, targets, weights = state.prepare(x, y, sample_weight, class_weight, caller)
        if training:
            state.attach(group)  # DistributedDataParallel under torchrun
        was_training = self.training
        state.reset_state()
        self.train(training)
        try:
            with state.jit_scope():
                step = state.train_step if training else state.test_step
                step(x, targets, weights)
        finally:
            self.train(was_training)
        return state.logs_over(group)


def _single_batch(x: Any, y: Any, sample_weight: Any) -> tuple[Any, Any, Any]:
    if y is None and isinstance(x, tuple):
        x, y, sample_weight = unpack(x)
    return to_tensors(x), to_tensors(y), to_tensors(sample_weight)


def _batch_length(x: Any) -> int:
    leaves = [leaf for leaf in tree.flatten(to_tensors(x)) if isinstance(leaf, torch.Tensor)]
    return max(1, len(leaves[0])) if leaves else 1


def result(logs: dict[str, float], return_dict: bool) -> float | list[float] | dict[str, float]:
    """Keras's return value of a call that reports logs: the dict, or the value(s)."""
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values
