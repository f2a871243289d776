"""Graph-based MIL: mi-Graph and MI-Graph (Zhou, Sun & Li, ICML 2009)."""

from .migraph import MIGraph, MIGraphExplicit

__all__ = ["MIGraph", "MIGraphExplicit"]
