"""lamina.ops against keras.ops (Keras 3 on torch) for the ops beyond Keras-2's backend.

Every case runs the same op on the same inputs in both libraries and compares the
structure (tensor, tuple or list), shapes, dtypes and values. A second group checks that
new ops work on symbolic tensors and inside a Lambda saved and loaded again.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina import layers, ops  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
    # Keras's own calls (count_nonzero's x.T, cross) warn in torch 2.x; lamina's do not
    pytest.mark.filterwarnings("ignore:Tensor.T is deprecated:UserWarning"),
    pytest.mark.filterwarnings("ignore:The use of `x.T` on tensors:UserWarning"),
    pytest.mark.filterwarnings("ignore:Using torch.cross without:UserWarning"),
    pytest.mark.skipif(keras.backend.backend() != "torch", reason="compares with torch Keras"),
]

RNG = np.random.default_rng(0)


def f32(*shape: int, low: float = -3.0, high: float = 3.0) -> torch.Tensor:
    return torch.from_numpy(RNG.uniform(low, high, shape).astype(np.float32))


def f64(*shape: int, low: float = -3.0, high: float = 3.0) -> torch.Tensor:
    return f32(*shape, low=low, high=high).double()


def ints(*shape: int, low: int = -5, high: int = 6, dtype=torch.int32) -> torch.Tensor:
    return torch.from_numpy(RNG.integers(low, high, shape)).to(dtype)


def spd(n: int, batch: tuple[int, ...] = ()) -> torch.Tensor:
    a = f32(*batch, n, n)
    return a @ a.transpose(-1, -2) + n * torch.eye(n)


def sparsemax_numpy(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Martins & Astudillo's sparsemax. Keras's torch backend sums the cumulative sums over
    the support where the one at its end is wanted, so its outputs do not sum to 1."""
    z = np.moveaxis(x, axis, -1)
    ranked = -np.sort(-z, axis=-1)
    k = np.arange(1, z.shape[-1] + 1)
    cumulative = np.cumsum(ranked, axis=-1)
    size = np.sum(1 + k * ranked > cumulative, axis=-1, keepdims=True)
    tau = (np.take_along_axis(cumulative, size - 1, axis=-1) - 1) / size
    return np.moveaxis(np.maximum(z - tau, 0), -1, axis).astype(x.dtype)


