"""``make demo``: the seed's two-component mixture at scale.

Draws 10 million samples from ``0.3 N(-2, 0.5^2) + 0.7 N(2, 1)``, evaluates
their log-density, compares the sample mean and variance with the closed forms,
prints timings and writes a plot of the density over a histogram of the samples.

Run ``python -m mixstat.demo [--n N] [--out DIR] [--seed S]``.
"""
from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np


def _timed(fn, repeats=3):
    best = math.inf
    out = None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mixstat.demo", description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000_000, help="number of samples (default 1e7)")
    ap.add_argument("--out", default="demo_output", help="folder for the plot")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args(argv)

    import subprocess
    import sys

    probe = ("import time, sys; t = time.perf_counter(); import mixstat; "
             "print(time.perf_counter() - t, 'numba' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    t_import, numba_loaded = res.stdout.split()
    t_import = float(t_import)

    import mixstat
    from mixstat.distributions import Categorical, MixtureSameFamily, Normal

    mix = Categorical(probs=mixstat.tensor([0.3, 0.7]))
    comp = Normal(loc=mixstat.tensor([-2.0, 2.0]), scale=mixstat.tensor([0.5, 1.0]))
    dist = MixtureSameFamily(mix, comp)
    n = args.n

    t = time.perf_counter()
    dist.sample((10,), rng=0)
    dist.log_prob(np.zeros(10))
    t_first = time.perf_counter() - t

    samples, t_sample = _timed(lambda: dist.sample((n,), rng=args.seed))
    logp, t_logp = _timed(lambda: dist.log_prob(samples))

    w, mu, sd = np.array([0.3, 0.7]), np.array([-2.0, 2.0]), np.array([0.5, 1.0])
    mean_cf = float(w @ mu)
    var_cf = float(w @ sd**2 + w @ (mu - mean_cf) ** 2)
    m4 = float(w @ (3 * sd**4 + 6 * sd**2 * (mu - mean_cf) ** 2 + (mu - mean_cf) ** 4))
    s_mean, s_var = float(samples.mean()), float(samples.var())
    se_mean = math.sqrt(var_cf / n)
    se_var = math.sqrt((m4 - var_cf**2) / n)

    # a log_prob check against the closed-form density at a few points
    xs = np.linspace(-5, 6, 12)
    ref = np.log(w[0] * np.exp(-0.5 * ((xs - mu[0]) / sd[0]) ** 2) / (sd[0] * math.sqrt(2 * math.pi))
                 + w[1] * np.exp(-0.5 * ((xs - mu[1]) / sd[1]) ** 2) / (sd[1] * math.sqrt(2 * math.pi)))
    err = float(np.max(np.abs(dist.log_prob(xs) - ref) / np.abs(ref)))

    import numba

    print("mixstat demo: 0.3 N(-2, 0.5^2) + 0.7 N(2, 1)")
    print(f"  threads                  {numba.get_num_threads()}")
    print(f"  import mixstat           {t_import * 1e3:8.1f} ms (fresh process; numba imported: {numba_loaded})")
    print(f"  first calls (compile or cache load) {t_first * 1e3:8.1f} ms")
    print(f"  sample({n:,})      {t_sample * 1e3:8.1f} ms  ({t_sample / n * 1e9:.2f} ns/draw)")
    print(f"  log_prob({n:,})    {t_logp * 1e3:8.1f} ms  ({t_logp / n / 2 * 1e9:.2f} ns per point*component)")
    print(f"  mean      sample {s_mean:+.6f}  closed form {mean_cf:+.6f}  dist.mean {float(dist.mean):+.6f}"
          f"  ({(s_mean - mean_cf) / se_mean:+.2f} s.e.)")
    print(f"  variance  sample {s_var:.6f}  closed form {var_cf:.6f}  dist.variance {float(dist.variance):.6f}"
          f"  ({(s_var - var_cf) / se_var:+.2f} s.e.)")
    print(f"  mean log_prob of the samples {float(logp.mean()):.6f}  (a Monte Carlo estimate of -entropy)")
    print(f"  log_prob vs closed-form density, max rel. error {err:.1e}")

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("  (matplotlib not installed: no plot; pip install 'mixstat[demo]')")
        return 0
    os.makedirs(args.out, exist_ok=True)
    grid = np.linspace(-5, 6, 600)
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    ax.hist(samples[:1_000_000], bins=200, density=True, color="#9ecae1", label="1e6 of the samples")
    ax.plot(grid, dist.prob(grid), color="#08519c", lw=2, label="mixture density")
    for k in range(2):
        ax.plot(grid, w[k] * np.exp(comp.log_prob(grid[:, None])[:, k]), "--", lw=1,
                label=f"{w[k]:.1f} N({mu[k]:g}, {sd[k]:g}²)")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.set_title("MixtureSameFamily: 0.3 N(-2, 0.5²) + 0.7 N(2, 1)")
    ax.legend(frameon=False)
    fig.tight_layout()
    path = os.path.join(args.out, "mixture_density.png")
    fig.savefig(path)
    print(f"  plot written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
