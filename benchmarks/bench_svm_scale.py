"""Scale checks: the linear SVM family at 1e6 instances, mi-SVM on 100,000 instances
with liblinear or RBF, and the MI-Kernel Gram of 5,000 bags.

0. ``--only linear``: SIL, mi-SVM, MI-SVM, sMIL, sbMIL and stMIL with
   ``kernel="linear"`` (their default solver there, the squared-hinge primal Newton of
   ``skmil.svm._primal``) on
   ``make_mil_classification`` bags, 100,000 bags of 10 instances x 64 features
   (1,000,000 instances, a 488 MB float64 instance array), each in a fresh process that
   loads the bags as views of one array: fit and predict time, and the fit's peak extra
   memory (the process's peak resident set, VmHWM, over its resident set before ``fit``,
   after the numba kernels are compiled) as a multiple of the instance array. Two
   settings each: a fixed ``C=1`` with threshold 0, and the defaults (``C="cv"`` where
   the estimator has it and ``threshold``'s default, which cost 25 or 5 extra fits on
   four fifths of the bags).
   ``n_iter`` is the estimator's ``n_iter_``: inner SVMs of the alternations, Newton
   steps of sMIL and sbMIL, CCCP steps of stMIL. The ``nystroem-*`` rows fit SIL, mi-SVM
   and MI-SVM with the RBF kernel through ``kernel_approximation="nystroem"`` (256
   components by default): the map of all instances is a ``(N, 256)`` array, four times
   the instance array at 64 features, which the memory column includes. The
   ``MIKernelSVM`` and ``MIGraph`` ``nystroem-*`` rows fit the bag kernels as kernel mean
   embeddings (one 256-vector per bag, the instances mapped a chunk at a time); their
   exact Gram matrix over 100,000 bags would take 80 GB. ``--estimators`` runs only the
   named rows.
   Baselines in the same run: one ``LinearSVC(dual=False)`` (liblinear's primal Newton
   for the same loss) on all instances with their bag labels, which is what one inner
   SVM would cost without warm starts; and, on 600 instances, mi-SVM with
   ``solver="libsvm"`` (libsvm's linear kernel, the hinge loss) against the primal
   solver at ``C`` = 1, 10 and 100 (libsvm's time grows steeply with ``C`` on these
   nearly separable bags).
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

    python benchmarks/bench_svm_scale.py --only linear
    python benchmarks/bench_svm_scale.py --only linear --estimators MIKernelSVM MIGraph
    python benchmarks/bench_svm_scale.py            # gram and misvm
    python benchmarks/bench_svm_scale.py --only gram
    python benchmarks/bench_svm_scale.py --only misvm --kernel rbf --n-bags 2000
    python benchmarks/bench_svm_scale.py --tiny     # smoke test, seconds
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
from _timing import add_tiny_flag, best_of, print_reproduce, ratio, status_bytes  # noqa: E402

from skmil.datasets import make_mil_classification  # noqa: E402
from skmil.graph import MIGraph  # noqa: E402
from skmil.svm import (  # noqa: E402
    MISVM,
    SIL,
    InstanceMISVM,
    MIKernelSVM,
    SparseBalancedMIL,
    SparseMIL,
    SparseTransductiveMIL,
    set_kernel,
)

_LINEAR = {"SIL": SIL, "InstanceMISVM": InstanceMISVM, "MISVM": MISVM,
           "SparseMIL": SparseMIL, "SparseBalancedMIL": SparseBalancedMIL,
           "SparseTransductiveMIL": SparseTransductiveMIL}
#: Bag kernels whose ``kernel_approximation`` rows run beside the linear family.
_BAG_KERNELS = {"MIKernelSVM": MIKernelSVM, "MIGraph": MIGraph}


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


def _linear_child(path: str, name: str, setting: str) -> None:
    """One fit in this process; prints one JSON line (run by ``bench_linear``)."""
    data = np.load(path)
    X, y, size = data["X"], data["y"], int(data["size"])
    bags = np.split(X, np.arange(size, X.shape[0], size))  # views of one array
    if name == "LinearSVC":
        from sklearn.svm import LinearSVC

        y_inst = np.repeat(y, size)
        LinearSVC(dual=False).fit(X[:100], y_inst[:100])
        rss0 = status_bytes("VmRSS")
        t0 = time.perf_counter()
        LinearSVC(dual=False, C=1.0).fit(X, y_inst)
        out = {"fit": time.perf_counter() - t0}
    else:
        kw = {"kernel": "linear"}
        if setting.startswith("nystroem"):
            kw = {"kernel": "rbf", "kernel_approximation": "nystroem"}
        if name in _BAG_KERNELS:  # no threshold; "auto" takes the primal at this size
            kw = {"kernel_approximation": "nystroem", **({"C": 1.0} if setting.endswith(
                "fixed") else {})}
        elif setting.endswith("fixed"):
            kw.update(C=1.0, threshold=0.0)
        elif setting.startswith("libsvm") or setting.startswith("primal"):
            solver, C = setting.split("-")
            kw.update(C=float(C), threshold=0.0, solver=solver)
        cls = _LINEAR.get(name) or _BAG_KERNELS[name]
        cls(**kw).fit(bags[:40], y[:40])  # compile the numba kernels first
        rss0 = status_bytes("VmRSS")
        t0 = time.perf_counter()
        clf = cls(**kw).fit(bags, y)
        out = {"fit": time.perf_counter() - t0}
        t0 = time.perf_counter()
        pred = clf.predict(bags)
        out.update(predict=time.perf_counter() - t0, acc=float(np.mean(pred == y)),
                   n_iter=getattr(clf, "n_iter_", None), C=getattr(clf, "C_", None),
                   solver=getattr(clf, "solver_", None))
    # this process's peak over its resident size before the fit (VmHWM: ru_maxrss would
    # carry the parent's peak, from making the data, into this child)
    out["extra_mb"] = (status_bytes("VmHWM") - rss0) / 2**20
    out["x_mb"] = X.nbytes / 2**20
    print(json.dumps(out), flush=True)


def _run_child(path, name, setting):
    proc = subprocess.run([sys.executable, __file__, "--child", path, name, setting],
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _save(path, n_bags, bag_size, d):
    bags, y, _ = make_mil_classification(n_bags=n_bags, n_features=d, bag_size=bag_size,
                                         bag_size_distribution="fixed", random_state=0)
    np.savez(path, X=np.vstack(bags), y=y, size=bag_size)


def bench_linear(n_bags=100_000, bag_size=10, d=64, small_bags=60, small_C=(1, 10, 100),
                 approx=True, estimators=None):
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/bags.npz"
        _save(path, n_bags, bag_size, d)
        base = _run_child(path, "LinearSVC", "-")
        N = n_bags * bag_size
        print(f"{N} instances x {d} (instance array {base['x_mb']:.0f} MB); one "
              f"LinearSVC(dual=False) on all of them: {base['fit']:.1f} s, extra peak "
              f"{base['extra_mb'] / base['x_mb']:.1f}x", flush=True)
        print(f"{'estimator':<21} {'setting':<17} {'fit s':>7} {'fit/LinearSVC':>13} "
              f"{'predict s':>9} {'extra':>6} {'n_iter':>6} {'C_':>5} {'train acc':>9}")
        runs = [(name, setting) for name in _LINEAR for setting in ("fixed", "defaults")]
        if approx:
            runs += [(name, f"nystroem-{setting}")
                     for name in ("SIL", "InstanceMISVM", "MISVM", *_BAG_KERNELS)
                     for setting in ("fixed", "defaults")]
        if estimators:
            runs = [(name, setting) for name, setting in runs if name in estimators]
        for name, setting in runs:
            r = _run_child(path, name, setting)
            print(f"{name:<21} {setting:<17} {r['fit']:7.1f} "
                  f"{r['fit'] / base['fit']:12.1f}x {r['predict']:9.2f} "
                  f"{r['extra_mb'] / r['x_mb']:5.1f}x {r['n_iter'] or '-':>6} "
                  f"{r['C'] or '-':>5} {r['acc']:9.3f}", flush=True)
        if estimators and "InstanceMISVM" not in estimators:
            return
        _save(path, small_bags, bag_size, d)
        print(f"\nmi-SVM on {small_bags * bag_size} instances: libsvm's linear kernel "
              "(hinge loss) vs the primal solver (squared hinge)")
        for C in small_C:
            lib = _run_child(path, "InstanceMISVM", f"libsvm-{C}")
            pri = _run_child(path, "InstanceMISVM", f"primal-{C}")
            print(f"  C={C}: libsvm {lib['fit']:.3f} s ({lib['n_iter']} fits), primal "
                  f"{pri['fit']:.3f} s ({pri['n_iter']} fits): libsvm/primal = "
                  f"{ratio(lib['fit'], pri['fit'])}", flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _linear_child(*sys.argv[2:5])
        sys.exit(0)
    warnings.filterwarnings("ignore", message="Liblinear failed to converge")
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["gram", "misvm", "linear"])
    ap.add_argument("--max-iter", type=int, default=10)
    ap.add_argument("--kernel", default="linear", choices=["linear", "rbf"])
    ap.add_argument("--n-bags", type=int, default=10_000)
    ap.add_argument("--estimators", nargs="+", choices=[*_LINEAR, *_BAG_KERNELS],
                    help="with --only linear: only these estimators' rows")
    add_tiny_flag(ap)
    args = ap.parse_args()
    print_reproduce()
    gram = {}
    linear = {"estimators": args.estimators}
    if args.tiny:
        gram = {"n_bags": 100, "gemm_n": 300}
        args.n_bags, args.max_iter = 100, 2
        linear.update(n_bags=200, small_bags=30, small_C=(1,))
    # the full linear run takes minutes, so only --only linear (or --tiny) runs it
    if args.only == "linear" or (args.only is None and args.tiny):
        bench_linear(**linear)
    if args.only in (None, "gram"):
        bench_gram(**gram)
    if args.only in (None, "misvm"):
        bench_misvm(n_bags=args.n_bags, max_iter=args.max_iter, kernel=args.kernel)
