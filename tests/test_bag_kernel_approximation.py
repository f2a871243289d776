"""MI-Kernel and mi-Graph through ``kernel_approximation``: kernel mean embeddings.

The set kernels are sums of instance kernels over two bags, so under a feature map ``z``
they are inner products of the bags' (clique-weighted) sums of ``z``. With every training
instance a Nyström landmark the map reproduces the instance kernel, so the bag features'
inner products must be the exact bag Gram matrix, and the linear SVM on them the kernel
SVM of that Gram matrix.
"""

from __future__ import annotations

import numpy as np
import pytest

from skmil.bags import check_bags
from skmil.datasets import make_mil_classification, make_mil_regression
from skmil.graph import MIGraph, MIGraphSVR
from skmil.svm import MIKernelSVM, MIKernelSVR, set_kernel

ALL_LANDMARKS = 100_000  # more than any test's instances: every instance is a landmark


@pytest.fixture(scope="module")
def bags_y():
    bags, y, _ = make_mil_classification(n_bags=60, n_features=5, random_state=3)
    return bags, y


def _exact_gram(est, bags):
    """The exact kernel's training Gram matrix under ``est``'s fitted setting."""
    exact = est.__class__(**{**est.get_params(), "kernel_approximation": None})
    exact.gamma_ = est.gamma_
    return exact._train_gram(check_bags(bags))[0]


@pytest.mark.parametrize("params", [
    {"normalize": "featurespace"}, {"normalize": "averaging"}, {"normalize": None},
    {"normalize": "featurespace", "p": 2.0}, {"kernel": "poly", "gamma": 0.3, "coef0": 1.0},
])
def test_mi_kernel_features_reproduce_the_set_kernel(bags_y, params):
    bags, y = bags_y
    clf = MIKernelSVM(kernel_approximation="nystroem", n_components=ALL_LANDMARKS, C=1.0,
                      **params).fit(bags, y)
    Phi = clf._bag_features(check_bags(bags))
    kw = {k: v for k, v in params.items() if k != "gamma"}
    K = set_kernel(bags, gamma=clf.gamma_, **kw)
    np.testing.assert_allclose(Phi @ Phi.T, K, atol=1e-6 * np.abs(K).max())


@pytest.mark.parametrize("normalize", ["cosine", "paper", "code", None])
def test_mi_graph_features_reproduce_the_clique_weighted_kernel(bags_y, normalize):
    bags, y = bags_y
    clf = MIGraph(kernel_approximation="nystroem", n_components=ALL_LANDMARKS, C=1.0,
                  normalize=normalize).fit(bags, y)
    Phi = clf._bag_features(check_bags(bags))
    K = _exact_gram(clf, bags)
    np.testing.assert_allclose(Phi @ Phi.T, K, atol=1e-6 * np.abs(K).max())


@pytest.mark.parametrize("cls", [MIKernelSVM, MIGraph])
def test_all_landmarks_give_the_squared_hinge_svm_of_the_exact_gram(bags_y, cls):
    # the squared-hinge SVM's scores are the representer expansion
    # sum_i beta_i K(B, B_i) + b with beta_i = 2 C max(0, 1 - y_i f_i) y_i, on the
    # training bags and on new ones
    bags, y = bags_y
    tr, te, C = bags[:40], bags[40:], 0.7
    clf = cls(kernel_approximation="nystroem", n_components=ALL_LANDMARKS, C=C,
              solver="primal").fit(tr, y[:40])
    assert clf.solver_ == "primal"
    f = clf.decision_function(tr)
    yy = np.where(y[:40] == 1, 1.0, -1.0)
    beta = 2 * C * np.maximum(0.0, 1.0 - yy * f) * yy
    Ptr = clf._bag_features(check_bags(tr))
    Pte = clf._bag_features(check_bags(te))
    atol = 5e-3  # the default stopping rule (relative gradient 1e-3) bounds the mismatch
    np.testing.assert_allclose(f, (Ptr @ Ptr.T) @ beta + clf.intercept_, atol=atol)
    np.testing.assert_allclose(clf.decision_function(te),
                               (Pte @ Ptr.T) @ beta + clf.intercept_, atol=atol)
    if cls is MIKernelSVM:
        # a new bag against training bags: exact before normalisation (its instances
        # against landmarks); its own normaliser is Nystrom's approximation
        from skmil.svm._approximation import bag_feature_sums

        a, b = check_bags(te), check_bags(tr)
        Ste = bag_feature_sums(clf.kernel_map_, a.instances, a.offsets)
        Str = bag_feature_sums(clf.kernel_map_, b.instances, b.offsets)
        K = set_kernel(te, tr, gamma=clf.gamma_, normalize=None)
        np.testing.assert_allclose(Ste @ Str.T, K, atol=1e-6 * K.max())


