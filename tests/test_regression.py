"""MIL regressors against naive references and hand-worked examples; target handling."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.metrics import r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

from skmil._inner_cv import inner_regression_splits
from skmil.bags import check_bags
from skmil.base import get_mil_tags
from skmil.datasets import make_mil_regression
from skmil.distance import CitationKNN, CitationKNNRegressor
from skmil.embedding import BagStatistics, SimpleMIRegressor
from skmil.svm import MIKernelSVM, MIKernelSVR, set_kernel
from skmil.utils import all_estimators


@pytest.fixture(scope="module")
def data():
    bags, y, inst = make_mil_regression(n_bags=40, n_features=4, bag_size=5, rule="mean",
                                       noise=0.05, random_state=0)
    return bags, 3.0 * y + 10.0, inst  # a scale and offset the defaults must not mind


def test_registry_lists_the_regressors():
    names = [n for n, _ in all_estimators("regressor")]
    assert {"SimpleMIRegressor", "MIKernelSVR", "CitationKNNRegressor"} <= set(names)
    assert not {"SimpleMI", "MIKernelSVM"} & set(names)
    with pytest.raises(ValueError, match="'regressor'"):
        all_estimators("regresor")


def test_mikernel_svr_is_an_svr_on_the_set_kernel_of_standardised_targets(data):
    bags, y, _ = data
    reg = MIKernelSVR(C=10.0, epsilon=0.2).fit(bags, y)
    K = set_kernel(bags, gamma=reg.gamma_)
    ref = SVR(kernel="precomputed", C=10.0, epsilon=0.2).fit(K, (y - y.mean()) / y.std())
    test, _, _ = make_mil_regression(n_bags=7, n_features=4, bag_size=5, random_state=1)
    Kt = set_kernel(test, bags, gamma=reg.gamma_)
    np.testing.assert_allclose(reg.predict(test), y.mean() + y.std() * ref.predict(Kt),
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(reg.support_, np.sort(ref.support_))


def test_mikernel_svr_shares_the_classifiers_kernel_and_search(data):
    bags, y, _ = data
    reg = MIKernelSVR(gamma="cv", random_state=0).fit(bags, y)
    # five widths x five C, scored by negative MSE on KFold splits of the canonical order
    assert len(reg.cv_results_["params"]) == 25
    assert np.all(reg.cv_results_["mean_test_score"] <= 0)
    best = int(np.argmax(np.round(reg.cv_results_["mean_test_score"], 12)))
    assert reg.cv_results_["params"][best]["C"] == reg.C_
    clf = MIKernelSVM(gamma=reg.gamma_, C=1.0).fit(bags, y > np.median(y))
    assert get_mil_tags(reg).bag_rule == get_mil_tags(clf).bag_rule == "mean"


def test_mikernel_svr_instance_targets_average_to_the_bag_prediction(data):
    bags, y, _ = data
    for normalize in ("featurespace", "averaging", None):
        reg = MIKernelSVR(C=1.0, normalize=normalize).fit(bags, y)
        inst = reg.predict_instances(bags)
        np.testing.assert_allclose([a.mean() for a in inst], reg.predict(bags), rtol=1e-8)
        contrib = reg.instance_contributions(bags)
        np.testing.assert_allclose([c.sum() + reg.intercept_ for c in contrib],
                                   reg.predict(bags), rtol=1e-8)


def test_citation_knn_regressor_by_hand():
    # four one-instance bags on a line: distances are |a - b|
    bags = [np.array([[0.0]]), np.array([[1.0]]), np.array([[3.0]]), np.array([[10.0]])]
    y = np.array([1.0, 2.0, 4.0, 8.0])
    reg = CitationKNNRegressor(n_references=1, n_citers=1).fit(bags, y)
    # query 0.4: reference bag 0; bag 0 (nearest other: 1 at distance 1) cites it, and so
    # does bag 1 (nearest other: 0 at distance 1); bags 2 and 3 do not
    np.testing.assert_allclose(reg.predict([np.array([[0.4]])]), [(1 + 1 + 2) / 3])
    # the references and citers are those of the classifier
    clf = CitationKNN(n_references=1, n_citers=1).fit(bags, [0, 0, 1, 1])
    assert clf.decision_function([np.array([[0.4]])])[0] == -3


def test_citation_knn_regressor_with_nobody_voting_predicts_the_mean():
    bags = [np.array([[0.0]]), np.array([[1.0]]), np.array([[3.0]])]
    reg = CitationKNNRegressor(n_references=0, n_citers=1).fit(bags, [1.0, 2.0, 6.0])
    np.testing.assert_allclose(reg.predict([np.array([[100.0]])]), [3.0])


def test_simple_mi_regressor_is_the_documented_pipeline(data):
    bags, y, _ = data
    reg = SimpleMIRegressor(C=3.0, epsilon=0.05).fit(bags, y)
    ref = make_pipeline(BagStatistics(), StandardScaler(), TransformedTargetRegressor(
        SVR(C=3.0, epsilon=0.05, gamma="scale"), transformer=StandardScaler()))
    ref.fit(bags, y)
    np.testing.assert_allclose(reg.predict(bags), ref.predict(bags), rtol=1e-8)
    assert reg.C_ == 3.0


def test_simple_mi_regressor_cv_chooses_c_by_mse(data):
    bags, y, _ = data
    reg = SimpleMIRegressor(random_state=0).fit(bags, y)
    scores = reg.cv_results_["mean_test_score"]
    assert scores.shape == (5,) and np.all(scores <= 0)
    assert reg.C_ == reg.cv_results_["params"][int(np.argmax(scores))]["C"]
    assert r2_score(y, reg.predict(bags)) == pytest.approx(reg.score(bags, y))
    # a given regressor is used as it is, without target scaling
    from sklearn.linear_model import Ridge

    mine = SimpleMIRegressor(estimator=Ridge(alpha=1.0)).fit(bags, y)
    assert isinstance(mine.estimator_, Ridge) and mine.C_ is None


def test_regression_splits_cover_the_bags_once_and_ignore_their_order(data):
    bags, y, _ = data
    b = check_bags(bags)
    splits = inner_regression_splits(b, y)
    test = np.sort(np.concatenate([te for _, te in splits]))
    np.testing.assert_array_equal(test, np.arange(len(bags)))
    perm = np.random.RandomState(0).permutation(len(bags))
    again = inner_regression_splits(check_bags([bags[i] for i in perm]), y[perm])
    # the same bags end up in the same folds, whatever the order they came in
    for (_, te), (_, te2) in zip(splits, again):
        assert sorted(te) == sorted(perm[te2])
    assert inner_regression_splits(check_bags(bags[:1]), y[:1]) is None


@pytest.mark.parametrize("est", [SimpleMIRegressor(C=1.0), MIKernelSVR(C=1.0),
                                 CitationKNNRegressor()])
def test_regressors_are_equivariant_to_the_targets_scale_and_offset(data, est):
    bags, y, _ = data
    a = est.fit(bags, y).predict(bags)
    b = est.fit(bags, 5.0 * y - 2.0).predict(bags)
    np.testing.assert_allclose(b, 5.0 * a - 2.0, rtol=1e-6, atol=1e-6)


def test_classifier_refuses_real_valued_targets_pointing_to_regressors(data):
    bags, y, _ = data
    with pytest.raises(ValueError, match=r"continuous values \(bag 0 .*MIL regressor"):
        MIKernelSVM().fit(bags, y)
    # whole-number floats are class labels, as before
    MIKernelSVM(C=1.0).fit(bags, (y > np.median(y)).astype(float))


def test_migraph_svr_is_an_svr_on_the_migraph_kernel(data):
    from skmil.graph import MIGraph, MIGraphSVR

    bags, y, _ = data
    test, _, _ = make_mil_regression(n_bags=6, n_features=4, bag_size=5, random_state=2)
    reg = MIGraphSVR(C=10.0, epsilon=0.2).fit(bags, y)
    # the classifier's Gram over training and test bags together (cosine-normalised per
    # bag, so its blocks are the training and cross kernels)
    kernel = MIGraph(gamma=reg.gamma_)
    kernel.gamma_ = reg.gamma_
    K, _ = kernel._train_gram(check_bags(list(bags) + list(test)))
    n = len(bags)
    ref = SVR(kernel="precomputed", C=10.0, epsilon=0.2).fit(K[:n, :n],
                                                              (y - y.mean()) / y.std())
    np.testing.assert_allclose(reg.predict(test),
                               y.mean() + y.std() * ref.predict(K[n:, :n]), rtol=1e-6,
                               atol=1e-6)


@pytest.mark.parametrize("name", ["MiVLADRegressor", "MiFVRegressor"])
def test_encoding_regressors_are_the_documented_pipeline(data, name):
    from sklearn.svm import LinearSVR

    from skmil import embedding

    bags, y, _ = data
    reg = getattr(embedding, name)(n_clusters=2, C=0.5, random_state=0).fit(bags, y)
    encoder = {"MiVLADRegressor": embedding.VLADEncoder,
               "MiFVRegressor": embedding.FisherVectorEncoder}[name]
    ref = make_pipeline(encoder(n_clusters=2, random_state=0), TransformedTargetRegressor(
        LinearSVR(C=0.5, loss="squared_epsilon_insensitive", epsilon=0.0, dual=False,
                  random_state=0), transformer=StandardScaler()))
    ref.fit(bags, y)
    np.testing.assert_allclose(reg.predict(bags), ref.predict(bags), rtol=1e-6, atol=1e-8)
    searched = getattr(embedding, name)(random_state=0).fit(bags, y)
    assert {"n_clusters", "C"} <= set(searched.cv_results_["params"][0])
    assert searched.C_ in (0.1, 1.0, 10.0, 100.0, 1000.0)


@pytest.mark.parametrize("name", ["MiVLADRegressor", "MiFVRegressor"])
def test_closed_form_c_search_scores_as_the_generic_search(data, name):
    from skmil import embedding
    from skmil.embedding._codebook import _EmbeddingModel

    bags, y, _ = data
    reg = getattr(embedding, name)(random_state=0)
    b = check_bags(bags)
    _, _, fast = reg._search(b, y, True, True)
    fast_scores = reg.cv_results_["mean_test_score"]
    _, _, slow = _EmbeddingModel._search(reg, b, y, True, True)
    slow_scores = reg.cv_results_["mean_test_score"]
    np.testing.assert_allclose(fast_scores, slow_scores, rtol=2e-3, atol=1e-4 * y.var())
    assert fast == slow


def _naive_misvr(bags, y, **svr):
    """MI-SVR's alternation written out: SIL start, argmax witnesses, keep the best."""
    ys = (y - y.mean()) / y.std()
    X = np.vstack(bags)
    starts = np.cumsum([0] + [len(b) for b in bags])
    model = SVR(**svr).fit(X, np.repeat(ys, [len(b) for b in bags]))

    def bag_max(m):
        p = m.predict(X)
        return np.array([p[a:b].max() for a, b in zip(starts[:-1], starts[1:])]), p

    best_err, best, seen = np.inf, None, []
    for _ in range(51):
        bm, p = bag_max(model)
        err = np.mean((bm - ys) ** 2)
        if err < best_err:
            best_err, best = err, model
        rows = [a + int(np.argmax(p[a:b])) for a, b in zip(starts[:-1], starts[1:])]
        if rows in seen:
            break
        seen.append(rows)
        model = SVR(**svr).fit(X[rows], ys)
    return lambda B: np.array([y.mean() + y.std() * best.predict(b).max() for b in B])


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_misvr_is_the_written_out_alternation(kernel):
    from skmil.svm import MISVR

    bags, y, _ = make_mil_regression(n_bags=40, n_features=4, bag_size=5, rule="max",
                                     random_state=3)
    reg = MISVR(kernel=kernel, gamma=0.25, C=1.0).fit(bags, y)
    ref = _naive_misvr(bags, y, kernel=kernel, gamma=0.25, C=1.0, epsilon=0.1)
    test, _, _ = make_mil_regression(n_bags=10, n_features=4, bag_size=5, random_state=4)
    np.testing.assert_allclose(reg.predict(test), ref(test), rtol=1e-6, atol=1e-6)


