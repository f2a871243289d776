"""A vectorisable float64 ``exp`` for numba loops, and the RBF maps built on it.

NumPy's float64 ``exp`` has a SIMD path only for AVX-512; on AVX2 CPUs it runs the
scalar libm routine, which makes ``exp`` as costly as the GEMM in an RBF set kernel.
:func:`fexp` is written so that LLVM vectorises it inside a numba loop: Cody-Waite
reduction ``x = k ln2 + r`` with ``|r| <= ln2 / 2``, the degree-13 Taylor polynomial of
``e^r`` (truncation error below 1e-17 relative), and ``2^k`` assembled from the exponent
bits; ``k`` is rounded with the ``1.5 * 2^52`` trick because AVX2 has no packed
float64 -> int64 conversion. Against ``np.exp`` on 600,000 points over ``[-708, 709.78]``
and typical kernel exponents it is at most 1 ulp apart (``tests/test_fast_exp.py``); its
speed against ``np.exp`` is measured by ``benchmarks/bench_rbf_kernels.py``.

Below ``-708`` the result is flushed to 0 (``np.exp`` gives subnormals there, < 3e-308);
above ``log(DBL_MAX)`` it is ``inf``; NaN propagates. Loops that call it must be
compiled with ``fastmath={"contract"}`` so the polynomial uses FMA; no other fast-math
flag is needed or wanted (reassociation could undo the Cody-Waite split of ``k ln2``).
"""

from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import intrinsic

from .._numba import njit

__all__ = ["exp_inplace", "fexp", "rbf_from_inner", "rbf_tile_sums"]

_FAST = {"contract"}
_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238  # ln 2 split so that k * _LN2_HI is exact for |k| < 2^11
_LN2_LO = 1.9082149292705877e-10
_ROUND = 6755399441055744.0  # 1.5 * 2^52: adding it rounds to an integer in the low bits
_ROUND_BITS = 0x4338000000000000  # its bit pattern
_X_MIN = -708.0
_X_MAX = 709.782712893384  # log(DBL_MAX)
# 1 / n! for n = 2 .. 13
_C2 = 0.5
_C3 = 1.0 / 6.0
_C4 = 1.0 / 24.0
_C5 = 1.0 / 120.0
_C6 = 1.0 / 720.0
_C7 = 1.0 / 5040.0
_C8 = 1.0 / 40320.0
_C9 = 1.0 / 362880.0
_C10 = 1.0 / 3628800.0
_C11 = 1.0 / 39916800.0
_C12 = 1.0 / 479001600.0
_C13 = 1.0 / 6227020800.0


@intrinsic
def _bits_to_f64(typingctx, bits):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return types.float64(types.int64), codegen


@intrinsic
def _f64_to_bits(typingctx, x):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return types.int64(types.float64), codegen


@njit(inline="always")
def fexp(x: float) -> float:
    """``exp(x)`` in float64, within 1 ulp of ``np.exp``; vectorises in numba loops."""
    xc = x
    if xc < _X_MIN:
        xc = _X_MIN
    if xc > _X_MAX:
        xc = _X_MAX
    t = xc * _LOG2E + _ROUND
    k = t - _ROUND
    r = xc - k * _LN2_HI
    r = r - k * _LN2_LO
    p = _C13
    p = p * r + _C12
    p = p * r + _C11
    p = p * r + _C10
    p = p * r + _C9
    p = p * r + _C8
    p = p * r + _C7
    p = p * r + _C6
    p = p * r + _C5
    p = p * r + _C4
    p = p * r + _C3
    p = p * r + _C2
    p = p * r + 1.0
    p = p * r + 1.0
    # 2^(k-1) times 2: k reaches 1024 just below _X_MAX, one past the largest exponent
    scale = _bits_to_f64((_f64_to_bits(t) - _ROUND_BITS + 1022) << 52)
    out = (p + p) * scale
    if x < _X_MIN:
        out = 0.0
    if x > _X_MAX:
        out = np.inf
    return out


@njit(fastmath=_FAST)
def _exp_flat(f, scale):
    for i in range(f.shape[0]):
        f[i] = fexp(f[i] * scale)


def _flat_view(a: np.ndarray) -> np.ndarray | None:
    if a.dtype == np.float64 and a.flags.c_contiguous and a.flags.writeable:
        return a.reshape(-1)
    return None


