"""Bag accuracy of the SVM family on the five classic MIL sets (10-fold CV x 5).

Protocol (the project's): ``RepeatedStratifiedKFold(n_splits=10, n_repeats=5,
random_state=0)``, ``make_pipeline(InstanceTransformer(), estimator)`` so the
standardisation is fitted inside each training fold. Hyperparameters are the
estimators' defaults unless ``--grid`` is given, in which case ``C`` (and ``gamma``)
are chosen per outer training fold by an inner 3-fold stratified CV over the grid
written in ``GRIDS`` below (never on the test fold).

Reproduce::

    python benchmarks/svm_accuracy.py --methods MIKernelSVM miSVM MISVM
    python benchmarks/svm_accuracy.py --datasets musk2 --repeats 1 --methods miSVM
    python benchmarks/svm_accuracy.py --methods miSVM --grid --grid-class-weight
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV,
    RepeatedStratifiedKFold,
    StratifiedKFold,
    cross_val_score,
)
from sklearn.pipeline import make_pipeline  # noqa: E402

from skmil import svm  # noqa: E402
from skmil.datasets import load_dataset  # noqa: E402
from skmil.preprocessing import InstanceTransformer  # noqa: E402

PUBLISHED = {  # shared/reference/published_accuracy.csv
    "miSVM": {"musk1": 0.874, "musk2": 0.836, "fox": 0.582, "tiger": 0.784, "elephant": 0.822},
    "MISVM": {"musk1": 0.779, "musk2": 0.843, "fox": 0.578, "tiger": 0.840, "elephant": 0.843},
    "MIKernelSVM": {"musk1": 0.880, "musk2": 0.893, "fox": 0.603, "tiger": 0.842,
                    "elephant": 0.843},
}

# inner-CV grids (--grid). After InstanceTransformer every feature has unit variance,
# so gamma="scale" is 1/d; the set-kernel grid also scans gamma around it.
def grid_for(meth, d, class_weight=False):
    g = {"C": [0.1, 1.0, 10.0, 100.0]}
    if class_weight:
        g["class_weight"] = [None, "balanced"]
    if meth == "MIKernelSVM":
        g["gamma"] = [0.3 / d, 1.0 / d, 3.0 / d]
    return g


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", nargs="*",
                    default=["musk1", "musk2", "fox", "tiger", "elephant"])
    ap.add_argument("--methods", nargs="*", default=["MIKernelSVM", "miSVM", "MISVM"])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--grid", action="store_true")
    ap.add_argument("--grid-class-weight", action="store_true",
                    help="also choose class_weight in {None, 'balanced'} by inner CV")
    ap.add_argument("--n-jobs", type=int, default=1)
    ap.add_argument("--param", action="append", default=[],
                    help="fixed estimator parameter, e.g. --param C=10")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    fixed = {}
    for kv in args.param:
        k, v = kv.split("=")
        try:
            fixed[k] = float(v) if "." in v or "e" in v else int(v)
        except ValueError:
            fixed[k] = v
    for name in args.datasets:
        bags, y = load_dataset(name, return_X_y=True)
        for meth in args.methods:
            est = getattr(svm, meth)(**fixed)
            model = make_pipeline(InstanceTransformer(), est)
            if args.grid:
                step = model.steps[-1][0]
                d = np.asarray(bags[0]).shape[1]
                g = grid_for(meth, d, args.grid_class_weight)
                grid = {f"{step}__{k}": v for k, v in g.items()}
                model = GridSearchCV(model, grid, cv=StratifiedKFold(3, shuffle=True,
                                                                      random_state=0))
            cv = RepeatedStratifiedKFold(n_splits=10, n_repeats=args.repeats, random_state=0)
            t = time.perf_counter()
            s = cross_val_score(model, bags, y, cv=cv, n_jobs=args.n_jobs)
            pub = PUBLISHED.get(meth, {}).get(name)
            pub_s = f"{pub:.3f}" if pub else "  -  "
            print(f"{name:9s} {meth:12s} acc {s.mean():.3f} +- {s.std() / np.sqrt(len(s)):.3f} "
                  f"(sd {s.std():.3f}, {len(s)} folds)  published {pub_s}  "
                  f"params {fixed or 'defaults'}{' +grid' if args.grid else ''}"
                  f"{' +class_weight' if args.grid_class_weight else ''}  "
                  f"{time.perf_counter() - t:.0f} s", flush=True)


if __name__ == "__main__":
    main()
