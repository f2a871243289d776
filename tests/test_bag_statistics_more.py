"""BagStatistics' median, geomean, midrange, range and minmax against per-bag numpy loops."""

from __future__ import annotations

import numpy as np
import pytest

from skmil.embedding.statistics import BagStatistics, SimpleMI

_REFERENCE = {
    "mean": lambda B: B.mean(axis=0),
    "min": lambda B: B.min(axis=0),
    "max": lambda B: B.max(axis=0),
    "std": lambda B: B.std(axis=0),
    "median": lambda B: np.median(B, axis=0),
    "geomean": lambda B: np.exp(np.log(B).mean(axis=0)),
    "midrange": lambda B: (B.min(axis=0) + B.max(axis=0)) / 2,
    "range": lambda B: B.max(axis=0) - B.min(axis=0),
}
_ORDER = ("mean", "min", "max", "std", "median", "geomean", "midrange", "range")


def _bags(seed=0, n_bags=12, d=3):
    rng = np.random.RandomState(seed)
    # sizes 1..6: odd and even counts for the median, one-instance bags for the range
    return [rng.uniform(0.5, 4.0, size=(1 + i % 6, d)) for i in range(n_bags)]


@pytest.mark.parametrize("stat", ["median", "geomean", "midrange", "range"])
def test_each_new_statistic_matches_a_per_bag_loop(stat):
    bags = _bags()
    out = BagStatistics(statistics=stat).fit_transform(bags)
    np.testing.assert_allclose(out, [_REFERENCE[stat](B) for B in bags], rtol=1e-12)


def test_blocks_follow_the_fixed_output_order_whatever_the_listing():
    bags = _bags(seed=1)
    listed = ("range", "geomean", "std", "median", "max", "midrange", "mean", "min")
    est = BagStatistics(statistics=listed).fit(bags)
    assert est.statistics_ == _ORDER
    expected = np.array([np.concatenate([_REFERENCE[s](B) for s in _ORDER]) for B in bags])
    np.testing.assert_allclose(est.transform(bags), expected, rtol=1e-12)
    names = est.get_feature_names_out(["a", "b", "c"])
    assert list(names[:3]) == ["mean_a", "mean_b", "mean_c"]
    assert list(names[-3:]) == ["range_a", "range_b", "range_c"]
    assert len(names) == expected.shape[1]


def test_minmax_is_the_min_block_then_the_max_block():
    bags = _bags(seed=2)
    est = BagStatistics(statistics="minmax").fit(bags)
    assert est.statistics_ == ("min", "max")
    expected = [np.concatenate([B.min(axis=0), B.max(axis=0)]) for B in bags]
    np.testing.assert_allclose(est.transform(bags), expected)
    both = BagStatistics(statistics=("minmax", "max", "median")).fit(bags)
    assert both.statistics_ == ("min", "max", "median")


def test_median_of_an_even_count_is_the_mean_of_the_middle_values():
    bag = np.array([[4.0], [1.0], [3.0], [2.0]])
    assert BagStatistics(statistics="median").fit_transform([bag])[0, 0] == 2.5


@pytest.mark.parametrize("bad", [0.0, -1.5])
def test_geomean_refuses_non_positive_values_naming_bag_row_and_feature(bad):
    bags = _bags(seed=3)
    bags[4][1, 2] = bad
    est = BagStatistics(statistics=("mean", "geomean"))
    with pytest.raises(ValueError, match=r"Bag 4, row 1, feature 2 .*positive .*Shift"):
        est.fit_transform(bags)
    # the other statistics are defined for any value
    BagStatistics(statistics=("median", "range")).fit_transform(bags)


def test_default_is_unchanged():
    bags = _bags(seed=4)
    est = BagStatistics().fit(bags)
    assert est.statistics_ == ("mean", "min", "max")
    assert SimpleMI().get_params()["statistics"] == ("mean", "min", "max")


def test_simplemi_accepts_the_new_statistics():
    rng = np.random.RandomState(0)
    bags = [rng.uniform(1.0, 2.0, size=(3, 2)) + (i % 2) for i in range(20)]
    y = np.arange(20) % 2
    clf = SimpleMI(statistics=("median", "geomean", "range")).fit(bags, y)
    assert clf.encoder_.transform(bags).shape == (20, 6)
    assert clf.score(bags, y) == 1.0


def test_simplemi_chooses_C_by_the_inner_cv():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from skmil._inner_cv import C_GRID, inner_cv_splits
    from skmil.bags import check_bags
    from skmil.datasets import make_mil_classification

    bags, y, _ = make_mil_classification(n_bags=60, class_sep=1.5, random_state=2)
    clf = SimpleMI(random_state=0).fit(bags, y)
    assert clf.C_ in C_GRID
    assert list(clf.cv_results_["param_C"]) == list(C_GRID)
    # each candidate's score is that of the standardiser + SVC on the inner folds of the
    # one embedding
    Z = BagStatistics().fit_transform(bags)
    splits = inner_cv_splits(check_bags(bags), y, 0)
    for C, score in zip(C_GRID, clf.cv_results_["mean_test_score"]):
        pipe = make_pipeline(StandardScaler(), SVC(C=C))
        acc = [np.mean(pipe.fit(Z[tr], y[tr]).predict(Z[te]) == y[te]) for tr, te in splits]
        assert score == pytest.approx(np.mean(acc))
    best = clf.cv_results_["mean_test_score"].max()
    assert clf.cv_results_["mean_test_score"][list(C_GRID).index(clf.C_)] == best
    assert clf.estimator_.C == clf.C_
    # a fixed C and a given estimator skip the search
    fixed = SimpleMI(C=10.0).fit(bags, y)
    assert fixed.C_ == 10.0 and not hasattr(fixed, "cv_results_")
    given = SimpleMI(estimator=SVC(C=3.0)).fit(bags, y)
    assert given.C_ is None and given.estimator_.C == 3.0


def test_simplemi_fast_search_equals_the_generic_pipeline_search():
    # digits bags have constant pixels (a zero-variance column of the embedding)
    from skmil.bags import check_bags
    from skmil.datasets import make_digits_bags
    from skmil.embedding._codebook import EmbeddingClassifier

    bags, y, _ = make_digits_bags(80, random_state=5)
    B = check_bags(bags)
    fast = SimpleMI(random_state=1)
    fast.classes_ = np.array([0, 1])
    _, _, chosen = fast._search(B, y, False, True)
    generic = SimpleMI(random_state=1)
    _, _, chosen_generic = EmbeddingClassifier._search(generic, B, y, False, True)
    np.testing.assert_allclose(fast.cv_results_["mean_test_score"],
                               generic.cv_results_["mean_test_score"])
    assert chosen == chosen_generic
