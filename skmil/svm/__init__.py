"""SVM-based MIL estimators."""

from .mi_svm import MISVM, InstanceMISVM
from .mica import MICA
from .misssvm import MissSVM
from .misvr import MISVR
from .nsk import MIKernelSVM, MIKernelSVR, set_kernel
from .sil import SIL
from .smil import SparseBalancedMIL, SparseMIL, SparseTransductiveMIL
from .stk import STK

__all__ = [
    "InstanceMISVM",
    "MICA",
    "MISVM",
    "MISVR",
    "MIKernelSVM",
    "MIKernelSVR",
    "MissSVM",
    "SIL",
    "STK",
    "SparseBalancedMIL",
    "SparseMIL",
    "SparseTransductiveMIL",
    "set_kernel",
]
