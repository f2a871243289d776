"""numpydoc validation of every public docstring, without a Sphinx build.

The checks are the ones the docs build enforces (``numpydoc_validation_checks`` in
``docs/conf.py``, read from there so the two cannot drift apart). The objects are the
public classes and functions of skmil's public modules and of the estimator registry,
and every public method and property those classes define or inherit from a skmil
class (validated once, where it is defined; methods inherited from scikit-learn are
scikit-learn's docstrings).
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

PUBLIC_MODULES = (
    "skmil",
    "skmil.bags",
    "skmil.base",
    "skmil.benchmark",
    "skmil.cli",
    "skmil.datasets",
    "skmil.dd",
    "skmil.deep",
    "skmil.deep.callbacks",
    "skmil.distance",
    "skmil.embedding",
    "skmil.ensemble",
    "skmil.graph",
    "skmil.linear_model",
    "skmil.meta",
    "skmil.model_selection",
    "skmil.pipeline",
    "skmil.preprocessing",
    "skmil.svm",
    "skmil.utils",
    "skmil.utils.estimator_checks",
)


def _configured_checks() -> set[str]:
    """The error codes ``docs/conf.py`` reports, as numpydoc resolves its setting."""
    conf = Path(__file__).resolve().parents[1] / "docs" / "conf.py"
    for node in ast.parse(conf.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "numpydoc_validation_checks"
            for t in node.targets
        ):
            return numpydoc_validate.get_validation_checks(ast.literal_eval(node.value))
    raise AssertionError("docs/conf.py sets no numpydoc_validation_checks")


CHECKS = _configured_checks()


def _public_names(module) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, obj in vars(module).items()
                 if not n.startswith("_") and getattr(obj, "__module__", None) == module.__name__]
    return names


def _is_skmil(obj) -> bool:
    return (getattr(obj, "__module__", None) or "").split(".")[0] == "skmil"


def _public_objects() -> list[str]:
    """Import paths of every public class, function, method and property, each once."""
    from skmil.utils import all_estimators

    found: dict[int, str] = {}  # id(object) -> the path it is validated under

    def add(obj, path: str) -> None:
        found.setdefault(id(obj), path)

    classes = []
    for module_name in PUBLIC_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:  # skmil.deep without torch
            if exc.name == "torch":
                continue
            raise
        for name in _public_names(module):
            obj = getattr(module, name)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and _is_skmil(obj):
                add(obj, f"{obj.__module__}.{obj.__qualname__}")
                if inspect.isclass(obj):
                    classes.append(obj)
    for _, cls in all_estimators():
        add(cls, f"{cls.__module__}.{cls.__qualname__}")
        classes.append(cls)

    for cls in classes:
        for klass in cls.__mro__:
            if not _is_skmil(klass):
                continue
            for name, attr in vars(klass).items():
                if name.startswith("_"):
                    continue
                if isinstance(attr, (staticmethod, classmethod)):
                    attr = attr.__func__
                # a method behind scikit-learn's ``available_if`` is a descriptor
                # holding the function
                attr = getattr(attr, "fn", attr)
                if inspect.isfunction(attr) or isinstance(attr, property):
                    add(attr, f"{klass.__module__}.{klass.__qualname__}.{name}")
    return sorted(found.values())


def _errors(doc) -> list[str]:
    """The configured numpydoc errors of ``doc`` (an import path or a docstring object)."""
    report = numpydoc_validate.validate(doc)
    return [f"{code}: {message}" for code, message in report["errors"] if code in CHECKS]


def test_checks_are_meaningful():
    # The undocumented-parameter checks, at least, must stay on.
    assert {"GL08", "PR01", "PR02", "PR03", "PR07", "RT01", "RT03"} <= CHECKS


def test_undocumented_parameter_is_reported():
    def documented_one_of_two(*, alpha: int, beta: int) -> int:
        """Add two numbers.

        Parameters
        ----------
        alpha : int
            The first number.

        Returns
        -------
        int
            The sum.
        """
        return alpha + beta

    errors = _errors(numpydoc_validate.get_doc_object(documented_one_of_two))
    assert any(e.startswith("PR01") and "beta" in e for e in errors), errors


@pytest.mark.parametrize("path", _public_objects())
def test_docstring(path):
    errors = _errors(path)
    assert not errors, f"{path}:\n  " + "\n  ".join(errors)
