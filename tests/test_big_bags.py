"""Bags larger than every block: results equal the whole-bag computations, memory stays linear.

The bag-pair kernels (:mod:`skmil._kernels.bagpairs`), the MInD dissimilarities, the EMD's
ground costs, mi-Graph's clique weights and the deep heads' padded batches each have a
path for a bag larger than their block; these tests make the blocks small, so the pieces
paths run on small data, and compare them with the whole-bag results. The last test fits
every registered estimator on bags with one bag larger than every default block size, with
numpy's allocations traced: the peak stays far below the ``n x n`` block that a quadratic
step would allocate.
"""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest
from sklearn.base import is_regressor

import skmil._kernels.emd as emd_module
import skmil._kernels.graph as graph_module
from skmil._kernels.bagpairs import (
    blocked_set_kernel,
    blocked_set_kernel_diag,
    instance_blocks,
    min_sqdist_matrix,
)
from skmil.datasets import make_mil_classification
from skmil.embedding.mind import METRICS, bag_dissimilarities
from skmil.utils import all_estimators

SIZES = [3, 700, 5, 1, 300, 9]
SIZES_Y = [2, 400, 7, 90]


def _bags(sizes, seed):
    offsets = np.r_[0, np.cumsum(sizes)]
    return np.random.default_rng(seed).normal(size=(offsets[-1], 4)), offsets


def _pairs(X, off, Y, off_y, reduce):
    return np.array([[reduce(X[off[i]:off[i + 1]], Y[off_y[j]:off_y[j + 1]])
                      for j in range(len(off_y) - 1)] for i in range(len(off) - 1)])


def _sqdist(A, B):
    return ((A[:, None, :] - B[None, :, :]) ** 2).sum(-1)


@pytest.mark.parametrize("block", [1, 7, 64, 5000])
def test_instance_blocks_cover_every_instance_once(block):
    _, off = _bags(SIZES, 0)
    seen = np.zeros(off[-1], dtype=int)
    for r0, r1, b0, b1, seg in instance_blocks(off, block):
        assert r1 - r0 <= max(block, 1) or (b1 - b0 == 1 and r1 - r0 <= block)
        assert seg[0] == 0 and seg[-1] == r1 - r0 and np.all(np.diff(seg) > 0)
        for k, b in enumerate(range(b0, b1)):
            rows = np.arange(r0 + seg[k], r0 + seg[k + 1])
            assert np.all((rows >= off[b]) & (rows < off[b + 1]))
            seen[rows] += 1
    assert np.all(seen == 1)


@pytest.mark.parametrize("kernel", ["rbf", "poly"])
@pytest.mark.parametrize("block_size, col_size", [(16, 37), (64, 100)])
def test_set_kernel_in_pieces_equals_the_pair_sums(kernel, block_size, col_size):
    X, off = _bags(SIZES, 0)
    Y, off_y = _bags(SIZES_Y, 1)
    kw = {"kernel": kernel, "gamma": 0.3, "coef0": 1.0, "degree": 3}

    def k_set(A, B):
        if kernel == "rbf":
            return np.exp(-0.3 * _sqdist(A, B)).sum()
        return ((0.3 * A @ B.T + 1.0) ** 3).sum()

    gram = _pairs(X, off, X, off, k_set)
    np.testing.assert_allclose(
        blocked_set_kernel(X, off, block_size=block_size, col_size=col_size, **kw),
        gram, rtol=1e-10)
    np.testing.assert_allclose(
        blocked_set_kernel(X, off, Y, off_y, block_size=block_size, col_size=col_size, **kw),
        _pairs(X, off, Y, off_y, k_set), rtol=1e-10)
    np.testing.assert_allclose(blocked_set_kernel_diag(X, off, block_size=block_size, **kw),
                               np.diag(gram), rtol=1e-10)


def test_weighted_set_kernel_in_pieces():
    X, off = _bags(SIZES, 2)
    w = np.random.default_rng(3).uniform(0.1, 1.0, size=X.shape[0])
    whole = blocked_set_kernel(X, off, gamma=0.2, weights=w, block_size=10_000,
                               col_size=10_000)
    pieces = blocked_set_kernel(X, off, gamma=0.2, weights=w, block_size=32, col_size=50)
    np.testing.assert_allclose(pieces, whole, rtol=1e-10)


@pytest.mark.parametrize("block_size, col_size", [(16, 37), (64, 100)])
def test_min_sqdist_in_pieces(block_size, col_size):
    X, off = _bags(SIZES, 0)
    Y, off_y = _bags(SIZES_Y, 1)

    def nearest(A, B):
        return _sqdist(A, B).min()

    ref = _pairs(X, off, X, off, nearest)
    np.fill_diagonal(ref, 0.0)
    np.testing.assert_allclose(min_sqdist_matrix(X, off, block_size=block_size,
                                                 col_size=col_size), ref, atol=1e-10)
    np.testing.assert_allclose(min_sqdist_matrix(X, off, Y, off_y, block_size=block_size,
                                                 col_size=col_size),
                               _pairs(X, off, Y, off_y, nearest), atol=1e-10)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("squared", [True, False])
