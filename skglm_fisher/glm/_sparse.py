"""L1/L2-penalised GLMs by coordinate-wise proximal Fisher scoring, as ``tfp.glm.fit_sparse``.

Objective (TFP's; every column is penalised, the constant column too, and the ridge term is
not halved)::

    NLL(b) + l1·||b||₁ + l2·||b||₂²

One outer step (:func:`fit_sparse_one_step`) at ``b0``, with ``(mu, var, m') = model(X b0)``:
the gradient ``grad = -Xᵀ v``, ``v = (y - mu)·m'/var``, and the Fisher middle ``h = m'²/var``
(rows whose ``m'`` is zero or not finite, whose ``var`` is not positive and finite or whose
``mu`` is not finite get ``v = h = 0``). The update ``d`` (start 0) is then swept coordinate by
coordinate, ``j = 0, …, p-1`` per sweep, keeping ``Hd = (Xᵀ diag(h) X + 2·l2·I) d``::

    newton = -lr·(grad_j + 2·l2·b0_j + Hd_j) / D_j
    delta  = S(b0_j + d_j + newton, lr·l1 / D_j) - (b0_j + d_j)     S: soft threshold
    d_j += delta;  Hd += delta·(Xᵀ(h ⊙ X[:, j]) + 2·l2·e_j)

A sweep whose ``Σ delta²`` is below ``tolerance·(1 + ||b0||₂)²`` ends the step as converged;
otherwise the step ends after ``maximum_full_sweeps`` sweeps. :func:`fit_sparse` repeats steps
from the new point until one converges or ``maximum_iterations`` steps have run, and reports
that step's flag. With one sweep per step (the default) a converged step is one that barely
moved the coefficients. With several, a step converges when its sweeps have solved its own
quadratic model, however far that moved the coefficients: from zero with enough sweeps, TFP
stops after one step. This is reproduced, and flagged with a ``ConvergenceWarning`` whenever the
converged last step moved the coefficients by ``sqrt(tolerance)·(1 + ||b||₂)`` or more.

TFP's defect, reproduced
------------------------
TFP's step size ``D_j`` is ``(Σ_i x_ij²)·h_j + 2·l2``: the column's sum of squares times the
Fisher weight of *row* ``j`` (it indexes the per-row middle with the column index), where the
diagonal of the information is ``Σ_i h_i·x_ij²``. The steps are therefore mis-sized, but a fixed
point is still the minimum of the quadratic model, so the outer loop converges to the right
coefficients along TFP's path. It is reproduced so that coefficients, convergence flags and
iteration counts equal TFP's (checked on TensorFlow Probability 0.25 fixtures, to about 1e-15).
When the Fisher weights of the first p rows differ much from the column averages, a ``D_j``
far above the true diagonal makes tiny steps that can pass the convergence test early, and one
far below it overshoots, after which TFP's iteration typically diverges to NaN (an ordinary
200-row Poisson problem in the tests does). The L1 solver of the estimators uses the true
diagonal (:mod:`skglm_fisher.glm._coordinate_descent`).

Departures from TFP
-------------------
- More columns than rows: TFP fails (row ``j`` does not exist for ``j >= n``); here a
  ``ValueError`` says so and points to the estimator's L1 solver.
- ``maximum_iterations=None`` means 100 steps (TFP: unbounded); ``maximum_full_sweeps=None``
  means 1 sweep, TFP's documented default.
- A step that overshoots, i.e. raises the quadratic model of the objective that it minimises
  (``∇·d + ½ dᵀHd + l1·(||b0 + d||₁ - ||b0||₁) > 0``, beyond rounding; exact coordinate steps
  never do), is redone with the true diagonal, with a ``RuntimeWarning``. No step of the TFP
  fixtures overshoots, so their numbers are unchanged; where one does, TFP diverges.
- Where TFP's step size ``D_j`` is zero or not finite (the Fisher weight of row ``j`` is zero,
  e.g. a saturated mean), TFP returns NaN coefficients; here the true diagonal is used for that
  coordinate, with a ``RuntimeWarning``. A coordinate whose true diagonal is zero too has no
  curvature (its column carries no Fisher weight): it is set to 0 when ``l1 > 0`` and left
  unchanged otherwise.
- A mean that is not finite masks its row like an invalid variance (TFP turns it into NaN);
  rows whose mean, variance or its derivative is not finite are reported by a
  ``RuntimeWarning``.
- Batches (``model_matrix`` of shape ``[..., n, p]``) are dense arrays; as in TFP the problems
  advance in lockstep and stop when all have converged. ``model_matrix`` may also be any
  ``scipy.sparse`` matrix of shape ``(n, p)``; the result is the dense one's.
- Arithmetic is float64; the coefficients come back in the floating dtype of the input.
"""

