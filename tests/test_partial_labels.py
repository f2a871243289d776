"""Known instance labels (``fit(..., instance_labels=...)``): validation, plumbing and use."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, cross_val_score

from skmil.embedding import SimpleMI
from skmil.svm import (
    MISVM,
    SIL,
    InstanceMISVM,
    SparseBalancedMIL,
    SparseMIL,
    SparseTransductiveMIL,
)

_CENTRES = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]])


def confounded(n_bags: int, seed: int):
    """Bags where a confounder is as predictive of the bag label as the witnesses.

    A positive bag holds one witness (around 3 e0), three confounders (around 3 e1) and
    two background instances (around 0); a negative bag six background instances. From
    bag labels alone the confounders look like witnesses; only instance labels tell them
    apart. Returns bags, bag labels and the true instance labels (1 = witness).
    """
    rng = np.random.default_rng(seed)
    bags, y, inst = [], [], []
    for i in range(n_bags):
        kinds = np.array([1, 2, 2, 2, 0, 0]) if i % 2 == 0 else np.zeros(6, dtype=int)
        bags.append(_CENTRES[kinds] + rng.normal(size=(6, 2)))
        y.append(1 - i % 2)
        inst.append((kinds == 1).astype(np.float64))
    return bags, np.array(y), inst


def reveal(inst, fraction: float, seed: int):
    """The true labels of a random ``fraction`` of the instances, NaN elsewhere."""
    rng = np.random.default_rng(seed)
    return [np.where(rng.random(lab.shape[0]) < fraction, lab, np.nan) for lab in inst]


def witness_auc(est, bags, y, inst) -> float:
    """Instance AUC of the witness scores inside the positive bags."""
    scores = est.decision_function_instances(bags)
    pos = np.flatnonzero(y == 1)
    return roc_auc_score(np.concatenate([inst[i] for i in pos]),
                         np.concatenate([scores[i] for i in pos]))


ESTIMATORS = {
    "SIL": lambda: SIL(threshold=0.0),
    "InstanceMISVM": lambda: InstanceMISVM(C=1.0, threshold=0.0),
    "MISVM": lambda: MISVM(C=1.0),
    "MISVM-bag": lambda: MISVM(C=1.0, negative_slack="bag"),
    "SparseMIL": lambda: SparseMIL(threshold=0.0),
    "SparseBalancedMIL": lambda: SparseBalancedMIL(threshold=0.0),
    "SparseTransductiveMIL": lambda: SparseTransductiveMIL(threshold=0.0),
}


@pytest.fixture(scope="module")
def data():
    return confounded(40, 0)


def _state(est, bags):
    return (np.concatenate(est.decision_function_instances(bags)),
            est.threshold_, {k: v for k, v in vars(est).items()
                             if k.endswith("_") and isinstance(v, np.ndarray)})


def _assert_same(a, b):
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1]
    assert a[2].keys() == b[2].keys()
    for k in a[2]:
        np.testing.assert_array_equal(a[2][k], b[2][k], err_msg=k)


@pytest.mark.parametrize("name", [*ESTIMATORS, "InstanceMISVM-cv"])
def test_none_and_all_unknown_leave_the_fit_unchanged(data, name):
    """``instance_labels=None`` and all-NaN labels give the unlabelled fit bit for bit
    (the cv variant runs the inner CVs of ``C="cv"`` and ``threshold="auto"``)."""
    bags, y, inst = data
    make = ESTIMATORS.get(name, lambda: InstanceMISVM(kernel="linear"))
    plain = _state(make().fit(bags, y), bags)
    _assert_same(plain, _state(make().fit(bags, y, instance_labels=None), bags))
    unknown = [np.full(lab.shape[0], np.nan) for lab in inst]
    _assert_same(plain, _state(make().fit(bags, y, instance_labels=unknown), bags))


@pytest.mark.parametrize("name", ESTIMATORS)
def test_known_labels_follow_their_bags_into_the_canonical_order(data, name):
    """Permuting the bags and their known labels together does not change the model."""
    bags, y, inst = data
    known = reveal(inst, 0.3, 0)
    perm = np.random.default_rng(5).permutation(len(bags))
    a = ESTIMATORS[name]().fit(bags, y, instance_labels=known)
    b = ESTIMATORS[name]().fit([bags[i] for i in perm], y[perm],
                               instance_labels=[known[i] for i in perm])
    np.testing.assert_array_equal(np.concatenate(a.decision_function_instances(bags)),
                                  np.concatenate(b.decision_function_instances(bags)))


def test_unsupported_estimator_raises_type_error(data):
    bags, y, inst = data
    with pytest.raises(TypeError, match=r"SimpleMI does not learn.*InstanceMISVM.*MISVM.*SIL"):
        SimpleMI().fit(bags, y, instance_labels=inst)
    SimpleMI().fit(bags, y, instance_labels=None)  # None is accepted by every estimator


@pytest.mark.parametrize("labels, match", [
    (lambda inst: inst[:-1], "has 39 entries but there are 40 bags"),
    (lambda inst: [*inst[:3], inst[3][:-1], *inst[4:]], r"bag 3 has 6 instances"),
    (lambda inst: [*inst[:2], np.c_[inst[2]], *inst[3:]], r"instance_labels\[2\] has shape"),
    (lambda inst: [*inst[:2], np.array([0, 0, 2, 0, 0, 0.0]), *inst[3:]],
     r"\(bag 2, row 2\) is 2.0"),
    (lambda inst: [*inst[:1], np.array([0, 0, 0, 0, 1, 0.0]), *inst[2:]],
     r"\(bag 1, row 4\) marks a witness of the positive class in a negative bag"),
    (lambda inst: [np.zeros(6), *inst[1:]], "every instance of positive bag 0 negative"),
    (lambda inst: [np.array(list("abcdef")), *inst[1:]], r"instance_labels\[0\] .* not numeric"),
])
def test_invalid_instance_labels_are_refused(data, labels, match):
    bags, y, inst = data
    with pytest.raises(ValueError, match=match):
        SIL(threshold=0.0).fit(bags, y, instance_labels=labels(inst))


def test_instance_labels_must_be_a_sequence(data):
    bags, y, _ = data
    with pytest.raises(TypeError, match="one 1-D array per bag"):
        SIL(threshold=0.0).fit(bags, y, instance_labels="labels")


def test_sil_trains_on_known_labels_in_place_of_inherited_ones(data):
    """SIL's instance classifier is the same classifier fitted on the bag labels with
    the known instance labels written over them (a naive loop builds the labels)."""
    bags, y, inst = data
    known = reveal(inst, 0.3, 1)
    sil = SIL(estimator=LogisticRegression(), threshold=0.0).fit(bags, y,
                                                                  instance_labels=known)
    labels = []
    for yi, k in zip(y, known):
        for v in k:
            labels.append(yi if np.isnan(v) else int(v))
    ref = LogisticRegression().fit(np.concatenate(bags), labels)
    np.testing.assert_allclose(sil.estimator_.coef_, ref.coef_, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(sil.estimator_.intercept_, ref.intercept_, rtol=1e-4,
                               atol=1e-6)


def test_mi_svm_never_imputes_known_labels(data):
    """Known labels survive the relabelling, even against the model: a background
    instance declared a witness stays positive, a witness declared negative stays so."""
    bags, y, inst = data
    known = reveal(inst, 0.2, 2)
    known[0] = known[0].copy()
    known[0][4] = 1.0  # background, declared a witness
    known[2] = known[2].copy()
    known[2][0] = 0.0  # the witness of bag 2, declared negative
    known[2][1] = np.nan
    est = InstanceMISVM(C=1.0, threshold=0.0).fit(bags, y, instance_labels=known)
    flat = np.concatenate(known)
    labelled = ~np.isnan(flat)
    np.testing.assert_array_equal(est.instance_labels_[labelled], 2 * flat[labelled] - 1)
    # every positive bag keeps a positive instance
    for lab, yi in zip(np.split(est.instance_labels_, np.cumsum([len(b) for b in bags])[:-1]),
                       y):
        assert (lab.max() == 1) == (yi == 1)


@pytest.mark.parametrize("slack", ["instance", "bag"])
def test_mi_svm_witnesses_come_from_the_known_ones(data, slack):
    """A positive bag with known witnesses picks one of them (the best-scoring), and no
    bag ever picks a known negative."""
    bags, y, inst = data
    known = reveal(inst, 0.5, 3)
    for i in np.flatnonzero(y == 1)[::3]:  # some bags: a background instance declared a witness
        known[i] = known[i].copy()
        known[i][5] = 1.0
    est = MISVM(C=1.0, negative_slack=slack).fit(bags, y, instance_labels=known)
    offsets = np.concatenate([[0], np.cumsum([len(b) for b in bags])])
    scores = est.decision_function_instances(bags)
    for w, i in zip(est.witness_indices_, np.flatnonzero(y == 1)):
        row = w - offsets[i]
        assert 0 <= row < len(bags[i])
        assert known[i][row] != 0
        if (known[i] == 1).any():
            assert known[i][row] == 1
            assert scores[i][row] == scores[i][known[i] == 1].max()


@pytest.mark.parametrize("name, margin", [
    ("SIL", 0.1), ("InstanceMISVM", 0.08), ("MISVM", 0.3), ("MISVM-bag", 0.3),
    ("SparseMIL", 0.3), ("SparseBalancedMIL", 0.1), ("SparseTransductiveMIL", 0.3)])
def test_labelling_a_fifth_of_the_instances_finds_the_witnesses(data, name, margin):
    """On confounded bags the unlabelled fit takes the confounders for witnesses; the
    labels of 20 % of the instances raise the witness AUC on new bags by ``margin``."""
    bags, y, inst = data
    test = confounded(100, 1)
    base = witness_auc(ESTIMATORS[name]().fit(bags, y), *test)
    for seed in range(3):
        est = ESTIMATORS[name]().fit(bags, y, instance_labels=reveal(inst, 0.2, seed))
        assert witness_auc(est, *test) > base + margin


class _Recording(SIL):
    """SIL that checks, at every fit, that each known label belongs to its instance."""

    truth: dict = {}
    fits: list = []

    def _fit(self, bags, y, instance_labels=None):
        if instance_labels is not None:
            expect = [self.truth[row.tobytes()] for row in bags.instances]
            np.testing.assert_array_equal(instance_labels, expect)
        type(self).fits.append(instance_labels is not None)
        return super()._fit(bags, y, instance_labels)


@pytest.fixture()
def recording(data):
    bags, _, inst = data
    _Recording.truth = {row.tobytes(): v for b, lab in zip(bags, inst)
                        for row, v in zip(np.asarray(b, dtype=np.float64), lab)}
    _Recording.fits = []
    return _Recording


@pytest.mark.parametrize("routing", [False, True])
def test_cross_val_score_and_grid_search_slice_the_labels(data, recording, routing):
    bags, y, inst = data
    with sklearn.config_context(enable_metadata_routing=routing):
        est = recording(threshold=0.0)
        if routing:
            est = est.set_fit_request(instance_labels=True)
        cross_val_score(est, bags, y, cv=3, params={"instance_labels": inst})
        assert recording.fits == [True] * 3
        recording.fits.clear()
        GridSearchCV(est, {"C": [0.5, 1.0]}, cv=2).fit(bags, y, instance_labels=inst)
        assert recording.fits == [True] * 5


def test_threshold_inner_cv_fits_on_the_known_labels(data, recording):
    bags, y, inst = data
    recording(threshold="auto").fit(bags, y, instance_labels=inst)
    assert recording.fits == [True] * 6  # the fit and the five inner folds


def test_partial_labels_benchmark_rows_resume_and_table(tmp_path):
    """The harness's known-labels benchmark: one row per fraction, reused on a rerun."""
    from skmil.benchmark import partial_labels_table, run_partial_labels_benchmark

    kw = dict(fractions=[0.0, 0.2], n_train=20, bag_size=5, n_test=40, n_repeats=1,
              out_dir=str(tmp_path), progress=False, n_jobs=1)
    rows = run_partial_labels_benchmark(["SIL"], **kw)
    assert sorted(float(r["fraction"]) for r in rows) == [0.0, 0.2]
    assert all(0.0 <= float(r["instance_auc"]) <= 1.0 for r in rows)
    path = tmp_path / "partial_labels_results.csv"
    n_lines = len(path.read_text().splitlines())
    run_partial_labels_benchmark(["SIL"], **kw)
    assert len(path.read_text().splitlines()) == n_lines
    table = partial_labels_table(rows)
    assert "| SIL |" in table and "20 % labelled" in table and "±" not in table
    with pytest.raises(ValueError, match="instance_labels"):
        run_partial_labels_benchmark(["SimpleMI"], **kw)