def test_misvr_finds_the_witnesses_of_max_rule_bags():
    from skmil.svm import MISVR

    bags, y, inst = make_mil_regression(n_bags=500, n_features=5, rule="max", noise=0.05,
                                        random_state=0)
    reg = MISVR(kernel="linear").fit(bags[:200], y[:200])
    assert r2_score(y[200:], reg.predict(bags[200:])) > 0.9
    truth = np.array([int(np.argmax(t)) for t in inst[:200]])
    assert np.mean(reg.witnesses_ == truth) > 0.9
    pred = np.concatenate(reg.predict_instances(bags[200:]))
    assert np.corrcoef(pred, np.concatenate(inst[200:]))[0, 1] > 0.95
    # max_iter=0 is single-instance learning: every instance with its bag's target
    sil = MISVR(kernel="linear", max_iter=0).fit(bags[:50], y[:50])
    ys = (y[:50] - y[:50].mean()) / y[:50].std()
    ref = SVR(kernel="linear").fit(np.vstack(bags[:50]),
                                   np.repeat(ys, [len(b) for b in bags[:50]]))
    np.testing.assert_allclose(
        np.concatenate(sil.predict_instances(bags[:5])),
        y[:50].mean() + y[:50].std() * ref.predict(np.vstack(bags[:5])), rtol=1e-5, atol=1e-5)
    assert sil.n_iter_ == 0


