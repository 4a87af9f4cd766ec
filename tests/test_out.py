"""``out=`` on every array-returning operation.

Every operation of every representative example (one per family, dtype and event rank, from
the registry) is called twice, without and with ``out``: the call with ``out`` returns that
very array holding the same values (the same draws for the same seed).  Then memory maps,
the checks on ``out`` (shape, dtype, layout, writeability, overlap, kind; raised before any
kernel runs) and, on the kernel paths, that the kernel writes into ``out`` itself (no
temporary copied over).
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import registry as reg

from mixstat import plan
from mixstat.distributions import Categorical, MixtureSameFamily, MultivariateNormal, Normal, distribution

VALUE_OPS = ("log_prob", "prob", "cdf", "log_cdf", "survival_function", "log_survival_function")
EXTRA = (
    "msf-normal-b2x4",
    "msf-normal-b2x4-f32",
    "normal-b3-f32",
    "msf-normal-zero-logit-b2x4",
    "msf-cat-b2x4-f32",
    "msf-indep-D3-b3-f32",
)
TABLE = [pytest.param(e, id=e.id) for e in reg.representatives(reg.EXAMPLES, (reg.F64,))] + [
    pytest.param(reg.BY_ID[i], id=i) for i in EXTRA if i in reg.BY_ID
]


def _values(ex, lead=(4,)):
    rng = np.random.default_rng(1)
    shape = tuple(lead) + ex.batch_shape + ex.event_shape
    if ex.discrete:
        return rng.integers(-1, 4, size=shape).astype(ex.dtype)
    if ex.family.startswith("dirichlet"):
        v = rng.uniform(0.1, 1.0, size=shape)
        return (v / v.sum(-1, keepdims=True)).astype(ex.dtype)
    return (rng.normal(size=shape) + 0.5).astype(ex.dtype)


def _same(a, b):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))  # NaN == NaN here


def _check_op(fn, *args, like=None, **kw):
    """``fn(*args, **kw)`` without and with ``out``; False when the operation does not exist
    (then it does not exist with ``out`` either: ``like`` is an array of the would-be result's
    shape and dtype)."""
    try:
        ref = fn(*args, **kw)
    except NotImplementedError:
        if like is not None:
            with pytest.raises(NotImplementedError):
                fn(*args, out=np.empty_like(like), **kw)
        return False
    ref = np.asarray(ref)
    out = np.full(ref.shape, -7, dtype=ref.dtype)
    got = fn(*args, out=out, **kw)
    assert got is out
    assert out.dtype == ref.dtype and out.shape == ref.shape
    _same(out, ref)
    return True


@pytest.mark.parametrize("ex", TABLE)
def test_every_operation_with_out(ex):
    d = ex.make()
    x = _values(ex)
    ran = []
    like = np.asarray(d.log_prob(x))
    for name in VALUE_OPS:
        if _check_op(getattr(d, name), x, like=like):
            ran.append(name)
    assert "log_prob" in ran and "prob" in ran
    if ex.event_shape == () and hasattr(d, "icdf"):  # Categorical has no icdf
        q = np.array([[0.0, 0.01, 0.5, 0.99, 1.0]]).T.reshape((5,) + (1,) * len(ex.batch_shape))
        _check_op(d.icdf, q.astype(ex.dtype))
    assert _check_op(d.sample, (3, 2), rng=5)
    if ex.is_mixture:
        assert _check_op(d.posterior_mode, x)
        # with return_index, out holds the samples and the indices come beside
        s_ref, i_ref = d.sample((3,), rng=2, return_index=True)
        out = np.empty_like(s_ref)
        s, i = d.sample((3,), rng=2, return_index=True, out=out)
        assert s is out
        _same(s, s_ref)
        _same(i, i_ref)


def test_generic_nested_mixture_paths():
    """A mixture of mixtures (no kernel: the chunked NumPy path writes its chunks into ``out``)."""
    inner = MixtureSameFamily(
        Categorical(logits=np.log([[0.3, 0.7], [0.5, 0.5], [0.9, 0.1]])),
        Normal(np.array([[-1.0, 1.0], [0.0, 2.0], [3.0, 4.0]]), np.ones((3, 2))),
    )
    d = MixtureSameFamily(Categorical(probs=np.array([0.2, 0.5, 0.3])), inner)
    x = np.linspace(-3, 5, 7)
    for name in VALUE_OPS:
        assert _check_op(getattr(d, name), x)
    assert _check_op(d.posterior_mode, x)
    assert _check_op(d.sample, (6,), rng=1)
    assert _check_op(d.icdf, np.array([0.0, 0.1, 0.5, 0.9, 1.0]))


def test_float32_and_broadcast_values():
    d = MixtureSameFamily(
        Categorical(logits=np.zeros((2, 3), np.float32)),
        Normal(np.arange(6, dtype=np.float32).reshape(2, 3), np.ones((2, 3), np.float32)),
    )
    x = np.linspace(-1, 4, 5, dtype=np.float32)[:, None]  # (5, 1) against batch (2,)
    out = np.empty((5, 2), np.float32)
    assert d.log_prob(x, out=out) is out
    _same(out, d.log_prob(x))
    # a float64 value promotes the result: a float32 out is then the wrong dtype
    with pytest.raises(
        ValueError,
        match=r"out must have shape \(5, 2\) and dtype float64, got shape "
        r"\(5, 2\) and dtype float32",
    ):
        d.log_prob(x.astype(np.float64), out=out)
    sf = np.empty((5, 2), np.float32)  # float32 survival function: the cast of the float64 kernel's
    assert d.survival_function(x, out=sf) is sf
    _same(sf, d.survival_function(x))


def test_memmap(tmp_path):
    d = MixtureSameFamily(Categorical(probs=np.array([0.3, 0.7])), Normal(np.array([-1.0, 2.0]), np.array([0.5, 1.5])))
    x = np.linspace(-4, 5, 1001)
    mm = np.memmap(tmp_path / "lp.f8", dtype=np.float64, mode="w+", shape=x.shape)
    assert d.log_prob(x, out=mm) is mm
    mm.flush()
    back = np.fromfile(tmp_path / "lp.f8", dtype=np.float64)
    _same(back, d.log_prob(x))
    sm = np.memmap(tmp_path / "s.f8", dtype=np.float64, mode="w+", shape=(50, 2))
    d2 = Normal(np.array([0.0, 1.0]), np.array([1.0, 2.0]))
    assert d2.sample((50,), rng=3, out=sm) is sm
    _same(sm, d2.sample((50,), rng=3))


def test_errors_name_out_and_shapes():
    d = Normal(np.zeros(3), np.ones(3))
    x = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"out must have shape \(4, 3\) and dtype float64, got shape \(3, 4\)"):
        d.log_prob(x, out=np.empty((3, 4)))
    with pytest.raises(ValueError, match=r"out must have shape \(4, 3\) and dtype float64, got .*float32"):
        d.cdf(x, out=np.empty((4, 3), np.float32))
    with pytest.raises(ValueError, match="out must be C-contiguous"):
        d.log_prob(x, out=np.empty((3, 4)).T)
    with pytest.raises(ValueError, match="out must be C-contiguous"):
        d.log_prob(x, out=np.empty((4, 6))[:, ::2])
    ro = np.empty((4, 3))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out must be writeable"):
        d.log_prob(x, out=ro)
    with pytest.raises(ValueError, match="overlaps"):
        d.log_prob(x, out=x)
    with pytest.raises(TypeError, match="out must be a numpy.ndarray"):
        d.log_prob(x, out=[[0.0] * 3] * 4)
    with pytest.raises(ValueError, match=r"out must have shape \(2, 3\) and dtype int64"):
        Categorical(probs=np.ones((3, 4))).sample((2,), out=np.empty((2, 3)))
    m = MixtureSameFamily(Categorical(probs=np.ones(2)), Normal(np.zeros(2), np.ones(2)))
    with pytest.raises(ValueError, match=r"dtype int64, got shape \(4,\) and dtype float64"):
        m.posterior_mode(np.zeros(4), out=np.empty(4))
    with pytest.raises(ValueError, match=r"sample_shape"):
        m.sample((-1,), out=np.empty(1))


def test_checked_before_any_kernel(monkeypatch):
    def no_backend(*a, **k):
        raise AssertionError("a kernel was reached before out was checked")

    monkeypatch.setattr(plan, "backend", no_backend)
    d = MixtureSameFamily(Categorical(probs=np.ones(2)), Normal(np.zeros(2), np.ones(2)))
    for call in (
        lambda o: d.log_prob(np.zeros(5), out=o),
        lambda o: d.cdf(np.zeros(5), out=o),
        lambda o: d.icdf(np.full(5, 0.5), out=o),
        lambda o: d.sample((5,), out=o),
        lambda o: d.survival_function(np.zeros(5), out=o),
    ):
        with pytest.raises(ValueError, match="out must have shape"):
            call(np.empty(6))


_KERNEL_CALLS = [
    ("normal-log_prob", lambda d, m, v, o: d.log_prob(v, out=o)),
    ("normal-prob", lambda d, m, v, o: d.prob(v, out=o)),
    ("normal-cdf", lambda d, m, v, o: d.cdf(v, out=o)),
    ("normal-log_cdf", lambda d, m, v, o: d.log_cdf(v, out=o)),
    ("normal-log_sf", lambda d, m, v, o: d.log_survival_function(v, out=o)),
    ("normal-sf", lambda d, m, v, o: d.survival_function(v, out=o)),
    ("mix-log_prob", lambda d, m, v, o: m.log_prob(v, out=o)),
    ("mix-cdf", lambda d, m, v, o: m.cdf(v, out=o)),
    ("mix-log_sf", lambda d, m, v, o: m.log_survival_function(v, out=o)),
    ("mix-sf", lambda d, m, v, o: m.survival_function(v, out=o)),
    ("mix-icdf", lambda d, m, v, o: m.icdf(np.clip(np.abs(v) / 3, 0, 1), out=o)),
    ("mix-sample", lambda d, m, v, o: m.sample((v.shape[0],), rng=1, out=o)),
    ("normal-sample", lambda d, m, v, o: d.sample((v.shape[0],), rng=1, out=o)),
]


@pytest.mark.parametrize("call", [c[1] for c in _KERNEL_CALLS], ids=[c[0] for c in _KERNEL_CALLS])
def test_kernel_writes_into_out(call, monkeypatch):
    """On the kernel paths the result that reaches the façade is ``out`` itself: nothing was
    computed elsewhere and copied over."""
    seen = []
    orig = distribution._deliver

    def spy(out, result):
        seen.append(result is out)
        return orig(out, result)

    monkeypatch.setattr(distribution, "_deliver", spy)
    d = Normal(np.float64(0.5), np.float64(2.0))
    m = MixtureSameFamily(Categorical(probs=np.array([0.2, 0.8])), Normal(np.array([-1.0, 1.0]), np.array([1.0, 0.5])))
    v = np.linspace(-3, 3, 9)
    out = np.empty(9)
    assert call(d, m, v, out) is out
    assert seen and all(seen)


def test_kernel_writes_into_out_categorical_mvn(monkeypatch):
    seen = []
    orig = distribution._deliver
    monkeypatch.setattr(distribution, "_deliver", lambda o, r: (seen.append(r is o), orig(o, r))[1])
    c = Categorical(probs=np.array([[0.1, 0.9], [0.5, 0.5]]))
    o = np.empty((7, 2), np.int64)
    assert c.sample((7,), rng=0, out=o) is o
    mvn = MultivariateNormal(np.zeros(2), scale_tril=np.eye(2))
    o2 = np.empty(5)
    assert mvn.log_prob(np.ones((5, 2)), out=o2) is o2
    m = MixtureSameFamily(Categorical(probs=np.array([0.2, 0.8])), Normal(np.array([-1.0, 1.0]), np.ones(2)))
    o3 = np.empty(5, np.int64)
    assert m.posterior_mode(np.linspace(-2, 2, 5), out=o3) is o3
    assert seen == [True, True, True]
    _same(o3, m.posterior_mode(np.linspace(-2, 2, 5)))


_SIM_SCRIPT = r"""
import numpy as np
from numba import cuda
from mixstat.distributions import Categorical, MixtureSameFamily, Normal

