"""Tests of skmil.deep (torch, CPU): masks, batching, determinism, learning, pickling."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from skmil._threshold import cv_threshold
from skmil.bags import check_bags
from skmil.base import get_mil_tags
from skmil.datasets import make_mil_classification
from skmil.preprocessing import InstanceTransformer

torch = pytest.importorskip("torch")

from skmil.deep import (  # noqa: E402
    DSMIL,
    AdditiveMIL,
    AttentionMIL,
    ConjunctiveMIL,
    DeepMILClassifier,
    GatedAttentionMIL,
    InstanceMINet,
    MINet,
    MINetDS,
    MINetRC,
    PowerPoolingMIL,
)
from skmil.deep._estimators import _named_bag_rule  # noqa: E402
from skmil.deep._nets import HEADS, MILNet, MLPEncoder, Segments, dropout  # noqa: E402
from skmil.deep._train import (  # noqa: E402
    batch_loss,
    build_network,
    collate,
    forward_batch,
    mean_loss,
)

HEAD_NAMES = sorted(HEADS)
ALL_NAMED = [InstanceMINet, MINet, MINetDS, MINetRC, AttentionMIL, GatedAttentionMIL, DSMIL,
             PowerPoolingMIL, ConjunctiveMIL, AdditiveMIL]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _ragged_bags(rng, n_bags=7, d=5):
    sizes = rng.randint(1, 9, size=n_bags)
    sizes[2] = 1
    sizes[3] = 15
    return [rng.randn(s, d) for s in sizes]


def _flat(bags):
    offsets = np.concatenate([[0], np.cumsum([b.shape[0] for b in bags])]).astype(np.int64)
    return np.vstack(bags), offsets


def _net(head, d=5, hidden=(8, 8, 8), dtype=torch.float64):
    torch.manual_seed(0)
    enc = MLPEncoder(d, hidden, dropout=0.0)
    kwargs = {"gated": True} if head == "gated-attention" else {}
    if head == "dsmil":
        kwargs = {"query_dim": 4}
    return MILNet(enc, HEADS[head](enc.out_sizes, **kwargs)).to(dtype).eval()


@pytest.mark.parametrize("dropout_at", ["hidden", "pooled"])
def test_encoder_dropout_placement(dropout_at):
    """'pooled' drops only the outputs the head reads; the chain itself is undropped."""
    torch.manual_seed(0)
    enc = MLPEncoder(6, (16, 16, 16), dropout=0.5, dropout_at=dropout_at).double()
    x = torch.randn(40, 6, dtype=torch.float64)
    clean = enc.eval().forward_all(x)
    torch.manual_seed(1)
    noisy = enc.train().forward_all(x)
    for layer, (c, n) in enumerate(zip(clean, noisy)):
        # inverted dropout: each unit is 0 or twice the undropped value
        kept_or_zero = torch.isclose(n, 2 * c) | (n == 0)
        if dropout_at == "pooled" or layer == 0:
            assert bool(kept_or_zero.all())
        else:  # the layer read dropped units, so its values differ from the clean chain
            assert not bool(kept_or_zero.all())


def test_minns_heads_drop_pooled_outputs_only():
    assert all(cls().dropout_at == "pooled" for cls in (InstanceMINet, MINet, MINetDS, MINetRC))
    assert AttentionMIL().dropout_at == DeepMILClassifier().dropout_at == "hidden"


# --------------------------------------------------------------------- collation / masks
def test_collate_matches_loops():
    rng = np.random.RandomState(0)
    bags = _ragged_bags(rng)
    X, offsets = _flat(bags)
    idx = np.array([4, 1, 3])
    rows, bag_pos, inst_pos, n_max = collate(offsets, idx)
    exp_rows, exp_bag, exp_inst = [], [], []
    for j, b in enumerate(idx):
        for k in range(offsets[b + 1] - offsets[b]):
            exp_rows.append(offsets[b] + k)
            exp_bag.append(j)
            exp_inst.append(k)
    np.testing.assert_array_equal(rows, exp_rows)
    np.testing.assert_array_equal(bag_pos, exp_bag)
    np.testing.assert_array_equal(inst_pos, exp_inst)
    assert n_max == max(bags[b].shape[0] for b in idx)


@pytest.mark.parametrize("head", HEAD_NAMES)
def test_padding_never_changes_a_bags_output(head):
    rng = np.random.RandomState(1)
    bags = _ragged_bags(rng)
    X, offsets = _flat(bags)
    net = _net(head)
    Xt = torch.as_tensor(X)
    with torch.no_grad():
        batch, (bp, ip) = forward_batch(net, Xt, offsets, np.arange(len(bags)))
        for i in range(len(bags)):
            alone, _ = forward_batch(net, Xt, offsets, np.array([i]))
            torch.testing.assert_close(batch["bag_logit"][i], alone["bag_logit"][0],
                                       rtol=1e-12, atol=1e-12)
            for key, val in alone["instance"].items():
                n = bags[i].shape[0]
                torch.testing.assert_close(batch["instance"][key][i, :n], val[0, :n],
                                           rtol=1e-12, atol=1e-12)
                if key == "attention":
                    # padded positions get exactly zero attention
                    assert torch.all(batch["instance"][key][i, n:] == 0)


@pytest.mark.parametrize("head", HEAD_NAMES)
def test_padded_batch_gradient_equals_mean_of_single_bag_gradients(head):
    rng = np.random.RandomState(2)
    bags = _ragged_bags(rng)
    X, offsets = _flat(bags)
    y = torch.as_tensor((np.arange(len(bags)) % 2).astype(float))
    w = torch.as_tensor(rng.uniform(0.5, 2, len(bags)))
    Xt = torch.as_tensor(X)
    net = _net(head)
    net.train()  # dropout is 0: train mode must not change anything either
    idx = np.arange(len(bags))
    out, _ = forward_batch(net, Xt, offsets, idx)
    net.zero_grad()
    batch_loss(out, y, w).backward()
    g_batch = [p.grad.clone() for p in net.parameters()]
    acc = [torch.zeros_like(p) for p in net.parameters()]
    for i in idx:
        out, _ = forward_batch(net, Xt, offsets, np.array([i]))
        net.zero_grad()
        batch_loss(out, y[i:i + 1], w[i:i + 1]).backward()
        for a, p in zip(acc, net.parameters()):
            if p.grad is not None:
                a += p.grad / len(bags)
    for gb, ga in zip(g_batch, acc):
        torch.testing.assert_close(gb, ga, rtol=1e-9, atol=1e-12)


def _segments(bags):
    X, offsets = _flat(bags)
    idx = np.arange(len(bags))
    _, bag_pos, inst_pos, n_max = collate(offsets, idx)
    seg = Segments(torch.as_tensor(np.diff(offsets)), torch.as_tensor(bag_pos),
                   torch.as_tensor(inst_pos), n_max)
    return torch.as_tensor(X), seg


def test_segment_reductions_match_per_bag_reductions():
    rng = np.random.RandomState(7)
    bags = _ragged_bags(rng)
    bags[1] = np.vstack([bags[1], bags[1][:1]])  # a tie for the max
    X, seg = _segments(bags)
    s = X[:, 0]
    parts = torch.split(X, [b.shape[0] for b in bags])
    ref = {
        "max": torch.stack([p.amax(0) for p in parts]),
        "sum": torch.stack([p.sum(0) for p in parts]),
        "mean": torch.stack([p.mean(0) for p in parts]),
        "logsumexp": torch.stack([torch.logsumexp(p, 0) for p in parts]),
    }
    for name, want in ref.items():
        torch.testing.assert_close(getattr(seg, name)(X), want, rtol=1e-12, atol=1e-12)
    soft = torch.cat([torch.softmax(p[:, 0], 0) for p in parts])
    torch.testing.assert_close(seg.softmax(s), soft, rtol=1e-12, atol=1e-12)
    starts = np.cumsum([0] + [b.shape[0] for b in bags])[:-1]
    first = [int(starts[i] + np.argmax(b[:, 0])) for i, b in enumerate(bags)]
    assert seg.argmax(s).tolist() == first
    padded = seg.pad(s)
    for i, b in enumerate(bags):
        n = b.shape[0]
        torch.testing.assert_close(padded[i, :n], torch.as_tensor(b[:, 0]))
        assert torch.all(padded[i, n:] == 0)
    # a one-bag batch takes the direct path and agrees
    one = Segments.one_bag(parts[3].shape[0], "cpu")
    torch.testing.assert_close(one.logsumexp(parts[3]), ref["logsumexp"][3:4])
    assert int(one.argmax(parts[3][:, 0])) == first[3] - starts[3]


def test_dropout_keeps_the_expected_fraction_and_the_mean():
    torch.manual_seed(0)
    x = torch.ones(400, 500, dtype=torch.float64)
    for p in (0.1, 0.5):
        out = dropout(x, p, True)
        kept = out != 0
        assert abs(float(kept.double().mean()) - (1 - p)) < 0.005
        torch.testing.assert_close(out[kept], torch.full_like(out[kept], 1 / (1 - p)))
        assert abs(float(out.mean()) - 1.0) < 0.01
    assert dropout(x, 0.5, False) is x
    assert torch.all(dropout(x, 1.0, True) == 0)


def test_padded_user_head_gives_the_same_bag_logits_batched_and_alone():
    rng = np.random.RandomState(8)
    bags = _ragged_bags(rng)
    X, offsets = _flat(bags)
    torch.manual_seed(0)
    net = MILNet(MLPEncoder(5, (16,), dropout=0.0), MaxHead()).double().eval()
    Xt = torch.as_tensor(X)
    with torch.no_grad():
        batch, _ = forward_batch(net, Xt, offsets, np.arange(len(bags)))
        for i in range(len(bags)):
            alone, _ = forward_batch(net, Xt, offsets, np.array([i]))
            torch.testing.assert_close(batch["bag_logit"][i], alone["bag_logit"][0])


def _np_logsumexp(v):
    m = v.max()
    return m + np.log(np.exp(v - m).sum())


@pytest.mark.parametrize("pooling", ["max", "mean", "lse"])
def test_instance_head_pooling_against_reference(pooling):
    rng = np.random.RandomState(3)
    bags = _ragged_bags(rng)
    X, offsets = _flat(bags)
    torch.manual_seed(0)
    enc = MLPEncoder(5, (), dropout=0.0)  # identity: embeddings are the raw features
    head = HEADS["instance"](enc.out_sizes, pooling=pooling, lse_r=2.0)
    net = MILNet(enc, head).double().eval()
    with torch.no_grad():
        out, _ = forward_batch(net, torch.as_tensor(X), offsets, np.arange(len(bags)))
    w = head.fc.weight.detach().numpy().ravel()
    b = float(head.fc.bias.detach())
    for i, bag in enumerate(bags):
        p = 1 / (1 + np.exp(-(bag @ w + b)))
        if pooling == "max":
            P = p.max()
        elif pooling == "mean":
            P = p.mean()
        else:
            P = (_np_logsumexp(2.0 * p) - np.log(len(p))) / 2.0
        np.testing.assert_allclose(1 / (1 + np.exp(-float(out["bag_logit"][i]))), P,
                                   rtol=1e-6)


def test_dsmil_head_against_reference():
    rng = np.random.RandomState(4)
    bags = _ragged_bags(rng)
    X, offsets = _flat(bags)
    net = _net("dsmil", hidden=())
    head = net.head
    with torch.no_grad():
        out, _ = forward_batch(net, torch.as_tensor(X), offsets, np.arange(len(bags)))
    P = {k: v.detach().numpy() for k, v in head.state_dict().items()}

    def lin(x, name):
        return x @ P[name + ".weight"].T + P[name + ".bias"]

    for i, h in enumerate(bags):
        c = lin(h, "instance_fc").ravel()
        m = int(np.argmax(c))
        q = np.tanh(lin(np.maximum(lin(h, "q.0"), 0), "q.2"))
        s = q @ q[m] / np.sqrt(4)
        a = np.exp(s - s.max())
        a /= a.sum()
        c_b = float(lin(a @ h, "fcc")[0])
        prob = 0.5 * (1 / (1 + np.exp(-c[m])) + 1 / (1 + np.exp(-c_b)))
        np.testing.assert_allclose(float(torch.sigmoid(out["bag_logit"][i])), prob,
                                   rtol=1e-9)
        np.testing.assert_allclose(out["instance"]["attention"][i, :len(h)].numpy(), a,
                                   rtol=1e-9)


# ------------------------------------------------------------------------- estimators
FAST = dict(hidden_layer_sizes=(32,), dropout=0.0, optimizer="adam", lr=5e-3,
            lr_schedule="constant", max_epochs=30, batch_size=8, validation_fraction=0.0,
            weight_decay=0.0)


def _fast_params(cls):
    p = dict(FAST)
    if cls is MINetDS:
        p["hidden_layer_sizes"] = (32, 16)
    if cls is MINetRC:
        p["hidden_layer_sizes"] = (32, 32)
    if cls is DSMIL:
        p.update(hidden_layer_sizes=(), query_dim=16)
    if cls in (AttentionMIL, GatedAttentionMIL, ConjunctiveMIL, AdditiveMIL):
        p["attention_dim"] = 16
    return p


@pytest.fixture(scope="module")
def witness(mil_problem):
    bags, y, inst = mil_problem(n_bags=280, n_features=6, bag_size=8, class_sep=4.0,
                                witness_rate=0.2, random_state=0)
    return (bags[:80], y[:80]), (bags[80:], y[80:], inst[80:])


# mi-Net trains n_init=3 networks by default: over 5 s
@pytest.mark.parametrize("cls", [
    pytest.param(c, marks=pytest.mark.slow) if c is InstanceMINet else c for c in ALL_NAMED
], ids=lambda c: c.__name__)
def test_each_head_learns_a_witness_problem(cls, witness):
    (bags, y), (bt, yt, it) = witness
    clf = cls(random_state=0, **_fast_params(cls)).fit(bags, y)
    # conjunctive pooling averages instance predictions, so one witness among eight moves
    # the bag logit by an eighth of its own: it separates these bags less sharply
    assert roc_auc_score(yt, clf.decision_function(bt)) > (0.9 if cls is ConjunctiveMIL
                                                           else 0.95)
    # with their default (max) pooling, MI-Net and its variants have no witness score
    has_inst = cls in (InstanceMINet, DSMIL, AttentionMIL, GatedAttentionMIL,
                       PowerPoolingMIL, ConjunctiveMIL, AdditiveMIL)
    assert hasattr(clf, "decision_function_instances") == has_inst
    assert hasattr(clf, "predict_instances") == has_inst
    assert get_mil_tags(clf).instance_scores == has_inst
    has_attention = cls in (DSMIL, AttentionMIL, GatedAttentionMIL, AdditiveMIL)
    assert hasattr(clf, "attention_weights") == has_attention
    assert ("attention_weights" in get_mil_tags(clf).instance_outputs) == has_attention
    if has_attention and cls is not DSMIL:
        # attention ranks instances within a bag: witnesses first in positive bags
        att = clf.attention_weights(bt)
        pos = np.flatnonzero(yt == 1)
        auc = roc_auc_score(np.concatenate([it[i] for i in pos]),
                            np.concatenate([att[i] for i in pos]))
        assert auc > 0.9
        for a in att:
            np.testing.assert_allclose(a.sum(), 1.0, rtol=1e-9)
    if not has_inst:
        return
    # witness scores rank instances across bags
    scores = clf.decision_function_instances(bt)
    assert roc_auc_score(np.concatenate(it), np.concatenate(scores)) > 0.9


def test_predictions_agree_and_outputs(witness):
    (bags, y), (bt, _, _) = witness
    clf = DSMIL(random_state=0, threshold=0.3, **_fast_params(DSMIL)).fit(bags, y)
    assert clf.threshold_ == 0.3
    scores = clf.decision_function(bt)
    np.testing.assert_array_equal(clf.predict(bt), (scores > 0).astype(int))
    # predict_proba is the network's probability; threshold is an offset on its log-odds
    proba = clf.predict_proba(bt)[:, 1]
    np.testing.assert_allclose(np.log(proba) - np.log1p(-proba) - 0.3, scores,
                               rtol=1e-6, atol=1e-6)
    out = clf.predict_head_outputs(bt)
    np.testing.assert_allclose(out["proba"],
                               0.5 * (out["max_stream_proba"] + out["bag_stream_proba"]),
                               rtol=1e-9)
    # the max stream is the sigmoid of the largest instance logit
    np.testing.assert_allclose(out["max_stream_proba"],
                               [p.max() for p in out["instance_proba"]], rtol=1e-9)
    inst = clf.predict_instances(bt)
    dfi = clf.decision_function_instances(bt)
    for lab, s, c, wl in zip(inst, dfi, out["instance_logit"], out["witness_logit"]):
        np.testing.assert_array_equal(lab, (s > 0).astype(int))
        np.testing.assert_allclose(s, wl - 0.3, rtol=1e-12, atol=1e-12)
        # witness scores rank a bag's instances as the instance classifier does
        np.testing.assert_array_equal(np.argsort(s, kind="stable"),
                                      np.argsort(c, kind="stable"))
    # bag rule "max": the bag score is the largest witness score
    np.testing.assert_allclose(scores, [s.max() for s in dfi], rtol=1e-9, atol=1e-9)
    for a, b in zip(clf.attention_weights(bt), out["attention"]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cls, pooling, rule", [
    (InstanceMINet, "max", "max"), (InstanceMINet, "mean", "convex"),
    (InstanceMINet, "lse", "convex"), (MINet, "mean", "mean"), (MINet, "lse", None),
    (MINetRC, "mean", "mean"), (MINetDS, "mean", None), (AttentionMIL, None, "convex"),
    (GatedAttentionMIL, None, "convex"), (DSMIL, None, "max"),
    (PowerPoolingMIL, None, "convex"), (ConjunctiveMIL, None, "mean"),
    (AdditiveMIL, None, "sum"),
], ids=str)
def test_declared_bag_rule_holds(cls, pooling, rule, witness):
    """Each head's witness scores give its bag scores by the rule it declares."""
    (bags, y), (bt, _, _) = witness
    params = {**_fast_params(cls), "max_epochs": 3, "threshold": 0.2}
    if pooling is not None:
        params["pooling"] = pooling
    clf = cls(random_state=0, **params)
    assert get_mil_tags(clf).bag_rule == rule  # declared before fitting, from the params
    clf.fit(bags[:40], y[:40])
    head = clf.network_.head
    assert getattr(head, "bag_rule", None) == rule  # the module agrees with the estimator
    if rule is None:
        assert not hasattr(clf, "decision_function_instances")
        return
    bag = clf.decision_function(bt)
    s = clf.decision_function_instances(bt)
    if rule == "max":
        np.testing.assert_allclose(bag, [v.max() for v in s], rtol=1e-9, atol=1e-9)
    elif rule == "mean":
        np.testing.assert_allclose(bag, [v.mean() for v in s], rtol=1e-9, atol=1e-9)
    elif rule == "sum":
        np.testing.assert_allclose(bag, [v.sum() for v in s], rtol=1e-9, atol=1e-9)
    else:
        assert np.all(bag >= np.array([v.min() for v in s]) - 1e-9)
        assert np.all(bag <= np.array([v.max() for v in s]) + 1e-9)
    if cls in (AttentionMIL, GatedAttentionMIL):  # exactly the attention-weighted mean
        np.testing.assert_allclose(
            bag, [a @ v for a, v in zip(clf.attention_weights(bt), s)], rtol=1e-9, atol=1e-9)


