"""sMIL and sbMIL (Bunescu & Mooney, ICML 2007): MIL for sparse positive bags."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.svm import SVC

from .._kernels.segments import segment_argmax, segment_max, segment_mean
from .._kernels.set_kernel import (
    check_kernel_name,
    instance_kernel,
    resolve_gamma,
    set_kernel_gram,
)
from .._threshold import cv_threshold
from ..bags import Bags, instance_indices
from ..base import BaseMILClassifier, InstancePredictionMixin
from ._common import KernelExpansion, check_positive, signed_class_weight
from ._smo import smo_solve

__all__ = ["sMIL", "sbMIL", "stMIL"]

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


class sMIL(InstancePredictionMixin, BaseMILClassifier):
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
        Penalty in scikit-learn's scale with the paper's class balancing: the slacks of
        negative instances are weighted by ``C n / (2 L_neg)`` and those of positive
        bags by ``C n / (2 B_pos)``, ``n = L_neg + B_pos`` (exactly ``SVC(C=C,
        class_weight="balanced")``'s weights). The paper and misvm weight them by
        ``c / L_neg`` and ``c / B_pos``, so misvm's ``C=c`` is ``C = 2 c / n`` here.
    gamma : {"scale", "auto"} or float, default="scale"
        Instance-kernel coefficient (``"scale"`` over all training instances).
    degree : int, default=3
    coef0 : float, default=1.0
    pooling : {"max", "mean"}, default="max"
        Bag score from instance scores ``f(x)``. ``"max"`` follows the MI assumption;
        ``"mean"`` equals ``f(phi(X))``, misvm's bag prediction.
    tol : float, default=1e-3
        SMO stopping tolerance (maximal KKT violation), as libsvm's.
    max_examples : int, default=15000
        Largest ``L_neg + B_pos`` accepted (the dense kernel takes ``8 n^2`` bytes).
    threshold : "auto" or float, default="auto"
        Bag-score threshold ``threshold_``, subtracted from bag and instance scores.
        ``"auto"`` fits the model three more times, on the folds of a stratified
        3-fold split of the training bags, and takes the threshold with the best
        accuracy on the held-out bags' scores (ties keep 0), as :class:`~skmil.svm.SIL`
        does. ``0.0`` is the model's own (the paper's and misvm's). sMIL's positive
        examples are bag means with a relaxed margin, so its 0 is not where positive
        and negative bags separate; ``"auto"`` moves the decision point to where they
        do, at the cost of 5 more fits.

    Attributes
    ----------
    model_ : instance kernel expansion ``f(x) = sum_i c_i k(s_i, x) + b``
        (a positive bag contributes each of its instances with coefficient ``c_X/|X|``).
    threshold_ : float
        The bag-score threshold used.
    n_iter_ : int
        SMO iterations.
    classes_ : ndarray of shape (2,)
    n_features_in_ : int

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.svm import sMIL
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> sMIL().fit(bags, y).predict(bags[:3]).shape
    (3,)
    """

    _contract_test_params: dict = {}

    def __init__(
        self,
        kernel: str = "rbf",
        *,
        C: float = 1.0,
        gamma: Any = "scale",
        degree: int = 3,
        coef0: float = 1.0,
        pooling: str = "max",
        tol: float = 1e-3,
        max_examples: int = 15000,
        threshold: Any = "auto",
    ) -> None:
        self.kernel = kernel
        self.C = C
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.pooling = pooling
        self.tol = tol
        self.max_examples = max_examples
        self.threshold = threshold

    def _check(self, bags):
        check_kernel_name(self.kernel, ("linear", "rbf", "poly"))
        check_positive("C", self.C)
        check_positive("tol", self.tol)
        if self.pooling not in _POOL:
            raise ValueError(f"pooling must be one of {_POOL}, got {self.pooling!r}.")
        self.gamma_ = resolve_gamma(self.gamma, bags.instances)
        self._spec = (self.kernel, self.gamma_, self.degree, float(self.coef0))

    def _fit_smil(self, bags: Bags, y: np.ndarray) -> None:
        self._check(bags)
        neg_bags = np.flatnonzero(y == 0)
        pos_bags = np.flatnonzero(y == 1)
        neg_idx = instance_indices(bags.offsets, neg_bags)
        pos = bags.take(pos_bags)
        L_n, B_p = neg_idx.shape[0], pos_bags.shape[0]
        n = L_n + B_p
        if n > self.max_examples:
            raise ValueError(
                f"sMIL needs a dense kernel over {n} examples (negative instances + "
                f"positive bags), more than max_examples={self.max_examples}; raise it "
                "if memory allows (8 n^2 bytes)."
            )
        X = np.vstack([bags.instances[neg_idx], pos.instances])
        off = np.concatenate([np.arange(L_n), L_n + pos.offsets]).astype(np.int64)
        K = _singletons_then_bags_gram(X[:L_n], pos.instances, pos.offsets, self._spec)
        y_pm = np.concatenate([-np.ones(L_n), np.ones(B_p)])
        sizes = pos.sizes.astype(np.float64)
        p = np.concatenate([-np.ones(L_n), -(2.0 - sizes) / sizes])
        C = np.concatenate([np.full(L_n, self.C * n / (2.0 * L_n)),
                            np.full(B_p, self.C * n / (2.0 * B_p))])
        alpha, rho, self.n_iter_ = smo_solve(K, p, y_pm, C, tol=self.tol)
        coef = alpha * y_pm
        # expand the bag examples into their instances (weight c_X / |X| each)
        inst_coef = np.repeat(coef, np.diff(off)) / np.repeat(np.diff(off), np.diff(off))
        keep = inst_coef != 0
        self.model_ = KernelExpansion(X[keep], inst_coef[keep], -rho, *self._spec)
        self.dual_coef_ = coef
        self.intercept_ = -rho

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        # "auto" refits clones with threshold=0 on inner folds before the model is fitted
        self.threshold_ = cv_threshold(self, bags, y)
        self._fit_model(bags, y)

    def _fit_model(self, bags: Bags, y: np.ndarray) -> None:
        self._fit_smil(bags, y)

    def _decision_function_instances(self, bags: Bags) -> np.ndarray:
        # max and mean pooling commute with the shift, so bag scores are shifted too
        return self.model_(bags.instances) - self.threshold_

    def _decision_function(self, bags: Bags) -> np.ndarray:
        f = self._decision_function_instances(bags)
        if self.pooling == "mean":
            return segment_mean(f, bags.offsets)
        return segment_max(f, bags.offsets)


