"""Torch side of :class:`~skmil.deep.DeepMILClassifier`: building, collation, training.

Imported lazily by the estimators, so ``import skmil.deep`` never imports torch.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
import torch.nn.functional as F

from ._nets import HEADS, MILNet, MLPEncoder, ModuleEncoder, Segments
from ._optim import FunctionalOptimizer

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def resolve_device(device) -> torch.device:
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available; "
                         "use device='auto' or 'cpu'.")
    return dev


def _module_out_features(module: torch.nn.Module, n_features: int) -> int:
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            out = module(torch.zeros((2, n_features), dtype=next(module.parameters()).dtype
                                     if any(True for _ in module.parameters())
                                     else torch.float32))
    except Exception as exc:  # the user's module: say what was expected
        raise ValueError(
            "encoder must be a torch.nn.Module mapping a (n_instances, n_features) "
            f"tensor to (n_instances, M) embeddings; calling it on a (2, {n_features}) "
            f"tensor failed with {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        module.train(was_training)
    if out.dim() < 2 or out.shape[0] != 2:
        raise ValueError(
            f"encoder must return one embedding row per instance; for a (2, {n_features}) "
            f"input it returned shape {tuple(out.shape)}."
        )
    return int(np.prod(out.shape[1:]))


def build_network(spec: dict) -> MILNet:
    """Build a fresh network from a spec (plain values + optional user modules)."""
    if spec["encoder"] is None:
        # models pickled before dropout_at existed used "hidden"
        encoder = MLPEncoder(spec["n_features"], spec["hidden_layer_sizes"], spec["dropout"],
                             spec.get("dropout_at", "hidden"))
    else:
        module = copy.deepcopy(spec["encoder"])
        encoder = ModuleEncoder(module, spec["encoder_out"])
    if isinstance(spec["head"], str):
        kind = spec["head"]
        if kind in ("embedding-ds", "embedding-rc") and spec["encoder"] is not None:
            raise ValueError(
                f"head={kind!r} pools every hidden layer of the built-in MLP encoder; it "
                "cannot be used with a user-supplied encoder module."
            )
        head = HEADS[kind](encoder.out_sizes, **spec["head_kwargs"])
    else:
        head = copy.deepcopy(spec["head"])
    return MILNet(encoder, head)


def make_spec(cfg: dict, n_features: int) -> dict:
    spec = {
        "n_features": n_features,
        "hidden_layer_sizes": tuple(int(h) for h in cfg["hidden_layer_sizes"]),
        "dropout": float(cfg["dropout"]),
        "dropout_at": cfg["dropout_at"],
        "encoder": cfg["encoder"],
        "encoder_out": None,
        "head": cfg["head_kind"] if cfg["head_module"] is None else cfg["head_module"],
        "head_kwargs": cfg["head_kwargs"],
    }
    if cfg["encoder"] is not None:
        spec["encoder"] = copy.deepcopy(cfg["encoder"])
        spec["encoder_out"] = _module_out_features(spec["encoder"], n_features)
    return spec


def collate(offsets: np.ndarray, bag_idx: np.ndarray):
    """Flat instance rows and (bag, position) coordinates of a padded batch.

    Vectorised over instances: no Python loop over bags or instances.
    """
    starts = offsets[bag_idx]
    sizes = offsets[bag_idx + 1] - starts
    total = int(sizes.sum())
    out_starts = np.cumsum(sizes) - sizes
    rows = np.arange(total, dtype=np.int64)
    shift = np.repeat(out_starts, sizes)
    inst_pos = rows - shift
    rows = inst_pos + np.repeat(starts, sizes)
    bag_pos = np.repeat(np.arange(bag_idx.shape[0], dtype=np.int64), sizes)
    return rows, bag_pos, inst_pos, int(sizes.max())


#: Data up to this fraction of an accelerator's free memory is copied to it once per fit;
#: larger data stays in (pinned) host memory and each batch's rows move to the device as
#: they are used, so a data set larger than the device still trains.
DEVICE_DATA_FRACTION = 0.25


def place_instances(X_np: np.ndarray, dtype, device, max_device_bytes: int | None = None):
    """The instance rows as a tensor: on ``device`` when they fit, else on the host.

    ``max_device_bytes`` (default: :data:`DEVICE_DATA_FRACTION` of the device's free
    memory; no limit on the CPU) is the most the rows may take on the device. The
    returned tensor's device tells :func:`forward_batch` whether batches must move.
    """
    X = torch.as_tensor(np.asarray(X_np), dtype=dtype)
    if device.type == "cpu" and max_device_bytes is None:
        return X
    if max_device_bytes is None:
        free, _ = torch.cuda.mem_get_info(device)
        max_device_bytes = int(DEVICE_DATA_FRACTION * free)
    if X.numel() * X.element_size() <= max_device_bytes:
        return X.to(device)
    return X.pin_memory() if device.type == "cuda" else X


def forward_batch(net, X: torch.Tensor, offsets: np.ndarray, bag_idx: np.ndarray,
                  device=None):
    """The network's outputs for the bags ``bag_idx`` of the flat rows ``X``.

    ``device`` is where the network runs (default: ``X``'s device); rows kept on the
    host (:func:`place_instances`) are gathered there and moved per batch.
    """
    dev = X.device if device is None else device
    if bag_idx.shape[0] == 1:
        # one bag (the papers' batch_size=1): its rows are a view of X, no padding
        start, stop = int(offsets[bag_idx[0]]), int(offsets[bag_idx[0] + 1])
        n = stop - start
        out = net.forward_bag(X[start:stop].to(dev, non_blocking=True))
        return out, (np.zeros(n, dtype=np.int64), np.arange(n, dtype=np.int64))
    lengths = offsets[bag_idx + 1] - offsets[bag_idx]
    groups = size_groups(lengths)
    if groups is not None:
        parts = [forward_batch(net, X, offsets, bag_idx[g], device)[0] for g in groups]
        n_max = int(lengths.max())
        inverse = torch.from_numpy(np.argsort(np.concatenate(groups))).to(dev)
        bag_pos = np.repeat(np.arange(bag_idx.shape[0], dtype=np.int64), lengths)
        inst_pos = np.arange(bag_pos.shape[0], dtype=np.int64) - np.repeat(
            np.cumsum(lengths) - lengths, lengths)
        return _merge_outputs(parts, inverse, n_max), (bag_pos, inst_pos)
    rows, bag_pos, inst_pos, n_max = collate(offsets, bag_idx)
    seg = Segments(torch.from_numpy(lengths).to(dev), torch.from_numpy(bag_pos).to(dev),
                   torch.from_numpy(inst_pos).to(dev), n_max)
    x = X.index_select(0, torch.from_numpy(rows).to(X.device))
    out = net(x.to(dev, non_blocking=True), seg)
    return out, (bag_pos, inst_pos)


#: A batch is split by bag size (:func:`size_groups`) when padding would hold more than
#: this many cells and more than PADDING_FACTOR times its instances.
PADDING_CELLS = 1 << 16
PADDING_FACTOR = 4


def size_groups(lengths: np.ndarray) -> list[np.ndarray] | None:
    """Groups of a batch's bags of similar size, or None when one padded block is fine.

    The heads work on a ``(bags, largest bag, features)`` padded block, so one bag of
    100,000 rows in a batch of ordinary ones would make every bag 100,000 rows long.
    When the padding would exceed :data:`PADDING_CELLS` and :data:`PADDING_FACTOR` times
    the batch's instances, the bags (positions into ``lengths``) are grouped, largest
    first, so that no bag of a group is less than half its largest: padding at most
    doubles a group. The groups' outputs are merged (:func:`_merge_outputs`) into those
    of the whole batch; the loss is the same function of the bags, since each bag's
    outputs depend on its own rows only (a user's encoder with batch statistics, such
    as batch normalisation, sees each group as a batch of its own).
    """
    cells = lengths.shape[0] * int(lengths.max())
    if cells <= PADDING_CELLS or cells <= PADDING_FACTOR * int(lengths.sum()):
        return None
    order = np.argsort(-lengths, kind="stable")
    groups, start = [], 0
    for k in range(1, order.shape[0] + 1):
        if k == order.shape[0] or 2 * lengths[order[k]] < lengths[order[start]]:
            groups.append(order[start:k])
            start = k
    return groups if len(groups) > 1 else None


def _merge_outputs(parts: list, inverse: torch.Tensor, n_max: int):
    """The outputs of a batch from those of its size groups (:func:`size_groups`).

    Every per-bag tensor is concatenated over the groups and put back in the batch's
    order by ``inverse``; instance tensors ``(bags, rows, ...)`` are zero-padded to
    ``n_max`` rows first, as a single padded batch has them.
    """
    first = parts[0]
    if isinstance(first, dict):
        return {k: _merge_outputs([p[k] for p in parts], inverse, n_max) if k != "instance"
                else {name: _merge_outputs([_pad_rows(p[k][name], n_max) for p in parts],
                                           inverse, n_max) for name in first[k]}
                for k in first}
    if isinstance(first, list):
        return [_merge_outputs([p[i] for p in parts], inverse, n_max)
                for i in range(len(first))]
    if isinstance(first, torch.Tensor) and first.dim() > 0:
        return torch.cat(parts).index_select(0, inverse)
    return first


def _pad_rows(v: torch.Tensor, n_max: int) -> torch.Tensor:
    if v.shape[1] == n_max:
        return v
    out = v.new_zeros((v.shape[0], n_max) + tuple(v.shape[2:]))
    out[:, :v.shape[1]] = v
    return out


def batch_loss(out: dict, y: torch.Tensor, w: torch.Tensor, loss_fn=None) -> torch.Tensor:
    """Mean over the batch's bags of the (weighted) loss of every head output.

    ``loss_fn(logits, targets)`` maps the ``(B,)`` bag logits and 0/1 targets to ``(B,)``
    per-bag losses; None is BCE-with-logits.
    """
    loss = 0.0
    for logit, lw in zip(out["loss_logits"], out["loss_weights"]):
        if loss_fn is None:
            per_bag = F.binary_cross_entropy_with_logits(logit, y, reduction="none")
        else:
            per_bag = loss_fn(logit, y)
            if not isinstance(per_bag, torch.Tensor) or per_bag.shape != logit.shape:
                raise ValueError(
                    "loss must map the (n_bags,) bag logits and targets of a batch to "
                    f"(n_bags,) per-bag losses; for a batch of {logit.shape[0]} bag(s) it "
                    f"returned {getattr(per_bag, 'shape', type(per_bag).__name__)}. Use "
                    "reduction='none', e.g. lambda z, t: F.binary_cross_entropy_with_logits"
                    "(z, t, reduction='none')."
                )
        loss = loss + lw * (per_bag * w).mean()
    return loss


def _known_targets(known: np.ndarray | None, offsets: np.ndarray):
    """Per-bag known instance labels: positions and 0/1 targets, None for bags without.

    ``known`` is the flat label array (1 witness, 0 negative, NaN unknown) aligned with
    the instance rows; None (or no known label at all) gives None, and training then
    runs exactly as without labels.
    """
    if known is None:
        return None
    lab = ~np.isnan(known)
    if not lab.any():
        return None
    per_bag = []
    for i in range(offsets.shape[0] - 1):  # once per fit, per bag (not per instance)
        start, stop = int(offsets[i]), int(offsets[i + 1])
        pos = np.flatnonzero(lab[start:stop])
        per_bag.append((pos, known[start:stop][pos]) if pos.size else None)
    return per_bag


def instance_loss(out: dict, targets: list, idx: np.ndarray, dtype) -> torch.Tensor | None:
    """Mean BCE-with-logits of the witness logits of the batch's known instances.

    ``targets`` is :func:`_known_targets`' per-bag list and ``idx`` the batch's bags.
    None when no bag of the batch has a known label.
    """
    rows_b, rows_i, ys = [], [], []
    for b, i in enumerate(idx):
        t = targets[int(i)]
        if t is not None:
            rows_b.append(np.full(t[0].shape[0], b, dtype=np.int64))
            rows_i.append(t[0])
            ys.append(t[1])
    if not ys:
        return None
    wl = out["instance"]["witness_logit"]
    dev = wl.device
    b_t = torch.from_numpy(np.concatenate(rows_b)).to(dev)
    i_t = torch.from_numpy(np.concatenate(rows_i).astype(np.int64)).to(dev)
    y_t = torch.as_tensor(np.concatenate(ys), dtype=dtype, device=dev)
    # the one-bag batch is (1, n) with positions 0..n-1 and the padded one (B, n_max)
    # with the bag's instances first, so (batch row, row in bag) indexes both layouts
    return F.binary_cross_entropy_with_logits(wl[b_t, i_t], y_t)


def _chunks(sizes: np.ndarray, max_cells: int = 1 << 18):
    """Consecutive bag ranges whose padded size stays below ``max_cells`` rows."""
    start, n = 0, sizes.shape[0]
    while start < n:
        stop, cur_max = start, 0
        while stop < n:
            new_max = max(cur_max, int(sizes[stop]))
            if stop > start and new_max * (stop - start + 1) > max_cells:
                break
            cur_max = new_max
            stop += 1
        yield np.arange(start, stop, dtype=np.int64)
        start = stop


@torch.no_grad()
def predict_outputs(net, X_np: np.ndarray, offsets: np.ndarray, device, dtype,
                    max_device_bytes: int | None = None) -> dict:
    """Run ``net`` in eval mode over all bags; numpy outputs (bag-level and flat instance)."""
    net.eval()
    X = place_instances(X_np, dtype, device, max_device_bytes)
    sizes = np.diff(offsets)
    bag_parts: dict[str, list] = {"bag_logit": []}
    inst_parts: dict[str, list] = {}
    for idx in _chunks(sizes):
        out, (bag_pos, inst_pos) = forward_batch(net, X, offsets, idx, device)
        bag_parts["bag_logit"].append(out["bag_logit"].cpu().numpy())
        for k, v in out["bag"].items():
            bag_parts.setdefault(k, []).append(v.cpu().numpy())
        bp = torch.from_numpy(bag_pos).to(device)
        ip = torch.from_numpy(inst_pos).to(device)
        for k, v in out["instance"].items():
            inst_parts.setdefault(k, []).append(v[bp, ip].cpu().numpy())
    res = {k: np.concatenate(v).astype(np.float64) for k, v in bag_parts.items()}
    res["instance"] = {k: np.concatenate(v).astype(np.float64) for k, v in inst_parts.items()}
    return res


def _optimizer(params: list, cfg: dict):
    """The configured optimizer, in torch's fused implementation where it has one.

    A training step on a bag of a few instances is a few hundred microseconds of
    arithmetic, so the per-tensor dispatch of the optimizer's update is a large part of
    it, and the fused update (one kernel over every parameter) is the cheapest of
    torch's three implementations of the same update. The built-in ``"adam"`` and
    ``"sgd"`` without ``optimizer_params`` run that update through
    :class:`~skmil.deep._optim.FunctionalOptimizer`, which does not import torch's
    compiler on its first step; anything else builds the ``torch.optim`` class.
    """
    extra = dict(cfg["optimizer_params"] or {})
    if not isinstance(cfg["optimizer"], str):  # a torch.optim.Optimizer subclass
        kwargs = dict(lr=cfg["lr"], weight_decay=cfg["weight_decay"])
        kwargs.update(extra)
        return cfg["optimizer"](params, **kwargs)
    if cfg["optimizer"] == "sgd":
        kwargs = dict(lr=cfg["lr"], momentum=cfg["momentum"],
                      nesterov=bool(cfg["nesterov"]) and cfg["momentum"] > 0,
                      weight_decay=cfg["weight_decay"])
        make = torch.optim.SGD
    else:
        kwargs = dict(lr=cfg["lr"], betas=tuple(cfg["betas"]),
                      weight_decay=cfg["weight_decay"])
        make = torch.optim.Adam
    if not extra:
        return FunctionalOptimizer(params, cfg["optimizer"], **kwargs)
    kwargs.update(extra)
    if "fused" in kwargs or "foreach" in kwargs:
        return make(params, **kwargs)
    try:
        return make(params, fused=True, **kwargs)
    except RuntimeError:  # a device or dtype without a fused kernel
        return make(params, foreach=True, **kwargs)


def _take(t: torch.Tensor, idx: np.ndarray) -> torch.Tensor:
    """Rows ``idx`` of ``t``; a slice (no copy, no index tensor) for a single row."""
    if idx.shape[0] == 1:
        i = int(idx[0])
        return t[i:i + 1]
    return t[torch.from_numpy(idx).to(t.device)]


def _lr_lambda(schedule: str, decay: float, total_steps: int):
    if schedule == "inverse_time":  # Keras `decay`: lr / (1 + decay * iterations)
        return lambda t: 1.0 / (1.0 + decay * t)
    if schedule == "cosine":  # cosine annealing to 0 over the whole run (DSMIL)
        return lambda t: 0.5 * (1.0 + math.cos(math.pi * min(t, total_steps) / total_steps))
    return lambda t: 1.0


@torch.no_grad()
def mean_loss(net, X: torch.Tensor, offsets: np.ndarray, y_t: torch.Tensor,
              w_t: torch.Tensor, idx: np.ndarray, loss_fn=None) -> float:
    """Mean over the bags ``idx`` of their (weighted) loss, in eval mode (no dropout)."""
    net.eval()
    total = 0.0
    for chunk in _chunks(np.diff(offsets)[idx]):
        bidx = idx[chunk]
        out, _ = forward_batch(net, X, offsets, bidx, y_t.device)
        total += float(batch_loss(out, _take(y_t, bidx), _take(w_t, bidx),
                                  loss_fn)) * bidx.shape[0]
    return total / idx.shape[0]


#: An epoch whose mean training loss exceeds this multiple of the untrained network's
#: (or of 1, if larger) has diverged: BCE of a network that learns stays near or below
#: its starting value, while a step size that is too large multiplies it by orders of
#: magnitude within a few steps.
DIVERGENCE_FACTOR = 1e3


def _diverged(name: str, cfg: dict, epoch: int, loss: float, initial: float) -> ValueError:
    return ValueError(
        f"{name}: the training loss diverged at epoch {epoch} (mean BCE {loss:.3g}; "
        f"{initial:.3g} before training), so the network's scores are meaningless. Use a "
        f"smaller lr (now {cfg['lr']!r}) or standardise the features, e.g. "
        f"make_pipeline(skmil.preprocessing.InstanceTransformer(), {name}(...))."
    )


class Resume:
    """Where a run continues from: the optimiser state, the step and the epoch count.

    ``partial_fit`` keeps one between calls, so its epochs form one run (the optimiser's
    moments and the lr schedule go on); a fresh run starts from ``Resume()``.
    """

    def __init__(self) -> None:
        self.optimizer_state: dict | None = None
        self.step = 0
        self.epoch = 0


def train(net, X_np, offsets, y, weights, train_idx, val_idx, cfg, seed, device, dtype,
          known=None, callbacks=(), estimator=None, resume=None, n_epochs=None,
          lifecycle=True):
    """Train ``net`` in place; return (history, final training loss, stopped).

    Runs ``n_epochs`` epochs (default ``cfg["max_epochs"]``), numbered on from
    ``resume.epoch``; ``resume`` (a :class:`Resume`, updated in place) carries the
    optimiser state and the step count of the lr schedule from an earlier call.

    ``known`` (flat, aligned with the rows of ``X_np``: 1 witness, 0 negative, NaN
    unknown) adds to each batch's loss the mean BCE-with-logits of the witness logits
    of the batch's known instances, with weight 1 (:func:`instance_loss`); ``history``'s
    ``train_loss`` and the divergence checks then see that sum, while the returned
    final loss (which ranks the ``n_init`` runs) and the validation loss stay the bag
    loss. None trains exactly as without it.

    ``callbacks`` (:class:`skmil.deep.callbacks.Callback` objects) see the start, every
    epoch's record and the end (only the epochs with ``lifecycle=False``: ``partial_fit``
    runs one epoch per call of a longer run); ``stopped`` is True when one of them ended the run
    before its last epoch. The final training loss is :func:`mean_loss` over
    ``train_idx`` with the bag weights, after the callbacks' ``on_train_end`` (which
    may restore the weights of an earlier epoch).

    Bags are shuffled every epoch with a numpy RandomState seeded from ``seed``; torch's
    global RNG (dropout, init) is seeded inside a forked RNG state by the caller.

    Raises ``ValueError`` naming the epoch as soon as a batch loss is non-finite or an
    epoch's mean loss exceeds :data:`DIVERGENCE_FACTOR` times the untrained network's.
    """
    resume = Resume() if resume is None else resume
    n_epochs = int(cfg["max_epochs"] if n_epochs is None else n_epochs)
    loss_fn = cfg.get("loss")
    rng = np.random.RandomState(seed)
    targets = _known_targets(known, offsets)
    X = place_instances(X_np, dtype, device, cfg.get("max_device_bytes"))
    y_t = torch.as_tensor(y, dtype=dtype, device=device)
    w_t = torch.as_tensor(weights, dtype=dtype, device=device)
    params = [p for p in net.parameters() if p.requires_grad]
    opt = _optimizer(params, cfg)
    if resume.optimizer_state is not None:
        opt.load_state_dict(resume.optimizer_state)
    bs = int(cfg["batch_size"])
    n_batches = math.ceil(train_idx.shape[0] / bs)
    lr_factor = None
    if cfg["lr_schedule"] != "constant":
        lr_factor = _lr_lambda(cfg["lr_schedule"], cfg["lr_decay"],
                               n_batches * cfg["max_epochs"])
    step = resume.step
    use_val = val_idx is not None and val_idx.shape[0] > 0
    stopped = False
    initial = mean_loss(net, X, offsets, y_t, w_t, train_idx, loss_fn)
    limit = DIVERGENCE_FACTOR * max(initial, 1.0) if math.isfinite(initial) else math.inf
    history = []
    epochs = range(resume.epoch, resume.epoch + n_epochs)
    bar = None
    if cfg["verbose"]:
        from tqdm.auto import tqdm

        bar = tqdm(epochs, desc=cfg["name"], leave=False)
        epochs = bar
    for cb in callbacks if lifecycle else ():
        cb.on_train_begin(estimator, net)
    for epoch in epochs:
        net.train()
        order = train_idx[rng.permutation(train_idx.shape[0])]
        total = 0.0
        for b in range(n_batches):
            idx = order[b * bs:(b + 1) * bs]
            out, _ = forward_batch(net, X, offsets, idx, device)
            loss = batch_loss(out, _take(y_t, idx), _take(w_t, idx), loss_fn)
            if targets is not None:
                extra = instance_loss(out, targets, idx, dtype)
                if extra is not None:
                    loss = loss + extra
            value = float(loss.detach())
            if not math.isfinite(value):
                raise _diverged(cfg["name"], cfg, epoch + 1, value, initial)
            for p in params:  # opt.zero_grad(set_to_none=True) without its profiler hooks
                p.grad = None
            loss.backward()
            if lr_factor is not None:
                # the lr of step t is lr * factor(t), as torch's LambdaLR sets it
                for group in opt.param_groups:
                    group["lr"] = cfg["lr"] * lr_factor(step)
            opt.step()
            step += 1
            total += value * idx.shape[0]
        record = {"epoch": epoch + 1, "train_loss": total / train_idx.shape[0]}
        if not record["train_loss"] <= limit:
            raise _diverged(cfg["name"], cfg, epoch + 1, record["train_loss"], initial)
        if use_val:
            record["val_loss"] = mean_loss(net, X, offsets, y_t, torch.ones_like(y_t),
                                           val_idx, loss_fn)
        history.append(record)
        if bar is not None:
            bar.set_postfix({k: round(v, 4) for k, v in record.items() if k != "epoch"})
        # every callback sees every epoch, even after one of them asked to stop
        stop = [bool(cb.on_epoch_end(estimator, net, record)) for cb in callbacks]
        if any(stop):
            stopped = True
            break
    if bar is not None:
        bar.close()
    for cb in callbacks if lifecycle else ():
        cb.on_train_end(estimator, net)
    resume.optimizer_state = opt.state_dict()
    resume.step = step
    resume.epoch += len(history)
    return history, mean_loss(net, X, offsets, y_t, w_t, train_idx, loss_fn), stopped
