"""``predict`` over many samples must not hold all of its outputs twice.

Collecting every batch and then concatenating them keeps two full copies of the outputs
alive at the end of the loop; writing each batch into one preallocated result does not.
The peak is measured with torch's profiler (every CPU allocation and free made by torch's
allocator, in order) plus ``tracemalloc`` (numpy's allocations), so it does not depend on
whether the result is built as a tensor or as a numpy array.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from torch.profiler import ProfilerActivity, profile

import lamina
from lamina import layers

SAMPLES, FEATURES, UNITS = 65536, 4, 256


def peak_memory_growth(fn: Callable[[], Any]) -> tuple[Any, int]:
    """``fn()``'s result and the most bytes it held at once beyond what was held before.

    torch's allocations come from the profiler's memory events, replayed in time order;
    numpy's from ``tracemalloc``. Adding the two peaks can only overstate the real peak.
    """
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        # tracemalloc stops before the profiler builds its (Python) event list on exit.
        tracemalloc.start()
        try:
            result = fn()
            _, numpy_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    held = torch_peak = 0
    for event in sorted(prof.events(), key=lambda e: e.time_range.start):
        held += event.self_cpu_memory_usage
        torch_peak = max(torch_peak, held)
    return result, torch_peak + numpy_peak


def collect_then_concatenate() -> np.ndarray:
    parts = [torch.ones(1024, 256) for _ in range(64)]
    return torch.cat(parts).numpy()


def write_into_preallocated() -> np.ndarray:
    result = np.empty((64 * 1024, 256), dtype=np.float32)
    for index in range(64):
        result[index * 1024:(index + 1) * 1024] = torch.ones(1024, 256).numpy()
    return result


@pytest.mark.parametrize(("build", "low", "high"), [(collect_then_concatenate, 1.9, 2.1),
                                                     (write_into_preallocated, 0.95, 1.1)])
def test_peak_memory_growth_tells_the_two_apart(build: Callable[[], np.ndarray], low: float,
                                                high: float) -> None:
    """The measure itself: holding every part and their concatenation is 2x the result;
    writing each part into a preallocated numpy result is 1x plus one part."""
    result, peak = peak_memory_growth(build)
    assert result.shape == (64 * 1024, 256)
    assert low * result.nbytes <= peak <= high * result.nbytes


def test_predict_does_not_hold_outputs_twice() -> None:
    torch.manual_seed(0)
    model = lamina.Sequential([layers.Dense(UNITS, input_shape=(FEATURES,))])
    x = np.random.default_rng(0).normal(size=(SAMPLES, FEATURES)).astype("float32")
    model.predict(x[:64], verbose=0)  # build the model and warm up outside the measure

    outputs, peak = peak_memory_growth(lambda: model.predict(x, batch_size=256, verbose=0))

    assert outputs.shape == (SAMPLES, UNITS)
    size = outputs.nbytes
    with torch.no_grad():
        expected = model(torch.from_numpy(x[:1000])).numpy()
    np.testing.assert_allclose(outputs[:1000], expected, rtol=1e-5, atol=1e-6)
    assert peak <= 1.5 * size, (
        f"predict over {SAMPLES} samples held {peak / 2**20:.1f} MiB at its peak for "
        f"{size / 2**20:.1f} MiB of outputs ({peak / size:.2f}x; at most "
        "1.5x allowed): the outputs are held twice, e.g. every batch kept and then "
        "concatenated. Write each batch into one preallocated result instead."
    )
