"""Set kernel (MI-Kernel) against an obviously-correct double loop."""

from __future__ import annotations

import numpy as np
import pytest

from skmil.datasets import make_mil_classification
from skmil.svm import MIKernelSVM, set_kernel


def _k(x, z, kernel, gamma, degree, coef0):
    if kernel == "rbf":
        return np.exp(-gamma * np.sum((x - z) ** 2))
    if kernel == "linear":
        return float(x @ z)
    return (gamma * float(x @ z) + coef0) ** degree


def _reference(A, B, kernel, gamma, degree, coef0, p, normalization):
    def raw(a, b):
        return sum(_k(x, z, kernel, gamma, degree, coef0) ** p for x in a for z in b)

    K = np.zeros((len(A), len(B)))
    for i, a in enumerate(A):
        for j, b in enumerate(B):
            K[i, j] = raw(a, b)
            if normalization == "averaging":
                K[i, j] /= len(a) * len(b)
            elif normalization == "featurespace":
                K[i, j] /= np.sqrt(raw(a, a) * raw(b, b))
    return K


def _bags(rng, n, d=4):
    return [rng.normal(size=(int(rng.integers(1, 7)), d)) for _ in range(n)]


@pytest.mark.parametrize("normalization", ["none", "averaging", "featurespace"])
@pytest.mark.parametrize(
    "kernel, p", [("rbf", 1.0), ("rbf", 2.5), ("linear", 1.0), ("poly", 1.0), ("poly", 2.0)]
)
def test_set_kernel_matches_double_loop(kernel, p, normalization):
    rng = np.random.default_rng(0)
    A, B = _bags(rng, 9), _bags(rng, 5)
    kw = dict(kernel=kernel, gamma=0.3, degree=2, coef0=1.0, p=p, normalization=normalization)
    # a tiny block_size forces many row blocks (block boundaries are the tricky part)
    K = set_kernel(A, **kw, block_size=7)
    np.testing.assert_allclose(K, _reference(A, A, kernel, 0.3, 2, 1.0, p, normalization),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(K, K.T)
    Kab = set_kernel(B, A, **kw, block_size=5)
    np.testing.assert_allclose(Kab, _reference(B, A, kernel, 0.3, 2, 1.0, p, normalization),
                               rtol=1e-10, atol=1e-10)
    # block size must not change the result
    np.testing.assert_allclose(set_kernel(B, A, **kw, block_size=10_000), Kab, rtol=1e-12)


def test_set_kernel_gamma_scale_and_errors():
    rng = np.random.default_rng(1)
    A = _bags(rng, 4)
    X = np.vstack(A)
    g = 1.0 / (X.shape[1] * X.var())
    np.testing.assert_allclose(set_kernel(A), set_kernel(A, gamma=g))
    with pytest.raises(ValueError, match="normalization"):
        set_kernel(A, normalization="cosine")
    with pytest.raises(ValueError, match="kernel"):
        set_kernel(A, kernel="sigmoid")
    with pytest.raises(ValueError, match="features"):
        set_kernel(A, [np.ones((2, 5))])


def test_mikernel_decision_equals_kernel_expansion():
    bags, y, _ = make_mil_classification(n_bags=30, n_features=4, random_state=0)
    clf = MIKernelSVM(gamma=0.2, C=10.0).fit(bags, y)
    # decision = K(test, train) @ (y * alpha) + b over all training bags, via the public Gram
    K = set_kernel(bags[:7], bags, gamma=0.2)
    full = np.zeros(len(bags))
    full[clf.support_] = clf.dual_coef_
    np.testing.assert_allclose(clf.decision_function(bags[:7]), K @ full + clf.intercept_,
                               rtol=1e-9, atol=1e-9)
    # instance scores are the scores of singleton bags
    inst = clf.decision_function_instances(bags[:2])
    single = [row[None, :] for b in bags[:2] for row in b]
    np.testing.assert_allclose(np.concatenate(inst), clf.decision_function(single))


def test_mikernel_learns_separable_problem():
    bags, y, _ = make_mil_classification(n_bags=80, n_features=5, class_sep=6.0,
                                         random_state=1)
    clf = MIKernelSVM(C=10.0).fit(bags[:60], y[:60])
    assert (clf.predict(bags[60:]) == y[60:]).mean() >= 0.9


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("symmetric", [True, False])
def test_row_and_column_tiling_is_exact(symmetric, weighted):
    # the one block loop behind MI-Kernel's set kernel and mi-Graph's weighted one
    from skmil._kernels.bagpairs import blocked_set_kernel
    from skmil.bags import check_bags

    rng = np.random.default_rng(5)
    A = check_bags(_bags(rng, 13))
    B = A if symmetric else check_bags(_bags(rng, 8))
    wa = rng.uniform(0.1, 2.0, A.n_instances) if weighted else np.ones(A.n_instances)
    wb = wa if symmetric else (rng.uniform(0.1, 2.0, B.n_instances) if weighted
                               else np.ones(B.n_instances))
    ref = np.array([[sum(u * v * np.exp(-0.2 * np.sum((x - z) ** 2))
                         for x, u in zip(a, ua) for z, v in zip(b, ub))
                     for b, ub in zip(B, B.split(wb))] for a, ua in zip(A, A.split(wa))])
    kw = dict(gamma=0.2, weights=wa if weighted else None,
              weights_y=None if symmetric or not weighted else wb)
    Y, off_y = (None, None) if symmetric else (B.instances, B.offsets)
    for bs, cs in [(3, 4), (6, 1), (10_000, 5), (512, 2048)]:
        K = blocked_set_kernel(A.instances, A.offsets, Y, off_y, **kw, block_size=bs,
                               col_size=cs)
        np.testing.assert_allclose(K, ref, rtol=1e-10, atol=1e-12)
    if weighted:
        # the weights ride in the GEMM as logarithms, which only the RBF kernel undoes
        with pytest.raises(ValueError, match="weights need kernel='rbf'"):
            blocked_set_kernel(A.instances, A.offsets, kernel="linear", weights=wa)


def test_mikernel_c_auto_picks_from_the_grid_by_inner_cv():
    from skmil._precomputed import C_GRID, inner_cv_scores

    bags, y, _ = make_mil_classification(n_bags=40, n_features=4, random_state=1)
    auto = MIKernelSVM().fit(bags, y)
    assert auto.C_ in C_GRID
    # the choice is the grid value with the best inner-CV score (ties: smaller C)
    gram = set_kernel(bags, gamma=auto.gamma_, normalization="featurespace")
    scores = inner_cv_scores([gram], np.where(y == 1, 1, -1), None)[0]
    assert auto.C_ == C_GRID[int(np.argmax(scores))]
    fixed = MIKernelSVM(C=auto.C_).fit(bags, y)
    np.testing.assert_allclose(fixed.decision_function(bags), auto.decision_function(bags))
    with pytest.raises(ValueError, match="'auto' or a positive"):
        MIKernelSVM(C="best").fit(bags, y)


@pytest.mark.parametrize("labels", [(0, 1), (-1, 1)])
def test_inner_cv_scores_equal_those_of_svc(labels):
    # the direct libsvm call must score exactly like SVC(kernel="precomputed") would
    from sklearn.model_selection import StratifiedKFold
    from sklearn.svm import SVC

    from skmil._precomputed import C_GRID, inner_cv_scores

    rng = np.random.RandomState(0)
    for trial in range(6):
        n = 30 + 15 * trial
        X = rng.randn(n, 5)
        y = np.where(X[:, 0] + rng.randn(n) > 0.3, labels[1], labels[0])
        K = np.exp(-0.2 * ((X[:, None] - X[None]) ** 2).sum(-1))
        Ks = [K, 0.5 * K + 0.5 * np.eye(n)]
        for cw in (None, "balanced", {labels[0]: 1.0, labels[1]: 3.0}):
            ref = np.zeros((2, len(C_GRID)))
            cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
            for tr, te in cv.split(np.zeros(n), y):
                for g, G in enumerate(Ks):
                    for k, C in enumerate(C_GRID):
                        svc = SVC(kernel="precomputed", C=C, class_weight=cw)
                        svc.fit(G[np.ix_(tr, tr)], y[tr])
                        ref[g, k] += np.mean(svc.predict(G[np.ix_(te, tr)]) == y[te])
            np.testing.assert_allclose(inner_cv_scores(Ks, y, cw), ref)


def test_mikernel_gamma_cv_picks_gamma_and_C_jointly():
    from skmil._precomputed import C_GRID, inner_cv_scores
    from skmil.svm.nsk import GAMMA_CV_GRID

    bags, y, _ = make_mil_classification(n_bags=40, n_features=4, random_state=1)
    clf = MIKernelSVM(gamma="cv").fit(bags, y)
    assert clf.cv_scores_.shape == (len(GAMMA_CV_GRID), len(C_GRID))
    base = MIKernelSVM(C=1.0, gamma="scale").fit(bags, y).gamma_
    grams = [set_kernel(bags, gamma=base * f, normalization="featurespace")
             for f in GAMMA_CV_GRID]
    scores = inner_cv_scores(grams, np.where(y == 1, 1, -1), None, C_GRID)
    g, c = np.unravel_index(int(np.argmax(scores)), scores.shape)
    assert np.isclose(clf.gamma_, base * GAMMA_CV_GRID[g]) and clf.C_ == C_GRID[c]
    fixed = MIKernelSVM(gamma=clf.gamma_, C=clf.C_).fit(bags, y)
    np.testing.assert_allclose(fixed.decision_function(bags), clf.decision_function(bags))
    # the linear kernel has no gamma: "cv" selects C only
    lin = MIKernelSVM(kernel="linear").fit(bags, y)
    assert lin.cv_scores_ is None and lin.C_ in C_GRID


@pytest.mark.parametrize("class_weight", [None, "balanced", {0: 3.0, 1: 1.0}])
def test_mikernel_is_the_svc_on_the_set_kernel(class_weight):
    # the bag SVM goes to libsvm's binding directly; it must be SVC's model exactly
    from sklearn.svm import SVC

    bags, y, _ = make_mil_classification(n_bags=40, n_features=4, random_state=2)
    clf = MIKernelSVM(gamma=0.2, C=3.0, class_weight=class_weight).fit(bags, y)
    K = set_kernel(bags, bags, gamma=0.2)
    svc = SVC(kernel="precomputed", C=3.0, class_weight=class_weight).fit(K, y)
    np.testing.assert_array_equal(clf.support_, svc.support_)
    np.testing.assert_allclose(clf.dual_coef_, svc.dual_coef_[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(clf.decision_function(bags[:9]),
                               svc.decision_function(set_kernel(bags[:9], bags, gamma=0.2)),
                               rtol=1e-9, atol=1e-9)