def test_reveal_instance_labels_reveals_the_true_labels_of_a_fraction():
    from skmil.benchmark import reveal_instance_labels

    truth = [np.array([0, 1, 0, 1] * 250), np.array([1, 0])]
    known = reveal_instance_labels(truth, 0.2, seed=0)
    flat, true = np.concatenate(known), np.concatenate(truth)
    shown = ~np.isnan(flat)
    assert np.array_equal(flat[shown], true[shown])
    assert 0.15 < shown.mean() < 0.25
    assert all(len(k) == len(t) for k, t in zip(known, truth))


# ---------------------------------------------------------------- deep heads (torch)
_DEEP_KW = dict(hidden_layer_sizes=(16,), dropout=0.0, optimizer="adam", lr=1e-2,
                lr_schedule="constant", max_epochs=30, batch_size=4, random_state=0,
                n_jobs=1)


def _deep(name: str):
    """A small, fast configuration of the deep estimator ``name`` (skips without torch)."""
    pytest.importorskip("torch")
    from skmil import deep

    if name == "DeepMILClassifier-mean":
        return deep.DeepMILClassifier(head="embedding", pooling="mean", **_DEEP_KW)
    if name == "InstanceMINet-bs1":
        return deep.InstanceMINet(n_init=1, **{**_DEEP_KW, "batch_size": 1})
    extra = {"n_init": 1} if name == "InstanceMINet" else {}
    return getattr(deep, name)(**_DEEP_KW, **extra)


