"""Turn a benchmark results CSV into the table and plots of docs/benchmarks.rst.

Reads every 10-fold, untuned, seed-0-based row of the CSV written by
``python benchmarks/run_benchmark.py`` (whatever number of complete repetitions each cell
has; cells with fewer repetitions than the most are marked ``[kx]``), and writes
``docs/_benchmark_table.rst``, one accuracy plot per estimator family
(``docs/images/benchmark_accuracy_<family>.png``, each with the ``SimpleMI`` baseline for
reference, so that every plot stays readable at page width) and
``docs/images/benchmark_fit_time.png``. Fit times (table column and plot) are the means
over the first repetition's folds. With a second argument, the rows of record (no
``--param`` override) of the digits-bags CSV of ``run_benchmark.py --digits`` become
``docs/_digits_table.rst``. Rows measured with another skmil version than the newest in
the CSV are marked ``†`` in the table. With ``--before OLD_CSV``, every estimator that has
complete repetitions in both CSVs gets a row of ``docs/_benchmark_changes.rst``: its mean
accuracy per data set before and after, and the change averaged over the data sets. With
``--assumptions CSV`` and ``--partial-labels CSV`` (from ``skmil benchmark --assumptions``
and ``--labelled-fractions``) their tables become ``docs/_assumptions_table.rst`` and
``docs/_partial_labels_table.rst``. With ``--positive-fractions CSV`` (from ``skmil benchmark
--positive-fractions``) its table becomes ``docs/_positive_fraction_table.rst``, and the
defaults report (classic, digits and positive-fraction rows of record beside SimpleMI's)
becomes ``docs/_defaults_report.rst``. With ``--regression CSV`` (from ``skmil benchmark
--regression``) its table becomes ``docs/_regression_table.rst``, and with ``--multiclass
CSV`` (from ``skmil benchmark --multiclass``) ``docs/_multiclass_table.rst``.
From the committed CSVs::

    python benchmarks/make_docs_table.py benchmarks/results/classic_results.csv \
        benchmarks/results/digits_results.csv \
        --before benchmarks/results/classic_results_0.1.csv \
        --assumptions benchmarks/results/assumptions_results.csv \
        --partial-labels benchmarks/results/partial_labels_results.csv \
        --positive-fractions benchmarks/results/positive_fraction_results.csv \
        --regression benchmarks/results/regression_results.csv \
        --multiclass benchmarks/results/multiclass_results.csv

or from a fresh run::

    python benchmarks/make_docs_table.py benchmark_results/full/results.csv \
        benchmark_results/digits/digits_results.csv
"""

import os
import shutil
import sys
import tempfile
from collections import Counter

from skmil.benchmark import (
    DATASET_ORDER,
    _params_key,
    _read_rows,
    _spec,
    assumptions_table,
    defaults_report,
    digits_table,
    mnist_bags_comparison_table,
    multiclass_table,
    partial_labels_table,
    plot_results,
    positive_fraction_table,
    regression_table,
    rst_table,
    summarize,
)

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.join(HERE, os.pardir, "docs")
#: accuracy plots, one per family: the subpackage of the estimator's class -> plot name
FAMILIES = {"svm": "svm", "embedding": "embedding", "distance": "distance",
            "graph": "distance", "dd": "distance", "deep": "deep", "ensemble": "canon",
            "linear_model": "canon", "meta": "canon"}
BASELINE = "SimpleMI"


def family_of(name: str) -> str:
    """The plot an estimator goes in, from the subpackage that defines its class."""
    from skmil.utils import all_estimators

    module = dict(all_estimators())[name].__module__
    return FAMILIES.get(module.split(".")[1], "baseline")


def markdown_to_rst(table: str) -> str:
    """A Markdown pipe table as a reStructuredText list-table."""
    lines = [ln for ln in table.splitlines() if ln.startswith("|") and not ln.startswith("|---")]
    out = [".. list-table::", "   :header-rows: 1", ""]
    for ln in lines:
        cells = [c.strip() for c in ln.strip("|").split("|")]
        out.append("   * - " + (cells[0] or " "))
        out += [f"     - {c or ' '}" for c in cells[1:]]
    return "\n".join(out)


def record_rows(csv_path: str) -> list[dict]:
    """The complete, untuned 10-fold repetitions of record (no ``--param``) of a CSV."""
    rows = [
        r
        for r in _read_rows(csv_path)
        if r["n_splits"] == "10"
        and r["tuned"] == "0"
        and int(r["seed"]) == int(r["repeat"])
        and r["params"] == _params_key(_spec(r["estimator"]).params)
    ]
    # an interrupted run can leave a repetition half done: keep complete ones only
    counts = Counter((r["estimator"], r["dataset"], r["repeat"]) for r in rows)
    return [r for r in rows if counts[(r["estimator"], r["dataset"], r["repeat"])] == 10]


def _version_key(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else -1 for p in version.replace("dev", ".").split("."))


def mark_older_versions(table: str, rows: list[dict]) -> str:
    """Append ``†`` to the label of estimators measured with an older skmil version."""
    newest = max((r["skmil_version"] for r in rows), key=_version_key)
    older = {r["estimator"] for r in rows if r["skmil_version"] != newest}
    out = []
    for line in table.splitlines():
        if line.startswith("   * - "):
            label = line[len("   * - "):]
            if label.split(" (")[0] in older:
                line += " †"
        out.append(line)
    return "\n".join(out)


