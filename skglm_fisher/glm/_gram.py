"""Weighted Gram matrices ``Xᵀ diag(w) X`` built from bounded row chunks.

This product is the whole cost of a Fisher scoring iteration (n·p² flops against n·p for the
mat-vecs). It is accumulated chunk by chunk into one p×p array so that no n×p scaled copy of ``X``
ever exists; each chunk is a BLAS ``syrk``-class product (numpy dispatches ``A.T @ A`` to it).
The same chunk sum is what a distributed array reduces across its blocks.

Conventions: the intercept, when requested, is the *first* row and column of the result.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["weighted_gram", "DEFAULT_CHUNK_BYTES"]

#: Bytes of a scaled row chunk; small enough to stay in cache-friendly territory and add
#: negligible memory, large enough that BLAS runs at full speed.
DEFAULT_CHUNK_BYTES = 1 << 23


def _chunk_rows(n_rows: int, n_cols: int, itemsize: int, chunk_bytes: int) -> int:
    return int(max(1, min(n_rows, chunk_bytes // max(1, n_cols * itemsize))))


def weighted_gram(X, weights, *, intercept: bool = False, chunk_bytes: int = DEFAULT_CHUNK_BYTES):
    """Return ``Xᵀ diag(weights) X``, optionally bordered by an intercept column of ones.

    Parameters
    ----------
    X : ndarray or scipy.sparse matrix of shape (n, p)
        Design matrix; CSR/CSC input uses sparse products chunk by chunk.
    weights : ndarray of shape (n,)
        Non-negative row weights (for Fisher scoring, the squared square-root weights).
    intercept : bool, default=False
        If True, return the Gram of ``[1, X]`` (size p+1, intercept first) without forming it.
    chunk_bytes : int
        Upper bound on the bytes of one scaled row chunk.

    Returns
    -------
    gram : ndarray of shape (p, p) or (p+1, p+1)
        Dense, symmetric, in the floating dtype of ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> weighted_gram(X, np.array([1.0, 2.0]))
    array([[19., 26.],
           [26., 36.]])
    >>> weighted_gram(X, np.array([1.0, 2.0]), intercept=True)[0]
    array([ 3.,  7., 10.])
    """
    n, p = X.shape
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
    weights = np.asarray(weights, dtype=dtype)
    offset = 1 if intercept else 0
    gram = np.zeros((p + offset, p + offset), dtype=dtype)
    core = gram[offset:, offset:]
    if sp.issparse(X):
        X = X.tocsr()
        rows = _chunk_rows(n, max(1, X.nnz // max(n, 1)) * 4, 8, chunk_bytes)
        for start in range(0, n, rows):
            Xc = X[start : start + rows]
            wc = weights[start : start + rows]
            core += (Xc.T @ sp.diags(wc) @ Xc).toarray()
        if intercept:
            gram[0, 1:] = X.T @ weights
    else:
        rows = _chunk_rows(n, p, np.dtype(dtype).itemsize, chunk_bytes)
        root = np.sqrt(weights)
        for start in range(0, n, rows):
            scaled = X[start : start + rows] * root[start : start + rows, None]
            core += scaled.T @ scaled
        if intercept:
            gram[0, 1:] = weights @ X
    if intercept:
        gram[1:, 0] = gram[0, 1:]
        gram[0, 0] = weights.sum()
    return gram
