"""What a function loaded from a file may use: plain data, importable without torch.

The validator (``safe.py``) checks a saved function's source against these sets before
anything is compiled; the compiler (``compiler.py``) then builds the function's namespace
from the same sets, so a name that is not listed here is neither accepted nor reachable.
"""

from __future__ import annotations

#: Module references a function may capture, by the name they are saved under.
MODULES: frozenset[str] = frozenset({
    "lamina.ops", "lamina.backend", "torch", "torch.nn.functional", "math",
})

#: lamina ops callable from a loaded function (no ops that change global state, leave the
#: tensor world or read uninitialised memory: not set_epsilon, convert_to_numpy, empty; nor
#: the control-flow ops, whose loops and callables escape the validator's bounds).
OPS: frozenset[str] = frozenset({
    "abs", "absolute", "add", "all", "allclose", "amax", "amin", "angle", "any", "append",
    "arange", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh",
    "argmax", "argmin", "argpartition", "argsort", "array", "array_split", "average",
    "average_pool", "batch_dot", "batch_flatten", "batch_normalization", "binary_crossentropy",
    "bincount", "bitwise_and", "bitwise_invert", "bitwise_left_shift", "bitwise_not",
    "bitwise_or", "bitwise_right_shift", "bitwise_xor", "broadcast_to", "cast",
    "categorical_crossentropy", "cbrt", "cdist", "ceil", "celu", "cholesky",
    "cholesky_inverse", "clip", "concatenate", "conj", "conjugate", "conv",
    "convert_to_tensor", "copy", "corrcoef", "correlate", "cos", "cosh", "count_nonzero",
    "cross", "cumprod", "cumsum", "deg2rad", "depth_to_space", "depthwise_conv", "det", "diag",
    "diagflat", "diagonal", "diff", "digitize", "divide", "divide_no_nan", "dot",
    "dot_product_attention", "dsplit", "dstack", "dtype", "eig", "eigh", "einsum", "elu",
    "epsilon", "equal", "erf", "erfc", "erfinv", "exp", "exp2", "expand_dims", "expm1", "eye",
    "fabs", "flatten", "flip", "fliplr", "flipud", "floatx", "floor", "floor_divide", "fmax",
    "fmin", "fmod", "full", "full_like", "gather", "gcd", "gelu", "geomspace", "get_item",
    "getitem", "glu", "greater", "greater_equal", "hard_shrink", "hard_sigmoid", "hard_silu",
    "hard_swish", "hard_tanh", "heaviside", "histogram", "hsplit", "hstack", "hypot", "i0",
    "identity", "imag", "in_test_phase", "in_top_k", "in_train_phase", "inner", "int_shape",
    "inv", "is_tensor", "isclose", "isfinite", "isin", "isinf", "isnan", "isneginf",
    "isposinf", "isreal", "kron", "l2_normalize", "layer_normalization", "lcm", "ldexp",
    "leaky_relu", "learning_phase", "left_shift", "less", "less_equal", "linspace", "log",
    "log10", "log1p", "log2", "log_sigmoid", "log_softmax", "logaddexp", "logaddexp2",
    "logdet", "logical_and", "logical_not", "logical_or", "logical_xor", "logspace",
    "logsumexp", "lstsq", "lu_factor", "matmul", "matrix_rank", "max", "max_pool", "maximum",
    "mean", "median", "meshgrid", "min", "minimum", "mod", "moments", "moveaxis", "multi_hot",
    "multiply", "nan_to_num", "nanargmax", "nanargmin", "nancumprod", "nancumsum", "nanmax",
    "nanmean", "nanmedian", "nanmin", "nanpercentile", "nanprod", "nanquantile", "nanstd",
    "nansum", "nanvar", "ndim", "negative", "nextafter", "nonzero", "norm", "normalize",
    "not_equal", "one_hot", "ones", "ones_like", "outer", "pad", "percentile",
    "permute_dimensions", "pinv", "pow", "power", "prod", "psnr", "ptp", "qr", "quantile",
    "rad2deg", "random_normal", "random_uniform", "ravel", "real", "reciprocal", "relu",
    "relu6", "repeat", "repeat_elements", "reshape", "right_shift", "rms_normalization",
    "roll", "rot90", "round", "rsqrt", "saturate_cast", "scatter", "scatter_update",
    "searchsorted", "segment_max", "segment_min", "segment_prod", "segment_sum", "select",
    "selu", "separable_conv", "shape", "sigmoid", "sign", "signbit", "silu", "sin", "sinc",
    "sinh", "size", "slice", "slice_update", "slogdet", "soft_shrink", "softmax", "softplus",
    "softsign", "solve", "solve_triangular", "sort", "space_to_depth",
    "sparse_categorical_crossentropy", "sparse_plus", "sparse_sigmoid", "sparsemax", "split",
    "sqrt", "square", "squareplus", "squeeze", "stack", "std", "stop_gradient", "subtract",
    "sum", "svd", "swapaxes", "swish", "switch", "take", "take_along_axis", "tan", "tanh",
    "tanh_shrink", "tensordot", "threshold", "tile", "top_k", "trace", "transpose",
    "trapezoid", "tri", "tril", "triu", "true_divide", "trunc", "unique", "unravel_index",
    "unstack", "vander", "var", "vdot", "vsplit", "vstack", "where", "zeros", "zeros_like",
    # Fourier transforms (the windows, which make tensors from a length alone, are not)
    "fft", "fft2", "ifft2", "irfft", "istft", "polar", "rfft", "stft", "view_as_complex",
    "view_as_real", "adaptive_average_pool", "adaptive_max_pool", "fold", "unfold",
})

