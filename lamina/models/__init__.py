"""Models: symbolic tensors, Functional and Sequential models, subclassed ``Model``."""

from lamina.layers.input_layer import Input
from lamina.models.functional import Functional
from lamina.models.model import Model
from lamina.models.sequential import Sequential
from lamina.symbolic import SymbolicTensor

__all__ = ["Functional", "Input", "Model", "Sequential", "SymbolicTensor"]
