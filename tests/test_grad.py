"""``log_prob_grad`` and ``mixstat.score``: derivatives against mpmath (30 digits) and central
finite differences.

References: the log-densities written out in mpmath (independently of the kernels' packed rows)
and differentiated by ``mpmath.diff`` at 30 digits, for mixtures of every family with
derivative hooks; far tails where the responsibilities switch from one component to another;
zero weights; broadcast and per-element (``(B, K)``, the MDN case) parameters; float32.
Finite differences (central, the step chosen per dtype) of mixstat's own ``log_prob`` check
the shapes and the broadcasting sums.  float64 gradients agree within 1e-9 relative (of the
sum of the absolute per-point terms, where terms of both signs cancel), float32 within 1e-4.
"""

import math

import mpmath as mp
import numpy as np
import pytest
from scipy.special import log_softmax

import mixstat
from mixstat.distributions import (
    Bernoulli,
    Beta,
    Binomial,
    Categorical,
    Cauchy,
    Dirichlet,
    Exponential,
    Gamma,
    Geometric,
    Gumbel,
    HalfNormal,
    Independent,
    Laplace,
    LogNormal,
    MixtureSameFamily,
    MultivariateNormal,
    NegativeBinomial,
    Normal,
    Poisson,
    StudentT,
    Uniform,
    VonMises,
    Weibull,
)

pytestmark = pytest.mark.filterwarnings("error")  # no NumPy warnings on valid input (zero weights, tails)

DPS = 30


def _lse(ts):
    m = max(ts)
    if m == -mp.inf:
        return m
    return m + mp.log(mp.fsum(mp.exp(t - m) for t in ts))


# name -> (class, parameter names, mpmath log-density, parameters of K components, values)
def _p(rng, lo, hi, K):
    return rng.uniform(lo, hi, K)


FAMILIES = {
    "normal": (
        Normal,
        ("loc", "scale"),
        lambda x, loc, scale: -mp.log(scale) - mp.log(2 * mp.pi) / 2 - ((x - loc) / scale) ** 2 / 2,
        lambda r, K: dict(loc=_p(r, -2, 2, K), scale=_p(r, 0.5, 2, K)),
        lambda r, n: r.normal(0, 3, n),
    ),
    "lognormal": (
        LogNormal,
        ("loc", "scale"),
        lambda x, loc, scale: -mp.log(x) - mp.log(scale) - mp.log(2 * mp.pi) / 2 - ((mp.log(x) - loc) / scale) ** 2 / 2,
        lambda r, K: dict(loc=_p(r, -1, 1, K), scale=_p(r, 0.3, 1.5, K)),
        lambda r, n: r.lognormal(0, 1, n),
    ),
    "halfnormal": (
        HalfNormal,
        ("scale",),
        lambda x, scale: mp.log(2) - mp.log(scale) - mp.log(2 * mp.pi) / 2 - (x / scale) ** 2 / 2,
        lambda r, K: dict(scale=_p(r, 0.5, 2, K)),
        lambda r, n: np.abs(r.normal(0, 2, n)),
    ),
    "laplace": (
        Laplace,
        ("loc", "scale"),
        lambda x, loc, scale: -mp.log(2 * scale) - abs(x - loc) / scale,
        lambda r, K: dict(loc=_p(r, -2, 2, K), scale=_p(r, 0.5, 2, K)),
        lambda r, n: r.normal(0, 3, n),
    ),
    "cauchy": (
        Cauchy,
        ("loc", "scale"),
        lambda x, loc, scale: -mp.log(mp.pi * scale) - mp.log1p(((x - loc) / scale) ** 2),
        lambda r, K: dict(loc=_p(r, -2, 2, K), scale=_p(r, 0.5, 2, K)),
        lambda r, n: r.normal(0, 5, n),
    ),
    "gumbel": (
        Gumbel,
        ("loc", "scale"),
        lambda x, loc, scale: -mp.log(scale) - ((x - loc) / scale + mp.exp(-(x - loc) / scale)),
        lambda r, K: dict(loc=_p(r, -2, 2, K), scale=_p(r, 0.5, 2, K)),
        lambda r, n: r.normal(0, 2, n),
    ),
    "weibull": (
        Weibull,
        ("scale", "concentration"),
        lambda x, scale, concentration: (
            mp.log(concentration)
            - mp.log(scale)
            + (concentration - 1) * mp.log(x / scale)
            - (x / scale) ** concentration
        ),
        lambda r, K: dict(scale=_p(r, 0.5, 2, K), concentration=_p(r, 0.7, 3, K)),
        lambda r, n: r.uniform(0.1, 3, n),
    ),
    "exponential": (
        Exponential,
        ("rate",),
        lambda x, rate: mp.log(rate) - rate * x,
        lambda r, K: dict(rate=_p(r, 0.5, 2, K)),
        lambda r, n: r.exponential(1, n),
    ),
    "gamma": (
        Gamma,
        ("concentration", "rate"),
        lambda x, concentration, rate: (
            concentration * mp.log(rate) - mp.loggamma(concentration) + (concentration - 1) * mp.log(x) - rate * x
        ),
        lambda r, K: dict(concentration=_p(r, 0.5, 4, K), rate=_p(r, 0.5, 2, K)),
        lambda r, n: r.gamma(2, 1, n),
    ),
    "studentt": (
        StudentT,
        ("df", "loc", "scale"),
        lambda x, df, loc, scale: (
            mp.loggamma((df + 1) / 2)
            - mp.loggamma(df / 2)
            - mp.log(df * mp.pi) / 2
            - mp.log(scale)
            - (df + 1) / 2 * mp.log1p(((x - loc) / scale) ** 2 / df)
        ),
        lambda r, K: dict(df=_p(r, 1, 10, K), loc=_p(r, -2, 2, K), scale=_p(r, 0.5, 2, K)),
        lambda r, n: r.normal(0, 4, n),
    ),
    "beta": (
        Beta,
        ("concentration1", "concentration0"),
        lambda x, concentration1, concentration0: (
            (concentration1 - 1) * mp.log(x)
            + (concentration0 - 1) * mp.log1p(-x)
            - mp.log(mp.beta(concentration1, concentration0))
        ),
        lambda r, K: dict(concentration1=_p(r, 0.5, 4, K), concentration0=_p(r, 0.5, 4, K)),
        lambda r, n: r.uniform(0.05, 0.95, n),
    ),
    "uniform": (
        Uniform,
        ("low", "high"),
        lambda x, low, high: -mp.log(high - low),
        lambda r, K: dict(low=_p(r, -3, -2, K), high=_p(r, 2, 3, K)),
        lambda r, n: r.uniform(-1.5, 1.5, n),
    ),
    "vonmises": (
        VonMises,
        ("loc", "concentration"),
        lambda x, loc, concentration: (
            concentration * mp.cos(x - loc) - mp.log(2 * mp.pi * mp.besseli(0, concentration))
        ),
        lambda r, K: dict(loc=_p(r, -2, 2, K), concentration=_p(r, 0.2, 20, K)),
        lambda r, n: r.uniform(-3, 3, n),
    ),
}


