"""Torch modules of the deep MIL estimators (imported only when a model is built).

Every built-in network works on the *flat* rows of a batch: the encoder runs on the
instances of the batch's bags, stored bag after bag, and every pooling reduces each bag's
contiguous rows through a :class:`Segments` (segment max, sum, softmax, log-sum-exp).
No padded ``(B, n_max, M)`` tensor is built, so the work of a step grows with the
batch's instances, not with ``batch_size`` times its largest bag (on MUSK2, whose bags
hold 1 to 1044 instances, a padded batch of 16 was mostly padding).

A built-in head's ``forward(hs, seg)`` receives the list of per-layer encoder outputs
(each ``(N, M_l)``, flat) and the batch's :class:`Segments`, and returns a dict:

``loss_logits``
    list of ``(B,)`` bag logits, each trained with BCE-with-logits;
``loss_weights``
    one weight per entry of ``loss_logits``;
``bag_logit``
    ``(B,)`` logit of the bag probability used for prediction;
``bag``
    dict of extra per-bag outputs, each ``(B,)`` or ``(B, k)``;
``instance``
    dict of native per-instance outputs, each ``(N,)``; ``witness_logit`` when the head
    has witness scores, ``attention`` when it has attention weights.

:class:`MILNet` hands the instance outputs on padded to ``(B, n_max)`` (zero on
padding), the layout of a user's head. A user's head module (without ``flat_input``)
keeps the padded protocol: ``forward(hs, mask)`` with ``(B, n_max, M_l)`` outputs and
a boolean mask, as documented in the user guide.

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


class Segments:
    """The bags of a batch as consecutive row ranges of a flat ``(N, ...)`` tensor.

    ``lengths`` (B,) are the bags' sizes, ``index`` (N,) each row's bag and ``position``
    (N,) its row within the bag. Every reduction maps ``(N, ...)`` to ``(B, ...)``; a
    batch of one bag reduces over dim 0 directly (no index arithmetic), the papers'
    one-bag-per-step setting.
    """

    def __init__(self, lengths: torch.Tensor, index: torch.Tensor,
                 position: torch.Tensor, n_max: int) -> None:
        self.lengths = lengths
        self.index = index
        self.position = position
        self.n_max = int(n_max)
        self.n_bags = int(lengths.shape[0])
        self.single = self.n_bags == 1

    @classmethod
    def one_bag(cls, n: int, device) -> Segments:
        lengths = torch.tensor([n], dtype=torch.long, device=device)
        index = torch.zeros(n, dtype=torch.long, device=device)
        return cls(lengths, index, torch.arange(n, device=device), n)

    def counts(self, like: torch.Tensor) -> torch.Tensor:
        """Bag sizes as ``like``'s dtype, shaped to divide a reduction of ``like``."""
        n = self.lengths.to(like.dtype)
        return n.reshape((-1,) + (1,) * (like.dim() - 1))

    def expand(self, v: torch.Tensor) -> torch.Tensor:
        """Per-bag values ``(B, ...)`` repeated on their bags' rows ``(N, ...)``."""
        if self.single:
            return v.expand((self.index.shape[0],) + tuple(v.shape[1:]))
        return v.index_select(0, self.index)

    def max(self, x: torch.Tensor) -> torch.Tensor:
        if self.single:
            return x.amax(dim=0, keepdim=True)
        # the gradient of a tie is split evenly between the tied rows, as amax's is
        return torch.segment_reduce(x, "max", lengths=self.lengths, axis=0)

    def sum(self, x: torch.Tensor) -> torch.Tensor:
        if self.single:
            return x.sum(dim=0, keepdim=True)
        return x.new_zeros((self.n_bags,) + tuple(x.shape[1:])).index_add(0, self.index, x)

    def mean(self, x: torch.Tensor) -> torch.Tensor:
        return self.sum(x) / self.counts(x)

    def logsumexp(self, x: torch.Tensor) -> torch.Tensor:
        if self.single:
            return torch.logsumexp(x, dim=0, keepdim=True)
        m = self.max(x).detach()
        return m + torch.log(self.sum(torch.exp(x - self.expand(m))))

    def softmax(self, x: torch.Tensor) -> torch.Tensor:
        """Softmax of ``(N,)`` scores within each bag."""
        if self.single:
            return torch.softmax(x, dim=0)
        e = torch.exp(x - self.expand(self.max(x).detach()))
        return e / self.expand(self.sum(e))

    def argmax(self, x: torch.Tensor) -> torch.Tensor:
        """Flat row of each bag's largest ``(N,)`` value (the first one on a tie)."""
        if self.single:
            return x.argmax(dim=0, keepdim=True)
        rows = torch.arange(x.shape[0], device=x.device)
        hit = torch.where(x == self.expand(self.max(x)), rows, x.shape[0])
        first = torch.full((self.n_bags,), x.shape[0], dtype=rows.dtype, device=x.device)
        return first.scatter_reduce(0, self.index, hit, "amin")

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """Flat ``(N,)`` values as ``(B, n_max)``, zero on padding."""
        if self.single:
            return x.unsqueeze(0)
        out = x.new_zeros((self.n_bags, self.n_max))
        return out.index_put((self.index, self.position), x)


