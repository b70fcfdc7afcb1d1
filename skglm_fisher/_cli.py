"""The command line: ``python -m skglm_fisher`` (or the ``skglm-fisher`` script).

Without a command it runs a demo; ``fit``, ``predict`` and ``stream`` work on CSV files (they
need pandas, and skops to save or load a model: ``pip install "skglm-fisher[cli]"``).

A saved model is a skops file holding a plain dict: ``kind`` ('glm' or 'stream'), ``model``
(a scikit-learn ``Pipeline`` of the column encoding and :class:`FisherScoringGLM`, or a
:class:`FTRLLogisticRegression`) and what ``predict`` needs to rebuild the design from a CSV
file (feature columns, categorical or hashed encoding, offset column).

Bad input ends the command with exit status 1 (2 for a bad command line) and one line on
stderr naming the problem.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import warnings

import numpy as np

from skglm_fisher import FisherScoringGLM, FTRLLogisticRegression, __version__
from skglm_fisher._glm_inputs import FAMILIES, LINK_NAMES

__all__ = ["main"]

MODEL_FORMAT = "skglm-fisher-cli"
MODEL_FORMAT_VERSION = 1
# The only types a model file may hold beyond those skops trusts by default (scikit-learn's,
# numpy's and Python's): anything else is refused rather than executed.
TRUSTED_TYPES = {
    "skglm_fisher._glm.FisherScoringGLM",
    "skglm_fisher._ftrl_logistic.FTRLLogisticRegression",
}
PREDICT_CHUNK_ROWS = 100_000


class CommandError(Exception):
    """A problem with the user's input: reported in one line, exit status 1."""

    exit_code = 1


class UsageError(CommandError):
    """A malformed command line: exit status 2, as argparse."""

    exit_code = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{message} (see {self.prog} --help)")


# --------------------------------------------------------------------------------------------
# Optional dependencies
# --------------------------------------------------------------------------------------------
def _import_optional(name: str, purpose: str):
    try:
        return __import__(name)
    except ImportError:
        raise CommandError(
            f'{purpose} needs {name}, which is not installed: pip install "skglm-fisher[cli]"'
        ) from None


def _pandas():
    return _import_optional("pandas", "reading CSV files")


def _skops_io():
    _import_optional("skops", "saving and loading models")
    import skops.io

    return skops.io


# --------------------------------------------------------------------------------------------
# Reading data
# --------------------------------------------------------------------------------------------
def _read_csv(path, chunksize=None):
    """A DataFrame (or an iterator of them) from ``path``; CommandError when it cannot be read."""
    pd = _pandas()
    if not os.path.isfile(path):
        raise CommandError(f"no such file: {path}")
    try:
        return pd.read_csv(path, chunksize=chunksize)
    except pd.errors.EmptyDataError:
        raise CommandError(f"{path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot parse {path} as CSV: {_first_line(exc)}") from None


def _csv_chunks(path, chunksize):
    """Iterate over ``path`` in chunks, turning parse errors into CommandError."""
    pd = _pandas()
    reader = _read_csv(path, chunksize=chunksize)
    with reader:
        while True:
            try:
                yield next(reader)
            except StopIteration:
                return
            except (pd.errors.ParserError, UnicodeDecodeError) as exc:
                raise CommandError(f"cannot parse {path} as CSV: {_first_line(exc)}") from None


def _split_names(text):
    return [] if not text else [name.strip() for name in text.split(",") if name.strip()]


def _check_columns(frame, names, path):
    missing = [name for name in names if name not in frame.columns]
    if missing:
        shown = ", ".join(map(str, frame.columns[:20])) + (", ..." if frame.shape[1] > 20 else "")
        raise CommandError(f"column {missing[0]!r} not found in {path} (columns: {shown})")


