"""The CUDA path under numba's simulator: values against the CPU path, shapes, dtypes, seeds.

Runs only with ``NUMBA_ENABLE_CUDASIM=1`` set before numba is imported, in a
pytest process of its own (``make test`` does this).  The simulator runs each
GPU thread as Python, so sizes stay small.  It does no type checking; the PTX
compile in ``test_cuda_ptx.py`` covers that.

On a real GPU the same tests run with ``MIXSTAT_CUDA_DEVICE_TESTS=1`` (and
``NUMBA_ENABLE_CUDASIM`` unset); there a CUDA device must be usable, else every
test fails with the reason from :func:`mixstat._device.cuda_status` (a missing
GPU is an error there, not a skip).  ``benchmarks/gpu_check.sh`` runs them so.

The per-example tests iterate every example of ``tests/registry.py`` on a real
device, and in the simulator (slow: each GPU thread is Python) a subset chosen
by a rule: for every distinct ``ex.family``, its first float64 example and its
first float32 example, in registry order (see :func:`_simulator_subset`).
"""

import math
import os
import sys

import numpy as np
import pytest

SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
ON_DEVICE = not SIMULATOR and os.environ.get("MIXSTAT_CUDA_DEVICE_TESTS") == "1"
if not (SIMULATOR or ON_DEVICE):
    pytest.skip(
        "CUDA simulator tests run in their own process with NUMBA_ENABLE_CUDASIM=1 "
        "(make test does this); on a real GPU set MIXSTAT_CUDA_DEVICE_TESTS=1",
        allow_module_level=True,
    )

from mixstat import _device  # noqa: E402  (imports no numba)

if ON_DEVICE and not _device.cuda_status()[0]:
    pytest.fail("MIXSTAT_CUDA_DEVICE_TESTS=1 but no CUDA device is usable: " + _device.cuda_status()[1], pytrace=False)

from numba import cuda  # noqa: E402

import mixstat  # noqa: E402
from mixstat.distributions import Categorical, Independent, MixtureSameFamily, MultivariateNormal, Normal  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from registry import EXAMPLES  # noqa: E402


def _simulator_subset(examples):
    """For every distinct ``ex.family``, its first float64 and its first float32 example."""
    seen, out = set(), []
    for e in examples:
        key = (e.family, np.dtype(e.dtype).name)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


CASES = EXAMPLES if ON_DEVICE else _simulator_subset(EXAMPLES)
IDS = [e.id for e in CASES]


def host(x):
    assert _device.is_device_array(x), f"expected a device array, got {type(x).__name__}"
    return x.copy_to_host()


def tol(dtype):
    if np.dtype(dtype) == np.float32:
        return dict(rtol=2e-6, atol=2e-6)
    # On a real GPU, float64 may differ from the CPU by more than the simulator does (which
    # runs the same NumPy/math operations as the CPU): the device compiler contracts a * b + c
    # into FMAs and libdevice's exp/log/lgamma/cos are not the CPU's libm, a few ulp per
    # call, compounded through log-sum-exp and the special functions.  1e-11 relative is
    # still far below any formula error.
    return dict(rtol=1e-11 if ON_DEVICE else 1e-12, atol=1e-12)


def close(gpu, cpu, dtype=None):
    g = host(gpu)
    assert g.shape == cpu.shape
    assert g.dtype == cpu.dtype
    np.testing.assert_allclose(g, cpu, equal_nan=True, **tol(dtype or cpu.dtype))


@pytest.mark.skipif(ON_DEVICE, reason="on a real GPU")
def test_simulator_is_active():
    assert _device.cuda_status() == (True, "numba CUDA simulator (NUMBA_ENABLE_CUDASIM=1)")


@pytest.mark.skipif(not ON_DEVICE, reason="in the simulator")
def test_real_device_is_active():
    ok, name = _device.cuda_status()
    assert ok and "simulator" not in name


