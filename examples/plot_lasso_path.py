"""
Lasso path and cross-validated penalty for a Poisson GLM
=========================================================

Claim counts with an exposure offset and 40 candidate features, of which 8 matter. The lasso
selects variables: :func:`skglm_fisher.glm.regularization_path` fits the model along a grid of
penalty strengths (warm starts, strong rules, a KKT check of every column), and
:class:`~skglm_fisher.FisherScoringGLMCV` picks the strength by the held-out deviance of
5-fold cross-validation, then refits on all rows.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from skglm_fisher import FisherScoringGLMCV, glm

rng = np.random.default_rng(0)
n, p = 10_000, 40
X = rng.standard_normal((n, p))
X[:, 1:] += 0.3 * X[:, :-1]  # neighbouring features are correlated
beta = np.zeros(p)
beta[:8] = [0.30, -0.25, 0.20, 0.15, -0.12, 0.10, 0.08, -0.05]
exposure = rng.uniform(0.2, 1.0, n)
y = rng.poisson(exposure * np.exp(-1.0 + X @ beta))
offset = np.log(exposure)

# %%
# The path
# --------
# From ``alpha_max``, the smallest penalty that keeps every coefficient at zero, down to
# ``1e-3 · alpha_max``. The informative features enter first; the noise features only at small
# penalties.
path = glm.regularization_path(X, y, glm.Poisson(), offset=offset, n_alphas=60)
print(f"alpha_max = {path.alpha_max:.4g}; {path.n_iter.sum()} passes over the rows for "
      f"{len(path.alphas)} fits")  # fmt: skip

fig, ax = plt.subplots(figsize=(7, 4.5))
for j in range(p):
    ax.plot(path.alphas, path.coefs[:, j], color="C0" if beta[j] else "0.7",
            lw=1.5 if beta[j] else 0.8)  # fmt: skip
ax.set_xscale("log")
ax.invert_xaxis()
ax.set_xlabel("alpha (decreasing)")
ax.set_ylabel("coefficient")
ax.set_title("Poisson lasso path: informative features (blue), noise (grey)")
plt.tight_layout()
plt.show()

# %%
# Choosing alpha by cross-validation
# ----------------------------------
# The same grid on every fold; each fold's path is scored by its mean held-out deviance.
model = FisherScoringGLMCV(family="poisson", n_alphas=60, cv=5).fit(X, y, offset=offset)
deviance = -model.cv_scores_
mean, spread = deviance.mean(axis=1), deviance.std(axis=1)

fig, ax = plt.subplots(figsize=(7, 4.5))
ax.plot(model.alphas_, mean, color="C1")
ax.fill_between(model.alphas_, mean - spread, mean + spread, color="C1", alpha=0.2,
                label="mean ± sd over folds")  # fmt: skip
ax.axvline(model.alpha_, color="k", ls="--", label=f"chosen alpha = {model.alpha_:.3g}")
ax.set_xscale("log")
ax.invert_xaxis()
ax.set_xlabel("alpha (decreasing)")
ax.set_ylabel("held-out mean Poisson deviance")
ax.legend()
plt.tight_layout()
plt.show()

selected = np.flatnonzero(model.coef_)
print(f"selected {selected.size} features: {selected.tolist()}")
print(f"informative features found: {np.intersect1d(selected, np.flatnonzero(beta)).size} of 8")

# %%
# The refitted model's summary says why it shows no standard errors: the lasso chose the
# columns, and Wald tests that ignore that choice are not valid. For inference, refit the
# selected columns without penalty on independent data.
print(model.estimator_.summary())
