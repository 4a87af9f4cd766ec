"""Tail functions: ``log_cdf``, ``log_survival_function`` and ``survival_function``.

References: SciPy's ``logcdf`` / ``logsf`` in the bulk (1e-12 relative), mpmath at
50 digits in far tails (1e-13 relative, down to tails far below 1e-300), and, for
mixtures, a log-space NumPy reference built from SciPy (``logsumexp`` of the
log-weights plus each component's ``logcdf`` / ``logsf``).  The hook contract
(``logcdf1 = log cdf1``, ``logsf1 = log(1 - cdf1)`` where those are accurate) is
checked for every family of the registry that defines the hooks, directly on the
scalar functions (no compile).
"""

import math
import os
import sys

import mpmath
import numpy as np
import pytest
from scipy import special as sps, stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import registry as reg

from mixstat.distributions import (
    Categorical,
    Cauchy,
    Exponential,
    Gumbel,
    HalfNormal,
    Laplace,
    LogNormal,
    MixtureSameFamily,
    MultivariateNormal,
    Normal,
    StudentT,
    Uniform,
    VonMises,
    Weibull,
)
from mixstat.kernels import registry

mpmath.mp.dps = 50
MP = mpmath.mpf


def _tails(F, S):
    """(log F, log S) at 50 digits from both tail probabilities, each taken where it is small."""
    lF = mpmath.log(F) if F < 0.5 else mpmath.log1p(-S)
    lS = mpmath.log(S) if S < 0.5 else mpmath.log1p(-F)
    return lF, lS


def _mp_normal(loc, sc):
    def f(x):
        z = (MP(x) - MP(loc)) / MP(sc)
        return mpmath.ncdf(z), mpmath.ncdf(-z)

    return f


def _mp_lognormal(loc, sc):
    def f(x):
        z = (mpmath.log(MP(x)) - MP(loc)) / MP(sc)
        return mpmath.ncdf(z), mpmath.ncdf(-z)

    return f


def _mp_halfnormal(sc):
    def f(x):
        u = MP(x) / (MP(sc) * mpmath.sqrt(2))
        return mpmath.erf(u), mpmath.erfc(u)

    return f


def _mp_exponential(rate):
    def f(x):
        t = MP(rate) * MP(x)
        return -mpmath.expm1(-t), mpmath.exp(-t)

    return f


def _mp_laplace(loc, sc):
    def f(x):
        z = (MP(x) - MP(loc)) / MP(sc)
        if z < 0:
            return mpmath.exp(z) / 2, 1 - mpmath.exp(z) / 2
        return 1 - mpmath.exp(-z) / 2, mpmath.exp(-z) / 2

    return f


def _mp_cauchy(loc, sc):
    def f(x):
        z = (MP(x) - MP(loc)) / MP(sc)
        if z < 0:
            lo = mpmath.acot(-z) / mpmath.pi
            return lo, 1 - lo
        up = mpmath.acot(z) / mpmath.pi if z > 0 else MP(0.5)
        return 1 - up, up

    return f


def _mp_gumbel(loc, sc):
    def f(x):
        w = mpmath.exp(-(MP(x) - MP(loc)) / MP(sc))
        return mpmath.exp(-w), -mpmath.expm1(-w)

    return f


def _mp_weibull(scale, conc):
    def f(x):
        t = (MP(x) / MP(scale)) ** MP(conc)
        return -mpmath.expm1(-t), mpmath.exp(-t)

    return f


def _mp_uniform(lo, hi):
    def f(x):
        w = MP(hi) - MP(lo)
        return (MP(x) - MP(lo)) / w, (MP(hi) - MP(x)) / w

    return f


def _mp_studentt(df, loc, sc):
    def f(x):
        t = (MP(x) - MP(loc)) / MP(sc)
        d = MP(df)
        half = mpmath.betainc(d / 2, MP(0.5), 0, d / (d + t * t), regularized=True) / 2
        return (half, 1 - half) if t < 0 else (1 - half, half)

    return f


