"""The base of the bag-kernel SVMs: one Gram matrix, inner CV on its slices, libsvm (private).

MI-Kernel (:class:`~skmil.svm.MIKernelSVM`), the statistics kernel
(:class:`~skmil.svm.STK`), mi-Graph and MI-Graph (:class:`~skmil.graph.MIGraph`,
:class:`~skmil.graph.MIGraphExplicit`) and EMD-SVM (:class:`~skmil.distance.EMDSVM`) are
all a C-SVM on a precomputed kernel between bags. They differ only in that kernel, so
:class:`BagKernelSVM` owns everything else:

* the training Gram matrix, computed once per kernel setting by the subclass;
* ``C="cv"`` and the subclass's kernel-parameter grid (e.g. ``gamma="cv"``), chosen by
  skmil's one inner CV (:func:`skmil._inner_cv.inner_cv_splits`, seeded by
  ``random_state``). A bag kernel does not depend on ``C``, and the Gram matrix of a
  subset of bags is a slice of the full one, so every candidate costs only libsvm fits on
  slices; the results are ``cv_results_`` (:func:`skmil._inner_cv.cv_results`) and the
  choice :func:`skmil._inner_cv.best_index` (ties to the earliest candidate: the smallest
  kernel parameter, then the smallest ``C``);
* the libsvm fit (scikit-learn's binding, as ``SVC(kernel="precomputed")`` runs it);
* ``support_`` (the support bags in the user's numbering), ``support_bags_``,
  ``dual_coef_`` and ``intercept_``: the decision function is
  ``f(B) = sum_i dual_coef_[i] K(B, support_bags_[i]) + intercept_``, so prediction
  computes the kernel against the support bags only.

Under ``kernel_approximation`` (MI-Kernel, mi-Graph) the bag kernel is a linear kernel on
one explicit vector per bag (the bag's normalised, possibly weighted, sum of an instance
feature map, :func:`skmil.svm._approximation.bag_feature_sums`), and the model is
``coef_`` and ``intercept_`` on those vectors. ``solver`` says how it is fitted:
``"libsvm"`` runs the exact path's libsvm SVM (SVR) on the vectors' Gram matrix, the
hinge (epsilon-insensitive) loss, and folds the support bags into ``coef_``;
``"primal"`` forms no Gram matrix and fits a linear SVM (the squared-hinge primal of
:mod:`skmil.svm._primal`) or a linear SVR (liblinear's primal,
:class:`sklearn.svm.LinearSVR`) on the vectors, with the inner CV slicing their rows as
it slices the Gram matrix; ``"auto"`` is ``"libsvm"`` up to ``LIBSVM_MAX_BAGS`` training
bags. K >= 3 classes take the primal, one SVM per class against the rest.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any

import numpy as np
from sklearn.svm import SVC, SVR, LinearSVR
from sklearn.utils.class_weight import compute_sample_weight

from .._inner_cv import C_GRID, best_index, cv_results, inner_cv_splits, inner_regression_splits
from ..bags import Bags
from ..base import BaseMILClassifier, BaseMILRegressor, _target_location_scale
from ._approximation import check_kernel_approximation
from ._common import encoded_class_weight, libsvm_binary_fit, signed_class_weight
from ._primal import SquaredHingeSVM

__all__ = ["AUTO_EXACT_MAX_BAGS", "BagKernelSVM", "BagKernelSVR", "C_FALLBACK",
           "LIBSVM_MAX_BAGS"]

#: ``C`` used by ``C="cv"`` when a class has fewer than two training bags (no inner split
#: exists).
C_FALLBACK = 10.0

#: Training bags up to which ``kernel_approximation="auto"`` keeps the exact kernel: its
#: Gram matrix is 800 MB here, and MI-Kernel fits 10,000 bags of 10 x 64 in about 40 s
#: (``benchmarks/bench_scale.py``); above, the Gram matrix grows as the square of the
#: bags and the Nystroem map (``"auto"`` takes it there) as the instances.
AUTO_EXACT_MAX_BAGS = 10_000

#: Training bags up to which ``solver="auto"`` fits an approximate bag kernel with libsvm
#: on the Gram matrix of the bag features (128 MiB at this size), as the exact kernel is
#: fitted: the approximation then changes the kernel and nothing else. Above it the Gram
#: matrix's memory and libsvm's roughly quadratic time grow past the primal solver's.
LIBSVM_MAX_BAGS = 4096


def _gram_slices(K: np.ndarray, tr: np.ndarray, te: np.ndarray):
    """The training and held-out blocks of a Gram matrix for one inner fold."""
    return K[np.ix_(tr, tr)], K[np.ix_(te, tr)]


def _row_slices(Phi: np.ndarray, tr: np.ndarray, te: np.ndarray):
    """The training and held-out rows of the bag features for one inner fold."""
    return Phi[tr], Phi[te]


def _explained_memory(est: Any, train):
    """``train``, whose MemoryError names the Gram matrix's size and the way around it."""
    def wrapped(bags: Bags):
        try:
            return train(bags)
        except MemoryError as exc:
            gib = 8.0 * bags.n_bags ** 2 / 2**30
            way = ("kernel_approximation='nystroem' fits without it (its solver='auto' "
                   f"forms no Gram matrix above {LIBSVM_MAX_BAGS:,} bags)"
                   if "kernel_approximation" in est.get_params() else "fit on fewer bags")
            raise MemoryError(
                f"{type(est).__name__} could not hold the Gram matrix of its "
                f"{bags.n_bags} training bags ({gib:.1f} GiB, and the same again for the "
                f"solver's copy); {way}.") from exc
    return wrapped


