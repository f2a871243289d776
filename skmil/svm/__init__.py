"""SVM-based MIL estimators."""

from .mi_svm import MISVM, miSVM
from .nsk import NSK, MIKernelSVM, set_kernel
from .sil import SIL

__all__ = ["MISVM", "NSK", "SIL", "MIKernelSVM", "miSVM", "set_kernel"]
