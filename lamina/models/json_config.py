"""``model.to_json()`` back to a model: ``model_from_json`` (Keras's), within a budget.

A JSON config may come from anywhere, so it is read as a file is (``saving.load_model``):
its nesting and layer count are checked before anything is built, functions in it are
validated and compiled in safe mode (nothing in it runs), shapes are inferred on fake
tensors within the load budget, and the new weights it creates may not exceed
:data:`MAX_WEIGHT_BYTES` in all.
"""

from __future__ import annotations

import json
from typing import Any

from lamina import initializers
from lamina.errors import CorruptArchiveError, LoadError
from lamina.functions import load_budget
from lamina.layers.function_config import loading_options
from lamina.layers.layer import Layer
from lamina.layers.serialization import deserialize_layer

#: The bytes of new weights a JSON config may make lamina allocate (1 GiB).
MAX_WEIGHT_BYTES = 1 << 30


def model_from_json(json_string: str | bytes, custom_objects: dict[str, Any] | None = None
                    ) -> Layer:
    """A new model (fresh weights) from the config ``model.to_json()`` wrote.

    Args:
        json_string: The JSON text.
        custom_objects: Classes and functions the config names, as for ``load_model``.

    Raises:
        LoadError: The JSON is malformed, too deep, describes too many layers, asks for
            more than :data:`MAX_WEIGHT_BYTES` of weights, or cannot be rebuilt.

    Example:
        >>> import lamina
        >>> x = lamina.Input((3,))
        >>> model = lamina.Model(x, lamina.layers.Dense(2)(x))
        >>> model_from_json(model.to_json()).output_shape
        (None, 2)
    """
    data = json_string.encode("utf-8") if isinstance(json_string, str) else bytes(json_string)
    where = "model_from_json"
    load_budget.check_json_depth(data, where)
    try:
        entry = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise CorruptArchiveError(f"{where}: the text is not JSON: {error}") from error
    if not isinstance(entry, dict):
        raise CorruptArchiveError(f"{where}: expected a layer entry (an object), received "
                                  f"{type(entry).__name__}.")
    load_budget.check_layer_count(entry, len(data), where)
    meaning = (f"more than model_from_json creates ({MAX_WEIGHT_BYTES} bytes of weights in "
               "all); build so large a model in code")
    try:
        with loading_options(safe_mode=True), initializers.limited(MAX_WEIGHT_BYTES, meaning), \
                load_budget.loading_file(where):
            return deserialize_layer(entry, custom_objects)
    except LoadError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, RecursionError) as error:
        raise CorruptArchiveError(f"{where}: the config cannot be rebuilt: "
                                  f"{type(error).__name__}: {error}") from error