def test_simulator_subset_rule():
    """Every family and dtype of the registry is covered (in the simulator: once each)."""
    keys = {(e.family, np.dtype(e.dtype).name) for e in EXAMPLES}
    assert {(e.family, np.dtype(e.dtype).name) for e in CASES} == keys
    assert len(CASES) == (len(EXAMPLES) if ON_DEVICE else len(keys))


def _has_tails(d):
    """Whether ``d`` (a kernel distribution or a mixture of one) has the log-tail kernels."""
    from mixstat.distributions import KernelDistribution
    from mixstat.kernels import registry

    leaf = d.component_distribution if isinstance(d, MixtureSameFamily) else d
    if not isinstance(d, (KernelDistribution, MixtureSameFamily)):
        return False
    spec = leaf._kernel_spec(leaf.dtype)
    return spec is not None and registry.family(spec.family).has("logcdf1")


@pytest.mark.parametrize("ex", CASES, ids=IDS)
def test_registry_against_cpu(ex):
    d = ex.make()
    g = d.to("cuda")
    assert g.device == "cuda" and d.device == "cpu"
    assert g.batch_shape == d.batch_shape and g.event_shape == d.event_shape
    x = d.sample((3,), rng=11)
    # log_prob from a host value and from a device value
    close(g.log_prob(x), d.log_prob(x))
    close(g.log_prob(cuda.to_device(x)), d.log_prob(x))
    if ex.event_shape == () and "no-cdf" not in ex.tags:
        close(g.cdf(x), d.cdf(x))
    if ex.event_shape == () and _has_tails(d):
        close(g.log_cdf(x), d.log_cdf(x))
        close(g.log_survival_function(x), d.log_survival_function(x))
        close(g.survival_function(x), d.survival_function(x))
    # the same seed chooses the same components and draws the same values
    shape = (5,)
    if ex.is_mixture:
        s, i = g.sample(shape, rng=7, return_index=True)
        s0, i0 = d.sample(shape, rng=7, return_index=True)
        assert np.array_equal(host(i), i0)
    else:
        s, s0 = g.sample(shape, rng=7), d.sample(shape, rng=7)
    close(s, s0, ex.dtype)
    close(g.mean, np.asarray(d.mean))
    close(g.variance, np.asarray(d.variance))
    if ex.has_entropy:
        close(g.entropy(), np.asarray(d.entropy()))


def test_icdf_matches_cpu():
    """The quantile kernel on the device: the solver's branches (lower and upper side, seeded
    and unseeded brackets, exp(logsf1), a flat stretch, integer bisection) give the CPU's
    values.  (Every family's CUDA icdf is compiled to PTX by tests/test_cuda_ptx.py; the
    simulator runs the solver's iterations in Python, so a few cases.)"""
    from mixstat.distributions import Gamma, Laplace, Poisson, Uniform

    cases = [
        MixtureSameFamily(
            Categorical(probs=np.array([[0.3, 0.7], [0.5, 0.5]])),
            Normal(np.array([[-1.0, 2.0], [0.0, 5.0]]), np.array([[0.5, 1.0], [1.0, 2.0]])),
        ),
        MixtureSameFamily(Categorical(probs=np.array([0.4, 0.6])), Gamma(np.array([0.5, 4.0]), np.array([1.0, 2.0]))),
        MixtureSameFamily(Categorical(probs=np.array([0.5, 0.5])), Poisson(np.array([2.0, 40.0]))),
        MixtureSameFamily(Categorical(probs=np.array([0.5, 0.5])), Uniform(np.array([0.0, 2.0]), np.array([1.0, 3.0]))),
        Laplace(np.array([0.0, 1.0]), np.array([1.0, 2.0])),
    ]
    for d in cases:
        q = np.array([0.0, 1e-12, 0.3, 0.5, 0.9, 1 - 1e-9, 1.0, np.nan])
        q = q.reshape((-1,) + (1,) * len(d.batch_shape))
        close(d.to("cuda").icdf(q), d.icdf(q))  # NaN where the CPU has NaN (equal_nan)


