"""Torch modules of the deep MIL estimators (imported only when a model is built).

Every network works on a *padded batch*: the encoder runs on the flat instances of the
batch only (padding never reaches it, so batch-norm or dropout in a user encoder never
sees fake rows), its outputs are scattered into ``(B, n_max, M)`` tensors, and every
pooling takes the boolean ``mask`` of real instances. Padded positions get ``-inf``
before a max, softmax or log-sum-exp and a zero weight in every sum, so padding never
changes a bag's output.

A head's ``forward(hs, mask)`` receives the list of per-layer encoder outputs (padded)
and returns a dict:

``loss_logits``
    list of ``(B,)`` bag logits, each trained with BCE-with-logits;
``loss_weights``
    one weight per entry of ``loss_logits``;
``bag_logit``
    ``(B,)`` logit of the bag probability used for prediction;
``bag``
    dict of extra per-bag outputs, each ``(B,)`` or ``(B, k)``;
``instance``
    dict of native per-instance outputs, each ``(B, n_max)``; ``witness_logit`` when
    the head has witness scores, ``attention`` when it has attention weights.

A head declares what its instance outputs mean with two attributes: ``bag_rule``, the
rule by which ``bag_logit`` follows from ``witness_logit`` (one of
:data:`skmil.base.BAG_RULES`, or None when the head has no witness score), and
``has_attention``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _masked_fill(x: torch.Tensor, mask: torch.Tensor, value: float) -> torch.Tensor:
    return x.masked_fill(~mask, value)


def masked_max(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Max over instances (dim 1) of ``x`` (B, n) or (B, n, M), ignoring padding."""
    m = mask if x.dim() == 2 else mask.unsqueeze(-1)
    return _masked_fill(x, m, float("-inf")).amax(dim=1)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask if x.dim() == 2 else mask.unsqueeze(-1)
    n = mask.sum(dim=1).to(x.dtype)
    if x.dim() == 3:
        n = n.unsqueeze(-1)
    return (x * m.to(x.dtype)).sum(dim=1) / n


def masked_lse(x: torch.Tensor, mask: torch.Tensor, r: float) -> torch.Tensor:
    """(1/r) log((1/n) sum exp(r x)): the smooth max of Wang et al. (2018)."""
    m = mask if x.dim() == 2 else mask.unsqueeze(-1)
    n = mask.sum(dim=1).to(x.dtype)
    if x.dim() == 3:
        n = n.unsqueeze(-1)
    return (torch.logsumexp(_masked_fill(r * x, m, float("-inf")), dim=1) - torch.log(n)) / r


def pool(x: torch.Tensor, mask: torch.Tensor, pooling: str, r: float = 1.0) -> torch.Tensor:
    if pooling == "max":
        return masked_max(x, mask)
    if pooling == "mean":
        return masked_mean(x, mask)
    return masked_lse(x, mask, r)


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return torch.softmax(_masked_fill(scores, mask, float("-inf")), dim=1)


