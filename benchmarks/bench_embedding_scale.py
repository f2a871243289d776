"""miVLAD, miFV and bag-of-words at scale: fit + predict time, peak memory, throughput.

Data: ``make_mil_classification(n_bags=100_000, n_features=64, bag_size=10)`` (about
1,000,000 instances), converted once to the flat layout and saved to a scratch file.
Each method at each size runs in a fresh subprocess that loads the flat arrays, so
its memory numbers are its own:

- ``rss_peak``: peak resident size (``VmHWM``) of the subprocess (Python, libraries, data),
  and ``rss_extra`` = ``rss_peak`` minus the resident size just before ``fit``;
- ``extra``: tracemalloc peak of the numpy/Python allocations made during fit + predict
  (the working memory on top of the caller's instance array).

Both are compared with the size of the instance array (N x 64 float64). The classifier
in these runs is ``LogisticRegression`` (lbfgs), a linear model that trains on the
encodings in place; liblinear (the default ``LinearSVC``) first copies its input into
its own sparse format (16 bytes per value), which alone is 2-4x the instance array for
100,000 encodings.

Encoding throughput (instances/s) of skmil's encoders (raw codes, on the flat
``Bags``) is measured against plain-numpy encoders in the same run, on the first
200,000 instances: ``numpy-per-bag`` (a loop over bags, numpy inside: how one would
write it directly) and ``numpy-vectorised`` (BLAS assignment, then ``np.add.at``; VLAD
only). Every timing is the best of ``--repeats`` runs (default 3), for both sides.
The same table also gives ``skmil_public_inst_per_s``: the public
``transform(list_of_arrays)``, which adds input validation and conversion of the
Python list of bags and, for VLAD/FV, the power and L2 normalisation.

Writes ``benchmarks/results/embedding_scale.json``; ``--throughput-only`` replaces only
its ``throughput`` list and keeps the ``runs``; ``--plot`` draws
``docs/images/embedding_scaling.png`` from it (log-log fit + predict time against the
number of instances, a dashed line of slope 1 marking linear scaling).

Reproduce (about 10 minutes on 2 cores)::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE \\
        python benchmarks/bench_embedding_scale.py
    # quick check on smaller data: --sizes 1000 10000
    # throughput table only (about 1 minute):
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE \\
        python benchmarks/bench_embedding_scale.py --throughput-only
    # one method at one size, keeping the stored throughput table:
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE \\
        python benchmarks/bench_embedding_scale.py --runs-only --methods miFV32 --sizes 1000000
    python benchmarks/bench_embedding_scale.py --plot      # the figure of docs/embedding.rst
    python benchmarks/bench_embedding_scale.py --tiny      # smoke test in a scratch folder

``miFV32`` is miFV with ``dtype="float32"`` (``MiFV``'s default; ``miFV`` passes
``dtype="float64"``): the Fisher vectors, the largest array of the fit (about twice the
instance array here in float64), are stored at single precision, and
``LogisticRegression`` trains on them without a copy.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from functools import partial
from pathlib import Path

import numpy as np
from _timing import add_tiny_flag, best_of, print_reproduce, ratio, status_bytes

ROOT = Path(__file__).resolve().parents[1]

SCRATCH = Path(os.environ.get("SKMIL_BENCH_DIR", "/tmp/skmil_bench_embedding"))
RESULTS = ROOT / "benchmarks" / "results" / "embedding_scale.json"
FIGURE = ROOT / "docs" / "images" / "embedding_scaling.png"
#: "miFV32" is miFV with ``dtype="float32"`` Fisher vectors (half the output memory; MiFV's
#: default), "miFV" the same with float64 vectors.
METHODS = ("miVLAD", "miFV", "miFV32", "BoW")


def _make_estimator(name: str):
    from sklearn.linear_model import LogisticRegression

    from skmil.embedding import BagOfWordsClassifier, MiFV, MiVLAD

    clf = LogisticRegression(max_iter=200)
    if name == "miVLAD":
        return MiVLAD(n_clusters=10, estimator=clf, random_state=0)
    if name in ("miFV", "miFV32"):
        dtype = "float32" if name == "miFV32" else "float64"
        return MiFV(n_clusters=10, estimator=clf, random_state=0, dtype=dtype)
    return BagOfWordsClassifier(n_clusters=10, estimator=clf, random_state=0)


def _child(name: str, n_bags: int) -> None:
    """Run one method on the first ``n_bags`` bags; print a JSON line."""
    from skmil.bags import Bags

    data = np.load(SCRATCH / "data.npz")
    offsets = data["offsets"][: n_bags + 1].copy()
    y = data["y"][:n_bags].copy()
    d = int(data["n_features"])
    del data
    # read exactly the rows needed into one fresh array (no mmap, no temporary copy)
    X = np.fromfile(SCRATCH / "instances.f64", dtype=np.float64, count=int(offsets[-1]) * d)
    X = X.reshape(-1, d)
    bags = Bags(X, offsets)
    # compile the numba kernels outside the measurement
    m = min(200, n_bags)
    small = Bags(np.ascontiguousarray(X[: offsets[m]]), offsets[: m + 1].copy())
    _make_estimator(name).fit(small, y[:m]).predict(small)
    rss_before = _current_rss()
    tracemalloc.start()
    t0 = time.perf_counter()
    est = _make_estimator(name).fit(bags, y)
    t_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    acc = float(np.mean(est.predict(bags) == y))
    t_pred = time.perf_counter() - t0
    _, extra = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = status_bytes("VmHWM")
    print(json.dumps({
        "method": name, "n_bags": n_bags, "n_instances": int(offsets[-1]),
        "fit_s": t_fit, "predict_s": t_pred, "train_accuracy": acc,
        "extra_bytes": extra, "rss_peak_bytes": rss, "instance_bytes": X.nbytes,
        "rss_before_fit_bytes": rss_before,
    }))


def _current_rss() -> int:
    return status_bytes("VmRSS")


def _make_data(n_bags: int) -> None:
    from skmil.bags import check_bags
    from skmil.datasets import make_mil_classification

    SCRATCH.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    bags, y, _ = make_mil_classification(
        n_bags=n_bags, n_features=64, bag_size=10, random_state=0
    )
    b = check_bags(bags)
    del bags
    b.instances.tofile(SCRATCH / "instances.f64")
    np.savez(SCRATCH / "data.npz", offsets=b.offsets, y=np.asarray(y), n_features=64)
    print(f"generated {b.n_instances} instances in {n_bags} bags "
          f"({time.perf_counter() - t0:.0f} s)", flush=True)


# ---- plain-numpy reference encoders (for the throughput ratio) --------------------
def _numpy_vlad_per_bag(bags, C):
    K, d = C.shape
    out = np.zeros((bags.n_bags, K * d))
    for i, bag in enumerate(bags):
        lab = np.argmin(((bag[:, None, :] - C[None]) ** 2).sum(-1), axis=1)
        v = np.zeros((K, d))
        np.add.at(v, lab, bag - C[lab])
        out[i] = v.ravel()
    return out


def _numpy_vlad_vectorised(bags, C):
    K, d = C.shape
    X = bags.instances
    lab = np.argmin(-2.0 * X @ C.T + (C**2).sum(1), axis=1)
    out = np.zeros((bags.n_bags * K, d))
    np.add.at(out, bags.bag_index * K + lab, X - C[lab])
    return out.reshape(bags.n_bags, K * d)


def _numpy_fisher_per_bag(bags, w, mu, var):
    K, d = mu.shape
    sd = np.sqrt(var)
    out = np.zeros((bags.n_bags, K + 2 * K * d))
    for i, bag in enumerate(bags):
        z = (bag[:, None, :] - mu[None]) / sd[None]  # (n, K, d)
        logp = np.log(w) - np.log(sd).sum(1) - 0.5 * (z**2).sum(-1)
        g = np.exp(logp - logp.max(1, keepdims=True))
        g /= g.sum(1, keepdims=True)
        n = bag.shape[0]
        gw = (g - w).sum(0) / (n * np.sqrt(w))
        gm = (g[:, :, None] * z).sum(0) / (n * np.sqrt(w))[:, None]
        gv = (g[:, :, None] * (z**2 - 1)).sum(0) / (n * np.sqrt(2 * w))[:, None]
        out[i] = np.concatenate([gw, gm.ravel(), gv.ravel()])
    return out


def _numpy_bow_per_bag(bags, C):
    K = C.shape[0]
    out = np.zeros((bags.n_bags, K))
    for i, bag in enumerate(bags):
        lab = np.argmin(((bag[:, None, :] - C[None]) ** 2).sum(-1), axis=1)
        out[i] = np.bincount(lab, minlength=K) / bag.shape[0]
    return out


def _throughput(n_instances: int, repeats: int) -> list[dict]:
    from skmil.bags import Bags
    from skmil.embedding import BagOfWords, FisherVectorEncoder, VLADEncoder

    data = np.load(SCRATCH / "data.npz")
    offsets = data["offsets"]
    n_bags = int(np.searchsorted(offsets, n_instances))
    offsets = offsets[: n_bags + 1].copy()
    X = np.fromfile(SCRATCH / "instances.f64", dtype=np.float64, count=int(offsets[-1]) * 64)
    bags = Bags(X.reshape(-1, 64), offsets)
    bag_list = [b.copy() for b in bags]  # what a user holds: a list of 2-D arrays
    N = bags.n_instances
    sub = bags.take(np.arange(min(2000, bags.n_bags)))
    vlad = VLADEncoder(n_clusters=10, random_state=0).fit(sub)
    fv = FisherVectorEncoder(n_clusters=10, dtype="float64", random_state=0).fit(sub)
    bow = BagOfWords(n_clusters=10, random_state=0).fit(sub)
    C = vlad.cluster_centers_
    cases = [
        ("VLAD", vlad, lambda: vlad._raw(bags), {
            "numpy-per-bag": lambda: _numpy_vlad_per_bag(bags, C),
            "numpy-vectorised": lambda: _numpy_vlad_vectorised(bags, C)}),
        ("FisherVector", fv, lambda: fv._raw(bags), {
            "numpy-per-bag": lambda: _numpy_fisher_per_bag(
                bags, fv.weights_, fv.means_, fv.variances_)}),
        ("BoW-hard", bow, lambda: bow._transform(bags), {
            "numpy-per-bag": lambda: _numpy_bow_per_bag(bags, bow.cluster_centers_)}),
    ]
    rows = []
    for name, enc, ours, refs in cases:
        ours()  # compile (or load the numba cache)
        enc.transform(bag_list[:5])
        t_ours, z = best_of(ours, repeats=repeats)
        t_public, _ = best_of(partial(enc.transform, bag_list), repeats=repeats)
        print(f"  {name:13s} skmil {N / t_ours:12.0f} inst/s   public transform(list) "
              f"{N / t_public:11.0f} inst/s", flush=True)
        for ref_name, ref in refs.items():
            t_ref, z_ref = best_of(ref, repeats=repeats)
            err = float(np.max(np.abs(z - z_ref)))
            rows.append({"encoder": name, "baseline": ref_name, "n_instances": N,
                         "repeats": repeats,
                         "skmil_inst_per_s": N / t_ours, "numpy_inst_per_s": N / t_ref,
                         "speedup": t_ref / t_ours, "max_abs_diff": err,
                         "skmil_public_inst_per_s": N / t_public,
                         "public_speedup": t_ref / t_public})
            print(f"  {name:13s} skmil {N / t_ours:12.0f} inst/s   {ref_name:17s} "
                  f"{N / t_ref:11.0f} inst/s   ratio {ratio(t_ref, t_ours):>7}  "
                  f"(public {ratio(t_ref, t_public)}; max |diff| {err:.1e})", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000, 1_000_000],
                    help="instance counts (about); bags hold 10 instances on average")
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--throughput-instances", type=int, default=200_000)
    ap.add_argument("--throughput-only", action="store_true",
                    help="measure only the throughput table; keep the stored runs")
    ap.add_argument("--runs-only", action="store_true",
                    help="measure only the fit/predict runs; keep the stored throughput")
    ap.add_argument("--repeats", type=int, default=3,
                    help="throughput timings: best of this many runs, both sides")
    ap.add_argument("--plot", action="store_true",
                    help="only draw docs/images/embedding_scaling.png from the stored runs")
    ap.add_argument("--child", nargs=3, metavar=("METHOD", "N_BAGS", "SCRATCH"))
    add_tiny_flag(ap)
    args = ap.parse_args()
    global SCRATCH, RESULTS
    if args.child:
        SCRATCH = Path(args.child[2])
        _child(args.child[0], int(args.child[1]))
        return
    print_reproduce()
    if args.plot:
        plot(json.loads(RESULTS.read_text())["runs"], FIGURE)
        return
    if args.tiny:
        # a scratch folder of its own, so the stored results and data stay untouched
        tmp = tempfile.TemporaryDirectory()
        SCRATCH, RESULTS = Path(tmp.name) / "data", Path(tmp.name) / "embedding_scale.json"
        args.sizes, args.throughput_instances, args.repeats = [1000], 1000, 1
        args.methods = args.methods[:2]
    max_bags = max(args.sizes) // 10
    data_file = SCRATCH / "data.npz"
    if (not data_file.exists() or not (SCRATCH / "instances.f64").exists()
            or np.load(data_file)["y"].shape[0] < max_bags):
        _make_data(max_bags)
    old = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"runs": []}
    if args.runs_only:
        thr = old.get("throughput", [])
    else:
        print("encoding throughput (one thread recommended: see the module docstring)")
        thr = _throughput(min(args.throughput_instances, max(args.sizes)), args.repeats)
    if args.throughput_only:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({"throughput": thr, "runs": old["runs"]}, indent=1))
        print(f"wrote {RESULTS} (throughput replaced, {len(old['runs'])} runs kept)")
        return
    runs = []
    print(f"{'method':7s} {'N':>9s} {'fit s':>7s} {'pred s':>7s} {'extra':>8s} {'rss peak':>9s}"
          f" {'X':>8s} {'extra/X':>7s} {'rssextra/X':>10s} {'rss/X':>6s} {'train acc':>9s}")
    for n in args.sizes:
        for m in args.methods:
            out = subprocess.run(
                [sys.executable, __file__, "--child", m, str(n // 10), str(SCRATCH)],
                capture_output=True, text=True, check=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            runs.append(r)
            X = r["instance_bytes"]
            print(f"{m:7s} {r['n_instances']:9d} {r['fit_s']:7.2f} {r['predict_s']:7.2f} "
                  f"{r['extra_bytes'] / 2**20:7.0f}M {r['rss_peak_bytes'] / 2**20:8.0f}M "
                  f"{X / 2**20:7.0f}M {r['extra_bytes'] / X:7.2f} "
                  f"{(r['rss_peak_bytes'] - r['rss_before_fit_bytes']) / X:10.2f} "
                  f"{r['rss_peak_bytes'] / X:6.2f}"
                  f" {r['train_accuracy']:9.3f}", flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    # keep earlier runs of other (method, size) pairs
    done = {(r["method"], r["n_bags"]) for r in runs}
    runs = [r for r in old["runs"] if (r["method"], r["n_bags"]) not in done] + runs
    RESULTS.write_text(json.dumps({"throughput": thr, "runs": runs}, indent=1))
    print(f"wrote {RESULTS}")


def plot(runs: list[dict], out: Path) -> None:
    """Log-log fit + predict time against the number of instances, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.0), dpi=100)
    for method in sorted({r["method"] for r in runs}):
        rs = sorted((r for r in runs if r["method"] == method), key=lambda r: r["n_instances"])
        n = np.array([r["n_instances"] for r in rs])
        t = np.array([r["fit_s"] + r["predict_s"] for r in rs])
        ax.loglog(n, t, "o-", label=method)
    n_all = np.array(sorted({r["n_instances"] for r in runs}), dtype=float)
    t_ref = max(r["fit_s"] + r["predict_s"] for r in runs if r["n_instances"] == n_all[-1])
    ax.loglog(n_all, t_ref * n_all / n_all[-1], "k--", lw=1, label="linear (slope 1)")
    ax.set_xlabel("instances (10 per bag, d = 64)")
    ax.set_ylabel("fit + predict time [s]")
    ax.set_title("skmil bag embeddings: time vs instances")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
