"""The command line, repeated CV and the benchmark harness."""

import csv
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold, cross_val_score

from skmil.bags import to_frame
from skmil.benchmark import (
    digits_table,
    markdown_table,
    published_accuracy,
    run_benchmark,
    run_digits_benchmark,
    summarize,
)
from skmil.cli import main, parse_params
from skmil.datasets import load_musk1, make_mil_classification
from skmil.embedding import SimpleMI
from skmil.model_selection import (
    evaluate,
    predict_from_scores,
    repeated_folds,
    with_standardization,
)


def test_parse_params():
    assert parse_params(["C=1e-2", "kernel=linear", "x=[1, 2]"]) == {
        "C": 0.01, "kernel": "linear", "x": [1, 2]
    }
    with pytest.raises(ValueError, match="key=value"):
        parse_params(["C"])


def test_evaluate_matches_cross_val_score():
    bags, y = load_musk1(return_X_y=True)
    res = evaluate(SimpleMI(C=1.0), bags, y, n_splits=5, n_repeats=2, random_state=3)
    assert len(res.folds) == 10
    for r in range(2):
        cv = StratifiedKFold(5, shuffle=True, random_state=3 + r)
        ref = cross_val_score(with_standardization(SimpleMI(C=1.0)), bags, y, cv=cv)
        got = [f.accuracy for f in res.folds if f.repeat == r]
        np.testing.assert_allclose(got, ref)
    assert 0 < res.accuracy_std < 0.2 and "accuracy" in res.summary()


class _CountingSimpleMI(SimpleMI):
    """SimpleMI that counts its decision passes (class attribute: survives clone)."""

    calls = 0

    def _decision_function(self, bags):
        type(self).calls += 1
        return super()._decision_function(bags)


def test_predict_from_scores_equals_predict_without_a_second_pass():
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import SVC

    from skmil.embedding import BagStatistics

    bags, y, _ = make_mil_classification(n_bags=40, random_state=1)
    labels = np.where(y == 1, "pos", "neg")
    pipe = with_standardization(_CountingSimpleMI()).fit(bags, labels)
    search = GridSearchCV(
        with_standardization(_CountingSimpleMI()),
        {"_countingsimplemi__standardize": [True, False]},
        cv=3,
    ).fit(bags, labels)
    for est in (pipe, search):
        scores = est.decision_function(bags)
        before = _CountingSimpleMI.calls
        pred = predict_from_scores(est, bags, scores)
        assert _CountingSimpleMI.calls == before  # labels from the scores alone
        np.testing.assert_array_equal(pred, est.predict(bags))
    # a model outside the skmil contract is asked for its own predict
    plain = make_pipeline(BagStatistics(), SVC(class_weight={0: 1, 1: 50})).fit(bags, y)
    np.testing.assert_array_equal(
        predict_from_scores(plain, bags, np.zeros(len(bags))), plain.predict(bags)
    )


def test_evaluate_slices_precomputed_kernel_bags_per_fold():
    from sklearn.metrics.pairwise import rbf_kernel

    from skmil.bags import Bags, check_bags
    from skmil.svm import SIL

    bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    B = check_bags(bags)
    K = Bags(rbf_kernel(B.instances, B.instances, gamma=0.1), B.offsets)
    # threshold fixed: "auto" draws its inner folds from a hash of the bags' contents,
    # which differs between kernel rows and features
    pre = evaluate(SIL(kernel="precomputed", threshold=0.0), K, y, n_splits=4, n_repeats=1,
                   standardize=False)
    named = evaluate(SIL(gamma=0.1, threshold=0.0), B, y, n_splits=4, n_repeats=1,
                     standardize=False)
    np.testing.assert_allclose([f.auc for f in pre.folds], [f.auc for f in named.folds])
    assert [f.accuracy for f in pre.folds] == [f.accuracy for f in named.folds]
    with pytest.raises(ValueError, match="standardize=False"):
        evaluate(SIL(kernel="precomputed"), K, y, n_splits=4, n_repeats=1)


def test_repeated_folds_cover_every_bag_once_per_repeat():
    y = np.array([0, 1] * 15)
    folds = repeated_folds(y, 10, 2, 0)
    for r in range(2):
        tests = np.concatenate([te for rr, _, _, _, te in folds if rr == r])
        np.testing.assert_array_equal(np.sort(tests), np.arange(30))


