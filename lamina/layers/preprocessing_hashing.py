"""``Hashing``: Keras 3's hashing layer (strings and numbers to bins), with TensorFlow's hash
functions reproduced in numpy (``lamina.utils.farmhash``, ``lamina.utils.siphash``); no
TensorFlow.

Keras hashes every value as a string: numbers become their decimal text (floats are cast
to int64 first, bools are ``"true"``/``"false"``: ``tf.as_string``), then
``tf.strings.to_hash_bucket_fast`` (FarmHash ``Fingerprint64`` of the UTF-8 bytes modulo
the number of bins) or, with a ``salt``, ``tf.strings.to_hash_bucket_strong`` (SipHash-2-4
keyed by the two salt words). :func:`hash_buckets` is that, also used by the lookup layers
for their OOV buckets. Hashing runs in numpy on the CPU (as Keras runs it on ``CPU:0``):
like Keras's, the layer is for input pipelines, not for ``torch.compile``/``export``
graphs (those take a string layer's output, see ``strings_to_tensor``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lamina.errors import ArgumentError, ArgumentTypeError
from lamina.layers import arguments
from lamina.layers.layer import Layer
from lamina.layers.preprocessing_encoding import (
    OUTPUT_MODES,
    encode,
    encoded_shape,
    output_mode,
    refuse_sparse,
)
from lamina.ops.dispatch import holds_symbolic
from lamina.symbolic import STRING, SymbolicTensor
from lamina.utils.byte_strings import pack
from lamina.utils.farmhash import hash_packed
from lamina.utils.siphash import siphash_packed


def hash_key(salt: Any, owner: str) -> list[int] | None:
    """Keras's ``salt``: ``None``, an int (used for both key words) or two ints, as the
    list ``[k0, k1]`` Keras keeps in its config."""
    if salt is None:
        return None
    if isinstance(salt, (tuple, list)) and len(salt) == 2 and all(
            isinstance(k, (int, np.integer)) for k in salt):
        return [int(k) for k in salt]
    if isinstance(salt, (int, np.integer)) and not isinstance(salt, bool):
        return [int(salt), int(salt)]
    raise ArgumentError(f"{owner}: salt must be None, an int or a pair of ints, received "
                        f"salt={salt!r}.")


def as_array(values: Any) -> np.ndarray:
    """``values`` (a tensor, array, list or scalar) as a numpy array; lists of text as an
    object array (a bytes array would drop trailing NUL bytes)."""
    if isinstance(values, torch.Tensor):
        values = values.detach()
        if values.is_floating_point() and values.dtype not in (torch.float32, torch.float64):
            values = values.float()
        return values.cpu().numpy()
    if isinstance(values, np.ndarray):
        return values
    return np.asarray(values, dtype=object) if _holds_text(values) else np.asarray(values)


def as_hash_input(values: Any) -> np.ndarray:
    """``values`` as the numpy array Keras hashes: strings as they are, numbers as
    ``tf.as_string`` writes them (floats cast to int64 first)."""
    array = as_array(values)
    kind = array.dtype.kind
    if kind in "USO":
        return array
    if kind == "b":
        return np.where(array, "true", "false")
    if kind == "f":
        with np.errstate(invalid="ignore"):
            array = array.astype(np.int64)
        kind = "i"
    if kind in "iu":
        return array.astype(str)
    raise ArgumentTypeError(f"expected strings or numbers to hash, received values of dtype "
                            f"{array.dtype}.")


def _holds_text(values: Any) -> bool:
    """Whether a (nested) list holds str/bytes (kept as objects: exact bytes)."""
    while isinstance(values, (list, tuple)) and values:
        values = values[0]
    return isinstance(values, (str, bytes))


def hash_buckets(values: Any, num_buckets: int, salt: list[int] | None = None) -> np.ndarray:
    """TensorFlow's ``to_hash_bucket_fast`` (``salt=None``) or ``to_hash_bucket_strong``
    (``salt=[k0, k1]``) of ``values`` (strings, or numbers hashed as their text).

    Returns:
        An int64 array of ``values``'s shape, in ``[0, num_buckets)``.

    Example:
        >>> hash_buckets([["A"], ["B"], ["C"]], 3).tolist()
        [[1], [0], [1]]
        >>> hash_buckets(np.array([0, 1, 2, 3, 4]), 3, salt=[133, 137]).tolist()
        [1, 1, 2, 0, 1]
    """
    array = as_hash_input(values)
    packed = pack(array)
    hashes = hash_packed(packed) if salt is None else siphash_packed(packed, salt)
    return (hashes % np.uint64(num_buckets)).astype(np.int64).reshape(array.shape)


class Hashing(Layer):
    """Hashes strings or integers into ``num_bins`` bins, as Keras's ``Hashing`` does, with
    the same bins (TensorFlow's FarmHash ``Fingerprint64``, or SipHash-2-4 with ``salt``).

    Strings come as a str, (nested) lists or a numpy string array; numbers as a tensor,
    array or list (hashed as their decimal text, as Keras does). In a model, a
    ``Input(dtype="string")`` feeding this layer hands it its strings through
    :meth:`strings_to_tensor`; the layer then takes the tensor it is called on as those
    bins (as ``StringLookup`` takes indices).

    Args:
        num_bins: The number of bins, the ``mask_value`` bin included.
        mask_value: A value mapped to bin 0, all others to ``1..num_bins-1`` (with
            ``num_bins > 1``). Default: ``None`` (no mask).
        salt: ``None`` (FarmHash), an int or two ints: the SipHash key (an int ``s`` is the
            key ``[s, s]``). Default: ``None``.
        output_mode: ``"int"`` (bin indices), ``"one_hot"``, ``"multi_hot"`` or ``"count"``
            (as ``CategoryEncoding``'s, over ``num_bins``). Default: ``"int"``.
        sparse: Only ``False``. Default: ``False``.
        dtype: The output dtype: ``"int64"`` (default) or ``"int32"`` for ``"int"``, a
            float dtype (default ``"float32"``) for the others.

    Example:
        >>> Hashing(num_bins=3)([["A"], ["B"], ["C"], ["D"], ["E"]]).tolist()
        [[1], [0], [1], [1], [2]]
        >>> Hashing(num_bins=3, mask_value="")([["A"], ["B"], [""], ["C"], ["D"]]).tolist()
        [[1], [1], [0], [2], [2]]
        >>> Hashing(num_bins=3, salt=133)([["A"], ["B"], ["C"], ["D"], ["E"]]).tolist()
        [[0], [0], [2], [1], [0]]
        >>> Hashing(num_bins=3, output_mode="multi_hot")(torch.tensor([[0, 1, 2, 3, 4]]))
        tensor([[1., 1., 1.]])
    """

    _fed = False  # called on a symbolic input yet

    def __init__(self, num_bins: int, mask_value: Any = None, salt: Any = None,
                 output_mode: str = "int", sparse: bool = False, dtype: Any = None,
                 **kwargs: Any) -> None:
        mode = _mode(output_mode)
        if not arguments.is_int(num_bins) or num_bins <= 0:
            raise ArgumentError(f"Hashing: num_bins must be an int > 0, received "
                                f"num_bins={num_bins!r}.")
        refuse_sparse(sparse, "Hashing")
        key = hash_key(salt, "Hashing")
        super().__init__(dtype=dtype if dtype is not None else
                         "int64" if mode == "int" else None, **kwargs)
        if mode == "int" and self.dtype not in (torch.int32, torch.int64):
            raise ArgumentError(f"Hashing: with output_mode='int' the dtype must be 'int32' "
                                f"or 'int64', received dtype={dtype!r}.")
        self.num_bins, self.mask_value, self.salt = num_bins, mask_value, key
        self.output_mode, self.sparse = mode, False
        self._string_input = False  # fed by a string Input: tensors are bins already
        self._build_at_init()

    def hash(self, values: Any) -> torch.Tensor:
        """The int64 bins of ``values`` (strings or numbers), mask applied: what
        ``output_mode="int"`` returns, on ``values``'s device."""
        array = as_array(values)
        bins = self.num_bins
        masked = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            masked = self._is_mask(array)
        out = hash_buckets(array, bins, self.salt)
        if masked is not None:
            out = np.where(masked, 0, out + 1)
        tensor = torch.from_numpy(np.ascontiguousarray(out, dtype=np.int64))
        return tensor.to(values.device) if isinstance(values, torch.Tensor) else tensor

    def _is_mask(self, array: np.ndarray) -> np.ndarray:
        """Where ``array`` equals ``mask_value`` (compared before hashing, as Keras does)."""
        mask, text = self.mask_value, array.dtype.kind in "USO"
        if isinstance(mask, (str, bytes)) != text:
            raise ArgumentTypeError(
                f"Hashing '{self.name}': mask_value={mask!r} and the inputs "
                f"({'text' if text else array.dtype}) must both be text or both numbers.")
        if not text:
            return np.asarray(array == mask, dtype=bool)
        string = mask.decode("utf-8") if isinstance(mask, bytes) else mask
        data = mask if isinstance(mask, bytes) else mask.encode("utf-8")
        if array.dtype.kind == "S":
            return array == data
        if array.dtype.kind == "U":
            return array == string
        return np.frompyfunc(lambda v: v == string or v == data, 1, 1)(array).astype(bool)

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if holds_symbolic(inputs):
            self._note_input(getattr(inputs, "dtype", None) is STRING)
            return super().__call__(inputs, *args, **kwargs)
        if isinstance(inputs, torch.Tensor) and self._string_input:
            return super().__call__(inputs, *args, **kwargs)
        return super().__call__(self.hash(inputs), *args, **kwargs)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        """``inputs``: bins (from :meth:`hash` or :meth:`strings_to_tensor`), encoded."""
        if self.output_mode == "int":
            return inputs.to(self.dtype)
        dtype = self.dtype if self.dtype.is_floating_point else torch.float32
        return encode(inputs, self.output_mode, self.num_bins, dtype)

    def strings_to_tensor(self, values: Any) -> torch.Tensor:
        """The bins ``call`` takes for ``values`` (what a model's string input hands this
        layer, once per batch); numbers are hashed as Keras hashes them too."""
        return self.hash(values)

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self.output_mode == "int":
            return tuple(input_shape)
        return encoded_shape(input_shape, self.output_mode, self.num_bins)

    def _note_input(self, strings: bool) -> None:
        """Remember whether the graph feeds this layer strings (then tensors are bins)."""
        if strings != self._string_input and self._fed:
            raise ArgumentTypeError(
                f"Hashing '{self.name}' was called on a {'numeric' if strings else 'string'}"
                " input before: one Hashing layer takes strings or numbers, not both. Use "
                "two layers.")
        self._string_input, self._fed = strings, True

    def compute_output_spec(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        dtype = self.dtype if self.output_mode == "int" or self.dtype.is_floating_point \
            else torch.float32
        return SymbolicTensor(self.compute_output_shape(inputs.shape), dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_bins": self.num_bins, "salt": self.salt,
                "mask_value": self.mask_value, "output_mode": self.output_mode,
                "sparse": self.sparse}


def _mode(value: Any) -> str:
    return output_mode(value, ("int", *OUTPUT_MODES), "Hashing")
