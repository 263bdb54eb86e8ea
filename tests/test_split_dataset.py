"""lamina.utils.split_dataset against keras.utils.split_dataset (Keras 3, torch backend).

Keras on torch returns ``torch.utils.data.Subset`` objects made by ``random_split``; lamina
returns the input's kind (arrays, tuples of arrays, Subsets). Sizes, the samples each side
holds with ``shuffle=True`` and a seed, and the exception classes must match Keras's.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from torch.utils.data import Subset, TensorDataset

from lamina.errors import LaminaError
from lamina.utils import split_dataset

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
# Keras's size rule, called directly for the sizes its torch path cannot split (a sum
# below the dataset's length makes random_split fail there).
dataset_utils = pytest.importorskip("keras.src.utils.dataset_utils")

TOTAL = 20
SIZES = [
    {"left_size": 0.8},
    {"right_size": 0.8},
    {"left_size": 0.25},
    {"left_size": 0.33},
    {"left_size": 0.5, "right_size": 0.5},
    {"left_size": 7},
    {"right_size": 3},
    {"left_size": 15, "right_size": 5},
    {"left_size": 0.3, "right_size": 0.6},
    {"left_size": 4, "right_size": 0.5},
    {"left_size": 1},
    {"right_size": 19},
]


@pytest.mark.parametrize("sizes", SIZES)
def test_sizes_match_keras(sizes):
    x = np.arange(TOTAL * 2).reshape(TOTAL, 2)
    left, right = split_dataset(x, **sizes)
    expected = dataset_utils._rescale_dataset_split_sizes(
        sizes.get("left_size"), sizes.get("right_size"), TOTAL)
    assert (len(left), len(right)) == expected
    np.testing.assert_array_equal(left, x[: expected[0]])
    np.testing.assert_array_equal(right, x[TOTAL - expected[1]:])
    if sum(expected) == TOTAL:
        theirs = keras.utils.split_dataset(x, **sizes)
        assert (len(theirs[0]), len(theirs[1])) == expected


@pytest.mark.parametrize("sizes", [s for s in SIZES if "right_size" not in s
                                   or "left_size" not in s])
@pytest.mark.parametrize("seed", [0, 7])
def test_shuffled_split_holds_kerass_samples(sizes, seed):
    x = np.arange(TOTAL, dtype="float32")
    y = x * 10
    (left_x, left_y), (right_x, right_y) = split_dataset((x, y), **sizes, shuffle=True,
                                                         seed=seed)
    theirs_left, theirs_right = keras.utils.split_dataset((x, y), **sizes, shuffle=True,
                                                          seed=seed)
    assert left_x.tolist() == [float(i) for i in theirs_left.indices]
    assert right_x.tolist() == [float(i) for i in theirs_right.indices]
    np.testing.assert_array_equal(left_y, left_x * 10)
    np.testing.assert_array_equal(right_y, right_x * 10)
    assert sorted(left_x.tolist() + right_x.tolist()) == x.tolist()


def test_shuffle_is_repeatable_with_a_seed_and_varies_without():
    x = np.arange(100)
    first = split_dataset(x, left_size=50, shuffle=True, seed=3)[0]
    assert np.array_equal(first, split_dataset(x, left_size=50, shuffle=True, seed=3)[0])
    assert not np.array_equal(first, split_dataset(x, left_size=50, shuffle=True, seed=4)[0])
    unseeded = [split_dataset(x, left_size=50, shuffle=True)[0] for _ in range(3)]
    assert not all(np.array_equal(unseeded[0], other) for other in unseeded[1:])
    before = torch.get_rng_state()
    split_dataset(x, left_size=50, shuffle=True, seed=3)
    assert torch.equal(before, torch.get_rng_state())


def test_returns_the_inputs_kind():
    x, y = np.ones((10, 3), "float32"), np.zeros(10, "int64")
    left, right = split_dataset([x, y], left_size=6)
    assert isinstance(left, list) and [a.shape for a in left] == [(6, 3), (6,)]
    assert [a.dtype for a in right] == [np.float32, np.int64]
    left, right = split_dataset(torch.arange(10), right_size=0.3)
    assert isinstance(left, torch.Tensor) and right.tolist() == [7, 8, 9]
    dataset = TensorDataset(torch.arange(10.0), torch.arange(10) * 2)
    left, right = split_dataset(dataset, left_size=0.6, shuffle=True, seed=5)
    theirs_left, theirs_right = keras.utils.split_dataset(dataset, left_size=0.6,
                                                          shuffle=True, seed=5)
    assert isinstance(left, Subset) and len(left) == 6 and len(right) == 4
    assert left.indices == theirs_left.indices and right.indices == theirs_right.indices
    sample = left[0]
    assert float(sample[1]) == 2 * float(sample[0])


ERRORS = [
    (np.arange(10), {}),
    (np.arange(10), {"left_size": 0}),
    (np.arange(10), {"left_size": 10}),
    (np.arange(10), {"left_size": 1.5}),
    (np.arange(10), {"right_size": -2}),
    (np.arange(10), {"left_size": 0.7, "right_size": 0.6}),
    (np.arange(10), {"left_size": 6, "right_size": 6}),
    (np.arange(10), {"left_size": 0.01}),
    (np.arange(10), {"left_size": "half"}),
    ({"x": np.arange(10)}, {"left_size": 3}),
]

# Keras's torch path fails on these inside torch (AssertionError, TypeError, IndexError);
# Keras's own check of lists and tuples (dataset_utils._get_data_iterator_from_dataset,
# used by its other backends) raises ValueError, as lamina does.
UNEQUAL = [
    (np.arange(10), np.arange(9)),
    [np.arange(10), [1, 2]],
    [],
    (),
]


@pytest.mark.parametrize(("dataset", "sizes"), ERRORS)
def test_errors_are_keras_classes(dataset, sizes):
    with pytest.raises((ValueError, TypeError)) as theirs:
        keras.utils.split_dataset(dataset, **sizes)
    with pytest.raises(theirs.type) as ours:
        split_dataset(dataset, **sizes)
    assert isinstance(ours.value, LaminaError)
    assert "split_dataset" in str(ours.value)


@pytest.mark.parametrize("dataset", UNEQUAL)
def test_bad_lists_raise_kerass_value_error(dataset):
    with pytest.raises(ValueError):
        dataset_utils._get_data_iterator_from_dataset(dataset, type(dataset))
    with pytest.raises(ValueError, match="split_dataset") as ours:
        split_dataset(dataset, left_size=3)
    assert isinstance(ours.value, LaminaError)
