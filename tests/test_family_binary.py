"""Bernoulli, Binomial and Geometric: what the generic tests cannot know.

Values
------
* Binomial ``log_prob`` against mpmath (50 digits) at the lgamma/Loader switch
  (n = 64, 65) and for huge n (1e9, 1e15, p near 0 and near 1), at the
  mode, +-3 and 5 sd, 30 sd and both ends: within ``2e-14 * max(1, |log p|)``.
* Binomial ``cdf`` against mpmath at every k for n = 60 and in far tails
  (down to 1e-200) for n = 500: within 1e-12 relative where below 1/2, 1e-15
  absolute above.
* Geometric ``log_prob`` / ``cdf`` for p = 1e-12 and logits = -700 (p = 1e-304)
  against mpmath: 1e-14 relative; Bernoulli for logits -800 and +40.
* Bernoulli and Geometric bulk against scipy at 1e-13 (the registry examples
  cover the rest).

Draws
-----
Pearson chi-square of ``N_DRAWS`` draws over cells of expected count >= 5
(bins between quantiles for wide supports, see :func:`_bins`) against scipy's
cdf, at the Binomial sampler's switch points (n min(p, 1-p) = 9.9, 10, 10.1 on
both sides of p = 1/2), for huge n (1e9, 1e15), and for Bernoulli/Geometric
at extreme parameters.  ``N_CHI`` tests, each at ``ALPHA = 0.001 / N_CHI``: by
Bonferroni the probability that correct samplers fail any chi-square test of
this file is at most 0.001.  Every other check is exact or has a stated
tolerance, and has no false-alarm rate.

Also: p = 0 / p = 1 / total_count = 0; non-integers, negative and infinite
values (``-inf``; ``ValueError`` under ``validate_args=True``), NaN (NaN); bad
parameters (``ValueError`` naming the parameter, its shape and the
constraint); exactly one of probs/logits; probs/logits equivalence; read-only
parameters; float32; ``expand``; a latent class model (mixture of
``Independent(Bernoulli)``); a Binomial mixture's support; Binomial entropy
for huge n.
"""

import math

import mpmath as mp
import numpy as np
import pytest
from scipy import special, stats

from mixstat.distributions import Bernoulli, Binomial, Categorical, Geometric, Independent, MixtureSameFamily

mp.mp.dps = 50
N_DRAWS = 200000


def _logit(p):
    return math.log(p) - math.log1p(-p)


# (id, constructor, scipy frozen distribution)
CHI_CASES = [
    ("binom-n100-p0.099-inversion", lambda: Binomial(100, probs=0.099), stats.binom(100, 0.099)),
    ("binom-n100-p0.1-btrs", lambda: Binomial(100, probs=0.1), stats.binom(100, 0.1)),
    ("binom-n100-p0.101-btrs", lambda: Binomial(100, probs=0.101), stats.binom(100, 0.101)),
    ("binom-n1000-p0.0099-inversion", lambda: Binomial(1000, probs=0.0099), stats.binom(1000, 0.0099)),
    ("binom-n1000-p0.0101-btrs", lambda: Binomial(1000, probs=0.0101), stats.binom(1000, 0.0101)),
    ("binom-n100-p0.901-flipped-inversion", lambda: Binomial(100, probs=0.901), stats.binom(100, 0.901)),
    ("binom-n100-p0.899-flipped-btrs", lambda: Binomial(100, probs=0.899), stats.binom(100, 0.899)),
    ("binom-n20-p0.5", lambda: Binomial(20, probs=0.5), stats.binom(20, 0.5)),
    ("binom-n1e9-p0.3", lambda: Binomial(1e9, probs=0.3), stats.binom(10**9, 0.3)),
    ("binom-n1e9-p1e-9", lambda: Binomial(1e9, probs=1e-9), stats.binom(10**9, 1e-9)),
    ("binom-n1e15-p0.01", lambda: Binomial(1e15, probs=0.01), stats.binom(10**15, 0.01)),
    ("binom-n1e15-logit4", lambda: Binomial(1e15, logits=4.0), stats.binom(10**15, special.expit(4.0))),
    ("binom-n1e15-p1e-14", lambda: Binomial(1e15, probs=1e-14), stats.binom(10**15, 1e-14)),
    ("bern-p0.3", lambda: Bernoulli(probs=0.3), stats.bernoulli(0.3)),
    ("bern-logit-6", lambda: Bernoulli(logits=-6.0), stats.bernoulli(special.expit(-6.0))),
    ("geom-p0.5", lambda: Geometric(probs=0.5), stats.geom(0.5, loc=-1)),
    ("geom-p0.999", lambda: Geometric(probs=0.999), stats.geom(0.999, loc=-1)),
    ("geom-p1e-3", lambda: Geometric(probs=1e-3), stats.geom(1e-3, loc=-1)),
    ("geom-logit-20", lambda: Geometric(logits=-20.0), stats.geom(special.expit(-20.0), loc=-1)),
]
N_CHI = len(CHI_CASES) + 1  # + the latent class model's joint chi-square
ALPHA = 0.001 / N_CHI


