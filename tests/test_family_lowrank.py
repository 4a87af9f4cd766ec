"""LowRankMultivariateNormal: what the generic tests cannot know.

The registry examples (``tests/examples/lowrank_mvn.py``) drive the generic
tests against SciPy with the dense covariance.  Here: the dense
MultivariateNormal and SciPy/NumPy on the dense covariance, ill-conditioned and tiny
``cov_diag`` against a 40-digit mpmath reference (with the documented error
bound), ``r = 0``, ``D = 1``, both CPU tile paths and the exact redo, the
sampler's covariance and reproducibility, bad parameters, float32, the dense
matrices and read-only parameters.
"""

import math
import os
import sys

import numpy as np
import pytest
from scipy import stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import registry as reg

from mixstat.distributions import (
    Categorical,
    Independent,
    LowRankMultivariateNormal,
    MixtureSameFamily,
    MultivariateNormal,
    Normal,
)

pytestmark = pytest.mark.filterwarnings("error")  # no NumPy warnings on valid input

LOWRANK = [pytest.param(e, id=e.id) for e in reg.EXAMPLES if e.family == "lowrank_mvn"]


def params(rng, batch, D, r, dscale=1.0, wscale=0.7):
    loc = rng.uniform(-2, 2, tuple(batch) + (D,))
    W = rng.normal(scale=wscale, size=tuple(batch) + (D, r))
    d = rng.uniform(0.3, 1.5, tuple(batch) + (D,)) * dscale
    return loc, W, d


def dense(W, d):
    return W @ np.swapaxes(W, -1, -2) + d[..., :, None] * np.eye(d.shape[-1])


