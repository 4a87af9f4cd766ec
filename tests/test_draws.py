"""The scalar samplers of ``mixstat.kernels.samplers``: goodness of fit, indexing, CUDA.

The samplers are called from small ``numba.njit`` kernels that fill an array for
the elements ``n = start .. start + N - 1`` with a fixed key (``N_DRAWS = 200000``
draws per goodness-of-fit case, each case on counter words of its own,
``c = 4 i`` for the i-th, so that the cases are independent samples).

Goodness of fit: ``scipy.stats.kstest`` against the exact scipy distribution
for Gamma(a), a in ``GAMMA_A`` (a >= 0.1 on the values; every a, 1e-3 included,
on ``log_std_gamma`` through the probability integral transform
``P(a, exp(log G))`` with ``scipy.special.gammainc``, taken as
``exp(a log G - lgamma(a + 1))`` where ``exp(log G)`` would underflow: P is
uniform on (0, 1)); Beta(a, b) for ``BETA_AB``; Student t for ``T_DF``; von
Mises for ``VM_KAPPA``; normal, exponential, Cauchy, Laplace, Gumbel (``gumbel_r``)
and the open uniform.

False-alarm rate
----------------
``N_KS`` (38) KS p-values are computed, each compared with
``ALPHA = FAMILY_ALPHA / N_KS`` with ``FAMILY_ALPHA = 0.001`` (about 2.6e-5):
by Bonferroni (which needs no independence: a Gamma's test on the values and
its test on ``log G`` are of one sample) the probability that correct samplers
fail any KS test of this file is at most 0.001.  (The key is fixed, so the outcome is deterministic;
the rate is the chance that the fixed key, or the stream after a legitimate
change, gives a false alarm.)  Every other check is exact (bit equality, or a
stated tolerance) and has no false-alarm rate.

Other checks: the value of element ``n`` computed alone equals the value in
the big run (also at ``n`` above 2**32, and on counter words ``c > 0``); the
documented counter-word allocation of the composite draws (a Beta is the two
log-gammas on words c and c + 1, a t is the Gamma on c and the normal on c + 1;
the normal is ``philox.normal_pair``'s first value); no NaN or inf for valid
parameters, NaN for invalid ones; a ``parallel=True`` kernel gives the same
bits; the von Mises rewrite against Best-Fisher's original formulas in 60-digit
mpmath on the same random words; and, in subprocesses, the samplers compiled in
a ``numba.cuda.jit`` kernel under numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``) agree with njit to 1e-15 relative, and the kernel
compiles to PTX with NVVM (no GPU needed).
"""

import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numba import njit, prange
from numba.extending import register_jitable
from scipy import special, stats

from mixstat.kernels import philox, samplers as S

N_DRAWS = 200_000
K0, K1 = np.uint64(0x243F6A88), np.uint64(0x85A308D3)

GAMMA_A = [1e-3, 0.1, 0.5, 0.999, 1.0, 1.001, 3.0, 100.0]
BETA_AB = [(0.1, 0.2), (0.5, 0.5), (1.0, 1.0), (2.5, 7.0), (1e-2, 5.0)]
T_DF = [0.5, 1.0, 3.0, 30.0]
VM_KAPPA = [1e-8, 1e-3, 0.5, 1.0, 10.0, 700.0, 1e5, 1e6]
SIMPLE = ["normal", "exponential", "cauchy", "laplace", "gumbel", "open_uniform"]

N_KS = sum(a >= 0.1 for a in GAMMA_A) + len(GAMMA_A) + len(BETA_AB) + len(T_DF) + len(VM_KAPPA) + len(SIMPLE)
FAMILY_ALPHA = 0.001
ALPHA = FAMILY_ALPHA / N_KS

# sampler codes for the dispatch below
WHICH = dict(
    normal=0,
    exponential=1,
    gamma=2,
    log_gamma=3,
    beta=4,
    t=5,
    von_mises=6,
    cauchy=7,
    laplace=8,
    gumbel=9,
    open_uniform=10,
)
SCIPY = dict(
    normal=stats.norm,
    exponential=stats.expon,
    cauchy=stats.cauchy,
    laplace=stats.laplace,
    gumbel=stats.gumbel_r,
    open_uniform=stats.uniform,
)

