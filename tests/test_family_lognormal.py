"""LogNormal, HalfNormal and Laplace: accuracy against SciPy and mpmath, samplers, errors.

Accuracy claims checked here (float64, through the public API, so both the
SIMD loop functions and the exact ones that redo small totals are covered):

* bulk: ``log_prob`` and ``cdf`` within 1e-12 relative of SciPy
  (``max(1, |log p|)`` for log densities) over ``|z| <= 8`` (LogNormal:
  ``z = (log x - loc)/scale``; HalfNormal: ``x/scale`` in [0, 8]; Laplace:
  ``z = (x - loc)/scale``);
* LogNormal: ``log_prob`` within 1e-13 relative of ``max(1, |log p|)``
  against mpmath (50 digits) for ``x`` from 1e-300 to 1e300; the cdf within
  1e-12 relative in the lower tail down to 1e-300 (``z`` to about -37.5).  The
  rounding of ``log x`` alone costs ``|z| |log x| eps / scale`` there (the
  condition of the erfc tail), a few hundred ulp; measured: under 1300 ulp;
* HalfNormal: ``log_prob`` within 4 ulp of ``max(1, |log p|)`` for ``x/scale``
  up to 1e150; the cdf ``erf(x / (scale sqrt 2))`` within 4 ulp relative for
  ``x/scale`` from 1e-300 to 40 (it is evaluated as erf, not ``1 - erfc``, so
  it keeps its relative accuracy at 0);
* Laplace: ``log_prob`` within 4 ulp of ``max(1, |log p|)`` for ``|z|`` up
  to 1e300; the cdf within ``(|z| + 8) ulp`` relative in the lower tail
  (``0.5 exp(z)``, to ``z = -740`` where it is 1e-322) and within 4 ulp in the
  upper tail (``1/2 - expm1(-z)/2``).

Samplers: Kolmogorov-Smirnov tests through ``Class(...).sample((n,), rng=seed)``.
None of the three samplers has an algorithm switch in its parameters
(LogNormal: ``exp`` of Box-Muller, with an overflow-safe branch above
``exp(709)``; HalfNormal: ``|z|`` of Box-Muller; Laplace: inversion with a
branch at ``U = 1/2``), so the cases are a standard one, extreme scales (tiny
and large), and, for Laplace, the two branches of the inversion separately
(each half tested conditionally).  Each KS test is at level
``ALPHA = 0.001 / N_KS`` (Bonferroni over the ``N_KS`` p-values of this file),
so the probability that correct samplers fail any of them is at most 0.001.
(The seeds are fixed: the outcome is deterministic; the rate is that of a
fresh stream.)
"""

from __future__ import annotations

import os
import sys

import mpmath as mp
import numpy as np
import pytest
from scipy import special, stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mixstat.distributions import Categorical, HalfNormal, Laplace, LogNormal, MixtureSameFamily

mp.mp.dps = 50
EPS = 2.0**-52

KS_CASES = [
    ("lognormal", dict(loc=0.0, scale=1.0)),
    ("lognormal", dict(loc=3.0, scale=1e-3)),
    ("lognormal", dict(loc=-2.0, scale=4.0)),
    ("halfnormal", dict(scale=1.0)),
    ("halfnormal", dict(scale=1e-200)),
    ("laplace", dict(loc=0.0, scale=1.0)),
    ("laplace", dict(loc=5.0, scale=1e-3)),
    ("laplace-lower", dict(loc=-1.0, scale=2.0)),
    ("laplace-upper", dict(loc=-1.0, scale=2.0)),
]
N_KS = len(KS_CASES)
ALPHA = 0.001 / N_KS
N_DRAWS = 100_000

CLS = {"lognormal": LogNormal, "halfnormal": HalfNormal, "laplace": Laplace}
SCIPY = {
    "lognormal": lambda p: stats.lognorm(s=p["scale"], scale=np.exp(p["loc"])),
    "halfnormal": lambda p: stats.halfnorm(scale=p["scale"]),
    "laplace": lambda p: stats.laplace(loc=p["loc"], scale=p["scale"]),
}
PSETS = {
    "lognormal": [dict(loc=lo, scale=sc) for lo, sc in [(0.0, 1.0), (1.3, 0.4), (-2.0, 3.0), (5.0, 0.7)]],
    "halfnormal": [dict(scale=sc) for sc in (1.0, 0.37, 2.5, 1e3)],
    "laplace": [dict(loc=lo, scale=sc) for lo, sc in [(0.0, 1.0), (1.3, 0.4), (-2.0, 3.0), (50.0, 0.7)]],
}


