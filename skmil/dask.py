"""Bags that do not fit in one process: codebook embeddings over a dask data frame.

Long-format data (one row per instance, a bag id column, feature columns and an optional
label column) in parquet or CSV files becomes a :class:`dask.dataframe.DataFrame` indexed
by bag id, so that every partition holds whole bags (:func:`read_bags`). An encoder with
``partial_fit`` (:class:`~skmil.embedding.BagOfWords`,
:class:`~skmil.embedding.VLADEncoder`, :class:`~skmil.embedding.FisherVectorEncoder`,
:class:`~skmil.embedding.BagStatistics`) learns its codebook from the partitions one at a
time (:func:`partial_fit_frame`: this process holds one partition, never the data), and
:func:`transform_frame` embeds every partition on the cluster's workers, one row per bag.
The embeddings are ``n_bags x n_outputs``, usually far smaller than the instances: bring
them to this process with :func:`gather_frame` and fit any scikit-learn classifier, or
train incrementally on their partitions (``SGDClassifier.partial_fit``, dask-ml's
``Incremental``).

Needs ``pip install "dask[distributed]"`` (and ``pyarrow`` for parquet).

Examples
--------
>>> import numpy as np, pandas as pd
>>> import dask.dataframe as dd
>>> from skmil.dask import gather_frame, partial_fit_frame, transform_frame
>>> from skmil.embedding import VLADEncoder
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"bag": np.repeat(np.arange(40), 5), "y": np.repeat(np.arange(40) % 2, 5),
...                    "f0": rng.normal(size=200), "f1": rng.normal(size=200)})
>>> frame = dd.from_pandas(df, npartitions=4).set_index("bag", sorted=True)
>>> enc = partial_fit_frame(VLADEncoder(n_clusters=2, random_state=0), frame, label="y")
>>> emb = gather_frame(transform_frame(enc, frame, label="y"))
>>> emb.shape
(40, 5)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .bags import from_arrays, from_frame

__all__ = ["gather_frame", "partial_fit_frame", "read_bags", "transform_frame"]


def _dd():
    try:
        import dask.dataframe as dd
    except ImportError as exc:  # pragma: no cover - dask is a test dependency
        raise ImportError(
            "skmil.dask needs dask: pip install \"dask[distributed]\"") from exc
    return dd


def read_bags(path: str | Path | Sequence[str], *, bag: str, sorted: bool = False,
              format: str | None = None, **read_kwargs: Any):
    """A dask data frame of long-format bags, indexed by bag id: whole bags per partition.

    Parameters
    ----------
    path : str, Path or list of str
        Parquet or CSV file(s), or a glob such as ``"bags/*.parquet"``; one row per
        instance.
    bag : str
        The bag id column; it becomes the index, so that no bag spans two partitions.
    sorted : bool, default=False
        The files hold the rows sorted by bag id (each bag's rows together, ids
        increasing across files): the index is then set without a shuffle. Otherwise
        dask sorts the rows by bag id (a shuffle of the data across the cluster).
    format : {"parquet", "csv"} or None, default=None
        None infers it from the first path's suffix.
    **read_kwargs
        Passed to :func:`dask.dataframe.read_parquet` or :func:`dask.dataframe.read_csv`
        (e.g. ``blocksize`` for CSV).

    Returns
    -------
    frame : dask.dataframe.DataFrame
        Indexed by ``bag``, with the other columns.
    """
    dd = _dd()
    first = str(path[0] if isinstance(path, (list, tuple)) else path)
    if format is None:
        format = "csv" if first.endswith((".csv", ".csv.gz")) else "parquet"
    if format not in ("parquet", "csv"):
        raise ValueError(f"format must be 'parquet', 'csv' or None, got {format!r}.")
    reader = dd.read_parquet if format == "parquet" else dd.read_csv
    frame = reader(path, **read_kwargs)
    if bag not in frame.columns:
        raise ValueError(f"column {bag!r} not in the files (columns: {list(frame.columns)}).")
    return frame.set_index(bag, sorted=sorted)


def _bags_of(part: Any, label: str | None, features: Sequence[str] | None):
    """The bags of one (pandas) partition indexed by bag id: ``(bags, y, ids)``."""
    name = part.index.name or "bag"
    df = part.reset_index()
    out = from_frame(df, bag=name, label=label, features=features, return_ids=True)
    return (out[0], None, out[1]) if label is None else out


def partial_fit_frame(encoder: Any, frame: Any, *, label: str | None = None,
                      features: Sequence[str] | None = None) -> Any:
    """Fit ``encoder`` with ``partial_fit`` on the partitions of ``frame``, one at a time.

    Each partition is computed (on the cluster, if a ``dask.distributed`` client is
    active) and brought to this process alone, so its peak memory is one partition's.
    The first partition starts the stream: what the encoder chooses from data
    (``n_clusters="auto"``, PCA) it chooses there.

    Parameters
    ----------
    encoder : transformer with ``partial_fit``
        E.g. :class:`~skmil.embedding.VLADEncoder`; fitted in place.
    frame : dask.dataframe.DataFrame
        Indexed by bag id with whole bags per partition (:func:`read_bags`).
    label : str, optional
        The label column, excluded from the features.
    features : list of str, optional
        Feature columns; default every column but ``label``.

    Returns
    -------
    encoder : transformer
        The fitted encoder.
    """
    if not hasattr(encoder, "partial_fit"):
        raise TypeError(
            f"{type(encoder).__name__} has no partial_fit; use BagOfWords, VLADEncoder, "
            "FisherVectorEncoder or BagStatistics.")
    for i in range(frame.npartitions):
        part = frame.get_partition(i).compute()
        if len(part):
            encoder.partial_fit(_bags_of(part, label, features)[0])
    if not hasattr(encoder, "n_features_in_"):
        raise ValueError("every partition of the frame is empty: no bags to fit.")
    return encoder


def _embed_partition(part: Any, encoder: Any, label: str | None,
                     features: Sequence[str] | None, meta: Any):
    """One partition's embeddings, shaped as ``meta`` (its columns and index)."""
    import pandas as pd

    if len(part) == 0:
        return meta
    bags, y, ids = _bags_of(part, label, features)
    names = [c for c in meta.columns if c != label]
    out = pd.DataFrame(encoder.transform(bags), columns=names,
                       index=pd.Index(ids, name=part.index.name))
    if label is not None:
        out[label] = y
    return out


