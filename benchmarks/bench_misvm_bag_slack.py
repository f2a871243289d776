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
    python benchmarks/bench_misvm_bag_slack.py --tiny     # smoke test, seconds

The QP column needs cvxpy (the ``test`` or ``benchmark`` extra); without it the column
shows ``-``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import numpy as np
from _timing import add_tiny_flag, best_of, print_reproduce, ratio

from skmil._kernels.set_kernel import instance_kernel
from skmil.datasets import load_dataset
from skmil.svm import MISVM
from skmil.svm._common import libsvm_binary_fit
from skmil.svm._group_smo import group_smo_solve

HAVE_CVXPY = importlib.util.find_spec("cvxpy") is not None
if HAVE_CVXPY:
    # the cvxpy formulation is a test oracle and lives with the tests
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from _bag_slack_qp import solve_group_slack_dual


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
    out["smo"], (a, _, _, out["smo_iter"]) = best_of(
        lambda: group_smo_solve(K, y, C, groups), repeats=1)
    out["n_sv"] = int(np.count_nonzero(a))
    if qp:
        out["qp"], res = best_of(lambda: solve_group_slack_dual(y, C, groups, K=K), repeats=1)
        ref = _objective(res.alpha, y, K)
        out["gap"] = (ref - _objective(a, y, K)) / abs(ref)
    out["libsvm"], _ = best_of(
        lambda: libsvm_binary_fit(K, y.astype(int), kernel="precomputed", C=10.0), repeats=1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="400,800,1600")
    ap.add_argument("--qp-max", type=int, default=1600,
                    help="largest n also solved by the cvxpy QP")
    ap.add_argument("--no-fox", action="store_true")
    add_tiny_flag(ap)
    args = ap.parse_args()
    print_reproduce()
    if args.tiny:
        args.sizes, args.qp_max = "80", 80
    if not HAVE_CVXPY:
        print("cvxpy is not installed: the QP column is skipped")
    rng = np.random.default_rng(0)
    group_smo_solve(np.eye(2), np.array([1.0, -1.0]), np.ones(2), np.array([-1, 0]))  # compile
    print(f"{'n':>6} {'SMO (s)':>9} {'SMO it':>8} {'QP (s)':>8} {'QP/SMO':>7} "
          f"{'obj gap':>9} {'libsvm (s)':>11} {'SMO/libsvm':>11} {'n_SV':>6}")
    for n in (int(s) for s in args.sizes.split(",")):
        r = one_problem(n, rng, HAVE_CVXPY and n <= args.qp_max)
        qp = (f"{r['qp']:>8.2f} {ratio(r['qp'], r['smo']):>7} {r['gap']:>9.1e}" if "qp" in r
              else f"{'-':>8} {'-':>7} {'-':>9}")
        print(f"{n:>6} {r['smo']:>9.3f} {r['smo_iter']:>8d} {qp} {r['libsvm']:>11.3f} "
              f"{ratio(r['smo'], r['libsvm']):>11} {r['n_sv']:>6}", flush=True)
    if args.no_fox:
        return
    bags, y = load_dataset("fox", return_X_y=True)
    if args.tiny:
        bags, y = bags[::10], np.asarray(y)[::10]
    times = {}
    for mode in ("instance", "bag"):
        def fit(mode=mode):
            return MISVM(C=10.0, negative_slack=mode).fit(bags, y)

        times[mode], clf = best_of(fit, repeats=1, warmup=True)  # warm-up: numba, caches
        print(f"FOX MISVM(C=10, negative_slack={mode!r}): fit {times[mode]:.3f} s, "
              f"{clf.n_iter_} inner SVMs ({clf.stop_reason_})", flush=True)
    print(f"FOX fit time ratio bag/instance: {ratio(times['bag'], times['instance'])}")


if __name__ == "__main__":
    main()
