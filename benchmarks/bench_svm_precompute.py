"""mi-SVM / MI-SVM fit time: precomputed instance kernel vs libsvm's kernel cache.

The two paths of :class:`skmil.svm.InstanceMISVM` and :class:`skmil.svm.MISVM` solve the same
problems (identical models, tested in ``tests/test_svm_mi_svm.py``); this script measures
which is faster on the shipped data sets, to justify the ``max_precomputed`` threshold.
Per data set: all bags, instances standardised, ``C=10``, RBF ``gamma="scale"``; the
best of ``--repeats`` fits of each path, single-threaded. The ratio is cache time /
precomputed time (above 1: precomputing wins).

Reproduce::

    python benchmarks/bench_svm_precompute.py
    python benchmarks/bench_svm_precompute.py --tiny     # smoke test, seconds
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402

import numpy as np  # noqa: E402
from _timing import add_tiny_flag, best_of, print_reproduce, ratio  # noqa: E402

from skmil.datasets import load_dataset  # noqa: E402
from skmil.svm import MISVM, InstanceMISVM  # noqa: E402


def _best(cls, bags, y, max_precomputed: int, repeats: int, max_iter: int) -> float:
    def fit():
        return cls(C=10.0, max_precomputed=max_precomputed, max_iter=max_iter).fit(bags, y)

    return best_of(fit, repeats=repeats)[0]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="*",
                    default=["musk1", "fox", "tiger", "elephant", "musk2"])
    ap.add_argument("--repeats", type=int, default=3)
    add_tiny_flag(ap)
    args = ap.parse_args(argv)
    print_reproduce()
    max_iter = 50
    if args.tiny:
        args.datasets, args.repeats, max_iter = ["musk1"], 1, 2
    print(f"{'data set':<9} {'method':<6} {'points':>7} {'precomputed s':>14} "
          f"{'cache s':>8} {'cache/precomputed':>18}")
    for name in args.datasets:
        bags, y = load_dataset(name, return_X_y=True)
        X = np.vstack(bags)
        mu, sd = X.mean(0), X.std(0)
        sd[sd == 0] = 1.0
        bags = [(b - mu) / sd for b in bags]
        if args.tiny:
            bags, y = bags[::3], np.asarray(y)[::3]
        n_inst = sum(len(b) for b in bags)
        for cls in (MISVM, InstanceMISVM):
            points = n_inst + (len(bags) if cls is MISVM else 0)
            pre = _best(cls, bags, y, 10**9, args.repeats, max_iter)
            cache = _best(cls, bags, y, 0, args.repeats, max_iter)
            print(f"{name:<9} {cls.__name__:<6} {points:>7} {pre:>14.3f} {cache:>8.3f} "
                  f"{ratio(cache, pre):>18}", flush=True)


if __name__ == "__main__":
    main()
