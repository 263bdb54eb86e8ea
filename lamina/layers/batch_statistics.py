"""The batch statistics of ``BatchNormalization``: Keras's (masked) moments, their sum over
the processes of a ``torch.distributed`` group (``synchronized=True``), and batch
renormalization's arguments, corrections and moving statistics.

Keras's masked moments (``BatchNormalization._moments``) weigh each position by its mask
value and divide by the number of unmasked positions plus ``backend.epsilon()`` (1e-7)::

    mean = sum(mask * x) / (count + 1e-7)
    variance = sum(mask * (x - mean) ** 2) / (count + 1e-7)

Synchronized moments all-reduce, per channel, the count, the sum and the sum of squares in
one collective (:func:`sum_over_processes`, through which gradients flow: each process's
inputs receive the gradient of every process's loss through the shared statistics), then
take the same formulas over the whole global batch.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.distributed as dist
from torch._subclasses.fake_tensor import FakeTensor

from lamina import initializers
from lamina.errors import ArgumentError, ArgumentTypeError
from lamina.utils.shapes import standardize_dtype

#: Keras's ``backend.epsilon()``, which guards the division in masked moments.
KERAS_EPSILON = 1e-7
#: The keys of ``renorm_clipping``.
CLIPPING_KEYS = ("rmax", "rmin", "dmax")


def reduction_axes(rank: int, axis: int) -> list[int]:
    """Every axis of a rank-``rank`` tensor but the channel ``axis`` (non-negative)."""
    return [a for a in range(rank) if a != axis]


def group_size() -> int:
    """How many processes share batch statistics: the default ``torch.distributed``
    group's size once initialized, else 1 (also for a torch built without it)."""
    if not dist.is_available() or not dist.is_initialized():
        return 1
    return dist.get_world_size()


class _SumOverProcesses(torch.autograd.Function):
    """The sum of a tensor over the default group's processes; its gradient is the sum of
    the processes' gradients (every process's loss depends on the sum)."""

    @staticmethod
    def forward(ctx: Any, tensor: torch.Tensor) -> torch.Tensor:
        total = tensor.detach().clone()
        dist.all_reduce(total)
        return total

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        total = grad.detach().contiguous().clone()
        dist.all_reduce(total)
        return total


