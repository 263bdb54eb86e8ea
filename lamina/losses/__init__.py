"""Losses by their Keras names: classes, per-sample functions, ``get`` and (de)serializing.

``base.py`` holds :class:`Loss` (reduction, sample weights, target checks, configs);
``functions.py`` Keras's per-sample loss functions; the other files the classes by family
(regression, crossentropy, margin, overlap, pairwise, sequence).

Example:
    >>> loss = get("hinge")
    >>> type(loss).__name__, loss.get_config()
    ('Hinge', {'name': 'hinge', 'reduction': 'sum_over_batch_size'})
"""

from __future__ import annotations

from typing import Any

from lamina.errors import ArgumentError
from lamina.keras_names import missing_name
from lamina.losses.base import EPSILON, Loss, LossFunctionWrapper
from lamina.losses.crossentropy import (
    BinaryCrossentropy,
    BinaryFocalCrossentropy,
    CategoricalCrossentropy,
    CategoricalFocalCrossentropy,
    CategoricalGeneralizedCrossEntropy,
    SparseCategoricalCrossentropy,
)
from lamina.losses.functions import (
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_generalized_cross_entropy,
    categorical_hinge,
    circle,
    cosine_similarity,
    ctc,
    dice,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
    tversky,
)
from lamina.losses.margin import CategoricalHinge, Hinge, SquaredHinge
from lamina.losses.overlap import Dice, Tversky
from lamina.losses.pairwise import Circle
from lamina.losses.regression import (
    CosineSimilarity,
    Huber,
    KLDivergence,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
)
from lamina.losses.sequence import CTC

CLASSES: dict[str, type[Loss]] = {cls.__name__: cls for cls in (
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, Huber, LogCosh, CosineSimilarity, Poisson, KLDivergence,
    BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy,
    CategoricalFocalCrossentropy, SparseCategoricalCrossentropy,
    CategoricalGeneralizedCrossEntropy, Hinge, SquaredHinge, CategoricalHinge, Dice, Tversky,
    Circle, CTC)}
"""Every Keras loss class lamina has, by class name."""

FUNCTIONS: dict[str, Any] = {fn.__name__: fn for fn in (
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_logarithmic_error, huber, log_cosh, cosine_similarity, poisson,
    kl_divergence, binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy,
    categorical_focal_crossentropy, sparse_categorical_crossentropy,
    categorical_generalized_cross_entropy, hinge, squared_hinge, categorical_hinge, dice,
    tversky, circle, ctc)}
"""Every Keras loss function lamina has, by name."""

_BY_NAME: dict[str, type[Loss]] = {
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError,
    "huber": Huber, "huber_loss": Huber, "log_cosh": LogCosh, "logcosh": LogCosh,
    "cosine_similarity": CosineSimilarity, "poisson": Poisson,
    "kl_divergence": KLDivergence, "kld": KLDivergence,
    "kullback_leibler_divergence": KLDivergence,
    "binary_crossentropy": BinaryCrossentropy,
    "binary_focal_crossentropy": BinaryFocalCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "categorical_focal_crossentropy": CategoricalFocalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "categorical_generalized_cross_entropy": CategoricalGeneralizedCrossEntropy,
    "hinge": Hinge, "squared_hinge": SquaredHinge, "categorical_hinge": CategoricalHinge,
    "dice": Dice, "tversky": Tversky, "circle": Circle, "ctc": CTC,
}
_CLASS_OF_FUNCTION = {FUNCTIONS[name]: cls for name, cls in _BY_NAME.items()
                      if name in FUNCTIONS}


