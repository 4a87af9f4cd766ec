"""Implicit reparameterisation gradients (``sample_grad``).

* every family's ``xgrad1`` hook (plain Python calls, no compile) against central finite
  differences of SciPy's quantile function at a fixed ``u``: ``x(theta) = F_theta^-1(u)``;
* mixtures (the compiled kernel) against finite differences of the mixture's quantile
  function, solved at fixed ``u`` by ``scipy.optimize.brentq`` on SciPy cdfs, and against
  mpmath at 30 digits (far tails, where every density and cdf underflows in float64);
* unbiasedness of Monte Carlo gradients of ``E[X^2]`` and ``E[X]`` with closed forms, a
  z-test per parameter at a false-alarm rate of 1e-3 for the whole test (Bonferroni), fixed
  seeds;
* zero weights, batch broadcasting, float32, errors.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from scipy import optimize, special, stats

from mixstat.distributions import (
    Beta,
    Categorical,
    Gamma,
    Independent,
    MixtureSameFamily,
    MultivariateNormal,
    Normal,
    Poisson,
    Weibull,
)
from mixstat.kernels import registry

# family name -> (the façade's parameters, a SciPy frozen distribution of them)
SCIPY = {
    "normal": (dict(loc=0.7, scale=1.9), lambda p: stats.norm(p["loc"], p["scale"])),
    "lognormal": (dict(loc=0.3, scale=0.6), lambda p: stats.lognorm(s=p["scale"], scale=math.exp(p["loc"]))),
    "halfnormal": (dict(scale=1.7), lambda p: stats.halfnorm(scale=p["scale"])),
    "laplace": (dict(loc=-0.4, scale=0.8), lambda p: stats.laplace(p["loc"], p["scale"])),
    "cauchy": (dict(loc=1.1, scale=0.5), lambda p: stats.cauchy(p["loc"], p["scale"])),
    "gumbel": (dict(loc=0.2, scale=1.3), lambda p: stats.gumbel_r(p["loc"], p["scale"])),
    "weibull": (
        dict(scale=1.4, concentration=2.3),
        lambda p: stats.weibull_min(c=p["concentration"], scale=p["scale"]),
    ),
    "exponential": (dict(rate=0.7), lambda p: stats.expon(scale=1.0 / p["rate"])),
    "uniform": (dict(low=-1.0, high=2.5), lambda p: stats.uniform(p["low"], p["high"] - p["low"])),
    "gamma": (dict(concentration=2.5, rate=1.5), lambda p: stats.gamma(a=p["concentration"], scale=1.0 / p["rate"])),
    "studentt": (dict(df=4.5, loc=0.3, scale=1.2), lambda p: stats.t(p["df"], p["loc"], p["scale"])),
}
U = np.array([1e-3, 0.05, 0.3, 0.5, 0.77, 0.95, 0.999])
HOOKED = sorted(f.name for f in registry.FAMILIES if f.has("xgrad1"))


def test_the_hooked_families():
    """The listed closed forms and nothing else; every hooked family is univariate and continuous."""
    assert set(HOOKED) == set(SCIPY)
    for name in HOOKED:
        f = registry.family(name)
        assert f.univariate and not f.discrete
        assert ("sample_grad", name) in registry.pairs("cpu")
    assert ("sample_grad", "beta") not in registry.pairs("cpu")


@pytest.mark.parametrize("name", HOOKED)
def test_hook_matches_quantile_differences(name):
    """``xgrad1`` == d ppf(u; theta) / d theta (central differences, relative step 1e-5)."""
    params, frozen = SCIPY[name]
    m = registry.family(name).module
    names = list(params)
    tab = m.pack(*[np.array([[params[n]]]) for n in names], np.float64)
    for i, n in enumerate(names):
        if n not in m.XGRAD:
            assert math.isnan(m.xgrad1(1.0, tab, 0, 0, 0, i))
            continue
        h = 1e-5 * max(abs(params[n]), 1.0)
        up = dict(params, **{n: params[n] + h})
        dn = dict(params, **{n: params[n] - h})
        fd = (frozen(up).ppf(U) - frozen(dn).ppf(U)) / (2 * h)
        x = frozen(params).ppf(U)
        got = np.array([m.xgrad1(float(v), tab, 0, 0, 0, i) for v in x])
        np.testing.assert_allclose(got, fd, rtol=2e-7, atol=2e-9 * np.max(np.abs(fd)), err_msg=f"{name} {n}")


# -- mixtures: the kernel ------------------------------------------------------------------
def _mix_quantile(u, w, frozen_list):
    """The mixture's quantile at ``u`` by brentq on the SciPy mixture cdf (to ~1 ulp)."""

    def f(x):
        return sum(wk * d.cdf(x) for wk, d in zip(w, frozen_list)) - u

    lo = min(d.ppf(min(u, 1e-12)) for d in frozen_list)
    hi = max(d.ppf(max(u, 1 - 1e-12)) for d in frozen_list)
    return optimize.brentq(f, lo, hi, xtol=1e-15, rtol=1e-15, maxiter=500)


