"""The cache of large buffers (``mixstat._buffers``): a buffer that any array still views is
never handed out again, one that nothing holds is, parameter copies are read-only all the way
down, and results stay the caller's."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import mixstat.distributions as D
from mixstat import _buffers

SHAPE = (600, 500)  # 2.4 MB of float64: above MIN_BYTES


@pytest.fixture(autouse=True)
def _cache():
    gc.collect()
    old = _buffers.set_buffer_cache(0)  # drops the unused buffers other tests left
    _buffers.set_buffer_cache(64 << 20)
    yield
    _buffers.set_buffer_cache(old)


def _ptr(a):
    return a.__array_interface__["data"][0]


def test_a_dropped_array_is_reused_and_a_held_one_never():
    a = _buffers.empty(SHAPE, np.float64)
    assert _buffers.owns(a) and a.flags.writeable and a.flags.c_contiguous
    p = _ptr(a)
    del a
    b = _buffers.empty(SHAPE, np.float64)
    assert _ptr(b) == p  # nothing held it: handed out again
    held = {
        "the array": lambda x: x,
        "a slice": lambda x: x[3:7],
        "a transposed view": lambda x: x.T,
        "a memoryview": memoryview,
        "a reshaped view of another dtype": lambda x: x.view(np.int32).reshape(-1),
    }
    for what, keep in held.items():
        kept = keep(b)
        del b
        c = _buffers.empty(SHAPE, np.float64)
        assert _ptr(c) != p, f"reused while {what} was alive"
        del kept
        b = _buffers.empty(SHAPE, np.float64)  # (c is held: b's buffer is the only free one)
        assert _ptr(b) == p, f"not reused after {what} was dropped"
        del c


def test_another_shape_of_the_same_size_and_another_size():
    a = _buffers.empty(SHAPE, np.float64)
    p = _ptr(a)
    del a
    b = _buffers.empty((SHAPE[0] * SHAPE[1] * 2,), np.float32)  # same bytes
    assert _ptr(b) == p and b.shape == (SHAPE[0] * SHAPE[1] * 2,) and b.dtype == np.float32
    del b
    c = _buffers.empty((SHAPE[0] + 1, SHAPE[1]), np.float64)  # other bytes: a new buffer
    assert _ptr(c) != p


def test_small_arrays_and_a_zero_limit_bypass_the_cache():
    assert not _buffers.owns(_buffers.empty((10, 10), np.float64))
    _buffers.set_buffer_cache(0)
    a = _buffers.empty(SHAPE, np.float64)
    assert not _buffers.owns(a)
    assert _buffers.held()[1] == 0


def test_the_limit_bounds_the_unused_bytes():
    nbytes = SHAPE[0] * SHAPE[1] * 8
    _buffers.set_buffer_cache(3 * nbytes)
    arrays = [_buffers.empty((SHAPE[0] + i, SHAPE[1]), np.float64) for i in range(6)]
    used, unused = _buffers.held()
    assert used >= 6 * nbytes and unused == 0
    del arrays  # 6 unused buffers now, above the limit until the next cached call trims
    assert _buffers.held()[1] > 3 * nbytes
    keep = _buffers.empty(SHAPE, np.float64)
    used, unused = _buffers.held()
    assert 0 < unused <= 3 * nbytes and used >= keep.nbytes
    with pytest.raises(ValueError, match="nbytes"):
        _buffers.set_buffer_cache(-1)


def test_parameter_copies_are_read_only_all_the_way_down():
    rng = np.random.default_rng(0)
    loc, scale = rng.normal(size=SHAPE), rng.uniform(0.5, 2, SHAPE)
    d = D.Normal(loc, scale)
    assert _buffers.owns(d.loc) and not np.shares_memory(d.loc, loc)
    with pytest.raises(ValueError):
        d.loc.flags.writeable = True
    with pytest.raises(ValueError):
        d.loc[3:5].flags.writeable = True
    # another distribution over them shares them (no writeable array beneath)
    e = D.Normal(d.loc, d.scale)
    assert np.shares_memory(e.loc, d.loc)
    kept = d.loc.copy()
    loc_ptr = _ptr(d.loc)
    del d
    gc.collect()
    f = D.Normal(rng.normal(size=SHAPE), scale)  # e still holds the first copies
    assert _ptr(f.loc) != loc_ptr
    assert np.array_equal(e.loc, kept)


def test_results_stay_the_callers():
    rng = np.random.default_rng(1)
    d = D.MixtureSameFamily(
        D.Categorical(logits=rng.normal(size=4)), D.Normal(rng.normal(size=4), rng.uniform(0.5, 2, 4))
    )
    x = rng.normal(size=SHAPE)
    r1 = d.log_prob(x)
    assert _buffers.owns(r1) and r1.flags.writeable
    keep = r1.copy()
    r2 = d.log_prob(x * 2)  # r1 is held: a new buffer
    assert not np.shares_memory(r1, r2)
    assert np.array_equal(r1, keep)
    r1[0, 0] = 7.0  # the caller's to write
    p = _ptr(r2)
    del r2
    r3 = d.log_prob(x)
    assert _ptr(r3) == p and np.array_equal(r3, keep)
    # a result the caller made read-only is copied by a distribution built over it
    r3.flags.writeable = False
    n = D.Normal(r3, 1.0)
    assert not np.shares_memory(n.loc, r3)


def test_categorical_parameters_are_read_only():
    rng = np.random.default_rng(2)
    for c in (D.Categorical(logits=rng.normal(size=SHAPE)), D.Categorical(probs=rng.uniform(size=(7, 3)))):
        for p in (c.logits, c.probs):
            with pytest.raises(ValueError):
                p[..., 0] = 0.0
