"""Keras 3's ``keras.random``: seeded random tensors (``normal``, ``uniform``, ...).

Every function takes ``seed=``: an ``int`` (the same int gives the same values, call after
call), a :class:`SeedGenerator` (a new seed per call, from a repeatable sequence) or
``None`` (torch's global generator, so ``torch.manual_seed`` or
``lamina.utils.set_random_seed`` makes the draw repeatable). A seeded call draws from its
own ``torch.Generator``, seeded as Keras on torch seeds it, so torch's global random state
is left alone and an int seed or a ``SeedGenerator(seed=int)`` gives Keras 3's (torch
backend) values on the CPU. Results are torch tensors on ``torch.get_default_device()``
(or on the input's device for ``dropout``, ``shuffle`` and ``categorical``).

Example:
    >>> from lamina import random
    >>> seed = random.SeedGenerator(1337)
    >>> first = random.normal((2, 3), seed=seed)
    >>> second = random.normal((2, 3), seed=seed)
    >>> bool((first != second).any()), tuple(first.shape), first.dtype
    (True, (2, 3), torch.float32)
    >>> bool((random.uniform((4,), seed=7) == random.uniform((4,), seed=7)).all())
    True
"""

from __future__ import annotations

import random as python_random
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from lamina.errors import ArgumentError, ShapeError
from lamina.keras_names import missing_name
from lamina.utils.naming import unique_name
from lamina.utils.shapes import standardize_dtype

__all__ = [
    "SeedGenerator",
    "beta",
    "binomial",
    "categorical",
    "dropout",
    "gamma",
    "normal",
    "randint",
    "shuffle",
    "truncated_normal",
    "uniform",
]

_UINT32 = 0xFFFFFFFF


class SeedGenerator:
    """A stateful seed: each random call given it draws a new seed from a fixed sequence.

    An int seed gives the same values at every call; a ``SeedGenerator`` gives new values at
    every call, and two generators made with the same seed give the same sequence. Keep one
    as a layer or model attribute and pass it as ``seed=`` (Keras's pattern for dropout and
    for GAN training steps).

    Args:
        seed: The initial seed (an int). Default: ``None``, a seed drawn from Python's
            ``random`` module (as Keras draws it).
        name: The generator's name. Default: ``"seed_generator"``, made unique.

    Example:
        >>> from lamina import random
        >>> seeds = random.SeedGenerator(42)
        >>> seeds.next().tolist(), seeds.next().tolist()
        ([42, 0], [42, 1])
        >>> again = random.SeedGenerator(42)
        >>> a = random.normal((3,), seed=random.SeedGenerator(42))
        >>> bool((a == random.normal((3,), seed=again)).all())
        True
    """

    def __init__(self, seed: int | None = None, name: str | None = None) -> None:
        self.name = name if name is not None else unique_name("seed_generator")
        self._initial_seed = seed
        if seed is None:
            seed = python_random.randint(1, int(1e9))
        if isinstance(seed, np.integer):
            seed = int(seed)
        if not isinstance(seed, int):
            raise ArgumentError(
                f"SeedGenerator: argument `seed` must be an integer. Received: seed={seed!r} "
                f"(of type {type(seed).__name__})."
            )
        self._seed = seed
        self._counter = 0

    @property
    def seeded(self) -> bool:
        """Whether the generator was given an initial seed (``False`` for ``seed=None``)."""
        return self._initial_seed is not None

    @property
    def state(self) -> torch.Tensor:
        """The current ``[seed, counter]`` pair, as Keras's ``state`` variable holds it."""
        return torch.tensor([self._seed, self._counter], dtype=torch.int64)

    def next(self, ordered: bool = True) -> torch.Tensor:
        """Return the current ``[seed, counter]`` pair and advance the state.

        Args:
            ordered: ``True`` (the default) adds one to the counter; ``False`` moves the
                whole state to a scrambled next value, as Keras's does.
        """
        current = self.state
        if ordered:
            self._counter += 1
        else:
            self._seed = (self._seed + 1) * 5387 % 933199
            self._counter = (self._counter + 1) * 5387 % 933199
        return current

    def get_config(self) -> dict[str, Any]:
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SeedGenerator:
        return cls(**config)

    def __repr__(self) -> str:
        return f"SeedGenerator(name={self.name!r}, state={self.state.tolist()})"


