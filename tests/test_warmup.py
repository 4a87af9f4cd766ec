"""``python -m mixstat warmup``: kernels compiled ahead in parallel processes are loaded, not compiled."""

import os
import subprocess
import sys

#: kernels the first calls below do not need (the dearest to compile: 23 of the 52 s)
SKIP = ("icdf", "log_prob_grad", "sample_grad")


def test_warmup_then_first_calls_compile_nothing(tmp_path):
    env = dict(os.environ, MIXSTAT_CACHE_DIR=str(tmp_path))
    r = subprocess.run(
        [sys.executable, "-m", "mixstat", "warmup", "--family", "exponential", "--dtype", "float64", "--jobs", "2"]
        + ["--skip-op", *SKIP],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    from mixstat import _warmup

    n = len(_warmup._kernels({"exponential"}, ("float64",), SKIP))  # choose, logits and one per op of the family
    assert n >= 5
    assert lines[-1].startswith(f"{n} kernels in") and "with 2 processes" in lines[-1], r.stdout
    code = (
        "import numpy as np, mixstat._jit as j\n"
        "from mixstat.distributions import Exponential, Categorical, MixtureSameFamily, Independent\n"
        "m = MixtureSameFamily(Categorical(probs=[0.3, 0.7]), Exponential(np.array([1.0, 2.0])))\n"
        "m.log_prob(np.ones(5)); m.cdf(np.ones(3)); m.sample((7,), rng=1)\n"
        "Independent(Exponential(np.ones(3)), 1).log_prob(np.ones(3))\n"
        "st = [(d.stats.cache_hits, d.stats.cache_misses) for d in j._kernels.values()]\n"
        "print(sum(sum(h.values()) for h, _ in st), sum(sum(m.values()) for _, m in st))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    hits, misses = (int(v) for v in r.stdout.split())
    assert misses == 0 and hits >= 3, r.stdout


def test_warmup_unknown_family_is_a_clear_error(tmp_path):
    env = dict(os.environ, MIXSTAT_CACHE_DIR=str(tmp_path))
    r = subprocess.run(
        [sys.executable, "-m", "mixstat", "warmup", "--family", "nosuch"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2 and "no kernel family 'nosuch'" in r.stderr


def test_warmup_gufunc_jobs_cover_the_catalogue_of_the_families():
    """``warmup --gufuncs``: one job per gufunc of the families asked for (both dtype loops each)."""
    from mixstat import _gufunc_build, _warmup

    cat = _gufunc_build.catalogue()
    keys = _warmup._gufuncs({"exponential", "mvn"})
    names = [k[1] for k in keys]
    assert sorted(names) == sorted(n for n, e in cat.items() if e.family in ("exponential", "mvn"))
    assert "exponential_mixture_log_prob" in names and "mvn_mixture_log_prob" in names
    assert all(k[0] == "gufunc" for k in keys)
    from mixstat.kernels import registry

    assert len(_warmup._gufuncs({f.name for f in registry.FAMILIES})) == len(cat)


def test_warmup_only_ops_lists_exactly_those_kernels():
    """``--op cdf`` (make test's bounds-checked stage warms the float32 cdfs so): the cdf kernel of
    every univariate family with a cdf, and nothing else (no choose / logits extras)."""
    from mixstat import _warmup
    from mixstat.kernels import registry

    fams = {f.name for f in registry.FAMILIES}
    keys = _warmup._kernels(fams, ("float32",), (), ("cdf",))
    want = sorted(("cdf", f, "float32", 0) for op, f in registry.pairs("cpu") if op == "cdf" and f is not None)
    assert sorted(keys) == want and len(want) >= 15
    # skip_ops still applies, and a float64-only op gives no float32 kernels
    assert _warmup._kernels(fams, ("float32",), ("cdf",), ("cdf",)) == []
    assert _warmup._kernels(fams, ("float32",), (), ("icdf",)) == []
    both = _warmup._kernels({"normal"}, ("float64",), (), ("log_prob", "icdf"))
    assert sorted(both) == [
        ("icdf", "normal", "float64", 0),
        ("log_prob", "normal", "float64", 0),
        ("log_prob", "normal", "float64", 1),
    ]


def test_warmup_named_gufuncs_and_unknown_names():
    """``warmup --gufuncs NAME...``: those gufuncs alone, once each; an unknown name is a
    KeyError that lists the known ones (the command prints it and exits 2)."""
    import pytest

    from mixstat import _warmup

    keys = _warmup._gufuncs(set(), ("normal_mixture_log_prob", "mvn_log_prob", "normal_mixture_log_prob"))
    assert keys == [("gufunc", "normal_mixture_log_prob", None, 0), ("gufunc", "mvn_log_prob", None, 0)]
    with pytest.raises(KeyError, match="no_such_gufunc.*known: .*normal_mixture_log_prob"):
        _warmup._gufuncs(set(), ("no_such_gufunc",))
