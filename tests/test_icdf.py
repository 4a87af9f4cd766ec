"""Quantiles (``icdf``) of univariate distributions and mixtures, and QMC sampling.

References: mpmath at 50 digits (tests/conftest.py) for the Normal mixture from q = 1e-300
to 1 - 1e-16 and for the tails of other families, SciPy's ``cdf``/``sf`` for the round
trips of every family and its mixtures, ``scipy.stats.Mixture.icdf`` on the cases it handles.

The accuracy criterion is the one the API promises: ``x`` within 4 ulp of the true quantile
(``F(x - 4 ulp) <= q <= F(x + 4 ulp)``) or ``|F(x) - q| <= 2 ulp(q)``; discrete results are
the smallest support point ``n`` with ``F(n) >= q``.
"""

from __future__ import annotations

import math
import warnings

import mpmath as mp
import numpy as np
import pytest
from scipy import special, stats

from mixstat.distributions import (
    Bernoulli,
    Beta,
    Binomial,
    Categorical,
    Cauchy,
    Exponential,
    Gamma,
    Geometric,
    Gumbel,
    HalfNormal,
    Laplace,
    LogNormal,
    MixtureSameFamily,
    NegativeBinomial,
    Normal,
    Poisson,
    StudentT,
    Uniform,
    Weibull,
)

QS = np.array([1e-300, 1e-100, 1e-20, 1e-9, 1e-3, 0.1, 0.3, 0.5, 0.7, 0.9, 1 - 1e-3, 1 - 1e-9, 1 - 1e-13, 1 - 2.0**-53])


def _ulp(v):
    return float(np.spacing(abs(float(v))))


def _accurate(x, q, F):
    """The promise: ``x`` within 4 ulp of the quantile, or ``|F(x) - q| <= 2 ulp(q)``
    (``F`` an mpmath cdf; for ``q > 1/2`` compared as survival probabilities, exactly)."""
    x = float(x)
    q = mp.mpf(float(q))
    if not math.isfinite(x):
        return False
    u = 4 * _ulp(x) if x != 0 else 4 * 5e-324
    lo, hi = F(mp.mpf(x) - u), F(mp.mpf(x) + u)
    if lo <= q <= hi:
        return True
    return abs(F(mp.mpf(x)) - q) <= 2 * _ulp(float(q))


# -- mpmath cdfs ------------------------------------------------------------
def _mp_normal_mix(w, loc, scale):
    def F(x):
        return mp.fsum(mp.mpf(wk) * mp.ncdf(x, mp.mpf(m), mp.mpf(s)) for wk, m, s in zip(w, loc, scale))

    return F


def test_normal_mixture_quantiles_match_mpmath_from_1e_300_to_1_minus_1e_16():
    w = [0.2, 0.5, 0.3]
    loc = [-3.0, 0.5, 4.0]
    scale = [0.5, 1.0, 2.5]
    d = MixtureSameFamily(Categorical(probs=np.array(w)), Normal(np.array(loc), np.array(scale)))
    q = np.concatenate([QS, [1e-250, 1e-50, 1 - 1e-15, 1 - 1e-16, 0.25, 0.75]])
    x = d.icdf(q)
    assert x.dtype == np.float64 and x.shape == q.shape
    F = _mp_normal_mix(w, loc, scale)
    bad = [(qq, xx) for qq, xx in zip(q, x) if not _accurate(xx, qq, F)]
    assert not bad, bad
    # the survival side: 1 - 1e-15 is resolved (not rounded to the 1 - 2**-53 quantile)
    assert x[-4] < x[-3]


def test_icdf_of_one_minus_1e_15_uses_the_survival_function():
    d = MixtureSameFamily(Categorical(probs=np.array([0.5, 0.5])), Normal(np.array([0.0, 1.0]), np.array([1.0, 1.0])))
    q = 1 - 1e-15
    x = float(d.icdf(np.array([q]))[0])
    F = _mp_normal_mix([0.5, 0.5], [0.0, 1.0], [1.0, 1.0])
    # the exact quantile of the double q, by mpmath's root finder
    true = mp.findroot(lambda t: F(t) - mp.mpf(q), mp.mpf(8.5))
    assert abs(x - float(true)) <= 4 * _ulp(float(true))