def transform_frame(encoder: Any, frame: Any, *, label: str | None = None,
                    features: Sequence[str] | None = None):
    """Embed every bag of ``frame`` with a fitted ``encoder``, partition by partition.

    The work runs where the partitions are (the workers of a ``dask.distributed``
    cluster), each partition's bags at once.

    Parameters
    ----------
    encoder : fitted transformer
        Any skmil bag transformer.
    frame : dask.dataframe.DataFrame
        Indexed by bag id with whole bags per partition (:func:`read_bags`).
    label : str, optional
        The label column: excluded from the features and kept, one value per bag.
    features : list of str, optional
        Feature columns; default every column but ``label``.

    Returns
    -------
    embeddings : dask.dataframe.DataFrame
        One row per bag, indexed by bag id: the encoder's outputs
        (``get_feature_names_out()`` where it has them, else ``e0, e1, ...``) and
        ``label``.
    """
    import pandas as pd

    if features is None:
        features = [c for c in frame.columns if c != label]
    try:
        names = [str(n) for n in encoder.get_feature_names_out()]
    except (AttributeError, ValueError, TypeError):
        probe = from_arrays(np.zeros((1, len(features))), np.zeros(1, dtype=np.int64),
                            feature_names=list(features))
        names = [f"e{j}" for j in range(encoder.transform(probe).shape[1])]
    meta = pd.DataFrame({c: np.empty(0) for c in names},
                        index=pd.Index([], name=frame.index.name,
                                       dtype=frame.index.dtype))
    if label is not None:
        meta[label] = np.empty(0, dtype=frame[label].dtype)
    return frame.map_partitions(_embed_partition, encoder, label, list(features), meta,
                                meta=meta)


def gather_frame(frame: Any):
    """The partitions of a dask data frame, computed and concatenated in this process.

    ``frame.compute()`` concatenates the partitions on one worker before sending the
    result, so that worker must hold all of it (twice, while concatenating); this
    brings the partitions here one by one and concatenates them here instead.

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
        E.g. the embeddings of :func:`transform_frame`.

    Returns
    -------
    frame : pandas.DataFrame
        Every partition's rows, in partition order.
    """
    import dask
    import pandas as pd

    return pd.concat(dask.compute(*frame.to_delayed()))
