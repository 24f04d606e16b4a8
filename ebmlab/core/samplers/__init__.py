"""Steppable sampler kernels; importing this package registers them all in SAMPLERS."""