def get(identifier: str | Loss | Any) -> Loss:
    """A loss from a Keras name, a class name, a :class:`Loss` (returned as is), a Keras
    config dict or a function.

    One of Keras's loss functions (``lamina.losses.hinge``) becomes its loss class, so
    ``"accuracy"`` metrics and saving know it.

    Example:
        >>> type(get("sparse_categorical_crossentropy")).__name__
        'SparseCategoricalCrossentropy'
        >>> type(get(hinge)).__name__, type(get("Hinge")).__name__
        ('Hinge', 'Hinge')
    """
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        if identifier in CLASSES:
            return CLASSES[identifier]()
        if identifier.lower() in _BY_NAME:
            return _BY_NAME[identifier.lower()](name=identifier)
    elif isinstance(identifier, dict):
        return deserialize(identifier)
    elif isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    elif callable(identifier):
        if identifier in _CLASS_OF_FUNCTION:
            return _CLASS_OF_FUNCTION[identifier]()
        return LossFunctionWrapper(identifier)
    raise ArgumentError(
        f"Unknown loss: received {identifier!r}. Use one of {sorted(_BY_NAME)}, a "
        "lamina.losses.Loss, or a function fn(y_true, y_pred) returning per-sample losses."
    )


def serialize(loss: Loss | Any) -> dict[str, Any]:
    """Keras's serialized form of a loss object or loss function.

    Example:
        >>> serialize(Hinge())["config"]
        {'name': 'hinge', 'reduction': 'sum_over_batch_size'}
        >>> serialize(hinge)["config"]
        'hinge'
    """
    if isinstance(loss, Loss) and type(loss).__name__ in CLASSES:
        return {"module": "keras.losses", "class_name": type(loss).__name__,
                "config": loss.get_config(), "registered_name": None}
    if callable(loss) and FUNCTIONS.get(getattr(loss, "__name__", "")) is loss:
        return {"module": "builtins", "class_name": "function", "config": loss.__name__,
                "registered_name": "function"}
    raise ArgumentError(f"Cannot serialize {loss!r}: it is not one of Keras's losses. "
                        "Store a custom loss's own config with its get_config().")


def deserialize(config: dict[str, Any] | str) -> Loss | Any:
    """The loss object or function a :func:`serialize` result (lamina's or Keras's) names;
    a string names a loss function (or class).

    Example:
        >>> deserialize({"class_name": "Huber", "config": {"delta": 2.0}}).delta
        2.0
        >>> deserialize("poisson") is poisson
        True
    """
    if isinstance(config, str):
        if config in FUNCTIONS:
            return FUNCTIONS[config]
        if config in CLASSES:
            return CLASSES[config]()
    elif isinstance(config, dict) and config.get("class_name") == "function":
        if config.get("config") in FUNCTIONS:
            return FUNCTIONS[config["config"]]
    elif isinstance(config, dict) and config.get("class_name") in CLASSES:
        return CLASSES[config["class_name"]].from_config(dict(config.get("config") or {}))
    raise ArgumentError(f"Could not deserialize the loss {config!r}: expected a Keras loss "
                        f"class ({sorted(CLASSES)}) or function ({sorted(FUNCTIONS)}).")


__all__ = [
    "CLASSES", "CTC", "EPSILON", "FUNCTIONS", "BinaryCrossentropy", "BinaryFocalCrossentropy",
    "CategoricalCrossentropy", "CategoricalFocalCrossentropy",
    "CategoricalGeneralizedCrossEntropy", "CategoricalHinge", "Circle", "CosineSimilarity",
    "Dice", "Hinge", "Huber", "KLDivergence", "LogCosh", "Loss", "LossFunctionWrapper",
    "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredError",
    "MeanSquaredLogarithmicError", "Poisson", "SparseCategoricalCrossentropy", "SquaredHinge",
    "Tversky", "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
    "categorical_focal_crossentropy", "categorical_generalized_cross_entropy",
    "categorical_hinge", "circle", "cosine_similarity", "ctc", "deserialize", "dice", "get",
    "hinge", "huber", "kl_divergence", "log_cosh", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_error", "mean_squared_logarithmic_error",
    "poisson", "serialize", "sparse_categorical_crossentropy", "squared_hinge", "tversky",
]


def __getattr__(name: str) -> object:
    """A clear ``AttributeError`` for a Keras name lamina lacks (see ``keras_names.py``)."""
    raise missing_name('losses', name, globals())
