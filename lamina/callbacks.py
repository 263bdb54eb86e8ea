"""Keras callbacks for ``fit``: ``model.fit(..., callbacks=[EarlyStopping(patience=2)])``.

Example:
    >>> import lamina, numpy as np
    >>> from lamina import layers
    >>> model = lamina.Sequential([layers.Dense(1, input_shape=(2,))])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> x = np.ones((8, 2), dtype="float32")
    >>> stop = EarlyStopping(monitor="loss", patience=0, min_delta=1e9)
    >>> len(model.fit(x, x[:, :1], epochs=5, verbose=0, callbacks=[stop]).epoch)
    2
"""

from lamina.keras_names import missing_name
from lamina.training.backup import BackupAndRestore, SwapEMAWeights
from lamina.training.callbacks import (
    Callback,
    CallbackList,
    CSVLogger,
    History,
    LambdaCallback,
    LearningRateScheduler,
    TerminateOnNaN,
)
from lamina.training.monitoring import EarlyStopping, ModelCheckpoint, ReduceLROnPlateau
from lamina.training.tensorboard import TensorBoard

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
    "SwapEMAWeights",
    "TensorBoard",
    "TerminateOnNaN",
]


def __getattr__(name: str) -> object:
    """A clear ``AttributeError`` for a Keras name lamina lacks (see ``keras_names.py``)."""
    raise missing_name('callbacks', name, globals())
