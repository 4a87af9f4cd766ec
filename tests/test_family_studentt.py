"""StudentT, Cauchy and Gumbel: accuracy against SciPy and mpmath, samplers, errors.

Accuracy claims checked here (float64, through the public API):

* bulk (``|z| <= 30``, z = (x - loc)/scale): ``log_prob`` and ``cdf`` within
  1e-12 relative of SciPy (``max(1, |log p|)`` for log densities);
* StudentT, ``df`` in [0.05, 1e6]: ``log_prob`` within 2e-15 relative of
  ``max(1, |log p|)`` against mpmath (50 digits) for ``|z|`` up to 1e300
  (where ``z**2`` overflows), the SIMD ``log1p`` form included; the cdf within
  1e-13 relative in the lower tail (down to 1e-300; in the upper tail ``1 - F``
  to 1e-13 relative before the final rounding of ``F``) for ``df`` in [0.5, 100] and ``|z| / sqrt(df) <= 1e154``;
  beyond, where ``z**2/df`` overflows (F above 1e-300 only for df < 2), within
  ``(|log F| + 1) 2**-50``;
* Cauchy: ``log_prob`` within 1e-15 relative for ``|z|`` up to 1e300; the cdf
  within 1e-14 relative in the lower tail to ``z = -1e300``;
* Gumbel: ``log_prob`` within ``(|z| + 4) 2**-52`` relative for ``z`` in
  [-700, 700] (the rounding of ``z`` itself costs ``|z| 2**-53``); the cdf
  within ``(exp(-z) (|z| + 2) + 4) 2**-52`` relative for ``z`` in [-6.5, 40]
  (where it is above 1e-290), the condition number of ``exp(-exp(-z))``.

Samplers: Kolmogorov-Smirnov tests through ``Class(...).sample((n,), rng=seed)``
at the algorithm's switch points (StudentT: the gamma sampler's switch at
``df/2 = 1``, i.e. df = 1.999, 2, 2.001, small df = 0.05, 0.5, 1, 1.5, and large
df; Cauchy and Gumbel: one each, covering the inversion's branches).  Each
KS test is at level ``ALPHA = 0.001 / N_KS`` (Bonferroni over the ``N_KS``
p-values of this file), so the probability that correct samplers fail any of
them is at most 0.001.  (The seeds are fixed: the outcome is deterministic; the
rate is that of a fresh stream.)
"""

from __future__ import annotations

import os
import sys

import mpmath as mp
import numpy as np
import pytest
from scipy import special, stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mixstat.distributions import Categorical, Cauchy, Gumbel, MixtureSameFamily, StudentT

mp.mp.dps = 50
EPS = 2.0**-52

KS_DF = [0.05, 0.5, 1.0, 1.5, 1.999, 2.0, 2.001, 7.0, 1e4]
KS_CASES = [("studentt", df) for df in KS_DF] + [("cauchy", None), ("gumbel", None)]
N_KS = len(KS_CASES)
ALPHA = 0.001 / N_KS
N_DRAWS = 100_000


def _rel(got, want, floor=1.0):
    got = np.asarray(got, np.float64)
    want = np.asarray(want, np.float64)
    with np.errstate(invalid="ignore"):
        r = np.abs(got - want) / np.maximum(floor, np.abs(want))
    return np.where(got == want, 0.0, r)  # equal infinities: no error


# ------------------------------------------------------------------ bulk against SciPy
PSETS = {
    "studentt": [
        dict(df=df, loc=lo, scale=sc)
        for df, lo, sc in [
            (0.5, 0.3, 1.7),
            (1.0, -1.0, 0.5),
            (1.5, 2.0, 2.0),
            (3.0, 0.0, 1.0),
            (7.3, -0.4, 0.8),
            (25.0, 1.1, 1.3),
            (300.0, 0.0, 3.0),
        ]
    ],
    "cauchy": [dict(loc=lo, scale=sc) for lo, sc in [(0.3, 1.7), (-1.0, 0.5), (2.0, 2.0)]],
    "gumbel": [dict(loc=lo, scale=sc) for lo, sc in [(0.3, 1.7), (-1.0, 0.5), (2.0, 2.0)]],
}
CLS = {"studentt": StudentT, "cauchy": Cauchy, "gumbel": Gumbel}
SCIPY = {
    "studentt": lambda p: stats.t(p["df"], p["loc"], p["scale"]),
    "cauchy": lambda p: stats.cauchy(p["loc"], p["scale"]),
    "gumbel": lambda p: stats.gumbel_r(p["loc"], p["scale"]),
}


