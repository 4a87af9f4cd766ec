"""mixstat beside its peers, in one process, on the same data.

Each figure is the median of repeats after a warm-up; each peer's values are
checked against mixstat's before it is timed.  Peers that are not installed
are skipped (NumPy + SciPy are always there).

    python benchmarks/compare.py [--quick]

Workloads (float64, all threads):
  W1  log_prob, 1-D Normal mixture, shared parameters, N points, K = 16
  W2  sample, the same mixture, N draws
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np


def timeit(fn, repeats):
    fn()  # warm-up (compile / cache load)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def make_problem(K, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.ones(K))
    mu = rng.normal(0, 3, K)
    sd = rng.uniform(0.5, 2.0, K)
    return w, mu, sd


def scipy_log_prob(x, w, mu, sd):
    """The plain SciPy way: an (N, K) matrix of component log-densities, then logsumexp."""
    from scipy import stats
    from scipy.special import logsumexp

    return logsumexp(stats.norm.logpdf(x[:, None], mu, sd), b=w, axis=1)


def numpy_sample(n, w, mu, sd, rng):
    """Hand-written NumPy ancestral sampling: choose, then draw from the chosen component."""
    idx = rng.choice(len(w), size=n, p=w)
    return mu[idx] + sd[idx] * rng.standard_normal(n)


def peers_log_prob(x, w, mu, sd):
    out = {"scipy (N x K logsumexp)": lambda: scipy_log_prob(x, w, mu, sd)}
    try:
        import torch
        import torch.distributions as td

        tx = torch.from_numpy(x)
        tm = td.MixtureSameFamily(td.Categorical(probs=torch.from_numpy(w)),
                                  td.Normal(torch.from_numpy(mu), torch.from_numpy(sd)))
        out["torch"] = lambda: tm.log_prob(tx).numpy()
    except ImportError:
        pass
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N = 1e6 instead of 1e7, fewer repeats")
    args = ap.parse_args(argv)
    N = 10**6 if args.quick else 10**7
    repeats = 3 if args.quick else 5
    K = 16

    import numba

    import mixstat
    from mixstat.distributions import Categorical, MixtureSameFamily, Normal

    w, mu, sd = make_problem(K)
    dist = MixtureSameFamily(Categorical(probs=w), Normal(mu, sd))
    x = np.random.default_rng(1).normal(0, 4, N)

    print(f"mixstat {mixstat.__version__}, numba {numba.__version__}, numpy {np.__version__}, "
          f"{numba.get_num_threads()} threads, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores")
    print(f"{'workload':<34}{'impl':<28}{'time':>12}{'per unit':>16}{'peer / mixstat':>16}")

    ours = dist.log_prob(x)
    t_ours = timeit(lambda: dist.log_prob(x), repeats)
    print(f"{'W1 log_prob N=%.0e K=%d' % (N, K):<34}{'mixstat':<28}{t_ours * 1e3:>10.1f}ms"
          f"{t_ours / (N * K) * 1e9:>12.2f} ns/pk{'1.0':>16}")
    for name, fn in peers_log_prob(x, w, mu, sd).items():
        np.testing.assert_allclose(fn()[:1000], ours[:1000], rtol=1e-10)
        t = timeit(fn, repeats)
        print(f"{'':<34}{name:<28}{t * 1e3:>10.1f}ms{t / (N * K) * 1e9:>12.2f} ns/pk{t / t_ours:>16.1f}")

    t_ours = timeit(lambda: dist.sample((N,), rng=1), repeats)
    print(f"{'W2 sample N=%.0e K=%d' % (N, K):<34}{'mixstat':<28}{t_ours * 1e3:>10.1f}ms"
          f"{t_ours / N * 1e9:>12.2f} ns/dr{'1.0':>16}")
    rng = np.random.default_rng(2)
    s = numpy_sample(N, w, mu, sd, rng)
    m = dist.sample((N,), rng=3)
    se = float(np.sqrt(dist.variance / N))
    assert abs(s.mean() - m.mean()) < 8 * se, "numpy sampler and mixstat disagree"
    t = timeit(lambda: numpy_sample(N, w, mu, sd, rng), repeats)
    print(f"{'':<34}{'numpy (choice + normal)':<28}{t * 1e3:>10.1f}ms{t / N * 1e9:>12.2f} ns/dr{t / t_ours:>16.1f}")


if __name__ == "__main__":
    main()
