"""Every speed benchmark runs at a tiny size, so a change of private code cannot break it silently.

Each ``benchmarks/bench_*.py`` takes ``--tiny``; this runs it in a subprocess from the
repository root and checks that it exits 0, prints the command that reproduces it, and
prints a ratio against a baseline measured in the same run (``1.23x``) or says which
optional peer or dependency is missing and that it skipped.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "benchmarks").glob("bench_*.py"))
RATIO = re.compile(r"\b\d+\.\d\dx\b")
#: scripts whose comparison needs an optional peer (misvm) or extra (torch)
OPTIONAL = {"bench_svm_vs_misvm.py": "misvm", "bench_deep_throughput.py": "torch",
            "bench_deep_defaults.py": "torch", "bench_dask_grid.py": "torch"}


def test_every_speed_script_is_collected():
    # a glob that silently matched nothing would make the test below vacuous
    assert len(SCRIPTS) >= 9, [p.name for p in SCRIPTS]


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_speed_script_runs_tiny(script, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg", "SKMIL_BENCH_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, str(script.relative_to(ROOT)), "--tiny"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout
    assert proc.returncode == 0, f"{script.name} exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    assert f"reproduce: python benchmarks/{script.name} --tiny" in out, out[-2000:]
    skipped = script.name in OPTIONAL and f"{OPTIONAL[script.name]}" in out and "skipped" in out
    assert RATIO.search(out) or skipped, f"{script.name} printed no ratio:\n{out[-2000:]}"
