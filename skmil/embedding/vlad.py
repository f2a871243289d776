"""VLAD bag encoding and the miVLAD classifier (Wei, Wu & Zhou, IEEE TNNLS 2017)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if

from .._kernels.encoders import DEFAULT_CHUNK, vlad_encode
from ..bags import Bags
from ..base import BaseMILTransformer
from ..utils._param_validation import StrOptions
from ._codebook import (
    _KMEANS_CODEBOOKS,
    CHUNK_SIZE,
    L2_NORMALIZE,
    N_JOBS,
    POSITIVE_INT,
    POWER,
    EmbeddingClassifier,
    EmbeddingRegressor,
    fit_kmeans,
    l2_normalize,
    linear_svc,
    linear_svr,
    minibatch_kmeans,
    resolve_size,
)
from ._streaming import PartialFitMixin, update_kmeans

__all__ = ["VLADEncoder", "MiVLAD", "MiVLADRegressor"]


class VLADEncoder(PartialFitMixin, BaseMILTransformer):
    """Embed each bag as a VLAD vector: residual sums to a k-means codebook.

    A k-means codebook ``c_1..c_K`` is learned on all training instances. Each instance
    is assigned to its nearest centre, and bag ``i`` becomes the concatenation over
    ``k`` of ``v_k = sum_{j: NN(x_ij) = c_k} (x_ij - c_k)`` (``K * d`` numbers), followed
    by the signed power normalisation ``sign(v)|v|^power`` and row-wise L2
    normalisation, as in miVLAD.

    For small codebooks (``K * n_features <= 2048``) one numba pass over the flat
    instance array finds each instance's nearest centre and adds its residual to its
    bag's row; larger codebooks assign by one BLAS distance block per chunk of
    ~``chunk_size`` instances. Time and memory are linear in the number of instances.

    :meth:`partial_fit` learns the codebook one batch of whole bags at a time
    (:class:`~sklearn.cluster.MiniBatchKMeans`'s ``partial_fit``; ``n_clusters="auto"``
    is chosen on the first batch), for data that is never in memory at once
    (:mod:`skmil.dask`).

    Parameters
    ----------
    n_clusters : int or "auto", default="auto"
        Codebook size ``K`` (the output has ``K * n_features`` columns). ``"auto"``
        picks ``K`` in (1, 2, 4, 8, 16) by the BIC of a diagonal Gaussian mixture on
        the training instances (at most 20,000 of them), skipping sizes with fewer
        than ``2 * n_features`` instances per cluster: small training sets get a small
        codebook. The chosen size is ``n_clusters_``.
    codebook : {"auto", "kmeans", "minibatch"}, default="auto"
        ``KMeans`` or ``MiniBatchKMeans``; ``"auto"`` uses MiniBatchKMeans above
        50,000 training instances.
    power : float in (0, 1] or None, default=0.5
        Exponent of the signed power normalisation (0.5 = signed square root).
    normalize : "l2", False or None, default="l2"
        ``"l2"`` L2-normalises each bag's vector (after the power step); None or False
        leaves it as it is.
    random_state : int, RandomState instance or None, default=None
        Seeds the k-means codebook.
    chunk_size : int, default=65536
        Instances per BLAS block for large codebooks (bounds the extra memory; the
        small-codebook pass needs no blocks).
    n_jobs : int or None, default=None
        Threads of the k-means codebook fit and of the GMMs of ``n_clusters="auto"``
        (scikit-learn's meaning: ``None`` is 1 outside a joblib context, ``-1`` all
        processors).

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters_chosen, n_features)
    n_clusters_ : int
    n_features_in_ : int

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.embedding import VLADEncoder
    >>> bags, y, _ = make_mil_classification(n_bags=20, n_features=3, random_state=0)
    >>> VLADEncoder(n_clusters=4, random_state=0).fit_transform(bags).shape
    (20, 12)
    """

    _parameter_constraints: dict = {
        "n_clusters": [POSITIVE_INT, StrOptions({"auto"})],
        "codebook": [StrOptions(set(_KMEANS_CODEBOOKS))],
        "power": POWER,
        "normalize": L2_NORMALIZE,
        "random_state": ["random_state"],
        "chunk_size": CHUNK_SIZE,
        "n_jobs": N_JOBS,
    }

    def __init__(
        self,
        *,
        n_clusters: Any = "auto",
        codebook: str = "auto",
        power: float | None = 0.5,
        normalize: Any = "l2",
        random_state: Any = None,
        chunk_size: int = DEFAULT_CHUNK,
        n_jobs: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.codebook = codebook
        self.power = power
        self.normalize = normalize
        self.random_state = random_state
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs

    def _fit(self, bags: Bags, y) -> None:
        self._stream = None
        rng = check_random_state(self.random_state)
        k = resolve_size(self.n_clusters, bags.instances, rng, n_jobs=self.n_jobs)
        self.n_clusters_ = k
        self.cluster_centers_ = fit_kmeans(bags.instances, k, self.codebook, rng,
                                           n_jobs=self.n_jobs)

    def _partial_fit(self, bags: Bags, first: bool) -> None:
        if first:
            rng = check_random_state(self.random_state)
            self.n_clusters_ = resolve_size(self.n_clusters, bags.instances, rng,
                                            n_jobs=self.n_jobs)
            self._stream = minibatch_kmeans(self.n_clusters_, rng)
        self.cluster_centers_ = update_kmeans(self._stream, bags.instances, self.n_jobs)

    def _raw(self, bags: Bags) -> np.ndarray:
        return vlad_encode(bags.instances, bags.offsets, self.cluster_centers_, self.chunk_size)

    def _transform(self, bags: Bags) -> np.ndarray:
        return vlad_encode(bags.instances, bags.offsets, self.cluster_centers_,
                           self.chunk_size, self.power, l2_normalize(self.normalize))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output names ``vlad{k}_{feature}``, centre by centre.

        Parameters
        ----------
        input_features : array-like of str, optional
            Names of the input features (default ``feature_names_in_``, else ``f{j}``).

        Returns
        -------
        names : ndarray of str
            One name per output column, in column order.
        """
        if input_features is None:
            input_features = getattr(self, "feature_names_in_", None)
        if input_features is None:
            input_features = [f"f{j}" for j in range(self.n_features_in_)]
        return np.asarray(
            [f"vlad{k}_{f}" for k in range(self.cluster_centers_.shape[0]) for f in input_features],
            dtype=object,
        )


