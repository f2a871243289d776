"""EMD-SVM fit time: uniform signatures (every instance) vs per-bag k-means signatures.

k-means signatures shrink a bag of n_i instances to at most k weighted centres, so the
transport problems shrink from n_i x n_j to at most k x k; bags with at most k
instances are unchanged. Fits ``EMDSVM`` on the standardised data set (one thread,
``n_jobs=1``) with ``signature="uniform"`` and with ``signature="kmeans"`` for several
``n_clusters`` (best of ``--repeat`` fits each, the settings taking turns in
this one run so that load changes on a shared machine hit them alike), and
prints each fit time, the ratio uniform / kmeans, the share of the k-means fit spent
computing signatures, and the fraction of bags that k-means compresses.

Reproduce::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_emd_signatures.py \\
        [--dataset fox] [--k 10 5 3] [--repeat 3]
    python benchmarks/bench_emd_signatures.py --tiny     # smoke test, seconds
"""

from __future__ import annotations

import argparse

import numpy as np
from _timing import add_tiny_flag, best_of_interleaved, print_reproduce, ratio

from skmil.bags import check_bags
from skmil.datasets import load_dataset
from skmil.distance import EMDSVM, emd_matrix
from skmil.distance.emd import _kmeans_bag_signatures
from skmil.preprocessing import InstanceTransformer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="fox")
    ap.add_argument("--k", type=int, nargs="+", default=[10, 5, 3])
    ap.add_argument("--repeat", type=int, default=3)
    add_tiny_flag(ap)
    args = ap.parse_args()
    print_reproduce()

    X, y = load_dataset(args.dataset, return_X_y=True)
    if args.tiny:
        y = np.asarray(y)
        keep = np.sort(np.r_[np.flatnonzero(y == 0)[:10], np.flatnonzero(y == 1)[:10]])
        X, y = [X[i] for i in keep], y[keep]
        args.k, args.repeat = [3], 1
    bags = check_bags(InstanceTransformer().fit_transform(X))
    # warm up: POT import and numba compilation are not part of a fit's cost
    emd_matrix(bags[:3])
    _kmeans_bag_signatures(bags.take(np.arange(3)), 2, 0)

    def fit(**params):
        return lambda: EMDSVM(n_jobs=1, random_state=0, **params).fit(bags, y)

    fits = [fit(signature="uniform")]
    fits += [fit(signature="kmeans", n_clusters=k) for k in args.k]
    sigs = [lambda k=k: _kmeans_bag_signatures(bags, k, 0) for k in args.k]
    times = best_of_interleaved(fits + sigs, repeats=args.repeat)
    t_uni, t_kms, t_sigs = times[0], times[1:1 + len(args.k)], times[1 + len(args.k):]
    print(f"{args.dataset}: {bags.n_bags} bags, {bags.n_instances} instances, "
          f"bag sizes median {np.median(bags.sizes):.0f}, max {bags.sizes.max()}")
    print(f"uniform fit: {t_uni:.3f} s")
    for k, t_km, t_sig in zip(args.k, t_kms, t_sigs):
        frac = float(np.mean(bags.sizes > k))
        print(f"kmeans k={k:>3}: fit {t_km:.3f} s, uniform/kmeans = {ratio(t_uni, t_km)}, "
              f"signatures {t_sig * 1e3:.1f} ms ({t_sig / t_km:.1%} of the fit), "
              f"bags compressed {frac:.1%}")

if __name__ == "__main__":
    main()
