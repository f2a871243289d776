"""Shipped data sets and the generators."""

import numpy as np
import pytest

from skmil.datasets import (
    DATASETS,
    load_dataset,
    load_elephant,
    load_fox,
    load_musk1,
    load_musk2,
    load_tiger,
    make_digits_bags,
    make_mil_classification,
    read_mil_csv,
)

EXPECTED = {
    "musk1": (92, 47, 476, 166),
    "musk2": (102, 39, 6598, 166),
    "fox": (200, 100, 1320, 230),
    "tiger": (200, 100, 1220, 230),
    "elephant": (200, 100, 1391, 230),
}


@pytest.mark.parametrize(
    "name, loader",
    [("musk1", load_musk1), ("musk2", load_musk2), ("fox", load_fox), ("tiger", load_tiger),
     ("elephant", load_elephant)],
)
def test_loaders(name, loader):
    n_bags, n_pos, n_inst, d = EXPECTED[name]
    data = loader()
    assert len(data.data) == n_bags and int(data.target.sum()) == n_pos
    assert sum(b.shape[0] for b in data.data) == n_inst
    assert all(b.shape[1] == d for b in data.data) and len(data.feature_names) == d
    assert set(np.unique(data.target)) == {0, 1}
    assert name.upper() in data.DESCR and data.filename.endswith(f"{name}.csv.gz")
    X, y = loader(return_X_y=True)
    assert len(X) == n_bags and y.shape == (n_bags,)


def test_loaders_return_fresh_copies():
    X, y = load_musk1(return_X_y=True)
    X[0][:] = 0
    y[:] = 5
    X2, y2 = load_musk1(return_X_y=True)
    assert X2[0].any() and set(np.unique(y2)) == {0, 1}


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown data set"):
        load_dataset("mnist")
    assert set(DATASETS) == set(EXPECTED)


def test_make_mil_classification_witnesses():
    bags, y, inst = make_mil_classification(
        n_bags=400, witness_rate=0.3, bag_size=20, random_state=0
    )
    assert len(bags) == len(inst) == 400 and y.sum() == 200
    for b, yy, i in zip(bags, y, inst):
        assert b.shape[0] == i.shape[0]
        assert (i.max() == 1) == (yy == 1)
    rate = np.mean(np.concatenate([i for i, yy in zip(inst, y) if yy == 1]))
    assert abs(rate - 0.3) < 0.04
    sizes = [b.shape[0] for b in bags]
    assert abs(np.mean(sizes) - 20) < 1.5


def test_make_mil_classification_options_and_reproducibility():
    a = make_mil_classification(n_bags=10, random_state=3)
    b = make_mil_classification(n_bags=10, random_state=3)
    for x, z in zip(a[0], b[0]):
        np.testing.assert_array_equal(x, z)
    bags, _, _ = make_mil_classification(
        n_bags=50, bag_size=(2, 4), bag_size_distribution="uniform", random_state=0
    )
    assert {b.shape[0] for b in bags} <= {2, 3, 4}
    bags, _, _ = make_mil_classification(n_bags=5, bag_size=7, bag_size_distribution="fixed")
    assert {b.shape[0] for b in bags} == {7}
    _, y_noisy, inst = make_mil_classification(n_bags=400, noise=0.2, random_state=0)
    true = np.array([i.max() for i in inst])
    assert 0.1 < np.mean(true != y_noisy) < 0.3
    for bad in ({"witness_rate": 0}, {"noise": 0.6}, {"bag_size_distribution": "x"}):
        with pytest.raises(ValueError):
            make_mil_classification(n_bags=10, **bad)


def test_digits_bags_protocol():
    bags, y, inst = make_digits_bags(n_bags=40, mean_bag_size=10, std_bag_size=2, random_state=0)
    assert len(bags) == 40 and y.sum() == 20  # alternating, balanced
    for b, yy, i in zip(bags, y, inst):
        assert b.shape[1] == 64 and b.shape[0] >= 1 and 0 <= b.min() and b.max() <= 1
        assert (i.max() == 1) == (yy == 1)
    # train and test pools never share an image
    tr, _, _ = make_digits_bags(n_bags=200, pool="train", random_state=1)
    te, _, _ = make_digits_bags(n_bags=200, pool="test", random_state=1)
    rows_tr = {r.tobytes() for b in tr for r in b}
    rows_te = {r.tobytes() for b in te for r in b}
    # identical pixel images can exist in both halves of load_digits; allow only a few
    assert len(rows_tr & rows_te) < 5
    with pytest.raises(ValueError, match="pool"):
        make_digits_bags(pool="val")


