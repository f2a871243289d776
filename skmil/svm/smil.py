"""sMIL, sbMIL and stMIL (Bunescu & Mooney, ICML 2007): MIL for sparse positive bags."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.svm import SVC

from .._kernels.segments import segment_argmax, segment_max, segment_mean
from .._kernels.set_kernel import instance_kernel, resolve_gamma, set_kernel_gram
from .._threshold import THRESHOLD_CONSTRAINT
from .._warnings import warn_not_converged
from ..bags import Bags, instance_indices
from ..base import BaseMILClassifier, InstancePredictionMixin
from ..utils._param_validation import Integral, Interval, Real, StrOptions
from ._common import (
    CLASS_WEIGHT_CONSTRAINT,
    GAMMA_CONSTRAINT,
    KernelExpansion,
    encoded_class_weight,
    example_means,
    sample_weights_for,
    signed_class_weight,
    user_instance_index,
    user_instance_order,
)
from ._primal import SquaredHingeSVM
from ._smo import smo_solve

__all__ = ["SparseBalancedMIL", "SparseMIL", "SparseTransductiveMIL"]

_POOL = ("max", "mean")


def _singletons_then_bags_gram(Xs, Xb, boff, spec) -> np.ndarray:
    """Averaged set kernel over ``[each row of Xs as a bag] + [the bags of Xb]``.

    sMIL's examples are the negative instances (one-instance bags) and the positive
    bags. The singleton block is the plain instance kernel, one symmetric GEMM (SYRK)
    with no bag sums, and only the blocks that touch a positive bag go through the
    blocked set kernel: 8-17% faster than one set kernel over all examples on the
    Corel sets, whose tiles would sum every negative-negative pair into its own cell.
    """
    kernel, gamma, degree, coef0 = spec
    L, B = Xs.shape[0], boff.shape[0] - 1
    kw = dict(kernel=kernel, gamma=gamma, degree=degree, coef0=coef0,
              normalization="averaging")
    K = np.empty((L + B, L + B))
    K[:L, :L] = instance_kernel(Xs, Xs, kernel, gamma, degree, coef0)
    cross = set_kernel_gram(Xs, np.arange(L + 1, dtype=np.int64), Xb, boff, **kw)
    K[:L, L:] = cross
    K[L:, :L] = cross.T
    K[L:, L:] = set_kernel_gram(Xb, boff, **kw)
    return K


def _example_weights(class_weight: Any, classes: np.ndarray, n_neg: int,
                     n_pos: int) -> tuple[float, float]:
    """Multipliers of ``C`` for the negative and the positive examples of the QP.

    ``"balanced"`` is scikit-learn's rule over the QP's examples (negative instances and
    positive bags): ``n / (2 n_class)``; a dict is keyed by bag label.
    """
    if class_weight is None:
        return 1.0, 1.0
    if isinstance(class_weight, str):
        n = n_neg + n_pos
        return n / (2.0 * n_neg), n / (2.0 * n_pos)
    w = encoded_class_weight(class_weight, classes)
    return float(w.get(0, 1.0)), float(w.get(1, 1.0))


def _primal_rows(n_instances: int, neg_idx: np.ndarray, pos_off: np.ndarray,
                 w_neg: float, w_pos: float):
    """sMIL's rows for the primal solver: labels, weights and margins of the instances
    (the negative ones are -1 with weight ``w_neg``, the others out) followed by one row
    per positive example (+1, weight ``w_pos``, margin ``(2 - |X|)/|X|``)."""
    n = n_instances + pos_off.shape[0] - 1
    sizes = np.diff(pos_off).astype(np.float64)
    y_rows, c_rows, rho = np.zeros(n), np.zeros(n), np.ones(n)
    y_rows[neg_idx], c_rows[neg_idx] = -1.0, w_neg
    y_rows[n_instances:], c_rows[n_instances:] = 1.0, w_pos
    rho[n_instances:] = (2.0 - sizes) / sizes
    return y_rows, c_rows, rho


def _transductive_order(bags: Bags, order: np.ndarray, neg_idx: np.ndarray,
                        pos_rows: np.ndarray, pos_off: np.ndarray,
                        pos_idx: np.ndarray) -> np.ndarray:
    """stMIL's :func:`_map_examples`: negative instances, positive examples, then the
    transductive instances ``pos_idx``, each put in the user's order."""
    n_first = neg_idx.shape[0] + pos_off.shape[0] - 1
    return np.concatenate([
        _map_examples(bags, order, neg_idx, pos_rows[pos_off[:-1]]),
        n_first + np.argsort(user_instance_index(bags, order, pos_idx), kind="stable"),
    ])


