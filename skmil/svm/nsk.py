"""MI-Kernel / normalized set kernel SVM and SVR (Gärtner, Flach, Kowalczyk & Smola, ICML 2002)."""

from __future__ import annotations

import dataclasses
from numbers import Integral, Real
from typing import Any

import numpy as np

from .._kernels.set_kernel import resolve_gamma, set_kernel_diag, set_kernel_gram
from ..bags import Bags, check_bags
from ..base import InstancePredictionMixin, InstanceRegressionMixin, MILTags
from ..utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from ._approximation import (
    N_COMPONENTS_CONSTRAINT,
    bag_feature_sums,
    check_self_kernel,
    fit_kernel_map,
    mapped_scores,
    set_kernel_normalisers,
)
from ._bag_kernel import BagKernelSVM, BagKernelSVR
from ._common import CLASS_WEIGHT_CONSTRAINT, EPSILON_CONSTRAINT

__all__ = ["MIKernelSVM", "MIKernelSVR", "set_kernel"]

#: Multiples of the ``"scale"`` gamma tried by ``gamma="cv"``.
GAMMA_CV_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)

#: Parameters shared by :func:`set_kernel` and :class:`MIKernelSVM`.
_SET_KERNEL_CONSTRAINTS: dict = {
    "kernel": [StrOptions({"rbf", "linear", "poly"})],
    "gamma": [Interval(Real, 0, None, closed="neither"), StrOptions({"scale", "auto"})],
    "degree": [Interval(Integral, 1, None, closed="left")],
    "coef0": [Interval(Real, None, None, closed="neither")],
    "p": [Interval(Real, 0, None, closed="neither")],
    "normalize": [StrOptions({"featurespace", "averaging"}), None],
    "chunk_size": [Interval(Integral, 1, None, closed="left")],
}


def set_kernel(
    bags_a: Any,
    bags_b: Any = None,
    *,
    kernel: str = "rbf",
    gamma: Any = "scale",
    degree: int = 3,
    coef0: float = 0.0,
    p: float = 1.0,
    normalize: str | None = "featurespace",
    chunk_size: int = 512,
) -> np.ndarray:
    """Set kernel (MI-Kernel) Gram matrix between two collections of bags.

    ``k_set(A, B) = sum_{x in A} sum_{x' in B} k(x, x')**p`` with an instance kernel
    ``k``, optionally normalised: ``"averaging"`` divides by ``|A| |B|``,
    ``"featurespace"`` by ``sqrt(k_set(A, A) k_set(B, B))`` (a cosine; the diagonal is 1).
    Computed in row blocks of about ``chunk_size`` instances with one BLAS GEMM per block
    and segment sums, in ``O(chunk_size * N + B_a * B_b)`` memory; the ``N x N``
    instance kernel is never formed.

    Parameters
    ----------
    bags_a : sequence of array-like of shape (n_instances_i, n_features)
        Row bags.
    bags_b : sequence of array-like, optional
        Column bags; ``None`` means ``bags_a`` (symmetric Gram, upper triangle computed
        once).
    kernel : {"rbf", "linear", "poly"}, default="rbf"
        Instance kernel: ``exp(-gamma ||x - x'||^2)``, ``x.x'`` or
        ``(gamma x.x' + coef0)^degree``.
    gamma : {"scale", "auto"} or float, default="scale"
        scikit-learn's meaning, computed on the instances of ``bags_a``: ``"scale"`` is
        ``1 / (n_features * var)``, ``"auto"`` is ``1 / n_features``.
    degree : int, default=3
        Polynomial degree.
    coef0 : float, default=0.0
        Polynomial offset.
    p : float, default=1.0
        Power of the instance kernel. For the RBF kernel ``k**p`` is the RBF kernel
        with ``p * gamma``, so only ``gamma`` needs tuning.
    normalize : {"featurespace", "averaging"} or None, default="featurespace"
        Normalisation of the bag kernel; None: none.
    chunk_size : int, default=512
        Instances per row block (memory ``~ 8 * chunk_size * N_b`` bytes).

    Returns
    -------
    K : ndarray of shape (n_bags_a, n_bags_b)
        The (normalised) set kernel between each bag of ``bags_a`` and of ``bags_b``.

    Examples
    --------
    >>> import numpy as np
    >>> from skmil.svm import set_kernel
    >>> rng = np.random.default_rng(0)
    >>> bags = [rng.normal(size=(n, 3)) for n in (2, 5, 3)]
    >>> K = set_kernel(bags, gamma=0.5)
    >>> K.shape, bool(np.allclose(np.diag(K), 1.0))
    ((3, 3), True)
    """
    validate_parameter_constraints(
        _SET_KERNEL_CONSTRAINTS,
        dict(kernel=kernel, gamma=gamma, degree=degree, coef0=coef0, p=p,
             normalize=normalize, chunk_size=chunk_size),
        caller_name="set_kernel",
    )
    a = check_bags(bags_a)
    g = resolve_gamma(gamma, a.instances)
    kw = dict(kernel=kernel, gamma=g, degree=degree, coef0=coef0, p=p,
              normalization=normalize or "none", block_size=chunk_size)
    if bags_b is None:
        return set_kernel_gram(a.instances, a.offsets, **kw)
    b = check_bags(bags_b, n_features=a.n_features, estimator_name="bags_a")
    return set_kernel_gram(a.instances, a.offsets, b.instances, b.offsets, **kw)