MIXES = {
    "normal": (
        Normal,
        dict(loc=[-1.0, 0.5, 2.0], scale=[0.5, 1.3, 0.8]),
        lambda p, k: stats.norm(p["loc"][k], p["scale"][k]),
    ),
    "weibull": (
        Weibull,
        dict(scale=[0.7, 2.0, 1.2], concentration=[1.5, 3.0, 0.8]),
        lambda p, k: stats.weibull_min(c=p["concentration"][k], scale=p["scale"][k]),
    ),
}


@pytest.mark.parametrize("name", sorted(MIXES))
def test_mixture_matches_quantile_differences(name):
    """Every parameter entry (logits, probs and the components') against central differences
    of ``x(theta) = F_theta^-1(u)`` at fixed ``u``, for ``sum(c * x)`` with a random cotangent."""
    cls, params, comp = MIXES[name]
    probs = np.array([0.2, 0.5, 0.3])
    mix = MixtureSameFamily(Categorical(probs=probs), cls(**params))
    rng = np.random.default_rng(3)
    u = np.array([0.01, 0.2, 0.45, 0.6, 0.9, 0.995])
    c = rng.normal(size=u.size)
    P = {n: np.array(v, dtype=float) for n, v in params.items()}
    logits = np.log(probs)

    def xs(P, logits):
        w = np.exp(logits - special.logsumexp(logits))
        dl = [comp(P, k) for k in range(3)]
        return np.array([_mix_quantile(q, w, dl) for q in u])

    x = xs(P, logits)
    wrt = ("logits", "probs") + tuple(params)
    g = mix.sample_grad(x, c, wrt=wrt)
    for n in params:
        assert g[n].shape == (3,)
        for k in range(3):
            h = 1e-6 * max(abs(P[n][k]), 1.0)
            up = {**P, n: P[n] + h * np.eye(3)[k]}
            dn = {**P, n: P[n] - h * np.eye(3)[k]}
            fd = c @ (xs(up, logits) - xs(dn, logits)) / (2 * h)
            assert g[n][k] == pytest.approx(fd, rel=1e-6, abs=1e-8), (n, k)
    for k in range(3):
        h = 1e-6
        fd = c @ (xs(P, logits + h * np.eye(3)[k]) - xs(P, logits - h * np.eye(3)[k])) / (2 * h)
        assert g["logits"][k] == pytest.approx(fd, rel=1e-6, abs=1e-8), k
        # probs: the normalised weights w = p / sum(p), differentiated at the stored p
        e = h * np.eye(3)[k]
        fd = c @ (xs(P, np.log(probs + e)) - xs(P, np.log(probs - e))) / (2 * h)
        assert g["probs"][k] == pytest.approx(fd, rel=1e-6, abs=1e-8), k
    assert float(probs @ g["probs"]) == pytest.approx(0.0, abs=1e-9 * np.abs(g["probs"]).max())


