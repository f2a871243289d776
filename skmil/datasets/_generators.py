"""Synthetic MIL data with known instance labels (witnesses) or instance targets."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["make_mil_classification", "make_mil_regression", "make_digits_bags"]

_ASSUMPTIONS = ("standard", "presence", "threshold")
_RULES = ("max", "mean", "sum")


def _bag_sizes(rng, n_bags: int, bag_size, distribution: str) -> np.ndarray:
    if distribution == "fixed":
        return np.full(n_bags, int(bag_size), dtype=np.int64)
    if distribution == "poisson":
        return 1 + rng.poisson(max(float(bag_size) - 1.0, 0.0), size=n_bags).astype(np.int64)
    if distribution == "uniform":
        if np.ndim(bag_size) == 0:
            low, high = 1, 2 * int(bag_size) - 1
        else:
            low, high = (int(v) for v in bag_size)
        if not 1 <= low <= high:
            raise ValueError(f"uniform bag sizes need 1 <= low <= high, got {bag_size!r}.")
        return rng.randint(low, high + 1, size=n_bags).astype(np.int64)
    raise ValueError(
        f"bag_size_distribution must be 'poisson', 'uniform' or 'fixed', got {distribution!r}."
    )


def make_mil_classification(
    n_bags: int = 100,
    *,
    n_features: int = 10,
    bag_size=10,
    bag_size_distribution: str = "poisson",
    witness_rate: float = 0.2,
    positive_fraction: float = 0.5,
    class_sep: float = 3.0,
    n_negative_clusters: int = 3,
    noise: float = 0.0,
    random_state=None,
    assumption: str = "standard",
    n_concepts: int = 2,
    min_count: int = 2,
    return_concepts: bool = False,
    n_classes: int = 2,
):
    """Generate a MIL problem with known witnesses, under a chosen MI assumption.

    Negative ("background") instances come from a mixture of ``n_negative_clusters``
    unit-variance Gaussians around random centres. Under the standard assumption
    (the default) witnesses come from one unit-variance Gaussian whose centre lies
    ``class_sep`` away from the origin in a random direction; every instance of a
    negative bag is negative, and in a positive bag each instance is a witness with
    probability ``witness_rate``, at least one always.

    The generalised assumptions of Weidmann, Frank & Pfahringer (2003) (see also the
    survey of Foulds & Frank, 2010) use ``n_concepts`` concepts instead, unit-variance
    Gaussians whose centres lie ``class_sep`` from the origin along orthogonal random
    directions (when ``n_concepts <= n_features``), and a bag's label depends on how
    many instances of each concept it holds:

    - ``"presence"``: positive iff the bag holds at least one instance of *every*
      concept (two concepts: a "beach" image needs sand *and* water). A positive bag
      gets one instance of each concept; a negative bag lacks one concept (chosen
      uniformly) and gets one instance of each other concept, so each concept on its
      own occurs in negative bags too.
    - ``"threshold"``: positive iff the bag holds at least ``min_count`` instances of
      every concept. A positive bag gets ``min_count`` instances of each concept; a
      negative bag gets ``min_count`` of each concept but one (chosen uniformly), and
      between 1 and ``min_count - 1`` of that one, so every negative bag holds every
      concept and only the counts tell the classes apart.

    With ``n_classes = K >= 3`` (standard assumption only) there are ``K - 1`` witness
    concepts, centred as the generalised assumptions' concepts are: a bag of class
    ``k >= 1`` holds witnesses of concept ``k - 1`` only (each instance with probability
    ``witness_rate``, at least one), a bag of class 0 none; ``positive_fraction`` of the
    bags are of a class ``k >= 1``, split evenly among them (the multi-class form of the
    standard assumption: a bag's class is that of its witnesses).

    In both, each remaining instance is, with probability ``witness_rate``, an extra
    instance of a concept (uniform among the concepts that cannot change the bag's
    label: all of them in a positive bag, all but the deficient one in a negative
    bag), and background otherwise. Bag sizes are drawn as in the standard case and
    raised, in every bag of both classes, to the least size a positive bag needs
    (``n_concepts`` or ``n_concepts * min_count``), so the size does not give the label
    away.

    Parameters
    ----------
    n_bags : int, default=100
        Number of bags.
    n_features : int, default=10
        Features per instance.
    bag_size : int or (int, int), default=10
        Mean bag size (``"poisson"``: 1 + Poisson(bag_size - 1); ``"fixed"``: exactly
        this) or, with ``"uniform"``, either a mean (sizes 1 .. 2*bag_size-1) or a
        ``(low, high)`` range.
    bag_size_distribution : {"poisson", "uniform", "fixed"}, default="poisson"
    witness_rate : float in (0, 1], default=0.2
        Expected fraction of witnesses in a positive bag.
    positive_fraction : float in (0, 1), default=0.5
        Fraction of positive bags (rounded, at least one of each class).
    class_sep : float, default=3.0
        Distance of the witness centre from the origin; larger is easier.
    n_negative_clusters : int, default=3
        Number of Gaussian clusters negative instances are drawn from.
    noise : float in [0, 0.5), default=0.0
        Fraction of bag labels flipped after generation (instance labels stay true).
    random_state : int, RandomState instance or None
        Seed for reproducible output.
    assumption : {"standard", "presence", "threshold"}, default="standard"
        The rule that makes a bag positive (see above). ``"standard"`` gives exactly
        the output of earlier versions for the same arguments.
    n_concepts : int, default=2
        Number of concepts a positive bag must hold (``"presence"`` and
        ``"threshold"`` only; at least 1).
    min_count : int, default=2
        Instances of each concept a positive bag must hold (``"threshold"`` only; at
        least 2, since 1 is the presence rule).
    return_concepts : bool, default=False
        Also return each instance's concept.
    n_classes : int, default=2
        Number of bag classes (``"standard"`` only for more than 2; see above).

    Returns
    -------
    bags : list of ndarray of shape (n_instances_i, n_features)
        The bags.
    y : ndarray of shape (n_bags,)
        Bag labels 0/1, or ``0 .. n_classes - 1`` (after label noise; a flipped label of
        a multi-class problem goes to another class at random).
    instance_labels : list of ndarray of shape (n_instances_i,)
        1 for witnesses, 0 otherwise (true labels, before label noise). A witness is an
        instance of a concept: under the standard assumption an instance of the one
        positive concept, under ``"presence"`` and ``"threshold"`` an instance of any
        of the required concepts (which also occur in negative bags: there a bag's
        label follows from its concept counts, not from one instance). With
        ``n_classes >= 3``: the class a witness stands for (``k`` for concept ``k - 1``),
        0 otherwise.
    concepts : list of ndarray of shape (n_instances_i,)
        Only with ``return_concepts=True``: the concept of each instance, ``0 ..
        n_concepts - 1`` (always 0 under the standard assumption), ``-1`` for
        background instances. ``instance_labels`` is ``concepts >= 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from skmil.datasets import make_mil_classification
    >>> bags, y, inst = make_mil_classification(n_bags=20, random_state=0)
    >>> len(bags), y.shape, all(i.max() == 1 for i, lab in zip(inst, y) if lab == 1)
    (20, (20,), True)
    >>> bags, y, inst, concepts = make_mil_classification(
    ...     n_bags=20, assumption="presence", n_concepts=2, return_concepts=True,
    ...     random_state=0)
    >>> all(lab == all((c == k).any() for k in range(2)) for c, lab in zip(concepts, y))
    True
    >>> bags, y, inst = make_mil_classification(n_bags=30, n_classes=3, random_state=0)
    >>> sorted(set(y.tolist())), all(set(i.tolist()) <= {0, lab} for i, lab in zip(inst, y))
    ([0, 1, 2], True)
    """
    if assumption not in _ASSUMPTIONS:
        raise ValueError(
            f"assumption must be one of {list(_ASSUMPTIONS)}, got {assumption!r}.")
    if int(n_concepts) != n_concepts or n_concepts < 1:
        raise ValueError(f"n_concepts must be an integer >= 1, got {n_concepts!r}.")
    if int(min_count) != min_count or min_count < 2:
        raise ValueError(
            f"min_count must be an integer >= 2 (1 is assumption='presence'), got "
            f"{min_count!r}.")
    if int(n_classes) != n_classes or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}.")
    if n_classes > 2 and assumption != "standard":
        raise ValueError(
            f"n_classes={n_classes} needs assumption='standard' (a bag's class is that of "
            f"its witnesses); got assumption={assumption!r}.")
    rng = check_random_state(random_state)
    if n_bags < n_classes:
        raise ValueError(f"n_bags must be >= {n_classes} (one bag per class at least), "
                         f"got {n_bags}.")
    if not 0.0 < witness_rate <= 1.0:
        raise ValueError(f"witness_rate must be in (0, 1], got {witness_rate}.")
    if not 0.0 < positive_fraction < 1.0:
        raise ValueError(f"positive_fraction must be in (0, 1), got {positive_fraction}.")
    if not 0.0 <= noise < 0.5:
        raise ValueError(f"noise must be in [0, 0.5), got {noise}.")
    if n_features < 1 or n_negative_clusters < 1:
        raise ValueError("n_features and n_negative_clusters must be >= 1.")
    if n_classes > 2:
        return _multiclass_bags(rng, n_bags, int(n_classes), n_features=n_features,
                                bag_size=bag_size, distribution=bag_size_distribution,
                                witness_rate=witness_rate,
                                positive_fraction=positive_fraction, class_sep=class_sep,
                                n_negative_clusters=n_negative_clusters, noise=noise,
                                return_concepts=return_concepts)
    n_pos = int(np.clip(round(positive_fraction * n_bags), 1, n_bags - 1))
    y = np.zeros(n_bags, dtype=np.int64)
    y[rng.permutation(n_bags)[:n_pos]] = 1
    sizes = _bag_sizes(rng, n_bags, bag_size, bag_size_distribution)
    neg_centres = rng.normal(scale=1.0, size=(n_negative_clusters, n_features))
    if assumption != "standard":
        bags, inst_labels, concepts = _concept_bags(
            rng, y, sizes, neg_centres, n_features=n_features, class_sep=class_sep,
            witness_rate=witness_rate, n_concepts=int(n_concepts),
            min_count=1 if assumption == "presence" else int(min_count),
        )
        return _with_noise(rng, bags, y, inst_labels, concepts, noise, return_concepts)
    direction = rng.normal(size=n_features)
    direction /= np.linalg.norm(direction)
    pos_centre = class_sep * direction
    bags, inst_labels = [], []
    for label, n in zip(y, sizes):
        lab = np.zeros(n, dtype=np.int64)
        if label == 1:
            lab = (rng.random_sample(n) < witness_rate).astype(np.int64)
            if not lab.any():
                lab[rng.randint(n)] = 1
        cluster = rng.randint(n_negative_clusters, size=n)
        centres = np.where(lab[:, None] == 1, pos_centre, neg_centres[cluster])
        bags.append(centres + rng.normal(size=(n, n_features)))
        inst_labels.append(lab)
    concepts = [np.where(lab == 1, 0, -1) for lab in inst_labels]
    return _with_noise(rng, bags, y, inst_labels, concepts, noise, return_concepts)


def _multiclass_bags(rng, n_bags: int, n_classes: int, *, n_features: int, bag_size,
                     distribution: str, witness_rate: float, positive_fraction: float,
                     class_sep: float, n_negative_clusters: int, noise: float,
                     return_concepts: bool):
    """The standard assumption with ``n_classes - 1`` witness concepts (see the docstring)."""
    n_pos = int(np.clip(round(positive_fraction * n_bags), n_classes - 1, n_bags - 1))
    y = np.zeros(n_bags, dtype=np.int64)
    # the witness-holding bags, split evenly among the classes 1 .. K-1
    y[rng.permutation(n_bags)[:n_pos]] = 1 + np.arange(n_pos) % (n_classes - 1)
    sizes = _bag_sizes(rng, n_bags, bag_size, distribution)
    neg_centres = rng.normal(scale=1.0, size=(n_negative_clusters, n_features))
    centres = _concept_centres(rng, n_classes - 1, n_features, class_sep)
    bags, inst_labels, concepts = [], [], []
    for label, n in zip(y, sizes):
        witness = np.zeros(n, dtype=bool)
        if label > 0:
            witness = rng.random_sample(n) < witness_rate
            if not witness.any():
                witness[rng.randint(n)] = True
        cluster = rng.randint(n_negative_clusters, size=n)
        means = np.where(witness[:, None], centres[max(label - 1, 0)], neg_centres[cluster])
        bags.append(means + rng.normal(size=(n, n_features)))
        inst_labels.append(np.where(witness, label, 0).astype(np.int64))
        concepts.append(np.where(witness, label - 1, -1).astype(np.int64))
    if noise > 0:
        flip = np.flatnonzero(rng.random_sample(n_bags) < noise)
        # another class, uniformly
        y = y.copy()
        y[flip] = (y[flip] + rng.randint(1, n_classes, size=flip.size)) % n_classes
    if return_concepts:
        return bags, y, inst_labels, concepts
    return bags, y, inst_labels


def _with_noise(rng, bags, y, inst_labels, concepts, noise: float, return_concepts: bool):
    """Flip a ``noise`` fraction of bag labels (after all instances are drawn)."""
    if noise > 0:
        flip = rng.random_sample(y.shape[0]) < noise
        y = np.where(flip, 1 - y, y)
    if return_concepts:
        return bags, y, inst_labels, concepts
    return bags, y, inst_labels


def _concept_centres(rng, n_concepts: int, n_features: int, class_sep: float) -> np.ndarray:
    """``n_concepts`` centres at distance ``class_sep`` from the origin.

    Orthogonal directions (QR of a Gaussian matrix) while they exist, so that two
    concepts are as far apart as each is from the origin's background clusters
    (``class_sep * sqrt(2)``); random unit directions beyond ``n_features`` concepts.
    """
    G = rng.normal(size=(n_features, n_concepts))
    if n_concepts <= n_features:
        directions = np.linalg.qr(G)[0].T
    else:
        directions = (G / np.linalg.norm(G, axis=0)).T
    return class_sep * directions


def _concept_bags(rng, y, sizes, neg_centres, *, n_features: int, class_sep: float,
                  witness_rate: float, n_concepts: int, min_count: int):
    """Bags under the presence (``min_count=1``) or threshold rule (see the docstring)."""
    centres = _concept_centres(rng, n_concepts, n_features, class_sep)
    need = n_concepts * min_count
    # every bag (both classes) at least as large as a positive bag must be
    sizes = np.maximum(sizes, need)
    bags, inst_labels, concepts = [], [], []
    for label, n in zip(y, sizes):
        counts = np.full(n_concepts, min_count, dtype=np.int64)
        allowed = np.ones(n_concepts, dtype=bool)
        if label == 0:
            missing = rng.randint(n_concepts)
            # presence: the concept is absent; threshold: 1 .. min_count - 1 of it
            counts[missing] = 0 if min_count == 1 else rng.randint(1, min_count)
            allowed[missing] = False
        forced = np.repeat(np.arange(n_concepts), counts)
        concept = np.full(n, -1, dtype=np.int64)
        rest = n - forced.size
        if allowed.any():
            extra = rng.random_sample(rest) < witness_rate
            choices = np.flatnonzero(allowed)
            concept[forced.size:][extra] = choices[rng.randint(choices.size, size=int(extra.sum()))]
        concept[: forced.size] = forced
        concept = concept[rng.permutation(n)]  # forced instances anywhere in the bag
        background = neg_centres[rng.randint(neg_centres.shape[0], size=n)]
        means = np.where(concept[:, None] >= 0, centres[np.maximum(concept, 0)], background)
        bags.append(means + rng.normal(size=(n, n_features)))
        concepts.append(concept)
        inst_labels.append((concept >= 0).astype(np.int64))
    return bags, inst_labels, concepts


def make_mil_regression(
    n_bags: int = 100,
    *,
    n_features: int = 10,
    n_informative: int | None = None,
    bag_size=10,
    bag_size_distribution: str = "poisson",
    rule: str = "max",
    noise: float = 0.0,
    random_state=None,
    return_coef: bool = False,
):
    """Generate a MIL regression problem with known instance targets.

    Every instance ``x`` is drawn from a standard normal distribution and has the target
    ``t(x) = x @ coef`` (plus nothing else: no noise at the instance level), where
    ``coef`` is nonzero on the first ``n_informative`` features only, each drawn
    uniformly from [-1, 1] and the whole rescaled so that ``t`` has unit variance. A bag's
    target combines its instances' targets by ``rule``, plus Gaussian noise of standard
    deviation ``noise``:

    - ``"max"``: the largest instance target, the regression form of the standard MI
      assumption (the bag is as good as its best instance, e.g. the strongest binding
      conformation of a molecule); the bag's witness is its argmax;
    - ``"mean"``: the mean instance target (every instance counts, a collective view);
    - ``"sum"``: the sum (a total over the instances, e.g. a meter's monthly reading
      made of daily usage), which also grows with the bag's size.

    Parameters
    ----------
    n_bags : int, default=100
        Number of bags.
    n_features : int, default=10
        Features per instance.
    n_informative : int or None, default=None
        Features the instance target depends on (the first ones); None means all.
    bag_size : int or (int, int), default=10
        Mean bag size (``"poisson"``: ``1 + Poisson(bag_size - 1)``), the range of a
        ``"uniform"`` size (an int ``b`` means ``1 .. 2b - 1``), or the size of every bag
        (``"fixed"``).
    bag_size_distribution : {"poisson", "uniform", "fixed"}, default="poisson"
        How bag sizes are drawn.
    rule : {"max", "mean", "sum"}, default="max"
        How instance targets make the bag target.
    noise : float, default=0.0
        Standard deviation of the Gaussian noise added to each bag target.
    random_state : int, RandomState instance or None, default=None
        Seed of every draw.
    return_coef : bool, default=False
        Also return ``coef``.

    Returns
    -------
    bags : list of ndarray of shape (n_instances_i, n_features)
        The bags.
    y : ndarray of float64 of shape (n_bags,)
        Bag targets.
    instance_targets : list of ndarray of shape (n_instances_i,)
        The true target of every instance, ``bags[i] @ coef``.
    coef : ndarray of shape (n_features,)
        Only with ``return_coef=True``: the instance model.

    Examples
    --------
    >>> import numpy as np
    >>> from skmil.datasets import make_mil_regression
    >>> bags, y, t = make_mil_regression(n_bags=5, rule="max", random_state=0)
    >>> bool(np.allclose(y, [ti.max() for ti in t]))
    True
    """
    if rule not in _RULES:
        raise ValueError(f"rule must be one of {list(_RULES)}, got {rule!r}.")
    if int(n_bags) != n_bags or n_bags < 1:
        raise ValueError(f"n_bags must be an integer >= 1, got {n_bags!r}.")
    if int(n_features) != n_features or n_features < 1:
        raise ValueError(f"n_features must be an integer >= 1, got {n_features!r}.")
    k = n_features if n_informative is None else n_informative
    if int(k) != k or not 1 <= k <= n_features:
        raise ValueError(
            f"n_informative must be an integer in [1, n_features={n_features}] or None, "
            f"got {n_informative!r}.")
    if not noise >= 0.0:
        raise ValueError(f"noise must be >= 0, got {noise!r}.")
    rng = check_random_state(random_state)
    sizes = _bag_sizes(rng, int(n_bags), bag_size, bag_size_distribution)
    coef = np.zeros(int(n_features))
    coef[: int(k)] = rng.uniform(-1.0, 1.0, size=int(k))
    coef /= np.linalg.norm(coef) or 1.0  # unit variance of x @ coef for standard normal x
    combine = {"max": np.max, "mean": np.mean, "sum": np.sum}[rule]
    bags, targets = [], []
    for n in sizes:
        X = rng.normal(size=(int(n), int(n_features)))
        bags.append(X)
        targets.append(X @ coef)
    y = np.array([combine(t) for t in targets], dtype=np.float64)
    if noise > 0:
        y = y + rng.normal(scale=noise, size=y.shape[0])
    if return_coef:
        return bags, y, targets, coef
    return bags, y, targets


def make_digits_bags(
    n_bags: int = 100,
    *,
    mean_bag_size: float = 10,
    std_bag_size: float = 2,
    target: Any = 9,
    pool: str = "train",
    pool_fraction: float = 0.5,
    pool_random_state: int = 0,
    replace: bool = True,
    positive_fraction: float | None = None,
    random_state=None,
):
    """Bags of 8x8 digit images, positive when they hold the ``target`` digit.

    An offline analogue of the MNIST-bags protocol of Ilse et al. (2018) built from
    :func:`sklearn.datasets.load_digits` (1797 images, about 180 per digit). The image
    pool is first split, stratified by digit, into a ``"train"`` and a ``"test"`` pool
    (fixed by ``pool_random_state``), so training and test bags never share an image.
    Bags alternate positive and negative, as in the balanced loader of the original
    code: a positive bag is redrawn until it holds a target digit; a negative bag is
    drawn from the non-target images. Bag sizes are ``max(1, int(normal(mean, std)))``.
    ``positive_fraction`` replaces the alternation by that share of positive bags, at
    random positions.

    Parameters
    ----------
    n_bags : int, default=100
        Number of bags.
    mean_bag_size, std_bag_size : float, default=10, 2
        Mean and standard deviation of the bag size (the original code's "variance"
        argument was in fact a standard deviation).
    target : int or sequence of int, default=9
        The digit that makes a bag positive. A sequence of ``K - 1 >= 2`` distinct
        digits makes a ``K``-class problem: a bag of class ``k >= 1`` holds the digit
        ``target[k - 1]`` and no other target digit, a bag of class 0 no target digit;
        classes take turns (``positive_fraction``: the share of bags of a class
        ``k >= 1``, split evenly among them), and ``instance_labels`` give ``k`` for
        the instances of digit ``target[k - 1]``.
    pool : {"train", "test", "all"}, default="train"
        Which half of the image pool to draw from.
    pool_fraction : float, default=0.5
        Fraction of images in the train pool.
    pool_random_state : int, default=0
        Seed of the pool split; keep it equal for matching train and test bags.
    replace : bool, default=True
        Draw instances with replacement (as the original protocol does).
    positive_fraction : float in (0, 1) or None, default=None
        Share of positive bags: ``round(positive_fraction * n_bags)`` bags, at least one
        of each class when ``n_bags >= 2``, in random positions. None alternates positive
        and negative bags (half positive, the first one positive).
    random_state : int, RandomState instance or None
        Seed of the bag draws.

    Returns
    -------
    bags : list of ndarray of shape (n_instances_i, 64)
        Pixel intensities scaled to [0, 1].
    y : ndarray of shape (n_bags,)
        1 if the bag holds the target digit.
    instance_labels : list of ndarray of shape (n_instances_i,)
        1 for target-digit instances.

    Examples
    --------
    >>> from skmil.datasets import make_digits_bags
    >>> bags, y, inst = make_digits_bags(n_bags=10, random_state=0)
    >>> bags[0].shape[1], int(y.sum())
    (64, 5)
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if pool not in ("train", "test", "all"):
        raise ValueError(f"pool must be 'train', 'test' or 'all', got {pool!r}.")
    targets = [target] if np.ndim(target) == 0 else list(target)
    if (not targets or any(not 0 <= int(t) <= 9 or int(t) != t for t in targets)
            or len(set(targets)) != len(targets) or len(targets) > 9):
        raise ValueError(
            f"target must be a digit 0-9 or a sequence of 2 to 9 distinct digits, got "
            f"{target!r}.")
    if n_bags < 1:
        raise ValueError(f"n_bags must be >= 1, got {n_bags}.")
    digits = load_digits()
    X_all = digits.data / 16.0
    labels_all = digits.target
    idx = np.arange(labels_all.shape[0])
    if pool != "all":
        train_idx, test_idx = train_test_split(
            idx,
            train_size=pool_fraction,
            stratify=labels_all,
            random_state=pool_random_state,
        )
        idx = np.sort(train_idx if pool == "train" else test_idx)
    X_pool, lab_pool = X_all[idx], labels_all[idx]
    rng = check_random_state(random_state)
    if len(targets) > 1:
        return _digit_class_bags(rng, X_pool, lab_pool, [int(t) for t in targets], n_bags,
                                 mean_bag_size, std_bag_size, replace, positive_fraction)
    target = int(targets[0])
    non_target = np.flatnonzero(lab_pool != target)
    if positive_fraction is None:
        is_positive = np.arange(n_bags) % 2 == 0
    else:
        if not 0 < positive_fraction < 1:
            raise ValueError(
                f"positive_fraction must be in (0, 1) or None, got {positive_fraction}.")
        n_pos = int(round(positive_fraction * n_bags))
        if n_bags >= 2:
            n_pos = min(max(n_pos, 1), n_bags - 1)
        is_positive = np.zeros(n_bags, dtype=bool)
        is_positive[rng.permutation(n_bags)[:n_pos]] = True

    def size() -> int:
        return max(1, int(rng.normal(mean_bag_size, std_bag_size)))

    def draw(candidates: np.ndarray, n: int) -> np.ndarray:
        if not replace and n > candidates.size:
            raise ValueError(f"bag of {n} instances needs replace=True in a pool this small.")
        return rng.choice(candidates, size=n, replace=replace)

    bags, y, inst = [], np.zeros(n_bags, dtype=np.int64), []
    all_idx = np.arange(lab_pool.shape[0])
    for b in range(n_bags):
        positive = bool(is_positive[b])
        if positive:
            for _ in range(10_000):
                chosen = draw(all_idx, size())
                if (lab_pool[chosen] == target).any():
                    break
            else:  # pragma: no cover - needs a pool with almost no target digits
                raise RuntimeError("could not draw a positive bag; is the target in the pool?")
        else:
            chosen = draw(non_target, size())
        bags.append(X_pool[chosen].copy())
        inst.append((lab_pool[chosen] == target).astype(np.int64))
        y[b] = int(positive)
    return bags, y, inst


def _digit_class_bags(rng, X_pool, lab_pool, targets: list[int], n_bags: int,
                      mean_bag_size: float, std_bag_size: float, replace: bool,
                      positive_fraction: float | None):
    """Digits bags of ``len(targets) + 1`` classes (see ``make_digits_bags``' ``target``)."""
    n_classes = len(targets) + 1
    if positive_fraction is None:
        y = np.arange(n_bags, dtype=np.int64) % n_classes
    else:
        if not 0 < positive_fraction < 1:
            raise ValueError(
                f"positive_fraction must be in (0, 1) or None, got {positive_fraction}.")
        n_pos = int(np.clip(round(positive_fraction * n_bags), min(n_classes - 1, n_bags),
                            max(n_bags - 1, 0)))
        y = np.zeros(n_bags, dtype=np.int64)
        y[rng.permutation(n_bags)[:n_pos]] = 1 + np.arange(n_pos) % (n_classes - 1)
    is_target = np.isin(lab_pool, targets)
    bags, inst = [], []
    for label in y:
        n = max(1, int(rng.normal(mean_bag_size, std_bag_size)))
        if label == 0:
            candidates = np.flatnonzero(~is_target)
        else:
            digit = targets[label - 1]
            candidates = np.flatnonzero(~is_target | (lab_pool == digit))
        if not replace and n > candidates.size:
            raise ValueError(f"bag of {n} instances needs replace=True in a pool this small.")
        for _ in range(10_000):
            chosen = rng.choice(candidates, size=n, replace=replace)
            if label == 0 or (lab_pool[chosen] == targets[label - 1]).any():
                break
        else:  # pragma: no cover - needs a pool with almost no target digits
            raise RuntimeError("could not draw a bag with its class's digit; is it in the "
                               "pool?")
        bags.append(X_pool[chosen].copy())
        labels = np.zeros(n, dtype=np.int64)
        for k, digit in enumerate(targets, start=1):
            labels[lab_pool[chosen] == digit] = k
        inst.append(labels)
    return bags, y, inst
