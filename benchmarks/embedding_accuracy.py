"""Accuracy of the bag-embedding family on the five classic MIL sets.

Protocol: ``RepeatedStratifiedKFold(n_splits=10, n_repeats=5, random_state=0)``, each
estimator inside ``make_pipeline(InstanceTransformer(), est)`` so instance
standardisation is fitted on the training folds only. Prints mean and std of the 50
fold accuracies next to the published means (``shared/reference/published_accuracy.csv``).

Methods run with their library defaults (miVLAD, miFV and BoW pick their codebook
size, and BoW also ``C``, by their built-in inner CV), except ``*-cv`` rows, which
choose the codebook size (miVLAD, miFV: K in 1, 2, 4, 8) or ``C`` (BoW, MILES) by an *inner* 3-fold
GridSearchCV on each outer training fold (nested, never seeing the test fold), and
``*-icv`` rows, which name the built-in inner CV explicitly (``n_clusters="cv"`` /
``n_components="cv"``: identical to the defaults).

Reproduce::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python \\
        benchmarks/embedding_accuracy.py                      # all methods, all sets
    python benchmarks/embedding_accuracy.py --methods miVLAD miFV \\
        --datasets musk1 fox
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, RepeatedStratifiedKFold, StratifiedKFold
from sklearn.pipeline import make_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skmil.datasets import load_dataset
from skmil.embedding import MILES, BagOfWordsClassifier, MiFV, MiVLAD, SimpleMI
from skmil.preprocessing import InstanceTransformer

PUBLISHED = {
    "miVLAD": [0.871, 0.872, 0.620, 0.811, 0.850],
    "miFV": [0.909, 0.884, 0.621, 0.813, 0.852],
    "MILES": [0.863, 0.877, None, None, None],  # Chen et al. 2006 (MUSK only) [R]
}
DATASETS = ["musk1", "musk2", "fox", "tiger", "elephant"]


def _inner(est, grid):
    return GridSearchCV(est, grid, cv=StratifiedKFold(3, shuffle=True, random_state=0))


def make_method(name: str):
    if name == "miVLAD":
        return MiVLAD(random_state=0)
    if name == "miFV":
        return MiFV(random_state=0)
    if name == "BoW":
        return BagOfWordsClassifier(random_state=0)
    if name == "MILES":
        return MILES()
    if name == "SimpleMI":
        return SimpleMI()
    if name == "miVLAD-icv":  # built-in inner CV over K (C fixed at 1)
        return MiVLAD(n_clusters="cv", random_state=0)
    if name == "miFV-icv":
        return MiFV(n_components="cv", random_state=0)
    if name == "miVLAD-cv":
        return _inner(MiVLAD(random_state=0),
                      {"n_clusters": [1, 2, 4, 8]})
    if name == "miFV-cv":
        return _inner(MiFV(random_state=0),
                      {"n_components": [1, 2, 4, 8]})
    if name == "BoW-cv":
        return _inner(BagOfWordsClassifier(random_state=0),
                      {"n_words": [5, 10, 20, 50], "C": [1.0, 10.0, 100.0]})
    if name == "MILES-cv":
        return _inner(MILES(), {"C": [0.1, 1.0, 10.0]})
    raise ValueError(name)


def _fold(name, bags, y, tr, te):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = make_pipeline(InstanceTransformer(), make_method(name))
        est.fit([bags[i] for i in tr], y[tr])
        return float(np.mean(est.predict([bags[i] for i in te]) == y[te]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--methods", nargs="+", default=["miVLAD", "miFV", "BoW", "MILES"])
    ap.add_argument("--datasets", nargs="+", default=DATASETS)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--n-jobs", type=int, default=2)
    args = ap.parse_args()
    cv = RepeatedStratifiedKFold(n_splits=10, n_repeats=args.repeats, random_state=0)
    print(f"{'method':10s} {'dataset':9s} {'mean':>6s} {'std':>6s} {'published':>9s} {'time':>7s}")
    for name in args.methods:
        for ds in args.datasets:
            bags, y = load_dataset(ds, return_X_y=True)
            y = np.asarray(y)
            t0 = time.perf_counter()
            accs = Parallel(n_jobs=args.n_jobs)(
                delayed(_fold)(name, bags, y, tr, te) for tr, te in cv.split(np.zeros(len(y)), y)
            )
            pub = PUBLISHED.get(name.split("-")[0], [None] * 5)[DATASETS.index(ds)]
            pub_s = f"{pub:.3f}" if pub is not None else "-"
            print(f"{name:10s} {ds:9s} {np.mean(accs):6.3f} {np.std(accs):6.3f} {pub_s:>9s} "
                  f"{time.perf_counter() - t0:6.1f}s", flush=True)


if __name__ == "__main__":
    main()
