"""lamina's layers: every one a ``torch.nn.Module`` with Keras's semantics and weight layout."""

from lamina.layers.core import Activation, Dense, Dropout, Identity
from lamina.layers.input_layer import InputLayer
from lamina.layers.lambda_layer import Lambda
from lamina.layers.layer import Layer

__all__ = [
    "Activation",
    "Dense",
    "Dropout",
    "Identity",
    "InputLayer",
    "Lambda",
    "Layer",
]
