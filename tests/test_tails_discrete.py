"""``logcdf1`` / ``logsf1`` of Gamma, Beta, Poisson, NegativeBinomial, Binomial, Geometric,
Bernoulli and Categorical, and the log-space incomplete gamma and beta of
:mod:`mixstat.kernels.special` behind them.

The hooks are called directly, as compiled scalar functions (one ``numba.njit``
wrapper per family, evaluating every value on every packed row of the family's
own ``pack``), against

* ``scipy.stats`` ``logcdf`` / ``logsf`` in the bulk (1e-12 relative, where the
  probability is between 1e-250 and 0.9, so that SciPy's ``log(cdf)`` is itself
  accurate);
* mpmath at 50 digits in the far tails, where the probabilities underflow
  (``Poisson(5)`` beyond ``k = 200``, ``Gamma(0.5)`` at ``x = 1e3``, ``Beta(2, 3)``
  down to ``x = 1e-300`` and up to ``1 - 2**-53``, ``Binomial(1e6, p)``,
  NegativeBinomial and Geometric with tiny ``p``).  The mpmath references are
  independent of the library's algorithms: ``mpmath.gammainc`` / ``mpmath.betainc``
  where they converge, else the power series / continued fraction summed at 50
  digits, and for the discrete families sums of the mass function.  The
  complement of a small value is ``log1p(-exp(.))`` at 50 digits.

Also the switch points of the algorithms (both sides of each), float32-packed
rows, an offset into an ``Independent`` row, NaN and values outside the
support, and the same bits under the CUDA simulator (a subprocess).
"""

import functools
import json
import math
import os
import subprocess
import sys

import mpmath
import numba
import numpy as np
import pytest
import scipy.stats as st
from mpmath import mpf

from mixstat.kernels import special as S
from mixstat.kernels.families import (
    bernoulli,
    beta,
    binomial,
    categorical,
    gamma,
    geometric,
    negative_binomial,
    poisson,
)

DPS = 50
RTOL = 1e-13  # relative error of a log-probability against mpmath
SCIPY_RTOL = 1e-12
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INF = math.inf
NAN = math.nan


# ---------------------------------------------------------------------------
# compiled wrappers: the hooks on rows (B, 1, P) at offset o, every value on every row
# ---------------------------------------------------------------------------


@functools.cache
def _wrapper(mod):
    lc = mod.logcdf1
    ls = mod.logsf1

    @numba.njit
    def run(tab, o, v):
        out = np.empty((tab.shape[0], v.size, 2))
        for b in range(tab.shape[0]):
            for i in range(v.size):
                out[b, i, 0] = lc(v[i], tab, b, 0, o)
                out[b, i, 1] = ls(v[i], tab, b, 0, o)
        return out

    return run


def hooks(mod, rows, values, o=0):
    """``(log_cdf, log_sf)``, each ``(B, N)``, for rows ``(B, P)`` (or one row ``(P,)``)."""
    rows = np.asarray(rows)
    rows = rows.reshape((-1, 1, rows.shape[-1]))
    out = _wrapper(mod)(np.ascontiguousarray(rows), o, np.asarray(values, np.float64).ravel())
    return out[..., 0], out[..., 1]


@numba.njit
def _gamma_pairs(a, x):
    out = np.empty((a.size, 2))
    for i in range(a.size):
        out[i, 0], out[i, 1] = S.log_gammainc_pair(a[i], x[i])
    return out


@numba.njit
def _beta_pairs(a, b, x, y):
    out = np.empty((a.size, 2))
    for i in range(a.size):
        out[i, 0], out[i, 1] = S.log_ibeta_pair(a[i], b[i], x[i], y[i])
    return out


def assert_rel(got, want, rtol=RTOL, what=""):
    """Relative error of log-probabilities; -inf / 0 / NaN must match exactly, and values
    below 1e-300 in magnitude (the log of a probability within 1e-300 of 1) agree to 1e-300."""
    got = np.asarray(got, np.float64).ravel()
    want = np.asarray(want, np.float64).ravel()
    assert got.shape == want.shape
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan), (what, got, want)
    inf = np.isinf(want)
    assert np.array_equal(got[inf], want[inf]), (what, got[inf], want[inf])
    fin = ~nan & ~inf
    assert np.isfinite(got[fin]).all(), (what, got, want)
    err = np.abs(got[fin] - want[fin]) / np.maximum(np.abs(want[fin]), 1e-300)
    small = np.abs(want[fin]) < 1e-300
    err = np.where(small, np.abs(got[fin] - want[fin]) / 1e-300, err)
    if err.size:
        i = int(np.argmax(err))
        assert err[i] <= rtol, f"{what}: rel. error {err[i]:.3g} at {i}: got {got[fin][i]!r}, want {want[fin][i]!r}"
    return float(err.max()) if err.size else 0.0


# ---------------------------------------------------------------------------
# mpmath references (50 digits), as (log F, log(1 - F))
# ---------------------------------------------------------------------------


