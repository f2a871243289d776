"""Shared pieces of the codebook embeddings: vocabularies, normalisations, classifier glue."""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model._base import LinearClassifierMixin
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC
from sklearn.utils import check_random_state

from .._proba import decision_scores, proba_available
from ..bags import Bags
from ..base import BaseMILClassifier

#: Above this many training instances ``codebook="auto"`` uses MiniBatchKMeans: full
#: k-means at 1e6 x 64 took 43 s and ~1 GB against 7-8 s and 37 MB (PERFORMANCE.md).
AUTO_MINIBATCH_THRESHOLD = 50_000

_KMEANS_CODEBOOKS = ("auto", "kmeans", "minibatch")


def check_positive_int(value: Any, name: str) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def check_positive_float(value: Any, name: str) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}.")
    return float(value)


def check_choice(value: Any, name: str, choices: tuple) -> Any:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}.")
    return value


def check_float_dtype(value: Any, name: str = "dtype") -> np.dtype:
    """``float64`` or ``float32`` (given as a string or a numpy type), as a ``np.dtype``."""
    try:
        dt = np.dtype(value)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError(f"{name} must be 'float64' or 'float32', got {value!r}.")
    return dt


def _check_enough(X: np.ndarray, k: int, name: str) -> None:
    if X.shape[0] < k:
        raise ValueError(
            f"{name}={k} is larger than the number of training instances ({X.shape[0]}); "
            f"lower {name}."
        )


def fit_kmeans(
    X: np.ndarray, n_clusters: int, codebook: str, random_state: Any, name: str = "n_clusters"
) -> np.ndarray:
    """k-means centres ``(K, d)`` on training instances (MiniBatch for large N with 'auto')."""
    _check_enough(X, n_clusters, name)
    rs = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    use_minibatch = codebook == "minibatch" or (
        codebook == "auto" and X.shape[0] > AUTO_MINIBATCH_THRESHOLD
    )
    if use_minibatch:
        km = MiniBatchKMeans(n_clusters=n_clusters, random_state=rs, n_init=3, batch_size=4096)
    else:
        km = KMeans(n_clusters=n_clusters, random_state=rs, n_init=3)
    km.fit(X)
    return np.ascontiguousarray(km.cluster_centers_, dtype=np.float64)


