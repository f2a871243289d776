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
sMIL's positive bags keep their meaning.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.kernel_approximation import Nystroem, RBFSampler
from sklearn.utils import check_random_state

from ..bags import Bags
from ..utils._param_validation import Integral, Interval, StrOptions

__all__ = ["KERNEL_APPROXIMATION_CONSTRAINT", "N_COMPONENTS_CONSTRAINT",
           "check_kernel_approximation", "fit_kernel_map", "map_bags", "map_rows",
           "mapped_scores"]

KERNEL_APPROXIMATION_CONSTRAINT = [StrOptions({"nystroem", "rff"}), None]
N_COMPONENTS_CONSTRAINT = [Interval(Integral, 1, None, closed="left")]

#: Rows mapped at a time: the map's ``(rows, n_components)`` intermediates stay small.
_CHUNK = 16384


def check_kernel_approximation(estimator: Any) -> None:
    """Refuse ``kernel_approximation`` with a kernel or solver it cannot serve."""
    method, kernel = estimator.kernel_approximation, estimator.kernel
    if method is None:
        return
    allowed = ("rbf",) if method == "rff" else ("rbf", "poly", "sigmoid")
    if kernel not in allowed:
        raise ValueError(
            f"kernel_approximation={method!r} approximates the kernels {list(allowed)}; "
            f"got kernel={kernel!r}. Use kernel='rbf', or kernel_approximation=None.")
    if estimator.solver not in ("auto", "primal"):
        raise ValueError(
            f"kernel_approximation={method!r} fits the linear SVM on the mapped instances "
            f"with the primal solver; got solver={estimator.solver!r}. Use solver='auto'.")


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
