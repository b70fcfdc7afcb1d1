"""Fisher scoring (iteratively reweighted least squares) with ``tfp.glm`` semantics.

One step, at the linear predictor ``eta0`` with ``(mu, var, g) = model(eta0)``::

    z  = eta0 - offset + learning_rate · (y - mu) / g        working response
    w  = g / sqrt(dispersion · var) · sqrt(sample_weight)   square-root Fisher weights
    b1 = argmin ||w ⊙ (X b - z)||² + l2 · ||pf ⊙ b||²

solved by a Cholesky factorisation of ``Xᵀ diag(w²) X + l2 · diag(pf²)`` (``fast_unsafe_numerics``)
or by orthogonal least squares on the stacked system. The penalty TFP minimises is therefore
``NLL / dispersion + (l2 / 2)·||pf ⊙ b||²``, with ``pf`` entering squared.

Where this module departs from TFP (each is tested against the TFP behaviour):

- With ``learning_rate < 1`` and ``l2 > 0``, TFP's iteration converges to the optimum of
  ``l2 / learning_rate``. Here the damping applies to the full penalised step,
  ``b1 = b0 + r·(b_newton - b0)``, whose fixed point is the optimum of ``l2``; it is TFP's step
  whenever ``l2 = 0`` or ``learning_rate = 1``.
- TFP zeroes the weight of rows whose mean, variance or gradient is not finite but keeps their
  working response, so one overflowed mean turns every coefficient into NaN. Both are masked here.
- :func:`fit` stops after ``maximum_iterations`` (default 100; ``None`` means 10,000); TFP's
  loop is unbounded.
- :func:`fit` halves a step whose penalised negative log-likelihood rises or turns non-finite,
  as R's ``glm.fit`` does (TFP takes every full step; where TFP's steps decrease the objective,
  which is the usual case and that of every fixture, the numbers are TFP's). So a Poisson
  response near 1e12 from the zero start converges where TFP's first step overflows.
- A step or start at which no row has a finite, positive Fisher weight (the mean overflowed
  everywhere, separated data whose probabilities all reached 0 or 1, an invalid start such as
  ``eta = 0`` for ``1/eta``) is reported: :func:`fit_one_step` and the first step of
  :func:`fit` raise ``ValueError``; a later step of :func:`fit` stops the loop with a
  ``ConvergenceWarning`` and returns the last coefficients, not converged. TFP returns zeros.
- Sample weights (absent from TFP) multiply the squared Fisher weights.
"""

from __future__ import annotations

import warnings
from numbers import Integral
from typing import NamedTuple

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from skglm_fisher.exceptions import SingularInformationWarning
from skglm_fisher.glm._blas import single_threaded_blas
from skglm_fisher.glm._families import ExponentialFamily
from skglm_fisher.glm._gram import weighted_gram
from skglm_fisher.glm._linalg import cholesky_factor
from skglm_fisher.glm._row_terms import RowTerms, warn_boundary

__all__ = [
    "fit",
    "fit_one_step",
    "convergence_criteria_small_relative_norm_weights_change",
]

DEFAULT_MAXIMUM_ITERATIONS = 100


# --------------------------------------------------------------------------------------------
# Linear algebra
# --------------------------------------------------------------------------------------------
def _solve_normal_equations(gram, rhs):
    """Solve ``gram @ b = rhs`` by an equilibrated Cholesky factor; None where it is singular,
    ill-conditioned or not finite (the caller then solves the least-squares problem by QR)."""
    with single_threaded_blas():
        factor = cholesky_factor(gram)
        if factor is None or not factor.usable_for_step():
            return None
        return factor.solve(rhs)


