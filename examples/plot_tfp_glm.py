"""
Fisher scoring with the ``tfp.glm`` interface
=============================================

``skglm_fisher.glm`` takes TensorFlow Probability's arguments and returns its numbers. Here we fit
a logistic regression step by step with :func:`~skglm_fisher.glm.fit_one_step`, then in one call
with :func:`~skglm_fisher.glm.fit`, and compare link functions for the same binary data.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from skglm_fisher import glm

rng = np.random.default_rng(0)
n = 2_000
X = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
y = rng.binomial(1, 1 / (1 + np.exp(-(X @ [-0.5, 1.2, -0.7])))).astype(float)

# %%
# Fisher scoring converges quadratically: the change in the coefficients falls by orders of
# magnitude at each step.
coef = np.zeros(3)
changes = []
for _ in range(6):
    new_coef, _ = glm.fit_one_step(X, y, glm.Bernoulli(), model_coefficients_start=coef)
    changes.append(np.linalg.norm(new_coef - coef))
    coef = new_coef

fig, ax = plt.subplots()
ax.semilogy(range(1, 7), changes, marker="o")
ax.set_xlabel("Fisher scoring step")
ax.set_ylabel("||coefficient change||")
plt.show()

# %%
# The same fit in one call, and with the probit and complementary log-log links.
for family in (glm.Bernoulli(), glm.BernoulliNormalCDF(), glm.Bernoulli(link="cloglog")):
    coef, eta, converged, iterations = glm.fit(X, y, family)
    deviance = family.deviance(y, family.mean(eta))
    print(f"{family!r:32} deviance {deviance:9.3f} in {iterations} steps")
