"""Keras's ``keras.config``: the defaults new layers, variables and tensors take, and
``DTypePolicy`` (the dtypes a layer keeps its weights in and computes in).

``set_floatx``, ``set_dtype_policy`` and ``set_image_data_format`` change the defaults of
what is created *afterwards* (layers read them in their constructor), as in Keras: a model
already built runs the same whatever is set later. ``set_epsilon`` changes what
``epsilon()`` returns from then on. The defaults are Keras's: ``float32``, ``1e-7``,
``channels_last``. ``set_max_epochs`` / ``set_max_steps_per_epoch`` (or the environment
variables ``KERAS_MAX_EPOCHS`` / ``KERAS_MAX_STEPS_PER_EPOCH``) cap every ``fit`` for
quick debugging runs, as in Keras.

Example:
    >>> from lamina import config
    >>> config.floatx(), config.epsilon(), config.image_data_format(), config.backend()
    ('float32', 1e-07, 'channels_last', 'torch')
"""

from __future__ import annotations

import os
from typing import Any

from lamina.errors import ArgumentError, ArgumentTypeError
from lamina.keras_names import missing_name

_FLOATS = ("float16", "bfloat16", "float32", "float64")


def _environment_int(name: str) -> int | None:
    """A positive int from environment variable ``name``, or ``None`` when it is unset."""
    text = os.environ.get(name)
    if text is None:
        return None
    if not text.strip().isdigit() or int(text) < 1:
        raise ArgumentError(f"Environment variable {name} must be a positive integer, "
                            f"received {text!r}. Unset it for no cap.")
    return int(text)


_settings: dict[str, Any] = {"floatx": "float32", "epsilon": 1e-7,
                             "image_data_format": "channels_last", "dtype_policy": None,
                             "unsafe_deserialization": False,
                             "max_epochs": _environment_int("KERAS_MAX_EPOCHS"),
                             "max_steps_per_epoch": _environment_int("KERAS_MAX_STEPS_PER_EPOCH")}


_MIXED = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}


class DTypePolicy:
    """A named pair of dtypes: ``variable_dtype`` (weights) and ``compute_dtype``.

    Args:
        name: ``"float32"``, ``"float64"``, ``"float16"``, ``"bfloat16"``,
            ``"mixed_float16"`` or ``"mixed_bfloat16"``. Default: the global policy
            (``lamina.config.dtype_policy()``).
    """

    def __init__(self, name: str | None = None) -> None:
        if name is None:
            name = dtype_policy().name
        if not isinstance(name, str):
            raise ArgumentTypeError(f"DTypePolicy: name must be a string such as "
                                    f"'mixed_bfloat16', received {name!r}.")
        if name in _MIXED:
            self._compute, self._variable = _MIXED[name], "float32"
        elif name in _FLOATS:
            self._compute = self._variable = name
        else:
            raise ArgumentError(
                f"DTypePolicy: cannot use {name!r}; valid policies are 'mixed_float16', "
                f"'mixed_bfloat16' and the float dtypes {list(_FLOATS)}.")
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def variable_dtype(self) -> str:
        """The dtype of the weights layers create."""
        return self._variable

    @property
    def compute_dtype(self) -> str:
        """The dtype layers compute in (through ``torch.autocast`` when it differs)."""
        return self._compute

    @property
    def is_mixed(self) -> bool:
        return self._compute != self._variable

    def get_config(self) -> dict[str, Any]:
        return {"name": self._name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DTypePolicy:
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self._name)

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self._name}">'


def get_policy(identifier: Any) -> DTypePolicy | None:
    """A policy from a name, a policy, or Keras's config dict
    (``{"class_name": "DTypePolicy", "config": {"name": ...}}``); ``None`` stays ``None``."""
    if identifier is None or isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        config = identifier.get("config", identifier)
        if isinstance(config, dict) and isinstance(config.get("name"), str):
            return DTypePolicy(config["name"])
    if isinstance(identifier, str):
        return DTypePolicy(identifier)
    raise ArgumentTypeError(f"Expected a dtype policy name or DTypePolicy, received "
                            f"{identifier!r}.")


def backend() -> str:
    """The name of the backend: always ``"torch"``."""
    return "torch"


def floatx() -> str:
    """The default float dtype, ``"float32"`` unless :func:`set_floatx` changed it."""
    return _settings["floatx"]


def set_floatx(value: str) -> None:
    """Set the default float dtype of new layers' weights, inputs and variables."""
    if value not in _FLOATS:
        raise ArgumentError(f"set_floatx: expected one of {list(_FLOATS)}, received "
                            f"{value!r}.")
    _settings["floatx"] = value


def epsilon() -> float:
    """The fuzz factor against division by zero, ``1e-7`` unless changed."""
    return _settings["epsilon"]


def set_epsilon(value: float) -> None:
    """Set the value :func:`epsilon` returns."""
    _settings["epsilon"] = float(value)


def image_data_format() -> str:
    """``"channels_last"`` unless changed: the ``data_format`` layers take when given
    ``None``."""
    return _settings["image_data_format"]


def set_image_data_format(value: str) -> None:
    """Set the default ``data_format`` of layers created from now on."""
    if value not in ("channels_last", "channels_first"):
        raise ArgumentError(f"set_image_data_format: expected 'channels_last' or "
                            f"'channels_first', received {value!r}.")
    _settings["image_data_format"] = value


def dtype_policy() -> DTypePolicy:
    """The policy of layers created without ``dtype=``: :func:`floatx` unless set."""
    policy = _settings["dtype_policy"]
    return policy if policy is not None else DTypePolicy(floatx())


def set_dtype_policy(policy: Any) -> None:
    """Set the policy of layers created from now on (``"mixed_bfloat16"``...)."""
    _settings["dtype_policy"] = get_policy(policy)


def enable_unsafe_deserialization() -> None:
    """Keras's switch for loading Python bytecode. lamina never executes code from a
    file, so this only records the request: pass ``safe_mode=False`` to ``load_model``
    for a file that holds bytecode."""
    _settings["unsafe_deserialization"] = True


def max_epochs() -> int | None:
    """The cap on ``fit``'s ``epochs`` (``None``: no cap), for quick debugging runs; set
    by :func:`set_max_epochs` or the ``KERAS_MAX_EPOCHS`` environment variable."""
    return _settings["max_epochs"]


def set_max_epochs(value: int | None) -> None:
    """Cap the number of epochs every ``fit`` runs (``None`` removes the cap)."""
    _settings["max_epochs"] = _cap("set_max_epochs", value)


def max_steps_per_epoch() -> int | None:
    """The cap on batches per ``fit`` epoch (``None``: no cap); set by
    :func:`set_max_steps_per_epoch` or the ``KERAS_MAX_STEPS_PER_EPOCH`` variable."""
    return _settings["max_steps_per_epoch"]


def set_max_steps_per_epoch(value: int | None) -> None:
    """Cap the number of batches in each epoch of every ``fit`` (``None`` removes it)."""
    _settings["max_steps_per_epoch"] = _cap("set_max_steps_per_epoch", value)


def _cap(caller: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ArgumentError(f"{caller}: expected a positive int or None, received {value!r}.")
    return value


def is_interactive_logging_enabled() -> bool:
    """Progress bars are printed (lamina always prints them to stdout)."""
    return True


def __getattr__(name: str) -> object:
    """A clear ``AttributeError`` for a Keras name lamina lacks (see ``keras_names.py``)."""
    raise missing_name('config', name, globals())
