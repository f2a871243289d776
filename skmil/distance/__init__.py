"""Distance-based MIL: EMD-SVM, Citation-kNN and the bag distances they use."""

from .citation import CitationKNN, min_hausdorff_distances
from .emd import EMDSVM, emd_matrix

__all__ = ["CitationKNN", "EMDSVM", "emd_matrix", "min_hausdorff_distances"]
