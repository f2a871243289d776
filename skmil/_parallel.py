"""One meaning of ``n_jobs`` for every kind of parallel work (private).

``n_jobs`` follows scikit-learn: ``None`` means 1 unless inside a
:func:`joblib.parallel_config` context, ``-1`` means all processors. joblib pools take it
as they are; numba ``prange`` loops run under :func:`numba_threads`, and torch under its
own thread setting, and scikit-learn's OpenMP code (k-means) under
:func:`openmp_threads`, so the same number bounds them all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from joblib import effective_n_jobs

__all__ = ["n_threads", "numba_threads", "openmp_threads", "thread_budget"]


def n_threads(n_jobs: int | None) -> int:
    """The number of threads ``n_jobs`` stands for (at least 1).

    ``None`` is joblib's effective value, capped by the thread budget of the process
    (:func:`thread_budget`): inside a ``joblib.parallel_backend("dask")`` context joblib
    reads ``None`` as every core of the cluster, and in a dask worker that already runs
    one fit per core, a fit that took those cores for torch or numba oversubscribed the
    machine (a grid of small deep fits ran several times slower than sequentially). An
    explicit int is used as given.
    """
    n = max(1, int(effective_n_jobs(n_jobs)))
    if n_jobs is None:
        budget = thread_budget()
        if budget is not None:
            n = min(n, budget)
    return n


def thread_budget() -> int | None:
    """Threads this process was given: ``OMP_NUM_THREADS``, or None when it is unset.

    Worker processes of loky (joblib's process pool) and of dask set it to their share of
    the cores; a user may set it too.
    """
    value = os.environ.get("OMP_NUM_THREADS", "")
    try:
        return max(1, int(value))
    except ValueError:
        return None


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


@contextmanager
def openmp_threads(n_jobs: int | None) -> Iterator[int]:
    """Run OpenMP code (scikit-learn's k-means) with ``n_jobs`` threads, then restore.

    scikit-learn's k-means uses every core by default. skmil's ``n_jobs=None`` means
    one thread, which is also what a small fit needs: OpenMP's threads start and
    synchronise at every Lloyd iteration, which on a few hundred instances costs more
    than the arithmetic, and far more on a loaded machine.

    Parameters
    ----------
    n_jobs : int or None
        scikit-learn's meaning.

    Yields
    ------
    int
        The number of threads allowed.
    """
    from threadpoolctl import threadpool_limits

    n = n_threads(n_jobs)
    with threadpool_limits(limits=n, user_api="openmp"):
        yield n