def test_bag_of_words_regressor_instance_targets_are_exact(data):
    from sklearn.linear_model import Ridge
    from sklearn.svm import LinearSVR

    from skmil.embedding import BagOfWords, BagOfWordsRegressor

    bags, y, _ = data
    for encoding in ("hard", "soft"):
        reg = BagOfWordsRegressor(n_clusters=6, C=2.0, encoding=encoding,
                                  random_state=0).fit(bags, y)
        ref = make_pipeline(
            BagOfWords(n_clusters=6, encoding=encoding, random_state=0),
            TransformedTargetRegressor(
                LinearSVR(C=2.0, loss="squared_epsilon_insensitive", epsilon=0.0,
                          dual=False, random_state=0), transformer=StandardScaler()))
        np.testing.assert_allclose(reg.predict(bags), ref.fit(bags, y).predict(bags),
                                   rtol=1e-6, atol=1e-8)
        inst = reg.predict_instances(bags)
        np.testing.assert_allclose([a.mean() for a in inst], reg.predict(bags), rtol=1e-8)
    ridge = BagOfWordsRegressor(n_clusters=6, estimator=Ridge(), random_state=0)
    assert hasattr(ridge, "predict_instances")
    for other in (BagOfWordsRegressor(normalize="tfidf"), BagOfWordsRegressor(
            encoding="presence"), BagOfWordsRegressor(estimator=SVR())):
        assert not hasattr(other, "predict_instances")
        assert not get_mil_tags(other).instance_scores