def test_log_sum_exp_edge_cases_match_cpu():
    """NaN, +-inf values, -inf weights and a zero-weight row: the CUDA branches are the CPU's."""
    loc = np.array([[-1.0, 0.0, 2.0], [0.5, 0.5, 0.5], [1e6, -1e6, 0.0]])
    scale = np.array([[0.5, 1.0, 2.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1e-3]])
    logits = np.array([[0.0, -np.inf, 1.0], [0.0, 0.0, 0.0], [-np.inf, -np.inf, 0.0]])
    for dt in (np.float64, np.float32):
        d = MixtureSameFamily(Categorical(logits=logits.astype(dt)), Normal(loc.astype(dt), scale.astype(dt)))
        x = np.array([[np.nan], [np.inf], [-np.inf], [0.0], [1e6], [-3e7], [0.5]], dtype=dt)
        close(d.to("cuda").log_prob(x), d.log_prob(x))
        close(d.to("cuda").cdf(x), d.cdf(x))
        lp = host(d.to("cuda").log_prob(x))
        assert np.isnan(lp[0]).all() and np.isneginf(lp[1:3]).all()


def test_log_tails_edge_cases_match_cpu():
    """log_cdf / log_survival_function on the device: NaN, +-inf, a zero weight, 40 sigma out
    (finite), float32, device values; survival_function of a 1e-300 tail is not 0."""
    loc = np.array([[-1.0, 0.0, 2.0], [0.5, 0.5, 0.5]])
    scale = np.array([[0.5, 1.0, 2.0], [1.0, 1.0, 1.0]])
    probs = np.array([[0.3, 0.0, 0.7], [0.2, 0.3, 0.5]])
    for dt in (np.float64, np.float32):
        d = MixtureSameFamily(Categorical(probs=probs.astype(dt)), Normal(loc.astype(dt), scale.astype(dt)))
        x = np.array([[np.nan], [np.inf], [-np.inf], [0.0], [82.0], [-81.0], [37.5]], dtype=dt)
        g = d.to("cuda")
        for m in ("log_cdf", "log_survival_function", "survival_function"):
            close(getattr(g, m)(x), getattr(d, m)(x))
        close(g.log_survival_function(cuda.to_device(x)), d.log_survival_function(x))
        lsf = host(g.log_survival_function(x))
        assert np.isnan(lsf[0]).all() and np.isfinite(lsf[3:]).all() and (lsf[4] < -800).all()
    n = Normal(0.0, 1.0).to("cuda")
    s = host(n.survival_function(np.array([37.0])))
    assert s.dtype == np.float64 and 0 < s[0] < 1e-298


def test_mvn_nonfinite_values_match_cpu():
    d = MultivariateNormal(np.zeros(2), covariance_matrix=np.array([[1.0, 0.3], [0.3, 2.0]]))
    x = np.array([[np.nan, 0.0], [np.inf, 0.0], [0.0, -np.inf], [1.0, 2.0]])
    close(d.to("cuda").log_prob(x), d.log_prob(x))


def test_categorical_values_match_cpu():
    c = Categorical(probs=np.array([[0.2, 0.0, 0.8], [0.5, 0.25, 0.25]]))
    x = np.array([[0.0], [1.0], [2.0], [2.5], [-1.0], [3.0], [np.nan]])
    close(c.to("cuda").log_prob(x), c.log_prob(x))
    close(c.to("cuda").cdf(x), c.cdf(x))
    s = c.to("cuda").sample((6,), rng=2)
    assert host(s).dtype == np.int64
    assert np.array_equal(host(s), c.sample((6,), rng=2))


