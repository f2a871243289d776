"""Deep multiple-instance learning with PyTorch (optional: ``pip install skmil[deep]``).

The estimators are ordinary scikit-learn classifiers (and one regressor) taking lists
of bags. Importing
this package never imports torch; without torch the names exist but constructing one
raises an :class:`ImportError` naming the extra to install, and the estimator registry
(:func:`skmil.utils.all_estimators`) leaves them out (they declare
``_required_dependencies = ("torch",)``).
"""

from ._estimators import (
    DSMIL,
    AdditiveMIL,
    AttentionMIL,
    ConjunctiveMIL,
    DeepMILClassifier,
    DeepMILRegressor,
    GatedAttentionMIL,
    InstanceMINet,
    MINet,
    MINetDS,
    MINetRC,
    PowerPoolingMIL,
    torch_available,
)

__all__ = [
    "DeepMILClassifier",
    "DeepMILRegressor",
    "InstanceMINet",
    "MINet",
    "MINetDS",
    "MINetRC",
    "AttentionMIL",
    "GatedAttentionMIL",
    "DSMIL",
    "PowerPoolingMIL",
    "ConjunctiveMIL",
    "AdditiveMIL",
    "torch_available",
]

