"""Instance-wise preprocessing: apply any sklearn transformer to every instance."""

from __future__ import annotations

from typing import Any

from sklearn.base import clone
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted

from .bags import Bags, check_bags
from .base import BaseMILTransformer

__all__ = ["InstanceTransformer"]


class InstanceTransformer(BaseMILTransformer, auto_wrap_output_keys=None):
    """Apply an sklearn transformer to every instance of every bag.

    The transformer is fitted on the training instances only (all instances of all
    training bags, as one 2-D array), so inside a ``Pipeline`` and cross-validation the
    statistics never see test bags. The output is a new set of bags with the same
    structure (a :class:`~skmil.bags.Bags`, which behaves like a list of 2-D arrays).

    Parameters
    ----------
    transformer : sklearn transformer, default=None
        Any object with ``fit`` and ``transform`` on 2-D arrays; ``None`` means
        ``StandardScaler()``. It is cloned, never modified.

    Attributes
    ----------
    transformer_ : transformer
        The fitted clone.
    n_features_in_ : int
        Number of features of the input instances.

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

    def __init__(self, transformer: Any = None) -> None:
        self.transformer = transformer

    def _resolved(self):
        return StandardScaler() if self.transformer is None else self.transformer

    @property
    def _allow_nan(self) -> bool:  # an imputer may take NaN instances
        try:
            return bool(get_tags(self._resolved()).input_tags.allow_nan)
        except (AttributeError, TypeError):
            return False

    def _fit(self, bags: Bags, y) -> None:
        self.transformer_ = clone(self._resolved()).fit(bags.instances)

    def _transform(self, bags: Bags) -> Bags:
        out = self.transformer_.transform(bags.instances)
        if hasattr(out, "toarray"):
            out = out.toarray()
        if hasattr(out, "to_numpy"):
            out = out.to_numpy()
        return bags.with_instances(out)

    def inverse_transform(self, X: Any) -> Bags:
        """Map transformed bags back to the original feature space, where possible."""
        check_is_fitted(self)
        bags = check_bags(X, allow_nan=True)
        return bags.with_instances(self.transformer_.inverse_transform(bags.instances))
