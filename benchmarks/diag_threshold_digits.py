"""Where ``threshold="auto"`` puts the bag threshold on a digits-bags draw, and why.

Fits one estimator (threshold 0) on one draw of the digits-bags benchmark (the same
seeds as ``skmil benchmark --digits``), then prints quantiles (10/50/90 %) of its bag
scores per class on the training bags, on the 1,000 test bags, and on the held-out
bags of the inner 3-fold CV that ``threshold="auto"`` uses, the threshold that CV
picks, and the test accuracy at that threshold and at 0. Diagnostic only: it reads
test labels to explain an accuracy, it selects nothing.

The digits bags are drawn with replacement from one pool of about 900 training
images, so the held-out bags of an inner CV share most of their images with its
training bags; a model that fits its training instances to the margin (stMIL's
transductive term does) then scores held-out negative bags like training ones.

Reproduce (the twelfth session's stMIL figures; about 3 minutes)::

    python benchmarks/diag_threshold_digits.py stMIL --n-train 300 --bag-size 50 \\
        --draw 2 --param max_examples=40000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from skmil._inner_cv import inner_cv_decisions
from skmil._threshold import accuracy_threshold
from skmil.bags import check_bags
from skmil.cli import parse_params
from skmil.datasets import make_digits_bags
from skmil.model_selection import with_standardization
from skmil.utils import get_estimator


def _q(s: np.ndarray) -> str:
    return " ".join(f"{v:+.3f}" for v in np.quantile(s, [0.1, 0.5, 0.9]))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("estimator")
    ap.add_argument("--n-train", type=int, default=300)
    ap.add_argument("--bag-size", type=int, default=50)
    ap.add_argument("--draw", type=int, default=0, help="repetition of the harness")
    ap.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args(argv)
    seed = 1000 * args.draw + 7  # the digits harness's seeds
    size = args.bag_size
    Xtr, ytr, _ = make_digits_bags(args.n_train, mean_bag_size=size, std_bag_size=size / 5,
                                   pool="train", random_state=seed)
    Xte, yte, _ = make_digits_bags(1000, mean_bag_size=size, std_bag_size=size / 5,
                                   pool="test", random_state=seed + 1)
    est = get_estimator(args.estimator)().set_params(threshold=0.0,
                                                     **parse_params(args.param))
    pipe = with_standardization(est)
    t0 = time.perf_counter()
    pipe.fit(Xtr, ytr)
    print(f"{args.estimator}, {args.n_train} bags of {size}, draw {args.draw}: "
          f"fit {time.perf_counter() - t0:.0f} s")
    s_tr, s_te = pipe.decision_function(Xtr), pipe.decision_function(Xte)
    inner = inner_cv_decisions(pipe[-1], check_bags(pipe[0].transform(Xtr)), ytr,
                               "threshold", (0.0,))[0][0]
    print("bag scores, quantiles 10/50/90 %        negative bags            positive bags")
    for label, s, y in (("training bags (final model)", s_tr, ytr),
                        ("inner-CV held-out bags", inner, ytr),
                        ("test bags (final model)", s_te, yte)):
        print(f"  {label:<32} {_q(s[y == 0])}   {_q(s[y == 1])}")
    th = accuracy_threshold(inner, ytr)
    print(f"threshold from the inner CV: {th:+.4f}; test accuracy there "
          f"{np.mean((s_te > th) == (yte == 1)):.3f}, at 0 {np.mean((s_te > 0) == (yte == 1)):.3f}")


if __name__ == "__main__":
    main()