_DEEP = ["InstanceMINet", "InstanceMINet-bs1", "AttentionMIL", "GatedAttentionMIL", "DSMIL",
         "DeepMILClassifier-mean"]


@pytest.mark.parametrize("name", _DEEP)
def test_deep_none_and_all_unknown_leave_the_fit_unchanged(data, name):
    """Without known labels the training draws and updates are those of a plain fit:
    bag and witness scores are equal bit for bit."""
    bags, y, inst = data
    plain = _deep(name).fit(bags, y)
    unknown = [np.full(lab.shape[0], np.nan) for lab in inst]
    for labels in (None, unknown):
        other = _deep(name).fit(bags, y, instance_labels=labels)
        np.testing.assert_array_equal(plain.decision_function(bags),
                                      other.decision_function(bags))
        np.testing.assert_array_equal(np.concatenate(plain.decision_function_instances(bags)),
                                      np.concatenate(other.decision_function_instances(bags)))
        assert plain.history_ == other.history_


@pytest.mark.parametrize("name", _DEEP)
def test_deep_labelling_a_fifth_of_the_instances_finds_the_witnesses(data, name):
    """On confounded bags the bag loss alone cannot tell witnesses from confounders;
    the instance loss on 20 % known labels raises the witness AUC on new bags."""
    bags, y, inst = data
    test = confounded(100, 1)
    base = witness_auc(_deep(name).fit(bags, y), *test)
    for seed in range(3):
        est = _deep(name).fit(bags, y, instance_labels=reveal(inst, 0.2, seed))
        assert witness_auc(est, *test) > base + 0.3


