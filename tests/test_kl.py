"""``kl_divergence``: every registered pair against an independent reference.

References: numerical integration of ``p log(p / q)`` with ``scipy.stats`` densities
(univariate continuous), sums over ``scipy.stats`` mass functions with a proven
tail bound (discrete), dense-matrix formulas with ``numpy.linalg.inv`` /
``slogdet`` (Gaussians), an entropy-based formula with ``scipy.stats.dirichlet``
and stick-breaking into one-dimensional Beta quadratures (Dirichlet), mpmath at
50 digits (nearly equal and far apart parameters, Poisson sums).
"""

from __future__ import annotations

import math
import zlib

import mpmath
import numpy as np
import pytest
from scipy import integrate, special as sc, stats

from mixstat.distributions import (
    Bernoulli,
    Beta,
    Binomial,
    Categorical,
    Cauchy,
    Dirichlet,
    Distribution,
    Exponential,
    Gamma,
    Geometric,
    Gumbel,
    HalfNormal,
    Independent,
    Laplace,
    LogNormal,
    LowRankMultivariateNormal,
    MixtureSameFamily,
    MultivariateNormal,
    Normal,
    Poisson,
    StudentT,
    Uniform,
    VonMises,
    Weibull,
    kl as klmod,
    kl_divergence,
    register_kl,
)

pytestmark = pytest.mark.filterwarnings("error")  # no NumPy warnings on valid input

RTOL = 1e-10
ATOL = 1e-13

# -- univariate continuous families: parameter makers and scipy references -------------------
U = lambda rng, shape, lo, hi: rng.uniform(lo, hi, shape)

FAM = {
    "normal": (
        Normal,
        lambda r, s: dict(loc=U(r, s, -2, 2), scale=U(r, s, 0.5, 2)),
        lambda loc, scale: stats.norm(loc, scale),
    ),
    "lognormal": (
        LogNormal,
        lambda r, s: dict(loc=U(r, s, -1, 1), scale=U(r, s, 0.3, 1.5)),
        lambda loc, scale: stats.lognorm(scale, scale=math.exp(loc)),
    ),
    "halfnormal": (HalfNormal, lambda r, s: dict(scale=U(r, s, 0.5, 2)), lambda scale: stats.halfnorm(scale=scale)),
    "exponential": (Exponential, lambda r, s: dict(rate=U(r, s, 0.5, 2)), lambda rate: stats.expon(scale=1 / rate)),
    "gamma": (
        Gamma,
        lambda r, s: dict(concentration=U(r, s, 0.7, 4), rate=U(r, s, 0.5, 2)),
        lambda concentration, rate: stats.gamma(concentration, scale=1 / rate),
    ),
    "beta": (
        Beta,
        lambda r, s: dict(concentration1=U(r, s, 0.7, 4), concentration0=U(r, s, 0.7, 4)),
        lambda concentration1, concentration0: stats.beta(concentration1, concentration0),
    ),
    "laplace": (
        Laplace,
        lambda r, s: dict(loc=U(r, s, -2, 2), scale=U(r, s, 0.5, 2)),
        lambda loc, scale: stats.laplace(loc, scale),
    ),
    "cauchy": (
        Cauchy,
        lambda r, s: dict(loc=U(r, s, -2, 2), scale=U(r, s, 0.5, 2)),
        lambda loc, scale: stats.cauchy(loc, scale),
    ),
    "gumbel": (
        Gumbel,
        lambda r, s: dict(loc=U(r, s, -2, 2), scale=U(r, s, 0.5, 2)),
        lambda loc, scale: stats.gumbel_r(loc, scale),
    ),
    # a Uniform inside (0, 1) (as p against a positive or unit-interval q) and one that covers it
    "uniform_in": (
        Uniform,
        lambda r, s: dict(low=U(r, s, 0.05, 0.3), high=U(r, s, 0.6, 0.95)),
        lambda low, high: stats.uniform(low, high - low),
    ),
    "uniform_out": (
        Uniform,
        lambda r, s: dict(low=U(r, s, -1.5, -0.5), high=U(r, s, 1.5, 2.5)),
        lambda low, high: stats.uniform(low, high - low),
    ),
}

CONT_PAIRS = [
    ("normal", "normal"),
    ("lognormal", "lognormal"),
    ("halfnormal", "halfnormal"),
    ("exponential", "exponential"),
    ("gamma", "gamma"),
    ("beta", "beta"),
    ("laplace", "laplace"),
    ("uniform_in", "uniform_out"),
    ("cauchy", "cauchy"),
    ("gumbel", "gumbel"),
    ("exponential", "gamma"),
    ("gamma", "exponential"),
    ("exponential", "normal"),
    ("gamma", "normal"),
    ("beta", "normal"),
    ("uniform_in", "normal"),
    ("laplace", "normal"),
    ("gumbel", "normal"),
    ("halfnormal", "normal"),
    ("beta", "gamma"),
    ("uniform_in", "gamma"),
    ("halfnormal", "gamma"),
    ("beta", "exponential"),
    ("uniform_in", "exponential"),
    ("halfnormal", "exponential"),
    ("normal", "gumbel"),
    ("exponential", "gumbel"),
    ("gamma", "gumbel"),
    ("uniform_in", "gumbel"),
    ("normal", "laplace"),
    ("beta", "uniform_out"),
    ("uniform_in", "beta"),
]


