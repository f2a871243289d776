"""One place that decides how skmil's numba kernels are compiled.

Kernels compile lazily on first call (never at import) and are cached on disk when a
cache location is writable. Where it is not (read-only site-packages and HOME, no
``NUMBA_CACHE_DIR``), numba raises at decoration time; we then compile without a cache
instead of failing to import.

Compilation is what a user's first call pays (the disk cache makes later processes
load it instead), so kernels keep it small: one signature per kernel (callers pass
float64 and int64 arrays of one layout), and a loop over bags that numba could run on
threads comes in two variants, a serial one and a ``parallel=True`` one, the second
compiled only when :func:`worth_threads` says a call will use it: numba's parallel
transform takes several times longer to compile, and with one thread (``n_jobs=None``)
or a small input it gains nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import numba

__all__ = ["PARALLEL_MIN_WORK", "njit", "worth_threads"]

#: Smallest cost estimate (about one unit per multiply-add) of a call for which a
#: kernel runs its threaded variant; below it, thread start-up and the compilation of
#: the parallel variant outweigh the gain.
PARALLEL_MIN_WORK = 2_000_000


def njit(*args, **kwargs) -> Callable:
    """``numba.njit`` with ``cache=True`` that falls back to no cache when none is possible.

    Use exactly like ``numba.njit``: ``@njit`` or ``@njit(parallel=True)``.
    """
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return _compile(args[0], {})

    def decorate(func: Callable) -> Callable:
        return _compile(func, kwargs)

    return decorate


def _compile(func: Callable, options: dict) -> Callable:
    opts = {"cache": True, "nogil": True, **options}
    try:
        return numba.njit(**opts)(func)
    except RuntimeError as exc:  # "cannot cache function ...: no locator available"
        if "cache" not in str(exc):
            raise
        opts["cache"] = False
        return numba.njit(**opts)(func)


def worth_threads(work: float) -> bool:
    """Whether a kernel call of about ``work`` multiply-adds should use numba's threads.

    True when more than one numba thread is allowed (estimators set that from
    ``n_jobs`` with :func:`skmil._parallel.numba_threads`) and ``work`` reaches
    :data:`PARALLEL_MIN_WORK`.

    Parameters
    ----------
    work : float
        Cost estimate of the call.

    Returns
    -------
    bool

    Examples
    --------
    >>> from skmil._numba import worth_threads
    >>> worth_threads(10.0)
    False
    """
    return work >= PARALLEL_MIN_WORK and numba.get_num_threads() > 1
