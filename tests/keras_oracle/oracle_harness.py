"""Runs one configuration in Keras 3 and in lamina and compares them, check by check.

For a :class:`~oracle_cases.Case`, :func:`result` builds the Keras layer and calls it on
seeded inputs, overwrites its weights with seeded random values (so biases, moving
statistics and gammas matter), copies them into the lamina layer with
``set_weights([w.numpy() for w in keras_layer.weights])``, calls lamina on the same inputs
and compares, one :data:`CHECKS` entry at a time:

``weights``
    ``set_weights`` takes Keras's list; the same number of trainable weights, the same
    shapes and dtypes; weights Keras initialises to 0/1 values (biases, ``unit_forget_bias``,
    gammas, moving statistics) start equal.
``weight_paths``
    The weights' paths (``"dense/kernel"``, Keras 3's ``Variable.path``), in order.
``output``
    The outputs (structure, shapes, dtypes, values to atol/rtol 1e-5), the layer's
    ``losses`` after the call, and every weight after the call (moving statistics).
``mask``
    The masks the outputs carry (``_keras_mask``) and ``compute_mask``.
``output_shape``
    ``compute_output_shape`` on the input shapes (batch axis ``None``).
``symbolic``
    Calling the layer on ``keras.Input`` / ``lamina.Input``: output shapes, dtypes, masks.
``config``
    ``get_config()``: the same keys and values (see :func:`normalized`).
``from_keras_config``
    The lamina class's ``from_config`` on Keras's config rebuilds the lamina layer (equal
    config).
``to_keras_config``
    The Keras class's ``from_config`` on lamina's config rebuilds the Keras layer.
``gradients``
    Gradients of ``sum(output * c)`` (``c`` fixed random) w.r.t. every trainable weight
    and every float input.

Only lamina's side may fail a check: anything Keras refuses raises :class:`OracleError`
(a broken table), never a :class:`Discrepancy`.
"""

from __future__ import annotations

import copy
import inspect
import warnings
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from oracle_cases import NOT_APPLICABLE, Case, In, Sub

import lamina
import lamina.layers
from lamina.utils import naming

CHECKS = ("weights", "weight_paths", "output", "mask", "output_shape", "symbolic", "config",
          "from_keras_config", "to_keras_config", "gradients")
#: What is compared for keras.layers' functional forms (``add([x, y])``).
FUNCTION_CHECKS = ("output", "mask", "symbolic", "gradients")
ATOL = RTOL = 1e-5
#: Config keys of Keras's quantization and LoRA features, out of the oracle's scope; they
#: are left out of the comparison only while they hold Keras's default (None).
OUT_OF_SCOPE_KEYS = ("quantization_config", "lora_rank", "lora_alpha")
#: Counts of what was compared: layers, configurations, individual comparisons.
STATS: Counter[str] = Counter()
_RESULTS: dict[str, dict[str, Outcome]] = {}
#: Where Keras's shape inference contradicts Keras's own eager call (the eager call is
#: then the reference): "case check" -> what was seen. Reported in the summary.
KERAS_INCONSISTENCIES: dict[str, str] = {}
_LAYERS_SEEN: set[str] = set()


class Discrepancy(AssertionError):
    """lamina differs from Keras (the thing a known gap may expect)."""


class OracleError(Exception):
    """Keras itself refused a configuration: the table is wrong, not lamina."""


@dataclass
class Outcome:
    passed: bool
    message: str = ""


# ---------------------------------------------------------------------------- inputs
def seed_of(text: str) -> int:
    return zlib.crc32(text.encode())


def mask_array(pattern: str, batch: int, steps: int) -> np.ndarray:
    """A (batch, steps) boolean mask of the named pattern, each row keeping a step unless
    the pattern is ``"empty"`` (whose last row keeps none)."""
    mask = np.ones((batch, steps), dtype=bool)
    for b in range(batch):
        if pattern == "right":
            mask[b, max(1, steps - 1 - 2 * b):] = False
        elif pattern == "left":
            mask[b, :min(steps - 1, 1 + 2 * b)] = False
        elif pattern in ("holes", "empty"):
            mask[b, (np.arange(steps) + b) % 3 == 1] = False
        else:
            raise ValueError(f"unknown mask pattern {pattern!r}")
    if pattern == "empty":
        mask[-1] = False
    return mask


