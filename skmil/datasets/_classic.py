"""Loaders for the classic MIL benchmarks shipped with skmil (MUSK1/2, FOX, TIGER, ELEPHANT)."""

from __future__ import annotations

import gzip
import os
from functools import lru_cache
from importlib import resources

import numpy as np
from sklearn.utils import Bunch

from ..bags import Bags, from_arrays

__all__ = [
    "DATASETS",
    "load_dataset",
    "load_musk1",
    "load_musk2",
    "load_fox",
    "load_tiger",
    "load_elephant",
    "read_mil_csv",
]

#: Names of the shipped data sets and a one-line description of each.
DATASETS = {
    "musk1": "MUSK1: 92 molecules (47 musk), 476 conformations, 166 features",
    "musk2": "MUSK2: 102 molecules (39 musk), 6598 conformations, 166 features",
    "fox": "FOX: 200 Corel images (100 fox), 1320 segments, 230 features",
    "tiger": "TIGER: 200 Corel images (100 tiger), 1220 segments, 230 features",
    "elephant": "ELEPHANT: 200 Corel images (100 elephant), 1391 segments, 230 features",
}

_DESCR = """{title}

Classic multiple-instance benchmark shipped with skmil (see skmil/datasets/data/README.md
for provenance). Each bag is a list of instances (rows) with {d} raw, unscaled features; the
bag label is 1 for a positive bag. No instance labels exist. Standardise features with
statistics fitted on training instances only, e.g. InstanceTransformer(StandardScaler()).

bags: {b} ({pos} positive / {neg} negative); instances: {n}; features: {d}.
"""


def read_mil_csv(
    path, *, bag_col: str = "bag_id", label_col: str = "bag_label"
) -> tuple[Bags, np.ndarray, list[str]]:
    """Read a CSV (optionally gzipped) with one instance per row, a bag column and a label column.

    Every other column is a numeric feature. Returns ``(bags, y, feature_names)``.
    """
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as fh:
        header = fh.readline().strip().split(",")
        if bag_col not in header or label_col not in header:
            raise ValueError(
                f"{path}: columns {bag_col!r} and {label_col!r} are required; header has "
                f"{header[:10]}{'...' if len(header) > 10 else ''}. Name them with "
                "--bag-col/--label-col (CLI) or bag_col=/label_col=."
            )
        raw = np.loadtxt(fh, delimiter=",", dtype=str, ndmin=2)
    bag_idx, label_idx = header.index(bag_col), header.index(label_col)
    feat_idx = [k for k in range(len(header)) if k not in (bag_idx, label_idx)]
    try:
        X = raw[:, feat_idx].astype(np.float64)
    except ValueError as exc:
        raise ValueError(f"{path}: non-numeric feature value ({exc}).") from None
    labels = raw[:, label_idx]
    try:
        labels = labels.astype(np.int64)
    except ValueError:
        pass
    bags, y = from_arrays(X, raw[:, bag_idx], labels)
    return bags, y, [header[k] for k in feat_idx]


@lru_cache(maxsize=8)
def _load_cached(name: str):
    ref = resources.files("skmil.datasets") / "data" / f"{name}.csv.gz"
    with resources.as_file(ref) as path:
        bags, y, names = read_mil_csv(path)
        return bags, y, names, str(path)


def load_dataset(name: str, *, return_X_y: bool = False):
    """Load a shipped MIL benchmark: ``musk1``, ``musk2``, ``fox``, ``tiger`` or ``elephant``.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS` (case-insensitive).
    return_X_y : bool, default=False
        Return ``(bags, y)`` instead of a Bunch.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``data`` (list of 2-D float64 arrays, one per bag, fresh copies), ``target``
        (0/1 int array), ``feature_names``, ``DESCR``, ``filename``.
    (bags, y) : tuple
        When ``return_X_y=True``.

    Examples
    --------
    >>> from skmil.datasets import load_dataset
    >>> bags, y = load_dataset("musk1", return_X_y=True)
    >>> len(bags), bags[0].shape[1], int(y.sum())
    (92, 166, 47)
    """
    key = name.lower()
    if key not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; shipped: {sorted(DATASETS)}.")
    bags, y, names, path = _load_cached(key)
    data = bags.to_list()
    target = y.copy()
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        feature_names=list(names),
        target_names=np.array(["negative", "positive"]),
        DESCR=_DESCR.format(
            title=DATASETS[key],
            b=len(data),
            pos=int(target.sum()),
            neg=int((target == 0).sum()),
            n=bags.n_instances,
            d=bags.n_features,
        ),
        filename=path,
    )


def load_musk1(*, return_X_y: bool = False):
    """Load MUSK1 (92 bags, 476 instances, 166 features); see :func:`load_dataset`."""
    return load_dataset("musk1", return_X_y=return_X_y)


def load_musk2(*, return_X_y: bool = False):
    """Load MUSK2 (102 bags, 6598 instances, 166 features); see :func:`load_dataset`."""
    return load_dataset("musk2", return_X_y=return_X_y)


def load_fox(*, return_X_y: bool = False):
    """Load FOX (200 bags, 1320 instances, 230 features); see :func:`load_dataset`."""
    return load_dataset("fox", return_X_y=return_X_y)


def load_tiger(*, return_X_y: bool = False):
    """Load TIGER (200 bags, 1220 instances, 230 features); see :func:`load_dataset`."""
    return load_dataset("tiger", return_X_y=return_X_y)


def load_elephant(*, return_X_y: bool = False):
    """Load ELEPHANT (200 bags, 1391 instances, 230 features); see :func:`load_dataset`."""
    return load_dataset("elephant", return_X_y=return_X_y)
