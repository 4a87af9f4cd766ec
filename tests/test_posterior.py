"""``MixtureSameFamily.posterior_marginal`` and ``posterior_mode``: the responsibilities and their mode.

References: SciPy (``scipy.special.logsumexp`` of ``scipy.stats`` log-densities plus the log
weights, through the test registry's references), plain NumPy, and mpmath at 50 digits for
the far tails.  The CUDA loops run in numba's simulator in a subprocess of their own.
"""

import json
import math
import os
import subprocess
import sys
import tracemalloc

import mpmath
import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

from mixstat.distributions import Categorical, Gamma, Independent, MixtureSameFamily, MultivariateNormal, Normal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import registry as reg

EPS = np.finfo(np.float64).eps

#: a few families, each kernel variant once: a static-scalar family, float32, a full vector
#: family (batched: point by point; shared: its SIMD tile loop), an unbounded one, a discrete
#: one, a diagonal event (Independent), Woodbury rows and per-point tile quantities (Dirichlet)
IDS = [
    "msf-normal-b0",
    "msf-normal-b2x4-f32",
    "msf-mvn-tril-D2-b2x4",
    "msf-gamma-K3-b0",
    "msf-poisson-K3-b0",
    "msf-indep-gamma-D2-b0",
    "msf-lowrank_mvn-D3-r2-K3-b0",
    "msf-dirichlet-K3-D3-b0",
]
BY_ID = {e.id: e for e in reg.EXAMPLES}


def ref_terms(ex, x):
    """SciPy: ``log w_k + log p_k(x)`` of the example's reference, float64, ``(*sample, *batch, K)``."""
    xk = np.expand_dims(np.asarray(x, np.float64), np.ndim(x) - len(ex.event_shape))
    with np.errstate(divide="ignore"):
        return np.log(ex.ref.weights) + ex.ref.component.log_prob(xk)


def ref_posterior(t):
    return t - logsumexp(t, axis=-1, keepdims=True)


def exact_row_sum(probs):
    """``sum_k probs[..., k]`` for every row, without rounding (math.fsum)."""
    flat = probs.reshape(-1, probs.shape[-1]).astype(np.float64)
    return np.array([math.fsum(r) for r in flat]).reshape(probs.shape[:-1])


@pytest.mark.parametrize("eid", IDS)
def test_against_scipy(eid):
    ex = BY_ID[eid]
    d = ex.make()
    x = d.sample((40,), rng=3)
    post = d.posterior_marginal(x)
    K = d.mixture_distribution.param_shape[-1]
    assert isinstance(post, Categorical)
    assert post.batch_shape == (40,) + ex.batch_shape
    assert post.logits.shape == (40,) + ex.batch_shape + (K,)
    assert post.logits.dtype == ex.dtype and post.probs.dtype == ex.dtype
    assert not post.logits.flags.writeable
    t = ref_terms(ex, x)
    want = ref_posterior(t)
    r = 1e-12 if ex.dtype == np.float64 else 2e-5
    np.testing.assert_allclose(post.probs, np.exp(want), rtol=r, atol=r)
    big = want > -30  # log-responsibilities of the components that matter, to relative accuracy
    np.testing.assert_allclose(post.logits[big], want[big], rtol=r, atol=r)
    mode = d.posterior_mode(x)
    assert mode.dtype == np.int64 and mode.shape == (40,) + ex.batch_shape
    # the mode is the reference's argmax wherever the two best terms are not (nearly) tied
    srt = np.sort(t, axis=-1)
    clear = srt[..., -1] - srt[..., -2] > (1e-9 if ex.dtype == np.float64 else 1e-3) * (1 + abs(srt[..., -1]))
    assert clear.mean() > 0.9
    np.testing.assert_array_equal(mode[clear], np.argmax(t, axis=-1)[clear])
    # the mode of the posterior itself (same rule, same ties)
    np.testing.assert_array_equal(mode[clear], np.argmax(post.logits, axis=-1)[clear])


def _normal_mixture(w, loc, scale, dtype=np.float64):
    return MixtureSameFamily(
        Categorical(probs=np.asarray(w, dtype)), Normal(np.asarray(loc, dtype), np.asarray(scale, dtype))
    )


