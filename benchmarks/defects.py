"""Issue-9 speed items, measured in one process: the mixture cdf against log_prob (item 10) and a
diagonal Independent(Normal) mixture against the same covariances as MultivariateNormal (item 11).

    python benchmarks/defects.py [--repeats R]

Prints median seconds (after a warm-up call) with user and system CPU time.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from mixstat.distributions import Categorical, Independent, MixtureSameFamily, MultivariateNormal, Normal


def timed(fn, repeats):
    fn()
    ts = []
    for _ in range(repeats):
        t0 = os.times()
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t, os.times().user - t0.user, os.times().system - t0.system))
    ts.sort()
    return ts[len(ts) // 2]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    # item 10: a 10^4-component kernel density estimate at 10^5 points
    K, N = 10_000, 100_000
    kde = MixtureSameFamily(Categorical(probs=np.ones(K)), Normal(rng.normal(size=K), 0.1))
    x = rng.normal(size=N) * 1.5
    lp = timed(lambda: kde.log_prob(x), args.repeats)
    cdf = timed(lambda: kde.cdf(x), args.repeats)
    print(
        f"item 10: KDE K={K} N={N}: log_prob {lp[0]:.3f} s (user {lp[1]:.2f}, sys {lp[2]:.2f}), "
        f"cdf {cdf[0]:.3f} s (user {cdf[1]:.2f}, sys {cdf[2]:.2f}): cdf / log_prob = {cdf[0] / lp[0]:.2f} "
        f"({cdf[0] / (K * N) * 1e9:.2f} ns per point·component)"
    )
    # item 11: K = 5, D = 2, 4e6 points, diagonal vs the same covariance given as full
    K, D, N = 5, 2, 4_000_000
    loc = rng.normal(size=(K, D)) * 3
    sd = rng.uniform(0.5, 2.0, (K, D))
    w = Categorical(probs=np.ones(K))
    diag = MixtureSameFamily(w, Independent(Normal(loc, sd), 1))
    full = MixtureSameFamily(w, MultivariateNormal(loc, covariance_matrix=sd[:, :, None] ** 2 * np.eye(D)))
    v = diag.sample((N,), rng=1)
    np.testing.assert_allclose(diag.log_prob(v[:1000]), full.log_prob(v[:1000]), rtol=1e-12)
    td = timed(lambda: diag.log_prob(v), args.repeats)
    tf = timed(lambda: full.log_prob(v), args.repeats)
    print(
        f"item 11: K={K} D={D} N={N}: Independent(Normal) {td[0]:.3f} s (user {td[1]:.2f}, sys {td[2]:.2f}), "
        f"MultivariateNormal {tf[0]:.3f} s (user {tf[1]:.2f}, sys {tf[2]:.2f}): diagonal / full = "
        f"{td[0] / tf[0]:.2f}"
    )


if __name__ == "__main__":
    main()
