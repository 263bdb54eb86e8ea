"""Small helpers shared across lamina (nested structures, naming, conversion, plots).

``plot_history`` and ``plot_model`` import matplotlib only when called, so importing lamina
never does.
``pad_sequences``, ``to_categorical``, ``normalize`` and ``set_random_seed`` are Keras's
``keras.utils`` data helpers (see :mod:`lamina.utils.numerical`); ``split_dataset`` is
Keras's train/test split; ``Progbar`` is Keras's text progress bar for hand-written
loops and ``get_source_inputs`` the ``Input`` tensors a symbolic tensor depends on.
"""

from lamina.keras_names import missing_name
from lamina.utils.dataset_split import split_dataset
from lamina.utils.images import array_to_img, img_to_array, load_img, save_img
from lamina.utils.model_plot import model_to_dot, plot_model
from lamina.utils.numerical import normalize, pad_sequences, set_random_seed, to_categorical
from lamina.utils.plot import plot_history
from lamina.utils.progbar import Progbar
from lamina.utils.py_dataset import (
    PyDataset,
    Sequence,
    pack_x_y_sample_weight,
    unpack_x_y_sample_weight,
)
from lamina.utils.source_inputs import get_source_inputs

__all__ = ["Progbar", "PyDataset", "Sequence", "array_to_img", "get_source_inputs",
           "img_to_array", "load_img", "model_to_dot", "save_img",
           "pack_x_y_sample_weight", "unpack_x_y_sample_weight", "normalize", "pad_sequences",
           "plot_history", "plot_model", "set_random_seed", "split_dataset", "to_categorical"]


def __getattr__(name: str) -> object:
    """A clear ``AttributeError`` for a Keras name lamina lacks (see ``keras_names.py``)."""
    raise missing_name('utils', name, globals())
