"""EMD, minimal Hausdorff distance, EMD-SVM and Citation-kNN against brute-force references."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.optimize import linprog
from sklearn.svm import SVC

from skmil.bags import check_bags
from skmil.datasets import make_mil_classification
from skmil.distance import EMDSVM, CitationKNN, emd_matrix, min_hausdorff_distances
from skmil.distance.emd import _kmeans_bag_signatures, _psd_repair


def _emd_linprog(A, B, wa, wb, metric="euclidean"):
    """Balanced transport LP solved by HiGHS: the obviously-correct reference."""
    M = np.array([[np.sum((a - b) ** 2) for b in B] for a in A])
    if metric == "euclidean":
        M = np.sqrt(M)
    n, m = M.shape
    A_eq = np.zeros((n + m, n * m))
    for i in range(n):
        A_eq[i, i * m:(i + 1) * m] = 1
    for j in range(m):
        A_eq[n + j, j::m] = 1
    res = linprog(M.ravel(), A_eq=A_eq, b_eq=np.concatenate([wa, wb]), bounds=(0, None),
                  method="highs")
    assert res.status == 0
    return res.fun


@pytest.fixture(scope="module")
def tiny_bags():
    rng = np.random.RandomState(0)
    return [rng.randn(n, 3) for n in (1, 2, 3, 4, 3, 5)]


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean"])
def test_emd_matrix_matches_linprog(tiny_bags, metric):
    D = emd_matrix(tiny_bags, metric=metric)
    for i, A in enumerate(tiny_bags):
        for j, B in enumerate(tiny_bags):
            ref = _emd_linprog(A, B, np.full(len(A), 1 / len(A)), np.full(len(B), 1 / len(B)),
                               metric)
            assert D[i, j] == pytest.approx(ref, rel=1e-6, abs=1e-6)
    np.testing.assert_allclose(D, D.T)
    np.testing.assert_allclose(np.diag(D), 0, atol=1e-6)


def test_emd_matrix_weights_and_cross(tiny_bags):
    rng = np.random.RandomState(1)
    w = [rng.rand(len(b)) + 0.1 for b in tiny_bags]
    X, Y = tiny_bags[:3], tiny_bags[3:]
    D = emd_matrix(X, Y, weights=w[:3], weights_y=w[3:], n_jobs=2)
    for i, A in enumerate(X):
        for j, B in enumerate(Y):
            ref = _emd_linprog(A, B, w[i] / w[i].sum(), w[3 + j] / w[3 + j].sum())
            assert D[i, j] == pytest.approx(ref, rel=1e-6, abs=1e-6)


def test_emd_equal_size_assignment_path():
    # equal-size uniform bags take the assignment shortcut; check it against the LP
    rng = np.random.RandomState(2)
    bags = [rng.randn(4, 2) for _ in range(4)]
    D = emd_matrix(bags)
    w = np.full(4, 0.25)
    for i in range(4):
        for j in range(4):
            assert D[i, j] == pytest.approx(_emd_linprog(bags[i], bags[j], w, w), abs=1e-7)


def test_emd_worked_example():
    # mass 1/2 at 0 and 1/2 at 1 moved onto 0 and 3: cost (0 + 2) / 2
    assert emd_matrix([np.array([[0.0], [1.0]])], [np.array([[0.0], [3.0]])])[0, 0] == 1.0
    # one point against two: every unit of mass travels to both
    assert emd_matrix([np.array([[0.0]])], [np.array([[1.0], [3.0]])])[0, 0] == 2.0


def test_emd_matrix_bad_weights(tiny_bags):
    with pytest.raises(ValueError, match="weights has"):
        emd_matrix(tiny_bags, weights=[np.ones(1)])
    with pytest.raises(ValueError, match=r"weights\[1\]"):
        emd_matrix(tiny_bags, weights=[np.ones(len(b)) for b in tiny_bags[:1]]
                   + [np.ones(7)] + [np.ones(len(b)) for b in tiny_bags[2:]])
    with pytest.raises(ValueError, match="metric"):
        emd_matrix(tiny_bags, metric="cosine")


def test_min_hausdorff_matches_loops(tiny_bags):
    D = min_hausdorff_distances(tiny_bags)
    D2 = min_hausdorff_distances(tiny_bags[:2], tiny_bags)
    for i, A in enumerate(tiny_bags):
        for j, B in enumerate(tiny_bags):
            ref = min(np.sqrt(np.sum((a - b) ** 2)) for a in A for b in B)
            assert D[i, j] == pytest.approx(ref, abs=1e-7)
            if i < 2:
                assert D2[i, j] == pytest.approx(ref, abs=1e-7)


def test_min_hausdorff_many_blocks():
    # more instances than one GEMM block, so several row blocks are exercised
    rng = np.random.RandomState(3)
    bags = [rng.randn(rng.randint(1, 60), 4) for _ in range(40)]
    D = min_hausdorff_distances(bags)
    flat = np.vstack(bags)
    idx = np.repeat(np.arange(40), [len(b) for b in bags])
    full = np.sqrt(((flat[:, None] - flat[None]) ** 2).sum(-1))
    ref = np.array([[full[idx == i][:, idx == j].min() for j in range(40)] for i in range(40)])
    np.testing.assert_allclose(D, ref, atol=1e-6)


def _citation_reference(train, y, test, R, C):
    def dist(A, B):
        return min(np.linalg.norm(a - b) for a in A for b in B)

    n = len(train)
    Dtt = np.array([[dist(a, b) for b in train] for a in train])
    votes = []
    for b in test:
        d = np.array([dist(b, t) for t in train])
        refs = np.argsort(d, kind="stable")[:R]
        p = int(np.sum(y[refs] == 1))
        q = R - p
        for j in range(n):
            others = np.delete(Dtt[j], j)
            # rank of the query among j's neighbours (query included), ties favour it
            rank = 1 + np.sum(others < d[j])
            if rank <= C:
                p += int(y[j] == 1)
                q += int(y[j] == 0)
        votes.append(p - q)
    return np.array(votes, dtype=float)


def test_citation_knn_matches_reference():
    bags, y, _ = make_mil_classification(n_bags=24, n_features=3, bag_size=4, random_state=5)
    train, test = bags[:16], bags[16:]
    for R, C in [(2, 4), (3, 2), (1, 0)]:
        clf = CitationKNN(n_references=R, n_citers=C).fit(train, y[:16])
        ref = _citation_reference(train, y[:16], test, R, C)
        np.testing.assert_allclose(clf.decision_function(test), ref)
        # a tie (0 votes) is negative, as in Wang & Zucker
        np.testing.assert_array_equal(clf.predict(test), (ref > 0).astype(int))


@pytest.mark.parametrize("n_classes", [2, 3])
def test_citation_knn_training_scores_come_from_the_fit(monkeypatch, n_classes):
    import skmil.distance.citation as citation
    from skmil.base import BaseMILClassifier

    # integer coordinates: every squared distance is exact whatever the blocking, so the
    # fit's symmetric distances and a query's recomputed ones agree to the last bit
    rng = np.random.default_rng(3)
    bags = [rng.integers(0, 40, size=(int(rng.integers(1, 6)), 3)).astype(float)
            for _ in range(40)]
    y = np.arange(40) % n_classes
    calls, seen = [], []
    real_min, real_check = citation.min_sqdist_matrix, BaseMILClassifier._check_training_scores

    def counting(*args, **kwargs):
        calls.append(1)
        return real_min(*args, **kwargs)

    def recording(self, fit_bags):
        seen.append(self.__dict__.get("_training_scores"))
        return real_check(self, fit_bags)

    monkeypatch.setattr(citation, "min_sqdist_matrix", counting)
    monkeypatch.setattr(BaseMILClassifier, "_check_training_scores", recording)
    est = CitationKNN().fit(bags, y)
    assert len(calls) == 1  # the check reused the fit's distances
    assert "_training_scores" not in vars(est)
    # the scores the check saw (canonical order) are the model's on its training bags
    np.testing.assert_array_equal(seen[0], est.decision_function(bags)[est._train_order])


def test_citation_knn_bad_params():
    bags, y, _ = make_mil_classification(n_bags=10, random_state=0)
    with pytest.raises(ValueError, match="n_references"):
        CitationKNN(n_references=-1).fit(bags, y)
    with pytest.raises(ValueError, match="both be 0"):
        CitationKNN(n_references=0, n_citers=0).fit(bags, y)


def _canonical(bags, y):
    """The training bags in the order fit sees them (the reference SVC is fit on it)."""
    from skmil._inner_cv import canonical_order

    order = canonical_order(check_bags(bags), np.asarray(y))
    return [bags[i] for i in order], np.asarray(y)[order]


def test_emdsvm_matches_manual_pipeline():
    bags, y, _ = make_mil_classification(n_bags=30, n_features=3, bag_size=4, random_state=1)
    clf = EMDSVM(C=3.0).fit(bags[:20], y[:20])
    train, ytr = _canonical(bags[:20], y[:20])
    D = emd_matrix(train)
    A = D[np.triu_indices(20, 1)].mean()
    assert clf.gamma_ == pytest.approx(1 / A)
    svc = SVC(kernel="precomputed", C=3.0).fit(np.exp(-D / A), ytr)
    Dt = emd_matrix(bags[20:], train)
    np.testing.assert_allclose(clf.decision_function(bags[20:]),
                               svc.decision_function(np.exp(-Dt / A)), rtol=1e-6, atol=1e-8)


def test_psd_repair():
    rng = np.random.RandomState(0)
    Q, _ = np.linalg.qr(rng.randn(5, 5))
    K = (Q * np.array([-0.5, 0.1, 1.0, 2.0, 3.0])) @ Q.T
    with pytest.warns(UserWarning, match="indefinite"):
        same, lam = _psd_repair(K, "none")
    assert lam == pytest.approx(-0.5)
    np.testing.assert_array_equal(same, K)
    clipped, _ = _psd_repair(K, "clip")
    assert np.linalg.eigvalsh(clipped).min() > -1e-10
    shifted, _ = _psd_repair(K, "shift")
    np.testing.assert_allclose(shifted, K + 0.5 * np.eye(5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _psd_repair(np.eye(3), "none")  # PSD: no warning


def test_emdsvm_bad_params():
    bags, y, _ = make_mil_classification(n_bags=10, random_state=0)
    for params, match in [({"psd_fix": "x"}, "psd_fix"), ({"gamma": -1.0}, "'gamma'"),
                          ({"gamma": "auto"}, "'gamma'"), ({"C": "auto"}, "'C'"),
                          ({"ground_metric": "l1"}, "ground_metric")]:
        with pytest.raises(ValueError, match=match):
            EMDSVM(**params).fit(bags, y)


# --- EMD-SVM signatures ---------------------------------------------------------


def _signature_set(points, weights):
    """A signature as a sorted list of (point, weight) rows, for order-free comparison."""
    rows = np.column_stack([points, weights])
    return rows[np.lexsort(rows.T[::-1])]


def _clustered_bags(seed=0, n_bags=12):
    # bags of 3-14 instances around 3 centres, so k-means has real work at k=3
    rng = np.random.RandomState(seed)
    bags = []
    for _ in range(n_bags):
        n = rng.randint(3, 15)
        centres = rng.randn(3, 2) * 4
        bags.append(centres[rng.randint(3, size=n)] + 0.3 * rng.randn(n, 2))
    y = np.arange(n_bags) % 2
    return bags, y


def test_emd_matrix_mixed_uniform_and_weighted_bags():
    # equal-size pairs take the assignment path only when both bags have equal weights
    rng = np.random.RandomState(3)
    bags = [rng.randn(3, 2) for _ in range(4)]
    w = [np.ones(3), np.array([1.0, 2.0, 3.0]), np.full(3, 5.0), np.array([0.0, 1.0, 1.0])]
    D = emd_matrix(bags, weights=w)
    for i in range(4):
        for j in range(4):
            ref = _emd_linprog(bags[i], bags[j], w[i] / w[i].sum(), w[j] / w[j].sum())
            assert D[i, j] == pytest.approx(ref, rel=1e-6, abs=1e-7)


def test_kmeans_signature_is_a_lloyd_fixed_point():
    # clustered bags, and unstructured ones where Lloyd needs several iterations
    rng = np.random.RandomState(0)
    bags = _clustered_bags()[0] + [rng.randn(n, 2) for n in (12, 20, 30, 40)]
    b = check_bags(bags)
    sig, w = _kmeans_bag_signatures(b, 3, 0)
    for i, bag in enumerate(bags):
        C, wi = sig[i], w[sig.offsets[i]:sig.offsets[i + 1]]
        assert C.shape[0] == min(3, len(bag))
        # brute force: nearest centre of every instance
        d2 = np.array([[np.sum((x - c) ** 2) for c in C] for x in bag])
        lab = d2.argmin(axis=1)
        for c in range(C.shape[0]):
            members = bag[lab == c]
            np.testing.assert_allclose(C[c], members.mean(axis=0), atol=1e-12)
            assert wi[c] == pytest.approx(len(members) / len(bag))
        assert wi.sum() == pytest.approx(1.0)


def test_kmeans_signature_recovers_separated_clusters():
    pts = np.array([[0.0, 0.0], [0.2, 0.0], [10.0, 0.0], [10.0, 0.4], [10.2, 0.2],
                    [0.0, 10.0]])
    sig, w = _kmeans_bag_signatures(check_bags([pts]), 3, 0)
    got = _signature_set(sig[0], w)
    ref = _signature_set(np.array([[0.1, 0.0], [30.2 / 3, 0.2], [0.0, 10.0]]),
                         np.array([2, 3, 1]) / 6)
    np.testing.assert_allclose(got, ref, atol=1e-12)


def test_kmeans_signature_small_bags_and_duplicates():
    rng = np.random.RandomState(0)
    small = rng.randn(4, 3)
    dup = np.repeat(rng.randn(2, 3), [5, 3], axis=0)  # 8 rows, 2 distinct points
    sig, w = _kmeans_bag_signatures(check_bags([small, dup]), 4, 0)
    # a bag of at most k instances is its own signature, uniformly weighted
    np.testing.assert_allclose(_signature_set(sig[0], w[:4]),
                               _signature_set(small, np.full(4, 0.25)))
    # fewer distinct instances than k: one point per distinct instance
    np.testing.assert_allclose(_signature_set(sig[1], w[4:]),
                               _signature_set(dup[[0, 5]], np.array([5, 3]) / 8), atol=1e-12)


def test_kmeans_signature_order_batch_and_seed():
    bags, _ = _clustered_bags(1)
    b = check_bags(bags)
    sig, w = _kmeans_bag_signatures(b, 3, 7)
    rng = np.random.RandomState(0)
    shuffled = [bag[rng.permutation(len(bag))] for bag in bags[::-1]]
    sig2, w2 = _kmeans_bag_signatures(check_bags(shuffled), 3, 7)
    again, w3 = _kmeans_bag_signatures(b, 3, 7)
    np.testing.assert_array_equal(sig.instances, again.instances)
    np.testing.assert_array_equal(w, w3)
    for i in range(len(bags)):
        j = len(bags) - 1 - i
        # the same set of instances gives the same signature, wherever the bag sits
        np.testing.assert_array_equal(
            _signature_set(sig[i], w[sig.offsets[i]:sig.offsets[i + 1]]),
            _signature_set(sig2[j], w2[sig2.offsets[j]:sig2.offsets[j + 1]]))
        alone, wa = _kmeans_bag_signatures(check_bags([bags[i]]), 3, 7)
        np.testing.assert_array_equal(alone.instances, sig[i])


def test_emdsvm_kmeans_matches_emd_matrix_and_linprog():
    bags, y = _clustered_bags(2, n_bags=16)
    test = bags[12:]
    clf = EMDSVM(C=2.0, signature="kmeans", n_clusters=3, random_state=0)
    clf.fit(bags[:12], y[:12])
    train, ytr = _canonical(bags[:12], y[:12])
    tsig, tw = _kmeans_bag_signatures(check_bags(train), 3, clf.signature_seed_)
    tw = tsig.split(tw)
    assert tsig.sizes.max() == 3
    # the support bags' signatures are those of the training bags
    ssig = clf.support_signatures_
    for k, i in enumerate(clf.support_):
        alone, _ = _kmeans_bag_signatures(check_bags([bags[i]]), 3, clf.signature_seed_)
        np.testing.assert_array_equal(ssig[k], alone.instances)
    D = emd_matrix(tsig, weights=tw)
    A = D[np.triu_indices(12, 1)].mean()
    assert clf.gamma_ == pytest.approx(1 / A)
    svc = SVC(kernel="precomputed", C=2.0).fit(np.exp(-D / A), ytr)
    qsig, qw = _kmeans_bag_signatures(check_bags(test), 3, clf.signature_seed_)
    qw = qsig.split(qw)
    Dt = emd_matrix(qsig, tsig, weights=qw, weights_y=tw)
    np.testing.assert_allclose(clf.decision_function(test),
                               svc.decision_function(np.exp(-Dt / A)), rtol=1e-6, atol=1e-8)
    # and the signature EMDs against the transport LP (signatures are <= 3 points)
    for i in range(len(test)):
        for j in range(0, 12, 3):
            ref = _emd_linprog(qsig[i], tsig[j], qw[i], tw[j])
            assert Dt[i, j] == pytest.approx(ref, rel=1e-6, abs=1e-7)


def test_emdsvm_kmeans_equals_uniform_when_bags_fit():
    bags, y, _ = make_mil_classification(n_bags=20, n_features=3, bag_size=4, random_state=4)
    uni = EMDSVM().fit(bags, y)
    km = EMDSVM(signature="kmeans", n_clusters=50, random_state=0).fit(bags, y)
    assert km.gamma_ == pytest.approx(uni.gamma_)
    np.testing.assert_allclose(km.decision_function(bags), uni.decision_function(bags),
                               rtol=1e-6, atol=1e-8)


def test_emdsvm_kmeans_deterministic():
    bags, y = _clustered_bags(5, n_bags=14)
    a = EMDSVM(signature="kmeans", n_clusters=3, random_state=3).fit(bags, y)
    b = EMDSVM(signature="kmeans", n_clusters=3, random_state=3).fit(bags, y)
    assert a.signature_seed_ == b.signature_seed_
    np.testing.assert_array_equal(a.support_signatures_.instances,
                                  b.support_signatures_.instances)
    np.testing.assert_array_equal(a.decision_function(bags), b.decision_function(bags))


def test_emdsvm_callable_signature():
    bags, y = _clustered_bags(6, n_bags=12)
    seen = []

    def identity(bag):
        seen.append(bag.flags.writeable)
        return bag, np.ones(len(bag))

    uni = EMDSVM().fit(bags, y)
    cal = EMDSVM(signature=identity).fit(bags, y)
    assert seen and not any(seen)  # the user function gets read-only views
    np.testing.assert_allclose(cal.decision_function(bags), uni.decision_function(bags),
                               rtol=1e-6, atol=1e-8)

    def first_heavy(bag):  # weights 1, 2, ... in instance order, and projected points
        return bag[:, :1] * 2.0, np.arange(1.0, len(bag) + 1)

    clf = EMDSVM(signature=first_heavy).fit(bags[:8], y[:8])
    w = [np.arange(1.0, len(b) + 1) for b in bags]
    pts = [b[:, :1] * 2.0 for b in bags]
    from skmil._inner_cv import canonical_order

    canon = canonical_order(check_bags(bags[:8]), y[:8])
    D = emd_matrix([pts[i] for i in canon], weights=[w[i] for i in canon])
    A = D[np.triu_indices(8, 1)].mean()
    assert clf.gamma_ == pytest.approx(1 / A)
    assert clf.support_signatures_.n_features == 1
    svc = SVC(kernel="precomputed", C=clf.C).fit(np.exp(-D / A), y[:8][canon])
    Dt = emd_matrix(pts[8:], [pts[i] for i in canon], weights=w[8:],
                    weights_y=[w[i] for i in canon])
    np.testing.assert_allclose(clf.decision_function(bags[8:]),
                               svc.decision_function(np.exp(-Dt / A)), rtol=1e-6, atol=1e-8)
    c0 = canon[0]
    ref = _emd_linprog(pts[8], pts[c0], w[8] / w[8].sum(), w[c0] / w[c0].sum())
    assert Dt[0, 0] == pytest.approx(ref, rel=1e-6, abs=1e-7)


def test_emdsvm_bad_signatures():
    bags, y = _clustered_bags(7, n_bags=8)
    for params, match in [
        ({"signature": "clusters"}, "'signature' parameter of EMDSVM"),
        ({"signature": "kmeans", "n_clusters": 0}, "n_clusters"),
        ({"signature": "kmeans", "n_clusters": 2.5}, "n_clusters"),
    ]:
        with pytest.raises(ValueError, match=match):
            EMDSVM(**params).fit(bags, y)

    def bad_at(i, out):
        # a valid signature except for bag number i
        def f(bag):
            if len(calls) == i:
                calls.append(1)
                return out(bag)
            calls.append(1)
            return bag, np.ones(len(bag))
        return f

    cases = [
        (lambda b: b, TypeError, "tuple"),
        (lambda b: (b[0], np.ones(1)), ValueError, "points of shape"),
        (lambda b: (b[:0], np.ones(0)), ValueError, "points of shape"),
        (lambda b: (b[:, :1], np.ones(len(b))), ValueError, "-dimensional points"),
        (lambda b: (b, np.ones(len(b) + 1)), ValueError, "one weight per point"),
        (lambda b: (b, -np.ones(len(b))), ValueError, "invalid weights"),
        (lambda b: (b, np.zeros(len(b))), ValueError, "invalid weights"),
        (lambda b: (b * np.nan, np.ones(len(b))), ValueError, "non-finite points"),
    ]
    # fit calls the function on the bags in canonical order; errors name the user's bag
    from skmil._inner_cv import canonical_order

    b2 = f"bag {int(canonical_order(check_bags(bags), y)[2])}"
    for out, exc, match in cases:
        calls = []
        with pytest.raises(exc, match=f"{match}.*{b2}\\b|{b2}\\b.*{match}"):
            EMDSVM(signature=bad_at(2, out)).fit(bags, y)
    # at predict time the signature space must match the training one

    def shrink_later(bag):
        return (bag if state["fit"] else bag[:, :1]), np.ones(len(bag))

    state = {"fit": True}
    clf = EMDSVM(signature=shrink_later).fit(bags, y)
    state["fit"] = False
    with pytest.raises(ValueError, match="bag 0"):
        clf.predict(bags[:2])


def test_emdsvm_kmeans_is_stable_under_rounding():
    # unclustered bags: k-means has many local optima, so a seeding that depended on the
    # bags' exact values (a content hash) jumped between them on a rounding change
    rng = np.random.RandomState(0)
    bags = [rng.rand(rng.randint(12, 30), 5) for _ in range(24)]
    y = np.arange(24) % 2
    for b, lab in zip(bags, y):
        b[:3] += 0.6 * lab
    clf = EMDSVM(signature="kmeans", n_clusters=4, random_state=0).fit(bags, y)
    ref = clf.decision_function(bags)
    scale = np.ptp(ref)
    nudged = clf.decision_function([b * (1 + 1e-12) for b in bags])
    assert np.max(np.abs(nudged - ref)) < 1e-8 * scale
    rounded = clf.decision_function([b.astype(np.float32).astype(np.float64) for b in bags])
    assert np.max(np.abs(rounded - ref)) < 1e-4 * scale
