"""Diverse Density family: DiverseDensity (noisy-or) and EMDD (most likely cause)."""

from .diverse_density import EMDD, DiverseDensity

__all__ = ["DiverseDensity", "EMDD"]