class _SetKernelBags:
    """The normalised set kernel of MI-Kernel, shared by the classifier and the regressor.

    The hooks of the bag-kernel SVM bases (``_kernel_candidates``, ``_train_gram``,
    ``_cross_gram``) and the per-instance decomposition of the bag score (``c(x)``).
    """

    def __mil_tags__(self) -> MILTags:
        return dataclasses.replace(super().__mil_tags__(),
                                   instance_outputs=("instance_contributions",))

    def _bag_rule(self) -> str:
        return "mean"

    def _kw(self):
        return dict(kernel=self.kernel, gamma=self.gamma_, degree=self.degree,
                    coef0=self.coef0, p=self.p, block_size=self.chunk_size)

    def _kernel_candidates(self, bags: Bags):
        # the linear kernel has no gamma: "cv" then only selects C
        if self.gamma == "cv" and self.kernel != "linear":
            base = resolve_gamma("scale", bags.instances)
            return [{"gamma_": base * f} for f in GAMMA_CV_GRID], GAMMA_CV_GRID.index(1.0)
        gamma = "scale" if self.gamma == "cv" else self.gamma
        return [{"gamma_": resolve_gamma(gamma, bags.instances)}], 0

    def _train_gram(self, bags: Bags):
        K = set_kernel_gram(bags.instances, bags.offsets, normalization="none", **self._kw())
        diag = np.diagonal(K).copy()
        return self._normalise(K, diag, diag, bags.sizes, bags.sizes), diag

    def _normalise(self, K, da, db, sa, sb):
        if self.normalize == "averaging":
            K /= sa.astype(np.float64)[:, None]
            K /= sb.astype(np.float64)[None, :]
        elif self.normalize == "featurespace":
            check_self_kernel(da)
            check_self_kernel(db)
            K /= np.sqrt(da)[:, None]
            K /= np.sqrt(db)[None, :]
        return K

    def _cross_gram(self, bags: Bags) -> np.ndarray:
        return self._support_gram(bags.instances, bags.offsets, bags)

    def _train_features(self, bags: Bags):
        if self.kernel == "poly" and self.p != 1:
            raise ValueError(
                f"kernel_approximation maps the instance kernel itself; with kernel='poly' "
                f"its power p={self.p!r} has no such map. Use p=1 (raise degree instead), "
                "kernel='rbf', or kernel_approximation=None.")
        # k**p of the RBF kernel is the RBF kernel with p * gamma
        gamma = self.gamma_ * self.p if self.kernel == "rbf" else self.gamma_
        self.kernel_map_ = fit_kernel_map(
            self.kernel_approximation_, bags.instances, kernel=self.kernel, gamma=gamma,
            degree=self.degree, coef0=float(self.coef0), n_components=self.n_components,
            random_state=self.random_state)
        return self._bag_features(bags), None

    def _normalisers(self, bags: Bags) -> np.ndarray:
        return set_kernel_normalisers(bags, self.normalize, **self._kw())

    def _bag_features(self, bags: Bags) -> np.ndarray:
        S = bag_feature_sums(self.kernel_map_, bags.instances, bags.offsets)
        return S / self._normalisers(bags)[:, None]

    def _support_gram(self, X, offsets, bags: Bags) -> np.ndarray:
        """Kernel of the segments ``offsets`` of ``X`` against the support bags, each pair
        normalised as the bags ``bags`` (that hold those segments) are against them."""
        sb = self.support_bags_
        K = set_kernel_gram(X, offsets, sb.instances, sb.offsets, normalization="none",
                            **self._kw())
        n_seg = offsets.shape[0] - 1
        if self.normalize == "featurespace":
            da = set_kernel_diag(bags.instances, bags.offsets, **self._kw())
        else:
            da = np.ones(bags.n_bags)
        if n_seg != bags.n_bags:  # instance rows: each takes its bag's normalisation
            da = np.repeat(da, bags.sizes)
            sizes = np.repeat(bags.sizes, bags.sizes)
        else:
            sizes = bags.sizes
        return self._normalise(K, da, self._support_aux, sizes, sb.sizes)

    def _contributions(self, bags: Bags) -> np.ndarray:
        if self._approximate:
            if np.ndim(self.coef_) > 1:
                raise ValueError(
                    f"{type(self).__name__} was fitted on {len(self.classes_)} classes; "
                    "its one-vs-rest bag scores have one decomposition per class. Fit one "
                    "binary model per class for instance contributions.")
            scale = self._normalisers(bags)
            z = mapped_scores(self.kernel_map_, lambda Z: Z @ self.coef_, bags.instances)
            return z / np.repeat(scale, bags.sizes)
        if np.ndim(self.dual_coef_) > 1:
            raise ValueError(
                f"{type(self).__name__} was fitted on {len(self.classes_)} classes; its "
                "one-vs-one bag scores have no per-instance decomposition. Fit one "
                "binary model per class for instance contributions."
            )
        single = np.arange(bags.n_instances + 1, dtype=np.int64)
        return self._support_gram(bags.instances, single, bags) @ self.dual_coef_

    def _instance_values(self, bags: Bags) -> np.ndarray:
        """``intercept_ + |B| c(x)`` per instance: the bag's value is their mean."""
        return self.intercept_ + np.repeat(bags.sizes, bags.sizes) * self._contributions(bags)

    def instance_contributions(self, X: Any) -> list[np.ndarray]:
        """Each instance's term ``c(x)`` of the bag score (see Notes), one array per bag.

        ``decision_function(X)[i] == intercept_ + instance_contributions(X)[i].sum()``
        for every bag ``i``. These are kernel contributions, not witness scores.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            Bags.

        Returns
        -------
        contributions : list of ndarray of shape (n_instances_i,)
            Each instance's term of its bag's score, one array per bag.
        """
        bags = self._validate_bags(X, reset=False)
        return bags.split(self._contributions(bags))