class _HalfNormalRef:
    """SciPy's halfnorm with an exact ppf (``scale sqrt(2) erfinv(q)``; ``halfnorm.ppf`` rounds
    ``(1 + q) / 2`` and loses 1e-7 relative at q = 1e-9)."""

    def __init__(self, scale):
        self.scale = scale
        self.frozen = stats.halfnorm(scale=scale)

    def ppf(self, q):
        return self.scale * math.sqrt(2) * special.erfinv(q)

    def isf(self, p):
        return self.scale * math.sqrt(2) * special.erfcinv(p)

    def cdf(self, x):
        return self.frozen.cdf(x)

    def sf(self, x):
        return self.frozen.sf(x)


# SciPy references of each family (parameters chosen inside the ranges SciPy's ppf is exact)
CONT = [
    (
        "exponential",
        lambda: Exponential(np.array([2.0, 0.5, 1.0])),
        lambda i: stats.expon(scale=1 / np.array([2.0, 0.5, 1.0])[i]),
    ),
    (
        "lognormal",
        lambda: LogNormal(np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.3, 1.0])),
        lambda i: stats.lognorm(np.array([1.5, 0.3, 1.0])[i], scale=np.exp(np.array([0.5, -1.0, 2.0])[i])),
    ),
    (
        "halfnormal",
        lambda: HalfNormal(np.array([2.0, 0.5, 1.0])),
        lambda i: _HalfNormalRef(np.array([2.0, 0.5, 1.0])[i]),
    ),
    (
        "laplace",
        lambda: Laplace(np.array([1.0, -2.0, 0.0]), np.array([2.0, 0.5, 1.0])),
        lambda i: stats.laplace(np.array([1.0, -2.0, 0.0])[i], np.array([2.0, 0.5, 1.0])[i]),
    ),
    (
        "cauchy",
        lambda: Cauchy(np.array([1.0, -2.0, 0.0]), np.array([2.0, 0.5, 1.0])),
        lambda i: stats.cauchy(np.array([1.0, -2.0, 0.0])[i], np.array([2.0, 0.5, 1.0])[i]),
    ),
    (
        "gumbel",
        lambda: Gumbel(np.array([1.0, -2.0, 0.0]), np.array([2.0, 0.5, 1.0])),
        lambda i: stats.gumbel_r(np.array([1.0, -2.0, 0.0])[i], np.array([2.0, 0.5, 1.0])[i]),
    ),
    (
        "weibull",
        lambda: Weibull(np.array([2.0, 1.0, 0.5]), np.array([1.5, 0.7, 3.0])),
        lambda i: stats.weibull_min(np.array([1.5, 0.7, 3.0])[i], scale=np.array([2.0, 1.0, 0.5])[i]),
    ),
    (
        "uniform",
        lambda: Uniform(np.array([-1.0, 0.0, 5.0]), np.array([3.0, 0.5, 9.0])),
        lambda i: stats.uniform(np.array([-1.0, 0.0, 5.0])[i], np.array([4.0, 0.5, 4.0])[i]),
    ),
    (
        "studentt",
        lambda: StudentT(np.array([3.0, 1.5, 30.0]), np.array([1.0, 0.0, -1.0]), np.array([2.0, 1.0, 0.5])),
        lambda i: stats.t(np.array([3.0, 1.5, 30.0])[i], np.array([1.0, 0.0, -1.0])[i], np.array([2.0, 1.0, 0.5])[i]),
    ),
    (
        "gamma",
        lambda: Gamma(np.array([0.5, 3.0, 40.0]), np.array([2.0, 1.0, 0.5])),
        lambda i: stats.gamma(np.array([0.5, 3.0, 40.0])[i], scale=1 / np.array([2.0, 1.0, 0.5])[i]),
    ),
    (
        "beta",
        lambda: Beta(np.array([0.5, 2.0, 30.0]), np.array([3.0, 2.0, 0.8])),
        lambda i: stats.beta(np.array([0.5, 2.0, 30.0])[i], np.array([3.0, 2.0, 0.8])[i]),
    ),
]
MID = np.array([1e-9, 1e-4, 0.01, 0.2, 0.5, 0.8, 0.99, 1 - 1e-4, 1 - 1e-9])