from __future__ import annotations

import numbers
import warnings
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from skglm_fisher.glm._coordinate_descent import soft_threshold
from skglm_fisher.glm._families import ExponentialFamily
from skglm_fisher.glm._fisher import _as_float_array
from skglm_fisher.glm._gram import weighted_gram

__all__ = ["fit_sparse", "fit_sparse_one_step"]

DEFAULT_MAXIMUM_ITERATIONS = 100
#: Up to this many columns the information of a dense step is built whole by BLAS (at most
#: 32 MB a problem): on a dense 100,000 × 50 Poisson problem the fit took 0.6 s against 3.6 s
#: with columns built one by one. Sparse designs keep the columns: on a 100,000 × 1,000 CSR
#: design (0.5% dense, 84 non-zero coefficients) those took 0.8 s against 1.3 s whole.
_FULL_GRAM_MAX_COLUMNS = 2048


class _SparseProblem(NamedTuple):
    """Validated inputs of ``fit_sparse`` that stay fixed across steps.

    Problems are stacked along a leading batch axis of size ``B`` (1 for an unbatched or
    ``scipy.sparse`` design); ``X`` is ``[B, n, p]`` dense or ``(n, p)`` CSC.
    """

    X: np.ndarray | sp.csc_matrix
    y: np.ndarray  # [B, n]
    model: ExponentialFamily
    tolerance: float
    l1: float
    l2: float  # 0.0 for None
    learning_rate: float  # 1.0 for None
    column_squares: np.ndarray  # [B, p]: Σ_i x_ij², the factor of TFP's step size


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------
def _scalar(value, name, *, positive, optional=False):
    if value is None and optional:
        return None
    kind = "positive" if positive else "non-negative"
    array = np.asarray(value)
    if array.ndim != 0 or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must be a {kind} scalar; got {value!r}.")
    value = float(array)
    if not np.isfinite(value) or value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be a {kind} finite scalar; got {value!r}.")
    return value


def _count(value, name, default):
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer or None; got {value!r}.")
    return int(value)


def _check_inputs(
    model_matrix, response, model, model_coefficients_start, tolerance, l1_regularizer,
    l2_regularizer, learning_rate,
):  # fmt: skip
    if not isinstance(model, ExponentialFamily):
        raise ValueError(f"model must be an ExponentialFamily; got {model!r}.")
    if sp.issparse(model_matrix):
        X = sp.csc_matrix(model_matrix, dtype=np.float64)
        if not np.all(np.isfinite(X.data)):
            raise ValueError("model_matrix contains NaN or infinity.")
        dtype = model_matrix.dtype if model_matrix.dtype == np.float32 else np.dtype(np.float64)
        batch, (n, p) = (), X.shape
        column_squares = np.asarray(X.multiply(X).sum(axis=0)).reshape(1, p)
    else:
        X = _as_float_array(model_matrix, "model_matrix")
        if X.ndim < 2:
            raise ValueError(f"model_matrix must have shape [..., n, p]; got shape {X.shape}.")
        dtype = X.dtype
        batch, (n, p) = X.shape[:-2], X.shape[-2:]
        if p > 0:
            X = X.astype(np.float64, copy=False).reshape((-1, n, p))
            column_squares = np.einsum("bnp,bnp->bp", X, X)
    if p == 0:
        raise ValueError("model_matrix has no columns.")
    if p > n:
        raise ValueError(
            f"fit_sparse needs at least as many rows as columns; model_matrix has n={n} rows "
            f"and p={p} columns. TFP's step size for coefficient j uses the Fisher weight of "
            f"row j (a TFP defect reproduced here, see skglm_fisher.glm._sparse), so TFP "
            f"fails on such data. For an L1-penalised fit with more columns than rows use "
            f"the estimator's L1 solver, FisherScoringGLM(l1_ratio=...)."
        )
    y = _as_float_array(response, "response")
    if y.shape != batch + (n,):
        raise ValueError(
            f"response has shape {y.shape}; expected {batch + (n,)} to match model_matrix "
            f"of shape {batch + (n, p)}."
        )
    model.check_response(y)
    b0 = _as_float_array(model_coefficients_start, "model_coefficients_start")
    try:
        b0 = np.broadcast_to(b0, batch + (p,))
    except ValueError:
        raise ValueError(
            f"model_coefficients_start has shape {b0.shape}; expected {batch + (p,)}."
        ) from None
    l2 = _scalar(l2_regularizer, "l2_regularizer", positive=False, optional=True)
    learning_rate = _scalar(learning_rate, "learning_rate", positive=True, optional=True)
    problem = _SparseProblem(
        X=X,
        y=y.astype(np.float64).reshape(-1, n),
        model=model,
        tolerance=_scalar(tolerance, "tolerance", positive=True),
        l1=_scalar(l1_regularizer, "l1_regularizer", positive=False),
        l2=0.0 if l2 is None else l2,
        learning_rate=1.0 if learning_rate is None else learning_rate,
        column_squares=column_squares,
    )
    return problem, b0.astype(np.float64).reshape(-1, p), batch, dtype


