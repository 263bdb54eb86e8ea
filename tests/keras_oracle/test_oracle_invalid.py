"""Invalid constructor arguments: lamina refuses what Keras 3 refuses, with an exception of
the same built-in class (ValueError or TypeError; lamina's own errors subclass them).

The table (``oracle_cases.INVALID``) is itself checked against Keras first, in a test of
its own that no known gap can mark: a wrong table fails, it is never an expected failure.
"""

from __future__ import annotations

import warnings

import pytest
from known_gaps import invalid_gap
from oracle_cases import all_invalid
from oracle_harness import STATS, Discrepancy, describe, keras_layer, lamina_layer

import lamina.layers


def _ids(entry) -> str:  # noqa: ANN001
    return f"{entry.layer}-{entry.id}"


def _keras_error(keras, entry) -> BaseException | None:  # noqa: ANN001
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            keras_layer(keras, entry.layer, entry.kwargs)
        except Exception as error:
            return error
    return None


@pytest.mark.parametrize("entry", all_invalid(), ids=_ids)
def test_keras_refuses_the_table_entry(keras, entry) -> None:  # noqa: ANN001
    error = _keras_error(keras, entry)
    assert error is not None, f"Keras accepts {entry.layer}(**{entry.kwargs}): not invalid"
    assert isinstance(error, entry.error), (
        f"Keras raises {describe(error)} for {entry.layer}(**{entry.kwargs}), the table "
        f"says {entry.error.__name__}")


def _params() -> list[object]:
    params = []
    for entry in all_invalid():
        reason = invalid_gap(entry.layer, entry.id)
        marks = [pytest.mark.xfail(strict=True, raises=Discrepancy, reason=reason)
                 ] if reason else []
        params.append(pytest.param(entry, marks=marks, id=_ids(entry)))
    return params


@pytest.mark.parametrize("entry", _params())
def test_lamina_refuses_like_keras(entry) -> None:  # noqa: ANN001
    STATS["comparisons"] += 1
    if entry.layer not in lamina.layers.__all__:
        raise Discrepancy(f"lamina.layers has no {entry.layer}")
    try:
        lamina_layer(entry.layer, entry.kwargs)
    except entry.error:
        return
    except Exception as error:
        raise Discrepancy(
            f"{entry.layer}(**{entry.kwargs}): lamina raises {describe(error)}, not a "
            f"{entry.error.__name__} (Keras raises {entry.error.__name__})") from error
    raise Discrepancy(f"{entry.layer}(**{entry.kwargs}): lamina accepts it, Keras raises "
                      f"{entry.error.__name__}")
