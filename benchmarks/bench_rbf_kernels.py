"""RBF kernels with the vectorised ``exp`` against the same computation in plain NumPy.

Everything skmil computes through an RBF instance kernel (MI-Kernel's and sMIL's set
kernels, mi-Graph's weighted set kernel, mi-SVM/MI-SVM's precomputed instance kernel,
MILES' similarities) spends about as long in ``exp`` as in the GEMM when NumPy's
float64 ``exp`` has no SIMD path (AVX2 machines). This script times, in one run and on
the training instances of the classic sets (standardised, ``gamma = 1 / d``):

* ``exp``: ``np.exp`` vs :func:`skmil._kernels.fast_exp.exp_inplace` on RBF exponents;
* ``instance``: ``exp(-gamma ||x - y||^2)`` of all instance pairs, NumPy (GEMM, three
  broadcast updates, ``np.minimum``, ``np.exp``) vs
  :func:`skmil._kernels.set_kernel.instance_kernel`;
* ``set (NSK)``: the bag x bag RBF set kernel, the NumPy pipeline skmil used before
  (augmented GEMM per row block of whole bags, ``np.exp``, two ``np.add.reduceat``, upper
  tiles mirrored by fancy indexing) vs :func:`skmil._kernels.bagpairs.blocked_set_kernel`;
* ``set (sMIL)``: the same for sMIL's examples (every negative instance a bag of its own,
  positive bags whole), where the output matrix is large.

Times are the best of ``--repeats`` calls, single-threaded BLAS; ratio = NumPy / skmil.
Both sides agree to 1e-12 relative (checked). Reproduce::

    python benchmarks/bench_rbf_kernels.py                 # musk1 fox tiger elephant musk2
    python benchmarks/bench_rbf_kernels.py --datasets musk2 --repeats 3
    python benchmarks/bench_rbf_kernels.py --tiny     # smoke test, seconds
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402

import numpy as np  # noqa: E402
from _timing import add_tiny_flag, best_of, print_reproduce, ratio  # noqa: E402

# run as a script, so this directory is on sys.path
from bench_svm_vs_misvm import _split  # noqa: E402

from skmil._kernels.bagpairs import blocked_set_kernel, row_blocks  # noqa: E402
from skmil._kernels.fast_exp import exp_inplace  # noqa: E402
from skmil._kernels.set_kernel import instance_kernel  # noqa: E402


def numpy_instance_kernel(A, gamma):
    sq = np.einsum("ij,ij->i", A, A)
    G = A @ A.T
    G *= 2.0 * gamma
    G -= gamma * sq[:, None]
    G -= gamma * sq[None, :]
    np.minimum(G, 0.0, out=G)
    return np.exp(G, out=G)


def numpy_set_kernel(X, offsets, gamma, block_size=512):
    """Symmetric RBF set kernel, upper tiles of whole bags, NumPy exp and reduceat."""
    n, d = X.shape
    sq = np.einsum("ij,ij->i", X, X)
    L = np.empty((n, d + 2))
    L[:, :d] = 2.0 * gamma * X
    L[:, d] = -gamma * sq
    L[:, d + 1] = 1.0
    R = np.empty((n, d + 2))
    R[:, :d] = X
    R[:, d] = 1.0
    R[:, d + 1] = -gamma * sq
    nb = offsets.shape[0] - 1
    K = np.empty((nb, nb))
    for b0, b1 in row_blocks(offsets, block_size):
        r0, r1, c0 = offsets[b0], offsets[b1], offsets[b0]
        E = L[r0:r1] @ R[c0:].T
        np.minimum(E, 0.0, out=E)
        np.exp(E, out=E)
        S = np.add.reduceat(E, offsets[b0:b1] - r0, axis=0)
        K[b0:b1, b0:] = np.add.reduceat(S, offsets[b0:-1] - c0, axis=1)
    iu = np.triu_indices(nb, 1)
    K[(iu[1], iu[0])] = K[iu]
    return K


def _run_dataset(name, repeats, n_bags=None):
    bags, y, _, _ = _split(name)  # the misvm comparison's split and standardisation
    if n_bags is not None:
        bags, y = bags[:n_bags], y[:n_bags]
    X = np.vstack(bags)
    gamma = 1.0 / X.shape[1]
    offsets = np.concatenate([[0], np.cumsum([len(b) for b in bags])]).astype(np.int64)
    neg = [b for b, lab in zip(bags, y) if lab == 0]
    pos = [b for b, lab in zip(bags, y) if lab == 1]
    n_neg = sum(len(b) for b in neg)
    Xs = np.vstack(neg + pos)
    off_s = np.concatenate([np.arange(n_neg),
                            n_neg + np.cumsum([0] + [len(b) for b in pos])]).astype(np.int64)
    E0 = numpy_instance_kernel(X, gamma)
    np.log(E0, out=E0)  # RBF exponents, the values exp sees in the kernels
    cases = [
        ("exp", f"{E0.size} values", lambda: np.exp(E0), lambda: exp_inplace(E0.copy())),
        ("instance", f"{X.shape[0]}^2",
         lambda: numpy_instance_kernel(X, gamma),
         lambda: instance_kernel(X, X, "rbf", gamma)),
        ("set (NSK)", f"{len(bags)} bags",
         lambda: numpy_set_kernel(X, offsets, gamma),
         lambda: blocked_set_kernel(X, offsets, gamma=gamma)),
        ("set (sMIL)", f"{len(off_s) - 1} examples",
         lambda: numpy_set_kernel(Xs, off_s, gamma),
         lambda: blocked_set_kernel(Xs, off_s, gamma=gamma)),
    ]
    for what, size, ref_fn, ours_fn in cases:
        # warm-up call first: numba compilation and caches are not part of the cost
        t_ref, ref = best_of(ref_fn, repeats=repeats, warmup=True)
        t_ours, ours = best_of(ours_fn, repeats=repeats, warmup=True)
        if what == "exp":
            ref, ours = ref.ravel(), ours.ravel()
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-300)
        print(f"{name:9s} {what:12s} {size:>16s} {t_ref * 1e3:9.2f} {t_ours * 1e3:9.2f} "
              f"{ratio(t_ref, t_ours):>6}", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", nargs="*",
                    default=["musk1", "fox", "tiger", "elephant", "musk2"])
    ap.add_argument("--repeats", type=int, default=7)
    add_tiny_flag(ap)
    args = ap.parse_args(argv)
    print_reproduce()
    n_bags = None
    if args.tiny:
        args.datasets, args.repeats, n_bags = ["musk1"], 1, 20
    print(f"{'data':9s} {'what':12s} {'size':>16s} {'numpy ms':>9s} {'skmil ms':>9s} "
          f"{'ratio':>6s}")
    for name in args.datasets:
        _run_dataset(name, args.repeats, n_bags)


if __name__ == "__main__":
    main()
