"""Penalised Fisher scoring (IRLS) for the estimators, as a small template-method solver.

Conventions
-----------
The solver minimises, over ``coef`` (intercept *first* when there is one),

    F(coef) = ½ · Σ_i s_i · unit_deviance(y_i, mu_i) + ½ · (coef - m)ᵀ Λ (coef - m)

with ``mu = inverse_link(X coef + offset)``, sample weights ``s`` and a quadratic penalty
(:class:`~skglm_fisher.glm._penalties.QuadraticPenalty`): for the estimators' ridge,
``Λ = diag(P)`` with ``P = alpha · Σs · pf²`` (zero for the intercept) and ``m = 0``, which is
scikit-learn's GLM objective multiplied by ``Σs``; a recursive (streaming) update uses the
information of the earlier batches as ``Λ``. The per-row quantities are those of
:class:`~skglm_fisher.glm._row_terms.RowTerms`: score ``r``, Fisher weight ``w``.

An iteration is one pass over the rows that returns the deviance, the gradient
``G = Xᵀ r - Λ (coef - m)`` and the information ``H = Xᵀ diag(w) X + Λ`` (or, for the QR solver,
the ``R`` factor of ``sqrt(w) ⊙ X``), then the step ``Δ = H⁻¹ G`` from a factor of ``H``
(:mod:`skglm_fisher.glm._linalg`): an equilibrated Cholesky factor while it is well conditioned,
else a QR factor of the weighted rows, which also finds aliased columns; their coefficients are
held at 0. Convergence is declared when the Newton decrement ``Gᵀ H⁻¹ G`` (the decrease of ``2F``
the next full step predicts) falls below ``tol · (2F + 0.1)``, the scaled form of R's
``|Δdev| / (dev + 0.1) < epsilon``.

Where the information costs many times a pass that computes the score alone (wide dense
designs, :data:`~skglm_fisher.glm._design.WIDE_MIN_COLUMNS`, and the multinomial
logit), a step may reuse the information of an earlier point (a chord step): a step needs the
information only roughly, since the score fixes the solution. The earlier information is
corrected by the score differences of the steps taken since (limited-memory BFGS pairs,
:mod:`skglm_fisher.glm._chord`), which turns the chord iteration's linear convergence
superlinear. Chord steps go on while each shrinks the decrement to at most
:data:`~skglm_fisher.glm._chord.REFRESH_CONTRACTION` of the last one without halving;
otherwise the next pass computes the information again. Once the decrement passes the
convergence rule, cheap steps go on until it is below :data:`FRESH_INFORMATION` of the
objective; the final pass then computes the information in float64 there, one Newton step with
it brings the coefficients to the optimum within rounding, and a last pass without the
information takes the deviance at them. Wide dense designs also take the information of a step
in float32 while it is well conditioned (:data:`SINGLE_PRECISION_MAX_CONDITION`). What is
reported never comes from such an information.

The steps are the methods of :class:`IRLSSolver` (``setup``, ``update_information``,
``inner_solve``, ``check_convergence``, ``line_search``, ``finalize``). Its frozen inputs live in
:class:`~skglm_fisher.glm._irls.IRLSProblem`; everything that changes between iterations lives
in :class:`~skglm_fisher.glm._irls.IRLSState`; it returns an
:class:`~skglm_fisher.glm._irls.IRLSResult` holding everything a fitted model reports.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skglm_fisher.exceptions import BoundaryFitWarning, SingularInformationWarning
from skglm_fisher.glm._chord import ChordSteps
from skglm_fisher.glm._irls import IRLSProblem, IRLSResult, IRLSState
from skglm_fisher.glm._linalg import (
    InformationFactor,
    cholesky_factor,
    qr_factor,
    solve_in_factor,
)
from skglm_fisher.glm._passes import (
    IterationSpec,
    PassSums,
    StatisticsSpec,
    deviance_pass,
    iteration_pass,
    statistics_pass,
)
from skglm_fisher.glm._row_terms import warn_boundary
from skglm_fisher.glm._start import (
    InterceptOnly,
    intercept_only_fit,
    null_model_deviance,
    working_start_pass,
)

__all__ = ["IRLSProblem", "IRLSResult", "IRLSSolver", "IRLSState"]

#: Step halvings tried before the line search gives up.
MAX_HALVINGS = 40
#: Designs of at most this many elements (rows × coefficients) also try R's start.
SMALL_DESIGN = 1 << 20
#: Decrement (relative to the objective) below which the last step leaves the information
#: unchanged to about 1e-8 (measured: the relative change of the standard errors is about
#: 0.4·sqrt of this ratio), so that the final pass need not recompute it.
FRESH_INFORMATION = 1e-15
#: Largest condition number (LAPACK's 1-norm estimate) of the equilibrated Cholesky factor for
#: which the steps of a wide dense fit keep taking their Gram in float32. The float32 product
#: perturbs the equilibrated information by about 1e-6 per entry, so a step is that much times
#: the conditioning off Newton's: it converges a little slower than quadratically, while the
#: score, the deviance and the statistics stay in float64, so that the fixed point and the
#: reported numbers are those of a float64 fit. A step that fails to shrink the decrement by
#: :data:`SINGLE_PRECISION_MIN_CONTRACTION` also returns the fit to float64 Grams.
SINGLE_PRECISION_MAX_CONDITION = 1e3
SINGLE_PRECISION_MIN_CONTRACTION = 0.25


# --------------------------------------------------------------------------------------------
# The solver
# --------------------------------------------------------------------------------------------
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
        if problem.l1 is not None and not self._solves_l1:
            raise TypeError(
                "This problem has an L1 penalty: solve it with L1IRLSSolver "
                "(skglm_fisher.glm._l1_solver)."
            )
        self.problem = problem
        self.state: IRLSState | None = None
        # Wide dense designs take chord steps (their information costs far more than the
        # score), and for float64 data the Gram of a step in float32 while the information is
        # well conditioned; the statistics always recompute the information in float64.
        wide = (
            self._wide_steps
            and problem.solver == "cholesky"
            and not problem.constant_information
            and getattr(problem.design, "wide_steps_pay", False)
        )
        self._single_precision = wide and problem.design.single_precision_gram_pays
        self._chord = ChordSteps(enabled=wide)
        self._constant_gram = None
        self._constant_factor = None
        self._null: InterceptOnly | None = None
        self._start_deviance = (None, np.nan)

    # -- named steps ----------------------------------------------------------------------
    _solves_l1 = False
    #: Whether steps may be chord steps and use float32 Grams (subclasses whose passes differ
    #: opt out).
    _wide_steps = True

    def setup(self, coef0=None, exclusive=False):
        """Set ``state`` at the start and evaluate the objective, gradient and information there.

        Candidates, the one with the lowest objective taken: ``coef0`` if given; the
        intercept-only fit (with the offset) when there is an intercept and its maximum
        likelihood is finite; zeros without an intercept; and R's start (the weighted
        least-squares fit at ``eta = link(starting_mean(y))``) without an intercept or when a
        pass over the rows is cheap (:data:`SMALL_DESIGN` elements). R's start is also the last
        resort when no other candidate gives a valid linear predictor. (Newton steps for
        log-linear models shrink an overestimated linear predictor by about one per iteration,
        so a bad start can cost dozens of iterations; on large designs with an intercept, the
        two passes R's start costs outweigh the one or two iterations it saves, measured on
        1e6×50 Poisson and logistic fits.) With ``exclusive``, ``coef0`` is the only candidate
        (a warm start known to be good, such as the previous point of a regularisation path).
        """
        pb = self.problem
        q = pb.n_coef
        candidates = [] if coef0 is None else [np.asarray(coef0, dtype=np.float64)]
        if exclusive and candidates:
            sums = self._evaluate(candidates[0], information=True)
            if sums.valid:
                self.state = IRLSState(coef=candidates[0].copy(), aliased=np.zeros(q, dtype=bool))
                self.update_information(sums)
                self._start_deviance = (candidates[0].copy(), sums.deviance)
                return
        if pb.fit_intercept:
            self._null = intercept_only_fit(pb.design, pb.family)
            if self._null.finite:
                start = np.zeros(q)
                start[0] = self._null.intercept
                candidates.append(start)
        if not pb.fit_intercept or not candidates:
            candidates.append(np.zeros(q))
        if not pb.fit_intercept or pb.design.n_samples * q <= SMALL_DESIGN:
            candidates.append(self._working_start)
        if len(candidates) > 1:
            candidates = self._rank_candidates(candidates)
        candidates.append(self._working_start)  # the last resort
        for candidate in candidates:
            coef = candidate() if callable(candidate) else candidate
            if coef is None:
                continue
            sums = self._evaluate(coef, information=True)
            if sums.valid:
                self.state = IRLSState(coef=coef, aliased=np.zeros(q, dtype=bool))
                self.update_information(sums)
                self._start_deviance = (coef.copy(), sums.deviance)
                return
        raise ValueError(
            "No valid starting coefficients: the linear predictor leaves the domain of the "
            f"{pb.family.link.name!r} link (or the mean leaves that of the {pb.family.name} "
            "family). Fit an intercept, change the link, or pass an offset that keeps the "
            "linear predictor valid."
        )

    def update_information(self, sums: PassSums):
        """Store the gradient, information and objective of a pass in ``state``."""
        pb, st = self.problem, self.state
        if sums.gram is not None:
            st.gram = pb.design.finish_gram(sums.gram, pb.fit_intercept)
            st.gram_kind = "observed" if pb.information_kind == "observed" else "fisher"
            st.gram_single = sums.single_precision
        st.rfactor = sums.rfactor
        st.gradient = sums.gradient - pb.penalty.gradient(st.coef)
        st.deviance = sums.deviance
        st.pearson = sums.pearson
        st.objective = self._objective(st.coef, sums.deviance)

    def inner_solve(self):
        """Set ``state.step`` (``H⁻¹ G``), ``state.decrement`` (``Gᵀ H⁻¹ G``) and the factor.

        A Cholesky factor of the equilibrated information when it is well conditioned enough
        for a step; otherwise (or for the QR solver) a QR factor of the weighted rows, which
        also finds the aliased columns.
        """
        pb, st = self.problem, self.state
        factor = None
        chord = st.gram_stale and st.factor is not None and st.factor.method == "cholesky"
        if chord:
            factor = st.factor  # the information and factor of an earlier point
        elif pb.solver != "qr":
            factor = self._cholesky(st.gram, keep=~st.aliased)
            if st.gram_single and (
                factor is None or factor.condition > SINGLE_PRECISION_MAX_CONDITION
            ):
                # Too ill-conditioned (or aliased) for a float32 Gram: float64 from here on.
                self._single_precision = False
                self._information_again()
                factor = self._cholesky(st.gram, keep=~st.aliased)
        if factor is not None and factor.usable_for_step():
            st.step = self._chord_step(factor) if chord else self._cholesky_step(factor)
        else:
            if st.rfactor is None:
                st.rfactor = self._evaluate(st.coef, information="qr").rfactor
            factor, st.step = self._qr_step(st.rfactor)
        st.factor = factor
        st.aliased = factor.aliased.copy()
        decrement = float(st.gradient @ st.step)
        slow = decrement > SINGLE_PRECISION_MIN_CONTRACTION * st.decrement
        if st.gram_single and not st.gram_stale and slow:
            self._single_precision = False  # slow progress: nothing to gain from float32
        st.decrement = decrement

    def check_convergence(self) -> bool:
        """Converged when the decrement is below ``tol · (2F + 0.1)``.

        After a chord step, also decide whether the next pass recomputes the information (the
        step shrank the decrement by less than
        :data:`~skglm_fisher.glm._chord.REFRESH_CONTRACTION`); and with the
        information of an earlier point, a decrement that passes the rule sets ``converged``
        but the iteration goes on (with cheap passes) until the decrement is below
        :data:`FRESH_INFORMATION` of the objective, so that the final pass's information is
        that of the returned coefficients after one more Newton step (see :meth:`finalize`).
        """
        pb, st = self.problem, self.state
        self._chord.observe(st.decrement, st.gram_stale)
        st.converged = bool(st.decrement <= self._decrement_tolerance())
        if pb.verbose:
            print(
                f"[Fisher scoring] iteration {st.n_iter}: penalized deviance "
                f"{2 * st.objective:.10g}, decrement {st.decrement:.3g}"
            )
        polish = FRESH_INFORMATION * self._objective_scale()
        return st.converged and not (st.gram_stale and st.decrement > polish)

    def line_search(self) -> bool:
        """Take the step, halving it while the objective rises or turns non-finite.

        The first trial evaluates the information along with the objective (one pass in the
        usual case), or only the score for a chord step; after a halving, only the objective is
        evaluated until a step is accepted, and the information is then evaluated there.
        """
        pb, st = self.problem, self.state
        t = pb.learning_rate
        allowed = self._allowed(st.objective)
        chord = st.gram is not None and self._chord.wanted(st.factor)
        for halving in range(MAX_HALVINGS):
            coef = st.coef + t * st.step
            full = halving == 0
            if np.all(np.isfinite(coef)):
                wanted = ("score" if chord else True) if full else False
                sums = self._evaluate(coef, information=wanted)
                if sums.valid and self._objective(coef, sums.deviance) <= allowed:
                    if not full:
                        sums = self._evaluate(coef, information=True)
                    previous = st.coef, st.gradient
                    st.coef = coef
                    self.update_information(sums)
                    st.gram_stale = chord and full
                    self._remember_pair(*previous)
                    return True
            t *= 0.5
        st.line_search_failed = True
        return False

    def finalize(self) -> IRLSResult:
        """Take the last (converged) step, compute the statistics, warn, return the result.

        The convergence test needs the information at the current coefficients; the step it
        computes is taken in the statistics pass. That pass also computes the Fisher
        information at the final coefficients, unless the step is too small to change it
        (decrement below :data:`FRESH_INFORMATION` of the objective) or the information is
        constant; always when the last one was good for a step only (a float32 product, or an
        earlier point's). After chord steps, the decrement there is checked with the fresh
        information and one Newton step with it is taken (:meth:`_last_newton_step`). The
        standard errors are those of the returned coefficients (R's ``glm.fit`` uses the
        weights of its last iteration, one step stale: about 3e-5 relative on a Poisson fit
        that stops at the default tolerance).
        """
        pb, st = self.problem, self.state
        step = st.converged and st.step is not None and bool(np.any(st.step != 0))
        approximate = st.gram_single or st.gram_stale  # a step's information, not the final one
        chord = st.gram_stale
        fresh = (
            step
            and not pb.constant_information
            and (approximate or st.decrement > FRESH_INFORMATION * self._objective_scale())
        )
        kind = ("qr" if pb.solver == "qr" else "fisher") if fresh else None
        spec = StatisticsSpec(
            family=pb.family,
            fit_intercept=pb.fit_intercept,
            log_likelihood_dispersion=pb.log_likelihood_dispersion,
            boundary=True,
            meat=pb.robust,
            score=chord,
            information=kind,
        )
        sums = None
        if step:
            coef = st.coef + pb.learning_rate * st.step
            trial = pb.design.map_reduce(statistics_pass, coef, spec)
            if trial.valid and self._objective(coef, trial.deviance) <= self._allowed(
                st.objective
            ):
                st.coef, sums = coef, trial
                st.n_iter += 1
                if kind == "fisher":
                    self._fresh_gram(trial.gram)
                elif kind == "qr":
                    st.rfactor, st.factor = trial.rfactor, None
                if chord:
                    if not self._converged_after_chord(trial):
                        return self._resume(trial)
                    cheap = replace(spec, meat=False, score=False, information=None)
                    sums = self._last_newton_step(
                        trial, lambda at: pb.design.map_reduce(statistics_pass, at, cheap)
                    )
        if sums is None:
            # The step was not taken: the statistics at the current coefficients (with their
            # information again if the last one was only good for a step).
            spec = StatisticsSpec(spec.family, spec.fit_intercept,
                                  spec.log_likelihood_dispersion, True, pb.robust,
                                  information="fisher" if approximate else None)  # fmt: skip
            sums = pb.design.map_reduce(statistics_pass, st.coef, spec)
            if approximate:
                self._fresh_gram(sums.gram)
        st.deviance, st.pearson = sums.deviance, sums.pearson
        st.objective = self._objective(st.coef, sums.deviance)
        covariance_factor, rank, gram = self.final_information()
        self._check_boundary(sums)
        self._warn(sums, covariance_factor, rank)
        meat = None if sums.meat is None else pb.design.finish_gram(sums.meat, pb.fit_intercept)
        return self._result(sums, gram, covariance_factor, rank, covariance_factor.aliased.copy(),
                            self._null_deviance() if pb.null_model else np.nan, meat)  # fmt: skip

    def _check_boundary(self, sums):
        """Every fitted mean on the boundary: the iterates stop because every weight vanished,
        not at a maximum of the likelihood (not converged)."""
        if sums.n_boundary and sums.n_boundary == sums.n_positive:
            self.state.converged, self.state.boundary_stop = False, True

    def _result(self, sums, gram, factor, rank, aliased, null_deviance, meat) -> IRLSResult:
        """The :class:`IRLSResult` of the final state and pass ``sums``, with the information
        ``gram`` (unpenalised), its covariance ``factor``, ``rank`` and ``aliased`` set."""
        st = self.state
        return IRLSResult(
            coef=st.coef, n_iter=st.n_iter, converged=st.converged, deviance=st.deviance,
            pearson=st.pearson, objective=st.objective, gram=gram,
            information=self.problem.penalty.add_to(gram), factor=factor, rank=rank,
            aliased=aliased, null_deviance=null_deviance, null=self._null,
            log_likelihood=sums.log_likelihood, n_boundary=sums.n_boundary,
            n_positive=sums.n_positive, meat=meat,
        )  # fmt: skip

    def _objective_scale(self, objective=None) -> float:
        """``2F + 0.1`` (``F`` the current objective by default): what decrements, KKT
        violations and their tolerances are relative to."""
        return abs(2.0 * (self.state.objective if objective is None else objective)) + 0.1

    def _decrement_tolerance(self, objective=None) -> float:
        return self.problem.tol * self._objective_scale(objective)

    def _converged_after_chord(self, sums) -> bool:
        """Whether the decrement at the end of a chord step, with the fresh information of
        the final pass (``sums``, computed with the score), is below
        :data:`FRESH_INFORMATION` of the objective: the last Newton step then leaves that
        information unchanged to about 1e-8."""
        st = self.state
        factor = st.factor
        if factor is None or not factor.usable_for_step():
            return True  # the covariance takes the QR route; the step was a small one
        gradient = sums.gradient - self.problem.penalty.gradient(st.coef)
        scale = self._objective_scale(self._objective(st.coef, sums.deviance))
        return float(gradient @ factor.solve(gradient)) <= FRESH_INFORMATION * scale

    def _last_newton_step(self, sums, statistics):
        """After chord steps: one Newton step from the coefficients of the final pass
        (``sums``, with the score and the fresh information there), then the statistics at its
        end from ``statistics(coef)``, a pass without the information (the meat stays that of
        ``sums``). The step is below :data:`FRESH_INFORMATION` of the objective, so that the
        information still is that of the returned coefficients, which it brings to the optimum
        within rounding."""
        pb, st = self.problem, self.state
        if st.factor is None or not st.factor.usable_for_step():
            return sums
        st.gradient = sums.gradient - pb.penalty.gradient(st.coef)
        coef = st.coef + self._cholesky_step(st.factor)
        at = statistics(coef)
        if not at.valid or self._objective(coef, at.deviance) > self._allowed(
            self._objective(st.coef, sums.deviance)
        ):
            return sums
        st.coef = coef
        st.n_iter += 1
        at.meat = sums.meat
        return at

    def _resume(self, sums) -> IRLSResult:
        """Iterate on from the end of a chord step that did not converge (the final pass's
        ``sums`` are an iteration's: deviance, score and float64 information)."""
        st = self.state
        st.gradient = sums.gradient - self.problem.penalty.gradient(st.coef)
        st.deviance, st.pearson = sums.deviance, sums.pearson
        st.objective = self._objective(st.coef, sums.deviance)
        st.gram_stale, st.converged = False, False
        self._chord.stop()
        self.iterate()
        return self.finalize()

    def _information_again(self):
        """Evaluate the information at the current coefficients (as the steps compute it)."""
        self.update_information(self._evaluate(self.state.coef, information=True))
        self.state.gram_stale = False
        self._chord.forget()

    def _fresh_gram(self, part):
        """Take the float64 Fisher information of the statistics pass (``part``, a sum of
        block parts) and its Cholesky factor as the final ones."""
        st = self.state
        st.gram = self.problem.design.finish_gram(part, self.problem.fit_intercept)
        st.gram_kind, st.gram_single = "fisher", False
        st.factor, st.rfactor = self._cholesky(st.gram, keep=~st.aliased), None

    def solve(self, coef0=None) -> IRLSResult:
        """Run ``setup``, ``iterate`` and ``finalize``."""
        self.setup(coef0)
        self.iterate()
        return self.finalize()

    def iterate(self):
        """Repeat ``inner_solve`` / ``check_convergence`` / ``line_search`` from ``state``."""
        st = self.state
        while True:
            self.inner_solve()
            if self.check_convergence():
                break
            if st.n_iter >= self.problem.max_iter or not self.line_search():
                break
            st.n_iter += 1

    def log_likelihood(self, coef, dispersion) -> float:
        """The log-likelihood at ``coef`` and ``dispersion`` (one pass over the rows)."""
        pb = self.problem
        spec = StatisticsSpec(pb.family, pb.fit_intercept, log_likelihood_dispersion=dispersion)
        return pb.design.map_reduce(statistics_pass, coef, spec).log_likelihood

    # -- helpers --------------------------------------------------------------------------
    def _objective(self, coef, deviance):
        return 0.5 * deviance + self.problem.penalty.value(coef)

    @staticmethod
    def _allowed(objective):
        return objective + 1e-12 * abs(objective) + 1e-300

    def _evaluate(self, coef, information) -> PassSums:
        """One iteration pass at ``coef``; ``information`` False, True or ``'qr'``."""
        pb = self.problem
        kind = pb.information_kind if information is True else information or None
        reuse = kind == "fisher" and pb.constant_information and self._constant_gram is not None
        # Constant Fisher weights: once the information is known, a pass needs only the score.
        single = self._single_precision and kind == "fisher"
        spec = IterationSpec(pb.family, pb.fit_intercept, "score" if reuse else kind, single)
        sums = pb.design.map_reduce(iteration_pass, coef, spec)
        sums.single_precision = single
        if reuse and sums.valid:
            sums.gram = self._constant_gram
        elif kind == "fisher" and pb.constant_information and sums.valid:
            self._constant_gram = sums.gram
        return sums

    def _cholesky(self, gram, keep):
        pb = self.problem
        if pb.constant_information and self._constant_factor is not None:
            if np.array_equal(self._constant_factor.keep, keep):
                return self._constant_factor
        factor = cholesky_factor(pb.penalty.add_to(gram), keep=keep)
        if pb.constant_information:
            self._constant_factor = factor
        return factor

    def _cholesky_step(self, factor: InformationFactor) -> np.ndarray:
        """``H⁻¹ G`` over the identified columns; aliased coefficients are brought to 0 and the
        others compensate (``H_KK Δ_K = G_K + H_KA coef_A``)."""
        st = self.state
        rhs = st.gradient.copy()
        aliased = factor.aliased
        if np.any(st.coef[aliased]):
            h = self.problem.penalty.add_to(st.gram)
            rhs = rhs + h[:, aliased] @ st.coef[aliased]
        step = factor.solve(rhs)
        step[aliased] = -st.coef[aliased]
        return step

    def _chord_step(self, factor: InformationFactor) -> np.ndarray:
        """A chord step: ``B⁻¹ G`` with ``B`` the earlier information (``factor``) corrected by
        the remembered pairs (:class:`~skglm_fisher.glm._chord.ChordSteps`)."""
        st = self.state
        if not self._chord.pairs or np.any(st.coef[factor.aliased]):
            return self._cholesky_step(factor)
        return self._chord.direction(factor, st.gradient)

    def _remember_pair(self, coef, gradient):
        """After a step from ``coef`` (with ``gradient`` there): keep the step and the change
        of ``G`` while the information is an earlier point's, forget them once it is computed
        again."""
        st = self.state
        if st.gram_stale:
            self._chord.remember(st.coef - coef, gradient - st.gradient, st.factor.scale)
        else:
            self._chord.forget()

    def _qr_step(self, rfactor):
        """Least-squares step from the ``R`` of ``sqrt(w)·[X, z]`` stacked with the penalty."""
        pb, st = self.problem, self.state
        q = pb.n_coef
        rows, targets = rfactor[:, :q], rfactor[:, q].copy()
        previous = st.aliased if st.aliased is not None else np.zeros(q, dtype=bool)
        if np.any(st.coef[previous]):
            targets += rows[:, previous] @ st.coef[previous]
        penalty_rows, penalty_targets = pb.penalty.rows(st.coef)
        factor, transformed = qr_factor(
            np.vstack([rows, penalty_rows]), np.concatenate([targets, penalty_targets])
        )
        step = solve_in_factor(factor, transformed)
        step[factor.aliased] = -st.coef[factor.aliased]
        return factor, step

    def final_information(self):
        """``(factor, rank, gram)`` at the final coefficients: a factor of the penalised Fisher
        information fit for the covariance, the rank of the unpenalised one, and the
        unpenalised Fisher information; a QR pass over the rows where the last Cholesky factor
        is not good enough (or the iterations used another matrix)."""
        st = self.state
        factor, rank = self._covariance_factor()
        gram = st.gram
        if factor is None or st.gram_kind != "fisher":
            if st.rfactor is None:
                st.rfactor = self._evaluate(st.coef, information="qr").rfactor
            r_data = st.rfactor[:-1, :-1]
            if factor is None:
                factor, rank = self._qr_statistics(r_data)
            if gram is None or st.gram_kind != "fisher":
                gram = r_data.T @ r_data
        return factor, rank, gram

    def _covariance_factor(self):
        """``(factor, rank)`` for the covariance from the last step's Cholesky factor, or
        ``(None, None)`` when a QR factor is needed (computed in the statistics pass)."""
        pb, st = self.problem, self.state
        factor = st.factor
        if factor is None or factor.method != "cholesky" or not factor.usable_for_covariance():
            return None, None
        if st.gram_kind != "fisher":
            return None, None
        if not np.any(pb.penalty.precision) or self._penalty_keeps_rank(factor):
            return factor, factor.rank
        data = cholesky_factor(st.gram, keep=factor.keep)
        if data is None or not data.usable_for_covariance():
            return None, None
        return factor, data.rank

    def _penalty_keeps_rank(self, factor) -> bool:
        """Whether the unpenalised information ``H - Λ`` has the rank of the penalised ``H``
        without factoring it: for a diagonal ``Λ`` with ``trace(Λ H⁻¹) <= 1/2``, the largest
        eigenvalue of ``Λ^½ H⁻¹ Λ^½`` is at most 1/2, so ``H - Λ ⪰ H / 2``: its equilibrated
        factor is at most about twice as ill-conditioned as ``factor``, which is fit for the
        covariance, far from where a column could be aliased
        (:data:`~skglm_fisher.glm._linalg.ALIAS_TOL`)."""
        penalty = self.problem.penalty
        if not penalty.diagonal or not factor.usable_for_covariance():
            return False
        precision = penalty.precision[factor.keep]
        penalised = precision > 0
        # trace(Λ H⁻¹) = Σ (P_j / H_jj) · diag((D H D)⁻¹)_j; P_j / H_jj = P_j d_j² is at most 1
        # (no overflow however small the column).
        d = factor.scale[factor.keep][penalised]
        ratios = precision[penalised] * d * d
        return bool(ratios @ factor.equilibrated_variances()[penalised] <= 0.5)

    def _qr_statistics(self, r_data):
        """``(factor, rank)`` from the ``R`` of ``sqrt(w) ⊙ [1, X]``: the penalised factor and
        the rank of the unpenalised information."""
        pb = self.problem
        penalty_rows, _ = pb.penalty.rows(self.state.coef)
        factor, _ = qr_factor(np.vstack([r_data, penalty_rows]))
        rank = factor.rank if not len(penalty_rows) else qr_factor(r_data)[0].rank
        return factor, rank

    def _working_start(self):
        """R's start: one weighted least-squares fit at ``eta0 = link(starting_mean(y))``."""
        pb = self.problem
        args = (pb.family, pb.fit_intercept)
        sums = pb.design.map_reduce(working_start_pass, *args, False)
        gram = pb.design.finish_gram(sums.gram, pb.fit_intercept)
        if not np.all(np.isfinite(sums.gradient)):
            return None
        factor = cholesky_factor(pb.penalty.add_to(gram))
        if factor is not None and factor.usable_for_step():
            rhs = sums.gradient + pb.penalty.gradient(np.zeros(pb.n_coef))
            return factor.solve(rhs)
        rfactor = pb.design.map_reduce(working_start_pass, *args, True).rfactor
        q = pb.n_coef
        penalty_rows, penalty_targets = pb.penalty.rows(np.zeros(q))
        factor, transformed = qr_factor(
            np.vstack([rfactor[:, :q], penalty_rows]),
            np.concatenate([rfactor[:, q], penalty_targets]),
        )
        return solve_in_factor(factor, transformed)

    def _rank_candidates(self, candidates):
        """Sort the candidates by their objective (invalid ones last)."""
        scored = []
        for i, candidate in enumerate(candidates):
            coef = candidate() if callable(candidate) else candidate
            objective = np.inf
            if coef is not None and np.all(np.isfinite(coef)):
                sums = self._evaluate(coef, information=False)
                if sums.valid:
                    objective = self._objective(coef, sums.deviance)
            scored.append((objective, i, coef))
        scored.sort(key=lambda item: (item[0], item[1]))
        return [coef for objective, _, coef in scored if np.isfinite(objective)]

    def _null_deviance(self) -> float:
        """R's null deviance (:func:`null_model_deviance`), reusing the intercept-only fit of
        :meth:`setup` and, when the fit started there, the deviance of its first pass."""
        pb, null = self.problem, self._null
        if not pb.fit_intercept or null is None or null.intercept is None:
            return null_model_deviance(pb.design, pb.family, pb.fit_intercept)
        if null.deviance is not None:
            return null.deviance
        start_coef, start_deviance = self._start_deviance
        if start_coef[0] == null.intercept and not np.any(start_coef[1:]):
            return float(start_deviance)
        return float(pb.design.map_reduce(deviance_pass, null.intercept, pb.family).deviance)

    def _warn(self, sums, factor, rank):
        self._warn_convergence()
        self._warn_aliasing(factor)
        self._warn_boundary(sums)

    def _not_converged_reason(self) -> str:
        pb, st = self.problem, self.state
        if st.boundary_stop:
            return "every fitted mean reached the boundary of the link's range"
        if st.line_search_failed:
            return "the step-halving line search could not decrease the objective"
        return f"max_iter={pb.max_iter} was reached"

    def _warn_convergence(self):
        pb, st = self.problem, self.state
        if not st.converged:
            warnings.warn(
                f"Fisher scoring did not converge: {self._not_converged_reason()} (decrement "
                f"{st.decrement:.3g}, tol {pb.tol:g}). Increase max_iter, or check the data for "
                "separation or collinearity.",
                ConvergenceWarning,
                stacklevel=5,
            )

    def _warn_aliasing(self, factor):
        pb, st = self.problem, self.state
        q = pb.n_coef
        if np.any(factor.aliased):
            zeroed = not np.any(st.coef[factor.aliased])
            warnings.warn(
                f"The Fisher information is singular (rank {factor.rank} of {q}): "
                f"{int(np.count_nonzero(factor.aliased))} coefficient(s) are aliased with earlier "
                "columns (collinear columns, too few rows, or rows whose weights vanished). "
                + ("They are set to 0 and their" if zeroed else "Their")
                + " standard errors are NaN, as R reports NA; drop those columns or use "
                "alpha > 0.",
                SingularInformationWarning,
                stacklevel=5,
            )

    def _warn_boundary(self, sums):
        pb = self.problem
        if sums.n_boundary:
            warn_boundary(pb.family, sums.n_boundary, sums.n_positive, stacklevel=5)
        elif self._null is not None and self._null.intercept is not None and not self._null.finite:
            warnings.warn(
                f"The mean of y lies at the boundary of the {pb.family.link.name!r} link's "
                f"range (y's mean is {self._null.sum_weighted_y / self._null.sum_weights:.6g}): "
                "the intercept-only model's maximum likelihood is at an infinite intercept (all-"
                "zero counts, say), so null_deviance_ is its limit, and coefficients that "
                "approach the same boundary diverge. Use alpha > 0 or drop the rows.",
                BoundaryFitWarning,
                stacklevel=5,
            )
