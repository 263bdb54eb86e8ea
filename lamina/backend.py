"""Keras-2 style access to :mod:`lamina.ops`: ``from lamina import backend as K``.

The functions are the very same objects as in :mod:`lamina.ops`, so ``K.mean`` and
``ops.mean`` are interchangeable, in eager code, on symbolic tensors and in saved models.

Example:
    >>> import torch
    >>> from lamina import backend as K
    >>> K.int_shape(K.concatenate([torch.zeros(2, 3), torch.ones(2, 1)], axis=1))
    (2, 4)
"""

from lamina.ops import *  # noqa: F403
from lamina.ops import __all__  # noqa: F401