def _mp_posterior(w, loc, scale, x):
    """Responsibilities of a Normal mixture at ``x`` with mpmath at 50 digits (log-space)."""
    with mpmath.workdps(50):
        t = [
            mpmath.log(mpmath.mpf(float(wk)))
            - mpmath.log(mpmath.mpf(float(sk)))
            - mpmath.log(2 * mpmath.pi) / 2
            - (mpmath.mpf(float(x)) - mpmath.mpf(float(lk))) ** 2 / (2 * mpmath.mpf(float(sk)) ** 2)
            for wk, lk, sk in zip(w, loc, scale)
        ]
        m = max(t)
        lse = m + mpmath.log(mpmath.fsum(mpmath.exp(tk - m) for tk in t))
        return [float(tk - lse) for tk in t], [float(mpmath.exp(tk - lse)) for tk in t]


def test_far_tails_against_mpmath():
    """1e3 standard deviations out every density underflows (exp(-5e5)); the responsibilities
    are still exact (to the conditioning of terms of size 5e5: ~1e-10 relative), never NaN."""
    w = [0.2, 0.5, 0.3]
    loc = [-1.0, 0.5, 2.0]
    scale = [1.0, 1.3, 0.9]
    d = _normal_mixture(w, loc, scale)
    x = np.array([-1e3, 1e3, 1.3e3, -2e3, 5e3, 0.25])
    post = d.posterior_marginal(x)
    mode = d.posterior_mode(x)
    assert np.isfinite(d.log_prob(x)).all()
    assert not np.isnan(post.logits).any() and not np.isnan(post.probs).any()
    for i, xi in enumerate(x):
        lg, pr = _mp_posterior(w, loc, scale, xi)
        big = np.array(lg) > -700
        # the terms are ~x**2 / 2 large: their float64 rounding alone is ~1e-16 * x**2
        tol = 4 * EPS * max(1.0, xi * xi)
        np.testing.assert_allclose(post.logits[i][big], np.array(lg)[big], rtol=1e-14, atol=tol)
        np.testing.assert_allclose(post.probs[i], pr, rtol=2 * tol, atol=1e-300)
        assert mode[i] == int(np.argmax(lg))
        assert abs(exact_row_sum(post.probs[i : i + 1])[0] - 1) <= 4 * EPS


def test_far_tails_log_space_numpy_reference():
    """Shared K = 16 mixture, points up to 1e3 sigma out: against a plain NumPy log-space reference."""
    rng = np.random.default_rng(5)
    K = 16
    w = rng.dirichlet(np.ones(K))
    loc = rng.normal(size=K) * 3
    scale = rng.uniform(0.5, 2.0, K)
    d = _normal_mixture(w, loc, scale)
    x = np.concatenate([rng.uniform(-1e3, 1e3, 300), rng.normal(size=300) * 5])
    z = (x[:, None] - loc) / scale
    t = np.log(w) - np.log(scale) - 0.5 * np.log(2 * np.pi) - 0.5 * z * z
    m = t.max(-1, keepdims=True)
    want = (t - m) - np.log(np.exp(t - m).sum(-1, keepdims=True))
    post = d.posterior_marginal(x)
    tol = 8 * EPS * np.maximum(1.0, x * x)[:, None]
    assert (np.abs(post.logits - want) <= tol + 1e-14 * np.abs(want)).all()
    np.testing.assert_array_equal(d.posterior_mode(x), np.argmax(want, axis=-1))


def test_sum_to_one_within_4_ulp():
    rng = np.random.default_rng(11)
    K = 16
    d = _normal_mixture(rng.dirichlet(np.ones(K) * 0.7), rng.normal(size=K) * 2, rng.uniform(0.3, 3.0, K))
    x = np.concatenate([d.sample((3000,), rng=2), rng.uniform(-300, 300, 1000)])
    post = d.posterior_marginal(x)
    err = np.abs(exact_row_sum(post.probs) - 1.0)
    assert err.max() <= 4 * EPS, err.max() / EPS
    # float32: within 4 float32 ulp
    d32 = _normal_mixture(rng.dirichlet(np.ones(K)), rng.normal(size=K), rng.uniform(0.5, 2, K), np.float32)
    p32 = d32.posterior_marginal(d32.sample((2000,), rng=4)).probs
    assert p32.dtype == np.float32
    assert np.abs(exact_row_sum(p32) - 1.0).max() <= 4 * np.finfo(np.float32).eps