def test_named_bag_rule_mirrors_the_head_modules():
    for kind in HEAD_NAMES:
        for pooling in ("max", "mean", "lse"):
            kwargs = {"pooling": pooling} if kind in ("instance", "embedding", "embedding-ds",
                                                       "embedding-rc") else {}
            if kind == "gated-attention":
                kwargs = {"gated": True}
            head = HEADS[kind]([8, 8], **kwargs)
            assert head.bag_rule == _named_bag_rule(kind, pooling), (kind, pooling)


def test_lse_pooling_logit_is_exact_where_probabilities_saturate():
    torch.manual_seed(0)
    enc = MLPEncoder(1, (), dropout=0.0)
    head = HEADS["instance"](enc.out_sizes, pooling="lse", lse_r=1.0)
    with torch.no_grad():
        head.fc.weight.fill_(1.0)
        head.fc.bias.fill_(0.0)
    net = MILNet(enc, head).double().eval()
    X = np.array([[30.0], [40.0], [-35.0], [-50.0]])
    offsets = np.array([0, 2, 4])
    with torch.no_grad():
        out, _ = forward_batch(net, torch.as_tensor(X), offsets, np.arange(2))
    logit = out["bag_logit"].numpy()
    # LSE of the probabilities lies between their min and max, so the logit lies between
    # the instance logits (a clamp of the probabilities would cap it near +-16)
    assert 30.0 <= logit[0] <= 40.0 and -50.0 <= logit[1] <= -35.0


