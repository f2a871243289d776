"""Constructive clustering ensemble (CCE; Zhou & Zhang, 2007)."""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.svm import SVC
from sklearn.utils import check_random_state

from .._proba import decision_scores
from ..bags import Bags
from ..base import BaseMILClassifier
from ..utils._param_validation import HasMethods
from ._codebook import N_JOBS
from .bow import BagOfWords

__all__ = ["CCE"]

#: Default codebook sizes: the vocabulary sizes skmil's bag-of-words inner CV searches.
DEFAULT_SIZES = (5, 10, 20, 50, 100)
#: A codebook size needs at least this many training instances per cluster.
MIN_PER_CLUSTER = 2


def _check_sizes(n_clusters: Any) -> tuple[int, ...]:
    sizes = np.atleast_1d(np.asarray(n_clusters, dtype=object))
    if sizes.ndim != 1 or sizes.size == 0 or not all(
        isinstance(k, Integral) and not isinstance(k, bool) and k >= 1 for k in sizes
    ):
        raise ValueError(
            f"n_clusters must be a non-empty sequence of integers >= 1 (one codebook "
            f"size per ensemble member), got {n_clusters!r}."
        )
    return tuple(int(k) for k in sizes)


class CCE(BaseMILClassifier):
    """Constructive clustering ensemble: presence vectors over k-means clusters, voted.

    The method of Zhou & Zhang (2007), "Solving multi-instance problems with
    classifier ensemble based on constructive clustering" (Knowledge and Information
    Systems 11(2)). For each codebook size ``d`` in ``n_clusters``, k-means clusters
    all training instances into ``d`` groups (labels unused) and every bag becomes the
    binary vector saying which groups it has an instance in
    (:class:`~skmil.embedding.BagOfWords` with ``encoding="presence"``); one
    classifier is trained per size, and the members vote.

    The presence vector models the *presence-based* assumption (a bag is positive
    when it holds instances of each of several concepts, a concept being a cluster or
    a union of clusters), which contains the standard assumption (one concept). The
    ensemble over several sizes spares the choice of one clustering granularity.

    Parameters
    ----------
    n_clusters : sequence of int, default=(5, 10, 20, 50, 100)
        One codebook size per ensemble member. The default spans the vocabulary sizes
        that :class:`~skmil.embedding.BagOfWordsClassifier` searches with
        ``n_clusters="cv"`` (five members, an odd number, so the vote has no ties); it
        is not the list of the paper's experiments, which could not be checked.
        Sizes with fewer than two training instances per cluster are skipped; when
        every size is, one member with as many clusters as training instances
        remains. The sizes used are ``n_clusters_``.
    estimator : sklearn classifier or None, default=None
        The classifier of every member, cloned per member and fitted on the presence
        vectors with labels 0/1. ``None`` means ``SVC(kernel="rbf", gamma="scale")``
        (scikit-learn's defaults), a Gaussian-kernel support vector machine on each
        presence representation (the base learner of the paper as recalled; not
        checked against its text).
    random_state : int, RandomState instance or None, default=None
        Seeds the k-means codebooks; a given ``estimator`` keeps its own
        ``random_state``.
    n_jobs : int or None, default=None
        Threads of the k-means fits (as :class:`~skmil.embedding.BagOfWords`).

    Attributes
    ----------
    encoders_ : list of BagOfWords
        The fitted presence encoders, one per member.
    estimators_ : list of classifier
        The fitted member classifiers.
    n_clusters_ : tuple of int
        The codebook sizes used.
    scales_ : ndarray of shape (n_members,)
        Standard deviation of each member's decision values on the training bags
        (1 where they are constant), the scale of the tie-break term.
    classes_ : ndarray of shape (2,)
        Bag labels; ``classes_[1]`` is positive.
    n_features_in_ : int
        Features per instance.

    See Also
    --------
    skmil.embedding.BagOfWordsClassifier : One codebook, histogram or presence.
    skmil.embedding.tlc.TLC : Counts in the nodes of a supervised instance tree.

    Notes
    -----
    ``predict`` is the majority vote of the members. ``decision_function`` is
    ``v / m - 1/2 + tanh(s) / (4 m)``: ``v`` the members voting positive, ``m`` the
    members, ``s`` the mean of the members' decision values, each divided by its
    standard deviation on the training bags (``scales_``). The second term is below
    half a vote in size, so it never overturns a majority; it ranks bags with the same
    vote count and breaks ties of an even ensemble. Its sign is therefore the
    majority vote, as ``predict`` requires.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.embedding.cce import CCE
    >>> bags, y, _ = make_mil_classification(n_bags=60, assumption="presence",
    ...                                      random_state=0)
    >>> clf = CCE(n_clusters=(5, 10, 20), random_state=0).fit(bags, y)
    >>> clf.n_clusters_, clf.predict(bags[:3]).shape
    ((5, 10, 20), (3,))
    """

    _parameter_constraints: dict = {
        "n_clusters": ["array-like"],
        "estimator": [HasMethods(["fit"]), None],
        "random_state": ["random_state"],
        "n_jobs": N_JOBS,
    }

    def __init__(
        self,
        *,
        n_clusters: Any = DEFAULT_SIZES,
        estimator: Any = None,
        random_state: Any = None,
        n_jobs: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.estimator = estimator
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _resolved_estimator(self) -> Any:
        return SVC(kernel="rbf", gamma="scale") if self.estimator is None else self.estimator

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        requested = _check_sizes(self.n_clusters)
        n = bags.n_instances
        sizes = tuple(k for k in requested if k * MIN_PER_CLUSTER <= n) or (
            min(min(requested), n),)
        rng = check_random_state(self.random_state)
        self.encoders_, self.estimators_, scales = [], [], []
        for k in sizes:
            enc = BagOfWords(
                n_clusters=k, encoding="presence",
                random_state=rng.randint(np.iinfo(np.int32).max), n_jobs=self.n_jobs,
            )
            Z = enc.fit_transform(bags)
            est = clone(self._resolved_estimator()).fit(Z, y)
            scale = float(np.std(decision_scores(est, Z)))
            self.encoders_.append(enc)
            self.estimators_.append(est)
            scales.append(scale if scale > 0 else 1.0)
        self.n_clusters_ = sizes
        self.scales_ = np.asarray(scales)

    def _member_scores(self, bags: Bags) -> np.ndarray:
        """``(n_bags, n_members)`` decision values of the members, each on its own scale."""
        return np.column_stack([
            decision_scores(est, enc._transform(bags))
            for enc, est in zip(self.encoders_, self.estimators_)
        ])

    def _decision_function(self, bags: Bags) -> np.ndarray:
        S = self._member_scores(bags)
        m = S.shape[1]
        votes = (S > 0).sum(axis=1)
        tie_break = np.tanh((S / self.scales_).mean(axis=1)) / (4.0 * m)
        return votes / m - 0.5 + tie_break
