"""The oracle's tables: for each layer, the configurations compared with Keras 3, and the
invalid constructor arguments with the exception Keras raises.

A :class:`Case` is a layer name (the same in ``keras.layers`` and ``lamina.layers``), the
constructor arguments (the same for both), the inputs (``In``: shape, dtype, values, an
optional mask) and the call arguments. ``Sub(name, kwargs)`` stands for a layer argument
(``Bidirectional(LSTM(...))``), built in each library. The first case of a layer is its
defaults; every case has an id unique for its layer.

Nothing here imports Keras: the tables are plain data, collected without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Layers of lamina.layers.__all__ whose behaviour is covered by other tests, not the oracle.
# (serialize/deserialize are Keras's config functions, compared by the config checks;
# TorchModuleWrapper wraps a torch module, compared in tests/test_torch_module_wrapper.py;
# the preprocessing layers, which the oracle leaves out on Keras's side too, are compared
# with Keras in tests/test_preprocessing_*.py; Hashing, which Keras runs only with
# TensorFlow, against TensorFlow's own outputs in tests/test_preprocessing_hashing.py.)
NOT_COMPARED = ("Layer", "Input", "InputLayer", "Lambda", "serialize", "deserialize",
                "TorchModuleWrapper", "Rescaling", "Normalization", "Resizing", "CenterCrop",
                "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation",
                "RandomContrast", "RandomBrightness", "RandomCrop", "CategoryEncoding",
                "Discretization", "IntegerLookup", "StringLookup", "TextVectorization",
                "Hashing")
# Checks that do not apply to a layer, with the reason (see oracle_harness.CHECKS).
NOT_APPLICABLE: dict[str, dict[str, str]] = {
    cell: {"output_shape": "Keras's RNN cells have no compute_output_shape"}
    for cell in ("SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells")}


@dataclass(frozen=True)
class In:
    """One input tensor: ``shape`` (batch first, concrete), ``dtype``, how values are drawn
    (``kind``: ``"normal"``, ``"int"`` in ``[low, high)``, ``"zero_steps"``: normal values
    with whole time steps set to ``fill``), and an optional ``mask`` pattern over the first
    two axes (``"right"``: right-padded, ``"left"``: left-padded, ``"holes"``: gaps inside,
    ``"empty"``: holes plus one sample masked entirely)."""

    shape: tuple[int, ...]
    dtype: str = "float32"
    kind: str = "normal"
    mask: str | None = None
    low: int = 0
    high: int = 10
    fill: float = 0.0


@dataclass(frozen=True)
class Sub:
    """A layer passed as an argument (a wrapper's inner layer), built in each library."""

    layer: str
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """One configuration of one layer, compared with Keras.

    ``as_list``: the inputs go in as one list (merging layers); otherwise positionally.
    ``call``: plain call arguments (``training=True``, ``return_attention_scores=True``).
    ``tensor_call``: call arguments that are tensors (``initial_state``: a tuple of ``In``).
    """

    layer: str
    id: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    inputs: tuple[In, ...] = (In((2, 4)),)
    as_list: bool = False
    call: dict[str, Any] = field(default_factory=dict)
    tensor_call: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.layer}[{self.id}]"


@dataclass(frozen=True)
class Invalid:
    """Constructor arguments Keras refuses, and the built-in exception class it raises."""

    layer: str
    id: str
    kwargs: dict[str, Any]
    error: type[Exception]
    args: tuple[Any, ...] = ()


CASES: dict[str, list[Case]] = {}
INVALID: dict[str, list[Invalid]] = {}


def cases(layer: str, *entries: tuple[str, dict[str, Any]] | Case, **common: Any) -> None:
    """Register configurations of ``layer``: ``(id, kwargs)`` pairs (inputs and call
    arguments from ``common``, a dict entry ``"_"`` in kwargs overriding them) or Cases."""
    found = CASES.setdefault(layer, [])
    for entry in entries:
        if isinstance(entry, Case):
            found.append(entry)
            continue
        case_id, kwargs = entry
        kwargs = dict(kwargs)
        extra = {**common, **kwargs.pop("_", {})}
        found.append(Case(layer, case_id, kwargs, **extra))


def invalid(layer: str, *entries: tuple[str, dict[str, Any], type[Exception]]) -> None:
    """Register invalid constructor arguments of ``layer``: ``(id, kwargs, error)``; none
    when Keras refuses no constructor argument of that layer that the table knows of."""
    INVALID.setdefault(layer, []).extend(Invalid(layer, i, k, e) for i, k, e in entries)


def over(inputs: Any = None, **call: Any) -> dict[str, Any]:
    """The ``"_"`` entry of a kwargs dict: other inputs and call arguments for one case."""
    extra: dict[str, Any] = {}
    if inputs is not None:
        extra["inputs"] = inputs if isinstance(inputs, tuple) else (inputs,)
    for key in ("as_list", "tensor_call"):
        if key in call:
            extra[key] = call.pop(key)
    if call:
        extra["call"] = call
    return extra


TRAIN = {"training": True}
SEQ = In((2, 5, 3))
SEQ_MASKED = In((2, 5, 3), mask="right")
IMG = In((2, 6, 5, 3))
IMG_CF = In((2, 3, 6, 5))

# ---------------------------------------------------------------------------- core
cases(
    "Dense",
    ("default", {"units": 3}),
    ("relu_no_bias", {"units": 2, "activation": "relu", "use_bias": False}),
    ("sigmoid_one_unit", {"units": 1, "activation": "sigmoid"}),
    ("sequence_masked", {"units": 3, "_": over(SEQ_MASKED)}),
    ("rank4", {"units": 2, "activation": "tanh", "_": over(In((2, 3, 2, 4)))}),
    ("float64", {"units": 3, "dtype": "float64", "_": over(In((2, 4), "float64"))}),
    ("kernel_regularizer", {"units": 3, "kernel_regularizer": "l2",
                            "bias_regularizer": "l1"}),
    ("activity_regularizer", {"units": 3, "activity_regularizer": "l2"}),
    ("initializers", {"units": 3, "kernel_initializer": "he_normal",
                      "bias_initializer": "ones"}),
    ("not_trainable", {"units": 3, "trainable": False}),
)
invalid(
    "Dense",
    ("units_zero", {"units": 0}, ValueError),
    ("units_negative", {"units": -2}, ValueError),
    ("units_float", {"units": 2.5}, ValueError),
    ("unknown_activation", {"units": 2, "activation": "no_such_activation"}, ValueError),
    ("unknown_initializer", {"units": 2, "kernel_initializer": "no_such_init"}, ValueError),
    ("unknown_keyword", {"units": 2, "no_such_argument": 1}, ValueError),
    ("units_string", {"units": "3"}, ValueError),
    ("name_not_string", {"units": 2, "name": 3}, ValueError),
    ("unknown_dtype", {"units": 2, "dtype": "no_such_dtype"}, ValueError),
)

_ACTIVATIONS = ("relu", "sigmoid", "tanh", "softmax", "linear", "elu", "selu", "gelu",
                "swish", "silu", "softplus", "softsign", "exponential", "hard_sigmoid",
                "hard_silu", "relu6", "leaky_relu", "log_softmax", "mish")
cases("Activation", *[(name, {"activation": name}) for name in _ACTIVATIONS],
      ("relu_masked", {"activation": "relu", "_": over(SEQ_MASKED)}),
      ("softmax_rank3", {"activation": "softmax", "_": over(SEQ)}))
invalid(
    "Activation",
    ("unknown", {"activation": "no_such_activation"}, ValueError),
)

cases(
    "Dropout",
    ("inference", {"rate": 0.5}),
    ("rate_zero_training", {"rate": 0.0, "_": over(**TRAIN)}),
    ("noise_shape", {"rate": 0.3, "noise_shape": (None, 1, 3), "seed": 1, "_": over(SEQ)}),
    ("masked", {"rate": 0.5, "_": over(SEQ_MASKED)}),
)
invalid(
    "Dropout",
    ("rate_negative", {"rate": -0.1}, ValueError),
    ("rate_above_one", {"rate": 1.5}, ValueError),
    ("rate_string", {"rate": "half"}, TypeError),
    ("noise_shape_string", {"rate": 0.5, "noise_shape": "x"}, ValueError),
)

cases("Identity", ("default", {}), ("masked", {"_": over(SEQ_MASKED)}))
invalid("Identity", ("unknown_keyword", {"no_such_argument": 1}, ValueError))

