"""The shared logistic kernel (sigmoid, softplus, sigmoid cross-entropy) and its users.

References: the TensorFlow check value of ``tf.nn.sigmoid_cross_entropy_with_logits`` used by
``tf.estimator.LogisticRegressionHead``'s docstring (per-example 0.6931, 0.9133, 0.5133), the
defining formula evaluated in extended precision (``np.longdouble``), scipy.stats, and the
closed forms in the tails (``-log sigmoid(x) = max(-x, 0)`` once ``exp(-|x|)`` underflows).
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats

from skglm_fisher import glm
from skglm_fisher._logistic import sigmoid, sigmoid_cross_entropy, softplus


def _reference(labels, logits, total_count=1.0):
    """``-z log p - (n - z) log(1 - p)`` in extended precision (moderate logits only)."""
    x = np.asarray(logits, dtype=np.longdouble)
    log_p = -np.log1p(np.exp(-x))
    log_q = -np.log1p(np.exp(x))
    z = np.asarray(labels, dtype=np.longdouble)
    return np.asarray(-(z * log_p + (total_count - z) * log_q), dtype=np.float64)


def test_tensorflow_check_values():
    losses = sigmoid_cross_entropy(np.array([0.4, 0.6, 0.8]), np.array([0.0, -1.0, 1.0]))
    assert_allclose(losses, [0.6931, 0.9133, 0.5133], atol=5e-5)


@pytest.mark.skipif(np.finfo(np.longdouble).eps >= np.finfo(np.float64).eps,
                    reason="needs an extended-precision long double")
def test_matches_extended_precision_reference():
    rng = np.random.default_rng(0)
    logits = np.r_[rng.normal(scale=10, size=500), -30.0, 30.0, 0.0]
    labels = np.r_[rng.random(500), 1.0, 0.999999, 0.5]
    # The three-term form has no cancellation: relative error a few ulp even where z ~ 1.
    assert_allclose(sigmoid_cross_entropy(labels, logits), _reference(labels, logits),
                    rtol=1e-14)
    counts, n = rng.integers(0, 11, 500).astype(float), 10.0
    assert_allclose(sigmoid_cross_entropy(counts, logits[:500], total_count=n),
                    _reference(counts, logits[:500], n), rtol=1e-14)


def test_tails_are_exact_for_every_finite_logit():
    x = np.array([-1e308, -800.0, 800.0, 1e308])
    assert_array_equal(sigmoid_cross_entropy(np.ones(4), x), [1e308, 800.0, 0.0, 0.0])
    assert_array_equal(sigmoid_cross_entropy(np.zeros(4), x), [0.0, 0.0, 800.0, 1e308])
    assert_array_equal(softplus(x), [0.0, 0.0, 800.0, 1e308])
    assert_array_equal(sigmoid(x), [0.0, 0.0, 1.0, 1.0])
    assert np.all(sigmoid_cross_entropy(np.full(4, 0.3), x) >= 0)


def test_bernoulli_and_binomial_families_use_it():
    rng = np.random.default_rng(1)
    eta = rng.normal(scale=3, size=50)
    y = rng.integers(0, 2, 50).astype(float)
    assert_allclose(glm.Bernoulli().log_prob(y, eta),
                    stats.bernoulli.logpmf(y, sigmoid(eta)), rtol=1e-12)
    counts = rng.integers(0, 8, 50).astype(float)
    assert_allclose(glm.Binomial(7.0).log_prob(counts, eta),
                    stats.binom.logpmf(counts, 7, sigmoid(eta)), rtol=1e-12)
    # Any finite eta: the log-probability is finite (scipy's route through p is -inf).
    huge = np.array([-1e308, 1e308])
    assert_array_equal(glm.Bernoulli().log_prob(np.array([1.0, 0.0]), huge), [-1e308, -1e308])
    assert np.all(np.isfinite(glm.Binomial(3.0).log_prob(np.array([1.0, 2.0]), huge)))
