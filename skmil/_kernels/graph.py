"""Per-bag epsilon-graphs for mi-Graph / MI-Graph (Zhou, Sun & Li, ICML 2009).

Within each bag, instances ``a`` and ``u`` are joined when their distance is below the
bag's threshold ``delta_i`` (the mean of the bag's full n x n distance matrix, zero
diagonal included); every instance is joined to itself, so degrees are >= 1 even in
singleton bags. Cost O(sum_i n_i^2 d), one bag per numba iteration.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._numba import njit, worth_threads
from .bagpairs import mirror_upper
from .fast_exp import fexp

__all__ = [
    "bag_distance_matrix",
    "clique_weights",
    "edge_kernel_sums",
    "graph_structure",
    "METRIC_CODES",
]

METRIC_CODES = {"sqeuclidean": 0, "euclidean": 1, "gaussian": 2}


@njit(inline="always")
def _dist(X, a, u, metric, gamma):
    s = 0.0
    for k in range(X.shape[1]):
        diff = X[a, k] - X[u, k]
        s += diff * diff
    if metric == 1:
        return math.sqrt(s)
    if metric == 2:
        return 1.0 - math.exp(-gamma * s)
    return s


@njit(inline="always")
def bag_distance_matrix(X, start, stop, metric, gamma):
    """Distance matrix of the instances ``X[start:stop]`` under ``metric``.

    Inlined into its callers: a separate compiled function would add to the
    compilation a first fit pays.
    """
    n = stop - start
    D = np.zeros((n, n))
    for a in range(n):
        for u in range(a + 1, n):
            v = _dist(X, start + a, start + u, metric, gamma)
            D[a, u] = v
            D[u, a] = v
    return D


#: Bags of more instances than this get their clique weights from
#: :func:`_streamed_clique_weights` (memory O(n d)) instead of a dense n x n distance
#: matrix (128 MiB at this size).
DENSE_GRAPH_MAX = 4096


@njit
def _bag_graphs(X, offsets, metric, gamma, b0, b1, fill, W, counts, edge_offsets, stats,
                src, dst):
    # Bags b0..b1-1. Always: the clique weights W (1 / degree, self-loop included) and
    # the edge counts; with ``fill``: also the edges from edge_offsets[i] and the node
    # statistics. One kernel for both passes and both estimators keeps the compilation
    # a first fit pays to one function. Bags over DENSE_GRAPH_MAX are left to the caller.
    for i in range(b0, b1):
        s0, s1 = offsets[i], offsets[i + 1]
        n = s1 - s0
        if n > DENSE_GRAPH_MAX:
            continue
        D = bag_distance_matrix(X, s0, s1, metric, gamma)
        # D.sum() in its order (row-major, one accumulator), without compiling numba's
        # generic array reduction
        total = 0.0
        for a in range(n):
            for u in range(n):
                total += D[a, u]
        delta = total / (n * n)
        c = 0
        for a in range(n):
            deg = 1.0
            for u in range(n):
                if u != a and D[a, u] < delta:
                    deg += 1.0
                    c += 1
            W[s0 + a] = 1.0 / deg
        counts[i] = c
        if not fill or c == 0:
            continue
        # affinity of an edge: reciprocal distance, normalised over the bag
        deg_e = np.zeros(n)
        wsum = np.zeros(n)
        total_w = 0.0
        e = edge_offsets[i]
        for a in range(n):
            for u in range(n):
                if u != a and D[a, u] < delta:
                    w = 1.0 / (D[a, u] + 1e-12 * delta + 1e-300)
                    deg_e[a] += 1.0
                    wsum[a] += w
                    total_w += w
                    src[e] = a
                    dst[e] = u
                    e += 1
        for a in range(n):
            stats[s0 + a, 0] = deg_e[a] / c
            stats[s0 + a, 1] = wsum[a] / total_w


@njit(parallel=True)
def _bag_graphs_parallel(X, offsets, metric, gamma, fill, W, counts, edge_offsets, stats,
                         src, dst):
    for i in prange(offsets.shape[0] - 1):
        _bag_graphs(X, offsets, metric, gamma, i, i + 1, fill, W, counts, edge_offsets,
                    stats, src, dst)


@njit
def _distance_row(XT, a, metric, gamma, out):
    # out[u] = distance between instances a and u of the bag whose transposed block is
    # XT, summed over the features in _dist's order (so the values equal
    # bag_distance_matrix's bit for bit); the loop over u runs along XT's rows, so it
    # vectorises
    n = XT.shape[1]
    out[:] = 0.0
    for k in range(XT.shape[0]):
        xk = XT[k, a]
        for u in range(n):
            diff = xk - XT[k, u]
            out[u] += diff * diff
    if metric == 1:
        for u in range(n):
            out[u] = math.sqrt(out[u])
    elif metric == 2:
        for u in range(n):
            out[u] = 1.0 - math.exp(-gamma * out[u])


@njit
def _streamed_clique_weights(XT, metric, gamma, W):
    # _bag_graphs' weights of one bag (XT: its instances, transposed) without its n x n
    # matrix: one pass over the rows for the threshold (the mean distance, summed in the
    # dense code's order), one to count each row's edges. Twice the distance
    # computations, O(n) memory. Returns the number of edges.
    n = XT.shape[1]
    row = np.empty(n)
    total = 0.0
    for a in range(n):
        _distance_row(XT, a, metric, gamma, row)
        for u in range(n):
            total += row[u]
    delta = total / (n * n)
    count = 0
    for a in range(n):
        _distance_row(XT, a, metric, gamma, row)
        # an integer count vectorises; row[a] is 0, below any positive threshold
        edges = 0
        for u in range(n):
            edges += row[u] < delta
        if row[a] < delta:
            edges -= 1
        W[a] = 1.0 / (1.0 + edges)
        count += edges
    return count


def _graphs(X, offsets, metric, gamma, fill=False, edge_offsets=None, stats=None, src=None,
            dst=None):
    """Run :func:`_bag_graphs` over all bags; returns ``(W, counts)``."""
    n_bags = offsets.shape[0] - 1
    W = np.empty(X.shape[0])
    counts = np.zeros(n_bags, dtype=np.int64)
    if not fill:
        # unused by the counting pass; typed as in the filling pass (one signature)
        edge_offsets = np.zeros(n_bags + 1, dtype=np.int64)
        stats = np.zeros((0, 2))
        src = dst = np.zeros(0, dtype=np.int64)
    X = np.ascontiguousarray(X, dtype=np.float64)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    sizes = np.diff(offsets)
    dense = sizes[sizes <= DENSE_GRAPH_MAX]  # the bags _bag_graphs computes
    # threads only where they pay (skmil._numba): the parallel variant takes seconds to
    # compile, which a small fit would pay for nothing
    if worth_threads(float(np.dot(dense, dense)) * X.shape[1]):
        _bag_graphs_parallel(X, offsets, int(metric), float(gamma), fill, W, counts,
                             edge_offsets, stats, src, dst)
    else:
        _bag_graphs(X, offsets, int(metric), float(gamma), 0, n_bags, fill, W, counts,
                    edge_offsets, stats, src, dst)
    for i in np.flatnonzero(sizes > DENSE_GRAPH_MAX):
        s0, s1 = int(offsets[i]), int(offsets[i + 1])
        counts[i] = _streamed_clique_weights(np.ascontiguousarray(X[s0:s1].T), int(metric),
                                             float(gamma), W[s0:s1])
    return W, counts


def clique_weights(X, offsets, metric, gamma):
    """mi-Graph instance weights ``1 / degree`` (self-loop included) per instance."""
    return _graphs(X, offsets, metric, gamma)[0]


def graph_structure(X, offsets, metric, gamma):
    """Every bag's epsilon-graph as node statistics and directed edge lists.

    Returns ``(stats, src, dst, edge_offsets)``: ``stats[k] = [d, p]`` for instance
    ``k``, its degree over the bag's number of edges and its summed affinity
    (reciprocal distance) over the bag's total affinity (both 0 in a bag without
    edges); ``src[e] -> dst[e]`` the edges of bag ``i`` as indices local to the bag,
    ``e`` in ``edge_offsets[i]:edge_offsets[i + 1]`` (both directions kept, in row-major
    order of the adjacency matrix).
    """
    largest = int(np.diff(offsets).max(initial=0))
    if largest > DENSE_GRAPH_MAX:
        raise ValueError(
            f"a bag has {largest} instances; a bag's explicit graph (MIGraphExplicit) is "
            f"built for at most {DENSE_GRAPH_MAX}, since it holds up to n(n-1) edges and "
            "its kernel needs n x n blocks. Use MIGraph, whose clique weights need memory "
            "linear in the bag's size, or split the bag."
        )
    counts = _graphs(X, offsets, metric, gamma)[1]
    edge_offsets = np.zeros(counts.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=edge_offsets[1:])
    n_e = int(edge_offsets[-1])
    stats = np.zeros((X.shape[0], 2))
    src = np.zeros(n_e, dtype=np.int64)
    dst = np.zeros(n_e, dtype=np.int64)
    _graphs(X, offsets, metric, gamma, True, edge_offsets, stats, src, dst)
    return stats, src, dst, edge_offsets


@njit(fastmath={"contract"})
def _edge_pair_sum(s0, s1, n, src, dst, e0, e1, t0, t1, m, src2, dst2, f0, f1, gamma,
                   Kn, KnT, T, TT):
    # Kn[a, b]: RBF of the node statistics of bag i's node a and bag j's node b
    for a in range(n):
        x0 = s0[a]
        x1 = s1[a]
        for b in range(m):
            d0 = x0 - t0[b]
            d1 = x1 - t1[b]
            Kn[a, b] = fexp(-gamma * (d0 * d0 + d1 * d1))
    for a in range(n):
        for b in range(m):
            KnT[b, a] = Kn[a, b]
            T[a, b] = 0.0
    # T[a, :] = sum of Kn[u, :] over the edges a -> u of bag i
    for e in range(e0, e1):
        a = src[e]
        u = dst[e]
        for b in range(m):
            T[a, b] += Kn[u, b]
    for a in range(n):
        for b in range(m):
            TT[b, a] = T[a, b]
    # sum over the edges b -> v of bag j of sum_a Kn[a, b] T[a, v]
    total = 0.0
    for e in range(f0, f1):
        b = src2[e]
        v = dst2[e]
        acc = 0.0
        for a in range(n):
            acc += KnT[b, a] * TT[v, a]
        total += acc
    return total


@njit
def _edge_kernel_rows_range(r0, r1, S0, S1, off, src, dst, eo, T0, T1, off2, src2, dst2,
                            eo2, gamma, mode, m_max, out):
    # rows r0..r1-1 of the edge-kernel sums; mode 0: all pairs (i, j); 1: j >= i (same
    # bags, mirrored by the caller); 2: only j == i, in out[i, 0]
    mb = off2.shape[0] - 1
    for i in range(r0, r1):
        e0, e1 = eo[i], eo[i + 1]
        if e0 == e1:
            continue
        a0, a1 = off[i], off[i + 1]
        n = a1 - a0
        Kn = np.empty((n, m_max))
        KnT = np.empty((m_max, n))
        T = np.empty((n, m_max))
        TT = np.empty((m_max, n))
        for j in range(0 if mode == 0 else i, i + 1 if mode == 2 else mb):
            f0, f1 = eo2[j], eo2[j + 1]
            if f0 == f1:
                continue
            b0, b1 = off2[j], off2[j + 1]
            out[i, 0 if mode == 2 else j] = _edge_pair_sum(
                S0[a0:a1], S1[a0:a1], n, src, dst, e0, e1, T0[b0:b1], T1[b0:b1], b1 - b0,
                src2, dst2, f0, f1, gamma, Kn, KnT, T, TT)


@njit(parallel=True)
def _edge_kernel_rows_parallel(S0, S1, off, src, dst, eo, T0, T1, off2, src2, dst2, eo2,
                               gamma, mode, m_max, out):
    for i in prange(off.shape[0] - 1):
        _edge_kernel_rows_range(i, i + 1, S0, S1, off, src, dst, eo, T0, T1, off2, src2,
                                dst2, eo2, gamma, mode, m_max, out)


def _edge_kernel_rows(S0, S1, off, src, dst, eo, T0, T1, off2, src2, dst2, eo2, gamma,
                      mode, out):
    sizes, sizes2 = np.diff(off), np.diff(off2)
    m_max = max(1, int(sizes2.max(initial=0)))
    # the row pairs' cost is about sum_ij n_i n_j (the node kernels) plus the edge terms
    work = float(sizes.sum()) * float(sizes2.sum()) + float(eo[-1]) * m_max
    if mode == 2:
        work /= max(1, sizes2.shape[0])
    if worth_threads(work):
        _edge_kernel_rows_parallel(S0, S1, off, src, dst, eo, T0, T1, off2, src2, dst2, eo2,
                                   gamma, mode, m_max, out)
    else:
        _edge_kernel_rows_range(0, sizes.shape[0], S0, S1, off, src, dst, eo, T0, T1, off2,
                                src2, dst2, eo2, gamma, mode, m_max, out)
    if mode == 1:
        # the upper triangle was computed; copy it down
        mirror_upper(out)


def edge_kernel_sums(graph, gamma, graph2=None, diagonal=False):
    """MI-Graph's edge-kernel sums ``sum_{e in E_i} sum_{f in E'_j} exp(-gamma ||x_e - x_f||^2)``.

    ``graph`` (and ``graph2``, default ``graph``) is ``(stats, offsets, src, dst,
    edge_offsets)``: :func:`graph_structure` plus the bags' instance offsets. The edge
    feature ``x_e = [s_u, s_v]`` of an edge u -> v concatenates the node statistics of
    its ends, so the RBF of two edges factorises over their ends,
    ``k(e, f) = k_n(u, u') k_n(v, v')`` with ``k_n`` the RBF of the 2-D node statistics,
    and the sum over edge pairs becomes ``sum_{b -> v in E'_j} sum_a k_n(a, b) T[a, v]``
    with ``T = A_i K_n`` (``A_i`` bag i's adjacency). That costs
    ``O(n_i n_j + E_i n_j + E'_j n_i)`` per bag pair instead of ``O(E_i E'_j)``
    (up to ``n^4``), with no edge features built. Rows run on numba's threads when
    :func:`skmil._numba.worth_threads` says they pay.
    ``diagonal=True`` returns only each bag with itself (``graph2`` ignored).
    """
    S, off, src, dst, eo = graph
    S0 = np.ascontiguousarray(S[:, 0], dtype=np.float64)
    S1 = np.ascontiguousarray(S[:, 1], dtype=np.float64)
    # one compiled signature: int64 index arrays, whatever the caller's integer type
    off, src, dst, eo = (np.ascontiguousarray(a, dtype=np.int64) for a in (off, src, dst, eo))
    if diagonal:
        out = np.zeros((off.shape[0] - 1, 1))
        _edge_kernel_rows(S0, S1, off, src, dst, eo, S0, S1, off, src, dst, eo,
                          float(gamma), 2, out)
        return out[:, 0]
    symmetric = graph2 is None
    S2, off2, src2, dst2, eo2 = graph if symmetric else graph2
    off2, src2, dst2, eo2 = (np.ascontiguousarray(a, dtype=np.int64)
                             for a in (off2, src2, dst2, eo2))
    out = np.zeros((off.shape[0] - 1, off2.shape[0] - 1))
    _edge_kernel_rows(S0, S1, off, src, dst, eo, np.ascontiguousarray(S2[:, 0], dtype=np.float64),
                      np.ascontiguousarray(S2[:, 1], dtype=np.float64), off2, src2, dst2, eo2,
                      float(gamma), 1 if symmetric else 0, out)
    return out
