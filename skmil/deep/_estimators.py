"""scikit-learn estimators wrapping the torch MIL networks.

This module never imports torch at import time: the torch parts live in ``_nets`` and
``_train`` and are imported when a model is fitted or unpickled.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import importlib.util
import inspect
from typing import Any

import numpy as np
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if

from .._parallel import n_threads
from .._threshold import THRESHOLD_CONSTRAINT
from .._warnings import warn_not_converged
from ..bags import Bags, check_bag_labels
from ..base import (
    BaseMILClassifier,
    BaseMILRegressor,
    InstancePredictionMixin,
    InstanceRegressionMixin,
    MILTags,
    _target_location_scale,
)
from ..utils._param_validation import (
    HasMethods,
    Integral,
    Interval,
    Real,
    StrOptions,
    validate_parameter_constraints,
)
from .callbacks import Callback

__all__ = [
    "DeepMILClassifier",
    "InstanceMINet",
    "MINet",
    "MINetDS",
    "MINetRC",
    "AttentionMIL",
    "GatedAttentionMIL",
    "DSMIL",
    "PowerPoolingMIL",
    "ConjunctiveMIL",
    "AdditiveMIL",
]

_INSTALL_HINT = (
    "skmil.deep needs PyTorch, which is not installed. Install the extra with "
    "`pip install skmil[deep]` (or `pip install torch`)."
)


def torch_available() -> bool:
    """Whether torch can be imported (checked without importing it).

    Returns
    -------
    bool
        True when torch is installed.
    """
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def _require_torch():
    if not torch_available():
        raise ImportError(_INSTALL_HINT)
    try:
        import torch
    except ImportError as exc:  # broken install
        raise ImportError(_INSTALL_HINT) from exc
    return torch


_HEAD_NAMES = ("instance", "embedding", "embedding-ds", "embedding-rc", "attention",
               "gated-attention", "dsmil", "power", "conjunctive", "additive")
_POOLED_HEADS = ("instance", "embedding", "embedding-ds", "embedding-rc")
_ATTENTION_HEADS = ("attention", "gated-attention", "dsmil", "additive")


def _named_bag_rule(kind: str, pooling: str) -> str | None:
    """The bag rule of a named head (mirrors the heads' ``bag_rule`` in ``_nets``)."""
    if kind == "instance":
        return "max" if pooling == "max" else "convex"
    if kind in ("embedding", "embedding-rc"):
        return "mean" if pooling == "mean" else None
    if kind in ("attention", "gated-attention"):
        return "convex"
    if kind == "dsmil":
        return "max"
    return {"power": "convex", "conjunctive": "mean", "additive": "sum"}.get(kind)


_REAL_POSITIVE = Interval(Real, 0, None, closed="neither")
_REAL_NONNEG = Interval(Real, 0, None, closed="left")
_INT_POSITIVE = Interval(Integral, 1, None, closed="left")
_FRACTION = Interval(Real, 0, 1, closed="left")

# the constraints of every parameter any deep estimator has (each class takes a subset)
_CONSTRAINTS: dict[str, list] = {
    "encoder": [None, HasMethods(["forward"])],
    "hidden_layer_sizes": ["array-like", _INT_POSITIVE],
    "dropout": [_FRACTION],
    "dropout_at": [StrOptions({"hidden", "pooled"})],
    "head": [StrOptions(set(_HEAD_NAMES)), HasMethods(["forward"])],
    "pooling": [StrOptions({"max", "mean", "lse"})],
    "lse_r": [_REAL_POSITIVE],
    "attention_dim": [_INT_POSITIVE],
    "query_dim": [_INT_POSITIVE],
    "passing_v": ["boolean"],
    "dropout_v": [_FRACTION],
    "head_params": [None, dict],
    "optimizer": [StrOptions({"adam", "sgd"}), type],
    "optimizer_params": [None, dict],
    "loss": [None, callable],
    "callbacks": [None, list],
    "warm_start": ["boolean"],
    "lr": [_REAL_POSITIVE],
    "weight_decay": [_REAL_NONNEG],
    "momentum": [_REAL_NONNEG],
    "nesterov": ["boolean"],
    "betas": ["array-like"],
    "lr_schedule": [StrOptions({"constant", "inverse_time", "cosine"})],
    "lr_decay": [_REAL_NONNEG],
    "max_epochs": [_INT_POSITIVE],
    "batch_size": [_INT_POSITIVE],
    "class_weight": [None, StrOptions({"balanced"}), dict],
    "validation_fraction": [_FRACTION],
    "early_stopping": ["boolean"],
    "n_iter_no_change": [_INT_POSITIVE],
    "n_init": [_INT_POSITIVE],
    "threshold": THRESHOLD_CONSTRAINT,
    "dtype": [StrOptions({"float32", "float64"})],
    "device": [str],
    "random_state": ["random_state"],
    "n_jobs": [None, Integral],
    "verbose": ["verbose"],
}

# every setting of the wrapper with its default; named estimators fix some (``_fixed``)
_DEFAULTS: dict[str, Any] = {
    "encoder": None,
    "hidden_layer_sizes": (256, 128, 64),
    "dropout": 0.5,
    "dropout_at": "hidden",
    "head": "attention",
    "pooling": "max",
    "lse_r": 1.0,
    "attention_dim": 64,
    "query_dim": 128,
    "passing_v": False,
    "dropout_v": 0.0,
    "head_params": None,
    "optimizer": "adam",
    "optimizer_params": None,
    "loss": None,
    "callbacks": None,
    "warm_start": False,
    "lr": 1.4e-3,
    "weight_decay": 5e-3,
    "momentum": 0.9,
    "nesterov": True,
    "betas": (0.9, 0.999),
    "lr_schedule": "constant",
    "lr_decay": 1e-4,
    "max_epochs": 100,
    "batch_size": 8,
    "class_weight": None,
    "validation_fraction": 0.1,
    "early_stopping": False,
    "n_iter_no_change": 10,
    "n_init": 1,
    "threshold": 0.0,
    "dtype": "float32",
    "device": "auto",
    "random_state": None,
    "n_jobs": None,
    "verbose": 0,
}


def _store(obj, params: dict) -> None:
    _require_torch()
    for key, value in params.items():
        if key not in ("self", "__class__"):
            setattr(obj, key, value)


@contextlib.contextmanager
def _torch_threads(n_jobs):
    """Run torch with ``n_jobs`` CPU threads (sklearn semantics), then restore."""
    torch = _require_torch()
    before = torch.get_num_threads()
    n = n_threads(n_jobs)
    if n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


class _EpochFunction(Callback):
    """A plain function ``f(estimator, network, record)`` as an epoch-end callback."""

    def __init__(self, fn) -> None:
        self.fn = fn

    def on_epoch_end(self, estimator, network, record) -> bool:
        return bool(self.fn(estimator, network, record))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _fit_network(est, cfg: dict, bags: Bags, targets: np.ndarray, weights: np.ndarray, *,
                 split_labels: np.ndarray | None, instance_labels=None) -> None:
    """Train ``est``'s network on ``targets`` (one float per bag) and store the fit.

    Shared by the deep classifiers (0/1 targets, BCE) and :class:`DeepMILRegressor`
    (standardised targets, squared error through ``cfg["loss"]``): the validation split
    (stratified by ``split_labels``; None splits at random), the ``n_init`` runs, the
    callbacks and early stopping, and every fitted attribute of the network.
    """
    torch = _require_torch()
    from ._train import Resume, build_network, make_spec, resolve_device, train

    est._infer_cache = None
    rs = check_random_state(cfg["random_state"])
    seed = int(rs.randint(0, 2**31 - 1))
    device = resolve_device(cfg["device"])
    dtype = torch.float32 if cfg["dtype"] == "float32" else torch.float64
    user_callbacks = est._user_callbacks(cfg)
    early = None
    if cfg["early_stopping"]:
        from .callbacks import EarlyStopping

        early = EarlyStopping(monitor="val_loss", patience=int(cfg["n_iter_no_change"]),
                              min_delta=1e-12)
    train_idx, val_idx = est._validation_split(cfg, bags, split_labels, rs, [
        *([early] if early is not None else []), *user_callbacks])
    spec = make_spec(cfg, bags.n_features)
    # seeds of the extra initialisations come after the split's, so n_init=1 draws
    # exactly what it always drew
    seeds = [seed] + [int(rs.randint(0, 2**31 - 1)) for _ in range(cfg["n_init"] - 1)]
    warm = est._warm_network(cfg, spec, device, dtype)
    if warm is not None:
        seeds = seeds[:1]  # continue the fitted network: one run, no restarts
    fork_devices = [device.index or 0] if device.type == "cuda" else []
    best, losses = None, []
    for init_seed in seeds:
        # every run trains fresh copies of the user's callbacks (and of the built-in
        # early stopping), so restarts and clones never share their state
        run_callbacks = copy.deepcopy(user_callbacks)
        run_early = copy.deepcopy(early)
        resume = Resume()
        with torch.random.fork_rng(devices=fork_devices), _torch_threads(cfg["n_jobs"]):
            torch.manual_seed(init_seed)
            if warm is not None:
                net, resume.epoch = warm, len(est.history_)
            else:
                net = build_network(spec).to(device=device, dtype=dtype)
            history, loss, stopped = train(
                net, bags.instances, bags.offsets, targets, weights, train_idx, val_idx, cfg,
                init_seed, device, dtype, known=instance_labels,
                callbacks=[*([run_early] if run_early is not None else []),
                           *run_callbacks],
                estimator=est, resume=resume)
        losses.append(loss)
        if best is None or loss < best[0]:
            best = (loss, net, history, run_early, run_callbacks, resume)
    _, net, history, run_early, run_callbacks, resume = best
    est.init_losses_ = np.asarray(losses)
    net.eval()
    if warm is not None:
        history = est.history_ + history
    est.network_ = net
    est.network_spec_ = spec
    est.device_ = str(device)
    est.dtype_ = cfg["dtype"]
    est.history_ = history
    est.callbacks_ = run_callbacks
    est.n_epochs_ = len(history)
    est.best_epoch_ = est.n_epochs_
    if run_early is not None and run_early.best_epoch_ is not None:
        est.best_epoch_ = run_early.best_epoch_
    est._resume = resume
    if run_early is not None and run_early.stopped_epoch_ is None:
        warn_not_converged(
            est, "max_epochs",
            f"early stopping: the validation loss improved within the last "
            f"{cfg['n_iter_no_change']} epochs")


class _DeepMILNetwork:
    """The network side shared by the deep classifiers and :class:`DeepMILRegressor`.

    The configuration (parameters, named heads, the checks the constraints cannot
    express), the callbacks, the validation split, ``warm_start``, inference on the
    fitted network, attention weights and pickling. Training is :func:`_fit_network`.
    """

    # ------------------------------------------------------------------ config
    def _config(self) -> dict:
        cfg = dict(_DEFAULTS)
        cfg.update(self._fixed)
        cfg.update(self.get_params(deep=False))
        cfg["name"] = type(self).__name__
        return cfg

    def _head_kind(self, cfg: dict | None = None) -> str | None:
        """The named head's kind, or None for a user module."""
        head = (cfg or self._config())["head"]
        return head if isinstance(head, str) else None

    def _bag_rule(self) -> str | None:
        """The bag rule of the configured head (None: no witness scores)."""
        cfg = self._config()
        kind = self._head_kind(cfg)
        if kind is None:
            return getattr(cfg["head"], "bag_rule", None)
        return _named_bag_rule(kind, cfg["pooling"])

    def _has_attention(self) -> bool:
        cfg = self._config()
        kind = self._head_kind(cfg)
        if kind is None:
            return bool(getattr(cfg["head"], "has_attention", False))
        return kind in _ATTENTION_HEADS

    def _checked_config(self) -> dict:
        """The resolved configuration; the checks ``_parameter_constraints`` cannot express.

        Runs at the start of ``_fit``, before any work: module types (torch is imported
        only here), the widths inside ``hidden_layer_sizes``, ``betas``, the keys of
        ``head_params`` and the rules that tie two parameters together.
        """
        cfg = self._config()
        name = cfg["name"]
        torch = _require_torch()

        def bad(param, msg):
            raise ValueError(f"{name}: {param}={cfg[param]!r} is invalid; {msg}")

        head = cfg["head"]
        if not isinstance(head, (str, torch.nn.Module)):
            bad("head", "pass a head name or a torch.nn.Module.")
        kind = self._head_kind(cfg)
        if cfg["encoder"] is not None and not isinstance(cfg["encoder"], torch.nn.Module):
            bad("encoder", "pass None (built-in MLP) or a torch.nn.Module.")
        sizes = cfg["hidden_layer_sizes"]
        if isinstance(sizes, (int, np.integer)):
            sizes = (int(sizes),)
        try:
            sizes = tuple(int(h) for h in sizes)
        except (TypeError, ValueError):
            bad("hidden_layer_sizes", "pass a tuple of positive ints, e.g. (256, 128, 64).")
        if any(h < 1 for h in sizes):
            bad("hidden_layer_sizes", "every width must be >= 1.")
        cfg["hidden_layer_sizes"] = sizes
        if kind in ("embedding-ds", "embedding-rc") and cfg["encoder"] is None and not sizes:
            bad("hidden_layer_sizes", f"the {kind} head pools every hidden layer; give at "
                "least one.")
        if kind == "embedding-rc" and cfg["encoder"] is None and len(set(sizes)) > 1:
            bad("hidden_layer_sizes", "the embedding-rc head (MI-Net + RC) sums the pooled "
                "outputs of every layer, so all layers need the same width, e.g. "
                "(128, 128, 128).")
        if cfg["early_stopping"] and float(cfg["validation_fraction"]) == 0.0:
            bad("validation_fraction", "early_stopping=True picks the epoch on a held-out "
                "split; give a fraction in (0, 1), e.g. 0.1, or set early_stopping=False.")
        try:
            betas = tuple(float(b) for b in np.asarray(cfg["betas"], dtype=float).ravel())
        except (TypeError, ValueError):
            betas = ()
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            bad("betas", "pass two numbers in [0, 1), e.g. (0.9, 0.999).")
        cfg["betas"] = betas
        hp = dict(cfg["head_params"] or {})
        head_kwargs: dict[str, Any] = {}
        allowed: tuple[str, ...] = ()
        if kind in _POOLED_HEADS:
            head_kwargs = {"pooling": cfg["pooling"], "lse_r": float(cfg["lse_r"])}
            allowed = ("lse_r",)
        elif kind in ("attention", "gated-attention"):
            head_kwargs = {"attention_dim": int(cfg["attention_dim"]),
                           "gated": kind == "gated-attention"}
            allowed = ("attention_dim",)
        elif kind in ("conjunctive", "additive"):
            head_kwargs = {"attention_dim": int(cfg["attention_dim"])}
            allowed = ("attention_dim",)
        elif kind == "dsmil":
            head_kwargs = {"query_dim": int(cfg["query_dim"]),
                           "passing_v": bool(cfg["passing_v"]),
                           "dropout_v": float(cfg["dropout_v"])}
            allowed = ("query_dim", "passing_v", "dropout_v")
        unknown = set(hp) - set(allowed)
        if kind is not None and unknown:
            bad("head_params", f"the {kind!r} head has no option(s) {sorted(unknown)}; "
                f"valid: {sorted(allowed)}.")
        if kind is not None:
            validate_parameter_constraints({k: _CONSTRAINTS[k] for k in allowed}, hp,
                                           caller_name=f"{name}(head_params=...)")
        head_kwargs.update(hp)
        cfg["head_kind"] = kind
        cfg["head_module"] = None if kind is not None else head
        cfg["head_kwargs"] = head_kwargs
        return cfg

    def _user_callbacks(self, cfg: dict) -> list:
        """The ``callbacks`` parameter as a list of Callback objects (callables wrapped)."""
        out = []
        for i, cb in enumerate(cfg["callbacks"] or ()):
            if isinstance(cb, Callback):
                out.append(cb)
            elif callable(cb):
                out.append(_EpochFunction(cb))
            else:
                raise TypeError(
                    f"{cfg['name']}: callbacks[{i}] is a {type(cb).__name__}; pass "
                    "skmil.deep.callbacks.Callback objects or functions "
                    "f(estimator, network, record) called after every epoch."
                )
        return out

    def _validation_split(self, cfg: dict, bags: Bags, y: np.ndarray | None, rs, callbacks):
        """Training and validation bag indices; no split unless a callback needs one.

        Stratified by the 0/1 labels ``y``; with ``y=None`` (a regressor) at random.
        """
        all_idx = np.arange(bags.n_bags)
        readers = [type(cb).__name__ for cb in callbacks if cb.needs_validation]
        if not readers:
            return all_idx, None
        vf = float(cfg["validation_fraction"])
        if vf == 0.0:
            raise ValueError(
                f"{cfg['name']}: {readers[0]} monitors the validation loss, but "
                "validation_fraction=0 holds out no bags; give a fraction in (0, 1), "
                "e.g. 0.1, or monitor 'train_loss'."
            )
        n_val = int(np.ceil(vf * bags.n_bags))
        if y is None:  # real-valued targets: a random split
            if n_val < 2 or bags.n_bags - n_val < 2:
                raise ValueError(
                    f"validation_fraction={vf} leaves too few bags for a validation split "
                    f"({bags.n_bags} bags); lower it to 0 to train on all bags.")
            ss = ShuffleSplit(n_splits=1, test_size=n_val,
                              random_state=rs.randint(0, 2**31 - 1))
            train_idx, val_idx = next(ss.split(np.zeros(bags.n_bags)))
            return np.sort(train_idx), np.sort(val_idx)
        counts = np.bincount(y, minlength=2)
        if n_val < 2 or counts.min() < 2 or bags.n_bags - n_val < 2:
            raise ValueError(
                f"validation_fraction={vf} leaves too few bags for a stratified "
                f"validation split ({bags.n_bags} bags, {counts.min()} in the smaller "
                "class); lower it to 0 to train on all bags."
            )
        sss = StratifiedShuffleSplit(n_splits=1, test_size=n_val,
                                     random_state=rs.randint(0, 2**31 - 1))
        train_idx, val_idx = next(sss.split(np.zeros(bags.n_bags), y))
        return np.sort(train_idx), np.sort(val_idx)

    def _warm_network(self, cfg: dict, spec: dict, device, dtype):
        """The fitted network to continue (``warm_start=True``), or None for a fresh one."""
        if not cfg["warm_start"] or getattr(self, "network_", None) is None:
            return None
        old = self.network_spec_
        changed = [k for k in ("n_features", "hidden_layer_sizes", "dropout", "dropout_at",
                               "head_kwargs") if old.get(k) != spec[k]]
        if isinstance(spec["head"], str) and old.get("head") != spec["head"]:
            changed.append("head")
        if self.dtype_ != cfg["dtype"]:
            changed.append("dtype")
        if changed:
            raise ValueError(
                f"{cfg['name']}: warm_start=True continues the fitted network, but its "
                f"{sorted(changed)} differ from this fit's data or parameters. Fit with "
                "warm_start=False to build a new network."
            )
        return self.network_.to(device=device, dtype=dtype)

    def _inference_net(self):
        cache = getattr(self, "_infer_cache", None)
        if cache is None:
            torch = _require_torch()
            cache = copy.deepcopy(self.network_).to(torch.float64).eval()
            self._infer_cache = cache
        return cache

    def _outputs(self, bags: Bags) -> dict:
        torch = _require_torch()
        from ._train import predict_outputs

        with _torch_threads(self.get_params(deep=False).get("n_jobs")):
            return predict_outputs(self._inference_net(), bags.instances, bags.offsets,
                                   torch.device(self.device_), torch.float64)

    @available_if(_has_attention)
    def attention_weights(self, X: Any) -> list[np.ndarray]:
        """Attention weights of the instances, one array per bag.

        The weights of the attention pooling (DSMIL: of the bag stream), each in [0, 1]
        and summing to 1 per bag. They say how much each instance contributes to the
        bag's embedding, not whether it is a witness: see
        ``decision_function_instances`` for witness scores.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            The bags.

        Returns
        -------
        weights : list of ndarray of shape (n_instances_i,)
            Each bag's attention weights, which sum to 1.
        """
        bags = self._validate_bags(X, reset=False)
        return bags.split(self._outputs(bags)["instance"]["attention"])

    # ------------------------------------------------------------------ pickle
    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_infer_cache", None)
        # the optimiser state of partial_fit is device tensors; a loaded model's next
        # partial_fit starts a fresh optimiser (the epochs still count on)
        state.pop("_resume", None)
        net = state.pop("network_", None)
        if net is not None:
            state["_network_state"] = {k: v.detach().cpu().numpy().copy()
                                       for k, v in net.state_dict().items()}
        return state

    def __setstate__(self, state):
        state = dict(state)
        net_state = state.pop("_network_state", None)
        super().__setstate__(state)
        self._infer_cache = None
        if net_state is not None:
            torch = _require_torch()
            from ._train import build_network

            if self.device_.startswith("cuda") and not torch.cuda.is_available():
                self.device_ = "cpu"
            dtype = torch.float32 if self.dtype_ == "float32" else torch.float64
            with torch.random.fork_rng(devices=[]):
                net = build_network(self.network_spec_)
            net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in
                                 net_state.items()})
            self.network_ = net.to(device=torch.device(self.device_), dtype=dtype).eval()


