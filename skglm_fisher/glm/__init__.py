"""Functional GLM core with TensorFlow Probability's ``tfp.glm`` semantics.

A TFP user can replace ``tfp.glm`` with ``skglm_fisher.glm``: the families have TFP's names and
constructor arguments, and :func:`fit_one_step` and :func:`fit` take TFP's arguments and return its
numbers, and :func:`fit_sparse` and :func:`fit_sparse_one_step` are ``tfp.glm``'s L1/L2-penalised
fitters. Beyond TFP, each distribution accepts the links R, statsmodels and scikit-learn users
expect, there are Gamma, InverseGaussian and Tweedie families, and :func:`regularization_path`
fits elastic-net GLMs along a grid of penalty strengths.
"""

from skglm_fisher.glm._custom import CustomExponentialFamily
from skglm_fisher.glm._families import (
    Bernoulli,
    BernoulliNormalCDF,
    Binomial,
    ExponentialFamily,
    Gamma,
    GammaExp,
    GammaSoftplus,
    InverseGaussian,
    LogNormal,
    LogNormalSoftplus,
    NegativeBinomial,
    NegativeBinomialSoftplus,
    Normal,
    NormalReciprocal,
    Poisson,
    PoissonSoftplus,
)
from skglm_fisher.glm._fisher import (
    convergence_criteria_small_relative_norm_weights_change,
    fit,
    fit_one_step,
)
from skglm_fisher.glm._links import (
    CloglogLink,
    IdentityLink,
    InverseLink,
    InverseSquaredLink,
    Link,
    LogitLink,
    LogLink,
    PowerLink,
    ProbitLink,
    SoftplusLink,
    SqrtLink,
    get_link,
)
from skglm_fisher.glm._path import RegularizationPath, regularization_path
from skglm_fisher.glm._sparse import fit_sparse, fit_sparse_one_step
from skglm_fisher.glm._tweedie import Tweedie

__all__ = [
    "Bernoulli",
    "BernoulliNormalCDF",
    "Binomial",
    "CloglogLink",
    "CustomExponentialFamily",
    "ExponentialFamily",
    "Gamma",
    "GammaExp",
    "GammaSoftplus",
    "IdentityLink",
    "InverseGaussian",
    "InverseLink",
    "InverseSquaredLink",
    "Link",
    "LogLink",
    "LogNormal",
    "LogNormalSoftplus",
    "LogitLink",
    "NegativeBinomial",
    "NegativeBinomialSoftplus",
    "Normal",
    "NormalReciprocal",
    "Poisson",
    "PoissonSoftplus",
    "PowerLink",
    "ProbitLink",
    "RegularizationPath",
    "SoftplusLink",
    "SqrtLink",
    "Tweedie",
    "convergence_criteria_small_relative_norm_weights_change",
    "fit",
    "fit_one_step",
    "fit_sparse",
    "fit_sparse_one_step",
    "get_link",
    "regularization_path",
]