def mp_logpdf(x, loc, W, d):
    """log-density and ``q = sum (x - loc)^2 / d`` with 40 significant digits (one component)."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    D = loc.shape[-1]
    S = mp.matrix([[mp.mpf(float(v)) for v in row] for row in dense(W, d)])
    Si = S**-1
    ld = mp.log(mp.det(S))
    out, qs = [], []
    for xi in x:
        dl = mp.matrix([mp.mpf(float(a)) - mp.mpf(float(b)) for a, b in zip(xi, loc)])
        m = (dl.T * Si * dl)[0]
        out.append(float(-m / 2 - ld / 2 - D * mp.log(2 * mp.pi) / 2))
        qs.append(float(sum(dl[j] ** 2 / mp.mpf(float(d[j])) for j in range(D))))
    return np.array(out), np.array(qs)


# ------------------------------------------------------------------ values
@pytest.mark.parametrize("D,r", [(1, 1), (2, 1), (5, 3), (8, 8), (12, 2)])
def test_against_dense_mvn_and_scipy(D, r):
    rng = np.random.default_rng(D * 10 + r)
    loc, W, d = params(rng, (3,), D, r)
    low = LowRankMultivariateNormal(loc, W, d)
    mvn = MultivariateNormal(loc, covariance_matrix=dense(W, d))
    x = rng.normal(size=(40, 3, D)) * 2 + loc
    got = low.log_prob(x)
    np.testing.assert_allclose(got, mvn.log_prob(x), rtol=1e-12, atol=1e-12)
    for b in range(3):
        ref = stats.multivariate_normal(loc[b], dense(W[b], d[b])).logpdf(x[:, b])
        np.testing.assert_allclose(got[:, b], ref, rtol=1e-12, atol=1e-12)


def test_against_the_dense_covariance():
    """log_prob, entropy, variance, precision and scale_tril against SciPy / NumPy on
    W W^T + diag(d) (torch is compared in benchmarks/lowrank.py, not here)."""
    rng = np.random.default_rng(7)
    loc, W, d = params(rng, (4,), 6, 2)
    x = rng.normal(size=(50, 4, 6)) * 2
    cov = W @ np.swapaxes(W, -1, -2) + d[..., :, None] * np.eye(6)
    low = LowRankMultivariateNormal(loc, W, d)
    want = np.stack([stats.multivariate_normal(loc[b], cov[b]).logpdf(x[:, b]) for b in range(4)], axis=1)
    np.testing.assert_allclose(low.log_prob(x), want, rtol=1e-12, atol=1e-12)
    ent = np.array([stats.multivariate_normal(loc[b], cov[b]).entropy() for b in range(4)])
    np.testing.assert_allclose(low.entropy(), ent, rtol=1e-12)
    np.testing.assert_allclose(low.variance, np.diagonal(cov, axis1=-2, axis2=-1), rtol=1e-12)
    np.testing.assert_allclose(low.precision_matrix, np.linalg.inv(cov), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(low.scale_tril, np.linalg.cholesky(cov), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dscale", [1e-2, 1e-4, 1e-6, 1e-8])
def test_ill_conditioned_against_mpmath(dscale):
    """Small ``cov_diag`` beside ``W W^T``, at points drawn from the distribution (the bulk).

    The documented bound: absolute error of ``log p`` at most ``(D + r) eps q``
    with ``q = sum (x - loc)^2 / d`` (the Woodbury difference cancels).
    """
    rng = np.random.default_rng(11)
    D, r = 6, 2
    loc, W, d = params(rng, (), D, r, dscale=dscale)
    low = LowRankMultivariateNormal(loc, W, d)
    x = low.sample((25,), rng=3)
    got = low.log_prob(x)
    ref, q = mp_logpdf(x, loc, W, d)
    err = np.abs(got - ref)
    bound = (D + r) * np.finfo(np.float64).eps * q + 1e-14 * np.abs(ref)
    assert np.all(err <= bound), (err / bound).max()
    # the diagonal part carries the covariance (d >> W W^T): full accuracy
    loc, W, d = params(rng, (), D, r, wscale=math.sqrt(dscale))
    x = LowRankMultivariateNormal(loc, W, d).sample((25,), rng=4)
    ref, _ = mp_logpdf(x, loc, W, d)
    np.testing.assert_allclose(LowRankMultivariateNormal(loc, W, d).log_prob(x), ref, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize(
    "dtype,dmin", [(np.float64, 1e-300), (np.float64, 1e-310), (np.float32, 1e-38), (np.float32, 1e-44)]
)
def test_tiny_and_subnormal_cov_diag(dtype, dmin):
    """``cov_diag`` near the bottom of the range (subnormal included): no overflow in the
    row (``A`` is bounded by ``d^{-1/2}``), finite densities near the mean."""
    D = 3
    loc = np.zeros(D, dtype)
    W = np.array([[1.0], [0.5], [-0.5]], dtype)
    d = np.array([dmin, 1.0, 2.0], dtype)
    low = LowRankMultivariateNormal(loc, W, d)
    tab = low._kernel_spec(np.dtype(dtype)).table
    assert np.isfinite(tab).all()
    x = np.zeros((2, D), dtype)
    x[1, 1] = 0.5
    lp = low.log_prob(x)
    assert lp.dtype == dtype and np.isfinite(lp).all()
    # at loc: -log|Sigma|/2 - D/2 log 2 pi, with log|Sigma| from float64 parameters
    cov = dense(W.astype(np.float64), d.astype(np.float64))
    sign, logdet = np.linalg.slogdet(cov)
    assert sign > 0
    ref = -0.5 * logdet - 1.5 * math.log(2 * math.pi)
    assert lp[0] == pytest.approx(ref, rel=1e-12 if dtype == np.float64 else 1e-6)
    # a step along a coordinate with d ~ 1 is a finite change
    assert lp[1] < lp[0]


def test_rank_zero_is_independent_normal():
    rng = np.random.default_rng(3)
    loc, _, d = params(rng, (2, 3), 4, 0)
    low = LowRankMultivariateNormal(loc, np.zeros((2, 3, 4, 0)), d)
    ind = Independent(Normal(loc, np.sqrt(d)), 1)
    x = rng.normal(size=(30, 2, 3, 4)) * 2
    np.testing.assert_allclose(low.log_prob(x), ind.log_prob(x), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(low.entropy(), ind.entropy(), rtol=1e-13)
    np.testing.assert_allclose(low.covariance_matrix, dense(np.zeros((2, 3, 4, 0)), d), rtol=0)
    s = low.sample((4000,), rng=1)
    assert s.shape == (4000, 2, 3, 4)
    z = (s.mean(0) - loc) / np.sqrt(d / 4000)
    assert np.abs(z).max() < 6


def test_d1_is_a_normal():
    rng = np.random.default_rng(5)
    loc, W, d = params(rng, (3,), 1, 2)
    low = LowRankMultivariateNormal(loc, W, d)
    sd = np.sqrt((W**2).sum(-1) + d)
    x = rng.normal(size=(20, 3, 1)) * 3
    np.testing.assert_allclose(
        low.log_prob(x), stats.norm.logpdf(x[..., 0], loc[..., 0], sd[..., 0]), rtol=1e-13, atol=1e-13
    )


@pytest.mark.parametrize("B", [1, 300])  # along the sample (SIMD tile) and along the batch
def test_mixture_tile_paths_and_exact_redo(B):
    rng = np.random.default_rng(B)
    K, D, r = 4, 5, 2
    loc, W, d = params(rng, (B, K), D, r)
    w = rng.uniform(0.2, 1.0, (B, K))
    low = MixtureSameFamily(Categorical(probs=w), LowRankMultivariateNormal(loc, W, d))
    mvn = MixtureSameFamily(Categorical(probs=w), MultivariateNormal(loc, covariance_matrix=dense(W, d)))
    x = rng.normal(size=(max(6, 600 // B + 1), B, D)) * 3
    x[0, 0, 0] = 1e4  # far tail: the exact path with its own running maximum
    x[1, 0, 1] = np.inf  # zero density
    x[2, 0, 2] = -np.inf
    x[3, 0, 0] = np.nan
    x[4, 0, :] = 1e200  # the squares overflow: zero density
    got = low.log_prob(x)
    ref = mvn.log_prob(x[5:])
    np.testing.assert_allclose(got[5:], ref, rtol=1e-12, atol=1e-12)
    assert np.isfinite(got[0, 0]) and got[0, 0] == pytest.approx(mvn.log_prob(x[:1])[0, 0], rel=1e-12)
    assert got[1, 0] == -np.inf and got[2, 0] == -np.inf and got[4, 0] == -np.inf
    assert np.isnan(got[3, 0])


@pytest.mark.parametrize("D,r", [(5, 6), (12, 3)])
def test_tile_and_scalar_paths_same_bits(D, r):
    """The CPU tile (points along the samples) and the scalar log-density (a batch of a tile or
    more: points along the batch) give the same bits, with a rank above 4 and coordinates past
    the groups of 4."""
    from mixstat.kernels import cpu

    rng = np.random.default_rng(D + r)
    K, B = 3, cpu.TILE
    loc, W, d = params(rng, (K,), D, r)
    w = rng.uniform(0.2, 1.0, K)
    one = MixtureSameFamily(Categorical(probs=w), LowRankMultivariateNormal(loc, W, d))
    wide = MixtureSameFamily(
        Categorical(probs=np.broadcast_to(w, (B, K))),
        LowRankMultivariateNormal(
            np.broadcast_to(loc, (B, K, D)), np.broadcast_to(W, (B, K, D, r)), np.broadcast_to(d, (B, K, D))
        ),
    )
    x = rng.normal(size=(300, D)) * 2 + loc[0]
    got = one.log_prob(x)
    np.testing.assert_array_equal(wide.log_prob(np.broadcast_to(x[:, None, :], (300, B, D)))[:, 0], got)
    mvn = MixtureSameFamily(Categorical(probs=w), MultivariateNormal(loc, covariance_matrix=dense(W, d)))
    np.testing.assert_allclose(got, mvn.log_prob(x), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ sampling
def test_sampler_covariance_and_mean():
    rng = np.random.default_rng(9)
    D, r = 7, 3  # odd sizes: the last normal of each Philox pair is unused
    loc, W, d = params(rng, (), D, r)
    low = LowRankMultivariateNormal(loc, W, d)
    N = 200000
    x = low.sample((N,), rng=12)
    cov = dense(W, d)
    se = np.sqrt((cov**2 + np.outer(np.diag(cov), np.diag(cov))) / N)
    assert np.abs((np.cov(x.T) - cov) / se).max() < 6
    assert np.abs((x.mean(0) - loc) / np.sqrt(np.diag(cov) / N)).max() < 6
    # every coordinate's marginal is normal
    for j in range(D):
        assert stats.kstest(x[:, j], stats.norm(loc[j], math.sqrt(cov[j, j])).cdf).pvalue > 1e-4


def test_sampler_reproducible_at_any_thread_count():
    import numba

    rng = np.random.default_rng(2)
    loc, W, d = params(rng, (3,), 4, 2)
    mix = MixtureSameFamily(Categorical(probs=rng.uniform(0.2, 1, 3)), LowRankMultivariateNormal(loc, W, d))
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        a, ia = mix.sample((5000,), rng=42), None
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        b = mix.sample((5000,), rng=42)
    finally:
        numba.set_num_threads(old)
    np.testing.assert_array_equal(a, b)
    assert ia is None
    # a prefix of a longer run is the shorter run (counter-based stream)
    np.testing.assert_array_equal(mix.sample((100,), rng=42), a[:100])


def test_only_the_chosen_component_is_drawn():
    """Draws given index k follow component k: their mean is component k's."""
    rng = np.random.default_rng(4)
    K, D, r = 3, 3, 1
    loc, W, d = params(rng, (K,), D, r)
    loc = loc + 10 * np.arange(K)[:, None]
    mix = MixtureSameFamily(Categorical(probs=np.ones(K)), LowRankMultivariateNormal(loc, W, d))
    x = mix.sample((30000,), rng=6)
    k = np.argmin(((x[:, None, :] - loc) ** 2).sum(-1), axis=1)
    for j in range(K):
        sd = np.sqrt(np.diag(dense(W[j], d[j])) / (k == j).sum())
        assert np.abs((x[k == j].mean(0) - loc[j]) / sd).max() < 6


