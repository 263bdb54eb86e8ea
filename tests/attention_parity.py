"""Cases and helpers of ``test_attention_keras_parity.py``: Keras 3 on its torch backend as the
reference for ``EinsumDense``, ``Attention``, ``AdditiveAttention``,
``GroupedQueryAttention`` (Keras's ``GroupQueryAttention``) and ``MultiHeadAttention``.

A :class:`Case` names a layer, its arguments, the shapes of its inputs (query, value and
key, or the one input of ``EinsumDense``), their masks (carried on the tensors as
``_keras_mask``, or passed as ``mask=[...]``) and the call's arguments. :func:`run` builds
both layers on the same inputs (named ``subject``), copies Keras's weights into lamina and
calls both.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import torch

from lamina import layers

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "torch":
    pytest.skip("the Keras reference runs on its torch backend", allow_module_level=True)

#: Masks by name: ``right`` pads the end of each sequence (one query step, or every value
#: step of a sample, masked entirely), ``holes`` masks steps inside the sequence.
MASKS = {
    "right": lambda b, n: np.arange(n)[None, :] < np.array([n - 1, 1])[:b, None],
    "holes": lambda b, n: (np.arange(n)[None, :] + np.arange(b)[:, None]) % 3 != 1,
    "none": lambda b, n: np.zeros((b, n), dtype=bool),
}
ATTENTION_LISTS = ("Attention", "AdditiveAttention")


@dataclass
class Case:
    layer: str
    kwargs: dict[str, Any]
    shapes: tuple[tuple[int, ...], ...]
    masks: tuple[str | None, ...] = ()
    call: dict[str, Any] = field(default_factory=dict)
    explicit_mask: bool = False  # Attention: mask=[query_mask, value_mask] instead of carried

    @property
    def keras_name(self) -> str:
        return "GroupQueryAttention" if self.layer == "GroupedQueryAttention" else self.layer

    @property
    def scores(self) -> bool:
        return bool(self.call.get("return_attention_scores"))


def data(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def arrays_of(case: Case) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    arrays = [data(shape, seed) for seed, shape in enumerate(case.shapes)]
    masks = []
    for index, shape in enumerate(case.shapes):
        kind = case.masks[index] if index < len(case.masks) else None
        if kind is None:
            masks.append(None)
        else:  # over every axis but the batch and the features
            flat = MASKS[kind](shape[0], int(np.prod(shape[1:-1])))
            masks.append(flat.reshape(shape[:-1]))
    return arrays, masks


def tensors(arrays: list[np.ndarray], masks: list[Any], grad: bool = False) -> list[torch.Tensor]:
    """Fresh tensors (Keras's MultiHeadAttention strips the masks of its inputs)."""
    found = []
    for array, mask in zip(arrays, masks):
        tensor = torch.from_numpy(array.copy()).requires_grad_(grad)
        if mask is not None:
            tensor._keras_mask = torch.from_numpy(mask)
        found.append(tensor)
    return found


def call(layer: Any, case: Case, inputs: list[torch.Tensor], masks: list[Any]) -> Any:
    kwargs = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v
              for k, v in case.call.items()}
    if case.layer == "EinsumDense":
        return layer(inputs[0])
    if case.layer in ATTENTION_LISTS:
        if case.explicit_mask:
            kwargs["mask"] = [None if m is None else torch.from_numpy(m) for m in masks]
        return layer(list(inputs), **kwargs)
    if case.explicit_mask:  # query_mask=, value_mask=, key_mask= by name
        for name, mask in zip(("query_mask", "value_mask", "key_mask"), masks):
            if mask is not None:
                kwargs[name] = torch.from_numpy(mask)
    return layer(*inputs, **kwargs)