def _pair_from_small(ls, small_is_lower):
    # log(1 - exp(ls)) at DPS digits, also for |ls| below 1e-50 (expm1) and exp(ls) tiny (log1p)
    other = mpmath.log(-mpmath.expm1(ls)) if ls > -0.5 else mpmath.log1p(-mpmath.exp(ls))
    return (ls, other) if small_is_lower else (other, ls)


def ref_log_gamma(a, x):
    """(log P(a, x), log Q(a, x)) at DPS digits; the smaller one summed directly."""
    with mpmath.workdps(DPS):
        a, x = mpf(a), mpf(x)
        tol = mpf(10) ** (3 - DPS)
        if x < a:
            if a <= 1000:
                ls = mpmath.log(mpmath.gammainc(a, 0, x, regularized=True))
            else:  # power series of P
                t = s = mpf(1)
                n = 0
                while t > tol * s:
                    n += 1
                    t *= x / (a + n)
                    s += t
                ls = a * mpmath.log(x) - x - mpmath.loggamma(a + 1) + mpmath.log(s)
            return tuple(float(v) for v in _pair_from_small(ls, True))
        if a <= 1000:
            ls = mpmath.log(mpmath.gammainc(a, x, mpmath.inf, regularized=True))
        else:  # Legendre's continued fraction of Q (modified Lentz)
            tiny = mpf(10) ** (-2 * DPS)
            b0 = x + 1 - a
            c, d = 1 / tiny, 1 / b0
            h = d
            i = 0
            while True:
                i += 1
                an = -i * (i - a)
                bb = b0 + 2 * i
                d = an * d + bb
                d = d if abs(d) > tiny else tiny
                c = bb + an / c
                c = c if abs(c) > tiny else tiny
                d = 1 / d
                h *= d * c
                if abs(d * c - 1) < tol:
                    break
            ls = a * mpmath.log(x) - x - mpmath.loggamma(a) + mpmath.log(h)
        return tuple(float(v) for v in _pair_from_small(ls, False))


def ref_log_beta(a, b, x, y=None):
    """(log I_x(a, b), log(1 - I_x(a, b))) with the smaller of x, y exact (mpmath.betainc on
    the side below the mean, the other by symmetry I_y(b, a) or by the complement)."""
    with mpmath.workdps(DPS):
        a, b = mpf(a), mpf(b)
        if y is None or x <= y:
            x = mpf(x)
            y = 1 - x
        else:
            y = mpf(y)
            x = 1 - y
        if x < a / (a + b):
            ls = mpmath.log(mpmath.betainc(a, b, 0, x, regularized=True))
            return tuple(float(v) for v in _pair_from_small(ls, True))
        ls = mpmath.log(mpmath.betainc(b, a, 0, y, regularized=True))
        return tuple(float(v) for v in _pair_from_small(ls, False))


def _ref_discrete(logpmf, k, mean, lo=0, hi=None):
    """(log P(X <= k), log P(X > k)) for an integer k, summing the smaller side of the mass
    function ``logpmf(j)`` (mpmath) until the terms are below 1e-60 of the sum."""
    with mpmath.workdps(DPS):
        tol = mpf(10) ** (-60)
        if k < mean:  # lower side: j = k, k - 1, .., lo
            js = range(int(k), lo - 1, -1)
            lower = True
        else:  # upper side: j = k + 1, k + 2, ..
            js = range(int(k) + 1, hi + 1 if hi is not None else 2**62)
            lower = False
        s = mpf(0)
        for n, j in enumerate(js):
            t = mpmath.exp(logpmf(j))
            s += t
            if s > 0 and t < tol * s and n > 10 and (lower or j > mean):
                break
        return tuple(float(v) for v in _pair_from_small(mpmath.log(s), lower))


def ref_poisson(rate, k):
    r = mpf(rate)
    return _ref_discrete(lambda j: j * mpmath.log(r) - r - mpmath.loggamma(j + 1), k, float(rate))


def ref_binomial(n, p, k):
    n = int(n)
    p = mpf(p)

    def lpmf(j):  # called at DPS digits, where 1 - p is exact (p is a float64)
        q = 1 - p
        return (
            mpmath.loggamma(n + 1)
            - mpmath.loggamma(j + 1)
            - mpmath.loggamma(n - j + 1)
            + j * mpmath.log(p)
            + (n - j) * mpmath.log(q)
        )

    return _ref_discrete(lpmf, k, float(n * p), 0, n)


def ref_nbinom(n, p, k):
    """torch's convention: successes (probability p) before n failures."""
    n, p = mpf(n), mpf(p)

    def lpmf(j):  # called at DPS digits, where 1 - p is exact (p is a float64)
        q = 1 - p
        return (
            mpmath.loggamma(j + n) - mpmath.loggamma(n) - mpmath.loggamma(j + 1) + j * mpmath.log(p) + n * mpmath.log(q)
        )

    return _ref_discrete(lpmf, k, float(n * p / (1 - p)))


