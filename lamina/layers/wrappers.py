"""Layers that wrap another layer: the ``Wrapper`` base, ``Bidirectional`` and
``TimeDistributed``."""

from __future__ import annotations

from typing import Any

import torch

from lamina import initializers
from lamina.errors import ArgumentError, ArgumentTypeError, ShapeError
from lamina.layers.layer import Layer
from lamina.layers.serialization import deserialize_layer, keras_entry, nest_paths
from lamina.utils.object_registry import custom_object_scope

Tensor = torch.Tensor
Shape = tuple[int | None, ...]
_MERGE_MODES = ("concat", "sum", "mul", "ave", None)


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy of it backwards, and merges the outputs.

    As in Keras, the forward layer is a new layer made from ``layer``'s config (``layer``'s
    own weights are not used), named ``forward_<name>``; the backward layer is another copy
    with ``go_backwards`` flipped, unless ``backward_layer`` is given. Both get the same
    mask; the backward layer reads it last to first, and its output sequence is reversed
    back before merging. With ``return_sequences``, masked steps output zeros in both
    directions (Keras forces ``zero_output_for_mask``).

    Args:
        layer: A recurrent layer (``LSTM``, ``GRU``, ``SimpleRNN``, ``RNN`` over any cell,
            or one with the same ``go_backwards``, ``return_sequences`` and ``return_state``
            attributes).
        merge_mode: ``"concat"``, ``"sum"``, ``"mul"``, ``"ave"``, or ``None`` for a list
            ``[forward, backward]``. Default: ``"concat"``.
        backward_layer: The layer for the backward direction (it must have the opposite
            ``go_backwards`` and the same ``return_sequences`` and ``return_state``).
            Default: ``None`` (a copy of ``layer``).

    Call arguments:
        sequences: ``(batch, steps, features)``.
        initial_state: The forward layer's initial states then the backward layer's.
        mask: ``(batch, steps)``.
        training: Passed to both layers.

    Output shape:
        The wrapped layer's, with the last axis doubled for ``"concat"``; with
        ``return_state``, the merged output then the forward and the backward states.

    Example:
        >>> from lamina.layers.recurrent import LSTM
        >>> layer = Bidirectional(LSTM(3, return_sequences=True, name="encoder"))
        >>> tuple(layer(torch.ones(2, 5, 4)).shape), layer.backward_layer.name
        ((2, 5, 6), 'backward_encoder')
    """

    supports_masking = True

    def __init__(self, layer: Layer, merge_mode: str | None = "concat",
                 backward_layer: Layer | None = None, **kwargs: Any) -> None:
        for role, value in (("layer", layer), ("backward_layer", backward_layer)):
            if value is None and role == "backward_layer":
                continue
            if not isinstance(value, Layer) or not all(
                    hasattr(value, a) for a in ("go_backwards", "return_sequences",
                                                "return_state")):
                # Keras's classes: ValueError for a non-layer, TypeError for another layer.
                error = ArgumentError if not isinstance(value, Layer) else ArgumentTypeError
                raise error(
                    f"Bidirectional: {role} must be a recurrent lamina layer (LSTM, GRU, "
                    f"SimpleRNN...), received {value!r}."
                )
        if merge_mode not in _MERGE_MODES:
            raise ArgumentError(f"Bidirectional: merge_mode must be one of {_MERGE_MODES}, "
                                f"received merge_mode={merge_mode!r}.")
        if (layer._batch_input_shape is not None and "input_shape" not in kwargs
                and "batch_input_shape" not in kwargs):
            kwargs["batch_input_shape"] = layer._batch_input_shape
        super().__init__(**kwargs)
        with initializers.kept_as_objects():  # the copies use the layer's own initializers
            config = layer.get_config()
        config.pop("batch_input_shape", None)
        # The copies' sublayers (an RNN's cell, perhaps a user's class) are found by name.
        classes = {type(m).__name__: type(m) for m in layer.modules() if isinstance(m, Layer)}
        with custom_object_scope(classes):
            self.forward_layer = type(layer).from_config(
                {**config, "name": "forward_" + layer.name.removeprefix("forward_")})
            copied_backward = backward_layer is None
            if copied_backward:
                backward_layer = type(layer).from_config(
                    {**config, "go_backwards": not layer.go_backwards,
                     "name": "backward_" + layer.name.removeprefix("backward_")})
        self.backward_layer = backward_layer
        if hasattr(layer, "use_cudnn"):  # not in the config: Keras copies it by hand too
            self.forward_layer.use_cudnn = layer.use_cudnn
            if copied_backward:
                backward_layer.use_cudnn = layer.use_cudnn
        forward, backward = self.forward_layer, self.backward_layer
        if forward.go_backwards == backward.go_backwards:
            raise ArgumentError(
                "Bidirectional: the forward and backward layers must have different "
                f"go_backwards, received {forward.go_backwards} for both."
            )
        for attribute in ("return_sequences", "return_state"):
            if getattr(forward, attribute) != getattr(backward, attribute):
                raise ArgumentError(
                    f"Bidirectional: the forward and backward layers must have the same "
                    f"{attribute}, received {getattr(forward, attribute)} and "
                    f"{getattr(backward, attribute)}."
                )
        for sublayer in (forward, backward):
            if hasattr(sublayer, "zero_output_for_mask"):
                sublayer.zero_output_for_mask = sublayer.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences = forward.return_sequences
        self.return_state = forward.return_state

    def build(self, input_shape: Shape) -> None:
        for inner in (self.forward_layer, self.backward_layer):
            built_here = not inner.built
            inner.ensure_built(input_shape)
            if built_here:
                nest_paths(inner, self.name)

    def call(self, sequences: Tensor, initial_state: Any = None, mask: Tensor | None = None,
             training: bool | None = None) -> Any:
        forward_state = backward_state = None
        if initial_state is not None:
            states = list(initial_state)
            forward_state, backward_state = states[:len(states) // 2], states[len(states) // 2:]
        y = self.forward_layer(sequences, initial_state=forward_state, mask=mask,
                               training=training)
        y_reversed = self.backward_layer(sequences, initial_state=backward_state, mask=mask,
                                         training=training)
        states = []
        if self.return_state:
            states = [*y[1:], *y_reversed[1:]]
            y, y_reversed = y[0], y_reversed[0]
        if self.return_sequences:
            y_reversed = y_reversed.flip(1)
        if self.merge_mode == "concat":
            output: Any = torch.cat([y, y_reversed], dim=-1)
        elif self.merge_mode == "sum":
            output = y + y_reversed
        elif self.merge_mode == "ave":
            output = (y + y_reversed) / 2
        elif self.merge_mode == "mul":
            output = y * y_reversed
        else:
            output = [y, y_reversed]
        if not self.return_state:
            return output
        return (*output, *states) if self.merge_mode is None else (output, *states)

    def compute_output_shape(self, input_shape: Shape) -> Any:
        shapes = [self.forward_layer.compute_output_shape(input_shape),
                  self.backward_layer.compute_output_shape(input_shape)]
        states: list[Shape] = []
        if self.return_state:
            states = [*shapes[0][1:], *shapes[1][1:]]
            shapes = [shapes[0][0], shapes[1][0]]
        forward, backward = shapes
        if self.merge_mode == "concat":
            outputs = [(*forward[:-1], forward[-1] + backward[-1])]
        else:
            outputs = shapes if self.merge_mode is None else [forward]
        if self.return_state:
            return (*outputs, *states)
        return outputs if self.merge_mode is None else outputs[0]

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        masks = [output_mask] * (2 if self.merge_mode is None else 1)
        if self.return_state:
            return masks + [None] * (2 * getattr(self.forward_layer, "state_count", 1))
        return masks if self.merge_mode is None else output_mask

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "layer": keras_entry(self.forward_layer),
                "merge_mode": self.merge_mode,
                "backward_layer": keras_entry(self.backward_layer)}

    @classmethod
    def from_config(cls, config: dict[str, Any],
                    custom_objects: dict[str, Any] | None = None) -> Bidirectional:
        config = dict(config)
        config["layer"] = deserialize_layer(config["layer"], custom_objects)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = deserialize_layer(config["backward_layer"],
                                                         custom_objects)
        return cls(**config)

    def extra_repr(self) -> str:
        return f"name={self.name!r}, merge_mode={self.merge_mode!r}"


class Wrapper(Layer):
    """Keras's base class of layers that wrap another layer (``self.layer``).

    It checks the wrapped layer, builds it with the wrapper's input shape unless a
    subclass builds it otherwise, and stores it in the config (``"layer"``), so a subclass
    writes only ``call`` (and ``build`` when the inner shape differs).

    Args:
        layer: The layer to wrap.

    Example:
        >>> from lamina.layers.core import Dense
        >>> class Doubled(Wrapper):
        ...     def call(self, inputs):
        ...         return 2 * self.layer(inputs)
        >>> wrapper = Doubled(Dense(2, kernel_initializer="ones"))
        >>> wrapper(torch.ones(1, 3)).tolist(), wrapper.get_config()["layer"]["class_name"]
        ([[6.0, 6.0]], 'Dense')
    """

    def __init__(self, layer: Layer, **kwargs: Any) -> None:
        if not isinstance(layer, Layer):
            raise ArgumentError(
                f"{type(self).__name__}: layer must be a lamina layer to wrap, received "
                f"{layer!r}.")
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape: Any = None) -> None:
        self._build_wrapped(input_shape)

    def _build_wrapped(self, input_shape: Any) -> None:
        """Build the wrapped layer for ``input_shape``; weights created here get the
        wrapper's name in their paths, as in Keras (``td/inner/kernel``)."""
        built_here = not self.layer.built
        self.layer.ensure_built(input_shape)
        if built_here:
            nest_paths(self.layer, self.name)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "layer": keras_entry(self.layer)}

    @classmethod
    def from_config(cls, config: dict[str, Any],
                    custom_objects: dict[str, Any] | None = None) -> Wrapper:
        config = dict(config)
        layer = deserialize_layer(config.pop("layer"), custom_objects)
        return cls(layer, **config)

    def extra_repr(self) -> str:
        return f"name={self.name!r}, layer={self.layer.name!r}"


