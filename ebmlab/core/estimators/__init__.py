"""Training estimators; importing this package registers them all in ESTIMATORS."""

from . import cd, dsm, jem, mle, nce, pcd, pl, sm  # noqa: F401
from .base import ESTIMATORS, Estimator, EstimatorContext, register

__all__ = ["ESTIMATORS", "Estimator", "EstimatorContext", "register"]
