"""FisherScoringGLM: a scikit-learn GLM regressor fitted by Fisher scoring, with R's statistics."""

from __future__ import annotations

import copy
import warnings
from functools import partial
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_array, check_is_fitted

from skglm_fisher._inference import (
    CoefficientTable,
    concentrated_dispersion,
    covariance_matrix,
    estimate_dispersion,
    information_criteria,
    log_likelihood_terms,
)
from skglm_fisher._persistence import VersionStampMixin
from skglm_fisher._sklearn_compat import (
    Interval,
    StrOptions,
    _check_sample_weight,
    _fit_context,
    validate_data,
)
from skglm_fisher.glm._design import is_dask_array, make_design, single_threaded_blas
from skglm_fisher.glm._families import (
    Bernoulli,
    ExponentialFamily,
    Gamma,
    InverseGaussian,
    NegativeBinomial,
    Normal,
    Poisson,
)
from skglm_fisher.glm._links import Link, get_link
from skglm_fisher.glm._solver import (
    IRLSProblem,
    IRLSSolver,
    PassJob,
    PerfectSeparationWarning,
    evaluate_pass,
    information_rank,
    intercept_only_fit,
    solve_information,
    warn_singular,
)
from skglm_fisher.glm._tweedie import Tweedie

__all__ = ["FisherScoringGLM"]


_FAMILIES = {
    "normal": lambda link, power: Normal(1.0, link or "identity"),
    "gaussian": lambda link, power: Normal(1.0, link or "identity"),
    "bernoulli": lambda link, power: Bernoulli(link or "logit"),
    "binomial": lambda link, power: Bernoulli(link or "logit"),
    "poisson": lambda link, power: Poisson(link or "log"),
    "gamma": lambda link, power: Gamma(1.0, link or "log"),
    "inverse_gaussian": lambda link, power: InverseGaussian(1.0, link or "log"),
    "tweedie": lambda link, power: Tweedie(power, link or "log"),
    "negative_binomial": lambda link, power: NegativeBinomial(1.0, link or "log"),
}
_POSITIVE_LINKS = {"log", "softplus", "inverse", "inverse_squared", "sqrt"}
_LINK_NAMES = {"auto", "identity", "log", "logit", "probit", "cloglog", "inverse",
               "inverse_squared", "sqrt", "softplus"}  # fmt: skip



def _loglik_sum(family, y, mu, sample_weight, dispersion):
    if not np.isfinite(dispersion):
        return np.nan
    return float(np.sum(log_likelihood_terms(family, y, mu, sample_weight, dispersion)))


