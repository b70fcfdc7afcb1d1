"""Loss heads: a loss with its reduction, predictions and metrics, as ``tf.estimator`` heads.

A head turns logits (the linear predictor ``eta``) and labels into a scalar training loss, its
gradient with respect to the logits, a dictionary of predictions and evaluation metrics.
Reductions of the weighted per-example losses ``w_i l_i`` over a batch of ``n`` elements:

============================ ==================================
reduction                    reduced loss
============================ ==================================
``'sum'``                    ``sum(w l)``
``'sum_over_batch_size'``    ``sum(w l) / n`` (not ``sum(w)``)
``'mean'``                   ``sum(w l) / sum(w)``
``'sum_by_nonzero_weights'`` ``sum(w l) / #(w != 0)``
============================ ==================================

A zero denominator gives a zero loss (and gradient), as TensorFlow's safe division does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.special import expit, logsumexp, softmax

__all__ = [
    "LOSS_REDUCTIONS",
    "LogisticRegressionHead",
    "MultiClassHead",
    "sigmoid_cross_entropy",
]

LOSS_REDUCTIONS = ("sum", "sum_over_batch_size", "mean", "sum_by_nonzero_weights")


def sigmoid_cross_entropy(labels: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Per-example ``max(x, 0) - x·z + log(1 + exp(-|x|))`` on already-checked arrays.

    The unchecked kernel of :meth:`LogisticRegressionHead.per_example_loss`, for solvers that
    validated their labels once and call it every iteration.

    Examples
    --------
    >>> import numpy as np
    >>> np.round(sigmoid_cross_entropy(np.array([0.4, 0.6, 0.8]), np.array([0.0, -1.0, 1.0])), 4)
    array([0.6931, 0.9133, 0.5133])
    """
    return np.maximum(logits, 0.0) - logits * labels + np.log1p(np.exp(-np.abs(logits)))


def _reduction_scale(reduction: str, weights: np.ndarray | None, n: int) -> float:
    """The factor that turns ``sum(w l)`` into the reduced loss."""
    if reduction == "sum":
        return 1.0
    if reduction == "sum_over_batch_size" or weights is None:
        denominator = float(n)
    elif reduction == "mean":
        denominator = float(np.sum(weights))
    else:  # sum_by_nonzero_weights
        denominator = float(np.count_nonzero(weights))
    return 1.0 / denominator if denominator > 0 else 0.0


def _as_finite(name: str, value: Any) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite; got NaN or infinity")
    return array


class _Head:
    """Shared weight handling and reductions; subclasses define the per-example loss."""

    def __init__(
        self, weight_column: str | None = None, loss_reduction: str = "sum_over_batch_size"
    ):
        if loss_reduction not in LOSS_REDUCTIONS:
            raise ValueError(
                f"loss_reduction must be one of {LOSS_REDUCTIONS}, got {loss_reduction!r}"
            )
        self.weight_column = weight_column
        self.loss_reduction = loss_reduction

    def _weights(
        self, features: Mapping | None, sample_weight: Any, n: int, use_column: bool = True
    ) -> np.ndarray | None:
        use_column = use_column and self.weight_column is not None
        if sample_weight is not None and features is not None and use_column:
            raise ValueError("pass either sample_weight or features[weight_column], not both")
        if sample_weight is None and use_column:
            if features is None or self.weight_column not in features:
                raise ValueError(
                    f"features must contain the weight column {self.weight_column!r}"
                )
            sample_weight = features[self.weight_column]
        if sample_weight is None:
            return None
        weights = _as_finite("sample_weight", sample_weight).reshape(-1)
        if weights.size == 1:
            weights = np.full(n, weights[0])
        if weights.shape != (n,):
            raise ValueError(f"sample_weight has {weights.size} values for {n} examples")
        return weights

    def _reduce(self, losses: np.ndarray, weights: np.ndarray | None) -> float:
        total = float(np.sum(losses if weights is None else weights * losses))
        return total * _reduction_scale(self.loss_reduction, weights, losses.shape[0])

    def loss(self, labels, logits, features: Mapping | None = None, sample_weight=None) -> float:
        """Reduced training loss (see the module docstring for the reductions).

        Weights come from ``sample_weight`` or, when ``weight_column`` is set, from
        ``features[weight_column]``.
        """
        losses = self.per_example_loss(labels, logits)
        weights = self._weights(features, sample_weight, losses.shape[0])
        return self._reduce(losses, weights)

    def loss_gradient(
        self, labels, logits, features: Mapping | None = None, sample_weight=None
    ) -> np.ndarray:
        """Gradient of :meth:`loss` with respect to ``logits`` (same shape as ``logits``)."""
        labels, logits = self._check(labels, logits)
        n = logits.shape[0]
        weights = self._weights(features, sample_weight, n)
        return self._gradient(labels, logits, weights)

    def _gradient(self, labels, logits, weights):
        """Unchecked gradient: per-example residual, times weight, times reduction scale."""
        residual = self._residual(labels, logits)
        if weights is not None:
            residual *= weights.reshape((-1,) + (1,) * (residual.ndim - 1))
        scale = _reduction_scale(self.loss_reduction, weights, logits.shape[0])
        if scale != 1.0:
            residual *= scale
        return residual

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(weight_column={self.weight_column!r}, "
            f"loss_reduction={self.loss_reduction!r})"
        )


