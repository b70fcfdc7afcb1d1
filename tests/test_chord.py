"""Chord steps' quasi-Newton memory (:mod:`skglm_fisher.glm._chord`)."""

import numpy as np
import pytest

from skglm_fisher.glm._chord import ChordSteps
from skglm_fisher.glm._linalg import cholesky_factor


def _information(rng, q=6):
    a = rng.normal(size=(40, q))
    return a.T @ a


def test_the_corrected_information_meets_the_latest_secant_equation():
    rng = np.random.default_rng(0)
    h0 = _information(rng)
    hessian = h0 + np.diag(rng.uniform(1.0, 5.0, size=6))  # the information that moved on
    factor = cholesky_factor(h0)
    chord = ChordSteps(enabled=True)
    for _ in range(3):
        step = rng.normal(size=6)
        chord.remember(step, hessian @ step, factor.scale)
    # B maps the last step to its score change (BFGS keeps the newest pair exactly) ...
    last_step, last_change = chord.pairs[-1]
    np.testing.assert_allclose(chord.direction(factor, last_change), last_step, rtol=1e-10)
    # ... and stays positive definite: every direction is one of ascent of the score.
    for _ in range(20):
        gradient = rng.normal(size=6)
        assert gradient @ chord.direction(factor, gradient) > 0


def test_pairs_without_positive_curvature_are_not_kept_and_the_memory_is_bounded(monkeypatch):
    rng = np.random.default_rng(1)
    factor = cholesky_factor(_information(rng))
    chord = ChordSteps(enabled=True)
    step = rng.normal(size=6)
    chord.remember(step, -step, factor.scale)  # negative curvature
    chord.remember(step, np.zeros(6), factor.scale)  # none
    assert chord.pairs == []
    monkeypatch.setattr("skglm_fisher.glm._chord.QUASI_NEWTON_PAIRS", 2)
    for _ in range(5):
        step = rng.normal(size=6)
        chord.remember(step, step, factor.scale)
    assert len(chord.pairs) == 2 and chord.pairs[-1][0] is step


@pytest.mark.parametrize("scale", [1e-150, 1.0, 1e150])
def test_the_curvature_test_does_not_depend_on_the_scale_of_a_column(scale):
    # A column scaled by s: its step component scales by 1/s, its score change by s.
    rng = np.random.default_rng(2)
    h = _information(rng)
    weights = np.r_[scale, np.ones(5)]
    factor = cholesky_factor(h * np.outer(weights, weights))
    step = rng.normal(size=6) * 1e-6
    change = h @ step
    chord = ChordSteps(enabled=True)
    chord.remember(step / weights, change * weights, factor.scale)
    assert len(chord.pairs) == 1


def test_a_chord_step_that_contracts_poorly_asks_for_the_information():
    chord = ChordSteps(enabled=True)
    factor = cholesky_factor(np.eye(2))
    chord.observe(100.0, stale=False)  # a step with fresh information
    chord.observe(20.0, stale=True)  # a chord step that shrank the decrement fivefold
    assert chord.wanted(factor) and not chord.refresh
    chord.observe(10.0, stale=True)  # only twofold
    assert chord.refresh and not chord.wanted(factor)
    chord.observe(0.1, stale=False)  # fresh again
    assert chord.wanted(factor)
    chord.stop()
    assert not chord.wanted(factor)