def _mp_normal_mix_grads(x, w, mu, sd):
    """30-digit reference for a Normal mixture at one point: ``dx/dloc_k``, ``dx/dscale_k``,
    ``dx/dlogit_k`` by the implicit function theorem with mpmath's own cdf and density."""
    with mpmath.workdps(30):
        x = mpmath.mpf(x)
        z = [(x - m) / s for m, s in zip(mu, sd)]
        pk = [mpmath.npdf(zk) / s for zk, s in zip(z, sd)]
        Fk = [mpmath.ncdf(zk) for zk in z]
        Sk = [mpmath.ncdf(-zk) for zk in z]
        p = sum(wk * q for wk, q in zip(w, pk))
        F = sum(wk * q for wk, q in zip(w, Fk))
        S = sum(wk * q for wk, q in zip(w, Sk))
        dloc = [wk * q / p for wk, q in zip(w, pk)]
        dscale = [d * zk for d, zk in zip(dloc, z)]
        # F - F_k, or S_k - S above the median (the same number, without cancellation)
        dlogit = [wk * ((F - a) if F < 0.5 else (b - S)) / p for wk, a, b in zip(w, Fk, Sk)]
        return [np.array([float(v) for v in a]) for a in (dloc, dscale, dlogit)]


@pytest.mark.parametrize("x", [-35.0, -6.0, 0.3, 1.7, 9.0, 45.0])
def test_normal_mixture_against_mpmath(x):
    """Within 1e-9 relative of mpmath at 30 digits, also far in both tails, where the
    responsibilities switch to the widest component and p, F and 1 - F underflow."""
    w = np.array([0.25, 0.6, 0.15])
    mu, sd = [-1.0, 0.5, 2.0], [0.5, 1.3, 0.8]
    mix = MixtureSameFamily(Categorical(probs=w), Normal(mu, sd))
    g = mix.sample_grad(np.array([x]), wrt=("loc", "scale", "logits"))
    ref = _mp_normal_mix_grads(x, [mpmath.mpf(float(v)) for v in mix.mixture_distribution.probs], mu, sd)
    for name, r in zip(("loc", "scale", "logits"), ref):
        assert np.all(np.isfinite(g[name]))
        np.testing.assert_allclose(g[name], r, rtol=1e-9, atol=1e-300, err_msg=name)


def test_zero_weights_contribute_nothing():
    """A zero-weight component (even one whose density is huge at the samples) gets exactly 0
    for its parameters and logit, and the others equal those of the mixture without it."""
    mu, sd = np.array([-1.0, 0.4, 2.0]), np.array([0.5, 1e-3, 0.8])
    mix0 = MixtureSameFamily(Categorical(probs=[0.4, 0.0, 0.6]), Normal(mu, sd))
    mix = MixtureSameFamily(Categorical(probs=[0.4, 0.6]), Normal(mu[[0, 2]], sd[[0, 2]]))
    x = np.concatenate([np.random.default_rng(1).normal(0.5, 1.5, 200), [0.4]])
    c = np.random.default_rng(0).normal(size=x.size)
    g0 = mix0.sample_grad(x, c)
    g = mix.sample_grad(x, c)
    assert set(g0) == {"logits", "loc", "scale"}
    for n in g0:
        assert g0[n][1] == 0.0
        np.testing.assert_allclose(g0[n][[0, 2]], g[n], rtol=1e-13, atol=1e-13)


