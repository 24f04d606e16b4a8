"""The bench's fault group injects real faults and reports each one survived."""

from ebmlab.bench.fault_rows import fault_rows


def test_every_injected_fault_is_survived_and_reported():
    rows = fault_rows(quick=True)
    assert len(rows) == 8 and all(r.ok for r in rows), [(r.name, r.note) for r in rows if not r.ok]
    assert rows[-1].name == "faults injected and survived" and rows[-1].value == 7
    assert "at step 4" in rows[0].note and "last good parameters" in rows[0].note
