"""FisherScoringGLM in scikit-learn workflows (offsets that travel with X) and its inference
accessors (p-values, intervals, predictions with standard errors) against statsmodels."""

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from sklearn.compose import ColumnTransformer
from sklearn.metrics import mean_poisson_deviance
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skglm_fisher import FisherScoringGLM
from skglm_fisher.exceptions import MissingOffsetWarning


@pytest.fixture(scope="module")
def claims():
    rng = np.random.default_rng(0)
    n = 3000
    frame = pd.DataFrame({
        "age": rng.normal(size=n),
        "power": rng.normal(size=n),
        "region": rng.choice(["a", "b", "c"], n),
        "log_exposure": np.log(rng.uniform(0.2, 3.0, n)),
    })  # fmt: skip
    effect = frame["region"].map({"a": 0.0, "b": 0.3, "c": -0.2}).to_numpy()
    eta = -1.0 + 0.3 * frame["age"] - 0.2 * frame["power"] + effect + frame["log_exposure"]
    y = pd.Series(rng.poisson(np.exp(eta)).astype(float), name="claims")
    return frame, y


def _by_hand_scores(frame, y, cv, alpha=0.0):
    scores = []
    X, offset = frame[["age", "power"]].to_numpy(), frame["log_exposure"].to_numpy()
    for train, test in cv.split(X):
        model = FisherScoringGLM(family="poisson", alpha=alpha)
        model.fit(X[train], y.iloc[train], offset=offset[train])
        mu = model.predict(X[test], offset=offset[test])
        scores.append(-mean_poisson_deviance(y.iloc[test], mu))
    return np.array(scores)


def test_cross_validation_scores_with_an_offset_column(claims):
    frame, y = claims
    cv = KFold(3, shuffle=True, random_state=0)
    model = FisherScoringGLM(family="poisson", offset_column="log_exposure")
    scores = cross_val_score(model, frame[["age", "power", "log_exposure"]], y, cv=cv,
                             scoring="neg_mean_poisson_deviance")  # fmt: skip
    np.testing.assert_allclose(scores, _by_hand_scores(frame, y, cv), rtol=1e-12)
    # Without the offset the scores are those of the wrong predictions (and it says so).
    with pytest.warns(MissingOffsetWarning):
        wrong = cross_val_score(FisherScoringGLM(family="poisson"), frame[["age", "power"]], y,
                                cv=cv, scoring="neg_mean_poisson_deviance",
                                params={"offset": frame["log_exposure"].to_numpy()})  # fmt: skip
    assert np.all(np.abs(wrong - scores) > 1e-3)


