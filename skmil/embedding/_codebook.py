"""Shared pieces of the codebook embeddings: vocabularies and the encoder + classifier base."""

from __future__ import annotations

import inspect
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import clone
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model._base import LinearClassifierMixin
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC, LinearSVR
from sklearn.utils import check_random_state

from .._inner_cv import C_GRID, best_index, cv_results, inner_cv_splits, inner_regression_splits
from .._parallel import openmp_threads
from .._proba import decision_scores, proba_available
from ..bags import Bags
from ..base import (
    BaseMILClassifier,
    BaseMILRegressor,
    BaseMILTransformer,
    _target_location_scale,
)
from ..utils._param_validation import HasMethods, Interval, Options, StrOptions

#: Above this many training instances ``codebook="auto"`` uses MiniBatchKMeans: full
#: k-means at 1e6 x 64 took 43 s and ~1 GB against 7-8 s and 37 MB.
AUTO_MINIBATCH_THRESHOLD = 50_000

_KMEANS_CODEBOOKS = ("auto", "kmeans", "minibatch")

#: Constraints shared by the encoders' parameters of the same name.
POSITIVE_INT = Interval(Integral, 1, None, closed="left")
POWER = [Interval(Real, 0, 1, closed="right"), None]
#: ``normalize`` of VLAD and Fisher vectors: "l2", or None/False for none.
L2_NORMALIZE = [StrOptions({"l2"}), Options(bool, {False}), None]
CHUNK_SIZE = [POSITIVE_INT]
#: ``n_jobs`` of the estimators that fit a k-means codebook.
N_JOBS = [Integral, None]
MAX_SAMPLES = [POSITIVE_INT, None]


def _check_enough(X: np.ndarray, k: int, name: str) -> None:
    if X.shape[0] < k:
        raise ValueError(
            f"{name}={k} is larger than the number of training instances ({X.shape[0]}); "
            f"lower {name}."
        )


def minibatch_kmeans(n_clusters: int, random_state: Any) -> MiniBatchKMeans:
    """The unfitted mini-batch k-means of the codebooks (``fit`` and ``partial_fit``)."""
    rs = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    return MiniBatchKMeans(n_clusters=n_clusters, random_state=rs, n_init=3, batch_size=4096)


def fit_kmeans(
    X: np.ndarray, n_clusters: int, codebook: str, random_state: Any, name: str = "n_clusters",
    n_jobs: int | None = None,
) -> np.ndarray:
    """k-means centres ``(K, d)`` on training instances (MiniBatch for large N with 'auto').

    scikit-learn's k-means runs with ``n_jobs`` threads (skmil's meaning: 1 for None).
    """
    _check_enough(X, n_clusters, name)
    use_minibatch = codebook == "minibatch" or (
        codebook == "auto" and X.shape[0] > AUTO_MINIBATCH_THRESHOLD
    )
    if use_minibatch:
        km = minibatch_kmeans(n_clusters, random_state)
    else:
        rs = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        km = KMeans(n_clusters=n_clusters, random_state=rs, n_init=3)
    with openmp_threads(n_jobs):
        km.fit(X)
    return np.ascontiguousarray(km.cluster_centers_, dtype=np.float64)