def test_threshold_auto_is_the_inner_cv_of_the_base(witness):
    (bags, y), _ = witness
    params = {**_fast_params(MINet), "max_epochs": 2}
    clf = MINet(random_state=0, threshold="auto", **params).fit(bags[:40], y[:40])
    expected = cv_threshold(clone(clf), check_bags(bags[:40]), y[:40])
    assert clf.threshold_ == expected
    assert all("val_loss" not in h for h in clf.history_)  # no validation split


def test_diverging_loss_is_an_error_naming_the_epoch(witness):
    (bags, y), _ = witness
    for cls in (AttentionMIL, InstanceMINet):
        params = {**_fast_params(cls), "lr": 1e6, "max_epochs": 5}
        with pytest.raises(ValueError, match=r"diverged at epoch \d.*smaller lr"):
            cls(random_state=0, **params).fit(bags[:40], y[:40])


def test_early_stopping_at_max_epochs_warns(witness):
    (bags, y), _ = witness
    params = {**_fast_params(MINet), "max_epochs": 3, "validation_fraction": 0.25}
    est = MINet(random_state=0, early_stopping=True, n_iter_no_change=5, **params)
    with pytest.warns(ConvergenceWarning, match="max_epochs=3"):
        est.fit(bags, y)
    assert est.n_epochs_ == 3


