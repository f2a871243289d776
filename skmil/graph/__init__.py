"""Graph-based MIL: mi-Graph and MI-Graph (Zhou, Sun & Li, ICML 2009), and mi-Graph SVR."""

from .migraph import MIGraph, MIGraphExplicit, MIGraphSVR

__all__ = ["MIGraph", "MIGraphExplicit", "MIGraphSVR"]