@pytest.mark.parametrize(("fraction", "n_pos"), [(0.2, 10), (0.8, 40), (0.001, 1), (0.999, 49)])
def test_digits_bags_positive_fraction(fraction, n_pos):
    bags, y, inst = make_digits_bags(n_bags=50, positive_fraction=fraction, random_state=3)
    assert y.sum() == n_pos
    assert all((i.max() == 1) == (t == 1) for i, t in zip(inst, y))
    with pytest.raises(ValueError, match="positive_fraction"):
        make_digits_bags(n_bags=10, positive_fraction=1.0)


def _reference_read(path):
    """An independent reading of a shipped file with the standard library's csv module."""
    import csv
    import gzip

    with gzip.open(path, "rt", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    feats = [k for k, c in enumerate(header) if c not in ("bag_id", "bag_label")]
    order, bags, labels = [], {}, {}
    for row in body:
        bag = row[header.index("bag_id")]
        if bag not in bags:
            order.append(bag)
            bags[bag] = []
            labels[bag] = int(row[header.index("bag_label")])
        bags[bag].append([float(row[k]) for k in feats])
    return [np.array(bags[b]) for b in order], np.array([labels[b] for b in order]), [
        header[k] for k in feats
    ]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_pandas_reader_gives_the_arrays_of_a_plain_csv_reading(name):
    data = load_dataset(name)
    bags, y, names = _reference_read(data.filename)
    assert data.feature_names == names and data.target.dtype == np.int64
    np.testing.assert_array_equal(data.target, y)
    assert len(data.data) == len(bags)
    for got, want in zip(data.data, bags):
        np.testing.assert_array_equal(got, want)


def _write(tmp_path, text, name="bags.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_read_mil_csv_takes_bom_quotes_spaces_and_blank_lines(tmp_path):
    text = ('\ufeffbag_id, bag_label, f0, f1\n"a,1", 1, "0.5", 2\n\n'
            '"a,1", 1, 0.7, "3"\nb, 0, -1e-3, 4\n')
    bags, y, names, ids = read_mil_csv(_write(tmp_path, text), return_ids=True)
    assert names == ["f0", "f1"] and ids.tolist() == ["a,1", "b"] and y.tolist() == [1, 0]
    np.testing.assert_array_equal(bags[0], [[0.5, 2.0], [0.7, 3.0]])
    np.testing.assert_array_equal(bags[1], [[-1e-3, 4.0]])


def test_read_mil_csv_keeps_text_labels_and_ids_as_written(tmp_path):
    text = "bag_id,bag_label,f0\n007,pos,1\n7,neg,2\n007,pos,3\n"
    bags, y, _, ids = read_mil_csv(_write(tmp_path, text), return_ids=True)
    assert ids.tolist() == ["007", "7"] and y.tolist() == ["pos", "neg"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "is empty"),
        ("bag_id,bag_label,f0\n", "header but no data rows"),
        ("bag,bag_label,f0\n1,0,1\n", "no column 'bag_id'"),
        ("bag_id,bag_label\n1,0\n", "no feature columns"),
        ("bag_id,bag_label,f0\na,0,1\n,0,2\n", r"1 row\(s\) have no bag id .*line 3"),
        ("bag_id,bag_label,f0\na,0,1\nb,,2\n", "no label in column 'bag_label' .line 3"),
        ("bag_id,bag_label,f0\na,0,1\na,1,2\n", "bag 'a' has two labels, '0' on line 2 and "
         "'1' on line 3"),
        ("bag_id,bag_label,f0,f1\na,0,1,2\na,0,,3\n", "column 'f0' has a missing value on "
         "line 3"),
        ("bag_id,bag_label,f0,f1\na,0,1,2\na,0,3,x\n", "column 'f1' holds the non-numeric "
         "value 'x' on line 3"),
        ('bag_id,bag_label,f0\na,0,"4,5"\n', "non-numeric value '4,5' on line 2"),
        ("bag_id,bag_label,f0\na,0,1\nb,1,2,3\n", "not a well-formed CSV"),
    ],
    ids=["empty", "header_only", "no_bag_column", "no_features", "missing_id",
         "missing_label", "two_labels", "missing_value", "text_value", "quoted_comma",
         "ragged"],
)
def test_read_mil_csv_errors_name_column_and_line(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        read_mil_csv(_write(tmp_path, text))


def test_read_mil_csv_allow_nan_and_parquet(tmp_path):
    pd = pytest.importorskip("pandas")
    text = "bag_id,bag_label,f0,f1\na,0,1,2\na,0,,3\nb,1,4,5\n"
    bags, y, _ = read_mil_csv(_write(tmp_path, text), allow_nan=True)
    assert np.isnan(bags[0][1, 0]) and y.tolist() == [0, 1]
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"bag": ["a", "a", "b"], "y": [0, 0, 1], "f0": [1.0, np.nan, 4.0]})
    path = tmp_path / "bags.parquet"
    frame.to_parquet(path)
    with pytest.raises(ValueError, match="column 'f0' has a missing value on row 1"):
        read_mil_csv(path, bag_col="bag", label_col="y")
    bags, y, names = read_mil_csv(path, bag_col="bag", label_col="y", allow_nan=True)
    assert names == ["f0"] and y.tolist() == [0, 1] and bags.sizes.tolist() == [2, 1]