def test_more_points_than_threads():
    """The simulator grid has 16 threads: 400 points take the grid-stride step many times."""
    d = MixtureSameFamily(Categorical(probs=np.full(5, 0.2)), Normal(np.linspace(-2, 2, 5), np.ones(5)))
    x = np.linspace(-6, 6, 400)
    close(d.to("cuda").log_prob(x), d.log_prob(x))
    s, i = d.to("cuda").sample((400,), rng=1, return_index=True)
    s0, i0 = d.sample((400,), rng=1, return_index=True)
    assert np.array_equal(host(i), i0)
    close(s, s0)


def test_default_source_gives_the_same_sequence_on_both_devices():
    d = MixtureSameFamily(Categorical(probs=np.array([0.3, 0.7])), Normal(np.array([-2.0, 2.0]), np.ones(2)))
    g = d.to("cuda")
    mixstat.manual_seed(5)
    a = [host(g.sample((4,))) for _ in range(2)]
    mixstat.manual_seed(5)
    b = [d.sample((4,)) for _ in range(2)]
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-12)
    assert not np.array_equal(a[0], a[1])


def test_built_from_device_arrays():
    loc, scale = np.array([-1.0, 0.5, 3.0]), np.array([0.5, 1.0, 2.0])
    g = Normal(cuda.to_device(loc), cuda.to_device(scale))
    assert g.device == "cuda"
    assert isinstance(g.loc, np.ndarray)  # parameters are kept (and validated) on the host
    d = Normal(loc, scale)
    x = np.linspace(-3, 3, 12).reshape(4, 3)
    close(g.log_prob(cuda.to_device(x)), d.log_prob(x))
    close(g.mean, d.mean)
    m = MixtureSameFamily(Categorical(probs=cuda.to_device(np.array([0.2, 0.3, 0.5]))), Normal(loc, scale))
    assert m.device == "cuda" and m.mixture_distribution.device == "cuda"
    assert m.component_distribution.device == "cpu"  # the mixture takes the device of either part
    close(m.log_prob(x[:, :1]), MixtureSameFamily(Categorical(probs=np.array([0.2, 0.3, 0.5])), d).log_prob(x[:, :1]))
    mv = MultivariateNormal(cuda.to_device(np.zeros(2)), covariance_matrix=cuda.to_device(np.eye(2)))
    assert mv.device == "cuda"
    with pytest.raises(ValueError, match="scale"):
        Normal(cuda.to_device(loc), cuda.to_device(-scale))


def test_to_and_back():
    d = MixtureSameFamily(Categorical(probs=np.array([0.3, 0.7])), Normal(np.array([-2.0, 2.0]), np.ones(2)))
    g = d.to("cuda")
    assert g.to("cuda") is g
    assert g.component_distribution.device == "cuda" and g.mixture_distribution.device == "cuda"
    c = g.to("cpu")
    assert c.device == "cpu" and c.component_distribution.device == "cpu"
    x = np.linspace(-3, 3, 7)
    assert isinstance(c.log_prob(x), np.ndarray)
    np.testing.assert_array_equal(c.log_prob(x), d.log_prob(x))
    e = g.expand((2, 3))
    assert e.device == "cuda" and host(e.log_prob(x[:, None, None])).shape == (7, 2, 3)
    assert d.device == "cpu"  # .to returns a new object


def test_host_values_broadcast_like_cpu():
    d = Normal(np.array([[0.0], [1.0], [2.0]]), np.array([1.0, 2.0]))  # batch (3, 2)
    for x in (np.float64(0.5), np.linspace(-1, 1, 2), np.ones((4, 1, 1)), np.ones((5, 3, 2))):
        close(d.to("cuda").log_prob(x), d.log_prob(x))
    # a value that stretches a batch dim of size 1
    n = Normal(np.zeros((3, 1)), 1.0)
    x = np.linspace(-1, 1, 12).reshape(3, 4)
    close(n.to("cuda").log_prob(x), n.log_prob(x))


