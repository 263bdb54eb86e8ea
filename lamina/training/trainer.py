"""``Trainer``: the Keras training API (compile, fit, evaluate, predict) mixed into ``Model``.

Everything a call needs is checked before the first weight changes: data lengths, NaN or
infinite values, targets against the loss and the model's output shapes, label ranges.
Arrays become tensors once per call and batches are slices of them.

In a process launched by ``torchrun`` (``WORLD_SIZE > 1``), ``fit``, ``evaluate`` and the
single-batch methods train and evaluate data-parallel: see ``distributed.py``.
"""

from __future__ import annotations

import warnings
from functools import partial
from typing import Any

import torch

from lamina import config
from lamina.errors import ArgumentError, NotCompiledError
from lamina.saving.keras_objects import deserialize_keras_object, serialize_keras_object
from lamina.training import distributed, fsdp
from lamina.training.batch_methods import BatchMethods, result
from lamina.training.callbacks import Callback, CallbackList, History
from lamina.training.compile_arguments import resolve_device
from lamina.training.custom_steps import CompileMetrics, CustomSteps, StepsMixin
from lamina.training.data import ArrayData, StreamData, adapt, unpack
from lamina.training.loops import evaluate_loop, fit_loop, predict_loop
from lamina.training.progress import ProgressDisplay, resolve_verbose
from lamina.training.saving_state import restore_saving_state, saving_state
from lamina.training.steps import CompileState

#: The compile_config key under which a subclass's own get_compile_config() is saved.
CUSTOM_COMPILE_CONFIG = "keras_compile_config"


