"""The `ebmlab` command: JSON output, one-line errors, reproducible runs."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from ebmlab.cli import main

RING_EXACT = math.log((math.pi / 2) * math.sqrt(math.pi / 0.1) * (1 + math.erf(math.sqrt(0.1))))


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_logz_exact_json_matches_closed_form(capsys):
    code, out, err = run_cli(
        capsys, "logz", "--energy", "a*(x**2+y**2-1)**2", "--param", "a=0.1", "--box", "-5", "5", "--json"
    )
    assert code == 0, err
    obj = json.loads(out)
    assert obj["method"] == "exact" and obj["stderr"] == 0 and obj["seconds"] >= 0
    assert abs(obj["log_z"] - RING_EXACT) < 1e-6
    assert obj["warnings"] == []


def test_logz_per_dimension_box_and_dimension_inference(capsys):
    code, out, _ = run_cli(capsys, "logz", "--energy", "x**4", "--box", "-4", "4", "--json")
    assert code == 0
    assert abs(json.loads(out)["log_z"] - math.log(2 * math.gamma(1.25))) < 1e-6
    code, out, _ = run_cli(capsys, "logz", "--energy", "x**2/2 + y**2/8", "--box", "-9", "9", "-18", "18", "--json")
    assert abs(json.loads(out)["log_z"] - math.log(2 * math.pi * 2)) < 1e-6


def test_logz_warns_when_the_box_cuts_mass(capsys):
    code, out, _ = run_cli(capsys, "logz", "--energy", "x**2/2", "--box", "-1", "1", "--json")
    assert code == 0
    assert any("box edge" in w for w in json.loads(out)["warnings"])


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["logz", "--energy", "x**2 + yy"], "unknown name 'yy' at column 8"),
        (["logz", "--energy", "x**2", "--param", "a"], "expected NAME=VALUE"),
        (["logz", "--energy", "x**2", "--box", "1", "2", "3"], "--box: expected 2 numbers"),
        (["logz", "--energy", "x**2", "--box", "2", "1"], "finite LO < HI"),
        (["sample", "--energy", "x**2", "--sampler", "nope"], "unknown sampler 'nope'"),
        (["sample", "--energy", "x**2", "--step-size", "-1"], "sampler.step_size: must be > 0"),
        (["run", "no_such_preset"], "no such file or bundled preset"),
    ],
)
def test_errors_are_one_line_on_stderr(capsys, argv, expected):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert expected in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_sample_writes_npy(capsys, tmp_path):
    out_file = tmp_path / "s.npy"
    code, out, err = run_cli(
        capsys,
        "sample",
        "--energy",
        "(x**2-1)**2",
        "--sampler",
        "mala",
        "--n",
        "300",
        "--steps",
        "50",
        "--out",
        str(out_file),
        "--json",
    )
    assert code == 0, err
    x = np.load(out_file)
    assert x.shape == (300, 1) and np.isfinite(x).all()
    assert 0 < json.loads(out)["acceptance"] <= 1


def test_run_is_reproducible_and_writes_outputs(capsys, tmp_path):
    args = ["run", "01_partition_function", "--steps", "40", "--json", "--set", "training.eval_every=20"]
    code1, out1, _ = run_cli(capsys, *args, "--out", str(tmp_path / "a"))
    code2, out2, _ = run_cli(capsys, *args, "--out", str(tmp_path / "b"))
    assert code1 == code2 == 0
    s1, s2 = json.loads(out1), json.loads(out2)
    for k in ("loss", "nll_exact", "log_z_exact", "params", "steps"):
        assert s1[k] == s2[k]
    assert s1["steps"] == 40 and set(s1["params"]) == {"a", "r"}
    header = (tmp_path / "a" / "metrics.csv").read_text().splitlines()[0]
    assert header.startswith("step,") and "loss" in header and "nll_exact" in header
    # the saved preset reproduces the trained model
    code, out, _ = run_cli(capsys, "run", str(tmp_path / "a" / "preset.json"), "--steps", "0", "--json")
    assert code == 0 and json.loads(out)["params"] == s1["params"]


def test_gui_without_display_says_so_in_one_line():
    env = {
        k: v for k, v in __import__("os").environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    r = subprocess.run([sys.executable, "-m", "ebmlab"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 2
    assert "no display available" in r.stderr and "ebmlab run" in r.stderr
    assert r.stderr.count("\n") == 1


def test_logz_ais_reports_error_ess_warnings_and_reverse_check(capsys):
    code, out, err = run_cli(
        capsys,
        "logz",
        "--energy",
        "0.1*(x**2+y**2-1)**2",
        "--box",
        "-5",
        "5",
        "--method",
        "ais",
        "--particles",
        "400",
        "--temps",
        "100",
        "--json",
    )
    assert code == 0, err
    obj = json.loads(out)
    for key in ("method", "log_z", "stderr", "ess", "warnings", "exact_log_z", "seconds", "reverse_log_z"):
        assert key in obj
    assert obj["method"] == "ais" and obj["stderr"] > 0 and 0 < obj["ess"] <= 400
    assert abs(obj["log_z"] - RING_EXACT) < 4 * obj["stderr"]
    assert abs(obj["exact_log_z"] - RING_EXACT) < 1e-4


def test_logz_refuses_bad_settings_and_non_normalisable_energies(capsys):
    code, _, err = run_cli(capsys, "logz", "--energy", "x**2", "--method", "ais", "--particles", "1")
    assert code == 2 and "particles: must be >= 2" in err
    code, _, err = run_cli(capsys, "logz", "--energy", "-x**2", "--method", "ais")
    assert code == 2 and "not normalisable" in err
    code, _, err = run_cli(capsys, "logz", "--energy", "x**2", "--method", "magic")
    assert code == 2 and "choose one of exact, is, ais, rais, bdmc" in err


def test_logz_from_a_preset(capsys):
    code, out, err = run_cli(capsys, "logz", "01_partition_function", "--json")
    assert code == 0, err
    assert json.loads(out)["method"] == "exact"
