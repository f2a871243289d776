"""Log-log plot of fit + predict time against the number of instances (1e3 .. 1e6).

Reads ``benchmarks/results/embedding_scale.json`` written by
``bench_embedding_scale.py`` (running it first if the file is missing) and saves
``docs/images/embedding_scaling.png``. A dashed line of slope 1 marks linear scaling.

Reproduce::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE \\
        python benchmarks/bench_embedding_scale.py
    python benchmarks/plot_embedding_scaling.py
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "embedding_scale.json"
OUT = ROOT / "docs" / "images" / "embedding_scaling.png"


def main() -> None:
    if not RESULTS.exists():
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_embedding_scale.py")],
                       check=True)
    runs = json.loads(RESULTS.read_text())["runs"]
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
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
