"""skmil's estimator contract as reusable checks.

Every skmil estimator passes these checks (``tests/test_contract.py`` runs them on the
whole registry), and a third-party MIL estimator can run them too::

    from skmil.utils.estimator_checks import parametrize_with_checks

    @parametrize_with_checks([MyMILClassifier(), MyBagEmbedding()])
    def test_contract(estimator, check):
        check(estimator)

A check takes an estimator *instance*, configured as it should be tested (small
iteration counts for speed, ``random_state`` fixed); it clones it before fitting and
raises ``AssertionError`` (or the estimator's own error) when the contract is broken.
The instance-prediction contract is described in :mod:`skmil.base`.
"""

from __future__ import annotations

import copy
import inspect
import pickle
import warnings
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any

import numpy as np
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold, cross_val_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline

from ..base import BAG_RULES, get_mil_tags
from ._param_validation import InvalidParameterError, generate_invalid_param_val, make_constraint

__all__ = [
    "check_bad_input_errors",
    "check_bag_order_invariance",
    "check_classifier_refuses_continuous_targets",
    "check_classifier_shapes_and_agreement",
    "check_clone_and_pickle",
    "check_deterministic_with_random_state",
    "check_does_not_modify_inputs",
    "check_extreme_scale",
    "check_feature_names",
    "check_grid_search",
    "check_init_stores_params_only",
    "check_instance_contract",
    "check_instance_order_invariance",
    "check_instance_regression_contract",
    "check_label_count_errors",
    "check_label_encodings",
    "check_multiclass",
    "check_not_fitted",
    "check_one_vs_rest",
    "check_param_validation",
    "check_parameters_declared",
    "check_pipeline_and_cross_validation",
    "check_transformer_output",
    "check_wrong_n_features",
    "check_regression_target_errors",
    "check_regressor_pipeline_and_search",
    "check_regressor_shapes_and_score",
    "make_check_data",
    "make_check_multiclass_data",
    "make_check_regression_data",
    "parametrize_with_checks",
    "yield_checks",
]

_RTOL, _ATOL = 1e-6, 1e-8


def make_check_data(n_bags: int = 30, random_state: int = 0):
    """The small, well-separated MIL problem the checks fit on.

    Parameters
    ----------
    n_bags : int, default=30
        Number of bags (half positive).
    random_state : int, default=0
        Seed.

    Returns
    -------
    bags : list of ndarray of shape (n_instances_i, 4)
        The bags, 4 features each and 5 instances on average.
    y : ndarray of shape (n_bags,)
        0/1 bag labels.
    instance_labels : list of ndarray
        True witness labels.

    Examples
    --------
    >>> from skmil.utils.estimator_checks import make_check_data
    >>> bags, y, _ = make_check_data()
    >>> len(bags), bags[0].shape[1]
    (30, 4)
    """
    from ..datasets import make_mil_classification

    return make_mil_classification(
        n_bags=n_bags, n_features=4, bag_size=5, class_sep=4.0, random_state=random_state
    )


def make_check_regression_data(n_bags: int = 30, random_state: int = 0, rule: str = "mean"):
    """The small MIL regression problem the checks fit regressors on.

    Parameters
    ----------
    n_bags : int, default=30
        Number of bags.
    random_state : int, default=0
        Seed.
    rule : {"mean", "max"}, default="mean"
        How the bag target follows from the instance targets; the checks use a
        regressor's own bag rule when it declares ``"max"``.

    Returns
    -------
    bags : list of ndarray of shape (n_instances_i, 4)
        The bags, 4 features each and 5 instances on average.
    y : ndarray of shape (n_bags,)
        Bag targets: the mean (or max) of the instances' linear targets.
    instance_targets : list of ndarray
        True instance targets.

    Examples
    --------
    >>> from skmil.utils.estimator_checks import make_check_regression_data
    >>> bags, y, _ = make_check_regression_data()
    >>> len(bags), y.dtype
    (30, dtype('float64'))
    """
    from ..datasets import make_mil_regression

    return make_mil_regression(n_bags=n_bags, n_features=4, bag_size=5, rule=rule,
                               random_state=random_state)


def _data(estimator: Any = None):
    if estimator is not None and is_regressor(estimator):
        max_rule = get_mil_tags(estimator).bag_rule == "max"
        return make_check_regression_data(rule="max" if max_rule else "mean")
    return make_check_data()


