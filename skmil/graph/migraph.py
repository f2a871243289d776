"""mi-Graph and MI-Graph (Zhou, Sun & Li, ICML 2009): bags as graphs of instances;
mi-Graph's kernel also with an SVR."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np

from .._kernels.bagpairs import weighted_set_kernel, weighted_set_kernel_diag
from .._kernels.graph import METRIC_CODES, clique_weights, edge_kernel_sums, graph_structure
from .._kernels.set_kernel import resolve_gamma
from .._parallel import numba_threads
from ..bags import Bags
from ..svm._approximation import (
    N_COMPONENTS_CONSTRAINT,
    bag_feature_sums,
    fit_kernel_map,
)
from ..svm._bag_kernel import BagKernelSVM, BagKernelSVR
from ..svm._common import CLASS_WEIGHT_CONSTRAINT, EPSILON_CONSTRAINT
from ..utils._param_validation import Interval, StrOptions

__all__ = ["MIGraph", "MIGraphExplicit", "MIGraphSVR"]

#: ``gamma="cv"`` grid of :class:`MIGraph`, in units of ``1 / n_features`` (the
#: ``"auto"`` value).
GAMMA_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)

_C = [Interval(Real, 0, None, closed="neither"), StrOptions({"cv"})]
_POSITIVE = Interval(Real, 0, None, closed="neither")
_COMMON_CONSTRAINTS: dict = {
    "C": _C,
    "edge_metric": [StrOptions(set(METRIC_CODES))],
    "class_weight": CLASS_WEIGHT_CONSTRAINT,
    "n_jobs": [Integral, None],
    "random_state": ["random_state"],
}


class _MIGraphKernel:
    """mi-Graph's clique-weighted set kernel: the bag-kernel hooks shared by
    :class:`MIGraph` and :class:`MIGraphSVR`."""

    def _weights(self, bags: Bags) -> np.ndarray:
        with numba_threads(self.n_jobs):
            return clique_weights(bags.instances, bags.offsets,
                                  METRIC_CODES[self.edge_metric], self.gamma_)

    def _scale(self, bags: Bags, W: np.ndarray) -> np.ndarray:
        if self.normalize == "cosine":
            return np.sqrt(weighted_set_kernel_diag(bags.instances, bags.offsets, W, self.gamma_))
        sums = np.add.reduceat(W, bags.offsets[:-1])
        if self.normalize == "paper":
            return sums
        if self.normalize == "code":
            return np.sqrt(sums)
        return np.ones(bags.n_bags)

    def _kernel_candidates(self, bags: Bags):
        if self.gamma == "cv":
            return ([{"gamma_": g / bags.n_features} for g in GAMMA_GRID],
                    GAMMA_GRID.index(1.0))
        return [{"gamma_": resolve_gamma(self.gamma, bags.instances)}], 0

    def _train_gram(self, bags: Bags):
        W = self._weights(bags)
        K = weighted_set_kernel(bags.instances, bags.offsets, W, self.gamma_)
        if self.normalize == "cosine":
            scale = np.sqrt(np.diagonal(K)).copy()
        else:
            scale = self._scale(bags, W)
        K /= np.outer(scale, scale)
        return K, scale

    def _prepare_support(self, rows: np.ndarray) -> None:
        # a bag's clique weights depend on that bag alone
        self._support_weights = self._weights(self.support_bags_)

    def _cross_gram(self, bags: Bags) -> np.ndarray:
        W = self._weights(bags)
        sb = self.support_bags_
        K = weighted_set_kernel(bags.instances, bags.offsets, W, self.gamma_,
                                sb.instances, sb.offsets, self._support_weights)
        K /= np.outer(self._scale(bags, W), self._support_aux)
        return K

    def _train_features(self, bags: Bags):
        self.kernel_map_ = fit_kernel_map(
            self.kernel_approximation_, bags.instances, kernel="rbf", gamma=self.gamma_,
            degree=3, coef0=0.0, n_components=self.n_components,
            random_state=self.random_state)
        return self._bag_features(bags), None

    def _bag_features(self, bags: Bags) -> np.ndarray:
        # the weighted set kernel is the inner product of the clique-weighted sums of z;
        # the normalisers are the exact kernel's (a cosine's is a sum within the bag,
        # exact where Nystrom's map underestimates instances far from its landmarks)
        W = self._weights(bags)
        S = bag_feature_sums(self.kernel_map_, bags.instances, bags.offsets, W)
        scale = self._scale(bags, W)
        return S / scale[:, None]


class MIGraph(_MIGraphKernel, BagKernelSVM):
    """mi-Graph: an SVM on a clique-weighted set kernel over per-bag epsilon-graphs.

    In each bag, instances closer than the bag's mean pairwise distance are joined
    (an epsilon-graph; every instance is also joined to itself). Instance ``a`` gets the
    clique weight ``W_a = 1 / degree(a)``, so instances in a dense clique share one
    unit of weight. Bags are compared by the weighted set kernel
    ``k(X_i, X_j) = sum_a sum_b W_ia W_jb exp(-gamma ||x_ia - x_jb||^2)``, normalised,
    and a C-SVM is trained on the precomputed kernel.

    The graph of a bag of ``n`` instances costs ``O(n^2 d)`` time (its threshold is the
    mean of all pairwise distances); above 4,096 instances it is computed in two passes
    over rows of distances, in memory linear in ``n``, and the kernel in fixed blocks,
    so a bag of any size fits in memory.

    Parameters
    ----------
    C : float or "cv", default="cv"
        SVC regularisation. ``"cv"`` chooses C from (0.1, 1, 10, 100, 1000) by skmil's
        inner 5-fold CV on slices of the training Gram matrix (Zhou et al. chose
        parameters by cross-validation on the training data); this is cheap because the
        kernel does not depend on C. A fixed 10 is the default of the Tuschen/Lammel
        port.
    gamma : {"auto", "scale", "cv"} or float, default="auto"
        RBF coefficient of the instance kernel, scikit-learn's meaning: ``"auto"`` is
        ``1 / n_features`` (meant for standardised instances; the reference port's
        default), ``"scale"`` ``1 / (n_features * var)`` of the training instances.
        ``"cv"`` picks it from (0.1, 0.3, 1, 3, 10) / n_features jointly with C by the
        same inner CV (one Gram matrix per value, so fitting costs five kernels instead
        of one).
    normalize : {"cosine", "paper", "code"} or None, default="cosine"
        ``"paper"`` divides by ``sum_a W_ia * sum_b W_jb`` (Zhou et al. 2009, Eq. 7);
        ``"code"`` by the square roots of those sums (the authors' MATLAB code);
        ``"cosine"`` by ``sqrt(k(X_i, X_i) k(X_j, X_j))``, under which the paper and
        code variants coincide, and which gives every bag unit norm. None: no
        normalisation.
    edge_metric : {"sqeuclidean", "euclidean", "gaussian"}, default="sqeuclidean"
        Distance that builds the epsilon-graph: squared Euclidean as in the authors'
        code, Euclidean, or the Gaussian distance ``1 - exp(-gamma ||x - x'||^2)``
        stated in the paper. Because the threshold is a per-bag mean, the choice
        changes which edges exist.
    kernel_approximation : {"auto", "nystroem", "rff"} or None, default="auto"
        Replace the RBF instance kernel by an explicit feature map ``z`` with
        ``z(x)'z(x') ~ exp(-gamma ||x - x'||^2)``: ``"nystroem"``
        (:class:`sklearn.kernel_approximation.Nystroem`, ``n_components`` landmark
        instances drawn from the training instances) or ``"rff"``
        (:class:`sklearn.kernel_approximation.RBFSampler`, random Fourier features). The
        bag kernel is then the inner product of the bags' clique-weighted sums of ``z``,
        normalised as the exact kernel is: a linear kernel on one ``n_components``
        vector per bag, which costs ``O(N m (d + m))`` time for ``m = n_components``
        instead of ``O(N^2 d)``; with ``solver="primal"`` no Gram matrix is formed
        (``O(n_bags m)`` memory instead of ``O(n_bags^2)``). The graphs are built as
        without it. The map is fitted on the training instances (without their labels)
        and drawn with ``random_state`` (seed 0 when None).
        ``"auto"`` keeps the exact kernel up to 10,000 training bags and takes
        ``"nystroem"`` above, where the exact Gram matrix passes 800 MB.
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
    n_jobs : int, default=None
        Threads of the numba loops that build the bags' graphs (scikit-learn's meaning:
        None is 1, -1 all processors).
    random_state : int, RandomState instance or None, default=None
        Shuffles the inner-CV folds of ``C="cv"``/``gamma="cv"`` and draws the map of
        ``kernel_approximation``; None keeps the canonical folds.

    Attributes
    ----------
    support_ : ndarray of shape (n_support_bags,)
        Indices of the support bags among the training bags (as given to ``fit``).
    support_bags_ : Bags
        The support bags.
    dual_coef_ : ndarray of shape (n_support_bags,) or (n_classes - 1, n_support_bags)
        ``y_i alpha_i`` of the support bags (positive for ``classes_[1]``); with
        K >= 3 classes, libsvm's one-vs-one coefficients.
    intercept_ : float or ndarray of shape (n_classes * (n_classes - 1) / 2,)
    C_ : float
        The C used (chosen by inner CV when ``C="cv"``).
    gamma_ : float
        The gamma used.
    coef_ : ndarray of shape (n_components,) or (n_classes, n_components)
        Under ``kernel_approximation``: the linear model on the bags' normalised,
        clique-weighted sums of the map (one row per class against the rest for K >= 3
        classes); the ``support_``, ``support_bags_`` and ``dual_coef_`` of the exact
        kernel are then absent.
    kernel_map_ : Nystroem or RBFSampler
        Under ``kernel_approximation``: the fitted instance map.
    solver_ : {"libsvm", "primal"}
        The solver used (``"auto"`` resolved).
    kernel_approximation_ : {"nystroem", "rff"} or None
        The map used (``"auto"`` resolved; None: the exact kernel).
    cv_results_ : dict
        The inner CV (GridSearchCV's format); only after a search.
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int

    Notes
    -----
    Cost: graphs O(sum_i n_i^2 d); the Gram matrix O(N^2 d) by BLAS row blocks with the
    clique weights folded into the GEMM, memory O(B^2 + 512 N). mi-Graph has no
    instance-level model, so it offers no ``predict_instances``.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.graph import MIGraph
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> clf = MIGraph().fit(bags, y)
    >>> clf.decision_function(bags[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        **_COMMON_CONSTRAINTS,
        "gamma": [_POSITIVE, StrOptions({"auto", "scale", "cv"})],
        "kernel_approximation": [StrOptions({"auto", "nystroem", "rff"}), None],
        "n_components": N_COMPONENTS_CONSTRAINT,
        "solver": [StrOptions({"auto", "libsvm", "primal"})],
        "normalize": [StrOptions({"cosine", "paper", "code"}), None],
    }

    def __init__(
        self,
        *,
        C: Any = "cv",
        gamma: Any = "auto",
        normalize: str | None = "cosine",
        edge_metric: str = "sqeuclidean",
        kernel_approximation: str | None = "auto",
        n_components: int = 256,
        solver: str = "auto",
        class_weight: Any = None,
        n_jobs: int | None = None,
        random_state: Any = None,
    ) -> None:
        self.C = C
        self.gamma = gamma
        self.normalize = normalize
        self.edge_metric = edge_metric
        self.kernel_approximation = kernel_approximation
        self.n_components = n_components
        self.solver = solver
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.random_state = random_state


class MIGraphExplicit(BagKernelSVM):
    """MI-Graph: an SVM on an explicit graph kernel (node kernel + edge kernel).

    Each bag becomes its epsilon-graph (as in :class:`MIGraph`). Two graphs are compared
    by ``sum_{a,b} k_node(x_a, x'_b) + sum_{e,e'} k_edge(f_e, f'_e')``, both Gaussian,
    where the feature of a (directed) edge u -> v is ``[d_u, p_u, d_v, p_v]``: the
    degree over the number of edges and the summed affinity (reciprocal distance) over
    the total affinity of the bag. The kernel is cosine-normalised and a C-SVM is
    trained on it.

    A bag's graph holds up to ``n (n - 1)`` edges and its edge kernel works on
    ``n x n`` blocks, so bags of more than 4,096 instances are refused with a message;
    :class:`MIGraph`, whose clique weights need memory linear in a bag's size, takes
    them.

    Parameters
    ----------
    C : float or "cv", default="cv"
        SVC regularisation, chosen by inner CV by default (as :class:`MIGraph`).
    gamma_node : {"auto", "scale"} or float, default="auto"
        RBF coefficient of the node (instance) kernel, scikit-learn's meaning on the
        instances (``"auto"``: ``1 / n_features``).
    gamma_edge : "auto" or float, default="auto"
        RBF coefficient of the edge kernel (``"auto"`` = 1/4 for the 4-D edge features).
    edge_metric : {"sqeuclidean", "euclidean", "gaussian"}, default="sqeuclidean"
        Distance that builds the epsilon-graph (see :class:`MIGraph`).
    normalize : "cosine" or None, default="cosine"
        Cosine normalisation of the graph kernel; None: none.
    class_weight : dict, "balanced" or None, default=None
        Multipliers of ``C`` per class (dict keyed by bag label), as in SVC.
    n_jobs : int, default=None
        Threads of the numba loops (graphs and edge kernels; scikit-learn's meaning).
    random_state : int, RandomState instance or None, default=None
        Shuffles the inner-CV folds of ``C="cv"``; None keeps the canonical folds.

    Attributes
    ----------
    support_ : ndarray of shape (n_support_bags,)
        Indices of the support bags among the training bags (as given to ``fit``).
    support_bags_ : Bags
        The support bags.
    dual_coef_ : ndarray of shape (n_support_bags,) or (n_classes - 1, n_support_bags)
        With K >= 3 classes, libsvm's one-vs-one coefficients.
    intercept_ : float or ndarray of shape (n_classes * (n_classes - 1) / 2,)
    C_ : float
        The C used.
    gamma_node_, gamma_edge_ : float
        The kernel coefficients used.
    cv_results_ : dict
        The inner CV of ``C="cv"`` (GridSearchCV's format); only after a search.
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int

    Notes
    -----
    The edge kernel is never summed edge pair by edge pair: an edge's feature is the
    concatenation of its two ends' statistics, so the Gaussian of two edges is the
    product of two Gaussians of node statistics, and the sum over the ``E_i E_j`` edge
    pairs of two bags reduces to products with the bags' adjacency lists
    (:func:`skmil._kernels.graph.edge_kernel_sums`). Cost
    O(sum_ij (n_i n_j d + E_i n_j + E_j n_i)), where E_i, up to n_i(n_i - 1), is the
    number of edges of bag i: worst case O(B^2 n^3) instead of the O(B^2 n^4) of the
    edge pairs; memory O(sum_i E_i). That is still a power of the bag size above
    :class:`MIGraph`'s O(B^2 n^2 d), which remains the scalable variant. Both edge
    directions are kept, which makes the kernel independent of instance order.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.graph import MIGraphExplicit
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> clf = MIGraphExplicit().fit(bags, y)
    >>> clf.predict(bags[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        **_COMMON_CONSTRAINTS,
        "gamma_node": [_POSITIVE, StrOptions({"auto", "scale"})],
        "gamma_edge": [_POSITIVE, StrOptions({"auto"})],
        "normalize": [StrOptions({"cosine"}), None],
    }

    def __init__(
        self,
        *,
        C: Any = "cv",
        gamma_node: Any = "auto",
        gamma_edge: Any = "auto",
        edge_metric: str = "sqeuclidean",
        normalize: str | None = "cosine",
        class_weight: Any = None,
        n_jobs: int | None = None,
        random_state: Any = None,
    ) -> None:
        self.C = C
        self.gamma_node = gamma_node
        self.gamma_edge = gamma_edge
        self.edge_metric = edge_metric
        self.normalize = normalize
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _graph(self, bags: Bags):
        with numba_threads(self.n_jobs):
            stats, src, dst, eo = graph_structure(
                bags.instances, bags.offsets, METRIC_CODES[self.edge_metric], self.gamma_node_)
        return stats, bags.offsets, src, dst, eo

    def _edge_sums(self, graph, graph2=None, diagonal=False) -> np.ndarray:
        with numba_threads(self.n_jobs):
            return edge_kernel_sums(graph, self.gamma_edge_, graph2, diagonal=diagonal)

    def _train_gram(self, bags: Bags):
        self.gamma_node_ = resolve_gamma(self.gamma_node, bags.instances)
        self.gamma_edge_ = resolve_gamma(self.gamma_edge, np.zeros((1, 4)))
        graph = self._graph(bags)
        K = weighted_set_kernel(bags.instances, bags.offsets, None, self.gamma_node_)
        K += self._edge_sums(graph)
        if self.normalize is None:
            return K, None
        scale = np.sqrt(np.diagonal(K)).copy()
        K /= np.outer(scale, scale)
        return K, scale

    def _prepare_support(self, rows: np.ndarray) -> None:
        # a bag's graph depends on that bag alone
        self._support_graph = self._graph(self.support_bags_)

    def _cross_gram(self, bags: Bags) -> np.ndarray:
        sb = self.support_bags_
        graph = self._graph(bags)
        K = weighted_set_kernel(bags.instances, bags.offsets, None, self.gamma_node_,
                                sb.instances, sb.offsets, None)
        K += self._edge_sums(graph, self._support_graph)
        if self.normalize is not None:
            node = weighted_set_kernel_diag(bags.instances, bags.offsets, None, self.gamma_node_)
            self_k = node + self._edge_sums(graph, diagonal=True)
            K /= np.outer(np.sqrt(self_k), self._support_aux)
        return K


class MIGraphSVR(_MIGraphKernel, BagKernelSVR):
    """mi-Graph regression: an epsilon-SVR on mi-Graph's clique-weighted set kernel.

    The bag kernel of :class:`MIGraph` (Zhou, Sun & Li 2009): per-bag epsilon-graphs,
    clique weights ``1 / degree`` and the weighted, normalised set kernel, with libsvm's
    epsilon-SVR in place of the C-SVM, for real-valued bag targets. The SVR is fitted to
    the standardised training targets, so ``epsilon`` is in units of their standard
    deviation.

    Parameters
    ----------
    C : float or "cv", default="cv"
        SVR penalty (on the standardised targets). ``"cv"`` chooses it from
        (0.1, 1, 10, 100, 1000) by skmil's inner 5-fold CV for regressors (negative mean
        squared error) on slices of the training Gram matrix.
    epsilon : float, default=0.1
        Half-width of the SVR's epsilon-insensitive tube, in units of the training
        targets' standard deviation.
    gamma : {"auto", "scale", "cv"} or float, default="auto"
        RBF coefficient of the instance kernel, as in :class:`MIGraph`; ``"cv"`` chooses
        it jointly with ``C`` by the same inner CV.
    normalize : {"cosine", "paper", "code"} or None, default="cosine"
        Normalisation of the bag kernel, as in :class:`MIGraph`.
    edge_metric : {"sqeuclidean", "euclidean", "gaussian"}, default="sqeuclidean"
        Distance that builds the epsilon-graph, as in :class:`MIGraph`.
    kernel_approximation : {"auto", "nystroem", "rff"} or None, default="auto"
        Replace the instance kernel by an explicit feature map, as in
        :class:`MIGraph`: the bag kernel becomes a linear kernel on one
        ``n_components`` vector per bag, and ``solver`` fits a linear SVR on them.
    n_components : int, default=256
        Dimension of the map of ``kernel_approximation``, as in :class:`MIGraph`.
    solver : {"auto", "libsvm", "primal"}, default="auto"
        How the SVR is fitted under ``kernel_approximation``: ``"libsvm"`` runs
        libsvm on the Gram matrix of the bag features (the exact kernel's solver and
        epsilon-insensitive loss, ``O(n_bags^2)`` memory), ``"primal"`` fits the linear SVR on the
        features without a Gram matrix (liblinear's
        squared epsilon-insensitive loss). ``"auto"``: ``"libsvm"`` up to 4,096
        training bags, ``"primal"`` above. Without ``kernel_approximation`` the
        exact kernel takes libsvm (``"auto"`` or ``"libsvm"``).
    n_jobs : int, default=None
        Threads of the numba loops that build the bags' graphs (scikit-learn's meaning).
    random_state : int, RandomState instance or None, default=None
        Shuffles the inner-CV folds of ``C="cv"``/``gamma="cv"`` and draws the map of
        ``kernel_approximation``; None keeps the canonical folds.

    Attributes
    ----------
    support_ : ndarray of shape (n_support_bags,)
        Indices of the support bags among the training bags (as given to ``fit``).
    support_bags_ : Bags
        The support bags.
    dual_coef_ : ndarray of shape (n_support_bags,)
        Dual coefficients in the targets' units.
    intercept_ : float
        ``predict(B) = sum_i dual_coef_[i] K(B, support_bags_[i]) + intercept_``.
    C_ : float
        The C used (chosen by inner CV when ``C="cv"``).
    gamma_ : float
        The gamma used.
    coef_ : ndarray of shape (n_components,)
        Under ``kernel_approximation``: the linear model on the bags' normalised,
        clique-weighted sums of the map, in the targets' units; the ``support_``,
        ``support_bags_`` and ``dual_coef_`` of the exact kernel are then absent.
    kernel_map_ : Nystroem or RBFSampler
        Under ``kernel_approximation``: the fitted instance map.
    solver_ : {"libsvm", "primal"}
        The solver used (``"auto"`` resolved).
    kernel_approximation_ : {"nystroem", "rff"} or None
        The map used (``"auto"`` resolved; None: the exact kernel).
    cv_results_ : dict
        The inner CV (GridSearchCV's format, negative mean squared errors); only after
        a search.
    n_features_in_ : int

    Examples
    --------
    >>> from skmil.datasets import make_mil_regression
    >>> from skmil.graph import MIGraphSVR
    >>> bags, y, _ = make_mil_regression(n_bags=40, rule="mean", random_state=0)
    >>> MIGraphSVR().fit(bags, y).predict(bags[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        **{k: v for k, v in MIGraph._parameter_constraints.items() if k != "class_weight"},
        "epsilon": EPSILON_CONSTRAINT,
    }

    def __init__(
        self,
        *,
        C: Any = "cv",
        epsilon: float = 0.1,
        gamma: Any = "auto",
        normalize: str | None = "cosine",
        edge_metric: str = "sqeuclidean",
        kernel_approximation: str | None = "auto",
        n_components: int = 256,
        solver: str = "auto",
        n_jobs: int | None = None,
        random_state: Any = None,
    ) -> None:
        self.C = C
        self.epsilon = epsilon
        self.gamma = gamma
        self.normalize = normalize
        self.edge_metric = edge_metric
        self.kernel_approximation = kernel_approximation
        self.n_components = n_components
        self.solver = solver
        self.n_jobs = n_jobs
        self.random_state = random_state
