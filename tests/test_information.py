"""Entropy and KL: ``mixstat.estimate_entropy``, ``mixstat.estimate_kl`` and the quadrature
``MixtureSameFamily.entropy`` of univariate mixtures.

References: exact closed forms (NumPy), ``scipy.integrate.quad`` / ``dblquad`` and, for
Beta mixtures (singular at both ends), ``mpmath.quad`` (tanh-sinh) at 30 digits.

False-alarm rate: a Monte Carlo estimate must lie within ``Z = 5`` standard errors of the
exact value; for a fresh stream a two-sided 5-sigma excursion has probability 5.7e-7 per
comparison (< 1e-4 over the ~100 comparisons here).  Seeds are fixed, so the outcome is
deterministic.  Bounds are deterministic: ``lower <= reference <= upper`` with a slack of
``1e-7`` (the references are computed to 1e-8 relative or better).
"""

from __future__ import annotations

import doctest
import math

import mpmath
import numpy as np
import pytest
from scipy import integrate, stats

import mixstat
from mixstat import Estimate, estimate_entropy, estimate_kl
from mixstat.distributions import (
    Beta,
    Binomial,
    Categorical,
    Cauchy,
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

Z = 5.0
N_MC = 20000
SLACK = 1e-7


def _xlogx_neg(v):
    return -v * math.log(v) if v > 0 else 0.0


def _quad_entropy(pdf, edges):
    """``-int pdf log pdf`` by scipy quad over consecutive ``edges`` (1e-13 relative per piece)."""

    def f(x):
        with np.errstate(over="ignore"):  # scipy's Gumbel pdf overflows exp(-x) far left (to 0)
            return _xlogx_neg(pdf(x))

    return sum(integrate.quad(f, a, b, epsabs=1e-14, epsrel=1e-13, limit=500)[0] for a, b in zip(edges[:-1], edges[1:]))


def _quad_entropy_fn(f, edges):
    return sum(
        integrate.quad(f, a, b, epsabs=1e-13, epsrel=1e-12, limit=1000)[0] for a, b in zip(edges[:-1], edges[1:])
    )


def _gmm_1d(w, mu, sd):
    return lambda x: float(np.sum(w * np.exp(-0.5 * ((x - mu) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))))


def _gmm_1d_log(w, mu, sd):
    from scipy.special import logsumexp

    return lambda x: float(logsumexp(np.log(w) - 0.5 * ((x - mu) / sd) ** 2 - np.log(sd * math.sqrt(2 * math.pi))))


# ---------------------------------------------------------------- Monte Carlo estimators
def test_entropy_single_normal_batch():
    loc = np.array([0.0, 1.0, -2.0])
    scale = np.array([0.5, 1.0, 3.0])
    e = estimate_entropy(Normal(loc, scale), n=N_MC, rng=1)
    exact = 0.5 * np.log(2 * np.pi * np.e * scale**2)
    assert isinstance(e, Estimate) and e.value.shape == (3,) and e.stderr.shape == (3,) and e.n == N_MC
    assert np.all(np.abs(e.value - exact) < Z * e.stderr)
    np.testing.assert_allclose(e.lower, exact, rtol=1e-12)
    np.testing.assert_allclose(e.upper, exact, rtol=1e-12)
    # the standard error of -log p for a Normal: sd of (z^2 / 2) = 1/sqrt(2)
    np.testing.assert_allclose(e.stderr, np.sqrt(0.5 / N_MC), rtol=0.05)


def test_entropy_single_mvn():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(2, 3, 3))
    cov = A @ A.transpose(0, 2, 1) + 0.5 * np.eye(3)
    d = MultivariateNormal(rng.normal(size=(2, 3)), covariance_matrix=cov)
    e = estimate_entropy(d, n=N_MC, rng=2)
    exact = np.array([stats.multivariate_normal(np.zeros(3), c).entropy() for c in cov])
    assert np.all(np.abs(e.value - exact) < Z * e.stderr)
    np.testing.assert_allclose(e.lower, exact, rtol=1e-12)
    np.testing.assert_allclose(e.upper, exact, rtol=1e-12)