# ------------------------------------------------------------------ parameters
@pytest.mark.parametrize(
    "kw,name,words",
    [
        (dict(cov_diag=np.array([1.0, 0.0, 1.0])), "cov_diag", "positive"),
        (dict(cov_diag=np.array([1.0, -2.0, 1.0])), "cov_diag", "positive"),
        (dict(cov_diag=np.array([1.0, np.nan, 1.0])), "cov_diag", "positive"),
        (dict(cov_diag=np.array([1.0, np.inf, 1.0])), "cov_diag", "finite"),
        (dict(cov_factor=np.array([[1.0], [np.nan], [0.0]])), "cov_factor", "finite"),
        (dict(cov_factor=np.array([[1.0], [np.inf], [0.0]])), "cov_factor", "finite"),
        (dict(loc=np.array([0.0, np.inf, 0.0])), "loc", "finite"),
        (dict(cov_factor=np.ones((2, 1))), "cov_factor", "(..., D, r)"),
        (dict(cov_factor=np.ones(3)), "cov_factor", "(..., D, r)"),
        (dict(cov_diag=np.ones(2)), "cov_diag", "(..., D)"),
        (dict(cov_diag=np.ones((3, 3))[0, 0]), "cov_diag", "(..., D)"),
        (dict(loc=0.0), "loc", "at least one dim"),
        (dict(loc=np.zeros((2, 3)), cov_factor=np.ones((4, 3, 1))), "cov_factor", "broadcast"),
    ],
)
def test_bad_parameters_raise_naming_the_parameter(kw, name, words):
    p = dict(loc=np.zeros(3), cov_factor=np.ones((3, 1)), cov_diag=np.ones(3))
    p.update(kw)
    with pytest.raises(ValueError) as e:
        LowRankMultivariateNormal(**p)
    msg = str(e.value)
    assert name in msg and words in msg, msg
    assert "shape" in msg, msg