def test_deep_regressor_learns_max_rule_bags_with_instance_targets():
    pytest.importorskip("torch")
    from skmil.deep import DeepMILRegressor

    bags, y, inst = make_mil_regression(n_bags=300, n_features=4, bag_size=5, rule="max",
                                        noise=0.05, random_state=0)
    reg = DeepMILRegressor(head="instance", pooling="max", hidden_layer_sizes=(16,),
                           dropout=0.0, lr=1e-2, max_epochs=40, random_state=0)
    reg.fit(bags[:200], y[:200])
    assert r2_score(y[200:], reg.predict(bags[200:])) > 0.7
    pred = reg.predict_instances(bags[200:])
    np.testing.assert_allclose([p.max() for p in pred], reg.predict(bags[200:]), rtol=1e-6)
    assert np.corrcoef(np.concatenate(pred), np.concatenate(inst[200:]))[0, 1] > 0.8
    assert get_mil_tags(reg).bag_rule == "max"
    # an attention head weighs its instances: no instance targets
    attention = DeepMILRegressor(hidden_layer_sizes=(8,), max_epochs=2)
    assert not hasattr(attention, "predict_instances")
    assert get_mil_tags(attention).instance_outputs == ("attention_weights",)


def test_deep_regressor_standardises_its_targets_and_takes_a_loss(data):
    pytest.importorskip("torch")
    import torch

    from skmil.deep import DeepMILRegressor

    bags, y, _ = data
    kw = dict(hidden_layer_sizes=(8,), dropout=0.0, max_epochs=5, random_state=0)
    a = DeepMILRegressor(**kw).fit(bags, y)
    b = DeepMILRegressor(**kw).fit(bags, 5.0 * y - 2.0)
    np.testing.assert_allclose(b.predict(bags), 5.0 * a.predict(bags) - 2.0, rtol=1e-4,
                               atol=1e-4)
    assert a.target_scale_ == pytest.approx(y.std())
    custom = DeepMILRegressor(loss=lambda z, t: (z - t) ** 2, **kw).fit(bags, y)
    np.testing.assert_allclose(custom.predict(bags), a.predict(bags), rtol=1e-6, atol=1e-6)
    huber = DeepMILRegressor(loss=lambda z, t: torch.nn.functional.huber_loss(
        z, t, reduction="none", delta=0.1), **kw).fit(bags, y)
    assert not np.allclose(huber.predict(bags), a.predict(bags))


