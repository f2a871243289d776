"""Earth mover's distances between all pairs of bags.

The per-pair cost of POT's ``ot.emd2`` at bag sizes of ~10 is dominated by Python
overhead (argument checks, backend dispatch, marginal checks). Here the ground costs of
all instance pairs come from BLAS blocks once, each bag pair's cost block is a slice,
and the C network-simplex solver ``ot.lp.emd_wrap.emd_c`` (which releases the GIL) is
called directly; equal-size bags with uniform weights (decided per bag) use the
assignment special case
``scipy.optimize.linear_sum_assignment``. Pairs run in chunks on a joblib thread pool.

``ot`` is imported lazily, on the first EMD, and without POT's optional array backends
(torch, jax, cupy, tensorflow) that are not loaded yet (:func:`import_ot`): skmil only
calls POT's C solver on NumPy arrays, and POT's import of torch alone costs more than
the rest of a small EMD-SVM fit.
"""

from __future__ import annotations

import os
import sys
import threading
from types import ModuleType

import numpy as np
from joblib import Parallel, delayed
from scipy.optimize import linear_sum_assignment

from .bagpairs import row_blocks, sq_norms, sqdist_block

__all__ = ["emd_pairs", "emd_solver", "import_ot"]

# POT's environment switches that keep it from importing an array backend, and the
# top-level package each one guards
_POT_BACKEND_SWITCHES = {
    "POT_BACKEND_DISABLE_PYTORCH": "torch",
    "POT_BACKEND_DISABLE_JAX": "jax",
    "POT_BACKEND_DISABLE_CUPY": "cupy",
    "POT_BACKEND_DISABLE_TENSORFLOW": "tensorflow",
}
# the first EMDs may run on several joblib threads at once; one of them imports and
# the others wait, rather than see a half-initialised ``ot`` or a half-restored
# environment
_OT_IMPORT_LOCK = threading.Lock()


def import_ot() -> ModuleType:
    """Import POT (``ot``) without the array backends skmil does not need.

    POT decides at import time, from environment variables, which backends it loads,
    and loads torch (seconds) whenever it is installed. skmil passes NumPy arrays only,
    so when ``ot`` is not imported yet, the switches of the backends whose packages are
    not imported yet either are set for the duration of this import alone and the
    environment is restored afterwards: a user's own later ``import ot`` finds it
    already imported (without those backends); a process that imported ``ot`` or the
    backend package first keeps POT's full behaviour.
    """
    with _OT_IMPORT_LOCK:
        if "ot" in sys.modules:
            return sys.modules["ot"]
        saved = {key: os.environ.get(key) for key in _POT_BACKEND_SWITCHES}
        try:
            for key, package in _POT_BACKEND_SWITCHES.items():
                if package not in sys.modules and saved[key] is None:
                    os.environ[key] = "1"
            import ot
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        return ot


def emd_solver():
    """The fastest available exact EMD callable ``f(a, b, M) -> cost``.

    Uses POT's C solver directly when its private entry point exists, else the public
    ``ot.emd2`` with marginal checks off.
    """
    ot = import_ot()
    try:
        from ot.lp.emd_wrap import emd_c
    except ImportError:  # pragma: no cover - depends on POT's private layout

        def solve(a, b, M):
            return float(ot.emd2(a, b, M, check_marginals=False))

        return solve

    def solve(a, b, M):
        res = emd_c(a, b, M, 100000, 1)
        return float(res[1])

    return solve


def _ground_cost_rows(X, sx, Y, sy, r0, r1, metric):
    D = sqdist_block(X[r0:r1], Y, sx[r0:r1], sy)
    if metric == "euclidean":
        np.sqrt(D, out=D)
    return D


def _chunk(G, r0, q0, offsets, offsets_y, wx, wy, pairs, ux, uy):
    # G holds the ground costs of rows r0.. against columns q0..
    solve = emd_solver()
    out = np.empty(len(pairs))
    for k, (i, j) in enumerate(pairs):
        a0, a1 = offsets[i] - r0, offsets[i + 1] - r0
        c0, c1 = offsets_y[j], offsets_y[j + 1]
        M = np.ascontiguousarray(G[a0:a1, c0 - q0:c1 - q0])
        n = a1 - a0
        if n == c1 - c0 and ux[i] and uy[j]:
            r, c = linear_sum_assignment(M)
            out[k] = M[r, c].sum() / n
        else:
            out[k] = solve(wx[offsets[i]:offsets[i + 1]], wy[c0:c1], M)
    return out


