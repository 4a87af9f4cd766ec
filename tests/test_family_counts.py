"""Poisson and NegativeBinomial: what the generic tests cannot know.

Draws (through the public API, ``Class(...).sample((N,), rng=seed)``)
--------------------------------------------------------------------
Pearson chi-square tests of the counts in up to 60 cells of about equal
probability (cells are integer ranges cut at the scipy quantiles, each with its
exact scipy probability; the two outer cells hold the tails, so every cell
expects hundreds of draws), ``N = 200000`` draws each, at the Poisson sampler's
switch point (rate 9.9: inversion; 10 and 10.1: PTRS), small and moderate rates
(0.05, 1, 50) and large ones (1e4, 1e7, 1e12), and NegativeBinomial with
``total_count`` below and above 1 and Gamma-Poisson rates on both sides of 10
(``p`` = 0.95 gives rates around 19 ``total_count``).  ``N_CHI2`` tests, each
at ``ALPHA = 0.001 / N_CHI2``: by Bonferroni the probability that correct
samplers fail any chi-square test of this file is at most 0.001.  Also a
statistical check at 6 standard errors (false alarm below 1e-8): the
correlation of the coordinates of an ``Independent`` NegativeBinomial (a
coordinate's draw uses its own counter words only).

Values
------
* ``log_prob`` against mpmath (50 digits) in the tails and at large rates, within
  ``1e-13 * max(1, |log p|)`` plus ``4 eps`` times the size of the terms that
  cancel (``|x log rate| + rate + log x!``; the same cancellation is in scipy's
  ``logpmf``); ``cdf`` within ``1e-12`` relative where it is below 1/2 (lower
  tails down to 1e-250) and ``1e-14`` absolute above.
* Non-integer and negative values: ``log_prob = -inf``, ``cdf`` of the floor,
  ``ValueError`` under ``validate_args=True``; rate 0 (mass 1 at 0);
  bad parameters raise ``ValueError`` naming the parameter, before any kernel runs.
* Mixtures with K = 16 against scipy (both CPU tile paths); float32 in, float32 out;
  no NumPy warnings on valid input.
"""

import math
import warnings

import mpmath as mp
import numpy as np
import pytest
from scipy import special, stats

from mixstat.distributions import Categorical, Independent, MixtureSameFamily, NegativeBinomial, Poisson

N = 200000
POISSON_RATES = [0.05, 1.0, 9.9, 10.0, 10.1, 50.0, 1e4, 1e7, 1e12]
NB_PARAMS = [(0.3, 0.5), (1.0, 0.2), (2.5, 0.7), (0.5, 0.95), (4.0, 0.95), (100.0, 0.5)]
N_CHI2 = len(POISSON_RATES) + len(NB_PARAMS) + 1  # + the float32 Poisson
ALPHA = 0.001 / N_CHI2
_count = [0]


def _chi_square(x, frozen, label, cuts=None, cdf=None):
    """Chi-square of ``x`` in cells of about equal probability (see the module docstring):
    cell ``i`` holds ``cuts[i-1] < x <= cuts[i]``; ``cuts`` default to scipy's quantiles and
    ``cdf`` to scipy's cdf."""
    x = np.asarray(x)
    assert x.dtype == np.int64 and np.all(x >= 0)
    if cuts is None:
        cuts = frozen.ppf(np.linspace(0, 1, 61)[1:-1])
    cuts = np.unique(cuts)
    probs = np.diff(np.concatenate([[0.0], (cdf or frozen.cdf)(cuts), [1.0]]))
    counts = np.bincount(np.searchsorted(cuts, x, side="left"), minlength=probs.size)
    keep = probs > 0
    assert counts[~keep].sum() == 0
    assert N * probs[keep].min() > 50, "a cell expects too few draws"
    _count[0] += 1
    assert _count[0] <= N_CHI2, "more chi-square tests than N_CHI2: the Bonferroni count is wrong"
    p = stats.chisquare(counts[keep], N * probs[keep] / probs[keep].sum()).pvalue
    assert p > ALPHA, f"{label}: p = {p:.3g} <= {ALPHA:.3g}"


