"""Every configuration of every layer of the tables, compared with Keras 3, check by check.

A known gap (``known_gaps.CASE_GAPS``) runs as ``xfail(strict=True)``: when lamina fixes
it, the test passes, pytest reports it as a failure, and the entry must go.
"""

from __future__ import annotations

import pytest
from known_gaps import case_gap
from oracle_cases import all_cases
from oracle_harness import Discrepancy, checks_of, result


def _params() -> list[object]:
    params = []
    for case in all_cases():
        for check in checks_of(case.layer):
            reason = case_gap(case.layer, case.id, check)
            marks = [pytest.mark.xfail(strict=True, raises=Discrepancy, reason=reason)
                     ] if reason else []
            params.append(pytest.param(case, check, marks=marks,
                                       id=f"{case.layer}-{case.id}-{check}"))
    return params


@pytest.mark.parametrize(("case", "check"), _params())
def test_layer_matches_keras(keras, case, check) -> None:  # noqa: ANN001
    outcome = result(keras, case, check)
    if not outcome.passed:
        raise Discrepancy(f"{case.key} {check}: {outcome.message}")