class FisherScoringGLM(VersionStampMixin, RegressorMixin, BaseEstimator):
    """Generalized linear model fitted by penalised Fisher scoring (IRLS).

    Minimises scikit-learn's GLM objective

        ``1/(2·Σs) · Σ_i s_i · unit_deviance(y_i, mu_i) + alpha/2 · ||pf ⊙ coef||²``

    with ``mu = inverse_link(X @ coef + intercept + offset)``, sample weights ``s`` and the
    intercept unpenalised, so that ``FisherScoringGLM(family='poisson', alpha=a)`` equals
    ``PoissonRegressor(alpha=a)`` (likewise Gamma, Tweedie, and ``LogisticRegression`` with
    ``C = 1 / (a · Σs)``). With ``alpha=0`` it is R's ``glm`` and statsmodels' ``GLM``, and the
    fitted model carries their statistics: dispersion, covariance, standard errors, a coefficient
    table, log-likelihood, AIC and BIC.

    Each iteration is one pass over the rows (one weighted Gram plus two mat-vecs, in bounded
    row blocks on all cores). The start is the intercept-only fit (with the offset), steps are
    halved while the penalised deviance rises or turns non-finite, and convergence is declared
    when the Newton decrement ``Gᵀ H⁻¹ G`` falls below ``tol · (penalized deviance + 0.1)``.
    Families whose Fisher weights do not depend on the linear predictor (normal-identity,
    Gamma-log) compute the Gram once. CSR input made of one-hot blocks is detected and its Gram
    built from per-level counts. Dask arrays (chunked by rows) are fitted by reducing per-block
    sums on the workers.

    Parameters
    ----------
    family : str or ExponentialFamily, default='normal'
        'normal' ('gaussian'), 'bernoulli' ('binomial': ``y`` in [0, 1] as proportions, the
        number of trials as ``sample_weight``), 'poisson', 'gamma', 'inverse_gaussian', 'tweedie'
        (with ``power``), 'negative_binomial' (``total_count=1``), or any family instance of
        :mod:`skglm_fisher.glm`, e.g. ``glm.NegativeBinomial(total_count=2.0)``.
    link : str or Link, default='auto'
        'auto' is the family's default (identity for normal, logit for Bernoulli, log for the
        others, as scikit-learn); another name overrides it where the family allows it.
    power : float, default=1.5
        Tweedie power (0 normal, 1 Poisson, 2 Gamma, 3 inverse Gaussian).
    alpha : float, default=0.0
        Ridge strength of scikit-learn's objective (see above).
    l2_penalty_factor : array-like of shape (n_features,), default=None
        Per-feature multiplier ``pf`` of the penalty; 0 leaves a feature unpenalised.
    fit_intercept : bool, default=True
    solver : {'cholesky', 'qr', 'observed'}, default='cholesky'
        'cholesky': Fisher scoring, normal equations by Cholesky (minimum-norm least squares if
        singular). 'qr': Fisher scoring, least squares by a tall-skinny QR of the weighted design
        (more accurate for ill-conditioned designs, about twice the work). 'observed': Newton's
        method with the observed information (rows where it is negative keep their Fisher
        weight); for non-canonical links it can need fewer iterations.
    learning_rate : float in (0, 1], default=1.0
        Damping of each step (before step halving).
    tol : float, default=1e-8
        Convergence tolerance on the relative Newton decrement.
    max_iter : int, default=100
        Maximum number of Fisher scoring steps.
    dispersion : float, 'pearson', 'deviance' or None, default=None
        None is R's rule: 1 for Poisson, Bernoulli/binomial and negative binomial, Pearson's
        χ²/(n - p) otherwise.
    cov_type : {'nonrobust', 'HC0', 'HC1'}, default='nonrobust'
        Covariance of the coefficients: model-based, or the sandwich (HC1 scales it by
        n/(n - p)).
    warm_start : bool, default=False
        Start ``fit`` from the previous solution.
    verbose : int, default=0
        Print the penalised deviance and decrement at each iteration.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    n_iter_ : int
        Fisher scoring steps taken.
    converged_ : bool
    deviance_ : float
        Residual deviance ``Σ s_i · unit_deviance_i``.
    null_deviance_ : float
        Deviance of the intercept-only model (with the offset), as R's ``null.deviance``.
    dispersion_ : float
    covariance_matrix_ : ndarray of shape (n_params, n_params)
        Intercept first (if fitted), then the coefficients.
    std_errors_ : ndarray of shape (n_params,)
    llf_ : float
        Log-likelihood as statsmodels defines it (see :meth:`llf`).
    information_ : ndarray of shape (n_params, n_params)
        Penalised Fisher information at unit dispersion; ``partial_fit`` accumulates it.
    rank_ : int
        Rank of the Fisher information (the number of identified coefficients).
    df_resid_ : int
        ``n_obs - rank_`` with ``n_obs`` the rows of positive weight.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Defined when ``X`` has string column names.

    See Also
    --------
    sklearn.linear_model.PoissonRegressor, statsmodels.genmod.generalized_linear_model.GLM

    Examples
    --------
    >>> import numpy as np
    >>> from skglm_fisher import FisherScoringGLM
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 2))
    >>> exposure = rng.uniform(0.5, 2.0, size=500)
    >>> y = rng.poisson(exposure * np.exp(0.2 + X @ [0.4, -0.3]))
    >>> model = FisherScoringGLM(family="poisson").fit(X, y, offset=np.log(exposure))
    >>> np.round(model.coef_, 2), round(model.intercept_, 2)
    (array([ 0.38, -0.27]), 0.15)
    >>> np.round(model.std_errors_, 3)
    array([0.039, 0.038, 0.036])
    >>> print(model.summary())  # doctest: +ELLIPSIS
    Family: Poisson, link: log
    ...
    """

    _parameter_constraints: dict = {
        "family": [StrOptions(set(_FAMILIES)), ExponentialFamily],
        "link": [StrOptions(_LINK_NAMES), Link],
        "power": [Interval(Real, None, None, closed="neither")],
        "alpha": [Interval(Real, 0.0, None, closed="left")],
        "l2_penalty_factor": ["array-like", None],
        "fit_intercept": ["boolean"],
        "solver": [StrOptions({"cholesky", "qr", "observed"})],
        "learning_rate": [Interval(Real, 0.0, 1.0, closed="right")],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "dispersion": [
            None,
            StrOptions({"pearson", "deviance"}),
            Interval(Real, 0.0, None, closed="neither"),
        ],  # fmt: skip
        "cov_type": [StrOptions({"nonrobust", "HC0", "HC1"})],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        family="normal",
        link="auto",
        power=1.5,
        alpha=0.0,
        l2_penalty_factor=None,
        fit_intercept=True,
        solver="cholesky",
        learning_rate=1.0,
        tol=1e-8,
        max_iter=100,
        dispersion=None,
        cov_type="nonrobust",
        warm_start=False,
        verbose=0,
    ):
        self.family = family
        self.link = link
        self.power = power
        self.alpha = alpha
        self.l2_penalty_factor = l2_penalty_factor
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.learning_rate = learning_rate
        self.tol = tol
        self.max_iter = max_iter
        self.dispersion = dispersion
        self.cov_type = cov_type
        self.warm_start = warm_start
        self.verbose = verbose

    # ---------------------------------------------------------------------------------------
    # Family and inputs
    # ---------------------------------------------------------------------------------------
    def _get_family(self) -> ExponentialFamily:
        """The family instance the parameters describe (a copy; never the user's object)."""
        link = None if isinstance(self.link, str) and self.link == "auto" else self.link
        if isinstance(self.family, str):
            return _FAMILIES[self.family](link, self.power)
        family = copy.deepcopy(self.family)
        if link is not None:
            link = get_link(link)
            allowed = family.allowed_links
            if allowed is not None and link.name not in allowed:
                raise ValueError(
                    f"{type(family).__name__} does not support the {link.name!r} link; "
                    f"allowed links are {list(allowed)}."
                )
            family.link = link
        return family

    def _validate_fit_data(self, X, y, sample_weight, offset, reset, family):
        """Validated ``(X, y, sample_weight, offset)``; raise ValueError naming a bad input."""
        if is_dask_array(X):
            return self._validate_dask(X, y, sample_weight, offset, reset)
        X, y = validate_data(
            self, X, y, reset=reset, accept_sparse=["csr", "csc"],
            dtype=[np.float64, np.float32], y_numeric=True, multi_output=False,
        )  # fmt: skip
        y = np.asarray(y, dtype=np.float64)
        family.check_response(y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
            if not np.all(np.isfinite(sample_weight)):
                raise ValueError("sample_weight contains NaN or infinity.")
            if not np.any(sample_weight > 0):
                raise ValueError("sample_weight must have at least one positive entry.")
        offset = _check_offset(offset, X.shape[0])
        return X, y, sample_weight, offset

    def _validate_dask(self, X, y, sample_weight, offset, reset):
        validate_data(self, X, reset=reset, skip_check_array=True)
        if X.ndim != 2:
            raise ValueError(f"Expected a 2-dimensional dask array X; got shape {X.shape}.")
        return X, y, sample_weight, offset

    def _penalty(self, n_features, sum_weights):
        """``P``: ``alpha · Σs · pf²`` per feature, 0 for the intercept."""
        pf = np.ones(n_features)
        if self.l2_penalty_factor is not None:
            pf = np.asarray(self.l2_penalty_factor, dtype=np.float64).ravel()
            if pf.shape != (n_features,):
                raise ValueError(
                    f"l2_penalty_factor has {pf.size} entries; expected n_features={n_features}."
                )
            if not np.all(np.isfinite(pf)) or np.any(pf < 0):
                raise ValueError("l2_penalty_factor must be finite and non-negative.")
        penalty = self.alpha * sum_weights * pf**2
        return np.concatenate([[0.0], penalty]) if self.fit_intercept else penalty

    # ---------------------------------------------------------------------------------------
    # Fitting
    # ---------------------------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, offset=None):
        """Fit the model by Fisher scoring.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Response in the family's domain (proportions in [0, 1] for Bernoulli).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative prior weights (R's ``weights``, statsmodels' ``var_weights``; the number
            of trials for binomial proportions).
        offset : array-like of shape (n_samples,), default=None
            Added to the linear predictor (e.g. ``log(exposure)`` with a log link).

        Returns
        -------
        self : FisherScoringGLM
        """
        family = self._get_family()
        X, y, sample_weight, offset = self._validate_fit_data(
            X, y, sample_weight, offset, True, family
        )
        with single_threaded_blas():
            self._fit(X, y, sample_weight, offset, family)
        return self

    def _fit(self, X, y, sample_weight, offset, family):
        design = make_design(X, y, offset, sample_weight)
        if is_dask_array(X):
            n_obs, sum_weights = _dask_validate(design, family)
        else:
            n_obs = X.shape[0] if sample_weight is None else int(np.sum(sample_weight > 0))
            sum_weights = float(X.shape[0] if sample_weight is None else sample_weight.sum())
        p = design.n_features
        penalty = self._penalty(p, sum_weights)
        null_intercept, null_deviance = None, np.nan
        if self.fit_intercept:
            null_intercept, null_deviance = intercept_only_fit(design, family, need_deviance=False)
        coef0 = None
        if self.warm_start and hasattr(self, "coef_") and self.coef_.shape == (p,):
            coef0 = self._coefficients()
        problem = IRLSProblem(
            design=design, family=family, penalty=penalty, fit_intercept=self.fit_intercept,
            solver=self.solver, tol=self.tol, max_iter=self.max_iter,
            learning_rate=self.learning_rate, verbose=self.verbose,
            final_job=self._final_job(family),
        )  # fmt: skip
        result = IRLSSolver(problem).solve(coef0, null_intercept)
        if null_deviance is None:
            # Without offset the solver starts at the intercept-only fit, whose deviance it has.
            start = np.zeros(p + 1)
            start[0] = null_intercept
            if result.start_coef is not None and np.array_equal(result.start_coef, start):
                null_deviance = result.start_deviance
            else:
                null_deviance = intercept_only_fit(design, family)[1]
        if not self.fit_intercept:
            null_deviance = design.map_reduce(
                evaluate_pass, np.zeros(p), PassJob(family=family, fit_intercept=False)
            ).deviance
        gram = result.gram
        if problem.gram_kind == "observed":
            gram = self._pass(design, family, result.coef, gram="fisher").gram
            gram = design.finish_gram(gram, self.fit_intercept)
        self._set_fitted(
            design, family, result.coef, gram, penalty, result.deviance, result.pearson, n_obs,
            sum_weights, final_sums=result.final_sums, singular=result.singular,
        )  # fmt: skip
        self.n_iter_ = result.n_iter
        self.converged_ = result.converged
        self.null_deviance_ = float(null_deviance)
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        self.coef_ = self.coef_.astype(dtype)
        return self

    def _coefficients(self):
        """``[intercept_, *coef_]`` (without the intercept if it is not fitted), float64."""
        coef = np.asarray(self.coef_, dtype=np.float64)
        return np.concatenate([[self.intercept_], coef]) if self.fit_intercept else coef

    def _known_dispersion(self, family):
        """The dispersion when it does not depend on the fit (else None)."""
        if self.dispersion is None:
            return None if family.has_free_dispersion else 1.0
        return None if isinstance(self.dispersion, str) else float(self.dispersion)

    def _final_job(self, family):
        """What the pass at the final coefficients computes besides the deviance."""
        job = {"boundary": _is_binary(family)}
        if self.cov_type != "nonrobust":
            job["gram"] = "meat"
        known = self._known_dispersion(family)
        if known is not None:
            job["row_statistic"] = partial(_loglik_sum, dispersion=known)
        return job

    def _pass(self, design, family, coef, **job):
        return design.map_reduce(
            evaluate_pass, coef, PassJob(family=family, fit_intercept=self.fit_intercept, **job)
        )

    def _set_fitted(self, design, family, coef, gram, penalty, deviance, pearson, n_obs,
                    sum_weights, llf=None, meat=None, final_sums=None, singular=False):  # fmt: skip
        """Set the coefficients and every statistic from the Fisher information at ``coef``.

        One more pass over the rows computes the log-likelihood, the separation check and, for
        the sandwich covariance, the meat; ``llf`` given skips it (``partial_fit``).
        """
        information = gram + np.diag(penalty)
        q = information.shape[0]
        rank = information_rank(gram)
        penalized_rank = information_rank(information)
        if penalized_rank < q or singular:
            warn_singular(q, penalized_rank, stacklevel=4)
        dispersion = estimate_dispersion(self.dispersion, family, pearson, deviance, n_obs, rank)
        llf_dispersion = concentrated_dispersion(family, deviance, n_obs) or dispersion
        if llf is None:
            robust = self.cov_type != "nonrobust"
            sums = final_sums
            if sums is None or sums.statistic is None or (robust and sums.gram is None):
                job = self._final_job(family)
                job["row_statistic"] = partial(_loglik_sum, dispersion=llf_dispersion)
                sums = self._pass(design, family, coef, **job)
            llf = sums.statistic
            if robust:
                meat = design.finish_gram(sums.gram, self.fit_intercept)
            if sums.n_boundary:
                warnings.warn(
                    f"Fitted probabilities numerically 0 or 1 occurred for {sums.n_boundary} of "
                    f"{sums.n_positive} rows: the data are (quasi-)separated, the coefficients "
                    "diverge and their standard errors are meaningless. Use alpha > 0.",
                    PerfectSeparationWarning,
                    stacklevel=4,
                )
        cov = covariance_matrix(information, dispersion, self.cov_type, meat, n_obs, rank)
        self.intercept_ = float(coef[0]) if self.fit_intercept else 0.0
        self.coef_ = np.asarray(coef[1:] if self.fit_intercept else coef, dtype=np.float64)
        self.deviance_ = float(deviance)
        self.dispersion_ = float(dispersion)
        self.covariance_matrix_ = cov
        self.std_errors_ = np.sqrt(np.maximum(np.diag(cov), 0.0))
        self.information_ = information
        self.rank_ = int(rank)
        self.n_obs_ = int(n_obs)
        self.df_resid_ = int(n_obs - rank)
        self.sum_sample_weight_ = float(sum_weights)
        self.pearson_chi2_ = float(pearson)
        self.llf_ = float(llf)
        self._meat_ = meat

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, offset=None):
        """Update the fit with one batch by recursive Fisher scoring.

        The first call fits the batch fully. Each later batch adds its Fisher information at the
        current coefficients to the running penalised information ``H`` and takes one step
        ``H⁻¹ G_batch`` along the batch's penalised score. For the normal family with identity
        link this is recursive least squares and equals the fit on all rows for any split into
        batches. For other families it is a one-step estimator per batch: the streamed
        coefficients stay within about 1% of a standard error of the full fit once the first
        batch is large enough to fit on its own (measured on Poisson streams of 1,000-row
        batches). ``deviance_``, ``llf_`` and Pearson's χ² add up
        each batch's contribution at the coefficients after its step; ``null_deviance_`` is not
        updated (it needs a pass over all rows).

        Parameters
        ----------
        X, y, sample_weight, offset
            As in :meth:`fit`.

        Returns
        -------
        self : FisherScoringGLM
        """
        if is_dask_array(X):
            raise ValueError(
                "partial_fit takes in-memory batches; fit a Dask array with fit, or pass its "
                "blocks one at a time (X.blocks[i].compute())."
            )
        first = not hasattr(self, "information_")
        family = self._get_family()
        X, y, sample_weight, offset = self._validate_fit_data(
            X, y, sample_weight, offset, first, family
        )
        with single_threaded_blas():
            if first:
                return self._fit(X, y, sample_weight, offset, family)
            return self._partial_fit_step(X, y, sample_weight, offset, family)

    def _partial_fit_step(self, X, y, sample_weight, offset, family):
        design = make_design(X, y, offset, sample_weight)
        batch_weight = float(X.shape[0] if sample_weight is None else np.sum(sample_weight))
        batch_obs = X.shape[0] if sample_weight is None else int(np.sum(sample_weight > 0))
        penalty = self._penalty(X.shape[1], batch_weight)
        coef = self._coefficients()
        sums = self._pass(design, family, coef, gradient=True, gram="fisher")
        if sums.n_invalid:
            raise ValueError("The current coefficients give an invalid mean on this batch.")
        information = self.information_ + design.finish_gram(sums.gram, self.fit_intercept)
        information = information + np.diag(penalty)
        step, _ = solve_information(information, np.zeros(len(coef)),
                                    sums.gradient - penalty * coef)  # fmt: skip
        coef = coef + step
        robust = self.cov_type != "nonrobust"
        after = self._pass(design, family, coef, gradient=True, gram="meat" if robust else None,
                           row_statistic=partial(_loglik_sum, dispersion=1.0))  # fmt: skip
        meat = None
        if robust:
            meat = self._meat_ + design.finish_gram(after.gram, self.fit_intercept)
        total_penalty = self._penalty(X.shape[1], self.sum_sample_weight_ + batch_weight)
        self._set_fitted(
            design, family, coef, information - np.diag(total_penalty), total_penalty,
            self.deviance_ + after.deviance, self.pearson_chi2_ + after.pearson,
            self.n_obs_ + batch_obs, self.sum_sample_weight_ + batch_weight,
            llf=self.llf_ + after.statistic, meat=meat,
        )  # fmt: skip
        self.n_iter_ += 1
        self.null_deviance_ = np.nan
        return self

    # ---------------------------------------------------------------------------------------
    # Prediction
    # ---------------------------------------------------------------------------------------
    def linear_predictor(self, X, offset=None):
        """``X @ coef_ + intercept_ + offset``.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
        offset : array-like of shape (n_samples,), default=None

        Returns
        -------
        eta : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        if is_dask_array(X):
            validate_data(self, X, reset=False, skip_check_array=True)
            eta = X @ self.coef_ + self.intercept_
            return eta if offset is None else eta + offset
        X = validate_data(self, X, reset=False, accept_sparse=["csr", "csc"],
                          dtype=[np.float64, np.float32])  # fmt: skip
        eta = X @ self.coef_.astype(X.dtype, copy=False)
        eta = np.asarray(eta).ravel() + X.dtype.type(self.intercept_)
        offset = _check_offset(offset, X.shape[0])
        return eta if offset is None else eta + offset.astype(X.dtype, copy=False)

    def predict(self, X, offset=None):
        """Predicted mean ``inverse_link(linear_predictor(X, offset))`` (response scale).

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
        offset : array-like of shape (n_samples,), default=None

        Returns
        -------
        mu : ndarray of shape (n_samples,)
        """
        eta = self.linear_predictor(X, offset)
        family = self._get_family()
        if is_dask_array(eta):
            return eta.map_blocks(family.mean, dtype=eta.dtype)
        with np.errstate(over="ignore"):
            return family.mean(eta)

    def score(self, X, y, sample_weight=None, offset=None):
        """D², the fraction of deviance explained: ``1 - D(y, mu) / D(y, mu_null)``.

        ``mu_null`` is the intercept-only fit to ``(y, offset)``: the weighted mean of ``y``
        without offset, as scikit-learn's GLM ``score``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
        offset : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        family = self._get_family()
        mu = self.predict(X, offset)
        y = check_array(y, ensure_2d=False, dtype=np.float64)
        family.check_response(y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, y, dtype=np.float64,
                                                 ensure_non_negative=True)  # fmt: skip
        offset = _check_offset(offset, y.shape[0])
        deviance = family.deviance(y, mu.astype(np.float64), sample_weight)
        null = make_design(np.zeros((y.shape[0], 0)), y, offset, sample_weight)
        if self.fit_intercept or offset is None:
            null_deviance = intercept_only_fit(null, family)[1]
        else:
            null_deviance = family.deviance(y, family.mean(offset), sample_weight)
        return 1.0 - deviance / null_deviance

    # ---------------------------------------------------------------------------------------
    # Statistics
    # ---------------------------------------------------------------------------------------
    @property
    def llf(self) -> float:
        """Log-likelihood at the estimated dispersion, as statsmodels' ``GLMResults.llf``.

        Normal-identity uses the concentrated likelihood (dispersion ``deviance / n``); Poisson,
        binomial and negative binomial ignore the dispersion.
        """
        check_is_fitted(self)
        return self.llf_

    @property
    def aic(self) -> float:
        """``-2·llf + 2·rank`` (statsmodels; R's ``AIC`` adds 2 for an estimated dispersion)."""
        check_is_fitted(self)
        return float(information_criteria(self.llf_, self.rank_, self.n_obs_)[0])

    @property
    def bic(self) -> float:
        """``-2·llf + rank·log(n_obs)`` (statsmodels' ``bic_llf``)."""
        check_is_fitted(self)
        return float(information_criteria(self.llf_, self.rank_, self.n_obs_)[1])

    def summary(self, level=0.95, feature_names=None) -> CoefficientTable:
        """Coefficient table like R's ``summary.glm``: estimate, standard error, z or t value
        (t when the dispersion is estimated), p-value and confidence interval.

        Parameters
        ----------
        level : float, default=0.95
            Confidence level of the intervals.
        feature_names : list of str, optional
            Row names; ``feature_names_in_`` (or ``x0, x1, ...``) by default. Useful when the
            model was fitted on the sparse output of a transformer.

        Returns
        -------
        table : CoefficientTable
            Prints as a table; ``table.to_frame()`` gives a pandas DataFrame.
        """
        check_is_fitted(self)
        family = self._get_family()
        names = getattr(self, "feature_names_in_", None) if feature_names is None else feature_names
        names = list(names) if names is not None else [f"x{i}" for i in range(self.n_features_in_)]
        if len(names) != self.n_features_in_:
            raise ValueError(f"Expected {self.n_features_in_} feature names; got {len(names)}.")
        if self.fit_intercept:
            names = ["(Intercept)"] + names
        estimate = self._coefficients()
        estimated = isinstance(self.dispersion, str) or (
            self.dispersion is None and family.has_free_dispersion
        )
        header = [
            f"Family: {family.name}, link: {family.link.name}",
            f"Dispersion: {self.dispersion_:.6g}" + (" (estimated)" if estimated else ""),
            f"Null deviance: {self.null_deviance_:.6g}; residual deviance: "
            f"{self.deviance_:.6g} on {self.df_resid_} degrees of freedom",
            f"AIC: {self.aic:.6g}; Fisher scoring iterations: {self.n_iter_}",
        ]
        return CoefficientTable(names, estimate, self.std_errors_, use_t=estimated,
                                df_resid=self.df_resid_, level=level, header=header)  # fmt: skip

    # ---------------------------------------------------------------------------------------
    # scikit-learn plumbing
    # ---------------------------------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        try:
            family = self._get_family()
            low, link = family._bounds()[0], family.link.name
        except (ValueError, TypeError, KeyError, AttributeError):
            low, link = -np.inf, None
        # A link whose inverse is positive needs a positive mean, whatever the distribution.
        tags.target_tags.positive_only = bool(low >= 0 or link in _POSITIVE_LINKS)
        return tags