@pytest.mark.parametrize("cls", [MIKernelSVM, MIGraph, MIKernelSVR, MIGraphSVR])
def test_all_landmarks_with_libsvm_are_the_exact_model(cls):
    # solver="libsvm" (the default up to LIBSVM_MAX_BAGS bags) runs the exact path's
    # libsvm on the features' Gram matrix, which is then the exact Gram matrix
    if cls in (MIKernelSVR, MIGraphSVR):
        bags, y, _ = make_mil_regression(n_bags=60, n_features=5, rule="mean",
                                         random_state=0)
    else:
        bags, y, _ = make_mil_classification(n_bags=60, n_features=5, random_state=3)
    tr, te = bags[:40], bags[40:]
    exact = cls(C=1.0).fit(tr, y[:40])
    approx = cls(C=1.0, kernel_approximation="nystroem",
                 n_components=ALL_LANDMARKS).fit(tr, y[:40])
    assert approx.solver_ == "libsvm" and approx.coef_.ndim == 1
    out = "decision_function" if hasattr(exact, "decision_function") else "predict"
    # new bags too: their kernel against the training bags (landmarks) is exact, and so
    # are their normalisers; to libsvm's stopping tolerance (1e-3)
    for X in (tr, te):
        np.testing.assert_allclose(getattr(approx, out)(X), getattr(exact, out)(X),
                                   atol=5e-3)


def test_many_random_features_approach_the_set_kernel(bags_y):
    # the features' normalisers are exact, their sums approximate
    from skmil.svm._approximation import bag_feature_sums, fit_kernel_map

    bags, _ = bags_y
    b = check_bags(bags)
    mapper = fit_kernel_map("rff", b.instances, kernel="rbf", gamma=0.2, degree=3,
                            coef0=0.0, n_components=20_000, random_state=0)
    S = bag_feature_sums(mapper, b.instances, b.offsets)
    S /= np.linalg.norm(S, axis=1)[:, None]
    assert np.abs(S @ S.T - set_kernel(bags, gamma=0.2)).max() < 0.02


def test_the_primal_approximate_svm_predicts_as_the_exact_one():
    # hinge (libsvm on the exact Gram) against squared hinge (primal on the features)
    bags, y, _ = make_mil_classification(n_bags=160, n_features=5, random_state=1)
    tr, te = bags[:100], bags[100:]
    exact = MIKernelSVM(C=10.0).fit(tr, y[:100])
    approx = MIKernelSVM(C=10.0, kernel_approximation="nystroem", solver="primal",
                         n_components=ALL_LANDMARKS).fit(tr, y[:100])
    agree = np.mean(exact.predict(te) == approx.predict(te))
    assert agree >= 0.9, agree


@pytest.mark.parametrize("solver", ["libsvm", "primal"])
@pytest.mark.parametrize("cls", [MIKernelSVM, MIGraph])
def test_approximation_is_deterministic_and_order_free(bags_y, cls, solver):
    bags, y = bags_y
    a = cls(kernel_approximation="nystroem", n_components=40, solver=solver).fit(bags, y)
    b = cls(kernel_approximation="nystroem", n_components=40,
            solver=solver).fit(bags[::-1], y[::-1])
    np.testing.assert_allclose(a.decision_function(bags), b.decision_function(bags),
                               atol=1e-9)
    # random_state=None draws the map with seed 0
    c = cls(kernel_approximation="nystroem", n_components=40, C=a.C_).fit(bags, y)
    d = cls(kernel_approximation="nystroem", n_components=40, C=a.C_,
            random_state=0).fit(bags, y)
    assert c.solver_ == "libsvm"
    np.testing.assert_allclose(c.decision_function(bags), d.decision_function(bags),
                               atol=1e-12)
    assert a.coef_.shape == (40,) and a.kernel_map_.n_components == 40
    for attr in ("support_", "support_bags_", "dual_coef_"):
        assert not hasattr(a, attr)
    # switching to the exact kernel and back leaves no model of the other kind behind
    a.set_params(kernel_approximation=None, solver="auto").fit(bags, y)
    assert hasattr(a, "support_bags_") and not hasattr(a, "coef_")
    assert not hasattr(a, "kernel_map_")
    a.set_params(kernel_approximation="rff", solver=solver).fit(bags, y)
    assert not hasattr(a, "support_bags_") and a.coef_.shape == (40,)
    assert a.solver_ == ("libsvm" if solver == "libsvm" else "primal")