@pytest.mark.parametrize("rate", POISSON_RATES)
def test_poisson_sampler_chi_square(rate):
    x = Poisson(rate).sample((N,), rng=int(1000 + 7 * math.log10(rate + 1) * 100))
    cuts = cdf = None
    if rate > 1e6:  # scipy's poisson.ppf fails at 1e12: integer cuts near the normal quantiles,
        # each cell's probability from the regularised incomplete gamma (agrees with mpmath there)
        cuts = np.floor(rate + math.sqrt(rate) * stats.norm.ppf(np.linspace(0, 1, 61)[1:-1]))
        cdf = lambda k: special.gammaincc(k + 1.0, rate)
    _chi_square(x, stats.poisson(rate), f"Poisson({rate})", cuts, cdf)


def test_poisson_sampler_float32_at_the_switch():
    x = Poisson(np.float32(10.0)).sample((N,), rng=5)
    _chi_square(x, stats.poisson(10.0), "Poisson(float32 10)")


@pytest.mark.parametrize("n,p", NB_PARAMS)
def test_negative_binomial_sampler_chi_square(n, p):
    x = NegativeBinomial(n, probs=p).sample((N,), rng=int(2000 + 100 * n + 1000 * p))
    _chi_square(x, stats.nbinom(n, 1.0 - p), f"NegativeBinomial({n}, {p})")


def test_rate_zero_is_the_point_mass_at_zero():
    d = Poisson([0.0, 2.0])
    np.testing.assert_array_equal(d.log_prob(np.array([[0.0], [1.0]])), [[0.0, -2.0], [-np.inf, math.log(2) - 2]])
    c = d.cdf(0.0)
    assert c[0] == 1.0
    np.testing.assert_allclose(c[1], math.exp(-2.0), rtol=1e-14)
    assert np.all(d.sample((1000,), rng=1)[:, 0] == 0)
    assert Poisson(0.0).entropy() == 0.0
    # NegativeBinomial with probs 0: the point mass at 0 too
    nb = NegativeBinomial(2.0, probs=0.0)
    assert nb.log_prob(0.0) == 0.0 and nb.log_prob(3.0) == -np.inf and nb.cdf(0.0) == 1.0
    assert np.all(nb.sample((100,), rng=2) == 0)


def test_independent_coordinates_are_uncorrelated():
    """Each coordinate's draw uses its own counter words: the coordinates are independent."""
    d = Independent(NegativeBinomial(np.full(4, 3.0), probs=np.full(4, 0.9)), 1)
    x = d.sample((N,), rng=11).astype(np.float64)
    c = np.corrcoef(x.T)
    off = c[~np.eye(4, dtype=bool)]
    assert np.all(np.abs(off) < 6.0 / math.sqrt(N)), off


# ------------------------------------------------------------------ values against mpmath
mp.mp.dps = 50


def _poisson_logpmf_mp(x, r):
    if r == 0:
        return 0.0 if x == 0 else -math.inf
    return float(x * mp.log(mp.mpf(r)) - r - mp.loggamma(x + 1))


def _nb_logpmf_mp(x, n, p):
    n, p = mp.mpf(n), mp.mpf(p)
    return float(mp.loggamma(x + n) - mp.loggamma(n) - mp.loggamma(x + 1) + x * mp.log(p) + n * mp.log1p(-p))


POISSON_TAIL = [
    (1e-3, [0, 1, 5, 50]),
    (1.0, [0, 1, 30, 170]),
    (9.9, [0, 9, 60, 300]),
    (1e3, [0, 800, 1000, 1300, 5000]),
    (1e7, [9_990_000, 10_000_000, 10_020_000]),
    (1e12, [1e12 - 1e7, 1e12]),
]


@pytest.mark.parametrize("rate,xs", POISSON_TAIL)
def test_poisson_log_prob_against_mpmath(rate, xs):
    x = np.array(xs, np.float64)
    got = Poisson(rate).log_prob(x)
    for xi, g in zip(x, got):
        want = _poisson_logpmf_mp(xi, rate)
        scale = abs(xi * math.log(rate)) + rate + math.lgamma(xi + 1)
        assert abs(g - want) <= 1e-13 * max(1.0, abs(want)) + 4 * 2.2e-16 * scale, (xi, g, want)


