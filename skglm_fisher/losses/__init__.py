"""K-FAC style loss objects: negative log-likelihoods with Fisher and Hessian products.

A numpy port of the loss objects of K-FAC (``tensorflow/contrib/kfac``): each loss knows its
value, gradient, Fisher and Hessian (as products, factors ``B`` with ``B Bᵀ = F`` and replicated
one-hot columns of ``B``) and can sample targets from its own distribution. The conventions are
in the docstring of ``skglm_fisher.losses._base``; losses are summed over the batch, never averaged.

:class:`GLMNegativeLogProbLoss` is the loss of every :mod:`skglm_fisher.glm` family in the linear
predictor; Fisher scoring (:func:`skglm_fisher.glm.fit_one_step`) takes its weights and working
response from it.

Examples
--------
>>> import numpy as np
>>> from skglm_fisher.losses import MultiBernoulliNegativeLogProbLoss
>>> loss = MultiBernoulliNegativeLogProbLoss(np.zeros((3, 1)), targets=np.ones((3, 1)))
>>> round(loss.evaluate(), 4)
2.0794
"""

from skglm_fisher.losses._base import (
    DistributionNegativeLogProbLoss,
    LossFunction,
    NaturalParamsNegativeLogProbLoss,
    NegativeLogProbLoss,
)
from skglm_fisher.losses._bernoulli import MultiBernoulliNegativeLogProbLoss
from skglm_fisher.losses._categorical import (
    CategoricalLogitsNegativeLogProbLoss,
    OnehotCategoricalLogitsNegativeLogProbLoss,
)
from skglm_fisher.losses._glm import GLMNegativeLogProbLoss
from skglm_fisher.losses._normal import (
    NormalMeanNegativeLogProbLoss,
    NormalMeanVarianceNegativeLogProbLoss,
)

__all__ = [
    "CategoricalLogitsNegativeLogProbLoss",
    "DistributionNegativeLogProbLoss",
    "GLMNegativeLogProbLoss",
    "LossFunction",
    "MultiBernoulliNegativeLogProbLoss",
    "NaturalParamsNegativeLogProbLoss",
    "NegativeLogProbLoss",
    "NormalMeanNegativeLogProbLoss",
    "NormalMeanVarianceNegativeLogProbLoss",
    "OnehotCategoricalLogitsNegativeLogProbLoss",
]
