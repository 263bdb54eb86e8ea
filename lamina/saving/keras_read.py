"""``lamina.from_keras``: a Keras ``.keras`` or legacy ``.h5`` model file as a lamina model.

Nothing from the file runs and nothing it names is imported: the config is translated
(``keras_config_read``), Lambda bytecode is read as data and becomes checked source
(``keras_functions``), the model is rebuilt by lamina's own loader in safe mode, and the
weights are read by path with the checks of ``keras_h5``.

What a file can make lamina spend is bounded, as for ``.lamina`` files: reading it is
``keras_file``'s (sizes, member counts, JSON values and depth); here the layer count is
bounded (``load_budget``), the weights the config creates may not exceed the bytes of
weights the file holds (no layer can make lamina allocate more than the file's size), and
each weight is read only into a lamina weight of the same shape.

Formats: Keras 3 archives (``config.json``, ``model.weights.h5``, ``metadata.json``) and
HDF5 full-model files from tf-keras, Keras 2 and Keras 3's legacy writer (``model_config``
attribute, ``model_weights/<layer>`` groups in ``weight_names`` order).
"""

from __future__ import annotations

import dataclasses
import io
import os
from typing import Any

from lamina import initializers
from lamina.errors import LaminaError, LoadError
from lamina.functions import load_budget
from lamina.layers.function_config import loading_options
from lamina.layers.layer import Layer
from lamina.layers.serialization import deserialize_layer
from lamina.saving import keras_h5
from lamina.saving.keras_archive_write_optimizer import assign_keras_optimizer_variables
from lamina.saving.keras_config_read import KerasConfigReader
from lamina.saving.keras_file import MAX_MEMBERS, read_keras_file
from lamina.saving.keras_functions import TranslatedFunction
from lamina.saving.keras_weight_paths import keras_weight_paths

_REBUILD_ERRORS = (TypeError, ValueError, KeyError, IndexError, AttributeError, RuntimeError,
                   OverflowError, MemoryError)


@dataclasses.dataclass
class KerasConversion:
    """A Keras file read as a lamina model, with what the conversion did.

    Attributes:
        model: The lamina model, with the file's weights.
        format: ``"keras"`` (a Keras 3 archive) or ``"h5"`` (a legacy HDF5 file).
        keras_version: The Keras version the file says wrote it, if it says.
        functions: Each Lambda function translated, with the Python versions detected.
    """

    model: Layer
    format: str
    keras_version: str | None
    functions: list[TranslatedFunction]


def from_keras(path: str | os.PathLike, custom_objects: dict[str, Any] | None = None,
               python_version: str | None = None, compile: bool = True  # noqa: A002
               ) -> Layer:
    """A lamina model from a Keras ``.keras`` or ``.h5`` model file, with its weights.

    Nothing in the file is executed. ``Lambda`` layers whose functions Keras stored as
    Python bytecode (written by any CPython 3.6-3.13) are read as data and translated into
    lamina's checked source subset; the names they call (``K.*``, ``keras.ops.*``, a subset
    of ``tf.*`` and ``np.*``) map to lamina ops through a fixed table. Save the result with
    ``model.save("m.lamina")`` and the functions are stored as source from then on.

    Args:
        path: The Keras file.
        custom_objects: Your own classes and functions, by the names the file uses (custom
            layers, functions a lambda calls, named functions of a Lambda).
        python_version: The Python version (``"3.8"``) that wrote Lambda bytecode. Keras
            does not record it: by default every version 3.6-3.13 is tried and the file is
            accepted only if all that decode it agree.
        compile: Compile the model as the file says (a Keras 3 archive's
            ``compile_config``), with the optimizer's state when the file holds Keras's
            Adam, AdamW or SGD variables. Default: ``True``.

    Raises:
        LoadError: The file is malformed, exceeds a bound, or holds something lamina
            refuses (a function outside the safe subset, an unknown name).

    Example:
        >>> import lamina
        >>> model = lamina.from_keras("model.keras")  # doctest: +SKIP
        >>> model.save("model.lamina")  # doctest: +SKIP
    """
    return read_keras(path, custom_objects, python_version, compile).model


def read_keras(path: str | os.PathLike, custom_objects: dict[str, Any] | None = None,
               python_version: str | None = None, compile: bool = False  # noqa: A002
               ) -> KerasConversion:
    """Like :func:`from_keras` (uncompiled unless asked), with a report of what was
    converted (for ``lamina convert``, ``inspect`` and ``check``)."""
    name = os.fspath(path)
    where = f"'{name}'"
    stored = read_keras_file(name)
    weights_budget = len(stored.weights) if stored.weights is not None else stored.size
    model, functions = _rebuild(stored.config, weights_budget, custom_objects, python_version,
                                stored.config_bytes, where)
    try:
        if stored.weights is not None:
            with keras_h5.open_h5(io.BytesIO(stored.weights),
                                  f"{where} model.weights.h5") as store:
                _load_by_path(model, store, f"{where} model.weights.h5")
                if compile and isinstance(stored.config, dict):
                    _compile(model, stored.config.get("compile_config"), store,
                             f"{where} model.weights.h5")
        else:
            with keras_h5.open_h5(name, where) as store:
                weights = keras_h5.child(store, "model_weights", where)
                if weights is None:
                    raise LoadError(f"{where} has no model_weights group.")
                _load_legacy_weights(model, weights, where)
    except LoadError:
        raise
    except (LaminaError, *_REBUILD_ERRORS) as error:
        raise LoadError(f"{where}: the weights cannot be read into the lamina model: "
                        f"{type(error).__name__}: {error}") from error
    return KerasConversion(model, stored.format, stored.keras_version, functions)