# --------------------------------------------------------------------------------------------
# Fisher quantities at the start of a step
# --------------------------------------------------------------------------------------------
def _linear_predictor(X, coef):
    """``X b`` per problem, for ``coef`` of shape [B, p]."""
    if sp.issparse(X):
        return (X @ coef[0])[None, :]
    return np.matmul(X, coef[:, :, None])[:, :, 0]  # batched BLAS matrix-vector products


def _transpose_product(X, rows):
    """``Xᵀ v`` per problem, for ``rows`` of shape [B, n]."""
    if sp.issparse(X):
        return (X.T @ rows[0])[None, :]
    return np.matmul(rows[:, None, :], X)[:, 0, :]


class _Expansion:
    """Gradient and Fisher information of the NLL at the start ``b0`` of one outer step.

    The information ``Xᵀ diag(h) X + 2·l2·I`` is built on the first request for one of its
    columns: whole, by BLAS, for a dense design of at most ``_FULL_GRAM_MAX_COLUMNS`` columns;
    otherwise column by column (O(nnz(X)) each, kept for the step), so that a sparse design
    pays only for the columns that move.
    """

    def __init__(self, problem: _SparseProblem, b0):
        self.problem = problem
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            mean, variance, grad_mean = problem.model(_linear_predictor(problem.X, b0))
            finite = np.isfinite(mean) & np.isfinite(grad_mean) & np.isfinite(variance)
            valid = finite & (grad_mean != 0) & (variance > 0)
            v = np.where(valid, (problem.y - mean) * grad_mean / variance, 0.0)
            self.middle = np.where(valid, np.square(grad_mean) / variance, 0.0)  # h, [B, n]
        if not finite.all():
            warnings.warn(
                f"The mean, variance or its derivative is not finite for "
                f"{np.count_nonzero(~finite)} rows at the current coefficients (their linear "
                f"predictor overflowed: the iteration diverged or the start is extreme); those "
                f"rows are left out of the step, where TFP returns NaN.",
                RuntimeWarning,
                stacklevel=4,
            )
        self.gradient = -_transpose_product(problem.X, v)  # [B, p]
        self._gram = None
        self._columns = {}

    def column(self, j):
        """Column ``j`` of ``Xᵀ diag(h) X + 2·l2·I``, shape [B, p]."""
        X, l2 = self.problem.X, self.problem.l2
        p = X.shape[-1]
        if self._gram is None and not sp.issparse(X) and p <= _FULL_GRAM_MAX_COLUMNS:
            self._gram = np.stack(
                [weighted_gram(x, h) for x, h in zip(X, self.middle, strict=True)]
            )
            self._gram[:, np.arange(p), np.arange(p)] += 2.0 * l2
        if self._gram is not None:
            return self._gram[:, j, :]  # row j: the information is symmetric
        column = self._columns.get(j)
        if column is None:
            if sp.issparse(X):
                weighted = np.zeros((1, X.shape[0]))
                rows = X.indices[X.indptr[j] : X.indptr[j + 1]]
                weighted[0, rows] = self.middle[0, rows] * X.data[X.indptr[j] : X.indptr[j + 1]]
            else:
                weighted = self.middle * X[:, :, j]
            column = _transpose_product(X, weighted)
            column[:, j] += 2.0 * l2
            self._columns[j] = column
        return column

    def tfp_step_sizes(self):
        """TFP's per-coordinate curvature ``D`` [B, p] and the coordinates without any.

        ``D_j = (Σ_i x_ij²)·h_j + 2·l2`` (the defect of the module docstring). Where it is zero
        or not finite, the true diagonal replaces it (with a warning).
        """
        problem = self.problem
        p = problem.column_squares.shape[-1]
        with np.errstate(over="ignore", invalid="ignore"):
            sizes = problem.column_squares * self.middle[:, :p] + 2.0 * problem.l2
        bad = ~(np.isfinite(sizes) & (sizes > 0))
        if bad.any():
            true_diagonal = self._true_diagonal()
            sizes = np.where(bad, true_diagonal, sizes)
            missing = np.flatnonzero(bad.any(axis=0) & (true_diagonal > 0).any(axis=0))
            if missing.size:
                warnings.warn(
                    f"TFP's step size is zero or not finite for coefficients {missing.tolist()} "
                    f"(the Fisher weight of the row with the same index is zero, e.g. a "
                    f"saturated mean), where TFP returns NaN; the true diagonal of the Fisher "
                    f"information is used for them.",
                    RuntimeWarning,
                    stacklevel=4,
                )
        return _flag_flat(sizes)

    def true_step_sizes(self):
        """The diagonal of ``Xᵀ diag(h) X + 2·l2·I`` [B, p] and the coordinates without any."""
        return _flag_flat(self._true_diagonal())

    def _true_diagonal(self):
        X, h = self.problem.X, self.middle
        if sp.issparse(X):
            diagonal = (X.multiply(X).T @ h[0])[None, :]
        else:
            diagonal = np.einsum("bnp,bn,bnp->bp", X, h, X)
        return diagonal + 2.0 * self.problem.l2


