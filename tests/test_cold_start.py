"""What a first use pays once per process: POT's import without its torch backend, and
kernels that compile only the numba variants a call needs."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

_HAS_TORCH = importlib.util.find_spec("torch") is not None


def _run(code: str, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith("POT_BACKEND_")}
    proc = subprocess.run([sys.executable, "-c", code], env={**base, **env},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip()


_PROBE = """
import os, sys
from skmil._kernels.emd import import_ot
{before}
ot = import_ot()
names = sorted(type(b).__name__ for b in ot.backend.get_backend_list())
print("torch" in sys.modules, ",".join(names),
      sorted(k for k in os.environ if k.startswith("POT_BACKEND_")))
"""


@pytest.mark.skipif(not _HAS_TORCH, reason="the torch backend matters only with torch installed")
def test_import_ot_skips_torch_and_restores_environment():
    out = _run(_PROBE.format(before=""))
    assert out == "False NumpyBackend []", out


@pytest.mark.skipif(not _HAS_TORCH, reason="the torch backend matters only with torch installed")
def test_import_ot_keeps_torch_backend_when_torch_is_loaded():
    # a user who works with torch tensors already has torch; POT keeps its backend then
    out = _run(_PROBE.format(before="import torch"))
    assert out.startswith("True ") and "TorchBackend" in out and out.endswith("[]"), out


def test_import_ot_keeps_the_users_own_setting():
    out = _run(_PROBE.format(before=""), POT_BACKEND_DISABLE_PYTORCH="1")
    # the user's own switch is not removed with the ones skmil set for the import
    assert out == "False NumpyBackend ['POT_BACKEND_DISABLE_PYTORCH']", out


def test_import_ot_returns_an_already_imported_ot():
    out = _run("import ot, sys\nfrom skmil._kernels.emd import import_ot\n"
               "print(import_ot() is sys.modules['ot'])")
    assert out == "True"


def test_threaded_graph_kernels_equal_serial(monkeypatch):
    # the parallel variants are compiled only for large inputs with n_jobs > 1; forced
    # here on a small one, they must give exactly the serial results
    import numpy as np

    from skmil import _numba
    from skmil._kernels import graph
    from skmil._parallel import numba_threads

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5))
    offsets = np.array([0, 1, 7, 20, 20 + 13, 45, 60])
    stats, src, dst, eo = graph.graph_structure(X, offsets, 0, 0.2)
    g = (stats, offsets, src, dst, eo)
    g2 = (stats[:20], offsets[:4], src[:eo[3]], dst[:eo[3]], eo[:4])
    serial = [graph.clique_weights(X, offsets, 0, 0.2), graph.edge_kernel_sums(g, 0.5),
              graph.edge_kernel_sums(g, 0.5, g2), graph.edge_kernel_sums(g, 0.5, diagonal=True)]
    monkeypatch.setattr(_numba, "PARALLEL_MIN_WORK", 0)
    with numba_threads(2) as n:
        assert _numba.worth_threads(1.0) == (n > 1)
        threaded = [graph.clique_weights(X, offsets, 0, 0.2), graph.edge_kernel_sums(g, 0.5),
                    graph.edge_kernel_sums(g, 0.5, g2),
                    graph.edge_kernel_sums(g, 0.5, diagonal=True)]
    for a, b in zip(serial, threaded):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(serial[1], serial[1].T)


def test_small_graph_fit_compiles_no_parallel_kernel():
    code = """
from skmil.datasets import make_mil_classification
from skmil.graph import MIGraph, MIGraphExplicit
from skmil._kernels import graph
bags, y, _ = make_mil_classification(n_bags=20, n_features=5, random_state=0)
for est in (MIGraph(), MIGraphExplicit(n_jobs=2)):
    est.fit(bags, y).predict(bags)
print(len(graph._bag_graphs_parallel.signatures),
      len(graph._edge_kernel_rows_parallel.signatures),
      len(graph._bag_graphs.signatures),
      len(graph._edge_kernel_rows_range.signatures))
"""
    # one serial signature each, shared by both estimators and both graph passes
    assert _run(code) == "0 0 1 1"
