"""Diverse Density / EM-DD: gradients vs finite differences, worked examples, thresholds."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.optimize import approx_fprime
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from skmil._kernels.dd import nldd_mlc_selected, nldd_noisy_or, segment_argmin_dist
from skmil.bags import check_bags
from skmil.base import get_mil_tags
from skmil.datasets import make_mil_classification
from skmil.dd import EMDD, DiverseDensity


def _nldd_noisy_or_ref(bags, y, t, s):
    """Direct formula, fine where probabilities do not underflow."""
    f = 0.0
    for bag, lab in zip(bags, y):
        p = np.exp(-np.sum((s * (bag - t)) ** 2, axis=1))
        f -= np.log(1 - np.prod(1 - p)) if lab == 1 else np.sum(np.log(1 - p))
    return f


@pytest.fixture(scope="module")
def small():
    rng = np.random.RandomState(0)
    bags = [rng.randn(rng.randint(1, 5), 3) * 0.7 for _ in range(8)]
    y = np.array([1, 0, 1, 0, 1, 1, 0, 0])
    return bags, y, check_bags(bags)


def _fd_check(fun, h, rtol=1e-5):
    grad = np.empty_like(h)
    f = fun(h, grad)
    num = approx_fprime(h, lambda v: fun(v, np.empty_like(v)), 1e-7)
    np.testing.assert_allclose(grad, num, rtol=rtol, atol=1e-5 * max(1.0, abs(f)))
    return f


@pytest.mark.parametrize("scale", [0.3, 0.6, 1.0])
def test_noisy_or_value_and_gradient(small, scale):
    bags, y, b = small
    rng = np.random.RandomState(1)
    d = 3
    h = np.concatenate([rng.randn(d) * 0.5, np.full(d, scale) + rng.rand(d) * 0.1])

    def fun(v, g):
        return nldd_noisy_or(b.instances, b.offsets, y, v[:d].copy(), v[d:].copy(), g)

    f = _fd_check(fun, h)
    assert f == pytest.approx(_nldd_noisy_or_ref(bags, y, h[:d], h[d:]), rel=1e-10)


def test_noisy_or_underflow_regime_is_finite_and_exact_gradient(small):
    # every instance far from t: positive-bag probabilities underflow, the kernel switches
    # to logsumexp(-D), whose gradient must still match finite differences
    bags, y, b = small
    d = 3
    h = np.concatenate([np.full(d, 4.0), np.full(d, 3.0)])

    def fun(v, g):
        return nldd_noisy_or(b.instances, b.offsets, y, v[:d].copy(), v[d:].copy(), g)

    f = _fd_check(fun, h, rtol=1e-4)
    assert np.isfinite(f)
    # positive bag terms equal -logsumexp(-D) (the limit of the exact formula)
    ref = 0.0
    for bag, lab in zip(bags, y):
        D = np.sum((h[d:] * (bag - h[:d])) ** 2, axis=1)
        if lab == 1:
            ref -= -D.min() + np.log(np.sum(np.exp(D.min() - D)))
        else:
            ref -= np.sum(np.log(-np.expm1(-D)))
    assert f == pytest.approx(ref, rel=1e-9)


def test_mlc_value_and_gradient(small):
    _, y, b = small
    rng = np.random.RandomState(2)
    Xsel = np.ascontiguousarray(b.instances[b.offsets[:-1]])
    d = 3
    h = np.concatenate([rng.randn(d) * 0.3, np.ones(d)])

    def fun(v, g):
        return nldd_mlc_selected(Xsel, y, v[:d].copy(), v[d:].copy(), g)

    f = _fd_check(fun, h)
    p = np.exp(-np.sum((h[d:] * (Xsel - h[:d])) ** 2, axis=1))
    assert f == pytest.approx(-np.sum(np.where(y == 1, np.log(p), np.log(1 - p))), rel=1e-10)


def test_e_step_argmin_matches_loop(small):
    bags, _, b = small
    t, s = np.array([0.1, -0.2, 0.3]), np.array([1.0, 2.0, 0.5])
    idx, val = segment_argmin_dist(b.instances, b.offsets, t, s)
    for i, bag in enumerate(bags):
        D = np.sum((s * (bag - t)) ** 2, axis=1)
        assert idx[i] == b.offsets[i] + np.argmin(D)
        assert val[i] == pytest.approx(D.min())


def _planted():
    # every positive bag holds one instance near (2, -1, 0); negatives do not
    rng = np.random.RandomState(0)
    bags, y = [], []
    for i in range(20):
        bag = rng.uniform(-4, 4, size=(5, 3))
        bag = bag[np.linalg.norm(bag - [2, -1, 0], axis=1) > 1.5]
        if i % 2 == 0:
            bag = np.vstack([bag, [2, -1, 0] + 0.05 * rng.randn(3)])
        bags.append(bag)
        y.append(int(i % 2 == 0))
    return bags, np.array(y)


@pytest.mark.parametrize("cls", [DiverseDensity, EMDD])
def test_finds_planted_concept(cls):
    bags, y = _planted()
    est = cls(standardize=False, random_state=0).fit(bags, y)
    # where a feature keeps weight, the target sits on the planted point (a feature
    # whose scale collapses to 0 is ignored, so its target coordinate is arbitrary)
    assert np.all(np.abs(est.scales_ * (est.target_ - [2, -1, 0])) < 0.3)
    assert est.score(bags, y) == 1.0
    # the witnesses are exactly the planted instances
    inst = est.predict_instances(bags)
    for bag, lab, pred in zip(bags, y, inst):
        expected = np.zeros(len(bag), dtype=int)
        if lab:
            expected[-1] = 1
        np.testing.assert_array_equal(pred, expected)


@pytest.mark.parametrize("cls", [DiverseDensity, EMDD])
def test_decision_is_log_odds_minus_threshold(cls):
    bags, y, _ = make_mil_classification(n_bags=30, n_features=4, bag_size=5, random_state=0)
    kw = {"n_init": 5} if cls is DiverseDensity else {}
    for thr in (0.0, -1.4, "auto"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # max_fun=50 on purpose
            est = cls(threshold=thr, random_state=0, max_fun=50, **kw).fit(bags, y)
        if thr != "auto":
            assert est.threshold_ == thr
        p = est.predict_proba(bags)[:, 1]
        dec = est.decision_function(bags)
        mask = (p > 1e-6) & (p < 1 - 1e-6)
        np.testing.assert_allclose(dec[mask], (np.log(p) - np.log1p(-p))[mask] - est.threshold_,
                                   rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(est.predict(bags), (dec > 0).astype(int))
        # instance scores follow exp(-||x - t||_s^2) with the same threshold
        pi = np.concatenate(est.predict_proba_instances(bags))
        wit = np.concatenate(est.predict_instances(bags))
        p_thr = 1.0 / (1.0 + np.exp(-est.threshold_))
        clear = np.abs(pi - p_thr) > 1e-9
        np.testing.assert_array_equal(wit[clear], (pi > p_thr).astype(int)[clear])


def test_auto_threshold_is_the_inner_cv_one():
    # "auto" goes through the one engine: clones with threshold 0 on the inner folds
    from skmil._inner_cv import inner_cv_splits, search_refit
    from skmil._threshold import best_threshold
    from skmil.bags import check_bags

    bags, y, _ = make_mil_classification(n_bags=30, n_features=4, bag_size=5, random_state=0)
    est = EMDD(threshold="auto", random_state=0, max_fun=50, max_iter=50).fit(bags, y)
    b = check_bags(bags)
    order = est._train_order
    canon = b.take(order)
    splits = inner_cv_splits(canon, y[order], 0)
    base = EMDD(random_state=0, max_fun=50, max_iter=50)
    _, dec = search_refit(base, canon, y[order], [{}], splits)
    assert est.threshold_ == best_threshold(dec[0], y[order] == 1, splits)


def test_emdd_max_rule_and_dd_noisy_or_rule():
    bags, y, _ = make_mil_classification(n_bags=20, n_features=3, bag_size=4, random_state=1)
    em = EMDD(random_state=0, max_fun=50).fit(bags, y)
    pi = em.predict_proba_instances(bags)
    np.testing.assert_allclose(em.predict_proba(bags)[:, 1], [p.max() for p in pi], rtol=1e-9)
    assert get_mil_tags(em).bag_rule == "max"
    dd = DiverseDensity(n_init=3, random_state=0, max_fun=50).fit(bags, y)
    pi = dd.predict_proba_instances(bags)
    np.testing.assert_allclose(dd.predict_proba(bags)[:, 1],
                               [1 - np.prod(1 - p) for p in pi], rtol=1e-7, atol=1e-12)
    assert get_mil_tags(dd).bag_rule == "noisy-or"
    dd_max = clone(dd).set_params(pooling="max").fit(bags, y)
    assert get_mil_tags(dd_max).bag_rule == "max"
    np.testing.assert_allclose(dd_max.decision_function(bags),
                               [s.max() for s in dd_max.decision_function_instances(bags)])


def test_emdd_selection_by_training_error():
    bags, y, _ = make_mil_classification(n_bags=30, n_features=4, bag_size=5, random_state=2)
    a = EMDD(selection="train_error", random_state=0, max_fun=50).fit(bags, y)
    b = EMDD(selection="nldd", random_state=0, max_fun=50).fit(bags, y)
    assert a.train_error_ <= b.train_error_
    assert b.nldd_ <= a.nldd_ + 1e-12
    np.testing.assert_allclose(1 - a.score(bags, y), a.train_error_)


def test_caps_warn():
    bags, y, _ = make_mil_classification(n_bags=20, n_features=3, bag_size=4, random_state=1)
    with pytest.warns(ConvergenceWarning, match="max_fun=2"):
        DiverseDensity(n_init=2, max_fun=2, random_state=0).fit(bags, y)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        EMDD(max_iter=1, random_state=0).fit(bags, y)
    # a round that gains at most tol * |NLDD| ends EM: converged, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        EMDD(max_iter=1, tol=1.0, random_state=0).fit(bags, y)


def test_start_indices_in_the_users_numbering():
    bags, y, _ = make_mil_classification(n_bags=10, n_features=2, bag_size=3, random_state=0)
    est = DiverseDensity(n_init="all", max_fun=20).fit(bags, y)
    pos_rows = np.flatnonzero(np.repeat(y == 1, [len(b) for b in bags]))
    np.testing.assert_array_equal(est.start_indices_, pos_rows)
    sub = DiverseDensity(n_init=3, max_fun=20, random_state=0).fit(bags, y)
    assert set(sub.start_indices_) <= set(pos_rows)
    em = EMDD(n_pos_bags_init=2, random_state=0, max_fun=20).fit(bags, y)
    assert np.all(y[em.start_bags_] == 1)
    perm = np.random.RandomState(0).permutation(len(bags))
    em_p = EMDD(n_pos_bags_init=2, random_state=0, max_fun=20).fit(
        [bags[i] for i in perm], y[perm])
    np.testing.assert_array_equal(np.sort(perm[em_p.start_bags_]), em.start_bags_)


def test_bad_params():
    bags, y, _ = make_mil_classification(n_bags=10, n_features=2, bag_size=3, random_state=0)
    for est, match in [(DiverseDensity(n_init=0), "n_init"),
                       (DiverseDensity(threshold="x"), "threshold"),
                       (DiverseDensity(pooling="mean"), "pooling"),
                       (EMDD(selection="x"), "selection"),
                       (EMDD(max_iter=0), "max_iter"),
                       (EMDD(tol=-1.0), "tol"),
                       (EMDD(init_scale=0), "init_scale")]:
        with pytest.raises(ValueError, match=match):
            est.fit(bags, y)