def _rebuild(entry: Any, budget: int, custom_objects: dict[str, Any] | None,
             python_version: str | None, config_bytes: int, where: str
             ) -> tuple[Layer, list[TranslatedFunction]]:
    if not isinstance(entry, dict):
        raise LoadError(f"{where}: the model config must be an object.")
    load_budget.check_layer_count(entry, config_bytes, where)
    reader = KerasConfigReader(custom_objects, python_version)
    try:
        translated = reader.layer(entry)
        with loading_options(safe_mode=True), initializers.skipped(budget), \
                load_budget.loading_file(where):
            model = deserialize_layer(translated, custom_objects)
    except LoadError:
        raise
    except RecursionError:
        raise LoadError(f"{where}: the config nests too deeply.") from None
    except _REBUILD_ERRORS as error:
        raise LoadError(f"{where}: the Keras config cannot be rebuilt in lamina: "
                        f"{type(error).__name__}: {error}") from error
    return model, reader.functions


#: Deepest group nesting of a weights file (Keras writes ``layers/<layer>/vars/<i>``, a
#: nested model adding two levels per level of nesting).
MAX_WEIGHT_DEPTH = 64


def _datasets(group: Any, prefix: str, found: list[str], where: str) -> None:
    """Every dataset under ``group`` (hard links only), bounded by :data:`MAX_MEMBERS`
    members visited in all and :data:`MAX_WEIGHT_DEPTH` levels, without recursion (hard
    links can make a group its own member: a cycle, or a fan-out that doubles per level)."""
    h5py = keras_h5.h5py_module()
    visited = 0
    stack = [(group, prefix, 0)]
    while stack:
        node, path, depth = stack.pop()
        if depth > MAX_WEIGHT_DEPTH:
            raise LoadError(f"{where}: groups nest more than {MAX_WEIGHT_DEPTH} levels deep "
                            f"(at '{path[:200]}').")
        visited += len(node)  # counted before the names are listed
        if visited > MAX_MEMBERS:
            raise LoadError(f"{where}: more than {MAX_MEMBERS} weights and groups.")
        for key in list(node.keys()):
            member = keras_h5.child(node, key, where)
            if isinstance(member, h5py.Group):
                stack.append((member, f"{path}{key}/", depth + 1))
            else:
                found.append(f"{path}{key}")


def _compile(model: Layer, config: Any, store: Any, where: str) -> None:
    """Compile as the archive says, with Keras's optimizer state when it holds some."""
    if not isinstance(config, dict) or not config or not hasattr(model, "compile_from_config"):
        return
    model.compile_from_config(config)
    group = keras_h5.walk(store, "optimizer/vars", where)
    if group is None or len(group) <= 2:
        return  # no optimizer state, or Keras's never stepped (iterations, learning rate)
    values = []
    for index in range(len(group)):
        dataset = keras_h5.child(group, str(index), where)
        if dataset is None:
            raise LoadError(f"{where}: optimizer variable {index} is missing.")
        shape = tuple(int(d) for d in getattr(dataset, "shape", ()))
        values.append(keras_h5.read_dataset(dataset, shape, f"{where} optimizer/vars/{index}"))
    assign_keras_optimizer_variables(model, values)


def _load_by_path(model: Layer, store: Any, where: str) -> None:
    paths = keras_weight_paths(model)
    stored: list[str] = []
    for top in ("layers", "vars"):
        group = keras_h5.child(store, top, where)
        if group is not None:
            _datasets(group, f"{top}/", stored, where)
    extra = sorted(set(stored) - set(paths))
    if extra:
        raise LoadError(f"{where} holds weights the model built from its config does not "
                        f"have: {extra[:5]}{' ...' if len(extra) > 5 else ''}.")
    for path, variable in paths.items():
        dataset = keras_h5.walk(store, path, where)
        if dataset is None:
            raise LoadError(f"{where} has no weight '{path}', which the model built from its "
                            "config needs.")
        value = keras_h5.read_dataset(dataset, tuple(variable.shape), f"{where} '{path}'")
        keras_h5.assign(variable, value, f"{where} '{path}'")


def _load_legacy_weights(model: Layer, group: Any, where: str) -> None:
    layers = [layer for layer in getattr(model, "layers", [])
              if layer.trainable_weights or layer.non_trainable_weights]
    saved = []
    for layer_name in keras_h5.names_attribute(group, "layer_names", where):
        layer_group = keras_h5.child(group, layer_name, where)
        if layer_group is None:
            raise LoadError(f"{where}: layer group '{layer_name}' is missing.")
        names = keras_h5.names_attribute(layer_group, "weight_names", f"{where} '{layer_name}'")
        if names:
            saved.append((layer_name, layer_group, names))
    if len(saved) != len(layers):
        raise LoadError(f"{where} holds weights for {len(saved)} layers; the model built from "
                        f"its config has {len(layers)} layers with weights.")
    for layer, (layer_name, layer_group, names) in zip(layers, saved):
        variables = list(layer.trainable_weights) + list(layer.non_trainable_weights)
        if len(names) != len(variables):
            raise LoadError(f"{where}: layer '{layer_name}' holds {len(names)} weights; "
                            f"lamina's '{layer.name}' has {len(variables)}.")
        for weight_name, variable in zip(names, variables):
            label = f"{where} '{layer_name}/{weight_name}'"
            dataset = keras_h5.walk(layer_group, weight_name, label)
            if dataset is None:
                raise LoadError(f"{label} is missing.")
            keras_h5.assign(variable, keras_h5.read_dataset(dataset, tuple(variable.shape),
                                                            label), label)
