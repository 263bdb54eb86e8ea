"""A Keras model file read within bounds: its config and weights bytes, nothing built.

:func:`read_keras_file` opens a Keras 3 archive (``config.json``, ``model.weights.h5``,
``metadata.json``) or an HDF5 full-model file (``model_config`` attribute,
``model_weights`` group) and returns a :class:`KerasFile`; ``keras_read`` turns it into a
lamina model. What a file can make this spend is bounded:

- a ``.keras`` archive may hold at most :data:`MAX_MEMBERS` members; ``config.json`` and
  ``metadata.json`` are read up to :data:`MAX_CONFIG` bytes, the weights member up to
  :data:`MAX_INFLATION` times its compressed size (Keras stores it uncompressed);
- a deflated ``.json`` member inflates at most :data:`CONFIG_INFLATION` times plus
  :data:`CONFIG_FLOOR` bytes; a config holds at most :data:`MAX_JSON_VALUES` JSON values
  (counted on its bytes before parsing), and its nesting depth is bounded (``load_budget``);
- HDF5 attributes are read through ``keras_h5``'s checks.
"""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from typing import Any

from lamina.errors import LoadError
from lamina.functions import load_budget
from lamina.saving import keras_h5

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