def ref_geometric(p, k):
    with mpmath.workdps(DPS):
        ls = (int(k) + 1) * mpmath.log1p(-mpf(p))
        return tuple(float(v) for v in _pair_from_small(ls, False))


# ---------------------------------------------------------------------------
# the log-space incomplete gamma and beta (special.py)
# ---------------------------------------------------------------------------

# (a, x) on both sides of every switch: x = 0.5, 1, 1.1, x = a, x = a / 1.1, the series /
# Temme boundary a = 5e4, the band 0.55 <= x/a <= 1.6 of Temme's expansion for larger a,
# and erfcx beyond w = 25; far tails down to log values of -1e6
GAMMA_CASES = (
    [
        (a, x)
        for a in (1e-3, 0.3, 0.5, 1.0, 2.5, 8.0, 30.0, 700.0, 1e4, 4.9e4)
        for x in (
            1e-300,
            1e-8,
            0.3,
            0.5,
            np.nextafter(0.5, 1),
            1.0,
            1.09,
            1.11,
            3.0,
            30.0,
            0.5 * a,
            a / 1.1 * 0.999,
            a / 1.1 * 1.001,
            0.999 * a,
            a,
            1.001 * a,
            1.2 * a + 5,
            3 * a + 30,
            1e3 * (a + 1),
        )
    ]
    + [
        (a, lam * a)
        for a in (5.1e4, 3e5, 1e7)
        for lam in (1e-6, 0.3, 0.5499, 0.5501, 0.8, 0.95, 0.999, 1.0, 1.001, 1.05, 1.3, 1.5999, 1.6001, 3.0)
    ]
    + [(a, a + s * math.sqrt(a)) for a in (6e4, 1e6) for s in (-30.0, -20.0, -5.0, 20.0, 40.0)]
)


def test_log_gammainc_pair_against_mpmath():
    a, x = (np.array(c, np.float64) for c in zip(*GAMMA_CASES))
    got = _gamma_pairs(a, x)
    want = np.array([ref_log_gamma(ai, xi) for ai, xi in zip(a, x)])
    assert (want < -700.0).sum() >= 20  # the grid reaches where P or Q underflow
    assert_rel(got[:, 0], want[:, 0], what="log P")
    assert_rel(got[:, 1], want[:, 1], what="log Q")
    # the public single functions are the pair's halves
    i = len(GAMMA_CASES) // 2
    assert S.log_gammainc(a[i], x[i]) == got[i, 0] and S.log_gammaincc(a[i], x[i]) == got[i, 1]


def test_log_gammainc_random_against_mpmath():
    rng = np.random.default_rng(7)
    a = 10.0 ** rng.uniform(-2, 6.5, 120)
    # x from far below to far above a (log values from about -1e5 to 0)
    x = a * np.exp(rng.normal(0.0, 1.0, a.size) * np.where(rng.random(a.size) < 0.5, 0.1, 1.5))
    got = _gamma_pairs(a, x)
    want = np.array([ref_log_gamma(ai, xi) for ai, xi in zip(a, x)])
    assert_rel(got[:, 0], want[:, 0], what="log P")
    assert_rel(got[:, 1], want[:, 1], what="log Q")


BETA_CASES = [
    (a, b, x)
    for a, b in ((2.0, 3.0), (0.05, 0.7), (0.5, 0.5), (1.0, 1.0), (7.9, 8.1), (30.0, 2.0), (300.0, 450.0))
    for x in (1e-300, 1e-100, 1e-10, 0.01, 0.2, 0.5, 0.8, 0.99, 1 - 1e-10, 1 - 2.0**-52)
] + [(a, b, (a + 1) / (a + b + 2) * f) for a, b in ((3.0, 5.0), (40.0, 60.0)) for f in (0.999, 1.001)]


def test_log_ibeta_pair_against_mpmath():
    a, b, x = (np.array(c, np.float64) for c in zip(*BETA_CASES))
    got = _beta_pairs(a, b, x, 1.0 - x)
    want = np.array([ref_log_beta(*c) for c in BETA_CASES])
    assert (want < -700.0).sum() >= 5
    assert_rel(got[:, 0], want[:, 0], what="log I")
    assert_rel(got[:, 1], want[:, 1], what="log(1 - I)")
    assert S.log_ibeta_lower(2.0, 3.0, 0.2) == got[4, 0] and S.log_ibeta_upper(2.0, 3.0, 0.2) == got[4, 1]


