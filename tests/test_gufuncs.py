"""mixstat.gufuncs: every gufunc against the distribution objects, NumPy's ufunc protocol
(broadcasting, ``out=``, ``axes=``, dtypes), invalid parameters, lazy building and the disk
cache, and dispatch by dask.array and xarray.

Compile cost: each gufunc is built once (a float32 and a float64 loop); every one is checked
in float64, a handful in float32.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from scipy.special import expit

import mixstat.distributions as MD
import mixstat.gufuncs as G
from mixstat import _gufunc_build as B
from mixstat.distributions import Categorical, Independent, MixtureSameFamily, MultivariateNormal

pytestmark = pytest.mark.filterwarnings("error")  # no NumPy warnings, invalid parameters included

CAT = B.catalogue()
CLASSES = {getattr(c, "family", None): c for c in vars(MD).values() if isinstance(c, type)}

#: valid parameters per family (façade names): ``gen(rng, shape) -> dict``
GEN = {
    "normal": lambda r, s: dict(loc=r.uniform(-2, 2, s), scale=r.uniform(0.5, 2, s)),
    "lognormal": lambda r, s: dict(loc=r.uniform(-1, 1, s), scale=r.uniform(0.3, 1.5, s)),
    "exponential": lambda r, s: dict(rate=r.uniform(0.5, 2, s)),
    "halfnormal": lambda r, s: dict(scale=r.uniform(0.5, 2, s)),
    "laplace": lambda r, s: dict(loc=r.uniform(-2, 2, s), scale=r.uniform(0.5, 2, s)),
    "cauchy": lambda r, s: dict(loc=r.uniform(-2, 2, s), scale=r.uniform(0.5, 2, s)),
    "gumbel": lambda r, s: dict(loc=r.uniform(-2, 2, s), scale=r.uniform(0.5, 2, s)),
    "weibull": lambda r, s: dict(scale=r.uniform(0.5, 2, s), concentration=r.uniform(0.5, 3, s)),
    "gamma": lambda r, s: dict(concentration=r.uniform(0.5, 5, s), rate=r.uniform(0.5, 2, s)),
    "poisson": lambda r, s: dict(rate=r.uniform(0.3, 30, s)),
    "beta": lambda r, s: dict(concentration1=r.uniform(0.5, 5, s), concentration0=r.uniform(0.5, 5, s)),
    "studentt": lambda r, s: dict(df=r.uniform(1, 10, s), loc=r.uniform(-2, 2, s), scale=r.uniform(0.5, 2, s)),
    "uniform": lambda r, s: dict(low=r.uniform(-2, 1, s), high=r.uniform(1.5, 4, s)),
    "bernoulli": lambda r, s: dict(probs=r.uniform(0.05, 0.95, s)),
    "geometric": lambda r, s: dict(probs=r.uniform(0.15, 0.9, s)),
    "binomial": lambda r, s: dict(total_count=r.integers(0, 80, s).astype(float), probs=r.uniform(0.02, 0.98, s)),
    "negative_binomial": lambda r, s: dict(total_count=r.uniform(0.3, 40, s), probs=r.uniform(0.02, 0.9, s)),
    "vonmises": lambda r, s: dict(loc=r.uniform(-6, 6, s), concentration=np.exp(r.uniform(-3, 4.5, s))),
}
_REAL = lambda r, s: r.uniform(-5, 5, s)
_POS = lambda r, s: r.uniform(0.0, 6.0, s)
#: values inside (mostly) and outside the support, per family
VALS = {
    "normal": _REAL,
    "lognormal": _POS,
    "exponential": _POS,
    "halfnormal": _POS,
    "laplace": _REAL,
    "cauchy": _REAL,
    "gumbel": _REAL,
    "weibull": _POS,
    "gamma": _POS,
    "studentt": _REAL,
    "poisson": lambda r, s: r.integers(0, 40, s).astype(float),
    "beta": lambda r, s: r.uniform(0.0, 1.0, s),
    "uniform": lambda r, s: r.uniform(-3, 5, s),
    "bernoulli": lambda r, s: r.integers(0, 2, s).astype(float),
    "geometric": lambda r, s: r.integers(0, 15, s).astype(float),
    "binomial": lambda r, s: r.integers(0, 80, s).astype(float),
    "negative_binomial": lambda r, s: r.integers(0, 60, s).astype(float),
    "vonmises": lambda r, s: r.uniform(-8, 8, s),
}
#: one invalid value of the first parameter of each family (the façade rejects it)
BAD = {
    "uniform": {"low": 5.0},
    "bernoulli": {"probs": 1.5},
    "geometric": {"probs": 0.0},
    "poisson": {"rate": -1.0},
    "studentt": {"df": -1.0},
    "normal": {"scale": 0.0},
    "binomial": {"total_count": 2.5},
    "negative_binomial": {"total_count": 0.0},
    "vonmises": {"loc": np.inf},
}

#: agreement with the distribution objects, in ulps (of ``max(|value|, 1)`` for log-densities, of
#: the value for cdfs).  2 is the target.  Mixtures: the weights are ``exp`` of the log-weights by
#: libm here and by NumPy's SIMD ``exp`` in the objects (an ulp apart).  Families whose rows hold
#: special-function constants (``lgamma``, ``log B``) get them from numba's ``math.lgamma`` and
#: ``mixstat.kernels.special.lbeta`` here and from SciPy in ``pack``: ulps of those constants,
#: amplified by the cancellation between terms of order ``x log(rate)`` (Poisson up to x = 40).
TOL = {
    "mixture": 4.0,
    "mixture_cdf_float32": 10.0,
    "studentt_cdf": 16.0,
    "studentt_mixture_cdf": 16.0,
    "gamma": 8.0,
    "beta": 16.0,
    "poisson_log_prob": 40.0,
    "poisson_mixture_log_prob": 40.0,
    "poisson_cdf": 4.0,
    "cauchy_mixture_cdf": 6.0,
    # log i0e of the normaliser: jitable here (within 3 ulp of mpmath), SciPy's in pack
    "vonmises": 4.0,
    # lgamma(n + 1) - lgamma(x + 1) - lgamma(n - x + 1) (terms up to lgamma(81) = 277) by numba's
    # math.lgamma here and SciPy in pack: against mpmath both are ~100-160 ulp of max(|v|, 1)
    # (test_count_gufuncs_against_mpmath), so they differ by up to twice that
    "binomial_log_prob": 320.0,
    "binomial_mixture_log_prob": 320.0,
    "negative_binomial_log_prob": 320.0,
    "negative_binomial_mixture_log_prob": 320.0,
    "binomial_cdf": 8.0,
    "binomial_mixture_cdf": 8.0,
    # I_{1-p}(n, k + 1) with the row's lgamma(n) from numba / SciPy: both ~31 ulp from mpmath
    "negative_binomial_cdf": 64.0,
    "negative_binomial_mixture_cdf": 8.0,
}


def tolerance(name, dtype):
    fam = CAT[name].family
    t = 2.0
    if "_mixture_" in name:
        t = TOL["mixture"]
        if name.endswith("cdf") and dtype == np.float32:
            t = TOL["mixture_cdf_float32"]
    return max(t, TOL.get(name, 0.0), TOL.get(fam, 0.0))


SCALAR = [n for n, e in CAT.items() if e.family in GEN and "diag" not in n]
F32_SET = [
    "normal_mixture_log_prob",
    "normal_mixture_cdf",
    "gamma_log_prob",
    "poisson_mixture_log_prob",
    "mvn_mixture_log_prob",
    "normal_diag_mixture_log_prob",
]
N, K = 300, 4


def ulp_err(got, ref, dtype, floor=1.0):
    """The largest ``|got - ref|`` in ulps (of ``dtype``) of ``max(|ref|, floor)``; equal NaNs and
    infinities: 0.  Log-densities use ``floor=1``: near 0 they are a difference of terms of order
    one, whose rounding is an ulp of 1, not of the result; cdfs use ``floor=0`` (relative)."""
    got = np.asarray(got, np.float64)
    ref = np.asarray(ref, np.float64)
    same = (got == ref) | (np.isnan(got) & np.isnan(ref))
    unit = np.spacing(np.maximum(np.abs(ref), floor).astype(dtype)).astype(np.float64)
    with np.errstate(invalid="ignore"):
        d = np.where(same, 0.0, np.abs(got - ref) / unit)
    return float(np.nan_to_num(d, nan=np.inf).max(initial=0.0))


def test_catalogue_is_derived_from_the_registry():
    from mixstat.kernels import registry

    for fam in registry.FAMILIES:
        if fam.univariate and fam.name in B.ROWS:
            assert f"{fam.name}_log_prob" in CAT and f"{fam.name}_mixture_log_prob" in CAT
            assert (f"{fam.name}_cdf" in CAT) == fam.has("cdf1")
    assert set(G.available()) == set(CAT)
    assert CAT["normal_mixture_log_prob"].layout == "(),(k),(k),(k)->()"
    assert set(GEN) == {e.family for e in CAT.values() if e.family not in B.VECTOR_GUFUNCS}


def _case(name, dtype, rng):
    """(gufunc arguments, reference values) for a scalar family's gufunc."""
    e = CAT[name]
    cls = CLASSES[e.family]
    kind = "cdf" if name.endswith("cdf") else "log_prob"
    if "_mixture_" in name:
        p = {k: v.astype(dtype) for k, v in GEN[e.family](rng, (N, K)).items()}
        logits = rng.normal(size=(N, K)).astype(dtype)
        logits[0, 1] = -np.inf  # a zero weight
        d = MixtureSameFamily(Categorical(logits=logits), cls(**p))
        args = (logits, *p.values())
    else:
        p = {k: v.astype(dtype) for k, v in GEN[e.family](rng, (N,)).items()}
        d = cls(**p)
        args = tuple(p.values())
    x = VALS[e.family](rng, N).astype(dtype)
    x[:3] = np.array([-1.0, 0.5, 1e3], dtype=dtype)  # outside or at the edges of some supports
    return (x, *args), getattr(d, kind)(x), kind


