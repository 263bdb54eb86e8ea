"""``IntegerLookup`` (integers to indices, in torch) and ``StringLookup`` (strings to
indices, in numpy; no TensorFlow): Keras 3's lookup layers over the vocabulary rules of
``preprocessing_vocabulary.py``.

``StringLookup`` turns strings into an integer tensor of indices at its input (sorted
vocabulary, ``numpy.searchsorted``: vectorised, no Python loop per string); what follows
is torch. Called on an integer tensor, it takes it as indices it already looked up (what a
model's input boundary hands it) and only encodes them (``multi_hot``, ``tf_idf``, ...).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lamina.errors import ArgumentError, ArgumentTypeError
from lamina.layers.preprocessing_vocabulary import IndexLookup
from lamina.ops.dispatch import holds_symbolic
from lamina.symbolic import STRING, SymbolicTensor


class IntegerLookup(IndexLookup):
    """Maps integer tokens to contiguous indices through a vocabulary (given or adapted).

    Indices in ``output_mode="int"``: ``mask_token`` (if set) is 0, then
    ``num_oov_indices`` OOV indices, then the vocabulary. ``adapt`` orders tokens by
    frequency (ties: higher token first), as Keras does.

    Args:
        max_tokens: Most indices (special ones included); ``None``: no limit.
            Default: ``None``.
        num_oov_indices: Indices for values not in the vocabulary (several: spread by
            ``oov_method``). ``0``: such values are an error. Default: ``1``.
        mask_token: The value meaning "padding", index 0; ``None``: no mask.
            Default: ``None``.
        oov_token: The token ``invert`` returns for OOV indices. Default: ``-1``.
        vocabulary: The tokens (a list or 1-D array); or ``None`` and :meth:`adapt`.
        vocabulary_dtype: Only ``"int64"``.
        idf_weights: With ``output_mode="tf_idf"`` and a vocabulary: one weight per token.
        invert: Map indices back to tokens. Default: ``False``.
        output_mode: ``"int"``, ``"one_hot"``, ``"multi_hot"``, ``"count"`` or
            ``"tf_idf"``. Default: ``"int"``.
        sparse: Only ``False``.
        pad_to_max_tokens: Non-int outputs have ``max_tokens`` entries. Default: ``False``.
        oov_method: With several OOV indices, ``"floormod"`` (the value modulo their number)
            or ``"farmhash"`` (TensorFlow's FarmHash ``Fingerprint64`` of the value's decimal
            text modulo their number, as Keras). Default: ``"floormod"``.
        salt: With ``oov_method="farmhash"``: an int or two ints, the key of SipHash-2-4
            used instead of FarmHash (as Keras's ``Hashing``). Default: ``None``.

    Example:
        >>> layer = IntegerLookup(vocabulary=[12, 36, 1138, 42])
        >>> layer(torch.tensor([[12, 1138, 42], [42, 1000, 36]])).tolist()
        [[1, 3, 4], [4, 0, 2]]
        >>> layer.get_vocabulary()
        [-1, 12, 36, 1138, 42]
        >>> adapted = IntegerLookup()
        >>> adapted.adapt(np.array([[12, 1138, 42], [42, 1000, 36], [36, 42, 7]]))
        >>> adapted.get_vocabulary()
        [-1, 42, 36, 1138, 1000, 12, 7]
        >>> hashed = IntegerLookup(vocabulary=[10, 20, 30], num_oov_indices=4,
        ...                        oov_method="farmhash")  # Keras's docstring example
        >>> hashed(torch.tensor([100, 300, 700, 1100, 1700, 2000])).tolist()
        [3, 3, 2, 2, 0, 1]
    """

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1,
                 mask_token: int | None = None, oov_token: int = -1, vocabulary: Any = None,
                 vocabulary_dtype: str = "int64", idf_weights: Any = None,
                 invert: bool = False, output_mode: str = "int", sparse: bool = False,
                 pad_to_max_tokens: bool = False, oov_method: str = "floormod",
                 salt: Any = None, name: str | None = None, **kwargs: Any) -> None:
        if vocabulary_dtype != "int64":
            raise ArgumentError(f"IntegerLookup: only vocabulary_dtype='int64' is supported, "
                                f"received vocabulary_dtype={vocabulary_dtype!r}.")
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=mask_token, oov_token=oov_token, vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode,
                         sparse=sparse, pad_to_max_tokens=pad_to_max_tokens,
                         oov_method=oov_method, salt=salt, name=name, **kwargs)

    def _as_tokens(self, values: Any) -> np.ndarray:
        if isinstance(values, torch.Tensor):
            values = values.detach().cpu().numpy()
        array = np.asarray(values)
        if array.size == 0:
            return array.astype(np.int64)
        if array.dtype.kind not in "biu" and not (
                array.dtype.kind == "f" and np.all(array == np.round(array))):
            raise ArgumentTypeError(f"IntegerLookup '{self.name}' expects integers, received "
                                    f"values of dtype {array.dtype}.")
        return array.astype(np.int64)

    def _index_tokens(self, tokens: np.ndarray) -> None:
        order = np.argsort(tokens, kind="stable")
        self._sorted = torch.from_numpy(tokens[order].copy())
        self._positions = torch.from_numpy(order.astype(np.int64))

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(inputs, torch.Tensor) and not holds_symbolic(inputs):
            inputs = torch.from_numpy(self._as_tokens(inputs))
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        self._require_vocabulary()
        values = inputs.long()
        if self.invert:
            return self._tokens_of(values)
        start = self._token_start_index()
        if self._tokens is not None and len(self._tokens):
            sorted_tokens = self._sorted.to(values.device)
            at = torch.searchsorted(sorted_tokens, values).clamp_max(len(sorted_tokens) - 1)
            found = sorted_tokens[at] == values
            indices = self._positions.to(values.device)[at] + start
        else:
            found = torch.zeros_like(values, dtype=torch.bool)
            indices = torch.zeros_like(values)
        masked = values == self.mask_token if self.mask_token is not None else None
        missing = ~found if masked is None else ~found & ~masked
        if self.num_oov_indices == 0:
            if bool(missing.any()):
                self._missing(values[missing][:20].tolist())
        elif self.num_oov_indices == 1:
            indices = torch.where(missing, self._oov_start_index(), indices)
        elif self.oov_method == "farmhash":
            if bool(missing.any()):
                buckets = self._oov_buckets(values[missing].cpu().numpy())
                indices = indices.masked_scatter(missing, torch.from_numpy(buckets).to(
                    indices.device))
        else:
            oov = torch.remainder(values, self.num_oov_indices) + self._oov_start_index()
            indices = torch.where(missing, oov, indices)
        if masked is not None:
            indices = torch.where(masked, 0 if self.output_mode == "int" else -1, indices)
        return self._encode_indices(indices)

    def _tokens_of(self, indices: torch.Tensor) -> torch.Tensor:
        vocabulary = self.get_vocabulary()
        table = torch.tensor([self.oov_token if v is None else v for v in vocabulary],
                             dtype=torch.int64, device=indices.device)
        inside = (indices >= 0) & (indices < len(table))
        out = torch.where(inside, table[torch.where(inside, indices, 0)], self.oov_token)
        if self.mask_token is not None:
            out = torch.where(indices == 0, self.mask_token, out)
        return out


class StringLookup(IndexLookup):
    """Maps strings to integer indices through a vocabulary (given or adapted), in numpy:
    no TensorFlow.

    Takes a Python string, a list (or nested lists) of strings, or a numpy string array,
    and returns an int64 tensor of indices (``output_mode="int"``) or float vectors; an
    integer tensor is taken as already looked-up indices and only encoded. With
    ``invert=True`` it maps indices back to a numpy array of strings.

    Args:
        max_tokens, num_oov_indices, mask_token, vocabulary, idf_weights, invert,
        output_mode, pad_to_max_tokens, sparse: As ``IntegerLookup``'s (Keras's).
        oov_token: The token of the OOV indices. Default: ``"[UNK]"``.
        encoding: How bytes inputs are decoded. Default: ``"utf-8"``.
        salt: With several OOV indices, an int or two ints: OOV strings are hashed with
            SipHash-2-4 under that key instead of FarmHash. Default: ``None``.

    With several OOV indices, an OOV string's index is TensorFlow's FarmHash
    ``Fingerprint64`` of its UTF-8 bytes modulo ``num_oov_indices`` (after the mask index),
    as in Keras.

    Example:
        >>> layer = StringLookup(vocabulary=["a", "b", "c", "d"])
        >>> layer([["a", "c", "d"], ["d", "z", "b"]]).tolist()
        [[1, 3, 4], [4, 0, 2]]
        >>> adapted = StringLookup()
        >>> adapted.adapt(["c", "a", "c", "b", "a", "c"])
        >>> adapted.get_vocabulary()
        ['[UNK]', 'c', 'a', 'b']
        >>> StringLookup(vocabulary=["a", "b"], invert=True)(torch.tensor([2, 0])).tolist()
        ['b', '[UNK]']
        >>> StringLookup(vocabulary=["a"], num_oov_indices=3)(["a", "A", "B", "E"]).tolist()
        [3, 1, 0, 2]
    """

    vocabulary_dtype = "string"

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1,
                 mask_token: str | None = None, oov_token: str = "[UNK]",
                 vocabulary: Any = None, idf_weights: Any = None, invert: bool = False,
                 output_mode: str = "int", pad_to_max_tokens: bool = False,
                 sparse: bool = False, encoding: str = "utf-8", name: str | None = None,
                 salt: Any = None, **kwargs: Any) -> None:
        kwargs.pop("vocabulary_dtype", None)
        self.encoding = encoding
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=mask_token, oov_token=oov_token, vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode,
                         sparse=sparse, pad_to_max_tokens=pad_to_max_tokens, salt=salt,
                         name=name, **kwargs)

    def _as_tokens(self, values: Any) -> np.ndarray:
        return as_strings(values, self.encoding, f"StringLookup '{self.name}'")

    def _index_tokens(self, tokens: np.ndarray) -> None:
        order = np.argsort(tokens, kind="stable")
        self._sorted_strings, self._string_positions = tokens[order], order.astype(np.int64)

    def lookup(self, tokens: Any) -> np.ndarray:
        """The int64 indices of ``tokens`` (any shape) in ``output_mode="int"`` numbering;
        masked tokens are 0 (``int``) or -1 (other modes, where they count nowhere)."""
        tokens = self._as_tokens(tokens)
        start = self._token_start_index()
        if self._tokens is not None and len(self._tokens):
            at = np.searchsorted(self._sorted_strings, tokens).clip(
                max=len(self._sorted_strings) - 1)
            found = self._sorted_strings[at] == tokens
            indices = self._string_positions[at] + start
        else:
            found = np.zeros(tokens.shape, dtype=bool)
            indices = np.zeros(tokens.shape, dtype=np.int64)
        masked = tokens == self.mask_token if self.mask_token is not None else None
        missing = ~found if masked is None else ~found & ~masked
        if self.num_oov_indices == 0:
            if missing.any():
                self._missing(tokens[missing][:20].tolist())
        elif self.num_oov_indices == 1:
            indices = np.where(missing, self._oov_start_index(), indices)
        elif missing.any():
            indices = np.array(indices, dtype=np.int64)
            indices[missing] = self._oov_buckets(tokens[missing])
        if masked is not None:
            indices = np.where(masked, 0 if self.output_mode == "int" else -1, indices)
        return np.asarray(indices, dtype=np.int64)

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if self.invert:
            self._require_vocabulary()
            return self._strings_of(inputs)
        if not isinstance(inputs, torch.Tensor) and not holds_symbolic(inputs):
            self._require_vocabulary()
            inputs = torch.from_numpy(self.lookup(inputs))
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        self._require_vocabulary()
        return self._encode_indices(inputs.long())

    def strings_to_tensor(self, values: Any) -> torch.Tensor:
        """The int64 indices ``call`` takes for strings ``values`` (what a model's string
        input hands this layer, once per batch)."""
        if self.invert:
            raise ArgumentTypeError(f"StringLookup '{self.name}' has invert=True: it takes "
                                    "indices, not strings.")
        self._require_vocabulary()
        return torch.from_numpy(self.lookup(values))

    def compute_output_spec(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(inputs, "dtype", None) is not STRING:
            return super().compute_output_spec(inputs, *args, **kwargs)
        if self.invert:
            raise ArgumentTypeError(f"StringLookup '{self.name}' has invert=True: it takes "
                                    "indices, not a string input.")
        dtype = torch.int64 if self.output_mode == "int" else (
            self.dtype if self.dtype.is_floating_point else torch.float32)
        return SymbolicTensor(self.compute_output_shape(inputs.shape), dtype)

    def _strings_of(self, indices: Any) -> np.ndarray:
        if isinstance(indices, torch.Tensor):
            indices = indices.detach().cpu().numpy()
        indices = np.asarray(indices, dtype=np.int64)
        table = np.array(self.get_vocabulary(), dtype=object)
        inside = (indices >= 0) & (indices < len(table))
        out = np.where(inside, table[np.where(inside, indices, 0)], self.oov_token)
        if self.mask_token is not None:
            out = np.where(indices == 0, self.mask_token, out)
        return out.astype(str)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["vocabulary_dtype"]
        return {**config, "encoding": self.encoding}


def as_strings(values: Any, encoding: str, owner: str) -> np.ndarray:
    """A string, bytes, (nested) lists of them or a numpy array as a numpy unicode array."""
    if isinstance(values, (str, bytes)):
        values = [values]
        scalar = True
    else:
        scalar = False
    array = np.asarray(values)
    if array.dtype.kind == "S" or array.dtype.kind == "O":
        try:
            array = np.vectorize(
                lambda v: v.decode(encoding) if isinstance(v, bytes) else v,
                otypes=[object])(array) if array.size else array
            array = array.astype(str)
        except (TypeError, ValueError, UnicodeDecodeError) as error:
            raise ArgumentTypeError(f"{owner} expects strings, received values it could not "
                                    f"read as text: {error}.") from None
    elif array.dtype.kind != "U":
        if array.size == 0:
            return array.astype(str)
        raise ArgumentTypeError(f"{owner} expects strings (a str, a list of str or a numpy "
                                f"string array), received values of dtype {array.dtype}.")
    return array.reshape(()) if scalar else array