def logit_of_mean_sigmoid(logits: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """logit(mean over ``dim`` of sigmoid(logits)) computed in log space (no saturation)."""
    log_p = torch.logsumexp(F.logsigmoid(logits), dim=dim)
    log_q = torch.logsumexp(F.logsigmoid(-logits), dim=dim)
    return log_p - log_q


def lse_of_sigmoid_logit(s: torch.Tensor, mask: torch.Tensor, r: float) -> torch.Tensor:
    """logit of q = (1/r) log mean_k exp(r sigmoid(s_k)), the LSE pooling of probabilities.

    q and 1 - q are both computed from ``expm1`` of small arguments: with p = sigmoid(s)
    and u = sigmoid(-s) = 1 - p, q = (1/r) log1p(mean expm1(r p)) and
    1 - q = -(1/r) log1p(mean expm1(-r u)). So the logit stays exact where the
    probabilities saturate, and lies between the smallest and the largest s_k (q is a
    mean of the p_k in the sense of a quasi-arithmetic mean).
    """
    tiny = torch.finfo(s.dtype).tiny
    q = torch.log1p(masked_mean(torch.expm1(r * torch.sigmoid(s)), mask)) / r
    one_minus_q = -torch.log1p(masked_mean(torch.expm1(-r * torch.sigmoid(-s)), mask)) / r
    return torch.log(q.clamp_min(tiny)) - torch.log(one_minus_q.clamp_min(tiny))


class MLPEncoder(nn.Module):
    """fc -> ReLU per hidden layer with dropout (the MINNs/Ilse tabular encoder).

    ``dropout_at="hidden"`` drops units after every layer, so the next layer reads the
    dropped units; ``"pooled"`` drops only the per-layer outputs handed to the head and
    feeds the next layer the undropped ones (the MINNs scripts). With no hidden layer it
    is the identity (DSMIL on tabular features).
    """

    def __init__(self, in_features: int, hidden_layer_sizes, dropout: float,
                 dropout_at: str = "hidden") -> None:
        super().__init__()
        sizes = [int(h) for h in hidden_layer_sizes]
        dims = [in_features, *sizes]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.dropout = float(dropout)
        self.dropout_at = dropout_at
        self.out_sizes = sizes if sizes else [in_features]

    def forward_all(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for layer in self.layers:
            x = F.relu(layer(x))
            dropped = F.dropout(x, self.dropout, self.training)
            if self.dropout_at == "hidden":
                x = dropped
            outs.append(dropped)
        return outs if outs else [x]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_all(x)[-1]


class ModuleEncoder(nn.Module):
    """Wraps a user module mapping (n, d) instances to (n, M) embeddings."""

    def __init__(self, module: nn.Module, out_features: int) -> None:
        super().__init__()
        self.module = module
        self.out_sizes = [int(out_features)]

    def forward_all(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = self.module(x)
        return [out.reshape(out.shape[0], -1)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_all(x)[-1]


class InstanceHead(nn.Module):
    """mi-Net: p_k = sigmoid(w^T h_k + b); bag probability = pool_k p_k.

    The instance logits s_k are witness scores: with max pooling the bag logit is their
    max (sigmoid is monotone); mean and LSE pooling average the probabilities, so the
    bag logit lies between the smallest and the largest s_k (a "convex" rule).
    """

    has_attention = False

    def __init__(self, in_sizes, pooling: str = "max", lse_r: float = 1.0) -> None:
        super().__init__()
        self.fc = nn.Linear(in_sizes[-1], 1)
        self.pooling = pooling
        self.lse_r = float(lse_r)
        self.bag_rule = "max" if pooling == "max" else "convex"

    def forward(self, hs, mask):
        s = self.fc(hs[-1]).squeeze(-1)
        if self.pooling == "max":
            # max of sigmoids = sigmoid of the max: exact in logit space
            logit = masked_max(s, mask)
        elif self.pooling == "mean":
            log_p = torch.logsumexp(_masked_fill(F.logsigmoid(s), mask, float("-inf")), 1)
            log_q = torch.logsumexp(_masked_fill(F.logsigmoid(-s), mask, float("-inf")), 1)
            logit = log_p - log_q
        else:
            logit = lse_of_sigmoid_logit(s, mask, self.lse_r)
        return {
            "loss_logits": [logit],
            "loss_weights": [1.0],
            "bag_logit": logit,
            "bag": {},
            "instance": {"witness_logit": s, "instance_proba": torch.sigmoid(s)},
        }


class EmbeddingHead(nn.Module):
    """MI-Net: z = pool_k h_k (element-wise); bag logit = w^T z + b.

    Max and LSE pooling act on each embedding dimension separately, so the bag logit
    is no function of per-instance scores: no witness score. Mean pooling is linear:
    w^T mean_k h_k + b = mean_k (w^T h_k + b), so s_k = w^T h_k + b are witness scores
    whose mean is the bag logit (rule "mean").
    """

    has_attention = False

    def __init__(self, in_sizes, pooling: str = "max", lse_r: float = 1.0) -> None:
        super().__init__()
        self.fc = nn.Linear(in_sizes[-1], 1)
        self.pooling = pooling
        self.lse_r = float(lse_r)
        self.bag_rule = "mean" if pooling == "mean" else None

    def forward(self, hs, mask):
        logit = self.fc(pool(hs[-1], mask, self.pooling, self.lse_r)).squeeze(-1)
        inst = {"witness_logit": self.fc(hs[-1]).squeeze(-1)} if self.bag_rule else {}
        return {"loss_logits": [logit], "loss_weights": [1.0], "bag_logit": logit,
                "bag": {}, "instance": inst}


class DeepSupervisionHead(nn.Module):
    """MI-Net + DS: one pooling and fc-1 per encoder layer; loss = sum of the BCEs.

    The prediction is the mean of the layers' probabilities. That mean of sigmoids of
    per-layer pooled logits is no weighted mean of any per-instance score (with mean
    pooling, instances whose layers disagree can give a bag logit above every
    instance's own combined logit), so the head has no witness score.
    """

    bag_rule = None
    has_attention = False

    def __init__(self, in_sizes, pooling: str = "max", lse_r: float = 1.0) -> None:
        super().__init__()
        self.fcs = nn.ModuleList(nn.Linear(m, 1) for m in in_sizes)
        self.pooling = pooling
        self.lse_r = float(lse_r)

    def forward(self, hs, mask):
        logits = [fc(pool(h, mask, self.pooling, self.lse_r)).squeeze(-1)
                  for fc, h in zip(self.fcs, hs)]
        stacked = torch.stack(logits, dim=1)
        return {
            "loss_logits": logits,
            "loss_weights": [1.0] * len(logits),
            "bag_logit": logit_of_mean_sigmoid(stacked),
            "bag": {"layer_proba": torch.sigmoid(stacked)},
            "instance": {},
        }


class ResidualHead(nn.Module):
    """MI-Net + RC: bag representation b = sum_l pool(h^(l)); bag logit = w^T b + c.

    As for MI-Net, only mean pooling is linear: the bag logit is then the mean of
    s_k = w^T sum_l h_k^(l) + c, the witness scores (rule "mean").
    """

    has_attention = False

    def __init__(self, in_sizes, pooling: str = "max", lse_r: float = 1.0) -> None:
        super().__init__()
        if len(set(in_sizes)) != 1:
            raise ValueError(
                "the residual head (MI-Net + RC) sums the pooled outputs of every encoder "
                f"layer, so all hidden layers need the same width; got {list(in_sizes)}. "
                "Use e.g. hidden_layer_sizes=(128, 128, 128)."
            )
        self.fc = nn.Linear(in_sizes[-1], 1)
        self.pooling = pooling
        self.lse_r = float(lse_r)
        self.bag_rule = "mean" if pooling == "mean" else None

    def forward(self, hs, mask):
        b = pool(hs[0], mask, self.pooling, self.lse_r)
        for h in hs[1:]:
            b = b + pool(h, mask, self.pooling, self.lse_r)
        logit = self.fc(b).squeeze(-1)
        inst = {}
        if self.bag_rule:
            inst["witness_logit"] = self.fc(torch.stack(hs, dim=0).sum(dim=0)).squeeze(-1)
        return {"loss_logits": [logit], "loss_weights": [1.0], "bag_logit": logit,
                "bag": {}, "instance": inst}


class AttentionHead(nn.Module):
    """Attention (Ilse et al. 2018): a_k = softmax_k(w^T tanh(V h_k)); gated variant
    multiplies by sigmoid(U h_k). z = sum_k a_k h_k; bag logit = w_c^T z + b.

    The classifier is linear after the pooling and the a_k sum to 1, so the bag logit
    is the attention-weighted mean of the instance logits s_k = w_c^T h_k + b: these
    are the witness scores (rule "convex"); the a_k are attention weights, not scores.
    """

    bag_rule = "convex"
    has_attention = True

    def __init__(self, in_sizes, attention_dim: int = 64, gated: bool = False) -> None:
        super().__init__()
        m = in_sizes[-1]
        self.V = nn.Linear(m, attention_dim)
        self.U = nn.Linear(m, attention_dim) if gated else None
        self.w = nn.Linear(attention_dim, 1)
        self.fc = nn.Linear(m, 1)

    def forward(self, hs, mask):
        h = hs[-1]
        a = torch.tanh(self.V(h))
        if self.U is not None:
            a = a * torch.sigmoid(self.U(h))
        att = masked_softmax(self.w(a).squeeze(-1), mask)
        z = (att.unsqueeze(-1) * h).sum(dim=1)
        logit = self.fc(z).squeeze(-1)
        return {"loss_logits": [logit], "loss_weights": [1.0], "bag_logit": logit,
                "bag": {}, "instance": {"witness_logit": self.fc(h).squeeze(-1),
                                        "attention": att}}


class DSMILHead(nn.Module):
    """DSMIL dual-stream head (Li, Li & Eliceiri 2021), binary case.

    Stream 1: instance logits c_k = W_0 h_k, c_m = max_k c_k at the critical instance m.
    Stream 2: queries q_k = tanh(W_2 relu(W_1 h_k)), attention
    U_k = softmax_k(<q_k, q_m> / sqrt(D_q)), b = sum_k U_k v_k, c_b = w_b^T b.
    Training loss 0.5 BCE(c_b) + 0.5 BCE(c_m); prediction 0.5 (sigmoid(c_m) + sigmoid(c_b)).

    Witness scores: s_k = logit(0.5 (sigmoid(c_k) + sigmoid(c_b))), the bag logit the
    head would give if instance k were the critical one (the bag stream held fixed).
    It increases with c_k, so the bag logit is exactly the largest s_k (rule "max"):
    instances rank by the instance classifier, and the bag stream sets how high c_k
    must be for the instance to make its bag positive.
    """

    bag_rule = "max"
    has_attention = True

    def __init__(self, in_sizes, query_dim: int = 128, passing_v: bool = False,
                 dropout_v: float = 0.0) -> None:
        super().__init__()
        m = in_sizes[-1]
        self.instance_fc = nn.Linear(m, 1)
        self.q = nn.Sequential(nn.Linear(m, query_dim), nn.ReLU(),
                               nn.Linear(query_dim, query_dim), nn.Tanh())
        if passing_v:
            self.v = nn.Sequential(nn.Dropout(dropout_v), nn.Linear(m, m), nn.ReLU())
        else:
            self.v = nn.Identity()
        self.fcc = nn.Linear(m, 1)
        self.scale = 1.0 / math.sqrt(query_dim)

    def forward(self, hs, mask):
        h = hs[-1]
        c = self.instance_fc(h).squeeze(-1)
        c_m, m_idx = _masked_fill(c, mask, float("-inf")).max(dim=1)
        q = self.q(h)
        q_m = q[torch.arange(h.shape[0], device=h.device), m_idx]
        att = masked_softmax((q @ q_m.unsqueeze(-1)).squeeze(-1) * self.scale, mask)
        b = (att.unsqueeze(-1) * self.v(h)).sum(dim=1)
        c_b = self.fcc(b).squeeze(-1)
        both = torch.stack([c_m, c_b], dim=1)
        witness = logit_of_mean_sigmoid(
            torch.stack([c, c_b.unsqueeze(1).expand_as(c)], dim=-1), dim=-1)
        return {
            "loss_logits": [c_b, c_m],
            "loss_weights": [0.5, 0.5],
            "bag_logit": logit_of_mean_sigmoid(both),
            "bag": {"max_stream_proba": torch.sigmoid(c_m),
                    "bag_stream_proba": torch.sigmoid(c_b)},
            "instance": {"witness_logit": witness, "instance_logit": c,
                         "instance_proba": torch.sigmoid(c), "attention": att},
        }


HEADS = {
    "instance": InstanceHead,
    "embedding": EmbeddingHead,
    "embedding-ds": DeepSupervisionHead,
    "embedding-rc": ResidualHead,
    "attention": AttentionHead,
    "gated-attention": AttentionHead,
    "dsmil": DSMILHead,
}


class MILNet(nn.Module):
    """Encoder + head over a padded batch given as flat instances and their positions."""

    def __init__(self, encoder: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head

    def forward(self, x, bag_pos, inst_pos, n_bags: int, n_max: int):
        hs = self.encoder.forward_all(x)
        padded = []
        for h in hs:
            out = h.new_zeros((n_bags, n_max, h.shape[-1]))
            out = out.index_put((bag_pos, inst_pos), h)
            padded.append(out)
        mask = torch.zeros((n_bags, n_max), dtype=torch.bool, device=x.device)
        mask[bag_pos, inst_pos] = True
        return self.head(padded, mask)

    def forward_bag(self, x):
        """The same output for a single bag given as its ``(n, d)`` instance rows."""
        hs = self.encoder.forward_all(x)
        mask = torch.ones((1, x.shape[0]), dtype=torch.bool, device=x.device)
        return self.head([h.unsqueeze(0) for h in hs], mask)