class MIKernelSVM(_SetKernelBags, InstancePredictionMixin, BagKernelSVM):
    """MI-Kernel: an SVM on bags with the (normalised) set kernel.

    Gärtner, Flach, Kowalczyk & Smola (2002); misvm calls it NSK (normalized set kernel).
    The bag kernel is ``k_set(A, B) = sum_{x in A, x' in B} k(x, x')**p`` (see
    :func:`set_kernel`), normalised, and a C-SVM is trained on the precomputed bag Gram
    matrix. With a large enough ``p`` a concept separable at the instance level becomes
    separable at the bag level (Gärtner et al.); for the RBF instance kernel ``p`` only
    rescales ``gamma``, so keep ``p=1`` and tune ``gamma``.

    Parameters
    ----------
    kernel : {"rbf", "linear", "poly"}, default="rbf"
        Instance kernel.
    C : float or "cv", default="cv"
        SVC penalty (scikit-learn meaning). ``"cv"`` picks it from
        (0.1, 1, 10, 100, 1000) by skmil's inner 5-fold CV on the training Gram matrix,
        which costs only SVC fits on its slices (the kernel does not depend on ``C``).
        misvm (``scale_C=True``) divides its ``C`` by the number of bags, so misvm
        ``C=c`` is ``C = c / n_bags`` here.
    gamma : {"scale", "auto", "cv"} or float, default="scale"
        Instance-kernel coefficient: ``"scale"`` = ``1 / (n_features * var)`` of the
        training instances, ``"auto"`` = ``1 / n_features``. ``"cv"`` chooses it from
        ``(0.1, 0.3, 1, 3, 10)`` times the ``"scale"`` value jointly with ``C`` (over the
        whole ``C`` grid when ``C="cv"``) by the same inner CV on Gram slices: five Gram
        matrices instead of one. It is not the default because a choice among five
        widths made by inner CV on a hundred or so bags is noisier than the fixed
        ``"scale"`` width of standardised features. The linear kernel ignores gamma.
    degree : int, default=3
        Polynomial degree.
    coef0 : float, default=0.0
        Polynomial offset.
    p : float, default=1.0
        Power of the instance kernel.
    normalize : {"featurespace", "averaging"} or None, default="featurespace"
        ``"featurespace"`` (cosine) stops large bags from dominating and keeps the kernel
        positive semi-definite; it is the default for that reason (misvm's default is
        None, no normalisation). ``"averaging"`` divides by both bag sizes.
    kernel_approximation : {"auto", "nystroem", "rff"} or None, default="auto"
        Replace the instance kernel ``k**p`` by an explicit feature map ``z`` with
        ``z(x)'z(x') ~ k(x, x')**p``: ``"nystroem"``
        (:class:`sklearn.kernel_approximation.Nystroem`, ``n_components`` landmark
        instances drawn from the training instances; RBF or poly kernel) or ``"rff"``
        (:class:`sklearn.kernel_approximation.RBFSampler`, random Fourier features of the
        RBF kernel). The set kernel is then the inner product of the bags' sums of ``z``
        (their kernel mean embeddings, normalised by ``normalize`` as the exact kernel
        is), a linear kernel on one ``n_components`` vector per bag: the kernel costs
        ``O(N m (d + m))`` time for ``m = n_components`` instead of ``O(N^2 d)``, and
        with ``solver="primal"`` no Gram matrix is formed (``O(n_bags m)`` memory
        instead of ``O(n_bags^2)``). The map is fitted on the training instances
        (without their labels) and drawn with ``random_state`` (seed 0 when None).
        ``"auto"`` keeps the exact kernel up to 10,000 training bags and takes
        ``"nystroem"`` above, where the exact Gram matrix passes 800 MB (with an RBF
        kernel, or a polynomial one with ``p=1``; otherwise the exact kernel).
    n_components : int, default=256
        Dimension ``m`` of the map of ``kernel_approximation``. The primal solver's steps
        cost ``O(n_bags m^2 + m^3)``, so a map much wider than the number of bags costs
        more than the exact kernel.
    solver : {"auto", "libsvm", "primal"}, default="auto"
        How the SVM is fitted under ``kernel_approximation``: ``"libsvm"`` runs
        libsvm on the Gram matrix of the bag features (the exact kernel's solver and
        hinge loss, ``O(n_bags^2)`` memory), ``"primal"`` fits the linear SVM on the
        features without a Gram matrix (the squared hinge loss,
        intercept not penalised). ``"auto"``: ``"libsvm"`` up to 4,096
        training bags, ``"primal"`` above; K >= 3 classes always take the primal, one SVM
        per class against the rest. Without ``kernel_approximation`` the
        exact kernel takes libsvm (``"auto"`` or ``"libsvm"``).
    class_weight : dict, "balanced" or None, default=None
        Multipliers of ``C`` per class (dict keyed by bag label), as in SVC.
    chunk_size : int, default=512
        Instances per row block of the Gram computation.
    tol : float, default=1e-3
        Stopping tolerance of libsvm (of the primal solver under
        ``kernel_approximation``).
    random_state : int, RandomState instance or None, default=None
        Shuffles the inner-CV folds of ``C="cv"``/``gamma="cv"`` and draws the map of
        ``kernel_approximation``; None keeps the canonical (unshuffled) folds.

    Attributes
    ----------
    support_ : ndarray of shape (n_support_bags,)
        Indices of the support bags among the training bags (as given to ``fit``),
        increasing. ``support_``, ``support_bags_`` and ``dual_coef_`` are the exact
        kernel's; under ``kernel_approximation`` the model is ``coef_`` instead.
    support_bags_ : Bags
        The training bags with non-zero dual coefficients (all that prediction needs).
    dual_coef_ : ndarray of shape (n_support_bags,) or (n_classes - 1, n_support_bags)
        ``y_i alpha_i`` of the support bags (positive for ``classes_[1]``); with
        K >= 3 classes, libsvm's one-vs-one coefficients.
    intercept_ : float or ndarray of shape (n_classes * (n_classes - 1) / 2,)
        The bag SVM is ``f(B) = sum_i dual_coef_[i] K(B, support_bags_[i]) +
        intercept_``, with ``K`` the normalised set kernel; it is solved by libsvm
        (scikit-learn's binding, ``kernel="precomputed"``).
    gamma_ : float
        Resolved instance-kernel coefficient.
    coef_ : ndarray of shape (n_components,) or (n_classes, n_components)
        Under ``kernel_approximation``: the linear model on the bag features, ``f(B) =
        coef_ . phi(B) + intercept_`` with ``phi(B)`` the normalised sum of the map over
        ``B`` (one row per class against the rest for K >= 3 classes).
    kernel_map_ : Nystroem or RBFSampler
        Under ``kernel_approximation``: the fitted instance map (absent otherwise).
    solver_ : {"libsvm", "primal"}
        The solver used (``"auto"`` resolved).
    kernel_approximation_ : {"nystroem", "rff"} or None
        The map used (``"auto"`` resolved; None: the exact kernel).
    C_ : float
        The ``C`` used (chosen by inner CV when ``C="cv"``).
    cv_results_ : dict
        The inner CV of ``C="cv"``/``gamma="cv"`` in
        :class:`~sklearn.model_selection.GridSearchCV`'s format; only after a search.
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int

    Notes
    -----
    Building the training Gram costs ``O(N^2 d)`` (one GEMM pass over the upper
    triangle); prediction costs ``O(N_test * N_support_instances * d)``.
    Under ``kernel_approximation`` fitting costs ``O(N m (d + m))`` (mapping) plus linear
    SVMs on ``n_bags x m`` features, prediction ``O(N_test m (d + m))``; the same
    decomposition holds with ``c(x) = coef_ . z(x) / n(B)``, ``n(B)`` the bag's
    normaliser (1, ``|B|`` or the norm of its summed map).

    The bag score is a sum of per-instance terms: ``f(B) = intercept_ + sum_{x in B}
    c(x)`` with ``c(x) = sum_i dual_coef_[i] sum_{s in S_i} k(x, s)**p / n(B, S_i)``,
    ``n`` the normalisation of the pair (1, ``|B| |S_i|`` or
    ``sqrt(k_set(B, B) k_set(S_i, S_i))``). :meth:`instance_contributions` returns the
    ``c(x)``. The model is a collective (mean-type) one, not a standard-MI one:
    ``decision_function_instances`` returns ``intercept_ + |B| c(x)``, whose mean over
    the bag is the bag score (bag rule ``"mean"``), so a bag can be positive with no
    positive instance and the reverse. With ``normalize="averaging"`` it is the score of
    the singleton bag ``{x}``; with ``"featurespace"`` it also carries the bag's own
    normalisation ``|B| / sqrt(k_set(B, B))``.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.svm import MIKernelSVM
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> clf = MIKernelSVM().fit(bags, y)
    >>> clf.predict(bags[:3]).shape
    (3,)
    >>> import numpy as np
    >>> c = clf.instance_contributions(bags[:2])
    >>> bool(np.allclose([ci.sum() + clf.intercept_ for ci in c],
    ...                  clf.decision_function(bags[:2])))
    True
    """

    _parameter_constraints: dict = {
        **_SET_KERNEL_CONSTRAINTS,
        "C": [Interval(Real, 0, None, closed="neither"), StrOptions({"cv"})],
        "gamma": [Interval(Real, 0, None, closed="neither"),
                  StrOptions({"scale", "auto", "cv"})],
        "kernel_approximation": [StrOptions({"auto", "nystroem", "rff"}), None],
        "n_components": N_COMPONENTS_CONSTRAINT,
        "solver": [StrOptions({"auto", "libsvm", "primal"})],
        "class_weight": CLASS_WEIGHT_CONSTRAINT,
        "tol": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        kernel: str = "rbf",
        C: Any = "cv",
        gamma: Any = "scale",
        degree: int = 3,
        coef0: float = 0.0,
        p: float = 1.0,
        normalize: str | None = "featurespace",
        kernel_approximation: str | None = "auto",
        n_components: int = 256,
        solver: str = "auto",
        class_weight: Any = None,
        chunk_size: int = 512,
        tol: float = 1e-3,
        random_state: Any = None,
    ) -> None:
        self.kernel = kernel
        self.C = C
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.p = p
        self.normalize = normalize
        self.kernel_approximation = kernel_approximation
        self.n_components = n_components
        self.solver = solver
        self.class_weight = class_weight
        self.chunk_size = chunk_size
        self.tol = tol
        self.random_state = random_state

    def _decision_function_instances(self, bags: Bags) -> np.ndarray:
        return self._instance_values(bags)


