"""Explicit feature maps that approximate an instance kernel (``kernel_approximation``).

An SVM with an RBF (or polynomial, sigmoid) kernel on ``N`` instances needs kernel
values between instances: ``O(N^2)`` of them, which is what makes mi-SVM with libsvm
take hours at 100,000 instances. A feature map ``z(x)`` with ``z(x)'z(x') ~ k(x, x')``
turns the kernel SVM into a linear one on ``z(x)``, which the primal solver fits in time
linear in ``N``. scikit-learn provides the maps: :class:`sklearn.kernel_approximation.Nystroem`
(the kernel's exact projection on ``n_components`` landmark instances drawn from the
training instances; any of the named kernels) and
:class:`sklearn.kernel_approximation.RBFSampler` (random Fourier features of the RBF
kernel, Rahimi & Recht 2007). Mean embeddings follow: the mean of ``z`` over a bag
approximates the bag's mean in the kernel's feature space, so MI-SVM's mean witnesses and
sMIL's positive bags keep their meaning, and the set kernels of MI-Kernel and mi-Graph
(sums of instance kernels over two bags, with or without weights) become inner products of
the bags' (weighted) sums of ``z``: a linear kernel on one vector per bag
(:func:`bag_feature_sums`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.kernel_approximation import Nystroem, RBFSampler
from sklearn.utils import check_random_state

from .._kernels.set_kernel import set_kernel_diag
from ..bags import Bags
from ..utils._param_validation import Integral, Interval, StrOptions

__all__ = ["KERNEL_APPROXIMATION_CONSTRAINT", "N_COMPONENTS_CONSTRAINT",
           "bag_feature_sums", "check_kernel_approximation", "check_self_kernel",
           "fit_kernel_map", "map_bags", "map_rows", "mapped_scores",
           "set_kernel_normalisers"]

KERNEL_APPROXIMATION_CONSTRAINT = [StrOptions({"nystroem", "rff"}), None]
N_COMPONENTS_CONSTRAINT = [Interval(Integral, 1, None, closed="left")]

#: Rows mapped at a time: the map's ``(rows, n_components)`` intermediates stay small.
_CHUNK = 16384


def check_kernel_approximation(estimator: Any, solvers: tuple = ("auto", "primal"),
                               method: str | None = None) -> None:
    """Refuse ``kernel_approximation`` (or the resolved ``method``) with a kernel or
    solver (not in ``solvers``) it cannot serve."""
    # mi-Graph's node kernel is the RBF kernel, without a ``kernel`` parameter
    method = estimator.kernel_approximation if method is None else method
    kernel = getattr(estimator, "kernel", "rbf")
    if method is None:
        return
    allowed = ("rbf",) if method == "rff" else ("rbf", "poly", "sigmoid")
    if kernel not in allowed:
        raise ValueError(
            f"kernel_approximation={method!r} approximates the kernels {list(allowed)}; "
            f"got kernel={kernel!r}. Use kernel='rbf', or kernel_approximation=None.")
    solver = getattr(estimator, "solver", "auto")
    if solver not in solvers:
        raise ValueError(
            f"kernel_approximation={method!r} fits the linear SVM on the mapped instances "
            f"with the primal solver; got solver={solver!r}. Use solver='auto'.")


def fit_kernel_map(method: str, X: np.ndarray, *, kernel: str, gamma: float, degree: int,
                   coef0: float, n_components: int, random_state: Any) -> Any:
    """The fitted map of ``method`` for the instance kernel, on training instances ``X``.

    ``random_state=None`` draws with seed 0, so that a fit does not depend on the
    global random state (skmil's models are deterministic unless given a seed).
    """
    rng = check_random_state(0 if random_state is None else random_state)
    if method == "rff":
        mapper = RBFSampler(gamma=gamma, n_components=n_components, random_state=rng)
    else:
        mapper = Nystroem(kernel=kernel, gamma=gamma, degree=degree, coef0=coef0,
                          n_components=min(n_components, X.shape[0]), random_state=rng)
    return mapper.fit(X)


def map_rows(mapper: Any, X: np.ndarray) -> np.ndarray:
    """``mapper.transform(X)`` as float64, computed in chunks of rows."""
    first = mapper.transform(X[:1])
    out = np.empty((X.shape[0], first.shape[1]))
    for s in range(0, X.shape[0], _CHUNK):
        out[s : s + _CHUNK] = mapper.transform(X[s : s + _CHUNK])
    return out


def map_bags(mapper: Any, bags: Bags) -> Bags:
    """The bags with every instance mapped (the model is fitted on them)."""
    return Bags(map_rows(mapper, bags.instances), bags.offsets)


def mapped_scores(mapper: Any, model: Any, X: np.ndarray) -> np.ndarray:
    """``model(mapper.transform(X))`` in chunks, never the whole mapped matrix."""
    out = np.empty(X.shape[0])
    for s in range(0, X.shape[0], _CHUNK):
        out[s : s + _CHUNK] = model(mapper.transform(X[s : s + _CHUNK]))
    return out


def bag_feature_sums(mapper: Any, X: np.ndarray, offsets: np.ndarray,
                     weights: np.ndarray | None = None) -> np.ndarray:
    """``sum_{x in B} w(x) z(x)`` for every bag ``B``: the bags' (weighted) sums of the map.

    The instances are mapped ``_CHUNK`` rows at a time and reduced at once, so memory is
    ``O(_CHUNK * n_components + n_bags * n_components)`` whatever the number of
    instances; a chunk boundary may cut a bag, whose partial sums then add up.

    Parameters
    ----------
    mapper : fitted transformer
        The instance map ``z`` (``transform`` of rows).
    X : ndarray of shape (n_instances, n_features)
        The instances, bag after bag.
    offsets : ndarray of shape (n_bags + 1,)
        Bag ``i`` is ``X[offsets[i]:offsets[i + 1]]``.
    weights : ndarray of shape (n_instances,) or None
        Per-instance weights ``w(x)``; None: every weight is 1.

    Returns
    -------
    sums : ndarray of shape (n_bags, n_components)
    """
    n_bags = offsets.shape[0] - 1
    bag_of = np.repeat(np.arange(n_bags), np.diff(offsets))
    out = None
    for s in range(0, X.shape[0], _CHUNK):
        Z = np.asarray(mapper.transform(X[s : s + _CHUNK]), dtype=np.float64)
        if out is None:
            out = np.zeros((n_bags, Z.shape[1]))
        if weights is not None:
            Z *= weights[s : s + _CHUNK, None]
        ids = bag_of[s : s + Z.shape[0]]
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        out[ids[starts]] += np.add.reduceat(Z, starts, axis=0)
    if out is None:  # no instances: the map's width from one mapped row
        out = np.zeros((n_bags, mapper.transform(np.zeros((1, X.shape[1]))).shape[1]))
    return out


def check_self_kernel(diag: np.ndarray) -> np.ndarray:
    """``diag`` (the bags' ``k_set(X, X)``) if every value is positive, else an error."""
    if np.any(diag <= 0):
        raise ValueError(
            "normalize='featurespace' needs a positive self kernel k_set(X, X) for "
            "every bag; this instance kernel gives a non-positive one. Use "
            "kernel='rbf', or normalize='averaging' or None."
        )
    return diag


def set_kernel_normalisers(bags: Bags, normalize: str | None, **kernel: Any) -> np.ndarray:
    """Each bag's normaliser ``n(B)`` of the set kernel, for its summed map ``S / n(B)``.

    ``"averaging"``: the bag's size; None: 1; ``"featurespace"``: the exact
    ``sqrt(k_set(B, B))`` (``kernel`` holds :func:`set_kernel_diag`'s keywords), a sum
    within the bag, linear in the instances for bags of bounded size, and exact where
    Nystrom's map underestimates the kernel of instances far from its landmarks (new
    bags' instances are not landmarks).
    """
    if normalize == "featurespace":
        return np.sqrt(check_self_kernel(set_kernel_diag(bags.instances, bags.offsets,
                                                         **kernel)))
    if normalize == "averaging":
        return bags.sizes.astype(np.float64)
    return np.ones(bags.n_bags)