def _batched(fam):
    ps = PSETS[fam]
    arrs = {k: np.array([p[k] for p in ps]) for k in ps[0]}
    return CLS[fam](**arrs), arrs


@pytest.mark.parametrize("fam", sorted(PSETS))
def test_bulk_against_scipy(fam):
    d, arrs = _batched(fam)
    ref = SCIPY[fam](arrs)
    z = np.linspace(-30.0, 30.0, 2401)
    if fam == "gumbel":
        z = np.linspace(-6.0, 30.0, 2401)  # below, exp(-z) > 400: the cdf's condition number
    x = arrs["loc"] + arrs["scale"] * z[:, None]  # (N, B)
    lp = d.log_prob(x)
    want = ref.logpdf(x)
    assert lp.dtype == np.float64 and lp.shape == x.shape
    assert _rel(lp, want).max() < 1e-12
    c = d.cdf(x)
    wc = ref.cdf(x)
    assert _rel(c, wc, floor=1e-300).max() < 1e-12


# ------------------------------------------------------------------ mpmath tails
def _t_logpdf(df, loc, sc, x):
    df, loc, sc, x = (mp.mpf(float(v)) for v in (df, loc, sc, x))
    z = (x - loc) / sc
    return (
        mp.loggamma((df + 1) / 2)
        - mp.loggamma(df / 2)
        - mp.log(df * mp.pi) / 2
        - mp.log(sc)
        - (df + 1) / 2 * mp.log1p(z * z / df)
    )


def _t_cdf_tail(df, loc, sc, x):
    """``F`` for x < loc, ``1 - F`` for x > loc."""
    df, loc, sc, x = (mp.mpf(float(v)) for v in (df, loc, sc, x))
    z = (x - loc) / sc
    return mp.betainc(df / 2, mp.mpf(1) / 2, 0, df / (df + z * z), regularized=True) / 2


T_LP_DF = [0.05, 0.5, 1.0, 1.5, 3.0, 7.5, 30.0, 1e3, 1e6]
Z_TAIL = [0.0, 1e-9, 1e-4, 0.03, 0.5, 1.0, 2.5, 7.0, 30.0, 1e3, 1e6, 1e12, 1e100, 1e155, 1e160, 1e300]


@pytest.mark.parametrize("df", T_LP_DF)
def test_studentt_log_prob_against_mpmath(df):
    loc, sc = 0.25, 1.5
    zs = np.array(sorted({s * z for z in Z_TAIL for s in (1, -1)}))
    x = loc + sc * zs
    x = x[np.isfinite(x)]
    want = np.array([float(_t_logpdf(df, loc, sc, xi)) for xi in x])
    # alone (the SIMD form, NaN-redo where z**2 overflows) and as a K = 1 mixture
    # with many points (the tiled loop along the samples)
    got = StudentT(df, loc, sc).log_prob(x)
    assert _rel(got, want).max() < 2e-15, (x[np.argmax(_rel(got, want))], _rel(got, want).max())
    xx = np.repeat(x, 300)
    m = MixtureSameFamily(Categorical(probs=np.ones(1)), StudentT(np.array([df]), loc, sc))
    assert _rel(m.log_prob(xx), np.repeat(want, 300)).max() < 2e-15


