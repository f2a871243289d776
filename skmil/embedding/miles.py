"""MILES: multiple-instance learning via embedded instance selection (Chen, Bi & Wang 2006)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog
from sklearn.svm import LinearSVC

from .._kernels.encoders import DEFAULT_CHUNK, bag_chunks, squared_distances
from .._kernels.fast_exp import exp_inplace
from .._numba import njit
from ..bags import Bags
from ..base import BaseMILClassifier, BaseMILTransformer, InstancePredictionMixin
from ._codebook import check_choice, check_positive_float, check_positive_int

__all__ = ["MILESEmbedding", "MILES", "bag_concept_min_distances"]

#: Pairs used to estimate the median squared distance for ``sigma2="auto"``.
_SIGMA_PAIRS = 20_000


def bag_concept_min_distances(
    X: np.ndarray,
    offsets: np.ndarray,
    concepts: np.ndarray,
    chunk_size: int = DEFAULT_CHUNK,
    concept_block: int = 2048,
) -> np.ndarray:
    """``min_j ||x_ij - c_k||^2`` for every bag ``i`` and concept ``k``: ``(B, n_concepts)``.

    Blocks of whole bags (rows) times blocks of concepts (columns) go through one GEMM
    each, then a segmented minimum over the bag rows; the largest temporary is
    ``chunk_size x concept_block`` doubles, however many instances there are.
    """
    n_bags = offsets.shape[0] - 1
    out = np.empty((n_bags, concepts.shape[0]))
    c_sq = np.einsum("ij,ij->i", concepts, concepts)
    # keep the distance block within ~chunk_size * 256 doubles
    rows = max(1, min(chunk_size, (chunk_size * 256) // max(concept_block, 1)))
    for b0, b1 in bag_chunks(offsets, rows):
        s, e = offsets[b0], offsets[b1]
        starts = offsets[b0:b1] - s
        for c0 in range(0, concepts.shape[0], concept_block):
            c1 = min(c0 + concept_block, concepts.shape[0])
            D = squared_distances(X[s:e], concepts[c0:c1], c_sq[c0:c1])
            out[b0:b1, c0:c1] = np.minimum.reduceat(D, starts, axis=0)
    return out


def _median_sq_distance(X: np.ndarray, rng: np.random.RandomState) -> float:
    n = X.shape[0]
    if n < 2:
        return 1.0
    i = rng.randint(0, n, _SIGMA_PAIRS)
    j = rng.randint(0, n, _SIGMA_PAIRS)
    keep = i != j
    d2 = np.sum((X[i[keep]] - X[j[keep]]) ** 2, axis=1)
    med = float(np.median(d2)) if d2.size else 0.0
    return med if med > 0 else 1.0


class MILESEmbedding(BaseMILTransformer):
    """Embed each bag by its similarity to every training instance (the MILES embedding).

    The concepts are all training instances ``x^k``; bag ``B_i`` becomes
    ``m_ik = max_j exp(-||x_ij - x^k||^2 / sigma2) = exp(-min_j ||x_ij - x^k||^2 / sigma2)``,
    a vector with one column per training instance.

    Distances are computed in blocks (BLAS) with a segmented minimum over bags, so the
    extra memory is bounded; the output itself is ``(n_bags, n_training_instances)``.

    Parameters
    ----------
    sigma2 : "auto" or float, default="auto"
        Kernel width ``sigma^2``. ``"auto"`` is the median squared distance between
        random pairs of training instances (the median heuristic), which adapts to the
        number and scale of features.
    chunk_size : int, default=65536

    Attributes
    ----------
    concepts_ : ndarray of shape (n_concepts, n_features)
        The training instances.
    concept_bag_ : ndarray of shape (n_concepts,)
        The training bag each concept came from.
    sigma2_ : float
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from skmil.embedding import MILESEmbedding
    >>> bags = [np.array([[0.0], [3.0]]), np.array([[1.0]])]
    >>> MILESEmbedding(sigma2=1.0).fit_transform(bags).round(3)
    array([[1.   , 1.   , 0.368],
           [0.368, 0.018, 1.   ]])
    """

    def __init__(self, sigma2: Any = "auto", chunk_size: int = DEFAULT_CHUNK) -> None:
        self.sigma2 = sigma2
        self.chunk_size = chunk_size

    def _fit(self, bags: Bags, y) -> None:
        check_positive_int(self.chunk_size, "chunk_size")
        self.concepts_ = bags.instances.copy()
        self.concept_bag_ = bags.bag_index
        if self.sigma2 == "auto":
            # fixed seed: the heuristic is a deterministic function of the data
            self.sigma2_ = _median_sq_distance(self.concepts_, np.random.RandomState(0))
        else:
            self.sigma2_ = check_positive_float(self.sigma2, "sigma2")

    def _similarities(self, bags: Bags, concepts: np.ndarray) -> np.ndarray:
        D = bag_concept_min_distances(bags.instances, bags.offsets, concepts, self.chunk_size)
        return exp_inplace(D, -1.0 / self.sigma2_)

    def _transform(self, bags: Bags) -> np.ndarray:
        return self._similarities(bags, self.concepts_)


@njit
def _miles_instance_scores(X, offsets, concepts, weights, sigma2):
    # Chen et al. (2006) eq. 11: every selected concept credits its winning instance(s)
    n = X.shape[0]
    d = X.shape[1]
    n_concepts = concepts.shape[0]
    g = np.zeros(n)
    dist = np.empty(n)
    for b in range(offsets.shape[0] - 1):
        start = offsets[b]
        stop = offsets[b + 1]
        for k in range(n_concepts):
            best = np.inf
            for j in range(start, stop):
                acc = 0.0
                for f in range(d):
                    diff = X[j, f] - concepts[k, f]
                    acc += diff * diff
                dist[j] = acc
                if acc < best:
                    best = acc
            n_win = 0
            for j in range(start, stop):
                if dist[j] == best:
                    n_win += 1
            share = weights[k] * np.exp(-best / sigma2) / n_win
            for j in range(start, stop):
                if dist[j] == best:
                    g[j] += share
    return g


def _l1_svm_lp(M: np.ndarray, y: np.ndarray, C: float, mu: float) -> tuple[np.ndarray, float]:
    """1-norm SVM by linear programming (HiGHS).

    minimise ``sum_k |w_k| + C * sum_i c_i xi_i`` with ``c_i = 2 mu`` for positive and
    ``2 (1 - mu)`` for negative bags, subject to ``s_i (w . m_i + b) >= 1 - xi_i``,
    ``xi >= 0``; ``w = u - v`` with ``u, v >= 0``.
    """
    B, n = M.shape
    s = np.where(y == 1, 1.0, -1.0)
    cost = np.concatenate(
        [np.ones(2 * n), [0.0], C * np.where(y == 1, 2.0 * mu, 2.0 * (1.0 - mu))]
    )
    SM = M * s[:, None]
    # -s_i m_i.u + s_i m_i.v - s_i b - xi_i <= -1
    A = sp.hstack(
        [sp.csr_matrix(-SM), sp.csr_matrix(SM), sp.csr_matrix(-s[:, None]), -sp.identity(B)],
        format="csr",
    )
    bounds = [(0, None)] * (2 * n) + [(None, None)] + [(0, None)] * B
    res = linprog(cost, A_ub=A, b_ub=-np.ones(B), bounds=bounds, method="highs")
    if res.status != 0:
        raise RuntimeError(f"MILES linear program failed: {res.message}")
    z = res.x
    w = z[:n] - z[n : 2 * n]
    w[np.abs(w) < 1e-10] = 0.0
    return w, float(z[2 * n])


class MILES(InstancePredictionMixin, BaseMILClassifier):
    """MILES: the MILES embedding with a sparse (1-norm) linear SVM (Chen, Bi & Wang 2006).

    Bags are embedded by :class:`MILESEmbedding` (similarity to every training
    instance); a 1-norm SVM selects a few instances ("concepts") with non-zero weight.
    The 1-norm SVM is solved either exactly as the paper's linear program with HiGHS
    (``solver="lp"``) or as liblinear's L1-regularised squared-hinge SVM
    (``solver="liblinear"``; faster on many bags, a slightly different loss).

    Parameters
    ----------
    sigma2 : "auto" or float, default="auto"
        Similarity width; see :class:`MILESEmbedding`.
    C : float, default=1.0
        Weight of the slacks against ``||w||_1`` (the paper's ``lambda`` is ``1 / C``
        up to the factor ``2 mu``).
    mu : float in (0, 1), default=0.5
        Relative weight of positive-bag slacks (``1 - mu`` for negative bags);
        0.5 as in the paper's experiments.
    solver : {"lp", "liblinear"}, default="lp"
    chunk_size : int, default=65536

    Attributes
    ----------
    embedding_ : MILESEmbedding
    coef_ : ndarray of shape (n_concepts,)
        Sparse weights of the concepts (training instances).
    intercept_ : float
    selected_concepts_ : ndarray of shape (n_selected,)
        Indices of concepts with non-zero weight.
    classes_ : ndarray of shape (2,)
    n_features_in_ : int

    Notes
    -----
    Instance classification follows Chen et al. (2006): for each selected concept
    ``k`` the instance ``j*`` of the bag nearest to it receives
    ``w_k s(x^k, B_i) / m_k`` (``m_k`` tied winners), so the bag score is exactly
    ``sum_j g(x_ij) + b``. ``decision_function_instances`` returns ``g(x_ij) + b / n_i``
    and an instance is a witness when that is positive, i.e. ``g > -b / n_i``: a bag is
    predicted positive only if at least one of its instances is.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.embedding import MILES
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> MILES().fit(bags, y).score(bags, y) > 0.8
    True
    """

    def __init__(
        self,
        sigma2: Any = "auto",
        C: float = 1.0,
        mu: float = 0.5,
        solver: str = "lp",
        chunk_size: int = DEFAULT_CHUNK,
    ) -> None:
        self.sigma2 = sigma2
        self.C = C
        self.mu = mu
        self.solver = solver
        self.chunk_size = chunk_size

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        C = check_positive_float(self.C, "C")
        if not isinstance(self.mu, (int, float)) or not 0 < self.mu < 1:
            raise ValueError(f"mu must be a number in (0, 1), got {self.mu!r}.")
        check_choice(self.solver, "solver", ("lp", "liblinear"))
        self.embedding_ = MILESEmbedding(sigma2=self.sigma2, chunk_size=self.chunk_size)
        M = self.embedding_.fit_transform(bags)
        if self.solver == "lp":
            w, b = _l1_svm_lp(M, y, C, float(self.mu))
        else:
            svm = LinearSVC(
                penalty="l1", loss="squared_hinge", dual=False, C=C,
                class_weight={1: 2.0 * self.mu, 0: 2.0 * (1.0 - self.mu)},
                random_state=0, max_iter=5000,
            ).fit(M, y)
            w, b = svm.coef_.ravel().copy(), float(svm.intercept_[0])
        self.coef_ = w
        self.intercept_ = b
        self.selected_concepts_ = np.flatnonzero(w)

    def _decision_function(self, bags: Bags) -> np.ndarray:
        sel = self.selected_concepts_
        if sel.size == 0:
            return np.full(bags.n_bags, self.intercept_)
        # only concepts with non-zero weight matter: embed against those alone
        S = self.embedding_._similarities(bags, self.embedding_.concepts_[sel])
        return S @ self.coef_[sel] + self.intercept_

    def _instance_g(self, bags: Bags) -> np.ndarray:
        sel = self.selected_concepts_
        return _miles_instance_scores(
            bags.instances, bags.offsets,
            np.ascontiguousarray(self.embedding_.concepts_[sel]),
            np.ascontiguousarray(self.coef_[sel]), self.embedding_.sigma2_,
        )

    def _decision_function_instances(self, bags: Bags) -> np.ndarray:
        return self._instance_g(bags) + self.intercept_ / np.repeat(bags.sizes, bags.sizes)
