"""sMIL's SMO against libsvm and a direct QP; sbMIL relabelling; STK statistics."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.svm import SVC

from skmil.datasets import make_mil_classification
from skmil.svm import STK, MissSVM, SparseBalancedMIL, SparseMIL, SparseTransductiveMIL
from skmil.svm._smo import smo_solve


def _rbf(X, g):
    return np.exp(-g * ((X[:, None] - X[None]) ** 2).sum(-1))


def test_smo_matches_libsvm_for_standard_svm():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = np.where(X[:, 0] + 0.5 * rng.normal(size=80) > 0, 1.0, -1.0)
    K = _rbf(X, 0.3)
    svc = SVC(kernel="precomputed", C=2.0, tol=1e-8).fit(K, y)
    a, rho, _ = smo_solve(K, -np.ones(80), y, np.full(80, 2.0), tol=1e-8)
    full = np.zeros(80)
    full[svc.support_] = svc.dual_coef_[0]
    np.testing.assert_allclose(a * y, full, atol=1e-5)
    assert -rho == pytest.approx(svc.intercept_[0], abs=1e-5)


def test_smo_shrinking_reaches_the_same_optimum_on_the_whole_problem():
    # 1,500 variables (more than one shrinking period), most of them at a bound;
    # the shrunk run must pass the same stopping rule on every variable
    rng = np.random.default_rng(3)
    n = 1500
    X = rng.normal(size=(n, 5))
    y = np.where(X[:, 0] + 1.5 * rng.normal(size=n) > 0, 1.0, -1.0)
    K = X @ X.T
    p = -rng.uniform(0.2, 1.0, size=n)
    C = rng.uniform(0.5, 2.0, size=n)
    a0, rho0, _ = smo_solve(K, p, y, C, tol=1e-6, shrinking=False)
    a1, rho1, _ = smo_solve(K, p, y, C, tol=1e-6, shrinking=True)
    Q = (y[:, None] * y[None]) * K

    def obj(v):
        return 0.5 * v @ Q @ v + p @ v

    assert obj(a1) == pytest.approx(obj(a0), rel=1e-7)
    assert abs(y @ a1) < 1e-8
    assert np.all((a1 >= 0) & (a1 <= C))
    yG = y * (Q @ a1 + p)
    up = ((y > 0) & (a1 < C)) | ((y < 0) & (a1 > 0))
    low = ((y > 0) & (a1 > 0)) | ((y < 0) & (a1 < C))
    assert (-yG[up]).max() + yG[low].max() < 1e-6
    assert rho1 == pytest.approx(rho0, abs=1e-4)


def test_smo_general_linear_term_matches_generic_qp():
    rng = np.random.default_rng(1)
    n = 25
    X = rng.normal(size=(n, 2))
    y = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    K = _rbf(X, 0.5)
    p = -rng.uniform(-0.5, 1.0, size=n)  # some positive entries, as sMIL's large bags
    C = rng.uniform(0.5, 2.0, size=n)
    a, _, _ = smo_solve(K, p, y, C, tol=1e-9)
    Q = (y[:, None] * y[None]) * K

    def obj(v):
        return 0.5 * v @ Q @ v + p @ v

    ref = minimize(obj, np.zeros(n), jac=lambda v: Q @ v + p, method="SLSQP",
                   bounds=list(zip(np.zeros(n), C)),
                   constraints=[{"type": "eq", "fun": lambda v: y @ v, "jac": lambda v: y}],
                   options={"ftol": 1e-12, "maxiter": 500})
    assert abs(y @ a) < 1e-9
    assert np.all(a >= -1e-12) and np.all(a <= C + 1e-12)
    assert obj(a) <= ref.fun + 1e-6


def test_smil_solves_the_papers_problem():
    bags, y, _ = make_mil_classification(n_bags=20, n_features=3, bag_size=4, random_state=2)
    clf = SparseMIL(kernel="linear", C=1.0, tol=1e-8, threshold=0.0, solver="smo").fit(bags, y)
    # KKT check on the primal: recover w, then every constraint's margin
    w = clf.model_.coef
    b = clf.intercept_
    neg = np.vstack([bg for bg, lab in zip(bags, y) if lab == 0])
    pos = [bg for bg, lab in zip(bags, y) if lab == 1]
    L_n, B_p = neg.shape[0], len(pos)
    n = L_n + B_p
    m_neg = -(neg @ w + b)  # should be >= 1 - xi
    m_pos = np.array([bg.mean(0) @ w + b - (2 - len(bg)) / len(bg) for bg in pos]) + 1
    margins = np.concatenate([m_neg, m_pos])
    coef = np.abs(clf.dual_coef_)
    Cs = np.concatenate([np.full(L_n, n / (2 * L_n)), np.full(B_p, n / (2 * B_p))])
    free = (coef > 1e-6) & (coef < Cs - 1e-6)
    np.testing.assert_allclose(margins[free], 1.0, atol=1e-3)  # free SVs on the margin
    assert np.all(margins[coef < 1e-9] >= 1 - 1e-3)  # non-SVs satisfy their constraint
    # primal w is the dual expansion over negative instances and positive-bag means
    Z = np.vstack([neg] + [bg.mean(0, keepdims=True) for bg in pos])
    np.testing.assert_allclose(w, clf.dual_coef_ @ Z, atol=1e-10)


def test_sbmil_labels_top_fraction_and_every_positive_bag():
    bags, y, inst = make_mil_classification(n_bags=40, n_features=4, class_sep=5.0,
                                            random_state=3)
    clf = SparseBalancedMIL(eta=0.3).fit(bags, y)
    lab = clf.instance_labels_
    owner = np.repeat(np.arange(len(bags)), [len(b) for b in bags])
    assert np.all(lab[y[owner] == 0] == -1)
    for b in np.flatnonzero(y == 1):
        assert np.any(lab[owner == b] == 1)
    L_p = int(np.sum(y[owner] == 1))
    assert (lab == 1).sum() >= max(int(round(0.3 * L_p)), int((y == 1).sum()))
    with pytest.raises(ValueError, match="'eta' parameter of SparseBalancedMIL"):
        SparseBalancedMIL(eta=2.0).fit(bags, y)


@pytest.mark.parametrize("cls, params", [(SparseMIL, {"kernel": "rbf"}),
                                         (SparseBalancedMIL, {"eta": 0.3}),
                                         (SparseTransductiveMIL, {"max_iter": 10}),
                                         (MissSVM, {"max_iter": 20})])
def test_bag_threshold(cls, params):
    from skmil._inner_cv import inner_cv_splits, search_refit
    from skmil._threshold import best_threshold
    from skmil.bags import check_bags

    bags, y, _ = make_mil_classification(n_bags=45, n_features=4, class_sep=2.0,
                                         random_state=5)
    zero = cls(threshold=0.0, **params).fit(bags, y)
    assert zero.threshold_ == 0.0
    assert cls().get_params()["threshold"] == "auto"
    shifted = cls(threshold=0.4, **params).fit(bags, y)
    np.testing.assert_allclose(shifted.decision_function(bags),
                               zero.decision_function(bags) - 0.4)
    inst = shifted.decision_function_instances(bags)
    np.testing.assert_array_equal(shifted.predict(bags) == 1,
                                  np.array([np.any(f > 0) for f in inst]))
    # "auto": the best held-out accuracy threshold of the inner CV at threshold 0
    auto = cls(threshold="auto", random_state=1, **params).fit(bags, y)
    B = check_bags(bags)
    splits = inner_cv_splits(B, y, 1)
    _, dec = search_refit(cls(threshold=0.0, **params), B, y, [{}], splits)
    assert auto.threshold_ == best_threshold(dec[0], y == 1, splits)
    np.testing.assert_allclose(auto.decision_function(bags),
                               zero.decision_function(bags) - auto.threshold_)
    with pytest.raises(ValueError, match=f"'threshold' parameter of {cls.__name__}"):
        cls(threshold="best", **params).fit(bags, y)


@pytest.mark.parametrize("cls", [SparseMIL, SparseBalancedMIL, SparseTransductiveMIL])
def test_sparse_mil_bag_rule_and_class_weight(cls):
    from skmil.base import get_mil_tags

    assert get_mil_tags(cls()).bag_rule == "max"
    assert get_mil_tags(cls(pooling="mean")).bag_rule == "mean"
    bags, y, _ = make_mil_classification(n_bags=30, n_features=3, random_state=2)
    kw = {"max_iter": 20} if cls is SparseTransductiveMIL else {}
    n_neg = sum(len(b) for b, lab in zip(bags, y) if lab == 0)
    n_pos = int(np.sum(y == 1))
    n = n_neg + n_pos
    if cls is SparseBalancedMIL:
        # class_weight is the final instance SVM's (default None); sMIL's stage balanced
        same, other = {0: 1.0, 1: 1.0}, "balanced"
    else:
        # "balanced" (the default) is the paper's weighting over the QP's examples
        same, other = {0: n / (2 * n_neg), 1: n / (2 * n_pos)}, None
    a = cls(threshold=0.0, **kw).fit(bags, y)
    b = cls(threshold=0.0, class_weight=same, **kw).fit(bags, y)
    np.testing.assert_allclose(a.decision_function(bags), b.decision_function(bags),
                               rtol=1e-6, atol=1e-8)
    c = cls(threshold=0.0, class_weight=other, **kw).fit(bags, y)
    assert not np.allclose(a.decision_function(bags), c.decision_function(bags))


def test_stmil_and_misssvm_warn_at_their_iteration_cap():
    from sklearn.exceptions import ConvergenceWarning

    bags, y, _ = make_mil_classification(n_bags=40, n_features=4, class_sep=1.0,
                                         random_state=6)
    for clf in (SparseTransductiveMIL(max_iter=1, threshold=0.0),
                MissSVM(max_iter=1, threshold=0.0)):
        with pytest.warns(ConvergenceWarning, match="max_iter=1"):
            clf.fit(bags, y)


def test_fitted_indices_follow_the_order_the_bags_were_given():
    bags, y, _ = make_mil_classification(n_bags=30, n_features=3, class_sep=4.0,
                                         random_state=9)
    perm = np.random.RandomState(0).permutation(len(bags))
    pb, py = [bags[i] for i in perm], y[perm]
    a = SparseBalancedMIL(threshold=0.0).fit(bags, y)
    b = SparseBalancedMIL(threshold=0.0).fit(pb, py)
    owner = np.repeat(np.arange(len(bags)), [len(x) for x in bags])
    flat_perm = np.concatenate([np.flatnonzero(owner == i) for i in perm])
    np.testing.assert_array_equal(b.instance_labels_, a.instance_labels_[flat_perm])
    m = MissSVM(kernel="linear", threshold=0.0, max_iter=50)
    wa, wb = m.fit(bags, y).witness_indices_, m.fit(pb, py).witness_indices_
    pos_b = np.flatnonzero(py == 1)
    np.testing.assert_array_equal(flat_perm[wb], wa[np.argsort(np.argsort(perm[pos_b]))])


def test_stk_uses_min_max_statistics():
    from skmil._inner_cv import canonical_order
    from skmil.bags import check_bags

    bags, y, _ = make_mil_classification(n_bags=30, n_features=3, random_state=4)
    for kernel in ("linear", "rbf", "poly"):
        clf = STK(kernel=kernel, C=1.0).fit(bags, y)
        S = np.array([np.concatenate([b.min(0), b.max(0)]) for b in bags])
        # fit sees the bags in canonical order; SVC on the same order is the same problem
        canon = canonical_order(check_bags(bags), y)
        ref = SVC(kernel=kernel, C=1.0, gamma=clf.gamma_, coef0=0.0).fit(
            S[canon], np.where(y[canon] == 1, 1, -1))
        np.testing.assert_allclose(clf.decision_function(bags), ref.decision_function(S),
                                   rtol=1e-6, atol=1e-8)
        np.testing.assert_array_equal(clf.support_, np.sort(canon[ref.support_]))
    assert np.isclose(STK().fit(bags, y).gamma_, 1 / (S.shape[1] * S.var()))


def test_stk_c_cv_uses_the_inner_cv():
    from skmil._inner_cv import C_GRID

    bags, y, _ = make_mil_classification(n_bags=30, n_features=3, random_state=4)
    clf = STK(C="cv", random_state=0).fit(bags, y)
    assert [p["C"] for p in clf.cv_results_["params"]] == list(C_GRID)
    fixed = STK(C=clf.C_).fit(bags, y)
    np.testing.assert_allclose(fixed.decision_function(bags), clf.decision_function(bags))
    assert not hasattr(fixed, "cv_results_")


def test_stmil_and_misssvm_learn_a_separable_problem():
    from sklearn.metrics import roc_auc_score

    bags, y, inst = make_mil_classification(n_bags=50, n_features=4, class_sep=6.0,
                                            random_state=6)
    for clf in (SparseTransductiveMIL(kernel="rbf", max_iter=10), MissSVM(max_iter=20)):
        clf.fit(bags, y)
        f = np.concatenate(clf.decision_function_instances(bags))
        assert roc_auc_score(np.concatenate(inst), f) > 0.97
        assert (clf.predict(bags) == y).mean() >= 0.9
        assert 1 <= clf.n_iter_


def test_misssvm_fixed_point_and_witnesses():
    bags, y, _ = make_mil_classification(n_bags=40, n_features=4, class_sep=5.0,
                                         random_state=7)
    clf = MissSVM(kernel="linear", max_iter=50).fit(bags, y)
    owner = np.repeat(np.arange(len(bags)), [len(b) for b in bags])
    pos = np.flatnonzero(y == 1)
    np.testing.assert_array_equal(owner[clf.witness_indices_], pos)
    f = np.concatenate(clf.decision_function_instances(bags))
    for b, w in zip(pos, clf.witness_indices_):
        assert f[w] >= f[owner == b].max() - 1e-9
    # the precomputed-kernel and libsvm-cache paths solve the same problems
    other = MissSVM(kernel="linear", max_iter=50, max_precomputed=0).fit(bags, y)
    np.testing.assert_allclose(other.decision_function(bags), clf.decision_function(bags),
                               rtol=1e-4, atol=1e-4)


def test_mica_objective_decreases_and_matches_its_primal():
    from skmil.svm import MICA

    bags, y, _ = make_mil_classification(n_bags=40, n_features=4, class_sep=3.0,
                                         random_state=8)
    # unweighted, the optimum here is the constant model, which the base reports
    with pytest.warns(UserWarning, match="scores every training bag the same"):
        clf = MICA(C=0.5, class_weight=None, max_iter=30).fit(bags, y)
    assert np.all(np.diff(clf.objectives_) <= 1e-7)
    w, b = clf.coef_, clf.intercept_
    neg = np.vstack([bg for bg, lab in zip(bags, y) if lab == 0])
    X = np.vstack(bags)
    rep = X[clf.witness_indices_]  # final representatives (vertices)
    slack = np.concatenate([np.maximum(0, 1 + neg @ w + b), np.maximum(0, 1 - rep @ w - b)])
    primal = np.abs(w).sum() + 0.5 * slack.sum()
    assert primal == pytest.approx(clf.objectives_[-1], rel=1e-6, abs=1e-7)
