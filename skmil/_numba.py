"""One place that decides how skmil's numba kernels are compiled.

Kernels compile lazily on first call (never at import) and are cached on disk when a
cache location is writable. Where it is not (read-only site-packages and HOME, no
``NUMBA_CACHE_DIR``), numba raises at decoration time; we then compile without a cache
instead of failing to import.
"""

from __future__ import annotations

from collections.abc import Callable

import numba

__all__ = ["njit"]


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
