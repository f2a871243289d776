"""Meta-estimators: MIL around any scikit-learn classifier, and shuffled-bag augmentation."""

from .relabeling import InstanceRelabeling
from .smile import SMILe

__all__ = ["InstanceRelabeling", "SMILe"]