def _fresh(estimator: Any) -> Any:
    return clone(estimator)


def _output(est: Any, bags: Any) -> np.ndarray:
    if is_classifier(est):
        return est.decision_function(bags)
    if is_regressor(est):
        return est.predict(bags)
    out = est.transform(bags)
    return np.asarray(out.instances if hasattr(out, "instances") else out)


def _copy_bags(bags):
    return [b.copy() for b in bags]


# --------------------------------------------------------------------------- parameters
def _no_work(message: str, *args, **kwargs):
    raise AssertionError(message)


class _BadType:
    """A value of a type no parameter accepts."""

    def __repr__(self) -> str:
        return "_BadType()"


def check_parameters_declared(name: str, estimator: Any) -> None:
    """Every ``__init__`` parameter is keyword-only and has a declared constraint."""
    init = type(estimator).__init__
    if init is object.__init__:
        return
    params = [p for p in inspect.signature(init).parameters.values() if p.name != "self"]
    positional = [p.name for p in params if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    assert not positional, f"{name}: parameters {positional} must be keyword-only."
    declared = set(getattr(estimator, "_parameter_constraints", {}))
    missing = sorted(set(estimator.get_params(deep=False)) - declared)
    assert not missing, f"{name}: parameters {missing} have no entry in _parameter_constraints."


def check_init_stores_params_only(name: str, estimator: Any) -> None:
    """``__init__`` stores its parameters, unchanged, and nothing else."""
    est = type(estimator)()
    params = est.get_params(deep=False)
    extra = sorted(k for k in vars(est) if k not in params)
    assert not extra, f"{name}.__init__ sets attributes that are not parameters: {extra}"
    defaults = {
        p.name: p.default for p in inspect.signature(type(est).__init__).parameters.values()
        if p.name != "self" and p.default is not inspect.Parameter.empty
    }
    for key, default in defaults.items():
        assert params[key] is default, f"{name}.__init__ changes the parameter {key!r}."
    assert clone(est).get_params().keys() == est.get_params().keys()


def check_param_validation(name: str, estimator: Any) -> None:
    """Each constrained parameter with an invalid value fails in ``fit``, before any work.

    The error is :class:`~sklearn.utils._param_validation.InvalidParameterError` (a
    ``ValueError`` and ``TypeError``) and its message names the estimator and the
    parameter.
    """
    bags, y, _ = _data(estimator)
    constraints = getattr(estimator, "_parameter_constraints", {})
    params = estimator.get_params(deep=False)
    for param, cons in constraints.items():
        if param not in params or cons == "no_validation":
            continue
        made = [make_constraint(c) for c in cons]
        bad_values = [_BadType()]
        for constraint in made:
            try:
                bad_values.append(generate_invalid_param_val(constraint))
            except NotImplementedError:
                continue
        for bad in bad_values:
            if any(c.is_satisfied_by(bad) for c in made):
                continue
            est = _fresh(estimator).set_params(**{param: bad})

            est._fit = partial(_no_work, f"{name} started fitting with {param}={bad!r}.")
            try:
                est.fit(bags, y)
            except InvalidParameterError as exc:
                msg = str(exc)
                assert param in msg and type(est).__name__ in msg, (
                    f"{name}: the error for {param}={bad!r} must name the estimator and "
                    f"the parameter, got: {msg}"
                )
            else:  # pragma: no cover - a failing estimator
                raise AssertionError(f"{name} accepted {param}={bad!r}.")


# --------------------------------------------------------------------------- fitting
def check_classifier_shapes_and_agreement(name: str, estimator: Any) -> None:
    """Shapes and dtypes of every output; ``predict`` agrees with ``decision_function``."""
    bags, y, _ = _data(estimator)
    est = _fresh(estimator).fit(bags, y)
    assert est.n_features_in_ == bags[0].shape[1]
    np.testing.assert_array_equal(est.classes_, [0, 1])
    scores = est.decision_function(bags)
    assert scores.shape == (len(bags),) and scores.dtype == np.float64
    assert np.all(np.isfinite(scores))
    pred = est.predict(bags)
    np.testing.assert_array_equal(pred, est.classes_[(scores > 0).astype(int)])
    assert est.score(bags, y) >= 0.7, f"{name} must learn an easy, well-separated problem"
    if hasattr(est, "predict_proba"):
        proba = est.predict_proba(bags)
        assert proba.shape == (len(bags), 2)
        assert np.all((proba >= 0) & (proba <= 1))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def check_label_encodings(name: str, estimator: Any) -> None:
    """Any two label values work, and ``classes_[1]`` is always the positive class."""
    bags, y, _ = _data(estimator)
    ref = _fresh(estimator).fit(bags, y)
    for labels in [(-1, 1), ("neg", "pos"), (False, True), (3.0, 7.0)]:
        y_enc = np.asarray(labels, dtype=object if isinstance(labels[0], str) else None)[y]
        est = _fresh(estimator).fit(bags, y_enc)
        assert list(est.classes_) == sorted(labels)
        assert set(est.predict(bags)) <= set(labels)
        np.testing.assert_allclose(est.decision_function(bags), ref.decision_function(bags),
                                   rtol=_RTOL, atol=_ATOL)
        if hasattr(est, "predict_instances"):
            assert set(np.concatenate(est.predict_instances(bags))) <= set(labels)


def check_instance_contract(name: str, estimator: Any) -> None:
    """Instance outputs match the declared :class:`~skmil.base.MILTags`.

    ``predict_instances`` is ``decision_function_instances > 0``; the bag scores follow
    from the instance scores by the declared ``bag_rule`` (for ``"max"``: a bag is
    predicted positive exactly when one of its instances is); other per-instance
    outputs exist under the declared names.
    """
    bags, y, _ = _data(estimator)
    est = _fresh(estimator).fit(bags, y)
    tags = get_mil_tags(est)
    has_scores = hasattr(est, "decision_function_instances")
    assert has_scores == hasattr(est, "predict_instances") == tags.instance_scores, (
        f"{name}: MILTags.instance_scores={tags.instance_scores} but "
        f"hasattr(decision_function_instances)={has_scores}"
    )
    for method in tags.instance_outputs:
        out = getattr(est, method)(bags)
        assert len(out) == len(bags)
        for o, b in zip(out, bags):
            assert np.asarray(o).shape[0] == b.shape[0] and np.all(np.isfinite(o))
    if not has_scores:
        assert tags.bag_rule is None
        return
    assert tags.bag_rule in BAG_RULES, f"{name}: unknown bag_rule {tags.bag_rule!r}"
    scores = est.decision_function_instances(bags)
    labels = est.predict_instances(bags)
    assert len(scores) == len(labels) == len(bags)
    for s, lab, b in zip(scores, labels, bags):
        assert s.shape == (b.shape[0],) and lab.shape == (b.shape[0],)
        assert s.dtype == np.float64 and np.all(np.isfinite(s))
        np.testing.assert_array_equal(lab, est.classes_[(s > 0).astype(int)])
    bag_scores = est.decision_function(bags)
    rule = tags.bag_rule
    if rule == "max":
        np.testing.assert_allclose(bag_scores, [s.max() for s in scores], rtol=1e-6, atol=1e-8)
        clear = np.abs(bag_scores) > 1e-8
        any_witness = np.array([np.any(s > 0) for s in scores])
        np.testing.assert_array_equal((bag_scores > 0)[clear], any_witness[clear])
    elif rule == "mean":
        np.testing.assert_allclose(bag_scores, [s.mean() for s in scores], rtol=1e-6, atol=1e-8)
    elif rule == "sum":
        np.testing.assert_allclose(bag_scores, [s.sum() for s in scores], rtol=1e-6, atol=1e-8)
    elif rule == "convex":
        lo = np.array([s.min() for s in scores])
        hi = np.array([s.max() for s in scores])
        tol = 1e-6 * np.maximum(1.0, np.abs(bag_scores))
        assert np.all(bag_scores >= lo - tol) and np.all(bag_scores <= hi + tol), (
            f"{name}: bag scores must lie between the smallest and largest instance score"
        )
    elif rule == "noisy-or":
        t = float(getattr(est, "threshold_", 0.0))
        expected = []
        for s in scores:
            log_not = -np.logaddexp(0.0, s + t)  # log(1 - sigmoid(s + t))
            log_none = np.sum(log_not)
            # logit(1 - exp(log_none)) = log(-expm1(log_none)) - log_none
            expected.append(np.log(-np.expm1(log_none)) - log_none - t)
        np.testing.assert_allclose(bag_scores, expected, rtol=1e-5, atol=1e-6)


def check_clone_and_pickle(name: str, estimator: Any) -> None:
    """A clone is unfitted; pickling and deep-copying keep the fitted model."""
    bags, y, _ = _data(estimator)
    est = _fresh(estimator).fit(bags, y)
    try:
        _output(clone(est), bags)
    except (NotFittedError, AttributeError):
        pass
    else:  # pragma: no cover - a failing estimator
        raise AssertionError(f"a clone of a fitted {name} must not be fitted")
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(_output(restored, bags), _output(est, bags), rtol=1e-10)
    deep = copy.deepcopy(est)
    np.testing.assert_allclose(_output(deep, bags), _output(est, bags), rtol=1e-10)


def check_deterministic_with_random_state(name: str, estimator: Any) -> None:
    """Two fits with the same parameters (``random_state`` fixed) give the same model."""
    bags, y, _ = _data(estimator)
    a = _output(_fresh(estimator).fit(bags, y), bags)
    b = _output(_fresh(estimator).fit(bags, y), bags)
    np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)


