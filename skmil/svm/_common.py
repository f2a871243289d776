"""Shared pieces of the SVM family: kernel expansions, class weights, constraints."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels.bagpairs import instance_blocks
from .._kernels.set_kernel import instance_kernel
from ..utils._param_validation import Interval, Real, StrOptions

#: ``gamma`` of the instance-kernel SVMs: a number, or scikit-learn's "scale"/"auto".
GAMMA_CONSTRAINT = [Interval(Real, 0, None, closed="neither"), StrOptions({"scale", "auto"})]
#: ``class_weight``: per-class multipliers of ``C`` keyed by bag label, or "balanced".
CLASS_WEIGHT_CONSTRAINT = [dict, StrOptions({"balanced"}), None]
#: ``epsilon`` of the SVR-based regressors: the tube's half-width, >= 0.
EPSILON_CONSTRAINT = [Interval(Real, 0, None, closed="left")]

_ROW_CHUNK = 4096
#: Kernel-block budget of :class:`KernelExpansion` (elements, ~16 MB): a fixed 4,096-row
#: block grows with the support vectors (800 MB against 25,000 of them) while being no
#: faster (5-6% slower at 4,500 support vectors, ``benchmarks/bench_kernel_expansion.py``).
_BLOCK_ELEMS = 1 << 21


class KernelExpansion:
    """A fitted kernel machine ``f(x) = sum_i c_i k(s_i, x) + b``.

    Holds the support vectors ``s_i`` (rows in input space), their signed dual
    coefficients ``c_i = y_i alpha_i`` and the intercept, and evaluates ``f`` on new
    rows in bounded-memory chunks. For the linear kernel the primal weight vector is
    formed once, so prediction is one GEMV.
    """

    def __init__(self, support_vectors, dual_coef, intercept, kernel, gamma, degree, coef0):
        self.support_vectors = np.ascontiguousarray(support_vectors, dtype=np.float64)
        self.dual_coef = np.ascontiguousarray(dual_coef, dtype=np.float64).ravel()
        self.intercept = float(intercept)
        self.kernel = kernel
        self.gamma = float(gamma)
        self.degree = int(degree)
        self.coef0 = float(coef0)
        self.coef = (
            self.dual_coef @ self.support_vectors if kernel == "linear" else None
        )

    @classmethod
    def linear(cls, coef, intercept) -> KernelExpansion:
        """The linear model ``f(x) = x @ coef + intercept`` (one "support vector", ``coef``).

        A linear SVM's weight vector, or the coefficients of a kernel row over the
        training instances (a user's precomputed kernel).
        """
        return cls(np.asarray(coef)[None, :], np.ones(1), intercept, "linear", 0.0, 3, 0.0)

    @classmethod
    def from_svc(cls, svc, kernel, gamma, degree, coef0) -> KernelExpansion:
        """The expansion of a fitted binary ``sklearn.svm.SVC`` (its ``decision_function``).

        ``gamma`` must be the number the SVC used; the other kernel settings its own.
        """
        return cls(svc.support_vectors_, svc.dual_coef_[0], svc.intercept_[0], kernel,
                   gamma, degree, coef0)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        if self.coef is not None:
            return X @ self.coef + self.intercept
        out = np.empty(X.shape[0])
        sv = self.support_vectors
        sq_sv = np.einsum("ij,ij->i", sv, sv) if self.kernel == "rbf" else None
        rows = max(64, min(_ROW_CHUNK, _BLOCK_ELEMS // max(1, sv.shape[0])))
        for s in range(0, X.shape[0], rows):
            Kc = instance_kernel(
                X[s : s + rows], sv, self.kernel, self.gamma, self.degree, self.coef0,
                sq_b=sq_sv,
            )
            out[s : s + rows] = Kc @ self.dual_coef
        out += self.intercept
        return out


def example_means(X: np.ndarray, rows: np.ndarray, off: np.ndarray,
                  weights: np.ndarray | None = None, block: int = 65536) -> np.ndarray:
    """Weighted mean of ``X[rows[off[k]:off[k + 1]]]`` for every example ``k``.

    ``weights`` (one per entry of ``rows``, default 1) are normalised within each example.
    At most about ``block`` rows are gathered at a time: the positive bags can be half of
    a large ``X``, and a gather of all their rows would copy it.
    """
    w = np.ones(rows.shape[0]) if weights is None else weights
    out = np.zeros((off.shape[0] - 1, X.shape[1]))
    for lo, hi, a, b, seg in instance_blocks(off, block):
        R = X[rows[lo:hi]]
        R *= w[lo:hi, None]
        out[a:b] += np.add.reduceat(R, seg[:-1], axis=0)
    return out / np.add.reduceat(w, off[:-1])[:, None]


def dual_objective(dual_coef: np.ndarray, K_sv: np.ndarray) -> float:
    """SVM dual objective ``sum(alpha) - 1/2 (y*alpha)' K (y*alpha)`` at the optimum.

    By strong duality it equals the primal optimum ``1/2 ||w||^2 + sum C_i xi_i``, so a
    smaller value is a better labelling/witness choice (used to rank restarts).
    """
    c = np.asarray(dual_coef, dtype=np.float64).ravel()
    return float(np.abs(c).sum() - 0.5 * c @ K_sv @ c)


def _class_weight_by_index(class_weight: Any, classes: np.ndarray) -> dict[int, float]:
    """A user ``class_weight`` dict keyed by ``classes_`` values, keyed by class index."""
    out = {}
    for key, w in class_weight.items():
        match = [i for i, c in enumerate(classes) if c == key]
        if not match:
            raise ValueError(
                f"class_weight has key {key!r}, which is not a class label; labels are "
                f"{list(classes)}. Key the weights by the bag labels passed to fit."
            )
        out[match[0]] = float(w)
    return out


def signed_class_weight(class_weight: Any, classes: np.ndarray) -> Any:
    """Map a user ``class_weight`` keyed by ``classes_`` values to libsvm's {-1, +1} keys."""
    if class_weight is None or isinstance(class_weight, str):
        return class_weight
    return {2 * i - 1: w for i, w in _class_weight_by_index(class_weight, classes).items()}


def encoded_class_weight(class_weight: Any, classes: np.ndarray) -> Any:
    """Map a user ``class_weight`` keyed by ``classes_`` values to the encoded {0, 1} keys."""
    if class_weight is None or isinstance(class_weight, str):
        return class_weight
    return _class_weight_by_index(class_weight, classes)


def bag_class_weights(class_weight: Any, classes: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Multipliers of ``C`` for the negative and the positive class, from bag labels.

    ``None``: both 1; ``"balanced"``: ``n_bags / (2 n_bags_of_class)``, scikit-learn's rule
    applied to the bags; a dict keyed by ``classes_`` values: its weights (1 if absent).
    """
    if class_weight is None:
        return np.ones(2)
    if isinstance(class_weight, str):
        counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=2).astype(np.float64)
        return counts.sum() / (2.0 * np.maximum(counts, 1.0))
    w = np.ones(2)
    for i, v in _class_weight_by_index(class_weight, classes).items():
        w[i] = v
    return w


def user_instance_index(bags: Any, order: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """Flat instance indices of canonically ordered training bags in the user's numbering.

    ``bags`` are the training bags as ``_fit`` saw them, ``order`` the estimator's
    ``_train_order`` (bag ``i`` of ``bags`` is the user's bag ``order[i]``). Negative
    entries (no instance) stay as they are.
    """
    flat = np.asarray(flat, dtype=np.int64)
    sizes_user = np.empty_like(bags.sizes)
    sizes_user[order] = bags.sizes
    off_user = np.concatenate([[0], np.cumsum(sizes_user)]).astype(np.int64)
    valid = flat >= 0
    bag = np.searchsorted(bags.offsets, flat[valid], side="right") - 1
    out = flat.copy()
    out[valid] = off_user[order[bag]] + (flat[valid] - bags.offsets[bag])
    return out


def user_instance_order(bags: Any, order: np.ndarray) -> np.ndarray:
    """Permutation ``p`` such that ``values[p]`` puts per-instance training values, given
    in ``_fit``'s (canonical) order, into the user's instance order."""
    target = user_instance_index(bags, order, np.arange(bags.n_instances))
    p = np.empty_like(target)
    p[target] = np.arange(target.shape[0])
    return p


def user_positive_bag_order(order: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Permutation of per-positive-bag values from canonical to the user's bag order."""
    pos = np.flatnonzero(np.asarray(y) == 1)
    return np.argsort(order[pos], kind="stable")


def instance_balanced_weights(sizes: np.ndarray, y: np.ndarray) -> dict:
    """``class_weight="balanced_instances"``: libsvm's {-1, +1} weights from instance counts.

    ``sizes`` are the training bags' sizes and ``y`` their 0/1 labels; ``n_pos`` and
    ``n_neg`` count the instances of the positive and of the negative bags. When the
    positive bags hold more instances, both classes of bags get the same total weight
    (scikit-learn's balanced rule ``n / (2 n_class)`` on those counts); otherwise every
    instance weighs 1. Only the labels of positive bags' instances are uncertain (most
    of them are not witnesses), so the negative instances, whose labels are certain,
    must not be outweighed by them, and need no boost when they are the majority.
    """
    n_pos = float(sizes[y == 1].sum())
    n_neg = float(sizes[y == 0].sum())
    if n_pos <= n_neg or n_neg <= 0:
        return {1: 1.0, -1: 1.0}
    n = n_pos + n_neg
    return {1: n / (2.0 * n_pos), -1: n / (2.0 * n_neg)}


def sample_weights_for(y_pm: np.ndarray, class_weight: Any) -> np.ndarray:
    """Per-example multipliers of C for labels in {-1, +1} (sklearn's 'balanced' rule)."""
    w = np.ones(y_pm.shape[0])
    if class_weight is None:
        return w
    if class_weight == "balanced":
        n = y_pm.shape[0]
        for lab in (-1, 1):
            m = y_pm == lab
            if m.any():
                w[m] = n / (2.0 * m.sum())
        return w
    for lab, v in class_weight.items():
        w[y_pm == lab] = v
    return w


def libsvm_binary_fit(X, y_pm, *, kernel, C, gamma=0.0, degree=3, coef0=0.0,
                      class_weight=None, tol=1e-3, cache_size=200.0, sample_weight=None):
    """Fit a binary C-SVC with libsvm; returns ``(support, dual_coef, intercept)``.

    ``dual_coef`` holds ``y_i alpha_i`` of the support vectors ``support`` (indices
    into ``X``) with the sign convention of :class:`sklearn.svm.SVC` (positive decision
    means label +1). The alternating heuristics call this tens of times on the same
    data, so it goes straight to scikit-learn's libsvm binding and skips ``SVC.fit``'s
    input validation, which costs several times the solve on small problems (our
    inputs are already validated float64 C-contiguous arrays). If that private binding
    is unavailable or its signature changed, it falls back to ``SVC``.
    """
    y_pm = np.asarray(y_pm)
    try:
        from sklearn.svm import _libsvm
        from sklearn.utils.class_weight import compute_class_weight

        classes = np.array([-1, 1])
        _libsvm.set_verbosity_wrap(0)  # global in libsvm; another SVC may have set it
        cw = (np.empty(0) if class_weight is None
              else compute_class_weight(class_weight, classes=classes, y=y_pm))
        out = _libsvm.fit(
            np.ascontiguousarray(X, dtype=np.float64),
            (y_pm > 0).astype(np.float64),
            svm_type=0,
            sample_weight=(np.empty(0) if sample_weight is None
                           else np.ascontiguousarray(sample_weight, dtype=np.float64)),
            class_weight=cw,
            kernel=kernel, C=float(C), nu=0.5, probability=0, degree=int(degree),
            shrinking=1, tol=float(tol), cache_size=float(cache_size),
            coef0=float(coef0), gamma=float(gamma), epsilon=0.1, max_iter=-1,
            random_seed=0,
        )
        support, _, _, dual_coef, intercept = out[:5]
        # libsvm's first class is label 0 (-1); flip to the "+1 is positive" convention
        return np.asarray(support), -np.asarray(dual_coef)[0], -float(intercept[0])
    except (ImportError, TypeError, AttributeError):  # pragma: no cover - sklearn changed
        from sklearn.svm import SVC

        svc = SVC(kernel=kernel, C=C, gamma=gamma if kernel != "precomputed" else "scale",
                  degree=degree, coef0=coef0, class_weight=class_weight, tol=tol,
                  cache_size=cache_size).fit(X, y_pm, sample_weight=sample_weight)
        return svc.support_, svc.dual_coef_[0], float(svc.intercept_[0])
