"""Penalised Fisher scoring (IRLS) for the estimator, as a small template-method solver.

Conventions
-----------
The solver minimises, over ``coef`` (intercept *first* when there is one),

    F(coef) = ½ · Σ_i s_i · unit_deviance(y_i, mu_i) + ½ · Σ_j P_j · coef_j²

with ``mu = inverse_link(X coef + offset)``, sample weights ``s`` and the penalty vector ``P``
(``alpha · Σs · pf²``, zero for the intercept). This is scikit-learn's GLM objective multiplied
by ``Σs``. Per row, with ``(mu, V, g) = family(eta)`` (``g = d mu / d eta``):

- score ``r = s · (y - mu) · g / V`` (the derivative of ``-½ s · unit_deviance`` in ``eta``),
- Fisher weight ``w = s · g² / V``; the observed (Newton) weight subtracts
  ``s · (y - mu) · d(g / V)/d eta``.

An iteration is one pass over the rows that returns the deviance, the gradient
``G = Xᵀ r - P ⊙ coef`` and the information ``H = Xᵀ diag(w) X + diag(P)``, then the step
``Δ = H⁻¹ G``. Convergence is declared when the Newton decrement ``Gᵀ H⁻¹ G`` (the decrease of
``2F`` the next full step predicts) falls below ``tol · (2F + 0.1)``, the scaled form of R's
``|Δdev| / (dev + 0.1) < epsilon``.

The steps are the methods of :class:`IRLSSolver` (``setup``, ``update_information``,
``inner_solve``, ``check_convergence``, ``line_search``, ``finalize``). Its frozen inputs live in
:class:`IRLSProblem`; everything that changes between iterations lives in :class:`IRLSState`.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
from scipy import special
from sklearn.exceptions import ConvergenceWarning

from skglm_fisher.glm._design import single_threaded_blas
from skglm_fisher.glm._families import ExponentialFamily
from skglm_fisher.glm._fisher import SingularInformationWarning
from skglm_fisher.glm._links import IdentityLink, LogitLink, LogLink
from skglm_fisher.heads import sigmoid_cross_entropy

__all__ = [
    "IRLSProblem",
    "IRLSState",
    "IRLSSolver",
    "PassSums",
    "PerfectSeparationWarning",
    "evaluate_pass",
    "intercept_only_fit",
]

#: Step halvings tried before the line search gives up.
MAX_HALVINGS = 40


class PerfectSeparationWarning(UserWarning):
    """Fitted probabilities reached 0 or 1: the classes are (quasi-)separated."""


# --------------------------------------------------------------------------------------------
# One pass over the rows
# --------------------------------------------------------------------------------------------
@dataclass
class PassSums:
    """Row sums of one pass; ``+`` adds two blocks' sums (``None`` means not computed)."""

    deviance: float = 0.0
    n_invalid: int = 0
    pearson: float | None = None
    gradient: np.ndarray | None = None
    gram: object | None = None
    rfactor: np.ndarray | None = None
    statistic: float | None = None
    n_boundary: int = 0
    n_positive: int = 0

    def __add__(self, other: PassSums) -> PassSums:
        def both(a, b):
            return None if a is None or b is None else a + b

        rfactor = self.rfactor
        if rfactor is None:
            rfactor = other.rfactor
        elif other.rfactor is not None:
            rfactor = _stack_r(rfactor, other.rfactor)
        return PassSums(
            deviance=self.deviance + other.deviance,
            n_invalid=self.n_invalid + other.n_invalid,
            pearson=both(self.pearson, other.pearson),
            gradient=both(self.gradient, other.gradient),
            gram=both(self.gram, other.gram),
            rfactor=rfactor,
            statistic=both(self.statistic, other.statistic),
            n_boundary=self.n_boundary + other.n_boundary,
            n_positive=self.n_positive + other.n_positive,
        )


def _stack_r(top, bottom):
    """R factor of the rows of two R factors (the reduction step of a tall-skinny QR)."""
    return scipy.linalg.qr(np.vstack([top, bottom]), mode="r", check_finite=False)[0][
        : top.shape[1]
    ]


