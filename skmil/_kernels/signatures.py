"""Per-bag k-means signatures over the flat bag layout (Zhang et al., IJCV 2007).

A bag's signature is the set of its k-means centres, each weighted by the fraction of
the bag's instances in its cluster. MIL bags are small (a handful to ~1000 instances),
so sklearn's ``KMeans`` would spend far more time in per-call overhead than in
arithmetic; one numba pass over all bags does k-means++ seeding and Lloyd iterations.

Each bag is processed in a canonical (lexicographically sorted) instance order and
draws its random numbers from a stream seeded by the estimator's seed and the bag's
size. The signature is therefore a function of the bag as a *set* and of the seed only:
it does not depend on instance order, on the bag's position in the data set, or on which
other bags are transformed with it (train and test bags get the same treatment). The
stream is deliberately not seeded by the bag's values: a hash of them would send a bag
changed by rounding (a float32 round trip, 1e-12) to another k-means local optimum,
while a fixed stream picks the same seeding points unless a D^2-sampling draw falls
within the rounding of a boundary.
"""

from __future__ import annotations

import numpy as np

from .._numba import njit

__all__ = ["canonical_order", "kmeans_signatures"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TWO_M53 = 1.0 / 9007199254740992.0


@njit
def _mix(z):
    # splitmix64 finaliser: a bijective, well-avalanched uint64 -> uint64 map
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit
def _uniform(state):
    # state is a 1-element uint64 array (splitmix64 stream); returns a float in [0, 1)
    state[0] += _GOLDEN
    return np.float64(_mix(state[0]) >> _S11) * _TWO_M53


@njit
def _sqd(X, a, C, c, d):
    s = 0.0
    for f in range(d):
        t = X[a, f] - C[c, f]
        s += t * t
    return s


@njit
def kmeans_signatures(X, offsets, order, k_max, seed, max_iter, centres, counts,
                      sig_offsets):
    """k-means (greedy k-means++ seeding, Lloyd) of every bag with more than ``k_max`` instances.

    ``order`` lists instance rows bag by bag in canonical order. Bags with at most
    ``k_max`` instances are copied unchanged with count 1 per instance. ``centres`` /
    ``counts`` are laid out by ``sig_offsets`` (``min(n_i, k_max)`` rows per bag);
    clusters that end up empty keep count 0 and are dropped by the caller.
    """
    d = X.shape[1]
    state = np.zeros(1, dtype=np.uint64)
    for b in range(offsets.shape[0] - 1):
        o0 = offsets[b]
        n = offsets[b + 1] - o0
        s0 = sig_offsets[b]
        if n <= k_max:
            for a in range(n):
                r = order[o0 + a]
                for f in range(d):
                    centres[s0 + a, f] = X[r, f]
                counts[s0 + a] = 1.0
            continue
        k = k_max
        # a stream of the seed and the bag size only (see the module docstring)
        state[0] = _mix(_mix(np.uint64(seed) ^ _GOLDEN) ^ np.uint64(n))
        pts = np.empty((n, d))
        for a in range(n):
            r = order[o0 + a]
            for f in range(d):
                pts[a, f] = X[r, f]
        C = np.empty((k, d))
        # k-means++ seeding: first centre uniform, then D^2 sampling
        first = min(int(_uniform(state) * n), n - 1)
        for f in range(d):
            C[0, f] = pts[first, f]
        closest = np.empty(n)
        for a in range(n):
            closest[a] = _sqd(pts, a, C, 0, d)
        # greedy k-means++ (as sklearn's KMeans): of n_trials D^2-sampled candidates,
        # keep the one that lowers the potential most
        n_trials = 2 + int(np.log(k))
        trial = np.empty(n)
        best_closest = np.empty(n)
        m = 1
        while m < k:
            total = 0.0
            for a in range(n):
                total += closest[a]
            if total <= 0.0:
                break  # fewer distinct points than k: every point is already a centre
            best_pick, best_pot = -1, np.inf
            for _t in range(n_trials):
                u = _uniform(state) * total
                pick = n - 1
                acc = 0.0
                for a in range(n):
                    acc += closest[a]
                    if acc > u and closest[a] > 0.0:
                        pick = a
                        break
                while closest[pick] <= 0.0:  # rounding at the tail: last far point
                    pick -= 1
                pot = 0.0
                for a in range(n):
                    s = 0.0
                    for f in range(d):
                        t = pts[a, f] - pts[pick, f]
                        s += t * t
                    trial[a] = min(s, closest[a])
                    pot += trial[a]
                if pot < best_pot:
                    best_pick, best_pot = pick, pot
                    best_closest[:] = trial
            for f in range(d):
                C[m, f] = pts[best_pick, f]
            closest[:] = best_closest
            m += 1
        # Lloyd iterations until the assignment no longer changes
        assign = np.full(n, -1, dtype=np.int64)
        dist = np.empty(n)
        cnt = np.zeros(m)
        for _ in range(max_iter):
            changed = False
            for a in range(n):
                best, bd = 0, _sqd(pts, a, C, 0, d)
                for c in range(1, m):
                    dd = _sqd(pts, a, C, c, d)
                    if dd < bd:
                        best, bd = c, dd
                dist[a] = bd
                if assign[a] != best:
                    assign[a] = best
                    changed = True
            cnt[:] = 0.0
            for a in range(n):
                cnt[assign[a]] += 1.0
            # an emptied cluster takes the point farthest from its centre among
            # clusters that can spare one, so that k clusters survive when possible
            for c in range(m):
                if cnt[c] == 0.0:
                    far, fd = -1, -1.0
                    for a in range(n):
                        if cnt[assign[a]] > 1.0 and dist[a] > fd:
                            far, fd = a, dist[a]
                    if far >= 0 and fd > 0.0:
                        cnt[assign[far]] -= 1.0
                        assign[far] = c
                        dist[far] = 0.0
                        cnt[c] = 1.0
                        changed = True
            if not changed:
                break
            C[:m] = 0.0
            for a in range(n):
                c = assign[a]
                for f in range(d):
                    C[c, f] += pts[a, f]
            for c in range(m):
                if cnt[c] > 0.0:
                    for f in range(d):
                        C[c, f] /= cnt[c]
        for c in range(m):
            for f in range(d):
                centres[s0 + c, f] = C[c, f]
            counts[s0 + c] = cnt[c]
        for c in range(m, k):
            counts[s0 + c] = 0.0


def canonical_order(instances: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Instance rows sorted bag by bag, lexicographically by feature values."""
    n_bags = offsets.shape[0] - 1
    bag_index = np.repeat(np.arange(n_bags), np.diff(offsets))
    # lexsort's last key is the primary one: bag, then feature 0, 1, ...
    keys = tuple(instances[:, f] for f in range(instances.shape[1] - 1, -1, -1))
    return np.lexsort((*keys, bag_index)).astype(np.int64)
