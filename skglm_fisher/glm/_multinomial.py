"""Multinomial logit by Fisher scoring: the solver of the classifier's multi-class model.

Conventions
-----------
``K`` classes coded ``0..K-1``; class 0 is the reference, its linear predictor is 0. The free
coefficients ``B`` have shape ``(K-1, q)`` with ``q = n_features + fit_intercept``: row ``k-1``
belongs to class ``k`` and puts its intercept first. The linear algebra works on
``theta = B.ravel()`` (class by class), so the information is a ``(K-1)q`` square matrix of
``q × q`` blocks.

Per row, with ``x`` (a leading 1 for the intercept), probabilities ``p`` and prior weight ``s``
(:mod:`skglm_fisher.glm._categorical_rows`), the score is ``s (e_y - p) ⊗ x`` and the Fisher
information ``s F ⊗ x xᵀ`` with ``F = diag(p) - p pᵀ`` over the non-reference classes. Summed
over rows, block ``(k, l)`` of the information is ``Xᵀ diag(s F_kl) X``: ``K(K-1)/2`` distinct
weighted Grams per pass. The diagonal weights ``s p_k (1 - p_k)`` are non-negative and the others
``-s p_k p_l`` non-positive, so every block is plus or minus the Gram of a square-root-scaled copy
of the row block: one BLAS ``syrk`` each, on a transposed copy of the block made once per block
(measured on 5,000 × 51 blocks with five classes, one thread: 6.7 ms for the ten Grams against
18 ms for ``syrk`` of row-major scaled copies, 15 ms for one GEMM against the stacked weighted
copies and 69 ms for one ``syrk`` of the Kronecker rows). The logit is canonical, so Fisher
scoring with fresh information is Newton's method.

Those Grams cost as much as 25 passes that compute the score alone (which read each block once
for the linear predictors and the score), so the steps are mostly chord steps with the
information of an earlier point, corrected by the score differences since, as the GLM solver
takes them for wide designs (see :mod:`skglm_fisher.glm._solver`).

The solver minimises ``F(theta) = ½ Σ s·dev + ½ (theta - m)ᵀ Λ (theta - m)`` with the named
steps, step halving, convergence rule (``Gᵀ H⁻¹ G <= tol · (2F + 0.1)``), factors and aliasing
of :class:`~skglm_fisher.glm._solver.IRLSSolver`, which it extends: this module supplies the
passes over the rows (``setup``, ``update_information``, ``_evaluate``), the choice of the
information, and the final statistics (``finalize``); the result is an
:class:`~skglm_fisher.glm._irls.IRLSResult` over ``theta``. The QR route factors the rows
``sqrt(s) (b_j ⊗ x)`` with the targets of :class:`CategoricalRows`, whose normal equations are
the information and the score.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from skglm_fisher.glm._categorical_rows import CategoricalRows, pairs
from skglm_fisher.glm._linalg import stack_r
from skglm_fisher.glm._passes import PassSums
from skglm_fisher.glm._penalties import QuadraticPenalty
from skglm_fisher.glm._recursive import StreamTotals, recursive_solve
from skglm_fisher.glm._solver import FRESH_INFORMATION, IRLSResult, IRLSSolver, IRLSState

__all__ = [
    "MultinomialProblem",
    "MultinomialSolver",
    "MultinomialSpec",
    "class_totals",
    "iteration_pass",
    "null_deviance",
    "recursive_multinomial_update",
    "statistics_pass",
]

#: Rows of a block whose Kronecker rows (``K`` per row) are triangularised at once by the QR
#: route, keeping its temporaries to a few MB.
QR_CHUNK_ROWS = 512
# --------------------------------------------------------------------------------------------
# Row-block kernels
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MultinomialSpec:
    """What a pass computes (picklable, so that Dask workers can run it).

    ``information``: None (the deviance only), ``'score'`` (the score alone), ``'fisher'``
    (score and the pair Grams) or ``'qr'`` (score and the ``R`` of the Kronecker rows);
    ``meat`` adds the sandwich's meat, ``boundary`` the count of rows at a probability of 0 or
    1 (for the final pass).
    """

    n_classes: int
    fit_intercept: bool
    information: str | None = None
    meat: bool = False
    boundary: bool = False


def _split(coef, spec):
    """``coef`` as the ``(K-1, q)`` matrix, and its columns of features."""
    matrix = np.asarray(coef, dtype=np.float64).reshape(spec.n_classes - 1, -1)
    return matrix, matrix[:, 1:] if spec.fit_intercept else matrix


def _linear_predictors(block, coef, spec) -> np.ndarray:
    """The linear predictors of the non-reference classes, class-major: (K-1, n_rows)."""
    matrix, features = _split(coef, spec)
    X = block.X
    if hasattr(X, "tocsr"):
        eta = np.asarray(X @ features.T, dtype=np.float64).T
    else:
        eta = features @ X.T
    eta = np.ascontiguousarray(eta, dtype=np.float64).reshape(matrix.shape[0], block.n_rows)
    if spec.fit_intercept:
        eta += matrix[:, :1]
    return eta


def _transposed(block, intercept):
    """``[1, X_block]ᵀ`` (or ``X_blockᵀ``) as a contiguous float64 array."""
    X = block.dense()
    out = np.empty((X.shape[1] + intercept, X.shape[0]))
    if intercept:
        out[0] = 1.0
    out[intercept:] = X.T
    return out


def _score_sum(block, score, intercept) -> np.ndarray:
    """``score [1, X]`` for the class-major ``score``, flat in ``theta``'s order."""
    X = block.X
    if hasattr(X, "tocsr"):
        gradient = np.asarray(X.T @ score.T, dtype=np.float64).T
    else:
        gradient = np.asarray(score @ X, dtype=np.float64)
    if intercept:
        gradient = np.column_stack([score.sum(axis=1), gradient])
    return gradient.ravel()