def quad_kl(fp, fq):
    """``int p log(p / q)`` over p's support, piecewise between quantiles of p (``scipy.integrate.quad``)."""
    a, b = fp.support()
    if fp.dist.name == "cauchy":  # x = loc + scale tan(t): p(x) dx = dt / pi
        m = fp.median()
        s = fp.ppf(0.75) - m

        def g(t):
            x = m + s * math.tan(t)
            return (fp.logpdf(x) - fq.logpdf(x)) / math.pi

        val, err = integrate.quad(g, -math.pi / 2, math.pi / 2, epsabs=0, epsrel=1e-12, limit=400)
        return val

    # Half-line and unit-interval supports are mapped to the real line (x = exp(y), x = expit(y)),
    # where the integrand is smooth and decays exponentially even where the density of p is
    # unbounded at the end of its support (Gamma, Beta with concentrations below 1).
    if (a, b) == (0.0, np.inf):
        to_x, log_jac, to_y = np.exp, (lambda y: y), np.log
    elif (a, b) == (0.0, 1.0) and fp.dist.name == "beta":
        to_x, log_jac, to_y = sc.expit, (lambda y: sc.log_expit(y) + sc.log_expit(-y)), sc.logit
    else:
        to_x, log_jac, to_y = (lambda y: y), (lambda y: 0.0), (lambda x: x)

    beta_p = fp.dist.name == "beta"
    qa, qb = fq.support()

    def logpdf(fr, x, y):
        """``fr.logpdf(x)``; for a Beta at ``x = expit(y) > 1/2``, that of ``Beta(b, a)`` at
        ``1 - x = expit(-y)``, which keeps ``log(1 - x)`` accurate near 1."""
        if beta_p and y > 0 and fr.dist.name == "beta":
            return stats.beta(fr.args[1], fr.args[0]).logpdf(sc.expit(-y))
        return fr.logpdf(x)

    def f(y):
        # scipy's densities may overflow inside for x far in the tails, where the weight is 0
        with np.errstate(all="ignore"):
            x = float(to_x(y))
            inside = sc.expit(-y) > 0.0 if beta_p and y > 0 else a < x < b
            if not inside:  # exp(y) or expit(y) rounded to an end of the support
                return 0.0
            lp = logpdf(fp, x, y)
            lw = lp + log_jac(y)
            if lw < -745.0:
                return 0.0
            lq = logpdf(fq, x, y)
            if lq == -np.inf and qa < x < qb:
                # some scipy logpdfs are log(pdf): -inf where the pdf underflows, far in the tail
                assert lw < -100.0, (x, lp, lq)
                return 0.0
            return math.exp(lw) * (lp - lq)

    # quantiles of p, and q's median and support ends (kinks of a Laplace q, jumps of a Uniform q)
    cuts = [float(c) for c in fp.ppf([1e-3, 0.1, 0.5, 0.9, 0.999])]
    cuts += [float(fq.median()), *(float(c) for c in fq.support())]
    knots = [float(to_y(c)) for c in sorted(set(cuts)) if a < c < b]
    mapped = to_x is not np.exp and to_x is not sc.expit
    knots = [a if mapped else -np.inf] + knots + [b if mapped else np.inf]
    total = 0.0
    for lo, hi in zip(knots[:-1], knots[1:]):
        if hi > lo:
            total += integrate.quad(f, lo, hi, epsabs=0, epsrel=1e-12, limit=400)[0]
    return total


def _build(name, params):
    return FAM[name][0](**params)


def _frozen(name, params, idx, shape):
    kw = {k: float(np.broadcast_to(v, shape)[idx]) for k, v in params.items()}
    return FAM[name][2](**kw)


@pytest.mark.parametrize("pn,qn", CONT_PAIRS, ids=lambda x: x)
def test_continuous_pairs_match_quadrature(pn, qn):
    rng = np.random.default_rng(zlib.crc32(f"{pn}|{qn}".encode()))
    pp = FAM[pn][1](rng, (2, 1))
    qp = FAM[qn][1](rng, (3,))
    got = kl_divergence(_build(pn, pp), _build(qn, qp))
    assert got.shape == (2, 3) and got.dtype == np.float64
    ref = np.empty((2, 3))
    for idx in np.ndindex(2, 3):
        ref[idx] = quad_kl(_frozen(pn, pp, idx, (2, 3)), _frozen(qn, qp, idx, (2, 3)))
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, ref, rtol=RTOL, atol=ATOL)


def test_gamma_beta_concentrations_below_one():
    """Densities unbounded at the end of the support (integrable singularities)."""
    p = Gamma(np.array([0.3, 0.6]), np.array([1.5, 0.7]))
    q = Gamma(np.array([0.8, 2.5]), np.array([0.4, 1.1]))
    ref = [
        quad_kl(stats.gamma(a, scale=1 / b), stats.gamma(c, scale=1 / d))
        for a, b, c, d in zip(p.concentration, p.rate, q.concentration, q.rate)
    ]
    np.testing.assert_allclose(kl_divergence(p, q), ref, rtol=RTOL)
    p = Beta(np.array([0.4, 2.0]), np.array([0.6, 0.5]))
    q = Beta(np.array([0.9, 0.5]), np.array([3.0, 0.8]))
    ref = [
        quad_kl(stats.beta(a, b), stats.beta(c, d))
        for a, b, c, d in zip(p.concentration1, p.concentration0, q.concentration1, q.concentration0)
    ]
    np.testing.assert_allclose(kl_divergence(p, q), ref, rtol=RTOL)


# -- nearly equal parameters: the closed forms keep their relative accuracy -------------------
mpmath.mp.dps = 50


