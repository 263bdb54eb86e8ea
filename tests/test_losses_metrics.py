"""Losses against Keras's formulas written out in numpy; metrics against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from lamina import losses, metrics, optimizers
from lamina.errors import ArgumentError, DataError, ShapeError

EPS = 1e-7
RNG = np.random.default_rng(0)


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


# ---------------------------------------------------------------- Keras's formulas in numpy
def clip32(p: np.ndarray) -> np.ndarray:
    """Keras clips float32 tensors: 1 - 1e-7 rounds to 1 - 2**-23 there."""
    return np.clip(p.astype(np.float32), np.float32(EPS), np.float32(1 - EPS)).astype(float)


def np_bce(t: np.ndarray, p: np.ndarray) -> np.ndarray:
    p = clip32(p)
    return np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p)), axis=-1)


def np_cce(t: np.ndarray, p: np.ndarray) -> np.ndarray:
    p = p / p.sum(axis=-1, keepdims=True)
    return -np.sum(t * np.log(clip32(p)), axis=-1)


def np_huber(t: np.ndarray, p: np.ndarray, delta: float) -> np.ndarray:
    e = np.abs(p - t)
    return np.mean(np.where(e <= delta, 0.5 * e**2, delta * e - 0.5 * delta**2), axis=-1)


def np_kld(t: np.ndarray, p: np.ndarray) -> np.ndarray:
    t, p = np.clip(t, EPS, 1), np.clip(p, EPS, 1)
    return np.sum(t * np.log(t / p), axis=-1)


def np_cosine(t: np.ndarray, p: np.ndarray) -> np.ndarray:
    def unit(v: np.ndarray) -> np.ndarray:
        return v / np.sqrt(np.maximum(np.sum(v**2, axis=-1, keepdims=True), 1e-12))
    return -np.sum(unit(t) * unit(p), axis=-1)


def _cases() -> list[tuple]:
    n, c = 40, 5
    real_t, real_p = RNG.normal(size=(n, 3)), RNG.normal(size=(n, 3))
    logits = RNG.normal(size=(n, c)) * 3
    labels = RNG.integers(0, c, size=n)
    onehot = np.eye(c)[labels]
    probs = softmax(logits)
    probs[0, :] = [1.0, 0.0, 0.0, 0.0, 0.0]  # exact 0 and 1 exercise the clipping
    bin_t = RNG.integers(0, 2, size=(n, 2)).astype(float)
    bin_logits = RNG.normal(size=(n, 2)) * 3
    bin_p = sigmoid(bin_logits)
    bin_p[0] = [0.0, 1.0]
    dist_t, dist_p = softmax(RNG.normal(size=(n, c))), softmax(RNG.normal(size=(n, c)))
    unnormalised = probs * 3.0  # Keras divides by the sum first
    return [
        ("mse", {}, real_t, real_p, lambda t, p: np.mean((t - p) ** 2, axis=-1)),
        ("mae", {}, real_t, real_p, lambda t, p: np.mean(np.abs(t - p), axis=-1)),
        ("huber", {}, real_t, real_p, lambda t, p: np_huber(t, p, 1.0)),
        (losses.Huber, {"delta": 0.3}, real_t, real_p, lambda t, p: np_huber(t, p, 0.3)),
        ("kl_divergence", {}, dist_t, dist_p, np_kld),
        ("cosine_similarity", {}, real_t, real_p, np_cosine),
        ("binary_crossentropy", {}, bin_t, bin_p, np_bce),
        (losses.BinaryCrossentropy, {"from_logits": True}, bin_t, bin_logits,
         lambda t, p: np_bce(t, sigmoid(p))),
        (losses.BinaryCrossentropy, {"label_smoothing": 0.2}, bin_t, bin_p,
         lambda t, p: np_bce(t * 0.8 + 0.1, p)),
        ("categorical_crossentropy", {}, onehot, probs, np_cce),
        ("categorical_crossentropy", {}, onehot, unnormalised, np_cce),
        (losses.CategoricalCrossentropy, {"from_logits": True}, onehot, logits,
         lambda t, p: np_cce(t, softmax(p))),
        (losses.CategoricalCrossentropy, {"label_smoothing": 0.1}, onehot, probs,
         lambda t, p: np_cce(t * 0.9 + 0.1 / c, p)),
        ("sparse_categorical_crossentropy", {}, labels, probs,
         lambda t, p: np_cce(np.eye(c)[t], p)),
        (losses.SparseCategoricalCrossentropy, {}, labels[:, None], probs,
         lambda t, p: np_cce(np.eye(c)[t[:, 0]], p)),
        (losses.SparseCategoricalCrossentropy, {"from_logits": True}, labels, logits,
         lambda t, p: np_cce(np.eye(c)[t], softmax(p))),
    ]


CASES = _cases()


@pytest.mark.parametrize("case", range(len(CASES)))
def test_loss_matches_keras_formula_with_and_without_sample_weight(case: int) -> None:
    identifier, kwargs, y_true, y_pred, reference = CASES[case]
    loss = losses.get(identifier) if isinstance(identifier, str) else identifier(**kwargs)
    per_sample = reference(y_true, y_pred)
    weights = RNG.uniform(0, 2, size=len(y_true))
    got = float(loss(y_true.astype(np.float32), y_pred.astype(np.float32)))
    np.testing.assert_allclose(got, per_sample.mean(), rtol=2e-5, atol=1e-6)
    got = float(loss(y_true, y_pred.astype(np.float32), sample_weight=weights))
    # Keras's sum_over_batch_size: weighted sum divided by the number of samples.
    np.testing.assert_allclose(got, (per_sample * weights).sum() / len(y_true),
                               rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("from_logits", [True, False])
def test_fused_sparse_crossentropy_gradient_matches_the_formula(from_logits: bool) -> None:
    logits = torch.randn(16, 7, dtype=torch.float64)
    labels = torch.randint(0, 7, (16,))
    pred = (logits if from_logits else torch.softmax(logits, -1)).requires_grad_(True)
    loss = losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    loss(labels, pred).backward()
    fused = pred.grad.clone()
    pred.grad = None
    probs = torch.softmax(pred, -1) if from_logits else pred / pred.sum(-1, keepdim=True)
    explicit = -(torch.nn.functional.one_hot(labels, 7) * torch.log(
        probs.clamp(EPS, 1 - EPS))).sum(-1).mean()
    explicit.backward()
    torch.testing.assert_close(fused, pred.grad)


def test_reduction_none_and_sum() -> None:
    t, p = np.zeros((4, 2), np.float32), np.ones((4, 2), np.float32)
    assert losses.MeanSquaredError(reduction="none")(t, p).tolist() == [1.0] * 4
    assert float(losses.MeanSquaredError(reduction="sum")(t, p)) == 4.0
    # Keras's "mean" divides by the number of values, as sum_over_batch_size does.
    assert float(losses.MeanSquaredError(reduction="mean")(t, p, np.arange(4.0))) == 1.5
    with pytest.raises(ArgumentError, match="reduction"):
        losses.MeanSquaredError(reduction="average")


def test_loss_lookup_and_functions() -> None:
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    assert isinstance(losses.get(losses.Huber), losses.Huber)
    custom = losses.get(lambda t, p: (t - p).abs().sum(-1))
    assert float(custom([[1.0, 2.0]], [[0.0, 0.0]])) == 3.0
    with pytest.raises(ArgumentError, match="Unknown loss"):
        losses.get("hinge_of_doom")


def test_target_checks_explain_what_to_do() -> None:
    with pytest.raises(ShapeError, match="sparse_categorical_crossentropy"):
        losses.get("categorical_crossentropy").check_targets(torch.zeros(8), (8, 3))
    with pytest.raises(ShapeError, match="categorical_crossentropy"):
        losses.get("sparse_categorical_crossentropy").check_targets(torch.zeros(8, 3), (8, 3))
    with pytest.raises(DataError, match=r"\[0, 3\).*from 0 to 3"):
        losses.get("sparse_categorical_crossentropy").check_targets(
            torch.tensor([0, 1, 3]), (3, 3))
    with pytest.raises(DataError, match="between 0 and 1"):
        losses.get("binary_crossentropy").check_targets(torch.tensor([[2.0]]), (1, 1))
    fitted = losses.get("mse").check_targets(torch.arange(4), (4, 1))
    assert fitted.shape == (4, 1) and fitted.dtype == torch.float32


# ---------------------------------------------------------------- metrics vs scikit-learn
def _update_in_chunks(metric: metrics.Metric, y_true: np.ndarray, y_pred: np.ndarray,
                      weights: np.ndarray | None = None) -> float:
    for part in np.array_split(np.arange(len(y_true)), 3):
        metric.update_state(torch.as_tensor(y_true[part]), torch.as_tensor(y_pred[part]),
                            None if weights is None else torch.as_tensor(weights[part]))
    return float(metric.result())


@pytest.mark.parametrize("weighted", [False, True])
def test_accuracies_match_sklearn(weighted: bool) -> None:
    n, c = 300, 6
    weights = RNG.uniform(0, 3, n) if weighted else None
    scores = softmax(RNG.normal(size=(n, c))).astype(np.float32)
    labels = RNG.integers(0, c, n)
    sparse = _update_in_chunks(metrics.get("sparse_categorical_accuracy"), labels, scores,
                               weights)
    expected = skm.accuracy_score(labels, scores.argmax(1), sample_weight=weights)
    assert sparse == pytest.approx(expected, rel=1e-6)
    onehot = np.eye(c, dtype=np.float32)[labels]
    categorical = _update_in_chunks(metrics.get("categorical_accuracy"), onehot, scores, weights)
    assert categorical == pytest.approx(expected, rel=1e-6)
    top3 = _update_in_chunks(metrics.get("top_k_categorical_accuracy"), onehot, scores, weights)
    expected_top = skm.top_k_accuracy_score(labels, scores, k=5, labels=range(c),
                                            sample_weight=weights)
    assert top3 == pytest.approx(expected_top, rel=1e-6)
    binary_true = RNG.integers(0, 2, (n, 1)).astype(np.float32)
    binary_scores = RNG.uniform(size=(n, 1)).astype(np.float32)
    binary = _update_in_chunks(metrics.get("binary_accuracy"), binary_true, binary_scores,
                               weights)
    assert binary == pytest.approx(skm.accuracy_score(
        binary_true[:, 0], binary_scores[:, 0] > 0.5, sample_weight=weights), rel=1e-6)


def test_regression_metrics_match_sklearn() -> None:
    y_true, y_pred = RNG.normal(size=(200, 3)), RNG.normal(size=(200, 3))
    weights = RNG.uniform(0, 2, 200)
    for name, reference in (("mae", skm.mean_absolute_error),
                            ("mse", skm.mean_squared_error)):
        got = _update_in_chunks(metrics.get(name), y_true.astype(np.float32),
                                y_pred.astype(np.float32), weights)
        assert got == pytest.approx(reference(y_true, y_pred, sample_weight=weights), rel=1e-5)


def test_precision_and_recall_match_sklearn() -> None:
    y_true = RNG.integers(0, 2, 500).astype(np.float32)
    scores = np.clip(y_true * 0.3 + RNG.uniform(size=500) * 0.7, 0, 1).astype(np.float32)
    weights = RNG.uniform(0, 2, 500)
    for name, reference in (("precision", skm.precision_score), ("recall", skm.recall_score)):
        got = _update_in_chunks(metrics.get(name), y_true, scores, weights)
        assert got == pytest.approx(reference(y_true, scores > 0.5, sample_weight=weights),
                                    rel=1e-5)


def test_auc_matches_sklearn_within_the_bucketing_error() -> None:
    n = 2000
    y_true = RNG.integers(0, 2, n).astype(np.float32)
    scores = np.clip(y_true * 0.25 + RNG.uniform(size=n) * 0.75, 0, 1).astype(np.float32)
    got = _update_in_chunks(metrics.get("auc"), y_true, scores)
    # Keras's AUC puts scores into 199 equal buckets and counts a positive and a negative
    # in the same bucket as a tie. On the bucketed scores it is the exact ROC AUC ...
    buckets = np.maximum(np.ceil(scores.astype(np.float64) * 199) - 1, 0)
    assert got == pytest.approx(skm.roc_auc_score(y_true, buckets), abs=1e-5)
    # ... so against the raw scores it is off by at most half the share of
    # (positive, negative) pairs that share a bucket.
    pos, neg = buckets[y_true == 1], buckets[y_true == 0]
    tied = sum(np.sum(pos == b) * np.sum(neg == b) for b in np.unique(buckets))
    bound = 0.5 * tied / (len(pos) * len(neg))
    assert 0 < bound < 0.01
    assert abs(got - skm.roc_auc_score(y_true, scores)) <= bound + 1e-6


def test_weighted_auc_matches_sklearn_on_bucketed_scores() -> None:
    y_true = RNG.integers(0, 2, 400).astype(np.float32)
    scores = RNG.uniform(size=400).astype(np.float32)
    weights = RNG.uniform(0, 2, 400)
    got = _update_in_chunks(metrics.AUC(num_thresholds=50), y_true, scores, weights)
    buckets = np.maximum(np.ceil(scores.astype(np.float64) * 49) - 1, 0)
    assert got == pytest.approx(skm.roc_auc_score(y_true, buckets, sample_weight=weights),
                                abs=1e-5)


def test_metric_state_resets_and_accumulates() -> None:
    metric = metrics.get("mae")
    metric.update_state(torch.zeros(2, 1), torch.ones(2, 1))
    metric.update_state(torch.zeros(2, 1), torch.full((2, 1), 3.0))
    assert float(metric.result()) == 2.0
    metric.reset_state()
    metric.update_state(torch.zeros(1, 1), torch.full((1, 1), 5.0))
    assert float(metric.result()) == 5.0


def test_accuracy_resolves_from_the_loss() -> None:
    def resolved(loss: str | losses.Loss, pred_shape: tuple[int, ...] = (4, 3)) -> str:
        return metrics.accuracy_for(losses.get(loss), None, pred_shape).__name__

    assert resolved("sparse_categorical_crossentropy") == "sparse_categorical_accuracy"
    assert resolved("categorical_crossentropy") == "categorical_accuracy"
    assert resolved("binary_crossentropy") == "binary_accuracy"
    assert resolved(losses.BinaryCrossentropy(from_logits=True)) == "binary_accuracy_logits"
    assert resolved("mse", (4, 1)) == "binary_accuracy"
    logits_accuracy = metrics.accuracy_for(losses.BinaryCrossentropy(from_logits=True))
    # From logits the decision threshold is 0, not 0.5.
    assert logits_accuracy(torch.tensor([[1.0], [0.0]]), torch.tensor([[0.2], [-0.2]])
                           ).tolist() == [1.0, 1.0]
    with pytest.raises(ArgumentError, match="Unknown metric"):
        metrics.get("accurracy")


# ---------------------------------------------------------------- optimizers
@pytest.mark.parametrize(("name", "torch_class", "expected"), [
    ("adam", torch.optim.Adam, {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-7}),
    ("adamw", torch.optim.AdamW, {"lr": 1e-3, "weight_decay": 0.004, "eps": 1e-7}),
    ("sgd", torch.optim.SGD, {"lr": 0.01, "momentum": 0.0, "nesterov": False}),
    ("rmsprop", torch.optim.RMSprop, {"lr": 1e-3, "alpha": 0.9, "eps": 1e-7, "momentum": 0}),
    ("adagrad", torch.optim.Adagrad, {"lr": 1e-3, "initial_accumulator_value": 0.1,
                                      "eps": 1e-7}),
])
def test_optimizers_by_keras_name_have_keras_defaults(name: str, torch_class: type,
                                                      expected: dict) -> None:
    built = optimizers.get(name).build([torch.nn.Parameter(torch.zeros(2))])
    assert isinstance(built, torch_class) and type(built).__mro__[2] is torch_class
    group = built.param_groups[0]
    assert {key: group[key] for key in expected} == expected


def test_sgd_momentum_follows_keras_update_rule() -> None:
    weight = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    built = optimizers.SGD(learning_rate=0.1, momentum=0.9).build([weight])
    w, velocity = np.array([1.0, -2.0]), np.zeros(2)
    for _ in range(3):
        built.zero_grad()
        (weight ** 2).sum().backward()
        built.step()
        velocity = 0.9 * velocity - 0.1 * (2 * w)  # Keras: v = m*v - lr*g; w += v
        w = w + velocity
    np.testing.assert_allclose(weight.detach().numpy(), w, rtol=1e-6)


def test_unknown_optimizer_is_a_clear_error() -> None:
    with pytest.raises(ArgumentError, match="Unknown optimizer"):
        optimizers.get("adamax_turbo")