def test_validate_args_false_skips_the_value_checks_not_the_shapes():
    d = LowRankMultivariateNormal(np.zeros(2), np.ones((2, 1)), np.array([1.0, np.inf]), validate_args=False)
    assert d.batch_shape == ()
    with pytest.raises(ValueError, match="cov_factor"):
        LowRankMultivariateNormal(np.zeros(2), np.ones((3, 1)), np.ones(2), validate_args=False)


def test_parameters_are_read_only_copies():
    loc, W, d = np.zeros(3), np.ones((3, 2)), np.ones(3)
    low = LowRankMultivariateNormal(loc, W, d)
    before = low.log_prob(np.ones(3))
    loc[0], W[0, 0], d[0] = 5.0, 9.0, 7.0
    assert low.log_prob(np.ones(3)) == before
    for a in (low.loc, low.cov_factor, low.cov_diag):
        assert not a.flags.writeable
        with pytest.raises(ValueError):
            a[...] = 0


def test_float32_in_float32_out():
    rng = np.random.default_rng(8)
    loc, W, d = (a.astype(np.float32) for a in params(rng, (3,), 4, 2))
    low = LowRankMultivariateNormal(loc, W, d)
    ref = LowRankMultivariateNormal(*(a.astype(np.float64) for a in (loc, W, d)))
    x = (rng.normal(size=(300, 3, 4)) * 2).astype(np.float32)
    lp = low.log_prob(x)
    assert lp.dtype == np.float32
    np.testing.assert_allclose(lp, ref.log_prob(x.astype(np.float64)), rtol=2e-5, atol=2e-5)
    for name in ("mean", "variance", "stddev", "covariance_matrix", "precision_matrix", "scale_tril"):
        assert np.asarray(getattr(low, name)).dtype == np.float32, name
    assert low.entropy().dtype == np.float32
    assert low.sample((5,), rng=0).dtype == np.float32
    # Python numbers follow the arrays
    assert LowRankMultivariateNormal(loc, W, 1.0 + np.zeros(4, np.float32)).dtype == np.float32


