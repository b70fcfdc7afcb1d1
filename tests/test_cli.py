"""The command line against the Python API: numbers, exit codes and one-line errors.

The main flows run as ``python -m skglm_fisher`` subprocesses; the catalogue of bad inputs calls
``main(argv)`` in process (the same code, without paying an interpreter start per case).
"""

import importlib.metadata
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction import FeatureHasher
from sklearn.metrics import log_loss

import skglm_fisher
from skglm_fisher import FisherScoringGLM, FTRLLogisticRegression
from skglm_fisher._cli import main

pd = pytest.importorskip("pandas")
skops_io = pytest.importorskip("skops.io")

N_CLAIMS = 600
N_CLICKS = 5_000


class Run:
    """``python -m skglm_fisher ARGS`` started in the background (each start costs ~2 s of
    imports, so independent runs overlap); ``.result()`` waits and returns the process."""

    def __init__(self, *args):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "skglm_fisher", *map(str, args)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self._result = None

    def result(self):
        if self._result is None:
            out, err = self.process.communicate(timeout=120)
            self._result = subprocess.CompletedProcess(
                self.process.args, self.process.returncode, out, err
            )
        return self._result


def assert_one_line_error(stderr, *fragments):
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith(("python -m skglm_fisher: error: ", "skglm-fisher: error: "))
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def claims_frame(n_rows, seed=0):
    """Poisson claim counts with a categorical region, a numeric age and an exposure."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "east", "south"], n_rows)
    age = rng.normal(size=n_rows)
    exposure = rng.uniform(0.2, 2.0, n_rows)
    effect = pd.Series(region).map({"east": 0.0, "north": 0.3, "south": -0.4}).to_numpy()
    claims = rng.poisson(exposure * np.exp(-0.5 + 0.25 * age + effect))
    return pd.DataFrame({"region": region, "age": age, "exposure": exposure, "claims": claims})


def api_design(frame):
    """The design the command line promises: the features in their order, a categorical one as
    treatment dummies (levels sorted, the first dropped)."""
    levels = sorted(frame["region"].unique())
    dummies = np.column_stack([(frame["region"] == level).to_numpy(float) for level in levels[1:]])
    names = [f"region[T.{level}]" for level in levels[1:]] + ["age"]
    return np.column_stack([dummies, frame["age"].to_numpy()]), names


def api_fit(frame):
    X, _ = api_design(frame)
    return FisherScoringGLM(family="poisson").fit(X, frame["claims"],
                                                  offset=np.log(frame["exposure"]))  # fmt: skip


def click_frame(n_rows, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"site": rng.integers(0, 40, n_rows),
                          "ad": rng.choice(list("abcdefgh"), n_rows),
                          "price": rng.uniform(0, 2, n_rows)})  # fmt: skip
    eta = -1.0 + 0.25 * (frame["site"] % 5 - 2) + 0.8 * (frame["ad"] == "a") - 0.5 * frame["price"]
    frame["click"] = (rng.random(n_rows) < 1 / (1 + np.exp(-eta))).astype(int)
    return frame


def hash_clicks(frame, bits):
    """The stream encoding, written out: 'column=value' tokens plus --numeric values."""
    tokens = [[f"site={s}", f"ad={a}"] for s, a in zip(frame["site"], frame["ad"], strict=True)]
    X = FeatureHasher(2**bits, input_type="string", alternate_sign=False).transform(tokens)
    pairs = [[("price", p)] for p in frame["price"]]
    return sp.csr_matrix(
        X + FeatureHasher(2**bits, input_type="pair", alternate_sign=False).transform(pairs)
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every subprocess of this module, started in two overlapping waves."""
    tmp = tmp_path_factory.mktemp("cli")
    claims, clicks = claims_frame(N_CLAIMS), click_frame(N_CLICKS)
    claims.to_csv(tmp / "claims.csv", index=False)
    clicks.to_csv(tmp / "clicks.csv", index=False)
    # New policies with other exposures: the offset must be read from the data at predict time.
    new = claims_frame(50, seed=1).drop(columns="claims")
    new.to_csv(tmp / "new.csv", index=False)
    first = {
        "demo": Run(),
        "fit": Run("fit", tmp / "claims.csv", "--target", "claims", "--family", "poisson",
                   "--categorical", "region", "--offset-log", "exposure",
                   "--save", tmp / "claims.skops"),
        "stream": Run("stream", tmp / "clicks.csv", "--target", "click", "--numeric", "price",
                      "--hash-bits", 12, "--chunksize", 1500, "--batch-size", 256,
                      "--save", tmp / "clicks.skops"),
        "missing file": Run("fit", tmp / "missing.csv", "--target", "y"),
    }  # fmt: skip
    done = {name: run.result() for name, run in first.items()}
    second = {
        "predict": Run("predict", tmp / "claims.skops", tmp / "new.csv",
                       "--output", tmp / "new_predicted.csv"),
        "predict stream": Run("predict", tmp / "clicks.skops", tmp / "clicks.csv",
                              "--output", tmp / "clicks_predicted.csv"),
    }  # fmt: skip
    done.update({name: run.result() for name, run in second.items()})
    return {"tmp": tmp, "claims": claims, "clicks": clicks, "new": new, **done}


