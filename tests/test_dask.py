"""Dask arrays through the distribution methods (``mixstat/distributions/_dask.py``).

Lazy results (nothing computed while the graph is built), their dtype / meta / chunks,
the values of the in-memory calls, ``sample(..., chunks=)`` bit for bit for any chunking,
fitting on dask arrays, and the same bits when a worker process dies in the middle of a
compute.  The cluster is one ``LocalCluster`` of 2 worker processes for the session
(the ``dask_client`` fixture in ``conftest.py``); the tests form one xdist group.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys

import numpy as np
import pytest

import mixstat
import mixstat.distributions as D

da = pytest.importorskip("dask.array", reason="dask[array] is in the test extra")
dask = pytest.importorskip("dask")

pytestmark = pytest.mark.xdist_group("dask")


def _no_compute(*args, **kwargs):
    raise AssertionError("a dask compute was triggered while the graph was built")


@pytest.fixture
def lazy():
    """Any compute inside this context fails the test."""
    with dask.config.set(scheduler=_no_compute):
        yield


def _mix(dtype=np.float64):
    return D.MixtureSameFamily(
        D.Categorical(logits=np.log(np.array([0.2, 0.3, 0.5], dtype))),
        D.Normal(np.array([-1.0, 0.0, 2.0], dtype), np.array([1.0, 0.5, 2.0], dtype)),
    )


def _mvn():
    L = np.array([[1.0, 0.0], [0.4, 0.7]])
    return D.MixtureSameFamily(
        D.Categorical(probs=np.array([0.4, 0.6])),
        D.MultivariateNormal(np.array([[0.0, 1.0], [2.0, -1.0]]), scale_tril=np.stack([L, L])),
    )


VALUE_OPS = [
    "log_prob",
    "prob",
    "cdf",
    "log_cdf",
    "survival_function",
    "log_survival_function",
    "posterior_mode",
    "posterior_marginal",
]


def _reference(dist, op, x):
    r = getattr(dist, op)(x)
    return r.logits if op == "posterior_marginal" else r


def test_import_mixstat_imports_no_dask():
    code = (
        "import sys, mixstat, mixstat.distributions\n"
        "print(sorted(m for m in sys.modules if m.startswith(('dask', 'distributed'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("vdtype", [np.float64, np.float32])
def test_value_ops_lazy_dtype_meta_chunks(vdtype, lazy):
    dist = _mix(np.float32)
    xs = np.linspace(-6, 6, 1003).astype(vdtype)
    x = da.from_array(xs, chunks=200)
    for op in VALUE_OPS:
        r = getattr(dist, op)(x)
        assert isinstance(r, da.Array), op
        ref = _reference(dist, op, xs)  # in memory: no dask compute
        assert r.dtype == ref.dtype, op
        assert type(r._meta) is np.ndarray and r._meta.dtype == ref.dtype and r._meta.ndim == ref.ndim, op
        assert r.shape == ref.shape, op
        assert r.chunks[0] == x.chunks[0], op
    q = da.from_array(np.linspace(0.0, 1.0, 101, dtype=vdtype), chunks=40)
    r = dist.icdf(q)
    assert isinstance(r, da.Array) and r.chunks == q.chunks
    assert r.dtype == dist.icdf(np.linspace(0.0, 1.0, 101, dtype=vdtype)).dtype


def test_value_ops_equal_in_memory_on_the_cluster(dask_client):
    dist = _mix()
    xs = np.concatenate([np.linspace(-40, 40, 997), [np.nan, np.inf, -np.inf]])
    x = da.from_array(xs, chunks=137)
    graphs = [getattr(dist, op)(x) for op in VALUE_OPS]
    qs = np.linspace(0.0, 1.0, 257)
    graphs.append(dist.icdf(da.from_array(qs, chunks=64)))
    got = dask_client.compute(graphs, sync=True)
    for op, g in zip(VALUE_OPS, got):
        np.testing.assert_array_equal(g, _reference(dist, op, xs), err_msg=op)
    np.testing.assert_array_equal(got[-1], dist.icdf(qs))


def test_event_and_batch_dims_are_rechunked_and_broadcast(lazy):
    rng = np.random.default_rng(0)
    dist = _mvn()
    xs = rng.normal(size=(60, 2))
    x = da.from_array(xs, chunks=(25, 1))  # the event dim split: one block per event in the tasks
    r = dist.log_prob(x)
    assert r.chunks == ((25, 25, 10),)
    post = dist.posterior_marginal(x)
    assert post.shape == (60, 2) and post.chunks == ((25, 25, 10), (2,))
    normal = D.Normal(np.array([0.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0]))
    col = rng.normal(size=(50, 1))
    rb = normal.log_prob(da.from_array(col, chunks=(20, 1)))  # broadcast along the batch in each task
    assert rb.shape == (50, 3) and rb.chunks == ((20, 20, 10), (3,))
    full = rng.normal(size=(50, 3))
    rf = normal.cdf(da.from_array(full, chunks=(20, 2)))  # a batch dim split: one block per batch
    assert rf.chunks == ((20, 20, 10), (3,))
    short = normal.log_prob(da.from_array(np.array(0.5), chunks=()))  # a 0-d value
    assert short.shape == (3,)
    with dask.config.set(scheduler="sync"):
        np.testing.assert_array_equal(r.compute(), dist.log_prob(xs))
        np.testing.assert_array_equal(post.compute(), dist.posterior_marginal(xs).logits)
        np.testing.assert_array_equal(rb.compute(), normal.log_prob(col))
        np.testing.assert_array_equal(rf.compute(), normal.cdf(full))
        np.testing.assert_array_equal(short.compute(), normal.log_prob(np.array(0.5)))


def test_discrete_and_shape_errors(lazy):
    pois = D.Poisson(np.array([0.5, 3.0]))
    ks = np.arange(20).reshape(10, 2)
    r = pois.log_prob(da.from_array(ks, chunks=(4, 2)))
    assert r.dtype == pois.log_prob(ks).dtype == np.float64
    with dask.config.set(scheduler="sync"):
        np.testing.assert_array_equal(r.compute(), pois.log_prob(ks))
    with pytest.raises(ValueError, match="event_shape"):
        _mvn().log_prob(da.zeros((10, 3), chunks=5))
    with pytest.raises(ValueError, match="batch_shape"):
        pois.log_prob(da.zeros((10, 3), chunks=5))


def test_out_and_device_errors_with_dask_values(lazy):
    dist = _mix()
    x = da.zeros(10, chunks=5)
    with pytest.raises(ValueError, match="out= cannot be used with a dask array"):
        dist.log_prob(x, out=np.empty(10))
    with pytest.raises(ValueError, match="out= cannot be used with a dask array"):
        dist.sample((10,), 0, chunks=5, out=np.empty(10))
    with pytest.raises(ValueError, match="method='random'"):
        dist.sample((10,), 0, chunks=5, method="qmc")
    with pytest.raises(ValueError, match="return_index"):
        dist.sample((10,), 0, chunks=5, return_index=True)
    with pytest.raises(ValueError, match="chunks="):
        dist.sample((10,), 0, chunks=(5, 2))  # chunks must add up to sample_shape
    with pytest.raises(ValueError, match="not a sample dim"):
        D.Normal(np.zeros(3), 1.0).sample((10,), 0, chunks={1: 2})  # chunks split the sample dims only


def test_pickle_leaves_cached_tables_out():
    K = 1000
    dist = D.MixtureSameFamily(D.Categorical(probs=np.full(K, 1.0 / K)), D.Normal(np.arange(K) * 1.0, np.ones(K)))
    xs = np.linspace(-1, 1, 5)
    before = pickle.dumps(dist)
    dist.log_prob(xs)
    dist.cdf(xs)
    ref = dist.sample((50,), 3)
    specs = dist.component_distribution._specs
    tables = sum(s.table.nbytes for s in specs.values() if s is not None)
    assert tables >= 3 * 8 * K and "_cum" in dist.mixture_distribution.__dict__
    after = pickle.dumps(dist)
    # no table and no cumulative weights; at most the logits derived from the probs (K floats)
    assert len(after) - len(before) <= 8 * K + 512
    back = pickle.loads(after)
    assert back.component_distribution._specs == {} and "_cum" not in back.mixture_distribution.__dict__
    assert dist.component_distribution._specs is specs  # pickling leaves the original's caches alone
    np.testing.assert_array_equal(back.log_prob(xs), dist.log_prob(xs))
    np.testing.assert_array_equal(back.sample((50,), 3), ref)


SAMPLE_CASES = {
    "mixture": (lambda: _mix(), (101,), [1, 7, 50, 101, ((60, 41),)]),
    "mixture-float32-2d": (lambda: _mix(np.float32), (13, 9), [(4, 3), (13, 2), (1, 9), ((5, 8), (9,))]),
    "normal-batch": (lambda: D.Normal(np.zeros(3), np.array([1.0, 2.0, 3.0])), (40,), [3, 40, 16]),
    "mvn-mixture": (_mvn, (6, 7), [(2, 7), (6, 3), (1, 1)]),
    "categorical": (lambda: D.Categorical(probs=np.array([[0.1, 0.9], [0.5, 0.5]])), (30,), [4, 30]),
}


@pytest.mark.parametrize("case", list(SAMPLE_CASES))
def test_sample_chunks_bit_for_bit(case, lazy):
    make, shape, chunkings = SAMPLE_CASES[case]
    dist = make()
    ref = dist.sample(shape, 2024)
    for chunks in chunkings:
        s = dist.sample(shape, 2024, chunks=chunks)
        assert isinstance(s, da.Array) and s.dtype == ref.dtype and s.shape == ref.shape
        assert s._meta.dtype == ref.dtype and s._meta.ndim == ref.ndim
        assert s.chunks[len(shape) :] == tuple((n,) for n in ref.shape[len(shape) :])
        with dask.config.set(scheduler="threads"):
            np.testing.assert_array_equal(s.compute(num_workers=2), ref, err_msg=str(chunks))


def test_sample_chunks_default_source_and_generator(lazy):
    dist = _mix()
    mixstat.manual_seed(11)
    s = dist.sample((64,), chunks=10)  # takes the next key of the default source, as in memory
    follow = dist.sample((3,))
    mixstat.manual_seed(11)
    ref = dist.sample((64,))
    np.testing.assert_array_equal(dist.sample((3,)), follow)
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    sg = dist.sample((20,), g1, chunks=7)
    rg = dist.sample((20,), g2)
    with dask.config.set(scheduler="sync"):
        np.testing.assert_array_equal(s.compute(), ref)
        np.testing.assert_array_equal(sg.compute(), rg)


def test_sample_on_the_cluster_bit_for_bit(dask_client):
    dist = _mvn()
    ref = dist.sample((500, 3), 99)
    for chunks in [(64, 3), (500, 1), (7, 2)]:
        got = dask_client.compute(dist.sample((500, 3), 99, chunks=chunks), sync=True)
        np.testing.assert_array_equal(got, ref, err_msg=str(chunks))


def test_pipeline_sample_log_prob_reduce(dask_client):
    dist = _mix()
    s = dist.sample((4000,), 1, chunks=500)
    mean_lp = dist.log_prob(s).mean()
    ref = dist.log_prob(dist.sample((4000,), 1))
    got = dask_client.compute(mean_lp, sync=True)
    np.testing.assert_allclose(got, ref.mean(), rtol=1e-13)


def test_xarray_apply_ufunc_with_the_facade():
    xr = pytest.importorskip("xarray", reason="xarray is in the test extra")
    dist = _mix()
    xs = np.linspace(-3, 3, 120).reshape(40, 3)
    arr = xr.DataArray(da.from_array(xs, chunks=(10, 3)), dims=("time", "site"))
    with dask.config.set(scheduler=_no_compute):
        out = xr.apply_ufunc(dist.log_prob, arr, dask="allowed")
    assert isinstance(out.data, da.Array) and out.dims == ("time", "site")
    with dask.config.set(scheduler="sync"):
        np.testing.assert_array_equal(out.values, dist.log_prob(xs))


# -- faults: a worker process dies in the middle of a compute ----------------------------
def _die_once(block, flag, block_id=None):
    """Kill this worker process the first time block 2 is seen (a file marks the first time)."""
    if block_id is not None and block_id[0] == 2 and not os.path.exists(flag):
        with open(flag, "w") as f:
            f.write(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return block


def _worker_pids(client):
    return set(client.run(os.getpid).values())


def test_worker_killed_during_sample_same_bits(dask_client, tmp_path):
    dist = _mix()
    flag = str(tmp_path / "killed")
    s = dist.sample((6000, 2), 31, chunks=(500, 2))
    pids = _worker_pids(dask_client)
    got = dask_client.compute(s.map_blocks(_die_once, flag, dtype=s.dtype), sync=True)
    assert os.path.exists(flag), "no worker was killed"
    with open(flag) as f:
        assert int(f.read()) in pids  # a worker of the cluster died
    np.testing.assert_array_equal(got, dist.sample((6000, 2), 31))
    dask_client.wait_for_workers(2, timeout=60)


def test_worker_killed_during_log_prob_same_bits(dask_client, tmp_path):
    dist = _mvn()
    xs = np.random.default_rng(3).normal(size=(5000, 2)) * 3
    flag = str(tmp_path / "killed")
    lp = dist.log_prob(da.from_array(xs, chunks=(400, 2)))
    pids = _worker_pids(dask_client)
    got = dask_client.compute(lp.map_blocks(_die_once, flag, dtype=lp.dtype), sync=True)
    assert os.path.exists(flag), "no worker was killed"
    with open(flag) as f:
        assert int(f.read()) in pids  # a worker of the cluster died
    np.testing.assert_array_equal(got, dist.log_prob(xs))
    dask_client.wait_for_workers(2, timeout=60)


# -- fitting on dask arrays ------------------------------------------------------------------
def _two_clusters(n, d=None, seed=0):
    rng = np.random.default_rng(seed)
    shape = (n,) if d is None else (n, d)
    x = np.concatenate([rng.normal(-2.0, 1.0, shape), rng.normal(3.0, 0.5, shape)])
    return x[rng.permutation(len(x))]


def _same_fit(a, b, tol=1e-10):
    da_, db_ = a.distribution, b.distribution
    np.testing.assert_allclose(db_.mixture_distribution.probs, da_.mixture_distribution.probs, rtol=0, atol=tol)
    ca, cb = da_.component_distribution, db_.component_distribution
    for name in ("loc", "scale", "covariance_matrix"):
        if hasattr(ca, name):
            np.testing.assert_allclose(getattr(cb, name), getattr(ca, name), rtol=tol, atol=tol, err_msg=name)
    np.testing.assert_allclose(b.log_likelihood, a.log_likelihood, rtol=tol)
    np.testing.assert_array_equal(b.n_iter, a.n_iter)


def test_fit_mixture_on_the_cluster_equals_in_memory(dask_client):
    x = np.stack([_two_clusters(1500, seed=1), _two_clusters(1500, seed=2)])  # a batch of 2 fits
    w = np.random.default_rng(4).uniform(0.2, 2.0, x.shape)
    X = _two_clusters(1000, d=2, seed=3)
    ref = mixstat.fit_mixture(x, D.Normal, 2, sample_weight=w, rng=0, tol=1e-9)
    ref_mvn = mixstat.fit_mixture(X, D.MultivariateNormal, 2, rng=0, tol=1e-9)
    with dask_client.as_current():
        got = mixstat.fit_mixture(da.from_array(x, chunks=(1, 700)), D.Normal, 2, sample_weight=w, rng=0, tol=1e-9)
        got_mvn = mixstat.fit_mixture(da.from_array(X, chunks=(300, 1)), D.MultivariateNormal, 2, rng=0, tol=1e-9)
    _same_fit(ref, got)
    _same_fit(ref_mvn, got_mvn)


def test_fit_mixture_dask_validation_errors_as_in_memory(lazy):
    x = np.stack([_two_clusters(900, seed=7), _two_clusters(900, seed=8)])
    x[1, 650] = np.nan
    x[0, 800] = np.inf
    counts = np.random.default_rng(9).poisson(3.0, (2, 900)).astype(np.float64)
    counts[1, 444] = -1.0
    cats = np.random.default_rng(10).integers(0, 4, 900).astype(np.float64)
    cats[500] = 1.5
    for data, comp in ((x, D.Normal), (counts, D.Poisson), (cats, D.Categorical)):
        with pytest.raises(ValueError) as ref:
            mixstat.fit_mixture(data, comp, 2, rng=0)
        with dask.config.set(scheduler="sync"), pytest.raises(ValueError) as got:
            mixstat.fit_mixture(da.from_array(data, chunks=(1, 200) if data.ndim == 2 else 200), comp, 2, rng=0)
        assert str(got.value) == str(ref.value)
    cats[500] = 5.0  # categories inferred from the largest value, as in memory
    ref = mixstat.fit_mixture(cats, D.Categorical, 2, rng=0)
    with dask.config.set(scheduler="sync"):
        got = mixstat.fit_mixture(da.from_array(cats, chunks=300), D.Categorical, 2, rng=0)
    assert got.distribution.component_distribution.probs.shape == ref.distribution.component_distribution.probs.shape
    np.testing.assert_allclose(
        got.distribution.component_distribution.probs,
        ref.distribution.component_distribution.probs,
        rtol=1e-10,
        atol=1e-12,
    )


def test_fit_mixture_one_compute_per_iteration():
    import dask.threaded

    calls = []

    def counting(dsk, keys, **kwargs):
        calls.append(keys)
        return dask.threaded.get(dsk, keys, **kwargs)

    x = da.from_array(_two_clusters(2000), chunks=500)
    counts = {}
    for it in (1, 3):
        calls.clear()
        with dask.config.set(scheduler=counting):
            fit = mixstat.fit_mixture(x, D.Normal, 2, rng=0, tol=0.0, max_iter=it)
        assert fit.n_iter == it
        counts[it] = len(calls)
    assert counts[3] - counts[1] == 2  # one compute per EM iteration (E-step sums of all blocks)


def test_gaussian_mixture_fit_on_dask_equals_in_memory(dask_client):
    pytest.importorskip("sklearn", reason="scikit-learn is in the test extra")
    from mixstat.mixture import GaussianMixture

    X = _two_clusters(1200, d=2, seed=5)
    w = np.random.default_rng(6).uniform(0.5, 2.0, len(X))
    for ct in ("full", "diag"):
        ref = GaussianMixture(2, covariance_type=ct, random_state=0, tol=1e-9).fit(X, sample_weight=w)
        given = dict(weights_init=ref.weights_, means_init=ref.means_ + 0.1, precisions_init=ref.precisions_)
        ref2 = GaussianMixture(2, covariance_type=ct, tol=1e-9, **given).fit(X)
        with dask_client.as_current():
            got = GaussianMixture(2, covariance_type=ct, random_state=0, tol=1e-9).fit(
                da.from_array(X, chunks=(500, 1)), sample_weight=w
            )
            got2 = GaussianMixture(2, covariance_type=ct, tol=1e-9, **given).fit(da.from_array(X, chunks=(300, 2)))
        for a, b in ((ref, got), (ref2, got2)):
            assert a.n_iter_ == b.n_iter_
            for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
                np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-10, atol=1e-10, err_msg=name)
            np.testing.assert_allclose(b.lower_bound_, a.lower_bound_, rtol=1e-10)
    bad = X.copy()
    bad[777, 1] = np.nan
    with pytest.raises(ValueError, match="row 777"):
        GaussianMixture(2).fit(da.from_array(bad, chunks=(300, 2)))
