"""Fisher-vector bag encoding and the miFV classifier (Wei, Wu & Zhou, IEEE TNNLS 2017)."""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
from sklearn.decomposition import PCA
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if

from .._kernels.encoders import DEFAULT_CHUNK, bag_chunks, fisher_encode, fisher_width
from ..bags import Bags
from ..base import BaseMILTransformer
from ..utils._param_validation import Interval, Options, RealNotInt, StrOptions
from ._codebook import (
    CHUNK_SIZE,
    L2_NORMALIZE,
    MAX_SAMPLES,
    N_JOBS,
    POSITIVE_INT,
    POWER,
    EmbeddingClassifier,
    EmbeddingRegressor,
    fit_diag_gmm,
    l2_normalize,
    linear_svc,
    linear_svr,
    resolve_size,
)
from ._streaming import DiagGMMStream, PartialFitMixin

__all__ = ["FisherVectorEncoder", "MiFV", "MiFVRegressor"]


class FisherVectorEncoder(PartialFitMixin, BaseMILTransformer):
    """Embed each bag as the Fisher vector of its instances under a diagonal GMM.

    A diagonal Gaussian mixture ``{w_k, mu_k, s_k^2}`` is fitted (EM) on the training
    instances, optionally after PCA. With responsibilities ``g_jk`` of the ``n_i``
    instances of bag ``i``, the encoding concatenates

    - ``G_w[k]   = sum_j (g_jk - w_k) / (n_i sqrt(w_k))`` (if ``include_weights``),
    - ``G_mu[k]  = sum_j g_jk (x_j - mu_k) / s_k / (n_i sqrt(w_k))``,
    - ``G_var[k] = sum_j g_jk ((x_j - mu_k)^2 / s_k^2 - 1) / (n_i sqrt(2 w_k))``,

    (``K (2d + 1)`` or ``2Kd`` numbers), then applies ``sign(z)|z|^power`` and L2
    normalisation: the "improved Fisher vector" that miFV uses.

    Responsibilities and gradient sums come from one numba pass over the flat instance
    array (whitened residuals formed once per instance and centre, each bag's row
    written once), so the extra memory is ``O(K d)`` besides the output. Finite inputs
    give finite vectors: whitened residuals are clipped at 1e100 standard deviations,
    so the log-densities of an instance far outside the training range (a test value
    of a feature that is nearly constant in training) stay finite and its
    responsibilities go to the nearest component.

    :meth:`partial_fit` learns the mixture one batch of whole bags at a time: EM on the
    first batch (which also fits ``pca`` and chooses ``n_clusters="auto"``), then
    incremental EM, each batch's sufficient statistics added to running totals
    (:mod:`skmil.dask` streams a data frame's partitions through it).

    Parameters
    ----------
    n_clusters : int or "auto", default="auto"
        Number of Gaussians ``K`` (mixture components). ``"auto"`` picks ``K`` in
        (1, 2, 4, 8, 16) by BIC on the (PCA-projected) training instances (at most
        20,000 of them), skipping sizes with fewer than ``2 * n_dims`` instances per
        component, whose diagonal variances could not be estimated. The chosen size is
        ``n_clusters_``.
    pca : None, int or float in (0, 1), default=None
        Optional PCA before the GMM: a number of components or a fraction of variance
        to keep. Fitted on the training instances.
    include_weights : bool, default=True
        Include the mixture-weight gradients ``G_w`` (``K`` extra columns).
    include_variances : bool, default=True
        Include the variance gradients ``G_var``.
    power : float in (0, 1] or None, default=0.5
        Signed power normalisation exponent.
    normalize : "l2", False or None, default="l2"
        ``"l2"`` L2-normalises each bag's vector (after the power step).
    reg_covar : float, default=1e-6
        Added to the GMM variances (sklearn's ``GaussianMixture``); variances are also
        floored relative to the data variance so no component collapses.
    max_samples : int or None, default=100_000
        Fit PCA and the GMM on a uniform subsample of at most this many instances
        (encoding always uses all of them). ``None`` uses all.
    random_state : int, RandomState instance or None, default=None
        Seeds the mixture, the PCA and the subsample.
    chunk_size : int, default=65536
        With ``pca``, instances are projected and encoded in chunks of whole bags of
        about this many instances, so the projected copy never holds more than one
        chunk. Without PCA the encoding is one pass over the instances that needs no
        copy and no chunks.
    dtype : {"float32", "float64"} or the numpy type, default="float32"
        Type of the output. The GMM, the responsibilities and the per-bag sums are
        float64 either way; ``"float32"`` only stores the normalised vectors at single
        precision, which halves the largest array of a miFV fit: ``K (2d + 1)``
        numbers per bag, twice the instance array for bags of ``K`` instances or fewer.
        The vectors are power- and L2-normalised, so single precision (relative
        rounding about 1e-7) changes no decision in practice (see :class:`MiFV`).
    n_jobs : int or None, default=None
        Threads of the GMM's k-means initialisation (scikit-learn's meaning: ``None``
        is 1 outside a joblib context, ``-1`` all processors).

    Attributes
    ----------
    n_clusters_ : int
    weights_ : ndarray of shape (n_clusters_chosen,)
    means_ : ndarray of shape (n_clusters_chosen, n_dims)
    variances_ : ndarray of shape (n_clusters_chosen, n_dims)
    pca_ : PCA or None
    n_features_in_ : int

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.embedding import FisherVectorEncoder
    >>> bags, y, _ = make_mil_classification(n_bags=20, n_features=3, random_state=0)
    >>> FisherVectorEncoder(n_clusters=2, random_state=0).fit_transform(bags).shape
    (20, 14)
    """

    _parameter_constraints: dict = {
        "n_clusters": [POSITIVE_INT, StrOptions({"auto"})],
        "pca": [None, POSITIVE_INT, Interval(RealNotInt, 0, 1, closed="neither")],
        "include_weights": ["boolean"],
        "include_variances": ["boolean"],
        "power": POWER,
        "normalize": L2_NORMALIZE,
        "reg_covar": [Interval(RealNotInt, 0, None, closed="neither")],
        "max_samples": MAX_SAMPLES,
        "random_state": ["random_state"],
        "chunk_size": CHUNK_SIZE,
        "dtype": [StrOptions({"float32", "float64"}), Options(type, {np.float32, np.float64}),
                  Options(np.dtype, {np.dtype(np.float32), np.dtype(np.float64)})],
        "n_jobs": N_JOBS,
    }

    def __init__(
        self,
        *,
        n_clusters: Any = "auto",
        pca: Any = None,
        include_weights: bool = True,
        include_variances: bool = True,
        power: float | None = 0.5,
        normalize: Any = "l2",
        reg_covar: float = 1e-6,
        max_samples: int | None = 100_000,
        random_state: Any = None,
        chunk_size: int = DEFAULT_CHUNK,
        dtype: Any = "float32",
        n_jobs: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.pca = pca
        self.include_weights = include_weights
        self.include_variances = include_variances
        self.power = power
        self.normalize = normalize
        self.reg_covar = reg_covar
        self.max_samples = max_samples
        self.random_state = random_state
        self.chunk_size = chunk_size
        self.dtype = dtype
        self.n_jobs = n_jobs

    def _fit(self, bags: Bags, y) -> None:
        self._stream = None
        pca = self.pca
        if isinstance(pca, Integral) and pca > bags.n_features:
            raise ValueError(
                f"pca={pca} is more components than the bags have features "
                f"({bags.n_features}); give at most {bags.n_features}, or a variance "
                "fraction in (0, 1)."
            )
        reg = float(self.reg_covar)
        max_samples = self.max_samples
        rng = check_random_state(self.random_state)
        X = bags.instances
        if max_samples is not None and X.shape[0] > max_samples:
            X = X[np.sort(rng.choice(X.shape[0], max_samples, replace=False))]
        if pca is not None:
            self.pca_ = PCA(n_components=pca, random_state=rng.randint(2**31 - 1)).fit(X)
            X = self.pca_.transform(X)
        else:
            self.pca_ = None
        k = resolve_size(self.n_clusters, X, rng, n_jobs=self.n_jobs)
        self.n_clusters_ = k
        self.weights_, self.means_, self.variances_ = fit_diag_gmm(X, k, rng, reg, None,
                                                                      n_jobs=self.n_jobs)

    def _partial_fit(self, bags: Bags, first: bool) -> None:
        if first:  # EM (and PCA, n_clusters="auto") on the first batch, as fit
            self._fit(bags, None)
            self._stream = DiagGMMStream(self.weights_, self.means_, self.variances_,
                                         float(self.reg_covar))
        X = bags.instances if self.pca_ is None else self.pca_.transform(bags.instances)
        self._stream.add(X)
        s = self._stream
        self.weights_, self.means_, self.variances_ = s.weights, s.means, s.variances

    def _raw(self, bags: Bags, normalize: bool = False) -> np.ndarray:
        opts = {"include_weights": bool(self.include_weights), "include_means": True,
                "include_variances": bool(self.include_variances)}
        if normalize:  # each row normalised as soon as it is written
            opts.update(power=self.power, l2=l2_normalize(self.normalize))
        gmm = (self.weights_, self.means_, self.variances_)
        dtype = np.dtype(self.dtype)
        if self.pca_ is None:
            return fisher_encode(bags.instances, bags.offsets, *gmm, **opts, dtype=dtype)
        width = fisher_width(*self.means_.shape, opts["include_weights"],
                             opts["include_variances"])
        out = np.empty((bags.n_bags, width), dtype=dtype)
        X, offsets = bags.instances, bags.offsets
        for b0, b1 in bag_chunks(offsets, self.chunk_size):
            s, e = offsets[b0], offsets[b1]
            fisher_encode(np.ascontiguousarray(self.pca_.transform(X[s:e])),
                          offsets[b0:b1 + 1] - s, *gmm, **opts, out=out[b0:b1])
        return out

    def _transform(self, bags: Bags) -> np.ndarray:
        return self._raw(bags, normalize=True)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output names ``w{k}``, ``mu{k}_{feature}``, ``var{k}_{feature}`` in column order.

        With ``pca`` the features are the principal components ``pc{j}``.

        Parameters
        ----------
        input_features : array-like of str, optional
            Names of the input features (default ``f{j}``, or ``feature_names_in_``).

        Returns
        -------
        names : ndarray of str
            One name per output column, in column order.
        """
        if self.pca_ is not None:
            feats = [f"pc{j}" for j in range(self.means_.shape[1])]
        elif input_features is not None:
            feats = [str(f) for f in input_features]
        elif hasattr(self, "feature_names_in_"):
            feats = list(self.feature_names_in_)
        else:
            feats = [f"f{j}" for j in range(self.n_features_in_)]
        K = self.means_.shape[0]
        names = [f"w{k}" for k in range(K)] if self.include_weights else []
        names += [f"mu{k}_{f}" for k in range(K) for f in feats]
        if self.include_variances:
            names += [f"var{k}_{f}" for k in range(K) for f in feats]
        return np.asarray(names, dtype=object)


class MiFV(EmbeddingClassifier):
    """miFV: Fisher-vector bag encoding followed by a linear SVM (Wei, Wu & Zhou 2017).

    Bags are encoded by :class:`FisherVectorEncoder` (diagonal GMM, mean, variance and
    optionally weight gradients, power and L2 normalisation) and a linear classifier,
    by default ``LinearSVC(C=C)`` (the authors used LIBLINEAR), is trained on them.
    The parameters from ``n_clusters`` to ``n_jobs`` are :class:`FisherVectorEncoder`'s.

    Parameters
    ----------
    n_clusters : int, "auto" or "cv", default="cv"
        Number of mixture components. ``"cv"``: chosen in (1, 2, 4, 8, 16) by the inner
        cross-validation, as in :class:`MiVLAD`; ``"auto"`` is
        :class:`FisherVectorEncoder`'s label-free BIC choice.
    pca : None, int or float, default=None
        Optional PCA before the GMM (components or fraction of variance).
    include_weights : bool, default=True
        Include the mixture-weight gradients.
    include_variances : bool, default=True
        Include the variance gradients.
    power : float or None, default=0.5
        Signed power normalisation exponent.
    normalize : "l2", False or None, default="l2"
        L2 normalisation of each bag's vector.
    reg_covar : float, default=1e-6
        Added to the GMM variances.
    max_samples : int or None, default=100_000
        Most instances PCA and the GMM are fitted on.
    random_state : int, RandomState instance or None, default=None
        Seeds the mixture, the inner folds and the default ``LinearSVC``.
    chunk_size : int, default=65536
        Instances per encoding chunk with ``pca``.
    dtype : {"float32", "float64"}, default="float32"
        See :class:`FisherVectorEncoder`. ``"float32"`` halves the
        largest array of a fit (``K (2d + 1)`` values per bag); a classifier that trains
        on float32 without a copy (e.g. ``LogisticRegression``) keeps the saving, while
        ``LinearSVC`` converts to its own format either way.
    n_jobs : int or None, default=None
        Threads of the GMM's k-means initialisation.
    C : float or "cv", default=1.0
        Regularisation of the default ``LinearSVC`` (LIBLINEAR's default, as the
        authors used); ``"cv"``: chosen in (0.1, 1, 10, 100, 1000) by the inner CV.
    estimator : sklearn classifier or None, default=None
        ``None`` means ``LinearSVC(C=C)``.

    Attributes
    ----------
    encoder_ : FisherVectorEncoder
    estimator_ : fitted classifier
    n_clusters_ : int
    C_ : float or None
    cv_results_ : dict
        Only after an inner-CV choice (see :class:`MiVLAD`).
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int

    Notes
    -----
    No ``predict_instances``: power and L2 normalisation make the bag score
    non-additive over instances, so an instance score would only be a heuristic.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.embedding import MiFV
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> MiFV(n_clusters=3, random_state=0).fit(bags, y).score(bags, y) > 0.8
    True
    """

    _encoder = FisherVectorEncoder
    _default_estimator = linear_svc

    def __init__(
        self,
        *,
        n_clusters: Any = "cv",
        pca: Any = None,
        include_weights: bool = True,
        include_variances: bool = True,
        power: float | None = 0.5,
        normalize: Any = "l2",
        reg_covar: float = 1e-6,
        max_samples: int | None = 100_000,
        random_state: Any = None,
        chunk_size: int = DEFAULT_CHUNK,
        dtype: Any = "float32",
        n_jobs: int | None = None,
        C: Any = 1.0,
        estimator: Any = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.pca = pca
        self.include_weights = include_weights
        self.include_variances = include_variances
        self.power = power
        self.normalize = normalize
        self.reg_covar = reg_covar
        self.max_samples = max_samples
        self.random_state = random_state
        self.chunk_size = chunk_size
        self.dtype = dtype
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


class MiFVRegressor(EmbeddingRegressor):
    """miFV regression: Fisher-vector bag encoding followed by a linear regressor.

    The encoding of :class:`MiFV` (Wei, Wu & Zhou 2017: diagonal GMM, gradients, power and
    L2 normalisation) with a regressor in place of the linear SVM, for real-valued bag
    targets; by default least squares with an L2 penalty on the standardised targets, as
    in :class:`MiVLADRegressor`. The parameters from ``n_clusters`` to ``n_jobs`` are
    :class:`FisherVectorEncoder`'s.

    Parameters
    ----------
    n_clusters : int, "auto" or "cv", default="cv"
        Number of mixture components; ``"cv"``: chosen in (1, 2, 4, 8, 16) by the inner
        CV for regressors, jointly with ``C="cv"`` (see :class:`MiVLADRegressor`).
    pca : None, int or float, default=None
        Optional PCA before the GMM (components or fraction of variance).
    include_weights : bool, default=True
        Include the mixture-weight gradients.
    include_variances : bool, default=True
        Include the variance gradients.
    power : float or None, default=0.5
        Signed power normalisation exponent.
    normalize : "l2", False or None, default="l2"
        L2 normalisation of each bag's vector.
    reg_covar : float, default=1e-6
        Added to the GMM variances.
    max_samples : int or None, default=100_000
        Most instances PCA and the GMM are fitted on.
    random_state : int, RandomState instance or None, default=None
        Seeds the mixture, the inner folds and the default regressor.
    chunk_size : int, default=65536
        Instances per encoding chunk with ``pca``.
    dtype : {"float32", "float64"}, default="float32"
        See :class:`FisherVectorEncoder`.
    n_jobs : int or None, default=None
        Threads of the GMM's k-means initialisation.
    C : float or "cv", default="cv"
        Inverse L2 regularisation of the default regressor; ``"cv"``: chosen in
        (0.1, 1, 10, 100, 1000) by the inner CV (see :class:`MiVLADRegressor`).
    estimator : sklearn regressor or None, default=None
        ``None`` means the least-squares ``LinearSVR`` of :class:`MiVLADRegressor`.

    Attributes
    ----------
    encoder_ : FisherVectorEncoder
    estimator_ : fitted regressor
    n_clusters_ : int
    C_ : float or None
    cv_results_ : dict
        Only after an inner-CV choice (negative mean squared errors).
    n_features_in_ : int

    Examples
    --------
    >>> from skmil.datasets import make_mil_regression
    >>> from skmil.embedding import MiFVRegressor
    >>> bags, y, _ = make_mil_regression(n_bags=60, rule="sum", random_state=0)
    >>> MiFVRegressor(random_state=0).fit(bags, y).predict(bags[:2]).shape
    (2,)
    """

    _encoder = FisherVectorEncoder
    _default_estimator = linear_svr
    _C_param = "regressor__C"

    def __init__(
        self,
        *,
        n_clusters: Any = "cv",
        pca: Any = None,
        include_weights: bool = True,
        include_variances: bool = True,
        power: float | None = 0.5,
        normalize: Any = "l2",
        reg_covar: float = 1e-6,
        max_samples: int | None = 100_000,
        random_state: Any = None,
        chunk_size: int = DEFAULT_CHUNK,
        dtype: Any = "float32",
        n_jobs: int | None = None,
        C: Any = "cv",
        estimator: Any = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.pca = pca
        self.include_weights = include_weights
        self.include_variances = include_variances
        self.power = power
        self.normalize = normalize
        self.reg_covar = reg_covar
        self.max_samples = max_samples
        self.random_state = random_state
        self.chunk_size = chunk_size
        self.dtype = dtype
        self.n_jobs = n_jobs
        self.C = C
        self.estimator = estimator