def _pair_grams(block, weights, intercept):
    """Summable parts of ``[1, X]ᵀ diag(|w|) [1, X]`` for each row of ``weights`` (see
    :meth:`MultinomialSolver._assemble` for the signs); the engine's Gram for sparse and
    one-hot blocks, ``syrk`` of a transposed copy for dense ones."""
    if block.design.structure is not None or hasattr(block.X, "tocsr"):
        return np.stack([block.gram(np.abs(w), intercept) for w in weights])
    design_t = _transposed(block, intercept)
    scaled = np.empty_like(design_t)
    out = np.empty((weights.shape[0], design_t.shape[0], design_t.shape[0]))
    for m, w in enumerate(weights):
        np.multiply(design_t, np.sqrt(np.abs(w)), out=scaled)
        np.matmul(scaled, scaled.T, out=out[m])
    return out


def _constant_probability_pass(block, y, sample_weight, coef, spec) -> PassSums:
    """:func:`iteration_pass` at an intercept-only point: every row has the same
    probabilities there, so each pair Gram is one number times ``[1, X]ᵀ diag(s) [1, X]``."""
    intercepts = _split(coef, spec)[0][:, :1]
    eta = np.broadcast_to(intercepts, (intercepts.shape[0], block.n_rows))
    rows = CategoricalRows(y, eta, sample_weight)
    if rows.n_invalid:
        return PassSums(deviance=np.inf, n_invalid=rows.n_invalid)
    out = PassSums(deviance=rows.deviance, pearson=rows.pearson)
    out.gradient = _score_sum(block, rows.score, True)
    one = CategoricalRows(y[:1], intercepts).pair_weights()[:, 0]
    gram = block.plain_gram(1.0) if sample_weight is None else block.gram(sample_weight, True)
    out.gram = np.multiply.outer(np.abs(one), gram)
    return out