def sum_over_processes(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` summed over the processes of the default ``torch.distributed`` group
    (one all-reduce), differentiable; ``tensor`` itself when alone.

    Example:
        >>> sum_over_processes(torch.tensor([1.0, 2.0])).tolist()
        [1.0, 2.0]
    """
    return tensor if group_size() == 1 else _SumOverProcesses.apply(tensor)


def moments(inputs: torch.Tensor, axis: int, mask: torch.Tensor | None,
            synchronized: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """The per-channel mean and biased variance of ``inputs`` over every axis but ``axis``,
    of the unmasked positions when a ``mask`` (the input's shape without ``axis``) is given,
    and over every process of the group when ``synchronized``; both of shape
    ``(channels,)``.

    Example:
        >>> x = torch.tensor([[1.0], [2.0], [9.0]])
        >>> [t.tolist() for t in moments(x, 1, torch.tensor([True, True, False]))]
        [[1.5], [0.25]]
    """
    axes = reduction_axes(inputs.dim(), axis)
    weights = None if mask is None else mask.to(inputs.dtype).unsqueeze(axis)
    if synchronized and group_size() > 1 and not isinstance(inputs, FakeTensor):
        return _synchronized_moments(inputs, axes, weights)
    if weights is None:
        variance, mean = torch.var_mean(inputs, dim=axes, correction=0)
        return mean, variance
    total = torch.sum(weights, dim=axes, keepdim=True) + KERAS_EPSILON
    mean = torch.sum(weights * inputs, dim=axes, keepdim=True) / total
    variance = torch.sum(weights * torch.square(inputs - mean), dim=axes,
                         keepdim=True) / total
    return mean.flatten(), variance.flatten()


def _synchronized_moments(inputs: torch.Tensor, axes: list[int], weights: Any
                          ) -> tuple[torch.Tensor, torch.Tensor]:
    """Keras's moments over the batches of every process of the default group."""
    if weights is None:
        total = torch.sum(inputs, dim=axes)
        count = torch.full_like(total, inputs.numel() // max(total.numel(), 1))
        squares = torch.sum(inputs * inputs, dim=axes)
    else:
        count = torch.sum(weights.expand_as(inputs), dim=axes)
        total = torch.sum(weights * inputs, dim=axes)
        squares = torch.sum(weights * inputs * inputs, dim=axes)
    count, total, squares = sum_over_processes(torch.stack([count, total, squares])).unbind(0)
    if weights is None:  # Keras's torch moments: E[x^2] - E[x]^2
        mean = total / count
        return mean, (squares / count - mean * mean).clamp_min(0.0)
    denominator = count + KERAS_EPSILON
    mean = total / denominator
    # sum(mask * (x - mean)^2), expanded into the reduced sums
    deviations = squares - 2.0 * mean * total + mean * mean * count
    return mean, deviations.clamp_min(0.0) / denominator


def renorm_correction(mean: torch.Tensor, variance: torch.Tensor, renorm_mean: torch.Tensor,
                      renorm_stddev: torch.Tensor, epsilon: float, clipping: dict[str, Any]
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch renormalization's ``(r, d)``, without gradient (Keras's
    ``_renorm_correction_and_moments``): the batch's standard deviation and mean relative
    to the renorm moving ones, ``r`` clipped to ``[rmin, rmax]`` and ``d`` to
    ``[-dmax, dmax]`` where given.

    Example:
        >>> r, d = renorm_correction(torch.tensor([1.0]), torch.tensor([3.0]),
        ...                          torch.tensor([0.0]), torch.tensor([1.0]), 1.0,
        ...                          {"rmax": 1.5})
        >>> r.tolist(), d.tolist()
        ([1.5], [1.0])
    """
    with torch.no_grad():
        stddev = torch.sqrt(variance + epsilon)
        floor = torch.clamp_min(renorm_stddev.to(mean.dtype), math.sqrt(epsilon))
        r = stddev / floor
        d = (mean - renorm_mean.to(mean.dtype)) / floor
        if clipping.get("rmin") is not None:
            r = torch.clamp_min(r, clipping["rmin"])
        if clipping.get("rmax") is not None:
            r = torch.clamp_max(r, clipping["rmax"])
        if clipping.get("dmax") is not None:
            d = torch.clamp(d, -clipping["dmax"], clipping["dmax"])
    return r, d


def renorm_update(layer: Any, mean: torch.Tensor, variance: torch.Tensor) -> None:
    """Keras's ``_update_renorm_statistics`` of a ``BatchNormalization`` with ``renorm``:
    ``renorm_mean`` and ``renorm_stddev`` move with ``renorm_momentum``, ``moving_mean``
    and ``moving_stddev`` with ``momentum``, and ``moving_variance`` becomes
    ``max(moving_stddev ** 2 - epsilon, 0)``."""
    if isinstance(mean, FakeTensor):
        return  # a shape-inference run: real statistics must not change
    keep, renorm_keep, epsilon = layer.momentum, layer.renorm_momentum, layer.epsilon
    with torch.no_grad():
        stddev = torch.sqrt(variance + epsilon)
        layer.renorm_mean.mul_(renorm_keep).add_(mean, alpha=1.0 - renorm_keep)
        layer.renorm_stddev.mul_(renorm_keep).add_(stddev, alpha=1.0 - renorm_keep)
        layer.moving_mean.mul_(keep).add_(mean, alpha=1.0 - keep)
        layer.moving_stddev.mul_(keep).add_(stddev, alpha=1.0 - keep)
        layer.moving_variance.copy_(
            torch.relu(layer.moving_stddev * layer.moving_stddev - epsilon))


def renorm_clipping_argument(clipping: Any) -> dict[str, Any]:
    """Keras's checks of ``renorm_clipping`` (with ``renorm``): a dict of optional
    ``rmax``, ``rmin`` and ``dmax`` numbers with ``rmin <= rmax`` and ``dmax >= 0``;
    ``None`` is ``{}``. Unknown keys and bounds are ValueErrors, as in Keras.

    Example:
        >>> renorm_clipping_argument(None), renorm_clipping_argument({"dmax": 0.5})
        ({}, {'dmax': 0.5})
    """
    clipping = {} if clipping is None else clipping
    where = f"received renorm_clipping={clipping!r}."
    if not isinstance(clipping, dict):
        raise ArgumentTypeError("BatchNormalization: renorm_clipping must be a dict with keys "
                                f"{list(CLIPPING_KEYS)}, {where}")
    unknown = sorted(set(clipping) - set(CLIPPING_KEYS), key=str)
    if unknown:
        raise ArgumentError(f"BatchNormalization: renorm_clipping has unknown keys {unknown} "
                            f"(the keys are {list(CLIPPING_KEYS)}), {where}")
    for key, value in clipping.items():
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)):
            raise ArgumentTypeError(f"BatchNormalization: renorm_clipping['{key}'] must be a "
                                    f"number, {where}")
    rmax, rmin, dmax = (clipping.get(key) for key in CLIPPING_KEYS)
    if rmax is not None and rmin is not None and rmax < rmin:
        raise ArgumentError(f"BatchNormalization: renorm_clipping's rmax must be at least its "
                            f"rmin, {where}")
    if dmax is not None and dmax < 0:
        raise ArgumentError(f"BatchNormalization: renorm_clipping's dmax must be >= 0, {where}")
    return dict(clipping)


class SquareRootOf:
    """An initializer: the square root of ``initializer``'s values (Keras's
    ``moving_stddev`` and ``renorm_stddev`` start at the root of the moving variance's
    initial values).

    Example:
        >>> SquareRootOf("ones")((2,)).tolist(), SquareRootOf(lambda s, dtype=None:
        ...     torch.full(s, 4.0))((1,)).tolist()
        ([1.0, 1.0], [2.0])
    """

    def __init__(self, initializer: Any) -> None:
        self.initializer = initializer

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> torch.Tensor:
        values = torch.empty(shape, dtype=standardize_dtype(dtype or "float32"))
        initializers.fill(self.initializer, values)
        return values.sqrt_()

    def __repr__(self) -> str:
        return f"SquareRootOf({self.initializer!r})"
