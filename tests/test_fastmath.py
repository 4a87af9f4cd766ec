"""The vectorisable CPU math (mixstat/kernels/fastmath.py) and the SIMD tile
loops that use it, against mpmath and against the scalar kernels they replace."""

import math

import mpmath as mp
import numpy as np
import pytest
from numba import njit

from mixstat.kernels import fastmath as fm, philox
from mixstat.kernels.cpu import _batch_rows, _choose_tile
from mixstat.kernels.families import mvn, normal

mp.mp.dps = 50


def _cheb_fit(f, deg, a, b):
    """Interpolation at Chebyshev nodes, solved in 60-digit arithmetic."""
    with mp.workdps(60):
        n = deg + 1
        nodes = [(a + b) / 2 + (b - a) / 2 * mp.cos(mp.pi * (2 * i + 1) / (2 * n)) for i in range(n)]
        A = mp.matrix([[x**j for j in range(n)] for x in nodes])
        c = mp.lu_solve(A, mp.matrix([f(x) for x in nodes]))
        return [c[j] for j in range(n)]


@pytest.mark.parametrize(
    "deg,names,dtype,bound",
    [
        (10, [f"_E{i}" for i in range(11)], np.float64, 4e-16),
        (5, [f"_F{i}" for i in range(6)], np.float32, 2e-7),
    ],
)
def test_exp_coefficients_are_the_chebyshev_interpolant(deg, names, dtype, bound):
    h = mp.log(2) / 2
    want = [dtype(float(c)) for c in _cheb_fit(mp.exp, deg, -h, h)]
    got = [getattr(fm, n) for n in names]
    assert [float(g) for g in got] == [float(w) for w in want]
    # and the polynomial (in exact arithmetic) is within the stated bound
    worst = 0
    for r in np.linspace(-float(h), float(h), 201):
        p = sum(mp.mpf(float(c)) * mp.mpf(r) ** j for j, c in enumerate(got))
        worst = max(worst, abs(p / mp.exp(mp.mpf(r)) - 1))
    assert worst < bound


@njit
def _apply(f, x):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = f(x[i])
    return out


@njit
def _apply_sincos(u):
    c = np.empty_like(u)
    s = np.empty_like(u)
    for i in range(u.size):
        c[i], s[i] = fm.sincos_2pi(u[i])
    return c, s


def _ulps(got, want, dtype):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    return np.abs(got - want) / (np.finfo(dtype).eps * np.maximum(np.abs(want), np.finfo(dtype).tiny))


def test_exp_neg_against_mpmath():
    rng = np.random.default_rng(1)
    x = np.concatenate([-rng.uniform(0, 708, 400), -rng.uniform(0, 1, 200), [0.0, -0.0, -708.39]])
    got = _apply(fm.exp_neg, x)
    want = [float(mp.exp(mp.mpf(v))) for v in x]
    assert _ulps(got, want, np.float64).max() <= 2


def test_exp_neg2_against_mpmath():
    """exp(hi + lo) with hi an exact -z*z (a multiple of 2**-43) and a small lo: within 2.5 ulp of
    the exact sum's exponential (one rounded sum would be off by up to |hi| 2**-53 relative)."""
    from numba import njit

    @njit
    def f(hi, lo, out):
        for i in range(hi.size):
            out[i] = fm.exp_neg2(hi[i], lo[i])

    rng = np.random.default_rng(3)
    z = rng.uniform(0, 26.5, 600)
    z = (z.view(np.int64) & np.int64(-4294967296)).view(np.float64)  # 21 significant bits
    hi = -z * z - 0.5625
    lo = -rng.uniform(0.01, 0.5, z.size)
    got = np.empty_like(hi)
    f(hi, lo, got)
    want = [float(mp.exp(mp.mpf(h) + mp.mpf(l))) for h, l in zip(hi, lo)]
    assert _ulps(got, want, np.float64).max() <= 2.5  # the polynomial's 1.7 and two roundings of r
    special = np.empty(3)
    f(np.array([np.nan, -np.inf, -800.0]), np.array([0.0, -0.1, -0.1]), special)
    assert np.isnan(special[0]) and special[1] == 0 and special[2] == 0


