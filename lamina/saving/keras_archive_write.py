"""``save_keras_archive``: a lamina model as a genuine Keras 3 ``.keras`` file.

The zip holds what Keras 3.15's ``saving_lib`` writes: ``metadata.json``
(``keras_version``, ``date_saved``), ``config.json`` (the model's
``serialize_keras_object`` dict, ``keras_archive_write_config.py``) and
``model.weights.h5`` (every variable at the path Keras gives it, ``keras_weight_paths.py``;
every object's ``vars`` group, empty ones included, with its ``name`` attribute).
``keras.saving.load_model`` reads it; a model with a Lambda needs ``safe_mode=False``
there, exactly as Keras's own files do.

A compiled model's ``compile_config`` is written, so Keras compiles the loaded model, and
the optimizer's state where Keras keeps the same (Adam, AdamW, plain SGD:
``keras_archive_write_optimizer.py``); for other optimizers Keras starts a fresh one (and
warns that it skipped the optimizer's variables). ``include_optimizer=False`` leaves both
out.

Everything is built in memory first: a model Keras cannot express raises
:class:`~lamina.errors.SerializationError` before a byte is written, and the file appears
atomically (``atomic.py``), an existing file being left as it was on any failure.
"""

from __future__ import annotations

import datetime
import io
import json
import os
from typing import Any

import numpy as np
import torch

from lamina.errors import SerializationError
from lamina.layers.layer import Layer
from lamina.saving.atomic import atomic_write
from lamina.saving.keras_archive_write_config import keras_model_config
from lamina.saving.keras_archive_write_optimizer import keras_optimizer_group
from lamina.saving.keras_weight_paths import KerasVarsGroup, keras_weight_groups
from lamina.saving.zip_writer import write_stored_zip
from lamina.version import __version__

#: The Keras release whose file format this writes (``metadata.json``'s ``keras_version``).
KERAS_FORMAT_VERSION = "3.15.1"
CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.weights.h5"


def save_keras_archive(model: Layer, path: str | os.PathLike,
                       include_optimizer: bool = True) -> None:
    """Write ``model`` as a Keras 3 ``.keras`` archive that ``keras.saving.load_model``
    reads (see the module docstring for what is and is not written).

    Args:
        model: The model (or layer) to save.
        path: Where to write (Keras's loader wants the ``.keras`` suffix).
        include_optimizer: Write the compile configuration of a compiled model.

    Raises:
        SerializationError: The model holds something a ``.keras`` file cannot express
            (a lamina-only layer, a Lambda whose function Keras could not run...); the
            message names it. Nothing is written.
    """
    if not isinstance(model, Layer):
        raise SerializationError(
            f"save_keras_archive expects a lamina layer or model, received "
            f"{type(model).__name__}.")
    groups = keras_weight_groups(model)
    config = keras_model_config(model, include_optimizer)
    optimizer = keras_optimizer_group(model) if "compile_config" in config else None
    if optimizer is not None:
        groups.append(optimizer)
    try:
        config_bytes = json.dumps(config, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as error:
        raise SerializationError(
            f"Model '{model.name}': its Keras config is not JSON: {error}") from error
    metadata = {"keras_version": KERAS_FORMAT_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                "saved_by": f"lamina {__version__}"}
    members = {METADATA: json.dumps(metadata).encode("utf-8"), CONFIG: config_bytes,
               WEIGHTS: weights_h5(groups)}
    atomic_write(path, lambda raw: write_stored_zip(raw, members))


def weights_h5(groups: list[KerasVarsGroup]) -> bytes:
    """The bytes of a ``model.weights.h5`` holding ``groups`` as Keras's ``H5IOStore``
    writes them (``<path>/vars/<i>`` datasets, a ``name`` attribute per group)."""
    try:
        import h5py
    except ImportError:
        raise SerializationError("Writing a .keras file needs h5py (pip install h5py), as "
                                 "Keras does.") from None
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        for group in groups:
            if group.group in h5:
                continue  # Keras writes an object once
            created = h5.create_group(group.group)
            if group.name is not None:
                created.attrs["name"] = group.name
            for index, tensor in enumerate(group.variables):
                array, dtype_attribute = _array(tensor)
                dataset = created.create_dataset(str(index), data=array)
                if dtype_attribute is not None:
                    dataset.attrs["dtype"] = dtype_attribute
    return buffer.getvalue()


def _array(tensor: torch.Tensor) -> tuple[np.ndarray, Any]:
    """The array Keras would store, and the ``dtype`` attribute it marks bfloat16 with
    (the values are stored as float32, which Keras's reader casts back exactly)."""
    value = tensor.detach().cpu()
    if value.dtype == torch.bfloat16:
        return value.float().numpy(), "bfloat16"
    return value.contiguous().numpy(), None