cases(
    "ActivityRegularization",
    ("default", {}),
    ("l1", {"l1": 0.1}),
    ("l1_l2", {"l1": 0.01, "l2": 0.2, "_": over(SEQ)}),
    ("masked", {"l2": 0.1, "_": over(SEQ_MASKED)}),
)
invalid("ActivityRegularization",
        ("unknown_keyword", {"no_such_argument": 1}, ValueError),
        ("l1_string", {"l1": "x"}, ValueError))

cases(
    "GaussianNoise",
    ("inference", {"stddev": 0.5}),
    ("seeded_inference", {"stddev": 1.0, "seed": 3, "_": over(SEQ)}),
    ("masked", {"stddev": 0.1, "_": over(SEQ_MASKED)}),
)
invalid(
    "GaussianNoise",
    ("stddev_negative", {"stddev": -1.0}, ValueError),
    ("stddev_string", {"stddev": "x"}, TypeError),
)

cases(
    "SpatialDropout1D",
    ("inference", {"rate": 0.5}),
    ("rate_zero_training", {"rate": 0.0, "_": over(**TRAIN)}),
    inputs=(SEQ,),
)
invalid(
    "SpatialDropout1D",
    ("rate_negative", {"rate": -0.5}, ValueError),
    ("rate_above_one", {"rate": 1.5}, ValueError),
)

cases(
    "SpatialDropout2D",
    ("inference", {"rate": 0.5}),
    ("channels_first", {"rate": 0.25, "data_format": "channels_first", "_": over(IMG_CF)}),
    ("rate_zero_training", {"rate": 0.0, "_": over(**TRAIN)}),
    inputs=(IMG,),
)
invalid(
    "SpatialDropout2D",
    ("rate_negative", {"rate": -0.5}, ValueError),
    ("bad_data_format", {"rate": 0.5, "data_format": "channels_middle"}, ValueError),
)

_TOKENS = In((2, 5), "int32", "int", low=0, high=6)
cases(
    "Embedding",
    ("default", {"input_dim": 6, "output_dim": 3}),
    ("mask_zero", {"input_dim": 6, "output_dim": 4, "mask_zero": True}),
    ("int64_tokens", {"input_dim": 6, "output_dim": 2,
                      "_": over(In((2, 5), "int64", "int", low=0, high=6))}),
    ("rank3_tokens_mask_zero", {"input_dim": 6, "output_dim": 2, "mask_zero": True,
                                "_": over(In((2, 3, 4), "int32", "int", low=0, high=6))}),
    ("initializer", {"input_dim": 6, "output_dim": 3, "embeddings_initializer": "ones"}),
    ("float64", {"input_dim": 6, "output_dim": 3, "dtype": "float64"}),
    ("regularizer", {"input_dim": 6, "output_dim": 3, "embeddings_regularizer": "l2"}),
    inputs=(_TOKENS,),
)
invalid(
    "Embedding",
    ("input_dim_zero", {"input_dim": 0, "output_dim": 3}, ValueError),
    ("output_dim_zero", {"input_dim": 5, "output_dim": 0}, ValueError),
    ("input_dim_negative", {"input_dim": -1, "output_dim": 3}, ValueError),
    ("input_dim_float", {"input_dim": 2.5, "output_dim": 3}, ValueError),
    ("unknown_initializer", {"input_dim": 5, "output_dim": 3,
                             "embeddings_initializer": "no_such_init"}, ValueError),
)

cases(
    "Masking",
    ("default", {}, ),
    ("mask_value", {"mask_value": 1.5, "_": over(In((2, 5, 3), kind="zero_steps", fill=1.5))}),
    ("rank4", {"_": over(In((2, 4, 3, 2), kind="zero_steps"))}),
    inputs=(In((2, 5, 3), kind="zero_steps"),),
)
invalid("Masking", ("unknown_keyword", {"no_such_argument": 1}, ValueError))

# ---------------------------------------------------------------------------- merging
_PAIR = (In((2, 3, 4)), In((2, 3, 4)))
_TRIPLE = (In((2, 3, 4)), In((2, 3, 4)), In((2, 3, 4)))
_PAIR_MASKED = (In((2, 3, 4), mask="right"), In((2, 3, 4), mask="holes"))
_PAIR_ONE_MASKED = (In((2, 3, 4), mask="right"), In((2, 3, 4)))
for _name in ("Add", "Multiply", "Average", "Maximum", "Minimum", "Subtract"):
    cases(
        _name,
        ("two", {}),
        *([] if _name == "Subtract" else [("three", {"_": over(_TRIPLE)})]),
        ("masked", {"_": over(_PAIR_MASKED)}),
        ("one_masked", {"_": over(_PAIR_ONE_MASKED)}),
        ("broadcast", {"_": over((In((2, 3, 4)), In((2, 1, 4))))}),
        ("float64", {"dtype": "float64",
                     "_": over((In((2, 3), "float64"), In((2, 3), "float64")))}),
        inputs=_PAIR,
        as_list=True,
    )
    invalid(_name, ("unknown_keyword", {"no_such_argument": 1}, ValueError))

cases(
    "Concatenate",
    ("last_axis", {}),
    ("axis_1", {"axis": 1}),
    ("different_widths", {"_": over((In((2, 3, 4)), In((2, 3, 2))))}),
    ("masked_last_axis", {"_": over(_PAIR_MASKED)}),
    ("masked_axis_1", {"axis": 1, "_": over(_PAIR_MASKED)}),
    ("one_masked", {"_": over(_PAIR_ONE_MASKED)}),
    ("three", {"axis": -2, "_": over(_TRIPLE)}),
    inputs=_PAIR,
    as_list=True,
)
invalid("Concatenate", ("unknown_keyword", {"axis": 1, "no_such_argument": 1}, ValueError))

cases(
    "Dot",
    ("axes_1_vectors", {"axes": 1, "_": over((In((2, 4)), In((2, 4))))}),
    ("axes_2", {"axes": 2}),
    ("axes_pair", {"axes": (1, 2), "_": over((In((2, 3, 4)), In((2, 4, 3))))}),
    ("axes_pair_list", {"axes": [2, 2]}),
    ("normalize", {"axes": 2, "normalize": True}),
    ("negative_axes", {"axes": -1}),
    ("masked", {"axes": 2, "_": over(_PAIR_MASKED)}),
    inputs=(In((2, 3, 4)), In((2, 5, 4))),
    as_list=True,
)
invalid(
    "Dot",
    ("axes_string", {"axes": "last"}, TypeError),
    ("axes_three", {"axes": (1, 2, 3)}, ValueError),
)

# ---------------------------------------------------------------------------- convolutions
cases(
    "Conv1D",
    ("default", {"filters": 2, "kernel_size": 3}),
    ("same", {"filters": 3, "kernel_size": 3, "padding": "same"}),
    ("same_even_kernel", {"filters": 2, "kernel_size": 2, "padding": "same"}),
    ("causal", {"filters": 2, "kernel_size": 3, "padding": "causal"}),
    ("causal_dilated", {"filters": 2, "kernel_size": 2, "padding": "causal",
                        "dilation_rate": 2}),
    ("strides_2", {"filters": 2, "kernel_size": 2, "strides": 2}),
    ("same_strides_2", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}),
    ("dilation_2", {"filters": 2, "kernel_size": 2, "dilation_rate": 2}),
    ("channels_first", {"filters": 2, "kernel_size": 2, "data_format": "channels_first",
                        "_": over(In((2, 3, 6)))}),
    ("groups", {"filters": 4, "kernel_size": 2, "groups": 2, "_": over(In((2, 6, 4)))}),
    ("relu_no_bias", {"filters": 2, "kernel_size": 3, "activation": "relu",
                      "use_bias": False}),
    ("masked", {"filters": 2, "kernel_size": 2, "_": over(In((2, 6, 3), mask="right"))}),
    ("kernel_regularizer", {"filters": 2, "kernel_size": 2, "kernel_regularizer": "l2"}),
    ("float64", {"filters": 2, "kernel_size": 3, "padding": "causal", "dtype": "float64",
                 "_": over(In((2, 7, 3), "float64"))}),
    ("tuple_arguments", {"filters": 2, "kernel_size": (3,), "strides": (1,),
                         "dilation_rate": (1,)}),
    inputs=(In((2, 7, 3)),),
)
invalid(
    "Conv1D",
    ("filters_zero", {"filters": 0, "kernel_size": 2}, ValueError),
    ("kernel_zero", {"filters": 2, "kernel_size": 0}, ValueError),
    ("strides_zero", {"filters": 2, "kernel_size": 2, "strides": 0}, ValueError),
    ("bad_padding", {"filters": 2, "kernel_size": 2, "padding": "full"}, ValueError),
    ("bad_data_format", {"filters": 2, "kernel_size": 2, "data_format": "nwc"}, ValueError),
    ("groups_not_dividing", {"filters": 3, "kernel_size": 2, "groups": 2}, ValueError),
    ("strides_and_dilation", {"filters": 2, "kernel_size": 2, "strides": 2,
                              "dilation_rate": 2}, ValueError),
    ("kernel_size_too_long", {"filters": 2, "kernel_size": (2, 2)}, ValueError),
    ("groups_zero", {"filters": 2, "kernel_size": 2, "groups": 0}, ValueError),
)