class MiVLAD(EmbeddingClassifier):
    """miVLAD: VLAD bag encoding followed by a linear SVM (Wei, Wu & Zhou 2017).

    Each bag is encoded by :class:`VLADEncoder` (k-means codebook, residual sums, signed
    square root, L2) and a linear classifier is trained on the encodings, by default
    ``LinearSVC(C=C)`` as the authors used LIBLINEAR. Fit and prediction are linear in
    the number of instances.

    Parameters
    ----------
    n_clusters : int, "auto" or "cv", default="cv"
        Codebook size. ``"cv"``: the ``K`` in (1, 2, 4, 8, 16) (at least 10 training
        instances per centre) with the best held-out bag accuracy in the inner
        cross-validation of :mod:`skmil._inner_cv` (5 stratified folds, seeded by
        ``random_state``); each candidate codebook is fitted once on all training
        instances (no labels), only the classifier is cross-validated. ``"auto"`` is
        :class:`VLADEncoder`'s label-free BIC choice. The chosen size is
        ``n_clusters_``.
    codebook : {"auto", "kmeans", "minibatch"}, default="auto"
        See :class:`VLADEncoder`.
    power : float or None, default=0.5
        Signed power normalisation exponent.
    normalize : "l2", False or None, default="l2"
        See :class:`VLADEncoder`.
    random_state : int, RandomState instance or None, default=None
        Seeds the codebook, the inner folds and the default ``LinearSVC``.
    chunk_size : int, default=65536
        See :class:`VLADEncoder`.
    n_jobs : int or None, default=None
        Threads of the k-means codebook fit.
    C : float or "cv", default=1.0
        Regularisation of the default ``LinearSVC`` (ignored when ``estimator`` is set);
        1.0 is LIBLINEAR's default, which the authors used. ``"cv"`` picks ``C`` in
        (0.1, 1, 10, 100, 1000) by the same inner CV (jointly with ``n_clusters="cv"``).
    estimator : sklearn classifier or None, default=None
        Any classifier for the encodings (cloned); ``None`` means ``LinearSVC(C=C)``.
        For very many bags a classifier that does not copy its input
        (``SGDClassifier``, ``LogisticRegression``) needs less memory than liblinear.

    Attributes
    ----------
    encoder_ : VLADEncoder
    estimator_ : fitted classifier
    n_clusters_ : int
        The codebook size used.
    C_ : float or None
        The ``C`` of the default classifier (None with a user ``estimator``).
    cv_results_ : dict
        Only after an inner-CV choice: ``GridSearchCV``'s format, one candidate per
        (``n_clusters``, ``C``) pair searched.
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int

    Notes
    -----
    There is no ``predict_instances``: the power and L2 normalisations make the bag
    score a non-additive function of its instances, so any per-instance score would be
    a heuristic, not the model's.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.embedding import MiVLAD
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> MiVLAD(n_clusters=4, random_state=0).fit(bags, y).score(bags, y) > 0.8
    True
    """

    _encoder = VLADEncoder
    _default_estimator = linear_svc

    def __init__(
        self,
        *,
        n_clusters: Any = "cv",
        codebook: str = "auto",
        power: float | None = 0.5,
        normalize: Any = "l2",
        random_state: Any = None,
        chunk_size: int = DEFAULT_CHUNK,
        n_jobs: int | None = None,
        C: Any = 1.0,
        estimator: Any = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.codebook = codebook
        self.power = power
        self.normalize = normalize
        self.random_state = random_state
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs
        self.C = C
        self.estimator = estimator

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


class MiVLADRegressor(EmbeddingRegressor):
    """miVLAD regression: VLAD bag encoding followed by a linear regressor.

    The encoding of :class:`MiVLAD` (Wei, Wu & Zhou 2017: k-means codebook, residual
    sums, signed square root, L2) with a regressor in place of the linear SVM, for
    real-valued bag targets; by default least squares with an L2 penalty
    (``LinearSVR(loss="squared_epsilon_insensitive", epsilon=0)``, ridge regression in
    liblinear's form) on the standardised targets. Fit and prediction are linear in the
    number of instances.

    Parameters
    ----------
    n_clusters : int, "auto" or "cv", default="cv"
        Codebook size. ``"cv"``: the ``K`` in (1, 2, 4, 8, 16) (at least 10 training
        instances per centre) with the lowest held-out mean squared error in skmil's
        inner CV for regressors (5 folds, seeded by ``random_state``), jointly with
        ``C="cv"``; each candidate codebook is fitted once on all training instances.
        ``"auto"`` is :class:`VLADEncoder`'s label-free BIC choice.
    codebook : {"auto", "kmeans", "minibatch"}, default="auto"
        See :class:`VLADEncoder`.
    power : float or None, default=0.5
        Signed power normalisation exponent.
    normalize : "l2", False or None, default="l2"
        See :class:`VLADEncoder`.
    random_state : int, RandomState instance or None, default=None
        Seeds the codebook, the inner folds and the default regressor.
    chunk_size : int, default=65536
        See :class:`VLADEncoder`.
    n_jobs : int or None, default=None
        Threads of the k-means codebook fit.
    C : float or "cv", default="cv"
        Inverse L2 regularisation of the default regressor (ignored when ``estimator``
        is set). ``"cv"`` picks it in (0.1, 1, 10, 100, 1000) by the same inner CV: a
        regression target has no published setting to follow, and the right penalty
        grows with the encoding's width.
    estimator : sklearn regressor or None, default=None
        Any regressor for the encodings (cloned); ``None`` means the least-squares
        ``LinearSVR`` above.

    Attributes
    ----------
    encoder_ : VLADEncoder
    estimator_ : fitted regressor
    n_clusters_ : int
        The codebook size used.
    C_ : float or None
        The ``C`` of the default regressor (None with a user ``estimator``).
    cv_results_ : dict
        Only after an inner-CV choice: ``GridSearchCV``'s format (negative mean squared
        errors).
    n_features_in_ : int

    Examples
    --------
    >>> from skmil.datasets import make_mil_regression
    >>> from skmil.embedding import MiVLADRegressor
    >>> bags, y, _ = make_mil_regression(n_bags=60, rule="sum", random_state=0)
    >>> MiVLADRegressor(random_state=0).fit(bags, y).predict(bags[:2]).shape
    (2,)
    """

    _encoder = VLADEncoder
    _default_estimator = linear_svr
    _C_param = "regressor__C"

    def __init__(
        self,
        *,
        n_clusters: Any = "cv",
        codebook: str = "auto",
        power: float | None = 0.5,
        normalize: Any = "l2",
        random_state: Any = None,
        chunk_size: int = DEFAULT_CHUNK,
        n_jobs: int | None = None,
        C: Any = "cv",
        estimator: Any = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.codebook = codebook
        self.power = power
        self.normalize = normalize
        self.random_state = random_state
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs
        self.C = C
        self.estimator = estimator
