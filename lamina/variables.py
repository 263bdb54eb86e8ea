"""``lamina.Variable``: a weight with Keras's variable API, i.e. a ``torch.nn.Parameter``.

Every weight a layer creates (``add_weight``) is a Variable, as every weight of a Keras 3
layer is a ``keras.Variable``: ``assign``, ``assign_add``, ``assign_sub``, ``numpy()``,
``value``, ``name``, ``path`` (``"dense/kernel"``), ``trainable``, ``shape``, ``dtype``.
Being a Parameter, it is what torch optimizers, ``state_dict`` and ``.to()`` expect, and
torch operations on it return plain tensors (no subclass overhead per call).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from lamina import config
from lamina.errors import ShapeError
from lamina.utils.shapes import dtype_name, standardize_dtype


class Variable(nn.Parameter):
    """A Parameter made from any value, like ``keras.Variable`` / ``tf.Variable``.

    A Variable captured by a ``Lambda`` function is tracked as that layer's weight, so it
    is trained and saved (the Keras docs' warning about ``tf.Variable`` does not apply).

    Args:
        initial_value: A number, nested list, numpy array or tensor.
        trainable: Whether optimizers update it (``requires_grad``). Default: ``True``.
        name: Its name (``"kernel"``). Default: ``"variable"``.
        dtype: Default: ``lamina.config.floatx()`` (``"float32"``) for floating values,
            else the value's own dtype.

    ``dtype`` and ``shape`` are torch's (``torch.float32``, a ``torch.Size``, which is a
    tuple); the rest is Keras's API.

    Example:
        >>> scale = Variable(1.0)
        >>> (scale * 3).item(), scale.trainable
        (3.0, True)
        >>> _ = scale.assign(2.5); scale.assign_add(0.5).numpy()
        array(3., dtype=float32)
    """

    def __new__(cls, initial_value: Any, trainable: bool = True, name: str | None = None,
                dtype: Any = None) -> Variable:
        value = torch.as_tensor(initial_value)
        if dtype is not None:
            value = value.to(standardize_dtype(dtype))
        elif value.is_floating_point():
            value = value.to(standardize_dtype(config.floatx()))
        return cls.of(value.clone(), trainable=trainable, name=name or "variable")

    #: A callable applied to the value after each optimizer step of ``fit`` (Keras's
    #: ``variable.constraint``; see ``lamina.constraints``), or ``None``.
    constraint: Any = None

    @classmethod
    def of(cls, value: torch.Tensor, trainable: bool = True, name: str = "variable",
           path: str | None = None) -> Variable:
        """A Variable holding ``value`` itself (no copy): how layers make their weights."""
        variable = nn.Parameter.__new__(cls, value, requires_grad=bool(trainable))
        variable.variable_name = name
        variable.path = path or name
        return variable

    # ------------------------------------------------------------------ Keras's API
    @property
    def name(self) -> str:
        """The weight's own name (``"kernel"``); :attr:`path` has its layer's too."""
        return self.variable_name

    @property
    def trainable(self) -> bool:
        """Whether optimizers update it; settable."""
        return self.requires_grad

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self.requires_grad_(bool(value))
        self._lamina_trainable = bool(value)

    @property
    def value(self) -> torch.Tensor:
        """The tensor itself (Keras's ``variable.value``)."""
        return self

    def numpy(self, *, force: bool = False) -> np.ndarray:  # type: ignore[override]
        """A numpy copy of the value (no ``detach()`` needed, unlike a Parameter)."""
        return self.detach().cpu().numpy().copy()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        array = self.numpy()
        return array if dtype is None else array.astype(dtype)

    def assign(self, value: Any) -> Variable:
        """Set the value in place (same shape; cast to this variable's dtype)."""
        new = torch.as_tensor(np.asarray(value) if not isinstance(value, torch.Tensor)
                              else value, device=self.device)
        if tuple(new.shape) != tuple(self.shape):
            raise ShapeError(
                f"Variable '{self.path}' has shape {tuple(self.shape)}; cannot assign a value "
                f"of shape {tuple(new.shape)}. Assign a value of the variable's shape."
            )
        with torch.no_grad():
            self.copy_(new.to(self.dtype))
        return self

    def assign_add(self, value: Any) -> Variable:
        """Add ``value`` in place."""
        return self.assign(self.detach() + torch.as_tensor(value, device=self.device))

    def assign_sub(self, value: Any) -> Variable:
        """Subtract ``value`` in place."""
        return self.assign(self.detach() - torch.as_tensor(value, device=self.device))

    # ------------------------------------------------------------------ copies
    def __deepcopy__(self, memo: dict) -> Variable:
        if id(self) in memo:
            return memo[id(self)]
        copy = type(self).of(self.data.clone(memory_format=torch.preserve_format),
                             trainable=self.requires_grad, name=self.variable_name,
                             path=self.path)
        copy.__dict__.update({k: v for k, v in self.__dict__.items()
                              if k not in ("variable_name", "path")})
        memo[id(self)] = copy
        return copy

    def __reduce_ex__(self, protocol: Any) -> tuple:
        # A Parameter pickles as a plain Parameter; a Variable stays a Variable (with its
        # name, path and flags), so pickled and spawned models keep Keras's API.
        return (_rebuild_variable, (self.data, self.requires_grad, dict(self.__dict__)))

    def __repr__(self) -> str:
        shape = tuple(self.shape)
        value = self.data.tolist() if self.numel() <= 8 else "..."
        return (f"<Variable path={self.path}, shape={shape}, dtype={dtype_name(self.dtype)}, "
                f"value={value}>")


def _rebuild_variable(data: torch.Tensor, requires_grad: bool, state: dict[str, Any]
                      ) -> Variable:
    """Unpickle a :class:`Variable` (see ``Variable.__reduce_ex__``)."""
    variable = Variable.of(data, trainable=requires_grad,
                           name=state.get("variable_name", "variable"), path=state.get("path"))
    variable.__dict__.update(state)
    return variable
