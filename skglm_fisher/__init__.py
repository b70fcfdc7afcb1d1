"""Generalized linear models by Fisher scoring, and FTRL-Proximal online logistic regression.

Estimators
----------
FisherScoringGLM
    GLM regressor fitted by Fisher scoring (IRLS) with R-style statistics; ridge, lasso and
    elastic-net penalties.
FisherScoringClassifier
    Logistic, probit and multinomial regression by Fisher scoring, with standard errors.
FisherScoringGLMCV
    Elastic-net GLM whose penalty cross-validation chooses along regularisation paths.
FTRLLogisticRegression
    Online logistic regression with TensorFlow's FTRL-Proximal optimizer.

Numeric core
------------
:mod:`skglm_fisher.glm` (families, links, ``fit_one_step``, ``fit``),
:mod:`skglm_fisher.losses`, :mod:`skglm_fisher.heads`, :mod:`skglm_fisher.optim`,
:mod:`skglm_fisher.gradients`.
"""

__version__ = "0.1.0"

from skglm_fisher._classifier import FisherScoringClassifier  # noqa: E402
from skglm_fisher._ftrl_logistic import FTRLLogisticRegression  # noqa: E402
from skglm_fisher._glm import FisherScoringGLM  # noqa: E402
from skglm_fisher._glm_cv import FisherScoringGLMCV  # noqa: E402

__all__ = [
    "FTRLLogisticRegression",
    "FisherScoringClassifier",
    "FisherScoringGLM",
    "FisherScoringGLMCV",
    "__version__",
]