_SERIAL = {}


def serial64(name, cache=True):
    """The gufunc's body with its float64 loop alone, serial (numba's "cpu" target): the same
    compiled body as the public gufunc's float64 loop without the threads' wrapper, and half
    the compile time (the public objects are checked on :data:`F32_SET` and the other tests)."""
    if (name, cache) not in _SERIAL:
        _SERIAL[name, cache] = B.build(CAT[name], dtypes=("float64",), tgt="cpu", cache=cache)[1]
    return _SERIAL[name, cache]


def gu(name, cache=True):
    """The public gufunc for the Normal and MultivariateNormal ones and :data:`F32_SET`, else
    :func:`serial64` (each body is compiled once in this file)."""
    if name.startswith(("normal_", "mvn_")) or name in F32_SET:
        return getattr(G, name)
    return serial64(name, cache)


@pytest.mark.parametrize("name", SCALAR)
def test_scalar_family_matches_distribution_float64(name):
    import zlib

    args, ref, kind = _case(name, np.float64, np.random.default_rng(zlib.crc32(name.encode())))
    got = gu(name)(*args)
    assert got.dtype == np.float64 and got.shape == ref.shape
    assert ulp_err(got, ref, np.float64, 1.0 if kind == "log_prob" else 0.0) <= tolerance(name, np.float64), name


