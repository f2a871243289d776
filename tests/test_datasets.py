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
