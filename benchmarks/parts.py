"""Kernels in parts on mixstat's threads: call latency and throughput at 1 and 2 threads.

    python benchmarks/parts.py [--repeats R]

Times ``MixtureSameFamily.log_prob(x, out=out)`` (K = 16 Normal and Gamma mixtures, float64)
at N = 5e3 ... 1e7, ``sample`` at N = 1e7 and ``cdf`` at N = 1e6, with ``numba.set_num_threads``
1 and 2 (median of the repeats after a warm-up call), and the bare hand-off of one part to a
worker thread (``_jit._Worker``'s lock pair) beside a ``concurrent.futures`` round trip.  Run it
on two trees (``PYTHONPATH=<tree>``) to compare the parts kernels with numba's ``prange`` ones.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import timeit


def median_us(f, repeats):
    """The median of ``repeats`` timed calls after a warm-up call, in microseconds."""
    return timeit(f, repeats=repeats, budget_s=1e9, min_repeats=repeats).median_s * 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=0, help="repeats per row (default: by size)")
    args = ap.parse_args()
    import numba

    import mixstat
    import mixstat.distributions as D

    rng = np.random.default_rng(0)
    K = 16
    normal = D.MixtureSameFamily(
        D.Categorical(logits=rng.normal(size=K)), D.Normal(rng.normal(size=K), rng.uniform(0.5, 2, size=K))
    )
    gamma = D.MixtureSameFamily(
        D.Categorical(logits=rng.normal(size=K)), D.Gamma(rng.uniform(0.5, 5, size=K), rng.uniform(0.5, 2, size=K))
    )
    x = rng.normal(size=10**7)
    xp = np.abs(x)
    out = np.empty_like(x)
    print(f"mixstat from {os.path.dirname(mixstat.__file__)}; numba {numba.__version__}")
    rows = []
    for name, d, v in (("normal", normal, x), ("gamma", gamma, xp)):
        for n in (5000, 20000, 100000, 10**6, 10**7):
            reps = args.repeats or (2000 if n <= 20000 else 300 if n <= 10**5 else 30 if n <= 10**6 else 9)
            xs, os_ = v[:n], out[:n]
            r = []
            for nt in (1, 2):
                numba.set_num_threads(nt)
                r.append(median_us(lambda xs=xs, os_=os_, d=d: d.log_prob(xs, out=os_), reps))
            rows.append((f"{name} log_prob N={n:.0e}", *r))
    for nt_label in ("sample N=1e7", "cdf N=1e6"):
        r = []
        for nt in (1, 2):
            numba.set_num_threads(nt)
            if nt_label.startswith("sample"):
                r.append(median_us(lambda: normal.sample((10**7,), rng=1), args.repeats or 7))
            else:
                r.append(median_us(lambda: normal.cdf(x[: 10**6], out=out[: 10**6]), args.repeats or 9))
        rows.append((f"normal {nt_label}", *r))
    print(f"{'call':28s} {'1 thread':>12s} {'2 threads':>12s}  (median, us)")
    for label, a, b in rows:
        print(f"{label:28s} {a:12.1f} {b:12.1f}")

    # the bare hand-off of one part
    import threading
    from concurrent.futures import ThreadPoolExecutor

    @numba.njit(nogil=True)
    def work(a, part, nparts):
        n = a.shape[0]
        s = 0.0
        for i in range(n * part // nparts, n * (part + 1) // nparts):
            s += a[i]
        return s

    a = np.ones(2000)
    work(a, 0, 1)
    pool = ThreadPoolExecutor(1)

    def via_pool():
        f = pool.submit(work, a, 1, 2)
        return work(a, 0, 2) + f.result()

    go, done = threading.Lock(), threading.Lock()
    go.acquire()
    done.acquire()
    box = {}

    def worker():
        while True:
            go.acquire()
            box["r"] = work(a, 1, 2)
            done.release()

    threading.Thread(target=worker, daemon=True).start()

    def via_locks():
        go.release()
        r = work(a, 0, 2)
        done.acquire()
        return r + box["r"]

    print(
        f"hand-off of one part (2000 floats): serial {median_us(lambda: work(a, 0, 1), 3000):.2f} us, "
        f"lock pair {median_us(via_locks, 3000):.2f} us, concurrent.futures {median_us(via_pool, 3000):.2f} us"
    )
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(f"process user {ru.ru_utime:.2f} s, system {ru.ru_stime:.2f} s")


if __name__ == "__main__":
    main()
