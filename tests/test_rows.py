"""The per-row path of a Normal mixture (``mixstat.kernels.rows``): parameters copied and checked
in one pass, ``log_prob`` without a packed table (W4: a mixture density network's outputs)."""

import numpy as np
import pytest
from scipy import stats
from scipy.special import log_softmax, logsumexp

from mixstat import plan
from mixstat.distributions import Categorical, MixtureSameFamily, Normal

#: rows of the tests: B * K at least plan.PREP_MIN entries, so the parallel kernels are taken
B, K = 8192, 8


def _params(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (B, K)).astype(dtype)
    loc = rng.normal(0, 3, (B, K)).astype(dtype)
    scale = rng.uniform(0.3, 2.0, (B, K)).astype(dtype)
    v = rng.normal(0, 4, B).astype(dtype)
    return logits, loc, scale, v


def _ref(logits, loc, scale, v):
    lw = log_softmax(np.asarray(logits, np.float64), axis=1)
    with np.errstate(divide="ignore", over="ignore"):
        return logsumexp(lw + stats.norm.logpdf(np.asarray(v, np.float64)[:, None], loc, scale), axis=1)


def _mix(logits, loc, scale, **kw):
    return MixtureSameFamily(Categorical(logits=logits, **kw), Normal(loc, scale, **kw), **kw)


def _table_path(d, v):
    """The general path (packed rows) for the same distribution."""
    spec = d.component_distribution._kernel_spec(d.dtype)
    return plan.log_prob(spec, v, d.batch_shape, (), logw=d.mixture_distribution.logits)


def test_rows_path_is_taken_and_makes_no_table():
    logits, loc, scale, v = _params()
    d = _mix(logits, loc, scale)
    comp = d.component_distribution
    assert comp._checked_params == {"loc", "scale"}
    r = d.log_prob(v)
    assert comp._specs == {}  # no packed table was made
    np.testing.assert_allclose(r, _ref(logits, loc, scale, v), rtol=1e-13, atol=1e-13)
    # raw logits (the Categorical's checked copy, not normalised yet) are normalised per row in
    # the kernel; once the normalised logits are made, the kernel reads them and gives the
    # same bits as the general path (whose rows are packed by the same arithmetic)
    mix = d.mixture_distribution
    assert mix._logits is None and mix._raw_logits is not None
    np.testing.assert_allclose(r, _table_path(d, v), rtol=1e-13, atol=1e-13)
    d2 = _mix(logits, loc, scale)
    _ = d2.mixture_distribution.logits  # (made now)
    r2 = d2.log_prob(v)
    assert d2.component_distribution._specs == {}  # the per-row kernel again
    np.testing.assert_array_equal(r2, _table_path(d, v))


def test_raw_logits_normalised_in_the_kernel():
    logits, loc, scale, v = _params(seed=1)
    shifted = logits + np.linspace(-30, 30, B)[:, None]  # any shift per row
    r = plan.normal_mixture_rows(v, shifted, loc, scale, (B,), normalise=True)
    np.testing.assert_allclose(r, _ref(logits, loc, scale, v), rtol=1e-13, atol=1e-13)


def test_zero_weights_and_minus_inf_logits():
    logits, loc, scale, v = _params(seed=2)
    logits[:, 3] = -np.inf
    logits[::7, 1:] = -np.inf  # one live component in these rows
    d = _mix(logits, loc, scale)
    r = d.log_prob(v)
    np.testing.assert_allclose(r, _ref(logits, loc, scale, v), rtol=1e-13, atol=1e-13)
    probs = np.exp(log_softmax(logits, axis=1))  # exact zeros
    d2 = MixtureSameFamily(Categorical(probs=probs), Normal(loc, scale))
    np.testing.assert_allclose(d2.log_prob(v), r, rtol=1e-13, atol=1e-13)


def test_far_tails_nan_and_infinite_values():
    logits, loc, scale, v = _params(seed=3)
    v[0], v[1], v[2], v[3] = 1e6, -1e8, np.nan, np.inf
    r = _mix(logits, loc, scale).log_prob(v)
    ref = _ref(logits, loc, scale, v)
    assert np.isfinite(r[:2]).all()
    np.testing.assert_allclose(r[:2], ref[:2], rtol=1e-13)
    assert np.isnan(r[2]) and r[3] == -np.inf
    np.testing.assert_allclose(r[4:], ref[4:], rtol=1e-13, atol=1e-13)