class DeepMILClassifier(_DeepMILNetwork, InstancePredictionMixin, BaseMILClassifier):
    """A torch MIL network (instance encoder + pooling head) as a scikit-learn classifier.

    Takes the same list of bags as every skmil estimator and works with ``clone``,
    ``Pipeline``, ``GridSearchCV``, pickle and joblib. Bags are trained one at a time
    (``batch_size=1``, the papers' setting) or in padded batches with a mask; the
    padded computation gives the same outputs and gradients as one bag at a time.

    Parameters
    ----------
    encoder : torch.nn.Module or None, default=None
        Instance encoder mapping a ``(n_instances, n_features)`` tensor to
        ``(n_instances, M)`` embeddings. ``None`` builds the tabular MLP of the papers:
        fc -> ReLU for each width in ``hidden_layer_sizes``, with dropout.
    hidden_layer_sizes : tuple of int, default=(256, 128, 64)
        Widths of the built-in MLP encoder; ``()`` means no encoder (raw features).
    dropout : float, default=0.5
        Dropout rate of the built-in encoder (where: ``dropout_at``).
    dropout_at : {"hidden", "pooled"}, default="hidden"
        ``"hidden"``: after every hidden layer, so each layer sees the previous one's
        dropped units (the tabular encoder as tabulated for the attention networks).
        ``"pooled"``: only on the layer outputs the head pools (the last layer; every
        layer for the DS and RC heads), the next layer reading the undropped units, as
        in the MINNs scripts.
    head : str or torch.nn.Module, default="attention"
        Pooling head: ``"instance"`` (mi-Net), ``"embedding"`` (MI-Net),
        ``"embedding-ds"`` (MI-Net + deep supervision), ``"embedding-rc"`` (MI-Net +
        residual connections), ``"attention"``, ``"gated-attention"`` or ``"dsmil"``;
        or a module following the head protocol described in :doc:`/deep` (its
        ``bag_rule`` and ``has_attention`` attributes declare its instance outputs).
    pooling : {"max", "mean", "lse"}, default="max"
        Pooling of the mi-Net/MI-Net heads.
    head_params : dict or None, default=None
        Extra keyword arguments of a named head (``lse_r`` for the pooled heads,
        ``attention_dim`` for the attention heads, ``query_dim``, ``passing_v``,
        ``dropout_v`` for DSMIL).
    optimizer : {"adam", "sgd"} or torch.optim.Optimizer subclass, default="adam"
        Torch optimiser: Adam (with ``betas``), SGD (with ``momentum`` and
        ``nesterov``), or any optimiser class, built as
        ``optimizer(params, lr=lr, weight_decay=weight_decay, **optimizer_params)``.
        ``"adam"`` and ``"sgd"`` run torch's fused update, the same as
        ``torch.optim.Adam(fused=True)`` and ``torch.optim.SGD(fused=True)`` but
        without their class, whose first step imports torch's compiler (about a
        second per process); with ``optimizer_params`` they build the torch class.
    lr : float, default=1.4e-3
        Initial learning rate. The named heads' defaults are their papers' rates at one
        bag per step scaled to their ``batch_size``: times the batch size for SGD and
        for DSMIL's annealed Adam, times its square root for Adam at a constant rate
        (docs: deep MIL, "Batches and learning rates").
    weight_decay : float, default=5e-3
        L2 penalty as torch's ``weight_decay`` (gradient ``+ weight_decay * w``; a Keras
        ``l2(lam)`` regulariser corresponds to ``weight_decay = 2 * lam``).
    momentum : float, default=0.9
        SGD momentum.
    nesterov : bool, default=True
        Nesterov momentum for SGD.
    betas : tuple of float, default=(0.9, 0.999)
        Adam's betas.
    lr_schedule : {"constant", "inverse_time", "cosine"}, default="constant"
        ``"inverse_time"``: ``lr / (1 + lr_decay * step)`` (Keras ``decay``, MINNs);
        ``"cosine"``: cosine annealing to 0 over ``max_epochs`` (DSMIL).
    lr_decay : float, default=1e-4
        Decay of the ``"inverse_time"`` schedule, per optimisation step.
    max_epochs : int, default=100
        Number of passes over the training bags (the most, with ``early_stopping``).
    batch_size : int, default=8
        Bags per optimisation step; the loss is the mean of the batch's bag losses.
        ``batch_size=1`` is the papers' setting (with their ``lr``, see above).
    class_weight : None, "balanced" or dict, default=None
        Per-class weights of the BCE loss (``"balanced"``: ``n / (2 n_c)``, which gives the
        ``pos_weight = n_neg / n_pos`` ratio of DSMIL); dict keys are class labels.
    validation_fraction : float in [0, 1), default=0.1
        Fraction of the training bags (stratified) held out when ``early_stopping=True``
        (to pick the epoch); otherwise every bag is trained on, as in scikit-learn's
        ``MLPClassifier``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the bags, stop after ``n_iter_no_change``
        epochs without a lower validation loss and keep the weights of the best epoch.
        Off by default: the network trains for ``max_epochs`` (the papers' fixed
        schedules) on all bags. On small training sets the split holds a handful of
        bags and its loss is too noisy to pick an epoch, and it takes those bags from
        training (docs: deep MIL, "Epochs and validation"). Turn it on when the split
        holds enough bags (hundreds) for its loss to rank epochs. A run that reaches
        ``max_epochs`` with the validation loss still improving emits a
        :class:`~sklearn.exceptions.ConvergenceWarning` naming ``max_epochs``.
    n_iter_no_change : int, default=10
        Epochs without a lower validation loss after which ``early_stopping`` stops.
    n_init : int, default=1
        Number of networks trained from different initialisations (each its own seed
        from ``random_state``; the first is the one ``n_init=1`` trains). The one with
        the lowest training loss is kept: the (class-weighted) BCE of the trained
        network on its training bags, dropout off, without the L2 term; as
        :class:`~sklearn.cluster.KMeans` keeps the run of lowest inertia. Costs
        ``n_init`` fits. With max pooling (mi-Net) and 50-100 training bags some
        initialisations never learn the witness rule, and they fit their training
        bags worse, so the training loss tells them apart without held-out data
        (docs: deep MIL, "Restarts").
    threshold : float or "auto", default=0.0
        Offset on the bag log-odds: a bag is positive when ``logit(p) > threshold``, so
        0.0 is the probability 0.5 and ``log(t / (1 - t))`` the probability ``t``.
        ``"auto"``: chosen by skmil's inner cross-validation (5 stratified folds of the
        training bags, shuffled by ``random_state``; the offset with the best held-out
        bag accuracy, closest to 0 among ties), which trains 5 more networks (each
        with ``n_init`` initialisations), so a fit costs about six.
        The default 0.0 is where a BCE-trained probability is calibrated.
    dtype : {"float32", "float64"}, default="float32"
        Training precision. Prediction always runs in float64.
    device : str, default="auto"
        ``"auto"`` uses CUDA when available, else the CPU.
    loss : callable or None, default=None
        Training loss of the bag logits: ``loss(logits, targets)`` maps a batch's
        ``(B,)`` logits and 0/1 targets (torch tensors) to ``(B,)`` per-bag losses, which
        are weighted by ``class_weight`` and averaged. None is BCE-with-logits. The
        known-instance term of ``fit(..., instance_labels=...)`` stays BCE.
    optimizer_params : dict or None, default=None
        Extra keyword arguments of the optimiser (e.g. ``{"amsgrad": True}`` for Adam,
        ``{"alpha": 0.9}`` for ``torch.optim.RMSprop``); they override the ones built
        from the other parameters.
    callbacks : list or None, default=None
        :class:`skmil.deep.callbacks.Callback` objects (or functions
        ``f(estimator, network, record)``, called after every epoch; a true return stops
        training). Each fit trains deep copies; the kept run's are ``callbacks_``.
    warm_start : bool, default=False
        When the estimator is fitted, ``fit`` continues training its network for
        ``max_epochs`` more epochs (one run, a fresh optimiser and lr schedule, the
        epochs of ``history_`` numbered on) instead of building a new one. Changing the
        architecture or the data's width raises a ``ValueError``.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, dropout, shuffling and validation split; with an int,
        results on the CPU are identical from run to run. Torch's global RNG state is
        restored after fitting.
    n_jobs : int or None, default=None
        CPU threads torch may use while fitting and predicting (scikit-learn's meaning:
        ``None`` is 1 unless in a :func:`joblib.parallel_config` context, and never more
        than ``OMP_NUM_THREADS`` when that is set, as in loky and dask workers; ``-1``
        all cores); torch's own setting is restored afterwards. One thread is fastest for
        the small tabular networks and avoids oversubscription under ``GridSearchCV``.
    verbose : int, default=0
        Show a progress bar (tqdm) over epochs.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    n_features_in_ : int
    network_ : torch.nn.Module
        The trained network (encoder + head).
    history_ : list of dict
        Per-epoch records: ``epoch``, ``train_loss`` and, with a validation split,
        ``val_loss`` (``pandas.DataFrame(clf.history_).plot(x="epoch")`` plots them).
    n_epochs_ : int
        Epochs trained (``len(history_)``).
    callbacks_ : list
        The fitted copies of ``callbacks`` (of the kept run).
    best_epoch_ : int
        Epoch whose weights were kept.
    init_losses_ : ndarray of shape (n_init,)
        Training loss of each initialisation (see ``n_init``); the kept network is the
        one of the lowest.
    threshold_ : float
        The log-odds offset used by ``predict`` and ``decision_function``.

    Raises
    ------
    ValueError
        At ``fit``, when the training loss becomes non-finite or diverges (an epoch's
        mean loss above 1000 times the untrained network's): the message names the
        epoch and suggests a smaller ``lr`` or standardised features.

    Notes
    -----
    ``decision_function`` is ``logit(p) - threshold_``, so it is positive exactly when
    ``predict`` says positive; ``predict_proba`` is the network's probability ``p``
    (not thresholded), whose 0.5 crossing may differ from ``predict`` when
    ``threshold_ != 0``.

    Witness scores (``decision_function_instances``, minus ``threshold_`` like the bag
    scores) exist where the head defines them, with the bag rule it obeys
    (:class:`~skmil.base.MILTags`): mi-Net (``"instance"``) the instance logits,
    ``"max"`` with max pooling and ``"convex"`` with mean or LSE pooling (the bag
    probability averages the instance probabilities); the attention heads the instance
    logits ``w_c^T h_k + b`` of the bag classifier, whose attention-weighted mean is the
    bag logit (``"convex"``); DSMIL ``logit(0.5 (sigmoid(c_k) + sigmoid(c_b)))``, whose
    max is the bag logit (``"max"``); MI-Net and MI-Net + RC with mean pooling
    ``w^T h_k + b``, whose mean is the bag logit (``"mean"``). MI-Net and MI-Net + RC
    with max or LSE pooling and MI-Net + DS have none (their pooling acts on embedding
    dimensions, not on instance scores). The attention weights of the attention heads
    and DSMIL are given by :meth:`attention_weights`. :meth:`predict_head_outputs`
    gives every native output (instance probabilities, attention, DSMIL's two streams).

    ``fit(bags, y, instance_labels=L)`` takes known labels of some training instances
    (one array per bag: 1 witness, 0 negative, NaN unknown, see
    :meth:`~skmil.base.BaseMILClassifier.fit`) when the head has witness scores: each
    batch's loss adds, with weight 1, the mean BCE-with-logits of the witness logits of
    the batch's known instances (bags held out for early stopping contribute none).
    A head without witness scores raises ``TypeError``, as do :class:`MINet`,
    :class:`MINetDS` and :class:`MINetRC`, which do not take the labels.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.deep import DeepMILClassifier
    >>> bags, y, _ = make_mil_classification(n_bags=40, n_features=5, random_state=0)
    >>> clf = DeepMILClassifier(head="attention", hidden_layer_sizes=(32,), lr=1e-2,
    ...                         max_epochs=20, batch_size=8, random_state=0)
    >>> clf.fit(bags, y).predict(bags).shape
    (40,)
    """

    _fixed: dict[str, Any] = {}
    # fit takes instance_labels when the head has witness scores (checked in _fit); the
    # MI-Net classes, whose default heads have none, do not opt in
    _partial_instance_labels = True
    _required_dependencies = ("torch",)
    _parameter_constraints: dict = _CONSTRAINTS

    def __init__(self, *, encoder=None, hidden_layer_sizes=(256, 128, 64), dropout=0.5,
                 dropout_at="hidden", head="attention", pooling="max", head_params=None,
                 optimizer="adam", lr=1.4e-3, weight_decay=5e-3, momentum=0.9, nesterov=True,
                 betas=(0.9, 0.999), lr_schedule="constant", lr_decay=1e-4, max_epochs=100,
                 batch_size=8, class_weight=None, validation_fraction=0.1,
                 early_stopping=False, n_iter_no_change=10, n_init=1, threshold=0.0,
                 dtype="float32", device="auto", loss=None, optimizer_params=None,
                 callbacks=None, warm_start=False, random_state=None, n_jobs=None,
                 verbose=0):
        _store(self, locals())

    def __mil_tags__(self) -> MILTags:
        tags = super().__mil_tags__()
        rule = self._bag_rule()
        extra = ("attention_weights",) if self._has_attention() else ()
        return dataclasses.replace(tags, instance_scores=rule is not None, bag_rule=rule,
                                   instance_outputs=tags.instance_outputs + extra)

    # --------------------------------------------------------------- training
    def _bag_weights(self, y: np.ndarray) -> np.ndarray:
        cw = self.class_weight
        if cw is None:
            return np.ones(y.shape[0])
        if isinstance(cw, str):  # "balanced" (the constraints allow no other string)
            counts = np.bincount(y, minlength=2).astype(float)
            w = y.shape[0] / (2.0 * counts)
            return w[y]
        missing = [c for c in self.classes_ if c not in cw]
        if missing:
            raise ValueError(
                f"{type(self).__name__}: class_weight={cw!r} has no weight for the "
                f"class(es) {missing}; give one per class of y ({list(self.classes_)}).")
        w = np.array([float(cw[c]) for c in self.classes_])
        return w[y]

    def _fit(self, bags: Bags, y: np.ndarray,
             instance_labels: np.ndarray | None = None) -> None:
        cfg = self._checked_config()
        if instance_labels is not None and self._bag_rule() is None:
            # the class opts in, but this head has no witness logits to supervise
            raise TypeError(
                f"{type(self).__name__} with this head has no witness scores, so it "
                "cannot learn from known instance labels; use a head with witness scores "
                '("instance", "attention", "gated-attention", "dsmil", or "embedding" '
                '/ "embedding-rc" with pooling="mean") or fit without instance_labels.'
            )
        _fit_network(self, cfg, bags, y, self._bag_weights(y), split_labels=y,
                     instance_labels=instance_labels)

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> DeepMILClassifier:
        """Train one more epoch on the bags ``X`` (new bags or the same), keeping the network.

        The first call (on an unfitted estimator) builds the network, with ``classes_``
        from ``classes`` or, without it, from ``y`` (which then needs both classes);
        every call trains one epoch over the given bags in batches of ``batch_size``,
        continuing the optimiser's state and the lr schedule of the earlier calls (and
        of an earlier ``fit``). Callbacks see each epoch's record; a stop request has no
        effect. ``threshold`` must be a number, and the settings that need the whole
        training set at once are refused: ``threshold="auto"``,
        ``class_weight="balanced"``, ``early_stopping`` and callbacks that monitor the
        validation loss.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            Training bags of this step.
        y : array-like of shape (n_bags,)
            Their labels.
        classes : array-like of shape (2,), default=None
            Both class labels; needed at the first call when ``y`` holds one class.

        Returns
        -------
        self : object
            The estimator, trained one more epoch.

        Examples
        --------
        >>> from skmil.datasets import make_mil_classification
        >>> from skmil.deep import MINet
        >>> bags, y, _ = make_mil_classification(n_bags=40, n_features=5, random_state=0)
        >>> clf = MINet(random_state=0)
        >>> for _ in range(3):
        ...     clf = clf.partial_fit(bags[:20], y[:20], classes=[0, 1])
        ...     clf = clf.partial_fit(bags[20:], y[20:])
        >>> clf.n_epochs_
        6
        """
        first = getattr(self, "network_", None) is None
        if first:
            self._validate_params()
        cfg = self._checked_config()
        name = cfg["name"]

        def refuse(what: str, fix: str) -> None:
            raise ValueError(f"{name}.partial_fit: {what}; {fix}")

        if isinstance(cfg["threshold"], str):
            refuse("threshold='auto' is chosen by inner cross-validation over whole fits",
                   "set a number (0.0 is the probability 0.5) or use fit.")
        if isinstance(cfg["class_weight"], str):
            refuse("class_weight='balanced' would weigh each call's bags differently",
                   "pass a dict {class: weight} or None.")
        callbacks = self._user_callbacks(cfg)
        if cfg["early_stopping"] or any(cb.needs_validation for cb in callbacks):
            refuse("early stopping and callbacks monitoring 'val_loss' need a validation "
                   "split of the whole training set", "use fit, or monitor 'train_loss'.")
        bags = self._validate_bags(X, reset=first)
        y_arr = check_bag_labels(y, bags.n_bags)
        if first and classes is None:
            y_enc = self._encode_labels(y_arr, bags.n_bags)
        else:
            if first:
                known = np.unique(np.asarray(classes))
                if known.shape[0] != 2:
                    refuse(f"classes={list(known)} must hold exactly two labels",
                           "pass both classes of the problem.")
                self.classes_ = known
            elif classes is not None and not np.array_equal(np.unique(classes),
                                                               self.classes_):
                refuse(f"classes={list(np.unique(classes))} differ from the fitted "
                       f"classes_ {list(self.classes_)}", "pass the same classes.")
            unseen = ~np.isin(y_arr, self.classes_)
            if unseen.any():
                refuse(f"y holds the label(s) {sorted(set(y_arr[unseen].tolist()))[:5]} "
                       f"outside classes_ {list(self.classes_)}", "pass bags of those "
                       "classes only.")
            y_enc = np.searchsorted(self.classes_, y_arr).astype(np.int64)
        bags, y_enc = self._canonical_training_set(bags, y_enc)
        weights = self._bag_weights(y_enc)
        torch = _require_torch()
        from ._train import Resume, build_network, make_spec, resolve_device, train

        self._infer_cache = None
        device = resolve_device(cfg["device"])
        dtype = torch.float32 if cfg["dtype"] == "float32" else torch.float64
        spec = make_spec(cfg, bags.n_features)
        fork_devices = [device.index or 0] if device.type == "cuda" else []
        if first:
            rs = check_random_state(cfg["random_state"])
            self._partial_seed = int(rs.randint(0, 2**31 - 1))
            with torch.random.fork_rng(devices=fork_devices):
                torch.manual_seed(self._partial_seed)
                net = build_network(spec).to(device=device, dtype=dtype)
            self.network_, self.network_spec_ = net, spec
            self.device_, self.dtype_ = str(device), cfg["dtype"]
            self.history_, self._resume = [], Resume()
            self.callbacks_ = copy.deepcopy(callbacks)
            for cb in self.callbacks_:
                cb.on_train_begin(self, net)
        else:
            net = self._warm_network({**cfg, "warm_start": True}, spec, device, dtype)
            if getattr(self, "_resume", None) is None:  # e.g. after unpickling
                self._resume = Resume()
                self._resume.epoch = len(self.history_)
        seed = getattr(self, "_partial_seed", 0) + self._resume.epoch
        with torch.random.fork_rng(devices=fork_devices), _torch_threads(cfg["n_jobs"]):
            torch.manual_seed(seed)
            history, loss, _ = train(
                net, bags.instances, bags.offsets, y_enc, weights, np.arange(bags.n_bags),
                None, cfg, seed, device, dtype, callbacks=getattr(self, "callbacks_", []),
                estimator=self, resume=self._resume, n_epochs=1, lifecycle=False)
        net.eval()
        self.history_ = self.history_ + history
        self.n_epochs_ = self.best_epoch_ = len(self.history_)
        self.init_losses_ = np.asarray([loss])
        self.threshold_ = float(cfg["threshold"])
        return self

    # -------------------------------------------------------------- prediction
    def _decision_function(self, bags: Bags) -> np.ndarray:
        return self._outputs(bags)["bag_logit"]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Bag probabilities from the network, columns ``classes_``.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            The bags.

        Returns
        -------
        proba : ndarray of shape (n_bags, 2)
            Probabilities of ``classes_[0]`` and ``classes_[1]``.
        """
        bags = self._validate_bags(X, reset=False)
        return self._proba_from_positive(_sigmoid(self._outputs(bags)["bag_logit"]))

    def predict_head_outputs(self, X: Any) -> dict:
        """Every native output of the head, bag-level and instance-level.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            The bags.

        Returns
        -------
        outputs : dict
            ``"proba"`` (n_bags,) bag probability; head-specific bag outputs
            (``"max_stream_proba"`` and ``"bag_stream_proba"`` for DSMIL,
            ``"layer_proba"`` (n_bags, n_layers) for deep supervision); instance outputs
            as lists of per-bag arrays (``"witness_logit"``, the raw witness scores;
            ``"instance_proba"`` of mi-Net and DSMIL; DSMIL's instance-classifier
            logits ``"instance_logit"``; ``"attention"``).
        """
        bags = self._validate_bags(X, reset=False)
        out = self._outputs(bags)
        res = {"proba": _sigmoid(out["bag_logit"])}
        for key, value in out.items():
            if key not in ("bag_logit", "instance"):
                res[key] = value
        for key, value in out["instance"].items():
            res[key] = bags.split(value)
        return res

    def _decision_function_instances(self, bags: Bags) -> np.ndarray:
        return self._outputs(bags)["instance"]["witness_logit"]

    def _has_witness_scores(self) -> bool:
        return self._bag_rule() is not None

    @available_if(_has_witness_scores)
    def decision_function_instances(self, X: Any) -> list[np.ndarray]:
        """Witness scores of ``classes_[1]``, one array per bag (see the class Notes).

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            The bags.

        Returns
        -------
        scores : list of ndarray of shape (n_instances_i,)
            On the scale of ``decision_function`` (log-odds minus ``threshold_``);
            the bag scores follow from them by the head's bag rule.
        """
        return super().decision_function_instances(X)

    @available_if(_has_witness_scores)
    def predict_instances(self, X: Any) -> list[np.ndarray]:
        """Instance labels, one array per bag: ``decision_function_instances > 0``.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            The bags.

        Returns
        -------
        labels : list of ndarray of shape (n_instances_i,)
            Predicted instance labels (values of ``classes_``), one array per bag.
        """
        return super().predict_instances(X)


def _squared_error(logits, targets):
    """Per-bag squared error, the regressor's training loss."""
    return (logits - targets) ** 2


