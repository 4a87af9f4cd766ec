"""Reliability: threads, seeds and streams, inputs and outputs, sampler gaps, regressions.

What ``tests/test_kernels.py``, ``tests/test_generic.py`` and
``tests/test_samplers.py`` already cover is not repeated here (one mixture under
8 threads; 1 vs 2 numba threads for one mixture and in-process for the registry;
``sample((a, b))`` against ``sample((a*b,))`` and prefixes for the registry;
goodness of fit of every registry example).  This file adds:

Threads
    8 Python threads released at once by a barrier calling ``log_prob``, ``cdf``
    and ``sample`` on shared distributions of every kernel family, results
    bit-equal to serial calls; the same in subprocesses under the default layer,
    under ``NUMBA_THREADING_LAYER=workqueue`` (which mixstat must serialise), and
    with a cold kernel cache (first calls compile concurrently); plus the power
    check that the workqueue subprocess really aborts when serialisation is
    switched off.
Seeds
    bit-identical samples, ``log_prob`` and ``cdf`` of every kernel family and
    of the generic (fallback) path with ``NUMBA_NUM_THREADS=1`` and ``2`` and
    under workqueue (subprocesses); one kernel call equal to the same draws in
    chunks through the kernels' ``offset`` argument, across the 2^32 counter
    boundary too; the positional contract on the fallback path.
Nothing lost
    inputs and parameters never modified; outputs fresh and writeable; read-only,
    strided, reversed, Fortran-order, stride-0, unaligned and byte-swapped inputs
    (values and parameters) give the same bits as contiguous ones.
Sampler gaps
    K = 10^4 (mixture index and plain Categorical), scales 1e-150 .. 1e150
    (float32: 1e-30 .. 1e30) alone and in one mixture, weights over 300 decades,
    the generic fallback sampler, a 7-dimensional MVN at covariance scales
    1e-100 and 1e100 (whitened KS per coordinate and independence of every pair).
    False-alarm rate: every p-value here is compared with ``ALPHA =
    FAMILY_ALPHA / N_PVALUES`` (Bonferroni over the ``N_PVALUES`` this file can
    compute, each test checks its own count), so a correct sampler fails this
    file with probability at most ``FAMILY_ALPHA = 0.002``; seeds are fixed, so
    the outcome is deterministic.
Regressions
    the façade defects the fuzzers found (see ``tests/test_fuzz.py``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from scipy import stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # tests/registry.py

import mixstat
from mixstat import _jit, plan
from mixstat._rng import key_for
from mixstat.distributions import (
    Categorical,
    Independent,
    MixtureSameFamily,
    MultivariateNormal,
    Normal,
)

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
N_THREADS = 8


# ====================================================================== shared workload
def _spd(rng, batch, D):
    A = rng.normal(size=tuple(batch) + (D, D))
    return A @ np.swapaxes(A, -1, -2) / D + 0.5 * np.eye(D)


def _registry_mixtures():
    """The first 3-component mixture example (batch (3,)) of every registry family not listed above."""
    import registry as reg

    from mixstat.kernels import registry as kreg

    out = []
    for f in kreg.FAMILIES:
        if f.name in ("normal", "categorical", "mvn"):
            continue
        ex = next((e for e in reg.EXAMPLES if e.family == f"mixture-{f.name}" and e.batch_shape == (3,)), None)
        if ex is not None:
            out.append(ex)
    return out


def workload(seed=0, only=None):
    """name -> (distribution, values for log_prob/cdf): one per kernel family and dtype, and the fallback.

    ``only``: the names to build (the others' values, drawn from their samplers, would compile
    every family's sampler in a cold cache)."""
    rng = np.random.default_rng(seed)
    K = 4
    out = {}
    for dt in (F64, F32):
        sfx = "" if dt == F64 else "-f32"
        out["normal-mix" + sfx] = (
            MixtureSameFamily(
                Categorical(probs=rng.dirichlet(np.ones(K), size=3).astype(dt)),
                Normal(rng.normal(size=(3, K)).astype(dt) * 3, rng.uniform(0.5, 2, (3, K)).astype(dt)),
            ),
            (rng.normal(size=(2000, 3)) * 4).astype(dt),
        )
    out["mvn-mix"] = (
        MixtureSameFamily(
            Categorical(logits=rng.normal(size=K)),
            MultivariateNormal(rng.normal(size=(K, 3)), covariance_matrix=_spd(rng, (K,), 3)),
        ),
        rng.normal(size=(1500, 3)) * 2,
    )
    out["indep-mix"] = (
        MixtureSameFamily(
            Categorical(probs=[0.5, 0.0, 0.5]),
            Independent(Normal(rng.normal(size=(3, 5)), rng.uniform(0.5, 2, (3, 5))), 1),
        ),
        rng.normal(size=(1500, 5)),
    )
    cp = rng.dirichlet(np.ones(6), size=(2, K))
    out["cat-mix"] = (
        MixtureSameFamily(Categorical(probs=np.ones((2, K))), Categorical(probs=cp)),
        rng.integers(-1, 7, size=(1500, 2)).astype(F64),
    )
    out["categorical"] = (
        Categorical(probs=rng.dirichlet(np.ones(7), size=3)),
        rng.integers(0, 7, size=(1500, 3)).astype(F64),
    )
    out["normal"] = (Normal(rng.normal(size=5), rng.uniform(0.5, 2, 5)), rng.normal(size=(1500, 5)))
    out["mvn"] = (
        MultivariateNormal(rng.normal(size=(2, 4)), scale_tril=np.linalg.cholesky(_spd(rng, (2,), 4))),
        rng.normal(size=(1000, 2, 4)),
    )
    # a mixture of every other registry family (tests/examples), with values from its sampler
    for ex in _registry_mixtures():
        name = ex.family[len("mixture-") :] + "-mix"
        if only is not None and name not in only:
            continue
        d = ex.make()
        out[name] = (d, np.asarray(d.sample((500,), rng=seed + 3)))
    out["fallback-mix"] = (
        MixtureSameFamily(
            Categorical(probs=[0.2, 0.3, 0.5]),
            Independent(MultivariateNormal(rng.normal(size=(3, 2, 2)), covariance_matrix=np.eye(2)), 1),
        ),
        rng.normal(size=(300, 2, 2)),
    )
    return out if only is None else {n: out[n] for n in only}


def run_ops(d, x, seed, icdf=False):
    """Every operation once: name -> result array (with ``icdf``, the quantiles of the cdf's values
    too: a kernel on numba's own parallel loops, which mixstat serialises under workqueue;
    log_prob, cdf and sample split their work on mixstat's threads, see mixstat.kernels.parts)."""
    res = {"log_prob": d.log_prob(x), "sample": d.sample((400,), rng=seed)}
    if d.event_shape == ():
        try:
            res["cdf"] = d.cdf(x)
        except NotImplementedError:  # a family without a cdf (VonMises)
            pass
        if icdf and "cdf" in res and isinstance(d, MixtureSameFamily) and not getattr(d.support, "is_discrete", False):
            res["icdf"] = d.icdf(np.clip(res["cdf"], 0.01, 0.99))
    if isinstance(d, MixtureSameFamily):
        s, idx = d.sample((300,), rng=seed + 1, return_index=True)
        res["sample_ri"], res["index"] = s, idx
    return res


def digest(results):
    h = hashlib.sha256()
    for name in sorted(results):
        for op in sorted(results[name]):
            a = np.ascontiguousarray(results[name][op])
            h.update(f"{name}/{op}/{a.dtype}/{a.shape}".encode())
            h.update(a.tobytes())
    return h.hexdigest()


def hammer(work, n_threads=N_THREADS, rounds=3, seed_of=lambda i: 1000 + i, names=None, icdf=False):
    """``n_threads`` threads released together run every operation ``rounds`` times.

    Returns a list of mismatches against serial results (empty when all bits agree) and errors.
    """
    names = sorted(work) if names is None else names
    # icdf on one mixture: the one kernel here on numba's parallel loops (more would compile in the
    # bounds-checked run of this file)
    serial = {
        i: {n: run_ops(*work[n], seed_of(i), icdf and n == "normal-mix") for n in names} for i in range(n_threads)
    }
    barrier = threading.Barrier(n_threads)
    problems = []

    def body(i):
        try:
            barrier.wait()
            for r in range(rounds):
                for n in names if (i + r) % 2 == 0 else names[::-1]:
                    got = run_ops(*work[n], seed_of(i), icdf and n == "normal-mix")
                    for op, want in serial[i][n].items():
                        if not np.array_equal(got[op], want, equal_nan=True):
                            problems.append(f"thread {i} round {r}: {n}.{op} differs from the serial result")
        except Exception as exc:  # reported by the caller
            problems.append(f"thread {i}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return problems


# ====================================================================== threads
def test_threads_every_family_in_process():
    work = workload()
    problems = hammer(work, icdf=True)
    assert not problems, problems[:10]


_SCRIPT = r"""
import json, sys
sys.path.insert(0, {tests!r})
import numba
import test_reliability as R
from mixstat import _jit
mode = sys.argv[1]
work = R.workload(only=["normal-mix"] if mode == "subset" else None)
names = sorted(work)  # "subset": normal-mix alone
if mode == "unsafe":
    work["normal-mix"][0].log_prob(work["normal-mix"][1])
    _jit._serialise = False  # pretend the layer were thread-safe: numba must abort
    _jit._layer_checked = True
icdf = mode != "subset"
problems = R.hammer(work, names=names, icdf=icdf)
serial = {{n: R.run_ops(*work[n], 7, icdf and n == "normal-mix") for n in names}}
print(json.dumps(dict(layer=numba.threading_layer(), serialise=_jit._serialise, problems=problems[:5],
                      digest=R.digest(serial), threads=numba.get_num_threads())))
"""


def _run(mode, **env):
    tests = os.path.dirname(os.path.abspath(__file__))
    full_env = dict(os.environ, **env)
    res = subprocess.run(
        [sys.executable, "-c", _SCRIPT.format(tests=tests), mode],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return res


def _result(res):
    assert res.returncode == 0, f"rc={res.returncode}\n{res.stderr[-3000:]}"
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_threads_and_seeds_across_layers_and_thread_counts():
    """Subprocesses: default layer with 1 and 2 numba threads, and workqueue forced.

    No abort, threads agree with serial calls, and the serial results (samples,
    log_prob, cdf of every family and the fallback path) are the same bits in all three.
    """
    runs = {
        "default, 2 threads": _result(_run("all", NUMBA_NUM_THREADS="2")),
        "default, 1 thread": _result(_run("all", NUMBA_NUM_THREADS="1")),
        "workqueue, 2 threads": _result(_run("all", NUMBA_NUM_THREADS="2", NUMBA_THREADING_LAYER="workqueue")),
    }
    wq = runs["workqueue, 2 threads"]
    assert wq["layer"] == "workqueue" and wq["serialise"] is True
    assert runs["default, 1 thread"]["threads"] == 1 and runs["default, 2 threads"]["threads"] == 2
    for name, r in runs.items():
        assert not r["problems"], (name, r["problems"])
    assert len({r["digest"] for r in runs.values()}) == 1, {n: r["digest"][:12] for n, r in runs.items()}


def test_threads_cold_cache(tmp_path):
    """First calls from 8 threads at once, nothing compiled yet: one compile, no abort, right results."""
    r = _result(_run("subset", MIXSTAT_CACHE_DIR=str(tmp_path), NUMBA_NUM_THREADS="2"))
    assert not r["problems"], r["problems"]
    work = workload()
    assert r["digest"] == digest({"normal-mix": run_ops(*work["normal-mix"], 7)})


def test_workqueue_aborts_without_serialisation():
    """Power check: the subprocess test above would see the abort mixstat's serialisation prevents."""
    res = _run("unsafe", NUMBA_NUM_THREADS="2", NUMBA_THREADING_LAYER="workqueue")
    assert res.returncode != 0 and "oncurrent access" in res.stderr, (res.returncode, res.stderr[-2000:])


# ====================================================================== seeds: chunks through the kernel offset
def _kernel_setup(d, dtype):
    """(kernel, cumw, table, dim) for the kernel path ``plan.sample`` takes for ``d``."""
    if isinstance(d, MixtureSameFamily):
        spec = d.component_distribution._kernel_spec(dtype)
        cumw = d.mixture_distribution._cumw()
    else:
        spec = d._kernel_spec(dtype)
        cumw = None
    tab, cw = plan._tables(spec, d.batch_shape, cumw, 1.0)
    return _jit.get_kernel("sample", spec.family, dtype), cw, tab, spec


def _draw(kernel, cw, tab, spec, key, offset, n):
    out = np.empty((n, spec.dim), dtype=np.int64 if spec.discrete else tab.dtype)  # discrete: int64 draws
    idx = np.empty(n, dtype=np.int64)
    _jit.call(kernel, cw, tab, key[0], key[1], offset, out, idx)
    return out, idx


KERNEL_CASES = ["normal-mix", "normal-mix-f32", "mvn-mix", "indep-mix", "cat-mix", "normal", "mvn"] + [
    ex.family[len("mixture-") :] + "-mix" for ex in _registry_mixtures()
]


@pytest.mark.parametrize("name", KERNEL_CASES)
def test_one_call_equals_chunks(name):
    d, _ = workload()[name]
    dtype = d.dtype
    kernel, cw, tab, spec = _kernel_setup(d, dtype)
    B = cw.shape[0]
    S = 257
    N = S * B
    key = key_for(31)
    full, full_idx = _draw(kernel, cw, tab, spec, key, 0, N)
    # the public call is this kernel call
    pub = d.sample((S,), rng=31)
    np.testing.assert_array_equal(pub.reshape(N, -1), full)
    cuts = sorted({0, 1, 7, B + 1, 100, N // 2, N - 3, N})  # uneven chunks, not aligned to the batch
    for a, b in zip(cuts[:-1], cuts[1:]):
        part, part_idx = _draw(kernel, cw, tab, spec, key, a, b - a)
        np.testing.assert_array_equal(part, full[a:b], err_msg=f"chunk [{a}, {b})")
        np.testing.assert_array_equal(part_idx, full_idx[a:b])


def test_choose_kernel_chunks_and_counter_high_word():
    c = Categorical(probs=np.random.default_rng(3).dirichlet(np.ones(9), size=4))
    cw = plan._weights(c._cumw(), c.batch_shape, 9)
    kernel = _jit.get_kernel("choose", None, cw.dtype)
    key = key_for(5)

    def choose(offset, n):
        idx = np.empty(n, dtype=np.int64)
        _jit.call(kernel, cw, key[0], key[1], offset, idx)
        return idx

    full = choose(0, 4000)
    np.testing.assert_array_equal(c.sample((1000,), rng=5).reshape(-1), full)
    for a, b in [(0, 3), (3, 1001), (1001, 4000)]:
        np.testing.assert_array_equal(choose(a, b - a), full[a:b])
    # across 2^32: the counter's high word is used (element 2^32 + n is not element n) and chunks agree
    hi = 2**32
    around = choose(hi - 600, 1200)
    np.testing.assert_array_equal(np.concatenate([choose(hi - 600, 600), choose(hi, 600)]), around)
    assert not np.array_equal(around[600:], full[:600])


def test_sampler_kernel_across_counter_boundary():
    d, _ = workload()["mvn-mix"]
    kernel, cw, tab, spec = _kernel_setup(d, F64)
    key = key_for(8)
    hi = 2**32
    whole, widx = _draw(kernel, cw, tab, spec, key, hi - 50, 100)
    a, ai = _draw(kernel, cw, tab, spec, key, hi - 50, 50)
    b, bi = _draw(kernel, cw, tab, spec, key, hi, 50)
    np.testing.assert_array_equal(np.concatenate([a, b]), whole)
    np.testing.assert_array_equal(np.concatenate([ai, bi]), widx)
    low, _ = _draw(kernel, cw, tab, spec, key, 0, 50)
    assert not np.array_equal(low, b)


def test_fallback_path_positional_contract():
    """The generic path (components without a kernel) keeps the stream contract of the kernel path."""
    d, _ = workload()["fallback-mix"]
    a = d.sample((12,), rng=4)
    np.testing.assert_array_equal(d.sample((3, 4), rng=4), a.reshape((3, 4) + a.shape[1:]))
    np.testing.assert_array_equal(d.sample((5,), rng=4), a[:5])
    s, idx = d.sample((12,), rng=4, return_index=True)
    np.testing.assert_array_equal(s, a)
    assert idx.shape == (12,)


# ====================================================================== nothing lost
def _families():
    """(name, builder(params) -> distribution, params, value) with params as the user's own arrays."""
    rng = np.random.default_rng(11)
    K = 3
    cov = _spd(rng, (K,), 3)
    return [
        (
            "normal",
            lambda p: Normal(p["loc"], p["scale"]),
            {"loc": rng.normal(size=(4, 3)), "scale": rng.uniform(0.5, 2, (4, 3))},
            rng.normal(size=(6, 4, 3)),
        ),
        (
            "categorical",
            lambda p: Categorical(probs=p["probs"]),
            {"probs": rng.dirichlet(np.ones(5), size=4)},
            rng.integers(-1, 6, size=(6, 4)).astype(F64),
        ),
        (
            "categorical-logits",
            lambda p: Categorical(logits=p["logits"]),
            {"logits": rng.normal(size=(4, 5))},
            rng.integers(0, 5, size=(6, 4)).astype(F64),
        ),
        (
            "mvn-cov",
            lambda p: MultivariateNormal(p["loc"], covariance_matrix=p["cov"]),
            {"loc": rng.normal(size=(K, 3)), "cov": cov},
            rng.normal(size=(6, K, 3)),
        ),
        (
            "mvn-prec",
            lambda p: MultivariateNormal(p["loc"], precision_matrix=p["prec"]),
            {"loc": rng.normal(size=(K, 3)), "prec": cov},
            rng.normal(size=(6, K, 3)),
        ),
        (
            "mvn-tril",
            lambda p: MultivariateNormal(p["loc"], scale_tril=p["tril"]),
            {"loc": rng.normal(size=(K, 3)), "tril": np.linalg.cholesky(cov)},
            rng.normal(size=(6, K, 3)),
        ),
        (
            "indep",
            lambda p: Independent(Normal(p["loc"], p["scale"]), 1),
            {"loc": rng.normal(size=(4, 3)), "scale": rng.uniform(0.5, 2, (4, 3))},
            rng.normal(size=(6, 4, 3)),
        ),
        (
            "mix-normal",
            lambda p: MixtureSameFamily(Categorical(probs=p["w"]), Normal(p["loc"], p["scale"])),
            {
                "w": rng.dirichlet(np.ones(K), size=2),
                "loc": rng.normal(size=(2, K)),
                "scale": rng.uniform(0.5, 2, (2, K)),
            },
            rng.normal(size=(6, 2)),
        ),
        (
            "mix-mvn",
            lambda p: MixtureSameFamily(
                Categorical(logits=p["w"]), MultivariateNormal(p["loc"], covariance_matrix=p["cov"])
            ),
            {"w": rng.normal(size=K), "loc": rng.normal(size=(K, 3)), "cov": cov},
            rng.normal(size=(6, 3)),
        ),
        (
            "mix-cat",
            lambda p: MixtureSameFamily(Categorical(probs=p["w"]), Categorical(probs=p["p"])),
            {"w": rng.dirichlet(np.ones(K)), "p": rng.dirichlet(np.ones(4), size=K)},
            rng.integers(0, 4, size=6).astype(F64),
        ),
        (
            "mix-fallback",
            lambda p: MixtureSameFamily(
                Categorical(probs=p["w"]), Independent(MultivariateNormal(p["loc"], covariance_matrix=p["cov"]), 1)
            ),
            {"w": rng.dirichlet(np.ones(K)), "loc": rng.normal(size=(K, 2, 3)), "cov": cov[:, None]},
            rng.normal(size=(6, 2, 3)),
        ),
    ]


FAMILY_IDS = [f[0] for f in _families()]


def _outputs(d, x):
    out = {
        "log_prob": d.log_prob(x),
        "log_prob_again": d.log_prob(x),
        "prob": d.prob(x),
        "sample": d.sample((5,), rng=1),
        "mean": d.mean,
        "variance": d.variance,
        "stddev": d.stddev,
    }
    if d.event_shape == ():
        out["cdf"] = d.cdf(x)
    if not isinstance(d, MixtureSameFamily):
        out["entropy"] = d.entropy()
    else:
        out["sample_ri"], out["index"] = d.sample((5,), rng=1, return_index=True)
    e = d.expand((2,) + d.batch_shape)
    out["expanded_log_prob"] = e.log_prob(x[:, None])
    return out


@pytest.mark.parametrize("name", FAMILY_IDS)
def test_inputs_untouched_outputs_fresh(name):
    _, build, params, x = next(f for f in _families() if f[0] == name)
    p_before = {k: v.copy() for k, v in params.items()}
    x_before = x.copy()
    d = build(params)
    outs = _outputs(d, x)
    for k, v in params.items():
        np.testing.assert_array_equal(v, p_before[k], err_msg=f"parameter {k} modified")
    np.testing.assert_array_equal(x, x_before, err_msg="value modified")
    arrays = list(outs.items())
    for i, (k, o) in enumerate(arrays):
        assert isinstance(o, np.ndarray), (k, type(o))
        assert o.flags.writeable, f"{k} is read-only"
        assert not np.shares_memory(o, x), f"{k} shares memory with the value"
        for pk, pv in params.items():
            assert not np.shares_memory(o, pv), f"{k} shares memory with parameter {pk}"
        for k2, o2 in arrays[i + 1 :]:
            assert not np.shares_memory(o, o2), f"{k} and {k2} share memory"
    # writing into an output changes nothing that follows
    want = outs["log_prob"].copy()
    for o in outs.values():
        o[...] = 0
    np.testing.assert_array_equal(d.log_prob(x), want)
    np.testing.assert_array_equal(d.sample((5,), rng=1), _outputs(build(p_before), x_before)["sample"])


def _layouts(a):
    """``a`` (float64) in other memory layouts: (label, array) with the same values."""
    out = []
    ro = a.copy()
    ro.flags.writeable = False
    out.append(("read-only", ro))
    buf = np.empty(a.shape + (3,))
    buf[..., 1] = a
    out.append(("strided", buf[..., 1]))
    rev = a[::-1].copy()[::-1] if a.ndim else a.copy()
    out.append(("reversed", rev))
    out.append(("fortran", np.asfortranarray(a)))
    raw = np.zeros(a.size * 8 + 1, np.uint8)
    un = np.ndarray(a.shape, dtype=F64, buffer=raw, offset=1)
    un[...] = a
    assert not un.flags.aligned
    out.append(("unaligned", un))
    out.append(("big-endian", a.astype(">f8")))
    return out


@pytest.mark.parametrize("name", FAMILY_IDS)
def test_value_layouts_same_bits(name):
    _, build, params, x = next(f for f in _families() if f[0] == name)
    d = build(params)
    want = d.log_prob(x)
    want_cdf = d.cdf(x) if d.event_shape == () else None
    for label, v in _layouts(x):
        np.testing.assert_array_equal(d.log_prob(v), want, err_msg=f"log_prob, {label} value")
        if want_cdf is not None:
            np.testing.assert_array_equal(d.cdf(v), want_cdf, err_msg=f"cdf, {label} value")
    # a stride-0 value: one point broadcast over the sample dim
    one = np.broadcast_to(x[:1], x.shape)
    np.testing.assert_array_equal(d.log_prob(one), np.broadcast_to(d.log_prob(x[:1]), want.shape))


@pytest.mark.parametrize("name", FAMILY_IDS)
def test_parameter_layouts_same_bits(name):
    _, build, params, x = next(f for f in _families() if f[0] == name)
    d = build(params)
    want_lp, want_s = d.log_prob(x), d.sample((7,), rng=2)
    for label in [lbl for lbl, _ in _layouts(np.zeros((2, 2)))]:
        p2 = {k: dict(_layouts(v))[label] for k, v in params.items()}
        d2 = build(p2)
        np.testing.assert_array_equal(d2.log_prob(x), want_lp, err_msg=f"log_prob, {label} parameters")
        np.testing.assert_array_equal(d2.sample((7,), rng=2), want_s, err_msg=f"sample, {label} parameters")


# ====================================================================== sampler gaps
N_DRAWS = 50_000
FAMILY_ALPHA = 0.002
PLANNED = {  # p-values each test computes (an upper bound it checks)
    "test_large_k_frequencies": 3,
    "test_extreme_scale_normal_draws": 7,
    "test_extreme_scale_mixture_draws": 2 * (1 + 5),
    "test_weights_over_300_decades": 1,
    "test_fallback_sampler_fit": 1 + 3 * 4,
    "test_mvn_7d_whitened": 2 * (7 + 21),
}
N_PVALUES = sum(PLANNED.values())
ALPHA = FAMILY_ALPHA / N_PVALUES


class PValues:
    def __init__(self, test):
        self.budget = PLANNED[test]
        self.items = []

    def add(self, label, p):
        self.items.append((float(p), label))

    def check(self):
        assert 0 < len(self.items) <= self.budget, (len(self.items), self.budget)
        p, label = min(self.items)
        assert p > ALPHA, f"{label}: p = {p:.3g} <= ALPHA = {ALPHA:.3g}"


def _chi_square(counts, probs, label, pv, min_expected=5.0):
    """Zero-probability cells must be empty; cells expected below ``min_expected`` are pooled."""
    counts = np.asarray(counts)
    probs = np.asarray(probs, F64)
    probs = probs / probs.sum()
    assert counts[probs == 0].sum() == 0, f"{label}: drew a cell of probability 0"
    n = counts.sum()
    exp = n * probs
    small = (exp < min_expected) & (probs > 0)
    big = exp >= min_expected
    obs = np.append(counts[big], counts[small].sum())
    e = np.append(exp[big], exp[small].sum())
    if e[-1] == 0:
        obs, e = obs[:-1], e[:-1]
    pv.add(label, stats.chisquare(obs, e).pvalue)


def test_large_k_frequencies():
    """K = 10^4: mixture component indices (float64, float32) and plain Categorical draws."""
    pv = PValues("test_large_k_frequencies")
    rng = np.random.default_rng(40)
    K = 10_000
    w = rng.dirichlet(np.full(K, 5.0))
    w[rng.choice(K, 200, replace=False)] = 0.0
    N = 400_000
    for dt in (F64, F32):
        wd = w.astype(dt)
        d = MixtureSameFamily(Categorical(probs=wd), Normal(np.zeros(K, dt), np.ones(K, dt)))
        _, idx = d.sample((N,), rng=41, return_index=True)
        _chi_square(np.bincount(idx, minlength=K), wd.astype(F64), f"mixture index {dt}", pv)
    c = Categorical(probs=w)
    _chi_square(np.bincount(c.sample((N,), rng=42), minlength=K), w, "Categorical K=1e4", pv)
    pv.check()


def _ks_std(z, label, pv):
    pv.add(label, stats.kstest(np.asarray(z, F64), "norm").pvalue)


def test_extreme_scale_normal_draws():
    """Draws at scales 1e-150 .. 1e150 (float32: 1e-30, 1e30), standardised, are N(0, 1)."""
    pv = PValues("test_extreme_scale_normal_draws")
    cases = [
        (F64, 1e-150, 3.0),
        (F64, 1e-20, 1e6),
        (F64, 1e20, -2.0),
        (F64, 1e150, 1e6),
        (F64, 1.0, 0.0),
        (F32, 1e-30, 3.0),
        (F32, 1e30, -3.0),
    ]
    for i, (dt, sc, units) in enumerate(cases):
        s, m = dt.type(sc), dt.type(units * sc)
        x = Normal(np.array(m), np.array(s)).sample((N_DRAWS,), rng=50 + i)
        assert x.dtype == dt and np.isfinite(x).all()
        z = (x.astype(F64) - float(m)) / float(s)
        _ks_std(z, f"scale {sc} loc {units} scales {dt}", pv)
    pv.check()


def test_extreme_scale_standardisation_has_power():
    """The standardised KS above rejects draws off by 0.05 scale at scale 1e150 (p far below ALPHA)."""
    x = Normal(1e156, 1e150).sample((N_DRAWS,), rng=50)
    assert stats.kstest((x - 1e156) / 1e150 - 0.05, "norm").pvalue < ALPHA


def test_extreme_scale_mixture_draws():
    """One mixture over 300 (float32: 60) decades of scale: index chi-square, and each component's draws."""
    pv = PValues("test_extreme_scale_mixture_draws")
    for dt, (lo, hi) in ((F64, (-150, 150)), (F32, (-30, 30))):
        sd = (10.0 ** np.linspace(lo, hi, 6)).astype(dt)
        mu = (np.array([0.0, 2.0, -3.0, 1e3, -7.0, 5.0]) * sd.astype(F64)).astype(dt)
        w = np.array([0.3, 0.0, 0.2, 0.15, 0.25, 0.1], dt)
        d = MixtureSameFamily(Categorical(probs=w), Normal(mu, sd))
        x, idx = d.sample((N_DRAWS,), rng=60, return_index=True)
        _chi_square(np.bincount(idx, minlength=6), w, f"index {dt}", pv)
        for k in range(6):
            xk = x[idx == k]
            if w[k] == 0:
                assert xk.size == 0
                continue
            _ks_std((xk.astype(F64) - float(mu[k])) / float(sd[k]), f"component {k} {dt}", pv)
    pv.check()


def test_weights_over_300_decades():
    """Logits from 0 to -690 (weights 1 .. 1e-300) and -inf: frequencies follow, tiny weights never show."""
    pv = PValues("test_weights_over_300_decades")
    logits = np.array([0.0, np.log(0.5), np.log(1e-3), -690.0, -np.inf, np.log(0.2)])
    d = MixtureSameFamily(Categorical(logits=logits), Normal(np.arange(6.0), 1.0))
    _, idx = d.sample((200_000,), rng=70, return_index=True)
    p = np.exp(logits - np.log(np.exp(logits).sum()))
    counts = np.bincount(idx, minlength=6)
    assert counts[3] == 0 and counts[4] == 0  # probability 1e-300 and 0
    _chi_square(counts, p, "index", pv)
    pv.check()


def test_fallback_sampler_fit():
    """The generic path (Independent(MultivariateNormal) components): index chi-square, whitened KS."""
    pv = PValues("test_fallback_sampler_fit")
    rng = np.random.default_rng(80)
    K, D = 3, 2
    loc = rng.normal(size=(K, 2, D)) * 3
    cov = _spd(rng, (K, 2), D)
    w = np.array([0.25, 0.35, 0.4])
    d = MixtureSameFamily(Categorical(probs=w), Independent(MultivariateNormal(loc, covariance_matrix=cov), 1))
    x, idx = d.sample((30_000,), rng=81, return_index=True)
    _chi_square(np.bincount(idx, minlength=K), w, "index", pv)
    Linv = np.linalg.inv(np.linalg.cholesky(cov))
    for k in range(K):
        zk = np.einsum("jab,njb->nja", Linv[k], x[idx == k] - loc[k])  # whitened, (n, 2, D)
        for j in range(2):
            for a in range(D):
                _ks_std(zk[:, j, a], f"component {k} block {j} coordinate {a}", pv)
    pv.check()


@pytest.mark.parametrize("_", [0])
def test_mvn_7d_whitened(_):
    """D = 7 (odd: the last Box-Muller pair is split) at covariance scales 1e-100 and 1e100:
    whitened coordinates are N(0, 1) (KS) and pairwise uncorrelated (z-test of the mean product)."""
    pv = PValues("test_mvn_7d_whitened")
    rng = np.random.default_rng(90)
    D = 7
    for i, c in enumerate((1e-100, 1e100)):
        cov = _spd(rng, (), D) * c
        loc = rng.normal(size=D) * math.sqrt(c)
        d = MultivariateNormal(loc, covariance_matrix=cov)
        x = d.sample((N_DRAWS,), rng=91 + i)
        z = np.linalg.solve(np.linalg.cholesky(cov), (x - loc).T).T
        for a in range(D):
            _ks_std(z[:, a], f"scale {c} coordinate {a}", pv)
        for a in range(D):
            for b in range(a):
                prod = z[:, a] * z[:, b]
                t = prod.mean() / (prod.std() / math.sqrt(N_DRAWS))
                pv.add(f"scale {c} corr({a},{b}) z = {t:.2f}", 2 * stats.norm.sf(abs(t)))
    pv.check()


def test_bonferroni_budget():
    assert N_PVALUES * ALPHA <= FAMILY_ALPHA < 0.01


# ====================================================================== regressions (found by tests/test_fuzz.py)
def test_probs_whose_sum_overflows_are_normalised():
    np.testing.assert_allclose(Categorical(probs=[1e308, 1e308, 0.0]).probs, [0.5, 0.5, 0.0], rtol=1e-15)
    np.testing.assert_allclose(Categorical(probs=np.array([3e38, 1e38], F32)).probs, [0.75, 0.25], rtol=1e-6)
    d = MixtureSameFamily(Categorical(probs=[1e308, 1e308]), Normal([0.0, 1.0], 1.0))
    assert np.isfinite(d.log_prob(0.5)) and np.isfinite(d.cdf(0.5))
    assert set(np.unique(d.sample((1000,), rng=1, return_index=True)[1])) == {0, 1}


def test_large_logits_normalised_without_losing_precision():
    # logits were normalised as param - (m + log sum exp(param - m)): the sum rounded to the precision of m
    np.testing.assert_allclose(Categorical(logits=np.array([512.0, 512.0], F32)).logits, np.log(0.5), rtol=1e-7)
    np.testing.assert_allclose(Categorical(logits=[1e10, 1e10, -np.inf]).logits[:2], np.log(0.5), rtol=1e-15)
    d = MixtureSameFamily(Categorical(logits=[1e10, 1e10]), Normal([0.0, 0.0], 1.0))
    np.testing.assert_allclose(d.log_prob(0.0), -0.5 * np.log(2 * np.pi), rtol=1e-15)


@pytest.mark.parametrize("shape", [(0, 2**70), (2**62, 2**62), (2**65,), (2**61, 8)])
def test_unaddressable_sample_shape_names_the_argument(shape):
    for d in (
        Normal(0.0, 1.0),
        Categorical(probs=[0.5, 0.5]),
        MixtureSameFamily(Categorical(probs=[0.5, 0.5]), Normal([0.0, 1.0], 1.0)),
    ):
        with pytest.raises(ValueError, match="sample_shape"):
            d.sample(shape)
    with pytest.raises(ValueError, match="batch_shape"):
        Normal(0.0, 1.0).expand(shape)


def test_big_endian_float32_stays_float32():
    be = np.array([0.5, 1.5], ">f4")
    assert mixstat.tensor(be).dtype == F32
    d = Normal(be, np.float32(1.0))
    assert d.dtype == F32 and d.log_prob(be).dtype == F32
    np.testing.assert_array_equal(d.log_prob(be), d.log_prob(be.astype(F32)))


@pytest.mark.parametrize("name", ["covariance_matrix", "precision_matrix"])
def test_unchecked_non_symmetric_matrix_names_the_matrix(name):
    # symmetric part positive-definite, lower triangle not: the failed factorisation used to end in an
    # IndexError while looking for the offending batch entry
    m = np.broadcast_to(np.array([[2.0, 5.0], [-5.0, 2.0]]), (3, 2, 2))
    with pytest.raises(ValueError, match=f"{name} of shape \\(3, 2, 2\\) must be symmetric positive-definite"):
        MultivariateNormal(np.zeros(2), validate_args=False, **{name: m})


@pytest.mark.parametrize("name", ["covariance_matrix", "scale_tril"])
def test_unfactorisable_matrix_unchecked_names_the_matrix(name):
    # the matrices the fuzzer found: NumPy's bare LinAlgError ("Eigenvalues did not converge",
    # "Singular matrix") named nothing
    bad = np.array([[2.0, 0.3, 0.1], [0.3, 1.5, 0.2], [0.1, 0.2, 1.0]])
    if name == "scale_tril":
        bad = np.linalg.cholesky(bad)
    bad[2, 0] = np.inf
    with pytest.raises(ValueError, match=name):
        MultivariateNormal(np.zeros(3), validate_args=False, **{name: bad})
