"""Models: symbolic tensors, Functional and Sequential models, subclassed ``Model``."""

from lamina.models.functional import Functional
from lamina.models.model import Model
from lamina.models.sequential import Sequential
from lamina.models.symbolic import Input, SymbolicTensor

__all__ = ["Functional", "Input", "Model", "Sequential", "SymbolicTensor"]
