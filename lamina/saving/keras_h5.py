"""Read a Keras HDF5 file's weights and attributes within a budget, following nothing.

HDF5 can make a reader do much more than read: external links and external storage open
other files (``/etc/passwd`` as a "weight"), virtual datasets gather other files, filters
may be plugins loaded from disk, and a dataset may declare any shape. So every access here
goes through checks first:

- a path is walked one hard link at a time (soft and external links are refused);
- a dataset must be contiguous or chunked in this file (no external storage, not
  virtual), use only the filters HDF5 builds in (deflate, shuffle, fletcher32, lzf), hold
  numbers (``float16/32/64``, ``int8..64``, ``uint8``, ``bool``), and have exactly the
  shape the lamina weight it fills has (so its size was already paid for by the load
  budget: a layer's weights can never be larger than the file);
- an attribute (``model_config``, ``weight_names``) is read only up to :data:`MAX_ATTRIBUTE`
  bytes.

``h5py`` is needed only here (``pip install lamina[keras]``); it is imported when a Keras
file is read.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import torch

from lamina.errors import LoadError

#: Largest attribute read (a model config, a list of weight names), in bytes.
MAX_ATTRIBUTE = 64 * 2 ** 20
#: Most chunks (``layer_names0``, ``layer_names1``...) a names attribute may be split into;
#: Keras splits one only past HDF5's 64 KiB attribute limit, so a few at most.
MAX_NAME_CHUNKS = 1_000
#: Filters HDF5 builds in: deflate, shuffle, fletcher32, lzf. Others load plugins.
_FILTERS = frozenset({1, 2, 3, 32000})
_KINDS = frozenset("fiub")


def h5py_module() -> Any:
    """``h5py``, or a LoadError saying how to install it."""
    try:
        # Deferred: h5py is an optional extra, needed only to read Keras files.
        import h5py
    except ImportError:
        raise LoadError("Reading Keras files needs h5py: pip install 'lamina[keras]'.") from None
    return h5py


def open_h5(source: Any, where: str) -> Any:
    """An ``h5py.File`` opened read-only on a path or a seekable file object."""
    h5py = h5py_module()
    try:
        return h5py.File(source, "r")
    except (OSError, ValueError) as error:
        raise LoadError(f"{where} is not a readable HDF5 file: {error}") from None


def child(group: Any, name: str, where: str) -> Any | None:
    """``group[name]`` through a hard link only; ``None`` if there is no such member."""
    h5py = h5py_module()
    if name in ("", ".", ".."):
        raise LoadError(f"{where}: the path member {name!r} is not allowed.")
    try:
        link = group.get(name, getlink=True)
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise LoadError(f"{where}: cannot read member {name!r}: {error}") from None
    if link is None:
        return None
    if not isinstance(link, h5py.HardLink):
        raise LoadError(f"{where}: member {name!r} is a {type(link).__name__}; only members "
                        "stored in the file itself are read.")
    try:
        return group[name]
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise LoadError(f"{where}: cannot open member {name!r}: {error}") from None


def walk(group: Any, path: str, where: str) -> Any | None:
    """The object at a ``/``-separated path, one hard link at a time."""
    node = group
    for part in path.split("/"):
        if node is None or not isinstance(node, h5py_module().Group):
            return None
        node = child(node, part, where)
    return node


def read_attribute(node: Any, name: str, where: str) -> Any:
    """An attribute's value, refused beyond :data:`MAX_ATTRIBUTE` bytes; ``None`` if absent."""
    try:
        if name not in node.attrs:
            return None
        attribute = node.attrs.get_id(name)
        try:
            size = attribute.get_storage_size()
        except RuntimeError:  # HDF5 reports an empty attribute's size as an error
            size = 0 if attribute.shape is None or 0 in attribute.shape else MAX_ATTRIBUTE + 1
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise LoadError(f"{where}: cannot read attribute {name!r}: {error}") from None
    if size > MAX_ATTRIBUTE:
        raise LoadError(f"{where}: attribute {name!r} holds {size} bytes, more than the "
                        f"{MAX_ATTRIBUTE} lamina reads.")
    try:
        return node.attrs[name]
    except (OSError, ValueError, TypeError, RuntimeError) as error:
        raise LoadError(f"{where}: cannot read attribute {name!r}: {error}") from None


