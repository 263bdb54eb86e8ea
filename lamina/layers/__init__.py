"""lamina's layers: every one a ``torch.nn.Module`` with Keras's semantics and weight layout.

Their arguments, defaults and ``get_config`` keys are Keras 3's (``activity_regularizer``
on every layer; the weight regularizers and constraints), with these differences: ``dtype`` is
a dtype name rather than a dtype policy (Keras's policy configs are read); initializers
serialize as ``lamina.initializers`` objects of the same class names and arguments; Keras's
LoRA and quantization arguments (``EinsumDense``'s) accept only their off values.
Arguments are checked on construction (a wrong type is a ``TypeError``, a wrong value a
``ValueError``, as in Keras), some that Keras only refuses when called.
``SimpleRNN``, ``LSTM`` and ``GRU`` hold their cell's weights themselves (Keras's are in a
cell layer; the paths are Keras's) and are not ``RNN`` subclasses; ``RNN`` runs any cell.
``BatchNormalization(synchronized=True)``, which Keras 3 takes on TensorFlow only, sums the
batch statistics over the processes of a ``torch.distributed`` group.
``tests/test_layers_keras_parity.py``, ``tests/test_attention_keras_parity.py``,
``tests/test_recurrent_keras_parity.py``, ``tests/test_normalization_keras_parity.py`` and
the oracle of ``tests/keras_oracle`` compare layers with Keras 3 on torch.
"""