def _map_examples(bags: Bags, order: np.ndarray, neg_idx: np.ndarray,
                  pos_first: np.ndarray) -> np.ndarray:
    """Permutation of per-example values (negative instances, then positive examples
    given by their first rows, as fitted in canonical order) into the order the user
    gave the bags (and their instances) in."""
    p_neg = np.argsort(user_instance_index(bags, order, neg_idx), kind="stable")
    p_pos = np.argsort(user_instance_index(bags, order, pos_first), kind="stable")
    return np.concatenate([p_neg, neg_idx.shape[0] + p_pos])


def _smil_examples(bags: Bags, y: np.ndarray, known: np.ndarray | None):
    """sMIL's examples: negative rows, and the rows and offsets of the positive examples.

    Without known labels: the instances of the negative bags, and the positive bags.
    With them (flat, 1 witness, 0 negative, NaN unknown): known negatives of any bag
    join the negative instances; a positive bag with known witnesses gives one
    one-instance example per witness (its other instances are dropped), and any other
    positive bag the bag of its instances not known negative. Positive examples keep
    the canonical order of their first rows.
    """
    y_inst = np.repeat(y, bags.sizes)
    if known is None:
        neg_idx = np.flatnonzero(y_inst == 0)
        rows = np.flatnonzero(y_inst == 1)
        single = np.zeros(rows.shape[0], dtype=bool)
    else:
        neg_idx = np.flatnonzero((y_inst == 0) | (known == 0))
        has_witness = segment_max(np.where(known == 1, 1, 0), bags.offsets) > 0
        witness_bag = np.repeat(has_witness, bags.sizes)
        rows = np.flatnonzero((y_inst == 1) & ((known == 1) | (~witness_bag & (known != 0))))
        single = known[rows] == 1
    bag = np.repeat(np.arange(bags.n_bags), bags.sizes)[rows]
    start = single | (bag != np.concatenate([[-1], bag[:-1]]))
    off = np.concatenate([np.flatnonzero(start), [rows.shape[0]]]).astype(np.int64)
    return neg_idx, rows, off


_SMIL_CONSTRAINTS: dict = {
    "kernel": [StrOptions({"linear", "rbf", "poly"})],
    "C": [Interval(Real, 0, None, closed="neither")],
    "gamma": GAMMA_CONSTRAINT,
    "degree": [Interval(Integral, 0, None, closed="left")],
    "coef0": [Interval(Real, None, None, closed="neither")],
    "class_weight": CLASS_WEIGHT_CONSTRAINT,
    "pooling": [StrOptions(set(_POOL))],
    "tol": [Interval(Real, 0, None, closed="neither")],
    "solver": [StrOptions({"auto", "smo", "primal"})],
    "max_qp_size": [Interval(Integral, 1, None, closed="left")],
    "threshold": THRESHOLD_CONSTRAINT,
    "random_state": ["random_state"],
}


