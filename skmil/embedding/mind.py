"""MInD: bags represented by their dissimilarities to the training bags (Cheplygina et al. 2015)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._kernels.bagpairs import instance_blocks
from .._kernels.encoders import bag_chunks, squared_distances
from .._numba import njit
from ..bags import Bags
from ..base import BaseMILTransformer
from ..utils._param_validation import StrOptions
from ._codebook import CHUNK_SIZE, EmbeddingClassifier, linear_svc

__all__ = ["BagDissimilarity", "MInD", "bag_dissimilarities"]

#: Bag dissimilarities of Cheplygina, Tax & Loog (2015), section 3 (point-set distances).
METRICS = ("meanmin", "minmin", "meanmean", "hausdorff")
_METRIC_CODE = {name: code for code, name in enumerate(METRICS)}
#: Instances per side of one block of instance distances: 2048 x 2048 doubles = 32 MiB.
DEFAULT_DISSIMILARITY_CHUNK = 2048


@njit
def _block_dissimilarities(D, row_starts, col_starts, code, out):
    """Bag dissimilarities of one block of instance distances ``D`` (whole bags only).

    ``D[r, c]`` is the distance between row instance ``r`` and column instance ``c``;
    row bag ``a`` holds rows ``row_starts[a]:row_starts[a + 1]``, column bag ``b`` the
    columns ``col_starts[b]:col_starts[b + 1]``. ``out[a, b]`` receives
    ``d(row bag a, column bag b)`` for the metric ``code`` (index into ``METRICS``).
    """
    n_row_bags = row_starts.shape[0] - 1
    n_col_bags = col_starts.shape[0] - 1
    col_min = np.empty(D.shape[1])
    for a in range(n_row_bags):
        r0 = row_starts[a]
        r1 = row_starts[a + 1]
        for b in range(n_col_bags):
            c0 = col_starts[b]
            c1 = col_starts[b + 1]
            if code == 2:  # meanmean: the mean of all instance distances
                acc = 0.0
                for r in range(r0, r1):
                    for c in range(c0, c1):
                        acc += D[r, c]
                out[a, b] = acc / ((r1 - r0) * (c1 - c0))
                continue
            if code == 3:
                for c in range(c0, c1):
                    col_min[c] = np.inf
            acc = 0.0
            lo = np.inf
            hi = 0.0
            for r in range(r0, r1):
                row_min = np.inf
                for c in range(c0, c1):
                    v = D[r, c]
                    if v < row_min:
                        row_min = v
                    if code == 3 and v < col_min[c]:
                        col_min[c] = v
                acc += row_min
                if row_min < lo:
                    lo = row_min
                if row_min > hi:
                    hi = row_min
            if code == 0:  # meanmin: mean over the row bag of the nearest distance
                out[a, b] = acc / (r1 - r0)
            elif code == 1:  # minmin: the nearest pair
                out[a, b] = lo
            else:  # hausdorff: the larger of the two directed max-min distances
                for c in range(c0, c1):
                    if col_min[c] > hi:
                        hi = col_min[c]
                out[a, b] = hi


def bag_dissimilarities(
    X: np.ndarray,
    offsets: np.ndarray,
    P: np.ndarray,
    p_offsets: np.ndarray,
    *,
    metric: str = "meanmin",
    squared: bool = True,
    chunk_size: int = DEFAULT_DISSIMILARITY_CHUNK,
) -> np.ndarray:
    """Dissimilarities between every bag of ``(X, offsets)`` and every bag of ``(P, p_offsets)``.

    Instance distances are computed block by block with one BLAS product each
    (``||x||^2 + ||p||^2 - 2 x.p``) over blocks of whole bags of about ``chunk_size``
    instances per side, then reduced per pair of bags by a numba loop; the largest
    temporary is one block, whatever the number of instances.

    Parameters
    ----------
    X : ndarray of shape (n_instances, n_features)
        Instances of the bags to represent, bag after bag.
    offsets : ndarray of shape (n_bags + 1,)
        Bag ``i`` is ``X[offsets[i]:offsets[i + 1]]``.
    P : ndarray of shape (n_prototype_instances, n_features)
        Instances of the prototype bags.
    p_offsets : ndarray of shape (n_prototypes + 1,)
        Prototype bag ``j`` is ``P[p_offsets[j]:p_offsets[j + 1]]``.
    metric : {"meanmin", "minmin", "meanmean", "hausdorff"}, default="meanmin"
        With ``d`` the instance distance, ``d_minmin(A, B) = min_a min_b d(a, b)``,
        ``d_meanmin(A, B) = mean_a min_b d(a, b)`` (not symmetric: the mean runs over
        the bag being represented), ``d_meanmean(A, B) = mean_a mean_b d(a, b)`` and
        ``d_hausdorff(A, B) = max(max_a min_b d(a, b), max_b min_a d(a, b))``.
    squared : bool, default=True
        Instance distance: squared Euclidean (True) or Euclidean (False).
    chunk_size : int, default=2048
        Instances per side of one distance block (memory, not results).

    Returns
    -------
    D : ndarray of shape (n_bags, n_prototypes)
        ``D[i, j] = d(bag i, prototype bag j)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skmil.embedding.mind import bag_dissimilarities
    >>> X = np.array([[0.0], [2.0]]); P = np.array([[1.0], [5.0]])
    >>> off = np.array([0, 2]); p_off = np.array([0, 1, 2])
    >>> bag_dissimilarities(X, off, P, p_off, metric="meanmin")
    array([[ 1., 17.]])
    """
    if metric not in _METRIC_CODE:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}.")
    code = _METRIC_CODE[metric]
    n_bags = offsets.shape[0] - 1
    out = np.empty((n_bags, p_offsets.shape[0] - 1))
    p_sq = np.einsum("ij,ij->i", P, P)
    dist = _Distances(P, p_sq, squared)
    # bag_chunks makes a bag larger than chunk_size a chunk of its own: such a bag's row
    # or column of ``out`` is computed in pieces below, not as one block
    p_chunks = [c for c in bag_chunks(p_offsets, chunk_size)
                if p_offsets[c[1]] - p_offsets[c[0]] <= chunk_size]
    for b0, b1 in bag_chunks(offsets, chunk_size):
        s, e = offsets[b0], offsets[b1]
        if e - s > chunk_size:
            out[b0] = _big_row(X[s:e], P, p_offsets, dist, metric, chunk_size)
            continue
        row_starts = offsets[b0:b1 + 1] - s
        for p0, p1 in p_chunks:
            ps, pe = p_offsets[p0], p_offsets[p1]
            D = dist(X[s:e], ps, pe)
            _block_dissimilarities(D, row_starts, p_offsets[p0:p1 + 1] - ps, code,
                                   out[b0:b1, p0:p1])
    sizes, p_sizes = np.diff(offsets), np.diff(p_offsets)
    # the bags of ordinary size (a large one's row is complete already)
    rows = [c for c in bag_chunks(offsets, chunk_size)
            if c[1] - c[0] > 1 or sizes[c[0]] <= chunk_size]
    for j in np.flatnonzero(p_sizes > chunk_size):
        _big_column(X, offsets, rows, int(p_offsets[j]), int(p_offsets[j + 1]), dist, metric,
                    chunk_size, out[:, j])
    return out


class _Distances:
    """Instance distances to rows of the prototype instances ``P`` (squared or not)."""

    def __init__(self, P: np.ndarray, p_sq: np.ndarray, squared: bool) -> None:
        self.P, self.p_sq, self.squared = P, p_sq, squared

    def __call__(self, A: np.ndarray, c0: int, c1: int) -> np.ndarray:
        D = squared_distances(A, self.P[c0:c1], self.p_sq[c0:c1])
        if not self.squared:
            np.sqrt(D, out=D)
        return D


def _big_row(A, P, p_offsets, dist, metric, chunk_size) -> np.ndarray:
    """Dissimilarities of one bag larger than ``chunk_size`` (rows ``A``) to every prototype.

    ``A`` goes in pieces of rows; for each piece the nearest distance of every row to
    every prototype bag (``RM``, pieces x prototypes) is the running minimum over
    pieces of the prototypes' instances, and the metric's reduction over the bag's rows
    (a sum, a minimum or a maximum) is accumulated across the pieces. Hausdorff's other
    direction keeps the nearest row of ``A`` for every prototype instance.
    """
    m = p_offsets.shape[0] - 1
    n = A.shape[0]
    starts = p_offsets[:-1]
    rows = max(64, min(chunk_size, chunk_size * chunk_size // max(m, 1)))
    cols = instance_blocks(p_offsets, chunk_size)
    acc = np.full(m, np.inf) if metric == "minmin" else np.zeros(m)
    col_min = np.full(P.shape[0], np.inf) if metric == "hausdorff" else None
    for r0 in range(0, n, rows):
        piece = A[r0:r0 + rows]
        RM = np.full((piece.shape[0], m), np.inf)
        for c0, c1, cb0, cb1, cseg in cols:
            D = dist(piece, c0, c1)
            if metric == "meanmean":
                acc[cb0:cb1] += np.add.reduceat(D.sum(axis=0), cseg[:-1])
                continue
            tile = RM[:, cb0:cb1]
            np.minimum(tile, np.minimum.reduceat(D, cseg[:-1], axis=1), out=tile)
            if col_min is not None:
                np.minimum(col_min[c0:c1], D.min(axis=0), out=col_min[c0:c1])
        if metric == "meanmin":
            acc += RM.sum(axis=0)
        elif metric == "minmin":
            np.minimum(acc, RM.min(axis=0), out=acc)
        elif metric == "hausdorff":
            np.maximum(acc, RM.max(axis=0), out=acc)
    if metric == "meanmin":
        return acc / n
    if metric == "meanmean":
        return acc / (n * np.diff(p_offsets))
    if metric == "hausdorff":
        return np.maximum(acc, np.maximum.reduceat(col_min, starts))
    return acc


def _big_column(X, offsets, chunks, c_start, c_stop, dist, metric, chunk_size, out) -> None:
    """Dissimilarities of the bags in ``chunks`` (whole-bag ranges) to one large prototype.

    The prototype's instances ``c_start:c_stop`` go in pieces; each row keeps its
    nearest distance over the pieces (a running minimum) and, for Hausdorff, each bag
    its largest nearest-row distance over the prototype's instances (a running
    maximum). Writes ``out[b]`` for the bags ``b`` of ``chunks``.
    """
    n_p = c_stop - c_start
    for b0, b1 in chunks:
        s, e = offsets[b0], offsets[b1]
        seg = offsets[b0:b1] - s
        near = np.full(e - s, np.inf)
        acc = np.zeros(e - s) if metric == "meanmean" else None
        far = np.zeros(b1 - b0) if metric == "hausdorff" else None
        for c0 in range(c_start, c_stop, chunk_size):
            D = dist(X[s:e], c0, min(c0 + chunk_size, c_stop))
            if acc is not None:
                acc += D.sum(axis=1)
                continue
            np.minimum(near, D.min(axis=1), out=near)
            if far is not None:
                np.maximum(far, np.minimum.reduceat(D, seg, axis=0).max(axis=1), out=far)
        sizes = np.diff(offsets[b0:b1 + 1])
        if metric == "meanmean":
            out[b0:b1] = np.add.reduceat(acc, seg) / (sizes * n_p)
        elif metric == "meanmin":
            out[b0:b1] = np.add.reduceat(near, seg) / sizes
        elif metric == "minmin":
            out[b0:b1] = np.minimum.reduceat(near, seg)
        else:
            out[b0:b1] = np.maximum(np.maximum.reduceat(near, seg), far)


class BagDissimilarity(BaseMILTransformer):
    """Represent each bag by its dissimilarities to the training bags (the MInD embedding).

    Cheplygina, Tax & Loog, "Multiple instance learning with bag dissimilarities",
    Pattern Recognition 48(1), 2015. Every training bag is a prototype; a bag ``B``
    becomes the vector ``(d(B, R_1), ..., d(B, R_m))`` of its bag dissimilarities to the
    ``m`` training bags, on which any vector classifier can be trained. The bag
    dissimilarity is built from instance distances (the paper's point-set distances);
    ``"meanmin"``, the paper's recommended default as recalled (its text was not
    available to check), averages over the instances of ``B`` the distance to the
    nearest instance of the prototype. No MIL assumption is
    made: the classifier learns which prototypes matter.

    Parameters
    ----------
    metric : {"meanmin", "minmin", "meanmean", "hausdorff"}, default="meanmin"
        The bag dissimilarity ``d(A, R)`` between a bag ``A`` and a prototype ``R``,
        from the instance distance ``d(a, r)``:

        - ``"meanmin"``: ``mean_{a in A} min_{r in R} d(a, r)`` (asymmetric, as in the
          paper: the mean runs over the represented bag);
        - ``"minmin"``: ``min_{a in A} min_{r in R} d(a, r)``;
        - ``"meanmean"``: ``mean_{a in A} mean_{r in R} d(a, r)``;
        - ``"hausdorff"``: ``max(max_a min_r d(a, r), max_r min_a d(r, a))``.
    squared : bool, default=True
        The instance distance ``d``: squared Euclidean (True, the paper's as recalled) or
        Euclidean (False).
    chunk_size : int, default=2048
        Instances per side of one block of instance distances (memory, not results):
        the largest temporary is ``chunk_size**2`` doubles unless a single bag is larger.

    Attributes
    ----------
    prototypes_ : ndarray of shape (n_prototype_instances, n_features)
        The training instances, bag after bag in skmil's canonical order of the
        training bags (which does not depend on the order they were given in).
    prototype_offsets_ : ndarray of shape (n_prototypes + 1,)
        Prototype ``j`` is ``prototypes_[prototype_offsets_[j]:prototype_offsets_[j + 1]]``.
    prototype_bag_ : ndarray of shape (n_prototypes,)
        The index of each prototype (output column) in the bags given to ``fit``.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from skmil.embedding.mind import BagDissimilarity
    >>> bags = [np.array([[0.0], [2.0]]), np.array([[1.0]])]
    >>> BagDissimilarity(metric="minmin").fit_transform(bags)
    array([[0., 1.],
           [1., 0.]])
    """

    _parameter_constraints: dict = {
        "metric": [StrOptions(set(METRICS))],
        "squared": ["boolean"],
        "chunk_size": CHUNK_SIZE,
    }

    def __init__(self, *, metric: str = "meanmin", squared: bool = True,
                 chunk_size: int = DEFAULT_DISSIMILARITY_CHUNK) -> None:
        self.metric = metric
        self.squared = squared
        self.chunk_size = chunk_size

    def _fit(self, bags: Bags, y) -> None:
        # canonical order: the columns do not depend on the order of the training bags
        self.prototypes_ = bags.instances.copy()
        self.prototype_offsets_ = bags.offsets.copy()
        self.prototype_bag_ = np.asarray(self._train_order, dtype=np.int64).copy()

    @property
    def _n_features_out(self) -> int:
        return int(self.prototype_offsets_.shape[0] - 1)

    def _transform(self, bags: Bags) -> np.ndarray:
        return bag_dissimilarities(
            bags.instances, bags.offsets, self.prototypes_, self.prototype_offsets_,
            metric=self.metric, squared=bool(self.squared), chunk_size=self.chunk_size,
        )

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output names ``prototype{j}``: the dissimilarity to training bag ``prototype_bag_[j]``.

        Parameters
        ----------
        input_features : array-like of str, optional
            Unused.

        Returns
        -------
        names : ndarray of str
            One name per output column, in column order.
        """
        check_is_fitted(self)
        return np.asarray([f"prototype{j}" for j in self.prototype_bag_], dtype=object)


class MInD(EmbeddingClassifier):
    """MInD: bag dissimilarities to the training bags followed by a linear classifier.

    Cheplygina, Tax & Loog, "Multiple instance learning with bag dissimilarities",
    Pattern Recognition 48(1), 2015. Each bag is represented by
    :class:`BagDissimilarity` (its dissimilarities to every training bag, ``"meanmin"``
    by default), the representation is standardised, and a linear classifier is
    trained on it, as the paper does with a linear SVM. The method makes no
    assumption about instance labels: a bag is classified by how close it lies to the
    training bags of each class (a collective, bag-level view).

    Parameters
    ----------
    metric : {"meanmin", "minmin", "meanmean", "hausdorff"}, default="meanmin"
        The bag dissimilarity; see :class:`BagDissimilarity`.
    squared : bool, default=True
        Squared Euclidean (True) or Euclidean instance distances.
    chunk_size : int, default=2048
        Instances per side of one block of instance distances (memory, not results).
    C : float or "cv", default=1.0
        ``C`` of the default ``LinearSVC`` (scikit-learn's default value); ``"cv"``
        chooses it from ``(0.1, 1, 10, 100, 1000)`` by skmil's inner cross-validation.
        Ignored when ``estimator`` is given.
    estimator : sklearn classifier, default=None
        The classifier on the dissimilarity representation; ``None`` means
        ``LinearSVC(C=C)``. Cloned, never modified.
    standardize : bool, default=True
        Standardise every dissimilarity column (statistics of the training bags) before
        the classifier, so that ``C`` does not depend on the scale of the features.
    random_state : int, RandomState instance or None, default=None
        Seeds ``LinearSVC`` and shuffles the inner folds of ``C="cv"``.

    Attributes
    ----------
    encoder_ : BagDissimilarity
        The fitted dissimilarity representation.
    scaler_ : StandardScaler or None
    estimator_ : classifier
        The fitted classifier.
    C_ : float or None
        The ``C`` used by the default classifier (None with a given ``estimator``).
    cv_results_ : dict
        Only with ``C="cv"``: the inner CV in ``GridSearchCV``'s format.
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.embedding.mind import MInD
    >>> bags, y, _ = make_mil_classification(n_bags=60, random_state=0)
    >>> MInD().fit(bags, y).score(bags, y) > 0.8
    True
    """

    _encoder = BagDissimilarity
    _model_constraints: dict = {
        **EmbeddingClassifier._model_constraints,
        "standardize": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        metric: str = "meanmin",
        squared: bool = True,
        chunk_size: int = DEFAULT_DISSIMILARITY_CHUNK,
        C: Any = 1.0,
        estimator: Any = None,
        standardize: bool = True,
        random_state: Any = None,
    ) -> None:
        self.metric = metric
        self.squared = squared
        self.chunk_size = chunk_size
        self.C = C
        self.estimator = estimator
        self.standardize = standardize
        self.random_state = random_state

    _default_estimator = linear_svc

    @available_if(EmbeddingClassifier._has_proba)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Bag probabilities from the classifier's ``predict_proba``.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            The bags.

        Returns
        -------
        proba : ndarray of shape (n_bags, n_classes)
            Probabilities of the classes, in the order of ``classes_``.
        """
        return self._proba(X)
