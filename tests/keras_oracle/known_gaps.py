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

MISSING_LAYERS: dict[str, str] = {
    "AdaptiveAveragePooling1D": "no adaptive pooling in lamina (output_size -> torch's adaptive pools)",
    "AdaptiveAveragePooling2D": "no adaptive pooling in lamina",
    "AdaptiveAveragePooling3D": "no adaptive pooling in lamina",
    "AdaptiveMaxPooling1D": "no adaptive pooling in lamina",
    "AdaptiveMaxPooling2D": "no adaptive pooling in lamina",
    "AdaptiveMaxPooling3D": "no adaptive pooling in lamina",
    "RMSNormalization": "no RMSNormalization (nor LayerNormalization(rms_scaling=True))",
    "SpectralNormalization": "no SpectralNormalization wrapper",
    "ReversibleEmbedding": "no ReversibleEmbedding (tied input/output embedding)",
    "serialize": "no keras.layers.serialize (lamina.layers.serialization.serialize_layer is "
                 "not exported under Keras's name)",
    "deserialize": "no keras.layers.deserialize (lamina.layers.serialization.deserialize_layer "
                   "is not exported under Keras's name)",
}

MISSING_ALIASES: dict[str, str] = {
    "AvgPool1D": "AveragePooling1D",
    "AvgPool2D": "AveragePooling2D",
    "AvgPool3D": "AveragePooling3D",
    "Convolution1D": "Conv1D",
    "Convolution1DTranspose": "Conv1DTranspose",
    "Convolution2D": "Conv2D",
    "Convolution2DTranspose": "Conv2DTranspose",
    "Convolution3D": "Conv3D",
    "Convolution3DTranspose": "Conv3DTranspose",
    "GlobalAvgPool1D": "GlobalAveragePooling1D",
    "GlobalAvgPool2D": "GlobalAveragePooling2D",
    "GlobalAvgPool3D": "GlobalAveragePooling3D",
    "GlobalMaxPool1D": "GlobalMaxPooling1D",
    "GlobalMaxPool2D": "GlobalMaxPooling2D",
    "GlobalMaxPool3D": "GlobalMaxPooling3D",
    "MaxPool1D": "MaxPooling1D",
    "MaxPool2D": "MaxPooling2D",
    "MaxPool3D": "MaxPooling3D",
    "SeparableConvolution1D": "SeparableConv1D",
    "SeparableConvolution2D": "SeparableConv2D",
}