def _mp_normal(mp_, sp, mq, sq):
    mp_, sp, mq, sq = (mpmath.mpf(float(v)) for v in (mp_, sp, mq, sq))
    v = (sp / sq) ** 2
    return 0.5 * (v - 1 - mpmath.log(v) + ((mp_ - mq) / sq) ** 2)


@pytest.mark.parametrize("eps", [1e-3, 1e-6, 1e-9])
def test_nearly_equal_parameters_mpmath(eps):
    s = 1.0 + eps
    got = kl_divergence(Normal(0.0, 1.0), Normal(eps, s))
    np.testing.assert_allclose(got, float(_mp_normal(0.0, 1.0, eps, s)), rtol=1e-12)
    r = mpmath.mpf(s)
    np.testing.assert_allclose(
        kl_divergence(Exponential(1.0), Exponential(s)), float(r - 1 - mpmath.log(r)), rtol=1e-12
    )
    lam_p, lam_q = mpmath.mpf(3.0), mpmath.mpf(3.0 * s)
    np.testing.assert_allclose(
        kl_divergence(Poisson(3.0), Poisson(3.0 * s)),
        float(lam_p * mpmath.log(lam_p / lam_q) - lam_p + lam_q),
        rtol=1e-11,
    )
    # Laplace: -log r + |d|/sq + r exp(-|d|/sp) - 1
    sp_, sq_, d = mpmath.mpf(1.0), mpmath.mpf(s), mpmath.mpf(eps)
    ref = -mpmath.log(sp_ / sq_) + d / sq_ + sp_ / sq_ * mpmath.exp(-d / sp_) - 1
    np.testing.assert_allclose(kl_divergence(Laplace(0.0, 1.0), Laplace(eps, s)), float(ref), rtol=1e-11)
    # Cauchy: log(((sp + sq)^2 + d^2) / (4 sp sq))
    ref = mpmath.log(((sp_ + sq_) ** 2 + d**2) / (4 * sp_ * sq_))
    np.testing.assert_allclose(kl_divergence(Cauchy(0.0, 1.0), Cauchy(eps, s)), float(ref), rtol=1e-11)
    # Gumbel: -log r + d' + gamma (r - 1) + exp(-d' + lgamma(1 + r)) - 1 with d' = (mp - mq)/sq;
    # (its closed form has a first-order cancellation between -log r, gamma (r - 1) and lgamma(1 + r))
    rr, dd = sp_ / sq_, -d / sq_
    ref = -mpmath.log(rr) + dd + mpmath.euler * (rr - 1) + mpmath.exp(-dd + mpmath.loggamma(1 + rr)) - 1
    np.testing.assert_allclose(kl_divergence(Gumbel(0.0, 1.0), Gumbel(eps, s)), float(ref), rtol=1e-11)
    # Gamma, Beta, Dirichlet: torch's lgamma / digamma form in 50 digits
    lg, dg = mpmath.loggamma, mpmath.digamma
    ap, bp, aq, bq = mpmath.mpf(2.5), mpmath.mpf(1.5), mpmath.mpf(2.5 * s), mpmath.mpf(1.5 * (1 + 2 * eps))
    ref = aq * mpmath.log(bp / bq) + lg(aq) - lg(ap) + (ap - aq) * dg(ap) + (bq - bp) * ap / bp
    np.testing.assert_allclose(kl_divergence(Gamma(2.5, 1.5), Gamma(float(aq), float(bq))), float(ref), rtol=1e-11)
    ref = (
        lg(aq)
        + lg(bq)
        + lg(ap + bp)
        - lg(ap)
        - lg(bp)
        - lg(aq + bq)
        + (ap - aq) * dg(ap)
        + (bp - bq) * dg(bp)
        + (aq + bq - ap - bp) * dg(ap + bp)
    )
    np.testing.assert_allclose(kl_divergence(Beta(2.5, 1.5), Beta(float(aq), float(bq))), float(ref), rtol=1e-11)
    a_p = [mpmath.mpf(v) for v in (0.7, 2.0, 3.5)]
    a_q = [mpmath.mpf(float(v * (1 + eps * (i + 1)))) for i, v in enumerate(a_p)]
    sp_, sq_ = mpmath.fsum(a_p), mpmath.fsum(a_q)
    ref = (
        lg(sp_)
        - lg(sq_)
        - mpmath.fsum(lg(x) - lg(y) for x, y in zip(a_p, a_q))
        + mpmath.fsum((x - y) * (dg(x) - dg(sp_)) for x, y in zip(a_p, a_q))
    )
    got = kl_divergence(Dirichlet(np.array([float(v) for v in a_p])), Dirichlet(np.array([float(v) for v in a_q])))
    np.testing.assert_allclose(got, float(ref), rtol=1e-10)