cases(
    "Conv2D",
    ("default", {"filters": 2, "kernel_size": 3}),
    ("same", {"filters": 2, "kernel_size": 3, "padding": "same"}),
    ("same_strides_2", {"filters": 2, "kernel_size": (3, 2), "strides": 2,
                        "padding": "same"}),
    ("strides_pair", {"filters": 2, "kernel_size": 2, "strides": (2, 1)}),
    ("dilation", {"filters": 2, "kernel_size": 2, "dilation_rate": (2, 1)}),
    ("same_dilation", {"filters": 2, "kernel_size": 3, "dilation_rate": 2,
                       "padding": "same"}),
    ("channels_first", {"filters": 2, "kernel_size": 2, "data_format": "channels_first",
                        "_": over(IMG_CF)}),
    ("groups", {"filters": 4, "kernel_size": 2, "groups": 2,
                "_": over(In((2, 5, 5, 4)))}),
    ("sigmoid_no_bias", {"filters": 2, "kernel_size": 1, "activation": "sigmoid",
                         "use_bias": False}),
    ("float64", {"filters": 2, "kernel_size": 2, "dtype": "float64",
                 "_": over(In((2, 6, 5, 3), "float64"))}),
    inputs=(IMG,),
)
invalid(
    "Conv2D",
    ("filters_zero", {"filters": 0, "kernel_size": 2}, ValueError),
    ("kernel_three_dims", {"filters": 2, "kernel_size": (2, 2, 2)}, ValueError),
    ("bad_padding", {"filters": 2, "kernel_size": 2, "padding": "causal"}, ValueError),
    ("strides_negative", {"filters": 2, "kernel_size": 2, "strides": -1}, ValueError),
    ("bad_data_format", {"filters": 2, "kernel_size": 2, "data_format": "nhwc"}, ValueError),
    ("name_not_string", {"filters": 2, "kernel_size": 2, "name": 3}, ValueError),
)

cases(
    "Conv2DTranspose",
    ("default", {"filters": 2, "kernel_size": 3}),
    ("strides_2_same", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}),
    ("strides_2_valid", {"filters": 2, "kernel_size": 3, "strides": 2}),
    ("strides_2_even_kernel_same", {"filters": 2, "kernel_size": 2, "strides": 2,
                                    "padding": "same"}),
    ("output_padding", {"filters": 2, "kernel_size": 3, "strides": 2,
                        "output_padding": 1}),
    ("dilation", {"filters": 2, "kernel_size": 2, "dilation_rate": 2}),
    ("channels_first", {"filters": 2, "kernel_size": 3, "strides": (2, 1),
                        "data_format": "channels_first", "_": over(IMG_CF)}),
    ("relu_no_bias", {"filters": 3, "kernel_size": 2, "activation": "relu",
                      "use_bias": False}),
    inputs=(IMG,),
)
invalid(
    "Conv2DTranspose",
    ("filters_zero", {"filters": 0, "kernel_size": 2}, ValueError),
    ("bad_padding", {"filters": 2, "kernel_size": 2, "padding": "causal"}, ValueError),
    ("kernel_zero", {"filters": 2, "kernel_size": 0}, ValueError),
    ("output_padding_not_below_strides", {"filters": 2, "kernel_size": 3, "strides": 2,
                                          "output_padding": 2}, ValueError),
)

cases(
    "DepthwiseConv2D",
    ("default", {"kernel_size": 3}),
    ("depth_multiplier", {"kernel_size": 2, "depth_multiplier": 2}),
    ("same_strides_2", {"kernel_size": 3, "strides": 2, "padding": "same"}),
    ("dilation", {"kernel_size": 2, "dilation_rate": 2}),
    ("channels_first", {"kernel_size": 2, "depth_multiplier": 2,
                        "data_format": "channels_first", "_": over(IMG_CF)}),
    ("relu_no_bias", {"kernel_size": 2, "activation": "relu", "use_bias": False}),
    inputs=(IMG,),
)
invalid(
    "DepthwiseConv2D",
    ("depth_multiplier_zero", {"kernel_size": 2, "depth_multiplier": 0}, ValueError),
    ("kernel_zero", {"kernel_size": 0}, ValueError),
    ("bad_padding", {"kernel_size": 2, "padding": "causal"}, ValueError),
)

cases(
    "SeparableConv2D",
    ("default", {"filters": 2, "kernel_size": 3}),
    ("depth_multiplier", {"filters": 3, "kernel_size": 2, "depth_multiplier": 2}),
    ("same_strides_2", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}),
    ("dilation", {"filters": 2, "kernel_size": 2, "dilation_rate": 2}),
    ("channels_first", {"filters": 2, "kernel_size": 2, "data_format": "channels_first",
                        "_": over(IMG_CF)}),
    ("relu_no_bias", {"filters": 2, "kernel_size": 2, "activation": "relu",
                      "use_bias": False}),
    inputs=(IMG,),
)
invalid(
    "SeparableConv2D",
    ("filters_zero", {"filters": 0, "kernel_size": 2}, ValueError),
    ("depth_multiplier_zero", {"filters": 2, "kernel_size": 2, "depth_multiplier": 0},
     ValueError),
    ("bad_padding", {"filters": 2, "kernel_size": 2, "padding": "causal"}, ValueError),
)

# ---------------------------------------------------------------------------- pooling
cases(
    "MaxPooling1D",
    ("default", {}),
    ("pool_3_strides_2", {"pool_size": 3, "strides": 2}),
    ("same", {"pool_size": 2, "strides": 1, "padding": "same"}),
    ("same_pool_3", {"pool_size": 3, "padding": "same"}),
    ("channels_first", {"pool_size": 2, "data_format": "channels_first",
                        "_": over(In((2, 3, 7)))}),
    ("masked", {"_": over(In((2, 7, 3), mask="right"))}),
    inputs=(In((2, 7, 3)),),
)
cases(
    "AveragePooling1D",
    ("pool_2", {"pool_size": 2}),
    ("pool_3_strides_2", {"pool_size": 3, "strides": 2}),
    ("same", {"pool_size": 2, "strides": 1, "padding": "same"}),
    ("same_pool_3", {"pool_size": 3, "padding": "same"}),
    ("channels_first", {"pool_size": 2, "data_format": "channels_first",
                        "_": over(In((2, 3, 7)))}),
    inputs=(In((2, 7, 3)),),
)
for _name in ("MaxPooling2D", "AveragePooling2D"):
    cases(
        _name,
        ("pool_2", {"pool_size": 2}),
        ("pool_3_strides_2", {"pool_size": 3, "strides": 2}),
        ("pool_pair", {"pool_size": (2, 3), "strides": (1, 2)}),
        ("same", {"pool_size": 2, "strides": 1, "padding": "same"}),
        ("same_pool_3", {"pool_size": 3, "padding": "same"}),
        ("channels_first", {"pool_size": 2, "data_format": "channels_first",
                            "_": over(IMG_CF)}),
        ("float64", {"pool_size": 2, "padding": "same", "dtype": "float64",
                     "_": over(In((2, 7, 5, 3), "float64"))}),
        inputs=(In((2, 7, 5, 3)),),
    )
for _name in ("MaxPooling1D", "AveragePooling1D", "MaxPooling2D", "AveragePooling2D"):
    invalid(
        _name,
        ("pool_zero", {"pool_size": 0}, ValueError),
        ("pool_size_too_long", {"pool_size": (2,) * (4 if _name.endswith("2D") else 2)},
         ValueError),
        ("strides_negative", {"pool_size": 2, "strides": -1}, ValueError),
        ("bad_data_format", {"pool_size": 2, "data_format": "nchw"}, ValueError),
    )