class DeepMILRegressor(_DeepMILNetwork, InstanceRegressionMixin, BaseMILRegressor):
    """A torch MIL network (instance encoder + pooling head) as a scikit-learn regressor.

    The networks of :class:`DeepMILClassifier` (the same encoders, heads, optimisers,
    callbacks, ``warm_start``, pickling) trained for a real-valued bag target: the
    head's bag output is the prediction, fitted by the squared error to the training
    targets standardised by their mean and standard deviation (so the defaults hold
    at any target scale) and mapped back. Every head is available through ``head``.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    network_ : torch.nn.Module
        The trained network (in eval mode), on the standardised target scale.
    history_ : list of dict
        One record per epoch: ``epoch``, ``train_loss`` (mean squared error on the
        standardised targets) and ``val_loss`` when there is a validation split.
    n_epochs_ : int
        Epochs trained.
    best_epoch_ : int
        The epoch whose weights are kept (the last, unless early stopping restored an
        earlier one).
    init_losses_ : ndarray of shape (n_init,)
        Final training loss of each initialisation.
    target_mean_, target_scale_ : float
        Mean and standard deviation of the training targets: ``predict`` is
        ``target_mean_ + target_scale_ * output``.
    n_features_in_ : int

    Notes
    -----
    ``predict_instances`` exists when the head's bag output is the maximum or the mean
    of its instance outputs (``head="instance"`` with ``pooling="max"`` or ``"mean"``,
    ``head="embedding"`` with ``pooling="mean"``): it returns those instance outputs on
    the targets' scale, and the bag rule (``"max"`` or ``"mean"``) maps them to the
    bag's prediction. Attention heads weigh their instances (a convex combination), so
    they have no instance targets; ``attention_weights`` gives the weights.

    Examples
    --------
    >>> from skmil.datasets import make_mil_regression
    >>> from skmil.deep import DeepMILRegressor
    >>> bags, y, _ = make_mil_regression(n_bags=40, n_features=5, rule="max",
    ...                                  random_state=0)
    >>> reg = DeepMILRegressor(head="instance", pooling="max", hidden_layer_sizes=(16,),
    ...                        max_epochs=20, random_state=0).fit(bags, y)
    >>> reg.predict(bags[:2]).shape
    (2,)
    """

    _fixed: dict[str, Any] = {}
    _required_dependencies = ("torch",)
    _parameter_constraints: dict = {k: v for k, v in _CONSTRAINTS.items()
                                    if k not in ("class_weight", "threshold")}

    def __init__(self, *, encoder=None, hidden_layer_sizes=(256, 128, 64), dropout=0.5,
                 dropout_at="hidden", head="attention", pooling="max", head_params=None,
                 optimizer="adam", lr=1.4e-3, weight_decay=5e-3, momentum=0.9, nesterov=True,
                 betas=(0.9, 0.999), lr_schedule="constant", lr_decay=1e-4, max_epochs=100,
                 batch_size=8, validation_fraction=0.1, early_stopping=False,
                 n_iter_no_change=10, n_init=1, dtype="float32", device="auto", loss=None,
                 optimizer_params=None, callbacks=None, warm_start=False,
                 random_state=None, n_jobs=None, verbose=0):
        _store(self, locals())

    def _has_instance_targets(self) -> bool:
        return self._bag_rule() in ("max", "mean")

    def __mil_tags__(self) -> MILTags:
        tags = super().__mil_tags__()
        extra = ("attention_weights",) if self._has_attention() else ()
        return dataclasses.replace(tags, instance_outputs=tags.instance_outputs + extra)

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        cfg = self._checked_config()
        if cfg["loss"] is None:
            cfg["loss"] = _squared_error
        self.target_mean_, self.target_scale_ = _target_location_scale(y)
        targets = (y - self.target_mean_) / self.target_scale_
        _fit_network(self, cfg, bags, targets, np.ones(bags.n_bags), split_labels=None)

    def _predict(self, bags: Bags) -> np.ndarray:
        return self.target_mean_ + self.target_scale_ * self._outputs(bags)["bag_logit"]

    def _predict_instances(self, bags: Bags) -> np.ndarray:
        witness = self._outputs(bags)["instance"]["witness_logit"]
        return self.target_mean_ + self.target_scale_ * witness