def test_zero_and_neg_inf_weights_contribute_exactly_nothing():
    # a zero weight on the component that would dominate everywhere: responsibility exactly 0
    d = MixtureSameFamily(
        Categorical(logits=np.array([0.0, -np.inf, 1.0])),
        Normal(np.array([-1.0, 0.0, 1.0]), np.array([1.0, 1e-3, 1.0])),
    )
    x = np.array([0.0, 1e-4, -3.0, 1e3])
    post = d.posterior_marginal(x)
    assert (post.probs[:, 1] == 0.0).all() and (post.logits[:, 1] == -np.inf).all()
    t = np.log(np.array([1.0, np.e])) + stats.norm.logpdf(x[:, None], [-1.0, 1.0], 1.0)
    np.testing.assert_allclose(post.probs[:, [0, 2]], np.exp(ref_posterior(t)), rtol=1e-12)
    assert (d.posterior_mode(x) != 1).all()
    # a zero weight where that component's density is +inf (Gamma at 0, concentration < 1)
    g = MixtureSameFamily(
        Categorical(probs=np.array([0.0, 0.4, 0.6])), Gamma(np.array([0.5, 2.0, 3.0]), np.array([1.0, 1.0, 2.0]))
    )
    xg = np.array([0.0, 0.5, 2.0])
    pg = g.posterior_marginal(xg)
    assert (pg.probs[1:, 0] == 0.0).all() and (pg.logits[1:, 0] == -np.inf).all()
    tg = np.log([0.4, 0.6]) + stats.gamma.logpdf(xg[1:, None], [2.0, 3.0], scale=[1.0, 0.5])
    np.testing.assert_allclose(pg.probs[1:, 1:], np.exp(ref_posterior(tg)), rtol=1e-12)
    # at 0 the positive-weight components have density 0: undefined, not the zero-weight one
    assert np.isnan(pg.logits[0]).all()
    np.testing.assert_array_equal(
        g.posterior_mode(xg), [-1, 1 + int(tg[0, 1] > tg[0, 0]), 1 + int(tg[1, 1] > tg[1, 0])]
    )


def test_undefined_and_infinite_posteriors():
    g = MixtureSameFamily(
        Categorical(probs=np.array([0.2, 0.3, 0.5])), Gamma(np.array([2.0, 0.5, 0.3]), np.array([1.0, 1.0, 2.0]))
    )
    x = np.array([np.nan, -1.0, 0.0, 1.0])
    post = g.posterior_marginal(x)
    # NaN value, and a value outside every support: NaN rows (0 / 0), mode -1
    assert np.isnan(post.logits[:2]).all()
    # x = 0: components 1 and 2 have density +inf; they share the mass, component 0 gets 0
    np.testing.assert_array_equal(post.probs[2], [0.0, 0.5, 0.5])
    np.testing.assert_array_equal(post.logits[2], [-np.inf, -np.log(2.0), -np.log(2.0)])
    t = np.log([0.2, 0.3, 0.5]) + stats.gamma.logpdf(1.0, [2.0, 0.5, 0.3], scale=[1.0, 1.0, 0.5])
    np.testing.assert_allclose(post.probs[3], np.exp(ref_posterior(t)), rtol=1e-12)
    np.testing.assert_array_equal(g.posterior_mode(x), [-1, -1, 1, int(np.argmax(t))])
    # under validate_args=True a value outside the support is an error
    gv = MixtureSameFamily(g.mixture_distribution, g.component_distribution, validate_args=True)
    with pytest.raises(ValueError, match="outside the support"):
        gv.posterior_marginal(np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="outside the support"):
        gv.posterior_mode(np.array([1.0, -1.0]))


def test_ties_go_to_the_lowest_index():
    d = _normal_mixture([0.25, 0.25, 0.5], [1.0, 1.0, 1.0], [2.0, 2.0, 2.0])
    x = np.linspace(-5, 5, 11)
    np.testing.assert_array_equal(d.posterior_mode(x), np.full(11, 2))
    e = _normal_mixture([0.5, 0.5], [0.0, 0.0], [1.0, 1.0])
    np.testing.assert_array_equal(e.posterior_mode(x), np.zeros(11, np.int64))
    np.testing.assert_array_equal(e.posterior_marginal(x).probs, np.full((11, 2), 0.5))