@pytest.mark.parametrize("df", [0.5, 1.0, 1.5, 3.0, 7.5, 30.0, 100.0])
def test_studentt_cdf_tails_against_mpmath(df):
    loc, sc = -0.75, 0.6
    zs = np.array([1e-9, 1e-3, 0.2, 1.0, 3.0, 10.0, 1e2, 1e4, 1e8, 1e30, 1e100, 1e154, 1e160, 1e300])
    d = StudentT(df, loc, sc)
    for sign in (-1.0, 1.0):
        x = loc + sc * sign * zs
        x = x[np.isfinite(x)]
        want = np.array([float(_t_cdf_tail(df, loc, sc, xi)) for xi in x])
        keep = want > 1e-300
        c = d.cdf(x[keep])
        got = c if sign < 0 else 1.0 - c
        if sign > 0:
            # F = 1/2 + (1 - I)/2 with 1 - I to 1e-13 relative: F within that plus one rounding
            assert np.all(np.abs(c - (1.0 - want[keep])) <= 1e-13 * want[keep] + EPS / 2)
            continue
        err = _rel(got, want[keep], floor=1e-300)
        # where z**2/df overflows, the leading term x**h / (h B) in logs: its exponent
        # (up to |log F| ~ 700) is rounded, so the bound grows with |log F| there
        over = (zs[np.isfinite(loc + sc * zs)][keep] / np.sqrt(df)) > 1e154
        bound = np.where(over, (np.abs(np.log(want[keep])) + 1) * 4 * EPS, 1e-13)
        assert np.all(err <= bound), (x[keep][np.argmax(err / bound)], err.max())


def test_studentt_upper_tail_complement():
    """The upper tail through ``1 - cdf`` of the reflected distribution: symmetry
    ``F(loc + s z) = 1 - F(loc - s z)`` holds to rounding in the bulk."""
    d = StudentT(np.array([0.5, 3.0, 30.0]), 0.0, 1.0)
    z = np.linspace(0.0, 40.0, 401)[:, None]
    np.testing.assert_allclose(d.cdf(z) + d.cdf(-z), 1.0, rtol=0, atol=4e-16)


def test_cauchy_against_mpmath():
    loc, sc = 0.25, 1.5
    zs = np.array(sorted({s * z for z in Z_TAIL for s in (1, -1)}))
    x = loc + sc * zs
    x = x[np.isfinite(x)]
    d = Cauchy(loc, sc)
    mloc, msc = mp.mpf(loc), mp.mpf(sc)
    want_lp, want_c = [], []
    for xi in x:
        z = (mp.mpf(float(xi)) - mloc) / msc
        want_lp.append(float(-mp.log(mp.pi * msc) - mp.log1p(z * z)))
        # 1/2 + atan(z)/pi, without the cancellation (which 50 digits cannot absorb at z = -1e100)
        want_c.append(float(mp.atan(-1 / z) / mp.pi if z < 0 else mp.mpf(1) / 2 + mp.atan(z) / mp.pi))
    want_lp, want_c = np.array(want_lp), np.array(want_c)
    assert _rel(d.log_prob(x), want_lp).max() < 1e-15
    c = d.cdf(x)
    low = x < loc
    assert _rel(c[low], want_c[low], floor=1e-300).max() < 1e-14
    assert np.abs(c[~low] - want_c[~low]).max() < 2e-16


def test_gumbel_against_mpmath():
    loc, sc = 0.25, 1.5
    zs = np.concatenate([np.linspace(-700.0, 700.0, 281), np.linspace(-6.5, 40.0, 187)])
    x = loc + sc * zs
    d = Gumbel(loc, sc)
    mloc, msc = mp.mpf(loc), mp.mpf(sc)
    want_lp, want_c, zf = [], [], []
    for xi in x:
        z = (mp.mpf(float(xi)) - mloc) / msc
        want_lp.append(float(-(z + mp.exp(-z)) - mp.log(msc)))
        want_c.append(float(mp.exp(-mp.exp(-z))))
        zf.append(float(z))
    want_lp, want_c, zf = np.array(want_lp), np.array(want_c), np.array(zf)
    err = _rel(d.log_prob(x), want_lp)
    assert np.all(err <= (np.abs(zf) + 4) * EPS), x[np.argmax(err / (np.abs(zf) + 4))]
    m = (zf >= -6.5) & (zf <= 40.0)
    err = _rel(d.cdf(x[m]), want_c[m], floor=1e-300)
    bound = (np.exp(-zf[m]) * (np.abs(zf[m]) + 2) + 4) * EPS
    assert np.all(err <= bound), x[m][np.argmax(err / bound)]


