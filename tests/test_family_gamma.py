"""Gamma, Beta and Uniform: values against scipy and mpmath, draws, errors, mixtures, float32.

Values
------
* Bulk (scipy.stats, float64): ``log_prob`` and ``cdf`` at quantiles 0.001 ..
  0.999 of each distribution within ``rtol = 1e-12`` (``atol = 1e-12`` for
  log-densities near 0), for Gamma concentrations 1e-3, 0.05, 0.5, 0.999, 1,
  1.001, 3, 30 and Beta (0.1, 0.2), (0.5, 0.5), (1, 1), (1, 3), (2.5, 7), (20, 30).
* Tails (mpmath, 50 digits), the accuracy claimed: ``log_prob`` within
  ``1e-13 * max(1, |log p|)`` at Gamma x = 1e-300 .. 700 / rate and Beta
  x = 1e-300 .. 1 - 1e-15; ``cdf`` within ``1e-13`` relative where it is below
  1/2 (lower tails down to 1e-300; a true value below 1e-290 may come out as
  0 or a subnormal, within 1e-300 absolute), within ``1e-15`` absolute where it
  is 1/2 or more.  (scipy's Beta cdf is off by 3.5e-11 near x = 1 for
  (0.5, 0.5); mpmath, not scipy, is the reference in the tails.)

Draws (through the public API, ``Class(...).sample((n,), rng=seed)``)
-------------------------------------------------------------------
Kolmogorov-Smirnov tests against the scipy cdf at the sampler's switch points:
Gamma concentration 0.999, 1, 1.001 (Marsaglia-Tsang at a >= 1, the boost
below) and 0.05; Gamma 1e-3 through the probability integral transform
``u = P(a, rate x)`` (most of these draws are below 1e-300 and about half
underflow to 0: draws below the smallest normal float64 get ``u`` uniform on
``(0, P(a, rate 2**-1022))``, which is the conditional law of ``u`` given that
event, so ``u`` is exactly uniform for a correct sampler); Beta (0.1, 0.2) and
(0.5, 0.5) (both concentrations below 1); a Uniform; and a Gamma mixture with
concentrations below 1.  ``N_KS`` tests, each at ``ALPHA = 0.001 / N_KS``: by
Bonferroni the probability that correct samplers fail any KS test of this file
(the family-wise false-alarm rate) is at most 0.001.  Every other check is
exact or has a stated tolerance, and has no false-alarm rate.

Two more statistical checks, at 6 standard errors or more (each false alarm below
1e-8): the share of small draws of Gamma(0.01, rate 1e-300), and the correlation of
the coordinates of an Independent Beta.

Also: bad parameters (NaN included) raise ValueError naming the parameter;
``validate_args=True`` rejects values outside the support; out-of-support
values give ``log_prob = -inf`` and cdf 0 or 1; mixtures with K = 16 and a
zero-weight component against scipy (both CPU tile paths: along the samples
for small batches, along the batch for 256 or more); Gamma mixtures with
concentrations below 1 (unbounded densities: the running-maximum path);
float32 in, float32 out.
"""

import math

import mpmath as mp
import numpy as np
import pytest
from scipy import special, stats

from mixstat.distributions import Beta, Categorical, Gamma, Independent, MixtureSameFamily, Uniform

N_KS = 9
ALPHA = 0.001 / N_KS
_ks_count = [0]

GAMMA_A = [1e-3, 0.05, 0.5, 0.999, 1.0, 1.001, 3.0, 30.0]
BETA_AB = [(0.1, 0.2), (0.5, 0.5), (1.0, 1.0), (1.0, 3.0), (2.5, 7.0), (20.0, 30.0)]
Q = np.linspace(0.001, 0.999, 101)


def ks(x, cdf):
    _ks_count[0] += 1
    assert _ks_count[0] <= N_KS, "more KS tests than N_KS counts: fix the false-alarm rate"
    assert np.all(np.isfinite(x))
    r = stats.kstest(x, cdf)
    assert r.pvalue > ALPHA, f"KS p = {r.pvalue:.3g} <= {ALPHA:.3g} (D = {r.statistic:.3g})"