def _generator(seed: Any, function: str, device: torch.device | str | None = None
               ) -> torch.Generator | None:
    """A ``torch.Generator`` for one call (``None``: use torch's global generator).

    Seeded as Keras 3 seeds it on torch: the two halves of the drawn seed added and read
    as an unsigned 32-bit int, so an int seed ``s`` gives ``manual_seed(s & 0xFFFFFFFF)``.
    """
    if seed is None:
        return None
    if isinstance(seed, SeedGenerator):
        first, second = (int(v) for v in seed.next())
    elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        first, second = int(seed), 0
    else:
        raise ArgumentError(
            f"{function}: argument `seed` must be an int, a lamina.random.SeedGenerator or "
            f"None. Received: seed={seed!r} (of type {type(seed).__name__})."
        )
    generator = torch.Generator(device=device or torch.get_default_device())
    generator.manual_seed((first + second) & _UINT32)
    return generator


def _shape(shape: Any, function: str) -> tuple[int, ...]:
    if isinstance(shape, int):
        shape = (shape,)
    try:
        dims = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        dims = None
    if dims is None or any(d < 0 for d in dims):
        raise ShapeError(
            f"{function}: argument `shape` must be a tuple of non-negative ints. "
            f"Received: shape={shape!r}."
        )
    return dims


def _dtype(dtype: Any, function: str, kind: str = "float") -> torch.dtype:
    resolved = standardize_dtype(dtype)
    is_float = resolved.is_floating_point
    is_int = not is_float and not resolved.is_complex and resolved != torch.bool
    if (kind == "float" and not is_float) or (kind == "int" and not is_int):
        raise ArgumentError(
            f"{function} requires a{'n integer' if kind == 'int' else ' floating point'} "
            f"`dtype`. Received: dtype={dtype!r}."
        )
    return resolved


def _parameter(value: Any, shape: tuple[int, ...], device: Any) -> torch.Tensor:
    """A distribution parameter (number, array or tensor) broadcast to ``shape``."""
    tensor = torch.as_tensor(value, device=device)
    if not tensor.is_floating_point():
        tensor = tensor.to(torch.float32)
    return torch.broadcast_to(tensor, shape)


def normal(shape: Sequence[int], mean: float = 0.0, stddev: float = 1.0, dtype: Any = None,
           seed: Any = None) -> torch.Tensor:
    """Samples from a normal (Gaussian) distribution.

    Args:
        shape: The shape of the result.
        mean: The mean. Default: ``0.0``.
        stddev: The standard deviation. Default: ``1.0``.
        dtype: A floating point dtype. Default: ``"float32"``.
        seed: An int, a :class:`SeedGenerator` or ``None``. Default: ``None``.

    Example:
        >>> tuple(normal((2, 3), mean=1.0, stddev=0.1, seed=3).shape)
        (2, 3)
    """
    dims = _shape(shape, "normal")
    device = torch.get_default_device()
    return torch.normal(float(mean), float(stddev), size=dims,
                        generator=_generator(seed, "normal", device),
                        dtype=_dtype(dtype or "float32", "normal"), device=device)