def test_far_apart_parameters_mpmath():
    """Ratios of scales that under- or overflow: finite values from the logarithms of the parameters."""
    mp = mpmath.mpf
    cases = []
    for sp, sq in ((1e-200, 1.0), (1.0, 1e-150), (3e-310, 2.0)):
        v = (mp(sp) / mp(sq)) ** 2
        cases.append((Normal(0.0, sp), Normal(1.0, sq), 0.5 * (v - 1 - mpmath.log(v) + (1 / mp(sq)) ** 2)))
        r = mp(sp) / mp(sq)
        cases.append((Laplace(0.0, sp), Laplace(0.0, sq), -mpmath.log(r) + r - 1))
        cases.append((Cauchy(0.0, sp), Cauchy(0.0, sq), mpmath.log((mp(sp) + mp(sq)) ** 2 / (4 * mp(sp) * mp(sq)))))
        g = -mpmath.log(r) + mpmath.euler * (r - 1) + mpmath.exp(mpmath.loggamma(1 + r)) - 1
        cases.append((Gumbel(0.0, sp), Gumbel(0.0, sq), g))
    for bp, bq in ((1.0, 1e-20), (1.0, 5e-320), (1e-200, 1.0)):
        r = mp(bq) / mp(bp)
        cases.append((Exponential(bp), Exponential(bq), r - 1 - mpmath.log(r)))
        cases.append((Poisson(bp), Poisson(bq), mp(bp) * mpmath.log(mp(bp) / mp(bq)) - mp(bp) + mp(bq)))
        cases.append((Gamma(2.0, bp), Gamma(2.0, bq), 2 * (r - 1 - mpmath.log(r))))
    for p, q, ref in cases:
        got = kl_divergence(p, q)
        if float(ref) == np.inf:  # beyond the float64 range (Gumbel with r = 1e150: Gamma(1 + r))
            assert got == np.inf
            continue
        assert np.isfinite(got), (p, q, got)
        np.testing.assert_allclose(got, float(ref), rtol=1e-13, err_msg=f"{p!r} {q!r}")


# -- discrete families ------------------------------------------------------------------------------
def _sum_tail_bounded(logpmf_p, logpmf_q, K):
    k = np.arange(K + 1)
    lp, lq = logpmf_p(k), logpmf_q(k)
    m = lp > -np.inf  # terms of zero p-mass contribute nothing
    return float(np.sum(np.exp(lp[m]) * (lp[m] - lq[m])))


def test_poisson_sum_with_tail_bound():
    rng = np.random.default_rng(1)
    rp, rq = rng.uniform(0.5, 20.0, (3, 1)), rng.uniform(0.5, 20.0, (4,))
    got = kl_divergence(Poisson(rp), Poisson(rq))
    assert got.shape == (3, 4)
    for i, j in np.ndindex(3, 4):
        lp, lq = rp[i, 0], rq[j]
        K = math.ceil(2 * lp + 60)
        # the sum over the mass in 50 digits (a difference of the scipy log-masses would carry
        # their own rounding, a few ulp of |log p(k)| per term)
        mlp, mlq = mpmath.mpf(float(lp)), mpmath.mpf(float(lq))
        ref = mpmath.fsum(
            mpmath.exp(k * mpmath.log(mlp) - mlp - mpmath.loggamma(k + 1)) * (k * mpmath.log(mlp / mlq) - mlp + mlq)
            for k in range(K + 1)
        )
        # |log p(k) - log q(k)| <= A + B k; for k >= K, p(k+1)/p(k) <= rho = lp/(K+1) <= 1/2, so the
        # tail is at most p(K) [(A + B K) rho/(1-rho) + B rho/(1-rho)^2]
        A, B, rho = abs(lq - lp), abs(math.log(lp / lq)), lp / (K + 1)
        tail = stats.poisson(lp).pmf(K) * ((A + B * K) * rho / (1 - rho) + B * rho / (1 - rho) ** 2)
        assert tail < 1e-14 * float(ref)
        np.testing.assert_allclose(got[i, j], float(ref), rtol=1e-12)


def test_geometric_sum_with_tail_bound():
    rng = np.random.default_rng(2)
    pp, pq = rng.uniform(0.2, 0.9, (3, 1)), rng.uniform(0.2, 0.9, (4,))
    got = kl_divergence(Geometric(probs=pp), Geometric(logits=np.log(pq) - np.log1p(-pq)))
    for i, j in np.ndindex(3, 4):
        a, b = pp[i, 0], pq[j]
        K = 400
        ref = _sum_tail_bounded(stats.geom(a, loc=-1).logpmf, stats.geom(b, loc=-1).logpmf, K)
        # g(k) = A + B k; sum_{k>K} a rho^k = rho^(K+1), sum_{k>K} a k rho^k = rho^(K+1) (K+1) + rho^(K+2)/a
        rho = 1 - a
        A, B = abs(math.log(a / b)), abs(math.log((1 - a) / (1 - b)))
        tail = A * rho ** (K + 1) + B * (rho ** (K + 1) * (K + 1) + rho ** (K + 2) / a)
        assert tail < 1e-14 * ref
        np.testing.assert_allclose(got[i, j], ref, rtol=RTOL)


def test_bernoulli_binomial_exact_sums():
    rng = np.random.default_rng(3)
    pp, pq = rng.uniform(0.05, 0.95, (3, 1)), rng.uniform(0.05, 0.95, (4,))
    got = kl_divergence(Bernoulli(probs=pp), Bernoulli(logits=np.log(pq / (1 - pq))))
    for i, j in np.ndindex(3, 4):
        ref = _sum_tail_bounded(stats.bernoulli(pp[i, 0]).logpmf, stats.bernoulli(pq[j]).logpmf, 1)
        np.testing.assert_allclose(got[i, j], ref, rtol=RTOL)
    n = np.array([[5.0], [17.0], [40.0]])
    got = kl_divergence(Binomial(n, probs=pp), Binomial(n, probs=pq))
    assert got.shape == (3, 4)
    for i, j in np.ndindex(3, 4):
        ref = _sum_tail_bounded(stats.binom(n[i, 0], pp[i, 0]).logpmf, stats.binom(n[i, 0], pq[j]).logpmf, int(n[i, 0]))
        np.testing.assert_allclose(got[i, j], ref, rtol=RTOL)