def test_deep_known_labels_follow_their_bags_into_the_canonical_order(data):
    bags, y, inst = data
    known = reveal(inst, 0.3, 0)
    perm = np.random.default_rng(5).permutation(len(bags))
    a = _deep("AttentionMIL").fit(bags, y, instance_labels=known)
    b = _deep("AttentionMIL").fit([bags[i] for i in perm], y[perm],
                                  instance_labels=[known[i] for i in perm])
    np.testing.assert_array_equal(np.concatenate(a.decision_function_instances(bags)),
                                  np.concatenate(b.decision_function_instances(bags)))


def test_deep_instance_loss_is_the_bce_of_the_known_witness_logits(data):
    """On a padded batch, the instance term equals the BCE of each known instance's
    witness logit computed bag by bag (a naive loop over the known labels)."""
    torch = pytest.importorskip("torch")
    from skmil.bags import check_bags
    from skmil.deep._train import _known_targets, build_network, forward_batch, instance_loss

    bags, _, inst = data
    b = check_bags(bags)
    known = np.concatenate(reveal(inst, 0.4, 7))
    spec = {"n_features": 2, "hidden_layer_sizes": (8,), "dropout": 0.0,
            "dropout_at": "hidden", "encoder": None, "encoder_out": None,
            "head": "attention", "head_kwargs": {}}
    torch.manual_seed(0)
    net = build_network(spec).to(torch.float64).eval()
    X = torch.as_tensor(b.instances)
    idx = np.array([3, 0, 7, 12])
    with torch.no_grad():
        out, _ = forward_batch(net, X, b.offsets, idx)
        got = instance_loss(out, _known_targets(known, b.offsets), idx, torch.float64)
        terms = []
        for i in idx:
            start, stop = b.offsets[i], b.offsets[i + 1]
            logits = net.forward_bag(X[start:stop])["instance"]["witness_logit"].reshape(-1)
            for row in range(stop - start):
                lab = known[start + row]
                if not np.isnan(lab):
                    z = float(logits[row])
                    terms.append(np.logaddexp(0.0, z) - lab * z)
    assert len(terms) > 0
    np.testing.assert_allclose(float(got), np.mean(terms), rtol=1e-10)


