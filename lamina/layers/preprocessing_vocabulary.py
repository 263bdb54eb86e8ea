"""The vocabulary behind ``IntegerLookup``, ``StringLookup`` and ``TextVectorization``:
Keras 3's ``IndexLookup`` rules, kept in numpy (no TensorFlow).

Indices, in ``output_mode="int"``: the mask token (if any) is 0, then ``num_oov_indices``
OOV indices, then the tokens. In the other modes the mask takes no index (masked values
count nowhere). ``adapt`` counts tokens over all batches and orders them by count, most
frequent first, ties broken by the token, highest first (Keras sorts
``lexsort((tokens, counts))`` and reverses it; strings compare by code point, as UTF-8
bytes do); the mask and OOV tokens are not counted; ``max_tokens`` keeps the first
``max_tokens - (number of special indices)``. ``tf_idf`` weights are
``log(1 + documents / (1 + documents containing the token))``; the special indices get
their mean and, with ``pad_to_max_tokens``, the unused indices 0. With several OOV indices,
an OOV value's index is its hash bucket, as Keras's: FarmHash ``Fingerprint64`` of its text
(SipHash-2-4 with ``salt``) modulo ``num_oov_indices`` for strings and for integers with
``oov_method="farmhash"``; the integer modulo ``num_oov_indices`` (``"floormod"``)
otherwise.

Saving: the vocabulary (and ``idf_weights``) are the config's ``vocabulary`` entries, JSON
in the ``.lamina`` file. Keras keeps an adapted vocabulary in an asset file instead; here an
adapted layer's config also says ``has_input_vocabulary: False`` (a keyword Keras's
constructors accept), so a reloaded layer can be adapted again.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from lamina.errors import ArgumentError, DataError
from lamina.layers import arguments
from lamina.layers.layer import Layer
from lamina.layers.preprocessing_adapt import batches
from lamina.layers.preprocessing_encoding import encode, encoded_shape, output_mode
from lamina.layers.preprocessing_hashing import hash_buckets, hash_key

MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


class IndexLookup(Layer):
    """Base of the lookup layers: a vocabulary of tokens mapped to indices (see the
    module docstring). Subclasses say how tokens are read (``_as_tokens``)."""

    #: The config's ``vocabulary_dtype`` ("int64" or "string").
    vocabulary_dtype = "int64"

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1,
                 mask_token: Any = None, oov_token: Any = None, vocabulary: Any = None,
                 idf_weights: Any = None, invert: bool = False, output_mode: str = "int",
                 sparse: bool = False, pad_to_max_tokens: bool = False,
                 oov_method: str = "floormod", salt: Any = None,
                 vocabulary_size: int | None = None, has_input_vocabulary: bool | None = None,
                 **kwargs: Any) -> None:
        owner = type(self).__name__
        mode = _mode(output_mode, owner)
        if max_tokens is not None and (not arguments.is_int(max_tokens) or max_tokens <= 1):
            raise ArgumentError(f"{owner}: max_tokens must be None or an int > 1, received "
                                f"max_tokens={max_tokens!r}.")
        if pad_to_max_tokens and max_tokens is None:
            raise ArgumentError(f"{owner}: pad_to_max_tokens=True needs max_tokens, received "
                                "max_tokens=None.")
        if not arguments.is_int(num_oov_indices) or num_oov_indices < 0:
            raise ArgumentError(f"{owner}: num_oov_indices must be an int >= 0, received "
                                f"num_oov_indices={num_oov_indices!r}.")
        if oov_method not in ("floormod", "farmhash"):
            raise ArgumentError(f"{owner}: oov_method must be 'floormod' or 'farmhash', "
                                f"received oov_method={oov_method!r}.")
        salt = hash_key(salt, owner)
        if salt is not None and self.vocabulary_dtype != "string" and \
                oov_method != "farmhash":
            raise ArgumentError(f"{owner}: salt is only used with oov_method='farmhash' "
                                f"(integers), received oov_method={oov_method!r}.")
        if invert and mode != "int":
            raise ArgumentError(f"{owner}: invert=True needs output_mode='int', received "
                                f"output_mode={mode!r}.")
        if sparse:
            raise ArgumentError(f"{owner}: sparse=True is not supported on torch; received "
                                "sparse=True.")
        if idf_weights is not None and mode != "tf_idf":
            raise ArgumentError(f"{owner}: idf_weights is only used with "
                                f"output_mode='tf_idf', received output_mode={mode!r}.")
        has_input = vocabulary is not None if has_input_vocabulary is None else bool(
            has_input_vocabulary)
        if mode == "tf_idf" and has_input and idf_weights is None:
            raise ArgumentError(f"{owner}: with a vocabulary and output_mode='tf_idf', give "
                                "idf_weights too.")
        super().__init__(**kwargs)
        self.max_tokens, self.num_oov_indices = max_tokens, num_oov_indices
        self.mask_token, self.oov_token = mask_token, oov_token
        self.invert, self.output_mode, self.sparse = bool(invert), mode, False
        self.pad_to_max_tokens, self.oov_method, self.salt = bool(pad_to_max_tokens), \
            oov_method, salt
        self.input_vocabulary = vocabulary
        self.input_idf_weights = idf_weights
        self._has_input_vocabulary = has_input
        self._vocabulary_size_config = vocabulary_size
        self._tokens: np.ndarray | None = None  # the learned tokens, special ones excluded
        self._idf_given: np.ndarray | None = None
        self._adapted = False
        self._given: tuple[list, list | None] | None = None
        self.register_buffer("idf_weights", None, persistent=False)
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        self._build_at_init()

    # ------------------------------------------------------------------ indices
    def _oov_start_index(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self) -> int:
        return self._oov_start_index() + self.num_oov_indices

    def vocabulary_size(self) -> int:
        """The number of indices: the tokens plus the mask and OOV indices."""
        return self._token_start_index() + (0 if self._tokens is None else len(self._tokens))

    def get_vocabulary(self, include_special_tokens: bool = True) -> list[Any]:
        """The vocabulary in index order: with ``include_special_tokens``, the mask token
        (``output_mode="int"`` only) and the OOV tokens first, so a token's position is its
        index."""
        tokens = [] if self._tokens is None else self._tokens.tolist()
        if not include_special_tokens:
            return tokens
        mask = [self.mask_token] * self._oov_start_index()
        return mask + [self.oov_token] * self.num_oov_indices + tokens

    # ------------------------------------------------------------------ setting it
    def _as_tokens(self, values: Any) -> np.ndarray:
        """``values`` as a numpy array of tokens (ints or strings); subclasses define it."""
        raise NotImplementedError

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Set the vocabulary (and, for ``tf_idf``, the idf weights), replacing any.

        The special tokens may lead ``vocabulary`` in index order (as ``get_vocabulary``
        returns them) or be left out; they may appear nowhere else.
        """
        owner = f"{type(self).__name__} '{self.name}'"
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ArgumentError(f"{owner}: output_mode='tf_idf' needs idf_weights with the "
                                "vocabulary.")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ArgumentError(f"{owner}: idf_weights is only used with output_mode="
                                f"'tf_idf', received output_mode={self.output_mode!r}.")
        if isinstance(vocabulary, str):
            raise ArgumentError(f"{owner}: a vocabulary file ({vocabulary!r}) is not read; "
                                "pass the tokens as a list.")
        vocabulary = self._as_tokens(vocabulary).reshape(-1)
        if vocabulary.size == 0:
            raise ArgumentError(f"{owner}: the vocabulary is empty. Give at least one token.")
        start = self._token_start_index()
        special = [self.mask_token] * self._oov_start_index() + \
            [self.oov_token] * self.num_oov_indices
        leading = vocabulary[:start].tolist() == special and len(vocabulary) >= start
        tokens = vocabulary[start:] if leading else vocabulary
        repeated = [t for t, n in collections.Counter(tokens.tolist()).items() if n > 1]
        if repeated:
            raise ArgumentError(f"{owner}: the vocabulary repeats {repeated[:10]}; give each "
                                "token once.")
        for token, what in ((self.mask_token, "mask"),
                            (self.oov_token if self.invert else None, "OOV")):
            if token is not None and token in tokens.tolist():
                raise ArgumentError(
                    f"{owner}: the {what} token {token!r} is inside the vocabulary. Leave "
                    "the mask and OOV tokens out, or put them only at the start in this "
                    f"order: {special}.")
        if self.max_tokens is not None and start + len(tokens) > self.max_tokens:
            raise ArgumentError(f"{owner}: the vocabulary has {start + len(tokens)} indices, "
                                f"more than max_tokens={self.max_tokens}.")
        idf = None
        if idf_weights is not None:
            idf = np.asarray(idf_weights, dtype="float64")
            if idf.ndim != 1 or len(idf) != len(vocabulary):
                raise ArgumentError(f"{owner}: idf_weights must be 1-D with one weight per "
                                    f"vocabulary entry ({len(vocabulary)}), received shape "
                                    f"{idf.shape}.")
        self._set(tokens, idf, 0 if leading else start)
        self._adapted = False
        # What the config saves (a later set_vocabulary replaces the constructor's).
        self._given = (vocabulary.tolist(), None if idf is None else idf.tolist())

    def _set(self, tokens: np.ndarray, idf: np.ndarray | None, front: int) -> None:
        """Store the tokens; pad ``idf`` with ``front`` mean weights (and zeros up to
        ``max_tokens`` with ``pad_to_max_tokens``)."""
        self._tokens = tokens
        self._vocabulary_size_config = self.vocabulary_size()
        self._index_tokens(tokens)
        if idf is None:
            self.idf_weights, self._idf_given = None, None
            return
        self._idf_given = idf
        back = self.max_tokens - front - len(idf) if self.pad_to_max_tokens else 0
        padded = np.pad(idf, (front, max(back, 0)), constant_values=(np.average(idf), 0))
        self.idf_weights = torch.tensor(padded, dtype=torch.float32)

    def _index_tokens(self, tokens: np.ndarray) -> None:
        """Prepare the lookup of ``tokens`` (subclasses keep a sorted copy)."""

    # ------------------------------------------------------------------ adapt
    def adapt(self, data: Any, steps: int | None = None) -> None:
        """Learn the vocabulary (and document frequencies for ``tf_idf``) from ``data``.

        Args:
            data: A numpy array, tensor or list (the whole data: a 1-D one is one token per
                document), or an iterable of batches (a ``DataLoader``, a generator), each
                of shape ``(batch, tokens)`` (a 1-D batch is one document), as Keras reads
                them.
            steps: Read at most this many batches of an iterable. Default: all.
        """
        self.learn(self._token_batches(data), steps, type(self).__name__)

    def learn(self, token_batches: Iterator[tuple[np.ndarray, np.ndarray, int]],
              steps: int | None = None, owner: str | None = None) -> None:
        """``adapt`` from batches already split into tokens: ``(flat tokens, the
        document (row) of each, number of documents)`` per batch (what ``TextVectorization``
        hands its lookup)."""
        if self._has_input_vocabulary:
            raise ArgumentError(f"{owner or type(self).__name__} '{self.name}' was given a "
                                "vocabulary: it cannot be adapted. Create it without one.")
        counts: collections.Counter = collections.Counter()
        documents: collections.Counter = collections.Counter()
        total_documents = 0
        for step, (flat, rows, n_rows) in enumerate(token_batches):
            if steps is not None and step >= steps:
                break
            if flat.size == 0:
                total_documents += n_rows
                continue
            unique, inverse, number = np.unique(flat, return_inverse=True, return_counts=True)
            counts.update(dict(zip(unique.tolist(), number.tolist())))
            if self.output_mode == "tf_idf":
                pairs = np.unique(rows.astype(np.int64) * len(unique) + inverse.reshape(-1))
                in_documents = np.bincount(pairs % len(unique), minlength=len(unique))
                documents.update(dict(zip(unique.tolist(), in_documents.tolist())))
                total_documents += n_rows
        for special in (self.mask_token, self.oov_token):
            counts.pop(special, None)
        ordered = sorted(counts.items(), key=lambda item: (item[1], item[0]), reverse=True)
        if self.max_tokens is not None:
            ordered = ordered[:self.max_tokens - self._token_start_index()]
        tokens = self._as_tokens([token for token, _ in ordered]).reshape(-1)
        idf = None
        if self.output_mode == "tf_idf":
            frequency = np.array([documents[t] for t, _ in ordered], dtype="float64")
            idf = np.log(1 + total_documents / (1 + frequency)).astype("float32").astype(
                "float64")
        self._set(tokens, idf, self._token_start_index())
        self._adapted = True

    def _token_batches(self, data: Any) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
        """(flat tokens, the document each came from, number of documents) per batch."""
        whole = isinstance(data, (np.ndarray, torch.Tensor)) or (
            isinstance(data, (list, tuple)) and not (data and hasattr(data[0], "shape")))
        source = [data] if whole else batches(data, type(self).__name__)
        for batch in source:
            if isinstance(batch, torch.Tensor):
                batch = batch.detach().cpu().numpy()
            array = self._as_tokens(batch)
            if array.ndim == 0:
                array = array.reshape(1, 1)
            elif array.ndim == 1:
                array = array.reshape(-1, 1) if whole else array.reshape(1, -1)
            array = array.reshape(array.shape[0], -1)
            rows = np.repeat(np.arange(array.shape[0]), array.shape[1])
            yield array.reshape(-1), rows, array.shape[0]

    # ------------------------------------------------------------------ calling
    def _require_vocabulary(self) -> None:
        if self._tokens is None and (self.output_mode != "int" and not self.pad_to_max_tokens
                                     or self.invert):
            raise ArgumentError(
                f"{type(self).__name__} '{self.name}' has no vocabulary: pass vocabulary= "
                f"when creating it or call adapt(data) first (output_mode="
                f"'{self.output_mode}' needs the vocabulary size).")

    def _oov_buckets(self, values: Any) -> np.ndarray:
        """With several OOV indices, the OOV index of each of ``values`` (numpy), as Keras
        hashes them: FarmHash ``Fingerprint64`` (SipHash-2-4 with ``salt``) of the value's
        text modulo ``num_oov_indices`` (integers: with ``oov_method="farmhash"``)."""
        buckets = hash_buckets(values, self.num_oov_indices, self.salt)
        return buckets + self._oov_start_index()

    def _missing(self, values: Any) -> None:
        raise DataError(
            f"{type(self).__name__} '{self.name}' has num_oov_indices=0, so every input "
            f"must be in the vocabulary; found {values!r:.200}. Set num_oov_indices=1.")

    def _encode_indices(self, indices: torch.Tensor) -> torch.Tensor:
        """The output for looked-up ``indices`` (mask: 0 in int mode, -1 otherwise)."""
        if self.output_mode == "int":
            return indices
        depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
        dtype = self.dtype if self.dtype.is_floating_point else torch.float32
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        out = encode(indices, mode, depth, dtype)
        if self.output_mode == "tf_idf":
            out = out * self.idf_weights.to(out.device, out.dtype)
        return out

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self.output_mode == "int":
            return input_shape
        depth = self.max_tokens if self.pad_to_max_tokens else self._vocabulary_size_config
        return encoded_shape(input_shape, self.output_mode, depth)

    def get_config(self) -> dict[str, Any]:
        vocabulary, idf = self.input_vocabulary, self.input_idf_weights
        extra: dict[str, Any] = {}
        if self._adapted:
            vocabulary = self.get_vocabulary(include_special_tokens=False)
            idf = None if self._idf_given is None else self._idf_given.tolist()
            extra = {"has_input_vocabulary": False}
        elif self._given is not None and (vocabulary is None or not self._has_input_vocabulary
                                          or self._given[0] != _listed(vocabulary)):
            vocabulary, idf = self._given  # set by set_vocabulary after creation
            if not self._has_input_vocabulary:
                extra = {"has_input_vocabulary": False}
        return {**super().get_config(), "invert": self.invert, "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token,
                "mask_token": self.mask_token, "output_mode": self.output_mode,
                "sparse": self.sparse, "pad_to_max_tokens": self.pad_to_max_tokens,
                "vocabulary_dtype": self.vocabulary_dtype, "idf_weights": _listed(idf),
                "vocabulary": _listed(vocabulary),
                "vocabulary_size": self._vocabulary_size_config,
                "oov_method": self.oov_method, "salt": self.salt, **extra}


def _mode(value: Any, owner: str) -> str:
    return output_mode(value, MODES, owner)


def _listed(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, tuple):
        value = list(value)
    return value
