"""Agreement with TensorFlow Probability's ``tfp.glm`` and TensorFlow's FTRL on stored fixtures.

The fixtures in ``tests/data`` were computed by TensorFlow 2.18 / TFP 0.25 in float64 (see
``tests/data/README.md``). TF built the families' fixed ``scale`` parameters as float32 constants,
so the tests pass the same float32-rounded values.
"""

from pathlib import Path

import numpy as np
import pytest

from skglm_fisher import glm

DATA = Path(__file__).parent / "data"

_SCALE_07 = float(np.float32(0.7))
_SCALE_13 = float(np.float32(1.3))
FAMILIES = {
    "Bernoulli": lambda: glm.Bernoulli(),
    "BernoulliNormalCDF": lambda: glm.BernoulliNormalCDF(),
    "Binomial": lambda: glm.Binomial(total_count=5.0),
    "GammaExp": lambda: glm.GammaExp(concentration=2.0),
    "GammaSoftplus": lambda: glm.GammaSoftplus(concentration=2.0),
    "LogNormal": lambda: glm.LogNormal(scale=_SCALE_07),
    "LogNormalSoftplus": lambda: glm.LogNormalSoftplus(scale=_SCALE_07),
    "NegativeBinomial": lambda: glm.NegativeBinomial(total_count=3.0),
    "NegativeBinomialSoftplus": lambda: glm.NegativeBinomialSoftplus(total_count=3.0),
    "Normal": lambda: glm.Normal(scale=_SCALE_13),
    "NormalReciprocal": lambda: glm.NormalReciprocal(scale=_SCALE_13),
    "Poisson": lambda: glm.Poisson(),
    "PoissonSoftplus": lambda: glm.PoissonSoftplus(),
}
RTOL = 1e-10


def _cases(prefix):
    return sorted(p.stem for p in DATA.glob(f"{prefix}_*.npz"))


def _family_of(case):
    return FAMILIES[case.split("_")[1]]()


def _args(data):
    return {key[len("arg_") :]: data[key] for key in data.files if key.startswith("arg_")}


def test_fixture_inventory():
    # 13 families; 12 families x 8 one-step variants + NormalReciprocal's 5 + the batch case.
    assert len(_cases("family")) == 13
    assert len(_cases("onestep")) == 12 * 8 + 5 + 1
    assert len(_cases("fit")) == 12


@pytest.mark.parametrize("case", _cases("family"))
def test_family_matches_tfp(case):
    data = np.load(DATA / f"{case}.npz")
    family = _family_of(case)
    mean, variance, grad_mean = family(data["eta"])
    np.testing.assert_allclose(mean, data["mean"], rtol=RTOL)
    np.testing.assert_allclose(variance, data["variance"], rtol=RTOL)
    np.testing.assert_allclose(grad_mean, data["grad_mean"], rtol=RTOL)
    np.testing.assert_allclose(family.log_prob(data["response"], data["eta"]), data["log_prob"],
                               rtol=RTOL, atol=1e-12)  # fmt: skip


@pytest.mark.parametrize("case", _cases("onestep"))
def test_fit_one_step_matches_tfp(case):
    data = np.load(DATA / f"{case}.npz")
    args = _args(data)
    if case.endswith("_qr"):
        args["fast_unsafe_numerics"] = False
    coef, eta = glm.fit_one_step(data["X"], data["y"], _family_of(case), **args)
    np.testing.assert_allclose(coef, data["coef"], rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(eta, data["predicted_linear_response"], rtol=RTOL, atol=1e-12)


@pytest.mark.parametrize("case", _cases("fit"))
def test_fit_matches_tfp(case):
    data = np.load(DATA / f"{case}.npz")
    coef, eta, converged, iterations = glm.fit(
        data["X"], data["y"], _family_of(case), maximum_iterations=50, **_args(data)
    )
    np.testing.assert_allclose(coef, data["coef"], rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(eta, data["predicted_linear_response"], rtol=RTOL, atol=1e-12)
    assert converged == bool(data["converged"])
    assert iterations == int(data["iterations"])


def test_batch_fit_one_step_matches_each_problem():
    data = np.load(DATA / "onestep_Poisson_batch.npz")
    args = _args(data)
    coef, eta = glm.fit_one_step(data["X"], data["y"], glm.Poisson(), **args)
    for b in range(data["X"].shape[0]):
        single, _ = glm.fit_one_step(data["X"][b], data["y"][b], glm.Poisson(), **args)
        np.testing.assert_allclose(single, coef[b], rtol=1e-12)