def _select_kernel_and_C(est: Any, bags: Bags, make_splits, fold_score):
    """The kernel setting and ``C`` of a bag-kernel SVM, by inner CV on Gram slices.

    Sets the chosen setting's attributes, ``C_`` and (after a search) ``cv_results_`` on
    ``est``, and returns the chosen training Gram matrix and its per-bag data.
    ``make_splits()`` gives the inner folds (None when none exist: then the fallback
    setting and ``C_FALLBACK``); ``fold_score(Ktr, Kte, train, test, C)`` scores one
    candidate ``C`` on one fold (larger is better). Under a ``kernel_approximation`` the
    "Gram matrix" is the ``(n_bags, n_components)`` matrix of bag features
    (``_train_features``) with ``solver="primal"``, and a fold takes its rows instead of
    a block; with ``"libsvm"`` it is those features' Gram matrix, and the per-bag data
    the features (``_train_feature_gram``).
    """
    est.__dict__.pop("cv_results_", None)  # a refit must not keep a stale search
    approximate = est._approximate
    rows = approximate and est.solver_ == "primal"
    if not approximate:
        train = _explained_memory(est, est._train_gram)
    else:
        train = est._train_features if rows else est._train_feature_gram
    cut = _row_slices if rows else _gram_slices
    settings, fallback = est._kernel_candidates(bags)
    search_C = isinstance(est.C, str)
    Cs = C_GRID if search_C else (float(est.C),)
    splits = make_splits() if len(settings) * len(Cs) > 1 else None
    if splits is None:
        for name, value in settings[fallback].items():
            setattr(est, name, value)
        est.C_ = C_FALLBACK if search_C else Cs[0]
        return train(bags)
    grams = []
    scores = np.zeros((len(settings) * len(Cs), len(splits)))
    for gi, setting in enumerate(settings):
        for name, value in setting.items():
            setattr(est, name, value)
        K, aux = train(bags)
        grams.append((K, aux, getattr(est, "kernel_map_", None)))
        for k, (tr, te) in enumerate(splits):
            Ktr, Kte = cut(K, tr, te)
            for ci, C in enumerate(Cs):
                scores[gi * len(Cs) + ci, k] = fold_score(Ktr, Kte, tr, te, C)
    candidates = []
    for setting in settings:
        public = {n.rstrip("_"): v for n, v in setting.items()} if len(settings) > 1 else {}
        for C in Cs:
            candidates.append({**public, "C": C} if search_C else public)
    est.cv_results_ = cv_results(candidates, scores)
    g, c = divmod(best_index(est.cv_results_), len(Cs))
    for name, value in settings[g].items():
        setattr(est, name, value)
    est.C_ = Cs[c]
    K, aux, mapper = grams[g]
    if approximate:
        est.kernel_map_ = mapper
    return K, aux


