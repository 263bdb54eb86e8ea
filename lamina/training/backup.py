"""Callbacks that keep training going: ``BackupAndRestore`` (resume an interrupted ``fit``)
and ``SwapEMAWeights`` (evaluate with the optimizer's moving averages).

``BackupAndRestore`` writes the model, with its optimizer state, to
``backup_dir/latest.lamina`` (a lamina archive, written atomically) and the epoch reached to
``training_metadata.json``. When ``fit`` starts again with the same callback, the weights
and optimizer state come back from the archive (read by lamina's safe loader) and training
resumes at the next epoch. The backup is deleted when ``fit`` ends normally.
"""

from __future__ import annotations

import json
import os
import shutil

from lamina import optimizers
from lamina.errors import ArgumentError, CorruptArchiveError
from lamina.saving import load_model
from lamina.training.callbacks import Callback
from lamina.training.distributed import is_main_process, is_sharded


class BackupAndRestore(Callback):
    """Back up the training state every epoch (or every ``save_freq`` batches) and restore
    it when ``fit`` is run again after an interruption.

    Args:
        backup_dir: The directory for the backup (created when needed).
        save_freq: ``"epoch"`` or a number of batches. Default: ``"epoch"``.
        double_checkpoint: Keep the previous backup too (``.bkp``), used when the latest
            cannot be read. Default: ``False``.
        delete_checkpoint: Delete the backup when ``fit`` ends. Default: ``True``.
    """

    def __init__(self, backup_dir: str | os.PathLike, save_freq: str | int = "epoch",
                 double_checkpoint: bool = False, delete_checkpoint: bool = True) -> None:
        super().__init__()
        if not backup_dir:
            raise ArgumentError("BackupAndRestore: backup_dir is empty.")
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ArgumentError(f"BackupAndRestore: save_freq must be 'epoch' or a positive "
                                f"number of batches, received {save_freq!r}.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq, self.double_checkpoint = save_freq, double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._model_path = os.path.join(self.backup_dir, "latest.lamina")
        self._metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._epoch, self._batches = 0, 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        for suffix in ("", ".bkp"):
            if os.path.exists(self._model_path + suffix):
                try:
                    self._restore(suffix)
                    return
                except (OSError, CorruptArchiveError, ValueError):
                    if suffix or not os.path.exists(self._model_path + ".bkp"):
                        raise

    def _restore(self, suffix: str) -> None:
        saved = load_model(self._model_path + suffix)
        self.model.set_weights(saved.get_weights())  # by position: names may differ
        mine, theirs = self.model.optimizer, saved.optimizer
        if theirs is not None and mine is not None and type(mine) is type(theirs):
            if isinstance(mine, optimizers.Optimizer) and not mine.built:
                mine.build(self.model.parameters())
            mine.load_state_dict(theirs.state_dict())
            if isinstance(mine, optimizers.Optimizer):
                mine.iterations = theirs.iterations
        with open(self._metadata_path + suffix) as handle:
            metadata = json.load(handle)
        epoch = metadata.get("epoch") if isinstance(metadata, dict) else None
        if not isinstance(epoch, int) or epoch < 0:
            raise CorruptArchiveError(f"BackupAndRestore: {self._metadata_path} holds no "
                                      "epoch.")
        self._epoch = epoch
        self.model.resume_epoch = epoch

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch + 1
        if self.save_freq == "epoch":
            self._save()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.save_freq != "epoch":
            self._batches += 1
            if self._batches % self.save_freq == 0:
                self._save()

    def _save(self) -> None:
        if not is_main_process():
            if is_sharded(self.model):
                self.model.save(self._model_path)  # gathers the shards; rank 0 writes
            return
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self._model_path):
            shutil.copyfile(self._model_path, self._model_path + ".bkp")
            if os.path.exists(self._metadata_path):
                shutil.copyfile(self._metadata_path, self._metadata_path + ".bkp")
        self.model.save(self._model_path)
        with open(self._metadata_path, "w") as handle:
            json.dump({"epoch": self._epoch}, handle)

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.delete_checkpoint and is_main_process() and os.path.isdir(self.backup_dir):
            shutil.rmtree(self.backup_dir)


class SwapEMAWeights(Callback):
    """Evaluate (and with ``swap_on_epoch``, checkpoint) with the optimizer's moving
    averages of the weights, as Keras's; the optimizer needs ``use_ema=True``.

    Args:
        swap_on_epoch: Also hold the averages in the model between the end of an epoch and
            the start of the next (so callbacks after this one, ``ModelCheckpoint``, see
            them). Default: ``False``.
    """

    def __init__(self, swap_on_epoch: bool = False) -> None:
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._swapped = False

    def _swap(self, into_model: bool) -> None:
        if self._swapped != into_model:
            optimizer = self.model.optimizer
            if not isinstance(optimizer, optimizers.Optimizer) or not optimizer.use_ema:
                raise ArgumentError("SwapEMAWeights needs a lamina optimizer with "
                                    "use_ema=True.")
            optimizer.swap_moving_averages()
            self._swapped = into_model

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self.swap_on_epoch:
            self._swap(False)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.swap_on_epoch:
            self._swap(True)
            if epoch == self.params.get("epochs", 0) - 1:
                # fit ends by writing the averages into the weights: they are the model's.
                self.model.optimizer.averages_from_weights()

    def on_test_begin(self, logs: dict | None = None) -> None:
        self._swap(True)

    def on_test_end(self, logs: dict | None = None) -> None:
        self._swap(False)

    def on_predict_begin(self, logs: dict | None = None) -> None:
        self._swap(True)

    def on_predict_end(self, logs: dict | None = None) -> None:
        self._swap(False)