def _rel(got, want, floor=0.0):
    got = np.asarray(got, np.float64)
    want = np.asarray(want, np.float64)
    return np.abs(got - want) / np.maximum(floor, np.abs(want))


def _batched(fam):
    ps = PSETS[fam]
    arrs = {k: np.array([p[k] for p in ps]) for k in ps[0]}
    return CLS[fam](**arrs), arrs


def _points(fam, arrs, z):
    """Points ``(len(z), batch)`` at standardised positions ``z``."""
    z = np.asarray(z, np.float64)[:, None]
    if fam == "lognormal":
        return np.exp(arrs["loc"] + arrs["scale"] * z)
    if fam == "halfnormal":
        return arrs["scale"] * np.abs(z)
    return arrs["loc"] + arrs["scale"] * z


# ------------------------------------------------------------------ bulk against SciPy
@pytest.mark.parametrize("fam", sorted(PSETS))
def test_bulk_against_scipy(fam):
    d, arrs = _batched(fam)
    x = _points(fam, arrs, np.linspace(-8.0, 8.0, 401))
    ref = SCIPY[fam](arrs)
    lp = ref.logpdf(x)
    assert np.all(_rel(d.log_prob(x), lp, 1.0) < 1e-12)
    assert np.all(_rel(d.cdf(x), ref.cdf(x), 1e-300) < 1e-12)


# ------------------------------------------------------------------ tails against mpmath
def _mp_lognormal(x, loc, scale):
    X = mp.mpf(float(x))
    z = (mp.log(X) - loc) / (mp.mpf(scale) * mp.sqrt(2))
    lp = -z * z - mp.log(X) - mp.log(mp.mpf(scale)) - mp.log(2 * mp.pi) / 2
    if abs(z) > 1e6:  # far beyond under/overflow (mpmath's erfc cannot take these)
        return -np.inf, (0.0 if z < 0 else 1.0)
    return (float(lp) if lp > -1e308 else -np.inf), float(mp.erfc(-z) / 2)


def test_lognormal_tails_against_mpmath():
    for loc, sc in [(0.0, 1.0), (1.3, 0.4), (-2.0, 3.0), (50.0, 0.7)]:
        d = LogNormal(loc, sc)
        # log_prob over the whole positive range
        xs = np.logspace(-300, 300, 121)
        lp = d.log_prob(xs)
        want = np.array([_mp_lognormal(x, loc, sc)[0] for x in xs])
        assert np.all(_rel(lp, want, 1.0) < 1e-13), (loc, sc)
        # cdf lower tail, down to 1e-300
        z = np.linspace(-37.5, 3.0, 161)
        xs = np.exp(loc + sc * np.sqrt(2.0) * z)
        want = np.array([_mp_lognormal(x, loc, sc)[1] for x in xs])
        keep = want > 1e-300
        assert keep.sum() > 100
        got = d.cdf(xs)
        assert np.all(_rel(got[keep], want[keep]) < 1e-12), (loc, sc, np.max(_rel(got[keep], want[keep])) / EPS)


def test_lognormal_subnormal_points_and_huge_scales():
    # subnormal x in the SIMD cdf (scaled before the polynomial log) and a
    # scale whose mode bound overflows (the running-maximum path)
    d = LogNormal(np.array([-700.0, 0.0, 3.0]), np.array([50.0, 1e200, 1e-300]))
    x = np.array([[1e-310], [5e-324], [1e-300], [1.0], [20.0], [1e300]])
    lp = d.log_prob(x)
    c = d.cdf(x)
    for i in range(x.shape[0]):
        for j, (loc, sc) in enumerate(zip(d.loc, d.scale)):
            wl, wc = _mp_lognormal(x[i, 0], loc, sc)
            if wl == -np.inf:
                assert lp[i, j] == -np.inf
            else:
                assert abs(lp[i, j] - wl) <= 1e-13 * max(1.0, abs(wl)), (i, j, lp[i, j], wl)
            assert abs(c[i, j] - wc) <= 1e-12 * wc + 1e-300, (i, j, c[i, j], wc)