@pytest.mark.parametrize("name", ["MINet", "MINetDS", "MINetRC"])
def test_deep_heads_without_witness_scores_refuse_instance_labels(data, name):
    bags, y, inst = data
    pytest.importorskip("torch")
    from skmil import deep

    with pytest.raises(TypeError, match=f"{name} does not learn from known instance"):
        getattr(deep, name)(**_DEEP_KW).fit(bags, y, instance_labels=inst)
    for head in ("embedding", "embedding-ds"):
        with pytest.raises(TypeError, match="no witness scores"):
            deep.DeepMILClassifier(head=head, **_DEEP_KW).fit(bags, y, instance_labels=inst)


def test_deep_invalid_instance_labels_are_refused_by_the_base(data):
    bags, y, inst = data
    est = _deep("AttentionMIL")
    with pytest.raises(ValueError, match=r"marks a witness of the positive class"):
        est.fit(bags, y, instance_labels=[inst[0], np.array([0, 0, 0, 0, 1, 0.0]), *inst[2:]])
    with pytest.raises(ValueError, match="has 39 entries but there are 40 bags"):
        est.fit(bags, y, instance_labels=inst[:-1])


# ---------------------------------------------------------------- sMIL family
def test_smil_examples_follow_the_known_labels(data):
    """sMIL's QP examples, built by a naive loop: known negatives (any bag) are negative
    instances, each known witness a one-instance positive bag (its bag's unknown
    instances dropped), another positive bag the bag of its instances not known
    negative (margin (2 - |X'|) / |X'| via its size)."""
    from skmil.bags import check_bags
    from skmil.svm.smil import _smil_examples

    bags, y, inst = data
    known = reveal(inst, 0.4, 4)
    b = check_bags(bags)
    neg_idx, rows, off = _smil_examples(b, y, np.concatenate(known))
    neg, pos = [], []
    for i, (yi, k) in enumerate(zip(y, known)):
        start = int(b.offsets[i])
        if yi == 0:
            neg += [start + r for r in range(len(k))]
            continue
        neg += [start + r for r in range(len(k)) if k[r] == 0]
        if (k == 1).any():
            pos += [[start + r] for r in range(len(k)) if k[r] == 1]
        else:
            pos.append([start + r for r in range(len(k)) if k[r] != 0])
    assert any(len(e) == 1 for e in pos) and any(len(e) > 1 for e in pos)
    np.testing.assert_array_equal(neg_idx, sorted(neg))
    assert [list(rows[off[j]:off[j + 1]]) for j in range(len(off) - 1)] == pos
    est = SparseMIL(threshold=0.0).fit(bags, y, instance_labels=known)
    assert est.dual_coef_.shape == (len(neg) + len(pos),)