def check_bag_order_invariance(name: str, estimator: Any) -> None:
    """The model does not depend on the order of the training bags."""
    bags, y, _ = _data(estimator)
    a = _fresh(estimator).fit(bags, y)
    perm = np.random.RandomState(2).permutation(len(bags))
    b = _fresh(estimator).fit([bags[i] for i in perm], y[perm])
    np.testing.assert_allclose(_output(b, bags), _output(a, bags), rtol=1e-7, atol=1e-9)


def check_instance_order_invariance(name: str, estimator: Any) -> None:
    """Bag outputs do not depend on the order of the instances within a bag."""
    if not getattr(estimator, "_permutation_invariant", True):
        return
    bags, y, _ = _data(estimator)
    est = _fresh(estimator).fit(bags, y)
    rng = np.random.RandomState(1)
    shuffled = [b[rng.permutation(b.shape[0])] for b in bags]
    if is_classifier(est) or is_regressor(est):
        np.testing.assert_allclose(_output(est, shuffled), _output(est, bags),
                                   rtol=_RTOL, atol=_ATOL)
    elif not hasattr(est.transform(bags), "instances"):  # bag embeddings
        np.testing.assert_allclose(est.transform(shuffled), est.transform(bags),
                                   rtol=_RTOL, atol=_ATOL)