def fit_diag_gmm(
    X: np.ndarray,
    n_components: int,
    random_state: Any,
    reg_covar: float,
    max_samples: int | None,
    name: str = "n_components",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Diagonal GMM ``(weights, means, variances)`` by EM, on at most ``max_samples`` rows.

    The subsample (uniform, without replacement) bounds the cost of EM on huge data: the
    standard practice for Fisher-vector vocabularies, and irrelevant on small data.
    """
    _check_enough(X, n_components, name)
    rng = check_random_state(random_state)
    if max_samples is not None and X.shape[0] > max_samples:
        X = X[np.sort(rng.choice(X.shape[0], max_samples, replace=False))]
    gmm = GaussianMixture(
        n_components=n_components,
        covariance_type="diag",
        reg_covar=reg_covar,
        random_state=rng.randint(np.iinfo(np.int32).max),
        max_iter=100,
    ).fit(X)
    # guard against collapsed components: floor the variances relative to the data's
    floor = max(reg_covar, 1e-10) * max(float(np.mean(np.var(X, axis=0))), 1e-12)
    variances = np.maximum(gmm.covariances_, floor)
    weights = np.maximum(gmm.weights_, 1e-12)
    weights = weights / weights.sum()
    return weights, np.ascontiguousarray(gmm.means_), np.ascontiguousarray(variances)


#: Candidate sizes for ``n_clusters="auto"`` / ``n_components="auto"``.
AUTO_SIZES = (1, 2, 4, 8, 16)
#: Inner folds of the supervised size selection of the classifiers (``"auto"``).
AUTO_CV_FOLDS = 5
#: Repetitions of that inner CV (accuracy on ~100 bags is noisy; the classifier is cheap).
AUTO_CV_REPEATS = 2
#: ``C="auto"`` grid of the default LinearSVC (algorithms.md: C in 10^-2..10^3).
AUTO_C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)
#: Instances (uniform subsample) on which the BIC of each candidate is computed.
AUTO_SAMPLES = 20_000


def select_size_bic(X: np.ndarray, random_state: Any, reg_covar: float = 1e-6) -> int:
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
                              random_state=seed, max_iter=100).fit(X)
        bic = gmm.bic(X)
        if bic < best_bic:
            best_k, best_bic = k, bic
    return best_k


def resolve_size(value: Any, name: str, X: np.ndarray, random_state: Any) -> int:
    if value == "auto":
        return select_size_bic(X, random_state)
    return check_positive_int(value, name)


def check_power(power: Any) -> float | None:
    if power is None:
        return None
    if not isinstance(power, numbers.Real) or isinstance(power, bool) or not 0 < power <= 1:
        raise ValueError(f"power must be None or a number in (0, 1], got {power!r}.")
    return float(power)


class EmbeddingClassifierMixin:
    """Glue for 'embedding transformer + sklearn classifier' MIL classifiers.

    Subclasses define ``_make_encoder()`` returning an unfitted skmil transformer; the
    classifier is ``classifier`` (cloned) or ``LinearSVC(C=C)`` when it is None.
    """

    def _resolved_classifier(self):
        if self.classifier is None:
            if isinstance(self.C, str) and self.C == "auto":
                return LinearSVC()
            return LinearSVC(C=check_positive_float(self.C, "C"))
        if not hasattr(self.classifier, "fit"):
            raise TypeError(
                f"classifier must be a scikit-learn classifier (with fit), got {self.classifier!r}."
            )
        return self.classifier

    #: Name of the codebook-size parameter that accepts ``"auto"`` (None: no selection).
    _size_param: str | None = None
    #: Candidate sizes for that parameter's ``"auto"``.
    _auto_sizes: tuple = ()
    #: Values of that parameter meaning "choose the size by inner CV".
    _cv_size_values: tuple = ("cv",)
    #: A candidate size needs at least this many training instances per word.
    _auto_min_per_word: int = 10

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        size = getattr(self, self._size_param) if self._size_param else None
        auto_c = self.classifier is None and isinstance(self.C, str) and self.C == "auto"
        cv_size = isinstance(size, str) and size in self._cv_size_values
        if cv_size or auto_c:
            self.encoder_, Z, C, self.cv_results_ = self._select(bags, y, cv_size, auto_c)
            self.C_ = C
        else:
            self.encoder_ = self._make_encoder()
            Z = self.encoder_.fit_transform(bags)
            self.C_ = None if self.classifier is not None else check_positive_float(self.C, "C")
        clf = LinearSVC(C=self.C_) if self.classifier is None else self._resolved_classifier()
        self.classifier_ = clone(clf).fit(Z, y)

    def _select(self, bags: Bags, y: np.ndarray, auto_size: bool, auto_c: bool):
        """Codebook size and/or ``C`` by an inner stratified CV on the training bags.

        The codebook is unsupervised, so each candidate encoder is fitted once on all
        training instances (it never sees a label) and only the cheap classifier is
        cross-validated on the encodings (``AUTO_CV_FOLDS``-fold, ``AUTO_CV_REPEATS``
        times). Ties go to the smaller codebook, then to the smaller ``C`` (the
        simpler model).
        """
        n = bags.instances.shape[0]
        if auto_size:
            sizes = [k for k in self._auto_sizes if k == 1 or n >= k * self._auto_min_per_word]
            sizes = sizes or [min(self._auto_sizes[0], n)]
        else:
            sizes = [None]
        Cs = list(AUTO_C_GRID) if auto_c else [None]
        base = None if auto_c else (
            LinearSVC(C=check_positive_float(self.C, "C")) if self.classifier is None
            else self._resolved_classifier()
        )
        n_splits = min(AUTO_CV_FOLDS, int(np.bincount(y, minlength=2).min()))
        rng = check_random_state(self.random_state)
        cv_seed = rng.randint(np.iinfo(np.int32).max)
        folds = []
        if n_splits >= 2:
            for r in range(AUTO_CV_REPEATS):
                folds += list(StratifiedKFold(n_splits, shuffle=True,
                                              random_state=cv_seed + r).split(y, y))
        if not folds:  # a class with < 2 bags: nothing to validate on, use the defaults
            sizes, Cs = sizes[:1], ([1.0] if auto_c else Cs)
        results: dict = {}
        best = None
        for k in sizes:
            enc = self._make_encoder(k)
            Z = enc.fit_transform(bags)
            for C in Cs:
                clf = base if C is None else LinearSVC(C=C)
                with warnings.catch_warnings():
                    # large C on some candidates need not converge; only the chosen one matters
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    acc = [np.mean(clone(clf).fit(Z[tr], y[tr]).predict(Z[va]) == y[va])
                           for tr, va in folds]
                score = float(np.mean(acc)) if acc else 0.0
                results[(k, C)] = score
                if best is None or score > best[0] + 1e-12:
                    best = (score, enc, Z, C)
        C = best[3] if auto_c else (None if self.classifier is not None else float(self.C))
        return best[1], best[2], C, results

    def _embed(self, bags: Bags) -> np.ndarray:
        return self.encoder_._transform(bags)

    def _decision_function(self, bags: Bags) -> np.ndarray:
        return decision_scores(self.classifier_, self._embed(bags))

    _has_proba = proba_available("classifier_", "_resolved_classifier")

    def _proba(self, X: Any) -> np.ndarray:
        bags = self._validate_bags(X, reset=False)
        return self.classifier_.predict_proba(self._embed(bags))

    def _is_linear(self) -> bool:
        clf = getattr(self, "classifier_", None)
        if clf is not None:
            coef = getattr(clf, "coef_", None)
            return coef is not None and np.ndim(coef) == 2 and coef.shape[0] == 1
        return self.classifier is None or isinstance(self.classifier, LinearClassifierMixin)


__all__ = [
    "BaseMILClassifier",
    "EmbeddingClassifierMixin",
    "fit_kmeans",
    "fit_diag_gmm",
]
