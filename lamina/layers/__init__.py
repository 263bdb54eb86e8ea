"""lamina's layers: every one a ``torch.nn.Module`` with Keras's semantics and weight layout."""

from lamina.layers.core import Activation, Dense, Dropout, Identity
from lamina.layers.embedding import Embedding, Masking
from lamina.layers.input_layer import InputLayer
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
from lamina.layers.pooling import GlobalAveragePooling1D
from lamina.layers.reshaping import Flatten, Permute, RepeatVector, Reshape

__all__ = [
    "Activation",
    "Add",
    "Average",
    "Concatenate",
    "Dense",
    "Dot",
    "Dropout",
    "Embedding",
    "Flatten",
    "GlobalAveragePooling1D",
    "Identity",
    "InputLayer",
    "Lambda",
    "Layer",
    "Masking",
    "Maximum",
    "Minimum",
    "Multiply",
    "Permute",
    "RepeatVector",
    "Reshape",
    "Subtract",
]