class _BagKernelHooks(metaclass=ABCMeta):
    """The hooks through which a bag kernel serves the C-SVM and the epsilon-SVR bases.

    A kernel subclass implements:

    * ``_kernel_candidates(bags)``: the kernel settings to try, as a list of dicts of
      fitted attributes (e.g. ``[{"gamma_": 0.1}, {"gamma_": 0.3}]``), and the index of
      the one to use when no inner split exists. One setting means no kernel search; the
      setting is applied with ``setattr`` before ``_train_gram`` runs, and reported in
      ``cv_results_`` under the attribute's name without the trailing underscore;
    * ``_train_gram(bags)``: the ``(n_bags, n_bags)`` Gram matrix under the current
      setting, and per-bag data that prediction needs (an array whose first axis runs
      over the bags, or None); the base keeps its rows of the support bags as
      ``_support_aux``;
    * ``_cross_gram(bags)``: the ``(n_bags, n_support_bags)`` kernel between ``bags`` and
      ``support_bags_``;
    * optionally ``_prepare_support(rows)``, called once the support bags are known, to cache
      what ``_cross_gram`` needs of them;
    * for a kernel with a ``kernel_approximation`` parameter, ``_train_features(bags)``
      (fit ``kernel_map_`` on the training instances under the current setting, and
      return the ``(n_bags, n_components)`` bag features and per-bag data) and
      ``_bag_features(bags)`` (the features of any bags under the fitted map).
    """

    #: Fitted attributes of one model kind that a refit of the other kind must drop.
    _MODEL_ATTRIBUTES = ("support_", "support_bags_", "dual_coef_", "coef_", "intercept_",
                         "kernel_map_", "_support_aux", "solver_", "kernel_approximation_")

    @property
    def _approximate(self) -> bool:
        return getattr(self, "kernel_approximation_", None) is not None

    def _resolve_approximation(self, n_bags: int) -> str | None:
        """``kernel_approximation`` with ``"auto"`` resolved for ``n_bags`` training bags."""
        method = getattr(self, "kernel_approximation", None)
        if method != "auto":
            return method
        mappable = getattr(self, "kernel", "rbf") == "rbf" or (
            getattr(self, "kernel", None) == "poly" and getattr(self, "p", 1) == 1)
        return "nystroem" if n_bags > AUTO_EXACT_MAX_BAGS and mappable else None

    def _start_fit(self, n_bags: int, multiclass: bool = False) -> None:
        """Drop the other model kind's attributes; resolve ``kernel_approximation_`` and
        ``solver_``."""
        for name in self._MODEL_ATTRIBUTES:
            self.__dict__.pop(name, None)
        solver = getattr(self, "solver", "auto")
        if hasattr(self, "kernel_approximation"):
            self.kernel_approximation_ = self._resolve_approximation(n_bags)
        if self._approximate:
            check_kernel_approximation(self, solvers=("auto", "libsvm", "primal"),
                                       method=self.kernel_approximation_)
            if solver == "auto":
                solver = "libsvm" if n_bags <= LIBSVM_MAX_BAGS else "primal"
            self.solver_ = "primal" if multiclass else solver
        elif solver == "primal":
            raise ValueError(
                f"solver='primal' fits {type(self).__name__} on explicit bag features; "
                "without a kernel_approximation there are none. Set kernel_approximation"
                "='nystroem' (or 'rff'), or use solver='auto'.")
        else:
            self.solver_ = "libsvm"

    def _train_feature_gram(self, bags: Bags) -> tuple[np.ndarray, np.ndarray]:
        """The bag features' Gram matrix, and the features as per-bag data."""
        Phi, _ = self._train_features(bags)
        return Phi @ Phi.T, Phi

    def _train_features(self, bags: Bags) -> tuple[np.ndarray, np.ndarray | None]:
        """Fit ``kernel_map_`` and return the training bags' features (approximation)."""
        raise NotImplementedError(f"{type(self).__name__} has no kernel_approximation")

    def _bag_features(self, bags: Bags) -> np.ndarray:
        """The bags' features under the fitted ``kernel_map_`` (approximation)."""
        raise NotImplementedError(f"{type(self).__name__} has no kernel_approximation")

    def _linear_scores(self, bags: Bags) -> np.ndarray:
        return self._bag_features(bags) @ self.coef_.T + self.intercept_

    def _kernel_candidates(self, bags: Bags) -> tuple[list[dict[str, Any]], int]:
        return [{}], 0

    @abstractmethod
    def _train_gram(self, bags: Bags) -> tuple[np.ndarray, np.ndarray | None]:
        """Training Gram matrix under the current kernel setting, and per-bag data."""

    @abstractmethod
    def _cross_gram(self, bags: Bags) -> np.ndarray:
        """Kernel between ``bags`` and ``support_bags_``."""

    def _prepare_support(self, rows: np.ndarray) -> None:
        """Cache what ``_cross_gram`` needs of the support bags (default: nothing).

        ``rows`` are the support bags' positions among the training bags as ``_fit``
        saw them (``support_bags_`` is ``bags.take(rows)``).
        """
        return None

    def _kernel_expansion(self, bags: Bags) -> np.ndarray:
        """``sum_i dual_coef_[i] K(B, support_bags_[i]) + intercept_`` for every bag."""
        return self._cross_gram(bags) @ self.dual_coef_ + self.intercept_


