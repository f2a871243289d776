"""SIL, BagStatistics / SimpleMI, InstanceTransformer and the segment kernels."""

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmil._kernels.segments import (
    bag_statistics,
    segment_argmax,
    segment_logsumexp,
    segment_max,
    segment_mean,
)
from skmil.bags import check_bags
from skmil.embedding import BagStatistics, SimpleMI
from skmil.preprocessing import InstanceTransformer
from skmil.svm import SIL


@pytest.fixture(scope="module")
def problem(mil_problem):
    return mil_problem(n_bags=60, n_features=5, class_sep=5.0, random_state=2)


def test_segment_kernels_match_loops():
    rng = np.random.RandomState(0)
    bags = check_bags([rng.normal(size=(n, 4)) for n in (1, 5, 3, 2)])
    v = rng.normal(size=bags.n_instances)
    parts = bags.split(v)
    np.testing.assert_allclose(segment_max(v, bags.offsets), [p.max() for p in parts])
    np.testing.assert_allclose(segment_mean(v, bags.offsets), [p.mean() for p in parts])
    np.testing.assert_allclose(
        segment_logsumexp(v, bags.offsets), [np.log(np.mean(np.exp(p))) for p in parts]
    )
    np.testing.assert_array_equal(
        segment_argmax(v, bags.offsets), [o + p.argmax() for o, p in zip(bags.offsets, parts)]
    )
    stats = bag_statistics(bags.instances, bags.offsets, ("mean", "min", "max", "std"))
    ref = np.array([np.r_[b.mean(0), b.min(0), b.max(0), b.std(0)] for b in bags])
    np.testing.assert_allclose(stats, ref, atol=1e-12)


def test_bag_statistics_order_and_names():
    bags = [np.array([[0.0, 1.0], [2.0, 5.0]])]
    t = BagStatistics(statistics=("max", "mean")).fit(bags)
    np.testing.assert_array_equal(t.transform(bags), [[1.0, 3.0, 2.0, 5.0]])
    assert list(t.get_feature_names_out()) == ["mean_f0", "mean_f1", "max_f0", "max_f1"]
    np.testing.assert_array_equal(BagStatistics(statistics="std").fit_transform(bags), [[1.0, 2.0]])
    with pytest.raises(ValueError, match="statistics"):
        BagStatistics(statistics=("mode",)).fit(bags)


def test_bag_statistics_in_a_pipeline_is_simple_mi(problem):
    bags, y, _ = problem
    from sklearn.svm import SVC

    clf = SimpleMI().fit(bags, y)
    # SimpleMI fits on the bags in skmil's canonical order (libsvm's solution moves by
    # ~1e-3 with the order of its samples), so the pipeline gets the same order
    order = clf._train_order
    pipe = make_pipeline(BagStatistics(), StandardScaler(), SVC()).fit(
        [bags[i] for i in order], np.asarray(y)[order])
    np.testing.assert_allclose(pipe.decision_function(bags), clf.decision_function(bags))


def test_sil_pools_instance_scores(problem):
    bags, y, inst = problem
    for pooling in ("max", "mean", "lse"):
        clf = SIL(pooling=pooling).fit(bags, y)
        s_inst = clf.decision_function_instances(bags)
        want = {
            "max": [s.max() for s in s_inst],
            "mean": [s.mean() for s in s_inst],
            "lse": [np.log(np.mean(np.exp(s))) for s in s_inst],
        }[pooling]
        np.testing.assert_allclose(clf.decision_function(bags), want, rtol=1e-10)
    clf = SIL().fit(bags, y)
    # well separated witnesses: instance scores rank witnesses first
    auc = roc_auc_score(np.concatenate(inst), np.concatenate(clf.decision_function_instances(bags)))
    assert auc > 0.95