def _numeric_column(frame, name, path, role):
    """Column ``name`` as float64; CommandError naming the first missing or non-numeric cell."""
    pd = _pandas()
    column = frame[name]
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.flatnonzero(column.isna().to_numpy())
    if missing.size:
        raise CommandError(
            f"{role} column {name!r} has {missing.size} missing value(s), the first on line "
            f"{_line(frame, missing[0])} of {path}"
        )
    bad = np.flatnonzero(np.isnan(values))
    if bad.size:
        raise CommandError(
            f"{role} column {name!r} is not numeric: {column.iloc[bad[0]]!r} on line "
            f"{_line(frame, bad[0])} of {path}"
        )
    return values


def _line(frame, position):
    """Line number in the CSV file (header on line 1) of the row at ``position``."""
    return int(frame.index[position]) + 2


# --------------------------------------------------------------------------------------------
# The GLM design: numeric columns as they are, categorical ones one-hot with the first level
# dropped (R's treatment contrasts).
# --------------------------------------------------------------------------------------------
def _design_frame(frame, spec, path):
    """The feature columns with the dtypes the encoder was fitted on; CommandError otherwise."""
    pd = _pandas()
    _check_columns(frame, spec["features"], path)
    columns = {}
    for name in spec["features"]:
        if name in spec["categorical"]:
            missing = np.flatnonzero(frame[name].isna().to_numpy())
            if missing.size:
                raise CommandError(
                    f"categorical column {name!r} has {missing.size} missing value(s), the first "
                    f"on line {_line(frame, missing[0])} of {path}"
                )
            columns[name] = frame[name].astype(str).astype(object)
        elif pd.api.types.is_numeric_dtype(frame[name]):  # bool columns included
            columns[name] = _numeric_column(frame, name, path, "feature")
        else:
            raise CommandError(
                f"feature column {name!r} is not numeric; pass --categorical {name} to one-hot "
                "encode it"
            )
    return pd.DataFrame(columns, index=frame.index)


def _encoder(spec):
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    # One transformer per column keeps the coefficients in the order of the features.
    steps = []
    for i, name in enumerate(spec["features"]):
        if name in spec["categorical"]:
            step = OneHotEncoder(drop="first", handle_unknown="error", dtype=np.float64)
        else:
            step = "passthrough"
        steps.append((f"column{i}", step, [name]))
    return ColumnTransformer(steps, sparse_threshold=0.3)


def _coefficient_names(encoder, spec):
    names = []
    for i, name in enumerate(spec["features"]):
        if name in spec["categorical"]:
            levels = encoder.named_transformers_[f"column{i}"].categories_[0][1:]
            names.extend(f"{name}[T.{level}]" for level in levels)
        else:
            names.append(name)
    return names


def _check_levels(X, saved, path):
    """Name a categorical level the model has no coefficient for (before the encoder would)."""
    encoder = saved["model"].named_steps["encode"]
    for i, name in enumerate(saved["features"]):
        if name in saved["categorical"]:
            known = encoder.named_transformers_[f"column{i}"].categories_[0]
            unknown = np.flatnonzero(~np.isin(X[name].to_numpy(), known))
            if unknown.size:
                raise CommandError(
                    f"categorical column {name!r} has the level {X[name].iloc[unknown[0]]!r} "
                    f"(line {_line(X, unknown[0])} of {path}), which the model was not fitted on"
                )


def _offset(frame, spec, path):
    if spec["offset"] is None:
        return None
    name, log = spec["offset"]["column"], spec["offset"]["log"]
    if name not in frame.columns:
        flag = "--offset-log" if log else "--offset"
        raise CommandError(
            f"the model was fitted with {flag} {name}, but {path} has no column {name!r}"
        )
    values = _numeric_column(frame, name, path, "offset")
    if not log:
        return values
    bad = np.flatnonzero(values <= 0)
    if bad.size:
        raise CommandError(
            f"--offset-log column {name!r} must be positive: {values[bad[0]]:g} on line "
            f"{_line(frame, bad[0])} of {path}"
        )
    return np.log(values)


