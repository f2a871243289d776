"""Linear MIL models: multiple-instance logistic regression."""

from .milr import MILogisticRegression

__all__ = ["MILogisticRegression"]
