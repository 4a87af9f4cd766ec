"""Regression tests for the defects found by trying mixstat as a new user would (one test per item).

References are SciPy / NumPy / closed forms; each test failed before its fix.
"""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from scipy import special, stats

import mixstat
from mixstat.distributions import Categorical, Independent, MixtureSameFamily, MultivariateNormal, Normal


def _ref_logpdf(x, loc, scale):
    # exact for subnormal scales: z = (x - loc) / scale in float64 is exact-rounded
    z = (np.float64(x) - loc) / scale
    return -0.5 * z * z - np.log(scale) - 0.5 * np.log(2 * np.pi)


@pytest.mark.parametrize("scale", [1e-310, 5e-324 * 3, 2.2e-308, 1e-300])
def test_1_subnormal_scale_log_prob_and_cdf(scale):
    for x in (scale, 0.0, -2 * scale, 7 * scale):
        np.testing.assert_allclose(Normal(0.0, scale).log_prob(x), _ref_logpdf(x, 0.0, scale), rtol=1e-13)
    assert Normal(0.0, scale).cdf(0.0) == 0.5
    np.testing.assert_allclose(Normal(0.0, scale).cdf(scale), stats.norm.cdf(1.0), rtol=1e-13)
    d = Independent(Normal(np.zeros(2), scale), 1)
    np.testing.assert_allclose(d.log_prob(np.full(2, scale)), 2 * _ref_logpdf(scale, 0.0, scale), rtol=1e-13)
    m = MixtureSameFamily(Categorical(probs=[0.5, 0.5]), Normal(np.zeros(2), np.array([scale, 1.0])))
    want = np.logaddexp(np.log(0.5) + _ref_logpdf(scale, 0, scale), np.log(0.5) + _ref_logpdf(scale, 0, 1.0))
    np.testing.assert_allclose(m.log_prob(scale), want, rtol=1e-13)
    np.testing.assert_allclose(m.cdf(0.0), 0.5, rtol=1e-15)


def test_1_subnormal_scale_float32():
    d = Normal(np.float32(0), np.float32(1e-40))
    lp = d.log_prob(np.float32(1e-40))
    assert lp.dtype == np.float32
    s = np.float64(np.float32(1e-40))
    np.testing.assert_allclose(lp, _ref_logpdf(np.float64(np.float32(1e-40)), 0.0, s), rtol=2e-6)
    assert d.cdf(np.float32(0)) == 0.5


@pytest.mark.parametrize("scale", [1.4e300, 1e305, 1.7e308])
def test_2_huge_scale_cdf(scale):
    assert Normal(0.0, scale).cdf(0.0) == 0.5
    np.testing.assert_allclose(Normal(0.0, scale).cdf(-scale), stats.norm.cdf(-1.0), rtol=1e-13)
    m = MixtureSameFamily(Categorical(probs=[0.5, 0.5]), Normal(np.zeros(2), np.array([scale, 1.0])))
    assert m.cdf(0.0) == 0.5


def test_3_mvn_subnormal_scale_tril():
    d = MultivariateNormal(np.zeros(2), scale_tril=1e-310 * np.eye(2))
    np.testing.assert_allclose(d.log_prob(np.zeros(2)), -2 * np.log(1e-310) - np.log(2 * np.pi), rtol=1e-13)
    x = np.array([1e-310, -2e-310])
    want = _ref_logpdf(1e-310, 0, 1e-310) + _ref_logpdf(-2e-310, 0, 1e-310)
    np.testing.assert_allclose(d.log_prob(x), want, rtol=1e-13)
    m = MixtureSameFamily(
        Categorical(probs=[0.5, 0.5]),
        MultivariateNormal(np.zeros((2, 2)), scale_tril=np.stack([1e-310 * np.eye(2), np.eye(2)])),
    )
    np.testing.assert_allclose(m.log_prob(x), np.log(0.5) + want, rtol=1e-13)


def test_4_zero_weight_component_adds_nothing_to_moments():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = MixtureSameFamily(Categorical(probs=[1.0, 0.0]), Normal(np.array([0.0, 1e308]), np.array([1.0, 1e300])))
        assert m.mean == 0.0 and m.variance == 1.0 and m.stddev == 1.0
        m = MixtureSameFamily(
            Categorical(logits=[0.0, -np.inf]), Independent(Normal(np.array([[0.0, 1.0], [1e308, -1e308]]), 1.0), 1)
        )
        np.testing.assert_array_equal(m.mean, [0.0, 1.0])
        np.testing.assert_array_equal(m.variance, [1.0, 1.0])