def input_arrays(spec: In, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
    if spec.kind == "int":
        array = rng.integers(spec.low, spec.high, size=spec.shape).astype(spec.dtype)
    else:
        array = rng.standard_normal(spec.shape).astype(spec.dtype)
        if spec.kind == "zero_steps":
            for b in range(spec.shape[0]):
                array[b, (np.arange(spec.shape[1]) + b) % 3 == 2] = spec.fill
    mask = mask_array(spec.mask, *spec.shape[:2]) if spec.mask else None
    return array, mask


def is_float(dtype: str) -> bool:
    return dtype.startswith(("float", "bfloat"))


# ---------------------------------------------------------------------------- structures
def flat(value: Any) -> list[Any]:
    """The leaves of nested lists/tuples/dicts, in order."""
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in flat(item)]
    if isinstance(value, dict):
        return [leaf for key in sorted(value) for leaf in flat(value[key])]
    return [value]


def is_shape(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and all(
        d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in value)


def flat_shapes(value: Any) -> list[tuple[Any, ...]]:
    """The shapes in a shape or a nested structure of shapes."""
    if is_shape(value):
        return [tuple(value)]
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in flat_shapes(item)]
    if isinstance(value, dict):
        return [s for key in sorted(value) for s in flat_shapes(value[key])]
    return [value]


