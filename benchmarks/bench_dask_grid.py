"""A grid search over a deep head: sequential (``n_jobs=1``) vs a two-worker dask cluster.

``GridSearchCV(AttentionMIL(...), {"lr": 3 values}, cv=3)`` (9 fits) on 100 generated
bags, once with ``n_jobs=1`` in this process and once through
``joblib.parallel_backend("dask")`` on a ``LocalCluster`` of two single-threaded worker
processes. Both sides first run an untimed warm-up grid on 30 bags (imports, and the
workers' start-up, paid once per process, not per grid). The script prints both wall times and their
ratio; above 1 the cluster is faster.

Without torch (the ``deep`` extra) or dask's ``distributed`` the script says so and
exits 0.

Reproduce::

    python benchmarks/bench_dask_grid.py
    python benchmarks/bench_dask_grid.py --tiny     # smoke test, seconds
"""

from __future__ import annotations

import argparse
import importlib.util
import time

from _timing import add_tiny_flag, print_reproduce, ratio


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=50)
    add_tiny_flag(ap)
    args = ap.parse_args()
    print_reproduce()
    missing = [m for m in ("torch", "distributed") if importlib.util.find_spec(m) is None]
    if missing:
        print(f"{', '.join(missing)} not installed: skipped")
        return
    import joblib
    from distributed import Client, LocalCluster
    from sklearn.model_selection import GridSearchCV

    from skmil.datasets import make_mil_classification
    from skmil.deep import AttentionMIL

    n_bags, epochs = (30, 2) if args.tiny else (100, args.epochs)
    bags, y, _ = make_mil_classification(n_bags=n_bags, n_features=10, random_state=0)
    grid = {"lr": [1e-3, 3e-3, 1e-2]}

    def search():
        return GridSearchCV(AttentionMIL(max_epochs=epochs, random_state=0), grid, cv=3)

    search().set_params(n_jobs=1).fit(bags[:30], y[:30])  # warm-up here too
    t0 = time.perf_counter()
    sequential = search().set_params(n_jobs=1).fit(bags, y)
    seq_s = time.perf_counter() - t0
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None) as cluster, Client(cluster):
        with joblib.parallel_backend("dask"):
            search().fit(bags[:30], y[:30])  # warm-up: imports in the workers
            t0 = time.perf_counter()
            remote = search().fit(bags, y)
            dask_s = time.perf_counter() - t0
    same = remote.best_params_ == sequential.best_params_
    print(f"AttentionMIL grid, 9 fits of {epochs} epochs on {n_bags} bags")
    print(f"{'n_jobs=1':<26}{seq_s:8.2f} s")
    print(f"{'dask, 2 workers x 1 thread':<26}{dask_s:8.2f} s")
    print(f"ratio (sequential / dask): {ratio(seq_s, dask_s)}; same best_params_: {same}")


if __name__ == "__main__":
    main()
