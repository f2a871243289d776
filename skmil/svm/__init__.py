"""SVM-based MIL estimators."""

from .sil import SIL

__all__ = ["SIL"]
