"""Every CUDA kernel compiles to PTX for compute capabilities 8.0 and 9.0 with NVVM, no GPU needed.

The simulator (``tests/test_cuda_sim.py``) runs the kernels as Python and does
no type checking; this compiles them for real (see ``tests/cuda_ptx.py``).
Needs numba-cuda with NVVM from pip wheels (the ``cuda`` extra, installed by
``make test``); ``MIXSTAT_REQUIRE_PTX=1`` (set by ``make test``) turns the skip
for a missing numba-cuda into a failure.
"""
import importlib.util
import json
import os
import subprocess
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cuda_ptx.py")

if importlib.util.find_spec("numba_cuda") is None:
    if os.environ.get("MIXSTAT_REQUIRE_PTX") == "1":
        raise ImportError("MIXSTAT_REQUIRE_PTX=1 but numba-cuda is not installed: "
                          "pip install 'mixstat[cuda]'")
    pytest.skip("numba-cuda (the cuda extra: pip install 'mixstat[cuda]') is not installed; "
                "make test installs it", allow_module_level=True)


def _run(*args):
    env = dict(os.environ)
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, env=env,
                          timeout=600)


@pytest.mark.parametrize("cc", ["8.0", "9.0"])
def test_every_kernel_compiles_to_ptx(cc):
    r = _run(cc)
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["cc"] == [int(c) for c in cc.split(".")]
    # every (op, family) pair of the registry: the loops over values with 2 value dtypes x 2
    # table dtypes, the rest x 2 dtypes
    assert report["kernels"] == report["expected"]
    from mixstat.kernels import registry

    assert report["pairs"] == len(registry.pairs("cuda"))
    n_fam = len(registry.FAMILIES)
    n_uni = sum(f.univariate and f.has("cdf1") for f in registry.FAMILIES)
    # log_prob, terms, sample for every family, cdf for univariate ones, and choose/moments/exp
    assert report["pairs"] == 3 * n_fam + n_uni + 3


def test_target_check_catches_a_cc_leak():
    """Device functions compiled for another cc than asked for: the check must fail."""
    r = _run("9.0", "--device-cc", "8.0")
    assert r.returncode != 0
    assert "asked for cc (9, 0), PTX has ['.target sm_80']" in r.stdout + r.stderr
