"""Chord steps: Fisher scoring steps that reuse the information of an earlier point.

Where the information costs many times a pass that computes the score alone (wide dense designs
and the multinomial logit), a step may take ``B⁻¹ G`` with ``B`` the information ``H₀`` of an
earlier point instead of the current one: the score ``G`` fixes the solution, the information
only the path to it. ``B`` is ``H₀`` corrected by the steps taken since and the changes of the
score along them (limited-memory BFGS pairs with ``H₀`` as the initial matrix, Nocedal &
Wright, *Numerical Optimization*, 2nd ed., algorithm 7.4), which turns the linear convergence
of the plain chord iteration superlinear. The solver
(:class:`~skglm_fisher.glm._solver.IRLSSolver`) decides when a pass skips the information and
how a fit ends; :class:`ChordSteps` holds what the steps remember between passes.

Conventions: ``G`` is the gradient of the log-likelihood minus the penalty's (minus the
objective's), so a pair's score change ``G_before - G_after`` has positive curvature against
its step on a convex objective.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import blas

__all__ = ["QUASI_NEWTON_PAIRS", "REFRESH_CONTRACTION", "ChordSteps"]

#: A chord step that shrinks the decrement by less than this factor makes the next pass
#: recompute the information. Measured on the multinomial logit (200,000 rows, 5 classes, 50
#: features, one thread), where a pass with the information costs ten score passes: against the
#: information of every iterate, weak effects took 10 steps with 1 information pass (after the
#: start's) instead of 5 with 5, 1.61 s instead of 2.48 s, and strong effects 22 steps with 2
#: instead of 7 with 7, 2.44 s instead of 3.27 s, to the same deviance. With the quasi-Newton
#: correction, 0.5 and 0.75 were no faster on those fits and on wide Poisson, Gamma and
#: logistic ones, and slower on some.
REFRESH_CONTRACTION = 0.25
#: Pairs kept. Measured on Poisson fits with ``alpha=1e-4`` from the intercept-only start: 8, 6
#: and 6 score passes instead of 21, 15 and 17 without the correction on 20,000 × 1,500,
#: 100,000 × 500 and 200,000 × 200 (1.41 s instead of 1.76 s, 0.80 s instead of 1.28 s, 0.49 s
#: instead of 0.80 s); 6 instead of 8 on a 500,000-row multinomial logit; 4 and 16 pairs did
#: about as well as 8.
QUASI_NEWTON_PAIRS = 8


class ChordSteps:
    """What a fit's chord steps remember: whether they are on, the pairs taken since the
    information was computed, the last decrement, and whether the next pass must compute the
    information.

    Examples
    --------
    >>> import numpy as np
    >>> from skglm_fisher.glm._linalg import cholesky_factor
    >>> chord = ChordSteps(enabled=True)
    >>> factor = cholesky_factor(np.diag([2.0, 4.0]))
    >>> chord.direction(factor, np.array([2.0, 4.0]))  # no pair yet: H₀⁻¹ G
    array([1., 1.])
    >>> chord.remember(np.array([1.0, 0.0]), np.array([3.0, 0.0]), factor.scale)
    >>> chord.direction(factor, np.array([3.0, 0.0]))  # the pair's curvature, 3, not H₀'s 2
    array([1., 0.])
    """

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.refresh = False
        self.last_decrement: float | None = None
        self.pairs: list[tuple[np.ndarray, np.ndarray]] = []

    def wanted(self, factor) -> bool:
        """Whether the coming step's pass may skip the information: chord steps are on, the
        last one contracted well, and ``factor`` (of the information in use) is a Cholesky
        factor (the QR route needs a pass over the rows anyway)."""
        cholesky = factor is not None and factor.method == "cholesky"
        return self.enabled and cholesky and not self.refresh

    def observe(self, decrement: float, stale: bool):
        """Record the decrement at the current point (with the information in use); after a
        chord step (``stale``), the next pass recomputes the information when the step shrank
        the decrement by less than :data:`REFRESH_CONTRACTION`."""
        previous = self.last_decrement
        self.refresh = bool(stale and previous and decrement > REFRESH_CONTRACTION * previous)
        self.last_decrement = decrement

    def direction(self, factor, gradient) -> np.ndarray:
        """``B⁻¹ G``: the two-loop recursion over the pairs around ``factor.solve`` (``H₀⁻¹``)."""
        direction = np.array(gradient, dtype=np.float64)
        history = []
        for step, change in reversed(self.pairs):
            rho = 1.0 / float(change @ step)
            alpha = rho * float(step @ direction)
            direction -= alpha * change
            history.append((rho, alpha, step, change))
        direction = factor.solve(direction)
        for rho, alpha, step, change in reversed(history):
            direction += (alpha - rho * float(change @ direction)) * step
        return direction

    def remember(self, step, change, scale):
        """Keep the pair of a step taken with an earlier information, unless it lacks positive
        curvature (rounding, at the optimum), so that ``B`` stays positive definite. The
        curvature is judged against the norms in the equilibrated coordinates of the factor
        (``scale``, where a step and a score change of a column of any scale are comparable);
        BLAS ``nrm2`` scales as it sums, so that huge columns do not overflow."""
        if float(step @ change) > 1e-12 * blas.dnrm2(step / scale) * blas.dnrm2(change * scale):
            self.pairs.append((step, change))
            del self.pairs[: len(self.pairs) - QUASI_NEWTON_PAIRS]

    def forget(self):
        """The information was computed again: the pairs no longer apply."""
        self.pairs.clear()

    def stop(self):
        """No more chord steps in this fit."""
        self.enabled = False
        self.forget()
