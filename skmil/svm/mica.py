"""MICA (Mangasarian & Wild, 2008): multiple-instance classification by linear programs."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from .._kernels.segments import segment_argmax, segment_max
from .._kernels.set_kernel import instance_kernel, resolve_gamma
from .._warnings import warn_not_converged
from ..bags import Bags, instance_indices
from ..base import BaseMILClassifier, InstancePredictionMixin
from ..utils._param_validation import Integral, Interval, Real, StrOptions
from ._common import (
    CLASS_WEIGHT_CONSTRAINT,
    GAMMA_CONSTRAINT,
    KernelExpansion,
    encoded_class_weight,
    user_instance_index,
    user_positive_bag_order,
)

__all__ = ["MICA"]



class _MicaLP:
    """The LP of one MICA step, with the negative-instance rows built once.

    Columns: ``[w+ (m), w- (m), b, xi_pos (B_pos), xi_neg (L_neg)]`` where ``m`` is the
    number of features (linear) or of basis points (kernel: ``w`` is then ``u``);
    ``w = w+ - w-`` makes the 1-norm linear. Rows (all ``<= -1``):
    ``F_neg w + b - xi_neg`` and ``-F_rep w - b - xi_pos``, where ``F`` holds
    instances (linear) or kernel rows ``K(x, H')`` (kernel). Everything goes to HiGHS
    as one sparse CSC matrix.
    """

    def __init__(self, F_neg: np.ndarray, n_pos_bags: int, Cn: float, Cp: float) -> None:
        L_n, m = F_neg.shape
        B_p = n_pos_bags
        self.m, self.L_n, self.B_p = m, L_n, B_p
        self.c = np.concatenate([np.ones(2 * m), [0.0], np.full(B_p, Cp), np.full(L_n, Cn)])
        self.A_neg = sp.hstack([sp.csr_matrix(F_neg), sp.csr_matrix(-F_neg),
                                sp.csr_matrix(np.ones((L_n, 1))),
                                sp.csr_matrix((L_n, B_p)), -sp.identity(L_n, format="csr")])
        self.b_ub = -np.ones(L_n + B_p)
        self.bounds = [(0, None)] * (2 * m) + [(None, None)] + [(0, None)] * (B_p + L_n)

    def matrix(self, F_rep: np.ndarray) -> sp.csc_matrix:
        B_p, L_n = self.B_p, self.L_n
        A_pos = sp.hstack([sp.csr_matrix(-F_rep), sp.csr_matrix(F_rep),
                           sp.csr_matrix(-np.ones((B_p, 1))),
                           -sp.identity(B_p, format="csr"), sp.csr_matrix((B_p, L_n))])
        return sp.vstack([self.A_neg, A_pos]).tocsc()

    def solve(self, F_rep: np.ndarray):
        """Optimal ``(w, b, objective, x)`` for the representatives ``F_rep``."""
        res = linprog(self.c, A_ub=self.matrix(F_rep), b_ub=self.b_ub, bounds=self.bounds,
                      method="highs")
        if res.status != 0:  # pragma: no cover - the LP is always feasible and bounded
            raise RuntimeError(f"MICA linear program failed: {res.message}")
        x = res.x
        m = self.m
        return x[:m] - x[m:2 * m], float(x[2 * m]), float(res.fun), x


class MICA(InstancePredictionMixin, BaseMILClassifier):
    """MICA: a 1-norm classifier where each positive bag is a convex combination.

    Mangasarian & Wild (2008). Every instance of a negative bag must lie on the
    negative side; each positive bag is represented by a convex combination
    ``X_i' v_i`` (``v_i >= 0``, ``sum v_i = 1``) of its instances that must lie on the
    positive side. Linear (``kernel="linear"``):

    ``min_{w, b, v, xi} ||w||_1 + C sum xi``  s.t.
    ``w.x + b <= -1 + xi_x`` (negative instances),
    ``w.(X_i' v_i) + b >= 1 - xi_i`` (positive bags).

    Nonlinear (``kernel="rbf"`` or ``"poly"``, the paper's kernel version in the style
    of 1-norm kernel SVMs): ``w`` becomes an expansion over the ``N`` training
    instances ``H``, ``f(x) = sum_j u_j k(x, h_j) + b = K(x, H') u + b``, and
    ``||w||_1`` becomes ``||u||_1``:

    ``min_{u, b, v, xi} ||u||_1 + C sum xi``  s.t.
    ``K(x, H') u + b <= -1 + xi_x`` (negative instances),
    ``v_i' K(X_i, H') u + b >= 1 - xi_i`` (positive bags),

    i.e. linear MICA on the empirical kernel map ``x -> K(x, H')``; ``v_i' K(X_i, H') u``
    is ``f`` (minus ``b``) at the convex combination of the bag's points in feature space.

    The problem is bilinear in ``w`` (or ``u``) and ``v``. It is solved by alternating
    linear programs, a block-coordinate form of the paper's successive linearisation:
    with the ``v_i`` fixed, the problem in ``(w, b, xi)`` is an LP (solved by HiGHS
    through :func:`scipy.optimize.linprog`, ``w = w+ - w-`` with ``w+, w- >= 0``); with
    ``w`` fixed, the constraint of bag ``i`` is linear in ``v_i``, so the best ``v_i``
    is a vertex of the simplex: the bag's highest-scoring instance. This holds for the
    kernel version too, because ``f`` is linear in the feature map, hence in ``v_i``.
    Starts from the bag means (``v_i`` uniform, as in the paper); stops when no
    ``v_i`` changes or after ``max_iter`` LPs (with a ``ConvergenceWarning``). Each
    step can only lower the objective, so it converges. The 1-norm makes ``w`` sparse
    (feature selection, the paper's motivation) and, with a kernel, ``u`` sparse: only
    basis points with ``u_j != 0`` are kept for prediction.

    Parameters
    ----------
    C : float, default=1.0
        Weight of each slack (per negative instance and per positive bag) against
        ``||w||_1`` (or ``||u||_1``).
    kernel : {"linear", "rbf", "poly"}, default="linear"
        Instance kernel, with libsvm's definitions. ``"linear"`` is the primal linear
        MICA (LP in the features); the others use the kernel expansion over all training
        instances (LP in ``N`` basis coefficients).
    gamma : {"scale", "auto"} or float, default="scale"
        Kernel coefficient of rbf/poly; ``"scale"`` is ``1 / (n_features * X.var())``
        over the training instances.
    degree : int, default=3
        Degree of the polynomial kernel.
    coef0 : float, default=0.0
        Independent term of the polynomial kernel.
    class_weight : dict, "balanced" or None, default="balanced"
        ``"balanced"`` multiplies the slacks of negative instances by ``n / (2 L_neg)``
        and of positive bags by ``n / (2 B_pos)``, ``n = L_neg + B_pos``, so both
        classes weigh the same in total however many instances the negative bags hold
        (sMIL's class balancing); ``None`` is the paper's single ``C``. Unweighted, the
        negative instances far outnumber the positive bags, so the constant classifier
        ``w = 0`` can be optimal at moderate ``C``. A dict keyed by bag label multiplies
        ``C`` per class.
    max_iter : int, default=20
        Maximum number of LPs; stopping there emits a ``ConvergenceWarning``.
    max_basis : int, default=2000
        Largest number of training instances ``N`` accepted with a nonlinear kernel.
        The kernel LP has ``2 N + 1 + B_pos + L_neg`` columns, ``L_neg + B_pos`` rows
        and a dense ``(L_neg + B_pos) x 2N`` kernel block (about ``2 N^2`` nonzeros,
        ~24 bytes each in scipy and HiGHS), so above it ``fit`` raises a ValueError
        instead of building it. Ignored for ``kernel="linear"``.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        The (sparse) weight vector ``w`` (``kernel="linear"`` only).
    support_ : ndarray of shape (n_SV,)
        Flat training indices of the basis points with ``u_j != 0`` (nonlinear kernels
        only).
    support_vectors_ : ndarray of shape (n_SV, n_features)
        Those basis points (nonlinear kernels only).
    dual_coef_ : ndarray of shape (n_SV,)
        Their coefficients ``u_j``: ``f(x) = sum_j dual_coef_[j] k(x, sv_j) + intercept_``
        (nonlinear kernels only).
    intercept_ : float
    witness_indices_ : ndarray of shape (n_positive_bags,)
        Flat training index of each positive bag's final representative (its vertex),
        or ``-1`` for bags still represented by their mean when ``max_iter`` was hit
        on the first LP.
    objectives_ : ndarray of shape (n_lps,)
        Optimal value of each LP (non-increasing); ``n_lps`` equals ``n_iter_``.
    n_iter_ : int
        LPs solved.
    classes_ : ndarray of shape (2,)
    n_features_in_ : int

    Notes
    -----
    Bag score = maximum instance score; ``decision_function_instances`` is ``f(x)``.
    The linear LP has ``2 d + 1 + L_neg + B_pos`` variables and ``L_neg + B_pos`` dense
    rows; HiGHS handles MUSK2-sized problems (5,000 rows x 332 columns) in seconds. The
    kernel LP replaces ``d`` by ``N``: its size grows as ``N^2``, which bounds it to a
    few thousand training instances (``max_basis``). The kernel rows ``K(x, H')`` are
    computed once per fit (one GEMM) and reused by every LP.

    Too small a ``C`` makes ``w = 0`` (a constant classifier) optimal, more readily with
    a kernel (rbf entries are at most 1); tune ``C``. With ``w = 0`` all instances of a
    bag tie and the vertex step takes each bag's first instance, the one case in which
    the result depends on instance order.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.svm import MICA
    >>> bags, y, _ = make_mil_classification(n_bags=30, random_state=0)
    >>> MICA().fit(bags, y).predict(bags[:3]).shape
    (3,)
    >>> rbf = MICA(kernel="rbf", C=1.0).fit(bags, y)
    >>> rbf.decision_function_instances(bags[:1])[0].shape == (len(bags[0]),)
    True
    """

    _parameter_constraints: dict = {
        "C": [Interval(Real, 0, None, closed="neither")],
        "kernel": [StrOptions({"linear", "rbf", "poly"})],
        "gamma": GAMMA_CONSTRAINT,
        "degree": [Interval(Integral, 1, None, closed="left")],
        "coef0": [Interval(Real, None, None, closed="neither")],
        "class_weight": CLASS_WEIGHT_CONSTRAINT,
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "max_basis": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        C: float = 1.0,
        kernel: str = "linear",
        gamma: Any = "scale",
        degree: int = 3,
        coef0: float = 0.0,
        class_weight: Any = "balanced",
        max_iter: int = 20,
        max_basis: int = 2000,
    ) -> None:
        self.C = C
        self.kernel = kernel
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.max_basis = max_basis

    def _check_params(self, n_instances: int) -> None:
        # a rule on the data's size, checked before any work
        if self.kernel != "linear" and n_instances > self.max_basis:
            raise ValueError(
                f"MICA with kernel={self.kernel!r} expands f over all {n_instances} training "
                f"instances, more than max_basis={self.max_basis}: its LP would have "
                f"{2 * n_instances} basis columns and about {2 * n_instances ** 2:,} dense "
                "nonzeros. Raise max_basis if memory and time allow, train on fewer bags, "
                "or use kernel='linear'."
            )

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        X = bags.instances
        self._check_params(X.shape[0])
        for attr in ("coef_", "support_", "support_vectors_", "dual_coef_", "model_"):
            self.__dict__.pop(attr, None)  # a previous fit with another kernel
        pos_bags = np.flatnonzero(y == 1)
        neg_idx = instance_indices(bags.offsets, np.flatnonzero(y == 0))
        pos_idx = instance_indices(bags.offsets, pos_bags)
        pos_off = np.concatenate([[0], np.cumsum(bags.sizes[pos_bags])]).astype(np.int64)
        if self.kernel == "linear":
            Fn, Fp = X[neg_idx], X[pos_idx]
        else:
            gamma = resolve_gamma(self.gamma, X)
            self._spec = (self.kernel, gamma, int(self.degree), float(self.coef0))
            # kernel rows against the basis H = all training instances; each entry once
            sq = np.einsum("ij,ij->i", X, X) if self.kernel == "rbf" else None
            Fn = instance_kernel(X[neg_idx], X, *self._spec, sq_b=sq)
            Fp = instance_kernel(X[pos_idx], X, *self._spec, sq_b=sq)
        L_n, B_p = Fn.shape[0], pos_bags.shape[0]
        Cn = Cp = float(self.C)
        if isinstance(self.class_weight, str):  # "balanced"
            n = L_n + B_p
            Cn, Cp = self.C * n / (2.0 * L_n), self.C * n / (2.0 * B_p)
        elif self.class_weight is not None:
            w = encoded_class_weight(self.class_weight, self.classes_)
            Cn, Cp = self.C * w.get(0, 1.0), self.C * w.get(1, 1.0)
        lp = _MicaLP(Fn, B_p, Cn, Cp)
        rep = np.add.reduceat(Fp, pos_off[:-1], axis=0) / np.diff(pos_off)[:, None]
        sel = np.full(B_p, -1, dtype=np.int64)
        self.n_iter_ = 0
        self.objectives_ = []
        while True:
            w, b, obj, _ = lp.solve(rep)
            self.n_iter_ += 1
            self.objectives_.append(obj)
            new = segment_argmax(Fp @ w, pos_off)
            if np.array_equal(new, sel):
                break
            if self.n_iter_ >= self.max_iter:
                warn_not_converged(self, "max_iter", "the representatives still change")
                break
            sel = new
            rep = Fp[sel]
        self.objectives_ = np.asarray(self.objectives_)
        self.intercept_ = b
        order = self._train_order
        wit = np.where(sel >= 0, pos_idx[np.maximum(sel, 0)], -1)
        wit = user_instance_index(bags, order, wit)
        self.witness_indices_ = wit[user_positive_bag_order(order, y)]
        if self.kernel == "linear":
            self.coef_ = w
        else:
            # HiGHS returns nonbasic columns exactly at their bound 0, so this test is
            # the 1-norm's sparsity, not a rounding threshold
            support = np.flatnonzero(w != 0)
            self.support_ = user_instance_index(bags, self._train_order, support)
            self.support_vectors_ = X[support].copy()
            self.dual_coef_ = w[support]
            self.model_ = KernelExpansion(self.support_vectors_, self.dual_coef_, b,
                                          *self._spec)

    def _decision_function_instances(self, bags: Bags) -> np.ndarray:
        model = getattr(self, "model_", None)  # fitted state, not the (settable) kernel
        if model is None:
            return bags.instances @ self.coef_ + self.intercept_
        return model(bags.instances)

    def _decision_function(self, bags: Bags) -> np.ndarray:
        return segment_max(self._decision_function_instances(bags), bags.offsets)