def test_halfnormal_tails_against_mpmath():
    for sc in (1.0, 0.37, 1e3, 1e-200):
        d = HalfNormal(sc)
        t = np.concatenate([np.logspace(-300, 1.6, 200), np.logspace(2, 150, 20)])
        xs = sc * t
        xs = xs[(xs > 0) & np.isfinite(xs)]
        lp = d.log_prob(xs)
        c = d.cdf(xs)
        for x, li, ci in zip(xs, lp, c):
            z = mp.mpf(float(x)) / (mp.mpf(sc) * mp.sqrt(2))
            wl = float(mp.log(2) - z * z - mp.log(mp.mpf(sc)) - mp.log(2 * mp.pi) / 2)
            assert abs(li - wl) <= 4 * EPS * max(1.0, abs(wl)), (sc, x, li, wl)
            wc = float(mp.erf(z))
            assert abs(ci - wc) <= 4 * EPS * wc, (sc, x, ci, wc)


def test_laplace_tails_against_mpmath():
    for loc, sc in [(0.0, 1.0), (1.3, 0.4), (-2.0, 3.0), (50.0, 0.7)]:
        d = Laplace(loc, sc)
        xs = loc + sc * np.concatenate([np.linspace(-740.0, 740.0, 301), [-1e300 / sc, 1e300 / sc]])
        xs = xs[np.isfinite(xs)]
        lp = d.log_prob(xs)
        c = d.cdf(xs)
        for x, li, ci in zip(xs, lp, c):
            z = (mp.mpf(float(x)) - loc) / sc
            wl = float(-abs(z) - mp.log(2 * mp.mpf(sc)))
            assert abs(li - wl) <= 4 * EPS * max(1.0, abs(wl)), (loc, sc, x, li, wl)
            if z < 0:
                wc = float(mp.exp(z) / 2)
                assert abs(ci - wc) <= (abs(float(z)) + 8) * EPS * wc + 1e-322, (loc, sc, x, ci, wc)
            else:
                wc = float(1 - mp.exp(-z) / 2)
                assert abs(ci - wc) <= 4 * EPS * wc, (loc, sc, x, ci, wc)


def test_subnormal_scales():
    # the reciprocal of the scale overflows: the exact functions divide instead
    sc = 1e-310
    for d, x, wl, wc in [
        (Laplace(0.0, sc), 2 * sc, -2.0 - np.log(2 * sc), 1 - 0.5 * np.exp(-2.0)),
        (Laplace(0.0, sc), -sc, -1.0 - np.log(2 * sc), 0.5 * np.exp(-1.0)),
        (
            HalfNormal(sc),
            sc,
            float(mp.log(2) - mp.mpf(0.5) - mp.log(mp.mpf(sc)) - mp.log(2 * mp.pi) / 2),
            float(mp.erf(1 / mp.sqrt(2))),
        ),
        (LogNormal(0.0, sc), 1.0, float(-mp.log(mp.mpf(sc)) - mp.log(2 * mp.pi) / 2), 0.5),
    ]:
        assert abs(float(d.log_prob(x)) - wl) <= 1e-14 * abs(wl)
        assert abs(float(d.cdf(x)) - wc) <= 1e-14 * wc


# ------------------------------------------------------------------ samplers
def _ks_cdf(name, p):
    if name.startswith("laplace-"):
        return None
    return SCIPY[name](p).cdf


@pytest.mark.parametrize("case", range(N_KS), ids=[f"{n}-{i}" for i, (n, _) in enumerate(KS_CASES)])
def test_sampler_ks(case):
    name, p = KS_CASES[case]
    fam = name.split("-")[0]
    x = CLS[fam](**p).sample((N_DRAWS,), rng=1000 + case)
    assert x.shape == (N_DRAWS,) and x.dtype == np.float64
    if fam == "lognormal":
        # on the log scale (no loss for tiny scales): Normal(loc, scale)
        res = stats.kstest(np.log(x), stats.norm(p["loc"], p["scale"]).cdf)
    elif fam == "halfnormal":
        res = stats.kstest(x / p["scale"], stats.halfnorm().cdf)
    elif name == "laplace-lower":
        z = (x - p["loc"]) / p["scale"]
        res = stats.kstest(-z[z < 0], stats.expon().cdf)  # given z < 0, -z ~ Exp(1)
    elif name == "laplace-upper":
        z = (x - p["loc"]) / p["scale"]
        res = stats.kstest(z[z >= 0], stats.expon().cdf)
    else:
        res = stats.kstest((x - p["loc"]) / p["scale"], stats.laplace().cdf)
    assert res.pvalue > ALPHA, (name, p, res)