class MIKernelSVR(_SetKernelBags, InstanceRegressionMixin, BagKernelSVR):
    """MI-Kernel regression: an epsilon-SVR on bags with the (normalised) set kernel.

    The set kernel of :class:`MIKernelSVM` (Gärtner, Flach, Kowalczyk & Smola 2002), with
    libsvm's epsilon-SVR in place of the C-SVM, for real-valued bag targets. The SVR
    is fitted to the standardised training targets, so ``epsilon`` is in units of their
    standard deviation and the defaults hold whatever the targets' scale.

    Parameters
    ----------
    kernel : {"rbf", "linear", "poly"}, default="rbf"
        Instance kernel.
    C : float or "cv", default="cv"
        SVR penalty (scikit-learn meaning, on the standardised targets). ``"cv"``
        picks it from (0.1, 1, 10, 100, 1000) by skmil's inner 5-fold CV for regressors
        (negative mean squared error) on slices of the training Gram matrix.
    epsilon : float, default=0.1
        Half-width of the SVR's epsilon-insensitive tube, in units of the training
        targets' standard deviation (scikit-learn's default on standardised targets).
    gamma : {"scale", "auto", "cv"} or float, default="scale"
        Instance-kernel coefficient, as in :class:`MIKernelSVM`; ``"cv"`` chooses it
        jointly with ``C`` by the same inner CV.
    degree : int, default=3
        Polynomial degree.
    coef0 : float, default=0.0
        Polynomial offset.
    p : float, default=1.0
        Power of the instance kernel.
    normalize : {"featurespace", "averaging"} or None, default="featurespace"
        Normalisation of the set kernel, as in :class:`MIKernelSVM`.
    kernel_approximation : {"auto", "nystroem", "rff"} or None, default="auto"
        Replace the instance kernel by an explicit feature map, as in
        :class:`MIKernelSVM`: the bag kernel becomes a linear kernel on one
        ``n_components`` vector per bag, and ``solver`` fits a linear SVR on them.
    n_components : int, default=256
        Dimension of the map of ``kernel_approximation``, as in :class:`MIKernelSVM`.
    solver : {"auto", "libsvm", "primal"}, default="auto"
        How the SVR is fitted under ``kernel_approximation``: ``"libsvm"`` runs
        libsvm on the Gram matrix of the bag features (the exact kernel's solver and
        epsilon-insensitive loss, ``O(n_bags^2)`` memory), ``"primal"`` fits the linear SVR on the
        features without a Gram matrix (liblinear's
        squared epsilon-insensitive loss). ``"auto"``: ``"libsvm"`` up to 4,096
        training bags, ``"primal"`` above. Without ``kernel_approximation`` the
        exact kernel takes libsvm (``"auto"`` or ``"libsvm"``).
    chunk_size : int, default=512
        Instances per row block of the Gram computation.
    tol : float, default=1e-3
        Stopping tolerance of libsvm (of the primal solver under
        ``kernel_approximation``).
    random_state : int, RandomState instance or None, default=None
        Shuffles the inner-CV folds of ``C="cv"``/``gamma="cv"`` and draws the map of
        ``kernel_approximation``; None keeps the canonical (unshuffled) folds.

    Attributes
    ----------
    support_ : ndarray of shape (n_support_bags,)
        Indices of the support bags among the training bags (as given to ``fit``),
        increasing. ``support_``, ``support_bags_`` and ``dual_coef_`` are the exact
        kernel's; under ``kernel_approximation`` the model is ``coef_`` instead.
    support_bags_ : Bags
        The training bags with non-zero dual coefficients.
    dual_coef_ : ndarray of shape (n_support_bags,)
        Dual coefficients in the targets' units.
    intercept_ : float
        ``predict(B) = sum_i dual_coef_[i] K(B, support_bags_[i]) + intercept_``.
    gamma_ : float
        Resolved instance-kernel coefficient.
    coef_ : ndarray of shape (n_components,)
        Under ``kernel_approximation``: the linear model on the bag features,
        ``predict(B) = coef_ . phi(B) + intercept_`` (``phi`` as in :class:`MIKernelSVM`).
    kernel_map_ : Nystroem or RBFSampler
        Under ``kernel_approximation``: the fitted instance map (absent otherwise).
    solver_ : {"libsvm", "primal"}
        The solver used (``"auto"`` resolved).
    kernel_approximation_ : {"nystroem", "rff"} or None
        The map used (``"auto"`` resolved; None: the exact kernel).
    C_ : float
        The ``C`` used (chosen by inner CV when ``C="cv"``).
    cv_results_ : dict
        The inner CV of ``C="cv"``/``gamma="cv"`` in
        :class:`~sklearn.model_selection.GridSearchCV`'s format (scores are negative
        mean squared errors); only after a search.
    n_features_in_ : int

    Notes
    -----
    The prediction is a sum of per-instance terms, ``predict(B) = intercept_ +
    sum_{x in B} c(x)`` (see :class:`MIKernelSVM`). ``predict_instances`` returns
    ``intercept_ + |B| c(x)``, whose mean over the bag is the bag's prediction (bag
    rule ``"mean"``): the collective assumption that a bag's target is the mean of its
    instances' targets. With ``normalize="averaging"`` it is the prediction for the
    singleton bag ``{x}``.

    Examples
    --------
    >>> from skmil.datasets import make_mil_regression
    >>> from skmil.svm import MIKernelSVR
    >>> bags, y, _ = make_mil_regression(n_bags=60, rule="mean", random_state=0)
    >>> reg = MIKernelSVR().fit(bags, y)
    >>> reg.score(bags, y) > 0.5
    True
    """

    # the classifier's, less class_weight, plus epsilon
    _parameter_constraints: dict = {
        **{k: v for k, v in MIKernelSVM._parameter_constraints.items()
           if k != "class_weight"},
        "epsilon": EPSILON_CONSTRAINT,
    }

    def __init__(
        self,
        *,
        kernel: str = "rbf",
        C: Any = "cv",
        epsilon: float = 0.1,
        gamma: Any = "scale",
        degree: int = 3,
        coef0: float = 0.0,
        p: float = 1.0,
        normalize: str | None = "featurespace",
        kernel_approximation: str | None = "auto",
        n_components: int = 256,
        solver: str = "auto",
        chunk_size: int = 512,
        tol: float = 1e-3,
        random_state: Any = None,
    ) -> None:
        self.kernel = kernel
        self.C = C
        self.epsilon = epsilon
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.p = p
        self.normalize = normalize
        self.kernel_approximation = kernel_approximation
        self.n_components = n_components
        self.solver = solver
        self.chunk_size = chunk_size
        self.tol = tol
        self.random_state = random_state

    def _predict_instances(self, bags: Bags) -> np.ndarray:
        return self._instance_values(bags)