# name: (class, params, scipy frozen, mpmath (F, S), far-tail points)
FAMILIES = {
    "normal": (
        Normal,
        (0.3, 1.7),
        lambda a, b: stats.norm(a, b),
        _mp_normal,
        [0.3 + 1.7 * z for z in (-100, -50, -40, -37.1, -30, 30, 37.1, 40, 50, 100)],
    ),
    "lognormal": (
        LogNormal,
        (0.3, 0.8),
        lambda a, b: stats.lognorm(b, scale=math.exp(a)),
        _mp_lognormal,
        [math.exp(0.3 + 0.8 * z) for z in (-60, -40, -37.1, 37.1, 40, 60)],
    ),
    "halfnormal": (
        HalfNormal,
        (1.7,),
        lambda s: stats.halfnorm(scale=s),
        _mp_halfnormal,
        [1e-300, 1e-200, 1.7 * 37.1, 1.7 * 40, 1.7 * 60],
    ),
    "exponential": (
        Exponential,
        (1.7,),
        lambda r: stats.expon(scale=1 / r),
        _mp_exponential,
        [1e-300, 1e-100, 400.0, 1000.0],
    ),
    "laplace": (
        Laplace,
        (0.3, 1.7),
        lambda a, b: stats.laplace(a, b),
        _mp_laplace,
        [0.3 + 1.7 * z for z in (-2000, -690, 690, 2000)],
    ),
    "cauchy": (Cauchy, (0.3, 1.7), lambda a, b: stats.cauchy(a, b), _mp_cauchy, [-1e305, -1e300, 1e300, 1e305]),
    "gumbel": (
        Gumbel,
        (0.3, 1.7),
        lambda a, b: stats.gumbel_r(a, b),
        _mp_gumbel,
        [0.3 + 1.7 * z for z in (-7.0, -6.5, 690, 1500)],
    ),
    "weibull": (
        Weibull,
        (1.7, 2.3),
        lambda s, c: stats.weibull_min(c, scale=s),
        _mp_weibull,
        [1e-300, 1.7 * 1e-300 ** (1 / 2.3), 1.7 * 690 ** (1 / 2.3), 1.7 * 2000 ** (1 / 2.3)],
    ),
    "uniform": (
        Uniform,
        (0.0, 2.5),
        lambda a, b: stats.uniform(a, b - a),
        _mp_uniform,
        [2.5e-300, 1e-320, 2.5 - 2**-51],
    ),
    "studentt": (
        StudentT,
        (3.5, 0.3, 1.7),
        lambda d, a, b: stats.t(d, a, b),
        _mp_studentt,
        [-1e300, -1e200, -1e86, 1e86, 1e200, 1e300],
    ),
}
NAMES = list(FAMILIES)


def _rel(got, want):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.where(got == want, 0.0, np.abs(got - want) / np.maximum(np.abs(want), 1e-300))


def _bulk_points(ref):
    q = np.concatenate([np.geomspace(1e-9, 0.5, 40), 1 - np.geomspace(1e-9, 0.5, 40)[::-1]])
    return ref.ppf(q)


def _mp_logs(name, x):
    cls, p, _, mp, _ = FAMILIES[name]
    f = mp(*p)
    return np.array([[float(v) for v in _tails(*f(xi))] for xi in x])


@pytest.mark.parametrize("name", NAMES)
def test_bulk_against_scipy(name):
    """1e-12 of SciPy wherever SciPy itself is within 1e-13 of mpmath (most points: it is
    not for Uniform's log(cdf) near 1, which SciPy takes as the log of a rounded value),
    and 1e-13 of mpmath everywhere."""
    cls, p, frozen, _, _ = FAMILIES[name]
    ref = frozen(*p)
    x = _bulk_points(ref)
    d = cls(*p)
    lc, ls = d.log_cdf(x), d.log_survival_function(x)
    assert lc.dtype == ls.dtype == np.float64 and lc.shape == x.shape
    exact = _mp_logs(name, x)
    for got, sp, ex in ((lc, ref.logcdf(x), exact[:, 0]), (ls, ref.logsf(x), exact[:, 1])):
        ok = _rel(sp, ex) < 1e-13
        assert ok.mean() > 0.5
        assert _rel(got, sp)[ok].max() < 1e-12
        assert _rel(got, ex).max() < 1e-13
    np.testing.assert_allclose(d.survival_function(x), np.exp(exact[:, 1]), rtol=1e-12, atol=0)


#: far-tail tolerance (relative, of the log).  Weibull's ``log(1 - exp(-t))`` at ``t = 690``
#: is ``-exp(-t)``, whose relative condition in ``x`` is ``k t`` (the rounding of ``x / scale``
#: alone costs ``2.3 * 690 * 1.1e-16 = 1.8e-13``)
FAR_RTOL = {"weibull": 1e-12}