def test_deep_supervision_outputs(witness):
    (bags, y), (bt, _, _) = witness
    clf = MINetDS(random_state=0, **{**_fast_params(MINetDS), "max_epochs": 3}).fit(bags, y)
    out = clf.predict_head_outputs(bt)
    assert out["layer_proba"].shape == (len(bt), 2)
    np.testing.assert_allclose(out["proba"], out["layer_proba"].mean(axis=1), rtol=1e-9)


def test_predict_batching_does_not_change_outputs(witness):
    (bags, y), (bt, _, _) = witness
    clf = AttentionMIL(random_state=0, **{**_fast_params(AttentionMIL), "max_epochs": 3})
    clf.fit(bags, y)
    full = clf.decision_function(bt)
    one_by_one = np.array([clf.decision_function([b])[0] for b in bt[:20]])
    np.testing.assert_allclose(full[:20], one_by_one, rtol=1e-12, atol=1e-12)


def test_determinism_and_global_rng_untouched(witness):
    (bags, y), _ = witness
    params = {**_fast_params(InstanceMINet), "max_epochs": 4, "dropout": 0.3,
              "validation_fraction": 0.2, "early_stopping": True}
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    # n_iter_no_change=10 > max_epochs: early stopping cannot stop, and says so
    with pytest.warns(ConvergenceWarning, match="max_epochs"):
        a = InstanceMINet(random_state=7, **params).fit(bags, y)
    torch.testing.assert_close(torch.rand(3), expected_next)  # global RNG restored
    with pytest.warns(ConvergenceWarning, match="max_epochs"):
        b = InstanceMINet(random_state=7, **params).fit(bags, y)
    np.testing.assert_array_equal(a.decision_function(bags), b.decision_function(bags))
    assert a.history_ == b.history_
    with pytest.warns(ConvergenceWarning, match="max_epochs"):
        c = InstanceMINet(random_state=8, **params).fit(bags, y)
    assert not np.array_equal(a.decision_function(bags), c.decision_function(bags))


