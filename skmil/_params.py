"""``key=value`` parameter strings, shared by ``skmil evaluate`` and ``skmil benchmark``."""

from __future__ import annotations

import argparse
import ast
from collections.abc import Sequence
from typing import Any

__all__ = ["count_at_least", "parse_params"]


def parse_params(items: Sequence[str] | None) -> dict[str, Any]:
    """Parse ``key=value`` strings; values are Python literals when they parse, else strings.

    Parameters
    ----------
    items : sequence of str or None
        Strings such as ``"C=10"``.

    Returns
    -------
    params : dict
        Parameter name -> value.

    Examples
    --------
    >>> parse_params(["C=10", "kernel=rbf", "statistics=('mean', 'max')"])
    {'C': 10, 'kernel': 'rbf', 'statistics': ('mean', 'max')}
    """
    params: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"--param expects key=value, got {item!r}.")
        key, raw = item.split("=", 1)
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw
        params[key.strip()] = value
    return params


def count_at_least(minimum: int):
    """An argparse ``type``: an integer of at least ``minimum`` (argparse exits 2 otherwise).

    Examples
    --------
    >>> count_at_least(2)("10")
    10
    """

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse
