"""Weight initializers as objects, with Keras 3's names, arguments and configs.

An initializer is called like Keras's, ``init(shape, dtype=None) -> tensor``, and has
``get_config()`` / ``from_config()``. Layers keep the object and store
:func:`serialize`'s ``{"module", "class_name", "config", "registered_name"}`` in their
configs; :func:`get` also takes a name (``"glorot_uniform"``), a Keras 3 or lamina dict,
a class, or any callable ``f(shape, dtype=None)`` returning the values (``dtype`` is passed
as a name such as ``"float32"``, as Keras does). A callable that is neither registered nor
has ``get_config`` works, but saving a layer that holds it is a ``SerializationError``.

Fans follow Keras for a kernel of shape ``(in, out)`` or ``(*spatial, in, out)``. Seeds
follow Keras too: an integer seed gives the same values at every call; ``seed=None`` draws
from torch's global generator (``torch.manual_seed`` makes it reproducible). float16 and
bfloat16 weights are computed in float32, then cast.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

import torch

from lamina.errors import ArgumentError, SerializationError
from lamina.initializers.base import Initializer, compute_fans, fill_in_place
from lamina.initializers.constant import Constant, Identity, Ones, Zeros
from lamina.initializers.loading import charge, limited, skipped, skipping
from lamina.initializers.random import (
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    LecunNormal,
    LecunUniform,
    Orthogonal,
    RandomInitializer,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    VarianceScaling,
)
from lamina.keras_names import missing_name
from lamina.utils.object_registry import find_object, registered_name
from lamina.utils.shapes import dtype_name

__all__ = [
    "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
    "Initializer", "LecunNormal", "LecunUniform", "Ones", "Orthogonal", "RandomInitializer",
    "RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling", "Zeros", "charge",
    "compute_fans", "deserialize", "fill", "get", "kept_as_objects", "limited", "serialize",
    "serialize_arguments", "skipped", "skipping", "IdentityInitializer", "OrthogonalInitializer",
    "constant", "zeros", "ones", "identity", "orthogonal", "random_normal", "random_uniform",
    "truncated_normal", "variance_scaling", "glorot_uniform", "glorot_normal", "he_uniform",
    "he_normal", "lecun_uniform", "lecun_normal",
]

# Keras's other names for the classes (``keras.initializers.glorot_uniform`` is the class).
IdentityInitializer, OrthogonalInitializer = Identity, Orthogonal
constant, zeros, ones, identity, orthogonal = Constant, Zeros, Ones, Identity, Orthogonal
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling, glorot_uniform, glorot_normal = VarianceScaling, GlorotUniform, GlorotNormal
he_uniform, he_normal, lecun_uniform, lecun_normal = HeUniform, HeNormal, LecunUniform, LecunNormal

_CLASSES: dict[str, type[Initializer]] = {cls.__name__: cls for cls in (
    Constant, Zeros, Ones, Identity, RandomNormal, TruncatedNormal, RandomUniform,
    VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform,
    LecunNormal, Orthogonal)}

#: Every name Keras 3 resolves: class names, their snake_case, and Keras's aliases.
_BY_NAME: dict[str, type[Initializer]] = {
    **_CLASSES,
    **{"".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_"): cls
       for name, cls in _CLASSES.items()},
    "OrthogonalInitializer": Orthogonal, "orthogonal_initializer": Orthogonal,
    "IdentityInitializer": Identity, "identity_initializer": Identity,
    "uniform": RandomUniform, "normal": RandomNormal, "one": Ones, "zero": Zeros,
}
_LOWER = {name.lower(): cls for name, cls in _BY_NAME.items()}


def get(identifier: Any) -> Any:
    """An initializer object from a name, a config dict, a class, an object or a callable.

    ``None`` stays ``None`` (``add_weight`` then uses Keras's default for the dtype).

    Example:
        >>> get("glorot_uniform"), get({"class_name": "Constant", "config": {"value": 2}})
        (GlorotUniform(seed=None, input_axes=None, output_axes=None), Constant(value=2))
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        found = _BY_NAME.get(identifier) or _LOWER.get(identifier.lower())
        if found is None:
            found = find_object(identifier)
        if found is None or not callable(found):
            raise ArgumentError(
                f"Unknown initializer: received {identifier!r}. Use one of "
                f"{sorted(n for n in _BY_NAME if n.islower())}, an initializer object, or a "
                "callable f(shape, dtype=None) returning a tensor."
            )
        identifier = found
    if isinstance(identifier, type):
        return identifier()
    if callable(identifier):
        return identifier
    raise ArgumentError(f"Could not interpret initializer identifier: {identifier!r}. Use a "
                        "name such as 'glorot_uniform', an initializer object or a callable.")


def _registered_name(obj: Any) -> str | None:
    return registered_name(obj)


def serialize(initializer: Any) -> dict[str, Any] | None:
    """Keras 3's config of an initializer (``None`` stays ``None``; a name is resolved).

    Raises :class:`~lamina.errors.SerializationError` for a callable that is neither
    registered nor has ``get_config``.

    Example:
        >>> config = serialize(HeNormal(seed=4))
        >>> config["module"], config["class_name"], config["config"]
        ('lamina.initializers', 'HeNormal', {'seed': 4, 'input_axes': None, 'output_axes': None})
    """
    if initializer is None:
        return None
    if isinstance(initializer, (str, dict, type)):
        initializer = get(initializer)
    cls = type(initializer)
    if _CLASSES.get(cls.__name__) is cls:
        return {"module": "lamina.initializers", "class_name": cls.__name__,
                "config": initializer.get_config(), "registered_name": None}
    registered = _registered_name(initializer)
    if callable(getattr(initializer, "get_config", None)):
        return {"module": cls.__module__, "class_name": cls.__name__,
                "config": initializer.get_config(),
                "registered_name": registered or cls.__name__}
    if registered is not None and getattr(initializer, "__name__", None):
        return {"module": getattr(initializer, "__module__", None), "class_name": "function",
                "config": initializer.__name__, "registered_name": registered}
    raise SerializationError(
        f"The initializer {initializer!r} cannot be stored in a config: it is neither one of "
        "lamina.initializers, registered with @lamina.register_serializable(), nor an "
        "object with get_config()."
    )


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """An initializer from :func:`serialize`'s output, a Keras 3 or Keras 2 config dict, or
    a name. Custom ones are found among ``custom_objects``, the custom-object scopes and the
    registry; no module is ever imported by a name read from a config.
    """
    if config is None or isinstance(config, str):
        return get(config)
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise SerializationError("An initializer config is a name or a dict with "
                                 f"'class_name' and 'config'. Received: {config!r}")
    class_name, arguments = config["class_name"], config.get("config") or {}
    registered = config.get("registered_name")
    found: Any = None
    if isinstance(registered, str) and registered != class_name:
        found = find_object(registered, custom_objects)
    if class_name == "function":
        if found is None:
            found = find_object(arguments if isinstance(arguments, str) else "", custom_objects)
        if not callable(found) or isinstance(found, type):
            raise SerializationError(f"Unknown initializer function {arguments!r}: register it "
                                     "with @lamina.register_serializable() or pass it in "
                                     "custom_objects.")
        return found
    if found is None:
        found = _BY_NAME.get(class_name) or find_object(class_name, custom_objects)
    if found is None:
        raise SerializationError(
            f"Unknown initializer class {class_name!r}. Register a custom one with "
            "@lamina.register_serializable() or pass it in custom_objects.")
    if not isinstance(arguments, dict):
        raise SerializationError(f"The config of initializer {class_name!r} must be a dict. "
                                 f"Received: {arguments!r}")
    if isinstance(found, type):
        try:
            found = (found.from_config(dict(arguments)) if hasattr(found, "from_config")
                     else found(**arguments))
        except TypeError as error:
            raise SerializationError(f"Initializer {class_name!r} cannot be built from "
                                     f"{arguments!r}: {error}") from error
    if not callable(found):
        raise SerializationError(f"{class_name!r} names {found!r}, which is not an initializer.")
    return found


#: Inside :func:`kept_as_objects`: configs hold the initializer objects themselves.
_KEEP_OBJECTS: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "lamina_initializers_kept_as_objects", default=False)


