"""Steppable sampler kernels; importing this package registers them all in SAMPLERS."""

from . import gibbs, grid, hmc, langevin, rwm
from .base import SAMPLERS, Info, Sampler, register
from .grid import sample_exact

__all__ = [
    "SAMPLERS",
    "Info",
    "Sampler",
    "register",
    "sample_exact",
    "gibbs",
    "grid",
    "hmc",
    "langevin",
    "rwm",
]