@pytest.mark.parametrize("kind", ["normal", "indep", "mvn"])
def test_entropy_well_separated_mixture(kind):
    """Components 200 standard deviations apart: H = H(w) + sum w_k H_k (to ~1e-300)."""
    w = np.array([0.2, 0.5, 0.3])
    sd = np.array([0.5, 1.0, 2.0])
    centres = np.array([0.0, 400.0, 800.0])
    if kind == "normal":
        d = MixtureSameFamily(Categorical(probs=w), Normal(centres, sd))
        Hk = 0.5 * np.log(2 * np.pi * np.e * sd**2)
    elif kind == "indep":
        loc = np.stack([centres, -centres], -1)
        d = MixtureSameFamily(Categorical(probs=w), Independent(Normal(loc, np.stack([sd, sd], -1)), 1))
        Hk = np.log(2 * np.pi * np.e * sd**2)
    else:
        loc = np.stack([centres, centres], -1)
        cov = sd[:, None, None] ** 2 * np.array([[1.0, 0.5], [0.5, 1.0]])
        d = MixtureSameFamily(Categorical(probs=w), MultivariateNormal(loc, covariance_matrix=cov))
        Hk = np.array([stats.multivariate_normal(np.zeros(2), c).entropy() for c in cov])
    exact = -(w * np.log(w)).sum() + (w * Hk).sum()
    e = estimate_entropy(d, n=N_MC, rng=4)
    assert e.value.shape == ()
    assert abs(e.value - exact) < Z * e.stderr
    # the pairwise-distance bounds are tight when the components do not overlap
    assert e.lower <= exact + SLACK and exact <= e.upper + SLACK
    assert e.upper - e.lower < 1e-10


def test_entropy_reproducible_and_generator():
    d = MixtureSameFamily(Categorical(probs=np.array([0.4, 0.6])), Normal(np.array([0.0, 2.0]), 1.0))
    a = estimate_entropy(d, n=5000, rng=9)
    b = estimate_entropy(d, n=5000, rng=9)
    assert a.value == b.value and a.stderr == b.stderr
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    assert estimate_entropy(d, n=5000, rng=g1).value == estimate_entropy(d, n=5000, rng=g2).value
    assert estimate_entropy(d, n=5000, rng=10).value != a.value


def test_entropy_chunks_bound_memory(monkeypatch):
    """Many chunks give the same estimate as one pass over the same draws would (Chan's update)."""
    import mixstat.information as info

    d = Normal(np.array([0.0, 1.0]), np.array([1.0, 2.0]))
    monkeypatch.setattr(info, "_CHUNK_ELEMENTS", 2 * 64)  # 64 draws per chunk
    e = estimate_entropy(d, n=1000, rng=3)
    gen = info._generator(3)
    x = np.concatenate([d.sample((min(64, 1000 - i),), rng=gen) for i in range(0, 1000, 64)])
    t = -d.log_prob(x)
    np.testing.assert_allclose(e.value, t.mean(0), rtol=1e-13)
    np.testing.assert_allclose(e.stderr, t.std(0, ddof=1) / np.sqrt(1000), rtol=1e-10)


def test_entropy_float32():
    d = MixtureSameFamily(
        Categorical(probs=np.array([0.4, 0.6], np.float32)),
        Normal(np.array([0.0, 2.0], np.float32), np.array([1.0, 0.5], np.float32)),
    )
    e = estimate_entropy(d, n=4000, rng=0)
    assert e.value.dtype == np.float32 and e.stderr.dtype == np.float32
    assert e.lower.dtype == np.float32 and e.upper.dtype == np.float32
    assert e.lower <= e.value + Z * e.stderr and e.value - Z * e.stderr <= e.upper