class sbMIL(sMIL):
    """sbMIL: sMIL, then an instance SVM with the top-scoring positive-bag instances positive.

    Bunescu & Mooney (2007) for bags whose positives are not sparse: (1) train
    :class:`sMIL`; (2) score the ``L_pos`` instances of positive bags; (3) label the
    ``max(B_pos, round(eta * L_pos))`` highest-scoring ones positive (and make each
    positive bag's best instance positive, so no positive bag is left without one) and
    the rest negative; (4) train a standard instance SVM (libsvm) on all instances.
    Bag score = maximum instance score.

    Parameters
    ----------
    eta : float, default=0.5
        Expected fraction of positive instances in positive bags (the paper's balancing
        parameter; tune it, e.g. by inner CV).
    kernel, C, gamma, degree, coef0, tol, max_examples :
        As in :class:`sMIL` for step (1). In step (4) the instance SVM uses the same
        kernel and ``C`` in scikit-learn's meaning (misvm divides its ``C`` by the
        number of instances ``N``: misvm ``C=c`` is ``C = c / N`` for this stage).
    threshold : "auto" or float, default="auto"
        As in :class:`sMIL`, for the final instance SVM. With the RBF kernel,
        ``"auto"`` raised the digits-bags accuracy from 0.54-0.76 to 0.77-0.99 and
        changed the classic sets' by -1.7 to +2.2 points (mean +0.2); with the linear
        kernel it had been 0.8-0.9 points less accurate than 0 on four of the five
        classic sets (docs: SVM family).
    class_weight : dict, "balanced" or None, default=None
        Class weights of the final instance SVM.
    pooling : {"max", "mean"}, default="max"

    Attributes
    ----------
    smil_model_ : instance kernel expansion
        The first-stage sMIL model.
    instance_labels_ : ndarray of shape (n_instances,)
        The labels in {-1, +1} the final SVM was trained on.
    model_ : the final instance kernel expansion.
    classes_ : ndarray of shape (2,)
    n_features_in_ : int

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.svm import sbMIL
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> sbMIL(eta=0.3).fit(bags, y).predict(bags[:3]).shape
    (3,)
    """

    def __init__(
        self,
        kernel: str = "rbf",
        *,
        eta: float = 0.5,
        C: float = 1.0,
        gamma: Any = "scale",
        degree: int = 3,
        coef0: float = 1.0,
        class_weight: Any = None,
        pooling: str = "max",
        tol: float = 1e-3,
        max_examples: int = 15000,
        threshold: Any = "auto",
    ) -> None:
        super().__init__(kernel, C=C, gamma=gamma, degree=degree, coef0=coef0,
                         pooling=pooling, tol=tol, max_examples=max_examples,
                         threshold=threshold)
        self.eta = eta
        self.class_weight = class_weight

    def _fit_model(self, bags: Bags, y: np.ndarray) -> None:
        if not (isinstance(self.eta, (int, float)) and 0 <= self.eta <= 1):
            raise ValueError(f"eta must be a number in [0, 1], got {self.eta!r}.")
        self._fit_smil(bags, y)
        self.smil_model_ = self.model_
        pos_bags = np.flatnonzero(y == 1)
        pos_idx = instance_indices(bags.offsets, pos_bags)
        pos_off = np.concatenate([[0], np.cumsum(bags.sizes[pos_bags])]).astype(np.int64)
        f = self.model_(bags.instances[pos_idx])
        L_p, B_p = pos_idx.shape[0], pos_bags.shape[0]
        n_top = min(L_p, max(B_p, int(round(self.eta * L_p))))
        lab = -np.ones(L_p, dtype=np.int64)
        lab[np.argsort(-f, kind="stable")[:n_top]] = 1
        lab[segment_argmax(f, pos_off)] = 1
        labels = -np.ones(bags.n_instances, dtype=np.int64)
        labels[pos_idx] = lab
        self.instance_labels_ = labels
        cw = signed_class_weight(self.class_weight, self.classes_)
        kernel, gamma, degree, coef0 = self._spec
        svc = SVC(kernel=kernel, C=self.C, gamma=gamma, degree=degree,
                  coef0=coef0, class_weight=cw, tol=self.tol)
        svc.fit(bags.instances, labels)
        self.model_ = KernelExpansion.from_svc(svc, *self._spec)
        self.dual_coef_ = self.model_.dual_coef
        self.intercept_ = self.model_.intercept