def _bins(f, n_bins=60):
    """Right edges of cells (values <= edge) between quantiles of ``f``, and their probabilities."""
    qs = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
    edges = np.unique(f.ppf(qs))
    lo, hi = f.support()
    edges = edges[edges < hi]
    cdf = np.concatenate([f.cdf(edges), [1.0]])
    probs = np.diff(np.concatenate([[0.0], cdf]))
    return edges, probs


def _chi_square(x, f, label):
    edges, probs = _bins(f)
    cells = np.searchsorted(edges, np.asarray(x, np.float64), side="left")
    counts = np.bincount(cells, minlength=len(probs))
    assert counts.size == probs.size, label
    expected = probs * x.size
    keep = expected > 0
    assert counts[~keep].sum() == 0, f"{label}: draws in a cell of probability 0"
    assert expected[keep].min() >= 5.0, label
    p = stats.chisquare(counts[keep], expected[keep] * counts.sum() / expected[keep].sum()).pvalue
    assert p > ALPHA, f"{label}: chi-square p = {p:.3g} <= ALPHA = {ALPHA:.3g}"


@pytest.mark.parametrize("label,make,ref", CHI_CASES, ids=[c[0] for c in CHI_CASES])
def test_sampler_chi_square(label, make, ref):
    d = make()
    x = d.sample((N_DRAWS,), rng=20261201)
    assert x.dtype == np.int64 and x.shape == (N_DRAWS,)
    lo, hi = ref.support()
    assert x.min() >= lo and x.max() <= hi
    _chi_square(x, ref, label)


def test_sampler_is_position_indexed():
    """The same seed gives the same draws whatever the sample shape (counter-based stream)."""
    d = Binomial(np.array([5.0, 1e9, 200.0]), probs=np.array([0.2, 0.3, 0.95]))
    a = d.sample((1000,), rng=7)
    b = d.sample((10, 100), rng=7).reshape(1000, 3)
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ values
def _mp_binom_logpmf(n, p, x):
    n, p, x = mp.mpf(n), mp.mpf(p), mp.mpf(x)
    return mp.log(mp.binomial(n, x)) + x * mp.log(p) + (n - x) * mp.log1p(-p)


@pytest.mark.parametrize(
    "n,p",
    [
        (64, 0.3),
        (65, 0.3),
        (64, 0.999),
        (1024, 0.3),
        (1e9, 0.3),
        (1e9, 1e-9),
        (1e15, 0.01),
        (1e15, 0.99),
        (2000, 0.999),
        (60, 1e-5),
    ],
)
def test_binomial_log_prob_against_mpmath(n, p):
    d = Binomial(n, probs=p)
    m = math.floor(n * p)
    sd = math.sqrt(n * p * (1 - p))
    xs = sorted({0.0, float(n), float(m), *(float(min(max(m + math.floor(z * sd), 0), n)) for z in (-5, -3, 3, 30))})
    got = d.log_prob(np.array(xs))
    want = np.array([float(_mp_binom_logpmf(n, p, x)) for x in xs])
    fin = np.isfinite(want)
    np.testing.assert_array_equal(np.isfinite(got), fin)
    err = np.abs(got[fin] - want[fin]) / np.maximum(1.0, np.abs(want[fin]))
    assert err.max() < 2e-14, (xs, got, want)


def _mp_binom_cdf(n, p, k):
    k = int(k)
    return mp.fsum(mp.binomial(n, j) * mp.mpf(p) ** j * (1 - mp.mpf(p)) ** (n - j) for j in range(k + 1))


