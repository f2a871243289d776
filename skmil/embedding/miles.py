"""MILES: multiple-instance learning via embedded instance selection (Chen, Bi & Wang 2006)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog
from sklearn.svm import LinearSVC
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import check_is_fitted

from .._kernels.bagpairs import instance_blocks
from .._kernels.encoders import DEFAULT_CHUNK, squared_distances
from .._kernels.fast_exp import exp_inplace
from .._numba import njit
from ..bags import Bags
from ..base import BaseMILClassifier, BaseMILTransformer, InstancePredictionMixin, MILTags
from ..utils._param_validation import Interval, Real, StrOptions
from ._codebook import CHUNK_SIZE

__all__ = ["MILESEmbedding", "MILES", "bag_concept_min_distances"]

#: Pairs used to estimate the median squared distance for ``gamma="median"``.
_SIGMA_PAIRS = 20_000

_GAMMA = [Interval(Real, 0, None, closed="neither"), StrOptions({"median", "scale", "auto"})]


def bag_concept_min_distances(
    X: np.ndarray,
    offsets: np.ndarray,
    concepts: np.ndarray,
    chunk_size: int = DEFAULT_CHUNK,
    concept_block: int = 2048,
) -> np.ndarray:
    """``min_j ||x_ij - c_k||^2`` for every bag ``i`` and concept ``k``: ``(B, n_concepts)``.

    Blocks of whole bags (rows; a larger bag in pieces, whose minima are combined)
    times blocks of concepts (columns) go through one GEMM each, then a segmented
    minimum over the bag rows; the largest temporary is ``chunk_size x concept_block``
    doubles, however many instances there are and however large a bag is.
    """
    n_bags = offsets.shape[0] - 1
    out = np.full((n_bags, concepts.shape[0]), np.inf)
    c_sq = np.einsum("ij,ij->i", concepts, concepts)
    # keep the distance block within ~chunk_size * 256 doubles
    rows = max(1, min(chunk_size, (chunk_size * 256) // max(concept_block, 1)))
    for s, e, b0, b1, seg in instance_blocks(offsets, rows):
        for c0 in range(0, concepts.shape[0], concept_block):
            c1 = min(c0 + concept_block, concepts.shape[0])
            D = squared_distances(X[s:e], concepts[c0:c1], c_sq[c0:c1])
            tile = out[b0:b1, c0:c1]
            np.minimum(tile, np.minimum.reduceat(D, seg[:-1], axis=0), out=tile)
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
    ``m_ik = max_j exp(-gamma ||x_ij - x^k||^2) = exp(-gamma min_j ||x_ij - x^k||^2)``,
    a vector with one column per training instance.

    Distances are computed in blocks (BLAS) with a segmented minimum over bags, so the
    extra memory is bounded; the output itself is ``(n_bags, n_training_instances)``.

    Parameters
    ----------
    gamma : float, "median", "scale" or "auto", default="median"
        Kernel coefficient (the paper's ``1 / sigma^2``). ``"median"`` is one over the
        median squared distance between 20,000 random pairs of training instances (the
        median heuristic, drawn with a fixed seed so it is a function of the data);
        ``"scale"`` and ``"auto"`` are scikit-learn's, ``1 / (n_features * X.var())``
        and ``1 / n_features``. The value used is ``gamma_``.
    chunk_size : int, default=65536
        Instances per block of the distance computation.

    Attributes
    ----------
    concepts_ : ndarray of shape (n_concepts, n_features)
        The training instances, bag by bag in skmil's canonical order of the training
        bags (which does not depend on the order they were given in).
    concept_bag_ : ndarray of shape (n_concepts,)
        The training bag each concept came from, as its index in the bags given to
        ``fit``.
    gamma_ : float
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from skmil.embedding import MILESEmbedding
    >>> bags = [np.array([[0.0], [3.0]]), np.array([[1.0]])]
    >>> MILESEmbedding(gamma=1.0).fit_transform(bags).round(3)
    array([[1.   , 1.   , 0.368],
           [0.368, 0.018, 1.   ]])
    """

    _parameter_constraints: dict = {"gamma": _GAMMA, "chunk_size": CHUNK_SIZE}

    def __init__(self, *, gamma: Any = "median", chunk_size: int = DEFAULT_CHUNK) -> None:
        self.gamma = gamma
        self.chunk_size = chunk_size

    def _fit(self, bags: Bags, y) -> None:
        # columns follow the canonical order of the training bags, so the embedding does
        # not depend on the order the bags were given in; concept_bag_ names each
        # column's bag in the user's numbering
        self.concepts_ = bags.instances.copy()
        self.concept_bag_ = self._train_order[bags.bag_index]
        X = self.concepts_
        if not isinstance(self.gamma, str):
            self.gamma_ = float(self.gamma)
        elif self.gamma == "auto":
            self.gamma_ = 1.0 / X.shape[1]
        elif self.gamma == "scale":
            var = float(X.var())
            self.gamma_ = 1.0 / (X.shape[1] * var) if var > 0 else 1.0
        else:
            # fixed seed over the canonically ordered instances: the heuristic is a
            # deterministic function of the training set, whatever the bags' order
            self.gamma_ = 1.0 / _median_sq_distance(bags.instances, np.random.RandomState(0))

    def _similarities(self, bags: Bags, concepts: np.ndarray) -> np.ndarray:
        D = bag_concept_min_distances(bags.instances, bags.offsets, concepts, self.chunk_size)
        return exp_inplace(D, -self.gamma_)

    def _transform(self, bags: Bags) -> np.ndarray:
        return self._similarities(bags, self.concepts_)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output names ``concept{k}``: the similarity to training instance ``k``.

        Parameters
        ----------
        input_features : array-like of str, optional
            Unused.

        Returns
        -------
        names : ndarray of str
            One name per output column, in column order.
        """
        check_is_fitted(self)
        return np.asarray([f"concept{k}" for k in range(self.concepts_.shape[0])], dtype=object)


@njit
def _miles_instance_scores(X, offsets, concepts, weights, gamma):
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
            share = weights[k] * np.exp(-gamma * best) / n_win
            for j in range(start, stop):
                if dist[j] == best:
                    g[j] += share
    return g


def _l1_svm_lp(M: np.ndarray, y: np.ndarray, C: float,
               class_cost: np.ndarray) -> tuple[np.ndarray, float]:
    """1-norm SVM by linear programming (HiGHS).

    minimise ``sum_k |w_k| + C * sum_i c_i xi_i`` with ``c_i = class_cost[y_i]``,
    subject to ``s_i (w . m_i + b) >= 1 - xi_i``, ``xi >= 0``; ``w = u - v`` with
    ``u, v >= 0``.
    """
    B, n = M.shape
    s = np.where(y == 1, 1.0, -1.0)
    cost = np.concatenate([np.ones(2 * n), [0.0], C * class_cost[y]])
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
    gamma : float, "median", "scale" or "auto", default="median"
        Similarity coefficient (the paper's ``1 / sigma^2``); see :class:`MILESEmbedding`.
    C : float, default=1.0
        Weight of the slacks against ``||w||_1`` (the paper's ``lambda`` is ``1 / C``
        up to the factor ``2 mu``).
    mu : float in (0, 1), default=0.5
        Relative weight of positive-bag slacks (``1 - mu`` for negative bags);
        0.5 as in the paper's experiments.
    class_weight : dict, "balanced" or None, default=None
        Further weights of the slacks per class (scikit-learn's meaning; keys are
        values of ``y``), multiplied with ``2 mu`` and ``2 (1 - mu)``.
    solver : {"lp", "liblinear"}, default="lp"
    chunk_size : int, default=65536
        Instances per block of the distance computation.

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
    The bag score is a sum over the bag's instances (Chen et al. 2006, eq. 11): for
    each selected concept ``k`` the instance ``j*`` of the bag nearest to it receives
    ``g_k = w_k s(x^k, B_i) / m_k`` (``m_k`` tied winners), and
    ``decision_function(B_i) = sum_j g(x_ij) + b``. ``instance_contributions`` returns
    the ``g(x_ij)``. ``decision_function_instances`` returns ``g(x_ij) + b / n_i``,
    the paper's instance rule (an instance is positive when ``g > -b / n_i``); these
    witness scores sum to the bag score (bag rule ``"sum"``), so a bag predicted
    positive has at least one positive instance, while a negative bag may hold some.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.embedding import MILES
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> MILES().fit(bags, y).score(bags, y) > 0.8
    True
    """

    _parameter_constraints: dict = {
        "gamma": _GAMMA,
        "C": [Interval(Real, 0, None, closed="neither")],
        "mu": [Interval(Real, 0, 1, closed="neither")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "solver": [StrOptions({"lp", "liblinear"})],
        "chunk_size": CHUNK_SIZE,
    }

    def __init__(
        self,
        *,
        gamma: Any = "median",
        C: float = 1.0,
        mu: float = 0.5,
        class_weight: Any = None,
        solver: str = "lp",
        chunk_size: int = DEFAULT_CHUNK,
    ) -> None:
        self.gamma = gamma
        self.C = C
        self.mu = mu
        self.class_weight = class_weight
        self.solver = solver
        self.chunk_size = chunk_size

    def _bag_rule(self) -> str:
        return "sum"

    def __mil_tags__(self) -> MILTags:
        tags = super().__mil_tags__()
        return MILTags(instance_scores=tags.instance_scores, bag_rule=tags.bag_rule,
                       instance_outputs=("instance_contributions",), pairwise=tags.pairwise)

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        C = float(self.C)
        mu = float(self.mu)
        cw = compute_class_weight(self.class_weight, classes=self.classes_,
                                  y=self.classes_[y]) if self.class_weight is not None else (
            np.ones(2))
        class_cost = np.array([2.0 * (1.0 - mu), 2.0 * mu]) * cw
        self.embedding_ = MILESEmbedding(gamma=self.gamma, chunk_size=self.chunk_size)
        self.embedding_._train_order = self._train_order
        self.embedding_._validate_params()
        self.embedding_.n_features_in_ = bags.n_features
        self.embedding_._fit(bags, None)
        M = self.embedding_._transform(bags)
        if self.solver == "lp":
            w, b = _l1_svm_lp(M, y, C, class_cost)
        else:
            svm = LinearSVC(
                penalty="l1", loss="squared_hinge", dual=False, C=C,
                class_weight={0: class_cost[0], 1: class_cost[1]},
                max_iter=5000,
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
            np.ascontiguousarray(self.coef_[sel]), self.embedding_.gamma_,
        )

    def _decision_function_instances(self, bags: Bags) -> np.ndarray:
        return self._instance_g(bags) + self.intercept_ / np.repeat(bags.sizes, bags.sizes)

    def instance_contributions(self, X: Any) -> list[np.ndarray]:
        """Each instance's share ``g(x_ij)`` of its bag's score, one array per bag.

        ``decision_function(X)[i] == instance_contributions(X)[i].sum() + intercept_``.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            The bags.

        Returns
        -------
        contributions : list of ndarray of shape (n_instances_i,)
            Each instance's share of its bag's score, one array per bag.
        """
        bags = self._validate_bags(X, reset=False)
        return bags.split(self._instance_g(bags))
