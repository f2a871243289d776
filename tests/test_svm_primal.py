"""The squared-hinge primal solver and the linear SVM family that runs on it."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.svm import LinearSVC

from skmil.datasets import make_mil_classification
from skmil.svm import MISVM, SIL, InstanceMISVM
from skmil.svm._primal import SquaredHingeSVM


def _reference(X, y, c, C):
    """The same objective minimised by L-BFGS from zero, to machine precision."""
    d = X.shape[1]

    def f(v):
        w, b = v[:d], v[d]
        m = np.maximum(0.0, 1.0 - y * (X @ w + b))
        r = c * m * y
        return (0.5 * w @ w + C * (c * m * m).sum(),
                np.r_[w - 2 * C * X.T @ r, -2 * C * r.sum()])

    res = minimize(f, np.zeros(d + 1), jac=True, method="L-BFGS-B",
                   options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 20000})
    return res.x[:d], res.x[d], res.fun


def _problem(seed, n=300, d=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.where(X[:, 0] + 0.5 * rng.normal(size=n) > 0.3, 1.0, -1.0)
    c = rng.uniform(0.2, 2.0, size=n)
    c[:20] = 0.0  # rows outside the training set
    return X, y, c


@pytest.mark.parametrize("C", [0.01, 1.0, 100.0])
def test_solver_reaches_the_minimum(C):
    X, y, c = _problem(0)
    E = np.random.default_rng(1).normal(size=(7, X.shape[1]))
    svm = SquaredHingeSVM(X, C, extra=E, tol=1e-10).fit(np.r_[y, np.ones(7)],
                                                         np.r_[c, np.ones(7)])
    w, b, fun = _reference(np.vstack([X, E]), np.r_[y, np.ones(7)], np.r_[c, np.ones(7)], C)
    np.testing.assert_allclose(svm.coef_, w, atol=1e-6)
    assert svm.intercept_ == pytest.approx(b, abs=1e-6)
    assert svm.objective_ == pytest.approx(fun, rel=1e-9)
    # every row is scored, the ones outside the training set (c = 0) and the extra ones
    np.testing.assert_allclose(svm.scores_, np.vstack([X, E]) @ svm.coef_ + svm.intercept_,
                               atol=1e-10)


def test_warm_start_after_label_changes_equals_a_cold_fit():
    X, y, c = _problem(2)
    svm = SquaredHingeSVM(X, 1.0, tol=1e-10).fit(y, c)
    y2 = y.copy()
    y2[:60] *= -1  # the incremental Hessian update: a fifth of the rows change
    c2 = c.copy()
    c2[100:110] = 0.0
    svm.fit(y2, c2)
    cold = SquaredHingeSVM(X, 1.0, tol=1e-10).fit(y2, c2)
    np.testing.assert_allclose(svm.coef_, cold.coef_, atol=1e-9)
    assert svm.intercept_ == pytest.approx(cold.intercept_, abs=1e-9)
    # and the Hessian it carried is the one of the new active rows
    np.testing.assert_allclose(svm._G, cold._G, atol=1e-9)


def test_solver_matches_liblinear_with_an_almost_free_intercept():
    X, y, _ = _problem(3)
    ref = LinearSVC(loss="squared_hinge", dual=False, C=0.5, tol=1e-10,
                    intercept_scaling=1e4).fit(X, y)
    svm = SquaredHingeSVM(X, 0.5, tol=1e-10).fit(y, np.ones(X.shape[0]))
    np.testing.assert_allclose(svm.coef_, ref.coef_[0], atol=1e-4)
    assert svm.intercept_ == pytest.approx(ref.intercept_[0], abs=1e-4)


def test_release_data_keeps_the_model_only():
    X, y, c = _problem(4)
    svm = SquaredHingeSVM(X, 1.0).fit(y, c)
    f = svm.decision_function(X)
    svm.release_data()
    assert svm.X is None and svm.scores_ is None
    np.testing.assert_array_equal(svm.decision_function(X), f)


@pytest.fixture(scope="module")
def bags_y():
    bags, y, _ = make_mil_classification(n_bags=60, n_features=6, random_state=0)
    return bags, y


def test_auto_solver_of_the_linear_kernel_is_the_primal(bags_y):
    bags, y = bags_y
    for est in (SIL(kernel="linear", threshold=0.0), InstanceMISVM(kernel="linear", C=1.0),
                MISVM(kernel="linear", C=1.0)):
        auto = est.fit(bags, y).decision_function(bags)
        primal = type(est)(**{**est.get_params(), "solver": "primal"}).fit(bags, y)
        np.testing.assert_array_equal(primal.decision_function(bags), auto)
    assert isinstance(SIL(kernel="linear").fit(bags, y).estimator_, SquaredHingeSVM)
    assert MISVM(kernel="linear", negative_slack="bag", C=1.0).fit(bags, y)._solver == "libsvm"
    assert InstanceMISVM(kernel="rbf", C=1.0).fit(bags, y)._solver == "libsvm"


def test_sil_primal_is_one_squared_hinge_svm_on_inherited_labels(bags_y):
    bags, y = bags_y
    clf = SIL(kernel="linear", C=0.3, class_weight=None, threshold=0.0).fit(bags, y)
    X = np.vstack(bags)
    yi = np.repeat(np.where(y == 1, 1.0, -1.0), [len(b) for b in bags])
    w, b, _ = _reference(X, yi, np.ones(X.shape[0]), 0.3)
    got = np.concatenate(clf.decision_function_instances(bags))
    np.testing.assert_allclose(got, X @ w + b, atol=1e-4)


def test_misvm_primal_follows_the_alternation_by_hand(bags_y):
    bags, y = bags_y
    C = 1.0
    clf = InstanceMISVM(kernel="linear", C=C, class_weight=None, threshold=0.0, tol=1e-10,
                        max_iter=50).fit(bags, y)
    # mi-SVM's heuristic with the reference solver: impute, refit, until labels repeat
    X = np.vstack(bags)
    off = np.concatenate([[0], np.cumsum([len(b) for b in bags])])
    in_pos = np.repeat(y == 1, np.diff(off))
    lab = np.where(in_pos, 1.0, -1.0)
    seen = []
    while True:
        w, b, _ = _reference(X, lab, np.ones(X.shape[0]), C)
        f = X @ w + b
        new = np.where(in_pos, np.where(f >= 0, 1.0, -1.0), -1.0)
        for i in np.flatnonzero(y == 1):
            s = slice(off[i], off[i + 1])
            if new[s].max() < 0:
                new[off[i] + np.argmax(f[s])] = 1.0
        if np.array_equal(new, lab) or any(np.array_equal(new, p) for p in seen):
            break
        seen.append(lab)
        lab = new
    np.testing.assert_array_equal(clf.instance_labels_, lab.astype(int))
    np.testing.assert_allclose(clf.model_.coef, w, atol=1e-5)


def test_misvm_primal_first_svm_is_on_negatives_and_bag_means(bags_y):
    bags, y = bags_y
    clf = MISVM(kernel="linear", C=2.0, max_iter=1, tol=1e-10)
    with pytest.warns(Warning, match="max_iter"):
        clf.fit(bags, y)
    neg = np.vstack([b for b, t in zip(bags, y) if t == 0])
    means = np.array([b.mean(axis=0) for b, t in zip(bags, y) if t == 1])
    X = np.vstack([neg, means])
    yy = np.r_[-np.ones(len(neg)), np.ones(len(means))]
    w, b, _ = _reference(X, yy, np.ones(len(yy)), 2.0)
    np.testing.assert_allclose(clf.model_.coef, w, atol=1e-5)
    assert clf.intercept_ == pytest.approx(b, abs=1e-5)


def test_restarts_rank_runs_by_the_squared_hinge_objective(bags_y):
    bags, y = bags_y
    clf = InstanceMISVM(kernel="linear", C=1.0, n_init=3, random_state=0, tol=1e-10,
                        class_weight=None).fit(bags, y)
    X = np.vstack(bags)
    lab = clf.instance_labels_.astype(float)
    w, b = clf.model_.coef, clf.intercept_
    m = np.maximum(0.0, 1.0 - lab * (X @ w + b))
    assert clf.objectives_.min() == pytest.approx(0.5 * w @ w + (m * m).sum(), rel=1e-8)
    assert clf.best_init_ == int(np.argmin(clf.objectives_))


@pytest.mark.parametrize("est", [SIL(kernel="rbf", solver="primal"),
                                 InstanceMISVM(kernel="rbf", solver="primal"),
                                 MISVM(kernel="linear", solver="primal",
                                       negative_slack="bag")])
def test_primal_refuses_what_it_cannot_solve(est, bags_y):
    with pytest.raises(ValueError, match="solver"):
        est.fit(*bags_y)


def _reference_margins(X, y, c, rho, C):
    """``min 1/2 ||w||^2 + C sum c_i max(0, rho_i - y_i f(x_i))^2`` by L-BFGS."""
    d = X.shape[1]

    def f(v):
        w, b = v[:d], v[d]
        m = np.maximum(0.0, rho - y * (X @ w + b))
        r = c * m * y
        return (0.5 * w @ w + C * (c * m * m).sum(),
                np.r_[w - 2 * C * X.T @ r, -2 * C * r.sum()])

    res = minimize(f, np.zeros(d + 1), jac=True, method="L-BFGS-B",
                   options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 20000})
    return res.x[:d], res.x[d]


def _smil_rows(bags, y):
    neg = np.vstack([b for b, t in zip(bags, y) if t == 0])
    pos = [b for b, t in zip(bags, y) if t == 1]
    X = np.vstack([neg, [b.mean(axis=0) for b in pos]])
    yy = np.r_[-np.ones(len(neg)), np.ones(len(pos))]
    rho = np.r_[np.ones(len(neg)), [(2.0 - len(b)) / len(b) for b in pos]]
    n = len(yy)  # class_weight="balanced" over the examples
    c = np.r_[np.full(len(neg), n / (2 * len(neg))), np.full(len(pos), n / (2 * len(pos)))]
    return X, yy, rho, c


def test_smil_primal_solves_the_squared_slack_smil(bags_y):
    from skmil.svm import SparseMIL

    bags, y = bags_y
    clf = SparseMIL(kernel="linear", C=0.5, tol=1e-10, threshold=0.0).fit(bags, y)
    assert clf._solver == "primal"
    X, yy, rho, c = _smil_rows(bags, y)
    w, b = _reference_margins(X, yy, c, rho, 0.5)
    np.testing.assert_allclose(clf.model_.coef, w, atol=1e-5)
    assert clf.intercept_ == pytest.approx(b, abs=1e-5)
    # dual_coef_ (negatives, then positive bags, as given) expands to w
    np.testing.assert_allclose(clf.dual_coef_ @ X, clf.model_.coef, atol=1e-8)


def test_sbmil_primal_final_svm_is_the_squared_hinge_svm_on_its_labels(bags_y):
    from skmil.svm import SparseBalancedMIL

    bags, y = bags_y
    clf = SparseBalancedMIL(kernel="linear", eta=0.3, C=2.0, tol=1e-10,
                            threshold=0.0).fit(bags, y)
    X = np.vstack(bags)
    lab = clf.instance_labels_.astype(float)
    w, _, _ = _reference(X, lab, np.ones(X.shape[0]), 2.0)
    np.testing.assert_allclose(clf.model_.coef, w, atol=1e-5)
    np.testing.assert_allclose(clf.dual_coef_ @ X, clf.model_.coef, atol=1e-8)
    # step (1) is the primal sMIL
    Xs, yy, rho, c = _smil_rows(bags, y)
    ws, _ = _reference_margins(Xs, yy, c, rho, 2.0)
    np.testing.assert_allclose(clf.smil_model_.coef, ws, atol=1e-5)


def test_stmil_primal_ends_at_a_fixed_point_of_its_cccp(bags_y):
    from skmil.svm import SparseTransductiveMIL

    bags, y = bags_y
    clf = SparseTransductiveMIL(kernel="linear", C=1.0, tol=1e-10, threshold=0.0,
                                max_iter=50).fit(bags, y)
    # the final model solves sMIL plus the positive bags' instances labelled by its own
    # signs (the CCCP step whose signs no longer change)
    Xs, yy, rho, c = _smil_rows(bags, y)
    inst = np.vstack([b for b, t in zip(bags, y) if t == 1])
    w_pos = c[-1]
    signs = np.where(inst @ clf.model_.coef + clf.intercept_ >= 0, 1.0, -1.0)
    X = np.vstack([Xs, inst])
    w, b = _reference_margins(
        X, np.r_[yy, signs], np.r_[c, np.full(len(inst), w_pos * (y == 1).sum() / len(inst))],
        np.r_[rho, np.ones(len(inst))], 1.0)
    np.testing.assert_allclose(clf.model_.coef, w, atol=1e-5)
    assert clf.intercept_ == pytest.approx(b, abs=1e-5)
    np.testing.assert_allclose(clf.dual_coef_ @ X, clf.model_.coef, atol=1e-8)


def test_sparse_family_solver_choice(bags_y):
    from skmil.svm import SparseMIL

    bags, y = bags_y
    assert SparseMIL(kernel="rbf", threshold=0.0).fit(bags, y)._solver == "smo"
    with pytest.raises(ValueError, match="solver"):
        SparseMIL(kernel="rbf", solver="primal").fit(bags, y)
    # the primal path has no dense QP, so max_qp_size does not limit it
    SparseMIL(kernel="linear", max_qp_size=5, threshold=0.0).fit(bags, y)
    with pytest.raises(ValueError, match="max_qp_size"):
        SparseMIL(kernel="linear", solver="smo", max_qp_size=5).fit(bags, y)


def _rbf(A, B, gamma):
    d = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2 * A @ B.T
    return np.exp(-gamma * np.maximum(d, 0.0))


def test_nystroem_with_every_instance_as_landmark_is_the_exact_kernel_svm(bags_y):
    # with n_components >= N the Nystroem map reproduces the kernel on the training
    # instances and on new ones, so the linear SVM on the map is the kernel SVM: its
    # scores are the representer expansion sum_i y_i alpha_i k(x_i, x) + b
    bags, y = bags_y
    tr, te = bags[:40], bags[40:]
    gamma = 0.1
    clf = SIL(kernel="rbf", gamma=gamma, C=0.7, class_weight=None, threshold=0.0,
              kernel_approximation="nystroem", n_components=10_000).fit(tr, y[:40])
    X = np.vstack(tr)
    assert clf.kernel_map_.n_components == X.shape[0]
    Z = clf.kernel_map_.transform(X)
    np.testing.assert_allclose(Z @ Z.T, _rbf(X, X, gamma), atol=1e-6)
    yi = np.repeat(np.where(y[:40] == 1, 1.0, -1.0), [len(b) for b in tr])
    f = np.concatenate(clf.decision_function_instances(tr))
    beta = 2 * 0.7 * np.maximum(0.0, 1.0 - yi * f) * yi
    b = clf.estimator_.intercept_
    # SIL's solver stops at a relative gradient of 1e-3, which bounds the mismatch
    np.testing.assert_allclose(f, _rbf(X, X, gamma) @ beta + b, atol=5e-3)
    Xt = np.vstack(te)
    np.testing.assert_allclose(np.concatenate(clf.decision_function_instances(te)),
                               _rbf(Xt, X, gamma) @ beta + b, atol=5e-3)


def test_random_fourier_features_approach_the_kernel():
    from skmil.svm._approximation import fit_kernel_map, map_rows

    X = np.random.default_rng(0).normal(size=(50, 4))
    m = fit_kernel_map("rff", X, kernel="rbf", gamma=0.2, degree=3, coef0=0.0,
                       n_components=40_000, random_state=0)
    Z = map_rows(m, X)
    assert np.abs(Z @ Z.T - _rbf(X, X, 0.2)).max() < 0.03


@pytest.mark.parametrize("cls", [SIL, InstanceMISVM, MISVM])
def test_kernel_approximation_fits_deterministically_and_refuses_what_it_cannot_map(
        cls, bags_y):
    bags, y = bags_y
    kw = {"C": 1.0, "threshold": 0.0}
    a = cls(kernel_approximation="nystroem", n_components=30, **kw).fit(bags, y)
    b = cls(kernel_approximation="nystroem", n_components=30, **kw).fit(bags[::-1], y[::-1])
    np.testing.assert_allclose(a.decision_function(bags), b.decision_function(bags),
                               atol=1e-9)
    assert a.kernel_map_.n_components == 30
    if cls is not SIL:  # the SVM's weight vector lives in the map's output space
        assert a.support_vectors_.shape == (1, 30)
    rff = cls(kernel_approximation="rff", n_components=30, **kw).fit(bags, y)
    assert np.isfinite(rff.decision_function(bags)).all()
    for bad in ({"kernel": "linear"}, {"kernel": "poly", "kernel_approximation": "rff"},
                {"solver": "libsvm"}):
        params = {"kernel_approximation": "nystroem", **kw, **bad}
        with pytest.raises(ValueError, match="kernel_approximation"):
            cls(**params).fit(bags, y)


def test_example_means_sum_a_block_of_rows_at_a_time():
    from skmil.svm._common import example_means

    rng = np.random.default_rng(5)
    X = rng.normal(size=(50, 3))
    rows = np.sort(rng.choice(50, 30, replace=False))
    off = np.array([0, 4, 5, 13, 20, 30])
    w = rng.uniform(0.1, 2.0, size=30)
    expected = np.array([np.average(X[rows[a:b]], axis=0, weights=w[a:b])
                         for a, b in zip(off[:-1], off[1:])])
    # a block smaller than an example still takes the whole example
    for block in (1, 3, 7, 1000):
        np.testing.assert_allclose(example_means(X, rows, off, w, block=block), expected)
    np.testing.assert_allclose(example_means(X, rows, off),
                               [X[rows[a:b]].mean(axis=0) for a, b in zip(off[:-1], off[1:])])