@dataclass(frozen=True)
class PassJob:
    """What one pass computes (picklable, so that Dask workers can run it)."""

    family: ExponentialFamily
    fit_intercept: bool
    gradient: bool = False
    gram: str | None = None  # None, 'fisher', 'observed' or 'meat'
    qr: bool = False
    boundary: bool = False
    #: ``fn(family, y, mu, sample_weight) -> float`` summed over the rows (e.g. a log-likelihood).
    row_statistic: object | None = None


def _safe_ratio(num, den):
    """``num / den`` with 0 wherever the quotient is not finite (a zero or infinite ``den``)."""
    with np.errstate(all="ignore"):
        ratio = np.divide(num, den)
    bad = ~np.isfinite(ratio)
    if np.any(bad):
        ratio = np.where(bad, 0.0, ratio)
    return ratio


def _moments(family, eta):
    """``family(eta)``, with ``d mu / d eta`` read off ``mu`` for the log, logit and identity
    links (one exponential per row instead of two)."""
    standard = (
        type(family).__call__ is ExponentialFamily.__call__
        and type(family).mean is ExponentialFamily.mean
        and type(family).grad_mean is ExponentialFamily.grad_mean
    )
    link = type(family.link)
    if not standard or link not in (LogLink, LogitLink, IdentityLink):
        return family(eta)
    mu = family.mean(eta)
    if link is LogLink:
        grad_mean = mu
    elif link is LogitLink:
        grad_mean = mu * (1.0 - mu / family.mean_scale)
    else:
        grad_mean = np.broadcast_to(np.asarray(family.mean_scale, dtype=float), mu.shape)
    return mu, family.variance(mu), grad_mean


def evaluate_pass(block, y, offset, sample_weight, coef, job: PassJob) -> PassSums:
    """The :class:`PassSums` of one row block at ``coef`` (intercept first)."""
    family = job.family
    features = coef[1:] if job.fit_intercept else coef
    if (
        job.fit_intercept
        and offset is None
        and job.gram == "fisher"
        and job.gradient
        and not (job.qr or job.boundary or job.row_statistic)
        and not np.any(features)
        and family.has_quasi_score
    ):
        return _constant_mean_pass(block, y, sample_weight, coef[0], family)
    eta = block.matvec(features)
    if job.fit_intercept:
        eta += coef[0]
    if offset is not None:
        eta += offset
    with np.errstate(all="ignore"):
        invalid = ~family.link.valid_eta(eta)
        if np.any(invalid):
            return PassSums(deviance=np.inf, n_invalid=int(invalid.sum()))
        mu, variance, grad_mean = _moments(family, eta)
        unit = _unit_deviance(family, y, mu, eta)
        deviance = float(unit.sum() if sample_weight is None else sample_weight @ unit)
    if not np.isfinite(deviance):
        return PassSums(deviance=np.inf, n_invalid=int(np.sum(~np.isfinite(unit))) or 1)
    out = PassSums(deviance=deviance)
    residual = y - mu
    with np.errstate(all="ignore"):
        pearson_terms = _safe_ratio(residual * residual, variance)
    out.pearson = float(
        pearson_terms.sum() if sample_weight is None else sample_weight @ pearson_terms
    )
    if job.boundary:
        eps = 10 * np.finfo(np.float64).eps
        scale = np.asarray(family.mean_scale, dtype=float)
        p = mu / scale
        at_bound = (p < eps) | (p > 1 - eps)
        positive = np.ones_like(at_bound) if sample_weight is None else sample_weight > 0
        out.n_boundary = int(np.count_nonzero(at_bound & positive))
        out.n_positive = int(np.count_nonzero(positive))
    if job.row_statistic is not None:
        out.statistic = float(job.row_statistic(family, y, mu, sample_weight))
    if not (job.gradient or job.gram or job.qr):
        return out
    with np.errstate(all="ignore"):
        g_over_v = _safe_ratio(grad_mean, variance)
        if family.has_quasi_score:
            score = residual * g_over_v
        else:
            score = np.nan_to_num(family.score(y, eta))
        fisher = grad_mean * g_over_v
        if sample_weight is not None:
            score = score * sample_weight
            fisher = fisher * sample_weight
    weights = border = None
    if job.gram == "observed":
        weights = _observed_weights(family, eta, mu, variance, grad_mean, residual, fisher,
                                    sample_weight)  # fmt: skip
    elif job.gram == "meat":
        weights = score * score
    elif job.gram is not None:
        weights = fisher
    if job.gradient and weights is not None and job.gram != "meat" and block.fused:
        gradient, out.gram = block.score_and_gram(score, weights, job.fit_intercept)
        weights = None
    elif job.gradient or job.qr:
        if weights is not None and job.fit_intercept:
            gradient, border = block.rmatvec_pair(score, weights)
        else:
            gradient = block.rmatvec(score)
    if job.gradient or job.qr:
        out.gradient = np.concatenate([[score.sum()], gradient]) if job.fit_intercept else gradient
    if weights is not None:
        out.gram = block.gram(weights, job.fit_intercept, border)
    if job.qr:
        out.rfactor = _block_rfactor(block, fisher, _safe_ratio(score, fisher), job.fit_intercept)
    return out


