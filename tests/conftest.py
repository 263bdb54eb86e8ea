"""Test-suite hooks: tests marked ``cuda`` run only where a CUDA GPU is available."""

from __future__ import annotations

import pytest
import torch


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the tests marked ``@pytest.mark.cuda`` when ``torch.cuda.is_available()`` is
    false (``pyproject.toml`` registers the marker)."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (torch.cuda.is_available() is false)")
    for item in items:
        if item.get_closest_marker("cuda") is not None:
            item.add_marker(skip)
