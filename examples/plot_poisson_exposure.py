"""
Claim frequency with exposure: a Poisson GLM with an offset
===========================================================

Insurance claim counts grow with the time a policy was exposed. The usual model is a Poisson
GLM for the *rate*, ``E[claims] = exposure · exp(X β)``, fitted with ``log(exposure)`` as an
offset. :class:`~skglm_fisher.FisherScoringGLM` fits it by Fisher scoring on a one-hot encoded
(sparse) design and reports what R's ``summary(glm(...))`` would: standard errors, deviances,
AIC.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skglm_fisher import FisherScoringGLM

rng = np.random.default_rng(0)
n = 50_000
policies = pd.DataFrame(
    {
        "region": rng.choice(["north", "south", "east", "west", "centre"], n),
        "vehicle_age": rng.choice(["0-2", "3-5", "6-10", "11+"], n),
        "driver_age": rng.uniform(18, 80, n),
    }
)
exposure = rng.uniform(0.1, 1.0, n)  # years
region_effect = policies["region"].map({"north": 0.0, "south": 0.2, "east": -0.1, "west": 0.1,
                                        "centre": 0.3})  # fmt: skip
vehicle_effect = policies["vehicle_age"].map({"0-2": 0.0, "3-5": 0.15, "6-10": 0.3, "11+": 0.4})
rate = np.exp(-2.0 + region_effect + vehicle_effect - 0.01 * (policies["driver_age"] - 40))
claims = rng.poisson(exposure * rate)

# %%
# One-hot encode the categoricals (dropping a reference level, as R's treatment contrasts) and
# standardise the numeric column. The CSR design is detected as one-hot blocks, whose Gram
# matrix is built from per-level counts.
encode = make_column_transformer(
    (OneHotEncoder(drop="first", sparse_output=True), ["region", "vehicle_age"]),
    (StandardScaler(), ["driver_age"]),
    sparse_threshold=1.0,
    verbose_feature_names_out=False,
)
X = encode.fit_transform(policies).tocsr()
model = FisherScoringGLM(family="poisson").fit(X, claims, offset=np.log(exposure))
print(model.summary(feature_names=encode.get_feature_names_out()))

# %%
# The fitted rate per year does not depend on the exposure; predictions for a given exposure
# pass the same offset. Observed and predicted claim frequencies by vehicle age agree.
frequency = (
    pd.DataFrame(
        {
            "vehicle_age": policies["vehicle_age"],
            "observed": claims,
            "predicted": model.predict(X, offset=np.log(exposure)),
            "exposure": exposure,
        }
    )
    .groupby("vehicle_age")[["observed", "predicted", "exposure"]]
    .sum()
)
frequency = frequency.div(frequency.pop("exposure"), axis=0).loc[["0-2", "3-5", "6-10", "11+"]]
ax = frequency.plot.bar(rot=0)
ax.set_ylabel("claims per policy-year")
plt.tight_layout()
plt.show()

# %%
# The deviance explained (D², the ``score``) and the dispersion check: for a well specified
# Poisson model Pearson's χ² over the residual degrees of freedom is close to 1.
print(f"D² = {model.score(X, claims, offset=np.log(exposure)):.4f}")
print(f"Pearson χ² / df = {model.pearson_chi2_ / model.df_resid_:.3f}")
