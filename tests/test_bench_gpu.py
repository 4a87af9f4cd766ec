"""The GPU scripts of ``benchmarks/``, without a GPU.

* ``gpu.py``: a clear message and exit 0 without a GPU; a full smoke run under
  the simulator (W1-W4, one family row, ``--json``).
* ``gpu_selfcheck.py --simulator``: the rule-chosen examples of one family, GPU
  against CPU, its JSON; without a GPU: exit 2 and the reason.
* ``gpu_check.sh`` on this machine (no GPU): quick, says so, writes its
  environment and summary, exits 2 (see the script's header).

Sizes are tiny and the simulator checks subsets: each test stays within about
a minute here (after the CPU kernels are in the cache).
"""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from mixstat import _device

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "benchmarks", "gpu.py")
SELFCHECK = os.path.join(ROOT, "benchmarks", "gpu_selfcheck.py")
CHECK_SH = os.path.join(ROOT, "benchmarks", "gpu_check.sh")


def _env():
    env = dict(os.environ)
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    env.pop("GPU_CHECK_SIMULATOR", None)
    return env


def _run(*args, script=SCRIPT):
    return subprocess.run(
        [sys.executable, script, *args], capture_output=True, text=True, env=_env(), timeout=300, cwd=ROOT
    )


def _no_gpu_here():
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" or _device.cuda_status()[0]:
        pytest.skip("CUDA (or the simulator) is available in this process")


def test_without_gpu_exits_cleanly_with_the_reason(tmp_path):
    _no_gpu_here()
    out = tmp_path / "gpu.json"
    r = _run("--json", str(out))
    assert r.returncode == 0, r.stderr
    assert "no GPU to benchmark on:" in r.stdout
    assert _device.cuda_status()[1] in r.stdout
    data = json.loads(out.read_text())
    assert data["available"] is False and data["reason"] == _device.cuda_status()[1]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_simulator_smoke_run(dtype):
    """Every workload, the floor kernels and the GPU-vs-CPU checks run (tiny sizes, no peers, no family rows)."""
    r = _run("--simulator", "--dtype", dtype, "--families")
    assert r.returncode == 0, r.stdout + r.stderr
    for w in ("W1", "W2", "W3", "W4"):
        assert any(line.startswith(w + " ") and "x floor" in line for line in r.stdout.splitlines()), r.stdout


def test_simulator_json_has_every_workload_and_a_family_row(tmp_path):
    out = tmp_path / "gpu.json"
    r = _run("--simulator", "--json", str(out), "--families", "exponential", "no-such-family")
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(out.read_text())
    assert data["available"] is True and data["simulator"] is True and data["dtype"] == "float64"
    assert data["errors"] == [], data["errors"]
    assert [s["workload"] for s in data["skipped"]] == ["no-such-family"]
    rows = {(r["workload"], r["who"]): r for r in data["rows"]}
    works = {w for w, _ in rows}
    assert {"W1", "W2", "W3", "W4", "exponential.log_prob", "exponential.sample"} <= works, works
    for row in data["rows"]:
        for key in ("seconds", "units", "ns_per_unit", "floor_seconds", "x_floor"):
            assert isinstance(row[key], (int, float)) and row[key] > 0, (key, row)
        assert row["ns_per_unit"] == pytest.approx(row["seconds"] / row["units"] * 1e9)
        if row["who"].startswith("mixstat"):
            assert row["ratio_to_mixstat"] == 1.0
    assert rows[("exponential.log_prob", "mixstat")]["units"] == 1000  # 1e7 / 1e4
    assert "exponential.log_prob" in r.stdout and "x floor" in r.stdout


def _simulator_subset(examples):
    """The rule of gpu_selfcheck.py and test_cuda_sim.py, restated: the first float64 and float32
    example of every family."""
    out = {}
    for e in examples:
        out.setdefault((e.family, np.dtype(e.dtype).name), e.id)
    return sorted(out.values())


def test_selfcheck_in_the_simulator(tmp_path):
    """The rule-chosen examples of one family (``-k exponential``: alone, Independent, mixtures,
    both dtypes); every family is checked in the simulator by ``tests/test_cuda_sim.py``, whose
    CPU kernels a cold cache would compile here for minutes."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from registry import EXAMPLES

    out = tmp_path / "selfcheck.json"
    r = _run("--simulator", "--json", str(out), "--n", "3", "-k", "exponential", script=SELFCHECK)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    data = json.loads(out.read_text())
    expected = [i for i in _simulator_subset(EXAMPLES) if "exponential" in i]
    assert len(expected) == 8 < sum("exponential" in e.id for e in EXAMPLES)
    assert sorted(data) == expected
    bad = {k: v for k, v in data.items() if not v["ok"]}
    assert not bad, bad
    for v in data.values():
        assert v["error"] is None and isinstance(v["max_rel_err"], float) and v["max_rel_err"] <= 1e-5
    assert f"{len(expected)} examples, {len(expected)} ok, 0 failed" in r.stdout
    assert sum(line.startswith("ok ") for line in r.stdout.splitlines()) == len(expected)


def test_selfcheck_without_gpu_says_so():
    _no_gpu_here()
    r = _run(script=SELFCHECK)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "no CUDA device is usable" in r.stdout and _device.cuda_status()[1] in r.stdout


@pytest.mark.skipif(
    shutil.which("bash") is None or shutil.which("timeout") is None, reason="needs bash and coreutils' timeout"
)
def test_gpu_check_without_gpu(tmp_path):
    """No GPU here: the script finishes quickly, says so, records what it could and exits 2."""
    _no_gpu_here()
    with open(CHECK_SH) as f:
        text = f.read()
    assert text.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in text
    assert os.access(CHECK_SH, os.X_OK)
    out = tmp_path / "out"
    default_out_existed = os.path.exists(os.path.join(ROOT, "gpu_out"))
    env = dict(_env(), OUT=str(out), PYTHON=sys.executable)
    r = subprocess.run(
        ["bash", CHECK_SH], capture_output=True, text=True, env=env, timeout=120, cwd=str(tmp_path)
    )  # the script moves to the repository root itself
    assert r.returncode == 2, r.stdout + r.stderr
    assert "no GPU available" in r.stdout
    reason = _device.cuda_status()[1]
    assert reason in (out / "cuda_status.txt").read_text()
    env_txt = (out / "environment.txt").read_text()
    assert "numba " in env_txt and "numpy " in env_txt and "python " in env_txt
    assert (out / "nvidia-smi.txt").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["exit_status"] == 2 and summary["gpu"] is False
    assert reason.strip() in summary["cuda_status"]
    steps = summary["steps"]
    assert list(steps) == ["environment", "cuda", "warmup", "cuda_tests", "selfcheck", "gpu_float64", "gpu_float32"]
    assert steps["environment"]["status"] == "passed"
    assert steps["cuda"]["status"].startswith("no GPU")
    for name in ("warmup", "cuda_tests", "selfcheck", "gpu_float64", "gpu_float32"):
        assert steps[name]["status"] == "skipped (no GPU)"
    assert "no GPU" in (out / "summary.txt").read_text()
    # nothing written in the repository (the caches go under OUT)
    assert os.path.exists(os.path.join(ROOT, "gpu_out")) == default_out_existed
