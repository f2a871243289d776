"""EMD-SVM: an SVM on the earth mover's distance between bags (Zhang et al., IJCV 2007)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from .._kernels.emd import emd_pairs
from .._kernels.signatures import canonical_order, kmeans_signatures
from ..bags import Bags, check_bags
from ..svm._bag_kernel import BagKernelSVM
from ..svm._common import CLASS_WEIGHT_CONSTRAINT
from ..utils._param_validation import Interval, StrOptions

__all__ = ["EMDSVM", "emd_matrix"]

_METRICS = ("euclidean", "sqeuclidean")
_PSD_FIXES = ("none", "clip", "shift")
_SIGNATURES = ("uniform", "kmeans")
#: Lloyd iterations per bag; small bags converge in a handful.
_KMEANS_MAX_ITER = 100


def _bag_weights(bags: Bags, weights: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-instance weights normalised to sum 1 within each bag, and per bag whether
    they are all equal (such bag pairs of equal size are assignment problems)."""
    sizes = bags.sizes
    if weights is None:
        return np.repeat(1.0 / sizes, sizes), np.ones(bags.n_bags, dtype=bool)
    if len(weights) != bags.n_bags:
        raise ValueError(
            f"{name} has {len(weights)} entries but there are {bags.n_bags} bags; pass one "
            "1-D weight array per bag."
        )
    out = np.empty(bags.n_instances)
    uniform = np.empty(bags.n_bags, dtype=bool)
    for i, w in enumerate(weights):
        w = np.asarray(w, dtype=np.float64).ravel()
        if w.shape[0] != sizes[i]:
            raise ValueError(
                f"{name}[{i}] has {w.shape[0]} weights but bag {i} has {sizes[i]} instances."
            )
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(
                f"{name}[{i}] must be finite, non-negative and not all zero."
            )
        out[bags.offsets[i]:bags.offsets[i + 1]] = w / w.sum()
        uniform[i] = bool(np.all(w == w[0]))
    return out, uniform


def emd_matrix(
    X: Any,
    Y: Any = None,
    *,
    weights: Any = None,
    weights_y: Any = None,
    metric: str = "euclidean",
    n_jobs: int | None = None,
) -> np.ndarray:
    """Earth mover's distance between every pair of bags.

    Each bag is a discrete distribution over its instances (uniform weights unless
    ``weights`` are given; weights are normalised to sum 1 per bag, so the EMD is the
    balanced optimal-transport cost). Solved exactly by POT's network simplex, or by
    the assignment problem when both bags have the same size and each has equal
    weights.

    Parameters
    ----------
    X : sequence of array-like of shape (n_instances_i, n_features)
        Bags.
    Y : sequence of array-like, optional
        Second set of bags; default ``X`` (then only the upper triangle is solved).
    weights, weights_y : sequence of 1-D array-like, optional
        Non-negative instance weights, one array per bag of ``X`` / ``Y``.
    metric : {"euclidean", "sqeuclidean"}, default="euclidean"
        Ground distance between instances.
    n_jobs : int, optional
        Threads solving bag pairs in parallel (POT's solver releases the GIL).

    Returns
    -------
    D : ndarray of shape (n_bags_X, n_bags_Y)
        Earth mover's distance between each bag of ``X`` and each bag of ``Y``.

    Examples
    --------
    >>> import numpy as np
    >>> from skmil.distance import emd_matrix
    >>> bags = [np.array([[0.0], [1.0]]), np.array([[0.0], [3.0]])]
    >>> emd_matrix(bags)
    array([[0., 1.],
           [1., 0.]])
    """
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {_METRICS}, got {metric!r}.")
    bx = check_bags(X)
    wx, ux = _bag_weights(bx, weights, "weights")
    if Y is None:
        if weights_y is not None:
            raise ValueError("weights_y is given but Y is None; pass Y too.")
        iu, ju = np.triu_indices(bx.n_bags, 1)
        vals = emd_pairs(bx.instances, bx.offsets, wx, bx.instances, bx.offsets, wx,
                         np.column_stack([iu, ju]), metric=metric, uniform=ux, n_jobs=n_jobs)
        D = np.zeros((bx.n_bags, bx.n_bags))
        D[iu, ju] = vals
        D[ju, iu] = vals
        return D
    by = check_bags(Y, n_features=bx.n_features, estimator_name="emd_matrix(X)")
    wy, uy = _bag_weights(by, weights_y, "weights_y")
    ii, jj = np.meshgrid(np.arange(bx.n_bags), np.arange(by.n_bags), indexing="ij")
    vals = emd_pairs(bx.instances, bx.offsets, wx, by.instances, by.offsets, wy,
                     np.column_stack([ii.ravel(), jj.ravel()]), metric=metric,
                     uniform=ux, uniform_y=uy, n_jobs=n_jobs)
    return vals.reshape(bx.n_bags, by.n_bags)