def _round_trip_ok(x, q, cdf, sf):
    """``x`` solves ``F(x) = q`` to the precision SciPy's ``cdf``/``sf`` resolve: the tail
    probability within 1e-10 relative, or ``q`` between the tail probabilities 4 ulp on
    either side of ``x`` (where ``x`` cannot resolve ``q`` better, near a support's end)."""
    x = np.asarray(x, dtype=np.float64)
    upper = q > 0.5
    p = np.where(upper, 1 - q, q)
    g = np.where(upper, sf(x), cdf(x))
    rel = np.abs(g - p) / p
    u = 4 * np.spacing(np.abs(x))
    a, b = x - u, x + u
    ga = np.where(upper, sf(a), cdf(a))
    gb = np.where(upper, sf(b), cdf(b))
    between = np.where(
        upper, (gb <= p * (1 + 1e-12)) & (p <= ga * (1 + 1e-12)), (ga <= p * (1 + 1e-12)) & (p <= gb * (1 + 1e-12))
    )
    return (rel <= 1e-10) | between


@pytest.mark.parametrize("name,make,ref", CONT, ids=[c[0] for c in CONT])
def test_every_continuous_family_alone_and_in_mixtures(name, make, ref):
    comp = make()
    # alone (each of the three parameter sets as a batch), against SciPy's ppf / isf
    x = comp.icdf(MID[:, None])
    assert x.shape == (MID.size, 3)
    for i in range(3):
        r = ref(i)
        with warnings.catch_warnings():  # SciPy's beta ppf warns in its own root finder
            warnings.simplefilter("ignore", RuntimeWarning)
            want = np.where(MID > 0.5, r.isf(1 - MID), r.ppf(MID))
        # SciPy's ppf, or (where SciPy's own ppf is off: Beta's far lower tail) the round trip
        # through its cdf / sf
        ok = np.isclose(x[:, i], want, rtol=1e-10, atol=0) | _round_trip_ok(x[:, i], MID, r.cdf, r.sf)
        assert ok.all(), (name, i, MID[~ok], x[~ok, i], want[~ok])
    # a mixture of the three: the round trip through SciPy's cdf / sf
    w = np.array([0.2, 0.5, 0.3])
    mix = MixtureSameFamily(Categorical(probs=w), comp)
    xm = mix.icdf(MID)

    def cdf(v):
        return sum(w[i] * ref(i).cdf(v) for i in range(3))

    def sf(v):
        return sum(w[i] * ref(i).sf(v) for i in range(3))

    ok = _round_trip_ok(xm, MID, cdf, sf)
    assert ok.all(), (name, MID[~ok], xm[~ok])
    # monotone in q
    assert np.all(np.diff(xm) >= 0)


def _mp_tail_cases():
    return [
        ("exponential", Exponential(np.array([2.0])), lambda t: -mp.expm1(-2 * t) if t > 0 else mp.mpf(0)),
        # arctan of the reciprocal: no cancellation of 1/2 - 1/2 in the lower tail
        (
            "cauchy",
            Cauchy(np.array([1.0]), np.array([2.0])),
            lambda t: mp.atan(2 / (1 - t)) / mp.pi if t < 1 else 1 - mp.atan(2 / (t - 1)) / mp.pi,
        ),
        (
            "gamma",
            Gamma(np.array([2.5]), np.array([1.5])),
            lambda t: mp.gammainc(mp.mpf(2.5), 0, 1.5 * t, regularized=True) if t > 0 else mp.mpf(0),
        ),
        (
            "weibull",
            Weibull(np.array([2.0]), np.array([1.5])),
            lambda t: -mp.expm1(-((t / 2) ** mp.mpf(1.5))) if t > 0 else mp.mpf(0),
        ),
    ]