def changes_table(before: list[dict], after: list[dict]) -> str:
    """Mean accuracy per data set before -> after, for estimators re-run and complete in both."""
    sb, sa = summarize(before), summarize(after)
    full = max(s["n_repeats"] for s in sa.values())
    # only estimators re-run: their rows after are of another skmil version than before
    versions_before = {(r["estimator"], r["skmil_version"]) for r in before}
    rerun = {r["estimator"] for r in after
             if (r["estimator"], r["skmil_version"]) not in versions_before}
    names = sorted(rerun & {e for e, _ in sa}, key=lambda e: e.lower())
    out = [".. list-table::", "   :header-rows: 1", "",
           "   * - estimator"] + [f"     - {d.upper()}" for d in DATASET_ORDER] + [
           "     - mean change"]
    for e in names:
        cells = [(sb.get((e, d)), sa.get((e, d))) for d in DATASET_ORDER]
        if any(b is None or a is None or a["n_repeats"] < full or b["n_repeats"] < full
               for b, a in cells):
            continue
        diffs = [a["accuracy_mean"] - b["accuracy_mean"] for b, a in cells]
        out.append(f"   * - {e}")
        out += [f"     - {b['accuracy_mean']:.3f} → {a['accuracy_mean']:.3f}" for b, a in cells]
        out.append(f"     - {100 * sum(diffs) / len(diffs):+.1f} points")
    return "\n".join(out)


def _rows_of_record(path: str) -> list[dict]:
    """The rows of a synthetic-benchmark CSV run with the hyperparameters of record."""
    return [r for r in _read_rows(path)
            if r.get("params", "{}") == _params_key(_spec(r["estimator"]).params)]


def main(csv_path: str, digits_path: str | None = None, before_path: str | None = None,
         assumptions_path: str | None = None, partial_path: str | None = None,
         fraction_path: str | None = None, regression_path: str | None = None,
         multiclass_path: str | None = None) -> None:
    rows = record_rows(csv_path)
    with open(os.path.join(DOCS, "_benchmark_table.rst"), "w") as fh:
        fh.write(mark_older_versions(rst_table(rows, time_repeat="0"), rows) + "\n")
    if before_path:
        with open(os.path.join(DOCS, "_benchmark_changes.rst"), "w") as fh:
            fh.write(changes_table(record_rows(before_path), rows) + "\n")
        print(f"{before_path} vs {csv_path} -> docs/_benchmark_changes.rst")
    os.makedirs(os.path.join(DOCS, "images"), exist_ok=True)
    images = os.path.join(DOCS, "images")
    with tempfile.TemporaryDirectory() as tmp:
        for path in plot_results(rows, tmp, time_repeat="0"):
            if os.path.basename(path) == "fit_time.png":
                shutil.copy(path, os.path.join(images, "benchmark_fit_time.png"))
        families = {r["estimator"]: family_of(r["estimator"]) for r in rows}
        for family in sorted(set(families.values()) - {"baseline"}):
            subset = [r for r in rows
                      if families[r["estimator"]] == family or r["estimator"] == BASELINE]
            for path in plot_results(subset, tmp, time_repeat="0"):
                if os.path.basename(path) == "accuracy.png":
                    shutil.copy(path, os.path.join(images, f"benchmark_accuracy_{family}.png"))
    print(f"{len(rows)} folds from {csv_path} -> docs/_benchmark_table.rst, docs/images/")
    if digits_path:
        digit_rows = _rows_of_record(digits_path)
        _write_rst("_digits_table.rst", digits_table(digit_rows))
        _write_rst("_mnist_bags_table.rst", mnist_bags_comparison_table(digit_rows))
        print(f"{digits_path} -> docs/_digits_table.rst, docs/_mnist_bags_table.rst")
    for path, table, name in ((assumptions_path, assumptions_table, "_assumptions_table.rst"),
                              (partial_path, partial_labels_table, "_partial_labels_table.rst"),
                              (regression_path, regression_table, "_regression_table.rst"),
                              (multiclass_path, multiclass_table, "_multiclass_table.rst")):
        if path:
            _write_rst(name, table(_rows_of_record(path)))
            print(f"{path} -> docs/{name}")
    if fraction_path:
        fraction_rows = _rows_of_record(fraction_path)
        _write_rst("_positive_fraction_table.rst", positive_fraction_table(fraction_rows))
        digit_rows = _rows_of_record(digits_path) if digits_path else []
        _write_rst("_defaults_report.rst", defaults_report(rows, digit_rows, fraction_rows))
        print(f"{fraction_path} -> docs/_positive_fraction_table.rst, docs/_defaults_report.rst")


def _write_rst(name: str, markdown: str) -> None:
    """Write a Markdown table as reStructuredText to ``docs/<name>``."""
    with open(os.path.join(DOCS, name), "w") as fh:
        fh.write(markdown_to_rst(markdown) + "\n")


def _option(args: list[str], flag: str) -> str | None:
    """Remove ``flag VALUE`` from ``args`` and return VALUE (None when absent)."""
    if flag not in args:
        return None
    i = args.index(flag)
    value = args[i + 1]
    del args[i:i + 2]
    return value


if __name__ == "__main__":
    args = sys.argv[1:]
    before = _option(args, "--before")
    assumptions = _option(args, "--assumptions")
    partial = _option(args, "--partial-labels")
    fractions = _option(args, "--positive-fractions")
    regression = _option(args, "--regression")
    multiclass = _option(args, "--multiclass")
    main(
        args[0] if args else "benchmark_results/full/results.csv",
        args[1] if len(args) > 1 else None,
        before,
        assumptions,
        partial,
        fractions,
        regression,
        multiclass,
    )