# Ops on symbolic tensors become Lambda nodes once layers exist (ops sit below layers).
from lamina.layers import op_layer  # noqa: E402, F401, I001
from lamina.layers.activations import ELU, PReLU, LeakyReLU, ReLU, Softmax
from lamina.layers.adaptive_pooling import (
    AdaptiveAveragePooling1D,
    AdaptiveAveragePooling2D,
    AdaptiveAveragePooling3D,
    AdaptiveMaxPooling1D,
    AdaptiveMaxPooling2D,
    AdaptiveMaxPooling3D,
)
from lamina.layers.attention import MultiHeadAttention
from lamina.layers.conv_1d_3d import (
    Conv1DTranspose,
    Conv3D,
    Conv3DTranspose,
    DepthwiseConv1D,
    SeparableConv1D,
)
from lamina.layers.conv_extra import Conv2DTranspose, DepthwiseConv2D, SeparableConv2D
from lamina.layers.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from lamina.layers.convolutional import Conv1D, Conv2D
from lamina.layers.core import Activation, Dense, Dropout, Identity
from lamina.layers.dense_attention import AdditiveAttention, Attention
from lamina.layers.einsum_dense import EinsumDense
from lamina.layers.embedding import Embedding, Masking
from lamina.layers.global_pooling import GlobalAveragePooling3D, GlobalMaxPooling3D
from lamina.layers.group_normalization import GroupNormalization, UnitNormalization
from lamina.layers.grouped_query_attention import GroupedQueryAttention, GroupQueryAttention
from lamina.layers.input_layer import Input, InputLayer
from lamina.layers.lambda_layer import Lambda
from lamina.layers.layer import Layer
from lamina.layers.rms_normalization import RMSNormalization
from lamina.layers.merging import (
    Add,
    Average,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
)
from lamina.layers.merging_axes import Concatenate, Dot
from lamina.layers.merge_functions import (
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from lamina.layers.noise import AlphaDropout, GaussianDropout, SpatialDropout3D
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
from lamina.layers.pooling_3d import AveragePooling3D, MaxPooling3D
from lamina.layers.preprocessing_category import CategoryEncoding, Discretization
from lamina.layers.preprocessing_geometric import RandomRotation, RandomTranslation, RandomZoom
from lamina.layers.preprocessing_hashing import Hashing
from lamina.layers.preprocessing_image import CenterCrop, Resizing
from lamina.layers.preprocessing_lookup import IntegerLookup, StringLookup
from lamina.layers.preprocessing_numeric import Normalization, Rescaling
from lamina.layers.preprocessing_random import (
    RandomBrightness,
    RandomContrast,
    RandomCrop,
    RandomFlip,
)
from lamina.layers.preprocessing_text_vectorization import TextVectorization
from lamina.layers.recurrent import GRU, LSTM, SimpleRNN
from lamina.layers.regularization import (
    ActivityRegularization,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
)
from lamina.layers.rnn import RNN
from lamina.layers.rnn_cells import GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from lamina.layers.reshaping import Flatten, Permute, RepeatVector, Reshape
from lamina.layers.reshaping_3d import Cropping3D, UpSampling3D, ZeroPadding3D
from lamina.layers.reshaping_spatial import (
    Cropping1D,
    Cropping2D,
    UpSampling1D,
    UpSampling2D,
    ZeroPadding1D,
    ZeroPadding2D,
)
from lamina.layers.reversible_embedding import ReversibleEmbedding
from lamina.layers.spectral_normalization import SpectralNormalization
from lamina.layers.torch_module import TorchModuleWrapper
from lamina.layers.serialization import deserialize_layer, serialize_layer
from lamina.layers.wrappers import Bidirectional, TimeDistributed
from lamina.keras_names import missing_name

# Keras's other names of the same classes (a config names the class itself).
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
AvgPool3D = AveragePooling3D
Convolution1D = Conv1D
Convolution1DTranspose = Conv1DTranspose
Convolution2D = Conv2D
Convolution2DTranspose = Conv2DTranspose
Convolution3D = Conv3D
Convolution3DTranspose = Conv3DTranspose
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalAvgPool3D = GlobalAveragePooling3D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalMaxPool3D = GlobalMaxPooling3D
MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D
MaxPool3D = MaxPooling3D
SeparableConvolution1D = SeparableConv1D
SeparableConvolution2D = SeparableConv2D

# Keras's ``layers.serialize`` / ``layers.deserialize``.
serialize = serialize_layer
deserialize = deserialize_layer

__all__ = [
    "AvgPool1D",
    "AvgPool2D",
    "AvgPool3D",
    "Convolution1D",
    "Convolution1DTranspose",
    "Convolution2D",
    "Convolution2DTranspose",
    "Convolution3D",
    "Convolution3DTranspose",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalAvgPool3D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPool3D",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPool3D",
    "SeparableConvolution1D",
    "SeparableConvolution2D",
    "deserialize",
    "serialize",
    "Activation",
    "ActivityRegularization",
    "AdaptiveAveragePooling1D",
    "AdaptiveAveragePooling2D",
    "AdaptiveAveragePooling3D",
    "AdaptiveMaxPooling1D",
    "AdaptiveMaxPooling2D",
    "AdaptiveMaxPooling3D",
    "Add",
    "AdditiveAttention",
    "AlphaDropout",
    "Attention",
    "Average",
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "BatchNormalization",
    "Bidirectional",
    "CategoryEncoding",
    "Concatenate",
    "Conv1D",
    "Conv1DTranspose",
    "Conv2D",
    "Conv2DTranspose",
    "Conv3D",
    "Conv3DTranspose",
    "ConvLSTM1D",
    "ConvLSTM2D",
    "ConvLSTM3D",
    "Cropping1D",
    "Cropping2D",
    "Cropping3D",
    "Dense",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "Discretization",
    "Dot",
    "Dropout",
    "ELU",
    "EinsumDense",
    "Embedding",
    "Flatten",
    "GRU",
    "GRUCell",
    "GaussianDropout",
    "GaussianNoise",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAveragePooling3D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalMaxPooling3D",
    "GroupNormalization",
    "GroupQueryAttention",
    "GroupedQueryAttention",
    "Hashing",
    "Identity",
    "Input",
    "InputLayer",
    "IntegerLookup",
    "LSTM",
    "LSTMCell",
    "Lambda",
    "Layer",
    "LayerNormalization",
    "LeakyReLU",
    "Masking",
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
    "Maximum",
    "Minimum",
    "MultiHeadAttention",
    "Multiply",
    "PReLU",
    "Permute",
    "CenterCrop",
    "Normalization",
    "RandomBrightness",
    "RandomContrast",
    "RandomCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "Rescaling",
    "Resizing",
    "RMSNormalization",
    "RNN",
    "ReLU",
    "RepeatVector",
    "Reshape",
    "ReversibleEmbedding",
    "SeparableConv1D",
    "SeparableConv2D",
    "SimpleRNN",
    "SimpleRNNCell",
    "Softmax",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "SpectralNormalization",
    "StringLookup",
    "StackedRNNCells",
    "Subtract",
    "TextVectorization",
    "TimeDistributed",
    "TorchModuleWrapper",
    "UnitNormalization",
    "UpSampling1D",
    "UpSampling2D",
    "UpSampling3D",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "ZeroPadding3D",
    "add",
    "average",
    "concatenate",
    "dot",
    "maximum",
    "minimum",
    "multiply",
    "subtract",
]


def __getattr__(name: str) -> object:
    """A clear ``AttributeError`` for a Keras name lamina lacks (see ``keras_names.py``)."""
    raise missing_name('layers', name, globals())