@pytest.mark.parametrize("name", NAMES)
def test_far_tails_against_mpmath(name):
    cls, p, _, mp, pts = FAMILIES[name]
    x = np.array(pts)
    want = _mp_logs(name, x)
    d = cls(*p)
    lc, ls = d.log_cdf(x), d.log_survival_function(x)
    assert np.isfinite(lc).all() and np.isfinite(ls).all()
    rtol = FAR_RTOL.get(name, 1e-13)
    assert _rel(lc, want[:, 0]).max() < rtol, (x, lc, want[:, 0])
    assert _rel(ls, want[:, 1]).max() < rtol, (x, ls, want[:, 1])
    # somewhere in these points a tail lies at or below the 1e-300 level
    assert min(want.min(), 0.0) < -690 or name == "uniform"


@pytest.mark.parametrize("name", NAMES)
def test_support_ends_and_nan(name):
    cls, p, frozen, _, _ = FAMILIES[name]
    ref = frozen(*p)
    lo, hi = ref.support()
    x = np.array([-np.inf, np.inf, np.nan, lo, hi])
    d = cls(*p, validate_args=False)
    lc, ls = d.log_cdf(x), d.log_survival_function(x)
    assert lc[0] == -np.inf and ls[0] == 0.0
    assert lc[1] == 0.0 and ls[1] == -np.inf
    assert np.isnan(lc[2]) and np.isnan(ls[2])
    if np.isfinite(lo):  # at the lower end of a continuous support: F = 0
        assert lc[3] == -np.inf and ls[3] == 0.0
    if np.isfinite(hi):
        assert lc[4] == 0.0 and ls[4] == -np.inf


class _ExactUniform:
    """Uniform(low, high) with each tail's fraction formed directly (NumPy)."""

    def __init__(self, low, high):
        self.low, self.high = low, high
        self._sp = stats.uniform(low, high - low)

    def ppf(self, q):
        return self._sp.ppf(q)

    def _parts(self, x):
        w = self.high - self.low
        f = np.clip((x - self.low) / w, 0.0, 1.0)
        s = np.clip((self.high - x) / w, 0.0, 1.0)
        with np.errstate(divide="ignore"):
            return (np.where(f <= s, np.log(f), np.log1p(-s)), np.where(s <= f, np.log(s), np.log1p(-f)))

    def logcdf(self, x):
        return self._parts(x)[0]

    def logsf(self, x):
        return self._parts(x)[1]


def _mixture(name, rng, dtype=np.float64):
    """K = 3 components of ``name`` for a batch of 2, weights with a zero in row 0."""
    cls, p, frozen, _, _ = FAMILIES[name]
    K = 3
    jitter = [np.asarray(v) * rng.uniform(0.7, 1.4, (2, K)) for v in p]
    if name == "uniform":  # low in [-1, 0] (the jittered 0 is 0), high in [1.75, 3.5]
        jitter[0] = -rng.uniform(0.0, 1.0, (2, K))
    w = rng.uniform(0.1, 1.0, (2, K))
    w[0, 1] = 0.0
    comp = cls(*[j.astype(dtype) for j in jitter])
    mix = MixtureSameFamily(Categorical(probs=w.astype(dtype)), comp)
    if name == "uniform":  # SciPy's uniform logcdf/logsf are logs of values rounded near 1
        frozen = _ExactUniform
    refs = [[frozen(*[j[b, k] for j in jitter]) for k in range(K)] for b in range(2)]
    return mix, refs, w / w.sum(-1, keepdims=True)


