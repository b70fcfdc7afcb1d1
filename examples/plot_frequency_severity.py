"""
Claim frequency and severity: Poisson and Gamma GLMs against scikit-learn and statsmodels
=========================================================================================

The classic insurance pricing model splits the expected cost of a policy into how often it
claims (*frequency*, claims per year of exposure) and how much a claim costs (*severity*):

.. math::

    \\text{pure premium} = \\underbrace{\\mathbb{E}[N / e]}_{\\text{Poisson, offset } \\log e}
    \\times \\underbrace{\\mathbb{E}[\\bar Z]}_{\\text{Gamma, weights } N}

with ``N`` the number of claims, ``e`` the exposure and ``Z̄`` the average claim amount of a
policy that claimed. We fit both GLMs with :class:`~skglm_fisher.FisherScoringGLM` and check
coefficients and standard errors against scikit-learn's ``PoissonRegressor``/``GammaRegressor``
and statsmodels' ``GLM``, which solve the same likelihoods.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import statsmodels.api as sm
from sklearn.linear_model import GammaRegressor, PoissonRegressor

from skglm_fisher import FisherScoringGLM

rng = np.random.default_rng(0)
n = 20_000
policies = pd.DataFrame(
    {
        "region": rng.choice(["A", "B", "C", "D"], n),
        "vehicle_power": rng.integers(4, 12, n),
        "driver_age": rng.uniform(18, 80, n),
    }
)
X_frame = pd.get_dummies(policies, columns=["region"], drop_first=True, dtype=float)
X_frame["driver_age"] = (X_frame["driver_age"] - 50) / 15  # standardised
X = X_frame.to_numpy()
names = list(X_frame.columns)

true_frequency = np.array([0.10, 0.05, -0.20, -0.30, 0.25])  # power, age, B, C, D
true_severity = np.array([0.08, -0.10, 0.30, 0.00, 0.10])
exposure = rng.uniform(0.1, 1.0, n)
claims = rng.poisson(exposure * np.exp(-2.5 + X @ true_frequency))
# Each claim costs Gamma(shape 2); the average of N claims is Gamma with shape 2·N.
has_claims = claims > 0
mean_cost = np.exp(7.0 + X @ true_severity)
average_cost = np.zeros(n)
average_cost[has_claims] = rng.gamma(
    2.0 * claims[has_claims], mean_cost[has_claims] / (2.0 * claims[has_claims])
)
print(f"{n:,} policies, {claims.sum():,} claims on {has_claims.sum():,} policies")

# %%
# Frequency
# ---------
# A Poisson GLM for the counts with ``log(exposure)`` as offset. scikit-learn has no offset: it
# fits the *rate* ``N / e`` weighted by ``e``, which has the same likelihood in the coefficients.
# statsmodels takes the offset directly.
frequency = FisherScoringGLM(family="poisson").fit(X, claims, offset=np.log(exposure))
sk_frequency = PoissonRegressor(alpha=0.0, solver="newton-cholesky", tol=1e-10)
sk_frequency.fit(X, claims / exposure, sample_weight=exposure)
sm_frequency = sm.GLM(
    claims, sm.add_constant(X), family=sm.families.Poisson(), offset=np.log(exposure)
).fit()


def compare(model, sk_model, sm_result):
    """Largest coefficient difference in units of our standard errors; standard errors."""
    ours = np.r_[model.intercept_, model.coef_]
    sk = np.r_[sk_model.intercept_, sk_model.coef_]
    print(
        "largest coefficient difference / standard error: "
        f"scikit-learn {np.max(np.abs(ours - sk) / model.std_errors_):.1e}, "
        f"statsmodels {np.max(np.abs(ours - sm_result.params) / model.std_errors_):.1e}"
    )
    print(
        "largest relative difference of the standard errors from statsmodels: "
        f"{np.max(np.abs(model.std_errors_ / sm_result.bse - 1)):.1e}"
    )


print(frequency.summary(feature_names=names))
compare(frequency, sk_frequency, sm_frequency)

# %%
# Severity
# --------
# A Gamma GLM with a log link for the average claim amount of the policies that claimed, each
# weighted by its number of claims (the average of ``N`` claims has ``N`` times less variance).
# The Gamma dispersion is estimated (Pearson's χ² over the residual degrees of freedom, as R
# and statsmodels do), so the table reports t values.
severity = FisherScoringGLM(family="gamma").fit(
    X[has_claims], average_cost[has_claims], sample_weight=claims[has_claims]
)
sk_severity = GammaRegressor(alpha=0.0, solver="newton-cholesky", tol=1e-10)
sk_severity.fit(X[has_claims], average_cost[has_claims], sample_weight=claims[has_claims])
sm_severity = sm.GLM(
    average_cost[has_claims],
    sm.add_constant(X[has_claims]),
    family=sm.families.Gamma(sm.families.links.Log()),
    var_weights=claims[has_claims],
).fit()

print(severity.summary(feature_names=names))
compare(severity, sk_severity, sm_severity)
print(
    f"dispersion: ours {severity.dispersion_:.5f}, statsmodels {sm_severity.scale:.5f} "
    "(claims drawn with Gamma shape 2: dispersion 1/2)"
)

# %%
# All three solve the same likelihood; they differ by their stopping rules, far below the
# standard errors. Below, the estimates with 95% confidence intervals against the values the
# data were drawn from.
fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
for ax, model, truth, title in [
    (axes[0], frequency, true_frequency, "frequency (Poisson)"),
    (axes[1], severity, true_severity, "severity (Gamma)"),
]:
    table = model.summary()
    rows = np.arange(len(names))
    ax.errorbar(
        table.estimate[1:],
        rows,
        xerr=1.96 * table.std_error[1:],
        fmt="o",
        label="estimate ± 1.96 SE",
    )
    ax.plot(truth, rows, "x", color="k", label="truth")
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_title(title)
    ax.set_yticks(rows, names)
    ax.set_xlabel("coefficient (log scale of the mean)")
axes[0].legend(loc="upper left")
plt.tight_layout()
plt.show()

# %%
# Pure premium
# ------------
# The product of the two predictions is the expected cost per year. Grouping the policies by
# decile of predicted premium, the observed cost per year of exposure follows the prediction.
premium = frequency.predict(X) * severity.predict(X)
cost = claims * average_cost
decile = pd.qcut(premium, 10, labels=False)
by_decile = (
    pd.DataFrame(
        {"decile": decile, "predicted": premium * exposure, "observed": cost, "exposure": exposure}
    )
    .groupby("decile")
    .sum()
)
fig, ax = plt.subplots()
ax.plot(
    by_decile.index + 1, by_decile["predicted"] / by_decile["exposure"], "o-", label="predicted"
)
ax.plot(by_decile.index + 1, by_decile["observed"] / by_decile["exposure"], "s--", label="observed")
ax.set_xlabel("decile of predicted pure premium")
ax.set_ylabel("cost per policy-year")
ax.legend()
plt.show()
