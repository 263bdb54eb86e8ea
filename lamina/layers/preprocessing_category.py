"""Integer categories to vectors: ``CategoryEncoding`` (indices to one-hot, multi-hot or
counts) and ``Discretization`` (numbers to bucket indices, from given boundaries or
``adapt``-ed quantiles), with Keras 3's arguments, shapes and configs.

``Discretization``'s adapted boundaries are its ``bin_boundaries`` config entry (Keras 3
keeps them there too), so a saved model reloads them from its JSON. The quantile summary
``adapt`` builds is Keras's (``keras/src/layers/preprocessing/discretization.py``): each
batch is sorted and thinned to about ``1 / epsilon`` weighted points, summaries are merged
and compressed by interpolating cumulative weights, and the boundaries are the summary
compressed to ``num_bins`` points, so the same data gives Keras's boundaries.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lamina.errors import ArgumentError, ArgumentTypeError, DataError
from lamina.layers import arguments
from lamina.layers.layer import Layer
from lamina.layers.preprocessing_adapt import batches
from lamina.layers.preprocessing_encoding import (
    OUTPUT_MODES,
    as_index_tensor,
    encode,
    encoded_shape,
    output_mode,
    refuse_sparse,
)
from lamina.ops.dispatch import holds_symbolic


class CategoryEncoding(Layer):
    """Encodes integer category indices as one-hot, multi-hot or count vectors.

    Args:
        num_tokens: How many categories there are; inputs are in ``[0, num_tokens)``.
        output_mode: ``"one_hot"`` (one vector per index; a trailing axis of size 1 is
            replaced), ``"multi_hot"`` (1 for each index present in a sample) or
            ``"count"`` (how often each index occurs in a sample). Default: ``"multi_hot"``.
        sparse: Only ``False`` (no sparse tensors on torch). Default: ``False``.

    Call arguments:
        inputs: Integer indices: a tensor, array, list or number.
        count_weights: With ``output_mode="count"``, a weight per input index, summed
            instead of counting 1.

    Input shape:
        ``(batch,)`` or ``(batch, n)`` (``one_hot``: any shape).

    Output shape:
        ``(batch, num_tokens)`` (a 1-D input gives ``(num_tokens,)`` for ``multi_hot`` and
        ``count``); ``one_hot``: the input shape plus ``num_tokens``.

    Example:
        >>> CategoryEncoding(num_tokens=4, output_mode="one_hot")([3, 2, 0]).tolist()
        [[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0]]
        >>> CategoryEncoding(4, output_mode="count")([[0, 1], [3, 3]]).tolist()
        [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0]]
    """

    def __init__(self, num_tokens: int | None = None, output_mode: str = "multi_hot",
                 sparse: bool = False, **kwargs: Any) -> None:
        mode = _mode(output_mode, OUTPUT_MODES, "CategoryEncoding")
        if num_tokens is None:
            raise ArgumentError("CategoryEncoding: num_tokens must be set, received "
                                "num_tokens=None. If the number of tokens is not known "
                                "beforehand, use IntegerLookup instead.")
        if not arguments.is_int(num_tokens) or num_tokens < 1:
            raise ArgumentError(f"CategoryEncoding: num_tokens must be an int >= 1, "
                                f"received num_tokens={num_tokens!r}.")
        refuse_sparse(sparse, "CategoryEncoding")
        super().__init__(**kwargs)
        self.num_tokens, self.output_mode, self.sparse = num_tokens, mode, False
        self._build_at_init()

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        return super().__call__(_indices(inputs, self), *args, **kwargs)

    def call(self, inputs: torch.Tensor,
             count_weights: torch.Tensor | None = None) -> torch.Tensor:
        if count_weights is not None:
            if self.output_mode != "count":
                raise ArgumentError(
                    f"CategoryEncoding '{self.name}': count_weights is only used when "
                    f"output_mode='count', received count_weights with output_mode="
                    f"'{self.output_mode}'.")
            count_weights = torch.as_tensor(count_weights, device=inputs.device).to(
                _float(self.dtype))
        if inputs.numel() and int(inputs.max()) >= self.num_tokens:
            raise DataError(
                f"CategoryEncoding '{self.name}': inputs must be in [0, num_tokens="
                f"{self.num_tokens}), received a value of {int(inputs.max())}. Give more "
                "num_tokens or map the values first (IntegerLookup).")
        return encode(inputs, self.output_mode, self.num_tokens, _float(self.dtype),
                      count_weights)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return encoded_shape(input_shape, self.output_mode, self.num_tokens)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_tokens": self.num_tokens,
                "output_mode": self.output_mode}


class Discretization(Layer):
    """Buckets continuous values by boundaries: index ``i`` for
    ``bin_boundaries[i - 1] <= x < bin_boundaries[i]``.

    Give the boundaries, or ``num_bins`` and call :meth:`adapt` to place them at the data's
    quantiles (Keras 3's approximate quantiles, within ``epsilon``). Adapted boundaries are
    in the config (``bin_boundaries``), so they save with the model.

    Args:
        bin_boundaries: Increasing boundaries; ``n`` boundaries make ``n + 1`` bins (below
            the first, between each pair, at or above the last). Default: ``None``.
        num_bins: The number of bins ``adapt`` makes; give it instead of
            ``bin_boundaries``. Default: ``None``.
        epsilon: The quantiles' error tolerance (smaller: more exact, more memory).
            Default: ``0.01``.
        output_mode: ``"int"`` (bucket indices, int32), ``"one_hot"``, ``"multi_hot"`` or
            ``"count"`` (float vectors over the bins). Default: ``"int"``.
        sparse: Only ``False``. Default: ``False``.

    Input shape:
        Any; values are cast to float32.

    Output shape:
        ``"int"``: the input's; otherwise as ``CategoryEncoding``'s.

    Example:
        >>> layer = Discretization(bin_boundaries=[0.0, 1.0, 2.0])
        >>> layer(torch.tensor([[-1.5, 1.0, 3.4, 0.5]])).tolist()
        [[0, 2, 3, 1]]
        >>> layer = Discretization(num_bins=4, epsilon=0.01)
        >>> layer.adapt(np.arange(100.0))
        >>> [round(b, 3) for b in layer.bin_boundaries]  # Keras's approximate quantiles
        [24.0, 49.0, 74.0]
    """

    def __init__(self, bin_boundaries: Any = None, num_bins: int | None = None,
                 epsilon: float = 0.01, output_mode: str = "int", sparse: bool = False,
                 dtype: Any = None, name: str | None = None, **kwargs: Any) -> None:
        mode = _mode(output_mode, ("int", *OUTPUT_MODES), "Discretization")
        refuse_sparse(sparse, "Discretization")
        if num_bins is not None and (not arguments.is_int(num_bins) or num_bins < 0):
            raise ArgumentError(f"Discretization: num_bins must be an int >= 0, received "
                                f"num_bins={num_bins!r}.")
        if num_bins is not None and bin_boundaries is not None:
            raise ArgumentError(
                "Discretization: give bin_boundaries or num_bins, not both; received "
                f"num_bins={num_bins!r} and bin_boundaries={bin_boundaries!r}.")
        if num_bins is None and bin_boundaries is None:
            raise ArgumentError("Discretization: give bin_boundaries, or num_bins and call "
                                "adapt; received neither.")
        if bin_boundaries is not None:
            bin_boundaries = _boundaries(bin_boundaries)
        epsilon = arguments.number(epsilon, "epsilon", "Discretization", below=1)
        if epsilon <= 0:
            raise ArgumentError(f"Discretization: epsilon must be > 0, received "
                                f"epsilon={epsilon!r}.")
        super().__init__(dtype=dtype, name=name, **kwargs)
        self.bin_boundaries: list[float] | None = bin_boundaries
        self.num_bins, self.epsilon = num_bins, epsilon
        self.output_mode, self.sparse = mode, False
        self._summary = np.zeros((2, 0), "float32")
        self._build_at_init()

    def adapt(self, data: Any, steps: int | None = None) -> None:
        """Place ``num_bins - 1`` boundaries at the quantiles of ``data`` (all its values).

        Args:
            data: A numpy array, a tensor, a list of numbers, or an iterable of batches (a
                ``DataLoader``, a generator, a list of arrays), each batch an array or
                tensor or an ``(x, y)`` tuple of them.
            steps: Read at most this many batches of an iterable. Default: all.
        """
        if self.num_bins is None:
            raise ArgumentError(f"Discretization '{self.name}' was created with "
                                "bin_boundaries: it has nothing to adapt. Create it with "
                                "num_bins to adapt.")
        summary = np.zeros((2, 0), "float32")
        for step, batch in enumerate(batches(data, "Discretization")):
            if steps is not None and step >= steps:
                break
            values = batch.detach().cpu().numpy() if isinstance(batch, torch.Tensor) else batch
            summary = _merge(_summarize(np.asarray(values, "float32"), self.epsilon),
                             summary, self.epsilon)
        self._summary = summary
        self.bin_boundaries = _compress(summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        return super().__call__(_indices(inputs, self), *args, **kwargs)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.bin_boundaries is None:
            raise ArgumentError(f"Discretization '{self.name}' has no bin boundaries: pass "
                                "bin_boundaries when creating it, or call adapt(data) "
                                "before calling it.")
        values = inputs.to(torch.float32) if inputs.dtype != torch.float32 else inputs
        bounds = torch.tensor(self.bin_boundaries, dtype=torch.float32, device=inputs.device)
        indices = torch.bucketize(values, bounds, right=True).to(torch.int32)
        if self.output_mode == "int":
            return indices
        return encode(indices, self.output_mode, len(self.bin_boundaries) + 1,
                      _float(self.dtype))

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self.output_mode == "int":
            return input_shape
        depth = (len(self.bin_boundaries) + 1 if self.bin_boundaries is not None
                 else self.num_bins)
        return encoded_shape(input_shape, self.output_mode, depth)

    def get_config(self) -> dict[str, Any]:
        # Keras's keys: its constructor takes name and dtype only (no trainable).
        return {"bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins,
                "epsilon": self.epsilon, "output_mode": self.output_mode,
                "sparse": self.sparse, "name": self.name,
                "dtype": super().get_config()["dtype"]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Discretization:
        """An adapted layer's config has both ``num_bins`` and ``bin_boundaries`` (the
        constructor takes one): the boundaries are set after creating it, as in Keras."""
        config = dict(config)
        config.pop("trainable", None)
        if config.get("bin_boundaries") is not None and config.get("num_bins") is not None:
            boundaries = _boundaries(config.pop("bin_boundaries"))
            layer = cls(**config)
            layer.bin_boundaries = boundaries
            return layer
        return cls(**config)


def _mode(value: Any, allowed: tuple[str, ...], owner: str) -> str:
    return output_mode(value, allowed, owner)


def _float(dtype: torch.dtype) -> torch.dtype:
    return dtype if dtype.is_floating_point else torch.float32


def _indices(inputs: Any, layer: Layer) -> Any:
    """Numbers given as a list, array or scalar become a tensor (symbolic inputs pass)."""
    if isinstance(inputs, torch.Tensor) or holds_symbolic(inputs):
        return inputs
    try:
        return as_index_tensor(inputs)
    except (ArgumentError, TypeError, ValueError):
        raise ArgumentTypeError(
            f"{type(layer).__name__} '{layer.name}' expects numbers (a tensor, an array, a "
            f"list or a number), received {type(inputs).__name__}: {inputs!r:.80}.") from None


def _boundaries(value: Any) -> list[float]:
    try:
        array = np.asarray(value, dtype="float64")
    except (TypeError, ValueError):
        array = np.asarray([np.nan])
    if array.ndim != 1 or not np.all(np.isfinite(array)) or np.any(np.diff(array) < 0):
        raise ArgumentError(f"Discretization: bin_boundaries must be a list of increasing "
                            f"numbers, received bin_boundaries={value!r}.")
    return [float(v) for v in array]


def _summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    """About ``1 / epsilon`` evenly spaced sorted values of a batch, each weighted by the
    number of values it stands for (all values, weight 1, when there are fewer)."""
    ordered = np.sort(values.reshape(-1))
    step = max(ordered.size / (1.0 / epsilon), 1)
    kept = ordered[int(step - 1)::int(step)]
    return np.stack([kept, np.ones_like(kept) * step])


def _merge(first: np.ndarray, second: np.ndarray, epsilon: float) -> np.ndarray:
    merged = np.concatenate((first, second), axis=1)
    return _compress(np.take(merged, np.argsort(merged[0]), axis=1), epsilon)


def _compress(summary: np.ndarray, epsilon: float) -> np.ndarray:
    """The summary at ``1 / epsilon`` evenly spaced cumulative-weight fractions."""
    if summary.shape[1] * epsilon < 1:
        return summary
    fractions = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    at = cumulative / cumulative[-1]
    points = np.interp(fractions, at, summary[0])
    weights = np.interp(fractions, at, cumulative)
    weights = weights - np.concatenate((np.array([0]), weights[:-1]))
    return np.stack((points, weights)).astype("float32")