def test_float32_in_float32_out():
    rng = np.random.default_rng(7)
    K = 5
    w, loc, sc = rng.dirichlet(np.ones(K)), rng.normal(size=K) * 2, rng.uniform(0.5, 2, K)
    d32 = _normal_mixture(w, loc, sc, np.float32)
    x = d32.sample((500,), rng=1)
    assert x.dtype == np.float32
    post = d32.posterior_marginal(x)
    assert post.logits.dtype == np.float32 and post.probs.dtype == np.float32
    # against the float64 posterior of the float32 parameters and values
    d64 = _normal_mixture(w.astype(np.float32), loc.astype(np.float32), sc.astype(np.float32))
    want = d64.posterior_marginal(x.astype(np.float64))
    np.testing.assert_allclose(post.probs, want.probs, rtol=1e-5, atol=1e-6)
    m32 = d32.posterior_mode(x)
    assert m32.dtype == np.int64
    t = want.logits
    srt = np.sort(t, -1)
    clear = srt[:, -1] - srt[:, -2] > 1e-3
    np.testing.assert_array_equal(m32[clear], np.argmax(t, -1)[clear])
    # a float32 far tail: finite, no NaN
    far = d32.posterior_marginal(np.array([1e3, -1e3], np.float32))
    assert np.isfinite(far.logits.max(-1)).all()


