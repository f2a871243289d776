"""Distance-based MIL: EMD-SVM, Citation-kNN and the bag distances they use."""

from .citation import CitationKNN, CitationKNNRegressor, min_hausdorff_distances
from .emd import EMDSVM, emd_matrix

__all__ = ["CitationKNN", "CitationKNNRegressor", "EMDSVM", "emd_matrix", "min_hausdorff_distances"]
