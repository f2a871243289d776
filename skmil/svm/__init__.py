"""SVM-based MIL estimators."""

from .mi_svm import MISVM, miSVM
from .sil import SIL

__all__ = ["MISVM", "SIL", "miSVM"]