def _block_rfactor(block, rows, spec) -> np.ndarray:
    """``R`` of the Kronecker rows ``[sqrt(s) (b_j ⊗ x), t_j]`` of a block (see
    :meth:`CategoricalRows.factor_rows`), in chunks of :data:`QR_CHUNK_ROWS` rows."""
    factor, targets = rows.factor_rows()
    X = block.dense()
    if spec.fit_intercept:
        X = np.column_stack([np.ones(X.shape[0]), X])
    n_classes, q = spec.n_classes, X.shape[1]
    width = (n_classes - 1) * q + 1
    r = None
    for start in range(0, X.shape[0], QR_CHUNK_ROWS):
        stop = min(X.shape[0], start + QR_CHUNK_ROWS)
        kron = factor[start:stop, :, :, None] * X[start:stop, None, None, :]
        stacked = np.column_stack([kron.reshape(-1, width - 1), targets[start:stop].ravel()])
        part = np.linalg.qr(stacked, mode="r")
        if part.shape[0] < width:
            part = np.vstack([part, np.zeros((width - part.shape[0], width))])
        r = part[:width] if r is None else stack_r(r, part[:width])
    return r if r is not None else np.zeros((width, width))


def _information(block, rows, spec, out):
    """Add the information ``spec`` asks for (pair Grams or ``R``) to ``out``."""
    if spec.information == "fisher":
        out.gram = _pair_grams(block, rows.pair_weights(), spec.fit_intercept)
    elif spec.information == "qr":
        out.rfactor = _block_rfactor(block, rows, spec)
    return out


def iteration_pass(block, y, offset, sample_weight, coef, spec: MultinomialSpec) -> PassSums:
    """The :class:`PassSums` of one row block at ``coef`` (flat ``theta``) for one iteration:
    the deviance, and for a step the score with the pair Grams or the ``R`` factor."""
    if spec.information == "fisher" and spec.fit_intercept and not np.any(_split(coef, spec)[1]):
        return _constant_probability_pass(block, y, sample_weight, coef, spec)
    rows = CategoricalRows(y, _linear_predictors(block, coef, spec), sample_weight)
    if rows.n_invalid:
        return PassSums(deviance=np.inf, n_invalid=rows.n_invalid)
    out = PassSums(deviance=rows.deviance, pearson=rows.pearson)
    if spec.information is not None:
        out.gradient = _score_sum(block, rows.score, spec.fit_intercept)
    return _information(block, rows, spec, out)


def statistics_pass(block, y, offset, sample_weight, coef, spec: MultinomialSpec) -> PassSums:
    """What the fitted model reports at ``coef``: deviance, Pearson's χ², the log-likelihood,
    rows at the boundary, and as ``spec`` asks the meat and the information (with the score)."""
    rows = CategoricalRows(y, _linear_predictors(block, coef, spec), sample_weight)
    if rows.n_invalid:
        return PassSums(deviance=np.inf, n_invalid=rows.n_invalid)
    out = PassSums(deviance=rows.deviance, pearson=rows.pearson)
    out.log_likelihood = -0.5 * out.deviance
    if spec.boundary:
        out.n_boundary, out.n_positive = rows.boundary_counts()
    if spec.meat:
        X = block.dense()
        if spec.fit_intercept:
            X = np.column_stack([np.ones(X.shape[0]), X])
        scores = (rows.score.T[:, :, None] * X[:, None, :]).reshape(X.shape[0], -1)
        out.meat = scores.T @ scores
    if spec.information is not None:
        out.gradient = _score_sum(block, rows.score, spec.fit_intercept)
    return _information(block, rows, spec, out)


def _class_totals_pass(block, y, offset, sample_weight, n_classes):
    return np.bincount(y, weights=sample_weight, minlength=n_classes).astype(np.float64)


def class_totals(design, n_classes) -> np.ndarray:
    """``Σ s`` per class (one pass over the codes)."""
    return design.map_reduce(_class_totals_pass, n_classes)


def null_deviance(totals, fit_intercept) -> float:
    """Deviance of the model without features: the class shares with an intercept
    (``-2 Σ_k S_k log(S_k / S)``), else equal probabilities (``2 S log K``)."""
    totals = np.asarray(totals, dtype=np.float64)
    total = totals.sum()
    if not fit_intercept:
        return float(2.0 * total * np.log(totals.size))
    positive = totals > 0
    return float(-2.0 * totals[positive] @ np.log(totals[positive] / total))