@pytest.mark.parametrize("ex", LOWRANK)
def test_dense_matrices(ex):
    d = ex.make()
    cov = ex.ref.covariance
    rt = 1e-12 if ex.dtype == np.float64 else 1e-5
    shape = ex.batch_shape + ex.event_shape * 2
    for name, want in (
        ("covariance_matrix", cov),
        ("precision_matrix", np.linalg.inv(cov)),
        ("scale_tril", np.linalg.cholesky(cov)),
    ):
        got = getattr(d, name)
        assert got.shape == shape and got.dtype == ex.dtype, name
        np.testing.assert_allclose(got, want, rtol=rt * 10, atol=rt * 10, err_msg=name)


def test_expand_keeps_the_class_and_values():
    rng = np.random.default_rng(1)
    loc, W, d = params(rng, (3,), 2, 1)
    low = LowRankMultivariateNormal(loc, W, d)
    e = low.expand((4, 3))
    assert type(e) is LowRankMultivariateNormal and e.batch_shape == (4, 3)
    assert e.cov_factor.shape == (4, 3, 2, 1)
    x = rng.normal(size=(4, 3, 2))
    np.testing.assert_array_equal(e.log_prob(x), low.log_prob(x))
    with pytest.raises(ValueError):
        low.expand((2,))
    assert e.support is low.support and repr(low.support) == repr(MultivariateNormal.support)
