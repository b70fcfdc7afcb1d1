"""Row-block kernels of the Fisher scoring solver: one pass over the rows each.

Conventions
-----------
A kernel is ``fn(block, y, offset, sample_weight, *args) -> PassSums`` for one row block (see
:mod:`skglm_fisher.glm._design`); the design adds the blocks' sums. Coefficient vectors put the
intercept *first* when there is one. The per-row quantities come from
:class:`~skglm_fisher.glm._row_terms.RowTerms`.

- :func:`iteration_pass`: what one Fisher scoring iteration needs at ``coef`` (the deviance,
  and for a step the score ``Xᵀ r`` with the information ``Xᵀ diag(w) X`` or the tall-skinny
  ``R`` factor of ``sqrt(w) ⊙ [X, r / w]``);
- :func:`statistics_pass`: what the fitted model reports at its final coefficients (Pearson's
  χ², a log-likelihood, rows at the boundary of the mean's range, the sandwich's meat, and the
  Fisher information or its ``R`` when the solver has not got them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skglm_fisher.glm._families import ExponentialFamily
from skglm_fisher.glm._linalg import stack_r
from skglm_fisher.glm._row_terms import RowTerms, safe_ratio

__all__ = [
    "IterationSpec",
    "PassSums",
    "StatisticsSpec",
    "iteration_pass",
    "statistics_pass",
]


@dataclass
class PassSums:
    """Sums over rows of one pass; ``+=`` adds another block's sums into this one's arrays
    (None means not computed)."""

    deviance: float = 0.0
    n_invalid: int = 0
    single_precision: bool = False  # the Gram's product was float32 (set on the total)
    pearson: float | None = None
    gradient: np.ndarray | None = None
    gram: object | None = None
    rfactor: np.ndarray | None = None
    log_likelihood: float | None = None
    n_boundary: int = 0
    n_positive: int = 0
    meat: object | None = None

    def __iadd__(self, other: PassSums) -> PassSums:
        """Add ``other`` into this sum, updating its arrays in place (a pass over wide blocks
        would otherwise allocate a p×p array per block)."""

        def both(a, b):
            if a is None or b is None:
                return None
            if isinstance(a, np.ndarray) and a.shape == np.shape(b):
                a += b
                return a
            return a + b

        self.deviance += other.deviance
        self.n_invalid += other.n_invalid
        self.pearson = both(self.pearson, other.pearson)
        self.gradient = both(self.gradient, other.gradient)
        self.gram = both(self.gram, other.gram)
        if self.rfactor is None:
            self.rfactor = other.rfactor
        elif other.rfactor is not None:
            self.rfactor = stack_r(self.rfactor, other.rfactor)
        self.log_likelihood = both(self.log_likelihood, other.log_likelihood)
        self.n_boundary += other.n_boundary
        self.n_positive += other.n_positive
        self.meat = both(self.meat, other.meat)
        return self

    @property
    def valid(self) -> bool:
        return self.n_invalid == 0 and bool(np.isfinite(self.deviance))


def linear_predictor(block, offset, coef, fit_intercept: bool) -> np.ndarray:
    """``X_block @ coef (+ intercept) (+ offset)`` in float64."""
    eta = block.matvec(coef[1:] if fit_intercept else coef)
    if fit_intercept:
        eta += coef[0]
    if offset is not None:
        eta += offset
    return eta


# --------------------------------------------------------------------------------------------
# One Fisher scoring iteration
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IterationSpec:
    """What :func:`iteration_pass` computes (picklable, so that Dask workers can run it).

    ``information`` is None (the deviance only, for a line search), ``'score'`` (the score
    alone, when the information is known), ``'fisher'`` or ``'observed'`` (score and weighted
    Gram) or ``'qr'`` (score and the ``R`` factor). ``single_precision`` asks for the product
    of the weighted Gram in float32 (dense blocks; for a step, never for statistics).
    """

    family: ExponentialFamily
    fit_intercept: bool
    information: str | None = None
    single_precision: bool = False


def iteration_pass(block, y, offset, sample_weight, coef, spec: IterationSpec) -> PassSums:
    """The :class:`PassSums` of one row block at ``coef`` for one Fisher scoring iteration."""
    family, intercept, kind = spec.family, spec.fit_intercept, spec.information
    precision = np.float32 if spec.single_precision else None
    if (
        kind == "fisher"
        and intercept
        and offset is None
        and family.has_quasi_score
        and not np.any(coef[1:])
    ):
        return _constant_mean_pass(block, y, sample_weight, coef[0], family, precision)
    terms = RowTerms(family, y, linear_predictor(block, offset, coef, intercept), sample_weight)
    if terms.n_invalid:
        return PassSums(deviance=np.inf, n_invalid=terms.n_invalid)
    out = PassSums(deviance=terms.deviance, pearson=terms.pearson)
    if kind is None:
        return out
    score = terms.score
    if kind == "score":
        gradient = block.rmatvec(score)
        out.gradient = np.concatenate([[score.sum()], gradient]) if intercept else gradient
        return out
    if kind == "qr":
        gradient = block.rmatvec(score)
        out.gradient = np.concatenate([[score.sum()], gradient]) if intercept else gradient
        out.rfactor = block_rfactor(block, terms.fisher, terms.working_residual, intercept)
        return out
    weights = terms.observed if kind == "observed" else terms.fisher
    gradient, out.gram = block.score_and_gram(score, weights, intercept, precision)
    out.gradient = np.concatenate([[score.sum()], gradient]) if intercept else gradient
    return out


def _constant_mean_pass(block, y, sample_weight, intercept, family, precision=None):
    """:func:`iteration_pass` at an intercept-only point without offset.

    Every row has the same mean there, so the Fisher weight is one number ``c`` and the
    information is ``c · [1, X]ᵀ diag(s) [1, X]``: without sample weights, a plain product of
    the block with itself, with no linear predictor to compute and no scaled copy.
    """
    terms = RowTerms(family, y, np.array([intercept], dtype=np.float64), sample_weight)
    if terms.n_invalid:
        return PassSums(deviance=np.inf, n_invalid=block.n_rows)
    out = PassSums(deviance=terms.deviance, pearson=terms.pearson)
    score = np.broadcast_to(terms.score, y.shape)
    out.gradient = np.concatenate([[score.sum()], block.rmatvec(score)])
    if sample_weight is None:
        out.gram = block.plain_gram(float(terms.fisher[0]), precision)
    else:
        out.gram = block.gram(terms.fisher, True, precision)
    return out


def block_rfactor(block, fisher, working, fit_intercept: bool) -> np.ndarray:
    """``R`` factor of ``sqrt(w) ⊙ [1, X, z]`` for one block (``z`` the working residual).

    The last column carries ``Qᵀ (sqrt(w) ⊙ z)``, so the least-squares step ``Δ`` solves
    ``R[:q, :q] Δ = R[:q, q]``; ``R[:q, :q]`` is the ``R`` of ``sqrt(w) ⊙ [1, X]``.
    """
    root = np.sqrt(np.maximum(fisher, 0.0))
    dense = block.dense()
    parts = [root[:, None]] if fit_intercept else []
    stacked = np.hstack(parts + [dense * root[:, None], (root * working)[:, None]])
    q = stacked.shape[1]
    r = np.linalg.qr(stacked, mode="r") if stacked.shape[0] else np.zeros((0, q))
    if r.shape[0] < q:
        r = np.vstack([r, np.zeros((q - r.shape[0], q))])
    return r[:q]


# --------------------------------------------------------------------------------------------
# Statistics at the fitted coefficients
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StatisticsSpec:
    """What :func:`statistics_pass` computes besides the deviance and Pearson's χ².

    Attributes
    ----------
    log_likelihood_dispersion : float or None
        Sum the family's log-likelihood at this dispersion.
    boundary : bool
        Count rows whose fitted mean is at the boundary of its range (binary families).
    meat : bool
        The sandwich's meat ``Σ r_i² x_i x_iᵀ``.
    score : bool
        The score of every coefficient (what checks an L1 fit's optimality conditions at the
        returned coefficients, in the same pass).
    information : {None, 'fisher', 'qr'}
        The Fisher information, or the ``R`` of ``sqrt(w) ⊙ [1, X]``.
    """

    family: ExponentialFamily
    fit_intercept: bool
    log_likelihood_dispersion: float | None = None
    boundary: bool = False
    meat: bool = False
    score: bool = False
    information: str | None = None


def statistics_pass(block, y, offset, sample_weight, coef, spec: StatisticsSpec) -> PassSums:
    """The :class:`PassSums` of one row block at the fitted ``coef``."""
    intercept = spec.fit_intercept
    terms = RowTerms(spec.family, y, linear_predictor(block, offset, coef, intercept),
                     sample_weight)  # fmt: skip
    if terms.n_invalid:
        return PassSums(deviance=np.inf, n_invalid=terms.n_invalid)
    out = PassSums(deviance=terms.deviance, pearson=terms.pearson)
    if spec.log_likelihood_dispersion is not None:
        out.log_likelihood = terms.log_likelihood(spec.log_likelihood_dispersion)
    if spec.boundary:
        out.n_boundary, out.n_positive = terms.boundary_counts()
    score = terms.score if spec.meat or spec.score else None
    if spec.meat:
        out.meat = block.gram(score * score, intercept)
    gradient = None
    if spec.information == "fisher" and spec.score:
        gradient, out.gram = block.score_and_gram(score, terms.fisher, intercept)
    elif spec.information == "fisher":
        out.gram = block.gram(terms.fisher, intercept)
    elif spec.score:
        gradient = block.rmatvec(score)
    if gradient is not None:
        out.gradient = np.concatenate([[score.sum()], gradient]) if intercept else gradient
    if spec.information == "qr":
        out.rfactor = block_rfactor(block, terms.fisher, terms.working_residual, intercept)
    return out


def deviance_pass(block, y, offset, sample_weight, eta_constant, family) -> PassSums:
    """Deviance and Pearson's χ² with ``eta = eta_constant + offset`` (no design columns)."""
    eta = np.full(block.n_rows, eta_constant, dtype=np.float64)
    if offset is not None:
        eta += offset
    terms = RowTerms(family, y, eta, sample_weight)
    if terms.n_invalid:
        return PassSums(deviance=np.inf, n_invalid=terms.n_invalid)
    return PassSums(deviance=terms.deviance, pearson=terms.pearson)


__all__ += ["block_rfactor", "deviance_pass", "linear_predictor", "safe_ratio"]
