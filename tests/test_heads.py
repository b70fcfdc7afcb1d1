"""LogisticRegressionHead and MultiClassHead.

The check value comes from TensorFlow's LogisticRegressionHead docstring example::

    head = tf.estimator.LogisticRegressionHead()
    head.loss(labels=[[.4], [.6], [.8]], logits=[[0.], [-1.], [1.]])   # 0.7066
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.metrics import log_loss, roc_auc_score

from skglm_fisher.gradients import value_and_gradients_function
from skglm_fisher.heads import LOSS_REDUCTIONS, LogisticRegressionHead, MultiClassHead

LABELS = np.array([0.4, 0.6, 0.8])
LOGITS = np.array([0.0, -1.0, 1.0])
PER_EXAMPLE = [0.6931, 0.9133, 0.5133]


def test_tensorflow_check_values():
    head = LogisticRegressionHead()
    assert_allclose(head.per_example_loss(LABELS, LOGITS), PER_EXAMPLE, atol=5e-5)
    assert_allclose(head.loss(LABELS, LOGITS), 0.7066, atol=5e-5)
    # Column shapes, as TF uses, give the same numbers.
    assert_allclose(head.loss(LABELS[:, None], LOGITS[:, None]), 0.7066, atol=5e-5)


def test_per_example_loss_is_stable_for_large_logits():
    head = LogisticRegressionHead()
    losses = head.per_example_loss([1.0, 0.0, 1.0], [800.0, -800.0, -800.0])
    assert_allclose(losses, [0.0, 0.0, 800.0])


@pytest.mark.parametrize("reduction", LOSS_REDUCTIONS)
def test_reductions(reduction):
    w = np.array([2.0, 0.0, 1.0])
    ell = np.array(PER_EXAMPLE)
    expected = {
        "sum": w @ ell,
        "sum_over_batch_size": w @ ell / 3,
        "mean": w @ ell / w.sum(),
        "sum_by_nonzero_weights": w @ ell / 2,
    }[reduction]
    head = LogisticRegressionHead(loss_reduction=reduction)
    assert_allclose(head.loss(LABELS, LOGITS, sample_weight=w), expected, atol=2e-4)
    by_column = LogisticRegressionHead(weight_column="w", loss_reduction=reduction)
    assert by_column.loss(LABELS, LOGITS, features={"w": w}) == head.loss(
        LABELS, LOGITS, sample_weight=w
    )


@pytest.mark.parametrize("reduction", LOSS_REDUCTIONS)
def test_gradient_matches_differentiated_loss(reduction):
    rng = np.random.default_rng(0)
    labels, logits, w = rng.random(7), rng.normal(size=7), rng.random(7)
    w[2] = 0.0
    head = LogisticRegressionHead(loss_reduction=reduction)
    grad = head.loss_gradient(labels, logits, sample_weight=w)
    # per_example_loss uses |x| and max: central differences, not complex step.
    _, (numeric,) = value_and_gradients_function(
        lambda x: head.loss(labels, x, sample_weight=w), method="central"
    )(logits)
    assert_allclose(grad, numeric, rtol=1e-7, atol=1e-9)


def test_zero_weights_give_zero_loss():
    head = LogisticRegressionHead(loss_reduction="mean")
    assert head.loss(LABELS, LOGITS, sample_weight=np.zeros(3)) == 0.0
    assert np.all(head.loss_gradient(LABELS, LOGITS, sample_weight=np.zeros(3)) == 0.0)


def test_predictions():
    head = LogisticRegressionHead()
    pred = head.predictions(LOGITS)
    p = 1 / (1 + np.exp(-LOGITS))
    assert_allclose(pred["logistic"], p)
    assert_allclose(pred["predictions"], p)
    assert_allclose(pred["probabilities"], np.column_stack([1 - p, p]))
    assert pred["class_ids"].tolist() == [0, 0, 1]
    assert pred["logits"] is not None


def test_metrics_against_sklearn():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 50).astype(float)
    logits = rng.normal(size=50) + labels
    w = rng.random(50)
    m = LogisticRegressionHead().metrics(labels, logits, sample_weight=w)
    p = 1 / (1 + np.exp(-logits))
    assert_allclose(m["average_loss"], log_loss(labels, p, sample_weight=w))
    assert_allclose(m["label/mean"], np.average(labels, weights=w))
    assert_allclose(m["prediction/mean"], np.average(p, weights=w))
    assert_allclose(m["accuracy"], np.average((p > 0.5) == labels, weights=w))
    assert_allclose(m["auc"], roc_auc_score(labels, p, sample_weight=w))
    assert np.isnan(LogisticRegressionHead().metrics([1.0, 1.0], [0.3, 0.2])["auc"])


@pytest.mark.parametrize(
    "labels, logits, match",
    [
        ([0.5, 1.5], [0.0, 0.0], r"Labels must be in range \[0, 1\]"),
        ([-0.1, 0.5], [0.0, 0.0], r"Labels must be in range \[0, 1\]"),
        ([np.nan, 0.5], [0.0, 0.0], "labels must be finite"),
        ([0.5, 0.5], [np.inf, 0.0], "logits must be finite"),
        ([0.5, 0.5, 0.5], [0.0, 0.0], "shape"),
        ([0.5, 0.5], [[0.0, 1.0], [0.0, 1.0]], "shape"),
    ],
)
def test_logistic_head_rejects_bad_input(labels, logits, match):
    with pytest.raises(ValueError, match=match):
        LogisticRegressionHead().loss(labels, logits)


def test_weights_errors():
    head = LogisticRegressionHead(weight_column="w")
    with pytest.raises(ValueError, match="weight column"):
        head.loss(LABELS, LOGITS)
    with pytest.raises(ValueError, match="not both"):
        head.loss(LABELS, LOGITS, features={"w": np.ones(3)}, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="2 values for 3"):
        LogisticRegressionHead().loss(LABELS, LOGITS, sample_weight=[1.0, 2.0])
    with pytest.raises(ValueError, match="loss_reduction"):
        LogisticRegressionHead(loss_reduction="average")


def test_multiclass_head():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 3))
    labels = np.array([0, 1, 2, 2, 1, 0])
    head = MultiClassHead(3, loss_reduction="sum")
    proba = head.predictions(logits)["probabilities"]
    assert_allclose(head.loss(labels, logits), log_loss(labels, proba, normalize=False))
    # The head converts its input to float64, so only central differences can see through it.
    _, (numeric,) = value_and_gradients_function(
        lambda x: head.loss(labels, x), method="central"
    )(logits)
    assert_allclose(head.loss_gradient(labels, logits), numeric, rtol=1e-7, atol=1e-9)
    assert head.metrics(labels, logits)["accuracy"] == np.mean(logits.argmax(1) == labels)
    with pytest.raises(ValueError, match="range"):
        head.loss([0, 3, 1, 1, 1, 1], logits)
    with pytest.raises(ValueError, match="shape"):
        head.loss(labels, logits[:, :2])
    with pytest.raises(ValueError, match="n_classes"):
        MultiClassHead(1)


# --------------------------------------------------------------------------- bad input, edges
def test_negative_weights_are_refused():
    head = LogisticRegressionHead(loss_reduction="mean")
    for call in (head.loss, head.loss_gradient):
        with pytest.raises(ValueError, match="non-negative"):
            call(LABELS, LOGITS, sample_weight=[1.0, -0.5, 1.0])
    with pytest.raises(ValueError, match="non-negative"):
        head.metrics(LABELS, LOGITS, sample_weight=[1.0, -0.5, 1.0])
    with pytest.raises(ValueError, match="non-negative"):
        MultiClassHead(2).loss([0, 1, 1], np.zeros((3, 2)), sample_weight=[1.0, 1.0, -1.0])
    with pytest.raises(ValueError, match="float64 range"):
        head.loss(LABELS, LOGITS, sample_weight=[1e308, 1e308, 1.0])


def test_metrics_with_all_zero_weights_divide_safely():
    """TensorFlow's metrics divide with div_no_nan: no weight gives 0, not NaN."""
    m = LogisticRegressionHead().metrics(LABELS, LOGITS, sample_weight=np.zeros(3))
    assert m["average_loss"] == m["label/mean"] == m["prediction/mean"] == m["accuracy"] == 0.0
    assert m["accuracy_baseline"] == 1.0  # max(label mean, 1 - label mean), as TensorFlow
    assert np.isnan(m["auc"])  # undefined without weight on both classes (documented)
    multi = MultiClassHead(3).metrics([0, 2], np.zeros((2, 3)), sample_weight=[0.0, 0.0])
    assert multi == {"average_loss": 0.0, "accuracy": 0.0}


