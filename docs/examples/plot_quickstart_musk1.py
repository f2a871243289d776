"""
Quick start on MUSK1
====================

Load the MUSK1 bags, standardise instances inside a pipeline, and compare single-instance
learning (SIL) with the bag-statistics baseline by 10-fold cross-validation.
"""

import matplotlib.pyplot as plt
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from skmil.datasets import load_musk1
from skmil.embedding import SimpleMI
from skmil.preprocessing import InstanceTransformer
from skmil.svm import SIL

bags, y = load_musk1(return_X_y=True)
print(f"{len(bags)} bags, {sum(len(b) for b in bags)} instances, {bags[0].shape[1]} features")

cv = StratifiedKFold(n_splits=10, shuffle=True, random_state=0)
scores = {}
for name, est in [("SIL", SIL()), ("SimpleMI", SimpleMI())]:
    model = make_pipeline(InstanceTransformer(), est)
    scores[name] = cross_val_score(model, bags, y, cv=cv)
    print(f"{name:9s} accuracy {scores[name].mean():.3f} ± {scores[name].std():.3f}")

fig, ax = plt.subplots(figsize=(5, 3))
ax.boxplot(list(scores.values()))
ax.set_xticks(range(1, len(scores) + 1), list(scores))
ax.set_ylabel("10-fold accuracy")
ax.set_title("MUSK1")
fig.tight_layout()
