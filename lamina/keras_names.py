"""Keras's public names, and the ``AttributeError`` for a name lamina does not have.

``KERAS_NAMES`` holds the public names of Keras 3.15.1's namespaces (``dir(keras.<ns>)``),
as data. ``lamina.layers.RandomFlip`` (a Keras name lamina lacks) says that Keras has it
and lamina does not, and what to use instead where there is something; a typo
(``lamina.layers.Dens``) gets the closest names lamina has. This module imports nothing of
lamina, so every namespace can use it.

Example:
    >>> import lamina
    >>> try:
    ...     lamina.optimizers.Lamb
    ... except AttributeError as error:
    ...     print(str(error).split(" is not")[0])
    lamina.optimizers has no attribute 'Lamb': Keras's keras.optimizers.Lamb
"""

from __future__ import annotations

import difflib
from typing import Any

KERAS_NAMES: dict[str, frozenset[str]] = {
    "": frozenset({
        "DTypePolicy", "FloatDTypePolicy", "Function", "Initializer", "Input", "InputSpec",
        "KerasTensor", "Layer", "Loss", "Metric", "Model", "Operation", "Optimizer",
        "Quantizer", "Regularizer", "RematScope", "Sequential", "StatelessScope",
        "SymbolicScope", "Variable", "activations", "applications", "backend", "callbacks",
        "config", "constraints", "datasets", "device", "distillation", "distribution",
        "dtype_policies", "export", "initializers", "layers", "legacy", "losses", "metrics",
        "mixed_precision", "models", "name_scope", "ops", "optimizers", "preprocessing",
        "quantizers", "random", "regularizers", "remat", "saving", "src", "tree", "utils",
        "version", "visualization", "wrappers",
    }),
    "layers": frozenset({
        "Activation", "ActivityRegularization", "AdaptiveAveragePooling1D",
        "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D", "AdaptiveMaxPooling1D",
        "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D", "Add", "AdditiveAttention",
        "AlphaDropout", "Attention", "AugMix", "AutoContrast", "Average",
        "AveragePooling1D", "AveragePooling2D", "AveragePooling3D", "AvgPool1D",
        "AvgPool2D", "AvgPool3D", "BatchNormalization", "Bidirectional", "CategoryEncoding",
        "CenterCrop", "Concatenate", "ContrastLimitedAdaptiveHistogramEqualization",
        "Conv1D", "Conv1DTranspose", "Conv2D", "Conv2DTranspose", "Conv3D",
        "Conv3DTranspose", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "Convolution1D",
        "Convolution1DTranspose", "Convolution2D", "Convolution2DTranspose",
        "Convolution3D", "Convolution3DTranspose", "Cropping1D", "Cropping2D", "Cropping3D",
        "CutMix", "Dense", "DepthwiseConv1D", "DepthwiseConv2D", "Discretization", "Dot",
        "Dropout", "ELU", "EinsumDense", "Embedding", "Equalization", "Flatten",
        "FlaxLayer", "GRU", "GRUCell", "GaussianDropout", "GaussianNoise",
        "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
        "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D", "GlobalMaxPool1D",
        "GlobalMaxPool2D", "GlobalMaxPool3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
        "GlobalMaxPooling3D", "GroupNormalization", "GroupQueryAttention", "HashedCrossing",
        "Hashing", "Identity", "Input", "InputLayer", "InputSpec", "IntegerLookup",
        "JaxLayer", "LSTM", "LSTMCell", "Lambda", "Layer", "LayerNormalization",
        "LeakyReLU", "Masking", "MaxNumBoundingBoxes", "MaxPool1D", "MaxPool2D",
        "MaxPool3D", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "Maximum",
        "MelSpectrogram", "Minimum", "MixUp", "MultiHeadAttention", "Multiply",
        "Normalization", "PReLU", "Permute", "Pipeline", "RMSNormalization", "RNN",
        "RandAugment", "RandomBrightness", "RandomColorDegeneration", "RandomColorJitter",
        "RandomContrast", "RandomCrop", "RandomElasticTransform", "RandomErasing",
        "RandomFlip", "RandomGaussianBlur", "RandomGrayscale", "RandomHue", "RandomInvert",
        "RandomPerspective", "RandomPosterization", "RandomRotation", "RandomSaturation",
        "RandomSharpness", "RandomShear", "RandomTranslation", "RandomZoom", "ReLU",
        "RepeatVector", "Rescaling", "Reshape", "Resizing", "ReversibleEmbedding",
        "STFTSpectrogram", "SeparableConv1D", "SeparableConv2D", "SeparableConvolution1D",
        "SeparableConvolution2D", "SimpleRNN", "SimpleRNNCell", "Softmax", "Solarization",
        "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "SpectralNormalization",
        "StackedRNNCells", "StringLookup", "Subtract", "TFSMLayer", "TextVectorization",
        "TimeDistributed", "TorchModuleWrapper", "UnitNormalization", "UpSampling1D",
        "UpSampling2D", "UpSampling3D", "Wrapper", "ZeroPadding1D", "ZeroPadding2D",
        "ZeroPadding3D", "add", "average", "concatenate", "deserialize", "dot", "maximum",
        "minimum", "multiply", "serialize", "subtract",
    }),
    "models": frozenset({
        "Model", "Sequential", "clone_model", "load_model", "model_from_json", "save_model",
    }),
    "ops": frozenset({
        "abs", "absolute", "adaptive_average_pool", "adaptive_max_pool", "add", "all",
        "allclose", "amax", "amin", "angle", "any", "append", "arange", "arccos", "arccosh",
        "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "argmax", "argmin",
        "argpartition", "argsort", "array", "array_split", "associative_scan", "average",
        "average_pool", "bartlett", "batch_normalization", "binary_crossentropy",
        "bincount", "bitwise_and", "bitwise_invert", "bitwise_left_shift", "bitwise_not",
        "bitwise_or", "bitwise_right_shift", "bitwise_xor", "blackman", "broadcast_to",
        "cast", "categorical_crossentropy", "cbrt", "cdist", "ceil", "celu", "cholesky",
        "cholesky_inverse", "clip", "concatenate", "cond", "conj", "conjugate", "conv",
        "conv_transpose", "convert_to_numpy", "convert_to_tensor", "copy", "corrcoef",
        "correlate", "cos", "cosh", "count_nonzero", "cross", "ctc_decode", "ctc_loss",
        "cumprod", "cumsum", "custom_gradient", "deg2rad", "depth_to_space",
        "depthwise_conv", "det", "diag", "diagflat", "diagonal", "diff", "digitize",
        "divide", "divide_no_nan", "dot", "dot_product_attention", "dsplit", "dstack",
        "dtype", "eig", "eigh", "einsum", "elu", "empty", "empty_like", "equal", "erf",
        "erfc", "erfinv", "exp", "exp2", "expand_dims", "expm1", "extract_sequences", "eye",
        "fabs", "fft", "fft2", "flip", "fliplr", "flipud", "floor", "floor_divide", "fmax",
        "fmin", "fmod", "fold", "fori_loop", "full", "full_like", "gcd", "gelu",
        "geomspace", "get_item", "glu", "greater", "greater_equal", "hamming", "hanning",
        "hard_shrink", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "heaviside",
        "histogram", "hsplit", "hstack", "hypot", "i0", "identity", "ifft2", "imag",
        "image", "in_top_k", "inner", "inv", "irfft", "is_tensor", "isclose", "isfinite",
        "isin", "isinf", "isnan", "isneginf", "isposinf", "isreal", "istft", "jvp",
        "kaiser", "kron", "layer_normalization", "lcm", "ldexp", "leaky_relu", "left_shift",
        "less", "less_equal", "linalg", "linspace", "log", "log10", "log1p", "log2",
        "log_sigmoid", "log_softmax", "logaddexp", "logaddexp2", "logdet", "logical_and",
        "logical_not", "logical_or", "logical_xor", "logspace", "logsumexp", "lstsq",
        "lu_factor", "map", "matmul", "matrix_rank", "max", "max_pool", "maximum", "mean",
        "median", "meshgrid", "min", "minimum", "mod", "moments", "moveaxis", "multi_hot",
        "multiply", "nan_to_num", "nanargmax", "nanargmin", "nancumprod", "nancumsum",
        "nanmax", "nanmean", "nanmedian", "nanmin", "nanpercentile", "nanprod",
        "nanquantile", "nanstd", "nansum", "nanvar", "ndim", "negative", "nextafter", "nn",
        "nonzero", "norm", "normalize", "not_equal", "numpy", "one_hot", "ones",
        "ones_like", "outer", "pad", "percentile", "pinv", "polar", "power", "prod", "psnr",
        "ptp", "qr", "quantile", "rad2deg", "ravel", "real", "rearrange", "reciprocal",
        "relu", "relu6", "repeat", "reshape", "rfft", "right_shift", "rms_normalization",
        "roll", "rot90", "round", "rsqrt", "saturate_cast", "scan", "scatter",
        "scatter_update", "searchsorted", "segment_max", "segment_min", "segment_prod",
        "segment_sum", "select", "selu", "separable_conv", "shape", "sigmoid", "sign",
        "signbit", "silu", "sin", "sinc", "sinh", "size", "slice", "slice_update",
        "slogdet", "soft_shrink", "softmax", "softplus", "softsign", "solve",
        "solve_triangular", "sort", "space_to_depth", "sparse_categorical_crossentropy",
        "sparse_plus", "sparse_sigmoid", "sparsemax", "split", "sqrt", "square",
        "squareplus", "squeeze", "stack", "std", "stft", "stop_gradient", "subtract", "sum",
        "svd", "swapaxes", "swish", "switch", "take", "take_along_axis", "tan", "tanh",
        "tanh_shrink", "tensordot", "threshold", "tile", "top_k", "trace", "transpose",
        "trapezoid", "tri", "tril", "triu", "true_divide", "trunc", "unfold", "unique",
        "unravel_index", "unstack", "vander", "var", "vdot", "vectorize", "vectorized_map",
        "view", "view_as_complex", "view_as_real", "vsplit", "vstack", "where",
        "while_loop", "zeros", "zeros_like",
    }),
    "ops.image": frozenset({
        "affine_transform", "crop_images", "elastic_transform", "extract_patches",
        "extract_patches_3d", "gaussian_blur", "hsv_to_rgb", "map_coordinates",
        "pad_images", "perspective_transform", "resize", "rgb_to_grayscale", "rgb_to_hsv",
        "scale_and_translate", "sobel_edges", "ssim",
    }),
    "activations": frozenset({
        "celu", "deserialize", "elu", "exponential", "gelu", "get", "glu", "hard_shrink",
        "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "leaky_relu", "linear",
        "log_sigmoid", "log_softmax", "mish", "relu", "relu6", "selu", "serialize",
        "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign", "sparse_plus",
        "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh", "tanh_shrink",
        "threshold",
    }),
    "initializers": frozenset({
        "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
        "IdentityInitializer", "Initializer", "LecunNormal", "LecunUniform", "Ones",
        "Orthogonal", "OrthogonalInitializer", "RandomNormal", "RandomUniform", "STFT",
        "STFTInitializer", "TruncatedNormal", "VarianceScaling", "Zeros", "constant",
        "deserialize", "get", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform",
        "identity", "lecun_normal", "lecun_uniform", "ones", "orthogonal", "random_normal",
        "random_uniform", "serialize", "stft", "truncated_normal", "variance_scaling",
        "zeros",
    }),
    "regularizers": frozenset({
        "L1", "L1L2", "L2", "OrthogonalRegularizer", "Regularizer", "deserialize", "get",
        "l1", "l1_l2", "l2", "orthogonal_regularizer", "serialize",
    }),
    "constraints": frozenset({
        "Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "deserialize", "get",
        "max_norm", "min_max_norm", "non_neg", "serialize", "unit_norm",
    }),
    "losses": frozenset({
        "BinaryCrossentropy", "BinaryFocalCrossentropy", "CTC", "CategoricalCrossentropy",
        "CategoricalFocalCrossentropy", "CategoricalGeneralizedCrossEntropy",
        "CategoricalHinge", "Circle", "CosineSimilarity", "Dice", "Hinge", "Huber",
        "KLDivergence", "LogCosh", "Loss", "MeanAbsoluteError",
        "MeanAbsolutePercentageError", "MeanSquaredError", "MeanSquaredLogarithmicError",
        "Poisson", "SparseCategoricalCrossentropy", "SquaredHinge", "Tversky",
        "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
        "categorical_focal_crossentropy", "categorical_generalized_cross_entropy",
        "categorical_hinge", "circle", "cosine_similarity", "ctc", "deserialize", "dice",
        "get", "hinge", "huber", "kl_divergence", "log_cosh", "mean_absolute_error",
        "mean_absolute_percentage_error", "mean_squared_error",
        "mean_squared_logarithmic_error", "poisson", "serialize",
        "sparse_categorical_crossentropy", "squared_hinge", "tversky",
    }),
    "metrics": frozenset({
        "AUC", "Accuracy", "BinaryAccuracy", "BinaryCrossentropy", "BinaryIoU",
        "CategoricalAccuracy", "CategoricalCrossentropy", "CategoricalHinge",
        "ConcordanceCorrelation", "CosineSimilarity", "F1Score", "FBetaScore",
        "FalseNegatives", "FalsePositives", "Hinge", "IoU", "KLDivergence", "LogCoshError",
        "Mean", "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanIoU",
        "MeanMetricWrapper", "MeanSquaredError", "MeanSquaredLogarithmicError", "Metric",
        "OneHotIoU", "OneHotMeanIoU", "PearsonCorrelation", "Poisson", "Precision",
        "PrecisionAtRecall", "R2Score", "Recall", "RecallAtPrecision",
        "RootMeanSquaredError", "SensitivityAtSpecificity", "SparseCategoricalAccuracy",
        "SparseCategoricalCrossentropy", "SparseTopKCategoricalAccuracy",
        "SpecificityAtSensitivity", "SquaredHinge", "Sum", "TopKCategoricalAccuracy",
        "TrueNegatives", "TruePositives", "binary_accuracy", "binary_crossentropy",
        "binary_focal_crossentropy", "categorical_accuracy", "categorical_crossentropy",
        "categorical_focal_crossentropy", "categorical_hinge", "concordance_correlation",
        "deserialize", "get", "hinge", "huber", "kl_divergence", "log_cosh",
        "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_error",
        "mean_squared_logarithmic_error", "pearson_correlation", "poisson", "serialize",
        "sparse_categorical_accuracy", "sparse_categorical_crossentropy",
        "sparse_top_k_categorical_accuracy", "squared_hinge", "top_k_categorical_accuracy",
    }),
    "optimizers": frozenset({
        "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "Ftrl", "Lamb",
        "Lion", "LossScaleOptimizer", "MultiOptimizer", "Muon", "Nadam", "Optimizer",
        "OptimizerMap", "RMSprop", "SGD", "ScheduleFreeAdamW", "deserialize", "get",
        "legacy", "schedules", "serialize",
    }),
    "optimizers.schedules": frozenset({
        "CosineDecay", "CosineDecayRestarts", "ExponentialDecay", "InverseTimeDecay",
        "LearningRateSchedule", "PiecewiseConstantDecay", "PolynomialDecay", "deserialize",
        "serialize",
    }),
    "callbacks": frozenset({
        "BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping",
        "History", "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint",
        "OrbaxCheckpoint", "ProgbarLogger", "ReduceLROnPlateau", "RemoteMonitor",
        "SwapEMAWeights", "TensorBoard", "TerminateOnNaN",
    }),
    "utils": frozenset({
        "Config", "CustomObjectScope", "FeatureSpace", "Progbar", "PyDataset", "Sequence",
        "array_to_img", "audio_dataset_from_directory", "bounding_boxes", "clear_session",
        "custom_object_scope", "deserialize_keras_object", "disable_interactive_logging",
        "enable_interactive_logging", "get_custom_objects", "get_file",
        "get_registered_name", "get_registered_object", "get_source_inputs",
        "image_dataset_from_directory", "img_to_array", "is_interactive_logging_enabled",
        "is_keras_tensor", "legacy", "load_img", "model_to_dot", "normalize",
        "pack_x_y_sample_weight", "pad_sequences", "plot_model",
        "register_keras_serializable", "save_img", "serialize_keras_object",
        "set_random_seed", "split_dataset", "standardize_dtype",
        "text_dataset_from_directory", "timeseries_dataset_from_array", "to_categorical",
        "unpack_x_y_sample_weight",
    }),
    "random": frozenset({
        "SeedGenerator", "beta", "binomial", "categorical", "dropout", "gamma", "normal",
        "randint", "shuffle", "truncated_normal", "uniform",
    }),
    "saving": frozenset({
        "CustomObjectScope", "KerasFileEditor", "custom_object_scope",
        "deserialize_keras_object", "get_custom_objects", "get_registered_name",
        "get_registered_object", "load_model", "load_weights",
        "register_keras_serializable", "save_model", "save_weights",
        "serialize_keras_object",
    }),
    "config": frozenset({
        "backend", "disable_flash_attention", "disable_interactive_logging",
        "disable_traceback_filtering", "dtype_policy", "enable_flash_attention",
        "enable_interactive_logging", "enable_traceback_filtering",
        "enable_unsafe_deserialization", "epsilon", "floatx", "image_data_format",
        "is_flash_attention_enabled", "is_interactive_logging_enabled", "is_nnx_enabled",
        "is_traceback_filtering_enabled", "max_epochs", "max_steps_per_epoch",
        "set_backend", "set_dtype_policy", "set_epsilon", "set_floatx",
        "set_image_data_format", "set_max_epochs", "set_max_steps_per_epoch",
    }),
    "mixed_precision": frozenset({
        "DTypePolicy", "LossScaleOptimizer", "Policy", "dtype_policy", "global_policy",
        "set_dtype_policy", "set_global_policy",
    }),
    "backend": frozenset({
        "backend", "clear_session", "epsilon", "floatx", "get_uid", "image_data_format",
        "is_float_dtype", "is_int_dtype", "is_keras_tensor", "result_type", "set_epsilon",
        "set_floatx", "set_image_data_format", "standardize_dtype",
    }),
    "dtype_policies": frozenset({
        "AWQDTypePolicy", "DTypePolicy", "DTypePolicyMap", "FloatDTypePolicy",
        "GPTQDTypePolicy", "Int4DTypePolicy", "QuantizedDTypePolicy",
        "QuantizedFloat8DTypePolicy", "deserialize", "get", "serialize",
    }),
}

