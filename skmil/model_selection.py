"""Repeated cross-validation of MIL estimators over bags, the way the literature reports it.

:func:`evaluate` runs repeated stratified k-fold CV over *bags*, with instance
standardisation fitted inside each training fold, in parallel over folds (joblib), and
returns per-fold accuracy, ROC AUC and timings. The CLI (``skmil evaluate``) and the
benchmark harness are built on it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline

from ._inner_cv import fold_bags, pairwise_bags
from .bags import Bags, check_bag_labels, check_bags
from .base import BaseMILClassifier
from .preprocessing import InstanceTransformer

__all__ = ["FoldResult", "EvaluationResult", "evaluate", "repeated_folds", "with_standardization"]


@dataclass(frozen=True)
class FoldResult:
    """Scores and timings of one train/test split.

    Parameters
    ----------
    repeat : int
        The repetition of the cross-validation, from 0.
    fold : int
        The fold within the repetition, from 0.
    seed : int
        The seed that shuffled this repetition's folds.
    accuracy : float
        Bag accuracy on the test bags.
    auc : float
        Bag ROC AUC on the test bags (NaN when it is undefined).
    fit_time : float
        Seconds to fit on the training bags.
    predict_time : float
        Seconds to score the test bags.
    n_train : int
        Number of training bags.
    n_test : int
        Number of test bags.
    """

    repeat: int
    fold: int
    seed: int
    accuracy: float
    auc: float
    fit_time: float
    predict_time: float
    n_train: int
    n_test: int


@dataclass
class EvaluationResult:
    """All folds of a repeated cross-validation, with summaries.

    ``accuracy_mean`` / ``auc_mean`` average over every fold; ``accuracy_std`` is the
    standard deviation of the per-repetition accuracies (each repetition pooling its
    k folds), which is what MIL papers report as "±".

    Parameters
    ----------
    folds : list of FoldResult, default=[]
        One result per train/test split.
    """

    folds: list[FoldResult] = field(default_factory=list)

    def _per_repeat(self, name: str) -> np.ndarray:
        reps = sorted({f.repeat for f in self.folds})
        out = []
        for r in reps:
            fs = [f for f in self.folds if f.repeat == r]
            w = np.array([f.n_test for f in fs], dtype=float)
            out.append(np.average([getattr(f, name) for f in fs], weights=w))
        return np.asarray(out)

    @property
    def accuracy_mean(self) -> float:
        """Mean bag accuracy of the repetitions (each weighting its folds by test size)."""
        return float(np.mean(self._per_repeat("accuracy")))

    @property
    def accuracy_std(self) -> float:
        """Standard deviation of the repetitions' accuracies."""
        return float(np.std(self._per_repeat("accuracy")))

    @property
    def auc_mean(self) -> float:
        """Mean bag ROC AUC over every fold, ignoring folds where it is undefined."""
        return float(np.nanmean([f.auc for f in self.folds]))

    @property
    def auc_std(self) -> float:
        """Standard deviation of the repetitions' AUCs, ignoring undefined ones."""
        return float(np.nanstd(self._per_repeat("auc")))

    @property
    def fit_time_mean(self) -> float:
        """Mean fit time per fold, in seconds."""
        return float(np.mean([f.fit_time for f in self.folds]))

    def summary(self) -> str:
        """One line: accuracy and AUC mean ± std, mean fit time.

        Returns
        -------
        str
            The summary line, ending with the number of folds.
        """
        return (
            f"accuracy {self.accuracy_mean:.3f} ± {self.accuracy_std:.3f}  "
            f"AUC {self.auc_mean:.3f} ± {self.auc_std:.3f}  "
            f"fit {self.fit_time_mean:.3g} s/fold  ({len(self.folds)} folds)"
        )


def with_standardization(estimator: Any) -> Any:
    """``make_pipeline(InstanceTransformer(estimator=StandardScaler()), estimator)``.

    Standardisation statistics come from the training instances of each fold only.

    Parameters
    ----------
    estimator : MIL estimator
        The estimator to run on the standardised instances.

    Returns
    -------
    sklearn.pipeline.Pipeline
        The instance standardisation followed by ``estimator``.
    """
    return make_pipeline(InstanceTransformer(), estimator)


def repeated_folds(
    y: np.ndarray, n_splits: int = 10, n_repeats: int = 5, random_state: int = 0
) -> list[tuple[int, int, int, np.ndarray, np.ndarray]]:
    """``(repeat, fold, seed, train_idx, test_idx)`` for repeated stratified k-fold over bags.

    Repetition ``r`` shuffles with seed ``random_state + r`` so any single repetition can
    be reproduced on its own.

    Parameters
    ----------
    y : ndarray of shape (n_bags,)
        Bag labels; every fold keeps their proportions.
    n_splits : int, default=10
        Number of folds per repetition.
    n_repeats : int, default=5
        Number of repetitions.
    random_state : int, default=0
        Seed of the first repetition.

    Returns
    -------
    list of tuple
        ``n_splits * n_repeats`` tuples ``(repeat, fold, seed, train_idx, test_idx)``,
        the indices being bag positions.
    """
    out = []
    for r in range(n_repeats):
        seed = int(random_state) + r
        cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        for k, (tr, te) in enumerate(cv.split(np.zeros(len(y)), y)):
            out.append((r, k, seed, tr, te))
    return out


