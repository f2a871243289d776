"""MILogisticRegression: gradients, a plain-Python reference fit, scikit-learn special cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import check_grad, minimize
from sklearn.linear_model import LogisticRegression

from skmil.bags import check_bags
from skmil.base import get_mil_tags
from skmil.linear_model import MILogisticRegression
from skmil.linear_model.milr import _bag_logits, _bag_loss_and_grad


def _problem(n_bags=24, d=3, seed=0, max_size=5):
    rng = np.random.RandomState(seed)
    bags, y = [], []
    for i in range(n_bags):
        size = rng.randint(1, max_size + 1)
        X = rng.normal(size=(size, d))
        label = i % 2
        if label:
            X[0, 0] += 2.5  # one witness per positive bag, along feature 0
        bags.append(X)
        y.append(label)
    return bags, np.array(y)


def _bag_nll(w, b, bags, y, pooling, weights=None):
    """The bags' negative log-likelihood, one bag and one instance at a time."""
    total = 0.0
    for i, (X, label) in enumerate(zip(bags, y)):
        ps = [1.0 / (1.0 + math.exp(-(float(np.dot(w, x)) + b))) for x in X]
        if pooling == "noisy-or":
            p_neg = 1.0
            for p in ps:
                p_neg *= 1.0 - p
            p_pos = 1.0 - p_neg
        else:  # Xu & Frank: geometric means of the instance probabilities, normalised
            g_pos = math.exp(sum(math.log(p) for p in ps) / len(ps))
            g_neg = math.exp(sum(math.log(1.0 - p) for p in ps) / len(ps))
            p_pos = g_pos / (g_pos + g_neg)
        nll = -math.log(p_pos) if label == 1 else -math.log(1.0 - p_pos)
        total += (1.0 if weights is None else weights[i]) * nll
    return total


@pytest.mark.parametrize("pooling", ["noisy-or", "mean"])
def test_loss_matches_per_bag_loop_and_gradient_matches_finite_differences(pooling):
    bags, y = _problem()
    b = check_bags(bags)
    rng = np.random.RandomState(1)
    weight = rng.uniform(0.5, 2.0, size=len(bags))
    w, c = rng.normal(size=3), 0.3
    loss, _ = _bag_loss_and_grad(b.instances @ w + c, b.offsets, b.sizes, y.astype(float),
                                 weight, pooling)
    assert loss == pytest.approx(_bag_nll(w, c, bags, y, pooling, weight), rel=1e-12)

    def f(z):
        return _bag_loss_and_grad(z, b.offsets, b.sizes, y.astype(float), weight, pooling)[0]

    def g(z):
        return _bag_loss_and_grad(z, b.offsets, b.sizes, y.astype(float), weight, pooling)[1]

    z0 = b.instances @ w + c
    assert check_grad(f, g, z0, epsilon=1e-6) < 1e-5 * max(1.0, np.abs(g(z0)).max())


@pytest.mark.parametrize("penalty", ["l2", "l1", None])
@pytest.mark.parametrize("pooling", ["noisy-or", "mean"])
def test_objective_gradient_in_parameters(pooling, penalty):
    bags, y = _problem(seed=3)
    b = check_bags(bags)
    est = MILogisticRegression(pooling=pooling, penalty=penalty, C=0.7)
    fun = est._objective(b, b.instances, y.astype(float), np.ones(len(bags)))
    d = b.n_features
    rng = np.random.RandomState(0)
    n = 2 * d + 1 if penalty == "l1" else d + 1
    theta = rng.uniform(0.1, 1.0, size=n)  # L1 halves stay inside their bounds
    err = check_grad(lambda t: fun(t)[0], lambda t: fun(t)[1], theta, epsilon=1e-7)
    assert err < 1e-6


def test_saturated_bags_give_finite_loss_gradient_and_logits():
    offsets = np.array([0, 2, 4, 5])
    sizes = np.diff(offsets)
    z = np.array([900.0, -900.0, -800.0, -750.0, 0.0])
    for pooling in ("noisy-or", "mean"):
        for y in (np.array([1.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])):
            loss, g = _bag_loss_and_grad(z, offsets, sizes, y, np.ones(3), pooling)
            assert np.isfinite(loss) and np.all(np.isfinite(g))
        L = _bag_logits(z, offsets, sizes, pooling)
        assert np.all(np.isfinite(L))
    # noisy-or of tiny probabilities: log-odds ~ log(sum exp(z)) (every z below -600)
    L = _bag_logits(z, offsets, sizes, "noisy-or")
    assert L[1] == pytest.approx(np.logaddexp(-800.0, -750.0), rel=1e-12)
    assert L[0] == pytest.approx(900.0)


@pytest.mark.parametrize("pooling", ["noisy-or", "mean"])
def test_fit_reaches_the_optimum_of_a_plain_python_loss(pooling):
    bags, y = _problem(n_bags=16, d=2, seed=5)
    C = 2.0
    est = MILogisticRegression(pooling=pooling, C=C, standardize=False, tol=1e-10).fit(bags, y)

    def ref(theta):
        return _bag_nll(theta[:2], theta[2], bags, y, pooling) + theta[:2] @ theta[:2] / (2 * C)

    res = minimize(ref, np.zeros(3), method="Nelder-Mead",
                   options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})
    ours = np.concatenate([est.coef_[0], est.intercept_])
    assert ref(ours) <= res.fun + 1e-9
    np.testing.assert_allclose(ours, res.x, atol=1e-4)


