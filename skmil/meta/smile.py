"""SMILe: shuffled multiple-instance learning (Doran & Ray 2013)."""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if

from .._proba import proba_available
from ..bags import Bags, instance_indices
from ..base import BaseMILClassifier
from ..svm._common import user_instance_index
from ..utils._param_validation import HasMethods, Interval, StrOptions

__all__ = ["SMILe", "shuffled_bag_size"]


def shuffled_bag_size(n_positive_bags: int, n_positive_instances: int, delta: float) -> int:
    """The smallest shuffled-bag size whose bag is negative with probability at most ``delta``.

    Under the standard MI assumption each positive bag holds at least one positive
    instance, so at least a fraction ``pi = n_positive_bags / n_positive_instances`` of
    the instances pooled from the positive bags is positive. A bag of ``s`` instances
    drawn from that pool without replacement holds no positive instance with
    probability at most ``(1 - pi)**s`` (Doran & Ray 2013); the size returned is the
    smallest ``s`` with ``(1 - pi)**s <= delta``, and at most the pool's size (a bag
    holding the whole pool is certainly positive).

    Parameters
    ----------
    n_positive_bags : int
        Number of positive training bags.
    n_positive_instances : int
        Number of instances in the positive training bags.
    delta : float in (0, 1)
        Largest accepted probability that a shuffled bag is negative.

    Returns
    -------
    int
        The shuffled-bag size ``s``.

    Examples
    --------
    >>> from skmil.meta.smile import shuffled_bag_size
    >>> shuffled_bag_size(10, 50, 0.05)  # pi = 0.2: 0.8**14 = 0.044 <= 0.05 < 0.8**13
    14
    """
    if n_positive_bags < 1 or n_positive_instances < n_positive_bags:
        raise ValueError(
            "shuffled_bag_size needs at least one positive bag and at least as many "
            f"positive-bag instances as positive bags; got {n_positive_bags} bags and "
            f"{n_positive_instances} instances."
        )
    pi = n_positive_bags / n_positive_instances
    if pi >= 1.0:
        return 1
    s = math.ceil(math.log(delta) / math.log1p(-pi))
    # the ceiling of a rounded quotient can land one above the smallest valid size
    while s > 1 and (1.0 - pi) ** (s - 1) <= delta:
        s -= 1
    return int(min(max(s, 1), n_positive_instances))