class SparseMIL(InstancePredictionMixin, BaseMILClassifier):
    """sMIL: an SVM with relaxed constraints for sparse positive bags.

    Bunescu & Mooney (2007). Every negative instance is a negative example. Each positive
    bag ``X`` is one positive example represented by its mean in feature space
    ``phi(X) = mean_j phi(x_j)`` (the averaged set kernel), with the margin it would have
    if exactly one of its instances were positive:

    ``min 1/2 ||w||^2 + C/L_neg sum xi_i + C/B_pos sum xi_X``
    s.t. ``w.phi(x_i) + b <= -1 + xi_i`` (negative instances) and
    ``w.phi(X) + b >= (2 - |X|)/|X| - xi_X`` (positive bags).

    The bag-size-dependent margin is not expressible in libsvm's public interface, so the
    dual (libsvm's general form ``1/2 a'Qa + p'a`` with ``p_X = -(2-|X|)/|X|``) is solved
    by skmil's own SMO (second-order working-set selection, as in libsvm) on the
    precomputed kernel of the ``L_neg + B_pos`` examples.

    Parameters
    ----------
    kernel : {"linear", "rbf", "poly"}, default="rbf"
        Instance kernel. The paper and misvm default to ``"linear"``; skmil defaults to
        the RBF kernel, as :class:`sklearn.svm.SVC` and the rest of ``skmil.svm`` do,
        because bag witnesses are rarely linearly separable in the raw features; use
        ``"linear"`` for the paper's setting (the comparison is on :doc:`/benchmarks`).
    C : float, default=1.0
        Penalty in scikit-learn's scale, multiplied per class by ``class_weight``.
    gamma : {"scale", "auto"} or float, default="scale"
        Instance-kernel coefficient, scikit-learn's meaning, over all training instances.
    degree : int, default=3
        Degree of the polynomial kernel.
    coef0 : float, default=0.0
        Independent term of the poly kernel.
    class_weight : dict, "balanced" or None, default="balanced"
        Multipliers of ``C`` for the negative instances and the positive bags.
        ``"balanced"`` is the paper's class balancing in scikit-learn's scale: the
        slacks of negative instances are weighted by ``C n / (2 L_neg)`` and those of
        positive bags by ``C n / (2 B_pos)``, ``n = L_neg + B_pos`` (exactly ``SVC(C=C,
        class_weight="balanced")``'s weights over those examples). The paper and misvm
        weight them by ``c / L_neg`` and ``c / B_pos``, so misvm's ``C=c`` is
        ``C = 2 c / n`` here. ``None``: ``C`` for every slack; a dict is keyed by bag
        label.
    pooling : {"max", "mean"}, default="max"
        Bag score from instance scores ``f(x)``. ``"max"`` follows the MI assumption
        (bag rule ``"max"``); ``"mean"`` equals ``f(phi(X))``, misvm's bag prediction
        (bag rule ``"mean"``).
    tol : float, default=1e-3
        Stopping tolerance: the SMO's maximal KKT violation, as libsvm's; the primal
        solver's gradient norm relative to its norm at ``w = 0``.
    solver : {"auto", "smo", "primal"}, default="auto"
        ``"smo"``: skmil's SMO on the dual above (the hinge loss, the paper's problem),
        any kernel, on a dense kernel matrix of the examples. ``"primal"``
        (``kernel="linear"`` only): the same constraints with squared slacks,
        ``min 1/2 ||w||^2 + C sum_e c_e max(0, rho_e - y_e f(x_e))^2`` (``rho_e`` 1 for
        a negative instance, ``(2 - |X|)/|X|`` for a positive bag's mean), solved in the
        primal by Newton's method (see :doc:`/svm`, "Linear SVMs at scale"): time linear
        in the instances, no kernel matrix, no ``max_qp_size`` limit. ``"auto"``:
        ``"primal"`` for the linear kernel, ``"smo"`` otherwise.
    max_qp_size : int, default=15000
        Largest number of examples of the QP (``L_neg + B_pos``) accepted by the SMO:
        its dense kernel matrix takes ``8 n^2`` bytes; above it ``fit`` raises.
    threshold : "auto" or float, default="auto"
        Offset on the raw bag score (``threshold_``, subtracted from bag and instance
        scores). ``"auto"`` fits the model on the training part of each of the 5 folds
        of skmil's inner cross-validation and takes the threshold with the best
        held-out bag accuracy (ties go to the one closest to 0), as
        :class:`~skmil.svm.SIL` does. ``0.0`` is the model's own (the paper's and
        misvm's). sMIL's positive
        examples are bag means with a relaxed margin, so its 0 is not where positive
        and negative bags separate; ``"auto"`` moves the decision point to where they
        do, at the cost of 5 more fits.
    random_state : int, RandomState instance or None, default=None
        Shuffles the inner folds of ``threshold="auto"``.

    Attributes
    ----------
    model_ : instance kernel expansion ``f(x) = sum_i c_i k(s_i, x) + b``
        (a positive bag contributes each of its instances with coefficient ``c_X/|X|``).
    dual_coef_ : ndarray of shape (L_neg + B_pos,)
        ``y_i alpha_i`` of the examples: the negative instances, then the positive bags,
        each in the order they were given (with the primal solver ``alpha_i =
        2 C c_i xi_i``, the dual variables of the squared slacks). With
        ``fit(bags, y, instance_labels=L)`` (one array per bag: 1 witness, 0 negative,
        NaN unknown) known negatives of any bag are negative instances, each known
        witness a positive one-instance bag (its bag's unknown instances dropped), and
        any other positive bag the bag of its instances not known negative; sbMIL's
        step 3 keeps the known labels and stMIL transduces only the unknown instances.
    intercept_ : float
    threshold_ : float
        The bag-score threshold used.
    n_iter_ : int
        SMO iterations (Newton steps with the primal solver).
    classes_ : ndarray of shape (2,)
    n_features_in_ : int

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.svm import SparseMIL
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> SparseMIL().fit(bags, y).predict(bags[:3]).shape
    (3,)
    """

    _partial_instance_labels = True
    _parameter_constraints: dict = dict(_SMIL_CONSTRAINTS)

    def __init__(
        self,
        *,
        kernel: str = "rbf",
        C: float = 1.0,
        gamma: Any = "scale",
        degree: int = 3,
        coef0: float = 0.0,
        class_weight: Any = "balanced",
        pooling: str = "max",
        tol: float = 1e-3,
        solver: str = "auto",
        max_qp_size: int = 15000,
        threshold: Any = "auto",
        random_state: Any = None,
    ) -> None:
        self.kernel = kernel
        self.C = C
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.class_weight = class_weight
        self.pooling = pooling
        self.tol = tol
        self.solver = solver
        self.max_qp_size = max_qp_size
        self.threshold = threshold
        self.random_state = random_state

    def _bag_rule(self) -> str:
        return self.pooling

    def _smil_class_weight(self) -> Any:
        return self.class_weight

    def _resolve_solver(self) -> str:
        if self.solver == "primal" and self.kernel != "linear":
            raise ValueError(
                f"solver='primal' solves the linear SVM; got kernel={self.kernel!r}. Use "
                "solver='smo' (or 'auto') for other kernels.")
        if self.solver == "auto":
            return "primal" if self.kernel == "linear" else "smo"
        return self.solver

    def _fit_smil(self, bags: Bags, y: np.ndarray,
                  known: np.ndarray | None = None) -> SquaredHingeSVM | None:
        """Fit sMIL; returns the primal solver (warm, for stMIL's CCCP) or None."""
        self._solver = self._resolve_solver()
        # the linear kernel has no gamma; "scale" would cost a pass over the instances
        self.gamma_ = (0.0 if self.kernel == "linear"
                       else resolve_gamma(self.gamma, bags.instances))
        self._spec = (self.kernel, self.gamma_, self.degree, float(self.coef0))
        neg_idx, pos_rows, pos_off = _smil_examples(bags, y, known)
        L_n, B_p = neg_idx.shape[0], pos_off.shape[0] - 1
        n = L_n + B_p
        w_neg, w_pos = _example_weights(self._smil_class_weight(), self.classes_, L_n, B_p)
        if self._solver == "primal":
            N = bags.n_instances
            y_rows, c_rows, rho = _primal_rows(N, neg_idx, pos_off, w_neg, w_pos)
            svm = SquaredHingeSVM(bags.instances, self.C, tol=self.tol,
                                  extra=example_means(bags.instances, pos_rows, pos_off))
            svm.fit(y_rows, c_rows, rho)
            self._set_primal_model(svm)
            coef = np.concatenate([svm.dual_coef_[neg_idx], svm.dual_coef_[N:]])
            self.dual_coef_ = coef[_map_examples(bags, self._train_order, neg_idx,
                                                 pos_rows[pos_off[:-1]])]
            self.n_iter_ = svm.n_iter_
            return svm
        if n > self.max_qp_size:
            raise ValueError(
                f"{type(self).__name__} needs a dense kernel over {n} examples (negative "
                f"instances + positive bags), more than max_qp_size={self.max_qp_size}; "
                "raise it if memory allows (8 n^2 bytes)."
            )
        Xp = bags.instances[pos_rows]
        X = np.vstack([bags.instances[neg_idx], Xp])
        off = np.concatenate([np.arange(L_n), L_n + pos_off]).astype(np.int64)
        K = _singletons_then_bags_gram(X[:L_n], Xp, pos_off, self._spec)
        y_pm = np.concatenate([-np.ones(L_n), np.ones(B_p)])
        sizes = np.diff(pos_off).astype(np.float64)
        p = np.concatenate([-np.ones(L_n), -(2.0 - sizes) / sizes])
        C = np.concatenate([np.full(L_n, self.C * w_neg), np.full(B_p, self.C * w_pos)])
        alpha, rho, self.n_iter_ = smo_solve(K, p, y_pm, C, tol=self.tol)
        coef = alpha * y_pm
        # expand the bag examples into their instances (weight c_X / |X| each)
        inst_coef = np.repeat(coef, np.diff(off)) / np.repeat(np.diff(off), np.diff(off))
        keep = inst_coef != 0
        self.model_ = KernelExpansion(X[keep], inst_coef[keep], -rho, *self._spec)
        self.dual_coef_ = coef[_map_examples(bags, self._train_order, neg_idx,
                                             pos_rows[pos_off[:-1]])]
        self.intercept_ = -rho
        return None

    def _set_primal_model(self, svm: SquaredHingeSVM) -> None:
        self.model_ = KernelExpansion.linear(svm.coef_, svm.intercept_)
        self.intercept_ = svm.intercept_

    def _fit(self, bags: Bags, y: np.ndarray,
             instance_labels: np.ndarray | None = None) -> None:
        self._fit_smil(bags, y, instance_labels)

    def _decision_function_instances(self, bags: Bags) -> np.ndarray:
        return self.model_(bags.instances)

    def _decision_function(self, bags: Bags) -> np.ndarray:
        f = self._decision_function_instances(bags)
        if self.pooling == "mean":
            return segment_mean(f, bags.offsets)
        return segment_max(f, bags.offsets)