# --------------------------------------------------------------------------- named
_MINN_DOC = """
    Training defaults follow Wang et al. (2018) / the MINNs code: SGD with Nesterov
    momentum 0.9, Keras-style inverse-time lr decay, L2 ``weight_decay=0.01`` (Keras
    ``l2(0.005)``), 50 epochs, encoder fc-256/128/64 (MI-Net + RC: three fc-128) with
    dropout 0.5 on the pooled layer outputs only (``dropout_at="pooled"``, as in the
    scripts). As in the MINNs scripts, every training bag is trained on for the 50
    epochs (no validation split unless ``early_stopping=True``) and the threshold is
    the probability 0.5 (``threshold=0.0`` in log-odds). The one departure is the
    batch: 16 bags per step with the papers' one-bag rate and per-step decay
    (``lr=5e-4``, ``lr_decay=1e-4``) times 16 (the linear scaling rule);
    ``batch_size=1, lr=5e-4, lr_decay=1e-4`` is the papers' setting (docs: deep MIL,
    "Batches and learning rates").
"""


class InstanceMINet(DeepMILClassifier):
    """mi-Net (Wang et al. 2018): instance probabilities pooled into a bag probability.

    p_k = sigmoid(w^T h_k + b) on the encoder's embedding h_k; the bag probability is
    ``max`` (default), ``mean`` or ``lse`` (``(1/r) log mean exp(r p_k)``, ``r=lse_r``)
    of the p_k. ``decision_function_instances`` gives the witness scores
    ``logit(p_k) - threshold_``; the bag rule is ``"max"`` with max pooling (a bag is
    positive exactly when one of its instances is) and ``"convex"`` with mean or LSE
    pooling (the bag score lies between its instances' smallest and largest).

    Unlike the papers' single run, mi-Net trains ``n_init=3`` networks by default and
    keeps the one of lowest training loss: with max pooling some initialisations never
    learn the witness rule, and such a run fits its own training bags poorly. It costs
    three fits; ``n_init=1`` is the papers'
    setting (docs: deep MIL, "Restarts").
    {doc}
    Parameters
    ----------
    {pooling}
    {parameters}

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.deep import InstanceMINet
    >>> bags, y, _ = make_mil_classification(n_bags=40, n_features=5, random_state=0)
    >>> clf = InstanceMINet(optimizer="adam", lr=1e-2, max_epochs=10, batch_size=8,
    ...                     random_state=0)
    >>> len(clf.fit(bags, y).predict_instances(bags)) == len(bags)
    True
    """

    _fixed = {"head": "instance"}

    def __init__(self, *, pooling="max", lse_r=1.0, encoder=None,
                 hidden_layer_sizes=(256, 128, 64), dropout=0.5, dropout_at="pooled",
                 optimizer="sgd", lr=8e-3, weight_decay=0.01, momentum=0.9, nesterov=True,
                 betas=(0.9, 0.999), lr_schedule="inverse_time", lr_decay=1.6e-3, max_epochs=50,
                 batch_size=16, class_weight=None, validation_fraction=0.1, early_stopping=False,
                 n_iter_no_change=10, n_init=3, threshold=0.0, dtype="float32", device="auto",
                 loss=None, optimizer_params=None, callbacks=None, warm_start=False,
                 random_state=None, n_jobs=None, verbose=0):
        _store(self, locals())