def test_entropy_trivial_bounds_other_families():
    """Mixtures of non-Gaussian components: H(X|C) <= H <= H(X|C) + H(C), around the quadrature."""
    w = np.array([0.3, 0.7])
    d = MixtureSameFamily(Categorical(probs=w), Laplace(np.array([0.0, 1.0]), np.array([1.0, 0.5])))
    e = estimate_entropy(d, n=N_MC, rng=6)
    Hk = 1 + np.log(2 * np.array([1.0, 0.5]))
    np.testing.assert_allclose(e.lower, (w * Hk).sum(), rtol=1e-12)
    np.testing.assert_allclose(e.upper, (w * Hk).sum() - (w * np.log(w)).sum(), rtol=1e-12)
    h = float(d.entropy())
    assert e.lower <= h <= e.upper
    assert abs(e.value - h) < Z * e.stderr


def test_kl_two_normals_exact():
    p = Normal(np.array([0.0, 1.0]), np.array([1.0, 0.5]))
    q = Normal(1.0, 2.0)
    e = estimate_kl(p, q, n=N_MC, rng=7)
    s1, s2, m1, m2 = np.array([1.0, 0.5]), 2.0, np.array([0.0, 1.0]), 1.0
    exact = np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
    assert e.value.shape == (2,)
    assert np.all(np.abs(e.value - exact) < Z * e.stderr)
    np.testing.assert_allclose(e.lower, exact, rtol=1e-12)
    np.testing.assert_allclose(e.upper, exact, rtol=1e-12)
    np.testing.assert_allclose(e.approx, exact, rtol=1e-12)


def test_kl_of_distribution_with_itself_is_zero():
    d = MixtureSameFamily(Categorical(probs=np.array([0.4, 0.6])), Normal(np.array([0.0, 2.0]), 1.0))
    e = estimate_kl(d, d, n=1000, rng=0)
    assert float(e.value) == 0.0 and float(e.stderr) == 0.0
    assert float(e.lower) == 0.0 and abs(float(e.upper)) < 1e-12 and abs(float(e.approx)) < 1e-12


def _random_gmm(rng, K, D, batch=()):
    w = rng.dirichlet(np.ones(K), size=batch)
    mu = rng.normal(scale=2.0, size=batch + (K, D))
    A = rng.normal(size=batch + (K, D, D)) * 0.7
    cov = A @ np.swapaxes(A, -1, -2) + 0.2 * np.eye(D)
    return w, mu, cov


@pytest.mark.parametrize("seed", [11, 12, 13, 14])
def test_bounds_bracket_quadrature_1d(seed):
    """Kolchinsky-Tracey entropy bounds and the KL bounds around scipy.quad values (1e-8)."""
    rng = np.random.default_rng(seed)
    K = 2 + seed % 3
    w, mu, cov = _random_gmm(rng, K, 1)
    w2, mu2, cov2 = _random_gmm(rng, 3, 1)
    sd, sd2 = np.sqrt(cov[:, 0, 0]), np.sqrt(cov2[:, 0, 0])
    p = MixtureSameFamily(Categorical(probs=w), Normal(mu[:, 0], sd))
    q = MixtureSameFamily(Categorical(probs=w2), Normal(mu2[:, 0], sd2))
    fp = _gmm_1d(w, mu[:, 0], sd)
    edges = [-np.inf] + sorted(np.concatenate([mu[:, 0], mu2[:, 0]])) + [np.inf]
    H = _quad_entropy(fp, edges)
    e = estimate_entropy(p, n=N_MC, rng=seed)
    assert e.lower - SLACK <= H <= e.upper + SLACK, (e, H)
    assert e.lower < e.upper
    assert abs(e.value - H) < Z * e.stderr
    # the quadrature entropy of the mixture itself
    assert abs(float(p.entropy()) - H) <= 1e-10 * abs(H)
    lfp, lfq = _gmm_1d_log(w, mu[:, 0], sd), _gmm_1d_log(w2, mu2[:, 0], sd2)
    kl = sum(
        integrate.quad(lambda x: math.exp(lfp(x)) * (lfp(x) - lfq(x)), a, b, epsabs=0, epsrel=1e-12, limit=500)[0]
        for a, b in zip(edges[:-1], edges[1:])
    )
    k = estimate_kl(p, q, n=N_MC, rng=seed)
    assert k.lower - SLACK <= kl <= k.upper + SLACK, (k, kl)
    assert abs(k.value - kl) < Z * k.stderr