class SparseBalancedMIL(SparseMIL):
    """sbMIL: sMIL, then an instance SVM with the top-scoring positive-bag instances positive.

    Bunescu & Mooney (2007) for bags whose positives are not sparse: (1) train
    :class:`SparseMIL`; (2) score the ``L_pos`` instances of positive bags; (3) label the
    ``max(B_pos, round(eta * L_pos))`` highest-scoring ones positive (and make each
    positive bag's best instance positive, so no positive bag is left without one) and
    the rest negative; (4) train a standard instance SVM (libsvm) on all instances.
    Bag score = maximum instance score.

    The sMIL of step (1) takes ``kernel``, ``C``, ``gamma``, ``degree``, ``coef0``,
    ``tol`` and ``max_qp_size`` as :class:`SparseMIL` does, its slacks always weighted
    ``"balanced"`` (the paper's). In step (4) the instance SVM uses the same kernel and
    ``C`` in scikit-learn's meaning (misvm divides its ``C`` by the number of instances
    ``N``: misvm ``C=c`` is ``C = c / N`` for this stage).

    Parameters
    ----------
    kernel : {"linear", "rbf", "poly"}, default="rbf"
        Instance kernel of both stages, as in :class:`SparseMIL`.
    eta : float, default=0.5
        Expected fraction of positive instances in positive bags (the paper's balancing
        parameter; tune it, e.g. by inner CV).
    C : float, default=1.0
        Penalty of both stages, in scikit-learn's scale.
    gamma : {"scale", "auto"} or float, default="scale"
        Instance-kernel coefficient, as in :class:`SparseMIL`.
    degree : int, default=3
        Degree of the polynomial kernel.
    coef0 : float, default=0.0
        Independent term of the poly kernel.
    class_weight : dict, "balanced" or None, default=None
        Class weights of the final instance SVM (step 4), keyed by bag label.
    pooling : {"max", "mean"}, default="max"
        Bag score from the final instance scores, as in :class:`SparseMIL`.
    tol : float, default=1e-3
        Stopping tolerance of both stages' solvers.
    solver : {"auto", "smo", "primal"}, default="auto"
        Solver of step (1), as in :class:`SparseMIL`; with ``"primal"`` the instance SVM
        of step (4) is the squared-hinge SVM solved the same way, otherwise libsvm's.
    max_qp_size : int, default=15000
        Largest QP of step (1), as in :class:`SparseMIL`.
    threshold : "auto" or float, default="auto"
        As in :class:`SparseMIL`, for the final instance SVM. Pass ``0.0`` to keep
        the instance SVM's own decision point.
    random_state : int, RandomState instance or None, default=None
        Shuffles the inner folds of ``threshold="auto"``.

    Attributes
    ----------
    smil_model_ : instance kernel expansion
        The first-stage sMIL model.
    instance_labels_ : ndarray of shape (n_instances,)
        The labels in {-1, +1} the final SVM was trained on, one per training instance
        in the order the bags were given.
    model_ : the final instance kernel expansion.
    classes_ : ndarray of shape (2,)
    n_features_in_ : int

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.svm import SparseBalancedMIL
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> SparseBalancedMIL(eta=0.3).fit(bags, y).predict(bags[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        **_SMIL_CONSTRAINTS, "eta": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(
        self,
        *,
        kernel: str = "rbf",
        eta: float = 0.5,
        C: float = 1.0,
        gamma: Any = "scale",
        degree: int = 3,
        coef0: float = 0.0,
        class_weight: Any = None,
        pooling: str = "max",
        tol: float = 1e-3,
        solver: str = "auto",
        max_qp_size: int = 15000,
        threshold: Any = "auto",
        random_state: Any = None,
    ) -> None:
        super().__init__(kernel=kernel, C=C, gamma=gamma, degree=degree, coef0=coef0,
                         class_weight=class_weight, pooling=pooling, tol=tol,
                         solver=solver, max_qp_size=max_qp_size, threshold=threshold,
                         random_state=random_state)
        self.eta = eta

    def _smil_class_weight(self) -> Any:
        return "balanced"  # step (1) is the paper's sMIL; class_weight is step (4)'s

    def _fit(self, bags: Bags, y: np.ndarray,
             instance_labels: np.ndarray | None = None) -> None:
        self._fit_smil(bags, y, instance_labels)
        self.smil_model_ = self.model_
        pos_bags = np.flatnonzero(y == 1)
        pos_idx = instance_indices(bags.offsets, pos_bags)
        pos_off = np.concatenate([[0], np.cumsum(bags.sizes[pos_bags])]).astype(np.int64)
        f = self.model_(bags.instances[pos_idx])
        L_p, B_p = pos_idx.shape[0], pos_bags.shape[0]
        n_top = min(L_p, max(B_p, int(round(self.eta * L_p))))
        lab = -np.ones(L_p, dtype=np.int64)
        lab[np.argsort(-f, kind="stable")[:n_top]] = 1
        if instance_labels is None:
            lab[segment_argmax(f, pos_off)] = 1
        else:
            # known labels override step 3's; a bag without a known witness keeps its
            # best-scoring instance that is not a known negative as a positive
            kp = instance_labels[pos_idx]
            lab = np.where(kp == 1, 1, np.where(kp == 0, -1, lab))
            has_witness = np.repeat(segment_max(np.where(kp == 1, 1, 0), pos_off) > 0,
                                    np.diff(pos_off))
            best = segment_argmax(np.where(kp == 0, -np.inf, f), pos_off)
            lab[best[~has_witness[pos_off[:-1]]]] = 1
        labels = -np.ones(bags.n_instances, dtype=np.int64)
        labels[pos_idx] = lab
        self.instance_labels_ = labels[user_instance_order(bags, self._train_order)]
        cw = signed_class_weight(self.class_weight, self.classes_)
        if self._solver == "primal":
            y_pm = labels.astype(np.float64)
            svm = SquaredHingeSVM(bags.instances, self.C, tol=self.tol).fit(
                y_pm, sample_weights_for(y_pm, cw))
            self._set_primal_model(svm)
            self.dual_coef_ = svm.dual_coef_[user_instance_order(bags, self._train_order)]
            return
        kernel, gamma, degree, coef0 = self._spec
        svc = SVC(kernel=kernel, C=self.C, gamma=gamma, degree=degree,
                  coef0=coef0, class_weight=cw, tol=self.tol)
        svc.fit(bags.instances, labels)
        self.model_ = KernelExpansion.from_svc(svc, *self._spec)
        self.dual_coef_ = self.model_.dual_coef
        self.intercept_ = self.model_.intercept



class SparseTransductiveMIL(SparseMIL):
    """stMIL: sMIL plus transductive constraints on the instances of positive bags.

    Bunescu & Mooney (2007). The instances of positive bags are treated as unlabelled
    data, as in a transductive SVM: each should lie outside the margin,
    ``|f(x)| >= 1 - xi_x``, added to sMIL's objective with ``B_pos / L_pos`` times the
    weight of a positive bag's slack per instance (``C n / (2 L_pos)`` with the default
    ``class_weight="balanced"``; the paper weights it ``C / L_pos``; see
    :class:`SparseMIL` for the scaling). The constraint is non-convex; it is handled by
    the concave-convex procedure (CCCP), as in the paper: at each step ``|f(x)|`` is
    linearised at the current solution, which turns it into the label
    ``s_x = sign(f(x))`` of an ordinary hinge constraint ``s_x f(x) >= 1 - xi_x``. Each
    step is therefore an sMIL dual with extra examples, solved by the same SMO;
    iterations stop when no sign changes (CCCP's objective then no longer decreases) or
    after ``max_iter`` steps (with a ``ConvergenceWarning``). The first linearisation
    point is the sMIL solution.

    Parameters
    ----------
    kernel : {"linear", "rbf", "poly"}, default="rbf"
        Instance kernel, as in :class:`SparseMIL`.
    C : float, default=1.0
        Penalty in scikit-learn's scale, as in :class:`SparseMIL`.
    gamma : {"scale", "auto"} or float, default="scale"
        Instance-kernel coefficient, as in :class:`SparseMIL`.
    degree : int, default=3
        Degree of the polynomial kernel.
    coef0 : float, default=0.0
        Independent term of the poly kernel.
    class_weight : dict, "balanced" or None, default="balanced"
        Multipliers of ``C``, as in :class:`SparseMIL`.
    pooling : {"max", "mean"}, default="max"
        Bag score from instance scores, as in :class:`SparseMIL`.
    max_iter : int, default=10
        Maximum CCCP steps.
    tol : float, default=1e-3
        Stopping tolerance, as in :class:`SparseMIL`.
    solver : {"auto", "smo", "primal"}, default="auto"
        As in :class:`SparseMIL`; with ``"primal"`` every CCCP step is the squared-slack
        problem, solved from the previous step's solution.
    max_qp_size : int, default=15000
        Largest number of examples of the QP (``L_neg + B_pos + L_pos``) accepted by the
        SMO (dense kernel, ``8 n^2`` bytes); above it ``fit`` raises.
    threshold : "auto" or float, default="auto"
        As in :class:`SparseMIL` (one more CCCP run per inner fold). Where training
        bags share their instances (bags resampled from one pool) the inner folds'
        held-out bags resemble the training bags and the threshold may not transfer;
        pass a number there.
    random_state : int, RandomState instance or None, default=None
        Shuffles the inner folds of ``threshold="auto"``.

    Attributes
    ----------
    model_ : instance kernel expansion of the final step.
    dual_coef_ : ndarray of shape (L_neg + B_pos + L_pos,)
        ``y_i alpha_i`` of the examples: the negative instances, the positive bags,
        then the instances of the positive bags, each in the order they were given.
    intercept_ : float
    n_iter_ : int
        CCCP steps taken.
    classes_ : ndarray of shape (2,)
    n_features_in_ : int

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.svm import SparseTransductiveMIL
    >>> bags, y, _ = make_mil_classification(n_bags=30, random_state=0)
    >>> SparseTransductiveMIL(max_iter=10).fit(bags, y).predict(bags[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        **_SMIL_CONSTRAINTS, "max_iter": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        kernel: str = "rbf",
        C: float = 1.0,
        gamma: Any = "scale",
        degree: int = 3,
        coef0: float = 0.0,
        class_weight: Any = "balanced",
        pooling: str = "max",
        max_iter: int = 10,
        tol: float = 1e-3,
        solver: str = "auto",
        max_qp_size: int = 15000,
        threshold: Any = "auto",
        random_state: Any = None,
    ) -> None:
        super().__init__(kernel=kernel, C=C, gamma=gamma, degree=degree, coef0=coef0,
                         class_weight=class_weight, pooling=pooling, tol=tol,
                         solver=solver, max_qp_size=max_qp_size, threshold=threshold,
                         random_state=random_state)
        self.max_iter = max_iter

    def _fit(self, bags: Bags, y: np.ndarray,
             instance_labels: np.ndarray | None = None) -> None:
        svm = self._fit_smil(bags, y, instance_labels)
        neg_idx, pos_rows, pos_off = _smil_examples(bags, y, instance_labels)
        # the transductive examples: the positive bags' instances of unknown label
        in_pos = np.repeat(y == 1, bags.sizes)
        if instance_labels is not None:
            in_pos &= np.isnan(instance_labels)
        pos_idx = np.flatnonzero(in_pos)
        L_n, B_p, L_p = neg_idx.shape[0], pos_off.shape[0] - 1, pos_idx.shape[0]
        if L_p == 0:  # every positive-bag instance is known: nothing to transduce
            self.n_iter_ = 0
            return
        w_neg, w_pos = _example_weights(self.class_weight, self.classes_, L_n, B_p)
        if svm is not None:
            self._cccp_primal(svm, bags, neg_idx, pos_rows, pos_off, pos_idx,
                              (w_neg, w_pos, w_pos * B_p / L_p))
            return
        n = L_n + B_p + L_p
        if n > self.max_qp_size:
            raise ValueError(
                f"{type(self).__name__} needs a dense kernel over {n} examples (negative "
                "instances + positive bags + their instances), more than "
                f"max_qp_size={self.max_qp_size}; raise it if memory allows (8 n^2 bytes)."
            )
        # examples: negative instances | positive bags (averaged) | positive-bag instances
        Xt = bags.instances[pos_idx]
        X = np.vstack([bags.instances[neg_idx], bags.instances[pos_rows], Xt])
        sizes = np.concatenate([np.ones(L_n, dtype=np.int64), np.diff(pos_off),
                                np.ones(L_p, dtype=np.int64)])
        off = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        kernel, gamma, degree, coef0 = self._spec
        K = set_kernel_gram(X, off, kernel=kernel, gamma=gamma, degree=degree,
                            coef0=coef0, normalization="averaging")
        bsz = np.diff(pos_off).astype(np.float64)
        p = np.concatenate([-np.ones(L_n), -(2.0 - bsz) / bsz, -np.ones(L_p)])
        C = np.concatenate([np.full(L_n, self.C * w_neg),
                            np.full(B_p, self.C * w_pos),
                            np.full(L_p, self.C * w_pos * B_p / L_p)])
        rep = np.repeat(np.arange(off.shape[0] - 1), sizes)
        last = {}

        def step(signs):
            y_pm = np.concatenate([-np.ones(L_n), np.ones(B_p), signs])
            alpha, rho, _ = smo_solve(K, p, y_pm, C, tol=self.tol)
            last["coef"], last["rho"] = alpha * y_pm, rho
            inst_coef = last["coef"][rep] / sizes[rep]
            keep = inst_coef != 0
            self.model_ = KernelExpansion(X[keep], inst_coef[keep], -rho, *self._spec)
            return np.where(self.model_(Xt) >= 0, 1.0, -1.0)

        self._cccp(np.where(self.model_(Xt) >= 0, 1.0, -1.0), step)
        self.dual_coef_ = last["coef"][_transductive_order(bags, self._train_order, neg_idx,
                                                           pos_rows, pos_off, pos_idx)]
        self.intercept_ = -last["rho"]

    def _cccp(self, signs: np.ndarray, step) -> None:
        """CCCP's loop: ``step(signs)`` fits one step and returns the new signs of the
        positive bags' instances; stop when they repeat or after ``max_iter`` steps."""
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            new = step(signs)
            self.n_iter_ += 1
            if np.array_equal(new, signs):
                return
            signs = new
        warn_not_converged(self, "max_iter", "signs of positive-bag instances change")

    def _cccp_primal(self, svm: SquaredHingeSVM, bags: Bags, neg_idx: np.ndarray,
                     pos_rows: np.ndarray, pos_off: np.ndarray, pos_idx: np.ndarray,
                     weights: tuple[float, float, float]) -> None:
        """CCCP with squared slacks: each step adds the positive bags' instances with the
        signs of the previous solution to sMIL's rows and solves from that solution."""
        N = bags.n_instances
        w_neg, w_pos, w_trans = weights
        y_rows, c_rows, rho = _primal_rows(N, neg_idx, pos_off, w_neg, w_pos)
        c_rows[pos_idx] = w_trans

        def step(signs):
            y_rows[pos_idx] = signs
            svm.fit(y_rows, c_rows, rho)
            return np.where(svm.scores_[pos_idx] >= 0, 1.0, -1.0)

        self._cccp(np.where(svm.scores_[pos_idx] >= 0, 1.0, -1.0), step)
        self._set_primal_model(svm)
        coef = np.concatenate([svm.dual_coef_[neg_idx], svm.dual_coef_[N:],
                               svm.dual_coef_[pos_idx]])
        self.dual_coef_ = coef[_transductive_order(bags, self._train_order, neg_idx,
                                                   pos_rows, pos_off, pos_idx)]
