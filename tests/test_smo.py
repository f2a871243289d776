"""skmil's SMO (``skmil.svm._smo``): the shrinking and the whole-problem paths."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from skmil.svm import _smo
from skmil.svm._smo import smo_solve


def _problem(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = np.where(X[:, 0] + rng.normal(size=n) > 0, 1.0, -1.0)
    K = np.exp(-0.3 * ((X[:, None] - X[None]) ** 2).sum(-1))
    p = -rng.uniform(-0.3, 1.0, size=n)  # some positive entries, as sMIL's large bags
    C = rng.uniform(0.5, 2.0, size=n)
    return K, p, y, C


def _max_violation(a, K, p, y, C):
    yG = y * ((y[:, None] * y[None] * K) @ a + p)
    up = ((y > 0) & (a < C)) | ((y < 0) & (a > 0))
    low = ((y > 0) & (a > 0)) | ((y < 0) & (a < C))
    return (-yG[up]).max() + yG[low].max()


def test_auto_shrinks_from_shrinking_min_n_on(monkeypatch):
    K, p, y, C = _problem(60)
    calls = []
    solve = _smo._solve_shrinking
    monkeypatch.setattr(_smo, "_solve_shrinking",
                        lambda *args: calls.append(1) or solve(*args))
    monkeypatch.setattr(_smo, "SHRINKING_MIN_N", 61)
    a_all, rho_all, _ = smo_solve(K, p, y, C, tol=1e-8)
    assert calls == []
    monkeypatch.setattr(_smo, "SHRINKING_MIN_N", 60)
    a_shr, rho_shr, _ = smo_solve(K, p, y, C, tol=1e-8)
    assert calls == [1]
    # both meet the stopping rule on the whole problem and agree within the tolerance
    for a in (a_all, a_shr):
        assert _max_violation(a, K, p, y, C) < 1e-8
        assert abs(y @ a) < 1e-10
    np.testing.assert_allclose(a_shr, a_all, atol=1e-6)
    assert rho_shr == pytest.approx(rho_all, abs=1e-6)


@pytest.mark.parametrize("shrinking", [False, True])
def test_iteration_cap_returns_a_feasible_point_and_its_bias(shrinking):
    # 1,200 variables: with shrinking, the cap falls inside the second block of
    # iterations (blocks of 1,000), on a shrunk active set
    K, p, y, C = _problem(1200, seed=1)
    a, rho, n_iter = smo_solve(K, p, y, C, tol=1e-9, max_iter=1500, shrinking=shrinking)
    assert n_iter == 1500
    assert abs(y @ a) < 1e-10 and np.all((a >= 0) & (a <= C))
    yG = y * ((y[:, None] * y[None] * K) @ a + p)
    free = (a > 0) & (a < C)
    assert free.any()
    assert rho == pytest.approx(yG[free].mean(), abs=1e-9)


def test_small_problem_compiles_no_shrinking_kernel():
    # a first solve compiles what it calls: on a small problem, the whole-problem
    # kernel only (shrinking's kernels would add to the cold-cache compilation)
    code = (
        "import numpy as np\n"
        "from skmil.svm import _smo\n"
        "K = np.eye(20) + 0.5\n"
        "y = np.where(np.arange(20) % 2 == 0, 1.0, -1.0)\n"
        "_smo.smo_solve(K, -np.ones(20), y, np.ones(20))\n"
        "print([len(f.signatures) for f in (_smo._iterate_all, _smo._iterate,\n"
        "       _smo._select, _smo._shrink, _smo._unshrink)])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().splitlines()[-1] == "[1, 0, 0, 0, 0]"
