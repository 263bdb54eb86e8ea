"""``TextVectorization`` without TensorFlow: Keras 3's layer, strings to token ids in numpy.

A call standardizes the strings (ASCII lowercase and/or strip ``string.punctuation``),
splits them (as ``str.split()`` does, or into characters), forms n-grams (joined with a
space, width by width, as ``tf.strings.ngrams``), all on the strings' code points in numpy
(``preprocessing_text_tokens``: no Python loop per string or character), looks every token
up at once in a ``StringLookup`` with mask token ``''`` (index 0) and ``'[UNK]'`` (index 1
in ``int`` mode, 0 otherwise), and lays the ids out in a padded ``(rows, tokens)`` matrix.
What follows is torch: :meth:`TextVectorization.strings_to_tensor` is that conversion, and
``call`` takes its integer tensor (``int``: returned as is; other modes: encoded), which
is how a model's input boundary hands strings to the layer once per batch.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from lamina.errors import ArgumentError, ArgumentTypeError, ShapeError
from lamina.layers import arguments
from lamina.layers.layer import Layer
from lamina.layers.preprocessing_adapt import batches, is_whole
from lamina.layers.preprocessing_encoding import encoded_shape, output_mode
from lamina.layers.preprocessing_lookup import StringLookup, as_strings
from lamina.layers.preprocessing_text_tokens import characters, ngrams, whitespace_split
from lamina.layers.preprocessing_vocabulary import MODES
from lamina.ops.dispatch import holds_symbolic
from lamina.symbolic import STRING, SymbolicTensor

STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
SPLIT = ("whitespace", "character")

_LOWER = {ord(c): ord(c.lower()) for c in string.ascii_uppercase}
_STRIP = dict.fromkeys(map(ord, string.punctuation))
_TABLES = {"lower": _LOWER, "strip_punctuation": _STRIP,
           "lower_and_strip_punctuation": {**_LOWER, **_STRIP}}

Tokens = tuple[np.ndarray, np.ndarray, int]  # flat tokens, the row of each, number of rows


class TextVectorization(Layer):
    """Turns strings into token ids (or multi-hot, count or tf-idf vectors), in numpy.

    Takes a Python string, a list of strings or a numpy string array (unicode, bytes or
    object) of shape ``(batch,)`` or ``(batch, 1)``; returns an int64 tensor ``(batch,
    tokens)`` (``output_mode="int"``, padded with 0) or float32 ``(batch, depth)``.

    Args:
        max_tokens: Most vocabulary entries, the mask ``''`` and ``'[UNK]'`` included;
            ``None``: no limit. Default: ``None``.
        standardize: ``"lower_and_strip_punctuation"`` (ASCII lowercase, remove
            ``string.punctuation``), ``"lower"``, ``"strip_punctuation"``, ``None``, or a
            callable taking and returning a numpy string array. Default:
            ``"lower_and_strip_punctuation"``.
        split: ``"whitespace"`` (Python's ``str.split()``), ``"character"`` (code
            points), ``None`` (each string is one token) or a callable taking a 1-D numpy
            string array and returning one sequence of tokens per string.
            Default: ``"whitespace"``.
        ngrams: ``None``, an int ``n`` (all widths 1 to ``n``) or a tuple of widths.
            Default: ``None``.
        output_mode: ``"int"``, ``"multi_hot"``, ``"count"``, ``"tf_idf"`` (or
            ``"one_hot"``). Default: ``"int"``.
        output_sequence_length: ``int`` mode only: pad with 0 or cut every row to this
            many ids. Default: ``None`` (the longest row of the batch).
        pad_to_max_tokens: Non-int outputs have ``max_tokens`` entries. Default: ``False``.
        vocabulary: The tokens (a list or 1-D array), or ``None`` and :meth:`adapt`.
        idf_weights: With ``output_mode="tf_idf"`` and a vocabulary: one weight per token.
        sparse, ragged: Only ``False`` (torch).
        encoding: How bytes inputs are decoded. Default: ``"utf-8"``.

    Example:
        >>> layer = TextVectorization(output_sequence_length=4)
        >>> layer.adapt(["The cat sat.", "The dog sat on the cat!"])
        >>> layer.get_vocabulary()
        ['', '[UNK]', 'the', 'sat', 'cat', 'on', 'dog']
        >>> layer(["the Cat ran", "a dog"]).tolist()
        [[2, 4, 1, 0], [1, 6, 0, 0]]
        >>> TextVectorization(vocabulary=["a", "b"], output_mode="count")("a b a c").tolist()
        [1.0, 2.0, 1.0]
    """

    def __init__(self, max_tokens: int | None = None,
                 standardize: str | Callable[..., Any] | None = "lower_and_strip_punctuation",
                 split: str | Callable[..., Any] | None = "whitespace",
                 ngrams: int | tuple[int, ...] | None = None, output_mode: str = "int",
                 output_sequence_length: int | None = None, pad_to_max_tokens: bool = False,
                 vocabulary: Any = None, idf_weights: Any = None, sparse: bool = False,
                 ragged: bool = False, encoding: str = "utf-8", name: str | None = None,
                 **kwargs: Any) -> None:
        owner = "TextVectorization"
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", None)
        vocabulary_size = kwargs.pop("vocabulary_size", None)
        mode = output_mode if output_mode == "one_hot" else _mode(output_mode, owner)
        for value, allowed, what in ((standardize, STANDARDIZE, "standardize"),
                                     (split, SPLIT, "split")):
            if not (value is None or callable(value) or value in allowed):
                raise ArgumentError(f"{owner}: {what} must be one of {allowed}, None or a "
                                    f"callable, received {what}={value!r}.")
        if isinstance(ngrams, list):
            ngrams = tuple(ngrams)
        if not (ngrams is None or _positive_int(ngrams) or isinstance(ngrams, tuple)
                and ngrams and all(_positive_int(n) for n in ngrams)):
            raise ArgumentError(f"{owner}: ngrams must be None, a positive int or a tuple of "
                                f"them, received ngrams={ngrams!r}.")
        if output_sequence_length is not None:
            if mode != "int":
                raise ArgumentError(f"{owner}: output_sequence_length is only used with "
                                    f"output_mode='int', received output_mode={mode!r}.")
            if not _positive_int(output_sequence_length):
                raise ArgumentError(f"{owner}: output_sequence_length must be None or a "
                                    "positive int, received output_sequence_length="
                                    f"{output_sequence_length!r}.")
        if ragged:
            raise ArgumentError(f"{owner}: ragged=True needs TensorFlow's ragged tensors; "
                                "received ragged=True. Use output_sequence_length (padded).")
        if pad_to_max_tokens and max_tokens is None:
            raise ArgumentError(f"{owner}: pad_to_max_tokens=True needs max_tokens, received "
                                "max_tokens=None.")
        super().__init__(name=name, **kwargs)
        self.standardize, self.split, self.ngrams = standardize, split, ngrams
        self._widths = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self.output_mode, self.output_sequence_length = mode, output_sequence_length
        self.encoding, self.ragged = encoding, False
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens, mask_token="", output_mode=mode,
            sparse=sparse, encoding=encoding, has_input_vocabulary=has_input_vocabulary,
            vocabulary_size=vocabulary_size, name=f"{self.name}_lookup")
        self._build_at_init()

    # ------------------------------------------------------------------ vocabulary
    def get_vocabulary(self, include_special_tokens: bool = True) -> list[str]:
        """The vocabulary in index order (with ``include_special_tokens``: ``''`` in
        ``int`` mode, then ``'[UNK]'``, so a token's position is its id)."""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        """The number of ids: the tokens plus the mask (``int`` mode) and OOV ids."""
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Set the vocabulary (and ``tf_idf`` weights), replacing any (see
        ``StringLookup.set_vocabulary``)."""
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights)

    @property
    def idf_weights(self) -> torch.Tensor | None:
        """``tf_idf``: the weight of each index (special ones included), else ``None``."""
        return self._lookup_layer.idf_weights

    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None,
              verbose: int | str = "auto") -> None:
        """Learn the vocabulary (by count, ties: highest token first; and document
        frequencies for ``tf_idf``) from strings.

        Args:
            data: A string, a list or numpy array of strings (every string a document),
                or an iterable of such batches (a ``DataLoader``, a generator; an ``(x, y)``
                batch gives its ``x``).
            batch_size: Read a whole list or array ``batch_size`` strings at a time (the
                vocabulary is the same either way). Default: all at once.
            steps: Read at most this many batches. Default: all.
            verbose: A progress bar, one step per batch: 0 never, 1 always, ``"auto"``
                once adapting has taken 2 seconds (lamina's addition; Keras draws none).
        """
        owner = type(self).__name__
        if isinstance(data, (str, bytes)) or is_whole(data):
            data = self._strings(data)
        token_batches = (self._tokens(self._strings(batch))
                         for batch in batches(data, owner, batch_size, steps, verbose))
        self._lookup_layer.learn(token_batches, steps, owner)

    # ------------------------------------------------------------------ strings to ids
    def _strings(self, values: Any) -> np.ndarray:
        if isinstance(values, torch.Tensor):
            raise ArgumentTypeError(f"TextVectorization '{self.name}' expects strings, "
                                    f"received a tensor of dtype {values.dtype}.")
        return as_strings(values, self.encoding, f"TextVectorization '{self.name}'")

    def _standardized(self, strings: np.ndarray) -> np.ndarray:
        if self.standardize is None or strings.size == 0:
            return strings
        if callable(self.standardize):
            return self._strings(self.standardize(strings))
        table = _TABLES[self.standardize]
        flat = [text.translate(table) for text in strings.reshape(-1).tolist()]
        return np.array(flat, dtype=str).reshape(strings.shape)

    def _rows(self, strings: np.ndarray) -> np.ndarray:
        """The strings as one row (document) each: ``(batch,)``, ``(batch, 1)`` or one."""
        if strings.ndim == 2 and strings.shape[1] == 1:
            return strings[:, 0]
        if strings.ndim > 1:
            raise ShapeError(f"TextVectorization '{self.name}' splits one string per row: "
                             f"expected shape (batch,) or (batch, 1), received "
                             f"{strings.shape}.")
        return strings.reshape(-1)

    def _tokens(self, strings: np.ndarray) -> Tokens:
        """Standardized, split and n-grammed tokens of ``strings`` with the row of each."""
        if self.split == "whitespace" and self.standardize in (None, *STANDARDIZE):
            flat, lengths = whitespace_split(  # standardized on the way: one pass
                self._rows(strings), lower="lower" in (self.standardize or ""),
                strip="strip" in (self.standardize or ""))
            return self._grams(flat, lengths)
        strings = self._standardized(strings)
        if self.split is None:
            rows = strings.reshape(1, -1) if strings.ndim < 2 else strings.reshape(
                len(strings), -1)
            if strings.ndim < 2 and self._widths is None:  # each string its own row
                rows = rows.reshape(-1, 1)
            flat = rows.reshape(-1)
            lengths = np.full(len(rows), rows.shape[1], dtype=np.int64)
        else:
            documents = self._rows(strings)
            if self.split == "character":
                flat, lengths = characters(documents)
            elif self.split == "whitespace":
                flat, lengths = whitespace_split(documents)
            else:
                pieces = list(self.split(documents))
                lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
                flat = np.array(list(itertools.chain.from_iterable(pieces)), dtype=str)
        return self._grams(flat, lengths)

    def _grams(self, flat: np.ndarray, lengths: np.ndarray) -> Tokens:
        """The tokens (n-grams of them with ``ngrams``) and the row of each."""
        row_of = np.repeat(np.arange(len(lengths)), lengths)
        if self._widths is not None:
            flat, row_of = ngrams(flat, row_of, lengths, self._widths)
        return flat.reshape(-1), row_of, len(lengths)

    def strings_to_tensor(self, values: Any) -> torch.Tensor:
        """The int64 tensor ``call`` takes for strings ``values``: the token ids padded
        with 0 (``int`` mode; the layer's output) or with -1 (other modes, where -1 and
        the mask count nowhere), ``(rows, tokens)``; a single string gives ``(tokens,)``.
        """
        lookup = self._lookup_layer
        lookup._require_vocabulary()
        strings = self._strings(values)
        flat, row_of, n_rows = self._tokens(strings)
        ids = lookup.lookup(flat) if flat.size else np.zeros(0, dtype=np.int64)
        if self.split is None and self._widths is None:
            matrix = ids.reshape(strings.shape)
            if self.output_mode != "int" and strings.ndim == 1:
                matrix = matrix.reshape(-1, 1)  # each string one document
            if self.output_sequence_length is not None:
                matrix = _fit_last_axis(matrix, self.output_sequence_length)
            return torch.from_numpy(np.ascontiguousarray(matrix))
        starts = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(row_of, minlength=n_rows), out=starts[1:])
        position = np.arange(len(row_of)) - starts[row_of]
        width = self.output_sequence_length
        if width is None:
            width = int(position.max()) + 1 if len(position) else 0
        matrix = np.full((n_rows, width), 0 if self.output_mode == "int" else -1, np.int64)
        kept = position < width
        matrix[row_of[kept], position[kept]] = ids[kept]
        return torch.from_numpy(matrix[0] if strings.ndim == 0 else matrix)

    # ------------------------------------------------------------------ calling
    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(inputs, torch.Tensor) and not holds_symbolic(inputs):
            inputs = self.strings_to_tensor(inputs)
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        """``inputs``: ids from :meth:`strings_to_tensor` (what a model's string input
        hands this layer); ``int`` mode returns them, the others encode them."""
        if self.output_mode == "int":
            return inputs
        self._lookup_layer._require_vocabulary()
        return self._lookup_layer._encode_indices(inputs.long())

    def compute_output_shape(self, input_shape: Any) -> Any:
        """For string inputs of ``input_shape`` (Keras's)."""
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            if self.split is None and self._widths is None:
                return (*input_shape[:-1], self.output_sequence_length) if (
                    self.output_sequence_length is not None and input_shape) else input_shape
            return (*input_shape[:1], self.output_sequence_length)
        rows = input_shape[:1] if self.split is not None or self._widths is not None else (
            input_shape if len(input_shape) > 1 else (*input_shape, 1))
        lookup = self._lookup_layer
        depth = lookup.max_tokens if lookup.pad_to_max_tokens else (
            lookup._vocabulary_size_config)
        return encoded_shape((*rows, None) if self.output_mode == "one_hot" else (*rows, 1),
                             self.output_mode, depth)

    def compute_output_spec(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        dtype = torch.int64 if self.output_mode == "int" else torch.float32
        if inputs.dtype is STRING:
            return SymbolicTensor(self.compute_output_shape(inputs.shape), dtype)
        if self.output_mode == "int":  # ids already looked up (an int64 Input)
            return SymbolicTensor(inputs.shape, dtype)
        return SymbolicTensor(self._lookup_layer.compute_output_shape(inputs.shape), dtype)

    def get_config(self) -> dict[str, Any]:
        lookup = self._lookup_layer.get_config()
        extra = {"has_input_vocabulary": False} if "has_input_vocabulary" in lookup else {}
        return {**super().get_config(), "max_tokens": lookup["max_tokens"],
                "standardize": self.standardize, "split": self.split,
                "ngrams": list(self.ngrams) if isinstance(self.ngrams, tuple) else self.ngrams,
                "output_mode": self.output_mode,
                "output_sequence_length": self.output_sequence_length,
                "pad_to_max_tokens": lookup["pad_to_max_tokens"], "sparse": False,
                "ragged": False, "vocabulary": lookup["vocabulary"],
                "idf_weights": lookup["idf_weights"], "encoding": self.encoding,
                "vocabulary_size": self.vocabulary_size(), **extra}


def _mode(value: Any, owner: str) -> str:
    return output_mode(value, MODES, owner)


def _positive_int(value: Any) -> bool:
    return arguments.is_int(value) and value > 0


def _fit_last_axis(matrix: np.ndarray, length: int) -> np.ndarray:
    """Cut or zero-pad the last axis of ``matrix`` to ``length``."""
    matrix = matrix[..., :length]
    missing = length - matrix.shape[-1]
    if missing:
        matrix = np.pad(matrix, [(0, 0)] * (matrix.ndim - 1) + [(0, missing)])
    return matrix
