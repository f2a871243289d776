"""Digits bags (offline MNIST-bags analogue): bag and instance AUC of the deep heads.

Bags come from :func:`skmil.datasets.make_digits_bags` (sklearn's 8x8 digits, target 9,
balanced positive/negative bags, train and test bags drawn from disjoint image pools).
For each training-set size (50/100/300 bags) and mean bag size (10/50/100, std 2/10/20
as in Ilse et al. 2018) the heads are trained with their defaults (fixed epochs on every
training bag, threshold 0.5) and scored on 1000 test bags: bag AUC, and instance AUC from
``decision_function_instances`` where the head has instance probabilities (mi-Net,
DSMIL) or attention weights (attention heads; AUC of the weights over all instances).

The published MNIST-bags numbers of the DSMIL paper (Tables 2-4) are not available in
the references this project works from, so they are not quoted here; MNIST bags
(28x28 images, 60k-image pools) are in any case a different, easier-to-pool problem
than 8x8 digits with ~90 nines per pool.

Reproduce (``--repeats`` seeds per cell; the full grid is slow on a shared CPU)::

    OMP_NUM_THREADS=1 python benchmarks/deep_digits.py --repeats 1
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.metrics import roc_auc_score

from skmil.datasets import make_digits_bags

HEADS = ["MiNet", "AttentionMIL", "GatedAttentionMIL", "DSMIL"]
SIZES = {10: 2, 50: 10, 100: 20}


def main():
    import skmil.deep as deep

    ap = argparse.ArgumentParser()
    ap.add_argument("--heads", nargs="+", default=HEADS)
    ap.add_argument("--n-train", nargs="+", type=int, default=[50, 100, 300])
    ap.add_argument("--bag-sizes", nargs="+", type=int, default=[10, 50, 100])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--n-test", type=int, default=1000)
    ap.add_argument("--max-epochs", type=int, default=None,
                    help="override every head's max_epochs (default: the head's own)")
    args = ap.parse_args()
    print(f"{'head':<18}{'mean size':>9}{'n_train':>8}{'bag AUC':>9}{'inst AUC':>9}"
          f"{'s/fit':>7}")
    for mean in args.bag_sizes:
        std = SIZES.get(mean, mean / 5)
        test = make_digits_bags(args.n_test, mean_bag_size=mean, std_bag_size=std,
                                pool="test", random_state=12345)
        for n_train in args.n_train:
            for name in args.heads:
                bag_auc, inst_auc, secs = [], [], []
                for rep in range(args.repeats):
                    bags, y, _ = make_digits_bags(n_train, mean_bag_size=mean,
                                                  std_bag_size=std, pool="train",
                                                  random_state=rep)
                    est = getattr(deep, name)(random_state=rep)
                    if args.max_epochs:
                        est.set_params(max_epochs=args.max_epochs)
                    t0 = time.perf_counter()
                    est.fit(bags, y)
                    secs.append(time.perf_counter() - t0)
                    bag_auc.append(roc_auc_score(test[1], est.decision_function(test[0])))
                    if hasattr(est, "decision_function_instances"):
                        s = np.concatenate(est.decision_function_instances(test[0]))
                        inst_auc.append(roc_auc_score(np.concatenate(test[2]), s))
                ia = f"{np.mean(inst_auc):9.3f}" if inst_auc else f"{'n/a':>9}"
                print(f"{name:<18}{mean:9d}{n_train:8d}{np.mean(bag_auc):9.3f}{ia}"
                      f"{np.mean(secs):7.1f}", flush=True)


if __name__ == "__main__":
    main()
