"""Every CUDA kernel compiles to PTX for compute capability 9.0 (every (op, family) pair in each
dtype, NVVM's optimiser off) and 8.0 (a subset in float64, optimised) with NVVM, no GPU needed.

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
        raise ImportError("MIXSTAT_REQUIRE_PTX=1 but numba-cuda is not installed: pip install 'mixstat[cuda]'")
    pytest.skip(
        "numba-cuda (the cuda extra: pip install 'mixstat[cuda]') is not installed; make test installs it",
        allow_module_level=True,
    )


def _run(*args):
    env = dict(os.environ)
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, env=env, timeout=600)


# cc 9.0: every (op, family) pair in each table dtype (and log_prob with every value dtype);
# cc 8.0: the float64 signature of every op of the Normal family and of every family's log_prob
# (the same code for another target: every loop and every family's scalar math once; compiling
# all of it twice took 4.4 minutes of the suite's 2-core time)
@pytest.mark.parametrize("cc", ["8.0", "9.0"])
def test_every_kernel_compiles_to_ptx(cc):
    one = cc == "8.0"
    r = _run(cc, *(["--one-signature"] if one else []))
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["cc"] == [int(c) for c in cc.split(".")]
    # NVVM's optimiser on for the subset (the optimised pipeline over every loop and family),
    # off for the full run of every signature (see NVVM_OPT in cuda_ptx.py)
    assert report["nvvm_opt"] is one
    # every (op, family) pair of the registry in 2 table dtypes, log_prob with 2 value dtypes
    # each (one signature per compiled pair with --one-signature)
    assert report["kernels"] == report["expected"]
    from mixstat.kernels import registry

    if one:
        n_fam = len(registry.FAMILIES)
        assert report["kernels"] == report["compiled_pairs"] > n_fam
    else:
        assert report["compiled_pairs"] == report["pairs"]

    assert report["pairs"] == len(registry.pairs("cuda"))
    # every op for every family of an event kind it applies to that has the hooks it needs,
    # and one loop per family-free op (choose/moments/exp)
    cuda_ops = [o for o in registry.OPS if "cuda" in o.devices]
    per_family = sum(registry.supports(o, f) for o in cuda_ops for f in registry.FAMILIES)
    family_free = sum(not o.events for o in cuda_ops)
    assert report["pairs"] == per_family + family_free
    # the ops over every family: log_prob, terms, posterior, mode, sample; cdf for univariate ones
    n_fam = len(registry.FAMILIES)
    n_uni = sum(f.univariate and f.has("cdf1") for f in registry.FAMILIES)
    n_all = sum(all(registry.supports(o, f) for f in registry.FAMILIES) for o in cuda_ops)
    assert n_all >= 5
    # log_cdf / log_sf for the univariate families with the logcdf1 / logsf1 hooks
    n_tails = sum(f.univariate and f.has(h) for f in registry.FAMILIES for h in ("logcdf1", "logsf1"))
    # icdf for the univariate families with a cdf (and a density, for the Newton steps)
    n_icdf = sum(f.univariate and f.has("cdf1") and f.has("logpdf1") for f in registry.FAMILIES)
    # log_prob_grad for the families with derivative hooks (grad1, or grad for vector events)
    n_grad = sum(f.has("grad1") if f.univariate else f.has("grad") for f in registry.FAMILIES)
    assert n_grad >= 14
    # sample_grad for the univariate families with a cdf derivative (xgrad1) and log-space tails
    n_reparam = sum(
        f.univariate and all(f.has(h) for h in ("xgrad1", "logpdf1", "logcdf1", "logsf1")) for f in registry.FAMILIES
    )
    assert n_reparam >= 11
    assert report["pairs"] == n_all * n_fam + n_uni + n_icdf + n_tails + n_grad + n_reparam + family_free
    # the EM kernels (full run only): the Gaussian E-step, the slot reduction, and the fused
    # E-step of every family with a statistics hook
    from mixstat.fitting._kernel import SUFF

    want = [] if one else ["gaussian_estep", "reduce"] + [f"fused_estep/{f}" for f in sorted(SUFF)]
    assert report["fit_kernels"] == want


def test_target_check_catches_a_cc_leak():
    """Device functions compiled for another cc than asked for: the check must fail."""
    r = _run("9.0", "--device-cc", "8.0")
    assert r.returncode != 0
    assert "asked for cc (9, 0), PTX has ['.target sm_80']" in r.stdout + r.stderr
