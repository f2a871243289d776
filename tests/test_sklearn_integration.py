"""skmil estimators inside scikit-learn's machinery: search, CV, pipelines, pickling, dask."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    cross_val_score,
    cross_validate,
)
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline, make_pipeline

from skmil.bags import check_bags
from skmil.embedding import SimpleMI
from skmil.preprocessing import InstanceTransformer
from skmil.svm import SIL


@pytest.fixture(scope="module")
def problem(mil_problem):
    return mil_problem(n_bags=60, n_features=4, class_sep=4.0, random_state=5)


def test_get_set_params_and_clone():
    pipe = make_pipeline(InstanceTransformer(), SIL(C=3.0))
    params = pipe.get_params()
    assert params["sil__C"] == 3.0 and "instancetransformer__estimator" in params
    pipe.set_params(sil__pooling="mean")
    cloned = clone(pipe)
    assert cloned.get_params()["sil__pooling"] == "mean"
    assert not hasattr(cloned[-1], "estimator_")


def test_grid_search_over_a_pipeline(problem):
    bags, y, _ = problem
    pipe = Pipeline([("scale", InstanceTransformer()), ("sil", SIL())])
    grid = GridSearchCV(
        pipe,
        {"sil__C": [0.1, 10.0], "sil__pooling": ["max", "mean"]},
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
        scoring="roc_auc",
    ).fit(bags, y)
    assert set(grid.best_params_) == {"sil__C", "sil__pooling"}
    assert grid.best_score_ > 0.8
    assert grid.predict(bags).shape == (60,)


def test_cross_validate_with_bags_object_and_list(problem):
    bags, y, _ = problem
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    a = cross_val_score(SimpleMI(), bags, y, cv=cv)
    b = cross_val_score(SimpleMI(), check_bags(bags), y, cv=cv)
    np.testing.assert_allclose(a, b)
    res = cross_validate(SIL(), bags, y, cv=cv, scoring=["accuracy", "roc_auc"])
    assert res["test_roc_auc"].shape == (5,)


def test_pickled_pipeline_predicts_the_same(problem):
    bags, y, _ = problem
    pipe = make_pipeline(InstanceTransformer(), SIL()).fit(bags, y)
    again = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(again.decision_function(bags), pipe.decision_function(bags))


def test_one_vs_rest_multiclass():
    rng = np.random.RandomState(0)
    # three bag classes, each defined by the presence of its own witness cluster
    centres = rng.normal(scale=4.0, size=(3, 3))
    bags, y = [], []
    for i in range(60):
        c = i % 3
        bag = rng.normal(size=(5, 3))
        bag[0] += centres[c]
        bags.append(bag)
        y.append(["red", "green", "blue"][c])
    ovr = OneVsRestClassifier(SimpleMI()).fit(bags, y)
    assert list(ovr.classes_) == ["blue", "green", "red"]
    assert np.mean(ovr.predict(bags) == np.array(y)) > 0.8
    # SimpleMI also learns the three classes itself; a binary-only one points to OvR
    native = SimpleMI().fit(bags, y)
    assert list(native.classes_) == ["blue", "green", "red"]
    assert np.mean(native.predict(bags) == np.array(y)) > 0.8
    with pytest.raises(ValueError, match="OneVsRestClassifier"):
        SIL().fit(bags, y)


def test_calibrated_probabilities(problem):
    bags, y, _ = problem
    cal = CalibratedClassifierCV(SIL(), cv=3).fit(bags, y)
    p = cal.predict_proba(bags)
    assert p.shape == (60, 2) and np.allclose(p.sum(1), 1)


@pytest.mark.slow  # starts a LocalCluster of worker processes
@pytest.mark.dask
def test_grid_search_on_a_dask_cluster(problem):
    distributed = pytest.importorskip("distributed")
    import joblib

    bags, y, _ = problem
    grid_params = {"sil__C": [0.1, 1.0, 10.0]}
    pipe = make_pipeline(InstanceTransformer(), SIL())
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    local = GridSearchCV(pipe, grid_params, cv=cv).fit(bags, y)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    ) as cluster, distributed.Client(cluster):
        with joblib.parallel_backend("dask"):
            remote = GridSearchCV(pipe, grid_params, cv=cv, n_jobs=-1).fit(bags, y)
    np.testing.assert_allclose(
        remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
    assert remote.best_params_ == local.best_params_
