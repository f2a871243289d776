"""The estimator registry reports broken modules and skips only a missing optional extra."""

from __future__ import annotations

import importlib
import sys

import pytest

from skmil.utils import _registry, all_estimators


def _fail_import_of(monkeypatch, module_name, exc):
    """Make ``importlib.import_module(module_name)`` raise ``exc``; other imports work."""
    real = importlib.import_module

    def fake(name, package=None):
        if name == module_name:
            raise exc
        return real(name, package)

    monkeypatch.setattr(_registry.importlib, "import_module", fake)


def _deep_names():
    import skmil.deep

    return set(skmil.deep.__all__)


@pytest.mark.parametrize("missing", ["torch", "torch.nn"])
def test_missing_torch_leaves_deep_out_silently(monkeypatch, missing):
    exc = ModuleNotFoundError(f"No module named {missing!r}", name=missing)
    _fail_import_of(monkeypatch, "skmil.deep", exc)
    names = {n for n, _ in all_estimators()}
    assert "SIL" in names and "BagStatistics" in names
    assert not names & _deep_names()


@pytest.mark.parametrize(
    "module, exc",
    [
        ("skmil.svm", ImportError("cannot import name 'fast' from 'skmil._kernels'")),
        # a missing *required* dependency is a broken install, not an optional extra
        ("skmil.distance", ModuleNotFoundError("No module named 'ot'", name="ot")),
        # only torch itself is optional: a package merely named like it is not
        ("skmil.deep", ModuleNotFoundError("No module named 'torchy'", name="torchy")),
        ("skmil.embedding", ModuleNotFoundError("No module named 'skmil._kernels.segments'",
                                                name="skmil._kernels.segments")),
    ],
)
def test_other_import_errors_name_the_module(monkeypatch, module, exc):
    _fail_import_of(monkeypatch, module, exc)
    with pytest.raises(ImportError, match=rf"could not import '{module}'") as info:
        all_estimators()
    assert str(exc) in str(info.value)
    assert info.value.__cause__ is exc


def test_a_package_that_fails_while_walked_is_reported(monkeypatch):
    # pkgutil imports each package itself to look inside it; a None entry in
    # sys.modules makes exactly that import fail
    monkeypatch.setitem(sys.modules, "skmil.dd", None)
    with pytest.raises(ImportError, match=r"could not import 'skmil\.dd'"):
        all_estimators()


def test_a_shadowing_namespace_package_is_reported(monkeypatch, tmp_path):
    # a leftover site-packages/skmil without __init__.py makes `skmil` a namespace
    # package whose path holds no estimator modules
    import skmil

    monkeypatch.setattr(skmil, "__file__", None)
    monkeypatch.setattr(skmil, "__path__", [str(tmp_path / "skmil")])
    with pytest.raises(ImportError, match="without __init__.py .*shadows the installed skmil"):
        all_estimators()
