"""Timing (and memory) helpers shared by the speed benchmarks (``benchmarks/bench_*.py``).

Every speed script times skmil against a baseline inside the same run and reports the
ratio, because absolute times move with the machine and its load while a ratio of two
interleaved measurements mostly does not. The helpers return numbers; the scripts print.

The scripts are run from the repository root (``python benchmarks/bench_x.py``), so this
directory is on ``sys.path`` and ``from _timing import ...`` works.
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any


def best_of(fn: Callable[[], Any], *, repeats: int = 3,
            warmup: bool = False) -> tuple[float, Any]:
    """Smallest wall time of ``repeats`` calls of ``fn`` and the last call's result.

    The minimum is the least noisy estimate of a deterministic computation's cost: load
    from other processes only ever adds time. ``warmup=True`` makes one untimed call
    first (numba compilation, imports, allocator).
    """
    if repeats < 1:
        raise ValueError(f"repeats={repeats}; use at least 1.")
    if warmup:
        fn()
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def median_of(fn: Callable[[], Any], *, repeats: int = 5) -> tuple[float, Any]:
    """Median wall time of ``repeats`` calls of ``fn`` and the last call's result.

    For computations whose cost varies from call to call (random restarts, training).
    """
    if repeats < 1:
        raise ValueError(f"repeats={repeats}; use at least 1.")
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def best_of_interleaved(fns: Sequence[Callable[[], Any]], *, repeats: int = 3) -> list[float]:
    """Best time of each callable, the callables taking turns in every repetition.

    Taking turns spreads a change of machine load over all of them alike, so their
    ratios stay fair even when the load drifts during the run.
    """
    if repeats < 1:
        raise ValueError(f"repeats={repeats}; use at least 1.")
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def ratio(baseline_s: float, candidate_s: float) -> str:
    """``baseline / candidate`` as text such as ``"3.21x"`` (above 1: the candidate is faster)."""
    return f"{baseline_s / candidate_s:.2f}x"


def add_tiny_flag(parser: argparse.ArgumentParser) -> None:
    """Add ``--tiny``: a run of a few seconds that checks the script still works.

    Tiny runs are for CI (``tests/test_benchmark_scripts.py``); their numbers mean
    nothing beyond "the code path runs".
    """
    parser.add_argument("--tiny", action="store_true",
                        help="run on a tiny problem in seconds (a smoke test; the numbers "
                             "are not meaningful)")


def print_reproduce(argv: Sequence[str] | None = None) -> None:
    """Print the command line that reproduces this run."""
    argv = sys.argv if argv is None else argv
    print("reproduce: python " + " ".join(shlex.quote(a) for a in argv), flush=True)


def status_bytes(field: str) -> int:
    """A memory field of ``/proc/self/status`` in bytes: ``"VmRSS"`` (resident now) or
    ``"VmHWM"`` (this process's peak).

    Not ``ru_maxrss``: it survives fork+exec, so a child started by a benchmark would
    report its parent's peak. Without ``/proc``, ``ru_maxrss`` is the fallback.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_json_child(cmd: Sequence[str], timeout: float, *, timeout_note: str = "",
                   **failed: Any) -> dict:
    """Run a benchmark's child process and return the JSON object of its last output line.

    A child that runs past ``timeout`` seconds gives ``{"status": "over cap", "note":
    timeout_note}``, one that fails ``{"status": "error", "note": <its last stderr
    line>}``; both carry the ``failed`` fields too (the caller's placeholders for the
    figures a finished child reports).
    """
    try:
        proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": "over cap", "note": timeout_note, **failed}
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or ["no output"]
        return {"status": "error", "note": lines[-1][:90], **failed}
    return json.loads(proc.stdout.strip().splitlines()[-1])
