"""tf-keras (Keras 2.x) layer config keys that lamina's layers (Keras 3's arguments) lack.

Found by comparing each common layer's ``get_config()`` in tf-keras 2.15
(``tf_keras/layers/...``) with the arguments lamina's layer accepts. Keys both share carry
over untouched; ``keras_config_read`` already handles ``batch_input_shape``, ``axis: [3]``,
``Policy`` and the implementation-only options of every layer (``time_major: False``,
``implementation``, ``fused``, ``renorm: False``...). This module handles the rest:

=========================== ========================= ========================================
Layer                       tf-keras key              What lamina does
=========================== ========================= ========================================
Embedding                   ``input_length``          dropped: it only fixed the static output
                                                      shape, never a value
DepthwiseConv1D/2D          ``groups``                dropped at 1 (tf-keras writes the
                                                      ``Conv`` base's ``groups=1``), else refused
Conv1D/2D/3DTranspose       ``groups``                dropped at 1, else refused
SpatialDropout1D/2D/3D      ``noise_shape``           dropped at ``None`` (always ``None``: the
                                                      layer computes its own)
MultiHeadAttention          ``query_shape``,          dropped: the shapes tf-keras builds the
                            ``key_shape``,            layer for; lamina builds it from the
                            ``value_shape``           same shapes when the graph calls it
LeakyReLU                   ``alpha``                 renamed ``negative_slope`` (same value)
Attention,                  ``causal`` (TF <= 2.9)    ``False`` dropped; ``True`` becomes
AdditiveAttention                                     ``use_causal_mask=True`` on each call
LSTM/GRU/SimpleRNN (+cells) ``enable_caching_device`` dropped: where variables are cached
any layer                   ``hard_sigmoid``          refused: tf-keras's is
                            activation                ``clip(0.2 x + 0.5)``, Keras 3's and
                                                      lamina's ``clip(x / 6 + 0.5)``
=========================== ========================= ========================================

Everything else a tf-keras 2.15 config holds for Dense, Conv1D/2D/3D, SeparableConv,
pooling, global pooling (``keepdims``), BatchNormalization, LayerNormalization, Dropout,
Flatten (``data_format``), Reshape, the merge layers, Activation, ZeroPadding, UpSampling
(``interpolation``), LSTM/GRU/SimpleRNN (``unroll``, ``reset_after``, ``unit_forget_bias``),
Bidirectional and TimeDistributed is an argument lamina's layer takes with the same meaning.
"""

from __future__ import annotations

from typing import Any

from lamina.errors import LoadError

_DEPTHWISE = ("DepthwiseConv1D", "DepthwiseConv2D")
_TRANSPOSE = ("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")
_SPATIAL_DROPOUT = ("SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D")
_RNN = ("LSTM", "GRU", "SimpleRNN", "LSTMCell", "GRUCell", "SimpleRNNCell")
_ATTENTION = ("Attention", "AdditiveAttention")
#: Keys dropped at any value, by class.
_DROPPED: dict[str, tuple[str, ...]] = {
    "Embedding": ("input_length",),
    "MultiHeadAttention": ("query_shape", "key_shape", "value_shape"),
    **{name: ("enable_caching_device",) for name in _RNN},
}
#: Keys dropped at the values listed, refused at any other, by class.
_AT_DEFAULT: dict[str, dict[str, tuple[Any, ...]]] = {
    **{name: {"groups": (1,)} for name in _DEPTHWISE + _TRANSPOSE},
    **{name: {"noise_shape": (None,)} for name in _SPATIAL_DROPOUT},
}
_ACTIVATION_KEYS = ("activation", "recurrent_activation")


def tf_keras_layer_config(class_name: str, config: dict[str, Any], name: str,
                          tf_keras: bool) -> dict[str, Any]:
    """Translate a tf-keras layer config's keys (the table above), in place; return it.

    Args:
        class_name: The layer's class.
        config: Its config; ``causal`` is left for :func:`causal_calls`.
        name: The layer's name, for messages.
        tf_keras: Whether the model was written by tf-keras / Keras 2 (only then does
            ``hard_sigmoid`` mean tf-keras's formula).

    Example:
        >>> tf_keras_layer_config("Embedding", {"input_dim": 5, "output_dim": 2,
        ...                       "input_length": 7}, "e", True)
        {'input_dim': 5, 'output_dim': 2}
    """
    for key in _DROPPED.get(class_name, ()):
        config.pop(key, None)
    for key, neutral in _AT_DEFAULT.get(class_name, {}).items():
        if key in config:
            if config[key] not in neutral:
                raise LoadError(
                    f"Layer '{name}' ({class_name}): {key}={config[key]!r} from the tf-keras "
                    "file has no lamina equivalent; the model cannot be converted as it is.")
            del config[key]
    if class_name == "LeakyReLU" and "alpha" in config:
        if "negative_slope" in config:
            raise LoadError(f"Layer '{name}' (LeakyReLU): both alpha and negative_slope.")
        config["negative_slope"] = config.pop("alpha")
    if tf_keras:
        for key in _ACTIVATION_KEYS:
            if config.get(key) == "hard_sigmoid":
                raise LoadError(
                    f"Layer '{name}' ({class_name}): {key}='hard_sigmoid' in a tf-keras file "
                    "is clip(0.2 * x + 0.5, 0, 1); lamina's (Keras 3's) is clip(x / 6 + 0.5, "
                    "0, 1), so the model cannot be converted as it is.")
    return config


def causal_calls(entry: dict[str, Any]) -> dict[str, Any]:
    """An ``Attention`` entry with tf-keras's ``causal`` config key moved to its calls.

    TF <= 2.9 stored ``causal`` in the config; Keras 3 and lamina take
    ``use_causal_mask`` in each call, which means the same. ``causal: True`` in a layer
    that is not called in a graph (a Sequential) is refused.
    """
    config = entry.get("config")
    if (entry.get("class_name") not in _ATTENTION or not isinstance(config, dict)
            or "causal" not in config):
        return entry
    config = dict(config)
    causal = config.pop("causal")
    entry = {**entry, "config": config}
    if causal is False:
        return entry
    nodes = entry.get("inbound_nodes")
    if causal is not True or not nodes or not all(isinstance(node, list) for node in nodes):
        raise LoadError(f"Layer '{config.get('name')}' ({entry['class_name']}): "
                        f"causal={causal!r} can only be converted in a tf-keras graph call.")
    entry["inbound_nodes"] = [
        [[*item[:3], {**(item[3] if len(item) > 3 and isinstance(item[3], dict) else {}),
                      "use_causal_mask": True}] if isinstance(item, list) else item
         for item in node] for node in nodes]
    return entry


def written_by_tf_keras(entry: Any) -> bool:
    """Whether a model entry has tf-keras's marks: ``batch_input_shape`` or list calls."""
    config = entry.get("config") if isinstance(entry, dict) else None
    layers = config.get("layers") if isinstance(config, dict) else config  # Keras 2.0: a list
    if not isinstance(layers, list):
        return False
    for layer in layers:
        if not isinstance(layer, dict):
            continue
        inner = layer.get("config")
        if isinstance(inner, dict) and "batch_input_shape" in inner:
            return True
        nodes = layer.get("inbound_nodes")
        if isinstance(nodes, list) and any(isinstance(node, list) for node in nodes):
            return True
    return False