@pytest.mark.parametrize("name", [n for n in F32_SET if n in SCALAR])
def test_scalar_family_matches_distribution_float32(name):
    args, ref, kind = _case(name, np.float32, np.random.default_rng(7))
    got = getattr(G, name)(*args)
    assert got.dtype == np.float32 and ref.dtype == np.float32
    assert ulp_err(got, ref, np.float32, 1.0 if kind == "log_prob" else 0.0) <= tolerance(name, np.float32), name


def _tril(rng, shape, D):
    A = rng.normal(size=shape + (D, D)) * 0.4
    L = np.tril(A, -1) + np.eye(D) * rng.uniform(0.5, 2.0, shape + (D,))[..., None, :]
    return L


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mvn(dtype):
    rng = np.random.default_rng(3)
    D = 3
    loc = rng.normal(size=(N, D)).astype(dtype)
    L = _tril(rng, (N,), D).astype(dtype)
    d = MultivariateNormal(loc, scale_tril=L)
    x = (loc + rng.normal(size=(N, D))).astype(dtype)
    if dtype == np.float64:
        got = G.mvn_log_prob(x, loc, L)
        assert got.dtype == dtype
        assert ulp_err(got, d.log_prob(x), dtype) <= 2.0
    locm = rng.normal(size=(N, K, D)).astype(dtype)
    Lm = _tril(rng, (N, K), D).astype(dtype)
    logits = rng.normal(size=(N, K)).astype(dtype)
    dm = MixtureSameFamily(Categorical(logits=logits), MultivariateNormal(locm, scale_tril=Lm))
    got = G.mvn_mixture_log_prob(x, logits, locm, Lm)
    assert got.dtype == dtype
    assert ulp_err(got, dm.log_prob(x), dtype) <= 2.0
    if dtype == np.float64:  # not a lower Cholesky factor: NaN
        bad = L.copy()
        bad[:5, 0, 2] = 1.0
        bad[5:10, 1, 1] = -1.0
        r = G.mvn_log_prob(x, loc, bad)
        assert np.isnan(r[:10]).all() and np.isfinite(r[10:]).all()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_categorical(dtype):
    """``categorical_log_prob`` / ``categorical_mixture_log_prob`` against plain NumPy's log-softmax
    and the objects; values that are not categories give ``-inf``, NaN gives NaN, invalid logits NaN."""
    from scipy.special import log_softmax

    rng = np.random.default_rng(12)
    C = 5
    logits = rng.normal(size=(N, C)).astype(dtype)
    logits[3, 2] = -np.inf  # a category of probability 0
    x = rng.integers(0, C, N).astype(dtype)
    x[:4] = [-1.0, 1.5, C, 2.0]
    ref = np.where(
        (x >= 0) & (x < C) & (x == np.floor(x)),
        np.take_along_axis(log_softmax(logits.astype(np.float64), -1), np.clip(x, 0, C - 1).astype(int)[:, None], 1)[
            :, 0
        ],
        -np.inf,
    )
    got = G.categorical_log_prob(x, logits)
    assert got.dtype == dtype and got[3] == -np.inf and (got[:3] == -np.inf).all()
    assert ulp_err(got, ref, dtype) <= 2.0
    assert ulp_err(got, Categorical(logits=logits).log_prob(x), dtype) <= 2.0
    comp = rng.normal(size=(N, K, C)).astype(dtype)
    w = rng.normal(size=(N, K)).astype(dtype)
    w[0, 1] = -np.inf  # a zero weight
    dm = MixtureSameFamily(Categorical(logits=w), Categorical(logits=comp))
    got = G.categorical_mixture_log_prob(x, w, comp)
    assert got.dtype == dtype
    lw = log_softmax(w.astype(np.float64), -1)
    lc = log_softmax(comp.astype(np.float64), -1)
    xi = np.clip(x, 0, C - 1).astype(int)
    with np.errstate(divide="ignore"):
        mix = np.logaddexp.reduce(
            lw + np.take_along_axis(lc, np.broadcast_to(xi[:, None, None], (N, K, 1)), 2)[..., 0], -1
        )
    want = np.where((x >= 0) & (x < C) & (x == np.floor(x)), mix, -np.inf)
    assert ulp_err(got, want, dtype) <= 4.0
    assert ulp_err(got, dm.log_prob(x), dtype) <= 4.0
    bad = comp.copy()
    bad[7, 2, 0] = np.nan
    r = G.categorical_mixture_log_prob(x, w, bad)
    assert np.isnan(r[7]) and not np.isnan(np.delete(r, 7)).any()
    assert np.isnan(G.categorical_log_prob(np.nan, [0.0, 1.0]))
    assert np.isnan(G.categorical_log_prob(0.0, [np.inf, 1.0]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dirichlet(dtype):
    """``dirichlet_log_prob`` / ``dirichlet_mixture_log_prob`` against SciPy and the objects;
    off the simplex ``-inf``, invalid concentrations NaN."""
    import scipy.stats as st

    rng = np.random.default_rng(13)
    D = 4
    conc = rng.uniform(0.5, 6.0, (N, D)).astype(dtype)
    x = rng.dirichlet(np.ones(D), N).astype(dtype)
    x = (x / x.sum(-1, keepdims=True)).astype(dtype)
    got = G.dirichlet_log_prob(x, conc)
    assert got.dtype == dtype
    # log B(a) by numba's lgamma here, SciPy in the pack, and sum (a_i - 1) log x_i: against
    # mpmath both are 70-90 ulp of max(|v|, 1) off in float64 (measured), so they differ by ~that
    tol = 128.0 if dtype == np.float64 else 16.0
    ref = MD.Dirichlet(conc).log_prob(x)
    assert ulp_err(got, ref, dtype) <= tol
    if dtype == np.float64:
        sp = np.array([st.dirichlet.logpdf(xi / xi.sum(), ai) for xi, ai in zip(x, conc)])
        np.testing.assert_allclose(got, sp, rtol=1e-12, atol=1e-12)
    cm = rng.uniform(0.5, 6.0, (N, K, D)).astype(dtype)
    w = rng.normal(size=(N, K)).astype(dtype)
    dm = MixtureSameFamily(Categorical(logits=w), MD.Dirichlet(cm))
    got = G.dirichlet_mixture_log_prob(x, w, cm)
    assert got.dtype == dtype
    assert ulp_err(got, dm.log_prob(x), dtype) <= tol
    off = x.copy()
    off[:3, 0] += 0.1  # off the simplex
    r = G.dirichlet_log_prob(off, conc)
    assert (r[:3] == -np.inf).all() and np.isfinite(r[3:]).all()
    bad = conc.copy()
    bad[4, 1] = 0.0
    bad[5, 2] = np.nan
    r = G.dirichlet_log_prob(x, bad)
    assert np.isnan(r[4:6]).all() and not np.isnan(np.delete(r, [4, 5])).any()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lowrank_mvn(dtype):
    """``lowrank_mvn_log_prob`` / ``lowrank_mvn_mixture_log_prob`` (Woodbury on a row built per
    call, its capacitance factorised there) against SciPy's ``multivariate_normal`` with
    ``cov = W W^T + diag(d)`` and the objects; a subnormal ``cov_diag`` works (rank 1); invalid NaN."""
    import scipy.stats as st

    rng = np.random.default_rng(14)
    D, R = 5, 2
    loc = rng.normal(size=(N, D)).astype(dtype)
    W = (rng.normal(size=(N, D, R)) * 0.7).astype(dtype)
    d = rng.uniform(0.3, 2.0, (N, D)).astype(dtype)
    x = (loc + rng.normal(size=(N, D)) * 1.5).astype(dtype)
    got = G.lowrank_mvn_log_prob(x, loc, W, d)
    assert got.dtype == dtype
    obj = MD.LowRankMultivariateNormal(loc, W, d).log_prob(x)
    tol = 8.0 if dtype == np.float64 else 16.0
    assert ulp_err(got, obj, dtype) <= tol
    if dtype == np.float64:
        cov = W @ np.swapaxes(W, -1, -2) + d[..., :, None] * np.eye(D)
        sp = np.array([st.multivariate_normal(m, c).logpdf(xi) for m, c, xi in zip(loc, cov, x)])
        np.testing.assert_allclose(got, sp, rtol=1e-12, atol=1e-12)
        # rank 0: a diagonal Normal
        r0 = G.lowrank_mvn_log_prob(x, loc, np.zeros((N, D, 0)), d)
        ref0 = st.norm.logpdf(x, loc, np.sqrt(d)).sum(-1)
        np.testing.assert_allclose(r0, ref0, rtol=1e-12, atol=1e-12)
        # a subnormal cov_diag with rank 1 (the capacitance is rescaled, as in the objects)
        ds = d.copy()
        ds[:, 0] = 1e-310
        W1 = W[..., :1]
        want = MD.LowRankMultivariateNormal(loc, W1, ds).log_prob(loc)
        gs = G.lowrank_mvn_log_prob(loc, loc, W1, ds)
        assert np.isfinite(gs).all()
        np.testing.assert_allclose(gs, want, rtol=1e-12)
    lm = rng.normal(size=(N, K, D)).astype(dtype)
    Wm = (rng.normal(size=(N, K, D, R)) * 0.7).astype(dtype)
    dm_ = rng.uniform(0.3, 2.0, (N, K, D)).astype(dtype)
    w = rng.normal(size=(N, K)).astype(dtype)
    dm = MixtureSameFamily(Categorical(logits=w), MD.LowRankMultivariateNormal(lm, Wm, dm_))
    got = G.lowrank_mvn_mixture_log_prob(x, w, lm, Wm, dm_)
    assert got.dtype == dtype
    assert ulp_err(got, dm.log_prob(x), dtype) <= tol
    bad = d.copy()
    bad[2, 1] = -1.0
    Wb = W.copy()
    Wb[3, 0, 0] = np.inf
    r = G.lowrank_mvn_log_prob(x, loc, Wb, bad)
    assert np.isnan(r[2:4]).all() and not np.isnan(np.delete(r, [2, 3])).any()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_diagonal_normal(dtype):
    rng = np.random.default_rng(4)
    D = 3
    loc = rng.normal(size=(N, K, D)).astype(dtype)
    scale = rng.uniform(0.5, 2.0, (N, K, D)).astype(dtype)
    logits = rng.normal(size=(N, K)).astype(dtype)
    dm = MixtureSameFamily(Categorical(logits=logits), Independent(MD.Normal(loc, scale), 1))
    x = rng.normal(size=(N, D)).astype(dtype) * 2
    got = G.normal_diag_mixture_log_prob(x, logits, loc, scale)
    assert got.dtype == dtype
    assert ulp_err(got, dm.log_prob(x), dtype) <= 2.0
    if dtype == np.float64:
        d1 = Independent(MD.Normal(loc[:, 0], scale[:, 0]), 1)
        assert ulp_err(G.normal_diag_log_prob(x, loc[:, 0], scale[:, 0]), d1.log_prob(x), dtype) <= 2.0


def _normal_ref(x, logits, loc, scale):
    """Plain NumPy: log sum_k softmax(logits)_k N(x; loc_k, scale_k), float64."""
    x = np.asarray(x, np.float64)[..., None]
    lw = logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)
    t = lw - 0.5 * ((x - loc) / scale) ** 2 - np.log(scale) - 0.5 * np.log(2 * np.pi)
    return np.logaddexp.reduce(t, axis=-1)


def test_broadcasting_out_and_axes():
    f = G.normal_mixture_log_prob
    rng = np.random.default_rng(5)
    x = rng.normal(size=(6, 1))
    logits = rng.normal(size=(3, K))
    loc = rng.normal(size=(3, K))
    scale = rng.uniform(0.5, 2, (K,))  # shared by the 3 mixtures
    got = f(x, logits, loc, scale)
    assert got.shape == (6, 3)
    np.testing.assert_allclose(got, _normal_ref(x, logits, loc, scale), rtol=1e-13, atol=0)
    out = np.empty((6, 3))
    r = f(x, logits, loc, scale, out=out)
    assert r is out
    np.testing.assert_array_equal(out, got)
    # components along the first axis
    r2 = f(x, logits.T, loc.T, scale, axes=[(), (0,), (0,), (0,), ()])
    np.testing.assert_array_equal(r2, got)
    # a strided (non-contiguous) view
    big = np.repeat(loc, 2, axis=1)[:, ::2]
    np.testing.assert_array_equal(f(x, logits, big, scale), got)
    # float32 in, float32 out; ints are cast to float64
    g32 = f(x.astype(np.float32), logits.astype(np.float32), loc.astype(np.float32), scale.astype(np.float32))
    assert g32.dtype == np.float32
    assert f(np.arange(3), [0.0, 0.0], [0, 1], [1, 1]).dtype == np.float64
    # the elementwise form broadcasts as a ufunc does
    s = G.normal_log_prob(x, loc[:, 0], 1.0)
    assert s.shape == (6, 3)


def test_count_gufuncs_against_mpmath():
    """The binomial and negative-binomial log-masses (rows built per element by the family
    modules' ``row1``) against mpmath at 40 digits: within 256 ulp of ``max(|v|, 1)``, the
    accuracy of the distribution objects (their lgamma terms of order ``n log n`` cancel)."""
    import mpmath as mp

    rng = np.random.default_rng(21)
    n = rng.integers(0, 80, 60).astype(float)
    x = np.minimum(rng.integers(0, 80, 60), n)
    p = rng.uniform(0.02, 0.98, 60)
    tc = rng.uniform(0.3, 40, 60)
    with mp.workdps(40):
        ref_b = [
            float(mp.log(mp.binomial(int(a), int(b))) + int(b) * mp.log(mp.mpf(c)) + int(a - b) * mp.log1p(-mp.mpf(c)))
            for a, b, c in zip(n, x, p)
        ]
        ref_nb = [
            float(
                mp.loggamma(int(b) + mp.mpf(t))
                - mp.loggamma(mp.mpf(t))
                - mp.loggamma(int(b) + 1)
                + int(b) * mp.log(mp.mpf(c))
                + mp.mpf(t) * mp.log1p(-mp.mpf(c))
            )
            for t, b, c in zip(tc, x, p)
        ]
    assert ulp_err(G.binomial_log_prob(x, n, p), ref_b, np.float64) <= 256.0
    assert ulp_err(G.negative_binomial_log_prob(x, tc, p), ref_nb, np.float64) <= 256.0
    # a mixture of two components: the log-sum-exp of the two log-masses
    two = G.binomial_mixture_log_prob(x, [0.0, np.log(3.0)], np.stack([n, n], -1), np.stack([p, p[::-1]], -1))
    with mp.workdps(40):
        ref_m = [
            float(
                mp.log(
                    mp.mpf(1) / 4 * mp.binomial(int(a), int(b)) * mp.mpf(c) ** int(b) * (1 - mp.mpf(c)) ** int(a - b)
                    + mp.mpf(3) / 4 * mp.binomial(int(a), int(b)) * mp.mpf(d) ** int(b) * (1 - mp.mpf(d)) ** int(a - b)
                )
            )
            for a, b, c, d in zip(n, x, p, p[::-1])
        ]
    assert ulp_err(two, ref_m, np.float64) <= 256.0


def test_log_i0e_against_mpmath():
    """The von Mises rows' ``log i0e`` (jitable, :mod:`mixstat.kernels.families.vonmises`) on
    both sides of its two switch points (3 and 20) and far out, against mpmath at 40 digits."""
    import mpmath as mp
    from numba import njit

    from mixstat.kernels.families.vonmises import log_i0e

    f = njit(lambda k: log_i0e(k))
    edges = [2.999999, 3.0, 3.000001, 19.99999, 20.0, 20.00001, 1e300]
    ks = np.concatenate([[0.0, 1e-300, 1e-8], np.geomspace(1e-3, 1e4, 200), edges])
    with mp.workdps(40):
        ref = np.array([float(mp.log(mp.besseli(0, mp.mpf(k))) - k) if k < 1e6 else np.nan for k in ks])
    big = ks >= 1e6  # there I0 e^-k = (2 pi k)^-1/2 to double precision
    ref[big] = -0.5 * np.log(2 * np.pi * ks[big])
    got = np.array([f(k) for k in ks])
    assert ulp_err(got, ref, np.float64, floor=0.0) <= 3.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_whole_loop_layouts_and_invalid_rows(dtype):
    """``normal_mixture_log_prob`` runs one kernel over the whole outer loop
    (:mod:`mixstat._gufunc_loops`): C-contiguous rows, any strides (transposed, reversed,
    broadcast parameters), calls small enough for the calling thread alone and calls over many
    tiles on both threads give NumPy's values and the per-element body's (numba's serial
    gufunc of the same row functions), and a row with an invalid parameter gives NaN, its
    neighbours in the same tile are untouched."""
    from mixstat import _gufunc_build, _gufunc_loops

    f = G.normal_mixture_log_prob
    if _gufunc_build.target() == "parallel":
        assert "normal_mixture_log_prob" in _gufunc_loops.LOOPS
    # numba's serial per-element gufunc of the same body, built by the float64 case alone: two
    # test workers compiling one gufunc into the shared disk cache at once can load each
    # other's half-written entry (a crash seen in make test)
    per_element = (
        B.build(CAT["normal_mixture_log_prob"], dtypes=("float64",), tgt="cpu", cache=False)[1]
        if dtype == np.float64
        else None
    )
    eps = float(np.finfo(dtype).eps)
    rng = np.random.default_rng(11)
    for n, k in ((3, 4), (1000, 3), (2049, 8), (5000, 1)):  # 1000 rows: 4 tiles (serial); 2049: 9
        logits = rng.normal(0, 1.5, (n, k)).astype(dtype)
        loc = rng.normal(0, 2, (n, k)).astype(dtype)
        scale = np.exp(rng.normal(0, 0.4, (n, k))).astype(dtype)
        x = rng.normal(0, 2.5, n).astype(dtype)
        as64 = [a.astype(np.float64) for a in (x, logits, loc, scale)]
        want = _normal_ref(*as64)
        want_body = per_element(*as64) if per_element is not None else want
        got = f(x, logits, loc, scale)
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=8 * eps, atol=8 * eps)
        np.testing.assert_allclose(want_body, want, rtol=1e-13, atol=1e-13)
        # Fortran-ordered rows, reversed rows, an output with a stride
        fl = np.asfortranarray(logits)
        np.testing.assert_array_equal(f(x, fl, loc, scale), got)
        rev = f(x[::-1], logits[::-1], loc[::-1], scale[::-1])
        np.testing.assert_array_equal(rev[::-1], got)
        out = np.full((n, 2), 7.0, dtype)
        f(x, logits, loc, scale, out=out[:, 1])
        np.testing.assert_array_equal(out[:, 1], got)
        assert (out[:, 0] == 7.0).all()
        # one mixture's parameters broadcast over every point (stride 0)
        sh = f(x, logits[0], loc[0], scale[0])
        np.testing.assert_allclose(sh, _normal_ref(as64[0], *(a[:1] for a in as64[1:])), rtol=8 * eps, atol=8 * eps)
    # invalid rows among valid ones, inside a tile and at its edges
    n, k = 700, 3
    logits = rng.normal(size=(n, k)).astype(dtype)
    loc = rng.normal(size=(n, k)).astype(dtype)
    scale = rng.uniform(0.5, 2, (n, k)).astype(dtype)
    x = rng.normal(size=n).astype(dtype)
    bad = {
        0: ("logits", 1, np.nan),
        255: ("logits", 0, np.inf),
        256: ("scale", 2, 0.0),
        300: ("scale", 1, -1.0),
        301: ("scale", 0, np.inf),
        302: ("loc", 2, np.inf),
        303: ("loc", 0, np.nan),
        699: ("scale", 1, np.nan),
    }
    arrays = {"logits": logits, "loc": loc, "scale": scale}
    for i, (name, j, v) in bad.items():
        arrays[name][i, j] = v
    logits[400] = -np.inf  # no component has weight
    logits[401, 1] = -np.inf  # a zero weight: valid
    got = f(x, logits, loc, scale)
    assert sorted(np.flatnonzero(np.isnan(got))) == sorted([*bad, 400])
    ok = ~np.isnan(got)
    with np.errstate(invalid="ignore", divide="ignore"):
        ref = _normal_ref(*(a.astype(np.float64) for a in (x, logits, loc, scale)))
    np.testing.assert_allclose(got[ok], ref[ok], rtol=8 * eps, atol=8 * eps)