def test_subnormal_and_huge_scales():
    """Scales whose reciprocal overflows take the exact path (which divides)."""
    for sc in (1e-310, 1e300):
        x = np.array([0.0, 3e-310, -7e-310, 1e-300, 2e300, -5e300])
        for d, lp in [
            (
                StudentT(2.5, 0.0, sc),
                lambda z: (
                    mp.loggamma(1.75)
                    - mp.loggamma(1.25)
                    - mp.log(2.5 * mp.pi) / 2
                    - mp.log(mp.mpf(sc))
                    - 1.75 * mp.log1p(z * z / 2.5)
                ),
            ),
            (Cauchy(0.0, sc), lambda z: -mp.log(mp.pi * mp.mpf(sc)) - mp.log1p(z * z)),
        ]:
            want = np.array([float(lp(mp.mpf(float(xi)) / mp.mpf(sc))) for xi in x])
            assert _rel(d.log_prob(x), want).max() < 1e-14
        g = Gumbel(0.0, sc)
        xg = x[x >= 0]
        want = np.array(
            [float(-(z + mp.exp(-z)) - mp.log(mp.mpf(sc))) for z in (mp.mpf(float(xi)) / mp.mpf(sc) for xi in xg)]
        )
        assert _rel(g.log_prob(xg), want).max() < 1e-14


def test_lbeta_half_against_mpmath():
    """``log B(h, 1/2)`` of the packed constant (SciPy's betaln loses 1e-10 at h = 5e5)."""
    from mixstat.kernels.families.studentt import lbeta_half

    h = np.concatenate([np.geomspace(1e-6, 1e15, 200), [9.99, 10.0, 10.01, 0.5, 1.0, 2.5]])
    want = np.array([float(mp.log(mp.beta(mp.mpf(float(v)), mp.mpf(1) / 2))) for v in h])
    assert _rel(lbeta_half(h), want).max() < 1e-15


# ------------------------------------------------------------------ moments, entropy
def test_studentt_moments_follow_torch():
    df = np.array([0.5, 1.0, 1.5, 2.0, 2.5, 7.0])
    d = StudentT(df, 1.5, 2.0)
    np.testing.assert_array_equal(d.mean, [np.nan, np.nan, 1.5, 1.5, 1.5, 1.5])
    np.testing.assert_allclose(d.variance, [np.nan, np.nan, np.inf, np.inf, 4 * 2.5 / 0.5, 4 * 7 / 5], rtol=1e-15)
    np.testing.assert_allclose(d.stddev, np.sqrt(d.variance), rtol=1e-15)


def test_studentt_entropy_against_scipy_and_mpmath():
    df = np.array([0.05, 0.5, 1.0, 1.5, 3.0, 50.0, 99.9, 100.0, 150.0, 1e5, 1e9])
    e = StudentT(df, 0.0, 1.7).entropy()
    np.testing.assert_allclose(e, stats.t(df, scale=1.7).entropy(), rtol=1e-12)
    for dfi, ei in zip(df, e):
        nu = mp.mpf(float(dfi))
        h1 = (nu + 1) / 2
        want = (
            h1 * (mp.digamma(h1) - mp.digamma(nu / 2))
            + mp.log(mp.sqrt(nu) * mp.beta(nu / 2, 0.5))
            + mp.log(mp.mpf(1.7))
        )
        assert abs(ei - float(want)) <= 1e-13 * max(1.0, abs(float(want))), (dfi, ei, want)


