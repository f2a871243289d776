"""The open training loop of the deep estimators: callbacks, warm_start, partial_fit,
a custom loss and optimiser class."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from sklearn.base import clone  # noqa: E402

from skmil.datasets import make_mil_classification  # noqa: E402
from skmil.deep import AttentionMIL, MINet  # noqa: E402
from skmil.deep.callbacks import Callback, Checkpoint, EarlyStopping  # noqa: E402

FAST = dict(hidden_layer_sizes=(16,), dropout=0.0, optimizer="adam", lr=5e-3,
            lr_schedule="constant", max_epochs=6, batch_size=8, weight_decay=0.0,
            random_state=0)


@pytest.fixture(scope="module")
def data():
    bags, y, _ = make_mil_classification(n_bags=60, n_features=5, random_state=0)
    return bags, y


class Recorder(Callback):
    def on_train_begin(self, estimator, network):
        self.events = ["begin"]

    def on_epoch_end(self, estimator, network, record):
        self.events.append(dict(record))

    def on_train_end(self, estimator, network):
        self.events.append("end")


def test_callback_sees_every_epoch_and_is_copied(data):
    bags, y = data
    rec = Recorder()
    clf = MINet(callbacks=[rec], **FAST).fit(bags, y)
    fitted = clf.callbacks_[0]
    assert fitted is not rec and not hasattr(rec, "events")  # the user's object is a template
    assert fitted.events[0] == "begin" and fitted.events[-1] == "end"
    assert fitted.events[1:-1] == clf.history_
    assert [r["epoch"] for r in clf.history_] == list(range(1, 7))


def test_function_callback_stops_training(data):
    bags, y = data
    clf = MINet(callbacks=[lambda est, net, rec: rec["epoch"] == 2], **FAST).fit(bags, y)
    assert clf.n_epochs_ == 2


def test_bad_callback_and_missing_validation_split(data):
    bags, y = data
    with pytest.raises(TypeError, match=r"callbacks\[0\]"):
        MINet(callbacks=[3], **FAST).fit(bags, y)
    with pytest.raises(ValueError, match="validation_fraction=0"):
        MINet(callbacks=[EarlyStopping()], validation_fraction=0.0, **FAST).fit(bags, y)
    # the default validation_fraction=0.1 gives the split a val_loss monitor needs
    assert "val_loss" in MINet(callbacks=[EarlyStopping()], **FAST).fit(bags, y).history_[0]
    with pytest.raises(ValueError, match="has no 'valid_loss'"):
        MINet(callbacks=[EarlyStopping(monitor="valid_loss")], **FAST).fit(bags, y)


def test_early_stopping_parameter_is_the_early_stopping_callback(data):
    bags, y = data
    params = {**FAST, "max_epochs": 40, "validation_fraction": 0.2}
    builtin = MINet(early_stopping=True, n_iter_no_change=3, **params).fit(bags, y)
    cb = EarlyStopping(patience=3, min_delta=1e-12)
    explicit = MINet(callbacks=[cb], **params).fit(bags, y)
    assert builtin.history_ == explicit.history_
    assert builtin.best_epoch_ == explicit.callbacks_[0].best_epoch_
    np.testing.assert_array_equal(builtin.decision_function(bags),
                                  explicit.decision_function(bags))
    assert builtin.n_epochs_ < 40  # it stopped, and kept the best epoch's weights
    best = min(r["val_loss"] for r in builtin.history_)
    assert builtin.history_[builtin.best_epoch_ - 1]["val_loss"] == best


def test_checkpoint_keeps_and_saves_the_best_weights(data, tmp_path):
    bags, y = data
    path = tmp_path / "best.pt"
    clf = MINet(callbacks=[Checkpoint(monitor="train_loss", path=path)], **FAST).fit(bags, y)
    cb = clf.callbacks_[0]
    losses = [r["train_loss"] for r in clf.history_]
    assert cb.best_epoch_ == int(np.argmin(losses)) + 1
    saved = torch.load(path)
    for k, v in cb.best_state_.items():
        torch.testing.assert_close(saved[k], v)
    if cb.best_epoch_ == clf.n_epochs_:
        for k, v in clf.network_.state_dict().items():
            torch.testing.assert_close(cb.best_state_[k], v.cpu())


def test_warm_start_continues_the_network(data):
    bags, y = data
    clf = MINet(**FAST).fit(bags, y)
    first = {k: v.clone() for k, v in clf.network_.state_dict().items()}
    clf.set_params(warm_start=True).fit(bags, y)
    assert [r["epoch"] for r in clf.history_] == list(range(1, 13))
    assert clf.n_epochs_ == 12
    fresh = MINet(**FAST).fit(bags, y)
    changed = any(not torch.equal(first[k], v) for k, v in clf.network_.state_dict().items())
    assert changed
    assert not np.allclose(clf.decision_function(bags), fresh.decision_function(bags))
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        clf.set_params(hidden_layer_sizes=(8,)).fit(bags, y)
    # an unfitted estimator with warm_start=True simply fits
    assert MINet(warm_start=True, **FAST).fit(bags, y).n_epochs_ == 6


def test_partial_fit_one_epoch_matches_fit_one_epoch(data):
    bags, y = data
    params = {**FAST, "max_epochs": 1}
    full = MINet(**params).fit(bags, y)
    part = MINet(**params).partial_fit(bags, y)
    assert part.history_ == full.history_
    np.testing.assert_array_equal(part.decision_function(bags), full.decision_function(bags))


def test_partial_fit_streams_epochs_and_refuses_whole_set_settings(data):
    bags, y = data
    clf = MINet(**FAST)
    half = np.flatnonzero(y == 1)[:10]
    with pytest.raises(ValueError, match="single class"):
        clf.partial_fit([bags[i] for i in half], y[half])
    clf.partial_fit([bags[i] for i in half], y[half], classes=[0, 1])
    for _ in range(3):
        clf.partial_fit(bags, y)
    assert clf.n_epochs_ == 4 and [r["epoch"] for r in clf.history_] == [1, 2, 3, 4]
    assert clf._resume.step == 2 + 3 * 8  # ceil(10/8) + 3 * ceil(60/8) steps so far
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.decision_function(bags), clf.decision_function(bags))
    restored.partial_fit(bags, y)  # a fresh optimiser, epochs count on
    assert restored.n_epochs_ == 5
    with pytest.raises(ValueError, match="outside classes_"):
        clf.partial_fit(bags[:4], np.array([0, 1, 2, 1]))
    for bad in [dict(threshold="auto"), dict(class_weight="balanced"),
                dict(early_stopping=True), dict(callbacks=[EarlyStopping()])]:
        with pytest.raises(ValueError, match="partial_fit"):
            MINet(**{**FAST, **bad}).partial_fit(bags, y)


def test_partial_fit_after_fit_continues(data):
    bags, y = data
    clf = MINet(**FAST).fit(bags, y)
    clf.partial_fit(bags, y)
    assert clf.n_epochs_ == 7 and clf.history_[-1]["epoch"] == 7


def test_custom_loss_equal_to_the_default_gives_the_same_fit(data):
    bags, y = data
    default = AttentionMIL(**FAST).fit(bags, y)

    def bce(z, t):
        return F.binary_cross_entropy_with_logits(z, t, reduction="none")

    custom = AttentionMIL(loss=bce, **FAST).fit(bags, y)
    np.testing.assert_allclose(custom.decision_function(bags), default.decision_function(bags),
                               rtol=1e-6, atol=1e-6)
    clone(custom)  # the function is a plain parameter
    with pytest.raises(ValueError, match="per-bag losses"):
        AttentionMIL(loss=lambda z, t: F.binary_cross_entropy_with_logits(z, t),
                     **FAST).fit(bags, y)
    # a different loss trains a different network
    hinge = AttentionMIL(loss=lambda z, t: torch.relu(1 - (2 * t - 1) * z), **FAST)
    assert not np.allclose(hinge.fit(bags, y).decision_function(bags),
                           default.decision_function(bags))


def test_optimizer_class_and_params(data):
    bags, y = data
    rms = MINet(optimizer=torch.optim.RMSprop, optimizer_params={"alpha": 0.9},
                **{k: v for k, v in FAST.items() if k != "optimizer"}).fit(bags, y)
    opt = torch.optim.RMSprop([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    assert rms._resume.optimizer_state["param_groups"][0]["alpha"] == 0.9
    assert set(opt.state_dict()["param_groups"][0]) <= set(
        rms._resume.optimizer_state["param_groups"][0])
    same = MINet(optimizer=torch.optim.Adam, optimizer_params={"fused": False},
                 **{k: v for k, v in FAST.items() if k != "optimizer"}).fit(bags, y)
    ref = MINet(**FAST).fit(bags, y)
    np.testing.assert_allclose(same.decision_function(bags), ref.decision_function(bags),
                               rtol=1e-4, atol=1e-4)
    with pytest.raises(TypeError):
        MINet(optimizer=torch.optim.Adam, optimizer_params={"no_such": 1},
              **{k: v for k, v in FAST.items() if k != "optimizer"}).fit(bags, y)


@pytest.mark.parametrize("kind", ["adam", "sgd"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_functional_optimizer_matches_the_torch_class_bit_for_bit(kind, dtype):
    from skmil.deep._optim import FunctionalOptimizer

    gen = torch.Generator().manual_seed(0)
    ours = [torch.nn.Parameter(torch.randn(5, 3, dtype=dtype, generator=gen)),
            torch.nn.Parameter(torch.randn(3, dtype=dtype, generator=gen))]
    theirs = [torch.nn.Parameter(p.detach().clone()) for p in ours]
    if kind == "adam":
        opt = FunctionalOptimizer(ours, "adam", lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)
        ref = torch.optim.Adam(theirs, lr=0.01, betas=(0.8, 0.99), weight_decay=0.1,
                               fused=True)
    else:
        opt = FunctionalOptimizer(ours, "sgd", lr=0.01, momentum=0.9, nesterov=True,
                                  weight_decay=0.1)
        ref = torch.optim.SGD(theirs, lr=0.01, momentum=0.9, nesterov=True,
                              weight_decay=0.1, fused=True)
    for t in range(12):
        for p, q in zip(ours, theirs):
            g = torch.randn(p.shape, dtype=dtype, generator=gen)
            p.grad, q.grad = g.clone(), g.clone()
        if t == 4:  # a parameter without a gradient is left alone, state and all
            ours[1].grad = theirs[1].grad = None
        if t == 7:  # a copy of the state continues the same run (partial_fit's resume)
            fresh = FunctionalOptimizer(ours, kind, lr=0.01, betas=(0.8, 0.99),
                                        momentum=0.9, nesterov=True, weight_decay=0.1)
            fresh.load_state_dict(opt.state_dict())
            opt = fresh
        opt.param_groups[0]["lr"] = ref.param_groups[0]["lr"] = 0.01 / (1 + t)
        opt.step()
        ref.step()
        for p, q in zip(ours, theirs):
            assert torch.equal(p, q)
    assert opt.fused


def test_torch_state_dict_resumes_the_functional_optimizer():
    from skmil.deep._optim import FunctionalOptimizer

    p = torch.nn.Parameter(torch.ones(4))
    ref = torch.optim.Adam([p], lr=0.1, fused=True)
    p.grad = torch.full((4,), 0.5)
    ref.step()
    q = torch.nn.Parameter(p.detach().clone())
    opt = FunctionalOptimizer([q], "adam", lr=0.1, weight_decay=0.0)
    opt.load_state_dict(ref.state_dict())
    p.grad, q.grad = torch.full((4,), -1.0), torch.full((4,), -1.0)
    ref.step()
    opt.step()
    assert torch.equal(p, q)


def test_builtin_optimizer_is_torch_adam_fused(data):
    bags, y = data
    ours = MINet(**FAST).fit(bags, y)
    ref = MINet(optimizer=torch.optim.Adam, optimizer_params={"fused": True},
                **{k: v for k, v in FAST.items() if k != "optimizer"}).fit(bags, y)
    np.testing.assert_array_equal(ours.decision_function(bags), ref.decision_function(bags))


@pytest.mark.slow
def test_a_deep_fit_does_not_import_torchs_compiler():
    # torch.optim.Optimizer's methods import torch._dynamo (about a second) on first use
    import subprocess
    import sys

    code = ("import sys\n"
            "from skmil.datasets import make_mil_classification\n"
            "from skmil.deep import AttentionMIL, MINet\n"
            "bags, y, _ = make_mil_classification(n_bags=20, random_state=0)\n"
            "AttentionMIL(max_epochs=2).fit(bags, y).predict(bags)\n"
            "MINet(max_epochs=2).fit(bags, y).predict(bags)\n"
            "print('torch._dynamo' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_thread_count_of_none_is_capped_by_the_process_budget(monkeypatch):
    import joblib

    from skmil._parallel import n_threads

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    with joblib.parallel_config(n_jobs=2):
        assert n_threads(None) == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # as loky and dask set it in their workers
    with joblib.parallel_config(n_jobs=2):
        assert n_threads(None) == 1
        assert n_threads(2) == 2  # an explicit number is the user's
    assert n_threads(None) == 1


class ThreadProbe(Callback):
    def on_epoch_end(self, estimator, network, record):
        self.threads = torch.get_num_threads()


@pytest.mark.slow  # starts a LocalCluster of worker processes
@pytest.mark.dask
def test_deep_fits_on_a_dask_cluster_use_one_torch_thread(data):
    distributed = pytest.importorskip("distributed")
    import joblib
    from sklearn.model_selection import cross_validate

    bags, y = data
    clf = MINet(callbacks=[ThreadProbe()], **FAST)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    ) as cluster, distributed.Client(cluster):
        with joblib.parallel_backend("dask"):
            # the dask backend makes joblib read n_jobs=None as every core of the cluster
            res = cross_validate(clf, bags, y, cv=2, return_estimator=True)
    assert [e.callbacks_[0].threads for e in res["estimator"]] == [1, 1]


def test_place_instances_keeps_large_data_on_the_host():
    from skmil.deep._train import place_instances

    X = np.ones((100, 4))
    cpu = torch.device("cpu")
    assert place_instances(X, torch.float32, cpu).device == cpu
    small = place_instances(X, torch.float32, cpu, max_device_bytes=10**6)
    assert small.dtype == torch.float32 and small.shape == (100, 4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_data_larger_than_the_device_budget_trains_batch_by_batch(data, monkeypatch):
    import skmil.deep._train as train_mod

    bags, y = data
    on_device = MINet(device="cuda", **FAST).fit(bags, y)
    monkeypatch.setattr(train_mod, "DEVICE_DATA_FRACTION", 0.0)  # nothing fits: per batch
    staged = MINet(device="cuda", **FAST).fit(bags, y)
    np.testing.assert_allclose(staged.decision_function(bags),
                               on_device.decision_function(bags), rtol=1e-5, atol=1e-6)
    assert train_mod.place_instances(np.ones((4, 2)), torch.float32,
                                     torch.device("cuda")).device.type == "cpu"