def test_bag_dissimilarities_in_pieces(metric, squared):
    X, off = _bags(SIZES, 0)
    P, p_off = _bags(SIZES_Y, 1)
    for A, a_off, B, b_off in ((X, off, P, p_off), (P, p_off, X, off), (X, off, X, off)):
        whole = bag_dissimilarities(A, a_off, B, b_off, metric=metric, squared=squared,
                                    chunk_size=100_000)
        for chunk in (37, 64):
            pieces = bag_dissimilarities(A, a_off, B, b_off, metric=metric, squared=squared,
                                         chunk_size=chunk)
            np.testing.assert_allclose(pieces, whole, rtol=1e-10, atol=1e-12)
    # and the definitions themselves, on the whole-bag path
    d = _sqdist if squared else (lambda a, b: np.sqrt(_sqdist(a, b)))
    ref = {
        "meanmin": lambda a, b: d(a, b).min(1).mean(),
        "minmin": lambda a, b: d(a, b).min(),
        "meanmean": lambda a, b: d(a, b).mean(),
        "hausdorff": lambda a, b: max(d(a, b).min(1).max(), d(a, b).min(0).max()),
    }[metric]
    np.testing.assert_allclose(
        bag_dissimilarities(X, off, P, p_off, metric=metric, squared=squared, chunk_size=37),
        _pairs(X, off, P, p_off, ref), rtol=1e-10, atol=1e-12)


def test_emd_ground_costs_in_tiles(monkeypatch):
    X, off = _bags([3, 40, 5, 12], 0)
    Y, off_y = _bags([6, 2, 30], 1)
    wx = np.concatenate([np.full(n, 1.0 / n) for n in np.diff(off)])
    wy = np.concatenate([np.full(n, 1.0 / n) for n in np.diff(off_y)])
    pairs = np.array([(i, j) for i in range(4) for j in range(3)])[::-1]
    whole = emd_module.emd_pairs(X, off, wx, Y, off_y, wy, pairs)
    monkeypatch.setattr(emd_module, "MAX_BLOCK_CELLS", 50)  # one column bag per tile
    tiled = emd_module.emd_pairs(X, off, wx, Y, off_y, wy, pairs, block_size=8)
    np.testing.assert_allclose(tiled, whole, rtol=1e-12)
    assert np.all(whole > 0)


@pytest.mark.parametrize("metric", [0, 1, 2])
def test_streamed_clique_weights_equal_the_dense_ones(metric, monkeypatch):
    X, off = _bags(SIZES, 0)
    dense_w, dense_counts = graph_module._graphs(X, off, metric, 0.5)
    monkeypatch.setattr(graph_module, "DENSE_GRAPH_MAX", 100)  # bags of 700 and 300 stream
    w, counts = graph_module._graphs(X, off, metric, 0.5)
    np.testing.assert_array_equal(w, dense_w)
    np.testing.assert_array_equal(counts, dense_counts)
    assert counts[1] > 0


def test_emd_refuses_a_pair_too_large_for_its_cost_matrix(monkeypatch):
    X, off = _bags([3, 40, 50], 0)
    w = np.concatenate([np.full(n, 1.0 / n) for n in np.diff(off)])
    monkeypatch.setattr(emd_module, "MAX_PAIR_CELLS", 1000)
    emd_module.emd_pairs(X, off, w, X, off, w, [(0, 1), (0, 2)])  # 120 and 150 cells
    with pytest.raises(ValueError, match="a bag of 40 and a bag of 50 instances.*kmeans"):
        emd_module.emd_pairs(X, off, w, X, off, w, [(0, 1), (1, 2)])


def test_explicit_graph_refuses_a_bag_over_its_limit(monkeypatch):
    from skmil.graph import MIGraphExplicit

    bags, y = make_mil_classification(20, n_features=3, bag_size=10,
                                      bag_size_distribution="fixed", random_state=0)[:2]
    monkeypatch.setattr(graph_module, "DENSE_GRAPH_MAX", 12)
    bags[0] = np.vstack([bags[0]] * 3)
    with pytest.raises(ValueError, match="a bag has 30 instances.*MIGraph"):
        MIGraphExplicit().fit(bags, y)


