"""A per-row CSV that parallel jobs append to, so an interrupted diagnostic resumes.

Used by ``deep_dsmil_protocol.py`` and ``deep_minet_draws.py``: rows already in the file
are skipped on a rerun (``done_keys``), new rows are written as their jobs finish
(``append_parallel``).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable

from joblib import Parallel


def read_rows(path: str) -> list[dict]:
    if not os.path.exists(path):
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def done_keys(path: str, key: Callable[[dict], tuple]) -> set:
    """``key(row)`` of every row already in ``path``."""
    return {key(r) for r in read_rows(path)}


def append_parallel(path: str, fields: list[str], jobs: Iterable, n_jobs: int) -> list[dict]:
    """Run joblib ``jobs`` (each returning a row dict), append rows as they finish.

    Returns every row of the file afterwards, earlier runs' included.
    """
    new = not os.path.exists(path)
    with open(path, "a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        if new:
            writer.writeheader()
        for row in Parallel(n_jobs=n_jobs, return_as="generator_unordered")(jobs):
            writer.writerow(row)
            fh.flush()
    return read_rows(path)
