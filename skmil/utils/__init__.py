"""Utilities: the estimator registry."""

from ._registry import ALIASES, all_estimators, get_estimator

__all__ = ["ALIASES", "all_estimators", "get_estimator"]
