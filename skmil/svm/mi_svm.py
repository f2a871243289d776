"""mi-SVM and MI-SVM (Andrews, Tsochantaridis & Hofmann, NIPS 2002).

Both are heuristic alternations whose every inner problem is a standard soft-margin
SVM, solved by libsvm through :class:`sklearn.svm.SVC`:

* **mi-SVM** imputes the labels of the instances of positive bags,
* **MI-SVM** picks one witness per positive bag.

When the training set is small enough (``N <= max_precomputed``), the instance kernel
is computed once (BLAS) and every iteration slices it (``kernel="precomputed"``);
above that, libsvm computes kernel rows itself through its LRU cache (``cache_size``)
and no ``N x N`` matrix exists anywhere. With a user's ``kernel="precomputed"`` the
bags are rows of the instance kernel and that matrix is sliced directly. With the linear
kernel the inner SVMs are squared-hinge SVMs solved in the primal by
:class:`~skmil.svm._primal.SquaredHingeSVM`, each warm-started from the previous one.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.svm import LinearSVC
from sklearn.utils import check_random_state

from .._inner_cv import C_GRID, best_index, inner_cv_splits, search_refit
from .._kernels.bagpairs import instance_blocks
from .._kernels.segments import segment_argmax, segment_max
from .._kernels.set_kernel import instance_kernel, resolve_gamma
from .._numba import njit
from .._threshold import THRESHOLD_CONSTRAINT, best_threshold
from .._warnings import warn_not_converged
from ..bags import Bags, check_square_kernel_bags, instance_indices
from ..base import BaseMILClassifier, InstancePredictionMixin
from ..utils._param_validation import Integral, Interval, Real, StrOptions
from ._approximation import (
    KERNEL_APPROXIMATION_CONSTRAINT,
    N_COMPONENTS_CONSTRAINT,
    check_kernel_approximation,
    fit_kernel_map,
    map_bags,
    mapped_scores,
)
from ._common import (
    CLASS_WEIGHT_CONSTRAINT,
    GAMMA_CONSTRAINT,
    KernelExpansion,
    dual_objective,
    example_means,
    instance_balanced_weights,
    libsvm_binary_fit,
    sample_weights_for,
    signed_class_weight,
    user_instance_index,
    user_instance_order,
    user_positive_bag_order,
)
from ._group_smo import GroupLayout, group_smo_solve
from ._primal import SquaredHingeSVM

__all__ = ["MISVM", "InstanceMISVM"]

_MI_KERNELS = ("linear", "rbf", "poly", "sigmoid", "precomputed")
#: ``C`` when ``C="cv"`` has no inner split (a class with fewer than two bags).
_C_FALLBACK = 1.0


@njit
def _gather(K, K_ex, K_ee, ri, ci, N):
    """``gram(ri, ci)`` of a point set: instances index ``K``, extra points ``K_ex`` / ``K_ee``.

    Row-wise, so every read is along a contiguous row of ``K`` (or of ``K_ex`` when
    the row is an extra point); one pass instead of numpy's gather-then-gather.
    """
    out = np.empty((ri.shape[0], ci.shape[0]))
    for r in range(ri.shape[0]):
        i = ri[r]
        o = out[r]
        if i < N:
            Ki = K[i]
            for k in range(ci.shape[0]):
                c = ci[k]
                o[k] = Ki[c] if c < N else K_ex[c - N, i]
        else:
            Ke = K_ex[i - N]
            Kee = K_ee[i - N]
            for k in range(ci.shape[0]):
                c = ci[k]
                o[k] = Ke[c] if c < N else Kee[c - N]
    return out


def _digest(a: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(a).tobytes(), digest_size=16).digest()


class _PointSet:
    """Training points = instances (indices ``< N``) plus extra points (indices ``>= N``).

    Extra points are MI-SVM's mean (or random convex combination) witnesses: point ``a``
    is ``sum_j w_j x_idx[j]`` over ``j in off[a]:off[a + 1]``. With a nonlinear kernel
    (and with a user's precomputed kernel) the combination is taken in the kernel's
    feature space, ``sum_j w_j phi(x_idx[j])``: its kernel value against a point ``x``
    is ``sum_j w_j k(x_idx[j], x)``, so the extra points exist only through their
    kernel rows ``K_ex`` (against the instances) and ``K_ee`` (against each other), and
    every inner problem that holds one is solved on an explicit kernel matrix. With the
    linear kernel the input-space combination is the same point, kept as a row.
    """

    def __init__(self, X, spec, K=None):
        self.X = X
        self.N = X.shape[0]
        self.spec = spec
        self.K = K
        self.set_extra(np.empty((0, X.shape[1])))
        #: the warm-started primal solver of the linear inner SVMs (rows: X, then E)
        self.primal = None

    def set_extra(self, E, combination=None, feature_space=False):
        """Set the extra points: the combinations ``combination = (idx, w, off)``.

        ``E`` holds their input-space rows (with a user's precomputed kernel, the
        combinations' kernel rows). ``feature_space`` makes them combinations in the
        kernel's feature space (always so with a user's precomputed kernel).
        """
        self.E = E
        self.combination = combination
        self.primal = None  # its rows include the extra points
        # new extra points invalidate train_gram's matrix (same indices, other points)
        self._train_idx = None
        self._train_K = None
        m = E.shape[0]
        precomputed = self.spec[0] == "precomputed"
        self.feature_space = bool(m) and (feature_space or precomputed)
        if self.feature_space:
            idx, w, off = combination
            # (m, N): the combinations' kernel rows; a user's kernel rows are E itself
            self.K_ex = E if precomputed else self._combination_rows(idx, w, off)
            # <phi_b, phi_a> = sum over a's members j of w_j k(phi_b, x_j)
            self.K_ee = np.add.reduceat(self.K_ex[:, idx] * w[None, :], off[:-1], axis=1)
        elif self.K is not None and m:
            self.K_ex = instance_kernel(E, self.X, *self.spec)  # (m, N)
            self.K_ee = instance_kernel(E, E, *self.spec)
        else:
            # no kernel values are ever read: the extra points are rows in input space
            # (an (m, N) placeholder would be hundreds of GB at a million instances)
            self.K_ex = np.empty((m, 0))
            self.K_ee = np.empty((m, 0))

    def _combination_rows(self, idx, w, off, block_cells: int = 1 << 22):
        """``sum_j w_j k(x_idx[j], .)`` against every instance, one row per combination.

        From the precomputed kernel's rows when there is one; otherwise from kernel
        blocks of a few combinations at a time (member rows x N, about ``block_cells``
        values), so no block grows with N times a bag's size; a combination of more
        members is summed a piece at a time.
        """
        out = np.zeros((off.shape[0] - 1, self.N))
        chunk_rows = max(64, block_cells // max(self.N, 1))
        for lo, hi, a, b, seg in instance_blocks(off, chunk_rows):
            members = idx[lo:hi]
            R = (self.K[members] if self.K is not None
                 else instance_kernel(self.X[members], self.X, *self.spec))
            out[a:b] += np.add.reduceat(R * w[lo:hi, None], seg[:-1], axis=0)
        return out

    def needs_gram(self, idx) -> bool:
        """Whether points ``idx`` need explicit kernel values (K, or feature-space extras)."""
        if self.K is not None:
            return True
        return self.feature_space and bool((np.asarray(idx) >= self.N).any())

    def rows(self, idx):
        idx = np.asarray(idx)
        out = np.empty((idx.shape[0], self.X.shape[1]))
        m = idx < self.N
        out[m] = self.X[idx[m]]
        out[~m] = self.E[idx[~m] - self.N]
        return out

    def train_gram(self, idx):
        """``gram(idx, idx)`` of successive inner problems, updated in place.

        MI-SVM's inner problems keep every negative instance and change only the
        witnesses that moved, so only those rows and columns are refreshed (a few
        percent of the matrix instead of two full gathers per iteration). The returned
        matrix is owned by the point set and overwritten by the next call.
        """
        idx = np.asarray(idx)
        prev = self._train_idx
        if prev is not None and prev.shape == idx.shape:
            changed = np.flatnonzero(prev != idx)
            if changed.size * 4 <= idx.size:
                M = self._train_K
                if changed.size:
                    R = self.gram(idx[changed], idx)
                    M[changed, :] = R
                    M[:, changed] = R.T
                self._train_idx = idx.copy()
                return M
        M = self.gram(idx, idx)
        if M is self.K:  # mi-SVM's whole set: K itself, which must never be written
            self._train_idx = None
            return M
        self._train_idx, self._train_K = idx.copy(), M
        return M

    def gram(self, ri, ci):
        ri, ci = np.asarray(ri), np.asarray(ci)
        if (ri is ci and ri.shape[0] == self.N and ri.size and ri.max() < self.N
                and np.array_equal(ri, np.arange(self.N))):
            return self.K  # mi-SVM trains on every instance: no copy at all
        if self.K is None:
            return self._gram_rows(ri, ci)
        return _gather(self.K, self.K_ex, self.K_ee, ri.astype(np.int64, copy=False),
                       ci.astype(np.int64, copy=False), self.N)

    def _gram_rows(self, ri, ci):
        """``gram(ri, ci)`` without a precomputed instance kernel: instance blocks from
        the rows, extra-point blocks from ``K_ex`` / ``K_ee``.

        Every caller lists the instances first and the extra points last (the layout of
        every inner problem and of its support vectors), so the four blocks are slices.
        """
        r_in, c_in = ri < self.N, ci < self.N
        kr, kc = int(r_in.sum()), int(c_in.sum())
        assert r_in[:kr].all() and c_in[:kc].all(), "instances must come before extras"
        r_i, c_i = ri[:kr], ci[:kc]
        r_e, c_e = ri[kr:] - self.N, ci[kc:] - self.N
        out = np.empty((ri.shape[0], ci.shape[0]))
        out[:kr, :kc] = instance_kernel(self.X[r_i], self.X[c_i], *self.spec)
        out[:kr, kc:] = self.K_ex[c_e][:, r_i].T
        out[kr:, :kc] = self.K_ex[r_e][:, c_i]
        out[kr:, kc:] = self.K_ee[np.ix_(r_e, c_e)]
        return out


class _BaseMISVM(InstancePredictionMixin, BaseMILClassifier):
    """Shared machinery: kernel setup, inner libsvm fit, initialisations, prediction."""

    _partial_instance_labels = True

    _parameter_constraints: dict = {
        "kernel": [StrOptions(set(_MI_KERNELS))],
        "C": [Interval(Real, 0, None, closed="neither"), StrOptions({"cv"})],
        "gamma": GAMMA_CONSTRAINT,
        "degree": [Interval(Integral, 0, None, closed="left")],
        "coef0": [Interval(Real, None, None, closed="neither")],
        "kernel_approximation": KERNEL_APPROXIMATION_CONSTRAINT,
        "n_components": N_COMPONENTS_CONSTRAINT,
        "class_weight": CLASS_WEIGHT_CONSTRAINT,
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "max_precomputed": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "cache_size": [Interval(Real, 0, None, closed="neither")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "solver": [StrOptions({"auto", "libsvm", "liblinear", "primal"})],
        "intercept_scaling": [Interval(Real, 0, None, closed="neither")],
        "threshold": THRESHOLD_CONSTRAINT,
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # mi-SVM's signature as it is (its constraints accept "balanced_instances"); MI-SVM
    # has an __init__ of its own, with class_weight=None
    def __init__(
        self,
        *,
        kernel: str = "rbf",
        C: Any = "cv",
        gamma: Any = "scale",
        degree: int = 3,
        coef0: float = 0.0,
        kernel_approximation: str | None = None,
        n_components: int = 256,
        class_weight: Any = "balanced_instances",
        max_iter: int = 50,
        n_init: int = 1,
        max_precomputed: Any = "auto",
        cache_size: float = 500.0,
        tol: float = 1e-3,
        solver: str = "auto",
        intercept_scaling: float = 10.0,
        threshold: Any = "auto",
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.kernel = kernel
        self.C = C
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.kernel_approximation = kernel_approximation
        self.n_components = n_components
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.n_init = n_init
        self.max_precomputed = max_precomputed
        self.cache_size = cache_size
        self.tol = tol
        self.solver = solver
        self.intercept_scaling = intercept_scaling
        self.threshold = threshold
        self.random_state = random_state
        self.verbose = verbose

    # -- setup ---------------------------------------------------------------------
    def _check_params(self, bags: Bags, y: np.ndarray,
                      instance_labels: np.ndarray | None = None) -> None:
        # cross-parameter rules the declared constraints cannot express, before any work
        check_kernel_approximation(self)
        # the kernel the SVMs see: linear on the mapped instances under an approximation
        self._kernel = "linear" if self.kernel_approximation else self.kernel
        if self.solver in ("liblinear", "primal") and self._kernel != "linear":
            raise ValueError(f"solver={self.solver!r} needs kernel='linear'.")
        self._max_precomputed = (self._auto_max_precomputed if self.max_precomputed == "auto"
                                 else self.max_precomputed)
        if self.kernel == "precomputed":
            check_square_kernel_bags(bags)
            self._gamma = 0.0  # unused: the kernel values are given
        elif self.kernel == "linear":
            self._gamma = 0.0  # unused; "scale" would cost a pass and a copy of X
        else:
            self._gamma = resolve_gamma(self.gamma, bags.instances)
        self._spec = (self._kernel, self._gamma, self.degree, float(self.coef0))
        self._cw = signed_class_weight(self.class_weight, self.classes_)
        self._solver = self._resolve_solver()
        self._liblinear = self._solver == "liblinear"
        self._primal = self._solver == "primal"

    def _resolve_solver(self) -> str:
        if self.solver != "auto":
            return self.solver
        return "primal" if self._kernel == "linear" else "libsvm"

    def _n_points(self, bags: Bags) -> int:
        return bags.n_instances

    @property
    def _pairwise_bags(self) -> bool:
        return self.kernel == "precomputed"

    def _make_points(self, bags: Bags) -> _PointSet:
        X = bags.instances
        if self.kernel == "precomputed":
            self.precomputed_ = True
            return _PointSet(X, self._spec, X)  # the instances are the kernel's rows
        self.precomputed_ = (self._solver == "libsvm"
                             and self._n_points(bags) <= self._precompute_limit())
        K = instance_kernel(X, X, *self._spec) if self.precomputed_ else None
        return _PointSet(X, self._spec, K)

    def _precompute_limit(self) -> int:
        return self._max_precomputed

    def _fit_inner(self, pts: _PointSet, idx: np.ndarray, y_pm: np.ndarray):
        """One inner SVM on points ``idx``: ``((dual_coef, intercept), sv_idx)`` for
        libsvm, ``((w, intercept, primal_objective), None)`` for liblinear and
        ``((w, intercept, primal_objective, scores), None)`` for the primal solver, whose
        ``scores`` are those of every point (the instances, then the extra points)."""
        kernel, gamma, degree, coef0 = self._spec
        if self._primal:
            if pts.primal is None:
                pts.primal = SquaredHingeSVM(pts.X, self.C_, extra=pts.E, tol=self.tol)
            n_rows = pts.N + pts.E.shape[0]
            y_rows, c_rows = np.zeros(n_rows), np.zeros(n_rows)  # c = 0: not trained on
            y_rows[idx] = y_pm
            c_rows[idx] = sample_weights_for(y_pm, self._cw)
            svm = pts.primal.fit(y_rows, c_rows)
            return (svm.coef_, svm.intercept_, svm.objective_, svm.scores_), None
        if self._liblinear:
            X = pts.rows(idx)
            svm = LinearSVC(loss="hinge", dual=True, C=self.C_, class_weight=self._cw,
                            tol=self.tol, intercept_scaling=self.intercept_scaling,
                            max_iter=1000, random_state=self._liblinear_seed).fit(X, y_pm)
            w, b = svm.coef_[0].copy(), float(svm.intercept_[0])
            cw = sample_weights_for(y_pm, self._cw)
            hinge = np.maximum(0.0, 1.0 - y_pm * (X @ w + b))
            return (w, b, 0.5 * w @ w + self.C_ * float(cw @ hinge)), None
        if pts.needs_gram(idx):
            X, kernel = pts.train_gram(idx), "precomputed"
        else:
            X = pts.rows(idx)
        sup, dc, b = libsvm_binary_fit(
            X, y_pm, kernel=kernel, C=self.C_, gamma=gamma, degree=degree, coef0=coef0,
            class_weight=self._cw, tol=self.tol, cache_size=self.cache_size,
        )
        return (dc, b), idx[sup]

    def _scores(self, pts: _PointSet, svc, sv_idx, rows_idx) -> np.ndarray:
        """Decision values of training points ``rows_idx`` under the current model."""
        if self._primal:
            return svc[3][rows_idx]
        if self._liblinear:
            return pts.rows(rows_idx) @ svc[0] + svc[1]
        dc, b = svc
        if pts.needs_gram(sv_idx):
            return pts.gram(rows_idx, sv_idx) @ dc + b
        return KernelExpansion(pts.rows(sv_idx), dc, b, *self._spec)(pts.rows(rows_idx))

    def _objective(self, pts: _PointSet, svc, sv_idx) -> float:
        if self._liblinear or self._primal:
            return svc[2]
        return dual_objective(svc[0], self._gram(pts, sv_idx))

    def _gram(self, pts: _PointSet, idx: np.ndarray) -> np.ndarray:
        """Kernel matrix of training points ``idx``: a slice when precomputed."""
        if pts.needs_gram(idx):
            return pts.gram(idx, idx)
        R = pts.rows(idx)
        return instance_kernel(R, R, *self._spec)

    def _expansion(self, pts: _PointSet, svc, sv_idx) -> KernelExpansion:
        if self._liblinear or self._primal:
            return KernelExpansion.linear(svc[0], svc[1])
        if self.kernel == "precomputed":
            # f is linear in a kernel row: f(x) = row(x) @ c + b, with c scattered over
            # the training instances (an extra point spreads its coefficient over its
            # combination's members)
            c = np.zeros(pts.N)
            dc, b = svc
            inst = sv_idx < pts.N
            np.add.at(c, sv_idx[inst], dc[inst])
            if not inst.all():
                idx, w, off = pts.combination
                a = sv_idx[~inst] - pts.N
                pos = instance_indices(off, a)  # positions of the members in idx / w
                weights = w[pos] * np.repeat(dc[~inst], off[a + 1] - off[a])
                np.add.at(c, idx[pos], weights)
            return KernelExpansion.linear(c, b)
        dc, b = svc
        extra = sv_idx >= pts.N
        if pts.feature_space and extra.any():
            # a feature-space combination's coefficient spreads over its members
            idx, w, off = pts.combination
            a = sv_idx[extra] - pts.N
            pos = instance_indices(off, a)
            sv = np.concatenate([sv_idx[~extra], idx[pos]])
            coef = np.concatenate([dc[~extra], w[pos] * np.repeat(dc[extra], off[a + 1] - off[a])])
            return KernelExpansion(pts.X[sv], coef, b, *self._spec)
        return KernelExpansion(pts.rows(sv_idx), dc, b, *self._spec)

    # -- fit -----------------------------------------------------------------------
    def _fit(self, bags: Bags, y: np.ndarray,
             instance_labels: np.ndarray | None = None) -> None:
        self._check_params(bags, y, instance_labels)
        self._select_C_and_threshold(bags, y, instance_labels)
        self.kernel_map_ = None
        if self.kernel_approximation:
            # the inner CV's clones map their own training folds; the final model maps
            # all training instances
            self.kernel_map_ = fit_kernel_map(
                self.kernel_approximation, bags.instances, kernel=self.kernel,
                gamma=self._gamma, degree=self.degree, coef0=float(self.coef0),
                n_components=self.n_components, random_state=self.random_state)
            bags = map_bags(self.kernel_map_, bags)
        rng = check_random_state(self.random_state)
        # liblinear's coordinate descent visits the examples in a random order
        self._liblinear_seed = int(rng.randint(np.iinfo(np.int32).max))
        pts = self._make_points(bags)
        pos_bags = np.flatnonzero(y == 1)
        pos_idx = instance_indices(bags.offsets, pos_bags)
        pos_off = np.concatenate([[0], np.cumsum(bags.sizes[pos_bags])]).astype(np.int64)
        ctx = {"bags": bags, "y": y, "pos_idx": pos_idx, "pos_off": pos_off, "pts": pts,
               "known": instance_labels}

        best = None
        self.objectives_ = []
        multi = self.n_init > 1
        for r in range(self.n_init):
            run = self._run(ctx, rng if r > 0 else None)
            obj = self._objective(pts, run["svc"], run["sv_idx"]) if multi else None
            # build the model now: a later MI-SVM initialisation replaces the extra points
            run["model"] = self._expansion(pts, run["svc"], run["sv_idx"])
            self.objectives_.append(obj)
            if self.verbose:
                print(f"[{type(self).__name__}] run {r}: {run['n_iter']} iterations, "
                      f"stop={run['stop']}, objective={obj}")
            if best is None or (obj is not None and obj < best["obj"]):
                best = dict(run, obj=obj)
        self.objectives_ = np.asarray(self.objectives_, dtype=float) if multi else None
        self.best_init_ = int(np.nanargmin(self.objectives_)) if multi else 0
        self.n_iter_ = best["n_iter"]
        self.stop_reason_ = best["stop"]
        if self.stop_reason_ == "max_iter":
            warn_not_converged(self, "max_iter", "the kept run's labels still change")
        self._store_state(best, bags, y)
        self.model_ = best["model"]
        if self.kernel == "precomputed":
            # the coefficients of the canonically ordered training instances, put in the
            # order of the kernel columns the user passes (the training instances as given)
            c = np.empty_like(self.model_.coef)
            c[user_instance_index(bags, self._train_order, np.arange(bags.n_instances))] = (
                self.model_.coef)
            self.model_ = KernelExpansion.linear(c, self.model_.intercept)
            # like SVC's: support_ indexes the training instances, no vectors are stored
            self.support_ = np.flatnonzero(c)
            self.support_vectors_ = np.empty((0, bags.n_features))
            self.dual_coef_ = c[self.support_]
        else:
            self.support_vectors_ = self.model_.support_vectors
            self.dual_coef_ = self.model_.dual_coef
        self.intercept_ = self.model_.intercept

    def _select_C_and_threshold(self, bags: Bags, y: np.ndarray,
                                instance_labels: np.ndarray | None = None) -> None:
        """``C_`` (and, with ``threshold="auto"``, ``threshold_``) from one inner CV.

        With ``C="cv"`` the candidates of :data:`skmil._inner_cv.C_GRID` are fitted with
        threshold 0 on the inner folds; the best held-out accuracy at 0 chooses ``C``
        and, for ``threshold="auto"``, the same held-out bag scores of that ``C`` choose
        the threshold. With a fixed ``C`` the base class resolves ``threshold``.
        """
        self.cv_results_ = None
        if not isinstance(self.C, str):
            self.C_ = float(self.C)
            return
        splits = inner_cv_splits(bags, y, self.random_state)
        if splits is None:
            self.C_ = _C_FALLBACK
            return
        base = clone(self).set_params(threshold=0.0)
        candidates = [{"C": c} for c in C_GRID]
        self.cv_results_, decisions = search_refit(base, bags, y, candidates, splits,
                                                   instance_labels)
        best = best_index(self.cv_results_)
        self.C_ = float(C_GRID[best])
        if isinstance(self.threshold, str):
            self.threshold_ = best_threshold(decisions[best], y == 1, splits)

    def _store_state(self, run, bags: Bags, y: np.ndarray) -> None:  # pragma: no cover
        pass

    # -- predict -------------------------------------------------------------------
    def _decision_function_instances(self, bags: Bags) -> np.ndarray:
        if getattr(self, "kernel_map_", None) is not None:
            return mapped_scores(self.kernel_map_, self.model_, bags.instances)
        return self.model_(bags.instances)

    def _decision_function(self, bags: Bags) -> np.ndarray:
        return segment_max(self._decision_function_instances(bags), bags.offsets)


_PARAMS_TEMPLATE = """
    kernel : {"rbf", "linear", "poly", "sigmoid", "precomputed"}, default="rbf"
        Instance kernel, with libsvm's definitions. ``"precomputed"``: every bag is an
        array of instance-kernel rows, at ``fit`` one column per training instance
        (stacked, the bags' rows form the square ``N x N`` Gram matrix of the training
        instances, bag after bag), at ``predict`` the kernel values of the new
        instances against the training instances; :meth:`skmil.bags.Bags.take_pairwise`
        makes both from a Gram matrix over all bags. The matrix is used as it is
        (``gamma``, ``degree``, ``coef0`` and ``max_precomputed`` are ignored), the
        inner CVs of ``C="cv"``/``threshold="auto"`` slice its rows and columns, and
        MI-SVM's mean witnesses are means in the kernel's feature space (as with every
        nonlinear kernel).
    C : float or "cv", default="cv"
        Soft-margin penalty in scikit-learn's (libsvm's) meaning: the sum of slacks is
        multiplied by ``C``. ``"cv"`` chooses it from ``(0.1, 1, 10, 100, 1000)``
        (:data:`skmil._inner_cv.C_GRID`) by skmil's inner cross-validation (5 stratified
        folds of the training bags; bag accuracy of the whole alternation at threshold
        0; ties go to the smaller ``C``), which costs 25 extra fits on four fifths of
        the data; the results are in ``cv_results_``. Pass a number to skip it. misvm
        divides its ``C`` by the number of training examples (``scale_C=True``), so
        misvm ``C=c`` equals ``C=c / n_train`` here, where ``n_train`` is the size of
        the inner SVM's training set.
    gamma : {"scale", "auto"} or float, default="scale"
        Kernel coefficient; ``"scale"`` is ``1 / (n_features * X.var())`` over all
        training instances (fixed once per fit, so every iteration uses the same kernel).
    degree : int, default=3
        Degree of the polynomial kernel.
    coef0 : float, default=0.0
        Independent term of the poly/sigmoid kernels.
    kernel_approximation : {"nystroem", "rff"} or None, default=None
        Fit the SVMs on an explicit feature map of the instances whose inner products
        approximate the instance kernel (``kernel`` with ``gamma``, ``degree`` and
        ``coef0``) instead of on the kernel: ``"nystroem"``
        (:class:`sklearn.kernel_approximation.Nystroem`, the kernel's projection on
        ``n_components`` landmark instances drawn from the training instances; RBF,
        poly or sigmoid kernel) or ``"rff"``
        (:class:`sklearn.kernel_approximation.RBFSampler`, random Fourier features of
        the RBF kernel). The SVMs are then linear in the mapped instances and solved by
        the primal solver (``solver`` ``"auto"`` or ``"primal"``), in time linear in the
        instances where a kernel SVM's grows about quadratically. MI-SVM's starting
        means are means of the mapped instances, the map's estimate of the means in the
        kernel's feature space. The map is fitted on the training instances of each
        fit (inner CV folds included), drawn with ``random_state`` (seed 0 when None).
    n_components : int, default=256
        Dimension of the map of ``kernel_approximation`` (Nyström landmarks: at most the
        number of training instances).
{class_weight_doc}    max_iter : int, default=50
        Maximum number of inner SVM fits per run.
    n_init : int, default=1
        Number of runs: the paper's initialisation, then ``n_init - 1`` random ones; the
        run whose final SVM has the smallest objective (the dual optimum
        ``sum(alpha) - 1/2 alpha'Q alpha``, equal to the primal optimum) is kept.
    max_precomputed : int or "auto", default="auto"
        Largest number of kernel points for which the instance kernel is computed once
        (``n^2 * 8`` bytes) and reused by every iteration; above it libsvm evaluates
        kernel rows on demand through its own cache and no ``n x n`` matrix exists.
        ``"auto"`` is 8000 points (512 MB) for mi-SVM, which trains on the whole kernel
        without copying it, and 2000 for MI-SVM, which slices a new sub-kernel (negative
        instances + witnesses) every iteration while libsvm's cache computes only the
        rows the solver touches (``python benchmarks/bench_svm_precompute.py`` times
        both paths). Lower it to bound memory; raise it when memory allows and fits
        are slow.
    cache_size : float, default=500
        Size of libsvm's kernel cache in MB (used when the kernel is not precomputed).
    tol : float, default=1e-3
        Stopping tolerance of the solver (for ``"primal"``: the gradient's norm relative
        to its norm at ``w = 0``).
    solver : {"auto", "libsvm", "primal", "liblinear"}, default="auto"
        Solver of each inner SVM. ``"libsvm"``: libsvm's kernel dual of the hinge-loss
        SVM (the paper's), any kernel. ``"primal"`` (``kernel="linear"`` only): the
        squared-hinge SVM ``1/2 ||w||^2 + C sum_i c_i max(0, 1 - y_i f(x_i))^2``
        (``c_i`` the class weights, the intercept unpenalised) solved in the primal by
        Newton's method, each inner SVM starting from the previous one's solution: a few
        passes over the instances per inner SVM and no kernel matrix, for millions of
        instances (see :doc:`/svm`, "Linear SVMs at scale"). ``"liblinear"``
        (``kernel="linear"`` only): liblinear's dual coordinate descent for the hinge
        loss (``LinearSVC(loss="hinge")``), which also penalises the intercept (through a
        constant feature ``intercept_scaling``) and can run to its epoch cap on large
        separable problems. ``"auto"``: ``"primal"`` for the linear kernel, else
        ``"libsvm"``{auto_extra}. libsvm treats the linear kernel as any kernel, so its
        time grows about quadratically with the instances and steeply with ``C``.
    intercept_scaling : float, default=10.0
        Value of liblinear's constant feature (larger = less regularised intercept).
"""

# The last parameters in both signatures, after each class's own ones.
_RUN_PARAMS_DOC = """\
    random_state : int, RandomState or None, default=None
        Seeds the random initialisations of ``n_init``, the shuffled inner folds of
        ``C="cv"``/``threshold="auto"`` and liblinear's coordinate descent.
    verbose : int, default=0
        Print one line per run.
"""


_CW_MISVM = """\
    class_weight : dict, "balanced" or None, default=None
        Per-class multipliers of ``C`` (dict keyed by bag label), as in ``SVC``; with
        ``"balanced"`` they are recomputed for every inner training set. Negative
        instances usually dominate, so ``"balanced"`` is worth trying.
"""
_CW_INSTANCE = """\
    class_weight : dict, "balanced_instances", "balanced" or None, \
default="balanced_instances"
        Per-class multipliers of ``C`` (dict keyed by bag label), as in ``SVC``.
        ``"balanced_instances"``: when the positive bags hold more instances than the
        negative bags, an instance imputed positive weighs ``N / (2 N_pos)`` and one
        imputed negative ``N / (2 N_neg)`` (``N_pos`` and ``N_neg`` count the instances
        of the positive and of the negative bags, fixed for the whole alternation), so
        both classes of bags carry the same total weight; otherwise every instance
        weighs 1. The start labels every instance of a positive bag positive; when most
        instances come from positive bags that class dominates, the first SVM calls
        nearly every instance positive, no label changes and the run stops on it. The
        negative instances, whose labels are certain, need no boost when they are the
        majority. ``"balanced"`` recomputes scikit-learn's rule on the current imputed
        labels of every inner training set; None weighs every instance 1 (the paper's
        SVM).
"""
_PARAMS_DOC = _PARAMS_TEMPLATE.replace("{class_weight_doc}", _CW_MISVM).replace(
    "{auto_extra}", ' (and ``"libsvm"`` with ``negative_slack="bag"``)')
_PARAMS_DOC_INSTANCE = _PARAMS_TEMPLATE.replace("{class_weight_doc}", _CW_INSTANCE).replace(
    "{auto_extra}", "")


class InstanceMISVM(_BaseMISVM):
    _auto_max_precomputed = 8000

    __doc__ = f"""mi-SVM: an instance SVM with imputed labels for the instances of positive bags.

    Andrews, Tsochantaridis & Hofmann (2002). Every instance of a negative bag is
    negative; the labels of positive bags' instances are latent, with the constraint
    that each positive bag keeps at least one positive instance. The paper's heuristic:
    start from the bag labels, then alternate (1) fit an SVM on all instances with the
    current labels, (2) relabel every instance of a positive bag by the sign of its
    score (0 counts as positive) and, in a positive bag left without a positive, make
    its highest-scoring instance positive. Stops when no label changes, when a label
    vector repeats (a cycle: the heuristic does not guarantee monotone progress), or
    after ``max_iter`` SVM fits.

    Parameters
    ----------{_PARAMS_DOC_INSTANCE}    threshold : "auto" or float, default="auto"
        Threshold on the bag score (the maximum instance score ``f``): a bag is
        positive when ``max_j f(x_j) > threshold_``. ``"auto"`` takes the threshold with
        the best bag accuracy, averaged over the folds, on the held-out bag scores of
        the same inner CV that chooses ``C`` (no extra fits with ``C="cv"``; five with a
        fixed ``C``); ties go to the one closest to 0, the SVM's own threshold. The
        reason: the instance SVM's 0 is calibrated for instances, but a bag score is a
        maximum over many instances, so negative bags, large ones especially, cross 0
        far more often than any one instance does, and the bag AUC of mi-SVM is
        typically well above its accuracy at 0. A number fixes the threshold (``0.0`` is
        the paper's rule).
{_RUN_PARAMS_DOC}
    Attributes
    ----------
    instance_labels_ : ndarray of shape (n_instances,)
        Final imputed training instance labels in {{-1, +1}}, in the flat order of the
        training instances as given.
    C_ : float
        The ``C`` used (chosen by inner CV when ``C="cv"``).
    threshold_ : float
        The bag-score threshold used; every score the estimator returns has it
        subtracted.
    cv_results_ : dict or None
        The inner CV of ``C="cv"`` in :class:`~sklearn.model_selection.GridSearchCV`'s
        format (None with a fixed ``C``, or when a class has fewer than two bags and
        ``C_`` falls back to 1).
    n_iter_ : int
        Inner SVM fits of the kept run.
    stop_reason_ : {{"converged", "cycle", "max_iter"}}
        Why the kept run stopped; ``"max_iter"`` also emits a ``ConvergenceWarning``.
    objectives_ : ndarray of shape (n_init,) or None
        Final SVM objective of every run (only when ``n_init > 1``).
    best_init_ : int
        The kept run.
    precomputed_ : bool
        Whether the instance kernel was precomputed.
    kernel_map_ : Nystroem, RBFSampler or None
        The fitted feature map of ``kernel_approximation`` (None without one); the
        support vectors and ``dual_coef_`` then live in its output space.
    support_vectors_, dual_coef_, intercept_ :
        The final instance SVM ``f(x) = sum_i dual_coef_[i] k(sv_i, x) + intercept_``.
        With ``kernel="precomputed"``, ``support_vectors_`` has no rows and
        ``support_`` holds the training-instance index of each ``dual_coef_``.
    classes_ : ndarray of shape (2,)
    n_features_in_ : int

    Notes
    -----
    Bag score = maximum instance score minus ``threshold_``;
    ``decision_function_instances`` is ``f(x) - threshold_``, so a bag is predicted
    positive exactly when one of its instances is.
    ``fit(bags, y, instance_labels=L)`` takes known labels of some training instances
    (one array per bag: 1 witness, 0 negative, NaN unknown, see
    :meth:`~skmil.base.BaseMILClassifier.fit`). They are fixed for the whole
    alternation, never imputed: a known witness stays positive and a known negative
    negative whatever its score, and a positive bag with a known witness already
    satisfies the at-least-one constraint (a bag without one gets its best-scoring
    instance not known negative). ``instance_labels_`` keeps them. The inner
    cross-validations fit on the known labels of their training bags. One inner SVM costs libsvm's
    O(N^2)-O(N^3) on all ``N`` instances; the kernel is computed once (O(N^2 d)) when
    ``N <= max_precomputed``.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.svm import InstanceMISVM
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> clf = InstanceMISVM(kernel="linear").fit(bags, y)
    >>> clf.decision_function(bags[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        **_BaseMISVM._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced", "balanced_instances"}), None],
    }

    def _check_params(self, bags: Bags, y: np.ndarray,
                      instance_labels: np.ndarray | None = None) -> None:
        super()._check_params(bags, y, instance_labels)
        if self.class_weight == "balanced_instances":
            self._cw = instance_balanced_weights(bags.sizes, y)

    def _run(self, ctx, rng):
        bags, y, pos_idx, pos_off, pts = (
            ctx["bags"], ctx["y"], ctx["pos_idx"], ctx["pos_off"], ctx["pts"]
        )
        labels = np.repeat(np.where(y == 1, 1, -1), bags.sizes).astype(np.int64)
        known = ctx["known"]
        if known is None:
            repair = self._repair
        else:
            # known labels are never imputed: they override the sign of the score, and
            # the repair picks a bag's best instance among those not known negative (a
            # bag with a known witness already has its positive)
            kp = known[pos_idx]
            known_pos, known_neg = kp == 1, kp == 0

            def repair(lab, f, off):
                lab = np.where(known_pos, 1, np.where(known_neg, -1, lab))
                return self._repair(lab, np.where(known_neg, -np.inf, f), off)

            labels[pos_idx] = repair(labels[pos_idx], np.zeros(pos_idx.shape[0]), pos_off)
        if rng is not None:  # random initialisation: random labels, >= 1 positive per bag
            lab = np.where(rng.random_sample(pos_idx.shape[0]) < 0.5, 1, -1)
            lab = repair(lab, rng.random_sample(pos_idx.shape[0]), pos_off)
            labels[pos_idx] = lab
        all_idx = np.arange(bags.n_instances)
        seen = {_digest(labels[pos_idx])}
        stop = "max_iter"
        n_iter = 0
        while True:
            svc, sv_idx = self._fit_inner(pts, all_idx, labels)
            n_iter += 1
            f = self._scores(pts, svc, sv_idx, pos_idx)
            new = repair(np.where(f >= 0, 1, -1), f, pos_off)
            if np.array_equal(new, labels[pos_idx]):
                stop = "converged"
                break
            key = _digest(new)
            if key in seen:
                stop = "cycle"
                break
            if n_iter >= self.max_iter:
                break
            seen.add(key)
            labels[pos_idx] = new
        return {"svc": svc, "sv_idx": sv_idx, "n_iter": n_iter, "stop": stop,
                "labels": labels.copy()}

    @staticmethod
    def _repair(lab, f, pos_off):
        """Make the best-scoring instance positive in bags with no positive instance."""
        lab = lab.astype(np.int64)
        has_pos = segment_max(lab, pos_off) > 0
        if not has_pos.all():
            am = segment_argmax(np.asarray(f, dtype=np.float64), pos_off)
            lab[am[~has_pos]] = 1
        return lab

    def _store_state(self, run, bags: Bags, y: np.ndarray) -> None:
        self.instance_labels_ = run["labels"][user_instance_order(bags, self._train_order)]


class MISVM(_BaseMISVM):
    _auto_max_precomputed = 2000
    _parameter_constraints: dict = {
        **_BaseMISVM._parameter_constraints,
        "negative_slack": [StrOptions({"instance", "bag"})],
        "max_qp_size": [Interval(Integral, 1, None, closed="left")],
    }

    __doc__ = f"""MI-SVM: a bag-margin SVM that selects one witness per positive bag.

    Andrews, Tsochantaridis & Hofmann (2002). The margin of a positive bag is that of its
    highest-scoring instance (its witness); every instance of a negative bag must be
    negative. The paper's heuristic: start with each positive bag represented by its
    mean; alternate (1) fit an SVM on the positive-bag representatives (+1) and all
    negative instances (-1), (2) take as each positive bag's new witness its
    highest-scoring instance. Stops when no witness changes, when a witness selection
    repeats (a cycle), or after ``max_iter`` SVM fits. By default negative instances carry
    their own slacks (the paper's inner SVM, solvable by libsvm); ``negative_slack="bag"``
    shares one slack per negative bag, as the MI-SVM bag margin (and misvm) has it.

    Parameters
    ----------{_PARAMS_DOC}    negative_slack : {{"instance", "bag"}}, default="instance"
        Slack of the negative bags in each inner SVM. ``"instance"``: one slack per
        negative instance, a standard SVM solved by libsvm (any size). ``"bag"``: one
        slack per negative bag, ``f(x) <= -1 + xi_J`` for every ``x`` in bag ``J``, i.e.
        the extra dual constraint ``sum_{{i in J}} alpha_i <= C`` that libsvm cannot
        express; each inner SVM is then solved by skmil's SMO for that dual (numba,
        on the dense kernel matrix of the inner training set, warm-started from the
        previous inner SVM) and the intercept comes from the KKT conditions of the free
        support vectors. One such solve costs about as much as libsvm's on the same
        kernel (``benchmarks/bench_misvm_bag_slack.py``). With ``class_weight``, the
        weight of the negative class multiplies each bag's ``C``. Needs the kernel dual:
        ``solver="libsvm"`` (``"auto"`` picks it).
    max_qp_size : int, default=8000
        Largest inner training set (negative instances plus one point per positive bag)
        accepted with ``negative_slack="bag"``, whose solver holds that set's dense
        kernel matrix (``8 n^2`` bytes, 512 MB at 8,000) and, up to the same size, the
        instance kernel of all training points; above it ``fit`` raises and points to
        ``negative_slack="instance"`` (libsvm with its own kernel cache, any size).
    threshold : "auto" or float, default=0.0
        Threshold on the bag score (the witness's score), as in :class:`InstanceMISVM`;
        ``"auto"`` chooses it on the held-out bag scores of the inner CV. The default
        keeps the SVM's 0: MI-SVM's inner SVM is trained on the witnesses, so its 0
        already separates bag scores.
{_RUN_PARAMS_DOC}
    Attributes
    ----------
    witness_indices_ : ndarray of shape (n_positive_bags,)
        Flat index (into the training instances as given) of each positive bag's final
        witness, in the order the positive bags were given; ``-1`` if the run stopped
        while still on the means.
    C_ : float
        The ``C`` used (chosen by inner CV when ``C="cv"``).
    cv_results_ : dict or None
        The inner CV of ``C="cv"`` in :class:`~sklearn.model_selection.GridSearchCV`'s
        format (None with a fixed ``C``, or when a class has fewer than two bags and
        ``C_`` falls back to 1).
    n_iter_ : int
        Inner SVM fits of the kept run.
    stop_reason_ : {{"converged", "cycle", "max_iter"}}
        Why the kept run stopped; ``"max_iter"`` also emits a ``ConvergenceWarning``.
    objectives_ : ndarray of shape (n_init,) or None
        Final SVM objective of every run (only when ``n_init > 1``).
    best_init_ : int
        The kept run.
    precomputed_ : bool
        Whether the instance kernel was precomputed.
    kernel_map_ : Nystroem, RBFSampler or None
        The fitted feature map of ``kernel_approximation`` (None without one); the
        support vectors and ``dual_coef_`` then live in its output space.
    feature_start_ : bool
        Whether the starting means (and random combinations) were taken in the
        kernel's feature space: True for every nonlinear kernel unless the first inner
        problem exceeded ``max_qp_size`` points without a precomputed instance kernel;
        False for the linear kernel, whose input-space mean is the same point.
    threshold_ : float
        The bag-score threshold used (subtracted from every returned score).
    support_vectors_, dual_coef_, intercept_ :
        The final instance SVM ``f(x) = sum_i dual_coef_[i] k(sv_i, x) + intercept_``.
        With ``kernel="precomputed"``, ``support_vectors_`` has no rows and
        ``support_`` holds the training-instance index of each ``dual_coef_``.
    classes_ : ndarray of shape (2,)
    n_features_in_ : int

    Notes
    -----
    Bag score = maximum instance score, the quantity whose margin MI-SVM maximises.
    ``fit(bags, y, instance_labels=L)`` takes known labels of some training instances
    (one array per bag: 1 witness, 0 negative, NaN unknown, see
    :meth:`~skmil.base.BaseMILClassifier.fit`). A positive bag with known witnesses
    takes its witness among them (the best-scoring one; the start is their mean)
    instead of among all its instances; a bag without one selects among its instances
    not known negative. Known negatives of positive bags join the negative examples
    (with ``negative_slack="bag"`` they share one slack per bag, like a negative bag's
    instances). The inner cross-validations fit on the known labels of their training
    bags.
    With a nonlinear kernel the starting mean of a positive bag is its mean in the
    kernel's feature space (kernel value ``mean_j k(x_j, x)`` against any ``x``), not the
    input-space mean, which lies near the centre of the data: an RBF SVM fitted on
    input-space means calls central points positive and starts every bag from its most
    central instance (:doc:`/svm`). The first inner problem is then solved on an explicit
    kernel matrix of the negative instances and the means.
    Random initialisations start from random convex combinations of each positive bag's
    instances (misvm's choice); their kernel rows are computed explicitly.
    An inner SVM has ``N_neg + B_pos`` examples. With ``negative_slack="bag"`` the
    objective that ranks the runs is the shared-slack dual optimum (equal to the
    shared-slack primal).

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.svm import MISVM
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> clf = MISVM(kernel="linear").fit(bags, y)
    >>> clf.predict(bags[:3]).shape
    (3,)
    >>> shared = MISVM(kernel="linear", C=1.0, negative_slack="bag").fit(bags, y)
    >>> shared.n_iter_ >= 1
    True
    """

    def __init__(
        self,
        *,
        kernel: str = "rbf",
        C: Any = "cv",
        gamma: Any = "scale",
        degree: int = 3,
        coef0: float = 0.0,
        kernel_approximation: str | None = None,
        n_components: int = 256,
        class_weight: Any = None,
        max_iter: int = 50,
        n_init: int = 1,
        max_precomputed: Any = "auto",
        cache_size: float = 500.0,
        tol: float = 1e-3,
        solver: str = "auto",
        intercept_scaling: float = 10.0,
        negative_slack: str = "instance",
        max_qp_size: int = 8000,
        threshold: Any = 0.0,
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(
            kernel=kernel, C=C, gamma=gamma, degree=degree, coef0=coef0,
            kernel_approximation=kernel_approximation, n_components=n_components,
            class_weight=class_weight, max_iter=max_iter, n_init=n_init,
            max_precomputed=max_precomputed, cache_size=cache_size, tol=tol,
            solver=solver, intercept_scaling=intercept_scaling, threshold=threshold,
            random_state=random_state, verbose=verbose,
        )
        self.negative_slack = negative_slack
        self.max_qp_size = max_qp_size

    def _check_params(self, bags: Bags, y: np.ndarray,
                      instance_labels: np.ndarray | None = None) -> None:
        super()._check_params(bags, y, instance_labels)
        if self.negative_slack == "bag" and self._solver != "libsvm":
            raise ValueError(
                "negative_slack='bag' solves each inner SVM's kernel dual; it cannot be "
                f"combined with solver={self.solver!r}. Use solver='libsvm' (or 'auto') "
                "or negative_slack='instance'."
            )
        self._bag_slack = self.negative_slack == "bag"
        if self._bag_slack:
            # every inner SVM has the negative instances plus one point per positive bag,
            # and the known negatives of positive bags join the negative instances
            n_qp = int(bags.sizes[y == 0].sum()) + int((y == 1).sum())
            if instance_labels is not None:
                in_pos = np.repeat(y == 1, bags.sizes)
                n_qp += int(np.count_nonzero(in_pos & (instance_labels == 0)))
            if n_qp > self.max_qp_size:
                raise ValueError(
                    f"negative_slack='bag' would hold a dense {n_qp} x {n_qp} kernel "
                    f"matrix (negative instances, known negatives of positive bags and "
                    f"positive bags; "
                    f"{8 * n_qp * n_qp / 2**30:.1f} GiB), above max_qp_size="
                    f"{self.max_qp_size}. Use negative_slack='instance' (libsvm, any "
                    f"size), or raise max_qp_size if the memory is there."
                )

    def _resolve_solver(self) -> str:
        # the shared negative slacks exist only in skmil's kernel-dual SMO
        if self.solver == "auto" and self.negative_slack == "bag":
            return "libsvm"
        return super()._resolve_solver()

    def _precompute_limit(self) -> int:
        # the shared-slack solver holds the inner problem's dense kernel anyway, so the
        # instance kernel is worth keeping whenever it is allowed to be that large
        if self._bag_slack:
            return max(self._max_precomputed, self.max_qp_size)
        return self._max_precomputed

    def _fit_inner_bag(self, pts: _PointSet, idx: np.ndarray, y_pm: np.ndarray,
                       layout: GroupLayout, alpha0: np.ndarray | None):
        """The inner SVM with one slack per negative bag (group-capped SMO).

        ``alpha0`` is the previous inner SVM's solution: the next problem has the same
        negatives and one witness per positive bag at the same positions and bounds, so
        it is feasible there and the solver continues from it.
        """
        K = pts.train_gram(idx) if self.precomputed_ else self._gram(pts, idx)
        y = y_pm.astype(np.float64)
        alpha, b, _, _ = group_smo_solve(K, y, layout=layout, tol=self.tol, alpha0=alpha0)
        sup = np.flatnonzero(alpha > 0)
        return (y[sup] * alpha[sup], b), idx[sup], alpha

    def _n_points(self, bags: Bags) -> int:
        return bags.n_instances + bags.n_bags

    def _run(self, ctx, rng):
        bags, y, pos_idx, pos_off, pts = (
            ctx["bags"], ctx["y"], ctx["pos_idx"], ctx["pos_off"], ctx["pts"]
        )
        X = bags.instances
        n_pos = pos_off.shape[0] - 1
        if rng is None:
            weights = np.ones(pos_idx.shape[0])
        else:
            weights = rng.exponential(size=pos_idx.shape[0])  # Dirichlet(1) once normalised
        known = ctx["known"]
        if known is not None:
            # a positive bag's candidates: its known witnesses if it has any, else its
            # instances not known negative; the start and every selection use only them
            kp = known[pos_idx]
            has_known = np.repeat(segment_max(np.where(kp == 1, 1, 0), pos_off) > 0,
                                  np.diff(pos_off))
            candidate = np.where(has_known, kp == 1, kp != 0)
            weights = np.where(candidate, weights, 0.0)
        sums = np.add.reduceat(weights, pos_off[:-1])
        E = example_means(X, pos_idx, pos_off, weights)
        # with a precomputed kernel X holds kernel rows, so E is already the kernel rows
        # of the feature-space combinations
        w = weights / np.repeat(sums, np.diff(pos_off))
        neg_idx = np.flatnonzero(np.repeat(y == 0, bags.sizes))
        if known is not None:
            # known negatives of positive bags are negative examples like the instances
            # of negative bags (sharing their own bag's slack with negative_slack="bag")
            neg_idx = np.union1d(neg_idx, pos_idx[kp == 0])
        # A nonlinear kernel takes the means in its feature space: the input-space mean
        # of a bag lies near the centre of the data, so an RBF SVM fitted on those means
        # learns "central is positive" and then picks each bag's most central instance
        # as its witness, not its most distinctive one. The first inner problem then
        # needs the explicit kernel matrix of the negatives and the means; above
        # max_qp_size points (and no precomputed instance kernel) the input-space means
        # stand in.
        self.feature_start_ = self._kernel != "linear" and (
            self.precomputed_ or neg_idx.shape[0] + n_pos <= self.max_qp_size)
        pts.set_extra(E, (pos_idx, w, pos_off), feature_space=self.feature_start_)
        y_train = np.concatenate([-np.ones(neg_idx.shape[0]), np.ones(n_pos)]).astype(int)
        # shared-slack groups: a negative instance's bag id; -1 = own slack (witnesses)
        groups = np.concatenate([bags.bag_index[neg_idx], -np.ones(n_pos, dtype=np.int64)])
        sel = pts.N + np.arange(n_pos)  # representatives: the extra (mean) points
        seen = set()
        stop = "max_iter"
        n_iter = 0
        alpha = None
        if self._bag_slack:
            layout = GroupLayout(groups, self.C_ * sample_weights_for(y_train, self._cw))
        while True:
            idx = np.concatenate([neg_idx, sel])
            if self._bag_slack:
                svc, sv_idx, alpha = self._fit_inner_bag(pts, idx, y_train, layout, alpha)
            else:
                svc, sv_idx = self._fit_inner(pts, idx, y_train)
            n_iter += 1
            f = self._scores(pts, svc, sv_idx, pos_idx)
            if known is not None:
                f = np.where(candidate, f, -np.inf)
            new = pos_idx[segment_argmax(f, pos_off)]
            if np.array_equal(new, sel):
                stop = "converged"
                break
            key = _digest(new)
            if key in seen:
                stop = "cycle"
                break
            if n_iter >= self.max_iter:
                break
            seen.add(key)
            sel = new
        witnesses = np.where(sel < pts.N, sel, -1)
        return {"svc": svc, "sv_idx": sv_idx, "n_iter": n_iter, "stop": stop,
                "witnesses": witnesses}

    def _store_state(self, run, bags: Bags, y: np.ndarray) -> None:
        wit = user_instance_index(bags, self._train_order, run["witnesses"])
        self.witness_indices_ = wit[user_positive_bag_order(self._train_order, y)]
