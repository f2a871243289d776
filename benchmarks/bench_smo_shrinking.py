"""Where shrinking starts to pay in skmil's SMO (``skmil.svm._smo``, sMIL's solver).

Shrinking restricts the SMO iterations to the variables that can still move; it costs
a gradient rebuild at the end and, on a cold numba cache, the compilation of its
kernels. ``smo_solve(shrinking="auto")`` shrinks from ``SHRINKING_MIN_N`` variables
on; this script times ``shrinking=False`` and ``shrinking=True`` (warm cache, best of
``--repeats``, the two interleaved) on two families of problems of growing size ``n``:

* ``smil``: sMIL's own QP (negative instances and positive bags, averaged RBF set
  kernel, ``class_weight="balanced"``) on ``make_mil_classification`` bags of 10
  instances x 20 features, as :class:`skmil.svm.SparseMIL` builds it;
* ``svc``: a C-SVC dual (``p = -1``, ``C = 1``) on an RBF Gram of Gaussian points
  with 20% flipped labels, so that most variables end at a bound.

Columns: both times, their ratio (above 1: shrinking is faster), and the largest
difference of the two solutions' ``alpha`` (both meet the same stopping rule).

Reproduce::

    python benchmarks/bench_smo_shrinking.py
    python benchmarks/bench_smo_shrinking.py --sizes 1000,2000,4000 --repeats 5
    python benchmarks/bench_smo_shrinking.py --tiny     # smoke test, seconds
"""

from __future__ import annotations

import argparse

import numpy as np
from _timing import add_tiny_flag, best_of_interleaved, print_reproduce, ratio

from skmil._kernels.set_kernel import instance_kernel, resolve_gamma
from skmil.datasets import make_mil_classification
from skmil.svm._smo import SHRINKING_MIN_N, smo_solve
from skmil.svm.smil import _singletons_then_bags_gram


def smil_problem(n: int, seed: int) -> tuple:
    """sMIL's QP with about ``n`` variables (negative instances + positive bags)."""
    # half the bags negative: n ~ 10 * n_bags / 2 + n_bags / 2
    n_bags = max(4, int(round(n / 5.5)))
    bags, y, _ = make_mil_classification(
        n_bags=n_bags, n_features=20, bag_size=10, bag_size_distribution="fixed",
        random_state=seed)
    neg = [bags[i] for i in np.flatnonzero(y == 0)]
    pos = [bags[i] for i in np.flatnonzero(y == 1)]
    Xs = np.vstack(neg)
    Xb = np.vstack(pos)
    boff = np.concatenate([[0], np.cumsum([len(b) for b in pos])]).astype(np.int64)
    gamma = resolve_gamma("scale", np.vstack([Xs, Xb]))
    K = _singletons_then_bags_gram(Xs, Xb, boff, ("rbf", gamma, 3, 0.0))
    L, B = Xs.shape[0], len(pos)
    sizes = np.diff(boff).astype(np.float64)
    y_pm = np.concatenate([-np.ones(L), np.ones(B)])
    p = np.concatenate([-np.ones(L), -(2.0 - sizes) / sizes])
    m = L + B
    C = np.concatenate([np.full(L, m / (2.0 * L)), np.full(B, m / (2.0 * B))])
    return K, p, y_pm, C


def svc_problem(n: int, seed: int) -> tuple:
    """C-SVC dual on an RBF Gram of ``n`` noisy points."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 10))
    y = np.where(X[:, 0] + X[:, 1] > 0, 1.0, -1.0)
    y[rng.random(n) < 0.2] *= -1
    K = instance_kernel(X, X, "rbf", 0.1, 3, 0.0)
    return K, -np.ones(n), y, np.ones(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="250,500,1000,2000,3000,5000",
                        help="comma-separated numbers of variables")
    parser.add_argument("--repeats", type=int, default=3)
    add_tiny_flag(parser)
    args = parser.parse_args()
    print_reproduce()
    sizes = [100, 300] if args.tiny else [int(s) for s in args.sizes.split(",")]
    repeats = 1 if args.tiny else args.repeats
    # compile both paths before timing
    K, p, y, C = svc_problem(50, 0)
    smo_solve(K, p, y, C, shrinking=False)
    smo_solve(K, p, y, C, shrinking=True)
    print(f"SHRINKING_MIN_N = {SHRINKING_MIN_N}")
    header = (f"{'problem':<8} {'n':>6} {'iters':>8} {'no shrink s':>12} {'shrink s':>10} "
              f"{'no/shrink':>10} {'max |da|':>10}")
    print(header)
    print("-" * len(header))
    for family, make in (("smil", smil_problem), ("svc", svc_problem)):
        for n in sizes:
            K, p, y, C = make(n, 0)
            res = {}

            def run(shrinking, K=K, p=p, y=y, C=C, res=res):
                res[shrinking] = smo_solve(K, p, y, C, shrinking=shrinking)

            t_plain, t_shrink = best_of_interleaved(
                [lambda: run(False), lambda: run(True)], repeats=repeats)
            da = np.abs(res[False][0] - res[True][0]).max()
            print(f"{family:<8} {K.shape[0]:>6} {res[False][2]:>8} {t_plain:>12.4f} "
                  f"{t_shrink:>10.4f} {ratio(t_plain, t_shrink):>10} {da:>10.1e}",
                  flush=True)


if __name__ == "__main__":
    main()