def test_exp_neg32_against_mpmath():
    rng = np.random.default_rng(2)
    x = np.concatenate([-rng.uniform(0, 87, 400), -rng.uniform(0, 1, 200), [0.0]]).astype(np.float32)
    got = _apply(fm.exp_neg32, x)
    assert got.dtype == np.float32
    want = np.array([float(mp.exp(mp.mpf(float(v)))) for v in x])
    assert np.max(np.abs(got / want - 1)) <= 2.5e-7  # about 2 float32 ulp


@pytest.mark.parametrize("f", [fm.exp_neg, fm.exp_neg32])
def test_exp_neg_special_values(f):
    dt = np.float32 if f is fm.exp_neg32 else np.float64
    got = _apply(f, np.array([np.nan, -np.inf, -1e300 if dt is np.float64 else -1e30, -800.0, -100.0], dtype=dt))
    assert np.isnan(got[0])
    assert got[1] == 0 and got[2] == 0 and got[3] == 0
    if dt is np.float32:
        assert got[4] == 0  # below -87.3: flushed, no subnormals
    else:
        assert got[4] > 0


def test_log_pos_against_mpmath():
    rng = np.random.default_rng(3)
    x = np.concatenate(
        [
            rng.random(400),
            2.0 ** -rng.uniform(0, 1020, 200),
            rng.uniform(1, 1e300, 100),
            [1.0, 2.0**-53, math.sqrt(2.0), np.nextafter(math.sqrt(2.0), 2), 0.5],
        ]
    )
    got = _apply(fm.log_pos, x)
    want = np.array([float(mp.log(mp.mpf(v))) for v in x])
    err = np.abs(got - want)
    # relative where log is away from 0, absolute (in units of 2**-53) near x = 1
    assert np.all(err <= 2 * np.finfo(float).eps * np.maximum(np.abs(want), 1e-300) + 1e-300)


def test_sincos_2pi_against_mpmath():
    rng = np.random.default_rng(4)
    u = np.concatenate([rng.random(500), np.arange(16) / 16, [1 - 2.0**-53, 2.0**-53]])
    c, s = _apply_sincos(u)
    wc = np.array([float(mp.cos(2 * mp.pi * mp.mpf(v))) for v in u])
    ws = np.array([float(mp.sin(2 * mp.pi * mp.mpf(v))) for v in u])
    assert np.max(np.abs(c - wc)) <= 4e-16
    assert np.max(np.abs(s - ws)) <= 4e-16


@njit
def _tile_choice(cumw, key0, key1, g0, n):
    kk = np.empty(n, np.int64)
    bb = np.empty(n, np.int64)
    u = np.empty(n, np.float64)
    _batch_rows(g0, n, cumw.shape[0], bb)
    _choose_tile(cumw, key0, key1, g0, n, bb, kk, u)
    return kk


@njit
def _scalar_choice(cumw, key0, key1, g0, n):
    kk = np.empty(n, np.int64)
    for i in range(n):
        g = g0 + i
        kk[i] = philox.search(cumw, g % cumw.shape[0], philox.uniform(key0, key1, g, 0))
    return kk


@pytest.mark.parametrize("B,K", [(1, 2), (1, 16), (3, 16), (1, 64), (2, 65), (1, 1000)])
def test_tile_choice_is_the_binary_search(B, K):
    """The SIMD count (K <= 64) and the per-point search pick the same components."""
    rng = np.random.default_rng(K)
    w = rng.random((B, K)) ** 3
    w[:, 1::7] = 0.0  # zero-weight components are never chosen
    if K > 2:
        w[:, -1] = 0.0
    cumw = np.cumsum(w, axis=1)
    key0, key1 = np.uint64(12345), np.uint64(678)
    got = _tile_choice(cumw, key0, key1, 1000, 5000)
    want = _scalar_choice(cumw, key0, key1, 1000, 5000)
    np.testing.assert_array_equal(got, want)
    b = (1000 + np.arange(5000)) % B
    assert (w[b, got] > 0).all()


