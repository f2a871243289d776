"""``partial_fit`` for the codebook encoders: codebooks learned one batch of bags at a time.

A batch is any set of whole bags (a partition of a dask data frame, a file, a chunk of a
stream), so the instances never need to be in memory together. The codebooks are the
streaming versions of what ``fit`` learns:

* a k-means codebook is scikit-learn's :class:`~sklearn.cluster.MiniBatchKMeans` updated by
  ``partial_fit`` with each batch (Sculley 2010): every centre moves towards the mean of
  the batch's instances assigned to it, with a step of one over the centre's count;
* a diagonal-GMM codebook is fitted by EM on the first batch and then updated by
  incremental EM (Neal & Hinton 1998): each batch's responsibilities under the current
  mixture add their sufficient statistics (``sum r``, ``sum r x``, ``sum r x^2`` per
  component) to running totals, and the mixture is re-estimated from the totals.

What ``fit`` chooses from all the data (``n_clusters="auto"``, Fisher vectors' PCA, a
data-dependent ``gamma``) is chosen from the first batch, so the first batch should be a
fair sample of the data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.cluster import MiniBatchKMeans

from .._kernels.encoders import gmm_posteriors
from .._parallel import openmp_threads
from ..bags import Bags
from ._codebook import _check_enough, fit_diag_gmm

__all__ = ["DiagGMMStream", "PartialFitMixin", "first_gmm", "update_kmeans"]

#: Rows of a batch whose responsibilities are computed at a time.
_ROWS = 16384


def update_kmeans(km: MiniBatchKMeans, X: np.ndarray, n_jobs: int | None,
                  name: str = "n_clusters") -> np.ndarray:
    """One more batch into ``km``; returns the centres ``(K, d)``."""
    if not hasattr(km, "cluster_centers_"):
        _check_enough(X, km.n_clusters, name)
    with openmp_threads(n_jobs):
        km.partial_fit(X)
    return np.ascontiguousarray(km.cluster_centers_, dtype=np.float64)


class DiagGMMStream:
    """A diagonal GMM updated by incremental EM, one batch at a time.

    Parameters
    ----------
    weights, means, variances : ndarray
        The starting mixture (EM on the first batch, :func:`first_gmm`).
    reg_covar : float
        Added to every variance, as in scikit-learn's GaussianMixture.
    """

    def __init__(self, weights: np.ndarray, means: np.ndarray, variances: np.ndarray,
                 reg_covar: float) -> None:
        self.reg_covar = float(reg_covar)
        self.weights, self.means, self.variances = weights, means, variances
        k, d = means.shape
        self.s0 = np.zeros(k)
        self.s1 = np.zeros((k, d))
        self.s2 = np.zeros((k, d))

    def add(self, X: np.ndarray) -> None:
        """The batch's E-step under the current mixture, then the M-step from the totals."""
        for s in range(0, X.shape[0], _ROWS):
            Xc = np.ascontiguousarray(X[s : s + _ROWS], dtype=np.float64)
            R = gmm_posteriors(Xc, self.weights, self.means, self.variances)
            self.s0 += R.sum(axis=0)
            self.s1 += R.T @ Xc
            self.s2 += R.T @ (Xc * Xc)
        n = self.s0.sum()
        live = self.s0 > 1e-10 * n  # a component no instance reached keeps its place
        means = np.where(live[:, None], self.s1 / np.maximum(self.s0, 1e-300)[:, None],
                         self.means)
        second = self.s2 / np.maximum(self.s0, 1e-300)[:, None]
        variances = np.where(live[:, None], second - means * means, self.variances)
        mean_all = self.s1.sum(axis=0) / n
        spread = float(np.mean(self.s2.sum(axis=0) / n - mean_all * mean_all))
        floor = max(self.reg_covar, 1e-10) * max(spread, 1e-12)  # as fit_diag_gmm's
        self.means = np.ascontiguousarray(means)
        self.variances = np.ascontiguousarray(np.maximum(variances + self.reg_covar, floor))
        weights = np.maximum(self.s0 / n, 1e-12)
        self.weights = weights / weights.sum()


def first_gmm(X: np.ndarray, n_clusters: int, random_state: Any, reg_covar: float,
              max_samples: int | None, n_jobs: int | None = None) -> DiagGMMStream:
    """EM on the first batch (at most ``max_samples`` of its rows, as ``fit``), whose
    sufficient statistics (all rows) then start the running totals."""
    stream = DiagGMMStream(*fit_diag_gmm(X, n_clusters, random_state, reg_covar,
                                         max_samples, n_jobs=n_jobs), reg_covar)
    stream.add(X)
    return stream


class PartialFitMixin:
    """``partial_fit`` for a transformer that implements ``_partial_fit(bags, first)``.

    The first call (on an unfitted encoder, or after ``fit``) starts a new stream: it
    validates the parameters and records ``n_features_in_``; later calls continue it and
    check the features. ``fit`` ends any stream (its ``_fit`` sets ``_stream`` to None).
    """

    def partial_fit(self, X: Any, y: Any = None) -> Any:
        """Update the encoder with one more batch of bags.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            Whole bags: a bag must not be split across batches.
        y : None
            Ignored (the encoders are unsupervised).

        Returns
        -------
        self : object
            The encoder, ready to ``transform`` after every batch.
        """
        first = getattr(self, "_stream", None) is None
        if first:
            self._validate_params()
        bags: Bags = self._validate_bags(X, reset=first)
        # each batch in the canonical bag order, as fit sees its bags, so that what a
        # batch teaches does not depend on the order of its bags
        self._partial_fit(self._canonical_training_set(bags, None)[0], first)
        return self
