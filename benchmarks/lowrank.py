"""LowRankMultivariateNormal mixture log_prob beside torch's and mixstat's dense MultivariateNormal.

    python benchmarks/lowrank.py [--n N] [--k K] [--d D] [--r R] [--repeats R] [--threads T]

A K = 16 mixture of D = 64, rank r = 4 components at N = 1e6 points, float64:

* mixstat ``MixtureSameFamily(Categorical, LowRankMultivariateNormal)``;
* torch ``MixtureSameFamily(Categorical, LowRankMultivariateNormal)`` (target: >= 10x slower);
* mixstat ``MixtureSameFamily(Categorical, MultivariateNormal)`` on the same dense
  covariances ``W W^T + diag(d)`` (target: >= 5x slower).

torch's ``log_prob`` broadcasts ``W^T D^-1`` to ``(points, K, r, D)`` (32 GB for one
call at N = 1e6), so it is called on chunks of ``--torch-chunk`` points (4096:
128 MiB temporaries).  Values are checked equal first (relative 1e-9 against the dense mixture, 1e-8
against torch, whose float64 Woodbury is the same formula) on the first 20000
points; each figure is the median wall time of timed repeats after a warm-up
call, with the user and system CPU time per call, and the fraction of
the CPUs that other processes used meanwhile.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from common import CpuMonitor

from mixstat.distributions import Categorical, LowRankMultivariateNormal, MixtureSameFamily, MultivariateNormal


def timed(fn, repeats):
    fn()  # warm-up (compilation, caches)
    walls = []
    t0 = os.times()
    mon = CpuMonitor()
    for _ in range(repeats):
        w0 = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - w0)
    t1 = os.times()
    n = len(walls)  # CPU seconds per call
    return statistics.median(walls), (t1.user - t0.user) / n, (t1.system - t0.system) / n, mon.other_fraction()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10**6)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--r", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument(
        "--torch-chunk", type=int, default=4096, help="points per torch call (one call at N = 1e6 needs 32 GB)"
    )
    a = ap.parse_args(argv)
    import numba

    numba.set_num_threads(min(a.threads, numba.config.NUMBA_NUM_THREADS))
    rng = np.random.default_rng(0)
    K, D, r, N = a.k, a.d, a.r, a.n
    w = rng.uniform(0.2, 1.0, K)
    loc = rng.normal(size=(K, D)) * 2.0
    W = rng.normal(scale=0.5, size=(K, D, r))
    d = rng.uniform(0.5, 1.5, (K, D))
    cov = W @ np.swapaxes(W, -1, -2) + d[..., :, None] * np.eye(D)
    x = loc[rng.integers(0, K, N)] + rng.normal(size=(N, D)) * 1.5

    low = MixtureSameFamily(Categorical(probs=w), LowRankMultivariateNormal(loc, W, d))
    dense = MixtureSameFamily(Categorical(probs=w), MultivariateNormal(loc, covariance_matrix=cov))
    rows = []
    chk = x[:20000]
    ref = low.log_prob(chk)
    np.testing.assert_allclose(dense.log_prob(chk), ref, rtol=1e-9, atol=1e-9)
    rows.append(("mixstat LowRankMultivariateNormal", timed(lambda: low.log_prob(x), a.repeats)))
    rows.append(("mixstat MultivariateNormal (dense)", timed(lambda: dense.log_prob(x), a.repeats)))
    if not a.no_torch:
        import torch

        torch.set_num_threads(a.threads)
        tl = torch.distributions
        tm = tl.MixtureSameFamily(
            tl.Categorical(probs=torch.tensor(w)),
            tl.LowRankMultivariateNormal(torch.tensor(loc), torch.tensor(W), torch.tensor(d)),
        )
        xt = torch.tensor(x)
        with torch.no_grad():
            np.testing.assert_allclose(tm.log_prob(torch.tensor(chk)).numpy(), ref, rtol=1e-8, atol=1e-8)

            def run_torch():  # in chunks: torch broadcasts W^T D^-1 to (chunk, K, r, D)
                for i in range(0, N, a.torch_chunk):
                    tm.log_prob(xt[i : i + a.torch_chunk])

            rows.append(("torch LowRankMultivariateNormal", timed(run_torch, max(1, a.repeats // 2))))
    base = rows[0][1][0]
    print(
        f"log_prob of a K={K} mixture, D={D}, r={r}, N={N}, float64, {a.threads} threads; "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    print(f"{'':38s} {'wall s':>8s} {'user s':>8s} {'sys s':>7s} {'others':>7s} {'x mixstat':>9s}  ns/(pt*comp)")
    for name, (wall, u, s, other) in rows:
        oth = "?" if other is None else f"{100 * other:.0f}%"
        print(f"{name:38s} {wall:8.3f} {u:8.2f} {s:7.2f} {oth:>7s} {wall / base:9.1f}  {1e9 * wall / (N * K):.2f}")
    print(
        "(wall: median per call; user/sys: CPU seconds per call; others: share of the CPUs used by other "
        "processes while timing)"
    )


if __name__ == "__main__":
    main()
