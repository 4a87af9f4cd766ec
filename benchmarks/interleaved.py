"""Mixture log_prob of a few families beside the Normal mixture, interleaved, best of R.

    python benchmarks/interleaved.py [--n N] [--repeats R]

K = 16 components, float64, 2 threads, outputs written with ``out=`` (warm pages).  Each round
times every family once, so a drift of the machine's speed during the run affects all of them
alike; the figure per family is its best round, in ns per (point, component), and its ratio to
the Normal mixture's.  Weibull concentrations 0.5-4 (components below 1 have no finite density
bound: the running-maximum path), StudentT df 1-10.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from mixstat.distributions import Categorical, MixtureSameFamily, Normal, StudentT, Weibull


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2_000_000)
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args(argv)
    K, N = 16, args.n
    rng = np.random.default_rng(0)
    cat = Categorical(logits=rng.normal(size=K))
    cases = {
        "normal": (MixtureSameFamily(cat, Normal(rng.normal(size=K), rng.uniform(0.5, 2, K))), rng.normal(size=N)),
        "weibull": (
            MixtureSameFamily(cat, Weibull(rng.uniform(0.5, 3, K), rng.uniform(0.5, 4, K))),
            rng.uniform(0.05, 5, N),
        ),
        "studentt": (
            MixtureSameFamily(cat, StudentT(rng.uniform(1, 10, K), rng.normal(size=K), rng.uniform(0.5, 2, K))),
            rng.normal(size=N),
        ),
    }
    out = np.empty(N)
    for d, x in cases.values():
        d.log_prob(x, out=out)
    best = dict.fromkeys(cases, np.inf)
    for _ in range(args.repeats):
        for name, (d, x) in cases.items():
            t = time.perf_counter()
            d.log_prob(x, out=out)
            best[name] = min(best[name], time.perf_counter() - t)
    print(f"K={K}, N={N}, best of {args.repeats} interleaved rounds; load average {os.getloadavg()[0]:.2f}")
    for name in cases:
        print(f"{name:9s} {best[name] / (N * K) * 1e9:.3f} ns/pair  {best[name] / best['normal']:.2f}x normal")


if __name__ == "__main__":
    main()
