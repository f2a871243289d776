"""The registry of skmil estimators, found by walking the package.

An estimator registers itself by deriving from :class:`~skmil.base.BaseMILClassifier`
or :class:`~skmil.base.BaseMILTransformer` in a public module of ``skmil``; nothing
else to edit. Modules whose optional dependency is missing (``skmil.deep`` without
torch) are skipped.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

__all__ = ["all_estimators", "get_estimator"]

_SKIP = ("skmil.tests", "skmil.cli", "skmil.__main__")


def _walk_modules():
    import skmil

    yield skmil
    for info in pkgutil.walk_packages(skmil.__path__, prefix="skmil."):
        name = info.name
        if name.startswith(_SKIP) or any(part.startswith("_") for part in name.split(".")[1:]):
            continue
        try:
            yield importlib.import_module(name)
        except ImportError:
            # optional extras (torch for skmil.deep) not installed
            continue


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
