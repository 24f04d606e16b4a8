"""Sweeps: a preset x a grid of settings x seeds, run on Dask distributed, with tidy tables, summary and plots."""