def test_emdd_regressor_gradient_and_written_out_em():
    from scipy.optimize import check_grad, minimize

    from skmil.dd import EMDDRegressor
    from skmil.dd.emdd_regressor import _selected_loss

    rng = np.random.RandomState(0)
    X, lab, h = rng.normal(size=(20, 3)), rng.uniform(size=20), rng.normal(size=6)
    assert check_grad(lambda hh: _selected_loss(X, lab, hh, 3)[0],
                      lambda hh: _selected_loss(X, lab, hh, 3)[1], h) < 1e-5

    bags, y, _ = make_mil_regression(n_bags=30, n_features=3, bag_size=4, rule="max",
                                     random_state=1)
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        # five rounds on purpose: the written-out EM below runs the same five
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = EMDDRegressor(n_starts=1, standardize=False, max_iter=5).fit(bags, y)
    # the same EM written out: start at the instances of the highest-target bag
    labels = (y - y.min()) / (y.max() - y.min())

    def value(h, x):
        return np.exp(-np.sum(h[3:] ** 2 * (x - h[:3]) ** 2, axis=-1))

    def bag_error(h):
        return sum((max(value(h, b)) - lab) ** 2 for b, lab in zip(bags, labels))

    best = None
    for x0 in bags[int(np.argmax(y))]:
        h = np.concatenate([x0, np.ones(3)])
        err = bag_error(h)
        for _ in range(5):
            sel = np.array([b[np.argmax(value(h, b))] for b in bags])
            res = minimize(lambda hh, sel=sel: _selected_loss(sel, labels, hh, 3), h,
                           jac=True, method="L-BFGS-B",
                           options={"maxfun": 200, "maxiter": 200})
            new = bag_error(res.x)
            if not new < err:
                break
            h, err = res.x, new
        if best is None or err < best[0]:
            best = (err, h)
    h = best[1]
    expected = [y.min() + (y.max() - y.min()) * max(value(h, b)) for b in bags]
    np.testing.assert_allclose(reg.predict(bags), expected, rtol=1e-5, atol=1e-6)
    assert reg.start_bags_.tolist() == [int(np.argmax(y))]
