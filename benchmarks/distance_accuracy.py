"""Accuracy of the distance, graph and DD families on the five classic MIL data sets.

Protocol (house rules): ``RepeatedStratifiedKFold(n_splits=10, n_repeats=R, random_state=0)``
with ``make_pipeline(InstanceTransformer(), estimator)`` so that standardisation is fitted
inside each fold; every estimator with its defaults (``random_state=0`` where it has one).
The mean is over all 10 x R folds; "sd" is the standard deviation of the R repetition means.

Reproduce (single-threaded BLAS, as reported)::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/distance_accuracy.py \
        --datasets musk1 fox tiger elephant musk2 --repeats 5 --out results.csv

``--methods`` picks a subset of EMDD MIGraph MIGraphExplicit EMDSVM DD CitationKNN.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
import warnings

from sklearn.model_selection import RepeatedStratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from skmil.datasets import load_dataset  # noqa: E402
from skmil.dd import EMDD, DiverseDensity  # noqa: E402
from skmil.distance import EMDSVM, CitationKNN  # noqa: E402
from skmil.graph import MIGraph, MIGraphExplicit  # noqa: E402
from skmil.preprocessing import InstanceTransformer  # noqa: E402

METHODS = {
    "EMDD": lambda: EMDD(random_state=0),
    "MIGraph": lambda: MIGraph(),
    "MIGraphExplicit": lambda: MIGraphExplicit(),
    "EMDSVM": lambda: EMDSVM(),
    "DD": lambda: DiverseDensity(random_state=0),
    "CitationKNN": lambda: CitationKNN(),
}
PUBLISHED = {  # 10-fold CV x5 table of Ilse et al. 2018 / DSMIL 2021 (reference CSV)
    "EMDD": dict(musk1=0.849, musk2=0.869, fox=0.609, tiger=0.730, elephant=0.771),
    "MIGraph": dict(musk1=0.889, musk2=0.903, fox=0.620, tiger=0.860, elephant=0.869),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+",
                    default=["musk1", "fox", "tiger", "elephant", "musk2"])
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=None, help="append rows to this CSV file")
    args = ap.parse_args()
    warnings.simplefilter("ignore", UserWarning)  # EMD kernels are often indefinite
    for ds in args.datasets:
        X, y = load_dataset(ds, return_X_y=True)
        cv = RepeatedStratifiedKFold(n_splits=10, n_repeats=args.repeats, random_state=0)
        for name in args.methods:
            t0 = time.perf_counter()
            scores = cross_val_score(make_pipeline(InstanceTransformer(), METHODS[name]()),
                                     X, y, cv=cv)
            elapsed = time.perf_counter() - t0
            per_rep = scores.reshape(args.repeats, 10).mean(axis=1)
            pub = PUBLISHED.get(name, {}).get(ds)
            print(f"{ds:9s} {name:16s} acc={scores.mean():.3f} sd={per_rep.std():.3f} "
                  f"repeats={args.repeats} published={pub} time={elapsed:.0f}s", flush=True)
            if args.out:
                new = not os.path.exists(args.out)
                with open(args.out, "a", newline="") as fh:
                    w = csv.writer(fh)
                    if new:
                        w.writerow(["dataset", "method", "accuracy", "sd_repeats", "repeats",
                                    "published", "seconds"])
                    w.writerow([ds, name, f"{scores.mean():.4f}", f"{per_rep.std():.4f}",
                                args.repeats, pub, f"{elapsed:.0f}"])


if __name__ == "__main__":
    main()
