"""mi-Graph / MI-Graph kernels against double-loop references."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.svm import SVC

from skmil._kernels.bagpairs import weighted_set_kernel, weighted_set_kernel_diag
from skmil._kernels.graph import (
    METRIC_CODES,
    edge_kernel_sums,
    graph_structure,
)
from skmil.bags import check_bags
from skmil.graph import MIGraph, MIGraphExplicit


def _dist(a, b, metric, gamma):
    sq = float(np.sum((a - b) ** 2))
    return {"sqeuclidean": sq, "euclidean": np.sqrt(sq),
            "gaussian": 1.0 - np.exp(-gamma * sq)}[metric]


def _graph_ref(bag, metric, gamma):
    """Adjacency (without self-loops) of the epsilon-graph by loops."""
    n = len(bag)
    D = np.array([[_dist(bag[a], bag[u], metric, gamma) for u in range(n)] for a in range(n)])
    delta = D.sum() / (n * n)
    adj = (D < delta) & ~np.eye(n, dtype=bool)
    return D, adj


def _migraph_kernel_ref(A, B, gamma, metric, normalization):
    def weights(bag):
        _, adj = _graph_ref(bag, metric, gamma)
        return 1.0 / (1.0 + adj.sum(axis=1))

    wA = [weights(P) for P in A]
    wB = [weights(Q) for Q in B]

    def raw(P, wp, Q, wq):
        return sum(wp[a] * wq[b] * np.exp(-gamma * np.sum((P[a] - Q[b]) ** 2))
                   for a in range(len(P)) for b in range(len(Q)))

    K = np.array([[raw(P, wp, Q, wq) for Q, wq in zip(B, wB)] for P, wp in zip(A, wA)])
    if normalization == "cosine":
        da = np.array([raw(P, wp, P, wp) for P, wp in zip(A, wA)])
        db = np.array([raw(Q, wq, Q, wq) for Q, wq in zip(B, wB)])
        return K / np.sqrt(np.outer(da, db))
    sa = np.array([w.sum() for w in wA])
    sb = np.array([w.sum() for w in wB])
    if normalization == "paper":
        return K / np.outer(sa, sb)
    if normalization == "code":
        return K / np.sqrt(np.outer(sa, sb))
    return K


@pytest.fixture(scope="module")
def data(mil_problem):
    bags, y, _ = mil_problem(n_bags=12, n_features=3, bag_size=4, random_state=4)
    return bags, y


def test_weighted_set_kernel_matches_double_loop():
    rng = np.random.RandomState(0)
    bags = [rng.randn(rng.randint(1, 30), 4) for _ in range(30)]
    b = check_bags(bags)
    w = rng.rand(b.n_instances) + 0.05
    ws = b.split(w)
    K = weighted_set_kernel(b.instances, b.offsets, w, 0.3, block_size=40)
    ref = np.array([[np.sum(np.outer(ws[i], ws[j]) * np.exp(
        -0.3 * ((bags[i][:, None] - bags[j][None]) ** 2).sum(-1))) for j in range(30)]
        for i in range(30)])
    np.testing.assert_allclose(K, ref, rtol=1e-10)
    np.testing.assert_allclose(weighted_set_kernel_diag(b.instances, b.offsets, w, 0.3, 40),
                               np.diag(ref), rtol=1e-10)
    b2 = check_bags(bags[:7])
    K2 = weighted_set_kernel(b2.instances, b2.offsets, None, 0.3, b.instances, b.offsets, w)
    ref2 = np.array([[np.sum(ws[j][None, :] * np.exp(
        -0.3 * ((bags[i][:, None] - bags[j][None]) ** 2).sum(-1))) for j in range(30)]
        for i in range(7)])
    np.testing.assert_allclose(K2, ref2, rtol=1e-10)


def _canonical(bags, y):
    """The training bags in the order fit sees them (the reference SVC is fit on it)."""
    from skmil._inner_cv import canonical_order

    order = canonical_order(check_bags(bags), np.asarray(y))
    return [bags[i] for i in order], np.asarray(y)[order]


@pytest.mark.parametrize("normalize, metric", [
    ("cosine", "sqeuclidean"), ("paper", "sqeuclidean"), ("code", "sqeuclidean"),
    (None, "sqeuclidean"), ("cosine", "euclidean"), ("cosine", "gaussian")])
def test_migraph_matches_reference_svm(data, normalize, metric):
    bags, y = data
    test = bags[8:]
    train, ytr = _canonical(bags[:8], y[:8])
    clf = MIGraph(C=2.0, gamma=0.4, normalize=normalize, edge_metric=metric)
    clf.fit(bags[:8], y[:8])
    normalization = "none" if normalize is None else normalize
    Ktr = _migraph_kernel_ref(train, train, 0.4, metric, normalization)
    Kte = _migraph_kernel_ref(test, train, 0.4, metric, normalization)
    np.testing.assert_allclose(clf._train_gram(check_bags(train))[0], Ktr, rtol=1e-10,
                               atol=1e-12)
    svc = SVC(kernel="precomputed", C=2.0).fit(Ktr, ytr)
    # kernels equal to rounding can steer libsvm's SMO to another point within its tol
    np.testing.assert_allclose(clf.decision_function(test), svc.decision_function(Kte),
                               rtol=0, atol=1e-3)


def test_migraph_clique_weights_worked_example():
    # two tight pairs far apart: each instance has one neighbour, so weight 1/2;
    # the isolated bag of one instance keeps its self-loop: weight 1
    bag = np.array([[0.0, 0.0], [0.1, 0.0], [10.0, 0.0], [10.1, 0.0]])
    single = np.array([[3.0, 3.0]])
    bags = check_bags([bag, single, bag + 1, single + 1])
    clf = MIGraph(gamma=1.0, C=10.0).fit(bags, [1, 0, 1, 0])
    np.testing.assert_allclose(clf._weights(bags), [0.5] * 4 + [1.0] + [0.5] * 4 + [1.0])


def test_paper_and_code_variants_agree_under_cosine(data):
    # any normalisation S_ij / (c_i c_j) cancels under cosine normalisation
    bags, y = data
    Kp = _migraph_kernel_ref(bags, bags, 0.4, "sqeuclidean", "paper")
    Kc = _migraph_kernel_ref(bags, bags, 0.4, "sqeuclidean", "code")
    cos = _migraph_kernel_ref(bags, bags, 0.4, "sqeuclidean", "cosine")
    for K in (Kp, Kc):
        d = np.sqrt(np.diag(K))
        np.testing.assert_allclose(K / np.outer(d, d), cos, rtol=1e-10)


def _explicit_kernel_ref(A, B, gn, ge, metric):
    def edges(bag):
        D, adj = _graph_ref(bag, metric, gn)
        n_edges = adj.sum()
        W = np.where(adj, 1.0 / (D + 1e-12 * (D.sum() / len(bag) ** 2) + 1e-300), 0.0)
        deg, ws = adj.sum(1), W.sum(1)
        return np.array([[deg[a] / n_edges, ws[a] / W.sum(), deg[u] / n_edges, ws[u] / W.sum()]
                         for a in range(len(bag)) for u in range(len(bag)) if adj[a, u]])

    def k(P, Q):
        node = sum(np.exp(-gn * np.sum((p - q) ** 2)) for p in P for q in Q)
        EP, EQ = edges(P), edges(Q)
        edge = sum(np.exp(-ge * np.sum((e - f) ** 2)) for e in EP for f in EQ)
        return node + edge

    K = np.array([[k(P, Q) for Q in B] for P in A])
    da = np.array([k(P, P) for P in A])
    db = np.array([k(Q, Q) for Q in B])
    return K / np.sqrt(np.outer(da, db))


def test_migraph_explicit_matches_reference(data):
    bags, y = data
    test = bags[8:]
    train, ytr = _canonical(bags[:8], y[:8])
    clf = MIGraphExplicit(C=1.0, gamma_node=0.4, gamma_edge=3.0).fit(bags[:8], y[:8])
    Ktr = _explicit_kernel_ref(train, train, 0.4, 3.0, "sqeuclidean")
    Kte = _explicit_kernel_ref(test, train, 0.4, 3.0, "sqeuclidean")
    svc = SVC(kernel="precomputed", C=1.0).fit(Ktr, ytr)
    np.testing.assert_allclose(clf.decision_function(test), svc.decision_function(Kte),
                               rtol=1e-6, atol=1e-8)


def graph_edges(X, offsets, metric, gamma):
    """Explicit directed edge features ``[d_u, p_u, d_v, p_v]`` of every bag's graph.

    MI-Graph's edge kernel never builds these (``edge_kernel_sums`` works on the node
    statistics); they define it, so the tests compare against sums over them.
    Returns ``(feats, edge_offsets)``.
    """
    stats, src, dst, eo = graph_structure(X, offsets, metric, gamma)
    base = np.repeat(np.asarray(offsets[:-1], dtype=np.int64), np.diff(eo))
    return np.hstack([stats[base + src], stats[base + dst]]), eo


@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean", "gaussian"])
def test_edge_kernel_sums_equal_edge_pair_sums(metric):
    # the factorised sums against the explicit sum over every pair of edge features,
    # with singleton bags and bags of identical instances (no edges) among them
    rng = np.random.RandomState(1)
    sizes = [1, 7, 3, 15, 1, 4, 22, 2]
    bags = [rng.randn(n, 3) for n in sizes] + [np.ones((5, 3))]
    other = [rng.randn(n, 3) for n in (9, 1, 6, 13)]
    A, B = check_bags(bags), check_bags(other)
    code = METRIC_CODES[metric]

    def graph(b):
        stats, src, dst, eo = graph_structure(b.instances, b.offsets, code, 0.3)
        return stats, b.offsets, src, dst, eo

    FA, eoA = graph_edges(A.instances, A.offsets, code, 0.3)
    FB, eoB = graph_edges(B.instances, B.offsets, code, 0.3)
    assert np.diff(eoA)[[0, 4, 8]].tolist() == [0, 0, 0]

    def pairs(F, eo, G, fo):
        return np.array([[np.exp(-0.8 * ((F[eo[i]:eo[i + 1], None] - G[None, fo[j]:fo[j + 1]])
                                        ** 2).sum(-1)).sum()
                          for j in range(len(fo) - 1)] for i in range(len(eo) - 1)])

    ref = pairs(FA, eoA, FA, eoA)
    K = edge_kernel_sums(graph(A), 0.8)
    np.testing.assert_allclose(K, ref, rtol=1e-12, atol=1e-12)
    assert np.array_equal(K, K.T)
    np.testing.assert_allclose(edge_kernel_sums(graph(A), 0.8, graph(B)),
                               pairs(FA, eoA, FB, eoB), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(edge_kernel_sums(graph(A), 0.8, diagonal=True), np.diag(ref),
                               rtol=1e-12, atol=1e-12)


def test_migraph_explicit_bags_without_edges():
    # singleton bags have no edges; the kernel falls back to the node term
    rng = np.random.RandomState(0)
    bags = [rng.randn(1, 2) + (3 if i % 2 else 0) for i in range(10)]
    y = np.arange(10) % 2
    clf = MIGraphExplicit().fit(bags, y)
    assert clf.score(bags, y) == 1.0


def test_graph_bad_params(data):
    bags, y = data
    for est, match in [(MIGraph(gamma="x"), "gamma"), (MIGraph(gamma="1/d"), "gamma"),
                       (MIGraph(normalize="l2"), "normalize"),
                       (MIGraph(edge_metric="l1"), "edge_metric"),
                       (MIGraphExplicit(C=-1), "'C' parameter of MIGraphExplicit"),
                       (MIGraphExplicit(normalize=True), "normalize")]:
        with pytest.raises(ValueError, match=match):
            est.fit(bags, y)


def test_migraph_gamma_meanings(data):
    bags, y = data
    X = np.vstack(bags)
    d = X.shape[1]
    assert np.isclose(MIGraph(C=1.0).fit(bags, y).gamma_, 1 / d)
    assert np.isclose(MIGraph(C=1.0, gamma="scale").fit(bags, y).gamma_, 1 / (d * X.var()))
    ex = MIGraphExplicit(C=1.0).fit(bags, y)
    assert np.isclose(ex.gamma_node_, 1 / d) and ex.gamma_edge_ == 0.25


def test_migraph_cv_selects_from_grids_and_refits(data):
    from skmil._inner_cv import C_GRID
    from skmil.graph.migraph import GAMMA_GRID

    bags, y = data
    auto = MIGraph(gamma="cv").fit(bags, y)
    d = bags[0].shape[1]
    assert auto.C_ in C_GRID
    assert any(np.isclose(auto.gamma_, g / d) for g in GAMMA_GRID)
    params = auto.cv_results_["params"]
    assert len(params) == len(GAMMA_GRID) * len(C_GRID) and set(params[0]) == {"gamma", "C"}
    fixed = MIGraph(C=auto.C_, gamma=auto.gamma_).fit(bags, y)
    np.testing.assert_allclose(auto.decision_function(bags), fixed.decision_function(bags),
                               rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("est", [MIGraph(C=1.0), MIGraphExplicit(C=1.0)])
def test_graph_n_jobs_bounds_numba_threads(data, est, monkeypatch):
    # the numba loops run under numba_threads(n_jobs), and the result does not depend on it
    import skmil.graph.migraph as mod

    seen = []
    real = mod.numba_threads

    def spy(n_jobs):
        seen.append(n_jobs)
        return real(n_jobs)

    bags, y = data
    ref = est.fit(bags, y).decision_function(bags)
    monkeypatch.setattr(mod, "numba_threads", spy)
    est.set_params(n_jobs=2)
    np.testing.assert_allclose(est.fit(bags, y).decision_function(bags), ref, rtol=1e-12)
    assert seen and set(seen) == {2}