def test_discrete_cross_pairs():
    p = np.array([[0.0], [0.3], [1.0]])
    lam = np.array([0.5, 2.0])
    got = kl_divergence(Bernoulli(probs=p), Poisson(lam))
    for i, j in np.ndindex(3, 2):
        ref = _sum_tail_bounded(stats.bernoulli(p[i, 0]).logpmf, stats.poisson(lam[j]).logpmf, 1)
        np.testing.assert_allclose(got[i, j], ref, rtol=RTOL)
    # a Poisson puts mass on 2, 3, ... unless its rate is 0
    got = kl_divergence(Poisson(np.array([0.0, 1.0])), Bernoulli(probs=0.25))
    np.testing.assert_allclose(got, [-math.log(0.75), np.inf], rtol=RTOL)
    got = kl_divergence(Poisson(np.array([[0.0], [1.0]])), Binomial(np.array([0.0, 3.0]), probs=0.25))
    np.testing.assert_allclose(got, [[0.0, -3 * math.log(0.75)], [np.inf, np.inf]], rtol=RTOL)
    # a Geometric puts mass on every count unless p = 1
    got = kl_divergence(Geometric(probs=np.array([[1.0], [0.5]])), Binomial(np.array([0.0, 3.0]), probs=0.25))
    np.testing.assert_allclose(got, [[0.0, -3 * math.log(0.75)], [np.inf, np.inf]], rtol=RTOL)
    got = kl_divergence(Geometric(probs=np.array([1.0, 0.5])), Bernoulli(probs=0.25))
    np.testing.assert_allclose(got, [-math.log(0.75), np.inf], rtol=RTOL)


def test_categorical_sums():
    rng = np.random.default_rng(4)
    P = rng.uniform(0.0, 1.0, (3, 1, 5))
    P[0, 0, 1] = 0.0  # zero probability in p: contributes 0 whatever q is there
    Q = rng.uniform(0.1, 1.0, (4, 5))
    Q[2, 1] = 0.0  # q = 0 where p = 0 (row 0): finite; where p > 0 (rows 1, 2): inf
    got = kl_divergence(Categorical(probs=P), Categorical(probs=Q))
    assert got.shape == (3, 4)
    Pn = P / P.sum(-1, keepdims=True)
    Qn = Q / Q.sum(-1, keepdims=True)
    for i, j in np.ndindex(3, 4):
        p, q = Pn[i, 0], Qn[j]
        if np.any((q == 0) & (p > 0)):
            assert got[i, j] == np.inf
            continue
        m = p > 0
        ref = float(np.sum(p[m] * (np.log(p[m]) - np.log(q[m]))))
        np.testing.assert_allclose(got[i, j], ref, rtol=RTOL)
    assert np.isfinite(got[0, 2]) and np.isinf(got[1, 2]) and np.isinf(got[2, 2])


# -- vector families ---------------------------------------------------------------------------
def _spd(rng, shape, D):
    A = rng.normal(size=shape + (D, D))
    return A @ np.swapaxes(A, -1, -2) + 0.5 * np.eye(D)


def _dense_kl(mp, Sp, mq, Sq):
    D = mp.shape[-1]
    Qi = np.linalg.inv(Sq)
    d = mq - mp
    return 0.5 * (np.trace(Qi @ Sp) + d @ Qi @ d - D + np.linalg.slogdet(Sq)[1] - np.linalg.slogdet(Sp)[1])


def _check_dense(got, mp, Sp, mq, Sq, shape):
    assert got.shape == shape
    for idx in np.ndindex(*shape):
        ref = _dense_kl(
            np.broadcast_to(mp, shape + mp.shape[-1:])[idx],
            np.broadcast_to(Sp, shape + Sp.shape[-2:])[idx],
            np.broadcast_to(mq, shape + mq.shape[-1:])[idx],
            np.broadcast_to(Sq, shape + Sq.shape[-2:])[idx],
        )
        np.testing.assert_allclose(got[idx], ref, rtol=RTOL, atol=1e-12)


@pytest.mark.parametrize("form", ["covariance_matrix", "scale_tril", "precision_matrix"])
def test_mvn_dense_reference(form):
    rng = np.random.default_rng(5)
    D = 3
    mp, Sp = rng.normal(size=(2, 1, D)), _spd(rng, (2, 1), D)
    mq, Sq = rng.normal(size=(D,)), _spd(rng, (3,), D)
    conv = {"covariance_matrix": lambda S: S, "scale_tril": np.linalg.cholesky, "precision_matrix": np.linalg.inv}
    p = MultivariateNormal(mp, **{form: conv[form](Sp)})
    q = MultivariateNormal(mq, **{form: conv[form](Sq)})
    _check_dense(kl_divergence(p, q), mp, Sp, mq, Sq, (2, 3))


def _lowrank(rng, shape, D, r):
    loc = rng.normal(size=shape + (D,))
    W = rng.normal(size=shape + (D, r))
    d = rng.uniform(0.3, 2.0, shape + (D,))
    return loc, W, d, W @ np.swapaxes(W, -1, -2) + d[..., :, None] * np.eye(D)


