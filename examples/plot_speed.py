"""
Fit time against scikit-learn and statsmodels
=============================================

A small, quick version of ``benchmarks/bench_glm.py``: the time to fit an unpenalised Poisson
GLM on ``n × 20`` dense Gaussian features, for :class:`~skglm_fisher.FisherScoringGLM`,
scikit-learn's ``PoissonRegressor(solver='newton-cholesky')`` and statsmodels' ``GLM``, each at
its default tolerance, best of three runs.

BLAS is held to one thread for the peers: on problems this small, a multi-threaded BLAS on a
two-core machine is often slower than one thread (and erratic when the cores are shared).
``FisherScoringGLM`` does the same internally and instead splits large passes over row blocks
on all cores. The sizes are small so that the example runs in seconds, and the figures are
whatever the machine that built this page measured. ``benchmarks/bench_glm.py`` runs a million
rows, more cases and glum.
"""

# %%
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import statsmodels.api as sm
from sklearn.linear_model import PoissonRegressor
from threadpoolctl import threadpool_limits

from skglm_fisher import FisherScoringGLM


def best_of(fit, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fit()
        times.append(time.perf_counter() - start)
    return min(times)


rng = np.random.default_rng(0)
sizes = [5_000, 10_000, 20_000, 40_000]
p = 20
X_all = rng.standard_normal((sizes[-1], p))
y_all = rng.poisson(np.exp(0.5 + X_all @ rng.normal(0, 0.3 / np.sqrt(p), p))).astype(float)

fits = {
    "FisherScoringGLM": lambda X, y: FisherScoringGLM(family="poisson").fit(X, y),
    "PoissonRegressor (newton-cholesky)": lambda X, y: PoissonRegressor(
        alpha=0.0, solver="newton-cholesky"
    ).fit(X, y),
    "statsmodels GLM": lambda X, y: sm.GLM(
        y, sm.add_constant(X), family=sm.families.Poisson()
    ).fit(),
}
seconds = {name: [] for name in fits}
with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
    warnings.simplefilter("ignore")  # statsmodels' and scikit-learn's convergence chatter
    for n in sizes:
        X, y = X_all[:n], y_all[:n]
        for name, fit in fits.items():
            seconds[name].append(best_of(lambda fit=fit, X=X, y=y: fit(X, y)))

print(f"{'rows':>8} " + " ".join(f"{name:>36}" for name in fits))
for i, n in enumerate(sizes):
    print(f"{n:>8,} " + " ".join(f"{seconds[name][i] * 1e3:>33.1f} ms" for name in fits))

# %%
fig, ax = plt.subplots()
for name, values in seconds.items():
    ax.loglog(sizes, values, "o-", label=name)
ax.set_xlabel("rows (20 features)")
ax.set_ylabel("fit time, best of 3 [s]")
ax.legend()
plt.show()

# %%
# All three reach the same coefficients; their stopping rules differ slightly.
X, y = X_all, y_all
ours = FisherScoringGLM(family="poisson").fit(X, y)
ours_coef = np.r_[ours.intercept_, ours.coef_]
sk = PoissonRegressor(alpha=0.0, solver="newton-cholesky").fit(X, y)
sm_fit = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson()).fit()
peers = {"scikit-learn": np.r_[sk.intercept_, sk.coef_], "statsmodels": sm_fit.params}
for name, coef in peers.items():
    difference = np.max(np.abs(ours_coef - coef) / ours.std_errors_)
    print(f"largest coefficient difference from {name}, in standard errors: {difference:.1e}")
