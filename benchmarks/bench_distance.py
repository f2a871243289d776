"""Speed of the distance, graph and DD kernels against straightforward implementations.

Four measurements, each a ratio taken inside this one run (the machine is shared):

1. FOX, full 200 x 200 bag EMD matrix: ``skmil.distance.emd_matrix`` (one BLAS
   ground-cost matrix, sliced per pair, POT's C solver called directly; threads and
   processes compared) vs a loop of ``ot.emd2(a, b, ot.dist(A, B, "euclidean"))`` per pair.
2. MUSK2, mi-Graph Gram matrix (clique-weighted set kernel, 102 x 102 bags, 6598
   instances): BLAS row blocks with the weights folded into the GEMM vs a numba double
   loop over instance pairs.
3. MI-Graph's edge kernel (``migraph-edges``), train Gram of the edge-kernel sums on
   ELEPHANT (200 bags of 2-13 instances) and on digits bags (100 bags of about 50
   instances): the factorised sums over adjacency lists
   (``skmil._kernels.graph.edge_kernel_sums``) vs the edge-pair sums over explicit 4-D
   edge features by the BLAS blocks of item 2 (skmil's implementation before it).
4. MUSK2, EM-DD: one start's EM run (E-steps + L-BFGS-B M-steps) with the analytic
   numba gradient vs the same loop with scipy's finite-difference gradients of a numpy
   objective (``emdd-full`` also times a whole default ``EMDD().fit``).

Each line prints the ratio baseline time / skmil time. Reproduce::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_distance.py \\
        [emd migraph migraph-edges emdd]
    python benchmarks/bench_distance.py --tiny      # smoke test on a few bags, seconds
"""

from __future__ import annotations

import argparse

import numpy as np
from _timing import add_tiny_flag, best_of, print_reproduce, ratio

from skmil._kernels.bagpairs import weighted_set_kernel
from skmil._kernels.emd import emd_pairs
from skmil._kernels.graph import clique_weights, edge_kernel_sums, graph_structure
from skmil._numba import njit
from skmil.bags import check_bags
from skmil.datasets import load_dataset
from skmil.distance import emd_matrix

#: bags per data set in ``--tiny`` runs (None: all)
N_BAGS = None
#: EM-DD's per-start budget (L-BFGS-B iterations, EM iterations), the same on both sides
EMDD_BUDGET = (200, 10)


