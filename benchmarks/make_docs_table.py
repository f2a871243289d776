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
``docs/_digits_table.rst``. From the committed CSVs::

    python benchmarks/make_docs_table.py benchmarks/results/classic_results.csv \
        benchmarks/results/digits_results.csv

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
    _params_key,
    _read_rows,
    _spec,
    digits_table,
    plot_results,
    rst_table,
)

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.join(HERE, os.pardir, "docs")
#: accuracy plots, one per family: the subpackage of the estimator's class -> plot name
FAMILIES = {"svm": "svm", "embedding": "embedding", "distance": "distance",
            "graph": "distance", "dd": "distance", "deep": "deep"}
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


def main(csv_path: str, digits_path: str | None = None) -> None:
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
    rows = [r for r in rows if counts[(r["estimator"], r["dataset"], r["repeat"])] == 10]
    with open(os.path.join(DOCS, "_benchmark_table.rst"), "w") as fh:
        fh.write(rst_table(rows, time_repeat="0") + "\n")
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
        with open(os.path.join(DOCS, "_digits_table.rst"), "w") as fh:
            digits = [
                r for r in _read_rows(digits_path)
                if r.get("params", "{}") == _params_key(_spec(r["estimator"]).params)
            ]
            fh.write(markdown_to_rst(digits_table(digits)) + "\n")
        print(f"{digits_path} -> docs/_digits_table.rst")


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "benchmark_results/full/results.csv",
        sys.argv[2] if len(sys.argv) > 2 else None,
    )
