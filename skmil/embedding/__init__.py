"""Bag-embedding MIL: turn each bag into one vector for a standard classifier or regressor."""

from .bow import BagOfWords, BagOfWordsClassifier, BagOfWordsRegressor
from .cce import CCE
from .fisher import FisherVectorEncoder, MiFV, MiFVRegressor
from .kernel_mean import KernelMeanEmbedding
from .mildm import MILDM, MILDMEmbedding
from .miles import MILES, MILESEmbedding
from .mind import BagDissimilarity, MInD
from .statistics import BagStatistics, SimpleMI, SimpleMIRegressor
from .tlc import TLC, tree_node_counts
from .vlad import MiVLAD, MiVLADRegressor, VLADEncoder

__all__ = [
    "BagDissimilarity",
    "BagOfWords",
    "BagOfWordsClassifier",
    "BagOfWordsRegressor",
    "BagStatistics",
    "CCE",
    "FisherVectorEncoder",
    "KernelMeanEmbedding",
    "MILDM",
    "MILDMEmbedding",
    "MILES",
    "MILESEmbedding",
    "MInD",
    "MiFV",
    "MiFVRegressor",
    "MiVLAD",
    "MiVLADRegressor",
    "SimpleMI",
    "SimpleMIRegressor",
    "TLC",
    "VLADEncoder",
    "tree_node_counts",
]