def uniform(shape: Sequence[int], minval: float = 0.0, maxval: float = 1.0,
            dtype: Any = None, seed: Any = None) -> torch.Tensor:
    """Samples from a uniform distribution on ``[minval, maxval)``.

    Args:
        shape: The shape of the result.
        minval: The lower bound (included). Default: ``0.0``.
        maxval: The upper bound (excluded). Default: ``1.0``.
        dtype: A floating point dtype. Default: ``"float32"``.
        seed: An int, a :class:`SeedGenerator` or ``None``. Default: ``None``.

    Example:
        >>> values = uniform((1000,), minval=-2.0, maxval=2.0, seed=1)
        >>> bool(values.min() >= -2.0), bool(values.max() < 2.0)
        (True, True)
    """
    dims = _shape(shape, "uniform")
    torch_dtype = _dtype(dtype or "float32", "uniform")
    device = torch.get_default_device()
    unit = torch.rand(size=dims or (1,), generator=_generator(seed, "uniform", device),
                      dtype=torch_dtype, device=device)
    values = (maxval - minval) * unit + minval
    return values if dims else values[0]


def randint(shape: Sequence[int], minval: int, maxval: int, dtype: Any = "int32",
            seed: Any = None) -> torch.Tensor:
    """Random integers, uniform on ``[minval, maxval)``.

    Args:
        shape: The shape of the result.
        minval: The lowest value (included).
        maxval: The upper bound (excluded).
        dtype: An integer dtype. Default: ``"int32"``.
        seed: An int, a :class:`SeedGenerator` or ``None``. Default: ``None``.

    Example:
        >>> randint((6,), 0, 3, seed=0).dtype
        torch.int32
    """
    dims = _shape(shape, "randint")
    torch_dtype = _dtype(dtype or "int32", "randint", kind="int")
    if int(maxval) <= int(minval):
        raise ArgumentError(
            f"randint: `maxval` must be greater than `minval`. Received: minval={minval}, "
            f"maxval={maxval}."
        )
    device = torch.get_default_device()
    return torch.randint(low=int(minval), high=int(maxval), size=dims,
                         generator=_generator(seed, "randint", device), dtype=torch_dtype,
                         device=device)


def truncated_normal(shape: Sequence[int], mean: float = 0.0, stddev: float = 1.0,
                     dtype: Any = None, seed: Any = None) -> torch.Tensor:
    """Samples from a normal distribution, redrawn when more than two ``stddev`` from
    ``mean``.

    Keras's method: draw four normals per value and keep the first inside two standard
    deviations (so the values equal Keras's). Where all four fall outside, which Keras
    keeps, lamina draws again, so every value lies inside.

    Args:
        shape: The shape of the result.
        mean: The mean. Default: ``0.0``.
        stddev: The standard deviation. Default: ``1.0``.
        dtype: A floating point dtype. Default: ``"float32"``.
        seed: An int, a :class:`SeedGenerator` or ``None``. Default: ``None``.

    Example:
        >>> values = truncated_normal((10000,), stddev=2.0, seed=5)
        >>> bool(values.abs().max() < 4.0)
        True
    """
    dims = _shape(shape, "truncated_normal")
    torch_dtype = _dtype(dtype or "float32", "truncated_normal")
    device = torch.get_default_device()
    generator = _generator(seed, "truncated_normal", device)
    candidates = torch.normal(0.0, 1.0, size=(*dims, 4), generator=generator,
                              dtype=torch_dtype, device=device)
    while True:
        valid = (candidates > -2) & (candidates < 2)
        chosen = candidates.gather(-1, valid.max(-1, keepdim=True)[1]).squeeze(-1)
        missing = ~valid.any(-1)
        if not bool(missing.any()):
            break
        redrawn = torch.normal(0.0, 1.0, size=(int(missing.sum()), 4), generator=generator,
                               dtype=torch_dtype, device=device)
        candidates = candidates.clone()
        candidates[missing] = redrawn
    return chosen * stddev + mean