def _working_quantities(model, y, eta0, offset, learning_rate, dispersion, sample_weight):
    """Return the square-root weights ``w`` and working response ``z`` of one Fisher step.

    Both come from the loss of the family in ``eta``,
    :class:`~skglm_fisher.losses.GLMNegativeLogProbLoss`: ``w`` is the diagonal of its Fisher
    factor, ``g / sqrt(dispersion · var) · sqrt(sample_weight)``, and the step is its gradient
    divided by its Fisher weight ``w²``, ``z = eta0 - offset - r · gradient / w²``, which is TFP's
    ``eta0 - offset + r · (y - mu) / g`` (the quasi-likelihood gradient is used, so LogNormal
    steps as TFP does). Rows whose mean, variance or gradient are not finite, whose variance or
    gradient are zero, or whose weight is zero get weight 0 and working response 0, so they drop
    out of the step.
    """
    # Imported here: skglm_fisher.losses imports the families of this package, so importing it
    # while this package initialises would be circular.
    from skglm_fisher.losses._glm import GLMNegativeLogProbLoss

    loss = GLMNegativeLogProbLoss(
        eta0, model, y, dispersion=dispersion, sample_weight=sample_weight, check_input=False
    )
    with np.errstate(all="ignore"):
        mean, variance, grad_mean = loss.moments
    valid = (
        np.isfinite(mean)
        & np.isfinite(grad_mean)
        & (grad_mean != 0)
        & np.isfinite(variance)
        & (variance > 0)
    )
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        w = loss.fisher_factor_diagonal()
        fisher_weight = np.square(w)
        z = loss.quasi_gradient()  # a fresh array: the working response is built in it
        z /= fisher_weight
        if learning_rate is not None:
            z *= learning_rate
        np.subtract(eta0, z, out=z)
        if offset is not None:
            z -= offset
    z[~(valid & (fisher_weight > 0))] = 0.0
    return np.where(valid, w, 0.0), z


def _solve_step(X, w, z, penalty, prior, fast):
    """Minimise ``||w ⊙ (X b - z)||² + ||sqrt(penalty) ⊙ (b - prior)||²`` for one problem.

    ``penalty`` holds ``l2 · pf²`` per coefficient (or is None); ``prior`` the centre of the
    penalty, which is zero except under damping (see the module docstring).
    """
    p = X.shape[-1]
    if fast:
        with np.errstate(over="ignore", invalid="ignore"):
            gram = weighted_gram(X, np.square(w))
            rhs = np.asarray(X.T @ (np.square(w) * z)).ravel()
        if penalty is not None:
            gram[np.diag_indices(p)] += penalty
            rhs = rhs + penalty * prior
        solution = None
        if np.all(np.isfinite(rhs)):
            solution = _solve_normal_equations(gram, rhs)
        if solution is not None:
            return solution
        warnings.warn(
            "The normal equations of this Fisher scoring step are singular, too "
            "ill-conditioned or overflow (collinear columns, rows with no information, or "
            "weights beyond the range of double precision); the step solves the weighted "
            "least-squares problem by an orthogonal factorisation instead (the minimum-norm "
            "solution where it is singular).",
            SingularInformationWarning,
            stacklevel=4,
        )
    # Orthogonal least squares on the stacked system [w X; sqrt(P)] b = [w z; sqrt(P) prior].
    A = (X.multiply(w[:, None]).toarray() if sp.issparse(X) else w[:, None] * X)
    b = w * z
    if penalty is not None:
        root = np.sqrt(penalty)
        A = np.vstack([A, np.diag(root)])
        b = np.concatenate([b, root * prior])
    # Rows whose weighted values overflow carry no usable information: drop them.
    finite = np.all(np.isfinite(A), axis=1) & np.isfinite(b)
    A, b = np.where(finite[:, None], A, 0.0), np.where(finite, b, 0.0)
    with single_threaded_blas():
        return scipy.linalg.lstsq(A, b, check_finite=False, lapack_driver="gelsd")[0]


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------
def _as_float_array(x, name):
    x = np.asarray(x)
    if np.iscomplexobj(x):
        raise ValueError(f"{name} is complex; complex data are not supported.")
    if not np.issubdtype(x.dtype, np.floating):
        try:
            x = x.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be numeric; got dtype {x.dtype}.") from None
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or infinity.")
    return x


class _Problem(NamedTuple):
    """Validated inputs of Fisher scoring that stay fixed across steps."""

    X: np.ndarray | sp.csr_matrix
    y: np.ndarray
    model: ExponentialFamily
    penalty: np.ndarray | None  # l2 · pf² per coefficient
    dispersion: object
    offset: np.ndarray | None
    learning_rate: np.ndarray | None
    sample_weight: np.ndarray | None


