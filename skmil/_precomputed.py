"""Model selection for SVMs on precomputed bag Gram matrices (private).

Bag kernels (MI-Kernel, mi-Graph, EMD) do not depend on the SVM's ``C``, and the Gram
matrix of a subset of bags is a sub-matrix of the full one, so an inner cross-validation
over ``C`` costs only SVC fits on slices: the principled way to set ``C`` without looking
at test bags, as the original papers did with their own inner CV.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold

__all__ = ["C_GRID", "inner_cv_scores", "select_C", "select_kernel_and_C"]

#: Candidate values of ``C="auto"``.
C_GRID = (0.1, 1.0, 10.0, 100.0, 1000.0)


def inner_cv_scores(Ks, y, class_weight: Any, grid=C_GRID) -> np.ndarray | None:
    """Inner stratified 5-fold CV accuracy of each (kernel, C) pair, summed over folds.

    Returns an array ``(len(Ks), len(grid))``, or None when a class has fewer than two
    bags (no stratified split exists). Each fit is the libsvm solve that
    ``SVC(kernel="precomputed", C=C, class_weight=class_weight)`` runs, called directly
    (on 60-200 bags ``SVC``'s input checks cost several times the solve, and a default
    ``C="auto"`` makes 25 of them), and the held-out bags are classified by libsvm's
    rule: positive where the decision value is >= 0.
    """
    # not at import: skmil.svm imports this module
    from .svm._common import libsvm_binary_fit, signed_class_weight

    classes, counts = np.unique(y, return_counts=True)
    n_splits = int(min(5, counts.min()))
    if counts.size < 2 or n_splits < 2:
        return None
    y_pm = np.where(np.asarray(y) == classes[1], 1, -1)
    cw = signed_class_weight(class_weight, classes)
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=0)
    scores = np.zeros((len(Ks), len(grid)))
    for tr, te in cv.split(np.zeros(len(y)), y):
        for g, K in enumerate(Ks):
            Ktr, Kte = K[np.ix_(tr, tr)], K[np.ix_(te, tr)]
            for k, C in enumerate(grid):
                sup, dual, b = libsvm_binary_fit(Ktr, y_pm[tr], kernel="precomputed", C=C,
                                                 class_weight=cw)
                pred = np.where(Kte[:, sup] @ dual + b >= 0, 1, -1)
                scores[g, k] += np.mean(pred == y_pm[te])
    return scores


def select_kernel_and_C(Ks, y, class_weight: Any, C: Any, default_kernel: int):
    """Joint inner-CV choice of one Gram matrix of ``Ks`` and of ``C``.

    ``C="auto"`` searches :data:`C_GRID`, a number is kept. Returns ``(k, C, scores)``:
    the index into ``Ks``, the chosen ``C`` and the summed inner accuracies
    ``(len(Ks), n_C)``. Ties go to the earliest kernel, then the smallest ``C``; with
    fewer than two bags in a class, ``(default_kernel, 10 or the given C, None)``.
    """
    grid = C_GRID if isinstance(C, str) else (float(C),)
    scores = inner_cv_scores(Ks, y, class_weight, grid)
    if scores is None:
        return default_kernel, float(10.0 if 10.0 in grid else grid[0]), None
    k, c = np.unravel_index(int(np.argmax(scores)), scores.shape)
    return int(k), float(grid[c]), scores


def select_C(K: np.ndarray, y: np.ndarray, class_weight: Any, grid=C_GRID) -> float:
    """``C`` by inner 5-fold stratified CV on a precomputed training Gram matrix.

    Ties go to the smaller ``C``; with fewer than two bags in a class, 10 is returned.
    """
    scores = inner_cv_scores([K], y, class_weight, grid)
    if scores is None:
        return 10.0
    return float(grid[int(np.argmax(scores[0]))])
