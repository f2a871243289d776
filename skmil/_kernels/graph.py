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


@njit
def bag_distance_matrix(X, start, stop, metric, gamma):
    """Distance matrix of the instances ``X[start:stop]`` under ``metric``."""
    n = stop - start
    D = np.zeros((n, n))
    for a in range(n):
        for u in range(a + 1, n):
            v = _dist(X, start + a, start + u, metric, gamma)
            D[a, u] = v
            D[u, a] = v
    return D


@njit
def _clique_bag(X, s0, s1, metric, gamma, W):
    n = s1 - s0
    D = bag_distance_matrix(X, s0, s1, metric, gamma)
    delta = D.sum() / (n * n)
    for a in range(n):
        deg = 1.0
        for u in range(n):
            if u != a and D[a, u] < delta:
                deg += 1.0
        W[s0 + a] = 1.0 / deg


@njit
def _clique_weights_serial(X, offsets, metric, gamma):
    W = np.empty(X.shape[0])
    for i in range(offsets.shape[0] - 1):
        _clique_bag(X, offsets[i], offsets[i + 1], metric, gamma, W)
    return W


@njit(parallel=True)
def _clique_weights_parallel(X, offsets, metric, gamma):
    W = np.empty(X.shape[0])
    for i in prange(offsets.shape[0] - 1):
        _clique_bag(X, offsets[i], offsets[i + 1], metric, gamma, W)
    return W


def clique_weights(X, offsets, metric, gamma):
    """mi-Graph instance weights ``1 / degree`` (self-loop included) per instance.

    Bags run on numba's threads only when more than one is allowed (``numba_threads``)
    and the graphs cost enough to pay for it (:func:`skmil._numba.worth_threads`): the
    threaded variant takes seconds to compile, which a small fit would pay for nothing.
    """
    sizes = np.diff(offsets)
    work = float(np.dot(sizes, sizes)) * X.shape[1]
    kernel = _clique_weights_parallel if worth_threads(work) else _clique_weights_serial
    return kernel(X, offsets, metric, float(gamma))


@njit
def _count_edges(X, offsets, metric, gamma):
    n_bags = offsets.shape[0] - 1
    counts = np.zeros(n_bags, dtype=np.int64)
    for i in range(n_bags):
        s0, s1 = offsets[i], offsets[i + 1]
        n = s1 - s0
        D = bag_distance_matrix(X, s0, s1, metric, gamma)
        delta = D.sum() / (n * n)
        c = 0
        for a in range(n):
            for u in range(n):
                if u != a and D[a, u] < delta:
                    c += 1
        counts[i] = c
    return counts


@njit
def _fill_graph(X, offsets, metric, gamma, edge_offsets, stats, src, dst):
    n_bags = offsets.shape[0] - 1
    for i in range(n_bags):
        s0, s1 = offsets[i], offsets[i + 1]
        n = s1 - s0
        D = bag_distance_matrix(X, s0, s1, metric, gamma)
        delta = D.sum() / (n * n)
        n_edges = edge_offsets[i + 1] - edge_offsets[i]
        if n_edges == 0:
            continue
        # affinity of an edge: reciprocal distance, normalised over the bag
        deg = np.zeros(n)
        wsum = np.zeros(n)
        total_w = 0.0
        e = edge_offsets[i]
        for a in range(n):
            for u in range(n):
                if u != a and D[a, u] < delta:
                    w = 1.0 / (D[a, u] + 1e-12 * delta + 1e-300)
                    deg[a] += 1.0
                    wsum[a] += w
                    total_w += w
                    src[e] = a
                    dst[e] = u
                    e += 1
        for a in range(n):
            stats[s0 + a, 0] = deg[a] / n_edges
            stats[s0 + a, 1] = wsum[a] / total_w