def _load(name):
    X, y = load_dataset(name, return_X_y=True)
    y = np.asarray(y)
    if N_BAGS is not None:
        # both classes, so that the EM-DD start has a positive bag
        keep = np.sort(np.r_[np.flatnonzero(y == 0)[:N_BAGS // 2],
                             np.flatnonzero(y == 1)[:N_BAGS // 2]])
        X, y = [X[i] for i in keep], y[keep]
    return X, y


def timed(fn, repeat=1):
    return best_of(fn, repeats=repeat)


def bench_emd():
    import ot

    X, _ = _load("fox")
    bags = check_bags(X)
    B = bags.n_bags
    emd_matrix(bags[:3])  # warm up imports

    def per_pair():
        D = np.zeros((B, B))
        for i in range(B):
            a = np.full(bags.sizes[i], 1.0 / bags.sizes[i])
            for j in range(i + 1, B):
                b = np.full(bags.sizes[j], 1.0 / bags.sizes[j])
                M = ot.dist(bags[i], bags[j], metric="euclidean")
                D[i, j] = D[j, i] = ot.emd2(a, b, M)
        return D

    def ours(n_jobs, backend="threading"):
        iu, ju = np.triu_indices(B, 1)
        w = np.repeat(1.0 / bags.sizes, bags.sizes)
        return emd_pairs(bags.instances, bags.offsets, w, bags.instances, bags.offsets, w,
                         np.column_stack([iu, ju]), uniform=True, n_jobs=n_jobs,
                         backend=backend)

    t_base, D_base = timed(per_pair)
    t1, D1 = timed(lambda: emd_matrix(bags, n_jobs=1), repeat=3)
    t2, _ = timed(lambda: ours(2), repeat=3)
    t2p, _ = timed(lambda: ours(2, "loky"), repeat=2)
    print(f"[EMD] FOX {B}x{B} ({B * (B - 1) // 2} pairs, {bags.n_instances} instances)")
    print(f"  per-pair ot.emd2 loop        {t_base:7.2f} s")
    print(f"  emd_matrix, 1 thread         {t1:7.2f} s   ratio {ratio(t_base, t1)}")
    print(f"  emd_pairs, 2 threads         {t2:7.2f} s   ratio {ratio(t_base, t2)}")
    print(f"  emd_pairs, 2 processes (loky){t2p:7.2f} s   ratio {ratio(t_base, t2p)}")
    print(f"  max |difference| vs ot.emd2: {np.abs(D1 - D_base).max():.2e}")


@njit
def _double_loop_gram(X, offsets, w, gamma):
    n_bags = offsets.shape[0] - 1
    K = np.zeros((n_bags, n_bags))
    for i in range(n_bags):
        for j in range(i, n_bags):
            acc = 0.0
            for a in range(offsets[i], offsets[i + 1]):
                for b in range(offsets[j], offsets[j + 1]):
                    d2 = 0.0
                    for k in range(X.shape[1]):
                        diff = X[a, k] - X[b, k]
                        d2 += diff * diff
                    acc += w[a] * w[b] * np.exp(-gamma * d2)
            K[i, j] = acc
            K[j, i] = acc
    return K


def bench_migraph():
    X, _ = _load("musk2")
    bags = check_bags(X)
    Z = (bags.instances - bags.instances.mean(0)) / bags.instances.std(0)
    gamma = 1.0 / Z.shape[1]
    W = clique_weights(Z, bags.offsets, 0, gamma)
    _double_loop_gram(Z[:20], np.array([0, 10, 20]), W[:20], gamma)  # compile
    t_w, _ = timed(lambda: clique_weights(Z, bags.offsets, 0, gamma), repeat=3)
    t_base, K_base = timed(lambda: _double_loop_gram(Z, bags.offsets, W, gamma))
    t_ours, K = timed(lambda: weighted_set_kernel(Z, bags.offsets, W, gamma), repeat=3)
    print(f"[mi-Graph] MUSK2 Gram {bags.n_bags}x{bags.n_bags}, {bags.n_instances} instances")
    print(f"  clique weights (numba, per-bag graphs) {t_w:6.2f} s")
    print(f"  numba double loop            {t_base:7.2f} s")
    print(f"  BLAS row blocks (skmil)      {t_ours:7.2f} s   ratio {ratio(t_base, t_ours)}")
    print(f"  max relative difference: {np.abs(K - K_base).max() / np.abs(K_base).max():.2e}")


def bench_migraph_edges():
    from skmil.datasets import make_digits_bags

    n_digits = 100 if N_BAGS is None else N_BAGS
    size = 50 if N_BAGS is None else 10
    digits, _, _ = make_digits_bags(n_digits, mean_bag_size=size, std_bag_size=size / 5,
                                    random_state=0)
    cases = [("ELEPHANT", _load("elephant")[0]), (f"digits {n_digits} x ~{size}", digits)]
    for name, X in cases:
        bags = check_bags(X)
        Z = (bags.instances - bags.instances.mean(0)) / np.maximum(bags.instances.std(0), 1e-12)
        gamma_node, gamma_edge = 1.0 / Z.shape[1], 0.25
        stats, src, dst, eo = graph_structure(Z, bags.offsets, 0, gamma_node)
        graph = (stats, bags.offsets, src, dst, eo)
        # the explicit directed edge features [d_u, p_u, d_v, p_v] that define the kernel
        base = np.repeat(np.asarray(bags.offsets[:-1], dtype=np.int64), np.diff(eo))
        F = np.hstack([stats[base + src], stats[base + dst]])
        edge_kernel_sums(graph, gamma_edge)  # compile
        t_base, K_base = timed(lambda F=F, eo=eo, g=gamma_edge: weighted_set_kernel(F, eo, None, g))
        t_ours, K = timed(lambda G=graph, g=gamma_edge: edge_kernel_sums(G, g), repeat=3)
        print(f"[MI-Graph edges] {name}: {bags.n_bags} bags, {bags.n_instances} instances, "
              f"{int(eo[-1])} directed edges")
        print(f"  edge-pair sums, BLAS blocks   {t_base:7.3f} s")
        print(f"  factorised sums (skmil)       {t_ours:7.3f} s   ratio {ratio(t_base, t_ours)}")
        print(f"  max relative difference: {np.abs(K - K_base).max() / np.abs(K_base).max():.2e}")


def bench_emdd(n_starts=1, whole_fit=False):
    from scipy.optimize import minimize

    from skmil._kernels.dd import segment_argmin_dist
    from skmil.dd import EMDD
    from skmil.dd.diverse_density import _emdd_start

    X, y = _load("musk2")
    bags = check_bags(X)
    y = y.astype(np.int64)
    Z = (bags.instances - bags.instances.mean(0)) / bags.instances.std(0)
    d = Z.shape[1]
    first_pos = bags.offsets[np.flatnonzero(y == 1)[0]]
    h0s = [np.concatenate([Z[first_pos + k], np.ones(d)]) for k in range(n_starts)]

    def start_fd(h0, max_fun=EMDD_BUDGET[0], max_em_iter=EMDD_BUDGET[1]):
        # the same EM loop, M-step objective in numpy, gradient by finite differences
        def nll(h, Xs):
            D = np.sum((h[d:] * (Xs - h[:d])) ** 2, axis=1)
            return float(np.sum(np.where(y == 1, D, -np.log(-np.expm1(-np.maximum(D, 1e-12))))))

        def full(h):
            _, dm = segment_argmin_dist(Z, bags.offsets, h[:d].copy(), h[d:].copy())
            return float(dm[y == 1].sum() - np.log(-np.expm1(-np.maximum(dm[y == 0], 1e-12))).sum())

        h, f = h0, full(h0)
        for _ in range(max_em_iter):
            sel, _ = segment_argmin_dist(Z, bags.offsets, h[:d].copy(), h[d:].copy())
            Xs = Z[sel]
            res = minimize(nll, h, args=(Xs,), method="L-BFGS-B",
                           options={"maxfun": max_fun * (2 * d + 1), "maxiter": max_fun})
            f_new = full(res.x)
            if not f_new < f:
                break
            h, f = res.x, f_new
        return h, f

    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        _emdd_start(Z, bags.offsets, y, h0s[0], 5, 1)  # compile
        t_ours, res_ours = timed(lambda: [_emdd_start(Z, bags.offsets, y, h, *EMDD_BUDGET)
                                          for h in h0s])
        t_fd, res_fd = timed(lambda: [start_fd(h) for h in h0s])
    print(f"[EM-DD] MUSK2, {n_starts} starts, same EM loop")
    print(f"  L-BFGS-B, finite differences {t_fd:7.2f} s  (final NLDD "
          f"{[round(f, 2) for _, f in res_fd]})")
    print(f"  L-BFGS-B, analytic gradient  {t_ours:7.2f} s  (final NLDD "
          f"{[round(r[1], 2) for r in res_ours]})   ratio {ratio(t_fd, t_ours)}")
    if whole_fit:
        t_fit, est = timed(lambda: EMDD(random_state=0).fit(bags, y))
        n_fit_starts = int(sum(bags.sizes[b] for b in est.start_bags_))
        print(f"  whole default EMDD().fit on MUSK2: {t_fit:.2f} s ({n_fit_starts} starts)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("which", nargs="*", default=["emd", "migraph", "migraph-edges", "emdd"],
                    help="any of emd, migraph, migraph-edges, emdd, emdd-full")
    add_tiny_flag(ap)
    args = ap.parse_args()
    print_reproduce()
    if args.tiny:
        N_BAGS, EMDD_BUDGET = 12, (5, 2)
    for name in args.which:
        {"emd": bench_emd, "migraph": bench_migraph, "migraph-edges": bench_migraph_edges,
         "emdd": bench_emdd,
         "emdd-full": lambda: bench_emdd(whole_fit=True)}[name]()
