"""mi-SVM / MI-SVM: invariants of the heuristics, stopping rules, restarts."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.svm import SVC

from skmil.datasets import make_mil_classification
from skmil.svm import MISVM, SIL, InstanceMISVM
from skmil.svm._common import dual_objective


@pytest.fixture(scope="module")
def data(mil_problem):
    return mil_problem(n_bags=60, n_features=5, bag_size=6, class_sep=6.0, witness_rate=0.3,
                       random_state=0)


def _fit(est, bags, y):
    """Fit; a fit capped on purpose at ``max_iter=1`` must say so with a warning."""
    from sklearn.exceptions import ConvergenceWarning

    if est.max_iter != 1:
        return est.fit(bags, y)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        return est.fit(bags, y)


def _bag_of_instance(bags):
    return np.repeat(np.arange(len(bags)), [len(b) for b in bags])


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_misvm_invariants(data, kernel):
    bags, y, _ = data
    clf = InstanceMISVM(kernel=kernel, C=1.0).fit(bags, y)
    lab = clf.instance_labels_
    owner = _bag_of_instance(bags)
    assert set(np.unique(lab)) <= {-1, 1}
    assert np.all(lab[y[owner] == 0] == -1)  # negative instances stay negative
    for b in np.flatnonzero(y == 1):
        assert np.any(lab[owner == b] == 1)  # every positive bag keeps a positive
    if clf.stop_reason_ == "converged":
        # at convergence the labels are a fixed point of the relabelling step, which
        # uses the SVM's own 0 (raw scores, before threshold_)
        f = np.concatenate(clf.decision_function_instances(bags)) + clf.threshold_
        for b in np.flatnonzero(y == 1):
            fb, lb = f[owner == b], lab[owner == b]
            expect = np.where(fb >= -1e-9, 1, -1)
            if not np.any(expect == 1):
                expect[np.argmax(fb)] = 1
            agree = (expect == lb) | (np.abs(fb) < 1e-6)
            assert agree.all()


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_MISVM_one_witness_per_positive_bag(data, kernel):
    bags, y, _ = data
    clf = MISVM(kernel=kernel, C=1.0).fit(bags, y)
    owner = _bag_of_instance(bags)
    w = clf.witness_indices_
    pos = np.flatnonzero(y == 1)
    assert w.shape == (pos.shape[0],)
    np.testing.assert_array_equal(owner[w], pos)  # exactly one witness, inside its bag
    if clf.stop_reason_ == "converged":
        f = np.concatenate(clf.decision_function_instances(bags))
        for b, wi in zip(pos, w):
            assert f[wi] >= f[owner == b].max() - 1e-9


@pytest.mark.parametrize("cls", [InstanceMISVM, MISVM])
def test_separable_instance_auc(cls, data):
    bags, y, inst = data
    clf = cls(kernel="rbf", C=10.0).fit(bags, y)
    f = np.concatenate(clf.decision_function_instances(bags))
    assert roc_auc_score(np.concatenate(inst), f) > 0.99
    assert (clf.predict(bags) == y).mean() >= 0.95


@pytest.mark.parametrize("cls", [InstanceMISVM, MISVM])
@pytest.mark.parametrize("kernel", ["rbf", "poly"])
def test_precomputed_and_libsvm_cache_paths_agree(cls, kernel, data):
    bags, y, _ = data
    a = cls(kernel=kernel, gamma=0.1, C=1.0, max_precomputed=10**6).fit(bags, y)
    b = cls(kernel=kernel, gamma=0.1, C=1.0, max_precomputed=0).fit(bags, y)
    assert a.precomputed_ and not b.precomputed_
    assert a.n_iter_ == b.n_iter_
    np.testing.assert_allclose(a.decision_function(bags), b.decision_function(bags),
                               rtol=1e-5, atol=1e-5)


def test_cycle_detection_stops_on_repeated_labels(data):
    bags, y, _ = data

    class Flip(InstanceMISVM):
        calls = 0

        def _scores(self, pts, svc, sv_idx, rows_idx):
            Flip.calls += 1  # alternate: all positive, then all negative (repaired)
            return np.ones(rows_idx.shape[0]) * (-1) ** Flip.calls

    clf = Flip(kernel="linear", max_iter=50).fit(bags, y)
    # labels: init all +1 -> (mostly) -1 -> all +1 again: a cycle after 2 fits
    assert clf.stop_reason_ == "cycle"
    assert clf.n_iter_ == 2


def test_max_iter_is_respected(data):
    bags, y, _ = data
    from sklearn.exceptions import ConvergenceWarning

    with pytest.warns(ConvergenceWarning, match="InstanceMISVM stopped at max_iter=1"):
        clf = InstanceMISVM(kernel="linear", max_iter=1, C=1.0, threshold=0.0).fit(bags, y)
    assert clf.n_iter_ == 1
    assert clf.stop_reason_ == "max_iter"


@pytest.mark.parametrize("cls", [InstanceMISVM, MISVM])
def test_restarts_keep_smallest_objective(cls, data):
    bags, y, _ = data
    clf = cls(kernel="rbf", gamma=0.1, C=1.0, n_init=4, random_state=0).fit(bags, y)
    assert clf.objectives_.shape == (4,)
    assert clf.best_init_ == int(np.argmin(clf.objectives_))
    sv = clf.support_vectors_
    K = np.exp(-0.1 * ((sv[:, None, :] - sv[None, :, :]) ** 2).sum(-1))
    assert dual_objective(clf.dual_coef_, K) == pytest.approx(clf.objectives_.min(), rel=1e-6)
    first = cls(kernel="rbf", gamma=0.1, C=1.0).fit(bags, y)
    assert clf.objectives_.min() <= clf.objectives_[0]
    assert first.n_iter_ >= 1


def test_dual_objective_equals_primal_for_linear_svm():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = np.where(X[:, 0] + 0.5 * rng.normal(size=40) > 0, 1, -1)
    svc = SVC(kernel="linear", C=0.7, tol=1e-8).fit(X, y)
    w = svc.coef_[0]
    primal = 0.5 * w @ w + 0.7 * np.maximum(0, 1 - y * (X @ w + svc.intercept_[0])).sum()
    sv = svc.support_vectors_
    assert dual_objective(svc.dual_coef_[0], sv @ sv.T) == pytest.approx(primal, rel=1e-4)


def test_class_weight_and_bad_params(data):
    bags, y, _ = data
    InstanceMISVM(kernel="linear", class_weight="balanced", C=1.0).fit(bags, y)
    InstanceMISVM(kernel="linear", class_weight={0: 1.0, 1: 3.0}, C=1.0).fit(bags, y)
    with pytest.raises(ValueError, match="not a class label"):
        InstanceMISVM(class_weight={"x": 1.0}).fit(bags, y)
    with pytest.raises(ValueError, match="'kernel' parameter of MISVM"):
        MISVM(kernel="cosine").fit(bags, y)
    with pytest.raises(ValueError, match="'C' parameter of MISVM"):
        MISVM(C=-1).fit(bags, y)


@pytest.mark.parametrize("class_weight", [None, "balanced", {-1: 1.0, 1: 4.0}])
@pytest.mark.parametrize("kernel", ["rbf", "precomputed"])
def test_direct_libsvm_fit_matches_SVC(kernel, class_weight):
    from skmil.svm._common import libsvm_binary_fit

    rng = np.random.default_rng(0)
    X = rng.normal(size=(70, 3))
    y = np.where(X[:, 0] + rng.normal(size=70) > 0.8, 1, -1)
    Xk = np.exp(-0.3 * ((X[:, None] - X[None]) ** 2).sum(-1)) if kernel == "precomputed" else X
    svc = SVC(kernel=kernel, C=2.0, gamma=0.3, class_weight=class_weight).fit(Xk, y)
    sup, dc, b = libsvm_binary_fit(Xk, y, kernel=kernel, C=2.0, gamma=0.3,
                                   class_weight=class_weight)
    np.testing.assert_array_equal(sup, svc.support_)
    np.testing.assert_allclose(dc, svc.dual_coef_[0])
    assert b == pytest.approx(svc.intercept_[0])


@pytest.mark.parametrize("cls", [InstanceMISVM, MISVM])
def test_liblinear_solver_matches_libsvm_linear(cls, data):
    bags, y, inst = data
    # first step only: both solve the same SVM (up to liblinear's intercept penalty).
    # A small C keeps liblinear's dual coordinate descent within its iteration cap on
    # these overlapping first-step labels (at C=1 it stops at the cap with a
    # ConvergenceWarning, and a larger intercept_scaling slows it further).
    # liblinear visits examples in a random order: seeded, so the test is deterministic
    a = _fit(cls(kernel="linear", C=0.01, max_iter=1, random_state=0), bags, y)
    b = _fit(cls(kernel="linear", C=0.01, max_iter=1, solver="liblinear", random_state=0),
             bags, y)
    fa = np.concatenate(a.decision_function_instances(bags))
    fb = np.concatenate(b.decision_function_instances(bags))
    assert np.corrcoef(fa, fb)[0, 1] > 0.99
    full = cls(kernel="linear", solver="liblinear", C=0.01, random_state=0).fit(bags, y)
    fb = np.concatenate(full.decision_function_instances(bags))
    assert roc_auc_score(np.concatenate(inst), fb) > 0.99
    with pytest.raises(ValueError, match="liblinear"):
        cls(kernel="rbf", solver="liblinear").fit(bags, y)


@pytest.mark.parametrize("cls", [InstanceMISVM, MISVM])
def test_c_cv_is_the_inner_cv_choice(cls, data):
    from skmil._inner_cv import C_GRID, inner_cv_splits, search_refit
    from skmil.bags import check_bags

    bags, y, _ = data
    auto = cls(kernel="linear", max_iter=100).fit(bags, y)
    res = auto.cv_results_
    assert auto.C_ in C_GRID and res["mean_test_score"].shape == (len(C_GRID),)
    assert [p["C"] for p in res["params"]] == list(C_GRID)
    # the same inner folds, run by hand, give the same choice (ties -> smaller C)
    B = check_bags(bags)
    splits = inner_cv_splits(B, y, None)
    by_hand, _ = search_refit(cls(kernel="linear", max_iter=100, threshold=0.0), B, y,
                              [{"C": c} for c in C_GRID], splits)
    np.testing.assert_allclose(by_hand["mean_test_score"], res["mean_test_score"])
    mean = np.round(res["mean_test_score"], 12)
    assert auto.C_ == C_GRID[int(np.flatnonzero(mean == mean.max())[0])]
    assert res["rank_test_score"][C_GRID.index(auto.C_)] == 1
    fixed = cls(kernel="linear", max_iter=100, C=auto.C_, threshold=auto.threshold_)
    fixed.fit(bags, y)
    assert fixed.cv_results_ is None
    np.testing.assert_allclose(fixed.decision_function(bags), auto.decision_function(bags))
    with pytest.raises(ValueError, match=f"'C' parameter of {cls.__name__}"):
        cls(C="auto").fit(bags, y)


def test_threshold_auto_is_the_best_held_out_bag_threshold(data):
    from skmil._inner_cv import C_GRID, best_index, inner_cv_splits, search_refit
    from skmil._threshold import best_threshold
    from skmil.bags import check_bags

    bags, y, _ = data
    B = check_bags(bags)
    splits = inner_cv_splits(B, y, None)
    auto = InstanceMISVM(kernel="linear", max_iter=100).fit(bags, y)
    res, dec = search_refit(InstanceMISVM(kernel="linear", max_iter=100, threshold=0.0), B, y,
                            [{"C": c} for c in C_GRID], splits)
    g = best_index(res)
    assert auto.C_ == C_GRID[g]
    assert auto.threshold_ == best_threshold(dec[g], y == 1, splits)
    # a fixed C gets its threshold from the base's inner CV of that C alone (same folds)
    _, dec1 = search_refit(InstanceMISVM(kernel="linear", C=10.0, threshold=0.0), B, y, [{}],
                           splits)
    fixed = InstanceMISVM(kernel="linear", C=10.0).fit(bags, y)
    assert fixed.threshold_ == best_threshold(dec1[0], y == 1, splits)


@pytest.mark.parametrize("cls", [InstanceMISVM, MISVM])
def test_threshold_shifts_bag_and_instance_scores_alike(cls, data):
    bags, y, _ = data
    zero = cls(kernel="linear", C=1.0, threshold=0.0).fit(bags, y)
    shifted = cls(kernel="linear", C=1.0, threshold=0.3).fit(bags, y)
    assert zero.threshold_ == 0.0 and shifted.threshold_ == 0.3
    np.testing.assert_allclose(shifted.decision_function(bags), zero.decision_function(bags) - 0.3)
    inst = shifted.decision_function_instances(bags)
    bag_pos = np.array([np.any(s > 0) for s in inst])
    np.testing.assert_array_equal(shifted.predict(bags) == shifted.classes_[1], bag_pos)
    for bad in ("best", float("nan")):
        with pytest.raises(ValueError, match=f"'threshold' parameter of {cls.__name__}"):
            cls(threshold=bad).fit(bags, y)


def test_inner_cv_without_a_split_falls_back_to_c_and_threshold_defaults():
    bags, y, _ = make_mil_classification(n_bags=6, n_features=3, random_state=0)
    y = np.array([0, 0, 0, 0, 0, 1])
    clf = InstanceMISVM(kernel="linear").fit(bags, y)
    assert clf.C_ == 1.0 and clf.cv_results_ is None and clf.threshold_ == 0.0


def test_max_precomputed_auto_resolves_per_method(data):
    bags, y, _ = data  # 60 bags of 6: 360 instances, under both thresholds
    assert InstanceMISVM(kernel="rbf", C=1.0).fit(bags, y).precomputed_
    assert MISVM(kernel="rbf", C=1.0).fit(bags, y).precomputed_
    assert InstanceMISVM._auto_max_precomputed == 8000 and MISVM._auto_max_precomputed == 2000
    assert not MISVM(kernel="rbf", C=1.0, max_precomputed=300).fit(bags, y).precomputed_
    with pytest.raises(ValueError, match="'max_precomputed' parameter of InstanceMISVM"):
        InstanceMISVM(C=1.0, max_precomputed="big").fit(bags, y)

# -- MI-SVM with one slack per negative bag (negative_slack="bag", group-capped SMO) -----

@pytest.fixture(scope="module")
def small(mil_problem):
    return mil_problem(n_bags=16, n_features=3, bag_size=4, class_sep=3.0, witness_rate=0.3,
                       random_state=1)


def _singleton_negatives(bags, y):
    """Split every negative bag into one-instance bags (shared slack = own slack)."""
    out_b, out_y = [], []
    for b, lab in zip(bags, y):
        if lab == 1:
            out_b.append(b)
            out_y.append(1)
        else:
            out_b.extend(b[i : i + 1] for i in range(b.shape[0]))
            out_y.extend([0] * b.shape[0])
    return out_b, np.array(out_y)


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_bag_slack_equals_instance_slack_for_singleton_negative_bags(small, kernel):
    bags, y = _singleton_negatives(*small[:2])
    kw = dict(kernel=kernel, C=1.0, tol=1e-7, solver="libsvm")  # both: the hinge loss
    inst = MISVM(**kw).fit(bags, y)
    bag = MISVM(negative_slack="bag", **kw).fit(bags, y)
    np.testing.assert_array_equal(bag.witness_indices_, inst.witness_indices_)
    fi = np.concatenate(inst.decision_function_instances(bags))
    fb = np.concatenate(bag.decision_function_instances(bags))
    np.testing.assert_allclose(fb, fi, atol=1e-4 * np.abs(fi).max())
    assert bag.intercept_ == pytest.approx(inst.intercept_, abs=1e-4)


def _primal_group_slack(X, y, C, groups):
    """min 1/2||w||^2 + sum C_i xi_i (singletons) + sum C_g xi_g, solved directly."""
    import cvxpy as cp

    n, d = X.shape
    gid = np.unique(groups[groups >= 0])
    slack_of = np.where(groups >= 0, np.searchsorted(gid, groups), gid.size + np.arange(n))
    n_slack = gid.size + n
    cost = np.zeros(n_slack)
    cost[slack_of] = C  # group slacks get their members' C; unused singleton slots stay 0
    w, b, xi = cp.Variable(d), cp.Variable(), cp.Variable(n_slack, nonneg=True)
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(w) + cost @ xi),
                      [cp.multiply(y, X @ w + b) >= 1 - xi[slack_of]])
    prob.solve(solver="CLARABEL")
    return prob.value, w.value


def _primal_value(X, y, C, groups, w, b):
    """Primal objective at (w, b) with the optimal slacks."""
    hinge = np.maximum(0.0, 1.0 - y * (X @ w + b))
    val = 0.5 * w @ w + float(C[groups < 0] @ hinge[groups < 0])
    for g in np.unique(groups[groups >= 0]):
        m = groups == g
        val += C[m][0] * hinge[m].max()
    return val


def test_group_slack_dual_kkt_and_primal_agree():
    from _bag_slack_qp import solve_group_slack_dual

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    y = np.where(X[:, 0] + 0.8 * rng.normal(size=30) > 0, 1.0, -1.0)
    groups = np.full(30, -1)
    neg = np.flatnonzero(y < 0)
    groups[neg] = np.arange(neg.size) // 3  # negatives share a slack in threes
    C = np.where(y > 0, 2.0, 0.7)
    res = solve_group_slack_dual(y, C, groups, X=X)
    a = res.alpha
    assert np.all(a >= 0) and np.all(a <= C + 1e-7)
    assert abs(y @ a) < 1e-6
    for g in np.unique(groups[neg]):
        assert a[groups == g].sum() <= 0.7 + 1e-6
    # a bag cap must actually bind somewhere, or the test would not test it
    assert max(a[groups == g].sum() for g in np.unique(groups[neg])) > 0.7 - 1e-4
    primal, w_p = _primal_group_slack(X, y, C, groups)
    w_d = (y * a) @ X
    assert res.objective == pytest.approx(primal, rel=1e-5)  # strong duality
    np.testing.assert_allclose(w_d, w_p, atol=1e-4)
    # the KKT intercept is primal-optimal with w from the dual
    assert _primal_value(X, y, C, groups, w_d, res.intercept) == pytest.approx(primal, rel=1e-5)


def _group_problem(seed, n, kernel):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = np.where(X[:, 0] + 0.8 * rng.normal(size=n) > 0, 1.0, -1.0)
    groups = np.full(n, -1)
    neg = np.flatnonzero(y < 0)
    groups[neg] = np.arange(neg.size) // int(rng.integers(1, 6))
    C = np.where(y > 0, rng.uniform(0.1, 5), rng.uniform(0.1, 5))
    K = X @ X.T if kernel == "linear" else np.exp(-0.5 * ((X[:, None] - X[None]) ** 2).sum(-1))
    return K, y, C, groups


@pytest.mark.parametrize("seed", range(6))
def test_group_smo_matches_the_cvxpy_qp(seed):
    from _bag_slack_qp import solve_group_slack_dual

    from skmil.svm._group_smo import group_smo_solve

    K, y, C, groups = _group_problem(seed, 40 + 30 * seed, "rbf" if seed % 2 else "linear")
    a, b, G, n_iter = group_smo_solve(K, y, C, groups, tol=1e-8)
    assert n_iter > 0
    assert np.all(a >= 0) and np.all(a <= C) and abs(y @ a) < 1e-9
    sums = np.array([a[groups == g].sum() for g in np.unique(groups[groups >= 0])])
    cap = C[y < 0][0]
    assert np.all(sums <= cap * (1 + 1e-12))
    assert np.any(np.isclose(sums, cap))  # some bag cap binds, or the test tests nothing
    np.testing.assert_allclose(G, y * (K @ (y * a)) - 1.0, atol=1e-9)
    obj = a.sum() - 0.5 * (y * a) @ K @ (y * a)
    ref = solve_group_slack_dual(y, C, groups, K=K)
    # the QP is solved to ~1e-8 by the interior-point method; the SMO is no worse
    assert obj >= ref.objective - 1e-6 * abs(ref.objective)
    assert obj == pytest.approx(ref.objective, rel=1e-6)
    # the same KKT intercept as the QP's (free support vectors, else the bounds)
    assert b == pytest.approx(ref.intercept, abs=1e-4)


def test_group_smo_warm_start_reaches_the_same_optimum():
    from skmil.svm._group_smo import group_smo_solve

    K, y, C, groups = _group_problem(7, 120, "rbf")
    cold, _, _, it_cold = group_smo_solve(K, y, C, groups, tol=1e-9)
    # a feasible start: the optimum of a looser problem (every C halved)
    start, _, _, _ = group_smo_solve(K, y, C / 2, groups, tol=1e-3)
    warm, _, _, it_warm = group_smo_solve(K, y, C, groups, tol=1e-9, alpha0=start)
    f = [a.sum() - 0.5 * (y * a) @ K @ (y * a) for a in (cold, warm)]
    assert f[1] == pytest.approx(f[0], rel=1e-9)
    # restarting from its own optimum is immediate
    _, _, _, it0 = group_smo_solve(K, y, C, groups, tol=1e-3, alpha0=cold)
    assert it0 == 0 and it_cold > 0 and it_warm > 0


def test_group_smo_without_groups_is_the_standard_dual():
    from skmil.svm._group_smo import group_smo_solve
    from skmil.svm._smo import smo_solve

    K, y, C, _ = _group_problem(3, 80, "rbf")
    a, b, _, _ = group_smo_solve(K, y, C, np.full(80, -1), tol=1e-9)
    a_ref, rho, _ = smo_solve(K, -np.ones(80), y, C, tol=1e-9)
    np.testing.assert_allclose(a, a_ref, atol=1e-6)
    assert b == pytest.approx(-rho, abs=1e-6)


def test_MISVM_bag_slack_final_svm_is_the_primal_optimum(small):
    bags, y, _ = small
    clf = MISVM(kernel="linear", C=1.0, negative_slack="bag", max_iter=10).fit(bags, y)
    assert np.all(clf.witness_indices_ >= 0)
    X = np.concatenate(bags)
    owner = _bag_of_instance(bags)
    neg = np.flatnonzero(y[owner] == 0)
    Xt = np.vstack([X[neg], X[clf.witness_indices_]])
    yt = np.concatenate([-np.ones(neg.size), np.ones(clf.witness_indices_.size)])
    groups = np.concatenate([owner[neg], -np.ones(clf.witness_indices_.size, dtype=int)])
    C = np.ones(yt.size)
    primal, _ = _primal_group_slack(Xt, yt, C, groups)
    sv = clf.support_vectors_
    assert dual_objective(clf.dual_coef_, sv @ sv.T) == pytest.approx(primal, rel=1e-4)
    w = clf.dual_coef_ @ sv
    assert _primal_value(Xt, yt, C, groups, w, clf.intercept_) == pytest.approx(primal, rel=1e-4)
    # dual feasibility per negative bag: alpha = |dual_coef| of each negative SV
    alpha_neg = {}
    for s, c in zip(sv, clf.dual_coef_):
        if c < 0:
            i = neg[np.flatnonzero((X[neg] == s).all(axis=1))[0]]
            alpha_neg[owner[i]] = alpha_neg.get(owner[i], 0.0) - c
    assert alpha_neg and max(alpha_neg.values()) <= 1.0 + 1e-6


def test_bag_slack_bad_values(small):
    bags, y, _ = small
    with pytest.raises(ValueError, match="'negative_slack' parameter of MISVM"):
        MISVM(negative_slack="bags").fit(bags, y)
    with pytest.raises(ValueError, match="liblinear"):
        MISVM(kernel="linear", solver="liblinear", negative_slack="bag").fit(bags, y)
    with pytest.raises(ValueError, match="negative_slack='instance'"):
        MISVM(C=1.0, negative_slack="bag", max_qp_size=10).fit(bags, y)
    with pytest.raises(ValueError, match="max_qp_size"):
        MISVM(C=1.0, negative_slack="bag", max_qp_size=0).fit(bags, y)
    with pytest.raises(TypeError):
        InstanceMISVM(negative_slack="bag")  # mi-SVM has per-instance slacks by definition


def test_bag_slack_with_c_auto(small):
    bags, y, _ = small
    clf = MISVM(kernel="linear", negative_slack="bag", max_iter=5).fit(bags, y)
    assert clf.cv_results_["mean_test_score"].shape == (5,)
    assert clf.C_ in (0.1, 1.0, 10.0, 100.0, 1000.0)
    assert clf.predict(bags).shape == (len(bags),)


def test_point_set_train_gram_updates_only_moved_rows():
    from skmil._kernels.set_kernel import instance_kernel
    from skmil.svm.mi_svm import _PointSet

    rng = np.random.RandomState(0)
    X = rng.randn(40, 3)
    spec = ("rbf", 0.5, 3, 0.0)
    K = instance_kernel(X, X, *spec)
    K0 = K.copy()
    pts = _PointSet(X, spec, K)
    pts.set_extra(rng.randn(4, 3))
    neg = np.arange(20)
    steps = [np.arange(40, 44), np.array([21, 25, 30, 35]), np.array([21, 26, 30, 35]),
             np.array([21, 26, 30, 35]), np.array([22, 27, 31, 36])]
    for sel in steps:
        idx = np.concatenate([neg, sel])
        np.testing.assert_array_equal(pts.train_gram(idx), pts.gram(idx, idx))
    # new extra points at the same indices must not reuse the old rows
    E = rng.randn(4, 3)
    pts.set_extra(E)
    idx = np.concatenate([neg, np.arange(40, 44)])
    ref = instance_kernel(np.vstack([X[neg], E]), np.vstack([X[neg], E]), *spec)
    np.testing.assert_allclose(pts.train_gram(idx), ref, rtol=1e-12)
    # the whole set is K itself (no copy), and K is never written
    whole = np.arange(40)
    assert pts.train_gram(whole) is K
    pts.train_gram(np.concatenate([np.arange(39), [5]]))
    np.testing.assert_array_equal(K, K0)


# -- kernel="precomputed": bags of instance-kernel rows ----------------------------------


def _kernel_bags(data, kernel, gamma=0.2):
    from sklearn.metrics.pairwise import rbf_kernel

    from skmil.bags import Bags, check_bags

    B = check_bags(data[0])
    X = B.instances
    K = rbf_kernel(X, X, gamma=gamma) if kernel == "rbf" else X @ X.T
    return B, Bags(K, B.offsets)


# MI-SVM's mean witnesses are feature-space means with a named RBF kernel too, so the
# named and the precomputed kernel give the same MI-SVM
@pytest.mark.parametrize(("cls", "kernel"),
                         [(InstanceMISVM, "linear"), (InstanceMISVM, "rbf"), (MISVM, "linear"),
                          (MISVM, "rbf")])
def test_precomputed_kernel_equals_named_kernel(cls, kernel, data):
    B, K = _kernel_bags(data, kernel)
    y = data[1]
    tr, te = np.arange(45), np.arange(45, 60)
    # C and threshold fixed: the inner folds of "cv"/"auto" follow the canonical order of
    # the training bags, computed from their contents (kernel rows here)
    # and libsvm solved tightly: the two fit their examples in different orders
    kw = dict(C=10.0, threshold=0.1, tol=1e-10)
    # the hinge loss on both sides (a named linear kernel defaults to the primal solver)
    named = cls(kernel=kernel, gamma=0.2, solver="libsvm", **kw).fit(B.take(tr), y[tr])
    pre = cls(kernel="precomputed", **kw).fit(K.take_pairwise(tr, tr), y[tr])
    assert pre.n_iter_ == named.n_iter_ and pre.precomputed_
    np.testing.assert_allclose(pre.decision_function(K.take_pairwise(te, tr)),
                               named.decision_function(B.take(te)), rtol=1e-6, atol=1e-6)
    # the expansion over training instances reproduces the scores
    rows = K.take_pairwise(te, tr).instances
    np.testing.assert_allclose(
        rows[:, pre.support_] @ pre.dual_coef_ + pre.intercept_ - pre.threshold_,
        np.concatenate(pre.decision_function_instances(K.take_pairwise(te, tr))),
    )
    assert pre.support_vectors_.shape == (0, K.take_pairwise(tr, tr).n_features)


@pytest.mark.parametrize("kw", [
    {"max_iter": 1},  # the final SVM is the one on the mean witnesses
    {"n_init": 3, "random_state": 3},  # random convex combinations
    # the group SMO stops within tol of the optimum; tight, so both paths meet there
    {"negative_slack": "bag", "max_iter": 1, "tol": 1e-10},
])
def test_MISVM_precomputed_combinations_equal_linear(kw, data):
    B, K = _kernel_bags(data, "linear")
    y = data[1]
    tr, te = np.arange(45), np.arange(45, 60)
    named = _fit(MISVM(kernel="linear", C=1.0, solver="libsvm", **kw), B.take(tr), y[tr])
    pre = _fit(MISVM(kernel="precomputed", C=1.0, **kw), K.take_pairwise(tr, tr), y[tr])
    np.testing.assert_allclose(pre.decision_function(K.take_pairwise(te, tr)),
                               named.decision_function(B.take(te)), atol=1e-9)
    if "n_init" in kw:
        np.testing.assert_allclose(pre.objectives_, named.objectives_, rtol=1e-9)


def test_MISVM_precomputed_starts_from_feature_space_means(data):
    # with max_iter=1 the model is one SVC on the negative instances and each positive
    # bag's mean in the kernel's feature space, whose kernel values are block means
    B, K = _kernel_bags(data, "rbf")
    y = data[1]
    G = K.instances
    off = B.offsets
    neg = np.concatenate([np.arange(off[b], off[b + 1]) for b in np.flatnonzero(y == 0)])
    pos = [np.arange(off[b], off[b + 1]) for b in np.flatnonzero(y == 1)]
    M = np.array([G[p].mean(axis=0) for p in pos])  # k(mean_a, x) for every instance x
    n_pos = len(pos)
    Kmm = np.array([[M[a][pos[b]].mean() for b in range(n_pos)] for a in range(n_pos)])
    gram = np.block([[G[np.ix_(neg, neg)], M[:, neg].T], [M[:, neg], Kmm]])
    labels = np.r_[-np.ones(neg.size), np.ones(n_pos)]
    svc = SVC(kernel="precomputed", C=1.0, tol=1e-10).fit(gram, labels)
    rows = np.hstack([G[:, neg], M.T])  # every instance against the training points
    expect = svc.decision_function(rows)
    from sklearn.exceptions import ConvergenceWarning

    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        pre = MISVM(kernel="precomputed", C=1.0, max_iter=1, tol=1e-10).fit(K, y)
    np.testing.assert_allclose(np.concatenate(pre.decision_function_instances(K)), expect,
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("max_precomputed", [10**6, 0])
@pytest.mark.parametrize("kw", [{"max_iter": 1}, {"n_init": 3, "random_state": 3}])
def test_MISVM_rbf_starts_from_feature_space_means(max_precomputed, kw, data):
    # the named RBF kernel starts where the precomputed one does, with the instance
    # kernel precomputed or not (extra points exist only through their kernel rows)
    B, K = _kernel_bags(data, "rbf")
    y = data[1]
    tr, te = np.arange(45), np.arange(45, 60)
    kw = dict(kw, C=1.0, tol=1e-10)
    named = _fit(MISVM(kernel="rbf", gamma=0.2, max_precomputed=max_precomputed, **kw),
                 B.take(tr), y[tr])
    pre = _fit(MISVM(kernel="precomputed", **kw), K.take_pairwise(tr, tr), y[tr])
    assert named.feature_start_ and named.precomputed_ == (max_precomputed > 0)
    np.testing.assert_allclose(named.decision_function(B.take(te)),
                               pre.decision_function(K.take_pairwise(te, tr)),
                               rtol=1e-6, atol=1e-6)


def test_MISVM_rbf_witnesses_are_distinctive_not_central():
    # background instances around the origin in every bag; each positive bag holds one
    # witness far out along the first axis. An input-space bag mean lies near the
    # origin, so an RBF SVM fitted on those means would call central instances positive;
    # the feature-space means keep the witness's kernel mass and find it
    rng = np.random.RandomState(0)
    bags, y, wit = [], [], []
    for i in range(40):
        X = rng.normal(size=(12, 8))
        if i % 2:
            X[0, 0] += 6.0
            wit.append(0)
        bags.append(X)
        y.append(i % 2)
    clf = MISVM(kernel="rbf", C=1.0, max_iter=2).fit(bags, np.array(y))
    off = np.cumsum([0] + [len(b) for b in bags])
    chosen = clf.witness_indices_ - off[np.flatnonzero(np.array(y) == 1)]
    assert np.mean(chosen == 0) >= 0.9


def test_MISVM_input_space_start_above_max_qp_size(data):
    # no precomputed instance kernel and a first inner problem above max_qp_size: the
    # input-space means stand in (their rows go to libsvm)
    bags, y, _ = data
    n_inner = sum(len(b) for b, t in zip(bags, y) if t == 0) + int(np.sum(y == 1))
    clf = MISVM(kernel="rbf", C=1.0, max_precomputed=0, max_qp_size=n_inner - 1).fit(bags, y)
    assert not clf.feature_start_ and not clf.precomputed_
    big = MISVM(kernel="rbf", C=1.0, max_precomputed=0, max_qp_size=n_inner).fit(bags, y)
    assert big.feature_start_
    assert not MISVM(kernel="linear", C=1.0).fit(bags, y).feature_start_


def test_precomputed_kernel_input_errors(data):
    B, K = _kernel_bags(data, "linear")
    y = data[1]
    with pytest.raises(ValueError, match="take_pairwise"):
        InstanceMISVM(kernel="precomputed", C=1.0).fit(K.take(np.arange(40)), y[:40])
    with pytest.raises(ValueError, match="liblinear"):
        MISVM(kernel="precomputed", solver="liblinear").fit(K, y)
    clf = InstanceMISVM(kernel="precomputed", C=1.0, threshold=0.0).fit(K, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(B)  # feature vectors instead of kernel rows


@pytest.mark.parametrize("cls", [InstanceMISVM, SIL])
def test_balanced_instances_weights_by_bag_class_instance_counts(cls, data):
    bags, y, _ = data
    kw = dict(C=1.0, threshold=0.0)

    def counts(bags, y):
        return (sum(len(b) for b, t in zip(bags, y) if t == 1),
                sum(len(b) for b, t in zip(bags, y) if t == 0))

    assert cls().get_params()["class_weight"] == "balanced_instances"
    # positive bags with more instances: sklearn's balanced rule on the two bag classes
    big = [np.vstack([b, b]) if t == 1 else b for b, t in zip(bags, y)]
    n_pos, n_neg = counts(big, y)
    assert n_pos > n_neg
    n = n_pos + n_neg
    auto = cls(**kw).fit(big, y)
    explicit = cls(class_weight={1: n / (2 * n_pos), 0: n / (2 * n_neg)}, **kw).fit(big, y)
    np.testing.assert_allclose(auto.decision_function(big), explicit.decision_function(big))
    # negative bags with at least as many instances: every instance weighs 1
    small = [b[:1] if t == 1 else b for b, t in zip(bags, y)]
    n_pos, n_neg = counts(small, y)
    assert n_pos <= n_neg
    np.testing.assert_allclose(cls(**kw).fit(small, y).decision_function(small),
                               cls(class_weight=None, **kw).fit(small, y).decision_function(small))


def test_miSVM_does_not_collapse_when_most_bags_are_positive():
    # 80% positive bags: unweighted, the first SVM calls nearly every instance of a
    # positive bag positive, no label changes and the run stops on its start
    from skmil.datasets import make_digits_bags

    tr, ytr, _ = make_digits_bags(100, target=7, positive_fraction=0.8, random_state=0)
    te, yte, ite = make_digits_bags(200, target=7, pool="test", positive_fraction=0.8,
                                    random_state=1)
    plain = InstanceMISVM(class_weight=None, C=1.0).fit(tr, ytr)
    in_pos = np.repeat(ytr == 1, [len(b) for b in tr])
    assert plain.n_iter_ <= 3 and np.mean(plain.instance_labels_[in_pos] == 1) > 0.6
    clf = InstanceMISVM(C=1.0).fit(tr, ytr)
    assert roc_auc_score(yte, clf.decision_function(te)) > 0.9
    inst = np.concatenate(clf.decision_function_instances(te))
    assert roc_auc_score(np.concatenate(ite), inst) > 0.95
    assert roc_auc_score(yte, plain.decision_function(te)) < 0.8


def test_SIL_balanced_instances_when_most_bags_are_positive():
    # SIL's positive class is every instance of a positive bag; at 80 % positive bags
    # the unweighted SVC ranks the bags barely better than chance
    from skmil.datasets import make_digits_bags

    tr, ytr, _ = make_digits_bags(100, target=7, positive_fraction=0.8, random_state=0)
    te, yte, _ = make_digits_bags(200, target=7, pool="test", positive_fraction=0.8,
                                  random_state=1)
    plain = roc_auc_score(yte, SIL(class_weight=None).fit(tr, ytr).decision_function(te))
    balanced = roc_auc_score(yte, SIL().fit(tr, ytr).decision_function(te))
    assert balanced > plain + 0.05