@pytest.mark.parametrize("n,p", [(60, 0.3), (60, 0.97), (500, 0.5), (500, 0.02)])
def test_binomial_cdf_against_mpmath(n, p):
    d = Binomial(n, probs=p)
    ks = np.arange(0, n + 1, 1 if n <= 60 else 7, dtype=np.float64)
    got = d.cdf(ks)
    for k, g in zip(ks, got):
        w = _mp_binom_cdf(n, p, k)
        if w < mp.mpf("1e-290"):
            continue
        if w <= 0.5:
            assert abs(g - float(w)) <= 1e-12 * float(w), (k, g, w)
        else:
            assert abs(g - float(w)) <= 1e-15, (k, g, w)
    # non-integers: the cdf of the floor; beyond the support 0 and 1
    np.testing.assert_array_equal(
        d.cdf(np.array([2.5, -0.5, n + 3.0, np.inf, -np.inf])), [d.cdf(2.0), 0.0, 1.0, 1.0, 0.0]
    )


def test_geometric_tails_against_mpmath():
    for kw, p in [({"probs": 1e-12}, mp.mpf(1e-12)), ({"logits": -700.0}, 1 / (1 + mp.exp(700)))]:
        d = Geometric(**kw)
        xs = np.array([0.0, 1.0, 1e12, 5e13, 1e300])
        lq = mp.log1p(-p)
        want_lp = [mp.log(p) + mp.mpf(x) * lq for x in xs]
        want_cdf = [-mp.expm1((mp.mpf(x) + 1) * lq) for x in xs]
        got_lp, got_cdf = d.log_prob(xs), d.cdf(xs)
        for x, g, w in zip(xs, got_lp, want_lp):
            assert abs(g - float(w)) <= 1e-14 * abs(float(w)), (kw, x, g, w)
        for x, g, w in zip(xs, got_cdf, want_cdf):
            assert abs(g - float(w)) <= 1e-14 * float(w), (kw, x, g, w)


def test_bernoulli_extreme_logits():
    d = Bernoulli(logits=np.array([-800.0, 40.0, 0.0]))
    lp1, lp0 = d.log_prob(1.0), d.log_prob(0.0)
    for i, t in enumerate([-800, 40, 0]):
        t = mp.mpf(t)
        w1 = -mp.log1p(mp.exp(-t))
        w0 = -mp.log1p(mp.exp(t))
        assert abs(lp1[i] - float(w1)) <= 1e-15 * max(1e-300, abs(float(w1))), (t, lp1[i], w1)
        assert abs(lp0[i] - float(w0)) <= 1e-15 * max(1e-300, abs(float(w0))), (t, lp0[i], w0)
    np.testing.assert_allclose(d.probs, special.expit([-800.0, 40.0, 0.0]), rtol=1e-15)


