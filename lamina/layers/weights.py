"""The Keras weight API of a layer: ``add_weight``, ``weights``, ``trainable``, get/set."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch._subclasses.fake_tensor import FakeTensor

from lamina import constraints, initializers, regularizers
from lamina.errors import ArgumentError, LaminaError, ShapeError
from lamina.layers.tracking import TrackedDict, TrackedList, tracked
from lamina.utils.shapes import standardize_dtype
from lamina.variables import Variable


class WeightsMixin:
    """Keras's weight bookkeeping on top of ``nn.Module``'s parameters and buffers.

    Mixed into :class:`~lamina.layers.layer.Layer`, which provides ``name``, ``dtype`` and
    ``_trainable``.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        # A public list or dict of layers is tracked (their weights are this layer's), as
        # in Keras; see tracking.py. Private attributes are lamina's own bookkeeping.
        if not name.startswith("_") and (type(value) in (list, dict) or name in self.__dict__
                                         .get("_modules", ())):
            value = tracked(self, name, value)
            if isinstance(value, (TrackedList, TrackedDict)):
                # Kept as a plain attribute; its modules are registered under the same name.
                object.__setattr__(self, name, value)
                return
        super().__setattr__(name, value)

    def add_weight(
        self,
        name: str | None = None,
        shape: tuple[int, ...] | None = None,
        initializer: Any = "glorot_uniform",
        dtype: Any = None,
        trainable: bool = True,
        column_major: bool = False,
        regularizer: Any = None,
        constraint: Any = None,
    ) -> Variable:
        """Create, initialise and register a weight; returns it, a :class:`~lamina.Variable`
        (an ``nn.Parameter`` with Keras's variable API, ``path`` ``"<layer>/<name>"``).

        ``column_major=True`` stores a 2-D weight transposed in memory (same shape).
        ``regularizer`` (a callable ``weight -> scalar`` or a Keras name such as ``"l2"``)
        adds its penalty to :attr:`losses`. ``constraint`` (anything
        ``lamina.constraints.get`` takes) is applied after each optimizer step of ``fit``.
        ``initializer`` is anything :func:`lamina.initializers.get` takes (a name, an
        object, a callable ``f(shape, dtype=None)``); ``None`` is Keras's default for the
        dtype (``glorot_uniform`` for floats, zeros otherwise).
        Both Keras orders work: ``add_weight("kernel", (3, 4))`` (Keras 2) and
        ``add_weight(shape=(3, 4), name="kernel")`` / ``add_weight((3, 4))`` (Keras 3).
        A non-trainable weight is a Parameter with ``requires_grad=False``: it is still in
        ``weights``, ``state_dict`` and saved files, but no optimizer updates it.
        """
        if not isinstance(name, (str, type(None))):
            name, shape = (shape if isinstance(shape, str) else None), name
        if shape is None:
            raise ArgumentError(f"Layer '{self.name}': add_weight needs a shape, received None.")
        if name is None:
            name = f"weight_{len(self._parameters)}"
        shape = tuple(int(d) for d in shape)
        if regularizer is not None and not callable(regularizer):
            try:  # a Keras name or config ("l2", {"class_name": ...}), checked before any change
                regularizer = regularizers.get(regularizer)
            except LaminaError as error:
                raise ArgumentError(
                    f"Layer '{self.name}': regularizer for '{name}': {error}") from None
        dtype = standardize_dtype(dtype) if dtype else self.dtype
        initializers.charge(shape, dtype)
        if column_major and len(shape) == 2:
            # Keras's (in, out) shape over torch's (out, in) memory: ``x @ kernel`` then runs
            # the same BLAS kernels as nn.Linear, measurably faster than a row-major kernel.
            value = torch.empty(shape[::-1], dtype=dtype).T
        else:
            value = torch.empty(shape, dtype=dtype)
        if not initializers.skipping():
            initializers.fill(initializer, value, where=f"Layer '{self.name}', weight '{name}'")
        weight = Variable.of(value, trainable=bool(trainable) and self._trainable, name=name,
                             path=f"{self.name}/{name}")
        weight._lamina_trainable = bool(trainable)
        if constraint is not None:
            weight.constraint = constraints.get(constraint)
        self.register_parameter(name, weight)
        if regularizer is not None:
            self._weight_regularizers = {**getattr(self, "_weight_regularizers", {}),
                                         name: regularizer}
        return weight

    def weight_value(self, name: str) -> Any:
        """The weight attribute ``name`` as a call reads it: the parameter registered under
        that name, read from ``_parameters`` (``self.<name>`` would first search the class
        and the instance and then run ``nn.Module.__getattr__``, ~0.5 us more per read, a
        fifth of a small layer's Python time); else the attribute itself (the tensor a
        ``torch.nn.utils.parametrize`` parametrization computes, or ``None`` for a weight
        the layer does not have, such as ``Dense(use_bias=False)``'s bias)."""
        value = self._parameters.get(name)
        return value if value is not None else getattr(self, name)

    @property
    def losses(self) -> list[torch.Tensor]:
        """Penalties to add to the training loss (Keras's ``layer.losses``).

        The weight regularizers of this layer and its sublayers, computed now, then the
        activity penalties recorded by ``add_loss`` during the last call.
        """
        found: list[torch.Tensor] = []
        for module in self.modules():
            if isinstance(module, WeightsMixin):
                found.extend(module.own_losses())
        return found

    def own_losses(self) -> list[torch.Tensor]:
        """This layer's own part of :attr:`losses` (not its sublayers')."""
        regularizers = self.__dict__.get("_weight_regularizers")
        recorded = self.__dict__.get("_call_losses")
        if not regularizers:
            return list(recorded) if recorded else []
        found = [regularizer(getattr(self, name)) for name, regularizer in regularizers.items()]
        return list(recorded) + found if recorded else found

    def add_loss(self, loss: torch.Tensor) -> None:
        """Record a penalty computed in ``call``; it replaces this layer's penalties of the
        previous call (call it once per call, or use a list)."""
        losses = [loss] if not isinstance(loss, list) else list(loss)
        if any(isinstance(value, FakeTensor) for value in losses):
            return  # a shape-inference run, not a real call
        self._call_losses = losses

    @property
    def trainable(self) -> bool:
        """Whether training updates this layer's weights; setting it applies to sublayers."""
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        value = bool(value)
        for module in self.modules():
            if isinstance(module, WeightsMixin):
                module._trainable = value
        for weight in self.parameters():
            weight.requires_grad_(value and getattr(weight, "_lamina_trainable", True))

    @property
    def trainable_weights(self) -> list[torch.Tensor]:
        """Weights that training updates (``requires_grad`` Parameters)."""
        return [p for p in self.parameters() if p.requires_grad]

    @property
    def non_trainable_weights(self) -> list[torch.Tensor]:
        """Frozen Parameters, then persistent buffers (state saved but never trained)."""
        frozen = [p for p in self.parameters() if not p.requires_grad]
        return frozen + list(self._persistent_buffers())

    @property
    def weights(self) -> list[torch.Tensor]:
        """All weights: trainable first, then non-trainable (Keras's order)."""
        return self.trainable_weights + self.non_trainable_weights

    @property
    def variables(self) -> list[torch.Tensor]:
        """Keras 3's name for :attr:`weights` (each a :class:`~lamina.Variable` when the
        layer made it with ``add_weight``)."""
        return self.weights

    @property
    def trainable_variables(self) -> list[torch.Tensor]:
        """Keras 3's name for :attr:`trainable_weights`."""
        return self.trainable_weights

    @property
    def non_trainable_variables(self) -> list[torch.Tensor]:
        """Keras 3's name for :attr:`non_trainable_weights`."""
        return self.non_trainable_weights

    def _persistent_buffers(self) -> list[torch.Tensor]:
        seen: set[int] = set()
        found = []
        for module in self.modules():
            for key, buffer in module._buffers.items():
                if buffer is None or key in module._non_persistent_buffers_set:
                    continue
                if id(buffer) not in seen:
                    seen.add(id(buffer))
                    found.append(buffer)
        return found

    def get_weights(self) -> list[np.ndarray]:
        """The weights as numpy arrays, in the order of :attr:`weights`."""
        return [w.detach().cpu().numpy().copy() for w in self.weights]

    def set_weights(self, weights: list[Any]) -> None:
        """Set every weight from numpy arrays (all checked before any is changed)."""
        own = self.weights
        if len(weights) != len(own):
            raise ShapeError(
                f"Layer '{self.name}' expected {len(own)} weight arrays, received {len(weights)}."
                " Pass a list like the one get_weights() returns."
            )
        arrays = [np.asarray(w) for w in weights]
        for index, (target, array) in enumerate(zip(own, arrays)):
            if tuple(target.shape) != array.shape:
                raise ShapeError(
                    f"Layer '{self.name}': weight {index} has shape {tuple(target.shape)}, "
                    f"received an array of shape {array.shape}. No weight was changed."
                )
        with torch.no_grad():
            for target, array in zip(own, arrays):
                target.copy_(torch.as_tensor(array, dtype=target.dtype))

    def count_params(self) -> int:
        """The number of scalars in all weights."""
        return sum(w.numel() for w in self.weights)
