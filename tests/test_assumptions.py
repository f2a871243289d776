"""Beyond the standard assumption: the assumption-aware generator, TLC and CCE.

Each test checks against a naive reference written with plain Python loops.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from skmil.bags import check_bags
from skmil.datasets import make_mil_classification
from skmil.embedding import BagOfWords
from skmil.embedding.cce import CCE
from skmil.embedding.tlc import TLC, tree_node_counts


# --- generator ------------------------------------------------------------------------
def _rule(concepts: np.ndarray, assumption: str, n_concepts: int, min_count: int) -> int:
    """The bag label the assumption gives a bag with these instance concepts."""
    counts = [sum(1 for c in concepts if c == k) for k in range(n_concepts)]
    if assumption == "standard":
        return int(counts[0] >= 1)
    need = 1 if assumption == "presence" else min_count
    return int(all(n >= need for n in counts))


@pytest.mark.parametrize("assumption", ["standard", "presence", "threshold"])
@pytest.mark.parametrize("seed", range(4))
def test_generated_labels_follow_the_assumption(assumption, seed):
    n_concepts, min_count = 2 + seed % 2, 2 + seed // 2
    bags, y, inst, concepts = make_mil_classification(
        n_bags=60, n_features=3, bag_size=5, assumption=assumption,
        n_concepts=n_concepts, min_count=min_count, return_concepts=True,
        witness_rate=0.3, random_state=seed,
    )
    assert y.sum() > 0 and (1 - y).sum() > 0
    for bag, label, lab, conc in zip(bags, y, inst, concepts):
        assert bag.shape[0] == lab.shape[0] == conc.shape[0]
        assert label == _rule(conc, assumption, n_concepts, min_count)
        # an instance label means "member of a required concept"
        np.testing.assert_array_equal(lab, (conc >= 0).astype(int))
        if assumption == "threshold":
            # every bag holds every concept: only the counts separate the classes
            assert all((conc == k).any() for k in range(n_concepts))
        if assumption == "presence" and label == 0:
            # a negative bag lacks exactly one concept and holds all the others
            assert sum(not (conc == k).any() for k in range(n_concepts)) == 1


def test_generator_sizes_do_not_reveal_the_label():
    _, y, inst = make_mil_classification(
        n_bags=200, bag_size=2, assumption="threshold", n_concepts=2, min_count=3,
        random_state=0)
    sizes = np.array([len(i) for i in inst])
    assert sizes.min() >= 6  # raised to what a positive bag needs, in both classes
    assert sizes[y == 0].min() == sizes[y == 1].min() == 6


def test_generator_standard_ignores_the_new_arguments():
    a = make_mil_classification(n_bags=30, random_state=5)
    b = make_mil_classification(n_bags=30, random_state=5, n_concepts=4, min_count=7,
                                return_concepts=True)
    for x, z in zip(a[0], b[0]):
        np.testing.assert_array_equal(x, z)
    np.testing.assert_array_equal(a[1], b[1])
    for lab, conc in zip(a[2], b[3]):
        np.testing.assert_array_equal(conc, np.where(lab == 1, 0, -1))


@pytest.mark.parametrize("kwargs, match", [
    ({"assumption": "collective"}, "assumption"),
    ({"assumption": "presence", "n_concepts": 0}, "n_concepts"),
    ({"assumption": "threshold", "min_count": 1}, "min_count"),
])
def test_generator_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_mil_classification(n_bags=10, **kwargs)


# --- TLC ------------------------------------------------------------------------------
def _naive_node_counts(tree, bags) -> np.ndarray:
    """Walk the tree from the root for every instance, counting visits per bag."""
    t = tree.tree_
    out = np.zeros((len(bags), t.node_count))
    for i, bag in enumerate(bags):
        for x in bag:
            node = 0
            while True:
                out[i, node] += 1
                left, right = t.children_left[node], t.children_right[node]
                if left == -1:
                    break
                node = left if x[t.feature[node]] <= t.threshold[node] else right
    return out


def test_tree_node_counts_match_a_walk_of_the_tree():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 4))
    tree = DecisionTreeClassifier(max_depth=6, random_state=0).fit(
        X, (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int))
    bags = [rng.normal(size=(rng.randint(1, 9), 4)) for _ in range(25)]
    counts = tree_node_counts(tree, check_bags(bags))
    np.testing.assert_array_equal(counts, _naive_node_counts(tree, bags))
    np.testing.assert_array_equal(counts[:, 0], [len(b) for b in bags])


def test_tlc_weights_bags_equally_and_scores_naive_counts():
    bags, y, _ = make_mil_classification(n_bags=50, n_features=3, assumption="threshold",
                                         random_state=1)
    clf = TLC(random_state=0).fit(bags, y)
    # instance weights 1/size: the root holds one unit of weight per bag
    assert clf.tree_.tree_.weighted_n_node_samples[0] == pytest.approx(len(bags))
    assert clf.n_nodes_ == clf.tree_.tree_.node_count > 1
    naive = _naive_node_counts(clf.tree_, bags)
    np.testing.assert_allclose(clf.decision_function(bags),
                               clf.estimator_.decision_function(naive))
    np.testing.assert_allclose(clf.predict_proba(bags), clf.estimator_.predict_proba(naive))


def test_tlc_min_bags_leaf_bounds_every_leaf():
    bags, y, _ = make_mil_classification(n_bags=80, n_features=3, random_state=2)
    clf = TLC(min_bags_leaf=5.0, random_state=0).fit(bags, y)
    t = clf.tree_.tree_
    leaves = t.children_left == -1
    assert t.weighted_n_node_samples[leaves].min() >= 5.0 - 1e-9


def test_tlc_models_a_count_rule_the_standard_rule_cannot():
    # one concept, positive iff a bag holds at least 3 of its instances: every bag
    # holds some, so the largest instance score cannot separate the classes
    rng = np.random.RandomState(0)
    bags, y = [], []
    for i in range(120):
        k = 3 + rng.randint(2) if i % 2 else 1 + rng.randint(2)
        bag = np.vstack([rng.normal(4.0, 0.3, size=(k, 2)),
                         rng.normal(0.0, 1.0, size=(6 - k + rng.randint(3), 2))])
        bags.append(bag)
        y.append(i % 2)
    y = np.asarray(y)
    clf = TLC(random_state=0).fit(bags[:80], y[:80])
    assert clf.score(bags[80:], y[80:]) >= 0.9


# --- CCE ------------------------------------------------------------------------------
def _naive_presence(centres: np.ndarray, bags) -> np.ndarray:
    out = np.zeros((len(bags), centres.shape[0]))
    for i, bag in enumerate(bags):
        for x in bag:
            d = [float(np.sum((x - c) ** 2)) for c in centres]
            out[i, int(np.argmin(d))] = 1.0
    return out


@pytest.fixture(scope="module")
def presence_problem():
    bags, y, _ = make_mil_classification(n_bags=60, n_features=3, assumption="presence",
                                         random_state=3)
    return bags, y


def test_cce_presence_vectors_match_a_naive_loop(presence_problem):
    bags, y = presence_problem
    clf = CCE(n_clusters=(3, 8, 16), random_state=0).fit(bags, y)
    assert clf.n_clusters_ == (3, 8, 16)
    for enc, k in zip(clf.encoders_, clf.n_clusters_):
        assert enc.encoding == "presence" and enc.cluster_centers_.shape[0] == k
        np.testing.assert_array_equal(enc.transform(bags),
                                      _naive_presence(enc.cluster_centers_, bags))


@pytest.mark.parametrize("sizes", [(3, 8, 16), (4, 12)])
def test_cce_vote_equals_a_hand_built_ensemble(presence_problem, sizes):
    bags, y = presence_problem
    clf = CCE(n_clusters=sizes, random_state=0).fit(bags, y)
    order = clf._train_order  # the members were fitted on the bags in this order
    votes, margins = [], []
    for enc in clf.encoders_:
        member = BagOfWords(**enc.get_params()).fit([bags[i] for i in order])
        Z = member.transform(bags)
        svc = clone(SVC(kernel="rbf", gamma="scale")).fit(Z[order], y[order])
        votes.append(svc.predict(Z))
        d = svc.decision_function(Z)
        margins.append(d / np.std(svc.decision_function(Z[order])))
    votes, margins = np.asarray(votes), np.asarray(margins)
    m = len(sizes)
    n_pos = votes.sum(axis=0)
    expected = np.where(n_pos * 2 == m, margins.mean(axis=0) > 0, n_pos * 2 > m)
    np.testing.assert_array_equal(clf.predict(bags), expected.astype(int))
    # the decision value is monotone in the vote count and its sign is the prediction
    dec = clf.decision_function(bags)
    np.testing.assert_array_equal(dec > 0, expected)
    for a in range(m + 1):
        for b in range(a + 1, m + 1):
            if (n_pos == a).any() and (n_pos == b).any():
                assert dec[n_pos == a].max() < dec[n_pos == b].min()


def test_cce_skips_sizes_larger_than_the_data():
    bags = [np.array([[0.0], [1.0]]), np.array([[5.0]]), np.array([[5.5], [0.2]])]
    clf = CCE(n_clusters=(2, 50), random_state=0).fit(bags, [1, 0, 1])
    assert clf.n_clusters_ == (2,)
    clf = CCE(n_clusters=(50,), random_state=0).fit(bags, [1, 0, 1])
    assert clf.n_clusters_ == (5,)


@pytest.mark.parametrize("bad", [(), (0, 5), (2.5,), ("a",)])
def test_cce_bad_sizes(bad):
    bags = [np.array([[0.0], [1.0]]), np.array([[5.0]]), np.array([[5.5], [0.2]])]
    with pytest.raises(ValueError, match="n_clusters"):
        CCE(n_clusters=bad).fit(bags, [1, 0, 1])