def test_fit_prints_the_api_coefficient_table(runs):
    assert runs["fit"].returncode == 0, runs["fit"].stderr
    _, names = api_design(runs["claims"])
    assert str(api_fit(runs["claims"]).summary(feature_names=names)) in runs["fit"].stdout
    assert "region[T.north]" in runs["fit"].stdout and "region[T.south]" in runs["fit"].stdout


def test_saved_model_equals_the_api_fit(runs):
    path = runs["tmp"] / "claims.skops"
    saved = skops_io.load(path, trusted=skops_io.get_untrusted_types(file=path))
    assert saved["kind"] == "glm" and saved["offset"] == {"column": "exposure", "log": True}
    api, glm = api_fit(runs["claims"]), saved["model"].named_steps["glm"]
    np.testing.assert_allclose(glm.coef_, api.coef_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(glm.intercept_, api.intercept_, rtol=1e-12)


def test_predict_writes_the_api_predictions(runs):
    assert runs["predict"].returncode == 0, runs["predict"].stderr
    new = runs["new"]
    X_new, _ = api_design(new)
    expected = api_fit(runs["claims"]).predict(X_new, offset=np.log(new["exposure"]))
    predicted = pd.read_csv(runs["tmp"] / "new_predicted.csv")
    assert list(predicted.columns) == ["prediction"]
    np.testing.assert_allclose(predicted["prediction"], expected, rtol=1e-12)


def test_stream_progressive_log_loss_and_predictions(runs):
    result = runs["stream"]
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    clicks = runs["clicks"]
    X, y = hash_clicks(clicks, 12), clicks["click"].to_numpy(float)

    # Progressive validation through the Python API: chunks of 1500 rows, learned in batches of
    # 256 from the start of each chunk; each batch is scored before it is learned.
    clf = FTRLLogisticRegression(batch_size=256)
    total = 0.0
    for start in range(0, N_CLICKS, 1500):
        for low in range(start, min(start + 1500, N_CLICKS), 256):
            rows = slice(low, min(low + 256, start + 1500))
            p = clf.predict_proba(X[rows])[:, 1] if low else np.full(len(y[rows]), 0.5)
            total += log_loss(y[rows], p, labels=[0, 1], normalize=False)
            clf.partial_fit(X[rows], y[rows], classes=[0, 1])
    reported = float(result.stdout.split("progressive log-loss ")[1].split(";")[0])
    assert reported == pytest.approx(total / N_CLICKS, abs=1e-6)  # printed with 6 decimals

    # The saved model is partial_fit on each whole chunk.
    chunked = FTRLLogisticRegression(batch_size=256)
    for start in range(0, N_CLICKS, 1500):
        chunked.partial_fit(X[start : start + 1500], y[start : start + 1500], classes=[0, 1])
    assert runs["predict stream"].returncode == 0, runs["predict stream"].stderr
    predicted = pd.read_csv(runs["tmp"] / "clicks_predicted.csv")
    np.testing.assert_allclose(predicted["probability"], chunked.predict_proba(X)[:, 1],
                               rtol=1e-12)  # fmt: skip


def test_demo(runs):
    demo = runs["demo"]
    assert demo.returncode == 0, demo.stderr
    assert demo.stderr == ""
    assert "Family: Poisson, link: log" in demo.stdout and "True coefficients" in demo.stdout


def test_bad_input_in_a_subprocess_is_one_line(runs):
    result = runs["missing file"]
    assert result.returncode == 1 and result.stdout == ""
    assert_one_line_error(result.stderr, "no such file", "missing.csv")


def test_version_and_help(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"skglm-fisher {skglm_fisher.__version__}"
    assert main(["fit", "--help"]) == 0
    usage = capsys.readouterr().out
    assert "--offset-log" in usage and "--categorical" in usage


def test_console_script_is_declared():
    try:
        scripts = importlib.metadata.entry_points(group="console_scripts")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        pytest.skip("package metadata not installed")
    names = {script.name: script.value for script in scripts}
    if "skglm-fisher" not in names:
        pytest.skip("skglm-fisher is not installed as a distribution")
    assert names["skglm-fisher"] == "skglm_fisher._cli:main"


# --------------------------------------------------------------------------------------------
# Bad input: exit status and one line naming the problem, in process.
# --------------------------------------------------------------------------------------------
@pytest.fixture
def files(tmp_path, runs):
    frame = runs["claims"]
    paths = {"claims": runs["tmp"] / "claims.csv", "model": runs["tmp"] / "claims.skops",
             "tmp": tmp_path}  # fmt: skip

    def write(name, data):
        paths[name] = tmp_path / f"{name}.csv"
        data.to_csv(paths[name], index=False)

    write("negative", frame.assign(claims=lambda d: d["claims"] - 1))
    write("text_target", frame.assign(claims=["many"] + list(frame["claims"][1:])))
    write("missing_target", frame.assign(claims=[np.nan] + list(frame["claims"][1:])))
    write("new_level", frame.assign(region=["west"] + list(frame["region"][1:])))
    write("zero_exposure", frame.assign(exposure=[0.0] + list(frame["exposure"][1:])))
    write("no_exposure", frame.drop(columns="exposure"))
    write("counts", frame)
    write("separated", frame.assign(old=lambda d: (d["age"] > 0).astype(int)))
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "garbage.skops").write_bytes(b"not a zip file")
    paths["empty"], paths["garbage"] = tmp_path / "empty.csv", tmp_path / "garbage.skops"
    return paths


FIT = ["fit", "{claims}", "--target", "claims", "--family", "poisson"]
BAD_INPUTS = {
    "missing file": (["fit", "{tmp}/nope.csv", "--target", "claims"], 1, ["no such file"]),
    "empty file": (["fit", "{empty}", "--target", "claims"], 1, ["empty"]),
    "unknown target": (FIT[:3] + ["claimz"], 1, ["'claimz' not found", "columns: region"]),
    "unknown feature": (FIT + ["--features", "age,height"], 1, ["'height' not found"]),
    "non-numeric feature": (FIT, 1, ["'region' is not numeric", "--categorical region"]),
    "non-numeric target": (
        ["fit", "{text_target}", "--target", "claims", "--categorical", "region"],
        1,
        ["'claims' is not numeric", "'many'", "line 2"],
    ),
    "missing target": (
        ["fit", "{missing_target}", "--target", "claims", "--categorical", "region"],
        1,
        ["missing value", "line 2"],
    ),
    "y outside the family": (
        [
            "fit",
            "{negative}",
            "--target",
            "claims",
            "--family",
            "poisson",
            "--categorical",
            "region",
        ],
        1,
        ["Poisson", "[0, inf)"],
    ),
    "log of a zero offset": (
        [
            "fit",
            "{zero_exposure}",
            "--target",
            "claims",
            "--categorical",
            "region",
            "--offset-log",
            "exposure",
        ],
        1,
        ["must be positive", "line 2"],
    ),
    "unreadable model": (["predict", "{garbage}", "{claims}"], 1, ["cannot read model"]),
    "model is a csv": (["predict", "{claims}", "{claims}"], 1, ["cannot read model"]),
    "offset column missing": (
        ["predict", "{model}", "{no_exposure}"],
        1,
        ["--offset-log exposure", "no column 'exposure'"],
    ),
    "unknown level": (["predict", "{model}", "{new_level}"], 1, ["'west'", "not fitted on"]),
    "stream target not 0/1": (["stream", "{counts}", "--target", "claims"], 1, ["0/1"]),
    "bad family": (FIT[:4] + ["--family", "poison"], 2, ["invalid choice: 'poison'"]),
    "missing --target": (["fit", "{claims}"], 2, ["--target"]),
    "both offsets": (FIT + ["--offset", "age", "--offset-log", "exposure"], 2, ["not allowed"]),
    "bad chunk size": (
        ["stream", "{counts}", "--target", "claims", "--chunksize", "0"],
        2,
        ["--chunksize"],
    ),
}


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_bad_input_exits_with_one_line(case, files, capsys):
    argv, status, fragments = BAD_INPUTS[case]
    argv = [arg.format(**files) for arg in argv]
    assert main(argv) == status
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_one_line_error(captured.err, *fragments)


def test_missing_pandas_names_the_extra(files, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pandas", None)  # makes `import pandas` fail
    assert main(["fit", str(files["claims"]), "--target", "claims"]) == 1
    assert_one_line_error(capsys.readouterr().err, "needs pandas", "skglm-fisher[cli]")


@pytest.mark.filterwarnings("default::skglm_fisher.exceptions.BoundaryFitWarning")
def test_warnings_are_one_line(files, capsys):
    # A label that age separates perfectly: the fit warns that the data are separated.
    argv = ["fit", str(files["separated"]), "--target", "old", "--features", "age",
            "--family", "bernoulli"]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "Coefficients:" in captured.out
    lines = captured.err.strip().splitlines()
    assert lines and "separated" in captured.err
    for line in lines:
        assert line.startswith("python -m skglm_fisher: warning: "), line


def test_fit_with_an_l1_penalty(files, capsys):
    argv = ["fit", str(files["separated"]), "--target", "old", "--features", "age",
            "--family", "bernoulli", "--alpha", "0.05", "--l1-ratio", "1"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Coefficients:" in out and "age" in out
