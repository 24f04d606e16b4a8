"""Hardening: property-based and corpus tests of untrusted input (expressions, presets, data files)."""