class stMIL(sMIL):
    """stMIL: sMIL plus transductive constraints on the instances of positive bags.

    Bunescu & Mooney (2007). The instances of positive bags are treated as unlabelled
    data, as in a transductive SVM: each should lie outside the margin,
    ``|f(x)| >= 1 - xi_x``, added to sMIL's objective with weight ``C n / (2 L_pos)``
    per instance (the paper weights it ``C / L_pos``; see :class:`sMIL` for the
    scaling). The constraint is non-convex; it is handled by the concave-convex
    procedure (CCCP), as in the paper: at each step ``|f(x)|`` is linearised at the
    current solution, which turns it into the label ``s_x = sign(f(x))`` of an ordinary
    hinge constraint ``s_x f(x) >= 1 - xi_x``. Each step is therefore an sMIL dual with
    extra examples, solved by the same SMO; iterations stop when no sign changes
    (CCCP's objective then no longer decreases) or after ``max_iter`` steps. The first
    linearisation point is the sMIL solution.

    Parameters
    ----------
    kernel, C, gamma, degree, coef0, pooling, tol :
        As in :class:`sMIL`.
    threshold : "auto" or float, default="auto"
        As in :class:`sMIL` (three more CCCP runs). With the RBF kernel and
        ``"auto"`` stMIL was more accurate than the former defaults (linear, 0) on
        MUSK1, MUSK2 and FOX (by 4.1-16.9 points) and less on TIGER and ELEPHANT (by
        8.1 and 1.6), and 4-90x faster (docs: SVM family).
    max_iter : int, default=10
        Maximum CCCP steps.
    max_examples : int, default=15000
        Largest ``L_neg + B_pos + L_pos`` accepted (dense kernel, ``8 n^2`` bytes).

    Attributes
    ----------
    model_ : instance kernel expansion of the final step.
    n_iter_ : int
        CCCP steps taken.
    classes_ : ndarray of shape (2,)
    n_features_in_ : int

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.svm import stMIL
    >>> bags, y, _ = make_mil_classification(n_bags=30, random_state=0)
    >>> stMIL(max_iter=3).fit(bags, y).predict(bags[:3]).shape
    (3,)
    """

    _contract_test_params = {"max_iter": 3}

    def __init__(
        self,
        kernel: str = "rbf",
        *,
        C: float = 1.0,
        gamma: Any = "scale",
        degree: int = 3,
        coef0: float = 1.0,
        pooling: str = "max",
        max_iter: int = 10,
        tol: float = 1e-3,
        max_examples: int = 15000,
        threshold: Any = "auto",
    ) -> None:
        super().__init__(kernel, C=C, gamma=gamma, degree=degree, coef0=coef0,
                         pooling=pooling, tol=tol, max_examples=max_examples,
                         threshold=threshold)
        self.max_iter = max_iter

    def _fit_model(self, bags: Bags, y: np.ndarray) -> None:
        check_positive("max_iter", self.max_iter, integer=True)
        self._fit_smil(bags, y)
        neg_idx = instance_indices(bags.offsets, np.flatnonzero(y == 0))
        pos_bags = np.flatnonzero(y == 1)
        pos = bags.take(pos_bags)
        L_n, B_p, L_p = neg_idx.shape[0], pos_bags.shape[0], pos.n_instances
        n = L_n + B_p + L_p
        if n > self.max_examples:
            raise ValueError(
                f"stMIL needs a dense kernel over {n} examples, more than "
                f"max_examples={self.max_examples}; raise it if memory allows."
            )
        # examples: negative instances | positive bags (averaged) | positive-bag instances
        X = np.vstack([bags.instances[neg_idx], pos.instances, pos.instances])
        sizes = np.concatenate([np.ones(L_n, dtype=np.int64), pos.sizes,
                                np.ones(L_p, dtype=np.int64)])
        off = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        kernel, gamma, degree, coef0 = self._spec
        K = set_kernel_gram(X, off, kernel=kernel, gamma=gamma, degree=degree,
                            coef0=coef0, normalization="averaging")
        bsz = pos.sizes.astype(np.float64)
        p = np.concatenate([-np.ones(L_n), -(2.0 - bsz) / bsz, -np.ones(L_p)])
        m = L_n + B_p
        C = np.concatenate([np.full(L_n, self.C * m / (2.0 * L_n)),
                            np.full(B_p, self.C * m / (2.0 * B_p)),
                            np.full(L_p, self.C * m / (2.0 * L_p))])
        signs = np.where(self.model_(pos.instances) >= 0, 1.0, -1.0)
        rep = np.repeat(np.arange(off.shape[0] - 1), sizes)
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            y_pm = np.concatenate([-np.ones(L_n), np.ones(B_p), signs])
            alpha, rho, _ = smo_solve(K, p, y_pm, C, tol=self.tol)
            self.n_iter_ += 1
            coef = alpha * y_pm
            inst_coef = coef[rep] / sizes[rep]
            keep = inst_coef != 0
            self.model_ = KernelExpansion(X[keep], inst_coef[keep], -rho, *self._spec)
            new = np.where(self.model_(pos.instances) >= 0, 1.0, -1.0)
            if np.array_equal(new, signs):
                break
            signs = new
        self.dual_coef_ = coef
        self.intercept_ = -rho