@pytest.mark.parametrize("penalty", ["l2", "l1"])
def test_one_instance_per_bag_noisy_or_is_logistic_regression(penalty):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] - 0.5 * X[:, 1] + rng.normal(scale=0.8, size=80) > 0.3).astype(int)
    bags = [x[None, :] for x in X]
    C = 0.5
    est = MILogisticRegression(penalty=penalty, C=C, standardize=False, tol=1e-10,
                               max_iter=10000).fit(bags, y)
    if penalty == "l2":
        lr = LogisticRegression(C=C, l1_ratio=0.0, tol=1e-12, max_iter=10000)
    else:
        lr = LogisticRegression(C=C, l1_ratio=1.0, solver="saga", tol=1e-12, max_iter=100000)
    lr.fit(X, y)
    np.testing.assert_allclose(est.coef_, lr.coef_, atol=1e-5)
    np.testing.assert_allclose(est.intercept_, lr.intercept_, atol=1e-5)
    np.testing.assert_allclose(est.predict_proba(bags), lr.predict_proba(X), atol=1e-6)


def test_mean_pooling_is_logistic_regression_on_bag_means():
    bags, y = _problem(n_bags=40, d=3, seed=2)
    means = np.array([b.mean(axis=0) for b in bags])
    est = MILogisticRegression(pooling="mean", C=0.3, standardize=False, tol=1e-10).fit(bags, y)
    lr = LogisticRegression(C=0.3, tol=1e-12, max_iter=10000).fit(means, y)
    np.testing.assert_allclose(est.coef_, lr.coef_, atol=1e-5)
    np.testing.assert_allclose(est.decision_function(bags), lr.decision_function(means),
                               atol=1e-5)


def test_l1_sets_irrelevant_features_to_exactly_zero():
    rng = np.random.RandomState(0)
    bags, y = [], []
    for i in range(60):
        X = rng.normal(size=(rng.randint(2, 6), 8))
        if i % 2:
            X[0, :2] += 3.0  # features 0 and 1 carry the witness
        bags.append(X)
        y.append(i % 2)
    est = MILogisticRegression(penalty="l1", C=0.2).fit(bags, y)
    coef = est.coef_[0]
    assert np.all(coef[:2] > 0)
    assert np.count_nonzero(coef[2:] == 0.0) >= 4
    dense = MILogisticRegression(penalty="l2", C=0.2).fit(bags, y)
    assert np.count_nonzero(dense.coef_[0] == 0.0) == 0


def test_class_weight_equals_repeating_bags():
    bags, y = _problem(n_bags=20, seed=4)
    est = MILogisticRegression(class_weight={1: 2.0}, tol=1e-10).fit(bags, y)
    twice = bags + [b for b, lab in zip(bags, y) if lab == 1]
    y2 = np.concatenate([y, np.ones(int(y.sum()), dtype=int)])
    # standardisation must see the same instances: fix it outside the estimator
    mean = np.concatenate(bags).mean(axis=0)
    std = np.concatenate(bags).std(axis=0)
    a = MILogisticRegression(class_weight={1: 2.0}, standardize=False, tol=1e-10).fit(
        [(b - mean) / std for b in bags], y)
    b2 = MILogisticRegression(standardize=False, tol=1e-10).fit(
        [(b - mean) / std for b in twice], y2)
    np.testing.assert_allclose(a.coef_, b2.coef_, atol=1e-6)
    np.testing.assert_allclose(a.intercept_, b2.intercept_, atol=1e-6)
    # and the standardised fit is the same model expressed in the input units
    np.testing.assert_allclose(est.coef_, a.coef_ / std, atol=1e-5)


def test_standardize_reports_coefficients_in_input_units():
    bags, y = _problem(n_bags=30, seed=6)
    bags = [b * [1.0, 100.0, 0.01] + [5.0, -300.0, 2.0] for b in bags]
    est = MILogisticRegression().fit(bags, y)
    for X, s in zip(bags, est.decision_function_instances(bags)):
        np.testing.assert_allclose(s, X @ est.coef_[0] + est.intercept_[0], atol=1e-8)


@pytest.mark.parametrize("pooling", ["noisy-or", "mean"])
def test_bag_scores_follow_instance_scores_by_the_declared_rule(pooling):
    bags, y = _problem(seed=7)
    est = MILogisticRegression(pooling=pooling).fit(bags, y)
    assert get_mil_tags(est).bag_rule == pooling
    scores = est.decision_function_instances(bags)
    proba_inst = est.predict_proba_instances(bags)
    expected = []
    for s, p in zip(scores, proba_inst):
        np.testing.assert_allclose(p, 1 / (1 + np.exp(-s)), rtol=1e-12)
        if pooling == "noisy-or":
            p_pos = 1.0 - np.prod(1.0 - p)
        else:
            p_pos = 1 / (1 + np.exp(-s.mean()))
        expected.append(p_pos)
    np.testing.assert_allclose(est.predict_proba(bags)[:, 1], expected, rtol=1e-10)
    np.testing.assert_allclose(est.decision_function(bags),
                               np.log(expected) - np.log1p(-np.array(expected)), rtol=1e-8)
    if pooling == "noisy-or":
        assert np.all(est.decision_function(bags) >= [s.max() for s in scores])


def test_max_iter_cap_warns():
    from sklearn.exceptions import ConvergenceWarning

    bags, y = _problem(seed=8)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        MILogisticRegression(max_iter=1, tol=0.0).fit(bags, y)