def test_batch_shapes_and_broadcasting():
    rng = np.random.default_rng(3)
    K = 4
    w = rng.dirichlet(np.ones(K), size=3)  # batched weights (3, K)
    loc = rng.normal(size=K)  # shared components (K,)
    sc = rng.uniform(0.5, 2, K)
    d = MixtureSameFamily(Categorical(probs=w), Normal(loc, sc))
    assert d.batch_shape == (3,)
    x = rng.normal(size=(5, 1)) * 2  # broadcasts against the batch
    post = d.posterior_marginal(x)
    assert post.batch_shape == (5, 3) and post.logits.shape == (5, 3, K)
    t = np.log(w) + stats.norm.logpdf(x[..., None], loc, sc)  # (5, 3, K)
    np.testing.assert_allclose(post.logits, ref_posterior(t), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(d.posterior_mode(x), np.argmax(t, -1))
    # a scalar value
    p0 = d.posterior_marginal(0.3)
    assert p0.batch_shape == (3,)
    np.testing.assert_allclose(
        p0.logits, ref_posterior(np.log(w) + stats.norm.logpdf(0.3, loc, sc)), rtol=1e-12, atol=1e-12
    )
    assert d.posterior_mode(0.3).shape == (3,)
    # a batch dim of size 1 stretched by the value; parameters of batch (2, 1, K)
    w2 = rng.dirichlet(np.ones(K), size=(2, 1))
    loc2 = rng.normal(size=(2, 1, K))
    d2 = MixtureSameFamily(Categorical(probs=w2), Normal(loc2, np.ones((2, 1, K))))
    x2 = rng.normal(size=(6, 2, 3))
    t2 = np.log(w2) + stats.norm.logpdf(x2[..., None], loc2, 1.0)
    post2 = d2.posterior_marginal(x2)
    assert post2.logits.shape == (6, 2, 3, K)
    np.testing.assert_allclose(post2.logits, ref_posterior(t2), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(d2.posterior_mode(x2), np.argmax(t2, -1))
    # an empty sample
    assert d.posterior_marginal(np.empty((0, 3))).logits.shape == (0, 3, K)
    assert d.posterior_mode(np.empty((0, 3))).shape == (0, 3)


def test_independent_normal_and_mvn():
    rng = np.random.default_rng(9)
    K, D = 3, 2
    w = rng.dirichlet(np.ones(K))
    loc = rng.normal(size=(K, D)) * 2
    sc = rng.uniform(0.5, 2, (K, D))
    d = MixtureSameFamily(Categorical(probs=w), Independent(Normal(loc, sc), 1))
    x = rng.normal(size=(50, D)) * 3
    t = np.log(w) + stats.norm.logpdf(x[:, None, :], loc, sc).sum(-1)
    np.testing.assert_allclose(d.posterior_marginal(x).logits, ref_posterior(t), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(d.posterior_mode(x), np.argmax(t, -1))
    # a coordinate outside the support of every component: undefined (NaN row, -1)
    cov = np.stack([np.eye(D) * s for s in (1.0, 2.0, 0.5)])
    m = MixtureSameFamily(Categorical(probs=w), MultivariateNormal(loc, covariance_matrix=cov))
    xm = np.concatenate([x, [[1e3, -1e3]]])
    tm = np.log(w) + np.stack([stats.multivariate_normal(loc[k], cov[k]).logpdf(xm) for k in range(K)], -1)
    pm = m.posterior_marginal(xm)
    big = ref_posterior(tm) > -30
    np.testing.assert_allclose(pm.logits[big], ref_posterior(tm)[big], rtol=1e-11, atol=1e-9)
    np.testing.assert_array_equal(m.posterior_mode(xm), np.argmax(tm, -1))
    nanrow = m.posterior_marginal(np.array([[np.nan, 0.0]]))
    assert np.isnan(nanrow.logits).all() and m.posterior_mode(np.array([[np.nan, 0.0]]))[0] == -1


def test_generic_fallback_for_components_without_a_kernel(monkeypatch):
    """Nested mixtures have no kernel: bounded chunks (forced small here), the kernels' rules."""
    from mixstat.distributions import mixture_same_family as msf_mod

    rng = np.random.default_rng(4)
    K, J = 3, 2
    inner_w = rng.dirichlet(np.ones(J), size=K)  # (K, J)
    inner_loc = rng.normal(size=(K, J)) * 3
    inner = MixtureSameFamily(Categorical(probs=inner_w), Normal(inner_loc, np.ones((K, J))))
    w = np.array([0.5, 0.0, 0.5])
    d = MixtureSameFamily(Categorical(probs=w), inner)
    assert inner._kernel_spec(np.float64) is None
    monkeypatch.setattr(msf_mod, "_FALLBACK_ELEMENTS", 16)  # several chunks
    x = np.concatenate([rng.normal(size=30) * 3, [np.nan, 1e3]])
    post = d.posterior_marginal(x)
    assert post.logits.shape == (32, K)
    with np.errstate(divide="ignore"):
        lin = logsumexp(np.log(inner_w) + stats.norm.logpdf(x[:, None, None], inner_loc, 1.0), axis=-1)
        t = np.log(w) + lin
    want = ref_posterior(t[:30])
    np.testing.assert_allclose(post.probs[:30], np.exp(want), rtol=1e-12, atol=1e-300)
    assert (post.probs[:, 1][:30] == 0).all() and (post.logits[:30, 1] == -np.inf).all()
    assert np.isnan(post.logits[30]).all() and not np.isnan(post.logits[31]).any()
    mode = d.posterior_mode(x)
    np.testing.assert_array_equal(mode[:30], np.argmax(t[:30], -1))
    assert mode[30] == -1 and mode[31] in (0, 2)


def test_validation_errors():
    rng = np.random.default_rng(1)
    m = MixtureSameFamily(
        Categorical(probs=np.ones(2)),
        MultivariateNormal(rng.normal(size=(2, 3)), covariance_matrix=np.stack([np.eye(3)] * 2)),
    )
    for f in (m.posterior_marginal, m.posterior_mode):
        with pytest.raises(ValueError, match=r"value of shape \(4, 2\) does not end with event_shape \(3,\)"):
            f(np.zeros((4, 2)))
    d = MixtureSameFamily(Categorical(probs=np.ones((3, 2))), Normal(np.zeros(2), np.ones(2)))
    for f in (d.posterior_marginal, d.posterior_mode):
        with pytest.raises(ValueError, match=r"value of shape \(4,\) does not broadcast with batch_shape \(3,\)"):
            f(np.zeros(4))
        with pytest.raises((TypeError, ValueError), match="value"):
            f("abc")


def test_memory_output_only():
    """posterior_marginal allocates its (N, K) output and nothing else of that size;
    posterior_mode no (N, K) array at all (NumPy allocations, traced)."""
    rng = np.random.default_rng(2)
    K, N = 16, 100_000
    d = _normal_mixture(rng.dirichlet(np.ones(K)), rng.normal(size=K), rng.uniform(0.5, 2, K))
    x = rng.normal(size=N)
    d.posterior_marginal(x[:10]), d.posterior_mode(x[:10])  # compile or load first
    tracemalloc.start()
    try:
        post = d.posterior_marginal(x)
        peak_post = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        mode = d.posterior_mode(x)
        peak_mode = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    out_bytes = post.logits.nbytes
    assert out_bytes == N * K * 8
    # tracemalloc traces every thread: under pytest-xdist its I/O thread's objects can land in
    # the window (81 KB once, in a CI rehearsal), hence a fixed slack far below what is tested
    # against (an (N, K) array is 12.8 MB, one more array of N floats 0.8 MB)
    slack = 256 * 1024
    assert peak_post <= 1.1 * out_bytes + slack, peak_post / out_bytes
    assert peak_mode <= 1.1 * mode.nbytes + slack, (peak_mode, mode.nbytes)


_SIM_SCRIPT = r"""
import json, numpy as np
from numba import cuda
from mixstat.distributions import Categorical, Gamma, MixtureSameFamily, MultivariateNormal, Normal, Independent
rng = np.random.default_rng(0)
out = {}
def both(name, d, x):
    g = d.to("cuda")
    pc, pg = d.posterior_marginal(x), g.posterior_marginal(x)
    mc, mg = d.posterior_mode(x), g.posterior_mode(x)
    lg = np.asarray(pg.logits)
    fin = np.isfinite(pc.logits)
    out[name] = dict(device=pg.device, dtype=str(lg.dtype), shape=list(lg.shape),
                     same_pattern=bool((np.isnan(lg) == np.isnan(pc.logits)).all()
                                       and (np.isinf(lg) == np.isinf(pc.logits)).all()),
                     err=float(np.max(np.abs(lg[fin] - pc.logits[fin]) / (1 + np.abs(pc.logits[fin])), initial=0)),
                     mode_type=type(mg).__name__, mode_equal=bool((mg.copy_to_host() == mc).all()),
                     mode_dtype=str(mg.copy_to_host().dtype))
K = 3
w = np.array([0.3, 0.0, 0.7])
d = MixtureSameFamily(Categorical(probs=w), Normal(rng.normal(size=K) * 2, rng.uniform(0.5, 2, K)))
both("normal", d, np.concatenate([rng.normal(size=(12,)) * 3, [1e3, np.nan]]))
d32 = MixtureSameFamily(Categorical(probs=np.array([0.3, 0.7], np.float32)),
                        Normal(np.array([-1.0, 1.0], np.float32), np.array([1.0, 0.5], np.float32)))
both("normal-f32", d32, rng.normal(size=(6, 1)).astype(np.float32))
g = MixtureSameFamily(Categorical(probs=np.array([0.2, 0.3, 0.5])),
                      Gamma(np.array([2.0, 0.5, 0.3]), np.array([1.0, 1.0, 2.0])))
both("gamma", g, np.array([0.0, -1.0, 1.0, 2.5]))
L = np.array([[1.0, 0.0], [0.5, 1.0]])
m = MixtureSameFamily(Categorical(probs=np.ones((2, 2))),
                      MultivariateNormal(rng.normal(size=(2, 2)), scale_tril=np.stack([L, 2 * L])))
both("mvn", m, rng.normal(size=(4, 2, 2)))
i = MixtureSameFamily(Categorical(probs=np.ones(2)), Independent(Normal(rng.normal(size=(2, 3)), np.ones((2, 3))), 1))
both("independent", i, rng.normal(size=(5, 3)))
print(json.dumps(out))
"""


def test_cuda_loops_in_the_simulator():
    """The CUDA posterior and mode loops (numba's simulator, a process of its own) agree with the CPU."""
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    r = subprocess.run([sys.executable, "-c", _SIM_SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert set(res) == {"normal", "normal-f32", "gamma", "mvn", "independent"}
    for name, v in res.items():
        assert v["device"] == "cuda", name
        assert v["same_pattern"] and v["mode_equal"], (name, v)
        assert v["err"] <= (2e-6 if name.endswith("f32") else 1e-12), (name, v)
        assert v["mode_type"] != "ndarray" and v["mode_dtype"] == "int64", (name, v)
    assert res["normal-f32"]["dtype"] == "float32" and res["mvn"]["shape"] == [4, 2, 2]
