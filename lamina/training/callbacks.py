"""Callbacks: Keras's hooks into ``fit``, ``evaluate`` and ``predict``.

A callback sees the model (``self.model``), the loop's parameters (``self.params``:
``epochs``, ``steps``, ``verbose``, ``do_validation``) and, at each hook, a ``logs`` dict
of Python floats (``loss``, metrics, and ``val_*`` at the end of an epoch).

Batch-level hooks cost a host sync per batch (the logs must be read), so the trainer only
computes batch logs when some callback overrides a batch hook; epoch-level callbacks
leave the training loop as fast as plain PyTorch.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import os
from collections.abc import Callable
from typing import Any

from lamina import optimizers
from lamina.errors import ArgumentError
from lamina.training.distributed import is_main_process

_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_train_batch_begin",
                "on_train_batch_end")


class Callback:
    """Base class: override the hooks you need. ``self.model.stop_training = True`` ends
    ``fit`` after the current batch.

    Example:
        >>> class CountEpochs(Callback):
        ...     def on_train_begin(self, logs=None):
        ...         self.seen = 0
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         self.seen += 1
        >>> CountEpochs()._implements_train_batch_hooks()
        False
    """

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_train_begin(self, logs: dict | None = None) -> None: ...
    def on_train_end(self, logs: dict | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None: ...
    def on_test_begin(self, logs: dict | None = None) -> None: ...
    def on_test_end(self, logs: dict | None = None) -> None: ...
    def on_predict_begin(self, logs: dict | None = None) -> None: ...
    def on_predict_end(self, logs: dict | None = None) -> None: ...
    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None: ...
    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None: ...
    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None: ...
    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None: ...
    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None: ...
    def on_batch_end(self, batch: int, logs: dict | None = None) -> None: ...

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self.on_batch_begin(batch, logs)  # Keras 2 name, still honoured

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.on_batch_end(batch, logs)

    def _implements_train_batch_hooks(self) -> bool:
        """Whether a train-batch hook is overridden (so batch logs must be computed)."""
        return any(getattr(type(self), hook) is not getattr(Callback, hook)
                   or hook in self.__dict__ for hook in _BATCH_HOOKS)


class CallbackList:
    """Calls a hook on every callback in order.

    ``quiet`` (on every rank but 0 of a process group) discards what the hooks print, so a
    message appears once however many processes train.
    """

    def __init__(self, callbacks: list[Callback], model: Any, params: dict[str, Any],
                 quiet: bool = False) -> None:
        for callback in callbacks:
            if not isinstance(callback, Callback):
                raise ArgumentError(
                    f"callbacks must be lamina.callbacks.Callback instances, received "
                    f"{callback!r}. Wrap a function in LambdaCallback(on_epoch_end=...)."
                )
            callback.set_model(model)
            callback.set_params(params)
        self.callbacks = callbacks
        self.quiet = quiet
        self.needs_batch_logs = any(c._implements_train_batch_hooks() for c in callbacks)

    def call(self, hook: str, *args: Any) -> None:
        if self.quiet:
            with contextlib.redirect_stdout(io.StringIO()):
                for callback in self.callbacks:
                    getattr(callback, hook)(*args)
            return
        for callback in self.callbacks:
            getattr(callback, hook)(*args)


class History(Callback):
    """Records the logs of every epoch: ``history.history["loss"]`` is a list per epoch.

    ``fit`` returns one, and keeps it as ``model.history``.

    Example:
        >>> history = History()
        >>> history.on_train_begin()
        >>> history.on_epoch_end(0, {"loss": 0.5})
        >>> history.on_epoch_end(1, {"loss": 0.25})
        >>> history.epoch, history.history
        ([0, 1], {'loss': [0.5, 0.25]})
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


class LambdaCallback(Callback):
    """A callback from functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``.

    Takes any hook name as a keyword argument (``on_train_begin``, ``on_train_batch_end``,
    ...), with the hook's arguments.

    Example:
        >>> seen = []
        >>> callback = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
        >>> callback.on_epoch_end(3, {})
        >>> seen
        [3]
    """

    def __init__(self, **hooks: Callable[..., Any]) -> None:
        super().__init__()
        for name, function in hooks.items():
            if not (name.startswith("on_") and hasattr(Callback, name)):
                raise ArgumentError(f"LambdaCallback: unknown hook {name!r}; hooks are named "
                                    "like on_epoch_end, on_train_batch_end.")
            setattr(self, name, function)


class TerminateOnNaN(Callback):
    """Stops training cleanly when the loss becomes NaN or infinite, naming the batch.

    The step that produced the bad loss has already been applied, as in Keras; the
    weights are left as they are for inspection.
    """

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.terminated_at = (getattr(self, "_epoch", 0), batch)
            print(f"Epoch {self.terminated_at[0] + 1}, batch {batch}: invalid loss {loss}, "
                  "terminating training")
            self.model.stop_training = True

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch


class LearningRateScheduler(Callback):
    """Sets the learning rate at each epoch start to ``schedule(epoch, learning_rate)``.

    Args:
        schedule: ``(epoch, current_lr) -> new_lr`` (or ``(epoch) -> new_lr``); ``epoch``
            counts from 0.
        verbose: 1 prints each change. Default: ``0``.
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        current = optimizers.get_learning_rate(self.model.optimizer)
        try:
            value = self.schedule(epoch, current)
        except TypeError:  # a Keras-1 style schedule(epoch)
            value = self.schedule(epoch)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ArgumentError(f"LearningRateScheduler: schedule({epoch}) must return a "
                                f"finite number, returned {value!r}.")
        optimizers.set_learning_rate(self.model.optimizer, float(value))
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {value}.")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = optimizers.get_learning_rate(self.model.optimizer)


class CSVLogger(Callback):
    """Writes one CSV row per epoch: ``epoch`` then the logs in sorted key order.

    Args:
        filename: Where to write.
        separator: Default: ``","``.
        append: Add to an existing file instead of replacing it. Default: ``False``.
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",",
                 append: bool = False) -> None:
        super().__init__()
        self.filename, self.separator, self.append = os.fspath(filename), separator, append
        self.keys: list[str] | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.keys = None
        if not is_main_process():
            return  # under torchrun, rank 0 writes the file
        # The file is opened per row, so a failed fit never leaves a handle open.
        if not self.append:
            open(self.filename, "w").close()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if not is_main_process():
            return
        if self.keys is None:
            self.keys = sorted(logs)
        header = not os.path.exists(self.filename) or os.path.getsize(self.filename) == 0
        with open(self.filename, "a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["epoch", *self.keys],
                                    delimiter=self.separator, extrasaction="ignore")
            if header:
                writer.writeheader()
            writer.writerow({"epoch": epoch, **{k: logs.get(k, "NA") for k in self.keys}})
