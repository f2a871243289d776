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


def _reference(A, B, kernel, gamma, degree, coef0, p, normalize):
    def raw(a, b):
        return sum(_k(x, z, kernel, gamma, degree, coef0) ** p for x in a for z in b)

    K = np.zeros((len(A), len(B)))
    for i, a in enumerate(A):
        for j, b in enumerate(B):
            K[i, j] = raw(a, b)
            if normalize == "averaging":
                K[i, j] /= len(a) * len(b)
            elif normalize == "featurespace":
                K[i, j] /= np.sqrt(raw(a, a) * raw(b, b))
    return K


def _bags(rng, n, d=4):
    return [rng.normal(size=(int(rng.integers(1, 7)), d)) for _ in range(n)]


@pytest.mark.parametrize("normalize", [None, "averaging", "featurespace"])
@pytest.mark.parametrize(
    "kernel, p", [("rbf", 1.0), ("rbf", 2.5), ("linear", 1.0), ("poly", 1.0), ("poly", 2.0)]
)
def test_set_kernel_matches_double_loop(kernel, p, normalize):
    rng = np.random.default_rng(0)
    A, B = _bags(rng, 9), _bags(rng, 5)
    kw = dict(kernel=kernel, gamma=0.3, degree=2, coef0=1.0, p=p, normalize=normalize)
    # a tiny chunk_size forces many row blocks (block boundaries are the tricky part)
    K = set_kernel(A, **kw, chunk_size=7)
    np.testing.assert_allclose(K, _reference(A, A, kernel, 0.3, 2, 1.0, p, normalize),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(K, K.T)
    Kab = set_kernel(B, A, **kw, chunk_size=5)
    np.testing.assert_allclose(Kab, _reference(B, A, kernel, 0.3, 2, 1.0, p, normalize),
                               rtol=1e-10, atol=1e-10)
    # the chunk size must not change the result
    np.testing.assert_allclose(set_kernel(B, A, **kw, chunk_size=10_000), Kab, rtol=1e-12)


def test_set_kernel_gamma_scale_and_errors():
    rng = np.random.default_rng(1)
    A = _bags(rng, 4)
    X = np.vstack(A)
    g = 1.0 / (X.shape[1] * X.var())
    np.testing.assert_allclose(set_kernel(A), set_kernel(A, gamma=g))
    np.testing.assert_allclose(set_kernel(A, gamma="auto"), set_kernel(A, gamma=1 / X.shape[1]))
    with pytest.raises(ValueError, match="normalize"):
        set_kernel(A, normalize="cosine")
    with pytest.raises(ValueError, match="kernel"):
        set_kernel(A, kernel="sigmoid")
    with pytest.raises(ValueError, match="chunk_size"):
        set_kernel(A, chunk_size=0)
    with pytest.raises(ValueError, match="features"):
        set_kernel(A, [np.ones((2, 5))])


def test_mikernel_decision_equals_kernel_expansion():
    bags, y, _ = make_mil_classification(n_bags=30, n_features=4, random_state=0)
    clf = MIKernelSVM(gamma=0.2, C=10.0).fit(bags, y)
    # decision = K(test, support) @ (y * alpha) + b, via the public Gram
    K = set_kernel(bags[:7], [bags[i] for i in clf.support_], gamma=0.2)
    np.testing.assert_allclose(clf.decision_function(bags[:7]), K @ clf.dual_coef_ + clf.intercept_,
                               rtol=1e-9, atol=1e-9)
    # support_ is in the user's numbering: support_bags_ are those training bags
    for i, b in zip(clf.support_, clf.support_bags_):
        np.testing.assert_array_equal(b, bags[i])


@pytest.mark.parametrize("normalize", ["featurespace", "averaging", None])
@pytest.mark.parametrize("kernel, p", [("rbf", 1.0), ("rbf", 2.0), ("poly", 3.0)])
def test_mikernel_instance_contributions_sum_to_the_bag_score(normalize, kernel, p):
    bags, y, _ = make_mil_classification(n_bags=30, n_features=4, random_state=0)
    clf = MIKernelSVM(kernel=kernel, p=p, gamma=0.2, C=10.0, coef0=1.0, degree=2,
                      normalize=normalize).fit(bags, y)
    test = bags[:6]
    contrib = clf.instance_contributions(test)
    scores = clf.decision_function(test)
    np.testing.assert_allclose([c.sum() + clf.intercept_ for c in contrib], scores,
                               rtol=1e-9, atol=1e-9)
    # the witness scores are intercept + |B| c(x): their mean is the bag score ("mean")
    inst = clf.decision_function_instances(test)
    for c, s, b in zip(contrib, inst, test):
        np.testing.assert_allclose(s, clf.intercept_ + len(b) * c, rtol=1e-12, atol=1e-12)
    if normalize == "averaging":
        # ... and, averaged, the scores of the singleton bags {x}
        single = [row[None, :] for b in test for row in b]
        np.testing.assert_allclose(np.concatenate(inst), clf.decision_function(single),
                                   rtol=1e-9, atol=1e-9)


def test_mikernel_tags_declare_the_mean_rule_and_contributions():
    from skmil.base import get_mil_tags

    tags = get_mil_tags(MIKernelSVM())
    assert tags.instance_scores and tags.bag_rule == "mean"
    assert tags.instance_outputs == ("instance_contributions",)


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


def _refit_scores(est, bags, y, candidates, random_state=None):
    """Mean inner-CV accuracy of each candidate by full fits of clones (the reference)."""
    from skmil._inner_cv import inner_cv_splits, search_refit
    from skmil.bags import check_bags

    B = check_bags(bags)
    splits = inner_cv_splits(B, y, random_state)
    return search_refit(est, B, y, candidates, splits)[0]["mean_test_score"]


def test_mikernel_c_cv_scores_like_refits_on_the_same_folds():
    from skmil._inner_cv import C_GRID

    bags, y, _ = make_mil_classification(n_bags=40, n_features=4, random_state=1)
    clf = MIKernelSVM().fit(bags, y)
    res = clf.cv_results_
    assert [p["C"] for p in res["params"]] == list(C_GRID)
    # slices of one Gram matrix score every C as full fits of clones on the same folds
    ref = _refit_scores(MIKernelSVM(gamma=clf.gamma_), bags, y, [{"C": c} for c in C_GRID])
    np.testing.assert_allclose(res["mean_test_score"], ref)
    # the choice: the best mean score, ties to the smaller C
    best = int(np.flatnonzero(np.isclose(ref, ref.max()))[0])
    assert clf.C_ == C_GRID[best] and res["rank_test_score"][best] == 1
    fixed = MIKernelSVM(C=clf.C_).fit(bags, y)
    np.testing.assert_allclose(fixed.decision_function(bags), clf.decision_function(bags))
    with pytest.raises(ValueError, match="C"):
        MIKernelSVM(C="auto").fit(bags, y)


def test_mikernel_gamma_cv_picks_gamma_and_C_jointly():
    from skmil._inner_cv import C_GRID
    from skmil.svm.nsk import GAMMA_CV_GRID

    bags, y, _ = make_mil_classification(n_bags=40, n_features=4, random_state=1)
    clf = MIKernelSVM(gamma="cv", random_state=3).fit(bags, y)
    res = clf.cv_results_
    assert len(res["params"]) == len(GAMMA_CV_GRID) * len(C_GRID)
    base = MIKernelSVM(C=1.0, gamma="scale").fit(bags, y).gamma_
    cands = [{"gamma": base * f, "C": c} for f in GAMMA_CV_GRID for c in C_GRID]
    np.testing.assert_allclose([p["gamma"] for p in res["params"]], [c["gamma"] for c in cands])
    ref = _refit_scores(MIKernelSVM(), bags, y, cands, random_state=3)
    np.testing.assert_allclose(res["mean_test_score"], ref)
    best = cands[int(np.flatnonzero(np.isclose(ref, ref.max()))[0])]
    assert np.isclose(clf.gamma_, best["gamma"]) and clf.C_ == best["C"]
    fixed = MIKernelSVM(gamma=clf.gamma_, C=clf.C_).fit(bags, y)
    np.testing.assert_allclose(fixed.decision_function(bags), clf.decision_function(bags))
    # the linear kernel has no gamma: "cv" selects C only
    lin = MIKernelSVM(kernel="linear", gamma="cv").fit(bags, y)
    assert [p for p in lin.cv_results_["params"]] == [{"C": c} for c in C_GRID]
    # fixed C and gamma: no search, no cv_results_
    assert not hasattr(MIKernelSVM(C=1.0).fit(bags, y), "cv_results_")


def test_bag_kernel_c_cv_falls_back_without_inner_split():
    from skmil.svm._bag_kernel import C_FALLBACK

    rng = np.random.default_rng(0)
    bags = [rng.normal(size=(3, 2)) for _ in range(6)]
    y = np.array([0, 0, 0, 0, 0, 1])  # one positive bag: no stratified split
    clf = MIKernelSVM().fit(bags, y)
    assert clf.C_ == C_FALLBACK and not hasattr(clf, "cv_results_")


@pytest.mark.parametrize("class_weight", [None, "balanced", {0: 3.0, 1: 1.0}])
def test_mikernel_is_the_svc_on_the_set_kernel(class_weight):
    # the bag SVM goes to libsvm's binding directly; it must be SVC's model
    from sklearn.svm import SVC

    bags, y, _ = make_mil_classification(n_bags=40, n_features=4, random_state=2)
    clf = MIKernelSVM(gamma=0.2, C=3.0, class_weight=class_weight).fit(bags, y)
    # fit sees the bags in the canonical order: the same libsvm problem is SVC's on it
    from skmil._inner_cv import canonical_order
    from skmil.bags import check_bags

    canon = canonical_order(check_bags(bags), y)
    K = set_kernel([bags[i] for i in canon], gamma=0.2)
    svc = SVC(kernel="precomputed", C=3.0, class_weight=class_weight).fit(K, y[canon])
    user = canon[svc.support_]
    order = np.argsort(user)
    np.testing.assert_array_equal(clf.support_, user[order])
    np.testing.assert_allclose(clf.dual_coef_, svc.dual_coef_[0][order], rtol=1e-12,
                               atol=1e-12)
    Kte = set_kernel(bags[:9], [bags[i] for i in canon], gamma=0.2)
    np.testing.assert_allclose(clf.decision_function(bags[:9]), svc.decision_function(Kte),
                               rtol=1e-9, atol=1e-9)
