"""Holding BLAS to one thread around the work that needs it, safely across threads.

Two kinds of work run with BLAS on one thread: the solver's small p×p factorisations (on small
matrices multi-threaded OpenBLAS can be orders of magnitude slower than one thread; measured: a
207×207 Cholesky took 250 ms on two threads and 0.4 ms on one) and the passes over row blocks
that spread the blocks over the cores with threads of their own. Everything else, in the
library and in the rest of the user's program, keeps the process's BLAS threads.

The limit is process-wide (BLAS libraries have one setting), so overlapping fits in several
threads share one: the first to enter records the original limits and sets one thread, the last
to leave restores them. The limit is taken for as short as possible: around each pass and each
factorisation, never across a whole fit.
"""

from __future__ import annotations

import threading

__all__ = ["single_threaded_blas"]


class _SharedLimit:
    """Reference-counted process-wide BLAS limit of one thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._depth = 0
        self._limiter = None
        self._controller = None

    def acquire(self):
        with self._lock:
            if self._depth == 0:
                self._limiter = self._limit()
            self._depth += 1

    def release(self):
        with self._lock:
            self._depth -= 1
            if self._depth == 0 and self._limiter is not None:
                self._limiter.restore_original_limits()
                self._limiter = None

    def _limit(self):
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
            return None
        if self._controller is None:
            self._controller = ThreadpoolController()
        return self._controller.limit(limits=1, user_api="blas")


_SHARED = _SharedLimit()


class single_threaded_blas:
    """Context manager holding BLAS to one thread (re-entrant, thread-safe).

    Examples
    --------
    >>> import numpy as np
    >>> with single_threaded_blas():
    ...     factor = np.linalg.cholesky(np.eye(3))
    """

    def __enter__(self):
        _SHARED.acquire()
        return self

    def __exit__(self, *exc):
        _SHARED.release()
        return False
