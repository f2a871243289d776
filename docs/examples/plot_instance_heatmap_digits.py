"""
Which instances made the bag positive? Instance scores on digit bags
=====================================================================

Bags of 8x8 digit images are positive when they contain a 9 (the MNIST-bags protocol of
Ilse et al. 2018, built from scikit-learn's digits). A model trained on bag labels alone
scores every instance; the images below are coloured by that score, and the true 9s are
marked.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline

from skmil.datasets import make_digits_bags
from skmil.preprocessing import InstanceTransformer
from skmil.svm import SIL

X_train, y_train, _ = make_digits_bags(200, mean_bag_size=10, pool="train", random_state=0)
X_test, y_test, inst_test = make_digits_bags(60, mean_bag_size=10, pool="test", random_state=1)

model = make_pipeline(InstanceTransformer(), SIL()).fit(X_train, y_train)
bag_auc = roc_auc_score(y_test, model.decision_function(X_test))
scores = model[-1].decision_function_instances(model[:-1].transform(X_test))
inst_auc = roc_auc_score(np.concatenate(inst_test), np.concatenate(scores))
print(f"bag AUC {bag_auc:.3f}, instance AUC {inst_auc:.3f} (trained on bag labels only)")

# show the first two positive test bags, each instance with its score
pos = [i for i in range(len(X_test)) if y_test[i] == 1][:2]
n_cols = max(len(X_test[i]) for i in pos)
fig, axes = plt.subplots(len(pos), n_cols, figsize=(1.1 * n_cols, 1.4 * len(pos)))
vmax = max(np.abs(scores[i]).max() for i in pos)
for row, i in enumerate(pos):
    for col in range(n_cols):
        ax = axes[row, col]
        ax.axis("off")
        if col >= len(X_test[i]):
            continue
        ax.imshow(X_test[i][col].reshape(8, 8), cmap="gray_r")
        s = scores[i][col]
        colour = plt.cm.coolwarm(0.5 + 0.5 * s / vmax)
        ax.add_patch(plt.Rectangle((-0.5, -0.5), 8, 8, fill=False, lw=3, ec=colour))
        ax.set_title(f"{s:+.1f}" + (" (9)" if inst_test[i][col] else ""), fontsize=7)
fig.suptitle("instance scores in two positive bags (red: witness-like)")
fig.tight_layout()
