"""Found by hostile input (issue 16, section 4, item 4): kill -9 during a save left orphan .tmp files beside the
preset (25 of 30 kills). Temp files are now named `.NAME.ebmlab-HOST-PID-RAND.tmp` (ebmlab.config.staging) and
the next save or open in the folder removes those whose writer is gone -- only those, never anything else."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ebmlab.config import staging
from ebmlab.config.presets import BUNDLED_DIR, load_preset, save_preset
from ebmlab.config.schema import experiment_from_dict, replace

WEIGHT_VALUES = 2_000_000  # 16 MB of weights: a save spends most of its time writing its temp files
CHILD = """
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from ebmlab.config.presets import BUNDLED_DIR, load_preset, save_preset

path, n, version = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
exp = load_preset(BUNDLED_DIR / "00_welcome.json").experiment
print("ready", flush=True)
while True:
    version += 1
    save_preset(replace(exp, description=f"v{version}"), path, weights={"version": np.full(n, float(version))})
"""


def temp_files(folder: Path) -> list[str]:
    """Every hidden .tmp file in the folder: ours, and those of the mkstemp names used before."""
    return sorted(n for n in os.listdir(folder) if n.startswith(".") and n.endswith(".tmp"))


def versions_on_disk(path: Path) -> tuple[int, int]:
    """(version of the JSON, version of the weights), each read whole: a torn file fails here."""
    raw = json.loads(path.read_text("utf-8"))
    experiment_from_dict(raw)
    with np.load(path.parent / raw["weights"], allow_pickle=False) as z:
        w = z["version"]
    assert w.shape == (WEIGHT_VALUES,) and (w == w[0]).all(), "torn weights"
    return int(raw["description"][1:]), int(w[0])


def test_a_save_killed_with_sigkill_leaves_the_old_or_new_file_and_the_next_save_or_open_cleans_up(
    tmp_path: Path,
) -> None:
    path = tmp_path / "lesson.json"
    keep = [tmp_path / "notes.txt", tmp_path / ".notes.json.k2j3h4g5.tmp"]  # not ours: never touched
    for p in keep:
        p.write_text("mine")
    exp = load_preset(BUNDLED_DIR / "00_welcome.json").experiment
    save_preset(replace(exp, description="v0"), path, weights={"version": np.zeros(WEIGHT_VALUES)})
    json_v = 0
    left_behind = 0
    for round_no in range(4):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), str(WEIGHT_VALUES), str(json_v)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout.readline().strip() == "ready"
            deadline = time.monotonic() + 60
            while not [n for n in temp_files(tmp_path) if n != keep[1].name]:
                assert time.monotonic() < deadline and child.poll() is None, "the child never staged a save"
            os.kill(child.pid, signal.SIGKILL)  # in the middle of writing a temp file
        finally:
            child.kill()
            child.wait()
        left_behind += bool([n for n in temp_files(tmp_path) if n != keep[1].name])
        new_json_v, weights_v = versions_on_disk(path)  # complete files: the old one or a newer one
        assert new_json_v >= json_v and weights_v in (new_json_v, new_json_v + 1), (new_json_v, weights_v)
        json_v = new_json_v
        if round_no % 2:  # the next open of the folder cleans up ...
            assert load_preset(path).weights is not None
        else:  # ... and so does the next save
            json_v += 1
            save_preset(
                replace(exp, description=f"v{json_v}"), path, weights={"version": np.full(WEIGHT_VALUES, json_v)}
            )
        assert temp_files(tmp_path) == [keep[1].name], f"round {round_no}: leftovers {temp_files(tmp_path)}"
        assert all(p.read_text() == "mine" for p in keep)
    assert left_behind >= 1, "no kill landed inside a save: the test proved nothing"
    assert versions_on_disk(path)[0] == json_v


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_only_our_stale_temp_files_are_removed(tmp_path: Path) -> None:
    host = staging.host_tag()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = _dead_pid()
        names = {
            # stale: removed
            f".a.json.ebmlab-{host}-{dead}-0123abcd.tmp": False,
            f".a.weights.npz.ebmlab-{host}-{dead}-4567cdef.tmp": False,
            # a save in progress here (this process, another live process): kept
            f".a.json.ebmlab-{host}-{os.getpid()}-89abcdef.tmp": True,
            f".a.json.ebmlab-{host}-{sleeper.pid}-00000000.tmp": True,
            # another host's save (a shared folder): kept while fresh
            f".a.json.ebmlab-otherhost-{dead}-11111111.tmp": True,
            # not our names: kept
            ".a.json.k2j3h4g5.tmp": True,
            f".a.json.ebmlab-{host}-{dead}-XYZ.tmp": True,
            f"a.json.ebmlab-{host}-{dead}-22222222.tmp": True,
            "a.json": True,
            "data.tmp": True,
        }
        for name in names:
            (tmp_path / name).write_text("x")
        old_foreign = tmp_path / ".b.json.ebmlab-otherhost-123-33333333.tmp"  # a day old: stale whoever wrote it
        old_live = tmp_path / f".b.json.ebmlab-{host}-{sleeper.pid}-44444444.tmp"  # a reused pid, a day old
        for p in (old_foreign, old_live):
            p.write_text("x")
            t = time.time() - staging.STALE_AGE_S - 60
            os.utime(p, (t, t))
        (tmp_path / f".c.json.ebmlab-{host}-{dead}-55555555.tmp").mkdir()  # not a regular file: kept
        (tmp_path / f".d.json.ebmlab-{host}-{dead}-66666666.tmp").symlink_to(tmp_path / "a.json")  # kept
        removed = staging.clean_stale(tmp_path)
        expect_removed = sorted([n for n, kept in names.items() if not kept] + [old_foreign.name, old_live.name])
        assert sorted(removed) == expect_removed
        left = set(os.listdir(tmp_path))
        assert left == {n for n, kept in names.items() if kept} | {
            f".c.json.ebmlab-{host}-{dead}-55555555.tmp",
            f".d.json.ebmlab-{host}-{dead}-66666666.tmp",
        }
        assert (tmp_path / "a.json").read_text() == "x"
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="zombies are seen through Linux /proc")
def test_a_zombie_writer_counts_as_gone(tmp_path: Path) -> None:
    """A writer killed but not yet reaped by its parent still answers kill(pid, 0)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        os.kill(child.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{child.pid}/stat").read_bytes().rsplit(b")", 1)[-1].split()[0] != b"Z":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        name = f".a.json.ebmlab-{staging.host_tag()}-{child.pid}-77777777.tmp"
        (tmp_path / name).write_text("x")
        assert staging.clean_stale(tmp_path) == [name]
    finally:
        child.wait()


def test_saved_temp_names_are_ours_and_a_failed_save_leaves_none(tmp_path: Path, monkeypatch) -> None:
    seen: list[str] = []
    real = staging.create_temp

    def spy(target):
        fd, tmp = real(target)
        seen.append(tmp.name)
        return fd, tmp

    import ebmlab.config.presets as presets_mod

    monkeypatch.setattr(presets_mod, "create_temp", spy)
    exp = load_preset(BUNDLED_DIR / "00_welcome.json").experiment
    save_preset(exp, tmp_path / "x.json", weights={"w": np.zeros(3)})
    assert len(seen) == 2 and all(staging.TEMP_RE.match(n) for n in seen)
    assert staging.TEMP_RE.match(seen[0])["pid"] == str(os.getpid())
    assert sorted(os.listdir(tmp_path)) == ["x.json", "x.weights.npz"]
    mode = (tmp_path / "x.json").stat().st_mode & 0o777
    assert mode == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