# --------------------------------------------------------------------------------------------
# The solver
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MultinomialProblem:
    """Frozen inputs of a multinomial fit.

    Attributes
    ----------
    design : LocalDesign
        Rows of ``X`` with the class codes (int) as the response and the sample weights.
    n_classes : int
    penalty : QuadraticPenalty or ndarray of shape (n_coef,)
        Over ``theta``; a vector is the diagonal (zero for the intercepts).
    fit_intercept, solver, tol, max_iter, learning_rate, verbose, robust
        As :class:`~skglm_fisher.glm._irls.IRLSProblem`; the solver is 'cholesky' or 'qr'
        ('observed' is 'cholesky': the logit is canonical).
    """

    design: object
    n_classes: int
    penalty: object
    fit_intercept: bool = True
    solver: str = "cholesky"
    tol: float = 1e-8
    max_iter: int = 100
    learning_rate: float = 1.0
    verbose: int = 0
    robust: bool = False

    #: Fisher weights depend on the coefficients (read by the inherited steps).
    constant_information = False
    #: No L1 penalty (the multinomial model has a ridge penalty only).
    l1 = None

    def __post_init__(self):
        if not isinstance(self.penalty, QuadraticPenalty):
            vector = np.asarray(self.penalty, dtype=np.float64)
            object.__setattr__(self, "penalty", QuadraticPenalty(vector))

    @property
    def n_columns(self) -> int:
        return self.design.n_features + self.fit_intercept

    @property
    def n_coef(self) -> int:
        return (self.n_classes - 1) * self.n_columns

    @property
    def information_kind(self) -> str:
        return "qr" if self.solver == "qr" else "fisher"

    def spec(self, information=None, **statistics) -> MultinomialSpec:
        return MultinomialSpec(self.n_classes, self.fit_intercept, information, **statistics)