class TimeDistributed(Wrapper):
    """Applies a layer to every time step: ``(batch, steps, ...)`` in, the layer's output
    per step out, computed in one call with time folded into the batch axis.

    Args:
        layer: The layer to apply (its weights are shared by all steps).

    Call arguments:
        inputs: ``(batch, steps, ...)``.
        mask: ``(batch, steps, ...)``; folded like the inputs and given to the layer if its
            ``call`` takes a mask. The output mask is the input mask.
        training: Passed to the layer.

    Output shape:
        ``(batch, steps, *layer_output_shape[1:])``.

    Example:
        >>> from lamina.layers.core import Dense
        >>> layer = TimeDistributed(Dense(3))
        >>> tuple(layer(torch.ones(2, 5, 4)).shape), tuple(layer.layer.kernel.shape)
        ((2, 5, 3), (4, 3))
    """

    supports_masking = True

    def _check_rank(self, shape: Any) -> None:
        if len(shape) < 3:
            raise ShapeError(
                f"TimeDistributed '{self.name}' expects inputs of shape (batch, steps, ...) "
                f"with at least 3 axes, received shape {tuple(shape)}."
            )

    def build(self, input_shape: Shape) -> None:
        self._check_rank(input_shape)
        self._build_wrapped(self._folded_shape(input_shape))

    @staticmethod
    def _folded_shape(shape: Shape) -> Shape:
        batch, steps = shape[0], shape[1]
        folded = batch * steps if batch is not None and steps is not None else None
        return (folded, *shape[2:])

    def call(self, inputs: Tensor, mask: Tensor | None = None,
             training: bool | None = None) -> Tensor:
        if inputs.dim() < 3:
            self._check_rank(inputs.shape)
        batch, steps = inputs.shape[:2]
        if mask is not None:
            if tuple(mask.shape[:2]) != (batch, steps):
                raise ShapeError(
                    f"TimeDistributed '{self.name}': the mask must start with the (batch, "
                    f"steps) axes {(batch, steps)} of the inputs, received mask shape "
                    f"{tuple(mask.shape)}."
                )
            mask = mask.reshape(batch * steps, *mask.shape[2:])
        outputs = self.layer(inputs.reshape(batch * steps, *inputs.shape[2:]), mask=mask,
                             training=training)
        return outputs.reshape(batch, steps, *outputs.shape[1:])

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        self._check_rank(input_shape)
        inner = self.layer.compute_output_shape(self._folded_shape(input_shape))
        return (input_shape[0], input_shape[1], *inner[1:])
