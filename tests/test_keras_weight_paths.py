"""``keras_weight_paths`` against Keras 3.15.1's own saving walk, layer class by class.

For every configuration of the Keras oracle's table (``tests/keras_oracle/oracle_cases.py``)
and the preprocessing layers the oracle leaves out, the Keras layer and the lamina layer
are built alike; each lamina weight must be at the HDF5 path Keras writes the weight of
the same position in ``layer.weights`` to, and the ``vars`` groups (empty ones included)
must be Keras's.
"""

from __future__ import annotations

import io
import os
import warnings
from typing import Any

import numpy as np
import pytest
import torch

import lamina
from lamina.saving.keras_weight_paths import keras_weight_groups, keras_weight_paths

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
h5py = pytest.importorskip("h5py")
if keras.backend.backend() != "torch":
    pytest.skip("the Keras reference runs on its torch backend", allow_module_level=True)

from keras.src.saving import saving_lib  # noqa: E402 - after the backend is chosen
from keras_oracle.oracle_cases import CASES, Case, In, Sub  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _build(library: Any, spec: Any) -> Any:
    if isinstance(spec, Sub):
        return getattr(library.layers, spec.layer)(**_arguments(library, spec.kwargs))
    if isinstance(spec, list) and any(isinstance(item, Sub) for item in spec):
        return [_build(library, item) for item in spec]
    return spec


def _arguments(library: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    return {key: _build(library, value) for key, value in kwargs.items()}


def _arrays(specs: Any, rng: np.random.Generator) -> Any:
    if isinstance(specs, In):
        if specs.kind == "int":
            return rng.integers(specs.low, specs.high, size=specs.shape).astype(specs.dtype)
        return rng.standard_normal(specs.shape).astype(specs.dtype)
    return [_arrays(spec, rng) for spec in specs]


def _tensors(arrays: Any) -> Any:
    if isinstance(arrays, np.ndarray):
        return torch.from_numpy(arrays.copy())
    return [_tensors(item) for item in arrays]


def _call(layer: Any, case: Case, arrays: list[Any], state: dict[str, Any]) -> None:
    tensors = _tensors(arrays)
    extra = {key: _tensors(value) for key, value in state.items()}
    arguments = {**case.call, **extra, "training": False}
    if case.as_list:
        layer(tensors, **arguments)
    else:
        layer(*tensors, **arguments)


def _keras_paths(layer: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, int],
                                                                       set[str]]:
    """Keras's own walk over ``layer``: each dataset's index in ``layer.weights``, and
    every ``vars`` group."""
    written: list[tuple[str, Any]] = []
    original = saving_lib.H5IOStore.__setitem__

    def record(store: Any, key: str, value: Any) -> None:
        written.append((f"{store._h5_entry_path}/vars/{key}".lstrip("/"), value))
        original(store, key, value)

    monkeypatch.setattr(saving_lib.H5IOStore, "__setitem__", record)
    store = saving_lib.H5IOStore(io.BytesIO(), mode="w")
    saving_lib._save_state(layer, store, None, "", set())
    groups: set[str] = set()
    store.h5_file.visititems(lambda name, obj: groups.add(name)
                             if isinstance(obj, h5py.Group) and name.endswith("vars") else None)
    if "vars" in store.h5_file:
        groups.add("vars")
    store.h5_file.close()
    monkeypatch.undo()
    index = {id(weight): position for position, weight in enumerate(layer.weights)}
    return {path: index[id(value)] for path, value in written}, groups


_IMAGES = In((2, 6, 6, 3))
#: The layers the oracle leaves out (preprocessing), with the inputs they take.
PREPROCESSING = [
    Case("Normalization", "unadapted", {"axis": -1}, (In((4, 3)),)),
    Case("Normalization", "given", {"mean": [1.0, 2.0, 3.0], "variance": [1.0, 2.0, 3.0]},
         (In((4, 3)),)),
    Case("Rescaling", "default", {"scale": 0.5, "offset": 1.0}, (In((4, 3)),)),
    Case("Resizing", "default", {"height": 3, "width": 4}, (_IMAGES,)),
    Case("CenterCrop", "default", {"height": 3, "width": 4}, (_IMAGES,)),
    Case("CategoryEncoding", "default", {"num_tokens": 5},
         (In((3, 2), "int32", "int", high=5),)),
    Case("Discretization", "given", {"bin_boundaries": [0.0, 1.0]}, (In((4, 3)),)),
    *[Case(name, "seeded", {**kwargs, "seed": 3}, (_IMAGES,)) for name, kwargs in (
        ("RandomFlip", {}), ("RandomRotation", {"factor": 0.1}), ("RandomZoom",
         {"height_factor": 0.1}), ("RandomTranslation", {"height_factor": 0.1,
         "width_factor": 0.1}), ("RandomContrast", {"factor": 0.1}),
        ("RandomBrightness", {"factor": 0.1}), ("RandomCrop", {"height": 3, "width": 3}))],
]
TABLE = [case for name, cases in CASES.items() if name[:1].isupper() for case in cases]
TABLE += PREPROCESSING


@pytest.mark.parametrize("case", TABLE, ids=[case.key for case in TABLE])
def test_weight_paths_are_keras_s(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    arrays = [_arrays(spec, rng) for spec in case.inputs]
    state = {key: _arrays(list(value) if isinstance(value, tuple) else value, rng)
             for key, value in case.tensor_call.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = getattr(keras.layers, case.layer)(**_arguments(keras, case.kwargs))
        _call(theirs, case, arrays, state)
        ours = getattr(lamina.layers, case.layer)(**_arguments(lamina, case.kwargs))
        _call(ours, case, arrays, state)
    expected, groups = _keras_paths(theirs, monkeypatch)
    index = {id(weight): position for position, weight in enumerate(ours.weights)}
    got = {path: index[id(tensor)] for path, tensor in keras_weight_paths(ours).items()}
    assert got == expected
    assert {group.group for group in keras_weight_groups(ours)} == groups