def _constant_mean_pass(block, y, sample_weight, intercept, family):
    """:func:`evaluate_pass` at an intercept-only start without offset.

    Every row has the same mean there, so the Fisher weight is one number ``c`` and the
    information is ``c · [1, X]ᵀ diag(s) [1, X]``: without sample weights, a plain product of
    the block with itself, with no linear predictor to compute and no scaled copy.
    """
    with np.errstate(all="ignore"):
        eta = np.array([intercept], dtype=np.float64)
        if not family.link.valid_eta(eta)[0]:
            return PassSums(deviance=np.inf, n_invalid=block.n_rows)
        mu, variance, grad_mean = (float(v[0]) for v in _moments(family, eta))
        unit = family.unit_deviance(y, np.full_like(y, mu))
    s = np.ones_like(y) if sample_weight is None else sample_weight
    deviance = float(s @ unit)
    if not np.isfinite(deviance) or not variance > 0:
        return PassSums(deviance=np.inf, n_invalid=1)
    residual = y - mu
    score = s * residual * (grad_mean / variance)
    fisher = grad_mean * grad_mean / variance
    out = PassSums(deviance=deviance, pearson=float(s @ (residual * residual)) / variance)
    out.gradient = np.concatenate([[score.sum()], block.rmatvec(score)])
    if sample_weight is None:
        out.gram = block.plain_gram(fisher)
    else:
        out.gram = block.gram(fisher * sample_weight, True)
    return out


def _observed_weights(family, eta, mu, variance, grad_mean, residual, fisher, sample_weight):
    """Observed information per row where it is non-negative, the Fisher weight elsewhere.

    ``-d score / d eta = s · (g²/V - (y - mu) · (g'/V - g² V'/V²))``. Rows where this is negative
    (possible away from the optimum for some links) keep their Fisher weight, so the matrix stays
    positive semi-definite and the step a descent direction.
    """
    with np.errstate(all="ignore"):
        second = np.asarray(family.mean_scale) * family.link.inverse_second_derivative(eta)
        dv = family.variance_derivative(mu)
        correction = _safe_ratio(second, variance) - _safe_ratio(grad_mean**2 * dv, variance**2)
        correction = residual * correction
        if sample_weight is not None:
            correction = correction * sample_weight
        observed = fisher - correction
    return np.where(np.isfinite(observed) & (observed >= 0), observed, fisher)


def _block_rfactor(block, fisher, working, fit_intercept):
    """R factor of ``sqrt(w) ⊙ [1, X, z]`` for one block (z the working residual)."""
    root = np.sqrt(np.maximum(fisher, 0.0))
    dense = block.dense()
    parts = [root[:, None]] if fit_intercept else []
    stacked = np.hstack(parts + [dense * root[:, None], (root * working)[:, None]])
    q = stacked.shape[1]
    r = scipy.linalg.qr(stacked, mode="r", check_finite=False)[0][:q]
    if r.shape[0] < q:
        r = np.vstack([r, np.zeros((q - r.shape[0], q))])
    return r