@pytest.mark.parametrize("kernel", ["rbf", "linear", "poly", "sigmoid"])
def test_sil_scores_are_the_svcs_decision_values(problem, kernel):
    from sklearn.svm import SVC

    bags, y, _ = problem
    X = np.vstack(bags)
    clf = SIL(kernel=kernel, gamma="scale", degree=2, coef0=0.5, threshold=0.3,
              solver="libsvm").fit(bags, y)
    # the built-in SVC, fitted as sklearn would with gamma="scale" on the training bags
    # in the canonical order the estimator fits them in (libsvm's solution moves within
    # its tolerance with the order of the examples) ...
    order = clf._train_order
    ref = SVC(kernel=kernel, gamma="scale", degree=2, coef0=0.5)
    ref.fit(np.vstack([bags[i] for i in order]), np.repeat(y[order], [len(bags[i]) for i in order]))
    np.testing.assert_allclose(clf.estimator_.decision_function(X), ref.decision_function(X),
                               rtol=1e-9, atol=1e-9)
    # ... and skmil's kernel expansion of it gives its decision values
    got = np.concatenate(clf.decision_function_instances(bags)) + 0.3
    np.testing.assert_allclose(got, ref.decision_function(X), rtol=1e-9, atol=1e-9)


def test_sil_precomputed_kernel_equals_rbf(problem):
    from sklearn.metrics.pairwise import rbf_kernel
    from sklearn.svm import SVC

    from skmil.bags import Bags, check_bags

    bags, y, _ = problem
    B = check_bags(bags)
    K = Bags(rbf_kernel(B.instances, B.instances, gamma=0.3), B.offsets)
    tr, te = np.arange(0, len(bags), 2), np.arange(1, len(bags), 2)
    # a fixed threshold: the canonical training order (and so the inner folds of
    # "auto") is computed from the bags' contents, which are kernel rows here
    # (class_weight=None: a given estimator keeps its own weights, here none)
    ref = SIL(gamma=0.3, threshold=0.2, class_weight=None).fit(B.take(tr), y[tr])
    want = ref.decision_function(B.take(te))
    for clf in (SIL(kernel="precomputed", threshold=0.2, class_weight=None),
                SIL(estimator=SVC(kernel="precomputed"), threshold=0.2)):
        clf.fit(K.take_pairwise(tr, tr), y[tr])
        # libsvm's solution moves within its tolerance with the order of the examples
        np.testing.assert_allclose(clf.decision_function(K.take_pairwise(te, tr)), want,
                                   atol=2e-3)
    with pytest.raises(ValueError, match="take_pairwise"):
        SIL(kernel="precomputed").fit(K.take(tr), y[tr])


def test_sil_with_a_probabilistic_estimator(problem):
    bags, y, _ = problem
    clf = SIL(estimator=LogisticRegression()).fit(bags, y)
    proba = clf.predict_proba(bags)
    inst_p = clf.estimator_.predict_proba(np.vstack(bags))[:, 1]  # no threshold in proba
    starts = np.cumsum([0] + [len(b) for b in bags])
    np.testing.assert_allclose(
        proba[:, 1], [inst_p[a:b].max() for a, b in zip(starts[:-1], starts[1:])]
    )
    assert not hasattr(SIL(), "predict_proba")  # SVC without probability=True
    with pytest.raises(ValueError, match="'pooling' parameter of SIL"):
        SIL(pooling="median").fit(bags, y)


def test_sil_threshold_auto_is_the_best_held_out_bag_threshold(problem):
    from skmil._inner_cv import inner_cv_splits, search_refit
    from skmil._threshold import best_threshold

    bags, y, _ = problem
    y = np.asarray(y)
    auto = SIL().fit(bags, y)
    B = check_bags(bags)
    splits = inner_cv_splits(B, y)
    _, dec = search_refit(SIL(threshold=0.0), B, y, [{}], splits)
    assert auto.threshold_ == best_threshold(dec[0], y == 1, splits)
    zero = SIL(threshold=0.0).fit(bags, y)
    np.testing.assert_allclose(auto.decision_function(bags),
                               zero.decision_function(bags) - auto.threshold_)
    fixed = SIL(threshold=0.25).fit(bags, y)
    inst = fixed.decision_function_instances(bags)
    np.testing.assert_allclose(np.concatenate(inst),
                               np.concatenate(zero.decision_function_instances(bags)) - 0.25)
    np.testing.assert_array_equal(fixed.predict(bags), [int(np.any(i > 0)) for i in inst])
    for bad in ("best", float("inf"), float("nan")):
        with pytest.raises(ValueError, match="'threshold' parameter of SIL"):
            SIL(threshold=bad).fit(bags, y)