# --------------------------------------------------------------------------------------------
# Stream design: each column hashed as a "column=value" token; --numeric columns by value.
# --------------------------------------------------------------------------------------------
def _hashed(frame, spec, path):
    import scipy.sparse as sp
    from sklearn.feature_extraction import FeatureHasher

    _check_columns(frame, spec["features"], path)
    n_features = spec["n_features"]
    tokens = [
        (name + "=") + frame[name].astype(str).to_numpy(dtype=object)
        for name in spec["features"]
        if name not in spec["numeric"]
    ]
    X = FeatureHasher(n_features, input_type="string", alternate_sign=False).transform(
        zip(*tokens, strict=True) if tokens else [()] * len(frame)
    )
    if spec["numeric"]:
        values = [_numeric_column(frame, name, path, "numeric") for name in spec["numeric"]]
        pairs = (zip(spec["numeric"], row, strict=True) for row in zip(*values, strict=True))
        X = X + FeatureHasher(n_features, input_type="pair", alternate_sign=False).transform(pairs)
    return sp.csr_matrix(X, dtype=np.float64)


def _binary_target(frame, name, path):
    values = _numeric_column(frame, name, path, "target")
    bad = np.flatnonzero((values != 0) & (values != 1))
    if bad.size:
        raise CommandError(
            f"target column {name!r} must hold 0/1 labels for stream: {values[bad[0]]:g} on "
            f"line {_line(frame, bad[0])} of {path}"
        )
    return values


# --------------------------------------------------------------------------------------------
# Model files
# --------------------------------------------------------------------------------------------
def _save(saved, path):
    sio = _skops_io()
    try:
        sio.dump(saved, path)
    except OSError as exc:
        raise CommandError(f"cannot write model {path}: {exc.strerror or exc}") from None


def _load(path):
    sio = _skops_io()
    if not os.path.isfile(path):
        raise CommandError(f"no such file: {path}")
    try:
        untrusted = set(sio.get_untrusted_types(file=path))
    except Exception as exc:  # skops raises zipfile, json and key errors on foreign files
        raise CommandError(
            f"cannot read model {path}: not a skops file ({_first_line(exc)})"
        ) from None
    unexpected = sorted(untrusted - TRUSTED_TYPES)
    if unexpected:
        raise CommandError(
            f"model {path} holds types this command does not load: {', '.join(unexpected)}"
        )
    try:
        saved = sio.load(path, trusted=sorted(untrusted))
    except Exception as exc:
        raise CommandError(f"cannot read model {path}: {_first_line(exc)}") from None
    if not isinstance(saved, dict) or saved.get("format") != MODEL_FORMAT:
        raise CommandError(f"{path} is not a model saved by skglm-fisher fit or stream")
    if saved.get("format_version") != MODEL_FORMAT_VERSION:
        raise CommandError(
            f"{path} has model format {saved.get('format_version')}; this version reads "
            f"{MODEL_FORMAT_VERSION}"
        )
    return saved


def _header(kind, target):
    return {"format": MODEL_FORMAT, "format_version": MODEL_FORMAT_VERSION,
            "skglm_fisher_version": __version__, "kind": kind, "target": target}  # fmt: skip


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------
def run_demo(args):
    """Fit a Poisson GLM with an exposure offset on synthetic data and print its summary."""
    rng = np.random.default_rng(42)
    n_samples = 10_000
    names = ["age", "urban", "power"]
    truth = np.array([-1.5, 0.3, -0.2, 0.0])  # intercept first
    X = np.column_stack([rng.normal(size=n_samples), rng.integers(0, 2, n_samples),
                         rng.normal(size=n_samples)])  # fmt: skip
    exposure = rng.uniform(0.2, 2.0, n_samples)
    y = rng.poisson(exposure * np.exp(truth[0] + X @ truth[1:]))
    model = FisherScoringGLM(family="poisson").fit(X, y, offset=np.log(exposure))

    print(f"skglm-fisher {__version__}: a Poisson GLM fitted by Fisher scoring on "
          f"{n_samples:,} synthetic policies, with log(exposure) as offset.\n")  # fmt: skip
    print(model.summary(feature_names=names))
    pairs = zip(["(Intercept)", *names], truth, strict=True)
    print("\nTrue coefficients: " + ", ".join(f"{name} {value:g}" for name, value in pairs))
    print(f"\nMore: {args.prog} --help (fit, predict and stream CSV files).")
    return 0


