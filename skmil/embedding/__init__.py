"""Bag-embedding MIL: turn each bag into one vector for a standard classifier."""

from .statistics import BagStatistics, SimpleMI

__all__ = ["BagStatistics", "SimpleMI"]
