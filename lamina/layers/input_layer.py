"""``Input`` and ``InputLayer``: the entry point of a graph, holding the symbolic input tensor."""

from __future__ import annotations

from typing import Any

from lamina import config
from lamina.errors import ArgumentError
from lamina.layers.layer import Layer
from lamina.symbolic import STRING, Node, SymbolicTensor
from lamina.utils.shapes import dtype_name


class InputLayer(Layer):
    """The layer behind ``lamina.Input``: no weights, it passes its input through.

    Args:
        shape: Shape of one sample, without the batch axis (``None`` for unknown axes).
        batch_size: A fixed batch size or ``None``. Default: ``None``.
        dtype: The input's dtype (``"string"``: numpy strings for a first
            ``TextVectorization`` or ``StringLookup``). Default: ``lamina.config.floatx()``
            (``"float32"``).
        batch_shape: The full shape, batch axis included, instead of shape and batch_size.
        name: The layer's name (the key of this input when a model takes a dict).
        sparse, ragged, optional: Keras's flags for sparse, ragged and optional inputs.
            lamina has none of these, so only ``None``/``False`` is accepted (Keras writes
            them into every config). Default: ``None``, ``None``, ``False``.

    Example:
        >>> InputLayer(shape=(None, 8), name="tokens").output.shape
        (None, None, 8)
    """

    def __init__(
        self,
        shape: tuple[int | None, ...] | None = None,
        batch_size: int | None = None,
        dtype: Any = None,
        batch_shape: tuple[int | None, ...] | None = None,
        name: str | None = None,
        sparse: bool | None = None,
        ragged: bool | None = None,
        optional: bool = False,
        **kwargs: Any,
    ) -> None:
        refuse_input_flags(name, sparse=sparse, ragged=ragged, optional=optional)
        strings = dtype is STRING or dtype in ("string", "str")
        super().__init__(name=name, dtype=config.floatx() if strings or dtype is None else dtype,
                         **kwargs)
        if strings:
            self.dtype = STRING  # numpy strings, for a string layer to convert
        if batch_shape is None:
            if shape is None:
                raise ArgumentError(
                    f"InputLayer '{self.name}': give shape= (one sample's shape) or "
                    "batch_shape=; received neither."
                )
            if isinstance(shape, int):
                shape = (shape,)
            batch_shape = (batch_size, *shape)
        batch_shape = tuple(batch_shape)
        if not all(d is None or (isinstance(d, int) and d >= 0) for d in batch_shape):
            raise ArgumentError(
                f"InputLayer '{self.name}': every axis must be a non-negative int or None, "
                f"received shape={batch_shape[1:]!r} (batch {batch_shape[0]!r})."
            )
        self.batch_shape = batch_shape
        self.built = True
        node = Node(self, [], (), {})
        tensor = SymbolicTensor(batch_shape, self.dtype, node, 0, name=self.name)
        node.outputs = tensor
        node.flat_outputs = [tensor]
        self.note_node(node)  # its output (Layer.output) is the graph's input tensor

    def call(self, inputs: Any) -> Any:
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "batch_shape": list(self.batch_shape),
                "dtype": dtype_name(self.dtype)}


def refuse_input_flags(name: str | None, **flags: Any) -> None:
    """Refuse Keras's ``sparse``/``ragged``/``optional`` input flags when set."""
    for flag, value in flags.items():
        if value not in (None, False):
            raise ArgumentError(
                f"InputLayer '{name}': {flag}={value!r} is not supported; lamina inputs are "
                f"dense torch tensors that are always given. Pass {flag}=False (or leave it out)."
            )


def Input(  # noqa: N802 - Keras's public name
    shape: tuple[int | None, ...] | None = None,
    batch_size: int | None = None,
    dtype: Any = None,
    name: str | None = None,
    batch_shape: tuple[int | None, ...] | None = None,
    sparse: bool | None = None,
    optional: bool = False,
) -> SymbolicTensor:
    """A symbolic input of a Functional model.

    Args:
        shape: The shape of one sample, without the batch axis (``None`` for unknown axes).
        batch_size: A fixed batch size, or ``None`` (any). Default: ``None``.
        dtype: The dtype of the input (``"string"``: numpy strings for a first
            ``TextVectorization`` or ``StringLookup``). Default: ``lamina.config.floatx()``
            (``"float32"``).
        name: The input's name (the key for dict inputs). Default: unique ``input_layer``.
        batch_shape: The full shape, batch axis included (instead of shape and batch_size).
        sparse, optional: Keras's flags; only ``None``/``False`` (lamina inputs are dense
            and always given).

    Example:
        >>> x = Input(shape=(3,))
        >>> x.shape
        (None, 3)
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                       batch_shape=batch_shape, sparse=sparse, optional=optional)
    return layer.output
