"""Bag-of-words MIL embedding (Amores 2013, embedded-space paradigm) and its classifier."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.metaestimators import available_if

from .._kernels.encoders import (
    DEFAULT_CHUNK,
    _hard_counts,
    gmm_posteriors,
    kernel_posterior,
    nearest_centres,
    soft_histograms,
)
from ..bags import Bags
from ..base import BaseMILClassifier, BaseMILTransformer, InstancePredictionMixin
from ._codebook import (
    EmbeddingClassifierMixin,
    check_choice,
    check_positive_float,
    check_positive_int,
    fit_diag_gmm,
    fit_kmeans,
)

__all__ = ["BagOfWords", "BagOfWordsClassifier"]

_CODEBOOKS = ("auto", "kmeans", "minibatch", "gmm")
_ENCODINGS = ("hard", "soft", "presence")
_NORMALIZE = ("l1", "hellinger", "tfidf", None)


class BagOfWords(BaseMILTransformer):
    """Embed each bag as a histogram over a learned vocabulary of instance "words".

    A vocabulary of ``n_words`` words is learned on all training instances (k-means
    centres or a diagonal GMM). Each instance votes for words, and a bag becomes the
    vector of its votes:

    - ``"hard"``: one vote for the nearest centre (most probable component for a GMM);
    - ``"soft"``: the kernel-codebook posterior
      ``q_k(x) ∝ exp(-||x - c_k||^2 / (2 sigma^2))`` (GMM responsibilities for a GMM);
    - ``"presence"``: 1 if any instance of the bag votes (hard) for word ``k``, else 0
      (the CCE occupancy vector).

    Votes are then normalised: ``"l1"`` divides by the bag size (a histogram that sums
    to 1), ``"hellinger"`` takes the square root of that, ``"tfidf"`` multiplies the
    l1 histogram by ``idf_k = log((1 + B) / (1 + df_k)) + 1`` (``df_k`` = training bags
    using word ``k``; for soft votes the expected count ``sum_i min(1, counts_ik)``)
    and L2-normalises, ``None`` keeps raw counts. ``"presence"`` is never rescaled.

    Parameters
    ----------
    n_words : int, default=10
        Vocabulary size ``K``.
    codebook : {"auto", "kmeans", "minibatch", "gmm"}, default="auto"
        ``"auto"`` is ``KMeans``, or ``MiniBatchKMeans`` above 50,000 instances.
    encoding : {"hard", "soft", "presence"}, default="hard"
    sigma : "auto" or float, default="auto"
        Kernel-codebook width for ``encoding="soft"`` with k-means; ``"auto"`` is the
        median distance from training instances to their nearest centre.
    normalize : {"l1", "hellinger", "tfidf"} or None, default="l1"
    max_samples : int or None, default=100_000
        The GMM codebook is fitted on at most this many (uniformly subsampled) instances.
    random_state : int, RandomState instance or None, default=None
    chunk_size : int, default=65536

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_words, n_features)
        The words (k-means centres or GMM means).
    weights_, variances_ : ndarray or None
        GMM parameters (``codebook="gmm"`` only).
    sigma_ : float or None
        Kernel width used by soft k-means encoding.
    idf_ : ndarray of shape (n_words,) or None
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from skmil.embedding import BagOfWords
    >>> bags = [np.array([[0.0], [0.1], [5.0]]), np.array([[5.1]]), np.array([[0.2]])]
    >>> Z = BagOfWords(n_words=2, random_state=0).fit_transform(bags)
    >>> np.round(np.sort(Z[0]), 3)
    array([0.333, 0.667])
    """

    _contract_test_params = {"n_words": 4}

    def __init__(
        self,
        n_words: int = 10,
        codebook: str = "auto",
        encoding: str = "hard",
        sigma: Any = "auto",
        normalize: str | None = "l1",
        max_samples: int | None = 100_000,
        random_state: Any = None,
        chunk_size: int = DEFAULT_CHUNK,
    ) -> None:
        self.n_words = n_words
        self.codebook = codebook
        self.encoding = encoding
        self.sigma = sigma
        self.normalize = normalize
        self.max_samples = max_samples
        self.random_state = random_state
        self.chunk_size = chunk_size

    def _fit(self, bags: Bags, y) -> None:
        k = check_positive_int(self.n_words, "n_words")
        check_choice(self.codebook, "codebook", _CODEBOOKS)
        check_choice(self.encoding, "encoding", _ENCODINGS)
        check_choice(self.normalize, "normalize", _NORMALIZE)
        check_positive_int(self.chunk_size, "chunk_size")
        if self.sigma != "auto":
            check_positive_float(self.sigma, "sigma")
        X = bags.instances
        self.weights_ = self.variances_ = None
        self.sigma_ = None
        if self.codebook == "gmm":
            max_samples = None if self.max_samples is None else check_positive_int(
                self.max_samples, "max_samples"
            )
            self.weights_, self.cluster_centers_, self.variances_ = fit_diag_gmm(
                X, k, self.random_state, 1e-6, max_samples, name="n_words"
            )
        else:
            self.cluster_centers_ = fit_kmeans(
                X, k, self.codebook, self.random_state, name="n_words"
            )
            if self.encoding == "soft":
                if self.sigma == "auto":
                    self.sigma_ = self._median_nearest_distance(X)
                else:
                    self.sigma_ = float(self.sigma)
        self.idf_ = None
        if self.normalize == "tfidf" and self.encoding != "presence":
            counts = self._counts(bags)
            df = np.minimum(counts, 1.0).sum(axis=0)
            self.idf_ = np.log((1.0 + bags.n_bags) / (1.0 + df)) + 1.0

    def _median_nearest_distance(self, X: np.ndarray) -> float:
        from .._kernels.encoders import squared_distances

        C = self.cluster_centers_
        d2 = np.concatenate(
            [
                squared_distances(X[s : s + self.chunk_size], C).min(axis=1)
                for s in range(0, X.shape[0], self.chunk_size)
            ]
        )
        sigma = float(np.sqrt(np.median(d2)))
        return sigma if sigma > 0 else 1.0

    # --- per-instance votes -------------------------------------------------------
    def _hard_labels(self, X: np.ndarray) -> np.ndarray:
        if self.codebook == "gmm":
            out = np.empty(X.shape[0], dtype=np.int64)
            for s in range(0, X.shape[0], self.chunk_size):
                Q = gmm_posteriors(
                    X[s : s + self.chunk_size], self.weights_, self.cluster_centers_,
                    self.variances_,
                )
                out[s : s + self.chunk_size] = np.argmax(Q, axis=1)
            return out
        return nearest_centres(X, self.cluster_centers_, self.chunk_size)

    def _posterior_fn(self):
        if self.codebook == "gmm":
            w, m, v = self.weights_, self.cluster_centers_, self.variances_
            return lambda Xc: gmm_posteriors(Xc, w, m, v)
        return kernel_posterior(self.cluster_centers_, self.sigma_**2)

    def _instance_votes(self, X: np.ndarray) -> np.ndarray:
        """``(n, K)`` votes of individual instances (one-hot for hard encoding)."""
        K = self.cluster_centers_.shape[0]
        if self.encoding == "soft":
            return np.vstack(
                [self._posterior_fn()(X[s : s + self.chunk_size])
                 for s in range(0, X.shape[0], self.chunk_size)]
            ) if X.shape[0] else np.zeros((0, K))
        V = np.zeros((X.shape[0], K))
        V[np.arange(X.shape[0]), self._hard_labels(X)] = 1.0
        return V

    def _counts(self, bags: Bags) -> np.ndarray:
        K = self.cluster_centers_.shape[0]
        if self.encoding == "soft":
            return soft_histograms(
                bags.instances, bags.offsets, self._posterior_fn(), K, self.chunk_size
            )
        return _hard_counts(self._hard_labels(bags.instances), bags.offsets, K)

    def _transform(self, bags: Bags) -> np.ndarray:
        H = self._counts(bags)
        if self.encoding == "presence":
            return (H > 0).astype(np.float64)
        if self.normalize is None:
            return H
        H /= bags.sizes.astype(np.float64)[:, None]
        if self.normalize == "hellinger":
            np.sqrt(H, out=H)
        elif self.normalize == "tfidf":
            H *= self.idf_
            H /= np.maximum(np.linalg.norm(H, axis=1), 1e-12)[:, None]
        return H


class BagOfWordsClassifier(InstancePredictionMixin, EmbeddingClassifierMixin, BaseMILClassifier):
    """Bag-of-words MIL: a :class:`BagOfWords` embedding and a standard classifier.

    Parameters
    ----------
    n_words : int or "auto", default="auto"
        Vocabulary size. ``"auto"`` (or ``"cv"``): chosen in (5, 10, 20, 50, 100)
        (at least 2 training instances per word) by a 5-fold x 2 inner stratified CV
        of the classifier on the training bags, jointly with ``C="auto"``; each
        vocabulary is fitted once on all training instances (no labels).
    codebook : {"auto", "kmeans", "minibatch", "gmm"}, default="auto"
    encoding : {"hard", "soft", "presence"}, default="hard"
    sigma : "auto" or float, default="auto"
    normalize : {"l1", "hellinger", "tfidf"} or None, default="l1"
    max_samples : int or None, default=100_000
        See :class:`BagOfWords`.
    C : float or "auto", default="auto"
        Regularisation of the default ``LinearSVC``. ``"auto"`` picks it in
        10^-2..10^3 by the inner CV: l1 histograms have entries of order
        ``1/n_words``, so the ``C`` a linear SVM needs grows with the vocabulary and
        no fixed value suits every size (a small ``C`` underfits large vocabularies).
    classifier : sklearn classifier or None, default=None
        ``None`` means ``LinearSVC(C=C)``.
    random_state : int, RandomState instance or None, default=None
    chunk_size : int, default=65536

    Attributes
    ----------
    encoder_ : BagOfWords
    classifier_ : fitted classifier
    C_ : float or None
    cv_results_ : dict
        Only after an inner-CV choice: ``{(n_words or None, C or None): accuracy}``.
    classes_ : ndarray of shape (2,)
    n_features_in_ : int

    Notes
    -----
    Instance predictions exist only where they are exact: a linear classifier
    (``coef_`` of one row) on ``"hard"`` or ``"soft"`` votes with ``normalize="l1"`` or
    ``None``. Then ``f(B) = b + sum_j w . q(x_j) / n`` (l1) or ``b + sum_j w . q(x_j)``
    (None), and ``decision_function_instances`` returns ``w . q(x) + b`` (l1: the bag
    score is the mean of its instance scores) or ``w . q(x) + b / n_i`` (None: the bag
    score is their sum). Either way a bag is positive only if one of its instances is.
    With other settings ``hasattr(clf, "predict_instances")`` is False.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.embedding import BagOfWordsClassifier
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> clf = BagOfWordsClassifier(n_words=5, random_state=0).fit(bags, y)
    >>> len(clf.predict_instances(bags)) == len(bags)
    True
    """

    _contract_test_params = {"n_words": 4, "C": 1.0}
    _size_param = "n_words"
    #: algorithms.md §6 grid; hard votes need no per-word statistics, so 2 per word suffice.
    _auto_sizes = (5, 10, 20, 50, 100)
    _auto_min_per_word = 2
    _cv_size_values = ("auto", "cv")

    def __init__(
        self,
        n_words: Any = "auto",
        codebook: str = "auto",
        encoding: str = "hard",
        sigma: Any = "auto",
        normalize: str | None = "l1",
        max_samples: int | None = 100_000,
        C: Any = "auto",
        classifier: Any = None,
        random_state: Any = None,
        chunk_size: int = DEFAULT_CHUNK,
    ) -> None:
        self.n_words = n_words
        self.codebook = codebook
        self.encoding = encoding
        self.sigma = sigma
        self.normalize = normalize
        self.max_samples = max_samples
        self.C = C
        self.classifier = classifier
        self.random_state = random_state
        self.chunk_size = chunk_size

    def _make_encoder(self, size: Any = None) -> BagOfWords:
        return BagOfWords(
            n_words=self.n_words if size is None else size,
            codebook=self.codebook,
            encoding=self.encoding,
            sigma=self.sigma,
            normalize=self.normalize,
            max_samples=self.max_samples,
            random_state=self.random_state,
            chunk_size=self.chunk_size,
        )

    def _instances_exact(self) -> bool:
        return (
            self.encoding in ("hard", "soft")
            and self.normalize in ("l1", None)
            and self._is_linear()
        )

    @available_if(_instances_exact)
    def decision_function_instances(self, X: Any) -> list[np.ndarray]:
        """Exact instance contributions, one array per bag (see Notes)."""
        return super().decision_function_instances(X)

    @available_if(_instances_exact)
    def predict_instances(self, X: Any) -> list[np.ndarray]:
        """Instance labels: ``classes_[1]`` where the instance score is positive."""
        return super().predict_instances(X)

    def _decision_function_instances(self, bags: Bags) -> np.ndarray:
        w = np.asarray(self.classifier_.coef_, dtype=np.float64).ravel()
        b = float(np.ravel(self.classifier_.intercept_)[0]) if hasattr(
            self.classifier_, "intercept_") else 0.0
        s = self.encoder_._instance_votes(bags.instances) @ w
        if self.normalize is None:
            return s + b / np.repeat(bags.sizes, bags.sizes)
        return s + b

    @available_if(EmbeddingClassifierMixin._has_proba)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Bag probabilities from the classifier's ``predict_proba``."""
        return self._proba(X)
