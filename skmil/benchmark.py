"""The classic MIL benchmark harness: every estimator x the five shipped data sets.

Repeated stratified 10-fold CV (5 repetitions by default, seeds recorded), instance
standardisation fitted inside each training fold, fixed documented hyperparameters per
estimator (:data:`SPECS`) or, with ``tune=True``, a nested inner-CV grid search.
Per-fold accuracy, ROC AUC, fit and predict time are appended to a CSV as folds finish,
so an interrupted run resumes where it stopped; a Markdown table puts skmil's mean ± std
next to the published number and the difference; PNG plots are written beside it.

Run it as ``skmil benchmark`` (``--help`` lists the options) or
``python benchmarks/run_benchmark.py``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from ._params import count_at_least, parse_params

__all__ = [
    "BenchmarkSpec",
    "SPECS",
    "published_accuracy",
    "published_mnist_bags_auc",
    "mnist_bags_comparison_table",
    "MNIST_BAGS_COUNTERPARTS",
    "run_benchmark",
    "summarize",
    "markdown_table",
    "rst_table",
    "run_digits_benchmark",
    "run_assumptions_benchmark",
    "run_regression_benchmark",
    "run_multiclass_benchmark",
    "multiclass_estimators",
    "run_partial_labels_benchmark",
    "partial_labels_table",
    "run_positive_fraction_benchmark",
    "positive_fraction_table",
    "defaults_report",
    "positive_fraction_estimators",
    "reveal_instance_labels",
    "assumptions_table",
    "regression_table",
    "multiclass_table",
    "ASSUMPTIONS",
    "params_hash",
    "main",
]

DATASET_ORDER = ("musk1", "musk2", "fox", "tiger", "elephant")


@dataclass(frozen=True)
class BenchmarkSpec:
    """How the harness runs one estimator.

    Parameters
    ----------
    params : dict, default={}
        Fixed hyperparameters used for the table (empty: the estimator's defaults).
    published : str or None, default=None
        The method's name in the published-accuracy table, if it has one.
    quick : bool, default=False
        Included in ``--quick`` runs (fast estimators only).
    grid : dict, default={}
        Inner-CV grid for ``--tune`` (parameter names of the estimator itself).
    note : str, default="defaults"
        Why these hyperparameters.
    default_run : bool, default=True
        Part of a run that names no estimators (False for aliases and generic wrappers).
    """

    params: dict[str, Any] = field(default_factory=dict)
    published: str | None = None
    quick: bool = False
    grid: dict[str, list] = field(default_factory=dict)
    note: str = "defaults"
    default_run: bool = True


#: Hyperparameters of record for the benchmark table. Defaults are used unless a
#: reason is written down; no entry was tuned on the five benchmark sets themselves.
_C_GRID = [0.1, 1.0, 10.0, 100.0]

SPECS: dict[str, BenchmarkSpec] = {
    # baselines
    "SimpleMI": BenchmarkSpec(
        quick=True,
        note="trivial baseline: bag mean/min/max + RBF SVC, C by inner CV (defaults)",
    ),
    "SIL": BenchmarkSpec(quick=True, grid={"C": _C_GRID}, note="defaults: RBF SVC, max pooling"),
    # SVM family
    "InstanceMISVM": BenchmarkSpec(published="mi-SVM", grid={"C": _C_GRID}),
    "MISVM": BenchmarkSpec(published="MI-SVM", grid={"C": _C_GRID}),
    "MIKernelSVM": BenchmarkSpec(published="MI-Kernel", quick=True, grid={"C": _C_GRID}),
    "STK": BenchmarkSpec(quick=True, grid={"C": _C_GRID}),
    "SparseMIL": BenchmarkSpec(grid={"C": _C_GRID}),
    "SparseTransductiveMIL": BenchmarkSpec(grid={"C": _C_GRID}),
    "SparseBalancedMIL": BenchmarkSpec(grid={"C": _C_GRID}),
    "MICA": BenchmarkSpec(grid={"C": _C_GRID}),
    "MissSVM": BenchmarkSpec(grid={"C": _C_GRID}),
    # embeddings: codebook size and C chosen by inner CV inside fit
    "MiVLAD": BenchmarkSpec(published="miVLAD", quick=True),
    "MiFV": BenchmarkSpec(published="miFV", quick=True),
    "BagOfWordsClassifier": BenchmarkSpec(),
    "MILES": BenchmarkSpec(),
    # distance, graph and density
    "MIGraph": BenchmarkSpec(published="mi-Graph", quick=True),
    "MIGraphExplicit": BenchmarkSpec(),
    "EMDSVM": BenchmarkSpec(),
    "CitationKNN": BenchmarkSpec(quick=True),
    "DiverseDensity": BenchmarkSpec(),
    "EMDD": BenchmarkSpec(published="EM-DD"),
    # deep; the generic wrapper is covered by the named heads
    "DeepMILClassifier": BenchmarkSpec(default_run=False, note="generic wrapper"),
    "InstanceMINet": BenchmarkSpec(published="mi-Net"),
    "MINet": BenchmarkSpec(published="MI-Net"),
    "MINetDS": BenchmarkSpec(published="MI-Net with DS"),
    "MINetRC": BenchmarkSpec(published="MI-Net with RC"),
    "AttentionMIL": BenchmarkSpec(published="AbMILP"),
    "GatedAttentionMIL": BenchmarkSpec(published="AbMILP-Gated"),
    "DSMIL": BenchmarkSpec(published="DSMIL"),
}


def _spec(name: str) -> BenchmarkSpec:
    return SPECS.get(name, BenchmarkSpec())


def published_accuracy() -> dict[tuple[str, str], tuple[float, float | None]]:
    """The literature's 10-fold CV accuracies: ``{(method, dataset): (mean, std or None)}``.

    Returns
    -------
    dict
        ``(method, dataset) -> (mean, std)``, accuracies as fractions; ``std`` is
        ``None`` where the source gives none.
    """
    ref = resources.files("skmil.datasets") / "data" / "published_accuracy.csv"
    out = {}
    with ref.open("r") as fh:
        for row in csv.DictReader(fh):
            std = row["accuracy_std"]
            out[(row["method"], row["dataset"])] = (
                float(row["accuracy_mean"]),
                float(std) if std else None,
            )
    return out


_FIELDS = [
    "estimator",
    "dataset",
    "repeat",
    "fold",
    "seed",
    "n_splits",
    "tuned",
    "params",
    "params_hash",
    "accuracy",
    "auc",
    "fit_time",
    "predict_time",
    "n_train",
    "n_test",
    "best_params",
    "skmil_version",
    "timestamp",
]


def _params_key(params: dict) -> str:
    return json.dumps(params, sort_keys=True, default=repr)


def _stable(value: Any) -> Any:
    """A JSON-able stand-in for a parameter value that is the same in every process."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_stable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _stable(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if hasattr(value, "get_params"):
        # a nested estimator: get_params(deep=True) lists its parameters separately
        return f"{type(value).__module__}.{type(value).__qualname__}"
    if callable(value):  # a function's repr holds its memory address
        return f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', '')}"
    return repr(value)


def params_hash(name: str, params: dict | None = None) -> str:
    """A hash of every parameter ``name`` runs with: the given ones and all defaults.

    Part of the benchmark's resume key, so a changed default (in a new skmil version or
    a dependency) never reuses stored results under the same label.

    Parameters
    ----------
    name : str
        A registered estimator name.
    params : dict, optional
        Parameters set on top of the defaults.

    Returns
    -------
    str
        16 hexadecimal digits.

    Examples
    --------
    >>> params_hash("SIL", {"C": 10.0}) == params_hash("SIL", {"C": 1.0})
    False
    """
    from .utils import get_estimator

    est = get_estimator(name)()
    est.set_params(**(params or {}))
    resolved = {k: _stable(v) for k, v in est.get_params(deep=True).items()}
    text = json.dumps([type(est).__qualname__, resolved], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _run_params(name: str, params: dict | None) -> dict:
    """The spec's parameters of ``name`` updated with the run's ``params``.

    Every key of ``params`` must be a parameter of the estimator: a misspelt name would
    otherwise run (and record) the defaults under a label that says otherwise.
    """
    from .utils import get_estimator

    params = dict(params or {})
    valid = get_estimator(name)().get_params()
    unknown = sorted(k for k in params if k not in valid)
    if unknown:
        raise ValueError(
            f"{name} has no parameter(s) {', '.join(unknown)}; its parameters are "
            f"{', '.join(sorted(valid))}. Run estimators with different parameters "
            "separately."
        )
    return {**_spec(name).params, **params}


def _header(path: str) -> list[str]:
    with open(path, newline="") as fh:
        return next(csv.reader(fh), [])


def _read_rows(path: str) -> list[dict]:
    if not os.path.exists(path):
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _standardized_estimator(name: str, params: dict, seed: int):
    """The registered estimator with the spec's parameters, seeded, after instance scaling.

    A ``random_state`` fixed in ``params`` wins over the per-run ``seed``.
    """
    from .model_selection import with_standardization
    from .utils import get_estimator

    est = get_estimator(name)()
    est.set_params(**params)  # validated up front by _run_params
    if "random_state" in est.get_params() and "random_state" not in params:
        est.set_params(random_state=seed)
    return with_standardization(est)


def _fold_task(index, name, params, tuned, grid, bags, y, train, test, repeat, fold, seed,
               params_key=None, phash=""):
    """Run one outer fold in a worker; returns ``(index, CSV row)``.

    ``params_key`` is what the row records as its parameters (default: ``params``);
    a run with its own tuning grid records that grid there too.
    """
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    from . import __version__
    from .model_selection import run_fold

    pipe = _standardized_estimator(name, params, seed)
    best = ""
    if tuned and grid:
        step = pipe.steps[-1][0]
        inner = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
        search = GridSearchCV(
            pipe, {f"{step}__{k}": v for k, v in grid.items()}, cv=inner, error_score=0.0
        )
        res, fitted = run_fold(
            search, bags, y, train, test, repeat, fold, seed, return_estimator=True
        )
        best = json.dumps(
            {k.split("__", 1)[1]: v for k, v in fitted.best_params_.items()}, default=repr
        )
    else:
        res = run_fold(pipe, bags, y, train, test, repeat, fold, seed)
    return index, {
        "estimator": name,
        "dataset": None,  # filled in by the caller
        "repeat": repeat,
        "fold": fold,
        "seed": seed,
        "tuned": int(bool(tuned)),
        "params": params_key if params_key is not None else _params_key(params),
        "params_hash": phash,
        "accuracy": res.accuracy,
        "auc": res.auc,
        "fit_time": res.fit_time,
        "predict_time": res.predict_time,
        "n_train": res.n_train,
        "n_test": res.n_test,
        "best_params": best,
        "skmil_version": __version__,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def run_benchmark(
    estimators: Sequence[str] | None = None,
    datasets: Sequence[str] = DATASET_ORDER,
    *,
    n_splits: int = 10,
    n_repeats: int = 5,
    seed: int = 0,
    tune: bool = False,
    out_dir: str = "benchmark_results",
    n_jobs: int | None = -1,
    progress: bool = True,
    quick: bool = False,
    params: dict | None = None,
    grid: dict | None = None,
) -> list[dict]:
    """Run (or resume) the benchmark and return the result rows of the requested cells.

    Parameters
    ----------
    estimators : list of str, optional
        Registered estimator names; default every registered classifier (with
        ``quick=True``, those marked quick in :data:`SPECS`).
    datasets : list of str
        Shipped data set names.
    n_splits, n_repeats, seed : int
        Repetition ``r`` uses ``StratifiedKFold(n_splits, shuffle=True,
        random_state=seed + r)``.
    tune : bool, default=False
        Nested selection: an inner 5-fold grid search (the spec's grid) per outer fold.
    out_dir : str
        Where ``results.csv``, ``results.md`` and the plots go. Folds already in
        ``results.csv`` with the same estimator, data set, repetition, fold, seed,
        parameters, skmil version and hash of the resolved parameters (defaults
        included, :func:`params_hash`) are reused, and the run prints how many; rows
        of another version or other resolved parameters stay in the file but are
        neither reused nor returned.
    n_jobs : int, default=-1
        Parallel folds (joblib processes).
    progress : bool, default=True
        Show a progress bar over folds.
    quick : bool, default=False
        Restrict the default estimator list to the fast ones.
    params : dict, optional
        Hyperparameters that replace those of record (:data:`SPECS`) for every
        requested estimator, e.g. ``{"threshold": "auto"}``; each must be a parameter
        of every estimator. Rows record the parameters they ran with, so variants can
        share one results file without mixing.
    grid : dict, optional
        With ``tune=True``: the inner-CV grid for every requested estimator, instead of
        the spec's (parameter name -> list of values). Rows record it in ``params``
        under ``"tune_grid"``, so runs with other grids never mix.

    Returns
    -------
    rows : list of dict
        One per fold, as in the CSV.
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    from . import __version__
    from .datasets import load_dataset
    from .model_selection import repeated_folds
    from .utils import all_estimators, get_estimator

    if n_repeats < 1 or n_splits < 2:
        raise ValueError(
            f"n_repeats must be at least 1 and n_splits at least 2; got n_repeats="
            f"{n_repeats}, n_splits={n_splits}."
        )
    if estimators is None:
        names = [n for n, _ in all_estimators("classifier") if _spec(n).default_run]
        estimators = [n for n in names if _spec(n).quick] if quick else names
    estimators = [get_estimator(n).__name__ for n in estimators]
    run_params = {n: _run_params(n, params) for n in estimators}
    if grid is not None:
        if not tune:
            raise ValueError("grid is the inner-CV grid of tune=True; pass tune=True too.")
        for n in estimators:
            unknown = sorted(set(grid) - set(get_estimator(n)().get_params()))
            if unknown:
                raise ValueError(f"grid parameters {unknown} are not parameters of {n}.")
    record = {n: _params_key(run_params[n] if grid is None
                             else {**run_params[n], "tune_grid": grid}) for n in estimators}
    hashes = {n: params_hash(n, run_params[n]) for n in estimators}
    os.makedirs(out_dir, exist_ok=True)
    csv_path = os.path.join(out_dir, "results.csv")
    stored = _read_rows(csv_path)
    if stored and _header(csv_path) != _FIELDS:
        # a file from before the resume key held the version and parameter hash: keep
        # its rows (they match no key, so their cells rerun) under the current header
        with open(csv_path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=_FIELDS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(stored)
    done = {
        (r["estimator"], r["dataset"], r["repeat"], r["fold"], r["seed"], r["n_splits"],
         r["tuned"], r["params"], r.get("skmil_version"), r.get("params_hash"))
        for r in stored
    }
    from .bags import check_bags

    data = {}
    for ds in datasets:
        X, y = load_dataset(ds, return_X_y=True)
        data[ds] = (check_bags(X), y)
    tasks, meta = [], []
    reused = 0
    for name in estimators:
        spec = _spec(name)
        pkey = record[name]
        for ds in datasets:
            bags, y = data[ds]
            for r, k, s, tr, te in repeated_folds(y, n_splits, n_repeats, seed):
                key = (name, ds, str(r), str(k), str(s), str(n_splits), str(int(tune)), pkey,
                       __version__, hashes[name])
                if key in done:
                    reused += 1
                    continue
                tasks.append(
                    delayed(_fold_task)(
                        len(tasks), name, run_params[name], tune,
                        spec.grid if grid is None else grid, bags, y, tr, te, r, k, s,
                        params_key=pkey, phash=hashes[name],
                    )
                )
                meta.append(ds)
    stale = sum(
        1 for r in stored
        if r["estimator"] in record and r["dataset"] in datasets
        and (r.get("skmil_version"), r.get("params_hash")) != (__version__, hashes[r["estimator"]])
    )
    if reused or stale:
        print(
            f"{csv_path}: reusing {reused} stored fold result(s) with the same skmil "
            f"{__version__}, parameters and folds; {len(tasks)} fold(s) to run"
            + (f"; {stale} stored row(s) of another skmil version or other resolved "
               "parameters are not used" if stale else "")
            + ". Use another --out (out_dir) or delete the file to rerun everything."
        )
    new_file = not os.path.exists(csv_path)
    if tasks:
        with open(csv_path, "a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=_FIELDS)
            if new_file:
                writer.writeheader()
            bar = tqdm(total=len(tasks), disable=not progress, unit="fold", desc="benchmark")
            with bar:
                for i, row in Parallel(n_jobs=n_jobs, return_as="generator_unordered")(tasks):
                    row["dataset"] = meta[i]
                    row["n_splits"] = n_splits
                    writer.writerow(row)
                    fh.flush()
                    bar.set_postfix_str(f"{row['estimator']}/{row['dataset']}", refresh=False)
                    bar.update(1)
    wanted_params = record
    return [
        r
        for r in _read_rows(csv_path)
        if r["estimator"] in wanted_params
        and r["dataset"] in datasets
        and r["params"] == wanted_params[r["estimator"]]
        and r.get("skmil_version") == __version__
        and r.get("params_hash") == hashes[r["estimator"]]
        and int(r["repeat"]) < n_repeats
        and int(r["n_splits"]) == n_splits
        and int(r["seed"]) - int(r["repeat"]) == seed
        and int(r["tuned"]) == int(tune)
    ]


def _name_order(name: str) -> tuple[str, str]:
    # case-insensitive, then exact: names that differ only by case never swap between runs
    return name.lower(), name


def summarize(
    rows: list[dict], time_repeat: str | None = None
) -> dict[tuple[str, str], dict[str, float]]:
    """Per (estimator, data set): accuracy mean and std over repetitions, AUC, times.

    Parameters
    ----------
    rows : list of dict
        Fold rows, as returned by :func:`run_benchmark` or read from its CSV.
    time_repeat : str, optional
        Take the fit and predict times from the folds of this repetition only (for a
        CSV whose repetitions were timed on different hardware); by default, or for a
        cell without that repetition, every fold's.

    Returns
    -------
    dict
        ``(estimator, dataset) ->`` a dict of ``accuracy_mean``, ``accuracy_std``,
        ``auc_mean``, ``fit_time``, ``predict_time`` (seconds per fold), ``n_folds``
        and ``n_repeats``.
    """
    cells: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        cells.setdefault((r["estimator"], r["dataset"]), []).append(r)
    out = {}
    for key, rs in cells.items():
        reps: dict[str, list[dict]] = {}
        for r in rs:
            reps.setdefault(r["repeat"], []).append(r)
        rep_acc = [
            np.average([float(r["accuracy"]) for r in v], weights=[int(r["n_test"]) for r in v])
            for v in reps.values()
        ]
        # one repetition: the spread over its folds is the only spread there is
        spread = rep_acc if len(reps) > 1 else [float(r["accuracy"]) for r in rs]
        timed = reps.get(time_repeat, rs)
        out[key] = {
            "accuracy_mean": float(np.mean(rep_acc)),
            "accuracy_std": float(np.std(spread)),
            "auc_mean": float(np.nanmean([float(r["auc"]) for r in rs])),
            "fit_time": float(np.mean([float(r["fit_time"]) for r in timed])),
            "predict_time": float(np.mean([float(r["predict_time"]) for r in timed])),
            "n_folds": len(rs),
            "n_repeats": len(reps),
        }
    return out


def _table_cells(rows: list[dict], datasets: Sequence[str], time_repeat: str | None = None):
    summary = summarize(rows, time_repeat)
    pub = published_accuracy()
    estimators = sorted({e for e, _ in summary}, key=_name_order)
    datasets = [d for d in datasets if any((e, d) in summary for e in estimators)]
    header = ["estimator"] + [d.upper() for d in datasets] + ["fit s/fold"]
    body = []
    for e in estimators:
        spec = _spec(e)
        cells, times = [], []
        for d in datasets:
            s = summary.get((e, d))
            if s is None:
                cells.append("")
                continue
            times.append(s["fit_time"])
            cell = f"{s['accuracy_mean']:.3f} ± {s['accuracy_std']:.3f}"
            if s["n_repeats"] < max(x["n_repeats"] for x in summary.values()):
                cell += f" [{s['n_repeats']}x]"
            if spec.published and (spec.published, d) in pub:
                p = pub[(spec.published, d)][0]
                cell += f" ({p:.3f}, {s['accuracy_mean'] - p:+.3f})"
            cells.append(cell)
        label = e if not spec.published or spec.published == e else f"{e} ({spec.published})"
        body.append([label] + cells + [f"{np.mean(times):.3g}"])
    return header, body


def markdown_table(
    rows: list[dict], datasets: Sequence[str] = DATASET_ORDER, time_repeat: str | None = None
) -> str:
    """Markdown table: accuracy mean ± std per estimator x data set, published value and diff.

    A cell with fewer repetitions than the table's maximum is marked ``[kx]``.

    Parameters
    ----------
    rows : list of dict
        Fold rows, as returned by :func:`run_benchmark` or read from its CSV.
    datasets : sequence of str, default=DATASET_ORDER
        The data sets to show, in this order; those without rows are left out.
    time_repeat : str, optional
        As in :func:`summarize`.

    Returns
    -------
    str
        The table, one estimator per line.
    """
    header, body = _table_cells(rows, datasets, time_repeat)
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


def rst_table(
    rows: list[dict], datasets: Sequence[str] = DATASET_ORDER, time_repeat: str | None = None
) -> str:
    """The same table as :func:`markdown_table`, as a reStructuredText list-table.

    Parameters
    ----------
    rows : list of dict
        Fold rows, as returned by :func:`run_benchmark` or read from its CSV.
    datasets : sequence of str, default=DATASET_ORDER
        The data sets to show, in this order; those without rows are left out.
    time_repeat : str, optional
        As in :func:`summarize`.

    Returns
    -------
    str
        The ``list-table`` directive and its rows.
    """
    header, body = _table_cells(rows, datasets, time_repeat)
    out = [".. list-table::", "   :header-rows: 1", ""]
    for r in [header] + body:
        out.append("   * - " + (r[0] or " "))
        out += [f"     - {c or ' '}" for c in r[1:]]
    return "\n".join(out)


def plot_results(rows: list[dict], out_dir: str, time_repeat: str | None = None) -> list[str]:
    """Accuracy per data set with published markers, and fit time per estimator (log).

    ``time_repeat`` as in :func:`summarize`.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    summary = summarize(rows, time_repeat)
    pub = published_accuracy()
    estimators = sorted({e for e, _ in summary}, key=_name_order)
    datasets = [d for d in DATASET_ORDER if any((e, d) in summary for e in estimators)]
    paths = []
    fig, ax = plt.subplots(figsize=(max(7, 1.8 * len(datasets) + 4), 5))
    width = 0.8 / max(len(estimators), 1)
    colours = plt.cm.tab20(np.linspace(0, 1, 20))
    markers = "osD^v<>ph*"
    for i, e in enumerate(estimators):
        xs, ms, ss = [], [], []
        for j, d in enumerate(datasets):
            if (e, d) in summary:
                xs.append(j + (i - (len(estimators) - 1) / 2) * width)
                ms.append(summary[(e, d)]["accuracy_mean"])
                ss.append(summary[(e, d)]["accuracy_std"])
        ax.errorbar(xs, ms, yerr=ss, fmt=markers[i % len(markers)], label=e, capsize=2,
                    color=colours[i % 20], markersize=4)
        spec = _spec(e)
        if spec.published:
            px = [x for x, d in zip(xs, [d for d in datasets if (e, d) in summary])
                  if (spec.published, d) in pub]
            py = [pub[(spec.published, d)][0] for d in datasets
                  if (e, d) in summary and (spec.published, d) in pub]
            ax.scatter(px, py, marker="_", s=200, color="k", zorder=3)
    ax.set_xticks(range(len(datasets)), [d.upper() for d in datasets])
    ax.set_ylabel("10-fold CV accuracy (mean ± std over repetitions)")
    ax.set_title("skmil accuracy; black bars: published means")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path = os.path.join(out_dir, "accuracy.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    paths.append(path)

    fig, ax = plt.subplots(figsize=(6, max(3, 0.3 * len(estimators) + 1)))
    times = [np.mean([summary[(e, d)]["fit_time"] for d in datasets if (e, d) in summary])
             for e in estimators]
    ax.barh(estimators, times)
    ax.set_xscale("log")
    ax.set_xlabel("mean fit time per fold (s, log scale)")
    fig.tight_layout()
    path = os.path.join(out_dir, "fit_time.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    paths.append(path)
    return paths


def _append_rows(path: str, fields: list[str], jobs: list[tuple], task, extra: tuple, *,
                 desc: str, progress: bool, n_jobs: int | None) -> None:
    """Run ``task(*job, *extra)`` for every job in joblib workers and append each row to
    the CSV at ``path`` as it finishes (header first for a new file), with a progress bar.
    A run that is interrupted keeps every finished row, which the next run reuses."""
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    new = not os.path.exists(path)
    with open(path, "a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        if new:
            w.writeheader()
        bar = tqdm(total=len(jobs), disable=not progress, unit="run", desc=desc)
        with bar:
            for row in Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
                delayed(task)(*j, *extra) for j in jobs
            ):
                w.writerow(row)
                fh.flush()
                bar.update(1)


def run_digits_benchmark(
    estimators: Sequence[str],
    *,
    n_train: Sequence[int] = (50, 100, 300),
    bag_sizes: Sequence[int] = (10, 50, 100),
    n_test: int = 1000,
    n_repeats: int = 5,
    out_dir: str = "benchmark_results",
    progress: bool = True,
    n_jobs: int | None = -1,
    params: dict | None = None,
) -> list[dict]:
    """Digits-bags benchmark: bag AUC (and instance AUC where available).

    Training bags come from the train half of the digit pool, test bags from the test
    half (see :func:`skmil.datasets.make_digits_bags`); bag size std is 20% of the mean,
    as in the MNIST-bags protocol (10/2, 50/10, 100/20). Results go to
    ``digits_results.csv`` and ``digits.md`` in ``out_dir``. ``params`` replaces the
    hyperparameters of record as in :func:`run_benchmark`; rows record them in their
    ``params`` column (a file written before that column existed is read as defaults,
    and rewritten with the column before new rows are added).

    Parameters
    ----------
    estimators : sequence of str
        Registered estimator names or aliases.
    n_train : sequence of int, default=(50, 100, 300)
        Numbers of training bags; one cell per value and bag size.
    bag_sizes : sequence of int, default=(10, 50, 100)
        Mean bag sizes.
    n_test : int, default=1000
        Number of test bags of each cell.
    n_repeats : int, default=5
        Repetitions of each cell, each with its own seed.
    out_dir : str, default="benchmark_results"
        Where ``digits_results.csv`` and ``digits.md`` go; rows already in the CSV are
        reused.
    progress : bool, default=True
        Show a progress bar.
    n_jobs : int or None, default=-1
        Runs in parallel (joblib processes), one per estimator, cell and repetition.
    params : dict, optional
        Hyperparameters that replace those of record for every requested estimator.

    Returns
    -------
    list of dict
        One row per estimator, cell and repetition, as in the CSV.
    """

    from .utils import get_estimator

    names = [get_estimator(n).__name__ for n in estimators]
    run_params = {n: _run_params(n, params) for n in names}
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "digits_results.csv")
    fields = ["estimator", "n_train", "bag_size", "repeat", "bag_auc", "instance_auc",
              "accuracy", "fit_time", "params"]
    old = _read_rows(path)
    if os.path.exists(path) and "params" not in _header(path):
        for r in old:
            r["params"] = _params_key({})
        with open(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=fields)
            w.writeheader()
            w.writerows(old)
    done = {(r["estimator"], r["n_train"], r["bag_size"], r["repeat"], r["params"]) for r in old}
    jobs = [
        (e, nt, bs, r, run_params[e])
        for e in names
        for nt in n_train
        for bs in bag_sizes
        for r in range(n_repeats)
        if (e, str(nt), str(bs), str(r), _params_key(run_params[e])) not in done
    ]
    _append_rows(path, fields, jobs, _digits_task, (n_test,),
                 desc="digits bags", progress=progress, n_jobs=n_jobs)
    wanted = {n: _params_key(p) for n, p in run_params.items()}
    rows = [r for r in _read_rows(path) if wanted.get(r["estimator"]) == r["params"]]
    with open(os.path.join(out_dir, "digits.md"), "w") as fh:
        fh.write(digits_table(rows) + "\n")
    return rows


def _fit_and_score(pipe, Xtr, ytr, Xte, yte, instance_labels, **fit_params) -> dict:
    """Fit ``pipe`` on the training bags, then score it on the test bags.

    Returns the fit time, the bag AUC and accuracy, and the instance AUC against
    ``instance_labels`` where the model has instance scores (NaN otherwise).
    """
    from sklearn.metrics import accuracy_score, roc_auc_score

    from .model_selection import predict_from_scores

    t0 = time.perf_counter()
    pipe.fit(Xtr, ytr, **fit_params)
    fit_time = time.perf_counter() - t0
    scores = pipe.decision_function(Xte)
    pred = predict_from_scores(pipe, Xte, scores)
    inst_auc = float("nan")
    model = pipe[-1]
    if hasattr(model, "decision_function_instances"):
        inst_scores = np.concatenate(model.decision_function_instances(pipe[:-1].transform(Xte)))
        inst_auc = float(roc_auc_score(np.concatenate(instance_labels), inst_scores))
    return {"fit_time": fit_time, "bag_auc": float(roc_auc_score(yte, scores)),
            "accuracy": float(accuracy_score(yte, pred)), "instance_auc": inst_auc}


def _digits_cell(n_train, bag_size, n_test, seed, positive_fraction=None):
    """Training bags from the train half of the digit pool, test bags from the test half;
    bag size std 20 % of the mean; ``positive_fraction`` of positive bags in both (None:
    half, alternating). Returns ``(train, test)``, each ``(bags, y, inst)``."""
    from .datasets import make_digits_bags

    return tuple(
        make_digits_bags(n, mean_bag_size=bag_size, std_bag_size=bag_size / 5, pool=pool,
                         positive_fraction=positive_fraction, random_state=seed + k)
        for k, (n, pool) in enumerate([(n_train, "train"), (n_test, "test")])
    )


def _digits_task(name, n_train, bag_size, repeat, params, n_test):
    seed = 1000 * repeat + 7
    (Xtr, ytr, _), (Xte, yte, ite) = _digits_cell(n_train, bag_size, n_test, seed)
    pipe = _standardized_estimator(name, params, seed)
    return {
        "estimator": name,
        "n_train": n_train,
        "bag_size": bag_size,
        "repeat": repeat,
        **_fit_and_score(pipe, Xtr, ytr, Xte, yte, ite),
        "params": _params_key(params),
    }


def digits_table(rows: list[dict]) -> str:
    """Markdown: bag AUC (instance AUC) mean ± std per estimator x (n_train, bag size)."""
    cells: dict[tuple, list[dict]] = {}
    for r in rows:
        cells.setdefault((r["estimator"], int(r["n_train"]), int(r["bag_size"])), []).append(r)
    configs = sorted({(k[1], k[2]) for k in cells}, key=lambda t: (t[1], t[0]))
    ests = sorted({k[0] for k in cells}, key=_name_order)
    most = max((len(v) for v in cells.values()), default=0)
    head = "| estimator | " + " | ".join(f"{nt} bags, size {bs}" for nt, bs in configs) + " |"
    lines = [head, "|---" * (len(configs) + 1) + "|"]
    for e in ests:
        out = []
        for nt, bs in configs:
            rs = cells.get((e, nt, bs), [])
            if not rs:
                out.append("")
                continue
            b = [float(r["bag_auc"]) for r in rs]
            i = [float(r["instance_auc"]) for r in rs]
            # one draw has no spread to show
            cell = f"{np.mean(b):.3f}" + (f" ± {np.std(b):.3f}" if len(b) > 1 else "")
            if len(rs) < most:
                cell += f" [{len(rs)}x]"
            if not np.all(np.isnan(i)):
                cell += f" (inst {np.nanmean(i):.3f})"
            out.append(cell)
        lines.append(f"| {e} | " + " | ".join(out) + " |")
    return "\n".join(lines)


#: skmil's estimators beside the MNIST-bags methods of Ilse et al. (2018) and Li et al.
#: (2021): the same pooling on skmil's tabular encoder (the papers train a LeNet-5).
MNIST_BAGS_COUNTERPARTS = {
    "Instance+max": "InstanceMINet",
    "Embedded+max": "MINet",
    "MI-SVM": "MISVM",
    "AbMILP": "AttentionMIL",
    "AbMILP-Gated": "GatedAttentionMIL",
    "DSMIL": "DSMIL",
}


def published_mnist_bags_auc() -> list[dict]:
    """The literature's MNIST-bags bag AUCs (Ilse et al. 2018, Li et al. 2021, Tables 2-4).

    Returns
    -------
    list of dict
        One row per method and cell: ``method``, ``mean_bag_size``, ``n_train_bags``,
        ``auc_mean``, ``auc_std`` (floats and ints), ``runs`` and ``source``.
    """
    ref = resources.files("skmil.datasets") / "data" / "published_mnist_bags_auc.csv"
    with ref.open("r") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        for key in ("mean_bag_size", "n_train_bags", "runs"):
            r[key] = int(r[key])
        for key in ("auc_mean", "auc_std"):
            r[key] = float(r[key])
    return rows


def mnist_bags_comparison_table(rows: list[dict]) -> str:
    """Markdown: published MNIST-bags bag AUC beside skmil's digits-bags AUC, per cell.

    Parameters
    ----------
    rows : list of dict
        Digits-benchmark rows (:func:`run_digits_benchmark`): ``estimator``, ``n_train``,
        ``bag_size`` and ``bag_auc``.

    Returns
    -------
    str
        One line per published method and its skmil counterpart
        (:data:`MNIST_BAGS_COUNTERPARTS`), each cell ``published / skmil`` (means over the
        runs; ``-`` where a side has no value).
    """
    ours: dict[tuple, list[float]] = {}
    for r in rows:
        key = (r["estimator"], int(r["n_train"]), int(r["bag_size"]))
        ours.setdefault(key, []).append(float(r["bag_auc"]))
    pub = {(r["method"], r["n_train_bags"], r["mean_bag_size"]): r["auc_mean"]
           for r in published_mnist_bags_auc()}
    cells = sorted({(k[1], k[2]) for k in pub}, key=lambda t: (t[1], t[0]))
    head = "| method (skmil) | " + " | ".join(f"{nt} bags, size {bs}" for nt, bs in cells)
    lines = [head + " |", "|---" * (len(cells) + 1) + "|"]
    for method, name in MNIST_BAGS_COUNTERPARTS.items():
        out = []
        for nt, bs in cells:
            p = pub.get((method, nt, bs))
            o = ours.get((name, nt, bs))
            left = "-" if p is None else f"{p:.3f}"
            right = "-" if not o else f"{np.mean(o):.3f}"
            out.append(f"{left} / {right}")
        lines.append(f"| {method} ({name}) | " + " | ".join(out) + " |")
    return "\n".join(lines)


#: The MI assumptions of :func:`run_assumptions_benchmark`, in table order.
ASSUMPTIONS = ("standard", "presence", "threshold")


def run_assumptions_benchmark(
    estimators: Sequence[str],
    *,
    n_train: int = 200,
    n_test: int = 500,
    n_repeats: int = 5,
    out_dir: str = "benchmark_results",
    progress: bool = True,
    n_jobs: int | None = -1,
    params: dict | None = None,
) -> list[dict]:
    """Which estimators learn which MI assumption: bag accuracy and AUC on generated bags.

    For each assumption of :data:`ASSUMPTIONS` and repetition, one problem of
    ``n_train + n_test`` bags is drawn by
    :func:`~skmil.datasets.make_mil_classification` (``assumption=...``, its defaults
    otherwise, ``random_state = 1000 * repeat + 11``) and split into ``n_train``
    training and ``n_test`` test bags, stratified; every estimator fits on the same
    split with its hyperparameters of record, after instance standardisation fitted on
    the training bags. Instance AUC (where the estimator has instance scores) is
    against the generator's instance labels: witnesses under the standard assumption,
    members of a required concept under the others. Results go to
    ``assumptions_results.csv`` and ``assumptions.md`` in ``out_dir``; rows already in
    the CSV are reused.

    Parameters
    ----------
    estimators : sequence of str
        Registered estimator names or aliases.
    n_train : int, default=200
        Training bags of each problem.
    n_test : int, default=500
        Test bags of each problem.
    n_repeats : int, default=5
        Problems per assumption, each with its own seed.
    out_dir : str, default="benchmark_results"
        Output directory.
    progress : bool, default=True
        Show a progress bar.
    n_jobs : int or None, default=-1
        Runs in parallel (joblib processes), one per estimator, assumption and repetition.
    params : dict, optional
        Hyperparameters that replace those of record for every requested estimator.

    Returns
    -------
    list of dict
        One row per estimator, assumption and repetition, as in the CSV.
    """

    from .utils import get_estimator

    names = [get_estimator(n).__name__ for n in estimators]
    run_params = {n: _run_params(n, params) for n in names}
    os.makedirs(out_dir, exist_ok=True)
    fields = ["estimator", "assumption", "n_train", "n_test", "repeat", "accuracy", "bag_auc",
              "instance_auc", "fit_time", "params", "skmil_version"]
    rows = _run_resumable(
        os.path.join(out_dir, "assumptions_results.csv"), fields, run_params,
        {"n_train": n_train, "n_test": n_test}, ("assumption", ASSUMPTIONS), n_repeats,
        _assumption_task, desc="assumptions", progress=progress, n_jobs=n_jobs)
    with open(os.path.join(out_dir, "assumptions.md"), "w") as fh:
        fh.write(assumptions_table(rows) + "\n")
    return rows


def _assumption_task(name, assumption, repeat, params, n_train, n_test):
    from sklearn.model_selection import train_test_split

    from . import __version__
    from .datasets import make_mil_classification

    seed = 1000 * repeat + 11
    bags, y, inst = make_mil_classification(n_train + n_test, assumption=assumption,
                                            random_state=seed)
    tr, te = train_test_split(np.arange(len(bags)), train_size=n_train, test_size=n_test,
                              stratify=y, random_state=seed)
    pipe = _standardized_estimator(name, params, seed)
    scored = _fit_and_score(pipe, [bags[i] for i in tr], y[tr], [bags[i] for i in te], y[te],
                            [inst[i] for i in te])
    return {
        "estimator": name,
        "assumption": assumption,
        "n_train": n_train,
        "n_test": n_test,
        "repeat": repeat,
        **scored,
        "params": _params_key(params),
        "skmil_version": __version__,
    }


def assumptions_table(rows: list[dict]) -> str:
    """Markdown: bag accuracy mean ± std (bag AUC) per estimator x assumption.

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`run_assumptions_benchmark` (or read back from its CSV).

    Returns
    -------
    str
        A Markdown table, one row per estimator and one column per assumption.
    """
    cells: dict[tuple, list[dict]] = {}
    for r in rows:
        cells.setdefault((r["estimator"], r["assumption"]), []).append(r)
    ests = sorted({k[0] for k in cells}, key=_name_order)
    head = "| estimator | " + " | ".join(ASSUMPTIONS) + " |"
    lines = [head, "|---" * (len(ASSUMPTIONS) + 1) + "|"]
    for e in ests:
        out = []
        for a in ASSUMPTIONS:
            rs = cells.get((e, a), [])
            if not rs:
                out.append("")
                continue
            acc = [float(r["accuracy"]) for r in rs]
            auc = [float(r["bag_auc"]) for r in rs]
            cell = f"{np.mean(acc):.3f}" + (f" ± {np.std(acc):.3f}" if len(acc) > 1 else "")
            out.append(cell + f" (AUC {np.mean(auc):.3f})")
        lines.append(f"| {e} | " + " | ".join(out) + " |")
    return "\n".join(lines)


def _names_of_kind(estimators: Sequence[str], base: type, refusal: str) -> list[str]:
    """The class names of ``estimators`` (names or aliases); ``ValueError`` ("NAME
    ``refusal``") for one that does not derive from ``base``."""
    from .utils import get_estimator

    names = []
    for n in estimators:
        cls = get_estimator(n)
        if not issubclass(cls, base):
            raise ValueError(f"{cls.__name__} {refusal}")
        names.append(cls.__name__)
    return names


def _run_resumable(path: str, fields: list[str], run_params: dict, setting: dict,
                   axis: tuple[str, Sequence] | None, n_repeats: int, task, *, desc: str,
                   progress: bool, n_jobs: int | None) -> list[dict]:
    """Run the rows of a synthetic benchmark that the CSV at ``path`` lacks; return them all.

    A row is one estimator (the keys of ``run_params``, its parameters the values), one
    value of ``axis`` (``(column, values)``, e.g. the bag rules; None for no axis) and
    one repetition, under the fixed ``setting`` (column -> value, e.g. the numbers of
    bags). ``task(name, [axis value,] repeat, params, *setting.values())`` computes a
    row; a row already in the CSV for the same setting, parameters and skmil version is
    reused. Returns the CSV's rows of this setting, these parameters, this version and
    the axis values asked for.
    """
    from . import __version__

    columns = [axis[0]] if axis else []
    key = ("estimator", *columns, *setting, "repeat", "params", "skmil_version")
    done = {tuple(r[k] for k in key) for r in _read_rows(path)}
    fixed = tuple(str(v) for v in setting.values())
    jobs = []
    for name, params in run_params.items():
        for value in (axis[1] if axis else [None]):
            for repeat in range(n_repeats):
                at = (name, *([str(value)] if axis else []), *fixed, str(repeat),
                      _params_key(params), __version__)
                if at not in done:
                    jobs.append((name, *([value] if axis else []), repeat, params))
    _append_rows(path, fields, jobs, task, tuple(setting.values()), desc=desc,
                 progress=progress, n_jobs=n_jobs)
    wanted = {n: _params_key(p) for n, p in run_params.items()}
    values = {str(v) for v in axis[1]} if axis else None
    return [r for r in _read_rows(path)
            if wanted.get(r["estimator"]) == r["params"] and r["skmil_version"] == __version__
            and all(r[k] == str(v) for k, v in setting.items())
            and (values is None or r[axis[0]] in values)]


#: Digits of :func:`run_multiclass_benchmark`: a bag of class k >= 1 holds the digit
#: ``MULTICLASS_TARGETS[k - 1]`` (and no other of them), a bag of class 0 none of them.
#: Three look-alike digits, so that the classes are not told apart by ink alone.
MULTICLASS_TARGETS = (3, 5, 8)


def multiclass_estimators() -> list[str]:
    """The default estimators of :func:`run_multiclass_benchmark`.

    Every classifier that learns K classes natively (``_multi_class``), and SIL and
    MI-SVM, the instance-level baselines, in ``OneVsRestClassifier``.

    Returns
    -------
    list of str
        Registered class names.
    """
    from .utils import all_estimators

    native = [n for n, c in all_estimators("classifier")
              if c._multi_class and _spec(n).default_run]
    return native + ["SIL", "MISVM"]


def run_multiclass_benchmark(
    estimators: Sequence[str] | None = None,
    *,
    n_train: int = 200,
    n_test: int = 500,
    bag_size: int = 10,
    n_repeats: int = 5,
    out_dir: str = "benchmark_results",
    progress: bool = True,
    n_jobs: int | None = -1,
    params: dict | None = None,
) -> list[dict]:
    """Multi-class digits bags: accuracy, bag AUC and instance AUC per class.

    Bags of :func:`~skmil.datasets.make_digits_bags` with ``target=MULTICLASS_TARGETS``
    (4 classes, taking turns): ``n_train`` training bags from the train half of the image
    pool, ``n_test`` test bags from the test half, mean size ``bag_size`` (std a fifth of
    it), ``random_state = 1000 * repeat + 17``. A classifier that learns K classes
    natively fits them itself ("native"); any other is wrapped in
    :class:`~sklearn.multiclass.OneVsRestClassifier` ("one-vs-rest"); both after
    instance standardisation fitted on the training bags. Scores on the test bags:
    accuracy; bag AUC, the mean over the classes of the AUC of that class's score
    (one-vs-rest); instance AUC, where the per-class models have witness scores (the
    one-vs-rest ones), the mean over the classes ``k >= 1`` of the AUC of class k's
    witness scores against the instances of digit ``MULTICLASS_TARGETS[k - 1]`` (NaN
    otherwise). Results go to ``multiclass_results.csv`` and ``multiclass.md`` in
    ``out_dir``; rows already in the CSV are reused.

    Parameters
    ----------
    estimators : sequence of str, optional
        Registered classifier names; default :func:`multiclass_estimators`.
    n_train : int, default=200
        Training bags.
    n_test : int, default=500
        Test bags.
    bag_size : int, default=10
        Mean bag size.
    n_repeats : int, default=5
        Draws of the bags.
    out_dir : str, default="benchmark_results"
        Output directory.
    progress : bool, default=True
        Show a progress bar.
    n_jobs : int or None, default=-1
        Runs in parallel (joblib processes), one per estimator and repetition.
    params : dict, optional
        Hyperparameters that replace those of record for every requested estimator.

    Returns
    -------
    list of dict
        One row per estimator and repetition, as in the CSV.
    """
    from .base import BaseMILClassifier

    names = _names_of_kind(estimators or multiclass_estimators(), BaseMILClassifier,
                           "is not a MIL classifier; the multi-class benchmark runs "
                           "classifiers.")
    run_params = {n: _run_params(n, params) for n in names}
    os.makedirs(out_dir, exist_ok=True)
    fields = ["estimator", "how", "n_train", "n_test", "bag_size", "repeat", "accuracy",
              "bag_auc", "instance_auc", "fit_time", "params", "skmil_version"]
    rows = _run_resumable(
        os.path.join(out_dir, "multiclass_results.csv"), fields, run_params,
        {"n_train": n_train, "n_test": n_test, "bag_size": bag_size}, None, n_repeats,
        _multiclass_task, desc="multi-class", progress=progress, n_jobs=n_jobs)
    with open(os.path.join(out_dir, "multiclass.md"), "w") as fh:
        fh.write(multiclass_table(rows) + "\n")
    return rows


def _multiclass_task(name, repeat, params, n_train, n_test, bag_size):
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.multiclass import OneVsRestClassifier

    from . import __version__
    from .datasets import make_digits_bags
    from .utils import get_estimator

    seed = 1000 * repeat + 17
    (Xtr, ytr, _), (Xte, yte, inst) = (
        make_digits_bags(n, mean_bag_size=bag_size, std_bag_size=bag_size / 5, pool=pool,
                         target=MULTICLASS_TARGETS, random_state=seed + k)
        for k, (n, pool) in enumerate([(n_train, "train"), (n_test, "test")]))
    pipe = _standardized_estimator(name, params, seed)
    native = bool(get_estimator(name)._multi_class)
    model = pipe if native else OneVsRestClassifier(pipe)
    t0 = time.perf_counter()
    model.fit(Xtr, ytr)
    fit_time = time.perf_counter() - t0
    scores = np.asarray(model.decision_function(Xte))
    classes = np.arange(len(MULTICLASS_TARGETS) + 1)
    bag_auc = float(np.mean([roc_auc_score(yte == k, scores[:, k]) for k in classes]))
    inst_auc = float("nan")
    if not native and hasattr(pipe[-1], "decision_function_instances"):
        truth = np.concatenate(inst)
        aucs = []
        for k in classes[1:]:
            per_class = model.estimators_[k]
            s = per_class[-1].decision_function_instances(per_class[:-1].transform(Xte))
            aucs.append(roc_auc_score(truth == k, np.concatenate(s)))
        inst_auc = float(np.mean(aucs))
    return {"estimator": name, "how": "native" if native else "one-vs-rest",
            "n_train": n_train, "n_test": n_test, "bag_size": bag_size, "repeat": repeat,
            "accuracy": float(accuracy_score(yte, model.predict(Xte))), "bag_auc": bag_auc,
            "instance_auc": inst_auc, "fit_time": fit_time, "params": _params_key(params),
            "skmil_version": __version__}


def multiclass_table(rows: list[dict]) -> str:
    """Markdown: accuracy mean ± std, bag AUC and instance AUC per classifier.

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`run_multiclass_benchmark` (or read back from its CSV).

    Returns
    -------
    str
        A Markdown table, one row per classifier.
    """
    cells: dict[str, list[dict]] = {}
    for r in rows:
        cells.setdefault(r["estimator"], []).append(r)
    lines = ["| estimator | how | accuracy | bag AUC | instance AUC | fit s |",
             "|---|---|---|---|---|---|"]
    for e in sorted(cells, key=_name_order):
        rs = cells[e]
        acc = [float(r["accuracy"]) for r in rs]
        cell = f"{np.mean(acc):.3f}" + (f" ± {np.std(acc):.3f}" if len(acc) > 1 else "")
        auc = np.mean([float(r["bag_auc"]) for r in rs])
        inst = [float(r["instance_auc"]) for r in rs]
        inst_cell = "" if np.isnan(inst).all() else f"{np.nanmean(inst):.3f}"
        fit = np.mean([float(r["fit_time"]) for r in rs])
        lines.append(f"| {e} | {rs[0]['how']} | {cell} | {auc:.3f} | {inst_cell} | "
                     f"{fit:.2f} |")
    return "\n".join(lines)


#: Bag rules of :func:`run_regression_benchmark` (``make_mil_regression``'s ``rule``).
REGRESSION_RULES = ("max", "mean", "sum")


def run_regression_benchmark(
    estimators: Sequence[str] | None = None,
    *,
    n_train: int = 200,
    n_test: int = 500,
    noise: float = 0.1,
    n_repeats: int = 5,
    out_dir: str = "benchmark_results",
    progress: bool = True,
    n_jobs: int | None = -1,
    params: dict | None = None,
) -> list[dict]:
    """MIL regression: test R^2 and instance-target correlation on generated bags.

    For each bag rule of :data:`REGRESSION_RULES` and repetition, one problem of
    ``n_train + n_test`` bags is drawn by :func:`~skmil.datasets.make_mil_regression`
    (``rule=...``, ``noise``, its defaults otherwise, ``random_state = 1000 * repeat +
    13``) and split into its first ``n_train`` and last ``n_test`` bags; every regressor
    fits on the same split with its hyperparameters of record, after instance
    standardisation fitted on the training bags. The scores are the test bags' R^2 and,
    for regressors with ``predict_instances``, the Pearson correlation of the predicted
    and the true instance targets of the test bags (NaN otherwise). Results go to
    ``regression_results.csv`` and ``regression.md`` in ``out_dir``; rows already in
    the CSV are reused.

    Parameters
    ----------
    estimators : sequence of str, optional
        Registered regressor names; default every registered regressor.
    n_train : int, default=200
        Training bags of each problem.
    n_test : int, default=500
        Test bags of each problem.
    noise : float, default=0.1
        Standard deviation of the noise on the bag targets (the instance targets have
        unit variance).
    n_repeats : int, default=5
        Problems per rule, each with its own seed.
    out_dir : str, default="benchmark_results"
        Output directory.
    progress : bool, default=True
        Show a progress bar.
    n_jobs : int or None, default=-1
        Runs in parallel (joblib processes), one per estimator, rule and repetition.
    params : dict, optional
        Hyperparameters that replace those of record for every requested estimator.

    Returns
    -------
    list of dict
        One row per estimator, rule and repetition, as in the CSV.
    """
    from .base import BaseMILRegressor
    from .utils import all_estimators

    if estimators is None:
        estimators = [n for n, _ in all_estimators("regressor")]
    names = _names_of_kind(estimators, BaseMILRegressor,
                           "is not a MIL regressor; the regression benchmark runs "
                           "regressors (skmil estimators --type regressor).")
    run_params = {n: _run_params(n, params) for n in names}
    os.makedirs(out_dir, exist_ok=True)
    fields = ["estimator", "rule", "n_train", "n_test", "noise", "repeat", "r2",
              "instance_corr", "fit_time", "params", "skmil_version"]
    rows = _run_resumable(
        os.path.join(out_dir, "regression_results.csv"), fields, run_params,
        {"n_train": n_train, "n_test": n_test, "noise": float(noise)},
        ("rule", REGRESSION_RULES), n_repeats, _regression_task, desc="regression",
        progress=progress, n_jobs=n_jobs)
    with open(os.path.join(out_dir, "regression.md"), "w") as fh:
        fh.write(regression_table(rows) + "\n")
    return rows


def _regression_task(name, rule, repeat, params, n_train, n_test, noise):
    from sklearn.metrics import r2_score

    from . import __version__
    from .datasets import make_mil_regression

    seed = 1000 * repeat + 13
    bags, y, inst = make_mil_regression(n_train + n_test, rule=rule, noise=noise,
                                        random_state=seed)
    pipe = _standardized_estimator(name, params, seed)
    t0 = time.perf_counter()
    pipe.fit(bags[:n_train], y[:n_train])
    fit_time = time.perf_counter() - t0
    test = bags[n_train:]
    r2 = float(r2_score(y[n_train:], pipe.predict(test)))
    corr = float("nan")
    model = pipe[-1]
    if hasattr(model, "predict_instances"):
        pred = np.concatenate(model.predict_instances(pipe[:-1].transform(test)))
        corr = float(np.corrcoef(pred, np.concatenate(inst[n_train:]))[0, 1])
    return {"estimator": name, "rule": rule, "n_train": n_train, "n_test": n_test,
            "noise": noise, "repeat": repeat, "r2": r2, "instance_corr": corr,
            "fit_time": fit_time, "params": _params_key(params),
            "skmil_version": __version__}


def regression_table(rows: list[dict]) -> str:
    """Markdown: test R^2 mean ± std (instance-target correlation) per regressor x rule.

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`run_regression_benchmark` (or read back from its CSV).

    Returns
    -------
    str
        A Markdown table, one row per regressor and one column per bag rule.
    """
    cells: dict[tuple, list[dict]] = {}
    for r in rows:
        cells.setdefault((r["estimator"], r["rule"]), []).append(r)
    ests = sorted({k[0] for k in cells}, key=_name_order)
    lines = ["| estimator | " + " | ".join(f"bag = {rule}" for rule in REGRESSION_RULES)
             + " |", "|---" * (len(REGRESSION_RULES) + 1) + "|"]
    for e in ests:
        out = []
        for rule in REGRESSION_RULES:
            rs = cells.get((e, rule), [])
            if not rs:
                out.append("")
                continue
            r2 = [float(r["r2"]) for r in rs]
            cell = f"{np.mean(r2):.3f}" + (f" ± {np.std(r2):.3f}" if len(r2) > 1 else "")
            corr = [float(r["instance_corr"]) for r in rs]
            if not np.isnan(corr).all():
                cell += f" (instance r {np.nanmean(corr):.3f})"
            out.append(cell)
        lines.append(f"| {e} | " + " | ".join(out) + " |")
    return "\n".join(lines)


#: Estimators of :func:`run_partial_labels_benchmark` when none are named: those whose
#: ``fit`` takes ``instance_labels`` and fit a digits cell in seconds.
PARTIAL_LABEL_ESTIMATORS = ("SIL", "InstanceMISVM", "MISVM", "SparseMIL", "SparseBalancedMIL")


def reveal_instance_labels(instance_labels: Sequence, fraction: float,
                           seed: int) -> list[np.ndarray]:
    """The true labels of a random ``fraction`` of the instances, NaN for the others.

    Parameters
    ----------
    instance_labels : sequence of array-like of shape (n_instances_i,)
        True 0/1 instance labels, one array per bag.
    fraction : float
        Probability that an instance's label is revealed.
    seed : int
        Seed of the draw.

    Returns
    -------
    list of ndarray
        One float array per bag: the true label where revealed, NaN elsewhere.
    """
    rng = np.random.default_rng(seed)
    return [np.where(rng.random(len(lab)) < fraction, np.asarray(lab, float), np.nan)
            for lab in instance_labels]


def run_partial_labels_benchmark(
    estimators: Sequence[str],
    *,
    fractions: Sequence[float] = (0.0, 0.05, 0.2),
    n_train: int = 100,
    bag_size: int = 10,
    n_test: int = 1000,
    n_repeats: int = 5,
    out_dir: str = "benchmark_results",
    progress: bool = True,
    n_jobs: int | None = -1,
    params: dict | None = None,
) -> list[dict]:
    """What known instance labels buy: digits bags with a fraction of instances labelled.

    The bags are those of :func:`run_digits_benchmark` (training bags from the train half
    of the digit pool, test bags from the test half, bag size std 20 % of the mean). In
    repetition ``r`` (seed ``1000 r + 7``) a random ``fraction`` of the training
    instances has its true label revealed and is passed as
    ``fit(..., instance_labels=...)`` (nothing is passed for 0); each estimator runs with
    its hyperparameters of record after instance standardisation. Rows go to
    ``partial_labels_results.csv`` (resumable) and ``partial_labels.md`` in ``out_dir``.

    Parameters
    ----------
    estimators : sequence of str
        Registered estimators whose ``fit`` takes ``instance_labels``.
    fractions : sequence of float, default=(0.0, 0.05, 0.2)
        Fractions of training instances whose label is known.
    n_train : int, default=100
        Training bags.
    bag_size : int, default=10
        Mean bag size.
    n_test : int, default=1000
        Test bags.
    n_repeats : int, default=5
        Repetitions, each with its own bags and revealed labels.
    out_dir : str, default="benchmark_results"
        Output directory.
    progress : bool, default=True
        Show a progress bar.
    n_jobs : int or None, default=-1
        Runs in parallel (joblib processes), one per estimator, fraction and repetition.
    params : dict, optional
        Hyperparameters that replace those of record for every requested estimator.

    Returns
    -------
    list of dict
        One row per estimator, fraction and repetition, as in the CSV.
    """

    from .base import _partial_label_estimators
    from .utils import get_estimator

    names = [get_estimator(n).__name__ for n in estimators]
    accepting = _partial_label_estimators()
    for n in names:
        if n not in accepting:
            raise ValueError(f"{n}'s fit takes no instance_labels; choose among the "
                             "estimators that do: " + ", ".join(accepting))
    fields = ["estimator", "fraction", "n_train", "bag_size", "n_test", "repeat", "bag_auc",
              "instance_auc", "fit_time", "params", "skmil_version"]
    return _run_fraction_benchmark(
        names, fractions, params, n_train=n_train, bag_size=bag_size, n_test=n_test,
        n_repeats=n_repeats, out_dir=out_dir, name="partial_labels", fields=fields,
        task=_partial_labels_task, table=partial_labels_table, desc="partial labels",
        progress=progress, n_jobs=n_jobs)


def _run_fraction_benchmark(names, fractions, params, *, n_train, bag_size, n_test,
                            n_repeats, out_dir, name, fields, task, table, desc, progress,
                            n_jobs) -> list[dict]:
    """The resumable run of a digits benchmark over fractions (known labels, positives).

    Jobs are (estimator, fraction, repetition) (:func:`_run_resumable`), in
    ``OUT/<name>_results.csv``; writes ``OUT/<name>.md`` with ``table`` and returns the
    rows of this configuration.
    """
    run_params = {n: _run_params(n, params) for n in names}
    os.makedirs(out_dir, exist_ok=True)
    rows = _run_resumable(
        os.path.join(out_dir, f"{name}_results.csv"), fields, run_params,
        {"n_train": n_train, "bag_size": bag_size, "n_test": n_test},
        ("fraction", [float(f) for f in fractions]), n_repeats, task, desc=desc,
        progress=progress, n_jobs=n_jobs)
    with open(os.path.join(out_dir, f"{name}.md"), "w") as fh:
        fh.write(table(rows) + "\n")
    return rows


def _partial_labels_task(name, fraction, repeat, params, n_train, bag_size, n_test):
    from . import __version__

    seed = 1000 * repeat + 7
    (Xtr, ytr, itr), (Xte, yte, ite) = _digits_cell(n_train, bag_size, n_test, seed)
    pipe = _standardized_estimator(name, params, seed)
    step = pipe.steps[-1][0]
    fit_params = {}
    if fraction > 0:
        fit_params[f"{step}__instance_labels"] = reveal_instance_labels(itr, fraction,
                                                                        seed + 2)
    scored = _fit_and_score(pipe, Xtr, ytr, Xte, yte, ite, **fit_params)
    del scored["accuracy"]  # this table is about ranking: bag and instance AUC
    return {
        "estimator": name,
        "fraction": fraction,
        "n_train": n_train,
        "bag_size": bag_size,
        "n_test": n_test,
        "repeat": repeat,
        **scored,
        "params": _params_key(params),
        "skmil_version": __version__,
    }


def partial_labels_table(rows: list[dict]) -> str:
    """Markdown: bag AUC / instance AUC mean ± std per estimator x labelled fraction.

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`run_partial_labels_benchmark` (or read back from its CSV).

    Returns
    -------
    str
        A Markdown table, one row per estimator and one column per fraction.
    """
    fractions = sorted({float(r["fraction"]) for r in rows})
    names = sorted({r["estimator"] for r in rows}, key=_name_order)
    head = "| estimator | " + " | ".join(
        f"{100 * f:g} % labelled: bag AUC / instance AUC" for f in fractions) + " |"
    lines = [head, "|---" * (len(fractions) + 1) + "|"]
    for name in names:
        cells = []
        for f in fractions:
            sel = [r for r in rows if r["estimator"] == name and float(r["fraction"]) == f]
            if not sel:
                cells.append("")
                continue
            b = np.array([float(r["bag_auc"]) for r in sel])
            i = np.array([float(r["instance_auc"]) for r in sel])
            if len(sel) > 1:
                cells.append(f"{b.mean():.3f} ± {b.std():.3f} / {i.mean():.3f} ± {i.std():.3f}")
            else:  # one draw has no spread to show
                cells.append(f"{b.mean():.3f} / {i.mean():.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def positive_fraction_estimators() -> list[str]:
    """Default estimators of :func:`run_positive_fraction_benchmark`.

    SimpleMI (the reference every cell is compared with) and every registered classifier
    of the benchmark's default run that has instance scores
    (``decision_function_instances``), plus the canon classifiers that have them.

    Returns
    -------
    list of str
        Estimator names, SimpleMI first.
    """
    from .utils import all_estimators

    names = [n for n, cls in all_estimators("classifier")
             if hasattr(cls, "decision_function_instances")
             and (n not in SPECS or SPECS[n].default_run) and n != "SimpleMI"]
    return ["SimpleMI", *sorted(names, key=_name_order)]


def run_positive_fraction_benchmark(
    estimators: Sequence[str],
    *,
    fractions: Sequence[float] = (0.2, 0.5, 0.8),
    n_train: int = 100,
    bag_size: int = 10,
    n_test: int = 1000,
    n_repeats: int = 5,
    out_dir: str = "benchmark_results",
    progress: bool = True,
    n_jobs: int | None = -1,
    params: dict | None = None,
) -> list[dict]:
    """Robustness to the share of positive bags: digits bags with a chosen positive fraction.

    The bags are those of :func:`run_digits_benchmark` (training bags from the train half
    of the digit pool, test bags from the test half, bag size std 20 % of the mean), with
    ``round(fraction * n)`` positive bags at random positions in both the training and
    the test set (:func:`skmil.datasets.make_digits_bags` with ``positive_fraction``).
    Repetition ``r`` uses seed ``1000 r + 7``; each estimator runs with its
    hyperparameters of record after instance standardisation. Rows (bag accuracy, bag
    AUC, instance AUC where the model has instance scores) go to
    ``positive_fraction_results.csv`` (resumable) and ``positive_fraction.md`` in
    ``out_dir``.

    Parameters
    ----------
    estimators : sequence of str
        Registered estimator names or aliases.
    fractions : sequence of float, default=(0.2, 0.5, 0.8)
        Shares of positive bags, each in (0, 1).
    n_train : int, default=100
        Training bags.
    bag_size : int, default=10
        Mean bag size.
    n_test : int, default=1000
        Test bags.
    n_repeats : int, default=5
        Repetitions (draws of the bags), each with its own seed.
    out_dir : str, default="benchmark_results"
        Output directory.
    progress : bool, default=True
        Show a progress bar.
    n_jobs : int or None, default=-1
        Runs in parallel (joblib processes), one per estimator, fraction and repetition.
    params : dict, optional
        Hyperparameters that replace those of record for every requested estimator.

    Returns
    -------
    list of dict
        One row per estimator, fraction and repetition, as in the CSV.
    """
    from .utils import get_estimator

    for f in fractions:
        if not 0.0 < float(f) < 1.0:
            raise ValueError(f"positive fractions must lie in (0, 1), got {f}.")
    names = [get_estimator(n).__name__ for n in estimators]
    fields = ["estimator", "fraction", "n_train", "bag_size", "n_test", "repeat", "accuracy",
              "bag_auc", "instance_auc", "fit_time", "params", "skmil_version"]
    return _run_fraction_benchmark(
        names, fractions, params, n_train=n_train, bag_size=bag_size, n_test=n_test,
        n_repeats=n_repeats, out_dir=out_dir, name="positive_fraction", fields=fields,
        task=_positive_fraction_task, table=positive_fraction_table,
        desc="positive fractions", progress=progress, n_jobs=n_jobs)


def _positive_fraction_task(name, fraction, repeat, params, n_train, bag_size, n_test):
    from . import __version__

    seed = 1000 * repeat + 7
    (Xtr, ytr, _), (Xte, yte, ite) = _digits_cell(n_train, bag_size, n_test, seed,
                                                  positive_fraction=fraction)
    pipe = _standardized_estimator(name, params, seed)
    return {
        "estimator": name,
        "fraction": fraction,
        "n_train": n_train,
        "bag_size": bag_size,
        "n_test": n_test,
        "repeat": repeat,
        **_fit_and_score(pipe, Xtr, ytr, Xte, yte, ite),
        "params": _params_key(params),
        "skmil_version": __version__,
    }


def positive_fraction_table(rows: list[dict], reference: str = "SimpleMI") -> str:
    """Markdown: accuracy / bag AUC / instance AUC per estimator x positive-bag fraction.

    Cells are means over the repetitions. A bag AUC below ``reference``'s in the same
    column is marked ``*``; an instance AUC below 0.7 is marked ``!``.

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`run_positive_fraction_benchmark` (or read back from its CSV).
    reference : str, default="SimpleMI"
        The estimator every bag AUC is compared with.

    Returns
    -------
    str
        A Markdown table, one row per estimator and one column per fraction.
    """
    fractions = sorted({float(r["fraction"]) for r in rows})
    names = sorted({r["estimator"] for r in rows}, key=_name_order)
    if reference in names:
        names.remove(reference)
        names.insert(0, reference)

    def mean(sel, key):
        v = np.array([float(r[key]) for r in sel])
        return float(v.mean()) if v.size and not np.isnan(v).all() else float("nan")

    ref = {f: mean([r for r in rows if r["estimator"] == reference
                    and float(r["fraction"]) == f], "bag_auc") for f in fractions}
    head = "| estimator | " + " | ".join(
        f"{100 * f:g} % positive: accuracy / bag AUC / instance AUC" for f in fractions) + " |"
    lines = [head, "|---" * (len(fractions) + 1) + "|"]
    for name in names:
        cells = []
        for f in fractions:
            sel = [r for r in rows if r["estimator"] == name and float(r["fraction"]) == f]
            if not sel:
                cells.append("")
                continue
            acc, auc, inst = mean(sel, "accuracy"), mean(sel, "bag_auc"), mean(sel, "instance_auc")
            flag = "*" if name != reference and auc < ref.get(f, float("nan")) else ""
            inst_cell = "–" if np.isnan(inst) else f"{inst:.3f}" + ("!" if inst < 0.7 else "")
            cells.append(f"{acc:.3f} / {auc:.3f}{flag} / {inst_cell}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def defaults_report(
    classic: Sequence[dict] = (),
    digits: Sequence[dict] = (),
    fractions: Sequence[dict] = (),
    reference: str = "SimpleMI",
    min_instance_auc: float = 0.7,
) -> str:
    """Markdown: every estimator's defaults beside ``reference``'s, cells below it flagged.

    Columns: the mean accuracy over the five classic sets (only for estimators with rows
    on all five), the mean bag AUC and mean instance AUC over the digits cells, the bag
    AUC at each positive-bag fraction and the mean instance AUC over the fractions. A
    bag-level figure below ``reference``'s in the same column is marked ``*``; an
    instance AUC below ``min_instance_auc`` is marked ``!``; the last column counts the
    marks.

    Parameters
    ----------
    classic : sequence of dict
        Rows of :func:`run_benchmark` (``estimator``, ``dataset``, ``accuracy``).
    digits : sequence of dict
        Rows of :func:`run_digits_benchmark`.
    fractions : sequence of dict
        Rows of :func:`run_positive_fraction_benchmark`.
    reference : str, default="SimpleMI"
        The estimator every bag-level figure is compared with.
    min_instance_auc : float, default=0.7
        Instance AUCs below this are marked.

    Returns
    -------
    str
        A Markdown table, the reference first, then the estimators by name.
    """

    def mean(values) -> float:
        v = np.array([float(x) for x in values], dtype=float)
        v = v[~np.isnan(v)]
        return float(v.mean()) if v.size else float("nan")

    def by(rows, *keys):
        out: dict = {}
        for r in rows:
            out.setdefault(tuple(r[k] for k in keys), []).append(r)
        return out

    figures: dict[str, dict[str, float]] = {}
    for (name,), sel in by(classic, "estimator").items():
        per_set = by(sel, "dataset")
        if set(per_set) >= {(d,) for d in DATASET_ORDER}:
            figures.setdefault(name, {})["classic"] = mean(
                mean(r["accuracy"] for r in per_set[(d,)]) for d in DATASET_ORDER)
    for (name,), sel in by(digits, "estimator").items():
        f = figures.setdefault(name, {})
        f["digits"] = mean(r["bag_auc"] for r in sel)
        f["digits_instance"] = mean(r["instance_auc"] for r in sel)
    shares = sorted({float(r["fraction"]) for r in fractions})
    for (name,), sel in by(fractions, "estimator").items():
        f = figures.setdefault(name, {})
        for share in shares:
            f[f"fraction{share}"] = mean(r["bag_auc"] for r in sel
                                         if float(r["fraction"]) == share)
        f["fraction_instance"] = mean(r["instance_auc"] for r in sel)
    bag_columns = ["classic", "digits"] + [f"fraction{share}" for share in shares]
    columns = [("classic", "classic accuracy"), ("digits", "digits bag AUC"),
               ("digits_instance", "digits instance AUC")]
    columns += [(f"fraction{share}", f"{100 * share:g} % positive bag AUC")
                for share in shares]
    if shares:
        columns += [("fraction_instance", "positive-fraction instance AUC")]
    ref = figures.get(reference, {})
    names = sorted((n for n in figures if n != reference), key=_name_order)
    if reference in figures:
        names.insert(0, reference)
    lines = ["| estimator | " + " | ".join(t for _, t in columns) + " | flags |",
             "|---" * (len(columns) + 2) + "|"]
    for name in names:
        f = figures[name]
        cells, flags = [], 0
        for key, _ in columns:
            v = f.get(key, float("nan"))
            if np.isnan(v):
                cells.append("–")
                continue
            mark = ""
            if key in bag_columns and name != reference and v < ref.get(key, float("nan")):
                mark = "*"
            elif key not in bag_columns and v < min_instance_auc:
                mark = "!"
            flags += bool(mark)
            cells.append(f"{v:.3f}{mark}")
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {flags} |")
    return "\n".join(lines)


def _report_rows(directory: str, *names: str) -> list[dict]:
    """Rows of the first of ``names`` that exists in ``directory`` (none: no rows)."""
    for name in names:
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return _read_rows(path)
    return []


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="skmil benchmark",
        description="Repeated stratified k-fold CV of skmil estimators on the shipped MIL "
        "data sets, with the published accuracies side by side. Resumable: finished folds "
        "in OUT/results.csv are skipped.",
    )
    p.add_argument("--estimators", nargs="+", help="estimator names (default: all, or the "
                   "quick ones with --quick)")
    p.add_argument("--datasets", nargs="+", default=list(DATASET_ORDER),
                   choices=list(DATASET_ORDER))
    p.add_argument("--repeats", type=count_at_least(1), default=None,
                   help="repetitions, >= 1 (default 5; 1 with --quick)")
    p.add_argument("--cv", type=count_at_least(2), default=10, help="folds, >= 2 (default 10)")
    p.add_argument("--seed", type=int, default=0, help="seed of the first repetition")
    p.add_argument("--tune", action="store_true", help="nested inner-CV grid search per fold")
    p.add_argument("--grid", default=None, metavar="JSON",
                   help="with --tune: the inner-CV grid for every chosen estimator instead of "
                   "its default one, a JSON object of lists, e.g. "
                   "'{\"gamma\": [0.002, 0.004], \"C\": [1, 10]}'")
    p.add_argument("--quick", action="store_true",
                   help="fast estimators, one repetition: a few minutes on 2 cores")
    p.add_argument("--out", default=None, help="output directory (default benchmark_results"
                   "[/quick])")
    p.add_argument("--n-jobs", type=int, default=-1, help="parallel folds (default all cores)")
    p.add_argument("--digits", action="store_true",
                   help="run the digits-bags benchmark instead of the classic table")
    p.add_argument("--assumptions", action="store_true",
                   help="run the MI-assumptions benchmark (standard, presence, threshold "
                   "bags from make_mil_classification) instead of the classic table")
    p.add_argument("--multiclass", action="store_true",
                   help="run the multi-class benchmark (digits bags of 4 classes; default "
                   "estimators: every natively multi-class classifier, and SIL and MI-SVM "
                   "in OneVsRestClassifier) instead of the classic table")
    p.add_argument("--regression", action="store_true",
                   help="run the MIL regression benchmark (make_mil_regression bags, bag "
                   "target the max, mean or sum of instance targets; default estimators: "
                   "every regressor) instead of the classic table")
    p.add_argument("--labelled-fractions", nargs="+", type=float, default=None,
                   metavar="F", help="run the known-instance-labels benchmark on digits "
                   "bags with these fractions of training instances labelled, e.g. "
                   "0 0.05 0.2")
    p.add_argument("--positive-fractions", nargs="+", type=float, default=None,
                   metavar="F", help="run the positive-bag-fraction benchmark on digits "
                   "bags with these shares of positive bags, e.g. 0.2 0.5 0.8 (default "
                   "estimators: SimpleMI and every one with instance scores)")
    p.add_argument("--defaults-report", metavar="DIR", default=None,
                   help="print the defaults report from the result CSVs in DIR "
                   "(classic_results.csv or results.csv, digits_results.csv, "
                   "positive_fraction_results.csv; any may be missing) and run nothing")
    p.add_argument("--train-bags", nargs="+", type=count_at_least(2), default=[50, 100, 300],
                   help="with --digits: numbers of training bags (default 50 100 300)")
    p.add_argument("--bag-sizes", nargs="+", type=count_at_least(1), default=[10, 50, 100],
                   help="with --digits: mean bag sizes (default 10 50 100)")
    p.add_argument("--param", action="append", metavar="KEY=VALUE",
                   help="replace a hyperparameter of record for every chosen estimator "
                   "(repeatable; values are Python literals, else strings), e.g. "
                   "--param threshold=auto")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """``skmil benchmark`` entry point.

    Parameters
    ----------
    argv : sequence of str, optional
        The command-line arguments after ``skmil benchmark``; default ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status, 0 on success.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        params = parse_params(args.param)
    except ValueError as exc:
        parser.error(str(exc))
    grid = None
    if args.grid is not None:
        if not args.tune:
            parser.error("--grid is the inner-CV grid of --tune; add --tune.")
        try:
            grid = json.loads(args.grid)
        except json.JSONDecodeError as exc:
            parser.error(f"--grid is not valid JSON ({exc}).")
        if not isinstance(grid, dict) or not all(isinstance(v, list) and v
                                                 for v in grid.values()):
            parser.error("--grid must be a JSON object mapping names to non-empty lists.")
    if args.defaults_report is not None:
        d = args.defaults_report
        if not os.path.isdir(d):
            parser.error(f"--defaults-report: {d!r} is not a directory.")
        classic = _report_rows(d, "classic_results.csv", "results.csv")
        digits = _report_rows(d, "digits_results.csv")
        fractions = _report_rows(d, "positive_fraction_results.csv")
        if not (classic or digits or fractions):
            parser.error(f"--defaults-report: no result CSV in {d!r} (classic_results.csv, "
                         "results.csv, digits_results.csv, positive_fraction_results.csv).")
        print(defaults_report(classic, digits, fractions))
        return 0
    out = args.out or os.path.join("benchmark_results", "quick" if args.quick else "full")
    repeats = args.repeats if args.repeats is not None else (1 if args.quick else 5)
    if args.digits and args.assumptions:
        parser.error("--digits and --assumptions are two benchmarks; choose one.")
    if args.labelled_fractions is not None and (args.digits or args.assumptions):
        parser.error("--labelled-fractions is a benchmark of its own; drop --digits and "
                     "--assumptions.")
    if args.positive_fractions is not None and (
            args.digits or args.assumptions or args.labelled_fractions is not None):
        parser.error("--positive-fractions is a benchmark of its own; drop --digits, "
                     "--assumptions and --labelled-fractions.")
    others = {"--digits": args.digits, "--assumptions": args.assumptions,
              "--labelled-fractions": args.labelled_fractions is not None,
              "--positive-fractions": args.positive_fractions is not None}
    for flag, chosen in (("--regression", args.regression),
                         ("--multiclass", args.multiclass)):
        clash = [o for o, on in {**others, "--regression": args.regression}.items()
                 if on and o != flag]
        if chosen and clash:
            parser.error(f"{flag} is a benchmark of its own; drop {', '.join(clash)}.")
    if args.multiclass:
        try:
            rows = run_multiclass_benchmark(args.estimators, n_repeats=repeats, out_dir=out,
                                            progress=not args.no_progress,
                                            n_jobs=args.n_jobs, params=params)
        except ValueError as exc:
            parser.error(str(exc))
        print(multiclass_table(rows))
        return 0
    if args.regression:
        try:
            rows = run_regression_benchmark(args.estimators, n_repeats=repeats, out_dir=out,
                                            progress=not args.no_progress,
                                            n_jobs=args.n_jobs, params=params)
        except ValueError as exc:
            parser.error(str(exc))
        print(regression_table(rows))
        return 0
    if args.positive_fractions is not None:
        try:
            rows = run_positive_fraction_benchmark(
                args.estimators or positive_fraction_estimators(),
                fractions=args.positive_fractions,
                n_repeats=repeats,
                out_dir=out,
                progress=not args.no_progress,
                n_jobs=args.n_jobs,
                params=params,
            )
        except ValueError as exc:
            parser.error(str(exc))
        print(positive_fraction_table(rows))
        return 0
    if args.digits:
        ests = args.estimators or [n for n, s in SPECS.items() if s.quick]
        rows = run_digits_benchmark(
            ests,
            n_train=args.train_bags,
            bag_sizes=args.bag_sizes,
            n_repeats=repeats,
            out_dir=out,
            progress=not args.no_progress,
            n_jobs=args.n_jobs,
            params=params,
        )
        print(digits_table(rows))
        return 0
    if args.labelled_fractions is not None:
        if not all(0.0 <= f <= 1.0 for f in args.labelled_fractions):
            parser.error("--labelled-fractions must lie in [0, 1].")
        try:
            rows = run_partial_labels_benchmark(
                args.estimators or list(PARTIAL_LABEL_ESTIMATORS),
                fractions=args.labelled_fractions,
                n_repeats=repeats,
                out_dir=out,
                progress=not args.no_progress,
                n_jobs=args.n_jobs,
                params=params,
            )
        except ValueError as exc:
            parser.error(str(exc))
        print(partial_labels_table(rows))
        return 0
    if args.assumptions:
        ests = args.estimators or [n for n, s in SPECS.items() if s.quick]
        rows = run_assumptions_benchmark(
            ests,
            n_repeats=repeats,
            out_dir=out,
            progress=not args.no_progress,
            n_jobs=args.n_jobs,
            params=params,
        )
        print(assumptions_table(rows))
        return 0
    t0 = time.time()
    rows = run_benchmark(
        args.estimators,
        args.datasets,
        n_splits=args.cv,
        n_repeats=repeats,
        seed=args.seed,
        tune=args.tune,
        out_dir=out,
        n_jobs=args.n_jobs,
        progress=not args.no_progress,
        quick=args.quick,
        params=params,
        grid=grid,
    )
    table = markdown_table(rows, args.datasets)
    header = (
        f"skmil benchmark: {repeats} x {args.cv}-fold stratified CV, seeds "
        f"{args.seed}..{args.seed + repeats - 1}, instance standardisation inside folds"
        f"{', nested inner-CV tuning' if args.tune else ', fixed hyperparameters'}.\n"
        "Cells: accuracy mean ± std over "
        + ("repetitions" if repeats > 1 else "folds")
        + " (published mean, difference).\n"
    )
    with open(os.path.join(out, "results.md"), "w") as fh:
        fh.write(header + "\n" + table + "\n")
    with open(os.path.join(out, "results.rst"), "w") as fh:
        fh.write(rst_table(rows, args.datasets) + "\n")
    plots = plot_results(rows, out)
    print()
    print(header)
    print(table)
    print(f"\nresults: {os.path.join(out, 'results.csv')}, {os.path.join(out, 'results.md')}"
          + (", " + ", ".join(plots) if plots else "")
          + f"  ({time.time() - t0:.0f} s)")
    return 0