class Trainer(BatchMethods, StepsMixin):
    """Keras's ``compile``/``fit``/``evaluate``/``predict`` for a ``torch.nn.Module`` model.

    Example:
        >>> import lamina, numpy as np, torch
        >>> from lamina import layers
        >>> _ = torch.manual_seed(0)
        >>> x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
        >>> y = x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32")
        >>> model = lamina.Sequential([layers.Dense(1, input_shape=(3,))])
        >>> model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        >>> history = model.fit(x, y, epochs=20, batch_size=16, verbose=0)
        >>> history.history["loss"][-1] < history.history["loss"][0] / 10
        True
        >>> model.predict(x[:2], verbose=0).shape
        (2, 1)
    """

    _compile_state: CompileState | None = None
    #: Set to ``True`` (by a callback) to end ``fit`` after the current batch.
    stop_training: bool = False
    #: The :class:`History` of the last ``fit``.
    history: History | None = None
    #: Set by a callback's ``on_train_begin`` (``BackupAndRestore``): the epoch ``fit``
    #: resumes at.
    resume_epoch: int | None = None

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, metrics: Any = None,
                loss_weights: Any = None, jit: bool | str = False,
                device: str | torch.device = "auto", weighted_metrics: Any = None,
                run_eagerly: bool = False, jit_compile: bool | str = "auto",
                steps_per_execution: int = 1, auto_scale_loss: bool = True) -> None:
        """Configure training.

        Args:
            optimizer: A Keras name (``"adam"``, ``"adamw"``, ``"sgd"``, ``"rmsprop"``,
                ``"adagrad"``, with Keras's defaults), a ``lamina.optimizers`` recipe such
                as ``Adam(learning_rate=1e-3)``, or a ``torch.optim.Optimizer`` built on
                ``model.parameters()``. Default: ``"rmsprop"``.
            loss: A Keras name, a ``lamina.losses.Loss`` or ``fn(y_true, y_pred)``; for
                several outputs one for all, a list, or a dict keyed by output name.
            metrics: A list of names (``"accuracy"`` picks the variant that fits the loss),
                ``lamina.metrics.Metric`` objects or functions; for several outputs a list
                applies to each output, or pass a dict / list of lists per output.
            loss_weights: Factors of each output's loss in the total. Default: all 1.
            weighted_metrics: Like ``metrics``, but weighted by ``sample_weight`` and
                ``class_weight`` (Keras's): ``metrics`` are never weighted. A name used in
                both is logged as ``weighted_<name>`` here. Default: ``None``.
            jit: ``True`` runs the train, test and predict steps through
                ``torch.compile`` (or pass a ``torch.compile`` backend name). A layer that
                cannot be compiled whole gets one ``GraphBreakWarning``. Default: ``False``.
            device: ``"auto"`` (CUDA when present, else where the model is), ``"cpu"``,
                ``"cuda"``... The model is moved there; batches follow. Default: ``"auto"``.
            run_eagerly: Keras's; lamina's steps run eagerly unless ``jit``, and
                ``run_eagerly=True`` turns ``jit``/``jit_compile`` off. Default: ``False``.
            jit_compile: Keras's name for ``jit``: ``True`` is ``jit=True``; ``"auto"``
                (Keras's default, eager on torch) and ``False`` leave ``jit`` as given.
            steps_per_execution: Keras's; each step is one batch in lamina, so only ``1``
                is accepted.
            auto_scale_loss: Keras's; accepted (float16 loss scaling is not done).
        """
        if jit_compile not in (True, False, "auto"):
            raise ArgumentError(f"compile: jit_compile must be True, False or 'auto', "
                                f"received {jit_compile!r}.")
        if steps_per_execution != 1:
            raise ArgumentError(f"compile: steps_per_execution={steps_per_execution!r} is not "
                                "supported (lamina runs one batch per step); leave it at 1.")
        if jit_compile is True:
            jit = jit or True
        if run_eagerly:
            jit = False
        state = CompileState(self, optimizer, loss, metrics, loss_weights, jit, device,
                             weighted_metrics)
        if metrics is not None or weighted_metrics is not None:
            state.compile_metrics = CompileMetrics(state)
        self._compile_state = state

    @property
    def compiled(self) -> bool:
        """Whether :meth:`compile` has been called."""
        return self._compile_state is not None

    @property
    def optimizer(self) -> torch.optim.Optimizer | None:
        """The torch optimizer (built at compile, or at the first batch for unbuilt models)."""
        return None if self._compile_state is None else self._compile_state.optimizer

    @property
    def metrics_names(self) -> list[str]:
        """The names in the logs: ``loss``, per-output losses, then metrics."""
        state = self._compile_state
        return list(state.log_names) if state is not None and state.built else ["loss"]

    def get_compile_config(self) -> dict[str, Any] | None:
        """Keras's: the arguments :meth:`compile` was called with, serialized (``None`` when
        not compiled).

        A subclass whose ``compile`` takes other arguments overrides this and
        :meth:`compile_from_config`: ``model.save`` then stores what this returns
        (serialized with ``keras.saving.serialize_keras_object``) and ``load_model`` passes
        it to ``compile_from_config``, as in Keras (the optimizer's state is not kept then).
        """
        state = self._compile_state
        if state is None:
            return None
        return serialize_keras_object({
            "optimizer": state.optimizer_spec, "loss": state.loss_spec,
            "metrics": state.metrics_spec, "weighted_metrics": state.weighted_metrics_spec,
            "loss_weights": state.weights_spec})

    def compile_from_config(self, config: dict[str, Any]) -> None:
        """Keras's: compile with what :meth:`get_compile_config` returned (deserialized)."""
        self.compile(**deserialize_keras_object(config))

    def training_state(self, include_optimizer: bool) -> tuple[Any, Any]:
        """What ``model.save`` stores of the compile: see ``training/saving_state.py``; a
        subclass's own ``get_compile_config`` is stored as it says instead."""
        if type(self).get_compile_config is not Trainer.get_compile_config:
            custom = self.get_compile_config()
            if custom is None:
                return None, None
            return {CUSTOM_COMPILE_CONFIG: serialize_keras_object(custom)}, None
        return saving_state(self, self._compile_state, include_optimizer)

    def restore_training_state(self, config: Any, tensors: Any, aliases: Any) -> None:
        """Compile as saved, with the saved optimizer state (``lamina.load_model``)."""
        if isinstance(config, dict) and CUSTOM_COMPILE_CONFIG in config:
            self.compile_from_config(config[CUSTOM_COMPILE_CONFIG])
            return
        restore_saving_state(self, config, tensors, aliases)

    def _state(self, caller: str) -> CompileState:
        if self._compile_state is None:
            raise NotCompiledError(
                f"Model '{self.name}': {caller}() needs a compiled model. Call "
                "model.compile(optimizer=..., loss=...) first."
            )
        return self._compile_state

    def _prepared(self, caller: str, x: Any, y: Any, sample_weight: Any, batch_size: int,
                  shuffle: bool, steps: int | None, group: distributed.ProcessGroup | None,
                  class_weight: Any = None) -> ArrayData | StreamData:
        state = self._state(caller)
        data = adapt(x, y, sample_weight, batch_size, shuffle, steps, caller)
        if group is not None:
            data.shard(group.rank, group.world_size, 0, padded=False)
        state.build(data.first_batch()[0])
        data.prepare(partial(state.prepare, class_weight=class_weight, caller=caller))
        return data

    # ------------------------------------------------------------------ fit
    def fit(self, x: Any = None, y: Any = None, batch_size: int = 32, epochs: int = 1,
            verbose: int | str = "auto", callbacks: list[Callback] | None = None,
            validation_split: float = 0.0, validation_data: Any = None, shuffle: bool = True,
            class_weight: dict[int, float] | None = None, sample_weight: Any = None,
            initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps: int | None = None, validation_batch_size: int | None = None,
            validation_freq: int = 1, distribute: str | None = None) -> History:
        """Train the model; returns a :class:`History` of the loss and metrics per epoch.

        Under ``torchrun`` each process trains on its shard of the data with
        ``batch_size`` samples per step, and only rank 0 prints (see
        ``lamina/training/distributed.py``).

        Args:
            x: Inputs: a numpy array or tensor, a list or dict of them (several inputs), a
                torch ``Dataset`` or ``DataLoader``, or a generator of ``(x, y)`` /
                ``(x, y, sample_weight)`` batches.
            y: Targets, like ``x`` (a list or dict for several outputs); ``None`` when
                ``x`` yields batches.
            batch_size: Samples per step for arrays and Datasets. Default: ``32``.
            epochs: The epoch to stop at (counting ``initial_epoch``). Default: ``1``.
            verbose: ``"auto"``, 0, 1 (a bar per epoch) or 2 (a line per epoch).
            callbacks: ``lamina.callbacks`` objects. Default: none.
            validation_split: The fraction of the (unshuffled) arrays, taken from the
                end, to validate on after each epoch. Default: ``0.0``.
            validation_data: ``(x, y)``, ``(x, y, sample_weight)``, or a Dataset,
                DataLoader or generator. Default: ``None``.
            shuffle: Reshuffle array data every epoch. Default: ``True``.
            class_weight: ``{class index: weight}`` multiplying each sample's loss.
            sample_weight: One weight per sample (per output: a list or dict).
            initial_epoch: The epoch to start from (to resume). Default: ``0``.
            steps_per_epoch: Batches per epoch for generators. Default: all of them.
            validation_steps: Batches per validation. Default: all of them.
            validation_batch_size: Default: ``batch_size``.
            validation_freq: Validate every this many epochs. Default: ``1``.
            distribute: Under ``torchrun``: ``"ddp"`` (or ``None``, the default) keeps a
                whole model on every rank (``DistributedDataParallel``); ``"fsdp"`` shards
                the weights, gradients and optimizer state over the ranks with FSDP2, and
                the model stays sharded: every rank must then call ``evaluate``,
                ``predict`` and ``save`` (see ``lamina/training/fsdp.py``). Alone, both
                train as usual.
        """
        state = self._state("fit")
        sharding = fsdp.check_strategy(distribute) == "fsdp"
        group = distributed.current()
        sharding = sharding and group is not None
        verbose = resolve_verbose(verbose)
        for name, value, low in (("epochs", epochs, 0), ("initial_epoch", initial_epoch, 0),
                                 ("validation_freq", validation_freq, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ArgumentError(f"fit: {name} must be an int >= {low}, received {value!r}.")
        if not 0.0 <= validation_split < 1.0:
            raise ArgumentError(f"fit: validation_split must be in [0, 1), received "
                                f"{validation_split!r}.")
        epochs, steps_per_epoch = _debugging_caps(epochs, steps_per_epoch)
        data = adapt(x, y, sample_weight, batch_size, shuffle, steps_per_epoch, "fit")
        validation: ArrayData | StreamData | None = None
        if validation_split:
            if not isinstance(data, ArrayData):
                raise ArgumentError(
                    "fit: validation_split needs arrays or tensors; for a "
                    f"{type(x).__name__} pass validation_data= instead.")
            data, validation = data.split(validation_split)
            validation.shuffle = False
        elif validation_data is not None:
            validation = _validation_source(validation_data,
                                            validation_batch_size or batch_size,
                                            validation_steps)
        bar_synced = False
        if group is not None:
            # Rank 0's choices for all: the shuffle seed, and whether a bar is drawn (whose
            # refreshes are collectives; "auto" may resolve differently on another rank).
            seed, main_verbose = group.from_main([int(torch.randint(0, 2 ** 31 - 1, ())),
                                                  verbose])
            bar_synced, verbose = main_verbose == 1, verbose if group.is_main else 0
            data.shard(group.rank, group.world_size, seed, padded=True)
            if validation is not None and not sharding:  # fsdp.py: every rank validates all
                validation.shard(group.rank, group.world_size, seed, padded=False)
        callbacks = list(callbacks or [])
        if self.own_steps("train_step") or self.own_steps("test_step") or \
                self.own_steps("compute_loss"):
            if sharding:
                raise ArgumentError("fit: distribute='fsdp' trains with compile's train "
                                    "step; a model with its own train_step, test_step or "
                                    "compute_loss trains with distribute='ddp'.")
            if class_weight:
                raise ArgumentError("fit: class_weight is not passed to a train_step of "
                                    "your own; pass sample_weight= instead.")
            return fit_loop(self, CustomSteps(self, state), data, validation, epochs=epochs,
                            initial_epoch=initial_epoch, verbose=verbose,
                            callbacks=callbacks, validation_freq=validation_freq,
                            group=group, bar_synced=bar_synced)
        state.build(data.first_batch()[0])
        data.prepare(partial(state.prepare, class_weight=class_weight, caller="fit"))
        if validation is not None:
            validation.prepare(partial(state.prepare, class_weight=None,
                                       caller="fit(validation_data)"))
        if state.device.type == "cuda":  # batches copy to the GPU asynchronously
            for source in (data, validation):
                if source is not None:
                    source.pin_memory()
        if sharding:
            fsdp.shard(self, state)
        state.attach(group)
        with state.jit_scope():
            return fit_loop(self, state, data, validation, epochs=epochs,
                            initial_epoch=initial_epoch, verbose=verbose, callbacks=callbacks,
                            validation_freq=validation_freq, group=group,
                            bar_synced=bar_synced)

    # ------------------------------------------------------------------ evaluate / predict
    def evaluate(self, x: Any = None, y: Any = None, batch_size: int = 32,
                 verbose: int | str = "auto", sample_weight: Any = None,
                 steps: int | None = None, callbacks: list[Callback] | None = None,
                 return_dict: bool = False) -> float | list[float] | dict[str, float]:
        """The loss and metrics over the data, in inference mode.

        Returns the loss alone when there are no metrics, else ``[loss, *metrics]`` in
        :attr:`metrics_names` order, or a dict with ``return_dict=True``. Under
        ``torchrun`` each process evaluates its shard and every rank gets the values over
        the whole data.
        """
        group = distributed.current()
        # A sharded model evaluates every batch on every rank (fsdp.py).
        shards = None if distributed.is_sharded(self) else group
        custom = self.own_steps("train_step") or self.own_steps("test_step") or \
            self.own_steps("compute_loss")
        if custom:
            self._state("evaluate")
            data = adapt(x, y, sample_weight, batch_size, False, steps, "evaluate")
        else:
            data = self._prepared("evaluate", x, y, sample_weight, batch_size, False, steps,
                                  shards)
        hooks = CallbackList(list(callbacks or []), self, {"steps": data.steps},
                             quiet=group is not None and not group.is_main)
        display = ProgressDisplay(resolve_verbose(verbose) if group is None or group.is_main
                                  else 0)
        state = self._state("evaluate")
        if custom:
            logs = evaluate_loop(self, CustomSteps(self, state), data, display, hooks, shards)
            return result(logs, return_dict)
        with state.jit_scope():
            logs = evaluate_loop(self, state, data, display, hooks, shards)
        return result(logs, return_dict)

    def predict(self, x: Any, batch_size: int = 32, verbose: int | str = "auto",
                steps: int | None = None, callbacks: list[Callback] | None = None) -> Any:
        """The model's outputs as numpy arrays (the structure of the model's outputs).

        Needs no ``compile``. Runs in inference mode without gradients; every process
        predicts on all of ``x``.
        """
        data = adapt(x, None, None, batch_size, False, steps, "predict")
        hooks = CallbackList(list(callbacks or []), self, {"steps": data.steps})
        state = self._compile_state
        if self.own_steps("predict_step"):
            device = resolve_device("auto", self) if state is None else state.device
            return predict_loop(self, data, ProgressDisplay(resolve_verbose(verbose)), hooks,
                                device, self.predict_step)
        if state is None:
            return predict_loop(self, data, ProgressDisplay(resolve_verbose(verbose)), hooks,
                                resolve_device("auto", self), self)
        with state.jit_scope():
            return predict_loop(self, data, ProgressDisplay(resolve_verbose(verbose)), hooks,
                                state.device, state.predict_fn)


def _validation_source(validation_data: Any, batch_size: int,
                       steps: int | None) -> ArrayData | StreamData:
    if isinstance(validation_data, list) and len(validation_data) in (2, 3):
        validation_data = tuple(validation_data)  # Keras takes [x_val, y_val] too
    if isinstance(validation_data, tuple) and len(validation_data) in (2, 3):
        x, y, weight = unpack(validation_data)
        return adapt(x, y, weight, batch_size, False, steps, "fit(validation_data)")
    if isinstance(validation_data, (list, tuple, dict)):
        raise ArgumentError(
            "fit: validation_data must be a tuple (x_val, y_val) or (x_val, y_val, "
            f"sample_weight), or a Dataset, DataLoader or generator; received a "
            f"{type(validation_data).__name__} of {len(validation_data)} items."
        )
    return adapt(validation_data, None, None, batch_size, False, steps, "fit(validation_data)")


def _debugging_caps(epochs: int, steps_per_epoch: int | None) -> tuple[int, int | None]:
    """``epochs`` and ``steps_per_epoch`` within ``config.max_epochs()`` and
    ``config.max_steps_per_epoch()``, with Keras's warnings when a cap applies."""
    most_epochs, most_steps = config.max_epochs(), config.max_steps_per_epoch()
    if most_epochs is not None and most_epochs < epochs:
        warnings.warn(f"Limiting epochs to {most_epochs} (keras.config.max_epochs).",
                      UserWarning, stacklevel=3)
        epochs = most_epochs
    if most_steps is not None and (steps_per_epoch is None or most_steps < steps_per_epoch):
        warnings.warn(f"Limiting steps_per_epoch to {most_steps} "
                      "(keras.config.max_steps_per_epoch).", UserWarning, stacklevel=3)
        steps_per_epoch = most_steps
    return epochs, steps_per_epoch
