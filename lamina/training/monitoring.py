"""Callbacks that watch a logged value: EarlyStopping, ModelCheckpoint, ReduceLROnPlateau.

Each watches ``monitor`` (default ``"val_loss"``) in the epoch logs. ``mode="auto"``
maximises names that contain ``acc``, ``auc``, ``precision`` or ``recall`` and minimises
everything else. A monitored name missing from the logs is an error that lists what is
there, except for a ``val_`` value on an epoch that ran no validation
(``validation_freq``).
"""

from __future__ import annotations

import copy
import os

import torch

from lamina import optimizers
from lamina.errors import ArgumentError
from lamina.saving.atomic import check_writable, make_parent_directories
from lamina.training.callbacks import Callback
from lamina.training.distributed import is_main_process, saves_here

_MAXIMISED = ("acc", "auc", "precision", "recall")


class _Monitor(Callback):
    """Shared logic: find the monitored value and decide whether it improved."""

    def __init__(self, monitor: str, mode: str, min_delta: float) -> None:
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ArgumentError(f"{type(self).__name__}: mode must be 'auto', 'min' or 'max', "
                                f"received {mode!r}.")
        name = monitor.removeprefix("val_")
        self.monitor = monitor
        self.maximise = mode == "max" or (
            mode == "auto" and "loss" not in name and any(w in name for w in _MAXIMISED))
        self.min_delta = abs(float(min_delta))

    def current(self, logs: dict | None) -> float | None:
        """The monitored value, or ``None`` on an epoch without validation."""
        logs = logs or {}
        if self.monitor in logs:
            return float(logs[self.monitor])
        validating = self.params.get("do_validation", False)
        if self.monitor.startswith("val_") and validating and not any(
                key.startswith("val_") for key in logs):
            return None
        hint = (" Values starting with 'val_' need validation_data= or validation_split= in "
                "fit." if self.monitor.startswith("val_") and not validating else "")
        raise ArgumentError(
            f"{type(self).__name__} monitors '{self.monitor}', which is not in the logs; "
            f"they hold {sorted(logs)}. Pass monitor= one of those.{hint}"
        )

    def improved(self, current: float, reference: float | None) -> bool:
        if reference is None:
            return True
        if self.maximise:
            return current - self.min_delta > reference
        return current + self.min_delta < reference


class EarlyStopping(_Monitor):
    """Stops training when ``monitor`` has not improved for ``patience`` epochs.

    Args:
        monitor: Default: ``"val_loss"``.
        min_delta: The smallest change that counts as an improvement. Default: ``0``.
        patience: Epochs without improvement before stopping. Default: ``0``.
        verbose: 1 prints when it stops or restores. Default: ``0``.
        mode: ``"auto"``, ``"min"`` or ``"max"``. Default: ``"auto"``.
        baseline: A value to beat; training stops if it is not beaten within ``patience``
            epochs. Default: ``None``.
        restore_best_weights: Put back the weights of the best epoch at the end of
            training. Default: ``False``.
        start_from_epoch: Epochs to wait before watching. Default: ``0``.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0) -> None:
        super().__init__(monitor, mode, min_delta)
        self.patience, self.verbose, self.baseline = int(patience), verbose, baseline
        self.restore_best_weights, self.start_from_epoch = restore_best_weights, start_from_epoch

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best: float | None = None
        self.best_weights: dict[str, torch.Tensor] | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        current = self.current(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = _copy_state(self.model), epoch
        self.wait += 1
        if self.improved(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = _copy_state(self.model)
            if self.baseline is None or self.improved(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print("Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.load_state_dict(self.best_weights)


class ReduceLROnPlateau(_Monitor):
    """Multiplies the learning rate by ``factor`` when ``monitor`` stops improving.

    Args:
        monitor: Default: ``"val_loss"``.
        factor: New rate = rate * factor. Default: ``0.1``.
        patience: Epochs without improvement before reducing. Default: ``10``.
        verbose: 1 prints each reduction. Default: ``0``.
        mode: ``"auto"``, ``"min"`` or ``"max"``. Default: ``"auto"``.
        min_delta: The smallest change that counts as an improvement. Default: ``1e-4``.
        cooldown: Epochs to wait after a reduction before counting again. Default: ``0``.
        min_lr: The rate never goes below this. Default: ``0.0``.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0) -> None:
        if not 0.0 < factor < 1.0:
            raise ArgumentError(f"ReduceLROnPlateau: factor must be in (0, 1), received "
                                f"{factor!r}.")
        super().__init__(monitor, mode, min_delta)
        self.factor, self.patience, self.verbose = factor, int(patience), verbose
        self.cooldown, self.min_lr = int(cooldown), float(min_lr)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.wait, self.cooldown_counter = 0, 0
        self.best: float | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        optimizer = self.model.optimizer
        if logs is not None:
            logs["learning_rate"] = optimizers.get_learning_rate(optimizer)
        current = self.current(logs)
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.improved(current, self.best):
            self.best, self.wait = current, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = optimizers.get_learning_rate(optimizer)
                if old > self.min_lr:
                    new = max(old * self.factor, self.min_lr)
                    optimizers.set_learning_rate(optimizer, new)
                    if self.verbose:
                        print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {new}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0