def test_device_values_broadcast_and_layouts():
    d = MixtureSameFamily(
        Categorical(probs=np.array([[0.3, 0.7], [0.5, 0.5], [0.9, 0.1]])),
        Normal(np.array([-1.0, 1.0]), np.array([0.5, 2.0])),
    )  # batch (3,)
    g = d.to("cuda")
    x = np.linspace(-2, 2, 12).reshape(4, 3)
    close(g.log_prob(cuda.to_device(x)), d.log_prob(x))
    x1 = np.ascontiguousarray(x[:, :1])
    close(g.log_prob(cuda.to_device(x1)), d.log_prob(x1))  # (4, 1) against batch (3,)
    close(g.log_prob(cuda.to_device(x[0])), d.log_prob(x[0]))
    xt = np.linspace(-2, 2, 12).reshape(3, 4)
    close(g.log_prob(cuda.to_device(xt).T), d.log_prob(xt.T))  # not C-contiguous: a strided view
    assert _device.flat_device_value(g._placement().kernels, cuda.to_device(xt).T, (4, 3), (), 1) is not None
    v = np.linspace(-2, 2, 5)
    y = cuda.to_device(np.broadcast_to(v[:, None], (5, 3)))  # a stride-0 device array
    close(g.log_prob(y), d.log_prob(np.broadcast_to(v[:, None], (5, 3))))
    # sample dims that no strided view can merge: one copy through the host
    z = np.arange(24.0).reshape(2, 4, 3).transpose(1, 0, 2)[:, :, :] / 10  # (4, 2, 3)
    zd = cuda.to_device(np.arange(24.0).reshape(2, 4, 3) / 10).transpose((1, 0, 2))
    assert _device.flat_device_value(g._placement().kernels, zd, (4, 2, 3), (), 1) is None
    close(g.log_prob(zd), d.log_prob(z))


def test_value_dtypes():
    d64 = MixtureSameFamily(Categorical(probs=np.array([0.3, 0.7])), Normal(np.array([-2.0, 2.0]), np.ones(2)))
    d32 = MixtureSameFamily(
        Categorical(probs=np.array([0.3, 0.7], np.float32)),
        Normal(np.array([-2.0, 2.0], np.float32), np.ones(2, np.float32)),
    )
    x = np.linspace(-3, 3, 9)
    for d in (d64, d32):
        g = d.to("cuda")
        for v in (x, x.astype(np.float32), np.arange(-4, 5)):
            ref = d.log_prob(v)
            close(g.log_prob(v), ref, ref.dtype)
            close(g.log_prob(cuda.to_device(v)), ref, ref.dtype)  # int device values: through the host
        assert host(g.sample((3,), rng=0)).dtype == d.dtype
        assert host(g.mean).dtype == d.dtype


def test_prob_and_stddev_on_device():
    d = MixtureSameFamily(Categorical(probs=np.array([0.3, 0.7])), Normal(np.array([-2.0, 2.0]), np.ones(2)))
    x = np.linspace(-3, 3, 9)
    close(d.to("cuda").prob(x), d.prob(x))
    close(d.to("cuda").stddev, np.asarray(d.stddev))
    n = Normal(np.array([0.0, 1.0]), np.array([1.0, 3.0]))
    close(n.to("cuda").icdf(cuda.to_device(np.array([0.25, 0.5]))), n.icdf(np.array([0.25, 0.5])))


def test_paths_without_a_kernel_compute_on_host_and_return_device_arrays():
    """Components with no CUDA kernel (Independent over MultivariateNormal) take the host path."""
    loc = np.array([[[0.0, 0.0], [1.0, -1.0]], [[2.0, 2.0], [0.0, 1.0]]])  # (K=2, 2, D=2)
    comp = Independent(MultivariateNormal(loc, covariance_matrix=np.eye(2)), 1)  # batch (2,), event (2, 2)
    d = MixtureSameFamily(Categorical(probs=np.array([0.4, 0.6])), comp)
    g = d.to("cuda")
    x = d.sample((4,), rng=3)
    close(g.log_prob(x), d.log_prob(x))
    close(g.log_prob(cuda.to_device(x)), d.log_prob(x))
    s, i = g.sample((4,), rng=3, return_index=True)
    s0, i0 = d.sample((4,), rng=3, return_index=True)
    assert np.array_equal(host(i), i0)
    close(s, s0)


