"""Headless core: torch + numpy only. Never imports Qt."""
