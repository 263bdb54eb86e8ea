"""``lamina.from_keras``: a Keras ``.keras`` or legacy ``.h5`` model file as a lamina model.

Nothing from the file runs and nothing it names is imported: the config is translated
(``keras_config_read``), Lambda bytecode is read as data and becomes checked source
(``keras_functions``), the model is rebuilt by lamina's own loader in safe mode, and the
weights are read by path with the checks of ``keras_h5``.

What a file can make lamina spend is bounded, as for ``.lamina`` files:

- a ``.keras`` archive may hold at most :data:`MAX_MEMBERS` members; ``config.json`` and
  ``metadata.json`` are read up to :data:`MAX_CONFIG` bytes, the weights member up to
  :data:`MAX_INFLATION` times its compressed size (Keras stores it uncompressed);
- a deflated ``.json`` member inflates at most :data:`CONFIG_INFLATION` times plus
  :data:`CONFIG_FLOOR` bytes; a config holds at most :data:`MAX_JSON_VALUES` JSON values
  (counted on its bytes before parsing);
- the config's nesting depth and layer count are bounded (``load_budget``), and the
  weights the config creates may not exceed the bytes of weights the file holds (no layer
  can make lamina allocate more than the file's size);
- each weight is read only into a lamina weight of the same shape.

Formats: Keras 3 archives (``config.json``, ``model.weights.h5``, ``metadata.json``) and
HDF5 full-model files from tf-keras, Keras 2 and Keras 3's legacy writer (``model_config``
attribute, ``model_weights/<layer>`` groups in ``weight_names`` order).
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import zipfile
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
from lamina.saving.keras_functions import TranslatedFunction
from lamina.saving.keras_weight_paths import keras_weight_paths

#: Most members a ``.keras`` archive may have.
MAX_MEMBERS = 10_000
#: Largest ``config.json`` / ``metadata.json`` read, in bytes.
MAX_CONFIG = 64 * 2 ** 20
#: A deflated weights member may inflate to at most this many times its stored size.
MAX_INFLATION = 16
#: A deflated ``config.json`` / ``metadata.json`` may inflate to at most this many times
#: its stored size plus :data:`CONFIG_FLOOR` bytes (Keras stores them uncompressed; without
#: it a 70 KB file made lamina hold 64 MiB of text, several times over, while checking it).
CONFIG_INFLATION = 32
CONFIG_FLOOR = 4 * 2 ** 20
#: Most values (objects, arrays, and items after a comma) a config's JSON may hold,
#: counted on its bytes before parsing: an empty object takes 3 bytes of JSON and about 80
#: of memory parsed, so 64 MiB of ``{},`` would take gigabytes. A 10,000-layer Keras
#: config holds well under this.
MAX_JSON_VALUES = 1_000_000
_ZIP = b"PK\x03\x04"
_HDF5 = b"\x89HDF\r\n\x1a\n"
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


@dataclasses.dataclass
class KerasFile:
    """A Keras file's parts, read within the bounds and not yet interpreted.

    Attributes:
        format: ``"keras"`` or ``"h5"``.
        config: The model entry (``config.json``, or the ``model_config`` attribute).
        config_bytes: Its size, for the layer-count bound.
        keras_version: What the file says wrote it, if it says.
        weights: A Keras 3 archive's ``model.weights.h5`` bytes (``None`` for ``.h5``).
        size: The file's size in bytes.
    """

    format: str
    config: Any
    config_bytes: int
    keras_version: str | None
    weights: bytes | None
    size: int


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


def keras_file_kind(path: str | os.PathLike) -> str | None:
    """``"keras"`` or ``"h5"`` for a Keras model file, ``None`` for anything else (a
    ``.lamina`` archive included). Reads at most the zip directory and ``config.json``'s
    first bytes."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        return None  # a file object: lamina archives only
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            signature = handle.read(8)
    except OSError:
        return None
    if signature == _HDF5:
        return "h5"
    if not signature.startswith(_ZIP):
        return None
    try:
        with zipfile.ZipFile(name) as archive, archive.open("config.json") as member:
            head = member.read(4096)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, RuntimeError, EOFError):
        return None
    lamina_file = b'"format_version"' in head or b'"model"' in head[:40]
    return "keras" if b'"class_name"' in head and not lamina_file else None


