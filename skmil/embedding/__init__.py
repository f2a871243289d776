"""Bag-embedding MIL: turn each bag into one vector for a standard classifier."""

from .bow import BagOfWords, BagOfWordsClassifier
from .fisher import FisherVectorEncoder, MiFV
from .miles import MILES, MILESEmbedding
from .statistics import BagStatistics, SimpleMI
from .vlad import MiVLAD, VLADEncoder

__all__ = [
    "BagOfWords",
    "BagOfWordsClassifier",
    "BagStatistics",
    "FisherVectorEncoder",
    "MILES",
    "MILESEmbedding",
    "MiFV",
    "MiVLAD",
    "SimpleMI",
    "VLADEncoder",
]