class SMILe(BaseMILClassifier):
    """SMILe: a MIL classifier trained with extra shuffled positive and negative bags.

    Doran & Ray, "SMILe: Shuffled multiple-instance learning", AAAI 2013. The instances
    of all positive training bags are pooled; each shuffled positive bag is a random
    subset of ``shuffled_bag_size_`` of them, drawn without replacement and labelled
    positive. Under the standard MI assumption (every positive bag holds a positive
    instance) at least a fraction ``pi = n_positive_bags / n_positive_instances`` of
    the pool is positive, so a shuffled bag of ``s`` instances is negative with
    probability at most ``(1 - pi)**s``; ``s`` is the smallest size that bounds this by
    ``delta``. As in the authors' classification experiments (their ``shuffle_both``),
    as many shuffled negative bags are drawn, without replacement, from the pooled
    instances of the negative bags, each of the mean negative bag size (rounded down):
    every one of them is certainly negative. The shuffled bags are added to the
    training bags and any MIL classifier is fitted on the augmented set; they add
    constraints on the instances' labels and average out bag-label noise.

    Parameters
    ----------
    estimator : skmil classifier, default=None
        The MIL classifier fitted on the augmented bags; ``None`` means
        :class:`~skmil.svm.MIKernelSVM` ``(kernel="linear", normalize="averaging",
        C=1.0)``, the set-kernel SVM with the averaged linear kernel and ``C = 1`` of
        the authors' classification experiments. Cloned, never modified.
    n_resamples : int or "auto", default="auto"
        Number of shuffled positive bags, and of shuffled negative bags when
        ``shuffle_negative``; ``"auto"`` adds as many of each as there are positive
        training bags.
    shuffled_bag_size : int or "auto", default="auto"
        Instances per shuffled positive bag; ``"auto"`` is the smallest size that makes
        a shuffled bag negative with probability at most ``delta`` (see
        :func:`shuffled_bag_size`). An int is capped at the pool's size.
    delta : float in (0, 1), default=0.05
        The accepted probability that a shuffled positive bag is negative (only with
        ``shuffled_bag_size="auto"``); 0.05, the conventional level (the authors'
        experiments sweep 0.1 to 0.5).
    shuffle_negative : bool, default=True
        Also add ``n_resamples`` shuffled negative bags (the authors' experiments);
        False adds positive ones only.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffled bags and, when the wrapped estimator has a ``random_state``
        left at None, that estimator.

    Attributes
    ----------
    estimator_ : classifier
        The classifier fitted on the training bags followed by the shuffled positive
        and then the shuffled negative bags.
    shuffled_bag_size_ : int
        Instances per shuffled positive bag.
    negative_bag_size_ : int
        Instances per shuffled negative bag (0 without ``shuffle_negative``).
    n_resamples_ : int
        Number of shuffled positive bags (and of shuffled negative bags).
    shuffled_indices_ : ndarray of shape (n_shuffled, size)
        Flat index (into the training instances as given) of every instance of each of the
        ``n_resamples_`` shuffled positive bags (``shuffled_bag_size_`` columns); one row
        per shuffled bag.
    negative_indices_ : ndarray of shape (n_shuffled_negative, negative_size)
        The same for the shuffled negative bags (no rows without ``shuffle_negative``).
    classes_ : ndarray of shape (2,)
        Bag labels; ``classes_[1]`` is positive.
    n_features_in_ : int
        Features per instance.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.meta import SMILe
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> clf = SMILe(random_state=0).fit(bags, y)
    >>> clf.shuffled_indices_.shape == (clf.n_resamples_, clf.shuffled_bag_size_)
    True
    >>> clf.negative_indices_.shape == (clf.n_resamples_, clf.negative_bag_size_)
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "decision_function"]), None],
        "n_resamples": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "shuffled_bag_size": [Interval(Integral, 1, None, closed="left"),
                              StrOptions({"auto"})],
        "delta": [Interval(Real, 0, 1, closed="neither")],
        "shuffle_negative": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        estimator: Any = None,
        n_resamples: Any = "auto",
        shuffled_bag_size: Any = "auto",
        delta: float = 0.05,
        shuffle_negative: bool = True,
        random_state: Any = None,
    ) -> None:
        self.estimator = estimator
        self.n_resamples = n_resamples
        self.shuffled_bag_size = shuffled_bag_size
        self.delta = delta
        self.shuffle_negative = shuffle_negative
        self.random_state = random_state

    def _resolved_estimator(self) -> Any:
        if self.estimator is not None:
            return self.estimator
        from ..svm.nsk import MIKernelSVM

        return MIKernelSVM(kernel="linear", normalize="averaging", C=1.0)

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        rng = check_random_state(self.random_state)
        pos_bags = np.flatnonzero(y == 1)
        pool = instance_indices(bags.offsets, pos_bags)
        n_pool = pool.shape[0]
        if self.shuffled_bag_size == "auto":
            s = shuffled_bag_size(pos_bags.shape[0], n_pool, float(self.delta))
        else:
            s = min(int(self.shuffled_bag_size), n_pool)
        m = pos_bags.shape[0] if self.n_resamples == "auto" else int(self.n_resamples)
        # drawn from the canonically ordered pools: the shuffled bags do not depend on
        # the order in which the training bags were given
        draws = self._draw(rng, pool, m, s)
        neg_bags = np.flatnonzero(y == 0)
        if self.shuffle_negative and neg_bags.size:
            neg_pool = instance_indices(bags.offsets, neg_bags)
            # the authors' size: the mean negative bag size, rounded down
            s_neg = min(max(neg_pool.shape[0] // neg_bags.shape[0], 1), neg_pool.shape[0])
            neg_draws = self._draw(rng, neg_pool, m, s_neg)
        else:
            s_neg, neg_draws = 0, np.empty((0, 0), dtype=np.int64)
        n_neg = neg_draws.shape[0]
        X_aug = np.concatenate([bags.instances, bags.instances[draws.ravel()],
                                bags.instances[neg_draws.ravel()]])
        extra_sizes = np.concatenate([np.full(m, s), np.full(n_neg, s_neg)]).astype(np.int64)
        off_aug = np.concatenate([bags.offsets, bags.offsets[-1] + np.cumsum(extra_sizes)])
        y_aug = np.concatenate([y, np.ones(m, dtype=np.int64), np.zeros(n_neg, dtype=np.int64)])
        est = clone(self._resolved_estimator())
        params = est.get_params(deep=False)
        if "random_state" in params and params["random_state"] is None \
                and self.random_state is not None:
            est.set_params(random_state=int(rng.randint(np.iinfo(np.int32).max)))
        self.estimator_ = est.fit(Bags(np.ascontiguousarray(X_aug), off_aug.astype(np.int64)),
                                  y_aug)
        self.shuffled_bag_size_ = int(s)
        self.n_resamples_ = int(m)
        self.negative_bag_size_ = int(s_neg)
        self.shuffled_indices_ = user_instance_index(bags, self._train_order,
                                                     draws.ravel()).reshape(m, s)
        self.negative_indices_ = user_instance_index(
            bags, self._train_order, neg_draws.ravel()).reshape(n_neg, s_neg)

    @staticmethod
    def _draw(rng: Any, pool: np.ndarray, m: int, s: int) -> np.ndarray:
        """``m`` rows of ``s`` pool entries, each row drawn without replacement."""
        draws = np.empty((m, s), dtype=np.int64)
        for r in range(m):
            draws[r] = pool[np.sort(rng.choice(pool.shape[0], s, replace=False))]
        return draws

    def _decision_function(self, bags: Bags) -> np.ndarray:
        return np.asarray(self.estimator_.decision_function(bags), dtype=np.float64)

    _has_proba = proba_available("estimator_", "_resolved_estimator")

    @available_if(_has_proba)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Bag probabilities from the wrapped classifier's ``predict_proba``.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            The bags.

        Returns
        -------
        proba : ndarray of shape (n_bags, 2)
            Probabilities of ``classes_[0]`` and ``classes_[1]``.
        """
        bags = self._validate_bags(X, reset=False)
        return self._proba_from_positive(self.estimator_.predict_proba(bags)[:, 1])
