"""The bundled lessons (presets/*.json): listed from their JSON alone, without the schema.

Kept apart from ebmlab.config.presets (which validates, and so imports the core and torch) so that
`ebmlab presets` lists them in a fraction of a second.
"""

from __future__ import annotations

import json
from pathlib import Path

BUNDLED_DIR = Path(__file__).resolve().parents[2] / "presets"


def bundled_presets() -> list[tuple[Path, str, str]]:
    """(path, name, one-line description) of every bundled preset, sorted by file name."""
    out = []
    for p in sorted(BUNDLED_DIR.glob("*.json")):
        try:
            raw = json.loads(p.read_text("utf-8"))
            out.append((p, str(raw.get("name", p.stem)), str(raw.get("description", ""))))
        except (OSError, ValueError):
            out.append((p, p.stem, "(unreadable)"))
    return out
