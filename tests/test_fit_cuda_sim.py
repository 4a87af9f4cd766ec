"""``fit_mixture(..., device="cuda")``: the CUDA EM kernels against the CPU fit.

Runs, as ``tests/test_cuda_sim.py``, only with ``NUMBA_ENABLE_CUDASIM=1`` set before numba is
imported, in a pytest process of its own (``make test`` does this), or on a real GPU with
``MIXSTAT_CUDA_DEVICE_TESTS=1``.  The simulator runs each GPU thread as Python: the data are
small, and ``PTS`` (points per slot) is lowered so that every fit spans several slots and
both simulated blocks.

Tolerance: a device fit equals the CPU fit from the same seeds within 1e-9 relative (the
log-likelihood trajectory and every parameter).  The two sum in different orders (the CPU
in tiles of blocks, the GPU point by point in slots) and the CPU uses its polynomial
``exp``/``log``; a few EM iterations keep the difference near 1e-14 here.
"""

import os

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

from numba import cuda  # noqa: E402

import mixstat  # noqa: E402
from mixstat import distributions as dist  # noqa: E402
from mixstat.fitting import _cuda  # noqa: E402

RTOL = 1e-9


@pytest.fixture(autouse=True)
def _small_slots(monkeypatch):
    if SIMULATOR:
        monkeypatch.setattr(_cuda, "PTS", 16)


def _params(d):
    """Every parameter array of a fitted mixture, by name."""
    comp = d.component_distribution
    base = comp.base_dist if isinstance(comp, dist.Independent) else comp
    out = {"probs": np.asarray(d.mixture_distribution.probs)}
    for n in ("loc", "scale", "rate", "probs", "concentration", "df", "covariance_matrix"):
        if hasattr(base, n):
            out[n] = np.asarray(getattr(base, n))
    return out


def _same_fit(gpu, cpu, rtol=RTOL):
    assert gpu.distribution.device == "cuda"
    assert gpu.distribution.batch_shape == cpu.distribution.batch_shape
    # an iteration that changes nothing ends a fit (tol=0): where EM reaches its fixed point,
    # rounding may end one fit an iteration before the other
    same = np.asarray(gpu.n_iter == cpu.n_iter)
    assert np.all(same | (np.asarray(gpu.converged) & np.asarray(cpu.converged)))
    T = min(len(gpu.log_likelihood), len(cpu.log_likelihood))
    np.testing.assert_allclose(gpu.log_likelihood[:T], cpu.log_likelihood[:T], rtol=rtol)
    np.testing.assert_allclose(gpu.final_log_likelihood, cpu.final_log_likelihood, rtol=rtol)
    pg, pc = _params(gpu.distribution), _params(cpu.distribution)
    assert pg.keys() == pc.keys()
    for n in pc:
        np.testing.assert_allclose(pg[n], pc[n], rtol=rtol, atol=1e-12, err_msg=n)


def _scalar_case(name, g):
    """(data, component, options) for a scalar family: two well separated components."""
    n1, n2 = 90, 60
    if name == "Normal":
        return np.concatenate([g.normal(-2, 1, n1), g.normal(3, 0.5, n2)]), dist.Normal, {}
    if name == "LogNormal":
        return np.exp(np.concatenate([g.normal(-1, 0.3, n1), g.normal(1, 0.4, n2)])), dist.LogNormal, {}
    if name == "StudentT":
        return np.concatenate([g.standard_t(4, n1) - 3, g.standard_t(4, n2) + 3]), dist.StudentT, {}
    if name == "Gamma":
        return np.concatenate([g.gamma(2.0, 1.0, n1), g.gamma(20.0, 1.0, n2)]), dist.Gamma, {}
    if name == "VonMises":
        return np.concatenate([g.vonmises(-1.5, 4, n1), g.vonmises(1.5, 8, n2)]), dist.VonMises, {}
    if name == "Poisson":
        return np.concatenate([g.poisson(2, n1), g.poisson(15, n2)]).astype(float), dist.Poisson, {}
    if name == "Exponential":
        return np.concatenate([g.exponential(0.5, n1), g.exponential(5.0, n2)]), dist.Exponential, {}
    if name == "Geometric":
        return np.concatenate([g.geometric(0.6, n1) - 1, g.geometric(0.1, n2) - 1]).astype(float), dist.Geometric, {}
    if name == "Binomial":
        x = np.concatenate([g.binomial(10, 0.2, n1), g.binomial(10, 0.8, n2)]).astype(float)
        return x, dist.Binomial(total_count=10, probs=0.5), {}
    if name == "Bernoulli":
        p = np.array([0.1, 0.9, 0.2])
        x = (g.random((n1 + n2, 3)) < np.where(np.arange(n1 + n2)[:, None] < n1, p, 1 - p)).astype(float)
        return x, dist.Independent(dist.Bernoulli(probs=np.full(3, 0.5)), 1), {}
    if name == "Categorical":
        x = np.concatenate([g.choice(3, n1, p=[0.8, 0.1, 0.1]), g.choice(3, n2, p=[0.1, 0.1, 0.8])]).astype(float)
        return x, dist.Categorical, {"n_categories": 3}
    if name == "Independent(Normal)":
        x = np.concatenate([g.normal(-2, 1, (n1, 3)), g.normal(2, 0.5, (n2, 3))])
        return x, dist.Independent(dist.Normal(np.zeros(3), np.ones(3)), 1), {}
    raise KeyError(name)


