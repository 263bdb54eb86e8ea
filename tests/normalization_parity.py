"""Cases and helpers of ``test_normalization_keras_parity.py``: Keras 3 on its torch backend
as the reference for ``BatchNormalization`` (renorm, masks), ``LayerNormalization``
(``rms_scaling``, ``axis``), ``RMSNormalization``, the adaptive poolings,
``ReversibleEmbedding`` and ``SpectralNormalization``.

A :class:`Case` names a layer, its arguments (a wrapped layer as ``Sub(name, kwargs)``), the
shape of its input, the input's mask (carried as ``_keras_mask``) and the call's arguments.
:func:`run` builds both layers on the same input, gives Keras's weights seeded random values
(so offsets, moving statistics and ``vector_u`` matter) and copies them into lamina with
``set_weights([w.value ... for w in keras_layer.weights])``.
"""

from __future__ import annotations

import os
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.distributed import rank

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "torch":
    pytest.skip("the Keras reference runs on its torch backend", allow_module_level=True)

#: Masks by name, over the (batch, steps) axes: ``right`` pads the end of each sequence,
#: ``holes`` masks steps inside it.
MASKS = {
    "right": lambda b, n: np.arange(n)[None, :] < np.array([n - 1, 2, n, 1])[:b, None],
    "holes": lambda b, n: (np.arange(n)[None, :] + np.arange(b)[:, None]) % 3 != 1,
}
#: Layers whose weights must stay positive where they are variances or deviations.
POSITIVE = ("BatchNormalization",)


@dataclass(frozen=True)
class Sub:
    """A layer to wrap: built on each side from its class name and arguments."""

    layer: str
    kwargs: dict[str, Any]


@dataclass
class Case:
    layer: str
    kwargs: dict[str, Any]
    shape: tuple[int, ...]
    mask: str | None = None
    call: dict[str, Any] = field(default_factory=dict)
    dtype: str = "float32"
    tokens: int = 0  # > 0: integer inputs in [0, tokens)

    def make(self, side: str) -> Any:
        module = keras.layers if side == "keras" else layers
        kwargs = {k: getattr(module, v.layer)(**v.kwargs) if isinstance(v, Sub) else v
                  for k, v in self.kwargs.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # LayerNormalization(rms_scaling=True) warns
            return getattr(module, self.layer)(name="subject", **kwargs)


def case(case_id: str, layer: str, kwargs: dict[str, Any], shape: tuple[int, ...],
         **options: Any) -> Any:
    return pytest.param(Case(layer, kwargs, shape, **options), id=f"{layer}-{case_id}")


def arrays(case: Case) -> tuple[np.ndarray, np.ndarray | None]:
    rng = np.random.default_rng(zlib.crc32(f"{case.layer}{case.kwargs}{case.shape}".encode()))
    if case.tokens:
        data = rng.integers(0, case.tokens, size=case.shape).astype("int64")
        data[..., -1] = 0  # a padding step for mask_zero
    else:
        data = rng.standard_normal(case.shape).astype(case.dtype)
    mask = None
    if case.mask is not None:
        mask = MASKS[case.mask](case.shape[0], int(np.prod(case.shape[1:-1])))
        mask = mask.reshape(case.shape[:-1])
    return data, mask


def tensor(data: np.ndarray, mask: np.ndarray | None, grad: bool = False) -> torch.Tensor:
    """A fresh tensor (Keras strips or replaces masks of the tensors it is given)."""
    value = torch.from_numpy(data.copy())
    if grad and value.is_floating_point():
        value.requires_grad_(True)
    if mask is not None:
        value._keras_mask = torch.from_numpy(mask)
    return value


def call(layer: Any, case: Case, inputs: Any, training: bool | None = None) -> Any:
    kwargs = dict(case.call)
    if training is not None:
        kwargs["training"] = training
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return layer(inputs, **kwargs)


def keras_weights(layer: Any) -> list[np.ndarray]:
    return [w.value.detach().cpu().numpy() for w in layer.weights]


@dataclass
class Pair:
    keras: Any
    lamina: Any
    data: np.ndarray
    mask: np.ndarray | None


def run(case: Case) -> Pair:
    """Both layers built on the case's input, Keras's weights random, lamina holding them."""
    data, mask = arrays(case)
    theirs, ours = case.make("keras"), case.make("lamina")
    call(theirs, case, tensor(data, mask))
    call(ours, case, tensor(data, mask))
    rng = np.random.default_rng(7)
    for weight in theirs.weights:
        shape = tuple(weight.shape)
        values = (rng.uniform(0.5, 1.5, shape) if case.layer in POSITIVE
                  else rng.standard_normal(shape) * 0.5)
        weight.assign(values.astype(weight.value.detach().cpu().numpy().dtype))
    ours.set_weights(keras_weights(theirs))
    return Pair(theirs, ours, data, mask)


def outputs(pair: Pair, case: Case, side: str, training: bool | None = None,
            grad: bool = False) -> tuple[Any, torch.Tensor]:
    """(output, the input tensor) of one call."""
    inputs = tensor(pair.data, pair.mask, grad)
    layer = pair.keras if side == "keras" else pair.lamina
    return call(layer, case, inputs, training), inputs


def close(actual: Any, expected: Any, atol: float = 1e-5) -> None:
    as_numpy = [t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
                for t in (actual, expected)]
    np.testing.assert_allclose(*as_numpy, rtol=1e-5, atol=atol)


def plain(value: Any) -> Any:
    """A config value for comparison: tuples as lists, a dtype policy as its name, an
    object as ``(class_name, config)`` (module and registered name left out), floats to
    float32 precision (Keras keeps regularizer factors as float32)."""
    if isinstance(value, dict):
        if "class_name" in value and "config" in value:
            if value["class_name"] == "DTypePolicy":
                return value["config"]["name"]
            return (value["class_name"], plain(value["config"]))
        return {k: plain(v) for k, v in value.items() if k != "build_config"}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float):
        return float(np.float32(value))
    return value


