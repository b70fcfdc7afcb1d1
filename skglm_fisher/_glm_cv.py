"""FisherScoringGLMCV: an elastic-net GLM whose alpha (and l1_ratio) cross-validation chooses."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import check_cv
from sklearn.utils.validation import check_is_fitted

from skglm_fisher._atomic import unchanged_on_error
from skglm_fisher._glm import FisherScoringGLM
from skglm_fisher._glm_inputs import family_from_params, split_offset_column, validate_fit_data
from skglm_fisher._persistence import VersionStampMixin
from skglm_fisher._sklearn_compat import Interval, StrOptions, _fit_context
from skglm_fisher.glm._design import is_dask_array, make_design
from skglm_fisher.glm._path import (
    alpha_grid,
    check_alphas,
    check_l1_ratio,
    check_penalty_factor,
    path_alpha_max,
    path_on_design,
)

__all__ = ["FisherScoringGLMCV"]


class FisherScoringGLMCV(VersionStampMixin, RegressorMixin, BaseEstimator):
    """Elastic-net GLM with ``alpha`` (and ``l1_ratio``) chosen by cross-validation.

    For each ``l1_ratio`` and each training fold, the regularisation path
    (:func:`skglm_fisher.glm.regularization_path`: warm starts, strong rules, a KKT check at
    every pass) is fitted on a common grid of alphas, computed on all rows from ``alpha_max``
    down to ``min_alpha_ratio · alpha_max``. Every fit is scored on its held-out fold; the pair
    with the best mean score is refitted on all rows by :class:`FisherScoringGLM`, which then
    predicts. The objective is :class:`FisherScoringGLM`'s with ``l1_ratio``::

        1/(2·Σs) · Σ_i s_i · unit_deviance_i
            + alpha · (l1_ratio · ||pf ⊙ coef||₁ + (1 - l1_ratio)/2 · ||pf ⊙ coef||²)

    Parameters
    ----------
    family, link, power
        As :class:`FisherScoringGLM`.
    l1_ratio : float or list of float in [0, 1], default=1.0
        Share of the L1 term (1: lasso); a list is searched along with alpha. A ratio of 0 (the
        ridge) needs ``alphas``.
    n_alphas : int, default=100
        Length of the grid of alphas per ``l1_ratio``.
    min_alpha_ratio : float in (0, 1), default=1e-3
        Smallest alpha of the grid relative to ``alpha_max`` (the smallest alpha that sets
        every penalised coefficient to zero on all rows).
    alphas : array-like of positive floats, default=None
        The grid itself (used for every ``l1_ratio``), instead of ``n_alphas`` values.
    penalty_factor : array-like of shape (n_features,), default=None
        Per-feature multiplier ``pf`` of the penalty; 0 leaves a feature unpenalised.
    fit_intercept : bool, default=True
    cv : int, cross-validation generator or iterable, default=5
        As scikit-learn's ``cv`` (an int gives ``KFold``). For group splits pass
        ``cv=list(GroupKFold().split(X, y, groups))``.
    scoring : str or callable, default=None
        None scores a fit by minus its mean held-out deviance per unit of sample weight (with
        the offset), the quantity the estimator minimises; otherwise a scikit-learn scorer
        name or ``scorer(estimator, X, y)``, whose estimator predicts the held-out means
        (an offset then has to reach it through ``offset_column``).
    n_jobs : int, default=None
        Paths fitted in parallel (joblib threads; each path's passes over the rows also use
        all cores).
    tol, max_iter, dispersion, offset_column, verbose
        As :class:`FisherScoringGLM` (``tol`` and ``max_iter`` apply to each fit of a path).

    Attributes
    ----------
    alpha_ : float
        The chosen alpha.
    l1_ratio_ : float
        The chosen ``l1_ratio``.
    alphas_ : ndarray of shape (n_alphas,) or (n_l1_ratio, n_alphas)
        The grid (decreasing) per ``l1_ratio``; one dimension when ``l1_ratio`` is a number.
    cv_scores_ : ndarray of shape (n_alphas, n_folds) or (n_l1_ratio, n_alphas, n_folds)
        Held-out score of every fit (higher is better; by default minus the mean deviance).
    estimator_ : FisherScoringGLM
        The model refitted on all rows at ``alpha_`` and ``l1_ratio_``; its statistics
        (deviance, ``summary()``; no standard errors when ``l1_ratio_ > 0``) describe the fit.
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    n_iter_ : int
        Fisher scoring steps of the refit.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Defined when ``X`` has string column names.

    See Also
    --------
    FisherScoringGLM, skglm_fisher.glm.regularization_path, sklearn.linear_model.ElasticNetCV

    Examples
    --------
    >>> import numpy as np
    >>> from skglm_fisher import FisherScoringGLMCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 6))
    >>> y = rng.poisson(np.exp(0.3 + X @ [0.5, -0.4, 0.0, 0.0, 0.0, 0.2]))
    >>> model = FisherScoringGLMCV(family="poisson", n_alphas=20, cv=4).fit(X, y)
    >>> model.alphas_.shape, model.cv_scores_.shape
    ((20,), (20, 4))
    >>> bool(model.alpha_ in model.alphas_), np.flatnonzero(model.coef_).tolist()
    (True, [0, 1, 4, 5])
    """

    _parameter_constraints: dict = {
        **{
            name: FisherScoringGLM._parameter_constraints[name]
            for name in ("family", "link", "power", "penalty_factor", "fit_intercept", "tol",
                         "max_iter", "dispersion", "offset_column", "verbose")
        },  # fmt: skip
        "l1_ratio": [Interval(Real, 0.0, 1.0, closed="both"), "array-like"],
        "n_alphas": [Interval(Integral, 1, None, closed="left")],
        "min_alpha_ratio": [Interval(Real, 0.0, 1.0, closed="neither")],
        "alphas": ["array-like", None],
        "cv": ["cv_object"],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        family="normal",
        link="auto",
        power=1.5,
        l1_ratio=1.0,
        n_alphas=100,
        min_alpha_ratio=1e-3,
        alphas=None,
        penalty_factor=None,
        fit_intercept=True,
        cv=5,
        scoring=None,
        n_jobs=None,
        tol=1e-8,
        max_iter=100,
        dispersion=None,
        offset_column=None,
        verbose=0,
    ):
        self.family = family
        self.link = link
        self.power = power
        self.l1_ratio = l1_ratio
        self.n_alphas = n_alphas
        self.min_alpha_ratio = min_alpha_ratio
        self.alphas = alphas
        self.penalty_factor = penalty_factor
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.tol = tol
        self.max_iter = max_iter
        self.dispersion = dispersion
        self.offset_column = offset_column
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, offset=None):
        """Choose alpha (and l1_ratio) by cross-validation, then refit on all rows.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
        offset : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : FisherScoringGLMCV
            A failed fit raises and leaves the estimator as it was.
        """
        if is_dask_array(X):
            raise ValueError(
                "FisherScoringGLMCV splits the rows into folds in memory; fit a Dask array with "
                "FisherScoringGLM, or compute it first."
            )
        with unchanged_on_error(self):
            family = family_from_params(self.family, self.link, self.power)
            X_model, offset = split_offset_column(X, offset, self.offset_column)
            if self.scoring is not None and offset is not None and self.offset_column is None:
                raise ValueError(
                    "A scorer sees only X and y, not the offset: pass the offset as a column "
                    "of X with offset_column, or use scoring=None (the held-out deviance)."
                )
            data = validate_fit_data(self, X_model, y, sample_weight, offset, True, family)
            pf = check_penalty_factor(self.penalty_factor, data.design.n_features)
            ratios = [check_l1_ratio(r, self.alphas) for r in np.atleast_1d(self.l1_ratio)]
            grids = self._grids(data.design, family, ratios, pf)
            splits = list(check_cv(self.cv).split(data.design.X, data.design.rows[0]))
            jobs = [(i, train, test) for i in range(len(ratios)) for train, test in splits]
            scores = Parallel(n_jobs=self.n_jobs, prefer="threads")(
                delayed(self._fold_scores)(data.design, family, ratios[i], grids[i], pf, train,
                                           test)  # fmt: skip
                for i, train, test in jobs
            )
            scores = np.array(scores).reshape(len(ratios), len(splits), -1).transpose(0, 2, 1)
            mean = scores.mean(axis=2)
            # The first best: the largest alpha among equals, the first l1_ratio given.
            best_ratio, best_alpha = np.unravel_index(np.argmax(mean), mean.shape)
            self.l1_ratio_ = float(ratios[best_ratio])
            self.alpha_ = float(grids[best_ratio][best_alpha])
            self.estimator_ = FisherScoringGLM(
                family=self.family, link=self.link, power=self.power, alpha=self.alpha_,
                l1_ratio=self.l1_ratio_, penalty_factor=self.penalty_factor,
                fit_intercept=self.fit_intercept, tol=self.tol, max_iter=self.max_iter,
                dispersion=self.dispersion, offset_column=self.offset_column,
                verbose=self.verbose,
            )  # fmt: skip
            # With offset_column the refit reads the offset from X, as prediction will.
            column = self.offset_column is not None
            self.estimator_.fit(X, y, sample_weight, None if column else offset)
            scalar = np.ndim(self.l1_ratio) == 0
            self.alphas_ = grids[0] if scalar else grids
            self.cv_scores_ = scores[0] if scalar else scores
            self.coef_ = self.estimator_.coef_
            self.intercept_ = self.estimator_.intercept_
            self.n_iter_ = self.estimator_.n_iter_
        return self

    def _grids(self, design, family, ratios, pf) -> np.ndarray:
        """The alphas per l1_ratio, shape (n_l1_ratio, n_alphas): the given ones, or grids from
        ``alpha_max`` of all rows (``alpha_max`` scales as ``1 / l1_ratio``)."""
        if self.alphas is not None:
            return np.tile(check_alphas(self.alphas), (len(ratios), 1))
        lasso_max = path_alpha_max(design, family, l1_ratio=1.0, penalty_factor=pf,
                                   fit_intercept=self.fit_intercept, tol=self.tol,
                                   max_iter=self.max_iter)  # fmt: skip
        return np.array(
            [alpha_grid(lasso_max / r, self.n_alphas, self.min_alpha_ratio) for r in ratios]
        )

    def _fold_scores(self, design, family, l1_ratio, alphas, pf, train, test) -> np.ndarray:
        """Held-out scores of the path fitted on the rows ``train``, one per alpha."""
        X = design.X
        y, offset, weights = design.rows

        def rows(v, index):
            return None if v is None else v[index]

        fold = make_design(X[train], rows(y, train), rows(offset, train), rows(weights, train))
        path = path_on_design(
            fold, family, l1_ratio=l1_ratio, penalty_factor=pf, alphas=alphas,
            n_alphas=len(alphas), min_alpha_ratio=self.min_alpha_ratio,
            fit_intercept=self.fit_intercept, tol=self.tol, max_iter=self.max_iter,
        )  # fmt: skip
        X_test, y_test, offset_test, weights_test = (
            X[test], y[test], rows(offset, test), rows(weights, test)
        )  # fmt: skip
        scores = np.empty(len(alphas))
        scorer = None if self.scoring is None else check_scoring(self, scoring=self.scoring)
        for k in range(len(alphas)):
            model = _PathPoint(family, path.coefs[k], path.intercepts[k], offset_test)
            if scorer is None:
                mu = model.predict(X_test)
                total = len(y_test) if weights_test is None else weights_test.sum()
                scores[k] = -family.deviance(y_test, mu, weights_test) / total
            elif weights_test is None:
                scores[k] = scorer(model, X_test, y_test)
            else:
                scores[k] = scorer(model, X_test, y_test, sample_weight=weights_test)
        return scores

    # -- prediction (by the refitted model) ----------------------------------------------
    def linear_predictor(self, X, offset=None):
        """``X @ coef_ + intercept_ + offset`` (see :meth:`FisherScoringGLM.linear_predictor`).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        offset : array-like of shape (n_samples,), default=None

        Returns
        -------
        eta : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.estimator_.linear_predictor(X, offset)

    def predict(self, X, offset=None):
        """Predicted mean of the refitted model (see :meth:`FisherScoringGLM.predict`).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        offset : array-like of shape (n_samples,), default=None

        Returns
        -------
        mu : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.estimator_.predict(X, offset)

    def score(self, X, y, sample_weight=None, offset=None):
        """D², the fraction of deviance explained (see :meth:`FisherScoringGLM.score`).

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
        check_is_fitted(self)
        return self.estimator_.score(X, y, sample_weight, offset)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        model = FisherScoringGLM(family=self.family, link=self.link, power=self.power)
        tags.input_tags.sparse = True
        tags.target_tags.positive_only = model.__sklearn_tags__().target_tags.positive_only
        return tags


class _PathPoint(RegressorMixin, BaseEstimator):
    """One fit of a path as a fitted regressor of held-out rows, for scorers: its predictions
    carry the held-out rows' offset."""

    def __init__(self, family=None, coef=None, intercept=0.0, offset=None):
        self.family = family
        self.coef = coef
        self.intercept = intercept
        self.offset = offset

    def predict(self, X):
        eta = np.asarray(X @ self.coef, dtype=np.float64).ravel() + self.intercept
        if self.offset is not None:
            eta = eta + self.offset
        with np.errstate(over="ignore"):
            return self.family.mean(eta)