def _mixture(cls, params, logits, dtype=np.float64):
    comp = cls(**{k: np.asarray(v, dtype=dtype) for k, v in params.items()})
    return MixtureSameFamily(Categorical(logits=np.asarray(logits, dtype=dtype)), comp)


def _mp_mixture(f, names, x, logits, params):
    """``log sum_k softmax(logits)_k p_k(x)`` at 30 digits (logits and parameters per component)."""
    lz = _lse(list(logits))
    return _lse([logits[k] - lz + f(x, *(params[n][k] for n in names)) for k in range(len(logits))])


def _reference(f, names, xs, cot, logits, params):
    """Value gradient per point and parameter gradients (sums over the points, with the sums of
    the absolute terms), by mpmath.diff of the mixture's log-density at 30 digits."""
    K = len(logits)
    with mp.workdps(DPS):
        lg = [mp.mpf(float(v)) for v in logits]
        pr = {n: [mp.mpf(float(v)) for v in params[n]] for n in names}
        gv = []
        sums = {("logits", k): [0, 0] for k in range(K)}
        sums.update({(n, k): [0, 0] for n in names for k in range(K)})
        for x, c in zip(xs, cot):
            x = mp.mpf(float(x))
            c = mp.mpf(float(c))
            gv.append(float(c * mp.diff(lambda t: _mp_mixture(f, names, t, lg, pr), x)))
            for k in range(K):

                def at_logit(t, k=k):
                    lk = list(lg)
                    lk[k] = t
                    return _mp_mixture(f, names, x, lk, pr)

                d = c * mp.diff(at_logit, lg[k])
                sums[("logits", k)][0] += d
                sums[("logits", k)][1] += abs(d)
                for n in names:

                    def at_param(t, n=n, k=k):
                        pk = {m: list(v) for m, v in pr.items()}
                        pk[n][k] = t
                        return _mp_mixture(f, names, x, lg, pk)

                    d = c * mp.diff(at_param, pr[n][k])
                    sums[(n, k)][0] += d
                    sums[(n, k)][1] += abs(d)
        return np.array(gv), {key: (float(v[0]), float(v[1])) for key, v in sums.items()}