def test_batches_broadcast_and_plain_distribution():
    """Per-row parameters give per-row gradients; shared components sum over the batch;
    ``Normal`` alone: ``dx/dloc = c``, ``dx/dscale = c (x - loc) / scale``."""
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(4, 2))
    loc, sd = rng.normal(size=2), rng.uniform(0.5, 2.0, 2)
    shared = MixtureSameFamily(Categorical(logits=logits), Normal(loc, sd))
    x = shared.sample((50,), rng=2)
    c = rng.normal(size=x.shape)
    g = shared.sample_grad(x, c)
    assert g["logits"].shape == (4, 2) and g["loc"].shape == (2,)
    rows = [
        MixtureSameFamily(Categorical(logits=logits[b]), Normal(loc, sd)).sample_grad(x[:, b], c[:, b])
        for b in range(4)
    ]
    np.testing.assert_allclose(g["loc"], sum(r["loc"] for r in rows), rtol=1e-12)
    np.testing.assert_allclose(g["scale"], sum(r["scale"] for r in rows), rtol=1e-12)
    np.testing.assert_allclose(g["logits"], np.stack([r["logits"] for r in rows]), rtol=1e-12, atol=1e-12)
    # a scale given as a scalar: its gradient is a scalar (summed over the components)
    g1 = MixtureSameFamily(Categorical(logits=logits), Normal(loc, 1.5)).sample_grad(x, c, wrt="scale")
    g2 = MixtureSameFamily(Categorical(logits=logits), Normal(loc, [1.5, 1.5])).sample_grad(x, c, wrt="scale")
    assert g1["scale"].shape == () and g2["scale"].shape == (2,)
    np.testing.assert_allclose(g1["scale"], g2["scale"].sum(), rtol=1e-13)
    n = Normal(loc, sd)
    y = n.sample((7,), rng=3)
    gn = n.sample_grad(y, c[:7, :2])
    np.testing.assert_allclose(gn["loc"], c[:7, :2].sum(0), rtol=1e-13)
    np.testing.assert_allclose(gn["scale"], (c[:7, :2] * (y - loc) / sd).sum(0), rtol=1e-12)


def test_float32_in_float32_out():
    mix = MixtureSameFamily(
        Categorical(probs=np.array([0.3, 0.7], np.float32)),
        Normal(np.array([-1.0, 1.0], np.float32), np.array([1.0, 0.5], np.float32)),
    )
    x = np.random.default_rng(0).normal(0.3, 1.2, 100).astype(np.float32)
    g = mix.sample_grad(x)
    g64 = MixtureSameFamily(Categorical(probs=[0.3, 0.7]), Normal([-1.0, 1.0], [1.0, 0.5])).sample_grad(
        x.astype(np.float64)
    )
    for n in g:
        assert g[n].dtype == np.float32
        np.testing.assert_allclose(g[n], g64[n], rtol=1e-4, atol=1e-4)


# -- unbiasedness of Monte Carlo gradients ---------------------------------------------------
def _replicates(dist_rows, n, cot, rng):
    """Per-row gradient estimates of ``E[f(X)]`` (``cot = f'``; rows of identical parameters
    are independent replicates), each from ``n`` draws."""
    x = dist_rows.sample((n,), rng=rng)
    g = dist_rows.sample_grad(x, cot(x) / n)
    return g


def _z_max(m):
    """The two-sided threshold of each of ``m`` z-tests for a false-alarm rate of 1e-3 in all
    (Bonferroni)."""
    return float(stats.norm.isf(1e-3 / (2 * m)))


def test_unbiased_normal_mixture_second_moment():
    """``d/dtheta E[X^2]`` for ``E[X^2] = sum_k w_k (mu_k^2 + sigma_k^2)``: the mean of 64
    independent replicates (4000 draws each) within ``_z_max(8)`` standard errors of the closed
    form for every parameter (false alarm 1e-3 in all)."""
    R, K = 64, 3
    w = np.array([0.2, 0.5, 0.3])
    mu, sd = np.array([-1.5, 0.3, 2.0]), np.array([0.6, 1.1, 0.4])
    rows = MixtureSameFamily(Categorical(probs=np.tile(w, (R, 1))), Normal(np.tile(mu, (R, 1)), np.tile(sd, (R, 1))))
    g = _replicates(rows, 4000, lambda x: 2 * x, 11)
    m2 = mu**2 + sd**2
    exact = {"loc": 2 * w * mu, "scale": 2 * w * sd, "logits": w * (m2 - w @ m2)}
    zs = []
    for n, e in exact.items():
        est = g[n]  # (R, K)
        z = (est.mean(0) - e) / (est.std(0, ddof=1) / math.sqrt(R))
        zs.extend(z[: K if n != "logits" else K - 1])  # logits: K - 1 free directions
    assert len(zs) == 8
    assert np.all(np.abs(zs) < _z_max(8)), zs


