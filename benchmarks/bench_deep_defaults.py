"""Deep MIL training time: the estimators' defaults vs the papers' one bag per step.

Each deep head is fitted on the training part of fold 0 (``StratifiedKFold(10,
shuffle=True, random_state=0)``, instances standardised on the training bags) of each
classic data set twice in the same run, the two fits taking turns: with the papers'
setting (``batch_size=1`` and the papers' learning rate and decay, the defaults of
skmil 0.1) and with the estimator's defaults (padded batches with the learning rate
scaled to the batch size). The script prints both fit times, their ratio per data set
and over the five sets together (the sum of the fit times), and the test-fold accuracy
of both fits (one fold: a sanity check, not an accuracy figure; the accuracy of the
defaults is the harness's, ``skmil benchmark``).

Both fits run the same code, so the ratio is the gain of the defaults alone; the flat
segment pooling and the faster dropout also shorten the one-bag fits a little, so the
ratio against skmil 0.1's code is at least the printed one.

Without torch (the ``deep`` extra) the script says so and exits 0.

Reproduce::

    OMP_NUM_THREADS=1 python benchmarks/bench_deep_defaults.py
    python benchmarks/bench_deep_defaults.py --tiny     # smoke test, seconds
"""

from __future__ import annotations

import argparse
import importlib.util

import numpy as np
from _timing import add_tiny_flag, best_of_interleaved, print_reproduce, ratio

from skmil.datasets import load_dataset
from skmil.preprocessing import InstanceTransformer

HEADS = ["InstanceMINet", "MINet", "MINetDS", "MINetRC", "AttentionMIL",
         "GatedAttentionMIL", "DSMIL"]
DATASETS = ["musk1", "musk2", "fox", "tiger", "elephant"]

#: The papers' one-bag-per-step training (skmil 0.1's defaults): batch size 1 with the
#: papers' learning rate and, for the MINNs heads, their per-step inverse-time decay.
_MINNS = {"batch_size": 1, "lr": 5e-4, "lr_decay": 1e-4}
PAPERS = {
    "InstanceMINet": _MINNS, "MINet": _MINNS, "MINetDS": _MINNS, "MINetRC": _MINNS,
    "AttentionMIL": {"batch_size": 1, "lr": 5e-4},
    "GatedAttentionMIL": {"batch_size": 1, "lr": 5e-4},
    "DSMIL": {"batch_size": 1, "lr": 2e-4},
}


def fold0(name: str):
    from sklearn.model_selection import StratifiedKFold

    bags, y = load_dataset(name, return_X_y=True)
    train, test = next(StratifiedKFold(10, shuffle=True, random_state=0).split(bags, y))
    scaler = InstanceTransformer().fit([bags[i] for i in train])
    return (scaler.transform([bags[i] for i in train]), y[train],
            scaler.transform([bags[i] for i in test]), y[test])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--heads", nargs="+", default=HEADS, choices=HEADS)
    ap.add_argument("--datasets", nargs="+", default=DATASETS, choices=DATASETS)
    add_tiny_flag(ap)
    args = ap.parse_args()
    print_reproduce()
    if importlib.util.find_spec("torch") is None:
        print("torch is not installed (pip install 'skmil[deep]'): skipped")
        return
    import torch

    import skmil.deep as deep

    print(f"torch {torch.__version__}; one torch thread per fit (the estimators' n_jobs=None)")
    data = {}
    for name in args.datasets:
        Xtr, ytr, Xte, yte = fold0(name)
        if args.tiny:
            keep = np.r_[np.flatnonzero(ytr == 0)[:6], np.flatnonzero(ytr == 1)[:6]]
            Xtr, ytr = [Xtr[i] for i in keep], ytr[keep]
        data[name] = (Xtr, ytr, Xte, yte)
    if args.tiny:
        args.heads, data = args.heads[:2], {k: data[k] for k in list(data)[:1]}
    Xw, yw = next(iter(data.values()))[:2]
    deep.MINet(max_epochs=1, random_state=0).fit(Xw, yw)  # warm-up: imports, allocator
    print(f"{'head':<18}{'data set':<10}{'papers s':>9}{'default s':>10}{'ratio':>8}"
          f"{'papers acc':>11}{'default acc':>12}")
    for head in args.heads:
        cls = getattr(deep, head)
        extra = {"max_epochs": 1} if args.tiny else {}
        total = [0.0, 0.0]
        for name, (Xtr, ytr, Xte, yte) in data.items():
            models = [cls(random_state=0, **PAPERS[head], **extra),
                      cls(random_state=0, **extra)]
            times = best_of_interleaved([lambda m=m, X=Xtr, y=ytr: m.fit(X, y) for m in models],
                                        repeats=1)
            acc = [float(np.mean(m.predict(Xte) == yte)) for m in models]
            total = [total[0] + times[0], total[1] + times[1]]
            print(f"{head:<18}{name:<10}{times[0]:9.2f}{times[1]:10.2f}"
                  f"{ratio(*times):>8}{acc[0]:11.3f}{acc[1]:12.3f}", flush=True)
        print(f"{head:<18}{'all':<10}{total[0]:9.2f}{total[1]:10.2f}{ratio(*total):>8}",
              flush=True)


if __name__ == "__main__":
    main()