@pytest.mark.parametrize("rp,rq", [(2, 1), (0, 3), (2, 0)])
def test_lowrank_pairs_dense_reference(rp, rq):
    rng = np.random.default_rng(6 + rp + 3 * rq)
    D = 4
    lp, Wp, dp, Sp = _lowrank(rng, (2, 1), D, rp)
    lq, Wq, dq, Sq = _lowrank(rng, (3,), D, rq)
    p, q = LowRankMultivariateNormal(lp, Wp, dp), LowRankMultivariateNormal(lq, Wq, dq)
    _check_dense(kl_divergence(p, q), lp, Sp, lq, Sq, (2, 3))
    mvn_p, mvn_q = MultivariateNormal(lp, covariance_matrix=Sp), MultivariateNormal(lq, covariance_matrix=Sq)
    _check_dense(kl_divergence(mvn_p, q), lp, Sp, lq, Sq, (2, 3))
    _check_dense(kl_divergence(p, mvn_q), lp, Sp, lq, Sq, (2, 3))


def test_dirichlet_entropy_formula_and_stick_breaking_quadrature():
    rng = np.random.default_rng(7)
    ap, aq = rng.uniform(0.5, 4.0, (2, 1, 4)), rng.uniform(0.5, 4.0, (3, 4))
    got = kl_divergence(Dirichlet(ap), Dirichlet(aq))
    assert got.shape == (2, 3)
    x0 = np.full(4, 0.25)
    for i, j in np.ndindex(2, 3):
        a, b = ap[i, 0], aq[j]
        # KL = -H(p) - E_p log q(X), E_p log X_i = psi(a_i) - psi(a_0), log-normaliser of q from its logpdf
        lognorm_q = stats.dirichlet(b).logpdf(x0) - np.sum((b - 1) * np.log(x0))
        e_log_q = lognorm_q + np.sum((b - 1) * (sc.digamma(a) - sc.digamma(a.sum())))
        ref = -stats.dirichlet(a).entropy() - e_log_q
        np.testing.assert_allclose(got[i, j], ref, rtol=RTOL)
    # Stick-breaking: X ~ Dir(a) is the product of the independent V_i = X_i / (1 - X_1 - ... - X_{i-1})
    # ~ Beta(a_i, a_{i+1} + ... + a_D), and the Jacobian cancels in p/q, so KL(Dir(a) || Dir(b)) is
    # the sum of the D - 1 Beta divergences: one-dimensional quadratures
    for i, j in [(0, 0), (1, 2)]:
        a, b = ap[i, 0], aq[j]
        ref = sum(quad_kl(stats.beta(a[k], a[k + 1 :].sum()), stats.beta(b[k], b[k + 1 :].sum())) for k in range(3))
        np.testing.assert_allclose(got[i, j], ref, rtol=RTOL)


# -- Independent ------------------------------------------------------------------------------
def test_independent_sums_the_reinterpreted_dims():
    rng = np.random.default_rng(8)
    lp, sp = rng.normal(size=(3, 4)), rng.uniform(0.5, 2, (3, 4))
    lq, sq = rng.normal(size=(4,)), rng.uniform(0.5, 2, (4,))
    got = kl_divergence(Independent(Normal(lp, sp), 1), Independent(Normal(lq, sq), 1))
    assert got.shape == (3,)
    ref = [sum(quad_kl(stats.norm(lp[i, k], sp[i, k]), stats.norm(lq[k], sq[k])) for k in range(4)) for i in range(3)]
    np.testing.assert_allclose(got, ref, rtol=RTOL)
    # nested Independent against a single one reinterpreting the same dims; two dims summed
    a = rng.uniform(0.5, 3, (2, 3, 4))
    b = rng.uniform(0.5, 3, (3, 4))
    got = kl_divergence(Independent(Independent(Exponential(a), 1), 1), Independent(Exponential(b), 2))
    ref = [
        sum(
            quad_kl(stats.expon(scale=1 / a[i, j, k]), stats.expon(scale=1 / b[j, k]))
            for j in range(3)
            for k in range(4)
        )
        for i in range(2)
    ]
    np.testing.assert_allclose(got, ref, rtol=RTOL)
    # Independent over a vector family (Dirichlet batch (2, 3) -> event (3, 4))
    ap, aq = rng.uniform(0.5, 3, (2, 3, 4)), rng.uniform(0.5, 3, (3, 4))
    got = kl_divergence(Independent(Dirichlet(ap), 1), Independent(Dirichlet(aq), 1))
    np.testing.assert_allclose(got, kl_divergence(Dirichlet(ap), Dirichlet(aq)).sum(-1), rtol=1e-14)


def test_independent_errors():
    p = Independent(Normal(np.zeros((3, 4)), 1.0), 1)
    with pytest.raises(ValueError, match=r"event shapes differ.*\(4,\).*\(3,\)"):
        kl_divergence(p, Independent(Normal(np.zeros(3), 1.0), 1))
    a = Independent(Independent(Normal(np.zeros((2, 3, 4)), 1.0), 1), 1)  # event (3, 4), 2 dims
    b = Independent(Normal(np.zeros((3, 4)), 1.0), 1)  # batch (3,), event (4,)
    with pytest.raises(ValueError, match="event shapes differ"):
        kl_divergence(a, b)
    # equal event shapes (3,), but one dim reinterpreted against none
    with pytest.raises(NotImplementedError, match=r"different numbers of batch dims \(1 and 0\)"):
        kl_divergence(
            Independent(Normal(np.zeros((2, 3)), 1.0), 1),
            Independent(MultivariateNormal(np.zeros((2, 3)), covariance_matrix=np.eye(3)), 0),
        )
    with pytest.raises(NotImplementedError, match=r"Weibull \|\| Normal"):
        kl_divergence(Independent(Weibull(np.ones(3), 2.0), 1), Independent(Normal(np.zeros(3), 1.0), 1))


