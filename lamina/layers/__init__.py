"""lamina's layers: every one a ``torch.nn.Module`` with Keras's semantics and weight layout."""

# Ops on symbolic tensors become Lambda nodes once layers exist (ops sit below layers).
from lamina.layers import op_layer  # noqa: E402, F401, I001
from lamina.layers.attention import MultiHeadAttention
from lamina.layers.conv_extra import Conv2DTranspose, DepthwiseConv2D, SeparableConv2D
from lamina.layers.convolutional import Conv1D, Conv2D
from lamina.layers.core import Activation, Dense, Dropout, Identity
from lamina.layers.embedding import Embedding, Masking
from lamina.layers.input_layer import Input, InputLayer
from lamina.layers.lambda_layer import Lambda
from lamina.layers.layer import Layer
from lamina.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
)
from lamina.layers.normalization import BatchNormalization, LayerNormalization
from lamina.layers.pooling import (
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
)
from lamina.layers.pooling_spatial import (
    AveragePooling1D,
    AveragePooling2D,
    MaxPooling1D,
    MaxPooling2D,
)
from lamina.layers.recurrent import GRU, LSTM, SimpleRNN
from lamina.layers.regularization import (
    ActivityRegularization,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
)
from lamina.layers.reshaping import Flatten, Permute, RepeatVector, Reshape
from lamina.layers.reshaping_spatial import (
    Cropping1D,
    Cropping2D,
    UpSampling1D,
    UpSampling2D,
    ZeroPadding1D,
    ZeroPadding2D,
)
from lamina.layers.wrappers import Bidirectional, TimeDistributed

__all__ = [
    "Activation",
    "ActivityRegularization",
    "Add",
    "Average",
    "AveragePooling1D",
    "AveragePooling2D",
    "BatchNormalization",
    "Bidirectional",
    "Concatenate",
    "Conv1D",
    "Conv2D",
    "Conv2DTranspose",
    "Cropping1D",
    "Cropping2D",
    "Dense",
    "DepthwiseConv2D",
    "Dot",
    "Dropout",
    "Embedding",
    "Flatten",
    "GRU",
    "GaussianNoise",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "Identity",
    "Input",
    "InputLayer",
    "LSTM",
    "Lambda",
    "Layer",
    "LayerNormalization",
    "Masking",
    "MaxPooling1D",
    "MaxPooling2D",
    "Maximum",
    "Minimum",
    "MultiHeadAttention",
    "Multiply",
    "Permute",
    "RepeatVector",
    "Reshape",
    "SeparableConv2D",
    "SimpleRNN",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "Subtract",
    "TimeDistributed",
    "UpSampling1D",
    "UpSampling2D",
    "ZeroPadding1D",
    "ZeroPadding2D",
]