def test_n_init_keeps_the_initialisation_of_lowest_training_loss(witness):
    (bags, y), _ = witness
    params = {**_fast_params(InstanceMINet), "max_epochs": 2, "dropout": 0.3, "device": "cpu"}
    one = InstanceMINet(random_state=5, n_init=1, **params).fit(bags, y)
    three = InstanceMINet(random_state=5, **params).fit(bags, y)  # mi-Net's default: 3
    assert one.init_losses_.shape == (1,) and three.init_losses_.shape == (3,)
    # only mi-Net restarts by default (its max pooling is the head that fails to start)
    assert {cls().n_init for cls in ALL_NAMED if cls is not InstanceMINet} == {1}
    # the first initialisation is the n_init=1 fit; the others differ
    assert three.init_losses_[0] == one.init_losses_[0]
    assert len(set(three.init_losses_.tolist())) == 3
    X, offsets = _flat(bags)
    kept = mean_loss(three.network_, torch.as_tensor(X, dtype=torch.float32), offsets,
                     torch.as_tensor(y, dtype=torch.float32), torch.ones(len(y)),
                     np.arange(len(y)))
    assert kept == pytest.approx(three.init_losses_.min(), rel=1e-6)
    same = np.array_equal(three.decision_function(bags), one.decision_function(bags))
    assert same == (int(np.argmin(three.init_losses_)) == 0)