@pytest.mark.parametrize(
    "f, args, want",
    [
        (S.log_gammainc_pair, (NAN, 1.0), (NAN, NAN)),
        (S.log_gammainc_pair, (1.0, NAN), (NAN, NAN)),
        (S.log_gammainc_pair, (-1.0, 1.0), (NAN, NAN)),
        (S.log_gammainc_pair, (2.0, 0.0), (-INF, 0.0)),
        (S.log_gammainc_pair, (2.0, -3.0), (-INF, 0.0)),
        (S.log_gammainc_pair, (2.0, INF), (0.0, -INF)),
        (S.log_gammainc_pair, (0.0, 2.0), (0.0, -INF)),
        (S.log_gammainc_pair, (INF, 2.0), (-INF, 0.0)),
        (S.log_ibeta_pair, (2.0, 3.0, 0.0, 1.0), (-INF, 0.0)),
        (S.log_ibeta_pair, (2.0, 3.0, 1.0, 0.0), (0.0, -INF)),
        (S.log_ibeta_pair, (NAN, 3.0, 0.5, 0.5), (NAN, NAN)),
        (S.log_ibeta_pair, (0.0, 3.0, 0.5, 0.5), (0.0, -INF)),
        (S.log_ibeta_pair, (2.0, 0.0, 0.5, 0.5), (-INF, 0.0)),
        (S.log_ibeta_pair, (0.0, 0.0, 0.5, 0.5), (NAN, NAN)),
    ],
)
def test_special_values(f, args, want):
    got = f(*args)  # plain Python (what the CUDA simulator runs): no exception either
    for g, w in zip(got, want):
        assert (math.isnan(g) and math.isnan(w)) or g == w, (args, got, want)


# ---------------------------------------------------------------------------
# the hooks against SciPy in the bulk
# ---------------------------------------------------------------------------


def _bulk_check(mod, rows, frozen, values):
    """rows (B, P), frozen: B SciPy distributions, values (B, N) (each row its own values)."""
    lc, ls = hooks(mod, rows, np.unique(values))
    u = np.unique(values)
    for bi, fz in enumerate(frozen):
        with np.errstate(all="ignore"):
            c, s = fz.cdf(u), fz.sf(u)
            rc, rs = fz.logcdf(u), fz.logsf(u)
        for got, want, prob in ((lc[bi], rc, c), (ls[bi], rs, s)):
            ok = (prob > 1e-250) & (prob < 0.9)
            assert ok.any()
            assert_rel(got[ok], want[ok], SCIPY_RTOL, what=f"{mod.__name__} row {bi}")
            # and the log is the log of a probability with the right complement
            assert np.all(got <= 0.0)


def test_bulk_gamma_against_scipy():
    rng = np.random.default_rng(1)
    a, r = 10.0 ** rng.uniform(-1, 3, 6), 10.0 ** rng.uniform(-1, 1, 6)
    vals = np.concatenate([st.gamma(ai, scale=1 / ri).ppf(np.linspace(0.02, 0.98, 15)) for ai, ri in zip(a, r)])
    _bulk_check(gamma, gamma.pack(a, r, np.float64), [st.gamma(ai, scale=1 / ri) for ai, ri in zip(a, r)], vals)


def test_bulk_beta_against_scipy():
    rng = np.random.default_rng(2)
    a, b = 10.0 ** rng.uniform(-1, 2.5, 6), 10.0 ** rng.uniform(-1, 2.5, 6)
    vals = np.concatenate([st.beta(ai, bi).ppf(np.linspace(0.02, 0.98, 15)) for ai, bi in zip(a, b)])
    _bulk_check(beta, beta.pack(a, b, np.float64), [st.beta(ai, bi) for ai, bi in zip(a, b)], vals)


def test_bulk_poisson_against_scipy():
    rate = np.array([0.3, 2.0, 17.5, 400.0])
    _bulk_check(poisson, poisson.pack(rate, np.float64), [st.poisson(m) for m in rate], np.arange(0.0, 500.0, 1.0))


def test_bulk_binomial_against_scipy():
    n = np.array([10.0, 64.0, 65.0, 1000.0])
    p = np.array([0.3, 0.9, 0.02, 0.5])
    _bulk_check(
        binomial,
        binomial.pack(n, p, None, np.float64),
        [st.binom(ni, pi) for ni, pi in zip(n, p)],
        np.arange(0.0, 1000.0, 1.0),
    )


def test_bulk_negative_binomial_against_scipy():
    n = np.array([0.7, 3.0, 25.0, 200.0])
    p = np.array([0.3, 0.9, 0.5, 0.05])
    # torch's convention: scipy.stats.nbinom(n, 1 - p)
    _bulk_check(
        negative_binomial,
        negative_binomial.pack(n, p, None, np.float64),
        [st.nbinom(ni, 1 - pi) for ni, pi in zip(n, p)],
        np.arange(0.0, 400.0, 1.0),
    )


def test_bulk_geometric_against_scipy():
    p = np.array([0.01, 0.3, 0.8])
    # torch's convention (failures before the first success): scipy.stats.geom(p, loc=-1)
    _bulk_check(
        geometric, geometric.pack(p, None, np.float64), [st.geom(pi, loc=-1) for pi in p], np.arange(0.0, 300.0, 1.0)
    )


