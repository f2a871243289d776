"""
Bags larger than memory: embeddings on dask
===========================================

Long-format bags (one row per instance, a bag id column) stored as parquet files are
read as a dask data frame whose partitions hold whole bags. A VLAD codebook is learned
one partition at a time with ``partial_fit``, every partition is embedded where it lives,
and a linear classifier is trained on the embeddings: one row per bag. The instances are
never in one process together.

This example writes 1,000,000 instances (100,000 bags of 10 x 8 features, 80 MB) in 20
files, a size the documentation build can afford; the same code runs unchanged on files
that no machine could hold, with a real cluster's address in ``Client``.
"""

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from dask.distributed import Client
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from skmil.dask import gather_frame, partial_fit_frame, read_bags, transform_frame
from skmil.embedding import VLADEncoder

# %%
# Write the bags: every third bag is positive and holds one shifted instance (a witness).
folder = Path(tempfile.mkdtemp())
rng = np.random.default_rng(0)
n_bags, size, d, n_files = 100_000, 10, 8, 20
per_file = n_bags // n_files
for i in range(n_files):
    ids = np.repeat(np.arange(i * per_file, (i + 1) * per_file), size)
    y = (ids % 3 == 0).astype(int)
    X = rng.normal(size=(ids.shape[0], d))
    X[::size] += 1.5 * y[::size, None]
    frame = pd.DataFrame({"bag": ids, "y": y} | {f"f{j}": X[:, j] for j in range(d)})
    frame.to_parquet(folder / f"part{i:02d}.parquet")

# %%
# Learn the codebook partition by partition, then embed every bag on the workers.
client = Client(processes=False, n_workers=2, threads_per_worker=1,
                dashboard_address=None)
frame = read_bags(str(folder / "*.parquet"), bag="bag", sorted=True)
print(f"{frame.npartitions} partitions of whole bags")
encoder = partial_fit_frame(VLADEncoder(n_clusters=4, random_state=0), frame, label="y")
embeddings = gather_frame(transform_frame(encoder, frame, label="y"))
print(embeddings.shape, "(one row per bag: 4 centres x 8 features, and the label)")

# %%
# Any classifier trains on the embeddings.
Z, y = embeddings.drop(columns="y").to_numpy(), embeddings["y"].to_numpy()
Z_tr, Z_te, y_tr, y_te = train_test_split(Z, y, test_size=0.25, random_state=0,
                                          stratify=y)
clf = LogisticRegression(max_iter=1000).fit(Z_tr, y_tr)
print(f"held-out bag accuracy: {clf.score(Z_te, y_te):.3f}")
client.close()