def config_differences(mine: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """What differs between two configs (Keras's quantization key, ``None``, left out)."""
    mine, theirs = plain(mine), plain(theirs)
    for config in (mine, theirs):
        if config.get("quantization_config", 0) is None:
            del config["quantization_config"]
        if isinstance(config.get("layer"), tuple):  # a wrapped layer's (class_name, config)
            config["layer"][1].pop("quantization_config", None)
    found = []
    if set(theirs) != set(mine):
        found.append(f"keys: Keras only {sorted(set(theirs) - set(mine))}, lamina only "
                     f"{sorted(set(mine) - set(theirs))}")
    found += [f"{key}: Keras {theirs[key]!r}, lamina {mine[key]!r}"
              for key in sorted(set(mine) & set(theirs))
              if key != "name" and mine[key] != theirs[key]]
    return found


def raised(make_and_call: Any) -> Exception | None:
    """What ``make_and_call`` raises (a ValueError or a TypeError), or ``None``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            make_and_call()
    except (TypeError, ValueError) as error:
        return error
    return None


def builtin_class(error: Exception | None) -> type | None:
    """The builtin class Keras raises that ``error`` is: ValueError or TypeError."""
    if error is None:
        return None
    return ValueError if isinstance(error, ValueError) else TypeError


# ---------------------------------------------------------------------------- the tables
DENSE = Sub("Dense", {"units": 3, "name": "inner_dense"})
RENORM = {"renorm": True, "renorm_momentum": 0.5}
CLIPPED = {**RENORM, "renorm_clipping": {"rmax": 1.1, "rmin": 0.9, "dmax": 0.05}}
SEQ, IMG = (4, 5, 3), (2, 7, 6, 3)

CASES = [
    case("default", "BatchNormalization", {}, (4, 3)),
    case("momentum_epsilon", "BatchNormalization", {"momentum": 0.5, "epsilon": 0.01}, (4, 3)),
    case("axis_1_image", "BatchNormalization", {"axis": 1}, (2, 3, 4, 5)),
    case("sequence", "BatchNormalization", {"momentum": 0.8}, SEQ),
    case("masked", "BatchNormalization", {"momentum": 0.5}, SEQ, mask="holes"),
    case("masked_image", "BatchNormalization", {}, (2, 3, 4, 2), mask="holes"),
    case("no_center_no_scale", "BatchNormalization", {"center": False, "scale": False}, SEQ),
    case("regularizers", "BatchNormalization", {"gamma_regularizer": "l2",
                                                "beta_regularizer": "l1"}, (4, 3)),
    case("frozen", "BatchNormalization", {"trainable": False}, (4, 3)),
    case("float64", "BatchNormalization", {"dtype": "float64"}, (4, 3), dtype="float64"),
    case("renorm", "BatchNormalization", RENORM, (6, 3)),
    case("renorm_clipped", "BatchNormalization", {**CLIPPED, "momentum": 0.7}, (6, 3)),
    case("renorm_rmax_only", "BatchNormalization", {"renorm": True,
                                                    "renorm_clipping": {"rmax": 1.01}}, SEQ),
    case("renorm_masked", "BatchNormalization", CLIPPED, SEQ, mask="right"),
    case("renorm_axis_1_no_scale", "BatchNormalization", {**RENORM, "axis": 1, "scale": False},
         (2, 3, 4, 5)),
    case("renorm_no_center", "BatchNormalization", {**RENORM, "center": False}, (6, 3)),
    case("renorm_frozen", "BatchNormalization", {**RENORM, "trainable": False}, (6, 3)),
    case("renorm_initializers", "BatchNormalization",
         {**RENORM, "moving_variance_initializer": "random_uniform",
          "moving_mean_initializer": "ones"}, (6, 3)),
    case("default", "LayerNormalization", {}, (2, 4)),
    case("axis_pair", "LayerNormalization", {"axis": [1, 2]}, SEQ),
    case("axis_tuple_unsorted", "LayerNormalization", {"axis": (2, 1)}, SEQ),
    case("axis_negative_pair", "LayerNormalization", {"axis": [-1, -2]}, IMG),
    case("epsilon", "LayerNormalization", {"epsilon": 0.1}, (2, 4)),
    case("no_center_no_scale", "LayerNormalization", {"center": False, "scale": False}, SEQ),
    case("masked", "LayerNormalization", {}, SEQ, mask="right"),
    case("float64", "LayerNormalization", {"dtype": "float64"}, (2, 4), dtype="float64"),
    case("rms_scaling", "LayerNormalization", {"rms_scaling": True}, SEQ),
    case("rms_scaling_axis_pair", "LayerNormalization", {"rms_scaling": True, "axis": [1, 2]},
         SEQ),
    case("rms_scaling_no_scale_center", "LayerNormalization",
         {"rms_scaling": True, "scale": False, "center": True, "epsilon": 0.5}, (2, 4)),
    case("default", "RMSNormalization", {}, (2, 4)),
    case("axis_pair", "RMSNormalization", {"axis": [1, 2]}, SEQ),
    case("epsilon", "RMSNormalization", {"epsilon": 0.1}, (2, 4)),
    case("image", "RMSNormalization", {"axis": [-2, -1]}, IMG),
    case("masked", "RMSNormalization", {}, SEQ, mask="holes"),
    case("float64", "RMSNormalization", {"dtype": "float64"}, (2, 4), dtype="float64"),
    case("default", "ReversibleEmbedding", {"input_dim": 6, "output_dim": 3}, (2, 5), tokens=6),
    case("untied", "ReversibleEmbedding", {"input_dim": 6, "output_dim": 3,
                                           "tie_weights": False}, (2, 5), tokens=6),
    case("mask_zero", "ReversibleEmbedding", {"input_dim": 6, "output_dim": 3,
                                              "mask_zero": True}, (2, 5), tokens=6),
    case("reverse", "ReversibleEmbedding", {"input_dim": 6, "output_dim": 3}, SEQ,
         call={"reverse": True}),
    case("reverse_untied", "ReversibleEmbedding", {"input_dim": 6, "output_dim": 3,
                                                   "tie_weights": False}, SEQ,
         call={"reverse": True}),
    case("reverse_soft_cap", "ReversibleEmbedding", {"input_dim": 6, "output_dim": 3,
                                                     "logit_soft_cap": 0.5}, SEQ,
         call={"reverse": True}),
    case("reverse_masked", "ReversibleEmbedding", {"input_dim": 6, "output_dim": 3,
                                                   "mask_zero": True, "tie_weights": False},
         SEQ, mask="holes", call={"reverse": True}),
    case("regularized", "ReversibleEmbedding", {"input_dim": 6, "output_dim": 3,
                                                "embeddings_regularizer": "l2",
                                                "embeddings_constraint": "non_neg"},
         (2, 5), tokens=6),
    case("dense", "SpectralNormalization", {"layer": DENSE}, (4, 5)),
    case("dense_power_iterations", "SpectralNormalization", {"layer": DENSE,
                                                             "power_iterations": 3}, (4, 5)),
    case("dense_sequence", "SpectralNormalization", {"layer": DENSE}, SEQ),
    case("conv1d", "SpectralNormalization",
         {"layer": Sub("Conv1D", {"filters": 2, "kernel_size": 2, "name": "inner_conv"}),
          "power_iterations": 2}, SEQ),
    case("conv2d", "SpectralNormalization",
         {"layer": Sub("Conv2D", {"filters": 4, "kernel_size": 3, "name": "inner_conv",
                                  "use_bias": False})}, IMG),
]
_ADAPTIVE = [("1D", (2, 9, 3), 4), ("1D_up", (2, 5, 2), 7), ("2D", IMG, (3, 2)),
             ("2D_up", (2, 3, 5, 2), (5, 8)), ("3D", (2, 5, 4, 6, 2), (2, 3, 2)),
             ("3D_up", (1, 2, 3, 4, 2), (3, 4, 5))]
for _kind in ("Average", "Max"):
    for _id, _shape, _size in _ADAPTIVE:
        _name = f"Adaptive{_kind}Pooling{_id[:2]}"
        CASES.append(case(_id[3:] or "default", _name, {"output_size": _size}, _shape))
        CASES.append(case((_id[3:] or "default") + "_channels_first", _name,
                          {"output_size": _size, "data_format": "channels_first"},
                          (_shape[0], _shape[-1], *_shape[1:-1])))
    CASES.append(case("int_size", f"Adaptive{_kind}Pooling2D", {"output_size": 2}, IMG))
    CASES.append(case("masked", f"Adaptive{_kind}Pooling1D", {"output_size": 2}, SEQ,
                      mask="holes"))

#: (id, layer, arguments, what to call it on) that Keras refuses with ValueError or
#: TypeError.
_NO_KERNEL = Sub("Flatten", {})
INVALID = [
    ("renorm_clipping_key", "BatchNormalization",
     {"renorm": True, "renorm_clipping": {"rmaxx": 2.0}}, None),
    ("renorm_rmax_below_rmin", "BatchNormalization",
     {"renorm": True, "renorm_clipping": {"rmax": 0.5, "rmin": 1.0}}, None),
    ("renorm_dmax_negative", "BatchNormalization",
     {"renorm": True, "renorm_clipping": {"dmax": -1.0}}, None),
    ("momentum_string", "BatchNormalization", {"momentum": "x"}, None),
    ("axis_string", "BatchNormalization", {"axis": "x"}, None),
    ("mask_of_the_input_rank", "BatchNormalization", {}, "mask_rank"),
    ("axis_string", "LayerNormalization", {"axis": "last"}, None),
    ("axis_float", "LayerNormalization", {"axis": 1.5}, None),
    ("unknown_initializer", "LayerNormalization", {"gamma_initializer": "no_such_init"}, None),
    ("rms_scaling_unknown_keyword", "LayerNormalization", {"rms_scale": True}, None),
    ("unknown_keyword", "RMSNormalization", {"no_such_argument": 1}, None),
    ("bad_data_format", "AdaptiveAveragePooling1D", {"output_size": 2, "data_format": "nwc"},
     None),
    ("size_of_two", "AdaptiveMaxPooling1D", {"output_size": (2, 2)}, None),
    ("size_string", "AdaptiveAveragePooling1D", {"output_size": "2"}, None),
    ("size_of_three", "AdaptiveAveragePooling2D", {"output_size": (2, 2, 2)}, None),
    ("size_float", "AdaptiveMaxPooling2D", {"output_size": 2.5}, None),
    ("size_of_two", "AdaptiveMaxPooling3D", {"output_size": (2, 2)}, None),
    ("bad_data_format", "AdaptiveMaxPooling3D", {"output_size": 2, "data_format": "ndhwc"},
     None),
    ("input_dim_zero", "ReversibleEmbedding", {"input_dim": 0, "output_dim": 3}, None),
    ("unknown_keyword", "ReversibleEmbedding", {"input_dim": 4, "output_dim": 3, "tied": 1},
     None),
    ("power_iterations_zero", "SpectralNormalization", {"layer": DENSE, "power_iterations": 0},
     None),
    ("power_iterations_negative", "SpectralNormalization",
     {"layer": DENSE, "power_iterations": -2}, None),
    ("power_iterations_string", "SpectralNormalization",
     {"layer": DENSE, "power_iterations": "2"}, None),
    ("layer_without_kernel", "SpectralNormalization", {"layer": _NO_KERNEL}, (2, 3, 4)),
]


# ---------------------------------------------------------------------------- synchronized
SYNC_CASES = {"plain": ({}, False), "masked": ({"momentum": 0.5}, True),
              "renorm": ({**CLIPPED, "renorm_clipping": {"rmax": 1.5}}, False)}
SPLIT = 4  # rank 0 takes 4 samples, rank 1 the other 2: the counts are reduced too


def sync_data(masked: bool) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    rng = np.random.default_rng(11)
    x = (rng.standard_normal((6, 5, 3)) * 2 + 1).astype("float32")
    mask = rng.random((6, 5)) > 0.3 if masked else None
    return x, mask, rng.standard_normal((6, 5, 3)).astype("float32")


def statistics(kwargs: dict, masked: bool, part: slice) -> dict[str, Any]:
    """Two training calls of a BatchNormalization on ``part`` of the batch: outputs,
    gradients (of the inputs, gamma and beta) and the weights after."""
    x, mask, weight = sync_data(masked)
    torch.manual_seed(0)
    layer = layers.BatchNormalization(synchronized=True, **kwargs)
    layer.build((None, 5, 3))
    with torch.no_grad():
        layer.gamma.copy_(torch.tensor([0.5, 1.0, 2.0]))
        layer.beta.copy_(torch.tensor([0.1, -0.2, 0.3]))
    found: dict[str, Any] = {"outputs": [], "input_grads": []}
    for _ in range(2):
        inputs = torch.tensor(x[part], requires_grad=True)
        out = layer(inputs, training=True,
                    mask=None if mask is None else torch.tensor(mask[part]))
        (out * torch.tensor(weight[part])).sum().backward()
        found["outputs"].append(out.detach().numpy())
        found["input_grads"].append(inputs.grad.numpy())
    found["weight_grads"] = [w.grad.numpy() for w in (layer.gamma, layer.beta)]
    found["weights"] = layer.get_weights()
    return found


def synchronized_rank(kwargs: dict, masked: bool) -> dict[str, Any]:
    part = slice(0, SPLIT) if rank() == 0 else slice(SPLIT, 6)
    return statistics(kwargs, masked, part)


def synchronized_fit(batch_size: int, synchronized: bool) -> list[np.ndarray]:
    """Two epochs of ``fit`` of a model with a renormalizing BatchNormalization; the
    weights after (what each rank of a data-parallel run returns)."""
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(64, 4)) * 3 + 1).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 2).astype(np.int64)
    torch.manual_seed(0)
    model = lamina.Sequential([
        layers.Dense(8, input_shape=(4,)),
        layers.BatchNormalization(synchronized=synchronized, renorm=True),
        layers.Activation("tanh"), layers.Dense(2, activation="softmax")])
    model.compile(optimizer=lamina.optimizers.SGD(learning_rate=0.1),
                  loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=batch_size, shuffle=False, verbose=0)
    return [w.detach().numpy().copy() for w in model.state_dict().values()]