def check_does_not_modify_inputs(name: str, estimator: Any) -> None:
    """Neither bags nor labels are modified by fit or prediction."""
    bags, y, _ = _data(estimator)
    bags_in, y_in = _copy_bags(bags), y.copy()
    est = _fresh(estimator).fit(bags_in, y_in)
    _output(est, bags_in)
    if hasattr(est, "predict_instances"):
        est.predict_instances(bags_in)
    for a, b in zip(bags_in, bags):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(y_in, y)


def check_not_fitted(name: str, estimator: Any) -> None:
    """Predicting before fitting raises ``NotFittedError``."""
    bags, _, _ = _data(estimator)
    est = _fresh(estimator)
    try:
        _output(est, bags)
    except NotFittedError:
        pass
    else:  # pragma: no cover
        raise AssertionError(f"{name} predicted before fit")
    if hasattr(est, "predict_instances"):
        try:
            est.predict_instances(bags)
        except NotFittedError:
            pass
        else:  # pragma: no cover
            raise AssertionError(f"{name} predicted instances before fit")


def _bad_inputs(bags, y):
    d = bags[0].shape[1]
    nan_bags = _copy_bags(bags)
    nan_bags[3][0, 1] = np.nan
    inf_bags = _copy_bags(bags)
    inf_bags[2][1, 0] = np.inf
    ragged = _copy_bags(bags)
    ragged[4] = np.ones((3, d + 1))
    empty_bag = _copy_bags(bags)
    empty_bag[5] = np.zeros((0, d))
    one_d = _copy_bags(bags)
    one_d[6] = np.ones(d)
    text = _copy_bags(bags)
    text[1] = np.array([["a"] * d, ["b"] * d])
    return {
        "empty": ([], [], r"no bags"),
        "nan": (nan_bags, y, r"Bag 3 .*NaN"),
        "inf": (inf_bags, y, r"Bag 2 .*infinity"),
        "ragged": (ragged, y, r"Bag 4 has"),
        "empty_bag": (empty_bag, y, r"Bag 5 has no instances"),
        "one_d": (one_d, y, r"Bag 6 is 1-D"),
        "non_numeric": (text, y, r"Bag 1 .*non-numeric"),
        "y_length": (bags, y[:-1], r"bags but y has"),
    }


