"""``benchmarks/gpu.py`` runs: a clear message and exit 0 without a GPU; a full smoke run under the simulator."""
import os
import subprocess
import sys

import pytest

from mixstat import _device

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "benchmarks", "gpu.py")


def _run(*args):
    env = dict(os.environ)
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, env=env,
                          timeout=300, cwd=ROOT)


def test_without_gpu_exits_cleanly_with_the_reason():
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" or _device.cuda_status()[0]:
        pytest.skip("CUDA (or the simulator) is available in this process")
    r = _run()
    assert r.returncode == 0, r.stderr
    assert "no GPU to benchmark on:" in r.stdout
    assert _device.cuda_status()[1] in r.stdout


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_simulator_smoke_run(dtype):
    """Every workload, the floor kernels and the GPU-vs-CPU checks run (tiny sizes, no peers)."""
    r = _run("--simulator", "--dtype", dtype)
    assert r.returncode == 0, r.stdout + r.stderr
    for w in ("W1", "W2", "W3", "W4"):
        assert any(line.startswith(w + " ") and "x floor" in line for line in r.stdout.splitlines()), r.stdout
