"""Two-level classification (TLC; Weidmann, Frank & Pfahringer, 2003)."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if

from .._proba import decision_scores, proba_available
from ..bags import Bags
from ..base import BaseMILClassifier
from ..utils._param_validation import HasMethods, Interval

__all__ = ["TLC", "tree_node_counts"]


def _bag_indicator(bags: Bags) -> sp.csr_matrix:
    """Sparse ``(n_bags, n_instances)`` matrix with a 1 where an instance is in a bag."""
    n = bags.n_instances
    bag_of = np.repeat(np.arange(bags.n_bags), bags.sizes)
    return sp.csr_matrix((np.ones(n), (bag_of, np.arange(n))), shape=(bags.n_bags, n))


def tree_node_counts(tree: Any, bags: Bags) -> np.ndarray:
    """Per bag, the number of its instances that pass through each node of a tree.

    Parameters
    ----------
    tree : fitted DecisionTreeClassifier
        Any fitted scikit-learn tree with ``decision_path``.
    bags : Bags
        The bags (validated; see :func:`skmil.bags.check_bags`).

    Returns
    -------
    counts : ndarray of shape (n_bags, n_nodes)
        ``counts[i, k]``: instances of bag ``i`` whose path from the root visits node
        ``k`` (column 0, the root, is the bag size).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from skmil.bags import check_bags
    >>> from skmil.embedding.tlc import tree_node_counts
    >>> tree = DecisionTreeClassifier(max_depth=1).fit([[0.0], [1.0]], [0, 1])
    >>> bags = check_bags([np.array([[0.0], [0.1], [1.0]]), np.array([[0.9]])])
    >>> tree_node_counts(tree, bags)
    array([[3., 2., 1.],
           [1., 0., 1.]])
    """
    # decision_path is a sparse (n_instances, n_nodes) 0/1 matrix, one row per
    # instance; one sparse product sums its rows bag by bag
    paths = tree.decision_path(bags.instances)
    return np.asarray((_bag_indicator(bags) @ paths).toarray(), dtype=np.float64)


class TLC(BaseMILClassifier):
    """Two-level classification: a bag's counts in the nodes of an instance tree.

    The method of Weidmann, Frank & Pfahringer (2003), "A two-level learning method for
    generalized multi-instance problems" (ECML). Level one grows a decision tree on
    the training instances, each labelled with its bag's label and weighted by one
    over its bag's size, so that every bag weighs the same in the tree however many
    instances it has. Every node of the tree (internal nodes as well as leaves, as in
    the reference implementation, Weka's ``TLC``) is a region of instance space, a
    candidate *concept*; a bag becomes the vector of the numbers of its instances in
    each node (:func:`tree_node_counts`, one sparse product with
    ``DecisionTreeClassifier.decision_path``). Level two trains a standard classifier
    on these count vectors.

    Counts, not presence bits, are what make TLC model the *threshold-based*
    assumption (a bag is positive when it holds at least ``t_k`` instances of each of
    several concepts), which contains the presence-based one (``t_k = 1``) and the
    standard one (one concept, ``t = 1``); the second-level learner finds the
    thresholds and how the concepts combine.

    Parameters
    ----------
    estimator : sklearn classifier or None, default=None
        The second-level classifier, fitted on the node-count vectors with labels 0/1
        (1 = ``classes_[1]``). ``None`` means
        ``GradientBoostingClassifier(n_estimators=10, learning_rate=1.0, max_depth=1)``:
        boosting of ten decision stumps with the logistic loss and Newton leaf values,
        scikit-learn's counterpart of the reference implementation's second level,
        LogitBoost with decision stumps at its default of ten iterations without
        shrinkage (LogitBoost fits each stump by weighted least squares to its working
        responses; gradient boosting fits the residuals, with the same Newton leaf
        values).
    max_depth : int or None, default=None
        Depth limit of the first-level tree (scikit-learn's meaning); ``None``: grown
        until ``min_bags_leaf`` stops it, unpruned (the reference's J48 is pruned at
        confidence 0.25; scikit-learn has no C4.5 pruning).
    min_bags_leaf : float, default=2.0
        Least weight of a leaf of the first-level tree, in bags (each bag's instances
        weigh 1 together). The reference's J48 asks for two units of weight per leaf
        with every bag weighing the mean bag size (``2 / mean bag size`` bags) and
        prunes afterwards; without pruning, two whole bags is the coarser stop.
    random_state : int, RandomState instance or None, default=None
        Seeds the tree's tie-breaking between equally good splits and the default
        second-level classifier.

    Attributes
    ----------
    tree_ : DecisionTreeClassifier
        The first-level tree (entropy criterion, as C4.5's information gain).
    estimator_ : classifier
        The fitted second-level classifier.
    n_nodes_ : int
        Number of tree nodes, the width of the count vectors.
    classes_ : ndarray of shape (2,)
        Bag labels; ``classes_[1]`` is positive.
    n_features_in_ : int
        Features per instance.

    See Also
    --------
    skmil.embedding.cce.CCE : Presence vectors over k-means clusters (unsupervised
        concepts) instead of tree nodes.

    Notes
    -----
    The reference implementation's features are J48 membership values, which are the
    instances' weights: its bag vector holds the *fraction* of the bag's instances in
    each node (times the training mean bag size). TLC keeps the counts that the
    threshold-based assumption is stated in.

    The decision value is the second-level classifier's ``decision_function`` (the
    log-odds for the default), or the log-odds of its ``predict_proba``.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.embedding.tlc import TLC
    >>> bags, y, _ = make_mil_classification(n_bags=60, assumption="threshold",
    ...                                      random_state=0)
    >>> clf = TLC(random_state=0).fit(bags, y)
    >>> clf.decision_function(bags[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit"]), None],
        "max_depth": [Interval(Integral, 1, None, closed="left"), None],
        "min_bags_leaf": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        estimator: Any = None,
        max_depth: int | None = None,
        min_bags_leaf: float = 2.0,
        random_state: Any = None,
    ) -> None:
        self.estimator = estimator
        self.max_depth = max_depth
        self.min_bags_leaf = min_bags_leaf
        self.random_state = random_state

    def _resolved_estimator(self) -> Any:
        if self.estimator is not None:
            return self.estimator
        return GradientBoostingClassifier(n_estimators=10, learning_rate=1.0, max_depth=1)

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        rng = check_random_state(self.random_state)
        sizes = bags.sizes.astype(np.float64)
        weights = np.repeat(1.0 / sizes, bags.sizes)  # each bag weighs 1 in total
        # scikit-learn bounds the fraction at 0.5; a leaf of half the bags already
        # allows only one split
        fraction = min(float(self.min_bags_leaf) / bags.n_bags, 0.5)
        tree = DecisionTreeClassifier(
            criterion="entropy",
            max_depth=self.max_depth,
            min_weight_fraction_leaf=fraction,
            random_state=rng.randint(np.iinfo(np.int32).max),
        )
        self.tree_ = tree.fit(bags.instances, np.repeat(y, bags.sizes), sample_weight=weights)
        self.n_nodes_ = int(self.tree_.tree_.node_count)
        est = clone(self._resolved_estimator())
        if self.estimator is None:
            est.set_params(random_state=rng.randint(np.iinfo(np.int32).max))
        self.estimator_ = est.fit(tree_node_counts(self.tree_, bags), y)

    def _decision_function(self, bags: Bags) -> np.ndarray:
        return decision_scores(self.estimator_, tree_node_counts(self.tree_, bags))

    _has_proba = proba_available("estimator_", "_resolved_estimator")

    @available_if(_has_proba)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Bag probabilities from the second-level classifier's ``predict_proba``.

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
        return self.estimator_.predict_proba(tree_node_counts(self.tree_, bags))