def run_fit(args):
    frame = _read_csv(args.data)
    if frame.shape[0] == 0:
        raise CommandError(f"{args.data} has no data rows")
    categorical = _split_names(args.categorical)
    offset_name = args.offset or args.offset_log
    _check_columns(frame, [args.target] + categorical
                   + [c for c in (offset_name, args.weights) if c], args.data)  # fmt: skip
    reserved = {args.target, offset_name, args.weights}
    if args.features is None:
        features = [c for c in frame.columns if c not in reserved]
    else:
        features = _split_names(args.features)
        _check_columns(frame, features, args.data)
        for name in categorical:
            if name not in features:
                raise CommandError(f"--categorical column {name!r} is not among --features")
    for name in features:
        if name in reserved:
            raise CommandError(f"column {name!r} cannot be both a feature and the target, "
                               "offset or weights")  # fmt: skip
    if not features:
        raise CommandError(f"{args.data} has no feature columns besides the target")

    spec = {"features": features, "categorical": categorical,
            "offset": None if offset_name is None
            else {"column": offset_name, "log": args.offset_log is not None}}  # fmt: skip
    y = _numeric_column(frame, args.target, args.data, "target")
    X = _design_frame(frame, spec, args.data)
    offset = _offset(frame, spec, args.data)
    weights = None if args.weights is None else _numeric_column(frame, args.weights, args.data,
                                                                "weights")  # fmt: skip

    from sklearn.pipeline import Pipeline

    glm = FisherScoringGLM(family=args.family, link=args.link, power=args.power, alpha=args.alpha,
                           l1_ratio=args.l1_ratio)  # fmt: skip
    pipeline = Pipeline([("encode", _encoder(spec)), ("glm", glm)])
    response = _pandas().Series(y, name=args.target)  # names the response in the summary
    pipeline.fit(X, response, glm__sample_weight=weights, glm__offset=offset)
    print(glm.summary(feature_names=_coefficient_names(pipeline.named_steps["encode"], spec)))
    if args.save:
        _save({**_header("glm", args.target), **spec, "model": pipeline}, args.save)
        print(f"\nSaved the model to {args.save}")
    return 0


def run_predict(args):
    saved = _load(args.model)
    pd = _pandas()
    column = "prediction" if saved["kind"] == "glm" else "probability"
    output = args.output
    n_rows = 0
    for i, frame in enumerate(_csv_chunks(args.data, PREDICT_CHUNK_ROWS)):
        if saved["kind"] == "glm":
            X = _design_frame(frame, saved, args.data)
            _check_levels(X, saved, args.data)
            values = saved["model"].predict(X, offset=_offset(frame, saved, args.data))
        else:
            values = saved["model"].predict_proba(_hashed(frame, saved, args.data))[:, 1]
        result = pd.DataFrame({column: values})
        if output is None:
            result.to_csv(sys.stdout, index=False, header=i == 0)
        else:
            try:
                result.to_csv(output, index=False, header=i == 0, mode="w" if i == 0 else "a")
            except OSError as exc:
                raise CommandError(f"cannot write {output}: {exc.strerror or exc}") from None
        n_rows += len(frame)
    if n_rows == 0:
        raise CommandError(f"{args.data} has no data rows")
    if output is not None:
        print(f"Wrote {n_rows:,} predictions ({column}) to {output}", file=sys.stderr)
    return 0


