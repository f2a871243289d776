"""The registry of skmil estimators, found by walking the package.

An estimator registers itself by deriving from :class:`~skmil.base.BaseMILClassifier`,
:class:`~skmil.base.BaseMILRegressor` or :class:`~skmil.base.BaseMILTransformer` in a
public module of ``skmil``; nothing
else to edit. A module whose optional dependency is missing (``torch`` for
``skmil.deep``) is skipped; any other failure to import a module raises an
:class:`ImportError` that names the module, so a broken install never looks like an
empty library.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys

__all__ = ["ALIASES", "all_estimators", "get_estimator"]

#: Other names of estimators (the papers' spellings), alias -> class name. Each estimator
#: is registered once, under its class name; these names only find it.
ALIASES: dict[str, str] = {
    "mi-SVM": "InstanceMISVM",
    "miSVM": "InstanceMISVM",
    "MI-SVM": "MISVM",
    "NSK": "MIKernelSVM",
    "MI-Kernel": "MIKernelSVM",
    "sMIL": "SparseMIL",
    "sbMIL": "SparseBalancedMIL",
    "stMIL": "SparseTransductiveMIL",
    "mi-Net": "InstanceMINet",
    "MiNet": "InstanceMINet",
    "MI-Net": "MINet",
    "mi-Graph": "MIGraph",
    "MI-Graph": "MIGraphExplicit",
    "DD": "DiverseDensity",
    "EM-DD": "EMDD",
    "miVLAD": "MiVLAD",
    "miFV": "MiFV",
    "Citation-kNN": "CitationKNN",
    "EMD-SVM": "EMDSVM",
    "ABMIL": "AttentionMIL",
    "MILR": "MILogisticRegression",
}

_SKIP = ("skmil.tests", "skmil.cli", "skmil.__main__")

# Top-level packages an estimator module may need without skmil requiring them: a module
# that fails for want of one of these is left out of the registry, since its estimators
# cannot be built anyway (torch for skmil.deep, the ``deep`` extra).
_OPTIONAL_DEPENDENCIES = ("torch",)


def _missing_optional_dependency(exc: ImportError) -> bool:
    """Whether ``exc`` says only that an optional dependency is not installed."""
    if not isinstance(exc, ModuleNotFoundError) or exc.name is None:
        return False
    return exc.name.split(".")[0] in _OPTIONAL_DEPENDENCIES


def _import_failed(name: str, exc: ImportError) -> ImportError:
    # Any other failure is a broken module or a broken install (e.g. a stale
    # ``site-packages/skmil`` directory shadowing an editable install); hiding it would
    # make the library look empty, so it is reported with the module's name.
    return ImportError(
        f"skmil's estimator registry could not import {name!r}: "
        f"{type(exc).__name__}: {exc}. Fix or reinstall skmil (from a clone: "
        "`pip install -e .`); if `import skmil` works only inside the clone, remove the "
        "stale skmil directory from site-packages."
    )


def _walk_modules():
    import skmil

    if getattr(skmil, "__file__", None) is None:
        # `skmil` came in as a namespace package: a directory without __init__.py (such
        # as one left in site-packages by an earlier non-editable install, holding only
        # numba cache files) shadows the real package, whose modules then cannot be
        # walked; the registry would look empty.
        where = ", ".join(str(path) for path in skmil.__path__)
        raise ImportError(
            f"`import skmil` found a directory without __init__.py ({where}) that shadows "
            "the installed skmil. Remove that directory, then reinstall skmil (from a "
            "clone: `pip install -e .`)."
        )

    def onerror(name: str) -> None:
        # pkgutil calls this when importing a package to look inside it fails; without
        # it, pkgutil would silently skip the package and everything below it.
        exc = sys.exc_info()[1]
        if isinstance(exc, ImportError):
            if _missing_optional_dependency(exc):
                return
            raise _import_failed(name, exc) from exc
        raise  # pkgutil calls onerror inside its ``except`` block: re-raise as is

    yield skmil
    for info in pkgutil.walk_packages(skmil.__path__, prefix="skmil.", onerror=onerror):
        name = info.name
        if name.startswith(_SKIP) or any(part.startswith("_") for part in name.split(".")[1:]):
            continue
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            if _missing_optional_dependency(exc):
                continue
            raise _import_failed(name, exc) from exc
        yield module


def all_estimators(type_filter: str | None = None) -> list[tuple[str, type]]:
    """Every public skmil estimator, as sorted ``(name, class)`` pairs.

    Parameters
    ----------
    type_filter : {"classifier", "regressor", "transformer"}, optional
        Only classifiers, only regressors or only transformers; default all three.

    Returns
    -------
    estimators : list of (str, type)
        ``(class name, class)`` pairs, sorted by name.

    Examples
    --------
    >>> from skmil.utils import all_estimators
    >>> names = [name for name, _ in all_estimators("classifier")]
    >>> "SIL" in names
    True
    """
    from ..base import BaseMILClassifier, BaseMILRegressor, BaseMILTransformer

    bases = {
        None: (BaseMILClassifier, BaseMILRegressor, BaseMILTransformer),
        "classifier": (BaseMILClassifier,),
        "regressor": (BaseMILRegressor,),
        "transformer": (BaseMILTransformer,),
    }.get(type_filter)
    if bases is None:
        raise ValueError("type_filter must be None, 'classifier', 'regressor' or "
                         f"'transformer', got {type_filter!r}.")
    found: dict[str, type] = {}
    for module in _walk_modules():
        for name, obj in inspect.getmembers(module, inspect.isclass):
            if (
                # a class registers under its own name once; other names bound to it
                # are aliases (ALIASES), not second estimators
                name == obj.__name__
                and not name.startswith("_")
                and issubclass(obj, bases)
                and obj.__module__.startswith("skmil")
                and not inspect.isabstract(obj)
                and _dependencies_available(obj)
            ):
                found[name] = obj
    return sorted(found.items())


def _dependencies_available(cls: type) -> bool:
    """Whether the optional packages an estimator needs (``_required_dependencies``) import."""
    import importlib.util

    return all(importlib.util.find_spec(dep) is not None
               for dep in getattr(cls, "_required_dependencies", ()))


def get_estimator(name: str) -> type:
    """Look an estimator class up by its name or an alias.

    An exact class name wins, then an exact alias from :data:`ALIASES` (the papers'
    spellings, such as ``"mi-SVM"`` or ``"NSK"``); otherwise the match ignores case,
    '-' and '_', and must then be unambiguous.

    Parameters
    ----------
    name : str
        A class name (``"InstanceMISVM"``) or an alias (``"mi-SVM"``).

    Returns
    -------
    type
        The estimator class.

    Examples
    --------
    >>> from skmil.utils import get_estimator
    >>> get_estimator("sil").__name__
    'SIL'
    >>> get_estimator("NSK").__name__
    'MIKernelSVM'
    """

    def norm(s: str) -> str:
        return s.lower().replace("-", "").replace("_", "")

    estimators = dict(all_estimators())
    if name in estimators:
        return estimators[name]
    if name in ALIASES and ALIASES[name] in estimators:
        return estimators[ALIASES[name]]
    names = {n: n for n in estimators}
    names.update({a: target for a, target in ALIASES.items() if target in estimators})
    loose = sorted({target for n, target in names.items() if norm(n) == norm(name)})
    if len(loose) == 1:
        return estimators[loose[0]]
    if loose:
        options = " or ".join(loose)
        raise ValueError(f"estimator name {name!r} is ambiguous: {options}; spell it exactly.")
    import difflib

    close = difflib.get_close_matches(name, list(names), n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(
        f"unknown estimator {name!r}.{hint} Known estimators: {', '.join(estimators)}."
    )