def make(case: Case, side: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if side == "keras":
            return getattr(keras.layers, case.keras_name)(name="subject", **case.kwargs)
        return getattr(layers, case.layer)(name="subject", **case.kwargs)


def keras_weights(layer: Any) -> list[np.ndarray]:
    return [w.value.detach().cpu().numpy() for w in layer.weights]


@dataclass
class Pair:
    keras: Any
    lamina: Any
    arrays: list[np.ndarray]
    masks: list[Any]


def run(case: Case) -> Pair:
    """Both layers built on the case's inputs, lamina holding Keras's weights."""
    arrays, masks = arrays_of(case)
    theirs, ours = make(case, "keras"), make(case, "lamina")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        call(theirs, case, tensors(arrays, masks), masks)
    call(ours, case, tensors(arrays, masks), masks)
    ours.set_weights(keras_weights(theirs))
    return Pair(theirs, ours, arrays, masks)


def outputs(pair: Pair, case: Case, side: str, grad: bool = False) -> tuple[list, list]:
    """(outputs as a list, the input tensors)."""
    layer = pair.keras if side == "keras" else pair.lamina
    inputs = tensors(pair.arrays, pair.masks, grad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = call(layer, case, inputs, pair.masks)
    return (list(result) if isinstance(result, (list, tuple)) else [result]), inputs


def close(actual: Any, expected: Any, atol: float = 1e-5) -> None:
    as_numpy = [t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
                for t in (actual, expected)]
    np.testing.assert_allclose(*as_numpy, rtol=1e-5, atol=atol)


def plain(value: Any) -> Any:
    """A config value for comparison: tuples as lists, a dtype policy as its name, an
    object as ``(class_name, config)`` (module and registered name left out)."""
    if isinstance(value, dict):
        if "class_name" in value and "config" in value:
            if value["class_name"] == "DTypePolicy":
                return value["config"]["name"]
            return (value["class_name"], plain(value["config"]))
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def config_differences(mine: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    found = [f"keys only in Keras: {sorted(set(theirs) - set(mine))}"] if set(theirs) - set(
        mine) else []
    if set(mine) - set(theirs):
        found.append(f"keys only in lamina: {sorted(set(mine) - set(theirs))}")
    found += [f"{key}: Keras {theirs[key]!r}, lamina {mine[key]!r}"
              for key in sorted(set(mine) & set(theirs))
              if key != "name" and not same(plain(mine[key]), plain(theirs[key]))]
    return found


def same(mine: Any, theirs: Any) -> bool:
    """Equal, floats to float32 precision (Keras keeps regularizer factors as float32)."""
    if isinstance(mine, float) or isinstance(theirs, float):
        return (isinstance(mine, (int, float)) and isinstance(theirs, (int, float))
                and abs(mine - theirs) <= 1e-7 * max(abs(mine), abs(theirs), 1e-30))
    if isinstance(mine, dict) and isinstance(theirs, dict):
        return mine.keys() == theirs.keys() and all(same(mine[k], theirs[k]) for k in mine)
    if isinstance(mine, (list, tuple)) and isinstance(theirs, (list, tuple)):
        return len(mine) == len(theirs) and all(same(a, b) for a, b in zip(mine, theirs))
    return mine == theirs


def raised(make_and_call: Any) -> type | None:
    """The builtin class (ValueError or TypeError) of what ``make_and_call`` raises."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            make_and_call()
    except TypeError:
        return TypeError
    except ValueError:
        return ValueError
    return None


# ---------------------------------------------------------------------------- the table
def case(case_id: str, layer: str, kwargs: dict[str, Any], shapes: tuple, masks: tuple = (),
         explicit_mask: bool = False, **call_kwargs: Any) -> Any:
    return pytest.param(Case(layer, kwargs, shapes, masks, call_kwargs, explicit_mask),
                        id=f"{layer}-{case_id}")


Q, V, K, Q6 = (2, 3, 4), (2, 5, 6), (2, 5, 2), (2, 5, 4)
KV = (2, 5, 4)
IMG, IMG_V = (2, 3, 5, 4), (2, 3, 7, 6)
ATTENTION_MASK = np.array([[[1, 0, 1, 1, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]],
                           [[1, 1, 0, 0, 0], [0, 1, 0, 1, 0], [1, 0, 0, 0, 0]]], dtype=bool)
REGULARIZED = {"kernel_regularizer": "l2", "bias_regularizer": {"class_name": "L1",
                                                                "config": {"l1": 0.01}},
               "activity_regularizer": "l2", "kernel_constraint": "max_norm",
               "bias_constraint": "non_neg", "bias_initializer": "random_normal"}
MHA = {"num_heads": 2, "key_dim": 3}
GQA = {"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 2}
MQA = {"head_dim": 3, "num_query_heads": 2, "num_key_value_heads": 1}

CASES = [
    case("matrix", "EinsumDense", {"equation": "ab,bc->ac", "output_shape": 3,
                                   "bias_axes": "c"}, ((2, 4),)),
    case("sequence", "EinsumDense", {"equation": "abc,cd->abd", "output_shape": (5, 2),
                                     "bias_axes": "d"}, ((2, 5, 4),)),
    case("unknown_length", "EinsumDense", {"equation": "abc,cd->abd",
                                           "output_shape": (None, 2)}, ((2, 5, 4),)),
    case("heads_relu", "EinsumDense", {"equation": "abc,cde->abde", "output_shape": (None, 2, 2),
                                       "bias_axes": "de", "activation": "relu"}, ((2, 5, 4),)),
    case("left_ellipsis", "EinsumDense", {"equation": "...b,bc->...c", "output_shape": 3,
                                          "bias_axes": "c"}, ((2, 5, 6),)),
    case("left_ellipsis_2d", "EinsumDense", {"equation": "...b,bc->...c", "output_shape": 3,
                                             "bias_axes": "c"}, ((2, 6),)),
    case("right_ellipsis", "EinsumDense", {"equation": "ab...,bc->ac...", "output_shape": 3,
                                           "bias_axes": "c"}, ((2, 4, 5, 6),)),
    case("right_ellipsis_2_bias", "EinsumDense", {"equation": "ab...,bcd->acd...",
                                                  "output_shape": (3, 2), "bias_axes": "c"},
         ((2, 4, 5, 6),)),
    case("left_ellipsis_bias_bd", "EinsumDense", {"equation": "...bc,cd->...bd",
                                                  "output_shape": (4, 6), "bias_axes": "bd"},
         ((2, 7, 4, 5),)),
    case("regularized", "EinsumDense", {"equation": "abc,cd->abd", "output_shape": (None, 3),
                                        "bias_axes": "d", **REGULARIZED}, ((2, 5, 4),)),
    # Attention / AdditiveAttention: a list of inputs
    case("self", "Attention", {}, (Q, Q)),
    case("cross", "Attention", {}, (Q, KV)),
    case("key", "Attention", {}, (Q, KV, KV)),
    case("use_scale", "Attention", {"use_scale": True}, (Q, KV)),
    case("concat", "Attention", {"score_mode": "concat"}, (Q, KV)),
    case("concat_scaled", "Attention", {"score_mode": "concat", "use_scale": True}, (Q, KV)),
    case("scores", "Attention", {}, (Q, KV), return_attention_scores=True),
    case("causal", "Attention", {}, (Q, Q), use_causal_mask=True, return_attention_scores=True),
    case("masked", "Attention", {}, (Q, KV), ("right", "holes"), return_attention_scores=True),
    case("masked_explicit", "Attention", {"use_scale": True}, (Q, KV), ("right", "holes"),
         explicit_mask=True, return_attention_scores=True),
    case("value_fully_masked", "Attention", {}, (Q, KV), (None, "none"), explicit_mask=True,
         return_attention_scores=True),
    case("masked_causal", "Attention", {}, (Q, Q), ("holes", "right"), use_causal_mask=True),
    case("dropout_inference", "Attention", {"dropout": 0.5, "seed": 1}, (Q, KV), (None, "holes")),
    case("self", "AdditiveAttention", {}, (Q, Q)),
    case("cross", "AdditiveAttention", {}, (Q, KV)),
    case("key", "AdditiveAttention", {"use_scale": False}, (Q, KV, KV)),
    case("scores", "AdditiveAttention", {}, (Q, KV), return_attention_scores=True),
    case("causal", "AdditiveAttention", {}, (Q, Q), use_causal_mask=True),
    case("masked", "AdditiveAttention", {}, (Q, KV), ("right", "holes"), explicit_mask=True,
         return_attention_scores=True),
    # GroupedQueryAttention
    case("self", "GroupedQueryAttention", GQA, (Q, Q)),
    case("cross", "GroupedQueryAttention", MQA, (Q, KV)),
    case("key", "GroupedQueryAttention", GQA, (Q, KV, (2, 5, 3))),
    case("no_bias", "GroupedQueryAttention", {**GQA, "use_bias": False}, (Q, KV)),
    case("scores", "GroupedQueryAttention", GQA, (Q, KV), return_attention_scores=True),
    case("causal", "GroupedQueryAttention", MQA, (Q, Q), use_causal_mask=True),
    case("causal_scores", "GroupedQueryAttention", MQA, (Q, Q), use_causal_mask=True,
         return_attention_scores=True),
    case("masked", "GroupedQueryAttention", GQA, (Q, KV), ("right", "holes")),
    case("masked_scores", "GroupedQueryAttention", GQA, (Q, KV), ("right", "holes"),
         return_attention_scores=True),
    case("masked_dropout_inference", "GroupedQueryAttention", {**GQA, "dropout": 0.3},
         (Q, KV), ("right", "holes")),
    case("attention_mask", "GroupedQueryAttention", MQA, (Q, KV),
         attention_mask=ATTENTION_MASK),
    case("sliding_window", "GroupedQueryAttention", {**GQA, "sliding_window": 2}, (Q6, Q6),
         use_causal_mask=True),
    case("gate", "GroupedQueryAttention", {**GQA, "use_gate": True}, (Q, KV)),
    case("regularized", "GroupedQueryAttention", {**MQA, **REGULARIZED}, (Q, KV)),
    case("regularized_gate_scores", "GroupedQueryAttention",
         {**GQA, **REGULARIZED, "use_gate": True}, (Q, KV), return_attention_scores=True),
    # MultiHeadAttention
    case("self", "MultiHeadAttention", MHA, (Q, Q)),
    case("cross", "MultiHeadAttention", MHA, (Q, V)),
    case("key", "MultiHeadAttention", {"num_heads": 2, "key_dim": 2}, (Q, V, K)),
    case("value_dim_output_shape", "MultiHeadAttention",
         {"num_heads": 3, "key_dim": 2, "value_dim": 4, "output_shape": (2, 3)}, (Q, V)),
    case("no_bias", "MultiHeadAttention", {**MHA, "use_bias": False}, (Q, V)),
    case("scores", "MultiHeadAttention", MHA, (Q, V), return_attention_scores=True),
    case("causal", "MultiHeadAttention", MHA, (Q, Q), use_causal_mask=True),
    case("causal_scores", "MultiHeadAttention", MHA, (Q, Q), use_causal_mask=True,
         return_attention_scores=True),
    case("masked", "MultiHeadAttention", MHA, (Q, V), ("right", "holes")),
    case("masked_scores", "MultiHeadAttention", MHA, (Q, V), ("right", "holes"),
         return_attention_scores=True),
    case("masked_causal", "MultiHeadAttention", MHA, (Q, Q), ("holes", "right"),
         use_causal_mask=True),
    case("masked_key", "MultiHeadAttention", MHA, (Q, V, (2, 5, 3)), ("right", None, "holes")),
    case("masked_dropout_inference", "MultiHeadAttention", {**MHA, "dropout": 0.3}, (Q, V),
         ("right", "holes")),
    case("attention_mask", "MultiHeadAttention", MHA, (Q, V), attention_mask=ATTENTION_MASK),
    case("attention_mask_scores", "MultiHeadAttention", MHA, (Q, V),
         attention_mask=ATTENTION_MASK, return_attention_scores=True),
    case("sliding_window", "MultiHeadAttention", {**MHA, "sliding_window": 2}, (Q6, Q6)),
    case("gate", "MultiHeadAttention", {**MHA, "use_gate": True, "value_dim": 4}, (Q, V)),
    case("attention_axes_1", "MultiHeadAttention", {**MHA, "attention_axes": (1,)}, (Q, V)),
    case("image_axes_none", "MultiHeadAttention", MHA, (IMG, IMG),
         return_attention_scores=True),
    case("image_axes_2", "MultiHeadAttention", {**MHA, "attention_axes": (2,)}, (IMG, IMG_V),
         return_attention_scores=True),
    case("image_axes_1", "MultiHeadAttention", {**MHA, "attention_axes": 1}, (IMG, IMG)),
    case("image_axes_negative", "MultiHeadAttention", {**MHA, "attention_axes": (-2,)},
         (IMG, IMG_V)),
    case("image_axes_1_2", "MultiHeadAttention", {**MHA, "attention_axes": (1, 2)},
         (IMG, IMG_V), return_attention_scores=True),
    case("image_masked", "MultiHeadAttention", {**MHA, "attention_axes": (2,)}, (IMG, IMG),
         ("holes", "right"), return_attention_scores=True),
    case("image_output_shape", "MultiHeadAttention",
         {**MHA, "attention_axes": (2,), "output_shape": 5}, (IMG, IMG_V)),
    case("regularized", "MultiHeadAttention", {**MHA, **REGULARIZED}, (Q, V)),
    case("regularized_gate_scores", "MultiHeadAttention", {**MHA, **REGULARIZED, "use_gate": True},
         (Q, V), return_attention_scores=True),
]

#: (id, layer, arguments, call inputs) whose construction or call Keras refuses.
INVALID = [
    ("bad_equation", "EinsumDense", {"equation": "ab->ac", "output_shape": 3}, [(2, 4)]),
    ("bias_axis_not_in_output", "EinsumDense",
     {"equation": "ab,bc->ac", "output_shape": 3, "bias_axes": "z"}, [(2, 4)]),
    ("shared_axis_mismatch", "EinsumDense",
     {"equation": "abc,cd->abd", "output_shape": (4, 2)}, [(2, 5, 3)]),
    ("output_axis_nowhere", "EinsumDense", {"equation": "ab,bc->ae", "output_shape": 3},
     [(2, 4)]),
    ("kernel_axis_nowhere", "EinsumDense", {"equation": "ab,bz->ab", "output_shape": 4},
     [(2, 4)]),
    ("bad_score_mode", "Attention", {"score_mode": "cosine"}, None),
    ("one_input", "Attention", {}, [(2, 3, 4)]),
    ("four_inputs", "Attention", {}, [(2, 3, 4)] * 4),
    ("dropout_string", "AdditiveAttention", {"dropout": "x"}, None),
    ("heads_not_dividing", "GroupedQueryAttention",
     {"head_dim": 2, "num_query_heads": 3, "num_key_value_heads": 2}, None),
    ("sliding_window_zero", "GroupedQueryAttention", {**GQA, "sliding_window": 0}, None),
    ("flash_with_dropout", "GroupedQueryAttention",
     {**GQA, "flash_attention": True, "dropout": 0.1}, None),
    ("num_heads_zero", "MultiHeadAttention", {"num_heads": 0, "key_dim": 2}, None),
    ("key_dim_float", "MultiHeadAttention", {"num_heads": 2, "key_dim": 2.5}, None),
    ("value_dim_zero", "MultiHeadAttention", {**MHA, "value_dim": 0}, None),
    ("attention_axes_string", "MultiHeadAttention", {**MHA, "attention_axes": "x"}, None),
    ("sliding_window_float", "MultiHeadAttention", {**MHA, "sliding_window": 1.5}, None),
    ("flash_with_dropout", "MultiHeadAttention",
     {**MHA, "flash_attention": True, "dropout": 0.1}, None),
    ("key_value_steps_differ", "MultiHeadAttention", MHA, [(2, 3, 4), (2, 5, 4), (2, 4, 4)]),
]