# ---------------------------------------------------------------------------
# the hooks against mpmath in the far tails
# ---------------------------------------------------------------------------


def test_gamma_far_tails():
    # Gamma(0.5) at x = 1e3 (Q = 1e-436), tiny x, large a, a rate
    cases = (
        [(0.5, 1.0, x) for x in (1e-300, 1e-20, 1e3, 3e4)]
        + [(2.0, 7.0, x) for x in (1e-200, 1e2, 1e3)]
        + [(1e5, 1.0, x) for x in (5e4, 9e4, 1.1e5, 2e5)]
        + [(300.0, 0.5, x) for x in (10.0, 6e3)]
    )
    a, r, x = (np.array(c) for c in zip(*cases))
    lc, ls = hooks(gamma, gamma.pack(a, r, np.float64), x)
    lc, ls = np.diagonal(lc), np.diagonal(ls)
    want = np.array([ref_log_gamma(ai, ri * xi) for ai, ri, xi in zip(a, r, x)])
    assert (want < -745.0).sum() >= 6
    assert_rel(lc, want[:, 0], what="gamma log_cdf")
    assert_rel(ls, want[:, 1], what="gamma log_sf")
    # and the value SciPy underflows on (its logsf is -inf)
    assert ls[2] == pytest.approx(-1004.0267419589519, rel=1e-14)


def test_beta_far_tails():
    x = np.array([1e-300, 1e-200, 1e-150, 1e-40, 1e-5, 0.5, 1 - 1e-5, 1 - 1e-12, 1 - 2.0**-52, 1 - 2.0**-53])
    lc, ls = hooks(beta, beta.pack(2.0, 3.0, np.float64), x)
    want = np.array([ref_log_beta(2.0, 3.0, xi) for xi in x])
    assert want[0, 0] < -1379 and want[-1, 1] < -108  # cdf 6e-600 at 1e-300; sf 5e-48 at 1 - 2**-53
    assert_rel(lc[0], want[:, 0], what="beta log_cdf")
    assert_rel(ls[0], want[:, 1], what="beta log_sf")
    # a skewed pair, both tails
    x = np.array([1e-250, 1e-8, 0.3, 0.9, 1 - 1e-9])
    lc, ls = hooks(beta, beta.pack(0.3, 40.0, np.float64), x)
    want = np.array([ref_log_beta(0.3, 40.0, xi) for xi in x])
    assert_rel(lc[0], want[:, 0], what="beta(0.3, 40) log_cdf")
    assert_rel(ls[0], want[:, 1], what="beta(0.3, 40) log_sf")


def test_poisson_far_tails():
    k = np.array([0.0, 1.0, 5.0, 30.0, 200.0, 1000.0])
    lc, ls = hooks(poisson, poisson.pack(5.0, np.float64), k)
    want = np.array([ref_poisson(5.0, ki) for ki in k])
    assert want[4, 1] < -540.0 and want[5, 1] < -4000.0  # P(X > 200) = 1e-239, P(X > 1000) ~ 1e-2000
    assert_rel(lc[0], want[:, 0], what="poisson log_cdf")
    assert_rel(ls[0], want[:, 1], what="poisson log_sf")
    # a large rate, the lower tail far below the float64 range (Temme's band and beyond)
    k = np.array([0.0, 10.0, 5e3, 9e3, 1e4, 1.1e4, 2e4])
    lc, ls = hooks(poisson, poisson.pack(1e4, np.float64), k)
    want = np.array([ref_poisson(1e4, ki) for ki in k])
    assert want[0, 0] == pytest.approx(-1e4)
    assert_rel(lc[0], want[:, 0], what="poisson(1e4) log_cdf")
    assert_rel(ls[0], want[:, 1], what="poisson(1e4) log_sf")


def test_binomial_far_tails():
    n = 1e6
    for p, k in (
        (0.5, (0.0, 10.0, 4.9e5, 5e5, 5.01e5, 999990.0, 999999.0)),
        (1e-3, (0.0, 900.0, 1000.0, 1100.0, 5000.0)),
        (0.999, (990000.0, 998900.0, 999500.0, 999999.0)),
    ):
        k = np.array(k)
        lc, ls = hooks(binomial, binomial.pack(n, p, None, np.float64), k)
        want = np.array([ref_binomial(n, p, ki) for ki in k])
        assert_rel(lc[0], want[:, 0], what=f"binomial(1e6, {p}) log_cdf")
        assert_rel(ls[0], want[:, 1], what=f"binomial(1e6, {p}) log_sf")
    assert want[0, 0] < -700.0
    # the lower tail at p = 1/2: log P(X <= 10) = -693024.13 (the cdf is 1e-300976)
    lc, _ = hooks(binomial, binomial.pack(n, 0.5, None, np.float64), [10.0])
    assert lc[0, 0] == pytest.approx(ref_binomial(n, 0.5, 10)[0], rel=1e-14)