# -- properties: KL(p, p) = 0, infinities, dtypes ---------------------------------------------------
def _same_pairs():
    rng = np.random.default_rng(9)
    out = {}
    for name, (cls, make, _) in FAM.items():
        out[name] = cls(**make(rng, (3,)))
    out["poisson"] = Poisson(np.array([0.0, 0.5, 30.0]))
    out["bernoulli"] = Bernoulli(probs=np.array([0.0, 0.3, 1.0]))
    out["binomial"] = Binomial(np.array([0.0, 4.0, 9.0]), probs=np.array([0.2, 0.0, 0.7]))
    out["geometric"] = Geometric(probs=np.array([0.1, 0.5, 1.0]))
    out["categorical"] = Categorical(probs=np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0], [0.2, 0.3, 0.5]]))
    out["dirichlet"] = Dirichlet(rng.uniform(0.5, 3.0, (3, 4)))
    out["mvn"] = MultivariateNormal(rng.normal(size=(3, 3)), covariance_matrix=_spd(rng, (3,), 3))
    out["lowrank"] = LowRankMultivariateNormal(*_lowrank(rng, (3,), 4, 2)[:3])
    out["independent"] = Independent(Gamma(rng.uniform(0.5, 3, (3, 2)), 1.5), 1)
    return out


@pytest.mark.parametrize("name", list(_same_pairs()))
def test_kl_of_a_distribution_with_itself_is_zero(name):
    d = _same_pairs()[name]
    got = kl_divergence(d, d)
    assert got.shape == d.batch_shape
    if name in ("mvn", "lowrank"):  # a trace minus D: rounding of the triangular solves
        np.testing.assert_allclose(got, 0.0, atol=1e-13)
    else:
        assert np.all(got == 0.0), got


def test_infinite_where_q_does_not_cover_p():
    assert np.all(kl_divergence(Uniform(0.0, 2.0), Uniform(np.array([0.5, 0.0]), np.array([2.0, 1.5]))) == np.inf)
    assert kl_divergence(Bernoulli(probs=0.3), Bernoulli(probs=0.0)) == np.inf
    assert kl_divergence(Bernoulli(probs=0.3), Bernoulli(probs=1.0)) == np.inf
    np.testing.assert_allclose(kl_divergence(Bernoulli(probs=0.0), Bernoulli(probs=0.0)), 0.0)
    np.testing.assert_allclose(kl_divergence(Bernoulli(probs=1.0), Bernoulli(probs=0.25)), -math.log(0.25), rtol=1e-15)
    np.testing.assert_allclose(
        kl_divergence(Poisson(np.array([0.0, 2.0])), Poisson(np.array([1.5, 0.0]))), [1.5, np.inf]
    )
    np.testing.assert_allclose(
        kl_divergence(Geometric(probs=np.array([0.5, 1.0])), Geometric(probs=1.0)), [np.inf, 0.0]
    )
    np.testing.assert_allclose(kl_divergence(Geometric(probs=1.0), Geometric(probs=0.25)), -math.log(0.25), rtol=1e-15)
    np.testing.assert_allclose(
        kl_divergence(Binomial(np.array([5.0, 6.0]), probs=0.3), Binomial(5.0, probs=0.4)),
        [5 * (0.3 * math.log(0.3 / 0.4) + 0.7 * math.log(0.7 / 0.6)), np.inf],
        rtol=1e-14,
    )
    for p in (
        Normal(0.0, 1.0),
        Laplace(0.0, 1.0),
        Gumbel(0.0, 1.0),
        Cauchy(0.0, 1.0),
        StudentT(3.0),
        Exponential(1.0),
        Gamma(2.0, 1.0),
        HalfNormal(1.0),
        LogNormal(0.0, 1.0),
        Weibull(1.0, 2.0),
    ):
        assert kl_divergence(p, Uniform(-5.0, 5.0)) == np.inf
        assert kl_divergence(p, Beta(2.0, 2.0)) == np.inf
    for p in (Normal(0.0, 1.0), Laplace(0.0, 1.0), Gumbel(0.0, 1.0), Cauchy(0.0, 1.0)):
        for q in (Exponential(1.0), Gamma(2.0, 1.0), HalfNormal(1.0), LogNormal(0.0, 1.0)):
            assert kl_divergence(p, q) == np.inf
    # Uniform p against positive / unit-interval q: inf where p leaves their support
    got = kl_divergence(Uniform(np.array([-0.5, 0.2]), 0.8), Exponential(1.0))
    assert got[0] == np.inf and np.isfinite(got[1])
    got = kl_divergence(Uniform(np.array([-0.5, 0.2]), 0.8), Gamma(2.0, 1.0))
    assert got[0] == np.inf and np.isfinite(got[1])
    got = kl_divergence(Uniform(np.array([0.2, 0.2, -0.1]), np.array([0.8, 1.2, 0.5])), Beta(2.0, 3.0))
    assert np.isfinite(got[0]) and got[1] == np.inf and got[2] == np.inf
    got = kl_divergence(Beta(2.0, 3.0), Uniform(np.array([0.0, 0.1, -1.0]), np.array([1.0, 1.0, 0.9])))
    np.testing.assert_allclose(got, [-stats.beta(2, 3).entropy(), np.inf, np.inf], rtol=1e-13)