class MultinomialSolver(IRLSSolver):
    """Penalised Fisher scoring of the multinomial logit; see the module docstring.

    Examples
    --------
    >>> import numpy as np
    >>> from skglm_fisher.glm._design import make_design
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2))
    >>> logits = np.column_stack([np.zeros(300), X @ [1.0, -1.0], X @ [0.5, 0.5]])
    >>> p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    >>> y = (p.cumsum(axis=1) > rng.random((300, 1))).argmax(axis=1)
    >>> problem = MultinomialProblem(make_design(X, y), 3, penalty=np.zeros(6))
    >>> result = MultinomialSolver(problem).solve()
    >>> result.converged, np.round(result.coef.reshape(2, 3), 2)
    (True, array([[-0.07,  0.88, -1.24],
           [ 0.02,  0.53,  0.48]]))
    """

    problem: MultinomialProblem
    _wide_steps = False  # its passes build their own Grams

    def __init__(self, problem: MultinomialProblem):
        super().__init__(problem)
        self.class_totals = None
        self.n_information = 0  # passes that computed the information
        self._chord.enabled = True

    # -- named steps ----------------------------------------------------------------------
    def setup(self, coef0=None):
        """Set ``state`` at the start with the objective, gradient and information there.

        Candidates, the one with the lowest objective taken: ``coef0`` if given, and the
        model without features (with an intercept: the log ratios of the class totals, when
        every class has weight; else zeros).
        """
        pb = self.problem
        self.class_totals = class_totals(pb.design, pb.n_classes)
        start = np.zeros((pb.n_classes - 1, pb.n_columns))
        if pb.fit_intercept and np.all(self.class_totals > 0):
            start[:, 0] = np.log(self.class_totals[1:] / self.class_totals[0])
        candidates = [start.ravel()]
        if coef0 is not None:
            candidates = self._rank_candidates([np.asarray(coef0, dtype=np.float64).ravel(),
                                                start.ravel()])  # fmt: skip
        for coef in candidates:
            sums = self._evaluate(coef, information=True)
            if sums.valid:
                self.state = IRLSState(coef=coef, aliased=np.zeros(pb.n_coef, dtype=bool))
                self.update_information(sums)
                return
        raise ValueError(  # pragma: no cover - the model without features is always valid
            "No valid starting coefficients for the multinomial logit."
        )

    def update_information(self, sums: PassSums):
        """Store the gradient, information and objective of a pass in ``state``."""
        pb, st = self.problem, self.state
        if sums.gram is not None:
            st.gram, st.gram_kind = self._assemble(sums.gram), "fisher"
        st.rfactor = sums.rfactor
        st.gradient = sums.gradient - pb.penalty.gradient(st.coef)
        st.deviance, st.pearson = sums.deviance, sums.pearson
        st.objective = self._objective(st.coef, sums.deviance)

    def finalize(self) -> IRLSResult:
        """Take the last (converged) step in the statistics pass, which also computes the
        information there (unless the step is at rounding level and the information current),
        and return the result.

        After chord steps, the decrement is checked with that information and one Newton step
        with it is taken, as the GLM solver does (``_last_newton_step``).
        """
        pb, st = self.problem, self.state
        chord = st.gram_stale
        step = st.converged and st.step is not None and bool(np.any(st.step != 0))
        fresh = chord or (step and st.decrement > FRESH_INFORMATION * self._objective_scale())
        spec = pb.spec(pb.information_kind if fresh else None, meat=pb.robust, boundary=True)
        sums = None
        if step:
            coef = st.coef + pb.learning_rate * st.step
            trial = pb.design.map_reduce(statistics_pass, coef, spec)
            if trial.valid and self._objective(coef, trial.deviance) <= self._allowed(st.objective):
                st.coef, sums = coef, trial
                st.n_iter += 1
        if sums is None:
            if not chord:
                spec = replace(spec, information=None)
            sums = pb.design.map_reduce(statistics_pass, st.coef, spec)
        if spec.information == "fisher":
            st.gram, st.gram_kind = self._assemble(sums.gram), "fisher"
            st.factor, st.rfactor = self._cholesky(st.gram, keep=~st.aliased), None
            if chord and st.converged:
                if not self._converged_after_chord(sums):
                    return self._resume(sums)
                cheap = pb.spec(boundary=True)
                sums = self._last_newton_step(
                    sums, lambda at: pb.design.map_reduce(statistics_pass, at, cheap)
                )
        elif spec.information == "qr":
            st.rfactor, st.factor = sums.rfactor, None
        st.deviance, st.pearson = sums.deviance, sums.pearson
        st.objective = self._objective(st.coef, sums.deviance)
        factor, rank, gram = self.final_information()
        self._check_boundary(sums)
        # Rows at the boundary are reported by the estimator, which knows the class labels.
        self._warn(PassSums(), factor, rank)
        return self._result(sums, gram, factor, rank, factor.aliased.copy(),
                            null_deviance(self.class_totals, pb.fit_intercept), sums.meat)

    # -- hooks of the inherited steps -----------------------------------------------------
    def _evaluate(self, coef, information) -> PassSums:
        """One iteration pass at ``coef``; ``information`` False, True, ``'score'`` or
        ``'qr'``."""
        pb = self.problem
        kind = pb.information_kind if information is True else information or None
        if kind in ("fisher", "qr"):
            self.n_information += 1
        return pb.design.map_reduce(iteration_pass, coef, pb.spec(kind))

    def _assemble(self, parts) -> np.ndarray:
        """The information ``Σ s F ⊗ x xᵀ`` from the summed pair Grams (weights ``|s F_kl|``)."""
        pb = self.problem
        q, n_free = pb.n_columns, pb.n_classes - 1
        out = np.empty((n_free * q, n_free * q))
        for part, (k, l) in zip(parts, pairs(n_free), strict=True):
            gram = pb.design.finish_gram(part, pb.fit_intercept)
            block = gram if k == l else -gram
            out[k * q : (k + 1) * q, l * q : (l + 1) * q] = block
            out[l * q : (l + 1) * q, k * q : (k + 1) * q] = block.T
        return out


# --------------------------------------------------------------------------------------------
# Streaming
# --------------------------------------------------------------------------------------------
def recursive_multinomial_update(problem: MultinomialProblem, totals: StreamTotals) -> IRLSResult:
    """Update a streamed multinomial fit with the batch of ``problem.design``: the recursion of
    :func:`skglm_fisher.glm._recursive.recursive_solve` with the multinomial solver
    (``null_deviance`` is the batch's; the caller knows the class totals of the stream)."""
    return recursive_solve(problem, totals, solver=MultinomialSolver, dispersion=1.0)
