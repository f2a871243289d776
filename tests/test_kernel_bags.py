"""KernelBags: scikit-learn's CV tools split precomputed instance kernels correctly."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score

from skmil.bags import Bags, KernelBags, check_bags
from skmil.datasets import make_mil_classification
from skmil.svm import SIL


@pytest.fixture(scope="module")
def problem():
    bags, y, _ = make_mil_classification(n_bags=24, n_features=3, bag_size=4, random_state=3)
    B = check_bags(bags)
    # the linear instance kernel: SIL on it is SIL(kernel="linear") on the bags
    return bags, y, KernelBags(B.instances @ B.instances.T, B.offsets)


def test_kernel_bags_indexing(problem):
    bags, _, K = problem
    assert K.shape == (len(bags), len(bags)) and len(K) == len(bags)
    rows, cols = np.array([3, 0, 7]), np.array([1, 3, 0, 7])
    train = K[np.ix_(rows, rows)]
    assert isinstance(train, KernelBags) and train.shape == (3, 3)
    assert train == K.take_pairwise(rows, rows)
    test = K[np.ix_(rows, cols)]
    assert type(test) is Bags and test == K.take_pairwise(rows, cols)
    # column j of a row is the kernel value with instance j of the cols bags
    X = np.vstack(bags)
    np.testing.assert_allclose(test.instances, np.vstack([bags[i] for i in rows])
                               @ np.vstack([bags[i] for i in cols]).T)
    np.testing.assert_allclose(K.instances, X @ X.T)
    # ints, slices and arrays index bags as for Bags
    np.testing.assert_array_equal(K[2], K.instances[K.offsets[2]:K.offsets[3]])
    assert K[1:3] == Bags.take(K, [1, 2])
    with pytest.raises(ValueError, match="square"):
        KernelBags(np.ones((3, 4)), np.array([0, 3]))
    with pytest.raises(ValueError, match="offsets"):
        KernelBags(np.ones((3, 3)), np.array([0, 2]))


def _manual_scores(est, K, y, cv):
    scores = []
    for tr, te in cv.split(np.zeros(len(y)), y):
        fitted = est.fit(K.take_pairwise(tr, tr), y[tr])
        scores.append(np.mean(fitted.predict(K.take_pairwise(te, tr)) == y[te]))
    return np.array(scores)


def test_cross_val_score_splits_the_kernel(problem):
    bags, y, K = problem
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    est = SIL(kernel="precomputed", C=1.0, threshold=0.0)
    assert est.__sklearn_tags__().input_tags.pairwise
    got = cross_val_score(est, K, y, cv=cv)
    np.testing.assert_allclose(got, _manual_scores(est, K, y, cv))
    # the same model as the linear kernel on the bags themselves
    ref = cross_val_score(SIL(kernel="linear", C=1.0, threshold=0.0, solver="libsvm"), bags,
                          y, cv=cv)
    np.testing.assert_allclose(got, ref)


def test_grid_search_splits_the_kernel(problem):
    bags, y, K = problem
    cv = StratifiedKFold(3, shuffle=True, random_state=1)
    grid = {"C": [0.01, 1.0, 100.0]}
    search = GridSearchCV(SIL(kernel="precomputed", threshold=0.0), grid, cv=cv).fit(K, y)
    for i, C in enumerate(grid["C"]):
        manual = _manual_scores(SIL(kernel="precomputed", C=C, threshold=0.0), K, y, cv)
        assert search.cv_results_["mean_test_score"][i] == pytest.approx(manual.mean())
    # the refit model predicts test bags of kernel rows against the training instances
    # (libsvm solves the linear and the precomputed problem to its tolerance, 1e-3)
    lin = GridSearchCV(SIL(kernel="linear", threshold=0.0, solver="libsvm"), grid,
                       cv=cv).fit(bags, y)
    assert search.best_params_ == lin.best_params_
    np.testing.assert_allclose(search.decision_function(K.take_pairwise(np.arange(5),
                                                                        np.arange(len(y)))),
                               lin.decision_function(bags[:5]), rtol=0, atol=2e-3)