for _name in ("GlobalAveragePooling1D", "GlobalMaxPooling1D"):
    cases(
        _name,
        ("default", {}),
        ("keepdims", {"keepdims": True}),
        ("channels_first", {"data_format": "channels_first", "_": over(In((2, 3, 5)))}),
        ("masked", {"_": over(SEQ_MASKED)}),
        ("masked_holes_keepdims", {"keepdims": True,
                                   "_": over(In((2, 5, 3), mask="holes"))}),
        ("masked_empty_sample", {"_": over(In((2, 5, 3), mask="empty"))}),
        inputs=(SEQ,),
    )
    invalid(_name, ("bad_data_format", {"data_format": "nwc"}, ValueError))
for _name in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
    cases(
        _name,
        ("default", {}),
        ("keepdims", {"keepdims": True}),
        ("channels_first", {"data_format": "channels_first", "_": over(IMG_CF)}),
        ("channels_first_keepdims", {"data_format": "channels_first", "keepdims": True,
                                     "_": over(IMG_CF)}),
        inputs=(IMG,),
    )
    invalid(_name, ("bad_data_format", {"data_format": "nhwc"}, ValueError))

# ---------------------------------------------------------------------------- normalization
cases(
    "BatchNormalization",
    ("inference", {}),
    ("training", {"_": over(**TRAIN)}),
    ("training_momentum", {"momentum": 0.5, "epsilon": 0.01, "_": over(**TRAIN)}),
    ("axis_1_image", {"axis": 1, "_": over(IMG_CF)}),
    ("axis_1_image_training", {"axis": 1, "_": over(IMG_CF, **TRAIN)}),
    ("sequence_training", {"_": over(SEQ, **TRAIN)}),
    ("no_center_no_scale", {"center": False, "scale": False}),
    ("no_scale_training", {"scale": False, "_": over(**TRAIN)}),
    ("masked_training", {"_": over(SEQ_MASKED, **TRAIN)}),
    ("masked_inference", {"_": over(SEQ_MASKED)}),
    ("initializers", {"gamma_initializer": "random_normal", "beta_initializer": "ones",
                      "moving_variance_initializer": "ones"}),
    ("regularizers", {"gamma_regularizer": "l2", "beta_regularizer": "l1"}),
    # Keras 3: a frozen BatchNormalization runs in inference mode even with training=True.
    ("frozen_training", {"trainable": False, "_": over(**TRAIN)}),
    ("float64_training", {"dtype": "float64", "_": over(In((4, 3), "float64"), **TRAIN)}),
    inputs=(In((4, 3)),),
)
invalid(
    "BatchNormalization",
    ("unknown_initializer", {"gamma_initializer": "no_such_init"}, ValueError),
    ("unknown_keyword", {"no_such_argument": 1}, ValueError),
    ("axis_string", {"axis": "x"}, ValueError),
    ("momentum_string", {"momentum": "x"}, ValueError),
)

cases(
    "LayerNormalization",
    ("default", {}),
    ("axis_pair", {"axis": [1, 2], "_": over(SEQ)}),
    # (axis=1 on rank-3 inputs is left out: Keras's torch backend fails on it.)
    ("epsilon", {"epsilon": 0.1}),
    ("no_center_no_scale", {"center": False, "scale": False, "_": over(SEQ)}),
    ("rms_scaling", {"rms_scaling": True, "_": over(SEQ)}),
    ("masked", {"_": over(SEQ_MASKED)}),
    ("float64", {"dtype": "float64", "_": over(In((2, 4), "float64"))}),
    ("regularizers", {"gamma_regularizer": "l2", "beta_regularizer": "l1"}),
    inputs=(In((2, 4)),),
)
invalid(
    "LayerNormalization",
    ("axis_string", {"axis": "last"}, TypeError),
    ("axis_float", {"axis": 1.5}, TypeError),
    ("unknown_initializer", {"gamma_initializer": "no_such_init"}, ValueError),
)

# ---------------------------------------------------------------------------- recurrent
_STATE = In((2, 4))


def _recurrent(name: str, extra: tuple[tuple[str, dict[str, Any]], ...]) -> None:
    states = (_STATE, _STATE) if name == "LSTM" else (_STATE,)
    cases(
        name,
        ("default", {"units": 4}),
        ("return_sequences", {"units": 4, "return_sequences": True}),
        ("return_state", {"units": 4, "return_state": True}),
        ("sequences_and_state", {"units": 4, "return_sequences": True,
                                 "return_state": True}),
        ("go_backwards", {"units": 4, "go_backwards": True, "return_sequences": True}),
        ("masked_right", {"units": 4, "return_sequences": True,
                          "_": over(In((2, 5, 3), mask="right"))}),
        ("masked_left", {"units": 4, "_": over(In((2, 5, 3), mask="left"))}),
        ("masked_holes_backwards", {"units": 4, "return_sequences": True,
                                    "go_backwards": True,
                                    "_": over(In((2, 5, 3), mask="holes"))}),
        ("masked_zero_output", {"units": 4, "return_sequences": True,
                                "zero_output_for_mask": True,
                                "_": over(In((2, 5, 3), mask="holes"))}),
        ("masked_state", {"units": 4, "return_state": True,
                          "_": over(In((2, 5, 3), mask="holes"))}),
        ("masked_empty_sample", {"units": 4, "return_sequences": True, "return_state": True,
                                 "_": over(In((2, 5, 3), mask="empty"))}),
        ("initial_state", {"units": 4, "return_state": True,
                           "_": over(SEQ, tensor_call={"initial_state": states})}),
        ("no_bias", {"units": 4, "use_bias": False, "return_sequences": True}),
        ("relu", {"units": 4, "activation": "relu"}),
        ("dropout_inference", {"units": 4, "dropout": 0.5, "recurrent_dropout": 0.3}),
        ("regularizers", {"units": 4, "kernel_regularizer": "l2",
                          "recurrent_regularizer": "l1", "bias_regularizer": "l2"}),
        ("unroll", {"units": 4, "unroll": True}),
        ("float64", {"units": 4, "dtype": "float64", "_": over(In((2, 5, 3), "float64"))}),
        *extra,
        inputs=(SEQ,),
    )
    invalid(
        name,
        ("units_zero", {"units": 0}, ValueError),
        ("units_negative", {"units": -1}, ValueError),
        # (Keras's LSTM accepts units=2.5.)
        *([] if name == "LSTM" else [("units_float", {"units": 2.5}, ValueError)]),
        ("units_string", {"units": "2"}, TypeError),
        ("dropout_string", {"units": 2, "dropout": "x"}, TypeError),
        ("unknown_activation", {"units": 2, "activation": "no_such_activation"},
         ValueError),
        ("name_not_string", {"units": 2, "name": 3}, ValueError),
    )


_recurrent("SimpleRNN", ())
_recurrent("LSTM", (
    ("no_unit_forget_bias", {"units": 4, "unit_forget_bias": False}),
    ("recurrent_activation", {"units": 3, "recurrent_activation": "hard_sigmoid",
                              "return_sequences": True}),
))
_recurrent("GRU", (
    ("reset_before", {"units": 4, "reset_after": False, "return_sequences": True}),
    ("reset_before_masked", {"units": 4, "reset_after": False,
                             "_": over(In((2, 5, 3), mask="holes"))}),
    ("reset_before_no_bias", {"units": 4, "reset_after": False, "use_bias": False}),
    ("recurrent_activation", {"units": 3, "recurrent_activation": "hard_sigmoid"}),
))

# ---------------------------------------------------------------------------- wrappers
_LSTM = Sub("LSTM", {"units": 3, "return_sequences": True, "name": "inner_lstm"})
_GRU_LAST = Sub("GRU", {"units": 3, "name": "inner_gru"})
cases(
    "Bidirectional",
    ("concat", {"layer": _LSTM}),
    ("sum", {"layer": _LSTM, "merge_mode": "sum"}),
    ("mul", {"layer": _LSTM, "merge_mode": "mul"}),
    ("ave", {"layer": _LSTM, "merge_mode": "ave"}),
    ("merge_none", {"layer": _LSTM, "merge_mode": None}),
    ("last_output", {"layer": _GRU_LAST}),
    ("return_state", {"layer": Sub("LSTM", {"units": 3, "return_state": True,
                                            "name": "inner_lstm"})}),
    ("masked", {"layer": _LSTM, "_": over(In((2, 5, 3), mask="right"))}),
    ("masked_holes_last", {"layer": _GRU_LAST, "_": over(In((2, 5, 3), mask="holes"))}),
    ("simple_rnn_sequences_state", {"layer": Sub("SimpleRNN", {
        "units": 2, "return_sequences": True, "return_state": True, "name": "inner_rnn"})}),
    ("backward_layer", {"layer": _LSTM, "backward_layer": Sub("LSTM", {
        "units": 3, "return_sequences": True, "go_backwards": True,
        "name": "inner_backward"})}),
    inputs=(SEQ,),
)
invalid(
    "Bidirectional",
    ("bad_merge_mode", {"layer": _LSTM, "merge_mode": "max"}, ValueError),
    ("not_a_layer", {"layer": "lstm"}, ValueError),
)

