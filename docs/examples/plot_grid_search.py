"""
Grid search over a MIL pipeline
===============================

skmil estimators are ordinary scikit-learn estimators, so ``GridSearchCV`` tunes them,
stratifying folds over bags. Here we tune SIL's ``C`` and pooling on FOX with an inner
5-fold search and plot the mean validation AUC.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline

from skmil.datasets import load_fox
from skmil.preprocessing import InstanceTransformer
from skmil.svm import SIL

bags, y = load_fox(return_X_y=True)
pipe = Pipeline([("scale", InstanceTransformer()), ("sil", SIL())])
grid = {"sil__C": [0.1, 1.0, 10.0], "sil__pooling": ["max", "mean"]}
search = GridSearchCV(
    pipe, grid, cv=StratifiedKFold(5, shuffle=True, random_state=0), scoring="roc_auc"
)
search.fit(bags, y)
print("best:", search.best_params_, f"AUC {search.best_score_:.3f}")

res = search.cv_results_
fig, ax = plt.subplots(figsize=(5, 3))
for pooling in grid["sil__pooling"]:
    mask = np.array(res["param_sil__pooling"]) == pooling
    ax.plot(grid["sil__C"], res["mean_test_score"][mask], marker="o", label=pooling)
ax.set_xscale("log")
ax.set_xlabel("C")
ax.set_ylabel("mean inner-CV AUC")
ax.legend(title="pooling")
fig.tight_layout()