def test_laplace_halves_balanced():
    # the inversion's branch at U = 1/2: each half has probability 1/2
    # (a binomial test, not counted in N_KS: its level is 1e-9)
    x = Laplace(0.0, 1.0).sample((N_DRAWS,), rng=7)
    k = int((x < 0).sum())
    assert stats.binomtest(k, N_DRAWS, 0.5).pvalue > 1e-9


def test_lognormal_draws_overflow_to_inf():
    # loc + scale z above log(DBL_MAX) = 709.78: inf, computed without an
    # overflowing math.exp (which raises in the CUDA simulator)
    x = LogNormal(709.78, 0.01).sample((1000,), rng=3)
    assert 0.2 < np.mean(np.isinf(x)) < 0.8
    fin = x[np.isfinite(x)]
    assert np.all(fin > 1e307)


# ------------------------------------------------------------------ errors and support
BAD = [
    (lambda v: LogNormal(0.0, v), "scale", [0.0, -1.0, np.inf, np.nan]),
    (lambda v: LogNormal(v, 1.0), "loc", [np.inf, -np.inf, np.nan]),
    (lambda v: HalfNormal(v), "scale", [0.0, -1.0, np.inf, np.nan]),
    (lambda v: Laplace(0.0, v), "scale", [0.0, -1.0, np.inf, np.nan]),
    (lambda v: Laplace(v, 1.0), "loc", [np.inf, -np.inf, np.nan]),
]


@pytest.mark.parametrize("i", range(len(BAD)), ids=[f"{b[1]}-{i}" for i, b in enumerate(BAD)])
def test_bad_parameters_raise(i):
    make, name, values = BAD[i]
    for v in values:
        with pytest.raises(ValueError, match=name):
            make(v)
        with pytest.raises(ValueError, match=name):
            make(np.array([1.0, v, 2.0]))


def test_validate_args_checks_support():
    for d, bad in [
        (LogNormal(0.0, 1.0, validate_args=True), [0.0, -1.0, np.nan]),
        (HalfNormal(1.0, validate_args=True), [-1e-300, -1.0, np.nan]),
        (Laplace(0.0, 1.0, validate_args=True), [np.nan]),
    ]:
        for v in bad:
            with pytest.raises(ValueError, match="outside the support"):
                d.log_prob(np.array([1.0, v]))
    assert np.isfinite(HalfNormal(1.0, validate_args=True).log_prob(0.0))


def test_out_of_support_values():
    ln = LogNormal(np.array([0.0, 1.0]), 0.5)
    hn = HalfNormal(np.array([1.0, 2.0]))
    la = Laplace(np.array([0.0, 1.0]), 0.5)
    for d, lo in [(ln, [[-np.inf], [-1.0], [0.0], [-0.0]]), (hn, [[-np.inf], [-1.0], [-1e-300]])]:
        lo = np.array(lo)
        assert np.all(d.log_prob(lo) == -np.inf)
        assert np.all(d.cdf(lo) == 0.0)
    for d in (ln, hn, la):
        assert np.all(d.log_prob(np.inf) == -np.inf)
        assert np.all(d.cdf(np.inf) == 1.0)
        assert np.all(np.isnan(d.log_prob(np.nan))) and np.all(np.isnan(d.cdf(np.nan)))
    assert np.all(la.log_prob(-np.inf) == -np.inf) and np.all(la.cdf(-np.inf) == 0.0)
    # HalfNormal: 0 is in the support (the mode)
    np.testing.assert_allclose(hn.log_prob(0.0), stats.halfnorm(scale=hn.scale).logpdf(0.0), rtol=1e-14)


# ------------------------------------------------------------------ mixtures, moments, dtypes
@pytest.mark.parametrize("fam", sorted(CLS))
def test_mixture_k16_with_zero_weight(fam):
    rng = np.random.default_rng(5)
    K = 16
    w = rng.uniform(0.1, 1.0, K)
    w[3] = 0.0
    p = {"scale": rng.uniform(0.3, 2.0, K)}
    if fam != "halfnormal":
        p["loc"] = rng.uniform(-2.0, 2.0, K)
    m = MixtureSameFamily(Categorical(probs=w), CLS[fam](**p))
    x = np.concatenate([rng.uniform(-1.0, 12.0, 3000), [0.0, 1e-300, 1e-5, 50.0, 1e3, -50.0]])
    ref = SCIPY[fam]({k: v[:, None] for k, v in p.items()})
    wn = w / w.sum()
    with np.errstate(divide="ignore"):
        lp = special.logsumexp(np.log(wn)[:, None] + ref.logpdf(x[None, :]), axis=0)
    cdf = (wn[:, None] * ref.cdf(x[None, :])).sum(0)
    got = m.log_prob(x)
    fin = np.isfinite(lp)
    assert np.array_equal(np.isfinite(got), fin)
    assert np.all(_rel(got[fin], lp[fin], 1.0) < 1e-12)
    assert np.all(_rel(m.cdf(x), cdf, 1e-300) < 1e-12)
    s, idx = m.sample((20000,), rng=2, return_index=True)
    assert s.shape == (20000,) and not np.any(idx == 3)


