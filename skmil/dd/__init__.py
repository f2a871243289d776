"""Diverse Density family: DiverseDensity (noisy-or), EMDD (most likely cause) and
EMDDRegressor (EM-DD for real-valued targets)."""

from .diverse_density import EMDD, DiverseDensity
from .emdd_regressor import EMDDRegressor

__all__ = ["DiverseDensity", "EMDD", "EMDDRegressor"]
