"""``clone_model``: a model of the same architecture with new weights (Keras's)."""

from __future__ import annotations

from typing import Any

from lamina.errors import ArgumentError
from lamina.layers.layer import Layer
from lamina.layers.serialization import deserialize_layer, serialize_layer


def clone_model(model: Layer, input_tensors: Any = None, clone_function: Any = None,
                custom_objects: dict[str, Any] | None = None) -> Layer:
    """A new model (or layer) built from ``model``'s config: the same architecture, layer
    names and arguments, new weights from the initializers (Keras's ``clone_model``).

    Args:
        model: A Sequential, Functional or subclassed model with a config, or a layer.
        input_tensors: Only ``None`` (the clone has inputs like the original's).
        clone_function: Only ``None`` (each layer is rebuilt from its config).
        custom_objects: Classes and functions the config names, as for ``load_model``.

    Example:
        >>> import lamina, torch
        >>> from lamina import layers
        >>> original = lamina.Sequential([lamina.Input((3,)), layers.Dense(2, name="d")])
        >>> twin = clone_model(original)
        >>> twin.get_layer("d") is original.get_layer("d"), twin.output_shape
        (False, (None, 2))
    """
    if input_tensors is not None or clone_function is not None:
        raise ArgumentError(
            "clone_model: input_tensors and clone_function are not supported yet; received "
            f"input_tensors={input_tensors!r}, clone_function={clone_function!r}. Clone "
            "with the defaults, then call the clone on new inputs.")
    if not isinstance(model, Layer):
        raise ArgumentError(f"clone_model expects a lamina model or layer, received "
                            f"{type(model).__name__}.")
    return deserialize_layer(serialize_layer(model, build_config=True), custom_objects)