def pool(x: torch.Tensor, seg: Segments, pooling: str, r: float = 1.0) -> torch.Tensor:
    """Max, mean or LSE, (1/r) log((1/n) sum exp(r x)) (Wang et al. 2018), per bag."""
    if pooling == "max":
        return seg.max(x)
    if pooling == "mean":
        return seg.mean(x)
    return (seg.logsumexp(r * x) - torch.log(seg.counts(x))) / r


def logit_of_mean_sigmoid(logits: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """logit(mean over ``dim`` of sigmoid(logits)) computed in log space (no saturation)."""
    log_p = torch.logsumexp(F.logsigmoid(logits), dim=dim)
    log_q = torch.logsumexp(F.logsigmoid(-logits), dim=dim)
    return log_p - log_q


def lse_of_sigmoid_logit(s: torch.Tensor, seg: Segments, r: float) -> torch.Tensor:
    """logit of q = (1/r) log mean_k exp(r sigmoid(s_k)), the LSE pooling of probabilities.

    q and 1 - q are both computed from ``expm1`` of small arguments: with p = sigmoid(s)
    and u = sigmoid(-s) = 1 - p, q = (1/r) log1p(mean expm1(r p)) and
    1 - q = -(1/r) log1p(mean expm1(-r u)). So the logit stays exact where the
    probabilities saturate, and lies between the smallest and the largest s_k (q is a
    mean of the p_k in the sense of a quasi-arithmetic mean).
    """
    tiny = torch.finfo(s.dtype).tiny
    q = torch.log1p(seg.mean(torch.expm1(r * torch.sigmoid(s)))) / r
    one_minus_q = -torch.log1p(seg.mean(torch.expm1(-r * torch.sigmoid(-s)))) / r
    return torch.log(q.clamp_min(tiny)) - torch.log(one_minus_q.clamp_min(tiny))


def dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Inverted dropout, as ``F.dropout``, from uniform draws.

    Same distribution as ``F.dropout`` (each unit kept with probability 1 - p, kept units
    scaled by 1 / (1 - p)), but torch's CPU ``bernoulli_`` behind ``F.dropout`` takes
    about twice as long as a uniform draw and a comparison (3.2 vs 1.4 ms on a
    1040 x 256 block, one thread), and on large bags dropout was a tenth of a step.
    """
    if not training or p == 0.0:
        return x
    if p >= 1.0:
        return x * 0.0
    keep = torch.rand_like(x) >= p
    return x * keep * (1.0 / (1.0 - p))


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
            dropped = dropout(x, self.dropout, self.training)
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

    flat_input = True
    has_attention = False

    def __init__(self, in_sizes, pooling: str = "max", lse_r: float = 1.0) -> None:
        super().__init__()
        self.fc = nn.Linear(in_sizes[-1], 1)
        self.pooling = pooling
        self.lse_r = float(lse_r)
        self.bag_rule = "max" if pooling == "max" else "convex"

    def forward(self, hs, seg):
        s = self.fc(hs[-1]).squeeze(-1)
        if self.pooling == "max":
            # max of sigmoids = sigmoid of the max: exact in logit space
            logit = seg.max(s)
        elif self.pooling == "mean":
            logit = seg.logsumexp(F.logsigmoid(s)) - seg.logsumexp(F.logsigmoid(-s))
        else:
            logit = lse_of_sigmoid_logit(s, seg, self.lse_r)
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

    flat_input = True
    has_attention = False

    def __init__(self, in_sizes, pooling: str = "max", lse_r: float = 1.0) -> None:
        super().__init__()
        self.fc = nn.Linear(in_sizes[-1], 1)
        self.pooling = pooling
        self.lse_r = float(lse_r)
        self.bag_rule = "mean" if pooling == "mean" else None

    def forward(self, hs, seg):
        logit = self.fc(pool(hs[-1], seg, self.pooling, self.lse_r)).squeeze(-1)
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
    flat_input = True
    has_attention = False

    def __init__(self, in_sizes, pooling: str = "max", lse_r: float = 1.0) -> None:
        super().__init__()
        self.fcs = nn.ModuleList(nn.Linear(m, 1) for m in in_sizes)
        self.pooling = pooling
        self.lse_r = float(lse_r)

    def forward(self, hs, seg):
        logits = [fc(pool(h, seg, self.pooling, self.lse_r)).squeeze(-1)
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

    flat_input = True
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

    def forward(self, hs, seg):
        b = pool(hs[0], seg, self.pooling, self.lse_r)
        for h in hs[1:]:
            b = b + pool(h, seg, self.pooling, self.lse_r)
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
    flat_input = True
    has_attention = True

    def __init__(self, in_sizes, attention_dim: int = 64, gated: bool = False) -> None:
        super().__init__()
        m = in_sizes[-1]
        self.V = nn.Linear(m, attention_dim)
        self.U = nn.Linear(m, attention_dim) if gated else None
        self.w = nn.Linear(attention_dim, 1)
        self.fc = nn.Linear(m, 1)

    def forward(self, hs, seg):
        h = hs[-1]
        a = torch.tanh(self.V(h))
        if self.U is not None:
            a = a * torch.sigmoid(self.U(h))
        att = seg.softmax(self.w(a).squeeze(-1))
        z = seg.sum(att.unsqueeze(-1) * h)
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
    flat_input = True
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

    def forward(self, hs, seg):
        h = hs[-1]
        c = self.instance_fc(h).squeeze(-1)
        m_idx = seg.argmax(c.detach())
        c_m = c[m_idx]  # the gradient reaches the critical instance only, as max(dim) gives
        q = self.q(h)
        att = seg.softmax((q * seg.expand(q[m_idx])).sum(dim=-1) * self.scale)
        b = seg.sum(att.unsqueeze(-1) * self.v(h))
        c_b = self.fcc(b).squeeze(-1)
        both = torch.stack([c_m, c_b], dim=1)
        witness = logit_of_mean_sigmoid(torch.stack([c, seg.expand(c_b)], dim=-1), dim=-1)
        return {
            "loss_logits": [c_b, c_m],
            "loss_weights": [0.5, 0.5],
            "bag_logit": logit_of_mean_sigmoid(both),
            "bag": {"max_stream_proba": torch.sigmoid(c_m),
                    "bag_stream_proba": torch.sigmoid(c_b)},
            "instance": {"witness_logit": witness, "instance_logit": c,
                         "instance_proba": torch.sigmoid(c), "attention": att},
        }


class PowerPoolingHead(nn.Module):
    """Power pooling (Liu, Chen, Wang & Zhang 2021) of instance probabilities.

    p_k = sigmoid(s_k), s_k = w^T h_k + b; the bag probability is
    P = sum_k p_k^(n+1) / sum_k p_k^n, the mean of the p_k weighted by p_k^n, with a
    learnable exponent n >= 0 (n = softplus(rho), 1 at initialisation): n = 0 is mean
    pooling, n = 1 linear softmax, n -> infinity max pooling. P is a weighted mean of the
    p_k, so the bag logit lies between the smallest and the largest s_k (rule
    "convex"). Computed in log space: log P = logsumexp_k(log w_k + log p_k) and
    log(1 - P) = logsumexp_k(log w_k + log(1 - p_k)), with log w_k = n log p_k minus its
    log-sum-exp over the bag, so saturated probabilities keep their gradient.
    """

    flat_input = True
    bag_rule = "convex"
    has_attention = False

    def __init__(self, in_sizes, initial_exponent: float = 1.0) -> None:
        super().__init__()
        self.fc = nn.Linear(in_sizes[-1], 1)
        # softplus(rho) = initial_exponent
        self.rho = nn.Parameter(torch.tensor(math.log(math.expm1(float(initial_exponent)))))

    def exponent(self) -> torch.Tensor:
        return F.softplus(self.rho)

    def forward(self, hs, seg):
        s = self.fc(hs[-1]).squeeze(-1)
        log_p, log_q = F.logsigmoid(s), F.logsigmoid(-s)
        a = self.exponent() * log_p
        log_w = a - seg.expand(seg.logsumexp(a))
        logit = seg.logsumexp(log_w + log_p) - seg.logsumexp(log_w + log_q)
        return {"loss_logits": [logit], "loss_weights": [1.0], "bag_logit": logit,
                "bag": {"exponent": self.exponent().detach().expand(seg.n_bags)},
                "instance": {"witness_logit": s, "instance_proba": torch.sigmoid(s),
                             "weight": torch.exp(log_w)}}


class ConjunctiveHead(nn.Module):
    """Conjunctive pooling (MILLET; Early, Cheung, Cutajar et al., ICLR 2024).

    A gate a_k = sigmoid(w_a^T tanh(V h_k)) in [0, 1] scales each embedding before the
    instance classifier: s_k = w^T (a_k h_k) + b, and the bag logit is the mean of the
    s_k (as in the MILLET code). So the s_k are witness scores whose mean is the bag
    logit (rule "mean"); the gates do not sum to 1 and are no attention weights in
    skmil's sense (they are the ``gate`` instance output).
    """

    flat_input = True
    bag_rule = "mean"
    has_attention = False

    def __init__(self, in_sizes, attention_dim: int = 64) -> None:
        super().__init__()
        m = in_sizes[-1]
        self.V = nn.Linear(m, attention_dim)
        self.w = nn.Linear(attention_dim, 1)
        self.fc = nn.Linear(m, 1)

    def forward(self, hs, seg):
        h = hs[-1]
        gate = torch.sigmoid(self.w(torch.tanh(self.V(h)))).squeeze(-1)
        s = self.fc(gate.unsqueeze(-1) * h).squeeze(-1)
        logit = seg.mean(s)
        return {"loss_logits": [logit], "loss_weights": [1.0], "bag_logit": logit,
                "bag": {}, "instance": {"witness_logit": s, "gate": gate}}


class AdditiveHead(nn.Module):
    """Additive MIL (Javed, Juyal, Padigela et al., NeurIPS 2022).

    Attention a_k = softmax_k(w_a^T tanh(V h_k)) as in Ilse et al.; each attended
    embedding goes through its own classifier, c_k = psi(a_k h_k) with psi an MLP
    (fc-``attention_dim`` -> ReLU -> fc-1), and the bag logit is the sum of the c_k. The
    c_k are signed contributions that add up to the bag logit: witness scores with rule
    "sum" (the bag's threshold is spread evenly over its instances).
    """

    flat_input = True
    bag_rule = "sum"
    has_attention = True

    def __init__(self, in_sizes, attention_dim: int = 64) -> None:
        super().__init__()
        m = in_sizes[-1]
        self.V = nn.Linear(m, attention_dim)
        self.w = nn.Linear(attention_dim, 1)
        self.psi = nn.Sequential(nn.Linear(m, attention_dim), nn.ReLU(),
                                 nn.Linear(attention_dim, 1))

    def forward(self, hs, seg):
        h = hs[-1]
        att = seg.softmax(self.w(torch.tanh(self.V(h))).squeeze(-1))
        c = self.psi(att.unsqueeze(-1) * h).squeeze(-1)
        logit = seg.sum(c)
        return {"loss_logits": [logit], "loss_weights": [1.0], "bag_logit": logit,
                "bag": {}, "instance": {"witness_logit": c, "attention": att}}


HEADS = {
    "instance": InstanceHead,
    "embedding": EmbeddingHead,
    "embedding-ds": DeepSupervisionHead,
    "embedding-rc": ResidualHead,
    "attention": AttentionHead,
    "gated-attention": AttentionHead,
    "dsmil": DSMILHead,
    "power": PowerPoolingHead,
    "conjunctive": ConjunctiveHead,
    "additive": AdditiveHead,
}


class MILNet(nn.Module):
    """Encoder + head over a padded batch given as flat instances and their positions."""

    def __init__(self, encoder: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head

    def forward(self, x: torch.Tensor, seg: Segments) -> dict:
        """Outputs for the flat rows ``x`` of the bags that ``seg`` describes.

        Instance outputs come back as ``(B, n_max)``, zero on padding, whatever layout
        the head computes in.
        """
        hs = self.encoder.forward_all(x)
        if getattr(self.head, "flat_input", False):
            out = self.head(hs, seg)
            out["instance"] = {k: seg.pad(v) for k, v in out["instance"].items()}
            return out
        if seg.single:
            mask = torch.ones((1, x.shape[0]), dtype=torch.bool, device=x.device)
            return self.head([h.unsqueeze(0) for h in hs], mask)
        padded = []
        for h in hs:
            out = h.new_zeros((seg.n_bags, seg.n_max, h.shape[-1]))
            padded.append(out.index_put((seg.index, seg.position), h))
        mask = torch.zeros((seg.n_bags, seg.n_max), dtype=torch.bool, device=x.device)
        mask[seg.index, seg.position] = True
        return self.head(padded, mask)

    def forward_bag(self, x: torch.Tensor) -> dict:
        """The same output for a single bag given as its ``(n, d)`` instance rows."""
        return self.forward(x, Segments.one_bag(x.shape[0], x.device))