#: keras.ops.image ops a loaded op node may call, by their stored names ("image.<name>").
#: Op nodes only: a function's source cannot reach them (they are not in OPS).
IMAGE_OPS: frozenset[str] = frozenset({
    "image.resize", "image.extract_patches", "image.extract_patches_3d", "image.pad_images",
    "image.crop_images", "image.rgb_to_grayscale", "image.rgb_to_hsv", "image.hsv_to_rgb",
    "image.map_coordinates", "image.affine_transform", "image.gaussian_blur", "image.sobel_edges",
})

_TENSOR_MATH = {
    "abs", "acos", "asin", "atan", "atan2", "ceil", "clamp", "clip", "cos", "cosh", "exp",
    "expm1", "floor", "log", "log10", "log1p", "log2", "neg", "pow", "reciprocal", "round",
    "rsqrt", "sigmoid", "sign", "sin", "sinh", "sqrt", "square", "tan", "tanh", "trunc", "erf",
    "relu", "maximum", "minimum", "where", "lerp", "hypot", "fmod", "remainder",
    "add", "sub", "mul", "div", "true_divide", "floor_divide", "matmul", "mm", "bmm",
    "logical_and", "logical_or", "logical_not", "logical_xor", "eq", "ne", "lt", "le", "gt",
    "ge", "isnan", "isinf", "isfinite", "nan_to_num", "softmax", "log_softmax",
}
_TENSOR_REDUCE = {
    "sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "std", "var",
    "norm", "logsumexp", "cumsum", "cumprod", "all", "any", "median", "sort", "argsort",
    "topk", "count_nonzero",
}
_TENSOR_SHAPE = {
    "reshape", "view", "flatten", "unflatten", "squeeze", "unsqueeze", "transpose", "permute",
    "expand", "expand_as", "repeat", "repeat_interleave", "flip", "roll", "chunk", "split",
    "unbind", "narrow", "select", "gather", "index_select", "masked_fill", "tril", "triu",
    "diagonal", "contiguous", "clone", "detach", "size", "dim", "numel", "type_as", "to",
    "float", "double", "half", "bfloat16", "int", "long", "bool", "movedim", "t",
}

#: Tensor attributes and methods (none that write in place, leave the tensor world, or
#: reach storage: no ``numpy``, ``tofile``, ``data``, ``storage``, ``backward``...).
TENSOR_ATTRIBUTES: frozenset[str] = frozenset(
    _TENSOR_MATH | _TENSOR_REDUCE | _TENSOR_SHAPE
    | {"shape", "ndim", "dtype", "T", "mT", "device", "is_floating_point"}
)

