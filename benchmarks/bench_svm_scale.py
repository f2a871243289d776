"""Scale checks: mi-SVM on 100,000 instances, and the MI-Kernel Gram of 5,000 bags.

1. mi-SVM on a synthetic problem of 10,000 bags x 10 instances, d = 50 (100,000
   instances). Default: linear kernel with ``solver="liblinear"`` (linear time per
   epoch). ``--kernel rbf`` uses libsvm with a named kernel: above ``max_precomputed``
   the instance kernel is never formed, libsvm computes kernel rows through its own
   cache, but libsvm's time grows roughly quadratically with N (use ``--n-bags`` to
   shrink the problem). Reports fit time, iterations and the process's peak resident
   memory (ru_maxrss, which includes libsvm's C allocations), next to what a dense
   N x N float64 kernel would need.
2. MI-Kernel set-kernel Gram for 5,000 bags x 10 instances, d = 100 (N = 50,000):
   time, and the achieved GEMM rate (useful flops 2 * pairs * (d + 2) of the
   upper-triangle blocks over the wall time) as a fraction of this machine's BLAS DGEMM
   rate measured in the same run (square 2000 x 2000 GEMM, best of 3).

Single thread (BLAS pinned to 1). Reproduce::

    python benchmarks/bench_svm_scale.py            # both
    python benchmarks/bench_svm_scale.py --only gram
    python benchmarks/bench_svm_scale.py --only misvm --kernel rbf --n-bags 2000
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

from skmil.datasets import make_mil_classification  # noqa: E402
from skmil.svm import miSVM, set_kernel  # noqa: E402


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def gemm_rate(n=2000, repeats=3):
    a = np.random.default_rng(0).normal(size=(n, n))
    b = a.T.copy()
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2.0 * n**3 / best


def bench_gram(n_bags=5000, bag_size=10, d=100):
    rng = np.random.default_rng(0)
    bags = list(rng.normal(size=(n_bags, bag_size, d)))
    rate = gemm_rate()
    t = time.perf_counter()
    K = set_kernel(bags, gamma=1.0 / d, normalization="featurespace")
    dt = time.perf_counter() - t
    N = n_bags * bag_size
    # upper-triangle block GEMMs: ~N^2/2 pairs (plus the diagonal blocks), d + 2 columns
    flops = 2.0 * (N * N / 2.0) * (d + 2)
    print(f"MI-Kernel Gram {n_bags} bags x {bag_size} inst, d={d}: {dt:.2f} s, "
          f"K {K.shape}, useful {flops / dt / 1e9:.1f} GFLOP/s vs DGEMM "
          f"{rate / 1e9:.1f} GFLOP/s -> {flops / dt / rate:.0%} of GEMM rate "
          f"(GEMM-only lower bound {flops / rate:.2f} s)", flush=True)


def bench_misvm(n_bags=10_000, bag_size=10, d=50, max_iter=3, kernel="linear"):
    bags, y, _ = make_mil_classification(n_bags=n_bags, n_features=d, bag_size=bag_size,
                                         bag_size_distribution="fixed", class_sep=6.0,
                                         witness_rate=0.2, random_state=0)
    N = sum(len(b) for b in bags)
    rss0 = _rss_mb()
    t = time.perf_counter()
    solver = "liblinear" if kernel == "linear" else "libsvm"
    clf = miSVM(kernel=kernel, solver=solver, C=1.0, max_iter=max_iter,
                cache_size=500).fit(bags, y)
    dt = time.perf_counter() - t
    acc = float(np.mean(clf.predict(bags) == y))
    print(f"mi-SVM ({kernel}, {solver}) {N} instances, d={d}: fit {dt:.1f} s, "
          f"{clf.n_iter_} inner SVMs "
          f"({clf.stop_reason_}), precomputed={clf.precomputed_}, train acc {acc:.3f}, "
          f"peak RSS {_rss_mb():.0f} MB (before fit {rss0:.0f} MB; a dense N x N kernel "
          f"would be {N * N * 8 / 1e9:.0f} GB)", flush=True)


if __name__ == "__main__":
    warnings.filterwarnings("ignore", message="Liblinear failed to converge")
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["gram", "misvm"])
    ap.add_argument("--max-iter", type=int, default=10)
    ap.add_argument("--kernel", default="linear", choices=["linear", "rbf"])
    ap.add_argument("--n-bags", type=int, default=10_000)
    args = ap.parse_args()
    if args.only in (None, "gram"):
        bench_gram()
    if args.only in (None, "misvm"):
        bench_misvm(n_bags=args.n_bags, max_iter=args.max_iter, kernel=args.kernel)