class MINet(DeepMILClassifier):
    """MI-Net (Wang et al. 2018): pooled instance embeddings, then a bag classifier.

    z = pool_k h_k element-wise (``max``, ``mean`` or ``lse``); bag probability
    sigmoid(w^T z + b). With max or LSE pooling there is no witness score (the pooling
    mixes instances per embedding dimension); with ``pooling="mean"`` the bag logit is
    the mean of the instance logits w^T h_k + b, which ``decision_function_instances``
    returns (bag rule ``"mean"``).
    {doc}
    Parameters
    ----------
    {pooling}
    {parameters}

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.deep import MINet
    >>> bags, y, _ = make_mil_classification(n_bags=40, n_features=5, random_state=0)
    >>> clf = MINet(optimizer="adam", lr=1e-2, max_epochs=10, batch_size=8, random_state=0)
    >>> clf.fit(bags, y).decision_function(bags).shape
    (40,)
    """

    _fixed = {"head": "embedding"}
    _partial_instance_labels = False  # no witness scores with the default pooling

    def __init__(self, *, pooling="max", lse_r=1.0, encoder=None,
                 hidden_layer_sizes=(256, 128, 64), dropout=0.5, dropout_at="pooled",
                 optimizer="sgd", lr=8e-3, weight_decay=0.01, momentum=0.9, nesterov=True,
                 betas=(0.9, 0.999), lr_schedule="inverse_time", lr_decay=1.6e-3, max_epochs=50,
                 batch_size=16, class_weight=None, validation_fraction=0.1, early_stopping=False,
                 n_iter_no_change=10, n_init=1, threshold=0.0, dtype="float32", device="auto",
                 loss=None, optimizer_params=None, callbacks=None, warm_start=False,
                 random_state=None, n_jobs=None, verbose=0):
        _store(self, locals())


