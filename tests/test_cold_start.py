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
