"""Where Keras 3 keeps each weight of a model in a ``.keras`` archive's ``model.weights.h5``.

Keras's saver (``saving_lib._save_state``) walks the model's objects: an object's own
variables go to ``<path>/vars/<i>`` (trainable ones first, in creation order, then the
others); a layer held by an attribute goes under the attribute's name (attributes in
sorted order, ``_``-prefixed ones last), a list of layers under the list's name with each
layer keyed by the snake case of its *class* name and a counter per list (``dense``,
``dense_1``...), and an object already visited is skipped (a shared layer appears once). A
Functional or Sequential model puts its ``layers`` first. Every object writes a ``vars``
group (empty when it has no variables) carrying its ``name`` as an attribute.

lamina's layers have Keras's classes, configs and weights (same order, shapes and
``Variable.path``) but not always Keras's sub-layers: ``LSTM`` holds its cell's weights
itself, ``MultiHeadAttention`` its four projections'. A table gives, per lamina class,
the objects Keras's layer of that class holds (``_RULES``); a class with no rule is an
error, never a guess. ``tests/test_keras_archive_write.py`` compares the result with the
files Keras itself writes, class by class.

Example:
    >>> import lamina
    >>> from lamina import layers
    >>> list(keras_weight_paths(lamina.Sequential([lamina.Input((3,)), layers.Dense(2)])))
    ['layers/dense/vars/0', 'layers/dense/vars/1']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from lamina.errors import SerializationError
from lamina.layers.layer import Layer
from lamina.layers.serialization import builtin_classes
from lamina.saving.keras_layer_order import keras_functional_layers


@dataclass(frozen=True)
class KerasVarsGroup:
    """One ``vars`` group of ``model.weights.h5``: ``<path>/vars`` (``vars`` at the root),
    the object's ``name`` attribute, and its datasets ``"0"``, ``"1"``... in order."""

    path: str
    name: str | None
    variables: tuple[torch.Tensor, ...]

    @property
    def group(self) -> str:
        """The HDF5 path of the group itself."""
        return f"{self.path}/vars" if self.path else "vars"


@dataclass
class _Saveable:
    """What Keras's walk meets: an object's name, own variables and children
    (attribute name -> a layer, a virtual object, or a list of either)."""

    name: str | None
    variables: list[torch.Tensor]
    children: list[tuple[str, Any]] = field(default_factory=list)
    identity: int | None = None  # the lamina layer's id (None for a virtual object)
    leading: tuple[str, ...] = ()  # children visited before the sorted ones (``layers``)


_Child = Layer | _Saveable | list


def keras_weight_groups(model: Layer) -> list[KerasVarsGroup]:
    """Every ``vars`` group Keras 3 writes for ``model``, in Keras's order.

    Raises:
        SerializationError: A layer of a class with no known Keras layout (named).
    """
    found: list[KerasVarsGroup] = []
    _walk(model, "", found, set())
    return found


def keras_weight_paths(model: Layer) -> dict[str, torch.Tensor]:
    """Each variable of ``model`` (non-trainable state included) by the HDF5 dataset path
    Keras 3.15 writes it to in ``model.weights.h5``, in Keras's order.

    A variable Keras saves twice (``SpectralNormalization`` saves its layer's kernel as its
    own variable too) has two paths to the same tensor. The root is ``model`` itself
    (``vars/0`` for a plain layer's first weight).

    Raises:
        SerializationError: A layer of a class with no known Keras layout (named).
    """
    return {f"{group.group}/{index}": tensor for group in keras_weight_groups(model)
            for index, tensor in enumerate(group.variables)}