def test_5_size_zero_event():
    d = Independent(Normal(np.zeros((3, 0)), 1.0), 1)
    lp = d.log_prob(np.zeros((2, 3, 0)))
    assert lp.shape == (2, 3) and np.all(lp == 0)
    m = MixtureSameFamily(Categorical(probs=[0.5, 0.5]), Independent(Normal(np.zeros((2, 0)), 1.0), 1))
    assert m.event_shape == (0,)
    np.testing.assert_array_equal(m.log_prob(np.zeros((4, 0))), np.zeros(4))
    assert m.sample((3,), rng=0).shape == (3, 0)
    s, idx = m.sample((5,), rng=0, return_index=True)
    assert s.shape == (5, 0) and idx.shape == (5,) and set(idx) <= {0, 1}


def test_6_generic_path_size_zero_batch():
    inner = MixtureSameFamily(Categorical(probs=np.ones((2, 2))), Normal(np.zeros((2, 2)), 1.0))
    m = MixtureSameFamily(Categorical(probs=np.ones(2)), inner)
    assert m.log_prob(np.zeros((0,))).shape == (0,)
    assert m.cdf(np.zeros((0,))).shape == (0,)
    m0 = MixtureSameFamily(Categorical(probs=np.ones((0, 2))), Normal(np.zeros((0, 2)), 1.0))
    assert m0.log_prob(0.0).shape == (0,)


def test_7_expand_keeps_subclasses():
    class MyIndependent(Independent):
        pass

    class MyMixture(MixtureSameFamily):
        pass

    e = MyIndependent(Normal(np.zeros((1, 3)), 1.0), 1).expand((4,))
    assert type(e) is MyIndependent and e.batch_shape == (4,)
    m = MyMixture(Categorical(probs=[0.5, 0.5]), Normal(np.zeros(2), 1.0)).expand((4,))
    assert type(m) is MyMixture and m.batch_shape == (4,)
    np.testing.assert_allclose(m.log_prob(0.0), stats.norm.logpdf(0.0) * np.ones(4), rtol=1e-13)


def test_8_parameters_are_owned_copies():
    loc = np.zeros(3)
    d = Normal(loc, 1.0)
    before = d.log_prob(0.0)
    loc[0] = 100.0
    np.testing.assert_array_equal(d.mean, 0.0)
    np.testing.assert_array_equal(d.log_prob(0.0), before)
    scale = np.ones(3)
    d = Normal(0.0, scale)
    scale[0] = -1.0
    assert np.all(np.isfinite(d.log_prob(0.0)))
    with pytest.raises(ValueError):
        d.loc[0] = 1.0  # read-only
    ro = np.ones(3)
    ro.flags.writeable = False
    assert np.shares_memory(Normal(0.0, ro).scale, ro)  # already read-only: no copy
    view = np.broadcast_to(np.ones(3), (3,))  # read-only view of a writable array: copied
    assert not np.shares_memory(Normal(0.0, view).scale, view)
    mloc = np.zeros(2)
    mvn = MultivariateNormal(mloc, covariance_matrix=np.eye(2))
    mloc[0] = 5.0
    np.testing.assert_array_equal(mvn.mean, 0.0)


