"""Kernel mean embeddings: each bag as the mean (or normalised sum) of an explicit map of
its instances."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np

from .._kernels.set_kernel import resolve_gamma
from ..bags import Bags
from ..base import BaseMILTransformer
from ..svm._approximation import bag_feature_sums, fit_kernel_map, set_kernel_normalisers
from ..utils._param_validation import Interval, StrOptions
from ._streaming import PartialFitMixin

__all__ = ["KernelMeanEmbedding"]


class KernelMeanEmbedding(PartialFitMixin, BaseMILTransformer):
    """Embed each bag as the mean of an explicit feature map of its instances.

    An instance kernel ``k`` (RBF or polynomial) is approximated by a map ``z`` with
    ``z(x)'z(x') ~ k(x, x')``: scikit-learn's :class:`~sklearn.kernel_approximation.Nystroem`
    (``n_components`` landmark instances drawn from the training instances) or
    :class:`~sklearn.kernel_approximation.RBFSampler` (random Fourier features). A bag
    ``B`` becomes ``sum_{x in B} z(x) / n(B)``: the inner product of two embeddings is
    then MI-Kernel's set kernel between the bags (:class:`~skmil.svm.MIKernelSVM` with
    ``kernel_approximation`` fits a linear SVM on exactly these vectors), so any linear
    model on the embedding is a set-kernel model. The instances are mapped in chunks and
    summed per bag, in time and memory linear in the instances.

    :meth:`partial_fit` draws the map from the first batch of bags (its landmarks, and
    ``gamma``'s data-dependent value); later batches change nothing, since the map does
    not depend on more data. It is there so that the embedding streams over a data frame
    like the codebook encoders (:mod:`skmil.dask`).

    Parameters
    ----------
    kernel_approximation : {"nystroem", "rff"}, default="nystroem"
        The map: Nyström landmarks (RBF or polynomial kernel) or random Fourier features
        (RBF kernel).
    n_components : int, default=256
        Dimension of the map, the number of output columns.
    kernel : {"rbf", "poly"}, default="rbf"
        Instance kernel: ``exp(-gamma ||x - x'||^2)`` or ``(gamma x.x' + coef0)^degree``.
    gamma : {"scale", "auto"} or float, default="scale"
        Kernel coefficient, scikit-learn's meaning, computed on the training instances:
        ``"scale"`` is ``1 / (n_features * var)``, ``"auto"`` ``1 / n_features``.
    degree : int, default=3
        Polynomial degree.
    coef0 : float, default=0.0
        Polynomial offset.
    normalize : {"averaging", "featurespace"} or None, default="averaging"
        ``n(B)``: ``"averaging"`` is the bag size (the kernel mean embedding),
        ``"featurespace"`` the exact ``sqrt(k_set(B, B))`` (unit-norm embeddings up to
        the map's approximation; the cosine of MI-Kernel's default), None 1 (the sum).
    random_state : int, RandomState instance or None, default=None
        Draws the map; None draws with seed 0, so that the embedding does not depend on
        the global random state.
    chunk_size : int, default=512
        Instances per block of the ``"featurespace"`` self-kernel computation.

    Attributes
    ----------
    kernel_map_ : Nystroem or RBFSampler
        The fitted map.
    gamma_ : float
        The kernel coefficient used.
    n_features_in_ : int

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.embedding import KernelMeanEmbedding
    >>> bags, y, _ = make_mil_classification(n_bags=20, n_features=4, random_state=0)
    >>> KernelMeanEmbedding(n_components=16, random_state=0).fit_transform(bags).shape
    (20, 16)
    """

    _parameter_constraints: dict = {
        "kernel_approximation": [StrOptions({"nystroem", "rff"})],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "kernel": [StrOptions({"rbf", "poly"})],
        "gamma": [Interval(Real, 0, None, closed="neither"), StrOptions({"scale", "auto"})],
        "degree": [Interval(Integral, 1, None, closed="left")],
        "coef0": [Interval(Real, None, None, closed="neither")],
        "normalize": [StrOptions({"averaging", "featurespace"}), None],
        "random_state": ["random_state"],
        "chunk_size": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        kernel_approximation: str = "nystroem",
        n_components: int = 256,
        kernel: str = "rbf",
        gamma: Any = "scale",
        degree: int = 3,
        coef0: float = 0.0,
        normalize: str | None = "averaging",
        random_state: Any = None,
        chunk_size: int = 512,
    ) -> None:
        self.kernel_approximation = kernel_approximation
        self.n_components = n_components
        self.kernel = kernel
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.normalize = normalize
        self.random_state = random_state
        self.chunk_size = chunk_size

    def _fit(self, bags: Bags, y) -> None:
        self._stream = None
        if self.kernel_approximation == "rff" and self.kernel != "rbf":
            raise ValueError(
                f"kernel_approximation='rff' approximates the RBF kernel; got "
                f"kernel={self.kernel!r}. Use kernel_approximation='nystroem'.")
        self.gamma_ = resolve_gamma(self.gamma, bags.instances)
        self.kernel_map_ = fit_kernel_map(
            self.kernel_approximation, bags.instances, kernel=self.kernel, gamma=self.gamma_,
            degree=self.degree, coef0=float(self.coef0), n_components=self.n_components,
            random_state=self.random_state)

    def _partial_fit(self, bags: Bags, first: bool) -> None:
        if first:
            self._fit(bags, None)
            self._stream = True

    def _transform(self, bags: Bags) -> np.ndarray:
        S = bag_feature_sums(self.kernel_map_, bags.instances, bags.offsets)
        S /= set_kernel_normalisers(
            bags, self.normalize, kernel=self.kernel, gamma=self.gamma_, degree=self.degree,
            coef0=float(self.coef0), p=1.0, block_size=self.chunk_size)[:, None]
        return S

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output names ``kme0 .. kme{m - 1}``, one per map component.

        Parameters
        ----------
        input_features : array-like of str, optional
            Ignored (the components mix every input feature).

        Returns
        -------
        names : ndarray of str
            One name per output column.
        """
        width = self.kernel_map_.transform(np.zeros((1, self.n_features_in_))).shape[1]
        return np.asarray([f"kme{j}" for j in range(width)], dtype=object)