def dropout(inputs: Any, rate: float, noise_shape: Sequence[int | None] | None = None,
            seed: Any = None) -> torch.Tensor:
    """Zero each value with probability ``rate`` and scale the rest by ``1 / (1 - rate)``.

    Args:
        inputs: A tensor (or anything ``torch.as_tensor`` takes).
        rate: The fraction to drop, in ``[0, 1]``.
        noise_shape: The shape of the keep/drop mask, broadcast over ``inputs``; ``None``
            entries take the input's size. Default: the input's shape.
        seed: An int, a :class:`SeedGenerator` or ``None``. Default: ``None``.

    Example:
        >>> import torch
        >>> out = dropout(torch.ones(2, 4), rate=0.5, noise_shape=(2, 1), seed=1)
        >>> sorted(set(out.flatten().tolist())) in ([0.0], [2.0], [0.0, 2.0])
        True
    """
    if not 0.0 <= float(rate) <= 1.0:
        raise ArgumentError(f"dropout: `rate` must be in [0, 1]. Received: rate={rate}.")
    inputs = torch.as_tensor(inputs)
    if rate == 1.0:
        return torch.zeros_like(inputs)
    if rate == 0.0:
        return inputs
    unseeded = seed is None or (isinstance(seed, SeedGenerator) and not seed.seeded)
    if unseeded and noise_shape is None:
        return torch.nn.functional.dropout(inputs, p=float(rate), training=True)
    keep = 1.0 - float(rate)
    if noise_shape is None:
        mask_shape = tuple(inputs.shape)
    else:
        mask_shape = tuple(inputs.shape[i] if d is None else int(d)
                           for i, d in enumerate(noise_shape))
    generator = None if seed is None else _generator(seed, "dropout", inputs.device)
    mask = torch.bernoulli(torch.full(mask_shape, keep, device=inputs.device),
                           generator=generator).bool()
    mask = torch.broadcast_to(mask, inputs.shape)
    return torch.where(mask, inputs / keep, torch.zeros_like(inputs))


def shuffle(x: Any, axis: int = 0, seed: Any = None) -> torch.Tensor:
    """Shuffle ``x`` along ``axis`` (each slice before ``axis`` gets its own order).

    Args:
        x: A tensor (or anything ``torch.as_tensor`` takes).
        axis: The axis to shuffle. Default: ``0``.
        seed: An int, a :class:`SeedGenerator` or ``None``. Default: ``None``.

    Example:
        >>> import torch
        >>> sorted(shuffle(torch.arange(5), seed=2).tolist())
        [0, 1, 2, 3, 4]
    """
    x = torch.as_tensor(x)
    if x.ndim == 0 or not -x.ndim <= axis < x.ndim:
        raise ArgumentError(
            f"shuffle: `axis` must be in [-{x.ndim}, {x.ndim}) for a {x.ndim}-D tensor. "
            f"Received: axis={axis}."
        )
    axis = axis % x.ndim
    order = torch.rand(x.shape[: axis + 1], generator=_generator(seed, "shuffle", x.device),
                       device=x.device).argsort(axis)
    order = order.reshape(*order.shape, *([1] * (x.ndim - axis - 1))).expand(x.shape)
    return x.gather(axis, order)


def categorical(logits: Any, num_samples: int, dtype: Any = "int32",
                seed: Any = None) -> torch.Tensor:
    """Draw ``num_samples`` class indices per row of ``logits`` (with replacement).

    Args:
        logits: A 2-D tensor ``(batch_size, num_classes)`` of unnormalised log-probabilities.
        num_samples: Samples per row.
        dtype: The result's dtype. Default: ``"int32"``.
        seed: An int, a :class:`SeedGenerator` or ``None``. Default: ``None``.

    Returns:
        A ``(batch_size, num_samples)`` tensor.

    Example:
        >>> import torch
        >>> categorical(torch.tensor([[0.0, 50.0], [50.0, 0.0]]), 3, seed=0).tolist()
        [[1, 1, 1], [0, 0, 0]]
    """
    logits = torch.as_tensor(logits)
    if logits.ndim != 2:
        raise ShapeError(
            "categorical: `logits` should be a 2-D tensor with shape [batch_size, "
            f"num_classes]. Received: logits of shape {tuple(logits.shape)}."
        )
    probabilities = torch.softmax(logits.to(torch.float32) if not logits.is_floating_point()
                                  else logits, dim=-1)
    samples = torch.multinomial(probabilities, int(num_samples), replacement=True,
                                generator=_generator(seed, "categorical", logits.device))
    return samples.to(standardize_dtype(dtype))