def exp_inplace(a: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """``a[...] = exp(scale * a)`` in place; returns ``a``.

    Arrays that are not writeable C-contiguous float64 take NumPy's ``exp`` instead.
    """
    flat = _flat_view(a)
    if flat is None:
        if scale != 1.0:
            a *= scale
        return np.exp(a, out=a)
    _exp_flat(flat, float(scale))
    return a


@njit(fastmath=_FAST)
def _rbf_row(g, ai, gb, g2):
    for j in range(g.shape[0]):
        # ga, gb are pre-scaled so no product here can be fused with the sum (FMA):
        # ai + gb[j] is then commutative and a symmetric G gives a symmetric kernel
        v = g2 * g[j] - (ai + gb[j])
        if v > 0.0:
            v = 0.0
        g[j] = fexp(v)


@njit(fastmath=_FAST)
def _rbf_from_inner(G, ga, gb, g2):
    # one 1-D call per row: LLVM vectorises the contiguous row loop fully in its own
    # function, and only partly when the same loop is nested in the 2-D one
    for i in range(G.shape[0]):
        _rbf_row(G[i], ga[i], gb, g2)


def rbf_from_inner(G: np.ndarray, sq_a: np.ndarray, sq_b: np.ndarray, gamma: float) -> np.ndarray:
    """RBF kernel values from inner products, in place: ``G = A @ B.T`` becomes
    ``exp(-gamma * ||a_i - b_j||^2)`` (exponents capped at 0 against rounding), one pass.

    ``sq_a`` and ``sq_b`` are the rows' squared norms. Returns ``G``.
    """
    if G.dtype != np.float64 or not G.flags.writeable:
        raise ValueError("rbf_from_inner needs a writeable float64 array.")
    gamma = float(gamma)
    _rbf_from_inner(G, gamma * np.asarray(sq_a, dtype=np.float64),
                    gamma * np.asarray(sq_b, dtype=np.float64), 2.0 * gamma)
    return G


# two helpers rather than one with a ``clip`` flag or a cap: the test inside the loop
# costs time on every element
@njit(fastmath=_FAST)
def _add_exp_row(g, acc):
    for j in range(g.shape[0]):
        acc[j] += fexp(g[j])


@njit(fastmath=_FAST)
def _add_exp_row_clipped(g, acc):
    for j in range(g.shape[0]):
        v = g[j]
        if v > 0.0:
            v = 0.0
        acc[j] += fexp(v)


@njit(inline="always")
def _bag_column_sums(acc, col_offsets, out, a):
    for b in range(col_offsets.shape[0] - 1):
        s = 0.0
        for j in range(col_offsets[b], col_offsets[b + 1]):
            s += acc[j]
        out[a, b] = s


# one tile kernel per row helper, so that a fit compiles only the one it uses (set
# kernels without instance weights clip, weighted ones do not)
@njit(fastmath=_FAST)
def _rbf_tile_sums(G, row_offsets, col_offsets):
    out = np.empty((row_offsets.shape[0] - 1, col_offsets.shape[0] - 1))
    acc = np.empty(G.shape[1])
    for a in range(row_offsets.shape[0] - 1):
        acc[:] = 0.0
        for i in range(row_offsets[a], row_offsets[a + 1]):
            _add_exp_row(G[i], acc)
        _bag_column_sums(acc, col_offsets, out, a)
    return out


@njit(fastmath=_FAST)
def _rbf_tile_sums_clipped(G, row_offsets, col_offsets):
    out = np.empty((row_offsets.shape[0] - 1, col_offsets.shape[0] - 1))
    acc = np.empty(G.shape[1])
    for a in range(row_offsets.shape[0] - 1):
        acc[:] = 0.0
        for i in range(row_offsets[a], row_offsets[a + 1]):
            _add_exp_row_clipped(G[i], acc)
        _bag_column_sums(acc, col_offsets, out, a)
    return out


def rbf_tile_sums(G: np.ndarray, row_offsets: np.ndarray, col_offsets: np.ndarray,
                  clip: bool) -> np.ndarray:
    """``out[a, b] = sum of exp(G)`` over row segment ``a`` and column segment ``b``.

    The RBF set-kernel tile in one pass over the GEMM output ``G`` (exponents, see
    :mod:`skmil._kernels.bagpairs`), without writing it back: rows of a bag are
    accumulated into one vector (in row order, as ``np.add.reduceat`` does), which is
    then summed per column bag. ``clip`` caps the exponents at 0 first. Each row goes
    through a 1-D helper, which LLVM vectorises fully where it only partly vectorises
    the nested loop.

    Returns a new C-contiguous ``(n_row_segments, n_col_segments)`` block, which the
    caller adds into its Gram matrix (a few bag x bag cells per tile): one compiled
    signature whatever the layout of the destination (a tile of a larger Gram matrix is
    a strided view), instead of one per layout.
    """
    kernel = _rbf_tile_sums_clipped if clip else _rbf_tile_sums
    return kernel(np.ascontiguousarray(G, dtype=np.float64),
                  np.ascontiguousarray(row_offsets, dtype=np.int64),
                  np.ascontiguousarray(col_offsets, dtype=np.int64))
