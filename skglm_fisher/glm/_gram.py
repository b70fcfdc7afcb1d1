"""Weighted Gram matrices ``Xᵀ diag(w) X`` built from bounded row chunks.

This product is the whole cost of a Fisher scoring iteration (n·p² flops against n·p for the
mat-vecs). It is accumulated chunk by chunk into one p×p array so that no n×p scaled copy of ``X``
ever exists. For dense chunks, :func:`dense_block_gram` computes it as one symmetric rank-k update
(BLAS ``syrk``: half the flops of a general product) of the scaled rows, in a reused workspace.
The same chunk sum is what a distributed array reduces across its blocks.

Conventions: the intercept, when requested, is the *first* row and column of the result.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "OneHotStructure",
    "Workspace",
    "dense_block_gram",
    "one_hot_structure",
    "weighted_gram",
]

#: Bytes of a scaled row chunk; small enough to stay in cache-friendly territory and add
#: negligible memory, large enough that BLAS runs at full speed.
DEFAULT_CHUNK_BYTES = 1 << 23


def _chunk_rows(n_rows: int, n_cols: int, itemsize: int, chunk_bytes: int) -> int:
    return int(max(1, min(n_rows, chunk_bytes // max(1, n_cols * itemsize))))


# --------------------------------------------------------------------------------------------
# Dense row blocks
# --------------------------------------------------------------------------------------------
class Workspace:
    """A scratch array reused across row blocks (grown when a larger one is asked for).

    Not thread-safe: give each thread its own.

    Examples
    --------
    >>> import numpy as np
    >>> workspace = Workspace()
    >>> a = workspace.array((3, 4), np.float64)
    >>> b = workspace.array((2, 4), np.float64)
    >>> np.shares_memory(a, b), b.flags.c_contiguous
    (True, True)
    """

    def __init__(self):
        self._flat = None

    def array(self, shape, dtype) -> np.ndarray:
        """A C-contiguous array of ``shape`` and ``dtype`` (contents undefined)."""
        size = int(np.prod(shape))
        flat = self._flat
        if flat is None or flat.dtype != dtype or flat.size < size:
            flat = self._flat = np.empty(size, dtype=dtype)
        return flat[:size].reshape(shape)


def dense_block_gram(X, weights, *, intercept=False, score=None, workspace=None,
                     precision=None):  # fmt: skip
    """``([1, X]ᵀ diag(w) [1, X], Xᵀ score)`` of a dense row block.

    The rows are scaled into ``B = sqrt(w) ⊙ X`` (row-major, in ``workspace`` when given) and
    ``BᵀB`` is one BLAS ``syrk`` (numpy dispatches the product of an array with its own
    transpose to it), half the flops of a general product; the intercept border ``Xᵀ w`` and
    ``Xᵀ score`` come from one product of the block with both vectors. (Carrying them as extra
    columns of ``B`` instead was measured 20% slower at 20 columns, 10% at 50 and no faster from
    200 on.) Rows with negative weights go into a second update that is subtracted.

    Parameters
    ----------
    X : ndarray of shape (rows, p)
        Dense float32 or float64 rows; ``BᵀB`` is computed in that precision.
    weights : ndarray of shape (rows,)
    intercept : bool, default=False
        Border the Gram with a column of ones (first).
    score : ndarray of shape (rows,), optional
        Also return ``Xᵀ score``.
    workspace : Workspace, optional
        Holds ``B`` (else a temporary array is allocated).
    precision : {None, numpy.float32}, optional
        The precision of ``B`` and ``BᵀB`` (that of ``X`` by default): float32 rows of float64
        data give a Gram with about six correct digits in about 0.6 of the time (see
        :data:`~skglm_fisher.glm._design.WIDE_MIN_COLUMNS`). The border and
        ``Xᵀ score`` are taken from ``X`` as it is.

    Returns
    -------
    gram : ndarray of shape (q, q), float64
        ``q = p + intercept``; a new array.
    gradient : ndarray of shape (p,), float64, or None

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 2.0], [3.0, 4.0], [0.5, -1.0]])
    >>> w, r = np.array([1.0, 2.0, 0.5]), np.array([0.3, -0.2, 1.0])
    >>> gram, gradient = dense_block_gram(X, w, intercept=True, score=r)
    >>> ones = np.column_stack([np.ones(3), X])
    >>> np.allclose(gram, ones.T @ (w[:, None] * ones)), np.allclose(gradient, X.T @ r)
    (True, True)
    """
    X = np.asarray(X)
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    rows, p = X.shape
    weights = np.asarray(weights, dtype=np.float64)
    # The mat-vecs first, while the block is still in cache from the linear predictor (measured
    # 5-10% faster on a 1e6×50 pass than after the scaling).
    vectors = ([] if score is None else [score]) + ([weights] if intercept else [])
    products = np.asarray(np.stack(vectors) @ X, dtype=np.float64) if vectors else None
    dtype = X.dtype if precision is None else np.dtype(precision)
    buffer = (workspace or Workspace()).array((rows, p), dtype)
    # One pass over the weights in the usual case (none negative).
    if not rows or weights.min() >= 0:
        np.multiply(X, np.sqrt(weights).astype(dtype, copy=False)[:, None], out=buffer,
                    casting="same_kind")  # fmt: skip
        core = buffer.T @ buffer
    else:
        # Rows of each sign in a contiguous run of the workspace, non-negative ones first.
        order = np.argsort(weights < 0, kind="stable")
        kept = rows - int(np.count_nonzero(weights < 0))
        root = np.sqrt(np.abs(weights[order])).astype(dtype, copy=False)
        np.multiply(X[order], root[:, None], out=buffer, casting="same_kind")
        core = buffer[:kept].T @ buffer[:kept]
        core -= buffer[kept:].T @ buffer[kept:]
    gradient = None if score is None else products[0]
    if not intercept:
        return np.asarray(core, dtype=np.float64), gradient
    gram = np.empty((p + 1, p + 1))
    gram[1:, 1:] = core
    gram[0, 1:] = gram[1:, 0] = products[-1]
    gram[0, 0] = weights.sum()
    return gram, gradient


def weighted_gram(
    X,
    weights,
    *,
    intercept: bool = False,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    structure: OneHotStructure | None = None,
):
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
    structure : OneHotStructure, optional
        The one-hot blocks of a CSR ``X`` (from :func:`one_hot_structure`); the Gram is then
        built from per-level weighted counts instead of a sparse product.

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
    if structure is not None:
        pieces = 0.0
        rows = max(1, chunk_bytes // 64)
        for start in range(0, n, rows):
            stop = min(n, start + rows)
            w = np.asarray(weights[start:stop], dtype=np.float64)
            codes = structure.codes[:, start:stop]
            pieces = pieces + structure.gram_pieces(codes, structure.other_dense(X, start, stop), w)
        return structure.assemble(pieces, intercept=intercept)
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
        workspace = Workspace()
        for start in range(0, n, rows):
            chunk = np.asarray(X[start : start + rows], dtype=dtype)
            gram += dense_block_gram(chunk, weights[start : start + rows], intercept=intercept,
                                     workspace=workspace)[0]  # fmt: skip
        return gram
    if intercept:
        gram[1:, 0] = gram[0, 1:]
        gram[0, 0] = weights.sum()
    return gram


# --------------------------------------------------------------------------------------------
# One-hot (indicator) designs
# --------------------------------------------------------------------------------------------
# A design made of one-hot encoded categoricals plus a few numeric columns has a Gram matrix
# that is mostly counts: the block of one categorical is diagonal (a row has one level), the
# block of two categoricals is a weighted contingency table, and a numeric column against a
# categorical is a weighted per-level sum. All of them are ``np.bincount`` calls on small integer
# codes, which cost O(n) each, against O(n · nnz_per_row²) for a generic sparse product.
class OneHotStructure:
    """Indicator blocks of a CSR design, found by :func:`one_hot_structure`.

    Conventions: block ``b`` covers the columns ``starts[b] : starts[b] + sizes[b]``, and a row
    has at most one stored 1 among them; ``codes[b, i]`` is the level of row ``i`` in block ``b``
    (``sizes[b]`` when the row has none). The remaining ``other_columns`` are kept sparse in
    ``X`` and densified one row chunk at a time.

    Attributes
    ----------
    starts, sizes : ndarray of shape (n_blocks,)
    codes : ndarray of shape (n_blocks, n_samples), unsigned integers
    other_columns : ndarray of shape (n_other,)
    other_layout : {'trailing', 'leading', 'scatter'}
        Where the other columns sit in each row of ``X``: when every row stores every other
        column and they are the last (first) columns, their values are at fixed offsets from
        ``indptr`` and are read without a search.
    n_features : int
    """

    def __init__(self, starts, sizes, codes, other_columns, other_layout, n_features):
        self.starts = starts
        self.sizes = sizes
        self.codes = codes
        self.other_columns = other_columns
        self.other_layout = other_layout
        self.n_features = n_features
        self._other_index = np.full(n_features, -1, dtype=np.intp)
        self._other_index[other_columns] = np.arange(other_columns.size)
        self._layout_pieces()

    @property
    def n_blocks(self) -> int:
        return int(self.sizes.size)

    def _layout_pieces(self):
        """Fix where each count of :meth:`gram_pieces` lands in the Gram matrix (intercept first).

        The pieces are one flat vector (summable across row chunks); ``_targets`` maps its kept
        entries to positions of the (p+1)×(p+1) Gram, ``_mirror`` to their transposed positions.
        """
        q = self.n_features + 1
        m = self.other_columns.size
        cols = [1 + self.starts[b] + np.arange(self.sizes[b]) for b in range(self.n_blocks)]
        other = 1 + self.other_columns
        keep, targets, mirror, offsets = [], [], [], {}
        position = 0

        def add(key, shape, rows, columns, kept_rows, kept_cols):
            nonlocal position
            size = int(np.prod(shape))
            offsets[key] = (position, shape)
            grid = np.arange(size).reshape(shape)[np.ix_(kept_rows, kept_cols)]
            r, c = np.meshgrid(rows, columns, indexing="ij")
            keep.append(position + grid.ravel())
            targets.append((r * q + c).ravel())
            mirror.append((c * q + r).ravel())
            position += size

        zero = np.array([0])
        for b, size in enumerate(self.sizes):
            levels = np.arange(size)
            # Per-level weight sums: the block's diagonal and its row against the intercept.
            add(("diag", b), (1, size + 1), zero, cols[b], [0], levels)
            for j in range(m):
                add(("other", b, j), (1, size + 1), other[j : j + 1], cols[b], [0], levels)
            for c in range(b + 1, self.n_blocks):
                shape = (size + 1, self.sizes[c] + 1)
                add(("cross", b, c), shape, cols[b], cols[c], levels, np.arange(self.sizes[c]))
        add("other_other", (m, m), other, other, np.arange(m), np.arange(m))
        add("intercept_other", (1, m), zero, other, [0], np.arange(m))
        add("intercept", (1, 1), zero, zero, [0], [0])
        self._offsets = offsets
        self._n_pieces = position
        self._keep = np.concatenate(keep)
        self._targets = np.concatenate(targets)
        self._mirror = np.concatenate(mirror)
        # Block diagonals are stored twice (against the intercept and on the diagonal itself).
        diag = [1 + self.starts[b] + np.arange(self.sizes[b]) for b in range(self.n_blocks)]
        self._diag_targets = np.concatenate(diag + [np.zeros(0, np.intp)]) * (q + 1)
        self._diag_keep = np.concatenate(
            [self._offsets[("diag", b)][0] + np.arange(self.sizes[b]) for b in range(self.n_blocks)]
            + [np.zeros(0, np.intp)]
        )

    # -- per row chunk ---------------------------------------------------------------------
    def other_dense(self, X, start, stop):
        """Dense ``(stop - start, n_other)`` array of the other columns of rows ``start:stop``."""
        m = self.other_columns.size
        rows = stop - start
        if m == 0:
            return np.zeros((rows, 0), dtype=X.dtype)
        indptr = X.indptr
        if self.other_layout == "trailing":
            base = indptr[start + 1 : stop + 1, None] - m
            return X.data[base + np.arange(m)]
        if self.other_layout == "leading":
            return X.data[indptr[start:stop, None] + np.arange(m)]
        lo, hi = indptr[start], indptr[stop]
        where = self._other_index[X.indices[lo:hi]]
        mask = where >= 0
        row = np.repeat(np.arange(rows), np.diff(indptr[start : stop + 1]))
        out = np.zeros((rows, m), dtype=X.dtype)
        out[row[mask], where[mask]] = X.data[lo:hi][mask]
        return out

    def gram_pieces(self, codes, other, weights):
        """Flat vector of the weighted counts of one row chunk (see :meth:`assemble`).

        ``codes`` is ``self.codes[:, start:stop]``, ``other`` the chunk's dense other columns.
        """
        out = np.zeros(self._n_pieces)
        off = self._offsets
        sizes = self.sizes
        # One contiguous row of weighted values per other column (bincount wants contiguous).
        weighted_other = (other * weights[:, None]).T.copy() if other.shape[1] else None
        keys = [codes[b].astype(np.intp) for b in range(self.n_blocks)]
        for b in range(self.n_blocks):
            size = sizes[b] + 1
            pos, _ = off[("diag", b)]
            out[pos : pos + size] = np.bincount(keys[b], weights, minlength=size)
            for j in range(other.shape[1]):
                pos, _ = off[("other", b, j)]
                out[pos : pos + size] = np.bincount(keys[b], weighted_other[j], size)
            for c in range(b + 1, self.n_blocks):
                pos, shape = off[("cross", b, c)]
                size = shape[0] * shape[1]
                key = keys[b] * shape[1]
                key += keys[c]
                out[pos : pos + size] = np.bincount(key, weights, size)
        m = other.shape[1]
        if m:
            pos, _ = off["other_other"]
            out[pos : pos + m * m] = (weighted_other @ other).ravel()
            pos, _ = off["intercept_other"]
            out[pos : pos + m] = weighted_other.sum(axis=1)
        pos, _ = off["intercept"]
        out[pos] = weights.sum()
        return out

    def assemble(self, pieces, intercept: bool = True):
        """The symmetric Gram matrix (intercept first if ``intercept``) from summed pieces."""
        q = self.n_features + 1
        gram = np.zeros(q * q)
        values = pieces[self._keep]
        gram[self._mirror] = values
        gram[self._targets] = values
        gram[self._diag_targets] = pieces[self._diag_keep]
        gram = gram.reshape(q, q)
        return gram if intercept else gram[1:, 1:].copy()

    def matvec(self, X, coef, start, stop, other=None):
        """``X[start:stop] @ coef`` from the codes (a gather per block) and the other columns."""
        eta = np.zeros(stop - start)
        for b in range(self.n_blocks):
            levels = np.append(coef[self.starts[b] : self.starts[b] + self.sizes[b]], 0.0)
            eta += levels[self.codes[b, start:stop]]
        if self.other_columns.size:
            if other is None:
                other = self.other_dense(X, start, stop)
            eta += other @ coef[self.other_columns]
        return eta

    def rmatvec(self, X, values, start, stop, other=None):
        """``X[start:stop].T @ values`` by per-level sums."""
        out = np.zeros(self.n_features)
        for b in range(self.n_blocks):
            size = self.sizes[b]
            sums = np.bincount(self.codes[b, start:stop], values, minlength=size + 1)
            out[self.starts[b] : self.starts[b] + size] = sums[:size]
        if self.other_columns.size:
            if other is None:
                other = self.other_dense(X, start, stop)
            out[self.other_columns] = values @ other
        return out


def one_hot_structure(
    X,
    *,
    max_blocks: int = 64,
    max_other: int = 64,
    chunk_nnz: int = 1 << 18,
    sample_rows: int = 1 << 16,
):
    """Find the one-hot blocks of a CSR matrix, or return None when the design has none.

    A column is an indicator when every stored value is 1. Consecutive indicator columns form a
    block as long as no row stores two of them; a block ends where some row does, which puts the
    boundaries of one-hot encoded categoricals where they are. The boundaries are read from the
    first ``sample_rows`` rows and then verified on all of them (a row storing two levels of one
    block sends the search to every row). The structure is used only when it pays: at most
    ``max_blocks`` blocks and ``max_other`` other columns, with sorted indices.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> codes = np.array([0, 2, 1, 2])
    >>> onehot = sp.csr_matrix((np.ones(4), (np.arange(4), codes)), shape=(4, 3))
    >>> X = sp.hstack([onehot, sp.csr_matrix(np.arange(1.0, 5.0)[:, None])], format="csr")
    >>> structure = one_hot_structure(X)
    >>> structure.sizes, structure.other_columns, structure.other_layout
    (array([3]), array([3]), 'trailing')
    >>> w = np.array([1.0, 2.0, 3.0, 4.0])
    >>> np.allclose(weighted_gram(X, w, structure=structure), weighted_gram(X, w))
    True
    """
    if not sp.issparse(X) or X.format != "csr" or X.nnz == 0 or not X.has_sorted_indices:
        return None
    n, p = X.shape
    indicator = np.ones(p, dtype=bool)
    for lo in range(0, X.nnz, chunk_nnz):
        hi = min(lo + chunk_nnz, X.nnz)
        indicator[X.indices[lo:hi][X.data[lo:hi] != 1]] = False
    n_indicator = int(indicator.sum())
    if n_indicator == 0 or n_indicator > 4096 or p - n_indicator > max_other:
        return None
    sample = min(n, sample_rows)
    found = _one_hot_blocks(
        X, indicator, _row_ranges(X.indptr[: sample + 1], chunk_nnz), max_blocks
    )
    if found is None:
        return None
    codes = _one_hot_codes(X, *found, chunk_nnz)
    if codes is None and sample < n:
        # The sample missed a pair of levels that some later row stores together.
        found = _one_hot_blocks(X, indicator, _row_ranges(X.indptr, chunk_nnz), max_blocks)
        codes = None if found is None else _one_hot_codes(X, *found, chunk_nnz)
    if codes is None:
        return None
    starts, sizes = found
    other = np.flatnonzero(~indicator)
    layout = _other_layout(X, other, chunk_nnz)
    return OneHotStructure(starts, sizes, codes, other, layout, p)


def _one_hot_blocks(X, indicator, row_ranges, max_blocks):
    """Block boundaries ``(starts, sizes)`` from the rows in ``row_ranges``, or None."""
    p = X.shape[1]
    n_indicator = int(indicator.sum())
    rank = np.cumsum(indicator) - 1
    indptr, indices = X.indptr, X.indices
    # present[r, l]: some row stores indicator l and, as its next indicator, r. A block cannot
    # hold both, so it must end somewhere in (l, r].
    present = np.zeros(n_indicator * n_indicator, dtype=bool)
    for start, stop in row_ranges:
        lo, hi = indptr[start], indptr[stop]
        cols = indices[lo:hi]
        keep = indicator[cols]
        row = np.repeat(np.arange(stop - start), np.diff(indptr[start : stop + 1]))[keep]
        ranks = rank[cols[keep]]
        same = row[1:] == row[:-1]
        pair = ranks[1:][same] * n_indicator + ranks[:-1][same]
        present |= np.bincount(pair, minlength=n_indicator * n_indicator) > 0
    present = present.reshape(n_indicator, n_indicator)
    last_left = n_indicator - 1 - np.argmax(present[:, ::-1], axis=1)
    max_left = np.where(present.any(axis=1), last_left, -1)
    starts, sizes = [], []
    current = None
    for column in range(p):
        if not indicator[column]:
            current = None
            continue
        if current is None or max_left[rank[column]] >= rank[current]:
            current = column
            starts.append(column)
            sizes.append(0)
        sizes[-1] += 1
    if len(starts) > max_blocks or max(sizes) >= np.iinfo(np.uint16).max:
        return None
    return np.asarray(starts, np.intp), np.asarray(sizes, np.intp)


def _one_hot_codes(X, starts, sizes, chunk_nnz):
    """The ``(n_blocks, n)`` level codes, or None if some row stores two levels of a block."""
    n, p = X.shape
    k = starts.size
    dtype = np.uint8 if sizes.max() < np.iinfo(np.uint8).max else np.uint16
    # Entries of non-indicator columns go to a scratch block ``k`` that is dropped.
    block_of = np.full(p, k, dtype=np.intp)
    level_of = np.zeros(p, dtype=dtype)
    for b, (s, size) in enumerate(zip(starts, sizes, strict=True)):
        block_of[s : s + size] = b
        level_of[s : s + size] = np.arange(size)
    codes = np.empty((k, n), dtype=dtype)
    sentinel = np.append(sizes, 0).astype(dtype)[:, None]
    stored = 0
    indptr, indices = X.indptr, X.indices
    for start, stop in _row_ranges(indptr, chunk_nnz):
        rows = stop - start
        lo, hi = indptr[start], indptr[stop]
        cols = indices[lo:hi]
        block = block_of[cols]
        stored += int(np.count_nonzero(block < k))
        flat = block * rows
        flat += np.repeat(np.arange(rows), np.diff(indptr[start : stop + 1]))
        scratch = np.repeat(sentinel, rows, axis=1)
        scratch.ravel()[flat] = level_of[cols]
        codes[:, start:stop] = scratch[:k]
    # Two levels of one block in a row overwrite each other: fewer codes than stored entries.
    filled = sum(int(np.count_nonzero(codes[b] != sizes[b])) for b in range(k))
    return codes if filled == stored else None


def _other_layout(X, other, chunk_nnz):
    """'trailing'/'leading' when every row stores every other column at its end/start."""
    m = other.size
    n, p = X.shape
    if m == 0:
        return "scatter"
    if np.array_equal(other, np.arange(p - m, p)):
        layout, first = "trailing", other[0] - p
    elif np.array_equal(other, np.arange(m)):
        layout, first = "leading", 0
    else:
        return "scatter"
    indptr = X.indptr
    for start, stop in _row_ranges(indptr, chunk_nnz):
        if np.any(np.diff(indptr[start : stop + 1]) < m):
            return "scatter"
        base = indptr[start + 1 : stop + 1] if layout == "trailing" else indptr[start:stop]
        positions = base[:, None] + (first + np.arange(m))
        if not np.array_equal(X.indices[positions], np.broadcast_to(other, positions.shape)):
            return "scatter"
    return layout


def _row_ranges(indptr, chunk_nnz):
    """Consecutive row ranges holding about ``chunk_nnz`` stored entries each."""
    n = indptr.size - 1
    bounds = np.searchsorted(indptr, np.arange(0, indptr[-1], chunk_nnz), side="right") - 1
    bounds = np.unique(np.concatenate([[0], np.clip(bounds, 0, n), [n]]))
    return list(zip(bounds[:-1], bounds[1:], strict=True))
