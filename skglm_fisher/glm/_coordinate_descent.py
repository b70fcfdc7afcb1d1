"""Coordinate descent for an L1/L2-penalised quadratic: the inner solve of L1 Fisher scoring.

An outer Fisher-scoring step of an elastic-net GLM replaces the smooth part of the objective by
its quadratic model at the current coefficients ``b0`` and minimises

    Q(b) = -g·(b - b0) + ½ (b - b0)ᵀ H (b - b0) + Σ_j l1_j |b_j| + ½ Σ_j l2_j b_j²

where ``H`` is a symmetric positive semi-definite p×p matrix (the weighted Gram, with the
intercept, if any, as a coordinate whose ``l1_j = l2_j = 0``), ``g`` the score (the gradient of
the log-likelihood, i.e. minus the gradient of the smooth loss) at ``b0``, and ``l1``, ``l2``
non-negative per-coordinate penalties.

Algorithm (covariance updates, as glmnet's "covariance mode")
-------------------------------------------------------------
The gradient of the quadratic part, ``r = H (b - b0) - g``, is kept up to date: changing ``b_j``
by ``δ`` adds ``δ·H[:, j]`` (O(p), one BLAS ``axpy``). With ``a_j = H_jj + l2_j``, the exact
minimiser of ``Q`` in coordinate ``j`` is::

    b_j ← S(H_jj·b_j - r_j, l1_j) / a_j,      S(z, t) = sign(z)·max(|z| - t, 0)

Stalls: on an ill-conditioned ``H`` cyclic coordinate descent converges slowly, though it
finds the support and signs of the solution early. After every :data:`STALL_SWEEPS` sweeps
without convergence, the stationarity equations on the current support with the current signs
are solved exactly (one Cholesky factorisation of the support's block); the solution is taken
when it keeps the signs and meets every coordinate's KKT condition, else the sweeps go on.

Active set: sweep only the coordinates in the active set (non-zero at the start, unpenalised,
or added later) until a sweep changes nothing by more than the tolerance; then check the
Karush-Kuhn-Tucker condition of every coordinate outside it from a freshly computed ``r`` (one
vectorised pass, standing in for a full sweep: a zero coordinate that satisfies
``|r_j| <= l1_j`` would not move). Violators join the active set and the sweeps resume; no
violator means converged. The active set only grows, so the checks stop after at most p + 1
rounds. While sweeping, ``r`` is kept only on the active coordinates (an axpy of length ``k``
with the active block ``H[A, A]``), and recomputed in full, free of accumulated rounding, at
every check.

Convergence: a sweep has converged when ``max_j a_j·δ_j² <= tol`` over the coordinates it
updated. An exact coordinate step on a function with curvature ``a_j`` lowers it by at least
``a_j·δ_j²/2``, so ``tol`` bounds the last sweep's per-coordinate decrease of ``Q`` in the
objective's own units; the caller scales it with the objective.

Degenerate coordinates: a coordinate with ``a_j = 0`` (``H_jj = 0`` and no ridge term) has no
curvature; positive semi-definiteness makes its column of ``H`` zero. It is set to 0 when
``l1_j > 0`` (the minimiser whenever ``Q`` is bounded below in it) and left unchanged otherwise;
it never produces NaN. Where ``|g_j| > l1_j`` on such a coordinate ``Q`` has no minimum: the
result is not flagged converged, and :func:`kkt_violation` reports the violation.

Speed: the sweep is pure Python over plain floats, the update one
``scipy.linalg.blas.daxpy``; in the same loop, a numpy ``r += δ·H[j]`` measured 1.3-2.7 times
slower and reading ``r[j]`` instead of ``r.item(j)`` up to 2 times slower (p = 10 to 500).
Measured (best of 7, one core of a shared 2-core machine) on least-squares problems
``H = XᵀX/n``, ``n = 2p``, correlated columns, ``tol=1e-14``: about 2 million moving coordinate
updates per second. p = 50 with 43 non-zero coefficients: 7,400 updates in 3.5 ms
(scikit-learn's compiled ``Lasso`` with the Gram precomputed and a duality-gap tolerance of
1e-10: 0.6 ms). p = 500 with 145 non-zero: 13 ms (``Lasso``: 17 ms; the active set skips the
zero coordinates). p = 500 with 489 non-zero: 120,000 updates in 70 ms (``Lasso``: 36 ms).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg
from scipy.linalg.blas import daxpy

#: Sweeps after which a coordinate descent that has not converged (ill-conditioned ``H``) tries
#: the exact minimiser on its current support and signs (:func:`_newton_on_support`).
STALL_SWEEPS = 32

__all__ = [
    "CoordinateDescentResult",
    "kkt_violation",
    "kkt_violations",
    "quadratic_model_gradient",
    "soft_threshold",
    "solve_penalized_quadratic",
]


class CoordinateDescentResult(NamedTuple):
    """Result of :func:`solve_penalized_quadratic`."""

    coef: np.ndarray
    n_sweeps: int
    converged: bool


def soft_threshold(x, threshold):
    """Return ``sign(x)·max(|x| - threshold, 0)``, the proximal map of ``threshold·|x|``.

    Examples
    --------
    >>> soft_threshold(np.array([-3.0, 0.5, 2.0]), 1.0)
    array([-2.,  0.,  1.])
    """
    return np.sign(x) * np.maximum(np.abs(x) - threshold, 0.0)


def quadratic_model_gradient(H, g, b0, coef, l2):
    """Gradient of the smooth part of ``Q`` at ``coef``: ``H (coef - b0) - g + l2 ⊙ coef``.

    Parameters
    ----------
    H : ndarray of shape (p, p)
    g : ndarray of shape (p,)
        The score at ``b0``.
    b0 : ndarray of shape (p,)
        The expansion point.
    coef : ndarray of shape (p,)
    l2 : float or ndarray of shape (p,)

    Returns
    -------
    ndarray of shape (p,)
    """
    coef = np.asarray(coef, dtype=np.float64)
    return np.asarray(H) @ (coef - b0) - g + l2 * coef


def kkt_violations(coef, gradient, l1):
    """Per-coordinate violations of the optimality (KKT) conditions of an L1-penalised problem.

    For ``min f(b) + Σ_j l1_j |b_j|`` with ``f`` smooth and ``gradient = ∇f(coef)`` (the ridge
    term, if any, included), ``coef`` is optimal when every zero coefficient has
    ``|gradient_j| <= l1_j`` and every non-zero one has ``gradient_j + l1_j·sign(coef_j) = 0``.

    Parameters
    ----------
    coef : ndarray of shape (p,)
    gradient : ndarray of shape (p,)
    l1 : float or ndarray of shape (p,)
        Non-negative L1 penalties.

    Returns
    -------
    ndarray of shape (p,)
        ``max(|gradient_j| - l1_j, 0)`` for zero coefficients,
        ``|gradient_j + l1_j·sign(coef_j)|`` for non-zero ones.

    Examples
    --------
    >>> kkt_violations(np.array([0.0, 0.0, 2.0]), np.array([0.5, -1.5, -0.75]), 1.0)
    array([0.  , 0.5 , 0.25])
    """
    coef = np.asarray(coef, dtype=np.float64)
    gradient = np.asarray(gradient, dtype=np.float64)
    l1 = np.broadcast_to(np.asarray(l1, dtype=np.float64), coef.shape)
    return np.where(
        coef == 0.0,
        np.maximum(np.abs(gradient) - l1, 0.0),
        np.abs(gradient + l1 * np.sign(coef)),
    )


def kkt_violation(coef, gradient, l1):
    """Largest violation of the optimality (KKT) conditions (see :func:`kkt_violations`).

    Returns
    -------
    float
        The largest of :func:`kkt_violations`; 0.0 when ``p = 0``.

    Examples
    --------
    >>> kkt_violation(np.array([0.0, 2.0]), np.array([0.5, -1.0]), 1.0)
    0.0
    >>> kkt_violation(np.array([0.0, 2.0]), np.array([1.5, -0.75]), 1.0)
    0.5
    """
    return float(kkt_violations(coef, gradient, l1).max(initial=0.0))


def _penalty_vector(value, name, p):
    value = np.asarray(value, dtype=np.float64)
    try:
        value = np.broadcast_to(value, (p,))
    except ValueError:
        raise ValueError(f"{name} has shape {value.shape}; expected a scalar or ({p},).") from None
    if not np.all(np.isfinite(value)) or np.any(value < 0):
        raise ValueError(f"{name} must be finite and non-negative.")
    return value


def _check_problem(H, g, l1, l2, b0, coef_start, tol, max_sweeps):
    H = np.ascontiguousarray(H, dtype=np.float64)
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise ValueError(f"H must be a square matrix; got shape {H.shape}.")
    p = H.shape[0]
    if not np.all(np.isfinite(H)):
        raise ValueError("H contains NaN or infinity.")
    if np.any(np.abs(H - H.T) > 1e-10 * np.abs(H).max(initial=0.0)):
        raise ValueError("H must be symmetric; it differs from its transpose beyond rounding.")
    if np.any(np.diag(H) < 0):
        raise ValueError("H must be positive semi-definite; its diagonal has negative entries.")
    vectors = []
    for value, name in ((g, "g"), (b0, "b0"), (coef_start, "coef_start")):
        value = np.zeros(p) if value is None else np.asarray(value, dtype=np.float64)
        if value.shape != (p,):
            raise ValueError(f"{name} has shape {value.shape}; expected ({p},).")
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{name} contains NaN or infinity.")
        vectors.append(value)
    g, b0, coef = vectors
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be positive and finite; got {tol!r}.")
    if isinstance(max_sweeps, bool) or not isinstance(max_sweeps, (int, np.integer)):
        raise ValueError(f"max_sweeps must be a positive integer; got {max_sweeps!r}.")
    if max_sweeps < 1:
        raise ValueError(f"max_sweeps must be a positive integer; got {max_sweeps!r}.")
    l1 = _penalty_vector(l1, "l1", p)
    l2 = _penalty_vector(l2, "l2", p)
    return H, g, l1, l2, b0, coef.copy()


def _newton_on_support(H, g, b0, coef, l1, l2, curvature, tol):
    """The minimiser of ``Q`` if ``coef`` has the solution's support and signs, else None.

    On the support ``S`` with signs ``σ``, stationarity is the linear system
    ``(H + diag l2)_SS b_S = (g + H b0)_S - l1_S ⊙ σ_S``. Its solution is returned only if it
    keeps the signs and meets every coordinate's KKT condition to ``violation² / curvature <=
    tol`` (the sweeps' own criterion), which also rejects a solve spoilt by ill-conditioning.
    """
    support = (coef != 0.0) | ((l1 == 0.0) & (curvature > 0.0))
    index = np.flatnonzero(support)
    if index.size == 0:
        return None
    signs = np.sign(coef[index])
    system = H[np.ix_(index, index)] + np.diag(l2[index])
    rhs = g[index] + H[index] @ b0 - l1[index] * signs
    try:
        values = scipy.linalg.cho_solve(scipy.linalg.cho_factor(system, check_finite=False),
                                        rhs, check_finite=False)  # fmt: skip
    except np.linalg.LinAlgError:  # not positive definite on the support
        return None
    penalised = l1[index] > 0.0
    if not np.all(np.isfinite(values)) or np.any(np.sign(values[penalised]) != signs[penalised]):
        return None
    candidate = np.zeros_like(coef)
    candidate[index] = values
    violation = kkt_violations(candidate, H @ (candidate - b0) - g + l2 * candidate, l1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.where(curvature > 0.0, violation**2 / curvature,
                          np.where(violation > 0.0, np.inf, 0.0))  # fmt: skip
    return candidate if scaled.max() <= tol else None


def _sweep_active(H_active, coef, gradient, l1, curvature, tol, max_sweeps):
    """Cyclic coordinate descent over one active set, in place.

    ``H_active`` is the C-contiguous active block of ``H``; ``coef`` (a list of floats) and
    ``gradient`` (a float64 array, ``r`` of the module docstring) hold the active coordinates
    only. Returns ``(n_sweeps, converged)``.
    """
    rows = list(H_active)  # row i == column i: H is symmetric
    diagonal = np.diag(H_active).tolist()
    # Plain Python floats and bound methods: each numpy scalar access costs as much as the
    # whole scalar update (see the module docstring for the measured rates).
    read = gradient.item
    order = range(len(coef))
    for sweep in range(1, max_sweeps + 1):
        largest = 0.0
        for i in order:
            a = curvature[i]
            old = coef[i]
            t = l1[i]
            if a > 0.0:
                z = diagonal[i] * old - read(i)
                if z > t:
                    new = (z - t) / a
                elif z < -t:
                    new = (z + t) / a
                else:
                    new = 0.0
            else:  # no curvature: a zero column of H (module docstring)
                new = 0.0 if t > 0.0 else old
            delta = new - old
            if delta != 0.0:
                coef[i] = new
                daxpy(rows[i], gradient, a=delta)  # in place: gradient is float64, contiguous
                change = a * delta * delta
                if change > largest:
                    largest = change
        if largest <= tol:
            return sweep, True
    return max_sweeps, False


def solve_penalized_quadratic(
    H, g, l1, l2=0.0, b0=None, *, coef_start=None, tol=1e-12, max_sweeps=1000, polish=False
):
    """Minimise the penalised quadratic model ``Q`` of the module docstring by coordinate descent.

    Parameters
    ----------
    H : ndarray of shape (p, p)
        Symmetric positive semi-definite curvature (Fisher information) of the smooth part.
    g : ndarray of shape (p,)
        Score at ``b0``: minus the gradient of the smooth loss.
    l1 : float or ndarray of shape (p,)
        Non-negative L1 penalty per coordinate (0 for an unpenalised intercept).
    l2 : float or ndarray of shape (p,), default=0.0
        Non-negative ridge penalty per coordinate; the term is ``½ Σ l2_j b_j²``.
    b0 : ndarray of shape (p,), optional
        Expansion point of the quadratic model; zeros by default.
    coef_start : ndarray of shape (p,), optional
        Warm start; ``b0`` is *not* the default start, zeros are (the usual start of a
        regularisation path is the previous solution, passed here).
    tol : float, default=1e-12
        A sweep has converged when ``max_j (H_jj + l2_j)·δ_j² <= tol``: ``tol`` is in the units
        of ``Q`` (see the module docstring).
    max_sweeps : int, default=1000
        Bound on the number of sweeps over the active set, counted over all rounds.
    polish : bool, default=False
        Once converged, replace the solution by the exact minimiser on its support and signs
        when that keeps them (one Cholesky factorisation of the support's block): the
        coordinates are then accurate to rounding rather than to ``tol``.

    Returns
    -------
    CoordinateDescentResult
        ``(coef, n_sweeps, converged)``: the minimiser, the sweeps run, and whether the last
        sweep met ``tol`` and no coordinate outside the active set violated the KKT condition
        (False as well when ``Q`` is unbounded below: a coordinate without curvature whose
        ``|g_j| > l1_j``).

    Examples
    --------
    A diagonal ``H`` has the closed form ``b_j = S(g_j, l1_j) / (H_jj + l2_j)`` at ``b0 = 0``:

    >>> import numpy as np
    >>> H = np.diag([2.0, 1.0, 4.0])
    >>> g = np.array([3.0, -0.5, -6.0])
    >>> coef, n_sweeps, converged = solve_penalized_quadratic(H, g, l1=1.0)
    >>> coef, converged
    (array([ 1.  ,  0.  , -1.25]), True)
    """
    H, g, l1, l2, b0, coef = _check_problem(H, g, l1, l2, b0, coef_start, tol, max_sweeps)
    curvature = np.diag(H) + l2
    # Active from the start: coordinates that are already non-zero and those no L1 term can
    # hold at zero (an unpenalised intercept would otherwise wait for the first KKT check).
    active = (coef != 0.0) | ((l1 == 0.0) & (curvature > 0.0))
    n_sweeps, sweeps_converged, converged = 0, False, False
    while True:
        gradient = H @ (coef - b0) - g
        outside = ~active & (np.abs(gradient + l2 * coef) > l1)
        if sweeps_converged and not outside.any():
            converged = True
            if polish:
                exact = _newton_on_support(H, g, b0, coef, l1, l2, curvature, tol)
                coef = coef if exact is None else exact
            break
        active |= outside
        if not active.any():
            converged = True  # every coordinate is zero and satisfies its KKT condition
            break
        if n_sweeps >= max_sweeps:
            break
        index = np.flatnonzero(active)
        values = coef[index].tolist()
        done, sweeps_converged = _sweep_active(
            H[np.ix_(index, index)],
            values,
            np.ascontiguousarray(gradient[index]),
            l1[index].tolist(),
            curvature[index].tolist(),
            tol,
            min(STALL_SWEEPS, max_sweeps - n_sweeps),
        )
        coef[index] = values
        n_sweeps += done
        if not sweeps_converged:
            exact = _newton_on_support(H, g, b0, coef, l1, l2, curvature, tol)
            if exact is not None:
                coef, converged = exact, True
                break
    # Q is unbounded below along a coordinate without curvature whose slope beats its L1 term.
    unbounded = (curvature == 0.0) & (np.abs(g) > l1)
    return CoordinateDescentResult(coef, n_sweeps, converged and not unbounded.any())