def test_negative_binomial_far_tails():
    for n, p, k in (
        (5.0, 0.5, (0.0, 3.0, 100.0, 1000.0, 3000.0)),
        (0.3, 1e-4, (0.0, 1.0, 50.0, 300.0)),
        (40.0, 0.95, (0.0, 5.0, 200.0, 760.0, 3000.0, 2e4)),
    ):
        k = np.array(k)
        lc, ls = hooks(negative_binomial, negative_binomial.pack(n, p, None, np.float64), k)
        want = np.array([ref_nbinom(n, p, ki) for ki in k])
        assert_rel(lc[0], want[:, 0], what=f"nbinom({n}, {p}) log_cdf")
        assert_rel(ls[0], want[:, 1], what=f"nbinom({n}, {p}) log_sf")
    assert want[-1, 1] < -700.0 and want[0, 0] < -110.0


def test_geometric_tiny_p_and_tails():
    for p in (1e-300, 1e-20, 1e-9, 0.5, 1 - 1e-12):
        k = np.array([0.0, 1.0, 7.0, 1e3, 1e8, 1e15, 1e300])
        lc, ls = hooks(geometric, geometric.pack(p, None, np.float64), k)
        want = np.array([ref_geometric(p, ki) for ki in k])
        assert_rel(lc[0], want[:, 0], what=f"geometric({p}) log_cdf")
        assert_rel(ls[0], want[:, 1], what=f"geometric({p}) log_sf")
    # from logits: p = 1 - 1e-30 (log(1 - p) = -69.08 exactly from the logit)
    lc, ls = hooks(geometric, geometric.pack(None, 30 * math.log(10), np.float64), [0.0, 2.0])
    assert ls[0] == pytest.approx([-30 * math.log(10), -90 * math.log(10)], rel=1e-13)
    assert lc[0] == pytest.approx([-1e-30, -1e-90], rel=1e-13)


def test_bernoulli_and_categorical():
    lc, ls = hooks(
        bernoulli, bernoulli.pack(np.array([1e-30, 0.3, 1.0, 0.0]), None, np.float64), [-1.0, 0.0, 0.5, 1.0, 7.0]
    )
    with mpmath.workdps(DPS):
        lq = [float(mpmath.log1p(-mpf(p))) for p in (1e-30, 0.3, 1.0, 0.0)]
    lpv = [math.log(1e-30), math.log(0.3), 0.0, -INF]
    np.testing.assert_array_equal(lc[:, 0], -INF)
    np.testing.assert_array_equal(ls[:, 0], 0.0)
    np.testing.assert_array_equal(lc[:, 3:], 0.0)
    np.testing.assert_array_equal(ls[:, 3:], -INF)
    for j in (1, 2):  # P(X <= x) = 1 - p and P(X > x) = p on [0, 1)
        assert_rel(lc[:, j], lq, what="bernoulli log_cdf")
        assert_rel(ls[:, j], lpv, what="bernoulli log_sf")
    # categorical: a tail category far below the spacing of the cumulative sums
    probs = [
        np.array([0.5, 0.5 - 3e-300, 1e-300, 2e-300]),
        np.array([0.25, 0.25, 0.25, 0.25]),
        np.array([1e-200, 1e-250, 1.0 - 1e-200, 0.0]),
    ]
    rows = np.stack(
        [categorical.pack(np.log(np.where(p > 0, p, 1.0)) + np.where(p > 0, 0.0, -INF), np.float64) for p in probs]
    )
    v = [-0.5, 0.0, 0.7, 1.0, 2.0, 2.5, 3.0, 9.0]
    lc, ls = hooks(categorical, rows, v)
    for bi, p in enumerate(probs):
        with mpmath.workdps(DPS):
            pm = [mpf(x) for x in p]
            tot = sum(pm)
            want_c, want_s = [], []
            for x in v:
                j = max(math.floor(x) + 1, 0)
                c, s = sum(pm[:j]) / tot, sum(pm[j:]) / tot
                want_c.append(float(mpmath.log(c)) if c > 0 else -INF)
                want_s.append(float(mpmath.log(s)) if s > 0 else -INF)
        assert_rel(lc[bi], want_c, rtol=1e-15, what=f"categorical {bi} log_cdf")
        assert_rel(ls[bi], want_s, rtol=1e-15, what=f"categorical {bi} log_sf")
    assert ls[0, 4] == pytest.approx(math.log(2e-300), rel=1e-15)  # log P(X > 2): no 1 - cdf


# ---------------------------------------------------------------------------
# support ends, NaN, non-integers, float32 rows, an offset into an Independent row
# ---------------------------------------------------------------------------

