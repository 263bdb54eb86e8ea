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
from lamina.dtype_policies import DTypePolicy
from lamina.functions.registry import register_function
from lamina.models import Input, Model, Sequential
from lamina.saving import load_model, save_model
from lamina.utils.object_registry import custom_object_scope, register_serializable
from lamina.variables import Variable
from lamina.version import __version__

__all__ = [
    "DTypePolicy",
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