def _mixture_reference(refs, w, x, method):
    """For x of shape (n, 2): ``logsumexp_k(log w_k + scipy method_k(x))``, and where that is
    above -0.5 ``log1p(-sum_k w_k exp(other_k(x)))`` from the other tail (a log-sum-exp of
    terms near 0 is exact only to ~1e-16 absolute)."""
    other = {"logcdf": "logsf", "logsf": "logcdf"}[method]
    with np.errstate(divide="ignore"):
        lw = np.log(w)
    out = np.empty(x.shape)
    for b in range(2):
        t = np.stack([getattr(r, method)(x[:, b]) for r in refs[b]], -1) + lw[b]
        u = np.stack([getattr(r, other)(x[:, b]) for r in refs[b]], -1) + lw[b]
        r = sps.logsumexp(t, axis=-1)
        with np.errstate(divide="ignore"):  # log1p(-1) where the other tail is 1 (not selected)
            out[:, b] = np.where(r > -0.5, np.log1p(-np.exp(sps.logsumexp(u, axis=-1))), r)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_mixture_against_scipy_logsumexp(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    mix, refs, w = _mixture(name, rng)
    # bulk points of every component, for both batch rows
    x = np.stack([np.concatenate([_bulk_points(r)[::4] for r in refs[b]]) for b in range(2)], -1)
    lc, ls = mix.log_cdf(x), mix.log_survival_function(x)
    assert lc.shape == ls.shape == x.shape and lc.dtype == np.float64
    assert _rel(lc, _mixture_reference(refs, w, x, "logcdf")).max() < 1e-12
    assert _rel(ls, _mixture_reference(refs, w, x, "logsf")).max() < 1e-12
    sf = mix.survival_function(x)
    np.testing.assert_allclose(sf, np.exp(_mixture_reference(refs, w, x, "logsf")), rtol=1e-12, atol=0)
    # zero-weight component: the mixture equals the one over the other two components
    keep = [0, 2]
    sub = MixtureSameFamily(
        Categorical(probs=mix.mixture_distribution.probs[0, keep]),
        type(mix.component_distribution)(
            *[getattr(mix.component_distribution, n)[0, keep] for n in mix.component_distribution.arg_constraints]
        ),
    )
    np.testing.assert_allclose(sub.log_cdf(x[:, 0]), lc[:, 0], rtol=1e-15, atol=0)


def test_normal_mixture_at_40_sigma_against_mpmath():
    loc = np.array([-1.0, 0.5, 2.0])
    sc = np.array([0.5, 1.0, 2.0])
    w = np.array([0.3, 0.0, 0.7])
    mix = MixtureSameFamily(Categorical(probs=w), Normal(loc, sc))
    # 40 sigma above / below the widest component, and beyond
    x = np.array([2.0 + 40 * 2.0, 2.0 + 60 * 2.0, 2.0 - 40 * 2.0, -1.0 - 40 * 2.0])

    def want(xi):
        F = sum(MP(wk) * mpmath.ncdf((MP(xi) - MP(m)) / MP(s)) for wk, m, s in zip(w, loc, sc) if wk > 0)
        S = sum(MP(wk) * mpmath.ncdf(-(MP(xi) - MP(m)) / MP(s)) for wk, m, s in zip(w, loc, sc) if wk > 0)
        return [float(v) for v in _tails(F, S)]

    ref = np.array([want(xi) for xi in x])
    ls, lc = mix.log_survival_function(x), mix.log_cdf(x)
    assert np.isfinite(ls).all() and np.isfinite(lc).all()
    assert ls[0] < -800 and lc[2] < -800
    assert _rel(ls, ref[:, 1]).max() < 1e-13
    assert _rel(lc, ref[:, 0]).max() < 1e-13


def test_survival_function_at_1e_300_is_not_zero():
    d = Normal(0.0, 1.0)
    x = np.array([37.0, 37.5])
    sf = d.survival_function(x)
    want = np.array([float(mpmath.ncdf(-MP(v))) for v in x])
    assert (sf > 0).all() and sf[0] < 1e-298
    np.testing.assert_allclose(sf, want, rtol=1e-12)
    assert (1.0 - d.cdf(x) == 0).all()  # what 1 - cdf would give
    mix = MixtureSameFamily(Categorical(probs=np.array([0.5, 0.5])), Normal(np.array([0.0, 1.0]), 1.0))
    s = mix.survival_function(np.array([38.0]))
    assert 0 < s[0] < 1e-299
    want = 0.5 * (mpmath.ncdf(-38) + mpmath.ncdf(-37))
    np.testing.assert_allclose(s, [float(want)], rtol=1e-12)


@pytest.mark.parametrize("name", ["normal", "studentt"])
def test_float32(name):
    cls, p, _, _, _ = FAMILIES[name]
    d32 = cls(*[np.float32(v) for v in p])
    d64 = cls(*p)
    x = np.array([-30.0, -3.0, 0.1, 2.0, 30.0], dtype=np.float32)
    for m in ("log_cdf", "log_survival_function", "survival_function"):
        r32 = getattr(d32, m)(x)
        assert r32.dtype == np.float32, m
        r64 = getattr(d64, m)(x.astype(np.float64))
        np.testing.assert_allclose(r32, r64.astype(np.float32), rtol=2e-6, atol=0)
    if name == "normal":
        # the survival function is rounded once from float64: a float32 tail of 1e-30 is not 0
        s = d32.survival_function(np.array([0.3 + 1.7 * 11.4], dtype=np.float32))
        assert s.dtype == np.float32 and 0 < s[0] < 1e-29
    rng = np.random.default_rng(3)
    mix, _, _ = _mixture(name, rng, np.float32)
    x2 = np.stack([x, x], -1)
    assert mix.log_cdf(x2).dtype == np.float32
    assert mix.survival_function(x2).dtype == np.float32


def test_shapes_broadcasting_and_validation():
    d = Normal(np.zeros((2, 3)), 1.0)
    assert d.log_cdf(np.zeros((4, 1, 3))).shape == (4, 2, 3)
    assert d.survival_function(0.0).shape == (2, 3)
    with pytest.raises(ValueError, match="value"):
        d.log_cdf(np.zeros((4, 2)))
    e = Exponential(1.0, validate_args=True)
    with pytest.raises(ValueError, match="support"):
        e.log_survival_function(np.array([-1.0]))
    assert Exponential(1.0).log_survival_function(np.array([-1.0]))[0] == 0.0
    mix = MixtureSameFamily(Categorical(probs=np.ones((2, 3))), Normal(np.zeros((2, 3)), 1.0))
    with pytest.raises(ValueError, match="value"):
        mix.log_survival_function(np.zeros((5, 3)))
    assert mix.log_cdf(np.zeros((5, 1))).shape == (5, 2)


def test_families_without_the_hooks_raise():
    with pytest.raises(NotImplementedError, match="vonmises"):
        VonMises(0.0, 1.0).log_cdf(0.0)
    with pytest.raises(NotImplementedError, match="log_survival_function"):
        VonMises(0.0, 1.0).survival_function(0.0)
    mvn = MultivariateNormal(np.zeros(2), covariance_matrix=np.eye(2))
    with pytest.raises(NotImplementedError):
        mvn.log_cdf(np.zeros(2))
    mix = MixtureSameFamily(Categorical(probs=np.ones(2)), VonMises(np.zeros(2), 1.0))
    with pytest.raises(NotImplementedError, match="VonMises"):
        mix.log_cdf(np.zeros(1))
    mix = MixtureSameFamily(
        Categorical(probs=np.ones(2)), MultivariateNormal(np.zeros((2, 2)), covariance_matrix=np.eye(2))
    )
    with pytest.raises(NotImplementedError, match="univariate"):
        mix.log_survival_function(np.zeros(2))


def test_nested_mixture_generic_path():
    """Components without a kernel (mixtures of mixtures): the chunked log-sum-exp of the
    components' own log_cdf / log_survival_function equals the flat mixture."""
    loc = np.array([[-1.0, 0.0], [2.0, 3.0]])
    sc = np.array([[0.5, 1.0], [2.0, 0.7]])
    win = np.array([[0.25, 0.75], [1.0, 0.0]])
    wout = np.array([0.4, 0.6])
    inner = MixtureSameFamily(Categorical(probs=win), Normal(loc, sc))
    nested = MixtureSameFamily(Categorical(probs=wout), inner)
    flat = MixtureSameFamily(Categorical(probs=(wout[:, None] * win).ravel()), Normal(loc.ravel(), sc.ravel()))
    x = np.array([-60.0, -3.0, 0.0, 1.5, 4.0, 90.0, np.nan])
    for m in ("log_cdf", "log_survival_function", "survival_function"):
        a, b = getattr(nested, m)(x), getattr(flat, m)(x)
        assert a.dtype == b.dtype == np.float64
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=0, equal_nan=True)
    assert np.isfinite(nested.log_cdf(x[:1])).all()