class MINetDS(DeepMILClassifier):
    """MI-Net with deep supervision (Wang et al. 2018).

    Every encoder layer gets its own pooling and fc-1 classifier; the loss is the sum
    of the layers' BCEs and the bag probability the mean of their probabilities
    (``predict_head_outputs(X)["layer_proba"]`` has each). No witness score: the mean
    of the layers' probabilities is no weighted mean of per-instance scores.
    {doc}
    Parameters
    ----------
    {pooling}
    {parameters}

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.deep import MINetDS
    >>> bags, y, _ = make_mil_classification(n_bags=40, n_features=5, random_state=0)
    >>> clf = MINetDS(optimizer="adam", lr=1e-2, max_epochs=10, batch_size=8, random_state=0)
    >>> clf.fit(bags, y).predict_head_outputs(bags)["layer_proba"].shape
    (40, 3)
    """

    _fixed = {"head": "embedding-ds"}
    _partial_instance_labels = False  # no witness scores with the default pooling

    def __init__(self, *, pooling="max", lse_r=1.0, encoder=None,
                 hidden_layer_sizes=(256, 128, 64), dropout=0.5, dropout_at="pooled",
                 optimizer="sgd", lr=8e-3, weight_decay=0.01, momentum=0.9, nesterov=True,
                 betas=(0.9, 0.999), lr_schedule="inverse_time", lr_decay=1.6e-3, max_epochs=50,
                 batch_size=16, class_weight=None, validation_fraction=0.1, early_stopping=False,
                 n_iter_no_change=10, n_init=1, threshold=0.0, dtype="float32", device="auto",
                 loss=None, optimizer_params=None, callbacks=None, warm_start=False,
                 random_state=None, n_jobs=None, verbose=0):
        _store(self, locals())


class MINetRC(DeepMILClassifier):
    """MI-Net with residual connections (Wang et al. 2018).

    Three equal-width layers (fc-128); the bag representation is the sum of every
    layer's pooled embedding, b = sum_l pool_k h_k^(l); bag probability
    sigmoid(w^T b + c). As for :class:`MINet`, witness scores exist only with
    ``pooling="mean"``: the instance logits w^T sum_l h_k^(l) + c, whose mean is the bag
    logit (bag rule ``"mean"``).
    {doc}
    Parameters
    ----------
    {pooling}
    {parameters}

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.deep import MINetRC
    >>> bags, y, _ = make_mil_classification(n_bags=40, n_features=5, random_state=0)
    >>> clf = MINetRC(optimizer="adam", lr=1e-2, max_epochs=10, batch_size=8, random_state=0)
    >>> clf.fit(bags, y).predict(bags).shape
    (40,)
    """

    _fixed = {"head": "embedding-rc"}
    _partial_instance_labels = False  # no witness scores with the default pooling

    def __init__(self, *, pooling="max", lse_r=1.0, encoder=None,
                 hidden_layer_sizes=(128, 128, 128), dropout=0.5, dropout_at="pooled",
                 optimizer="sgd", lr=8e-3, weight_decay=0.01, momentum=0.9, nesterov=True,
                 betas=(0.9, 0.999), lr_schedule="inverse_time", lr_decay=1.6e-3, max_epochs=50,
                 batch_size=16, class_weight=None, validation_fraction=0.1, early_stopping=False,
                 n_iter_no_change=10, n_init=1, threshold=0.0, dtype="float32", device="auto",
                 loss=None, optimizer_params=None, callbacks=None, warm_start=False,
                 random_state=None, n_jobs=None, verbose=0):
        _store(self, locals())