_ks_count = [0]

# each goodness-of-fit case draws on a counter word of its own (c = 4 i for the i-th case),
# so that the samples of different cases are independent
_GOF = (
    [("gamma", a) for a in GAMMA_A]
    + [("beta", ab) for ab in BETA_AB]
    + [("t", df) for df in T_DF]
    + [("von_mises", k) for k in VM_KAPPA]
    + [(name, None) for name in SIMPLE]
)
WORD = {case: 4 * i for i, case in enumerate(_GOF)}


@register_jitable
def _one(which, k0, k1, n, c, p, q):
    if which == 0:
        return S.std_normal(k0, k1, n, c)
    if which == 1:
        return S.std_exponential(k0, k1, n, c)
    if which == 2:
        return S.std_gamma(k0, k1, n, c, p)
    if which == 3:
        return S.log_std_gamma(k0, k1, n, c, p)
    if which == 4:
        return S.std_beta(k0, k1, n, c, p, q)
    if which == 5:
        return S.std_t(k0, k1, n, c, p)
    if which == 6:
        return S.von_mises(k0, k1, n, c, p)
    if which == 7:
        return S.std_cauchy(k0, k1, n, c)
    if which == 8:
        return S.std_laplace(k0, k1, n, c)
    if which == 9:
        return S.std_gumbel(k0, k1, n, c)
    return S.open_uniform(k0, k1, n, c, 1 + int(p))  # p: block j - 1


@njit
def _fill(which, k0, k1, start, N, c, p, q):
    out = np.empty(N)
    for i in range(N):
        out[i] = _one(which, k0, k1, start + i, c, p, q)
    return out


@njit(parallel=True)
def _fill_parallel(which, k0, k1, start, N, c, p, q):
    out = np.empty(N)
    for i in prange(N):
        out[i] = _one(which, k0, k1, start + i, c, p, q)
    return out


def draw(name, p=0.0, q=0.0, N=N_DRAWS, start=0, c=0, parallel=False):
    f = _fill_parallel if parallel else _fill
    return f(WHICH[name], K0, K1, np.int64(start), np.int64(N), np.int64(c), float(p), float(q))


def ks(x, cdf):
    _ks_count[0] += 1
    assert _ks_count[0] <= N_KS, "more KS tests than N_KS counts: fix the false-alarm rate"
    assert np.all(np.isfinite(x))
    r = stats.kstest(x, cdf)
    assert r.pvalue > ALPHA, f"KS p = {r.pvalue:.3g} <= {ALPHA:.3g} (D = {r.statistic:.3g})"


def gamma_pit(a, lg):
    """P(a, exp(lg)), the Gamma(a) cdf at G = exp(lg), without underflow."""
    small = lg < -30.0  # P(a, x) = x**a / Gamma(a + 1) * (1 - a x / (a + 1) + ...)
    p = special.gammainc(a, np.exp(np.where(small, 0.0, lg)))
    return np.where(small, np.exp(a * lg - special.gammaln(a + 1.0)), p)


# -- goodness of fit ------------------------------------------------------------------


@pytest.mark.parametrize("a", GAMMA_A)
def test_gamma(a):
    g = draw("gamma", a, c=WORD["gamma", a])
    lg = draw("log_gamma", a, c=WORD["gamma", a])
    assert np.all(np.isfinite(g)) and np.all(g >= 0.0) and np.all(np.isfinite(lg))
    # the two are one draw: exp(log G) = G (exactly for a < 1, where G is exp(log G))
    np.testing.assert_allclose(np.exp(lg), g, rtol=1e-13, atol=0.0)
    if a >= 0.1:
        ks(g, stats.gamma(a).cdf)
    ks(gamma_pit(a, lg), "uniform")
    if a == 1e-3:
        # the case that needs logs: most G(1e-3) are below 1e-300, half underflow to 0
        assert np.mean(lg < -700.0) > 0.4 and np.mean(g == 0.0) > 0.4


