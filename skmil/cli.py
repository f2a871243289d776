"""The ``skmil`` command line: list data sets, evaluate an estimator, run the benchmark.

Examples::

    skmil datasets
    skmil evaluate --estimator SIL --dataset musk1 --cv 10 --repeats 5
    skmil evaluate --estimator SimpleMI --dataset my_bags.csv --bag-col bag --label-col y
    skmil benchmark --quick
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main", "parse_params"]


def parse_params(items: Sequence[str] | None) -> dict[str, Any]:
    """Parse ``key=value`` strings; values are Python literals when they parse, else strings.

    Examples
    --------
    >>> parse_params(["C=10", "kernel=rbf", "statistics=('mean', 'max')"])
    {'C': 10, 'kernel': 'rbf', 'statistics': ('mean', 'max')}
    """
    params: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"--param expects key=value, got {item!r}.")
        key, raw = item.split("=", 1)
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw
        params[key.strip()] = value
    return params


def _load(dataset: str, bag_col: str, label_col: str):
    from .datasets import DATASETS, load_dataset
    from .datasets._classic import read_mil_csv

    if dataset.lower() in DATASETS:
        return load_dataset(dataset, return_X_y=True)
    if os.path.exists(dataset):
        bags, y, _ = read_mil_csv(dataset, bag_col=bag_col, label_col=label_col)
        return bags, y
    raise SystemExit(
        f"skmil: {dataset!r} is neither a shipped data set ({', '.join(DATASETS)}) nor a file."
    )


def _cmd_datasets(args: argparse.Namespace) -> int:
    from .datasets import DATASETS

    for name, desc in DATASETS.items():
        print(f"{name:10s} {desc}")
    return 0


def _cmd_estimators(args: argparse.Namespace) -> int:
    from .utils import all_estimators

    for name, cls in all_estimators(args.type):
        doc = (cls.__doc__ or "").strip().splitlines()
        print(f"{name:24s} {doc[0] if doc else ''}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .model_selection import evaluate
    from .utils import get_estimator

    try:
        cls = get_estimator(args.estimator)
        est = cls().set_params(**parse_params(args.param))
    except ValueError as exc:
        raise SystemExit(f"skmil: {exc}") from None
    bags, y = _load(args.dataset, args.bag_col, args.label_col)
    res = evaluate(
        est,
        bags,
        y,
        n_splits=args.cv,
        n_repeats=args.repeats,
        random_state=args.seed,
        standardize=not args.no_standardize,
        n_jobs=args.n_jobs,
        progress=not args.no_progress,
        description=f"{cls.__name__} on {os.path.basename(args.dataset)}",
    )
    print(f"{cls.__name__} on {args.dataset}: {args.repeats} x {args.cv}-fold CV")
    print(f"  accuracy  {res.accuracy_mean:.3f} ± {res.accuracy_std:.3f}")
    print(f"  ROC AUC   {res.auc_mean:.3f} ± {res.auc_std:.3f}")
    print(f"  fit time  {res.fit_time_mean:.3g} s per fold")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skmil", description="Multiple-instance learning with scikit-learn estimators."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("datasets", help="list the shipped MIL data sets")
    p.set_defaults(func=_cmd_datasets)

    p = sub.add_parser("estimators", help="list the registered estimators")
    p.add_argument("--type", choices=["classifier", "transformer"], default="classifier")
    p.set_defaults(func=_cmd_estimators)

    p = sub.add_parser(
        "evaluate",
        help="repeated stratified CV of one estimator on one data set",
        description="Repeated stratified k-fold CV over bags with instance standardisation "
        "fitted inside each training fold; prints accuracy and ROC AUC mean ± std.",
    )
    p.add_argument(
        "--estimator", required=True, help="estimator name, e.g. SIL (see `skmil estimators`)"
    )
    p.add_argument("--dataset", required=True, help="shipped data set name or path to a CSV file")
    p.add_argument("--bag-col", default="bag_id", help="bag id column of a CSV (default bag_id)")
    p.add_argument("--label-col", default="bag_label", help="bag label column (default bag_label)")
    p.add_argument("--cv", type=int, default=10, help="number of folds (default 10)")
    p.add_argument("--repeats", type=int, default=5, help="repetitions (default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the first repetition")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="estimator parameter")
    p.add_argument("--n-jobs", type=int, default=None, help="parallel folds (joblib)")
    p.add_argument("--no-standardize", action="store_true", help="skip instance standardisation")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_cmd_evaluate)

    # dispatched in main() before parsing; listed here for --help
    sub.add_parser("benchmark", help="the classic benchmark table (skmil benchmark --help)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``skmil`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["benchmark"]:  # its own parser owns every option after the word
        from .benchmark import main as bench_main

        return int(bench_main(argv[1:]) or 0)
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
