"""The parameter-constraint vocabulary of skmil (a thin compatibility layer).

Every skmil estimator declares ``_parameter_constraints`` the scikit-learn way, and
:class:`skmil.base.BaseMILClassifier` / :class:`~skmil.base.BaseMILTransformer` check them
once at the start of ``fit``, before any work. The constraint classes are scikit-learn's
own (``sklearn.utils._param_validation``), re-exported from this one module so that a
change of their private home is a one-line fix here, not an edit of thirty estimators.
"""

from __future__ import annotations

from numbers import Integral, Real

from sklearn.utils._param_validation import (
    HasMethods,
    Hidden,
    Interval,
    InvalidParameterError,
    Options,
    RealNotInt,
    StrOptions,
    generate_invalid_param_val,
    make_constraint,
    validate_parameter_constraints,
)

__all__ = [
    "HasMethods",
    "Hidden",
    "Integral",
    "Interval",
    "InvalidParameterError",
    "Options",
    "Real",
    "RealNotInt",
    "StrOptions",
    "Subset",
    "generate_invalid_param_val",
    "make_constraint",
    "validate_parameter_constraints",
]


class Subset(Options):
    """A string among ``options``, or a non-empty tuple/list of distinct such strings.

    For parameters that select several named parts, e.g. ``statistics=("mean", "max")``.

    Parameters
    ----------
    options : iterable of str
        The allowed names.

    Examples
    --------
    >>> from skmil.utils._param_validation import Subset
    >>> Subset({"mean", "max"}).is_satisfied_by(("mean", "max"))
    True
    >>> Subset({"mean", "max"}).is_satisfied_by(("mean", "mean"))
    False
    """

    # an Options subclass, so scikit-learn's validation machinery takes it as a constraint
    def __init__(self, options) -> None:
        super().__init__(object, set(options))
        self.options = tuple(sorted(options))

    def is_satisfied_by(self, val) -> bool:
        if isinstance(val, str):
            return val in self.options
        if not isinstance(val, (tuple, list)) or not val:
            return False
        return all(isinstance(v, str) and v in self.options for v in val) and len(
            set(val)) == len(val)

    def __str__(self) -> str:
        return (f"a str among {list(self.options)} or a non-empty tuple of distinct such "
                "strings")
