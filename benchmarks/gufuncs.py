"""mixstat.gufuncs beside the distribution objects, plain NumPy and torch.

Two workloads (float64):

* shared parameters: ``normal_mixture_log_prob`` on N points of one mixture of K components
  (W1's data, default N = 1e7, K = 16), against ``MixtureSameFamily.log_prob`` and plain NumPy
  (``logaddexp.reduce`` over an ``(n, K)`` block, in blocks of 1e6 points);
* per-row parameters (W4, mixture-density-network outputs): B rows of K = 8 components with
  their own logits, loc and scale, one value each (default B = 1e6), against building the
  distribution objects + ``log_prob``, plain NumPy, and torch's ``MixtureSameFamily`` (where
  torch is installed: it belongs to the ``bench`` extra).

Run ``python benchmarks/gufuncs.py [--quick]``.  Each row: the best of ``--repeats`` runs, the
user+sys CPU time of that run, and the share of the CPUs used by other processes meanwhile.
The gufunc is built (or loaded from the cache) before timing.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import CpuMonitor
from workloads import mdn, mix1d


def timed(fn, repeats):
    """(best wall seconds, user+sys seconds of that run, other processes' CPU share, result)."""
    best = None
    for _ in range(repeats):
        mon = CpuMonitor()
        t0 = os.times()
        w0 = time.perf_counter()
        r = fn()
        wall = time.perf_counter() - w0
        t1 = os.times()
        cpu = (t1.user - t0.user) + (t1.system - t0.system)
        other = mon.other_fraction()
        if best is None or wall < best[0]:
            best = (wall, cpu, other, r)
    return best


def numpy_mix_log_prob(x, logw, loc, scale, block=1_000_000):
    """Plain NumPy: ``logaddexp.reduce`` of the terms, in blocks of points."""
    out = np.empty(x.shape[0])
    c = -np.log(scale) - 0.5 * np.log(2 * np.pi)
    for i in range(0, x.shape[0], block):
        xb = x[i : i + block, None]
        lw = logw if logw.ndim == 1 else logw[i : i + block]
        mu = loc if loc.ndim == 1 else loc[i : i + block]
        sd = scale if scale.ndim == 1 else scale[i : i + block]
        cc = c if c.ndim == 1 else c[i : i + block]
        out[i : i + block] = np.logaddexp.reduce(lw + cc - 0.5 * ((xb - mu) / sd) ** 2, axis=1)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N = 1e6, B = 1e5")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", choices=("shared", "w4"), help="one part only")
    a = ap.parse_args(argv)
    N = 10**6 if a.quick else 10**7
    B = 10**5 if a.quick else 10**6

    import numba

    import mixstat.gufuncs as G

    f = G.normal_mixture_log_prob
    f(np.zeros(4), np.zeros(2), np.zeros(2), np.ones(2))  # build / load, start the threads
    print(
        f"# {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, numba {numba.__version__} "
        f"({numba.threading_layer()}, {numba.config.NUMBA_NUM_THREADS} threads), numpy {np.__version__}; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    rows = []

    def row(label, n, units, res, ref=None):
        wall, cpu, other, r = res
        if ref is not None:
            np.testing.assert_allclose(r, ref, rtol=1e-10, atol=1e-12)
        rows.append((label, wall, cpu, other))
        print(
            f"{label:58s} {wall * 1e3:9.1f} ms  {wall / (n * units) * 1e9:7.2f} ns/(pt*comp)  "
            f"user+sys {cpu:6.2f} s  others {100 * (other or 0):3.0f}%",
            flush=True,
        )
        return wall

    # -- shared parameters ---------------------------------------------------------
    if a.only != "w4":
        shared(a, N, f, row)
    if a.only == "shared":
        return rows
    # -- per-row parameters (W4) ---------------------------------------------------------
    w4(a, B, f, row)
    return rows


def shared(a, N, f, row):
    from mixstat.distributions import Categorical, MixtureSameFamily, Normal

    p = mix1d(N, K=16)
    logw = np.log(p.w)
    out = np.empty(N)
    d = MixtureSameFamily(Categorical(probs=p.w), Normal(p.mu, p.sd))
    ref = d.log_prob(p.x)
    print(f"## shared parameters: N = {N:.0e}, K = 16")
    t_g = row(
        "gufunc normal_mixture_log_prob(x, logw, loc, scale, out=)",
        N,
        16,
        timed(lambda: f(p.x, logw, p.mu, p.sd, out=out), a.repeats),
        ref,
    )
    t_f = row("MixtureSameFamily.log_prob (object built once)", N, 16, timed(lambda: d.log_prob(p.x), a.repeats))
    t_n = row(
        "plain NumPy (logaddexp.reduce, blocks of 1e6)",
        N,
        16,
        timed(lambda: numpy_mix_log_prob(p.x, logw, p.mu, p.sd), max(1, a.repeats - 2)),
        ref,
    )
    print(f"gufunc / façade = {t_g / t_f:.2f}x the time; NumPy / gufunc = {t_n / t_g:.1f}x")


def w4(a, B, f, row):
    import numba

    from mixstat.distributions import Categorical, MixtureSameFamily, Normal

    q = mdn(B, K=8)
    print(f"## per-row parameters (W4): B = {B:.0e}, K = 8")
    out = np.empty(B)
    t_g4 = row(
        "gufunc normal_mixture_log_prob(v, logits, loc, scale, out=)",
        B,
        8,
        timed(lambda: f(q.v, q.logits, q.loc, q.scale, out=out), a.repeats),
    )
    ref4 = out.copy()

    def facade():
        dd = MixtureSameFamily(Categorical(logits=q.logits), Normal(q.loc, q.scale))
        return dd.log_prob(q.v)

    row("objects built + log_prob (default validation)", B, 8, timed(facade, a.repeats), ref4)
    row(
        "plain NumPy (log_softmax + terms + logaddexp.reduce)",
        B,
        8,
        timed(
            lambda: numpy_mix_log_prob(
                q.v, q.logits - np.logaddexp.reduce(q.logits, axis=1, keepdims=True), q.loc, q.scale
            ),
            a.repeats,
        ),
        ref4,
    )
    try:
        import torch
        import torch.distributions as td
    except ImportError:
        print("torch: not installed (the bench extra); no torch row")
    else:
        torch.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        t = torch.from_numpy
        tl, tm, ts, tv = t(q.logits), t(q.loc), t(q.scale), t(q.v)

        def run_torch():
            return td.MixtureSameFamily(td.Categorical(logits=tl), td.Normal(tm, ts)).log_prob(tv).numpy()

        t_t = row(
            f"torch {torch.__version__} MixtureSameFamily (built + log_prob)", B, 8, timed(run_torch, a.repeats), ref4
        )
        print(f"W4: gufunc is {t_t / t_g4:.1f}x faster than torch (target >= 20x)")


if __name__ == "__main__":
    main()
