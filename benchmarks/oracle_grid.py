"""Upper bound of tuned accuracy: every grid point scored on the harness's own test folds.

For one estimator and data set, each combination of a hyperparameter grid is run
through the benchmark folds (repeated stratified 10-fold, instance standardisation
fitted inside each fold, seeds as in ``skmil benchmark``), and the combinations are
printed best first by mean test accuracy. Picking the best row looks at the test
folds, so it is **optimistic by construction**: it bounds from above what any honest
tuning (nested CV, ``skmil benchmark --tune``) over the same grid can reach. If even
this bound is below a published number, no choice from the grid reaches it under this
protocol.

Reproduce (the scans quoted in the twelfth session's notes; one repetition, 2 processes)::

    python benchmarks/oracle_grid.py miSVM tiger \\
        '{"gamma": [0.001, 0.002, 0.004, 0.008], "C": [1, 10, 100]}'
    python benchmarks/oracle_grid.py MISVM elephant \\
        '{"kernel": ["linear"], "C": [0.01, 0.1, 1, 10, 100], "threshold": [0.0, "auto"]}'
    python benchmarks/oracle_grid.py MIKernelSVM elephant \\
        '{"gamma": [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016], "C": [0.1, 1, 10, 100]}'
    python benchmarks/oracle_grid.py MiVLAD musk1 \\
        '{"n_clusters": [1, 2, 5, 10, 20, 50], "C": [0.1, 1, 10], "random_state": [0]}' \\
        --repeats 3

Added in the thirteenth session (also quoted on the Benchmarks page)::

    python benchmarks/oracle_grid.py MIGraph tiger '{"gamma": [0.00043, 0.0013, 0.0043,
        0.013, 0.043], "C": [0.1, 1, 10, 100], "normalization": ["cosine", "paper", "code",
        "none"]}' --repeats 3                                     # and elephant
    python benchmarks/oracle_grid.py MiVLAD musk2 '{"n_clusters": [1, 2, 5, 10, 20, 50],
        "C": [0.01, 0.1, 1, 10, 100], "random_state": [0]}' --repeats 3   # and musk1
    python benchmarks/oracle_grid.py MiFV tiger '{"n_components": [1, 2, 5, 10, 20],
        "pca": [null, 0.9], "C": [0.1, 1, 10], "random_state": [0]}'

Added in the fourteenth session (three repetitions; quoted on the Benchmarks page)::

    python benchmarks/oracle_grid.py miSVM tiger '{"gamma": [0.001, 0.002, 0.004, 0.008],
        "C": [1, 10, 100], "threshold": [0.0, "auto"]}' --repeats 3   # and elephant
    python benchmarks/oracle_grid.py miSVM musk1 '{"gamma": [0.0015, 0.003, 0.006, 0.012,
        0.024], "C": [1, 10, 100, 1000]}' --repeats 3
    python benchmarks/oracle_grid.py miSVM musk1 '{"gamma": [0.006, 0.012, 0.024, 0.048,
        0.096], "C": [1, 10, 100], "threshold": [0.0, "auto"]}' --repeats 3
    python benchmarks/oracle_grid.py miSVM musk2 '{"gamma": [0.003, 0.006, 0.012],
        "C": [1, 10, 100]}' --repeats 3
    python benchmarks/oracle_grid.py MISVM elephant '{"gamma": [0.001, 0.002, 0.004, 0.008],
        "C": [1, 10, 100], "negative_slack": ["instance", "bag"]}' --repeats 3   # and tiger
    python benchmarks/oracle_grid.py MIKernelSVM elephant '{"gamma": [0.0005, 0.001, 0.002,
        0.004, 0.008, 0.016], "C": [0.1, 1, 10, 100]}' --repeats 3        # and tiger
    python benchmarks/oracle_grid.py MIKernelSVM musk1 '{"gamma": [0.00075, 0.0015, 0.003,
        0.006, 0.012, 0.024], "C": [0.1, 1, 10, 100]}' --repeats 3
"""

from __future__ import annotations

import argparse
import itertools
import json
import time

import numpy as np
from joblib import Parallel, delayed

from skmil.bags import check_bags
from skmil.datasets import load_dataset
from skmil.model_selection import repeated_folds, run_fold, with_standardization
from skmil.utils import get_estimator


def _score(name, params, bags, y, folds):
    est = get_estimator(name)().set_params(**params)
    if "random_state" in est.get_params() and "random_state" not in params:
        est.set_params(random_state=0)
    pipe = with_standardization(est)
    accs = [run_fold(pipe, bags, y, tr, te, r, k, s).accuracy for r, k, s, tr, te in folds]
    return params, float(np.mean(accs))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("estimator")
    ap.add_argument("dataset")
    ap.add_argument("grid", help='JSON object of lists, e.g. \'{"C": [1, 10]}\'')
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--n-jobs", type=int, default=2)
    args = ap.parse_args(argv)
    grid = json.loads(args.grid)
    X, y = load_dataset(args.dataset, return_X_y=True)
    bags = check_bags(X)
    folds = repeated_folds(y, 10, args.repeats, 0)
    combos = [dict(zip(grid, c)) for c in itertools.product(*grid.values())]
    t0 = time.perf_counter()
    res = Parallel(n_jobs=args.n_jobs)(
        delayed(_score)(args.estimator, p, bags, y, folds) for p in combos
    )
    print(f"{args.estimator} on {args.dataset}: {len(combos)} grid points x "
          f"{len(folds)} folds, best first (test-fold selection: an upper bound)")
    for p, acc in sorted(res, key=lambda t: -t[1]):
        print(f"  {acc:.3f}  {p}")
    print(f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
