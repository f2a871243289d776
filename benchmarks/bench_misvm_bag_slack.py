"""Cost of MI-SVM's shared negative-bag slack (``negative_slack="bag"``).

Part 1: time of ONE inner problem (the SVM dual with ``sum_{i in J} alpha_i <= C`` per
negative bag) for growing numbers of training points ``n`` (RBF kernel, 166 features
like MUSK, negatives in bags of 8, one point per positive bag, ``C = 10``), solved by

* skmil's group-capped SMO (numba; what ``MISVM`` uses),
* the same dual as a generic QP through cvxpy/Clarabel (the independent reference of
  the tests; skipped above ``--qp-max``), with the relative gap of the two objectives,
* libsvm on the same kernel matrix with per-instance slacks (the default
  ``negative_slack="instance"``'s inner SVM: a different, less constrained problem).

Part 2: one whole ``MISVM(C=10)`` fit on FOX in both modes.

Reproduce (single thread, as quoted in docs/svm.rst)::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_misvm_bag_slack.py
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_misvm_bag_slack.py \
        --sizes 400,800,1600,3200,6400 --qp-max 1600
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from skmil._kernels.set_kernel import instance_kernel
from skmil.datasets import load_dataset
from skmil.svm import MISVM
from skmil.svm._bag_slack_qp import solve_group_slack_dual
from skmil.svm._common import libsvm_binary_fit
from skmil.svm._group_smo import group_smo_solve


def _objective(a, y, K):
    ya = y * a
    return float(a.sum() - 0.5 * ya @ K @ ya)


def one_problem(n: int, rng: np.random.Generator, qp: bool) -> dict:
    d = 166
    X = rng.normal(size=(n, d))
    n_pos = max(n // 8, 2)
    y = np.concatenate([-np.ones(n - n_pos), np.ones(n_pos)])
    X[y > 0, :5] += 1.5
    groups = np.concatenate([np.arange(n - n_pos) // 8, -np.ones(n_pos, dtype=int)])
    K = instance_kernel(X, X, "rbf", 1.0 / d, 3, 0.0)
    C = np.full(n, 10.0)
    out = {"n": n}
    t = time.perf_counter()
    a, _, _, out["smo_iter"] = group_smo_solve(K, y, C, groups)
    out["smo"] = time.perf_counter() - t
    out["n_sv"] = int(np.count_nonzero(a))
    if qp:
        t = time.perf_counter()
        res = solve_group_slack_dual(y, C, groups, K=K)
        out["qp"] = time.perf_counter() - t
        ref = _objective(res.alpha, y, K)
        out["gap"] = (ref - _objective(a, y, K)) / abs(ref)
    t = time.perf_counter()
    libsvm_binary_fit(K, y.astype(int), kernel="precomputed", C=10.0)
    out["libsvm"] = time.perf_counter() - t
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="400,800,1600")
    ap.add_argument("--qp-max", type=int, default=1600,
                    help="largest n also solved by the cvxpy QP")
    ap.add_argument("--no-fox", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    group_smo_solve(np.eye(2), np.array([1.0, -1.0]), np.ones(2), np.array([-1, 0]))  # compile
    print(f"{'n':>6} {'SMO (s)':>9} {'SMO it':>8} {'QP (s)':>8} {'QP/SMO':>7} "
          f"{'obj gap':>9} {'libsvm (s)':>11} {'SMO/libsvm':>11} {'n_SV':>6}")
    for n in (int(s) for s in args.sizes.split(",")):
        r = one_problem(n, rng, n <= args.qp_max)
        qp = (f"{r['qp']:>8.2f} {r['qp'] / r['smo']:>6.0f}x {r['gap']:>9.1e}" if "qp" in r
              else f"{'-':>8} {'-':>7} {'-':>9}")
        print(f"{n:>6} {r['smo']:>9.3f} {r['smo_iter']:>8d} {qp} {r['libsvm']:>11.3f} "
              f"{r['smo'] / r['libsvm']:>10.1f}x {r['n_sv']:>6}", flush=True)
    if args.no_fox:
        return
    bags, y = load_dataset("fox", return_X_y=True)
    times = {}
    for mode in ("instance", "bag"):
        MISVM(C=10.0, negative_slack=mode).fit(bags, y)  # warm-up (numba, caches)
        t = time.perf_counter()
        clf = MISVM(C=10.0, negative_slack=mode).fit(bags, y)
        times[mode] = time.perf_counter() - t
        print(f"FOX MISVM(C=10, negative_slack={mode!r}): fit {times[mode]:.3f} s, "
              f"{clf.n_iter_} inner SVMs ({clf.stop_reason_})", flush=True)
    print(f"FOX fit time ratio bag/instance: {times['bag'] / times['instance']:.2f}x")


if __name__ == "__main__":
    main()