@pytest.mark.parametrize("seed,kind", [(21, "mvn"), (22, "mvn"), (23, "indep")])
def test_bounds_bracket_quadrature_2d(seed, kind):
    rng = np.random.default_rng(seed)
    K = 3
    w, mu, cov = _random_gmm(rng, K, 2)
    if kind == "indep":
        cov = cov * np.eye(2)
        comp = Independent(Normal(mu, np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))), 1)
    else:
        comp = MultivariateNormal(mu, covariance_matrix=cov)
    p = MixtureSameFamily(Categorical(probs=w), comp)
    P = np.linalg.inv(cov)
    norm = w / (2 * np.pi * np.sqrt(np.linalg.det(cov)))

    def pdf(y, x):
        d0, d1 = x - mu[:, 0], y - mu[:, 1]
        q = P[:, 0, 0] * d0 * d0 + 2 * P[:, 0, 1] * d0 * d1 + P[:, 1, 1] * d1 * d1
        return float(np.sum(norm * np.exp(-0.5 * q)))

    span = 10 * np.sqrt(np.max(np.linalg.eigvalsh(cov)))
    lo, hi = mu.min(0) - span, mu.max(0) + span
    H = integrate.dblquad(lambda y, x: _xlogx_neg(pdf(y, x)), lo[0], hi[0], lo[1], hi[1], epsabs=1e-10, epsrel=1e-9)[0]
    e = estimate_entropy(p, n=N_MC, rng=seed)
    assert e.lower - SLACK <= H <= e.upper + SLACK, (e, H)
    assert abs(e.value - H) < Z * e.stderr


def test_kl_bounds_mvn_batch_and_monte_carlo():
    """Batched 2-D Gaussian mixtures: lower <= MC estimate (within Z stderr) <= upper per entry."""
    rng = np.random.default_rng(31)
    w, mu, cov = _random_gmm(rng, 3, 2, batch=(4,))
    w2, mu2, cov2 = _random_gmm(rng, 2, 2, batch=(4,))
    p = MixtureSameFamily(Categorical(probs=w), MultivariateNormal(mu, covariance_matrix=cov))
    q = MixtureSameFamily(Categorical(probs=w2), MultivariateNormal(mu2, covariance_matrix=cov2))
    k = estimate_kl(p, q, n=N_MC, rng=3)
    assert k.value.shape == (4,) and k.lower.shape == (4,) and k.upper.shape == (4,)
    assert np.all(k.lower <= k.value + Z * k.stderr)
    assert np.all(k.value - Z * k.stderr <= k.upper)
    assert np.all(k.lower >= 0) and np.all(k.lower <= k.upper)


def test_kl_zero_weights_contribute_nothing():
    """A zero-weight component (in p and in q) changes neither the bounds nor the approximation."""
    rng = np.random.default_rng(51)
    w, mu, cov = _random_gmm(rng, 2, 2)
    w2, mu2, cov2 = _random_gmm(rng, 2, 2)

    def mix(w, mu, cov):
        return MixtureSameFamily(Categorical(probs=w), MultivariateNormal(mu, covariance_matrix=cov))

    far = np.array([[1e3, -1e3]])
    p0, q0 = mix(w, mu, cov), mix(w2, mu2, cov2)
    p1 = mix(np.append(w, 0.0), np.concatenate([mu, far]), np.concatenate([cov, np.eye(2)[None]]))
    q1 = mix(np.append(w2, 0.0), np.concatenate([mu2, far]), np.concatenate([cov2, np.eye(2)[None]]))
    a = estimate_kl(p0, q0, n=100, rng=0)
    b = estimate_kl(p1, q1, n=100, rng=0)
    for x, y in ((a.lower, b.lower), (a.upper, b.upper), (a.approx, b.approx)):
        assert np.isfinite(y)
        np.testing.assert_allclose(y, x, rtol=1e-10, atol=1e-12)
    ea, eb = estimate_entropy(p0, n=100, rng=0), estimate_entropy(p1, n=100, rng=0)
    np.testing.assert_allclose([eb.lower, eb.upper], [ea.lower, ea.upper], rtol=1e-12)


