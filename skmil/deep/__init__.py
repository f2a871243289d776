"""Deep multiple-instance learning with PyTorch (optional: ``pip install skmil[deep]``).

The estimators are ordinary scikit-learn classifiers taking lists of bags. Importing
this package never imports torch; without torch the names exist but constructing one
raises an :class:`ImportError` naming the extra to install, and the estimator registry
(:func:`skmil.utils.all_estimators`) leaves them out.
"""

from ._estimators import (
    DSMIL,
    AttentionMIL,
    DeepMILClassifier,
    GatedAttentionMIL,
    MINet,
    MiNet,
    MINetDS,
    MINetRC,
    torch_available,
)

__all__ = [
    "DeepMILClassifier",
    "MiNet",
    "MINet",
    "MINetDS",
    "MINetRC",
    "AttentionMIL",
    "GatedAttentionMIL",
    "DSMIL",
    "torch_available",
]

# the registry skips classes flagged abstract: without torch they cannot be built
for _cls in (DeepMILClassifier, MiNet, MINet, MINetDS, MINetRC, AttentionMIL,
             GatedAttentionMIL, DSMIL):
    _cls._abstract = not torch_available()
del _cls
