"""The registry of skmil estimators, found by walking the package.

An estimator registers itself by deriving from :class:`~skmil.base.BaseMILClassifier`
or :class:`~skmil.base.BaseMILTransformer` in a public module of ``skmil``; nothing
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

__all__ = ["all_estimators", "get_estimator"]

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
    type_filter : {"classifier", "transformer"}, optional
        Only classifiers or only transformers; default both.

    Returns
    -------
    estimators : list of (str, type)

    Examples
    --------
    >>> from skmil.utils import all_estimators
    >>> names = [name for name, _ in all_estimators("classifier")]
    >>> "SIL" in names
    True
    """
    from ..base import BaseMILClassifier, BaseMILTransformer

    if type_filter not in (None, "classifier", "transformer"):
        raise ValueError(
            f"type_filter must be None, 'classifier' or 'transformer', got {type_filter!r}."
        )
    bases = {
        None: (BaseMILClassifier, BaseMILTransformer),
        "classifier": (BaseMILClassifier,),
        "transformer": (BaseMILTransformer,),
    }[type_filter]
    found: dict[str, type] = {}
    for module in _walk_modules():
        for name, obj in inspect.getmembers(module, inspect.isclass):
            if (
                not name.startswith("_")
                and issubclass(obj, bases)
                and obj not in (BaseMILClassifier, BaseMILTransformer)
                and obj.__module__.startswith("skmil")
                and not inspect.isabstract(obj)
                and not obj.__dict__.get("_abstract", False)
            ):
                found[name] = obj
    return sorted(found.items())


def get_estimator(name: str) -> type:
    """Look an estimator class up by name.

    An exact match wins; otherwise the match ignores case, '-' and '_', which must then
    be unambiguous (``MISVM`` and ``miSVM`` are different estimators).

    Examples
    --------
    >>> from skmil.utils import get_estimator
    >>> get_estimator("sil").__name__
    'SIL'
    """

    def norm(s: str) -> str:
        return s.lower().replace("-", "").replace("_", "")

    estimators = all_estimators()
    exact = [cls for n, cls in estimators if n == name]
    if exact:
        return exact[0]
    loose = [cls for n, cls in estimators if norm(n) == norm(name)]
    if len(loose) == 1:
        return loose[0]
    known = ", ".join(n for n, _ in estimators)
    if loose:
        options = " or ".join(c.__name__ for c in loose)
        raise ValueError(f"estimator name {name!r} is ambiguous: {options}; spell it exactly.")
    raise ValueError(f"unknown estimator {name!r}; known estimators: {known}.")