@pytest.mark.parametrize(
    "rate,xs",
    [(1.0, [0, 3, 10, 40]), (50.0, [0, 10, 30, 49]), (1e4, [9000, 9500, 9999]), (1e7, [9_990_000, 9_999_000])],
)
def test_poisson_cdf_against_mpmath(rate, xs):
    got = Poisson(rate).cdf(np.array(xs, np.float64))
    for xi, g in zip(xs, got):
        want = float(mp.gammainc(xi + 1, rate, mp.inf, regularized=True))
        if want < 0.5:
            assert abs(g - want) <= 1e-12 * want + 1e-300, (xi, g, want)
        else:
            assert abs(g - want) <= 1e-14, (xi, g, want)


@pytest.mark.parametrize(
    "n,p,xs",
    [(0.5, 0.3, [0, 1, 50, 500]), (3.0, 0.9, [0, 5, 27, 400]), (1e3, 0.5, [500, 1000, 1500]), (2.0, 1e-10, [0, 1, 20])],
)
def test_negative_binomial_against_mpmath(n, p, xs):
    d = NegativeBinomial(n, probs=p)
    x = np.array(xs, np.float64)
    lp, cdf = d.log_prob(x), d.cdf(x)
    for xi, g, c in zip(x, lp, cdf):
        want = _nb_logpmf_mp(xi, n, p)
        scale = abs(xi * math.log(p)) + abs(n * math.log1p(-p)) + math.lgamma(xi + n) + math.lgamma(xi + 1)
        assert abs(g - want) <= 1e-13 * max(1.0, abs(want)) + 4 * 2.2e-16 * scale, (xi, g, want)
        wc = float(mp.betainc(n, xi + 1, 0, 1 - mp.mpf(p), regularized=True))
        if wc < 0.5:
            assert abs(c - wc) <= 1e-12 * wc + 1e-300, (xi, c, wc)
        else:
            assert abs(c - wc) <= 1e-14, (xi, c, wc)


def test_logits_and_probs_agree():
    p = np.array([1e-12, 0.2, 0.5, 0.9, 1 - 1e-9])
    a = NegativeBinomial(2.5, probs=p)
    b = NegativeBinomial(2.5, logits=np.log(p) - np.log1p(-p))
    x = np.array([[0.0], [3.0], [40.0]])
    np.testing.assert_allclose(a.log_prob(x), b.log_prob(x), rtol=1e-9)
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-9)
    np.testing.assert_allclose(a.variance, b.variance, rtol=1e-9)
    np.testing.assert_allclose(a.mean, 2.5 * p / (1 - p), rtol=1e-9)


# ------------------------------------------------------------------ values off the support
@pytest.mark.parametrize(
    "make",
    [lambda: Poisson([0.5, 20.0]), lambda: NegativeBinomial([0.5, 3.0], probs=0.4)],
    ids=["poisson", "negative_binomial"],
)
def test_values_off_the_support(make):
    d = make()
    v = np.array([[0.5], [-1.0], [-0.5], [2.25], [np.inf], [-np.inf], [np.nan], [1e300], [1.7e308]])
    lp = d.log_prob(v)
    assert np.all(lp[:6] == -np.inf) and np.all(np.isnan(lp[6]))
    assert np.all(np.isfinite(lp[7]) & (lp[7] < -1e299))  # an integer far out: a finite log-mass
    assert np.all(lp[8] == -np.inf)  # log x! overflows: the mass underflows (no inf - inf NaN)
    c = d.cdf(v)
    np.testing.assert_array_equal(c[0], d.cdf(0.0))
    np.testing.assert_array_equal(c[3], d.cdf(2.0))
    assert np.all(c[1] == 0) and np.all(c[2] == 0) and np.all(c[4] == 1) and np.all(c[5] == 0)
    assert np.all(np.isnan(c[6]))
    checked = type(d)(*_args(d), validate_args=True)
    for bad in (0.5, -1.0, np.inf, 2.25):
        with pytest.raises(ValueError, match="support"):
            checked.log_prob(bad)
    checked.log_prob(np.array([0.0, 3.0, 1e6]).reshape(3, 1))  # integers pass