def average_pool_numpy(x: np.ndarray, size: tuple[int, int], strides: int) -> np.ndarray:
    """2-D channels-last average pooling with "same" padding: each window's mean over the
    input values it covers (the padding is not counted)."""
    n, h, w, c = x.shape
    out_h, out_w = -(-h // strides), -(-w // strides)
    top = max(0, (out_h - 1) * strides + size[0] - h) // 2
    left = max(0, (out_w - 1) * strides + size[1] - w) // 2
    out = np.zeros((n, out_h, out_w, c), np.float32)
    for i in range(out_h):
        for j in range(out_w):
            r, q = i * strides - top, j * strides - left
            window = x[:, max(r, 0):r + size[0], max(q, 0):q + size[1]]
            out[:, i, j] = window.mean(axis=(1, 2))
    return out


class Case:
    """One comparison: ``name(*args, **kwargs)`` in Keras and in lamina."""

    def __init__(self, name: str, *args, rtol: float = 1e-5, atol: float = 1e-5,
                 check=None, id: str = "", numpy=None, **kwargs):
        self.name, self.args, self.kwargs = name, args, kwargs
        self.rtol, self.atol, self.check, self.id = rtol, atol, check, id
        #: a numpy rendering used instead of Keras where Keras's torch backend is wrong
        self.numpy = numpy

    def __repr__(self) -> str:
        return f"{self.name}{'-' + self.id if self.id else ''}"


FLOAT_UNARY = ["rsqrt", "log1p", "log2", "log10", "expm1", "exp2", "tan", "sinh", "cosh",
               "arccos", "arcsin", "arctan", "arcsinh", "arctanh", "arccosh", "erf", "erfc",
               "erfinv", "reciprocal", "cbrt", "deg2rad", "rad2deg", "sinc", "fabs",
               "absolute", "trunc", "isnan", "isinf", "isfinite", "signbit", "relu6", "selu",
               "celu", "swish", "hard_sigmoid", "hard_silu", "hard_swish", "leaky_relu",
               "log_sigmoid", "hard_tanh", "soft_shrink", "hard_shrink", "tanh_shrink",
               "sparse_plus", "squareplus", "sparsemax", "sparse_sigmoid", "isneginf",
               "isposinf", "i0", "nan_to_num", "ravel", "copy", "flip", "fliplr", "flipud",
               "real", "conj", "conjugate", "angle", "isreal"]
DOMAIN = {"rsqrt": (0.1, 4.0), "log1p": (-0.9, 3.0), "log2": (0.1, 4.0), "log10": (0.1, 4.0),
          "arccos": (-0.99, 0.99), "arcsin": (-0.99, 0.99), "arctanh": (-0.9, 0.9),
          "arccosh": (1.1, 4.0), "erfinv": (-0.9, 0.9), "reciprocal": (0.5, 3.0)}
INT_DOMAIN = {"rsqrt": (1, 6), "log2": (1, 6), "log10": (1, 6), "arccosh": (1, 6),
              "reciprocal": (1, 6), "log1p": (0, 6), "arccos": (0, 1), "arcsin": (0, 1),
              "arctanh": (0, 1), "erfinv": (0, 1)}
NO_INT = {"sparsemax", "glu", "i0", "sparse_sigmoid", "celu", "selu", "hard_tanh", "angle",
          "soft_shrink", "hard_shrink", "tanh_shrink", "log_sigmoid", "relu6",
          "hard_sigmoid", "hard_silu", "hard_swish", "leaky_relu", "sparse_plus",
          "squareplus", "swish", "imag"}
UNARY_CASES = []
for _name in FLOAT_UNARY:
    _low, _high = DOMAIN.get(_name, (-3.0, 3.0))
    _reference = sparsemax_numpy if _name == "sparsemax" else None
    UNARY_CASES.append(Case(_name, f32(3, 4, low=_low, high=_high), id="f32",
                            numpy=_reference))
    UNARY_CASES.append(Case(_name, f64(2, 5, low=_low, high=_high), id="f64",
                            numpy=_reference))
    if _name not in NO_INT:
        _low, _high = INT_DOMAIN.get(_name, (-5, 6))
        UNARY_CASES.append(Case(_name, ints(2, 3, low=_low, high=_high), id="int32"))

SPECIAL = torch.tensor([1.0, float("nan"), float("inf"), -float("inf"), -0.0, 0.0])
PAIR = (f32(3, 4), f32(3, 4, low=0.5, high=2.0))
BINARY = ["arctan2", "hypot", "logaddexp", "logaddexp2", "true_divide", "divide_no_nan",
          "fmod", "fmax", "fmin", "nextafter", "heaviside", "isclose", "allclose"]
BINARY_CASES = []
for _name in BINARY:
    BINARY_CASES.append(Case(_name, *PAIR, id="f32"))
    BINARY_CASES.append(Case(_name, f32(2, 1, 4), f32(3, 1), id="broadcast"))
    if _name not in ("nextafter",):
        BINARY_CASES.append(Case(_name, ints(2, 3), ints(2, 3, low=1, high=4), id="int32"))
BINARY_CASES += [
    Case("divide_no_nan", torch.tensor([1.0, 2.0, 0.0]), torch.tensor([0.0, 4.0, 0.0]),
         id="zeros"),
    Case("arctan2", f32(4), 2.0, id="scalar"),
    Case("isclose", torch.tensor([1.0, float("nan")]), torch.tensor([1.0 + 1e-6,
         float("nan")]), equal_nan=True, id="nan"),
    Case("allclose", f32(3), f32(3), rtol=0.5, atol=3.0, id="loose"),
    Case("nan_to_num", SPECIAL, nan=1.5, posinf=9.0, neginf=-9.0, id="special"),
    Case("nan_to_num", SPECIAL, id="default"),
    Case("isnan", SPECIAL), Case("isinf", SPECIAL), Case("isfinite", SPECIAL),
    Case("signbit", SPECIAL), Case("isneginf", SPECIAL), Case("isposinf", SPECIAL),
    Case("ldexp", f32(3), ints(3, low=-2, high=3)),
    Case("gcd", ints(4, low=1, high=30), ints(4, low=1, high=30)),
    Case("lcm", ints(4, low=1, high=30), ints(4, low=1, high=30)),
    *[Case(n, ints(2, 3, low=0, high=16), ints(2, 3, low=0, high=3))
      for n in ("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift",
                "left_shift", "bitwise_right_shift", "right_shift")],
    Case("bitwise_invert", ints(4)), Case("bitwise_not", torch.tensor([True, False])),
    Case("trunc", torch.tensor([-1.7, 1.7, 2.5])),
    Case("leaky_relu", f32(5), negative_slope=0.5, id="slope"),
    Case("celu", f32(5), alpha=2.0, id="alpha"),
    Case("soft_shrink", f32(5), threshold=1.0, id="t1"),
    Case("hard_shrink", f32(5), threshold=1.0, id="t1"),
    Case("threshold", f32(6), 0.5, -1.0),
    Case("squareplus", f32(5), b=1.0, id="b1"),
    Case("glu", f32(2, 6)), Case("glu", f32(4, 3), axis=0, id="axis0"),
    Case("sparsemax", f32(3, 5), axis=0, id="axis0", numpy=sparsemax_numpy),
    Case("sparsemax", f32(2, 3, 7), id="3d", numpy=sparsemax_numpy),
    Case("real", torch.tensor([1 + 2j, -3j])), Case("imag", torch.tensor([1 + 2j, -3j])),
    Case("conj", torch.tensor([1 + 2j, -3j])), Case("angle", torch.tensor([1 + 2j, -3j])),
]

CREATION_CASES = [
    Case("full", (2, 3), 7), Case("full", (2,), 1.5, dtype="float64", id="f64"),
    Case("full", [3], 4, dtype="int32", id="int32"),
    Case("full_like", f32(2, 2), 3.0), Case("full_like", ints(3), 2, id="int"),
    Case("full_like", f32(3), 2, dtype="int32", id="dtype"),
    Case("eye", 3), Case("eye", 3, 4, k=1, id="k1"), Case("eye", 4, 2, k=-1, id="k-1"),
    Case("eye", 2, dtype="int32", id="int32"),
    Case("identity", 3), Case("identity", 2, dtype="float64", id="f64"),
    Case("tri", 3), Case("tri", 3, 5, k=2, id="k2"), Case("tri", 4, k=-1, dtype="int32",
                                                           id="int32"),
    Case("tril", f32(4, 4)), Case("tril", f32(2, 3, 4), k=1, id="k1"),
    Case("triu", f32(4, 4)), Case("triu", ints(3, 3), k=-1, id="k-1"),
    Case("array", f32(3)), Case("array", f32(3), dtype="float64", id="dtype"),
    Case("copy", ints(3)),
    Case("logspace", 0.0, 2.0, num=5), Case("logspace", 1.0, 3.0, num=4, base=2,
                                            endpoint=False, id="base2"),
    Case("geomspace", 1.0, 1000.0, num=4), Case("geomspace", 2.0, 32.0, num=5,
                                                endpoint=False, id="noend"),
    Case("saturate_cast", torch.tensor([-300.0, 5.5, 300.0]), "uint8"),
    Case("saturate_cast", torch.tensor([-3e9, 5.0, 2e9]), "int32", id="int32"),
    Case("saturate_cast", ints(4, low=-300, high=300), "int8", id="int-to-int8"),
]

SHAPE_CASES = [
    Case("broadcast_to", f32(3), (2, 3)), Case("broadcast_to", f32(2, 1), [2, 4], id="2d"),
    Case("moveaxis", f32(2, 3, 4), 0, -1), Case("moveaxis", f32(2, 3, 4), [0, 1], [2, 0],
                                                id="multi"),
    Case("swapaxes", f32(2, 3, 4), 0, 2),
    Case("flip", f32(2, 3), axis=1, id="axis1"), Case("flip", f32(2, 3, 2), axis=(0, 2),
                                                      id="axes"),
    Case("roll", f32(2, 5), 2), Case("roll", f32(2, 5), -1, axis=1, id="axis"),
    Case("roll", f32(3, 4), (1, 2), axis=(0, 1), id="axes"),
    Case("rot90", f32(2, 3)), Case("rot90", f32(2, 3, 4), k=3, axes=(1, 2), id="k3"),
    Case("hstack", [f32(2, 3), f32(2, 1)]), Case("hstack", [f32(3), f32(2)], id="1d"),
    Case("vstack", [f32(2, 3), f32(1, 3)]), Case("vstack", [f32(3), f32(3)], id="1d"),
    Case("dstack", [f32(2, 3), f32(2, 3)]),
    Case("hsplit", f32(2, 6), 3), Case("hsplit", f32(2, 6), [1, 4], id="indices"),
    Case("vsplit", f32(4, 2), 2), Case("dsplit", f32(1, 2, 4), 2),
    Case("array_split", f32(7), 3), Case("array_split", f32(2, 5), 2, axis=1, id="axis"),
    Case("append", f32(2, 3), f32(2, 3)), Case("append", f32(2, 3), f32(1, 3), axis=0,
                                               id="axis0"),
    Case("meshgrid", f32(3), f32(2)), Case("meshgrid", f32(3), f32(2), indexing="ij",
                                           id="ij"),
    Case("diff", f32(6)), Case("diff", f32(3, 5), n=2, axis=0, id="n2"),
    Case("depth_to_space", f32(2, 2, 3, 8), 2),
    Case("depth_to_space", f32(1, 8, 2, 3), 2, data_format="channels_first", id="cf"),
    Case("space_to_depth", f32(2, 4, 6, 3), 2),
    Case("space_to_depth", f32(1, 3, 4, 2), 2, data_format="channels_first", id="cf"),
    Case("take", f32(4, 3), torch.tensor([2, 0, -1]), axis=0),
    Case("take", f32(4, 3), torch.tensor([[1, 0], [2, 2]]), axis=1, id="2d-indices"),
    Case("take", f32(4, 3), torch.tensor([5, 0]), id="flat"),
    Case("take_along_axis", f32(3, 4), ints(3, 2, low=0, high=4), axis=1),
    Case("take_along_axis", f32(3, 4), ints(1, 4, low=0, high=3), axis=0, id="axis0"),
    Case("take_along_axis", f32(3, 4), ints(5, low=0, high=12), id="flat"),
    Case("diag", f32(3)), Case("diag", f32(3, 4), k=1, id="matrix"),
    Case("diagflat", f32(2, 2)), Case("diagflat", f32(3), k=-1, id="k"),
    Case("diagonal", f32(3, 4)), Case("diagonal", f32(2, 3, 4), offset=1, axis1=1, axis2=2,
                                      id="batched"),
    Case("trace", f32(3, 3)), Case("trace", ints(2, 3, 3, dtype=torch.int8), axis1=1,
                                   axis2=2, id="int8"),
    Case("slice", f32(4, 5), (1, 2), (2, 3)),
    Case("slice_update", f32(4, 5), (1, 2), f32(2, 3)),
    Case("scatter", torch.tensor([[0, 1], [2, 2], [0, 1]]), f32(3), (3, 3)),
    Case("scatter", torch.tensor([[1], [0]]), f32(2, 4), (3, 4), id="rows"),
    Case("scatter_update", f32(3, 3), torch.tensor([[0, 1], [2, 0]]), f32(2)),
    Case("scatter_update", f32(3, 3), torch.tensor([[0, 1], [0, 1]]), f32(2),
         reduction="add", id="add"),
    Case("scatter_update", f32(3, 3), torch.tensor([[0, 1], [2, 2]]), f32(2),
         reduction="max", id="max"),
    Case("select", [torch.tensor([True, False, False]), torch.tensor([True, True, False])],
         [f32(3), f32(3)], default=0.5),
    Case("nonzero", torch.tensor([[0, 1], [2, 0]])),
    Case("unravel_index", torch.tensor([1, 5, 7]), (2, 4)),
    Case("vander", f32(4)), Case("vander", f32(3), N=5, increasing=True, id="inc"),
    Case("size", f32(2, 3)),
    Case("get_item", f32(3, 4), 1),
]

REDUCTION_CASES = []
for _name in ("amax", "amin", "ptp", "median", "nansum", "nanmean", "nanmax", "nanmin",
              "nanprod", "nanstd", "nanvar", "nanmedian"):
    REDUCTION_CASES += [Case(_name, f32(3, 4)), Case(_name, f32(3, 4, 2), axis=1,
                                                     keepdims=True, id="keepdims"),
                        Case(_name, f32(3, 4, 2), axis=(0, 2), id="axes")]
    if _name in ("amax", "amin", "ptp", "median", "nansum", "nanmean", "nanmax"):
        REDUCTION_CASES.append(Case(_name, ints(4, 3), axis=0, id="int32"))
WITH_NAN = torch.tensor([[1.0, float("nan"), 3.0], [4.0, 5.0, float("nan")]])
REDUCTION_CASES += [
    *[Case(n, WITH_NAN, axis=1, id="nan") for n in
      ("nansum", "nanmean", "nanmax", "nanmin", "nanprod", "nanstd", "nanvar", "nanmedian",
       "nanargmax", "nanargmin")],
    Case("nancumsum", WITH_NAN, axis=1), Case("nancumprod", WITH_NAN, axis=0),
    Case("nancumsum", WITH_NAN, id="flat"),
    Case("quantile", f32(5, 4), 0.3), Case("quantile", f32(5, 4), torch.tensor([0.1, 0.9]),
                                           axis=0, keepdims=True, id="vector-q"),
    *[Case("quantile", f32(6), 0.4, method=m, id=m)
      for m in ("lower", "higher", "midpoint", "nearest")],
    Case("percentile", f32(5, 4), 30.0, axis=1), Case("nanquantile", WITH_NAN, 0.5, axis=1),
    Case("nanpercentile", WITH_NAN, 50.0, axis=1),
    Case("median", ints(4), id="int-even"),
    Case("average", f32(3, 4)), Case("average", f32(3, 4), axis=1, weights=f32(4, low=0.1),
                                     id="weights-1d"),
    # Keras's torch average divides by the weights' last-axis sums for full weights and
    # cannot broadcast 1-D weights along axis 0: numpy's average is the reference there
    Case("average", f32(3, 4), weights=f32(3, 4, low=0.1), id="weights-full",
         numpy=lambda x, weights: np.average(x, weights=weights).astype(np.float32)),
    Case("average", f32(3, 4), axis=0, weights=f32(3, low=0.1), id="weights-axis0",
         numpy=lambda x, axis, weights: np.average(x, axis=axis, weights=weights).astype(
             np.float32)),
    Case("count_nonzero", ints(3, 4)), Case("count_nonzero", ints(3, 4), axis=1, id="axis"),
    Case("argsort", f32(3, 4)), Case("argsort", f32(3, 4), axis=0, id="axis0"),
    Case("argsort", f32(3, 4), axis=None, id="flat"),
    Case("searchsorted", torch.tensor([1.0, 2.0, 2.0, 5.0]), f32(5, low=0, high=6)),
    Case("searchsorted", torch.tensor([1.0, 2.0, 2.0, 5.0]), torch.tensor([2.0]),
         side="right", id="right"),
    Case("digitize", f32(6, low=0, high=5), torch.tensor([1.0, 2.0, 4.0])),
    Case("bincount", ints(8, low=0, high=5)), Case("bincount", ints(6, low=0, high=3),
                                                   weights=f32(6), minlength=5, id="weights"),
    Case("bincount", torch.tensor([[0, 1, 3], [3, 3, 0]]), id="2d"),
    Case("unique", ints(8, low=0, high=4)),
    Case("unique", ints(8, low=0, high=4), return_inverse=True, return_counts=True,
         id="inverse-counts"),
    Case("isin", ints(6), torch.tensor([1, 3, 5], dtype=torch.int32)),
    Case("isin", ints(6), torch.tensor([1, 3], dtype=torch.int32), invert=True, id="invert"),
    Case("in_top_k", torch.tensor([0, 2, 1]), f32(3, 4), 2),
    Case("segment_sum", f32(5, 2), torch.tensor([0, 0, 1, 3, 3]), num_segments=4),
    Case("segment_max", f32(5), torch.tensor([0, 0, 1, 1, 2])),
    Case("segment_min", f32(5), torch.tensor([0, 2, 1, 1, 2])),
    Case("segment_prod", f32(5), torch.tensor([0, 0, 1, 1, 2])),
    Case("moments", f32(4, 3), axes=[0]), Case("moments", f32(2, 3, 4), axes=[0, 2],
                                               keepdims=True, id="keepdims"),
    Case("histogram", f32(20), bins=5),
    Case("histogram", f32(20), bins=4, range=(-1.0, 1.0), id="range"),
    Case("corrcoef", f32(3, 6)), Case("correlate", f32(5), f32(3)),
    Case("correlate", f32(5), f32(3), mode="same", id="same"),
    Case("correlate", f32(5), f32(3), mode="full", id="full"),
    Case("trapezoid", f32(3, 5)), Case("trapezoid", f32(5), x=torch.arange(5.0) ** 2,
                                       id="x"),
    Case("trapezoid", f32(5), dx=0.5, id="dx"),
]

PRODUCT_CASES = [
    Case("outer", f32(3), f32(4)), Case("outer", ints(2, 2), ints(3), id="int"),
    Case("inner", f32(3), f32(3)), Case("inner", f32(2, 3), f32(4, 3), id="2d"),
    Case("inner", ints(3), ints(3), id="int"),
    Case("vdot", f32(3), f32(3)), Case("kron", f32(2, 2), f32(2, 3)),
    Case("cross", f32(4, 3), f32(4, 3)), Case("cross", f32(3, 2), f32(3, 2), axis=0,
                                              id="axis0"),
    Case("cdist", f32(4, 3), f32(5, 3)), Case("cdist", f32(2, 4, 3), f32(2, 5, 3),
                                              id="batched"),
    Case("inv", spd(3)), Case("inv", spd(3, (2,)), id="batched"),
    Case("det", f32(3, 3)), Case("slogdet", f32(2, 3, 3)), Case("logdet", spd(3)),
    Case("solve", spd(3), f32(3, 2)), Case("solve_triangular", torch.triu(spd(3)), f32(3),
                                           id="vector"),
    Case("solve_triangular", torch.tril(spd(3)), f32(3, 2), lower=True, id="lower"),
    Case("cholesky", spd(4)), Case("cholesky", spd(3), upper=True, id="upper"),
    Case("cholesky_inverse", torch.linalg.cholesky(spd(3))),
    Case("qr", f32(4, 3), rtol=1e-4, atol=1e-4),
    Case("qr", f32(4, 3), mode="complete", id="complete", rtol=1e-4, atol=1e-4),
    Case("svd", f32(3, 3), compute_uv=False, id="values"),
    Case("eigh", spd(3), check="eigh"),
    Case("lstsq", f32(5, 3), f32(5, 2), rtol=1e-4, atol=1e-4),
    Case("pinv", f32(4, 3), rtol=1e-4, atol=1e-4),
    Case("matrix_rank", f32(4, 3)),
    Case("lu_factor", f32(3, 3)),
]

NN_CASES = [
    Case("binary_crossentropy", f32(4, 3, low=0, high=1), f32(4, 3, low=0.01, high=0.99)),
    Case("binary_crossentropy", f32(4, 3, low=0, high=1), f32(4, 3), from_logits=True,
         id="logits"),
    Case("categorical_crossentropy", torch.eye(4)[[0, 2, 1]], f32(3, 4, low=0.1, high=1)),
    Case("categorical_crossentropy", torch.eye(4)[[0, 2, 1]], f32(3, 4), from_logits=True,
         id="logits"),
    Case("categorical_crossentropy", torch.eye(3)[[0, 2, 1, 1]].T.contiguous(),
         f32(3, 4), from_logits=True, axis=0, id="axis0"),
    Case("sparse_categorical_crossentropy", torch.tensor([0, 3, 1]),
         f32(3, 4, low=0.1, high=1)),
    Case("sparse_categorical_crossentropy", torch.tensor([[0], [3], [1]]), f32(3, 4),
         from_logits=True, id="logits-column"),
    Case("sparse_categorical_crossentropy", ints(2, 5, low=0, high=4), f32(2, 5, 4),
         from_logits=True, id="sequence"),
    Case("multi_hot", torch.tensor([[0, 2], [1, 1]]), 4),
    Case("multi_hot", torch.tensor([3, 1]), 5, id="1d"),
    Case("multi_hot", torch.tensor([[0, 2]]), 3, dtype="int32", id="int32"),
    Case("normalize", f32(3, 4)), Case("normalize", f32(3, 4), axis=0, order=1, id="l1"),
    Case("batch_normalization", f32(4, 3), f32(3), f32(3, low=0.5), axis=1,
         offset=f32(3), scale=f32(3)),
    Case("batch_normalization", f32(2, 3, 5), f32(3), f32(3, low=0.5), axis=1, id="plain"),
    Case("layer_normalization", f32(4, 6), id="plain"),
    Case("layer_normalization", f32(4, 6), gamma=f32(6), beta=f32(6), epsilon=1e-3),
    Case("layer_normalization", f32(2, 3, 4), axis=(1, 2), id="axes"),
    Case("rms_normalization", f32(4, 6)), Case("rms_normalization", f32(4, 6), scale=f32(6),
                                               epsilon=1e-5, id="scale"),
    Case("psnr", f32(2, 4, 4, 3, low=0, high=1), f32(2, 4, 4, 3, low=0, high=1), 1.0),
]

CONV_CASES = [
    Case("max_pool", f32(2, 6, 3), 2), Case("max_pool", f32(2, 5, 7, 3), (2, 3), strides=2,
                                            padding="same", id="same"),
    Case("max_pool", f32(1, 3, 5, 5), 3, strides=1, padding="same",
         data_format="channels_first", id="cf"),
    Case("max_pool", f32(1, 4, 4, 4, 2), 2, id="3d"),
    Case("average_pool", f32(2, 6, 3), 3, strides=2),
    Case("average_pool", f32(1, 6, 6, 2), 3, strides=1, padding="same", id="same-even"),
    # with uneven "same" padding Keras's torch average_pool is not the mean of the window's
    # real values (TensorFlow's and Keras's definition); numpy is the reference there
    Case("average_pool", f32(2, 5, 7, 3), (2, 3), strides=2, padding="same", id="same",
         numpy=lambda x, size, strides, padding: average_pool_numpy(x, size, strides)),
    Case("average_pool", f32(1, 3, 5, 5), 2, data_format="channels_first", id="cf"),
    Case("conv", f32(2, 8, 3), f32(3, 3, 4)),
    Case("conv", f32(2, 7, 6, 3), f32(3, 2, 3, 5), strides=2, padding="same", id="same"),
    Case("conv", f32(1, 9, 9, 2), f32(3, 3, 2, 4), dilation_rate=2, padding="same",
         id="dilated"),
    Case("conv", f32(1, 4, 6, 6), f32(3, 3, 2, 6), data_format="channels_first",
         id="cf-grouped"),
    Case("conv", f32(1, 5, 5, 5, 2), f32(2, 2, 2, 2, 3), id="3d"),
    Case("depthwise_conv", f32(2, 6, 6, 3), f32(3, 3, 3, 2)),
    Case("depthwise_conv", f32(2, 8, 3), f32(3, 3, 1), strides=2, padding="same", id="1d"),
    Case("separable_conv", f32(2, 6, 6, 3), f32(3, 3, 3, 2), f32(1, 1, 6, 4)),
    Case("separable_conv", f32(2, 7, 7, 3), f32(3, 3, 3, 1), f32(1, 1, 3, 5), strides=2,
         padding="same", id="same"),
    Case("dot_product_attention", f32(2, 5, 3, 4), f32(2, 6, 3, 4), f32(2, 6, 3, 4)),
    Case("dot_product_attention", f32(2, 5, 4, 4), f32(2, 5, 2, 4), f32(2, 5, 2, 4),
         is_causal=True, id="causal-gqa"),
    Case("dot_product_attention", f32(1, 3, 2, 4), f32(1, 4, 2, 4), f32(1, 4, 2, 4),
         mask=torch.tensor([[True, True, False, True]] * 3), scale=0.3, id="mask"),
    Case("dot_product_attention", f32(1, 3, 2, 4), f32(1, 4, 2, 4), f32(1, 4, 2, 4),
         bias=f32(1, 2, 3, 4), id="bias"),
]

ALL_CASES = (UNARY_CASES + BINARY_CASES + CREATION_CASES + SHAPE_CASES + REDUCTION_CASES
             + PRODUCT_CASES + NN_CASES + CONV_CASES)


def _numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _dtype_name(value) -> str:
    if isinstance(value, torch.Tensor):
        return str(value.dtype).replace("torch.", "")
    return np.asarray(value).dtype.name


def compare(expected, actual, case: Case, where: str = "") -> None:
    if isinstance(expected, (tuple, list)):
        assert type(actual) is type(expected) or isinstance(actual, (tuple, list)), where
        assert len(actual) == len(expected), where
        for i, (e, a) in enumerate(zip(expected, actual)):
            compare(e, a, case, f"{where}[{i}]")
        return
    assert isinstance(actual, torch.Tensor), f"{case}{where}: {type(actual)}"
    e, a = _numpy(expected), _numpy(actual)
    assert a.shape == e.shape, f"{case}{where}: shape {a.shape} != Keras {e.shape}"
    assert _dtype_name(actual) == _dtype_name(expected), (
        f"{case}{where}: dtype {_dtype_name(actual)} != Keras {_dtype_name(expected)}")
    np.testing.assert_allclose(a.astype(np.complex128) if a.dtype.kind == "c" else a,
                               e, rtol=case.rtol, atol=case.atol, equal_nan=True,
                               err_msg=f"{case}{where}")


def _keras_result(case: Case):
    if case.numpy is not None:
        args = [_numpy(a) if isinstance(a, torch.Tensor) else a for a in case.args]
        return torch.from_numpy(np.asarray(case.numpy(*args, **case.kwargs)))
    module, _, name = case.name.rpartition(".")
    return getattr(getattr(keras.ops, module) if module else keras.ops, name)(
        *case.args, **case.kwargs)


@pytest.mark.parametrize("case", ALL_CASES, ids=repr)
def test_matches_keras(case: Case) -> None:
    expected = _keras_result(case)
    name = case.name.rpartition(".")[2]
    actual = getattr(ops, name)(*case.args, **case.kwargs)
    if case.check == "eigh":
        # eigenvectors are defined up to sign: compare values and |vectors|
        compare(expected[0], actual[0], case)
        compare(expected[1].abs(), actual[1].abs(), case)
        return
    compare(expected, actual, case)


def test_control_flow_matches_keras() -> None:
    x = f32(4, 3)
    for library in (keras.ops, ops):
        assert float(library.cond(x.sum() > 100, lambda: x.sum(), lambda: -x.sum())) == float(
            -x.sum())
    assert ops.while_loop(lambda i, t: i < 5, lambda i, t: (i + 1, t * 2), (0, x))[1].sum() \
        == keras.ops.while_loop(lambda i, t: i < 5, lambda i, t: (i + 1, t * 2), (0, x))[1].sum()
    assert ops.while_loop(lambda i: i < 10, lambda i: i + 3, 0, maximum_iterations=2) == 6
    compare(keras.ops.fori_loop(1, 4, lambda i, v: v * i, x),
            ops.fori_loop(1, 4, lambda i, v: v * i, x), Case("fori_loop"))

    def step(carry, item):
        return carry + item, carry * item

    for reverse in (False, True):
        compare(keras.ops.scan(step, torch.zeros(3), x, reverse=reverse),
                ops.scan(step, torch.zeros(3), x, reverse=reverse), Case("scan"))
    compare(keras.ops.map(lambda row: row.sum(), x), ops.map(lambda row: row.sum(), x),
            Case("map"))
    compare(keras.ops.map(lambda d: d["a"] * 2, {"a": x}), ops.map(lambda d: d["a"] * 2,
                                                                  {"a": x}), Case("map-dict"))
    compare(keras.ops.vectorized_map(lambda row: row * row.sum(), x),
            ops.vectorized_map(lambda row: row * row.sum(), x), Case("vectorized_map"))
    for reverse, axis in ((False, 0), (True, 1)):
        compare(keras.ops.associative_scan(torch.add, x, reverse=reverse, axis=axis),
                ops.associative_scan(torch.add, x, reverse=reverse, axis=axis),
                Case("associative_scan"))
    pair = (x, f32(4, 3))
    compare(keras.ops.associative_scan(lambda a, b: (a[0] + b[0], a[1] * b[1]), pair),
            ops.associative_scan(lambda a, b: (a[0] + b[0], a[1] * b[1]), pair),
            Case("associative_scan-tuple"))


def test_every_added_op_is_exported_and_loadable_by_name() -> None:
    from lamina.functions.allowlist import OPS

    added = {case.name.rpartition(".")[2] for case in ALL_CASES}
    assert added <= set(ops.__all__)
    assert added - {"empty", "empty_like"} <= OPS
    assert not {"convert_to_numpy", "empty", "empty_like"} & OPS


SYMBOLIC = [
    (lambda x: ops.rsqrt(ops.abs(x) + 1.0), lambda x: keras.ops.rsqrt(keras.ops.abs(x) + 1.0)),
    (lambda x: ops.leaky_relu(x, negative_slope=0.1),
     lambda x: keras.ops.leaky_relu(x, negative_slope=0.1)),
    (lambda x: ops.swapaxes(ops.flip(x, axis=1), 1, 2),
     lambda x: keras.ops.swapaxes(keras.ops.flip(x, axis=1), 1, 2)),
    (lambda x: ops.logaddexp(x, ops.tril(x)), lambda x: keras.ops.logaddexp(x, keras.ops.tril(x))),
    (lambda x: ops.median(x, axis=-1), lambda x: keras.ops.median(x, axis=-1)),
    (lambda x: ops.layer_normalization(x, axis=-1),
     lambda x: keras.ops.layer_normalization(x, axis=-1)),
    (lambda x: ops.moments(x, axes=[1])[1], lambda x: keras.ops.moments(x, axes=[1])[1]),
    (lambda x: ops.max_pool(x, 2, strides=1, padding="same"),
     lambda x: keras.ops.max_pool(x, 2, strides=1, padding="same")),
    (lambda x: ops.take_along_axis(x, ops.argsort(x, axis=-1), axis=-1),
     lambda x: keras.ops.take_along_axis(x, keras.ops.argsort(x, axis=-1), axis=-1)),
]


@pytest.mark.parametrize("index", range(len(SYMBOLIC)))
def test_new_ops_on_symbolic_tensors_build_functional_models(index: int) -> None:
    build, reference = SYMBOLIC[index]
    inputs = lamina.Input(shape=(3, 4))
    model = lamina.Model(inputs, build(inputs))
    x = f32(2, 3, 4)
    compare(reference(x), model(x), Case(f"symbolic-{index}"))


def test_lambdas_calling_new_ops_save_and_load(tmp_path) -> None:
    inputs = lamina.Input(shape=(6,))
    h = layers.Dense(6)(inputs)
    h = layers.Lambda(lambda t: ops.rsqrt(ops.abs(t) + 1.0) * ops.hard_silu(t),
                      name="rsqrt_silu")(h)
    h = layers.Lambda(lambda t: ops.cumsum(ops.sort(t), axis=1) + ops.amax(t, axis=1,
                                                                           keepdims=True),
                      name="ordered")(h)
    h = layers.Lambda(lambda t: ops.normalize(ops.log1p(ops.relu6(t))), name="norm")(h)
    out = ops.logaddexp(h, ops.flip(h, axis=1))          # ops on symbolic tensors: OpCall
    model = lamina.Model(inputs, out)
    x = f32(4, 6)
    path = tmp_path / "new_ops.lamina"
    model.save(path)
    loaded = lamina.load_model(path)
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