@pytest.mark.parametrize("batch_size", [1, 5])
def test_batch_size_one_equals_padded_batches_in_training(witness, batch_size):
    """Plain SGD on padded batches equals accumulating single-bag gradients."""
    (bags, y), _ = witness
    bags, y = bags[:20], y[:20]
    params = {**_fast_params(GatedAttentionMIL), "optimizer": "sgd", "momentum": 0.0,
              "lr": 0.05, "max_epochs": 2, "dtype": "float64", "batch_size": batch_size}
    clf = GatedAttentionMIL(random_state=3, **params).fit(bags, y)
    # reference: the same initialisation and bag order, one bag at a time, the
    # gradient averaged by hand; the estimator trains on the bags in the base's
    # canonical order, so the reference does too
    bags = [bags[i] for i in clf._train_order]
    y = y[clf._train_order]
    seed = np.random.RandomState(3).randint(0, 2**31 - 1)
    torch.manual_seed(seed)
    net = build_network(clf.network_spec_).double()
    X, offsets = _flat(bags)
    Xt = torch.as_tensor(X)
    yt = torch.as_tensor(y.astype(float))
    rng = np.random.RandomState(seed)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    for _ in range(2):
        order = rng.permutation(len(bags))
        for start in range(0, len(bags), batch_size):
            idx = order[start:start + batch_size]
            opt.zero_grad()
            for i in idx:
                out, _ = forward_batch(net, Xt, offsets, np.array([i]))
                (batch_loss(out, yt[i:i + 1], torch.ones(1, dtype=torch.float64))
                 / len(idx)).backward()
            opt.step()
    # .cpu(): with CUDA present the estimator trains on the GPU, the reference on the CPU
    for (k, p), q in zip(clf.network_.state_dict().items(), net.state_dict().values()):
        torch.testing.assert_close(p.cpu(), q, rtol=1e-7, atol=1e-9,
                                   msg=lambda m, k=k: f"{k}: {m}")


def test_pickle_stores_state_dict_not_modules(witness):
    (bags, y), (bt, _, _) = witness
    clf = MINetRC(random_state=0, **{**_fast_params(MINetRC), "max_epochs": 2}).fit(bags, y)
    state = clf.__getstate__()
    assert "network_" not in state
    assert all(isinstance(v, np.ndarray) for v in state["_network_state"].values())
    assert not any(isinstance(v, torch.nn.Module) for v in state.values())
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.decision_function(bt), clf.decision_function(bt))
    assert restored.threshold_ == clf.threshold_


class MaxHead(torch.nn.Module):
    bag_rule = None
    has_attention = False

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(16, 1)

    def forward(self, hs, mask):
        h = hs[-1]
        z = (h * mask.unsqueeze(-1)).amax(dim=1)
        logit = self.fc(z).squeeze(-1)
        return {"loss_logits": [logit], "loss_weights": [1.0], "bag_logit": logit,
                "bag": {}, "instance": {}}



def test_user_encoder_and_head_modules(witness):
    (bags, y), (bt, yt, _) = witness

    enc = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU())
    clf = DeepMILClassifier(encoder=enc, head=MaxHead(), **{
        k: v for k, v in FAST.items() if k not in ("hidden_layer_sizes", "dropout")},
        random_state=0).fit(bags, y)
    assert roc_auc_score(yt, clf.decision_function(bt)) > 0.9
    assert not hasattr(clf, "predict_instances")
    # the user's template module is never trained in place
    assert enc[0].weight.grad is None
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.decision_function(bt), clf.decision_function(bt))
    cloned = clone(clf)
    assert cloned.encoder is not enc