def to_snake_case(name: str) -> str:
    """Keras's ``naming.to_snake_case``: ``"MultiHeadAttention"`` -> ``"multi_head_attention"``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def own_variables(layer: Layer) -> list[torch.Tensor]:
    """A layer's own variables in Keras's ``save_own_variables`` order: those created
    trainable, then the others (parameters), then its persistent buffers."""
    parameters = list(layer.named_parameters(recurse=False))
    made_trainable = [getattr(p, "_lamina_trainable", p.requires_grad) for _, p in parameters]
    first = [p for (_, p), flag in zip(parameters, made_trainable) if flag]
    second = [p for (_, p), flag in zip(parameters, made_trainable) if not flag]
    buffers = [b for name, b in layer.named_buffers(recurse=False)
               if b is not None and name not in layer._non_persistent_buffers_set]
    return first + second + buffers


# ------------------------------------------------------------------------------ walking
def _name_key(name: str) -> str:
    return f"~{name}" if name.startswith("_") else name


def _walk(node: _Child, path: str, found: list[KerasVarsGroup], visited: set[int]) -> None:
    saveable = _describe(node) if isinstance(node, Layer) else node
    if saveable.identity is not None:
        if saveable.identity in visited:
            return
        visited.add(saveable.identity)
    found.append(KerasVarsGroup(path, saveable.name, tuple(saveable.variables)))
    children = dict(saveable.children)
    order = list(saveable.leading) + sorted(
        (key for key in children if key not in saveable.leading), key=_name_key)
    for key in order:
        child = children[key]
        where = f"{path}/{key}" if path else key
        if isinstance(child, list):
            _walk_list(child, where, found, visited)
        else:
            _walk(child, where, found, visited)


def _walk_list(items: list[Any], path: str, found: list[KerasVarsGroup],
               visited: set[int]) -> None:
    used: dict[str, int] = {}
    for item in items:
        if isinstance(item, (list, tuple, dict)):
            base = "container"
        elif isinstance(item, (Layer, _Saveable)):
            base = to_snake_case(_keras_class_name(item))
        else:
            continue
        if base in used:
            used[base] += 1
            key = f"{base}_{used[base]}"
        else:
            used[base] = 0
            key = base
        if isinstance(item, (list, tuple, dict)):
            _walk_list(list(item.values()) if isinstance(item, dict) else list(item),
                       f"{path}/{key}", found, visited)
        else:
            _walk(item, f"{path}/{key}", found, visited)


def _keras_class_name(item: Layer | _Saveable) -> str:
    if isinstance(item, _Saveable):
        raise SerializationError("internal: a virtual Keras object inside a list")
    return type(item).__name__


# ------------------------------------------------------------------------------ the rules
def _describe(layer: Layer) -> _Saveable:
    cls = type(layer)
    builtin = builtin_classes().get(cls.__name__) is cls
    if not builtin:
        return _custom(layer)
    rule = _RULES.get(cls.__name__)
    if rule is None:
        if cls.__name__ not in KERAS_LEAF_LAYERS:
            raise SerializationError(
                f"Layer '{layer.name}' ({cls.__name__}): lamina knows no Keras 3 layout for "
                f"the weights of a {cls.__name__} (Keras has no such layer, or its file "
                "layout differs), so it cannot be written to a .keras file. Save it as "
                ".lamina instead.")
        rule = _leaf
    saveable = rule(layer)
    saveable.identity = id(layer)
    return saveable


def _leaf(layer: Layer) -> _Saveable:
    inner = [m for m in layer.modules() if isinstance(m, Layer) and m is not layer]
    if inner:
        raise SerializationError(
            f"Layer '{layer.name}' ({type(layer).__name__}) holds the layer "
            f"'{inner[0].name}', which Keras's {type(layer).__name__} does not: its weights "
            "have no place in a .keras file. Save it as .lamina instead.")
    return _Saveable(layer.name, own_variables(layer))


def _lambda(layer: Layer) -> _Saveable:
    if layer.weights:
        raise SerializationError(
            f"Lambda '{layer.name}' holds tensors (captured or passed as arguments); a Keras "
            "Lambda holds no weights, so they cannot be written to a .keras file. Make them "
            "weights of a custom layer, or save as .lamina.")
    return _leaf(layer)


def _recurrent(cell_name: str) -> Callable[[Layer], _Saveable]:
    """SimpleRNN/LSTM/GRU: lamina holds the cell's weights; Keras's ``cell`` does."""
    def rule(layer: Layer) -> _Saveable:
        saveable = _leaf(layer)
        cell = _Saveable(cell_name, saveable.variables)
        return _Saveable(layer.name, [], [("cell", cell)])
    return rule


def _with_cell(layer: Layer) -> _Saveable:
    return _Saveable(layer.name, own_variables(layer), [("cell", layer.cell)])


def _stacked_cells(layer: Layer) -> _Saveable:
    return _Saveable(layer.name, own_variables(layer), [("cells", list(layer.cells))])


def _bidirectional(layer: Layer) -> _Saveable:
    return _Saveable(layer.name, own_variables(layer), [
        ("forward_layer", layer.forward_layer), ("backward_layer", layer.backward_layer)])


def _time_distributed(layer: Layer) -> _Saveable:
    return _Saveable(layer.name, own_variables(layer), [("layer", layer.layer)])


def _spectral_normalization(layer: Layer) -> _Saveable:
    inner = layer.layer
    kernel = getattr(inner, "kernel", None)
    if not isinstance(kernel, torch.Tensor):
        kernel = getattr(inner, "embeddings", None)
    if not isinstance(kernel, torch.Tensor):
        raise SerializationError(f"SpectralNormalization '{layer.name}': its layer "
                                 f"'{inner.name}' has no kernel or embeddings.")
    # Keras's wrapper tracks the layer's kernel as its own (trainable) variable too.
    return _Saveable(layer.name, [kernel, *own_variables(layer)], [("layer", inner)])


#: (lamina's parameter prefix, Keras's attribute, Keras's sub-layer name) of the attention
#: layers' four projections (EinsumDense layers in Keras).
_PROJECTIONS = (("query", "query_dense", "query"), ("key", "key_dense", "key"),
                ("value", "value_dense", "value"), ("output", "output_dense", "attention_output"))


def _attention(private: bool) -> Callable[[Layer], _Saveable]:
    """MultiHeadAttention (public ``query_dense``...) and GroupedQueryAttention
    (``_query_dense``...): the projections' weights, then Keras's weightless dropout and
    softmax layers."""
    def rule(layer: Layer) -> _Saveable:
        parameters = dict(layer.named_parameters(recurse=False))
        children: list[tuple[str, Any]] = []
        taken = 0
        for prefix, attribute, name in _PROJECTIONS:
            weights = [parameters[key] for key in (f"{prefix}_kernel", f"{prefix}_bias")
                       if key in parameters]
            taken += len(weights)
            children.append((f"_{attribute}" if private else attribute,
                             _Saveable(name, weights)))
        if taken != len(parameters) or list(layer.named_buffers(recurse=False)):
            raise SerializationError(f"{type(layer).__name__} '{layer.name}': weights "
                                     f"{sorted(parameters)} do not match Keras's layout.")
        children += [("_dropout_layer", _Saveable("dropout", [])),
                     ("_softmax", _Saveable("softmax", []))]
        return _Saveable(layer.name, [], children)
    return rule


def _functional(model: Layer) -> _Saveable:
    return _Saveable(model.name, own_variables(model),
                     [("layers", keras_functional_layers(model))], leading=("layers",))


def _sequential(model: Layer) -> _Saveable:
    return _Saveable(model.name, own_variables(model), [("layers", list(model.layers))],
                     leading=("layers",))


_RULES: dict[str, Callable[[Layer], _Saveable]] = {
    "SimpleRNN": _recurrent("simple_rnn_cell"), "LSTM": _recurrent("lstm_cell"),
    "GRU": _recurrent("gru_cell"), "RNN": _with_cell, "ConvLSTM1D": _with_cell,
    "ConvLSTM2D": _with_cell, "ConvLSTM3D": _with_cell, "StackedRNNCells": _stacked_cells,
    "Bidirectional": _bidirectional, "TimeDistributed": _time_distributed,
    "SpectralNormalization": _spectral_normalization,
    "MultiHeadAttention": _attention(private=False),
    "GroupedQueryAttention": _attention(private=True), "Lambda": _lambda,
    "Functional": _functional, "Sequential": _sequential,
}

#: lamina's layers whose Keras namesakes hold their own variables and no other layer
#: (checked against Keras's files by tests/test_keras_archive_write.py).
KERAS_LEAF_LAYERS = frozenset("""
Activation ActivityRegularization AdaptiveAveragePooling1D AdaptiveAveragePooling2D
AdaptiveAveragePooling3D AdaptiveMaxPooling1D AdaptiveMaxPooling2D AdaptiveMaxPooling3D Add
AdditiveAttention AlphaDropout Attention Average AveragePooling1D AveragePooling2D
AveragePooling3D BatchNormalization CategoryEncoding CenterCrop Concatenate Conv1D
Conv1DTranspose Conv2D Conv2DTranspose Conv3D Conv3DTranspose ConvLSTMCell Cropping1D
Cropping2D Cropping3D Dense DepthwiseConv1D DepthwiseConv2D Discretization Dot Dropout ELU
EinsumDense Embedding Flatten GaussianDropout GaussianNoise GlobalAveragePooling1D
GlobalAveragePooling2D GlobalAveragePooling3D GlobalMaxPooling1D GlobalMaxPooling2D
GlobalMaxPooling3D GRUCell GroupNormalization Identity InputLayer LayerNormalization
LeakyReLU LSTMCell Masking Maximum MaxPooling1D MaxPooling2D MaxPooling3D Minimum Multiply
Normalization Permute PReLU RandomBrightness RandomContrast RandomCrop RandomFlip
RandomRotation RandomTranslation RandomZoom ReLU RepeatVector Rescaling Reshape Resizing
ReversibleEmbedding RMSNormalization SeparableConv1D SeparableConv2D SimpleRNNCell Softmax
SpatialDropout1D SpatialDropout2D SpatialDropout3D Subtract UnitNormalization UpSampling1D
UpSampling2D UpSampling3D ZeroPadding1D ZeroPadding2D ZeroPadding3D
""".split())


# ------------------------------------------------------------------------------ user classes
_BASE_ATTRIBUTES: set[str] = set()


def _base_attributes() -> set[str]:
    """The attribute names of a bare lamina Layer (Keras skips its own base's likewise)."""
    if not _BASE_ATTRIBUTES:
        _BASE_ATTRIBUTES.update(dir(Layer(name="keras_weight_paths_probe")))
    return _BASE_ATTRIBUTES


def _custom(layer: Layer) -> _Saveable:
    """A user's layer class (the same code in Keras): its own variables, and the layers
    its attributes hold, under the attributes' names."""
    if any(isinstance(layer, builtin) for builtin in _composite_bases()):
        raise SerializationError(
            f"Layer '{layer.name}' ({type(layer).__name__}) subclasses a lamina model or "
            "wrapper class; its Keras weight layout is not known, so it cannot be written "
            "to a .keras file. Save it as .lamina instead.")
    skip = _base_attributes()
    children: list[tuple[str, Any]] = []
    names = dict.fromkeys([*vars(layer), *layer._modules])
    for name in names:
        if name in skip or name.startswith("__"):
            continue
        value = layer._modules[name] if name in layer._modules else vars(layer)[name]
        if isinstance(value, Layer):
            children.append((name, value))
        elif isinstance(value, (list, tuple, dict, torch.nn.ModuleList, torch.nn.ModuleDict)):
            items = list(value.values()) if isinstance(value, (dict, torch.nn.ModuleDict)) \
                else list(value)
            if any(isinstance(item, Layer) for item in _flat(items)):
                children.append((name, items))
    return _Saveable(layer.name, own_variables(layer), children, identity=id(layer))


def _flat(items: list[Any]) -> Iterator[Any]:
    for item in items:
        if isinstance(item, (list, tuple)):
            yield from _flat(list(item))
        elif isinstance(item, dict):
            yield from _flat(list(item.values()))
        else:
            yield item


def _composite_bases() -> tuple[type, ...]:
    classes = builtin_classes()
    return tuple(classes[name] for name in ("Functional", "Sequential", "Model", *_RULES)
                 if name in classes and name != "Lambda")