@pytest.mark.parametrize("solver", ["libsvm", "primal"])
@pytest.mark.parametrize("normalize", ["featurespace", "averaging", None])
def test_instance_contributions_sum_to_the_approximate_bag_score(bags_y, normalize, solver):
    bags, y = bags_y
    clf = MIKernelSVM(kernel_approximation="nystroem", n_components=50,
                      normalize=normalize, solver=solver).fit(bags, y)
    c = clf.instance_contributions(bags[:5])
    np.testing.assert_allclose([ci.sum() + clf.intercept_ for ci in c],
                               clf.decision_function(bags[:5]), atol=1e-10)
    inst = clf.decision_function_instances(bags[:5])
    np.testing.assert_allclose([v.mean() for v in inst], clf.decision_function(bags[:5]),
                               atol=1e-10)


@pytest.mark.parametrize("cls", [MIKernelSVM, MIGraph])
def test_approximation_one_vs_rest_for_three_classes(cls):
    rng = np.random.default_rng(0)
    centres = np.array([[3.0, 0.0], [0.0, 3.0], [-3.0, -3.0]])
    bags, y = [], []
    for i in range(60):
        k = i % 3
        bag = rng.normal(size=(6, 2))
        bag[0] += centres[k]
        bags.append(bag)
        y.append(["a", "b", "c"][k])
    y = np.array(y)
    clf = cls(kernel_approximation="nystroem", n_components=60, C=10.0,
              gamma=0.5).fit(bags, y)
    assert clf.coef_.shape == (3, 60) and clf.intercept_.shape == (3,)
    assert clf.solver_ == "primal"
    assert clf.decision_function(bags).shape == (60, 3)
    assert np.mean(clf.predict(bags) == y) > 0.9
    if cls is MIKernelSVM:
        with pytest.raises(ValueError, match="one-vs-rest"):
            clf.instance_contributions(bags[:2])


def test_approximation_refuses_what_it_cannot_map(bags_y):
    bags, y = bags_y
    for params in ({"kernel": "linear"}, {"kernel": "poly", "kernel_approximation": "rff"},
                   {"kernel": "poly", "p": 2.0}):
        with pytest.raises(ValueError, match="kernel_approximation"):
            MIKernelSVM(**{"kernel_approximation": "nystroem", **params}).fit(bags, y)
    for cls in (MIKernelSVM, MIGraph):
        with pytest.raises(ValueError, match="kernel_approximation"):
            cls(solver="primal").fit(bags, y)


@pytest.mark.parametrize("solver", ["libsvm", "primal"])
@pytest.mark.parametrize("cls", [MIKernelSVR, MIGraphSVR])
def test_approximate_regressors_fit_mean_targets(cls, solver):
    bags, y, _ = make_mil_regression(n_bags=150, rule="mean", random_state=0)
    kw = {"kernel_approximation": "nystroem", "n_components": 100, "solver": solver}
    reg = cls(**kw).fit(bags[:100], y[:100])
    assert reg.coef_.shape == (100,) and reg.solver_ == solver
    assert reg.score(bags[100:], y[100:]) > 0.5
    # the model is in the targets' units: shifting and scaling y maps the predictions
    moved = cls(**kw, C=reg.C_).fit(bags[:100], 3.0 * y[:100] + 10.0)
    np.testing.assert_allclose(moved.predict(bags[100:]),
                               3.0 * reg.predict(bags[100:]) + 10.0, rtol=1e-4, atol=1e-4)


