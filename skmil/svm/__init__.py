"""SVM-based MIL estimators."""

from .mi_svm import MISVM, miSVM
from .nsk import NSK, MIKernelSVM, set_kernel
from .sil import SIL
from .smil import sbMIL, sMIL
from .stk import STK

__all__ = ["MISVM", "NSK", "SIL", "STK", "MIKernelSVM", "miSVM", "sbMIL", "sMIL", "set_kernel"]