# -- the hook contract, for every family of the registry that defines the hooks -----------
HOOKED = [f.name for f in registry.FAMILIES if f.univariate and f.has("logcdf1") and f.has("logsf1") and f.has("cdf1")]


def test_hooked_families():
    """The hooks come in pairs, only for univariate families with a cdf (listed by the registry)."""
    for f in registry.FAMILIES:
        if f.has("logcdf1") or f.has("logsf1"):
            assert f.univariate and f.has("cdf1") and f.has("logcdf1") and f.has("logsf1"), f.name
    assert set(NAMES) <= set(HOOKED)
    cpu = registry.pairs("cpu")
    for f in registry.FAMILIES:
        assert (("log_cdf", f.name) in cpu) == (f.univariate and f.has("logcdf1"))
        assert (("log_sf", f.name) in cpu) == (f.univariate and f.has("logsf1"))


@pytest.mark.parametrize("name", HOOKED)
def test_hooks_agree_with_cdf1(name):
    """``logcdf1 == log(cdf1)`` and ``logsf1 == log1p(-cdf1)`` where the cdf is in
    [1e-250, 1/2] (where those are accurate), and ``logsf1 == log(1 - cdf1)`` to
    ``1e-15`` absolute elsewhere; NaN for NaN (plain Python calls, no compile)."""
    m = registry.family(name).module
    exs = [e for e in reg.EXAMPLES if e.family == name and np.dtype(e.dtype) == np.float64]
    assert exs, name
    d = exs[0].make()
    table = np.asarray(d._kernel_spec(np.float64).table)
    tab = table.reshape(-1, 1, table.shape[-1])
    x = np.asarray(d.sample((12,), rng=5), dtype=np.float64).reshape(12, -1)
    x = np.concatenate([x, x - 1.0, x * 0.5, np.zeros((1, x.shape[1])), np.ones((1, x.shape[1]))])
    n = 0
    for b in range(tab.shape[0]):
        for v in np.concatenate([x[:, b % x.shape[1]], [np.nan]]):
            c = m.cdf1(v, tab, b, 0, 0)
            lc = m.logcdf1(v, tab, b, 0, 0)
            ls = m.logsf1(v, tab, b, 0, 0)
            if np.isnan(v):
                assert np.isnan(lc) and np.isnan(ls)
                continue
            assert lc <= 0.0 and ls <= 0.0
            if 1e-250 <= c <= 0.5:
                assert abs(lc - math.log(c)) <= 1e-12 * abs(math.log(c)), (v, lc, c)
                assert abs(ls - math.log1p(-c)) <= 1e-12 * abs(math.log1p(-c)) + 1e-300, (v, ls, c)
                n += 1
            elif c > 0.5:
                assert abs(math.exp(lc) - c) <= 1e-15, (v, lc, c)
                if c < 1.0:
                    assert abs(math.exp(ls) - (1.0 - c)) <= 1e-15, (v, ls, c)
                n += 1
    assert n > 0