def test_9_categorical_logits_many_categories():
    code = (
        "import numpy as np, resource\nfrom mixstat.distributions import Categorical\n"
        "c = Categorical(logits=np.zeros(10**7))\nprint(float(c.log_prob(3)))\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lp, rss_kb = r.stdout.split()
    np.testing.assert_allclose(float(lp), -np.log(1e7), rtol=1e-13)
    assert int(rss_kb) < 2_000_000  # the input is 80 MB; 4 KB per category was 40 GB


def _kde(K, scale, rng, dtype=np.float64):
    loc = rng.normal(size=K)
    return loc, MixtureSameFamily(
        Categorical(probs=np.ones(K, dtype)), Normal(loc.astype(dtype), np.asarray(scale, dtype))
    )


@pytest.mark.parametrize("scale", [0.1, 1e-3])
def test_10_kde_cdf_matches_scipy(scale):
    """Item 10: a shared mixture with many components takes the sorted, tiled path (K >= 128);
    its cdf matches SciPy's through the bulk and into both tails."""
    rng = np.random.default_rng(10)
    loc, kde = _kde(300, scale, rng)
    x = np.concatenate([rng.normal(size=3000) * 1.5, np.linspace(-6.5, 6.5, 500), [-np.inf, np.inf]])
    got = kde.cdf(x)
    want = special.ndtr((x[:, None] - loc) / scale).mean(axis=1)
    # far lower tail: z = (x - loc) / scale rounded once costs z**2 eps relative; mpmath there
    import mpmath

    mpmath.mp.dps = 30
    for i in np.flatnonzero(want < 1e-20):
        if np.isfinite(x[i]):
            want[i] = float(
                sum(mpmath.ncdf((mpmath.mpf(x[i]) - mpmath.mpf(m)) / mpmath.mpf(scale)) for m in loc) / loc.size
            )
    np.testing.assert_allclose(got, want, rtol=2e-13, atol=0)
    assert got[-2] == 0 and got[-1] == 1


def test_10_kde_cdf_same_bits_on_every_path():
    """Each point's cdf is the same, bit for bit, whether it is evaluated among sorted
    neighbours (tiled hook, tails skipped), alone, or beside a NaN (the plain SIMD loop)."""
    rng = np.random.default_rng(11)
    for dtype in (np.float64, np.float32):
        loc, kde = _kde(500, 0.05, rng, dtype)
        x = (rng.normal(size=2000) * 1.5).astype(dtype)
        together = kde.cdf(x)
        for i in range(0, x.size, 97):
            alone = kde.cdf(x[i : i + 1])[0]
            beside_nan = kde.cdf(np.array([x[i], np.nan], dtype))
            assert together[i] == alone == beside_nan[0], (dtype, i)
            assert np.isnan(beside_nan[1])
        # batched mixtures (B > 1) take the plain loop: the same values again
        batched = MixtureSameFamily(
            Categorical(probs=np.ones((2, loc.size), dtype)),
            Normal(np.broadcast_to(loc.astype(dtype), (2, loc.size)), np.asarray(0.05, dtype)),
        )
        np.testing.assert_array_equal(batched.cdf(x[:, None])[:, 0], together)


def _tile_regions(x, loc, scale, tile):
    """How many (tile, component) pairs of the sorted cdf path lie wholly in each region of
    the erfc (|z| < 0.84375, < 1.25, < 1/0.35, beyond) or span several (the tile logic of
    ``mixstat.kernels.families.normal.cdf1_tile``, in NumPy)."""
    xs = np.sort(x.astype(np.float64))
    lo, hi = xs[::tile], xs[np.minimum(np.arange(0, xs.size, tile) + tile, xs.size) - 1]
    inv = 1.0 / scale
    zlo = (lo[:, None] - loc[None, :]) * inv
    zhi = (hi[:, None] - loc[None, :]) * inv
    edges = [0.84375, 1.25, 2.8571414947509766]
    a = np.abs(np.where(zlo > 0, zlo, np.where(zhi < 0, zhi, 0.0)))  # the |z| nearest 0
    b = np.maximum(np.abs(zlo), np.abs(zhi))
    same = (np.sign(zlo) == np.sign(zhi)) | (b < edges[0])
    region_a = np.searchsorted(edges, a, side="right")
    region_b = np.searchsorted(edges, b, side="right")
    counts = [int(np.sum(same & (region_a == r) & (region_b == r) & (zlo < 6) & (zhi > -8))) for r in range(4)]
    return counts


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_10_kde_cdf_regions_same_bits(dtype):
    """Narrow sorted tiles take one erfc region per (tile, component): the terms are still
    the same bits as the plain loop's (a batched mixture takes the plain loop everywhere)."""
    from mixstat.kernels import cpu

    rng = np.random.default_rng(12)
    K, scale = 200, 1.0
    loc = rng.normal(size=K) * 2.0
    x = np.concatenate([rng.normal(size=20000) * 3.0, rng.uniform(-12, 12, 5000)]).astype(dtype)
    counts = _tile_regions(x, loc.astype(dtype).astype(np.float64), scale, cpu.TILE)
    assert min(counts) > 100, counts  # every region's path is taken
    kde = MixtureSameFamily(Categorical(probs=np.ones(K, dtype)), Normal(loc.astype(dtype), np.asarray(scale, dtype)))
    batched = MixtureSameFamily(
        Categorical(probs=np.ones((2, K), dtype)),
        Normal(np.broadcast_to(loc.astype(dtype), (2, K)), np.asarray(scale, dtype)),
    )
    together = kde.cdf(x)
    np.testing.assert_array_equal(batched.cdf(x[:, None])[:, 0], together)
    want = stats.norm.cdf((x.astype(np.float64)[:, None] - loc.astype(dtype).astype(np.float64)) / scale).mean(1)
    np.testing.assert_allclose(together, want, rtol=1e-13 if dtype == np.float64 else 2e-6, atol=0)


@pytest.mark.parametrize(
    "cls, params, x",
    [
        (Normal, dict(loc=np.array([0.0, 2.0]), scale=np.array([1.0, 1e-310])), [[0.5], [2.0], [np.nan]]),
        ("Gamma", dict(concentration=np.array([0.5, 3.0]), rate=np.array([2.0, 1.0])), [[0.0], [1.5], [-1.0]]),
    ],
)
def test_12_plain_distribution_takes_the_one_component_kernel(cls, params, x):
    """Item 12: a plain univariate distribution compiles the small one-component kernel
    (``log_prob1``), not the mixture's log-sum-exp kernel (each costs seconds to compile); it
    agrees with the one-component mixture and with SciPy, NaN, -inf and subnormal scales included."""
    from mixstat import _jit, distributions as D

    cls = getattr(D, cls) if isinstance(cls, str) else cls
    d = cls(**params)
    x = np.asarray(x, dtype=np.float64)
    got = d.log_prob(x)
    assert any(k[0] == "log_prob1" and k[1] == d.family for k in _jit._kernels)
    mix = MixtureSameFamily(
        Categorical(probs=np.ones(d.batch_shape + (1,))), cls(**{k: v[:, None] for k, v in params.items()})
    )
    np.testing.assert_allclose(mix.log_prob(x), got, rtol=1e-12, atol=0)
    if cls is Normal:
        with np.errstate(over="ignore"):  # SciPy's (x - loc) / scale overflows for the subnormal scale
            want = stats.norm.logpdf(x, params["loc"], params["scale"])
    else:
        want = stats.gamma.logpdf(x, params["concentration"], scale=1.0 / params["rate"])
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)