def test_sil_bag_rule_follows_pooling_and_class_weight_is_keyed_by_label(problem):
    from skmil.base import get_mil_tags

    bags, y, _ = problem
    y = np.asarray(y)
    rules = {p: get_mil_tags(SIL(pooling=p)).bag_rule for p in ("max", "mean", "lse")}
    assert rules == {"max": "max", "mean": "mean", "lse": "convex"}
    labels = np.array(["neg", "pos"])[y]
    a = SIL(kernel="linear", class_weight={"neg": 1.0, "pos": 3.0}, threshold=0.0)
    b = SIL(kernel="linear", class_weight={0: 1.0, 1: 3.0}, threshold=0.0)
    np.testing.assert_allclose(a.fit(bags, labels).decision_function(bags),
                               b.fit(bags, y).decision_function(bags))
    unweighted = SIL(kernel="linear", threshold=0.0).fit(bags, y).decision_function(bags)
    assert not np.allclose(unweighted, b.decision_function(bags))
    with pytest.raises(ValueError, match="not a class label"):
        SIL(class_weight={"x": 1.0}).fit(bags, y)


def test_instance_transformer_fits_on_training_instances_only(problem):
    bags, y, _ = problem
    t = InstanceTransformer().fit(bags[:30])
    out = t.transform(bags[:30])
    np.testing.assert_allclose(out.instances.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(t.estimator_.mean_, np.vstack(bags[:30]).mean(axis=0))
    back = t.inverse_transform(out)
    np.testing.assert_allclose(back.instances, np.vstack(bags[:30]))


def test_instance_transformer_changes_dimension_and_imputes():
    rng = np.random.RandomState(0)
    bags = [rng.normal(size=(n, 6)) for n in (3, 4, 5)]
    out = InstanceTransformer(estimator=PCA(n_components=2)).fit_transform(bags)
    assert out.n_features == 2 and list(out.sizes) == [3, 4, 5]
    bags[1][2, 3] = np.nan
    imputed = InstanceTransformer(estimator=SimpleImputer()).fit_transform(bags)
    assert np.isfinite(imputed.instances).all()
    with pytest.raises(ValueError, match="Bag 1 contains NaN"):
        InstanceTransformer(estimator=PCA(n_components=2)).fit(bags)


def test_instance_transformer_pandas_output_and_names():
    import pandas as pd

    rng = np.random.RandomState(0)
    cols = ["a", "b", "c"]
    bags = [pd.DataFrame(rng.normal(size=(n, 3)), columns=cols) for n in (3, 4, 5)]
    t = InstanceTransformer().set_output(transform="pandas")
    frames = t.fit_transform(bags)
    assert isinstance(frames, list) and len(frames) == 3
    assert all(isinstance(f, pd.DataFrame) and list(f.columns) == cols for f in frames)
    assert [len(f) for f in frames] == [3, 4, 5]
    np.testing.assert_allclose(np.vstack([f.to_numpy() for f in t.transform(bags)]),
                               InstanceTransformer().fit_transform(bags).instances)
    # names come from the wrapped transformer
    pca = InstanceTransformer(estimator=PCA(n_components=2)).fit(bags)
    assert list(pca.get_feature_names_out()) == ["pca0", "pca1"]
    # the frames feed the next skmil step
    SIL().fit(frames, [0, 1, 1])
    with pytest.raises(ValueError, match="transform must be"):
        InstanceTransformer().set_output(transform="arrow")
    with pytest.raises(TypeError, match="'estimator' parameter of InstanceTransformer"):
        InstanceTransformer(estimator="scaler").fit(bags)


def test_pipeline_with_instance_transformer_and_sil(problem):
    bags, y, _ = problem
    pipe = make_pipeline(InstanceTransformer(estimator=StandardScaler()), SIL()).fit(bags, y)
    # SIL's max pooling over-predicts positive bags (distractors are trained as positive),
    # so check the ranking, which is what it gets right
    assert roc_auc_score(y, pipe.decision_function(bags)) > 0.95
    inst = pipe[-1].predict_instances(pipe[:-1].transform(bags))
    assert [len(i) for i in inst] == [len(b) for b in bags]
