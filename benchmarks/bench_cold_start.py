"""First use of every estimator: import + first ``fit`` + ``predict`` in a fresh process.

A user's first call pays everything that is done once per process: importing skmil and
the estimator's dependencies (POT, torch) and compiling the numba kernels the estimator
uses. numba caches compiled kernels on disk, so the first process on a machine pays the
compilation ("cold") and later ones load it from the cache ("warm").

Each estimator runs in its own subprocess, with its default parameters, on 40 bags of
10 instances x 20 features (``make_mil_classification``); a transformer runs
``fit`` + ``transform``. ``NUMBA_CACHE_DIR`` points at a new empty directory for the
cold run and at the same directory, now filled, for the warm run. The table gives the
import time (``import skmil`` and the estimator's module) and the time of the first
``fit`` + ``predict`` for both runs, and the ratio cold / warm of the latter.

Reproduce::

    python benchmarks/bench_cold_start.py                 # every registered estimator
    python benchmarks/bench_cold_start.py MIGraph EMDSVM  # some of them
    python benchmarks/bench_cold_start.py --tiny          # two estimators (smoke test)

Absolute times depend on the machine and its load, which the script prints (``os.getloadavg``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time

from _timing import add_tiny_flag, print_reproduce, ratio

_N_BAGS, _BAG_SIZE, _N_FEATURES = 40, 10, 20
_TINY = ("SIL", "MIGraph")


def _child(target: str) -> None:
    """Time one estimator's first use in this (fresh) process and print JSON."""
    module_name, _, class_name = target.partition(":")
    t0 = time.perf_counter()
    import skmil  # noqa: F401

    cls = getattr(importlib.import_module(module_name), class_name)
    t_import = time.perf_counter() - t0

    from skmil.base import BaseMILTransformer
    from skmil.datasets import make_mil_classification

    bags, y, _ = make_mil_classification(
        n_bags=_N_BAGS, n_features=_N_FEATURES, bag_size=_BAG_SIZE,
        bag_size_distribution="fixed", random_state=0)
    try:
        est = cls()
    except TypeError as exc:  # a base class that needs arguments (a network, an estimator)
        print(json.dumps({"skipped": f"{class_name}() needs arguments: {exc}"}))
        return
    t0 = time.perf_counter()
    est.fit(bags, y)
    t_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    if isinstance(est, BaseMILTransformer):
        est.transform(bags)
    else:
        est.predict(bags)
    t_predict = time.perf_counter() - t0
    print(json.dumps({"import": t_import, "fit": t_fit, "predict": t_predict}))


def _run_child(target: str, cache_dir: str, env: dict | None = None) -> dict:
    env = {**os.environ, **(env or {}), "NUMBA_CACHE_DIR": cache_dir}
    proc = subprocess.run([sys.executable, __file__, "--child", target], env=env,
                          capture_output=True, text=True, cwd=os.getcwd())
    if proc.returncode != 0:
        raise RuntimeError(f"{target} failed in its subprocess:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _targets(names: list[str]) -> list[tuple[str, str]]:
    from skmil.utils import all_estimators

    found = dict(all_estimators())
    if names:
        unknown = [n for n in names if n not in found]
        if unknown:
            raise SystemExit(f"unknown estimator(s) {unknown}; known: {sorted(found)}")
        found = {n: found[n] for n in names}
    return [(name, f"{cls.__module__}:{name}") for name, cls in sorted(found.items())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("estimators", nargs="*",
                        help="estimator class names (default: every registered one)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    add_tiny_flag(parser)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return
    print_reproduce()
    names = list(_TINY) if args.tiny and not args.estimators else args.estimators
    targets = _targets(names)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{_N_BAGS} bags of {_BAG_SIZE} x {_N_FEATURES}; {os.cpu_count()} CPUs, "
          f"load average {load}")
    header = (f"{'estimator':<24} {'import s':>9} {'cold fit+pred s':>16} "
              f"{'warm fit+pred s':>16} {'cold/warm':>10}")
    print(header)
    print("-" * len(header))
    for name, target in targets:
        with tempfile.TemporaryDirectory(prefix="skmil-numba-") as cache_dir:
            try:
                cold = _run_child(target, cache_dir)
                warm = _run_child(target, cache_dir)
            except RuntimeError as exc:
                print(f"{name:<24} failed: {exc}", flush=True)
                continue
        if "skipped" in cold:
            print(f"{name:<24} skipped: {cold['skipped'].splitlines()[0][:60]}", flush=True)
            continue
        c = cold["fit"] + cold["predict"]
        w = warm["fit"] + warm["predict"]
        print(f"{name:<24} {warm['import']:>9.2f} {c:>16.2f} {w:>16.2f} "
              f"{ratio(c, w):>10}", flush=True)


if __name__ == "__main__":
    main()