def _check_params(grads, ref, names, K, rtol):
    for n in ("logits", *names):
        for k in range(K):
            want, scale = ref[(n, k)]
            got = float(grads[n][k])
            assert abs(got - want) <= rtol * max(scale, 1e-300), (n, k, got, want, scale)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_mixture_against_mpmath(name):
    cls, names, f, make, values = FAMILIES[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    K = 3
    params = make(rng, K)
    logits = rng.normal(0, 1, K)
    xs = values(rng, 5)
    cot = rng.normal(0, 1, xs.shape)
    d = _mixture(cls, params, logits)
    lp, g = d.log_prob_grad(xs, wrt=("value", "logits", *names), cotangent=cot)
    np.testing.assert_allclose(lp, d.log_prob(xs), rtol=1e-13, atol=1e-13)
    assert set(g) == {"value", "logits", *names}
    assert g["value"].shape == xs.shape and g["logits"].shape == (K,)
    gv, ref = _reference(f, names, xs, cot, logits, params)
    # the value gradient per point: relative, or against the per-point term scale where the
    # components' slopes cancel (between two modes)
    with mp.workdps(DPS):
        for i, x in enumerate(xs):
            got = g["value"][i]
            assert abs(got - gv[i]) <= 1e-9 * max(abs(gv[i]), 1e-3 * abs(cot[i])), (i, x, got, gv[i])
    _check_params(g, ref, names, K, 1e-9)


def test_normal_far_tails_and_switching_responsibilities():
    """Points 10-1e4 scale units out, where every density underflows and the responsibility
    moves from one component to the other: finite, and equal to the mpmath gradients."""
    cls, names, f, _, _ = FAMILIES["normal"]
    params = dict(loc=np.array([-2.0, 2.0, 0.5]), scale=np.array([0.5, 1.0, 3.0]))
    logits = np.array([0.0, -1.0, -30.0])
    xs = np.array([-1e4, -300.0, -40.0, -4.0, 0.1, 1.3, 35.0, 250.0, 3e3])
    cot = np.linspace(0.5, 1.5, xs.size)
    d = _mixture(cls, params, logits)
    lp, g = d.log_prob_grad(xs, wrt=("value", "logits", *names), cotangent=cot)
    assert np.isfinite(lp).all() and all(np.isfinite(v).all() for v in g.values())
    gv, ref = _reference(f, names, xs, cot, logits, params)
    np.testing.assert_allclose(g["value"], gv, rtol=1e-9)
    _check_params(g, ref, names, 3, 1e-9)
    # far out the widest component takes every point: the gradient is its own
    np.testing.assert_allclose(mixstat.score(d, np.array([-1e4])), [(1e4 + 0.5) / 9.0], rtol=1e-12)


def test_zero_weights_contribute_nothing():
    """A zero weight (probs 0 / logits -inf): its parameters' gradients are exactly 0 (also for
    parameters where its density is huge), no NaN; probs follow the chain rule of p / sum p,
    at p = 0 too."""
    cls, names, f, _, _ = FAMILIES["normal"]
    params = dict(loc=np.array([-1.0, 0.0, 1.5]), scale=np.array([0.7, 1e-3, 1.1]))
    probs = np.array([0.4, 0.0, 0.6])
    xs = np.array([-2.0, 0.0, 0.5, 3.0])
    d = MixtureSameFamily(Categorical(probs=probs), Normal(**params))
    lp, g = d.log_prob_grad(xs, wrt=("value", "logits", "probs", "loc", "scale"))
    assert g["loc"][1] == 0.0 and g["scale"][1] == 0.0 and g["logits"][1] == 0.0
    assert all(np.isfinite(v).all() for v in g.values())
    ref = MixtureSameFamily(Categorical(probs=probs[[0, 2]]), Normal(params["loc"][[0, 2]], params["scale"][[0, 2]]))
    lp2, g2 = ref.log_prob_grad(xs, wrt=("value", "loc", "scale"))
    np.testing.assert_allclose(lp, lp2, rtol=1e-14)
    np.testing.assert_allclose(g["value"], g2["value"], rtol=1e-13)
    np.testing.assert_allclose(g["loc"][[0, 2]], g2["loc"], rtol=1e-13)
    # logits -inf (the SIMD tile path; probs take the exact one): the same
    dl = MixtureSameFamily(Categorical(logits=np.array([np.log(0.4), -np.inf, np.log(0.6)])), Normal(**params))
    lp3, g3 = dl.log_prob_grad(xs, wrt=("value", "logits", "loc", "scale"))
    assert g3["loc"][1] == 0.0 and g3["scale"][1] == 0.0 and g3["logits"][1] == 0.0
    for k in ("value", "logits", "loc", "scale"):
        np.testing.assert_allclose(g3[k], g[k], rtol=1e-13, atol=1e-15)
    # d/dp_k log sum_j (p_j / sum p) f_j at 30 digits, the zero weight included
    with mp.workdps(DPS):
        P = [mp.mpf(v) for v in probs]

        def total(pv):  # analytic in every p_k, also through 0
            s = mp.fsum(pv)
            return mp.fsum(
                mp.log(
                    mp.fsum(pv[k] / s * mp.exp(f(mp.mpf(x), params["loc"][k], params["scale"][k])) for k in range(3))
                )
                for x in xs
            )

        for k in range(3):

            def at(t, k=k):
                pv = list(P)
                pv[k] = t
                return total(pv)

            want = float(mp.diff(at, P[k]))
            assert abs(g["probs"][k] - want) <= 1e-9 * max(1.0, abs(want)), (k, g["probs"][k], want)


def test_broadcast_parameters_sum_over_broadcast_dims():
    """Parameters and values broadcast against each other: each gradient has its input's shape,
    the sum of the per-point derivatives over the broadcast dims (central differences)."""
    rng = np.random.default_rng(3)
    K = 4
    loc = rng.normal(size=K)  # shared by the batch
    scale = rng.uniform(0.5, 2.0, (3, K))  # per batch row
    logits = rng.normal(size=K)
    x = rng.normal(0, 2, (6, 1))  # broadcast along the batch of 3

    def lp_of(loc=loc, scale=scale, logits=logits, x=x):
        return MixtureSameFamily(Categorical(logits=logits), Normal(loc, scale)).log_prob(x)

    cot = rng.normal(size=(6, 3))
    d = MixtureSameFamily(Categorical(logits=logits), Normal(loc, scale))
    lp, g = d.log_prob_grad(x, wrt=("value", "logits", "loc", "scale"), cotangent=cot)
    assert lp.shape == (6, 3)
    assert g["value"].shape == (6, 1) and g["loc"].shape == (K,) and g["scale"].shape == (3, K)
    assert g["logits"].shape == (K,)
    for name, base in (("loc", loc), ("scale", scale), ("logits", logits), ("x", x)):
        fd = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            h = 1e-5 * max(1.0, abs(base[idx]))
            up, dn = base.copy(), base.copy()
            up[idx] += h
            dn[idx] -= h
            fd[idx] = ((lp_of(**{name: up}) - lp_of(**{name: dn})) * cot).sum() / (2 * h)
        np.testing.assert_allclose(g["value" if name == "x" else name], fd, rtol=1e-6, atol=1e-7)
    # the score is per point, not summed over the broadcast batch dim
    s = mixstat.score(d, x)
    assert s.shape == (6, 3)
    np.testing.assert_allclose((s * cot).sum(-1, keepdims=True), g["value"], rtol=1e-12, atol=1e-14)


def test_per_row_parameters_mdn():
    """(B, K) logits, locs and scales, one value per row (a mixture-density network's output):
    the gradient of each row's parameters is that row's own."""
    rng = np.random.default_rng(4)
    B, K = 300, 3  # above one tile of rows: the kernel's partition over rows
    logits = rng.normal(size=(B, K))
    loc = rng.normal(size=(B, K))
    scale = rng.uniform(0.5, 2.0, (B, K))
    y = rng.normal(size=B)
    d = MixtureSameFamily(Categorical(logits=logits), Normal(loc, scale))
    lp, g = d.log_prob_grad(y, wrt=("value", "logits", "loc", "scale"))
    assert g["loc"].shape == (B, K) and g["logits"].shape == (B, K)
    _, names, f, _, _ = FAMILIES["normal"]
    for b in (0, 7, 299):
        gv, ref = _reference(f, names, y[b : b + 1], [1.0], logits[b], dict(loc=loc[b], scale=scale[b]))
        np.testing.assert_allclose(g["value"][b], gv[0], rtol=1e-9)
        for n in ("logits", "loc", "scale"):
            for k in range(K):
                assert abs(g[n][b, k] - ref[(n, k)][0]) <= 1e-9 * ref[(n, k)][1]


def test_float32_in_float32_out():
    for name in ("normal", "gamma", "studentt"):
        cls, names, f, make, values = FAMILIES[name]
        rng = np.random.default_rng(5)
        params = {k: v.astype(np.float32) for k, v in make(rng, 2).items()}
        logits = rng.normal(size=2).astype(np.float32)
        xs = values(rng, 4).astype(np.float32)
        d = _mixture(cls, params, logits, np.float32)
        lp, g = d.log_prob_grad(xs, wrt=("value", "logits", *names))
        assert lp.dtype == np.float32 and all(v.dtype == np.float32 for v in g.values())
        gv, ref = _reference(
            f,
            names,
            xs.astype(np.float64),
            np.ones(4),
            logits.astype(np.float64),
            {k: v.astype(np.float64) for k, v in params.items()},
        )
        np.testing.assert_allclose(g["value"], gv, rtol=1e-4, atol=1e-6)
        _check_params(g, ref, names, 2, 1e-4)


def test_plain_and_independent_distributions():
    rng = np.random.default_rng(6)
    # a plain Normal with a scalar scale: the scale's gradient is summed to ()
    n = Normal(rng.normal(size=(2, 3)), 1.5)
    x = rng.normal(size=(4, 2, 3))
    lp, g = n.log_prob_grad(x, wrt=("value", "loc", "scale"))
    z = (x - n.loc) / 1.5
    np.testing.assert_allclose(g["value"], -z / 1.5, rtol=1e-14)
    np.testing.assert_allclose(g["loc"], (z / 1.5).sum(0), rtol=1e-13)
    assert g["scale"].shape == ()
    np.testing.assert_allclose(g["scale"], ((z**2 - 1) / 1.5).sum(), rtol=1e-12)
    # Independent over Gamma coordinates, in a mixture: central differences
    conc = rng.uniform(1, 3, (2, 3))
    rate = rng.uniform(0.5, 2, (2, 3))
    logits = np.array([0.2, -0.4])
    xs = rng.gamma(2.0, 1.0, (5, 3))

    def lp_of(conc=conc, rate=rate, xs=xs):
        return MixtureSameFamily(Categorical(logits=logits), Independent(Gamma(conc, rate), 1)).log_prob(xs)

    d = MixtureSameFamily(Categorical(logits=logits), Independent(Gamma(conc, rate), 1))
    lp, g = d.log_prob_grad(xs, wrt=("value", "concentration", "rate"))
    for name, base in (("conc", conc), ("rate", rate), ("xs", xs)):
        fd = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            h = 1e-5 * max(1.0, abs(base[idx]))
            up, dn = base.copy(), base.copy()
            up[idx] += h
            dn[idx] -= h
            fd[idx] = (lp_of(**{name: up}) - lp_of(**{name: dn})).sum() / (2 * h)
        key = {"conc": "concentration", "rate": "rate", "xs": "value"}[name]
        np.testing.assert_allclose(g[key], fd, rtol=1e-6, atol=1e-8)


def test_multivariate_normal():
    rng = np.random.default_rng(7)
    D = 3
    A = rng.normal(size=(2, D, D))
    L = np.tril(A, -1) + np.diag(rng.uniform(0.5, 2.0, D))
    loc = rng.normal(size=(2, D))
    x = rng.normal(size=(5, D))
    # one component: the closed forms -Sigma^{-1} (x - loc) and the Cholesky derivative
    m = MultivariateNormal(loc[0], scale_tril=L[0])
    lp, g = m.log_prob_grad(x, wrt=("value", "loc", "scale_tril"))
    Si = np.linalg.inv(L[0] @ L[0].T)
    u = (x - loc[0]) @ Si
    np.testing.assert_allclose(g["value"], -u, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g["loc"], u.sum(0), rtol=1e-12)
    z = np.linalg.solve(L[0], (x - loc[0]).T).T
    want = np.tril(u.T @ z - 5 * np.diag(1.0 / np.diag(L[0])))
    np.testing.assert_allclose(g["scale_tril"], want, rtol=1e-11, atol=1e-13)
    assert np.all(np.triu(g["scale_tril"], 1) == 0)
    # a mixture: central differences of mixstat's log_prob
    logits = np.array([0.3, -0.2])

    def lp_of(loc=loc, L=L, x=x):
        return MixtureSameFamily(Categorical(logits=logits), MultivariateNormal(loc, scale_tril=L)).log_prob(x)

    d = MixtureSameFamily(Categorical(logits=logits), MultivariateNormal(loc, scale_tril=L))
    lp, g = d.log_prob_grad(x, wrt=("value", "loc", "scale_tril", "logits"))
    for name, base in (("loc", loc), ("L", L), ("x", x)):
        fd = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            if name == "L" and idx[2] > idx[1]:
                continue
            h = 1e-6
            up, dn = base.copy(), base.copy()
            up[idx] += h
            dn[idx] -= h
            fd[idx] = (lp_of(**{name: up}) - lp_of(**{name: dn})).sum() / (2 * h)
        key = {"loc": "loc", "L": "scale_tril", "x": "value"}[name]
        np.testing.assert_allclose(g[key], fd, rtol=1e-6, atol=1e-7)
    # a covariance_matrix input is differentiated through its Cholesky factor
    mc = MultivariateNormal(loc[0], covariance_matrix=L[0] @ L[0].T)
    np.testing.assert_allclose(mc.log_prob_grad(x, wrt=("scale_tril",))[1]["scale_tril"], want, rtol=1e-9)
    with pytest.raises(ValueError, match="covariance_matrix.*scale_tril"):
        mc.log_prob_grad(x, wrt=("covariance_matrix",))


def test_poisson_rate():
    rate = np.array([0.5, 3.0])
    k = np.array([0, 1, 4, 7])
    d = MixtureSameFamily(Categorical(probs=np.array([0.3, 0.7])), Poisson(rate))
    lp, g = d.log_prob_grad(k, wrt=("rate",))
    with mp.workdps(DPS):

        def total(r0, r1):
            return mp.fsum(
                mp.log(
                    mp.mpf("0.3") * mp.exp(-r0) * r0 ** int(v) / mp.factorial(int(v))
                    + mp.mpf("0.7") * mp.exp(-r1) * r1 ** int(v) / mp.factorial(int(v))
                )
                for v in k
            )

        want = [
            float(mp.diff(lambda t: total(t, mp.mpf(3)), mp.mpf("0.5"))),
            float(mp.diff(lambda t: total(mp.mpf("0.5"), t), mp.mpf(3))),
        ]
    np.testing.assert_allclose(g["rate"], want, rtol=1e-9)
    with pytest.raises(ValueError, match="'value'.*integer values"):
        d.log_prob_grad(k, wrt=("value",))


def test_errors_before_any_kernel():
    d = MixtureSameFamily(Categorical(logits=np.zeros(2)), Normal(np.zeros(2), np.ones(2)))
    with pytest.raises(ValueError, match=r"'sigma'.*allowed: 'value', 'logits', 'probs', 'loc', 'scale'"):
        d.log_prob_grad(np.zeros(3), wrt=("value", "sigma"))
    with pytest.raises(ValueError, match="'logits'.*allowed: 'value', 'loc', 'scale'"):
        Normal(0.0, 1.0).log_prob_grad(np.zeros(3), wrt=("logits",))
    with pytest.raises(ValueError, match=r"cotangent of shape \(2,\).*\(3,\)"):
        d.log_prob_grad(np.zeros(3), cotangent=np.ones(2))
    with pytest.raises(ValueError, match="twice"):
        d.log_prob_grad(np.zeros(3), wrt=("loc", "loc"))
    with pytest.raises(TypeError, match="wrt"):
        d.log_prob_grad(np.zeros(3), wrt=(1,))
    with pytest.raises(ValueError, match="no derivatives for Dirichlet"):
        Dirichlet(np.ones(3)).log_prob_grad(np.full(3, 1 / 3))
    with pytest.raises(ValueError, match="event_shape"):
        MultivariateNormal(np.zeros(2), scale_tril=np.eye(2)).log_prob_grad(np.zeros(3))
    with pytest.raises(TypeError, match="Distribution"):
        mixstat.score(np.zeros(2), np.zeros(2))


def test_outside_support_and_nan():
    """A value outside every support (log_prob -inf) or NaN: a NaN value gradient, nothing added
    to the parameters' gradients."""
    d = MixtureSameFamily(Categorical(logits=np.zeros(2)), Gamma(np.array([2.0, 3.0]), np.ones(2)))
    lp, g = d.log_prob_grad(np.array([-1.0, np.nan, 1.0]), wrt=("value", "rate"))
    assert lp[0] == -np.inf and np.isnan(lp[1]) and np.isfinite(lp[2])
    assert np.isnan(g["value"][:2]).all() and np.isfinite(g["value"][2])
    _, g1 = d.log_prob_grad(np.array([1.0]), wrt=("rate",))
    np.testing.assert_array_equal(g["rate"], g1["rate"])


def test_same_bits_at_1_and_2_threads():
    import numba

    rng = np.random.default_rng(8)
    cases = [
        (
            MixtureSameFamily(
                Categorical(logits=rng.normal(size=5)), Normal(rng.normal(size=5), rng.uniform(0.5, 2, 5))
            ),
            rng.normal(0, 2, 3000),
        ),  # one row, many chunks of samples
        (
            MixtureSameFamily(
                Categorical(logits=rng.normal(size=(300, 3))),
                Normal(rng.normal(size=(300, 3)), rng.uniform(0.5, 2, (300, 3))),
            ),
            rng.normal(0, 2, (3, 300)),
        ),  # rows partitioned over chunks
    ]
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 numba threads (NUMBA_NUM_THREADS is 1 here)")
    before = numba.get_num_threads()
    try:
        for d, x in cases:
            out = []
            for nt in (1, 2):
                numba.set_num_threads(nt)
                lp, g = d.log_prob_grad(x, wrt=("value", "logits", "loc", "scale"))
                out.append((lp, g, mixstat.score(d, x)))
            (lp1, g1, s1), (lp2, g2, s2) = out
            assert lp1.tobytes() == lp2.tobytes() and s1.tobytes() == s2.tobytes()
            for k in g1:
                assert g1[k].tobytes() == g2[k].tobytes(), k
    finally:
        numba.set_num_threads(before)


def test_score_fast_path_matches_exact():
    """The score of a shared Normal mixture takes the SIMD tile path; its values agree with the
    exact per-point path (taken when parameter gradients are asked for too)."""
    rng = np.random.default_rng(9)
    K = 16
    d = MixtureSameFamily(Categorical(logits=rng.normal(size=K)), Normal(rng.normal(0, 3, K), rng.uniform(0.3, 2.0, K)))
    x = np.concatenate([rng.normal(0, 4, 2000), [-1e3, 800.0, 0.0]])
    s = mixstat.score(d, x)
    lp, g = d.log_prob_grad(x, wrt=("value", "loc"))
    np.testing.assert_allclose(s, g["value"], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(d.log_prob_grad(x)[0], lp, rtol=1e-14, atol=1e-13)
    assert math.isclose(
        s[-3],
        (1e3 + d.component_distribution.loc[np.argmax(d.component_distribution.scale)])
        / np.max(d.component_distribution.scale) ** 2,
        rel_tol=1e-9,
    )


def _rows_case(B, K, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (B, K))
    loc = rng.normal(0, 2, (B, K))
    scale = rng.uniform(0.3, 2.0, (B, K))
    x = rng.normal(0, 3, B)
    return [a.astype(dtype) for a in (logits, loc, scale, x)]


def _general(d, x, wrt, cot=None, monkeypatch=None):
    """The general ``log_prob_grad`` loop (packed table) on the same distribution."""
    from mixstat.distributions import _grad

    monkeypatch.setattr(_grad, "ROWS_MIN", 10**18)
    try:
        return d.log_prob_grad(x, wrt=wrt, cotangent=cot)
    finally:
        monkeypatch.undo()


def test_per_row_kernel_against_mpmath_and_the_general_loop(monkeypatch):
    """Per-row (B, K) parameters above ROWS_MIN take the per-row kernel (raw logits normalised
    inside, the gradients in the (B, K) layout): equal to the general loop, and to mpmath on
    rows with a -inf logit, far tails (responsibilities switching, densities underflowing), a
    dominant logit, a tiny and a huge scale."""
    from mixstat.distributions import _grad

    B, K = _grad.ROWS_MIN + 77, 3  # a partial last tile
    logits, loc, scale, x = _rows_case(B, K, 11)
    logits[5, 1] = -np.inf
    logits[6] = [0.0, -np.inf, -np.inf]  # one live component
    x[7] = 1e4  # far tail: every density underflows
    loc[8], scale[8], x[8] = [-2.0, 2.0, 0.5], [0.5, 1.0, 3.0], -300.0
    logits[9] = [300.0, -300.0, 0.0]
    scale[10] = [1e-150, 1.0, 1e150]
    x[11] = np.nextafter(loc[11, 0], np.inf)
    # a far point where two components' standardised distances overflow to inf: their terms
    # are 0, their gradients 0 (not 0 * inf)
    loc[12], scale[12], x[12] = [0.0, 0.0, 0.0], [1e300, 1e-10, 1.0], 1e300
    cot = np.random.default_rng(12).normal(size=B)
    d = MixtureSameFamily(Categorical(logits=logits), Normal(loc, scale))
    wrt = ("value", "logits", "loc", "scale")
    lp, g = d.log_prob_grad(x, wrt=wrt, cotangent=cot)
    lp0, g0 = _general(d, x, wrt, cot, monkeypatch)
    np.testing.assert_allclose(lp, lp0, rtol=1e-13, atol=1e-13)
    for n in wrt:
        assert g[n].shape == g0[n].shape and g[n].dtype == np.float64
        np.testing.assert_allclose(g[n], g0[n], rtol=1e-11, atol=1e-13 * np.abs(g0[n]).max())
    assert g["loc"][5, 1] == 0.0 and g["scale"][5, 1] == 0.0 and g["logits"][5, 1] == 0.0
    assert all(g[n][6, 1:].tolist() == [0.0, 0.0] for n in ("logits", "loc", "scale"))
    assert np.isfinite(lp).all() and all(np.isfinite(v).all() for v in g.values())
    _, names, f, _, _ = FAMILIES["normal"]
    # (row 10's tiny and huge scales: against the general loop above; mpmath.diff's step
    # would take the 1e-150 scale negative)
    for b in (0, 5, 6, 7, 8, 9, 11, B - 1):
        gv, ref = _reference(f, names, x[b : b + 1], cot[b : b + 1], logits[b], dict(loc=loc[b], scale=scale[b]))
        with mp.workdps(DPS):
            want = float(
                _mp_mixture(
                    f,
                    names,
                    mp.mpf(x[b]),
                    [mp.mpf(v) for v in logits[b]],
                    {n: [mp.mpf(v) for v in p[b]] for n, p in (("loc", loc), ("scale", scale))},
                )
            )
        assert abs(lp[b] - want) <= 1e-13 * max(1.0, abs(want)), (b, lp[b], want)
        assert abs(g["value"][b] - gv[0]) <= 1e-9 * max(abs(gv[0]), 1e-300), (b, g["value"][b], gv[0])
        for n in ("logits", "loc", "scale"):
            for k in range(K):
                w, s = ref[(n, k)]
                # (r_k - w_k rounds to eps absolute where both are near 1: row 9)
                assert abs(g[n][b, k] - w) <= 1e-9 * s + 1e-15, (b, n, k, g[n][b, k], w)


def test_per_row_kernel_samples_float32_and_odd_points(monkeypatch):
    """Values with a sample dim (S, B) sum each row's gradients over its samples; float32 in,
    float32 out within 1e-4 of float64; NaN and infinite values, a subnormal scale (the exact
    redo) and the score take the same rules as the general loop."""
    from mixstat.distributions import _grad

    B, K = _grad.ROWS_MIN + 5, 4
    logits, loc, scale, _ = _rows_case(B, K, 13)
    scale[3, 2] = 5e-324  # subnormal: its reciprocal overflows
    x = np.random.default_rng(14).normal(0, 3, (2, B))
    x[0, 1], x[1, 2], x[0, 4] = np.nan, np.inf, -np.inf
    cot = np.random.default_rng(15).normal(size=(2, B))
    wrt = ("value", "logits", "loc", "scale")
    d = MixtureSameFamily(Categorical(logits=logits), Normal(loc, scale))
    lp, g = d.log_prob_grad(x, wrt=wrt, cotangent=cot)
    lp0, g0 = _general(d, x, wrt, cot, monkeypatch)
    np.testing.assert_allclose(lp, lp0, rtol=1e-13, atol=1e-13)
    assert np.isnan(lp[0, 1]) and lp[1, 2] == -np.inf and np.isnan(g["value"][[0, 1, 0], [1, 2, 4]]).all()
    for n in wrt:
        np.testing.assert_allclose(g[n], g0[n], rtol=1e-11, atol=1e-13 * np.nanmax(np.abs(g0[n])))
    np.testing.assert_allclose(mixstat.score(d, x), g["value"] / cot, rtol=1e-12)
    # float32: every output float32, within 1e-4 of the float64 gradients (the ordinary rows)
    scale[3, 2] = 1.0
    d64 = MixtureSameFamily(Categorical(logits=logits), Normal(loc, scale))
    d32 = MixtureSameFamily(
        Categorical(logits=logits.astype(np.float32)), Normal(loc.astype(np.float32), scale.astype(np.float32))
    )
    x = np.nan_to_num(x, nan=0.5, posinf=1.0, neginf=-1.0)
    lp64, g64 = d64.log_prob_grad(x, wrt=wrt, cotangent=cot)
    lp32, g32 = d32.log_prob_grad(x.astype(np.float32), wrt=wrt, cotangent=cot.astype(np.float32))
    assert lp32.dtype == np.float32 and all(v.dtype == np.float32 for v in g32.values())
    np.testing.assert_allclose(lp32, lp64, rtol=1e-4, atol=1e-5)
    for n in wrt:
        np.testing.assert_allclose(g32[n], g64[n], rtol=1e-4, atol=1e-4 * np.abs(g64[n]).max())


def test_normal_rows_grad_counts_invalid_parameters():
    """The kernel counts invalid parameters in its pass (the adapters' check); the error names
    the parameter and the index."""
    from mixstat.distributions._grad import invalid_rows_params, normal_rows_grad

    logits, loc, scale, x = _rows_case(300, 2, 16)
    assert normal_rows_grad(logits, loc, scale, x)[0] == 0
    for name, idx, v, msg in (
        ("scale", (3, 1), 0.0, "scale of shape (300, 2) must be positive and finite"),
        ("loc", (4, 0), np.inf, "loc of shape (300, 2) must be finite"),
        ("logits", (5, 1), np.nan, "logits of shape (300, 2) must be not NaN"),
    ):
        arrs = {"logits": logits.copy(), "loc": loc.copy(), "scale": scale.copy()}
        arrs[name][idx] = v
        assert normal_rows_grad(arrs["logits"], arrs["loc"], arrs["scale"], x)[0] >= 1
        e = invalid_rows_params("op", arrs["logits"], arrs["loc"], arrs["scale"])
        assert msg in str(e) and str(idx) in str(e)
    lg = logits.copy()
    lg[7] = -np.inf
    assert normal_rows_grad(lg, loc, scale, x)[0] >= 1
    assert "finite in every row" in str(invalid_rows_params("op", lg, loc, scale))


def _count_mixture_total(logmass, params, w, k):
    """``sum_x log sum_j w_j exp(logmass(x, *params_j))`` in mpmath."""
    return mp.fsum(mp.log(mp.fsum(wj * mp.exp(logmass(int(v), *pj)) for wj, pj in zip(w, params))) for v in k)


# name -> (constructor, mpmath log-mass(x, p, *extra), extra per component, probs, values)
COUNT_FAMILIES = {
    "bernoulli": (
        lambda probs, extra: Bernoulli(probs=probs),
        lambda x, p: mp.log(p) if x == 1 else mp.log(1 - p),
        [(), ()],
        [0.2, 0.9],
        [0, 1, 1, 0, 1],
    ),
    "geometric": (
        lambda probs, extra: Geometric(probs=probs),
        lambda x, p: x * mp.log(1 - p) + mp.log(p),
        [(), ()],
        [0.15, 0.6],
        [0, 1, 3, 9, 20],
    ),
    "binomial": (
        lambda probs, extra: Binomial(total_count=np.array([e[0] for e in extra]), probs=probs),
        lambda x, p, n: mp.log(mp.binomial(n, x)) + x * mp.log(p) + (n - x) * mp.log(1 - p),
        [(12,), (200,)],  # Loader's saddle-point form above n = 64
        [0.3, 0.55],
        [0, 3, 7, 12, 118],
    ),
    "negative_binomial": (
        lambda probs, extra: NegativeBinomial(total_count=np.array([e[0] for e in extra]), probs=probs),
        lambda x, p, r: mp.loggamma(x + r) - mp.loggamma(r) - mp.loggamma(x + 1) + r * mp.log(1 - p) + x * mp.log(p),
        [(2.5,), (40.0,)],
        [0.3, 0.7],
        [0, 1, 4, 30, 150],
    ),
}


@pytest.mark.parametrize("name", sorted(COUNT_FAMILIES))
def test_count_families_probs_logits_total_count(name):
    make, logmass, extra, probs, k = COUNT_FAMILIES[name]
    probs = np.array(probs)
    w = np.array([0.35, 0.65])
    d = MixtureSameFamily(Categorical(probs=w), make(probs, extra))
    k = np.array(k, dtype=np.float64)
    wrt = ["mixture.logits", "component.probs", "component.logits"]
    if name == "negative_binomial":
        wrt.append("total_count")
    lp, g = d.log_prob_grad(k, wrt=tuple(wrt))
    with mp.workdps(DPS):
        W = [mp.mpf(float(x)) for x in w]
        P = [mp.mpf(float(x)) for x in probs]

        def total(P, W=W, E=extra):
            return _count_mixture_total(logmass, [(p, *e) for p, e in zip(P, E)], W, k)

        lp_want = [float(_count_mixture_total(logmass, [(p, *e) for p, e in zip(P, extra)], W, [v])) for v in k]
        np.testing.assert_allclose(lp, lp_want, rtol=1e-12)
        g_probs = [
            float(mp.diff(lambda t, j=j: total([t if i == j else P[i] for i in range(2)]), P[j])) for j in range(2)
        ]
        # logits of a probability: dp/dlogit = p (1 - p)
        g_logits = [g_probs[j] * float(P[j] * (1 - P[j])) for j in range(2)]
        tot = [mp.fsum(mp.exp(logmass(int(v), P[j], *extra[j])) * W[j] for j in range(2)) for v in k]
        resp = [[W[j] * mp.exp(logmass(int(v), P[j], *extra[j])) / t for j in range(2)] for v, t in zip(k, tot)]
        g_w = [float(mp.fsum(r[j] - W[j] for r in resp)) for j in range(2)]
        if name == "negative_binomial":
            R = [mp.mpf(e[0]) for e in extra]

            def total_r(R):
                return _count_mixture_total(logmass, [(p, r) for p, r in zip(P, R)], W, k)

            g_r = [
                float(mp.diff(lambda t, j=j: total_r([t if i == j else R[i] for i in range(2)]), R[j]))
                for j in range(2)
            ]
    np.testing.assert_allclose(g["component.probs"], g_probs, rtol=1e-9)
    np.testing.assert_allclose(g["component.logits"], g_logits, rtol=1e-9)
    np.testing.assert_allclose(g["mixture.logits"], g_w, rtol=1e-9, atol=1e-12)
    if name == "negative_binomial":
        np.testing.assert_allclose(g["total_count"], g_r, rtol=1e-9)
    # the bare name is ambiguous in such a mixture; alone it is not
    with pytest.raises(ValueError, match="'probs' is ambiguous.*'mixture.probs' or 'component.probs'"):
        d.log_prob_grad(k, wrt=("probs",))
    lp1, g1 = d.component_distribution.log_prob_grad(k[:, None], wrt=("probs", "logits"))
    assert g1["probs"].shape == (2,) and np.all(np.isfinite(g1["logits"]))


def test_negative_binomial_psi_difference():
    """``psi(r + x) - psi(r)`` of the NegativeBinomial derivative, against mpmath over
    ``r`` from 1e-3 to 1e12 and counts up to 1e6 (the digammas alone cancel for large r)."""
    from mixstat.kernels.families.negative_binomial import psi_diff

    worst = 0.0
    with mp.workdps(40):
        for r in (1e-3, 0.7, 3.0, 9.9, 10.0, 55.5, 1e4, 1e8, 1e12):
            for x in (0.0, 1.0, 2.0, 17.0, 64.0, 65.0, 300.0, 1e4, 1e6):
                want = mp.digamma(mp.mpf(r) + x) - mp.digamma(mp.mpf(r))
                got = psi_diff(r, x)
                if want == 0:
                    assert got == 0.0
                    continue
                worst = max(worst, abs(got - float(want)) / abs(float(want)))
    assert worst < 1e-13, worst


def _mp_cat_mixture(W, CL, v):
    """log sum_k softmax(W)_k softmax(CL[k])_v in mpmath (W: K logits, CL: K rows of C logits;
    an -inf entry is a zero weight)."""
    lw = [w - _lse(W) for w in W]
    return _lse([lw[k] + CL[k][v] - _lse(CL[k]) for k in range(len(W)) if lw[k] > -mp.inf])


def test_categorical_components_and_plain_categorical_against_mpmath():
    """A mixture of Categoricals: the gradients with respect to the mixture's and the components'
    logits and probs against mpmath derivatives at 30 digits, with a zero mixture weight, a zero
    category, sample dims, a cotangent, and values outside the support (adding nothing)."""
    rng = np.random.default_rng(21)
    B, K, C = 2, 3, 4
    W = rng.normal(size=(B, K))
    W[1, 2] = -np.inf  # a zero weight
    CL = rng.normal(size=(B, K, C))
    CL[0, 1, 3] = -np.inf  # a category of zero probability
    v = np.array([[0, 3], [2, 1], [3, 7], [1.5, np.nan], [-1, 0]], dtype=np.float64)
    cot = rng.normal(size=v.shape)
    d = MixtureSameFamily(Categorical(logits=W), Categorical(logits=CL))
    wrt = ("mixture.logits", "component.logits", "component.probs", "mixture.probs")
    lp, g = d.log_prob_grad(v, wrt=wrt, cotangent=cot)
    assert np.isnan(lp[3, 1]) and lp[2, 1] == -np.inf and lp[3, 0] == -np.inf and lp[4, 0] == -np.inf
    np.testing.assert_allclose(lp, d.log_prob(v), rtol=1e-14)
    good = [(s, b) for s in range(v.shape[0]) for b in range(B) if np.isfinite(lp[s, b])]
    with mp.workdps(DPS):
        for b in range(B):
            Wb = [mp.mpf(float(x)) for x in W[b]]
            Cb = [[mp.mpf(float(x)) for x in row] for row in CL[b]]

            def total(Wx, Cx, b=b):
                return mp.fsum(
                    mp.mpf(float(cot[s, bb])) * _mp_cat_mixture(Wx, Cx, int(v[s, bb])) for s, bb in good if bb == b
                )

            for k in range(K):
                want = (
                    0.0
                    if W[b, k] == -np.inf
                    else float(mp.diff(lambda t: total([t if i == k else Wb[i] for i in range(K)], Cb), Wb[k]))
                )
                assert abs(g["mixture.logits"][b, k] - want) <= 1e-9 * max(1.0, abs(want)), (b, k)
                for c in range(C):
                    if CL[b, k, c] == -np.inf or W[b, k] == -np.inf:
                        want = 0.0
                    else:

                        def f(t, k=k, c=c):
                            Cx = [list(r) for r in Cb]
                            Cx[k][c] = t
                            return total(Wb, Cx)

                        want = float(mp.diff(f, Cb[k][c]))
                    got = g["component.logits"][b, k, c]
                    assert abs(got - want) <= 1e-9 * max(1.0, abs(want)), (b, k, c, got, want)
                    # probs: d/dp_c of log(p_v / sum p) at the normalised probs = d/dlogit_c / p_c
                    p = float(np.exp(d.component_distribution.logits[b, k, c]))
                    wantp = 0.0 if p == 0 or W[b, k] == -np.inf else want / p
                    gotp = g["component.probs"][b, k, c]
                    # (at a zero-probability category: the chain rule's -sum S, not 0)
                    if p > 0:
                        assert abs(gotp - wantp) <= 1e-9 * max(1.0, abs(wantp)), (b, k, c, gotp, wantp)
    assert g["component.logits"].shape == (B, K, C) and g["mixture.probs"].shape == (B, K)
    assert np.isfinite(g["component.probs"]).all() and np.isfinite(g["mixture.probs"]).all()
    # the weights' probs by the chain rule from logits (as for every other family)
    w = np.exp(d.mixture_distribution.logits)
    live = w > 0
    np.testing.assert_allclose(
        np.where(live, g["mixture.probs"] * w, 0.0),
        np.where(live, g["mixture.logits"], 0.0),
        rtol=1e-12,
        atol=1e-15,
    )
    with pytest.raises(ValueError, match="'logits' is ambiguous"):
        d.log_prob_grad(v, wrt=("logits",))
    with pytest.raises(ValueError, match="cannot differentiate with respect to 'value'"):
        d.log_prob_grad(v, wrt=("value",))


def test_plain_categorical_logits_probs_and_float32():
    """``Categorical.log_prob_grad``: ``onehot(v) - p`` for the logits (the score-function
    estimator's term), ``onehot(v) / p - 1`` for the probs, summed over sample dims and over a
    broadcast batch; float32 in, float32 out."""
    rng = np.random.default_rng(22)
    logits = rng.normal(size=(3, 5))
    c = Categorical(logits=logits)
    v = rng.integers(0, 5, size=(7, 3)).astype(np.float64)
    lp, g = c.log_prob_grad(v, wrt=("logits", "probs"))
    p = np.exp(log_softmax(logits, axis=-1))
    onehot = (v[..., None] == np.arange(5)).astype(float)
    np.testing.assert_allclose(
        lp, np.log(np.take_along_axis(np.broadcast_to(p, (7, 3, 5)), v.astype(int)[..., None], -1))[..., 0], rtol=1e-13
    )
    np.testing.assert_allclose(g["logits"], (onehot - p).sum(0), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g["probs"], (onehot / p - 1).sum(0), rtol=1e-12, atol=1e-14)
    c1 = Categorical(logits=logits[:1])  # batch (1,) broadcast against the values' (3,)
    _, g1 = c1.log_prob_grad(v, wrt=("logits",))
    assert g1["logits"].shape == (1, 5)
    onehot1 = onehot.sum((0, 1))
    np.testing.assert_allclose(g1["logits"][0], onehot1 - 21 * p[0], rtol=1e-12, atol=1e-13)
    c32 = Categorical(logits=logits.astype(np.float32))
    lp32, g32 = c32.log_prob_grad(v.astype(np.float32), wrt=("logits",))
    assert lp32.dtype == np.float32 and g32["logits"].dtype == np.float32
    np.testing.assert_allclose(g32["logits"], g["logits"], rtol=1e-4, atol=1e-5)
