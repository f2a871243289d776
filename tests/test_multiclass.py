"""Native multi-class classifiers: the wrapped classifier's K classes, Citation-kNN's votes."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

from skmil.distance import CitationKNN
from skmil.embedding import BagStatistics, MiVLAD, SimpleMI, VLADEncoder
from skmil.svm import MISVM
from skmil.utils import all_estimators
from skmil.utils.estimator_checks import make_check_multiclass_data


@pytest.fixture(scope="module")
def data():
    return make_check_multiclass_data(n_bags=60, random_state=1)


def test_simple_mi_is_the_multiclass_pipeline(data):
    bags, y = data
    clf = SimpleMI(C=10.0).fit(bags, y)
    ref = make_pipeline(BagStatistics(), StandardScaler(), SVC(C=10.0)).fit(bags, y)
    # libsvm's answer depends on the order of the bags (skmil fits them in its canonical
    # order) within its tolerance
    np.testing.assert_allclose(clf.decision_function(bags), ref.decision_function(bags),
                               rtol=1e-3, atol=1e-3)
    np.testing.assert_array_equal(clf.predict(bags), ref.predict(bags))
    searched = SimpleMI(random_state=0).fit(bags, y)  # C="cv" on three classes
    assert searched.C_ in (0.1, 1.0, 10.0, 100.0, 1000.0)
    assert searched.cv_results_["mean_test_score"].shape == (5,)


def test_mivlad_is_the_multiclass_pipeline(data):
    bags, y = data
    clf = MiVLAD(n_clusters=3, random_state=0).fit(bags, y)
    ref = make_pipeline(VLADEncoder(n_clusters=3, random_state=0),
                        LinearSVC(C=1.0, random_state=0)).fit(bags, y)
    np.testing.assert_allclose(clf.decision_function(bags), ref.decision_function(bags),
                               rtol=1e-6, atol=1e-8)


def test_citation_knn_counts_votes_per_class_by_hand():
    # one-instance bags on a line: distances are |a - b|
    bags = [np.array([[v]]) for v in (0.0, 1.0, 5.0, 6.0, 10.0, 11.0)]
    y = np.array(["a", "a", "b", "b", "c", "c"])
    clf = CitationKNN(n_references=2, n_citers=1).fit(bags, y)
    # query 5.4: references 5 and 6 (b, b); citers: 5 (nearest other 6, radius 1) and 6
    # (radius 1); nobody else reaches it
    np.testing.assert_allclose(clf.decision_function([np.array([[5.4]])]), [[0, 4, 0]])
    assert clf.predict([np.array([[5.4]])])[0] == "b"
    # a tie between two classes goes to the earlier one: query 3.0 has references 1 (a)
    # and 5 (b), and no citer (every radius is 1)
    np.testing.assert_allclose(clf.decision_function([np.array([[3.0]])]), [[1, 1, 0]])
    assert clf.predict([np.array([[3.0]])])[0] == "a"


def test_binary_behaviour_is_unchanged(data):
    bags, y = data
    yb = (y > 0).astype(int)
    clf = CitationKNN().fit(bags, yb)
    assert clf.decision_function(bags).shape == (len(bags),)
    assert SimpleMI(C=1.0).fit(bags, yb).decision_function(bags).ndim == 1


def test_binary_only_classifiers_still_point_to_one_vs_rest(data):
    bags, y = data
    with pytest.raises(ValueError, match="OneVsRestClassifier"):
        MISVM(C=1.0).fit(bags, y)
    ovr = OneVsRestClassifier(MISVM(C=1.0)).fit(bags, y)
    assert ovr.score(bags, y) > 0.6
    # and both ways work for a native one
    assert OneVsRestClassifier(SimpleMI(C=1.0)).fit(bags, y).predict(bags).shape == (60,)


def test_scikit_learn_tag_says_which_classifiers_are_multiclass():
    native = {n for n, c in all_estimators("classifier") if c()._multi_class}
    assert {"SimpleMI", "MiVLAD", "MiFV", "MInD", "BagOfWordsClassifier",
            "CitationKNN"} <= native
    assert "MISVM" not in native
    for name, cls in all_estimators("classifier"):
        assert cls().__sklearn_tags__().classifier_tags.multi_class == (name in native)


def test_bag_kernel_svm_is_libsvm_one_vs_one_on_the_one_gram(data):
    from skmil.svm import MIKernelSVM, set_kernel

    bags, y = data
    clf = MIKernelSVM(C=10.0).fit(bags, y)
    K = set_kernel(bags, gamma=clf.gamma_)
    ref = SVC(kernel="precomputed", C=10.0).fit(K, y)
    test, _ = make_check_multiclass_data(n_bags=15, random_state=5)
    Kt = set_kernel(test, bags, gamma=clf.gamma_)
    np.testing.assert_allclose(clf.decision_function(test), ref.decision_function(Kt),
                               rtol=1e-3, atol=1e-3)
    np.testing.assert_array_equal(clf.predict(test), ref.predict(Kt))
    assert clf.dual_coef_.shape == (2, clf.support_.shape[0])
    np.testing.assert_array_equal(clf.support_, np.sort(ref.support_))
    with pytest.raises(ValueError, match="3 classes"):
        clf.decision_function_instances(test)
    with pytest.raises(ValueError, match="3 classes"):
        clf.instance_contributions(test)
