"""``SpectralNormalization``: a wrapper that keeps the spectral norm of a layer's kernel near
1 (Miyato et al., 2018), as Keras 3 computes it."""

from __future__ import annotations

from typing import Any

import torch
from torch._subclasses.fake_tensor import FakeTensor

from lamina.errors import ArgumentError, ArgumentTypeError
from lamina.initializers import TruncatedNormal
from lamina.layers import arguments
from lamina.layers.layer import Layer
from lamina.layers.wrappers import Wrapper

#: Keras's ``backend.epsilon()``: the floor on a norm in ``ops.normalize``.
_NORM_EPSILON = 1e-7


def l2_normalized(x: torch.Tensor) -> torch.Tensor:
    """``x`` over its L2 norm (of all its values), the norm floored at 1e-7: Keras's
    ``normalize(x, axis=None)``.

    Example:
        >>> l2_normalized(torch.tensor([[3.0, 4.0]])).tolist()
        [[0.6000000238418579, 0.800000011920929]]
    """
    return x * torch.rsqrt(torch.sum(x * x)).clamp(max=1.0 / _NORM_EPSILON)


class SpectralNormalization(Wrapper):
    """Divides the wrapped layer's kernel by its spectral norm (largest singular value),
    estimated by power iteration, at each call in training.

    Keras's method: the kernel, reshaped to ``(-1, kernel.shape[-1])`` as ``W``, and the
    non-trainable ``vector_u`` (``(1, kernel.shape[-1])``) give, ``power_iterations``
    times, ``v = normalize(u @ W.T)`` and ``u = normalize(v @ W)``; then
    ``sigma = v @ W @ u.T``. In training (``training=True``, or ``fit``), the kernel is
    *overwritten* with ``kernel / sigma`` and ``vector_u`` with ``u`` before the layer runs
    (no gradient flows through ``sigma``; a kernel of zeros is left alone); in inference
    the layer runs with the kernel as it is.

    Args:
        layer: A layer with a ``kernel`` (``Dense``, the convolutions...) or an
            ``embeddings`` (``Embedding``) weight.
        power_iterations: Power iterations per training call, at least 1. Default: ``1``.

    Weights: the wrapped layer's, and ``vector_u`` (non-trainable), in Keras's order:
    ``kernel``, ``vector_u``, then the wrapped layer's other weights.

    Input shape:
        The wrapped layer's.

    Output shape:
        The wrapped layer's (floating outputs in the input's floating dtype, as in Keras).

    Example:
        >>> from lamina.layers.core import Dense
        >>> layer = SpectralNormalization(Dense(3, kernel_initializer="ones"))
        >>> _ = layer(torch.ones(2, 4), training=True)
        >>> round(torch.linalg.matrix_norm(layer.kernel, ord=2).item(), 4)
        1.0
    """

    def __init__(self, layer: Layer, power_iterations: int = 1, **kwargs: Any) -> None:
        if not arguments.is_int(power_iterations):
            raise ArgumentTypeError("SpectralNormalization: power_iterations must be an int, "
                                    f"received power_iterations={power_iterations!r}.")
        if power_iterations <= 0:
            raise ArgumentError("SpectralNormalization: power_iterations must be greater than "
                                f"zero, received power_iterations={power_iterations}.")
        super().__init__(layer, **kwargs)
        self.power_iterations = power_iterations

    @property
    def kernel(self) -> torch.Tensor:
        """The wrapped layer's ``kernel``, else its ``embeddings``: the weight normalised."""
        for name in ("kernel", "embeddings"):
            found = getattr(self.layer, name, None)
            if isinstance(found, torch.Tensor):
                return found
        raise ArgumentError(
            f"SpectralNormalization '{self.name}': the wrapped layer '{self.layer.name}' "
            f"({type(self.layer).__name__}) has no 'kernel' nor 'embeddings' weight. Wrap a "
            "Dense, convolution or Embedding layer.")

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)  # builds the wrapped layer (Keras's nested paths)
        kernel = self.kernel
        self.vector_u = self.add_weight("vector_u", (1, kernel.shape[-1]),
                                        initializer=TruncatedNormal(stddev=0.02),
                                        dtype=kernel.dtype, trainable=False)

    @property
    def weights(self) -> list[torch.Tensor]:
        """Keras's order: the kernel, ``vector_u``, then the wrapped layer's other weights."""
        if not self.built:
            return super().weights
        kernel = self.kernel
        return [kernel, self.vector_u, *(w for w in self.layer.weights if w is not kernel)]

    def call(self, inputs: torch.Tensor, training: bool = False) -> torch.Tensor:
        if training and not isinstance(inputs, FakeTensor):
            self.normalize_kernel()
        outputs = self.layer(inputs)
        if inputs.is_floating_point() and outputs.is_floating_point():
            outputs = outputs.to(inputs.dtype)
        return outputs

    def normalize_kernel(self) -> None:
        """One training step's update: ``vector_u`` and the kernel, as described above."""
        kernel = self.kernel
        with torch.no_grad():
            if not torch.any(kernel != 0):
                return
            matrix = kernel.reshape(-1, kernel.shape[-1])
            u = self.vector_u.to(matrix.dtype)
            for _ in range(self.power_iterations):
                v = l2_normalized(u @ matrix.T)
                u = l2_normalized(v @ matrix)
            sigma = (v @ matrix) @ u.T
            self.vector_u.copy_(u)
            kernel.copy_(kernel / sigma)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return self.layer.compute_output_shape(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "power_iterations": self.power_iterations}
