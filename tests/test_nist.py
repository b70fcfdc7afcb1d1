"""NIST StRD linear regression: certified coefficients and standard errors.

The eleven datasets (``tests/data/nist``, unchanged NIST files) are fitted as normal GLMs with
``alpha=0``. Scores are log relative errors (LRE, McCullough 1998: correct significant digits;
absolute where the certified value is 0). Filip's equilibrated design has condition 5e9, so the
normal equations lose every digit; the QR route keeps about eight. Wampler5 sits at the limit
of double precision for any QR solver (about 5.8 digits in its coefficients).
"""

import numpy as np
import pytest
from nist import NAMES, load, lre

from skglm_fisher import FisherScoringGLM

# Digits required: 6 everywhere, 5.5 for Wampler5's coefficients.
REQUIRED = {name: 6.0 for name in NAMES}
REQUIRED["Wampler5"] = 5.5


@pytest.mark.parametrize("solver", ["cholesky", "qr"])
@pytest.mark.parametrize("name", NAMES)
def test_nist_certified_values(name, solver):
    problem = load(name)
    model = FisherScoringGLM(family="normal", solver=solver, fit_intercept=problem.intercept)
    model.fit(problem.X, problem.y)
    estimate = np.r_[model.intercept_, model.coef_] if problem.intercept else model.coef_
    assert lre(estimate, problem.coef).min() >= REQUIRED[name]
    assert lre(model.std_errors_, problem.std_errors).min() >= 6.0
    assert model.rank_ == problem.coef.size and not model.aliased_.any()


def test_nist_with_the_constant_as_a_column_of_x():
    # Longley with the constant among the columns and no intercept: the same numbers, whatever
    # the column order and scale.
    problem = load("Longley")
    X = np.column_stack([problem.X[:, :3], np.ones(len(problem.y)), problem.X[:, 3:]])
    model = FisherScoringGLM(fit_intercept=False).fit(X, problem.y)
    order = [1, 2, 3, 0, 4, 5, 6]
    assert lre(model.coef_, problem.coef[order]).min() >= 6.0
    assert lre(model.std_errors_, problem.std_errors[order]).min() >= 6.0