def test_cpu_distribution_with_a_device_value_copies_it_to_the_host():
    d = Normal(0.0, 1.0)
    x = np.linspace(-1, 1, 5)
    out = d.log_prob(cuda.to_device(x))
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, d.log_prob(x))


def test_device_value_errors_name_the_value():
    g = MultivariateNormal(np.zeros(3), covariance_matrix=np.eye(3)).to("cuda")
    with pytest.raises(ValueError, match=r"value of shape \(4, 2\) does not end with event_shape \(3,\)"):
        g.log_prob(cuda.to_device(np.zeros((4, 2))))
    b = Normal(np.zeros(3), 1.0).to("cuda")
    with pytest.raises(ValueError, match=r"value of shape \(4,\) does not broadcast"):
        b.log_prob(cuda.to_device(np.zeros(4)))
    c = Categorical(probs=np.array([0.5, 0.5]), validate_args=True).to("cuda")
    with pytest.raises(ValueError, match="outside the support"):
        c.log_prob(cuda.to_device(np.array([0.0, 2.0])))


def test_empty_shapes():
    d = MixtureSameFamily(Categorical(probs=np.array([0.3, 0.7])), Normal(np.array([-2.0, 2.0]), np.ones(2)))
    g = d.to("cuda")
    assert host(g.sample((0,))).shape == (0,)
    assert host(g.log_prob(np.zeros((0,)))).shape == (0,)
    assert host(g.log_prob(cuda.to_device(np.zeros((0, 1))))).shape == (0, 1)
    assert host(Normal(np.zeros((2, 0)), 1.0).to("cuda").log_prob(0.0)).shape == (2, 0)


def test_tables_are_copied_once_per_distribution():
    d = MixtureSameFamily(Categorical(probs=np.array([0.3, 0.7])), Normal(np.array([-2.0, 2.0]), np.ones(2)))
    g = d.to("cuda")
    x = np.linspace(-3, 3, 5)
    g.log_prob(x)
    cache = g._placement().cache
    n = len(cache)
    for _ in range(3):
        g.log_prob(x)
        g.log_prob(cuda.to_device(x))
    assert len(cache) == n == 1
    g.sample((2,), rng=0)
    g.sample((3,), rng=1)
    assert len(cache) == 2


def test_moments_kernel_batched_mvn():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(2, 3, 2, 2))
    cov = A @ np.swapaxes(A, -1, -2) + np.eye(2)
    d = MixtureSameFamily(
        Categorical(logits=rng.normal(size=(2, 3))),
        MultivariateNormal(rng.normal(size=(2, 3, 2)), covariance_matrix=cov),
    )
    g = d.to("cuda")
    close(g.mean, d.mean)
    close(g.variance, d.variance)
    assert math.isclose(float(host(g.mean)[1, 0]), float(d.mean[1, 0]), rel_tol=1e-12)