def test_unbiased_weibull_mixture_mean():
    """``d/dtheta E[X]``, ``E[X] = sum_k w_k scale_k Gamma(1 + 1/c_k)``, through both Weibull
    parameters and the logits (8 z-tests, false alarm 1e-3 in all)."""
    R = 64
    w = np.array([0.35, 0.65])
    lam, c = np.array([0.8, 2.5]), np.array([1.7, 3.5])
    rows = MixtureSameFamily(Categorical(probs=np.tile(w, (R, 1))), Weibull(np.tile(lam, (R, 1)), np.tile(c, (R, 1))))
    g = _replicates(rows, 4000, np.ones_like, 12)
    mean_k = lam * special.gamma(1 + 1 / c)
    exact = {
        "scale": w * special.gamma(1 + 1 / c),
        "concentration": -w * mean_k * special.digamma(1 + 1 / c) / c**2,
        "logits": w * (mean_k - w @ mean_k),
    }
    zs = []
    for n, e in exact.items():
        est = g[n]
        z = (est.mean(0) - e) / (est.std(0, ddof=1) / math.sqrt(R))
        zs.extend(z[:1] if n == "logits" else z)  # logits: one free direction of two
    assert len(zs) == 5
    assert np.all(np.abs(zs) < _z_max(5)), zs


# -- errors ---------------------------------------------------------------------------------
def test_errors_name_the_problem():
    mix = MixtureSameFamily(Categorical(probs=[0.5, 0.5]), Normal([0.0, 1.0], [1.0, 1.0]))
    with pytest.raises(ValueError, match="unknown parameter 'mean'"):
        mix.sample_grad(np.zeros(3), wrt=("mean",))
    with pytest.raises(ValueError, match="cotangent of shape"):
        mix.sample_grad(np.zeros(3), np.ones(4))
    with pytest.raises(ValueError, match="must end with batch_shape"):
        MixtureSameFamily(Categorical(probs=[[0.5, 0.5]] * 3), Normal([0.0, 1.0], [1.0, 1.0])).sample_grad(
            np.zeros((4, 1))
        )
    with pytest.raises(TypeError, match="samples"):
        mix.sample_grad("x")
    gm = MixtureSameFamily(Categorical(probs=[0.5, 0.5]), Gamma([2.0, 3.0], [1.0, 1.0]))
    with pytest.raises(NotImplementedError, match="'concentration'"):
        gm.sample_grad(np.ones(3), wrt=("concentration",))
    with pytest.raises(NotImplementedError, match="Beta"):
        MixtureSameFamily(Categorical(probs=[0.5, 0.5]), Beta([2.0, 3.0], [1.0, 1.0])).sample_grad(np.full(3, 0.5))
    with pytest.raises(NotImplementedError, match="Poisson"):
        Poisson(2.0).sample_grad(np.ones(3))
    with pytest.raises(NotImplementedError, match="univariate event"):
        MixtureSameFamily(
            Categorical(probs=[0.5, 0.5]), MultivariateNormal(np.zeros((2, 2)), scale_tril=np.eye(2))
        ).sample_grad(np.zeros((3, 2)))
    with pytest.raises(NotImplementedError, match="univariate event"):
        MixtureSameFamily(
            Categorical(probs=[0.5, 0.5]), Independent(Normal(np.zeros((2, 2)), np.ones((2, 2))), 1)
        ).sample_grad(np.zeros((3, 2)))
