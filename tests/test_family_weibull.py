"""Weibull and VonMises: values against scipy and mpmath, samplers at their switch points,
parameter errors, mixtures, float32.

Accuracy claimed and tested (float64)
-------------------------------------
Weibull (``scipy.stats.weibull_min(c=concentration, scale=scale)``)
    * ``log_prob`` and ``cdf`` within 1e-12 (relative, or absolute near 0) of scipy over the
      bulk (quantiles 1e-6 .. 1 - 1e-6) for concentration k in [0.3, 50], scale in [1e-3, 1e4];
    * tails, against mpmath (50 digits): ``log_prob`` within ``2e-13 * max(1, |log p|)`` for
      ``x / scale`` from 1e-300 up to where ``(x / scale)**k = 700`` (log p ~ -700), and the
      lower tail of ``cdf`` within 1e-14 relative for ``x / scale`` from 1e-300 up;
    * ``mean``, ``variance`` within 1e-13 relative of mpmath for k from 0.05 to 1e8 (the
      variance without the cancellation of ``Gamma(1 + 2/k) - Gamma(1 + 1/k)**2``).
VonMises (``scipy.stats.vonmises(kappa=concentration, loc=loc)``)
    * ``log_prob`` within 1e-12 of scipy for kappa from 1e-6 to 1e4 at points over several
      periods and far out (|x| up to 1e6: it is periodic, as scipy's and torch's); against
      mpmath within ``5e-15 * max(1, |log p|)`` for kappa up to 1e4 and |x - loc| < 1e5, at the
      float64 difference ``d = x - loc`` (which scipy and torch round the same way: beyond
      that one rounding, the periodic reduction of ``d`` is exact to an ulp);
    * ``variance`` (torch's circular variance ``1 - I1/I0``) and ``entropy`` within 1e-13
      relative of mpmath for kappa from 1e-6 to 1e8.

False-alarm rate
----------------
The file computes ``M_KS`` Kolmogorov-Smirnov p-values (the sampler tests below), each
compared with ``ALPHA = 0.001 / M_KS``: by Bonferroni a correct sampler fails any of them
with probability at most 0.001 (seeds are fixed, so the outcome is deterministic; the rate is
that of the fixed seeds, or of a new stream after a legitimate change of the RNG).
"""

from __future__ import annotations

import doctest
import functools
import math
import os
import sys

import mpmath as mp
import numpy as np
import pytest
from scipy import special, stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mixstat  # noqa: F401
from mixstat.distributions import Categorical, KernelDistribution, MixtureSameFamily, VonMises, Weibull

mp.mp.dps = 50

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

WEIBULL_KS = [0.05, 0.5, 1.0, 3.0, 50.0]  # concentrations: heavy (k << 1), at and around 1, peaked
VONMISES_KS = [(1e-6, 1.0), (0.5, -2.5), (10.0, 3.0), (700.0, 3.13)]  # (kappa, loc): 700 wraps
F32_KS = ["weibull", "vonmises"]
M_KS = len(WEIBULL_KS) + len(VONMISES_KS) + len(F32_KS)
ALPHA = 0.001 / M_KS
N_KS = 20000


def _rel(a, b, floor=0.0):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return np.abs(a - b) / np.maximum(np.abs(b), floor)


def vonmises_wrapped_cdf(x, kappa, loc):
    """cdf on [-pi, pi) of ``wrap(loc + theta)`` (scipy's vonmises cdf with loc 0 satisfies
    ``H(t + 2 pi) = H(t) + 1``)."""
    w = np.mod(loc + np.pi, 2 * np.pi) - np.pi
    H = stats.vonmises(kappa=kappa).cdf
    return np.clip(H(np.asarray(x, np.float64) - w) - H(-np.pi - w), 0.0, 1.0)