@pytest.mark.parametrize("rule", ["max", "mean", "sum"])
def test_make_mil_regression_bag_targets_follow_the_rule(rule):
    from skmil.datasets import make_mil_regression

    bags, y, t, coef = make_mil_regression(n_bags=30, n_features=6, n_informative=3,
                                           rule=rule, return_coef=True, random_state=1)
    combine = {"max": np.max, "mean": np.mean, "sum": np.sum}[rule]
    assert y.dtype == np.float64 and y.shape == (30,)
    np.testing.assert_allclose(y, [combine(ti) for ti in t])
    for b, ti in zip(bags, t):
        assert b.shape == (ti.shape[0], 6)
        np.testing.assert_allclose(ti, b @ coef)
    assert np.count_nonzero(coef) == 3 and np.isclose(np.linalg.norm(coef), 1.0)
    # noise moves the bag targets only, reproducibly
    _, y_noisy, t_noisy = make_mil_regression(n_bags=30, n_features=6, n_informative=3,
                                              rule=rule, noise=0.5, random_state=1)
    _, y_again, _ = make_mil_regression(n_bags=30, n_features=6, n_informative=3,
                                        rule=rule, noise=0.5, random_state=1)
    np.testing.assert_array_equal(y_noisy, y_again)
    assert all(np.array_equal(a, b) for a, b in zip(t, t_noisy))
    assert 0.2 < np.std(y_noisy - y) < 0.8


@pytest.mark.parametrize("kw, message", [
    ({"rule": "median"}, "rule"),
    ({"n_informative": 0}, "n_informative"),
    ({"n_informative": 11}, "n_informative"),
    ({"noise": -1.0}, "noise"),
    ({"n_bags": 0}, "n_bags"),
])
def test_make_mil_regression_rejects_bad_arguments(kw, message):
    from skmil.datasets import make_mil_regression

    with pytest.raises(ValueError, match=message):
        make_mil_regression(**kw)


def test_multiclass_generator_gives_each_class_its_own_witnesses():
    import numpy as np

    from skmil.datasets import make_mil_classification

    bags, y, inst, concepts = make_mil_classification(
        n_bags=90, n_classes=4, positive_fraction=0.6, return_concepts=True,
        random_state=0)
    assert np.bincount(y).tolist() == [36, 18, 18, 18]
    for lab, i, c in zip(y, inst, concepts):
        assert set(i.tolist()) <= {0, lab} and (lab == 0 or (i == lab).any())
        np.testing.assert_array_equal(c, np.where(i > 0, lab - 1, -1))
    # the binary output is unchanged by the new parameter
    a = make_mil_classification(n_bags=20, random_state=3)
    b = make_mil_classification(n_bags=20, random_state=3, n_classes=2)
    np.testing.assert_array_equal(a[1], b[1])
    for p, q in zip(a[0], b[0]):
        np.testing.assert_array_equal(p, q)
    with pytest.raises(ValueError, match="assumption='standard'"):
        make_mil_classification(n_bags=20, n_classes=3, assumption="presence")
    with pytest.raises(ValueError, match="n_classes"):
        make_mil_classification(n_bags=20, n_classes=1)


def test_multiclass_digits_bags_hold_their_class_digit_only():
    import numpy as np

    from skmil.datasets import make_digits_bags

    bags, y, inst = make_digits_bags(n_bags=30, target=(3, 5, 8), random_state=0)
    np.testing.assert_array_equal(y, np.arange(30) % 4)
    for lab, i in zip(y, inst):
        assert set(i.tolist()) <= {0, lab} and (lab == 0 or (i == lab).any())
    _, y2, _ = make_digits_bags(n_bags=40, target=[1, 2], positive_fraction=0.75,
                                random_state=0)
    assert np.bincount(y2).tolist() == [10, 15, 15]
    with pytest.raises(ValueError, match="distinct digits"):
        make_digits_bags(n_bags=4, target=(3, 3))
