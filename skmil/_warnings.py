"""Warnings raised the same way by every skmil estimator (private)."""

from __future__ import annotations

import warnings
from typing import Any

from sklearn.exceptions import ConvergenceWarning

__all__ = ["warn_not_converged"]


def warn_not_converged(estimator: Any, cap: str, detail: str = "") -> None:
    """Emit a ``ConvergenceWarning`` saying that ``estimator`` stopped at its cap ``cap``.

    Parameters
    ----------
    estimator : estimator instance
        The estimator whose iterative solver stopped.
    cap : str
        The name of the parameter that caps the iterations (e.g. ``"max_iter"``).
    detail : str, optional
        What had not converged (appended to the message).
    """
    value = getattr(estimator, cap, None)
    extra = f" ({detail})" if detail else ""
    warnings.warn(
        f"{type(estimator).__name__} stopped at {cap}={value!r} before converging{extra}; "
        f"increase {cap} to let it converge.",
        ConvergenceWarning,
        stacklevel=3,
    )