def test_zero_weights_contribute_nothing():
    rng = np.random.default_rng(6)
    x = rng.normal(size=50) * 5
    loc = np.array([0.0, 1.0, 50.0])
    scale = np.array([1.0, 2.0, 1e-3])
    a = G.normal_mixture_log_prob(x, [0.3, -0.2, -np.inf], loc, scale)
    b = G.normal_mixture_log_prob(x, [0.3, -0.2], loc[:2], scale[:2])
    np.testing.assert_array_equal(a, b)
    c = G.normal_mixture_cdf(x, [0.3, -0.2, -np.inf], loc, scale)
    np.testing.assert_allclose(c, G.normal_mixture_cdf(x, [0.3, -0.2], loc[:2], scale[:2]), rtol=1e-15)
    # far tails stay finite (log space)
    far = G.normal_mixture_log_prob(np.array([-1e6, 1e6]), [0.0, 0.0], [0.0, 1.0], [1.0, 1.0])
    assert np.isfinite(far).all()


@pytest.mark.parametrize("family", sorted(BAD))
def test_invalid_parameters_give_nan_without_warning(family):
    rng = np.random.default_rng(8)
    p = GEN[family](rng, (4, K))
    key, val = next(iter(BAD[family].items()))
    p[key][1, 2] = val
    x = np.full(4, 1.0 if CLASSES[family].family in ("bernoulli", "geometric", "poisson") else 0.5)
    logits = np.zeros((4, K))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # not cached: test_scalar_family_matches_distribution_float64 builds the same serial
        # bodies into the disk cache, maybe at this moment in the other test worker (a process
        # can load another's half-written entry and crash)
        r = gu(f"{family}_mixture_log_prob", cache=False)(x, logits, *p.values())
        one = gu(f"{family}_log_prob", cache=False)(x, *(v[:, 2] for v in p.values()))
    assert np.isnan(r[1]) and not np.isnan(np.delete(r, 1)).any()
    assert np.isnan(one[1]) and not np.isnan(np.delete(one, 1)).any()
    with pytest.raises(ValueError):
        CLASSES[family](**{k: v[1] for k, v in p.items()})  # the façade rejects the same values