@pytest.mark.parametrize("a,b", BETA_AB)
def test_beta(a, b):
    x = draw("beta", a, b, c=WORD["beta", (a, b)])
    assert np.all((x >= 0.0) & (x <= 1.0))
    ks(x, stats.beta(a, b).cdf)


@pytest.mark.parametrize("df", T_DF)
def test_t(df):
    ks(draw("t", df, c=WORD["t", df]), stats.t(df).cdf)


@pytest.mark.parametrize("kappa", VM_KAPPA)
def test_von_mises(kappa):
    x = draw("von_mises", kappa, c=WORD["von_mises", kappa])
    assert np.all(np.abs(x) <= math.pi)
    ks(x, stats.vonmises(kappa).cdf)


@pytest.mark.parametrize("name", SIMPLE)
def test_simple(name):
    x = draw(name, c=WORD[name, None])
    if name == "open_uniform":
        assert np.all((x > 0.0) & (x < 1.0))
    ks(x, SCIPY[name].cdf)


def test_open_uniform_bounds():
    """Every value is (k + 1/2) 2**-52 with 0 <= k < 2**52: never 0 nor 1, 1 - U exact."""
    for j in (1, 2, 7):
        u = draw("open_uniform", j - 1, N=20_000)
        k = u * 2.0**52 - 0.5
        assert np.all(k == np.floor(k)) and np.all((k >= 0) & (k < 2.0**52))
        assert np.all((1.0 - u) + u == 1.0)
    assert not np.array_equal(draw("open_uniform", 0, N=100), draw("open_uniform", 1, N=100))


# -- stream layout --------------------------------------------------------------------

CASES = (
    [
        ("normal", 0.0, 0.0),
        ("exponential", 0.0, 0.0),
        ("cauchy", 0.0, 0.0),
        ("laplace", 0.0, 0.0),
        ("gumbel", 0.0, 0.0),
        ("open_uniform", 0.0, 0.0),
        ("open_uniform", 4.0, 0.0),
    ]
    + [("gamma", a, 0.0) for a in GAMMA_A]
    + [("log_gamma", a, 0.0) for a in GAMMA_A]
    + [("beta", a, b) for a, b in BETA_AB]
    + [("t", df, 0.0) for df in T_DF]
    + [("von_mises", k, 0.0) for k in VM_KAPPA]
)
CASE_IDS = [f"{w}-{p:g}-{q:g}" for w, p, q in CASES]


@pytest.mark.parametrize("name,p,q", CASES, ids=CASE_IDS)
def test_position_indexing(name, p, q):
    """Element n alone (N = 1, start n) is element n of a long run; also above 2**32 and for c > 0."""
    big = draw(name, p, q, N=5000)
    for n in (0, 1, 2, 1234, 4999):
        assert draw(name, p, q, N=1, start=n)[0] == big[n]
    far = draw(name, p, q, N=16, start=2**33 + 5, c=7)
    for i in (0, 9, 15):
        assert draw(name, p, q, N=1, start=2**33 + 5 + i, c=7)[0] == far[i]
    assert np.all(np.isfinite(big)) and np.all(np.isfinite(far))
    # another counter word is another stream
    assert not np.array_equal(draw(name, p, q, N=50, c=4), big[:50])
    # the high word of n counts: n and n + 2**32 differ
    assert not np.array_equal(draw(name, p, q, N=50, start=2**32), big[:50])


@pytest.mark.parametrize("name,p,q", CASES[::2], ids=CASE_IDS[::2])
def test_parallel_kernel_same_bits(name, p, q):
    a = draw(name, p, q, N=20_000, start=17, c=2)
    b = draw(name, p, q, N=20_000, start=17, c=2, parallel=True)
    assert np.array_equal(a, b)


@njit
def _normal_pairs(k0, k1, N):
    out = np.empty(N)
    for n in range(N):
        out[n] = philox.normal_pair(k0, k1, n, 1)[0]
    return out