def _unit_deviance(family, y, mu, eta):
    """Per-row deviance; Bernoulli-logit's is the logistic head's loss of the logits.

    ``2·(log-loss(y, eta) - log-loss(y, logit(y)))``: computed from ``eta`` it keeps full
    precision where the fitted probability rounds to 0 or 1; the second term (the entropy of a
    proportion ``y``) is zero for binary labels.
    """
    if type(family).__name__ == "Bernoulli" and isinstance(family.link, LogitLink):
        entropy = -(special.xlogy(y, y) + special.xlogy(1.0 - y, 1.0 - y))
        return 2.0 * (sigmoid_cross_entropy(y, eta) - entropy)
    return family.unit_deviance(y, mu)


# --------------------------------------------------------------------------------------------
# Intercept-only model (starting values and the null deviance)
# --------------------------------------------------------------------------------------------
def _intercept_pass(block, y, offset, sample_weight, intercept, family):
    eta = np.full(block.n_rows, intercept, dtype=np.float64)
    if offset is not None:
        eta += offset
    with np.errstate(all="ignore"):
        if not np.all(family.link.valid_eta(eta)):
            return np.array([np.inf, 0.0, 0.0])
        mu, variance, grad_mean = family(eta)
        unit = _unit_deviance(family, y, mu, eta)
        g_over_v = _safe_ratio(grad_mean, variance)
        score = (y - mu) * g_over_v
        fisher = grad_mean * g_over_v
    s = np.ones_like(y) if sample_weight is None else sample_weight
    return np.array([s @ unit, s @ score, s @ fisher])


def _sums_pass(block, y, offset, sample_weight):
    s = np.ones_like(y) if sample_weight is None else sample_weight
    return np.array([s @ y, s.sum()])


def _mean_pass(block, y, offset, sample_weight, family):
    mu0 = family.starting_mean(y, sample_weight)
    with np.errstate(all="ignore"):
        eta0 = family.linear_predictor(mu0)
    if offset is not None:
        eta0 = eta0 - offset
    s = np.ones_like(y) if sample_weight is None else sample_weight
    # Rows whose starting mean is outside the link's range (a negative y under a log link)
    # do not vote for the start.
    finite = np.isfinite(eta0)
    return np.array([s @ y, s.sum(), s[finite] @ eta0[finite], s[finite].sum()])


def _working_start_pass(block, y, offset, sample_weight, job):
    """Weighted least-squares sums at R's start: ``eta0 = link(starting_mean(y))`` per row.

    Returns a :class:`PassSums` whose ``gram`` is ``Xᵀ W X`` and ``gradient`` is ``Xᵀ W z``
    with the working response ``z = eta0 - offset + (y - mu0) / g``, whose solution is the
    first iterate of R's ``glm.fit``. It needs no coefficients, so it serves designs where
    neither zeros nor an intercept-only model give a valid linear predictor.
    """
    family = job.family
    with np.errstate(all="ignore"):
        mu0 = family.starting_mean(y, sample_weight)
        eta0 = family.linear_predictor(mu0)
        valid = family.link.valid_eta(eta0)
        mu, variance, grad_mean = family(np.where(valid, eta0, 0.0))
        working = eta0 + _safe_ratio(y - mu, grad_mean)
        weights = np.where(valid, grad_mean * _safe_ratio(grad_mean, variance), 0.0)
    if offset is not None:
        working = working - offset
    working = np.where(valid, working, 0.0)
    if sample_weight is not None:
        weights = weights * sample_weight
    rhs = block.rmatvec(weights * working)
    if job.fit_intercept:
        rhs = np.concatenate([[weights @ working], rhs])
    return PassSums(deviance=0.0, gradient=rhs, gram=block.gram(weights, job.fit_intercept))