def test_cauchy_and_gumbel_moments():
    c = Cauchy(np.array([0.0, 3.0]), np.array([1.0, 2.0]))
    assert np.all(np.isnan(c.mean)) and np.all(np.isinf(c.variance)) and np.all(np.isinf(c.stddev))
    np.testing.assert_allclose(c.entropy(), stats.cauchy(scale=np.array([1.0, 2.0])).entropy(), rtol=1e-14)
    g = Gumbel(np.array([0.0, 3.0]), np.array([1.0, 2.0]))
    ref = stats.gumbel_r(np.array([0.0, 3.0]), np.array([1.0, 2.0]))
    np.testing.assert_allclose(g.mean, ref.mean(), rtol=1e-15)
    np.testing.assert_allclose(g.variance, ref.var(), rtol=1e-15)
    np.testing.assert_allclose(g.entropy(), ref.entropy(), rtol=1e-14)


# ------------------------------------------------------------------ samplers
def _make_ks(fam, df):
    if fam == "studentt":
        return StudentT(df, 0.5, 2.0), stats.t(df, 0.5, 2.0).cdf
    if fam == "cauchy":
        return Cauchy(-1.0, 0.5), stats.cauchy(-1.0, 0.5).cdf
    return Gumbel(1.0, 3.0), stats.gumbel_r(1.0, 3.0).cdf


@pytest.mark.parametrize("fam,df", KS_CASES, ids=[f"{f}-{d}" for f, d in KS_CASES])
def test_sampler_ks(fam, df):
    d, cdf = _make_ks(fam, df)
    x = d.sample((N_DRAWS,), rng=20240 + KS_CASES.index((fam, df)))
    assert x.shape == (N_DRAWS,) and np.all(np.isfinite(x))
    p = stats.kstest(x, cdf).pvalue
    assert p > ALPHA, f"KS p = {p:.3g} <= {ALPHA:.3g}"


# ------------------------------------------------------------------ errors, support
BAD = {
    "studentt": [
        ("df", dict(df=0.0)),
        ("df", dict(df=-1.0)),
        ("df", dict(df=np.nan)),
        ("df", dict(df=np.inf)),
        ("scale", dict(scale=0.0)),
        ("scale", dict(scale=-2.0)),
        ("scale", dict(scale=np.nan)),
        ("scale", dict(scale=np.inf)),
        ("loc", dict(loc=np.nan)),
        ("loc", dict(loc=np.inf)),
    ],
    "cauchy": [
        ("scale", dict(scale=0.0)),
        ("scale", dict(scale=-2.0)),
        ("scale", dict(scale=np.nan)),
        ("scale", dict(scale=np.inf)),
        ("loc", dict(loc=np.nan)),
        ("loc", dict(loc=-np.inf)),
    ],
    "gumbel": [
        ("scale", dict(scale=0.0)),
        ("scale", dict(scale=-2.0)),
        ("scale", dict(scale=np.nan)),
        ("scale", dict(scale=np.inf)),
        ("loc", dict(loc=np.nan)),
        ("loc", dict(loc=-np.inf)),
    ],
}
GOOD = {
    "studentt": dict(df=np.array([3.0, 4.0]), loc=np.array([0.0, 1.0]), scale=np.array([1.0, 2.0])),
    "cauchy": dict(loc=np.array([0.0, 1.0]), scale=np.array([1.0, 2.0])),
    "gumbel": dict(loc=np.array([0.0, 1.0]), scale=np.array([1.0, 2.0])),
}
BAD_CASES = [(f, name, kw) for f in sorted(BAD) for name, kw in BAD[f]]


@pytest.mark.parametrize("fam,name,kw", BAD_CASES, ids=[f"{f}-{n}-{next(iter(k.values()))}" for f, n, k in BAD_CASES])
def test_bad_parameters_raise(fam, name, kw):
    p = dict(GOOD[fam])
    bad = np.array(p[name])
    bad[1] = kw[name]
    p[name] = bad
    with pytest.raises(ValueError, match=name) as ei:
        CLS[fam](**p)
    assert "(2,)" in str(ei.value)  # the shape is named
    CLS[fam](**p, validate_args=False)  # no check when disabled


