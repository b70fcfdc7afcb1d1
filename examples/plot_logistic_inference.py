"""
Logistic regression with standard errors and a calibration plot
================================================================

``FisherScoringGLM(family='bernoulli')`` is R's ``glm(family = binomial)``: a logistic
regression fitted by Fisher scoring (which is Newton's method under the canonical logit link),
with the coefficient table statisticians expect. We check its standard errors against
statsmodels, compute the sandwich (robust) covariance, and look at the calibration of the
predicted probabilities on held-out data.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import statsmodels.api as sm
from sklearn.calibration import calibration_curve
from sklearn.model_selection import train_test_split

from skglm_fisher import FisherScoringGLM

rng = np.random.default_rng(1)
n = 8_000
names = ["income", "debt_ratio", "age", "late_payments"]
X = np.column_stack(
    [
        rng.lognormal(10.5, 0.5, n) / 1e4,  # income in tens of thousands
        rng.beta(2, 5, n),
        rng.uniform(20, 70, n),
        rng.poisson(0.5, n),
    ]
)
true_coef = np.array([-0.15, 2.5, -0.02, 0.6])
y = (rng.random(n) < 1 / (1 + np.exp(-(-1.0 + X @ true_coef)))).astype(float)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

# %%
# The fit and R's summary table. The Bernoulli dispersion is fixed at 1, so the table gives z
# values and normal p-values.
model = FisherScoringGLM(family="bernoulli").fit(X_train, y_train)
print(model.summary(feature_names=names))

# %%
# statsmodels' ``GLM`` with the binomial family maximises the same likelihood; its standard
# errors come from the same Fisher information.
reference = sm.GLM(y_train, sm.add_constant(X_train), family=sm.families.Binomial()).fit()
ours = np.r_[model.intercept_, model.coef_]
print(
    "largest coefficient difference / SE: "
    f"{np.max(np.abs(ours - reference.params) / model.std_errors_):.1e}"
)
se_difference = np.max(np.abs(model.std_errors_ / reference.bse - 1))
print(f"largest relative SE difference: {se_difference:.1e}")

# %%
# The sandwich covariance (``cov_type='HC0'``) stays valid when the variance function is wrong;
# for this correctly specified model it is close to the model-based one. ``'HC1'`` multiplies it
# by ``n / (n - p)``.
robust = FisherScoringGLM(family="bernoulli", cov_type="HC0").fit(X_train, y_train)
robust_reference = sm.GLM(y_train, sm.add_constant(X_train), family=sm.families.Binomial()).fit(
    cov_type="HC0"
)
print("robust / model-based SE:", np.round(robust.std_errors_ / model.std_errors_, 3))
print(
    "largest relative difference of the HC0 SEs from statsmodels: "
    f"{np.max(np.abs(robust.std_errors_ / robust_reference.bse - 1)):.1e}"
)

# %%
# Coefficients with their 95% confidence intervals (``summary().ci_lower``/``ci_upper``), and
# the values the data were drawn from. The features have different scales, so each is shown as
# the change in log-odds for one standard deviation of its feature.
table = model.summary(feature_names=names)
scale = X_train.std(axis=0)
fig, ax = plt.subplots(figsize=(6, 3))
rows = np.arange(len(names))
estimate = table.estimate[1:] * scale
error = [estimate - table.ci_lower[1:] * scale, table.ci_upper[1:] * scale - estimate]
ax.errorbar(estimate, rows, xerr=error, fmt="o", capsize=3, label="estimate, 95% interval")
ax.plot(true_coef * scale, rows, "x", color="k", label="truth")
ax.axvline(0, color="grey", lw=0.5)
ax.set_yticks(rows, names)
ax.set_xlabel("change in log-odds per standard deviation")
ax.legend(loc="center")
plt.tight_layout()
plt.show()

# %%
# Calibration on the held-out quarter: in each bin of predicted probability, the observed
# frequency of the event should match the mean prediction.
p_test = model.predict(X_test)
observed, predicted = calibration_curve(y_test, p_test, n_bins=10, strategy="quantile")
fig, (top, bottom) = plt.subplots(2, 1, figsize=(5, 6), height_ratios=[3, 1], sharex=True)
top.plot([0, 1], [0, 1], color="grey", lw=0.5, label="perfect calibration")
top.plot(predicted, observed, "o-", label="FisherScoringGLM")
top.set_ylabel("observed frequency")
top.legend()
bottom.hist(p_test, bins=40)
bottom.set_xlabel("predicted probability")
bottom.set_ylabel("rows")
plt.tight_layout()
plt.show()
