"""Cases and helpers of ``test_normalization_keras_parity.py``: Keras 3 on its torch backend
as the reference for ``BatchNormalization`` (renorm, masks), ``LayerNormalization``
(``rms_scaling``, ``axis``), ``RMSNormalization``, the adaptive poolings,
``ReversibleEmbedding`` and ``SpectralNormalization``.

A :class:`Case` names a layer, its arguments (a wrapped layer as ``Sub(name, kwargs)``), the
shape of its input, the input's mask (carried as ``_keras_mask``) and the call's arguments.
:func:`run` builds both layers on the same input, gives Keras's weights seeded random values
(so offsets, moving statistics and ``vector_u`` matter) and copies them into lamina with
``set_weights([w.value ... for w in keras_layer.weights])``.
"""

from __future__ import annotations

import os
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import torch

from lamina import layers

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "torch":
    pytest.skip("the Keras reference runs on its torch backend", allow_module_level=True)

#: Masks by name, over the (batch, steps) axes: ``right`` pads the end of each sequence,
#: ``holes`` masks steps inside it.
MASKS = {
    "right": lambda b, n: np.arange(n)[None, :] < np.array([n - 1, 2, n, 1])[:b, None],
    "holes": lambda b, n: (np.arange(n)[None, :] + np.arange(b)[:, None]) % 3 != 1,
}
#: Layers whose weights must stay positive where they are variances or deviations.
POSITIVE = ("BatchNormalization",)


@dataclass(frozen=True)
class Sub:
    """A layer to wrap: built on each side from its class name and arguments."""

    layer: str
    kwargs: dict[str, Any]


@dataclass
class Case:
    layer: str
    kwargs: dict[str, Any]
    shape: tuple[int, ...]
    mask: str | None = None
    call: dict[str, Any] = field(default_factory=dict)
    dtype: str = "float32"
    tokens: int = 0  # > 0: integer inputs in [0, tokens)

    def make(self, side: str) -> Any:
        module = keras.layers if side == "keras" else layers
        kwargs = {k: getattr(module, v.layer)(**v.kwargs) if isinstance(v, Sub) else v
                  for k, v in self.kwargs.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # LayerNormalization(rms_scaling=True) warns
            return getattr(module, self.layer)(name="subject", **kwargs)


def case(case_id: str, layer: str, kwargs: dict[str, Any], shape: tuple[int, ...],
         **options: Any) -> Any:
    return pytest.param(Case(layer, kwargs, shape, **options), id=f"{layer}-{case_id}")


def arrays(case: Case) -> tuple[np.ndarray, np.ndarray | None]:
    rng = np.random.default_rng(zlib.crc32(f"{case.layer}{case.kwargs}{case.shape}".encode()))
    if case.tokens:
        data = rng.integers(0, case.tokens, size=case.shape).astype("int64")
        data[..., -1] = 0  # a padding step for mask_zero
    else:
        data = rng.standard_normal(case.shape).astype(case.dtype)
    mask = None
    if case.mask is not None:
        mask = MASKS[case.mask](case.shape[0], int(np.prod(case.shape[1:-1])))
        mask = mask.reshape(case.shape[:-1])
    return data, mask


def tensor(data: np.ndarray, mask: np.ndarray | None, grad: bool = False) -> torch.Tensor:
    """A fresh tensor (Keras strips or replaces masks of the tensors it is given)."""
    value = torch.from_numpy(data.copy())
    if grad and value.is_floating_point():
        value.requires_grad_(True)
    if mask is not None:
        value._keras_mask = torch.from_numpy(mask)
    return value


def call(layer: Any, case: Case, inputs: Any, training: bool | None = None) -> Any:
    kwargs = dict(case.call)
    if training is not None:
        kwargs["training"] = training
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return layer(inputs, **kwargs)


def keras_weights(layer: Any) -> list[np.ndarray]:
    return [w.value.detach().cpu().numpy() for w in layer.weights]


@dataclass
class Pair:
    keras: Any
    lamina: Any
    data: np.ndarray
    mask: np.ndarray | None


def run(case: Case) -> Pair:
    """Both layers built on the case's input, Keras's weights random, lamina holding them."""
    data, mask = arrays(case)
    theirs, ours = case.make("keras"), case.make("lamina")
    call(theirs, case, tensor(data, mask))
    call(ours, case, tensor(data, mask))
    rng = np.random.default_rng(7)
    for weight in theirs.weights:
        shape = tuple(weight.shape)
        values = (rng.uniform(0.5, 1.5, shape) if case.layer in POSITIVE
                  else rng.standard_normal(shape) * 0.5)
        weight.assign(values.astype(weight.value.detach().cpu().numpy().dtype))
    ours.set_weights(keras_weights(theirs))
    return Pair(theirs, ours, data, mask)


def outputs(pair: Pair, case: Case, side: str, training: bool | None = None,
            grad: bool = False) -> tuple[Any, torch.Tensor]:
    """(output, the input tensor) of one call."""
    inputs = tensor(pair.data, pair.mask, grad)
    layer = pair.keras if side == "keras" else pair.lamina
    return call(layer, case, inputs, training), inputs


def close(actual: Any, expected: Any, atol: float = 1e-5) -> None:
    as_numpy = [t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
                for t in (actual, expected)]
    np.testing.assert_allclose(*as_numpy, rtol=1e-5, atol=atol)


def plain(value: Any) -> Any:
    """A config value for comparison: tuples as lists, a dtype policy as its name, an
    object as ``(class_name, config)`` (module and registered name left out), floats to
    float32 precision (Keras keeps regularizer factors as float32)."""
    if isinstance(value, dict):
        if "class_name" in value and "config" in value:
            if value["class_name"] == "DTypePolicy":
                return value["config"]["name"]
            return (value["class_name"], plain(value["config"]))
        return {k: plain(v) for k, v in value.items() if k != "build_config"}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float):
        return float(np.float32(value))
    return value


def config_differences(mine: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """What differs between two configs (Keras's quantization key, ``None``, left out)."""
    mine, theirs = plain(mine), plain(theirs)
    for config in (mine, theirs):
        if config.get("quantization_config", 0) is None:
            del config["quantization_config"]
        if isinstance(config.get("layer"), tuple):  # a wrapped layer's (class_name, config)
            config["layer"][1].pop("quantization_config", None)
    found = []
    if set(theirs) != set(mine):
        found.append(f"keys: Keras only {sorted(set(theirs) - set(mine))}, lamina only "
                     f"{sorted(set(mine) - set(theirs))}")
    found += [f"{key}: Keras {theirs[key]!r}, lamina {mine[key]!r}"
              for key in sorted(set(mine) & set(theirs))
              if key != "name" and mine[key] != theirs[key]]
    return found


def for_keras(config: dict[str, Any]) -> dict[str, Any]:
    """lamina's config with Keras's ``"module"`` on a nested layer config: lamina names
    its nested layers by class only (as for ``Bidirectional``), which Keras's
    ``from_config`` cannot resolve."""
    if isinstance(config.get("layer"), dict):
        config = {**config, "layer": {**config["layer"], "module": "keras.layers"}}
    return config


def raised(make_and_call: Any) -> type | None:
    """The builtin class (ValueError or TypeError) of what ``make_and_call`` raises."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            make_and_call()
    except TypeError:
        return TypeError
    except ValueError:
        return ValueError
    return None