@pytest.mark.parametrize("fam", sorted(GOOD))
def test_support_and_value_validation(fam):
    d = CLS[fam](**GOOD[fam])
    x = np.array([[-np.inf], [np.inf], [np.nan]])
    lp = d.log_prob(x)
    assert np.all(lp[:2] == -np.inf) and np.all(np.isnan(lp[2]))
    c = d.cdf(x)
    np.testing.assert_array_equal(c[:2], [[0.0, 0.0], [1.0, 1.0]])
    assert np.all(np.isnan(c[2]))
    v = CLS[fam](**GOOD[fam], validate_args=True)
    with pytest.raises(ValueError, match="value"):
        v.log_prob(np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="value"):
        v.cdf(np.nan)


def test_studentt_default_loc_scale():
    d = StudentT(4.0)
    assert d.batch_shape == ()
    np.testing.assert_allclose(d.log_prob(np.array([0.0, 2.0])), stats.t(4.0).logpdf([0.0, 2.0]), rtol=1e-14)


# ------------------------------------------------------------------ mixtures, dtypes
def _params16(fam, rng):
    K = 16
    p = {"loc": rng.uniform(-5, 5, K), "scale": rng.uniform(0.5, 2.0, K)}
    if fam == "studentt":
        p = {"df": rng.uniform(0.5, 12.0, K), **p}
    return p


@pytest.mark.parametrize("fam", sorted(CLS))
def test_mixture_k16_with_zero_weight(fam):
    rng = np.random.default_rng(7)
    p = _params16(fam, rng)
    w = rng.uniform(0.2, 1.0, 16)
    w[5] = 0.0
    m = MixtureSameFamily(Categorical(probs=w), CLS[fam](**p))
    x = np.concatenate([rng.normal(0, 6, 3000), [-1e4, 1e4, -1e12, 1e12]])
    comps = SCIPY[fam](p)
    wn = w / w.sum()
    # SciPy's Gumbel overflows exp(-x) at x = -1e12 (correctly giving -inf and 0, with a warning)
    with np.errstate(divide="ignore", over="ignore"):
        want = special.logsumexp(np.log(wn) + comps.logpdf(x[:, None]), axis=-1)
        wc = (wn * comps.cdf(x[:, None])).sum(-1)
    assert _rel(m.log_prob(x), want).max() < 1e-12
    assert _rel(m.cdf(x), wc, floor=1e-300).max() < 1e-12
    _, idx = m.sample((20000,), rng=3, return_index=True)
    assert not np.any(idx == 5)


@pytest.mark.parametrize("fam", sorted(CLS))
def test_float32_in_float32_out(fam):
    p = {k: v.astype(np.float32) for k, v in GOOD[fam].items()}
    d = CLS[fam](**p)
    assert d.dtype == np.float32
    x = np.array([[-1.5], [0.3], [4.0]], np.float32)
    ref = SCIPY[fam]({k: v.astype(np.float64) for k, v in p.items()})
    for name, got, want in [
        ("log_prob", d.log_prob(x), ref.logpdf(x.astype(np.float64))),
        ("cdf", d.cdf(x), ref.cdf(x.astype(np.float64))),
    ]:
        assert got.dtype == np.float32, name
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=name)
    assert d.sample((5,), rng=0).dtype == np.float32
    for name in ("mean", "variance", "stddev"):
        assert np.asarray(getattr(d, name)).dtype == np.float32, name
    assert d.entropy().dtype == np.float32
    m = MixtureSameFamily(Categorical(probs=np.array([0.3, 0.7], np.float32)), d)
    assert m.log_prob(x[:, 0]).dtype == np.float32 and m.sample((4,), rng=1).dtype == np.float32