def _args(d):
    if isinstance(d, Poisson):
        return (d.rate,)
    return (d.total_count, d.probs)


# ------------------------------------------------------------------ bad parameters
@pytest.mark.parametrize(
    "kw,name",
    [
        (dict(rate=[1.0, -1.0]), "rate"),
        (dict(rate=[np.nan]), "rate"),
        (dict(rate=np.inf), "rate"),
    ],
)
def test_poisson_bad_parameters(kw, name):
    with pytest.raises(ValueError, match=rf"parameter {name} of shape"):
        Poisson(**kw)


@pytest.mark.parametrize(
    "kw,name",
    [
        (dict(total_count=0.0, probs=0.5), "total_count"),
        (dict(total_count=[-1.0, 2.0], probs=0.5), "total_count"),
        (dict(total_count=np.nan, probs=0.5), "total_count"),
        (dict(total_count=np.inf, probs=0.5), "total_count"),
        (dict(total_count=2.0, probs=[0.5, -0.1]), "probs"),
        (dict(total_count=2.0, probs=1.0), "probs"),
        (dict(total_count=2.0, probs=1.5), "probs"),
        (dict(total_count=2.0, probs=np.nan), "probs"),
        (dict(total_count=2.0, logits=np.nan), "logits"),
        (dict(total_count=2.0, logits=np.inf), "logits"),
    ],
)
def test_negative_binomial_bad_parameters(kw, name):
    with pytest.raises(ValueError, match=rf"parameter {name} of shape"):
        NegativeBinomial(**kw)


def test_negative_binomial_needs_exactly_one_of_probs_and_logits():
    with pytest.raises(ValueError, match="exactly one"):
        NegativeBinomial(2.0)
    with pytest.raises(ValueError, match="exactly one"):
        NegativeBinomial(2.0, probs=0.5, logits=0.0)


def test_negative_binomial_entropy_not_implemented():
    with pytest.raises(NotImplementedError):
        NegativeBinomial(2.0, probs=0.5).entropy()


def test_poisson_entropy():
    r = np.array([0.0, 1e-3, 0.7, 10.0, 300.0, 9999.0, 1e4, 1e8])
    got = Poisson(r).entropy()
    want = [0.0] + [float(stats.poisson(x).entropy()) for x in r[1:5]]
    np.testing.assert_allclose(got[:5], want, rtol=1e-12, atol=1e-15)
    # the series above 1e4 agrees with the sum just below; 1e8 against the leading terms
    assert abs(got[5] - got[6]) < 1e-3
    np.testing.assert_allclose(got[7], 0.5 * math.log(2 * math.pi * math.e * 1e8) - 1 / 12e8, rtol=1e-15)


