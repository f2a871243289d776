"""How much does whole-data-set standardisation move the deep heads' accuracy? (diagnostic)

The MINNs scripts (Wang et al. 2018), whose protocol the attention paper (Ilse et al.
2018) reports with, z-score every instance with the mean and standard deviation of the
*whole* data set before cross-validation, so the test fold's instances shape the
scaling. The harness (``skmil benchmark``) fits the scaler on the training fold only.
This script runs one head on the harness's folds and seeds (repetition ``r`` =
``StratifiedKFold(10, shuffle=True, random_state=r)``, ``random_state=seed`` as in the
harness) in either mode and prints the per-data-set accuracy:

* ``fold``: the harness's pipeline (``InstanceTransformer()`` + the estimator), which
  must reproduce the harness rows (a check that the comparison is paired);
* ``whole``: the estimator alone on bags standardised with whole-data-set statistics
  (test instances included: this leaks, and is only here to measure the leak).

It uses the test labels only to score, and nothing is chosen on them. Reproduce the
numbers quoted in docs/deep.rst (first repetition; each fit is 10-100 s on one core)::

    OMP_NUM_THREADS=1 python benchmarks/deep_zscore_leak.py AttentionMIL --mode whole
    OMP_NUM_THREADS=1 python benchmarks/deep_zscore_leak.py AttentionMIL --mode fold \\
        --datasets musk1 --folds 0 1
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from joblib import Parallel, delayed
from sklearn.preprocessing import StandardScaler

from skmil.bags import Bags, check_bags
from skmil.benchmark import _read_rows, _standardized_estimator
from skmil.datasets import load_dataset
from skmil.model_selection import repeated_folds, run_fold

DATASETS = ["musk1", "musk2", "fox", "tiger", "elephant"]
HARNESS_ROWS = os.path.join(os.path.dirname(__file__), "results", "classic_results.csv")


def _fold(name, mode, bags, y, r, k, seed, tr, te):
    # the harness's own pipeline (seeded default estimator after in-fold scaling), so
    # "fold" reproduces its rows by construction; "whole" drops the scaling step
    pipe = _standardized_estimator(name, {}, seed)
    if mode == "whole":
        pipe = pipe[-1]
    res = run_fold(pipe, bags, y, tr, te, r, k, seed)
    return k, res.accuracy, res.fit_time


def _whole_standardised(bags: Bags) -> Bags:
    X = StandardScaler().fit_transform(bags.instances)
    return Bags(X, bags.offsets)


def _harness(name, dataset, repeat):
    """The harness's accuracy per fold for the estimator's defaults, if recorded."""
    return {int(row["fold"]): float(row["accuracy"]) for row in _read_rows(HARNESS_ROWS)
            if row["estimator"] == name and row["dataset"] == dataset
            and int(row["repeat"]) == repeat and row["params"] == "{}"
            and row["tuned"] == "0"}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("estimator", help="a deep head, e.g. AttentionMIL")
    ap.add_argument("--mode", choices=["fold", "whole"], default="whole")
    ap.add_argument("--datasets", nargs="+", default=DATASETS, choices=DATASETS)
    ap.add_argument("--repeat", type=int, default=0, help="harness repetition (seed)")
    ap.add_argument("--folds", nargs="+", type=int, default=list(range(10)))
    ap.add_argument("--n-jobs", type=int, default=2)
    args = ap.parse_args(argv)
    print(f"{args.estimator}, mode={args.mode}, repetition {args.repeat}, "
          f"folds {args.folds}")
    print(f"{'data':9s} {'acc':>6s} {'harness':>8s} {'diff':>6s} {'same folds':>10s} "
          f"{'fit s':>7s}")
    for ds in args.datasets:
        X, y = load_dataset(ds, return_X_y=True)
        bags = check_bags(X)
        if args.mode == "whole":
            bags = _whole_standardised(bags)
        folds = [f for f in repeated_folds(y, 10, args.repeat + 1, args.repeat)
                 if f[0] == args.repeat and f[1] in args.folds]
        t0 = time.perf_counter()
        res = Parallel(n_jobs=args.n_jobs)(
            delayed(_fold)(args.estimator, args.mode, bags, y, *f) for f in folds
        )
        acc = {k: a for k, a, _ in res}
        ref = _harness(args.estimator, ds, args.repeat)
        mean = float(np.mean(list(acc.values())))
        if all(k in ref for k in acc):
            h = float(np.mean([ref[k] for k in acc]))
            same = sum(abs(acc[k] - ref[k]) < 1e-12 for k in acc)
            print(f"{ds:9s} {mean:6.3f} {h:8.3f} {mean - h:+6.3f} {same:>5d}/{len(acc):<4d} "
                  f"{time.perf_counter() - t0:7.0f}", flush=True)
        else:
            print(f"{ds:9s} {mean:6.3f} {'-':>8s} {'-':>6s} {'-':>10s} "
                  f"{time.perf_counter() - t0:7.0f}", flush=True)


if __name__ == "__main__":
    main()
