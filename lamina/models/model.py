"""``Model``: a layer made of layers, with Keras's model API on top of ``nn.Module``.

``Model(inputs, outputs)`` builds a Functional model (see ``functional.py``); subclassing
``Model`` and writing ``call`` gives a subclassed model, like in Keras.
"""

from __future__ import annotations

import json
from typing import Any

from torch import nn

from lamina.errors import ArgumentError
from lamina.export import export_model
from lamina.layers.layer import Layer
from lamina.layers.serialization import serialize_layer
from lamina.layers.tracking import layers_in
from lamina.models.graph_config import rebuild_graph
from lamina.models.summary import render_summary
from lamina.saving import load_weights, save_model, save_weights
from lamina.training.trainer import Trainer


class Model(Trainer, Layer):
    """A group of layers with training and inspection (``summary``) support.

    ``Model(inputs, outputs)`` returns a Functional model built from symbolic tensors.
    A subclass that defines ``call`` (and creates its layers in ``__init__``) is a
    subclassed model.

    Example:
        >>> import lamina, torch
        >>> from lamina import layers
        >>> class TwoLayers(lamina.Model):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.hidden = layers.Dense(4, activation="relu", name="hidden")
        ...         self.out = layers.Dense(1, name="out")
        ...     def call(self, inputs):
        ...         return self.out(self.hidden(inputs))
        >>> model = TwoLayers()
        >>> tuple(model(torch.zeros(2, 3)).shape), [layer.name for layer in model.layers]
        ((2, 1), ['hidden', 'out'])
    """

    outputs_carry_masks = True

    def __new__(cls, *args: Any, **kwargs: Any) -> Model:
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            # Deferred: Functional subclasses Model, so it exists only after this module.
            from lamina.models.functional import Functional

            return super().__new__(Functional)
        # A subclass decides in __init__, from what its constructor passes to
        # Model.__init__ (its own arguments may be anything: VAE(encoder, decoder)).
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        functional_call = len(args) == 2 or (len(args) == 1 and "outputs" in kwargs) or (
            "inputs" in kwargs and "outputs" in kwargs)
        if functional_call and not self._graph_registry:
            # Keras's CustomModel(inputs, outputs), or super().__init__(inputs, outputs) in
            # a subclass: the instance becomes one of a subclass that is also Functional
            # (its steps, its graph), as Keras does by swapping the class's bases.
            # Deferred: Functional subclasses Model, so it exists only after this module.
            from lamina.models.functional import Functional

            object.__setattr__(self, "__class__", _functional_variant(type(self)))
            Functional.__init__(self, *args, **kwargs)
            return
        if args:
            raise ArgumentError(
                f"{type(self).__name__}: Model(inputs, outputs) builds a Functional model; a "
                "subclass passes only keyword arguments such as name= to Model.__init__, "
                f"received {len(args)} positional argument(s)."
            )
        super().__init__(**kwargs)

    #: Whether the model's layers are registered by their names (Functional, Sequential).
    _graph_registry = False

    def __setattr__(self, name: str, value: Any) -> None:
        # A layer of the graph may share its name with one of the model's own attributes
        # (``built``, ``training``...): the layer lives in the module registry, the value in
        # the model's __dict__, and neither replaces the other.
        modules = self.__dict__.get("_modules")
        if self._graph_registry and modules is not None and name in modules and not (
                value is None or isinstance(value, nn.Module)):
            object.__setattr__(self, name, value)
            return
        super().__setattr__(name, value)

    @property
    def layers(self) -> list[Layer]:
        """The model's layers: for a subclassed model, the layers it holds directly (those in
        its lists and dicts included, as Keras tracks them)."""
        return [m for m in layers_in(self) if isinstance(m, Layer)]

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by name or by position in :attr:`layers`."""
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ArgumentError(
                    f"Model '{self.name}' has {len(layers)} layers, received index={index}."
                )
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ArgumentError(
            f"Model '{self.name}' has no layer named {name!r}; its layers are "
            f"{[layer.name for layer in layers]}."
        )

    def summary(self, line_length: int | None = None, positions: Any = None,
                print_fn: Any = None, expand_nested: bool = False,
                show_trainable: bool = False, layer_range: Any = None) -> None:
        """Print a Keras-like table of layers, output shapes and parameter counts.

        Args:
            line_length: Total width of the table. Default: the terminal's, at most 120.
            positions: Keras's column positions; accepted, but columns are sized to
                their contents.
            print_fn: Called with the whole summary as one string instead of printing it.
            expand_nested: Also list the layers of nested models, indented.
            show_trainable: Add a column saying whether each layer is trainable.
            layer_range: ``(first, last)`` layer names (or patterns): show only that span.
        """
        text = render_summary(self, width=line_length, expand_nested=expand_nested,
                              show_trainable=show_trainable, layer_range=layer_range)
        if print_fn is None:
            print(text)
        else:
            print_fn(text)

    def summary_rows(self) -> list[tuple[Layer, Any, list[str]]]:
        """(layer, output shape or ``None`` when unknown, names of the layers it is
        connected to) per row of :meth:`summary`: a subclassed model lists its layers."""
        return [(layer, getattr(type(layer), "output_shape", None) and layer.output_shape, [])
                for layer in self.layers]

    def to_json(self, **kwargs: Any) -> str:
        """The model's config as a JSON string (Keras's ``to_json``; ``kwargs`` go to
        ``json.dumps``). It holds the architecture only, not the weights."""
        return json.dumps(serialize_layer(self, build_config=True), **kwargs)

    def save(self, path: str, include_optimizer: bool = True,
             allow_bytecode: bool = False) -> None:
        """Save to one file: lamina's format for ``.lamina``, a Keras 3 archive for
        ``.keras`` (see :func:`lamina.save_model`)."""
        save_model(self, path, include_optimizer=include_optimizer,
                   allow_bytecode=allow_bytecode)

    def save_weights(self, path: str) -> None:
        """Save every weight to a safetensors file (see :func:`lamina.saving.save_weights`)."""
        save_weights(self, path)

    def load_weights(self, path: str) -> None:
        """Load weights saved by :meth:`save_weights`; all are checked before any is set."""
        load_weights(self, path)

    def export(self, path: str, format: str = "onnx", inputs: Any = None,
               opset_version: int | None = None) -> str:
        """Write the model for deployment: an ONNX file (``format="onnx"``) or a
        ``torch.export`` program (``format="torch"``), with a dynamic batch axis.

        A deployment format, not a ``.lamina`` file: ``lamina.load_model`` never reads it,
        and a ``torch.export`` file is not safe to load from untrusted sources. See
        :func:`lamina.export.export_model` for the arguments.
        """
        return export_model(self, path, format=format, inputs=inputs,
                            opset_version=opset_version)

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict | None = None) -> Model:
        """Rebuild a model; ``Model.from_config`` of a Functional config gives a Functional,
        and a subclass's from a Functional config is that subclass built functionally."""
        if "layers" in config and "output_layers" in config:
            inputs, outputs = rebuild_graph(config, custom_objects)
            maker: Any = cls
            if cls is Model:
                # Deferred: Functional subclasses Model, so it exists only after this module.
                from lamina.models.functional import Functional

                maker = Functional
            return maker(inputs, outputs, name=config.get("name"),
                         trainable=config.get("trainable", True))
        return cls(**config)

    def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        raise NotImplementedError(
            f"Model '{self.name}' ({type(self).__name__}) has no call(). Subclasses of "
            "lamina.Model must define call(self, inputs, ...), or build a Functional model "
            "with lamina.Model(inputs, outputs)."
        )


def _functional_variant(cls: type) -> type:
    """``cls`` mixed with Functional (made once per class), named as ``cls``: what Keras
    does by swapping the class's bases."""
    variant = cls.__dict__.get("_lamina_functional_variant")
    if variant is None:
        # Deferred: Functional subclasses Model, so it exists only after this module.
        from lamina.models.functional import Functional

        namespace = {"__module__": cls.__module__, "__qualname__": cls.__qualname__,
                     "__doc__": cls.__doc__}
        entry = cls.__dict__.get("__lamina_serializable__")
        if entry is not None:
            namespace["__lamina_serializable__"] = entry
        variant = type(cls.__name__, (cls, Functional), namespace)
        type.__setattr__(cls, "_lamina_functional_variant", variant)
    return variant