def _flag_flat(sizes):
    """Flag coordinates without curvature; their ``D`` becomes 1 to keep the arithmetic finite."""
    flat = ~(sizes > 0)
    return np.where(flat, 1.0, sizes), flat


# --------------------------------------------------------------------------------------------
# One outer step
# --------------------------------------------------------------------------------------------
class _Sweeps(NamedTuple):
    update: np.ndarray  # d, [B, p]
    hessian_update: np.ndarray  # (Xᵀ diag(h) X + 2·l2·I) d, [B, p]
    converged: np.ndarray  # per problem: the last sweep met the tolerance, [B]
    sweeps: int


def _sweep(problem: _SparseProblem, expansion: _Expansion, b0, step_sizes, maximum_full_sweeps):
    """TFP's coordinate sweeps of one outer step with the given ``(D, flat)``."""
    sizes, flat = step_sizes
    lr, l1 = problem.learning_rate, problem.l1
    gradient = expansion.gradient + 2.0 * problem.l2 * b0
    thresholds = lr * l1 / sizes
    # TFP: ||d_end - d_start||² / (1 + ||b0||)² < tolerance, checked after each full sweep.
    limit = problem.tolerance * np.square(1.0 + np.linalg.norm(b0, axis=-1))
    n_problems, p = b0.shape
    update = np.zeros((n_problems, p))
    hessian_update = np.zeros((n_problems, p))
    any_flat = bool(flat.any())
    sweeps = 0
    while sweeps < maximum_full_sweeps:
        sweeps += 1
        squared_change = np.zeros(n_problems)
        for j in range(p):
            old = b0[:, j] + update[:, j]
            newton = -lr * (gradient[:, j] + hessian_update[:, j]) / sizes[:, j]
            delta = soft_threshold(old + newton, thresholds[:, j]) - old
            if any_flat:  # no curvature (module docstring): 0 under an L1 penalty, else kept
                delta = np.where(flat[:, j], -old if l1 > 0 else 0.0, delta)
            if np.any(delta != 0.0):
                update[:, j] += delta
                hessian_update += delta[:, None] * expansion.column(j)
                squared_change += np.square(delta)
        converged = squared_change < limit
        if converged.all():
            break
    return _Sweeps(update, hessian_update, converged, sweeps)


def _model_increased(problem: _SparseProblem, expansion: _Expansion, b0, sweeps: _Sweeps):
    """Per problem: did the step raise the penalised quadratic model it minimises?

    The model of the objective's change is ``∇·d + ½ dᵀ H d + l1·(||b0 + d||₁ - ||b0||₁)``
    with ``∇`` the gradient including the ridge term and ``H d`` kept by the sweeps. Exact
    coordinate steps never raise it; TFP's mis-sized ones do when they overshoot. Increases
    within 1e-10 of the size of the terms are rounding.
    """
    d = sweeps.update
    linear = np.sum((expansion.gradient + 2.0 * problem.l2 * b0) * d, axis=-1)
    quadratic = 0.5 * np.sum(d * sweeps.hessian_update, axis=-1)
    l1_change = problem.l1 * (np.abs(b0 + d).sum(axis=-1) - np.abs(b0).sum(axis=-1))
    size = np.abs(linear) + np.abs(quadratic) + problem.l1 * np.abs(d).sum(axis=-1)
    return linear + quadratic + l1_change > 1e-10 * size