def test_a_big_bag_is_mapped_in_chunks():
    # the bag sums are accumulated over chunks of rows, so a bag cut by a chunk
    # boundary gets the same features as when mapped whole
    from skmil.svm._approximation import _CHUNK, bag_feature_sums, fit_kernel_map

    rng = np.random.default_rng(0)
    bags = [rng.normal(size=(n, 3)) for n in (5, _CHUNK + 7, 3, _CHUNK // 2)]
    b = check_bags(bags)
    mapper = fit_kernel_map("rff", b.instances, kernel="rbf", gamma=0.2, degree=3,
                            coef0=0.0, n_components=16, random_state=0)
    sums = bag_feature_sums(mapper, b.instances, b.offsets)
    whole = np.stack([mapper.transform(x).sum(0) for x in bags])
    np.testing.assert_allclose(sums, whole, rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("cls", [MIKernelSVM, MIGraph])
def test_a_bag_far_from_every_landmark_scores_the_intercept(bags_y, cls):
    # its mapped instances are zero (the kernel underflows), as is its exact kernel
    # against every training bag: both paths give it the intercept
    bags, y = bags_y
    clf = cls(kernel_approximation="nystroem", n_components=40, C=1.0).fit(bags, y)
    far = np.full((3, bags[0].shape[1]), 1e6)
    np.testing.assert_array_equal(clf.decision_function([far]), [clf.intercept_])
    exact = cls(C=1.0).fit(bags, y)
    np.testing.assert_allclose(exact.decision_function([far]), [exact.intercept_])


@pytest.mark.parametrize("normalize", ["averaging", "featurespace", None])
def test_kernel_mean_embedding_inner_products_are_the_set_kernel(bags_y, normalize):
    from skmil.embedding import KernelMeanEmbedding

    bags, _ = bags_y
    emb = KernelMeanEmbedding(n_components=ALL_LANDMARKS, normalize=normalize).fit(bags)
    Z = emb.transform(bags)
    K = set_kernel(bags, gamma=emb.gamma_, normalize=normalize)
    np.testing.assert_allclose(Z @ Z.T, K, atol=1e-6 * np.abs(K).max())
    # the embedding is MI-Kernel's bag features under the same map
    clf = MIKernelSVM(kernel_approximation="nystroem", n_components=ALL_LANDMARKS, C=1.0,
                      normalize="averaging" if normalize is None else normalize)
    if normalize is not None:
        clf.fit(bags, bags_y[1])
        np.testing.assert_allclose(clf._bag_features(check_bags(bags)), Z, atol=1e-10)


def test_kernel_mean_embedding_streams_from_its_first_batch(bags_y):
    from skmil.embedding import KernelMeanEmbedding

    bags, _ = bags_y
    streamed = KernelMeanEmbedding(n_components=20, random_state=1)
    streamed.partial_fit(bags[:20]).partial_fit(bags[20:])
    first = KernelMeanEmbedding(n_components=20, random_state=1).fit(bags[:20])
    np.testing.assert_array_equal(streamed.transform(bags), first.transform(bags))
    assert list(first.get_feature_names_out()[:2]) == ["kme0", "kme1"]
    with pytest.raises(ValueError, match="rff"):
        KernelMeanEmbedding(kernel_approximation="rff", kernel="poly").fit(bags)


def test_an_exact_gram_too_large_for_memory_points_to_the_approximation(bags_y,
                                                                        monkeypatch):
    bags, y = bags_y

    def no_memory(self, b):
        raise MemoryError("Unable to allocate")

    monkeypatch.setattr(MIKernelSVM, "_train_gram", no_memory)
    with pytest.raises(MemoryError, match="60 training bags.*kernel_approximation"):
        MIKernelSVM(C=1.0).fit(bags, y)


@pytest.mark.parametrize("cls", [MIKernelSVM, MIGraph, MIKernelSVR, MIGraphSVR])
def test_auto_keeps_the_exact_kernel_up_to_its_bag_count(bags_y, cls, monkeypatch):
    import skmil.svm._bag_kernel as base

    bags, y = bags_y
    if cls in (MIKernelSVR, MIGraphSVR):
        y = np.asarray(y, dtype=float) + np.linspace(0, 1, len(y))
    exact = cls(C=1.0).fit(bags, y)
    assert exact.kernel_approximation_ is None and hasattr(exact, "support_bags_")
    monkeypatch.setattr(base, "AUTO_EXACT_MAX_BAGS", 59)
    mapped = cls(C=1.0, n_components=30).fit(bags, y)
    assert mapped.kernel_approximation_ == "nystroem" and mapped.coef_.shape == (30,)
    assert not hasattr(mapped, "support_bags_")
    if cls is MIKernelSVM:  # a kernel the map cannot serve keeps the exact kernel
        assert cls(C=1.0, kernel="linear").fit(bags, y).kernel_approximation_ is None