class ModelCheckpoint(_Monitor):
    """Saves the model (or only its weights) during training, through lamina's saving code.

    ``save_weights_only=False`` writes a full ``.lamina`` archive with ``model.save``
    (architecture, weights and optimizer state; load it with ``lamina.load_model``);
    ``save_weights_only=True`` writes a safetensors file of the weights with
    ``model.save_weights`` (load it with ``model.load_weights``). Both files appear
    atomically: an interrupted save never leaves a half-written checkpoint. Missing
    directories in ``filepath`` are created, as in Keras, and the directory is checked
    when training begins: a checkpoint that cannot be written is a
    :class:`~lamina.errors.SaveError` before the first epoch, not after it. Under
    ``torchrun`` only rank 0 writes.

    Args:
        filepath: Where to write; may hold ``{epoch}`` (counting from 1) and any log
            name, e.g. ``"ckpt-{epoch:02d}-{val_loss:.3f}.safetensors"``.
        monitor: The value ``save_best_only`` compares. Default: ``"val_loss"``.
        verbose: 1 prints each save. Default: ``0``.
        save_best_only: Write only when ``monitor`` improves. Default: ``False``.
        save_weights_only: Write only the weights. Default: ``False``.
        mode: ``"auto"``, ``"min"`` or ``"max"``. Default: ``"auto"``.
        save_freq: ``"epoch"``, or a number of batches between saves. Default: ``"epoch"``.
        initial_value_threshold: A value the first save must beat. Default: ``None``.
    """

    def __init__(self, filepath: str | os.PathLike, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", save_freq: str | int = "epoch",
                 initial_value_threshold: float | None = None) -> None:
        super().__init__(monitor, mode, 0.0)
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ArgumentError(f"ModelCheckpoint: save_freq must be 'epoch' or a positive "
                                f"number of batches, received {save_freq!r}.")
        self.filepath, self.verbose = os.fspath(filepath), verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.save_freq, self.best = save_freq, initial_value_threshold
        self._epoch, self._batches = 0, 0
        if save_freq != "epoch":
            self.on_train_batch_end = self._on_batch  # type: ignore[method-assign]

    def on_train_begin(self, logs: dict | None = None) -> None:
        # A directory named with {epoch} or a log value is only known at the first save.
        if is_main_process() and "{" not in os.path.dirname(self.filepath):
            check_writable(self.filepath, create_directories=True)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.save_freq == "epoch":
            self._save(epoch, logs or {})

    def _on_batch(self, batch: int, logs: dict | None = None) -> None:
        self._batches += 1
        if self._batches % self.save_freq == 0:
            self._save(self._epoch, logs or {})

    def _save(self, epoch: int, logs: dict) -> None:
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError) as error:
            raise ArgumentError(f"ModelCheckpoint: filepath {self.filepath!r} names {error}, "
                                f"which is not in the logs {sorted(logs)}.") from error
        if self.save_best_only:
            current = self.current(logs)
            if current is None:
                return
            if not self.improved(current, self.best):
                if self.verbose:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from {self.best}")
                return
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best} to "
                      f"{current}, saving model to {path}")
            self.best = current
        elif self.verbose:
            print(f"Epoch {epoch + 1}: saving model to {path}")
        if not saves_here(self.model):
            return  # under torchrun every rank holds the same weights; rank 0 writes them
        if is_main_process():  # a sharded model is saved by every rank, written by rank 0
            make_parent_directories(path)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


def _copy_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return copy.deepcopy({k: v.detach() for k, v in model.state_dict().items()})