def _one_step(problem: _SparseProblem, b0, maximum_full_sweeps):
    """One outer step from ``b0`` [B, p]; returns ``(b, is_converged, sweeps_run)``."""
    expansion = _Expansion(problem, b0)
    result = _sweep(problem, expansion, b0, expansion.tfp_step_sizes(), maximum_full_sweeps)
    overshot = _model_increased(problem, expansion, b0, result)
    if overshot.any():
        warnings.warn(
            "TFP's step sizes made this step overshoot: it raised the quadratic model of the "
            "objective that it minimises (the step size of coefficient j uses the Fisher weight "
            "of row j, see skglm_fisher.glm._sparse), from where TFP's iteration typically "
            "diverges. The step was redone with the true diagonal of the Fisher information.",
            RuntimeWarning,
            stacklevel=3,
        )
        safe = _sweep(problem, expansion, b0, expansion.true_step_sizes(), maximum_full_sweeps)
        update = np.where(overshot[:, None], safe.update, result.update)
        converged = np.where(overshot, safe.converged, result.converged)
        return b0 + update, bool(converged.all()), float(max(result.sweeps, safe.sweeps))
    return b0 + result.update, bool(result.converged.all()), float(result.sweeps)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------
def fit_sparse_one_step(
    model_matrix,
    response,
    model,
    model_coefficients_start,
    tolerance,
    l1_regularizer,
    l2_regularizer=None,
    maximum_full_sweeps=None,
    learning_rate=None,
    name=None,
):
    """Run one outer step of L1/L2-penalised Fisher scoring, as ``tfp.glm.fit_sparse_one_step``.

    Takes :func:`fit_sparse`'s arguments, with ``maximum_full_sweeps`` in place of
    ``maximum_iterations`` and ``maximum_full_sweeps_per_iteration``. The Fisher information is
    evaluated at ``model_coefficients_start``. See the module docstring for the algorithm, the
    TFP defect it reproduces and the departures from TFP.

    Parameters
    ----------
    maximum_full_sweeps : int, optional
        Bound on the coordinate sweeps; None means 1.

    Returns
    -------
    model_coefficients : ndarray of shape [..., p]
        ``b0`` plus the update.
    is_converged : bool
        Whether the last sweep met the tolerance (for every problem of a batch).
    iter : float
        The sweeps run (TFP: coordinate updates divided by ``p``).

    Examples
    --------
    >>> import numpy as np
    >>> from skglm_fisher import glm
    >>> rng = np.random.default_rng(0)
    >>> X = np.column_stack([np.ones(200), rng.normal(size=(200, 3))])
    >>> y = rng.poisson(np.exp(X @ [0.5, 0.4, 0.0, -0.3])).astype(float)
    >>> coef, converged, sweeps = glm.fit_sparse_one_step(
    ...     X, y, glm.Poisson(), np.zeros(4), tolerance=1e-8, l1_regularizer=5.0,
    ...     maximum_full_sweeps=50)
    >>> bool(converged), sweeps
    (True, 4.0)
    >>> np.round(coef, 2)  # the minimum of the quadratic model at zero, not yet the fit
    array([ 0.8 ,  0.65,  0.  , -0.46])
    """
    problem, b0, batch, dtype = _check_inputs(
        model_matrix, response, model, model_coefficients_start, tolerance, l1_regularizer,
        l2_regularizer, learning_rate,
    )  # fmt: skip
    sweeps = _count(maximum_full_sweeps, "maximum_full_sweeps", 1)
    coef, converged, sweeps_run = _one_step(problem, b0, sweeps)
    return coef.reshape(batch + coef.shape[-1:]).astype(dtype, copy=False), converged, sweeps_run


