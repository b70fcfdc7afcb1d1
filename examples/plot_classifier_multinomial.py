"""
Multinomial logit with standard errors: how people commute
==========================================================

:class:`~skglm_fisher.FisherScoringClassifier` fits the multinomial logit by Fisher scoring and
reports what a statistician reads off statsmodels' ``MNLogit``: the coefficients of each class
against a reference class, their standard errors, z tests and intervals, while being a
scikit-learn classifier (string labels, ``predict_proba``, pipelines). We simulate commuters
choosing between car, bike and public transport, check the fit against statsmodels, and use the
covariance matrix for intervals on the predicted shares.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import statsmodels.api as sm

from skglm_fisher import FisherScoringClassifier

rng = np.random.default_rng(0)
n = 3_000
X = pd.DataFrame(
    {
        "distance_km": rng.gamma(2.0, 4.0, n),
        "income_10k": rng.lognormal(1.2, 0.4, n),
        "age_10y": rng.uniform(2.0, 6.5, n),
    }
)
modes = np.array(["car", "bike", "transit"])
# Log odds against the car, per mode: intercept, distance, income, age.
truth = np.array([[1.5, -0.25, -0.3, -0.2], [1.0, -0.05, -0.4, 0.05]])
design = np.column_stack([np.ones(n), X.to_numpy()])
logits = np.column_stack([np.zeros(n), design @ truth.T])
probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
y = modes[(probs.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)]
print(pd.Series(y).value_counts())

# %%
# ``classes_`` is sorted, so the reference category (the first class) is "bike". To compare
# every mode with the car, name the labels so that "car" sorts first.
labels = np.char.add(np.where(y == "car", "0 ", "1 "), y)
model = FisherScoringClassifier().fit(X, labels)
print(model.classes_)
print(model.summary())

# %%
# statsmodels' ``MNLogit`` fits the same model with the same reference; its ``params`` and
# ``bse`` are the transposes of our free rows and ``std_errors_``.
codes = np.searchsorted(model.classes_, labels)
reference = sm.MNLogit(codes, sm.add_constant(X)).fit(disp=0, method="newton", tol=1e-10)
free = np.column_stack([model.intercept_[1:], model.coef_[1:]])
print(f"largest coefficient difference: {np.max(np.abs(free - reference.params.T)):.1e}")
print(f"largest relative SE difference: "
      f"{np.max(np.abs(model.std_errors_ / reference.bse.T.to_numpy() - 1)):.1e}")  # fmt: skip

# %%
# The estimates with their 95% intervals (``conf_int()`` has the layout of ``std_errors_``:
# one row per non-reference class) against the values the data were drawn from.
intervals = model.conf_int()
names = ["(Intercept)", *X.columns]
fig, axes = plt.subplots(1, 2, figsize=(8, 3), sharey=True)
for k, ax in enumerate(axes):
    rows = np.arange(len(names))
    estimate = free[k]
    ax.errorbar(estimate, rows, xerr=[estimate - intervals[k, :, 0], intervals[k, :, 1] - estimate],
                fmt="o", capsize=3, label="estimate, 95% interval")  # fmt: skip
    ax.plot(truth[k], rows, "x", color="k", label="truth")
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_title(f"{model.classes_[k + 1]} vs {model.classes_[0]}")
    ax.set_yticks(rows, names)
axes[1].legend(loc="center right", fontsize=8)
fig.tight_layout()
plt.show()

# %%
# Predicted shares along the distance, the other features at their medians. The covariance of
# the free coefficients (``covariance_matrix_``, class by class, intercept first) gives
# intervals for the shares by simulation: draw coefficients from the normal approximation and
# take the softmax of each draw.
distance = np.linspace(0.5, 30, 60)
grid = pd.DataFrame({"distance_km": distance, "income_10k": X["income_10k"].median(),
                     "age_10y": X["age_10y"].median()})  # fmt: skip
grid_design = np.column_stack([np.ones(len(grid)), grid.to_numpy()])
draws = rng.multivariate_normal(free.ravel(), model.covariance_matrix_, size=2000)
draw_logits = np.einsum("gj,dkj->dgk", grid_design, draws.reshape(2000, 2, -1))
draw_logits = np.concatenate([np.zeros((2000, len(grid), 1)), draw_logits], axis=2)
draw_shares = np.exp(draw_logits) / np.exp(draw_logits).sum(axis=2, keepdims=True)
low, high = np.percentile(draw_shares, [2.5, 97.5], axis=0)
shares = model.predict_proba(grid)
fig, ax = plt.subplots(figsize=(6, 3.5))
for k, label in enumerate(model.classes_):
    ax.plot(distance, shares[:, k], label=label.split(" ")[1])
    ax.fill_between(distance, low[:, k], high[:, k], alpha=0.25)
ax.set_xlabel("distance (km)")
ax.set_ylabel("predicted share")
ax.legend()
fig.tight_layout()
plt.show()