def _raises(exc_types, match: str, func: Callable, *args) -> None:
    import re

    try:
        func(*args)
    except exc_types as exc:
        assert re.search(match, str(exc)), f"error {exc!s} does not match {match!r}"
    else:  # pragma: no cover
        raise AssertionError(f"no error (expected one matching {match!r})")


def check_bad_input_errors(name: str, estimator: Any) -> None:
    """Every malformed input fails with a message that names the bag."""
    bags, y, _ = _data(estimator)
    for case, (X_bad, y_bad, match) in _bad_inputs(bags, y).items():
        if case == "nan" and getattr(estimator, "_allow_nan", False):
            continue
        if case == "y_length" and not (is_classifier(estimator) or is_regressor(estimator)):
            continue
        _raises((ValueError, TypeError), match, _fresh(estimator).fit, X_bad, y_bad)


def check_extreme_scale(name: str, estimator: Any) -> None:
    """Values whose squares overflow or underflow fail with a clear error naming the bag."""
    if not getattr(estimator, "_check_input_scale", True):
        return
    bags, y, _ = _data(estimator)
    huge = _copy_bags(bags)
    huge[4] = huge[4] * 1e300
    _raises(ValueError, r"Bag 4 .*overflow", _fresh(estimator).fit, huge, y)
    tiny = [b * 1e-300 for b in bags]
    _raises(ValueError, r"underflow", _fresh(estimator).fit, tiny, y)
    est = _fresh(estimator).fit(bags, y)
    _raises(ValueError, r"Bag 0 .*overflow", _output, est, [bags[0] * 1e300] + bags[1:])


def check_label_count_errors(name: str, estimator: Any) -> None:
    """One class, or more than two in a binary classifier, fail saying what to do."""
    bags, y, _ = _data(estimator)
    _raises(ValueError, "single class", _fresh(estimator).fit, bags, np.ones_like(y))
    if not getattr(estimator, "_multi_class", False):
        _raises(ValueError, "OneVsRestClassifier", _fresh(estimator).fit, bags,
                np.arange(len(bags)) % 3)


def make_check_multiclass_data(n_bags: int = 45, random_state: int = 0):
    """A small three-class MIL problem: no witness, a witness of concept A, or of B.

    The bags of :func:`make_check_data` (with ``n_bags`` bags); half of the positive
    bags have their witnesses mirrored through the origin, a second concept in another
    region of the instance space, and become class 2. Class 0 bags hold no witness.

    Parameters
    ----------
    n_bags : int, default=45
        Number of bags.
    random_state : int, default=0
        Seed.

    Returns
    -------
    bags : list of ndarray of shape (n_instances_i, 4)
        The bags.
    y : ndarray of shape (n_bags,)
        Labels 0, 1 and 2.

    Examples
    --------
    >>> from skmil.utils.estimator_checks import make_check_multiclass_data
    >>> bags, y = make_check_multiclass_data()
    >>> sorted(set(y.tolist()))
    [0, 1, 2]
    """
    bags, y, inst = make_check_data(n_bags=n_bags, random_state=random_state)
    bags = [b.copy() for b in bags]
    y = np.asarray(y).copy()
    for k, i in enumerate(np.flatnonzero(y == 1)):
        if k % 2:
            witnesses = np.asarray(inst[i]) == 1
            bags[i][witnesses] = -bags[i][witnesses]
            y[i] = 2
    return bags, y