def fit_sparse(
    model_matrix,
    response,
    model,
    model_coefficients_start,
    tolerance,
    l1_regularizer,
    l2_regularizer=None,
    maximum_iterations=None,
    maximum_full_sweeps_per_iteration=1,
    learning_rate=None,
    name=None,
):
    """Fit an L1/L2-penalised GLM by proximal Fisher scoring, as ``tfp.glm.fit_sparse``.

    Minimises ``NLL(b) + l1·||b||₁ + l2·||b||₂²`` by repeating :func:`fit_sparse_one_step` from
    the new coefficients until a step converges or ``maximum_iterations`` steps have run. There
    is no intercept: a column of ones is penalised like any other. See the module docstring for
    the TFP defect reproduced and the departures from TFP.

    Parameters
    ----------
    model_matrix : array of shape [..., n, p] or scipy.sparse matrix of shape (n, p)
        Design matrix ``X`` with ``n >= p``; leading dimensions are problems fitted together.
    response : array of shape [..., n]
        Observed responses ``y``.
    model : ExponentialFamily
        The family, e.g. ``skglm_fisher.glm.Bernoulli()``.
    model_coefficients_start : array of shape [..., p]
        Starting coefficients.
    tolerance : float
        Positive; a step converges when one of its sweeps changes the coefficients by
        ``||Δb||₂ / (1 + ||b0||₂) < sqrt(tolerance)``, ``b0`` the coefficients at its start.
    l1_regularizer : float
        Non-negative weight of ``||b||₁``.
    l2_regularizer : float, optional
        Non-negative weight of ``||b||₂²`` (not halved); None means 0.
    maximum_iterations : int, optional
        Bound on the outer steps; None means 100 (TFP: unbounded).
    maximum_full_sweeps_per_iteration : int, default=1
        Bound on the coordinate sweeps of each step.
    learning_rate : float, optional
        Positive damping of every coordinate step; None means 1.
    name : str, optional
        Ignored; kept for TFP compatibility.

    Returns
    -------
    model_coefficients : ndarray of shape [..., p]
    is_converged : bool
        Whether the last step converged (for every problem of a batch).
    iter : int
        The outer steps run.

    Examples
    --------
    >>> import numpy as np
    >>> from skglm_fisher import glm
    >>> rng = np.random.default_rng(0)
    >>> X = np.column_stack([np.ones(500), rng.normal(size=(500, 4))])
    >>> y = (rng.random(500) < 1 / (1 + np.exp(-X @ [0.0, 1.5, 0.0, -1.0, 0.0]))).astype(float)
    >>> coef, converged, steps = glm.fit_sparse(
    ...     X, y, glm.Bernoulli(), np.zeros(5), tolerance=1e-8, l1_regularizer=30.0)
    >>> bool(converged), steps
    (True, 7)
    >>> np.flatnonzero(coef), np.round(coef[coef != 0], 2)
    (array([1, 3]), array([ 0.98, -0.49]))
    """
    problem, coef, batch, dtype = _check_inputs(
        model_matrix, response, model, model_coefficients_start, tolerance, l1_regularizer,
        l2_regularizer, learning_rate,
    )  # fmt: skip
    steps = _count(maximum_iterations, "maximum_iterations", DEFAULT_MAXIMUM_ITERATIONS)
    sweeps = _count(maximum_full_sweeps_per_iteration, "maximum_full_sweeps_per_iteration", 1)
    converged, iteration, previous = False, 0, coef
    while not converged and iteration < steps:
        previous = coef
        coef, converged, _ = _one_step(problem, coef, sweeps)
        iteration += 1
    if converged and sweeps > 1:
        _warn_if_last_step_moved(previous, coef, problem.tolerance)
    return coef.reshape(batch + coef.shape[-1:]).astype(dtype, copy=False), converged, iteration


def _warn_if_last_step_moved(previous, coef, tolerance):
    """Flag TFP's convergence when the converged last step still moved the coefficients.

    TFP's flag means that the *sweeps* of the last step converged. With one sweep per step
    that sweep is the whole step, so the coefficients stopped moving; with several, the step
    may have converged to the minimum of its quadratic model far from the start of the step
    (from zero, with enough sweeps, TFP stops after one step).
    """
    change = np.linalg.norm(coef - previous, axis=-1) / (1.0 + np.linalg.norm(previous, axis=-1))
    if np.any(change >= np.sqrt(tolerance)):
        warnings.warn(
            f"fit_sparse reports convergence as TFP does (the sweeps of the last step "
            f"converged), but that step moved the coefficients by ||Δb|| / (1 + ||b||) = "
            f"{change.max():.3g} >= sqrt(tolerance) = {np.sqrt(tolerance):.3g}: they minimise "
            f"the last quadratic model and may not be the optimum. Continue from them, or use "
            f"maximum_full_sweeps_per_iteration=1, with which convergence means the "
            f"coefficients stopped moving.",
            ConvergenceWarning,
            stacklevel=3,
        )