def run_stream(args):
    from skglm_fisher._logistic import sigmoid_cross_entropy

    if not 1 <= args.hash_bits <= 30:
        raise UsageError(f"--hash-bits must be between 1 and 30; got {args.hash_bits}")
    for flag, value in (("--chunksize", args.chunksize), ("--batch-size", args.batch_size)):
        if value < 1:
            raise UsageError(f"{flag} must be positive; got {value}")
    clf = FTRLLogisticRegression(learning_rate=args.learning_rate, batch_size=args.batch_size,
                                 l1_regularization_strength=args.l1,
                                 l2_regularization_strength=args.l2)  # fmt: skip
    spec = None
    n_rows, total_loss = 0, 0.0
    start = last_report = time.perf_counter()
    progress = _Progress(sys.stderr)
    for frame in _csv_chunks(args.data, args.chunksize):
        if spec is None:
            spec = _stream_spec(frame, args)
        y = _binary_target(frame, args.target, args.data)
        X = _hashed(frame, spec, args.data)
        # Progressive validation: each batch is scored by the model that has learned every
        # earlier batch and not this one; learning batch by batch is the same as learning the
        # chunk (partial_fit steps once per batch_size rows, in order).
        for low in range(0, X.shape[0], args.batch_size):
            X_batch, y_batch = X[low : low + args.batch_size], y[low : low + args.batch_size]
            if n_rows:
                total_loss += float(np.sum(sigmoid_cross_entropy(
                    y_batch, clf.decision_function(X_batch))))  # fmt: skip
            else:
                total_loss += np.log(2.0) * y_batch.size  # the untrained model's p = 1/2
            clf.partial_fit(X_batch, y_batch, classes=[0, 1])
            n_rows += y_batch.size
        now = time.perf_counter()
        if now - last_report > 0.5:
            progress.update(f"{n_rows:,} rows, {n_rows / (now - start):,.0f} rows/s, "
                            f"progressive log-loss {total_loss / n_rows:.5f}")  # fmt: skip
            last_report = now
    progress.close()
    if spec is None or n_rows == 0:
        raise CommandError(f"{args.data} has no data rows")
    seconds = time.perf_counter() - start
    print(f"Learned {n_rows:,} rows in {seconds:.2f} s ({n_rows / seconds:,.0f} rows/s, reading "
          f"and hashing included); progressive log-loss {total_loss / n_rows:.6f}; "
          f"{clf.n_nonzero_:,} non-zero weights of 2**{args.hash_bits}")  # fmt: skip
    if args.save:
        _save({**_header("stream", args.target), **spec, "model": clf}, args.save)
        print(f"Saved the model to {args.save}")
    return 0


def _stream_spec(frame, args):
    numeric = _split_names(args.numeric)
    _check_columns(frame, [args.target] + numeric, args.data)
    if args.features is None:
        features = [c for c in frame.columns if c != args.target]
    else:
        features = _split_names(args.features)
        _check_columns(frame, features, args.data)
    if args.target in features:
        raise CommandError(f"column {args.target!r} cannot be both a feature and the target")
    for name in numeric:
        if name not in features:
            raise CommandError(f"--numeric column {name!r} is not among the features")
    return {"features": features, "numeric": numeric, "n_features": 2**args.hash_bits}


class _Progress:
    """One progress line, rewritten in place on a terminal, appended otherwise."""

    def __init__(self, stream):
        self.stream = stream
        self.tty = stream.isatty()
        self.shown = False

    def update(self, text):
        self.stream.write(("\r" + text + "\033[K") if self.tty else text + "\n")
        self.stream.flush()
        self.shown = True

    def close(self):
        if self.tty and self.shown:
            self.stream.write("\n")


