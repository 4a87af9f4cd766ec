"""The parallel check-and-pack kernels used for large batches (mixstat/kernels/prep.py)."""

import numpy as np
import pytest
from scipy.special import logsumexp

from mixstat import plan
from mixstat.distributions import Categorical, MixtureSameFamily, Normal
from mixstat.kernels.families import normal

R = plan.PREP_MIN  # large enough to take the prep kernels


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_normalized_logits_equal_numpy(dtype):
    rng = np.random.default_rng(0)
    p = (rng.standard_normal((R // 8, 8)) * 30).astype(dtype)
    p[::5, 3] = -np.inf  # zero-weight categories
    out, bad = plan.normalized_logits(p)
    assert bad == 0 and out.dtype == dtype
    want = p.astype(np.float64) - logsumexp(p.astype(np.float64), axis=1, keepdims=True)
    tol = 1e-13 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(out, want, rtol=tol, atol=tol)
    assert np.all(out[::5, 3] == -np.inf)


@pytest.mark.parametrize("bad_value", [np.nan, np.inf])
def test_normalized_logits_count_invalid_entries(bad_value):
    p = np.zeros((R // 4, 4))
    p[7, 2] = bad_value
    p[9, :] = -np.inf  # no finite entry
    assert plan.normalized_logits(p)[1] == 2


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_checked_copy_of_raw_logits(dtype):
    """``normalise=False``: the same counts, and the logits copied bit for bit."""
    rng = np.random.default_rng(1)
    p = (rng.standard_normal((R // 8 + 3, 8)) * 30).astype(dtype)
    p[::5, 3] = -np.inf
    out, bad = plan.normalized_logits(p, normalise=False)
    assert bad == 0 and out.dtype == dtype and out is not p
    np.testing.assert_array_equal(out, p)
    p[7, 2], p[8, 1] = np.nan, np.inf
    p[9, :] = -np.inf
    assert plan.normalized_logits(p, normalise=False)[1] == 3


def test_categorical_normalises_large_logits_on_first_use():
    """A large ``Categorical(logits=...)`` keeps a checked read-only copy of the raw logits;
    ``logits`` and ``probs`` are normalised on first use (read-only, cached), equal to NumPy's;
    invalid logits still raise at construction."""
    rng = np.random.default_rng(2)
    p = rng.standard_normal((R // 4, 4)) * 5 + 100
    c = Categorical(logits=p)
    raw = c._raw_logits
    assert c._logits is None and raw is not None and not raw.flags.writeable
    p[0, 0] = 1e9  # the caller's array changes nothing
    np.testing.assert_array_equal(raw[1:], p[1:])
    want = p.copy()
    want[0, 0] = raw[0, 0]
    want = want - logsumexp(want, axis=1, keepdims=True)
    lg = c.logits
    assert c.logits is lg and not lg.flags.writeable
    np.testing.assert_allclose(lg, want, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(c.probs, np.exp(want), rtol=1e-13)
    # expanded before the first use: the broadcast raw copy, normalised on the expanded one's use
    c2 = Categorical(logits=want)
    e = c2.expand((3, R // 4))
    assert e.logits.shape == (3, R // 4, 4) and c2._logits is None
    np.testing.assert_allclose(e.logits[2], want, rtol=1e-13, atol=1e-13)
    bad = p.copy()
    bad[5] = -np.inf
    with pytest.raises(ValueError, match="finite in at least one entry of every row"):
        Categorical(logits=bad)


def test_normal_table_equals_pack():
    rng = np.random.default_rng(1)
    loc = rng.standard_normal((R // 16, 16)) * 1e3
    # scales below 2**-126 (a float32 subnormal) take the NumPy path
    scale = np.exp(rng.uniform(-87, 300, loc.shape))
    got = plan.normal_table(loc, scale)
    want = normal.pack(loc, scale, np.float64)
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=1e-13)  # const: -log(scale) - log(2 pi)/2


@pytest.mark.parametrize(
    "loc_bad,scale_bad",
    [(np.nan, None), (np.inf, None), (None, 0.0), (None, -1.0), (None, np.inf), (None, np.nan), (None, 1e-310)],
)
def test_normal_table_refuses_invalid_or_subnormal(loc_bad, scale_bad):
    loc = np.zeros(R)
    scale = np.ones(R)
    if loc_bad is not None:
        loc[123] = loc_bad
    if scale_bad is not None:
        scale[123] = scale_bad
    assert plan.normal_table(loc, scale) is None


def test_large_batches_give_the_same_errors_as_small_ones():
    p = np.zeros((R, 2))
    p[5, 1] = np.nan
    with pytest.raises(ValueError, match=r"logits of shape \(65536, 2\).*index \(5, 1\)"):
        Categorical(logits=p)
    scale = np.ones(R)
    scale[77] = -2.0
    with pytest.raises(ValueError, match=r"scale of shape \(65536,\).*index \(77,\)"):
        Normal(np.zeros(R), scale)
    # a subnormal scale is valid: NumPy checks and packs it
    scale[77] = 1e-310
    n = Normal(np.zeros(R), scale)
    lp = n.log_prob(np.ones(R))
    assert lp[77] == -np.inf and lp[76] == pytest.approx(-0.5 - 0.5 * np.log(2 * np.pi))


def test_large_batch_mixture_matches_numpy():
    rng = np.random.default_rng(2)
    B, K = R // 8, 8
    lg, loc, sc = rng.standard_normal((B, K)), rng.standard_normal((B, K)), rng.uniform(0.1, 3, (B, K))
    v = rng.standard_normal(B)
    got = MixtureSameFamily(Categorical(logits=lg), Normal(loc, sc)).log_prob(v)
    lw = lg - logsumexp(lg, axis=1, keepdims=True)
    want = logsumexp(lw - 0.5 * ((v[:, None] - loc) / sc) ** 2 - np.log(sc) - 0.5 * np.log(2 * np.pi), axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-13)