def test_deep_batch_split_by_size_keeps_loss_and_gradients():
    torch = pytest.importorskip("torch")
    import skmil.deep._train as train
    from skmil.bags import check_bags
    from skmil.deep import AttentionMIL, MINet

    bags, y = make_mil_classification(16, n_features=4, bag_size=6, random_state=0)[:2]
    bags[3] = np.vstack([bags[3]] * 2000)  # 12,000 rows among bags of about 6
    data = check_bags(bags)
    X = torch.as_tensor(data.instances, dtype=torch.float32)
    idx = np.arange(16)
    assert train.size_groups(np.diff(data.offsets)) is not None
    y_t = torch.as_tensor(np.asarray(y, dtype=np.float32))
    for cls in (AttentionMIL, MINet):
        net = cls(max_epochs=1, random_state=0, dropout=0.0).fit(bags[:4], y[:4]).network_
        results = []
        for cells in (1 << 40, train.PADDING_CELLS):  # one padded batch, then split
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(train, "PADDING_CELLS", cells)
                for p in net.parameters():
                    p.grad = None
                out, (bag_pos, inst_pos) = train.forward_batch(net, X, data.offsets, idx)
                loss = train.batch_loss(out, y_t, torch.ones(16))
                loss.backward()
                inst = next(iter(out["instance"].values()), None)
                results.append((float(loss.detach()), [p.grad.clone() for p in net.parameters()],
                                None if inst is None else inst[bag_pos, inst_pos].detach()))
        (l1, g1, i1), (l2, g2, i2) = results
        assert l2 == pytest.approx(l1, rel=1e-6)
        for a, b in zip(g1, g2):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
        if i1 is not None:
            torch.testing.assert_close(i1, i2, rtol=1e-5, atol=1e-6)


# A bag above every block of the library's defaults: the set kernels' 512 x 2048 tiles,
# MInD's 2048 chunks, MILES's 8192 rows, mi-Graph's dense limit (4096), the deep heads'
# padding limit.
BIG = 10_000
#: Traced numpy memory a fit + predict may peak at: half the 763 MiB of one BIG x BIG
#: float64 block, above the block-sized buffers the kernels hold (MILES's distance
#: blocks of 8192 x 2048 and their GEMM output, 256 MiB, are the largest).
PEAK_BYTES = 400 * 2**20
#: Fast settings (small codebooks, few epochs), as in the contract suite.
FAST = {"EMDSVM": {"signature": "kmeans"}, "MIForest": {"n_estimators": 10},
        "DiverseDensity": {"n_init": 2, "max_fun": 50}, "EMDD": {"n_pos_bags_init": 1,
        "max_fun": 30, "max_iter": 3}, "EMDDRegressor": {"n_starts": 1, "max_fun": 30,
        "max_iter": 3}, "MICA": {"max_iter": 3},
        # the instance-kernel SVMs hold an instance kernel of all N instances while N is
        # under their memory budget (max_precomputed, max_qp_size), whatever the bag
        # sizes; with the budget at 0 libsvm computes kernel rows in its own bounded cache
        "InstanceMISVM": {"C": 1.0, "max_precomputed": 0, "max_iter": 3},
        "MISVM": {"C": 1.0, "max_precomputed": 0},
        "MissSVM": {"max_precomputed": 0, "max_iter": 3},
        # stMIL's SMO solves a dense QP over all instances: its linear (primal) path here
        "SparseTransductiveMIL": {"max_iter": 3, "kernel": "linear"}}
DEEP = {"max_epochs": 2, "batch_size": 8, "validation_fraction": 0.0}
NOT_FOR_BIG_BAGS = {"MIGraphExplicit"}  # refuses, with a message (test above)


def _instance(name, cls):
    est = cls()
    params = est.get_params()
    settings = {**FAST.get(name, {}),
                **({k: v for k, v in DEEP.items() if k in params}
                   if cls.__module__.startswith("skmil.deep") else {})}
    if "random_state" in params:
        settings["random_state"] = 0
    return est.set_params(**settings)


@pytest.mark.slow
@pytest.mark.parametrize("name, cls", [(n, c) for n, c in all_estimators()
                                       if n not in NOT_FOR_BIG_BAGS],
                         ids=[n for n, _ in all_estimators() if n not in NOT_FOR_BIG_BAGS])
def test_every_estimator_fits_a_bag_over_every_block(name, cls):
    if cls.__module__.startswith("skmil.deep"):
        pytest.importorskip("torch")
    n_small = 30
    bags, y = make_mil_classification(n_small + BIG // 10, n_features=6, bag_size=10,
                                      bag_size_distribution="fixed", random_state=0)[:2]
    big = np.vstack(bags[n_small:])
    bags, y = list(bags[:n_small]) + [big], np.r_[y[:n_small], y[n_small:].max()]
    est = _instance(name, cls)
    if is_regressor(est):
        # the big bag's target is not the highest: EM-DD's regressor starts from every
        # instance of the top bags, thousands of starts in time (not memory)
        y = y + np.linspace(0.5, 0.0, y.shape[0])
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(bags, y)
            out = est.transform(bags) if not hasattr(est, "predict") else est.predict(bags)
            if hasattr(est, "predict_instances"):
                inst = est.predict_instances(bags)
                assert len(inst) == len(bags) and len(inst[-1]) == BIG
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(out) == len(bags)
    assert peak < PEAK_BYTES, f"{name}: numpy peaked at {peak / 2**20:.0f} MiB"
