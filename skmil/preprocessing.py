"""Instance-wise preprocessing: apply any sklearn transformer to every instance."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import check_is_fitted

from .bags import Bags, check_bags
from .base import BaseMILTransformer
from .utils._param_validation import HasMethods

__all__ = ["InstanceTransformer"]


class InstanceTransformer(BaseMILTransformer, auto_wrap_output_keys=None):
    """Apply an sklearn transformer to every instance of every bag.

    The transformer is fitted on the training instances only (all instances of all
    training bags, as one 2-D array), so inside a ``Pipeline`` and cross-validation the
    statistics never see test bags. The output is a new set of bags with the same
    structure (a :class:`~skmil.bags.Bags`, which behaves like a list of 2-D arrays), or
    one ``pandas.DataFrame`` per bag after ``set_output(transform="pandas")``.

    Parameters
    ----------
    estimator : sklearn transformer, default=None
        Any object with ``fit`` and ``transform`` on 2-D arrays; ``None`` means
        ``StandardScaler()``. It is cloned, never modified.

    Attributes
    ----------
    estimator_ : transformer
        The fitted clone.
    n_features_in_ : int
        Number of features of the input instances.
    feature_names_in_ : ndarray of str
        The bags' column names, when they were DataFrames with string columns.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.preprocessing import InstanceTransformer
    >>> from skmil.svm import SIL
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> model = make_pipeline(InstanceTransformer(), SIL()).fit(bags, y)
    >>> model.predict(bags[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {"estimator": [HasMethods(["fit", "transform"]), None]}

    def __init__(self, *, estimator: Any = None) -> None:
        self.estimator = estimator

    def _resolved(self):
        return StandardScaler() if self.estimator is None else self.estimator

    @property
    def _allow_nan(self) -> bool:  # an imputer may take NaN instances
        try:
            return bool(get_tags(self._resolved()).input_tags.allow_nan)
        except (AttributeError, TypeError):
            return False

    def _fit(self, bags: Bags, y) -> None:
        self.estimator_ = clone(self._resolved()).fit(bags.instances)

    def _transform(self, bags: Bags) -> Bags:
        out = self.estimator_.transform(bags.instances)
        if hasattr(out, "toarray"):
            out = out.toarray()
        if hasattr(out, "to_numpy"):
            out = out.to_numpy()
        return bags.with_instances(np.asarray(out))

    def set_output(self, *, transform: str | None = None) -> InstanceTransformer:
        """Choose the output container of ``transform`` and ``fit_transform``.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None
            ``"default"``: a :class:`~skmil.bags.Bags`; ``"pandas"`` / ``"polars"``: a
            list with one DataFrame per bag, whose columns are
            :meth:`get_feature_names_out`; None leaves the setting unchanged.

        Returns
        -------
        self : InstanceTransformer
            This transformer, with the output setting stored.

        Examples
        --------
        >>> import numpy as np
        >>> from skmil.preprocessing import InstanceTransformer
        >>> bags = [np.array([[0.0, 1.0], [2.0, 3.0]]), np.array([[4.0, 5.0]])]
        >>> frames = InstanceTransformer().set_output(transform="pandas").fit_transform(bags)
        >>> list(frames[0].columns), len(frames)
        (['x0', 'x1'], 2)
        """
        if transform is None:
            return self
        if transform not in ("default", "pandas", "polars"):
            raise ValueError(
                f"transform must be 'default', 'pandas', 'polars' or None, got {transform!r}."
            )
        if not hasattr(self, "_sklearn_output_config"):
            self._sklearn_output_config = {}
        self._sklearn_output_config["transform"] = transform
        return self

    def _container(self, out: Bags):
        dense = _get_output_config("transform", self)["dense"]
        if dense == "default":
            return out
        names = list(self.get_feature_names_out())
        if dense == "pandas":
            import pandas as pd

            return [pd.DataFrame(b, columns=names) for b in out]
        import polars as pl

        return [pl.DataFrame(b, schema=names, orient="row") for b in out]

    def transform(self, X: Any):
        """Transform every instance of every bag.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            Bags to transform.

        Returns
        -------
        Xt : Bags or list of DataFrame
            The transformed bags (see :meth:`set_output`).
        """
        return self._container(super().transform(X))

    def fit_transform(self, X: Any, y: Any = None, **fit_params):
        """Fit on the training instances, then transform them.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            Training bags.
        y : array-like of shape (n_bags,), optional
            Ignored.
        **fit_params : dict
            Unused; accepted for scikit-learn compatibility.

        Returns
        -------
        Xt : Bags or list of DataFrame
            The transformed training bags (see :meth:`set_output`).
        """
        return self._container(super().fit_transform(X, y, **fit_params))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output features, from the wrapped transformer.

        Parameters
        ----------
        input_features : array-like of str, optional
            Names of the input features; default ``feature_names_in_`` when the bags
            had column names.

        Returns
        -------
        names : ndarray of str
            The wrapped transformer's ``get_feature_names_out``; ``x0``, ``x1``, ...
            when it has none.
        """
        check_is_fitted(self)
        if input_features is None:
            input_features = getattr(self, "feature_names_in_", None)
        if hasattr(self.estimator_, "get_feature_names_out"):
            return np.asarray(self.estimator_.get_feature_names_out(input_features),
                              dtype=object)
        width = self._transform(check_bags([np.zeros((1, self.n_features_in_))])).n_features
        return np.asarray([f"x{i}" for i in range(width)], dtype=object)

    def inverse_transform(self, X: Any) -> Bags:
        """Map transformed bags back to the original feature space, where possible.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_output_features)
            Transformed bags.

        Returns
        -------
        bags : Bags
            The bags mapped back by the wrapped transformer's ``inverse_transform``.
        """
        check_is_fitted(self)
        bags = check_bags(X, allow_nan=True)
        return bags.with_instances(self.estimator_.inverse_transform(bags.instances))
