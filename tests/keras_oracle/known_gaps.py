"""Where lamina differs from Keras 3 today: the one list of known gaps of the Keras oracle.

Every entry runs as ``pytest.mark.xfail(strict=True)``: a fixed gap makes its test pass,
pytest reports that as a failure, and the entry must be removed. Nothing that passes is
listed here (the strictness would fail it).

* ``MISSING_LAYERS``: layers of ``keras.layers`` that ``lamina.layers`` does not have.
* ``MISSING_ALIASES``: Keras's other names for a layer (``MaxPool2D`` for
  ``MaxPooling2D``) that ``lamina.layers`` does not have.
* ``CASE_GAPS``: ``(layer, configuration id, check) -> observed difference``, for the
  configurations of ``oracle_cases.CASES`` and the checks of ``oracle_harness.CHECKS``;
  the configuration id ``"*"`` stands for every configuration of that layer, the check
  ``"*"`` for every check of that configuration (each of which must then fail).
* ``INVALID_GAPS``: ``(layer, invalid-arguments id) -> observed difference``, for
  ``oracle_cases.INVALID``.
* ``KERAS_TORCH_DIFFERS``: like ``CASE_GAPS``, where Keras on torch gives another answer
  than Keras on its other backends and lamina keeps theirs (not lamina's to fix).

``NOT_EXPECTED`` is the other side: Keras layers the oracle does not ask lamina for
(preprocessing layers, other backends' bridges, base classes), with the reason.
"""

from __future__ import annotations

# One line per gap, however long the observed difference: E501 does not apply here.
# ruff: noqa: E501

#: keras.layers names out of scope, by reason. Every class of a keras.layers name whose
#: module is under keras.src.layers.preprocessing is out of scope too (data pipelines).
NOT_EXPECTED: dict[str, str] = {
    "Layer": "the base class, covered by lamina's own tests",
    "Input": "covered by lamina's own tests (and used by the symbolic check)",
    "InputLayer": "covered by lamina's own tests",
    "InputSpec": "not a layer: Keras's input-checking helper",
    "Lambda": "covered by lamina's own tests (its serialization differs on purpose)",
    "Wrapper": "an abstract base class (Bidirectional and TimeDistributed are compared)",
    "TFSMLayer": "TensorFlow-only (loads a TF SavedModel)",
    "FlaxLayer": "JAX-only (wraps a Flax module)",
    "JaxLayer": "JAX-only (wraps a JAX function)",
    "TorchModuleWrapper": "Keras's bridge to torch modules; every lamina layer is one",
}

MISSING_LAYERS: dict[str, str] = {}

MISSING_ALIASES: dict[str, str] = {}

CASE_GAPS: dict[tuple[str, str, str], str] = {}

#: Where Keras 3 on torch disagrees with Keras 3 on its other backends and lamina keeps the
#: other backends' answer: run as strict xfails like the gaps, but not lamina's to fix.
KERAS_TORCH_DIFFERS: dict[tuple[str, str, str], str] = {
    ('AveragePooling2D', 'same_pool_3', 'output'):
        "padding='same', pool_size=3: Keras on torch counts replicated border values in the edge windows (e.g. Keras 0.39623, lamina 0.031663 at (1, 0, 1, 0)); Keras on TensorFlow/JAX and its own AveragePooling1D average the valid cells only, as lamina does",
    ('AveragePooling2D', 'same_pool_3', 'gradients'):
        "padding='same', pool_size=3: the edge-window gradients follow from the outputs above",
    ('AveragePooling3D', 'same_pool_3', 'output'):
        "padding='same', pool_size=3: as AveragePooling2D (Keras -0.19722, lamina 0.048437 at (1, 1, 1, 0, 1))",
    ('AveragePooling3D', 'same_pool_3', 'gradients'):
        "padding='same', pool_size=3: the edge-window gradients follow from the outputs above",
}

INVALID_GAPS: dict[tuple[str, str], str] = {}


def case_gap(layer: str, case_id: str, check: str) -> str | None:
    """The reason a (layer, configuration, check) is a known gap, or None."""
    if layer in MISSING_LAYERS:
        return f"lamina has no {layer}: {MISSING_LAYERS[layer]}"
    for key in ((layer, case_id, check), (layer, case_id, "*"), (layer, "*", check)):
        if key in CASE_GAPS:
            return CASE_GAPS[key]
        if key in KERAS_TORCH_DIFFERS:
            return f"Keras on torch differs from Keras elsewhere: {KERAS_TORCH_DIFFERS[key]}"
    return None


def invalid_gap(layer: str, entry_id: str) -> str | None:
    """The reason an invalid-arguments entry is a known gap, or None."""
    if layer in MISSING_LAYERS:
        return f"lamina has no {layer}: {MISSING_LAYERS[layer]}"
    return INVALID_GAPS.get((layer, entry_id))
