"""Keras's optimizers, each a ``torch.optim`` optimizer with Keras's names and defaults.

Every class takes Keras's common arguments too (``weight_decay``, ``clipnorm``,
``clipvalue``, ``global_clipnorm``, ``use_ema``, ``ema_momentum``,
``ema_overwrite_frequency``, ``loss_scale_factor``, ``gradient_accumulation_steps``,
``name``): see :class:`lamina.optimizers.base.Optimizer`.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.optimizers.base import Optimizer


class Adam(Optimizer, torch.optim.Adam):
    """Adam (``torch.optim.Adam``) with Keras's defaults.

    Args:
        learning_rate: Default: ``0.001``.
        beta_1: Decay of the first-moment average. Default: ``0.9``.
        beta_2: Decay of the second-moment average. Default: ``0.999``.
        epsilon: Default: ``1e-7`` (Keras's, not torch's ``1e-8``).
        amsgrad: Default: ``False``.
    """

    keras_name = "adam"

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, **kwargs: Any) -> None:
        super().__init__(learning_rate, torch_arguments={
            "betas": (beta_1, beta_2), "eps": epsilon, "amsgrad": amsgrad},
            keras_arguments={"beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon,
                             "amsgrad": amsgrad}, **kwargs)


class AdamW(Optimizer, torch.optim.AdamW):
    """AdamW (``torch.optim.AdamW``, decoupled weight decay) with Keras's defaults.

    Args:
        learning_rate: Default: ``0.001``.
        weight_decay: Default: ``0.004`` (Keras's, not torch's ``0.01``).
        beta_1: Default: ``0.9``.
        beta_2: Default: ``0.999``.
        epsilon: Default: ``1e-7``.
        amsgrad: Default: ``False``.
    """

    keras_name = "adam_w"
    torch_decays = True

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay=weight_decay, torch_arguments={
            "betas": (beta_1, beta_2), "eps": epsilon, "amsgrad": amsgrad},
            keras_arguments={"beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon,
                             "amsgrad": amsgrad}, **kwargs)


class SGD(Optimizer, torch.optim.SGD):
    """Stochastic gradient descent (``torch.optim.SGD``) with Keras's defaults.

    Args:
        learning_rate: Default: ``0.01``.
        momentum: Default: ``0.0``.
        nesterov: Default: ``False``.
    """

    keras_name = "sgd"

    def __init__(self, learning_rate: Any = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, **kwargs: Any) -> None:
        super().__init__(learning_rate, torch_arguments={
            "momentum": momentum, "nesterov": nesterov},
            keras_arguments={"momentum": momentum, "nesterov": nesterov}, **kwargs)


class RMSprop(Optimizer, torch.optim.RMSprop):
    """RMSprop (``torch.optim.RMSprop``) with Keras's defaults.

    Args:
        learning_rate: Default: ``0.001``.
        rho: Decay of the squared-gradient average (torch's ``alpha``). Default: ``0.9``.
        momentum: Default: ``0.0``.
        epsilon: Default: ``1e-7``.
        centered: Default: ``False``.
    """

    keras_name = "rm_sprop"

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, **kwargs: Any) -> None:
        super().__init__(learning_rate, torch_arguments={
            "alpha": rho, "momentum": momentum, "eps": epsilon, "centered": centered},
            keras_arguments={"rho": rho, "momentum": momentum, "epsilon": epsilon,
                             "centered": centered}, **kwargs)


class Adagrad(Optimizer, torch.optim.Adagrad):
    """Adagrad (``torch.optim.Adagrad``) with Keras's defaults.

    Args:
        learning_rate: Default: ``0.001``.
        initial_accumulator_value: Default: ``0.1``.
        epsilon: Default: ``1e-7``.
    """

    keras_name = "adagrad"

    def __init__(self, learning_rate: Any = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, **kwargs: Any) -> None:
        super().__init__(learning_rate, torch_arguments={
            "initial_accumulator_value": initial_accumulator_value, "eps": epsilon},
            keras_arguments={"initial_accumulator_value": initial_accumulator_value,
                             "epsilon": epsilon}, **kwargs)


class Adadelta(Optimizer, torch.optim.Adadelta):
    """Adadelta (``torch.optim.Adadelta``) with Keras's defaults.

    Args:
        learning_rate: Default: ``0.001`` (Keras's, not torch's ``1.0``).
        rho: Decay of the averages. Default: ``0.95``.
        epsilon: Default: ``1e-7``.
    """

    keras_name = "adadelta"

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.95, epsilon: float = 1e-7,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, torch_arguments={"rho": rho, "eps": epsilon},
                         keras_arguments={"rho": rho, "epsilon": epsilon}, **kwargs)


class Adamax(Optimizer, torch.optim.Adamax):
    """Adamax (``torch.optim.Adamax``) with Keras's defaults.

    Args:
        learning_rate: Default: ``0.001``.
        beta_1: Default: ``0.9``.
        beta_2: Default: ``0.999``.
        epsilon: Default: ``1e-7``.
    """

    keras_name = "adamax"

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, **kwargs: Any) -> None:
        super().__init__(learning_rate, torch_arguments={
            "betas": (beta_1, beta_2), "eps": epsilon},
            keras_arguments={"beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon},
            **kwargs)


class Nadam(Optimizer, torch.optim.NAdam):
    """Nadam (``torch.optim.NAdam``) with Keras's defaults and Keras's momentum schedule
    (``beta_1 * (1 - 0.5 * 0.96 ** step)``: torch's ``momentum_decay=1``).

    Args:
        learning_rate: Default: ``0.001``.
        beta_1: Default: ``0.9``.
        beta_2: Default: ``0.999``.
        epsilon: Default: ``1e-7``.
    """

    keras_name = "nadam"

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, **kwargs: Any) -> None:
        super().__init__(learning_rate, torch_arguments={
            "betas": (beta_1, beta_2), "eps": epsilon, "momentum_decay": 1.0},
            keras_arguments={"beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon},
            **kwargs)