ROWS = {
    gamma: (
        lambda dt: gamma.pack(np.array([0.4, 3.0]), np.array([2.0, 0.5]), dt),
        [-1.0, 0.0],
        [INF],
        [0.3, 2.0, 40.0],
    ),
    beta: (
        lambda dt: beta.pack(np.array([0.4, 3.0]), np.array([2.0, 0.5]), dt),
        [-1.0, 0.0, -INF],
        [1.0, 1.5, INF],
        [1e-9, 0.3, 0.999],
    ),
    poisson: (lambda dt: poisson.pack(np.array([0.0, 3.5]), dt), [-1.0, -0.5, -INF], [INF], [0.0, 2.0, 2.7, 30.0]),
    binomial: (
        lambda dt: binomial.pack(np.array([20.0, 7.0]), np.array([0.3, 0.999]), None, dt),
        [-1.0, -0.25],
        [20.0, 20.5, 1e9, INF],
        [0.0, 3.0, 3.5, 6.0],
    ),
    negative_binomial: (
        lambda dt: negative_binomial.pack(np.array([2.5, 40.0]), np.array([0.3, 0.9]), None, dt),
        [-1.0, -1e-9],
        [INF],
        [0.0, 4.0, 4.9, 500.0],
    ),
    geometric: (lambda dt: geometric.pack(np.array([0.3, 1e-6]), None, dt), [-1.0, -0.5], [INF], [0.0, 3.0, 3.9, 1e7]),
    bernoulli: (
        lambda dt: bernoulli.pack(np.array([0.3, 1e-20]), None, dt),
        [-1.0, -1e-300],
        [1.0, 1.5, INF],
        [0.0, 0.5],
    ),
    categorical: (
        lambda dt: categorical.pack(np.log(np.array([[0.2, 0.3, 0.5], [0.7, 0.2, 0.1]])), dt),
        [-1.0, -0.1],
        [2.0, 2.5, INF],
        [0.0, 0.5, 1.0],
    ),
}
MODS = list(ROWS)
IDS = [m.__name__.rsplit(".", 1)[-1] for m in MODS]


@pytest.mark.parametrize("mod", MODS, ids=IDS)
def test_support_ends_and_nan(mod):
    make, below, above, inside = ROWS[mod]
    rows = make(np.float64)
    lc, ls = hooks(mod, rows, below + above + [NAN] + inside)
    nb, na = len(below), len(above)
    assert np.all(lc[:, :nb] == -INF) and np.all(ls[:, :nb] == 0.0), (lc, ls)
    assert np.all(lc[:, nb : nb + na] == 0.0) and np.all(ls[:, nb : nb + na] == -INF), (lc, ls)
    assert np.all(np.isnan(lc[:, nb + na])) and np.all(np.isnan(ls[:, nb + na]))
    ins_c, ins_s = lc[:, nb + na + 1 :], ls[:, nb + na + 1 :]
    assert np.all(ins_c <= 0) and np.all(ins_s <= 0) and np.isfinite(ins_c).any()
    # the two are complements: exp(log F) + exp(log(1 - F)) = 1 (at least one is finite)
    np.testing.assert_allclose(np.exp(ins_c) + np.exp(ins_s), 1.0, rtol=1e-14)
    # discrete families: a non-integer value is its floor
    if mod not in (gamma, beta):
        v = np.array(inside)
        lf, sf = hooks(mod, rows, np.floor(v))
        np.testing.assert_array_equal(lf, ins_c)
        np.testing.assert_array_equal(sf, ins_s)