class LogisticRegressionHead(_Head):
    """Binary logistic regression head, as ``tf.estimator.LogisticRegressionHead``.

    Labels are floats in ``[0, 1]`` (soft labels allowed); logits are log-odds. The per-example
    loss is the sigmoid cross-entropy in its overflow-free form
    ``max(x, 0) - x z + log1p(exp(-|x|))`` for logit ``x`` and label ``z``; its derivative with
    respect to ``x`` is ``sigmoid(x) - z``.

    Parameters
    ----------
    weight_column : str, optional
        Key of the example weights in the ``features`` mapping passed to :meth:`loss`.
    loss_reduction : str, default='sum_over_batch_size'
        One of ``'sum'``, ``'sum_over_batch_size'``, ``'mean'``, ``'sum_by_nonzero_weights'``.

    Examples
    --------
    >>> head = LogisticRegressionHead()
    >>> head.per_example_loss([0.4, 0.6, 0.8], [0.0, -1.0, 1.0]).round(4)
    array([0.6931, 0.9133, 0.5133])
    >>> round(head.loss([0.4, 0.6, 0.8], [0.0, -1.0, 1.0]), 4)
    0.7066
    >>> head.loss_gradient([0.4, 0.6, 0.8], [0.0, -1.0, 1.0]).round(4)
    array([ 0.0333, -0.1104, -0.023 ])
    """

    def _check(self, labels, logits) -> tuple[np.ndarray, np.ndarray]:
        labels = _as_finite("labels", labels)
        logits = _as_finite("logits", logits)
        if labels.shape != logits.shape:
            if labels.size == logits.size and labels.ndim <= 2 and logits.ndim <= 2:
                labels = labels.reshape(logits.shape)
            else:
                raise ValueError(
                    f"labels shape {labels.shape} does not match logits shape {logits.shape}"
                )
        if logits.ndim == 0 or (logits.ndim == 2 and logits.shape[1] != 1) or logits.ndim > 2:
            raise ValueError(f"logits must have shape (n,) or (n, 1), got {logits.shape}")
        if labels.size and (labels.min() < 0 or labels.max() > 1):
            raise ValueError("Labels must be in range [0, 1]")
        return labels, logits

    def per_example_loss(self, labels, logits) -> np.ndarray:
        """Unweighted sigmoid cross-entropy of each example, shaped like ``logits``."""
        labels, logits = self._check(labels, logits)
        return sigmoid_cross_entropy(labels, logits)

    @staticmethod
    def _residual(labels, logits):
        return expit(logits) - labels

    def predictions(self, logits) -> dict[str, np.ndarray]:
        """Predictions from logits.

        Returns
        -------
        dict
            ``'logits'``, ``'logistic'`` and ``'predictions'`` (both the probability of class
            1, shaped like ``logits``), ``'probabilities'`` (``[1 - p, p]``, shape ``(n, 2)``)
            and ``'class_ids'`` (``p > 0.5`` as int64, shaped like ``logits``).
        """
        logits = _as_finite("logits", logits)
        p = expit(logits)
        flat = p.reshape(-1)
        return {
            "logits": logits,
            "logistic": p,
            "predictions": p,
            "probabilities": np.column_stack([1.0 - flat, flat]),
            "class_ids": (p > 0.5).astype(np.int64),
        }

    def metrics(self, labels, logits, sample_weight=None) -> dict[str, float]:
        """Weighted evaluation metrics.

        Returns
        -------
        dict
            ``'average_loss'`` (``sum(w l) / sum(w)``), ``'label/mean'``, ``'prediction/mean'``,
            ``'accuracy'`` (class ids against labels thresholded at 0.5), ``'accuracy_baseline'``
            (accuracy of always predicting the majority label) and ``'auc'`` (NaN when only one
            class is present).
        """
        losses = self.per_example_loss(labels, logits)
        labels, logits = self._check(labels, logits)
        n = losses.shape[0]
        w = self._weights(None, sample_weight, n, use_column=False)
        w = np.ones(n) if w is None else w
        total = w.sum()
        p = expit(logits).reshape(-1)
        z = labels.reshape(-1)
        label_mean = float(w @ z / total)
        return {
            "average_loss": float(w @ losses.reshape(-1) / total),
            "label/mean": label_mean,
            "prediction/mean": float(w @ p / total),
            "accuracy": float(w @ ((p > 0.5) == (z > 0.5)) / total),
            "accuracy_baseline": max(label_mean, 1.0 - label_mean),
            "auc": _weighted_auc(z > 0.5, p, w),
        }


