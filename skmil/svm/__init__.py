"""SVM-based MIL estimators."""

from .mi_svm import MISVM, miSVM
from .mica import MICA
from .misssvm import MissSVM
from .nsk import MIKernelSVM, set_kernel
from .sil import SIL
from .smil import sbMIL, sMIL, stMIL
from .stk import STK

__all__ = [
    "MICA",
    "MISVM",
    "MIKernelSVM",
    "MissSVM",
    "SIL",
    "STK",
    "miSVM",
    "sbMIL",
    "sMIL",
    "set_kernel",
    "stMIL",
]