CASE_GAPS: dict[tuple[str, str, str], str] = {
    # Dense
    ('Dense', '*', 'from_keras_config'):
        "from_config(Keras's config) raised UnknownArgumentError: Dense: unexpected keyword argument(s) ['quantization_config']. Check the spelling against the layer's documented arguments.",
    # SpatialDropout1D
    ('SpatialDropout1D', '*', 'config'):
        'keys only in lamina: trainable',
    ('SpatialDropout1D', '*', 'to_keras_config'):
        "lamina's config has 'trainable', which Keras's SpatialDropout constructor does not take: Keras's from_config raises TypeError",
    # SpatialDropout2D
    ('SpatialDropout2D', '*', 'config'):
        'keys only in lamina: trainable',
    ('SpatialDropout2D', '*', 'to_keras_config'):
        "lamina's config has 'trainable', which Keras's SpatialDropout constructor does not take: Keras's from_config raises TypeError",
    # Embedding
    ('Embedding', '*', 'config'):
        'keys only in Keras: activity_regularizer',
    ('Embedding', '*', 'from_keras_config'):
        "from_config(Keras's config) raised UnknownArgumentError: Embedding: unexpected keyword argument(s) ['quantization_config']. Check the spelling against the layer's documented arguments.",
    # Conv1D
    ('Conv1D', '*', 'config'):
        'keys only in Keras: activity_regularizer',
    # Conv2D
    ('Conv2D', '*', 'config'):
        'keys only in Keras: activity_regularizer',
    # Conv2DTranspose
    ('Conv2DTranspose', '*', 'config'):
        'keys only in Keras: activity_regularizer',
    # DepthwiseConv2D
    ('DepthwiseConv2D', '*', 'config'):
        'keys only in Keras: activity_regularizer',
    # SeparableConv2D
    ('SeparableConv2D', '*', 'config'):
        'keys only in Keras: activity_regularizer',
    # AveragePooling2D
    ('AveragePooling2D', 'same_pool_3', 'gradients'):
        "padding='same', pool_size=3: border-window input gradients differ (see output)",
    ('AveragePooling2D', 'same_pool_3', 'output'):
        "padding='same', pool_size=3 (strides 3): the border windows differ (Keras averages the valid cells only; the 1D layer agrees)",
    # GlobalAveragePooling1D
    ('GlobalAveragePooling1D', 'masked_empty_sample', 'gradients'):
        "a sample with every step masked: Keras's input gradient is 0, lamina's NaN (the masked mean's 0/0); the outputs agree",
    # GlobalMaxPooling1D
    ('GlobalMaxPooling1D', 'masked', 'gradients'):
        "masked steps: Keras ignores the mask, so its max (and gradient) may sit on a masked step; lamina's never does",
    ('GlobalMaxPooling1D', 'masked_holes_keepdims', 'gradients'):
        'masked steps: Keras ignores the mask, lamina leaves masked steps out (gradients differ)',
    ('GlobalMaxPooling1D', 'masked_empty_sample', 'gradients'):
        "a sample with every step masked: lamina's input gradient is 0, Keras's that of the plain max",
    ('GlobalMaxPooling1D', 'masked', 'output'):
        "Keras's GlobalMaxPooling1D ignores the mask (it does not support masking), lamina leaves masked steps out of the max",
    ('GlobalMaxPooling1D', 'masked_holes_keepdims', 'output'):
        "Keras's GlobalMaxPooling1D ignores the mask, lamina leaves masked steps out of the max",
    ('GlobalMaxPooling1D', 'masked_empty_sample', 'output'):
        'a sample with every step masked: lamina returns -inf, Keras (which ignores the mask) the plain max',
    # BatchNormalization
    ('BatchNormalization', '*', 'config'):
        'keys only in Keras: renorm, renorm_clipping, renorm_momentum, synchronized',
    ('BatchNormalization', '*', 'from_keras_config'):
        "from_config(Keras's config) raised UnknownArgumentError: BatchNormalization: unexpected keyword argument(s) ['renorm', 'renorm_clipping', 'renorm_momentum', 'synchronized']. Check the spelling against the layer's documented arguments.",
    # LayerNormalization
    ('LayerNormalization', 'rms_scaling', '*'):
        "constructor raises UnknownArgumentError: LayerNormalization: unexpected keyword argument(s) ['rms_scaling']. Check the spelling against the layer's documented arguments.",
    ('LayerNormalization', '*', 'config'):
        'e.g. keys only in Keras: rms_scaling; axis: Keras [-1], lamina -1',
    ('LayerNormalization', '*', 'from_keras_config'):
        "from_config(Keras's config) raised UnknownArgumentError: LayerNormalization: unexpected keyword argument(s) ['rms_scaling']. Check the spelling against the layer's documented arguments.",
    ('LayerNormalization', 'default', 'to_keras_config'):
        "Keras rebuilt from lamina's config: axis: Keras [-1], rebuilt -1",
    ('LayerNormalization', 'epsilon', 'to_keras_config'):
        "Keras rebuilt from lamina's config: axis: Keras [-1], rebuilt -1",
    ('LayerNormalization', 'no_center_no_scale', 'to_keras_config'):
        "Keras rebuilt from lamina's config: axis: Keras [-1], rebuilt -1",
    ('LayerNormalization', 'masked', 'to_keras_config'):
        "Keras rebuilt from lamina's config: axis: Keras [-1], rebuilt -1",
    ('LayerNormalization', 'float64', 'to_keras_config'):
        "Keras rebuilt from lamina's config: axis: Keras [-1], rebuilt -1",
    ('LayerNormalization', 'regularizers', 'to_keras_config'):
        "Keras rebuilt from lamina's config: axis: Keras [-1], rebuilt -1",
    # Bidirectional
    ('Bidirectional', '*', 'to_keras_config'):
        "lamina's nested layer config has no 'module' (Keras writes 'module': 'keras.layers'): Keras's from_config raises TypeError: Could not locate class 'LSTM'",
    ('Bidirectional', '*', 'weight_paths'):
        "the inner layers' weights lack the wrapper's name: Keras subject/forward_inner_lstm/lstm_cell/kernel, lamina forward_inner_lstm/lstm_cell/kernel",
    # TimeDistributed
    ('TimeDistributed', 'conv1d', 'config'):
        'layer.config.keys only in Keras: activity_regularizer',
    ('TimeDistributed', 'flatten', 'config'):
        'layer.config.keys only in Keras: data_format',
    ('TimeDistributed', 'dense', 'from_keras_config'):
        "from_config(Keras's config) raised SerializationError: Could not rebuild layer 'None' (Dense) from its config: Dense: unexpected keyword argument(s) ['quantization_config']. Check the spelling against the layer's documented arguments.",
    ('TimeDistributed', 'dense_masked', 'from_keras_config'):
        "from_config(Keras's config) raised SerializationError: Could not rebuild layer 'None' (Dense) from its config: Dense: unexpected keyword argument(s) ['quantization_config']. Check the spelling against the layer's documented arguments.",
    ('TimeDistributed', 'flatten', 'from_keras_config'):
        "from_config(Keras's config) raised SerializationError: Could not rebuild layer 'None' (Flatten) from its config: Flatten: unexpected keyword argument(s) ['data_format']. Check the spelling against the layer's documented arguments.",
    ('TimeDistributed', '*', 'to_keras_config'):
        "lamina's nested layer config has no 'module' (Keras writes 'module': 'keras.layers'): Keras's from_config raises TypeError: Could not locate class 'Dense'",
    ('TimeDistributed', 'dense', 'weight_paths'):
        "the inner layer's weights lack the wrapper's name: Keras subject/inner_dense/kernel, lamina inner_dense/kernel",
    ('TimeDistributed', 'dense_masked', 'weight_paths'):
        "the inner layer's weights lack the wrapper's name: Keras subject/inner_dense/kernel, lamina inner_dense/kernel",
    ('TimeDistributed', 'conv1d', 'weight_paths'):
        "the inner layer's weights lack the wrapper's name: Keras subject/inner_conv/kernel, lamina inner_conv/kernel",
    # Flatten
    ('Flatten', 'channels_first', '*'):
        "constructor raises UnknownArgumentError: Flatten: unexpected keyword argument(s) ['data_format']. Check the spelling against the layer's documented arguments.",
    ('Flatten', '*', 'config'):
        'keys only in Keras: data_format',
    ('Flatten', '*', 'from_keras_config'):
        "from_config(Keras's config) raised UnknownArgumentError: Flatten: unexpected keyword argument(s) ['data_format']. Check the spelling against the layer's documented arguments.",
    # SpatialDropout3D
    ('SpatialDropout3D', '*', 'config'):
        'keys only in lamina: trainable',
    ('SpatialDropout3D', '*', 'to_keras_config'):
        "lamina's config has 'trainable', which Keras's SpatialDropout constructor does not take: Keras's from_config raises TypeError",
    # Conv1DTranspose
    ('Conv1DTranspose', '*', 'config'):
        'keys only in Keras: activity_regularizer',
    # Conv3D
    ('Conv3D', '*', 'config'):
        'keys only in Keras: activity_regularizer',
    # Conv3DTranspose
    ('Conv3DTranspose', '*', 'config'):
        'keys only in Keras: activity_regularizer',
    # DepthwiseConv1D
    ('DepthwiseConv1D', '*', 'config'):
        'keys only in Keras: activity_regularizer',
    # SeparableConv1D
    ('SeparableConv1D', '*', 'config'):
        'keys only in Keras: activity_regularizer',
    # AveragePooling3D
    ('AveragePooling3D', 'same_pool_3', 'gradients'):
        "padding='same', pool_size=3: border-window input gradients differ (see output)",
    ('AveragePooling3D', 'same_pool_3', 'output'):
        "padding='same', pool_size=3 (strides 3): the border windows differ (Keras averages the valid cells only; the 1D layer agrees)",
}