def _check_inputs(
    model_matrix,
    response,
    model,
    model_coefficients_start,
    predicted_linear_response_start,
    l2_regularizer,
    dispersion,
    offset,
    learning_rate,
    l2_regularization_penalty_factor,
    sample_weight,
):
    if not isinstance(model, ExponentialFamily):
        raise ValueError(f"model must be an ExponentialFamily; got {model!r}.")
    if sp.issparse(model_matrix):
        X = model_matrix.tocsr()
        if np.iscomplexobj(X.data):
            raise ValueError("model_matrix is complex; complex data are not supported.")
        if not np.all(np.isfinite(X.data)):
            raise ValueError("model_matrix contains NaN or infinity.")
        if not np.issubdtype(X.dtype, np.floating):
            X = X.astype(np.float64)
    else:
        X = _as_float_array(model_matrix, "model_matrix")
        if X.ndim < 2:
            raise ValueError(f"model_matrix must have shape [..., n, p]; got shape {X.shape}.")
    dtype = X.dtype
    n, p = X.shape[-2:]
    batch = X.shape[:-2]
    if n == 0:
        raise ValueError(f"model_matrix has no rows (shape {X.shape}): there is nothing to fit.")
    y = _as_float_array(response, "response").astype(dtype, copy=False)
    if y.shape != batch + (n,):
        raise ValueError(
            f"response has shape {y.shape}; expected {batch + (n,)} to match model_matrix "
            f"of shape {X.shape}."
        )
    model.check_response(y)

    def vector(value, name, shape):
        if value is None:
            return None
        value = _as_float_array(value, name).astype(dtype, copy=False)
        try:
            return np.broadcast_to(value, shape)
        except ValueError:
            raise ValueError(f"{name} has shape {value.shape}; expected {shape}.") from None

    b0 = vector(model_coefficients_start, "model_coefficients_start", batch + (p,))
    eta0 = vector(predicted_linear_response_start, "predicted_linear_response_start", batch + (n,))
    offset = vector(offset, "offset", batch + (n,))
    sample_weight = vector(sample_weight, "sample_weight", batch + (n,))
    if sample_weight is not None and np.any(sample_weight < 0):
        raise ValueError("sample_weight must be non-negative.")
    if sample_weight is not None and not np.all(np.any(sample_weight > 0, axis=-1)):
        raise ValueError("sample_weight is 0 for every row: there is nothing to fit.")
    pf = vector(l2_regularization_penalty_factor, "l2_regularization_penalty_factor", (p,))
    for value, name in ((l2_regularizer, "l2_regularizer"), (dispersion, "dispersion")):
        if value is not None:
            value = _as_float_array(value, name)
            if np.any(value < 0) or (name == "dispersion" and np.any(value == 0)):
                kind = "positive" if name == "dispersion" else "non-negative"
                raise ValueError(f"{name} must be {kind}; got {value!r}.")
    if learning_rate is not None:
        learning_rate = _as_float_array(learning_rate, "learning_rate")
        if np.any(learning_rate <= 0):
            raise ValueError(f"learning_rate must be positive; got {learning_rate!r}.")
    if b0 is None:
        b0 = np.zeros(batch + (p,), dtype=dtype)
    if eta0 is None:
        eta0 = _linear_predictor(X, b0, offset)
    penalty = None
    if l2_regularizer is not None and np.any(np.asarray(l2_regularizer) != 0):
        factor_squared = np.ones(p, dtype) if pf is None else pf**2
        penalty = np.asarray(l2_regularizer, dtype=dtype) * factor_squared
    problem = _Problem(X, y, model, penalty, dispersion, offset, learning_rate, sample_weight)
    return problem, b0, eta0


def _linear_predictor(X, coef, offset):
    if sp.issparse(X):
        eta = X @ coef
    else:
        eta = np.einsum("...np,...p->...n", X, coef) if X.ndim > 2 else X @ coef
    return eta if offset is None else eta + offset


