"""Kernel-level behaviour: RNG known answers, numerics in the tails, memory, threads, seeds.

This file is also run with ``NUMBA_BOUNDSCHECK=1`` by ``make test``.
"""

import math
import os
import subprocess
import sys
import threading
import tracemalloc

import mpmath
import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

import mixstat
from mixstat.distributions import (
    Categorical,
    Independent,
    MixtureSameFamily,
    MultivariateNormal,
    Normal,
)
from mixstat.kernels.philox import philox4x32_10

mpmath.mp.dps = 50

# Random123 known-answer vectors for philox4x32_10: (counter, key, expected output)
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


@pytest.mark.parametrize("ctr, key, expected", KAT)
def test_philox_known_answers(ctr, key, expected):
    from numba import njit

    args = [np.uint64(v) for v in ctr + key]
    assert tuple(int(v) for v in philox4x32_10(*args)) == expected  # plain Python (CUDA simulator path)
    jitted = njit(lambda a, b, c, d, e, f: philox4x32_10(a, b, c, d, e, f))
    assert tuple(int(v) for v in jitted(*args)) == expected


def seed_mixture(dtype="float64"):
    return MixtureSameFamily(
        Categorical(probs=mixstat.tensor([0.3, 0.7], dtype)),
        Normal(mixstat.tensor([-2.0, 2.0], dtype), mixstat.tensor([0.5, 1.0], dtype)),
    )


def mp_mix_logpdf(x, w, mu, sd):
    x = mpmath.mpf(x)
    tot = mpmath.mpf(0)
    for wk, m, s in zip(w, mu, sd):
        if wk == 0:
            continue
        tot += mpmath.mpf(wk) * mpmath.npdf(x, mpmath.mpf(m), mpmath.mpf(s))
    return mpmath.log(tot)


@pytest.mark.parametrize("x", [-1e6, -1e4, -40.0, 0.0, 3.0, 50.0, 1e4, 1e6])
def test_far_tails_against_mpmath(x):
    d = seed_mixture()
    got = float(d.log_prob(x))
    ref = float(mp_mix_logpdf(x, [0.3, 0.7], [-2.0, 2.0], [0.5, 1.0]))
    assert math.isfinite(got)
    assert abs(got - ref) <= 1e-13 * abs(ref)


def test_zero_weights_and_neg_inf_logits():
    comp = Normal(mixstat.tensor([-2.0, 2.0, 5.0]), mixstat.tensor([0.5, 1.0, 2.0]))
    x = np.linspace(-30, 30, 101)
    d1 = MixtureSameFamily(Categorical(logits=[-np.inf, 0.0, -np.inf]), comp)
    np.testing.assert_allclose(d1.log_prob(x), stats.norm.logpdf(x, 2.0, 1.0), rtol=1e-14)
    d2 = MixtureSameFamily(Categorical(probs=[0.0, 0.25, 0.75]), comp)
    ref = logsumexp(
        np.stack([stats.norm.logpdf(x, 2, 1), stats.norm.logpdf(x, 5, 2)]), b=np.array([[0.25], [0.75]]), axis=0
    )
    np.testing.assert_allclose(d2.log_prob(x), ref, rtol=1e-13)
    # zero-weight component never sampled
    _, idx = d2.sample((20000,), rng=3, return_index=True)
    assert idx.min() >= 1


def test_nan_and_inf_values():
    for dtype in ("float32", "float64"):
        d = seed_mixture(dtype)
        out = d.log_prob(np.array([np.nan, np.inf, -np.inf, 0.0], dtype))
        assert out.dtype == np.dtype(dtype)
        assert np.isnan(out[0]) and out[1] == -np.inf and out[2] == -np.inf and np.isfinite(out[3])
        c = d.cdf(np.array([np.nan, np.inf, -np.inf], dtype))
        assert np.isnan(c[0]) and c[1] == 1.0 and c[2] == 0.0


def test_k1_and_large_k():
    x = np.linspace(-5, 5, 33)
    d = MixtureSameFamily(Categorical(probs=[1.0]), Normal([0.5], [2.0]))
    np.testing.assert_allclose(d.log_prob(x), stats.norm.logpdf(x, 0.5, 2.0), rtol=1e-14)
    rng = np.random.default_rng(0)
    K = 10_000
    w = rng.dirichlet(np.ones(K))
    mu, sd = rng.normal(size=K) * 3, rng.uniform(0.2, 2, K)
    d = MixtureSameFamily(Categorical(probs=w), Normal(mu, sd))
    ref = logsumexp(stats.norm.logpdf(x[:, None], mu, sd), b=w, axis=1)
    np.testing.assert_allclose(d.log_prob(x), ref, rtol=1e-12)