@pytest.mark.parametrize("case", range(4), ids=["exponential", "cauchy", "gamma", "weibull"])
def test_far_tails_against_mpmath(case):
    name, comp, F1 = _mp_tail_cases()[case]
    # a two-component mixture of the same component (a stress for the bracket) and alone
    mix = MixtureSameFamily(Categorical(probs=np.array([0.5, 0.5])), comp.expand((2,)))
    for d in (comp, mix):
        x = np.asarray(d.icdf(QS[:, None] if d is comp else QS)).reshape(-1)
        bad = [(q, v) for q, v in zip(QS, x) if not _accurate(v, q, F1)]
        assert not bad, (name, bad)


DISC = [
    ("poisson", lambda: Poisson(np.array([0.5, 7.5, 300.0])), lambda i: stats.poisson(np.array([0.5, 7.5, 300.0])[i])),
    (
        "binomial",
        lambda: Binomial(np.array([20.0, 5.0, 1000.0]), probs=np.array([0.3, 0.9, 0.01])),
        lambda i: stats.binom(np.array([20, 5, 1000])[i], np.array([0.3, 0.9, 0.01])[i]),
    ),
    (
        "geometric",
        lambda: Geometric(probs=np.array([0.2, 0.9, 0.01])),
        lambda i: stats.geom(np.array([0.2, 0.9, 0.01])[i], loc=-1),
    ),
    (
        "negative_binomial",
        lambda: NegativeBinomial(np.array([5.0, 0.5, 50.0]), probs=np.array([0.4, 0.8, 0.1])),
        lambda i: stats.nbinom(np.array([5.0, 0.5, 50.0])[i], 1 - np.array([0.4, 0.8, 0.1])[i]),
    ),
    (
        "bernoulli",
        lambda: Bernoulli(probs=np.array([0.3, 0.9, 0.5])),
        lambda i: stats.bernoulli(np.array([0.3, 0.9, 0.5])[i]),
    ),
]


@pytest.mark.parametrize("name,make,ref", DISC, ids=[c[0] for c in DISC])
def test_discrete_quantiles_are_the_smallest_support_point(name, make, ref):
    comp = make()
    w = np.array([0.25, 0.35, 0.4])
    mix = MixtureSameFamily(Categorical(probs=w), comp)
    q = np.array([1e-12, 1e-3, 0.05, 0.3, 0.5, 0.6, 0.95, 1 - 1e-6])
    x = mix.icdf(q)
    assert x.dtype == np.float64 and np.all(x == np.floor(x))

    def cdf(v):
        return sum(w[i] * ref(i).cdf(v) for i in range(3))

    def sf(v):
        return sum(w[i] * ref(i).sf(v) for i in range(3))

    lower = q <= 0.5
    # F(n) >= q > F(n - 1)  (as survival probabilities on the upper side)
    assert np.all(np.where(lower, cdf(x) >= q * (1 - 1e-12), sf(x) <= (1 - q) * (1 + 1e-12)))
    assert np.all(np.where(lower, cdf(x - 1) < q, sf(x - 1) > (1 - q)))
    # alone: SciPy's ppf (the same definition)
    xs = comp.icdf(q[:, None])
    for i in range(3):
        r = ref(i)
        np.testing.assert_array_equal(xs[q <= 0.5, i], r.ppf(q[q <= 0.5]))


def test_categorical_components():
    # a mixture of two Categoricals over 4 categories: the support points 0..3
    probs = np.array([[0.1, 0.2, 0.3, 0.4], [0.7, 0.1, 0.1, 0.1]])
    d = MixtureSameFamily(Categorical(probs=np.array([0.5, 0.5])), Categorical(probs=probs))
    q = np.array([0.0, 0.39, 0.4, 0.41, 0.9, 1.0])
    pmf = 0.5 * probs.sum(0)
    cdf = np.cumsum(pmf)
    want = [float(np.argmax(cdf >= v - 1e-15)) if v > 0 else 0.0 for v in q]
    np.testing.assert_array_equal(d.icdf(q), want)