def test_losses_of_extreme_finite_logits_are_finite_and_exact():
    logits = np.array([1e308, -1e308, 1e308, -1e308])
    labels = np.array([0.4, 1.0, 1.0, 0.0])
    head = LogisticRegressionHead()
    # -z log p - (1 - z) log(1 - p), with log p = -max(-x, 0) and log(1 - p) = -max(x, 0).
    expected = np.array([0.6e308, 1e308, 0.0, 0.0])
    assert_allclose(head.per_example_loss(labels, logits), expected, rtol=1e-15)
    mean = LogisticRegressionHead(loss_reduction="sum_over_batch_size")
    assert_allclose(mean.loss(labels, logits), expected.sum() / 4, rtol=1e-15)
    w = np.array([1.0, 3.0, 1.0, 1.0])
    by_weight = LogisticRegressionHead(loss_reduction="mean")
    assert_allclose(by_weight.loss(labels, logits, sample_weight=w), (w / w.sum()) @ expected,
                    rtol=1e-15)
    metrics = head.metrics(labels, logits)
    assert_allclose(metrics["average_loss"], expected.sum() / 4, rtol=1e-15)
    # A plain sum beyond the float range is inf (IEEE), silently: it is the exact result rounded.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        two = LogisticRegressionHead(loss_reduction="sum").loss([0.0, 1.0], [1e308, -1e308])
    assert two == np.inf
    assert_allclose(head.loss_gradient(labels, logits), (np.array([1, 0, 1, 0]) - labels) / 4)


def test_column_shaped_input_with_weights_matches_flat_input():
    w = np.array([2.0, 0.0, 1.0])
    head = LogisticRegressionHead(loss_reduction="sum")
    flat = head.loss(LABELS, LOGITS, sample_weight=w)
    assert head.loss(LABELS[:, None], LOGITS[:, None], sample_weight=w) == flat
    assert_allclose(flat, w @ PER_EXAMPLE, atol=2e-4)