def intercept_only_fit(design, family, tol=1e-12, max_iter=50, need_deviance=True):
    """Fit ``eta = b + offset`` by scalar Fisher scoring with step halving.

    Returns ``(b, deviance)``. Without an offset the answer is the link of the weighted mean of
    ``y`` (the score equation of an intercept-only GLM is ``Σ s·(y - mu) = 0``) and, with
    ``need_deviance=False``, the deviance is not computed (None). With an offset, the start is
    the weighted mean of ``link(starting_mean) - offset``.
    """
    has_offset = design.rows[1] is not None
    sum_y, sum_w = design.map_reduce(_sums_pass)
    if sum_w <= 0:
        return 0.0, 0.0
    if not has_offset:
        with np.errstate(all="ignore"):
            exact = family.linear_predictor(np.asarray([sum_y / sum_w]))[0]
        if np.isfinite(exact) and family.link.valid_eta(np.asarray([exact]))[0]:
            if not need_deviance:
                return float(exact), None
            return float(exact), float(design.map_reduce(_intercept_pass, exact, family)[0])
    _, _, sum_eta, sum_w_finite = design.map_reduce(_mean_pass, family)
    b = sum_eta / sum_w_finite if sum_w_finite > 0 else 0.0
    dev, score, fisher = design.map_reduce(_intercept_pass, b, family)
    if not np.isfinite(dev):
        where = "with this offset, " if has_offset else ""
        raise ValueError(
            f"No valid intercept-only start: {where}the {family.link.name!r} link cannot "
            f"reproduce the mean of y ({sum_y / sum_w:.6g}). Use another link or family."
        )
    for _ in range(max_iter):
        if fisher <= 0 or not np.isfinite(fisher):
            break
        step = score / fisher
        # Newton converges quadratically here: iterate until the step is at rounding level.
        if abs(step) <= tol * (1.0 + abs(b)):
            break
        for _ in range(MAX_HALVINGS):
            new_dev, new_score, new_fisher = design.map_reduce(_intercept_pass, b + step, family)
            if np.isfinite(new_dev) and new_dev <= dev * (1 + 1e-12) + 1e-300:
                break
            step /= 2
        else:
            break
        b, dev, score, fisher = b + step, new_dev, new_score, new_fisher
    return float(b), float(dev)


# --------------------------------------------------------------------------------------------
# The solver
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IRLSProblem:
    """Frozen inputs of a fit.

    Attributes
    ----------
    design : LocalDesign or DaskDesign
        Rows of ``X`` with the response, offset and sample weights.
    family : ExponentialFamily
    penalty : ndarray of shape (q,)
        ``P``, the per-coefficient ridge strengths (zero for the intercept).
    fit_intercept : bool
    solver : {'cholesky', 'qr', 'observed'}
    tol, max_iter, learning_rate, verbose
    """

    design: object
    family: ExponentialFamily
    penalty: np.ndarray
    fit_intercept: bool = True
    solver: str = "cholesky"
    tol: float = 1e-8
    max_iter: int = 100
    learning_rate: float = 1.0
    verbose: int = 0
    #: Extra :class:`PassJob` fields for the pass at the final coefficients (a log-likelihood
    #: ``row_statistic``, ``boundary``, a ``'meat'`` gram), so the caller needs no pass of its own.
    final_job: dict | None = None

    @property
    def constant_information(self) -> bool:
        """Fisher weights independent of ``eta``: the information is computed once."""
        return self.solver == "cholesky" and self.family.fisher_weights_are_constant

    @property
    def gram_kind(self) -> str:
        observed = self.solver == "observed" and not self.family.is_canonical
        return "observed" if observed and self.family.has_quasi_score else "fisher"

    @property
    def is_binary(self) -> bool:
        return self.family.link.name in ("logit", "probit", "cloglog") or (
            type(self.family).__name__ in ("Bernoulli", "Binomial", "BernoulliNormalCDF")
        )


@dataclass
class IRLSState:
    """Mutable iteration state: coefficients and the row sums at them."""

    coef: np.ndarray
    objective: float = np.inf
    deviance: float = np.inf
    pearson: float = np.nan
    gradient: np.ndarray | None = None
    gram: np.ndarray | None = None
    step: np.ndarray | None = None
    decrement: float = np.inf
    n_iter: int = 0
    converged: bool = False
    singular: bool = False
    line_search_failed: bool = False
    history: list = field(default_factory=list)


@dataclass
class IRLSResult:
    """What :meth:`IRLSSolver.solve` returns: the final state plus the penalised information."""

    coef: np.ndarray
    n_iter: int
    converged: bool
    deviance: float
    pearson: float
    objective: float
    gram: np.ndarray  # unpenalised Fisher information at coef
    information: np.ndarray  # gram + diag(penalty)
    singular: bool
    final_sums: PassSums | None = None  # the pass at coef with ``final_job``, if it ran
    start_coef: np.ndarray | None = None
    start_deviance: float = np.nan


