"""MissSVM (Zhou & Xu, ICML 2007): multi-instance learning as semi-supervised learning."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels.segments import segment_argmax, segment_max
from .._kernels.set_kernel import instance_kernel, resolve_gamma
from .._threshold import THRESHOLD_CONSTRAINT
from .._warnings import warn_not_converged
from ..bags import Bags, instance_indices
from ..base import BaseMILClassifier, InstancePredictionMixin
from ..utils._param_validation import Integral, Interval, Real, StrOptions
from ._common import (
    CLASS_WEIGHT_CONSTRAINT,
    GAMMA_CONSTRAINT,
    KernelExpansion,
    bag_class_weights,
    libsvm_binary_fit,
    user_instance_index,
    user_positive_bag_order,
)

__all__ = ["MissSVM"]


class MissSVM(InstancePredictionMixin, BaseMILClassifier):
    """MissSVM: instances of positive bags as unlabelled data of a semi-supervised SVM.

    Zhou & Xu (2007). Instances of negative bags are labelled negative; the instances of
    positive bags are unlabelled and pay the symmetric hinge ("hat") loss
    ``max(0, 1 - |f(x)|)`` of a transductive SVM; each positive bag must have its
    best instance on the positive side, ``max_j f(x_j) >= 1 - xi``:

    ``min 1/2 ||w||^2 + C sum_neg xi + C_bag sum_bags xi_B + C_u sum_unl hat(f(x))``.

    Both non-convex terms are handled by the concave-convex procedure (CCCP), as in the
    paper: at each step the maximum is linearised at its current argmax (one witness per
    positive bag) and ``|f(x)|`` at the current sign. Every CCCP step is then a standard
    weighted soft-margin SVM (witnesses +1, unlabelled instances with their current
    sign, negative instances -1; a witness also appears among the unlabelled instances),
    solved by libsvm with per-example weights. Stops when witnesses and signs no longer
    change (a CCCP fixed point), when a linearisation point repeats (the steps cycle
    within libsvm's tolerance), or after ``max_iter`` steps (with a
    ``ConvergenceWarning``). The first linearisation
    point is the SVM with every positive-bag instance labelled positive (mi-SVM's
    initialisation).

    Parameters
    ----------
    kernel : {"rbf", "linear", "poly", "sigmoid"}, default="rbf"
    C : float, default=1.0
        Weight of a negative instance's slack (scikit-learn meaning). The positive bags'
        and unlabelled instances' weights are balanced by count as in misvm:
        ``C_bag = C L_neg / B_pos`` and ``C_u = C L_neg / L_pos``.
    gamma : {"scale", "auto"} or float, default="scale"
        Kernel coefficient, scikit-learn's meaning, over the training instances.
    degree : int, default=3
        Degree of the polynomial kernel.
    coef0 : float, default=0.0
        Independent term of the polynomial kernel.
    class_weight : dict, "balanced" or None, default=None
        Per-class multipliers of every weight above: the negative class's multiplies
        the negative instances', the positive class's the positive bags' and the
        unlabelled instances'; ``"balanced"`` is ``n_bags / (2 n_bags_of_class)`` (a
        dict is keyed by bag label).
    max_iter : int, default=20
        Maximum CCCP steps; stopping there emits a ``ConvergenceWarning``.
    max_precomputed : int, default=8000
        Largest number of instances whose kernel matrix is computed once, held in
        memory and sliced by every step; above it libsvm computes kernel rows itself.
    tol : float, default=1e-3
        Stopping tolerance of libsvm.
    threshold : "auto" or float, default="auto"
        Offset on the raw bag score (``threshold_``, subtracted from bag and instance
        scores). ``"auto"`` fits the model on the training part of each of the 5 folds
        of skmil's inner cross-validation and takes the threshold with the best
        held-out bag accuracy (ties go to the one closest to 0), as
        :class:`~skmil.svm.SIL` does. ``0.0`` is the model's own (the paper's); its
        bag score is the best instance's score, so a large negative bag crosses 0
        whenever any one of its instances does, and ``"auto"`` corrects for that.
    random_state : int, RandomState instance or None, default=None
        Shuffles the inner folds of ``threshold="auto"``.

    Attributes
    ----------
    threshold_ : float
        The bag-score threshold used.
    witness_indices_ : ndarray of shape (n_positive_bags,)
        Final witness of each positive bag (in the order the positive bags were given),
        as a flat index into the training instances as given.
    n_iter_ : int
        SVM fits (the first linearisation point and one per CCCP step).
    stop_reason_ : {"converged", "cycle", "max_iter"}
        Why the steps stopped: a fixed point, a linearisation point seen before (the
        steps cycle within libsvm's tolerance), or the cap ``max_iter``.
    model_ : the final instance kernel expansion.
    classes_ : ndarray of shape (2,)
    n_features_in_ : int

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.svm import MissSVM
    >>> bags, y, _ = make_mil_classification(n_bags=30, random_state=0)
    >>> MissSVM(max_iter=3).fit(bags, y).predict(bags[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        "kernel": [StrOptions({"linear", "rbf", "poly", "sigmoid"})],
        "C": [Interval(Real, 0, None, closed="neither")],
        "gamma": GAMMA_CONSTRAINT,
        "degree": [Interval(Integral, 0, None, closed="left")],
        "coef0": [Interval(Real, None, None, closed="neither")],
        "class_weight": CLASS_WEIGHT_CONSTRAINT,
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "max_precomputed": [Interval(Integral, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "threshold": THRESHOLD_CONSTRAINT,
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        kernel: str = "rbf",
        C: float = 1.0,
        gamma: Any = "scale",
        degree: int = 3,
        coef0: float = 0.0,
        class_weight: Any = None,
        max_iter: int = 20,
        max_precomputed: int = 8000,
        tol: float = 1e-3,
        threshold: Any = "auto",
        random_state: Any = None,
    ) -> None:
        self.kernel = kernel
        self.C = C
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.max_precomputed = max_precomputed
        self.tol = tol
        self.threshold = threshold
        self.random_state = random_state

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        w_neg, w_pos = bag_class_weights(self.class_weight, self.classes_, y)
        gamma = resolve_gamma(self.gamma, bags.instances)
        spec = (self.kernel, gamma, self.degree, float(self.coef0))
        X = bags.instances
        pos_bags = np.flatnonzero(y == 1)
        neg_idx = instance_indices(bags.offsets, np.flatnonzero(y == 0))
        pos_idx = instance_indices(bags.offsets, pos_bags)
        pos_off = np.concatenate([[0], np.cumsum(bags.sizes[pos_bags])]).astype(np.int64)
        L_n, B_p, L_p = neg_idx.shape[0], pos_bags.shape[0], pos_idx.shape[0]
        Z = X
        K = instance_kernel(Z, Z, *spec) if Z.shape[0] <= self.max_precomputed else None

        def fit(idx, lab, w):
            if K is not None:
                Xf, kern = K.take(idx, axis=0).take(idx, axis=1), "precomputed"
            else:
                Xf, kern = Z[idx], spec[0]
            sup, dc, b = libsvm_binary_fit(
                Xf, lab, kernel=kern, C=self.C, gamma=gamma, degree=self.degree,
                coef0=self.coef0, tol=self.tol, sample_weight=w,
            )
            model = KernelExpansion(Z[idx[sup]], dc, b, *spec)
            if K is not None:
                f = K.take(pos_idx, axis=0).take(idx[sup], axis=1) @ dc + b
            else:
                f = model(X[pos_idx])
            return model, f

        w_bag, w_unl = w_pos * L_n / B_p, w_pos * L_n / L_p
        # first linearisation point: every positive-bag instance positive (SIL / the
        # mi-SVM initialisation); bag means are a poor start for local kernels
        idx0 = np.concatenate([neg_idx, pos_idx])
        lab0 = np.concatenate([-np.ones(L_n), np.ones(L_p)]).astype(int)
        model, f = fit(idx0, lab0, np.concatenate([np.full(L_n, w_neg), np.full(L_p, w_unl)]))
        self.n_iter_ = 1
        state = None
        seen = set()
        self.stop_reason_ = "max_iter"
        for _ in range(self.max_iter):
            wit = pos_idx[segment_argmax(f, pos_off)]
            signs = np.where(f >= 0, 1, -1)
            if state is not None and np.array_equal(wit, state[0]) and np.array_equal(
                signs, state[1]
            ):
                self.stop_reason_ = "converged"
                break
            key = wit.tobytes() + signs.tobytes()
            if key in seen:
                # a linearisation point seen before: libsvm's tolerance lets the steps
                # cycle instead of decreasing the objective, and more steps repeat it
                self.stop_reason_ = "cycle"
                break
            seen.add(key)
            state = (wit, signs)
            idx = np.concatenate([neg_idx, wit, pos_idx])
            lab = np.concatenate([-np.ones(L_n, dtype=int), np.ones(B_p, dtype=int), signs])
            w = np.concatenate([np.full(L_n, w_neg), np.full(B_p, w_bag), np.full(L_p, w_unl)])
            model, f = fit(idx, lab, w)
            self.n_iter_ += 1
        if self.stop_reason_ == "max_iter":
            # the last step's model may still move the witnesses or signs: check it
            wit = pos_idx[segment_argmax(f, pos_off)]
            signs = np.where(f >= 0, 1, -1)
            if np.array_equal(wit, state[0]) and np.array_equal(signs, state[1]):
                self.stop_reason_ = "converged"
            else:
                warn_not_converged(self, "max_iter", "witnesses or signs still change")
        # flat training indices and positive-bag order as the user gave the bags
        wit = user_instance_index(bags, self._train_order, pos_idx[segment_argmax(f, pos_off)])
        self.witness_indices_ = wit[user_positive_bag_order(self._train_order, y)]
        self.model_ = model

    def _decision_function_instances(self, bags: Bags) -> np.ndarray:
        return self.model_(bags.instances)

    def _decision_function(self, bags: Bags) -> np.ndarray:
        return segment_max(self._decision_function_instances(bags), bags.offsets)
