"""Sweeps on a real Dask LocalCluster: single runs' numbers bit for bit, failures recorded, resume after a kill."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ebmlab.cli import main
from ebmlab.sweep.store import SweepStore, write_parquet
from ebmlab.sweep.task import run_payload

PRESET = "01_partition_function"
GRID = ["--grid", "optimiser.lr=0.01,0.03", "--grid", "optimiser.batch_size=256,512"]
COMPARED = ("loss", "nll_exact", "log_z_exact")


@pytest.fixture(scope="module")
def sweep_2x2x2(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "res"
    code = main(["sweep", PRESET, *GRID, "--seeds", "0-1", "--steps", "40", "--out", str(out), "--workers", "2"])
    return code, out


def records(out: Path) -> list[Path]:
    """The finished-run records (not the hidden temporary file of one being written)."""
    return [f for f in (out / "runs").glob("*.json") if not f.name.startswith(".")]


def single_run(capsys, lr, bs, seed, steps=40) -> dict:
    capsys.readouterr()
    args = ["run", PRESET, "--steps", str(steps), "--seed", str(seed), "--json"]
    args += ["--set", f"optimiser.lr={lr}", "--set", f"optimiser.batch_size={bs}"]
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def test_a_2x2x2_sweep_gives_the_numbers_of_single_runs_bit_for_bit(sweep_2x2x2, capsys):
    code, out = sweep_2x2x2
    assert code == 0
    with open(out / "runs.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 8 and all(r["status"] == "ok" for r in rows)
    assert [(r["optimiser.lr"], r["optimiser.batch_size"], r["seed"]) for r in rows[:3]] == [
        ("0.01", "256", "0"),
        ("0.01", "256", "1"),
        ("0.01", "512", "0"),
    ]
    for r in rows:
        single = single_run(capsys, r["optimiser.lr"], r["optimiser.batch_size"], r["seed"])
        record = json.loads((out / "runs" / f"{r['run_id']}.json").read_text())
        for k in COMPARED:
            assert record[k] == single[k], (k, r)  # JSON record: exact floats
            assert float(r[k]) == single[k], (k, r)  # CSV cell: repr round-trips exactly
        assert {k: record["params"][k] for k in single["params"]} == single["params"]
        assert float(r["param.a"]) == single["params"]["a"]


def test_the_folder_has_tidy_tables_summary_and_plots(sweep_2x2x2):
    _, out = sweep_2x2x2
    summary = json.loads((out / "summary.json").read_text())
    assert summary["runs"] == 8 and summary["ok"] == 8 and len(summary["settings"]) == 4
    first = summary["settings"][0]
    assert first["setting"] == {"optimiser.lr": 0.01, "optimiser.batch_size": 256} and first["seeds"] == [0, 1]
    with open(out / "runs.csv") as f:
        nll = [float(r["nll_exact"]) for r in csv.DictReader(f)][:2]
    assert first["nll_exact"]["mean"] == pytest.approx(sum(nll) / 2, rel=1e-12)
    assert first["nll_exact"]["se"] == pytest.approx(abs(nll[0] - nll[1]) / 2, rel=1e-9)
    with open(out / "steps.csv") as f:
        steps = list(csv.DictReader(f))
    per_run = {r["run_id"] for r in steps}
    assert len(per_run) == 8 and {"step", "nll_exact", "loss", "optimiser.lr", "seed"} <= set(steps[0])
    assert max(int(r["step"]) for r in steps) == 40
    import pyarrow.parquet as pq

    table = pq.read_table(out / "runs.parquet")
    assert table.num_rows == 8 and table.column("nll_exact").to_pylist()[:2] == nll
    for name in ("curve_nll_exact", "curve_loss", "final_nll_exact", "final_log_z_exact"):
        png = out / "plots" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000, name


def test_rerunning_a_finished_sweep_skips_every_run_and_starts_no_cluster(sweep_2x2x2, capsys, monkeypatch):
    from ebmlab.sweep import engine

    _, out = sweep_2x2x2

    def no_cluster(*a, **k):
        raise AssertionError("a cluster was started although every run had finished")

    monkeypatch.setattr(engine.Engine, "__enter__", no_cluster)
    before = {f.name: f.read_bytes() for f in (out / "runs").iterdir()}
    capsys.readouterr()
    code = main(["sweep", PRESET, *GRID, "--seeds", "0-1", "--steps", "40", "--out", str(out)])
    assert code == 0
    assert "8 already finished, 0 to run" in capsys.readouterr().err
    assert {f.name: f.read_bytes() for f in (out / "runs").iterdir()} == before


def test_a_failing_point_is_recorded_and_the_rest_go_on(tmp_path, capsys):
    out = tmp_path / "res"
    args = ["sweep", PRESET, "--grid", "optimiser.lr=0.02,10", "--grid", "optimiser.name=sgd", "--seeds", "0"]
    code = main(args + ["--steps", "30", "--out", str(out), "--workers", "1", "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 1  # not every run succeeded
    assert summary["ok"] == 1 and summary["failed"] == 1
    with open(out / "runs.csv") as f:
        rows = {r["optimiser.lr"]: r for r in csv.DictReader(f)}
    assert rows["0.02"]["status"] == "ok" and rows["0.02"]["reason"] == ""
    assert rows["10"]["status"] == "failed" and "log Z is not finite" in rows["10"]["reason"]
    assert int(rows["10"]["steps"]) < 30 and int(rows["0.02"]["steps"]) == 30
    assert summary["settings"][1]["reasons"][0].startswith("seed 0: step ")


def test_a_run_that_cannot_even_start_is_a_failed_record_not_an_exception():
    record = run_payload(
        {
            "run_id": "x",
            "setting": {},
            "seed": 0,
            "experiment": {"schema_version": 1},
            "weights": None,
            "preset_dir": ".",
        }
    )
    assert record["status"] == "failed" and record["reason"].startswith("ConfigError: ")
    assert record["history"] == []


def test_tables_fall_back_to_csv_without_pyarrow(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pyarrow(name, *a, **k):
        if name.startswith("pyarrow"):
            raise ImportError("no pyarrow here")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    assert write_parquet(tmp_path / "t.parquet", [{"a": 1}]) is None
    rec = {"run_id": "r1", "setting": {"k": 1}, "seed": 0, "status": "ok", "history": [{"step": 0, "loss": 1.0}]}
    written = SweepStore(tmp_path).write_tables([rec], ["k"])
    assert sorted(p.name for p in written) == ["runs.csv", "steps.csv"]


def test_resume_after_the_sweep_is_killed_loses_nothing_that_finished(tmp_path, capsys):
    out = tmp_path / "res"
    args = ["sweep", PRESET, "--grid", "optimiser.lr=0.01,0.02,0.03", "--seeds", "0-1", "--steps", "300"]
    args += ["--out", str(out)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "ebmlab", *args, "--workers", "1", "--quiet"],
        start_new_session=True,  # its own process group: the kill takes the cluster's processes with it
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if len(records(out)) >= 2:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the sweep ended before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    kept = {f.name: f.read_bytes() for f in records(out)}
    assert 2 <= len(kept) < 6
    assert not (out / "runs.csv").exists()  # killed before the tables: only the records survive
    capsys.readouterr()
    assert main(args + ["--workers", "2"]) == 0
    assert f"{len(kept)} already finished, {6 - len(kept)} to run" in capsys.readouterr().err
    for name, data in kept.items():
        assert (out / "runs" / name).read_bytes() == data  # finished runs were not run again
    with open(out / "runs.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6 and all(r["status"] == "ok" for r in rows)
    assert len({r["run_id"] for r in rows}) == 6
    assert not list(Path(out / "runs").glob(".*tmp*"))  # no half-written record left behind


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_sweep_runs_on_an_existing_scheduler(tmp_path, capsys):
    dask = str(Path(sys.executable).parent / "dask")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [
        subprocess.Popen([dask, "scheduler", "--port", str(port), "--dashboard-address", ":0"], start_new_session=True)
    ]
    try:
        time.sleep(1.0)
        procs.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1"], start_new_session=True))
        out = tmp_path / "res"
        args = ["sweep", PRESET, "--grid", "optimiser.lr=0.01,0.03", "--seeds", "0", "--steps", "20"]
        assert main(args + ["--out", str(out), "--scheduler", address, "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["ok"] == 2
        single = single_run(capsys, 0.03, 1024, 0, steps=20)
        assert summary["settings"][1]["nll_exact"]["mean"] == single["nll_exact"]
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            p.wait(30)


def test_ctrl_c_stops_the_sweep_and_writes_the_tables_of_what_finished(tmp_path):
    out = tmp_path / "res"
    args = ["sweep", PRESET, "--grid", "optimiser.lr=0.01,0.02,0.03", "--seeds", "0-3", "--steps", "300"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "ebmlab", *args, "--out", str(out), "--workers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(records(out)) < 1 and proc.poll() is None:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends to the whole group on Ctrl-C
        stdout, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130
    finished = len(records(out))
    assert 1 <= finished < 12
    assert f"sweep interrupted: {finished} of 12 runs finished" in stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] and summary["finished"] == finished
