"""The ``Layer`` base class: a ``torch.nn.Module`` with Keras's layer contract.

What a subclass writes: ``__init__`` (validate and store arguments), ``build(input_shape)``
(create weights with :meth:`Layer.add_weight`), ``call(inputs, training=None, mask=None)``,
optionally ``compute_output_shape`` (or ``compute_output_spec``) and ``compute_mask``, and
``get_config``.

The contract is Keras 3's: ``build`` runs once and sets ``built`` (a layer with no build
of its own may be built on creation, ``_build_at_init``); ``compute_output_spec`` is the
one hook for outputs without data (symbolic calls, ``compute_output_shape``, summaries and
saving ask it); ``get_build_config`` / ``build_from_config`` carry what loading needs.

The eager path is kept short on purpose: ``forward`` checks ``built`` once, fills in the
training flag and the mask only for ``call`` signatures that take them (found once per
class, not per call), and explains failures only after they happen (a ``try`` costs
nothing when nothing is raised).
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn

from lamina import regularizers
from lamina.errors import ArgumentError, LaminaError, ShapeError, UnknownArgumentError
from lamina.layers import inference
from lamina.layers.building import BuildingMixin, marks_built
from lamina.layers.calling import (
    HOOK_REGISTRATIONS,
    argument_masks,
    call_signature,
    carried_mask,
    first_argument_from_keywords,
    flags_by_position,
    input_masks,
    notifying_hook_registration,
)
from lamina.layers.links import LinksMixin
from lamina.layers.precision import PrecisionMixin, policy_of
from lamina.layers.weights import WeightsMixin
from lamina.ops.dispatch import holds_symbolic
from lamina.utils import tree
from lamina.utils.naming import snake_case, unique_name
from lamina.utils.shapes import (
    dtype_name,
    flatten_shapes,
    format_shape,
    is_shape,
    standardize_dtype,
    to_tensor,
)

# Re-exported for the modules that import these helpers from here.
__all__ = [
    "Layer", "dtype_name", "flatten_shapes", "is_shape", "standardize_dtype",
    "to_tensor", "unique_name",
]

Shape = tuple[int | None, ...]


class Layer(WeightsMixin, LinksMixin, BuildingMixin, PrecisionMixin, nn.Module):
    """Base class of every lamina layer: a ``torch.nn.Module`` with Keras's layer API.

    Args:
        name: The layer's name; by default a unique snake-case name from the class name
            (``dense``, ``dense_1``, ...).
        trainable: Whether the layer's weights are updated by training. Default: ``True``.
        dtype: The dtype of the weights the layer creates. Default: ``"float32"``.
        input_shape: Shape of one sample (without the batch axis) when this is the first
            layer of a ``Sequential`` model.
        batch_size: Fixed batch size to go with ``input_shape``. Default: ``None``.
        activity_regularizer: A penalty on the layer's outputs (``"l2"``,
            ``regularizers.L1(0.01)``...): each call's penalty, divided by the batch size,
            is in ``layer.losses`` (Keras 3's). Default: ``None``.

    A new layer is in inference mode (``layer.training is False``), like a Keras layer
    called outside ``fit``; ``model.train()`` or ``training=True`` switch it.

    Masks reach ``call`` as in Keras 3: a ``mask`` parameter receives the first input's
    mask, and with several tensor arguments a parameter named after one of them plus
    ``_mask`` (``call(self, query, value, query_mask=None, value_mask=None)``) receives
    that argument's mask.

    Example:
        >>> class Scale(Layer):
        ...     def build(self, input_shape):
        ...         self.scale = self.add_weight("scale", (), initializer="ones")
        ...     def call(self, inputs):
        ...         return inputs * self.scale
        >>> layer = Scale()
        >>> layer(torch.tensor([1.0, 2.0])).tolist(), [w.shape for w in layer.weights]
        ([1.0, 2.0], [torch.Size([])])
    """

    #: Whether the layer passes its input mask through (``compute_mask`` returns it).
    supports_masking: bool = False
    #: Whether ``call`` returns tensors that carry their own masks (``_keras_mask``), as
    #: models do, instead of the layer's ``compute_mask`` giving them.
    outputs_carry_masks: bool = False
    #: Whether a call takes raw strings as they are (a model with a string ``Input``, whose
    #: string layer converts them), instead of converting its input to a tensor first.
    takes_strings: bool = False
    _call_takes_training: bool = False
    _call_takes_mask: bool = False
    _call_mask_args: tuple[tuple[str, int | None], ...] = ()
    _computes_masks: bool = False  # the class overrides compute_mask (found once per class)
    _call_flags_by_position: dict[int, str] = {}  # position after inputs -> mask/training

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._computes_masks = cls.declares("compute_mask")
        cls._call_flags_by_position = flags_by_position(cls.call)
        (cls._call_takes_training, cls._call_takes_mask,
         cls._call_mask_args) = call_signature(cls.call)
        if "build" in cls.__dict__:
            cls.build = marks_built(cls.__dict__["build"])  # type: ignore[method-assign]

    def __new__(cls, *args: Any, **kwargs: Any) -> Layer:
        layer = super().__new__(cls)
        # Kept for the default get_config (Keras 3's auto-config): a subclass whose
        # constructor takes plain values needs no get_config of its own.
        layer.__dict__["_constructor_arguments"] = (args, kwargs)
        return layer

    def __init__(
        self,
        *,
        name: str | None = None,
        trainable: bool = True,
        dtype: Any = None,
        input_shape: tuple[int | None, ...] | None = None,
        batch_size: int | None = None,
        batch_input_shape: tuple[int | None, ...] | None = None,
        input_dim: int | None = None,
        activity_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            raise UnknownArgumentError(
                f"{type(self).__name__}: unexpected keyword argument(s) {sorted(kwargs)}. "
                "Check the spelling against the layer's documented arguments."
            )
        super().__init__()
        if name is not None and (not isinstance(name, str) or not name or "." in name):
            raise ArgumentError(
                f"{type(self).__name__}: name must be a non-empty string without '.', "
                f"received name={name!r}."
            )
        self.name = name if name is not None else unique_name(snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        policy = policy_of(dtype)
        #: The layer's ``DTypePolicy`` (Keras's): ``None`` for a non-float dtype.
        self.dtype_policy = policy
        self.dtype = standardize_dtype(policy.variable_dtype if policy is not None else dtype)
        #: The torch dtype this layer runs under ``torch.autocast`` in (a mixed policy).
        self._autocast = standardize_dtype(policy.compute_dtype) if (
            policy is not None and policy.is_mixed) else None
        self.built = False
        self._build_shapes: Any = None
        self._build_dtypes: list[torch.dtype] = []
        self.training = False
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is None and input_shape is not None:
            if isinstance(input_shape, int):
                input_shape = (input_shape,)
            batch_input_shape = (batch_size, *input_shape)
        self._batch_input_shape = tuple(batch_input_shape) if batch_input_shape else None
        self.activity_regularizer = regularizers.get(activity_regularizer)

    # ------------------------------------------------------------------ calling
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not args and kwargs:  # layer(inputs=x) or layer(logits=x, targets=y)
            args, kwargs = first_argument_from_keywords(self, kwargs)
        if args and type(args[0]) is not torch.Tensor:
            first = args[0]
            if type(first) in (list, tuple) and all(type(v) is torch.Tensor for v in first):
                return nn.Module.__call__(self, *args, **kwargs)
            if holds_symbolic(first):
                return inference.symbolic_call(self, first, args[1:], kwargs)
            if self.takes_strings:  # a model whose string layers convert the strings
                return nn.Module.__call__(self, *args, **kwargs)
            args = (to_tensor(first, self.dtype), *args[1:])
        return nn.Module.__call__(self, *args, **kwargs)

    def forward(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """Build on first use, then run :meth:`call` (what ``nn.Module.__call__`` invokes)."""
        if self._autocast is not None:
            return self._forward_autocast(inputs, args, kwargs)
        if not self.built:
            self._build_for_inputs(inputs)
        if args and self._call_flags_by_position:
            args, kwargs = self._name_flags(args, kwargs)
        if self._call_takes_training:
            if kwargs.get("training") is None:
                kwargs["training"] = self.training
        elif "training" in kwargs:
            del kwargs["training"]
        if self._call_takes_mask:
            if kwargs.get("mask") is None:
                kwargs["mask"] = input_masks(inputs)
        elif "mask" in kwargs:
            del kwargs["mask"]
        if self._call_mask_args:
            for key, mask in argument_masks(self, (inputs, *args), kwargs, carried_mask):
                kwargs[key] = mask
        try:
            outputs = self.call(inputs, *args, **kwargs)
        except LaminaError:
            raise
        except (RuntimeError, ValueError, TypeError, IndexError) as error:
            cast = self._inputs_in_own_dtype(inputs)
            if cast is not None:
                # Float inputs of another precision (float64 data) are cast to the
                # layer's dtype, as Keras does; found when the call fails, so calls in the
                # right dtype pay nothing for it.
                return self.forward(cast, *args, **kwargs)
            self._raise_if_incompatible(inputs, error)
            raise
        if self.activity_regularizer is not None:
            self._add_activity_penalty(outputs)
        if self.supports_masking or self._computes_masks:
            previous = kwargs.get("mask") if self._call_takes_mask else None
            if previous is None:
                previous = input_masks(inputs)
            if previous is not None or self._computes_masks:
                self._set_output_masks(inputs, outputs, previous)
        return outputs

    def train(self, mode: bool = True) -> Layer:
        """``nn.Module.train``: this layer and every child (through the child's own
        ``train``, so overrides run) in training mode, or in inference mode for ``False``.
        The flag is written to the instance directly: through ``nn.Module.__setattr__``
        each layer paid microseconds, twice per ``train_on_batch``."""
        if not isinstance(mode, bool):
            raise ValueError(f"{type(self).__name__} '{self.name}': train(mode) takes a bool, "
                             f"received {mode!r}.")
        self.__dict__["training"] = mode
        for child in self._modules.values():
            if child is not None:
                child.train(mode)
        return self

    def _add_activity_penalty(self, outputs: Any) -> None:
        """Keras 3's ``activity_regularizer``: its penalty of each output, divided by the
        batch size, is this call's loss (``layer.losses``)."""
        penalties = []
        for output in tree.flatten(outputs):
            if isinstance(output, torch.Tensor):
                penalty = self.activity_regularizer(output)
                if output.dim() > 0 and output.shape[0] > 0:
                    penalty = penalty / output.shape[0]
                penalties.append(penalty)
        self.add_loss(penalties)

    def _name_flags(self, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """``layer(x, mask)``: a positional argument in the place of ``call``'s ``mask`` or
        ``training`` parameter is passed by name (then filled in as a keyword would be)."""
        names = self._call_flags_by_position
        kept = []
        for position, value in enumerate(args):
            name = names.get(position)
            if name is not None and kwargs.get(name) is None:
                kwargs = {**kwargs, name: value}
            else:
                kept.append(value)
        return tuple(kept), kwargs

    def _set_output_masks(self, inputs: Any, outputs: Any, previous: Any) -> None:
        """Keras 3's: eager outputs carry the mask ``compute_mask`` gives (``_keras_mask``),
        unless the call already attached one."""
        flat = [t for t in tree.flatten(outputs) if isinstance(t, torch.Tensor)]
        if not flat or all(getattr(t, "_keras_mask", None) is not None for t in flat):
            return
        masks = self.compute_mask(inputs, previous)
        if masks is None:
            return
        for tensor, mask in zip(flat, tree.flatten(masks)):
            if mask is not None and getattr(tensor, "_keras_mask", None) is None:
                tensor._keras_mask = mask

    def call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """The layer's computation; subclasses override it. The base returns its input."""
        return inputs

    def plan_callable(self) -> Any:
        """What a model's plan may call with one tensor when no hooks are in use.

        ``call`` itself when it takes neither training nor mask (the model has already
        built the layer and explains failures), else ``forward``.
        """
        if self.built and not (self._call_takes_training or self._call_takes_mask
                               or self.activity_regularizer is not None
                               or self._autocast is not None):
            return self.call
        return self.forward

    # ------------------------------------------------------------------ building
    def build(self, input_shape: Any) -> None:
        """Create the layer's weights for ``input_shape`` (batch axis included, maybe ``None``).

        Called once, before the first call; the base creates nothing.
        """

    @classmethod
    def declares(cls, method: str) -> bool:
        """Whether this class overrides the base layer's ``method`` (``build``,
        ``compute_output_shape``, ``compute_mask``, ...)."""
        return getattr(cls, method) is not getattr(Layer, method)

    def _raise_if_incompatible(self, inputs: Any, error: Exception) -> None:
        """After a failure, turn a mismatch with the built shape or dtype into a ShapeError."""
        if self._build_shapes is None:
            return
        received = [t for t in tree.flatten(inputs) if isinstance(t, torch.Tensor)]
        expected = flatten_shapes(self._build_shapes)
        if len(received) != len(expected):
            raise ShapeError(
                f"Layer '{self.name}' ({type(self).__name__}) was built for {len(expected)} "
                f"inputs {expected}, received {len(received)}: "
                f"{[tuple(t.shape) for t in received]}. Call it with the same structure of "
                "inputs it was first called with."
            ) from error
        for tensor, shape in zip(received, expected):
            if shape is None:
                continue
            got = tuple(tensor.shape)
            if len(got) != len(shape) or any(
                e is not None and e != g for e, g in zip(shape[1:], got[1:])
            ):
                raise ShapeError(
                    f"Layer '{self.name}' ({type(self).__name__}) expected input shape "
                    f"{format_shape(shape)}, received {format_shape((None, *got[1:]))} "
                    f"(full shape {got}). Feed tensors of the shape the layer was built for, "
                    "or create a new layer for the new shape."
                ) from error
            if tensor.is_floating_point() and tensor.dtype != self.dtype and any(
                p.dtype == self.dtype for p in self.parameters(recurse=False)
            ):
                raise ShapeError(
                    f"Layer '{self.name}' ({type(self).__name__}) expected dtype "
                    f"{dtype_name(self.dtype)}, received {dtype_name(tensor.dtype)}. Cast the "
                    f"input (e.g. x.to(torch.{dtype_name(self.dtype)})) or build the layer "
                    f"with dtype='{dtype_name(tensor.dtype)}'."
                ) from error

    def _inputs_in_own_dtype(self, inputs: Any) -> Any:
        """``inputs`` with float tensors cast to this layer's float dtype, or ``None`` when
        none differs (or the layer's dtype is not a float)."""
        dtype = self.dtype
        if not dtype.is_floating_point:
            return None
        leaves = [t for t in tree.flatten(inputs) if isinstance(t, torch.Tensor)]
        if not any(t.is_floating_point() and t.dtype != dtype for t in leaves):
            return None
        return tree.map_structure(
            lambda t: t.to(dtype) if isinstance(t, torch.Tensor) and t.is_floating_point()
            else t, inputs)

    # ------------------------------------------------------------------ shapes and masks
    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        """Keras 3's one output hook: the symbolic outputs (shape, dtype and mask, as
        :class:`~lamina.symbolic.SymbolicTensor`) of a call on symbolic arguments, without
        data. Symbolic calls, ``compute_output_shape``, summaries and saving ask it.

        By default a layer that declares ``compute_output_shape`` is asked that (and
        ``compute_mask``); any other runs on fake tensors (no data, see
        ``layers/inference.py``). ``Lambda``, ``Functional`` and ``Sequential`` override it.
        """
        return inference.output_spec(self, args, kwargs, self.declares("compute_output_shape"))

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The output shape for ``input_shape`` (batch axis included, unknown axes ``None``).

        By default the shapes of :meth:`compute_output_spec` for float32 inputs of that shape.
        """
        self.ensure_built(input_shape)
        symbols = inference.symbols_for_shapes(input_shape)
        if self.declares("compute_output_spec"):
            return inference.shapes_of(self.compute_output_spec(symbols))
        return inference.shapes_of(inference.output_spec(self, (symbols,), {}, False))

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The output mask: the input mask when ``supports_masking``, else ``None``."""
        return mask if self.supports_masking else None

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as JSON-safe values (Keras's ``get_config``).

        The base returns ``name``, ``trainable``, ``dtype`` and, for a subclass that does
        not override ``get_config``, the arguments its constructor was called with.
        """
        config: dict[str, Any] = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": self.dtype_policy.name if self._autocast_policy() else dtype_name(
                self.dtype),
        }
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        if type(self).get_config is Layer.get_config:
            config.update(self.constructor_config())
        return config

    def constructor_config(self) -> dict[str, Any]:
        """The arguments this layer's constructor was called with, by parameter name
        (the base layer's own ``name``/``trainable``/``dtype``... left out)."""
        args, kwargs = self.__dict__.get("_constructor_arguments", ((), {}))
        try:
            bound = inspect.signature(type(self).__init__).bind(self, *args, **kwargs)
        except TypeError:
            return {}
        values: dict[str, Any] = {}
        for key, value in list(bound.arguments.items())[1:]:
            parameter = bound.signature.parameters[key]
            if parameter.kind is parameter.VAR_KEYWORD:
                values.update(value)
            elif parameter.kind is not parameter.VAR_POSITIONAL:
                values[key] = value
        for key in _BASE_ARGUMENTS:
            values.pop(key, None)
        return values

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """A new layer from the output of :meth:`get_config`.

        Keys the constructor does not take (``name``, ``trainable``, ``dtype`` for a
        subclass whose ``__init__`` takes no keyword arguments, as in the Keras docs'
        ``ScaleLayer``) are set on the new layer instead.
        """
        parameters = inspect.signature(cls.__init__).parameters
        takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
        accepted = {k: v for k, v in config.items() if takes_any or k in parameters}
        layer = cls(**accepted)
        rest = {k: v for k, v in config.items() if k not in accepted}
        if "name" in rest:
            layer.name = rest.pop("name")
        if "trainable" in rest:
            layer.trainable = rest.pop("trainable")
        if "dtype" in rest:
            layer.dtype = standardize_dtype(rest.pop("dtype"))
        return layer

    def extra_repr(self) -> str:
        return f"name={self.name!r}"

    @property
    def input_shape(self) -> Any:
        """The shape the layer was built for (batch axis ``None``)."""
        return self._build_shapes


#: Constructor arguments every layer takes, kept in the base config (not the auto-config).
_BASE_ARGUMENTS = ("name", "trainable", "dtype", "input_shape", "batch_size",
                   "batch_input_shape", "input_dim", "activity_regularizer")


for _registration in HOOK_REGISTRATIONS:
    setattr(Layer, _registration, notifying_hook_registration(_registration))


Layer.build = marks_built(Layer.build)  # type: ignore[method-assign]