_ILSE_DOC = """
    Training defaults follow Ilse et al. (2018) on the classic benchmarks: the tabular
    encoder fc-256/128/64 with dropout 0.5, ``attention_dim=64`` (L; the MNIST code uses
    128 on a 500-d embedding), Adam, ``weight_decay=5e-3``, 100 epochs on every
    training bag (the paper stopped early within them on a validation split:
    ``early_stopping=True``). The one departure is the batch: 8 bags per step with the
    paper's one-bag rate 5e-4 times sqrt(8) (the square-root rule for Adam),
    ``lr=1.4e-3``; ``batch_size=1, lr=5e-4`` is the paper's setting (docs: deep MIL,
    "Batches and learning rates").
    The bag classifier is linear in z and the a_k sum to 1, so the bag logit is the
    attention-weighted mean of the instance logits w_c^T h_k + b:
    ``decision_function_instances`` returns these witness scores (bag rule
    ``"convex"``) and ``attention_weights`` the a_k (relevance, not a witness score).
"""


class AttentionMIL(DeepMILClassifier):
    """Attention-based deep MIL pooling (Ilse, Tomczak & Welling 2018).

    a_k = softmax_k(w^T tanh(V h_k)); z = sum_k a_k h_k; bag probability
    sigmoid(w_c^T z + b).
    {doc}
    Parameters
    ----------
    attention_dim : int, default=64
        Width L of the attention network (the rows of ``V``).
    {parameters}

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.deep import AttentionMIL
    >>> bags, y, _ = make_mil_classification(n_bags=40, n_features=5, random_state=0)
    >>> clf = AttentionMIL(lr=1e-2, max_epochs=10, batch_size=8, random_state=0)
    >>> att = clf.fit(bags, y).attention_weights(bags)
    >>> bool(abs(att[0].sum() - 1) < 1e-9)
    True
    """

    _fixed = {"head": "attention"}

    def __init__(self, *, attention_dim=64, encoder=None, hidden_layer_sizes=(256, 128, 64),
                 dropout=0.5, dropout_at="hidden", optimizer="adam", lr=1.4e-3,
                 weight_decay=5e-3, momentum=0.9, nesterov=True, betas=(0.9, 0.999),
                 lr_schedule="constant", lr_decay=1e-4, max_epochs=100, batch_size=8,
                 class_weight=None, validation_fraction=0.1, early_stopping=False,
                 n_iter_no_change=10, n_init=1, threshold=0.0, dtype="float32", device="auto",
                 loss=None, optimizer_params=None, callbacks=None, warm_start=False,
                 random_state=None, n_jobs=None, verbose=0):
        _store(self, locals())


class GatedAttentionMIL(DeepMILClassifier):
    """Gated attention-based deep MIL pooling (Ilse, Tomczak & Welling 2018).

    a_k = softmax_k(w^T (tanh(V h_k) * sigmoid(U h_k))); z = sum_k a_k h_k; bag
    probability sigmoid(w_c^T z + b).
    {doc}
    Parameters
    ----------
    attention_dim : int, default=64
        Width L of the attention network (the rows of ``V`` and ``U``).
    {parameters}

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.deep import GatedAttentionMIL
    >>> bags, y, _ = make_mil_classification(n_bags=40, n_features=5, random_state=0)
    >>> clf = GatedAttentionMIL(lr=1e-2, max_epochs=10, batch_size=8, random_state=0)
    >>> clf.fit(bags, y).predict_proba(bags).shape
    (40, 2)
    """

    _fixed = {"head": "gated-attention"}

    def __init__(self, *, attention_dim=64, encoder=None, hidden_layer_sizes=(256, 128, 64),
                 dropout=0.5, dropout_at="hidden", optimizer="adam", lr=1.4e-3,
                 weight_decay=5e-3, momentum=0.9, nesterov=True, betas=(0.9, 0.999),
                 lr_schedule="constant", lr_decay=1e-4, max_epochs=100, batch_size=8,
                 class_weight=None, validation_fraction=0.1, early_stopping=False,
                 n_iter_no_change=10, n_init=1, threshold=0.0, dtype="float32", device="auto",
                 loss=None, optimizer_params=None, callbacks=None, warm_start=False,
                 random_state=None, n_jobs=None, verbose=0):
        _store(self, locals())


class DSMIL(DeepMILClassifier):
    """DSMIL dual-stream MIL (Li, Li & Eliceiri, CVPR 2021), binary.

    Max stream: instance logits c_k = w_0^T h_k and c_m = max_k c_k. Bag stream:
    queries q_k = tanh(W_2 relu(W_1 h_k)) (``query_dim``), attention
    U_k = softmax_k(<q_k, q_m> / sqrt(query_dim)) to the critical instance m, bag
    embedding b = sum_k U_k v_k (v = identity unless ``passing_v``) and c_b = w_b^T b.
    Loss 0.5 BCE(c_b) + 0.5 BCE(c_m); the bag probability is
    0.5 (sigmoid(c_m) + sigmoid(c_b)). ``predict_head_outputs`` returns both streams
    (``max_stream_proba``, ``bag_stream_proba``) and the instance outputs
    (``instance_logit`` c_k, ``instance_proba`` sigmoid(c_k), ``attention`` U_k, also
    given by ``attention_weights``). ``decision_function_instances`` returns the witness
    scores logit(0.5 (sigmoid(c_k) + sigmoid(c_b))) (minus ``threshold_``): the bag
    score if instance k were the critical one, so the bag score is their largest (bag
    rule ``"max"``); within a bag they rank the instances as c_k does.

    Training defaults follow the DSMIL code on MUSK/Corel (``train_mil.py``): Adam
    with ``betas=(0.5, 0.9)``, ``weight_decay=5e-3``, 40 epochs with cosine annealing
    to 0, ``class_weight="balanced"`` (the code's pos_weight = n_neg/n_pos), except
    the batch: 16 bags per step with the code's one-bag rate 2e-4 times 16,
    ``lr=3.2e-3`` (``batch_size=1, lr=2e-4`` is the code's setting; docs: deep MIL,
    "Batches and learning rates").
    The 40 epochs run on every training bag and the threshold is the probability 0.5
    (``threshold=0.0``); the published
    protocol instead took the best test epoch and a test-fold threshold.

    The instance embedder is the one departure: DSMIL learns its two streams on the
    embeddings of a feature extractor (a self-supervised CNN in the paper), so by default
    the raw features pass through the same tabular encoder as the other heads
    (fc-256/128/64, ReLU, dropout 0.5). Without one (``hidden_layer_sizes=()``, the
    code's setting on MUSK/Corel, where ``dropout=0.0``), the max stream is a linear
    instance classifier on the raw features (the comparison is in docs: deep MIL,
    "DSMIL's encoder").

    Parameters
    ----------
    query_dim : int, default=128
        Width of the query network ``q_k``.
    passing_v : bool, default=False
        Pass the instance embeddings through a learned fc -> ReLU layer (``v_k``)
        before the attention-weighted sum; ``False`` uses them as they are.
    dropout_v : float, default=0.0
        Dropout rate before that layer; used only with ``passing_v=True``.
    {parameters}

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.deep import DSMIL
    >>> bags, y, _ = make_mil_classification(n_bags=40, n_features=5, random_state=0)
    >>> clf = DSMIL(lr=1e-2, max_epochs=10, batch_size=8, random_state=0).fit(bags, y)
    >>> sorted(k for k in clf.predict_head_outputs(bags) if k.endswith("stream_proba"))
    ['bag_stream_proba', 'max_stream_proba']
    """

    _fixed = {"head": "dsmil"}

    def __init__(self, *, query_dim=128, passing_v=False, dropout_v=0.0, encoder=None,
                 hidden_layer_sizes=(256, 128, 64), dropout=0.5, dropout_at="hidden",
                 optimizer="adam", lr=3.2e-3, weight_decay=5e-3, momentum=0.9, nesterov=True,
                 betas=(0.5, 0.9), lr_schedule="cosine", lr_decay=1e-4, max_epochs=40,
                 batch_size=16, class_weight="balanced", validation_fraction=0.1,
                 early_stopping=False,
                 n_iter_no_change=10, n_init=1, threshold=0.0, dtype="float32", device="auto",
                 loss=None, optimizer_params=None, callbacks=None, warm_start=False,
                 random_state=None, n_jobs=None, verbose=0):
        _store(self, locals())


_TRAINING_AS_ATTENTION = """
    Training defaults are :class:`AttentionMIL`'s (the tabular encoder fc-256/128/64 with
    dropout 0.5 after each layer, Adam ``lr=1.4e-3`` on batches of 8 bags,
    ``weight_decay=5e-3``, 100 epochs on every training bag, threshold 0.5): the paper
    trained on image or time-series features, and the same training as the other heads
    keeps the comparison on the benchmarks page about the pooling alone.
"""


class PowerPoolingMIL(DeepMILClassifier):
    """Power pooling of instance probabilities (Liu, Chen, Wang & Zhang 2021).

    p_k = sigmoid(w^T h_k + b) on the encoder's embedding h_k; the bag probability is
    sum_k p_k^(n+1) / sum_k p_k^n, with the exponent n >= 0 learned with the network
    (1 at initialisation): n = 0 is mean pooling, n = 1 linear softmax pooling and large
    n approaches max pooling, so the network learns how many of a bag's instances
    decide its label. The paper pools sound-event frame probabilities; here the
    instances are feature vectors through the tabular encoder.
    ``decision_function_instances`` returns the instance logits (bag rule ``"convex"``:
    the bag score lies between its instances' smallest and largest);
    ``predict_head_outputs`` also gives the pooling weights (``weight``) and the learned
    ``exponent``.
    {doc}
    Parameters
    ----------
    {parameters}

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.deep import PowerPoolingMIL
    >>> bags, y, _ = make_mil_classification(n_bags=40, n_features=5, random_state=0)
    >>> clf = PowerPoolingMIL(max_epochs=10, random_state=0).fit(bags, y)
    >>> bool(clf.predict_head_outputs(bags)["exponent"][0] >= 0)
    True
    """

    _fixed = {"head": "power"}

    def __init__(self, *, encoder=None, hidden_layer_sizes=(256, 128, 64),
                 dropout=0.5, dropout_at="hidden", optimizer="adam", lr=1.4e-3,
                 weight_decay=5e-3, momentum=0.9, nesterov=True, betas=(0.9, 0.999),
                 lr_schedule="constant", lr_decay=1e-4, max_epochs=100, batch_size=8,
                 class_weight=None, validation_fraction=0.1, early_stopping=False,
                 n_iter_no_change=10, n_init=1, threshold=0.0, dtype="float32", device="auto",
                 loss=None, optimizer_params=None, callbacks=None, warm_start=False,
                 random_state=None, n_jobs=None, verbose=0):
        _store(self, locals())


