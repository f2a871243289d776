"""Bag-embedding family checked against slow, obviously-correct loop references."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.mixture import GaussianMixture
from sklearn.svm import SVC

from skmil._kernels import encoders
from skmil._kernels.encoders import bag_chunks, fisher_encode, gmm_posteriors, nearest_centres
from skmil.bags import check_bags
from skmil.base import get_mil_tags
from skmil.datasets import make_mil_classification
from skmil.embedding import (
    MILES,
    BagOfWords,
    BagOfWordsClassifier,
    FisherVectorEncoder,
    MiFV,
    MILESEmbedding,
    MiVLAD,
    VLADEncoder,
)


@pytest.fixture(scope="module")
def data(mil_problem):
    return mil_problem(n_bags=24, n_features=3, bag_size=6, class_sep=3.0, random_state=1)


def _ref_nearest(x, C):
    best, arg = np.inf, -1
    for k in range(C.shape[0]):
        d = sum((x[f] - C[k, f]) ** 2 for f in range(C.shape[1]))
        if d < best:
            best, arg = d, k
    return arg


def _ref_posterior_gmm(x, w, mu, var):
    logp = []
    for k in range(len(w)):
        s = np.log(w[k])
        for f in range(len(x)):
            s += -0.5 * np.log(2 * np.pi * var[k, f]) - 0.5 * (x[f] - mu[k, f]) ** 2 / var[k, f]
        logp.append(s)
    logp = np.array(logp)
    p = np.exp(logp - logp.max())
    return p / p.sum()


def test_bag_chunks_cover_every_bag_once():
    offsets = np.array([0, 3, 4, 40, 41, 45, 50])
    for size in (1, 4, 10, 100):
        chunks = list(bag_chunks(offsets, size))
        assert chunks[0][0] == 0 and chunks[-1][1] == 6
        assert all(a[1] == b[0] and a[0] < a[1] for a, b in zip(chunks, chunks[1:]))
        for b0, b1 in chunks:  # a chunk exceeds the budget only when it is one big bag
            assert offsets[b1] - offsets[b0] <= size or b1 == b0 + 1


def test_nearest_centres_matches_loop():
    rng = np.random.RandomState(0)
    X, C = rng.randn(50, 4), rng.randn(6, 4)
    got = nearest_centres(X, C, chunk_size=7)
    np.testing.assert_array_equal(got, [_ref_nearest(x, C) for x in X])


@pytest.mark.parametrize("normalize", ["l1", "hellinger", "tfidf", None])
@pytest.mark.parametrize("encoding", ["hard", "soft", "presence"])
def test_bag_of_words_kmeans_matches_loop(data, encoding, normalize):
    bags, _, _ = data
    enc = BagOfWords(n_clusters=5, encoding=encoding, normalize=normalize, random_state=0,
                     chunk_size=10).fit(bags)
    C = enc.cluster_centers_
    K = C.shape[0]
    ref = np.zeros((len(bags), K))
    for i, bag in enumerate(bags):
        for x in bag:
            if encoding == "soft":
                d2 = np.array([np.sum((x - c) ** 2) for c in C])
                q = np.exp(-enc.gamma_ * d2)
                ref[i] += q / q.sum()
            else:
                ref[i, _ref_nearest(x, C)] += 1
    if encoding == "soft":  # gamma 'median': 1 / median squared nearest-centre distance
        X = np.vstack(bags)
        nearest = [min(np.sum((x - c) ** 2) for c in C) for x in X]
        assert enc.gamma_ == pytest.approx(1.0 / np.median(nearest), rel=1e-9)
    counts = ref.copy()
    sizes = np.array([len(b) for b in bags], dtype=float)[:, None]
    if encoding == "presence":
        ref = (counts > 0).astype(float)
    elif normalize == "l1":
        ref = counts / sizes
    elif normalize == "hellinger":
        ref = np.sqrt(counts / sizes)
    elif normalize == "tfidf":
        df = np.minimum(counts, 1).sum(axis=0)
        ref = counts / sizes * (np.log((1 + len(bags)) / (1 + df)) + 1)
        ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    np.testing.assert_allclose(enc.transform(bags), ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("encoding", ["hard", "soft"])
def test_bag_of_words_gmm_uses_posteriors(data, encoding):
    bags, _, _ = data
    enc = BagOfWords(n_clusters=3, codebook="gmm", encoding=encoding, random_state=0).fit(bags)
    ref = np.zeros((len(bags), 3))
    for i, bag in enumerate(bags):
        for x in bag:
            p = _ref_posterior_gmm(x, enc.weights_, enc.cluster_centers_, enc.variances_)
            if encoding == "soft":
                ref[i] += p
            else:
                ref[i, np.argmax(p)] += 1
        ref[i] /= len(bag)
    np.testing.assert_allclose(enc.transform(bags), ref, rtol=1e-8, atol=1e-12)


def test_vlad_matches_loop(data):
    bags, _, _ = data
    for power, l2 in [(None, False), (0.5, True), (0.3, False)]:
        enc = VLADEncoder(n_clusters=4, power=power, normalize="l2" if l2 else None, random_state=0,
                          chunk_size=5).fit(bags)
        C = enc.cluster_centers_
        d = C.shape[1]
        ref = np.zeros((len(bags), 4 * d))
        for i, bag in enumerate(bags):
            for x in bag:
                k = _ref_nearest(x, C)
                for f in range(d):
                    ref[i, k * d + f] += x[f] - C[k, f]
            if power is not None:
                ref[i] = np.sign(ref[i]) * np.abs(ref[i]) ** power
            if l2:
                ref[i] /= np.sqrt(np.sum(ref[i] ** 2))
        np.testing.assert_allclose(enc.transform(bags), ref, rtol=1e-9, atol=1e-12)


def test_gmm_posteriors_match_sklearn():
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(60, 3), rng.randn(60, 3) + 4])
    gmm = GaussianMixture(2, covariance_type="diag", random_state=0).fit(X)
    got = gmm_posteriors(X, gmm.weights_, gmm.means_, gmm.covariances_)
    np.testing.assert_allclose(got, gmm.predict_proba(X), rtol=1e-8, atol=1e-12)


def _ref_fisher(bag, w, mu, var, include_weights, include_variances):
    K, d = mu.shape
    n = len(bag)
    gw, gm, gv = np.zeros(K), np.zeros((K, d)), np.zeros((K, d))
    for x in bag:
        g = _ref_posterior_gmm(x, w, mu, var)
        for k in range(K):
            gw[k] += (g[k] - w[k]) / (n * np.sqrt(w[k]))
            for f in range(d):
                z = (x[f] - mu[k, f]) / np.sqrt(var[k, f])
                gm[k, f] += g[k] * z / (n * np.sqrt(w[k]))
                gv[k, f] += g[k] * (z * z - 1) / (n * np.sqrt(2 * w[k]))
    parts = ([gw] if include_weights else []) + [gm.ravel()]
    parts += [gv.ravel()] if include_variances else []
    return np.concatenate(parts)


@pytest.mark.parametrize("include_weights, include_variances", [(True, True), (False, True),
                                                                (True, False)])
def test_fisher_vector_matches_direct_formula(data, include_weights, include_variances):
    bags, _, _ = data
    enc = FisherVectorEncoder(n_clusters=3, include_weights=include_weights,
                              include_variances=include_variances, power=None,
                              normalize=None, dtype="float64", random_state=0,
                              chunk_size=8).fit(bags)
    ref = np.array([_ref_fisher(b, enc.weights_, enc.means_, enc.variances_,
                                include_weights, include_variances) for b in bags])
    np.testing.assert_allclose(enc.transform(bags), ref, rtol=1e-8, atol=1e-10)
    # normalised: signed sqrt then L2
    enc.set_params(power=0.5, normalize="l2")
    z = np.sign(ref) * np.sqrt(np.abs(ref))
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    np.testing.assert_allclose(enc.transform(bags), z, rtol=1e-7, atol=1e-10)


def test_fisher_vector_with_pca_and_raw_kernel(data):
    bags, _, _ = data
    enc = FisherVectorEncoder(n_clusters=2, pca=2, random_state=0).fit(bags)
    assert enc.means_.shape == (2, 2)
    assert enc.transform(bags).shape == (len(bags), 2 + 2 * 2 * 2)
    b = check_bags(bags)
    Xp = enc.pca_.transform(b.instances)
    raw = fisher_encode(Xp, b.offsets, enc.weights_, enc.means_, enc.variances_)
    ref = np.array([_ref_fisher(Xp[b.offsets[i]:b.offsets[i + 1]], enc.weights_, enc.means_,
                                enc.variances_, True, True) for i in range(b.n_bags)])
    np.testing.assert_allclose(raw, ref, rtol=1e-8, atol=1e-10)


def test_fisher_vector_pca_chunks_match_one_pass(data):
    bags, _, _ = data
    one = FisherVectorEncoder(n_clusters=2, pca=3, dtype="float64", random_state=0).fit(bags)
    b = check_bags(bags)
    whole = fisher_encode(one.pca_.transform(b.instances), b.offsets, one.weights_,
                          one.means_, one.variances_)
    for chunk_size in (1, 7, 10**6):  # one bag a chunk, several bags, everything
        enc = FisherVectorEncoder(n_clusters=2, pca=3, dtype="float64", random_state=0,
                                  chunk_size=chunk_size).fit(bags)
        np.testing.assert_allclose(enc._raw(b), whole, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(enc.transform(bags), one.transform(bags),
                                   rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="out must be"):
        fisher_encode(b.instances[:, :3], b.offsets, one.weights_, one.means_,
                      one.variances_, out=np.empty((b.n_bags, 3)))


@pytest.mark.parametrize("pca", [None, 3])
def test_fisher_vector_float32_output_is_the_rounded_float64_one(data, pca):
    bags, y, _ = data
    kw = {"n_clusters": 3, "pca": pca, "random_state": 0}
    f64 = FisherVectorEncoder(dtype="float64", **kw).fit(bags)
    f32 = FisherVectorEncoder(dtype="float32", **kw).fit(bags)
    ref = f64.transform(bags)
    for raw in (False, True):  # the raw gradients, then the normalised vectors
        got = f32._raw(check_bags(bags)) if raw else f32.transform(bags)
        want = f64._raw(check_bags(bags)) if raw else ref
        assert got.dtype == np.float32
        # float64 sums rounded once (raw), or a float32 power/L2 pass (normalised)
        np.testing.assert_allclose(got, want, rtol=2e-6 if raw else 1e-5, atol=1e-7)
    clf = MiFV(n_clusters=3, dtype=np.float32, estimator=LogisticRegression(),
               random_state=0).fit(bags, y)
    assert clf.encoder_.dtype == np.float32
    assert clf.estimator_.coef_.dtype == np.float32  # trained on the float32 codes
    with pytest.raises(ValueError, match="'dtype' parameter of FisherVectorEncoder"):
        FisherVectorEncoder(dtype="int32").fit(bags)
    assert FisherVectorEncoder().dtype == MiFV().dtype == "float32"  # one default


def test_mifv_float32_default_decides_as_float64(data):
    # MiFV stores its normalised Fisher vectors in float32 by default; the default
    # LinearSVC must reach the same decisions as on the float64 vectors
    bags, y, _ = data
    kw = {"n_clusters": 3, "random_state": 0}
    f32 = MiFV(**kw).fit(bags, y)
    f64 = MiFV(dtype="float64", **kw).fit(bags, y)
    assert f32.encoder_.transform(bags).dtype == np.float32
    assert f64.encoder_.transform(bags).dtype == np.float64
    np.testing.assert_allclose(f32.decision_function(bags), f64.decision_function(bags),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(f32.predict(bags), f64.predict(bags))


def test_miles_embedding_matches_double_loop(data):
    bags, _, _ = data
    emb = MILESEmbedding(gamma=0.5, chunk_size=4).fit(bags)
    concepts = emb.concepts_
    np.testing.assert_array_equal(np.sort(concepts, axis=0), np.sort(np.vstack(bags), axis=0))
    ref = np.array([[max(np.exp(-np.sum((x - c) ** 2) / 2.0) for x in bag) for c in concepts]
                    for bag in bags])
    np.testing.assert_allclose(emb.transform(bags), ref, rtol=1e-9, atol=1e-12)
    auto = MILESEmbedding().fit(bags)
    assert auto.gamma_ > 0 and auto.transform(bags).shape == (len(bags), len(concepts))
    assert MILESEmbedding(gamma="auto").fit(bags).gamma_ == 1.0 / concepts.shape[1]
    scale = MILESEmbedding(gamma="scale").fit(bags).gamma_
    assert scale == pytest.approx(1.0 / (concepts.shape[1] * concepts.var()))
    names = emb.get_feature_names_out()
    assert names[0] == "concept0" and len(names) == len(concepts)


def _lp_objective(M, y, w, b, C, mu):
    s = np.where(y == 1, 1.0, -1.0)
    xi = np.maximum(0.0, 1 - s * (M @ w + b))
    c = np.where(y == 1, 2 * mu, 2 * (1 - mu))
    return np.abs(w).sum() + C * np.sum(c * xi)


def test_miles_lp_is_optimal_and_agrees_with_liblinear(data):
    bags, y, _ = data
    lp = MILES(C=1.0).fit(bags, y)
    ll = MILES(C=1.0, solver="liblinear").fit(bags, y)
    M = lp.embedding_.transform(bags)
    obj_lp = _lp_objective(M, y, lp.coef_, lp.intercept_, 1.0, 0.5)
    # the LP optimum is no worse than the liblinear solution under the LP's own objective
    assert obj_lp <= _lp_objective(M, y, ll.coef_, ll.intercept_, 1.0, 0.5) + 1e-6
    # nor than a perturbed version of itself
    rng = np.random.RandomState(0)
    for _ in range(5):
        w2 = lp.coef_ + 0.01 * rng.randn(lp.coef_.size)
        assert obj_lp <= _lp_objective(M, y, w2, lp.intercept_, 1.0, 0.5) + 1e-9
    # both 1-norm SVMs are sparse and mostly agree on the training bags
    assert 0 < lp.selected_concepts_.size < M.shape[1] / 2
    assert np.mean(lp.predict(bags) == ll.predict(bags)) >= 0.9
    np.testing.assert_allclose(lp.decision_function(bags), M @ lp.coef_ + lp.intercept_,
                               rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("solver", ["lp", "liblinear"])
def test_miles_instance_rule(data, solver):
    bags, y, _ = data
    clf = MILES(solver=solver).fit(bags, y)
    f = clf.decision_function(bags)
    scores = clf.decision_function_instances(bags)
    labels = clf.predict_instances(bags)
    contributions = clf.instance_contributions(bags)
    tags = get_mil_tags(clf)
    assert tags.bag_rule == "sum" and tags.instance_outputs == ("instance_contributions",)
    concepts = clf.embedding_.concepts_
    sel = clf.selected_concepts_
    for i, bag in enumerate(bags):
        # loop reference of Chen et al.'s g(x_ij)
        g = np.zeros(len(bag))
        for k in sel:
            d2 = np.array([np.sum((x - concepts[k]) ** 2) for x in bag])
            win = np.flatnonzero(d2 == d2.min())
            g[win] += clf.coef_[k] * np.exp(-clf.embedding_.gamma_ * d2.min()) / len(win)
        np.testing.assert_allclose(scores[i], g + clf.intercept_ / len(bag), atol=1e-9)
        np.testing.assert_allclose(contributions[i], g, atol=1e-9)
        assert scores[i].sum() == pytest.approx(f[i], abs=1e-8)
        # a bag predicted positive has at least one instance above -b / n_i
        if f[i] > 0:
            assert np.any(labels[i] == 1)
        np.testing.assert_array_equal(labels[i] == 1, g > -clf.intercept_ / len(bag))


@pytest.mark.parametrize("encoding, normalize", [("hard", "l1"), ("soft", "l1"),
                                                 ("hard", None), ("soft", None)])
def test_bow_instance_contributions_are_exact(data, encoding, normalize):
    bags, y, _ = data
    clf = BagOfWordsClassifier(n_clusters=4, encoding=encoding, normalize=normalize, C=10.0,
                               random_state=0).fit(bags, y)
    f = clf.decision_function(bags)
    s = clf.decision_function_instances(bags)
    pooled = [v.mean() if normalize == "l1" else v.sum() for v in s]
    np.testing.assert_allclose(pooled, f, rtol=1e-9, atol=1e-9)
    for fi, si, li in zip(f, s, clf.predict_instances(bags)):
        np.testing.assert_array_equal(li == 1, si > 0)
        if fi > 0:
            assert np.any(li == 1)


def test_bow_instance_predictions_absent_where_not_exact(data):
    bags, y, _ = data
    assert not hasattr(BagOfWordsClassifier(normalize="hellinger"), "predict_instances")
    assert not hasattr(BagOfWordsClassifier(encoding="presence"), "predict_instances")
    clf = BagOfWordsClassifier(n_clusters=4, estimator=SVC(), random_state=0)
    assert not hasattr(clf, "predict_instances")
    assert not hasattr(clf.fit(bags, y), "decision_function_instances")
    lin = BagOfWordsClassifier(n_clusters=4, estimator=LogisticRegression(), random_state=0)
    assert hasattr(lin.fit(bags, y), "predict_instances") and hasattr(lin, "predict_proba")
    assert not hasattr(MiVLAD(), "predict_instances") and not hasattr(MiFV(), "predict_instances")


def test_classifiers_learn_and_take_a_classifier():
    bags, y, _ = make_mil_classification(n_bags=40, n_features=4, class_sep=5.0, random_state=2)
    assert MiFV(random_state=0).fit(bags, y).score(bags, y) >= 0.95
    # VLAD keeps first-order residuals only (no counts), so a tight witness cluster of
    # its own carries little signal: a weaker, but still better-than-chance, fit here
    # (training accuracy 0.70-0.93 over random_state 0-4, with the k-means codebook)
    for clf in (MiVLAD(n_clusters=6, random_state=0),
                MiVLAD(n_clusters=6, estimator=LogisticRegression(C=10), random_state=0)):
        assert clf.fit(bags, y).score(bags, y) >= 0.7
    assert not hasattr(MiVLAD(), "predict_proba")
    assert hasattr(MiVLAD(estimator=LogisticRegression()), "predict_proba")


@pytest.mark.parametrize(
    "est, match",
    [
        (VLADEncoder(codebook="spectral"), "'codebook' parameter of VLADEncoder"),
        (VLADEncoder(power=2.0), "'power' parameter of VLADEncoder"),
        (VLADEncoder(normalize="l1"), "'normalize' parameter of VLADEncoder"),
        (FisherVectorEncoder(pca=1.5), "'pca' parameter of FisherVectorEncoder"),
        (FisherVectorEncoder(n_clusters=0), "'n_clusters' parameter of FisherVectorEncoder"),
        (BagOfWords(encoding="fuzzy"), "'encoding' parameter of BagOfWords"),
        (BagOfWords(normalize="l2"), "'normalize' parameter of BagOfWords"),
        (BagOfWords(encoding="soft", gamma=-1.0), "'gamma' parameter of BagOfWords"),
        (MILESEmbedding(gamma=0.0), "'gamma' parameter of MILESEmbedding"),
    ],
)
def test_parameter_errors(data, est, match):
    bags, _, _ = data
    with pytest.raises(ValueError, match=match):
        est.fit(bags)


def test_errors_that_need_the_data(data):
    bags, _, _ = data
    with pytest.raises(ValueError, match="n_clusters=1000 is larger"):
        VLADEncoder(n_clusters=1000).fit(bags)
    with pytest.raises(ValueError, match="pca=5 is more components"):
        FisherVectorEncoder(pca=5).fit(bags)


def test_classifier_parameter_errors(data):
    bags, y, _ = data
    with pytest.raises(ValueError, match="'mu' parameter of MILES"):
        MILES(mu=1.5).fit(bags, y)
    with pytest.raises(ValueError, match="'solver' parameter of MILES"):
        MILES(solver="cvx").fit(bags, y)
    with pytest.raises(ValueError, match="'C' parameter of MiVLAD"):
        MiVLAD(C=-1).fit(bags, y)
    with pytest.raises(TypeError, match="'estimator' parameter of MiFV"):
        MiFV(estimator="svm").fit(bags, y)
    with pytest.raises(ValueError, match="'n_clusters' parameter of BagOfWordsClassifier"):
        BagOfWordsClassifier(n_clusters="auto").fit(bags, y)  # BagOfWords has no BIC size


def test_chunk_size_does_not_change_results(data):
    bags, _, _ = data
    for cls, kw in ((VLADEncoder, {"n_clusters": 3}), (FisherVectorEncoder, {"n_clusters": 2}),
                    (BagOfWords, {"n_clusters": 3, "encoding": "soft"})):
        a = cls(random_state=0, chunk_size=1, **kw).fit(bags).transform(bags)
        b = cls(random_state=0, **kw).fit(bags).transform(bags)
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_inner_cv_selection_matches_brute_force(data, monkeypatch):
    # reference: every (K, C) candidate refitted and scored by hand on the engine's folds
    from sklearn.svm import LinearSVC

    from skmil._inner_cv import C_GRID, canonical_order, inner_cv_splits

    bags, y, _ = data
    y = np.asarray(y)
    monkeypatch.setattr(MiVLAD, "_cv_sizes", (1, 3, 100))  # 100: too few instances, skipped
    clf = MiVLAD(n_clusters="cv", C="cv", random_state=0).fit(bags, y)
    b = check_bags(bags)
    order = canonical_order(b, y)  # the order the base fits in
    canon, y_c = b.take(order), y[order]
    splits = inner_cv_splits(canon, y_c, 0)
    n = sum(len(bag) for bag in bags)
    params, ref = [], []
    for k in [k for k in MiVLAD._cv_sizes if k == 1 or n >= 10 * k]:
        Z = VLADEncoder(n_clusters=k, random_state=0).fit_transform(canon)
        for C in C_GRID:
            acc = []
            for tr, va in splits:
                m = LinearSVC(C=C, random_state=0).fit(Z[tr], y_c[tr])
                acc.append(np.mean(m.predict(Z[va]) == y_c[va]))
            params.append({"n_clusters": k, "C": C})
            ref.append(np.mean(acc))
    assert clf.cv_results_["params"] == params
    np.testing.assert_allclose(clf.cv_results_["mean_test_score"], ref)
    first = params[int(np.flatnonzero(np.isclose(ref, max(ref)))[0])]  # ties: smaller K, C
    assert (clf.n_clusters_, clf.C_) == (first["n_clusters"], first["C"])
    assert clf.estimator_.C == first["C"]


def test_cv_defaults_of_bag_of_words_and_fallbacks(data):
    bags, y, _ = data
    clf = BagOfWordsClassifier(random_state=0).fit(bags, y)
    sizes = {p["n_clusters"] for p in clf.cv_results_["params"]}
    assert clf.n_clusters_ in sizes
    assert clf.C_ in {p["C"] for p in clf.cv_results_["params"]}
    # every candidate keeps >= 2 training instances per word
    assert max(sizes) * 2 <= sum(len(b) for b in bags)
    # a class with a single bag leaves nothing to validate on: first size, C=1
    one = BagOfWordsClassifier(random_state=0).fit(list(bags[:5]) + [bags[-1]],
                                                   [0, 0, 0, 0, 0, 1])
    assert one.C_ == 1.0 and one.n_clusters_ == 5 and not hasattr(one, "cv_results_")
    fixed = MiFV(n_clusters=2, random_state=0).fit(bags, y)
    assert fixed.C_ == 1.0 and not hasattr(fixed, "cv_results_")
    # "auto" in MiVLAD/MiFV is the encoder's own (label-free BIC) choice, not the CV
    bic = MiVLAD(n_clusters="auto", random_state=0).fit(bags, y)
    assert bic.n_clusters_ == VLADEncoder(random_state=0).fit(bags).n_clusters_


def test_one_composition_of_encoder_and_classifier():
    # each classifier's parameters are its encoder's plus C and estimator, declared once
    for clf_cls, enc_cls in ((MiVLAD, VLADEncoder), (MiFV, FisherVectorEncoder),
                             (BagOfWordsClassifier, BagOfWords)):
        clf = clf_cls()
        enc_params = set(enc_cls().get_params())
        assert set(clf.get_params()) == enc_params | {"C", "estimator"}
        for name in enc_params - {"n_clusters"}:
            assert clf._parameter_constraints[name] is enc_cls._parameter_constraints[name]
        made = clf.set_params(n_clusters=3, chunk_size=7)._make_encoder()
        assert isinstance(made, enc_cls) and made.n_clusters == 3 and made.chunk_size == 7


def test_a_classifier_must_take_its_encoders_parameters():
    from skmil.embedding._codebook import EmbeddingClassifier, linear_svc

    with pytest.raises(TypeError, match=r"missing \['power'\]"):
        class Partial(EmbeddingClassifier):  # noqa: F841
            _encoder = VLADEncoder
            _default_estimator = linear_svc

            def __init__(self, *, n_clusters=4, codebook="auto", normalize="l2",
                         random_state=None, chunk_size=10, n_jobs=None, C=1.0,
                         estimator=None):
                pass


def test_grid_search_over_flat_parameters(data):
    from sklearn.model_selection import GridSearchCV

    bags, y, _ = data
    grid = GridSearchCV(MiVLAD(random_state=0), {"n_clusters": [2, 3], "C": [0.1, 10.0]},
                        cv=3).fit(bags, y)
    assert set(grid.best_params_) == {"n_clusters", "C"}


def test_transformers_name_their_features(data):
    bags, _, _ = data
    fv = FisherVectorEncoder(n_clusters=2, random_state=0).fit(bags)
    names = fv.get_feature_names_out()
    assert len(names) == fv.transform(bags).shape[1]
    assert list(names[:3]) == ["w0", "w1", "mu0_f0"] and names[-1] == "var1_f2"
    bow = BagOfWords(n_clusters=3, random_state=0).fit(bags)
    assert list(bow.get_feature_names_out()) == ["word0", "word1", "word2"]
    frame = BagOfWords(n_clusters=3, random_state=0).set_output(transform="pandas")
    assert list(frame.fit(bags).transform(bags).columns) == ["word0", "word1", "word2"]


def test_miles_class_weight_scales_the_slacks(data):
    bags, y, _ = data
    base = MILES().fit(bags, y)
    same = MILES(class_weight={0: 1.0, 1: 1.0}).fit(bags, y)
    np.testing.assert_allclose(same.decision_function(bags), base.decision_function(bags))
    heavy = MILES(class_weight={0: 1.0, 1: 50.0}).fit(bags, y)
    # a much larger positive slack cost leaves no positive bag on the wrong side
    assert np.all(heavy.decision_function(bags)[np.asarray(y) == 1] > 0)
    assert MILES(class_weight="balanced").fit(bags, y).score(bags, y) > 0.8


def test_miles_concepts_in_the_users_numbering(data):
    bags, y, _ = data
    perm = np.random.RandomState(0).permutation(len(bags))
    a = MILES().fit(bags, y)
    b = MILES().fit([bags[i] for i in perm], np.asarray(y)[perm])
    emb = a.embedding_
    for k in (0, 7, len(emb.concepts_) - 1):  # each concept is an instance of its bag
        assert any(np.array_equal(emb.concepts_[k], x) for x in bags[emb.concept_bag_[k]])
    np.testing.assert_array_equal(np.sort(perm[b.embedding_.concept_bag_]),
                                  np.sort(emb.concept_bag_))
    np.testing.assert_allclose(a.decision_function(bags), b.decision_function(bags),
                               rtol=1e-7, atol=1e-9)


def test_fisher_encoder_is_finite_on_extreme_finite_inputs():
    # values far outside the training range (a test value of a feature nearly constant
    # in training) made the whitened squares overflow from about 1e153 on: -inf
    # log-densities gave NaN posteriors, and a ZeroDivisionError inside the numba pass
    rng = np.random.RandomState(0)
    X = rng.randn(40, 3)
    offsets = np.array([0, 10, 20, 30, 40])
    w, mu, var = np.array([0.5, 0.5]), np.array([[0.0, 0, 0], [1, 1, 1]]), np.full((2, 3), 1e-6)
    for big in (3.9e19, 1e150, 1e153):
        Xb = X.copy()
        Xb[5, 1] = big
        for kw in ({}, {"power": 0.5, "l2": True}):
            assert np.all(np.isfinite(fisher_encode(Xb, offsets, w, mu, var, **kw)))
        for work in (0, 10**9):  # BLAS and fused posteriors
            old = encoders.FUSED_MAX_WORK
            encoders.FUSED_MAX_WORK = work
            try:
                Q = gmm_posteriors(Xb, w, mu, var)
            finally:
                encoders.FUSED_MAX_WORK = old
            assert np.all(np.isfinite(Q)) and np.allclose(Q.sum(axis=1), 1.0)
            # the other instances keep their posteriors
            np.testing.assert_allclose(np.delete(Q, 5, axis=0),
                                       np.delete(gmm_posteriors(X, w, mu, var), 5, axis=0))


@pytest.mark.slow
def test_mifv_predicts_on_a_standardised_fox_fold():
    # the FOX fold where a test bag lies far outside the training range of a feature
    from sklearn.model_selection import StratifiedKFold

    from skmil.datasets import load_fox
    from skmil.preprocessing import InstanceTransformer

    X, y = load_fox(return_X_y=True)
    tr, te = next(StratifiedKFold(10, shuffle=True, random_state=0).split(np.zeros(len(y)), y))
    scaler = InstanceTransformer().fit([X[i] for i in tr])
    train, test = scaler.transform([X[i] for i in tr]), scaler.transform([X[i] for i in te])
    clf = MiFV(random_state=0).fit(train, y[tr])
    pred = clf.predict(test)
    assert pred.shape == (len(te),)
    assert np.all(np.isfinite(clf.encoder_.transform(test)))


@pytest.mark.parametrize("fused_max_work", [0, 10**9])
def test_fused_and_blas_encoder_paths_match_loops(monkeypatch, fused_max_work):
    # both strategies (numba fused pass for small K*d, BLAS blocks above) on the same
    # data, against loop references; chunk_size=7 splits bags across BLAS blocks
    monkeypatch.setattr(encoders, "FUSED_MAX_WORK", fused_max_work)
    rng = np.random.RandomState(3)
    sizes = rng.randint(1, 6, size=15)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    X = rng.randn(offsets[-1], 5)
    C = rng.randn(4, 5)
    labels = [_ref_nearest(x, C) for x in X]
    np.testing.assert_array_equal(encoders.nearest_centres(X, C, chunk_size=7), labels)
    ref = np.zeros((15, 4 * 5))
    for b in range(15):
        for j in range(offsets[b], offsets[b + 1]):
            ref[b, labels[j] * 5 : labels[j] * 5 + 5] += X[j] - C[labels[j]]
    np.testing.assert_allclose(encoders.vlad_encode(X, offsets, C, chunk_size=7), ref,
                               rtol=1e-12, atol=1e-12)
    w = np.array([0.1, 0.2, 0.3, 0.4])
    var = rng.rand(4, 5) + 0.2
    post = np.array([_ref_posterior_gmm(x, w, C, var) for x in X])
    np.testing.assert_allclose(encoders.gmm_posteriors(X, w, C, var), post,
                               rtol=1e-9, atol=1e-12)


def test_power_l2_kernel_matches_numpy():
    rng = np.random.RandomState(0)
    Z = rng.randn(9, 6)
    Z[2] = 0.0  # an all-zero row stays zero (epsilon-guarded norm)
    Z[3, :3] = 0.0
    for power, l2 in [(0.5, True), (0.3, False), (None, True), (1.0, False)]:
        ref = Z.copy()
        if power is not None:
            ref = np.sign(ref) * np.abs(ref) ** power
        if l2:
            ref /= np.maximum(np.linalg.norm(ref, axis=1), 1e-12)[:, None]
        np.testing.assert_allclose(encoders.power_l2_rows(Z.copy(), power, l2), ref,
                                   rtol=1e-12, atol=1e-15)
        z32 = encoders.power_l2_rows(Z.astype(np.float32), power, l2)
        assert z32.dtype == np.float32
        np.testing.assert_allclose(z32, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("K", [4, 40])  # K*d <= 2048: fused numba pass; else BLAS chunks
def test_encoders_normalise_rows_inside_the_pass(K):
    rng = np.random.RandomState(1)
    offsets = np.array([0, 3, 4, 9, 30, 31, 40])
    X, C = rng.randn(40, 64), rng.randn(K, 64)
    raw = encoders.vlad_encode(X, offsets, C, chunk_size=7)
    for power, l2 in [(0.5, True), (0.3, False), (None, True)]:
        ref = encoders.power_l2_rows(raw.copy(), power, l2)
        got = encoders.vlad_encode(X, offsets, C, chunk_size=7, power=power, l2=l2)
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-13)
    w = np.full(4, 0.25)
    var = rng.rand(4, 64) + 0.5
    fv = encoders.fisher_encode(X, offsets, w, C[:4], var)
    np.testing.assert_allclose(
        encoders.fisher_encode(X, offsets, w, C[:4], var, power=0.5, l2=True),
        encoders.power_l2_rows(fv.copy(), 0.5, True), rtol=1e-10, atol=1e-13)
    with pytest.raises(ValueError, match="include_means=True only"):
        encoders.fisher_encode(X, offsets, w, C[:4], var, include_means=False,
                               include_variances=False, l2=True)




@pytest.mark.parametrize("make", [
    lambda n_jobs: BagOfWords(n_clusters=3, n_jobs=n_jobs, random_state=0),
    lambda n_jobs: BagOfWords(n_clusters=3, codebook="gmm", n_jobs=n_jobs, random_state=0),
    lambda n_jobs: BagOfWordsClassifier(n_clusters=3, C=1.0, n_jobs=n_jobs, random_state=0),
    lambda n_jobs: VLADEncoder(n_clusters=3, n_jobs=n_jobs, random_state=0),
    lambda n_jobs: VLADEncoder(n_clusters="auto", n_jobs=n_jobs, random_state=0),
    lambda n_jobs: MiVLAD(n_clusters=3, n_jobs=n_jobs, random_state=0),
    lambda n_jobs: FisherVectorEncoder(n_clusters=2, n_jobs=n_jobs, random_state=0),
    lambda n_jobs: FisherVectorEncoder(n_clusters="auto", n_jobs=n_jobs, random_state=0),
    lambda n_jobs: MiFV(n_clusters=2, n_jobs=n_jobs, random_state=0),
], ids=["bow", "bow-gmm", "bow-clf", "vlad", "vlad-auto", "mivlad", "fisher", "fisher-auto",
        "mifv"])
@pytest.mark.parametrize("n_jobs, expected", [(None, 1), (2, 2)])
def test_codebook_fits_run_with_n_jobs_openmp_threads(data, monkeypatch, make, n_jobs,
                                                      expected):
    """scikit-learn's k-means (also a GMM's k-means initialisation) takes every core
    unless told; n_jobs bounds it (None: one thread)."""
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_info

    from skmil.embedding import _codebook

    seen = []

    def openmp_threads():
        seen.append({i["num_threads"] for i in threadpool_info() if i["user_api"] == "openmp"})

    class RecordingKMeans(KMeans):
        def fit(self, X, y=None, sample_weight=None):
            openmp_threads()
            return super().fit(X, y, sample_weight)

    class RecordingGMM(GaussianMixture):
        def fit(self, X, y=None):
            openmp_threads()
            return super().fit(X, y)

    monkeypatch.setattr(_codebook, "KMeans", RecordingKMeans)
    monkeypatch.setattr(_codebook, "GaussianMixture", RecordingGMM)
    bags, y = data[:2]
    make(n_jobs).fit(bags, y)
    assert seen and all(s == {expected} for s in seen), seen