def test_13_messages():
    with pytest.raises(TypeError, match="None .*int seed or a numpy.random.Generator"):
        Normal(0.0, 1.0).sample(rng="abc")
    with pytest.raises(ValueError, match="at least one entry of every row"):
        Categorical(logits=[-np.inf, -np.inf])


def test_14_probs_are_normalised_and_checked():
    c = Categorical(probs=[2.0, 6.0], validate_args=True)
    np.testing.assert_allclose(c.probs, [0.25, 0.75])
    with pytest.raises(ValueError, match="probs"):
        Categorical(probs=[-1.0, 2.0], validate_args=True)
    assert "normalised to sum to one" in open(mixstat.__file__.replace("mixstat/__init__.py", "README.md")).read()


def test_15_no_numpy_warnings_on_valid_input():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = Categorical(probs=np.float32([0.5, 0.5]))
        c.log_prob(np.float64(1e300))  # huge value for a float32 discrete support
        _ = Normal(0.0, 1e300).variance
        MixtureSameFamily(Categorical(probs=[0.5, 0.5]), Normal(np.zeros(2), 1e-310)).log_prob([0.0, 1.0])


def test_15_license_is_an_spdx_string():
    import tomllib

    meta = tomllib.load(open(mixstat.__file__.replace("mixstat/__init__.py", "pyproject.toml"), "rb"))
    assert isinstance(meta["project"]["license"], str)


def test_16_help_of_mixture():
    import pydoc

    text = pydoc.render_doc(MixtureSameFamily)
    assert "__init_subclass__" not in text and "__annotations__" not in text
    assert "NotImplementedError" in MixtureSameFamily.entropy.__doc__