@pytest.mark.slow  # loky worker processes each import torch
def test_grid_search_pipeline_and_joblib_processes(witness):
    (bags, y), _ = witness
    base = make_pipeline(InstanceTransformer(),
                         MINet(random_state=0, **{**FAST, "max_epochs": 2}))
    grid = GridSearchCV(base, {"minet__lr": [1e-3, 1e-2],
                               "minet__hidden_layer_sizes": [(8,), (16, 8)]}, cv=2)
    grid.fit(bags[:40], y[:40])
    assert set(grid.best_params_) == {"minet__lr", "minet__hidden_layer_sizes"}
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    serial = cross_val_score(base, bags[:40], y[:40], cv=cv)
    parallel = cross_val_score(base, bags[:40], y[:40], cv=cv, n_jobs=2)
    np.testing.assert_allclose(serial, parallel)


@pytest.mark.parametrize("params, match", [
    ({"head": "nope"}, "'head' parameter of DeepMILClassifier"),
    ({"head": "mi-Net"}, "'head' parameter"),
    ({"pooling": "median", "head": "instance"}, "pooling"),
    ({"optimizer": "rmsprop"}, "optimizer"),
    ({"batch_size": 0}, "batch_size"),
    ({"n_init": 0}, "n_init"),
    ({"dropout": 1.5}, "dropout"),
    ({"dropout_at": "input"}, "dropout_at"),
    ({"threshold": float("nan")}, "threshold"),
    ({"threshold": 2.0}, None),  # a log-odds offset: any finite number
    ({"head_params": {"bogus": 1}}, "head_params"),
    ({"head_params": {"pooling": "mean"}, "head": "instance"}, "head_params"),
    ({"head_params": {"lse_r": -1.0}, "head": "instance"}, "lse_r"),
    ({"hidden_layer_sizes": (8, 0)}, "hidden_layer_sizes"),
    ({"betas": (0.9,)}, "betas"),
    ({"class_weight": {0: 1.0}}, "class_weight"),
    ({"validation_fraction": 0.5, "max_epochs": 1}, None),
    ({"validation_fraction": 0.0, "early_stopping": True}, "validation_fraction"),
    ({"head": "embedding-rc", "hidden_layer_sizes": (8, 4)}, "same width"),
])
def test_parameter_errors(params, match, witness):
    (bags, y), _ = witness
    est = DeepMILClassifier(**{**FAST, "max_epochs": 1, **params})
    if match is None:  # valid: fits
        est.fit(bags[:20], y[:20])
        return
    with pytest.raises(ValueError, match=match):
        est.fit(bags[:20], y[:20])


def test_validation_split_too_small_is_explained():
    bags, y, _ = make_mil_classification(n_bags=6, n_features=3, random_state=0)
    with pytest.raises(ValueError, match="validation_fraction"):
        DeepMILClassifier(**{**FAST, "validation_fraction": 0.1,
                             "early_stopping": True}).fit(bags, y)


def test_validation_split_only_when_used(witness):
    """Default: no split, every bag trained on for max_epochs (sklearn's MLPClassifier)."""
    (bags, y), _ = witness
    params = {**FAST, "max_epochs": 5, "validation_fraction": 0.2}
    plain = DeepMILClassifier(random_state=0, **params).fit(bags, y)
    assert plain.n_epochs_ == plain.best_epoch_ == 5
    assert all("val_loss" not in h for h in plain.history_)
    # the ignored fraction changes nothing: same fit as with no fraction at all
    none = DeepMILClassifier(random_state=0, **{**params, "validation_fraction": 0.0})
    np.testing.assert_array_equal(plain.decision_function(bags),
                                  none.fit(bags, y).decision_function(bags))
    stopped = DeepMILClassifier(random_state=0, early_stopping=True,
                                **{**params, "n_iter_no_change": 1})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stopped.fit(bags, y)
    assert all("val_loss" in h for h in stopped.history_)
    assert 1 <= stopped.best_epoch_ <= stopped.n_epochs_ <= 5
    # the cap warning comes exactly when early stopping did not end the run: all five
    # epochs ran and the last one still lowered the validation loss
    capped = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    losses = [h["val_loss"] for h in stopped.history_]
    last_improved = len(losses) == 1 or losses[-1] < min(losses[:-1]) - 1e-12
    assert bool(capped) == (stopped.n_epochs_ == 5 and last_improved)


# --------------------------------------------------------------------- without torch
def _run(code):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow  # a fresh interpreter imports skmil and scikit-learn
def test_import_skmil_never_imports_torch():
    res = _run("""
        import sys
        import skmil, skmil.svm, skmil.embedding, skmil.deep, skmil.datasets
        assert "torch" not in sys.modules, "torch was imported"
        print("ok")
    """)
    assert res.returncode == 0, res.stderr
    assert "ok" in res.stdout


