"""Instance kernels and the (normalised) set kernel over the flat bag layout.

The set kernel ``K[a, b] = sum_{x in A, x' in B} k(x, x')**p`` is computed by
:func:`skmil._kernels.bagpairs.blocked_set_kernel` (shared with mi-Graph's weighted set
kernel): row blocks of whole bags (about ``block_size`` instances each) against column
tiles, one BLAS GEMM per tile gives the instance kernel block (for the RBF kernel its
exponents), and ``exp`` with the sums into bag x bag cells is one numba pass (other
kernels: the power in place, then ``np.add.reduceat``). For the
RBF kernel two extra columns are appended to the operands so that the GEMM yields
``-gamma * ||x - x'||**2`` directly, which saves a separate pass over the block for
the squared norms. Memory is ``O(block_size * col_size + B_a * B_b)``:
the ``N x N`` instance kernel is never formed. For the symmetric (train x train) case
only the upper triangle of blocks is computed and mirrored.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .bagpairs import blocked_set_kernel, blocked_set_kernel_diag
from .fast_exp import rbf_from_inner

__all__ = ["instance_kernel", "resolve_gamma", "set_kernel_gram", "set_kernel_diag"]

_NORMALIZATIONS = ("none", "averaging", "featurespace")


def resolve_gamma(gamma: Any, X: np.ndarray) -> float:
    """``gamma`` as a float; ``"scale"``/``"auto"`` as in :class:`sklearn.svm.SVC`."""
    if isinstance(gamma, str):
        if gamma == "scale":
            var = float(X.var()) if X.size else 0.0
            return 1.0 / (X.shape[1] * var) if var > 0 else 1.0
        if gamma == "auto":
            return 1.0 / X.shape[1]
        raise ValueError(f"gamma must be 'scale', 'auto' or a positive float, got {gamma!r}.")
    gamma = float(gamma)
    if not gamma > 0:
        raise ValueError(f"gamma must be positive, got {gamma!r}.")
    return gamma


def instance_kernel(
    A: np.ndarray,
    B: np.ndarray,
    kernel: str,
    gamma: float,
    degree: int = 3,
    coef0: float = 0.0,
    *,
    sq_a: np.ndarray | None = None,
    sq_b: np.ndarray | None = None,
) -> np.ndarray:
    """Dense instance kernel block ``k(A_i, B_j)`` (float64), libsvm's definitions."""
    G = A @ B.T
    if kernel == "linear":
        return G
    if kernel == "rbf":
        if sq_a is None:
            sq_a = np.einsum("ij,ij->i", A, A)
        if sq_b is None:
            sq_b = np.einsum("ij,ij->i", B, B)
        return rbf_from_inner(G, sq_a, sq_b, gamma)
    if kernel == "poly":
        G *= gamma
        G += coef0
        return np.power(G, degree, out=G)
    if kernel == "sigmoid":
        G *= gamma
        G += coef0
        return np.tanh(G, out=G)
    raise ValueError(f"unknown kernel {kernel!r}")


def set_kernel_diag(X, offsets, kernel, gamma, degree=3, coef0=0.0, p=1.0, block_size=512):
    """Unnormalised self set kernel ``k_set(A, A)`` of every bag (bag-diagonal blocks only)."""
    return blocked_set_kernel_diag(X, offsets, kernel=kernel, gamma=gamma, degree=degree,
                                   coef0=coef0, p=p, block_size=block_size)


def set_kernel_gram(
    Xa,
    off_a,
    Xb=None,
    off_b=None,
    *,
    kernel="rbf",
    gamma=1.0,
    degree=3,
    coef0=0.0,
    p=1.0,
    normalization="featurespace",
    block_size=512,
    diag_a=None,
    diag_b=None,
):
    """Set-kernel Gram matrix over the flat layout; see :func:`skmil.svm.set_kernel`.

    ``diag_a``/``diag_b`` may pass precomputed unnormalised self kernels (used by the
    estimators to avoid recomputing the training bags' diagonal at predict time).
    """
    symmetric = Xb is None
    K = blocked_set_kernel(Xa, off_a, Xb, off_b, kernel=kernel, gamma=gamma, degree=degree,
                           coef0=coef0, p=p, block_size=block_size)
    if symmetric:
        Xb, off_b = Xa, off_a
    if normalization == "averaging":
        sa = np.diff(off_a).astype(np.float64)
        sb = sa if symmetric else np.diff(off_b).astype(np.float64)
        K /= sa[:, None]
        K /= sb[None, :]
    elif normalization == "featurespace":
        if symmetric:
            da = np.diagonal(K).copy() if diag_a is None else diag_a
            db = da
        else:
            da = diag_a
            if da is None:
                da = set_kernel_diag(Xa, off_a, kernel, gamma, degree, coef0, p, block_size)
            db = diag_b
            if db is None:
                db = set_kernel_diag(Xb, off_b, kernel, gamma, degree, coef0, p, block_size)
        if np.any(da <= 0) or np.any(db <= 0):
            raise ValueError(
                "normalization='featurespace' needs a positive self kernel k_set(X, X) for "
                "every bag; this instance kernel gives a non-positive one (use 'rbf', or "
                "normalization='averaging'/'none')."
            )
        K /= np.sqrt(da)[:, None]
        K /= np.sqrt(db)[None, :]
    elif normalization != "none":
        raise ValueError(
            f"normalization must be one of {_NORMALIZATIONS}, got {normalization!r}."
        )
    return K