class ConjunctiveMIL(DeepMILClassifier):
    """Conjunctive pooling, MILLET's interpretable head (Early et al., ICLR 2024).

    A gate a_k = sigmoid(w_a^T tanh(V h_k)) in [0, 1] scales each instance embedding
    before a linear instance classifier, s_k = w^T (a_k h_k) + b, and the bag logit is
    the mean of the s_k. Unlike attention pooling, which classifies the weighted mean of
    the embeddings, it classifies every instance and averages the predictions, so each
    s_k is that instance's signed share of the bag decision: witness scores with bag
    rule ``"mean"`` (``decision_function_instances``). The paper uses it on time-series
    windows with positional encodings; here the instances are an unordered set of
    feature vectors, so there is none. ``predict_head_outputs`` also gives the gates
    (``gate``).
    {doc}
    Parameters
    ----------
    attention_dim : int, default=64
        Width of the gate network (the rows of ``V``).
    {parameters}

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.deep import ConjunctiveMIL
    >>> bags, y, _ = make_mil_classification(n_bags=40, n_features=5, random_state=0)
    >>> clf = ConjunctiveMIL(max_epochs=10, random_state=0).fit(bags, y)
    >>> s = clf.decision_function_instances(bags)
    >>> bool(abs(s[0].mean() - clf.decision_function(bags)[0]) < 1e-9)
    True
    """

    _fixed = {"head": "conjunctive"}

    def __init__(self, *, attention_dim=64, encoder=None, hidden_layer_sizes=(256, 128, 64),
                 dropout=0.5, dropout_at="hidden", optimizer="adam", lr=1.4e-3,
                 weight_decay=5e-3, momentum=0.9, nesterov=True, betas=(0.9, 0.999),
                 lr_schedule="constant", lr_decay=1e-4, max_epochs=100, batch_size=8,
                 class_weight=None, validation_fraction=0.1, early_stopping=False,
                 n_iter_no_change=10, n_init=1, threshold=0.0, dtype="float32", device="auto",
                 loss=None, optimizer_params=None, callbacks=None, warm_start=False,
                 random_state=None, n_jobs=None, verbose=0):
        _store(self, locals())


class AdditiveMIL(DeepMILClassifier):
    """Additive MIL (Javed, Juyal, Padigela et al., NeurIPS 2022).

    Attention a_k = softmax_k(w_a^T tanh(V h_k)) as in :class:`AttentionMIL`, but each
    attended embedding is classified on its own, c_k = psi(a_k h_k) with psi an MLP
    (fc-``attention_dim`` -> ReLU -> fc-1), and the bag logit is the sum of the c_k.
    The c_k are exact signed contributions to the bag decision:
    ``decision_function_instances`` returns them (bag rule ``"sum"``; the bag's
    threshold is shared evenly among its instances) and ``attention_weights`` the a_k.
    The paper's psi takes image-patch features from a CNN; here the tabular encoder.
    {doc}
    Parameters
    ----------
    attention_dim : int, default=64
        Width of the attention network and of psi's hidden layer.
    {parameters}

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.deep import AdditiveMIL
    >>> bags, y, _ = make_mil_classification(n_bags=40, n_features=5, random_state=0)
    >>> clf = AdditiveMIL(max_epochs=10, random_state=0).fit(bags, y)
    >>> c = clf.decision_function_instances(bags)
    >>> bool(abs(c[0].sum() - clf.decision_function(bags)[0]) < 1e-9)
    True
    """

    _fixed = {"head": "additive"}

    def __init__(self, *, attention_dim=64, encoder=None, hidden_layer_sizes=(256, 128, 64),
                 dropout=0.5, dropout_at="hidden", optimizer="adam", lr=1.4e-3,
                 weight_decay=5e-3, momentum=0.9, nesterov=True, betas=(0.9, 0.999),
                 lr_schedule="constant", lr_decay=1e-4, max_epochs=100, batch_size=8,
                 class_weight=None, validation_fraction=0.1, early_stopping=False,
                 n_iter_no_change=10, n_init=1, threshold=0.0, dtype="float32", device="auto",
                 loss=None, optimizer_params=None, callbacks=None, warm_start=False,
                 random_state=None, n_jobs=None, verbose=0):
        _store(self, locals())


def _parameter_entries(doc: str) -> dict[str, list[str]]:
    """The entries of a class docstring's Parameters section, name -> lines."""
    lines = doc.splitlines()
    start = lines.index("    Parameters") + 2  # skip the header and its underline
    entries: dict[str, list[str]] = {}
    for line in lines[start:]:
        if not line.strip():
            break  # a blank line ends the section
        if not line.startswith("     "):  # four spaces: a new "name : type" line
            entries[line.split(" : ")[0].strip()] = [line]
        else:
            entries[next(reversed(entries))].append(line)
    return entries


def _format_default(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


#: The regressor's own descriptions of the parameters whose meaning differs from the
#: classifier's; the others are :class:`DeepMILClassifier`'s.
_REGRESSOR_PARAMETERS = """Parameters
    ----------
    validation_fraction : float in [0, 1), default=0.1
        Fraction of the training bags (drawn at random) held out when
        ``early_stopping=True`` (to pick the epoch); otherwise every bag is trained on.
    n_init : int, default=1
        Number of networks trained from different initialisations; the one with the
        lowest training loss (squared error on the standardised targets, dropout off) is
        kept.
    loss : callable or None, default=None
        Training loss: ``loss(outputs, targets)`` maps a batch's ``(B,)`` bag outputs
        and standardised targets (torch tensors) to ``(B,)`` per-bag losses, which are
        averaged. None is the squared error.
"""


def _shared_parameters(cls: type, overrides: dict[str, list[str]] | None = None) -> str:
    """The Parameters entries ``cls`` shares with :class:`DeepMILClassifier`.

    The named heads take most of :class:`DeepMILClassifier`'s parameters with their
    papers' defaults. Their docstrings take those entries from
    :class:`DeepMILClassifier`'s, so each parameter is described in one place; the
    default on each ``name : type, default=...`` line is the head's own, read from its
    signature, in the signature's order. ``overrides`` (name -> entry lines) replace
    the classifier's entries where the meaning differs (the regressor's).
    """
    base = _parameter_entries(DeepMILClassifier.__doc__)
    base_defaults = inspect.signature(DeepMILClassifier.__init__).parameters
    own = _parameter_entries(cls.__doc__)
    out = []
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if name == "self" or name in own:
            continue
        if overrides and name in overrides:
            out.extend(overrides[name])
            continue
        entry = list(base[name])
        if param.default != base_defaults[name].default:
            head, sep, _ = entry[0].rpartition("default=")
            if not sep:
                raise RuntimeError(f"{name!r} has no default in DeepMILClassifier's docstring")
            entry[0] = head + sep + _format_default(param.default)
        out.extend(entry)
    return "\n".join(out).lstrip()


#: The ``pooling`` and ``lse_r`` entries of the four mi-Net/MI-Net heads' docstrings.
_POOLING_PARAMETERS = """pooling : {"max", "mean", "lse"}, default="max"
        How the instance scores (mi-Net) or the embedding dimensions (MI-Net and its
        variants) are pooled over a bag: ``"lse"`` is ``(1/r) log mean exp(r x)``.
    lse_r : float, default=1.0
        Sharpness ``r`` of the ``"lse"`` pooling: large ``r`` approaches ``max``, small
        ``r`` approaches ``mean``."""


if DeepMILClassifier.__doc__ is not None:  # ``python -OO`` strips docstrings
    for _cls in (InstanceMINet, MINet, MINetDS, MINetRC):
        _cls.__doc__ = (_cls.__doc__.replace("{doc}", _MINN_DOC)
                        .replace("{pooling}", _POOLING_PARAMETERS))
    for _cls in (AttentionMIL, GatedAttentionMIL):
        _cls.__doc__ = _cls.__doc__.replace("{doc}", _ILSE_DOC)
    for _cls in (PowerPoolingMIL, ConjunctiveMIL, AdditiveMIL):
        _cls.__doc__ = _cls.__doc__.replace("{doc}", _TRAINING_AS_ATTENTION)
    for _cls in (InstanceMINet, MINet, MINetDS, MINetRC, AttentionMIL, GatedAttentionMIL,
                 DSMIL, PowerPoolingMIL, ConjunctiveMIL, AdditiveMIL):
        _cls.__doc__ = _cls.__doc__.replace("{parameters}", _shared_parameters(_cls))
    DeepMILRegressor.__doc__ = DeepMILRegressor.__doc__.replace(
        "{parameters}", _shared_parameters(
            DeepMILRegressor, _parameter_entries("\n    " + _REGRESSOR_PARAMETERS)))
