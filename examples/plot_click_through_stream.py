"""
Click-through prediction on a stream: FTRL-Proximal against SGD
===============================================================

Ad-click logs arrive as rows of categorical fields (site, app, device, hour, ...). The usual
recipe, from McMahan et al. (2013): hash every ``field=value`` token into a large sparse
vector, learn a logistic regression online with per-coordinate FTRL-Proximal, and judge it by
*progressive validation*: every row is scored by the model before the model learns from it,
so the running log-loss measures prediction on unseen data without a hold-out set.

We compare :class:`~skglm_fisher.FTRLLogisticRegression` with scikit-learn's
``SGDClassifier(loss='log_loss')`` on the same hashed chunks, then stop the stream halfway,
pickle the model, and resume from the pickle.
"""

# %%
import pickle

import matplotlib.pyplot as plt
import numpy as np
from sklearn.feature_extraction import FeatureHasher
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import log_loss

from skglm_fisher import FTRLLogisticRegression

rng = np.random.default_rng(0)
n_rows, chunk_size = 80_000, 2_000
fields = {"site": 2_000, "app": 500, "device": 50, "hour": 24, "banner": 7, "category": 30}
# Popular values are frequent, most are rare (Zipf); each value has its own effect.
values = {f: np.minimum(rng.zipf(1.5, n_rows), size) - 1 for f, size in fields.items()}
effects = {f: rng.normal(0, 0.5, size) for f, size in fields.items()}
eta = -2.0 + sum(effects[f][values[f]] for f in fields)
clicked = (rng.random(n_rows) < 1 / (1 + np.exp(-eta))).astype(int)
print(f"{n_rows:,} rows, click rate {clicked.mean():.3f}")

# %%
# Hashing: each row becomes the tokens ``site=17``, ``hour=5``, ... mapped by scikit-learn's
# ``FeatureHasher`` into 2**18 columns (the command line's ``stream`` does the same).
hasher = FeatureHasher(2**18, input_type="string", alternate_sign=False)
tokens = zip(*[[f"{f}={v}" for v in values[f]] for f in fields], strict=True)
X = hasher.transform(tokens).tocsr()
chunks = [
    (X[i : i + chunk_size], clicked[i : i + chunk_size]) for i in range(0, n_rows, chunk_size)
]

# %%
# Progressive validation: score each chunk with the current model, then learn it. The first
# chunk is scored by the untrained models (probability 1/2).


def progressive_log_loss(model, chunks):
    losses, seen = [], 0
    for X_chunk, y_chunk in chunks:
        p = model.predict_proba(X_chunk)[:, 1] if seen else np.full(len(y_chunk), 0.5)
        losses.append(log_loss(y_chunk, p, labels=[0, 1], normalize=False))
        model.partial_fit(X_chunk, y_chunk, classes=[0, 1])
        seen += len(y_chunk)
    rows = np.cumsum([len(y) for _, y in chunks])
    return rows, np.cumsum(losses) / rows


models = {
    "FTRLLogisticRegression": FTRLLogisticRegression(
        learning_rate=0.1, beta=1.0, l1_regularization_strength=1.0
    ),
    "SGDClassifier, defaults": SGDClassifier(loss="log_loss", random_state=0),
    "SGDClassifier, tuned step": SGDClassifier(
        loss="log_loss", alpha=1e-6, learning_rate="constant", eta0=0.05, random_state=0
    ),
}
fig, ax = plt.subplots()
for name, model in models.items():
    rows, curve = progressive_log_loss(model, chunks)
    ax.plot(rows, curve, label=name)
    print(f"{name:26} progressive log-loss {curve[-1]:.4f}")
ax.axhline(
    log_loss(clicked, np.full(n_rows, clicked.mean())),
    color="grey",
    ls=":",
    label="best constant (in hindsight)",
)
ax.set_xlabel("rows seen")
ax.set_ylabel("progressive log-loss")
ax.set_ylim(0.5, 0.75)
ax.legend()
plt.show()

# %%
# SGD's default step schedule (``'optimal'``) suits several epochs over a data set, not one
# pass over a stream; with a tuned constant step it learns about as well as FTRL here. FTRL
# needs no schedule: each coordinate's step ``alpha / (beta + sqrt(n_i))`` shrinks with the
# squared gradients ``n_i`` its token has accumulated, so rare tokens keep large steps.
#
# FTRL with an L1 penalty keeps rare tokens at exactly zero weight, so the model stays sparse.
ftrl = models["FTRLLogisticRegression"]
print(
    f"non-zero FTRL weights: {ftrl.n_nonzero_:,} of {X.shape[1]:,} columns "
    f"({np.count_nonzero(X.getnnz(axis=0)):,} columns ever seen)"
)

# %%
# Resuming a stream from a pickle
# -------------------------------
# The fitted model keeps FTRL's per-coordinate state (``accumulator_`` and ``linear_``), so a
# model pickled halfway and loaded later continues exactly where it stopped.
half = len(chunks) // 2
first = FTRLLogisticRegression(beta=1.0, l1_regularization_strength=1.0)
for X_chunk, y_chunk in chunks[:half]:
    first.partial_fit(X_chunk, y_chunk, classes=[0, 1])
resumed = pickle.loads(pickle.dumps(first))
for X_chunk, y_chunk in chunks[half:]:
    resumed.partial_fit(X_chunk, y_chunk)
uninterrupted = FTRLLogisticRegression(beta=1.0, l1_regularization_strength=1.0)
for X_chunk, y_chunk in chunks:
    uninterrupted.partial_fit(X_chunk, y_chunk, classes=[0, 1])
same = np.array_equal(resumed.predict_proba(X), uninterrupted.predict_proba(X))
print(f"resumed model identical to the uninterrupted one: {same}")
