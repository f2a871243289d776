"""skmil's one inner cross-validation engine (private).

Every value an estimator chooses by inner CV (``C="cv"``, ``gamma="cv"``,
``threshold="auto"``, ...) is chosen here, the same way:

* **Folds** (:func:`inner_cv_splits`): stratified ``INNER_CV_SPLITS``-fold splits of the
  training bags, fewer when a class has fewer bags. The bags are first put in a
  canonical order (by label, then by a hash of their contents), so the folds, and hence
  the model, do not depend on the order in which the training bags were given; an
  integer ``random_state`` additionally shuffles them, a ``None`` keeps the canonical
  folds.
  A regressor's folds (:func:`inner_regression_splits`) are plain ``KFold`` splits of
  the same canonical order.
* **Scorer**: bag accuracy of ``predict`` on each held-out fold, averaged over folds; a
  regressor's is the negative mean squared error of ``predict`` (scikit-learn's
  ``"neg_mean_squared_error"``), defined on every fold, even one whose targets are all
  equal (where R^2 is not).
* **Choice**: the candidate with the best mean accuracy; ties go to the earliest
  candidate in the grid (grids are ordered from the simplest model).
* **Report**: ``cv_results_`` in :class:`~sklearn.model_selection.GridSearchCV`'s format
  (:func:`cv_results`).

Candidates are either full fits of clones of the estimator (:func:`search_refit`) or, for
the bag-kernel SVMs whose Gram matrix does not depend on the candidate, SVC fits on
slices of one matrix (``skmil.svm._bag_kernel``); both use the same folds and
:func:`cv_results`. Test bags of an outer evaluation are never seen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import rankdata
from sklearn.base import clone
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.utils import check_random_state

from .bags import Bags

__all__ = [
    "C_GRID",
    "INNER_CV_SPLITS",
    "canonical_order",
    "cv_results",
    "fold_bags",
    "inner_cv_splits",
    "inner_regression_splits",
    "best_index",
    "pairwise_bags",
    "search_refit",
]

#: Folds of every inner cross-validation (scikit-learn's default ``cv=5``).
INNER_CV_SPLITS = 5
#: Candidate values of ``C="cv"``, smallest (most regularised) first.
C_GRID = (0.1, 1.0, 10.0, 100.0, 1000.0)


def pairwise_bags(estimator: Any) -> bool:
    """Whether ``estimator`` takes bags of precomputed instance-kernel rows."""
    return bool(getattr(estimator, "_pairwise_bags", False))


def fold_bags(bags: Bags, train: np.ndarray, test: np.ndarray,
              pairwise: bool) -> tuple[Bags, Bags]:
    """The training and test bags of one split.

    With ``pairwise`` (bags of instance-kernel rows) both keep only the kernel columns
    of the training instances (:meth:`Bags.take_pairwise`), as a fit on the training
    bags alone would see them.
    """
    if pairwise:
        return bags.take_pairwise(train, train), bags.take_pairwise(test, train)
    return bags.take(train), bags.take(test)


def canonical_order(bags: Bags, y: np.ndarray, pairwise: bool = False,
                    keys: np.ndarray | None = None) -> np.ndarray:
    """A permutation of the bags that does not depend on the order they were given in.

    Bags are sorted by a 64-bit hash of their size and instance bytes, then by label
    (ties only between identical bags, whose order does not matter). The hash order is
    unrelated to the labels and the features, so it interleaves the classes like a
    random permutation would.

    Parameters
    ----------
    bags : Bags
        Training bags.
    y : ndarray of shape (n_bags,)
        Their labels.
    pairwise : bool, default=False
        The bags hold rows of a square instance kernel over themselves; each bag is then
        keyed by its own block of the kernel, which does not change when other bags are
        reordered (its full rows do).
    keys : ndarray of uint64 of shape (n_bags,), optional
        The bags' :func:`bag_hash_keys`, when the caller has them already.

    Returns
    -------
    order : ndarray of int64 of shape (n_bags,)
    """
    if keys is None:
        keys = bag_hash_keys(bags, pairwise)
    labels = np.unique(np.asarray(y), return_inverse=True)[1].ravel()
    return np.lexsort((labels, keys)).astype(np.int64)


def bag_hash_keys(bags: Bags, pairwise: bool = False) -> np.ndarray:
    """The 64-bit hash of every bag's size and instance bytes (:func:`canonical_order`).

    Keys carried by ``bags`` (a private copy made while fitting, see
    :meth:`Bags.take`) are returned without hashing again.
    """
    carried = getattr(bags, "_hash_keys", None)
    if not pairwise and carried is not None:
        return carried
    X = np.ascontiguousarray(bags.instances)
    offsets = bags.offsets
    keys = np.empty(bags.n_bags, dtype=np.uint64)
    for i in range(bags.n_bags):
        rows = X[offsets[i]:offsets[i + 1]]
        if pairwise:
            rows = np.ascontiguousarray(rows[:, offsets[i]:offsets[i + 1]])
        h = hashlib.blake2b(rows.tobytes(), digest_size=8,
                            person=int(offsets[i + 1] - offsets[i]).to_bytes(8, "little"))
        keys[i] = int.from_bytes(h.digest(), "little")
    return keys


def _splitter(cls, k: int, random_state: Any):
    """``cls(n_splits=k)`` over the canonical order, shuffled when ``random_state`` is set."""
    if random_state is None:
        return cls(n_splits=k)
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    return cls(n_splits=k, shuffle=True, random_state=seed)


def inner_cv_splits(
    bags: Bags, y: np.ndarray, random_state: Any = None, n_splits: int = INNER_CV_SPLITS
) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """The inner folds of every skmil inner CV.

    Parameters
    ----------
    bags : Bags
        Training bags.
    y : ndarray of shape (n_bags,)
        Their labels (any two values).
    random_state : int, RandomState instance or None, default=None
        None: the folds of the canonical order, unshuffled; otherwise the canonical
        order shuffled by ``StratifiedKFold(shuffle=True)`` with this seed.
    n_splits : int, default=INNER_CV_SPLITS
        Folds, fewer when a class has fewer bags.

    Returns
    -------
    list of (train, test) or None
        Index arrays into the training bags, each in canonical order; None when a class
        has fewer than two bags (no stratified split exists).
    """
    y = np.asarray(y)
    classes, counts = np.unique(y, return_counts=True)
    k = int(min(n_splits, counts.min())) if classes.size else 0
    if classes.size < 2 or k < 2:
        return None
    order = canonical_order(bags, y)
    cv = _splitter(StratifiedKFold, k, random_state)
    return [(order[np.sort(tr)], order[np.sort(te)])
            for tr, te in cv.split(np.zeros(len(y)), y[order])]


def inner_regression_splits(
    bags: Bags, y: np.ndarray, random_state: Any = None, n_splits: int = INNER_CV_SPLITS
) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """The inner folds of a regressor's inner CV: ``KFold`` over the canonical order.

    Parameters
    ----------
    bags : Bags
        Training bags.
    y : ndarray of shape (n_bags,)
        Their real-valued targets.
    random_state : int, RandomState instance or None, default=None
        None: the folds of the canonical order, unshuffled; otherwise that order
        shuffled by ``KFold(shuffle=True)`` with this seed.
    n_splits : int, default=INNER_CV_SPLITS
        Folds, fewer when there are fewer bags.

    Returns
    -------
    list of (train, test) or None
        Index arrays into the training bags, each sorted; None with fewer than two bags.
    """
    k = int(min(n_splits, len(y)))
    if k < 2:
        return None
    order = canonical_order(bags, np.asarray(y))
    cv = _splitter(KFold, k, random_state)
    return [(np.sort(order[tr]), np.sort(order[te])) for tr, te in cv.split(order)]


def cv_results(candidates: Sequence[dict], fold_scores: np.ndarray) -> dict:
    """``cv_results_`` in :class:`~sklearn.model_selection.GridSearchCV`'s format.

    Parameters
    ----------
    candidates : sequence of dict
        Parameter settings, in grid order.
    fold_scores : ndarray of shape (n_candidates, n_splits)
        Held-out accuracy of each candidate on each fold.

    Returns
    -------
    dict
        ``params``, ``param_<name>`` (masked arrays), ``split<k>_test_score``,
        ``mean_test_score``, ``std_test_score`` and ``rank_test_score`` (1 = chosen; ties
        share the lowest rank).
    """
    fold_scores = np.asarray(fold_scores, dtype=np.float64)
    mean = fold_scores.mean(axis=1)
    results: dict[str, Any] = {"params": [dict(c) for c in candidates]}
    names = sorted({k for c in candidates for k in c})
    for name in names:
        col = np.ma.MaskedArray(np.empty(len(candidates), dtype=object),
                                mask=[name not in c for c in candidates])
        for i, c in enumerate(candidates):
            if name in c:
                col[i] = c[name]
        results[f"param_{name}"] = col
    for k in range(fold_scores.shape[1]):
        results[f"split{k}_test_score"] = fold_scores[:, k]
    results["mean_test_score"] = mean
    results["std_test_score"] = fold_scores.std(axis=1)
    # ranks by mean score (1 = best, ties share the lowest), as GridSearchCV reports them
    results["rank_test_score"] = rankdata(-np.round(mean, 12), method="min").astype(np.int32)
    return results


def best_index(results: dict) -> int:
    """The chosen candidate: best mean held-out accuracy, ties to the earliest."""
    mean = np.round(np.asarray(results["mean_test_score"]), 12)
    return int(np.flatnonzero(mean == mean.max())[0])


def search_refit(
    estimator: Any,
    bags: Bags,
    y: np.ndarray,
    candidates: Sequence[dict],
    splits: list[tuple[np.ndarray, np.ndarray]],
    instance_labels: np.ndarray | None = None,
) -> tuple[dict, np.ndarray]:
    """Score each candidate by full fits of clones on the inner folds.

    Parameters
    ----------
    estimator : MIL classifier
        Cloned for every candidate and fold; the candidate's parameters are set on the
        clone (give it fixed values, e.g. ``threshold=0.0``, for everything not searched).
    bags : Bags
        Training bags.
    y : ndarray of shape (n_bags,)
        Training labels.
    candidates : sequence of dict
        Parameter settings.
    splits : list of (train, test)
        From :func:`inner_cv_splits`.
    instance_labels : ndarray of shape (n_instances,), optional
        Known instance labels of the training bags (flat, NaN = unknown); each inner
        fit gets those of its training bags.

    Returns
    -------
    results : dict
        :func:`cv_results` of the candidates.
    decisions : ndarray of shape (n_candidates, n_bags)
        Each bag's ``decision_function`` from the candidate's model that did not see it.
    """
    y = np.asarray(y)
    decisions = np.zeros((len(candidates), y.shape[0]))
    scores = np.zeros((len(candidates), len(splits)))
    pairwise = pairwise_bags(estimator)
    per_bag = None if instance_labels is None else bags.split(instance_labels)
    for k, (tr, te) in enumerate(splits):
        train, test = fold_bags(bags, tr, te, pairwise)
        fit_params = {} if per_bag is None else {
            "instance_labels": [per_bag[i] for i in tr]}
        for g, params in enumerate(candidates):
            est = clone(estimator).set_params(**params)
            est.fit(train, y[tr], **fit_params)
            dec = est.decision_function(test)
            decisions[g, te] = dec
            # predict is decision_function > 0 by the estimator contract: no second pass
            scores[g, k] = np.mean((dec > 0) == (y[te] == est.classes_[1]))
        del train, test  # before the next fold's copies: one fold in memory at a time
    return cv_results(candidates, scores), decisions

