"""MILDM: multi-instance learning with discriminative bag mapping (Wu et al. 2018)."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._kernels.encoders import DEFAULT_CHUNK
from .._kernels.segments import segment_argmax
from .._proba import decision_scores, proba_available
from ..bags import Bags
from ..base import BaseMILClassifier, BaseMILTransformer
from ..svm._common import user_instance_index
from ..utils._param_validation import HasMethods, Interval, StrOptions
from ._codebook import CHUNK_SIZE
from .miles import _GAMMA, MILESEmbedding

__all__ = ["MILDM", "MILDMEmbedding", "discriminative_scores"]

#: Concepts (columns) scored per block: the similarity block is ``n_bags x _SCORE_BLOCK``.
_SCORE_BLOCK = 4096


def _pair_weights(y: np.ndarray) -> np.ndarray:
    """The bag-pair matrix ``Q`` of the MILDM criterion, for 0/1 bag labels ``y``.

    ``Q[i, j] = -1 / n_same`` for two different bags with the same label (a must-link
    pair), ``1 / n_diff`` for two bags with different labels (a cannot-link pair) and 0
    on the diagonal, where ``n_same`` and ``n_diff`` count the ordered pairs of each
    kind.
    """
    y = np.asarray(y)
    same = y[:, None] == y[None, :]
    np.fill_diagonal(same, False)
    diff = y[:, None] != y[None, :]
    n_same, n_diff = int(same.sum()), int(diff.sum())
    Q = np.zeros((y.shape[0], y.shape[0]))
    if n_same:
        Q[same] = -1.0 / n_same
    if n_diff:
        Q[diff] = 1.0 / n_diff
    return Q


def discriminative_scores(S: np.ndarray, y: np.ndarray) -> np.ndarray:
    """MILDM's score of every candidate instance from its column of bag similarities.

    ``S[i, k]`` is the similarity of training bag ``i`` to candidate instance ``k``. The
    score of ``k`` is ``1/2 sum_{i, j} Q_ij (S[i, k] - S[j, k])^2``, where
    ``Q_ij = -1 / n_same`` for two different bags with the same label (a must-link
    pair), ``Q_ij = 1 / n_diff`` for two bags with different labels (a cannot-link
    pair) and ``Q_ii = 0``, with ``n_same`` and ``n_diff`` the numbers of ordered pairs
    of each kind. The score is large when bags of different labels map far apart and
    bags of the same label close together along that coordinate. It equals
    ``s_k' L s_k`` with the Laplacian ``L = diag(Q 1) - Q``, which is how it is computed
    (one matrix product).

    Parameters
    ----------
    S : ndarray of shape (n_bags, n_candidates)
        Bag-to-instance similarities.
    y : ndarray of shape (n_bags,)
        0/1 bag labels.

    Returns
    -------
    scores : ndarray of shape (n_candidates,)
        The criterion of each candidate; the pool is the highest-scoring ones.

    Examples
    --------
    >>> import numpy as np
    >>> from skmil.embedding.mildm import discriminative_scores
    >>> S = np.array([[1.0, 0.5], [0.9, 0.5], [0.0, 0.5], [0.1, 0.5]])
    >>> discriminative_scores(S, np.array([1, 1, 0, 0])).round(3)
    array([0.402, 0.   ])
    """
    Q = _pair_weights(y)
    L = np.diag(Q.sum(axis=1)) - Q
    return np.einsum("ik,ik->k", S, L @ S)


class MILDMEmbedding(BaseMILTransformer):
    """Map bags onto a discriminative pool of training instances (the MILDM mapping).

    Wu, Pan, Zhu, Zhang & Wu, "Multi-instance learning with discriminative bag
    mapping", IEEE TKDE 30(6), 2018 (first as "Direct discriminative bag mapping for
    multi-instance learning", AAAI 2016). Like MILES, a bag ``B`` is mapped to its
    similarities ``s(B, x) = max_j exp(-gamma ||b_j - x||^2)`` to a set of training
    instances; unlike MILES, the set (the *discriminative instance pool*) is chosen
    before any classifier, by a criterion on the mapped training bags: bags with the
    same label should map close together and bags with different labels far apart.
    The criterion is a sum over the pool's instances
    (:func:`discriminative_scores`), so the best pool of a given size is the
    highest-scoring instances. Supervised: ``fit`` needs the bag labels.

    Parameters
    ----------
    gamma : float, "median", "scale" or "auto", default="median"
        Similarity coefficient (the paper's ``1 / sigma^2``), resolved as in
        :class:`MILESEmbedding`: ``"median"`` is one over the median squared distance
        between training instances.
    n_features_to_select : int or "auto", default="auto"
        Size of the pool (with ``selection="global"``); ``"auto"`` is the number of
        training bags, the size the local selection yields. Capped at the number of
        training instances.
    selection : {"global", "local"}, default="global"
        ``"global"``: the highest-scoring training instances overall; ``"local"``: the
        highest-scoring instance of every training bag (one per bag).
    chunk_size : int, default=65536
        Instances per block of the distance computation (memory, not results).

    Attributes
    ----------
    concepts_ : ndarray of shape (n_selected, n_features)
        The selected instances (output columns), best first for ``"global"``.
    selected_ : ndarray of shape (n_selected,)
        Flat index of each selected instance in the training instances as given.
    scores_ : ndarray of shape (n_training_instances,)
        The criterion of every training instance, in the flat order of the training
        instances as given.
    gamma_ : float
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from skmil.embedding.mildm import MILDMEmbedding
    >>> bags = [np.array([[0.0], [5.0]]), np.array([[1.0]]), np.array([[5.0]]), np.array([[4.0]])]
    >>> emb = MILDMEmbedding(gamma=0.1, n_features_to_select=2).fit(bags, [1, 1, 0, 0])
    >>> emb.selected_  # the two instances near 0, the one farther from the negatives first
    array([0, 2])
    >>> emb.transform(bags).shape
    (4, 2)
    """

    _parameter_constraints: dict = {
        "gamma": _GAMMA,
        "n_features_to_select": [Interval(Integral, 1, None, closed="left"),
                                 StrOptions({"auto"})],
        "selection": [StrOptions({"global", "local"})],
        "chunk_size": CHUNK_SIZE,
    }

    def __init__(self, *, gamma: Any = "median", n_features_to_select: Any = "auto",
                 selection: str = "global", chunk_size: int = DEFAULT_CHUNK) -> None:
        self.gamma = gamma
        self.n_features_to_select = n_features_to_select
        self.selection = selection
        self.chunk_size = chunk_size

    def _fit(self, bags: Bags, y: Any) -> None:
        if y is None:
            raise ValueError(
                f"{type(self).__name__} selects instances by the bag labels: pass them, "
                "fit(X, y)."
            )
        classes, y01 = np.unique(np.asarray(y), return_inverse=True)
        if classes.shape[0] != 2:
            raise ValueError(
                f"{type(self).__name__} needs exactly two bag labels, got "
                f"{classes.shape[0]} ({list(classes)[:5]})."
            )
        self._fit_encoded(bags, y01.astype(np.int64).ravel())

    def _fit_encoded(self, bags: Bags, y: np.ndarray) -> None:
        """Fit on canonically ordered bags with 0/1 labels (``_train_order`` set)."""
        miles = MILESEmbedding(gamma=self.gamma, chunk_size=self.chunk_size)
        miles._train_order = self._train_order
        miles._fit(bags, None)
        self.gamma_ = miles.gamma_
        candidates = miles.concepts_  # every training instance
        # score the candidates block by block: at most n_bags x _SCORE_BLOCK similarities
        scores = np.empty(candidates.shape[0])
        for c0 in range(0, candidates.shape[0], _SCORE_BLOCK):
            c1 = min(c0 + _SCORE_BLOCK, candidates.shape[0])
            S = miles._similarities(bags, candidates[c0:c1])
            scores[c0:c1] = discriminative_scores(S, y)
        if self.selection == "local":
            chosen = segment_argmax(scores, bags.offsets)
        else:
            m = bags.n_bags if self.n_features_to_select == "auto" else int(
                self.n_features_to_select)
            m = min(m, candidates.shape[0])
            # best first; equal scores keep the canonical order, so the pool does not
            # depend on the order of the training bags
            chosen = np.argsort(-scores, kind="stable")[:m]
        self._miles = miles
        self.concepts_ = np.ascontiguousarray(candidates[chosen])
        flat = np.arange(bags.n_instances)
        user = user_instance_index(bags, self._train_order, flat)
        self.selected_ = user[chosen]
        self.scores_ = np.empty_like(scores)
        self.scores_[user] = scores

    @property
    def _n_features_out(self) -> int:
        return int(self.concepts_.shape[0])

    def _transform(self, bags: Bags) -> np.ndarray:
        return self._miles._similarities(bags, self.concepts_)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output names ``instance{k}``: the similarity to training instance ``selected_[k]``.

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
        return np.asarray([f"instance{k}" for k in self.selected_], dtype=object)


class MILDM(BaseMILClassifier):
    """MILDM: the discriminative bag mapping followed by a linear classifier.

    Wu, Pan, Zhu, Zhang & Wu, "Multi-instance learning with discriminative bag
    mapping", IEEE TKDE 30(6), 2018. Bags are mapped by :class:`MILDMEmbedding` (their
    similarities to a pool of training instances chosen, before any classifier, to
    separate the mapped bags of the two classes) and a linear SVM is trained on the
    mapping. As in MILES, a bag is positive when it lies close to some pool instances
    and far from others; no rule relates instance labels to the bag label, so the
    estimator gives no instance predictions.

    Parameters
    ----------
    gamma : float, "median", "scale" or "auto", default="median"
        Similarity coefficient; see :class:`MILDMEmbedding`.
    n_features_to_select : int or "auto", default="auto"
        Size of the instance pool (``"auto"``: the number of training bags).
    selection : {"global", "local"}, default="global"
        Pool selection; see :class:`MILDMEmbedding`.
    chunk_size : int, default=65536
        Instances per block of the distance computation (memory, not results).
    C : float, default=1.0
        ``C`` of the default ``LinearSVC`` (scikit-learn's default value). Ignored
        when ``estimator`` is given.
    estimator : sklearn classifier, default=None
        The classifier on the mapping; ``None`` means ``LinearSVC(C=C)``. Cloned.
    standardize : bool, default=False
        Standardise the mapping before the classifier. Off by default: every column is
        a similarity in ``[0, 1]`` already.
    random_state : int, RandomState instance or None, default=None
        Seeds ``LinearSVC``.

    Attributes
    ----------
    encoder_ : MILDMEmbedding
        The fitted mapping (``encoder_.selected_``: the pool).
    scaler_ : StandardScaler or None
    estimator_ : classifier
    classes_ : ndarray of shape (2,)
    n_features_in_ : int

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.embedding.mildm import MILDM
    >>> bags, y, _ = make_mil_classification(n_bags=60, random_state=0)
    >>> MILDM().fit(bags, y).score(bags, y) > 0.8
    True
    """

    _parameter_constraints: dict = {
        **MILDMEmbedding._parameter_constraints,
        "C": [Interval(Real, 0, None, closed="neither")],
        "estimator": [HasMethods(["fit"]), None],
        "standardize": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        gamma: Any = "median",
        n_features_to_select: Any = "auto",
        selection: str = "global",
        chunk_size: int = DEFAULT_CHUNK,
        C: float = 1.0,
        estimator: Any = None,
        standardize: bool = False,
        random_state: Any = None,
    ) -> None:
        self.gamma = gamma
        self.n_features_to_select = n_features_to_select
        self.selection = selection
        self.chunk_size = chunk_size
        self.C = C
        self.estimator = estimator
        self.standardize = standardize
        self.random_state = random_state

    def _resolved_estimator(self) -> Any:
        if self.estimator is not None:
            return self.estimator
        return LinearSVC(C=float(self.C), random_state=self.random_state)

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        enc = MILDMEmbedding(gamma=self.gamma, n_features_to_select=self.n_features_to_select,
                             selection=self.selection, chunk_size=self.chunk_size)
        enc._train_order = self._train_order
        enc.n_features_in_ = bags.n_features
        enc._fit_encoded(bags, y)
        self.encoder_ = enc
        Z = enc._transform(bags)
        self.scaler_ = StandardScaler().fit(Z) if self.standardize else None
        if self.scaler_ is not None:
            Z = self.scaler_.transform(Z)
        self.estimator_ = clone(self._resolved_estimator()).fit(Z, y)

    def _embed(self, bags: Bags) -> np.ndarray:
        Z = self.encoder_._transform(bags)
        return Z if self.scaler_ is None else self.scaler_.transform(Z)

    def _decision_function(self, bags: Bags) -> np.ndarray:
        return decision_scores(self.estimator_, self._embed(bags))

    _has_proba = proba_available("estimator_", "_resolved_estimator")

    @available_if(_has_proba)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Bag probabilities from the classifier's ``predict_proba``.

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
        return self.estimator_.predict_proba(self._embed(bags))