def _weighted_auc(positive: np.ndarray, score: np.ndarray, weight: np.ndarray) -> float:
    """Area under the ROC curve, ties counted one half (Mann-Whitney)."""
    w_pos, w_neg = weight[positive].sum(), weight[~positive].sum()
    if w_pos == 0 or w_neg == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    s, pos, w = score[order], positive[order], weight[order]
    # Group tied scores so a tie between a positive and a negative counts one half.
    starts = np.r_[0, np.flatnonzero(np.diff(s)) + 1]
    neg_per_group = np.add.reduceat(np.where(pos, 0.0, w), starts)
    pos_per_group = np.add.reduceat(np.where(pos, w, 0.0), starts)
    neg_below = np.cumsum(neg_per_group) - neg_per_group
    area = np.sum(pos_per_group * (neg_below + 0.5 * neg_per_group))
    return float(area / (w_pos * w_neg))


class MultiClassHead(_Head):
    """Softmax cross-entropy head for ``n_classes`` exclusive classes (``tf.estimator``'s).

    Labels are integer class ids in ``[0, n_classes)``; logits have shape ``(n, n_classes)``.
    The per-example loss is ``logsumexp(x) - x[label]``; its gradient with respect to the logits
    is ``softmax(x) - onehot(label)``.

    Parameters
    ----------
    n_classes : int
        Number of classes (``>= 2``).
    weight_column : str, optional
        Key of the example weights in ``features``.
    loss_reduction : str, default='sum_over_batch_size'
        As for :class:`LogisticRegressionHead`.

    Examples
    --------
    >>> head = MultiClassHead(3)
    >>> head.per_example_loss([0, 2], [[0.0, 0.0, 0.0], [1.0, 0.0, 2.0]]).round(4)
    array([1.0986, 0.4076])
    """

    def __init__(
        self, n_classes: int, weight_column: str | None = None,
        loss_reduction: str = "sum_over_batch_size",
    ):
        super().__init__(weight_column, loss_reduction)
        if int(n_classes) != n_classes or n_classes < 2:
            raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
        self.n_classes = int(n_classes)

    def _check(self, labels, logits) -> tuple[np.ndarray, np.ndarray]:
        logits = _as_finite("logits", logits)
        labels = _as_finite("labels", labels).reshape(-1)
        if logits.ndim != 2 or logits.shape[1] != self.n_classes:
            raise ValueError(f"logits must have shape (n, {self.n_classes}), got {logits.shape}")
        if labels.shape[0] != logits.shape[0]:
            raise ValueError(f"{labels.shape[0]} labels for {logits.shape[0]} rows of logits")
        if labels.size and (
            labels.min() < 0 or labels.max() >= self.n_classes or np.any(labels % 1)
        ):
            raise ValueError(f"Labels must be integers in range [0, {self.n_classes})")
        return labels.astype(np.intp), logits

    def per_example_loss(self, labels, logits) -> np.ndarray:
        """Unweighted softmax cross-entropy of each example, shape ``(n,)``."""
        labels, logits = self._check(labels, logits)
        return logsumexp(logits, axis=1) - logits[np.arange(logits.shape[0]), labels]

    @staticmethod
    def _residual(labels, logits):
        residual = softmax(logits, axis=1)
        residual[np.arange(logits.shape[0]), labels] -= 1.0
        return residual

    def predictions(self, logits) -> dict[str, np.ndarray]:
        """``'logits'``, ``'probabilities'`` (softmax) and ``'class_ids'`` (argmax)."""
        logits = _as_finite("logits", logits)
        return {
            "logits": logits,
            "probabilities": softmax(logits, axis=1),
            "class_ids": np.argmax(logits, axis=1),
        }

    def metrics(self, labels, logits, sample_weight=None) -> dict[str, float]:
        """``'average_loss'`` (``sum(w l) / sum(w)``) and ``'accuracy'``, weighted."""
        losses = self.per_example_loss(labels, logits)
        labels, logits = self._check(labels, logits)
        w = self._weights(None, sample_weight, losses.shape[0], use_column=False)
        w = np.ones(losses.shape[0]) if w is None else w
        return {
            "average_loss": float(w @ losses / w.sum()),
            "accuracy": float(w @ (np.argmax(logits, axis=1) == labels) / w.sum()),
        }