def _one_step(problem: _Problem, b0, eta0, fast: bool):
    """One Fisher scoring step from ``(b0, eta0)``; loops over leading batch dimensions."""
    X, penalty, learning_rate = problem.X, problem.penalty, problem.learning_rate
    w, z = _working_quantities(
        problem.model, problem.y, eta0, problem.offset, learning_rate, problem.dispersion,
        problem.sample_weight,
    )  # fmt: skip
    if not np.all(np.any(w != 0, axis=-1)):
        raise _NoInformation()
    p = X.shape[-1]
    coef = np.empty(X.shape[:-2] + (p,), dtype=X.dtype)
    for index in np.ndindex(*X.shape[:-2]):
        prior = np.zeros(p, X.dtype)
        if penalty is not None and learning_rate is not None:
            prior = (1.0 - learning_rate) * b0[index]
        coef[index] = _solve_step(X[index], w[index], z[index], penalty, prior, fast)
    return coef, _linear_predictor(X, coef, problem.offset)


class _NoInformation(Exception):
    """No row has a finite, positive Fisher weight at the current linear predictor."""


_NO_INFORMATION = (
    "no row has a finite, positive Fisher weight at the {where} linear predictor (the mean, "
    "its variance or its derivative is not finite there, or every sample weight is 0)"
)


def _objective(problem: _Problem, coef, eta):
    """Penalised negative log-likelihood up to a constant, ``½ Σ s·d(y, mu)/phi + ½ l2·||pf⊙b||²``,
    per problem of the batch; ``inf`` where a row of positive weight is invalid."""
    terms = RowTerms(problem.model, problem.y, eta, problem.sample_weight)
    with np.errstate(all="ignore"):
        unit = terms.unit_deviance
        if problem.sample_weight is not None:
            unit = unit * problem.sample_weight
        bad = ~np.isfinite(unit) | ~terms.valid_eta
        if problem.sample_weight is not None:
            bad &= problem.sample_weight > 0
        value = 0.5 * np.sum(np.where(bad, 0.0, unit), axis=-1)
        if problem.dispersion is not None:
            value = value / np.asarray(problem.dispersion, dtype=float)
        if problem.penalty is not None:
            value = value + 0.5 * np.sum(problem.penalty * np.square(coef), axis=-1)
    return np.where(np.any(bad, axis=-1), np.inf, value)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------
def fit_one_step(
    model_matrix,
    response,
    model,
    model_coefficients_start=None,
    predicted_linear_response_start=None,
    l2_regularizer=None,
    dispersion=None,
    offset=None,
    learning_rate=None,
    fast_unsafe_numerics=True,
    l2_regularization_penalty_factor=None,
    name=None,
    sample_weight=None,
):
    """Run one step of Fisher scoring, as ``tfp.glm.fit_one_step``.

    Parameters
    ----------
    model_matrix : array of shape [..., n, p] or scipy.sparse matrix of shape (n, p)
        Design matrix ``X``; leading dimensions are independent problems fitted together.
    response : array of shape [..., n]
        Observed responses ``y``.
    model : ExponentialFamily
        The family, e.g. ``skglm_fisher.glm.Poisson()``.
    model_coefficients_start : array of shape [..., p], optional
        Starting coefficients; zeros by default.
    predicted_linear_response_start : array of shape [..., n], optional
        Starting linear predictor; ``X @ model_coefficients_start + offset`` by default.
    l2_regularizer : float, optional
        Ridge strength ``l2``; the objective is ``NLL + (l2/2)·||pf ⊙ b||²``.
    dispersion : float or array, optional
        Divides the Fisher weights (the variance is ``dispersion · var``).
    offset : array of shape [..., n], optional
        Added to the linear predictor.
    learning_rate : float, optional
        Damping ``r`` of the step; see the module docstring for the departure from TFP.
    fast_unsafe_numerics : bool, default=True
        Cholesky of the normal equations (True) or orthogonal least squares (False).
    l2_regularization_penalty_factor : array of shape [p], optional
        Per-coefficient multiplier ``pf`` of the penalty (enters squared).
    name : str, optional
        Ignored; kept for TFP compatibility.
    sample_weight : array of shape [..., n], optional
        Non-negative observation weights (not in TFP); multiply the squared Fisher weights.

    Returns
    -------
    model_coefficients : ndarray of shape [..., p]
    predicted_linear_response : ndarray of shape [..., n]
        ``X @ model_coefficients + offset``.

    Examples
    --------
    >>> import numpy as np
    >>> from skglm_fisher import glm
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
    >>> y = np.array([1.0, 2.0, 4.0])
    >>> coef, eta = glm.fit_one_step(X, y, glm.Normal())
    >>> np.round(coef, 4)
    array([0.8333, 1.5   ])
    """
    problem, b0, eta0 = _check_inputs(
        model_matrix, response, model, model_coefficients_start, predicted_linear_response_start,
        l2_regularizer, dispersion, offset, learning_rate, l2_regularization_penalty_factor,
        sample_weight,
    )  # fmt: skip
    try:
        return _one_step(problem, b0, eta0, fast_unsafe_numerics)
    except _NoInformation:
        raise ValueError(_start_message(model)) from None