@pytest.mark.slow  # a fresh interpreter imports skmil and scikit-learn
def test_behaviour_without_torch():
    res = _run("""
        import sys

        class HideTorch:  # as if torch were not installed: no finder finds it
            def __init__(self, inner):
                self.inner = inner

            def find_spec(self, name, path=None, target=None):
                if name == "torch" or name.startswith("torch."):
                    return None
                return self.inner.find_spec(name, path, target)

            def __getattr__(self, attr):
                return getattr(self.inner, attr)

        sys.meta_path[:] = [HideTorch(f) if hasattr(f, "find_spec") else f
                            for f in sys.meta_path]
        import skmil.deep
        from skmil.utils import all_estimators
        names = [n for n, _ in all_estimators()]
        assert "SIL" in names and not any(n in names for n in skmil.deep.__all__), names
        assert not skmil.deep.torch_available()
        for name in ("DeepMILClassifier", "InstanceMINet", "DSMIL", "AttentionMIL"):
            try:
                getattr(skmil.deep, name)()
            except ImportError as exc:
                assert "pip install skmil[deep]" in str(exc), exc
            else:
                raise AssertionError(name + " built without torch")
        print("ok")
    """)
    assert res.returncode == 0, res.stderr
    assert "ok" in res.stdout


# ------------------------------------------------------------ second-wave heads by hand
def _lin(P, x, name):
    return x @ P[name + ".weight"].T + P[name + ".bias"]


def _head_params(net):
    return {k: v.detach().numpy() for k, v in net.head.state_dict().items()}


def _sig(x):
    return 1 / (1 + np.exp(-x))


def test_power_pooling_head_against_reference():
    rng = np.random.RandomState(11)
    bags = _ragged_bags(rng)
    X, offsets = _flat(bags)
    net = _net("power", hidden=())
    with torch.no_grad():
        net.head.rho.fill_(0.3)  # an exponent other than the initial 1
        out, _ = forward_batch(net, torch.as_tensor(X), offsets, np.arange(len(bags)))
    P = _head_params(net)
    n = np.log1p(np.exp(0.3))
    for i, h in enumerate(bags):
        p = _sig(_lin(P, h, "fc").ravel())
        bag_p = (p ** (n + 1)).sum() / (p ** n).sum()
        np.testing.assert_allclose(_sig(float(out["bag_logit"][i])), bag_p, rtol=1e-9)
        w = p ** n / (p ** n).sum()
        np.testing.assert_allclose(out["instance"]["weight"][i, :len(h)].numpy(), w,
                                   rtol=1e-9)


def test_conjunctive_head_against_reference():
    rng = np.random.RandomState(12)
    bags = _ragged_bags(rng)
    X, offsets = _flat(bags)
    net = _net("conjunctive", hidden=())
    with torch.no_grad():
        out, _ = forward_batch(net, torch.as_tensor(X), offsets, np.arange(len(bags)))
    P = _head_params(net)
    for i, h in enumerate(bags):
        gate = _sig(_lin(P, np.tanh(_lin(P, h, "V")), "w")).ravel()
        s = _lin(P, gate[:, None] * h, "fc").ravel()
        np.testing.assert_allclose(out["instance"]["witness_logit"][i, :len(h)].numpy(), s,
                                   rtol=1e-9)
        np.testing.assert_allclose(float(out["bag_logit"][i]), s.mean(), rtol=1e-9)


def test_additive_head_against_reference():
    rng = np.random.RandomState(13)
    bags = _ragged_bags(rng)
    X, offsets = _flat(bags)
    net = _net("additive", hidden=())
    with torch.no_grad():
        out, _ = forward_batch(net, torch.as_tensor(X), offsets, np.arange(len(bags)))
    P = _head_params(net)
    for i, h in enumerate(bags):
        e = _lin(P, np.tanh(_lin(P, h, "V")), "w").ravel()
        a = np.exp(e - e.max())
        a /= a.sum()
        c = _lin(P, np.maximum(_lin(P, a[:, None] * h, "psi.0"), 0), "psi.2").ravel()
        np.testing.assert_allclose(out["instance"]["attention"][i, :len(h)].numpy(), a,
                                   rtol=1e-9)
        np.testing.assert_allclose(float(out["bag_logit"][i]), c.sum(), rtol=1e-9)


def test_sum_rule_spreads_the_threshold_over_the_instances():
    from skmil.datasets import make_mil_classification
    from skmil.deep import AdditiveMIL

    bags, y, _ = make_mil_classification(n_bags=30, n_features=4, random_state=0)
    clf = AdditiveMIL(threshold=0.7, **_fast_params(AdditiveMIL)).fit(bags, y)
    scores = clf.decision_function_instances(bags)
    np.testing.assert_allclose([s.sum() for s in scores], clf.decision_function(bags),
                               rtol=1e-9, atol=1e-9)