def graph_structure(X, offsets, metric, gamma):
    """Every bag's epsilon-graph as node statistics and directed edge lists.

    Returns ``(stats, src, dst, edge_offsets)``: ``stats[k] = [d, p]`` for instance
    ``k``, its degree over the bag's number of edges and its summed affinity
    (reciprocal distance) over the bag's total affinity (both 0 in a bag without
    edges); ``src[e] -> dst[e]`` the edges of bag ``i`` as indices local to the bag,
    ``e`` in ``edge_offsets[i]:edge_offsets[i + 1]`` (both directions kept, in row-major
    order of the adjacency matrix).
    """
    counts = _count_edges(X, offsets, metric, gamma)
    edge_offsets = np.zeros(counts.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=edge_offsets[1:])
    n_e = int(edge_offsets[-1])
    stats = np.zeros((X.shape[0], 2))
    src = np.zeros(n_e, dtype=np.int64)
    dst = np.zeros(n_e, dtype=np.int64)
    _fill_graph(X, offsets, metric, gamma, edge_offsets, stats, src, dst)
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
def _edge_kernel_row(i, S0, S1, off, src, dst, eo, T0, T1, off2, src2, dst2, eo2, gamma,
                     mode, m_max, out):
    # row i of the edge-kernel sums; mode 0: all pairs (i, j); 1: j >= i (same bags,
    # mirrored by the caller); 2: only j == i, in out[i, 0]
    e0, e1 = eo[i], eo[i + 1]
    if e0 == e1:
        return
    a0, a1 = off[i], off[i + 1]
    n = a1 - a0
    Kn = np.empty((n, m_max))
    KnT = np.empty((m_max, n))
    T = np.empty((n, m_max))
    TT = np.empty((m_max, n))
    mb = off2.shape[0] - 1
    for j in range(0 if mode == 0 else i, i + 1 if mode == 2 else mb):
        f0, f1 = eo2[j], eo2[j + 1]
        if f0 == f1:
            continue
        b0, b1 = off2[j], off2[j + 1]
        out[i, 0 if mode == 2 else j] = _edge_pair_sum(
            S0[a0:a1], S1[a0:a1], n, src, dst, e0, e1, T0[b0:b1], T1[b0:b1], b1 - b0,
            src2, dst2, f0, f1, gamma, Kn, KnT, T, TT)


@njit
def _edge_kernel_rows_serial(S0, S1, off, src, dst, eo, T0, T1, off2, src2, dst2, eo2,
                             gamma, mode, m_max, out):
    for i in range(off.shape[0] - 1):
        _edge_kernel_row(i, S0, S1, off, src, dst, eo, T0, T1, off2, src2, dst2, eo2,
                         gamma, mode, m_max, out)


@njit(parallel=True)
def _edge_kernel_rows_parallel(S0, S1, off, src, dst, eo, T0, T1, off2, src2, dst2, eo2,
                               gamma, mode, m_max, out):
    for i in prange(off.shape[0] - 1):
        _edge_kernel_row(i, S0, S1, off, src, dst, eo, T0, T1, off2, src2, dst2, eo2,
                         gamma, mode, m_max, out)


def _edge_kernel_rows(S0, S1, off, src, dst, eo, T0, T1, off2, src2, dst2, eo2, gamma,
                      mode, out):
    sizes, sizes2 = np.diff(off), np.diff(off2)
    m_max = max(1, int(sizes2.max(initial=0)))
    # the row pairs' cost is about sum_ij n_i n_j (the node kernels) plus the edge terms
    work = float(sizes.sum()) * float(sizes2.sum()) + float(eo[-1]) * m_max
    if mode == 2:
        work /= max(1, sizes2.shape[0])
    kernel = _edge_kernel_rows_parallel if worth_threads(work) else _edge_kernel_rows_serial
    kernel(S0, S1, off, src, dst, eo, T0, T1, off2, src2, dst2, eo2, gamma, mode, m_max, out)
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
    S0 = np.ascontiguousarray(S[:, 0])
    S1 = np.ascontiguousarray(S[:, 1])
    if diagonal:
        out = np.zeros((off.shape[0] - 1, 1))
        _edge_kernel_rows(S0, S1, off, src, dst, eo, S0, S1, off, src, dst, eo,
                          float(gamma), 2, out)
        return out[:, 0]
    symmetric = graph2 is None
    S2, off2, src2, dst2, eo2 = graph if symmetric else graph2
    out = np.zeros((off.shape[0] - 1, off2.shape[0] - 1))
    _edge_kernel_rows(S0, S1, off, src, dst, eo, np.ascontiguousarray(S2[:, 0]),
                      np.ascontiguousarray(S2[:, 1]), off2, src2, dst2, eo2, float(gamma),
                      1 if symmetric else 0, out)
    return out