def test_bulk_against_scipy():
    p = np.linspace(0.01, 0.99, 25)
    x = np.arange(-2.0, 40.0)[:, None]
    np.testing.assert_allclose(Bernoulli(probs=p).log_prob(x), stats.bernoulli.logpmf(x, p), rtol=1e-13)
    np.testing.assert_allclose(Bernoulli(probs=p).cdf(x), stats.bernoulli.cdf(x, p), rtol=1e-13)
    g = Geometric(probs=p)
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(g.log_prob(x), stats.geom.logpmf(x, p, loc=-1), rtol=1e-13)
    np.testing.assert_allclose(g.cdf(x), stats.geom.cdf(x, p, loc=-1), rtol=1e-13)
    n = np.arange(0.0, 25.0)
    b = Binomial(n, probs=p)
    np.testing.assert_allclose(b.log_prob(x), stats.binom.logpmf(x, n, p), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(b.cdf(x), stats.binom.cdf(x, n, p), rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------------ edge cases
def test_point_masses():
    ninf = -np.inf
    b = Bernoulli(probs=np.array([0.0, 1.0]))
    np.testing.assert_array_equal(b.log_prob(np.array([[0.0], [1.0]])), [[0.0, ninf], [ninf, 0.0]])
    np.testing.assert_array_equal(b.cdf(np.array([[0.0], [1.0]])), [[1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_array_equal(b.sample((100,), rng=1), np.tile([0, 1], (100, 1)))
    np.testing.assert_array_equal(b.entropy(), [0.0, 0.0])
    np.testing.assert_array_equal(b.logits, [ninf, np.inf])

    n = Binomial(np.array([7.0, 7.0, 0.0]), probs=np.array([0.0, 1.0, 0.4]))
    np.testing.assert_array_equal(
        n.log_prob(np.array([[0.0], [7.0], [3.0]])), [[0.0, ninf, 0.0], [ninf, 0.0, ninf], [ninf, ninf, ninf]]
    )
    np.testing.assert_array_equal(n.cdf(np.array([[0.0], [6.0]])), [[1.0, 0.0, 1.0], [1.0, 0.0, 1.0]])
    np.testing.assert_array_equal(n.sample((50,), rng=2), np.tile([0, 7, 0], (50, 1)))
    np.testing.assert_array_equal(n.entropy(), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(n.mean, [0.0, 7.0, 0.0])
    np.testing.assert_array_equal(n.variance, [0.0, 0.0, 0.0])

    g = Geometric(probs=1.0)
    np.testing.assert_array_equal(g.log_prob(np.array([0.0, 1.0, 5.0])), [0.0, ninf, ninf])
    np.testing.assert_array_equal(g.cdf(np.array([-1.0, 0.0, 3.0])), [0.0, 1.0, 1.0])
    np.testing.assert_array_equal(g.sample((20,), rng=3), np.zeros(20, np.int64))
    assert g.mean == 0.0 and g.variance == 0.0 and g.entropy() == 0.0


def test_geometric_tiny_p_draws_fit_int64():
    x = Geometric(probs=1e-22).sample((2000,), rng=4)
    assert x.dtype == np.int64 and x.min() >= 0
    assert x.max() == np.iinfo(np.int64).max - 1023  # clamped at the largest float below 2**63


@pytest.mark.parametrize(
    "make",
    [lambda: Bernoulli(probs=0.3), lambda: Binomial(10, probs=0.3), lambda: Geometric(probs=0.3)],
    ids=["bernoulli", "binomial", "geometric"],
)
def test_values_outside_the_support(make):
    d = make()
    bad = np.array(
        [
            0.5,
            -1.0,
            11.0 if isinstance(d, Binomial) else 2.5,
            np.inf,
            -np.inf,
            3.0000001,
            -1e300 if isinstance(d, Geometric) else 1e300,
        ]
    )
    lp = d.log_prob(bad)
    assert lp.dtype == np.float64
    np.testing.assert_array_equal(lp, -np.inf)
    assert np.isnan(d.log_prob(np.nan)) and np.isnan(d.cdf(np.nan))
    strict = type(d)(**({"total_count": 10} if isinstance(d, Binomial) else {}), probs=0.3, validate_args=True)
    for v in bad:
        with pytest.raises(ValueError, match="outside the support"):
            strict.log_prob(v)
    assert np.isfinite(strict.log_prob(1.0))


BAD = [
    (Bernoulli, {"probs": [0.2, 1.5]}, "probs", r"\(2,\)", "interval"),
    (Bernoulli, {"probs": [-0.1]}, "probs", r"\(1,\)", "interval"),
    (Bernoulli, {"probs": np.array([[0.2], [np.nan]])}, "probs", r"\(2, 1\)", "interval"),
    (Bernoulli, {"logits": [0.0, np.nan]}, "logits", r"\(2,\)", "real"),
    (Geometric, {"probs": [0.0, 0.5]}, "probs", r"\(2,\)", "left_open_interval"),
    (Geometric, {"logits": [-np.inf]}, "logits", r"\(1,\)", "greater_than"),
    (Geometric, {"probs": [1.01]}, "probs", r"\(1,\)", "left_open_interval"),
    (Binomial, {"total_count": [-1.0, 3.0], "probs": 0.5}, "total_count", r"\(2,\)", "integer"),
    (Binomial, {"total_count": [2.5], "probs": 0.5}, "total_count", r"\(1,\)", "integer"),
    (Binomial, {"total_count": [np.nan], "probs": 0.5}, "total_count", r"\(1,\)", "integer"),
    (Binomial, {"total_count": [np.inf], "probs": 0.5}, "total_count", r"\(1,\)", "integer"),
    (Binomial, {"total_count": 4, "probs": [0.5, 2.0]}, "probs", r"\(2,\)", "interval"),
    (Binomial, {"total_count": 4, "logits": [np.nan]}, "logits", r"\(1,\)", "real"),
]


@pytest.mark.parametrize("cls,kw,name,shape,what", BAD, ids=[f"{c[0].__name__}-{c[2]}-{i}" for i, c in enumerate(BAD)])
def test_bad_parameters(cls, kw, name, shape, what):
    with pytest.raises(ValueError, match=f"parameter {name} of shape {shape} must satisfy .*{what}"):
        cls(**kw)
    cls(**kw, validate_args=False)  # not checked


def test_shape_mismatch_and_exactly_one():
    with pytest.raises(ValueError, match="total_count .*probs"):
        Binomial(np.ones(3), probs=np.full(2, 0.5))
    for cls in (Bernoulli, Geometric):
        with pytest.raises(ValueError, match="exactly one of probs or logits .got both"):
            cls(probs=0.5, logits=0.0)
        with pytest.raises(ValueError, match="exactly one of probs or logits .got neither"):
            cls()
    with pytest.raises(ValueError, match="exactly one"):
        Binomial(3, probs=0.5, logits=0.0)
    with pytest.raises(ValueError, match="exactly one"):
        Binomial(3)


# ------------------------------------------------------------------ parameters
@pytest.mark.parametrize(
    "cls,extra",
    [(Bernoulli, {}), (Binomial, {"total_count": np.array([3.0, 40.0, 1e9])}), (Geometric, {})],
    ids=["bernoulli", "binomial", "geometric"],
)
def test_probs_logits_equivalence(cls, extra):
    p = np.array([0.05, 0.5, 0.9])
    a = cls(probs=p, **extra)
    b = cls(logits=np.log(p) - np.log1p(-p), **extra)
    assert "_derived" not in b.__dict__  # lazy: probs not derived yet
    np.testing.assert_allclose(b.probs, p, rtol=1e-14)
    np.testing.assert_allclose(a.logits, np.log(p / (1 - p)), rtol=1e-14)
    x = a.sample((20,), rng=5)
    np.testing.assert_allclose(a.log_prob(x), b.log_prob(x), rtol=1e-9)  # 1e-9: n = 1e9 amplifies p's ulp
    np.testing.assert_allclose(a.cdf(x + 0.5), b.cdf(x + 0.5), rtol=1e-9)
    for m in ("mean", "variance"):
        np.testing.assert_allclose(getattr(a, m), getattr(b, m), rtol=1e-13)
    np.testing.assert_allclose(a.entropy(), b.entropy(), rtol=1e-12)


def test_parameters_are_read_only_copies():
    p = np.array([0.2, 0.7])
    d = Binomial(np.array([3.0, 4.0]), probs=p)
    p[0] = 0.9
    assert d.probs[0] == 0.2
    for a in (d.probs, d.logits, d.total_count):
        assert not a.flags.writeable
    e = Geometric(logits=np.array([0.0, 1.0]))
    assert not e.probs.flags.writeable and not e.logits.flags.writeable


def test_float32_in_float32_out():
    p32 = np.array([0.2, 0.7], np.float32)
    for d in (Bernoulli(probs=p32), Binomial(5, probs=p32), Geometric(logits=np.float32([0.0, -1.0]))):
        assert d.dtype == np.float32
        x = d.sample((4,), rng=6)
        assert x.dtype == np.int64
        for r in (d.log_prob(x), d.cdf(x), d.mean, d.variance, d.entropy(), d.probs, d.logits):
            assert np.asarray(r).dtype == np.float32


def test_float32_huge_counts_are_exact_integers():
    """A float32 Binomial with n = 2**30 (exact in float32): the draws are int64 and not rounded
    to float32 (whose spacing is 128 there)."""
    x = Binomial(np.float32(2.0**30), probs=np.float32(0.5)).sample((2000,), rng=11)
    assert x.dtype == np.int64
    assert np.any(x % 128 != 0)
    assert abs(x.mean() - 2.0**29) < 6 * 2.0**14 / math.sqrt(2000)


def test_expand_keeps_class_and_laziness():
    d = Binomial(np.array([3.0, 9.0]), logits=np.array([0.0, 1.0]))
    e = d.expand((4, 2))
    assert type(e) is Binomial and e.batch_shape == (4, 2)
    assert "_derived" not in e.__dict__
    np.testing.assert_allclose(e.probs, np.broadcast_to(special.expit([0.0, 1.0]), (4, 2)), rtol=1e-15)
    np.testing.assert_array_equal(e.support.upper_bound, np.broadcast_to([3.0, 9.0], (4, 2)))
    np.testing.assert_array_equal(e.log_prob(2.0), np.broadcast_to(d.log_prob(2.0), (4, 2)))


def test_binomial_entropy_huge_n():
    """The asymptotic form (npq above ~6e5) against a direct sum over +-12 sd (math.fsum) of the
    log-masses (Loader's form, checked against mpmath above; scipy's lgamma differences lose
    1e-8 here), and the exact sum against scipy for moderate n."""
    for n, p in [(1e7, 0.5), (1e9, 0.3), (4e6, 0.2)]:
        q = 1 - p
        sd = math.sqrt(n * p * q)
        x = np.arange(math.floor(n * p - 12 * sd), math.ceil(n * p + 12 * sd) + 1.0)
        d = Binomial(n, probs=p)
        lf = d.log_prob(x)
        want = -math.fsum(np.exp(lf) * lf)
        got = float(d.entropy())
        assert abs(got - want) < 1e-12 * want, (n, p, got, want)
    n, p = np.array([1.0, 10.0, 300.0]), np.array([0.3, 0.5, 0.01])
    np.testing.assert_allclose(Binomial(n, probs=p).entropy(), stats.binom(n, p).entropy(), rtol=1e-12)


# ------------------------------------------------------------------ composites
def test_latent_class_model():
    """A mixture of Independent(Bernoulli): binary feature vectors as one event."""
    K, D = 3, 4
    rng = np.random.default_rng(8)
    w = np.array([0.5, 0.3, 0.2])
    theta = rng.uniform(0.1, 0.9, (K, D))
    m = MixtureSameFamily(Categorical(probs=w), Independent(Bernoulli(probs=theta), 1))
    assert m.batch_shape == () and m.event_shape == (D,)
    allx = np.array(list(np.ndindex(*(2,) * D)), dtype=np.float64)  # every binary vector
    comp = (allx[:, None, :] * np.log(theta) + (1 - allx[:, None, :]) * np.log1p(-theta)).sum(-1)
    want = special.logsumexp(np.log(w) + comp, axis=-1)
    got = m.log_prob(allx)
    np.testing.assert_allclose(got, want, rtol=1e-13)
    assert abs(special.logsumexp(got)) < 1e-14  # the masses sum to one
    x = m.sample((N_DRAWS,), rng=9)
    assert x.dtype == np.int64 and x.shape == (N_DRAWS, D) and set(np.unique(x)) <= {0, 1}
    codes = (x * (1 << np.arange(D - 1, -1, -1))).sum(-1)  # allx is in this order
    counts = np.bincount(codes, minlength=1 << D)
    p = stats.chisquare(counts, N_DRAWS * np.exp(want)).pvalue
    assert p > ALPHA, p
    # a point outside the support (a 2, a 0.5) has probability zero
    np.testing.assert_array_equal(m.log_prob(np.array([[0.0, 2.0, 1.0, 0.0], [0.5, 0.0, 0.0, 0.0]])), -np.inf)


def test_binomial_mixture_support():
    m = MixtureSameFamily(
        Categorical(probs=[0.5, 0.5]), Binomial(np.array([3.0, 10.0]), probs=[0.5, 0.2]), validate_args=True
    )
    assert m.support.check(np.array(7.0)) and not m.support.check(np.array(11.0))
    want = np.logaddexp(np.log(0.5) + stats.binom.logpmf(7, 3, 0.5), np.log(0.5) + stats.binom.logpmf(7, 10, 0.2))
    np.testing.assert_allclose(m.log_prob(7.0), want, rtol=1e-13)
    for v in (11.0, 2.5, -1.0):
        with pytest.raises(ValueError, match="outside the support"):
            m.log_prob(v)
    x = m.sample((1000,), rng=10)
    assert x.dtype == np.int64 and x.min() >= 0 and x.max() <= 10
