"""
Streaming a directory of files through ``partial_fit``
======================================================

Data too large for memory often arrives as many files. Each file (or each chunk of one) is a
batch: read it, score it with the current model, learn from it, drop it. Here a click log split
into CSV files is streamed into :class:`~skglm_fisher.FTRLLogisticRegression` twice, with
pandas chunks and with Dask DataFrame partitions, and the two runs learn exactly the same model.
"""

# %%
# A click log in eight CSV files
# ------------------------------
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

rng = np.random.default_rng(0)
directory = Path(tempfile.mkdtemp())
for part in range(8):
    n = 5_000
    site = rng.integers(0, 50, n)
    ad = rng.integers(0, 20, n)
    price = rng.uniform(0, 2, n)
    eta = -1.5 + 0.04 * (site % 7) + 0.5 * (ad % 3 == 0) - 0.6 * price
    click = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    frame = pd.DataFrame({"site": site, "ad": ad, "price": price, "click": click})
    frame.to_csv(directory / f"clicks-{part}.csv", index=False)
files = sorted(directory.glob("*.csv"))
print(f"{len(files)} files, {sum(len(pd.read_csv(f)) for f in files)} rows")

# %%
# The features of a chunk
# -----------------------
# Categorical fields are hashed, so that values never seen before need no vocabulary.
from scipy import sparse
from sklearn.feature_extraction import FeatureHasher
from sklearn.metrics import log_loss

hasher = FeatureHasher(n_features=2**12, input_type="string")


def features(chunk):
    tokens = [[f"site={s}", f"ad={a}"] for s, a in zip(chunk["site"], chunk["ad"], strict=True)]
    hashed = hasher.transform(tokens)
    return sparse.hstack([hashed, sparse.csr_matrix(chunk[["price"]].to_numpy())], format="csr")


# %%
# With pandas: ``read_csv(chunksize=...)``
# ----------------------------------------
from skglm_fisher import FTRLLogisticRegression

pandas_model = FTRLLogisticRegression(batch_size=64, learning_rate=0.1)
progressive = []
for path in files:
    for chunk in pd.read_csv(path, chunksize=2_500):
        X, y = features(chunk), chunk["click"].to_numpy()
        if hasattr(pandas_model, "classes_"):  # score before learning (not the first chunk)
            progressive.append(log_loss(y, pandas_model.predict_proba(X)[:, 1], labels=[0, 1]))
        pandas_model.partial_fit(X, y, classes=[0, 1])
print(f"progressive log-loss of the last chunk: {progressive[-1]:.4f}")

# %%
# With Dask: one partition at a time
# ----------------------------------
# ``dask.dataframe.read_csv`` makes one partition per file (``blocksize=None``);
# ``partition.compute()`` reads that file only.
import dask.dataframe as dd

frames = dd.read_csv(str(directory / "*.csv"), blocksize=None)
dask_model = FTRLLogisticRegression(batch_size=64, learning_rate=0.1)
for i in range(frames.npartitions):
    partition = frames.get_partition(i).compute()
    for start in range(0, len(partition), 2_500):
        chunk = partition.iloc[start : start + 2_500]
        dask_model.partial_fit(features(chunk), chunk["click"].to_numpy(), classes=[0, 1])
print("same model:", np.array_equal(pandas_model.coef_, dask_model.coef_))

# %%
# Progressive validation
# ----------------------
# Each chunk is scored before the model learns from it: the curve is a held-out estimate of
# the log-loss as the stream goes on.
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(np.arange(1, len(progressive) + 1), progressive, marker="o")
ax.set_xlabel("chunk")
ax.set_ylabel("log-loss before learning the chunk")
ax.set_title("FTRL on a directory of CSV files")
fig.tight_layout()
plt.show()