def test_float32_in_float32_out():
    rng = np.random.default_rng(10)
    cases = [
        (Normal(np.float32([0.0, 1.0]), np.float32(1.0)), Normal(np.float32(0.5), np.float32([2.0, 3.0]))),
        (Gamma(np.float32([2.0, 3.0]), np.float32(1.0)), Exponential(np.float32(0.5))),
        (Categorical(probs=np.float32([[0.2, 0.8]])), Categorical(probs=np.float32([0.5, 0.5]))),
        (Dirichlet(np.float32([[1.0, 2.0], [3.0, 1.0]])), Dirichlet(np.float32([2.0, 2.0]))),
        (
            MultivariateNormal(np.float32([0.0, 1.0]), covariance_matrix=np.float32([[2.0, 0.3], [0.3, 1.0]])),
            MultivariateNormal(np.float32([1.0, 1.0]), covariance_matrix=np.eye(2, dtype=np.float32)),
        ),
        (Poisson(np.float32([1.0, 4.0])), Poisson(np.float32(2.0))),
        (
            Independent(Laplace(np.float32(rng.normal(size=(2, 3))), np.float32(1.0)), 1),
            Independent(Laplace(np.float32(rng.normal(size=3)), np.float32(2.0)), 1),
        ),
    ]
    for p, q in cases:
        got = kl_divergence(p, q)
        assert got.dtype == np.float32, (type(p).__name__, got.dtype)
        ref = klmod._dispatch(type(p), type(q))(p, q)  # float64 from the same float32 parameters
        np.testing.assert_allclose(got, np.asarray(ref, np.float64), rtol=2e-7)
    # float32 against float64: float64 out
    got = kl_divergence(Normal(np.float32(0.0), np.float32(1.0)), Normal(1.0, 2.0))
    assert got.dtype == np.float64


def test_errors_name_the_pair_and_shapes():
    with pytest.raises(NotImplementedError, match=r"Weibull \|\| Weibull; estimate it with mixstat.estimate_kl"):
        kl_divergence(Weibull(1.0, 2.0), Weibull(1.0, 3.0))
    with pytest.raises(NotImplementedError, match=r"VonMises \|\| Normal"):
        kl_divergence(VonMises(0.0, 1.0), Normal(0.0, 1.0))
    mix = MixtureSameFamily(Categorical(probs=np.array([0.5, 0.5])), Normal(np.array([0.0, 1.0]), 1.0))
    with pytest.raises(NotImplementedError, match=r"MixtureSameFamily \|\| Normal"):
        kl_divergence(mix, Normal(0.0, 1.0))
    with pytest.raises(ValueError, match=r"event shapes differ.*\(2,\).*\(3,\)"):
        kl_divergence(
            MultivariateNormal(np.zeros(2), covariance_matrix=np.eye(2)),
            MultivariateNormal(np.zeros(3), covariance_matrix=np.eye(3)),
        )
    with pytest.raises(ValueError, match=r"batch shapes do not broadcast.*\(3,\).*\(4,\)"):
        kl_divergence(Normal(np.zeros(3), 1.0), Normal(np.zeros(4), 1.0))
    with pytest.raises(ValueError, match="3 categories.*4"):
        kl_divergence(Categorical(probs=np.ones(3)), Categorical(probs=np.ones(4)))
    with pytest.raises(NotImplementedError, match="total_count"):
        kl_divergence(Binomial(np.array([3.0, 5.0]), probs=0.5), Binomial(4.0, probs=0.5))
    with pytest.raises(TypeError, match="q must be a Distribution"):
        kl_divergence(Normal(0.0, 1.0), 3.0)
    with pytest.raises(TypeError, match="type_p must be a Distribution subclass"):
        register_kl(int, Normal)


# -- dispatch --------------------------------------------------------------------------------
class _Base(Distribution):
    def __init__(self, shape=()):
        self._dtype = np.dtype(np.float64)
        super().__init__(shape, ())


class _Derived(_Base):
    pass


class _MyNormal(Normal):
    pass


def test_dispatch_most_specific_and_ambiguous():
    added = []

    def reg(tp, tq, fun):
        register_kl(tp, tq)(fun)
        added.append((tp, tq))

    try:
        reg(_Base, _Base, lambda p, q: np.full(np.broadcast_shapes(p.batch_shape, q.batch_shape), 1.0))
        reg(_Derived, _Base, lambda p, q: np.full(np.broadcast_shapes(p.batch_shape, q.batch_shape), 2.0))
        assert kl_divergence(_Base((2,)), _Base()).tolist() == [1.0, 1.0]
        assert kl_divergence(_Derived(), _Base((3,))).tolist() == [2.0, 2.0, 2.0]
        assert kl_divergence(_Derived(), _Derived()) == 2.0  # (Derived, Base) is the most specific
        reg(_Base, _Derived, lambda p, q: np.zeros(()))
        with pytest.raises(
            RuntimeError,
            match=r"ambiguous kl_divergence\(_Derived, _Derived\).*"
            r"register_kl\(_Derived, _Derived\)",
        ):
            kl_divergence(_Derived(), _Derived())
        reg(_Derived, _Derived, lambda p, q: np.full((), 5.0))
        assert kl_divergence(_Derived(), _Derived()) == 5.0
        # a subclass of a registered family uses the family's rule
        np.testing.assert_allclose(kl_divergence(_MyNormal(0.0, 1.0), Normal(1.0, 1.0)), 0.5, rtol=1e-15)
    finally:
        for key in added:
            klmod._KL_REGISTRY.pop(key, None)
        klmod._dispatch.cache_clear()
    with pytest.raises(NotImplementedError, match=r"_Derived \|\| _Base"):
        kl_divergence(_Derived(), _Base())
