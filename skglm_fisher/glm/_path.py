"""Regularisation paths of elastic-net GLMs: warm starts down a grid of alphas, strong rules.

Conventions
-----------
The objective at each ``alpha`` is the estimators' (scikit-learn's and glum's):

    1/(2·Σs) · Σ_i s_i · unit_deviance_i
        + alpha · (l1_ratio · ||pf ⊙ coef||₁ + (1 - l1_ratio)/2 · ||pf ⊙ coef||²)

with the intercept unpenalised; it is solved by
:class:`~skglm_fisher.glm._l1_solver.L1IRLSSolver` in its scaling (times ``Σs``).

The path
--------
- *Null model and alpha_max.* With every penalised coefficient at zero, the intercept and the
  unpenalised columns (``pf = 0``) are fitted alone; ``alpha_max`` is the smallest alpha at
  which that point is optimal: ``max_j |G_j| / (l1_ratio · pf_j · Σs)`` over the penalised
  columns, with ``G`` the score there (each column's KKT condition holds with equality).
- *Grid.* ``n_alphas`` values spaced evenly on a log scale from ``alpha_max`` down to
  ``min_alpha_ratio · alpha_max`` (glmnet's and scikit-learn's default grid), or the alphas
  given, in decreasing order.
- *Warm starts.* Each fit starts from the previous solution, with its score and working-set
  information: no extra pass over the rows per alpha.
- *Strong rules* (Tibshirani et al., 2012, sequential form). At ``alpha_k`` a zero coefficient
  is unlikely to enter if ``|G_j(alpha_{k-1})| < l1_ratio · pf_j · Σs · (2·alpha_k -
  alpha_{k-1})``; the columns not screened out this way join the working set, whose
  information the solver computes. The rule can fail, so the solver re-checks every column's
  KKT condition at every pass from the score of all columns, adds violators, and converges
  only when none is left.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from skglm_fisher.glm._design import is_dask_array, make_design
from skglm_fisher.glm._families import ExponentialFamily
from skglm_fisher.glm._fisher import _as_float_array
from skglm_fisher.glm._l1_solver import L1IRLSSolver
from skglm_fisher.glm._penalties import L1Penalty
from skglm_fisher.glm._solver import IRLSProblem
from skglm_fisher.glm._start import intercept_only_fit

__all__ = ["RegularizationPath", "alpha_grid", "path_on_design", "regularization_path"]

#: L1 weight that holds a coefficient at zero while the null model is fitted: finite (the
#: solver refuses infinite weights) and beyond any score a double can hold.
_HOLD_AT_ZERO = 1e300


class RegularizationPath(NamedTuple):
    """Result of :func:`regularization_path`.

    Attributes
    ----------
    alphas : ndarray of shape (n_alphas,)
        Decreasing.
    intercepts : ndarray of shape (n_alphas,)
        0 without an intercept.
    coefs : ndarray of shape (n_alphas, n_features)
    deviances : ndarray of shape (n_alphas,)
        ``Σ s_i · unit_deviance_i`` of each fit.
    n_iter : ndarray of shape (n_alphas,)
        Fisher scoring steps (passes over the rows) of each fit.
    converged : ndarray of shape (n_alphas,), bool
        Whether each fit met the optimality (KKT) conditions.
    alpha_max : float
        The smallest alpha whose solution has every penalised coefficient at zero.
    """

    alphas: np.ndarray
    intercepts: np.ndarray
    coefs: np.ndarray
    deviances: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray
    alpha_max: float


def alpha_grid(alpha_max, n_alphas=100, min_alpha_ratio=1e-3) -> np.ndarray:
    """``n_alphas`` values from ``alpha_max`` down to ``min_alpha_ratio · alpha_max``, evenly
    spaced on a log scale.

    Examples
    --------
    >>> alpha_grid(1.0, n_alphas=3, min_alpha_ratio=0.01)
    array([1.  , 0.1 , 0.01])
    """
    if not alpha_max > 0:
        # A response the null model fits exactly: every alpha gives the null model.
        alpha_max = np.finfo(np.float64).resolution
    return np.geomspace(alpha_max, alpha_max * min_alpha_ratio, n_alphas)


def regularization_path(X, y, family, *, l1_ratio=1.0, n_alphas=100, min_alpha_ratio=1e-3,
                        alphas=None, sample_weight=None, offset=None, fit_intercept=True,
                        penalty_factor=None, tol=1e-8, max_iter=100):  # fmt: skip
    """Elastic-net GLM fits along a decreasing grid of penalty strengths.

    Minimises, for each ``alpha``, the estimators' objective (that of
    :class:`~skglm_fisher.FisherScoringGLM` with ``l1_ratio``, scikit-learn's ``ElasticNet``
    for the normal family, glum's for all)::

        1/(2·Σs) · Σ_i s_i · unit_deviance_i
            + alpha · (l1_ratio · ||pf ⊙ coef||₁ + (1 - l1_ratio)/2 · ||pf ⊙ coef||²)

    by Fisher scoring with coordinate-descent steps, each fit warm-started from the previous
    one, with sequential strong rules screening the columns and a KKT check of every column
    at every pass (see the user guide's page on sparse models).

    Parameters
    ----------
    X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    family : ExponentialFamily
        E.g. ``glm.Poisson()``, ``glm.Bernoulli()``, ``glm.Normal()``.
    l1_ratio : float in [0, 1], default=1.0
        1 is the lasso. With 0 (the ridge) there is no ``alpha_max``: give ``alphas``.
    n_alphas : int, default=100
        Length of the grid when ``alphas`` is None.
    min_alpha_ratio : float in (0, 1), default=1e-3
        Smallest alpha of the grid, relative to ``alpha_max``.
    alphas : array-like of positive floats, optional
        The alphas to fit (sorted in decreasing order); by default the grid above.
    sample_weight, offset : array-like of shape (n_samples,), optional
    fit_intercept : bool, default=True
    penalty_factor : array-like of shape (n_features,), optional
        Non-negative ``pf`` per feature (ones by default); 0 leaves a feature unpenalised.
    tol : float, default=1e-8
        Convergence tolerance of each fit, as the estimator's: a point is returned when the
        decrease a further step predicts and its scaled KKT violations are below
        ``tol · (2F + 0.1)`` in the objective ``F`` times ``Σs``, so its objective is within
        about ``tol`` (relative) of the optimum. Unlike the estimator, the path does not take
        that last step (it would cost a pass per point): coefficients agree with
        :class:`~skglm_fisher.FisherScoringGLM`'s to about ``sqrt(tol)`` (relative).
    max_iter : int, default=100
        Fisher scoring steps per alpha.

    Returns
    -------
    RegularizationPath
        ``(alphas, intercepts, coefs, deviances, n_iter, converged, alpha_max)``, ``coefs`` of
        shape ``(n_alphas, n_features)``. A fit that stops short of the KKT conditions is
        flagged in ``converged`` and reported by one ``ConvergenceWarning``.

    Examples
    --------
    >>> import numpy as np
    >>> from skglm_fisher import glm
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(1000, 5))
    >>> y = rng.poisson(np.exp(0.2 + X @ [0.4, -0.3, 0.0, 0.0, 0.1]))
    >>> path = glm.regularization_path(X, y, glm.Poisson(), n_alphas=4, min_alpha_ratio=0.01)
    >>> np.round(path.alphas, 4)
    array([0.6043, 0.1302, 0.028 , 0.006 ])
    >>> (path.coefs != 0).sum(axis=1)
    array([0, 3, 4, 4])
    """
    if not isinstance(family, ExponentialFamily):
        raise ValueError(f"family must be an ExponentialFamily instance; got {family!r}.")
    design = _validated_design(X, y, sample_weight, offset, family)
    if not isinstance(fit_intercept, (bool, np.bool_)):
        raise ValueError(f"fit_intercept must be a bool; got {fit_intercept!r}.")
    for name, value, low in (("tol", tol, 0.0), ("min_alpha_ratio", min_alpha_ratio, 0.0)):
        if not isinstance(value, Real) or not (np.isfinite(value) and value > low):
            raise ValueError(f"{name} must be a positive number; got {value!r}.")
    if not min_alpha_ratio < 1:
        raise ValueError(f"min_alpha_ratio must lie in (0, 1); got {min_alpha_ratio!r}.")
    for name, value in (("n_alphas", n_alphas), ("max_iter", max_iter)):
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    pf = check_penalty_factor(penalty_factor, design.n_features)
    return path_on_design(
        design, family, l1_ratio=l1_ratio, penalty_factor=pf, alphas=alphas,
        n_alphas=n_alphas, min_alpha_ratio=min_alpha_ratio, fit_intercept=fit_intercept,
        tol=float(tol), max_iter=int(max_iter),
    )  # fmt: skip


def check_penalty_factor(penalty_factor, n_features, name="penalty_factor") -> np.ndarray:
    """``pf`` as a float64 vector of ``n_features`` finite, non-negative values (ones for None)."""
    if penalty_factor is None:
        return np.ones(n_features)
    pf = np.asarray(penalty_factor, dtype=np.float64).ravel()
    if pf.shape != (n_features,):
        raise ValueError(f"{name} has {pf.size} entries; expected n_features={n_features}.")
    if not np.all(np.isfinite(pf)) or np.any(pf < 0):
        raise ValueError(f"{name} must be finite and non-negative.")
    return pf


def check_alphas(alphas) -> np.ndarray:
    """Given alphas as a decreasing float64 vector of positive finite values."""
    alphas = np.asarray(alphas, dtype=np.float64).ravel()
    if alphas.size == 0 or not np.all(np.isfinite(alphas)) or np.any(alphas <= 0):
        raise ValueError("alphas must be a non-empty sequence of positive, finite numbers.")
    return np.sort(alphas)[::-1]


def check_l1_ratio(l1_ratio, alphas) -> float:
    if not isinstance(l1_ratio, Real) or not 0.0 <= l1_ratio <= 1.0:
        raise ValueError(f"l1_ratio must lie in [0, 1]; got {l1_ratio!r}.")
    if l1_ratio == 0 and alphas is None:
        raise ValueError(
            "l1_ratio=0 (the ridge) has no alpha_max, the smallest alpha that sets every "
            "coefficient to zero: give the grid as alphas=..."
        )
    return float(l1_ratio)


def path_on_design(design, family, *, l1_ratio, penalty_factor, alphas, n_alphas,
                   min_alpha_ratio, fit_intercept, tol, max_iter):  # fmt: skip
    """:func:`regularization_path` on a design already built from validated rows (the
    cross-validation estimator's folds); ``penalty_factor`` is a validated vector."""
    l1_ratio = check_l1_ratio(l1_ratio, alphas)
    if alphas is not None:
        alphas = check_alphas(alphas)
    path = _Path(design, family, l1_ratio, penalty_factor, fit_intercept, tol, max_iter)
    start = path.null_solver()
    alpha_max = path.alpha_max(start)
    if alphas is None:
        if np.isnan(alpha_max):
            raise ValueError(
                "Every penalty factor is zero: no alpha sets the coefficients to zero, so there "
                "is no alpha_max to start a grid from; give alphas=..."
            )
        alphas = alpha_grid(alpha_max, n_alphas, min_alpha_ratio)
    return path.run(alphas, start, alpha_max)


def path_alpha_max(design, family, *, l1_ratio, penalty_factor, fit_intercept, tol=1e-8,
                   max_iter=100) -> float:  # fmt: skip
    """``alpha_max`` of the rows of ``design`` (see the module docstring)."""
    path = _Path(design, family, check_l1_ratio(l1_ratio, None), penalty_factor, fit_intercept,
                 tol, max_iter)  # fmt: skip
    return path.alpha_max(path.null_solver())


__all__ += ["check_alphas", "check_l1_ratio", "check_penalty_factor", "path_alpha_max"]


# --------------------------------------------------------------------------------------------
class _Path:
    """The fixed parts of one path: rows, family, and the penalty per unit of alpha."""

    def __init__(self, design, family, l1_ratio, pf, fit_intercept, tol, max_iter):
        self.design = design
        self.fit_intercept = bool(fit_intercept)
        _, sum_weights = design.row_totals(family)
        pad = [0.0] if fit_intercept else []
        # Per unit of alpha, in the solver's scaling (the objective times Σs).
        self.l1_unit = np.concatenate([pad, l1_ratio * sum_weights * pf])
        self.l2_unit = np.concatenate([pad, (1.0 - l1_ratio) * sum_weights * pf**2])
        self.penalised = self.l1_unit > 0
        self.base = IRLSProblem(design, family, penalty=np.zeros(self.l1_unit.size),
                                fit_intercept=fit_intercept, tol=tol, max_iter=max_iter,
                                null_model=False, l1=L1Penalty(self.l1_unit))  # fmt: skip

    def problem(self, alpha):
        return replace(self.base, penalty=alpha * self.l2_unit,
                       l1=L1Penalty(alpha * self.l1_unit))  # fmt: skip

    def null_solver(self) -> L1IRLSSolver:
        """A solver at the null model: the penalised coefficients held at zero, the intercept
        and unpenalised columns fitted."""
        held = np.where(self.penalised, _HOLD_AT_ZERO, 0.0)
        problem = replace(self.base, l1=L1Penalty(held))
        q = self.l1_unit.size
        start = np.zeros(q)
        if self.fit_intercept:
            null = intercept_only_fit(self.design, problem.family)
            if null.intercept is None or not null.finite:
                raise ValueError(
                    f"The intercept-only {problem.family.name} model has no finite maximum "
                    "likelihood on these rows (e.g. all-zero counts, or a single class): every "
                    "point of the path would have an infinite intercept."
                )
            start[0] = null.intercept
        solver = L1IRLSSolver(problem, working=np.zeros(q, dtype=bool))
        solver.setup(start, exclusive=True)
        if np.any(~self.penalised[int(self.fit_intercept) :]):
            solver.iterate()  # fit the unpenalised columns too
        return solver

    def alpha_max(self, null: L1IRLSSolver) -> float:
        """NaN without an L1 term (the ridge, or every penalty factor zero)."""
        if not self.penalised.any():
            return np.nan
        gradient = np.abs(null.state.gradient[self.penalised])
        return float(np.max(gradient / self.l1_unit[self.penalised]))

    def run(self, alphas, previous: L1IRLSSolver, alpha_max) -> RegularizationPath:
        n_alphas, q = len(alphas), self.l1_unit.size
        coefs = np.zeros((n_alphas, q))
        deviances, n_iter = np.zeros(n_alphas), np.zeros(n_alphas, dtype=int)
        converged = np.zeros(n_alphas, dtype=bool)
        alpha_previous = alphas[0] if np.isnan(alpha_max) else max(alpha_max, alphas[0])
        for k, alpha in enumerate(alphas):
            solver = L1IRLSSolver(self.problem(alpha))
            # Sequential strong rule, from the gradient at the previous solution.
            gradient = np.abs(previous.state.gradient)
            strong = self.penalised & (gradient >= self.l1_unit * (2 * alpha - alpha_previous))
            solver.resume(previous, requested=strong)
            solver.iterate()
            st = solver.state
            coefs[k], deviances[k], n_iter[k] = st.coef, st.deviance, st.n_iter
            converged[k] = st.converged
            previous, alpha_previous = solver, alpha
        if not converged.all():
            warnings.warn(
                f"{np.count_nonzero(~converged)} of {n_alphas} fits of the path did not meet "
                f"the optimality (KKT) conditions within max_iter={self.base.max_iter} steps "
                f"(the largest such alpha is {alphas[~converged][0]:.4g}); increase max_iter.",
                ConvergenceWarning,
                stacklevel=4,
            )
        intercepts = coefs[:, 0].copy() if self.fit_intercept else np.zeros(n_alphas)
        return RegularizationPath(
            alphas=np.asarray(alphas, dtype=np.float64),
            intercepts=intercepts,
            coefs=coefs[:, int(self.fit_intercept):],
            deviances=deviances,
            n_iter=n_iter,
            converged=converged,
            alpha_max=float(alpha_max),
        )


def _validated_design(X, y, sample_weight, offset, family):
    """The design of validated inputs of :func:`regularization_path`."""
    if is_dask_array(X):
        return make_design(X, y, offset, sample_weight)  # blocks are checked on the workers
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        if not np.all(np.isfinite(X.data)):
            raise ValueError("X contains NaN or infinity.")
    else:
        X = _as_float_array(X, "X")
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-dimensional; got shape {X.shape}.")
    n = X.shape[0]
    y = _as_float_array(y, "y").astype(np.float64, copy=False)
    if y.shape != (n,):
        raise ValueError(f"y has shape {y.shape}; expected ({n},).")
    family.check_response(y)
    vectors = []
    for name, value in (("sample_weight", sample_weight), ("offset", offset)):
        if value is not None:
            value = _as_float_array(value, name).astype(np.float64, copy=False)
            if value.shape != (n,):
                raise ValueError(f"{name} has shape {value.shape}; expected ({n},).")
        vectors.append(value)
    sample_weight, offset = vectors
    if sample_weight is not None and (np.any(sample_weight < 0) or not sample_weight.any()):
        raise ValueError("sample_weight must be non-negative with at least one positive entry.")
    return make_design(X, y, offset, sample_weight)
