"""Training throughput of the deep MIL estimators: batch size 1 vs padded batches of 16.

Bags of MUSK2 size (its 102 bags, 166 features, 1 to 1044 instances per bag, mean 65)
are trained for a fixed number of epochs without validation; the script prints
bags/s for each head with ``batch_size=1`` and ``batch_size=16`` (padded and masked)
and their ratio, measured in the same run on the CPU (one torch thread, as the
estimators use by default) and, where CUDA is available, on the GPU.

Without torch (the ``deep`` extra) the script says so and exits 0.

Reproduce::

    OMP_NUM_THREADS=1 python benchmarks/bench_deep_throughput.py
    python benchmarks/bench_deep_throughput.py --tiny     # smoke test, seconds
"""

from __future__ import annotations

import argparse
import importlib.util

import numpy as np
from _timing import add_tiny_flag, best_of, print_reproduce, ratio

from skmil.datasets import load_dataset
from skmil.preprocessing import InstanceTransformer

HEADS = ["InstanceMINet", "MINet", "AttentionMIL", "DSMIL"]


def bags_per_second(cls, bags, y, batch_size, epochs, device):
    # one network per fit (mi-Net's default n_init=3 would train three)
    def fit():
        return cls(batch_size=batch_size, max_epochs=epochs, validation_fraction=0.0,
                   n_init=1, random_state=0, device=device).fit(bags, y)

    seconds, _ = best_of(fit, repeats=1)
    return epochs * len(bags) / seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--heads", nargs="+", default=HEADS)
    add_tiny_flag(ap)
    args = ap.parse_args()
    print_reproduce()
    if importlib.util.find_spec("torch") is None:
        print("torch is not installed (pip install 'skmil[deep]'): skipped")
        return
    import torch

    import skmil.deep as deep

    bags, y = load_dataset("musk2", return_X_y=True)
    if args.tiny:
        keep = np.r_[np.flatnonzero(y == 0)[:6], np.flatnonzero(y == 1)[:6]]
        bags, y = [bags[i] for i in keep], y[keep]
        args.epochs, args.heads = 1, args.heads[:2]
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
    print(f"{'head':<14}{'device':<7}{'bs=1 bags/s':>12}{'bs=16 bags/s':>13}{'ratio':>8}")
    for dev in devices:
        for name in args.heads:
            cls = getattr(deep, name)
            one = bags_per_second(cls, bags, y, 1, args.epochs, dev)
            sixteen = bags_per_second(cls, bags, y, 16, args.epochs, dev)
            # a ratio of rates: bs=16 bags/s over bs=1 bags/s = time(bs=1) / time(bs=16)
            print(f"{name:<14}{dev:<7}{one:12.1f}{sixteen:13.1f}{ratio(1 / one, 1 / sixteen):>8}",
                  flush=True)


if __name__ == "__main__":
    main()