#: The most ground costs (float64 cells) one block of :func:`emd_pairs` holds: 64 MiB.
MAX_BLOCK_CELLS = 1 << 23
#: The largest ground-cost matrix of one bag pair :func:`emd_pairs` accepts: 1 GiB.
MAX_PAIR_CELLS = 1 << 27


def emd_pairs(
    X, offsets, wx, Y, offsets_y, wy, pairs, *, metric="euclidean", uniform=False,
    uniform_y=None, n_jobs=None, backend="threading", block_size=2048,
):
    """EMD of each bag pair ``(i, j)`` in ``pairs`` (an (P, 2) int array).

    ``wx`` and ``wy`` are per-instance weights normalised to sum 1 within each bag.
    ``uniform`` (bool, or one bool per bag of ``X``) and ``uniform_y`` (same for ``Y``;
    default ``uniform``) mark bags whose weights are all equal: a pair of such bags
    of equal size is solved as an assignment problem.
    Ground costs are computed for one block of row bags (about ``block_size``
    instances) against one tile of column bags at a time, the tile as wide as
    :data:`MAX_BLOCK_CELLS` allows (whole bags, at least one), and that block's pairs
    are solved in parallel. Memory is ``O(MAX_BLOCK_CELLS)`` plus, for a pair of bags
    larger than that, their ``n_i x n_j`` cost matrix, which the exact EMD needs.
    """
    from joblib import effective_n_jobs

    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    ux = np.broadcast_to(np.asarray(uniform, dtype=bool), (offsets.shape[0] - 1,))
    uy = np.broadcast_to(np.asarray(uniform if uniform_y is None else uniform_y, dtype=bool),
                         (offsets_y.shape[0] - 1,))
    out = np.zeros(pairs.shape[0])
    if pairs.shape[0] == 0:
        return out
    cells = np.diff(offsets)[pairs[:, 0]] * np.diff(offsets_y)[pairs[:, 1]]
    worst = int(np.argmax(cells))
    if cells[worst] > MAX_PAIR_CELLS:
        n_i = int(offsets[pairs[worst, 0] + 1] - offsets[pairs[worst, 0]])
        n_j = int(offsets_y[pairs[worst, 1] + 1] - offsets_y[pairs[worst, 1]])
        raise ValueError(
            f"the exact EMD between a bag of {n_i} and a bag of {n_j} instances needs their "
            f"{n_i} x {n_j} ground-cost matrix ({cells[worst] * 8 / 2**30:.1f} GiB); reduce "
            "the bags to signatures first (EMDSVM(signature='kmeans'))."
        )
    sx, sy = sq_norms(X), sq_norms(Y)
    n_workers = effective_n_jobs(n_jobs)
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    sorted_first = pairs[order, 0]
    parallel = Parallel(n_jobs=n_jobs, backend=backend) if n_workers > 1 else None
    for b0, b1 in row_blocks(offsets, block_size):
        lo, hi = np.searchsorted(sorted_first, [b0, b1])
        if lo == hi:
            continue
        r0, r1 = offsets[b0], offsets[b1]
        tiles = row_blocks(offsets_y, max(1, MAX_BLOCK_CELLS // int(r1 - r0)))
        tile_of = np.searchsorted([t[0] for t in tiles], pairs[order[lo:hi], 1], side="right") - 1
        for t in np.unique(tile_of):
            idx = order[lo:hi][tile_of == t]
            q0, q1 = offsets_y[tiles[t][0]], offsets_y[tiles[t][1]]
            G = _ground_cost_rows(X, sx, Y[q0:q1], sy[q0:q1], r0, r1, metric)
            block_pairs = pairs[idx]
            if parallel is None:
                out[idx] = _chunk(G, r0, q0, offsets, offsets_y, wx, wy, block_pairs, ux, uy)
                continue
            size = max(1, -(-block_pairs.shape[0] // (4 * n_workers)))
            parts = parallel(
                delayed(_chunk)(G, r0, q0, offsets, offsets_y, wx, wy,
                                block_pairs[k:k + size], ux, uy)
                for k in range(0, block_pairs.shape[0], size)
            )
            out[idx] = np.concatenate(parts)
    return out