def test_invalid_logits_and_values():
    f = G.normal_mixture_log_prob
    loc, scale = [0.0, 1.0], [1.0, 1.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = f(0.0, [[np.nan, 0.0], [np.inf, 0.0], [-np.inf, -np.inf], [0.0, 0.0]], loc, scale)
        assert np.isnan(r[:3]).all() and np.isfinite(r[3])
        assert np.isnan(f(np.nan, [0.0, 0.0], loc, scale))
        assert f(np.inf, [0.0, 0.0], loc, scale) == -np.inf
        assert np.isnan(f(0.0, np.zeros((2, 0)), np.zeros(0), np.zeros(0))).all()  # no component
        s = G.normal_log_prob(0.0, 0.0, np.array([-1.0, 0.0, np.nan, np.inf, 1.0]))
        assert np.isnan(s[:4]).all() and np.isfinite(s[4])
        c = G.normal_mixture_cdf(np.array([-np.inf, np.inf]), [0.0, 0.0], loc, scale)
        np.testing.assert_array_equal(c, [0.0, 1.0])


def test_threads_call_at_once():
    """Concurrent calls (as dask's threaded scheduler makes) give the single-threaded results."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(9)
    x = rng.normal(size=(8, 20000))
    args = (rng.normal(size=K), rng.normal(size=K), rng.uniform(0.5, 2, K))
    ref = [G.normal_mixture_log_prob(xi, *args) for xi in x]
    with ThreadPoolExecutor(4) as ex:
        got = list(ex.map(lambda xi: G.normal_mixture_log_prob(xi, *args), x))
    for a, b in zip(got, ref):
        np.testing.assert_array_equal(a, b)


_CHILD = textwrap.dedent("""
    import sys, time
    import numba.core.compiler as C
    import mixstat.gufuncs as G
    from mixstat import _gufunc_build as B
    calls = []
    orig = C.compile_extra
    def counting(*a, **k):
        calls.append(1)
        return orig(*a, **k)
    C.compile_extra = counting
    t = time.perf_counter()
    # the float64 loop alone (half the compile): the whole-loop kernel where the threading
    # layer allows it (mixstat._gufunc_loops: a cfunc whose cache key pickles its closure)
    f = B.build(B.catalogue()["normal_mixture_log_prob"], dtypes=("float64",))[1]
    dt = time.perf_counter() - t
    print(len(calls), f(0.0, [0.0, 1.0], [0.0, 1.0], [1.0, 2.0]), dt)
""")


def test_import_compiles_nothing():
    code = (
        "import sys, mixstat, mixstat.gufuncs as G\n"
        "assert 'numba' not in sys.modules, 'numba imported'\n"
        "assert G.compiled() == ()\nprint('ok')"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr


def test_second_process_loads_from_the_cache(tmp_path):
    env = dict(os.environ, MIXSTAT_CACHE_DIR=str(tmp_path))
    first = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    second = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    n1, v1, _ = first.stdout.split()
    n2, v2, _ = second.stdout.split()
    assert int(n1) > 0  # the first process compiled
    assert int(n2) == 0  # the second loaded every loop from the cache
    assert v1 == v2
    assert any(p.suffix == ".nbc" for p in tmp_path.rglob("*"))


def _counting_source(x, chunks):
    """A dask array of ``x`` whose blocks count their computation in the returned list."""
    import dask.array as da

    calls = []

    def touch(block):
        calls.append(block.shape)
        return block

    return da.from_array(x, chunks=chunks).map_blocks(touch, dtype=x.dtype, meta=np.empty((0,) * x.ndim)), calls


def test_dask_array_dispatch():
    import dask
    import dask.array as da

    rng = np.random.default_rng(10)
    x = rng.normal(size=(400, 3))
    logits = rng.normal(size=(3, K))
    loc = rng.normal(size=(3, K))
    scale = rng.uniform(0.5, 2, (3, K))
    ref = G.normal_mixture_log_prob(x, logits, loc, scale)
    xd, calls = _counting_source(x, (100, 3))
    y = G.normal_mixture_log_prob(xd, logits, loc, scale)  # __array_ufunc__ -> apply_gufunc
    assert isinstance(y, da.Array) and y.shape == ref.shape and y.dtype == np.float64
    assert calls == []  # nothing computed while the graph was built
    with dask.config.set(scheduler="threads"):
        np.testing.assert_array_equal(y.compute(), ref)
    assert len(calls) == 4
    # per-row parameters as dask arrays, chunked along the batch (the core axis in one chunk)
    ld = da.from_array(np.broadcast_to(loc, (400, 3, K)), chunks=(100, 3, K))
    z = da.apply_gufunc(
        G.normal_mixture_log_prob, "(),(k),(k),(k)->()", xd, logits, ld, scale, output_dtypes=np.float64
    )
    np.testing.assert_array_equal(z.compute(), ref)
    z32 = G.normal_mixture_cdf(
        da.from_array(x.astype(np.float32), chunks=100),
        logits.astype(np.float32),
        loc.astype(np.float32),
        scale.astype(np.float32),
    )
    assert z32.dtype == np.float32
    np.testing.assert_array_equal(
        z32.compute(),
        G.normal_mixture_cdf(
            x.astype(np.float32), logits.astype(np.float32), loc.astype(np.float32), scale.astype(np.float32)
        ),
    )


def test_xarray_apply_ufunc_parallelized():
    import xarray as xr

    rng = np.random.default_rng(11)
    x = xr.DataArray(rng.normal(size=(200, 2)), dims=("n", "b")).chunk({"n": 50})
    logits = xr.DataArray(rng.normal(size=(2, K)), dims=("b", "k"))
    loc = xr.DataArray(rng.normal(size=(2, K)), dims=("b", "k"))
    scale = xr.DataArray(rng.uniform(0.5, 2, (2, K)), dims=("b", "k"))
    y = xr.apply_ufunc(
        G.normal_mixture_log_prob,
        x,
        logits,
        loc,
        scale,
        input_core_dims=[[], ["k"], ["k"], ["k"]],
        dask="parallelized",
        output_dtypes=[np.float64],
    )
    assert y.chunks is not None and y.dims == ("n", "b")
    ref = G.normal_mixture_log_prob(x.values, logits.values, loc.values, scale.values)
    np.testing.assert_array_equal(y.compute().values, ref)
    np.testing.assert_allclose(ref, _normal_ref(x.values, logits.values, loc.values, scale.values), rtol=1e-13)


def test_probabilities_parameterisation_matches_logits_facade():
    """The success-probability families take ``probs``; the façade's logits give the same values."""
    rng = np.random.default_rng(12)
    p = rng.uniform(0.1, 0.9, N)
    d = MD.Geometric(logits=np.log(p) - np.log1p(-p))
    x = rng.integers(0, 20, N).astype(np.float64)
    got = gu("geometric_log_prob", cache=False)(x, expit(np.log(p) - np.log1p(-p)))
    np.testing.assert_allclose(got, d.log_prob(x), rtol=1e-12)