class BagKernelSVM(_BagKernelHooks, BaseMILClassifier):
    """A C-SVM on a precomputed kernel between bags (private base class).

    Subclasses declare ``C``, ``class_weight`` and ``random_state`` (and optionally
    ``tol``) and implement the kernel hooks of :class:`_BagKernelHooks`.
    """

    _multi_class = True

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        self._svc = None
        self._start_fit(bags.n_bags, multiclass=self.classes_.shape[0] > 2)
        if self.solver_ == "primal":
            self._fit_linear(bags, y)
            return
        if self.classes_.shape[0] > 2:
            self._fit_multiclass(bags, y)
            return
        y_pm = np.where(y == 1, 1, -1)
        class_weight = signed_class_weight(self.class_weight, self.classes_)
        tol = float(getattr(self, "tol", 1e-3))

        def fold_score(Ktr, Kte, tr, te, C):
            sup, dual, b = libsvm_binary_fit(Ktr, y_pm[tr], kernel="precomputed", C=C,
                                             class_weight=class_weight, tol=tol)
            # predict's rule (decision > 0), as every skmil inner CV scores
            return np.mean((Kte[:, sup] @ dual + b > 0) == (y_pm[te] > 0))

        K, aux = _select_kernel_and_C(
            self, bags, lambda: inner_cv_splits(bags, y, self.random_state), fold_score)
        sup, dual, b = libsvm_binary_fit(K, y_pm, kernel="precomputed", C=self.C_,
                                         class_weight=class_weight, tol=tol)
        if self._approximate:  # the support bags' features, folded into one vector
            self.coef_, self.intercept_ = dual @ aux[sup], float(b)
            return
        _keep_support(self, bags, sup, dual, b, aux)

    def _fit_multiclass(self, bags: Bags, y: np.ndarray) -> None:
        """K >= 3 classes: libsvm's one-vs-one SVC on the same precomputed Gram matrix.

        One Gram matrix serves every pair of classes (and every candidate of the inner
        CV, scored by accuracy on its slices). ``dual_coef_`` and ``intercept_`` are
        libsvm's, ``(K - 1, n_support_bags)`` and ``(K (K - 1) / 2,)``, in the
        ``support_`` order; the scores are scikit-learn's one-vs-rest shaped votes.
        """
        class_weight = encoded_class_weight(self.class_weight, self.classes_)
        tol = float(getattr(self, "tol", 1e-3))

        def svc(C):
            return SVC(kernel="precomputed", C=C, class_weight=class_weight, tol=tol,
                       decision_function_shape="ovr")

        def fold_score(Ktr, Kte, tr, te, C):
            return np.mean(svc(C).fit(Ktr, y[tr]).predict(Kte) == y[te])

        K, aux = _select_kernel_and_C(
            self, bags, lambda: inner_cv_splits(bags, y, self.random_state), fold_score)
        model = svc(self.C_).fit(K, y)
        sup = np.asarray(model.support_, dtype=np.intp)
        _keep_support(self, bags, sup, np.zeros(sup.shape[0]), 0.0, aux)
        # libsvm's coefficients follow its own support order; keep them in support_'s
        order = np.argsort(self._train_order[sup], kind="stable")
        self.dual_coef_ = np.asarray(model.dual_coef_, dtype=np.float64)[:, order]
        self.intercept_ = np.asarray(model.intercept_, dtype=np.float64)
        self._svc = model
        self._n_train = K.shape[0]
        self._support_rows = sup[order]

    def _fit_linear(self, bags: Bags, y: np.ndarray) -> None:
        """Under ``kernel_approximation``: a linear SVM on the bag features.

        The squared-hinge primal (:class:`~skmil.svm._primal.SquaredHingeSVM`, intercept
        not penalised) for two classes; one such SVM per class against the rest for
        K >= 3, all on the same features. ``class_weight`` weighs each bag by its class.
        """
        n_classes = self.classes_.shape[0]
        cw = encoded_class_weight(self.class_weight, self.classes_)
        tol = float(getattr(self, "tol", 1e-3))

        def solve(Phi, yy, C):
            weight = (np.ones(yy.shape[0]) if cw is None
                      else compute_sample_weight(cw, yy))
            classes = (1,) if n_classes == 2 else range(n_classes)
            W = np.empty((len(classes), Phi.shape[1]))
            b = np.empty(len(classes))
            for k, cls in enumerate(classes):
                svm = SquaredHingeSVM(Phi, C, tol=tol).fit(np.where(yy == cls, 1.0, -1.0),
                                                           weight)
                W[k], b[k] = svm.coef_, svm.intercept_
            return W, b

        def predict(scores):
            return (scores[:, 0] > 0).astype(y.dtype) if n_classes == 2 else scores.argmax(1)

        def fold_score(Ptr, Pte, tr, te, C):
            W, b = solve(Ptr, y[tr], C)
            return np.mean(predict(Pte @ W.T + b) == y[te])

        Phi, _ = _select_kernel_and_C(
            self, bags, lambda: inner_cv_splits(bags, y, self.random_state), fold_score)
        W, b = solve(Phi, y, self.C_)
        if n_classes == 2:
            self.coef_, self.intercept_ = W[0], float(b[0])
        else:
            self.coef_, self.intercept_ = W, b

    def _decision_function(self, bags: Bags) -> np.ndarray:
        if self._approximate:
            return self._linear_scores(bags)
        if getattr(self, "_svc", None) is not None:
            # libsvm reads only the support columns of a precomputed kernel row
            full = np.zeros((bags.n_bags, self._n_train))
            full[:, self._support_rows] = self._cross_gram(bags)
            return self._svc.decision_function(full)
        return self._kernel_expansion(bags)


