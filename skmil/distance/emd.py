"""EMD-SVM: an SVM on the earth mover's distance between bags (Zhang et al., IJCV 2007)."""

from __future__ import annotations

import warnings
from numbers import Real
from typing import Any

import numpy as np
from sklearn.svm import SVC

from .._kernels.emd import emd_pairs
from ..bags import Bags, check_bags
from ..base import BaseMILClassifier

__all__ = ["EMDSVM", "emd_matrix"]

_METRICS = ("euclidean", "sqeuclidean")
_PSD_FIXES = ("none", "clip", "shift")


def _bag_weights(bags: Bags, weights: Any, name: str) -> tuple[np.ndarray, bool]:
    """Per-instance weights normalised to sum 1 within each bag; (w, uniform?)."""
    sizes = bags.sizes
    if weights is None:
        return np.repeat(1.0 / sizes, sizes), True
    if len(weights) != bags.n_bags:
        raise ValueError(
            f"{name} has {len(weights)} entries but there are {bags.n_bags} bags; pass one "
            "1-D weight array per bag."
        )
    out = np.empty(bags.n_instances)
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
    return out, False


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
    the assignment problem when both bags have the same size and uniform weights.

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
                     uniform=ux and uy, n_jobs=n_jobs)
    return vals.reshape(bx.n_bags, by.n_bags)


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


class EMDSVM(BaseMILClassifier):
    """SVM with the earth-mover's-distance kernel between bags (EMD-SVM).

    Every bag is a uniform distribution over its instances; two bags are compared by
    the earth mover's distance with a Euclidean ground distance, and the kernel
    ``K = exp(-EMD / A)`` with ``A`` the mean EMD between training bags feeds
    ``SVC(kernel="precomputed")`` (Zhang, Marszałek, Lazebnik & Schmid, IJCV 2007).

    Parameters
    ----------
    C : float, default=10.0
        SVC regularisation. The kernel lies in (0, 1] and is fairly flat around
        ``exp(-1)``, so libsvm's C=1 underfits; 10 is the value used for the same kind of
        bounded bag kernel by the reference mi-Graph code (see :class:`skmil.graph.MIGraph`).
    A : "mean" or float, default="mean"
        Kernel scale; ``"mean"`` is the mean EMD over training bag pairs (the paper).
    ground_metric : {"euclidean", "sqeuclidean"}, default="euclidean"
        Ground distance between instances.
    psd_fix : {"none", "clip", "shift"}, default="none"
        Repair of the (possibly indefinite) training Gram matrix: eigenvalue clipping,
        or a diagonal shift by the most negative eigenvalue. With ``"none"`` a
        ``UserWarning`` reports an indefinite kernel.
    class_weight : dict or "balanced", default=None
        Passed to SVC.
    n_jobs : int, default=None
        Threads solving EMD bag pairs in parallel.

    Attributes
    ----------
    svc_ : SVC
        Fitted SVM on the precomputed kernel.
    A_ : float
        The kernel scale used.
    min_eigenvalue_ : float
        Smallest eigenvalue of the training Gram matrix before any repair.
    classes_ : ndarray of shape (2,)
    n_features_in_ : int

    Notes
    -----
    EMD is not negative definite, so ``exp(-EMD/A)`` can be indefinite
    (see "On the definiteness of earth mover's distance", arXiv:1510.02833). Training
    costs B(B-1)/2 exact transport problems, each roughly cubic in the bag size; a
    prediction costs B_test x B_train more. The training bags are stored.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.distance import EMDSVM
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> clf = EMDSVM().fit(bags, y)
    >>> clf.predict(bags[:3]).shape
    (3,)
    """

    def __init__(
        self,
        C: float = 10.0,
        *,
        A: Any = "mean",
        ground_metric: str = "euclidean",
        psd_fix: str = "none",
        class_weight: Any = None,
        n_jobs: int | None = None,
    ) -> None:
        self.C = C
        self.A = A
        self.ground_metric = ground_metric
        self.psd_fix = psd_fix
        self.class_weight = class_weight
        self.n_jobs = n_jobs

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        if self.ground_metric not in _METRICS:
            raise ValueError(
                f"ground_metric must be one of {_METRICS}, got {self.ground_metric!r}."
            )
        if self.psd_fix not in _PSD_FIXES:
            raise ValueError(f"psd_fix must be one of {_PSD_FIXES}, got {self.psd_fix!r}.")
        if not (self.A == "mean" or (isinstance(self.A, Real) and self.A > 0)):
            raise ValueError(f"A must be 'mean' or a positive float, got {self.A!r}.")
        self.train_bags_ = Bags(bags.instances.copy(), bags.offsets.copy())
        D = emd_matrix(self.train_bags_, metric=self.ground_metric, n_jobs=self.n_jobs)
        if self.A == "mean":
            iu = np.triu_indices(bags.n_bags, 1)
            A = float(D[iu].mean()) if iu[0].size else 1.0
            A = A if A > 0 else 1.0
        else:
            A = float(self.A)
        self.A_ = A
        K, self.min_eigenvalue_ = _psd_repair(np.exp(-D / A), self.psd_fix)
        self.svc_ = SVC(kernel="precomputed", C=self.C, class_weight=self.class_weight)
        self.svc_.fit(K, y)

    def _decision_function(self, bags: Bags) -> np.ndarray:
        D = emd_matrix(bags, self.train_bags_, metric=self.ground_metric, n_jobs=self.n_jobs)
        return self.svc_.decision_function(np.exp(-D / self.A_))
