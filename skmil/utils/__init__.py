"""Utilities: the estimator registry."""

from ._registry import all_estimators, get_estimator

__all__ = ["all_estimators", "get_estimator"]
