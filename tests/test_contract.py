"""The estimator contract, run on every registered estimator.

Each estimator may declare fast settings for these tests in its class attribute
``_contract_test_params``; everything else here is the same for all of them.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline

from skmil.datasets import make_mil_classification
from skmil.preprocessing import InstanceTransformer
from skmil.utils import all_estimators

CLASSIFIERS = all_estimators("classifier")
TRANSFORMERS = all_estimators("transformer")
ALL = CLASSIFIERS + TRANSFORMERS


def _make(cls):
    est = cls()
    params = dict(getattr(cls, "_contract_test_params", {}))
    if "random_state" in est.get_params():
        params.setdefault("random_state", 0)
    return est.set_params(**params)


@pytest.fixture(scope="module")
def data():
    bags, y, inst = make_mil_classification(
        n_bags=30, n_features=4, bag_size=5, class_sep=4.0, random_state=0
    )
    return bags, y, inst


def _copy_bags(bags):
    return [b.copy() for b in bags]


def _fit(est, bags, y):
    return est.fit(bags, y) if is_classifier(est) else est.fit(bags, y)


def _output(est, bags):
    if is_classifier(est):
        return est.decision_function(bags)
    out = est.transform(bags)
    return np.asarray(out.instances if hasattr(out, "instances") else out)


def test_registry_is_not_empty():
    names = [n for n, _ in ALL]
    for expected in ("SIL", "BagStatistics", "InstanceTransformer", "SimpleMI"):
        assert expected in names


@pytest.mark.parametrize("name, cls", ALL)
def test_init_stores_params_only(name, cls):
    est = cls()
    params = est.get_params()
    cloned = clone(est)
    assert cloned.get_params().keys() == params.keys()
    assert not any(k.endswith("_") and not k.startswith("_") for k in vars(est))


@pytest.mark.parametrize("name, cls", CLASSIFIERS)
def test_classifier_shapes_and_agreement(name, cls, data):
    bags, y, _ = data
    est = _make(cls).fit(bags, y)
    assert est.n_features_in_ == bags[0].shape[1]
    np.testing.assert_array_equal(est.classes_, [0, 1])
    scores = est.decision_function(bags)
    assert scores.shape == (len(bags),) and scores.dtype == np.float64
    pred = est.predict(bags)
    np.testing.assert_array_equal(pred, est.classes_[(scores > 0).astype(int)])
    assert est.score(bags, y) >= 0.7, "must learn an easy, well-separated problem"
    if hasattr(est, "predict_proba"):
        proba = est.predict_proba(bags)
        assert proba.shape == (len(bags), 2)
        assert np.all((proba >= 0) & (proba <= 1))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)


@pytest.mark.parametrize("name, cls", CLASSIFIERS)
@pytest.mark.parametrize(
    "labels", [(-1, 1), ("neg", "pos"), (False, True), (3.0, 7.0)], ids=repr
)
def test_label_encodings(name, cls, labels, data):
    bags, y, _ = data
    y_enc = np.asarray(labels, dtype=object if isinstance(labels[0], str) else None)[y]
    est_ref = _make(cls).fit(bags, y)
    est = _make(cls).fit(bags, y_enc)
    assert list(est.classes_) == sorted(labels)
    pred = est.predict(bags)
    assert set(pred) <= set(labels)
    # classes_[1] is positive whatever the encoding: same scores as with 0/1
    np.testing.assert_allclose(est.decision_function(bags), est_ref.decision_function(bags),
                               rtol=1e-6, atol=1e-8)
    if hasattr(est, "predict_instances"):
        inst = est.predict_instances(bags)
        assert set(np.concatenate(inst)) <= set(labels)


@pytest.mark.parametrize("name, cls", CLASSIFIERS)
def test_instance_predictions(name, cls, data):
    bags, y, _ = data
    est = _make(cls).fit(bags, y)
    has_pred = hasattr(est, "predict_instances")
    assert has_pred == hasattr(est, "decision_function_instances")
    if not has_pred:
        return
    scores = est.decision_function_instances(bags)
    labels = est.predict_instances(bags)
    assert len(scores) == len(labels) == len(bags)
    for s, lab, b in zip(scores, labels, bags):
        assert s.shape == (b.shape[0],) and lab.shape == (b.shape[0],)
        assert np.all(np.isfinite(s))
        assert set(lab) <= set(est.classes_)


@pytest.mark.parametrize("name, cls", ALL)
def test_clone_and_pickle(name, cls, data):
    bags, y, _ = data
    est = _fit(_make(cls), bags, y)
    with pytest.raises((NotFittedError, AttributeError)):
        _output(clone(est), bags)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(_output(restored, bags), _output(est, bags), rtol=1e-10)
    deep = copy.deepcopy(est)
    np.testing.assert_allclose(_output(deep, bags), _output(est, bags), rtol=1e-10)


@pytest.mark.parametrize("name, cls", ALL)
def test_deterministic_with_random_state(name, cls, data):
    bags, y, _ = data
    a = _output(_fit(_make(cls), bags, y), bags)
    b = _output(_fit(_make(cls), bags, y), bags)
    np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name, cls", ALL)
def test_invariant_to_instance_order(name, cls, data):
    bags, y, _ = data
    if not getattr(cls, "_permutation_invariant", True):
        pytest.skip(f"{name} declares that it depends on instance order")
    est = _fit(_make(cls), bags, y)
    rng = np.random.RandomState(1)
    shuffled = [b[rng.permutation(b.shape[0])] for b in bags]
    if is_classifier(est):
        np.testing.assert_allclose(
            est.decision_function(shuffled), est.decision_function(bags), rtol=1e-6, atol=1e-8
        )
    elif not hasattr(est.transform(bags), "instances"):  # bag embeddings
        np.testing.assert_allclose(est.transform(shuffled), est.transform(bags),
                                   rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name, cls", ALL)
def test_does_not_modify_inputs(name, cls, data):
    bags, y, _ = data
    bags_in, y_in = _copy_bags(bags), y.copy()
    est = _fit(_make(cls), bags_in, y_in)
    _output(est, bags_in)
    if hasattr(est, "predict_instances"):
        est.predict_instances(bags_in)
    for a, b in zip(bags_in, bags):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(y_in, y)


@pytest.mark.parametrize("name, cls", ALL)
def test_not_fitted_error(name, cls, data):
    bags, _, _ = data
    est = _make(cls)
    with pytest.raises(NotFittedError):
        _output(est, bags)
    if hasattr(est, "predict_instances"):
        with pytest.raises(NotFittedError):
            est.predict_instances(bags)


def _bad_inputs(bags, y):
    d = bags[0].shape[1]
    nan_bags = _copy_bags(bags)
    nan_bags[3][0, 1] = np.nan
    inf_bags = _copy_bags(bags)
    inf_bags[2][1, 0] = np.inf
    ragged = _copy_bags(bags)
    ragged[4] = np.ones((3, d + 1))
    empty_bag = _copy_bags(bags)
    empty_bag[5] = np.zeros((0, d))
    one_d = _copy_bags(bags)
    one_d[6] = np.ones(d)
    text = _copy_bags(bags)
    text[1] = np.array([["a"] * d, ["b"] * d])
    return {
        "empty": ([], [], r"no bags"),
        "nan": (nan_bags, y, r"Bag 3 .*NaN"),
        "inf": (inf_bags, y, r"Bag 2 .*infinity"),
        "ragged": (ragged, y, r"Bag 4 has"),
        "empty_bag": (empty_bag, y, r"Bag 5 has no instances"),
        "one_d": (one_d, y, r"Bag 6 is 1-D"),
        "non_numeric": (text, y, r"Bag 1 .*non-numeric"),
        "y_length": (bags, y[:-1], r"bags but y has"),
    }


@pytest.mark.parametrize("name, cls", ALL)
def test_bad_input_errors(name, cls, data):
    bags, y, _ = data
    for case, (X_bad, y_bad, match) in _bad_inputs(bags, y).items():
        if case == "nan" and getattr(_make(cls), "_allow_nan", False):
            continue
        if case == "y_length" and not is_classifier(cls()):
            continue
        with pytest.raises((ValueError, TypeError), match=match):
            _make(cls).fit(X_bad, y_bad)


@pytest.mark.parametrize("name, cls", CLASSIFIERS)
def test_label_count_errors(name, cls, data):
    bags, y, _ = data
    with pytest.raises(ValueError, match="single class"):
        _make(cls).fit(bags, np.ones_like(y))
    with pytest.raises(ValueError, match="OneVsRestClassifier"):
        _make(cls).fit(bags, np.arange(len(bags)) % 3)


@pytest.mark.parametrize("name, cls", ALL)
def test_wrong_n_features_at_predict(name, cls, data):
    bags, y, _ = data
    est = _fit(_make(cls), bags, y)
    wider = [np.hstack([b, b[:, :1]]) for b in bags]
    with pytest.raises(ValueError, match="features"):
        _output(est, wider)


@pytest.mark.parametrize("name, cls", CLASSIFIERS)
def test_one_vs_rest(name, cls):
    bags, y, _ = make_mil_classification(n_bags=30, n_features=4, bag_size=4, random_state=3)
    y3 = np.where(y == 1, 2, np.arange(len(y)) % 2)
    ovr = OneVsRestClassifier(_make(cls)).fit(bags, y3)
    pred = ovr.predict(bags)
    assert pred.shape == (len(bags),) and set(pred) <= {0, 1, 2}


@pytest.mark.parametrize("name, cls", CLASSIFIERS)
def test_pipeline_and_cross_validation(name, cls, data):
    bags, y, _ = data
    pipe = make_pipeline(InstanceTransformer(), _make(cls))
    scores = cross_val_score(pipe, bags, y, cv=StratifiedKFold(3, shuffle=True, random_state=0))
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))


@pytest.mark.parametrize("name, cls", CLASSIFIERS)
def test_grid_search(name, cls, data):
    bags, y, _ = data
    est = _make(cls)
    # search over a parameter every estimator has: one of its own, unchanged values
    param, value = next(iter(est.get_params(deep=False).items()))
    grid = GridSearchCV(est, {param: [value]}, cv=3).fit(bags, y)
    assert grid.best_estimator_.predict(bags).shape == (len(bags),)


@pytest.mark.parametrize("name, cls", TRANSFORMERS)
def test_transformer_output(name, cls, data):
    bags, y, _ = data
    est = _make(cls)
    out_ft = est.fit_transform(bags, y)
    out_t = est.transform(bags)
    if hasattr(out_t, "instances"):  # instance-wise transformers return new bags
        assert len(out_t) == len(bags)
        for a, b in zip(out_t, bags):
            assert a.shape[0] == b.shape[0]
        np.testing.assert_allclose(out_ft.instances, out_t.instances)
    else:
        out_t = np.asarray(out_t)
        assert out_t.ndim == 2 and out_t.shape[0] == len(bags)
        assert np.all(np.isfinite(out_t))
        np.testing.assert_allclose(np.asarray(out_ft), out_t, rtol=1e-7, atol=1e-9)
