"""Every classifier at 1e4, 1e5 and 1e6 instances: fit and predict time, peak memory, growth.

Data: ``make_mil_classification`` bags of 10 instances x 64 features (``N / 10`` bags),
float64, saved once per size and loaded by each run as views of one array. Each
estimator (its defaults, ``random_state=0``), and the ``kernel_approximation="nystroem"``
variants of the RBF SVMs and set kernels, fits on all the bags and predicts them, in a
fresh single-thread process per size with a time cap. Before the timed fit the process
fits the first 40 bags once, so that numba's compilation and torch's start-up are not in
the figures. Columns: fit and predict seconds at each size; the process's peak resident
memory (VmHWM) in MiB at each size; the growth exponent, ``log(t2 / t1) / log(N2 / N1)``
of the fit time over the last two measured sizes (1 is linear in N, 2 quadratic); and
the largest measured size's fit time as a multiple of the smallest size's ("vs first").

A size runs only when the fit time projected from the smaller sizes (the measured
exponent, or the algorithm's, ``COST``, after one size) is at most twice the cap. Other
cells say "over cap" with the projected fit time; ``COST`` states each algorithm's
dominant cost under its defaults, and the benchmarks page prints it beside the table.
"memory" means a ``MemoryError`` (a dense matrix beyond ``--mem-gb``), "error" any other
failure.

Single thread (BLAS pinned to 1); ``--jobs 2`` runs two estimators at a time, one per
core. Reproduce::

    python benchmarks/bench_scale.py --jobs 2 --cap 120 --out scale.jsonl
    python benchmarks/bench_scale.py --from-json scale.jsonl --plot scale.png
    python benchmarks/bench_scale.py --estimators SIL MIKernelSVM+nystroem
    python benchmarks/bench_scale.py --jobs 2 --no-projection --estimators MIKernelSVM MIGraph
    python benchmarks/bench_scale.py --tiny     # smoke test, seconds
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
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

N_FEATURES = 64
BAG_SIZE = 10
SIZES = (10_000, 100_000, 1_000_000)

#: The variants run beside the defaults: ``name+nystroem`` sets these parameters.
APPROXIMATE = {
    "SIL": {"kernel_approximation": "nystroem"},
    "InstanceMISVM": {"kernel_approximation": "nystroem"},
    "MISVM": {"kernel_approximation": "nystroem"},
    "MIKernelSVM": {"kernel_approximation": "nystroem"},
    "MIGraph": {"kernel_approximation": "nystroem"},
}

#: Each estimator's fit under its defaults: the complexity (N instances, B = N / 10 bags,
#: d features), the exponent of N in its dominant term at fixed bag size and d (used to
#: project the next size from one measured size), and the dominant step.
COST: dict[str, tuple[str, float, str]] = {
    "AdditiveMIL": ("O(E N (256 d + 41k)), E=100", 1.0,
                    "100 epochs Adam, MLP 256-128-64 + additive head"),
    "AttentionMIL": ("O(E N (256 d + 41k)), E=100", 1.0,
                     "100 epochs Adam, MLP 256-128-64 + attention head"),
    "BagOfWordsClassifier": ("O(3 I N d sum(K) + 125 liblinear(B, K)), K=5..100", 1.0,
                             "5 k-means codebooks (K=5..100, n_init=3) + encodings"),
    "CCE": ("O(3 I N d sum(K) + 5 libsvm(B)), K=5..100", 2.0,
            "5 RBF SVCs (libsvm) on B presence vectors"),
    "CitationKNN": ("O(N^2 d + B^2 log B)", 2.0, "B x B minimal-Hausdorff distances (BLAS)"),
    "ConjunctiveMIL": ("O(E N (256 d + 41k)), E=100", 1.0,
                       "100 epochs Adam, MLP 256-128-64 + conjunctive head"),
    "DSMIL": ("O(E N (256 d + 66k)), E=40", 1.0, "40 epochs Adam, MLP 256-128-64 + DSMIL head"),
    "DeepMILClassifier": ("O(E N (256 d + 41k)), E=100", 1.0,
                          "100 epochs Adam, MLP 256-128-64 + attention head"),
    "DiverseDensity": ("O(S F N d), S=30, F<=200", 1.0,
                       "30 L-BFGS-B starts x <=200 noisy-or evaluations"),
    "EMDD": ("O(S R (N d + F B d)), S=30, R<=10, F<=200", 1.0,
             "30 starts x <=10 EM rounds x <=200 L-BFGS-B evaluations"),
    "EMDSVM": ("O(B^2 (n^2 d + n^3) + B^3 + libsvm(B)), n=10", 2.0,
               "B^2/2 per-pair EMD assignments (+ B^3 eigh)"),
    "GatedAttentionMIL": ("O(E N (256 d + 41k)), E=100", 1.0,
                          "100 epochs Adam, MLP 256-128-64 + gated attention"),
    "InstanceMINet": ("O(R E N (256 d + 41k)), R=3 inits, E=50", 1.0,
                      "3 inits x 50 epochs SGD, MLP 256-128-64, mi-Net"),
    "InstanceMISVM": ("O(26 T N^2 d), T<=50", 2.0,
                      "26 runs (C=cv) x <=50 libsvm RBF fits on N instances"),
    "InstanceRelabeling": ("O(6 T I N d), T<=50, I<=100", 1.0,
                           "6 x <=50 LogisticRegression fits on N instances"),
    "MIBoost": ("O(M d N log N), M<=50", 1.0, "<=50 decision stumps on N instances"),
    "MICA": ("O(T simplex(0.55N x 2d)) ~ O(T N^2 d), T<=20", 2.0,
             "<=20 HiGHS LPs, ~N/2 rows x 2d dense columns"),
    "MIForest": ("O(12 M D sqrt(d) N log N), M=50, D=20", 1.0,
                 "12 refits of a 50-tree depth-20 forest on N"),
    "MIGraph": ("O(N^2 d + N n d + 26 libsvm(B))", 2.0,
                "clique-weighted RBF set-kernel Gram, O(N^2 d)"),
    "MIGraphExplicit": ("O(N^2 (d + n) + 26 libsvm(B)), n=10", 2.0,
                        "node + edge graph-kernel Gram over B^2 bag pairs"),
    "MIKernelSVM": ("O(N^2 d + 26 libsvm(B))", 2.0, "RBF set-kernel Gram over all instance pairs"),
    "MILBoost": ("O(M d N log N), M<=100", 1.0, "<=100 regression stumps + line searches on N"),
    "MILDM": ("O(N B d + B^2 N) = O(N^3 / 100)", 3.0,
              "dense B x B Laplacian @ B x N bag-instance similarity"),
    "MILES": ("O(N B d + simplex(B x 2N dense)) ~ O(B^2 N)", 3.0,
              "HiGHS 1-norm SVM LP, B rows x 2N dense columns"),
    "MILogisticRegression": ("O(I N d), I<=1000", 1.0, "L-BFGS-B on the noisy-or bag likelihood"),
    "MINet": ("O(E N (256 d + 41k)), E=50", 1.0, "50 epochs SGD, MLP 256-128-64 + max pooling"),
    "MINetDS": ("O(E N (256 d + 41k)), E=50", 1.0,
                "50 epochs SGD, MLP 256-128-64 + deep supervision"),
    "MINetRC": ("O(E N (128 d + 33k)), E=50", 1.0, "50 epochs SGD, MLP 128-128-128 + residual"),
    "MISVM": ("O(26 T N^2 d), T<=50", 2.0, "26 runs (C=cv) x <=50 libsvm RBF fits on N/2+B/2"),
    "MInD": ("O(N^2 d + I B^2)", 2.0, "B x B meanmin dissimilarities + LinearSVC on them"),
    "MiFV": ("O(I min(N, 1e5) d sum(K) + N d sum(K) + 26 liblinear), K=1..16", 1.0,
             "5 diagonal GMMs (K=1..16) + Fisher encodings"),
    "MiVLAD": ("O(3 I N d sum(K) + 26 liblinear(B, K d)), K=1..16", 1.0,
               "5 k-means codebooks (K=1..16) + VLAD encodings"),
    "MissSVM": ("O(6 T N^2 d), T<=21", 2.0, "6 x <=21 CCCP libsvm RBF fits on ~N+B/2 points"),
    "PowerPoolingMIL": ("O(E N (256 d + 41k)), E=100", 1.0,
                        "100 epochs Adam, MLP 256-128-64 + power pooling"),
    "SIL": ("O(6 N^2 d)", 2.0, "libsvm RBF SVC on all N instances"),
    "SMILe": ("O((3N)^2 d + libsvm(2B))", 2.0, "linear set-kernel Gram on ~3N augmented instances"),
    "STK": ("O(N d + B^2 d + 26 libsvm(B))", 2.0, "libsvm on RBF Gram of B min/max vectors (C=cv)"),
    "SimpleMI": ("O(N d + 6 B^2 d + 26 libsvm(B))", 2.0,
                 "libsvm RBF SVC on B bag-statistics vectors (C=cv)"),
    "SparseBalancedMIL": ("O(6 (N^2 d + SMO(0.55N) + libsvm(N)))", 2.0,
                          "sMIL SMO on a dense kernel + libsvm RBF SVC on N"),
    "SparseMIL": ("O(6 (N^2 d + SMO(0.55N)))", 2.0,
                  "skmil SMO on a dense (N/2 + B/2)^2 example kernel"),
    "SparseTransductiveMIL": ("O(6 (N^2 d + T SMO(1.05N))), T<=10", 2.0,
                              "<=10 CCCP SMO solves on a dense ~N x N kernel"),
    "TLC": ("O(d N log^2 N + 10 B n_nodes log B), n_nodes~B", 2.0,
            "10-stump GB on dense B x n_nodes (~B) node counts"),
    # the kernel_approximation variants (see APPROXIMATE)
    "SIL+nystroem": ("O(6 N m (d + m)), m=256", 1.0, "Nystroem map + squared-hinge primal"),
    "InstanceMISVM+nystroem": ("O(26 T N m (d + m)), m=256", 1.0,
                               "Nystroem map + warm-started primal alternations"),
    "MISVM+nystroem": ("O(26 T N m (d + m)), m=256", 1.0,
                       "Nystroem map + warm-started primal alternations"),
    "MIKernelSVM+nystroem": ("O(N m (d + m) + 26 B m^2), m=256", 1.0,
                             "mean embeddings + primal (libsvm up to 4,096 bags)"),
    "MIGraph+nystroem": ("O(N m (d + m) + 26 B m^2), m=256", 1.0,
                         "clique-weighted mean embeddings + primal"),
}


def _save(path: str, n_instances: int) -> None:
    import numpy as np

    from skmil.datasets import make_mil_classification

    bags, y, _ = make_mil_classification(
        n_bags=n_instances // BAG_SIZE, n_features=N_FEATURES, bag_size=BAG_SIZE,
        bag_size_distribution="fixed", random_state=0)
    np.savez(path, X=np.vstack(bags), y=y)


def _estimator(label: str):
    from skmil.utils import get_estimator

    name, _, variant = label.partition("+")
    est = get_estimator(name)()
    if variant:
        est.set_params(**APPROXIMATE[name])
    if "random_state" in est.get_params():
        est.set_params(random_state=0)
    return est


def child(label: str, path: str, mem_gb: float) -> None:
    """Fit and predict one estimator on one size; print a JSON line."""
    import resource
    import warnings

    import numpy as np
    from sklearn.base import clone

    warnings.simplefilter("ignore")
    limit = int(mem_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    data = np.load(path)
    X, y = data["X"], data["y"]
    bags = np.split(X, np.arange(BAG_SIZE, X.shape[0], BAG_SIZE))  # views of one array
    est = _estimator(label)
    out = {"status": "ok", "note": ""}
    try:
        clone(est).fit(bags[:40], y[:40]).predict(bags[:40])  # JIT and start-up
        before = status_bytes("VmRSS")
        t0 = time.perf_counter()
        est.fit(bags, y)
        out["fit"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        pred = est.predict(bags)
        out["predict"] = time.perf_counter() - t0
        out["train_acc"] = float(np.mean(pred == y))
        out["extra_mib"] = (status_bytes("VmHWM") - before) / 2**20
    except MemoryError as exc:
        out = {"status": "memory", "note": str(exc)[:90]}
    out["peak_mib"] = status_bytes("VmHWM") / 2**20
    print(json.dumps(out), flush=True)


def run_child(label: str, path: str, cap: float, mem_gb: float) -> dict:
    cmd = [sys.executable, __file__, "--child", label, "--data", path,
           "--mem-gb", str(mem_gb)]
    return run_json_child(cmd, cap, timeout_note=f"ran past {cap:.0f} s")


def exponent(n1: int, t1: float, n2: int, t2: float) -> float:
    """The growth exponent of time between two sizes."""
    return math.log(t2 / t1) / math.log(n2 / n1)


def run_estimator(label: str, paths: dict[int, str], cap: float, mem_gb: float,
                  project: bool = True) -> dict:
    """Every size of one estimator, smallest first, skipping those projected over cap
    (unless ``project`` is False: a default that changes algorithm with the size)."""
    name = label.partition("+")[0]
    cells: dict[int, dict] = {}
    measured: list[tuple[int, float]] = []
    failed = None
    for n in sorted(paths):
        if failed is not None:  # a smaller size did not finish: this one would not
            cells[n] = {"status": failed, "note": "a smaller size did not finish"}
            continue
        if measured and project:
            if len(measured) >= 2:
                g = exponent(*measured[-2], *measured[-1])
            else:
                g = COST.get(label, COST.get(name, ("", 2.0, "")))[1]
            n0, t0 = measured[-1]
            projected = t0 * (n / n0) ** max(g, 1.0)
            if projected > 2 * cap:
                cells[n] = {"status": "over cap", "projected": projected,
                            "note": f"projected {projected:.0f} s"}
                continue
        cell = run_child(label, paths[n], cap, mem_gb)
        cells[n] = cell
        if cell["status"] == "ok":
            measured.append((n, max(cell["fit"], 1e-3)))
        else:
            failed = "over cap" if cell["status"] == "over cap" else "skipped"
    growth = (exponent(*measured[-2], *measured[-1]) if len(measured) >= 2 else None)
    return {"estimator": label, "cells": {str(n): c for n, c in cells.items()},
            "growth": growth}


def _cell(c: dict | None, key: str) -> str:
    if c is None:
        return "-"
    if c["status"] != "ok":
        return c["status"]
    value = c[key]
    return f"{value:.0f}" if key == "peak_mib" else f"{value:.2f}" if value < 10 else f"{value:.0f}"


def print_table(rows: list[dict], sizes: list[int]) -> None:
    head = " ".join(f"{'fit ' + _short(n):>9s}" for n in sizes)
    head += " " + " ".join(f"{'pred ' + _short(n):>9s}" for n in sizes)
    head += " " + " ".join(f"{'MiB ' + _short(n):>9s}" for n in sizes)
    print(f"{'estimator':24s} {head} {'growth':>6s} {'vs first':>9s}  notes")
    for r in rows:
        cells = [r["cells"].get(str(n)) for n in sizes]
        line = " ".join(f"{_cell(c, 'fit'):>9s}" for c in cells)
        line += " " + " ".join(f"{_cell(c, 'predict'):>9s}" for c in cells)
        line += " " + " ".join(f"{_cell(c, 'peak_mib'):>9s}" for c in cells)
        growth = "-" if r["growth"] is None else f"{r['growth']:.2f}"
        done = [c["fit"] for c in cells if c and c["status"] == "ok"]
        # the largest measured size's fit time in units of the smallest size's
        rel = ratio(done[-1], max(done[0], 1e-3)) if len(done) >= 2 else "-"
        notes = "; ".join(f"{_short(n)}: {c['note']}" for n, c in zip(sizes, cells)
                          if c and c.get("note"))
        print(f"{r['estimator']:24s} {line} {growth:>6s} {rel:>9s}  {notes}", flush=True)


def _rst_cell(c: dict | None, key: str) -> str:
    if c is None or c["status"] == "skipped":
        return "-"
    if c["status"] == "over cap":  # the projection is of the fit time
        return (f"> cap ({c['projected']:,.0f})" if "projected" in c and key == "fit"
                else "> cap")
    if c["status"] != "ok":
        return c["status"]
    return _cell(c, key)


def rst_table(rows: list[dict], sizes: list[int]) -> str:
    """The rows as a reStructuredText list-table, with each estimator's ``COST``."""
    span = " / ".join(_short(n) for n in sizes)
    lines = [".. list-table::", "   :header-rows: 1", "",
             "   * - estimator", f"     - fit s ({span})", f"     - predict s ({span})",
             f"     - peak MiB ({span})", "     - growth", "     - fit cost (dominant step)"]
    for r in rows:
        cells = [r["cells"].get(str(n)) for n in sizes]
        label = r["estimator"]
        cost = COST.get(label) or COST.get(label.partition("+")[0]) or ("", 0, "")
        growth = "-" if r["growth"] is None else f"{r['growth']:.2f}"
        lines += [f"   * - ``{label}``",
                  "     - " + " / ".join(_rst_cell(c, "fit") for c in cells),
                  "     - " + " / ".join(_rst_cell(c, "predict") for c in cells),
                  "     - " + " / ".join(_rst_cell(c, "peak_mib") for c in cells),
                  f"     - {growth}",
                  f"     - ``{cost[0]}``: {cost[2]}"]
    return "\n".join(lines) + "\n"