def _keep_support(est: Any, bags: Bags, sup: np.ndarray, dual: np.ndarray, b: float,
                  aux: np.ndarray | None) -> None:
    """Store the support bags of a solved bag-kernel SVM (classifier or regressor).

    ``support_`` is in the user's numbering, increasing (fit saw the bags in the
    canonical order: its bag i is the user's bag ``_train_order[i]``).
    """
    sup = np.asarray(sup, dtype=np.intp)
    user = est._train_order[sup]
    order = np.argsort(user, kind="stable")
    sup = sup[order]
    est.support_ = np.asarray(user[order], dtype=np.intp)
    est.support_bags_ = bags.take(sup)
    est.dual_coef_ = np.asarray(dual, dtype=np.float64)[order]
    est.intercept_ = float(b)
    est._support_aux = None if aux is None else np.asarray(aux)[sup]
    est._prepare_support(sup)


def _svr_fit(K: np.ndarray, y: np.ndarray, C: float, epsilon: float, tol: float):
    """libsvm's epsilon-SVR on a precomputed kernel: support rows, dual coefs, intercept."""
    model = SVR(kernel="precomputed", C=C, epsilon=epsilon, tol=tol).fit(K, y)
    return model.support_, model.dual_coef_[0], float(model.intercept_[0])


