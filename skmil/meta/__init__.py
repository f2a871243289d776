"""Meta-estimators: MIL around any scikit-learn classifier, and shuffled-bag augmentation."""

from .relabeling import InstanceRelabeling
from .smile import SMILe, shuffled_bag_size

__all__ = ["InstanceRelabeling", "SMILe", "shuffled_bag_size"]
