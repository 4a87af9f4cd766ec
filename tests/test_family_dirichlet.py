"""Dirichlet: what the generic tests cannot know.

The boundary of the simplex (zeros with concentrations below, at and above 1,
the sum tolerance, NaN), concentrations below 1, tiny (1e-3) and large (1e3)
against scipy.stats.dirichlet, D = 2 against Beta, the sampler (KS of the
marginals against Beta, sums equal to 1, tiny concentrations not giving zero
rows, float32 draws equal to the rounded float64 ones), the CPU tile hooks
against the exact log-density, both tiling directions of the CPU loop, bad
parameters and float32.

False alarms: every p-value here is compared with ``ALPHA = 1e-6`` (fixed
seeds: the outcome is deterministic; for a fresh stream, fewer than 60
p-values give a false-alarm rate below 1e-4).
"""

import math
import os
import sys

import numpy as np
import pytest
from scipy import special, stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mixstat.distributions import Beta, Categorical, Dirichlet, MixtureSameFamily
from mixstat.kernels.families import dirichlet as fam

ALPHA = 1e-6
N = 20000


def ref_logpdf(x, a):
    """The formula in float64 (xlogy: 0 log 0 = 0), for points on the simplex."""
    x = np.asarray(x, np.float64)
    a = np.asarray(a, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = special.xlogy(a - 1, x)
        lb = special.gammaln(a).sum(-1) - special.gammaln(a.sum(-1))
        return np.where((t == -np.inf).any(-1), -np.inf, t.sum(-1) - lb)


# ------------------------------------------------------------------ boundary values
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_zero_coordinates(dtype):
    a = np.array([0.5, 1.0, 2.0], dtype)
    d = Dirichlet(a)
    x = np.array(
        [
            [0.0, 0.5, 0.5],  # a_0 < 1: +inf
            [0.5, 0.0, 0.5],  # a_1 = 1: 0 log 0 = 0, finite
            [0.5, 0.5, 0.0],  # a_2 > 1: -inf
            [0.0, 1.0, 0.0],  # +inf beside -inf: zero density wins
            [0.0, 0.0, 1.0],  # +inf and 0 log 0
        ],
        dtype,
    )
    lp = d.log_prob(x)
    assert lp.dtype == dtype
    assert lp[0] == np.inf and lp[2] == -np.inf and lp[3] == -np.inf and lp[4] == np.inf
    want = 0.5 * np.log(0.5) - (special.gammaln([0.5, 1.0, 2.0]).sum() - special.gammaln(3.5))
    assert lp[1] == pytest.approx(want, rel=1e-12 if dtype == np.float64 else 1e-6)
    # scipy agrees where it accepts zeros (a_i >= 1 there)
    assert lp[1] == pytest.approx(
        stats.dirichlet.logpdf(x[1].astype(np.float64), a.astype(np.float64)),
        rel=1e-12 if dtype == np.float64 else 1e-6,
    )
    np.testing.assert_allclose(lp, ref_logpdf(x, a), rtol=1e-12 if dtype == np.float64 else 1e-6)


def test_off_the_simplex_nan_and_tolerance():
    a = np.array([1.5, 2.0, 3.0])
    d = Dirichlet(a)
    x = np.array(
        [
            [-0.1, 0.6, 0.5],  # a negative entry
            [0.3, 0.3, 0.3],  # sum 0.9
            [0.2, 0.3, 0.5 + 2e-6],  # sum 1 + 2e-6: off (tolerance 1e-6)
            [0.2, 0.3, 0.5 + 5e-7],  # sum 1 + 5e-7: on, the formula at the point as given
            [np.nan, 0.5, 0.5],  # NaN
            [np.inf, 0.5, 0.5],
            [-np.inf, 0.5, 0.5],
            [np.nan, -1.0, 0.5],  # NaN wins over off-simplex
        ]
    )
    lp = d.log_prob(x)
    assert np.all(lp[[0, 1, 2, 5, 6]] == -np.inf)
    assert np.isnan(lp[4]) and np.isnan(lp[7])
    assert lp[3] == pytest.approx(ref_logpdf(x[3], a), rel=1e-13)
    # the support constraint uses the same tolerance
    ok = np.asarray(d.support.check(x))
    np.testing.assert_array_equal(ok, [False, False, False, True, False, False, False, False])
    dv = Dirichlet(a, validate_args=True)
    assert np.isfinite(dv.log_prob(x[3]))
    for row in (0, 1, 2, 4, 5):
        with pytest.raises(ValueError, match="simplex"):
            dv.log_prob(x[row])


@pytest.mark.parametrize("S", [12, 700])  # one tile; several tiles of the CPU loop
def test_special_points_inside_tiles_are_redone_exactly(S):
    """Boundary, subnormal, off-simplex and NaN points among ordinary ones: the tile marks them,
    the loop redoes them with the exact log-density."""
    rng = np.random.default_rng(1)
    a = np.array([[0.7, 1.0, 2.5], [1.0, 1.0, 1.0], [3.0, 2.0, 1.5]])
    w = np.array([0.2, 0.3, 0.5])
    x = rng.dirichlet([2.0, 2.0, 2.0], size=S)
    special_rows = np.array(
        [
            [0.0, 0.5, 0.5],
            [0.5, 0.0, 0.5],
            [0.5, 0.5, 0.0],
            [1e-310, 0.5, 0.5 - 1e-310],
            [0.3, 0.3, 0.3],
            [np.nan, 0.5, 0.5],
            [-0.5, 1.0, 0.5],
            [1.0, 0.0, 0.0],
        ]
    )
    x[: len(special_rows)] = special_rows
    m = MixtureSameFamily(Categorical(probs=w), Dirichlet(a))
    lp = m.log_prob(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.log(w) + ref_logpdf(x[:, None, :], a)
        want = special.logsumexp(terms, axis=-1)
    on = np.all(x >= 0, -1) & (np.abs(x.sum(-1) - 1) < 1e-6)
    want = np.where(np.isnan(x).any(-1), np.nan, np.where(on, want, -np.inf))
    np.testing.assert_allclose(lp, want, rtol=1e-13, atol=1e-13, equal_nan=True)
    assert lp[0] == np.inf  # one component with a_0 < 1 at x_0 = 0
    assert np.isfinite(lp[3])  # a subnormal coordinate: exact log


def test_batches_of_a_tile_or_more():
    """B >= 256 takes the loop's other direction (tiles along the batch)."""
    rng = np.random.default_rng(2)
    a = rng.uniform(0.5, 3.0, (300, 2, 4))
    w = rng.uniform(0.2, 1.0, (300, 2))
    m = MixtureSameFamily(Categorical(probs=w), Dirichlet(a))
    x = m.sample((3,), rng=3)
    x[0, 5] = [0.0, 0.5, 0.25, 0.25]
    lp = m.log_prob(x)
    with np.errstate(divide="ignore"):
        want = special.logsumexp(np.log(w / w.sum(-1, keepdims=True)) + ref_logpdf(x[:, :, None, :], a), -1)
    np.testing.assert_allclose(lp, want, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ against scipy
@pytest.mark.parametrize(
    "a",
    [
        [0.3, 0.5, 0.9],  # all below 1
        [0.05, 0.1, 0.2, 0.4],
        [1e-3, 1e-3, 2e-3],  # tiny
        [1e3, 2e3, 5e2],  # large
        [1.0, 1.0],  # uniform on the segment
        [2.0, 7.5, 1.0, 3.0, 0.8],
    ],
)
def test_against_scipy(a):
    a = np.array(a)
    d = Dirichlet(a)
    rng = np.random.default_rng(4)
    # points strictly inside the simplex that scipy accepts
    x = rng.dirichlet(np.maximum(a, 0.5), size=200)
    x = x / x.sum(-1, keepdims=True)
    keep = np.all(x > 0, -1) & (np.abs(x.sum(-1) - 1) <= 1e-10)
    x = x[keep]
    want = stats.dirichlet.logpdf(x.T, a)
    # large concentrations: the log-density is a difference of terms ~1e4 (so in scipy too)
    rel = 1e-12 if a.max() < 100 else 1e-10
    np.testing.assert_allclose(d.log_prob(x), want, rtol=rel, atol=rel)
    np.testing.assert_allclose(d.mean, stats.dirichlet.mean(a), rtol=1e-14)
    np.testing.assert_allclose(d.variance, stats.dirichlet.var(a), rtol=1e-13)
    np.testing.assert_allclose(d.entropy(), stats.dirichlet.entropy(a), rtol=1e-12, atol=1e-12)


def test_d2_is_beta():
    rng = np.random.default_rng(5)
    a, b = rng.uniform(0.3, 5.0, 4), rng.uniform(0.3, 5.0, 4)
    d = Dirichlet(np.stack([a, b], -1))
    beta = Beta(a, b)
    t = rng.uniform(0.001, 0.999, (50, 4))
    x = np.stack([t, 1.0 - t], -1)
    np.testing.assert_allclose(d.log_prob(x), beta.log_prob(t), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(d.log_prob(x), stats.beta.logpdf(t, a, b), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(d.mean[..., 0], beta.mean, rtol=1e-14)
    np.testing.assert_allclose(d.variance[..., 0], beta.variance, rtol=1e-14)
    np.testing.assert_allclose(d.entropy(), stats.beta.entropy(a, b), rtol=1e-12, atol=1e-12)
    s = d.sample((N,), rng=6)
    for j in range(4):
        assert stats.kstest(s[:, j, 0], stats.beta(a[j], b[j]).cdf).pvalue > ALPHA


def test_one_category_is_a_point_mass():
    d = Dirichlet(np.array([[0.5], [3.0]]))
    assert d.event_shape == (1,)
    np.testing.assert_allclose(d.log_prob(np.array([1.0])), [0.0, 0.0], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(d.log_prob(np.array([0.5])), [-np.inf, -np.inf])
    np.testing.assert_array_equal(d.sample((5,), rng=0), np.ones((5, 2, 1)))
    np.testing.assert_array_equal(d.mean, np.ones((2, 1)))
    np.testing.assert_array_equal(d.variance, np.zeros((2, 1)))
    np.testing.assert_allclose(d.entropy(), [0.0, 0.0], atol=1e-15)


# ------------------------------------------------------------------ sampler
@pytest.mark.parametrize("a", [[0.05, 0.1, 0.2], [0.5, 1.0, 2.0, 4.0], [1e3, 2e3, 5e2], [30.0, 0.7]])
def test_sampler_marginals_are_beta_and_rows_sum_to_one(a):
    a = np.array(a)
    d = Dirichlet(a)
    s = d.sample((N,), rng=7)
    assert s.shape == (N, a.size) and s.dtype == np.float64
    assert np.all(s >= 0) and np.all(s <= 1)
    assert np.abs(s.sum(-1) - 1).max() <= 4 * a.size * np.finfo(np.float64).eps
    a0 = a.sum()
    for i in range(a.size):
        assert stats.kstest(s[:, i], stats.beta(a[i], a0 - a[i]).cdf).pvalue > ALPHA, i
    # and the log-density at the draws is finite (no coordinate rounded to 0)
    assert np.all(np.isfinite(d.log_prob(s)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tiny_concentrations_do_not_give_zero_rows(dtype):
    """a = 1e-3: G_i underflows; the draw formed in log space still sums to 1, with nearly all
    of its mass on one vertex, vertex i chosen with probability about a_i / a_0."""
    a = np.array([1e-3, 1e-3, 2e-3], dtype)
    s = Dirichlet(a).sample((N,), rng=8)
    assert s.dtype == dtype
    assert np.all(np.isfinite(s)) and np.all(s >= 0)
    tol = 1e-12 if dtype == np.float64 else 1e-6
    assert np.abs(s.astype(np.float64).sum(-1) - 1).max() <= tol
    top = s.max(-1)
    assert np.mean(top > 0.99) > 0.98
    counts = np.bincount(s.argmax(-1), minlength=3)
    p = np.array([0.25, 0.25, 0.5])  # the limit a -> 0 (error O(a))
    assert stats.chisquare(counts, N * p).pvalue > ALPHA


def test_float32_draws_are_the_float64_draws_rounded():
    """The float32 row cannot keep log G between the two passes: they are drawn again from the
    same counters, so the draw is the float64 one rounded."""
    a32 = np.array([[0.3, 2.0, 5.0], [1e-3, 1.0, 40.0]], np.float32)
    s32 = Dirichlet(a32).sample((500,), rng=9)
    s64 = Dirichlet(a32.astype(np.float64)).sample((500,), rng=9)
    assert s32.dtype == np.float32
    np.testing.assert_array_equal(s32, s64.astype(np.float32))


def test_mixture_draws_use_only_the_chosen_component():
    a = np.array([[20.0, 1.0, 1.0], [1.0, 20.0, 1.0], [1.0, 1.0, 20.0]])
    w = np.array([0.2, 0.3, 0.5])
    m = MixtureSameFamily(Categorical(probs=w), Dirichlet(a))
    x, idx = m.sample((N,), rng=10, return_index=True)
    assert stats.chisquare(np.bincount(idx, minlength=3), N * w).pvalue > ALPHA
    for k in range(3):
        xk = x[idx == k]
        for i in range(3):
            assert stats.kstest(xk[:, i], stats.beta(a[k, i], a[k].sum() - a[k, i]).cdf).pvalue > ALPHA
    # the chosen component's draw uses the counter words of its coordinates only (not the
    # choice's block): the same values as that component drawn alone at the same positions
    alone = Dirichlet(a[2]).sample((N,), rng=10)
    sel = idx == 2
    assert sel.sum() > 1000
    np.testing.assert_array_equal(x[sel], alone[sel])


# ------------------------------------------------------------------ kernel hooks
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tile_hooks_match_the_exact_logpdf(dtype):
    rng = np.random.default_rng(11)
    D, K, L = 4, 3, 40
    a = rng.uniform(0.3, 4.0, (K, D))
    tab = fam.pack(a, dtype)[None]  # (1, K, P)
    x = rng.dirichlet(np.ones(D), size=L).astype(dtype)
    x[0] = [0.0, 0.2, 0.3, 0.5]
    x[1] = [0.2, 0.2, 0.2, 0.2]
    x[2] = [np.nan, 0.2, 0.3, 0.5]
    x[3] = [-0.1, 0.3, 0.3, 0.5]
    xt = np.ascontiguousarray(x.T)[:, None, :].copy()  # (D, 1, L): the CPU tile layout
    w = np.empty(L, dtype)
    fam.prep_tile(xt, L, w)
    x3 = x[:, None, :]  # (S, B=1, D)
    t = np.empty(L, dtype)
    y = np.empty(L, dtype)
    rel = 1e-13 if dtype == np.float64 else 2e-6
    for k in range(K):
        fam.logpdf_tile(xt, L, tab, 0, k, t, y)
        exact = np.array([fam.logpdf(x3, i, 0, tab, k) for i in range(L)])
        assert np.all(np.isnan(t[:4]))  # marked: the loop redoes them exactly
        np.testing.assert_allclose(t[4:], exact[4:], rtol=rel, atol=rel)
        assert exact[1] == -np.inf and np.isnan(exact[2]) and exact[3] == -np.inf
        b = fam.bound(tab, 0, k)
        assert np.all(~(exact[4:] > b))


def test_bound_is_at_the_mode_and_infinite_below_one():
    a = np.array([[2.0, 3.0, 5.0], [1.0, 1.0, 1.0], [1.0, 2.0, 1.0], [0.9, 2.0, 3.0]])
    tab = fam.pack(a, np.float64)
    b = tab[:, -1]
    mode = np.array([1.0, 2.0, 4.0]) / 7.0
    assert b[0] == pytest.approx(stats.dirichlet.logpdf(mode, a[0]), rel=1e-5)
    assert b[0] >= stats.dirichlet.logpdf(mode, a[0])
    assert b[1] >= math.log(2.0) and b[1] == pytest.approx(math.log(2.0), rel=1e-5)  # 1 / B = Gamma(3)
    assert b[2] >= ref_logpdf([0.0, 1.0, 0.0], a[2])
    assert b[3] == np.inf


# ------------------------------------------------------------------ parameters, dtypes
@pytest.mark.parametrize(
    "bad, what",
    [
        (np.array([1.0, 0.0, 2.0]), "concentration of shape \\(3,\\)"),
        (np.array([[1.0, -1.0], [1.0, 1.0]]), "concentration of shape \\(2, 2\\)"),
        (np.array([1.0, np.nan]), "concentration"),
        (np.array([1.0, np.inf]), "concentration"),
        (np.array(2.0), "at least one dim"),
        (np.ones((3, 0)), "at least 1 category"),
        ([[1.0, 2.0], [3.0]], "concentration"),
    ],
)
def test_bad_parameters(bad, what):
    with pytest.raises(ValueError, match=what):
        Dirichlet(bad)


def test_bad_parameter_message_names_the_constraint():
    with pytest.raises(ValueError, match="positive"):
        Dirichlet(np.array([1.0, -2.0]))


def test_parameters_are_read_only_copies():
    a = np.array([1.0, 2.0, 3.0])
    d = Dirichlet(a)
    a[0] = 100.0
    assert d.concentration[0] == 1.0
    with pytest.raises(ValueError):
        d.concentration[0] = 5.0
    e = d.expand((4, 2))
    assert type(e) is Dirichlet and e.batch_shape == (4, 2) and e.concentration.shape == (4, 2, 3)
    np.testing.assert_allclose(e.mean, np.broadcast_to(d.mean, (4, 2, 3)))


def test_float32_in_float32_out():
    a = np.array([[0.7, 1.5, 3.0], [2.0, 2.0, 2.0]], np.float32)
    d = Dirichlet(a)
    x = d.sample((100,), rng=12)
    assert x.dtype == np.float32
    assert np.all(np.asarray(d.support.check(x)))
    lp = d.log_prob(x)
    assert lp.dtype == np.float32
    np.testing.assert_allclose(lp, ref_logpdf(x.astype(np.float64), a.astype(np.float64)), rtol=1e-5, atol=1e-5)
    for name in ("mean", "variance", "stddev"):
        assert np.asarray(getattr(d, name)).dtype == np.float32
    assert d.entropy().dtype == np.float32
    # float64 values: float64 results
    assert d.log_prob(x.astype(np.float64)).dtype == np.float64


def test_no_numpy_warnings_on_valid_input():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = Dirichlet(np.array([[1e-3, 0.5, 1.0], [1.0, 1.0, 1.0]]))
        x = d.sample((10,), rng=13)
        d.log_prob(x)
        d.log_prob(np.array([0.0, 0.5, 0.5]))
        d.mean, d.variance, d.entropy()


def test_value_shape_and_support_checks():
    d = Dirichlet(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"value of shape \(4,\) does not end with event_shape \(3,\)"):
        d.log_prob(np.full(4, 0.25))
    with pytest.raises(ValueError, match="does not broadcast"):
        d.log_prob(np.full((3, 3), 1 / 3))
    m = MixtureSameFamily(Categorical(probs=np.ones(2)), Dirichlet(np.ones((2, 3))), validate_args=True)
    assert np.isfinite(m.log_prob(np.full(3, 1 / 3)))
    with pytest.raises(ValueError, match="support"):
        m.log_prob(np.array([0.5, 0.5, 0.5]))
    with pytest.raises(NotImplementedError):
        d.cdf(np.full(3, 1 / 3))
