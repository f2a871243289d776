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
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any

import numpy as np
from sklearn.svm import SVC, SVR

from .._inner_cv import C_GRID, best_index, cv_results, inner_cv_splits, inner_regression_splits
from ..bags import Bags
from ..base import BaseMILClassifier, BaseMILRegressor, _target_location_scale
from ._common import encoded_class_weight, libsvm_binary_fit, signed_class_weight

__all__ = ["BagKernelSVM", "BagKernelSVR", "C_FALLBACK"]

#: ``C`` used by ``C="cv"`` when a class has fewer than two training bags (no inner split
#: exists).
C_FALLBACK = 10.0


def _select_kernel_and_C(est: Any, bags: Bags, make_splits, fold_score):
    """The kernel setting and ``C`` of a bag-kernel SVM, by inner CV on Gram slices.

    Sets the chosen setting's attributes, ``C_`` and (after a search) ``cv_results_`` on
    ``est``, and returns the chosen training Gram matrix and its per-bag data.
    ``make_splits()`` gives the inner folds (None when none exist: then the fallback
    setting and ``C_FALLBACK``); ``fold_score(Ktr, Kte, train, test, C)`` scores one
    candidate ``C`` on one fold (larger is better).
    """
    est.__dict__.pop("cv_results_", None)  # a refit must not keep a stale search
    settings, fallback = est._kernel_candidates(bags)
    search_C = isinstance(est.C, str)
    Cs = C_GRID if search_C else (float(est.C),)
    splits = make_splits() if len(settings) * len(Cs) > 1 else None
    if splits is None:
        for name, value in settings[fallback].items():
            setattr(est, name, value)
        est.C_ = C_FALLBACK if search_C else Cs[0]
        return est._train_gram(bags)
    grams = []
    scores = np.zeros((len(settings) * len(Cs), len(splits)))
    for gi, setting in enumerate(settings):
        for name, value in setting.items():
            setattr(est, name, value)
        K, aux = est._train_gram(bags)
        grams.append((K, aux))
        for k, (tr, te) in enumerate(splits):
            Ktr, Kte = K[np.ix_(tr, tr)], K[np.ix_(te, tr)]
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
    return grams[g]


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
      what ``_cross_gram`` needs of them.
    """

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

    def _decision_function(self, bags: Bags) -> np.ndarray:
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
        tol = float(getattr(self, "tol", 1e-3))
        eps = float(self.epsilon)
        mean, std = _target_location_scale(y)
        ys = (y - mean) / std

        def fold_score(Ktr, Kte, tr, te, C):
            sup, dual, b = _svr_fit(Ktr, ys[tr], C, eps, tol)
            return -np.mean((Kte[:, sup] @ dual + b - ys[te]) ** 2) * std ** 2

        K, aux = _select_kernel_and_C(
            self, bags, lambda: inner_regression_splits(bags, y, self.random_state),
            fold_score)
        sup, dual, b = _svr_fit(K, ys, self.C_, eps, tol)
        _keep_support(self, bags, sup, np.asarray(dual) * std, mean + std * b, aux)

    def _predict(self, bags: Bags) -> np.ndarray:
        return self._kernel_expansion(bags)