def _short(n: int) -> str:
    return f"1e{round(math.log10(n))}" if n >= 10 and 10 ** round(math.log10(n)) == n \
        else str(n)


def plot(rows: list[dict], sizes: list[int], path: str, cap: float) -> None:
    """Log-log fit time against instances, one line per estimator, the cap dotted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 6.5))
    styles = ("-", "--", ":", "-.", (0, (5, 1)))
    for i, r in enumerate(rows):
        pts = [(n, r["cells"][str(n)]["fit"]) for n in sizes
               if r["cells"].get(str(n), {}).get("status") == "ok"]
        if pts:
            xs, ys = zip(*pts)
            ax.plot(xs, ys, marker="o", ms=4, lw=1.2, ls=styles[(i // 10) % len(styles)],
                    label=r["estimator"])
    ax.axhline(cap, color="k", ls=":", lw=1)
    ax.text(sizes[0], cap * 1.08, f"cap {cap:.0f} s", fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(sizes)
    ax.set_xlabel("training instances (bags of 10 x 64 features)")
    ax.set_ylabel("fit seconds (one core)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--cap", type=float, default=120.0, help="seconds per process")
    ap.add_argument("--mem-gb", type=float, default=16.0,
                    help="address-space limit of each process")
    ap.add_argument("--estimators", nargs="*",
                    help="default: every classifier and the +nystroem variants")
    ap.add_argument("--no-projection", action="store_true",
                    help="run every size, even one projected over the cap (for defaults "
                         "that change algorithm with the size)")
    ap.add_argument("--jobs", type=int, default=1,
                    help="estimators run at once, each in single-thread processes")
    ap.add_argument("--out", type=Path, help="write the rows as JSON lines here")
    ap.add_argument("--from-json", type=Path, help="print (and plot) saved rows; run nothing")
    ap.add_argument("--plot", help="write a log-log plot of fit time here")
    ap.add_argument("--rst", help="with --from-json: write the rows as an RST table here")
    ap.add_argument("--costs", action="store_true",
                    help="with --from-json: also print each row's COST entry")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    add_tiny_flag(ap)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.data, args.mem_gb)
        return
    print_reproduce()
    if args.from_json:
        rows = [json.loads(line) for line in args.from_json.read_text().splitlines()]
        sizes = sorted({int(n) for r in rows for n in r["cells"]})
        print_table(rows, sizes)
        if args.costs:
            print()
            for r in rows:
                label = r["estimator"]
                cost = COST.get(label) or COST.get(label.partition("+")[0])
                if cost:
                    print(f"{label:24s} {cost[0]}: {cost[2]}")
        if args.rst:
            Path(args.rst).write_text(rst_table(rows, sizes))
            print(f"wrote {args.rst}")
        if args.plot:
            plot(rows, sizes, args.plot, args.cap)
        return
    names = args.estimators
    if args.tiny:
        args.sizes, args.cap = [400, 2000], 120.0
        names = names or ["SIL", "MIKernelSVM+nystroem", "CitationKNN"]
    if not names:
        from skmil.utils import all_estimators

        names = [n for n, _ in all_estimators("classifier")]
        names += [f"{n}+nystroem" for n in APPROXIMATE]
    sizes = sorted(args.sizes)
    print(f"bags of {BAG_SIZE} x {N_FEATURES}; sizes {sizes} instances; cap {args.cap:.0f} s "
          f"per process; {args.jobs} at a time")
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for n in sizes:
            paths[n] = f"{tmp}/bags_{n}.npz"
            _save(paths[n], n)
        with ThreadPoolExecutor(args.jobs) as pool:
            rows = list(pool.map(
                lambda label: run_estimator(label, paths, args.cap, args.mem_gb,
                                            not args.no_projection), names))
    print_table(rows, sizes)
    if args.out:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))
        print(f"wrote {args.out}")
    if args.plot:
        plot(rows, sizes, args.plot, args.cap)


if __name__ == "__main__":
    main()