def test_counter_word_allocation():
    N = 3000
    # the normal is philox.normal_pair's first value on word 0; inversions use open_uniform(c, 1)
    assert np.array_equal(draw("normal", N=N), _normal_pairs(K0, K1, N))
    u = draw("open_uniform", 0.0, N=N, c=3)
    # (numpy's log may differ from libm's in the last bit)
    close = dict(rtol=4e-16, atol=0.0)
    np.testing.assert_allclose(draw("exponential", N=N, c=3), -np.log(u), **close)
    np.testing.assert_allclose(
        draw("laplace", N=N, c=3), np.where(u < 0.5, np.log(2 * u), -np.log(2 * (1 - u))), **close
    )
    # Beta: log-gammas on words c and c + 1
    for a, b in BETA_AB:
        x = draw("log_gamma", a, N=N, c=5)
        y = draw("log_gamma", b, N=N, c=6)
        want = np.where(
            x > y,
            1 / (1 + np.exp(np.minimum(y - x, 0))),
            np.exp(np.minimum(x - y, 0)) / (1 + np.exp(np.minimum(x - y, 0))),
        )
        np.testing.assert_allclose(draw("beta", a, b, N=N, c=5), want, rtol=1e-14, atol=1e-300)
    # t: Gamma(df/2) on word c, the normal on word c + 1
    for df in T_DF:
        g = np.exp(draw("log_gamma", df / 2, N=N, c=9))
        z = draw("normal", N=N, c=10)
        np.testing.assert_allclose(draw("t", df, N=N, c=9), z / np.sqrt(g / (df / 2)), rtol=1e-12)
    # G(a) for a < 1 is G(a + 1) U**(1/a), with G(a + 1) on the same word and U from words
    # (w2, w3) of its block 2
    for a in (1e-3, 0.5):
        lg1 = draw("log_gamma", a + 1, N=200, c=2)
        lg = draw("log_gamma", a, N=200, c=2)
        for n in range(200):
            w0, w1, w2, w3 = philox.block_c(K0, K1, n, 2, 2)
            u = ((((int(w2) << 32) | int(w3)) >> 12) + 0.5) * 2.0**-52
            assert lg[n] == lg1[n] + math.log(u) / a


def test_invalid_parameters_give_nan():
    for name, p, q in [
        ("gamma", 0.0, 0.0),
        ("gamma", -1.0, 0.0),
        ("gamma", np.nan, 0.0),
        ("log_gamma", 0.0, 0.0),
        ("beta", 0.0, 1.0),
        ("beta", 1.0, -2.0),
        ("beta", np.nan, 1.0),
        ("t", 0.0, 0.0),
        ("t", np.nan, 0.0),
        ("von_mises", -1.0, 0.0),
        ("von_mises", np.nan, 0.0),
    ]:
        assert np.all(np.isnan(draw(name, p, q, N=3))), (name, p, q)
    # kappa = 0 is the uniform angle, kappa = inf the point mass at 0
    x = draw("von_mises", 0.0, N=1000)
    assert np.all(np.abs(x) <= math.pi) and np.std(x) > 1.5
    assert np.all(draw("von_mises", np.inf, N=10) == 0.0)


def test_von_mises_against_best_fisher_in_mpmath():
    """The cancellation-free rewrite is Best-Fisher's algorithm on the same words (60 digits)."""
    mpmath = pytest.importorskip("mpmath")
    mp = mpmath.mp
    with mpmath.workdps(60):  # not mp.dps = 60: other tests share mpmath's context
        for kappa in (1e-8, 0.5, 10.0, 700.0, 1e6):
            got = draw("von_mises", kappa, N=40, start=1000)
            k = mp.mpf(kappa)
            tau = 1 + mp.sqrt(1 + 4 * k * k)
            rho = (tau - mp.sqrt(2 * tau)) / (2 * k)
            r = (1 + rho * rho) / (2 * rho)
            for i, g in enumerate(got):
                n = 1000 + i
                for t in range(1, 1000):
                    w0, w1, w2, w3 = philox.block_c(K0, K1, n, t, 0)
                    w = mp.mpf(int(((int(w0) << 32) | int(w1)) >> 11)) / 2**53
                    u2 = (mp.mpf(int(((int(w2) << 32) | int(w3)) >> 12)) + mp.mpf(0.5)) / 2**52
                    z = mp.cos(mp.pi * (1 - w))
                    f = (1 + r * z) / (r + z)
                    c = k * (r - f)
                    if c * (2 - c) - u2 > 0 or mp.log(c / u2) + 1 - c >= 0:
                        break
                want = mp.acos(f) * (-1 if int(w1) & 1 else 1)
                assert abs(g - want) <= 1e-13 * abs(want) + 1e-300, (kappa, n, g, want)


