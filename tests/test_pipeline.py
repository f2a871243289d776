"""Instance outputs through Pipeline and fitted searches (skmil.pipeline)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skmil.datasets import make_mil_classification
from skmil.embedding import SimpleMI
from skmil.pipeline import decision_function_instances, final_estimator, predict_instances
from skmil.preprocessing import InstanceTransformer
from skmil.svm import SIL


@pytest.fixture(scope="module")
def data():
    bags, y, _ = make_mil_classification(n_bags=40, n_features=4, random_state=0)
    return bags, y


def test_pipeline_reaches_the_final_estimator(data):
    bags, y = data
    model = make_pipeline(InstanceTransformer(), SIL(threshold=0.0)).fit(bags, y)
    expected = model[-1].decision_function_instances(model[:-1].transform(bags))
    got = decision_function_instances(model, bags)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b)
    labels = predict_instances(model, bags)
    for lab, s in zip(labels, got):
        np.testing.assert_array_equal(lab, model.classes_[(s > 0).astype(int)])
    assert final_estimator(model) is model[-1]


def test_search_reaches_its_best_estimator(data):
    bags, y = data
    pipe = make_pipeline(InstanceTransformer(), SIL(threshold=0.0))
    search = GridSearchCV(pipe, {"sil__C": [0.1, 1.0]}, cv=3).fit(bags, y)
    best = search.best_estimator_
    expected = best[-1].predict_instances(best[:-1].transform(bags))
    for a, b in zip(predict_instances(search, bags), expected):
        np.testing.assert_array_equal(a, b)
    assert final_estimator(search) is best[-1]


def test_estimator_without_witness_scores_says_so(data):
    bags, y = data
    model = make_pipeline(InstanceTransformer(), SimpleMI()).fit(bags, y)
    with pytest.raises(AttributeError, match="SimpleMI has no predict_instances"):
        predict_instances(model, bags)


def test_plain_estimator_passes_through(data):
    bags, y = data
    est = SIL(threshold=0.0).fit(bags, y)
    for a, b in zip(predict_instances(est, bags), est.predict_instances(bags)):
        np.testing.assert_array_equal(a, b)