def test_grid_search_and_a_column_transformer_pipeline(claims):
    frame, y = claims
    cv = KFold(3, shuffle=True, random_state=1)
    prepare = ColumnTransformer(
        [("scale", StandardScaler(), ["age", "power"])], remainder="passthrough",
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")  # fmt: skip
    pipe = make_pipeline(prepare, FisherScoringGLM(family="poisson",
                                                   offset_column="log_exposure"))  # fmt: skip
    search = GridSearchCV(pipe, {"fisherscoringglm__alpha": [0.0, 0.01]}, cv=cv,
                          scoring="neg_mean_poisson_deviance")  # fmt: skip
    X = frame[["age", "power", "log_exposure"]]
    search.fit(X, y)
    for alpha in (0.0, 0.01):
        scores = []
        for train, test in cv.split(X):
            scaler = StandardScaler().fit(X.iloc[train][["age", "power"]])
            model = FisherScoringGLM(family="poisson", alpha=alpha)
            model.fit(scaler.transform(X.iloc[train][["age", "power"]]), y.iloc[train],
                      offset=X.iloc[train]["log_exposure"])  # fmt: skip
            mu = model.predict(scaler.transform(X.iloc[test][["age", "power"]]),
                               offset=X.iloc[test]["log_exposure"])  # fmt: skip
            scores.append(-mean_poisson_deviance(y.iloc[test], mu))
        index = [0.0, 0.01].index(alpha)
        np.testing.assert_allclose(search.cv_results_["mean_test_score"][index],
                                   np.mean(scores), rtol=1e-12)  # fmt: skip
    assert list(search.best_estimator_[-1].feature_names_in_) == ["age", "power"]


def test_offset_column_by_position_and_errors(claims):
    frame, y = claims
    X = frame[["age", "log_exposure", "power"]].to_numpy()
    by_position = FisherScoringGLM(family="poisson", offset_column=1).fit(X, y)
    by_hand = FisherScoringGLM(family="poisson").fit(X[:, [0, 2]], y, offset=X[:, 1])
    np.testing.assert_allclose(by_position.coef_, by_hand.coef_, rtol=1e-12)
    np.testing.assert_allclose(by_position.predict(X), by_hand.predict(X[:, [0, 2]], X[:, 1]),
                               rtol=1e-12)  # fmt: skip
    assert by_position.n_features_in_ == 2
    with pytest.raises(ValueError, match="one of the two"):
        by_position.predict(X, offset=X[:, 1])
    with pytest.raises(ValueError, match="no column names"):
        FisherScoringGLM(offset_column="log_exposure").fit(X, y)
    with pytest.raises(ValueError, match="out of range"):
        FisherScoringGLM(offset_column=5).fit(X, y)


def test_predicting_without_the_fitted_offset_warns(claims):
    frame, y = claims
    X = frame[["age", "power"]].to_numpy()
    model = FisherScoringGLM(family="poisson").fit(X, y, offset=frame["log_exposure"])
    with pytest.warns(MissingOffsetWarning, match="offset 0"):
        model.predict(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(X, offset=frame["log_exposure"])
        FisherScoringGLM(family="poisson").fit(X, y).predict(X)


# ----------------------------------------------------------------------------------------------
# Inference accessors against statsmodels
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("family, sm_family", [
    ("poisson", sm.families.Poisson()),
    ("gamma", sm.families.Gamma(sm.families.links.Log())),
])  # fmt: skip
def test_p_values_intervals_and_prediction_errors_match_statsmodels(claims, family, sm_family):
    frame, y = claims
    X = frame[["age", "power"]].to_numpy()
    offset = frame["log_exposure"].to_numpy()
    if family == "gamma":
        y = pd.Series(np.random.default_rng(2).gamma(2.0, np.exp(0.2 + X @ [0.3, -0.2]) / 2.0))
        offset = None
    model = FisherScoringGLM(family=family, tol=1e-12).fit(X, y, offset=offset)
    theirs = sm.GLM(y.to_numpy(), sm.add_constant(X), family=sm_family, offset=offset)
    theirs = theirs.fit(tol=1e-14, use_t=model.use_t_)
    np.testing.assert_allclose(model.test_statistics_, theirs.tvalues, rtol=1e-7)
    np.testing.assert_allclose(model.p_values_, theirs.pvalues, rtol=1e-6)
    np.testing.assert_allclose(model.conf_int(0.9), theirs.conf_int(0.1), rtol=1e-7)
    new = X[:7] + 0.5
    new_offset = None if offset is None else offset[:7]
    mu, mu_std = model.predict(new, new_offset, return_std=True)
    frame_sm = theirs.get_prediction(sm.add_constant(new, has_constant="add"),
                                     offset=new_offset).summary_frame(alpha=0.05)  # fmt: skip
    np.testing.assert_allclose(mu, frame_sm["mean"], rtol=1e-9)
    np.testing.assert_allclose(mu_std, frame_sm["mean_se"], rtol=1e-6)
    np.testing.assert_allclose(model.predict_interval(new, new_offset),
                               frame_sm[["mean_ci_lower", "mean_ci_upper"]], rtol=1e-6)  # fmt: skip


def test_summary_header_names_the_response_and_the_model_sizes(claims):
    frame, y = claims
    model = FisherScoringGLM(family="poisson", offset_column="log_exposure")
    model.fit(frame[["age", "power", "log_exposure"]], y)
    header = str(model.summary()).splitlines()[:6]
    assert header[0] == "Family: Poisson, link: log; response: claims"
    assert header[1] == "Observations: 3000; Df model: 2; Df residuals: 2997"
    assert header[2] == "Dispersion: 1; covariance: nonrobust"
    assert header[3].startswith(f"Log-likelihood: {model.llf_:.6g}; AIC: {model.aic:.6g}")
    assert f"Pearson chi2: {model.pearson_chi2_:.6g}" in header[4]
    with pytest.raises(ValueError, match="level"):
        model.conf_int(1.5)