cases(
    "TimeDistributed",
    ("dense", {"layer": Sub("Dense", {"units": 2, "name": "inner_dense"})}),
    ("dense_masked", {"layer": Sub("Dense", {"units": 2, "name": "inner_dense"}),
                      "_": over(SEQ_MASKED)}),
    ("conv1d", {"layer": Sub("Conv1D", {"filters": 2, "kernel_size": 2,
                                        "name": "inner_conv"}),
                "_": over(In((2, 3, 5, 4)))}),
    ("flatten", {"layer": Sub("Flatten", {"name": "inner_flatten"}),
                 "_": over(In((2, 3, 2, 2)))}),
    ("dropout_training", {"layer": Sub("Dropout", {"rate": 0.0, "name": "inner_dropout"}),
                          "_": over(**TRAIN)}),
    inputs=(SEQ,),
)
invalid("TimeDistributed", ("not_a_layer", {"layer": "dense"}, ValueError),
        ("int_layer", {"layer": 3}, ValueError))

# ---------------------------------------------------------------------------- reshaping
cases(
    "Flatten",
    ("default", {}),
    ("rank2", {"_": over(In((2, 4)))}),
    ("rank4", {"_": over(IMG)}),
    ("channels_first", {"data_format": "channels_first", "_": over(IMG_CF)}),
    ("masked", {"_": over(SEQ_MASKED)}),
    inputs=(SEQ,),
)
invalid("Flatten", ("bad_data_format", {"data_format": "nhwc"}, ValueError))

cases(
    "Reshape",
    ("default", {"target_shape": (3, 5)}),
    ("minus_one", {"target_shape": (-1, 3)}),
    ("flat", {"target_shape": (15,)}),
    ("list", {"target_shape": [5, 3, 1]}),
    ("masked", {"target_shape": (5, 3, 1), "_": over(SEQ_MASKED)}),
    inputs=(SEQ,),
)
invalid(
    "Reshape",
    ("two_unknown", {"target_shape": (-1, -1)}, ValueError),
    ("negative", {"target_shape": (2, -2)}, ValueError),
    ("int", {"target_shape": 3}, TypeError),
)

cases(
    "Permute",
    ("default", {"dims": (2, 1)}),
    ("rank4", {"dims": (3, 1, 2), "_": over(IMG)}),
    ("identity", {"dims": (1, 2)}),
    ("list", {"dims": [2, 1]}),
    ("masked", {"dims": (2, 1), "_": over(SEQ_MASKED)}),
    inputs=(SEQ,),
)
invalid(
    "Permute",
    ("not_a_permutation", {"dims": (1, 1)}, ValueError),
    ("zero_based", {"dims": (0, 1)}, ValueError),
    ("gap", {"dims": (1, 3)}, ValueError),
    ("int", {"dims": 3}, TypeError),
)

cases(
    "RepeatVector",
    ("default", {"n": 3}),
    ("once", {"n": 1}),
    inputs=(In((2, 4)),),
)
invalid(
    "RepeatVector",
    ("n_float", {"n": 2.5}, TypeError),
    ("n_string", {"n": "3"}, TypeError),
    ("n_zero", {"n": 0}, ValueError),
)

cases(
    "Cropping1D",
    ("default", {}),
    ("asymmetric", {"cropping": (2, 0)}),
    ("int", {"cropping": 2}),
    inputs=(In((2, 7, 3)),),
)
invalid(
    "Cropping1D",
    ("three_values", {"cropping": (1, 2, 3)}, ValueError),
    ("negative", {"cropping": -1}, ValueError),
    ("string", {"cropping": "a"}, ValueError),
)

cases(
    "Cropping2D",
    ("default", {}),
    ("int", {"cropping": 1}),
    ("pair", {"cropping": (1, 2)}),
    ("nested", {"cropping": ((1, 0), (2, 1))}),
    ("channels_first", {"cropping": ((1, 0), (0, 2)), "data_format": "channels_first",
                        "_": over(In((2, 3, 6, 5)))}),
    inputs=(In((2, 6, 5, 3)),),
)
invalid(
    "Cropping2D",
    ("three_values", {"cropping": (1, 2, 3)}, ValueError),
    ("negative", {"cropping": -1}, ValueError),
    ("bad_data_format", {"cropping": 1, "data_format": "nhwc"}, ValueError),
)

cases(
    "UpSampling1D",
    ("default", {}),
    ("size_3", {"size": 3}),
    ("masked", {"_": over(SEQ_MASKED)}),
    inputs=(SEQ,),
)
invalid("UpSampling1D", ("size_zero", {"size": 0}, ValueError),
        ("size_string", {"size": "2"}, TypeError))

cases(
    "UpSampling2D",
    ("default", {}),
    ("size_pair", {"size": (3, 1)}),
    ("int_size", {"size": 3}),
    ("bilinear", {"size": 2, "interpolation": "bilinear"}),
    ("bilinear_pair", {"size": (3, 2), "interpolation": "bilinear"}),
    ("channels_first", {"size": (2, 3), "data_format": "channels_first",
                        "_": over(IMG_CF)}),
    ("bicubic", {"size": 2, "interpolation": "bicubic"}),
    # (lanczos3/lanczos5 are left out: Keras's torch backend fails on them.)
    inputs=(In((2, 3, 4, 2)),),
)
invalid(
    "UpSampling2D",
    ("bad_data_format", {"data_format": "nhwc"}, ValueError),
    ("three_sizes", {"size": (2, 2, 2)}, ValueError),
    ("size_zero", {"size": 0}, ValueError),
)

cases(
    "ZeroPadding1D",
    ("default", {}),
    ("asymmetric", {"padding": (2, 0)}),
    ("int", {"padding": 3}),
    ("masked", {"_": over(SEQ_MASKED)}),
    inputs=(SEQ,),
)
invalid(
    "ZeroPadding1D",
    ("three_values", {"padding": (1, 2, 3)}, ValueError),
)

cases(
    "ZeroPadding2D",
    ("default", {}),
    ("int", {"padding": 2}),
    ("pair", {"padding": (2, 1)}),
    ("nested", {"padding": ((1, 0), (0, 2))}),
    ("channels_first", {"padding": ((1, 2), (0, 1)), "data_format": "channels_first",
                        "_": over(IMG_CF)}),
    inputs=(IMG,),
)
invalid(
    "ZeroPadding2D",
    ("three_values", {"padding": (1, 2, 3)}, ValueError),
    ("three_in_an_entry", {"padding": ((1, 2, 3), (1, 1))}, ValueError),
    ("bad_data_format", {"padding": 1, "data_format": "nhwc"}, ValueError),
)

# ---------------------------------------------------------------------------- attention
_Q, _V = In((2, 3, 4)), In((2, 5, 6))
cases(
    "MultiHeadAttention",
    ("self", {"num_heads": 2, "key_dim": 3}, ),
    ("cross", {"num_heads": 2, "key_dim": 3, "_": over((_Q, _V))}),
    ("key_value_query", {"num_heads": 2, "key_dim": 2,
                         "_": over((_Q, _V, In((2, 5, 2))))}),
    ("value_dim_output_shape", {"num_heads": 3, "key_dim": 2, "value_dim": 4,
                                "output_shape": 5, "_": over((_Q, _V))}),
    ("no_bias", {"num_heads": 1, "key_dim": 4, "use_bias": False, "_": over((_Q, _V))}),
    ("attention_scores", {"num_heads": 2, "key_dim": 3,
                          "_": over((_Q, _V), return_attention_scores=True)}),
    ("causal", {"num_heads": 2, "key_dim": 3, "_": over((_Q, _Q), use_causal_mask=True)}),
    ("masked", {"num_heads": 2, "key_dim": 3,
                "_": over((In((2, 3, 4), mask="right"), In((2, 5, 6), mask="holes")))}),
    ("value_masked_empty_sample", {"num_heads": 2, "key_dim": 3,
                                   "_": over((_Q, In((2, 5, 6), mask="empty")))}),
    ("masked_causal", {"num_heads": 2, "key_dim": 3,
                       "_": over((In((2, 3, 4), mask="holes"), In((2, 3, 4), mask="right")),
                                 use_causal_mask=True)}),
    ("attention_axes", {"num_heads": 2, "key_dim": 2, "attention_axes": (1,),
                        "_": over((In((2, 3, 2, 4)), In((2, 5, 2, 4))))}),
    ("dropout_inference", {"num_heads": 2, "key_dim": 3, "dropout": 0.5,
                           "_": over((_Q, _V))}),
    ("float64", {"num_heads": 2, "key_dim": 3, "dtype": "float64",
                 "_": over((In((2, 3, 4), "float64"), In((2, 5, 6), "float64")))}),
    inputs=(_Q, _Q),
)
invalid(
    "MultiHeadAttention",
    ("num_heads_zero", {"num_heads": 0, "key_dim": 2}, ValueError),
    ("key_dim_zero", {"num_heads": 2, "key_dim": 0}, ValueError),
    ("key_dim_float", {"num_heads": 2, "key_dim": 2.5}, ValueError),
    ("attention_axes_string", {"num_heads": 2, "key_dim": 2, "attention_axes": "x"},
     ValueError),
)