def test_float32_in_float32_out():
    d = seed_mixture("float32")
    x = np.linspace(-6, 6, 1001, dtype=np.float32)
    lp = d.log_prob(x)
    assert lp.dtype == np.float32
    ref = seed_mixture().log_prob(x.astype(np.float64))
    np.testing.assert_allclose(lp, ref, rtol=2e-6, atol=1e-6)
    assert d.sample((10,)).dtype == np.float32
    assert d.cdf(x).dtype == np.float32
    assert d.mean.dtype == np.float32 and d.variance.dtype == np.float32
    # Python scalars follow the distribution; float64 arrays promote
    assert d.log_prob(0.5).dtype == np.float32
    assert d.log_prob(np.float64(0.5)).dtype == np.float64
    # integers promote to float64
    d64 = MixtureSameFamily(Categorical(probs=np.array([1, 3])), Normal(np.array([0, 1]), np.array([1, 2])))
    assert d64.log_prob(1).dtype == np.float64


def test_categorical_components():
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(5), size=(3, 4))  # batch 3, K=4 components over 5 categories
    w = rng.dirichlet(np.ones(4), size=3)
    d = MixtureSameFamily(Categorical(probs=w), Categorical(probs=p))
    v = np.array([0, 1, 2, 3, 4, 5, -1, 2.5])[:, None]
    got = d.log_prob(v)
    with np.errstate(divide="ignore"):
        mixed = np.log((w[:, :, None] * p).sum(1))  # (3, 5)
    vi = np.clip(v.astype(int), 0, 4)
    ref = np.where(
        (v >= 0) & (v <= 4) & (v % 1 == 0), np.take_along_axis(mixed[None], vi[..., None], -1)[..., 0], -np.inf
    )
    np.testing.assert_allclose(got, ref, rtol=1e-13)
    s = d.sample((20000,), rng=5)
    assert s.dtype == np.int64 and s.shape == (20000, 3)
    freq = np.stack([(s == c).mean(0) for c in range(5)], -1)
    np.testing.assert_allclose(freq, np.exp(mixed), atol=0.02)
    np.testing.assert_allclose(
        d.cdf(np.array([0.0, 2.0, 4.0])[:, None]), np.cumsum(np.exp(mixed), -1)[:, [0, 2, 4]].T, rtol=1e-12
    )


def test_generic_fallback_components():
    # Independent(MultivariateNormal) has no kernel: the chunked generic path computes it
    rng = np.random.default_rng(2)
    loc = rng.normal(size=(3, 2, 2))  # K=3 components, each two independent 2-D MVNs
    base = MultivariateNormal(loc, covariance_matrix=np.eye(2) * 0.5)
    comp = Independent(base, 1)
    d = MixtureSameFamily(Categorical(probs=[0.2, 0.3, 0.5]), comp)
    assert d.batch_shape == () and d.event_shape == (2, 2)
    x = rng.normal(size=(7, 2, 2))
    lpk = np.stack(
        [
            sum(stats.multivariate_normal(loc[k, j], 0.5 * np.eye(2)).logpdf(x[:, j]) for j in range(2))
            for k in range(3)
        ],
        -1,
    )
    ref = logsumexp(lpk, b=np.array([0.2, 0.3, 0.5]), axis=-1)
    np.testing.assert_allclose(d.log_prob(x), ref, rtol=1e-12)
    s, idx = d.sample((500,), rng=1, return_index=True)
    assert s.shape == (500, 2, 2) and idx.shape == (500,)
    np.testing.assert_allclose((s - loc[idx]).std(), math.sqrt(0.5), rtol=0.1)


def test_memory_is_o_n():
    """log_prob of N points and K=64 components allocates ~ the output, not N*K."""
    N, K = 200_000, 64
    rng = np.random.default_rng(0)
    d = MixtureSameFamily(Categorical(logits=rng.normal(size=K)), Normal(rng.normal(size=K), rng.uniform(0.5, 2, K)))
    x = rng.normal(size=N)
    d.log_prob(x[:10])  # compile / load outside the measurement
    tracemalloc.start()
    out = d.log_prob(x)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert out.nbytes == N * 8
    assert peak < 1.5 * out.nbytes, peak  # an N*K float64 temporary would be 64x the output


def test_inputs_not_modified_and_layouts():
    d = MixtureSameFamily(Categorical(probs=np.ones((3, 2)) / 2), Normal(np.array([[-1.0, 1.0]]), 1.0))
    xs = np.linspace(-3, 3, 120).reshape(20, 6)[::2, ::2]  # (10, 3), strided in both dims
    assert not xs.flags.c_contiguous
    ro = xs.copy()
    ro.flags.writeable = False
    before = xs.copy()
    a = d.log_prob(xs)
    b = d.log_prob(ro)
    c = d.log_prob(np.ascontiguousarray(xs))
    np.testing.assert_array_equal(xs, before)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert not np.shares_memory(a, xs) and not np.shares_memory(a, b)


