"""Boosting and randomised trees for MIL: MILBoost, MIBoost and MIForest."""

from .miboost import MIBoost
from .miforest import MIForest
from .milboost import MILBoost

__all__ = ["MIBoost", "MIForest", "MILBoost"]
