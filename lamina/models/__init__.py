"""Models: symbolic tensors, Functional and Sequential models, subclassed ``Model``."""

from lamina.keras_names import missing_name
from lamina.layers.input_layer import Input
from lamina.models.cloning import clone_model
from lamina.models.functional import Functional
from lamina.models.json_config import model_from_json
from lamina.models.model import Model
from lamina.models.sequential import Sequential
from lamina.saving import load_model, save_model
from lamina.symbolic import SymbolicTensor

__all__ = ["Functional", "Input", "Model", "Sequential", "SymbolicTensor", "clone_model",
           "load_model", "model_from_json", "save_model"]


def __getattr__(name: str) -> object:
    """A clear ``AttributeError`` for a Keras name lamina lacks (see ``keras_names.py``)."""
    raise missing_name('models', name, globals())