# ---------------------------------------------------------------------------- activations
cases(
    "ReLU",
    ("default", {}),
    ("max_value", {"max_value": 0.5}),
    ("negative_slope", {"negative_slope": 0.1}),
    ("threshold", {"threshold": 0.3}),
    ("all", {"max_value": 1.0, "negative_slope": 0.2, "threshold": 0.1}),
    ("masked", {"_": over(SEQ_MASKED)}),
)
invalid(
    "ReLU",
    ("max_value_negative", {"max_value": -1.0}, ValueError),
    ("negative_slope_negative", {"negative_slope": -0.1}, ValueError),
    ("threshold_none", {"threshold": None}, ValueError),
)
cases(
    "LeakyReLU",
    ("default", {}),
    ("slope", {"negative_slope": 0.05}),
    ("masked", {"_": over(SEQ_MASKED)}),
)
invalid("LeakyReLU", ("slope_negative", {"negative_slope": -0.1}, ValueError),
        ("slope_none", {"negative_slope": None}, ValueError))
cases(
    "PReLU",
    ("default", {}),
    ("shared_axes", {"shared_axes": [1, 2], "_": over(IMG)}),
    ("alpha_initializer", {"alpha_initializer": "ones", "_": over(SEQ)}),
    ("regularizer", {"alpha_regularizer": "l2"}),
    ("masked", {"_": over(SEQ_MASKED)}),
)
invalid("PReLU", ("unknown_initializer", {"alpha_initializer": "no_such_init"}, ValueError))
cases(
    "ELU",
    ("default", {}),
    ("alpha", {"alpha": 0.5}),
    ("masked", {"_": over(SEQ_MASKED)}),
)
invalid("ELU", ("unknown_keyword", {"no_such_argument": 1}, ValueError))
cases(
    "Softmax",
    ("default", {}),
    ("axis_1", {"axis": 1, "_": over(SEQ)}),
    ("axes_pair", {"axis": (1, 2), "_": over(SEQ)}),
    ("masked", {"_": over(In((2, 5), mask="holes"))}),
    ("masked_empty_sample", {"_": over(In((2, 5), mask="empty"))}),
)
invalid("Softmax", ("unknown_keyword", {"no_such_argument": 1}, ValueError))

# ---------------------------------------------------------------------------- more dropout
cases(
    "AlphaDropout",
    ("inference", {"rate": 0.5}),
    ("rate_zero_training", {"rate": 0.0, "_": over(**TRAIN)}),
    ("noise_shape", {"rate": 0.2, "noise_shape": (None, 1, 3), "seed": 2, "_": over(SEQ)}),
)
invalid("AlphaDropout", ("rate_above_one", {"rate": 1.5}, ValueError),
        ("rate_negative", {"rate": -0.2}, ValueError))
cases(
    "GaussianDropout",
    ("inference", {"rate": 0.5}),
    ("rate_zero_training", {"rate": 0.0, "_": over(**TRAIN)}),
    ("seeded", {"rate": 0.3, "seed": 4, "_": over(SEQ)}),
)
invalid("GaussianDropout", ("rate_above_one", {"rate": 1.5}, ValueError),
        ("rate_negative", {"rate": -0.2}, ValueError))
_VOLUME = In((2, 4, 5, 3, 2))
_VOLUME_CF = In((2, 2, 4, 5, 3))
cases(
    "SpatialDropout3D",
    ("inference", {"rate": 0.5}),
    ("channels_first", {"rate": 0.5, "data_format": "channels_first", "_": over(_VOLUME_CF)}),
    ("rate_zero_training", {"rate": 0.0, "_": over(**TRAIN)}),
    inputs=(_VOLUME,),
)
invalid("SpatialDropout3D", ("rate_above_one", {"rate": 1.5}, ValueError),
        ("bad_data_format", {"rate": 0.5, "data_format": "ndhwc"}, ValueError))

# ---------------------------------------------------------------------------- more convolutions
cases(
    "Conv1DTranspose",
    ("default", {"filters": 2, "kernel_size": 3}),
    ("strides_2_same", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}),
    ("strides_2_valid", {"filters": 2, "kernel_size": 3, "strides": 2}),
    ("output_padding", {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 1}),
    ("dilation", {"filters": 2, "kernel_size": 2, "dilation_rate": 2}),
    ("channels_first", {"filters": 2, "kernel_size": 3, "data_format": "channels_first",
                        "_": over(In((2, 3, 6)))}),
    ("relu_no_bias", {"filters": 3, "kernel_size": 2, "activation": "relu",
                      "use_bias": False}),
    inputs=(In((2, 6, 3)),),
)
invalid("Conv1DTranspose", ("filters_zero", {"filters": 0, "kernel_size": 2}, ValueError),
        ("bad_padding", {"filters": 2, "kernel_size": 2, "padding": "causal"}, ValueError))
cases(
    "Conv3D",
    ("default", {"filters": 2, "kernel_size": 2}),
    ("same_strides_2", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}),
    ("dilation", {"filters": 2, "kernel_size": 2, "dilation_rate": (2, 1, 1)}),
    ("channels_first", {"filters": 2, "kernel_size": 2, "data_format": "channels_first",
                        "_": over(_VOLUME_CF)}),
    ("groups", {"filters": 4, "kernel_size": 2, "groups": 2}),
    ("relu_no_bias", {"filters": 2, "kernel_size": (1, 2, 3), "activation": "relu",
                      "use_bias": False}),
    inputs=(_VOLUME,),
)
invalid("Conv3D", ("filters_zero", {"filters": 0, "kernel_size": 2}, ValueError),
        ("kernel_two_dims", {"filters": 2, "kernel_size": (2, 2)}, ValueError),
        ("bad_padding", {"filters": 2, "kernel_size": 2, "padding": "causal"}, ValueError))
cases(
    "Conv3DTranspose",
    ("default", {"filters": 2, "kernel_size": 2}),
    ("strides_2_same", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}),
    ("output_padding", {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 1}),
    ("channels_first", {"filters": 2, "kernel_size": 2, "data_format": "channels_first",
                        "_": over(_VOLUME_CF)}),
    ("relu_no_bias", {"filters": 2, "kernel_size": 2, "activation": "relu",
                      "use_bias": False}),
    inputs=(_VOLUME,),
)
invalid("Conv3DTranspose", ("filters_zero", {"filters": 0, "kernel_size": 2}, ValueError),
        ("bad_padding", {"filters": 2, "kernel_size": 2, "padding": "causal"}, ValueError))
cases(
    "DepthwiseConv1D",
    ("default", {"kernel_size": 3}),
    ("depth_multiplier", {"kernel_size": 2, "depth_multiplier": 2}),
    ("same_strides_2", {"kernel_size": 3, "strides": 2, "padding": "same"}),
    ("dilation", {"kernel_size": 2, "dilation_rate": 2}),
    ("channels_first", {"kernel_size": 2, "data_format": "channels_first",
                        "_": over(In((2, 3, 7)))}),
    ("relu_no_bias", {"kernel_size": 2, "activation": "relu", "use_bias": False}),
    inputs=(In((2, 7, 3)),),
)
invalid("DepthwiseConv1D", ("depth_multiplier_zero", {"kernel_size": 2,
                                                      "depth_multiplier": 0}, ValueError),
        ("kernel_zero", {"kernel_size": 0}, ValueError),
        ("causal", {"kernel_size": 2, "padding": "causal"}, ValueError))
