"""The vectorised exp and the RBF kernels built on it, against NumPy references."""

import numpy as np
import pytest
from sklearn.metrics.pairwise import rbf_kernel

from skmil._kernels.bagpairs import blocked_set_kernel, min_sqdist_matrix, mirror_upper
from skmil._kernels.fast_exp import exp_inplace, rbf_from_inner, rbf_tile_sums


def _ulps(a, ref):
    return np.abs(a - ref) / np.spacing(np.abs(ref))


def test_exp_within_one_ulp_of_numpy():
    rng = np.random.RandomState(0)
    x = np.concatenate([
        -rng.rand(200_000) * 50,  # RBF exponents
        rng.randn(200_000) * 5,
        np.linspace(-708.0, 709.78, 200_001),
        np.array([0.0, -0.0, 1.0, -1.0, 1e-300, -1e-300, np.log(2.0), -np.log(2.0)]),
    ])
    got = exp_inplace(x.copy())
    ref = np.exp(x)
    assert _ulps(got, ref).max() <= 1.0
    assert exp_inplace(np.zeros(3)).tolist() == [1.0, 1.0, 1.0]


def test_exp_special_values():
    x = np.array([-np.inf, -745.2, -709.0, 709.8, 1000.0, np.inf, np.nan])
    got = exp_inplace(x.copy())
    assert got[:3].tolist() == [0.0, 0.0, 0.0]  # flushed below -708 (NumPy: < 3e-308)
    assert np.all(np.isposinf(got[3:6]))
    assert np.isnan(got[6])
    # just below the overflow threshold the result is finite and exact to 1 ulp
    top = np.array([709.0, 709.5, 709.78])
    assert _ulps(exp_inplace(top.copy()), np.exp(top)).max() <= 1.0


def test_exp_inplace_scale_and_layouts():
    rng = np.random.RandomState(1)
    A = rng.randn(30, 40)
    ref = np.exp(-0.3 * A)
    out = A.copy()
    assert exp_inplace(out, -0.3) is out
    np.testing.assert_allclose(out, ref, rtol=1e-15)
    F = np.asfortranarray(A)  # not C-contiguous: NumPy's exp, same values
    np.testing.assert_allclose(exp_inplace(F, -0.3), ref, rtol=1e-15)
    S = A.copy()[:, ::2]  # strided view: written through, not into a copy
    base = A.copy()
    exp_inplace(base[:, ::2])
    np.testing.assert_allclose(base[:, ::2], np.exp(S), rtol=1e-15)
    np.testing.assert_array_equal(base[:, 1::2], A[:, 1::2])


def test_rbf_from_inner_matches_sklearn():
    rng = np.random.RandomState(2)
    A, B = rng.randn(50, 7), rng.randn(60, 7)
    G = A @ B.T
    got = rbf_from_inner(G, (A * A).sum(1), (B * B).sum(1), 0.2)
    assert got is G
    np.testing.assert_allclose(got, rbf_kernel(A, B, gamma=0.2), rtol=1e-12, atol=1e-300)
    S = A @ A.T
    rbf_from_inner(S, (A * A).sum(1), (A * A).sum(1), 0.2)
    assert np.all(S <= 1.0)  # rounding never pushes a value above 1
    np.testing.assert_array_equal(S, S.T)  # exactly symmetric
    np.testing.assert_allclose(np.diag(S), 1.0, rtol=1e-13)


@pytest.mark.parametrize("clip", [True, False])
def test_rbf_tile_sums_matches_reduceat(clip):
    rng = np.random.RandomState(3)
    G = rng.randn(40, 30) - 0.5
    ro = np.array([0, 3, 4, 17, 40], dtype=np.int64)
    co = np.array([0, 1, 12, 30], dtype=np.int64)
    E = np.exp(np.minimum(G, 0.0) if clip else G)
    ref = np.add.reduceat(np.add.reduceat(E, ro[:-1], axis=0), co[:-1], axis=1)
    out = rbf_tile_sums(G, ro, co, clip)
    assert out.shape == (4, 3) and out.flags.c_contiguous
    np.testing.assert_allclose(out, ref, rtol=1e-14)
    # a strided (non-contiguous) GEMM output gives the same sums
    out_t = rbf_tile_sums(np.asfortranarray(G), ro, co, clip)
    np.testing.assert_array_equal(out_t, out)


@pytest.mark.parametrize("n", [1, 5, 64, 65, 130])
def test_mirror_upper(n):
    rng = np.random.RandomState(n)
    K = rng.randn(n, n)
    ref = np.triu(K) + np.triu(K, 1).T
    mirror_upper(K)
    np.testing.assert_array_equal(K, ref)


def test_symmetric_set_kernel_equals_the_two_sided_one():
    # the symmetric path (small row blocks, upper tiles, mirror) against the general one
    rng = np.random.RandomState(4)
    sizes = rng.randint(1, 30, size=60)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    X = rng.randn(offsets[-1], 5)
    for bs in (1, 64, 512):
        K = blocked_set_kernel(X, offsets, gamma=0.3, block_size=bs)
        K2 = blocked_set_kernel(X, offsets, X, offsets, gamma=0.3, block_size=bs)
        np.testing.assert_allclose(K, K2, rtol=1e-12)
        np.testing.assert_array_equal(K, K.T)
    D = min_sqdist_matrix(X, offsets, block_size=64)
    D2 = min_sqdist_matrix(X, offsets, X, offsets, block_size=64)
    np.fill_diagonal(D2, 0.0)
    np.testing.assert_allclose(D, D2, rtol=1e-10, atol=1e-10)
