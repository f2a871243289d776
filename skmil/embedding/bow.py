"""Bag-of-words MIL embedding (Amores 2013, embedded-space paradigm) and its classifier."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model._base import LinearModel
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._kernels.encoders import (
    DEFAULT_CHUNK,
    _hard_counts,
    gmm_posteriors,
    kernel_posterior,
    nearest_centres,
    soft_histograms,
)
from ..bags import Bags
from ..base import (
    BaseMILTransformer,
    InstancePredictionMixin,
    InstanceRegressionMixin,
    MILTags,
)
from ..utils._param_validation import Interval, Options, Real, StrOptions
from ._codebook import (
    CHUNK_SIZE,
    MAX_SAMPLES,
    N_JOBS,
    POSITIVE_INT,
    EmbeddingClassifier,
    EmbeddingRegressor,
    fit_diag_gmm,
    fit_kmeans,
    linear_svc,
    linear_svr,
    minibatch_kmeans,
)
from ._streaming import PartialFitMixin, first_gmm, update_kmeans

__all__ = ["BagOfWords", "BagOfWordsClassifier", "BagOfWordsRegressor"]

_CODEBOOKS = ("auto", "kmeans", "minibatch", "gmm")
_ENCODINGS = ("hard", "soft", "presence")


class BagOfWords(PartialFitMixin, BaseMILTransformer):
    """Embed each bag as a histogram over a learned vocabulary of instance "words".

    A vocabulary of ``n_clusters`` words is learned on all training instances (k-means
    centres or a diagonal GMM). Each instance votes for words, and a bag becomes the
    vector of its votes:

    - ``"hard"``: one vote for the nearest centre (most probable component for a GMM);
    - ``"soft"``: the kernel-codebook posterior
      ``q_k(x) ∝ exp(-gamma ||x - c_k||^2)`` (GMM responsibilities for a GMM);
    - ``"presence"``: 1 if any instance of the bag votes (hard) for word ``k``, else 0
      (the CCE occupancy vector).

    Votes are then normalised: ``"l1"`` divides by the bag size (a histogram that sums
    to 1), ``"hellinger"`` takes the square root of that, ``"tfidf"`` multiplies the
    l1 histogram by ``idf_k = log((1 + B) / (1 + df_k)) + 1`` (``df_k`` = training bags
    using word ``k``; for soft votes the expected count ``sum_i min(1, counts_ik)``)
    and L2-normalises, ``None`` keeps raw counts. ``"presence"`` is never rescaled.

    :meth:`partial_fit` learns the vocabulary one batch of whole bags at a time
    (:class:`~sklearn.cluster.MiniBatchKMeans`'s ``partial_fit``, or incremental EM for
    ``codebook="gmm"``); a data-dependent ``gamma`` is resolved on the first batch, and
    tf-idf's document frequencies add up over the batches, each counted with the
    vocabulary of its batch (:mod:`skmil.dask` streams a data frame's partitions).

    Parameters
    ----------
    n_clusters : int, default=10
        Vocabulary size ``K`` (number of words).
    codebook : {"auto", "kmeans", "minibatch", "gmm"}, default="auto"
        ``"auto"`` is ``KMeans``, or ``MiniBatchKMeans`` above 50,000 instances.
    encoding : {"hard", "soft", "presence"}, default="hard"
    gamma : float, "median", "scale" or "auto", default="median"
        Kernel-codebook coefficient for ``encoding="soft"`` with k-means (unused
        otherwise). ``"median"`` is ``1 / m``, ``m`` the median squared distance from
        training instances to their nearest centre (the median heuristic, as in
        :class:`MILESEmbedding`); ``"scale"`` and ``"auto"`` are scikit-learn's,
        ``1 / (n_features * X.var())`` and ``1 / n_features``. The value used is
        ``gamma_``.
    normalize : {"l1", "hellinger", "tfidf"}, False or None, default="l1"
    max_samples : int or None, default=100_000
        The GMM codebook is fitted on at most this many (uniformly subsampled) instances.
    random_state : int, RandomState instance or None, default=None
        Seeds the k-means or GMM vocabulary and the subsample.
    chunk_size : int, default=65536
        Instances encoded per block, which bounds the memory of the distance block.
    n_jobs : int or None, default=None
        Threads of the k-means codebook fit, or of the GMM's k-means initialisation
        (scikit-learn's meaning: ``None`` is 1 outside a joblib context, ``-1`` all
        processors).

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        The words (k-means centres or GMM means).
    n_clusters_ : int
    weights_, variances_ : ndarray or None
        GMM parameters (``codebook="gmm"`` only).
    gamma_ : float or None
        Kernel coefficient used by soft k-means encoding.
    idf_ : ndarray of shape (n_clusters,) or None
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from skmil.embedding import BagOfWords
    >>> bags = [np.array([[0.0], [0.1], [5.0]]), np.array([[5.1]]), np.array([[0.2]])]
    >>> Z = BagOfWords(n_clusters=2, random_state=0).fit_transform(bags)
    >>> np.round(np.sort(Z[0]), 3)
    array([0.333, 0.667])
    """

    _parameter_constraints: dict = {
        "n_clusters": [POSITIVE_INT],
        "codebook": [StrOptions(set(_CODEBOOKS))],
        "encoding": [StrOptions(set(_ENCODINGS))],
        "gamma": [Interval(Real, 0, None, closed="neither"),
                  StrOptions({"median", "scale", "auto"})],
        "normalize": [StrOptions({"l1", "hellinger", "tfidf"}), Options(bool, {False}), None],
        "max_samples": MAX_SAMPLES,
        "random_state": ["random_state"],
        "chunk_size": CHUNK_SIZE,
        "n_jobs": N_JOBS,
    }

    def __init__(
        self,
        *,
        n_clusters: int = 10,
        codebook: str = "auto",
        encoding: str = "hard",
        gamma: Any = "median",
        normalize: Any = "l1",
        max_samples: int | None = 100_000,
        random_state: Any = None,
        chunk_size: int = DEFAULT_CHUNK,
        n_jobs: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.codebook = codebook
        self.encoding = encoding
        self.gamma = gamma
        self.normalize = normalize
        self.max_samples = max_samples
        self.random_state = random_state
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs

    def _normalization(self) -> str | None:
        return self.normalize or None  # False means none, like None

    def _fit(self, bags: Bags, y) -> None:
        self._stream = None
        k = int(self.n_clusters)
        X = bags.instances
        self.weights_ = self.variances_ = None
        self.gamma_ = None
        self.n_clusters_ = k
        if self.codebook == "gmm":
            self.weights_, self.cluster_centers_, self.variances_ = fit_diag_gmm(
                X, k, self.random_state, 1e-6, self.max_samples, n_jobs=self.n_jobs
            )
        else:
            self.cluster_centers_ = fit_kmeans(X, k, self.codebook, self.random_state,
                                               n_jobs=self.n_jobs)
            if self.encoding == "soft":
                self.gamma_ = self._resolve_gamma(X)
        self.idf_ = None
        if self._normalization() == "tfidf" and self.encoding != "presence":
            counts = self._counts(bags)
            df = np.minimum(counts, 1.0).sum(axis=0)
            self.idf_ = np.log((1.0 + bags.n_bags) / (1.0 + df)) + 1.0

    def _partial_fit(self, bags: Bags, first: bool) -> None:
        X, k = bags.instances, int(self.n_clusters)
        if first:
            self.n_clusters_ = k
            self.weights_ = self.variances_ = self.gamma_ = None
            self._bags_seen, self._bags_using = 0, np.zeros(k)
            if self.codebook == "gmm":
                self._stream = first_gmm(X, k, self.random_state, 1e-6, self.max_samples,
                                         n_jobs=self.n_jobs)
            else:
                self._stream = minibatch_kmeans(k, self.random_state)
        if self.codebook == "gmm":
            if not first:
                self._stream.add(X)
            s = self._stream
            self.weights_, self.cluster_centers_, self.variances_ = (s.weights, s.means,
                                                                    s.variances)
        else:
            self.cluster_centers_ = update_kmeans(self._stream, X, self.n_jobs)
            if first and self.encoding == "soft":
                self.gamma_ = self._resolve_gamma(X)
        self.idf_ = None
        if self._normalization() == "tfidf" and self.encoding != "presence":
            self._bags_seen += bags.n_bags
            self._bags_using += np.minimum(self._counts(bags), 1.0).sum(axis=0)
            self.idf_ = np.log((1.0 + self._bags_seen) / (1.0 + self._bags_using)) + 1.0

    def _resolve_gamma(self, X: np.ndarray) -> float:
        if not isinstance(self.gamma, str):
            return float(self.gamma)
        if self.gamma == "auto":
            return 1.0 / X.shape[1]
        if self.gamma == "scale":
            var = float(X.var())
            return 1.0 / (X.shape[1] * var) if var > 0 else 1.0
        from .._kernels.encoders import squared_distances

        C = self.cluster_centers_
        d2 = np.concatenate(
            [
                squared_distances(X[s : s + self.chunk_size], C).min(axis=1)
                for s in range(0, X.shape[0], self.chunk_size)
            ]
        )
        med = float(np.median(d2))
        # exp(-d2 / m): "median" means one over the median squared distance the kernel
        # is applied to, in every skmil estimator that offers it
        return 1.0 / med if med > 0 else 1.0

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
        # kernel_posterior takes the variance s2 of exp(-d2 / (2 s2)) = exp(-gamma d2)
        return kernel_posterior(self.cluster_centers_, 0.5 / self.gamma_)

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
        normalize = self._normalization()
        if normalize is None:
            return H
        H /= bags.sizes.astype(np.float64)[:, None]
        if normalize == "hellinger":
            np.sqrt(H, out=H)
        elif normalize == "tfidf":
            H *= self.idf_
            H /= np.maximum(np.linalg.norm(H, axis=1), 1e-12)[:, None]
        return H

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output names ``word{k}``, one per vocabulary word.

        Parameters
        ----------
        input_features : array-like of str, optional
            Unused (the words do not correspond to input features).

        Returns
        -------
        names : ndarray of str
            One name per output column, in column order.
        """
        check_is_fitted(self)
        return np.asarray([f"word{k}" for k in range(self.cluster_centers_.shape[0])],
                          dtype=object)


class BagOfWordsClassifier(InstancePredictionMixin, EmbeddingClassifier):
    """Bag-of-words MIL: a :class:`BagOfWords` embedding and a standard classifier.

    The parameters from ``n_clusters`` to ``n_jobs`` are :class:`BagOfWords`'s
    (``n_clusters`` also takes ``"cv"``).

    Parameters
    ----------
    n_clusters : int or "cv", default="cv"
        Vocabulary size. ``"cv"``: chosen in (5, 10, 20, 50, 100) (at least 2 training
        instances per word) by the inner cross-validation of :mod:`skmil._inner_cv`,
        jointly with ``C="cv"``; each vocabulary is fitted once on all training
        instances (no labels), only the classifier is cross-validated.
    codebook : {"auto", "kmeans", "minibatch", "gmm"}, default="auto"
        How the vocabulary is learned.
    encoding : {"hard", "soft", "presence"}, default="hard"
        How instances are assigned to words.
    gamma : float, "median", "scale" or "auto", default="median"
        Kernel-codebook coefficient of ``encoding="soft"``.
    normalize : {"l1", "hellinger", "tfidf"}, False or None, default="l1"
        Normalisation of each bag's histogram.
    max_samples : int or None, default=100_000
        Most instances the GMM codebook is fitted on.
    random_state : int, RandomState instance or None, default=None
        Seeds the vocabulary, the inner folds and the default ``LinearSVC``.
    chunk_size : int, default=65536
        Instances encoded per block.
    n_jobs : int or None, default=None
        Threads of the k-means codebook fit.
    C : float or "cv", default="cv"
        Regularisation of the default ``LinearSVC``. ``"cv"`` picks it in
        (0.1, 1, 10, 100, 1000) by the inner CV: l1 histograms have entries of order
        ``1/n_clusters``, so the ``C`` a linear SVM needs grows with the vocabulary and
        no fixed value suits every size (a small ``C`` underfits large vocabularies).
    estimator : sklearn classifier or None, default=None
        ``None`` means ``LinearSVC(C=C)``.

    Attributes
    ----------
    encoder_ : BagOfWords
    estimator_ : fitted classifier
    n_clusters_ : int
    C_ : float or None
    cv_results_ : dict
        Only after an inner-CV choice (``GridSearchCV``'s format).
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int

    Notes
    -----
    Instance predictions exist only where they are exact: a linear classifier
    (``coef_`` of one row) on ``"hard"`` or ``"soft"`` votes with ``normalize="l1"`` or
    ``None``. Then ``f(B) = b + sum_j w . q(x_j) / n`` (l1) or ``b + sum_j w . q(x_j)``
    (None), and ``decision_function_instances`` returns ``w . q(x) + b``, whose mean
    over the bag is the bag score (bag rule ``"mean"``), or ``w . q(x) + b / n_i``,
    whose sum is (bag rule ``"sum"``). Either way a bag is positive only if one of its
    instances is. With other settings ``hasattr(clf, "predict_instances")`` is False
    and ``MILTags.instance_scores`` is False.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.embedding import BagOfWordsClassifier
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> clf = BagOfWordsClassifier(n_clusters=5, random_state=0).fit(bags, y)
    >>> len(clf.predict_instances(bags)) == len(bags)
    True
    """

    _encoder = BagOfWords
    _default_estimator = linear_svc
    #: hard votes need no per-word statistics, so 2 training instances per word suffice
    _cv_sizes = (5, 10, 20, 50, 100)
    _cv_min_per_cluster = 2

    def __init__(
        self,
        *,
        n_clusters: Any = "cv",
        codebook: str = "auto",
        encoding: str = "hard",
        gamma: Any = "median",
        normalize: Any = "l1",
        max_samples: int | None = 100_000,
        random_state: Any = None,
        chunk_size: int = DEFAULT_CHUNK,
        n_jobs: int | None = None,
        C: Any = "cv",
        estimator: Any = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.codebook = codebook
        self.encoding = encoding
        self.gamma = gamma
        self.normalize = normalize
        self.max_samples = max_samples
        self.random_state = random_state
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs
        self.C = C
        self.estimator = estimator

    def _instances_exact(self) -> bool:
        return (
            self.encoding in ("hard", "soft")
            and (self.normalize or None) in ("l1", None)
            and self._is_linear()
        )

    def _bag_rule(self) -> str | None:
        return "mean" if self.normalize == "l1" else "sum"

    def __mil_tags__(self) -> MILTags:
        tags = super().__mil_tags__()
        if self._instances_exact():
            return tags
        return MILTags(pairwise=tags.pairwise)

    @available_if(_instances_exact)
    def decision_function_instances(self, X: Any) -> list[np.ndarray]:
        """Exact instance witness scores, one array per bag (see Notes).

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            The bags.

        Returns
        -------
        scores : list of ndarray of shape (n_instances_i,)
            Witness scores, one array per bag.
        """
        return super().decision_function_instances(X)

    @available_if(_instances_exact)
    def predict_instances(self, X: Any) -> list[np.ndarray]:
        """Instance labels: ``classes_[1]`` where the instance score is positive.

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

    def _decision_function_instances(self, bags: Bags) -> np.ndarray:
        w = np.asarray(self.estimator_.coef_, dtype=np.float64).ravel()
        b = float(np.ravel(self.estimator_.intercept_)[0]) if hasattr(
            self.estimator_, "intercept_") else 0.0
        s = self.encoder_._instance_votes(bags.instances) @ w
        if not self.normalize:
            return s + b / np.repeat(bags.sizes, bags.sizes)
        return s + b

    @available_if(EmbeddingClassifier._has_proba)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Bag probabilities from the classifier's ``predict_proba`` (not thresholded).

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            The bags.

        Returns
        -------
        proba : ndarray of shape (n_bags, n_classes)
            Probabilities of the classes, in the order of ``classes_``.
        """
        return self._proba(X)


class BagOfWordsRegressor(InstanceRegressionMixin, EmbeddingRegressor):
    """Bag-of-words MIL regression: a :class:`BagOfWords` embedding and a regressor.

    The embedding of :class:`BagOfWordsClassifier` with a regressor in place of the
    classifier, for real-valued bag targets; by default least squares with an L2 penalty
    on the standardised targets (see :class:`MiVLADRegressor`). The parameters from
    ``n_clusters`` to ``n_jobs`` are :class:`BagOfWords`'s (``n_clusters`` also takes
    ``"cv"``).

    Parameters
    ----------
    n_clusters : int or "cv", default="cv"
        Vocabulary size. ``"cv"``: chosen in (5, 10, 20, 50, 100) (at least 2 training
        instances per word) by skmil's inner CV for regressors (negative mean squared
        error), jointly with ``C="cv"``.
    codebook : {"auto", "kmeans", "minibatch", "gmm"}, default="auto"
        How the vocabulary is learned.
    encoding : {"hard", "soft", "presence"}, default="hard"
        How instances are assigned to words.
    gamma : float, "median", "scale" or "auto", default="median"
        Kernel-codebook coefficient of ``encoding="soft"``.
    normalize : {"l1", "hellinger", "tfidf"}, False or None, default="l1"
        Normalisation of each bag's histogram.
    max_samples : int or None, default=100_000
        Most instances the GMM codebook is fitted on.
    random_state : int, RandomState instance or None, default=None
        Seeds the vocabulary, the inner folds and the default regressor.
    chunk_size : int, default=65536
        Instances encoded per block.
    n_jobs : int or None, default=None
        Threads of the k-means codebook fit.
    C : float or "cv", default="cv"
        Inverse L2 regularisation of the default regressor; ``"cv"`` picks it in
        (0.1, 1, 10, 100, 1000) by the inner CV (l1 histograms have entries of order
        ``1/n_clusters``, so no fixed value suits every vocabulary size).
    estimator : sklearn regressor or None, default=None
        ``None`` means the least-squares ``LinearSVR`` of :class:`MiVLADRegressor`.

    Attributes
    ----------
    encoder_ : BagOfWords
    estimator_ : fitted regressor
    n_clusters_ : int
    C_ : float or None
    cv_results_ : dict
        Only after an inner-CV choice (negative mean squared errors).
    n_features_in_ : int

    Notes
    -----
    Instance predictions exist only where they are exact: a linear regressor (the
    default, or a scikit-learn linear model) on ``"hard"`` or ``"soft"`` votes with
    ``normalize="l1"``. A bag's histogram is then the mean of its instances' votes
    ``q(x)`` and the regressor is affine, so ``predict(B)`` is the mean over the bag of
    ``f(q(x))``; ``predict_instances`` returns those ``f(q(x))`` (bag rule ``"mean"``).
    With other settings ``hasattr(reg, "predict_instances")`` is False and
    ``MILTags.instance_scores`` is False.

    Examples
    --------
    >>> from skmil.datasets import make_mil_regression
    >>> from skmil.embedding import BagOfWordsRegressor
    >>> bags, y, _ = make_mil_regression(n_bags=60, rule="mean", random_state=0)
    >>> reg = BagOfWordsRegressor(n_clusters=10, random_state=0).fit(bags, y)
    >>> len(reg.predict_instances(bags)) == len(bags)
    True
    """

    _encoder = BagOfWords
    _default_estimator = linear_svr
    _C_param = "regressor__C"
    _cv_sizes = BagOfWordsClassifier._cv_sizes
    _cv_min_per_cluster = BagOfWordsClassifier._cv_min_per_cluster

    def __init__(
        self,
        *,
        n_clusters: Any = "cv",
        codebook: str = "auto",
        encoding: str = "hard",
        gamma: Any = "median",
        normalize: Any = "l1",
        max_samples: int | None = 100_000,
        random_state: Any = None,
        chunk_size: int = DEFAULT_CHUNK,
        n_jobs: int | None = None,
        C: Any = "cv",
        estimator: Any = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.codebook = codebook
        self.encoding = encoding
        self.gamma = gamma
        self.normalize = normalize
        self.max_samples = max_samples
        self.random_state = random_state
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs
        self.C = C
        self.estimator = estimator

    def _has_instance_targets(self) -> bool:
        affine = self.estimator is None or isinstance(self.estimator, LinearModel)
        return self.encoding in ("hard", "soft") and self.normalize == "l1" and affine

    def _bag_rule(self) -> str:
        return "mean"

    def _predict_instances(self, bags: Bags) -> np.ndarray:
        votes = self.encoder_._instance_votes(bags.instances)
        return np.asarray(self.estimator_.predict(votes), dtype=np.float64)