def gamma(shape: Sequence[int], alpha: Any, dtype: Any = None, seed: Any = None
          ) -> torch.Tensor:
    """Samples from a Gamma distribution with concentration ``alpha`` (and rate 1).

    Args:
        shape: The shape of the result.
        alpha: The concentration, a number or an array broadcastable to ``shape``.
        dtype: A floating point dtype. Default: ``"float32"``.
        seed: An int, a :class:`SeedGenerator` or ``None``. Default: ``None``.

    Example:
        >>> values = gamma((20000,), alpha=3.0, seed=0)
        >>> round(float(values.mean()), 1)
        3.0
    """
    dims = _shape(shape, "gamma")
    torch_dtype = _dtype(dtype or "float32", "gamma")
    device = torch.get_default_device()
    concentration = _parameter(alpha, dims, device)
    # torch.distributions.Gamma.sample() is this call without a generator argument.
    sample = torch._standard_gamma(concentration, generator=_generator(seed, "gamma", device))
    return sample.to(torch_dtype)


def binomial(shape: Sequence[int], counts: Any, probabilities: Any, dtype: Any = None,
             seed: Any = None) -> torch.Tensor:
    """Samples from a Binomial distribution: successes in ``counts`` trials.

    Args:
        shape: The shape of the result.
        counts: The number of trials, a number or an array broadcastable to ``shape``.
        probabilities: The success probability of one trial, broadcastable likewise.
        dtype: The result's dtype. Default: ``"float32"``.
        seed: An int, a :class:`SeedGenerator` or ``None``. Default: ``None``.

    Example:
        >>> values = binomial((20000,), counts=10, probabilities=0.3, seed=0)
        >>> round(float(values.mean()), 1), float(values.max()) <= 10
        (3.0, True)
    """
    dims = _shape(shape, "binomial")
    device = torch.get_default_device()
    trials = _parameter(counts, dims, device)
    chances = _parameter(probabilities, dims, device).to(trials.dtype)
    sample = torch.binomial(trials, chances, generator=_generator(seed, "binomial", device))
    return sample.to(standardize_dtype(dtype or "float32"))


def beta(shape: Sequence[int], alpha: Any, beta: Any, dtype: Any = None, seed: Any = None
         ) -> torch.Tensor:
    """Samples from a Beta distribution with parameters ``alpha`` and ``beta``.

    Args:
        shape: The shape of the result.
        alpha: The first concentration, a number or an array broadcastable to ``shape``.
        beta: The second concentration, broadcastable likewise.
        dtype: A floating point dtype. Default: ``"float32"``.
        seed: An int, a :class:`SeedGenerator` or ``None``. Default: ``None``.

    Example:
        >>> values = beta((20000,), alpha=2.0, beta=6.0, seed=0)
        >>> round(float(values.mean()), 2)
        0.25
    """
    dims = _shape(shape, "beta")
    torch_dtype = _dtype(dtype or "float32", "beta")
    device = torch.get_default_device()
    first = _parameter(alpha, dims, device)
    second = _parameter(beta, dims, device).to(first.dtype)
    # torch.distributions.Beta.sample() draws a two-way Dirichlet with this call, which
    # takes a generator where the distribution's sample() does not.
    pair = torch._sample_dirichlet(torch.stack([first, second], -1),
                                   generator=_generator(seed, "beta", device))
    return pair[..., 0].to(torch_dtype)


def __getattr__(name: str) -> object:
    """A clear ``AttributeError`` for a Keras name lamina lacks (see ``keras_names.py``)."""
    raise missing_name('random', name, globals())