def test_subnormal_and_huge_scales():
    logits, loc, scale, v = _params(seed=4)
    scale[5, :] = 5e-320  # 1/scale overflows: the row is redone exactly
    v[5] = loc[5, 2]
    scale[6, :] = 1e300
    r = _mix(logits, loc, scale).log_prob(v)
    ref = _ref(logits, loc, scale, v)
    np.testing.assert_allclose(r, ref, rtol=1e-12, atol=1e-12)
    assert np.isfinite(r[5]) and r[5] > 700


def test_float32_in_float32_out():
    logits, loc, scale, v = _params(np.float32, seed=5)
    d = _mix(logits, loc, scale)
    r = d.log_prob(v)
    assert r.dtype == np.float32
    np.testing.assert_allclose(r, _ref(logits, loc, scale, v), rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(r, _table_path(d, v), rtol=1e-6, atol=1e-6)


def test_out_is_written():
    logits, loc, scale, v = _params(seed=6)
    d = _mix(logits, loc, scale)
    out = np.empty(B)
    assert d.log_prob(v, out=out) is out
    np.testing.assert_allclose(out, _ref(logits, loc, scale, v), rtol=1e-13, atol=1e-13)


def test_parameters_are_owned_copies():
    logits, loc, scale, v = _params(seed=7)
    d = _mix(logits, loc, scale)
    before = d.log_prob(v)
    comp = d.component_distribution
    assert not comp.loc.flags.writeable and not comp.scale.flags.writeable
    assert not np.may_share_memory(comp.loc, loc) and not np.may_share_memory(comp.scale, scale)
    loc[:] = 0.0
    scale[:] = 1.0
    np.testing.assert_array_equal(d.log_prob(v), before)


def test_read_only_parameters_are_not_copied():
    logits, loc, scale, v = _params(seed=8)
    loc.flags.writeable = False
    scale.flags.writeable = False
    n = Normal(loc, scale)
    assert np.shares_memory(n.loc, loc) and np.shares_memory(n.scale, scale)
    assert n._checked_params == {"loc", "scale"}  # still checked (a read-only pass)
    bad = scale.copy()
    bad[100, 3] = -1.0
    bad.flags.writeable = False
    with pytest.raises(ValueError, match=r"scale .*index \(100, 3\)"):
        Normal(loc, bad)


@pytest.mark.parametrize(
    "name, where, value",
    [("loc", (17, 2), np.nan), ("loc", (4000, 7), np.inf), ("scale", (9, 0), 0.0), ("scale", (8191, 5), -2.0)],
)
def test_invalid_parameters_are_named(name, where, value):
    logits, loc, scale, v = _params(seed=9)
    {"loc": loc, "scale": scale}[name][where] = value
    with pytest.raises(ValueError, match=rf"parameter {name} of shape \(8192, 8\).*index \({where[0]}, {where[1]}\)"):
        Normal(loc, scale)
    n = Normal(loc, scale, validate_args=False)  # no check, still a copy
    assert not np.may_share_memory(n.loc, loc)


def test_invalid_logits_are_named():
    logits, loc, scale, v = _params(seed=10)
    logits[123, 4] = np.nan
    with pytest.raises(ValueError, match=r"logits .*index \(123, 4\)"):
        Categorical(logits=logits)


def test_copy_checked_counts_every_kind():
    a = np.linspace(-3, 3, plan.PREP_MIN + 5)
    a[7] = np.nan
    a[9] = np.inf
    for kind, bad in ((0, 1), (1, 2), (2, int((~((a > 0) & (a < np.inf))).sum()))):
        c, n = plan.copy_checked(a, kind)
        assert n == bad
        np.testing.assert_array_equal(c, a)
        assert not c.flags.writeable
        assert plan.copy_checked(a, kind, copy=False) == (None, bad)


def test_many_values_per_row_take_the_table_path():
    logits, loc, scale, v = _params(seed=11)
    d = _mix(logits, loc, scale)
    vv = np.stack([v, v + 1.0])
    r = d.log_prob(vv)
    assert d.component_distribution._specs  # the packed rows, made once for many values
    np.testing.assert_allclose(r[1], _ref(logits, loc, scale, v + 1.0), rtol=1e-13, atol=1e-13)
