"""The bag data model: validation and the one internal layout every estimator uses.

A *bag* is a 2-D array of shape ``(n_instances, n_features)``; a data set is a sequence
of bags with one label per bag. Internally skmil stores a data set as a :class:`Bags`
object: all instances concatenated into one C-contiguous float64 array of shape
``(N, d)`` plus an int64 ``offsets`` array of length ``B + 1`` (like the ``indptr`` of a
CSR matrix). Bag ``i`` is ``instances[offsets[i]:offsets[i + 1]]``.

Estimators call :func:`check_bags` once at the top of ``fit`` / ``predict`` and pass the
layout down to numba/BLAS kernels, which never loop over Python lists.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

__all__ = [
    "Bags",
    "KernelBags",
    "check_bags",
    "check_bag_labels",
    "from_arrays",
    "from_frame",
    "from_aeon",
    "from_tslearn",
    "to_arrays",
    "to_frame",
    "split_instances",
    "check_square_kernel_bags",
]


class Bags(Sequence):
    """A data set of bags in skmil's flat layout.

    ``Bags`` behaves like a read-only list of 2-D arrays (``len``, indexing, iteration),
    so it can be passed anywhere a list of bags is accepted, and :func:`check_bags`
    accepts it without copying.

    Parameters
    ----------
    instances : ndarray of shape (n_instances, n_features), float64, C-contiguous
        All instances of all bags, bag after bag.
    offsets : ndarray of shape (n_bags + 1,), int64
        Bag ``i`` holds rows ``offsets[i]:offsets[i + 1]``; ``offsets[0] == 0`` and
        ``offsets[-1] == n_instances``.

    Notes
    -----
    Build it with :func:`check_bags` (from a list of arrays) or :func:`from_arrays`
    (from a flat array and a bag-id per row); the constructor trusts its input.

    Examples
    --------
    >>> import numpy as np
    >>> from skmil.bags import check_bags
    >>> bags = check_bags([np.zeros((2, 3)), np.ones((1, 3))])
    >>> bags.n_bags, bags.n_instances, bags.n_features
    (2, 3, 3)
    >>> bags.offsets
    array([0, 2, 3])
    """

    __slots__ = ("instances", "offsets", "_hash_keys", "_validated")

    def __init__(self, instances: np.ndarray, offsets: np.ndarray) -> None:
        self.instances = instances
        self.offsets = offsets
        # the bags' content hashes (skmil._inner_cv.bag_hash_keys), set only on the
        # private copies skmil makes while fitting and carried by take(), so the inner
        # fits of an inner CV do not hash the same instances again
        self._hash_keys = None
        # True on those copies when the instances passed every input check (finite,
        # float64-safe scale): an inner fit does not check them again
        self._validated = False

    @property
    def n_bags(self) -> int:
        """Number of bags ``B``."""
        return int(self.offsets.shape[0] - 1)

    @property
    def n_instances(self) -> int:
        """Total number of instances ``N``."""
        return int(self.instances.shape[0])

    @property
    def n_features(self) -> int:
        """Number of features per instance ``d``."""
        return int(self.instances.shape[1])

    @property
    def sizes(self) -> np.ndarray:
        """Number of instances in each bag, shape ``(n_bags,)``."""
        return np.diff(self.offsets)

    @property
    def bag_index(self) -> np.ndarray:
        """The bag number of every instance, shape ``(n_instances,)``."""
        return np.repeat(np.arange(self.n_bags, dtype=np.int64), self.sizes)

    def __len__(self) -> int:
        return self.n_bags

    def __getitem__(self, key):
        if isinstance(key, numbers.Integral):
            i = int(key)
            if i < 0:
                i += self.n_bags
            if not 0 <= i < self.n_bags:
                raise IndexError(f"bag index {key} out of range for {self.n_bags} bags")
            return self.instances[self.offsets[i] : self.offsets[i + 1]]
        if isinstance(key, slice):
            return self.take(np.arange(self.n_bags)[key])
        return self.take(key)

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(self.n_bags):
            yield self.instances[self.offsets[i] : self.offsets[i + 1]]

    def __repr__(self) -> str:
        return (
            f"Bags(n_bags={self.n_bags}, n_instances={self.n_instances}, "
            f"n_features={self.n_features})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Bags):
            return NotImplemented
        return np.array_equal(self.offsets, other.offsets) and np.array_equal(
            self.instances, other.instances
        )

    __hash__ = None  # mutable container semantics, like a list

    def _bag_positions(self, indices) -> np.ndarray:
        """Validated non-negative int64 bag positions from ints or a boolean mask."""
        idx = np.asarray(indices)
        if idx.dtype == bool:
            if idx.shape != (self.n_bags,):
                raise IndexError(
                    f"boolean mask of shape {idx.shape} does not match {self.n_bags} bags"
                )
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.int64, copy=False).ravel()
        if idx.size and (idx.min() < -self.n_bags or idx.max() >= self.n_bags):
            raise IndexError(f"bag indices out of range for {self.n_bags} bags")
        return np.where(idx < 0, idx + self.n_bags, idx)

    def _offsets_of(self, idx: np.ndarray) -> np.ndarray:
        offsets = np.zeros(idx.size + 1, dtype=np.int64)
        np.cumsum(self.sizes[idx], out=offsets[1:])
        return offsets

    def take(self, indices) -> Bags:
        """Return the bags at ``indices`` (ints or a boolean mask) as a new ``Bags``.

        The instances are copied in one vectorised gather; no Python loop over bags.

        Parameters
        ----------
        indices : array-like of int or of bool
            Positions of the bags to take, in the order given, or a mask of length
            ``n_bags``.

        Returns
        -------
        Bags
            The selected bags, with their own copy of the instances.
        """
        idx = self._bag_positions(indices)
        rows = instance_indices(self.offsets, idx)
        out = Bags(np.ascontiguousarray(self.instances[rows]), self._offsets_of(idx))
        keys = getattr(self, "_hash_keys", None)  # unset in a pickle of an older Bags
        if keys is not None:
            out._hash_keys = keys[idx]
        out._validated = getattr(self, "_validated", False)
        return out

    def take_pairwise(self, rows, cols) -> Bags:
        """Bags ``rows`` of a precomputed instance kernel, keeping the columns of bags ``cols``.

        For bags whose instances are rows of a square instance kernel over these same
        bags (``n_features == n_instances``; column ``j`` holds the kernel value with
        instance ``j``), the input of the ``kernel="precomputed"`` estimators.
        ``take_pairwise(train, train)`` is the training set of a split, and
        ``take_pairwise(test, train)`` its test set: the test instances' kernel values
        against the training instances, which is what ``predict`` takes.

        Parameters
        ----------
        rows, cols : array-like of int or of bool
            Bags whose instances become the rows, and bags whose instances' columns are
            kept (in that order); positions or masks of length ``n_bags``.

        Returns
        -------
        Bags
            ``len(rows)`` bags with one column per instance of the ``cols`` bags.

        Examples
        --------
        >>> import numpy as np
        >>> from skmil.bags import Bags
        >>> X = np.arange(6.0)[:, None]
        >>> offsets = np.array([0, 2, 3, 6])
        >>> K = Bags(X @ X.T, offsets)           # linear instance kernel, 3 bags
        >>> train = K.take_pairwise([0, 2], [0, 2])
        >>> train.n_instances, train.n_features  # square again
        (5, 5)
        >>> K.take_pairwise([1], [0, 2]).instances  # instance 2 against 0, 1, 3, 4, 5
        array([[ 0.,  2.,  6.,  8., 10.]])
        """
        if self.n_features != self.n_instances:
            raise ValueError(
                "take_pairwise needs bags of a square instance kernel (one column per "
                f"instance of these bags), got {self.n_instances} instances with "
                f"{self.n_features} columns."
            )
        r, c = self._bag_positions(rows), self._bag_positions(cols)
        ri, ci = instance_indices(self.offsets, r), instance_indices(self.offsets, c)
        # rows, then columns, copied C-contiguous for the kernels that read K
        K = np.ascontiguousarray(self.instances.take(ri, axis=0).take(ci, axis=1))
        return Bags(K, self._offsets_of(r))

    def with_instances(self, instances: np.ndarray) -> Bags:
        """Return bags with the same structure and new instance rows (e.g. transformed).

        Parameters
        ----------
        instances : ndarray of shape (n_instances, n_new_features)
            One row per instance, in the order of these bags' instances.

        Returns
        -------
        Bags
            The new rows (as float64) split by these bags' offsets.
        """
        instances = np.asarray(instances)
        if instances.ndim != 2 or instances.shape[0] != self.n_instances:
            raise ValueError(
                f"expected {self.n_instances} instance rows, got an array of shape "
                f"{instances.shape}"
            )
        return Bags(np.ascontiguousarray(instances, dtype=np.float64), self.offsets)

    def split(self, values: np.ndarray) -> list[np.ndarray]:
        """Split a per-instance array into one array per bag (views, no copy).

        Parameters
        ----------
        values : ndarray of shape (n_instances, ...)
            One entry per instance, in the order of these bags' instances.

        Returns
        -------
        list of ndarray
            ``n_bags`` views of ``values``, the rows of each bag.
        """
        return split_instances(values, self.offsets)

    def to_list(self) -> list[np.ndarray]:
        """Return the bags as a list of independent 2-D arrays (copies).

        Returns
        -------
        list of ndarray
            One ``(n_instances_i, n_features)`` array per bag.
        """
        return [bag.copy() for bag in self]


def instance_indices(offsets: np.ndarray, bag_idx: np.ndarray) -> np.ndarray:
    """Row indices of all instances of the bags ``bag_idx``, in that order (vectorised)."""
    starts = offsets[bag_idx]
    sizes = offsets[bag_idx + 1] - starts
    total = int(sizes.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    # position within the output minus the output offset of its bag + the bag's start
    out_starts = np.cumsum(sizes) - sizes
    rows = np.arange(total, dtype=np.int64)
    rows += np.repeat(starts - out_starts, sizes)
    return rows


def check_square_kernel_bags(bags: Bags) -> None:
    """Raise ``ValueError`` unless training bags are rows of a square instance kernel.

    The ``kernel="precomputed"`` estimators take, at ``fit``, bags whose instances are
    rows of the ``N x N`` instance kernel of the training instances (column ``j`` is the
    kernel value with training instance ``j``, in bag order).

    Parameters
    ----------
    bags : Bags
        The training bags of a ``kernel="precomputed"`` estimator.

    Raises
    ------
    ValueError
        When the bags do not hold one column per instance; the message says how to
        build and split such bags.
    """
    if bags.n_features != bags.n_instances:
        raise ValueError(
            "kernel='precomputed' takes bags of instance-kernel rows: at fit, one column "
            f"per training instance, but the {bags.n_bags} bags hold {bags.n_instances} "
            f"instances with {bags.n_features} columns. Build them from the square "
            "instance Gram matrix K of the training instances (bag after bag) with "
            "Bags(K, offsets); to split such bags (cross-validation), slice rows and "
            "columns together with Bags.take_pairwise(train, train) and "
            ".take_pairwise(test, train): scikit-learn's splitters slice only the bags."
        )


def split_instances(values: np.ndarray, offsets: np.ndarray) -> list[np.ndarray]:
    """Split per-instance ``values`` (first axis = instances) into per-bag views.

    Parameters
    ----------
    values : ndarray of shape (n_instances, ...)
        One entry per instance, bag after bag.
    offsets : ndarray of shape (n_bags + 1,)
        Start of each bag's rows in ``values``, then ``n_instances``.

    Returns
    -------
    list of ndarray
        ``n_bags`` views of ``values``.
    """
    return [values[offsets[i] : offsets[i + 1]] for i in range(offsets.shape[0] - 1)]


def _issparse(obj: Any) -> bool:
    # checked by module so that importing skmil does not import scipy.sparse
    return type(obj).__module__.startswith("scipy.sparse") and hasattr(obj, "toarray")


def _bag_to_array(bag: Any, i: int, accept_sparse: bool) -> np.ndarray:
    """Convert one bag to a 2-D numeric ndarray (no copy when already float), with errors."""
    if _issparse(bag):
        if not accept_sparse:
            raise TypeError(
                f"Bag {i} is a sparse matrix, which this estimator does not accept; "
                "convert it with .toarray()."
            )
        bag = bag.toarray()
    elif bag is None or isinstance(bag, (str, bytes, dict, numbers.Number)):
        raise TypeError(
            f"Bag {i} is a {type(bag).__name__}, not a 2-D array of instances; "
            "pass every bag as an array of shape (n_instances, n_features)."
        )
    if hasattr(bag, "to_numpy") and not isinstance(bag, np.ndarray):  # pandas objects
        bag = bag.to_numpy()
    try:
        arr = np.asarray(bag)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"Bag {i} could not be read as a 2-D array ({exc}); every bag must be a "
            "rectangular array of shape (n_instances, n_features)."
        ) from None
    if arr.dtype.kind in "biuf":
        pass
    elif arr.dtype.kind == "c":
        raise ValueError(f"Bag {i} holds complex numbers; skmil needs real-valued features.")
    else:
        try:
            arr = arr.astype(np.float64)
        except (ValueError, TypeError):
            raise ValueError(
                f"Bag {i} holds non-numeric values (dtype {arr.dtype}); encode categorical "
                "or text features as numbers before fitting (e.g. with OneHotEncoder)."
            ) from None
    if arr.ndim != 2:
        if arr.ndim == 1:
            raise ValueError(
                f"Bag {i} is 1-D with shape {arr.shape}; each bag must be 2-D "
                "(n_instances, n_features). Use bag.reshape(1, -1) for a bag of one "
                "instance or bag.reshape(-1, 1) for instances with one feature."
            )
        raise ValueError(
            f"Bag {i} has {arr.ndim} dimensions (shape {arr.shape}); each bag must be 2-D "
            "(n_instances, n_features)."
        )
    return arr


def check_bags(
    X: Any,
    *,
    allow_nan: bool | str = False,
    accept_sparse: bool = True,
    n_features: int | None = None,
    estimator_name: str | None = None,
) -> Bags:
    """Validate a data set of bags and return it in skmil's flat layout.

    Parameters
    ----------
    X : sequence of array-likes, object ndarray or Bags
        The bags. Accepted forms: a list or tuple of 2-D array-likes (numpy arrays,
        nested lists, pandas DataFrames, scipy sparse matrices), a 1-D numpy object
        array of 2-D arrays, or an existing :class:`Bags` (returned as is, without a
        copy). A numeric 3-D array is refused, because its orientation cannot be told
        from its shape: state it with :func:`from_tslearn` (``(n_bags, n_instances,
        n_features)``) or :func:`from_aeon` (``(n_cases, n_channels, n_timepoints)``).
    allow_nan : bool, default=False
        Whether NaN values are allowed (for instance-wise imputers); infinity is
        always rejected.
    accept_sparse : bool, default=True
        Whether scipy sparse bags are accepted (they are densified).
    n_features : int, optional
        If given, the number of features the bags must have (the fitted
        ``n_features_in_`` at predict time).
    estimator_name : str, optional
        Used in the error message for a feature-count mismatch.

    Returns
    -------
    bags : Bags
        New float64 C-contiguous instances and int64 offsets; the caller's arrays are
        never modified and never shared (except when ``X`` already is a ``Bags``).

    Raises
    ------
    ValueError
        Empty data set, a bag with no rows, a bag that is not 2-D, bags with
        different feature counts, NaN/inf values, non-numeric values, or a wrong
        number of features. The message names the offending bag.
    TypeError
        ``X`` or one of its bags is not array-like.

    Examples
    --------
    >>> import numpy as np
    >>> from skmil.bags import check_bags
    >>> bags = check_bags([[[0.0, 1.0], [2.0, 3.0]], np.array([[4.0, 5.0]])])
    >>> bags.instances
    array([[0., 1.],
           [2., 3.],
           [4., 5.]])
    >>> bags.offsets
    array([0, 2, 3])
    """
    if isinstance(X, Bags):
        bags = X
        if not getattr(bags, "_validated", False):
            _check_finite(bags, allow_nan)
    else:
        bags = _to_bags(X, accept_sparse, allow_nan)
    if n_features is not None and bags.n_features != n_features:
        who = estimator_name or "the estimator"
        raise ValueError(
            f"X has {bags.n_features} features per instance, but {who} was fitted with "
            f"{n_features} features. Pass bags with the same features as at fit time."
        )
    return bags


def _to_bags(X: Any, accept_sparse: bool, allow_nan: bool) -> Bags:
    if X is None:
        raise TypeError("X is None; pass a list of bags (2-D arrays), one per bag.")
    if isinstance(X, (str, bytes, dict)) or _issparse(X):
        raise TypeError(
            f"X is a {type(X).__name__}; pass a list of bags (2-D arrays of shape "
            "(n_instances, n_features)), or use skmil.bags.from_arrays for a flat "
            "array with a bag id per row."
        )
    if hasattr(X, "iloc") and hasattr(X, "columns"):
        raise TypeError(
            "X is a DataFrame of instances; convert it with "
            "skmil.bags.from_frame(df, bag='bag_column', label='label_column')."
        )
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim == 3:
            raise ValueError(_ambiguous_3d_message(X.shape))
        raise ValueError(
            f"X is a {X.ndim}-D numeric array of shape {X.shape}, not a sequence of bags. "
            "Pass a list of 2-D arrays (one per bag), or group a flat instance array with "
            "skmil.bags.from_arrays(X, bag_ids)."
        )
    if isinstance(X, np.ndarray):
        X = list(X.ravel()) if X.ndim == 1 else list(X)
    if not hasattr(X, "__len__") or not hasattr(X, "__getitem__"):
        try:
            X = list(X)
        except TypeError:
            raise TypeError(
                f"X is a {type(X).__name__}; pass a list of bags (2-D arrays), one per bag."
            ) from None
    n_bags = len(X)
    if n_bags == 0:
        raise ValueError(
            "X contains no bags; pass a non-empty list of 2-D arrays, one per bag."
        )
    arrays = []
    sizes = []
    d = None
    for i in range(n_bags):
        arr = X[i]
        # numeric 2-D ndarrays (the common case) skip the generic conversion checks,
        # which cost more per bag than copying a small bag
        if not (type(arr) is np.ndarray and arr.ndim == 2 and arr.dtype.kind in "biuf"):
            arr = _bag_to_array(arr, i, accept_sparse)
        n_i, d_i = arr.shape  # one attribute lookup: this loop runs once per bag
        if n_i == 0:
            raise ValueError(
                f"Bag {i} has no instances (shape {arr.shape}); every bag needs at least "
                "one row. Drop empty bags before fitting or predicting."
            )
        if d_i != d:
            if d is not None:
                raise ValueError(
                    f"Bag {i} has {d_i} features but bag 0 has {d}; all bags must "
                    "have the same number of features (columns)."
                )
            if d_i == 0:
                raise ValueError(f"Bag {i} has 0 features; instances need at least one.")
            d = d_i
        arrays.append(arr)
        sizes.append(n_i)
    offsets = np.zeros(n_bags + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    instances = np.empty((int(offsets[-1]), d), dtype=np.float64)
    # one pass: each bag is cast straight into its slot of the flat array (one C call
    # rather than a Python slice assignment per bag)
    np.concatenate(arrays, axis=0, out=instances)
    bags = Bags(instances, offsets)
    _check_finite(bags, allow_nan)
    return bags


def _check_finite(bags: Bags, allow_nan: bool | str) -> None:
    """Reject NaN (unless ``allow_nan``) and infinity (unless ``allow_nan == "all"``)."""
    if allow_nan == "all":
        return
    # a sum is cheaper than isfinite on the whole array and is finite iff all values
    # are finite (barring overflow, which the slow path below sorts out)
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(bags.instances.sum()):
            return
    values = bags.instances
    bad = np.isinf(values) if allow_nan else ~np.isfinite(values)
    bad_rows = bad.any(axis=1)
    if not bad_rows.any():
        return
    row = int(np.flatnonzero(bad_rows)[0])
    bag = int(np.searchsorted(bags.offsets, row, side="right") - 1)
    n_bad = int(np.count_nonzero(bad_rows))
    what = "infinity" if allow_nan else "NaN or infinity"
    raise ValueError(
        f"Bag {bag} contains {what} (instance {row - bags.offsets[bag]} of that "
        f"bag; {n_bad} bad instance(s) in all). Remove or impute them first, e.g. with "
        "skmil.preprocessing.InstanceTransformer(estimator=SimpleImputer())."
    )


def check_bag_labels(y: Any, n_bags: int) -> np.ndarray:
    """Validate bag labels: one per bag, 1-D, no missing values.

    Parameters
    ----------
    y : array-like of shape (n_bags,)
        The bag labels; a single column ``(n_bags, 1)`` is accepted.
    n_bags : int
        The number of bags the labels belong to.

    Returns
    -------
    ndarray of shape (n_bags,)
        ``y`` as a 1-D array, not yet encoded.

    Raises
    ------
    ValueError
        When ``y`` is missing, has the wrong shape or length, or holds missing values.
    """
    if y is None:
        raise ValueError(
            "y is None; MIL classifiers need one label per bag (e.g. 0/1 or -1/+1)."
        )
    y_arr = np.asarray(y)
    if y_arr.ndim == 2 and y_arr.shape[1] == 1:
        y_arr = y_arr.ravel()
    if y_arr.ndim != 1:
        raise ValueError(
            f"y must be 1-D with one label per bag; got shape {y_arr.shape}. For several "
            "targets use sklearn.multiclass.OneVsRestClassifier on a 1-D multi-class y."
        )
    if y_arr.shape[0] != n_bags:
        raise ValueError(
            f"X has {n_bags} bags but y has {y_arr.shape[0]} labels; pass exactly one "
            "label per bag."
        )
    if y_arr.dtype.kind == "f" and not np.isfinite(y_arr).all():
        bad = int(np.flatnonzero(~np.isfinite(y_arr))[0])
        raise ValueError(f"y contains NaN or infinity (bag {bad}); every bag needs a label.")
    if y_arr.dtype == object and any(v is None for v in y_arr):
        bad = next(i for i, v in enumerate(y_arr) if v is None)
        raise ValueError(f"y contains None (bag {bad}); every bag needs a label.")
    return y_arr


_N_SHOWN = 5  # row numbers quoted in an error message


def _show(value: Any) -> str:
    """``repr`` of a value as the user wrote it (``'P0'``, not ``np.str_('P0')``)."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def _rows_text(rows: np.ndarray, offset: int = 0) -> str:
    shown = ", ".join(str(int(r) + offset) for r in rows[:_N_SHOWN])
    more = f" and {rows.size - _N_SHOWN} more" if rows.size > _N_SHOWN else ""
    return f"row{'s' if rows.size > 1 else ''} {shown}{more}"


