"""Out-of-core embeddings: the encoders' ``partial_fit`` and the dask helpers (skmil.dask)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.mixture import GaussianMixture

from skmil.bags import from_frame, to_frame
from skmil.datasets import make_mil_classification
from skmil.embedding import BagOfWords, BagStatistics, FisherVectorEncoder, VLADEncoder
from skmil.embedding._streaming import DiagGMMStream

dd = pytest.importorskip("dask.dataframe")


@pytest.fixture(scope="module")
def data():
    bags, y, _ = make_mil_classification(n_bags=400, n_features=6, random_state=0)
    return bags, y


def _batches(bags, n=5):
    size = len(bags) // n
    return [bags[s : s + size] for s in range(0, len(bags), size)]


def test_bag_statistics_partial_fit_is_fit(data):
    bags, _ = data
    enc = BagStatistics(statistics=("mean", "std", "median"))
    for batch in _batches(bags):
        enc.partial_fit(batch)
    np.testing.assert_array_equal(enc.transform(bags),
                                  BagStatistics(**enc.get_params()).fit(bags).transform(bags))


def _inertia(X, centres):
    d = ((X[:, None, :] - centres[None]) ** 2).sum(-1)
    return d.min(1).sum()


@pytest.mark.parametrize("enc", [VLADEncoder(n_clusters=6, random_state=0),
                                 BagOfWords(n_clusters=6, random_state=0)])
def test_streamed_kmeans_codebook_is_nearly_as_tight_as_fit(data, enc):
    bags, _ = data
    X = np.vstack(bags)
    for batch in _batches(bags):
        enc.partial_fit(batch)
    full = KMeans(6, n_init=3, random_state=0).fit(X).cluster_centers_
    assert enc.cluster_centers_.shape == (6, 6) and enc.n_clusters_ == 6
    assert _inertia(X, enc.cluster_centers_) <= 1.15 * _inertia(X, full)


def test_incremental_em_reaches_the_batch_em_likelihood(data):
    bags, _ = data
    X = np.vstack(bags)
    enc = FisherVectorEncoder(n_clusters=3, random_state=0)
    for batch in _batches(bags):
        enc.partial_fit(batch)
    gm = GaussianMixture(3, covariance_type="diag", random_state=0)
    gm.weights_, gm.means_, gm.covariances_ = enc.weights_, enc.means_, enc.variances_
    gm.precisions_cholesky_ = 1.0 / np.sqrt(enc.variances_)
    full = GaussianMixture(3, covariance_type="diag", random_state=0).fit(X)
    assert abs(enc.weights_.sum() - 1.0) < 1e-12
    # average log-likelihood per instance, within 2 % of batch EM's
    assert gm.score(X) >= full.score(X) - 0.02 * abs(full.score(X))


def test_incremental_em_finds_separated_components():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-5, 1, size=(3000, 2)), rng.normal(5, 0.5, size=(3000, 2))])
    X = X[rng.permutation(len(X))]
    stream = DiagGMMStream(np.array([0.5, 0.5]), np.array([[-1.0, -1.0], [1.0, 1.0]]),
                           np.ones((2, 2)), 1e-6)
    for s in range(0, len(X), 500):
        stream.add(X[s : s + 500])
    order = np.argsort(stream.means[:, 0])
    np.testing.assert_allclose(stream.means[order], [[-5, -5], [5, 5]], atol=0.1)
    np.testing.assert_allclose(stream.variances[order], [[1, 1], [0.25, 0.25]], rtol=0.1)
    np.testing.assert_allclose(stream.weights[order], [0.5, 0.5], atol=0.02)


@pytest.mark.parametrize("enc", [
    VLADEncoder(n_clusters=4, random_state=0),
    FisherVectorEncoder(n_clusters=3, random_state=0),
    FisherVectorEncoder(n_clusters=2, pca=3, random_state=0),
    BagOfWords(n_clusters=8, random_state=0),
    BagOfWords(n_clusters=8, codebook="gmm", normalize="tfidf", random_state=0),
    BagOfWords(n_clusters=8, encoding="soft", normalize="tfidf", random_state=0),
], ids=["vlad", "fv", "fv-pca", "bow", "bow-gmm-tfidf", "bow-soft-tfidf"])
def test_streamed_embeddings_classify_as_well_as_fitted_ones(data, enc):
    bags, y = data
    tr, te = slice(0, 300), slice(300, 400)
    full = type(enc)(**enc.get_params()).fit(bags[tr])
    for batch in _batches(bags[tr]):
        enc.partial_fit(batch)
    out = enc.transform(bags)
    assert out.shape == full.transform(bags).shape and np.isfinite(out).all()

    def accuracy(e):
        Z = e.transform(bags)
        return LogisticRegression(max_iter=2000).fit(Z[tr], y[tr]).score(Z[te], y[te])

    assert accuracy(enc) >= accuracy(full) - 0.08


def test_partial_fit_restarts_after_fit_and_checks_features(data):
    bags, _ = data
    a = VLADEncoder(n_clusters=4, random_state=0).fit(bags).partial_fit(bags[:50])
    b = VLADEncoder(n_clusters=4, random_state=0).partial_fit(bags[:50])
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    with pytest.raises(ValueError, match="features"):
        b.partial_fit([bag[:, :3] for bag in bags[50:60]])
    # n_clusters="auto" is chosen on the first batch
    c = VLADEncoder(random_state=0).partial_fit(bags[:100]).partial_fit(bags[100:200])
    assert c.cluster_centers_.shape[0] == c.n_clusters_


def _long_frame(bags, y):
    return to_frame(bags, y, ids=np.arange(len(bags)) * 7)


def test_frames_from_parquet_and_csv_embed_as_the_encoder_does(data, tmp_path):
    from skmil.dask import gather_frame, partial_fit_frame, read_bags, transform_frame

    bags, y = data
    df = _long_frame(bags, y)
    bag_col, label_col = df.columns[0], df.columns[1]
    for i, part in enumerate(np.array_split(np.arange(len(bags)), 4)):
        rows = df[df[bag_col].isin(part * 7)]
        rows.to_parquet(tmp_path / f"part{i}.parquet")
        rows.to_csv(tmp_path / f"part{i}.csv", index=False)
    for pattern, sorted_ in (("*.parquet", True), ("*.csv", False)):
        frame = read_bags(str(tmp_path / pattern), bag=bag_col, sorted=sorted_)
        enc = partial_fit_frame(VLADEncoder(n_clusters=3, random_state=0), frame,
                                label=label_col)
        emb = gather_frame(transform_frame(enc, frame, label=label_col)).sort_index()
        all_bags, all_y, ids = from_frame(df, bag=bag_col, label=label_col, return_ids=True)
        order = np.argsort(ids)
        np.testing.assert_allclose(emb.drop(columns=label_col).to_numpy(),
                                   enc.transform(all_bags)[order], atol=1e-10)
        np.testing.assert_array_equal(emb[label_col].to_numpy(), all_y[order])
        np.testing.assert_array_equal(emb.index.to_numpy(), ids[order])
    with pytest.raises(ValueError, match="column 'nope'"):
        read_bags(str(tmp_path / "*.parquet"), bag="nope")
    with pytest.raises(TypeError, match="partial_fit"):
        partial_fit_frame(object(), frame)


@pytest.mark.slow  # starts a LocalCluster of worker processes
@pytest.mark.dask
def test_embeddings_on_a_cluster_whose_workers_hold_less_than_the_data(tmp_path):
    distributed = pytest.importorskip("distributed")
    from skmil.dask import gather_frame, partial_fit_frame, read_bags, transform_frame

    # 1,000,000 bags of 10 x 12 features: 10,000,000 rows, 960 MB of features as float64
    # (1.1 GB with the id and label columns), in 80 sorted parquet files; each worker's
    # memory limit is 700 MiB (734 MB), its process included (about 520 MB at its peak
    # with skmil imported and its kernels compiled)
    n_bags, size, d, n_files = 1_000_000, 10, 12, 80
    rng = np.random.default_rng(0)
    per_file = n_bags // n_files
    for i in range(n_files):
        ids = np.repeat(np.arange(i * per_file, (i + 1) * per_file), size)
        y = (ids % 3 == 0).astype(np.int64)
        X = rng.normal(size=(ids.shape[0], d))
        X[::size] += 4.0 * y[::size, None]  # a witness in every positive bag
        cols = {"bag": ids, "y": y} | {f"f{j}": X[:, j] for j in range(d)}
        pd.DataFrame(cols).to_parquet(tmp_path / f"part{i:02d}.parquet")
    limit = 700 * 2**20
    assert limit < n_bags * size * d * 8
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, memory_limit=limit,
    ) as cluster, distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
        frame = read_bags(str(tmp_path / "*.parquet"), bag="bag", sorted=True)
        enc = partial_fit_frame(BagOfWords(n_clusters=4, random_state=0), frame,
                                label="y")
        emb = gather_frame(transform_frame(enc, frame, label="y"))
        peaks = client.run(_peak_rss)
        # no worker was restarted for its memory, and none came near its limit
        assert client.run(os.getpid) == pids
    assert emb.shape == (n_bags, 4 + 1)
    assert max(peaks.values()) < limit
    # the workers' embeddings are the encoder's
    first = pd.read_parquet(tmp_path / "part00.parquet")
    bags, _, ids = from_frame(first, bag="bag", label="y", return_ids=True)
    np.testing.assert_allclose(emb.loc[ids].drop(columns="y").to_numpy(),
                               enc.transform(bags), atol=1e-12)
    Z, y = emb.drop(columns="y").to_numpy(), emb["y"].to_numpy()
    clf = LogisticRegression(max_iter=2000).fit(Z[::2], y[::2])
    assert clf.score(Z[1::2], y[1::2]) > 0.9


def _peak_rss() -> int:
    # VmHWM belongs to the process's own address space; getrusage's ru_maxrss survives
    # exec, so a spawned worker would report the parent's peak
    with open("/proc/self/status") as f:
        line = next(x for x in f if x.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


@pytest.mark.parametrize("enc", [VLADEncoder(n_clusters=4, random_state=0),
                                 FisherVectorEncoder(n_clusters=2, random_state=0)])
def test_a_batch_teaches_the_same_in_any_order(data, enc):
    bags, _ = data
    a = type(enc)(**enc.get_params()).partial_fit(bags[:80]).partial_fit(bags[80:160])
    b = type(enc)(**enc.get_params()).partial_fit(bags[:80][::-1])
    b.partial_fit(bags[80:160][::-1])
    np.testing.assert_allclose(a.transform(bags[:5]), b.transform(bags[:5]), atol=1e-10)