def test_kl_batch_broadcast():
    p = Normal(np.array([0.0, 1.0, 2.0]), 1.0)
    q = Normal(np.zeros((2, 1)), 1.0)
    k = estimate_kl(p, q, n=2000, rng=0)
    assert k.value.shape == (2, 3)
    np.testing.assert_allclose(k.lower, np.broadcast_to(0.5 * np.array([0.0, 1.0, 4.0]), (2, 3)), rtol=1e-12)


def test_kl_outside_support_is_inf():
    k = estimate_kl(Uniform(0.0, 2.0), Uniform(0.0, 1.0), n=1000, rng=0)
    assert k.value == np.inf and k.lower is None and k.upper is None


def test_non_gaussian_has_no_bounds():
    d = MixtureSameFamily(
        Categorical(probs=np.array([0.5, 0.5])), Independent(Laplace(np.zeros((2, 2)), np.ones((2, 2))), 1)
    )
    e = estimate_entropy(d, n=1000, rng=0)
    # Independent(Laplace) components have an entropy: the chain-rule bounds apply
    assert e.lower is not None
    k = estimate_kl(d, d, n=1000, rng=0)
    assert k.lower is None and k.upper is None and k.approx is None
    assert "Estimate(value=" in repr(k) and "lower=None" in repr(k)


def test_errors():
    d = Normal(0.0, 1.0)
    with pytest.raises(TypeError, match="dist"):
        estimate_entropy(np.zeros(3))
    with pytest.raises(TypeError, match="n must"):
        estimate_entropy(d, n=10.5)
    with pytest.raises(ValueError, match="n must"):
        estimate_entropy(d, n=1)
    with pytest.raises(TypeError, match="rng"):
        estimate_entropy(d, n=10, rng=np.random.RandomState(0))
    with pytest.raises(TypeError, match="q must"):
        estimate_kl(d, "normal")
    mvn = MultivariateNormal(np.zeros(2), covariance_matrix=np.eye(2))
    with pytest.raises(ValueError, match=r"event_shape \(\) differs from q.event_shape \(2,\)"):
        estimate_kl(d, mvn)
    with pytest.raises(ValueError, match=r"batch_shape \(3,\) and q.batch_shape \(2,\)"):
        estimate_kl(Normal(np.zeros(3), 1.0), Normal(np.zeros(2), 1.0))
    mix = MixtureSameFamily(
        Categorical(probs=np.array([0.5, 0.5])), MultivariateNormal(np.zeros((2, 2)), covariance_matrix=np.eye(2))
    )
    with pytest.raises(NotImplementedError, match="estimate_entropy"):
        mix.entropy()


# ---------------------------------------------------------------- quadrature entropy
W2 = np.array([0.3, 0.7])


def _mix_pdf(frozen):
    return lambda x: float(sum(wk * f.pdf(x) for wk, f in zip(W2, frozen)))


