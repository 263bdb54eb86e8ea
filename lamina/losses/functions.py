"""Keras's loss functions by name: ``fn(y_true, y_pred, ...)`` -> per-sample losses.

Each takes tensors or arrays, fits ``y_true``'s rank to ``y_pred``'s as Keras does (a
trailing axis of size 1 is added or dropped), and returns the losses with the last axis
reduced (``dice`` and ``tversky`` reduce ``axis``, by default every axis). Keras exports
most of them as metric functions too (``keras.metrics.hinge is keras.losses.hinge``).

Example:
    >>> hinge([[0.0, 1.0]], [[0.4, 0.6]]).tolist()  # 0/1 labels become -1/1
    [0.8999999761581421]
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch
import torch.nn.functional as F

from lamina.errors import ArgumentError, ShapeError
from lamina.losses.base import EPSILON
from lamina.utils.shapes import array_to_tensor


def as_tensors(y_true: Any, y_pred: Any, fit_rank: bool = True) -> tuple[torch.Tensor,
                                                                          torch.Tensor]:
    """``(y_true, y_pred)`` as float tensors of ``y_pred``'s dtype, ranks fitted like Keras's
    ``squeeze_or_expand_to_same_rank``."""
    y_pred = array_to_tensor(y_pred)
    if not y_pred.is_floating_point():
        y_pred = y_pred.float()
    y_true = array_to_tensor(y_true).to(device=y_pred.device, dtype=y_pred.dtype)
    if fit_rank and y_true.dim() == y_pred.dim() + 1 and y_true.shape[-1] == 1:
        if y_pred.dim() == 1:
            y_pred = y_pred.unsqueeze(-1)
        else:
            y_true = y_true.squeeze(-1)
    elif fit_rank and y_pred.dim() == y_true.dim() + 1 and y_pred.shape[-1] == 1:
        if y_true.dim() == 1:
            y_true = y_true.unsqueeze(-1)
        else:
            y_pred = y_pred.squeeze(-1)
    return y_true, y_pred


def log_probabilities(y_pred: torch.Tensor, from_logits: bool, axis: int = -1) -> torch.Tensor:
    """Log-probabilities from logits, or from probabilities renormalised and clipped to
    ``[1e-7, 1 - 1e-7]`` (Keras's categorical crossentropy)."""
    if from_logits:
        return torch.log_softmax(y_pred, dim=axis)
    y_pred = y_pred / y_pred.sum(dim=axis, keepdim=True)
    return torch.log(y_pred.clamp(EPSILON, 1.0 - EPSILON))


def binary_elementwise(y_true: torch.Tensor, y_pred: torch.Tensor,
                       from_logits: bool) -> torch.Tensor:
    """Keras's elementwise binary crossentropy (probabilities clipped to ``[1e-7, 1-1e-7]``)."""
    if from_logits:
        return F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    return F.binary_cross_entropy(y_pred.clamp(EPSILON, 1.0 - EPSILON), y_true, reduction="none")


def hinge_labels(y_true: torch.Tensor) -> torch.Tensor:
    """0/1 labels as -1/1 (when every label is 0 or 1); other labels unchanged."""
    is_binary = ((y_true == 0) | (y_true == 1)).all()
    return torch.where(is_binary, 2.0 * y_true - 1.0, y_true)


def mean_squared_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean((y_true - y_pred) ** 2, axis=-1)``."""
    y_true, y_pred = as_tensors(y_true, y_pred)
    return torch.square(y_true - y_pred).mean(dim=-1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean(abs(y_true - y_pred), axis=-1)``."""
    y_true, y_pred = as_tensors(y_true, y_pred)
    return torch.abs(y_true - y_pred).mean(dim=-1)


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``100 * mean(abs((y_true - y_pred) / max(abs(y_true), 1e-7)), axis=-1)``."""
    y_true, y_pred = as_tensors(y_true, y_pred)
    return 100.0 * torch.abs((y_true - y_pred) / y_true.abs().clamp(min=EPSILON)).mean(dim=-1)


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean((log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1)) ** 2, axis=-1)``."""
    y_true, y_pred = as_tensors(y_true, y_pred)
    first = torch.log(y_pred.clamp(min=EPSILON) + 1.0)
    second = torch.log(y_true.clamp(min=EPSILON) + 1.0)
    return torch.square(first - second).mean(dim=-1)


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> torch.Tensor:
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)`` (-1 is best)."""
    y_true, y_pred = as_tensors(y_true, y_pred)
    y_true = y_true * torch.rsqrt((y_true * y_true).sum(axis, keepdim=True).clamp(min=1e-12))
    y_pred = y_pred * torch.rsqrt((y_pred * y_pred).sum(axis, keepdim=True).clamp(min=1e-12))
    return -(y_true * y_pred).sum(dim=axis)


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> torch.Tensor:
    """``0.5 * e ** 2`` where ``|e| <= delta``, else ``delta * |e| - 0.5 * delta ** 2``,
    averaged over the last axis."""
    y_true, y_pred = as_tensors(y_true, y_pred)
    error = torch.abs(y_pred - y_true)
    quadratic = 0.5 * torch.square(error)
    linear = delta * error - 0.5 * delta ** 2
    return torch.where(error <= delta, quadratic, linear).mean(dim=-1)


def log_cosh(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``, computed without overflow."""
    y_true, y_pred = as_tensors(y_true, y_pred)
    error = y_pred - y_true
    return (error + F.softplus(-2.0 * error) - math.log(2.0)).mean(dim=-1)