_PREPROCESSING = ("Keras's preprocessing layers are not in lamina yet: prepare the data "
                  "with numpy or torch before fit, or in a Lambda layer.")
_TORCH_OPTIMIZER = ("Pass a torch.optim optimizer built on model.parameters() to compile, "
                    "or write the update in a train_step.")

#: What to use instead, by ``namespace.name`` (or ``namespace.*`` for a whole namespace).
ALTERNATIVES: dict[str, str] = {
    "layers.JaxLayer": "JAX layers do not run on torch.",
    "layers.FlaxLayer": "Flax layers do not run on torch.",
    "layers.TFSMLayer": "TensorFlow SavedModels do not run on torch.",
    "layers.InputSpec": "lamina layers check their inputs' shapes at build time.",
    "optimizers.Ftrl": _TORCH_OPTIMIZER,
    "optimizers.Lamb": _TORCH_OPTIMIZER, "optimizers.Adafactor": _TORCH_OPTIMIZER,
    "optimizers.Muon": _TORCH_OPTIMIZER, "optimizers.ScheduleFreeAdamW": _TORCH_OPTIMIZER,
    "optimizers.LossScaleOptimizer": "mixed_bfloat16 needs no loss scaling; for float16, "
                                     "use torch.amp.GradScaler in a train_step.",
    "mixed_precision.LossScaleOptimizer": "mixed_bfloat16 needs no loss scaling; for "
                                          "float16, use torch.amp.GradScaler in a train_step.",
    "callbacks.BackupAndRestore": "Use ModelCheckpoint and fit(initial_epoch=...).",
    "callbacks.ProgbarLogger": "fit(verbose=1) prints the progress bar.",
    "utils.get_file": "lamina downloads nothing: fetch the file yourself.",
    "utils.image_dataset_from_directory": "Use torchvision.datasets.ImageFolder in a "
                                          "torch DataLoader: fit takes DataLoaders.",
    "utils.text_dataset_from_directory": "Read the files into a list of strings, or use a "
                                         "torch Dataset in a DataLoader.",
    "utils.timeseries_dataset_from_array": "Slice windows with numpy (or a torch Dataset "
                                           "in a DataLoader): fit takes both.",
    "utils.Progbar": "fit, evaluate and predict print their own progress bars.",
    "ops.fft": "Use torch.fft inside a Lambda or a layer.",
    "ops.rfft": "Use torch.fft inside a Lambda or a layer.",
    "ops.stft": "Use torch.stft inside a Lambda or a layer.",
    "*.applications": "Pretrained applications are not in lamina; torchvision.models "
                      "works inside a subclassed lamina.Model.",
    "*.datasets": "lamina downloads nothing: load data with numpy, scikit-learn or "
                  "torchvision.",
    "*.src": "keras.src is Keras's private code.",
}
for _name in ("RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation",
              "RandomContrast", "RandomBrightness", "RandomCrop", "Rescaling", "Resizing",
              "CenterCrop", "Normalization", "TextVectorization", "StringLookup",
              "IntegerLookup", "Hashing", "CategoryEncoding", "Discretization"):
    ALTERNATIVES[f"layers.{_name}"] = _PREPROCESSING
del _name


def missing_name(namespace: str, name: str, present: Any) -> AttributeError:
    """The error for ``lamina.<namespace>.<name>``; ``present``: the names it has."""
    module = f"lamina.{namespace}" if namespace else "lamina"
    if name.startswith("__"):
        return AttributeError(f"module {module!r} has no attribute {name!r}")
    keras_module = f"keras.{namespace}" if namespace else "keras"
    if name in KERAS_NAMES.get(namespace, ()):
        hint = ALTERNATIVES.get(f"{namespace}.{name}") or ALTERNATIVES.get(f"*.{name}") or (
            "See docs/keras.md for what lamina has of each Keras namespace.")
        return AttributeError(f"{module} has no attribute {name!r}: Keras's "
                              f"{keras_module}.{name} is not in lamina. {hint}")
    close = difflib.get_close_matches(name, [n for n in present if not n.startswith("_")],
                                      n=3)
    suggestion = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return AttributeError(f"module {module!r} has no attribute {name!r}, and Keras's "
                          f"{keras_module} has none of that name either.{suggestion}")