SCALAR = [
    "Normal",
    "LogNormal",
    "StudentT",
    "Gamma",
    "VonMises",
    "Poisson",
    "Exponential",
    "Geometric",
    "Binomial",
    "Bernoulli",
    "Categorical",
    "Independent(Normal)",
]


def test_every_family_with_a_statistics_hook_is_covered():
    from mixstat.fitting._families import FIT_FAMILIES
    from mixstat.fitting._kernel import SUFF

    covered = {n.split("(")[-1].rstrip(")") for n in SCALAR}
    assert covered == set(FIT_FAMILIES)
    assert {FIT_FAMILIES[n].name for n in covered} == set(SUFF)


@pytest.mark.parametrize("name", SCALAR)
def test_scalar_family_matches_cpu(name):
    g = np.random.default_rng(SCALAR.index(name))
    x, comp, opts = _scalar_case(name, g)
    kw = dict(rng=3, max_iter=4, tol=0.0, **opts)
    _same_fit(mixstat.fit_mixture(x, comp, 2, device="cuda", **kw), mixstat.fit_mixture(x, comp, 2, **kw))


def _blobs(g, B=2, N=120, D=3):
    lab = np.arange(N) % 2
    return g.normal(size=(B, N, D)) * np.where(lab, 0.5, 1.0)[None, :, None] + 3.0 * lab[None, :, None]


@pytest.mark.parametrize("ct", ["full", "diag", "tied", "spherical"])
def test_gaussian_batched_matches_cpu(ct):
    g = np.random.default_rng(40)
    x = _blobs(g)
    w = g.integers(0, 3, x.shape[:2]).astype(float)  # zero weights among them
    kw = dict(rng=1, max_iter=4, tol=0.0, covariance_type=ct, sample_weight=w)
    gpu = mixstat.fit_mixture(x, dist.MultivariateNormal, 2, device="cuda", **kw)
    _same_fit(gpu, mixstat.fit_mixture(x, dist.MultivariateNormal, 2, **kw))


def test_gaussian_one_coordinate_and_batch_equals_one_at_a_time():
    """D = 1 (the diagonal loop); a batched device fit equals the one-at-a-time device fits bit
    for bit (from the same initial mixture: every entry's slots are its own)."""
    g = np.random.default_rng(41)
    x = _blobs(g, B=3, D=1)
    loc = np.stack([np.array([[0.0], [3.0]])] * 3) + 0.1 * np.arange(3)[:, None, None]
    init = dist.MixtureSameFamily(
        dist.Categorical(probs=np.full((3, 2), 0.5)), dist.MultivariateNormal(loc, covariance_matrix=np.eye(1))
    )
    kw = dict(max_iter=3, tol=0.0, device="cuda")
    fit = mixstat.fit_mixture(x, dist.MultivariateNormal, 2, init=init, **kw)
    _same_fit(fit, mixstat.fit_mixture(x, dist.MultivariateNormal, 2, init=init, max_iter=3, tol=0.0))
    for b in range(3):
        one_init = dist.MixtureSameFamily(
            dist.Categorical(probs=[0.5, 0.5]), dist.MultivariateNormal(loc[b], covariance_matrix=np.eye(1))
        )
        one = mixstat.fit_mixture(x[b], dist.MultivariateNormal, 2, init=one_init, **kw)
        np.testing.assert_array_equal(one.log_likelihood, fit.log_likelihood[:, b])
        np.testing.assert_array_equal(
            one.distribution.component_distribution.loc, fit.distribution.component_distribution.loc[b]
        )


def test_same_bits_at_any_launch_configuration(monkeypatch):
    from mixstat.kernels import cuda as kc

    g = np.random.default_rng(42)
    x = _blobs(g, B=1)[0]
    kw = dict(rng=2, max_iter=3, tol=0.0, device="cuda")
    base = mixstat.fit_mixture(x, dist.MultivariateNormal, 2, **kw)
    kc._config(1)  # fill the launch settings, then shrink the grid: more slots per thread
    monkeypatch.setitem(kc._launch, "tpb", 2)
    monkeypatch.setitem(kc._launch, "max_blocks", 1)
    again = mixstat.fit_mixture(x, dist.MultivariateNormal, 2, **kw)
    np.testing.assert_array_equal(base.log_likelihood, again.log_likelihood)
    np.testing.assert_array_equal(
        base.distribution.component_distribution.covariance_matrix,
        again.distribution.component_distribution.covariance_matrix,
    )


def test_device_follows_the_input_and_chunks_stream():
    g = np.random.default_rng(43)
    x = np.concatenate([g.normal(-2, 1, 80), g.normal(3, 0.5, 60)])
    kw = dict(rng=0, max_iter=3, tol=0.0)
    cpu = mixstat.fit_mixture(x, dist.Normal, 2, **kw)
    xd = cuda.to_device(x)
    _same_fit(mixstat.fit_mixture(xd, dist.Normal, 2, **kw), cpu)  # device=None: the input's device
    back = mixstat.fit_mixture(xd, dist.Normal, 2, device="cpu", **kw)
    assert back.distribution.device == "cpu"
    np.testing.assert_array_equal(back.log_likelihood, cpu.log_likelihood)
    # a stream of chunks: each chunk goes to the GPU on every pass
    chunks = [x[:50], x[50:]]
    _same_fit(mixstat.fit_mixture(chunks, dist.Normal, 2, device="cuda", **kw), cpu)
    with pytest.raises(ValueError, match="device must be"):
        mixstat.fit_mixture(x, dist.Normal, 2, device="gpu")