cases(
    "SeparableConv1D",
    ("default", {"filters": 2, "kernel_size": 3}),
    ("depth_multiplier", {"filters": 3, "kernel_size": 2, "depth_multiplier": 2}),
    ("same_strides_2", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}),
    ("dilation", {"filters": 2, "kernel_size": 2, "dilation_rate": 2}),
    ("channels_first", {"filters": 2, "kernel_size": 2, "data_format": "channels_first",
                        "_": over(In((2, 3, 7)))}),
    ("relu_no_bias", {"filters": 2, "kernel_size": 2, "activation": "relu",
                      "use_bias": False}),
    inputs=(In((2, 7, 3)),),
)
invalid("SeparableConv1D", ("filters_zero", {"filters": 0, "kernel_size": 2}, ValueError),
        ("depth_multiplier_zero", {"filters": 2, "kernel_size": 2, "depth_multiplier": 0},
         ValueError),
        ("causal", {"filters": 2, "kernel_size": 2, "padding": "causal"}, ValueError))

# ---------------------------------------------------------------------------- 3D pooling, reshaping
for _name in ("MaxPooling3D", "AveragePooling3D"):
    cases(
        _name,
        ("pool_2", {"pool_size": 2}),
        ("pool_triple_strides", {"pool_size": (2, 3, 1), "strides": (1, 2, 1)}),
        ("same", {"pool_size": 2, "strides": 1, "padding": "same"}),
        ("same_pool_3", {"pool_size": 3, "padding": "same"}),
        ("channels_first", {"pool_size": 2, "data_format": "channels_first",
                            "_": over(_VOLUME_CF)}),
        inputs=(In((2, 4, 5, 3, 2)),),
    )
    invalid(_name, ("pool_zero", {"pool_size": 0}, ValueError),
            ("pool_size_too_long", {"pool_size": (2, 2)}, ValueError))
for _name in ("GlobalAveragePooling3D", "GlobalMaxPooling3D"):
    cases(
        _name,
        ("default", {}),
        ("keepdims", {"keepdims": True}),
        ("channels_first", {"data_format": "channels_first", "_": over(_VOLUME_CF)}),
        inputs=(_VOLUME,),
    )
    invalid(_name, ("bad_data_format", {"data_format": "ndhwc"}, ValueError))
cases(
    "Cropping3D",
    ("default", {}),
    ("int", {"cropping": 1}),
    ("triple", {"cropping": (1, 0, 1)}),
    ("nested", {"cropping": ((1, 0), (0, 2), (1, 1))}),
    ("channels_first", {"cropping": ((1, 0), (0, 1), (1, 0)), "data_format": "channels_first",
                        "_": over(In((2, 2, 4, 5, 3)))}),
    inputs=(In((2, 4, 5, 4, 2)),),
)
invalid("Cropping3D", ("two_values", {"cropping": (1, 2)}, ValueError),
        ("negative", {"cropping": -1}, ValueError))
cases(
    "UpSampling3D",
    ("default", {}),
    ("size_triple", {"size": (2, 1, 3)}),
    ("channels_first", {"size": 2, "data_format": "channels_first", "_": over(_VOLUME_CF)}),
    inputs=(In((2, 2, 3, 2, 2)),),
)
invalid("UpSampling3D", ("two_sizes", {"size": (2, 2)}, ValueError))
cases(
    "ZeroPadding3D",
    ("default", {}),
    ("int", {"padding": 2}),
    ("triple", {"padding": (1, 0, 2)}),
    ("nested", {"padding": ((1, 0), (0, 2), (1, 1))}),
    ("channels_first", {"padding": 1, "data_format": "channels_first",
                        "_": over(_VOLUME_CF)}),
    inputs=(_VOLUME,),
)
invalid("ZeroPadding3D", ("two_values", {"padding": (1, 2)}, ValueError))

# ---------------------------------------------------------------------------- adaptive pooling
for _name, _input, _size in (("AdaptiveAveragePooling1D", In((2, 9, 3)), 4),
                             ("AdaptiveMaxPooling1D", In((2, 9, 3)), 4),
                             ("AdaptiveAveragePooling2D", In((2, 7, 6, 3)), (3, 2)),
                             ("AdaptiveMaxPooling2D", In((2, 7, 6, 3)), (3, 2)),
                             ("AdaptiveAveragePooling3D", In((2, 5, 4, 6, 2)), (2, 3, 2)),
                             ("AdaptiveMaxPooling3D", In((2, 5, 4, 6, 2)), (2, 3, 2))):
    _rank = len(_input.shape) - 2
    cases(
        _name,
        ("default", {"output_size": _size}),
        ("int_size", {"output_size": 2}),
        ("channels_first", {"output_size": _size, "data_format": "channels_first",
                            "_": over(In((2, _input.shape[-1], *_input.shape[1:-1])))}),
        inputs=(_input,),
    )
    invalid(_name, ("bad_data_format", {"output_size": 2, "data_format": "nwc"}, ValueError))

# ---------------------------------------------------------------------------- more normalization
cases(
    "GroupNormalization",
    ("groups_2", {"groups": 2, "_": over(In((2, 5, 4)))}),
    ("groups_1", {"groups": 1, "_": over(In((2, 5, 4)))}),
    ("groups_per_channel", {"groups": 4, "_": over(In((2, 5, 4)))}),
    ("image", {"groups": 3, "_": over(In((2, 4, 3, 6)))}),
    ("axis_1", {"groups": 2, "axis": 1, "_": over(In((2, 4, 3, 5)))}),
    ("no_center_no_scale", {"groups": 2, "center": False, "scale": False,
                            "_": over(In((2, 5, 4)))}),
    ("epsilon", {"groups": 2, "epsilon": 0.5, "_": over(In((2, 5, 4)))}),
    ("masked", {"groups": 2, "_": over(In((2, 5, 4), mask="right"))}),
)
invalid("GroupNormalization",
        ("unknown_initializer", {"gamma_initializer": "no_such_init"}, ValueError))
cases(
    "UnitNormalization",
    ("default", {}),
    ("axis_1", {"axis": 1, "_": over(SEQ)}),
    ("axes_pair", {"axis": [1, 2], "_": over(SEQ)}),
    ("masked", {"_": over(SEQ_MASKED)}),
)
invalid("UnitNormalization", ("axis_string", {"axis": "last"}, TypeError))
cases(
    "RMSNormalization",
    ("default", {}),
    ("axis_pair", {"axis": [1, 2], "_": over(SEQ)}),
    ("epsilon", {"epsilon": 0.1}),
    ("sequence", {"_": over(SEQ)}),
)
invalid("RMSNormalization", ("unknown_keyword", {"no_such_argument": 1}, ValueError))
invalid("UnitNormalization", ("axis_float", {"axis": 1.5}, TypeError))