def test_support_ends_at_q_0_and_1():
    assert Normal(0.0, 1.0).icdf(np.array([0.0, 1.0])).tolist() == [-math.inf, math.inf]
    g = Gamma(np.array([2.0]), np.array([1.0]))
    assert g.icdf(np.array([[0.0], [1.0]]))[:, 0].tolist() == [0.0, math.inf]
    u = MixtureSameFamily(
        Categorical(probs=np.array([0.5, 0.0, 0.5])), Uniform(np.array([-1.0, -50.0, 2.0]), np.array([0.0, 50.0, 3.0]))
    )
    # the zero-weight component's wider support does not count
    assert u.icdf(np.array([0.0, 1.0])).tolist() == [-1.0, 3.0]
    b = MixtureSameFamily(
        Categorical(probs=np.array([0.5, 0.5])), Binomial(np.array([3.0, 7.0]), probs=np.array([0.5, 0.5]))
    )
    assert b.icdf(np.array([0.0, 1.0])).tolist() == [0.0, 7.0]
    p = MixtureSameFamily(Categorical(probs=np.array([0.5, 0.5])), Poisson(np.array([1.0, 2.0])))
    assert p.icdf(np.array([0.0, 1.0])).tolist() == [0.0, math.inf]


def test_flat_stretch_gives_its_left_end():
    d = MixtureSameFamily(Categorical(probs=np.array([0.5, 0.5])), Uniform(np.array([0.0, 2.0]), np.array([1.0, 3.0])))
    assert d.icdf(np.array([0.5]))[0] == 1.0
    # also with a zero-weight component in the gap, and batched beside a plain row
    d2 = MixtureSameFamily(
        Categorical(probs=np.array([[0.25, 0.0, 0.75], [0.25, 0.5, 0.25]])),
        Uniform(np.array([0.0, 1.5, 4.0]), np.array([1.0, 2.5, 8.0])),
    )
    x = d2.icdf(np.array([0.25]))
    assert x[0] == 1.0
    assert x[1] == 1.0  # cdf(1) = 0.25 exactly; the gap (1, 1.5) is flat
    # exponential components far apart: the density is exactly 0 below the second's support? no:
    # a Uniform beside a shifted support keeps F flat up to the next component
    e = MixtureSameFamily(
        Categorical(probs=np.array([0.5, 0.5])), Uniform(np.array([-3.0, 10.0]), np.array([-1.0, 11.0]))
    )
    assert e.icdf(np.array([0.5]))[0] == -1.0


def test_out_of_range_and_nan_give_nan_or_raise():
    d = MixtureSameFamily(Categorical(probs=np.array([0.5, 0.5])), Normal(np.array([0.0, 1.0]), np.array([1.0, 1.0])))
    x = d.icdf(np.array([-0.1, 1.1, np.nan, 0.5]))
    assert np.isnan(x[:3]).all() and np.isfinite(x[3])
    dv = MixtureSameFamily(
        Categorical(probs=np.array([0.5, 0.5])), Normal(np.array([0.0, 1.0]), np.array([1.0, 1.0])), validate_args=True
    )
    with pytest.raises(ValueError, match="icdf: value of shape"):
        dv.icdf(np.array([0.5, 1.5]))
    with pytest.raises(ValueError, match="probabilities in"):
        Gamma(2.0, 1.0, validate_args=True).icdf(np.array([np.nan]))


