"""Found by hostile input (issue 16, section 4, item 5): `ebmlab --help` and `ebmlab presets` took 4-7 s because
every command module was imported with torch first. Now neither imports torch or PySide6 (timing is a bench row,
`ebmlab bench --only startup`, not a test)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ebmlab.config.presets import bundled_presets

PROBE = """
import runpy, sys
sys.argv = ["ebmlab", *sys.argv[1:]]
try:
    runpy.run_module("ebmlab", run_name="__main__")
except SystemExit as e:
    code = e.code
print(json.dumps({"torch": "torch" in sys.modules, "PySide6": "PySide6" in sys.modules, "code": code}), file=sys.stderr)
"""


def probe(*args: str) -> tuple[dict, str]:
    """Run `ebmlab ARGS` in a fresh interpreter; (which heavy modules it imported + exit code, its stdout)."""
    out = subprocess.run(
        [sys.executable, "-c", "import json\n" + PROBE, *args], capture_output=True, text=True, timeout=120
    )
    return json.loads(out.stderr.strip().splitlines()[-1]), out.stdout


@pytest.mark.parametrize("args", [("--help",), ("presets",), ("presets", "--json")], ids=" ".join)
def test_help_and_presets_import_neither_torch_nor_pyside(args: tuple[str, ...]) -> None:
    seen, _ = probe(*args)
    assert seen == {"torch": False, "PySide6": False, "code": 0}


def test_presets_output_is_unchanged() -> None:
    """The listing, made from the presets' JSON alone, is what the full loader's bundled_presets gives."""
    _, text = probe("presets")
    items = bundled_presets()
    width = max(len(p.stem) for p, _, _ in items)
    assert text.splitlines() == [f"{p.stem:<{width}}  {name}: {desc}" for p, name, desc in items]
    _, text = probe("presets", "--json")
    assert json.loads(text) == [{"file": p.name, "name": n, "description": d} for p, n, d in items]


def test_the_startup_bench_rows_report_both_commands() -> None:
    from ebmlab.bench.startup_rows import startup_rows

    rows = startup_rows(quick=True)
    assert [r.name for r in rows] == ["ebmlab --help start", "ebmlab presets start"]
    for r in rows:
        assert r.group == "startup" and r.unit == "s" and r.reference and r.reference > 0
        assert "neither torch nor PySide6" in r.note, r.note
    assert rows[0].target == "--help under 0.5 s"