# ---------------------------------------------------------------------------- more attention
_KV = In((2, 5, 4))
cases(
    "Attention",
    ("self", {}),
    ("cross", {"_": over((_Q, _KV))}),
    ("key", {"_": over((_Q, _KV, In((2, 5, 4))))}),
    ("use_scale", {"use_scale": True, "_": over((_Q, _KV))}),
    ("concat_score", {"score_mode": "concat", "_": over((_Q, _KV))}),
    ("concat_score_scaled", {"score_mode": "concat", "use_scale": True,
                             "_": over((_Q, _KV))}),
    ("scores", {"_": over((_Q, _KV), return_attention_scores=True)}),
    ("causal", {"_": over((_Q, _Q), use_causal_mask=True)}),
    ("masked", {"_": over((In((2, 3, 4), mask="right"), In((2, 5, 4), mask="holes")))}),
    ("dropout_inference", {"dropout": 0.5, "_": over((_Q, _KV))}),
    inputs=(_Q, _Q),
    as_list=True,
)
invalid("Attention", ("bad_score_mode", {"score_mode": "cosine"}, ValueError))
cases(
    "AdditiveAttention",
    ("self", {}),
    ("cross", {"_": over((_Q, _KV))}),
    ("no_scale", {"use_scale": False, "_": over((_Q, _KV))}),
    ("scores", {"_": over((_Q, _KV), return_attention_scores=True)}),
    ("causal", {"_": over((_Q, _Q), use_causal_mask=True)}),
    ("masked", {"_": over((In((2, 3, 4), mask="right"), In((2, 5, 4), mask="holes")))}),
    inputs=(_Q, _Q),
    as_list=True,
)
invalid("AdditiveAttention", ("unknown_keyword", {"no_such_argument": 1}, ValueError))
cases(
    "GroupQueryAttention",
    ("self", {"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 2}),
    ("cross", {"head_dim": 3, "num_query_heads": 2, "num_key_value_heads": 1,
               "_": over((_Q, _KV))}),
    ("no_bias", {"head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 2,
                 "use_bias": False, "_": over((_Q, _KV))}),
    ("scores", {"head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 1,
                "_": over((_Q, _KV), return_attention_scores=True)}),
    ("causal", {"head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 1,
                "_": over((_Q, _Q), use_causal_mask=True)}),
    inputs=(_Q, _Q),
)
invalid("GroupQueryAttention", ("heads_not_dividing", {
    "head_dim": 2, "num_query_heads": 3, "num_key_value_heads": 2}, ValueError))

cases(
    "EinsumDense",
    ("matrix", {"equation": "ab,bc->ac", "output_shape": 3, "bias_axes": "c"}),
    ("sequence", {"equation": "abc,cd->abd", "output_shape": (5, 2), "bias_axes": "d",
                  "_": over(SEQ)}),
    ("sequence_unknown_length", {"equation": "abc,cd->abd", "output_shape": (None, 2),
                                 "_": over(SEQ)}),
    ("heads", {"equation": "abc,cde->abde", "output_shape": (None, 2, 2),
               "bias_axes": "de", "activation": "relu", "_": over(SEQ)}),
)
invalid("EinsumDense", ("unknown_keyword", {"equation": "ab,bc->ac", "output_shape": 3,
                                           "no_such_argument": 1}, ValueError))

cases(
    "ReversibleEmbedding",
    ("default", {"input_dim": 6, "output_dim": 3}),
    ("untied", {"input_dim": 6, "output_dim": 3, "tie_weights": False}),
    ("reverse", {"input_dim": 6, "output_dim": 3, "_": over(In((2, 3)), reverse=True)}),
    ("reverse_untied", {"input_dim": 6, "output_dim": 3, "tie_weights": False,
                        "_": over(In((2, 3)), reverse=True)}),
    ("soft_cap_reverse", {"input_dim": 6, "output_dim": 3, "logit_soft_cap": 2.0,
                          "_": over(In((2, 3)), reverse=True)}),
    ("mask_zero", {"input_dim": 6, "output_dim": 3, "mask_zero": True}),
    inputs=(_TOKENS,),
)
invalid("ReversibleEmbedding", ("input_dim_zero", {"input_dim": 0, "output_dim": 3},
                                ValueError))

# ---------------------------------------------------------------------------- cells, RNN, ConvLSTM
_X_STEP = In((2, 3))
for _name, _n_states in (("SimpleRNNCell", 1), ("LSTMCell", 2), ("GRUCell", 1)):
    _states = tuple(In((2, 4)) for _ in range(_n_states))
    cases(
        _name,
        ("default", {"units": 4}),
        ("no_bias", {"units": 4, "use_bias": False}),
        ("relu", {"units": 4, "activation": "relu"}),
        ("dropout_inference", {"units": 4, "dropout": 0.5, "recurrent_dropout": 0.5}),
        *([("reset_before", {"units": 4, "reset_after": False})] if _name == "GRUCell"
          else []),
        inputs=(_X_STEP,),
        tensor_call={"states": _states},
    )
    invalid(_name, ("units_zero", {"units": 0}, ValueError),
            ("units_negative", {"units": -1}, ValueError))
cases(
    "StackedRNNCells",
    ("two_cells", {"cells": [Sub("SimpleRNNCell", {"units": 4, "name": "cell_a"}),
                             Sub("SimpleRNNCell", {"units": 4, "name": "cell_b"})]}),
    inputs=(_X_STEP,),
    tensor_call={"states": ((In((2, 4)),), (In((2, 4)),))},
)
invalid("StackedRNNCells", ("not_cells", {"cells": [3]}, ValueError),
        ("int", {"cells": 3}, TypeError))
cases(
    "RNN",
    ("lstm_cell", {"cell": Sub("LSTMCell", {"units": 4, "name": "cell"})}),
    ("gru_cell_sequences", {"cell": Sub("GRUCell", {"units": 4, "name": "cell"}),
                            "return_sequences": True}),
    ("simple_cell_state_backwards", {"cell": Sub("SimpleRNNCell", {"units": 4,
                                                                   "name": "cell"}),
                                     "return_state": True, "go_backwards": True}),
    ("stacked_cells", {"cell": [Sub("SimpleRNNCell", {"units": 4, "name": "cell_a"}),
                                Sub("LSTMCell", {"units": 2, "name": "cell_b"})],
                       "return_sequences": True}),
    ("masked", {"cell": Sub("LSTMCell", {"units": 4, "name": "cell"}),
                "return_sequences": True, "_": over(In((2, 5, 3), mask="holes"))}),
    inputs=(SEQ,),
)
invalid("RNN", ("not_a_cell", {"cell": 3}, ValueError),
        ("not_cells", {"cell": [3]}, ValueError))
cases(
    "ConvLSTM1D",
    ("default", {"filters": 2, "kernel_size": 2}),
    ("same_sequences", {"filters": 2, "kernel_size": 3, "padding": "same",
                        "return_sequences": True}),
    ("state", {"filters": 2, "kernel_size": 2, "return_state": True}),
    inputs=(In((2, 3, 6, 2)),),
)
invalid("ConvLSTM1D", ("kernel_size_too_long", {"filters": 2, "kernel_size": (2, 2)},
                       ValueError),
        ("causal", {"filters": 2, "kernel_size": 2, "padding": "causal"}, ValueError))
cases(
    "ConvLSTM2D",
    ("default", {"filters": 2, "kernel_size": 2}),
    ("same_sequences", {"filters": 2, "kernel_size": 3, "padding": "same",
                        "return_sequences": True}),
    inputs=(In((2, 3, 5, 4, 2)),),
)
invalid("ConvLSTM2D", ("kernel_size_too_long", {"filters": 2, "kernel_size": (2, 2, 2)},
                       ValueError))
cases(
    "ConvLSTM3D",
    ("default", {"filters": 2, "kernel_size": 2}),
    inputs=(In((2, 2, 3, 4, 3, 1)),),
)
invalid("ConvLSTM3D", ("kernel_size_too_short", {"filters": 2, "kernel_size": (2, 2)},
                       ValueError))
cases(
    "SpectralNormalization",
    ("dense_inference", {"layer": Sub("Dense", {"units": 3, "name": "inner_dense"})}),
    ("dense_training", {"layer": Sub("Dense", {"units": 3, "name": "inner_dense"}),
                        "_": over(**TRAIN)}),
    ("conv_training", {"layer": Sub("Conv1D", {"filters": 2, "kernel_size": 2,
                                               "name": "inner_conv"}),
                       "power_iterations": 2, "_": over(In((2, 5, 3)), **TRAIN)}),
)
invalid("SpectralNormalization", (
    "power_iterations_zero",
    {"layer": Sub("Dense", {"units": 3, "name": "inner"}), "power_iterations": 0},
    ValueError))

# ---------------------------------------------------------------------------- functions
# keras.layers' functional forms of the merging layers: ``add([x, y])`` and so on. Each
# is a Case whose ``layer`` is the function's name; only the outputs, their masks and the
# symbolic call are compared (FUNCTION_CHECKS).
for _name in ("add", "multiply", "average", "maximum", "minimum", "subtract"):
    cases(_name, ("two", {}), ("masked", {"_": over(_PAIR_MASKED)}), inputs=_PAIR,
          as_list=True)
cases("concatenate", ("last_axis", {}), ("axis_1", {"axis": 1}),
      ("masked", {"axis": 1, "_": over(_PAIR_MASKED)}), inputs=_PAIR, as_list=True)
cases("dot", ("axes_2", {"axes": 2}), ("axes_pair_normalize", {"axes": (2, 2),
                                                               "normalize": True}),
      inputs=(In((2, 3, 4)), In((2, 5, 4))), as_list=True)


def all_cases() -> list[Case]:
    """Every configuration, in table order."""
    return [case for found in CASES.values() for case in found]


def all_invalid() -> list[Invalid]:
    """Every invalid-arguments entry, in table order."""
    return [entry for found in INVALID.values() for entry in found]


def _check_ids() -> None:
    for table in (CASES, INVALID):
        for layer, entries in table.items():
            ids = [entry.id for entry in entries]
            duplicates = sorted({i for i in ids if ids.count(i) > 1})
            if duplicates:
                raise AssertionError(f"{layer}: duplicate case ids {duplicates}")


_check_ids()