def text_attribute(node: Any, name: str, where: str) -> str | None:
    value = read_attribute(node, name, where)
    if value is None:
        return None
    try:
        if isinstance(value, bytes):
            return value.decode("utf-8", errors="strict")
        if isinstance(value, str):
            value.encode("utf-8")  # h5py decodes with surrogateescape: refuse those here
            return value
    except UnicodeError:
        raise LoadError(f"{where}: attribute {name!r} is not UTF-8 text.") from None
    raise LoadError(f"{where}: attribute {name!r} must be text.")


def names_attribute(node: Any, name: str, where: str) -> list[str]:
    """A list-of-names attribute (``layer_names``, ``weight_names``), also when chunked."""
    value = read_attribute(node, name, where)
    if value is None:
        values: list[Any] = []
        index = 0
        while (chunk := read_attribute(node, f"{name}{index}", where)) is not None:
            values.extend(np.asarray(chunk).reshape(-1).tolist())
            index += 1
            if index > MAX_NAME_CHUNKS:
                raise LoadError(f"{where}: attribute {name!r} is split into more than "
                                f"{MAX_NAME_CHUNKS} chunks of names.")
    else:
        values = np.asarray(value).reshape(-1).tolist()
    names = []
    for item in values:
        if isinstance(item, bytes):
            item = item.decode("utf-8")
        if not isinstance(item, str):
            raise LoadError(f"{where}: attribute {name!r} must hold names.")
        names.append(item)
    return names


def json_attribute(node: Any, name: str, where: str) -> Any:
    text = text_attribute(node, name, where)
    if text is None:
        return None
    # Deferred: load_budget is in functions/, imported here to keep this module's top light.
    from lamina.functions.load_budget import check_json_depth
    check_json_depth(text.encode("utf-8"), f"{where} attribute {name!r}")
    try:
        return json.loads(text)
    except ValueError as error:
        raise LoadError(f"{where}: attribute {name!r} is not JSON: {error}") from None


def read_dataset(dataset: Any, shape: tuple[int, ...], where: str) -> torch.Tensor:
    """A dataset's values, after the checks of the module docstring."""
    h5py = h5py_module()
    if not isinstance(dataset, h5py.Dataset):
        raise LoadError(f"{where} is not a dataset.")
    try:
        dtype = dataset.dtype
        stored_shape = tuple(int(d) for d in dataset.shape)
        plist = dataset.id.get_create_plist()
        external = plist.get_external_count()
        layout = plist.get_layout()
        filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    except (OSError, ValueError, TypeError, RuntimeError) as error:
        raise LoadError(f"{where}: cannot read the dataset's layout: {error}") from None
    if external or layout not in (h5py.h5d.COMPACT, h5py.h5d.CONTIGUOUS, h5py.h5d.CHUNKED):
        raise LoadError(f"{where}: the dataset is stored outside the file (external or "
                        "virtual storage); lamina reads only data held in the file.")
    unknown = [f for f in filters if f not in _FILTERS]
    if unknown:
        raise LoadError(f"{where}: the dataset uses HDF5 filters {unknown}; lamina reads only "
                        "deflate, shuffle, fletcher32 and lzf.")
    if dtype.kind not in _KINDS or dtype.itemsize > 8 or dtype.fields is not None:
        raise LoadError(f"{where}: the dataset holds {dtype}, not numbers.")
    if stored_shape != tuple(shape):
        raise LoadError(f"{where}: the file holds a weight of shape {list(stored_shape)}; the "
                        f"model built from the file's config expects {list(shape)}.")
    try:
        values = np.empty(stored_shape, dtype=dtype.newbyteorder("="))
        if values.size:
            dataset.read_direct(values)
    except (OSError, ValueError, TypeError, RuntimeError) as error:
        raise LoadError(f"{where}: cannot read the dataset: {error}") from None
    return torch.from_numpy(values)


def assign(variable: torch.Tensor, value: torch.Tensor, where: str) -> None:
    """Copy a read value into a lamina weight (a Variable, Parameter or buffer)."""
    if (value.dtype == torch.bool) != (variable.dtype == torch.bool) or (
            value.is_floating_point() and not variable.is_floating_point()):
        raise LoadError(f"{where}: the file holds {value.dtype}, the weight is {variable.dtype}.")
    with torch.no_grad():
        variable.copy_(value.to(variable.dtype))