@pytest.mark.parametrize("mod", MODS, ids=IDS)
def test_float32_rows_and_offset(mod):
    make, below, above, inside = ROWS[mod]
    rows32 = make(np.float32)
    assert rows32.dtype == np.float32
    values = below + above + inside
    c32, s32 = hooks(mod, rows32, values)
    # the hooks read a float32 row as float64: the same bits as the widened row
    c64, s64 = hooks(mod, rows32.astype(np.float64), values)
    np.testing.assert_array_equal(c32, c64)
    np.testing.assert_array_equal(s32, s64)
    # and close to the float64 row (the parameters differ by their float32 rounding)
    cr, sr = hooks(mod, make(np.float64), values)
    np.testing.assert_allclose(c32, cr, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(s32, sr, rtol=2e-5, atol=1e-6)
    # coordinate j of an Independent row is at offset j * P: (first | second) read at o = P
    rows = make(np.float64)
    both = np.concatenate([rows[::-1], rows], axis=-1)
    co, so = hooks(mod, both, values, o=rows.shape[-1])
    np.testing.assert_array_equal(co, cr)
    np.testing.assert_array_equal(so, sr)


def test_agrees_with_cdf1():
    """exp(logcdf1) is cdf1 (to the accuracy of both) where the cdf is representable."""
    for mod in MODS:
        make, below, above, inside = ROWS[mod]
        rows = make(np.float64)
        rows = rows.reshape(-1, 1, rows.shape[-1])
        lc, _ = hooks(mod, rows, inside)
        # cdf1 as plain Python (the same function the kernels compile)
        want = np.array([[mod.cdf1(v, rows, b, 0, 0) for v in inside] for b in range(rows.shape[0])])
        assert np.all(want > 0)
        np.testing.assert_allclose(np.exp(lc), want, rtol=1e-13, atol=0, err_msg=mod.__name__)


# ---------------------------------------------------------------------------
# the CUDA simulator: the hooks as device functions give the njit bits
# ---------------------------------------------------------------------------

_SIM_CODE = r"""
import json, sys
import numpy as np
from numba import cuda, config
assert config.ENABLE_CUDASIM, "not in the CUDA simulator"
from mixstat.kernels.families import (bernoulli, beta, binomial, categorical, gamma, geometric,
                                      negative_binomial, poisson)
MODS = dict(gamma=gamma, beta=beta, poisson=poisson, binomial=binomial,
            negative_binomial=negative_binomial, geometric=geometric, bernoulli=bernoulli,
            categorical=categorical)


def make(mod):
    lc, ls = mod.logcdf1, mod.logsf1

    @cuda.jit
    def kernel(tab, v, out):
        i = cuda.grid(1)
        if i < v.size:
            for b in range(tab.shape[0]):
                out[b, i, 0] = lc(v[i], tab, b, 0, 0)
                out[b, i, 1] = ls(v[i], tab, b, 0, 0)
    return kernel


res = {}
for name, (rows, vals) in json.loads(sys.stdin.read()).items():
    tab = np.array([[float.fromhex(x) for x in r] for r in rows]).reshape(len(rows), 1, -1)
    v = np.array([float.fromhex(x) for x in vals])
    out = cuda.to_device(np.zeros((tab.shape[0], v.size, 2)))
    make(MODS[name])[1, 32](cuda.to_device(tab), cuda.to_device(v), out)
    res[name] = [float(x).hex() for x in out.copy_to_host().ravel()]
print(json.dumps(res))
"""

# rows and values that reach every branch: Temme (rate 1e5), series/fraction switches,
# both sides of the beta fraction, far tails beyond the float64 range
SIM_CASES = {
    gamma: (
        gamma.pack(np.array([0.5, 3.0, 1e5]), np.array([1.0, 2.0, 1.0]), np.float64),
        [NAN, -1.0, 0.0, 0.3, 0.6, 1.05, 10.0, 1e3, 9.9e4, 1.2e5, 2e5],
    ),
    beta: (
        beta.pack(np.array([2.0, 0.05, 400.0]), np.array([3.0, 0.7, 300.0]), np.float64),
        [NAN, 0.0, 1e-300, 0.01, 0.5, 0.57, 0.99, 1 - 2.0**-52, 1.0],
    ),
    poisson: (poisson.pack(np.array([5.0, 1e5]), np.float64), [NAN, -1.0, 0.0, 3.0, 200.0, 9e4, 1e5, 3e5]),
    binomial: (
        binomial.pack(np.array([1e6, 30.0]), np.array([0.5, 0.01]), None, np.float64),
        [NAN, -1.0, 0.0, 10.0, 4.99e5, 999999.0, 1e6],
    ),
    negative_binomial: (
        negative_binomial.pack(np.array([5.0, 0.3]), np.array([0.5, 1e-4]), None, np.float64),
        [NAN, -1.0, 0.0, 4.0, 300.0, 3000.0],
    ),
    geometric: (geometric.pack(np.array([1e-20, 0.5]), None, np.float64), [NAN, -1.0, 0.0, 1.0, 1e5, 1e300]),
    bernoulli: (bernoulli.pack(np.array([1e-30, 0.5]), None, np.float64), [NAN, -1.0, 0.0, 1.0]),
    categorical: (
        categorical.pack(np.log(np.array([[0.5, 0.5 - 3e-300, 3e-300]])), np.float64),
        [NAN, -1.0, 0.0, 1.0, 2.0],
    ),
}


def test_same_bits_njit_and_cuda_simulator():
    want, payload = {}, {}
    for mod, (rows, vals) in SIM_CASES.items():
        name = mod.__name__.rsplit(".", 1)[-1]
        lc, ls = hooks(mod, rows, vals)
        want[name] = np.stack([lc, ls], axis=-1).ravel()
        payload[name] = ([[float(x).hex() for x in r] for r in rows], [float(v).hex() for v in vals])
        # plain Python (what the simulator runs per thread) first: no exception, same bits
        t = rows.reshape(rows.shape[0], 1, -1)
        py = np.array(
            [[(mod.logcdf1(v, t, b, 0, 0), mod.logsf1(v, t, b, 0, 0)) for v in vals] for b in range(t.shape[0])]
        ).ravel()
        np.testing.assert_array_equal(py, want[name], err_msg=name)
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    r = subprocess.run(
        [sys.executable, "-c", _SIM_CODE],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    sim = json.loads(r.stdout.splitlines()[-1])
    for name, w in want.items():
        got = np.array([float.fromhex(x) for x in sim[name]])
        np.testing.assert_array_equal(got, w, err_msg=name)
    assert np.isfinite(want["poisson"]).sum() > 10 and np.nanmin(want["gamma"]) < -700