class IRLSSolver:
    """Penalised Fisher scoring with step halving; see the module docstring.

    Examples
    --------
    >>> import numpy as np
    >>> from skglm_fisher.glm import Poisson
    >>> from skglm_fisher.glm._design import make_design
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> y = rng.poisson(np.exp(0.3 + X @ [0.5, -0.2])).astype(float)
    >>> problem = IRLSProblem(make_design(X, y), Poisson(), penalty=np.zeros(3))
    >>> result = IRLSSolver(problem).solve()
    >>> result.converged, np.round(result.coef, 2)
    (True, array([ 0.31,  0.55, -0.16]))
    """

    def __init__(self, problem: IRLSProblem):
        self.problem = problem
        self.state: IRLSState | None = None
        self._constant_gram = None
        self._start = (None, np.nan)

    # -- named steps ----------------------------------------------------------------------
    def setup(self, coef0=None, intercept0=None):
        """Set ``state`` at the start and evaluate the objective, gradient and information there.

        The start is ``coef0`` if given, valid, and no worse than the intercept-only fit (with
        the offset; ``intercept0`` if already known); else that fit; else zeros; else R's start,
        the weighted least-squares fit at ``eta = link(starting_mean(y))``. (Newton steps for
        log-linear models shrink an overestimated linear predictor by about one per iteration,
        so a bad warm start can cost far more iterations than starting afresh.)
        """
        pb = self.problem
        q = pb.design.n_features + pb.fit_intercept
        candidates = [] if coef0 is None else [np.asarray(coef0, dtype=np.float64)]
        if pb.fit_intercept:
            start = np.zeros(q)
            if intercept0 is None:
                intercept0 = intercept_only_fit(pb.design, pb.family)[0]
            start[0] = intercept0
            candidates.append(start)
        candidates.append(np.zeros(q))
        if coef0 is not None and len(candidates) > 1:
            objectives = []
            for coef in candidates[:2]:
                sums = self._evaluate(coef, gradient=False, gram=False)
                valid = sums.n_invalid == 0 and np.isfinite(sums.deviance)
                objectives.append(self._objective(coef, sums.deviance) if valid else np.inf)
            if objectives[1] < objectives[0]:
                candidates.pop(0)
        def last_resort():
            # R's start is a weighted least-squares pass: only computed when all else failed.
            coef = self._working_start()
            if coef is not None:
                yield coef

        for coef in itertools.chain(candidates, last_resort()):
            sums = self._evaluate(coef, gradient=True, gram=True)
            if sums.n_invalid == 0 and np.isfinite(sums.deviance):
                self.state = IRLSState(coef=coef)
                self._accept(sums)
                self._start = (coef.copy(), sums.deviance)
                return
        raise ValueError(
            "No valid starting coefficients: the linear predictor leaves the domain of the "
            f"{pb.family.link.name!r} link. Fit an intercept, change the link, or pass an offset "
            "that keeps the linear predictor valid."
        )

    def update_information(self, sums: PassSums):
        """Store the gradient, information and objective of a pass in ``state``."""
        pb, st = self.problem, self.state
        if sums.gram is not None:
            st.gram = pb.design.finish_gram(sums.gram, pb.fit_intercept)
        elif sums.rfactor is not None:
            st.gram = sums.rfactor
        st.gradient = sums.gradient - pb.penalty * st.coef
        st.deviance = sums.deviance
        st.pearson = sums.pearson
        st.objective = self._objective(st.coef, sums.deviance)

    def inner_solve(self):
        """Set ``state.step`` (``H⁻¹ G``) and ``state.decrement`` (``Gᵀ H⁻¹ G``)."""
        pb, st = self.problem, self.state
        if pb.solver == "qr":
            st.step = self._qr_step()
        else:
            st.step, singular = solve_information(st.gram, pb.penalty, st.gradient)
            st.singular |= singular
        st.decrement = float(st.gradient @ st.step)

    def check_convergence(self) -> bool:
        """Converged when the decrement is below ``tol · (2F + 0.1)``."""
        pb, st = self.problem, self.state
        st.converged = bool(st.decrement <= pb.tol * (abs(2.0 * st.objective) + 0.1))
        if pb.verbose:
            print(
                f"[FisherScoringGLM] iteration {st.n_iter}: penalized deviance "
                f"{2 * st.objective:.10g}, decrement {st.decrement:.3g}"
            )
        return st.converged

    def line_search(self) -> bool:
        """Take the step, halving it while the objective rises or turns non-finite.

        The first trial evaluates the information along with the objective (one pass in the
        usual case); after a halving, only the objective is evaluated until a step is accepted.
        """
        pb, st = self.problem, self.state
        t = pb.learning_rate
        allowed = st.objective + 1e-12 * abs(st.objective) + 1e-300
        for halving in range(MAX_HALVINGS):
            coef = st.coef + t * st.step
            full = halving == 0
            sums = self._evaluate(coef, gradient=full, gram=full)
            if sums.n_invalid == 0 and self._objective(coef, sums.deviance) <= allowed:
                if not full:
                    sums = self._evaluate(coef, gradient=True, gram=True)
                st.coef = coef
                self._accept(sums)
                st.history.append(t)
                return True
            t *= 0.5
        st.line_search_failed = True
        return False

    def finalize(self) -> IRLSResult:
        """Take the last (converged) step, warn on non-convergence and return the result.

        The convergence test needs the information at the current coefficients, and the step it
        computes is then taken without another information pass (only the deviance and Pearson
        statistic are updated). The returned information is therefore one (tiny) step stale,
        exactly as in R's ``glm.fit`` and statsmodels' IRLS, whose standard errors use the
        weights of the last iteration.
        """
        pb, st = self.problem, self.state
        final_sums = None
        if st.converged and st.step is not None and np.any(st.step != 0):
            coef = st.coef + pb.learning_rate * st.step
            sums = self._evaluate(coef, gradient=False, gram=False, extra=pb.final_job)
            allowed = st.objective + 1e-12 * abs(st.objective) + 1e-300
            if sums.n_invalid == 0 and self._objective(coef, sums.deviance) <= allowed:
                st.coef, st.deviance, st.pearson = coef, sums.deviance, sums.pearson
                st.objective = self._objective(coef, sums.deviance)
                st.n_iter += 1
                final_sums = sums
        if not st.converged:
            reason = (
                "the step-halving line search could not decrease the objective"
                if st.line_search_failed
                else f"max_iter={pb.max_iter} was reached"
            )
            warnings.warn(
                f"Fisher scoring did not converge: {reason} (decrement {st.decrement:.3g}, "
                f"tol {pb.tol:g}). Increase max_iter, or check the data for separation or "
                "collinearity.",
                ConvergenceWarning,
                stacklevel=3,
            )
        gram = st.gram
        if pb.solver == "qr":
            r = st.gram[:-1, :-1]
            gram = r.T @ r
        return IRLSResult(
            coef=st.coef,
            n_iter=st.n_iter,
            converged=st.converged,
            deviance=st.deviance,
            pearson=st.pearson,
            objective=st.objective,
            gram=gram,
            information=gram + np.diag(pb.penalty),
            singular=st.singular,
            final_sums=final_sums if pb.final_job else None,
            start_coef=self._start[0],
            start_deviance=self._start[1],
        )

    def solve(self, coef0=None, intercept0=None) -> IRLSResult:
        """Run ``setup`` then iterate ``inner_solve`` / ``check_convergence`` / ``line_search``.

        BLAS runs on one thread throughout (see :class:`single_threaded_blas`); the passes over
        the rows use the cores through the design's own threads.
        """
        with single_threaded_blas():
            self.setup(coef0, intercept0)
            st = self.state
            while True:
                self.inner_solve()
                if self.check_convergence():
                    break
                if st.n_iter >= self.problem.max_iter or not self.line_search():
                    break
                st.n_iter += 1
            return self.finalize()

    # -- helpers --------------------------------------------------------------------------
    def _objective(self, coef, deviance):
        return 0.5 * deviance + 0.5 * float(self.problem.penalty @ (coef * coef))

    def _evaluate(self, coef, gradient, gram, extra=None) -> PassSums:
        pb = self.problem
        want_gram = (
            gram
            and pb.solver != "qr"
            and not (pb.constant_information and self._constant_gram is not None)
        )
        fields = {
            "family": pb.family,
            "fit_intercept": pb.fit_intercept,
            "gradient": gradient,
            "gram": pb.gram_kind if want_gram else None,
            "qr": gram and pb.solver == "qr",
        }
        job = PassJob(**{**fields, **(extra or {})})
        sums = pb.design.map_reduce(evaluate_pass, coef, job)
        if gram and pb.constant_information and sums.n_invalid == 0:
            if self._constant_gram is None:
                self._constant_gram = sums.gram
            sums.gram = self._constant_gram
        return sums

    def _working_start(self):
        """R's start: one weighted least-squares fit at ``eta0 = link(starting_mean(y))``."""
        pb = self.problem
        job = PassJob(family=pb.family, fit_intercept=pb.fit_intercept)
        sums = pb.design.map_reduce(_working_start_pass, job)
        gram = pb.design.finish_gram(sums.gram, pb.fit_intercept)
        coef, _ = solve_information(gram, pb.penalty, sums.gradient)
        return coef if np.all(np.isfinite(coef)) else None

    def _accept(self, sums):
        self.update_information(sums)

    def _qr_step(self):
        """Least-squares step from the R factor of ``sqrt(w)·[1, X, z]`` and the penalty rows."""
        pb, st = self.problem, self.state
        r = st.gram
        q = r.shape[1] - 1
        root = np.sqrt(pb.penalty)
        a = np.vstack([r[:, :q], np.diag(root)])
        b = np.concatenate([r[:, q], -root * st.coef])
        step, _, rank, _ = scipy.linalg.lstsq(a, b, check_finite=False, lapack_driver="gelsd")
        st.singular |= rank < q
        return step


