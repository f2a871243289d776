"""The names and one-line summaries of skmil's estimators, without importing them.

``skmil estimators`` prints this table, so that listing the estimators does not import
scikit-learn, numba kernels or torch. ``tests/test_cli_and_benchmark.py`` checks that it
matches the registry (:func:`skmil.utils.all_estimators`) entry by entry: a new, renamed
or re-documented estimator fails that test until the table is updated.
"""

from __future__ import annotations

import re

__all__ = ["CLASSIFIERS", "REGRESSORS", "TRANSFORMERS", "plain_summary"]


def plain_summary(doc: str | None) -> str:
    """The first line of a docstring as plain text: reStructuredText roles and literals
    reduced to their words (``:class:`~skmil.embedding.BagOfWords``` -> ``BagOfWords``).
    """
    lines = (doc or "").strip().splitlines()
    text = lines[0].strip() if lines else ""
    text = re.sub(
        r":\w+:`~?([^`<]*?)(?:\s*<[^>]*>)?`", lambda m: m.group(1).split(".")[-1], text
    )
    return text.replace("``", "")


CLASSIFIERS: dict[str, str] = {
    "AttentionMIL": "Attention-based deep MIL pooling (Ilse, Tomczak & Welling 2018).",
    "AdditiveMIL": "Additive MIL (Javed, Juyal, Padigela et al., NeurIPS 2022).",
    "BagOfWordsClassifier": "Bag-of-words MIL: a BagOfWords embedding and a standard classifier.",
    "CCE": "Constructive clustering ensemble: presence vectors over k-means clusters, voted.",
    "CitationKNN": "Citation-kNN: nearest-neighbour voting with references and citers.",
    "ConjunctiveMIL": "Conjunctive pooling, MILLET's interpretable head (Early et al., ICLR 2024).",
    "DSMIL": "DSMIL dual-stream MIL (Li, Li & Eliceiri, CVPR 2021), binary.",
    "DeepMILClassifier": (
        "A torch MIL network (instance encoder + pooling head) as a scikit-learn "
        "classifier."
    ),
    "DiverseDensity": "Diverse Density with the noisy-or model (Maron & Lozano-Pérez, NIPS 1998).",
    "EMDD": (
        "EM-DD: Diverse Density with the most-likely-cause model, fitted by EM (Zhang & "
        "Goldman 2001)."
    ),
    "EMDSVM": "SVM with the earth-mover's-distance kernel between bags (EMD-SVM).",
    "GatedAttentionMIL": "Gated attention-based deep MIL pooling (Ilse, Tomczak & Welling 2018).",
    "InstanceMINet": (
        "mi-Net (Wang et al. 2018): instance probabilities pooled into a bag probability."
    ),
    "InstanceMISVM": (
        "mi-SVM: an instance SVM with imputed labels for the instances of positive bags."
    ),
    "InstanceRelabeling": "The mi-SVM / MI-SVM alternation around any scikit-learn classifier.",
    "MIBoost": (
        "MIBoost: AdaBoost over bags with instance-level weak learners (Xu & Frank, PAKDD "
        "2004)."
    ),
    "MICA": "MICA: a 1-norm classifier where each positive bag is a convex combination.",
    "MIForest": (
        "MIForest: random forests with hidden instance labels (Leistner, Saffari & Bischof "
        "2010)."
    ),
    "MIGraph": "mi-Graph: an SVM on a clique-weighted set kernel over per-bag epsilon-graphs.",
    "MIGraphExplicit": "MI-Graph: an SVM on an explicit graph kernel (node kernel + edge kernel).",
    "MIKernelSVM": "MI-Kernel: an SVM on bags with the (normalised) set kernel.",
    "MILBoost": (
        "MILBoost: boosting of the noisy-OR bag likelihood (Viola, Platt & Zhang, NIPS 2005)."
    ),
    "MILDM": "MILDM: the discriminative bag mapping followed by a linear classifier.",
    "MILES": "MILES: the MILES embedding with a sparse (1-norm) linear SVM (Chen, Bi & Wang 2006).",
    "MILogisticRegression": (
        "Multiple-instance logistic regression: a linear instance model fitted on bag "
        "labels."
    ),
    "MINet": "MI-Net (Wang et al. 2018): pooled instance embeddings, then a bag classifier.",
    "MINetDS": "MI-Net with deep supervision (Wang et al. 2018).",
    "MINetRC": "MI-Net with residual connections (Wang et al. 2018).",
    "MISVM": "MI-SVM: a bag-margin SVM that selects one witness per positive bag.",
    "MInD": "MInD: bag dissimilarities to the training bags followed by a linear classifier.",
    "MiFV": "miFV: Fisher-vector bag encoding followed by a linear SVM (Wei, Wu & Zhou 2017).",
    "MiVLAD": "miVLAD: VLAD bag encoding followed by a linear SVM (Wei, Wu & Zhou 2017).",
    "MissSVM": "MissSVM: instances of positive bags as unlabelled data of a semi-supervised SVM.",
    "PowerPoolingMIL": "Power pooling of instance probabilities (Liu, Chen, Wang & Zhang 2021).",
    "SIL": "Single-instance learning: a standard classifier on instances labelled by their bag.",
    "SMILe": "SMILe: a MIL classifier trained with extra shuffled positive and negative bags.",
    "STK": "Statistics-kernel SVM: each bag becomes its per-feature minima and maxima.",
    "SimpleMI": "Bag statistics followed by a standard classifier (the SimpleMI baseline).",
    "SparseBalancedMIL": (
        "sbMIL: sMIL, then an instance SVM with the top-scoring positive-bag instances "
        "positive."
    ),
    "SparseMIL": "sMIL: an SVM with relaxed constraints for sparse positive bags.",
    "SparseTransductiveMIL": (
        "stMIL: sMIL plus transductive constraints on the instances of positive bags."
    ),
    "TLC": "Two-level classification: a bag's counts in the nodes of an instance tree.",
}
REGRESSORS: dict[str, str] = {
    "BagOfWordsRegressor": (
        "Bag-of-words MIL regression: a BagOfWords embedding and a regressor."
    ),
    "CitationKNNRegressor": (
        "Citation-kNN regression: the mean target of a bag's references and citers."
    ),
    "DeepMILRegressor": (
        "A torch MIL network (instance encoder + pooling head) as a scikit-learn regressor."
    ),
    "EMDDRegressor": "EM-DD regression: the most-likely-cause model fitted to real-valued targets.",
    "MIGraphSVR": "mi-Graph regression: an epsilon-SVR on mi-Graph's clique-weighted set kernel.",
    "MIKernelSVR": (
        "MI-Kernel regression: an epsilon-SVR on bags with the (normalised) set kernel."
    ),
    "MISVR": "MI-SVR: an instance SVR whose largest prediction in a bag is the bag's target.",
    "MiFVRegressor": "miFV regression: Fisher-vector bag encoding followed by a linear regressor.",
    "MiVLADRegressor": "miVLAD regression: VLAD bag encoding followed by a linear regressor.",
    "SimpleMIRegressor": (
        "Bag statistics followed by a standard regressor (the SimpleMI baseline for "
        "targets)."
    ),
}
TRANSFORMERS: dict[str, str] = {
    "BagDissimilarity": (
        "Represent each bag by its dissimilarities to the training bags (the MInD "
        "embedding)."
    ),
    "BagOfWords": (
        "Embed each bag as a histogram over a learned vocabulary of instance \"words\"."
    ),
    "BagStatistics": "Embed each bag as per-feature statistics of its instances.",
    "FisherVectorEncoder": (
        "Embed each bag as the Fisher vector of its instances under a diagonal GMM."
    ),
    "InstanceTransformer": "Apply an sklearn transformer to every instance of every bag.",
    "KernelMeanEmbedding": "Embed each bag as the mean of an explicit feature map of its "
                           "instances.",
    "MILDMEmbedding": (
        "Map bags onto a discriminative pool of training instances (the MILDM mapping)."
    ),
    "MILESEmbedding": (
        "Embed each bag by its similarity to every training instance (the MILES "
        "embedding)."
    ),
    "VLADEncoder": "Embed each bag as a VLAD vector: residual sums to a k-means codebook.",
}