def _id_kind(value: Any) -> str:
    if isinstance(value, (str, np.str_)):
        return "str"
    if isinstance(value, (bytes, np.bytes_)):
        return "bytes"
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (numbers.Number, np.number)):
        return "number"
    return type(value).__name__


def _check_bag_ids(ids: np.ndarray) -> None:
    """Refuse missing ids (NaN, None, NA, empty text) and ids of mixed types, naming rows.

    A missing id must never become a bag of its own: grouping would merge every row
    without an id into one bag whose label and instances mean nothing.
    """
    import pandas as pd

    missing = np.asarray(pd.isna(ids), dtype=bool)
    if ids.dtype.kind in "OUS":
        blank = np.fromiter(
            (isinstance(v, (str, bytes)) and not v.strip() for v in ids.ravel()),
            dtype=bool,
            count=ids.size,
        )
        missing |= blank
    if missing.any():
        rows = np.flatnonzero(missing)
        raise ValueError(
            f"{rows.size} row(s) have no bag id ({_rows_text(rows)}, counting from 0): "
            "NaN, None and empty text are not bag ids. Drop those rows or fill in the id "
            "of the bag each belongs to."
        )
    if ids.dtype == object and ids.size:
        kinds = np.array([_id_kind(v) for v in ids])
        first_kind = kinds[0]
        other = np.flatnonzero(kinds != first_kind)
        if other.size:
            r = int(other[0])
            raise ValueError(
                f"bag ids mix types: row 0 holds {_show(ids[0])} ({first_kind}) but row {r} "
                f"holds {_show(ids[r])} ({kinds[r]}). Use one type for every id, e.g. "
                "ids.astype(str) (then 1 and '1' are the same bag)."
            )