def _start_message(model):
    text = _NO_INFORMATION.format(where="starting")
    return (
        text[0].upper() + text[1:] + f" for {model!r}. Pass "
        "model_coefficients_start (or predicted_linear_response_start) inside the link's "
        "domain: the default start, zero, is not valid for links such as 1/eta."
    )


def convergence_criteria_small_relative_norm_weights_change(tolerance=1e-5, norm_order=2):
    """Convergence when the coefficients barely move, as TFP's criterion of the same name.

    With ``w0``, ``w1`` the coefficients before and after a step, converged means
    ``||w0 - w1|| / (1 + ||w0||) < tolerance`` for every problem of the batch, and at least two
    steps taken (``iter_ > 0``).

    Returns
    -------
    callable
        ``fn(is_converged_previous, iter_, model_coefficients_previous,
        predicted_linear_response_previous, model_coefficients_next,
        predicted_linear_response_next, response, model, dispersion) -> bool``
    """

    def convergence_criteria_fn(
        is_converged_previous,
        iter_,
        model_coefficients_previous,
        predicted_linear_response_previous,
        model_coefficients_next,
        predicted_linear_response_next,
        response,
        model,
        dispersion,
    ):
        change = np.linalg.norm(
            model_coefficients_previous - model_coefficients_next, ord=norm_order, axis=-1
        )
        size = np.linalg.norm(model_coefficients_previous, ord=norm_order, axis=-1)
        return bool(iter_ > 0 and np.all(change / (1.0 + size) < tolerance))

    return convergence_criteria_fn


def fit(
    model_matrix,
    response,
    model,
    model_coefficients_start=None,
    predicted_linear_response_start=None,
    l2_regularizer=None,
    dispersion=None,
    offset=None,
    convergence_criteria_fn=None,
    learning_rate=None,
    fast_unsafe_numerics=True,
    maximum_iterations=DEFAULT_MAXIMUM_ITERATIONS,
    l2_regularization_penalty_factor=None,
    name=None,
    sample_weight=None,
):
    """Fit a GLM by Fisher scoring, as ``tfp.glm.fit``.

    Takes :func:`fit_one_step`'s arguments plus ``convergence_criteria_fn`` (default
    :func:`convergence_criteria_small_relative_norm_weights_change`) and ``maximum_iterations``
    (default 100; ``None`` means 10,000, where TFP's loop is unbounded). Steps that increase the
    penalised negative log-likelihood are halved (see the module docstring).

    Returns
    -------
    model_coefficients : ndarray of shape [..., p]
    predicted_linear_response : ndarray of shape [..., n]
    is_converged : bool
    iterations : int
        Number of Fisher scoring steps taken.

    Examples
    --------
    >>> import numpy as np
    >>> from skglm_fisher import glm
    >>> rng = np.random.default_rng(0)
    >>> X = np.column_stack([np.ones(500), rng.normal(size=500)])
    >>> y = rng.poisson(np.exp(X @ [0.5, -0.3])).astype(float)
    >>> coef, eta, converged, iterations = glm.fit(X, y, glm.Poisson())
    >>> bool(converged), np.round(coef, 1)
    (True, array([ 0.5, -0.3]))
    """
    limit = _iteration_limit(maximum_iterations)
    problem, coef, eta = _check_inputs(
        model_matrix, response, model, model_coefficients_start, predicted_linear_response_start,
        l2_regularizer, dispersion, offset, learning_rate, l2_regularization_penalty_factor,
        sample_weight,
    )  # fmt: skip
    if convergence_criteria_fn is None:
        convergence_criteria_fn = convergence_criteria_small_relative_norm_weights_change()
    objective = _objective(problem, coef, eta)
    converged, iteration = False, 0
    while not converged and iteration < limit:
        try:
            coef_next, eta_next = _one_step(problem, coef, eta, fast_unsafe_numerics)
        except _NoInformation:
            if iteration == 0:
                raise ValueError(_start_message(model)) from None
            _warn_stopped(_NO_INFORMATION.format(where="current"), iteration)
            break
        coef_next, eta_next, objective_next = _halve_if_worse(
            problem, coef, objective, coef_next, eta_next
        )
        if coef_next is None:
            _warn_stopped("no step along the Fisher scoring direction decreases the penalised "
                          "negative log-likelihood", iteration)  # fmt: skip
            break
        converged = convergence_criteria_fn(
            is_converged_previous=converged,
            iter_=iteration,
            model_coefficients_previous=coef,
            predicted_linear_response_previous=eta,
            model_coefficients_next=coef_next,
            predicted_linear_response_next=eta_next,
            response=problem.y,
            model=model,
            dispersion=dispersion,
        )
        coef, eta, objective, iteration = coef_next, eta_next, objective_next, iteration + 1
    final = RowTerms(model, problem.y, eta, problem.sample_weight)
    n_boundary, n_positive = final.boundary_counts()
    warn_boundary(model, n_boundary, n_positive)
    if n_boundary == n_positive:
        # Complete separation: every fitted mean sits on the boundary; the iterates stop moving
        # only because every weight vanished, not at a maximum of the likelihood.
        converged = False
    return coef, eta, converged, iteration