def test_log_prob_grad_against_cpu():
    """The CUDA gradient loop (one thread per point, atomic row sums) against the CPU's: a
    Normal mixture with a zero weight and per-row parameters (probs, so the zero weight's
    ratio is summed too), a mixture of Independent Gamma vectors, a MultivariateNormal mixture."""
    rng = np.random.default_rng(0)
    probs = np.array([[0.5, 0.0, 0.5], [0.2, 0.3, 0.5]])
    cases = [
        (
            MixtureSameFamily(Categorical(probs=probs), Normal(rng.normal(size=(2, 3)), rng.uniform(0.5, 2, (2, 3)))),
            rng.normal(0, 3, (4, 2)),
            ("value", "probs", "logits", "loc", "scale"),
        ),
        (
            MixtureSameFamily(
                Categorical(logits=np.array([0.1, -0.3])),
                Independent(mixstat.distributions.Gamma(rng.uniform(1, 3, (2, 3)), rng.uniform(0.5, 2, (2, 3))), 1),
            ),
            rng.gamma(2.0, 1.0, (3, 3)),
            ("value", "logits", "concentration", "rate"),
        ),
        (
            MixtureSameFamily(
                Categorical(logits=np.array([0.2, -0.1])),
                MultivariateNormal(
                    rng.normal(size=(2, 2)), scale_tril=np.array([[[1.0, 0], [0.3, 0.8]], [[0.7, 0], [-0.2, 1.1]]])
                ),
            ),
            rng.normal(size=(3, 2)),
            ("value", "loc", "scale_tril"),
        ),
    ]
    for d, x, wrt in cases:
        cot = rng.normal(size=d.log_prob(x).shape)
        lp, g = d.log_prob_grad(x, wrt=wrt, cotangent=cot)
        lpg, gg = d.to("cuda").log_prob_grad(x, wrt=wrt, cotangent=cot)
        np.testing.assert_allclose(lpg, lp, **tol(np.float64))
        for k in wrt:
            assert gg[k].shape == g[k].shape and gg[k].dtype == g[k].dtype
            np.testing.assert_allclose(gg[k], g[k], **tol(np.float64))


def test_sample_grad_against_cpu():
    """The CUDA implicit-reparameterisation loop (one thread per sample, atomic row sums)
    against the CPU's: a Normal mixture with a zero weight and per-row parameters, samples in
    both tails (where the weights' terms switch from the lower to the upper side), a zero
    cotangent; a Gamma mixture (rate), a plain Laplace; float32 distributions."""
    rng = np.random.default_rng(1)
    G = mixstat.distributions
    cases = [
        (
            MixtureSameFamily(
                Categorical(probs=np.array([[0.5, 0.0, 0.5], [0.2, 0.3, 0.5]])),
                Normal(rng.normal(size=(2, 3)), rng.uniform(0.5, 2, (2, 3))),
            ),
            np.concatenate([rng.normal(0, 2, (5, 2)), [[-30.0, 25.0]]]),
            None,
        ),
        (
            MixtureSameFamily(
                Categorical(logits=np.array([0.3, -0.2])), G.Gamma(np.array([1.5, 4.0]), np.array([1.0, 0.5]))
            ),
            rng.gamma(2.0, 2.0, 7),
            ("logits", "rate"),
        ),
        (G.Laplace(np.array([0.0, 1.0]), np.array([1.0, 2.0])), rng.normal(0, 2, (6, 2)), ("loc", "scale")),
        (
            MixtureSameFamily(
                Categorical(logits=np.array([0.1, 0.4], dtype=np.float32)),
                Normal(np.array([-1.0, 1.0], dtype=np.float32), np.array([0.5, 1.5], dtype=np.float32)),
            ),
            rng.normal(size=5).astype(np.float32),
            ("probs", "loc", "scale"),
        ),
    ]
    for d, x, wrt in cases:
        cot = rng.normal(size=x.shape)
        cot.reshape(-1)[1] = 0.0  # skipped
        g = d.sample_grad(x, cotangent=cot, wrt=wrt)
        gg = d.to("cuda").sample_grad(x, cotangent=cot, wrt=wrt)
        assert sorted(gg) == sorted(g)
        for k in g:
            assert gg[k].shape == g[k].shape and gg[k].dtype == g[k].dtype
            np.testing.assert_allclose(gg[k], g[k], **tol(np.float64 if g[k].dtype == np.float64 else np.float32))
            assert np.all(np.isfinite(g[k]))