def _numeric_matrix(
    X: np.ndarray,
    columns: Sequence[Any] | None,
    allow_nan: bool,
    *,
    where: Callable[[int], str] | None = None,
    source: str = "",
) -> np.ndarray:
    """``X`` as float64; a non-numeric or (unless ``allow_nan``) missing cell is named.

    ``columns`` names the columns in messages (default: their numbers); ``where(r)`` says
    where row ``r`` is (default ``"in row r"``; the CSV reader says ``"on line n"``), and
    ``source`` (e.g. ``"file.csv: "``) starts every message.
    """
    import pandas as pd

    def col_name(j: int) -> str:
        return repr(columns[j]) if columns is not None else str(j)

    if where is None:
        def where(r: int) -> str:
            return f"in row {r}"

    if X.dtype.kind not in "biuf":
        if X.dtype.kind == "c":
            raise ValueError(f"{source}X holds complex numbers; skmil needs real-valued features.")
        for j in range(X.shape[1]):
            col = X[:, j]
            num = pd.to_numeric(pd.Series(col, dtype=object), errors="coerce").to_numpy(float)
            bad = np.isnan(num) & ~np.asarray(pd.isna(col), dtype=bool)
            if bad.any():
                r = int(np.flatnonzero(bad)[0])
                raise ValueError(
                    f"{source}column {col_name(j)} holds the non-numeric value {_show(col[r])} "
                    f"{where(r)} ({int(bad.sum())} such value(s) in that column). Encode "
                    "text features as numbers first (e.g. with OneHotEncoder), or leave the "
                    "column out of the features."
                )
        X = pd.DataFrame(X).apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    X = np.array(X, dtype=np.float64, order="C")
    if not allow_nan:
        nan = np.isnan(X)
        if nan.any():
            r, j = (int(v) for v in np.argwhere(nan)[0])
            raise ValueError(
                f"{source}column {col_name(j)} has a missing value {where(r)} "
                f"({int(nan.sum())} missing value(s) in all). Drop or fill those rows, or pass "
                "allow_nan=True and impute them inside the model, e.g. with "
                "skmil.preprocessing.InstanceTransformer(estimator=SimpleImputer())."
            )
    return X


