"""Training curves of mi-Net on the digits bags: why one data draw fails.

In the harness's digits benchmark (``skmil benchmark --digits``) mi-Net with its
defaults scored a test bag AUC of 0.43-0.55 on the third data draw (repetition 2,
seed 2007) in five of the six cells with 50-100 training bags, while fitting its
training bags. This script refits mi-Net on the harness's draws of those cells
(same ``make_digits_bags`` seeds, same in-fold standardisation) for several network
seeds and L2 strengths, and scores the training and test bags after *every* epoch
through a private per-epoch hook (which changes nothing in the training), so the
curves show whether the test AUC never rises (a spurious rule fitted from the start)
or rises and then falls (over-fitting that fewer epochs or more L2 would stop).

Nothing here chooses a default: the per-epoch test AUCs look at the test bags and are
diagnostics only.

Reproduce (one torch thread per run; 5-20 s a run on one core)::

    OMP_NUM_THREADS=1 python benchmarks/deep_minet_draws.py --n-jobs 2 \\
        --out minet_draws.csv
"""

from __future__ import annotations

import argparse
import json
from itertools import product

import numpy as np
from _resumable_csv import append_parallel, done_keys
from joblib import delayed
from sklearn.metrics import roc_auc_score

CHECKPOINTS = (1, 5, 10, 20, 30, 40, 50)


def _run(n_train, bag_size, repeat, net_seed, weight_decay):
    import torch

    from skmil.bags import check_bags
    from skmil.datasets import make_digits_bags
    from skmil.deep import MiNet
    from skmil.deep._train import predict_outputs
    from skmil.preprocessing import InstanceTransformer

    torch.set_num_threads(1)
    seed = 1000 * repeat + 7  # the harness's draw (skmil.benchmark._digits_task)
    Xtr, ytr, _ = make_digits_bags(n_train, mean_bag_size=bag_size, std_bag_size=bag_size / 5,
                                   pool="train", random_state=seed)
    Xte, yte, _ = make_digits_bags(1000, mean_bag_size=bag_size, std_bag_size=bag_size / 5,
                                   pool="test", random_state=seed + 1)
    scaler = InstanceTransformer().fit(Xtr)
    tr, te = check_bags(scaler.transform(Xtr)), check_bags(scaler.transform(Xte))
    curve = []

    def hook(epoch, net):
        param = next(net.parameters())
        aucs = []
        for bags, y in ((tr, ytr), (te, yte)):
            out = predict_outputs(net, bags.instances, bags.offsets, param.device, param.dtype)
            aucs.append(float(roc_auc_score(y, out["bag_logit"])))
        curve.append(aucs)

    est = MiNet(random_state=net_seed, weight_decay=weight_decay, device="cpu")
    est._epoch_hook = hook
    est.fit(tr, ytr)
    curve = np.asarray(curve)
    return {
        "n_train": n_train, "bag_size": bag_size, "repeat": repeat, "draw_seed": seed,
        "net_seed": net_seed, "weight_decay": weight_decay,
        "test_auc_final": float(roc_auc_score(yte, est.decision_function(te))),
        "train_auc_final": float(curve[-1, 0]),
        "test_auc_max": float(curve[:, 1].max()),
        "test_auc_argmax": int(curve[:, 1].argmax() + 1),
        "test_auc_curve": json.dumps({e: round(float(curve[e - 1, 1]), 3)
                                      for e in CHECKPOINTS if e <= len(curve)}),
        "train_auc_curve": json.dumps({e: round(float(curve[e - 1, 0]), 3)
                                       for e in CHECKPOINTS if e <= len(curve)}),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train-bags", type=int, nargs="+", default=[50, 100])
    ap.add_argument("--bag-sizes", type=int, nargs="+", default=[10, 50, 100])
    ap.add_argument("--repeats", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--net-seeds", type=int, nargs="+", default=[0, 1, 2],
                    help="offsets added to the harness's seed (the draw seed)")
    ap.add_argument("--weight-decay", type=float, nargs="+", default=[0.01, 0.0, 0.1])
    ap.add_argument("--n-jobs", type=int, default=1)
    ap.add_argument("--out", default="minet_draws.csv")
    args = ap.parse_args(argv)

    done = done_keys(args.out, lambda r: (int(r["n_train"]), int(r["bag_size"]), int(r["repeat"]),
                                          int(r["net_seed"]), float(r["weight_decay"])))
    jobs = []
    for nt, bs, r, off, wd in product(args.train_bags, args.bag_sizes, args.repeats,
                                      args.net_seeds, args.weight_decay):
        net_seed = 1000 * r + 7 + off  # offset 0 is the harness's network seed
        if (nt, bs, r, net_seed, wd) not in done:
            jobs.append(delayed(_run)(nt, bs, r, net_seed, wd))
    fields = ["n_train", "bag_size", "repeat", "draw_seed", "net_seed", "weight_decay",
              "test_auc_final", "train_auc_final", "test_auc_max", "test_auc_argmax",
              "test_auc_curve", "train_auc_curve"]
    rows = append_parallel(args.out, fields, jobs, args.n_jobs)
    print(f"{'draw':>4s} {'wd':>6s} {'runs':>4s} {'test AUC final':>14s} "
          f"{'test AUC max':>12s} {'train AUC':>9s}")
    for r, wd in sorted({(int(x["repeat"]), float(x["weight_decay"])) for x in rows}):
        sel = [x for x in rows if int(x["repeat"]) == r and float(x["weight_decay"]) == wd]
        print(f"{r:4d} {wd:6.3f} {len(sel):4d} "
              f"{np.mean([float(x['test_auc_final']) for x in sel]):14.3f} "
              f"{np.mean([float(x['test_auc_max']) for x in sel]):12.3f} "
              f"{np.mean([float(x['train_auc_final']) for x in sel]):9.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