def test_batched_mixtures_match_row_by_row_and_float32():
    rng = np.random.default_rng(3)
    B, K = 4, 5
    w = rng.dirichlet(np.ones(K), B)
    w[1, 2] = 0.0
    loc = rng.normal(0, 3, (B, K))
    scale = rng.uniform(0.2, 2, (B, K))
    d = MixtureSameFamily(Categorical(probs=w), Normal(loc, scale))
    q = rng.uniform(size=(6, B))
    x = d.icdf(q)
    assert x.shape == (6, B)
    for b in range(B):
        row = MixtureSameFamily(Categorical(probs=w[b]), Normal(loc[b], scale[b]))
        np.testing.assert_array_equal(row.icdf(q[:, b]), x[:, b])
    d32 = MixtureSameFamily(
        Categorical(probs=w.astype(np.float32)), Normal(loc.astype(np.float32), scale.astype(np.float32))
    )
    x32 = d32.icdf(q.astype(np.float32))
    assert x32.dtype == np.float32
    # the float32 result is the float64 quantile of the float32 parameters, rounded once
    d64 = MixtureSameFamily(
        Categorical(probs=d32.mixture_distribution.probs.astype(np.float64)),
        Normal(loc.astype(np.float32).astype(np.float64), scale.astype(np.float32).astype(np.float64)),
    )
    # (to the conditioning of the quantile: the float64 weights differ by a renormalisation)
    np.testing.assert_allclose(x32, d64.icdf(q.astype(np.float32).astype(np.float64)), rtol=1e-5)


def test_nested_mixture_by_bisection_matches_the_flat_mixture():
    inner = MixtureSameFamily(
        Categorical(probs=np.array([[0.3, 0.7], [0.5, 0.5]])),
        Normal(np.array([[-1.0, 1.0], [3.0, 5.0]]), np.array([[1.0, 0.5], [1.0, 2.0]])),
    )
    outer = MixtureSameFamily(Categorical(probs=np.array([0.4, 0.6])), inner)
    flat = MixtureSameFamily(
        Categorical(probs=np.array([0.12, 0.28, 0.3, 0.3])),
        Normal(np.array([-1.0, 1.0, 3.0, 5.0]), np.array([1.0, 0.5, 1.0, 2.0])),
    )
    q = np.array([0.0, 1e-6, 0.2, 0.5, 0.8, 1 - 1e-9, 1.0])
    np.testing.assert_allclose(outer.icdf(q), flat.icdf(q), rtol=4e-16, atol=0)


def test_agrees_with_scipy_stats_mixture():
    if not hasattr(stats, "Mixture"):
        pytest.skip("scipy.stats.Mixture needs SciPy 1.15 or newer")
    w = np.array([0.25, 0.45, 0.3])
    mu = np.array([-2.0, 0.0, 3.0])
    sg = np.array([0.5, 1.0, 1.5])
    ref = stats.Mixture([stats.Normal(mu=m, sigma=s) for m, s in zip(mu, sg)], weights=w)
    d = MixtureSameFamily(Categorical(probs=w), Normal(mu, sg))
    q = np.array([1e-8, 0.01, 0.2, 0.5, 0.7, 0.99, 1 - 1e-8])
    np.testing.assert_allclose(d.icdf(q), ref.icdf(q), rtol=1e-9)
    # (where SciPy's log1p(-cdf) keeps its digits: the tail probabilities are not ~1e-16)
    x = np.array([-9.0, -1.0, 0.5, 3.0])
    np.testing.assert_allclose(d.log_cdf(x), ref.logcdf(x), rtol=1e-9)
    x = np.array([-1.0, 0.5, 7.0, 12.0])
    np.testing.assert_allclose(d.log_survival_function(x), ref.logccdf(x), rtol=1e-9)


# -- quasi-Monte Carlo ----------------------------------------------------------
def test_qmc_samples_shape_seed_and_support():
    d = MixtureSameFamily(
        Categorical(probs=np.array([[0.3, 0.7], [0.5, 0.5]])),
        Gamma(np.array([[2.0, 9.0], [1.0, 3.0]]), np.array([1.0, 0.5])),
    )
    s = d.sample((64, 3), rng=5, method="qmc")
    assert s.shape == (64, 3, 2) and np.all(s > 0)
    np.testing.assert_array_equal(s, d.sample((64, 3), rng=5, method="qmc"))
    assert not np.array_equal(s, d.sample((64, 3), rng=6, method="qmc"))
    with pytest.raises(ValueError, match="method"):
        d.sample((4,), method="sobol")
    with pytest.raises(ValueError, match="return_index"):
        d.sample((4,), method="qmc", return_index=True)
    g = Gamma(np.float32(2.0), np.float32(1.0)).sample((8,), rng=1, method="qmc")
    assert g.dtype == np.float32 and g.shape == (8,)