def test_sample_uses_chosen_component():
    comp = Normal(np.array([-100.0, 0.0, 100.0]), np.array([1.0, 1.0, 1.0]))
    d = MixtureSameFamily(Categorical(probs=[0.2, 0.5, 0.3]), comp)
    s, idx = d.sample((50_000,), rng=11, return_index=True)
    assert np.all(np.abs(s - np.array([-100.0, 0.0, 100.0])[idx]) < 7)
    # chi-square on the chosen components, false-alarm rate 1e-4
    counts = np.bincount(idx, minlength=3)
    assert stats.chisquare(counts, 50_000 * np.array([0.2, 0.5, 0.3])).pvalue > 1e-4


def test_mvn_mixture_sample_and_log_prob():
    rng = np.random.default_rng(4)
    D, K = 4, 3
    A = rng.normal(size=(K, D, D))
    cov = A @ np.swapaxes(A, -1, -2) + D * np.eye(D)
    loc = rng.normal(size=(K, D)) * 5
    w = np.array([0.5, 0.2, 0.3])
    d = MixtureSameFamily(Categorical(probs=w), MultivariateNormal(loc, covariance_matrix=cov))
    x = rng.normal(size=(50, D)) * 4
    lpk = np.stack([stats.multivariate_normal(loc[k], cov[k]).logpdf(x) for k in range(K)], -1)
    np.testing.assert_allclose(d.log_prob(x), logsumexp(lpk, b=w, axis=-1), rtol=1e-12)
    s, idx = d.sample((40_000,), rng=9, return_index=True)
    for k in range(K):
        sk = s[idx == k]
        np.testing.assert_allclose(sk.mean(0), loc[k], atol=6 * np.sqrt(np.diag(cov[k]) / len(sk)).max())
        np.testing.assert_allclose(np.cov(sk.T), cov[k], atol=0.15 * np.abs(cov[k]).max())


def test_seed_semantics():
    d = seed_mixture()
    a = d.sample((1000,), rng=123)
    b = d.sample((1000,), rng=123)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, d.sample((1000,), rng=124))
    mixstat.manual_seed(123)
    np.testing.assert_array_equal(d.sample((1000,)), a)
    assert not np.array_equal(d.sample((1000,)), a)  # the default source moves on
    g1, g2 = np.random.default_rng(7), np.random.default_rng(7)
    np.testing.assert_array_equal(d.sample((10,), rng=g1), d.sample((10,), rng=g2))
    # the first draws of a longer call are the draws of a shorter one (positional streams)
    np.testing.assert_array_equal(d.sample((2000,), rng=123)[:1000], a)


_SEED_SCRIPT = """
import numpy as np, mixstat, hashlib
from mixstat.distributions import *
d = MixtureSameFamily(Categorical(probs=[0.1, 0.6, 0.3]),
                      Independent(Normal(np.arange(6.).reshape(3, 2), np.ones((3, 2))), 1))
s, i = d.sample((100_003,), rng=42, return_index=True)
c = Categorical(probs=[0.2, 0.8]).sample((999,), rng=1)
print(hashlib.sha256(s.tobytes() + i.tobytes() + c.tobytes()).hexdigest())
"""