def _kmeans_bag_signatures(bags: Bags, k: int, seed: int) -> tuple[Bags, np.ndarray]:
    """k-means signature of every bag: (centres as Bags, flat weights summing 1 per bag)."""
    X = bags.instances
    order = canonical_order(X, bags.offsets)
    m = np.minimum(bags.sizes, k)
    sig_offsets = np.concatenate([[0], np.cumsum(m)]).astype(np.int64)
    centres = np.empty((sig_offsets[-1], X.shape[1]))
    counts = np.empty(sig_offsets[-1])
    kmeans_signatures(X, bags.offsets, order, int(k), np.uint64(seed),
                      _KMEANS_MAX_ITER, centres, counts, sig_offsets)
    keep = counts > 0
    if not keep.all():  # fewer distinct instances than k in some bag
        per_bag = np.add.reduceat(keep.astype(np.int64), sig_offsets[:-1])
        sig_offsets = np.concatenate([[0], np.cumsum(per_bag)]).astype(np.int64)
        centres, counts = centres[keep], counts[keep]
    # cluster counts of a bag sum to its size: the weight is the cluster's fraction
    weights = counts / np.repeat(bags.sizes.astype(np.float64), np.diff(sig_offsets))
    return Bags(np.ascontiguousarray(centres), sig_offsets), weights


