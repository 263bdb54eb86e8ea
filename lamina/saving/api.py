"""``save_model`` / ``load_model`` and ``save_weights`` / ``load_weights``."""

from __future__ import annotations

import datetime
import json
import os
import platform
from typing import Any

import torch

from lamina import initializers
from lamina.errors import CorruptArchiveError, LaminaError, LoadError, SerializationError
from lamina.functions import load_budget
from lamina.functions.plan import plan_function
from lamina.layers.function_config import loading_options
from lamina.layers.layer import Layer
from lamina.layers.serialization import deserialize_layer, serialize_layer
from lamina.saving import archive, sharded, weights_file
from lamina.saving.keras_archive_write import save_keras_archive
from lamina.saving.keras_file import keras_file_kind
from lamina.saving.keras_read import from_keras
from lamina.saving.lambda_entries import lambda_entries
from lamina.saving.rebuildable import check_rebuildable
from lamina.version import __version__


def _state(model: Layer) -> dict[str, torch.Tensor]:
    return dict(model.state_dict(keep_vars=True))


#: What rebuilding objects from a damaged config raises; each becomes a CorruptArchiveError.
_REBUILD_ERRORS = (SerializationError, TypeError, ValueError, KeyError, IndexError,
                   AttributeError, RuntimeError, OverflowError, MemoryError)


def function_tiers(entry: Any) -> dict[str, str]:
    """Each Lambda's name and the tier its function loads in, read from a config tree.

    Every Lambda at any depth counts (inside wrappers, nested models, captured layers); the
    tier is the one the loader dispatches on (``plan_function``), ``"refused"`` for an entry
    it would refuse. Saved in ``metadata.json`` for people: loading never reads it back, and
    ``lamina inspect`` only notes when it disagrees with the config.
    """
    tiers: dict[str, str] = {}
    for path, node in lambda_entries(entry):
        try:
            tier = plan_function(node["config"].get("function"), path[-1]).tier
        except (LaminaError, RecursionError):
            tier = "refused"
        tiers[path[-1]] = tier
    return dict(sorted(tiers.items()))


