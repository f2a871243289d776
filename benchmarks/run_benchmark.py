"""The classic MIL benchmark table (the same as ``skmil benchmark``).

Every registered estimator (or ``--estimators``) x MUSK1, MUSK2, FOX, TIGER, ELEPHANT,
repeated stratified 10-fold CV (5 repetitions, seeds 0..4), instance standardisation fitted
inside each training fold, fixed hyperparameters from ``skmil.benchmark.SPECS`` (or nested
tuning with ``--tune``). Resumable: rerunning skips the folds already in ``results.csv``.

Reproduce the table in docs/benchmarks.rst::

    python benchmarks/run_benchmark.py --out benchmark_results/full
    python benchmarks/run_benchmark.py --digits --out benchmark_results/digits

Quick check (fast estimators, one repetition)::

    python benchmarks/run_benchmark.py --quick
"""

import sys

from skmil.benchmark import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