def check_multiclass(name: str, estimator: Any) -> None:
    """A classifier that learns K >= 3 classes natively does so under one contract.

    Only for estimators that declare it (``_multi_class``; scikit-learn's
    ``multi_class`` tag): ``classes_`` holds the K labels, ``decision_function`` one
    finite score per bag and class, ``predict`` the class of the largest score,
    ``predict_proba`` (where it exists) K probabilities summing to 1; the easy problem
    is learnt, any label values work, and a non-zero ``threshold`` is refused.
    """
    if not getattr(estimator, "_multi_class", False):
        return
    bags, y = make_check_multiclass_data()
    est = _fresh(estimator).fit(bags, y)
    np.testing.assert_array_equal(est.classes_, [0, 1, 2])
    scores = est.decision_function(bags)
    assert scores.shape == (len(bags), 3) and np.all(np.isfinite(scores))
    np.testing.assert_array_equal(est.predict(bags), est.classes_[np.argmax(scores, axis=1)])
    # the majority class is 23 of the 45 bags (0.51); chance is 1/3
    assert est.score(bags, y) >= 0.6, f"{name} must learn an easy three-class problem"
    if hasattr(est, "predict_proba"):
        proba = est.predict_proba(bags)
        assert proba.shape == (len(bags), 3) and np.all((proba >= 0) & (proba <= 1))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    named = np.array(["cat", "dog", "eel"], dtype=object)[y]
    other = _fresh(estimator).fit(bags, named)
    assert list(other.classes_) == ["cat", "dog", "eel"]
    np.testing.assert_allclose(other.decision_function(bags), scores, rtol=_RTOL, atol=_ATOL)
    if "threshold" in est.get_params(deep=False):
        _raises(ValueError, "threshold", _fresh(estimator).set_params(threshold=0.5).fit,
                bags, y)


def check_wrong_n_features(name: str, estimator: Any) -> None:
    """A different number of features at predict time fails clearly."""
    bags, y, _ = _data(estimator)
    est = _fresh(estimator).fit(bags, y)
    wider = [np.hstack([b, b[:, :1]]) for b in bags]
    _raises(ValueError, "features", _output, est, wider)


def check_feature_names(name: str, estimator: Any) -> None:
    """Bags given as DataFrames set ``feature_names_in_``; other columns later fail."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        return
    bags, y, _ = _data(estimator)
    cols = [f"f{j}" for j in range(bags[0].shape[1])]
    frames = [pd.DataFrame(b, columns=cols) for b in bags]
    est = _fresh(estimator).fit(frames, y)
    np.testing.assert_array_equal(est.feature_names_in_, cols)
    np.testing.assert_allclose(_output(est, frames), _output(est, frames))
    renamed = [pd.DataFrame(b, columns=cols[::-1]) for b in bags]
    _raises(ValueError, "feature names", _output, est, renamed)


# --------------------------------------------------------------------------- composition
def check_one_vs_rest(name: str, estimator: Any) -> None:
    """``OneVsRestClassifier`` turns the binary classifier into a multi-class one."""
    from ..datasets import make_mil_classification

    bags, y, _ = make_mil_classification(n_bags=30, n_features=4, bag_size=4, random_state=3)
    y3 = np.where(y == 1, 2, np.arange(len(y)) % 2)
    with warnings.catch_warnings():
        # classes 0 and 1 are split at random, so "0 vs rest" may be unlearnable and a
        # constant model, with its warning, is a correct answer
        warnings.filterwarnings("ignore", message=".*scores every training bag the same")
        pred = OneVsRestClassifier(_fresh(estimator)).fit(bags, y3).predict(bags)
    assert pred.shape == (len(bags),) and set(pred) <= {0, 1, 2}


def check_pipeline_and_cross_validation(name: str, estimator: Any) -> None:
    """The estimator works after a skmil transformer in a ``Pipeline`` under CV."""
    from ..preprocessing import InstanceTransformer

    bags, y, _ = _data(estimator)
    pipe = make_pipeline(InstanceTransformer(), _fresh(estimator))
    scores = cross_val_score(pipe, bags, y, cv=StratifiedKFold(3, shuffle=True, random_state=0))
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))


def check_grid_search(name: str, estimator: Any) -> None:
    """``GridSearchCV`` over one of the estimator's own parameters."""
    bags, y, _ = _data(estimator)
    est = _fresh(estimator)
    param, value = next(iter(est.get_params(deep=False).items()))
    grid = GridSearchCV(est, {param: [value]}, cv=3).fit(bags, y)
    assert grid.best_estimator_.predict(bags).shape == (len(bags),)