def save_model(model: Layer, path: str | os.PathLike, include_optimizer: bool = True,
               allow_bytecode: bool = False) -> None:
    """Save architecture, weights and (when compiled) optimizer state to one file.

    A path ending in ``.keras`` gets a genuine Keras 3 archive, which
    ``keras.saving.load_model`` reads (see
    :func:`~lamina.saving.keras_archive_write.save_keras_archive`: a Lambda's function is
    written as Keras's bytecode, so Keras loads it with ``safe_mode=False`` only; the
    compile configuration is written, with the optimizer's state for Adam, AdamW and plain
    SGD; a layer Keras does not have is refused). Any other path gets lamina's own format
    (``.lamina``): safe to load, with the optimizer's state.

    Everything is serialised in memory first: a model that cannot be saved raises before a
    byte is written, and the file appears atomically (an old file at ``path`` stays intact
    until the new one is complete).

    A model sharded by ``fit(..., distribute="fsdp")`` is gathered whole first, which is
    a collective: every rank calls ``save_model``, and rank 0 writes the file.

    Args:
        model: The model (or layer) to save.
        path: Where to write: ``.lamina`` for lamina's format, ``.keras`` for Keras's.
        include_optimizer: Also save the optimizer's state when the model is compiled (for
            a ``.keras`` file: the compile configuration).
        allow_bytecode: Let functions with no source and no traceable graph be saved as
            Python bytecode (loading them then needs ``safe_mode=False`` and the same
            Python version). Default: ``False``. (A ``.keras`` file always holds
            bytecode, as Keras writes it.)
    """
    if isinstance(model, Layer) and os.fspath(path).endswith(".keras"):
        save_keras_archive(model, path, include_optimizer=include_optimizer)
        return
    if not isinstance(model, Layer):
        raise SerializationError(
            f"save_model expects a lamina layer or model, received {type(model).__name__}."
        )
    with loading_options(allow_bytecode=allow_bytecode), sharded.own_classes(model):
        entry = serialize_layer(model, build_config=True)
        check_rebuildable(model)
    tiers = function_tiers(entry)
    state = _state(model)
    shards = sharded.holds_shards(state)  # fit(distribute="fsdp"): every rank gathers
    weights, aliases = archive.tensors_payload(sharded.gathered(state) if shards else state)
    config: dict[str, Any] = {
        "format_version": archive.FORMAT_VERSION,
        "model": entry,
        "weight_aliases": aliases,
    }
    members: dict[str, Any] = {archive.WEIGHTS: weights}
    trainer_state = getattr(model, "training_state", None)
    if callable(trainer_state):
        compile_config, optimizer_tensors = trainer_state(include_optimizer)
        if compile_config is not None:
            config["compile_config"] = compile_config
        if optimizer_tensors and shards:
            optimizer_tensors = sharded.gathered(optimizer_tensors)
        if optimizer_tensors:
            members[archive.OPTIMIZER], config["optimizer_aliases"] = archive.tensors_payload(
                optimizer_tensors)
    metadata = {
        "lamina_version": __version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "saved_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "function_tiers": tiers,
    }
    try:
        config_bytes = json.dumps(config, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as error:
        raise SerializationError(
            f"Model '{model.name}': its config is not JSON: {error}") from error
    members[archive.CONFIG] = config_bytes
    members[archive.METADATA] = json.dumps(metadata, indent=1).encode("utf-8")
    if shards and not sharded.writes_here():
        return  # rank 0 writes the gathered file
    archive.write_archive(path, members)


def load_model(path: str | os.PathLike, custom_objects: dict[str, Any] | None = None,
               safe_mode: bool = True, compile: bool = True) -> Layer:  # noqa: A002 - Keras's name
    """Load a model saved by :func:`save_model`; nothing from the file is executed.

    Saved functions are checked against the allowlist and compiled into namespaces that
    hold only allowed objects; weights are checked for name, shape and dtype before any is
    assigned. Any problem is a :class:`~lamina.errors.LoadError` and no model is returned.
    A Keras model file (``.keras`` archive or ``.h5``) is converted by
    :func:`~lamina.saving.keras_read.from_keras`, which never runs anything from it either.

    On POSIX systems the weights are a private, copy-on-write memory map of the file (no
    copy is made of the files lamina writes; changing the weights never changes the
    file), checksummed before the model is returned. Replacing the file (a new save to
    ``path``) is safe while the model lives; truncating or rewriting it in place is not,
    as with ``safetensors`` and ``torch.load(mmap=True)``. Each weight's storage is the
    mapping, so ``torch.save`` of part of a loaded model writes the whole mapping; save
    with lamina, or ``.clone()`` the part first. Elsewhere the weights are copied.

    Args:
        path: The file.
        custom_objects: Classes and functions by the names the file refers to.
        safe_mode: Refuse bytecode-tier functions. Default: ``True``.
        compile: Restore the compile configuration and optimizer state, if saved.
    """
    if keras_file_kind(path) is not None:
        # A Keras program's load_model("m.keras"): converted, nothing from the file runs.
        return from_keras(path, custom_objects, compile=compile)
    with archive.Archive(path) as stored:
        config = stored.json(archive.CONFIG)
        where = f"'{stored.path}'"
        version = config.get("format_version")
        if type(version) is not int or version != archive.FORMAT_VERSION:
            raise LoadError(
                f"{where} has format version {version!r}; this lamina "
                f"reads version {archive.FORMAT_VERSION}. Load it with the lamina that wrote it."
            )
        entry = config.get("model")
        if not isinstance(entry, dict):
            raise CorruptArchiveError(f"{where}: config.json has no model entry.")
        weights = stored.tensors(archive.WEIGHTS)
        # Every weight the config creates must be in the file: creating more bytes of
        # weights than the file holds is refused before the allocation (a memory bomb).
        budget = stored.size(archive.WEIGHTS)
        load_budget.check_layer_count(entry, stored.size(archive.CONFIG), where)
        try:
            with loading_options(safe_mode=safe_mode), initializers.skipped(budget), \
                    load_budget.loading_file(where):
                model = deserialize_layer(entry, custom_objects)
        except LoadError:
            raise
        except RecursionError:
            raise CorruptArchiveError(f"{where}: the config nests too deeply.") from None
        except _REBUILD_ERRORS as error:
            raise CorruptArchiveError(f"{where}: the config cannot be rebuilt: "
                                      f"{type(error).__name__}: {error}") from error
        # Windows cannot replace a file while a view of it lives: copy the weights there.
        copies = archive.assign_tensors(_state(model), weights,
                                        config.get("weight_aliases", {}), where,
                                        adopt=os.name == "posix")
        optimizer_tensors = None
        if compile and stored.has(archive.OPTIMIZER):
            optimizer_tensors = stored.tensors(archive.OPTIMIZER)
        stored.verify()
    for copy in copies:
        copy()
    restore = getattr(model, "restore_training_state", None)
    if compile and callable(restore) and config.get("compile_config") is not None:
        try:
            restore(config["compile_config"], optimizer_tensors,
                    config.get("optimizer_aliases", {}))
        except LoadError:
            raise
        except _REBUILD_ERRORS as error:
            raise CorruptArchiveError(f"{where}: the saved compile configuration or optimizer "
                                      f"state cannot be restored: {type(error).__name__}: "
                                      f"{error}") from error
    return model


def save_weights(model: Layer, path: str | os.PathLike) -> None:
    """Save every weight (``state_dict``) to a safetensors file, atomically.

    The file is a standard safetensors file (the ``safetensors`` library reads it), written
    by the same code as :func:`save_model`'s weights, streamed without gathering them into
    one buffer first. The weights' order is stored too, so :func:`load_weights` can also
    fill a model whose layers have other names (Keras matches weights by position,
    PyTorch by name).

    Args:
        model: The model (or layer) whose weights to save.
        path: Where to write; the ``.safetensors`` suffix is conventional.
    """
    state = _state(model)
    if sharded.holds_shards(state):  # a sharded model: every rank gathers, rank 0 writes
        state = sharded.gathered(state)
        if not sharded.writes_here():
            return
    weights_file.write_weights(path, state)


def load_weights(model: Layer, path: str | os.PathLike) -> None:
    """Load weights from a safetensors file or a ``.lamina`` file's weights.

    Weights are matched by name when the names agree, else by position (the order they
    were saved in), each checked for shape and dtype; all are checked before any is set,
    so a damaged or mismatched file changes no weight (a
    :class:`~lamina.errors.LoadError`). As in :func:`load_model`, on POSIX systems a
    weight laid out as the file stores it takes a private, copy-on-write memory map of
    the file instead of a copy (changing it never changes the file); the others, and all
    weights elsewhere, are copied.

    Args:
        model: The model (or layer) to fill.
        path: A file written by :func:`save_weights` (or any safetensors file of these
            weights) or by :func:`save_model`.
    """
    for copy in weights_file.weight_assignments(_state(model), path,
                                                adopt=os.name == "posix"):
        copy()
