"""
Comparing estimators
====================

Every skmil classifier takes the same bags, so comparing them is one loop. Here seven
estimators with their default settings are scored by the same 10-fold CV on MUSK1, with
instance standardisation inside each fold (:func:`skmil.model_selection.evaluate`). The
full comparison on all five classic data sets is on the Benchmarks page.
"""

import matplotlib.pyplot as plt

from skmil.datasets import load_musk1
from skmil.distance import CitationKNN
from skmil.embedding import MiFV, MiVLAD, SimpleMI
from skmil.graph import MIGraph
from skmil.model_selection import evaluate
from skmil.svm import SIL, MIKernelSVM

bags, y = load_musk1(return_X_y=True)
estimators = {
    "SimpleMI": SimpleMI(),
    "SIL": SIL(),
    "MI-Kernel": MIKernelSVM(),
    "mi-Graph": MIGraph(),
    "miVLAD": MiVLAD(random_state=0),
    "miFV": MiFV(random_state=0),
    "Citation-kNN": CitationKNN(),
}
results = {}
for name, est in estimators.items():
    results[name] = evaluate(est, bags, y, n_splits=10, n_repeats=1, random_state=0)
    print(f"{name:13s} {results[name].summary()}")

fig, ax = plt.subplots(figsize=(6, 3.5))
names = list(results)
acc = [[f.accuracy for f in results[n].folds] for n in names]
ax.boxplot(acc, vert=False)
ax.set_yticks(range(1, len(names) + 1), names)
ax.set_xlabel("10-fold accuracy on MUSK1")
fig.tight_layout()
