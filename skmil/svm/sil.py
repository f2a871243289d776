"""Single-instance learning (SIL): every instance inherits its bag's label."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.svm import SVC
from sklearn.utils.metaestimators import available_if

from .._kernels.segments import segment_logsumexp, segment_max, segment_mean
from .._kernels.set_kernel import resolve_gamma
from .._proba import decision_scores, proba_available
from .._threshold import THRESHOLD_CONSTRAINT
from ..bags import Bags, check_square_kernel_bags
from ..base import BaseMILClassifier, InstancePredictionMixin
from ..utils._param_validation import HasMethods, Integral, Interval, Real, StrOptions
from ._approximation import (
    KERNEL_APPROXIMATION_CONSTRAINT,
    N_COMPONENTS_CONSTRAINT,
    check_kernel_approximation,
    fit_kernel_map,
    map_rows,
    mapped_scores,
)
from ._common import (
    GAMMA_CONSTRAINT,
    KernelExpansion,
    encoded_class_weight,
    instance_balanced_weights,
    sample_weights_for,
    user_instance_index,
)
from ._primal import SquaredHingeSVM

__all__ = ["SIL"]

_POOLINGS = ("max", "mean", "lse")
#: The bag rule (``MILTags.bag_rule``) of each pooling: the log-mean-exp lies between the
#: smallest and the largest instance score, like a weighted mean.
_BAG_RULES = {"max": "max", "mean": "mean", "lse": "convex"}
_EXPANDABLE = ("linear", "rbf", "poly", "sigmoid")


def _pool(values: np.ndarray, offsets: np.ndarray, pooling: str) -> np.ndarray:
    if pooling == "max":
        return segment_max(values, offsets)
    if pooling == "mean":
        return segment_mean(values, offsets)
    return segment_logsumexp(values, offsets)


class SIL(InstancePredictionMixin, BaseMILClassifier):
    """Single-instance learning: a standard classifier on instances labelled by their bag.

    Every instance takes the label of its bag; any sklearn classifier is trained on all
    instances; a bag's score pools its instances' scores (``max`` by default, the
    standard MI assumption: a bag is positive when one of its instances is). This is
    the SIL baseline of Ray & Craven (2005) and of misvm, and often a strong one.

    Parameters
    ----------
    estimator : sklearn classifier, default=None
        The instance classifier. ``None`` builds ``sklearn.svm.SVC`` from ``kernel``,
        ``C``, ``gamma``, ``degree``, ``coef0`` and ``class_weight`` (misvm's SIL).
        When given, those SVM options are ignored. It is cloned, never modified, and
        fitted on the labels 0/1 (1 = ``classes_[1]``).
    pooling : {"max", "mean", "lse"}, default="max"
        How instance scores become a bag score: the maximum (standard MI assumption,
        bag rule ``"max"``), the mean (collective assumption, bag rule ``"mean"``), or
        the log-mean-exp (a soft maximum, between the mean and the maximum; bag rule
        ``"convex"``).
    kernel : {"linear", "rbf", "poly", "sigmoid", "precomputed"}, default="rbf"
        SVC kernel (only with ``estimator=None``). With ``"precomputed"`` every bag is
        an array of instance-kernel rows: at ``fit`` one column per training instance
        (the bags' rows stacked form the square instance Gram matrix), at ``predict``
        the kernel values of the new instances against the training instances (see
        :meth:`skmil.bags.Bags.take_pairwise`); an ``estimator`` with
        ``kernel="precomputed"`` takes the same input.
    C : float, default=1.0
        SVC regularisation in scikit-learn's meaning (misvm's ``C`` divided by the
        number of training instances is equivalent when misvm's ``scale_C=True``).
    gamma : {"scale", "auto"} or float, default="scale"
        RBF/poly/sigmoid kernel coefficient.
    degree : int, default=3
        Polynomial kernel degree.
    coef0 : float, default=0.0
        Independent term of the poly/sigmoid kernels.
    solver : {"auto", "libsvm", "primal"}, default="auto"
        Solver of the built-in SVM (only with ``estimator=None``). ``"libsvm"``:
        ``sklearn.svm.SVC``, the hinge loss, any kernel. ``"primal"`` (``kernel="linear"``
        only): the squared-hinge linear SVM
        ``1/2 ||w||^2 + C sum_i c_i max(0, 1 - y_i f(x_i))^2`` (``c_i`` the class weights)
        solved in the primal by Newton's method, in time linear in the instances, with an
        unpenalised intercept (see :doc:`/svm`, "Linear SVMs at scale"). ``"auto"``:
        ``"primal"`` for the linear kernel, ``"libsvm"`` otherwise: libsvm is a kernel
        solver whose time grows about quadratically with the instances even when the
        kernel is linear.
    kernel_approximation : {"nystroem", "rff"} or None, default=None
        Fit the built-in SVM on an explicit feature map whose inner products approximate
        the instance kernel (``kernel`` with ``gamma``, ``degree`` and ``coef0``):
        ``"nystroem"`` (:class:`sklearn.kernel_approximation.Nystroem`, ``n_components``
        landmark instances drawn from the training instances; RBF, poly or sigmoid
        kernel) or ``"rff"`` (:class:`sklearn.kernel_approximation.RBFSampler`, random
        Fourier features of the RBF kernel). The SVM is then linear in the mapped
        instances and solved by the primal solver (``solver`` ``"auto"`` or
        ``"primal"``), in time linear in the instances. The map is drawn with
        ``random_state`` (seed 0 when None).
    n_components : int, default=256
        Dimension of the map of ``kernel_approximation``.
    class_weight : dict, "balanced_instances", "balanced" or None, \
default="balanced_instances"
        Weights of the built-in SVC's classes (only with ``estimator=None``); a dict is
        keyed by bag label. ``"balanced_instances"``: when the positive bags hold more
        instances than the negative bags, both classes of bags carry the same total
        weight (``N / (2 N_pos)`` and ``N / (2 N_neg)``, ``N_pos`` and ``N_neg`` the
        instances of the positive and of the negative bags); otherwise every instance
        weighs 1. Every instance of a positive bag inherits its bag's label, though most
        are not witnesses: when most instances come from positive bags the unweighted
        SVC calls nearly everything positive, while the negative instances, whose labels
        are certain, need no boost when they are the majority. ``"balanced"`` is
        scikit-learn's rule on the instance labels, applied whichever class is larger.
    threshold : "auto" or float, default="auto"
        Offset on the pooled raw bag score: a bag is positive when its score exceeds
        ``threshold_``. ``"auto"`` fits the model on the training part of each fold of
        skmil's inner cross-validation (5 stratified folds of the training bags, see
        :func:`skmil._inner_cv.inner_cv_splits`) and takes the threshold with the best
        held-out bag accuracy, averaged over the folds (ties go to the one closest to
        0), as :class:`sklearn.model_selection.TunedThresholdClassifierCV` does with
        ``scoring="accuracy"``. Why: the instance classifier's 0 is calibrated for
        instances that all carry their bag's label, but with ``max`` pooling a bag
        score is a maximum over many instances, so negative bags cross 0 more often
        than any one instance does. A number fixes the threshold (``0.0`` is misvm's
        SIL).
    random_state : int, RandomState instance or None, default=None
        Shuffles the inner folds of ``threshold="auto"`` (None: the unshuffled folds of
        the canonical bag order, so the model does not depend on the order of the
        training bags either way).

    Attributes
    ----------
    estimator_ : classifier
        The fitted instance classifier (trained on labels 0/1). The built-in SVC is
        given ``gamma`` as the number that ``"scale"``/``"auto"`` stand for; the primal
        solver's model has ``coef_``, ``intercept_``, ``n_iter_`` (Newton steps) and
        ``decision_function`` (of mapped instances under ``kernel_approximation``).
    kernel_map_ : Nystroem, RBFSampler or None
        The fitted feature map of ``kernel_approximation`` (None without one).
    threshold_ : float
        The threshold used; ``decision_function`` and ``decision_function_instances``
        return the raw scores minus it.
    classes_ : ndarray of shape (2,)
        Bag labels; ``classes_[1]`` is positive.
    n_features_in_ : int

    Notes
    -----
    ``decision_function_instances`` returns the instance classifier's decision value
    (or the log-odds of ``predict_proba`` when it has no ``decision_function``) minus
    ``threshold_``, a witness score of ``classes_[1]``; an instance is predicted a witness
    when it is positive, so with ``max`` pooling a bag is predicted positive exactly when
    one of its instances is.
    With the built-in SVC (``estimator=None``) the decision values are computed from its
    support vectors by skmil's blocked kernel (BLAS products, a vectorised ``exp``),
    equal to ``estimator_.decision_function`` up to rounding and about an order of
    magnitude faster than libsvm's per-pair loop on large bags
    (``benchmarks/bench_kernel_expansion.py``).
    ``fit(bags, y, instance_labels=L)`` takes known labels of some training instances
    (one array per bag: 1 witness, 0 negative, NaN unknown, see
    :meth:`~skmil.base.BaseMILClassifier.fit`): a known label replaces the label the
    instance would inherit from its bag. As a positive bag's instances inherit 1, the
    gain comes from its known negatives, which the instance classifier then sees as
    negatives.
    ``predict_proba`` exists when the instance classifier has one and pools instance
    probabilities the same way. It is the model's probability, not thresholded: its 0.5
    crossing can differ from ``predict`` when ``threshold_ != 0``.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.svm import SIL
    >>> bags, y, _ = make_mil_classification(n_bags=60, random_state=0)
    >>> clf = SIL().fit(bags, y)
    >>> clf.decision_function(bags[:2]).shape
    (2,)
    >>> [b.shape for b in clf.predict_instances(bags[:2])] == [b.shape[:1] for b in bags[:2]]
    True
    """

    _partial_instance_labels = True
    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit"]), None],
        "pooling": [StrOptions(set(_POOLINGS))],
        "kernel": [StrOptions({"linear", "rbf", "poly", "sigmoid", "precomputed"})],
        "C": [Interval(Real, 0, None, closed="neither")],
        "gamma": GAMMA_CONSTRAINT,
        "degree": [Interval(Integral, 0, None, closed="left")],
        "coef0": [Interval(Real, None, None, closed="neither")],
        "solver": [StrOptions({"auto", "libsvm", "primal"})],
        "kernel_approximation": KERNEL_APPROXIMATION_CONSTRAINT,
        "n_components": N_COMPONENTS_CONSTRAINT,
        "class_weight": [dict, StrOptions({"balanced", "balanced_instances"}), None],
        "threshold": THRESHOLD_CONSTRAINT,
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        estimator: Any = None,
        pooling: str = "max",
        kernel: str = "rbf",
        C: float = 1.0,
        gamma: Any = "scale",
        degree: int = 3,
        coef0: float = 0.0,
        solver: str = "auto",
        kernel_approximation: str | None = None,
        n_components: int = 256,
        class_weight: Any = "balanced_instances",
        threshold: Any = "auto",
        random_state: Any = None,
    ) -> None:
        self.estimator = estimator
        self.pooling = pooling
        self.kernel = kernel
        self.C = C
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.solver = solver
        self.kernel_approximation = kernel_approximation
        self.n_components = n_components
        self.class_weight = class_weight
        self.threshold = threshold
        self.random_state = random_state

    def _resolved_estimator(self, gamma: Any = None, class_weight: Any = None):
        if self.estimator is not None:
            return self.estimator
        return SVC(
            kernel=self.kernel,
            C=self.C,
            gamma=self.gamma if gamma is None else gamma,
            degree=self.degree,
            coef0=self.coef0,
            class_weight=class_weight,
        )

    def _bag_rule(self) -> str:
        return _BAG_RULES[self.pooling]

    @property
    def _pairwise_bags(self) -> bool:
        if self.estimator is None:
            return self.kernel == "precomputed"
        return getattr(self.estimator, "kernel", None) == "precomputed"

    def _fit(self, bags: Bags, y: np.ndarray,
             instance_labels: np.ndarray | None = None) -> None:
        if self._pairwise_bags:
            check_square_kernel_bags(bags)
        y_inst = np.repeat(y, bags.sizes)
        if instance_labels is not None:
            # a known label replaces the one inherited from the bag
            known = ~np.isnan(instance_labels)
            y_inst[known] = instance_labels[known].astype(y_inst.dtype)
        # the built-in SVC is fitted on 0/1, so a dict keyed by bag labels is re-keyed
        if self.class_weight == "balanced_instances":
            w = instance_balanced_weights(bags.sizes, y)
            cw = {1: w[1], 0: w[-1]}
        else:
            cw = encoded_class_weight(self.class_weight, self.classes_)
        self._expansion = None
        self.kernel_map_ = None
        if self.kernel_approximation is not None and self.estimator is not None:
            raise ValueError(
                "kernel_approximation maps the instances for the built-in SVM; with an "
                "estimator, put the map in a pipeline: make_pipeline(InstanceTransformer("
                "Nystroem()), SIL(estimator=...)).")
        check_kernel_approximation(self)
        if self.solver == "primal" and self.kernel != "linear" and (
                self.kernel_approximation is None):
            raise ValueError(
                f"solver='primal' solves the linear SVM; got kernel={self.kernel!r}. Use "
                "solver='libsvm' (or 'auto') for other kernels, or a kernel_approximation.")
        X = bags.instances
        if self.kernel_approximation is not None:
            self.kernel_map_ = fit_kernel_map(
                self.kernel_approximation, X, kernel=self.kernel,
                gamma=resolve_gamma(self.gamma, X), degree=self.degree,
                coef0=float(self.coef0), n_components=self.n_components,
                random_state=self.random_state)
            X = map_rows(self.kernel_map_, X)
        if self.estimator is None and (self.kernel_map_ is not None or (
                self.kernel == "linear" and self.solver != "libsvm")):
            y_pm = 2.0 * y_inst - 1.0
            cw_pm = ({2 * k - 1: v for k, v in cw.items()} if isinstance(cw, dict) else cw)
            svm = SquaredHingeSVM(X, self.C).fit(y_pm, sample_weights_for(y_pm, cw_pm))
            self.estimator_ = svm.release_data()
            self._expansion = KernelExpansion.linear(svm.coef_, svm.intercept_)
        elif self.estimator is None and self.kernel in _EXPANDABLE:
            # gamma as a number (sklearn's "scale"/"auto" formulas), so that the built-in
            # SVC's decision values can be evaluated by skmil's blocked BLAS kernel: libsvm
            # evaluates one instance x support vector pair at a time, ~10x slower
            gamma = resolve_gamma(self.gamma, bags.instances)
            svc = clone(self._resolved_estimator(gamma, cw)).fit(bags.instances, y_inst)
            self._expansion = KernelExpansion.from_svc(svc, self.kernel, gamma, self.degree,
                                                       self.coef0)
            self.estimator_ = svc
        else:
            est = self._resolved_estimator(None, cw)
            self.estimator_ = clone(est).fit(bags.instances, y_inst)
        # the model was fitted on the training instances in canonical order; new kernel
        # rows come with one column per training instance in the user's order
        self._kernel_columns = (
            user_instance_index(bags, self._train_order, np.arange(bags.n_instances))
            if self._pairwise_bags else None)

    def _instances(self, bags: Bags) -> np.ndarray:
        cols = getattr(self, "_kernel_columns", None)
        return bags.instances if cols is None else bags.instances[:, cols]

    def _decision_function_instances(self, bags: Bags) -> np.ndarray:
        if getattr(self, "kernel_map_", None) is not None:
            return mapped_scores(self.kernel_map_, self._expansion, bags.instances)
        if getattr(self, "_expansion", None) is not None:
            return self._expansion(bags.instances)
        return decision_scores(self.estimator_, self._instances(bags))

    def _decision_function(self, bags: Bags) -> np.ndarray:
        return _pool(self._decision_function_instances(bags), bags.offsets, self.pooling)

    _has_proba = proba_available("estimator_", "_resolved_estimator")

    @available_if(_has_proba)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Bag probabilities: pooled instance probabilities of the positive class.

        The model's probability, not thresholded: ``predict`` uses ``threshold_`` on the
        decision scale, so it can differ from this 0.5 crossing.

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
        p = self.estimator_.predict_proba(self._instances(bags))[:, 1]
        if self.pooling == "lse":
            p_bag = np.exp(segment_logsumexp(np.log(np.clip(p, 1e-300, 1.0)), bags.offsets))
        else:
            p_bag = _pool(p, bags.offsets, self.pooling)
        return self._proba_from_positive(p_bag)
