"""The ``skmil`` command line: list data sets, evaluate an estimator, run the benchmark.

Examples::

    skmil datasets
    skmil estimators
    skmil evaluate --estimator SIL --dataset musk1 --cv 10 --repeats 5
    skmil evaluate --estimator SimpleMI --dataset my_bags.csv --bag-col bag --label-col y
    skmil benchmark --quick

A malformed input (a bad file, an unknown estimator, an invalid parameter) ends with exit
status 2 and one line on stderr; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Sequence
from typing import Any

from ._params import count_at_least, parse_params

__all__ = ["main", "parse_params", "build_parser"]


class _InputError(ValueError):
    """A user error the CLI reports in one line (already phrased for the command line)."""


def _suggest(name: str, candidates: Sequence[str]) -> str:
    """`` (did you mean X?)`` for the closest candidates, ignoring case; else ``""``."""
    lower = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(name.lower(), list(lower), n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(lower[c] for c in close)}?)" if close else ""


def _load(dataset: str, bag_col: str, label_col: str):
    from .datasets import DATASETS, load_dataset, read_mil_csv

    if dataset.lower() in DATASETS:
        return load_dataset(dataset, return_X_y=True)
    if os.path.isdir(dataset):
        raise _InputError(f"cannot read {dataset!r}: it is a directory, not a CSV file.")
    if os.path.exists(dataset):
        try:
            bags, y, _ = read_mil_csv(dataset, bag_col=bag_col, label_col=label_col)
        except OSError as exc:
            raise _InputError(f"cannot read {dataset!r}: {exc.strerror or exc}.") from exc
        return bags, y
    raise _InputError(
        f"{dataset!r} is neither a shipped data set ({', '.join(DATASETS)}) nor a file"
        f"{_suggest(dataset, list(DATASETS))}."
    )


def _cmd_datasets(args: argparse.Namespace) -> int:
    from .datasets import DATASETS

    for name, desc in DATASETS.items():
        print(f"{name:10s} {desc}")
    return 0


def _cmd_estimators(args: argparse.Namespace) -> int:
    # a static table: importing every estimator module costs seconds (scikit-learn,
    # numba, torch); tests keep the table equal to the registry
    from ._catalog import CLASSIFIERS, REGRESSORS, TRANSFORMERS

    sections = {
        "classifier": ("Classifiers (skmil evaluate --estimator NAME)", CLASSIFIERS),
        "regressor": ("Regressors (real-valued bag targets; Python API)", REGRESSORS),
        "transformer": ("Transformers (pipeline steps, not for evaluate)", TRANSFORMERS),
    }
    sections = list(sections.values()) if args.type is None else [sections[args.type]]
    for k, (title, table) in enumerate(sections):
        if k:
            print()
        print(title)
        for name in sorted(table, key=str.lower):
            print(f"  {name:22s} {table[name]}")
    return 0


def _classifier(name: str) -> type:
    """The classifier class called ``name``, or an error that says what to type instead."""
    from .base import BaseMILClassifier
    from .utils import all_estimators, get_estimator

    try:
        cls = get_estimator(name)
    except ValueError as exc:
        if "ambiguous" in str(exc):
            raise _InputError(str(exc)) from exc
        names = [n for n, c in all_estimators() if issubclass(c, BaseMILClassifier)]
        raise _InputError(
            f"unknown estimator {name!r}{_suggest(name, names)}; `skmil estimators` lists "
            "them."
        ) from exc
    if not issubclass(cls, BaseMILClassifier):
        kind = "regressor" if hasattr(cls, "predict") else "transformer"
        if kind == "regressor":
            raise _InputError(
                f"{cls.__name__} is a regressor, not a classifier; evaluate measures bag "
                "classification (`skmil estimators` lists the classifiers). Use a "
                f"regressor in Python, e.g. cross_val_score({cls.__name__}(), bags, y)."
            )
        raise _InputError(
            f"{cls.__name__} is a transformer, not a classifier; evaluate needs a "
            "classifier (`skmil estimators` lists them). Use a transformer in Python, "
            f"e.g. make_pipeline({cls.__name__}(), SVC())."
        )
    return cls


def _label_text(value: Any) -> str:
    value = value.item() if hasattr(value, "item") else value
    return repr(value) if isinstance(value, str) else str(value)


def _spread(values: list[float], n_repeats: int, n_folds: int) -> str:
    import numpy as np

    values = [v for v in values if v == v]  # a fold without both classes has no AUC
    if len(values) < 2:
        return ""
    what = f"{n_repeats} repetitions" if n_repeats > 1 else f"{n_folds} folds"
    return f" ± {np.std(values):.3f} (std over {what})"


def _cmd_evaluate(args: argparse.Namespace) -> int:
    import numpy as np

    from .model_selection import evaluate

    cls = _classifier(args.estimator)
    est = cls().set_params(**parse_params(args.param))
    bags, y = _load(args.dataset, args.bag_col, args.label_col)
    classes = np.unique(np.asarray(y))
    if classes.size != 2:
        shown = ", ".join(_label_text(c) for c in classes[:5])
        raise _InputError(
            f"evaluate needs exactly two bag labels; {args.dataset} has {classes.size}: "
            f"{shown}{' ...' if classes.size > 5 else ''}."
        )
    counts = np.bincount(np.searchsorted(classes, y), minlength=2)
    if counts.min() < args.cv:
        raise _InputError(
            f"--cv {args.cv} needs at least {args.cv} bags of each label; "
            f"{args.dataset} has {counts[0]} labelled {_label_text(classes[0])} and "
            f"{counts[1]} labelled {_label_text(classes[1])}."
        )
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
    if args.repeats > 1:
        acc = list(res._per_repeat("accuracy"))
        auc = list(res._per_repeat("auc"))
    else:
        acc = [f.accuracy for f in res.folds]
        auc = [f.auc for f in res.folds]
    print(f"{cls.__name__} on {args.dataset}: {args.repeats} x {args.cv}-fold CV")
    print(
        f"  positive class {_label_text(classes[1])} (the larger label; "
        f"{_label_text(classes[0])} is negative): {counts[1]} of {len(y)} bags"
    )
    print(f"  accuracy  {res.accuracy_mean:.3f}{_spread(acc, args.repeats, args.cv)}")
    print(f"  ROC AUC   {res.auc_mean:.3f}{_spread(auc, args.repeats, args.cv)}")
    print(f"  fit time  {res.fit_time_mean:.3g} s per fold")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``skmil`` argument parser (``benchmark`` has its own, in :mod:`skmil.benchmark`).

    Returns
    -------
    parser : argparse.ArgumentParser
        The parser, with one sub-command per ``skmil`` command.

    Examples
    --------
    >>> args = build_parser().parse_args(["estimators", "--type", "transformer"])
    >>> args.type
    'transformer'
    """
    parser = argparse.ArgumentParser(
        prog="skmil", description="Multiple-instance learning with scikit-learn estimators."
    )
    parser.add_argument(
        "--debug", action="store_true",
        help="show the traceback of an error instead of a one-line message",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("datasets", help="list the shipped MIL data sets")
    p.set_defaults(func=_cmd_datasets)

    p = sub.add_parser("estimators", help="list the estimators, classifiers and transformers")
    p.add_argument("--type", choices=["classifier", "regressor", "transformer"],
                   default=None, help="list only one kind (default all)")
    p.set_defaults(func=_cmd_estimators)

    p = sub.add_parser(
        "evaluate",
        help="repeated stratified CV of one estimator on one data set",
        description="Repeated stratified k-fold CV over bags with instance standardisation "
        "fitted inside each training fold; prints accuracy and ROC AUC mean ± std. The "
        "larger of the two bag labels is the positive class.",
    )
    p.add_argument(
        "--estimator", required=True, help="classifier name, e.g. SIL (see `skmil estimators`)"
    )
    p.add_argument("--dataset", required=True,
                   help="shipped data set name, or a CSV/Parquet file with one row per instance")
    p.add_argument("--bag-col", default="bag_id", help="bag id column of a file (default bag_id)")
    p.add_argument("--label-col", default="bag_label", help="bag label column (default bag_label)")
    p.add_argument("--cv", type=count_at_least(2), default=10,
                   help="number of folds, >= 2 (default 10)")
    p.add_argument("--repeats", type=count_at_least(1), default=5,
                   help="repetitions, >= 1 (default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the first repetition")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="estimator parameter")
    p.add_argument("--n-jobs", type=int, default=None, help="parallel folds (joblib)")
    p.add_argument("--no-standardize", action="store_true", help="skip instance standardisation")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_cmd_evaluate)

    # dispatched in main() before parsing; listed here for --help
    sub.add_parser("benchmark", help="the classic benchmark table (skmil benchmark --help)")
    return parser


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``skmil`` console script.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success, 2 for a malformed input (after one line on stderr).

    Examples
    --------
    >>> main(["datasets"])  # doctest: +ELLIPSIS
    musk1 ...
    0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    # --debug is accepted anywhere on the line, also by `skmil benchmark`
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    try:
        if argv[:1] == ["benchmark"]:  # its own parser owns every option after the word
            from .benchmark import main as bench_main

            return int(bench_main(argv[1:]) or 0)
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except (ValueError, TypeError, OSError, ImportError) as exc:
        if debug:
            raise
        print(f"skmil: error: {_one_line(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
