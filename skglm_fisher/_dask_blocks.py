"""Streaming the row blocks of Dask arrays, one block in memory at a time."""

from __future__ import annotations

import numpy as np

from skglm_fisher.glm._design import is_dask_array

__all__ = ["row_blocks"]


def row_blocks(X, *vectors):
    """Yield ``(X_block, *vector_blocks)`` as in-memory arrays, block by block, in row order.

    ``X`` is a Dask array (rechunked to whole rows if its columns are chunked); each vector
    (``y``, ``sample_weight``, ...) is None, a Dask array or an array-like of ``len(X)`` rows,
    and is cut like the rows of ``X``. Each block is computed where its data lives (on the
    workers of a distributed cluster) and only then transferred: one block at a time.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> X = da.arange(12.0, chunks=4).reshape(6, 2)
    >>> [(b.shape, yb.tolist()) for b, yb in row_blocks(X, np.arange(6))]
    [((2, 2), [0, 1]), ((2, 2), [2, 3]), ((2, 2), [4, 5])]
    """
    import dask
    import dask.array as da

    if X.ndim != 2:
        raise ValueError(f"Expected a 2-dimensional dask array X; got shape {X.shape}.")
    if len(X.chunks[1]) != 1:
        X = X.rechunk({1: -1})
    chunks = X.chunks[0]
    bounds = np.concatenate([[0], np.cumsum(chunks)])
    cut = []
    for vector in vectors:
        if vector is None:
            cut.append(None)
        elif is_dask_array(vector):
            if vector.shape[0] != X.shape[0]:
                raise ValueError(f"Found input variables with inconsistent numbers of samples: "
                                 f"[{X.shape[0]}, {vector.shape[0]}]")  # fmt: skip
            cut.append(da.asarray(vector).rechunk((chunks,)))
        else:
            vector = np.asarray(vector)
            if vector.shape[0] != X.shape[0]:
                raise ValueError(f"Found input variables with inconsistent numbers of samples: "
                                 f"[{X.shape[0]}, {vector.shape[0]}]")  # fmt: skip
            cut.append(vector)
    for i, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        lazy = [X.blocks[i]] + [v.blocks[i] for v in cut if is_dask_array(v)]
        computed = iter(dask.compute(*lazy))
        block = next(computed)
        parts = []
        for vector in cut:
            if vector is None:
                parts.append(None)
            elif is_dask_array(vector):
                parts.append(next(computed))
            else:
                parts.append(vector[start:stop])
        yield (block, *parts)