def normalized(value: Any) -> Any:
    """A config value with Keras's equivalent spellings made equal: tuples are lists; a
    serialized object (``{"module", "class_name", "config", ...}``) compares by class name
    and config, not module (``keras.initializers`` vs ``lamina.initializers``); a Keras
    ``DTypePolicy`` is its dtype name; floats compare at float32 precision (Keras keeps
    ``l1=0.01`` as ``0.009999999776482582``)."""
    if isinstance(value, dict):
        if "class_name" in value and "config" in value:
            if value["class_name"] in ("DTypePolicy", "FloatDTypePolicy"):
                return normalized(value["config"].get("name"))
            return {"class_name": value["class_name"], "config": normalized(value["config"])}
        return {key: normalized(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalized(item) for item in value]
    if isinstance(value, float):
        return float(np.float32(value))
    return value


def config_differences(expected: dict, got: dict,
                       labels: tuple[str, str] = ("Keras", "lamina")) -> list[str]:
    """What differs between two ``get_config()`` dicts, after :func:`normalized`; nested
    configs (a wrapper's layer, an initializer) are compared key by key, with a path.
    Keys of :data:`OUT_OF_SCOPE_KEYS` holding None are left out on both sides."""
    problems: list[str] = []
    _diff("", normalized(expected), normalized(got), problems, labels)
    return problems


def _in_scope(config: dict) -> dict:
    return {k: v for k, v in config.items() if not (k in OUT_OF_SCOPE_KEYS and v is None)}


def _diff(path: str, expected: Any, got: Any, problems: list[str],
          labels: tuple[str, str]) -> None:
    STATS["comparisons"] += 1
    if isinstance(expected, dict) and isinstance(got, dict):
        expected, got = _in_scope(expected), _in_scope(got)
        only_expected = sorted(set(expected) - set(got))
        only_got = sorted(set(got) - set(expected))
        if only_expected:
            problems.append(f"{path}keys only in {labels[0]}: {', '.join(only_expected)}")
        if only_got:
            problems.append(f"{path}keys only in {labels[1]}: {', '.join(only_got)}")
        for key in sorted(set(expected) & set(got)):
            _diff(f"{path}{key}.", expected[key], got[key], problems, labels)
    elif expected != got:
        problems.append(f"{path[:-1]}: {labels[0]} {_short(expected)}, {labels[1]} "
                        f"{_short(got)}")


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def describe(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"[:300]


def fmt_shape(shape: Any) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"


# ---------------------------------------------------------------------------- building
def _resolve(value: Any, make: Any) -> Any:
    if isinstance(value, Sub):
        return make(value.layer, value.kwargs)
    if isinstance(value, list) and any(isinstance(item, Sub) for item in value):
        return [_resolve(item, make) for item in value]
    return value


def layer_kwargs(case_kwargs: dict[str, Any], make: Any) -> dict[str, Any]:
    kwargs = {key: _resolve(value, make) for key, value in case_kwargs.items()}
    kwargs.setdefault("name", "subject")
    return kwargs


def is_function(name: str) -> bool:
    """Whether a table entry names one of keras.layers' functions (``add``), not a class."""
    return name[:1].islower()


def checks_of(name: str) -> tuple[str, ...]:
    """The checks run for a layer (or function) of the tables."""
    checks = FUNCTION_CHECKS if is_function(name) else CHECKS
    return tuple(check for check in checks if check not in NOT_APPLICABLE.get(name, {}))


class FunctionCall:
    """A functional form (``keras.layers.add``) bound to its arguments, standing in for a
    layer: no weights, no losses, no config."""

    weights: list[Any] = []
    trainable_weights: list[Any] = []
    losses: list[Any] = []

    def __init__(self, function: Any, kwargs: dict[str, Any]) -> None:
        self.function, self.kwargs = function, kwargs

    def __call__(self, inputs: Any, training: Any = None, **kwargs: Any) -> Any:
        return self.function(inputs, **self.kwargs, **kwargs)

    def get_weights(self) -> list[Any]:
        return []

    def set_weights(self, weights: list[Any]) -> None:
        if weights:
            raise ValueError(f"a function has no weights, received {len(weights)}")


@contextmanager
def fresh_names(keras: Any = None) -> Iterator[None]:
    """Automatic layer names as in a fresh process, in both libraries (``RNN(cell=[...])``
    names the stack it makes): Keras's name counters are cleared, lamina's are emptied for
    the duration and then put back (what other tests see stays as it was)."""
    if keras is not None:
        keras.backend.clear_session(free_memory=False)
    saved = dict(naming._name_counts)
    naming._name_counts.clear()
    try:
        yield
    finally:
        naming._name_counts.clear()
        naming._name_counts.update(saved)


def keras_layer(keras: Any, name: str, kwargs: dict[str, Any]) -> Any:
    def make(sub: str, sub_kwargs: dict[str, Any]) -> Any:
        return getattr(keras.layers, sub)(**layer_kwargs(sub_kwargs, make))
    if is_function(name):
        return FunctionCall(getattr(keras.layers, name), layer_kwargs(kwargs, make))
    return getattr(keras.layers, name)(**layer_kwargs(kwargs, make))


def lamina_layer(name: str, kwargs: dict[str, Any]) -> Any:
    def make(sub: str, sub_kwargs: dict[str, Any]) -> Any:
        return getattr(lamina.layers, sub)(**layer_kwargs(sub_kwargs, make))
    if name not in lamina.layers.__all__:
        raise Discrepancy(f"lamina.layers has no {name}")
    if is_function(name):
        return FunctionCall(getattr(lamina.layers, name), layer_kwargs(kwargs, make))
    return getattr(lamina.layers, name)(**layer_kwargs(kwargs, make))


def _tensors(arrays: list[tuple[np.ndarray, np.ndarray | None]], grad: bool) -> list[Any]:
    tensors = []
    for array, mask in arrays:
        tensor = torch.tensor(array)
        if grad and tensor.is_floating_point():
            tensor.requires_grad_(True)
        if mask is not None:
            tensor._keras_mask = torch.tensor(mask)
        tensors.append(tensor)
    return tensors


def _invoke(layer: Any, case: Case, tensors: list[Any], state: dict[str, Any],
            call: dict[str, Any]) -> Any:
    kwargs = {**call, **state}
    if case.as_list:
        return layer(list(tensors), **kwargs)
    return layer(*tensors, **kwargs)


def _spec_leaves(structure: Any) -> list[In]:
    """The ``In`` leaves of a tensor call argument (an ``In``, or tuples of them)."""
    if isinstance(structure, In):
        return [structure]
    return [leaf for item in structure for leaf in _spec_leaves(item)]


def _rebuild(structure: Any, leaves: Any) -> Any:
    """``structure`` with its ``In`` leaves replaced, in order, from the iterator."""
    if isinstance(structure, In):
        return next(leaves)
    return [_rebuild(item, leaves) for item in structure]


def _state_tensors(case: Case, rng: np.random.Generator, grad: bool,
                   arrays: dict[str, Any] | None = None) -> tuple[dict, dict]:
    """Tensors for ``case.tensor_call`` (``initial_state``, a cell's ``states``), and the
    arrays they hold (drawn once, then reused)."""
    arrays = arrays if arrays is not None else {
        key: [input_arrays(spec, rng) for spec in _spec_leaves(specs)]
        for key, specs in case.tensor_call.items()}
    tensors = {key: _rebuild(case.tensor_call[key], iter(_tensors(found, grad)))
               for key, found in arrays.items()}
    return tensors, arrays


def _masks_matter(keras_layer: Any) -> bool:
    """Whether Keras's ``compute_mask`` means something for this layer: Keras's base
    ``compute_mask`` hands back the input mask even for a layer that does not support
    masking (whose call then drops the mask, with a warning), so it is compared only for
    layers that support masking or define their own."""
    own = any("compute_mask" in vars(cls) for cls in type(keras_layer).__mro__
              if cls.__module__.startswith("keras.src.layers.")
              and cls.__module__ != "keras.src.layers.layer")
    return bool(getattr(keras_layer, "supports_masking", False)) or own


def _numpy(tensor: Any) -> np.ndarray:
    return tensor.detach().cpu().numpy() if isinstance(tensor, torch.Tensor) else \
        np.asarray(tensor)


def _dtype_name(tensor: Any) -> str:
    return str(tensor.dtype).replace("torch.", "")


# ---------------------------------------------------------------------------- comparing
def compare_arrays(what: str, keras_value: Any, lamina_value: Any) -> list[str]:
    STATS["comparisons"] += 1
    if keras_value is None or lamina_value is None:
        if keras_value is None and lamina_value is None:
            return []
        k = "None" if keras_value is None else f"shape {fmt_shape(keras_value.shape)}"
        lam = "None" if lamina_value is None else f"shape {fmt_shape(lamina_value.shape)}"
        return [f"{what}: Keras {k}, lamina {lam}"]
    if not isinstance(lamina_value, (torch.Tensor, np.ndarray)):
        return [f"{what}: lamina returned {type(lamina_value).__name__}, not a tensor"]
    k, lam = _numpy(keras_value), _numpy(lamina_value)
    if k.shape != lam.shape:
        return [f"{what}: Keras shape {fmt_shape(k.shape)}, lamina {fmt_shape(lam.shape)}"]
    kd, ld = _dtype_name(keras_value), _dtype_name(lamina_value)
    if kd != ld:
        return [f"{what}: Keras dtype {kd}, lamina {ld}"]
    if k.dtype == bool or not np.issubdtype(k.dtype, np.floating):
        if not np.array_equal(k, lam):
            return [f"{what}: values differ at {int((k != lam).sum())} of {k.size} "
                    "positions"]
        return []
    if not np.allclose(lam, k, atol=ATOL, rtol=RTOL, equal_nan=True):
        diff = np.abs(np.nan_to_num(lam - k, nan=np.inf))
        where = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
        return [f"{what}: max abs difference {float(diff.max()):.3g} at {tuple(map(int, where))}"
                f" (Keras {float(k[where]):.5g}, lamina {float(lam[where]):.5g})"]
    return []


def compare_flat(what: str, keras_values: list[Any], lamina_values: list[Any]) -> list[str]:
    if len(keras_values) != len(lamina_values):
        STATS["comparisons"] += 1
        return [f"{what}: Keras gives {len(keras_values)}, lamina {len(lamina_values)}"]
    problems = []
    for index, (k, lam) in enumerate(zip(keras_values, lamina_values)):
        label = what if len(keras_values) == 1 else f"{what} {index}"
        problems += compare_arrays(label, k, lam)
    return problems


# ---------------------------------------------------------------------------- a run
class Run:
    """Both layers of one case and everything the checks compare, computed lazily."""

    def __init__(self, keras: Any, case: Case) -> None:
        self.keras, self.case = keras, case
        self.rng = np.random.default_rng(seed_of(case.key))
        self.arrays = [input_arrays(spec, self.rng) for spec in case.inputs]
        _, self.state_arrays = _state_tensors(case, self.rng, False)
        self._memo: dict[str, Any] = {}

    # Keras's side: any failure here is the table's fault.
    def keras_side(self) -> dict[str, Any]:
        if "keras" in self._memo:
            return self._memo["keras"]
        case, keras = self.case, self.keras
        try:
            with warnings.catch_warnings(), fresh_names(keras):
                warnings.simplefilter("ignore")
                layer = keras_layer(keras, case.layer, case.kwargs)
                built = _tensors(self.arrays, False)
                state, _ = _state_tensors(case, self.rng, False, self.state_arrays)
                _invoke(layer, case, built, state, {**case.call, "training": False})
                initial = [_numpy(w.value) for w in layer.weights]
                for weight in layer.weights:
                    values = (self.rng.uniform(0.5, 1.5, weight.shape)
                              if "variance" in weight.name
                              else self.rng.normal(0.0, 0.5, weight.shape))
                    weight.assign(values.astype(_dtype_name(weight.value)))
                weights = [np.array(w.numpy()) for w in layer.weights]
                tensors = _tensors(self.arrays, True)
                state, _ = _state_tensors(case, self.rng, True, self.state_arrays)
                outputs = _invoke(layer, case, tensors, state, case.call)
                losses = [_numpy(loss) for loss in layer.losses]
                after = [_numpy(w.value) for w in layer.weights]
                grads = self._gradients(outputs, [w.value for w in layer.trainable_weights],
                                        tensors, state)
                config = None if is_function(case.layer) else layer.get_config()
        except Exception as error:
            raise OracleError(f"Keras refused {case.key}: {describe(error)}") from error
        self._memo["keras"] = side = {
            "layer": layer, "initial": initial, "weights": weights, "tensors": tensors,
            "outputs": outputs, "losses": losses, "after": after, "grads": grads,
            "config": config, "trainable": len(layer.trainable_weights),
            "paths": [w.path for w in layer.weights]}
        return side

    def _gradients(self, outputs: Any, weights: list[Any], tensors: list[Any],
                   state: dict[str, Any]) -> list[Any] | str:
        leaves = [t for t in flat(outputs) if isinstance(t, torch.Tensor)
                  and t.is_floating_point()]
        if not leaves:
            return "no float output"
        rng = np.random.default_rng(seed_of(self.case.key + "/grad"))
        loss = sum((t * torch.tensor(rng.standard_normal(tuple(t.shape)), dtype=t.dtype))
                   .sum() for t in leaves)
        sources = list(weights) + [t for t in tensors + flat(state)
                                   if isinstance(t, torch.Tensor) and t.requires_grad]
        if not loss.requires_grad:
            return [None] * len(sources)
        grads = torch.autograd.grad(loss, sources, allow_unused=True)
        return [None if g is None else g.detach().clone() for g in grads]

    # lamina's side: failures are discrepancies, reported by the check that meets them.
    def lamina_layer(self) -> Any:
        if "lamina_layer" not in self._memo:
            try:
                # A deprecation warning Keras gives too (LayerNormalization(rms_scaling=True))
                # is not a difference; lamina's own tests check its warnings.
                with fresh_names(), warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    self._memo["lamina_layer"] = lamina_layer(self.case.layer,
                                                              self.case.kwargs)
            except Discrepancy as error:
                self._memo["lamina_layer"] = error
            except Exception as error:
                self._memo["lamina_layer"] = Discrepancy(
                    f"lamina's constructor raised {describe(error)}")
        found = self._memo["lamina_layer"]
        if isinstance(found, Exception):
            raise found
        return found

    def lamina_weights(self) -> Any:
        """Build the lamina layer and copy Keras's weights into it."""
        if "lamina_weights" not in self._memo:
            try:
                self._memo["lamina_weights"] = self._copy_weights()
            except Discrepancy as error:
                self._memo["lamina_weights"] = error
        found = self._memo["lamina_weights"]
        if isinstance(found, Exception):
            raise found
        return found

    def _copy_weights(self) -> Any:
        layer, case = self.lamina_layer(), self.case
        keras_side = self.keras_side()
        try:
            state, _ = _state_tensors(case, self.rng, False, self.state_arrays)
            _invoke(layer, case, _tensors(self.arrays, False), state,
                    {**case.call, "training": False})
        except Exception as error:
            raise Discrepancy(f"lamina's first call raised {describe(error)}") from error
        initial = layer.get_weights()
        try:
            layer.set_weights(keras_side["weights"])
        except Exception as error:
            raise Discrepancy(
                f"set_weights(Keras's weights) raised {describe(error)}; Keras's shapes "
                f"{[fmt_shape(w.shape) for w in keras_side['weights']]}, lamina's "
                f"{[fmt_shape(tuple(w.shape)) for w in layer.weights]}") from error
        return layer, initial

    def lamina_call(self) -> dict[str, Any]:
        if "lamina_call" not in self._memo:
            try:
                self._memo["lamina_call"] = self._lamina_call()
            except Discrepancy as error:
                self._memo["lamina_call"] = error
        found = self._memo["lamina_call"]
        if isinstance(found, Exception):
            raise found
        return found

    def _lamina_call(self) -> dict[str, Any]:
        try:
            layer, _ = self.lamina_weights()
        except Discrepancy as error:
            raise Discrepancy(f"weights not copied ({error})") from error
        case = self.case
        tensors = _tensors(self.arrays, True)
        state, _ = _state_tensors(case, self.rng, True, self.state_arrays)
        try:
            outputs = _invoke(layer, case, tensors, state, case.call)
        except Exception as error:
            raise Discrepancy(f"lamina's call raised {describe(error)}") from error
        losses = [_numpy(loss) for loss in layer.losses]
        after = [_numpy(w) for w in layer.weights]
        try:
            grads = self._gradients(outputs, list(layer.trainable_weights), tensors, state)
        except Exception as error:
            grads = Discrepancy(f"lamina's backward pass raised {describe(error)}")
        return {"layer": layer, "tensors": tensors, "outputs": outputs, "losses": losses,
                "after": after, "grads": grads}

    # ------------------------------------------------------------------ the checks
    def check_weights(self) -> list[str]:
        layer, initial = self.lamina_weights()
        k = self.keras_side()
        problems = []
        STATS["comparisons"] += 1
        trainable = len(layer.trainable_weights)
        if trainable != k["trainable"]:
            problems.append(f"trainable weights: Keras {k['trainable']}, lamina {trainable}")
        for index, (kw, lw) in enumerate(zip(k["weights"], layer.weights)):
            STATS["comparisons"] += 1
            if str(kw.dtype) != _dtype_name(lw):
                problems.append(f"weight {index}: Keras dtype {kw.dtype}, lamina "
                                f"{_dtype_name(lw)}")
        for index, (ki, li) in enumerate(zip(k["initial"], initial)):
            if ki.size and np.isin(ki, (0.0, 1.0)).all():
                problems += compare_arrays(f"initial value of weight {index}", ki, li)
        return problems

    def check_weight_paths(self) -> list[str]:
        layer, _ = self.lamina_weights()
        expected = self.keras_side()["paths"]
        got = [getattr(w, "path", None) for w in layer.weights]
        STATS["comparisons"] += len(expected)
        if expected == got:
            return []
        wrong = [f"{e} (lamina {g})" for e, g in zip(expected, got) if e != g]
        return [f"weight paths differ: Keras {len(expected)}, lamina {len(got)} weights; "
                + ", ".join(wrong[:4]) + (" ..." if len(wrong) > 4 else "")]

    def check_output(self) -> list[str]:
        """Outputs, losses and weights after the call. Where Keras's eager output has
        another dtype than its own symbolic call announces (Maximum/Minimum with
        dtype='float64'), either dtype is accepted from lamina, and the contradiction is
        noted in ``KERAS_INCONSISTENCIES``."""
        k, lam = self.keras_side(), self.lamina_call()
        koutputs, loutputs = flat(k["outputs"]), flat(lam["outputs"])
        if len(koutputs) == len(loutputs):
            symbolic = self.keras_symbolic()
            for index, (ko, lo, so) in enumerate(zip(koutputs, loutputs, symbolic)):
                if isinstance(ko, torch.Tensor) and isinstance(lo, torch.Tensor) and (
                        _dtype_name(ko) != _dtype_name(so)):
                    KERAS_INCONSISTENCIES[f"{self.case.key} output {index} dtype"] = (
                        f"Keras's eager call gives {_dtype_name(ko)}, its symbolic call "
                        f"{_dtype_name(so)}")
                    if _dtype_name(lo) == _dtype_name(so):
                        loutputs[index] = lo.to(ko.dtype)
        problems = compare_flat("output", koutputs, loutputs)
        if len(k["losses"]) != len(lam["losses"]):
            problems.append(f"layer.losses: Keras has {len(k['losses'])}, lamina "
                            f"{len(lam['losses'])}")
        else:
            problems += compare_flat("layer.losses", k["losses"], lam["losses"])
        problems += compare_flat("weight after the call", k["after"], lam["after"])
        return problems

    def check_mask(self) -> list[str]:
        k, lam = self.keras_side(), self.lamina_call()
        koutputs, loutputs = flat(k["outputs"]), flat(lam["outputs"])
        problems = []
        if len(koutputs) == len(loutputs):
            for index, (ko, lo) in enumerate(zip(koutputs, loutputs)):
                label = "output mask" if len(koutputs) == 1 else f"mask of output {index}"
                problems += compare_arrays(label, getattr(ko, "_keras_mask", None),
                                           getattr(lo, "_keras_mask", None))
        if (len(self.case.inputs) == 1 or self.case.as_list) and _masks_matter(k["layer"]):
            problems += self._compute_mask(k["layer"], lam["layer"])
        return problems

    def _compute_mask(self, keras_layer: Any, lamina_layer: Any) -> list[str]:
        masks = [None if m is None else torch.tensor(m) for _, m in self.arrays]
        inputs = [torch.tensor(a) for a, _ in self.arrays]
        if self.case.as_list:
            args: tuple[Any, Any] = (inputs, masks)
        else:
            args = (inputs[0], masks[0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                expected = keras_layer.compute_mask(*args)
            except Exception as error:
                raise OracleError(f"Keras's compute_mask failed on {self.case.key}: "
                                  f"{describe(error)}") from error
        try:
            got = lamina_layer.compute_mask(*args)
        except Exception as error:
            return [f"compute_mask raised {describe(error)}"]
        expected, got = flat(expected), flat(got)
        if all(m is None for m in expected) and all(m is None for m in got):
            STATS["comparisons"] += 1
            return []  # no mask, whatever the structure of the Nones
        return compare_flat("compute_mask", expected, got)

    def keras_shapes(self, claimed: list[Any], where: str) -> list[Any]:
        """Keras's shapes for ``where`` (``compute_output_shape`` or the symbolic call),
        unless they contradict the shapes of Keras's own eager outputs (as many shapes, an
        axis that differs): then those (batch axis ``None``), and the contradiction is
        noted in ``KERAS_INCONSISTENCIES``."""
        eager = [(None, *tuple(t.shape)[1:]) for t in flat(self.keras_side()["outputs"])
                 if isinstance(t, torch.Tensor)]
        if len(eager) != len(claimed):
            return claimed  # compute_output_shape ignores call arguments (attention scores)
        if any(
                not is_shape(c) or len(c) != len(e) or any(
                    a is not None and a != b for a, b in zip(c[1:], e[1:]))
                for c, e in zip(claimed, eager)):
            KERAS_INCONSISTENCIES[f"{self.case.key} {where}"] = (
                f"Keras's {where} gives {[fmt_shape(c) for c in claimed]}, its eager call "
                f"{[fmt_shape(e) for e in eager]}")
            return eager
        return claimed

    def _shape_call_arguments(self, layer: Any) -> dict[str, Any]:
        """The call's arguments that ``layer.compute_output_shape`` also takes (Keras's
        ``ReversibleEmbedding``: ``reverse``), so both are asked about the same call."""
        parameters = inspect.signature(layer.compute_output_shape).parameters
        return {key: value for key, value in self.case.call.items()
                if key in parameters and key != "training"}

    def _shape_args(self) -> list[Any]:
        shapes = [(None, *spec.shape[1:]) for spec in self.case.inputs]
        return [shapes] if self.case.as_list else shapes

    def check_output_shape(self) -> list[str]:
        klayer = self.keras_side()["layer"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                expected = klayer.compute_output_shape(
                    *self._shape_args(), **self._shape_call_arguments(klayer))
            except Exception as error:
                raise OracleError(f"Keras's compute_output_shape failed on {self.case.key}: "
                                  f"{describe(error)}") from error
        layer = self.lamina_layer()
        try:
            got = layer.compute_output_shape(*self._shape_args(),
                                             **self._shape_call_arguments(layer))
        except Exception as error:
            return [f"compute_output_shape raised {describe(error)}"]
        expected = self.keras_shapes(flat_shapes(expected), "compute_output_shape")
        return self._compare_shapes("compute_output_shape", expected, flat_shapes(got))

    @staticmethod
    def _compare_shapes(what: str, expected: list[Any], got: list[Any]) -> list[str]:
        STATS["comparisons"] += 1
        if len(expected) != len(got):
            return [f"{what}: Keras {len(expected)} shapes {expected}, lamina {len(got)} "
                    f"{got}"]
        problems = []
        for index, (e, g) in enumerate(zip(expected, got)):
            label = what if len(expected) == 1 else f"{what} {index}"
            if not is_shape(g) or tuple(e) != tuple(g):
                problems.append(f"{label}: Keras {fmt_shape(e)}, lamina "
                                f"{fmt_shape(g) if is_shape(g) else repr(g)}")
        return problems

    def _symbolic_inputs(self, make: Any) -> tuple[list[Any], dict[str, Any]]:
        tensors = [make(spec, f"in_{i}") for i, spec in enumerate(self.case.inputs)]
        state = {}
        for key, specs in self.case.tensor_call.items():
            made = [make(spec, f"{key}_{i}") for i, spec in enumerate(_spec_leaves(specs))]
            state[key] = _rebuild(specs, iter(made))
        return tensors, state

    def keras_symbolic(self) -> list[Any]:
        """The flat outputs of the Keras layer called on ``keras.Input``s."""
        if "keras_symbolic" not in self._memo:
            keras, case = self.keras, self.case
            klayer = self.keras_side()["layer"]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    tensors, state = self._symbolic_inputs(
                        lambda spec, name: keras.Input(shape=spec.shape[1:],
                                                       dtype=spec.dtype, name=name))
                    self._memo["keras_symbolic"] = flat(
                        _invoke(klayer, case, tensors, state, case.call))
                except Exception as error:
                    raise OracleError(f"Keras's symbolic call failed on {case.key}: "
                                      f"{describe(error)}") from error
        return self._memo["keras_symbolic"]

    def check_symbolic(self) -> list[str]:
        case = self.case
        expected = self.keras_symbolic()
        layer = self.lamina_layer()
        try:
            tensors, state = self._symbolic_inputs(
                lambda spec, name: lamina.Input(shape=spec.shape[1:], dtype=spec.dtype,
                                                name=name))
            got = flat(_invoke(layer, case, tensors, state, case.call))
        except Exception as error:
            return [f"symbolic call raised {describe(error)}"]
        shapes = self.keras_shapes([tuple(t.shape) for t in expected], "symbolic call")
        problems = self._compare_shapes("symbolic output", shapes,
                                        [getattr(t, "shape", t) for t in got])
        if len(expected) == len(got) and not problems:
            for index, (e, g) in enumerate(zip(expected, got)):
                label = "symbolic output" if len(expected) == 1 else f"symbolic output {index}"
                STATS["comparisons"] += 2
                if _dtype_name(e) != _dtype_name(g):
                    problems.append(f"{label}: Keras dtype {_dtype_name(e)}, lamina "
                                    f"{_dtype_name(g)}")
                em, gm = getattr(e, "_keras_mask", None), getattr(g, "_keras_mask", None)
                if (em is None) != (gm is None) or (
                        em is not None and tuple(em.shape) != tuple(gm.shape)):
                    problems.append(
                        f"{label} mask: Keras "
                        f"{'None' if em is None else fmt_shape(em.shape)}, lamina "
                        f"{'None' if gm is None else fmt_shape(gm.shape)}")
        return problems

    def check_config(self) -> list[str]:
        keras_config = self.keras_side()["config"]
        return config_differences(keras_config, self.lamina_layer().get_config())

    def check_from_keras_config(self) -> list[str]:
        keras_config = self.keras_side()["config"]
        layer = self.lamina_layer()
        try:
            with warnings.catch_warnings():  # a deprecation both libraries warn about
                warnings.simplefilter("ignore", UserWarning)
                rebuilt = type(layer).from_config(copy.deepcopy(keras_config))
        except Exception as error:
            problem = f"from_config(Keras's config) raised {describe(error)}"
            if isinstance(keras_config.get("dtype"), dict):
                with_name = {**copy.deepcopy(keras_config),
                             "dtype": normalized(keras_config["dtype"])}
                try:
                    type(layer).from_config(with_name)
                except Exception:
                    pass
                else:
                    problem = ("from_config refuses Keras's dtype policy (dtype={'class_name':"
                               f" 'DTypePolicy', ...}}): {describe(error)}")
            return [problem]
        return [f"rebuilt from Keras's config: {p}" for p in config_differences(
            layer.get_config(), rebuilt.get_config(), ("lamina", "rebuilt"))]

    def check_to_keras_config(self) -> list[str]:
        """Keras's ``from_config`` on lamina's config gives the layer Keras's own round trip
        gives (not the built Keras layer: some Keras configs change on build, such as
        LayerNormalization's ``axis`` becoming a list)."""
        klayer = self.keras_side()["layer"]
        config = copy.deepcopy(self.lamina_layer().get_config())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                expected = type(klayer).from_config(
                    copy.deepcopy(self.keras_side()["config"])).get_config()
            except Exception as error:
                raise OracleError(f"Keras cannot rebuild its own {self.case.key}: "
                                  f"{describe(error)}") from error
            try:
                rebuilt_config = type(klayer).from_config(config).get_config()
            except Exception as error:
                return [f"Keras's from_config(lamina's config) raised {describe(error)}"]
        return [f"Keras rebuilt from lamina's config: {p}" for p in config_differences(
            expected, rebuilt_config, ("Keras", "rebuilt"))]

    def check_gradients(self) -> list[str]:
        k, lam = self.keras_side(), self.lamina_call()
        if isinstance(lam["grads"], Exception):
            raise lam["grads"]
        if isinstance(k["grads"], str):
            STATS["comparisons"] += 1
            return [] if k["grads"] == lam["grads"] else [
                f"gradients: Keras {k['grads']}, lamina {lam['grads']}"]
        if isinstance(lam["grads"], str):
            return [f"gradients: lamina {lam['grads']}"]
        trainable = k["trainable"]
        kg, lg = k["grads"], lam["grads"]
        problems = []
        if len(kg) != len(lg):
            STATS["comparisons"] += 1
            return [f"gradient sources: Keras {len(kg)} (trainable weights and float inputs),"
                    f" lamina {len(lg)}"]
        for index, (a, b) in enumerate(zip(kg, lg)):
            what = (f"gradient of weight {index}" if index < trainable
                    else f"gradient of input {index - trainable}")
            a = torch.zeros(()) if a is None and b is not None else a
            b = torch.zeros(()) if b is None and a is not None else b
            if a is not None and a.shape != b.shape:
                a, b = (a.expand_as(b) if a.dim() == 0 else a), (
                    b.expand_as(a) if b.dim() == 0 else b)
            problems += compare_arrays(what, a, b)
        return problems

    def outcome(self, check: str) -> Outcome:
        try:
            problems = getattr(self, f"check_{check}")()
        except Discrepancy as error:
            problems = [str(error)]
        except OracleError:
            raise
        except Exception as error:
            problems = [f"lamina raised {describe(error)}"]
        return Outcome(not problems, "; ".join(problems))


def result(keras: Any, case: Case, check: str) -> Outcome:
    """The outcome of ``check`` on ``case`` (each case runs once per process)."""
    outcomes = _RESULTS.setdefault(case.key, {})
    if check not in outcomes:
        run = _RUNS.get(case.key)
        if run is None:
            run = _RUNS[case.key] = Run(keras, case)
            STATS["configurations"] += 1
            _LAYERS_SEEN.add(case.layer)
            STATS["layers"] = len(_LAYERS_SEEN)
        outcomes[check] = run.outcome(check)
        if len(outcomes) == len(checks_of(case.layer)):
            _RUNS.pop(case.key, None)
    return outcomes[check]


_RUNS: dict[str, Run] = {}
