"""The oracle covers every layer: each layer of ``lamina.layers.__all__`` has a table, each
layer of ``keras.layers`` is in lamina, a known gap or out of scope, and the known gaps
name real table entries.

A missing layer or alias runs as ``xfail(strict=True)``: when lamina adds it, the test
passes, pytest reports that as a failure, and the entry must leave ``known_gaps``.
"""

from __future__ import annotations

import inspect

import pytest
from known_gaps import (
    CASE_GAPS,
    INVALID_GAPS,
    MISSING_ALIASES,
    MISSING_LAYERS,
    NOT_EXPECTED,
)
from oracle_cases import CASES, INVALID, NOT_COMPARED
from oracle_harness import STATS, Discrepancy, checks_of, is_function

import lamina.layers


def keras_names(keras) -> dict[str, str]:  # noqa: ANN001
    """The public names of ``keras.layers`` the oracle answers for, each with its kind:
    ``"layer"``, ``"function"`` or ``"alias:<canonical name>"``. Preprocessing layers (whose
    class lives under ``keras.src.layers.preprocessing``) are left out."""
    found = {}
    for name in dir(keras.layers):
        value = getattr(keras.layers, name)
        if name.startswith("_") or ".preprocessing." in getattr(value, "__module__", ""):
            continue
        canonical = getattr(value, "__name__", name)
        if inspect.isclass(value) and canonical != name and hasattr(keras.layers, canonical):
            found[name] = f"alias:{canonical}"
        else:
            found[name] = "layer" if inspect.isclass(value) else "function"
    return found


def test_every_lamina_layer_has_a_table() -> None:
    """A layer added to lamina.layers.__all__ without oracle tables fails here."""
    tabled = {id(getattr(lamina.layers, name)) for name in CASES
              if hasattr(lamina.layers, name)}
    # Another name of a layer with a table is covered by it (GroupedQueryAttention, the
    # class Keras exports only as GroupQueryAttention).
    compared = [name for name in lamina.layers.__all__ if name not in NOT_COMPARED
                and (name in CASES or id(getattr(lamina.layers, name)) not in tabled)]
    no_cases = [name for name in compared if not CASES.get(name)]
    no_invalid = [name for name in compared
                  if not is_function(name) and name not in INVALID]
    assert not no_cases, f"no configurations in oracle_cases.CASES for {no_cases}"
    assert not no_invalid, (
        f"no entry in oracle_cases.INVALID for {no_invalid} (register invalid(name) with "
        "no entries if Keras refuses no constructor argument)")


def test_every_keras_layer_is_accounted_for(keras) -> None:  # noqa: ANN001
    """Each keras.layers name is in lamina, a known gap, or out of scope (a new Keras
    version's layers fail here until they are listed)."""
    unaccounted = []
    for name, kind in keras_names(keras).items():
        if name in NOT_EXPECTED or name in MISSING_LAYERS or name in MISSING_ALIASES:
            continue
        if kind.startswith("alias:") and getattr(lamina.layers, name, None) is not None:
            continue
        if name not in lamina.layers.__all__:
            unaccounted.append(f"{name} ({kind})")
    assert not unaccounted, (
        f"keras.layers names neither in lamina.layers nor in known_gaps: {unaccounted}")


def test_known_gaps_name_what_keras_has(keras) -> None:  # noqa: ANN001
    names = keras_names(keras)
    assert not [n for n in MISSING_LAYERS if names.get(n, "").startswith("alias:")
                or n not in names], "MISSING_LAYERS lists a name that is not a Keras layer"
    assert not [n for n, target in MISSING_ALIASES.items()
                if names.get(n) != f"alias:{target}"], "MISSING_ALIASES has a wrong target"
    assert not [n for n in NOT_EXPECTED if n not in names]


def test_every_table_names_a_keras_layer(keras) -> None:  # noqa: ANN001
    unknown = [name for name in {*CASES, *INVALID} if not hasattr(keras.layers, name)]
    assert not unknown, f"tables for names keras.layers does not have: {unknown}"


def test_every_missing_layer_has_a_table() -> None:
    """So that the day lamina adds it, it is compared at once."""
    classes = [name for name in MISSING_LAYERS if not is_function(name)]
    assert not [name for name in classes if not CASES.get(name)]


def test_known_gaps_name_real_entries() -> None:
    stale = []
    for layer, case_id, check in CASE_GAPS:
        ids = {case.id for case in CASES.get(layer, [])}
        if (case_id != "*" and case_id not in ids) or (
                check != "*" and check not in checks_of(layer)) or layer in MISSING_LAYERS:
            stale.append((layer, case_id, check))
    for layer, entry_id in INVALID_GAPS:
        if entry_id not in {entry.id for entry in INVALID.get(layer, [])}:
            stale.append((layer, entry_id))
    assert not stale, f"known gaps naming no table entry: {stale}"


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.xfail(strict=True, raises=Discrepancy,
                                               reason=reason))
    for name, reason in MISSING_LAYERS.items()])
def test_lamina_has_the_layer(name: str) -> None:
    STATS["comparisons"] += 1
    if name not in lamina.layers.__all__:
        raise Discrepancy(f"lamina.layers has no {name}")


@pytest.mark.parametrize("alias", [
    pytest.param(alias, marks=pytest.mark.xfail(
        strict=True, raises=Discrepancy, reason=f"Keras's other name for {target}"))
    for alias, target in MISSING_ALIASES.items()])
def test_lamina_has_the_alias(alias: str) -> None:
    STATS["comparisons"] += 1
    target = getattr(lamina.layers, MISSING_ALIASES[alias], None)
    if target is None or getattr(lamina.layers, alias, None) is not target:
        raise Discrepancy(f"lamina.layers.{alias} is not lamina.layers."
                          f"{MISSING_ALIASES[alias]}")