def test_log_space_special_functions_against_mpmath():
    """The building blocks in mixstat.kernels.special (plain Python calls, no compile)."""
    from mixstat.kernels import special as S

    for x in [-40.0, -26.5, -25.9, -5.0, -1e-3, 0.0, 0.5, 3.0, 25.9, 26.0, 26.1, 28.28, 40.0, 1e5]:
        want = mpmath.log1p(-mpmath.erfc(-MP(x)) / 2) if x < 0 else mpmath.log(mpmath.erfc(MP(x)) / 2)
        got = S.log_half_erfc(x)
        if want == 0:
            assert got == 0.0
        else:
            assert abs(got - float(want)) <= 4e-16 * max(abs(float(want)), 1e-300), (x, got, want)
    assert S.log_half_erfc(math.inf) == -math.inf and S.log_half_erfc(-math.inf) == 0.0
    assert math.isnan(S.log_half_erfc(math.nan))
    for a in [-1e-300, -1e-20, -0.1, -0.6931, -0.6932, -5.0, -40.0, -800.0]:
        want = float(mpmath.log(-mpmath.expm1(MP(a))))
        assert abs(S.log1mexp(a) - want) <= 4e-16 * max(abs(want), 1e-300), a
    assert S.log1mexp(0.0) == -math.inf and S.log1mexp(-math.inf) == 0.0
    for a, b, x in [
        (1.75, 0.5, 1e-300),
        (1.75, 0.5, 1e-10),
        (3.0, 4.0, 0.3),
        (0.5, 0.5, 0.999999),
        (20.0, 30.0, 1e-5),
        (20.0, 30.0, 0.99),
        (1e3, 0.5, 0.5),
    ]:
        lp, lq = S.log_ibeta_pair(a, b, x, 1.0 - x)
        i = mpmath.betainc(a, b, 0, x, regularized=True)
        j = mpmath.betainc(b, a, 0, 1 - MP(x), regularized=True)  # 1 - I_x(a, b) = I_{1-x}(b, a)
        for got, v in zip((lp, lq), _tails(i, j)):
            assert abs(got - float(v)) <= 1e-13 * max(abs(float(v)), 1e-300), (a, b, x, got, v)
    assert S.log_ibeta_pair(2.0, 3.0, 0.0, 1.0) == (-math.inf, 0.0)
    assert S.log_ibeta_pair(2.0, 3.0, 1.0, 0.0) == (0.0, -math.inf)