def _scores(est: Any, bags: Bags) -> np.ndarray:
    if hasattr(est, "decision_function"):
        return np.asarray(est.decision_function(bags), dtype=float)
    return np.asarray(est.predict_proba(bags)[:, 1], dtype=float)


def _final_estimator(est: Any) -> Any:
    """The model that makes the predictions of ``est`` (through pipelines and searches)."""
    while True:
        if hasattr(est, "best_estimator_"):
            est = est.best_estimator_
        elif hasattr(est, "steps"):
            est = est.steps[-1][1]
        else:
            return est


def predict_from_scores(est: Any, bags: Bags, scores: np.ndarray) -> np.ndarray:
    """``est.predict(bags)``, without a second pass when ``scores`` already decide it.

    A skmil classifier predicts ``classes_[1]`` exactly where its decision value is
    above 0 (the estimator contract), so the labels follow from the decision values
    that were computed anyway; for EMD-SVM or MI-Kernel that halves the test-time
    kernel work. Any other model is asked for its ``predict``.
    """
    final = _final_estimator(est)
    if (
        isinstance(final, BaseMILClassifier)
        and type(final).predict is BaseMILClassifier.predict
        and hasattr(est, "decision_function")
    ):
        return final.classes_[(np.asarray(scores) > 0).astype(np.intp)]
    return est.predict(bags)


def run_fold(
    estimator: Any,
    bags: Bags,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    repeat: int = 0,
    fold: int = 0,
    seed: int = 0,
    return_estimator: bool = False,
):
    """Fit a clone on the training bags and score it on the test bags.

    Returns the :class:`FoldResult`, and the fitted clone too when ``return_estimator``.
    """
    est = clone(estimator)
    tr, te = fold_bags(bags, train, test, pairwise_bags(_final_estimator(est)))
    t0 = time.perf_counter()
    est.fit(tr, y[train])
    t1 = time.perf_counter()
    scores = _scores(est, te)
    pred = predict_from_scores(est, te, scores)
    t2 = time.perf_counter()
    y_te = y[test]
    classes = getattr(est, "classes_", np.unique(y))
    try:
        auc = float(roc_auc_score(y_te == classes[-1], scores))
    except ValueError:  # one class in the test fold
        auc = float("nan")
    result = FoldResult(
        repeat=repeat,
        fold=fold,
        seed=seed,
        accuracy=float(accuracy_score(y_te, pred)),
        auc=auc,
        fit_time=t1 - t0,
        predict_time=t2 - t1,
        n_train=int(train.size),
        n_test=int(test.size),
    )
    return (result, est) if return_estimator else result


def evaluate(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    n_splits: int = 10,
    n_repeats: int = 5,
    random_state: int = 0,
    standardize: bool = True,
    n_jobs: int | None = None,
    progress: bool = False,
    description: str | None = None,
) -> EvaluationResult:
    """Repeated stratified k-fold cross-validation of a MIL classifier over bags.

    Parameters
    ----------
    estimator : MIL classifier
        Cloned for every fold.
    X : sequence of 2-D arrays or Bags
        The bags.
    y : array-like of shape (n_bags,)
        Bag labels.
    n_splits : int, default=10
        Number of folds per repetition.
    n_repeats : int, default=5
        Repetition ``r`` shuffles with seed ``random_state + r``.
    random_state : int, default=0
        Seed of the first repetition's shuffle.
    standardize : bool, default=True
        Wrap the estimator in ``InstanceTransformer(estimator=StandardScaler())`` so features are
        standardised with training-fold statistics only. Must be False for an
        estimator with ``kernel="precomputed"``, whose bags hold instance-kernel rows
        over all bags of ``X``; each fold then takes the rows of its bags and the
        columns of its training instances (:meth:`~skmil.bags.Bags.take_pairwise`).
    n_jobs : int, optional
        Folds run in parallel with joblib (processes; the flat bag arrays are
        memory-mapped to workers, not re-pickled per fold).
    progress : bool, default=False
        Show a progress bar over folds (tqdm).
    description : str, optional
        Progress bar label.

    Returns
    -------
    EvaluationResult
        The scores and timings of every fold, with their summaries.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.model_selection import evaluate
    >>> from skmil.svm import SIL
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> res = evaluate(SIL(), bags, y, n_splits=4, n_repeats=1)
    >>> len(res.folds), 0.0 <= res.accuracy_mean <= 1.0
    (4, True)
    """
    from tqdm.auto import tqdm

    bags = check_bags(X)
    y_arr = check_bag_labels(y, bags.n_bags)
    if standardize and pairwise_bags(_final_estimator(estimator)):
        raise ValueError(
            "The estimator takes bags of precomputed instance-kernel rows, which must not "
            "be standardised: pass standardize=False."
        )
    est = with_standardization(estimator) if standardize else estimator
    splits = repeated_folds(y_arr, n_splits, n_repeats, random_state)
    tasks = (
        delayed(run_fold)(est, bags, y_arr, tr, te, r, k, s) for (r, k, s, tr, te) in splits
    )
    parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    result = EvaluationResult()
    bar = tqdm(total=len(splits), desc=description, disable=not progress, unit="fold")
    with bar:
        for fold_result in parallel(tasks):
            result.folds.append(fold_result)
            bar.update(1)
    result.folds.sort(key=lambda f: (f.repeat, f.fold))
    return result
