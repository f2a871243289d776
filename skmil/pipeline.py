"""Instance-level outputs through composition: pipelines and fitted searches.

A :class:`~sklearn.pipeline.Pipeline` exposes only its last step's bag-level methods,
and a fitted :class:`~sklearn.model_selection.GridSearchCV` only the best estimator's
bag-level ones. :func:`decision_function_instances` and :func:`predict_instances` reach
the instance-level methods through both: the bags are transformed by every step before
the last (which must keep them bags, e.g. :class:`~skmil.preprocessing.InstanceTransformer`),
then the final estimator scores their instances.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

__all__ = ["decision_function_instances", "final_estimator", "predict_instances"]


def _unwrap(model: Any, X: Any, transform: bool = True) -> tuple[Any, Any]:
    """The estimator that owns the instance methods, and ``X`` as it receives it."""
    while True:
        if isinstance(model, Pipeline):
            for _, step in model.steps[:-1]:
                if not transform or step is None or step == "passthrough":
                    continue
                X = step.transform(X)
            model = model.steps[-1][1]
        elif hasattr(model, "best_estimator_"):
            model = model.best_estimator_
        else:
            return model, X


def final_estimator(model: Any) -> Any:
    """The estimator at the end of a pipeline or inside a fitted search.

    Parameters
    ----------
    model : estimator, Pipeline or fitted search (``GridSearchCV``, ...)
        The model to unwrap.

    Returns
    -------
    estimator
        The last step of a Pipeline, the refitted best estimator of a search (nested
        ones unwrapped in turn), or ``model`` itself.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skmil.pipeline import final_estimator
    >>> from skmil.preprocessing import InstanceTransformer
    >>> from skmil.svm import SIL
    >>> type(final_estimator(make_pipeline(InstanceTransformer(), SIL()))).__name__
    'SIL'
    """
    return _unwrap(model, None, transform=False)[0]


def _method(model: Any, X: Any, name: str) -> list[np.ndarray]:
    est, Xt = _unwrap(model, X)
    if not hasattr(est, name):
        raise AttributeError(
            f"{type(est).__name__} has no {name}: its per-instance outputs are not witness "
            "scores (see skmil.base.get_mil_tags(estimator).instance_outputs)."
        )
    return getattr(est, name)(Xt)


def decision_function_instances(model: Any, X: Any) -> list[np.ndarray]:
    """Witness scores of the final estimator, with ``X`` transformed by the earlier steps.

    Parameters
    ----------
    model : fitted estimator, Pipeline or search (``GridSearchCV``, ...)
        Its final estimator must have ``decision_function_instances``.
    X : sequence of array-like of shape (n_instances_i, n_features)
        Bags, as given to ``model.predict``.

    Returns
    -------
    scores : list of ndarray of shape (n_instances_i,)
        The final estimator's witness scores, one array per bag.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.pipeline import decision_function_instances
    >>> from skmil.preprocessing import InstanceTransformer
    >>> from skmil.svm import SIL
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> model = make_pipeline(InstanceTransformer(), SIL(random_state=0)).fit(bags, y)
    >>> decision_function_instances(model, bags[:1])[0].shape == (bags[0].shape[0],)
    True
    """
    return _method(model, X, "decision_function_instances")


def predict_instances(model: Any, X: Any) -> list[np.ndarray]:
    """Instance labels of the final estimator, with ``X`` transformed by the earlier steps.

    Parameters
    ----------
    model : fitted estimator, Pipeline or search (``GridSearchCV``, ...)
        Its final estimator must have ``predict_instances``.
    X : sequence of array-like of shape (n_instances_i, n_features)
        Bags, as given to ``model.predict``.

    Returns
    -------
    labels : list of ndarray of shape (n_instances_i,)
        ``classes_[1]`` for predicted witnesses.

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.pipeline import predict_instances
    >>> from skmil.svm import SIL
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> search = GridSearchCV(SIL(threshold=0.0), {"C": [0.1, 1.0]}, cv=3).fit(bags, y)
    >>> len(predict_instances(search, bags[:3]))
    3
    """
    return _method(model, X, "predict_instances")