# ------------------------------------------------------------------ bulk against scipy
@pytest.mark.parametrize("a", GAMMA_A)
@pytest.mark.parametrize("rate", [0.5, 2.0])
def test_gamma_bulk_against_scipy(a, rate):
    ref = stats.gamma(a, scale=1.0 / rate)
    x = ref.ppf(Q)
    x = x[x > 0]  # ppf of a = 1e-3 underflows to 0 below q ~ 0.5
    d = Gamma(a, rate)
    np.testing.assert_allclose(d.log_prob(x), ref.logpdf(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(d.cdf(x), ref.cdf(x), rtol=1e-12, atol=0)


@pytest.mark.parametrize("a,b", BETA_AB)
def test_beta_bulk_against_scipy(a, b):
    ref = stats.beta(a, b)
    x = ref.ppf(Q)
    x = x[(x > 0) & (x < 1)]
    d = Beta(a, b)
    np.testing.assert_allclose(d.log_prob(x), ref.logpdf(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(d.cdf(x), ref.cdf(x), rtol=1e-12, atol=0)


def test_uniform_against_scipy():
    lo, hi = np.array([-2.0, 0.0, 1e-3]), np.array([3.0, 1e-6, 1e3])
    d = Uniform(lo, hi)
    ref = stats.uniform(loc=lo, scale=hi - lo)
    x = lo + (hi - lo) * np.linspace(-0.2, 1.2, 57)[:, None]
    inside = (x >= lo) & (x < hi)
    want = np.where(inside, ref.logpdf(x), -np.inf)
    np.testing.assert_allclose(d.log_prob(x), want, rtol=1e-15)
    np.testing.assert_allclose(d.cdf(x), ref.cdf(x), rtol=1e-15, atol=1e-16)
    np.testing.assert_allclose(d.entropy(), ref.entropy(), rtol=1e-15)
    np.testing.assert_allclose(d.mean, ref.mean(), rtol=1e-15)
    np.testing.assert_allclose(d.variance, ref.var(), rtol=1e-14)


@pytest.mark.parametrize("a", GAMMA_A)
def test_gamma_moments_and_entropy(a):
    d = Gamma(a, 2.0)
    ref = stats.gamma(a, scale=0.5)
    np.testing.assert_allclose(d.mean, ref.mean(), rtol=1e-15)
    np.testing.assert_allclose(d.variance, ref.var(), rtol=1e-14)
    np.testing.assert_allclose(d.entropy(), ref.entropy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("a,b", BETA_AB)
def test_beta_moments_and_entropy(a, b):
    d = Beta(a, b)
    ref = stats.beta(a, b)
    np.testing.assert_allclose(d.mean, ref.mean(), rtol=1e-14)
    np.testing.assert_allclose(d.variance, ref.var(), rtol=1e-13)
    np.testing.assert_allclose(d.entropy(), ref.entropy(), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ tails against mpmath
mp.mp.dps = 50


def _check_tail(got_lp, want_lp, got_cdf, want_cdf, what):
    for gl, wl, gc, wc, w in zip(got_lp, want_lp, got_cdf, want_cdf, what):
        err = abs(mp.mpf(float(gl)) - wl)
        assert err <= 1e-13 * max(1, abs(wl)), ("log_prob", w, gl, wl)
        if wc < 0.5:
            if wc < mp.mpf("1e-290"):
                assert abs(mp.mpf(float(gc)) - wc) <= mp.mpf("1e-300"), ("cdf", w, gc, wc)
            else:
                assert abs(mp.mpf(float(gc)) - wc) <= 1e-13 * wc, ("cdf", w, gc, wc)
        else:
            assert abs(mp.mpf(float(gc)) - wc) <= 1e-15, ("cdf", w, gc, wc)


@pytest.mark.parametrize("a", [1e-3, 0.5, 0.999, 1.0, 1.001, 3.0, 300.0])
@pytest.mark.parametrize("rate", [0.5, 2.0])
def test_gamma_tails_against_mpmath(a, rate):
    x = np.array(
        [1e-300, 1e-100, 1e-20, 1e-5, a / rate, (50.0 + a) / rate, (200.0 + 3 * a) / rate, (700.0 + 3 * a) / rate]
    )
    d = Gamma(a, rate)
    A, R = mp.mpf(a), mp.mpf(rate)
    lp, cd = [], []
    for xv in x:
        X = mp.mpf(float(xv))
        lp.append(A * mp.log(R) - mp.loggamma(A) + (A - 1) * mp.log(X) - R * X)
        cd.append(mp.gammainc(A, 0, R * X, regularized=True))
    _check_tail(d.log_prob(x), lp, d.cdf(x), cd, [(a, rate, float(v)) for v in x])


@pytest.mark.parametrize("a,b", [(0.1, 0.2), (0.5, 0.5), (1.0, 3.0), (2.5, 7.0), (20.0, 30.0), (300.0, 0.5)])
def test_beta_tails_against_mpmath(a, b):
    x = np.array([1e-300, 1e-100, 1e-10, 0.1, 0.5, 0.9, 1 - 1e-10, 1 - 1e-15])
    d = Beta(a, b)
    A, B = mp.mpf(a), mp.mpf(b)
    lp, cd = [], []
    for xv in x:
        X = mp.mpf(float(xv))
        lp.append((A - 1) * mp.log(X) + (B - 1) * mp.log(1 - X) - mp.log(mp.beta(A, B)))
        cd.append(mp.betainc(A, B, 0, X, regularized=True))
    _check_tail(d.log_prob(x), lp, d.cdf(x), cd, [(a, b, float(v)) for v in x])


# ------------------------------------------------------------------ special values, support
def test_gamma_special_values():
    x = np.array([0.0, -1.0, -np.inf, np.inf, np.nan])
    with np.errstate(divide="ignore"):
        for a, at0 in [(0.5, np.inf), (1.0, math.log(2.0)), (2.0, -np.inf)]:
            d = Gamma(a, 2.0)
            np.testing.assert_array_equal(d.log_prob(x), [at0, -np.inf, -np.inf, -np.inf, np.nan])
            np.testing.assert_array_equal(d.cdf(x), [0.0, 0.0, 0.0, 1.0, np.nan])
            # the same values as a batch (the tile along the batch) and under Independent
            db = Gamma(np.full(300, a), 2.0)
            np.testing.assert_array_equal(db.log_prob(x[:, None])[:, 7], [at0, -np.inf, -np.inf, -np.inf, np.nan])
    assert Gamma(0.5, 1.0).log_prob(1e-300) == pytest.approx(stats.gamma(0.5).logpdf(1e-300), rel=1e-13)


def test_beta_special_values():
    x = np.array([0.0, 1.0, -0.5, 1.5, -np.inf, np.inf, np.nan])
    for (a, b), (at0, at1) in [
        ((0.5, 0.5), (np.inf, np.inf)),
        ((1.0, 3.0), (math.log(3.0), -np.inf)),
        ((3.0, 1.0), (-np.inf, math.log(3.0))),
        ((1.0, 1.0), (0.0, 0.0)),
        ((2.0, 0.5), (-np.inf, np.inf)),
    ]:
        d = Beta(a, b)
        got = d.log_prob(x)
        np.testing.assert_allclose(got, [at0, at1, -np.inf, -np.inf, -np.inf, -np.inf, np.nan], rtol=1e-15)
        np.testing.assert_array_equal(d.cdf(x), [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, np.nan])
    assert abs(Beta(1.0, 1.0).log_prob(0.3)) < 1e-16


def test_uniform_special_values():
    d = Uniform(-1.0, 3.0)
    x = np.array([-1.0, 3.0, np.nextafter(3.0, 0), -1.5, 3.5, -np.inf, np.inf, np.nan])
    lw = -math.log(4.0)
    np.testing.assert_array_equal(d.log_prob(x), [lw, -np.inf, lw, -np.inf, -np.inf, -np.inf, -np.inf, np.nan])
    np.testing.assert_array_equal(d.cdf(x), [0.0, 1.0, (np.nextafter(3.0, 0) + 1) / 4, 0.0, 1.0, 0.0, 1.0, np.nan])


@pytest.mark.parametrize(
    "make,bad,good",
    [
        (lambda: Gamma(2.0, 1.0, validate_args=True), [-1e-300, -1.0, np.nan], [0.0, 1.0, np.inf]),
        (lambda: Beta(2.0, 0.5, validate_args=True), [-1e-300, 1.0 + 1e-15, 2.0, np.nan], [0.0, 0.5, 1.0]),
        (
            lambda: Uniform([0.0, 1.0], 2.0, validate_args=True),
            [[-0.5, 1.5], [0.5, 0.5], [1.0, 2.5]],
            [[0.0, 1.0], [2.0, 2.0], [1.0, 1.5]],
        ),
    ],
    ids=["gamma", "beta", "uniform"],
)
def test_validate_args_rejects_values_outside_the_support(make, bad, good):
    d = make()
    for v in bad:
        with pytest.raises(ValueError, match="support"):
            d.log_prob(v)
        with pytest.raises(ValueError, match="support"):
            d.cdf(v)
    for v in good:
        d.log_prob(v)
        d.cdf(v)


def test_out_of_support_values_without_validation():
    with np.errstate(divide="ignore"):
        assert Gamma(2.0, 1.0).log_prob(-3.0) == -np.inf and Gamma(2.0, 1.0).cdf(-3.0) == 0.0
        assert Beta(2.0, 3.0).log_prob(-0.1) == -np.inf and Beta(2.0, 3.0).cdf(-0.1) == 0.0
        assert Beta(2.0, 3.0).log_prob(1.1) == -np.inf and Beta(2.0, 3.0).cdf(1.1) == 1.0
        assert Uniform(0.0, 1.0).log_prob(-0.1) == -np.inf and Uniform(0.0, 1.0).cdf(-0.1) == 0.0
        assert Uniform(0.0, 1.0).log_prob(1.1) == -np.inf and Uniform(0.0, 1.0).cdf(1.1) == 1.0


# ------------------------------------------------------------------ bad parameters
BAD = [0.0, -1.0, np.nan, np.inf, -np.inf]


@pytest.mark.parametrize("bad", BAD)
def test_bad_parameters_raise_naming_them(bad):
    with pytest.raises(ValueError, match="concentration"):
        Gamma([1.0, bad], 1.0)
    with pytest.raises(ValueError, match="rate"):
        Gamma(1.0, [bad, 1.0])
    with pytest.raises(ValueError, match="concentration1"):
        Beta(bad, 1.0)
    with pytest.raises(ValueError, match="concentration0"):
        Beta(1.0, bad)
    if not (bad == bad and np.isfinite(bad)):  # NaN and +-inf: not finite
        with pytest.raises(ValueError, match="low"):
            Uniform(bad, 1e300)
        with pytest.raises(ValueError, match="high"):
            Uniform(-1e300, bad)
    # unchecked on request
    Gamma(bad, bad, validate_args=False)
    Beta(bad, bad, validate_args=False)


@pytest.mark.parametrize("low,high", [(1.0, 1.0), (2.0, 1.0), ([0.0, 3.0], [1.0, 2.0])])
def test_uniform_low_below_high(low, high):
    with pytest.raises(ValueError, match=r"low of shape .* and high of shape .*low < high") as e:
        Uniform(low, high)
    assert "first at index" in str(e.value)
    Uniform(low, high, validate_args=False)  # unchecked on request


def test_shapes_do_not_broadcast():
    for cls in (Gamma, Beta, Uniform):
        with pytest.raises(ValueError, match="broadcast"):
            cls(np.ones(3), np.full(2, 2.0))


# ------------------------------------------------------------------ draws (KS)
def test_draws_gamma_switch_points():
    for a in (0.999, 1.0, 1.001, 0.05):
        x = Gamma(a, 1.5).sample((100_000,), rng=101)
        assert np.all(x >= 0)
        ks(x, stats.gamma(a, scale=1 / 1.5).cdf)


def test_draws_gamma_tiny_concentration_through_the_cdf():
    a, rate = 1e-3, 2.0
    x = Gamma(a, rate).sample((200_000,), rng=102)
    assert np.all(np.isfinite(x)) and np.all(x >= 0)
    tiny = 2.0**-1022
    low = x < tiny
    # most draws are below 1e-300 and about half underflow to 0
    assert np.mean(x < 1e-300) > 0.45 and np.mean(x == 0) > 0.3
    y = np.where(low, 1.0, x) * rate
    ly = np.log(y)
    u = np.where(ly < -30.0, np.exp(a * ly - special.gammaln(a + 1.0)), special.gammainc(a, y))
    # P(a, y) for y < e**-30: y**a / Gamma(a + 1) (1 - a y / (a + 1) + ...), the rest below 1e-13
    c = float(mp.gammainc(a, 0, rate * mp.mpf(tiny), regularized=True))
    fill = np.random.default_rng(7).uniform(0.0, c, size=x.shape)
    ks(np.where(low, fill, u), "uniform")


def test_draws_beta_small_concentrations():
    for a, b in ((0.1, 0.2), (0.5, 0.5)):
        x = Beta(a, b).sample((100_000,), rng=103)
        assert np.all((x >= 0) & (x <= 1))
        ks(x, stats.beta(a, b).cdf)


def test_draws_uniform():
    x = Uniform(-1.5, 2.5).sample((100_000,), rng=104)
    assert np.all((x >= -1.5) & (x < 2.5))
    ks(x, stats.uniform(-1.5, 4.0).cdf)


def test_draws_gamma_mixture_below_one():
    w = np.array([0.3, 0.2, 0.5])
    a = np.array([0.05, 0.7, 2.5])
    r = np.array([1.0, 3.0, 0.5])
    x = MixtureSameFamily(Categorical(probs=w), Gamma(a, r)).sample((100_000,), rng=105)
    ks(x, lambda t: (w * stats.gamma(a, scale=1 / r).cdf(np.asarray(t)[:, None])).sum(-1))


def test_uniform_draws_never_reach_high():
    # a width of one ulp: low + w U rounds to high for U > 1/2 unless clipped
    for dt in (np.float64, np.float32):
        lo = dt(1.0)
        hi = np.nextafter(lo, dt(2.0))
        x = Uniform(lo, hi).sample((1000,), rng=106)
        assert x.dtype == dt and np.all(x == lo)
    x = Uniform(np.float32(0.0), np.float32(1.0)).sample((200_000,), rng=107)
    assert x.max() < 1.0


def test_gamma_draws_small_rate_small_concentration():
    """exp(log G - log rate): values that G alone would underflow come out right."""
    x = Gamma(0.01, 1e-300).sample((20_000,), rng=108)
    assert np.all(np.isfinite(x)) and np.mean(x > 0) > 0.99
    # P(X <= 1e-300 / rate ... ) through the log: log X = log G + 690.8
    q = np.mean(x <= 1.0)  # P(G <= 1e-300) = P(0.01, 1e-300) ~ exp(0.01 log 1e-300) / Gamma(1.01)
    p = math.exp(0.01 * math.log(1e-300) - math.lgamma(1.01))
    assert abs(q - p) < 6 * math.sqrt(p * (1 - p) / x.size)


def test_draws_all_counter_words_independent_under_independent():
    x = Independent(Beta(np.full(3, 0.5), 0.5), 1).sample((2000,), rng=109)
    c = np.corrcoef(x.T)
    assert np.all(np.abs(c[np.triu_indices(3, 1)]) < 0.15)


# ------------------------------------------------------------------ mixtures
def _mixture_ref(w, comp_logpdf, comp_cdf, x):
    w = w / w.sum(-1, keepdims=True)
    with np.errstate(divide="ignore"):
        lp = special.logsumexp(np.log(w) + comp_logpdf(x[..., None]), axis=-1)
    return lp, (w * comp_cdf(x[..., None])).sum(-1)


CASES16 = {
    "gamma": (
        lambda rng: dict(concentration=rng.uniform(0.3, 5.0, 16), rate=rng.uniform(0.5, 3.0, 16)),
        Gamma,
        lambda p: stats.gamma(p["concentration"], scale=1 / p["rate"]),
        lambda rng, n: rng.gamma(2.0, 1.0, n),
    ),
    "beta": (
        lambda rng: dict(concentration1=rng.uniform(0.3, 5.0, 16), concentration0=rng.uniform(0.3, 5.0, 16)),
        Beta,
        lambda p: stats.beta(p["concentration1"], p["concentration0"]),
        lambda rng, n: rng.uniform(-0.05, 1.05, n),
    ),
    "uniform": (
        lambda rng: dict(low=rng.uniform(-3.0, 0.0, 16), high=rng.uniform(0.5, 3.0, 16)),
        Uniform,
        lambda p: stats.uniform(p["low"], p["high"] - p["low"]),
        lambda rng, n: rng.uniform(-3.5, 3.5, n),
    ),
}


@pytest.mark.parametrize("name", list(CASES16))
def test_mixture_k16_with_a_zero_weight(name):
    make_p, cls, ref, values = CASES16[name]
    rng = np.random.default_rng(11)
    p = make_p(rng)
    w = rng.uniform(0.2, 1.0, 16)
    w[5] = 0.0
    x = values(rng, 5000)
    d = MixtureSameFamily(Categorical(probs=w), cls(**p))
    r = ref(p)
    with np.errstate(all="ignore"):
        lp, cd = _mixture_ref(w, r.logpdf, r.cdf, x)
    if name == "uniform":  # [low, high) as torch: the density is 0 at high
        hi = p["high"]
        lp = _mixture_ref(w, lambda t: np.where(t < hi, r.logpdf(t), -np.inf), r.cdf, x)[0]
    np.testing.assert_allclose(d.log_prob(x), lp, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(d.cdf(x), cd, rtol=1e-12, atol=1e-14)
    # the zero-weight component is never drawn
    _, idx = d.sample((20_000,), rng=12, return_index=True)
    assert not np.any(idx == 5)
    # a batch of 300 mixtures (the tile along the batch), one value per batch entry
    pb = {k: np.broadcast_to(v, (300, 16)) for k, v in p.items()}
    db = MixtureSameFamily(Categorical(probs=np.broadcast_to(w, (300, 16))), cls(**pb))
    xb = x[:600].reshape(2, 300)
    np.testing.assert_allclose(db.log_prob(xb), lp[:600].reshape(2, 300), rtol=1e-12, atol=1e-12)


def test_gamma_mixture_concentrations_below_one():
    """Unbounded component densities (bound +inf): the running-maximum path, both tile layouts."""
    a = np.array([0.05, 0.3, 0.999, 1.0, 2.5])
    r = np.array([2.0, 1.0, 0.7, 1.3, 0.5])
    w = np.array([0.1, 0.25, 0.15, 0.3, 0.2])
    x = np.concatenate(
        [
            [0.0, 1e-300, 1e-200, 1e-50, 1e-10, 5e-324, 100.0, 700.0, np.inf, -1.0, np.nan],
            np.random.default_rng(3).gamma(1.0, 2.0, 2000),
        ]
    )
    ref = stats.gamma(a, scale=1 / r)
    with np.errstate(all="ignore"):
        want = special.logsumexp(np.log(w) + ref.logpdf(x[:, None]), axis=-1)
    want[x == np.inf] = -np.inf
    want[np.isnan(x)] = np.nan
    d = MixtureSameFamily(Categorical(probs=w), Gamma(a, r))
    got = d.log_prob(x)
    assert got[0] == np.inf
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    db = MixtureSameFamily(Categorical(probs=np.broadcast_to(w, (400, 5))), Gamma(a, r))
    np.testing.assert_allclose(db.log_prob(x[:400]), want[:400], rtol=1e-12, atol=1e-12)
    cd = (w * ref.cdf(x[:, None])).sum(-1)
    cd[x == np.inf] = 1.0
    np.testing.assert_allclose(d.cdf(x), cd, rtol=1e-12, atol=1e-15)
    # a bounded and an unbounded component in one mixture, mixed per batch row
    a2 = np.array([[0.5, 3.0], [2.0, 3.0]])
    xs = np.concatenate([x[:8], x[11:50]])  # finite values (scipy has NaN at +inf)
    d2 = MixtureSameFamily(Categorical(probs=[0.5, 0.5]), Gamma(a2, 1.0))
    with np.errstate(all="ignore"):
        want2 = special.logsumexp(np.log(0.5) + stats.gamma(a2).logpdf(xs[:, None, None]), axis=-1)
    np.testing.assert_allclose(d2.log_prob(xs[:, None]), want2, rtol=1e-12, atol=1e-12)


def test_beta_mixture_unbounded_ends():
    a = np.array([0.1, 0.5, 3.0])
    b = np.array([0.2, 2.0, 0.7])
    w = np.array([0.2, 0.5, 0.3])
    x = np.concatenate([[0.0, 1.0, 1e-300, 1 - 1e-16, -0.1, 1.1], np.linspace(0.001, 0.999, 500)])
    ref = stats.beta(a, b)
    with np.errstate(all="ignore"):
        want = special.logsumexp(np.log(w) + ref.logpdf(x[:, None]), axis=-1)
    got = MixtureSameFamily(Categorical(probs=w), Beta(a, b)).log_prob(x)
    assert got[0] == np.inf and got[1] == np.inf
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ float32
@pytest.mark.parametrize(
    "make,x",
    [
        (lambda f: Gamma(f([0.5, 1.0, 3.0]), f(2.0)), [0.0, 0.3, 1.7, 5.0]),
        (lambda f: Beta(f([0.5, 1.0, 3.0]), f(2.0)), [0.0, 0.3, 0.7, 1.0]),
        (lambda f: Uniform(f([-1.0, 0.0, 0.5]), f(2.0)), [-0.5, 0.3, 1.7, 2.0]),
    ],
    ids=["gamma", "beta", "uniform"],
)
def test_float32_in_float32_out(make, x):
    d32 = make(np.float32)
    d64 = make(np.float64)
    x = np.asarray(x, np.float32)[:, None]
    assert d32.dtype == np.float32
    for op in ("log_prob", "cdf"):
        got = getattr(d32, op)(x)
        assert got.dtype == np.float32, op
        with np.errstate(all="ignore"):
            np.testing.assert_allclose(got, getattr(d64, op)(x.astype(np.float64)), rtol=2e-6, atol=2e-6)
    s = d32.sample((1000,), rng=1)
    assert s.dtype == np.float32 and np.all(np.asarray(d32.support.check(s)))
    for m in ("mean", "variance", "stddev"):
        assert np.asarray(getattr(d32, m)).dtype == np.float32, m
    assert d32.entropy().dtype == np.float32


@pytest.mark.parametrize("name", list(CASES16))
def test_float32_mixture_k16(name):
    make_p, cls, ref, values = CASES16[name]
    rng = np.random.default_rng(13)
    p = make_p(rng)
    w = rng.uniform(0.2, 1.0, 16)
    x = values(rng, 3000)
    d64 = MixtureSameFamily(Categorical(probs=w), cls(**p))
    d32 = MixtureSameFamily(
        Categorical(probs=w.astype(np.float32)), cls(**{k: v.astype(np.float32) for k, v in p.items()})
    )
    x32 = x.astype(np.float32)
    for op in ("log_prob", "cdf"):
        got = getattr(d32, op)(x32)
        assert got.dtype == np.float32, op
        np.testing.assert_allclose(got, getattr(d64, op)(x32.astype(np.float64)), rtol=1e-5, atol=1e-5)
    assert d32.sample((10,), rng=1).dtype == np.float32