def _is_binary(family) -> bool:
    return family.name in ("Bernoulli", "Binomial")


def _check_offset(offset, n_samples):
    if offset is None:
        return None
    if is_dask_array(offset):
        return offset
    offset = check_array(offset, ensure_2d=False, dtype=np.float64, input_name="offset")
    if offset.ndim != 1 or offset.shape[0] != n_samples:
        raise ValueError(f"offset has shape {offset.shape}; expected ({n_samples},).")
    return offset


def _dask_validate_block(block, y, offset, sample_weight, family):
    """Check one Dask block; return ``[rows of positive weight, sum of weights]``."""
    X = block.X
    values = X.data if sp.issparse(X) else X
    if not np.all(np.isfinite(values)):
        raise ValueError("Input X contains NaN or infinity.")
    family.check_response(y)
    if offset is not None and not np.all(np.isfinite(offset)):
        raise ValueError("offset contains NaN or infinity.")
    if sample_weight is None:
        return np.array([y.shape[0], y.shape[0]], dtype=float)
    if np.any(sample_weight < 0) or not np.all(np.isfinite(sample_weight)):
        raise ValueError("sample_weight must be finite and non-negative.")
    return np.array([np.sum(sample_weight > 0), sample_weight.sum()], dtype=float)


def _dask_validate(design, family):
    n_obs, sum_weights = design.map_reduce(_dask_validate_block, family)
    if sum_weights <= 0:
        raise ValueError("sample_weight must have at least one positive entry.")
    return int(n_obs), float(sum_weights)
