"""Instance decision values of a fitted SVC: libsvm's loop against skmil's blocked kernel.

``SIL`` (and every instance-level SVM in ``skmil.svm``) scores instances as
``f(x) = sum_i c_i k(s_i, x) + b`` over the support vectors ``s_i``. libsvm, through
``SVC.decision_function``, evaluates one (instance, support vector) pair at a time;
:class:`skmil.svm._common.KernelExpansion` evaluates blocks of instances against all
support vectors with one BLAS product and one vectorised ``exp`` pass, in blocks of
about 2M kernel values. This script fits ``SIL`` on digits bags (the benchmark's
analogue of MNIST-bags, 8x8 images, RBF kernel, ``gamma="scale"``), then times in one
run, best of ``--repeats``:

* ``libsvm``: ``SIL.estimator_.decision_function`` on the test instances;
* ``skmil``: ``SIL.decision_function_instances`` (the same values, threshold added back);
* ``skmil, 4096-row blocks``: the same expansion with the former fixed block of 4,096
  rows (170 MB of kernel values against 5,000 support vectors).

It prints the support-vector count, the times, the ratios and the largest difference
between libsvm's and skmil's values. Single-threaded BLAS. Reproduce::

    python benchmarks/bench_kernel_expansion.py
    python benchmarks/bench_kernel_expansion.py --train-bags 300 --bag-size 50 --test-bags 300
    python benchmarks/bench_kernel_expansion.py --tiny     # smoke test, seconds
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402

import numpy as np  # noqa: E402
from _timing import add_tiny_flag, best_of, print_reproduce, ratio  # noqa: E402

from skmil.datasets import make_digits_bags  # noqa: E402
from skmil.svm import SIL, _common  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train-bags", type=int, default=100)
    ap.add_argument("--bag-size", type=float, default=50)
    ap.add_argument("--test-bags", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    add_tiny_flag(ap)
    args = ap.parse_args(argv)
    print_reproduce()
    if args.tiny:
        args.train_bags, args.bag_size, args.test_bags, args.repeats = 20, 8, 20, 1

    kw = dict(mean_bag_size=args.bag_size, std_bag_size=args.bag_size / 5)
    bags, y, _ = make_digits_bags(args.train_bags, pool="train", random_state=0, **kw)
    test, _, _ = make_digits_bags(args.test_bags, pool="test", random_state=1, **kw)
    X = np.vstack(test)
    clf = SIL(threshold=0.0).fit(bags, y)
    n_sv = clf.estimator_.support_vectors_.shape[0]
    print(f"SIL on {sum(len(b) for b in bags)} training instances: {n_sv} support "
          f"vectors; decision values of {X.shape[0]} test instances")

    clf.decision_function_instances(test[:1])  # compile (or load) the numba kernels first
    t_lib, ref = best_of(lambda: clf.estimator_.decision_function(X), repeats=args.repeats)
    t_ours, ours = best_of(lambda: np.concatenate(clf.decision_function_instances(test)),
                           repeats=args.repeats)
    budget = _common._BLOCK_ELEMS
    try:
        _common._BLOCK_ELEMS = 4096 * n_sv  # the former fixed 4,096-row block
        t_fixed, _ = best_of(lambda: clf.decision_function_instances(test),
                             repeats=args.repeats)
    finally:
        _common._BLOCK_ELEMS = budget
    print(f"  libsvm                   {t_lib:8.3f} s")
    print(f"  skmil                    {t_ours:8.3f} s   ratio libsvm/skmil {ratio(t_lib, t_ours)}")
    print(f"  skmil, 4096-row blocks   {t_fixed:8.3f} s   ratio libsvm/skmil "
          f"{ratio(t_lib, t_fixed)}")
    print(f"  largest |difference|     {np.abs(ref - ours).max():.1e}")


if __name__ == "__main__":
    main()