QUAD_CASES = [
    (
        "normal-separated-scales",
        lambda: Normal(np.array([-3.0, 1e3]), np.array([1e-2, 5.0])),
        [stats.norm(-3, 1e-2), stats.norm(1e3, 5)],
        [-np.inf, -3, 0, 500, 1e3, np.inf],
    ),
    (
        "laplace",
        lambda: Laplace(np.array([0.0, 1.0]), np.array([1.0, 0.3])),
        [stats.laplace(0, 1), stats.laplace(1, 0.3)],
        [-np.inf, 0, 1, np.inf],
    ),
    (
        "gumbel",
        lambda: Gumbel(np.array([0.0, 4.0]), np.array([1.0, 2.0])),
        [stats.gumbel_r(0, 1), stats.gumbel_r(4, 2)],
        [-np.inf, 0, 4, np.inf],
    ),
    (
        "cauchy",
        lambda: Cauchy(np.array([-3.0, 10.0]), np.array([0.1, 5.0])),
        [stats.cauchy(-3, 0.1), stats.cauchy(10, 5)],
        [-np.inf, -3, 10, np.inf],
    ),
    (
        "studentt-heavy",
        lambda: StudentT(np.array([0.7, 5.0]), np.array([0.0, 2.0]), np.array([1.0, 0.5])),
        [stats.t(0.7), stats.t(5, 2, 0.5)],
        [-np.inf, 0, 2, np.inf],
    ),
    (
        "exponential",
        lambda: Exponential(np.array([1.0, 20.0])),
        [stats.expon(scale=1.0), stats.expon(scale=0.05)],
        [0, 0.05, 1, 50, np.inf],
    ),
    (
        "halfnormal",
        lambda: HalfNormal(np.array([1.0, 3.0])),
        [stats.halfnorm(scale=1), stats.halfnorm(scale=3)],
        [0, 1, 3, np.inf],
    ),
    (
        "lognormal",
        lambda: LogNormal(np.array([0.0, 2.0]), np.array([0.5, 1.0])),
        [stats.lognorm(0.5), stats.lognorm(1.0, scale=np.exp(2))],
        [0, 1, np.exp(2), np.inf],
    ),
    (
        "gamma-singular",
        lambda: Gamma(np.array([0.3, 4.0]), np.array([1.0, 2.0])),
        [stats.gamma(0.3), stats.gamma(4.0, scale=0.5)],
        [0, 1e-8, 1e-4, 1, 2, np.inf],
    ),
    (
        "weibull-singular",
        lambda: Weibull(np.array([1.0, 2.0]), np.array([0.6, 3.0])),
        [stats.weibull_min(0.6), stats.weibull_min(3.0, scale=2.0)],
        [0, 1e-8, 1e-4, 1, 2, np.inf],
    ),
    (
        "vonmises",
        lambda: VonMises(np.array([0.5, 3.0]), np.array([2.0, 30.0])),
        [stats.vonmises(2.0, loc=0.5), stats.vonmises(30.0, loc=3.0)],
        [-np.pi, 0.5, 3.0, np.pi],
    ),
    (
        "uniform-overlap",
        lambda: Uniform(np.array([0.0, 0.5]), np.array([1.0, 3.0])),
        [stats.uniform(0, 1), stats.uniform(0.5, 2.5)],
        [0, 0.5, 1, 3],
    ),
    (
        "uniform-gap",
        lambda: Uniform(np.array([0.0, 5.0]), np.array([1.0, 7.0])),
        [stats.uniform(0, 1), stats.uniform(5, 2)],
        [0, 1, 5, 7],
    ),
]


@pytest.mark.parametrize("name,make,frozen,edges", QUAD_CASES, ids=[c[0] for c in QUAD_CASES])
def test_quadrature_entropy_vs_scipy(name, make, frozen, edges):
    d = MixtureSameFamily(Categorical(probs=W2), make())
    h = d.entropy()
    assert h.shape == () and h.dtype == np.float64
    ref = _quad_entropy(_mix_pdf(frozen), edges)
    assert abs(float(h) - ref) <= 1e-10 * abs(ref), (float(h), ref)


def test_quadrature_entropy_beta_mpmath():
    """Beta components singular at both ends (concentrations below 1), against mpmath's tanh-sinh."""
    a = np.array([0.5, 3.0])
    b = np.array([0.7, 0.4])
    d = MixtureSameFamily(Categorical(probs=W2), Beta(a, b))
    with mpmath.workdps(30):  # a context: other tests share mpmath's precision
        B = [mpmath.beta(ai, bi) for ai, bi in zip(a, b)]

        def f(x):
            p = sum(mpmath.mpf(W2[k]) * x ** (a[k] - 1) * (1 - x) ** (b[k] - 1) / B[k] for k in range(2))
            return -p * mpmath.log(p)

        ref = float(mpmath.quad(f, [0, 0.25, 0.5, 0.75, 1]))
    assert abs(float(d.entropy()) - ref) <= 1e-10 * abs(ref), (float(d.entropy()), ref)


