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

from .._numba import njit

__all__ = ["bag_distance_matrix", "clique_weights", "graph_edges", "METRIC_CODES"]

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


@njit(parallel=True)
def clique_weights(X, offsets, metric, gamma):
    """mi-Graph instance weights ``1 / degree`` (self-loop included) per instance."""
    n_bags = offsets.shape[0] - 1
    W = np.empty(X.shape[0])
    for i in prange(n_bags):
        s0, s1 = offsets[i], offsets[i + 1]
        n = s1 - s0
        D = bag_distance_matrix(X, s0, s1, metric, gamma)
        delta = D.sum() / (n * n)
        for a in range(n):
            deg = 1.0
            for u in range(n):
                if u != a and D[a, u] < delta:
                    deg += 1.0
            W[s0 + a] = 1.0 / deg
    return W


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
def _fill_edges(X, offsets, metric, gamma, edge_offsets, feats):
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
        for a in range(n):
            for u in range(n):
                if u != a and D[a, u] < delta:
                    w = 1.0 / (D[a, u] + 1e-12 * delta + 1e-300)
                    deg[a] += 1.0
                    wsum[a] += w
                    total_w += w
        e = edge_offsets[i]
        for a in range(n):
            for u in range(n):
                if u != a and D[a, u] < delta:
                    feats[e, 0] = deg[a] / n_edges
                    feats[e, 1] = wsum[a] / total_w
                    feats[e, 2] = deg[u] / n_edges
                    feats[e, 3] = wsum[u] / total_w
                    e += 1


def graph_edges(X, offsets, metric, gamma):
    """Directed edge features of every bag's epsilon-graph (both directions kept).

    Returns ``(feats, edge_offsets)``: ``feats[e] = [d_u, p_u, d_v, p_v]`` with d the
    degree over the number of edges and p the summed affinity over the total affinity
    of the bag, and ``edge_offsets`` the CSR boundaries of each bag's edges.
    """
    counts = _count_edges(X, offsets, metric, gamma)
    edge_offsets = np.zeros(counts.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=edge_offsets[1:])
    feats = np.zeros((int(edge_offsets[-1]), 4))
    _fill_edges(X, offsets, metric, gamma, edge_offsets, feats)
    return feats, edge_offsets
