"""One bag of 100,000 instances among ordinary bags, with every registered estimator.

Data: ``make_mil_classification`` with 40 bags of 10 instances x 8 features and
``n_big / 10`` more bags whose instances are stacked into one bag of ``n_big`` rows
(label: the largest of theirs). Baseline in the same run: the 40 ordinary bags alone.
Each estimator, with its defaults and ``random_state=0``, fits and predicts
(``predict_instances`` too where it has it; a transformer fits and transforms) in a fresh
process, once on each data set, with a time cap. The table gives the time of each, the
ratio (what adding the large bag costs, in units of the baseline), and each run's peak
extra memory in MiB (the process's peak resident set, VmHWM, over its resident set
before ``fit``; it includes the JIT compilation a first fit pays, alike in both). The
instance array is 6.1 MiB at ``n_big=100000``; one dense ``n_big x n_big`` block would
be 75 GiB.

A bag of ``n`` rows costs what its algorithm needs: the set kernels, mi-Graph's graphs,
the minimal Hausdorff and MInD distances sum or reduce over all ``n^2`` instance pairs
within the bag (time), but in blocks of a fixed size (memory). The instance-level kernel
SVMs (SIL, mi-SVM, MI-SVM, MissSVM, ...) train on all ``N`` instances, so their cost is
that of a kernel SVM over ``N`` (see the SVM page), whatever the bags' sizes. A row
"refused" quotes the estimator's one-line message (the explicit graph of
``MIGraphExplicit``, the exact EMD between two large bags); "over cap" means the fit and
predict did not end within the cap.

Single thread (BLAS pinned to 1). Reproduce::

    python benchmarks/bench_big_bag.py --jobs 2 --cap 300   # every estimator, n_big=100000
    python benchmarks/bench_big_bag.py --estimators MIKernelSVM CitationKNN
    python benchmarks/bench_big_bag.py --tiny               # smoke test, seconds
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

from _timing import (  # noqa: E402
    add_tiny_flag,
    print_reproduce,
    ratio,
    run_json_child,
    status_bytes,
)

N_SMALL = 40
N_FEATURES = 8


def _data(n_big: int, without: bool):
    import numpy as np

    from skmil.datasets import make_mil_classification

    bags, y = make_mil_classification(N_SMALL + n_big // 10, n_features=N_FEATURES,
                                      bag_size=10, bag_size_distribution="fixed",
                                      random_state=0)[:2]
    if without:
        return list(bags[:N_SMALL]), np.asarray(y[:N_SMALL])
    big = np.vstack(bags[N_SMALL:])
    return list(bags[:N_SMALL]) + [big], np.r_[y[:N_SMALL], y[N_SMALL:].max()]


def child(name: str, n_big: int, without: bool) -> None:
    """Fit and predict one estimator on one data set; print a JSON line."""
    import warnings

    import numpy as np
    from sklearn.base import is_regressor

    from skmil.utils import get_estimator

    warnings.simplefilter("ignore")
    bags, y = _data(n_big, without)
    est = get_estimator(name)()
    if "random_state" in est.get_params():
        est.set_params(random_state=0)
    if is_regressor(est):
        y = y + np.linspace(0.0, 0.5, y.shape[0])
    before = status_bytes("VmRSS")
    t0 = time.perf_counter()
    try:
        est.fit(bags, y)
        if hasattr(est, "predict"):
            est.predict(bags)
            if hasattr(est, "predict_instances"):
                est.predict_instances(bags)
        else:
            est.transform(bags)
        status, note = "ok", ""
    except (ValueError, MemoryError) as exc:
        status, note = "refused", str(exc).split(";")[0][:90]
    seconds = time.perf_counter() - t0
    print(json.dumps({"status": status, "note": note, "seconds": seconds,
                      "extra": (status_bytes("VmHWM") - before) / 2**20}), flush=True)


def run_child(name: str, n_big: int, without: bool, cap: float) -> dict:
    cmd = [sys.executable, __file__, "--child", name, "--n-big", str(n_big)]
    if without:
        cmd.append("--without")
    out = run_json_child(cmd, cap, seconds=float("nan"), extra=float("nan"))
    if out["status"] == "over cap":
        out["seconds"] = cap
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-big", type=int, default=100_000)
    ap.add_argument("--cap", type=float, default=600.0, help="seconds per fit")
    ap.add_argument("--estimators", nargs="*", help="default: every registered one")
    ap.add_argument("--jobs", type=int, default=1,
                    help="estimators run at once, each in its own single-thread processes")
    ap.add_argument("--out", type=Path, help="write the rows as JSON lines here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--without", action="store_true", help=argparse.SUPPRESS)
    add_tiny_flag(ap)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.n_big, args.without)
        return
    print_reproduce()
    names = args.estimators
    if args.tiny:
        args.n_big, args.cap = 3000, 300.0
        names = names or ["MIKernelSVM", "CitationKNN", "BagDissimilarity"]
    if not names:
        from skmil.utils import all_estimators

        names = [n for n, _ in all_estimators()]
    print(f"one bag of {args.n_big} x {N_FEATURES} among {N_SMALL} bags of 10; baseline: the "
          f"{N_SMALL} bags alone; cap {args.cap:.0f} s")
    print(f"{'estimator':24s} {'without s':>9s} {'with s':>8s} {'ratio':>9s} "
          f"{'MiB without':>11s} {'MiB with':>8s}  status")
    with ThreadPoolExecutor(args.jobs) as pool:
        results = pool.map(lambda n: (n, run_child(n, args.n_big, True, args.cap),
                                      run_child(n, args.n_big, False, args.cap)), names)
    rows = []
    for name, base, big in results:
        ok = base["status"] == "ok" and big["status"] == "ok"
        # the time with the large bag in units of the time without it
        rel = ratio(big["seconds"], base["seconds"]) if ok else "-"
        status = big["status"] + (f": {big['note']}" if big["note"] else "")
        if base["status"] != "ok":
            status += f" (baseline {base['status']})"
        print(f"{name:24s} {base['seconds']:9.2f} {big['seconds']:8.1f} {rel:>9s} "
              f"{base['extra']:11.0f} {big['extra']:8.0f}  {status}", flush=True)
        rows.append({"estimator": name, "n_big": args.n_big, "baseline": base, "big": big})
    if args.out:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