class BagKernelSVR(_BagKernelHooks, BaseMILRegressor):
    """An epsilon-SVR on a precomputed kernel between bags (private base class).

    The regression counterpart of :class:`BagKernelSVM`, with the same subclass hooks
    (``_kernel_candidates``, ``_train_gram``, ``_cross_gram``, ``_prepare_support``), so
    a bag kernel is written once and serves both. Subclasses declare ``C``,
    ``epsilon`` and ``random_state`` (and optionally ``tol``).

    The SVR is fitted to the standardised targets ``(y - mean) / std`` of the training
    bags, so ``epsilon`` (the half-width of the loss's insensitive tube) is in units of
    the targets' standard deviation and the defaults do not depend on the targets'
    scale; ``dual_coef_`` and ``intercept_`` are mapped back, so that ``predict(B) =
    sum_i dual_coef_[i] K(B, support_bags_[i]) + intercept_`` in the targets' units.
    ``C="cv"`` and the kernel grid are chosen by skmil's inner CV for regressors
    (:func:`skmil._inner_cv.inner_regression_splits`, negative mean squared error) on
    slices of each Gram matrix, as the classifier does.
    """

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        self._start_fit(bags.n_bags)
        tol = float(getattr(self, "tol", 1e-3))
        eps = float(self.epsilon)
        mean, std = _target_location_scale(y)
        ys = (y - mean) / std
        if self.solver_ == "primal":
            self._fit_linear(bags, y, ys, mean, std, eps, tol)
            return

        def fold_score(Ktr, Kte, tr, te, C):
            sup, dual, b = _svr_fit(Ktr, ys[tr], C, eps, tol)
            return -np.mean((Kte[:, sup] @ dual + b - ys[te]) ** 2) * std ** 2

        K, aux = _select_kernel_and_C(
            self, bags, lambda: inner_regression_splits(bags, y, self.random_state),
            fold_score)
        sup, dual, b = _svr_fit(K, ys, self.C_, eps, tol)
        if self._approximate:  # the support bags' features, folded into one vector
            self.coef_ = (np.asarray(dual) * std) @ aux[sup]
            self.intercept_ = mean + std * b
            return
        _keep_support(self, bags, sup, np.asarray(dual) * std, mean + std * b, aux)

    def _fit_linear(self, bags: Bags, y: np.ndarray, ys: np.ndarray, mean: float,
                    std: float, eps: float, tol: float) -> None:
        """Under ``kernel_approximation``: a linear SVR on the bag features.

        liblinear's primal solver of the squared epsilon-insensitive loss
        (:class:`sklearn.svm.LinearSVR`, ``dual=False``), on the standardised targets.
        """
        def solve(Phi, t, C):
            return LinearSVR(C=C, epsilon=eps, loss="squared_epsilon_insensitive",
                             dual=False, tol=tol).fit(Phi, t)

        def fold_score(Ptr, Pte, tr, te, C):
            return -np.mean((solve(Ptr, ys[tr], C).predict(Pte) - ys[te]) ** 2) * std ** 2

        Phi, _ = _select_kernel_and_C(
            self, bags, lambda: inner_regression_splits(bags, y, self.random_state),
            fold_score)
        model = solve(Phi, ys, self.C_)
        self.coef_ = np.asarray(model.coef_, dtype=np.float64) * std
        self.intercept_ = mean + std * float(np.ravel(model.intercept_)[0])

    def _predict(self, bags: Bags) -> np.ndarray:
        if self._approximate:
            return self._linear_scores(bags)
        return self._kernel_expansion(bags)
