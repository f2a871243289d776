"""MI-SVR: instance-level SVM regression under the max rule, by witness alternation."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.svm import SVR

from .._kernels.segments import segment_argmax, segment_max
from .._kernels.set_kernel import resolve_gamma
from .._warnings import warn_not_converged
from ..bags import Bags
from ..base import BaseMILRegressor, InstanceRegressionMixin, _target_location_scale
from ..utils._param_validation import Interval, StrOptions
from ._common import EPSILON_CONSTRAINT, GAMMA_CONSTRAINT

__all__ = ["MISVR"]


class MISVR(InstanceRegressionMixin, BaseMILRegressor):
    """MI-SVR: an instance SVR whose largest prediction in a bag is the bag's target.

    The regression form of the standard MI assumption: a bag's target is the largest
    target among its instances (the bag is as good as its best instance), so the model
    is an instance regressor ``f`` and a bag's prediction is ``max_{x in B} f(x)``. It
    is fitted by the alternation of MI-SVM (Andrews, Tsochantaridis & Hofmann 2003)
    with Ray & Page's primary instances (2001): each bag's witness is its instance with
    the largest current prediction, an epsilon-SVR is fitted to the witnesses with their
    bags' targets, and the witnesses are chosen again, until a set of witnesses comes
    back (they no longer change, or they cycle) or ``max_iter`` alternations have run.
    The first SVR is fitted to every instance with its bag's target (single-instance
    learning); of all the SVRs of the run, the one with the smallest bag-level training
    error, the mean of ``(max_{x in B} f(x) - y_B)^2``, is kept. The SVR is fitted to
    the standardised targets, so ``epsilon`` is in units of their standard deviation.

    For the other standard rule, a bag's target the *mean* of its instances' targets,
    use :class:`MIKernelSVR` with ``normalize="averaging"``: an SVR on bag means in the
    kernel's feature space, whose instance predictions average to the bag's.

    Parameters
    ----------
    kernel : {"rbf", "linear", "poly"}, default="rbf"
        Instance kernel of the SVR.
    C : float, default=1.0
        SVR penalty (scikit-learn meaning, on the standardised targets).
    epsilon : float, default=0.1
        Half-width of the SVR's epsilon-insensitive tube, in units of the training
        targets' standard deviation.
    gamma : {"scale", "auto"} or float, default="scale"
        Kernel coefficient, scikit-learn's meaning (``"scale"`` from the training
        instances).
    degree : int, default=3
        Polynomial degree.
    coef0 : float, default=0.0
        Polynomial offset.
    max_iter : int, default=50
        Most witness alternations after the first SVR; reaching it with witnesses that
        still change emits a ``ConvergenceWarning``.
    tol : float, default=1e-3
        Stopping tolerance of libsvm.

    Attributes
    ----------
    estimator_ : sklearn.svm.SVR
        The kept instance SVR, on the standardised targets.
    witnesses_ : ndarray of shape (n_bags,)
        Each training bag's witness, the row within the bag of the instance the kept
        SVR was fitted to (for the single-instance SVR: the instance it predicts
        highest); bags in the order given to ``fit``.
    n_iter_ : int
        SVRs fitted after the first one.
    gamma_ : float
        Resolved kernel coefficient.
    n_features_in_ : int

    Notes
    -----
    ``predict_instances`` returns ``f(x)`` in the targets' units, and a bag's prediction
    is the largest of its instances' (bag rule ``"max"``). Only the witnesses constrain
    the model: a non-witness instance predicted above its bag's target is not pulled
    down, as in Ray & Page's primary-instance regression.

    References
    ----------
    S. Ray and D. Page, "Multiple instance regression", ICML 2001.
    S. Andrews, I. Tsochantaridis and T. Hofmann, "Support vector machines for
    multiple-instance learning", NIPS 2003.

    Examples
    --------
    >>> from skmil.datasets import make_mil_regression
    >>> from skmil.svm import MISVR
    >>> bags, y, _ = make_mil_regression(n_bags=60, rule="max", random_state=0)
    >>> reg = MISVR(kernel="linear").fit(bags, y)
    >>> [round(float(p.max()), 6) for p in reg.predict_instances(bags[:2])] == [
    ...     round(float(v), 6) for v in reg.predict(bags[:2])]
    True
    """

    _parameter_constraints: dict = {
        "kernel": [StrOptions({"rbf", "linear", "poly"})],
        "C": [Interval(Real, 0, None, closed="neither")],
        "epsilon": EPSILON_CONSTRAINT,
        "gamma": GAMMA_CONSTRAINT,
        "degree": [Interval(Integral, 1, None, closed="left")],
        "coef0": [Interval(Real, None, None, closed="neither")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        *,
        kernel: str = "rbf",
        C: float = 1.0,
        epsilon: float = 0.1,
        gamma: Any = "scale",
        degree: int = 3,
        coef0: float = 0.0,
        max_iter: int = 50,
        tol: float = 1e-3,
    ) -> None:
        self.kernel = kernel
        self.C = C
        self.epsilon = epsilon
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.max_iter = max_iter
        self.tol = tol

    def _bag_rule(self) -> str:
        return "max"

    def _svr(self) -> SVR:
        return SVR(kernel=self.kernel, C=float(self.C), epsilon=float(self.epsilon),
                   gamma=self.gamma_, degree=self.degree, coef0=self.coef0, tol=self.tol)

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        X = bags.instances
        self.gamma_ = resolve_gamma(self.gamma, X) if self.kernel != "linear" else 1.0
        self._y_mean, self._y_scale = _target_location_scale(y)
        ys = (y - self._y_mean) / self._y_scale
        model = self._svr().fit(X, np.repeat(ys, bags.sizes))
        pred = model.predict(X)
        # every model of the alternation, with its bag-level training error: a set of
        # witnesses seen before means a cycle, and the best model of the run is kept
        best = (np.mean((segment_max(pred, bags.offsets) - ys) ** 2), model, None)
        seen: set[bytes] = set()
        self.n_iter_ = 0
        stopped = False
        for _ in range(int(self.max_iter)):
            rows = segment_argmax(pred, bags.offsets)
            key = rows.tobytes()
            if key in seen:  # converged (the same witnesses again) or a cycle
                stopped = True
                break
            seen.add(key)
            model = self._svr().fit(X[rows], ys)
            pred = model.predict(X)
            self.n_iter_ += 1
            err = np.mean((segment_max(pred, bags.offsets) - ys) ** 2)
            if err < best[0]:
                best = (err, model, rows)
        if not stopped and self.max_iter > 0:
            warn_not_converged(self, "max_iter", "the witnesses still change")
        _, model, witnesses = best
        if witnesses is None:  # the single-instance SVR fitted best
            witnesses = segment_argmax(model.predict(X), bags.offsets)
        self.estimator_ = model
        # each witness as a row within its bag, bags in the user's numbering
        within = witnesses - bags.offsets[:-1]
        self.witnesses_ = within[np.argsort(self._train_order)]

    def _predict_instances(self, bags: Bags) -> np.ndarray:
        return self._y_mean + self._y_scale * self.estimator_.predict(bags.instances)

    def _predict(self, bags: Bags) -> np.ndarray:
        return segment_max(self._predict_instances(bags), bags.offsets)
