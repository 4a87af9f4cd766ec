"""mixstat.fit_mixture / select_n_components: recovery, EM monotonicity, scikit-learn agreement,
batched and streamed fits, thread-count independence, and the degenerate cases.

Recovery tolerances are 5 standard errors of each parameter, from the inverse Fisher
information of the component's family at ``n_k = N w_k`` points (the components are
well separated, so the mixture's information is close to that of the labelled data);
the weight's standard error is ``sqrt(w (1 - w) / N)``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import special as sc

import mixstat
from mixstat.distributions import (
    Bernoulli,
    Binomial,
    Categorical,
    Exponential,
    Gamma,
    Geometric,
    Independent,
    LogNormal,
    MixtureSameFamily,
    MultivariateNormal,
    Normal,
    Poisson,
    StudentT,
    VonMises,
)
from mixstat.fitting import ComponentWarning

Z = 5.0  # standard errors


def _sorted_by(fit, key):
    """Component order of a fit, sorted by the parameter ``key`` (first coordinate)."""
    comp = fit.distribution.component_distribution
    base = comp.base_dist if isinstance(comp, Independent) else comp
    v = np.asarray(getattr(base, key))
    v = v.reshape(v.shape[0], -1)[:, 0] if v.ndim > 1 else v
    return np.argsort(v), base


def _check(est, true, se, what):
    est, true, se = np.asarray(est, float), np.asarray(true, float), np.asarray(se, float)
    err = np.abs(est - true) / se
    assert np.all(err < Z), f"{what}: estimate {est} vs true {true}: {err.max():.2f} standard errors"


def _check_weights(fit, order, w, N):
    w = np.asarray(w, float)
    _check(fit.distribution.mixture_distribution.probs[order], w, np.sqrt(w * (1 - w) / N), "weights")


def _draw(g, w, N, sampler):
    counts = g.multinomial(N, w)
    return np.concatenate([sampler(k, c) for k, c in enumerate(counts)]), counts


N = 4000


def test_poisson_recovery():
    g = np.random.default_rng(1)
    rate, w = np.array([2.0, 15.0]), np.array([0.6, 0.4])
    x, c = _draw(g, w, N, lambda k, n: g.poisson(rate[k], n))
    fit = mixstat.fit_mixture(x, Poisson, 2, rng=0, tol=1e-8)
    o, base = _sorted_by(fit, "rate")
    _check(base.rate[o], rate, np.sqrt(rate / (N * w)), "rate")
    _check_weights(fit, o, w, N)
    assert fit.converged and fit.n_iter == len(fit.log_likelihood)


def test_normal_recovery_and_monotone():
    g = np.random.default_rng(2)
    loc, sd, w = np.array([-3.0, 0.5, 4.0]), np.array([1.0, 0.5, 1.5]), np.array([0.3, 0.3, 0.4])
    x, _ = _draw(g, w, N, lambda k, n: g.normal(loc[k], sd[k], n))
    fit = mixstat.fit_mixture(x, Normal, 3, rng=0, tol=1e-8, max_iter=500)
    o, base = _sorted_by(fit, "loc")
    nk = N * w
    _check(base.loc[o], loc, sd / np.sqrt(nk), "loc")
    _check(base.scale[o], sd, sd / np.sqrt(2 * nk), "scale")
    _check_weights(fit, o, w, N)
    ll = fit.log_likelihood
    assert np.all(np.diff(ll) >= -1e-9 * abs(ll[-1])), "EM log-likelihood decreased"
    # the last value is the fitted mixture's log-likelihood
    np.testing.assert_allclose(fit.distribution.log_prob(x).sum(), ll[-1], rtol=1e-12)
    assert fit.bic() == pytest.approx(-2 * ll[-1] + 8 * math.log(N))
    assert fit.aic() == pytest.approx(-2 * ll[-1] + 16)


@pytest.mark.parametrize("family", ["exponential", "geometric", "binomial"])
def test_one_parameter_families(family):
    g = np.random.default_rng(3)
    w = np.array([0.5, 0.5])
    nk = N * w
    if family == "exponential":
        rate = np.array([5.0, 0.2])
        x, _ = _draw(g, w, N, lambda k, n: g.exponential(1 / rate[k], n))
        fit = mixstat.fit_mixture(x, Exponential, 2, rng=0, tol=1e-9, max_iter=2000)
        o, base = _sorted_by(fit, "rate")
        o = o[::-1]
        # two exponentials overlap: a generous 5 SE of the labelled-data MLE, times 2 for the mixing
        _check(base.rate[o], rate, 2 * rate / np.sqrt(nk), "rate")
        return
    if family == "geometric":
        p = np.array([0.7, 0.05])
        x, _ = _draw(g, w, N, lambda k, n: g.geometric(p[k], n) - 1)  # failures before the success
        fit = mixstat.fit_mixture(x, Geometric, 2, rng=0, tol=1e-9, max_iter=2000)
        o, base = _sorted_by(fit, "probs")
        o = o[::-1]
        _check(base.probs[o], p, 2 * p * np.sqrt(1 - p) / np.sqrt(nk), "probs")
        return
    n, p = 30, np.array([0.1, 0.7])
    x, _ = _draw(g, w, N, lambda k, m: g.binomial(n, p[k], m))
    fit = mixstat.fit_mixture(x, Binomial(total_count=n, probs=0.5), 2, rng=0, tol=1e-9)
    o, base = _sorted_by(fit, "probs")
    _check(base.probs[o], p, np.sqrt(p * (1 - p) / (n * nk)), "probs")
    _check_weights(fit, o, w, N)
    assert np.all(base.total_count == n)


def test_gamma_lognormal_recovery():
    g = np.random.default_rng(4)
    a, r, w = np.array([2.0, 30.0]), np.array([4.0, 3.0]), np.array([0.5, 0.5])
    x, _ = _draw(g, w, N, lambda k, n: g.gamma(a[k], 1 / r[k], n))
    fit = mixstat.fit_mixture(x, Gamma, 2, rng=0, tol=1e-9, max_iter=1000)
    o, base = _sorted_by(fit, "concentration")
    nk = N * w
    # Fisher information of (a, rate): [[psi1(a), -1/r], [-1/r, a/r^2]]
    det = sc.polygamma(1, a) * a / r**2 - 1 / r**2
    _check(base.concentration[o], a, np.sqrt(a / r**2 / det / nk), "concentration")
    _check(base.rate[o], r, np.sqrt(sc.polygamma(1, a) / det / nk), "rate")
    ll = fit.log_likelihood
    assert np.all(np.diff(ll) >= -1e-9 * abs(ll[-1]))

    loc, sd = np.array([0.0, 3.0]), np.array([0.4, 0.3])
    x, _ = _draw(g, w, N, lambda k, n: g.lognormal(loc[k], sd[k], n))
    fit = mixstat.fit_mixture(x, LogNormal, 2, rng=0, tol=1e-9)
    o, base = _sorted_by(fit, "loc")
    _check(base.loc[o], loc, sd / np.sqrt(nk), "loc")
    _check(base.scale[o], sd, sd / np.sqrt(2 * nk), "scale")


def test_vonmises_studentt_recovery():
    g = np.random.default_rng(5)
    w = np.array([0.5, 0.5])
    nk = N * w
    loc, kap = np.array([-2.0, 1.0]), np.array([4.0, 10.0])
    x, _ = _draw(g, w, N, lambda k, n: g.vonmises(loc[k], kap[k], n))
    fit = mixstat.fit_mixture(x, VonMises, 2, rng=0, tol=1e-9)
    o, base = _sorted_by(fit, "loc")
    A = sc.i1e(kap) / sc.i0e(kap)
    _check(base.loc[o], loc, 1 / np.sqrt(nk * kap * A), "loc")
    _check(base.concentration[o], kap, 1 / np.sqrt(nk * (1 - A / kap - A * A)), "concentration")

    df, loc, sd = np.array([4.0, 4.0]), np.array([-6.0, 6.0]), np.array([1.0, 2.0])
    x, _ = _draw(g, w, N, lambda k, n: loc[k] + sd[k] * g.standard_t(df[k], n))
    fit = mixstat.fit_mixture(x, StudentT, 2, rng=0, tol=1e-9, max_iter=1000)
    o, base = _sorted_by(fit, "loc")
    # t's information for loc and scale: (df + 1)/((df + 3) s^2) and 2 df/((df + 3) s^2)
    _check(base.loc[o], loc, sd * np.sqrt((df + 3) / ((df + 1) * nk)), "loc")
    _check(base.scale[o], sd, 1.5 * sd * np.sqrt((df + 3) / (2 * df * nk)), "scale")  # 1.5: df estimated too
    assert np.all((base.df > df / 2) & (base.df < df * 2)), base.df
    ll = fit.log_likelihood
    assert np.all(np.diff(ll) >= -1e-9 * abs(ll[-1])), "ECM log-likelihood decreased"
    # df fixed: one parameter fewer per coordinate
    fixed = mixstat.fit_mixture(x, StudentT, 2, rng=0, df=4.0)
    assert np.all(fixed.distribution.component_distribution.df == 4.0)
    assert fixed.n_parameters == fit.n_parameters - 2


def test_independent_recovery():
    g = np.random.default_rng(6)
    w = np.array([0.4, 0.6])
    nk = N * w
    # Bernoulli vectors
    p = np.array([[0.9, 0.1, 0.8, 0.2], [0.1, 0.8, 0.3, 0.9]])
    x, _ = _draw(g, w, N, lambda k, n: (g.random((n, 4)) < p[k]).astype(np.int64))
    tmpl = Independent(Bernoulli(probs=np.full(4, 0.5)), 1)
    fit = mixstat.fit_mixture(x, tmpl, 2, rng=0, tol=1e-9)
    o, base = _sorted_by(fit, "probs")
    o = o[::-1]
    _check(base.probs[o], p, np.sqrt(p * (1 - p) / nk[:, None]), "probs")
    assert fit.distribution.event_shape == (4,)
    # Poisson vectors
    rate = np.array([[1.0, 10.0], [8.0, 2.0]])
    x, _ = _draw(g, w, N, lambda k, n: g.poisson(rate[k], (n, 2)))
    fit = mixstat.fit_mixture(x, Independent(Poisson(np.ones(2)), 1), 2, rng=0, tol=1e-9)
    o, base = _sorted_by(fit, "rate")
    _check(base.rate[o], rate, np.sqrt(rate / nk[:, None]), "rate")
    # Categorical vectors (3 coordinates, 4 categories)
    probs = np.array([[[0.7, 0.1, 0.1, 0.1]] * 3, [[0.05, 0.05, 0.1, 0.8]] * 3])
    x, _ = _draw(g, w, N, lambda k, n: np.stack([g.choice(4, n, p=probs[k, j]) for j in range(3)], -1))
    tmpl = Independent(Categorical(probs=np.full((3, 4), 0.25)), 1)
    fit = mixstat.fit_mixture(x, tmpl, 2, rng=0, tol=1e-9)
    o = np.argsort(-fit.distribution.component_distribution.base_dist.probs[:, 0, 0])
    est = fit.distribution.component_distribution.base_dist.probs[o]
    _check(est, probs, np.sqrt(probs * (1 - probs) / nk[:, None, None]), "probs")
    assert fit.n_parameters == 1 + 2 * 3 * 3
    # Normal vectors (diagonal Gaussian)
    loc = np.array([[-3.0, 0.0], [3.0, 1.0]])
    x, _ = _draw(g, w, N, lambda k, n: g.normal(loc[k], 1.0, (n, 2)))
    fit = mixstat.fit_mixture(x, Independent(Normal(np.zeros(2), np.ones(2)), 1), 2, rng=0, tol=1e-9)
    o, base = _sorted_by(fit, "loc")
    _check(base.loc[o], loc, 1 / np.sqrt(nk[:, None]), "loc")
    _check(base.scale[o], np.ones((2, 2)), 1 / np.sqrt(2 * nk[:, None]), "scale")


def test_mvn_recovery():
    g = np.random.default_rng(7)
    w = np.array([0.5, 0.5])
    mu = np.array([[0.0, 0.0], [5.0, 5.0]])
    cov = np.array([[[1.0, 0.5], [0.5, 1.0]], [[2.0, -0.3], [-0.3, 0.5]]])
    x, _ = _draw(g, w, N, lambda k, n: g.multivariate_normal(mu[k], cov[k], n))
    fit = mixstat.fit_mixture(x, MultivariateNormal, 2, rng=0, tol=1e-9)
    o, comp = _sorted_by(fit, "loc")
    se = np.sqrt(np.diagonal(cov, axis1=1, axis2=2) / (N * w)[:, None])
    _check(comp.loc[o], mu, se, "loc")
    # var(S_ij) = (s_ij^2 + s_ii s_jj) / n
    s2 = cov**2 + np.diagonal(cov, axis1=1, axis2=2)[:, :, None] * np.diagonal(cov, axis1=1, axis2=2)[:, None, :]
    _check(comp.covariance_matrix[o], cov, np.sqrt(s2 / (N * w)[:, None, None]), "covariance")
    assert fit.n_parameters == 1 + 2 * (2 + 3)


# -- scikit-learn agreement (the same initial parameters) --------------------------------------
def _sk_fit(x, **kw):
    sk = pytest.importorskip("sklearn.mixture", reason="scikit-learn is the reference of this test")
    from sklearn.exceptions import ConvergenceWarning

    gm = sk.GaussianMixture(tol=0.0, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(x)
    return gm


def test_normal_matches_sklearn():
    g = np.random.default_rng(8)
    x = np.concatenate([g.normal(0, 1, 300), g.normal(2.5, 0.7, 200)])
    w0, m0, s0 = np.array([0.3, 0.7]), np.array([-1.0, 1.0]), np.array([1.0, 2.0])
    init = MixtureSameFamily(Categorical(probs=w0), Normal(m0, s0))
    fit = mixstat.fit_mixture(x, Normal, 2, init=init, max_iter=25, tol=0.0)
    gm = _sk_fit(
        x[:, None],
        n_components=2,
        weights_init=w0,
        means_init=m0[:, None],
        precisions_init=(1 / s0**2)[:, None, None],
        max_iter=fit.n_iter,
    )
    c = fit.distribution.component_distribution
    np.testing.assert_allclose(c.loc, gm.means_[:, 0], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(c.scale**2, gm.covariances_[:, 0, 0], rtol=1e-9)
    np.testing.assert_allclose(fit.distribution.mixture_distribution.probs, gm.weights_, rtol=1e-9)


@pytest.mark.parametrize("ct", ["full", "diag", "tied", "spherical"])
def test_mvn_matches_sklearn(ct):
    g = np.random.default_rng(9)
    x = np.concatenate([g.normal([0, 0], 1, (300, 2)), g.normal([3, 1], [0.5, 2], (200, 2))])
    w0, m0 = np.array([0.5, 0.5]), np.array([[0.0, 0.0], [2.0, 0.0]])
    init = MixtureSameFamily(Categorical(probs=w0), MultivariateNormal(m0, covariance_matrix=np.eye(2)))
    fit = mixstat.fit_mixture(x, MultivariateNormal, 2, init=init, max_iter=15, tol=0.0, covariance_type=ct)
    prec = {"full": np.stack([np.eye(2)] * 2), "tied": np.eye(2), "diag": np.ones((2, 2)), "spherical": np.ones(2)}[ct]
    gm = _sk_fit(
        x, n_components=2, covariance_type=ct, weights_init=w0, means_init=m0, precisions_init=prec, max_iter=fit.n_iter
    )
    c = fit.distribution.component_distribution
    np.testing.assert_allclose(c.loc, gm.means_, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(fit.distribution.mixture_distribution.probs, gm.weights_, rtol=1e-8)
    cv = gm.covariances_
    if ct == "tied":
        full = np.stack([cv] * 2)
    elif ct == "diag":
        full = cv[:, :, None] * np.eye(2)
    elif ct == "spherical":
        full = cv[:, None, None] * np.eye(2)
    else:
        full = cv
    np.testing.assert_allclose(c.covariance_matrix, full, rtol=1e-8, atol=1e-10)


# -- batched, streamed, threads ------------------------------------------------------------------
def test_batched_equals_one_at_a_time():
    g = np.random.default_rng(10)
    B = 3
    x = np.stack([np.concatenate([g.poisson(1 + b, 200), g.poisson(12 + 3 * b, 100)]) for b in range(B)])
    rates = np.array([[1.0, 10.0], [2.0, 12.0], [3.0, 20.0]])
    init = MixtureSameFamily(Categorical(probs=np.full((B, 2), 0.5)), Poisson(rates))
    fit = mixstat.fit_mixture(x, Poisson, 2, init=init, tol=1e-6)
    assert fit.distribution.batch_shape == (B,)
    assert fit.log_likelihood.shape == (max(fit.n_iter), B)
    for b in range(B):
        one = mixstat.fit_mixture(
            x[b], Poisson, 2, tol=1e-6, init=MixtureSameFamily(Categorical(probs=[0.5, 0.5]), Poisson(rates[b]))
        )
        assert one.n_iter == fit.n_iter[b] and one.converged == fit.converged[b]
        np.testing.assert_array_equal(
            one.distribution.component_distribution.rate, fit.distribution.component_distribution.rate[b]
        )
        np.testing.assert_array_equal(one.log_likelihood, fit.log_likelihood[: one.n_iter, b])
        # a converged entry stops changing
        assert np.all(fit.log_likelihood[one.n_iter - 1 :, b] == one.log_likelihood[-1])
    # MultivariateNormal batched, k-means++ seeded: each entry is a valid fit of its own data
    xb = g.normal(size=(2, 300, 2)) + np.array([0.0, 4.0])[:, None, None] * (np.arange(300) % 2)[None, :, None]
    fb = mixstat.fit_mixture(xb, MultivariateNormal, 2, rng=1, covariance_type="diag")
    assert fb.distribution.batch_shape == (2,) and fb.distribution.event_shape == (2,)
    np.testing.assert_allclose(
        fb.distribution.log_prob(np.swapaxes(xb, 0, 1)).sum(0), fb.log_likelihood[-1], rtol=1e-10
    )


@pytest.mark.parametrize("ct", ["full", "diag", "tied", "spherical"])
def test_batched_mvn_equals_one_at_a_time(ct):
    """One kernel call for every batch entry (``_gaussian.estep_batch``): the same bits as the
    entries fitted one at a time, over several blocks of points and with an entry that
    converges before the others."""
    from mixstat.fitting import _gaussian_kernels

    g = np.random.default_rng(15)
    B, N, D = 3, _gaussian_kernels.BLOCK + 300, 2
    lab = np.arange(N) % 2
    x = g.normal(size=(B, N, D)) * (1.0 + np.arange(B))[:, None, None] + 4.0 * lab[None, :, None]
    loc = np.stack([np.array([[0.5, 0.0], [3.0, 3.5]])] * B) + 0.2 * np.arange(B)[:, None, None]
    cov = np.broadcast_to(np.eye(D), (B, 2, D, D))
    init = MixtureSameFamily(Categorical(probs=np.full((B, 2), 0.5)), MultivariateNormal(loc, covariance_matrix=cov))
    kw = dict(covariance_type=ct, tol=1e-4, max_iter=8)
    fit = mixstat.fit_mixture(x, MultivariateNormal, 2, init=init, **kw)
    assert fit.distribution.batch_shape == (B,)
    for b in range(B):
        one_init = MixtureSameFamily(
            Categorical(probs=[0.5, 0.5]), MultivariateNormal(loc[b], covariance_matrix=np.eye(D))
        )
        one = mixstat.fit_mixture(x[b], MultivariateNormal, 2, init=one_init, **kw)
        assert one.n_iter == fit.n_iter[b]
        np.testing.assert_array_equal(one.log_likelihood, fit.log_likelihood[: one.n_iter, b])
        ca, cb = one.distribution.component_distribution, fit.distribution.component_distribution
        np.testing.assert_array_equal(ca.loc, cb.loc[b])
        np.testing.assert_array_equal(ca.covariance_matrix, cb.covariance_matrix[b])
        np.testing.assert_array_equal(
            one.distribution.mixture_distribution.probs, fit.distribution.mixture_distribution.probs[b]
        )


def test_device_argument():
    from mixstat import _device

    x = np.random.default_rng(16).normal(size=50)
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda'"):
        mixstat.fit_mixture(x, Normal, 2, device="gpu")
    cpu = mixstat.fit_mixture(x, Normal, 2, rng=0, device="cpu")
    assert cpu.distribution.device == "cpu"
    old = _device._status
    _device._status = (False, "no CUDA driver or GPU: (stand-in for the test)")
    try:
        with pytest.raises(RuntimeError, match="CUDA is not available: no CUDA driver or GPU"):
            mixstat.fit_mixture(x, Normal, 2, device="cuda")
    finally:
        _device._status = old


def test_streaming_equals_in_memory(tmp_path, monkeypatch):
    from mixstat.fitting import _data, _kernel

    g = np.random.default_rng(11)
    n = 3 * _kernel.BLOCK + 123
    x = np.concatenate([g.normal([0, 0], 1, (n // 2, 2)), g.normal([3, 3], 0.5, (n - n // 2, 2))])
    g.shuffle(x)
    path = tmp_path / "x.npy"
    np.save(path, x)
    tmpl = Independent(Normal(np.zeros(2), np.ones(2)), 1)
    ref = mixstat.fit_mixture(x, tmpl, 2, rng=3, tol=1e-6)
    monkeypatch.setattr(_data, "CHUNK_BYTES", 8 * 2 * 1000)  # 1000-row chunks: not block multiples
    mm = mixstat.fit_mixture(np.load(path, mmap_mode="r"), tmpl, 2, rng=3, tol=1e-6)
    chunks = lambda: (x[i : i + 777] for i in range(0, n, 777))
    st = mixstat.fit_mixture(chunks, tmpl, 2, rng=3, tol=1e-6)
    mvn_ref = mixstat.fit_mixture(x, MultivariateNormal, 2, rng=3, tol=1e-6)
    mvn_mm = mixstat.fit_mixture(np.load(path, mmap_mode="r"), MultivariateNormal, 2, rng=3, tol=1e-6)
    for a, b in ((ref, mm), (ref, st), (mvn_ref, mvn_mm)):
        assert a.n_iter == b.n_iter
        np.testing.assert_allclose(b.log_likelihood, a.log_likelihood, rtol=1e-10)
        ca, cb = a.distribution.component_distribution, b.distribution.component_distribution
        for name in ("mean", "variance"):
            np.testing.assert_allclose(getattr(cb, name), getattr(ca, name), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(
            b.distribution.mixture_distribution.probs, a.distribution.mixture_distribution.probs, rtol=1e-10
        )
    with pytest.raises(TypeError, match="one-shot"):
        mixstat.fit_mixture(iter([x]), tmpl, 2)


def test_same_bits_at_1_and_2_threads():
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 numba threads (NUMBA_NUM_THREADS < 2 here)")
    g = np.random.default_rng(12)
    x = np.concatenate([g.gamma(2.0, 1.0, 5000), g.gamma(20.0, 0.5, 5000)])
    old = numba.get_num_threads()
    out = []
    try:
        for t in (1, 2):
            numba.set_num_threads(t)
            f = mixstat.fit_mixture(x, Gamma, 2, rng=5, max_iter=30)
            out.append((f.log_likelihood, f.distribution.component_distribution.concentration))
    finally:
        numba.set_num_threads(old)
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][1], out[1][1])


# -- weights, dtype, selection ----------------------------------------------------------------------
def test_sample_weight_and_float32():
    g = np.random.default_rng(13)
    x = np.concatenate([g.normal(-2, 1, 200), g.normal(3, 1, 200)])
    w = g.integers(0, 3, x.size)
    init = MixtureSameFamily(Categorical(probs=[0.5, 0.5]), Normal(np.array([-1.0, 1.0]), np.ones(2)))
    fw = mixstat.fit_mixture(x, Normal, 2, sample_weight=w, init=init, tol=1e-8)
    fr = mixstat.fit_mixture(np.repeat(x, w), Normal, 2, init=init, tol=1e-8)
    np.testing.assert_allclose(
        fw.distribution.component_distribution.loc, fr.distribution.component_distribution.loc, rtol=1e-10
    )
    assert fw.n_samples == w.sum()
    f32 = mixstat.fit_mixture(x.astype(np.float32), Normal, 2, init=init)
    assert f32.distribution.dtype == np.float32
    assert f32.distribution.component_distribution.loc.dtype == np.float32


def test_select_n_components():
    g = np.random.default_rng(14)
    x = np.concatenate([g.normal(-4, 1, 500), g.normal(3, 0.5, 500)])
    best, table = mixstat.select_n_components(x, Normal, [1, 2, 3], rng=0)
    assert list(table["n_components"]) == [1, 2, 3]
    assert int(np.argmin(table["bic"])) == 1
    assert best.distribution.mixture_distribution.probs.shape == (2,)
    assert best.bic() == table["bic"][1]
    with pytest.raises(ValueError, match="criterion"):
        mixstat.select_n_components(x, Normal, [1], criterion="x")


def test_select_n_components_batched():
    """Each batch entry chooses its own K; the merged result is each entry's chosen fit (its
    mixture padded with zero-weight components to the largest K chosen)."""
    g = np.random.default_rng(17)
    one = np.concatenate([g.normal(0, 1, 300), g.normal(0.2, 1, 300)])  # one component
    two = np.concatenate([g.normal(-4, 1, 300), g.normal(3, 0.5, 300)])  # two components
    x = np.stack([one, two])
    best, table = mixstat.select_n_components(x, Normal, [1, 2, 3], rng=0, max_iter=30)
    assert table["bic"].shape == (3, 2)
    np.testing.assert_array_equal(table["best_n_components"], [1, 2])
    fits = [mixstat.fit_mixture(x, Normal, k, rng=0, max_iter=30) for k in (1, 2)]
    for b, f in enumerate(fits):
        assert best.n_iter[b] == f.n_iter[b] and best.n_parameters[b] == f.n_parameters
        assert best.bic()[b] == pytest.approx(f.bic()[b], rel=1e-12)
        np.testing.assert_array_equal(best.log_likelihood[: f.n_iter[b], b], f.log_likelihood[: f.n_iter[b], b])
    d = best.distribution
    assert d.batch_shape == (2,) and d.mixture_distribution.probs.shape == (2, 2)
    assert d.mixture_distribution.probs[0, 1] == 0.0
    t = np.linspace(-6, 6, 7)[:, None]
    np.testing.assert_allclose(d.log_prob(t)[:, 0], fits[0].distribution.log_prob(t)[:, 0], rtol=1e-12)
    np.testing.assert_allclose(d.log_prob(t)[:, 1], fits[1].distribution.log_prob(t)[:, 1], rtol=1e-12)


# -- degenerate and bad input ---------------------------------------------------------------------
def test_bad_input_raises():
    x = np.arange(20.0)
    bad = x.copy()
    bad[7] = np.nan
    with pytest.raises(ValueError, match=r"row 7"):
        mixstat.fit_mixture(bad, Normal, 2)
    bad[7] = np.inf
    xb = np.stack([x, bad])
    with pytest.raises(ValueError, match=r"x\[1, 7\]"):
        mixstat.fit_mixture(xb, Normal, 2)
    with pytest.raises(ValueError, match="too few"):
        mixstat.fit_mixture(x[:2], Normal, 3)
    with pytest.raises(ValueError, match="too few"):
        mixstat.fit_mixture(x, Normal, 3, sample_weight=np.r_[np.ones(2), np.zeros(18)])
    neg = x.copy()
    neg[4] = -1
    with pytest.raises(ValueError, match=r"row 4.*support of Poisson"):
        mixstat.fit_mixture(neg, Poisson, 2)
    with pytest.raises(ValueError, match=r"row 0.*support of Gamma"):
        mixstat.fit_mixture(x, Gamma, 2)  # x[0] = 0
    with pytest.raises(ValueError, match="support of Bernoulli"):
        mixstat.fit_mixture(np.array([0, 1, 2, 1]), Bernoulli, 2)
    with pytest.raises(ValueError, match="support of Binomial"):
        mixstat.fit_mixture(np.array([0, 1, 6, 1]), Binomial, 2, total_count=5)
    with pytest.raises(TypeError, match="total_count"):
        mixstat.fit_mixture(np.array([0, 1, 2, 1]), Binomial, 2)
    with pytest.raises(ValueError, match="sample_weight"):
        mixstat.fit_mixture(x, Normal, 2, sample_weight=-np.ones(20))
    with pytest.raises(TypeError, match="unknown option"):
        mixstat.fit_mixture(x, Normal, 2, bogus=1)
    with pytest.raises(TypeError, match="no M-step"):
        mixstat.fit_mixture(x, mixstat.distributions.Cauchy, 2)
    with pytest.raises(ValueError, match="n_components"):
        mixstat.fit_mixture(x, Normal, 0)


def test_empty_and_collapsing_components_warn_and_stay_finite():
    g = np.random.default_rng(15)
    x = g.normal(0, 1, 500)
    # a component far from every point loses all its weight
    init = MixtureSameFamily(Categorical(probs=[0.5, 0.5]), Normal(np.array([0.0, 1e3]), np.ones(2)))
    with pytest.warns(ComponentWarning, match="empty"):
        fit = mixstat.fit_mixture(x, Normal, 2, init=init)
    d = fit.distribution
    assert np.all(np.isfinite(d.component_distribution.loc)) and np.all(np.isfinite(d.component_distribution.scale))
    assert d.mixture_distribution.probs[1] < 1e-10
    assert np.isfinite(fit.log_likelihood).all()
    # a component on one repeated value collapses onto it: its variance is held at reg_covar
    xc = np.concatenate([g.normal(0, 1, 300), np.full(100, 5.0)])
    with pytest.warns(ComponentWarning, match="collapsed"):
        fit = mixstat.fit_mixture(xc, Normal, 2, rng=0)
    s = fit.distribution.component_distribution.scale
    assert np.all(np.isfinite(s)) and s.min() == pytest.approx(1e-3)
    # fewer distinct values than components (Bernoulli data, K = 3): finite, no error
    xb = (g.random(200) < 0.3).astype(float)
    fit = mixstat.fit_mixture(xb, Bernoulli, 3, rng=0)
    assert np.all(np.isfinite(fit.distribution.component_distribution.probs))
    assert np.isfinite(fit.log_likelihood).all()


def test_docstring_examples():
    import doctest

    from mixstat.fitting import _em

    res = doctest.testmod(_em, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0 and res.failed == 0