# --------------------------------------------------------------------------------------------
# Parser and entry point
# --------------------------------------------------------------------------------------------
def build_parser(prog=None) -> argparse.ArgumentParser:
    parser = _Parser(
        prog=prog,
        description="Generalized linear models by Fisher scoring and FTRL-Proximal logistic "
        "regression. Without a command: a demo on synthetic data.",
        epilog='CSV commands need pandas and skops: pip install "skglm-fisher[cli]".',
    )
    parser.add_argument("--version", action="version", version=f"skglm-fisher {__version__}")
    parser.set_defaults(run=run_demo)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    fit = commands.add_parser(
        "fit", help="fit a GLM by Fisher scoring and print its coefficient table",
        description="Fit FisherScoringGLM to a CSV file and print R's summary table. "
        "Categorical columns are one-hot encoded with their first level dropped.",
    )  # fmt: skip
    _add_data_arguments(fit, "response column", "every column but target, offset, weights")
    fit.add_argument("--family", default="normal", choices=sorted(FAMILIES), metavar="F",
                     help="one of %(choices)s (default: %(default)s)")  # fmt: skip
    fit.add_argument("--link", default="auto", choices=sorted(LINK_NAMES), metavar="L",
                     help="one of %(choices)s (default: the family's)")  # fmt: skip
    fit.add_argument("--power", type=float, default=1.5, help="Tweedie power (default 1.5)")
    fit.add_argument("--categorical", metavar="C1,C2", help="columns to one-hot encode")
    offset = fit.add_mutually_exclusive_group()
    offset.add_argument("--offset", metavar="COL", help="column added to the linear predictor")
    offset.add_argument(
        "--offset-log",
        metavar="COL",
        help="column whose log is the offset (e.g. exposure with a log link)",
    )
    fit.add_argument("--weights", metavar="COL", help="sample (prior) weights column")
    fit.add_argument("--alpha", type=float, default=0.0, help="penalty strength (default 0)")
    fit.add_argument("--l1-ratio", type=float, default=0.0, metavar="R",
                     help="share of the penalty that is L1: 0 ridge (default), 1 lasso")
    fit.set_defaults(run=run_fit)

    predict = commands.add_parser(
        "predict", help="predict with a saved model",
        description="Write the predictions of a model saved by fit (the mean response) or by "
        "stream (the probability of label 1) for every row of a CSV file.",
    )  # fmt: skip
    predict.add_argument("model", metavar="MODEL.skops")
    predict.add_argument("data", metavar="DATA.csv")
    predict.add_argument("--output", metavar="OUT.csv", help="output file (default: stdout)")
    predict.set_defaults(run=run_predict)

    stream = commands.add_parser(
        "stream", help="learn a logistic regression online with FTRL-Proximal",
        description="Learn FTRLLogisticRegression from a CSV file read chunk by chunk. Every "
        "feature column is hashed as a 'column=value' token (scikit-learn's FeatureHasher); "
        "--numeric columns enter by value. Each batch is scored before it is learned from "
        "(progressive validation).",
    )  # fmt: skip
    _add_data_arguments(stream, "0/1 label column", "every column but the target")
    stream.add_argument("--numeric", metavar="C1,C2", help="columns used by value, not hashed")
    stream.add_argument("--hash-bits", type=int, default=20, help="2**bits columns (default 20)")
    stream.add_argument(
        "--chunksize", type=int, default=10_000, help="rows read at a time (default 10000)"
    )
    stream.add_argument(
        "--batch-size", type=int, default=1024, help="rows per FTRL step (default 1024)"
    )
    stream.add_argument("--learning-rate", type=float, default=0.1)
    stream.add_argument("--l1", type=float, default=0.0, help="L1 strength (default 0)")
    stream.add_argument("--l2", type=float, default=0.0, help="L2 strength (default 0)")
    stream.set_defaults(run=run_stream)
    return parser


def _add_data_arguments(command, target_help, default_features):
    """The arguments ``fit`` and ``stream`` share: the data, target, features and --save."""
    command.add_argument("data", metavar="DATA.csv")
    command.add_argument("--target", required=True, metavar="COL", help=target_help)
    command.add_argument("--features", metavar="A,B,...",
                         help=f"feature columns (default: {default_features})")  # fmt: skip
    command.add_argument("--save", metavar="MODEL.skops", help="save the model")


def _first_line(exc) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0].strip()


def _prog() -> str:
    """``skglm-fisher`` when run as the console script, else ``python -m skglm_fisher``."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return "skglm-fisher" if name.startswith("skglm-fisher") else "python -m skglm_fisher"


@contextlib.contextmanager
def _one_line_warnings(prog):
    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        print(f"{prog}: warning: {text}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def main(argv=None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    prog = _prog()
    parser = build_parser(prog)
    try:
        args = parser.parse_args(argv)
        args.prog = prog
        with _one_line_warnings(prog):
            return args.run(args)
    except CommandError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # the reader of stdout went away (e.g. `| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (ValueError, TypeError, OSError, MemoryError) as exc:
        # Input rejected by scikit-learn or the estimators (y outside the family's domain,
        # unknown categories at predict time, ...): their messages name the problem.
        print(f"{prog}: error: {_first_line(exc)}", file=sys.stderr)
        return 1
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
