"""Generic tests, parametrised over every example of the registry (``tests/registry.py``).

Each test compares mixstat against the NumPy/SciPy reference of the example
(``tests/reference.py``) or against a shape/dtype written down in the registry;
nothing expected here is computed by mixstat itself.

Tolerances
----------
* Values (``log_prob``, ``prob``, ``cdf``, closed-form moments, entropy):
  ``rtol = atol = 1e-12`` for float64 examples and ``1e-5`` for float32 ones.
  The absolute part only matters near zero: an absolute error of 1e-12 in a
  log-density is a relative error of 1e-12 in the density.
* Monte Carlo moments: ``N_MC = 20000`` draws per batch entry; the sample mean
  must lie within ``Z_MC = 6`` standard errors ``sqrt(var / N)`` of the
  closed-form mean (``var`` from the reference), and the sample variance within
  6 standard errors ``sqrt((m4 - s^4) / N)`` (``m4``: the sample fourth central
  moment) of the closed-form variance.  With fixed seeds the outcome is
  deterministic; for a fresh stream, a two-sided 6-sigma bound is exceeded with
  probability about 2e-9 per comparison (< 1e-5 over all comparisons here).
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import registry as reg

import mixstat

ALL = reg.examples()
# "no-cdf": a family without a cdf (VonMises, as in torch); "no-moments": heavy tails
# whose mean or variance is not finite (Cauchy), where Monte Carlo moments mean nothing
UNIVARIATE = reg.examples(lambda e: e.event_shape == () and "no-cdf" not in e.tags)
NO_CDF = reg.examples(lambda e: "no-cdf" in e.tags)
MULTIVARIATE = reg.examples(lambda e: e.event_shape != ())
CONTINUOUS = reg.examples(lambda e: not e.discrete and "no-moments" not in e.tags)
MIXTURES = reg.examples(lambda e: e.is_mixture)
WITH_ENTROPY = reg.examples(lambda e: e.has_entropy)
# univariate mixtures have a quadrature entropy (tests/test_information.py); the rest raise
WITHOUT_ENTROPY = reg.examples(lambda e: not e.has_entropy and not (e.is_mixture and e.event_shape == ()))

N_MC = 20000
Z_MC = 6.0


def tol(dtype):
    r = 1e-12 if np.dtype(dtype) == np.float64 else 1e-5
    return dict(rtol=r, atol=r)


def assert_close(actual, expected, dtype, shape=None, what=""):
    actual = np.asarray(actual)
    if shape is not None:
        assert actual.shape == tuple(shape), f"{what}: shape {actual.shape} != {tuple(shape)}"
    np.testing.assert_allclose(actual, expected, equal_nan=True, err_msg=what, **tol(dtype))


def expected_sample_dtype(ex):
    return np.dtype(np.int64) if ex.discrete else ex.dtype


def n_categories(ex):
    """Discrete: the cells of the reference's pmf table (categories; count families: up to a
    high quantile, see ``tests/reference.py``)."""
    ref = ex.ref.component if ex.is_mixture else ex.ref
    return ref.n_cells


def make_values(ex, lead, *, seed=0, first_batch_one=False, full_batch=False):
    """Points (in ``ex.dtype``) of shape ``lead + (1 or batch) + event``, chosen with NumPy only.

    ``full_batch``: the value has every batch dim, with size-1 batch dims
    replaced by 2 (the value broadcasts the distribution, as in torch).

    Continuous: spread around the components; discrete: integers from -1 to C
    (out of support at both ends) plus a non-integer.
    """
    rng = np.random.default_rng(seed)
    batch = ex.batch_shape
    if full_batch:
        bshape = tuple(2 if s == 1 else s for s in batch)
    elif first_batch_one and batch:
        bshape = (1,) + batch[1:]
    else:
        bshape = (1,) * len(batch)
    shape = tuple(lead) + bshape + ex.event_shape
    if ex.discrete:
        C = n_categories(ex)
        v = rng.integers(-1, C + 1, size=shape).astype(ex.dtype)
        v.reshape(-1)[0] = 0.5  # non-integer: zero mass, cdf of floor
        return v
    return (rng.normal(size=shape) * 3.0 + 1.5).astype(ex.dtype)


# ------------------------------------------------------------------ shapes
@pytest.mark.parametrize("ex", ALL)
def test_registry_reference_agrees_with_stated_shapes(ex):
    assert ex.ref.batch_shape == ex.batch_shape
    assert tuple(ex.ref.event_shape) == ex.event_shape


@pytest.mark.parametrize("ex", ALL)
def test_batch_and_event_shape(ex):
    d = ex.make()
    assert d.batch_shape == ex.batch_shape
    assert d.event_shape == ex.event_shape
    assert isinstance(d.batch_shape, tuple) and isinstance(d.event_shape, tuple)


@pytest.mark.parametrize("sample_shape", [(), (5,), (2, 3), 4, (0,)], ids=str)
@pytest.mark.parametrize("ex", ALL)
def test_sample_shape_and_dtype(ex, sample_shape):
    d = ex.make()
    x = d.sample(sample_shape, rng=1)
    ss = (sample_shape,) if isinstance(sample_shape, int) else sample_shape
    assert isinstance(x, np.ndarray)
    assert x.shape == ss + ex.batch_shape + ex.event_shape
    assert x.dtype == expected_sample_dtype(ex)


@pytest.mark.parametrize("ex", ALL)
def test_sample_default_shape_is_one_draw(ex):
    d = ex.make()
    x = d.sample()
    assert x.shape == ex.batch_shape + ex.event_shape
    assert x.dtype == expected_sample_dtype(ex)


@pytest.mark.parametrize("ex", ALL)
def test_samples_lie_in_support_with_positive_density(ex):
    d = ex.make()
    x = d.sample((200,), rng=2)
    assert np.all(np.asarray(d.support.check(x)))
    lp = ex.ref.log_prob(x)
    assert np.all(np.isfinite(lp)), "a sample has zero reference density (e.g. a zero-weight category)"
    if ex.discrete:
        assert np.all((x >= 0) & (x <= ex.ref.support_max))


@pytest.mark.parametrize("ex", ALL)
def test_arg_constraints_hold(ex):
    d = ex.make()
    for name, c in d.arg_constraints.items():
        assert np.all(np.asarray(c.check(np.asarray(getattr(d, name))))), name


# ------------------------------------------------------------------ densities
@pytest.mark.parametrize("sample_shape", [(), (5,), (2, 3)], ids=str)
@pytest.mark.parametrize("ex", ALL)
def test_log_prob_at_samples(ex, sample_shape):
    d = ex.make()
    x = d.sample(sample_shape, rng=3)
    want = ex.ref.log_prob(x)
    lp = d.log_prob(x)
    out_shape = sample_shape + ex.batch_shape
    assert lp.dtype == ex.dtype
    assert_close(lp, want, ex.dtype, out_shape, "log_prob")
    p = d.prob(x)
    assert p.dtype == ex.dtype
    assert_close(p, np.exp(want), ex.dtype, out_shape, "prob")


@pytest.mark.parametrize("variant", ["lead5-ones", "lead5-first-one", "lead5-full-batch", "event-only", "lead2x3"])
@pytest.mark.parametrize("ex", ALL)
def test_log_prob_broadcast_values(ex, variant):
    d = ex.make()
    if variant == "lead5-ones":
        v = make_values(ex, (5,))
    elif variant == "lead5-first-one":
        v = make_values(ex, (5,), first_batch_one=True)
    elif variant == "lead5-full-batch":
        v = make_values(ex, (5,), full_batch=True)
    elif variant == "event-only":
        v = make_values(ex, ())[(0,) * len(ex.batch_shape)]
    else:
        v = make_values(ex, (2, 3))
    vb = v.shape[: v.ndim - len(ex.event_shape)]
    out_shape = np.broadcast_shapes(vb, ex.batch_shape)
    want = ex.ref.log_prob(v)
    lp = d.log_prob(v)
    assert lp.dtype == ex.dtype
    assert_close(lp, want, ex.dtype, out_shape, "log_prob")
    assert_close(d.prob(v), np.exp(want), ex.dtype, out_shape, "prob")


@pytest.mark.parametrize("ex", reg.examples(lambda e: e.dtype == np.float64))
def test_float64_stays_float64_with_float32_values(ex):
    d = ex.make()
    v = make_values(ex, (3,)).astype(np.float32)
    lp = d.log_prob(v)
    assert lp.dtype == np.float64
    assert_close(lp, ex.ref.log_prob(v), np.float64, (3,) + ex.batch_shape, "log_prob")


@pytest.mark.parametrize("variant", ["samples", "lead5-ones", "lead2x3-first-one", "lead5-full-batch"])
@pytest.mark.parametrize("ex", UNIVARIATE)
def test_cdf(ex, variant):
    d = ex.make()
    if variant == "samples":
        v = d.sample((4,), rng=4)
    elif variant == "lead5-ones":
        v = make_values(ex, (5,))
    elif variant == "lead2x3-first-one":
        v = make_values(ex, (2, 3), first_batch_one=True, seed=1)
    else:
        v = make_values(ex, (5,), full_batch=True, seed=2)
    out_shape = np.broadcast_shapes(v.shape, ex.batch_shape)
    c = d.cdf(v)
    assert c.dtype == ex.dtype
    assert_close(c, ex.ref.cdf(v), ex.dtype, out_shape, "cdf")


@pytest.mark.parametrize("ex", UNIVARIATE)
def test_cdf_limits(ex):
    """Far below and far above every component: the reference's cdf there (0 and 1 for light
    tails, ~3e-7 from 0 and 1 for a Cauchy), and exactly 0 and 1 at -inf and +inf."""
    d = ex.make()
    lo = np.full((1,) * len(ex.batch_shape), -1e6, dtype=ex.dtype)
    hi = np.full((1,) * len(ex.batch_shape), 1e6, dtype=ex.dtype)
    assert_close(d.cdf(lo), np.broadcast_to(ex.ref.cdf(lo), ex.batch_shape), ex.dtype, ex.batch_shape, "cdf(-1e6)")
    assert_close(d.cdf(hi), np.broadcast_to(ex.ref.cdf(hi), ex.batch_shape), ex.dtype, ex.batch_shape, "cdf(1e6)")
    ninf = np.full((1,) * len(ex.batch_shape), -np.inf, dtype=ex.dtype)
    np.testing.assert_array_equal(d.cdf(ninf), np.zeros(ex.batch_shape))
    np.testing.assert_array_equal(d.cdf(-ninf), np.ones(ex.batch_shape))


@pytest.mark.parametrize("ex", NO_CDF)
def test_cdf_not_defined_for_families_without_one(ex):
    d = ex.make()
    with pytest.raises(NotImplementedError):
        d.cdf(np.zeros(ex.event_shape, dtype=ex.dtype))


@pytest.mark.parametrize("ex", MULTIVARIATE)
def test_cdf_not_defined_for_vector_events(ex):
    d = ex.make()
    with pytest.raises(NotImplementedError):
        d.cdf(np.zeros(ex.event_shape, dtype=ex.dtype))


# ------------------------------------------------------------------ moments
@pytest.mark.parametrize("ex", ALL)
def test_mean_variance_stddev_closed_form(ex):
    d = ex.make()
    shape = ex.batch_shape + ex.event_shape
    for name in ("mean", "variance", "stddev"):
        got = np.asarray(getattr(d, name))
        assert got.dtype == ex.dtype, name
        assert_close(got, getattr(ex.ref, name), ex.dtype, shape, name)


@pytest.mark.parametrize("ex", reg.examples(lambda e: e.family == "mvn"))
def test_mvn_matrices(ex):
    d = ex.make()
    D = ex.event_shape[0]
    shape = ex.batch_shape + (D, D)
    cov = ex.ref.covariance
    assert_close(d.covariance_matrix, cov, ex.dtype, shape, "covariance_matrix")
    assert_close(d.precision_matrix, np.linalg.inv(cov), ex.dtype, shape, "precision_matrix")
    assert_close(d.scale_tril, np.linalg.cholesky(cov), ex.dtype, shape, "scale_tril")


@pytest.mark.parametrize("ex", WITH_ENTROPY)
def test_entropy(ex):
    d = ex.make()
    e = d.entropy()
    assert e.dtype == ex.dtype
    assert_close(e, ex.ref.entropy(), ex.dtype, ex.batch_shape, "entropy")


@pytest.mark.parametrize("ex", WITHOUT_ENTROPY)
def test_mixture_entropy_not_closed_form(ex):
    with pytest.raises(NotImplementedError, match="estimate_entropy" if ex.is_mixture else None):
        ex.make().entropy()


@pytest.mark.parametrize("ex", CONTINUOUS)
def test_mean_variance_monte_carlo(ex):
    """Sample moments within ``Z_MC`` standard errors of the closed-form (reference) ones."""
    d = ex.make()
    x = d.sample((N_MC,), rng=5).astype(np.float64)
    mu, var = ex.ref.mean, ex.ref.variance
    m = x.mean(0)
    se_mean = np.sqrt(var / N_MC)
    z = np.abs(m - mu) / se_mean
    assert np.all(z <= Z_MC), f"sample mean off by {z.max():.2f} standard errors"
    c = x - m
    s2 = (c**2).mean(0)
    m4 = (c**4).mean(0)
    se_var = np.sqrt((m4 - s2**2) / N_MC)
    z = np.abs(s2 - var) / se_var
    assert np.all(z <= Z_MC), f"sample variance off by {z.max():.2f} standard errors"


# ------------------------------------------------------------------ expand
def _expanded_shape(batch):
    """A new leading dim of 2, and size-1 batch dims expanded to 2."""
    return (2,) + tuple(2 if s == 1 else s for s in batch)


@pytest.mark.parametrize("ex", ALL)
def test_expand(ex):
    d = ex.make()
    new = _expanded_shape(ex.batch_shape)
    e = d.expand(new)
    ref = ex.ref.expand(new)
    assert e.batch_shape == new
    assert e.event_shape == ex.event_shape
    assert type(e) is type(d)
    shape = new + ex.event_shape
    for name in ("mean", "variance"):
        assert_close(getattr(e, name), getattr(ref, name), ex.dtype, shape, name)
    v = make_values(ex, (3,))
    v = v.reshape((3, 1) + v.shape[1:])  # (3, 1, 1.., *event) against the new batch (2, *batch)
    assert_close(e.log_prob(v), ref.log_prob(v), ex.dtype, (3,) + new, "log_prob")
    if ex.event_shape == () and "no-cdf" not in ex.tags:
        assert_close(e.cdf(v), ref.cdf(v), ex.dtype, (3,) + new, "cdf")
    x = e.sample((4,), rng=6)
    assert x.shape == (4,) + new + ex.event_shape
    assert x.dtype == expected_sample_dtype(ex)
    assert_close(e.log_prob(x), ref.log_prob(x), ex.dtype, (4,) + new, "log_prob at samples")
    # the copies along the new dim are independent draws, not one draw repeated
    if not _degenerate(ex):
        x = e.sample((50,), rng=7)
        assert not np.array_equal(x[:, 0], x[:, 1])


@pytest.mark.parametrize("ex", reg.examples(lambda e: e.batch_shape != ()))
def test_expand_to_incompatible_shape_raises(ex):
    i = max(j for j, s in enumerate(ex.batch_shape) if s != 1)  # a dim that cannot grow
    bad = ex.batch_shape[:i] + (ex.batch_shape[i] + 1,) + ex.batch_shape[i + 1 :]
    with pytest.raises(ValueError):
        ex.make().expand(bad)


# ------------------------------------------------------------------ seeds
def _degenerate(ex):
    """Categorical with one category: every draw is 0, whatever the seed."""
    return ex.family == "categorical" and "K1" in ex.tags


@pytest.mark.parametrize("ex", ALL)
def test_same_int_seed_gives_identical_samples(ex):
    d = ex.make()
    a = d.sample((50,), rng=123)
    b = d.sample((50,), rng=123)
    c = ex.make().sample((50,), rng=123)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("ex", ALL)
def test_different_seeds_give_different_samples(ex):
    d = ex.make()
    a = d.sample((50,), rng=123)
    b = d.sample((50,), rng=124)
    if _degenerate(ex):
        assert np.all(a == 0) and np.all(b == 0)
    else:
        assert not np.array_equal(a, b)


@pytest.mark.parametrize("ex", ALL)
def test_manual_seed_then_sample_equals_int_seed(ex):
    d = ex.make()
    mixstat.manual_seed(77)
    a1 = d.sample((2, 3))
    a2 = d.sample((2, 3))
    np.testing.assert_array_equal(a1, d.sample((2, 3), rng=77))
    mixstat.manual_seed(77)
    np.testing.assert_array_equal(d.sample((2, 3)), a1)
    np.testing.assert_array_equal(d.sample((2, 3)), a2)
    if not _degenerate(ex):
        # the default source advances between calls
        mixstat.manual_seed(78)
        big1 = d.sample((50,))
        big2 = d.sample((50,))
        assert not np.array_equal(big1, big2)


@pytest.mark.parametrize("ex", ALL)
def test_numpy_generator_reproducible(ex):
    d = ex.make()
    g1, g2 = np.random.default_rng(2024), np.random.default_rng(2024)
    a1, a2 = d.sample((50,), rng=g1), d.sample((50,), rng=g1)
    b1, b2 = d.sample((50,), rng=g2), d.sample((50,), rng=g2)
    np.testing.assert_array_equal(a1, b1)
    np.testing.assert_array_equal(a2, b2)
    if not _degenerate(ex):
        assert not np.array_equal(a1, a2)  # the generator advances


@pytest.mark.parametrize("ex", ALL)
def test_draws_are_a_function_of_seed_and_position(ex):
    """``_rng``: the draws of one call are a pure function of (key, flat position)."""
    d = ex.make()
    a = d.sample((6,), rng=9)
    np.testing.assert_array_equal(d.sample((2, 3), rng=9), a.reshape((2, 3) + a.shape[1:]))
    np.testing.assert_array_equal(d.sample((4,), rng=9), a[:4])


@pytest.mark.parametrize("ex", ALL)
def test_samples_do_not_depend_on_thread_count(ex):
    import numba

    d = ex.make()
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        a = d.sample((64,), rng=10)
    finally:
        numba.set_num_threads(old)
    np.testing.assert_array_equal(d.sample((64,), rng=10), a)


@pytest.mark.parametrize("ex", MIXTURES)
def test_return_index(ex):
    d = ex.make()
    x = d.sample((40,), rng=11)
    x2, idx = d.sample((40,), rng=11, return_index=True)
    np.testing.assert_array_equal(x, x2)
    assert idx.shape == (40,) + ex.batch_shape
    assert idx.dtype == np.int64
    K = ex.ref.K
    assert np.all((idx >= 0) & (idx < K))
    w = np.broadcast_to(ex.ref.weights, (40,) + ex.batch_shape + (K,))
    chosen = np.take_along_axis(w, idx[..., None], -1)[..., 0]
    assert np.all(chosen > 0), "a zero-weight component was chosen"
    if K == 1:
        assert np.all(idx == 0)
