"""The epoch, evaluation and prediction loops behind ``fit``, ``evaluate`` and ``predict``.

Per batch, the fit loop does the train step and one clock read; it reads values back
from the device only when the progress bar is due (at most ~10 times a second), when a
callback needs batch logs, and at the end of the epoch.

Under a process group (``distributed.py``) the values are summed over the ranks, which is
a collective: so rank 0's bar is then refreshed at fixed steps (``SYNCS_PER_EPOCH`` times
an epoch) instead of by the clock, batch logs are synchronised at every step, and after
each epoch the ranks agree on whether a callback stopped training.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lamina.training.callbacks import Callback, CallbackList, History
from lamina.training.data import ArrayData, StreamData
from lamina.training.distributed import SYNCS_PER_EPOCH, ProcessGroup, is_sharded
from lamina.training.progress import ProgressDisplay
from lamina.training.steps import CompileState
from lamina.utils import tree

_TEST_BATCH_HOOKS = ("on_test_batch_begin", "on_test_batch_end")
_PREDICT_BATCH_HOOKS = ("on_predict_batch_begin", "on_predict_batch_end")


def _overrides(callbacks: CallbackList | None, hooks: tuple[str, ...]) -> bool:
    return callbacks is not None and any(
        getattr(type(c), h) is not getattr(Callback, h) or h in c.__dict__
        for c in callbacks.callbacks for h in hooks)


def fit_loop(model: Any, state: CompileState, data: ArrayData | StreamData,
             validation: ArrayData | StreamData | None, *, epochs: int, initial_epoch: int,
             verbose: int, callbacks: list[Any], validation_freq: int,
             group: ProcessGroup | None = None, bar_synced: bool = False) -> History:
    """Train for ``epochs`` (from ``initial_epoch``); returns the :class:`History`.

    ``bar_synced``: rank 0 of ``group`` draws a bar, so every rank joins its refreshes.
    """
    history = History()
    params = {"epochs": epochs, "steps": data.steps, "verbose": verbose,
              "do_validation": validation is not None}
    hooks = CallbackList([*callbacks, history], model, params,
                         quiet=group is not None and not group.is_main)
    batch_logs = hooks.needs_batch_logs
    sync_every = max(1, data.steps // SYNCS_PER_EPOCH) if data.steps and bar_synced else 0
    display = ProgressDisplay(verbose)
    was_training = model.training
    model.stop_training = False
    model.history = history
    logs: dict[str, float] = {}
    try:
        hooks.call("on_train_begin", {})
        if model.resume_epoch is not None:  # set by a callback (BackupAndRestore)
            initial_epoch, model.resume_epoch = max(initial_epoch, model.resume_epoch), None
        for epoch in range(initial_epoch, epochs):
            state.reset_state()
            model.train()
            data.set_epoch(epoch)
            hooks.call("on_epoch_begin", epoch, {})
            display.start(f"Epoch {epoch + 1}/{epochs}", data.steps)
            step = 0
            for x, targets, weights in data.batches():
                if batch_logs:
                    hooks.call("on_train_batch_begin", step, {})
                state.train_step(x, targets, weights)
                step += 1
                if group is None:
                    if batch_logs:
                        hooks.call("on_train_batch_end", step - 1, state.logs())
                    if display.due():
                        display.update(step, state.logs())
                elif batch_logs or (sync_every and step % sync_every == 0):
                    running = state.logs_over(group)
                    if batch_logs:
                        hooks.call("on_train_batch_end", step - 1, running)
                    if display.due():
                        display.update(step, running)
                if model.stop_training:
                    break
            if step == 0:
                display.close()
                if group is None or group.is_main:
                    print(f"Epoch {epoch + 1}/{epochs}: the data yielded no batch, so "
                          "training stopped. A generator yields its batches once: pass "
                          "steps_per_epoch= with a generator that lasts steps_per_epoch * "
                          "epochs batches, or a DataLoader, which starts over each epoch.")
                break
            logs = state.logs_over(group)
            if validation is not None and (epoch + 1) % validation_freq == 0:
                # A sharded model validates on every batch on every rank (fsdp.py).
                val_logs = evaluate_loop(model, state, validation, None, hooks,
                                         None if is_sharded(model) else group)
                logs.update({f"val_{key}": value for key, value in val_logs.items()})
            hooks.call("on_epoch_end", epoch, logs)
            if group is not None:
                model.stop_training = group.any(model.stop_training)
            display.finish(step, logs)
            if model.stop_training:
                break
        finalize = getattr(state.optimizer, "finalize_variable_values", None)
        if finalize is not None and epochs > initial_epoch:
            finalize()  # Keras's: with use_ema, the weights become their moving averages
        hooks.call("on_train_end", logs)
    finally:
        display.close()
        model.train(was_training)
    return history


def evaluate_loop(model: Any, state: CompileState, data: ArrayData | StreamData,
                  display: ProgressDisplay | None, hooks: CallbackList | None,
                  group: ProcessGroup | None = None) -> dict[str, float]:
    """Loss and metrics over ``data`` in inference mode (over every rank's shard with a
    process group; the progress bar meanwhile shows this rank's running values)."""
    batch_hooks = _overrides(hooks, _TEST_BATCH_HOOKS)
    was_training = model.training
    model.eval()
    state.reset_state()
    step = 0
    try:
        if hooks is not None:
            hooks.call("on_test_begin", {})
        if display is not None:
            display.start("", data.steps)
        for x, targets, weights in data.batches():
            if batch_hooks:
                hooks.call("on_test_batch_begin", step, {})
            state.test_step(x, targets, weights)
            step += 1
            if batch_hooks:
                hooks.call("on_test_batch_end", step - 1, state.logs())
            if display is not None and display.due():
                display.update(step, state.logs())
        logs = state.logs_over(group)
        if hooks is not None:
            hooks.call("on_test_end", logs)
        if display is not None:
            display.finish(step, logs)
    finally:
        if display is not None:
            display.close()
        model.train(was_training)
    return logs


def predict_loop(model: Any, data: ArrayData | StreamData, display: ProgressDisplay,
                 hooks: CallbackList, device: torch.device, forward: Any) -> Any:
    """The model's outputs over ``data`` (inference mode, no gradients) as numpy arrays;
    ``forward`` is the model or its compiled predict step."""
    batch_hooks = _overrides(hooks, _PREDICT_BATCH_HOOKS)
    was_training = model.training
    model.eval()
    batches: list[list[torch.Tensor]] = []
    # With a known number of samples, each batch is written into one preallocated result
    # (the outputs are never held twice); a stream of unknown length collects batches.
    total = data.size if isinstance(data, ArrayData) else None
    results: list[np.ndarray] | None = None
    filled = 0
    structure: Any = None
    step = 0
    try:
        hooks.call("on_predict_begin", {})
        display.start("", data.steps)
        with torch.no_grad():
            for x, _, _ in data.batches():
                if batch_hooks:
                    hooks.call("on_predict_batch_begin", step, {})
                if device.type != "cpu":
                    x = tree.map_structure(
                        lambda t: t.to(device) if isinstance(t, torch.Tensor) else t, x)
                outputs = forward(x)
                structure = outputs
                flat = [t.detach() for t in tree.flatten(outputs)]
                if total is not None and all(t.dim() for t in flat):
                    if results is None:
                        results = [np.empty((total, *t.shape[1:]), dtype=t.cpu().numpy().dtype)
                                   for t in flat]
                    count = flat[0].shape[0]
                    for result, value in zip(results, flat):
                        result[filled:filled + count] = value.cpu().numpy()
                    filled += count
                else:
                    batches.append(flat)
                step += 1
                if batch_hooks:
                    hooks.call("on_predict_batch_end", step - 1, {"outputs": outputs})
                if display.due():
                    display.update(step, {})
        hooks.call("on_predict_end", {})
        display.finish(step, {})
    finally:
        display.close()
        model.train(was_training)
    if results is not None and not batches:
        return tree.pack_as(structure, [r[:filled] for r in results])
    if not batches:
        return None
    leaves = [torch.cat(parts).cpu().numpy() if parts[0].dim() else
              np.stack([p.cpu().numpy() for p in parts]) for parts in zip(*batches)]
    return tree.pack_as(structure, leaves)
