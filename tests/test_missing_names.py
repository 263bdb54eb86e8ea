"""A name lamina lacks raises an AttributeError that says whether Keras has it and what to
use instead; KERAS_NAMES matches the installed Keras."""

from __future__ import annotations

import importlib
import os

import pytest

import lamina
from lamina.keras_names import ALTERNATIVES, KERAS_NAMES

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")


def _module(namespace: str):
    module = lamina
    for part in [p for p in namespace.split(".") if p]:
        module = getattr(module, part)
    return module


def _keras_module(namespace: str):
    module = keras
    for part in [p for p in namespace.split(".") if p]:
        module = getattr(module, part)
    return module


@pytest.mark.parametrize("namespace", sorted(KERAS_NAMES))
def test_the_table_is_keras_names(namespace: str) -> None:
    if keras.__version__ != "3.15.1":
        pytest.skip("the table holds Keras 3.15.1's names")
    found = {n for n in dir(_keras_module(namespace)) if not n.startswith("_")}
    assert KERAS_NAMES[namespace] == found


@pytest.mark.parametrize("namespace", sorted(KERAS_NAMES))
def test_a_missing_keras_name_says_so(namespace: str) -> None:
    module = _module(namespace)
    missing = sorted(n for n in KERAS_NAMES[namespace] if not hasattr(module, n))
    for name in missing[:5]:
        with pytest.raises(AttributeError, match=f"Keras's keras[.a-z_]*{name} is not in lamina"):
            getattr(module, name)
    with pytest.raises(AttributeError, match="has none of that name either"):
        _ = module.surely_not_a_keras_name


def test_typos_get_suggestions_and_alternatives_are_named() -> None:
    with pytest.raises(AttributeError, match="Did you mean 'Dense'"):
        lamina.layers.Dens  # noqa: B018
    with pytest.raises(AttributeError, match="torch.optim optimizer"):
        lamina.optimizers.Lamb  # noqa: B018
    for key in ALTERNATIVES:
        namespace, _, name = key.rpartition(".")
        assert namespace == "*" or name in KERAS_NAMES[namespace], key


def test_dunder_lookups_stay_plain() -> None:
    assert not hasattr(lamina.layers, "__wrapped__")
    tree = importlib.import_module("lamina.utils.tree")
    assert tree is lamina.utils.tree