# ====================================================================== Weibull values
@pytest.mark.parametrize("k", [0.3, 0.6, 1.0, 1.5, 3.0, 10.0, 50.0])
@pytest.mark.parametrize("lam", [1e-3, 1.0, 7.0, 1e4])
def test_weibull_bulk_against_scipy(k, lam):
    ref = stats.weibull_min(c=k, scale=lam)
    x = ref.ppf(np.concatenate([np.geomspace(1e-6, 0.5, 40), 1 - np.geomspace(1e-6, 0.5, 40)]))
    d = Weibull(lam, k)
    np.testing.assert_allclose(d.log_prob(x), ref.logpdf(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(d.cdf(x), ref.cdf(x), rtol=1e-12, atol=0)
    # through a mixture of two (the SIMD path with a second component)
    m = MixtureSameFamily(Categorical(probs=np.array([1.0, 1.0])), Weibull(np.array([lam, lam]), np.array([k, k])))
    np.testing.assert_allclose(m.log_prob(x), ref.logpdf(x), rtol=1e-12, atol=1e-12)


def _weibull_lp_mp(x, lam, k):
    x, lam, k = mp.mpf(x), mp.mpf(lam), mp.mpf(k)
    y = x / lam
    return mp.log(k / lam) + (k - 1) * mp.log(y) - y**k


@pytest.mark.parametrize("k", [0.1, 0.5, 1.0, 1.5, 3.0, 10.0, 50.0])
@pytest.mark.parametrize("lam", [1e-3, 1.0, 1e4])
def test_weibull_tails_against_mpmath(k, lam):
    q = np.concatenate([10.0 ** np.arange(-300.0, 0.0, 13.0), np.linspace(0.01, 700.0 ** (1 / k), 25)])
    x = lam * q
    x = x[(x > 1e-300) & np.isfinite(x)]
    d = Weibull(lam, k)
    lp_ref = np.array([float(_weibull_lp_mp(v, lam, k)) for v in x])
    assert np.all(_rel(d.log_prob(x), lp_ref, 1.0) < 2e-13)
    # the exact scalar path (the loop's redo) agrees as well: a far point mixed in the same call
    cdf_ref = np.array([float(-mp.expm1(-((mp.mpf(v) / mp.mpf(lam)) ** mp.mpf(k)))) for v in x])
    lower = (cdf_ref < 0.5) & (cdf_ref > 1e-300)
    assert np.all(_rel(d.cdf(x)[lower], cdf_ref[lower]) < 1e-14)
    assert np.all(np.abs(d.cdf(x) - cdf_ref) < 1e-15)


def test_weibull_special_values():
    d = Weibull(np.array([2.0, 2.0, 2.0]), np.array([0.5, 1.0, 3.0]))
    lp0 = d.log_prob(0.0)
    assert lp0[0] == np.inf and lp0[1] == -math.log(2.0) and lp0[2] == -np.inf
    np.testing.assert_array_equal(d.log_prob(-1.0), -np.inf)
    np.testing.assert_array_equal(d.log_prob(np.inf), -np.inf)
    assert np.all(np.isnan(d.log_prob(np.nan)))
    np.testing.assert_array_equal(d.cdf(-1.0), 0.0)
    np.testing.assert_array_equal(d.cdf(-np.inf), 0.0)
    np.testing.assert_array_equal(d.cdf(0.0), 0.0)
    np.testing.assert_array_equal(d.cdf(np.inf), 1.0)
    np.testing.assert_array_equal(d.cdf(1e300), 1.0)
    assert np.all(np.isnan(d.cdf(np.nan)))
    # a mixture with an unbounded component (k < 1): +inf at 0, exact elsewhere
    m = MixtureSameFamily(Categorical(probs=np.array([0.3, 0.7])), Weibull(np.array([1.0, 2.0]), np.array([0.5, 3.0])))
    x = np.array([0.0, 1e-300, 1e-20, 0.5, 3.0, 40.0, -1.0])
    ref = special.logsumexp(
        np.log([0.3, 0.7]) + stats.weibull_min(c=np.array([0.5, 3.0]), scale=np.array([1.0, 2.0])).logpdf(x[:, None]),
        axis=-1,
    )
    got = m.log_prob(x)
    assert got[0] == np.inf and got[-1] == -np.inf
    np.testing.assert_allclose(got[1:-1], ref[1:-1], rtol=1e-12)


@pytest.mark.parametrize("k", [1.0, 1.0001, 1.5, 3.0, 50.0])
def test_weibull_bound_is_the_maximum(k):
    from mixstat.kernels.families import weibull as W

    lam = 1.7
    row = W.pack(lam, k, np.float64)
    ref = stats.weibull_min(c=k, scale=lam)
    x = np.linspace(1e-9, 5 * lam, 200001)
    top = ref.logpdf(x).max()
    assert row[W.BOUND] >= top - 1e-13 * max(1.0, abs(top))
    mode = lam * (1 - 1 / k) ** (1 / k) if k > 1 else 0.0
    np.testing.assert_allclose(row[W.BOUND], ref.logpdf(mode) if k > 1 else -math.log(lam), rtol=1e-13)
    assert W.pack(lam, 0.9, np.float64)[W.BOUND] == np.inf


@pytest.mark.parametrize("k", [0.05, 0.3, 1.0, 2.0, 3.9, 4.0, 4.1, 100.0, 1e4, 1e8])
def test_weibull_moments_against_mpmath(k):
    lam = 3.0
    d = Weibull(lam, k)
    kk = mp.mpf(k)
    g1, g2 = mp.gamma(1 + 1 / kk), mp.gamma(1 + 2 / kk)
    assert _rel(d.mean, float(lam * g1)) < 1e-13
    assert _rel(d.variance, float(lam**2 * (g2 - g1**2))) < 1e-13
    ent = float(mp.euler * (1 - 1 / kk) + mp.log(lam / kk) + 1)
    assert abs(d.entropy() - ent) < 1e-13 * max(1.0, abs(ent))
    if 0.3 <= k <= 10:
        ref = stats.weibull_min(c=k, scale=lam)
        np.testing.assert_allclose(
            [d.mean, d.variance, d.entropy()], [ref.mean(), ref.var(), ref.entropy()], rtol=1e-12
        )


# ====================================================================== VonMises values
@pytest.mark.parametrize("kappa", [1e-6, 0.5, 4.0, 10.0, 700.0, 1e4])
@pytest.mark.parametrize("loc", [0.0, 2.5, -3.1])
def test_vonmises_log_prob_against_scipy(kappa, loc):
    x = np.concatenate(
        [
            np.linspace(-np.pi, np.pi, 61),
            loc + np.linspace(-0.05, 0.05, 21),
            np.linspace(-np.pi, np.pi, 13) + 2 * np.pi,
            np.linspace(-np.pi, np.pi, 13) - 6 * np.pi,
            [10.0, -20.0, 100.0, 1e6, -12345.678],
        ]
    )
    ref = stats.vonmises(kappa=kappa, loc=loc).logpdf(x)
    np.testing.assert_allclose(VonMises(loc, kappa).log_prob(x), ref, rtol=1e-12, atol=1e-12)
    # the density: relative error = the absolute error of the log-density
    near = ref > -30
    np.testing.assert_allclose(VonMises(loc, kappa).prob(x)[near], np.exp(ref[near]), rtol=1e-12, atol=0)


@pytest.mark.parametrize("kappa", [1e-6, 0.5, 10.0, 700.0, 1e4])
def test_vonmises_log_prob_against_mpmath(kappa):
    loc = -2.9
    x = np.concatenate(
        [
            np.linspace(-np.pi, np.pi, 41),
            loc + np.geomspace(1e-8, 0.1, 9),
            loc + np.linspace(-15.9, 15.9, 31),
            loc + 2 * np.pi * np.arange(1, 6),
            loc + 2 * np.pi * np.array([1e3, 1e4]) + 1e-3,
            [1e5, -54321.5],
        ]
    )
    kk = mp.mpf(kappa)
    c = mp.log(2 * mp.pi * mp.besseli(0, kk))
    ref = np.array([float(kk * mp.cos(mp.mpf(v - loc)) - c) for v in x])
    assert np.all(_rel(VonMises(loc, kappa).log_prob(x), ref, 1.0) < 5e-15)


def test_vonmises_half_angle_polynomial():
    """``sin2_half`` (the SIMD form's sin(d/2)**2): the fitted polynomial against mpmath."""
    from mixstat.kernels.families.vonmises import sin2_half

    rng = np.random.default_rng(7)
    d = np.concatenate(
        [
            np.linspace(-16, 16, 3001),
            rng.uniform(-(2.0**20), 2.0**20, 300),
            2 * np.pi * np.arange(-4, 5),
            np.pi * np.arange(-9, 10, 2),
            np.pi / 2 * np.arange(-7, 8, 2),
            np.nextafter(np.pi / 2, 0) * np.arange(-7, 8, 2),
        ]
    )
    got = np.array([sin2_half(v) for v in d])
    ref = np.array([float(mp.sin(mp.mpf(v) / 2) ** 2) for v in d])
    # relative; near the zeros (d = 2 pi n), relative to 1e-12: there the log-density is
    # dominated by its constant and the error of sin**2 (~1e-26 n) does not show
    assert np.all(_rel(got, ref, 1e-12) < 8e-16)


def test_vonmises_special_values():
    d = VonMises(np.array([0.0, 1.0]), np.array([0.5, 700.0]))
    assert np.all(np.isnan(d.log_prob(np.inf))) and np.all(np.isnan(d.log_prob(-np.inf)))
    assert np.all(np.isnan(d.log_prob(np.nan)))
    # periodic: the same value one period away (up to the rounding of x - loc)
    np.testing.assert_allclose(d.log_prob(0.3 + 2 * np.pi), d.log_prob(0.3), rtol=1e-12)


@pytest.mark.parametrize("kappa", [1e-6, 0.5, 10.0, 24.0, 26.0, 700.0, 1e4, 1e8])
def test_vonmises_moments_against_mpmath(kappa):
    d = VonMises(np.array([0.25, -3.0]), kappa)
    kk = mp.mpf(kappa)
    r = mp.besseli(1, kk) / mp.besseli(0, kk)
    var = float(1 - r)
    ent = float(-kk * r + mp.log(2 * mp.pi * mp.besseli(0, kk)))
    np.testing.assert_array_equal(d.mean, [0.25, -3.0])
    assert np.all(_rel(d.variance, var) < 1e-13)
    assert np.all(np.abs(d.entropy() - ent) < 1e-13 * max(1.0, abs(ent)))
    if kappa <= 10:
        np.testing.assert_allclose(d.entropy(), stats.vonmises(kappa=kappa).entropy(), rtol=1e-12)


def test_vonmises_has_no_cdf():
    from mixstat.kernels import registry

    d = VonMises(0.0, 1.0)
    with pytest.raises(NotImplementedError, match="no cdf"):
        d.cdf(0.0)
    with pytest.raises(NotImplementedError, match="no cdf"):
        KernelDistribution.cdf(d, 0.0)  # the base class's check: the module has no cdf1
    assert not registry.family("vonmises").has("cdf1")
    assert ("cdf", "vonmises") not in registry.pairs("cpu")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_vonmises_samples_in_minus_pi_pi(dtype):
    loc = np.array([np.pi, -np.pi, 3.14, -3.14, 0.0, 100.0, 3.0], dtype=dtype)
    kappa = np.array([1e4, 1e4, 700.0, 700.0, 1e-6, 0.5, 1e-20], dtype=dtype)
    x = VonMises(loc, kappa).sample((20000,), rng=3)
    assert x.dtype == dtype
    assert np.all(x >= dtype(-np.pi)) and np.all(x < dtype(np.pi))
    assert np.all(np.isfinite(x))


# ====================================================================== samplers
def _ks(x, cdf):
    p = stats.kstest(np.asarray(x, np.float64), cdf).pvalue
    assert p > ALPHA, f"KS p = {p:.3g} <= {ALPHA:.3g}"


@pytest.mark.parametrize("k", WEIBULL_KS)
def test_weibull_sampler_ks(k):
    lam = 1.3
    x = Weibull(lam, k).sample((N_KS,), rng=11)
    assert np.all(x > 0)
    _ks(x, stats.weibull_min(c=k, scale=lam).cdf)


@pytest.mark.parametrize("kappa,loc", VONMISES_KS)
def test_vonmises_sampler_ks(kappa, loc):
    x = VonMises(loc, kappa).sample((N_KS,), rng=12)
    _ks(x, lambda t: vonmises_wrapped_cdf(t, kappa, loc))


@pytest.mark.parametrize("name", F32_KS)
def test_float32_sampler_ks(name):
    if name == "weibull":
        x = Weibull(np.float32(0.8), np.float32(0.7)).sample((N_KS,), rng=13)
        cdf = stats.weibull_min(c=float(np.float32(0.7)), scale=float(np.float32(0.8))).cdf
    else:
        x = VonMises(np.float32(-3.0), np.float32(2.0)).sample((N_KS,), rng=13)
        cdf = lambda t: vonmises_wrapped_cdf(t, float(np.float32(2.0)), float(np.float32(-3.0)))
    assert x.dtype == np.float32
    _ks(x, cdf)


def test_ks_count():
    assert M_KS * ALPHA <= 0.001 + 1e-18


# ====================================================================== errors
BAD = [np.nan, 0.0, -1.0, np.inf]


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("which", ["scale", "concentration"])
def test_weibull_bad_parameters(which, bad):
    kw = {"scale": np.array([1.0, 2.0]), "concentration": np.array([1.5, 0.5])}
    kw[which] = np.array([1.0, bad])
    with pytest.raises(ValueError, match=which):
        Weibull(**kw)
    Weibull(**kw, validate_args=False)  # no check


@pytest.mark.parametrize(
    "which,bad",
    [
        ("loc", np.nan),
        ("loc", np.inf),
        ("loc", -np.inf),
        ("concentration", np.nan),
        ("concentration", 0.0),
        ("concentration", -1.0),
        ("concentration", np.inf),
    ],
)
def test_vonmises_bad_parameters(which, bad):
    kw = {"loc": np.array([0.0, 1.0]), "concentration": np.array([1.0, 2.0])}
    kw[which] = np.array([bad, 1.0])
    with pytest.raises(ValueError, match=which):
        VonMises(**kw)


def test_shapes_do_not_broadcast():
    with pytest.raises(ValueError):
        Weibull(np.ones(3), np.ones(2))
    with pytest.raises(ValueError):
        VonMises(np.ones(3), np.ones(2))


def test_validate_args_checks_the_support():
    d = Weibull(np.array([1.0, 2.0]), 1.5, validate_args=True)
    for bad in (-1.0, 0.0, np.nan):
        with pytest.raises(ValueError, match="value"):
            d.log_prob(np.array([1.0, bad]))
        with pytest.raises(ValueError, match="value"):
            d.cdf(np.array([bad, 1.0]))
    v = VonMises(0.0, 1.0, validate_args=True)
    with pytest.raises(ValueError, match="value"):
        v.log_prob(np.array([0.0, np.nan]))
    # the support is the real line: any finite angle is fine
    np.testing.assert_allclose(v.log_prob(np.array([100.0])), stats.vonmises(kappa=1.0).logpdf(100.0), rtol=1e-12)
    # without validate_args: out of support values give -inf / 0
    d = Weibull(np.array([1.0, 2.0]), 1.5)
    np.testing.assert_array_equal(d.log_prob(-0.5), -np.inf)
    np.testing.assert_array_equal(d.cdf(-0.5), 0.0)


# ====================================================================== mixtures, float32
def _k16(rng, zero=5):
    w = rng.uniform(0.2, 1.0, 16)
    w[zero] = 0.0
    return w


def test_weibull_mixture_k16_zero_weight():
    rng = np.random.default_rng(5)
    w = _k16(rng)
    lam, k = rng.uniform(0.3, 3.0, 16), rng.uniform(0.6, 4.0, 16)
    m = MixtureSameFamily(Categorical(probs=w), Weibull(lam, k))
    x = np.concatenate([np.geomspace(1e-8, 30.0, 300), [0.0, -1.0, 200.0]])
    comp = stats.weibull_min(c=k, scale=lam)
    with np.errstate(divide="ignore"):
        ref = special.logsumexp(np.log(w / w.sum()) + comp.logpdf(x[:, None]), axis=-1)
    got = m.log_prob(x)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(m.cdf(x), (w / w.sum() * comp.cdf(x[:, None])).sum(-1), rtol=1e-12, atol=1e-15)
    _, idx = m.sample((20000,), rng=9, return_index=True)
    assert not np.any(idx == 5)


def test_vonmises_mixture_k16_zero_weight():
    rng = np.random.default_rng(6)
    w = _k16(rng, zero=11)
    loc, kappa = rng.uniform(-np.pi, np.pi, 16), np.concatenate([rng.uniform(0.5, 20.0, 15), [1e4]])
    m = MixtureSameFamily(Categorical(probs=w), VonMises(loc, kappa))
    x = np.concatenate([np.linspace(-np.pi, np.pi, 400), loc, [20.0, -1e5]])
    comp = stats.vonmises(kappa=kappa, loc=loc)
    with np.errstate(divide="ignore"):
        ref = special.logsumexp(np.log(w / w.sum()) + comp.logpdf(x[:, None]), axis=-1)
    np.testing.assert_allclose(m.log_prob(x), ref, rtol=1e-12, atol=1e-12)
    x, idx = m.sample((20000,), rng=9, return_index=True)
    assert not np.any(idx == 11)
    assert np.all((x >= -np.pi) & (x < np.pi))


def test_float32_in_float32_out():
    w = Weibull(np.float32([1.0, 2.0]), np.float32(1.5))
    v = VonMises(np.float32([0.0, 2.0]), np.float32(3.0))
    x = np.float32([0.5, 1.5])
    for d in (w, v):
        assert d.log_prob(x).dtype == np.float32
        assert d.prob(x).dtype == np.float32
        assert d.sample((5,), rng=0).dtype == np.float32
        for name in ("mean", "variance", "stddev"):
            assert np.asarray(getattr(d, name)).dtype == np.float32, name
        assert d.entropy().dtype == np.float32
    assert w.cdf(x).dtype == np.float32
    np.testing.assert_allclose(w.log_prob(x), stats.weibull_min(c=1.5, scale=[1.0, 2.0]).logpdf(x), rtol=1e-5)
    np.testing.assert_allclose(w.cdf(x), stats.weibull_min(c=1.5, scale=[1.0, 2.0]).cdf(x), rtol=1e-5)
    np.testing.assert_allclose(v.log_prob(x), stats.vonmises(kappa=3.0, loc=[0.0, 2.0]).logpdf(x), rtol=1e-5)
    # float64 distribution, float32 values: float64 results
    assert Weibull(1.0, 1.5).log_prob(x).dtype == np.float64


# ====================================================================== documentation
@pytest.mark.parametrize("modname", ["mixstat.distributions.weibull", "mixstat.distributions.vonmises"])
def test_doctests(modname):
    import importlib

    res = doctest.testmod(importlib.import_module(modname), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0 and res.failed == 0


@pytest.mark.parametrize("page", ["Weibull.md", "VonMises.md"])
def test_api_page_examples(page):
    res = doctest.testfile(
        os.path.join(ROOT, "docs", "api", page),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert res.attempted > 0 and res.failed == 0


@functools.cache
def _jit_draw_tile():
    from numba import njit

    from mixstat.kernels.families import weibull as W

    return njit(W.draw_tile)  # compiled once for the four cases


@pytest.mark.parametrize("k", [0.004, 0.05, 1.0, 3.0])
def test_weibull_draw_tile_agrees_with_draw1(k):
    """The CPU's SIMD tile sampler against the scalar draw1 (the CUDA loops' hook), point by point,
    including the exponents outside the polynomial exp's range (subnormal, 0 and huge draws)."""
    from mixstat.kernels.families import weibull as W

    # one batch row, 3 components, 2 coordinates (scales 1e-300, 1, 1e300 and 1e-300, 1e300, 1)
    lam = np.array([[[1e-300, 1.0], [1.0, 1e300], [1e300, 1e-300]]])
    tab = W.pack(lam, np.full(lam.shape, k), np.float64).reshape(1, 3, 2 * W.P)
    n, g0 = 256, 12345
    bb = np.zeros(n, np.int64)
    kk = np.arange(n, dtype=np.int64) % 3
    out = np.empty((n, 2))
    _jit_draw_tile()(7, 99, g0, n, tab, bb, kk, out, 0, np.empty(n), np.empty(n))
    with np.errstate(over="ignore"):
        want = np.array([[W.draw1(7, 99, g0 + i, 4 * j, tab, 0, kk[i], j * W.P) for j in range(2)] for i in range(n)])
    # an ulp of log(E) (polynomial log vs math.log) is amplified by 1/k in the exponent
    np.testing.assert_allclose(out, want, rtol=2e-15 / min(k, 1.0), atol=0)
    assert np.array_equal(out == 0, want == 0) and np.array_equal(np.isinf(out), np.isinf(want))