def _callable_signatures(
    bags: Bags, func: Callable, n_dims: int | None, names: np.ndarray | None = None
) -> tuple[Bags, np.ndarray]:
    """Apply a user signature function to every bag and validate what it returns.

    Errors name bag ``names[k]`` for the ``k``-th bag (default ``k``): the user's
    numbering of bags that ``fit`` sees in canonical order.
    """
    points, weights = [], []
    for k in range(bags.n_bags):
        i = k if names is None else int(names[k])
        bag = bags[k].view()
        bag.flags.writeable = False  # the user function must not edit the data
        out = func(bag)
        if not (isinstance(out, tuple | list) and len(out) == 2):
            raise TypeError(
                f"signature(bag) must return a tuple (points, weights); for bag {i} it "
                f"returned {type(out).__name__}."
            )
        p = np.asarray(out[0], dtype=np.float64)
        w = np.asarray(out[1], dtype=np.float64)
        if p.ndim != 2 or p.shape[0] == 0:
            raise ValueError(
                f"signature(bag) returned points of shape {p.shape} for bag {i}; expected "
                "a non-empty 2-D array (n_points, n_dims)."
            )
        if n_dims is None:
            n_dims = p.shape[1]
        if p.shape[1] != n_dims:
            raise ValueError(
                f"signature(bag) returned {p.shape[1]}-dimensional points for bag {i} but "
                f"{n_dims}-dimensional points for the first training bag; every signature "
                "must live in the same space."
            )
        if w.ndim != 1 or w.shape[0] != p.shape[0]:
            raise ValueError(
                f"signature(bag) returned weights of shape {w.shape} for bag {i}; expected "
                f"one weight per point, shape ({p.shape[0]},)."
            )
        if not np.all(np.isfinite(p)):
            raise ValueError(f"signature(bag) returned non-finite points for bag {i}.")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(
                f"signature(bag) returned invalid weights for bag {i}; weights must be "
                "finite, non-negative and not all zero."
            )
        points.append(p)
        weights.append(w / w.sum())
    sizes = np.array([p.shape[0] for p in points], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return Bags(np.ascontiguousarray(np.vstack(points)), offsets), np.concatenate(weights)


def _psd_repair(K: np.ndarray, how: str) -> tuple[np.ndarray, float]:
    evals, evecs = np.linalg.eigh(K)
    lam_min, lam_max = float(evals[0]), float(evals[-1])
    if lam_min < -1e-8 * max(lam_max, 1e-300):
        if how == "none":
            warnings.warn(
                f"The training EMD kernel is indefinite (smallest eigenvalue {lam_min:.3g}, "
                f"largest {lam_max:.3g}); libsvm still solves it but without convexity "
                "guarantees. Set psd_fix='clip' or 'shift' to repair it.",
                UserWarning, stacklevel=4,
            )
        elif how == "clip":
            K = (evecs * np.maximum(evals, 0.0)) @ evecs.T
            K = (K + K.T) / 2
        else:
            K = K + (-lam_min) * np.eye(K.shape[0])
    return K, lam_min


class EMDSVM(BagKernelSVM):
    """SVM with the earth-mover's-distance kernel between bags (EMD-SVM).

    Every bag is turned into a *signature*, a discrete distribution ``{(p_a, u_a)}``
    (by default: its instances, each with weight ``1 / n_i``); two bags are compared
    by the earth mover's distance between their signatures with a Euclidean ground
    distance, and the kernel ``K = exp(-gamma * EMD)`` with ``gamma`` one over the mean
    EMD between training bags feeds a C-SVM on the precomputed kernel (Zhang,
    Marszałek, Lazebnik & Schmid, IJCV 2007, whose ``A`` is ``1 / gamma``).

    Parameters
    ----------
    C : float or "cv", default=10.0
        SVC regularisation. The kernel lies in (0, 1] and is fairly flat around
        ``exp(-1)``, so libsvm's C=1 underfits; 10 is the value used for the same kind of
        bounded bag kernel by the reference mi-Graph code (see :class:`skmil.graph.MIGraph`).
        ``"cv"`` picks it from (0.1, 1, 10, 100, 1000) by skmil's inner 5-fold CV on
        slices of the training Gram matrix.
    gamma : "mean" or float, default="mean"
        Kernel coefficient of ``exp(-gamma * EMD)`` (EMD, not its square);
        ``"mean"`` is one over the mean EMD over training bag pairs (the paper's
        ``A`` = mean EMD).
    ground_metric : {"euclidean", "sqeuclidean"}, default="euclidean"
        Ground distance between instances.
    psd_fix : {"none", "clip", "shift"}, default="none"
        Repair of the (possibly indefinite) training Gram matrix: eigenvalue clipping,
        or a diagonal shift by the most negative eigenvalue. With ``"none"`` a
        ``UserWarning`` reports an indefinite kernel.
    signature : {"uniform", "kmeans"} or callable, default="uniform"
        How a bag becomes a distribution.

        - ``"uniform"``: the instances, each weighted ``1 / n_i`` (the MIL reading of
          a bag; nothing is approximated). The EMD of bags of ``n_i`` and ``n_j``
          instances needs their ``n_i x n_j`` ground-cost matrix; a pair above 1 GiB
          of it is refused with a message (``"kmeans"`` bounds the signatures' sizes).
        - ``"kmeans"``: the paper's image signature. The bag's instances are clustered
          by k-means into ``k = min(n_clusters, n_i)`` clusters; the signature is the
          cluster centres, each weighted by the fraction of the bag's instances in its
          cluster. Bags with at most ``n_clusters`` instances keep their instances
          exactly (as ``"uniform"``); larger bags shrink to ``k`` points, so their
          transport problems shrink from ``n_i x n_j`` to at most ``k x k``. Clustering
          uses k-means++ seeding and Lloyd iterations, in a canonical instance order and
          with random numbers seeded by ``random_state`` and the bag's content, so a
          bag's signature does not depend on instance order or on the other bags. Test
          bags get the same transformation at prediction time.
        - a callable ``signature(bag) -> (points, weights)``: ``bag`` is a read-only
          ``(n_i, n_features)`` array; ``points`` is ``(m, n_dims)`` with ``m >= 1``
          and the same ``n_dims`` for every bag, ``weights`` is ``(m,)``,
          non-negative and not all zero (normalised to sum 1). Applied to training
          and test bags alike.
    n_clusters : int, default=10
        Largest signature size for ``signature="kmeans"``. Zhang et al. compress an
        image's many local features into a fixed, much smaller number of clusters;
        MIL bags are small, and 10 lies at the upper end of the typical bag sizes of
        the classic drug and image sets (medians 4-7 on MUSK1, FOX, TIGER, ELEPHANT;
        12 on MUSK2), so typical bags are kept exactly and only the large ones (MUSK2
        has bags of up to 1044 instances) are compressed. Ignored by the other
        signatures.
    class_weight : dict, "balanced" or None, default=None
        Multipliers of ``C`` per class (dict keyed by bag label), as in SVC.
    n_jobs : int, default=None
        Threads solving EMD bag pairs in parallel (scikit-learn's meaning).
    random_state : int, RandomState instance or None, default=None
        Seeds the k-means signatures (``signature="kmeans"``) and shuffles the inner-CV
        folds of ``C="cv"``; pass an int for reproducible results.

    Attributes
    ----------
    support_ : ndarray of shape (n_support_bags,)
        Indices of the support bags among the training bags (as given to ``fit``).
    support_bags_ : Bags
        The support bags.
    dual_coef_ : ndarray of shape (n_support_bags,) or (n_classes - 1, n_support_bags)
        ``y_i alpha_i`` of the support bags (positive for ``classes_[1]``); with
        K >= 3 classes, libsvm's one-vs-one coefficients.
    intercept_ : float or ndarray of shape (n_classes * (n_classes - 1) / 2,)
    C_ : float
        The C used.
    gamma_ : float
        The kernel coefficient used.
    cv_results_ : dict
        The inner CV of ``C="cv"`` (GridSearchCV's format); only after a search.
    min_eigenvalue_ : float
        Smallest eigenvalue of the training Gram matrix before any repair.
    support_signatures_ : Bags
        Signature points of the support bags, one "bag" of points per support bag
        (``"kmeans"`` or a callable only).
    support_signature_weights_ : ndarray of shape (n_signature_points,)
        Their weights, summing to 1 within each support bag.
    signature_seed_ : int
        Seed drawn from ``random_state`` at fit time; test bags' k-means signatures
        reuse it.
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int

    Notes
    -----
    EMD is not negative definite, so ``exp(-gamma * EMD)`` can be indefinite
    (see "On the definiteness of earth mover's distance", arXiv:1510.02833). Training
    costs B(B-1)/2 exact transport problems, each roughly cubic in the signature size
    (the bag size, or at most ``n_clusters`` with ``"kmeans"``); a prediction costs
    B_test x B_support more.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.distance import EMDSVM
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> clf = EMDSVM().fit(bags, y)
    >>> clf.predict(bags[:3]).shape
    (3,)

    The paper's k-means signatures, and a user-defined signature (here: each bag's
    distinct instances, weighted by how often they occur):

    >>> km = EMDSVM(signature="kmeans", n_clusters=3, random_state=0)
    >>> int(km.fit(bags, y).support_signatures_.sizes.max())
    3
    >>> import numpy as np
    >>> def distinct(bag):
    ...     points, counts = np.unique(bag, axis=0, return_counts=True)
    ...     return points, counts
    >>> EMDSVM(signature=distinct).fit(bags, y).predict(bags[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        "C": [Interval(Real, 0, None, closed="neither"), StrOptions({"cv"})],
        "gamma": [Interval(Real, 0, None, closed="neither"), StrOptions({"mean"})],
        "ground_metric": [StrOptions(set(_METRICS))],
        "psd_fix": [StrOptions(set(_PSD_FIXES))],
        "signature": [StrOptions(set(_SIGNATURES)), callable],
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "class_weight": CLASS_WEIGHT_CONSTRAINT,
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        C: Any = 10.0,
        gamma: Any = "mean",
        ground_metric: str = "euclidean",
        psd_fix: str = "none",
        signature: str | Callable = "uniform",
        n_clusters: int = 10,
        class_weight: Any = None,
        n_jobs: int | None = None,
        random_state: Any = None,
    ) -> None:
        self.C = C
        self.gamma = gamma
        self.ground_metric = ground_metric
        self.psd_fix = psd_fix
        self.signature = signature
        self.n_clusters = n_clusters
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _signatures(self, bags: Bags, n_dims: int | None,
                    names: np.ndarray | None = None) -> tuple[Bags, np.ndarray | None]:
        """The bags as signatures: (points, flat weights, or None for uniform)."""
        if isinstance(self.signature, str) and self.signature == "uniform":
            return bags, None
        if callable(self.signature):
            return _callable_signatures(bags, self.signature, n_dims, names)
        return _kmeans_bag_signatures(bags, self.n_clusters, self.signature_seed_)

    def _train_gram(self, bags: Bags):
        for attr in ("support_signatures_", "support_signature_weights_"):
            self.__dict__.pop(attr, None)  # a refit must not see the previous fit's state
        # drawn even for "uniform" so that the fitted state does not depend on the mode
        self.signature_seed_ = int(check_random_state(self.random_state).randint(2**31 - 1))
        sig, w = self._signatures(bags, None, self._train_order)
        self._train_signatures = (sig, w)
        D = emd_matrix(sig, weights=None if w is None else sig.split(w),
                       metric=self.ground_metric, n_jobs=self.n_jobs)
        if self.gamma == "mean":
            iu = np.triu_indices(bags.n_bags, 1)
            mean = float(D[iu].mean()) if iu[0].size else 1.0
            self.gamma_ = 1.0 / mean if mean > 0 else 1.0
        else:
            self.gamma_ = float(self.gamma)
        K, self.min_eigenvalue_ = _psd_repair(np.exp(-self.gamma_ * D), self.psd_fix)
        return K, None

    def _prepare_support(self, rows: np.ndarray) -> None:
        sig, w = self.__dict__.pop("_train_signatures")
        if w is None:
            return
        # the support bags' signatures, sliced from the training ones (a signature
        # depends on its bag alone)
        self.support_signatures_ = sig.take(rows)
        self.support_signature_weights_ = np.concatenate([sig.split(w)[i] for i in rows])

    def _cross_gram(self, bags: Bags) -> np.ndarray:
        if "support_signatures_" not in self.__dict__:
            D = emd_matrix(bags, self.support_bags_, metric=self.ground_metric,
                           n_jobs=self.n_jobs)
        else:
            tsig = self.support_signatures_
            sig, w = self._signatures(bags, tsig.n_features)
            D = emd_matrix(sig, tsig, weights=sig.split(w),
                           weights_y=tsig.split(self.support_signature_weights_),
                           metric=self.ground_metric, n_jobs=self.n_jobs)
        return np.exp(-self.gamma_ * D)