@contextlib.contextmanager
def kept_as_objects() -> Iterator[None]:
    """Inside the block, layers' ``get_config`` holds their initializer objects as they are:
    a config for making a copy in this process (``Bidirectional``'s backward layer), which
    also works for a callable that has no config; not for saving."""
    token = _KEEP_OBJECTS.set(True)
    try:
        yield
    finally:
        _KEEP_OBJECTS.reset(token)


def serialize_arguments(layer: Any, **initializers: Any) -> dict[str, Any]:
    """A layer's initializer arguments for its ``get_config``, each :func:`serialize`'d;
    an initializer that cannot be stored is an error naming the layer and the argument."""
    if _KEEP_OBJECTS.get():
        return dict(initializers)
    configs = {}
    for argument, initializer in initializers.items():
        try:
            configs[argument] = serialize(initializer)
        except SerializationError as error:
            raise SerializationError(
                f"Layer '{layer.name}' ({type(layer).__name__}): {argument}={initializer!r} "
                "cannot be saved: it has no config. Register it with "
                "@lamina.register_serializable() (a function or a class), or make it an "
                "object with get_config() (a subclass of lamina.initializers.Initializer)."
            ) from error
    return configs


def fill(initializer: Any, tensor: torch.Tensor, where: str = "") -> None:
    """Fill ``tensor`` in place with ``initializer``'s values (what ``add_weight`` does).

    ``None`` is Keras's default: ``glorot_uniform`` for floating weights, zeros otherwise.
    float16 and bfloat16 values are computed in float32 and cast (CPU QR and the truncated
    normal's inverse CDF exist only in single precision and up).
    """
    initializer = get(initializer)
    if initializer is None:
        initializer = GlorotUniform() if tensor.is_floating_point() else Zeros()
    if isinstance(initializer, Initializer) and type(initializer).__call__ is (
            Initializer.__call__):
        fill_in_place(initializer, tensor)
        return
    with torch.no_grad():
        dtype = tensor.dtype
        values = initializer(tuple(tensor.shape), dtype=dtype_name(dtype))
        if values is None:
            raise ArgumentError(
                f"{where or 'A weight'}: the initializer {initializer!r} returned None. An "
                "initializer is called as f(shape, dtype=None) and returns the values "
                "(Keras's convention), e.g. lambda shape, dtype=None: torch.ones(shape)."
            )
        values = torch.as_tensor(values)
        if tuple(values.shape) != tuple(tensor.shape):
            raise ArgumentError(
                f"{where or 'A weight'}: the initializer {initializer!r} returned values of "
                f"shape {tuple(values.shape)} for a weight of shape {tuple(tensor.shape)}."
            )
        tensor.copy_(values.to(device=tensor.device, dtype=dtype))


def __getattr__(name: str) -> object:
    """A clear ``AttributeError`` for a Keras name lamina lacks (see ``keras_names.py``)."""
    raise missing_name('initializers', name, globals())