def solve_information(gram, penalty, rhs):
    """Solve ``(gram + diag(penalty)) x = rhs``; returns ``(x, fell_back)``.

    Cholesky of the diagonally equilibrated matrix, so that badly scaled columns are not taken
    for collinear ones; if a pivot is below ``sqrt(eps)`` of the largest, the minimum-norm
    least-squares solution instead.
    """
    h = gram + np.diag(penalty)
    d = np.sqrt(np.abs(np.diag(h)))
    d = np.where(d > 0, d, 1.0)
    scaled = h / d[:, None] / d[None, :]
    try:
        factor = scipy.linalg.cho_factor(scaled, lower=False, check_finite=False)
        pivots = np.abs(np.diag(factor[0]))
        if pivots.min() > np.sqrt(np.finfo(np.float64).eps) * pivots.max():
            return scipy.linalg.cho_solve(factor, rhs / d, check_finite=False) / d, False
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError, ValueError):
        pass
    x = scipy.linalg.lstsq(h, rhs, check_finite=False, lapack_driver="gelsd")[0]
    return x, True


def information_rank(information) -> int:
    """Numerical rank of a symmetric information matrix (after diagonal equilibration)."""
    d = np.sqrt(np.abs(np.diag(information)))
    d = np.where(d > 0, d, 1.0)
    eig = np.linalg.eigvalsh(information / d[:, None] / d[None, :])
    if eig.size == 0:
        return 0
    return int(np.sum(eig > eig.max() * information.shape[0] * np.finfo(np.float64).eps * 10))


def warn_singular(problem_size: int, rank: int, stacklevel: int = 3):
    """Warn that the information is singular (``rank < problem_size``) or ill-conditioned."""
    if rank < problem_size:
        what = (
            f"singular (rank {rank} of {problem_size}): the design has collinear columns (or "
            "too few rows)"
        )
    else:
        what = "ill-conditioned: some steps needed the least-squares fallback"
    warnings.warn(
        f"The Fisher information is {what}. The coefficients are a minimum-norm solution and "
        "the standard errors of the aliased ones are not identified; use alpha > 0 or drop "
        "columns.",
        SingularInformationWarning,
        stacklevel=stacklevel,
    )


__all__ += ["PassJob", "solve_information", "information_rank", "warn_singular"]
