"""What a fitted GLM reports: the statistics accessors shared by the GLM estimators.

Conventions
-----------
Coefficient vectors put the intercept first when there is one (``_coefficients()``), as do
``std_errors_``, ``covariance_matrix_`` and ``aliased_``. A model with several linear predictors
(the multinomial logit) has a coefficient matrix, one row per predictor, named by
``_coefficient_groups()``; ``std_errors_``, ``aliased_``, the test statistics and p-values have
its shape, and ``covariance_matrix_`` is over its rows concatenated. A test statistic is a t
statistic with ``df_resid_`` degrees of freedom where the dispersion is estimated (``use_t_``),
else a z statistic, as in R's ``summary.glm``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn.utils.validation import check_is_fitted

from skglm_fisher._inference import CoefficientTable, information_criteria

__all__ = ["GLMResultsMixin"]


class GLMResultsMixin:
    """Statistics of a fitted GLM estimator (see the module docstring for the conventions).

    The estimator provides ``_coefficients()``, ``_summary_header()`` and ``_parameter_names``
    (and ``_coefficient_groups`` for several linear predictors) and sets ``std_errors_``,
    ``covariance_matrix_``, ``aliased_``, ``df_resid_``, ``use_t_``, ``llf_``, ``rank_`` and
    ``n_obs_`` when fitted.
    """

    # -- likelihood ----------------------------------------------------------------------
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

    # -- coefficient inference -----------------------------------------------------------
    def _reference_distribution(self):
        return stats.t(self.df_resid_) if self.use_t_ and self.df_resid_ > 0 else stats.norm()

    @property
    def test_statistics_(self) -> np.ndarray:
        """``estimate / std_error`` per coefficient (intercept first; NaN where aliased): t
        statistics where the dispersion is estimated (``use_t_``), else z statistics."""
        check_is_fitted(self)
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._coefficients() / self.std_errors_

    @property
    def p_values_(self) -> np.ndarray:
        """Two-sided p-values of the test statistics (intercept first; NaN where aliased)."""
        return 2.0 * self._reference_distribution().sf(np.abs(self.test_statistics_))

    def conf_int(self, level=0.95) -> np.ndarray:
        """Wald confidence intervals of the coefficients (intercept first).

        Parameters
        ----------
        level : float, default=0.95
            Confidence level, in (0, 1).

        Returns
        -------
        intervals : ndarray of shape (n_params, 2)
            Lower and upper bounds; NaN rows for aliased coefficients. With several linear
            predictors, of shape ``(n_predictors, n_params, 2)``.
        """
        check_is_fitted(self)
        quantile = self._reference_distribution().ppf(0.5 + _check_level(level) / 2)
        estimate = self._coefficients()
        return np.stack([estimate - quantile * self.std_errors_,
                         estimate + quantile * self.std_errors_], axis=-1)  # fmt: skip

    def summary(self, level=0.95, feature_names=None) -> CoefficientTable:
        """Coefficient table like R's ``summary.glm``: estimate, standard error, z or t value
        (t when the dispersion is estimated), p-value and confidence interval, under a header
        with the model's statistics; aliased coefficients are shown as ``NA``.

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
        names = self._parameter_names(feature_names)
        return CoefficientTable(
            names, self._coefficients(), self.std_errors_, use_t=self.use_t_,
            df_resid=self.df_resid_, level=_check_level(level),
            header=self._summary_header(), aliased=self.aliased_,
            groups=self._coefficient_groups(),
        )  # fmt: skip

    def _coefficient_groups(self):
        """Names of the linear predictors when there are several (rows of the coefficients)."""
        return None

    def _df_model(self) -> int:
        """Identified coefficients other than the intercepts (statsmodels' ``df_model``)."""
        intercepts = 0
        if self.fit_intercept:
            intercepts = int(np.count_nonzero(~np.asarray(self.aliased_)[..., 0]))
        return self.rank_ - intercepts

    def _summary_lines(self, model, middle, deviance_note=""):
        """The header of :meth:`summary`: ``model`` (what was fitted), the observations and
        degrees of freedom, ``middle`` (dispersion, covariance), the likelihood and
        information criteria, the deviances (then ``deviance_note``) and the iterations."""
        return [
            model,
            f"Observations: {self.n_obs_}; Df model: {self._df_model()}; Df residuals: "
            f"{self.df_resid_}",
            middle,
            f"Log-likelihood: {self.llf_:.6g}; AIC: {self.aic:.6g}; BIC: {self.bic:.6g}",
            f"Null deviance: {self.null_deviance_:.6g}; residual deviance: "
            f"{self.deviance_:.6g} on {self.df_resid_} degrees of freedom{deviance_note}",
            f"Fisher scoring iterations: {self.n_iter_}",
        ]

    # -- predictions with standard errors ------------------------------------------------
    def _linear_predictor_std(self, X):
        """Standard error of the linear predictor of the rows of validated ``X`` (delta method,
        ``sqrt(x Cov xᵀ)`` over the identified coefficients)."""
        keep = ~self.aliased_
        cov = self.covariance_matrix_[np.ix_(keep, keep)]
        intercept = bool(self.fit_intercept)
        feature_keep = keep[1:] if intercept else keep
        rows = X[:, feature_keep] if not hasattr(X, "tocsc") else X.tocsc()[:, feature_keep]
        rows = rows.toarray() if hasattr(rows, "toarray") else np.asarray(rows, dtype=np.float64)
        if intercept and keep[0]:
            rows = np.column_stack([np.ones(rows.shape[0]), rows])
        return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", rows, cov, rows), 0.0))


def _check_level(level) -> float:
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1); got {level!r}.")
    return level
