"""EMD, minimal Hausdorff distance, EMD-SVM and Citation-kNN against brute-force references."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.optimize import linprog
from sklearn.svm import SVC

from skmil.datasets import make_mil_classification
from skmil.distance import EMDSVM, CitationKNN, emd_matrix, min_hausdorff_distances
from skmil.distance.emd import _psd_repair


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


def test_citation_knn_bad_params():
    bags, y, _ = make_mil_classification(n_bags=10, random_state=0)
    with pytest.raises(ValueError, match="n_references"):
        CitationKNN(n_references=-1).fit(bags, y)
    with pytest.raises(ValueError, match="both be 0"):
        CitationKNN(n_references=0, n_citers=0).fit(bags, y)


def test_emdsvm_matches_manual_pipeline():
    bags, y, _ = make_mil_classification(n_bags=30, n_features=3, bag_size=4, random_state=1)
    clf = EMDSVM(C=3.0).fit(bags[:20], y[:20])
    D = emd_matrix(bags[:20])
    A = D[np.triu_indices(20, 1)].mean()
    assert clf.A_ == pytest.approx(A)
    svc = SVC(kernel="precomputed", C=3.0).fit(np.exp(-D / A), y[:20])
    Dt = emd_matrix(bags[20:], bags[:20])
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
    for params, match in [({"psd_fix": "x"}, "psd_fix"), ({"A": -1.0}, "A must"),
                          ({"ground_metric": "l1"}, "ground_metric")]:
        with pytest.raises(ValueError, match=match):
            EMDSVM(**params).fit(bags, y)