def kl_divergence(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``sum(y_true * log(y_true / y_pred), axis=-1)`` with both clipped to ``[1e-7, 1]``."""
    y_true, y_pred = as_tensors(y_true, y_pred, fit_rank=False)
    y_true = y_true.clamp(EPSILON, 1.0)
    y_pred = y_pred.clamp(EPSILON, 1.0)
    return (y_true * torch.log(y_true / y_pred)).sum(dim=-1)


def poisson(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean(y_pred - y_true * log(y_pred + 1e-7), axis=-1)``."""
    y_true, y_pred = as_tensors(y_true, y_pred, fit_rank=False)
    return (y_pred - y_true * torch.log(y_pred + EPSILON)).mean(dim=-1)


def hinge(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean(max(1 - y_true * y_pred, 0), axis=-1)``; 0/1 labels become -1/1."""
    y_true, y_pred = as_tensors(y_true, y_pred, fit_rank=False)
    return torch.clamp(1.0 - hinge_labels(y_true) * y_pred, min=0.0).mean(dim=-1)


def squared_hinge(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean(max(1 - y_true * y_pred, 0) ** 2, axis=-1)``; 0/1 labels become -1/1."""
    y_true, y_pred = as_tensors(y_true, y_pred, fit_rank=False)
    return torch.square(torch.clamp(1.0 - hinge_labels(y_true) * y_pred, min=0.0)).mean(dim=-1)


def categorical_hinge(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` over the last axis."""
    y_true, y_pred = as_tensors(y_true, y_pred, fit_rank=False)
    positive = (y_true * y_pred).sum(dim=-1)
    negative = ((1.0 - y_true) * y_pred).amax(dim=-1)
    return torch.clamp(negative - positive + 1.0, min=0.0)


def check_axis(axis: Any) -> int:
    """Keras's check that a crossentropy's ``axis`` is an int (not a bool)."""
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ArgumentError(f"`axis` must be of type `int`. Received: axis={axis!r} of "
                            f"type {type(axis)}")
    return axis


def warn_one_class(name: str, y_pred: torch.Tensor, axis: int) -> None:
    """Keras's warning for a categorical loss on predictions with a single class."""
    if y_pred.shape[axis] == 1:
        warnings.warn(f"In loss {name}, expected y_pred.shape to be (batch_size, num_classes) "
                      f"with num_classes > 1. Received: y_pred.shape={tuple(y_pred.shape)}. "
                      "Consider using 'binary_crossentropy' if you only have 2 classes.",
                      SyntaxWarning, stacklevel=3)


def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1) -> torch.Tensor:
    """Binary crossentropy averaged over ``axis``; ``label_smoothing`` moves targets to 0.5."""
    y_true, y_pred = as_tensors(y_true, y_pred, fit_rank=False)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return binary_elementwise(y_true, y_pred, from_logits).mean(dim=axis)


def binary_focal_crossentropy(y_true: Any, y_pred: Any, apply_class_balancing: bool = False,
                              alpha: float = 0.25, gamma: float = 2.0,
                              from_logits: bool = False, label_smoothing: float = 0.0,
                              axis: int = -1) -> torch.Tensor:
    """``(1 - p_t) ** gamma * binary_crossentropy``, weighted by ``alpha`` for positives and
    ``1 - alpha`` for negatives when ``apply_class_balancing``; averaged over ``axis``."""
    y_true, y_pred = as_tensors(y_true, y_pred, fit_rank=False)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        y_pred = torch.sigmoid(y_pred)
    crossentropy = binary_elementwise(y_true, y_pred, False)
    p_t = y_true * y_pred + (1 - y_true) * (1 - y_pred)
    focal = torch.pow(1.0 - p_t, gamma) * crossentropy
    if apply_class_balancing:
        focal = (y_true * alpha + (1 - y_true) * (1 - alpha)) * focal
    return focal.mean(dim=axis)


def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1) -> torch.Tensor:
    """``-sum(y_true * log(y_pred), axis)``; ``label_smoothing`` mixes in the uniform
    distribution."""
    axis = check_axis(axis)
    y_true, y_pred = as_tensors(y_true, y_pred, fit_rank=False)
    warn_one_class("categorical_crossentropy", y_pred, axis)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_pred.shape[axis]
    return -(y_true * log_probabilities(y_pred, from_logits, axis)).sum(dim=axis)


def categorical_focal_crossentropy(y_true: Any, y_pred: Any, alpha: float = 0.25,
                                   gamma: float = 2.0, from_logits: bool = False,
                                   label_smoothing: float = 0.0,
                                   axis: int = -1) -> torch.Tensor:
    """``sum(-alpha * (1 - p) ** gamma * y_true * log(p), axis)`` with ``p`` the clipped,
    renormalised probabilities."""
    axis = check_axis(axis)
    y_true, y_pred = as_tensors(y_true, y_pred, fit_rank=False)
    warn_one_class("categorical_focal_crossentropy", y_pred, axis)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_pred.shape[axis]
    if from_logits:
        y_pred = torch.softmax(y_pred, dim=axis)
    output = (y_pred / y_pred.sum(dim=axis, keepdim=True)).clamp(EPSILON, 1.0 - EPSILON)
    focal = alpha * torch.pow(1.0 - output, gamma) * (-y_true * torch.log(output))
    return focal.sum(dim=axis)


def sparse_categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                                    ignore_class: int | None = None,
                                    axis: int = -1) -> torch.Tensor:
    """Categorical crossentropy with integer labels; labels equal to ``ignore_class`` give 0."""
    y_pred = array_to_tensor(y_pred)
    y_true = array_to_tensor(y_true).to(y_pred.device)
    if y_true.dim() == y_pred.dim() and y_true.shape[axis] == 1:
        y_true = y_true.squeeze(axis)
    y_true = y_true.long()
    log_probs = log_probabilities(y_pred, from_logits, axis).movedim(axis, -1)
    if ignore_class is None:
        return -torch.gather(log_probs, -1, y_true.unsqueeze(-1)).squeeze(-1)
    valid = y_true != ignore_class
    picked = torch.gather(log_probs, -1, torch.where(valid, y_true, 0).unsqueeze(-1))
    return torch.where(valid, -picked.squeeze(-1), torch.zeros((), dtype=log_probs.dtype,
                                                               device=log_probs.device))


def categorical_generalized_cross_entropy(y_true: Any, y_pred: Any, q: float) -> torch.Tensor:
    """``(1 - p ** q) / q`` with ``p`` the predicted probability of the integer label."""
    y_pred = array_to_tensor(y_pred)
    y_true = array_to_tensor(y_true).to(y_pred.device).long()
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    probability = torch.gather(y_pred, -1, y_true.unsqueeze(-1)).squeeze(-1)
    return (1 - torch.pow(probability, q)) / q


def dice(y_true: Any, y_pred: Any, axis: int | tuple[int, ...] | None = None) -> torch.Tensor:
    """``1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + 1e-7)`` over ``axis``
    (every axis by default, giving one value)."""
    y_true, y_pred = as_tensors(y_true, y_pred, fit_rank=False)
    dims = () if axis is None else axis
    intersection = (y_true * y_pred).sum(dim=dims)
    return 1 - 2.0 * intersection / (y_true.sum(dim=dims) + y_pred.sum(dim=dims) + EPSILON)


def tversky(y_true: Any, y_pred: Any, alpha: float = 0.5, beta: float = 0.5,
            axis: int | tuple[int, ...] | None = None) -> torch.Tensor:
    """``1 - TP / (TP + alpha * FP + beta * FN + 1e-7)`` with soft counts over ``axis``."""
    y_true, y_pred = as_tensors(y_true, y_pred, fit_rank=False)
    dims = () if axis is None else axis
    intersection = (y_pred * y_true).sum(dim=dims)
    false_pos = ((1 - y_true) * y_pred).sum(dim=dims)
    false_neg = (y_true * (1 - y_pred)).sum(dim=dims)
    return 1 - intersection / (intersection + false_pos * alpha + false_neg * beta + EPSILON)


def circle(y_true: Any, y_pred: Any, ref_labels: Any = None, ref_embeddings: Any = None,
           remove_diagonal: bool = True, gamma: float = 80, margin: float = 0.4
           ) -> torch.Tensor:
    """Circle loss of embeddings ``y_pred`` (batch, dim) with integer labels ``y_true``.

    Pairs are compared by cosine distance ``1 - y_pred @ ref_embeddings.T`` (embeddings are
    expected L2-normalised); pairs with equal labels are positives (the diagonal left out
    when ``remove_diagonal``), the rest negatives. Returns one value per sample; the
    :class:`Circle` loss averages only the values above zero, as Keras's mask does.
    """
    y_pred = array_to_tensor(y_pred)
    y_true = array_to_tensor(y_true).to(y_pred.device).long()
    embeddings = y_pred if ref_embeddings is None else array_to_tensor(ref_embeddings)
    labels = y_true if ref_labels is None else array_to_tensor(ref_labels).long()
    distances = torch.clamp(1 - y_pred @ embeddings.T, min=0.0)
    positive = y_true.reshape(-1, 1) == labels.reshape(1, -1)
    negative = ~positive
    if remove_diagonal:
        positive = positive & ~torch.eye(*positive.shape, dtype=torch.bool,
                                         device=positive.device)
    pos_weights = torch.clamp((margin + distances) * positive, min=0.0)
    neg_weights = torch.clamp((1 + margin - distances) * negative, min=0.0)
    pos_logits = -gamma * pos_weights * (margin - distances)
    neg_logits = gamma * neg_weights * (1 - margin - distances)
    minus_inf = torch.tensor(float("-inf"), dtype=distances.dtype, device=distances.device)
    pos_loss = torch.logsumexp(torch.where(positive, pos_logits, minus_inf), dim=1)
    neg_loss = torch.logsumexp(torch.where(negative, neg_logits, minus_inf), dim=1)
    return F.softplus(pos_loss + neg_loss)


def ctc(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Connectionist temporal classification loss, one value per sequence.

    ``y_true`` holds integer labels (batch, max_label_length), 0 marking padding and the
    blank class; ``y_pred`` holds logits (batch, time, classes).
    """
    y_true, y_pred = array_to_tensor(y_true), array_to_tensor(y_pred)
    if y_true.dim() != 2:
        raise ShapeError("Targets `y_true` are expected to be a tensor of shape "
                         "`(batch_size, max_length)` in integer format. Received: "
                         f"y_true.shape={tuple(y_true.shape)}")
    if y_pred.dim() != 3:
        raise ShapeError("Logits `y_pred` are expected to be a tensor of shape "
                         "`(batch_size, max_length, num_classes)`. Received: "
                         f"y_pred.shape={tuple(y_pred.shape)}")
    y_true = y_true.to(y_pred.device).long()
    if not y_pred.is_floating_point():
        y_pred = y_pred.float()
    batch, steps = y_pred.shape[:2]
    input_lengths = torch.full((batch,), steps, dtype=torch.long, device=y_pred.device)
    label_lengths = (y_true != 0).sum(dim=-1)
    log_probs = torch.log_softmax(y_pred.transpose(0, 1), dim=-1)
    return F.ctc_loss(log_probs, y_true, input_lengths, label_lengths, blank=0,
                      reduction="none")
