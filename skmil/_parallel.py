"""One meaning of ``n_jobs`` for every kind of parallel work (private).

``n_jobs`` follows scikit-learn: ``None`` means 1 unless inside a
:func:`joblib.parallel_config` context, ``-1`` means all processors. joblib pools take it
as they are; numba ``prange`` loops run under :func:`numba_threads`, and torch under its
own thread setting, so the same number bounds all three.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from joblib import effective_n_jobs

__all__ = ["n_threads", "numba_threads"]


def n_threads(n_jobs: int | None) -> int:
    """The number of threads ``n_jobs`` stands for (at least 1)."""
    return max(1, int(effective_n_jobs(n_jobs)))


@contextmanager
def numba_threads(n_jobs: int | None) -> Iterator[int]:
    """Run numba's parallel loops with ``n_jobs`` threads, then restore the setting.

    Parameters
    ----------
    n_jobs : int or None
        scikit-learn's meaning; capped at numba's thread pool size.

    Yields
    ------
    int
        The number of threads in use.
    """
    import numba

    n = min(n_threads(n_jobs), int(numba.config.NUMBA_NUM_THREADS))
    previous = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield n
    finally:
        numba.set_num_threads(previous)
