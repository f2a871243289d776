"""MIForest: random forests with hidden instance labels, by deterministic annealing."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn import config_context
from sklearn.ensemble import RandomForestClassifier
from sklearn.utils import check_random_state
from sklearn.utils.parallel import Parallel, delayed

from .._kernels.segments import segment_argmax, segment_max
from .._parallel import n_threads
from .._proba import logit
from .._threshold import THRESHOLD_CONSTRAINT
from ..bags import Bags
from ..base import BaseMILClassifier, InstancePredictionMixin
from ..utils._param_validation import Interval
from ._common import MAX_INT_SEED

__all__ = ["MIForest"]


def _fit_tree(tree: Any, X: np.ndarray, labels: np.ndarray, counts: np.ndarray) -> None:
    # X is the forest's own validated float32 C-ordered array: skip re-validating it for
    # every tree and annealing step (the fit is the same)
    tree.fit(X, labels, sample_weight=counts, check_input=False)


class MIForest(InstancePredictionMixin, BaseMILClassifier):
    """MIForest: random forests with hidden instance labels (Leistner, Saffari & Bischof 2010).

    A random forest over instances fitted by deterministic annealing. Instances of
    negative bags are negative; the labels of instances of positive bags
    are unknown, constrained only by the standard MI assumption that every positive
    bag holds at least one positive instance. The forest is first trained with every
    instance labelled by its bag. Then, at decreasing temperatures ``T``, the labels of
    positive-bag instances are treated as random variables: their distribution is the
    minimiser of the deterministic-annealing objective (expected loss on the forest's
    margin minus ``T`` times the labels' entropy), which for the hinge loss on the
    forest's two-class margin ``2p - 1`` (``p`` the forest's probability that the
    instance is positive) is ``p_hat = sigmoid((4p - 2) / T)``. Every tree draws its
    own labels from ``p_hat``, a positive bag in which a tree drew no positive
    instance gets its most probable instance labelled positive (the max constraint),
    and the tree is refitted on its labels. High temperatures give nearly random
    labels (exploration), low ones nearly the forest's own decisions.

    Parameters
    ----------
    n_estimators : int, default=50
        Trees in the forest (the paper's experiments use 50).
    max_depth : int or None, default=20
        Maximum depth of each tree (the paper's experiments use 20); ``None`` grows
        them until the leaves are pure.
    initial_temperature : float, default=1.0
        Temperature ``T_0`` of the first annealing step. At 1.0, an instance the forest
        takes for certainly positive is drawn positive with probability
        ``sigmoid(2) = 0.88``: the first steps explore.
    cooling_rate : float, default=0.5
        The exponential cooling schedule ``T_m = T_0 exp(-cooling_rate m)``.
    min_temperature : float, default=0.005
        Annealing stops once ``T_m`` is below this; there ``p_hat`` is within
        ``sigmoid(-0.4 / 0.005) ~ 1e-35`` of the forest's hard decision for any
        ``|p - 0.5| >= 0.1``. With the defaults there are 11 annealing steps.
    threshold : float or "auto", default=0.0
        Offset on the log-odds of the bag probability (the largest instance
        probability): 0.0 is probability 0.5. ``"auto"`` chooses it by skmil's inner
        cross-validation.
    n_jobs : int or None, default=None
        Trees fitted in parallel (threads; scikit-learn's meaning).
    random_state : int, RandomState instance or None, default=None
        Seeds the forest's bootstraps and feature draws, the label draws and the inner
        folds of ``threshold="auto"``.

    Attributes
    ----------
    forest_ : sklearn.ensemble.RandomForestClassifier
        The annealed forest, trained on labels 0/1 (1 = ``classes_[1]``).
    n_iter_ : int
        Annealing steps performed.
    temperatures_ : ndarray of shape (n_steps,)
        The temperature of each of the ``n_iter_`` steps.
    threshold_ : float
        Log-odds threshold used.
    classes_ : ndarray of shape (2,)
        Bag labels; ``classes_[1]`` is positive.
    n_features_in_ : int
        Number of features.

    Notes
    -----
    ``decision_function_instances`` is the log-odds of the forest's probability that
    the instance is positive (clipped to ``[1e-12, 1 - 1e-12]``), minus
    ``threshold_``; ``decision_function`` is its largest value in the bag (bag rule
    ``"max"``), so a bag is predicted positive exactly when one of its instances is.
    ``predict_proba`` gives the largest instance probability.

    The probability ``p`` of an annealing step is the whole forest's, as in the
    paper; every tree keeps its bootstrap sample (scikit-learn's) through the steps.
    Each step refits every tree once: the fit costs ``1 + n_iter_`` forests.

    References
    ----------
    C. Leistner, A. Saffari and H. Bischof, "MIForests: multiple-instance learning
    with randomized trees", ECCV 2010.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.ensemble import MIForest
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> clf = MIForest(n_estimators=10, random_state=0).fit(bags, y)
    >>> clf.predict_proba(bags[:2]).shape
    (2, 2)
    """

    _parameter_constraints: dict = {
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "max_depth": [Interval(Integral, 1, None, closed="left"), None],
        "initial_temperature": [Interval(Real, 0, None, closed="neither")],
        "cooling_rate": [Interval(Real, 0, None, closed="neither")],
        "min_temperature": [Interval(Real, 0, None, closed="neither")],
        "threshold": THRESHOLD_CONSTRAINT,
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        n_estimators: int = 50,
        max_depth: int | None = 20,
        initial_temperature: float = 1.0,
        cooling_rate: float = 0.5,
        min_temperature: float = 0.005,
        threshold: Any = 0.0,
        n_jobs: int | None = None,
        random_state: Any = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.initial_temperature = initial_temperature
        self.cooling_rate = cooling_rate
        self.min_temperature = min_temperature
        self.threshold = threshold
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _bag_rule(self) -> str:
        return "max"

    @staticmethod
    def _draw_labels(p: np.ndarray, temperature: float, y: np.ndarray,
                     offsets: np.ndarray, n_trees: int,
                     rng: np.random.RandomState) -> np.ndarray:
        """One label vector per tree ``(n_trees, N)``, drawn at ``temperature``."""
        sizes = np.diff(offsets)
        in_pos = np.repeat(y == 1, sizes)
        # the deterministic-annealing optimum of the label distribution (see the class
        # docstring); clipped so that exp does not overflow at tiny temperatures
        z = np.clip((4.0 * p[in_pos] - 2.0) / temperature, -700.0, 700.0)
        p_hat = 1.0 / (1.0 + np.exp(-z))
        labels = np.zeros((n_trees, p.shape[0]), dtype=np.int64)
        labels[:, in_pos] = rng.random_sample((n_trees, p_hat.shape[0])) < p_hat
        # max constraint: a positive bag without a drawn positive gets its most
        # probable instance (the same for every tree: p_hat is the forest's) positive
        has_pos = np.maximum.reduceat(labels, offsets[:-1], axis=1) > 0
        best = segment_argmax(p, offsets)
        missing_t, missing_b = np.nonzero(~has_pos & (y == 1)[None, :])
        labels[missing_t, best[missing_b]] = 1
        return labels

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        X = np.ascontiguousarray(bags.instances, dtype=np.float32)
        offsets = bags.offsets
        N = X.shape[0]
        rng = check_random_state(self.random_state)
        forest = RandomForestClassifier(
            n_estimators=self.n_estimators, max_depth=self.max_depth,
            random_state=int(rng.randint(MAX_INT_SEED)), n_jobs=self.n_jobs,
        )
        forest.fit(X, np.repeat(y, bags.sizes))
        trees = forest.estimators_
        counts = np.stack([np.bincount(s, minlength=N) for s in forest.estimators_samples_])
        counts = counts.astype(np.float64)
        temperatures = []
        T = float(self.initial_temperature)
        parallel = Parallel(n_jobs=n_threads(self.n_jobs), prefer="threads")
        while T >= self.min_temperature:
            p = np.mean([t.predict_proba(X, check_input=False)[:, 1] for t in trees], axis=0)
            labels = self._draw_labels(p, T, y, offsets, len(trees), rng)
            # the trees' parameters were validated by the forest's first fit (the config
            # reaches the worker threads through sklearn's Parallel); checking
            # them again for every tree and step costs as much as growing the trees
            with config_context(skip_parameter_validation=True):
                parallel(delayed(_fit_tree)(t, X, labels[k], counts[k])
                         for k, t in enumerate(trees))
            temperatures.append(T)
            T = float(self.initial_temperature) * np.exp(-self.cooling_rate * len(temperatures))
        self.forest_ = forest
        self.n_iter_ = len(temperatures)
        self.temperatures_ = np.asarray(temperatures)

    def _instance_proba(self, bags: Bags) -> np.ndarray:
        return self.forest_.predict_proba(bags.instances.astype(np.float32))[:, 1]

    def _decision_function_instances(self, bags: Bags) -> np.ndarray:
        return logit(self._instance_proba(bags))

    def _decision_function(self, bags: Bags) -> np.ndarray:
        return segment_max(self._decision_function_instances(bags), bags.offsets)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Bag probabilities: the largest instance probability of the positive class.

        The model's probabilities, not thresholded: ``predict`` compares their log-odds
        with ``threshold_``.

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
        return self._proba_from_positive(segment_max(self._instance_proba(bags), bags.offsets))
