"""Training throughput of the deep MIL estimators: batch size 1 vs padded batches of 16.

Bags of MUSK2 size (its 102 bags, 166 features, 1 to 1044 instances per bag, mean 65)
are trained for a fixed number of epochs without validation; the script prints
bags/s for each head with ``batch_size=1`` and ``batch_size=16`` (padded and masked)
and their ratio, measured in the same run on the CPU (one torch thread, as the
estimators use by default) and, where CUDA is available, on the GPU.

Reproduce::

    OMP_NUM_THREADS=1 python benchmarks/bench_deep_throughput.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from skmil.datasets import load_dataset
from skmil.preprocessing import InstanceTransformer

HEADS = ["MiNet", "MINet", "AttentionMIL", "DSMIL"]


def bags_per_second(cls, bags, y, batch_size, epochs, device):
    # one network per fit (mi-Net's default n_init=3 would train three)
    est = cls(batch_size=batch_size, max_epochs=epochs, validation_fraction=0.0,
              n_init=1, random_state=0, device=device)
    t0 = time.perf_counter()
    est.fit(bags, y)
    return epochs * len(bags) / (time.perf_counter() - t0)


def main():
    import torch

    import skmil.deep as deep

    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--heads", nargs="+", default=HEADS)
    args = ap.parse_args()
    bags, y = load_dataset("musk2", return_X_y=True)
    bags = InstanceTransformer().fit_transform(bags)
    sizes = np.array([b.shape[0] for b in bags])
    print(f"MUSK2: {len(bags)} bags, sizes {sizes.min()}-{sizes.max()} (mean {sizes.mean():.0f})"
          f", {bags[0].shape[1]} features; torch {torch.__version__}")
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    if len(devices) == 1:
        print("no CUDA device here: CPU only")
    # warm-up (imports, allocator)
    warm = np.r_[np.flatnonzero(y == 0)[:5], np.flatnonzero(y == 1)[:5]]
    bags_per_second(deep.MINet, [bags[i] for i in warm], y[warm], 1, 1, "cpu")
    print(f"{'head':<14}{'device':<7}{'bs=1 bags/s':>12}{'bs=16 bags/s':>13}{'ratio':>7}")
    for dev in devices:
        for name in args.heads:
            cls = getattr(deep, name)
            one = bags_per_second(cls, bags, y, 1, args.epochs, dev)
            sixteen = bags_per_second(cls, bags, y, 16, args.epochs, dev)
            print(f"{name:<14}{dev:<7}{one:12.1f}{sixteen:13.1f}{sixteen / one:7.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