def read_keras_file(path: str | os.PathLike) -> KerasFile:
    """Read a Keras file's config and weights bytes within the bounds; nothing is built."""
    name = os.fspath(path)
    where = f"'{name}'"
    try:
        with open(name, "rb") as handle:
            signature = handle.read(8)
            size = os.fstat(handle.fileno()).st_size
    except OSError as error:
        raise LoadError(f"Cannot read {where}: {error.strerror or error}.") from None
    if signature.startswith(_ZIP):
        return _read_archive(name, size, where)
    if signature == _HDF5:
        return _read_legacy(name, size, where)
    raise LoadError(f"{where} is neither a Keras archive (.keras) nor an HDF5 model file "
                    "(.h5).")


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


def _member(archive: zipfile.ZipFile, name: str, limit: int, where: str) -> bytes:
    info = archive.getinfo(name)
    if info.compress_type != zipfile.ZIP_STORED and name.endswith(".json"):
        limit = min(limit, info.compress_size * CONFIG_INFLATION + CONFIG_FLOOR)
    if info.file_size > limit:
        raise LoadError(f"{where}: '{name}' declares {info.file_size} bytes, more than the "
                        f"{limit} lamina reads.")
    with archive.open(info) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise LoadError(f"{where}: '{name}' inflates beyond {limit} bytes.")
    return data


def _json(data: bytes, name: str, where: str) -> Any:
    values = data.count(b",") + data.count(b"[") + data.count(b"{")
    if values > MAX_JSON_VALUES:
        raise LoadError(f"{where}: '{name}' holds about {values} JSON items, more than the "
                        f"{MAX_JSON_VALUES} lamina parses.")
    load_budget.check_json_depth(data, f"{where} {name}")
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise LoadError(f"{where}: '{name}' is not JSON: {error}") from None


def _read_archive(name: str, size: int, where: str) -> KerasFile:
    try:
        archive = zipfile.ZipFile(name)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise LoadError(f"{where} is not a readable zip archive: {error}") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise LoadError(f"{where} has {len(infos)} members, more than {MAX_MEMBERS}.")
        members = {info.filename for info in infos}
        if "config.json" not in members:
            raise LoadError(f"{where} has no config.json: it is not a Keras archive.")
        if "model.weights.h5" not in members:
            other = sorted(m for m in members if m.startswith("model.weights"))
            raise LoadError(f"{where} has no model.weights.h5 (found {other}); lamina reads "
                            "Keras archives whose weights are in one HDF5 member.")
        try:
            config_data = _member(archive, "config.json", MAX_CONFIG, where)
            metadata = (_json(_member(archive, "metadata.json", MAX_CONFIG, where),
                              "metadata.json", where) if "metadata.json" in members else {})
            info = archive.getinfo("model.weights.h5")
            limit = min(info.compress_size * MAX_INFLATION + 2 ** 20, size * MAX_INFLATION)
            weights = _member(archive, "model.weights.h5", limit, where)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as error:
            raise LoadError(f"{where}: a member cannot be read: {error}") from None
    config = _json(config_data, "config.json", where)
    version = metadata.get("keras_version") if isinstance(metadata, dict) else None
    return KerasFile("keras", config, len(config_data),
                     version if isinstance(version, str) else None, weights, size)


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


def _read_legacy(name: str, size: int, where: str) -> KerasFile:
    with keras_h5.open_h5(name, where) as store:
        config_text = keras_h5.text_attribute(store, "model_config", where)
        if config_text is None:
            raise LoadError(f"{where} has no model_config attribute: it holds weights only, "
                            "not a model. Build the model in lamina and use load_weights.")
        config = _json(config_text.encode("utf-8"), "model_config", where)
        weights = keras_h5.child(store, "model_weights", where)
        if weights is None:
            raise LoadError(f"{where} has no model_weights group.")
        version = (keras_h5.text_attribute(store, "keras_version", where)
                   or keras_h5.text_attribute(weights, "keras_version", where))
    if version is not None and version.startswith("1"):
        raise LoadError(f"{where} was written by Keras {version}, whose weight layouts "
                        "lamina does not convert; re-save it with Keras 2 or 3.")
    return KerasFile("h5", config, len(config_text), version, None, size)


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
