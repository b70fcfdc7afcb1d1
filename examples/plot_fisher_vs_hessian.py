"""
The Fisher against the Hessian: K-FAC loss objects
==================================================

The loss objects of :mod:`skglm_fisher.losses` give, for a batch of predictions, the negative
log-likelihood, its gradient, and products with its Hessian ``H`` and its Fisher information
``F = E[g gᵀ]`` (the expectation over targets drawn from the model's own distribution, which is
also the expected Hessian). Second-order optimizers such as K-FAC and Fisher scoring use ``F``:
it is positive semi-definite and does not depend on the observed targets, where ``H`` may be
neither. This example checks these facts numerically.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from skglm_fisher.glm import Normal
from skglm_fisher.losses import CategoricalLogitsNegativeLogProbLoss, GLMNegativeLogProbLoss

# %%
# Categorical logits: ``F`` is the expected outer product of sampled gradients
# ----------------------------------------------------------------------------
# For softmax probabilities ``p`` the Fisher of one row is ``diag(p) - p pᵀ``. Drawing targets
# from the model (``loss.sample``) and averaging the outer products of the gradients at those
# targets estimates it, with an error that falls like ``1/sqrt(N)``. The outer product at the
# *observed* targets (the "empirical Fisher") estimates something else.
logits = np.array([[1.0, 0.0, -0.5, 2.0]])
n_classes = logits.shape[1]
exact = CategoricalLogitsNegativeLogProbLoss(logits).multiply_fisher
fisher = np.vstack([exact(e[None, :])[0] for e in np.eye(n_classes)])
print("F =\n", np.round(fisher, 4))

rng = np.random.default_rng(0)
sizes = np.logspace(1, 5, 9).astype(int)
errors = []
for n in sizes:
    repeated = np.repeat(logits, n, axis=0)
    targets = CategoricalLogitsNegativeLogProbLoss(repeated).sample(seed=rng)
    g = CategoricalLogitsNegativeLogProbLoss(repeated, targets=targets).gradient()
    errors.append(np.linalg.norm(g.T @ g / n - fisher) / np.linalg.norm(fisher))

observed = np.array([0])  # a label the model finds unlikely
g_observed = CategoricalLogitsNegativeLogProbLoss(logits, targets=observed).gradient()
empirical_error = np.linalg.norm(g_observed.T @ g_observed - fisher) / np.linalg.norm(fisher)

fig, ax = plt.subplots()
ax.loglog(sizes, errors, "o-", label="sampled targets")
ax.loglog(
    sizes, errors[0] * np.sqrt(sizes[0] / sizes), "--", color="grey", label=r"$\propto 1/\sqrt{N}$"
)
ax.axhline(empirical_error, color="C3", ls=":", label="observed target (empirical Fisher)")
ax.set_xlabel("number of sampled targets N")
ax.set_ylabel("relative error of the estimate of F")
ax.legend()
plt.show()

# %%
# The factor ``B`` (``B Bᵀ = F``) and its replicated one-hot columns, which K-FAC uses to
# build Kronecker factors, reproduce ``F`` to rounding:
loss = CategoricalLogitsNegativeLogProbLoss(logits)
B = np.vstack([loss.multiply_fisher_factor(e[None, :])[0] for e in np.eye(n_classes)]).T
columns = [loss.multiply_fisher_factor_replicated_one_hot((j,))[0] for j in range(n_classes)]
print(f"|B Bᵀ - F| = {np.abs(B @ B.T - fisher).max():.1e}")
replicated = sum(np.outer(c, c) for c in columns)
print(f"|Σ_j (B e_j)(B e_j)ᵀ - F| = {np.abs(replicated - fisher).max():.1e}")

# %%
# A GLM under a non-canonical link: the Hessian depends on ``y`` and can be negative
# -----------------------------------------------------------------------------------
# Under its canonical link a GLM loss is a *natural-parameter* loss and ``H = F``. Least
# squares on a log scale (a normal response with a log link, ``mu = exp(eta)``) is not: per row
# ``F = mu²`` while ``H = mu (2 mu - y)``, negative whenever ``y > 2 mu``. Averaged over
# responses drawn from the model, ``H`` is ``F`` again.
family = Normal(1.0, link="log")
eta = np.linspace(-1.0, 1.5, 200)
fig, ax = plt.subplots()
ax.plot(
    eta, GLMNegativeLogProbLoss(eta, family).fisher_diagonal(), color="k", lw=2, label="Fisher F"
)
for y in (0.5, 2.0, 5.0):
    hessian = GLMNegativeLogProbLoss(eta, family, targets=np.full_like(eta, y)).hessian_diagonal()
    ax.plot(eta, hessian, label=f"Hessian H at y = {y}")
points = np.linspace(-1.0, 1.5, 6)
draws = np.repeat(points, 20_000)
sampled = GLMNegativeLogProbLoss(draws, family).sample(seed=1)
mean_hessian = GLMNegativeLogProbLoss(draws, family, targets=sampled).hessian_diagonal()
ax.plot(
    points,
    mean_hessian.reshape(len(points), -1).mean(axis=1),
    "o",
    color="k",
    mfc="none",
    label="mean of H over sampled y",
)
ax.axhline(0, color="grey", lw=0.5)
ax.set_xlabel("linear predictor eta")
ax.set_ylabel("second derivative of the loss")
ax.legend()
plt.show()

# %%
# The loss object refuses a square-root factor of such a Hessian, and says why:
loss = GLMNegativeLogProbLoss(eta[:3], family, targets=np.array([5.0, 5.0, 5.0]))
print("natural parameters:", loss.natural_params)
try:
    loss.multiply_hessian_factor(np.ones(3))
except NotImplementedError as error:
    print("NotImplementedError:", error)