def from_arrays(
    X: Any,
    bag_ids: Any,
    y: Any = None,
    *,
    allow_nan: bool = False,
    return_ids: bool = False,
    feature_names: Sequence[Any] | None = None,
) -> Bags | tuple:
    """Group a flat instance array into bags by a bag id per row.

    Bags appear in order of first appearance of their id; the rows of a bag keep their
    order in ``X`` (the rows of one bag need not be contiguous).

    Parameters
    ----------
    X : array-like of shape (n_instances, n_features)
        All instances.
    bag_ids : array-like of shape (n_instances,)
        The bag of each row: any hashable values of one type (all text or all numbers).
        A missing id (NaN, None, ``pd.NA``, empty text) is an error naming the rows,
        never a bag of its own.
    y : array-like of shape (n_instances,), optional
        A label per row, which must be constant within each bag; if given, the bag
        labels are returned as well.
    allow_nan : bool, default=False
        Whether missing feature values (NaN) are let through, for an imputer such as
        ``InstanceTransformer(estimator=SimpleImputer())``; infinity is always refused.
    return_ids : bool, default=False
        Also return the id of each bag, to join predictions back to your own ids.
    feature_names : sequence, optional
        Names of the columns of ``X``, used in error messages.

    Returns
    -------
    bags : Bags
        The bags, in order of first appearance of their ids.
    y_bags : ndarray of shape (n_bags,)
        Only when ``y`` is given.
    ids : ndarray of shape (n_bags,)
        Only when ``return_ids=True``: the id of each bag, in bag order.

    Examples
    --------
    >>> import numpy as np
    >>> from skmil.bags import from_arrays
    >>> X = np.arange(8.0).reshape(4, 2)
    >>> bags, y, ids = from_arrays(X, ["b", "a", "b", "a"], y=[1, 0, 1, 0], return_ids=True)
    >>> bags.offsets, y, ids
    (array([0, 2, 4]), array([1, 0]), array(['b', 'a'], dtype='<U1'))
    >>> bags[0]
    array([[0., 1.],
           [4., 5.]])
    """
    import pandas as pd

    X_arr = np.asarray(X)
    if X_arr.ndim != 2:
        raise ValueError(f"X must be 2-D (n_instances, n_features); got shape {X_arr.shape}.")
    ids = np.asarray(bag_ids)
    if ids.ndim != 1 or ids.shape[0] != X_arr.shape[0]:
        raise ValueError(
            f"bag_ids must be 1-D with one id per row of X ({X_arr.shape[0]} rows); "
            f"got shape {ids.shape}."
        )
    if X_arr.shape[0] == 0:
        raise ValueError("X has no rows; pass at least one instance.")
    if X_arr.shape[1] == 0:
        raise ValueError("X has no feature columns; instances need at least one feature.")
    _check_bag_ids(ids)
    X_num = _numeric_matrix(X_arr, feature_names, allow_nan)
    # codes number the bags by first appearance, so the output order follows the input
    # (and ids need not be sortable)
    bag_of_row, uniques = pd.factorize(ids)
    bag_of_row = bag_of_row.astype(np.int64, copy=False)
    n_bags = len(uniques)
    rows = np.argsort(bag_of_row, kind="stable")
    sizes = np.bincount(bag_of_row, minlength=n_bags).astype(np.int64)
    offsets = np.zeros(n_bags + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    bags = Bags(np.ascontiguousarray(X_num[rows]), offsets)
    _check_finite(bags, allow_nan)
    out: list[Any] = [bags]
    if y is not None:
        y_rows = np.asarray(y)
        if y_rows.shape != (X_arr.shape[0],):
            raise ValueError(
                f"y must have one label per row of X ({X_arr.shape[0]}); got shape "
                f"{y_rows.shape}."
            )
        missing = np.flatnonzero(np.asarray(pd.isna(y_rows), dtype=bool))
        if missing.size:
            raise ValueError(
                f"{missing.size} row(s) have no label ({_rows_text(missing)}, counting "
                "from 0); every row needs the label of its bag."
            )
        y_sorted = y_rows[rows]
        y_bags = y_sorted[offsets[:-1]]
        inconsistent = np.flatnonzero(np.repeat(y_bags, sizes) != y_sorted)
        if inconsistent.size:
            row_pos = int(inconsistent[0])
            b = int(np.searchsorted(offsets, row_pos, side="right") - 1)
            first, other = int(rows[offsets[b]]), int(rows[row_pos])
            raise ValueError(
                f"bag {_show(ids[other])} has two labels: {_show(y_rows[first])} in row "
                f"{first} and {_show(y_rows[other])} in row {other}. The label column must "
                "hold the bag label, the same on every row of a bag."
            )
        out.append(y_bags)
    if return_ids:
        out.append(ids[rows[offsets[:-1]]])
    return out[0] if len(out) == 1 else tuple(out)


def _is_polars(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] == "polars"


def from_frame(
    df: Any,
    *,
    bag: str,
    label: str | None = None,
    features: Sequence[str] | None = None,
    allow_nan: bool = False,
    return_ids: bool = False,
) -> Bags | tuple:
    """Build bags from a data frame with one row per instance.

    Parameters
    ----------
    df : pandas.DataFrame, polars.DataFrame or polars.LazyFrame
        One row per instance (a LazyFrame is collected).
    bag : str
        Column holding the bag id of each row. A missing id is an error naming the
        rows, never a bag of its own.
    label : str, optional
        Column holding the bag label (constant within a bag). When given, the bag
        labels are returned as well.
    features : list of str, optional
        Feature columns; default: every column except ``bag`` and ``label``.
    allow_nan : bool, default=False
        Let missing feature values through as NaN, for an imputer in the model such
        as ``InstanceTransformer(estimator=SimpleImputer())``; by default a missing value is an
        error naming its column and row.
    return_ids : bool, default=False
        Also return each bag's id from the ``bag`` column, so that predictions can be
        joined back to your own ids (see :func:`to_frame`).

    Returns
    -------
    bags : Bags
        The bags, in order of first appearance of their ids.
    y : ndarray of shape (n_bags,)
        Only when ``label`` is given.
    ids : ndarray of shape (n_bags,)
        Only when ``return_ids=True``: the bag ids, in bag order.

    Examples
    --------
    >>> import pandas as pd
    >>> from skmil.bags import from_frame
    >>> df = pd.DataFrame({"bag": ["p7", "p7", "p2"], "y": [1, 1, 0], "f0": [0.1, 0.2, 0.3]})
    >>> bags, y, ids = from_frame(df, bag="bag", label="y", return_ids=True)
    >>> len(bags), y, ids
    (2, array([1, 0]), array(['p7', 'p2'], dtype=object))
    """
    if _is_polars(df) and hasattr(df, "collect") and not hasattr(df, "to_numpy"):
        df = df.collect()  # a LazyFrame: run the query once, here
    if not hasattr(df, "columns") or not (hasattr(df, "iloc") or _is_polars(df)):
        raise TypeError(
            f"from_frame expects a pandas or polars DataFrame, got {type(df).__name__}; "
            "for numpy arrays use skmil.bags.from_arrays(X, bag_ids, y)."
        )
    columns = list(df.columns)
    for col in [bag] + ([label] if label is not None else []):
        if col not in columns:
            raise ValueError(f"column {col!r} not in the DataFrame (columns: {columns}).")
    if features is None:
        features = [c for c in columns if c != bag and c != label]
    features = list(features)
    unknown = [c for c in features if c not in columns]
    if unknown:
        raise ValueError(f"feature column(s) {unknown} not in the DataFrame (columns: {columns}).")
    if len(features) == 0:
        raise ValueError("the DataFrame has no feature columns besides the bag and label columns.")
    if _is_polars(df):
        X = df.select(features).to_numpy()
    else:
        X = df[features].to_numpy()
        if X.dtype == object:
            # nullable pandas dtypes (Int64, Float64) hold pd.NA, which numpy cannot cast
            try:
                X = df[features].to_numpy(dtype=np.float64, na_value=np.nan)
            except (TypeError, ValueError):
                pass  # text somewhere: _numeric_matrix names the cell
    y = None if label is None else df[label].to_numpy()
    return from_arrays(
        X, df[bag].to_numpy(), y, allow_nan=allow_nan, return_ids=return_ids,
        feature_names=features,
    )


def to_arrays(bags: Any) -> tuple[np.ndarray, np.ndarray]:
    """Flatten bags to ``(X_flat, bag_ids)``, the inverse of :func:`from_arrays`.

    Parameters
    ----------
    bags : sequence of 2-D arrays or Bags
        The bags to flatten.

    Returns
    -------
    X_flat : ndarray of shape (n_instances, n_features)
        Every instance, bag after bag (a copy).
    bag_ids : ndarray of shape (n_instances,)
        The position of each instance's bag, ``0 .. n_bags - 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from skmil.bags import to_arrays
    >>> X, ids = to_arrays([np.zeros((2, 1)), np.ones((1, 1))])
    >>> ids
    array([0, 0, 1])
    """
    b = check_bags(bags, allow_nan="all")
    return b.instances.copy(), b.bag_index


def to_frame(
    bags: Any,
    y: Any = None,
    *,
    ids: Any = None,
    bag: str = "bag_id",
    label: str = "bag_label",
    feature_names: Sequence[str] | None = None,
):
    """Return a pandas DataFrame with one row per instance, the inverse of :func:`from_frame`.

    Parameters
    ----------
    bags : sequence of 2-D arrays or Bags
        The bags to write, one row per instance.
    y : array-like of shape (n_bags,), optional
        Bag labels (or predictions), repeated on every row of the bag.
    ids : array-like of shape (n_bags,), optional
        The bag ids to write, e.g. those of ``from_frame(..., return_ids=True)``;
        default ``0 .. n_bags - 1``.
    bag, label : str
        Names of the bag-id and label columns.
    feature_names : list of str, optional
        Default ``f0 .. f{d-1}``.

    Returns
    -------
    pandas.DataFrame
        Columns ``bag``, ``label`` (when ``y`` is given), then the features.

    Examples
    --------
    >>> import numpy as np
    >>> from skmil.bags import to_frame
    >>> to_frame([np.zeros((2, 1)), np.ones((1, 1))], y=[1, 0], ids=["p7", "p2"])
      bag_id  bag_label   f0
    0     p7          1  0.0
    1     p7          1  0.0
    2     p2          0  1.0
    """
    import pandas as pd

    b = check_bags(bags, allow_nan="all")
    names = list(feature_names) if feature_names is not None else [
        f"f{k}" for k in range(b.n_features)
    ]
    if len(names) != b.n_features:
        raise ValueError(f"{len(names)} feature names for {b.n_features} features.")
    if ids is None:
        id_col = b.bag_index
    else:
        id_arr = np.asarray(ids)
        if id_arr.shape != (b.n_bags,):
            raise ValueError(
                f"ids must hold one id per bag ({b.n_bags}); got shape {id_arr.shape}."
            )
        id_col = np.repeat(id_arr, b.sizes)
    data = {bag: id_col}
    if y is not None:
        y_arr = check_bag_labels(y, b.n_bags)
        data[label] = np.repeat(y_arr, b.sizes)
    df = pd.DataFrame(data)
    feats = pd.DataFrame(b.instances.copy(), columns=names)
    return pd.concat([df, feats], axis=1)


def _ambiguous_3d_message(shape: tuple[int, ...]) -> str:
    a, b, c = shape
    return (
        f"X is a 3-D array of shape {shape}, which has two readings: as (n_bags, "
        f"n_instances, n_features) it is {a} bags of {b} instances with {c} features; as "
        f"aeon/sktime's (n_cases, n_channels, n_timepoints) it is {a} bags of {c} time "
        f"points with {b} channels as features. State which: "
        "skmil.bags.from_tslearn(X) for the first (also tslearn's (n_ts, sz, d)), "
        "skmil.bags.from_aeon(X) for the second."
    )


def from_tslearn(X: Any, *, allow_nan: bool = False) -> Bags:
    """Read a 3-D array ``(n_bags, n_instances, n_features)`` as bags: one per first index.

    This is the layout of tslearn's time series data sets ``(n_ts, sz, d)``: series ``i``
    becomes a bag of ``sz`` instances (its time points) with ``d`` features. tslearn pads
    series shorter than ``sz`` with NaN rows at the end; those trailing all-NaN rows
    are dropped, so each bag holds its own series' length. The same function states
    the orientation of any equal-size stack of bags.

    Parameters
    ----------
    X : array-like of shape (n_bags, n_instances, n_features) or (n_bags, n_instances)
        The collection; a 2-D array holds univariate series (one feature).
    allow_nan : bool, default=False
        Let NaN inside a series through (for an imputer); trailing padding is always
        dropped.

    Returns
    -------
    bags : Bags
        ``n_bags`` bags with ``n_features`` features.

    See Also
    --------
    from_aeon : Collections with channels before time points.

    Examples
    --------
    >>> import numpy as np
    >>> from skmil.bags import from_tslearn
    >>> X = np.arange(12.0).reshape(2, 3, 2)   # 2 series, 3 time points, 2 dims
    >>> X[1, 2] = np.nan                        # series 1 is 2 points long (padded)
    >>> bags = from_tslearn(X)
    >>> bags.sizes, bags.n_features
    (array([3, 2]), 2)
    """
    arr = np.asarray(X)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise ValueError(
            f"from_tslearn expects a 3-D array (n_ts, sz, d) or a 2-D one (n_ts, sz); got "
            f"shape {arr.shape}."
        )
    if arr.shape[0] == 0:
        raise ValueError("X contains no bags; pass at least one series.")
    try:
        arr = arr.astype(np.float64, copy=False)
    except (TypeError, ValueError):
        raise ValueError(
            f"X holds non-numeric values (dtype {arr.dtype}); from_tslearn needs numbers."
        ) from None
    # a row is padding when it and every later row of its series are all NaN
    row_nan = np.isnan(arr).all(axis=2)
    trailing = np.flip(np.logical_and.accumulate(np.flip(row_nan, axis=1), axis=1), axis=1)
    sizes = arr.shape[1] - trailing.sum(axis=1)
    if (sizes == 0).any():
        empty = int(np.flatnonzero(sizes == 0)[0])
        raise ValueError(f"series {empty} holds only NaN; every bag needs at least one row.")
    keep = ~trailing
    offsets = np.zeros(arr.shape[0] + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    bags = Bags(np.ascontiguousarray(arr[keep]), offsets)
    _check_finite(bags, allow_nan)
    return bags


def from_aeon(X: Any, *, allow_nan: bool = False) -> Bags:
    """Read an aeon or sktime time-series collection as bags of time points.

    aeon and sktime put channels before time: case ``i`` of a 3-D collection
    ``(n_cases, n_channels, n_timepoints)`` becomes a bag of ``n_timepoints`` instances
    with ``n_channels`` features (the transpose of each case).

    Parameters
    ----------
    X : 3-D array, 2-D array, list of 2-D arrays or pandas DataFrame
        Accepted collections: a 3-D array ``(n_cases, n_channels, n_timepoints)``
        (aeon's ``numpy3D``); a 2-D array ``(n_cases, n_timepoints)`` of univariate
        series (``numpy2D``); a list of 2-D arrays ``(n_channels, n_timepoints_i)`` of
        unequal length (aeon's ``np-list``); or a DataFrame with a two-level row index
        ``(case, time)`` and one column per channel (sktime's ``pd-multiindex``).
    allow_nan : bool, default=False
        Let NaN through (for an imputer).

    Returns
    -------
    bags : Bags
        One bag per case, in order of appearance.

    See Also
    --------
    from_tslearn : Collections with time points before channels.

    Examples
    --------
    >>> import numpy as np
    >>> from skmil.bags import from_aeon
    >>> X = np.zeros((5, 2, 30))   # 5 cases, 2 channels, 30 time points
    >>> bags = from_aeon(X)
    >>> len(bags), bags[0].shape
    (5, (30, 2))
    """
    index = getattr(X, "index", None)
    if index is not None and hasattr(X, "columns"):
        if getattr(index, "nlevels", 1) != 2:
            raise ValueError(
                "from_aeon takes a DataFrame with a two-level row index (case, time) and "
                f"one column per channel (sktime's pd-multiindex); this one has "
                f"{getattr(index, 'nlevels', 1)} index level(s). For one row per instance "
                "with a bag-id column use skmil.bags.from_frame."
            )
        return from_arrays(
            X.to_numpy(), np.asarray(index.get_level_values(0)), allow_nan=allow_nan,
            feature_names=list(X.columns),
        )
    if isinstance(X, (list, tuple)):
        cases = []
        for i, case in enumerate(X):
            arr = np.asarray(case)
            if arr.ndim == 1:
                arr = arr[None, :]
            if arr.ndim != 2:
                raise ValueError(
                    f"case {i} has shape {arr.shape}; each case of an aeon np-list is 2-D "
                    "(n_channels, n_timepoints)."
                )
            cases.append(arr.T)
        return check_bags(cases, allow_nan=allow_nan)
    arr = np.asarray(X)
    if arr.ndim == 2:
        arr = arr[:, None, :]
    if arr.ndim != 3:
        raise ValueError(
            "from_aeon expects a 3-D array (n_cases, n_channels, n_timepoints), a 2-D "
            "array (n_cases, n_timepoints), a list of 2-D arrays or a DataFrame with a "
            f"(case, time) row index; got an array of shape {arr.shape}."
        )
    return from_tslearn(np.swapaxes(arr, 1, 2), allow_nan=allow_nan)


class KernelBags(Bags):
    """Bags of a square precomputed instance kernel that scikit-learn's splitters can cut.

    The ``kernel="precomputed"`` estimators take, at ``fit``, bags whose instances are
    rows of the ``N x N`` kernel of the training instances, bag after bag. Such bags
    cannot be split like other bags: a training fold must keep only the kernel columns
    of its own instances, and a test fold the columns of the training instances.
    scikit-learn does exactly this for estimators with the ``pairwise`` tag (which the
    skmil precomputed estimators set): it slices ``X[np.ix_(rows, cols)]`` with
    ``X.shape == (n_samples, n_samples)``. ``KernelBags`` gives the bags that interface,
    so :func:`~sklearn.model_selection.cross_val_score`,
    :class:`~sklearn.model_selection.GridSearchCV` and the other scikit-learn CV tools
    split them correctly:

    * ``shape`` is ``(n_bags, n_bags)``: one "sample" per bag, and square;
    * ``K[rows, cols]`` with two index arrays (as built by :func:`numpy.ix_`) is
      :meth:`Bags.take_pairwise` ``(rows, cols)``: the instances of bags ``rows`` with
      the kernel columns of the instances of bags ``cols``, a ``KernelBags`` again when
      ``rows`` and ``cols`` are the same bags (a training fold), plain :class:`Bags`
      otherwise (a test fold, what ``predict`` takes);
    * every other index (an int, a slice, an array) behaves as for :class:`Bags`.

    Parameters
    ----------
    instances : ndarray of shape (n_instances, n_instances), float64, C-contiguous
        The instance kernel: row and column ``j`` belong to instance ``j``.
    offsets : ndarray of shape (n_bags + 1,), int64
        Bag boundaries, as for :class:`Bags`.

    Examples
    --------
    >>> import numpy as np
    >>> from skmil.bags import KernelBags
    >>> X = np.arange(6.0)[:, None]
    >>> K = KernelBags(X @ X.T, np.array([0, 2, 3, 6]))   # 3 bags, 6 instances
    >>> K.shape
    (3, 3)
    >>> train = K[np.ix_([0, 2], [0, 2])]
    >>> type(train).__name__, train.shape
    ('KernelBags', (2, 2))
    >>> K[np.ix_([1], [0, 2])].instances   # instance 2 against those of bags 0 and 2
    array([[ 0.,  2.,  6.,  8., 10.]])
    """

    def __init__(self, instances: np.ndarray, offsets: np.ndarray) -> None:
        instances = np.ascontiguousarray(instances, dtype=np.float64)
        offsets = np.asarray(offsets, dtype=np.int64)
        if instances.ndim != 2 or instances.shape[0] != instances.shape[1]:
            raise ValueError(
                f"KernelBags needs the square instance kernel (one row and one column per "
                f"instance), got an array of shape {instances.shape}."
            )
        if (offsets.ndim != 1 or offsets.shape[0] < 1 or offsets[0] != 0
                or offsets[-1] != instances.shape[0] or np.any(np.diff(offsets) < 0)):
            raise ValueError(
                f"offsets must start at 0, not decrease and end at the number of instances "
                f"({instances.shape[0]}); got {offsets!r}."
            )
        super().__init__(instances, offsets)

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_bags, n_bags)``, the shape scikit-learn's pairwise splitting expects."""
        return (self.n_bags, self.n_bags)

    def take_pairwise(self, rows, cols) -> Bags:
        """As :meth:`Bags.take_pairwise`; a ``KernelBags`` when ``rows`` equals ``cols``.

        Parameters
        ----------
        rows, cols : array-like of int or of bool
            Bags whose instances become the rows, and bags whose instances' columns are
            kept (in that order); positions or masks of length ``n_bags``.

        Returns
        -------
        KernelBags or Bags
            A square ``KernelBags`` when ``rows`` and ``cols`` select the same bags,
            else ``Bags`` with one column per instance of the ``cols`` bags.
        """
        out = super().take_pairwise(rows, cols)
        r, c = self._bag_positions(rows), self._bag_positions(cols)
        if np.array_equal(r, c):
            return KernelBags(out.instances, out.offsets)
        return out

    def __getitem__(self, key):
        if isinstance(key, tuple) and len(key) == 2:
            rows, cols = (np.asarray(k).ravel() if not isinstance(k, slice)
                          else np.arange(self.n_bags)[k] for k in key)
            return self.take_pairwise(rows, cols)
        return super().__getitem__(key)
