"""MInD (bag dissimilarities) against a naive double loop over bags with scipy's cdist."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.linear_model import LogisticRegression

from skmil.datasets import make_mil_classification
from skmil.embedding.mind import METRICS, BagDissimilarity, MInD, bag_dissimilarities


def _naive(bags, protos, metric, squared):
    out = np.empty((len(bags), len(protos)))
    for i, A in enumerate(bags):
        for j, R in enumerate(protos):
            D = cdist(A, R, "sqeuclidean" if squared else "euclidean")
            if metric == "meanmin":
                out[i, j] = np.mean([min(row) for row in D])
            elif metric == "minmin":
                out[i, j] = min(min(row) for row in D)
            elif metric == "meanmean":
                out[i, j] = np.mean(D)
            else:
                out[i, j] = max(max(min(row) for row in D), max(min(col) for col in D.T))
    return out


def _flat(bags):
    return np.vstack(bags), np.concatenate([[0], np.cumsum([len(b) for b in bags])])


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("squared", [True, False])
@pytest.mark.parametrize("chunk_size", [1, 5, 2048])
def test_bag_dissimilarities_match_naive_loop(metric, squared, chunk_size):
    rng = np.random.RandomState(0)
    bags = [rng.randn(rng.randint(1, 7), 3) for _ in range(11)]
    protos = [rng.randn(rng.randint(1, 7), 3) for _ in range(8)]
    X, off = _flat(bags)
    P, p_off = _flat(protos)
    got = bag_dissimilarities(X, off, P, p_off, metric=metric, squared=squared,
                              chunk_size=chunk_size)
    np.testing.assert_allclose(got, _naive(bags, protos, metric, squared), atol=1e-9)


def test_meanmin_is_asymmetric_and_the_rows_are_the_represented_bags():
    A = [np.array([[0.0], [10.0]])]
    R = [np.array([[0.0]])]
    XA, oA = _flat(A)
    XR, oR = _flat(R)
    # mean over A's instances of the nearest distance to R: (0 + 100) / 2
    assert bag_dissimilarities(XA, oA, XR, oR, metric="meanmin")[0, 0] == 50.0
    assert bag_dissimilarities(XR, oR, XA, oA, metric="meanmin")[0, 0] == 0.0


def test_transformer_columns_follow_the_training_bags_whatever_their_order():
    bags, y, _ = make_mil_classification(n_bags=12, n_features=3, random_state=0)
    enc = BagDissimilarity(metric="hausdorff").fit(bags, y)
    Z = enc.transform(bags)
    assert Z.shape == (12, 12)
    # column j is the dissimilarity to the training bag prototype_bag_[j]
    np.testing.assert_allclose(Z, _naive(bags, [bags[j] for j in enc.prototype_bag_],
                                          "hausdorff", True), atol=1e-9)
    np.testing.assert_allclose(np.diag(Z[:, np.argsort(enc.prototype_bag_)]), 0.0, atol=1e-9)
    names = enc.get_feature_names_out()
    assert names.shape == (12,) and names[0] == f"prototype{enc.prototype_bag_[0]}"


def test_mind_is_the_pipeline_it_documents():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    bags, y, _ = make_mil_classification(n_bags=40, n_features=4, random_state=3)
    clf = MInD(random_state=0).fit(bags, y)
    enc = BagDissimilarity().fit(bags, y)
    pipe = make_pipeline(StandardScaler(), LinearSVC(C=1.0, random_state=0))
    pipe.fit(enc.transform(bags), y)
    # same columns up to their order: compare the decision values, not the weights
    np.testing.assert_allclose(clf.decision_function(bags),
                               pipe.decision_function(enc.transform(bags)), atol=1e-6)
    assert clf.score(bags, y) > 0.8


def test_mind_with_any_estimator_and_proba():
    bags, y, _ = make_mil_classification(n_bags=30, n_features=4, random_state=1)
    clf = MInD(estimator=LogisticRegression(), metric="minmin").fit(bags, y)
    p = clf.predict_proba(bags)
    assert p.shape == (30, 2) and np.allclose(p.sum(1), 1.0)
    assert not hasattr(MInD(), "predict_proba")
    assert clf.C_ is None
