"""Scale checks: mi-SVM on 100,000 instances, and the MI-Kernel Gram of 5,000 bags.

1. mi-SVM on a synthetic problem of 10,000 bags x 10 instances, d = 50 (100,000
   instances), against the baseline of ONE linear SVM fit on all instances with bag
   labels (what each of mi-SVM's inner fits costs at most): the ratio is mi-SVM's fit
   time in units of that fit. Default: linear kernel with ``solver="liblinear"`` (linear time per
   epoch). ``--kernel rbf`` uses libsvm with a named kernel: above ``max_precomputed``
   the instance kernel is never formed, libsvm computes kernel rows through its own
   cache, but libsvm's time grows roughly quadratically with N (use ``--n-bags`` to
   shrink the problem). Reports fit time, iterations and the process's peak resident
   memory (ru_maxrss, which includes libsvm's C allocations), next to what a dense
   N x N float64 kernel would need.
2. MI-Kernel set-kernel Gram for 5,000 bags x 10 instances, d = 100 (N = 50,000):
   time, and the achieved GEMM rate (useful flops 2 * pairs * (d + 2) of the
   upper-triangle blocks over the wall time) as a fraction of the BLAS DGEMM rate
   measured in the same run (square 2000 x 2000 GEMM, best of 3).

Single thread (BLAS pinned to 1). Reproduce::

    python benchmarks/bench_svm_scale.py            # both
    python benchmarks/bench_svm_scale.py --only gram
    python benchmarks/bench_svm_scale.py --only misvm --kernel rbf --n-bags 2000
    python benchmarks/bench_svm_scale.py --tiny     # smoke test, seconds
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
from _timing import add_tiny_flag, best_of, print_reproduce, ratio  # noqa: E402

from skmil.datasets import make_mil_classification  # noqa: E402
from skmil.svm import InstanceMISVM, set_kernel  # noqa: E402


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def gemm_rate(n=2000, repeats=3):
    a = np.random.default_rng(0).normal(size=(n, n))
    b = a.T.copy()
    best, _ = best_of(lambda: a @ b, repeats=repeats)
    return 2.0 * n**3 / best


def bench_gram(n_bags=5000, bag_size=10, d=100, gemm_n=2000):
    rng = np.random.default_rng(0)
    bags = list(rng.normal(size=(n_bags, bag_size, d)))
    rate = gemm_rate(gemm_n)
    dt, K = best_of(lambda: set_kernel(bags, gamma=1.0 / d, normalize="featurespace"),
                    repeats=1)
    N = n_bags * bag_size
    # upper-triangle block GEMMs: ~N^2/2 pairs (plus the diagonal blocks), d + 2 columns
    flops = 2.0 * (N * N / 2.0) * (d + 2)
    print(f"MI-Kernel Gram {n_bags} bags x {bag_size} inst, d={d}: {dt:.2f} s, "
          f"K {K.shape}, useful {flops / dt / 1e9:.1f} GFLOP/s vs DGEMM "
          f"{rate / 1e9:.1f} GFLOP/s -> ratio {ratio(flops / rate, dt)} of the GEMM rate "
          f"(GEMM-only lower bound {flops / rate:.2f} s)", flush=True)


def bench_misvm(n_bags=10_000, bag_size=10, d=50, max_iter=3, kernel="linear"):
    bags, y, _ = make_mil_classification(n_bags=n_bags, n_features=d, bag_size=bag_size,
                                         bag_size_distribution="fixed", class_sep=6.0,
                                         witness_rate=0.2, random_state=0)
    N = sum(len(b) for b in bags)
    rss0 = _rss_mb()
    solver = "liblinear" if kernel == "linear" else "libsvm"
    dt, clf = best_of(lambda: InstanceMISVM(kernel=kernel, solver=solver, C=1.0, max_iter=max_iter,
                                    cache_size=500).fit(bags, y), repeats=1)
    # baseline: one SVM of the same kind on every instance, labelled by its bag
    X = np.vstack(bags)
    y_inst = np.repeat(np.asarray(y), [len(b) for b in bags])
    if kernel == "linear":
        from sklearn.svm import LinearSVC

        base = LinearSVC(C=1.0, max_iter=1000)
    else:
        from sklearn.svm import SVC

        base = SVC(kernel=kernel, C=1.0, gamma="scale", cache_size=500)
    t_one, _ = best_of(lambda: base.fit(X, y_inst), repeats=1)
    acc = float(np.mean(clf.predict(bags) == y))
    print(f"mi-SVM ({kernel}, {solver}) {N} instances, d={d}: fit {dt:.1f} s, "
          f"{clf.n_iter_} inner SVMs "
          f"({clf.stop_reason_}), precomputed={clf.precomputed_}, train acc {acc:.3f}, "
          f"peak RSS {_rss_mb():.0f} MB (before fit {rss0:.0f} MB; a dense N x N kernel "
          f"would be {N * N * 8 / 1e9:.0f} GB)", flush=True)
    print(f"  one {type(base).__name__} on all {N} instances: {t_one:.1f} s; mi-SVM fit / "
          f"that fit = {ratio(dt, t_one)}", flush=True)


if __name__ == "__main__":
    warnings.filterwarnings("ignore", message="Liblinear failed to converge")
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["gram", "misvm"])
    ap.add_argument("--max-iter", type=int, default=10)
    ap.add_argument("--kernel", default="linear", choices=["linear", "rbf"])
    ap.add_argument("--n-bags", type=int, default=10_000)
    add_tiny_flag(ap)
    args = ap.parse_args()
    print_reproduce()
    gram = {}
    if args.tiny:
        gram = {"n_bags": 100, "gemm_n": 300}
        args.n_bags, args.max_iter = 100, 2
    if args.only in (None, "gram"):
        bench_gram(**gram)
    if args.only in (None, "misvm"):
        bench_misvm(n_bags=args.n_bags, max_iter=args.max_iter, kernel=args.kernel)