def test_normal_mixture_rows_grad_against_cpu():
    """The per-row Normal-mixture gradient kernel (one thread per row, ``row_exact``) against the
    CPU's SIMD kernel: two samples per row, a -inf logit, a NaN value, float64 and float32."""
    from mixstat.distributions._grad import normal_rows_grad
    from mixstat.kernels import cuda as kc

    rng = np.random.default_rng(1)
    B, K = 19, 3
    for dt in (np.float64, np.float32):
        logits = rng.normal(size=(B, K)).astype(dt)
        logits[2, 1] = -np.inf
        loc = rng.normal(size=(B, K)).astype(dt)
        scale = rng.uniform(0.5, 2, (B, K)).astype(dt)
        x = rng.normal(0, 3, (2, B)).astype(dt)
        x[1, 4] = np.nan
        cot = rng.normal(size=2 * B).astype(dt)
        bad, *want = normal_rows_grad(logits, loc, scale, x, cot.reshape(2, B))
        assert bad == 0
        dev = [kc.to_device(np.ascontiguousarray(a)) for a in (x, logits, loc, scale, cot)]
        outs = [kc.empty((2 * B,), dt), kc.empty((2 * B,), dt)] + [kc.empty((B, K), dt) for _ in range(3)]
        kc.launch("normal_mixture_rows_grad", None, B, *dev, *outs)
        got = [kc.to_host(o) for o in outs]
        for g, w in zip(got, want):
            assert g.dtype == dt
            # float32: the CPU kernel computes in float32, the CUDA loop in float64
            np.testing.assert_allclose(
                g.reshape(w.shape), w, **(dict(rtol=1e-4, atol=1e-5) if dt == np.float32 else tol(dt))
            )


def test_normal_mixture_rows_against_cpu():
    """A mixture of Normals with per-row ``(B, K)`` parameters on CUDA takes the per-row twin
    (one thread per point, :func:`mixstat.kernels.rows.point_exact`): the CPU's values, a
    -inf logit (zero weight), NaN and infinite values, float64 and float32, ``out=`` on the
    device; and the raw-logits form (``normalise=1``) launched directly against NumPy."""
    from mixstat.distributions import Categorical, MixtureSameFamily, Normal
    from mixstat.kernels import cuda as kc

    rng = np.random.default_rng(2)
    B, K = 23, 4
    for dt in (np.float64, np.float32):
        logits = rng.normal(size=(B, K)).astype(dt)
        logits[3, 1] = -np.inf
        loc = rng.normal(size=(B, K)).astype(dt)
        scale = rng.uniform(0.5, 2, (B, K)).astype(dt)
        x = rng.normal(0, 3, B).astype(dt)
        x[5], x[6] = np.nan, np.inf
        d = MixtureSameFamily(Categorical(logits=logits), Normal(loc, scale))
        want = d.log_prob(x)
        dc = d.to("cuda")
        got = dc.log_prob(x)
        assert got.dtype == dt and got.shape == (B,)
        assert np.isnan(got[5]) and got[6] == -np.inf
        np.testing.assert_allclose(got, want, **tol(dt))
        assert ("normal_mixture_rows", None) in kc.OPS
        out = kc.empty((B,), dt)
        r = dc.log_prob(kc.to_device(x), out=out)
        np.testing.assert_allclose(kc.to_host(out), want, **tol(dt))
        assert kc.to_host(r).shape == (B,)
        # raw logits, normalised per row in the kernel
        raw = (logits + rng.normal(size=(B, 1))).astype(dt)
        res = kc.empty((B,), dt)
        dev = [kc.to_device(np.ascontiguousarray(a)) for a in (x.reshape(1, B, 1), raw, loc, scale)]
        kc.launch("normal_mixture_rows", None, B, *dev, np.int64(1), res)
        with np.errstate(invalid="ignore", divide="ignore"):
            lw = raw.astype(np.float64) - np.logaddexp.reduce(raw.astype(np.float64), -1, keepdims=True)
            t = lw - 0.5 * ((x[:, None] - loc) / scale) ** 2 - np.log(scale) - 0.5 * np.log(2 * np.pi)
            ref = np.logaddexp.reduce(t.astype(np.float64), -1)
        ok = np.isfinite(x)
        np.testing.assert_allclose(kc.to_host(res)[ok], ref[ok], **tol(dt))