# -- CUDA: simulator and PTX, each in its own process ---------------------------------

_TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
N_SIM = 50

_SIM_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    from numba import config, cuda
    assert config.ENABLE_CUDASIM
    sys.path.insert(0, sys.argv[1])
    import test_draws as T

    @cuda.jit
    def kern(cases, k0, k1, out):
        n = cuda.grid(1)
        if n < out.shape[1]:
            for i in range(cases.shape[0]):
                out[i, n] = T._one(int(cases[i, 0]), k0, k1, n, 0, cases[i, 1], cases[i, 2])

    cases = np.array([[T.WHICH[w], p, q] for w, p, q in T.CASES])
    out = cuda.to_device(np.zeros((len(cases), T.N_SIM)))
    kern[1, T.N_SIM](cuda.to_device(cases), T.K0, T.K1, out)
    np.save(sys.argv[2], out.copy_to_host())
""")

_PTX_SCRIPT = textwrap.dedent("""
    import json, os, sys
    os.environ["NUMBA_FORCE_CUDA_CC"] = "8.0"
    from numba import cuda, types
    import numba.cuda.compiler, numba.cuda.dispatcher

    class _StandInDevice:  # what numba-cuda asks of the device while compiling (as cuda_ptx.py)
        compute_capability = (8, 0)
        name = "stand-in for sm_80"

    numba.cuda.dispatcher.get_current_device = _StandInDevice
    numba.cuda.compiler.get_current_device = _StandInDevice
    sys.path.insert(0, sys.argv[1])
    import test_draws as T

    def kern(cases, k0, k1, out):
        n = cuda.grid(1)
        if n < out.shape[1]:
            for i in range(cases.shape[0]):
                out[i, n] = T._one(int(cases[i, 0]), k0, k1, n, 0, cases[i, 1], cases[i, 2])

    A2 = types.Array(types.float64, 2, "C")
    ptx, _ = cuda.compile_ptx(kern, (A2, types.uint64, types.uint64, A2), cc=(8, 0))
    print(json.dumps({"entry": ".entry" in ptx, "target": ".target sm_80" in ptx,
                      "size": len(ptx)}))
""")


def _subprocess(script, *args, sim):
    env = dict(os.environ)
    if sim:
        env["NUMBA_ENABLE_CUDASIM"] = "1"
    else:
        env.pop("NUMBA_ENABLE_CUDASIM", None)
    return subprocess.run(
        [sys.executable, "-c", script, _TESTS_DIR, *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_cuda_simulator_matches_njit(tmp_path):
    pytest.importorskip("numba_cuda")
    path = str(tmp_path / "sim.npy")
    r = _subprocess(_SIM_SCRIPT, path, sim=True)
    assert r.returncode == 0, r.stdout + r.stderr
    sim = np.load(path)
    cpu = np.array([draw(w, p, q, N=N_SIM) for w, p, q in CASES])
    assert sim.shape == cpu.shape
    assert np.all(np.isfinite(sim))
    for (w, p, q), s, c in zip(CASES, sim, cpu):
        np.testing.assert_allclose(s, c, rtol=1e-15, atol=0.0, err_msg=f"{w}({p:g}, {q:g})")


def test_cuda_kernel_compiles_to_ptx():
    pytest.importorskip("numba_cuda")
    r = _subprocess(_PTX_SCRIPT, sim=False)
    if (
        r.returncode != 0
        and os.environ.get("MIXSTAT_REQUIRE_PTX") != "1"
        and "nvvm" in r.stderr.lower()
        and "not found" in r.stderr.lower()
    ):
        pytest.skip("no NVVM: " + r.stderr.strip().splitlines()[-1])
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["entry"] and report["target"]
