"""Metrics by their Keras names: functions, stateful classes, ``get`` and (de)serializing.

``base.py`` holds the metric machinery and Keras's accuracy and error functions;
``classes.py`` the accuracy and error classes; ``probabilistic.py`` the means of loss
functions; ``confusion.py`` counts at thresholds; ``fscore.py``, ``regression.py`` and
``iou.py`` their families; ``lookup.py`` ``get``, ``serialize`` and ``deserialize``.
"""

from lamina.keras_names import missing_name
from lamina.losses import (
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_percentage_error,
    mean_squared_logarithmic_error,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from lamina.metrics.base import (
    Mean,
    MeanMetricWrapper,
    Metric,
)
from lamina.metrics.classes import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    MeanAbsoluteError,
    MeanSquaredError,
    RootMeanSquaredError,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    Sum,
    TopKCategoricalAccuracy,
)
from lamina.metrics.confusion import (
    FalseNegatives,
    FalsePositives,
    PrecisionAtRecall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    TrueNegatives,
    TruePositives,
)
from lamina.metrics.fscore import F1Score, FBetaScore
from lamina.metrics.functions import (
    accuracy_for,
    binary_accuracy,
    categorical_accuracy,
    mean_absolute_error,
    mean_squared_error,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from lamina.metrics.iou import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from lamina.metrics.lookup import CLASSES, FUNCTIONS, deserialize, get, serialize
from lamina.metrics.probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    CosineSimilarity,
    Hinge,
    KLDivergence,
    LogCoshError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
)
from lamina.metrics.regression import (
    ConcordanceCorrelation,
    PearsonCorrelation,
    R2Score,
    concordance_correlation,
    pearson_correlation,
)
from lamina.metrics.thresholded import (
    AUC,
    Precision,
    Recall,
)

__all__ = [
    "AUC", "CLASSES", "FUNCTIONS", "Accuracy", "BinaryAccuracy", "BinaryCrossentropy",
    "BinaryIoU", "CategoricalAccuracy", "CategoricalCrossentropy", "CategoricalHinge",
    "ConcordanceCorrelation", "CosineSimilarity", "F1Score", "FBetaScore", "FalseNegatives",
    "FalsePositives", "Hinge", "IoU", "KLDivergence", "LogCoshError", "Mean",
    "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanIoU", "MeanMetricWrapper",
    "MeanSquaredError", "MeanSquaredLogarithmicError", "Metric", "OneHotIoU", "OneHotMeanIoU",
    "PearsonCorrelation", "Poisson", "Precision", "PrecisionAtRecall", "R2Score", "Recall",
    "RecallAtPrecision", "RootMeanSquaredError", "SensitivityAtSpecificity",
    "SparseCategoricalAccuracy", "SparseCategoricalCrossentropy",
    "SparseTopKCategoricalAccuracy", "SpecificityAtSensitivity", "SquaredHinge", "Sum",
    "TopKCategoricalAccuracy", "TrueNegatives", "TruePositives", "accuracy_for",
    "binary_accuracy", "binary_crossentropy", "binary_focal_crossentropy",
    "categorical_accuracy", "categorical_crossentropy", "categorical_focal_crossentropy",
    "categorical_hinge", "concordance_correlation", "deserialize", "get", "hinge", "huber",
    "kl_divergence", "log_cosh", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_error", "mean_squared_logarithmic_error", "pearson_correlation", "poisson",
    "serialize", "sparse_categorical_accuracy", "sparse_categorical_crossentropy",
    "sparse_top_k_categorical_accuracy", "squared_hinge", "top_k_categorical_accuracy",
]


def __getattr__(name: str) -> object:
    """A clear ``AttributeError`` for a Keras name lamina lacks (see ``keras_names.py``)."""
    raise missing_name('metrics', name, globals())
