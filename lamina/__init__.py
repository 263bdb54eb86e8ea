"""lamina: Keras-style layers and models on PyTorch, centred on the ``Lambda`` layer.

Example:
    >>> import lamina, torch
    >>> from lamina import layers
    >>> model = lamina.Sequential([layers.Dense(4, input_shape=(3,)),
    ...                            layers.Lambda(lambda x: x ** 2)])
    >>> tuple(model(torch.zeros(2, 3)).shape)
    (2, 4)
"""

from lamina import (
    activations,
    backend,
    callbacks,
    config,
    constraints,
    distributed,
    dtype_policies,
    initializers,
    layers,
    losses,
    metrics,
    mixed_precision,
    models,
    ops,
    optimizers,
    random,
    regularizers,
    saving,
    utils,
)
from lamina.dtype_policies import DTypePolicy, FloatDTypePolicy
from lamina.functions.registry import register_function
from lamina.initializers import Initializer
from lamina.keras_names import missing_name
from lamina.layers import Layer
from lamina.losses import Loss
from lamina.metrics import Metric
from lamina.models import Input, Model, Sequential
from lamina.optimizers import Optimizer
from lamina.regularizers import Regularizer
from lamina.saving import load_model, save_model
from lamina.saving.keras_read import from_keras
from lamina.symbolic import SymbolicTensor as KerasTensor
from lamina.utils.object_registry import custom_object_scope, register_serializable
from lamina.variables import Variable
from lamina.version import __version__

# keras.utils also answers for names whose code sits above lamina.utils in the import
# floors (saving, backend, symbolic): the same objects, attached here.
for _name, _value in {
    "serialize_keras_object": saving.serialize_keras_object,
    "deserialize_keras_object": saving.deserialize_keras_object,
    "register_keras_serializable": saving.register_keras_serializable,
    "get_custom_objects": saving.get_custom_objects,
    "custom_object_scope": saving.custom_object_scope,
    "CustomObjectScope": saving.CustomObjectScope,
    "get_registered_name": saving.get_registered_name,
    "get_registered_object": saving.get_registered_object,
    "clear_session": backend.clear_session,
    "standardize_dtype": backend.standardize_dtype,
    "is_keras_tensor": lambda x: isinstance(x, KerasTensor),
}.items():
    setattr(utils, _name, _value)
backend.is_keras_tensor = utils.is_keras_tensor
del _name, _value

__all__ = [
    "DTypePolicy",
    "FloatDTypePolicy",
    "Initializer",
    "KerasTensor",
    "Layer",
    "Loss",
    "Metric",
    "Optimizer",
    "Regularizer",
    "activations",
    "config",
    "dtype_policies",
    "initializers",
    "mixed_precision",
    "models",
    "regularizers",
    "saving",
    "utils",
    "Input",
    "Model",
    "Sequential",
    "Variable",
    "__version__",
    "backend",
    "callbacks",
    "constraints",
    "custom_object_scope",
    "distributed",
    "from_keras",
    "load_model",
    "layers",
    "losses",
    "metrics",
    "ops",
    "optimizers",
    "random",
    "register_function",
    "register_serializable",
    "save_model",
]


def __getattr__(name: str) -> object:
    """A clear ``AttributeError`` for a Keras name lamina lacks (see ``keras_names.py``)."""
    raise missing_name('', name, globals())