INVALID_GAPS: dict[tuple[str, str], str] = {
    ('Dropout', 'noise_shape_string'):
        "lamina accepts Dropout(**{'rate': 0.5, 'noise_shape': 'x'}); Keras raises ValueError",
    ('GaussianNoise', 'stddev_string'):
        "lamina raises ArgumentError: GaussianNoise: stddev must be a number in [0, 1], received stddev='x'.; Keras raises TypeError",
    ('Conv1D', 'strides_and_dilation'):
        "lamina accepts Conv1D(**{'filters': 2, 'kernel_size': 2, 'strides': 2, 'dilation_rate': 2}); Keras raises ValueError",
    ('LayerNormalization', 'axis_string'):
        "lamina raises ArgumentError: LayerNormalization: axis must be an int or a list of ints, received axis='last'.; Keras raises TypeError",
    ('LayerNormalization', 'axis_float'):
        'lamina raises ArgumentError: LayerNormalization: axis must be an int or a list of ints, received axis=1.5.; Keras raises TypeError',
    ('Bidirectional', 'not_a_layer'):
        "lamina raises ArgumentTypeError: Bidirectional: layer must be a recurrent lamina layer (LSTM, GRU, SimpleRNN...), received 'lstm'.; Keras raises ValueError",
}


def case_gap(layer: str, case_id: str, check: str) -> str | None:
    """The reason a (layer, configuration, check) is a known gap, or None."""
    if layer in MISSING_LAYERS:
        return f"lamina has no {layer}: {MISSING_LAYERS[layer]}"
    for key in ((layer, case_id, check), (layer, case_id, "*"), (layer, "*", check)):
        if key in CASE_GAPS:
            return CASE_GAPS[key]
    return None


def invalid_gap(layer: str, entry_id: str) -> str | None:
    """The reason an invalid-arguments entry is a known gap, or None."""
    if layer in MISSING_LAYERS:
        return f"lamina has no {layer}: {MISSING_LAYERS[layer]}"
    return INVALID_GAPS.get((layer, entry_id))