def test_sbmil_known_labels_override_its_step_3_labelling(data):
    bags, y, inst = data
    known = reveal(inst, 0.3, 6)
    known[0] = known[0].copy()
    known[0][4] = 1.0  # a background instance declared a witness
    est = SparseBalancedMIL(threshold=0.0).fit(bags, y, instance_labels=known)
    flat = np.concatenate(known)
    labelled = ~np.isnan(flat)
    np.testing.assert_array_equal(est.instance_labels_[labelled], 2 * flat[labelled] - 1)
    offsets = np.concatenate([[0], np.cumsum([len(b) for b in bags])])
    for i, yi in enumerate(y):
        assert (est.instance_labels_[offsets[i]:offsets[i + 1]].max() == 1) == (yi == 1)


def test_stmil_transduces_only_the_unknown_instances(data):
    """stMIL's third block of examples holds the positive bags' unknown instances."""
    bags, y, inst = data
    known = reveal(inst, 0.3, 8)
    est = SparseTransductiveMIL(threshold=0.0).fit(bags, y, instance_labels=known)
    smil = SparseMIL(threshold=0.0).fit(bags, y, instance_labels=known)
    n_unknown = sum(int(np.isnan(k).sum()) for k, yi in zip(known, y) if yi == 1)
    assert est.dual_coef_.shape == (smil.dual_coef_.shape[0] + n_unknown,)


def test_bag_slack_qp_size_counts_known_negatives_of_positive_bags(data):
    """MI-SVM's shared-slack QP also holds the known negatives of positive bags."""
    bags, y, inst = data
    n_qp = sum(len(b) for b, t in zip(bags, y) if t == 0) + int(np.sum(np.asarray(y) == 1))
    known = [np.where(np.asarray(lab) == 0, 0.0, np.nan) if t == 1 else
             np.full(len(lab), np.nan) for lab, t in zip(inst, y)]
    n_known = int(sum(np.sum(k == 0) for k in known))
    assert n_known > 0
    est = MISVM(kernel="linear", C=1.0, negative_slack="bag", max_qp_size=n_qp)
    est.fit(bags, y)  # fits within the cap without labels
    with pytest.raises(ValueError, match="known negatives of positive bags"):
        est.fit(bags, y, instance_labels=known)