def fit_diag_gmm(
    X: np.ndarray,
    n_clusters: int,
    random_state: Any,
    reg_covar: float,
    max_samples: int | None,
    name: str = "n_clusters",
    n_jobs: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Diagonal GMM ``(weights, means, variances)`` by EM, on at most ``max_samples`` rows.

    The subsample (uniform, without replacement) bounds the cost of EM on huge data: the
    standard practice for Fisher-vector vocabularies, and irrelevant on small data.
    """
    _check_enough(X, n_clusters, name)
    rng = check_random_state(random_state)
    if max_samples is not None and X.shape[0] > max_samples:
        X = X[np.sort(rng.choice(X.shape[0], max_samples, replace=False))]
    gmm = GaussianMixture(
        n_components=n_clusters,
        covariance_type="diag",
        reg_covar=reg_covar,
        random_state=rng.randint(np.iinfo(np.int32).max),
        max_iter=100,
    )
    with openmp_threads(n_jobs):  # its k-means initialisation
        gmm.fit(X)
    # guard against collapsed components: floor the variances relative to the data's
    floor = max(reg_covar, 1e-10) * max(float(np.mean(np.var(X, axis=0))), 1e-12)
    variances = np.maximum(gmm.covariances_, floor)
    weights = np.maximum(gmm.weights_, 1e-12)
    weights = weights / weights.sum()
    return weights, np.ascontiguousarray(gmm.means_), np.ascontiguousarray(variances)


#: Candidate sizes for ``n_clusters="auto"`` (BIC) and ``n_clusters="cv"``.
AUTO_SIZES = (1, 2, 4, 8, 16)
#: Instances (uniform subsample) on which the BIC of each candidate is computed.
AUTO_SAMPLES = 20_000


def select_size_bic(X: np.ndarray, random_state: Any, reg_covar: float = 1e-6,
                    n_jobs: int | None = None) -> int:
    """Codebook size by the BIC of a diagonal GMM over :data:`AUTO_SIZES`.

    BIC trades the likelihood of the training instances against the ``K (2d + 1)``
    parameters, so small training sets (hundreds of instances in hundreds of
    dimensions) get a small vocabulary and large ones a larger one. Candidates with
    fewer than ``2 d`` instances per component are skipped (their diagonal variances
    cannot be estimated).
    """
    rng = check_random_state(random_state)
    if X.shape[0] > AUTO_SAMPLES:
        X = X[np.sort(rng.choice(X.shape[0], AUTO_SAMPLES, replace=False))]
    n, d = X.shape
    seed = rng.randint(np.iinfo(np.int32).max)
    best_k, best_bic = 1, np.inf
    for k in AUTO_SIZES:
        if k > 1 and n < 2 * d * k:
            break
        gmm = GaussianMixture(k, covariance_type="diag", reg_covar=reg_covar,
                              random_state=seed, max_iter=100)
        with openmp_threads(n_jobs):  # its k-means initialisation
            gmm.fit(X)
        bic = gmm.bic(X)
        if bic < best_bic:
            best_k, best_bic = k, bic
    return best_k


def resolve_size(value: Any, X: np.ndarray, random_state: Any,
                 n_jobs: int | None = None) -> int:
    """``n_clusters`` as a number: an int as it is, ``"auto"`` by :func:`select_size_bic`."""
    if isinstance(value, str):
        return select_size_bic(X, random_state, n_jobs=n_jobs)
    return int(value)


def l2_normalize(normalize: Any) -> bool:
    """Whether a VLAD/Fisher ``normalize`` value asks for row-wise L2 normalisation."""
    return normalize == "l2"


def linear_svc(self: Any) -> LinearSVC:
    """``LinearSVC(C=C)`` seeded by ``random_state`` (``C=1`` while ``C="cv"`` is open).

    The default classifier of MiVLAD, MiFV and BagOfWordsClassifier, bound as their
    ``_default_estimator``.
    """
    C = 1.0 if isinstance(self.C, str) else float(self.C)
    return LinearSVC(C=C, random_state=self.random_state)


def linear_svr(self: Any) -> TransformedTargetRegressor:
    """Least-squares ``LinearSVR(C=C)`` on standardised targets (``C=1`` while ``"cv"``).

    The default regressor of MiVLADRegressor and MiFVRegressor: liblinear's L2-regularised
    squared loss (``loss="squared_epsilon_insensitive"``, ``epsilon=0``; ridge regression
    with ``C`` as the inverse regularisation strength), fitted to the standardised
    targets so that ``C`` means the same at any target scale. Bound as their
    ``_default_estimator``.
    """
    C = 1.0 if isinstance(self.C, str) else float(self.C)
    svr = LinearSVR(C=C, loss="squared_epsilon_insensitive", epsilon=0.0, dual=False,
                    random_state=self.random_state)
    return TransformedTargetRegressor(regressor=svr, transformer=StandardScaler())


class _EmbeddingModel(metaclass=ABCMeta):
    """Base of the "bag encoder + scikit-learn estimator" MIL classifiers and regressors.

    A subclass names its encoder class in ``_encoder`` and lists, in its own
    keyword-only ``__init__``, every parameter of that encoder plus its own
    (:attr:`_model_constraints`: by default ``C`` and ``estimator``). Everything
    else follows from the encoder: the model's ``_parameter_constraints`` are the
    encoder's (with ``"cv"`` added to ``n_clusters``) plus its own, and the fitted
    encoder is built from the model's parameters of the same names
    (:meth:`_make_encoder`), so the encoder's parameter list is written once, in the
    encoder. The public parameters stay flat, which is what ``GridSearchCV`` over
    ``n_clusters`` or ``C`` needs. A ``standardize`` parameter, when the subclass has
    one, puts a ``StandardScaler`` between the encoder and the estimator (``scaler_``).

    ``n_clusters="cv"`` and ``C="cv"`` are chosen jointly by the inner CV of
    :mod:`skmil._inner_cv`: each candidate codebook is fitted once on all training
    instances (it never sees a label), the training bags are encoded once, and only the
    estimator is fitted on the inner training folds and scored on the held-out ones
    (bag accuracy for a classifier, negative mean squared error for a regressor).
    """

    #: The encoder class (a :class:`~skmil.base.BaseMILTransformer`).
    _encoder: ClassVar[type[BaseMILTransformer]]
    #: Candidate sizes of ``n_clusters="cv"``, smallest first.
    _cv_sizes: ClassVar[tuple[int, ...]] = AUTO_SIZES
    #: A candidate size needs at least this many training instances per cluster.
    _cv_min_per_cluster: ClassVar[int] = 10
    #: The model's own parameters, beside the encoder's.
    _model_constraints: ClassVar[dict] = {
        "C": [Interval(Real, 0, None, closed="neither"), StrOptions({"cv"})],
        "estimator": [HasMethods(["fit"]), None],
    }
    #: Where ``C`` lives in the default estimator (a parameter name for ``set_params``).
    _C_param: ClassVar[str] = "C"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        encoder = cls.__dict__.get("_encoder")
        if encoder is None:
            return
        own = set(inspect.signature(cls.__init__).parameters) - {"self"}
        needed = set(encoder._parameter_constraints) | set(cls._model_constraints)
        if own != needed:  # a subclass that forgot (or added) a parameter, caught at import
            raise TypeError(
                f"{cls.__name__}.__init__ must take exactly the parameters of "
                f"{encoder.__name__} and {sorted(cls._model_constraints)}: missing "
                f"{sorted(needed - own)}, extra {sorted(own - needed)}."
            )
        constraints = dict(encoder._parameter_constraints)
        if "n_clusters" in constraints:
            constraints["n_clusters"] = [*constraints["n_clusters"], StrOptions({"cv"})]
        cls._parameter_constraints = {**constraints, **cls._model_constraints}

    def _encoder_params(self) -> dict:
        return {name: getattr(self, name) for name in self._encoder._parameter_constraints}

    def _make_encoder(self, **overrides: Any) -> BaseMILTransformer:
        """An unfitted encoder from this model's parameters (``overrides`` win)."""
        return self._encoder(**{**self._encoder_params(), **overrides})

    @abstractmethod
    def _default_estimator(self) -> Any:
        """The estimator used when ``estimator`` is None (e.g. :func:`linear_svc`)."""

    def _resolved_estimator(self) -> Any:
        """The estimator ``fit`` will clone."""
        return self._default_estimator() if self.estimator is None else self.estimator

    def _standardize(self) -> bool:
        return bool(getattr(self, "standardize", False))

    @abstractmethod
    def _inner_splits(self, bags: Bags, y: np.ndarray):
        """The inner folds of ``n_clusters="cv"``/``C="cv"`` (None when none exist)."""

    @abstractmethod
    def _fold_score(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        """Held-out score of one inner fold, larger is better."""

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        cv_size = getattr(self, "n_clusters", None) == "cv"
        cv_c = self.estimator is None and isinstance(getattr(self, "C", None), str)
        self.__dict__.pop("cv_results_", None)  # from an earlier fit
        if cv_size or cv_c:
            self.encoder_, Z, params = self._search(bags, y, cv_size, cv_c)
        else:
            self.encoder_ = self._make_encoder()
            Z = self.encoder_.fit_transform(bags)
            params = {}
        estimator = clone(self._resolved_estimator())
        if "C" in params:
            estimator.set_params(**{self._C_param: params["C"]})
        if "C" in self._model_constraints:
            self.C_ = None if self.estimator is not None else float(
                estimator.get_params()[self._C_param])
        if hasattr(self.encoder_, "n_clusters_"):
            self.n_clusters_ = int(self.encoder_.n_clusters_)
        self.scaler_ = StandardScaler().fit(Z) if self._standardize() else None
        if self.scaler_ is not None:
            Z = self.scaler_.transform(Z)
        self.estimator_ = estimator.fit(Z, y)

    def _candidate_sizes(self, bags: Bags, cv_size: bool) -> list:
        """Codebook sizes of ``n_clusters="cv"`` ([None]: no size search)."""
        if not cv_size:
            return [None]
        n = bags.instances.shape[0]
        sizes = [k for k in self._cv_sizes if k == 1 or n >= k * self._cv_min_per_cluster]
        return sizes or [min(self._cv_sizes[0], n)]

    def _search(self, bags: Bags, y: np.ndarray, cv_size: bool, cv_c: bool):
        """``n_clusters`` and/or ``C`` by the inner CV (see the class docstring).

        Candidates are ordered smallest codebook first, then smallest ``C``, so ties
        (:func:`skmil._inner_cv.best_index`) go to the simpler model. ``cv_results_``
        is in ``GridSearchCV``'s format.
        """
        sizes = self._candidate_sizes(bags, cv_size)
        Cs = list(C_GRID) if cv_c else [None]
        splits = self._inner_splits(bags, y)
        if splits is None:  # nothing to validate on
            sizes, Cs = sizes[:1], ([1.0] if cv_c else Cs)
        candidates, scores, encoded = [], [], []
        for k in sizes:
            enc = self._make_encoder(**({} if k is None else {"n_clusters": k}))
            Z = enc.fit_transform(bags)
            encoded.append((enc, Z))
            for C in Cs:
                params = {name: v for name, v in (("n_clusters", k), ("C", C)) if v is not None}
                candidates.append(params)
                est = clone(self._resolved_estimator())
                if C is not None:
                    est.set_params(**{self._C_param: C})
                if self._standardize():  # fitted on each inner training fold
                    est = make_pipeline(StandardScaler(), est)
                fold = []
                with warnings.catch_warnings():
                    # large C on some candidates need not converge; only the chosen one
                    # is refitted on all training bags, and warns there if it must
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    for tr, te in splits or []:
                        pred = clone(est).fit(Z[tr], y[tr]).predict(Z[te])
                        fold.append(self._fold_score(y[te], pred))
                scores.append(fold or [0.0])
        if splits is not None:
            self.cv_results_ = cv_results(candidates, np.asarray(scores))
            best = best_index(self.cv_results_)
        else:
            best = 0
        enc, Z = encoded[best // len(Cs)]
        return enc, Z, candidates[best]

    def _embed(self, bags: Bags) -> np.ndarray:
        Z = self.encoder_._transform(bags)
        return Z if self.scaler_ is None else self.scaler_.transform(Z)


class EmbeddingClassifier(_EmbeddingModel, BaseMILClassifier):
    """Base of the "bag encoder + scikit-learn classifier" MIL classifiers.

    See :class:`_EmbeddingModel`; the inner CV uses skmil's stratified folds and bag
    accuracy. The encoding does not depend on the labels, so K >= 3 classes go to the
    wrapped classifier as they are (``_multi_class``): ``LinearSVC`` and ``SVC`` learn
    them one-vs-rest, and ``decision_function`` is theirs, ``(n_bags, K)``.
    """

    _multi_class = True

    def _inner_splits(self, bags: Bags, y: np.ndarray):
        return inner_cv_splits(bags, y, self.random_state)

    def _fold_score(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return float(np.mean(y_pred == y_true))

    def _decision_function(self, bags: Bags) -> np.ndarray:
        return decision_scores(self.estimator_, self._embed(bags))

    _has_proba = proba_available("estimator_", "_resolved_estimator")

    def _proba(self, X: Any) -> np.ndarray:
        bags = self._validate_bags(X, reset=False)
        return self.estimator_.predict_proba(self._embed(bags))

    def _is_linear(self) -> bool:
        est = getattr(self, "estimator_", None)
        if est is not None:
            coef = getattr(est, "coef_", None)
            return coef is not None and np.ndim(coef) == 2 and coef.shape[0] == 1
        return self.estimator is None or isinstance(self.estimator, LinearClassifierMixin)


class EmbeddingRegressor(_EmbeddingModel, BaseMILRegressor):
    """Base of the "bag encoder + scikit-learn regressor" MIL regressors.

    See :class:`_EmbeddingModel`; the inner CV uses skmil's folds for regressors
    (:func:`skmil._inner_cv.inner_regression_splits`) and the negative mean squared
    error.
    """

    def _inner_splits(self, bags: Bags, y: np.ndarray):
        return inner_regression_splits(bags, y, self.random_state)

    def _fold_score(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return -float(np.mean((y_pred - y_true) ** 2))

    def _predict(self, bags: Bags) -> np.ndarray:
        return self.estimator_.predict(self._embed(bags))

    def _search(self, bags: Bags, y: np.ndarray, cv_size: bool, cv_c: bool):
        """The generic search, with :func:`linear_svr`'s ``C`` scored in closed form.

        The default regressor solves ``min ||w||^2 / 2 + C ||y_s - A w||^2`` on the
        standardised targets ``y_s``, with ``A`` the encodings and a column of ones
        (liblinear penalises its bias as a weight of a constant feature), so ``w =
        (A'A + I / (2C))^-1 A'y_s``: one SVD of each fold's ``A`` gives the five ``C``
        at once. The same candidates, folds and scores as the generic search (which
        refits the regressor, a clone of a ``TransformedTargetRegressor``, 125 times on
        the default grid), up to liblinear's tolerance; only the chosen ``C`` is then
        fitted by liblinear.
        """
        if not (cv_c and self.estimator is None and type(self)._default_estimator is linear_svr):
            return super()._search(bags, y, cv_size, cv_c)
        sizes = self._candidate_sizes(bags, cv_size)
        splits = self._inner_splits(bags, y)
        if splits is None:
            enc = self._make_encoder(**({} if sizes[0] is None else {"n_clusters": sizes[0]}))
            return enc, enc.fit_transform(bags), {"C": 1.0}
        candidates, scores, encoded = [], [], []
        for k in sizes:
            enc = self._make_encoder(**({} if k is None else {"n_clusters": k}))
            Z = np.asarray(enc.fit_transform(bags), dtype=np.float64)
            encoded.append((enc, Z))
            fold_scores = np.empty((len(C_GRID), len(splits)))
            for f, (tr, te) in enumerate(splits):
                A, B = Z[tr], Z[te]
                if self._standardize():
                    scaler = StandardScaler().fit(A)
                    A, B = scaler.transform(A), scaler.transform(B)
                A = np.column_stack([A, np.ones(A.shape[0])])
                B = np.column_stack([B, np.ones(B.shape[0])])
                mean, std = _target_location_scale(y[tr])
                U, sv, Vt = np.linalg.svd(A, full_matrices=False)
                proj = U.T @ ((y[tr] - mean) / std)
                for i, C in enumerate(C_GRID):
                    w = Vt.T @ (sv / (sv ** 2 + 1.0 / (2.0 * C)) * proj)
                    pred = mean + std * (B @ w)
                    fold_scores[i, f] = -float(np.mean((pred - y[te]) ** 2))
            for i, C in enumerate(C_GRID):
                candidates.append({name: v for name, v in (("n_clusters", k), ("C", C))
                                   if v is not None})
                scores.append(fold_scores[i])
        self.cv_results_ = cv_results(candidates, np.asarray(scores))
        best = best_index(self.cv_results_)
        enc, Z = encoded[best // len(C_GRID)]
        return enc, Z, candidates[best]


__all__ = [
    "EmbeddingClassifier",
    "EmbeddingRegressor",
    "linear_svc",
    "linear_svr",
    "fit_diag_gmm",
    "fit_kmeans",
    "resolve_size",
    "select_size_bic",
]
