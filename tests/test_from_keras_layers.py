"""Every layer the Keras oracle compares, through a Keras file: Keras 3.15.1 builds a
Functional model around the layer (one configuration per layer class, the oracle's first),
gives every weight a random value, saves it as ``.keras`` and as legacy ``.h5``;
``lamina.from_keras`` converts both, and the lamina models predict what Keras predicts and
give the gradients Keras gives (of a weighted sum of the outputs, in inference mode).
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import pytest
import torch

import lamina

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "torch":
    pytest.skip("the Keras reference runs on its torch backend", allow_module_level=True)

from keras_oracle.known_gaps import KERAS_TORCH_DIFFERS  # noqa: E402
from keras_oracle.oracle_cases import CASES, Case, In, Sub  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning",
                                        "ignore:__array__ implementation:DeprecationWarning")

_DIFFERS = {(layer, case) for layer, case, _ in KERAS_TORCH_DIFFERS}


def _first_cases() -> list[Case]:
    """The first configuration of each layer class that a plain graph can hold."""
    chosen = []
    for name, cases in CASES.items():
        if not name[:1].isupper():
            continue
        for case in cases:
            if case.tensor_call or case.call or (name, case.id) in _DIFFERS:
                continue
            if any(spec.mask for spec in case.inputs if isinstance(spec, In)):
                continue
            chosen.append(case)
            break
    return chosen


def _build(spec: Any) -> Any:
    if isinstance(spec, Sub):
        return getattr(keras.layers, spec.layer)(**{k: _build(v) for k, v in spec.kwargs.items()})
    if isinstance(spec, list) and any(isinstance(item, Sub) for item in spec):
        return [_build(item) for item in spec]
    return spec


def _array(spec: In, rng: np.random.Generator) -> np.ndarray:
    if spec.kind == "int":
        return rng.integers(spec.low, spec.high, size=spec.shape).astype(spec.dtype)
    return rng.standard_normal(spec.shape).astype(spec.dtype)


def _outputs(value: Any) -> list[np.ndarray]:
    if isinstance(value, (list, tuple)):
        return [a for item in value for a in _outputs(item)]
    if isinstance(value, dict):
        return [a for key in sorted(value) for a in _outputs(value[key])]
    return [value.detach().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)]


CASES_UNDER_TEST = _first_cases()


@pytest.mark.parametrize("case", CASES_UNDER_TEST, ids=[c.layer for c in CASES_UNDER_TEST])
def test_layer_converts_from_keras_files(case: Case, tmp_path: Any) -> None:
    rng = np.random.default_rng(0)
    specs = [spec for spec in case.inputs if isinstance(spec, In)]
    if len(specs) != len(case.inputs):
        pytest.skip("nested input structure")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inputs = [keras.Input(spec.shape[1:], dtype=spec.dtype) for spec in specs]
        layer = getattr(keras.layers, case.layer)(**{k: _build(v) for k, v in
                                                     case.kwargs.items()})
        out = layer(inputs) if case.as_list else layer(*inputs)
        model = keras.Model(inputs, out)
        model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(w.dtype)
                           if "variance" in w.path else
                           rng.normal(0, 0.5, w.shape).astype(w.dtype) for w in model.weights])
        arrays = [_array(spec, rng) for spec in specs]
        expected = _outputs(model(arrays if len(arrays) > 1 else arrays[0], training=False))
        model.save(tmp_path / "m.keras")
        model.save(tmp_path / "m.h5")
    tensors = [torch.from_numpy(a) for a in arrays]
    feed = tensors if len(tensors) > 1 else tensors[0]
    keras_weights = model.trainable_weights
    if keras_weights:  # the gradients Keras computes of a fixed weighting of the outputs
        _weighted_sum(model(feed, training=False)).backward()
    for suffix in (".keras", ".h5"):
        converted = lamina.from_keras(tmp_path / f"m{suffix}")
        converted.eval()
        with torch.no_grad():
            got = _outputs(converted(feed))
        assert len(got) == len(expected), suffix
        for ours, theirs in zip(got, expected):
            np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4, err_msg=suffix)
        if not keras_weights:
            continue
        _weighted_sum(converted(feed)).backward()
        weights = converted.trainable_weights
        assert [tuple(w.shape) for w in weights] == [tuple(w.shape) for w in keras_weights]
        for mine, reference in zip(weights, keras_weights):
            torch.testing.assert_close(mine.grad, reference.value.grad, rtol=1e-4, atol=1e-4,
                                       msg=lambda m, s=suffix, p=reference.path: f"{s} {p}: {m}")


def _weighted_sum(outputs: Any) -> torch.Tensor:
    """A scalar of every float output, each element weighted differently (so a gradient
    that is right only on average does not pass)."""
    flat = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return sum((o * torch.linspace(-1.0, 1.0, o.numel()).reshape(o.shape)).sum()
               for o in flat if isinstance(o, torch.Tensor) and o.is_floating_point())
