"""Accuracy of the deep MIL estimators on the five classic data sets.

Protocol: ``RepeatedStratifiedKFold(n_splits=10, n_repeats=R, random_state=0)``; in every
fold ``make_pipeline(InstanceTransformer(), Estimator(random_state=fold))`` with the
estimator's defaults (the papers' settings, DSMIL with an encoder; docs/deep.rst): the fixed
number of epochs on every training bag and the threshold 0.5, so nothing is chosen on
the test fold. The published means (``published_accuracy.csv``) used the papers' own
protocols (the last epoch's test accuracy for MINNs; the best test epoch and a
test-fold threshold for DSMIL), so DSMIL's are not comparable.

Reproduce (full protocol, hours on 2 shared cores)::

    OMP_NUM_THREADS=1 python benchmarks/deep_accuracy.py --repeats 5

or a subset::

    OMP_NUM_THREADS=1 python benchmarks/deep_accuracy.py --repeats 1 \
        --datasets musk1 fox --methods MiNet AttentionMIL
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from joblib import Parallel, delayed
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.pipeline import make_pipeline

from skmil.benchmark import published_accuracy
from skmil.datasets import load_dataset
from skmil.preprocessing import InstanceTransformer

METHODS = {
    "MiNet": "mi-Net",
    "MINet": "MI-Net",
    "MINetDS": "MI-Net with DS",
    "MINetRC": "MI-Net with RC",
    "AttentionMIL": "AbMILP",
    "GatedAttentionMIL": "AbMILP-Gated",
    "DSMIL": "DSMIL",
}
DATASETS = ["musk1", "musk2", "fox", "tiger", "elephant"]
def published():
    """The shipped copy of the literature's means: ``{(method, dataset): mean}``."""
    return {k: mean for k, (mean, _) in published_accuracy().items()}


def run_fold(method, bags, y, tr, te, seed):
    import skmil.deep as deep

    est = getattr(deep, method)(random_state=seed)
    pipe = make_pipeline(InstanceTransformer(), est)
    t0 = time.perf_counter()
    pipe.fit([bags[i] for i in tr], y[tr])
    acc = float(np.mean(pipe.predict([bags[i] for i in te]) == y[te]))
    fitted = pipe[-1]
    return acc, time.perf_counter() - t0, fitted.best_epoch_, fitted.threshold_


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=DATASETS)
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--n-jobs", type=int, default=1, help="joblib processes over folds")
    ap.add_argument("--out", default=None, help="append per-run rows to this CSV")
    args = ap.parse_args()
    pub = published()
    print(f"protocol: 10-fold x {args.repeats} repeats, validation-chosen epoch+threshold")
    print(f"{'method':<18}{'dataset':<10}{'acc':>7}{'sd':>7}{'published':>10}"
          f"{'epoch':>7}{'s/fit':>7}")
    for name in args.datasets:
        bags, y = load_dataset(name, return_X_y=True)
        y = np.asarray(y)
        cv = RepeatedStratifiedKFold(n_splits=10, n_repeats=args.repeats, random_state=0)
        splits = list(cv.split(np.zeros(len(y)), y))
        for method in args.methods:
            res = Parallel(n_jobs=args.n_jobs)(
                delayed(run_fold)(method, bags, y, tr, te, k)
                for k, (tr, te) in enumerate(splits))
            accs = np.array([r[0] for r in res])
            # mean over repetitions of the 10-fold mean, sd over folds (as the papers)
            p = pub.get((METHODS[method], name))
            print(f"{method:<18}{name:<10}{accs.mean():7.3f}{accs.std():7.3f}"
                  f"{(f'{p:.3f}' if p else 'n/a'):>10}"
                  f"{np.mean([r[2] for r in res]):7.1f}{np.mean([r[1] for r in res]):7.1f}",
                  flush=True)
            if args.out:
                with open(args.out, "a") as fh:
                    fh.write(f"{method},{name},{args.repeats},{accs.mean():.4f},"
                             f"{accs.std():.4f},{p}\n")


if __name__ == "__main__":
    main()
