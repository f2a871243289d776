"""Loaders for the classic MIL benchmarks shipped with skmil (MUSK1/2, FOX, TIGER, ELEPHANT)."""

from __future__ import annotations

import os
from functools import lru_cache
from importlib import resources

import numpy as np
from sklearn.utils import Bunch

from ..bags import _numeric_matrix, from_arrays

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
statistics fitted on training instances only, e.g. InstanceTransformer(estimator=StandardScaler()).

bags: {b} ({pos} positive / {neg} negative); instances: {n}; features: {d}.
"""


_INTEGER = r"^\s*[+-]?\d+\s*$"


def read_mil_csv(
    path: str | os.PathLike,
    *,
    bag_col: str = "bag_id",
    label_col: str = "bag_label",
    allow_nan: bool = False,
    return_ids: bool = False,
) -> tuple:
    """Read a table with one instance per row, a bag-id column and a bag-label column.

    CSV (optionally compressed, e.g. ``.csv.gz``) is read with :func:`pandas.read_csv`
    (a UTF-8 byte-order mark, quoted values and spaces after commas are fine), Parquet
    (``.parquet``, ``.pq``) with :func:`pandas.read_parquet`. Every other column is a
    numeric feature. Bag ids are read as text; labels that are all integers become
    int64, other labels stay text.

    Parameters
    ----------
    path : str or path-like
        The file.
    bag_col, label_col : str
        Names of the bag-id and bag-label columns.
    allow_nan : bool, default=False
        Keep missing feature values as NaN (for an imputer); by default a missing value
        is an error naming its column and line.
    return_ids : bool, default=False
        Also return the bag ids, in bag order.

    Returns
    -------
    bags : Bags
        The bags, in order of first appearance of their ids.
    y : ndarray of shape (n_bags,)
        The label of each bag.
    feature_names : list of str
        The feature columns' names, in file order.
    ids : ndarray of shape (n_bags,)
        Only when ``return_ids=True``.

    Raises
    ------
    ValueError
        An empty file, a header without rows, a missing column, a row without a bag id
        or label, a bag with two labels, or a missing or non-numeric feature value;
        the message names the file, the column and the line (row, for Parquet).
    OSError
        The file cannot be opened.

    Examples
    --------
    >>> import os, tempfile
    >>> from skmil.datasets import read_mil_csv
    >>> path = os.path.join(tempfile.mkdtemp(), "bags.csv")
    >>> with open(path, "w") as fh:
    ...     _ = fh.write("bag_id,bag_label,f0\\nA,1,0.5\\nA,1,0.7\\nB,0,0.1\\n")
    >>> bags, y, names, ids = read_mil_csv(path, return_ids=True)
    >>> bags.sizes, y, names, ids
    (array([2, 1]), array([1, 0]), ['f0'], array(['A', 'B'], dtype=object))
    """
    import pandas as pd

    path = os.fspath(path)
    parquet = path.lower().endswith((".parquet", ".pq"))
    try:
        if parquet:
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(
                path,
                encoding="utf-8-sig",
                skipinitialspace=True,
                dtype={bag_col: str, label_col: str},
                # a blank line is kept (then dropped below) so that the row index
                # stays the line number
                skip_blank_lines=False,
            )
    except pd.errors.EmptyDataError:
        raise ValueError(
            f"{path} is empty; it needs a header line naming the columns {bag_col!r}, "
            f"{label_col!r} and the features, then one line per instance."
        ) from None
    except pd.errors.ParserError as exc:
        raise ValueError(f"{path} is not a well-formed CSV file: {exc}".strip()) from None
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text; save it as UTF-8 CSV.") from None
    except ImportError as exc:
        raise ImportError(f"reading {path} needs a Parquet engine: {exc}") from None

    def where(i: int) -> str:
        return f"row {i}" if parquet else f"line {i + 2}"

    columns = [str(c) for c in df.columns]
    df.columns = columns
    missing_cols = [c for c in (bag_col, label_col) if c not in columns]
    if missing_cols:
        raise ValueError(
            f"{path}: no column {' or '.join(map(repr, missing_cols))}; the header has "
            f"{columns[:10]}{'...' if len(columns) > 10 else ''}. Name the bag-id and "
            "label columns with --bag-col/--label-col (CLI) or bag_col=/label_col=."
        )
    if not parquet:
        df = df[~df.isna().all(axis=1)]
    if len(df) == 0:
        raise ValueError(f"{path} has a header but no data rows; add one row per instance.")
    features = [c for c in columns if c not in (bag_col, label_col)]
    if not features:
        raise ValueError(
            f"{path} has no feature columns besides {bag_col!r} and {label_col!r}."
        )
    index = df.index.to_numpy()
    for col, what in ((bag_col, "bag id"), (label_col, "label")):
        values = df[col]
        empty = values.isna().to_numpy().copy()
        if values.dtype == object or isinstance(values.dtype, pd.StringDtype):
            empty |= values.astype(str).str.strip().eq("").to_numpy()
        if empty.any():
            bad = index[empty]
            shown = ", ".join(where(int(i)) for i in bad[:5])
            raise ValueError(
                f"{path}: {bad.size} row(s) have no {what} in column {col!r} ({shown}"
                f"{', ...' if bad.size > 5 else ''}); every row needs one."
            )
    ids = df[bag_col].to_numpy(dtype=object)
    raw_labels = df[label_col]
    n_labels = raw_labels.groupby(ids, sort=False).nunique()
    if (n_labels > 1).any():
        bag = n_labels.index[np.flatnonzero(n_labels.to_numpy() > 1)[0]]
        rows = np.flatnonzero(ids == bag)
        lab = raw_labels.to_numpy()[rows]
        other = int(np.flatnonzero(lab != lab[0])[0])
        raise ValueError(
            f"{path}: bag {str(bag)!r} has two labels, {str(lab[0])!r} on "
            f"{where(int(index[rows[0]]))} and {str(lab[other])!r} on "
            f"{where(int(index[rows[other]]))}; the label column holds the bag label, "
            "the same on every row of a bag."
        )
    X = _numeric_matrix(
        df[features].to_numpy(), features, allow_nan,
        where=lambda r: f"on {where(int(index[r]))}", source=f"{path}: ",
    )
    labels = raw_labels.to_numpy(dtype=object)
    if raw_labels.dtype.kind in "biuf":
        labels = raw_labels.to_numpy()
    elif raw_labels.astype(str).str.match(_INTEGER).all():
        labels = raw_labels.astype(str).str.strip().astype(np.int64).to_numpy()
    else:
        labels = np.asarray(raw_labels.astype(str).to_numpy(), dtype=str)
    out = from_arrays(X, ids, labels, allow_nan=allow_nan, return_ids=return_ids)
    if return_ids:
        bags, y, bag_ids = out
        return bags, y, features, bag_ids
    bags, y = out
    return bags, y, features


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


# The five loaders take and return what load_dataset does; their sections are written
# once here and added to each loader's one-line docstring at import.
_LOADER_SECTIONS = """

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(bags, y)`` instead of a Bunch.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``data`` (list of 2-D float64 arrays, one per bag, fresh copies), ``target``
        (0/1 int array), ``feature_names``, ``DESCR``, ``filename``.
    (bags, y) : tuple
        When ``return_X_y=True``.
"""
if load_dataset.__doc__ is not None:  # ``python -OO`` strips docstrings
    for _loader in (load_musk1, load_musk2, load_fox, load_tiger, load_elephant):
        _loader.__doc__ = _loader.__doc__.rstrip() + _LOADER_SECTIONS