def test_quadrature_entropy_batched_and_zero_weight():
    """Batch (2, 3): one integral per entry, each against scipy; a zero weight adds nothing."""
    rng = np.random.default_rng(41)
    loc = rng.normal(scale=3.0, size=(2, 3, 3))
    scale = rng.uniform(0.2, 2.0, size=(2, 3, 3))
    w = rng.dirichlet(np.ones(3), size=(2, 3))
    w[1, 2] = [0.5, 0.0, 0.5]
    loc[1, 2, 1] = 1e6  # far away, but with zero weight
    d = MixtureSameFamily(Categorical(probs=w), Normal(loc, scale))
    h = d.entropy()
    assert h.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            pdf = _gmm_1d(w[i, j], loc[i, j], scale[i, j])
            keep = w[i, j] > 0
            ref = _quad_entropy(pdf, [-np.inf] + sorted(loc[i, j][keep]) + [np.inf])
            assert abs(h[i, j] - ref) <= 1e-10 * abs(ref)


def test_quadrature_entropy_uniform_batched():
    """Uniform pieces per batch entry (a zero-weight component among them): the exact sum of
    ``-p log p`` times the length of each piece, computed here from the breakpoints."""
    low = np.array([[0.0, 0.5, 4.0], [-1.0, -1.0, 2.0]])
    high = np.array([[1.0, 3.0, 5.0], [1.0, 0.5, 9.0]])
    w = np.array([[0.2, 0.5, 0.3], [0.6, 0.4, 0.0]])
    d = MixtureSameFamily(Categorical(probs=w), Uniform(low, high))
    h = d.entropy()
    assert h.shape == (2,)
    for b in range(2):
        edges = np.unique(np.concatenate([low[b], high[b]]))
        ref = 0.0
        for a, c in zip(edges[:-1], edges[1:]):
            m = 0.5 * (a + c)
            p = sum(w[b, k] / (high[b, k] - low[b, k]) for k in range(3) if low[b, k] <= m <= high[b, k])
            ref += (c - a) * _xlogx_neg(p)
        assert abs(h[b] - ref) <= 1e-13 * abs(ref)


def test_quadrature_entropy_float32_and_single_component():
    d = MixtureSameFamily(
        Categorical(probs=np.array([0.3, 0.7], np.float32)),
        Normal(np.array([0.0, 1.0], np.float32), np.array([1.0, 2.0], np.float32)),
    )
    assert d.entropy().dtype == np.float32
    one = MixtureSameFamily(Categorical(probs=np.ones((3, 1))), Gamma(np.array([[0.5], [2.0], [9.0]]), 1.5))
    ref = stats.gamma(np.array([0.5, 2.0, 9.0]), scale=1 / 1.5).entropy()
    np.testing.assert_allclose(one.entropy(), ref, rtol=1e-10)


def _registry_mixtures():
    import os
    import sys

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import registry as reg

    return reg.examples(lambda e: e.is_mixture and e.event_shape == () and e.batch_shape == ())


@pytest.mark.parametrize("ex", _registry_mixtures())
def test_registry_univariate_mixture_entropy(ex):
    """Every univariate family of the registry as a mixture component (batch ()), against
    scipy.quad of the reference's log-density (no breakpoints known here, so 1e-9) or the
    reference's sum over the support."""
    h = ex.make().entropy()
    assert h.shape == () and h.dtype == ex.dtype
    ref = ex.ref
    if ex.discrete:
        x = np.arange(200000.0)
        lp = ref.log_prob(x)
        want = -np.sum(np.exp(lp[lp > -np.inf]) * lp[lp > -np.inf])
    else:

        def f(x):
            with np.errstate(all="ignore"):
                lpx = float(ref.log_prob(np.array(x)))
            return -math.exp(lpx) * lpx if lpx > -np.inf else 0.0

        lo, hi = (-math.pi, math.pi) if "vonmises" in ex.id else (-np.inf, np.inf)
        with np.errstate(all="ignore"):
            means = np.asarray(ref.component.mean, np.float64).ravel()
        # split at the component means (Laplace's kinks are there)
        edges = [lo] + sorted(m for m in means if np.isfinite(m) and lo < m < hi) + [hi]
        want = _quad_entropy_fn(f, edges)
    assert abs(float(h) - want) <= 1e-9 * abs(want), (float(h), want)