@njit
def _normal_draws(tab, key0, key1, g0, n, kk, D):
    a = np.empty((n, D))
    b = np.empty((n, D))
    bb = np.zeros(n, np.int64)
    normal.draw_tile(key0, key1, g0, n, tab, bb, kk, a, 0, np.empty(n), np.empty(n))
    for i in range(n):
        for j in range(D):
            b[i, j] = normal.draw1(key0, key1, g0 + i, 4 * j, tab, 0, kk[i], j * normal.P)
    return a, b


@pytest.mark.parametrize("D", [1, 2, 3])
def test_normal_draw_tile_matches_the_scalar_draw(D):
    rng = np.random.default_rng(D)
    K = 5
    tab = normal.pack(rng.standard_normal((K, D)) * 100, rng.uniform(1e-3, 1e3, (K, D)), np.float64).reshape(
        1, K, D * normal.P
    )
    kk = rng.integers(0, K, 4000)
    a, b = _normal_draws(tab, np.uint64(9), np.uint64(10), 77, 4000, kk, D)
    scale = np.abs(tab[0, kk, normal.SCALE :: normal.P])
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-14 * (np.abs(b) + 40 * scale).max())


@njit
def _mvn_both(x, tab):
    n, D = x.shape
    xt = np.ascontiguousarray(x.T).reshape(D, 1, n)
    x3 = x.reshape(n, 1, D)
    t = np.empty(n)
    y = np.empty(n)
    a = np.empty((tab.shape[1], n))
    b = np.empty((tab.shape[1], n))
    for k in range(tab.shape[1]):
        mvn.logpdf_tile(xt, n, tab, 0, k, t, y)
        a[k] = t
        for i in range(n):
            b[k, i] = mvn.logpdf(x3, i, 0, tab, k)
    return a, b


@pytest.mark.parametrize("D", [1, 3, 8])
def test_mvn_logpdf_tile_matches_the_scalar_logpdf(D):
    rng = np.random.default_rng(D)
    K = 4
    A = rng.standard_normal((K, D, D))
    cov = A @ A.transpose(0, 2, 1) + D * np.eye(D)
    L = np.linalg.cholesky(cov)
    tab = mvn.pack(rng.standard_normal((K, D)), L, np.linalg.inv(L), np.float64)[None]
    x = rng.standard_normal((300, D)) * 5
    a, b = _mvn_both(x, tab)
    np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-13)


def test_mvn_tile_path_nan_and_inf_values():
    """Points whose tile sum is NaN are redone with the scalar logpdf."""
    from mixstat.distributions import Categorical, MixtureSameFamily, MultivariateNormal

    D = 3
    m = MixtureSameFamily(
        Categorical(probs=np.array([0.4, 0.6])),
        MultivariateNormal(np.zeros((2, D)), covariance_matrix=np.eye(D) * np.array([[1.0], [2.0]])[..., None]),
    )
    x = np.zeros((1000, D))
    x[10, 1] = np.inf
    x[11, 0] = -np.inf
    x[12, 2] = np.nan
    x[13] = [np.inf, np.nan, 0.0]
    lp = m.log_prob(x)
    assert lp[10] == -np.inf and lp[11] == -np.inf
    assert np.isnan(lp[12]) and np.isnan(lp[13])
    assert np.isfinite(np.delete(lp, [10, 11, 12, 13])).all()


def test_log_any_special_values_and_subnormals():
    """``log_any``: ``log_pos`` on normal numbers, subnormals by scaling, IEEE special values."""
    rng = np.random.default_rng(5)
    sub = 2.0 ** -rng.uniform(1023, 1074, 50)  # subnormals
    x = np.concatenate([rng.random(50), rng.uniform(1, 1e300, 20), sub, [5e-324, 2.2250738585072014e-308]])
    got = _apply(fm.log_any, x)
    want = np.array([float(mp.log(mp.mpf(v))) for v in x])
    assert np.all(np.abs(got - want) <= 2 * np.finfo(float).eps * np.abs(want) + 1e-300)
    special = np.array([0.0, -0.0, np.inf, -np.inf, -1.0, -5e-324, np.nan])
    got = _apply(fm.log_any, special)
    np.testing.assert_array_equal(got, [-np.inf, -np.inf, np.inf, np.nan, np.nan, np.nan, np.nan])