@pytest.mark.parametrize("fam", sorted(CLS))
def test_float32_in_float32_out(fam):
    p = {"scale": np.array([0.5, 1.5], np.float32)}
    if fam != "halfnormal":
        p["loc"] = np.array([0.2, -0.3], np.float32)
    d = CLS[fam](**p)
    assert d.dtype == np.float32
    x = np.array([[0.1], [0.7], [2.5]], np.float32)
    ref = SCIPY[fam]({k: v.astype(np.float64) for k, v in p.items()})
    lp = d.log_prob(x)
    c = d.cdf(x)
    s = d.sample((5,), rng=0)
    for a in (lp, c, s, d.mean, d.variance, d.entropy()):
        assert a.dtype == np.float32
    np.testing.assert_allclose(lp, ref.logpdf(x.astype(np.float64)), rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(c, ref.cdf(x.astype(np.float64)), rtol=2e-6, atol=2e-6)
    m = MixtureSameFamily(Categorical(probs=np.array([0.3, 0.7], np.float32)), d)
    assert m.log_prob(x[:, 0]).dtype == np.float32 and m.cdf(x[:, 0]).dtype == np.float32
    assert m.sample((4,), rng=0).dtype == np.float32


@pytest.mark.parametrize("fam", sorted(CLS))
def test_moments_and_entropy(fam):
    d, arrs = _batched(fam)
    ref = SCIPY[fam](arrs)
    np.testing.assert_allclose(d.mean, ref.mean(), rtol=1e-13)
    np.testing.assert_allclose(d.variance, ref.var(), rtol=1e-12)
    np.testing.assert_allclose(d.stddev, ref.std(), rtol=1e-12)
    np.testing.assert_allclose(d.entropy(), ref.entropy(), rtol=1e-13, atol=1e-14)


def test_lognormal_moments_overflow_to_inf():
    d = LogNormal(np.array([0.0, 709.5]), np.array([20.0, 1.0]))
    assert np.isinf(d.variance).all()
    assert np.isinf(d.mean[1]) and np.isfinite(d.mean[0])


# ------------------------------------------------------------------ SIMD draws = scalar draws
def _make_both(m):
    from numba import njit

    @njit(cache=True)
    def both(tab, key0, key1, g0, n, kk, D):
        a = np.empty((n, D))
        b = np.empty((n, D))
        bb = np.zeros(n, np.int64)
        m.draw_tile(key0, key1, g0, n, tab, bb, kk, a, 0, np.empty(n), np.empty(n))
        for i in range(n):
            for j in range(D):
                b[i, j] = m.draw1(key0, key1, g0 + i, 4 * j, tab, 0, kk[i], j * m.P)
        return a, b

    return both


@pytest.mark.parametrize("fam", sorted(CLS))
def test_draw_tile_matches_the_scalar_draw(fam):
    from mixstat.kernels import registry

    m = registry.family(fam).module
    both = _make_both(m)
    for D in (1, 3):
        rng = np.random.default_rng(D)
        K = 5
        scale = rng.uniform(1e-3, 3.0, (K, D))
        args = (scale,) if fam == "halfnormal" else (rng.standard_normal((K, D)) * 10, scale)
        tab = m.pack(*args, np.float64).reshape(1, K, D * m.P)
        kk = rng.integers(0, K, 4000)
        a, b = both(tab, np.uint64(9), np.uint64(10), 77, kk.shape[0], kk, D)
        if fam == "lognormal":
            # exp(y) with y = loc + scale z: a few ulp of y, relative, in the result
            y = np.log(b)
            np.testing.assert_allclose(a, b, rtol=8 * EPS * (1 + np.abs(y)).max(), atol=0)
        else:
            ref = np.abs(b) + 40 * scale.max() + (np.abs(args[0]).max() if fam == "laplace" else 0)
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-14 * ref.max())