@pytest.mark.parametrize("name", ["poisson", "geometric", "binomial", "negbin", "categorical"])
def test_discrete_mixture_entropy(name):
    x = np.arange(100000)
    if name == "poisson":
        comp, pmfs = Poisson(np.array([3.0, 40.0])), [stats.poisson(3), stats.poisson(40)]
    elif name == "geometric":
        comp, pmfs = Geometric(probs=np.array([0.01, 0.5])), [stats.geom(0.01, loc=-1), stats.geom(0.5, loc=-1)]
    elif name == "binomial":
        comp, pmfs = (
            Binomial(np.array([10.0, 30.0]), probs=np.array([0.3, 0.6])),
            [stats.binom(10, 0.3), stats.binom(30, 0.6)],
        )
    elif name == "negbin":
        # torch's convention: probs is the probability of a counted event; scipy's p is 1 - probs
        comp = NegativeBinomial(np.array([0.5, 4.0]), probs=np.array([0.9, 0.3]))
        pmfs = [stats.nbinom(0.5, 0.1), stats.nbinom(4.0, 0.7)]
    else:
        pc = np.array([[0.2, 0.8, 0.0], [0.1, 0.1, 0.8]])
        comp = Categorical(probs=pc)
        pmfs = [stats.rv_discrete(values=(np.arange(3), pc[k])) for k in range(2)]
    p = sum(wk * f.pmf(x) for wk, f in zip(W2, pmfs))
    p = p[p > 0]
    ref = -(p * np.log(p)).sum()
    d = MixtureSameFamily(Categorical(probs=W2), comp)
    assert abs(float(d.entropy()) - ref) <= 1e-10 * ref


def test_quadrature_small_gamma_shape_mpmath():
    """Gamma shape 0.05: the mass reaches down to 1e-200; against mpmath in t = log x."""
    a = 0.05
    d = MixtureSameFamily(Categorical(probs=W2), Gamma(np.array([a, 3.0]), 1.0))
    with mpmath.workdps(30):  # a context: other tests share mpmath's precision

        def f(t):
            x = mpmath.exp(t)
            p = W2[0] * x ** (a - 1) * mpmath.exp(-x) / mpmath.gamma(a) + W2[1] * x**2 * mpmath.exp(-x) / 2
            return -p * mpmath.log(p) * x

        ref = float(mpmath.quad(f, [-mpmath.inf, -1000, -100, -10, 0, 1, 2, 5, 10, 50, 200]))
    assert abs(float(d.entropy()) - ref) <= 1e-10 * abs(ref), (float(d.entropy()), ref)


def test_quadrature_too_heavy_tail_or_singular_raises():
    d = MixtureSameFamily(Categorical(probs=W2), StudentT(np.array([0.02, 5.0]), 0.0, 1.0))
    with pytest.raises(NotImplementedError, match="tail of the density decays too slowly.*estimate_entropy"):
        d.entropy()
    g = MixtureSameFamily(Categorical(probs=W2), Gamma(np.array([0.02, 3.0]), 1.0))
    with pytest.raises(NotImplementedError, match="singular.*estimate_entropy"):
        g.entropy()


def test_gauss_kronrod_rule():
    """The 21-point Kronrod rule integrates x^j exactly for j <= 31, the 10-point Gauss rule for j <= 19."""
    from mixstat.distributions import _quadrature as Q

    xg, wg = np.polynomial.legendre.leggauss(10)
    np.testing.assert_allclose(np.sort(Q.NODES[Q.W_GAUSS > 0]), np.sort(xg), atol=1e-15)
    for j in range(32):
        exact = (1 - (-1) ** (j + 1)) / (j + 1)
        assert abs((Q.W_KRONROD * Q.NODES**j).sum() - exact) < 1e-14
        if j < 20:
            assert abs((Q.W_GAUSS * Q.NODES**j).sum() - exact) < 1e-14


def test_docstring_examples():
    import mixstat.information as info

    res = doctest.testmod(info, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0 and res.failed == 0


def test_exports():
    assert mixstat.estimate_entropy is estimate_entropy and mixstat.estimate_kl is estimate_kl
    assert {"Estimate", "estimate_entropy", "estimate_kl"} <= set(mixstat.__all__)
