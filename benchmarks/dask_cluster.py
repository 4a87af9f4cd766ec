"""log_prob and sampling of 10⁹ points through a Dask ``LocalCluster`` (worker processes).

Workload: one 1-D mixture of K Normal components (W1's parameters, default K = 16),
float64.  Through the cluster (``--workers`` processes, 1 thread and 1 numba thread each,
sharing the kernel cache), one compute per row:

* ``sample``: ``dist.sample((N,), rng, chunks=C).sum()`` (every block drawn in its own
  task at its offset; only the block sums come back);
* ``log_prob``: ``dist.log_prob(v).sum()`` of ``v`` an affine ramp over [-12, 12] made
  in each task (``da.arange``: about 1 ns a point, small beside log_prob);
* ``sample → log_prob``: ``dist.log_prob(dist.sample(...)).sum()``, the pipeline of
  ``docs/dask.md``.

In the same run, the in-process throughput of the same per-chunk calls (a loop over
``--inproc-chunks`` chunks of C points) with 1 numba thread and with all of them.
Printed: wall seconds, points per second, points per second per worker, and the ratio
of the per-worker figure to the 1-thread in-process one (1.0: the cluster adds nothing).

Run ``python benchmarks/dask_cluster.py [--n 1e9] [--chunk 1e7] [--workers 2]``
(``--quick``: N = 1e8).  The cluster's start (worker processes importing mixstat and
loading the kernels) is timed apart and not included in the rows.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _dist(K):
    from mixstat.distributions import Categorical, MixtureSameFamily, Normal

    rng = np.random.default_rng(0)
    w = rng.dirichlet(np.ones(K))
    return MixtureSameFamily(Categorical(probs=w), Normal(rng.normal(0, 3, K), rng.uniform(0.5, 2.0, K)))


def _ramp(N, C):
    import dask.array as da

    return da.arange(N, chunks=C, dtype=np.float64) * (24.0 / N) - 12.0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=float, default=1e9, help="points per row (default 1e9)")
    p.add_argument("--chunk", type=float, default=1e7, help="points per block (default 1e7)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    p.add_argument("--k", type=int, default=16, help="mixture components (default 16)")
    p.add_argument("--inproc-chunks", type=int, default=5, help="chunks timed in process (default 5)")
    p.add_argument("--quick", action="store_true", help="N = 1e8")
    a = p.parse_args(argv)
    N = int(1e8 if a.quick else a.n)
    C = int(a.chunk)
    import dask
    import numba
    from dask.distributed import Client, LocalCluster

    dist = _dist(a.k)
    cache = os.environ.get("MIXSTAT_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "mixstat"
    )
    print(
        f"# dask_cluster: N = {N:.3g} points, blocks of {C:.3g}, K = {a.k}, {a.workers} worker processes "
        f"(1 thread each); {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"numba {numba.__version__}, dask {dask.__version__}; load average {os.getloadavg()[0]:.2f}"
    )

    # in process: warm the kernels, then time the same per-chunk calls
    x0 = np.linspace(-12.0, 12.0, C)
    dist.log_prob(x0)
    dist.sample((C,), 0)
    rows = []
    threads_all = numba.get_num_threads()
    for nt in sorted({1, threads_all}):
        numba.set_num_threads(nt)
        t0 = time.perf_counter()
        for i in range(a.inproc_chunks):
            dist.sample((C,), i).sum()
        ts = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(a.inproc_chunks):
            dist.log_prob(x0).sum()
        tl = time.perf_counter() - t0
        n = a.inproc_chunks * C
        rows.append((f"in process, {nt} numba thread(s)", "sample", n, ts, 1))
        rows.append((f"in process, {nt} numba thread(s)", "log_prob", n, tl, 1))
    numba.set_num_threads(threads_all)

    t0 = time.perf_counter()
    env = {"MIXSTAT_CACHE_DIR": cache, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalCluster(
            n_workers=a.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            env=env,
            local_directory=tmp,
        ) as cluster,
        Client(cluster) as client,
    ):
        # warm: every worker imports mixstat and loads the kernels
        client.compute(dist.log_prob(dist.sample((a.workers * 1000,), 0, chunks=1000)).sum(), sync=True)
        start_s = time.perf_counter() - t0
        print(f"# cluster start + kernel loads on the workers: {start_s:.1f} s")
        jobs = [
            ("sample", lambda: dist.sample((N,), 1, chunks=C).sum()),
            ("log_prob", lambda: dist.log_prob(_ramp(N, C)).sum()),
            ("sample → log_prob", lambda: dist.log_prob(dist.sample((N,), 2, chunks=C)).sum()),
        ]
        for name, make in jobs:
            graph = make()
            t0 = time.perf_counter()
            value = client.compute(graph, sync=True)
            wall = time.perf_counter() - t0
            assert np.isfinite(value)
            rows.append((f"LocalCluster, {a.workers} processes", name, N, wall, a.workers))
    base = {r[1]: r[2] / r[3] for r in rows if r[0].startswith("in process, 1 ")}
    print(
        "| where | operation | points | wall s | points/s | points/s per worker | per worker / in process (1 thread) |"
    )
    print("|---|---|---|---|---|---|---|")
    for where, op, n, wall, workers in rows:
        rate = n / wall
        ref = base.get(op)
        if ref is None and op == "sample → log_prob":
            ref = 1.0 / (1.0 / base["sample"] + 1.0 / base["log_prob"])
        ratio = f"{rate / workers / ref:.2f}" if ref else ""
        print(
            f"| {where} | {op} | {n:.3g} | {wall:.2f} | {rate / 1e6:.1f} M | {rate / workers / 1e6:.1f} M | {ratio} |"
        )
    print(f"# load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