m = MixtureSameFamily(Categorical(probs=np.array([0.3, 0.7])),
                      Normal(np.array([-1.0, 1.0]), np.ones(2))).to("cuda")
h = m.to("cpu")
x = np.linspace(-2, 2, 16)
o = cuda.device_array(16)
assert m.log_prob(x, out=o) is o
np.testing.assert_allclose(o.copy_to_host(), h.log_prob(x), rtol=1e-13)
o = cuda.device_array(16)
assert m.survival_function(x, out=o) is o  # through the host, copied into the device out
np.testing.assert_allclose(o.copy_to_host(), h.survival_function(x), rtol=1e-13)
s = cuda.device_array(8)
assert m.sample((8,), rng=1, out=s) is s
np.testing.assert_array_equal(s.copy_to_host(), m.sample((8,), rng=1).copy_to_host())
try:
    m.log_prob(x, out=np.empty(16))
    raise AssertionError("a host out was accepted on cuda")
except TypeError as e:
    assert "CUDA device array" in str(e), e
try:
    m.log_prob(x, out=cuda.device_array(15))
    raise AssertionError("a wrong device out was accepted")
except ValueError as e:
    assert "got shape (15,)" in str(e), e
print("ok")
"""


def test_cuda_out_in_simulator():
    """On a CUDA distribution ``out`` is a device array of the result's shape and dtype (numba's
    CUDA simulator, in its own process: it must be enabled before numba is imported)."""
    import subprocess

    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    r = subprocess.run([sys.executable, "-c", _SIM_SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr[-2000:]