def test_same_bits_for_1_and_2_threads():
    digests = []
    for n in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=n)
        res = subprocess.run([sys.executable, "-c", _SEED_SCRIPT], env=env, capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        digests.append(res.stdout.strip())
    assert digests[0] == digests[1]


def test_concurrent_python_threads():
    d = MixtureSameFamily(Categorical(probs=np.ones((4, 3)) / 3), Normal(np.array([-1.0, 0.0, 1.0]), 1.0))
    x = np.random.default_rng(0).normal(size=(20_000, 4))
    ref_lp = d.log_prob(x)
    ref_s = [d.sample((5_000,), rng=i) for i in range(8)]
    results = [None] * 8
    errors = []

    def work(i):
        try:
            for _ in range(5):
                lp = d.log_prob(x)
                s = d.sample((5_000,), rng=i)
            results[i] = (lp, s)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i in range(8):
        np.testing.assert_array_equal(results[i][0], ref_lp)
        np.testing.assert_array_equal(results[i][1], ref_s[i])


def test_import_compiles_nothing():
    code = "import sys, mixstat, mixstat.distributions; print('numba' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"


def test_empty_shapes():
    d = seed_mixture()
    assert d.sample((0,)).shape == (0,)
    assert d.log_prob(np.zeros(0)).shape == (0,)
    assert d.sample((0, 3)).shape == (0, 3)
    assert Categorical(probs=[0.5, 0.5]).sample((0,)).shape == (0,)


def test_kernel_cache_location_and_key(tmp_path):
    """Kernels are cached under MIXSTAT_CACHE_DIR, in a folder keyed by sources and bounds checking."""
    code = (
        "import numpy as np, mixstat._jit as j; from mixstat.distributions import Normal; "
        "Normal(0.0, 1.0).log_prob(np.zeros(3)); print(j.cache_dir('normal'))"
    )
    dirs = []
    for bc in ("0", "1"):
        env = dict(os.environ, MIXSTAT_CACHE_DIR=str(tmp_path), NUMBA_BOUNDSCHECK=bc)
        res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        d = res.stdout.strip()
        assert d.startswith(str(tmp_path))
        files = [f for _, _, fs in os.walk(d) for f in fs]
        assert any(f.endswith(".nbi") for f in files) and any(f.endswith(".nbc") for f in files), files
        dirs.append(d)
    assert dirs[0] != dirs[1]


def test_kernel_cache_is_keyed_per_family():
    """Each family's kernels have a folder of their own (editing one family recompiles only it)."""
    import mixstat._jit as j

    d = {f: j.cache_dir(f) for f in ("normal", "gamma", None)}
    assert len(set(d.values())) == 3
    assert j.cache_dir("normal") == d["normal"]


def test_second_process_loads_every_kernel_from_the_cache():
    """A fresh process with a warm cache compiles nothing (numba's cache hit counters).

    The suite's own cache (``make test`` warms it first): the first process loads or compiles,
    the second must only load. (A cold cache written and then read: ``tests/test_warmup.py``.)"""
    code = (
        "import numpy as np, mixstat._jit as j\n"
        "from mixstat.distributions import Normal, Categorical, MixtureSameFamily, MultivariateNormal\n"
        "for dt in (np.float64, np.float32):\n"
        "    m = MixtureSameFamily(Categorical(probs=np.array([0.3, 0.7], dt)),\n"
        "                          Normal(np.zeros(2, dt), np.ones(2, dt)))\n"
        "    m.log_prob(np.zeros((5, 1), dt)); m.cdf(np.zeros(3, dt)); m.sample((7,), rng=1)\n"
        "    m.mixture_distribution.sample((3,), rng=2)\n"
        "v = MultivariateNormal(np.zeros(3), np.eye(3)); v.log_prob(np.zeros((4, 3))); v.sample((2,), rng=0)\n"
        "st = [(k, d.stats.cache_hits, d.stats.cache_misses) for k, d in j._kernels.items()]\n"
        "print(sum(sum(h.values()) for _, h, _ in st), sum(sum(m.values()) for _, _, m in st))\n"
    )
    env = dict(os.environ)
    runs = []
    for _ in range(2):
        res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        runs.append(tuple(int(v) for v in res.stdout.split()))
    hits, misses = runs[1]
    assert misses == 0 and hits > 0, runs


def test_fallback_path_seed_semantics():
    comp = Independent(MultivariateNormal(np.zeros((3, 2, 2)), covariance_matrix=np.eye(2)), 1)
    d = MixtureSameFamily(Categorical(probs=[0.2, 0.3, 0.5]), comp)
    a = d.sample((50,), rng=8)
    np.testing.assert_array_equal(a, d.sample((50,), rng=8))
    mixstat.manual_seed(8)
    np.testing.assert_array_equal(d.sample((50,)), a)


def test_mvn_infinite_and_nan_coordinates():
    for cov in (np.eye(2), np.array([[2.0, 0.3], [0.3, 1.0]])):
        d = MultivariateNormal(np.zeros(2), covariance_matrix=cov)
        out = d.log_prob(np.array([[np.inf, 0.0], [0.0, -np.inf], [np.nan, np.inf], [0.0, 0.0]]))
        assert out[0] == -np.inf and out[1] == -np.inf and np.isnan(out[2]) and np.isfinite(out[3])


def test_weights_from_lists_follow_component_dtype():
    comp = Normal(np.array([0.0, 1.0], np.float32), np.array([1.0, 2.0], np.float32))
    d = MixtureSameFamily(Categorical(probs=[0.3, 0.7]), comp)
    assert d.dtype == np.float32 and d.log_prob(np.float32(0.5)).dtype == np.float32
    d = MixtureSameFamily(Categorical(probs=np.array([0.3, 0.7])), comp)  # a float64 array promotes
    assert d.dtype == np.float64


@pytest.mark.parametrize("va", [None, True, False])
def test_expand_keeps_validate_args_and_dtype(va):
    dists = [
        Normal(np.zeros(2, np.float32), 1.0, validate_args=va),
        Categorical(probs=np.ones(3), validate_args=va),
        MultivariateNormal(np.zeros(2), covariance_matrix=np.eye(2), validate_args=va),
    ]
    for dist in dists:
        e = dist.expand((4,) + dist.batch_shape)
        assert e.validate_args == va and e.dtype == dist.dtype
        assert e.batch_shape == (4,) + dist.batch_shape