def test_cli_datasets_and_estimators(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "musk1" in out and "elephant" in out
    assert main(["estimators"]) == 0
    out = capsys.readouterr().out
    classifiers, transformers = out.split("\n\nTransformers")
    assert "  SIL " in classifiers and "BagStatistics" not in classifiers
    assert "  BagStatistics " in transformers and "  SIL " not in transformers
    assert "`" not in out and ":class:" not in out  # plain text, no reStructuredText
    assert main(["estimators", "--type", "transformer"]) == 0
    assert "SIL" not in capsys.readouterr().out


def test_estimator_table_matches_the_registry():
    from skmil._catalog import CLASSIFIERS, REGRESSORS, TRANSFORMERS, plain_summary
    from skmil.utils import all_estimators

    for table, kind in ((CLASSIFIERS, "classifier"), (REGRESSORS, "regressor"),
                        (TRANSFORMERS, "transformer")):
        registry = {n: plain_summary(c.__doc__) for n, c in all_estimators(kind)}
        assert table == registry, (
            f"skmil/_catalog.py is out of date for the {kind}s; the registry says {registry}"
        )


def test_cli_estimators_answers_without_importing_estimators():
    code = ("import sys; from skmil.cli import main; main(['estimators']); "
            "sys.stderr.write(' '.join(m for m in ('sklearn', 'torch', 'numba') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert "MIKernelSVM" in out.stdout and out.stderr == ""


def test_cli_evaluate_shipped_and_user_csv(tmp_path, capsys):
    assert main(["evaluate", "--estimator", "simplemi", "--dataset", "musk1", "--cv", "3",
                 "--repeats", "1", "--no-progress"]) == 0
    assert "accuracy" in capsys.readouterr().out
    bags, y, _ = make_mil_classification(n_bags=30, random_state=0)
    path = tmp_path / "mine.csv"
    to_frame(bags, np.where(y == 1, "pos", "neg"), bag="bag", label="label").to_csv(
        path, index=False
    )
    assert main(["evaluate", "--estimator", "SIL", "--dataset", str(path), "--bag-col", "bag",
                 "--label-col", "label", "--cv", "3", "--repeats", "2", "--param", "C=10",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "2 x 3-fold" in out and "ROC AUC" in out
    assert "positive class 'pos' (the larger label; 'neg' is negative)" in out
    assert "(std over 2 repetitions)" in out


def test_cli_evaluate_one_repetition_shows_the_fold_spread(capsys):
    assert main(["evaluate", "--estimator", "SimpleMI", "--dataset", "musk1", "--cv", "3",
                 "--repeats", "1", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "positive class 1 (the larger label; 0 is negative): 47 of 92 bags" in out
    line = next(x for x in out.splitlines() if "accuracy" in x)
    assert line.endswith("(std over 3 folds)") and "± 0.000" not in line


def _csv(tmp_path, text):
    path = tmp_path / "bags.csv"
    path.write_text(text)
    return str(path)


_GOOD = "bag_id,bag_label,f0\n" + "".join(f"b{i},{i % 2},{i}\n" for i in range(8))


@pytest.mark.parametrize(
    "text, args, message",
    [
        ("", [], "is empty; it needs a header line"),
        ("bag_id,bag_label,f0\n", [], "has a header but no data rows"),
        (_GOOD, ["--bag-col", "patient"], "no column 'patient'"),
        ("bag_id,bag_label,f0\na,0,1\na,1,2\nb,0,3\n", [],
         "bag 'a' has two labels, '0' on line 2 and '1' on line 3"),
        ("bag_id,bag_label,f0\na,0,1\na,0,\nb,1,3\n", [],
         "column 'f0' has a missing value on line 3"),
        ("bag_id,bag_label,f0\na,0,1\na,0,x\nb,1,3\n", [],
         "column 'f0' holds the non-numeric value 'x' on line 3"),
        ("bag_id,bag_label,f0\na,0,1\n,0,2\nb,1,3\n", [], "have no bag id .*line 3"),
        (_GOOD, ["--estimator", "SIM"], r"unknown estimator 'SIM' \(did you mean SIL\?\)"),
        (_GOOD, ["--estimator", "BagStatistics"], "BagStatistics is a transformer, not a "
         "classifier"),
        (_GOOD, ["--param", "Cx=1"], "Invalid parameter 'Cx'"),
        ("bag_id,bag_label,f0\na,0,1\nb,0,2\n", [], "exactly two bag labels; .* has 1: 0"),
        (_GOOD, ["--cv", "5"], "--cv 5 needs at least 5 bags of each label"),
    ],
    ids=["empty", "header_only", "missing_column", "two_labels", "missing_value",
         "text_value", "missing_bag_id", "unknown_estimator", "transformer", "bad_param",
         "one_class", "too_few_bags"],
)
def test_cli_malformed_input_is_one_line_and_status_2(tmp_path, capsys, text, args, message):
    argv = ["evaluate", "--estimator", "SIL", "--dataset", _csv(tmp_path, text), "--cv", "2",
            "--repeats", "1", "--no-progress"]
    # a later option wins in argparse
    assert main(argv + args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("skmil: error: ")
    assert re.search(message, lines[0]), lines[0]


def test_cli_unreadable_or_unknown_path(tmp_path, capsys):
    for dataset, message in ((str(tmp_path), "is a directory"),
                             ("musk3", "nor a file (did you mean musk2 or musk1?)")):
        assert main(["evaluate", "--estimator", "SIL", "--dataset", dataset]) == 2
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 1 and message in err[0]


@pytest.mark.parametrize("option", [["--repeats", "0"], ["--cv", "1"], ["--cv", "x"]])
def test_cli_counts_below_their_minimum_are_refused_by_argparse(capsys, option):
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--estimator", "SIL", "--dataset", "musk1", *option])
    assert exc.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].startswith(
        f"skmil evaluate: error: argument {option[0]}"
    )


def test_cli_benchmark_repeats_zero_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["benchmark", "--repeats", "0", "--out", str(tmp_path)])
    assert exc.value.code == 2 and "must be at least 1" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "results.md")
    with pytest.raises(ValueError, match="n_repeats must be at least 1"):
        run_benchmark(["SimpleMI"], ["musk1"], n_repeats=0, out_dir=str(tmp_path))


def test_cli_debug_shows_the_traceback(tmp_path):
    path = _csv(tmp_path, "")
    argv = ["evaluate", "--estimator", "SIL", "--dataset", path]
    quiet = subprocess.run([sys.executable, "-m", "skmil", *argv], capture_output=True,
                           text=True)
    assert quiet.returncode == 2 and "Traceback" not in quiet.stderr
    assert len(quiet.stderr.splitlines()) == 1
    with pytest.raises(ValueError, match="is empty"):
        main(["--debug", *argv])


def test_cli_and_benchmark_do_not_import_each_other():
    code = ("import sys; import skmil.benchmark; assert 'skmil.cli' not in sys.modules; "
            "from skmil.cli import parse_params; from skmil.benchmark import main")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_python_dash_m_entry_point():
    out = subprocess.run([sys.executable, "-m", "skmil", "datasets"], capture_output=True,
                         text=True, check=True)
    assert "musk2" in out.stdout


def test_published_reference_table():
    pub = published_accuracy()
    assert pub[("mi-SVM", "musk1")] == (0.874, None)
    assert pub[("MI-Kernel", "fox")] == (0.603, 0.028)


def test_benchmark_runs_resumes_and_writes_outputs(tmp_path):
    out = str(tmp_path / "bench")
    kw = dict(datasets=["musk1"], n_splits=3, n_repeats=2, out_dir=out, n_jobs=1,
              progress=False)
    rows = run_benchmark(["SimpleMI"], **kw)
    assert len(rows) == 6
    with open(os.path.join(out, "results.csv")) as fh:
        n_lines = len(list(csv.DictReader(fh)))
    rows_again = run_benchmark(["SimpleMI"], **kw)  # resumes: nothing new to run
    with open(os.path.join(out, "results.csv")) as fh:
        assert len(list(csv.DictReader(fh))) == n_lines
    assert sorted(r["fold"] for r in rows_again) == sorted(r["fold"] for r in rows)
    table = markdown_table(rows, ["musk1"])
    assert "SimpleMI" in table and "MUSK1" in table


def test_benchmark_says_what_it_reuses_and_keys_on_version_and_resolved_params(
    tmp_path, capsys, monkeypatch
):
    import skmil
    from skmil.benchmark import params_hash

    out = str(tmp_path / "bench")
    kw = dict(datasets=["musk1"], n_splits=3, n_repeats=1, out_dir=out, n_jobs=1,
              progress=False)
    first = run_benchmark(["SimpleMI"], **kw)
    assert "reusing" not in capsys.readouterr().out
    assert {r["params_hash"] for r in first} == {params_hash("SimpleMI")}
    assert {r["skmil_version"] for r in first} == {skmil.__version__}
    run_benchmark(["SimpleMI"], **kw)
    assert "reusing 3 stored fold result(s)" in capsys.readouterr().out
    # another version: nothing is reused, the old rows stay in the file but are not returned
    monkeypatch.setattr(skmil, "__version__", "99.0")
    again = run_benchmark(["SimpleMI"], **kw)
    said = capsys.readouterr().out
    assert "reusing 0 stored" in said and "3 stored row(s) of another skmil version" in said
    assert {r["skmil_version"] for r in again} == {"99.0"} and len(again) == 3
    with open(os.path.join(out, "results.csv")) as fh:
        assert len(list(csv.DictReader(fh))) == 6
    # a changed default changes the hash although the recorded params ("{}") do not
    assert params_hash("SimpleMI") != params_hash("SimpleMI", {"standardize": False})
    # the hash is the same in a fresh process (no memory addresses in it)
    code = "from skmil.benchmark import params_hash; print(params_hash('SimpleMI'))"
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.strip()
    assert fresh == params_hash("SimpleMI")


def test_benchmark_rewrites_an_old_header_and_reruns_its_cells(tmp_path, capsys):
    out = tmp_path / "bench"
    out.mkdir()
    old = ["estimator", "dataset", "repeat", "fold", "seed", "n_splits", "tuned", "params",
           "accuracy", "auc", "fit_time", "predict_time", "n_train", "n_test", "best_params",
           "skmil_version", "timestamp"]
    with open(out / "results.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(old)
        w.writerow(["SimpleMI", "musk1", "0", "0", "0", "3", "0", "{}", "1.0", "1.0", "0.1",
                    "0.1", "61", "31", "", "0.1.0", "t"])
    rows = run_benchmark(["SimpleMI"], ["musk1"], n_splits=3, n_repeats=1, out_dir=str(out),
                         n_jobs=1, progress=False)
    assert len(rows) == 3 and "1 stored row(s)" in capsys.readouterr().out
    with open(out / "results.csv") as fh:
        every = list(csv.DictReader(fh))
    assert len(every) == 4 and every[0]["params_hash"] == ""


def test_summarize_times_from_one_repetition():
    def row(repeat, fold, acc, fit):
        return {"estimator": "E", "dataset": "d", "repeat": str(repeat), "fold": str(fold),
                "accuracy": str(acc), "n_test": "10", "auc": "0.5", "fit_time": str(fit),
                "predict_time": str(fit / 10)}

    rows = [row(0, 0, 1.0, 2.0), row(0, 1, 0.5, 4.0), row(1, 0, 0.5, 10.0), row(1, 1, 0.5, 30.0)]
    every = summarize(rows)[("E", "d")]
    first = summarize(rows, time_repeat="0")[("E", "d")]
    assert every["fit_time"] == pytest.approx(11.5) and first["fit_time"] == pytest.approx(3.0)
    assert first["predict_time"] == pytest.approx(0.3)
    # accuracy still over both repetitions: (0.75 + 0.5) / 2
    assert first["accuracy_mean"] == every["accuracy_mean"] == pytest.approx(0.625)
    assert first["n_repeats"] == 2


def test_benchmark_cli_quick_subset_with_tuning(tmp_path, capsys):
    from skmil.benchmark import main as bench_main

    out = str(tmp_path / "b")
    assert bench_main(["--estimators", "SIL", "--datasets", "musk1", "--cv", "3",
                       "--repeats", "1", "--tune", "--out", out, "--n-jobs", "1",
                       "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "nested inner-CV" in text and "SIL" in text
    with open(os.path.join(out, "results.csv")) as fh:
        rows = list(csv.DictReader(fh))
    assert all(r["best_params"].startswith("{") for r in rows)
    assert os.path.exists(os.path.join(out, "results.md"))
    assert os.path.exists(os.path.join(out, "accuracy.png"))


def test_benchmark_custom_tuning_grid(tmp_path, capsys):
    from skmil.benchmark import main as bench_main

    out = str(tmp_path / "g")
    args = ["--estimators", "SIL", "--datasets", "musk1", "--cv", "3", "--repeats", "1",
            "--tune", "--out", out, "--n-jobs", "1", "--no-progress"]
    assert bench_main(args + ["--grid", '{"C": [0.5, 2.0]}']) == 0
    with open(os.path.join(out, "results.csv")) as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3
    for r in rows:
        assert json.loads(r["params"])["tune_grid"] == {"C": [0.5, 2.0]}
        assert json.loads(r["best_params"])["C"] in (0.5, 2.0)
    # another grid is another cell: it runs instead of resuming the first one's rows
    assert bench_main(args + ["--grid", '{"C": [8.0]}']) == 0
    with open(os.path.join(out, "results.csv")) as fh:
        assert len(list(csv.DictReader(fh))) == 6
    capsys.readouterr()
    for bad in (['--grid', '{"C": [1]}'], ["--tune", "--grid", "[1, 2]"],
                ["--tune", "--grid", "{C: 1}"]):
        with pytest.raises(SystemExit):
            bench_main(["--estimators", "SIL", "--out", out, *bad])
    with pytest.raises(ValueError, match="not parameters of SIL"):
        run_benchmark(["SIL"], ["musk1"], n_splits=3, n_repeats=1, tune=True,
                      grid={"n_clusters": [2]}, out_dir=out, progress=False, n_jobs=1)


def test_digits_benchmark(tmp_path):
    rows = run_digits_benchmark(["SIL"], n_train=[40], bag_sizes=[5], n_test=60, n_repeats=1,
                                out_dir=str(tmp_path), progress=False, n_jobs=1)
    assert len(rows) == 1
    assert float(rows[0]["bag_auc"]) > 0.6 and float(rows[0]["instance_auc"]) > 0.6
    assert os.path.exists(tmp_path / "digits.md")


def test_digits_table_cells():
    def row(auc, inst="nan", n=50):
        return {"estimator": "SIL", "n_train": n, "bag_size": 10, "bag_auc": auc,
                "instance_auc": inst}

    table = digits_table([row("0.8", "0.9"), row("0.9", "0.7"), row("0.975", n=300)])
    line = table.splitlines()[2]
    assert "0.850 ± 0.050 (inst 0.800)" in line
    # a single draw: no spread to show, and marked as fewer than the others
    assert line.endswith("| 0.975 [1x] |")


def test_digits_cli_runs_only_the_chosen_cells(tmp_path):
    from skmil.benchmark import main as bench_main

    assert bench_main(["--digits", "--estimators", "SimpleMI", "--train-bags", "30",
                       "--bag-sizes", "4", "6", "--repeats", "1", "--out", str(tmp_path),
                       "--n-jobs", "1", "--no-progress"]) == 0
    with open(tmp_path / "digits_results.csv") as fh:
        cells = sorted((r["n_train"], r["bag_size"]) for r in csv.DictReader(fh))
    assert cells == [("30", "4"), ("30", "6")]


def test_benchmark_params_override_is_recorded_and_kept_apart(tmp_path):
    out = str(tmp_path / "bench")
    kw = dict(datasets=["musk1"], n_splits=3, n_repeats=1, out_dir=out, n_jobs=1,
              progress=False)
    default = run_benchmark(["SimpleMI"], **kw)
    variant = run_benchmark(["SimpleMI"], params={"statistics": ("mean",)}, **kw)
    assert {r["params"] for r in default} == {"{}"}
    assert {r["params"] for r in variant} == {'{"statistics": ["mean"]}'}
    with open(os.path.join(out, "results.csv")) as fh:
        assert len(list(csv.DictReader(fh))) == 6  # both variants, neither skipped
    # the variant really ran with its parameters: mean-only summaries score differently
    assert [r["accuracy"] for r in variant] != [r["accuracy"] for r in default]
    with pytest.raises(ValueError, match="SimpleMI has no parameter.*threshold"):
        run_benchmark(["SimpleMI"], params={"threshold": "auto"}, **kw)


def test_digits_params_column_and_old_files(tmp_path):
    path = tmp_path / "digits_results.csv"
    old_header = ["estimator", "n_train", "bag_size", "repeat", "bag_auc", "instance_auc",
                  "accuracy", "fit_time"]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(old_header)
        w.writerow(["SimpleMI", "30", "4", "0", "0.7", "nan", "0.6", "0.1"])
    kw = dict(n_train=[30], bag_sizes=[4], n_test=40, n_repeats=1, out_dir=str(tmp_path),
              progress=False, n_jobs=1)
    rows = run_digits_benchmark(["SimpleMI"], **kw)  # the old row is the default: no run
    assert [(r["bag_auc"], r["params"]) for r in rows] == [("0.7", "{}")]
    rows = run_digits_benchmark(["SimpleMI"], params={"statistics": ("max",)}, **kw)
    assert len(rows) == 1 and rows[0]["params"] == '{"statistics": ["max"]}'
    with open(path) as fh:
        every = list(csv.DictReader(fh))
    assert len(every) == 2 and {r["params"] for r in every} == {"{}", rows[0]["params"]}


def test_benchmark_cli_param_option(tmp_path, capsys):
    from skmil.benchmark import main as bench_main

    out = str(tmp_path / "b")
    assert bench_main(["--estimators", "SimpleMI", "--datasets", "musk1", "--cv", "3",
                       "--repeats", "1", "--param", "standardize=False", "--out", out,
                       "--n-jobs", "1", "--no-progress"]) == 0
    with open(os.path.join(out, "results.csv")) as fh:
        assert {r["params"] for r in csv.DictReader(fh)} == {'{"standardize": false}'}
    with pytest.raises(SystemExit):
        bench_main(["--estimators", "SimpleMI", "--param", "standardize", "--out", out])


def test_assumptions_benchmark_rows_resume_and_table(tmp_path):
    from skmil.benchmark import ASSUMPTIONS, assumptions_table, run_assumptions_benchmark

    kw = dict(n_train=40, n_test=40, n_repeats=1, out_dir=str(tmp_path), progress=False,
              n_jobs=1)
    rows = run_assumptions_benchmark(["SimpleMI"], **kw)
    assert sorted(r["assumption"] for r in rows) == sorted(ASSUMPTIONS)
    for r in rows:
        assert 0.0 <= float(r["accuracy"]) <= 1.0 and 0.0 <= float(r["bag_auc"]) <= 1.0
        assert np.isnan(float(r["instance_auc"]))  # SimpleMI has no instance scores
    # a second call reuses the stored rows instead of refitting
    with open(tmp_path / "assumptions_results.csv") as fh:
        n_lines = len(fh.readlines())
    again = run_assumptions_benchmark(["SimpleMI"], **kw)
    with open(tmp_path / "assumptions_results.csv") as fh:
        assert len(fh.readlines()) == n_lines
    assert [r["accuracy"] for r in again] == [r["accuracy"] for r in rows]
    sil = run_assumptions_benchmark(["SIL"], **kw)
    assert all(0.0 <= float(r["instance_auc"]) <= 1.0 for r in sil)
    table = assumptions_table(rows + sil)
    assert table.splitlines()[0] == "| estimator | standard | presence | threshold |"
    assert len(table.splitlines()) == 4


def test_benchmark_cli_refuses_digits_with_assumptions(capsys):
    from skmil.benchmark import main

    with pytest.raises(SystemExit) as exc:
        main(["--digits", "--assumptions"])
    assert exc.value.code == 2
    assert "choose one" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--labelled-fractions", "0", "0.2", "--digits"], "of its own"),
    (["--labelled-fractions", "0", "1.5"], r"\[0, 1\]"),
    (["--labelled-fractions", "0.2", "--estimators", "SimpleMI"], "instance_labels"),
])
def test_benchmark_cli_refuses_bad_labelled_fractions(argv, message, capsys, tmp_path):
    from skmil.benchmark import main

    with pytest.raises(SystemExit) as exc:
        main([*argv, "--out", str(tmp_path), "--no-progress", "--n-jobs", "1"])
    assert exc.value.code == 2
    assert re.search(message, capsys.readouterr().err)


def test_mnist_bags_comparison_pairs_published_and_skmil_cells():
    from skmil.benchmark import mnist_bags_comparison_table, published_mnist_bags_auc

    pub = published_mnist_bags_auc()
    assert len(pub) == 72 and {(r["n_train_bags"], r["mean_bag_size"]) for r in pub} == {
        (n, b) for n in (50, 100, 300) for b in (10, 50, 100)}
    rows = [{"estimator": "AttentionMIL", "n_train": 50, "bag_size": 10, "bag_auc": a}
            for a in (0.8, 0.9)]
    table = mnist_bags_comparison_table(rows).splitlines()
    assert table[0].startswith("| method (skmil) | 50 bags, size 10 | 100 bags, size 10")
    att = next(line for line in table if line.startswith("| AbMILP (AttentionMIL)"))
    cells = [c.strip() for c in att.strip("|").split("|")][1:]
    assert cells[0] == "0.768 / 0.850" and cells[1] == "0.948 / -"


def test_positive_fraction_benchmark_rows_resume_and_table(tmp_path):
    from skmil.benchmark import positive_fraction_table, run_positive_fraction_benchmark

    kw = dict(fractions=[0.2, 0.8], n_train=20, bag_size=5, n_test=40, n_repeats=1,
              out_dir=str(tmp_path), progress=False, n_jobs=1)
    rows = run_positive_fraction_benchmark(["SimpleMI", "SIL"], **kw)
    assert sorted((r["estimator"], float(r["fraction"])) for r in rows) == [
        ("SIL", 0.2), ("SIL", 0.8), ("SimpleMI", 0.2), ("SimpleMI", 0.8)]
    for r in rows:
        assert 0.0 <= float(r["bag_auc"]) <= 1.0 and 0.0 <= float(r["accuracy"]) <= 1.0
        assert np.isnan(float(r["instance_auc"])) == (r["estimator"] == "SimpleMI")
    path = tmp_path / "positive_fraction_results.csv"
    n_lines = len(path.read_text().splitlines())
    run_positive_fraction_benchmark(["SimpleMI", "SIL"], **kw)
    assert len(path.read_text().splitlines()) == n_lines
    table = positive_fraction_table(rows)
    lines = table.splitlines()
    assert "80 % positive" in lines[0] and lines[2].startswith("| SimpleMI |")
    # a bag AUC below SimpleMI's is starred, SimpleMI's own never
    ref = {float(r["fraction"]): float(r["bag_auc"]) for r in rows if r["estimator"] == "SimpleMI"}
    sil = {float(r["fraction"]): float(r["bag_auc"]) for r in rows if r["estimator"] == "SIL"}
    assert ("*" in lines[3].split("|")[2]) == (sil[0.2] < ref[0.2])
    assert "*" not in lines[2]
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        run_positive_fraction_benchmark(["SIL"], **dict(kw, fractions=[0.0]))


def test_positive_fraction_table_flags_low_instance_auc():
    from skmil.benchmark import positive_fraction_table

    rows = [dict(estimator=e, fraction=0.5, accuracy=0.8, bag_auc=b, instance_auc=i)
            for e, b, i in [("SimpleMI", 0.9, float("nan")), ("SIL", 0.95, 0.65),
                            ("MISVM", 0.85, 0.9)]]
    lines = positive_fraction_table(rows).splitlines()
    cells = {ln.split("|")[1].strip(): ln.split("|")[2].strip() for ln in lines[2:]}
    assert cells == {"SimpleMI": "0.800 / 0.900 / –", "SIL": "0.800 / 0.950 / 0.650!",
                     "MISVM": "0.800 / 0.850* / 0.900"}


def test_benchmark_cli_refuses_bad_positive_fractions(capsys, tmp_path):
    from skmil.benchmark import main

    for argv, message in [(["--positive-fractions", "0.5", "--digits"], "of its own"),
                          (["--positive-fractions", "1.0", "--estimators", "SIL"], r"\(0, 1\)")]:
        with pytest.raises(SystemExit) as exc:
            main([*argv, "--out", str(tmp_path), "--no-progress", "--n-jobs", "1"])
        assert exc.value.code == 2
        assert re.search(message, capsys.readouterr().err)


def test_defaults_report_compares_with_simplemi_and_flags(tmp_path, capsys):
    import csv

    from skmil.benchmark import DATASET_ORDER, defaults_report, main

    classic = [dict(estimator=e, dataset=d, accuracy=a + 0.01 * k)
               for e, a in [("SimpleMI", 0.8), ("SIL", 0.7), ("MISVM", 0.9)]
               for k, d in enumerate(DATASET_ORDER)]
    classic += [dict(estimator="MICA", dataset="musk1", accuracy=0.99)]  # not all five sets
    digits = [dict(estimator="SimpleMI", bag_auc=0.8, instance_auc="nan"),
              dict(estimator="SIL", bag_auc=0.9, instance_auc=0.6),
              dict(estimator="SIL", bag_auc=1.0, instance_auc=0.8)]
    fractions = [dict(estimator="SimpleMI", fraction=0.8, bag_auc=0.7, instance_auc="nan"),
                 dict(estimator="SIL", fraction=0.8, bag_auc=0.6, instance_auc=0.65)]
    table = defaults_report(classic, digits, fractions)
    rows = {ln.split("|")[1].strip(): [c.strip() for c in ln.split("|")[2:-1]]
            for ln in table.splitlines()[2:]}
    assert list(rows)[0] == "SimpleMI"
    assert rows["SimpleMI"] == ["0.820", "0.800", "–", "0.700", "–", "0"]
    assert rows["SIL"] == ["0.720*", "0.950", "0.700", "0.600*", "0.650!", "3"]
    assert rows["MISVM"] == ["0.920", "–", "–", "–", "–", "0"]
    assert "MICA" not in rows  # rows on one set only: no classic mean
    # the CLI reads the CSVs of a directory
    for name, data in [("results.csv", classic), ("digits_results.csv", digits)]:
        with open(tmp_path / name, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=sorted({k for r in data for k in r}))
            w.writeheader()
            w.writerows(data)
    assert main(["--defaults-report", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| SIL | 0.720* | 0.950 | 0.700 | 1 |" in out
    with pytest.raises(SystemExit):
        main(["--defaults-report", str(tmp_path / "missing")])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SystemExit):
        main(["--defaults-report", str(empty)])
    assert "no result CSV" in capsys.readouterr().err


def test_cli_lists_regressors_and_evaluate_refuses_them(capsys):
    assert main(["estimators", "--type", "regressor"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Regressors") and "  MIKernelSVR " in out and "  SIL " not in out
    assert main(["evaluate", "--estimator", "MIKernelSVR", "--dataset", "musk1"]) == 2
    err = capsys.readouterr().err
    assert "MIKernelSVR is a regressor, not a classifier" in err
    assert len(err.strip().splitlines()) == 1


def test_regression_benchmark_rows_resume_and_table(tmp_path):
    from skmil.benchmark import REGRESSION_RULES, regression_table, run_regression_benchmark

    kw = dict(n_train=30, n_test=30, n_repeats=1, out_dir=str(tmp_path), progress=False,
              n_jobs=1)
    rows = run_regression_benchmark(["CitationKNNRegressor", "MIKernelSVR"], **kw)
    assert len(rows) == 2 * len(REGRESSION_RULES)
    for r in rows:
        assert np.isfinite(float(r["r2"])) and float(r["r2"]) <= 1.0
        corr = float(r["instance_corr"])
        if r["estimator"] == "MIKernelSVR":
            assert -1.0 <= corr <= 1.0
        else:
            assert np.isnan(corr)  # no instance predictions
    with open(tmp_path / "regression_results.csv") as fh:
        n_lines = len(fh.readlines())
    again = run_regression_benchmark(["CitationKNNRegressor", "MIKernelSVR"], **kw)
    with open(tmp_path / "regression_results.csv") as fh:
        assert len(fh.readlines()) == n_lines
    assert sorted(r["r2"] for r in again) == sorted(r["r2"] for r in rows)
    table = regression_table(rows)
    assert table.splitlines()[0] == "| estimator | bag = max | bag = mean | bag = sum |"
    assert "instance r" in table.splitlines()[3]  # MIKernelSVR's row
    with pytest.raises(ValueError, match="SIL is not a MIL regressor"):
        run_regression_benchmark(["SIL"], **kw)


def test_multiclass_benchmark_rows_and_table(tmp_path):
    from skmil.benchmark import multiclass_estimators, multiclass_table, run_multiclass_benchmark

    kw = dict(n_train=40, n_test=40, n_repeats=1, out_dir=str(tmp_path), progress=False,
              n_jobs=1)
    rows = run_multiclass_benchmark(["SimpleMI", "SIL"], **kw)
    by = {r["estimator"]: r for r in rows}
    assert by["SimpleMI"]["how"] == "native" and by["SIL"]["how"] == "one-vs-rest"
    assert np.isnan(float(by["SimpleMI"]["instance_auc"]))
    assert 0.0 <= float(by["SIL"]["instance_auc"]) <= 1.0
    for r in rows:
        assert 0.0 <= float(r["accuracy"]) <= 1.0 and 0.0 <= float(r["bag_auc"]) <= 1.0
    table = multiclass_table(rows)
    assert table.splitlines()[0].startswith("| estimator | how | accuracy")
    assert "SimpleMI" in multiclass_estimators() and "MISVM" in multiclass_estimators()
    with pytest.raises(ValueError, match="not a MIL classifier"):
        run_multiclass_benchmark(["MIKernelSVR"], **kw)
