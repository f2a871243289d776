"""What known instance labels buy: digits bags with 0 %, 5 % and 20 % of instances labelled.

Training bags come from the train half of the digit pool and test bags from the test
half (:func:`skmil.datasets.make_digits_bags`, target digit 9, bag size std 20 % of the
mean, as ``skmil benchmark --digits`` draws them). For each repetition a seeded random
``fraction`` of the training instances has its true label revealed (1 for a 9, 0
otherwise; NaN for the rest) and is passed as ``fit(..., instance_labels=...)``; the
estimators run with their default parameters after instance standardisation
(:func:`skmil.model_selection.with_standardization`), seeded with the repetition's
seed. The table gives the mean ± std over repetitions of the bag AUC and of the
instance AUC on the test bags.

Reproduce::

    python benchmarks/partial_labels_digits.py
    python benchmarks/partial_labels_digits.py --estimators SIL MISVM --fractions 0 0.05 0.2 \
        --n-train 100 --bag-size 10 --repeats 5
    python benchmarks/partial_labels_digits.py --tiny     # smoke test, seconds

Results also go to ``partial_labels_digits.csv`` in ``--out`` (default
``benchmark_results``).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time

import numpy as np
from sklearn.metrics import roc_auc_score

from skmil.datasets import make_digits_bags
from skmil.model_selection import with_standardization
from skmil.utils import get_estimator

#: Estimators whose ``fit`` takes ``instance_labels``.
DEFAULT_ESTIMATORS = ("SIL", "InstanceMISVM", "MISVM")


def reveal(instance_labels: list, fraction: float, seed: int) -> list[np.ndarray]:
    """The true labels of a random ``fraction`` of the instances, NaN for the others."""
    rng = np.random.default_rng(seed)
    return [np.where(rng.random(len(lab)) < fraction, np.asarray(lab, float), np.nan)
            for lab in instance_labels]


def run(estimators, fractions, *, n_train: int, bag_size: float, n_test: int,
        repeats: int) -> list[dict]:
    """One row per estimator, fraction and repetition."""
    rows = []
    for repeat in range(repeats):
        seed = 1000 * repeat + 7
        Xtr, ytr, itr = make_digits_bags(n_train, mean_bag_size=bag_size,
                                         std_bag_size=bag_size / 5, pool="train",
                                         random_state=seed)
        Xte, yte, ite = make_digits_bags(n_test, mean_bag_size=bag_size,
                                         std_bag_size=bag_size / 5, pool="test",
                                         random_state=seed + 1)
        for name in estimators:
            for fraction in fractions:
                est = get_estimator(name)()
                if "random_state" in est.get_params():
                    est.set_params(random_state=seed)
                pipe = with_standardization(est)
                known = None if fraction == 0 else reveal(itr, fraction, seed + 2)
                step = pipe.steps[-1][0]
                t0 = time.perf_counter()
                pipe.fit(Xtr, ytr, **{f"{step}__instance_labels": known})
                fit_time = time.perf_counter() - t0
                inst = np.concatenate(pipe[-1].decision_function_instances(
                    pipe[:-1].transform(Xte)))
                rows.append({
                    "estimator": name, "fraction": fraction, "repeat": repeat,
                    "n_train": n_train, "bag_size": bag_size,
                    "bag_auc": float(roc_auc_score(yte, pipe.decision_function(Xte))),
                    "instance_auc": float(roc_auc_score(np.concatenate(ite), inst)),
                    "fit_time": fit_time,
                })
    return rows


def table(rows: list[dict]) -> str:
    """Markdown: bag AUC / instance AUC, mean ± std, one row per estimator."""
    fractions = sorted({r["fraction"] for r in rows})
    names = list(dict.fromkeys(r["estimator"] for r in rows))
    head = "| estimator | " + " | ".join(
        f"{100 * f:g} % labelled: bag AUC / instance AUC" for f in fractions) + " |"
    lines = [head, "|" + "---|" * (len(fractions) + 1)]
    for name in names:
        cells = []
        for f in fractions:
            sel = [r for r in rows if r["estimator"] == name and r["fraction"] == f]
            b = np.array([r["bag_auc"] for r in sel])
            i = np.array([r["instance_auc"] for r in sel])
            cells.append(f"{b.mean():.3f} ± {b.std():.3f} / {i.mean():.3f} ± {i.std():.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--estimators", nargs="+", default=list(DEFAULT_ESTIMATORS))
    p.add_argument("--fractions", nargs="+", type=float, default=[0.0, 0.05, 0.2])
    p.add_argument("--n-train", type=int, default=100)
    p.add_argument("--bag-size", type=float, default=10)
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", default=os.environ.get("SKMIL_BENCH_DIR", "benchmark_results"))
    p.add_argument("--tiny", action="store_true",
                   help="smoke test: 20 training bags of 5, 40 test bags, one repetition")
    args = p.parse_args(argv)
    if args.tiny:
        args.n_train, args.bag_size, args.n_test, args.repeats = 20, 5, 40, 1
    rows = run(args.estimators, args.fractions, n_train=args.n_train,
               bag_size=args.bag_size, n_test=args.n_test, repeats=args.repeats)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "partial_labels_digits.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"digits bags: {args.n_train} training bags of mean size {args.bag_size:g}, "
          f"{args.n_test} test bags, {args.repeats} repetition(s)")
    print(table(rows))
    print("reproduce: python benchmarks/partial_labels_digits.py "
          + " ".join(sys.argv[1:] if argv is None else argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