# ------------------------------------------------------------------ mixtures, dtypes, warnings
@pytest.mark.parametrize("batch", [(), (300,)], ids=["along-samples", "along-batch"])
@pytest.mark.parametrize("family", ["poisson", "negative_binomial"])
def test_mixture_k16_against_scipy(family, batch):
    rng = np.random.default_rng(3)
    K = 16
    w = rng.uniform(0.1, 1.0, batch + (K,))
    w[..., 3] = 0.0
    if family == "poisson":
        r = rng.uniform(0.0, 60.0, batch + (K,))
        comp, ref = Poisson(r), stats.poisson(r)
    else:
        n, p = rng.uniform(0.2, 8.0, batch + (K,)), rng.uniform(0.0, 0.9, batch + (K,))
        comp, ref = NegativeBinomial(n, probs=p), stats.nbinom(n, 1 - p)
    d = MixtureSameFamily(Categorical(probs=w), comp)
    # and counts on both sides of the end of the log x! table (1024: pre1 calls lgamma above it)
    x = np.concatenate([np.arange(0.0, 90.0), np.arange(1020.0, 1030.0)]).reshape((-1,) + (1,) * len(batch))
    wn = w / w.sum(-1, keepdims=True)
    with np.errstate(divide="ignore"):
        want = special.logsumexp(np.log(wn) + ref.logpmf(x[..., None]), axis=-1)
    np.testing.assert_allclose(d.log_prob(x), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(d.cdf(x), (wn * ref.cdf(x[..., None])).sum(-1), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "make",
    [
        lambda dt: Poisson(np.array([0.5, 30.0], dt)),
        lambda dt: NegativeBinomial(np.array([0.5, 3.0], dt), probs=np.array(0.3, dt)),
        lambda dt: NegativeBinomial(np.array(2.0, dt), logits=np.array([-1.0, 2.0], dt)),
    ],
    ids=["poisson", "nb-probs", "nb-logits"],
)
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_dtypes_and_no_warnings(make, dt):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = make(dt)
        v = np.array([[0.0], [1.0], [7.0], [0.5], [-3.0], [np.inf], [np.nan]], dt)
        for out in (d.log_prob(v), d.cdf(v), d.mean, d.variance, d.stddev):
            assert np.asarray(out).dtype == dt
        s = d.sample((50,), rng=0)
        assert s.dtype == np.int64 and s.shape == (50, 2)
        e = d.expand((3, 2))
        assert type(e) is type(d) and e.batch_shape == (3, 2)
        np.testing.assert_array_equal(e.log_prob(v[:, None])[:, 0], d.log_prob(v))


def test_float32_counts_above_2_to_24_are_not_rounded():
    """Discrete draws are written as int64 by the kernel (a float32 buffer rounded counts above
    2**24 to multiples of 4, 8, ...)."""
    d = Poisson(np.float32(5e7))
    s = d.sample((400,), rng=3)
    assert s.dtype == np.int64
    assert np.count_nonzero(s % 8) > 300  # a rounded draw would always be a multiple of 4
    assert abs(s.mean() - 5e7) < 5 * np.sqrt(5e7 / 400)


@pytest.mark.parametrize("n, p, rtol", [(1e9, 0.5, 1e-10), (1e10, 0.3, 1e-10), (1e12, 0.5, 1e-9)])
def test_huge_parameter_cdf_near_the_median(n, p, rtol):
    """The incomplete beta's continued fraction needs about sqrt(min(a, b)) steps near the mean:
    with a fixed cap of 3000 a Binomial cdf with n p (1 - p) above ~1e8 was wrong there (0 at
    n = 1e12), and so were NegativeBinomial and Beta with huge parameters.  Against SciPy (Boost).
    The fraction's rounding grows with its length: 1.4e-10 relative at n = 1e12 (hence rtol)."""
    from mixstat.distributions import Beta, Binomial

    sd = math.sqrt(n * p * (1 - p))
    k = np.floor(n * p + np.array([-2.0, -0.3, 0.0, 0.4, 2.0]) * sd)
    np.testing.assert_allclose(Binomial(n, probs=p).cdf(k), stats.binom.cdf(k, n, p), rtol=rtol, atol=0)
    a, b = n * p, n * (1 - p)
    z = np.array([-2.0, 0.0, 0.5, 2.0])
    x = a / (a + b) + z * math.sqrt(a * b / (a + b) ** 3)
    if a == b and a >= 1e11:
        # SciPy's beta.cdf is off by 7e-5 relative here; Beta(a, a) has no skew and an excess
        # kurtosis of -6 / (2 a + 3): the normal cdf is exact to ~1e-12 relative
        want = stats.norm.cdf((x - 0.5) / math.sqrt(a * b / (a + b) ** 2 / (a + b + 1)))
    else:
        want = stats.beta.cdf(x, a, b)
    np.testing.assert_allclose(Beta(a, b).cdf(x), want, rtol=rtol, atol=0)
    # NegativeBinomial(r, probs) counts successes (probs) before r failures: SciPy's nbinom(r, 1 - probs)
    r, q = n / 10.0, 0.4
    mean, sdn = r * q / (1 - q), math.sqrt(r * q) / (1 - q)
    kk = np.floor(mean + np.array([-1.0, 0.0, 1.0]) * sdn)
    np.testing.assert_allclose(NegativeBinomial(r, probs=q).cdf(kk), stats.nbinom.cdf(kk, r, 1 - q), rtol=rtol, atol=0)
