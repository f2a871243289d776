"""Cost of MI-SVM's shared negative-bag slack (``negative_slack="bag"``, cvxpy QP).

Part 1: time of ONE inner QP (the dual with ``sum_{i in J} alpha_i <= C`` per negative
bag, Clarabel through cvxpy) against libsvm on the same kernel matrix with per-instance
slacks, for growing numbers of training points ``n`` (RBF kernel, 166 features like
MUSK, negatives in bags of 8, one point per positive bag, ``C = 10``).
Part 2: one whole ``MISVM(C=10)`` fit on FOX in both modes.

Reproduce (single thread, as quoted in docs/svm.rst)::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_misvm_bag_slack.py
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_misvm_bag_slack.py \
        --sizes 400,800,1600,2400,3200
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from skmil._kernels.set_kernel import instance_kernel
from skmil.datasets import load_dataset
from skmil.svm import MISVM
from skmil.svm._bag_slack_qp import solve_group_slack_dual
from skmil.svm._common import libsvm_binary_fit


def one_qp(n: int, rng: np.random.Generator) -> tuple[float, float, int]:
    d = 166
    X = rng.normal(size=(n, d))
    n_pos = max(n // 8, 2)
    y = np.concatenate([-np.ones(n - n_pos), np.ones(n_pos)])
    X[y > 0, :5] += 1.5
    groups = np.concatenate([np.arange(n - n_pos) // 8, -np.ones(n_pos, dtype=int)])
    K = instance_kernel(X, X, "rbf", 1.0 / d, 3, 0.0)
    C = np.full(n, 10.0)
    t = time.perf_counter()
    res = solve_group_slack_dual(y, C, groups, K=K)
    t_qp = time.perf_counter() - t
    t = time.perf_counter()
    libsvm_binary_fit(K, y.astype(int), kernel="precomputed", C=10.0)
    t_svm = time.perf_counter() - t
    return t_qp, t_svm, res.support.size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="400,800,1600,2400")
    ap.add_argument("--no-fox", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'n':>6} {'QP (s)':>9} {'libsvm (s)':>11} {'QP/libsvm':>10} {'n_SV':>6} "
          f"{'peak RSS (MB)':>14}")
    for n in (int(s) for s in args.sizes.split(",")):
        t_qp, t_svm, nsv = one_qp(n, rng)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{n:>6} {t_qp:>9.2f} {t_svm:>11.3f} {t_qp / t_svm:>9.0f}x {nsv:>6} "
              f"{rss:>14.0f}", flush=True)
    if args.no_fox:
        return
    bags, y = load_dataset("fox", return_X_y=True)
    times = {}
    for mode in ("instance", "bag"):
        t = time.perf_counter()
        clf = MISVM(C=10.0, negative_slack=mode).fit(bags, y)
        times[mode] = time.perf_counter() - t
        print(f"FOX MISVM(C=10, negative_slack={mode!r}): fit {times[mode]:.2f} s, "
              f"{clf.n_iter_} inner SVMs ({clf.stop_reason_})", flush=True)
    print(f"FOX fit time ratio bag/instance: {times['bag'] / times['instance']:.0f}x")


if __name__ == "__main__":
    main()
