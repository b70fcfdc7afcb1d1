"""FisherScoringClassifier: logistic, probit and multinomial regression by Fisher scoring."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from skglm_fisher._atomic import unchanged_on_error
from skglm_fisher._binary_links import BINARY_LINKS, binary_log_probabilities
from skglm_fisher._classifier_inputs import batch_shares_message, validate_classifier_data
from skglm_fisher._glm_inputs import ridge_penalty, validate_predict_data
from skglm_fisher._glm_results import GLMResultsMixin
from skglm_fisher._inference import coefficient_covariance, glm_statistics
from skglm_fisher._persistence import VersionStampMixin
from skglm_fisher._separation import (
    label_text,
    separation_message,
    solve_reporting_separation,
)
from skglm_fisher._sklearn_compat import Interval, StrOptions, _fit_context
from skglm_fisher.exceptions import PerfectSeparationWarning
from skglm_fisher.glm._design import is_dask_array
from skglm_fisher.glm._families import Bernoulli
from skglm_fisher.glm._multinomial import (
    MultinomialProblem,
    MultinomialSolver,
    null_deviance,
    recursive_multinomial_update,
)
from skglm_fisher.glm._observed import observed_gram, observed_information_factor
from skglm_fisher.glm._recursive import (
    NullModelStream,
    StreamTotals,
    recursive_update,
    start_null_stream,
)
from skglm_fisher.glm._solver import IRLSProblem, IRLSSolver
from skglm_fisher.losses import CategoricalLogitsNegativeLogProbLoss

__all__ = ["FisherScoringClassifier"]


class FisherScoringClassifier(VersionStampMixin, GLMResultsMixin, ClassifierMixin, BaseEstimator):
    """Logistic, probit and multinomial regression by Fisher scoring, with standard errors.

    Two classes: a Bernoulli GLM of the second class of ``classes_`` with the ``link``
    (logit, probit, complementary log-log or log) fitted by
    :class:`FisherScoringGLM`'s solver. More classes: the multinomial logit with the *first*
    class of ``classes_`` as the reference category (as R's ``nnet::multinom`` and statsmodels'
    ``MNLogit``), fitted by Fisher scoring on the block information of its ``K - 1`` free
    coefficient rows. Both minimise

        ``1/(2·Σs) · Σ_i s_i · deviance_i + alpha/2 · Σ_k ||pf ⊙ coef_k||²``

    over the free rows ``coef_k`` (intercepts unpenalised), with sample weights ``s`` times the
    class weights. For two classes and the logit link this is scikit-learn's
    ``LogisticRegression`` with ``C = 1 / (alpha · Σs)``; for more classes the penalty differs
    from ``LogisticRegression``'s, which penalises all ``K`` rows symmetrically (see the user
    guide). With ``alpha=0`` the fit is statsmodels' ``Logit``, ``Probit`` and ``MNLogit``, with
    their standard errors, log-likelihood, AIC and BIC.

    Each Fisher scoring iteration is one pass over the rows. For more classes the information
    is ``K(K-1)/2`` weighted Grams, which cost as much as ten passes computing the score alone
    (five classes, 50 features): steps reuse the information of an earlier point while that
    shrinks the Newton decrement at least fourfold per step, and a last Newton step with the
    information at the solution ends the fit. Steps are halved while the penalised deviance
    rises, and convergence is declared when the decrement falls below ``tol · (penalized
    deviance + 0.1)``. Standard errors come from the Fisher information at the returned
    coefficients. Separated classes (probabilities numerically 0 or 1, a maximum
    likelihood at infinity) are reported by a
    :class:`~skglm_fisher.exceptions.PerfectSeparationWarning` naming the class and the
    direction its coefficients diverge in.

    Parameters
    ----------
    link : {'logit', 'probit', 'cloglog', 'log'}, default='logit'
        Link of the binary model; more than two classes need 'logit'.
    alpha : float, default=0.0
        Ridge strength (see above).
    l2_penalty_factor : array-like of shape (n_features,), default=None
        Per-feature multiplier ``pf`` of the penalty; 0 leaves a feature unpenalised.
    fit_intercept : bool, default=True
    solver : {'cholesky', 'qr', 'observed'}, default='cholesky'
        As :class:`FisherScoringGLM`: an equilibrated Cholesky factor of the information
        (switching to QR where it is ill-conditioned), a QR factor at every iteration, or
        Newton's method with the observed information (which differs from Fisher scoring only
        for the probit, cloglog and log links).
    tol : float, default=1e-8
        Convergence tolerance on the relative Newton decrement.
    max_iter : int, default=100
        Maximum number of steps (the multinomial fit takes more steps, most of them chord
        steps that cost a fraction of a Fisher scoring step).
    cov_type : {'nonrobust', 'HC0', 'HC1'}, default='nonrobust'
        Model-based covariance or the sandwich (HC1 scales it by ``n / (n - rank)``).
    information : {'expected', 'observed'}, default='expected'
        The information the covariance is computed from: the expected (Fisher) information,
        as R's ``glm`` and statsmodels' ``GLM``, or the observed information (the Hessian of
        the negative log-likelihood), as statsmodels' ``Probit``. They coincide under the logit
        link (and so for the multinomial model).
    class_weight : dict, 'balanced' or None, default=None
        Weights multiplying the sample weights of each class's rows, as scikit-learn's.
        'balanced' is ``n_samples / (n_classes · count)`` (not available in ``partial_fit``).
    warm_start : bool, default=False
        Start ``fit`` from the previous solution (when the classes are the same).
    verbose : int, default=0
        Print the penalised deviance and decrement at each iteration.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        For more than two classes, row ``k`` holds class ``k``'s coefficients against the
        reference class 0, whose row is zero: ``decision_function`` gives the logits of all
        classes, as scikit-learn's multinomial models.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Entry 0 is 0 for more than two classes.
    n_iter_ : int
    converged_ : bool
    deviance_ : float
        ``-2 Σ s_i log p(y_i)``.
    null_deviance_ : float
        Deviance of the model without features (with the intercept: the class shares).
    covariance_matrix_ : ndarray of shape (n_params, n_params)
        Over the free coefficients, intercept first: for more than two classes, class 1's
        ``[intercept, coef]``, then class 2's, and so on (``n_params = (n_classes - 1) ·
        (n_features + 1)``).
    std_errors_ : ndarray of shape (n_features + 1,) or (n_classes - 1, n_features + 1)
        Standard errors of ``[intercept_, coef_]`` (for more classes: of the non-reference
        rows); without an intercept, ``n_features`` columns. NaN where aliased.
    aliased_ : ndarray of bool, shaped like ``std_errors_``
        Coefficients the information does not identify (held at 0).
    llf_ : float
        Log-likelihood ``Σ s_i log p(y_i)``.
    information_ : ndarray of shape (n_params, n_params)
        Penalised Fisher information; ``partial_fit`` accumulates it.
    rank_ : int
    df_resid_ : int
        ``n_obs - rank_``.
    test_statistics_, p_values_ : ndarray, shaped like ``std_errors_``
        Wald z statistics and their two-sided p-values.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Defined when ``X`` has string column names.

    See Also
    --------
    FisherScoringGLM : Bernoulli proportions with the number of trials as weights.
    sklearn.linear_model.LogisticRegression

    Examples
    --------
    >>> import numpy as np
    >>> from skglm_fisher import FisherScoringClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 2))
    >>> logits = np.column_stack([np.zeros(600), X @ [1.0, -0.5], X @ [-0.5, 1.0]])
    >>> p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    >>> y = np.array(["a", "b", "c"])[(p.cumsum(axis=1) > rng.random((600, 1))).argmax(axis=1)]
    >>> model = FisherScoringClassifier().fit(X, y)
    >>> model.classes_, model.coef_.shape
    (array(['a', 'b', 'c'], dtype='<U1'), (3, 2))
    >>> np.round(model.coef_[1:], 2)
    array([[ 0.92, -0.37],
           [-0.46,  0.89]])
    >>> np.round(model.std_errors_, 3)
    array([[0.119, 0.133, 0.126],
           [0.117, 0.122, 0.129]])
    >>> print(model.summary())  # doctest: +ELLIPSIS
    Model: multinomial logit, 3 classes, reference class 'a'
    ...
    """

    _parameter_constraints: dict = {
        "link": [StrOptions(set(BINARY_LINKS))],
        "alpha": [Interval(Real, 0.0, None, closed="left")],
        "l2_penalty_factor": ["array-like", None],
        "fit_intercept": ["boolean"],
        "solver": [StrOptions({"cholesky", "qr", "observed"})],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "cov_type": [StrOptions({"nonrobust", "HC0", "HC1"})],
        "information": [StrOptions({"expected", "observed"})],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        link="logit",
        alpha=0.0,
        l2_penalty_factor=None,
        fit_intercept=True,
        solver="cholesky",
        tol=1e-8,
        max_iter=100,
        cov_type="nonrobust",
        information="expected",
        class_weight=None,
        warm_start=False,
        verbose=0,
    ):
        self.link = link
        self.alpha = alpha
        self.l2_penalty_factor = l2_penalty_factor
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.cov_type = cov_type
        self.information = information
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.verbose = verbose

    # ---------------------------------------------------------------------------------------
    # Fitting
    # ---------------------------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model by Fisher scoring.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels of any type scikit-learn classifiers accept.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights (frequency weights: a weight of 2 is a repeated row).

        Returns
        -------
        self : FisherScoringClassifier
            A failed fit raises and leaves the estimator as it was.
        """
        with unchanged_on_error(self):
            previous = self._previous_coefficients()
            data = self._validate(X, y, sample_weight, reset=True)
            coef0 = None
            if previous is not None and np.array_equal(previous[0], data.classes):
                coef0 = previous[1] if previous[1].shape == self._free_shape(data) else None
            self._fit_full(data, coef0)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Update the fit with one batch by recursive Fisher scoring.

        The first call fits the batch fully (it needs ``classes``, every class of the stream,
        each present in the batch). Each later batch is fitted to convergence with the earlier
        rows entering through the quadratic model of their deviance at the current
        coefficients (their accumulated Fisher information), as
        :meth:`FisherScoringGLM.partial_fit`; a later batch may hold any subset of the classes.
        The quadratic model holds for batches drawn from one distribution: measured on 20,000
        rows with four classes, the streamed coefficients stay within 0.4 standard errors of
        the full fit for shuffled batches (5 to 100 of them), but a stream sorted by class ends
        30 to 90 standard errors away. A batch whose class shares differ from the stream's
        beyond chance is warned about; shuffle such streams.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            Required on the first call; later it must equal ``classes_`` if given.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : FisherScoringClassifier
            A failed update raises and leaves the estimator as it was.
        """
        if is_dask_array(X):
            raise ValueError("partial_fit takes in-memory batches; compute the Dask blocks.")
        # scikit-learn skips the parameter checks of partial_fit once fitted: run them anyway.
        self._validate_params()
        first = getattr(self, "information_", None) is None
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if classes is not None:
            classes = np.unique(np.asarray(classes))
            check_classification_targets(classes)
            if classes.size < 2:
                raise ValueError(f"classes must hold at least 2 classes; got {classes.tolist()}.")
            if not first and not np.array_equal(classes, self.classes_):
                raise ValueError(
                    f"classes={classes.tolist()} differs from classes_={self.classes_.tolist()} "
                    "of the first call to partial_fit; call fit to start a new model."
                )
        with unchanged_on_error(self):
            if first:
                data = self._validate(X, y, sample_weight, reset=True, classes=classes,
                                      stream=True)  # fmt: skip
                self._fit_full(data, None)
                return self
            if self._stream_key() != self._stream_key_:
                raise ValueError(
                    "The parameters of the model must not change between partial_fit calls "
                    f"(the stream has {self._stream_key_}; now {self._stream_key()}); call fit "
                    "to start a new model."
                )
            data = self._validate(X, y, sample_weight, reset=False, classes=self.classes_,
                                  stream=True)  # fmt: skip
            self._update(data)
        return self

    def _validate(self, X, y, sample_weight, *, reset, classes=None, stream=False):
        data = validate_classifier_data(self, X, y, sample_weight, reset=reset, classes=classes,
                                        stream=stream)  # fmt: skip
        if data.classes.size > 2 and self.link != "logit":
            raise ValueError(
                f"Only binary classification is supported with link={self.link!r}: y has "
                f"{data.classes.size} classes. The multinomial model uses link='logit'."
            )
        return data

    def _previous_coefficients(self):
        """``(classes_, free coefficients)`` of a previous fit for ``warm_start``, else None."""
        if not self.warm_start or getattr(self, "coef_", None) is None:
            return None
        return self.classes_, self._coefficients()

    def _free_shape(self, data):
        q = data.design.n_features + self.fit_intercept
        return (q,) if data.classes.size == 2 else (data.classes.size - 1, q)

    def _penalty(self, n_classes, sum_weights):
        """The ridge penalty over the free coefficients, one block per non-reference class."""
        block = ridge_penalty(self.alpha, self.l2_penalty_factor, self.n_features_in_,
                              sum_weights, self.fit_intercept, name="l2_penalty_factor")
        return np.tile(block, max(n_classes - 1, 1))

    def _binary_problem(self, data, penalty, null_model=True):
        return IRLSProblem(
            design=data.design, family=Bernoulli(self.link), penalty=penalty,
            fit_intercept=self.fit_intercept, solver=self.solver, tol=self.tol,
            max_iter=self.max_iter, verbose=self.verbose, robust=self.cov_type != "nonrobust",
            log_likelihood_dispersion=1.0, null_model=null_model,
        )  # fmt: skip

    def _multinomial_problem(self, data, penalty):
        return MultinomialProblem(
            design=data.design, n_classes=data.classes.size, penalty=penalty,
            fit_intercept=self.fit_intercept, solver=self.solver, tol=self.tol,
            max_iter=self.max_iter, verbose=self.verbose, robust=self.cov_type != "nonrobust",
        )  # fmt: skip

    def _fit_full(self, data, coef0):
        """Fit ``data`` from scratch (or from ``coef0``) and attach everything."""
        n_classes = data.classes.size
        penalty = self._penalty(n_classes, data.sum_weights)
        if n_classes == 2:
            solver = IRLSSolver(self._binary_problem(data, penalty))
        else:
            solver = MultinomialSolver(self._multinomial_problem(data, penalty))
        result = solve_reporting_separation(solver, coef0)
        self.classes_ = data.classes
        self._observed_ = None
        if n_classes == 2:
            self._use_observed_information(result, solver.problem, None)
        self._attach(result, data, solver, n_obs=data.n_obs, sum_weights=data.sum_weights)
        if n_classes == 2:
            null = start_null_stream(result, solver.problem.family, self.fit_intercept, False)
            self._null_stream_ = null.to_array()
        self._class_totals_ = data.class_totals
        self._stream_key_ = self._stream_key()
        self._warn_separation(result, data, solver)

    def _update(self, data):
        """One ``partial_fit`` batch after the first."""
        n_classes = self.classes_.size
        n_obs, sum_weights = self.n_obs_ + data.n_obs, self.sum_sample_weight_ + data.sum_weights
        seen = self._penalty(n_classes, self.sum_sample_weight_)
        penalty = self._penalty(n_classes, sum_weights)
        totals = StreamTotals(
            coef=self._coefficients().ravel(), information=self.information_ - np.diag(seen),
            penalty=seen, deviance=self.deviance_, pearson=self.pearson_chi2_,
            log_likelihood=self.llf_, meat=self._meat_, null=None, n_iter=self.n_iter_,
        )  # fmt: skip
        if n_classes == 2:
            totals.null = NullModelStream.from_array(self._null_stream_)
            problem = self._binary_problem(data, penalty, null_model=False)
            result, null = solve_reporting_separation(lambda: recursive_update(problem, totals))
            self._null_stream_ = null.to_array()
            self._use_observed_information(result, problem, self._observed_)
        else:
            problem = self._multinomial_problem(data, penalty)
            result = solve_reporting_separation(
                lambda: recursive_multinomial_update(problem, totals)
            )
        message = batch_shares_message(self._class_totals_, data.class_totals, self.classes_)
        self._class_totals_ = self._class_totals_ + data.class_totals
        if n_classes > 2:
            result.null_deviance = null_deviance(self._class_totals_, self.fit_intercept)
        self._attach(result, data, None, n_obs=n_obs, sum_weights=sum_weights)
        self._warn_separation(result, data, None)
        if message is not None:
            warnings.warn(message, UserWarning, stacklevel=4)

    def _attach(self, result, data, solver, *, n_obs, sum_weights):
        """Set the coefficients and every statistic from the solver's result."""
        if self.classes_.size == 2:
            statistics = glm_statistics(
                Bernoulli(self.link), result, dispersion_rule=None, cov_type=self.cov_type,
                n_obs=n_obs, log_likelihood_at=lambda phi: solver.log_likelihood(result.coef, phi),
            )  # fmt: skip
            covariance, std_errors = statistics.covariance, statistics.std_errors
        else:
            covariance, std_errors = coefficient_covariance(result, 1.0, self.cov_type, n_obs)
        shape = self._free_shape(data)
        free = result.coef.reshape(shape)
        matrix = free.reshape(-1, shape[-1])
        features = matrix[:, 1:] if self.fit_intercept else matrix
        intercepts = matrix[:, 0] if self.fit_intercept else np.zeros(matrix.shape[0])
        if self.classes_.size > 2:  # the reference class's row of zeros
            features = np.vstack([np.zeros((1, features.shape[1])), features])
            intercepts = np.concatenate([[0.0], intercepts])
        self.coef_ = np.ascontiguousarray(features)
        self.intercept_ = np.asarray(intercepts, dtype=np.float64)
        self.n_iter_ = int(result.n_iter)
        self.converged_ = bool(result.converged)
        self.deviance_ = float(result.deviance)
        self.null_deviance_ = float(result.null_deviance)
        self.pearson_chi2_ = float(result.pearson)
        self.covariance_matrix_ = covariance
        self.std_errors_ = std_errors.reshape(shape)
        self.aliased_ = result.aliased.reshape(shape)
        self.llf_ = float(result.log_likelihood)
        self.information_ = result.information
        self.rank_ = int(result.rank)
        self.df_resid_ = int(n_obs - result.rank)
        self.use_t_ = False
        self.n_obs_ = int(n_obs)
        self.sum_sample_weight_ = float(sum_weights)
        self._meat_ = result.meat

    def _use_observed_information(self, result, problem, previous):
        """With ``information='observed'`` and a non-canonical link, replace the covariance
        factor of a binary fit by one of the observed information (of all rows seen: the
        batch's at its updated coefficients added to ``previous``)."""
        family = problem.family
        if self.information != "observed" or family.is_canonical:
            return
        gram = observed_gram(problem.design, family, result.coef, self.fit_intercept)
        self._observed_ = gram if previous is None else previous + gram
        information = problem.penalty.add_to(self._observed_)
        factor = observed_information_factor(information, ~result.aliased)
        if factor is None:
            warnings.warn(
                "The observed information is not positive definite at the returned "
                "coefficients (they are not a maximum of the likelihood: check converged_); "
                "the standard errors use the expected information instead.",
                UserWarning,
                stacklevel=5,
            )
            return
        result.factor = factor

    def _stream_key(self):
        """The parameters a stream's accumulated state depends on."""
        pf = None if self.l2_penalty_factor is None else np.asarray(self.l2_penalty_factor)
        return (f"link={self.link}, fit_intercept={self.fit_intercept}, alpha={self.alpha}, "
                f"l2_penalty_factor={None if pf is None else pf.tolist()}, "
                f"cov_type={self.cov_type}, information={self.information}")  # fmt: skip

    def _warn_separation(self, result, data, solver):
        """Report rows at probabilities numerically 0 or 1, naming the classes and the
        directions their coefficients diverge in (the last Fisher scoring step; the
        coefficients themselves after a streamed update)."""
        if not result.n_boundary:
            return
        shape = self._free_shape(data)
        step = self._coefficients() if solver is None else solver.state.step.reshape(shape)
        names = self._parameter_names()[int(self.fit_intercept) :]
        with np.errstate(divide="ignore"):
            message = separation_message(
                self.classes_, self._log_proba(data.X), data.codes, data.design.rows[2], step,
                names, result.n_boundary, result.n_positive, data.X, self.fit_intercept,
            )  # fmt: skip
        warnings.warn(message, PerfectSeparationWarning, stacklevel=5)

    def _coefficients(self):
        """The free coefficients, intercept first: shape (q,) for two classes, else
        (n_classes - 1, q)."""
        coef = np.asarray(self.coef_, dtype=np.float64)
        intercept = np.asarray(self.intercept_, dtype=np.float64)
        if self.classes_.size > 2:
            coef, intercept = coef[1:], intercept[1:]
        free = np.column_stack([intercept, coef]) if self.fit_intercept else coef
        return free[0] if self.classes_.size == 2 else free

    # ---------------------------------------------------------------------------------------
    # Prediction
    # ---------------------------------------------------------------------------------------
    def _linear_predictors(self, X):
        """``X @ coef_.T + intercept_`` for validated ``X``: shape (n,) or (n, n_classes)."""
        eta = np.asarray(X @ self.coef_.T, dtype=np.float64) + self.intercept_
        return eta[:, 0] if self.classes_.size == 2 else eta

    def _log_proba(self, X):
        eta = self._linear_predictors(X)
        if self.classes_.size > 2:
            return CategoricalLogitsNegativeLogProbLoss(eta).dist.log_probs
        if self.link == "log" and np.any(eta > 0):
            warnings.warn(
                f"The log link gives probabilities above 1 for {int(np.sum(eta > 0))} rows; "
                "they are reported as 1.",
                UserWarning,
                stacklevel=4,
            )
        return np.column_stack(binary_log_probabilities(self.link, eta))

    def decision_function(self, X):
        """Confidence scores: the log-odds of ``classes_[1]`` for two classes (the linear
        predictor under the logit link), else the logits of every class (class 0's are 0).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = validate_predict_data(self, X)
        if self.classes_.size > 2 or self.link == "logit":
            return self._linear_predictors(X)
        log_proba = self._log_proba(X)
        return log_proba[:, 1] - log_proba[:, 0]

    def predict_log_proba(self, X):
        """Log-probabilities of the classes (columns in ``classes_`` order), computed from the
        linear predictors without loss of precision near 0 and 1.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        return self._log_proba(validate_predict_data(self, X))

    def predict_proba(self, X):
        """Probabilities of the classes (columns in ``classes_`` order).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return np.exp(self.predict_log_proba(X))

    def predict(self, X):
        """The most probable class of each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(np.intp)]
        return self.classes_[np.argmax(scores, axis=1)]

    # ---------------------------------------------------------------------------------------
    # Statistics
    # ---------------------------------------------------------------------------------------
    def _parameter_names(self, feature_names=None):
        names = getattr(self, "feature_names_in_", None) if feature_names is None else feature_names
        names = list(names) if names is not None else [f"x{i}" for i in range(self.n_features_in_)]
        if len(names) != self.n_features_in_:
            raise ValueError(f"Expected {self.n_features_in_} feature names; got {len(names)}.")
        return ["(Intercept)"] + names if self.fit_intercept else names

    def _coefficient_groups(self):
        if self.classes_.size == 2:
            return None
        reference = self.classes_[0]
        return [f"{label} vs {reference}" for label in self.classes_[1:]]

    def _summary_header(self):
        if self.classes_.size == 2:
            model = (f"Model: Bernoulli, link: {self.link}; probability of "
                     f"{label_text(self.classes_[1])}")  # fmt: skip
        else:
            model = (f"Model: multinomial logit, {self.classes_.size} classes, reference class "
                     f"{label_text(self.classes_[0])}")  # fmt: skip
        covariance = f"Covariance: {self.cov_type}, {self.information} information"
        return self._summary_lines(model, covariance)

    # ---------------------------------------------------------------------------------------
    # scikit-learn plumbing
    # ---------------------------------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_class = self.link == "logit"
        return tags