#: Iterations of ``fit(maximum_iterations=None)``: TFP's loop is unbounded, this one is not.
UNBOUNDED_ITERATIONS = 10_000
#: Step halvings ``fit`` tries before it stops.
MAX_HALVINGS = 50


def _iteration_limit(maximum_iterations) -> int:
    if maximum_iterations is None:
        return UNBOUNDED_ITERATIONS
    if isinstance(maximum_iterations, bool) or not isinstance(maximum_iterations, Integral):
        raise ValueError(
            f"maximum_iterations must be a non-negative integer or None; got "
            f"{maximum_iterations!r}."
        )
    if maximum_iterations < 0:
        raise ValueError(f"maximum_iterations must be non-negative; got {maximum_iterations}.")
    return int(maximum_iterations)


def _halve_if_worse(problem, coef, objective, coef_next, eta_next):
    """Halve the step of each problem whose objective rose or turned non-finite (R's rule).

    Families whose Fisher scoring step is a quasi-likelihood step (log-normal, custom: their
    score is not the one the step uses) only halve steps that turn the objective non-finite.
    Returns the accepted ``(coef, eta, objective)``, or ``(None, None, None)`` when some problem
    finds no acceptable step in :data:`MAX_HALVINGS` halvings.
    """
    objective_next = _objective(problem, coef_next, eta_next)
    allowed = objective + 1e-12 * np.abs(objective) + 1e-300
    if not problem.model.has_quasi_score:
        allowed = np.full(np.shape(objective), np.inf)
    worse = ~((objective_next <= allowed) & np.isfinite(objective_next))
    if not np.any(worse):
        return coef_next, eta_next, objective_next
    direction = coef_next - coef
    t = np.ones(np.shape(objective))
    for _ in range(MAX_HALVINGS):
        t = np.where(worse, 0.5 * t, t)
        coef_next = coef + t[..., None] * direction
        eta_next = _linear_predictor(problem.X, coef_next, problem.offset)
        objective_next = _objective(problem, coef_next, eta_next)
        worse = ~((objective_next <= allowed) & np.isfinite(objective_next))
        if not np.any(worse):
            return coef_next, eta_next, objective_next
    return None, None, None


def _warn_stopped(reason, iteration):
    warnings.warn(
        f"Fisher scoring stopped after {iteration} iteration(s), not converged: {reason}. The "
        "data may be separated (the maximum likelihood is at infinite coefficients) or the "
        "start far from the solution; pass a better model_coefficients_start, an "
        "l2_regularizer, or use FisherScoringGLM, which reports these cases.",
        ConvergenceWarning,
        stacklevel=3,
    )