def check_transformer_output(name: str, estimator: Any) -> None:
    """``fit_transform`` equals ``fit`` then ``transform``; names and pandas output work."""
    bags, y, _ = _data(estimator)
    est = _fresh(estimator)
    out_ft = est.fit_transform(bags, y)
    out_t = est.transform(bags)
    if hasattr(out_t, "instances"):  # instance-wise transformers return new bags
        assert len(out_t) == len(bags)
        for a, b in zip(out_t, bags):
            assert a.shape[0] == b.shape[0]
        np.testing.assert_allclose(out_ft.instances, out_t.instances)
        width = out_t.n_features
    else:
        out_t = np.asarray(out_t)
        assert out_t.ndim == 2 and out_t.shape[0] == len(bags)
        assert np.all(np.isfinite(out_t))
        np.testing.assert_allclose(np.asarray(out_ft), out_t, rtol=1e-7, atol=1e-9)
        width = out_t.shape[1]
    names = est.get_feature_names_out()
    assert len(names) == width and all(isinstance(n, str) for n in names)
    try:
        import pandas as pd  # noqa: F401
    except ImportError:  # pragma: no cover
        return
    pd_est = _fresh(estimator).set_output(transform="pandas").fit(bags, y)
    frame = pd_est.transform(bags)
    first = frame if hasattr(frame, "columns") else frame[0]
    assert hasattr(first, "columns"), f"{name}.set_output(transform='pandas') gave no frames"
    assert list(first.columns) == list(names)


def check_classifier_refuses_continuous_targets(name: str, estimator: Any) -> None:
    """Real-valued targets given to a classifier fail with a message naming the regressors."""
    bags, y, _ = _data(estimator)
    _raises(ValueError, "regressor", _fresh(estimator).fit, bags, y + 0.25)


# --------------------------------------------------------------------------- regression
def check_regressor_shapes_and_score(name: str, estimator: Any) -> None:
    """``predict`` gives one finite float per bag, ``score`` is R^2, and it learns."""
    bags, y, _ = _data(estimator)
    est = _fresh(estimator).fit(bags, y)
    assert est.n_features_in_ == bags[0].shape[1]
    pred = est.predict(bags)
    assert pred.shape == (len(bags),) and pred.dtype == np.float64
    assert np.all(np.isfinite(pred))
    np.testing.assert_allclose(est.score(bags, y), r2_score(y, pred))
    assert est.score(bags, y) >= 0.5, f"{name} must fit an easy regression problem"
    # integer and boolean targets are numbers
    _fresh(estimator).fit(bags, np.round(3 * y).astype(int))
    _fresh(estimator).fit(bags, y > np.median(y))


def check_regression_target_errors(name: str, estimator: Any) -> None:
    """Missing, infinite or non-numeric targets fail with a message naming the bag."""
    bags, y, _ = _data(estimator)
    y_nan = y.copy()
    y_nan[3] = np.nan
    _raises(ValueError, r"bag 3", _fresh(estimator).fit, bags, y_nan)
    y_text = y.astype(object)
    y_text[2] = "high"
    _raises(ValueError, r"real number per bag, but bag 2", _fresh(estimator).fit, bags, y_text)


def check_instance_regression_contract(name: str, estimator: Any) -> None:
    """A regressor's instance predictions follow its declared bag rule.

    ``predict_instances`` exists exactly when ``MILTags.instance_scores`` is set; it
    returns one finite float per instance, and the bag rule (``"max"`` or ``"mean"``)
    maps each bag's instance predictions to its ``predict``.
    """
    bags, y, _ = _data(estimator)
    est = _fresh(estimator).fit(bags, y)
    tags = get_mil_tags(est)
    assert hasattr(est, "predict_instances") == tags.instance_scores, (
        f"{name}: predict_instances must exist exactly when MILTags.instance_scores is set")
    if not tags.instance_scores:
        return
    inst = est.predict_instances(bags)
    assert len(inst) == len(bags)
    for a, b in zip(inst, bags):
        assert a.shape == (b.shape[0],) and a.dtype == np.float64 and np.all(np.isfinite(a))
    rules = {"max": np.max, "mean": np.mean}
    assert tags.bag_rule in rules, f"{name}: a regressor's bag rule must be 'max' or 'mean'"
    rolled = [rules[tags.bag_rule](a) for a in inst]
    np.testing.assert_allclose(rolled, est.predict(bags), rtol=1e-6, atol=1e-8)


