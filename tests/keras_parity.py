"""Helpers of the Keras parity tests (``test_layers_keras_parity*.py``): Keras 3 on its torch
backend as the reference, skipped when Keras is not installed.

Configs are compared modulo what ``lamina/layers/__init__.py`` documents: lamina has no
weight constraints and no ``activity_regularizer`` (Keras's keys for them must hold their
default ``None``), its ``dtype`` is a name, and initializers are lamina's (same class names
and arguments).
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import pytest
import torch

from lamina import layers

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "torch":
    pytest.skip("the Keras reference runs on its torch backend", allow_module_level=True)

#: Keras config keys lamina does not have (documented in lamina/layers/__init__.py).
KERAS_ONLY_KEYS = {"activity_regularizer", "kernel_constraint", "bias_constraint",
                   "depthwise_constraint", "pointwise_constraint", "beta_constraint",
                   "gamma_constraint"}
CF = {"data_format": "channels_first"}


def data(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def make_keras(name: str, kwargs: dict[str, Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(keras.layers, name)(**kwargs)


def keras_weights(layer: Any) -> list[np.ndarray]:
    """``[w.numpy() for w in layer.weights]`` (whose numpy 2 DeprecationWarning about
    ``__array__`` is Keras's business)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return [w.numpy() for w in layer.weights]


def pair(name: str, kwargs: dict[str, Any], x: np.ndarray) -> tuple[Any, Any]:
    """The Keras layer and the lamina layer, built on ``x``, with Keras's weights."""
    theirs = make_keras(name, kwargs)
    theirs(x)
    ours = getattr(layers, name)(**kwargs)
    ours(torch.from_numpy(x))
    ours.set_weights(keras_weights(theirs))
    return theirs, ours


def close(actual: Any, expected: Any, rtol: float = 1e-5, atol: float = 1e-5) -> None:
    as_numpy = [t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
                for t in (actual, expected)]
    np.testing.assert_allclose(*as_numpy, rtol=rtol, atol=atol)


def plain(value: Any) -> Any:
    """A config value without the differences lamina documents: tuples as lists, an
    object's config as ``(class_name, config)``, a dtype policy as its name."""
    if isinstance(value, dict):
        if "class_name" in value and "config" in value:
            if value["class_name"] == "DTypePolicy":
                return value["config"]["name"]
            config = value["config"]
            if isinstance(config, dict):  # Keras's initializers add axes of their own
                config = {k: v for k, v in config.items()
                          if k not in ("input_axes", "output_axes") or v is not None}
            return (value["class_name"], plain(config))
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def assert_same_config(ours: Any, theirs: Any) -> None:
    mine, keras_config = ours.get_config(), theirs.get_config()
    extra = set(mine) - set(keras_config) - {"name", "trainable", "dtype"}
    assert not extra, f"lamina's config has keys Keras's lacks: {extra}"
    for key in set(keras_config) - set(mine):
        assert key in KERAS_ONLY_KEYS and keras_config[key] is None, key
    for key in set(mine) & set(keras_config) - {"name"}:
        assert same(plain(mine[key]), plain(keras_config[key])), (
            key, mine[key], keras_config[key])


def same(mine: Any, theirs: Any) -> bool:
    """Equal, floats to float32 precision (Keras's regularizers keep float32 factors)."""
    if isinstance(mine, float) or isinstance(theirs, float):
        return (isinstance(mine, (int, float)) and isinstance(theirs, (int, float))
                and abs(mine - theirs) <= 1e-7 * max(abs(mine), abs(theirs), 1e-30))
    if isinstance(mine, dict) and isinstance(theirs, dict):
        return mine.keys() == theirs.keys() and all(same(mine[k], theirs[k]) for k in mine)
    if isinstance(mine, (list, tuple)) and isinstance(theirs, (list, tuple)):
        return len(mine) == len(theirs) and all(same(a, b) for a, b in zip(mine, theirs))
    return mine == theirs


def raised(make: Any) -> type | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            make()
    except TypeError:
        return TypeError
    except ValueError:
        return ValueError
    return None