def test_qmc_mean_error_falls_faster_than_monte_carlo():
    """RMSE of the mean over 16 scrambles at n = 4096 against the Monte Carlo standard error
    sigma / sqrt(n): randomised QMC on a smooth 1-D integrand is far below it (a false alarm
    would need 16 scrambles all 10x worse than their typical n**-1.5 error)."""
    w = np.array([0.3, 0.7])
    mu = np.array([-2.0, 2.0])
    sg = np.array([0.5, 1.0])
    d = MixtureSameFamily(Categorical(probs=w), Normal(mu, sg))
    exact = float(w @ mu)
    sd = float(np.sqrt(w @ (sg**2 + mu**2) - exact**2))
    n = 4096
    errs = [d.sample((n,), rng=s, method="qmc").mean() - exact for s in range(16)]
    rmse = float(np.sqrt(np.mean(np.square(errs))))
    assert rmse < 0.1 * sd / math.sqrt(n)
    # and its mean is unbiased within 5 of its own standard errors
    assert abs(np.mean(errs)) < 5 * np.std(errs) / math.sqrt(16) + 1e-12


def test_table_path_of_many_points_meets_the_accuracy_promise():
    """A shared mixture with many points takes the CPU's quantile table (Hermite starts, one
    Newton step, the SIMD hooks in the bulk): checked against mpmath on a subset, and
    against the per-point solver (a small call) on all points."""
    from mixstat.kernels.quantile import TABLE_MIN_POINTS

    rng = np.random.default_rng(11)
    K = 8
    w = rng.dirichlet(np.ones(K))
    w[3] = 0.0
    w /= w.sum()
    loc = rng.normal(0, 3, K)
    scale = rng.uniform(0.3, 2.0, K)
    d = MixtureSameFamily(Categorical(probs=w), Normal(loc, scale))
    n = TABLE_MIN_POINTS + 1000
    q = np.concatenate([rng.uniform(size=n - 40), 10.0 ** -rng.uniform(3, 17, 20), 1 - 10.0 ** -rng.uniform(3, 15, 20)])
    x = d.icdf(q)
    F = _mp_normal_mix(w, loc, scale)
    pick = np.concatenate([rng.choice(n - 40, 150, replace=False), np.arange(n - 40, n)])
    bad = [(q[i], x[i]) for i in pick if not _accurate(x[i], q[i], F)]
    assert not bad, bad
    # the per-point solver (fewer points than the table's threshold) gives equally valid
    # answers: the two agree to the conditioning of the quantile
    small = np.concatenate([d.icdf(q[i : i + 5000]) for i in range(0, n, 5000)])
    f = d.prob(x)
    np.testing.assert_array_less(np.abs(small - x) * f, 8 * np.spacing(np.maximum(q, 1 - q)) + 1e-300)


def test_table_path_of_an_unbounded_family():
    from mixstat.kernels.quantile import TABLE_MIN_POINTS

    rng = np.random.default_rng(2)
    a = np.array([0.5, 2.0, 7.0])
    r = np.array([1.0, 0.5, 2.0])
    w = np.array([0.3, 0.3, 0.4])
    d = MixtureSameFamily(Categorical(probs=w), Gamma(a, r))
    q = rng.uniform(size=TABLE_MIN_POINTS + 10)
    x = d.icdf(q)
    refs = [stats.gamma(a[i], scale=1 / r[i]) for i in range(3)]
    sub = rng.choice(q.size, 300, replace=False)

    def cdf(v):
        return sum(w[i] * refs[i].cdf(v) for i in range(3))

    def sf(v):
        return sum(w[i] * refs[i].sf(v) for i in range(3))

    assert _round_trip_ok(x[sub], q[sub], cdf, sf).all()