def check_regressor_pipeline_and_search(name: str, estimator: Any) -> None:
    """The regressor works in a ``Pipeline`` under ``KFold`` CV and in ``GridSearchCV``."""
    from ..preprocessing import InstanceTransformer

    bags, y, _ = _data(estimator)
    pipe = make_pipeline(InstanceTransformer(), _fresh(estimator))
    scores = cross_val_score(pipe, bags, y, cv=KFold(3, shuffle=True, random_state=0))
    assert scores.shape == (3,) and np.all(np.isfinite(scores))
    est = _fresh(estimator)
    param, value = next(iter(est.get_params(deep=False).items()))
    grid = GridSearchCV(est, {param: [value]}, cv=3).fit(bags, y)
    assert grid.best_estimator_.predict(bags).shape == (len(bags),)


# --------------------------------------------------------------------------- collection
_COMMON = (
    check_parameters_declared,
    check_init_stores_params_only,
    check_param_validation,
    check_clone_and_pickle,
    check_deterministic_with_random_state,
    check_bag_order_invariance,
    check_instance_order_invariance,
    check_does_not_modify_inputs,
    check_not_fitted,
    check_bad_input_errors,
    check_extreme_scale,
    check_wrong_n_features,
    check_feature_names,
)
_CLASSIFIER = (
    check_classifier_shapes_and_agreement,
    check_label_encodings,
    check_instance_contract,
    check_label_count_errors,
    check_one_vs_rest,
    check_pipeline_and_cross_validation,
    check_grid_search,
    check_classifier_refuses_continuous_targets,
    check_multiclass,
)
_REGRESSOR = (
    check_regressor_shapes_and_score,
    check_regression_target_errors,
    check_instance_regression_contract,
    check_regressor_pipeline_and_search,
)
_TRANSFORMER = (check_transformer_output,)


def yield_checks(estimator: Any) -> Iterator[Callable[[Any], None]]:
    """The checks that apply to ``estimator``, each a callable taking the estimator.

    Parameters
    ----------
    estimator : estimator instance
        The estimator to check; classifiers, regressors and transformers get
        different checks.

    Yields
    ------
    check : callable
        ``check(estimator)`` raises when the contract is broken.
    """
    name = type(estimator).__name__
    if is_classifier(estimator):
        checks = _COMMON + _CLASSIFIER
    elif is_regressor(estimator):
        checks = _COMMON + _REGRESSOR
    else:
        checks = _COMMON + _TRANSFORMER
    for check in checks:
        yield partial(check, name)


# Every check takes the same two arguments; their description is written once here and
# added to each check's docstring at import, so the API pages document both.
_CHECK_PARAMETERS = """

    Parameters
    ----------
    name : str
        The estimator's name, used in the failure messages.
    estimator : estimator instance
        The estimator to check, configured as it should be tested; the check fits
        clones of it and leaves it unchanged.

    Raises
    ------
    AssertionError
        When the estimator breaks this part of the contract; the message names it.
"""
if make_check_data.__doc__ is not None:  # ``python -OO`` strips docstrings
    for _check in {*_COMMON, *_CLASSIFIER, *_REGRESSOR, *_TRANSFORMER}:
        _check.__doc__ = _check.__doc__.rstrip() + _CHECK_PARAMETERS


def _check_id(obj: Any) -> str:
    if isinstance(obj, partial):
        return obj.func.__name__
    if hasattr(obj, "get_params"):
        return type(obj).__name__
    return str(obj)


def parametrize_with_checks(estimators: Iterable[Any]):
    """A ``pytest.mark.parametrize`` decorator running every check on every estimator.

    Parameters
    ----------
    estimators : iterable of estimator instances
        Each configured as it should be tested (fast settings, fixed ``random_state``).

    Returns
    -------
    decorator
        Parametrises a test function with arguments ``estimator`` and ``check``.

    Examples
    --------
    >>> from skmil.embedding import SimpleMI
    >>> from skmil.utils.estimator_checks import parametrize_with_checks
    >>> @parametrize_with_checks([SimpleMI()])
    ... def test_contract(estimator, check):
    ...     check(estimator)
    """
    import pytest

    pairs = [(est, check) for est in estimators for check in yield_checks(est)]
    return pytest.mark.parametrize("estimator, check", pairs, ids=_check_id)