#: ``torch.<name>``: functions and dtypes.
TORCH: frozenset[str] = frozenset(
    (_TENSOR_MATH | _TENSOR_REDUCE | _TENSOR_SHAPE)
    - {"contiguous", "size", "dim", "type_as", "to", "float", "double", "half", "bfloat16",
       "int", "long", "bool", "clone", "detach"}
    | {
        "cat", "concat", "stack", "hstack", "vstack", "einsum", "tensordot", "zeros",
        "ones", "zeros_like", "ones_like", "full", "full_like", "arange", "linspace", "eye",
        "tensor", "as_tensor", "broadcast_to", "cdist", "outer", "cross", "clamp_min",
        "clamp_max", "square", "relu", "tanh", "float32", "float64",
        "float16", "bfloat16", "int32", "int64", "bool", "int8", "uint8", "pi",
    }
)

#: ``torch.nn.functional.<name>`` (``F.``).
FUNCTIONAL: frozenset[str] = frozenset({
    "relu", "relu6", "elu", "selu", "gelu", "silu", "mish", "leaky_relu", "softplus",
    "softsign", "sigmoid", "tanh", "hardtanh", "hardsigmoid", "hardswish", "logsigmoid",
    "softmax", "log_softmax", "normalize", "linear", "pad", "one_hot", "cosine_similarity",
    "layer_norm", "dropout", "avg_pool1d", "avg_pool2d", "max_pool1d", "max_pool2d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "conv1d", "conv2d", "interpolate",
    "embedding", "glu",
})

#: ``math.<name>``.
MATH: frozenset[str] = frozenset({
    "sqrt", "exp", "log", "log2", "log10", "pi", "e", "inf", "tau", "cos", "sin", "tan",
    "tanh", "floor", "ceil", "isfinite", "isnan", "prod", "fabs",
})

#: Attribute names allowed on each captured module, by saved module name.
MODULE_ATTRIBUTES: dict[str, frozenset[str]] = {
    "lamina.ops": OPS,
    "lamina.backend": OPS,
    "torch": TORCH,
    "torch.nn.functional": FUNCTIONAL,
    "math": MATH,
}

#: Builtins a loaded function may call (no getattr, eval, open, type, vars...).
BUILTINS: frozenset[str] = frozenset({
    "abs", "min", "max", "len", "range", "float", "int", "bool", "round", "sum", "tuple",
    "list", "dict", "zip", "enumerate", "reversed", "sorted", "all", "any",
})

#: Builtins that make or consume sequences: a loaded function may only call them by name,
#: where the run-time bounds apply (``bounds.py``), never pass them around.
ITERATING_BUILTINS: frozenset[str] = frozenset({
    "range", "list", "tuple", "dict", "sum", "sorted", "all", "any", "min", "max", "zip",
    "enumerate", "reversed",
})

#: Tensor methods whose names Python containers also have (``list.sort`` sorts in place,
#: ``set.add`` adds): on anything but a tensor they are refused at run time.
TENSOR_ONLY_METHODS: frozenset[str] = frozenset({"sort", "add", "split"})

#: Attributes allowed on captured layers (their weights).
LAYER_ATTRIBUTES: frozenset[str] = frozenset({
    "kernel", "bias", "embeddings", "gamma", "beta", "moving_mean", "moving_variance",
})

#: Most iterations a ``for`` over ``range(<constant>)`` may have.
MAX_RANGE = 10_000
#: Largest integer literal (and largest constant exponent) accepted.
MAX_INT = 2 ** 53
MAX_CONSTANT_EXPONENT = 64
#: Deepest AST nesting and longest source accepted.
MAX_DEPTH = 60
#: Largest bound of a source's nesting (``safe._nesting_bound``) that is handed to the parser.
MAX_PARSE_DEPTH = 200
MAX_SOURCE_CHARS = 20_000
